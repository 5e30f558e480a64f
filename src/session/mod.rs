//! The session: a TOML file (or a folder of stems, or the built-in demo) describing tracks and their settings.
//!
//! Parsing is strict: a wrong type, an unknown key or an invalid value is an error naming the file, the line and
//! the key. Saving is atomic (temporary file in the same folder, then rename).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::engine::{
    BusInit, BusKind, CompState, DelayState, EqState, GateState, LimiterState, MasterState, Output,
    PassState, ReverbState, SendState, StripState,
};

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

fn de_time_s<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !v.is_finite() || v < 0.0 {
        return Err(serde::de::Error::custom(format!(
            "time {v} s must be a number of seconds, 0 or more"
        )));
    }
    Ok(v)
}

macro_rules! ranged {
    ($name:ident, $lo:expr, $hi:expr, $what:expr) => {
        fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
            let v = f64::deserialize(d)?;
            if !v.is_finite() || !($lo..=$hi).contains(&v) {
                return Err(serde::de::Error::custom(format!(
                    "{v} is out of range ({} to {} {})",
                    $lo, $hi, $what
                )));
            }
            Ok(v as f32)
        }
    };
}

ranged!(de_freq_hz, 10.0, 24_000.0, "Hz");
ranged!(de_eq_gain_db, -30.0, 30.0, "dB");
ranged!(de_q, 0.1, 20.0, "");
ranged!(de_threshold_db, -100.0, 0.0, "dBFS");
ranged!(de_range_db, -100.0, 0.0, "dB");
ranged!(de_comp_ratio, 1.0, 100.0, ":1");
ranged!(de_knee_db, 0.0, 24.0, "dB");
ranged!(de_attack_ms, 0.01, 1000.0, "ms");
ranged!(de_hold_ms, 0.0, 2000.0, "ms");
ranged!(de_release_ms, 1.0, 5000.0, "ms");
ranged!(de_makeup_db, -24.0, 48.0, "dB");
ranged!(de_ceiling_dbtp, -30.0, 0.0, "dBTP");
ranged!(de_decay_s, 0.1, 30.0, "s");
ranged!(de_pre_delay_ms, 0.0, 250.0, "ms");
ranged!(de_size, 0.5, 2.0, "");
ranged!(de_unit, 0.0, 1.0, "");
ranged!(de_feedback, 0.0, 0.99, "");
ranged!(de_delay_ms, 1.0, 4000.0, "ms");

macro_rules! ranged_opt {
    ($name:ident, $inner:ident) => {
        fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
            $inner(d).map(Some)
        }
    };
}

ranged_opt!(de_opt_ratio, de_comp_ratio);
ranged_opt!(de_opt_sc_hz, de_freq_hz);
ranged_opt!(de_opt_q, de_q);
ranged_opt!(de_opt_delay_ms, de_delay_ms);

fn de_slope<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    if v != 12 && v != 24 {
        return Err(serde::de::Error::custom(format!(
            "slope {v} dB/oct is not supported (12 or 24)"
        )));
    }
    Ok(v as u32)
}

fn de_note<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    if note_fraction(&s).is_none() {
        return Err(serde::de::Error::custom(format!(
            "`{s}` is not a note value (e.g. \"1/4\", \"1/8.\" dotted, \"1/8t\" triplet)"
        )));
    }
    Ok(Some(s))
}

/// The fraction of a whole note written as `1/N`, with `.` for dotted or `t` for triplet.
pub fn note_fraction(s: &str) -> Option<f32> {
    let s = s.trim();
    let (body, mul) = if let Some(b) = s.strip_suffix('.') {
        (b, 1.5)
    } else if let Some(b) = s.strip_suffix('t') {
        (b, 2.0 / 3.0)
    } else {
        (s, 1.0)
    };
    let (num, den) = body.split_once('/')?;
    let num: u32 = num.trim().parse().ok()?;
    let den: u32 = den.trim().parse().ok()?;
    if num == 0 || den == 0 || den > 128 || num > 64 {
        return None;
    }
    Some(num as f32 / den as f32 * mul)
}

fn yes() -> bool {
    true
}
fn is_true(v: &bool) -> bool {
    *v
}
fn slope_12() -> u32 {
    12
}

