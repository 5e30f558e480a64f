//! The inspector's parameter table: every parameter of a track, group/effect bus or the master strip, grouped
//! in sections, with its range, steps (coarse/normal/fine), how it reads from and writes to the session model,
//! and how it is shown. The engine commands for an edit come from [`super::diff_commands`], which compares the
//! engine states the session resolves to, so a parameter needs no command code of its own.

use std::path::Path;

use crate::engine::{BusKind, LimiterState, Output, StripState};
use crate::session::{
    BandConfig, BusKindName, CompConfig, DelayConfig, EqConfig, GateConfig, PassConfig,
    ReverbConfig, SendConfig, SessionFile,
};

/// A strip the inspector can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StripRef {
    /// A track by index.
    Track(usize),
    /// A bus by index in `[[bus]]`.
    Bus(usize),
    /// The master.
    Master,
}

/// EQ band names, in engine order.
pub const BAND_NAMES: [&str; 4] = ["low shelf", "bell 1", "bell 2", "high shelf"];
/// Short EQ band names for rows.
pub const BAND_SHORT: [&str; 4] = ["LS", "B1", "B2", "HS"];

/// A send level at or below this is "off" (the send is removed from the session).
pub const SEND_OFF_DB: f32 = -61.0;
/// Gate ratio at or above this is a gate (no ratio: infinite).
pub const GATE_RATIO_INF: f32 = 21.0;

/// One parameter of a strip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Param {
    /// Input trim dB.
    Trim,
    /// Polarity (tracks).
    Polarity,
    /// HPF on.
    HpfOn,
    /// HPF corner.
    HpfFreq,
    /// HPF 24 dB/oct.
    HpfSlope,
    /// LPF on.
    LpfOn,
    /// LPF corner.
    LpfFreq,
    /// LPF 24 dB/oct.
    LpfSlope,
    /// Whole EQ on.
    EqOn,
    /// Band on.
    BandOn(u8),
    /// Band frequency.
    BandFreq(u8),
    /// Band gain.
    BandGain(u8),
    /// Band Q.
    BandQ(u8),
    /// Gate on.
    GateOn,
    /// Gate threshold.
    GateThreshold,
    /// Expander ratio (at the top: gate).
    GateRatio,
    /// Gate floor.
    GateRange,
    /// Gate attack.
    GateAttack,
    /// Gate hold.
    GateHold,
    /// Gate release.
    GateRelease,
    /// Compressor on.
    CompOn,
    /// Compressor threshold.
    CompThreshold,
    /// Compressor ratio.
    CompRatio,
    /// Compressor knee.
    CompKnee,
    /// Compressor attack.
    CompAttack,
    /// Compressor release.
    CompRelease,
    /// Compressor makeup.
    CompMakeup,
    /// Side-chain high-pass (0 off).
    CompScHpf,
    /// Send level to effect bus n (off below the range).
    SendLevel(u16),
    /// Send to effect bus n before the fader.
    SendPre(u16),
    /// Output: master or a group bus.
    Output,
    /// Fader.
    Fader,
    /// Pan.
    Pan,
    /// Mute.
    Mute,
    /// Solo.
    Solo,
    /// Reverb T60.
    RevDecay,
    /// Reverb pre-delay.
    RevPreDelay,
    /// Reverb size.
    RevSize,
    /// Reverb damping.
    RevDamping,
    /// Reverb width.
    RevWidth,
    /// Delay time.
    DlyTime,
    /// Delay feedback.
    DlyFeedback,
    /// Delay low cut.
    DlyLowCut,
    /// Delay high cut.
    DlyHighCut,
    /// Delay ping-pong.
    DlyPingPong,
    /// Limiter on.
    LimOn,
    /// Limiter ceiling.
    LimCeiling,
    /// Limiter release.
    LimRelease,
}

/// How a parameter steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// Additive steps; values round to the fine step.
    Linear,
    /// Steps in octaves (frequencies); values round to 3 significant digits.
    Log,
    /// Like `Log`, but 0 is "off" just below the minimum.
    LogOff,
    /// On/off (0/1).
    Switch,
    /// One of a list (the output).
    Choice,
}

/// Range and steps of a parameter.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Row name.
    pub name: &'static str,
    /// Unit.
    pub unit: &'static str,
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
    /// Reset value.
    pub default: f32,
    /// Normal step (octaves for log scales).
    pub step: f32,
    /// Fine step.
    pub fine: f32,
    /// Coarse step.
    pub coarse: f32,
    /// How it steps.
    pub scale: Scale,
}

