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
//! Implementation: `process` works in runs of up to 256 frames: stage 1 for the whole run (vectorized across
//! frames, with an AVX or AVX-512 build picked at run time on x86-64 that gives the same bits), stage 2, then the serial
//! stages 3–4, then stage 5 over a linear delay buffer. Every value is computed per frame exactly as the scalar
//! algorithm does, so the output does not depend on block sizes.
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

/// Frames per internal pass: `process` works through its block in runs of at most this many frames, each run
/// going through the detector, the gain stage and the output stage in turn (scratch stays in L1).
const CHUNK: usize = 256;
/// Detector history kept in front of each run: the interpolator window is 16 samples.
const HIST: usize = TAPS_PER_PHASE - 1;
/// `x[k]` is the tap input; tap `j` of every phase multiplies `x[j]`. Four partial sums (taps `l`, `l+4`, …)
/// added as `(s0 + s1) + (s2 + s3)`: the detector's fixed summation order, shared by the vector path.
#[inline(always)]
fn dot16(h: &[f32; TAPS_PER_PHASE], x: &[f32; TAPS_PER_PHASE]) -> f32 {
    // starting from the first products rather than 0.0 + product only changes the sign of an all-zero sum,
    // which the detector's abs() removes
    let mut acc = [h[0] * x[0], h[1] * x[1], h[2] * x[2], h[3] * x[3]];
    for k in 1..4 {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += h[4 * k + l] * x[4 * k + l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// `max(m, v)` that ignores a NaN `v` (as `f32::max` does for a non-NaN `m`) and compiles to one `maxps`.
#[inline(always)]
fn max_keep(m: f32, v: f32) -> f32 {
    if v > m {
        v
    } else {
        m
    }
}

/// Oversampled peak of one channel: `peak[j] = max(peak[j], |x(k)|, |y1|, |y2|, |y3|)` for interval `j`, where
/// `x` holds the [`HIST`] samples before the run followed by the run (`x.len() == peak.len() + HIST`). Written
/// per frame with constant-length windows so that the loop vectorizes across frames (each lane one frame, the
/// same expression as the scalar code).
#[inline(always)]
fn detect_channel_generic(h: &[[f32; TAPS_PER_PHASE]; 3], x: &[f32], peak: &mut [f32]) {
    debug_assert_eq!(x.len(), peak.len() + HIST);
    for (w, out) in x.windows(TAPS_PER_PHASE).zip(peak.iter_mut()) {
        let w: &[f32; TAPS_PER_PHASE] = w.try_into().expect("window");
        let mut p = max_keep(*out, w[HALF - 1].abs());
        for ph in h {
            p = max_keep(p, dot16(ph, w).abs());
        }
        *out = p;
    }
}

/// [`detect_channel_generic`] compiled for AVX (8 frames per vector instead of 4). Same operations in the
/// same order, no FMA: bit-identical to the baseline build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn detect_channel_avx(h: &[[f32; TAPS_PER_PHASE]; 3], x: &[f32], peak: &mut [f32]) {
    detect_channel_generic(h, x, peak)
}

/// [`detect_channel_generic`] compiled for AVX-512F (16 frames per vector). Same operations in the same order,
/// no FMA: bit-identical to the baseline build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn detect_channel_avx512(h: &[[f32; TAPS_PER_PHASE]; 3], x: &[f32], peak: &mut [f32]) {
    detect_channel_generic(h, x, peak)
}

/// Which build of the detector the CPU can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Isa {
    Base,
    Avx,
    Avx512,
}

/// [`detect_channel_generic`], through the widest build `isa` allows (the CPU has been checked for it).
#[inline]
fn detect_channel(isa: Isa, h: &[[f32; TAPS_PER_PHASE]; 3], x: &[f32], peak: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY: `isa` names an extension only when the running CPU supports it (see `cpu_isa`).
        Isa::Avx512 => return unsafe { detect_channel_avx512(h, x, peak) },
        // SAFETY: as above.
        Isa::Avx => return unsafe { detect_channel_avx(h, x, peak) },
        Isa::Base => {}
    }
    let _ = isa;
    detect_channel_generic(h, x, peak)
}

