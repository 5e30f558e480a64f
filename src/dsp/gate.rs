//! Runs on the audio thread: stereo-linked noise gate / downward expander with threshold, ratio, range floor,
//! attack, hold and release.
//!
//! Detector: key = max(|L|, |R|) per frame. The gate is open on every frame whose key reaches the threshold and
//! for `hold` afterwards (so the hold also bridges the zero crossings of low notes: keep it longer than the
//! period of the lowest note, default 20 ms). While closed, the target gain is the range floor (ratio = ∞, a
//! gate) or, for a finite ratio, the downward expansion `(ratio − 1)·(level − threshold)` floored at the range,
//! where level is a peak envelope (instant rise, release time constant). The gain in dB follows the target with
//! one-pole ballistics: attack time constant while opening, release while closing; a step reaches 1 − 1/e of its
//! final value after one time constant (`α = exp(−1/(τ·fs))`). Threshold is ramped per sample; the other
//! parameters act through these ballistics, so no change clicks.

use super::smoother::{Bypass, Smoother, PARAM_RAMP_MS};
use super::util::{db_to_gain, gain_to_db, time_constant_coef};
use super::StereoProcessor;

/// Stereo-linked gate / expander.
pub struct Gate {
    fs: f32,
    bypass: Bypass,
    fresh: bool,
    /// State cleared after a completed fade-out (nothing to do until re-enabled).
    idle: bool,
    threshold_db: Smoother,
    threshold_lin: f32,
    /// 1/ratio; 0 means a gate (ratio ∞).
    ratio: f32,
    range_db: f32,
    attack_coef: f64,
    release_coef: f64,
    env_coef: f32,
    hold_frames: u32,
    since_above: u32,
    env: f32,
    gain_db: f64,
    gain_lin: f32,
    block_max_gr_db: f32,
}