const fn lin(
    name: &'static str,
    unit: &'static str,
    min: f32,
    max: f32,
    default: f32,
    steps: [f32; 3],
) -> Spec {
    Spec {
        name,
        unit,
        min,
        max,
        default,
        step: steps[0],
        fine: steps[1],
        coarse: steps[2],
        scale: Scale::Linear,
    }
}

const fn log(name: &'static str, min: f32, max: f32, default: f32) -> Spec {
    Spec {
        name,
        unit: "Hz",
        min,
        max,
        default,
        step: 1.0 / 6.0,
        fine: 1.0 / 24.0,
        coarse: 1.0,
        scale: Scale::Log,
    }
}

const fn switch(name: &'static str, default: f32) -> Spec {
    Spec {
        name,
        unit: "",
        min: 0.0,
        max: 1.0,
        default,
        step: 1.0,
        fine: 1.0,
        coarse: 1.0,
        scale: Scale::Switch,
    }
}

const DB: [f32; 3] = [1.0, 0.1, 6.0];
const MS: [f32; 3] = [1.0, 0.1, 10.0];

impl Param {
    /// Range, steps and name.
    pub fn spec(self) -> Spec {
        use Param::*;
        let band_default_freq = [100.0, 400.0, 2_500.0, 8_000.0];
        match self {
            Trim => lin("trim", "dB", -24.0, 24.0, 0.0, DB),
            Polarity => switch("polarity", 0.0),
            HpfOn => switch("HPF", 0.0),
            HpfFreq => log("HPF freq", 10.0, 24_000.0, 80.0),
            HpfSlope => lin("HPF slope", "dB/oct", 12.0, 24.0, 12.0, [12.0, 12.0, 12.0]),
            LpfOn => switch("LPF", 0.0),
            LpfFreq => log("LPF freq", 10.0, 24_000.0, 12_000.0),
            LpfSlope => lin("LPF slope", "dB/oct", 12.0, 24.0, 12.0, [12.0, 12.0, 12.0]),
            EqOn => switch("EQ", 0.0),
            BandOn(_) => switch("on", 0.0),
            BandFreq(b) => log("freq", 10.0, 24_000.0, band_default_freq[b as usize & 3]),
            BandGain(_) => lin("gain", "dB", -30.0, 30.0, 0.0, [0.5, 0.1, 3.0]),
            BandQ(b) => lin(
                "Q",
                "",
                0.1,
                20.0,
                if b == 0 || b == 3 { 0.71 } else { 1.0 },
                [0.1, 0.01, 1.0],
            ),
            GateOn => switch("gate", 0.0),
            GateThreshold => lin("threshold", "dB", -100.0, 0.0, -50.0, DB),
            GateRatio => lin(
                "ratio",
                ":1",
                1.0,
                GATE_RATIO_INF,
                GATE_RATIO_INF,
                [1.0, 0.1, 5.0],
            ),
            GateRange => lin("range", "dB", -100.0, 0.0, -80.0, DB),
            GateAttack => lin("attack", "ms", 0.1, 1000.0, 0.5, MS),
            GateHold => lin("hold", "ms", 0.0, 2000.0, 20.0, [5.0, 1.0, 50.0]),
            GateRelease => lin("release", "ms", 1.0, 5000.0, 100.0, [10.0, 1.0, 100.0]),
            CompOn => switch("comp", 0.0),
            CompThreshold => lin("threshold", "dB", -100.0, 0.0, -18.0, DB),
            CompRatio => lin("ratio", ":1", 1.0, 100.0, 4.0, [0.5, 0.1, 2.0]),
            CompKnee => lin("knee", "dB", 0.0, 24.0, 6.0, DB),
            CompAttack => lin("attack", "ms", 0.1, 1000.0, 10.0, MS),
            CompRelease => lin("release", "ms", 1.0, 5000.0, 100.0, [10.0, 1.0, 100.0]),
            CompMakeup => lin("makeup", "dB", -24.0, 48.0, 0.0, DB),
            CompScHpf => Spec {
                scale: Scale::LogOff,
                ..log("SC HPF", 20.0, 2_000.0, 0.0)
            },
            SendLevel(_) => lin("level", "dB", SEND_OFF_DB, 12.0, SEND_OFF_DB, DB),
            SendPre(_) => switch("pre-fader", 0.0),
            Output => Spec {
                scale: Scale::Choice,
                ..lin("output", "", 0.0, 1000.0, 0.0, [1.0, 1.0, 1.0])
            },
            Fader => lin(
                "fader",
                "dB",
                super::FADER_MIN_DB,
                super::FADER_MAX_DB,
                0.0,
                DB,
            ),
            Pan => lin("pan", "", -1.0, 1.0, 0.0, [0.1, 0.01, 0.5]),
            Mute => switch("mute", 0.0),
            Solo => switch("solo", 0.0),
            RevDecay => lin("decay", "s", 0.1, 30.0, 2.0, [0.1, 0.01, 1.0]),
            RevPreDelay => lin("pre-delay", "ms", 0.0, 250.0, 20.0, MS),
            RevSize => lin("size", "", 0.5, 2.0, 1.0, [0.05, 0.01, 0.25]),
            RevDamping => lin("damping", "", 0.0, 1.0, 0.5, [0.05, 0.01, 0.25]),
            RevWidth => lin("width", "", 0.0, 1.0, 1.0, [0.05, 0.01, 0.25]),
            DlyTime => lin("time", "ms", 1.0, 4000.0, 375.0, [10.0, 1.0, 100.0]),
            DlyFeedback => lin("feedback", "", 0.0, 0.99, 0.35, [0.05, 0.01, 0.2]),
            DlyLowCut => log("low cut", 10.0, 24_000.0, 100.0),
            DlyHighCut => log("high cut", 10.0, 24_000.0, 8_000.0),
            DlyPingPong => switch("ping-pong", 0.0),
            LimOn => switch("limiter", 1.0),
            LimCeiling => lin("ceiling", "dBTP", -30.0, 0.0, -1.0, DB),
            LimRelease => lin("release", "ms", 1.0, 5000.0, 50.0, [5.0, 1.0, 50.0]),
        }
    }