/// The widest detector build the running CPU supports.
fn cpu_isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx") {
            return Isa::Avx;
        }
    }
    Isa::Base
}

/// Target gain `min(1, c/peak)`, in place.
#[inline(always)]
fn target(c: f32, peak: f32) -> f32 {
    if peak > c {
        c / peak
    } else {
        1.0
    }
}

/// Stereo lookahead true-peak limiter.
pub struct Limiter {
    fs: f32,
    bypass: Bypass,
    fresh: bool,
    h: [[f32; TAPS_PER_PHASE]; 3],
    /// The detector build in use: the widest the CPU has, AVX-512 only after `set_avx512(true)`.
    isa: Isa,
    ceiling_db: Smoother,
    ceiling_lin: f32,
    detector_idle: bool,
    release_coef: f32,
    lookahead: usize,
    window: usize,
    latency: usize,
    /// Detector input per channel: the last [`HIST`] frames, then the current run.
    det: [Vec<f32>; 2],
    /// Monotonic deque of (interval index, target) in a power-of-two ring of at least `window + 1` slots.
    dq_idx: Vec<u64>,
    dq_val: Vec<f32>,
    dq_mask: usize,
    dq_head: usize,
    dq_len: usize,
    interval: u64,
    release: f32,
    box_ring: Vec<f32>,
    box_pos: usize,
    box_sum: f64,
    /// Audio delay line per channel: the last `latency` frames, then the current run.
    delay: [Vec<f32>; 2],
    /// Per-run scratch: peak, then target, then gain, then the applied gain.
    gain: Vec<f32>,
    /// Per-run scratch: bypass wet amount per frame (while fading).
    mix: Vec<f32>,
    /// Per-run scratch: linear ceiling per frame (while ramping).
    ceil: Vec<f32>,
    block_max_gr_db: f32,
}

impl Limiter {
    /// Lets the detector use AVX-512 where the CPU has it (the same bits). Off by default, as for the reverb
    /// ([`super::reverb::Reverb::set_avx512`]): the offline render turns it on.
    pub fn set_avx512(&mut self, on: bool) {
        self.isa = if on {
            cpu_isa()
        } else {
            cpu_isa().min(Isa::Avx)
        };
    }

