//! The session: a TOML file (or a folder of stems, or the built-in demo) describing tracks and their settings.
//!
//! Parsing is strict: a wrong type, an unknown key or an invalid value is an error naming the file, the line and
//! the key. Saving is atomic (temporary file in the same folder, then rename).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::engine::{MasterState, StripState};

/// The name of the session file inside a stems folder.
pub const SESSION_FILE_NAME: &str = "ttymix.toml";

/// Errors while opening or saving a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A problem with a path (missing, unreadable, no audio, ...).
    #[error("{}: {reason}", path.display())]
    Path {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A problem inside the session file.
    #[error("{}:{line}: {key}{reason}", path.display(), key = key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
    Parse {
        /// The session file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The key concerned, when known.
        key: Option<String>,
        /// What is wrong.
        reason: String,
    },
}

impl SessionError {
    fn path(path: &Path, reason: impl fmt::Display) -> Self {
        SessionError::Path {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn de_gain_db<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let v = f64::deserialize(d)?;
    if !v.is_finite() || !(-144.0..=24.0).contains(&v) {
        return Err(serde::de::Error::custom(format!(
            "{v} dB is out of range (-144 to +24 dB)"
        )));
    }
    Ok(v as f32)
}

fn de_pan<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let v = f64::deserialize(d)?;
    if !v.is_finite() || !(-1.0..=1.0).contains(&v) {
        return Err(serde::de::Error::custom(format!(
            "pan {v} is out of range (-1.0 hard left to +1.0 hard right)"
        )));
    }
    Ok(v as f32)
}

fn de_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = i64::deserialize(d)?;
    if !(8_000..=384_000).contains(&v) {
        return Err(serde::de::Error::custom(format!(
            "sample rate {v} Hz is out of range (8000 to 384000)"
        )));
    }
    Ok(Some(v as u32))
}

fn de_tempo<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = f64::deserialize(d)?;
    if !v.is_finite() || !(20.0..=400.0).contains(&v) {
        return Err(serde::de::Error::custom(format!(
            "tempo {v} BPM is out of range (20 to 400)"
        )));
    }
    Ok(Some(v))
}

/// `[master]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterConfig {
    /// Master fader in dB.
    #[serde(default, deserialize_with = "de_gain_db")]
    pub gain_db: f32,
}

/// One `[[track]]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackConfig {
    /// Display name; default: the file name without extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Stem file, relative to the session file's folder, or absolute.
    pub file: PathBuf,
    /// Fader in dB.
    #[serde(default, deserialize_with = "de_gain_db")]
    pub gain_db: f32,
    /// Input trim in dB, before everything else.
    #[serde(default, deserialize_with = "de_gain_db")]
    pub trim_db: f32,
    /// −1.0 hard left .. +1.0 hard right.
    #[serde(default, deserialize_with = "de_pan")]
    pub pan: f32,
    /// Muted.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mute: bool,
    /// Soloed (in place).
    #[serde(default, skip_serializing_if = "is_default")]
    pub solo: bool,
    /// Polarity inverted.
    #[serde(default, skip_serializing_if = "is_default")]
    pub invert_polarity: bool,
}

impl TrackConfig {
    /// The strip settings the engine starts from.
    pub fn strip_state(&self) -> StripState {
        StripState {
            trim_db: self.trim_db,
            gain_db: self.gain_db,
            pan: self.pan,
            mute: self.mute,
            solo: self.solo,
            invert_polarity: self.invert_polarity,
        }
    }

    /// The name shown for the track.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => self
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.file.display().to_string()),
        }
    }
}

/// The whole session file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionFile {
    /// Session rate; default: the most common rate among the stems.
    #[serde(
        default,
        deserialize_with = "de_rate",
        skip_serializing_if = "Option::is_none"
    )]
    pub sample_rate: Option<u32>,
    /// Tempo for bars|beats and tempo-synced delays.
    #[serde(
        default,
        deserialize_with = "de_tempo",
        skip_serializing_if = "Option::is_none"
    )]
    pub tempo_bpm: Option<f64>,
    /// `[master]`.
    #[serde(default)]
    pub master: MasterConfig,
    /// `[[track]]` entries, in order.
    #[serde(default, rename = "track")]
    pub tracks: Vec<TrackConfig>,
}