/// `[track.hpf]` / `[track.lpf]`: a pass filter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassConfig {
    /// On (a table present is on unless `enabled = false`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Corner frequency in Hz.
    #[serde(deserialize_with = "de_freq_hz")]
    pub freq_hz: f32,
    /// 12 or 24 dB/oct.
    #[serde(default = "slope_12", deserialize_with = "de_slope")]
    pub slope_db_oct: u32,
}

impl PassConfig {
    fn state(&self) -> PassState {
        PassState {
            enabled: self.enabled,
            freq_hz: self.freq_hz,
            slope_24: self.slope_db_oct == 24,
        }
    }
}

/// One EQ band: `{ freq_hz = .., gain_db = .., q = .. }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandConfig {
    /// On.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Centre/corner frequency in Hz.
    #[serde(deserialize_with = "de_freq_hz")]
    pub freq_hz: f32,
    /// Gain in dB.
    #[serde(deserialize_with = "de_eq_gain_db")]
    pub gain_db: f32,
    /// Q (default 0.707 for shelves, 1.0 for bells).
    #[serde(
        default,
        deserialize_with = "de_opt_q",
        skip_serializing_if = "Option::is_none"
    )]
    pub q: Option<f32>,
}

/// `[track.eq]`: low shelf, two bells, high shelf.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EqConfig {
    /// Whole EQ on.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Low shelf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_shelf: Option<BandConfig>,
    /// First bell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_mid: Option<BandConfig>,
    /// Second bell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_mid: Option<BandConfig>,
    /// High shelf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_shelf: Option<BandConfig>,
}

impl EqConfig {
    fn state(&self) -> EqState {
        let mut st = EqState {
            enabled: self.enabled,
            ..Default::default()
        };
        let bands = [
            &self.low_shelf,
            &self.low_mid,
            &self.high_mid,
            &self.high_shelf,
        ];
        for (b, cfg) in bands.iter().enumerate() {
            if let Some(c) = cfg {
                let band = &mut st.bands[b];
                band.enabled = c.enabled;
                band.freq_hz = c.freq_hz;
                band.gain_db = c.gain_db;
                if let Some(q) = c.q {
                    band.q = q;
                }
            }
        }
        st
    }
}

fn d_gate_thr() -> f32 {
    -50.0
}
fn d_range() -> f32 {
    -80.0
}
fn d_gate_attack() -> f32 {
    0.5
}
fn d_hold() -> f32 {
    20.0
}
fn d_release() -> f32 {
    100.0
}
fn d_comp_thr() -> f32 {
    -18.0
}
fn d_ratio() -> f32 {
    4.0
}
fn d_knee() -> f32 {
    6.0
}
fn d_comp_attack() -> f32 {
    10.0
}
fn d_ceiling() -> f32 {
    -1.0
}
fn d_lim_release() -> f32 {
    50.0
}

/// `[track.gate]`: gate (no ratio) or downward expander (ratio).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// On.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Threshold in dBFS.
    #[serde(default = "d_gate_thr", deserialize_with = "de_threshold_db")]
    pub threshold_db: f32,
    /// Expander ratio (1 … 100); absent = gate.
    #[serde(
        default,
        deserialize_with = "de_opt_ratio",
        skip_serializing_if = "Option::is_none"
    )]
    pub ratio: Option<f32>,
    /// Floor in dB.
    #[serde(default = "d_range", deserialize_with = "de_range_db")]
    pub range_db: f32,
    /// Attack in ms.
    #[serde(default = "d_gate_attack", deserialize_with = "de_attack_ms")]
    pub attack_ms: f32,
    /// Hold in ms.
    #[serde(default = "d_hold", deserialize_with = "de_hold_ms")]
    pub hold_ms: f32,
    /// Release in ms.
    #[serde(default = "d_release", deserialize_with = "de_release_ms")]
    pub release_ms: f32,
}

impl GateConfig {
    fn state(&self) -> GateState {
        GateState {
            enabled: self.enabled,
            threshold_db: self.threshold_db,
            ratio: self.ratio.unwrap_or(f32::INFINITY),
            range_db: self.range_db,
            attack_ms: self.attack_ms,
            hold_ms: self.hold_ms,
            release_ms: self.release_ms,
        }
    }
}

