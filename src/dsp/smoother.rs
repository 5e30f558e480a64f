//! Runs on the audio thread: per-sample parameter smoothers (linear ramp or one-pole) and the bypass crossfade.
//!
//! Every smoother advances by exactly one step per call to [`Smoother::tick`], so a processor that calls it once
//! per frame produces the same values whatever block sizes the caller uses.

/// How a [`Smoother`] moves towards its target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SmootherKind {
    /// Straight line from the current value to the target in a fixed number of frames.
    Linear,
    /// One-pole exponential approach `v ← t + a·(v − t)`, snapped to the target when closer than 1e-7 (relative).
    OnePole,
}

/// A per-sample smoothed parameter.
#[derive(Clone, Debug)]
pub struct Smoother {
    kind: SmootherKind,
    current: f64,
    target: f64,
    step: f64,
    remaining: u32,
    ramp_frames: u32,
    coef: f64,
    out: f32,
}

impl Smoother {
    /// Linear ramp taking `ramp_ms` (at least one frame) for every change, starting settled at `initial`.
    pub fn linear(sample_rate_hz: f32, ramp_ms: f32, initial: f32) -> Self {
        let ramp_frames =
            ((ramp_ms.max(0.0) as f64 * 1e-3 * sample_rate_hz as f64).round() as u32).max(1);
        Smoother {
            kind: SmootherKind::Linear,
            current: initial as f64,
            target: initial as f64,
            step: 0.0,
            remaining: 0,
            ramp_frames,
            coef: 0.0,
            out: initial,
        }
    }

    /// One-pole smoother with time constant `tau_ms`, starting settled at `initial`.
    pub fn one_pole(sample_rate_hz: f32, tau_ms: f32, initial: f32) -> Self {
        Smoother {
            kind: SmootherKind::OnePole,
            current: initial as f64,
            target: initial as f64,
            step: 0.0,
            remaining: 0,
            ramp_frames: 1,
            coef: super::util::time_constant_coef(tau_ms, sample_rate_hz),
            out: initial,
        }
    }

    /// Which law this smoother follows.
    pub fn kind(&self) -> SmootherKind {
        self.kind
    }

    /// Retargets: the value moves towards `target` from its current value.
    pub fn set_target(&mut self, target: f32) {
        let target = target as f64;
        self.target = target;
        match self.kind {
            SmootherKind::Linear => {
                if target == self.current {
                    self.remaining = 0;
                } else {
                    self.remaining = self.ramp_frames;
                    self.step = (target - self.current) / self.ramp_frames as f64;
                }
            }
            SmootherKind::OnePole => self.remaining = u32::from(target != self.current),
        }
    }

    /// Sets target and value at once (no ramp).
    pub fn snap(&mut self, value: f32) {
        self.target = value as f64;
        self.current = value as f64;
        self.out = value;
        self.remaining = 0;
    }

    /// Jumps to the current target.
    pub fn snap_to_target(&mut self) {
        self.current = self.target;
        self.out = self.target as f32;
        self.remaining = 0;
    }

    /// `set_target` when `immediate` is false, `snap` when true.
    pub fn set(&mut self, target: f32, immediate: bool) {
        if immediate {
            self.snap(target)
        } else {
            self.set_target(target)
        }
    }

    /// Advances one frame and returns the new value.
    #[inline]
    pub fn tick(&mut self) -> f32 {
        if self.remaining == 0 {
            return self.out;
        }
        match self.kind {
            SmootherKind::Linear => {
                self.remaining -= 1;
                self.current = if self.remaining == 0 {
                    self.target
                } else {
                    self.current + self.step
                };
            }
            SmootherKind::OnePole => {
                let d = self.current - self.target;
                let nd = d * self.coef;
                if nd.abs() <= 1e-7 * self.target.abs().max(1.0) {
                    self.current = self.target;
                    self.remaining = 0;
                } else {
                    self.current = self.target + nd;
                }
            }
        }
        self.out = self.current as f32;
        self.out
    }

    /// Current value (as last returned by `next`, or as set).
    #[inline]
    pub fn value(&self) -> f32 {
        self.out
    }

