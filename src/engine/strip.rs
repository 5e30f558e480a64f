//! Runs on the audio thread: channel strips (per-track gain staging, pan, mute/solo) and the master strip.

use super::command::StripParam;
use super::ramp::Ramp;

/// Static settings of a track strip, as stored in the session.
#[derive(Clone, Debug, PartialEq)]
pub struct StripState {
    /// Input trim in dB.
    pub trim_db: f32,
    /// Fader in dB.
    pub gain_db: f32,
    /// −1.0 hard left .. +1.0 hard right.
    pub pan: f32,
    /// Muted (wins over solo).
    pub mute: bool,
    /// Soloed in place.
    pub solo: bool,
    /// Polarity inverted.
    pub invert_polarity: bool,
}

impl Default for StripState {
    fn default() -> Self {
        Self {
            trim_db: 0.0,
            gain_db: 0.0,
            pan: 0.0,
            mute: false,
            solo: false,
            invert_polarity: false,
        }
    }
}

/// Static settings of the master strip.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MasterState {
    /// Master fader in dB.
    pub gain_db: f32,
}

/// Level accumulators of a strip's output since the last reset (read by meters).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StripMeter {
    /// Sample peak per channel (linear).
    pub peak: [f32; 2],
    /// Sum of squares per channel.
    pub sum_sq: [f64; 2],
    /// Frames accumulated.
    pub frames: u64,
}

/// dB to linear gain; −inf (or below −200 dB) gives 0.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    if db <= -200.0 {
        0.0
    } else {
        10f32.powf(db / 20.0)
    }
}

/// Pan gains (left, right) for a pan position.
///
/// Mono sources use the constant-power law θ = (pan+1)π/4, left cos θ, right sin θ (−3.01 dB each at
/// centre). Stereo sources use a balance control: the side panned towards stays at unity and the other side
/// is attenuated by cos(|pan|·π/2), so a centred stereo source passes unchanged.
#[inline]
pub fn pan_gains(pan: f32, stereo: bool) -> (f32, f32) {
    use std::f32::consts::{FRAC_PI_2, FRAC_PI_4};
    let p = pan.clamp(-1.0, 1.0);
    // The ends are exact: cos(π/2) is not exactly zero in floating point.
    if p == 1.0 {
        return (0.0, 1.0);
    }
    if p == -1.0 {
        return (1.0, 0.0);
    }
    if stereo {
        if p >= 0.0 {
            ((p * FRAC_PI_2).cos(), 1.0)
        } else {
            (1.0, (-p * FRAC_PI_2).cos())
        }
    } else {
        let theta = (p + 1.0) * FRAC_PI_4;
        (theta.cos(), theta.sin())
    }
}

pub(crate) struct TrackStrip {
    trim_db: f32,
    gain_db: f32,
    mute: bool,
    pub(crate) solo: bool,
    invert_polarity: bool,
    audible: bool,
    stereo: bool,
    /// trim × polarity
    pre: Ramp,
    /// fader × audible (mute/solo)
    post: Ramp,
    pan: Ramp,
    pub(crate) meter: StripMeter,
}

impl TrackStrip {
    pub(crate) fn new(state: &StripState, channels: usize, ramp_frames: u32) -> Self {
        let mut s = Self {
            trim_db: state.trim_db,
            gain_db: state.gain_db,
            mute: state.mute,
            solo: state.solo,
            invert_polarity: state.invert_polarity,
            audible: !state.mute,
            stereo: channels == 2,
            pre: Ramp::new(1.0, ramp_frames),
            post: Ramp::new(1.0, ramp_frames),
            pan: Ramp::new(state.pan.clamp(-1.0, 1.0), ramp_frames),
            meter: StripMeter::default(),
        };
        s.pre.snap(s.pre_target());
        s.post.snap(s.post_target());
        s
    }

    fn pre_target(&self) -> f32 {
        let g = db_to_gain(self.trim_db);
        if self.invert_polarity {
            -g
        } else {
            g
        }
    }

    fn post_target(&self) -> f32 {
        if self.audible {
            db_to_gain(self.gain_db)
        } else {
            0.0
        }
    }

    pub(crate) fn set_channels(&mut self, channels: usize) {
        self.stereo = channels == 2;
    }

    /// Apply a parameter; returns true when solo changed (the engine then re-evaluates audibility).
    pub(crate) fn set(&mut self, param: StripParam) -> bool {
        match param {
            StripParam::TrimDb(db) => {
                self.trim_db = db;
                self.pre.set_target(self.pre_target());
            }
            StripParam::InvertPolarity(on) => {
                self.invert_polarity = on;
                self.pre.set_target(self.pre_target());
            }
            StripParam::GainDb(db) => {
                self.gain_db = db;
                self.post.set_target(self.post_target());
            }
            StripParam::Pan(p) => self.pan.set_target(p.clamp(-1.0, 1.0)),
            StripParam::Mute(on) => {
                self.mute = on;
                return true;
            }
            StripParam::Solo(on) => {
                let changed = self.solo != on;
                self.solo = on;
                return changed;
            }
        }
        false
    }

    pub(crate) fn update_audible(&mut self, any_solo: bool, snap: bool) {
        self.audible = !self.mute && (!any_solo || self.solo);
        let target = self.post_target();
        if snap {
            self.post.snap(target);
        } else {
            self.post.set_target(target);
        }
    }