impl SessionFile {
    /// Parse TOML text; errors name `path`, the line and the key.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SessionError> {
        toml::from_str::<SessionFile>(text).map_err(|e| toml_error(text, path, &e))
    }

    /// The master settings the engine starts from.
    pub fn master_state(&self) -> MasterState {
        MasterState {
            gain_db: self.master.gain_db,
        }
    }

    /// Serialise to TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// Turn a toml/serde error into one naming the file, the line and the key.
pub fn toml_error(text: &str, path: &Path, e: &toml::de::Error) -> SessionError {
    let (line, key) = match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let line = text[..start].matches('\n').count() + 1;
            let line_start = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let line_text = text[line_start..].lines().next().unwrap_or("");
            let key = line_text
                .split_once('=')
                .map(|(k, _)| k.trim().trim_matches('"').to_string())
                .filter(|k| !k.is_empty() && !k.starts_with('['));
            (line, key)
        }
        None => (1, None),
    };
    let mut reason = e.message().trim().to_string();
    if let Some(k) = &key {
        // serde names the field itself in "unknown field `x`"; keep the message but avoid saying the key twice.
        if reason.contains(&format!("`{k}`")) {
            return SessionError::Parse {
                path: path.to_path_buf(),
                line,
                key: None,
                reason,
            };
        }
    }
    if reason.is_empty() {
        reason = "invalid session file".into();
    }
    SessionError::Parse {
        path: path.to_path_buf(),
        line,
        key,
        reason,
    }
}

/// Where a session came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// The built-in demo.
    Demo,
    /// A folder of stems without a session file (saving creates `ttymix.toml` in it).
    Folder(PathBuf),
    /// A session file.
    File(PathBuf),
}

/// An opened session: its settings and where its files are.
#[derive(Clone, Debug)]
pub struct Session {
    /// Where it came from.
    pub origin: Origin,
    /// Folder that relative stem paths are resolved against.
    pub base_dir: PathBuf,
    /// The settings.
    pub file: SessionFile,
}

impl Session {
    /// Open `demo`, a session file, or a folder (its `ttymix.toml` if present, else every audio file in it,
    /// sorted by name, at unity). `is_audio` decides which files of a folder are stems.
    pub fn open(arg: &str, is_audio: impl Fn(&Path) -> bool) -> Result<Session, SessionError> {
        if arg == "demo" && !Path::new(arg).exists() {
            return Ok(Session {
                origin: Origin::Demo,
                base_dir: PathBuf::from("."),
                file: SessionFile::default(),
            });
        }
        let path = Path::new(arg);
        let meta = std::fs::metadata(path).map_err(|e| SessionError::path(path, io_reason(&e)))?;
        if meta.is_dir() {
            let session_file = path.join(SESSION_FILE_NAME);
            if session_file.is_file() {
                return Self::open_file(&session_file);
            }
            let rd =
                std::fs::read_dir(path).map_err(|e| SessionError::path(path, io_reason(&e)))?;
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file() && is_audio(p))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(SessionError::path(
                    path,
                    "no audio files in this folder (looked for wav, flac, mp3, ogg, aiff, m4a, caf, ...)",
                ));
            }
            let tracks = files
                .into_iter()
                .map(|f| TrackConfig {
                    file: PathBuf::from(f.file_name().unwrap_or_default()),
                    ..Default::default()
                })
                .collect();
            Ok(Session {
                origin: Origin::Folder(path.to_path_buf()),
                base_dir: path.to_path_buf(),
                file: SessionFile {
                    tracks,
                    ..Default::default()
                },
            })
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
        {
            Self::open_file(path)
        } else if is_audio(path) {
            // A single stem is a one-track session at unity.
            let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let file = PathBuf::from(path.file_name().unwrap_or_default());
            Ok(Session {
                origin: Origin::Folder(base_dir.clone()),
                base_dir,
                file: SessionFile {
                    tracks: vec![TrackConfig {
                        file,
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            })
        } else {
            Err(SessionError::path(
                path,
                "not a session: give a session file (.toml), a folder of stems, an audio file, or `demo`",
            ))
        }
    }

    /// Open a session file.
    pub fn open_file(path: &Path) -> Result<Session, SessionError> {
        let bytes = std::fs::read(path).map_err(|e| SessionError::path(path, io_reason(&e)))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| SessionError::path(path, "not a text file (invalid UTF-8)"))?;
        let file = SessionFile::parse(&text, path)?;
        if file.tracks.is_empty() {
            return Err(SessionError::path(path, "the session has no [[track]]"));
        }
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Session {
            origin: Origin::File(path.to_path_buf()),
            base_dir,
            file,
        })
    }