    /// The value as the session has it (switches 0/1; output: 0 master, k + 1 group bus k).
    pub fn get(self, v: &View) -> f32 {
        use Param::*;
        let st = &v.st;
        let b2f = |b: bool| if b { 1.0 } else { 0.0 };
        let band = |b: u8| &st.eq.bands[b as usize & 3];
        match self {
            Trim => st.trim_db,
            Polarity => b2f(st.invert_polarity),
            HpfOn => b2f(st.hpf.enabled),
            HpfFreq => st.hpf.freq_hz,
            HpfSlope => slope(st.hpf.slope_24),
            LpfOn => b2f(st.lpf.enabled),
            LpfFreq => st.lpf.freq_hz,
            LpfSlope => slope(st.lpf.slope_24),
            EqOn => b2f(st.eq.enabled),
            BandOn(b) => b2f(band(b).enabled),
            BandFreq(b) => band(b).freq_hz,
            BandGain(b) => band(b).gain_db,
            BandQ(b) => band(b).q,
            GateOn => b2f(st.gate.enabled),
            GateThreshold => st.gate.threshold_db,
            GateRatio => st.gate.ratio.min(GATE_RATIO_INF),
            GateRange => st.gate.range_db,
            GateAttack => st.gate.attack_ms,
            GateHold => st.gate.hold_ms,
            GateRelease => st.gate.release_ms,
            CompOn => b2f(st.compressor.enabled),
            CompThreshold => st.compressor.threshold_db,
            CompRatio => st.compressor.ratio,
            CompKnee => st.compressor.knee_db,
            CompAttack => st.compressor.attack_ms,
            CompRelease => st.compressor.release_ms,
            CompMakeup => st.compressor.makeup_db,
            CompScHpf => st.compressor.sidechain_hpf_hz,
            SendLevel(b) => st
                .sends
                .iter()
                .find(|s| s.bus == b)
                .map_or(SEND_OFF_DB, |s| s.level_db),
            SendPre(b) => b2f(st
                .sends
                .iter()
                .find(|s| s.bus == b)
                .is_some_and(|s| s.pre_fader)),
            Output => match st.output {
                crate::engine::Output::Master => 0.0,
                crate::engine::Output::Bus(k) => k as f32 + 1.0,
            },
            Fader => st.gain_db,
            Pan => st.pan,
            Mute => b2f(st.mute),
            Solo => b2f(st.solo),
            RevDecay | RevPreDelay | RevSize | RevDamping | RevWidth => match v.kind {
                Some(BusKind::Reverb(r)) => match self {
                    RevDecay => r.decay_s,
                    RevPreDelay => r.pre_delay_ms,
                    RevSize => r.size,
                    RevDamping => r.damping,
                    _ => r.width,
                },
                _ => 0.0,
            },
            DlyTime | DlyFeedback | DlyLowCut | DlyHighCut | DlyPingPong => match v.kind {
                Some(BusKind::Delay(d)) => match self {
                    DlyTime => d.time_ms,
                    DlyFeedback => d.feedback,
                    DlyLowCut => d.low_cut_hz,
                    DlyHighCut => d.high_cut_hz,
                    _ => b2f(d.ping_pong),
                },
                _ => 0.0,
            },
            LimOn => b2f(v.limiter.is_some_and(|l| l.enabled)),
            LimCeiling => v.limiter.map_or(-1.0, |l| l.ceiling_dbtp),
            LimRelease => v.limiter.map_or(50.0, |l| l.release_ms),
        }
    }

