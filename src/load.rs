//! Turning a [`Session`] into audio the engine can play: decode and resample every stem (in parallel), or
//! synthesise the built-in demo.

use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::{Engine, EngineConfig, MemorySource, SilentSource, Source, TrackInit};
use crate::session::{
    BusConfig, BusKindName, DelayConfig, Origin, ReverbConfig, SendConfig, Session, TrackConfig,
};

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
    /// For offline render: a plain PCM WAV at the session rate streamed from disk instead of held in
    /// memory (`audio` is then empty).
    pub stream: Option<crate::media::wav_fast::PlainWav>,
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

/// The demo's effect buses: a plate-like reverb and a dotted-eighth ping-pong echo, as a mix starts out
/// (the tracks' faults are left for the user).
fn demo_buses() -> Vec<BusConfig> {
    vec![
        BusConfig {
            name: "Verb".into(),
            kind: BusKindName::Reverb,
            reverb: Some(ReverbConfig {
                decay_s: 1.8,
                pre_delay_ms: 20.0,
                ..ReverbConfig::default()
            }),
            ..Default::default()
        },
        BusConfig {
            name: "Echo".into(),
            kind: BusKindName::Delay,
            delay: Some(DelayConfig {
                time: Some("1/8.".into()),
                time_ms: None,
                feedback: 0.3,
                low_cut_hz: 150.0,
                high_cut_hz: 6000.0,
                ping_pong: true,
            }),
            ..Default::default()
        },
    ]
}

