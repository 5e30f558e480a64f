//! The inspector's parameter table: one row per strip parameter, with its range, steps, session field and
//! engine command. New strip parameters slot in by adding a row.

use crate::engine::StripParam;
use crate::session::TrackConfig;

/// One strip parameter as the inspector and undo see it. Switches are 0.0 (off) / 1.0 (on).
pub struct ParamSpec {
    /// Short name.
    pub name: &'static str,
    /// Unit shown after the value ("dB", "" for switches and pan).
    pub unit: &'static str,
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
    /// Reset value.
    pub default: f32,
    /// Normal step.
    pub step: f32,
    /// Fine step (also the rounding grid).
    pub fine_step: f32,
    /// Coarse step.
    pub coarse_step: f32,
    /// Read from the session.
    pub get: fn(&TrackConfig) -> f32,
    /// Write to the session.
    pub set: fn(&mut TrackConfig, f32),
    /// The engine parameter for the session's value.
    pub command: fn(&TrackConfig) -> StripParam,
}

impl ParamSpec {
    /// Whether the value differs between two configs.
    pub fn changed(&self, a: &TrackConfig, b: &TrackConfig) -> bool {
        (self.get)(a) != (self.get)(b)
    }

    /// The value formatted for display.
    pub fn format(&self, t: &TrackConfig) -> String {
        let v = (self.get)(t);
        if self.max == 1.0 && self.min == 0.0 && self.fine_step == 1.0 {
            return if v >= 0.5 { "on".into() } else { "off".into() };
        }
        if self.name == "pan" {
            return format_pan(v);
        }
        format!("{v:+.1} {}", self.unit)
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

fn switch(v: f32) -> bool {
    v >= 0.5
}

fn b2f(b: bool) -> f32 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Every track parameter, in inspector order.
pub static TRACK_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "trim",
        unit: "dB",
        min: -24.0,
        max: 24.0,
        default: 0.0,
        step: 1.0,
        fine_step: 0.1,
        coarse_step: 6.0,
        get: |t| t.trim_db,
        set: |t, v| t.trim_db = v,
        command: |t| StripParam::TrimDb(t.trim_db),
    },
    ParamSpec {
        name: "polarity",
        unit: "",
        min: 0.0,
        max: 1.0,
        default: 0.0,
        step: 1.0,
        fine_step: 1.0,
        coarse_step: 1.0,
        get: |t| b2f(t.invert_polarity),
        set: |t, v| t.invert_polarity = switch(v),
        command: |t| StripParam::InvertPolarity(t.invert_polarity),
    },
    ParamSpec {
        name: "fader",
        unit: "dB",
        min: super::FADER_MIN_DB,
        max: super::FADER_MAX_DB,
        default: 0.0,
        step: 1.0,
        fine_step: 0.1,
        coarse_step: 6.0,
        get: |t| t.gain_db,
        set: |t, v| t.gain_db = v,
        command: |t| StripParam::GainDb(t.gain_db),
    },
    ParamSpec {
        name: "pan",
        unit: "",
        min: -1.0,
        max: 1.0,
        default: 0.0,
        step: 0.1,
        fine_step: 0.01,
        coarse_step: 0.5,
        get: |t| t.pan,
        set: |t, v| t.pan = v,
        command: |t| StripParam::Pan(t.pan),
    },
    ParamSpec {
        name: "mute",
        unit: "",
        min: 0.0,
        max: 1.0,
        default: 0.0,
        step: 1.0,
        fine_step: 1.0,
        coarse_step: 1.0,
        get: |t| b2f(t.mute),
        set: |t, v| t.mute = switch(v),
        command: |t| StripParam::Mute(t.mute),
    },
    ParamSpec {
        name: "solo",
        unit: "",
        min: 0.0,
        max: 1.0,
        default: 0.0,
        step: 1.0,
        fine_step: 1.0,
        coarse_step: 1.0,
        get: |t| b2f(t.solo),
        set: |t, v| t.solo = switch(v),
        command: |t| StripParam::Solo(t.solo),
    },
];