/// `[track.compressor]` / `[master.compressor]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompConfig {
    /// On.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Threshold in dBFS.
    #[serde(default = "d_comp_thr", deserialize_with = "de_threshold_db")]
    pub threshold_db: f32,
    /// Ratio (1 … 100).
    #[serde(default = "d_ratio", deserialize_with = "de_comp_ratio")]
    pub ratio: f32,
    /// Knee width in dB.
    #[serde(default = "d_knee", deserialize_with = "de_knee_db")]
    pub knee_db: f32,
    /// Attack time constant in ms.
    #[serde(default = "d_comp_attack", deserialize_with = "de_attack_ms")]
    pub attack_ms: f32,
    /// Release time constant in ms.
    #[serde(default = "d_release", deserialize_with = "de_release_ms")]
    pub release_ms: f32,
    /// Makeup gain in dB.
    #[serde(default, deserialize_with = "de_makeup_db")]
    pub makeup_db: f32,
    /// Side-chain high-pass corner in Hz; absent = off.
    #[serde(
        default,
        deserialize_with = "de_opt_sc_hz",
        skip_serializing_if = "Option::is_none"
    )]
    pub sidechain_hpf_hz: Option<f32>,
}

impl CompConfig {
    fn state(&self) -> CompState {
        CompState {
            enabled: self.enabled,
            threshold_db: self.threshold_db,
            ratio: self.ratio,
            knee_db: self.knee_db,
            attack_ms: self.attack_ms,
            release_ms: self.release_ms,
            makeup_db: self.makeup_db,
            sidechain_hpf_hz: self.sidechain_hpf_hz.unwrap_or(0.0),
        }
    }
}

/// `[master.limiter]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimiterConfig {
    /// On (the lookahead latency stays even when off).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// True-peak ceiling in dBTP.
    #[serde(default = "d_ceiling", deserialize_with = "de_ceiling_dbtp")]
    pub ceiling_dbtp: f32,
    /// Release time constant in ms.
    #[serde(default = "d_lim_release", deserialize_with = "de_release_ms")]
    pub release_ms: f32,
}

/// `[[track.send]]`: a send to an effect bus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendConfig {
    /// Name of the effect bus.
    pub bus: String,
    /// Level in dB.
    #[serde(default, deserialize_with = "de_gain_db")]
    pub level_db: f32,
    /// Taken before the fader and pan (true) or after (false).
    #[serde(default, skip_serializing_if = "is_default")]
    pub pre_fader: bool,
}

fn apply_processors(
    st: &mut StripState,
    hpf: &Option<PassConfig>,
    lpf: &Option<PassConfig>,
    eq: &Option<EqConfig>,
    gate: &Option<GateConfig>,
    comp: &Option<CompConfig>,
) {
    if let Some(h) = hpf {
        st.hpf = h.state();
    }
    if let Some(l) = lpf {
        st.lpf = l.state();
    }
    if let Some(e) = eq {
        st.eq = e.state();
    }
    if let Some(g) = gate {
        st.gate = g.state();
    }
    if let Some(c) = comp {
        st.compressor = c.state();
    }
}

/// What a bus is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusKindName {
    /// Sums the tracks routed to it.
    #[default]
    Group,
    /// Reverb effect bus (fed by sends).
    Reverb,
    /// Delay effect bus (fed by sends).
    Delay,
}

fn d_decay() -> f32 {
    2.0
}
fn d_pre_delay() -> f32 {
    20.0
}
fn d_one() -> f32 {
    1.0
}
fn d_half() -> f32 {
    0.5
}
fn d_feedback() -> f32 {
    0.35
}
fn d_low_cut() -> f32 {
    100.0
}
fn d_high_cut() -> f32 {
    8_000.0
}

/// `[bus.reverb]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReverbConfig {
    /// T60 in s.
    #[serde(default = "d_decay", deserialize_with = "de_decay_s")]
    pub decay_s: f32,
    /// Pre-delay in ms.
    #[serde(default = "d_pre_delay", deserialize_with = "de_pre_delay_ms")]
    pub pre_delay_ms: f32,
    /// Size 0.5 … 2.
    #[serde(default = "d_one", deserialize_with = "de_size")]
    pub size: f32,
    /// Damping 0 … 1.
    #[serde(default = "d_half", deserialize_with = "de_unit")]
    pub damping: f32,
    /// Width 0 … 1.
    #[serde(default = "d_one", deserialize_with = "de_unit")]
    pub width: f32,
}

