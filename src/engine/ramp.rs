//! Runs on the audio thread: per-sample linear parameter ramps.
//!
//! A [`Ramp`] moves from its current value to a new target in a fixed number of samples. It advances one
//! step per sample, so the value at any sample depends only on how many samples have passed since the target
//! was set, never on how the samples were split into blocks. That is what makes the engine block-size
//! invariant.

/// A per-sample linear ramp towards a target.
#[derive(Clone, Copy, Debug)]
pub struct Ramp {
    value: f32,
    target: f32,
    step: f32,
    remaining: u32,
    length_frames: u32,
}

impl Ramp {
    /// A settled ramp at `value` whose future changes take `length_frames` samples.
    pub fn new(value: f32, length_frames: u32) -> Self {
        Self {
            value,
            target: value,
            step: 0.0,
            remaining: 0,
            length_frames: length_frames.max(1),
        }
    }

    /// The value at the next sample to be produced.
    #[inline]
    pub fn value(&self) -> f32 {
        self.value
    }

    /// The value the ramp is heading to.
    #[inline]
    pub fn target(&self) -> f32 {
        self.target
    }

    /// Samples until the ramp settles (0 when settled).
    #[inline]
    pub fn remaining_frames(&self) -> u32 {
        self.remaining
    }

    /// True when no ramp is in progress.
    #[inline]
    pub fn is_settled(&self) -> bool {
        self.remaining == 0
    }

    /// Start a ramp from the current value to `target`.
    pub fn set_target(&mut self, target: f32) {
        if target == self.target && self.remaining == 0 {
            return;
        }
        self.target = target;
        if (target - self.value).abs() < 1e-7 {
            self.value = target;
            self.remaining = 0;
            self.step = 0.0;
            return;
        }
        self.remaining = self.length_frames;
        self.step = (target - self.value) / self.length_frames as f32;
    }

    /// Jump to `value` at once (static settings before playback starts).
    pub fn snap(&mut self, value: f32) {
        self.value = value;
        self.target = value;
        self.remaining = 0;
        self.step = 0.0;
    }

    /// Return the current value and advance one sample.
    #[inline]
    pub fn next_value(&mut self) -> f32 {
        let v = self.value;
        if self.remaining > 0 {
            self.remaining -= 1;
            if self.remaining == 0 {
                self.value = self.target;
            } else {
                self.value += self.step;
            }
        }
        v
    }

    /// Advance `frames` samples without producing values.
    pub fn skip(&mut self, frames: usize) {
        for _ in 0..frames.min(self.remaining as usize) {
            self.next_value();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaches_target_exactly_after_length() {
        let mut r = Ramp::new(0.0, 10);
        r.set_target(1.0);
        let vals: Vec<f32> = (0..12).map(|_| r.next_value()).collect();
        assert_eq!(vals[0], 0.0);
        assert!((vals[5] - 0.5).abs() < 1e-6);
        assert_eq!(vals[10], 1.0);
        assert!(r.is_settled());
        // monotonic, never overshoots
        assert!(vals.windows(2).all(|w| w[1] >= w[0] && w[1] <= 1.0));
    }

    #[test]
    fn retarget_mid_ramp_starts_from_current_value() {
        let mut r = Ramp::new(0.0, 4);
        r.set_target(1.0);
        r.next_value();
        r.next_value();
        let mid = r.value();
        r.set_target(0.0);
        assert_eq!(r.next_value(), mid);
        for _ in 0..4 {
            r.next_value();
        }
        assert_eq!(r.value(), 0.0);
    }
}