    /// New limiter: disabled, ceiling −1 dBTP, release 50 ms.
    pub fn new(sample_rate_hz: f32) -> Self {
        let lookahead = super::util::ms_to_frames(LOOKAHEAD_MS, sample_rate_hz).max(1);
        let window = lookahead + 2;
        let latency = lookahead + HALF;
        let dq_cap = (window + 1).next_power_of_two();
        let mut l = Limiter {
            fs: sample_rate_hz,
            bypass: Bypass::new(sample_rate_hz),
            fresh: true,
            h: interpolator(),
            isa: cpu_isa().min(Isa::Avx),
            ceiling_db: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, -1.0),
            ceiling_lin: 0.0,
            detector_idle: true,
            release_coef: 0.0,
            lookahead,
            window,
            latency,
            det: [vec![0.0; HIST + CHUNK], vec![0.0; HIST + CHUNK]],
            dq_idx: vec![0; dq_cap],
            dq_val: vec![0.0; dq_cap],
            dq_mask: dq_cap - 1,
            dq_head: 0,
            dq_len: 0,
            interval: 0,
            release: 1.0,
            box_ring: vec![1.0; lookahead],
            box_pos: 0,
            box_sum: lookahead as f64,
            delay: [vec![0.0; latency + CHUNK], vec![0.0; latency + CHUNK]],
            gain: vec![0.0; CHUNK],
            mix: vec![0.0; CHUNK],
            ceil: vec![0.0; CHUNK],
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
        for d in &mut self.det {
            d[..HIST].fill(0.0);
        }
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

    /// Stages 3 and 4 for one run: turns the targets in `self.gain[..n]` into gains, in place.
    fn gain_stage(&mut self, n: usize) {
        let cap_mask = self.dq_mask;
        let window = self.window as u64;
        let lookahead = self.lookahead as f64;
        let coef = self.release_coef;
        let (mut head, mut len, mut i) = (self.dq_head, self.dq_len, self.interval);
        let (mut release, mut box_pos, mut box_sum) = (self.release, self.box_pos, self.box_sum);
        let dq_idx = &mut self.dq_idx[..=cap_mask];
        let dq_val = &mut self.dq_val[..=cap_mask];
        let box_ring = &mut self.box_ring[..];
        for g in &mut self.gain[..n] {
            let t = *g;
            // 3. sliding minimum over `window` intervals
            while len > 0 && dq_val[(head + len - 1) & cap_mask] >= t {
                len -= 1;
            }
            let slot = (head + len) & cap_mask;
            dq_idx[slot] = i;
            dq_val[slot] = t;
            len += 1;
            if i >= window && dq_idx[head] <= i - window {
                head = (head + 1) & cap_mask;
                len -= 1;
            }
            i += 1;
            let s = dq_val[head];
            release = if s < release {
                s
            } else {
                s + coef * (release - s)
            };
            // 4. box filter
            let old = std::mem::replace(&mut box_ring[box_pos], release);
            box_pos += 1;
            if box_pos == box_ring.len() {
                box_pos = 0;
            }
            box_sum += release as f64 - old as f64;
            *g = (box_sum / lookahead).min(1.0) as f32;
        }
        (self.dq_head, self.dq_len, self.interval) = (head, len, i);
        (self.release, self.box_pos, self.box_sum) = (release, box_pos, box_sum);
    }

    /// Runs the audio of one run (`n` frames) through the delay line; with `gain`, multiplies it by
    /// `self.gain[..n]`.
    #[inline(always)]
    fn delay_run(&mut self, left: &mut [f32], right: &mut [f32], gain: bool) {
        let n = left.len();
        let lat = self.latency;
        for (d, x) in self.delay.iter_mut().zip([left, right]) {
            d[lat..lat + n].copy_from_slice(x);
            if gain {
                for ((o, &v), &w) in x.iter_mut().zip(&d[..n]).zip(&self.gain[..n]) {
                    *o = v * w;
                }
            } else {
                x.copy_from_slice(&d[..n]);
            }
            d.copy_within(n..n + lat, 0);
        }
    }

    /// One run of at most [`CHUNK`] frames with the detector active; returns how many frames it processed (fewer
    /// than `left.len()` when the bypass fade-out ends inside the run).
    #[inline(always)]
    fn run(&mut self, left: &mut [f32], right: &mut [f32], min_gain: &mut f32) -> usize {
        let mut n = left.len().min(CHUNK);
        // wet amount per frame while fading; the run ends where the fade-out does
        let fading = !self.bypass.is_fully_on();
        if fading {
            for j in 0..n {
                if self.bypass.is_off() {
                    n = j;
                    break;
                }
                self.mix[j] = self.bypass.tick();
            }
        }
        let (left, right) = (&mut left[..n], &mut right[..n]);
        // ceiling per frame while ramping
        let ramping = !self.ceiling_db.is_settled();
        if ramping {
            for j in 0..n {
                if !self.ceiling_db.is_settled() {
                    self.ceiling_db.tick();
                    self.update_derived();
                }
                self.ceil[j] = self.ceiling_lin;
            }
        }
        // 1. oversampled peak per interval, both channels
        let peak = &mut self.gain[..n];
        peak.fill(0.0);
        for (d, x) in self.det.iter_mut().zip([&*left, &*right]) {
            d[HIST..HIST + n].copy_from_slice(x);
            detect_channel(self.isa, &self.h, &d[..HIST + n], peak);
            d.copy_within(n..n + HIST, 0);
        }
        // 2. target gain
        if ramping {
            for (p, &c) in peak.iter_mut().zip(&self.ceil[..n]) {
                *p = target(c, *p);
            }
        } else {
            let c = self.ceiling_lin;
            for p in peak.iter_mut() {
                *p = target(c, *p);
            }
        }
        // 3., 4. sliding minimum, release, box filter
        self.gain_stage(n);
        let g = &mut self.gain[..n];
        *min_gain = g.iter().fold(*min_gain, |m, &v| m.min(v));
        if fading {
            for (w, &m) in g.iter_mut().zip(&self.mix[..n]) {
                if m != 1.0 {
                    *w = 1.0 + m * (*w - 1.0);
                }
            }
        }
        // 5. delayed audio times gain
        self.delay_run(left, right, true);
        n
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
    }

    fn latency_frames(&self) -> usize {
        self.latency
    }

    /// Compiled for AVX2 where the CPU has it (the same operations; no fused multiply-adds).
    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        super::process_avx2_where_present(self, left, right)
    }
}