    /// Write `v` (already clamped and rounded) into the session. Creating a processor table when needed.
    pub fn set(self, f: &mut SessionFile, strip: StripRef, v: f32) {
        use Param::*;
        let on = v >= 0.5;
        let bus_names: Vec<String> = f.buses.iter().map(|b| b.name.clone()).collect();
        let view = view(f, strip);
        let st = &view.st;
        match strip {
            StripRef::Master => {
                let m = &mut f.master;
                match self {
                    Fader => m.gain_db = v,
                    LimOn | LimCeiling | LimRelease => {
                        if let Some(l) = &mut m.limiter {
                            match self {
                                LimOn => l.enabled = on,
                                LimCeiling => l.ceiling_dbtp = v,
                                _ => l.release_ms = v,
                            }
                        }
                    }
                    _ => {
                        set_eq(&mut m.eq, st, self, v);
                        set_comp(&mut m.compressor, st, self, v);
                    }
                }
            }
            StripRef::Track(i) => {
                let t = &mut f.tracks[i];
                if self == Polarity {
                    t.invert_polarity = on;
                    return;
                }
                let fields = StripFields {
                    trim_db: &mut t.trim_db,
                    gain_db: &mut t.gain_db,
                    pan: &mut t.pan,
                    mute: &mut t.mute,
                    solo: &mut t.solo,
                    hpf: &mut t.hpf,
                    lpf: &mut t.lpf,
                    eq: &mut t.eq,
                    gate: &mut t.gate,
                    compressor: &mut t.compressor,
                    sends: &mut t.sends,
                    output: &mut t.output,
                };
                fields.set(self, st, &bus_names, v);
            }
            StripRef::Bus(i) => {
                let b = &mut f.buses[i];
                match self {
                    RevDecay | RevPreDelay | RevSize | RevDamping | RevWidth => {
                        let r = b.reverb.get_or_insert_with(ReverbConfig::default);
                        match self {
                            RevDecay => r.decay_s = v,
                            RevPreDelay => r.pre_delay_ms = v,
                            RevSize => r.size = v,
                            RevDamping => r.damping = v,
                            _ => r.width = v,
                        }
                        return;
                    }
                    DlyTime | DlyFeedback | DlyLowCut | DlyHighCut | DlyPingPong => {
                        let d = b.delay.get_or_insert_with(|| DelayConfig {
                            feedback: 0.35,
                            low_cut_hz: 100.0,
                            high_cut_hz: 8_000.0,
                            ..DelayConfig::default()
                        });
                        match self {
                            DlyTime => {
                                d.time = None;
                                d.time_ms = Some(v);
                            }
                            DlyFeedback => d.feedback = v,
                            DlyLowCut => d.low_cut_hz = v,
                            DlyHighCut => d.high_cut_hz = v,
                            _ => d.ping_pong = on,
                        }
                        return;
                    }
                    _ => {}
                }
                let fields = StripFields {
                    trim_db: &mut b.trim_db,
                    gain_db: &mut b.gain_db,
                    pan: &mut b.pan,
                    mute: &mut b.mute,
                    solo: &mut b.solo,
                    hpf: &mut b.hpf,
                    lpf: &mut b.lpf,
                    eq: &mut b.eq,
                    gate: &mut b.gate,
                    compressor: &mut b.compressor,
                    sends: &mut b.sends,
                    output: &mut b.output,
                };
                fields.set(self, st, &bus_names, v);
            }
        }
    }

    /// The value formatted for a row (`view` gives bus names for the output).
    pub fn format(self, v: &View) -> String {
        let x = self.get(v);
        let spec = self.spec();
        match self {
            Param::HpfSlope | Param::LpfSlope => return format!("{x:.0} dB/oct"),
            Param::Pan => return format_pan(x),
            Param::SendLevel(_) if x <= SEND_OFF_DB => return "off".into(),
            Param::GateRatio if x >= GATE_RATIO_INF => return "gate".into(),
            Param::CompScHpf if x <= 0.0 => return "off".into(),
            Param::Output => {
                return match v.st.output {
                    Output::Master => "master".into(),
                    Output::Bus(k) => v
                        .bus_names
                        .get(k as usize)
                        .cloned()
                        .unwrap_or_else(|| format!("bus {}", k + 1)),
                }
            }
            _ => {}
        }
        match spec.scale {
            Scale::Switch => if x >= 0.5 { "on" } else { "off" }.into(),
            Scale::Log | Scale::LogOff => format_hz(x),
            _ => {
                let decimals = if spec.fine >= 1.0 {
                    0
                } else if spec.fine >= 0.1 {
                    1
                } else {
                    2
                };
                let sign = spec.unit == "dB" || spec.unit == "dBTP";
                let unit = if spec.unit.is_empty() || spec.unit == ":1" {
                    spec.unit.to_string()
                } else {
                    format!(" {}", spec.unit)
                };
                if sign {
                    format!("{x:+.decimals$}{unit}")
                } else {
                    format!("{x:.decimals$}{unit}")
                }
            }
        }
    }