    /// The stem path of a track, resolved against the session folder.
    pub fn track_path(&self, index: usize) -> Option<PathBuf> {
        let t = self.file.tracks.get(index)?;
        Some(if t.file.is_absolute() {
            t.file.clone()
        } else {
            self.base_dir.join(&t.file)
        })
    }

    /// Every file this session reads (the session file and its stems): a render must never overwrite them.
    pub fn input_paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = (0..self.file.tracks.len())
            .filter_map(|i| self.track_path(i))
            .collect();
        if let Origin::File(p) = &self.origin {
            v.push(p.clone());
        }
        v
    }

    /// Where `save` writes: the session file, or `ttymix.toml` in the stems folder. None for the demo.
    pub fn save_path(&self) -> Option<PathBuf> {
        match &self.origin {
            Origin::Demo => None,
            Origin::Folder(d) => Some(d.join(SESSION_FILE_NAME)),
            Origin::File(p) => Some(p.clone()),
        }
    }

    /// Write the session atomically to its save path.
    pub fn save(&self) -> Result<PathBuf, SessionError> {
        let path = self.save_path().ok_or_else(|| {
            SessionError::path(
                Path::new("demo"),
                "the built-in demo has no file to save to",
            )
        })?;
        write_atomic(&path, self.file.to_toml().as_bytes())
            .map_err(|e| SessionError::path(&path, io_reason(&e)))?;
        Ok(path)
    }
}

/// A short reason for an I/O error, without Rust's "(os error N)" noise.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "not found".into(),
        PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// Write `bytes` to `path` atomically: a temporary file in the same folder, synced, then renamed over.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        SessionFile::parse(text, Path::new("s.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn parses_the_documented_example() {
        let text = r#"
sample_rate = 48000
[master]
gain_db = 0.0
[[track]]
name = "Kick"
file = "01_kick.wav"
gain_db = -3.0
trim_db = 0.0
pan = 0.0
mute = false
solo = false
invert_polarity = false
"#;
        let s = SessionFile::parse(text, Path::new("s.toml")).unwrap();
        assert_eq!(s.sample_rate, Some(48000));
        assert_eq!(s.tracks.len(), 1);
        assert_eq!(s.tracks[0].gain_db, -3.0);
        assert_eq!(s.tracks[0].display_name(), "Kick");
    }

    #[test]
    fn wrong_type_names_file_line_and_key() {
        let e = err("[[track]]\nfile = \"a.wav\"\ngain_db = \"loud\"\n");
        assert!(e.starts_with("s.toml:3: key `gain_db`: "), "{e}");
        assert!(e.contains("invalid type"), "{e}");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = err("[[track]]\nfile = \"a.wav\"\n\nvolume = 3\n");
        assert!(e.starts_with("s.toml:4: "), "{e}");
        assert!(e.contains("unknown field `volume`"), "{e}");
    }

    #[test]
    fn invalid_value_names_file_line_and_key() {
        let e = err("[[track]]\nfile = \"a.wav\"\npan = 1.5\n");
        assert!(e.starts_with("s.toml:3: key `pan`: "), "{e}");
        assert!(e.contains("out of range"), "{e}");
        let e = err("sample_rate = 0\n");
        assert!(e.starts_with("s.toml:1: key `sample_rate`: "), "{e}");
    }

    #[test]
    fn round_trips_through_toml() {
        let s = SessionFile {
            sample_rate: Some(44100),
            tempo_bpm: Some(120.0),
            master: MasterConfig { gain_db: -1.5 },
            tracks: vec![TrackConfig {
                name: Some("Bass".into()),
                file: "b.flac".into(),
                gain_db: -4.25,
                pan: -0.5,
                mute: true,
                ..Default::default()
            }],
        };
        let back = SessionFile::parse(&s.to_toml(), Path::new("x.toml")).unwrap();
        assert_eq!(back, s);
    }
}
