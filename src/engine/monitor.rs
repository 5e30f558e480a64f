//! Runs on the audio thread: the monitor section after the master, for listening only: mono check (the
//! master heard as the mono sum (L+R)/2 on both sides, so centred material keeps its level) and dim
//! (−20 dB). A render never sends monitor commands, and when both are off the section passes the master
//! through untouched (bit-exact), so a render equals playback with them off. Switching ramps over
//! [`super::RAMP_MS`], per sample, so it never clicks and does not depend on block size.

use super::ramp::Ramp;

/// Dim level in dB.
pub const DIM_DB: f32 = -20.0;

/// A monitor-section change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorCommand {
    /// Mono check on/off.
    Mono(bool),
    /// Dim on/off.
    Dim(bool),
}

/// The monitor section's state.
#[derive(Clone, Copy, Debug)]
pub struct Monitor {
    /// 0 = stereo, 1 = mono sum.
    mono: Ramp,
    /// Linear gain: 1, or the dim level.
    gain: Ramp,
}

/// [`DIM_DB`] as a linear gain.
pub fn dim_gain() -> f32 {
    10f32.powf(DIM_DB / 20.0)
}

impl Monitor {
    /// Both off, ramping over `ramp_frames`.
    pub fn new(ramp_frames: u32) -> Self {
        Self {
            mono: Ramp::new(0.0, ramp_frames),
            gain: Ramp::new(1.0, ramp_frames),
        }
    }

    /// Apply a command.
    pub fn set(&mut self, c: MonitorCommand) {
        match c {
            MonitorCommand::Mono(on) => self.mono.set_target(if on { 1.0 } else { 0.0 }),
            MonitorCommand::Dim(on) => self.gain.set_target(if on { dim_gain() } else { 1.0 }),
        }
    }

    /// True when the section does nothing (both off and settled).
    pub fn is_neutral(&self) -> bool {
        self.mono.is_settled()
            && self.gain.is_settled()
            && self.mono.value() == 0.0
            && self.gain.value() == 1.0
    }

    /// Process the master in place.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.is_neutral() {
            return;
        }
        if self.mono.is_settled() && self.gain.is_settled() {
            let (m, g) = (self.mono.value(), self.gain.value());
            if m == 1.0 {
                for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                    let s = (*l + *r) * 0.5 * g;
                    *l = s;
                    *r = s;
                }
            } else {
                for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                    let s = (*l + *r) * 0.5;
                    *l = ((1.0 - m) * *l + m * s) * g;
                    *r = ((1.0 - m) * *r + m * s) * g;
                }
            }
            return;
        }
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let m = self.mono.next_value();
            let g = self.gain.next_value();
            let s = (*l + *r) * 0.5;
            *l = ((1.0 - m) * *l + m * s) * g;
            *r = ((1.0 - m) * *r + m * s) * g;
        }
    }
}