    /// The value after a step of `delta` (in the spec's step units; octaves for frequencies), clamped and
    /// rounded to the parameter's grid. `options` lists the output choices (for [`Scale::Choice`]).
    pub fn stepped(self, current: f32, delta: f32, options: &[f32]) -> f32 {
        let spec = self.spec();
        match spec.scale {
            Scale::Switch => {
                if delta == 0.0 {
                    current
                } else if delta > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Scale::Choice => {
                let pos = options.iter().position(|&o| o == current).unwrap_or(0) as i32;
                let n = options.len() as i32;
                if n == 0 {
                    return current;
                }
                let d = delta.signum() as i32;
                options[(pos + d).clamp(0, n - 1) as usize]
            }
            Scale::Log | Scale::LogOff => {
                if spec.scale == Scale::LogOff && current < spec.min {
                    return if delta > 0.0 { spec.min } else { 0.0 };
                }
                let v = current.max(spec.min) * 2f32.powf(delta);
                if spec.scale == Scale::LogOff && v < spec.min * 0.999 {
                    return 0.0;
                }
                self.clamp(v)
            }
            Scale::Linear => self.clamp(current + delta),
        }
    }

    /// Clamp and round a value (typed or stepped) onto the parameter's grid.
    pub fn clamp(self, v: f32) -> f32 {
        let spec = self.spec();
        match spec.scale {
            Scale::Switch => {
                if v >= 0.5 {
                    1.0
                } else {
                    0.0
                }
            }
            Scale::Choice => v.round().max(0.0),
            Scale::Log | Scale::LogOff => {
                if spec.scale == Scale::LogOff && v < spec.min {
                    return 0.0;
                }
                let v = v.clamp(spec.min, spec.max);
                let r = 10f32.powf(v.log10().floor() - 2.0);
                ((v / r).round() * r).clamp(spec.min, spec.max)
            }
            Scale::Linear => {
                if matches!(self, Param::HpfSlope | Param::LpfSlope) {
                    return if v >= 18.0 { 24.0 } else { 12.0 };
                }
                let v = (v / spec.fine).round() * spec.fine;
                // keep the grid exact in f32 (0.1 * 3 != 0.3)
                let decimals = (-spec.fine.log10()).ceil().max(0.0) as i32;
                let p = 10f32.powi(decimals);
                ((v * p).round() / p).clamp(spec.min, spec.max)
            }
        }
    }
}

fn slope(s24: bool) -> f32 {
    if s24 {
        24.0
    } else {
        12.0
    }
}

/// Mutable access to the strip fields tracks and buses share.
struct StripFields<'a> {
    trim_db: &'a mut f32,
    gain_db: &'a mut f32,
    pan: &'a mut f32,
    mute: &'a mut bool,
    solo: &'a mut bool,
    hpf: &'a mut Option<PassConfig>,
    lpf: &'a mut Option<PassConfig>,
    eq: &'a mut Option<EqConfig>,
    gate: &'a mut Option<GateConfig>,
    compressor: &'a mut Option<CompConfig>,
    sends: &'a mut Vec<SendConfig>,
    output: &'a mut Option<String>,
}