impl Gate {
    /// New gate: disabled, threshold −50 dBFS, ratio ∞ (gate), range −80 dB, attack 0.5 ms, hold 20 ms,
    /// release 100 ms.
    pub fn new(sample_rate_hz: f32) -> Self {
        let mut g = Gate {
            fs: sample_rate_hz,
            bypass: Bypass::new(sample_rate_hz),
            fresh: true,
            idle: true,
            threshold_db: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, -50.0),
            threshold_lin: db_to_gain(-50.0),
            ratio: f32::INFINITY,
            range_db: -80.0,
            attack_coef: 0.0,
            release_coef: 0.0,
            env_coef: 0.0,
            hold_frames: 0,
            since_above: u32::MAX,
            env: 0.0,
            gain_db: 0.0,
            gain_lin: 1.0,
            block_max_gr_db: 0.0,
        };
        g.set_attack_ms(0.5);
        g.set_release_ms(100.0);
        g.set_hold_ms(20.0);
        g
    }

    fn immediate(&self) -> bool {
        self.fresh || self.bypass.is_off()
    }

    /// Sets the opening threshold in dBFS (ramped).
    pub fn set_threshold_db(&mut self, threshold_db: f32) {
        let imm = self.immediate();
        self.threshold_db.set(threshold_db.clamp(-120.0, 0.0), imm);
        if imm {
            self.threshold_lin = db_to_gain(self.threshold_db.value());
        }
    }

    /// Sets the expansion ratio (≥ 1; `f32::INFINITY` or ≥ 100 makes a gate that drops straight to the range).
    pub fn set_ratio(&mut self, ratio: f32) {
        self.ratio = if ratio >= 100.0 {
            f32::INFINITY
        } else {
            ratio.max(1.0)
        };
    }

    /// Sets the range: the deepest attenuation in dB (≤ 0, clamped to −120).
    pub fn set_range_db(&mut self, range_db: f32) {
        self.range_db = range_db.clamp(-120.0, 0.0);
    }

    /// Sets the attack (opening) time constant in ms.
    pub fn set_attack_ms(&mut self, attack_ms: f32) {
        self.attack_coef = time_constant_coef(attack_ms, self.fs);
    }

    /// Sets the hold time in ms: the gate stays open this long after the key last reached the threshold.
    pub fn set_hold_ms(&mut self, hold_ms: f32) {
        self.hold_frames = super::util::ms_to_frames(hold_ms, self.fs) as u32;
    }

    /// Sets the release (closing) time constant in ms; also the expander's level-envelope release.
    pub fn set_release_ms(&mut self, release_ms: f32) {
        self.release_coef = time_constant_coef(release_ms, self.fs);
        self.env_coef = self.release_coef as f32;
    }

    /// Gain reduction in dB (positive; 0 = open), the maximum over the last processed block.
    pub fn gain_reduction_db(&self) -> f32 {
        self.block_max_gr_db
    }

    fn go_idle(&mut self) {
        self.threshold_db.snap_to_target();
        self.threshold_lin = db_to_gain(self.threshold_db.value());
        self.since_above = u32::MAX;
        self.env = 0.0;
        self.gain_db = 0.0;
        self.gain_lin = 1.0;
        self.idle = true;
    }

    /// Advances the detector and the gain by one frame; returns the linear gain.
    #[inline(always)]
    fn tick_gain(&mut self, l: f32, r: f32) -> f32 {
        if !self.threshold_db.is_settled() {
            self.threshold_lin = db_to_gain(self.threshold_db.tick());
        }
        let key = l.abs().max(r.abs());
        if key >= self.threshold_lin {
            self.since_above = 0;
        } else {
            self.since_above = self.since_above.saturating_add(1);
        }
        let expander = self.ratio.is_finite();
        if expander {
            self.env = if key > self.env {
                key
            } else {
                key + self.env_coef * (self.env - key)
            };
        }
        let target = if self.since_above <= self.hold_frames {
            0.0
        } else if expander {
            let level_db = gain_to_db(self.env);
            ((self.ratio - 1.0) * (level_db - self.threshold_db.value())).clamp(self.range_db, 0.0)
                as f64
        } else {
            self.range_db as f64
        };
        if self.gain_db != target {
            let a = if target > self.gain_db {
                self.attack_coef
            } else {
                self.release_coef
            };
            let d = a * (self.gain_db - target);
            self.gain_db = if d.abs() < 1e-6 { target } else { target + d };
            self.gain_lin = db_to_gain(self.gain_db as f32);
        }
        self.gain_lin
    }
}

impl Gate {
    /// While a gate (not an expander) is fully open and nothing ramps, a frame of [`Gate::tick_gain`] only
    /// advances the hold counter and gives gain 1 (the output is the input, `x · 1 = x`). This does exactly
    /// that for as many frames as stay so, and returns how many: it stops before the first frame whose hold
    /// runs out, where the frame-by-frame path takes over. Compiled for AVX2 where the CPU has it (the same
    /// comparisons, eight frames per instruction).
    fn scan_open(&mut self, left: &[f32], right: &[f32]) -> usize {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present (checked just above).
            return unsafe { self.scan_open_avx2(left, right) };
        }
        self.scan_open_in(left, right)
    }

    /// [`Gate::scan_open`] compiled for AVX2.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn scan_open_avx2(&mut self, left: &[f32], right: &[f32]) -> usize {
        self.scan_open_in(left, right)
    }

    #[inline(always)]
    fn scan_open_in(&mut self, left: &[f32], right: &[f32]) -> usize {
        let (threshold, hold) = (self.threshold_lin, self.hold_frames);
        let mut since_above = self.since_above;
        // Whole chunks first, while no frame of the chunk can outlast the hold (its counter stays at most
        // `since_above + CHUNK`): then the chunk only moves the counter, to the frames after its last frame at
        // or above the threshold (a max over the chunk, which vectorizes).
        const CHUNK: usize = 64;
        let mut start = 0;
        for (cl, cr) in left.chunks_exact(CHUNK).zip(right.chunks_exact(CHUNK)) {
            if since_above as u64 + CHUNK as u64 > hold as u64 {
                break;
            }
            let mut last1 = 0u32; // index + 1 of the last frame at or above the threshold, 0 for none
            for (j, (l, r)) in cl.iter().zip(cr).enumerate() {
                let v = if l.abs().max(r.abs()) >= threshold {
                    j as u32 + 1
                } else {
                    0
                };
                last1 = last1.max(v);
            }
            since_above = if last1 == 0 {
                since_above + CHUNK as u32
            } else {
                CHUNK as u32 - last1
            };
            start += CHUNK;
        }
        let (left, right) = (&left[start..], &right[start..]);
        for (i, (l, r)) in left.iter().zip(right).enumerate() {
            let key = l.abs().max(r.abs());
            let next = if key >= threshold {
                0
            } else {
                since_above.saturating_add(1)
            };
            if next > hold {
                self.since_above = since_above;
                return start + i;
            }
            since_above = next;
        }
        self.since_above = since_above;
        start + left.len()
    }
}