impl Default for ReverbConfig {
    fn default() -> Self {
        Self {
            decay_s: 2.0,
            pre_delay_ms: 20.0,
            size: 1.0,
            damping: 0.5,
            width: 1.0,
        }
    }
}

/// `[bus.delay]`: `time = "1/8."` (note value at the session tempo) or `time_ms`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayConfig {
    /// Note value: "1/4", "1/8." (dotted), "1/8t" (triplet).
    #[serde(
        default,
        deserialize_with = "de_note",
        skip_serializing_if = "Option::is_none"
    )]
    pub time: Option<String>,
    /// Time in ms.
    #[serde(
        default,
        deserialize_with = "de_opt_delay_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_ms: Option<f32>,
    /// Feedback 0 … 0.99.
    #[serde(default = "d_feedback", deserialize_with = "de_feedback")]
    pub feedback: f32,
    /// Low cut in the feedback path, Hz.
    #[serde(default = "d_low_cut", deserialize_with = "de_freq_hz")]
    pub low_cut_hz: f32,
    /// High cut in the feedback path, Hz.
    #[serde(default = "d_high_cut", deserialize_with = "de_freq_hz")]
    pub high_cut_hz: f32,
    /// Ping-pong.
    #[serde(default, skip_serializing_if = "is_default")]
    pub ping_pong: bool,
}

/// One `[[bus]]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    /// Name (referenced by `output` and `[[track.send]] bus`).
    pub name: String,
    /// "group", "reverb" or "delay".
    #[serde(default)]
    pub kind: BusKindName,
    /// A group bus's destination: another group bus's name; default the master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Fader (return level for effect buses) in dB.
    #[serde(default, deserialize_with = "de_gain_db")]
    pub gain_db: f32,
    /// Input trim in dB.
    #[serde(default, deserialize_with = "de_gain_db")]
    pub trim_db: f32,
    /// Pan / balance.
    #[serde(default, deserialize_with = "de_pan")]
    pub pan: f32,
    /// Muted.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mute: bool,
    /// Soloed.
    #[serde(default, skip_serializing_if = "is_default")]
    pub solo: bool,
    /// High-pass filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpf: Option<PassConfig>,
    /// Low-pass filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lpf: Option<PassConfig>,
    /// 4-band EQ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<EqConfig>,
    /// Gate / expander.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateConfig>,
    /// Compressor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressor: Option<CompConfig>,
    /// Sends (group buses only).
    #[serde(default, rename = "send", skip_serializing_if = "Vec::is_empty")]
    pub sends: Vec<SendConfig>,
    /// Reverb settings (kind = "reverb").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverb: Option<ReverbConfig>,
    /// Delay settings (kind = "delay").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DelayConfig>,
}

/// `[master]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterConfig {
    /// Master fader in dB.
    #[serde(default, deserialize_with = "de_gain_db")]
    pub gain_db: f32,
    /// Master EQ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<EqConfig>,
    /// Bus compressor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressor: Option<CompConfig>,
    /// Lookahead true-peak limiter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limiter: Option<LimiterConfig>,
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
    /// Destination: a group bus's name; default the master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// High-pass filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpf: Option<PassConfig>,
    /// Low-pass filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lpf: Option<PassConfig>,
    /// 4-band EQ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<EqConfig>,
    /// Gate / expander.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateConfig>,
    /// Compressor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressor: Option<CompConfig>,
    /// Sends to effect buses.
    #[serde(default, rename = "send", skip_serializing_if = "Vec::is_empty")]
    pub sends: Vec<SendConfig>,
}