impl StripFields<'_> {
    fn set(self, p: Param, st: &StripState, bus_names: &[String], v: f32) {
        use Param::*;
        let on = v >= 0.5;
        let pass = |cfg: &mut Option<PassConfig>, s: &crate::engine::PassState| {
            cfg.get_or_insert_with(|| PassConfig {
                enabled: false,
                freq_hz: s.freq_hz,
                slope_db_oct: if s.slope_24 { 24 } else { 12 },
            })
            .clone()
        };
        match p {
            Trim => *self.trim_db = v,
            Fader => *self.gain_db = v,
            Pan => *self.pan = v,
            Mute => *self.mute = on,
            Solo => *self.solo = on,
            HpfOn | HpfFreq | HpfSlope => {
                let mut c = pass(self.hpf, &st.hpf);
                match p {
                    HpfOn => c.enabled = on,
                    HpfFreq => c.freq_hz = v,
                    _ => c.slope_db_oct = v as u32,
                }
                *self.hpf = Some(c);
            }
            LpfOn | LpfFreq | LpfSlope => {
                let mut c = pass(self.lpf, &st.lpf);
                match p {
                    LpfOn => c.enabled = on,
                    LpfFreq => c.freq_hz = v,
                    _ => c.slope_db_oct = v as u32,
                }
                *self.lpf = Some(c);
            }
            GateOn | GateThreshold | GateRatio | GateRange | GateAttack | GateHold
            | GateRelease => {
                let g = self.gate.get_or_insert_with(|| GateConfig {
                    enabled: false,
                    threshold_db: st.gate.threshold_db,
                    ratio: st.gate.ratio.is_finite().then_some(st.gate.ratio),
                    range_db: st.gate.range_db,
                    attack_ms: st.gate.attack_ms,
                    hold_ms: st.gate.hold_ms,
                    release_ms: st.gate.release_ms,
                });
                match p {
                    GateOn => g.enabled = on,
                    GateThreshold => g.threshold_db = v,
                    GateRatio => g.ratio = (v < GATE_RATIO_INF).then_some(v),
                    GateRange => g.range_db = v,
                    GateAttack => g.attack_ms = v,
                    GateHold => g.hold_ms = v,
                    _ => g.release_ms = v,
                }
            }
            SendLevel(b) | SendPre(b) => {
                let Some(name) = bus_names.get(b as usize) else {
                    return;
                };
                let pos = self.sends.iter().position(|s| &s.bus == name);
                match (p, pos) {
                    (SendLevel(_), Some(i)) if v <= SEND_OFF_DB => {
                        self.sends.remove(i);
                    }
                    (SendLevel(_), Some(i)) => self.sends[i].level_db = v,
                    (SendLevel(_), None) if v > SEND_OFF_DB => self.sends.push(SendConfig {
                        bus: name.clone(),
                        level_db: v,
                        pre_fader: false,
                    }),
                    (SendPre(_), Some(i)) => self.sends[i].pre_fader = on,
                    _ => {}
                }
            }
            Output => {
                let k = v.round() as usize;
                *self.output = if k == 0 {
                    None
                } else {
                    bus_names.get(k - 1).cloned()
                };
            }
            _ => {
                set_eq(self.eq, st, p, v);
                set_comp(self.compressor, st, p, v);
            }
        }
    }
}

fn set_eq(eq: &mut Option<EqConfig>, st: &StripState, p: Param, v: f32) {
    use Param::*;
    let b = match p {
        EqOn => {
            eq.get_or_insert_with(|| EqConfig {
                enabled: false,
                ..EqConfig::default()
            })
            .enabled = v >= 0.5;
            return;
        }
        BandOn(b) | BandFreq(b) | BandGain(b) | BandQ(b) => (b & 3) as usize,
        _ => return,
    };
    let e = eq.get_or_insert_with(|| EqConfig {
        enabled: false,
        ..EqConfig::default()
    });
    let s = &st.eq.bands[b];
    let slot = match b {
        0 => &mut e.low_shelf,
        1 => &mut e.low_mid,
        2 => &mut e.high_mid,
        _ => &mut e.high_shelf,
    };
    let c = slot.get_or_insert_with(|| BandConfig {
        enabled: false,
        freq_hz: s.freq_hz,
        gain_db: s.gain_db,
        q: None,
    });
    match p {
        BandOn(_) => c.enabled = v >= 0.5,
        BandFreq(_) => c.freq_hz = v,
        BandGain(_) => c.gain_db = v,
        _ => c.q = Some(v),
    }
}

fn set_comp(comp: &mut Option<CompConfig>, st: &StripState, p: Param, v: f32) {
    use Param::*;
    if !matches!(
        p,
        CompOn
            | CompThreshold
            | CompRatio
            | CompKnee
            | CompAttack
            | CompRelease
            | CompMakeup
            | CompScHpf
    ) {
        return;
    }
    let s = &st.compressor;
    let c = comp.get_or_insert_with(|| CompConfig {
        enabled: false,
        threshold_db: s.threshold_db,
        ratio: s.ratio,
        knee_db: s.knee_db,
        attack_ms: s.attack_ms,
        release_ms: s.release_ms,
        makeup_db: s.makeup_db,
        sidechain_hpf_hz: (s.sidechain_hpf_hz > 0.0).then_some(s.sidechain_hpf_hz),
    });
    match p {
        CompOn => c.enabled = v >= 0.5,
        CompThreshold => c.threshold_db = v,
        CompRatio => c.ratio = v,
        CompKnee => c.knee_db = v,
        CompAttack => c.attack_ms = v,
        CompRelease => c.release_ms = v,
        CompMakeup => c.makeup_db = v,
        _ => c.sidechain_hpf_hz = (v > 0.0).then_some(v),
    }
}