impl StereoProcessor for Gate {
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
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        self.block_max_gr_db = 0.0;
        if n == 0 {
            return;
        }
        self.fresh = false;
        if self.bypass.is_off() {
            if !self.idle {
                self.go_idle();
            }
            return;
        }
        self.idle = false;
        let mut min_gain_db = 0.0f64;
        if self.bypass.is_fully_on() {
            let open = self.threshold_db.is_settled()
                && !self.ratio.is_finite()
                && self.gain_db == 0.0
                && self.gain_lin == 1.0;
            let start = if open {
                self.scan_open(&left[..n], &right[..n])
            } else {
                0
            };
            for (l, r) in left[start..n].iter_mut().zip(right[start..n].iter_mut()) {
                let g = self.tick_gain(*l, *r);
                min_gain_db = min_gain_db.min(self.gain_db);
                *l *= g;
                *r *= g;
            }
        } else {
            for i in 0..n {
                if self.bypass.is_off() {
                    self.go_idle();
                    break;
                }
                let g = self.tick_gain(left[i], right[i]);
                min_gain_db = min_gain_db.min(self.gain_db);
                let m = self.bypass.tick();
                let w = if m == 1.0 { g } else { 1.0 + m * (g - 1.0) };
                left[i] *= w;
                right[i] *= w;
            }
        }
        self.block_max_gr_db = -min_gain_db as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The open-gate scan gives exactly what `tick_gain` frame by frame gives: through short dips (hold),
    /// closing after a long one, and opening again.
    #[test]
    fn open_scan_equals_frame_by_frame() {
        let fs = 48_000.0;
        let make = || {
            let mut g = Gate::new(fs);
            g.set_threshold_db(-30.0);
            g.set_hold_ms(5.0);
            g.set_enabled(true);
            g
        };
        let n = 48_000;
        let (mut l, mut r) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let t = i as f32 / fs;
            let tone = (t * 2_000.0).sin() * 0.5;
            // loud, dips of 2 ms every 50 ms, a 100 ms silence at 0.4 s, loud again
            let dip = (i % 2_400) < 96 || (19_200..24_000).contains(&i);
            let a = if dip { 0.001 } else { 1.0 };
            l.push(tone * a);
            r.push(tone * a * 0.5);
        }
        let mut fast = make();
        let (mut fl, mut fr) = (l.clone(), r.clone());
        for (cl, cr) in fl.chunks_mut(777).zip(fr.chunks_mut(777)) {
            fast.process(cl, cr);
        }
        let mut slow = make();
        slow.fresh = false;
        slow.idle = false;
        let (mut sl, mut sr) = (l.clone(), r.clone());
        for (x, y) in sl.iter_mut().zip(sr.iter_mut()) {
            let g = slow.tick_gain(*x, *y);
            *x *= g;
            *y *= g;
        }
        assert!(
            sl.iter().zip(&l).any(|(a, b)| a != b),
            "the gate closed somewhere"
        );
        for i in 0..n {
            assert_eq!(fl[i].to_bits(), sl[i].to_bits(), "left {i}");
            assert_eq!(fr[i].to_bits(), sr[i].to_bits(), "right {i}");
        }
    }
}