    /// Value being approached.
    #[inline]
    pub fn target(&self) -> f32 {
        self.target as f32
    }

    /// True when the value equals the target (no ramp in progress).
    #[inline]
    pub fn is_settled(&self) -> bool {
        self.remaining == 0
    }
}

/// Dry/wet crossfade of a stereo frame with wet amount `m`; exactly the wet frame when `m == 1` (so a frame
/// that ends a fade equals the settled fast path bit for bit).
#[inline(always)]
pub fn crossfade(m: f32, dl: f32, dr: f32, wl: f32, wr: f32) -> (f32, f32) {
    if m == 1.0 {
        (wl, wr)
    } else {
        (dl + m * (wl - dl), dr + m * (wr - dr))
    }
}

/// Ramp length used for the click-free bypass crossfade.
pub const BYPASS_MS: f32 = 10.0;

/// Ramp length used for parameter smoothing in the processors.
pub const PARAM_RAMP_MS: f32 = 15.0;

/// Click-free on/off switch: a linear wet-amount ramp of [`BYPASS_MS`].
#[derive(Clone, Debug)]
pub struct Bypass {
    mix: Smoother,
    enabled: bool,
}

impl Bypass {
    /// Starts disabled (wet amount 0, settled).
    pub fn new(sample_rate_hz: f32) -> Self {
        Bypass {
            mix: Smoother::linear(sample_rate_hz, BYPASS_MS, 0.0),
            enabled: false,
        }
    }

    /// Starts fading towards on (1) or off (0); `immediate` jumps there.
    pub fn set_enabled(&mut self, enabled: bool, immediate: bool) {
        self.enabled = enabled;
        self.mix.set(if enabled { 1.0 } else { 0.0 }, immediate);
    }

    /// Whether the switch is (heading) on.
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Fully off and settled: the processor can skip its work.
    #[inline]
    pub fn is_off(&self) -> bool {
        !self.enabled && self.mix.is_settled()
    }

    /// Fully on and settled: no crossfade needed.
    #[inline]
    pub fn is_fully_on(&self) -> bool {
        self.enabled && self.mix.is_settled()
    }

    /// Advances one frame; returns the wet amount in [0, 1].
    #[inline]
    pub fn tick(&mut self) -> f32 {
        self.mix.tick()
    }

    /// Jumps to the end of any fade in progress.
    pub fn snap(&mut self) {
        self.mix.snap_to_target();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_reaches_target_in_ramp_frames() {
        let mut s = Smoother::linear(48_000.0, 10.0, 0.0);
        s.set_target(1.0);
        let mut v = Vec::new();
        while !s.is_settled() {
            v.push(s.tick());
        }
        assert_eq!(v.len(), 480);
        assert_eq!(*v.last().unwrap(), 1.0);
        assert!((v[239] - 0.5).abs() < 1e-5);
        assert_eq!(s.tick(), 1.0);
    }

    #[test]
    fn one_pole_time_constant() {
        let mut s = Smoother::one_pole(48_000.0, 10.0, 0.0);
        s.set_target(1.0);
        let mut v = 0.0;
        for _ in 0..480 {
            v = s.tick();
        }
        assert!((v - (1.0 - (-1.0f32).exp())).abs() < 1e-3, "{v}");
        for _ in 0..48_000 {
            s.tick();
        }
        assert!(s.is_settled());
        assert_eq!(s.value(), 1.0);
    }

    #[test]
    fn snap_and_set_immediate() {
        let mut s = Smoother::linear(48_000.0, 10.0, 0.0);
        s.set(3.0, true);
        assert!(s.is_settled());
        assert_eq!(s.tick(), 3.0);
        s.set(4.0, false);
        assert!(!s.is_settled());
        s.snap_to_target();
        assert_eq!(s.value(), 4.0);
    }

    #[test]
    fn bypass_fades() {
        let mut b = Bypass::new(48_000.0);
        assert!(b.is_off());
        b.set_enabled(true, false);
        assert!(!b.is_off() && !b.is_fully_on());
        for _ in 0..480 {
            b.tick();
        }
        assert!(b.is_fully_on());
    }
}