/// Which demo tracks feed the effect buses, and how much (post-fader).
fn demo_sends(track: &str) -> Vec<SendConfig> {
    let send = |bus: &str, level_db: f32| SendConfig {
        bus: bus.into(),
        level_db,
        pre_fader: false,
    };
    match track {
        "Vocal" => vec![send("Verb", -14.0), send("Echo", -20.0)],
        "Lead" => vec![send("Echo", -16.0)],
        "Pad" => vec![send("Verb", -20.0)],
        "Drums" => vec![send("Verb", -24.0)],
        _ => Vec::new(),
    }
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
                    stream: None,
                },
                Err(e) => TrackAudio {
                    name: t.display_name(),
                    path: Some(path),
                    source_rate_hz: 0,
                    warnings: Vec::new(),
                    audio: Err(e.to_string()),
                    stream: None,
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

    /// The session with every track still loading (offline, playing silence), at `rate_hz`: the mixer builds
    /// its engine from this at once and puts each stem in with [`crate::engine::CommandKind::ReplaceSource`]
    /// as [`load_each`] delivers it.
    pub fn pending(session: Session, rate_hz: u32) -> LoadedSession {
        let tracks = (0..session.file.tracks.len())
            .map(|i| TrackAudio {
                name: session.file.tracks[i].display_name(),
                path: session.track_path(i),
                audio: Err("loading".into()),
                warnings: Vec::new(),
                source_rate_hz: 0,
                stream: None,
            })
            .collect();
        LoadedSession {
            tempo_bpm: session.file.tempo_bpm,
            session,
            sample_rate_hz: rate_hz,
            tracks,
        }
    }

    /// Like [`LoadedSession::load`], for offline render: stems that are plain PCM WAV files at the session
    /// rate are streamed from disk (bounded memory, no decode pass before mixing); the rest are decoded.
    pub fn load_streaming(session: Session, rate_override: Option<u32>) -> LoadedSession {
        use crate::media::wav_fast::plain_wav;
        if session.origin == Origin::Demo {
            return Self::load(session, rate_override);
        }
        let paths: Vec<PathBuf> = (0..session.file.tracks.len())
            .filter_map(|i| session.track_path(i))
            .collect();
        let headers: Vec<_> = paths.iter().map(|p| plain_wav(p)).collect();
        let rate = rate_override.or(session.file.sample_rate).or_else(|| {
            let rates: Vec<u32> = paths
                .iter()
                .filter_map(|p| crate::media::probe_rate(p).ok())
                .collect();
            crate::media::most_common_rate(&rates)
        });
        let streamable = |h: &Option<crate::media::wav_fast::PlainWav>| {
            // integer PCM only: float files may hold NaN/inf, which the decoder reports
            matches!((h, rate), (Some(w), Some(r)) if w.rate == r && w.tag == 1)
        };
        if !headers.iter().any(streamable) {
            return Self::load(session, rate_override);
        }
        let decode_paths: Vec<PathBuf> = paths
            .iter()
            .zip(&headers)
            .filter(|(_, h)| !streamable(h))
            .map(|(p, _)| p.clone())
            .collect();
        let mut decoded = crate::media::load_stems(&decode_paths, rate).into_iter();
        let sample_rate_hz = rate.unwrap_or(DEFAULT_RATE_HZ);
        let tracks = session
            .file
            .tracks
            .iter()
            .zip(paths)
            .zip(headers.iter())
            .map(|((t, path), h)| {
                if streamable(h) {
                    return TrackAudio {
                        name: t.display_name(),
                        path: Some(path),
                        source_rate_hz: sample_rate_hz,
                        warnings: Vec::new(),
                        audio: Ok(Vec::new()),
                        stream: *h,
                    };
                }
                match decoded.next() {
                    Some(Ok(stem)) => TrackAudio {
                        name: t.display_name(),
                        path: Some(path),
                        source_rate_hz: stem.source_rate,
                        warnings: stem.warnings,
                        audio: Ok(stem.channels.into_iter().map(Arc::from).collect()),
                        stream: None,
                    },
                    Some(Err(e)) => TrackAudio {
                        name: t.display_name(),
                        path: Some(path),
                        source_rate_hz: 0,
                        warnings: Vec::new(),
                        audio: Err(e.to_string()),
                        stream: None,
                    },
                    None => TrackAudio {
                        name: t.display_name(),
                        path: Some(path),
                        source_rate_hz: 0,
                        warnings: Vec::new(),
                        audio: Err("internal error: stem missing from the load".into()),
                        stream: None,
                    },
                }
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
                sends: demo_sends(&t.name),
                ..Default::default()
            })
            .collect();
        session.file.buses = demo_buses();
        let tracks = demo
            .tracks
            .into_iter()
            .map(|t| TrackAudio {
                name: t.name,
                path: None,
                source_rate_hz: rate,
                warnings: Vec::new(),
                audio: Ok(t.channels.into_iter().map(Arc::from).collect()),
                stream: None,
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
            .filter_map(|t| match (&t.stream, &t.audio) {
                (Some(w), _) => Some(w.frames),
                (None, Ok(c)) => Some(c.first().map(|c| c.len()).unwrap_or(0) as u64),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Build an engine over these tracks with the session's settings applied from the first sample.
    /// Offline tracks play silence; streamed tracks (only from [`LoadedSession::load_streaming`]) need
    /// [`LoadedSession::render_engine`].
    pub fn engine(&self, max_block_frames: usize) -> Engine {
        self.build_engine(max_block_frames, false)
            .unwrap_or_else(|_| self.build_engine(max_block_frames, true).expect("no I/O"))
    }

    /// Build an engine for offline render, opening streamed stems; fails naming a stem that cannot be read.
    pub fn render_engine(&self, max_block_frames: usize) -> anyhow::Result<Engine> {
        self.build_engine(max_block_frames, false)
    }

    fn build_engine(&self, max_block_frames: usize, no_streams: bool) -> anyhow::Result<Engine> {
        // Routing was validated when the session was opened; a session built in code that fails it
        // plays without buses.
        let path = self.session.save_path().unwrap_or_default();
        let routing = self.session.file.routing(&path).ok();
        let mut tracks = Vec::with_capacity(self.tracks.len());
        for (i, (ta, tc)) in self
            .tracks
            .iter()
            .zip(&self.session.file.tracks)
            .enumerate()
        {
            let source: Box<dyn Source> = match (&ta.stream, &ta.audio, &ta.path) {
                (Some(_), _, Some(p)) if !no_streams => {
                    Box::new(crate::media::stream::WavStreamSource::open(p)?)
                }
                (None, Ok(ch), _) => Box::new(MemorySource::new(ch.clone())),
                _ => Box::new(SilentSource),
            };
            let state = routing
                .as_ref()
                .and_then(|r| r.tracks.get(i).cloned())
                .unwrap_or_else(|| tc.strip_state());
            tracks.push(TrackInit { source, state });
        }
        let buses = routing
            .as_ref()
            .map(|r| r.buses.clone())
            .unwrap_or_default();
        Ok(Engine::with_buses(
            EngineConfig::new(self.sample_rate_hz, max_block_frames),
            self.session.file.master_state(),
            tracks,
            buses,
        ))
    }
}

/// Progress of [`load_each`].
#[derive(Debug)]
pub enum LoadProgress {
    /// Track `index` started decoding.
    Started(usize),
    /// Track `index` is done: its audio at the session rate, or why it is offline.
    Done(usize, TrackAudio),
    /// Reference `index` is done: its audio at the session rate and its integrated loudness as heard (mono
    /// on both sides), or why it cannot be played.
    Reference(usize, Result<ReferenceAudio, String>),
}

/// A decoded reference track.
#[derive(Clone, Debug)]
pub struct ReferenceAudio {
    /// Planar channels (1 or 2) at the session rate.
    pub channels: Vec<Arc<[f32]>>,
    /// Integrated loudness (EBU R 128), None when it cannot be measured (silence, too short).
    pub integrated_lufs: Option<f64>,
}

/// Decode a reference at `rate_hz` and measure its integrated loudness as it will be heard.
pub fn load_reference(path: &std::path::Path, rate_hz: u32) -> Result<ReferenceAudio, String> {
    use crate::loudness::{Channel, LoudnessMeter};
    let stem = crate::media::load_stem(path, Some(rate_hz)).map_err(|e| e.to_string())?;
    let channels: Vec<Arc<[f32]>> = stem.channels.into_iter().map(Arc::from).collect();
    if channels.is_empty() || channels.len() > 2 {
        return Err(format!("{}: not mono or stereo", path.display()));
    }
    let l: &[f32] = &channels[0];
    let r: &[f32] = channels.get(1).map(|c| &c[..]).unwrap_or(l);
    let integrated_lufs = LoudnessMeter::new(rate_hz, &[Channel::Left, Channel::Right])
        .and_then(|mut m| {
            m.add_planar(&[l, r])?;
            Ok(m.finish().integrated_lufs)
        })
        .ok()
        .flatten()
        .filter(|v| v.is_finite());
    Ok(ReferenceAudio {
        channels,
        integrated_lufs,
    })
}

/// Decode every stem of a (non-demo) session at `rate_hz`, several at once (rayon), reporting each start and
/// each result through `report` as it happens (from the worker threads). Missing or broken stems arrive as
/// offline tracks with the reason.
pub fn load_each(session: &Session, rate_hz: u32, report: &(dyn Fn(LoadProgress) + Sync)) {
    use rayon::prelude::*;
    (0..session.file.tracks.len())
        .into_par_iter()
        .with_max_len(1)
        .for_each(|i| {
            report(LoadProgress::Started(i));
            let t = &session.file.tracks[i];
            let path = session.track_path(i);
            let r = match &path {
                Some(p) => crate::media::load_stem(p, Some(rate_hz)).map_err(|e| e.to_string()),
                None => Err("no stem path".into()),
            };
            let ta = match r {
                Ok(stem) => TrackAudio {
                    name: t.display_name(),
                    path,
                    source_rate_hz: stem.source_rate,
                    warnings: stem.warnings,
                    audio: Ok(stem.channels.into_iter().map(Arc::from).collect()),
                    stream: None,
                },
                Err(e) => TrackAudio {
                    name: t.display_name(),
                    path,
                    source_rate_hz: 0,
                    warnings: Vec::new(),
                    audio: Err(e),
                    stream: None,
                },
            };
            report(LoadProgress::Done(i, ta));
        });
    let refs = session
        .file
        .references
        .len()
        .min(crate::engine::MAX_REFERENCES);
    (0..refs).into_par_iter().with_max_len(1).for_each(|i| {
        let r = match session.reference_path(i) {
            Some(p) => load_reference(&p, rate_hz),
            None => Err("no reference path".into()),
        };
        report(LoadProgress::Reference(i, r));
    });
}