    /// Silent and staying silent: nothing to compute.
    pub(crate) fn is_silent_settled(&self) -> bool {
        self.post.is_settled() && self.post.value() == 0.0
    }

    /// Advance the ramps without processing audio.
    pub(crate) fn skip(&mut self, frames: usize) {
        self.pre.skip(frames);
        self.post.skip(frames);
        self.pan.skip(frames);
        self.meter.frames += frames as u64;
    }

    /// Process the track's block (mono in `left` only) and add it into the bus.
    pub(crate) fn process(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        bus_l: &mut [f32],
        bus_r: &mut [f32],
    ) {
        let stereo = self.stereo;
        // trim and polarity
        if self.pre.is_settled() {
            let g = self.pre.value();
            if g != 1.0 {
                left.iter_mut().for_each(|x| *x *= g);
                if stereo {
                    right.iter_mut().for_each(|x| *x *= g);
                }
            }
        } else {
            for i in 0..left.len() {
                let g = self.pre.next_value();
                left[i] *= g;
                if stereo {
                    right[i] *= g;
                }
            }
        }

        // (strip processors go here: filters, EQ, dynamics)

        // fader, pan, mute/solo, into the bus
        let src_r: &[f32] = if stereo { right } else { left };
        let (mut pk_l, mut pk_r) = (self.meter.peak[0], self.meter.peak[1]);
        let (mut sq_l, mut sq_r) = (0.0f64, 0.0f64);
        if self.post.is_settled() && self.pan.is_settled() {
            let g = self.post.value();
            let (gl, gr) = pan_gains(self.pan.value(), stereo);
            let (a, b) = (g * gl, g * gr);
            for i in 0..left.len() {
                let (yl, yr) = (left[i] * a, src_r[i] * b);
                bus_l[i] += yl;
                bus_r[i] += yr;
                pk_l = pk_l.max(yl.abs());
                pk_r = pk_r.max(yr.abs());
                sq_l += (yl * yl) as f64;
                sq_r += (yr * yr) as f64;
            }
        } else {
            for i in 0..left.len() {
                let g = self.post.next_value();
                let (gl, gr) = pan_gains(self.pan.next_value(), stereo);
                let (a, b) = (g * gl, g * gr);
                let (yl, yr) = (left[i] * a, src_r[i] * b);
                bus_l[i] += yl;
                bus_r[i] += yr;
                pk_l = pk_l.max(yl.abs());
                pk_r = pk_r.max(yr.abs());
                sq_l += (yl * yl) as f64;
                sq_r += (yr * yr) as f64;
            }
        }
        self.meter.peak = [pk_l, pk_r];
        self.meter.sum_sq[0] += sq_l;
        self.meter.sum_sq[1] += sq_r;
        self.meter.frames += left.len() as u64;
    }
}

pub(crate) struct MasterStrip {
    gain_db: f32,
    mute: bool,
    gain: Ramp,
    pub(crate) meter: StripMeter,
}

impl MasterStrip {
    pub(crate) fn new(state: &MasterState, ramp_frames: u32) -> Self {
        Self {
            gain_db: state.gain_db,
            mute: false,
            gain: Ramp::new(db_to_gain(state.gain_db), ramp_frames),
            meter: StripMeter::default(),
        }
    }

    fn target(&self) -> f32 {
        if self.mute {
            0.0
        } else {
            db_to_gain(self.gain_db)
        }
    }

    /// Master accepts fader and mute; other parameters do not apply to it and are ignored.
    pub(crate) fn set(&mut self, param: StripParam) {
        match param {
            StripParam::GainDb(db) => self.gain_db = db,
            StripParam::Mute(on) => self.mute = on,
            _ => return,
        }
        self.gain.set_target(self.target());
    }

    pub(crate) fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.gain.is_settled() {
            let g = self.gain.value();
            if g != 1.0 {
                left.iter_mut().for_each(|x| *x *= g);
                right.iter_mut().for_each(|x| *x *= g);
            }
        } else {
            for i in 0..left.len() {
                let g = self.gain.next_value();
                left[i] *= g;
                right[i] *= g;
            }
        }
        let m = &mut self.meter;
        for i in 0..left.len() {
            m.peak[0] = m.peak[0].max(left[i].abs());
            m.peak[1] = m.peak[1].max(right[i].abs());
            m.sum_sq[0] += (left[i] * left[i]) as f64;
            m.sum_sq[1] += (right[i] * right[i]) as f64;
        }
        m.frames += left.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_power_pan_law() {
        for i in 0..=20 {
            let p = -1.0 + i as f32 * 0.1;
            let (l, r) = pan_gains(p, false);
            assert!((l * l + r * r - 1.0).abs() < 1e-6, "power sum at {p}");
        }
        let (l, r) = pan_gains(0.0, false);
        assert!((20.0 * l.log10() + 3.0103).abs() < 1e-3);
        assert!((20.0 * r.log10() + 3.0103).abs() < 1e-3);
        assert_eq!(pan_gains(-1.0, false), (1.0, 0.0));
        assert_eq!(pan_gains(1.0, false), (0.0, 1.0));
    }

    #[test]
    fn stereo_balance_passes_unchanged_at_centre() {
        assert_eq!(pan_gains(0.0, true), (1.0, 1.0));
        let (l, r) = pan_gains(1.0, true);
        assert_eq!((l, r), (0.0, 1.0));
    }
}