/// A strip as the engine will see it (resolved from the session), with what rows need besides.
#[derive(Clone, Debug)]
pub struct View {
    /// The strip (the master's EQ, compressor and fader live here too).
    pub st: StripState,
    /// Master limiter, when the session has one.
    pub limiter: Option<LimiterState>,
    /// Bus kind (None for tracks and the master).
    pub kind: Option<BusKind>,
    /// Bus names (for outputs and sends).
    pub bus_names: Vec<String>,
}

/// Resolve one strip of the session into engine terms.
pub fn view(f: &SessionFile, strip: StripRef) -> View {
    let routing = f.routing(Path::new("session"));
    let bus_names = f.buses.iter().map(|b| b.name.clone()).collect();
    match strip {
        StripRef::Master => {
            let m = f.master_state();
            View {
                st: StripState {
                    gain_db: m.gain_db,
                    eq: m.eq,
                    compressor: m.compressor,
                    ..StripState::default()
                },
                limiter: m.limiter,
                kind: None,
                bus_names,
            }
        }
        StripRef::Track(i) => View {
            st: match &routing {
                Ok(r) => r.tracks[i].clone(),
                Err(_) => f.tracks[i].strip_state(),
            },
            limiter: None,
            kind: None,
            bus_names,
        },
        StripRef::Bus(i) => {
            let (st, kind) = match &routing {
                Ok(r) => (r.buses[i].state.clone(), Some(r.buses[i].kind)),
                Err(_) => (StripState::default(), None),
            };
            View {
                st,
                limiter: None,
                kind,
                bus_names,
            }
        }
    }
}

/// One line of the inspector: a section title or a parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    /// Section title.
    Section(String),
    /// A parameter.
    Param(Param),
}

/// The inspector rows of a strip, in signal-flow order, grouped in sections.
pub fn rows(f: &SessionFile, strip: StripRef) -> Vec<Row> {
    use Param::*;
    let mut out = Vec::new();
    let sec = |out: &mut Vec<Row>, s: &str| out.push(Row::Section(s.to_string()));
    let ps = |out: &mut Vec<Row>, ps: &[Param]| out.extend(ps.iter().map(|&p| Row::Param(p)));
    let eq = |out: &mut Vec<Row>| {
        sec(out, "EQ");
        ps(out, &[EqOn]);
        for b in 0..4u8 {
            sec(out, BAND_NAMES[b as usize]);
            ps(out, &[BandOn(b), BandFreq(b), BandGain(b), BandQ(b)]);
        }
    };
    let comp = |out: &mut Vec<Row>, title: &str, sc: bool| {
        sec(out, title);
        ps(
            out,
            &[
                CompOn,
                CompThreshold,
                CompRatio,
                CompKnee,
                CompAttack,
                CompRelease,
                CompMakeup,
            ],
        );
        if sc {
            ps(out, &[CompScHpf]);
        }
    };
    let effect = |k: &BusKindName| *k != BusKindName::Group;
    match strip {
        StripRef::Master => {
            eq(&mut out);
            comp(&mut out, "Bus compressor", true);
            if f.master.limiter.is_some() {
                sec(&mut out, "Limiter");
                ps(&mut out, &[LimOn, LimCeiling, LimRelease]);
            }
            sec(&mut out, "Output");
            ps(&mut out, &[Fader]);
        }
        StripRef::Track(_) | StripRef::Bus(_) => {
            let kind = match strip {
                StripRef::Bus(i) => f.buses[i].kind,
                _ => BusKindName::Group,
            };
            match kind {
                BusKindName::Reverb => {
                    sec(&mut out, "Reverb");
                    ps(
                        &mut out,
                        &[RevDecay, RevPreDelay, RevSize, RevDamping, RevWidth],
                    );
                }
                BusKindName::Delay => {
                    sec(&mut out, "Delay");
                    ps(
                        &mut out,
                        &[DlyTime, DlyFeedback, DlyLowCut, DlyHighCut, DlyPingPong],
                    );
                }
                BusKindName::Group => {}
            }
            sec(&mut out, "Input");
            ps(&mut out, &[Trim]);
            if matches!(strip, StripRef::Track(_)) {
                ps(&mut out, &[Polarity]);
            }
            sec(&mut out, "Filters");
            ps(
                &mut out,
                &[HpfOn, HpfFreq, HpfSlope, LpfOn, LpfFreq, LpfSlope],
            );
            eq(&mut out);
            sec(&mut out, "Gate");
            ps(
                &mut out,
                &[
                    GateOn,
                    GateThreshold,
                    GateRatio,
                    GateRange,
                    GateAttack,
                    GateHold,
                    GateRelease,
                ],
            );
            comp(&mut out, "Compressor", true);
            if !effect(&kind) {
                for (b, bus) in f.buses.iter().enumerate() {
                    if effect(&bus.kind) {
                        sec(&mut out, &format!("Send {}", bus.name));
                        ps(&mut out, &[SendLevel(b as u16), SendPre(b as u16)]);
                    }
                }
            }
            sec(&mut out, "Output");
            if !effect(&kind) {
                ps(&mut out, &[Output]);
            }
            ps(&mut out, &[Fader, Pan, Mute, Solo]);
        }
    }
    out
}