impl super::Avx2Build for Limiter {
    #[inline(always)]
    fn process_in(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        let (left, right) = (&mut left[..n], &mut right[..n]);
        self.block_max_gr_db = 0.0;
        let mut min_gain = 1.0f32;
        if n > 0 {
            self.fresh = false;
        }
        let mut i = 0;
        while i < n {
            if self.bypass.is_off() {
                // only the delay line runs (the bypass cannot change inside `process`)
                if !self.detector_idle {
                    self.go_idle();
                }
                while i < n {
                    let len = (n - i).min(CHUNK);
                    self.delay_run(&mut left[i..i + len], &mut right[i..i + len], false);
                    i += len;
                }
                break;
            }
            self.detector_idle = false;
            i += self.run(&mut left[i..], &mut right[i..], &mut min_gain);
        }
        self.block_max_gr_db = -20.0 * min_gain.log10();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector paths (AVX where the CPU has it, and the groups of the baseline build) give the scalar
    /// per-frame result bit for bit, including NaN and infinities in the input.
    #[test]
    fn detector_paths_agree_bit_for_bit() {
        let h = interpolator();
        let mut seed = 0x2545_f491u32;
        let mut x: Vec<f32> = (0..HIST + 301)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                (seed as f32 / u32::MAX as f32 - 0.5) * 5.0
            })
            .collect();
        x[40] = 0.0;
        x[41] = -0.0;
        x[200] = f32::NAN;
        x[260] = f32::INFINITY;
        let mut reference = vec![0.25f32; 301];
        for (j, out) in reference.iter_mut().enumerate() {
            let w: &[f32; TAPS_PER_PHASE] = x[j..j + TAPS_PER_PHASE].try_into().unwrap();
            let mut p = out.max(w[HALF - 1].abs());
            for ph in &h {
                let mut acc = [0f32; 4];
                for k in 0..4 {
                    for (l, a) in acc.iter_mut().enumerate() {
                        *a += ph[4 * k + l] * w[4 * k + l];
                    }
                }
                p = p.max(((acc[0] + acc[1]) + (acc[2] + acc[3])).abs());
            }
            *out = p;
        }
        // every build this CPU can run
        let isas = [Isa::Base, Isa::Avx, Isa::Avx512];
        let best = isas.iter().position(|&i| i == cpu_isa()).unwrap();
        for &isa in &isas[..=best] {
            for n in [301, 40, 8, 3] {
                let mut peak = vec![0.25f32; n];
                detect_channel(isa, &h, &x[..n + HIST], &mut peak);
                let same = peak
                    .iter()
                    .zip(&reference)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{isa:?}, {n} frames");
            }
        }
    }
}
