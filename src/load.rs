//! Turning a [`Session`] into audio the engine can play: decode and resample every stem (in parallel), or
//! synthesise the built-in demo.

use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::{Engine, EngineConfig, MemorySource, SilentSource, Source, TrackInit};
use crate::session::{Origin, Session, TrackConfig};

/// Default rate when nothing else decides (the demo, or no stem could be read).
pub const DEFAULT_RATE_HZ: u32 = 48_000;

/// One track's audio, or why it is offline.
#[derive(Clone, Debug)]
pub struct TrackAudio {
    /// Display name.
    pub name: String,
    /// The stem path (None for the demo).
    pub path: Option<PathBuf>,
    /// Planar channels (1 or 2) at the session rate, or the reason the track is offline.
    pub audio: Result<Vec<Arc<[f32]>>, String>,
    /// Non-fatal problems (e.g. a truncated file).
    pub warnings: Vec<String>,
    /// The stem's own rate before resampling.
    pub source_rate_hz: u32,
}

/// A session with its audio loaded.
#[derive(Clone, Debug)]
pub struct LoadedSession {
    /// The session settings (for the demo: synthesised track entries).
    pub session: Session,
    /// The rate everything runs at.
    pub sample_rate_hz: u32,
    /// Tempo, when known.
    pub tempo_bpm: Option<f64>,
    /// Per track, in session order.
    pub tracks: Vec<TrackAudio>,
}

impl LoadedSession {
    /// Decode every stem of `session` (in parallel) at the session rate: the file's `sample_rate`, else
    /// `rate_override`, else the most common rate among the stems. Missing or broken stems become offline
    /// tracks carrying the reason.
    pub fn load(session: Session, rate_override: Option<u32>) -> LoadedSession {
        if session.origin == Origin::Demo {
            return Self::demo(session, rate_override.unwrap_or(DEFAULT_RATE_HZ));
        }
        let rate = rate_override.or(session.file.sample_rate);
        let paths: Vec<PathBuf> = (0..session.file.tracks.len())
            .filter_map(|i| session.track_path(i))
            .collect();
        let results = crate::media::load_stems(&paths, rate);
        let sample_rate_hz = rate
            .or_else(|| results.iter().flatten().map(|s| s.sample_rate).next())
            .unwrap_or(DEFAULT_RATE_HZ);
        let tracks = session
            .file
            .tracks
            .iter()
            .zip(paths)
            .zip(results)
            .map(|((t, path), r)| match r {
                Ok(stem) => TrackAudio {
                    name: t.display_name(),
                    path: Some(path),
                    source_rate_hz: stem.source_rate,
                    warnings: stem.warnings,
                    audio: Ok(stem.channels.into_iter().map(Arc::from).collect()),
                },
                Err(e) => TrackAudio {
                    name: t.display_name(),
                    path: Some(path),
                    source_rate_hz: 0,
                    warnings: Vec::new(),
                    audio: Err(e.to_string()),
                },
            })
            .collect();
        LoadedSession {
            tempo_bpm: session.file.tempo_bpm,
            session,
            sample_rate_hz,
            tracks,
        }
    }

    fn demo(mut session: Session, rate: u32) -> LoadedSession {
        let demo = crate::demo::build(rate);
        session.file.tempo_bpm = Some(demo.tempo_bpm);
        session.file.sample_rate = Some(rate);
        session.file.tracks = demo
            .tracks
            .iter()
            .map(|t| TrackConfig {
                name: Some(t.name.clone()),
                file: PathBuf::from(format!("demo:{}", t.name)),
                pan: t.pan,
                ..Default::default()
            })
            .collect();
        let tracks = demo
            .tracks
            .into_iter()
            .map(|t| TrackAudio {
                name: t.name,
                path: None,
                source_rate_hz: rate,
                warnings: Vec::new(),
                audio: Ok(t.channels.into_iter().map(Arc::from).collect()),
            })
            .collect();
        LoadedSession {
            tempo_bpm: Some(demo.tempo_bpm),
            session,
            sample_rate_hz: rate,
            tracks,
        }
    }

    /// The first offline track as an error `<path>: <reason>` (render and analyze refuse to run without
    /// every stem).
    pub fn first_offline(&self) -> Option<String> {
        self.tracks
            .iter()
            .find_map(|t| t.audio.as_ref().err().cloned())
    }

    /// Longest stem in frames.
    pub fn length_frames(&self) -> u64 {
        self.tracks
            .iter()
            .filter_map(|t| t.audio.as_ref().ok())
            .map(|c| c.first().map(|c| c.len()).unwrap_or(0) as u64)
            .max()
            .unwrap_or(0)
    }

    /// Build an engine over these tracks with the session's settings applied from the first sample.
    pub fn engine(&self, max_block_frames: usize) -> Engine {
        // Routing was validated when the session was opened; a session built in code that fails it
        // plays without buses.
        let path = self.session.save_path().unwrap_or_default();
        let routing = self.session.file.routing(&path).ok();
        let tracks = self
            .tracks
            .iter()
            .zip(&self.session.file.tracks)
            .enumerate()
            .map(|(i, (ta, tc))| {
                let source: Box<dyn Source> = match &ta.audio {
                    Ok(ch) => Box::new(MemorySource::new(ch.clone())),
                    Err(_) => Box::new(SilentSource),
                };
                let state = routing
                    .as_ref()
                    .and_then(|r| r.tracks.get(i).cloned())
                    .unwrap_or_else(|| tc.strip_state());
                TrackInit { source, state }
            })
            .collect();
        let buses = routing
            .as_ref()
            .map(|r| r.buses.clone())
            .unwrap_or_default();
        Engine::with_buses(
            EngineConfig::new(self.sample_rate_hz, max_block_frames),
            self.session.file.master_state(),
            tracks,
            buses,
        )
    }
}