impl TrackConfig {
    /// The strip settings the engine starts from, without routing (output master, no sends); see
    /// [`SessionFile::routing`] for those.
    pub fn strip_state(&self) -> StripState {
        let mut st = StripState {
            trim_db: self.trim_db,
            gain_db: self.gain_db,
            pan: self.pan,
            mute: self.mute,
            solo: self.solo,
            invert_polarity: self.invert_polarity,
            ..Default::default()
        };
        apply_processors(
            &mut st,
            &self.hpf,
            &self.lpf,
            &self.eq,
            &self.gate,
            &self.compressor,
        );
        st
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
    /// `[[bus]]` entries, in order.
    #[serde(default, rename = "bus", skip_serializing_if = "Vec::is_empty")]
    pub buses: Vec<BusConfig>,
    /// `[[marker]]` entries (named points on the timeline), kept sorted by time.
    #[serde(default, rename = "marker", skip_serializing_if = "Vec::is_empty")]
    pub markers: Vec<MarkerConfig>,
    /// `[[reference]]` entries: finished songs to compare the mix with (monitor only, never rendered).
    #[serde(default, rename = "reference", skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<ReferenceConfig>,
}

/// One `[[reference]]`: a finished song to A/B the mix against.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceConfig {
    /// Audio file, relative to the session folder or absolute.
    pub file: PathBuf,
    /// Display name (default: the file stem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ReferenceConfig {
    /// The name shown: `name`, else the file stem.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.file.display().to_string())
        })
    }
}

/// One `[[marker]]`: a named point on the timeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkerConfig {
    /// Position in seconds from the start of the session.
    #[serde(deserialize_with = "de_time_s")]
    pub time_s: f64,
    /// Name shown in the transport bar ("Chorus 1").
    #[serde(default)]
    pub name: String,
}

impl MarkerConfig {
    /// The marker's frame at `rate_hz` (rounded to the nearest frame).
    pub fn frame(&self, rate_hz: u32) -> u64 {
        (self.time_s * f64::from(rate_hz)).round() as u64
    }
}

/// The session resolved for the engine: track strips (with routing), buses and master.
#[derive(Clone, Debug)]
pub struct Routing {
    /// Per track, in order.
    pub tracks: Vec<StripState>,
    /// Per bus, in order.
    pub buses: Vec<BusInit>,
    /// The master.
    pub master: MasterState,
}

