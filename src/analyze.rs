//! Loudness and peak reports for audio files and for sessions (the mix, rendered in memory, and each track).

use std::path::Path;

use anyhow::{bail, Result};
use rayon::prelude::*;
use serde::Serialize;

use crate::load::LoadedSession;
use crate::loudness::{self, Channel, LoudnessReport};
use crate::media::{self, ChannelRole};
use crate::render::{render_to_memory, RenderOptions};

/// One track's figures in a session analysis.
#[derive(Clone, Debug, Serialize)]
pub struct TrackReport {
    /// Track name.
    pub name: String,
    /// Stem file (as given in the session; `demo:NAME` for the demo).
    pub file: String,
    /// Sample peak after the trim, before the fader, in dBFS (None for digital silence).
    pub peak_dbfs: Option<f64>,
    /// RMS over all channels after the trim, before the fader, in dBFS (None for digital silence).
    pub rms_dbfs: Option<f64>,
    /// The track's own figures: its stem after the input trim and polarity, before the fader.
    #[serde(flatten)]
    pub report: LoudnessReport,
}

/// Sample peak (dBFS) and RMS over every sample of every channel (dBFS) of planar audio.
pub fn peak_rms_dbfs(chans: &[&[f32]]) -> (Option<f64>, Option<f64>) {
    let mut peak = 0.0f64;
    let mut sum = 0.0f64;
    let mut n = 0usize;
    for c in chans {
        for &x in c.iter() {
            let x = x as f64;
            peak = peak.max(x.abs());
            sum += x * x;
        }
        n += c.len();
    }
    let db = |v: f64| (v > 0.0).then(|| 20.0 * v.log10());
    (
        db(peak),
        db(if n > 0 { (sum / n as f64).sqrt() } else { 0.0 }),
    )
}

/// What `gain-stage` aims each track's pre-fader level at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GainTarget {
    /// RMS over all channels, dBFS.
    RmsDb(f64),
    /// Integrated loudness, LUFS.
    Lufs(f64),
}

/// One track's trim change.
#[derive(Clone, Debug, Serialize)]
pub struct TrimChange {
    /// Track name.
    pub name: String,
    /// Trim before, dB.
    pub old_trim_db: f32,
    /// Trim after, dB.
    pub new_trim_db: f32,
    /// The stem's own level (no trim) in the target's unit; None when silent (trim left alone).
    pub level_db: Option<f64>,
}

/// Compute every track's trim so its pre-fader level (stem × trim) hits `target`, from the stems alone
/// (independent of the engine). Trims are clamped to −144 … +24 dB; silent tracks keep their trim.
pub fn gain_stage(loaded: &LoadedSession, target: GainTarget) -> Result<Vec<TrimChange>> {
    if let Some(reason) = loaded.first_offline() {
        bail!("{reason}");
    }
    let rate = loaded.sample_rate_hz;
    loaded
        .tracks
        .par_iter()
        .zip(loaded.session.file.tracks.par_iter())
        .map(|(ta, tc)| {
            let chans = ta.audio.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
            let refs: Vec<&[f32]> = chans.iter().map(|c| &c[..]).collect();
            let (level, want) = match target {
                GainTarget::RmsDb(t) => (peak_rms_dbfs(&refs).1, t),
                GainTarget::Lufs(t) => {
                    let roles = if refs.len() == 1 {
                        vec![Channel::Mono]
                    } else {
                        vec![Channel::Left, Channel::Right]
                    };
                    (
                        loudness::measure_planar(&refs, &roles, rate)?.integrated_lufs,
                        t,
                    )
                }
            };
            let new_trim_db = match level {
                Some(l) => ((want - l) as f32).clamp(-144.0, 24.0),
                None => tc.trim_db,
            };
            Ok(TrimChange {
                name: ta.name.clone(),
                old_trim_db: tc.trim_db,
                new_trim_db,
                level_db: level,
            })
        })
        .collect()
}

/// The report of a session: the mix and every track.
#[derive(Clone, Debug, Serialize)]
pub struct SessionReport {
    /// The rendered mix.
    pub mix: LoudnessReport,
    /// Each track, in session order.
    pub tracks: Vec<TrackReport>,
}

fn to_channel(r: ChannelRole) -> Channel {
    match r {
        ChannelRole::Left => Channel::Left,
        ChannelRole::Right => Channel::Right,
        ChannelRole::Center => Channel::Center,
        ChannelRole::Lfe => Channel::Lfe,
        ChannelRole::LeftSurround => Channel::LeftSurround,
        ChannelRole::RightSurround => Channel::RightSurround,
        ChannelRole::Mono => Channel::Mono,
        ChannelRole::Other => Channel::Other,
    }
}

/// The report of one audio file, measured with its own channels and rate (a mono file is one channel; 5.1
/// uses the BS.1770 channel weights).
pub fn analyze_file(path: &Path) -> Result<LoudnessReport> {
    let audio = media::decode_file(path)?;
    for w in &audio.warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    let chans: Vec<&[f32]> = audio.channels.iter().map(|c| c.as_slice()).collect();
    let roles: Vec<Channel> = audio.roles.iter().map(|r| to_channel(*r)).collect();
    loudness::measure_planar(&chans, &roles, audio.sample_rate)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The report of a session: the mix rendered in memory through the engine, and each track before its fader.
pub fn analyze_session(loaded: &LoadedSession) -> Result<SessionReport> {
    if let Some(reason) = loaded.first_offline() {
        bail!("{reason}");
    }
    let (_, mix) = render_to_memory(loaded, &RenderOptions::default())?;
    let rate = loaded.sample_rate_hz;
    let tracks = loaded
        .tracks
        .par_iter()
        .zip(loaded.session.file.tracks.par_iter())
        .map(|(ta, tc)| {
            let chans = ta.audio.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
            let pre = 10f32.powf(tc.trim_db / 20.0) * if tc.invert_polarity { -1.0 } else { 1.0 };
            let scaled: Vec<Vec<f32>> = chans
                .iter()
                .map(|c| c.iter().map(|x| x * pre).collect())
                .collect();
            let refs: Vec<&[f32]> = scaled.iter().map(|c| c.as_slice()).collect();
            let roles = if refs.len() == 1 {
                vec![Channel::Mono]
            } else {
                vec![Channel::Left, Channel::Right]
            };
            let (peak_dbfs, rms_dbfs) = peak_rms_dbfs(&refs);
            Ok(TrackReport {
                peak_dbfs,
                rms_dbfs,
                name: ta.name.clone(),
                file: tc.file.display().to_string(),
                report: loudness::measure_planar(&refs, &roles, rate)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(SessionReport { mix, tracks })
}

impl SessionReport {
    /// Human-readable text: the mix, then one line per track.
    pub fn to_text(&self) -> String {
        let mut s = String::from("Mix\n");
        s.push_str(&self.mix.to_text());
        s.push_str("\nTracks (before the fader)\n");
        let f = |v: Option<f64>| {
            v.map(|x| format!("{x:7.1}"))
                .unwrap_or_else(|| "    n/a".into())
        };
        s.push_str(&format!(
            "  {:<24} {:>7} {:>7} {:>7} {:>7} {:>7}\n",
            "track", "RMS", "LUFS", "LRA", "dBTP", "peak"
        ));
        for t in &self.tracks {
            s.push_str(&format!(
                "  {:<24} {} {} {} {} {}\n",
                t.name,
                f(t.rms_dbfs),
                f(t.report.integrated_lufs),
                f(t.report.loudness_range_lu),
                f(t.report.true_peak_dbtp),
                f(t.report.sample_peak_dbfs)
            ));
        }
        s
    }
}
