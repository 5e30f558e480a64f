//! Runs on the audio thread: lookahead brickwall limiter whose output stays under a true-peak ceiling (dBTP).
//!
//! Algorithm, per frame:
//! 1. Detection on a 4× oversampled signal: a 64-tap Kaiser-windowed sinc (16 taps per phase) interpolates three
//!    points between each pair of samples; the detector value of interval `[k, k+1)` is the max over both
//!    channels of |x(k)| and the three interpolated points.
//! 2. Target gain `t = min(1, c/peak)` where `c` is the ceiling less a safety margin ([`MARGIN_DB`], 0.2 dB) for
//!    the difference between interpolators and for the gain modulation itself.
//! 3. Sliding minimum of `t` over `L + 2` intervals (monotonic deque in a fixed ring), so that the gain of
//!    sample `k` is bounded by the targets of intervals `k−1`, `k` and `k+1` (every point within one sample of
//!    `k`); then a release stage (instant down, one-pole up with the release time constant, never above the
//!    sliding minimum).
//! 4. Box filter of length `L` (the lookahead) with an f64 running sum: the gain ramps down linearly over the
//!    lookahead and, being an average of values each ≤ the target of the samples it covers, never exceeds it.
//! 5. The audio, delayed by `L` plus the interpolator's half length, is multiplied by that gain.
//!
//! Latency ([`StereoProcessor::latency_frames`]) is the same whether enabled or bypassed (the bypass crossfades
//! against the delayed dry signal). While fully bypassed only the delay line runs; on re-enable the detector
//! restarts, so the first lookahead's worth of frames of the 10 ms fade-in is not limited.

use super::smoother::{Bypass, Smoother, PARAM_RAMP_MS};
use super::util::{db_to_gain, time_constant_coef};
use super::StereoProcessor;

/// Lookahead in milliseconds.
pub const LOOKAHEAD_MS: f32 = 2.0;
/// Safety margin below the ceiling in dB. Measured need: the BS.1770 example interpolator (48-tap Hann sinc, as
/// in libebur128 and the `ebur128` crate) reads up to ~0.1 dB above the band-limited peak (an fs/4 sine at
/// 2.0 reads +6.12 dBTP), and the gain modulation adds a few hundredths on heavy noise with 1 ms release.
pub const MARGIN_DB: f32 = 0.2;
const TAPS_PER_PHASE: usize = 16;
const HALF: usize = TAPS_PER_PHASE / 2;
const KAISER_BETA: f64 = 8.0;

fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..50 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}

/// Polyphase coefficients for the three fractional phases 1/4, 2/4, 3/4; tap `j` multiplies the `j`-th oldest
/// of the last 16 samples. Each phase is normalised to unit DC gain.
fn interpolator() -> [[f32; TAPS_PER_PHASE]; 3] {
    let mut h = [[0f32; TAPS_PER_PHASE]; 3];
    for (p, phase) in h.iter_mut().enumerate() {
        let frac = (p + 1) as f64 / 4.0;
        let mut tmp = [0f64; TAPS_PER_PHASE];
        for (j, c) in tmp.iter_mut().enumerate() {
            let u = HALF as f64 - 1.0 - j as f64 + frac;
            let x = std::f64::consts::PI * u;
            let sinc = if u.abs() < 1e-12 { 1.0 } else { x.sin() / x };
            let r = u / HALF as f64;
            let w = bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(KAISER_BETA);
            *c = sinc * w;
        }
        let s: f64 = tmp.iter().sum();
        for (o, c) in phase.iter_mut().zip(tmp) {
            *o = (c / s) as f32;
        }
    }
    h
}