impl SessionFile {
    /// Parse TOML text; errors name `path`, the line and the key.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SessionError> {
        toml::from_str::<SessionFile>(text).map_err(|e| toml_error(text, path, &e))
    }

    /// The master settings the engine starts from.
    pub fn master_state(&self) -> MasterState {
        let m = &self.master;
        MasterState {
            gain_db: m.gain_db,
            eq: m.eq.as_ref().map(|e| e.state()).unwrap_or_default(),
            compressor: m.compressor.as_ref().map(|c| c.state()).unwrap_or_default(),
            limiter: m.limiter.as_ref().map(|l| LimiterState {
                enabled: l.enabled,
                ceiling_dbtp: l.ceiling_dbtp,
                release_ms: l.release_ms,
            }),
        }
    }

    /// Resolve bus names into the engine's routing. Errors (naming `path`): duplicate or unknown bus
    /// names, an output that is not a group bus, a send to a bus that is not an effect bus, a routing loop
    /// between group buses, a note-valued delay without `tempo_bpm`.
    pub fn routing(&self, path: &Path) -> Result<Routing, SessionError> {
        let err = |reason: String| SessionError::path(path, reason);
        let find = |name: &str| self.buses.iter().position(|b| b.name == name);
        for (i, b) in self.buses.iter().enumerate() {
            if b.name.trim().is_empty() {
                return Err(err(format!("bus {} has an empty name", i + 1)));
            }
            if find(&b.name) != Some(i) {
                return Err(err(format!("two buses are named `{}`", b.name)));
            }
        }
        let output = |who: &str, out: &Option<String>| -> Result<Output, SessionError> {
            let Some(name) = out else {
                return Ok(Output::Master);
            };
            if name.eq_ignore_ascii_case("master") {
                return Ok(Output::Master);
            }
            let i = find(name)
                .ok_or_else(|| err(format!("{who}: output `{name}`: no bus has that name")))?;
            if self.buses[i].kind != BusKindName::Group {
                return Err(err(format!(
                    "{who}: output `{name}` is an effect bus; route to a group bus or the master, and feed effect buses with sends"
                )));
            }
            Ok(Output::Bus(i as u16))
        };
        let sends = |who: &str, sends: &[SendConfig]| -> Result<Vec<SendState>, SessionError> {
            sends
                .iter()
                .map(|s| {
                    let i = find(&s.bus)
                        .ok_or_else(|| err(format!("{who}: send to `{}`: no bus has that name", s.bus)))?;
                    if self.buses[i].kind == BusKindName::Group {
                        return Err(err(format!(
                            "{who}: send to `{}`: it is a group bus; sends feed reverb or delay buses",
                            s.bus
                        )));
                    }
                    Ok(SendState {
                        bus: i as u16,
                        level_db: s.level_db,
                        pre_fader: s.pre_fader,
                    })
                })
                .collect()
        };
        let mut tracks = Vec::with_capacity(self.tracks.len());
        for t in &self.tracks {
            let who = format!("track `{}`", t.display_name());
            let mut st = t.strip_state();
            st.output = output(&who, &t.output)?;
            st.sends = sends(&who, &t.sends)?;
            tracks.push(st);
        }
        let mut buses = Vec::with_capacity(self.buses.len());
        for b in &self.buses {
            let who = format!("bus `{}`", b.name);
            let mut st = StripState {
                trim_db: b.trim_db,
                gain_db: b.gain_db,
                pan: b.pan,
                mute: b.mute,
                solo: b.solo,
                ..Default::default()
            };
            apply_processors(&mut st, &b.hpf, &b.lpf, &b.eq, &b.gate, &b.compressor);
            st.output = output(&who, &b.output)?;
            st.sends = sends(&who, &b.sends)?;
            let kind = match b.kind {
                BusKindName::Group => {
                    if b.reverb.is_some() || b.delay.is_some() {
                        return Err(err(format!(
                            "{who}: a group bus has no [bus.reverb] or [bus.delay] (set kind)"
                        )));
                    }
                    BusKind::Group
                }
                BusKindName::Reverb | BusKindName::Delay => {
                    if st.output != Output::Master {
                        return Err(err(format!("{who}: an effect bus returns to the master")));
                    }
                    if !st.sends.is_empty() {
                        return Err(err(format!("{who}: an effect bus has no sends")));
                    }
                    if b.kind == BusKindName::Reverb {
                        if b.delay.is_some() {
                            return Err(err(format!("{who}: a reverb bus has no [bus.delay]")));
                        }
                        let r = b.reverb.clone().unwrap_or_default();
                        BusKind::Reverb(ReverbState {
                            decay_s: r.decay_s,
                            pre_delay_ms: r.pre_delay_ms,
                            size: r.size,
                            damping: r.damping,
                            width: r.width,
                        })
                    } else {
                        if b.reverb.is_some() {
                            return Err(err(format!("{who}: a delay bus has no [bus.reverb]")));
                        }
                        let d = b.delay.clone().unwrap_or_default();
                        let time_ms = match (&d.time, d.time_ms) {
                            (Some(_), Some(_)) => {
                                return Err(err(format!(
                                    "{who}: give `time` or `time_ms`, not both"
                                )))
                            }
                            (Some(note), None) => {
                                let bpm = self.tempo_bpm.ok_or_else(|| {
                                    err(format!(
                                        "{who}: `time = \"{note}\"` needs the session's tempo_bpm"
                                    ))
                                })?;
                                let frac = note_fraction(note).unwrap_or(0.25);
                                crate::dsp::delay::note_to_ms(bpm as f32, frac)
                            }
                            (None, Some(ms)) => ms,
                            (None, None) => DelayState::default().time_ms,
                        };
                        if !(1.0..=crate::dsp::delay::MAX_DELAY_MS).contains(&time_ms) {
                            return Err(err(format!(
                                "{who}: delay time {time_ms:.1} ms is out of range (1 to 4000 ms)"
                            )));
                        }
                        BusKind::Delay(DelayState {
                            time_ms,
                            feedback: d.feedback,
                            low_cut_hz: d.low_cut_hz,
                            high_cut_hz: d.high_cut_hz,
                            ping_pong: d.ping_pong,
                        })
                    }
                }
            };
            buses.push(BusInit { kind, state: st });
        }
        let outputs: Vec<Output> = buses.iter().map(|b| b.state.output).collect();
        if let Err(first) = crate::engine::bus_order(&outputs) {
            let mut names = vec![self.buses[first].name.clone()];
            let mut cur = first;
            while let Output::Bus(b) = outputs[cur] {
                cur = b as usize;
                names.push(self.buses[cur].name.clone());
                if cur == first || names.len() > outputs.len() + 1 {
                    break;
                }
            }
            return Err(err(format!(
                "routing loop between group buses: {}",
                names.join(" -> ")
            )));
        }
        Ok(Routing {
            tracks,
            buses,
            master: self.master_state(),
        })
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
        file.routing(path)?;
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

    /// Absolute path of reference `index`.
    pub fn reference_path(&self, index: usize) -> Option<PathBuf> {
        let r = self.file.references.get(index)?;
        Some(if r.file.is_absolute() {
            r.file.clone()
        } else {
            self.base_dir.join(&r.file)
        })
    }

    /// Every file this session reads (the session file and its stems): a render must never overwrite them.
    pub fn input_paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = (0..self.file.tracks.len())
            .filter_map(|i| self.track_path(i))
            .chain((0..self.file.references.len()).filter_map(|i| self.reference_path(i)))
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
    fn new_keys_name_line_and_key() {
        let e = err("[[track]]\nfile = \"a.wav\"\n[track.compressor]\nratio = 0.5\n");
        assert!(e.starts_with("s.toml:4: key `ratio`: "), "{e}");
        assert!(e.contains("out of range"), "{e}");
        let e = err("[[track]]\nfile = \"a.wav\"\n[track.hpf]\nfreq_hz = 80\nslope_db_oct = 18\n");
        assert!(e.starts_with("s.toml:5: key `slope_db_oct`: "), "{e}");
        let e = err("[[track]]\nfile = \"a.wav\"\n[track.eq]\nlow_shelf = { freq_hz = 5.0, gain_db = 1.0 }\n");
        assert!(e.starts_with("s.toml:4: "), "{e}");
        assert!(e.contains("out of range"), "{e}");
        let e = err("[master.limiter]\nceiling_dbtp = 3.0\n");
        assert!(e.starts_with("s.toml:2: key `ceiling_dbtp`: "), "{e}");
        let e = err("[[bus]]\nname = \"D\"\nkind = \"chorus\"\n");
        assert!(e.starts_with("s.toml:3: key `kind`: "), "{e}");
        let e = err("[[bus]]\nname = \"D\"\nkind = \"delay\"\n[bus.delay]\ntime = \"1/7x\"\n");
        assert!(e.starts_with("s.toml:5: key `time`: "), "{e}");
        let e = err("[[track]]\nfile = \"a.wav\"\n[track.gate]\nthreshhold_db = -40\n");
        assert!(e.starts_with("s.toml:4: "), "{e}");
        assert!(e.contains("unknown field `threshhold_db`"), "{e}");
    }

    #[test]
    fn processor_tables_are_on_unless_disabled_and_note_delays_use_the_tempo() {
        let text = "tempo_bpm = 120.0\n[[track]]\nfile = \"a.wav\"\n[track.hpf]\nfreq_hz = 90\nslope_db_oct = 24\n\
                    [track.gate]\nenabled = false\n[[bus]]\nname = \"E\"\nkind = \"delay\"\n[bus.delay]\ntime = \"1/8.\"\n";
        let s = SessionFile::parse(text, Path::new("s.toml")).unwrap();
        let r = s.routing(Path::new("s.toml")).unwrap();
        assert!(r.tracks[0].hpf.enabled && r.tracks[0].hpf.slope_24);
        assert_eq!(r.tracks[0].hpf.freq_hz, 90.0);
        assert!(!r.tracks[0].gate.enabled && !r.tracks[0].compressor.enabled);
        match r.buses[0].kind {
            BusKind::Delay(d) => assert!((d.time_ms - 375.0).abs() < 1e-3, "{}", d.time_ms),
            _ => panic!("not a delay"),
        }
        let back = SessionFile::parse(&s.to_toml(), Path::new("x.toml")).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn round_trips_through_toml() {
        let s = SessionFile {
            sample_rate: Some(44100),
            tempo_bpm: Some(120.0),
            master: MasterConfig {
                gain_db: -1.5,
                ..Default::default()
            },
            tracks: vec![TrackConfig {
                name: Some("Bass".into()),
                file: "b.flac".into(),
                gain_db: -4.25,
                pan: -0.5,
                mute: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let back = SessionFile::parse(&s.to_toml(), Path::new("x.toml")).unwrap();
        assert_eq!(back, s);
    }
}