/// The parameters among `rows`, in order.
pub fn params(rows: &[Row]) -> Vec<Param> {
    rows.iter()
        .filter_map(|r| match r {
            Row::Param(p) => Some(*p),
            Row::Section(_) => None,
        })
        .collect()
}

/// The output choices of a strip as [`Param::Output`] values (0 master, k + 1 group bus k): group buses
/// other than itself that would not close a loop.
pub fn output_options(f: &SessionFile, strip: StripRef) -> Vec<f32> {
    let mut out = vec![0.0];
    for (k, b) in f.buses.iter().enumerate() {
        if b.kind != BusKindName::Group || strip == StripRef::Bus(k) {
            continue;
        }
        if let StripRef::Bus(i) = strip {
            let mut g = f.clone();
            g.buses[i].output = Some(b.name.clone());
            if g.routing(Path::new("session")).is_err() {
                continue;
            }
        }
        out.push(k as f32 + 1.0);
    }
    out
}

/// Frequency as `80 Hz`, `1.25 kHz`.
pub fn format_hz(hz: f32) -> String {
    if hz >= 10_000.0 {
        format!("{:.1} kHz", hz / 1000.0)
    } else if hz >= 1000.0 {
        format!("{:.2} kHz", hz / 1000.0)
    } else if hz >= 100.0 {
        format!("{hz:.0} Hz")
    } else {
        format!("{hz:.1} Hz")
    }
}

/// Pan as `C`, `L25`, `R100`.
pub fn format_pan(pan: f32) -> String {
    let p = (pan * 100.0).round() as i32;
    match p {
        0 => "C".into(),
        p if p < 0 => format!("L{}", -p),
        p => format!("R{p}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_steps_round_to_the_grid_and_clamp() {
        assert_eq!(Param::Trim.stepped(0.0, 0.1, &[]), 0.1);
        assert_eq!(Param::Trim.stepped(0.2, 0.1, &[]), 0.3);
        assert_eq!(Param::Trim.stepped(23.0, 6.0, &[]), 24.0);
        assert_eq!(Param::CompRatio.stepped(1.0, -0.5, &[]), 1.0);
        assert_eq!(Param::HpfSlope.stepped(12.0, 12.0, &[]), 24.0);
        assert_eq!(Param::HpfSlope.stepped(24.0, 12.0, &[]), 24.0);
    }

    #[test]
    fn frequencies_step_in_octaves() {
        assert_eq!(Param::HpfFreq.stepped(100.0, 1.0, &[]), 200.0);
        assert_eq!(Param::HpfFreq.stepped(1000.0, -1.0, &[]), 500.0);
        // a sixth of an octave up from 1 kHz: 1122.46 -> 3 significant digits
        assert_eq!(Param::BandFreq(1).stepped(1000.0, 1.0 / 6.0, &[]), 1120.0);
        assert_eq!(Param::HpfFreq.stepped(20_000.0, 1.0, &[]), 24_000.0);
        // side-chain filter: off below its range
        assert_eq!(Param::CompScHpf.stepped(0.0, 1.0 / 6.0, &[]), 20.0);
        assert_eq!(Param::CompScHpf.stepped(20.0, -1.0 / 6.0, &[]), 0.0);
    }

    #[test]
    fn formats() {
        assert_eq!(format_hz(80.0), "80.0 Hz");
        assert_eq!(format_hz(1250.0), "1.25 kHz");
        assert_eq!(format_hz(12_000.0), "12.0 kHz");
        assert_eq!(format_pan(-0.25), "L25");
    }
}