#[inline(always)]
fn dot16(h: &[f32; TAPS_PER_PHASE], x: &[f32]) -> f32 {
    let x: &[f32; TAPS_PER_PHASE] = x.try_into().expect("16 samples");
    let mut acc = [0f32; 4];
    for k in 0..4 {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += h[4 * k + l] * x[4 * k + l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Stereo lookahead true-peak limiter.
pub struct Limiter {
    fs: f32,
    bypass: Bypass,
    fresh: bool,
    h: [[f32; TAPS_PER_PHASE]; 3],
    ceiling_db: Smoother,
    ceiling_lin: f32,
    detector_idle: bool,
    release_coef: f32,
    lookahead: usize,
    window: usize,
    /// Interpolator histories, written twice so the last 16 samples are always contiguous.
    hist: [Vec<f32>; 2],
    hist_pos: usize,
    /// Monotonic deque of (interval index, target) in a ring of `window + 1` slots.
    dq_idx: Vec<u64>,
    dq_val: Vec<f32>,
    dq_head: usize,
    dq_len: usize,
    interval: u64,
    release: f32,
    box_ring: Vec<f32>,
    box_pos: usize,
    box_sum: f64,
    /// Audio delay line per channel (`latency` frames).
    delay: [Vec<f32>; 2],
    delay_pos: usize,
    block_max_gr_db: f32,
}

impl Limiter {
    /// New limiter: disabled, ceiling −1 dBTP, release 50 ms.
    pub fn new(sample_rate_hz: f32) -> Self {
        let lookahead = super::util::ms_to_frames(LOOKAHEAD_MS, sample_rate_hz).max(1);
        let window = lookahead + 2;
        let latency = lookahead + HALF;
        let mut l = Limiter {
            fs: sample_rate_hz,
            bypass: Bypass::new(sample_rate_hz),
            fresh: true,
            h: interpolator(),
            ceiling_db: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, -1.0),
            ceiling_lin: 0.0,
            detector_idle: true,
            release_coef: 0.0,
            lookahead,
            window,
            hist: [vec![0.0; 2 * TAPS_PER_PHASE], vec![0.0; 2 * TAPS_PER_PHASE]],
            hist_pos: 0,
            dq_idx: vec![0; window + 1],
            dq_val: vec![0.0; window + 1],
            dq_head: 0,
            dq_len: 0,
            interval: 0,
            release: 1.0,
            box_ring: vec![1.0; lookahead],
            box_pos: 0,
            box_sum: lookahead as f64,
            delay: [vec![0.0; latency], vec![0.0; latency]],
            delay_pos: 0,
            block_max_gr_db: 0.0,
        };
        l.set_release_ms(50.0);
        l.update_derived();
        l
    }

    fn immediate(&self) -> bool {
        self.fresh || self.bypass.is_off()
    }

    fn update_derived(&mut self) {
        self.ceiling_lin = db_to_gain(self.ceiling_db.value() - MARGIN_DB);
    }

    /// Sets the true-peak ceiling in dBTP (−30 … 0; ramped).
    pub fn set_ceiling_db(&mut self, ceiling_db: f32) {
        let imm = self.immediate();
        self.ceiling_db.set(ceiling_db.clamp(-30.0, 0.0), imm);
        if imm {
            self.update_derived();
        }
    }

    /// Sets the release time constant in ms (gain recovery after the peak has left the lookahead window).
    pub fn set_release_ms(&mut self, release_ms: f32) {
        self.release_coef = time_constant_coef(release_ms.max(1.0), self.fs) as f32;
    }

    /// Gain reduction in dB (positive; 0 = none), the maximum over the last processed block.
    pub fn gain_reduction_db(&self) -> f32 {
        self.block_max_gr_db
    }

    fn clear_detector(&mut self) {
        for h in &mut self.hist {
            h.fill(0.0);
        }
        self.hist_pos = 0;
        self.dq_head = 0;
        self.dq_len = 0;
        self.interval = 0;
        self.release = 1.0;
        self.box_ring.fill(1.0);
        self.box_pos = 0;
        self.box_sum = self.lookahead as f64;
    }

    fn go_idle(&mut self) {
        self.ceiling_db.snap_to_target();
        self.update_derived();
        self.clear_detector();
        self.detector_idle = true;
    }

    /// Runs the detector on one input frame and returns the gain for the frame leaving the delay line.
    #[inline(always)]
    fn detect(&mut self, l: f32, r: f32) -> f32 {
        // 1. oversampled peak of interval [k, k+1), k = newest − HALF
        let p = self.hist_pos;
        self.hist[0][p] = l;
        self.hist[0][p + TAPS_PER_PHASE] = l;
        self.hist[1][p] = r;
        self.hist[1][p + TAPS_PER_PHASE] = r;
        self.hist_pos = if p + 1 == TAPS_PER_PHASE { 0 } else { p + 1 };
        let mut peak = 0f32;
        for ch in 0..2 {
            let w = &self.hist[ch][p + 1..p + 1 + TAPS_PER_PHASE];
            peak = peak.max(w[HALF - 1].abs());
            for ph in &self.h {
                peak = peak.max(dot16(ph, w).abs());
            }
        }
        // 2. target gain
        let t = if peak > self.ceiling_lin {
            self.ceiling_lin / peak
        } else {
            1.0
        };
        // 3. sliding minimum over `window` intervals
        let cap = self.window + 1;
        let i = self.interval;
        while self.dq_len > 0 {
            let back = (self.dq_head + self.dq_len - 1) % cap;
            if self.dq_val[back] >= t {
                self.dq_len -= 1;
            } else {
                break;
            }
        }
        let slot = (self.dq_head + self.dq_len) % cap;
        self.dq_idx[slot] = i;
        self.dq_val[slot] = t;
        self.dq_len += 1;
        while i >= self.window as u64 && self.dq_idx[self.dq_head] <= i - self.window as u64 {
            self.dq_head = (self.dq_head + 1) % cap;
            self.dq_len -= 1;
        }
        self.interval += 1;
        let s = self.dq_val[self.dq_head];
        self.release = if s < self.release {
            s
        } else {
            s + self.release_coef * (self.release - s)
        };
        // 4. box filter
        let old = self.box_ring[self.box_pos];
        self.box_ring[self.box_pos] = self.release;
        self.box_pos = if self.box_pos + 1 == self.lookahead {
            0
        } else {
            self.box_pos + 1
        };
        self.box_sum += self.release as f64 - old as f64;
        (self.box_sum / self.lookahead as f64).min(1.0) as f32
    }

    /// Pushes one frame into the audio delay line and returns the delayed frame.
    #[inline(always)]
    fn delay(&mut self, l: f32, r: f32) -> (f32, f32) {
        let p = self.delay_pos;
        let out = (self.delay[0][p], self.delay[1][p]);
        self.delay[0][p] = l;
        self.delay[1][p] = r;
        self.delay_pos = if p + 1 == self.delay[0].len() {
            0
        } else {
            p + 1
        };
        out
    }
}

impl StereoProcessor for Limiter {
    fn set_enabled(&mut self, enabled: bool) {
        let imm = self.fresh;
        self.bypass.set_enabled(enabled, imm);
    }

    fn is_enabled(&self) -> bool {
        self.bypass.is_enabled()
    }

    fn reset(&mut self) {
        self.bypass.snap();
        self.go_idle();
        self.fresh = true;
        for d in &mut self.delay {
            d.fill(0.0);
        }
        self.delay_pos = 0;
    }

    fn latency_frames(&self) -> usize {
        self.lookahead + HALF
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        self.block_max_gr_db = 0.0;
        let mut min_gain = 1.0f32;
        if n > 0 {
            self.fresh = false;
        }
        for i in 0..n {
            if self.bypass.is_off() {
                if !self.detector_idle {
                    self.go_idle();
                }
                let (dl, dr) = self.delay(left[i], right[i]);
                left[i] = dl;
                right[i] = dr;
                continue;
            }
            self.detector_idle = false;
            if !self.ceiling_db.is_settled() {
                self.ceiling_db.tick();
                self.update_derived();
            }
            let (xl, xr) = (left[i], right[i]);
            let g = self.detect(xl, xr);
            min_gain = min_gain.min(g);
            let (dl, dr) = self.delay(xl, xr);
            let w = if self.bypass.is_fully_on() {
                g
            } else {
                let m = self.bypass.tick();
                if m == 1.0 {
                    g
                } else {
                    1.0 + m * (g - 1.0)
                }
            };
            left[i] = dl * w;
            right[i] = dr * w;
        }
        self.block_max_gr_db = -20.0 * min_gain.log10();
    }
}
