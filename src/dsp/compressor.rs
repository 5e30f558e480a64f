//! Runs on the audio thread: feed-forward, stereo-linked compressor with a soft knee (Giannoulis, Massberg and
//! Reiss, "Digital Dynamic Range Compressor Design", JAES 2012), makeup gain and an optional side-chain
//! high-pass.
//!
//! Per frame: key = max(|L|, |R|) (of the side-chain-filtered signal when the high-pass is on);
//! `xg = 20·log10(key)`; gain computer `yg = xg` when `2(xg−T) < −W`, `xg + (1/R−1)(xg−T+W/2)²/(2W)` in the
//! knee, `T + (xg−T)/R` above; gain reduction `xl = xg − yg ≥ 0`, smoothed by the branching peak detector
//! `yl ← α·yl + (1−α)·xl` with `α = αA` when `xl > yl` (attack) and `αR` otherwise (release), where
//! `α = exp(−1/(τ·fs))`: **attack and release are time constants τ** — a step of gain reduction reaches 1 − 1/e
//! (63 %) of its final value after τ. Output gain `10^((makeup − yl)/20)`. Threshold, ratio, knee and makeup are
//! ramped per sample.

use super::smoother::{Bypass, Smoother, PARAM_RAMP_MS};
use super::svf::{SvfCoefs, SvfKind, SvfState};
use super::util::{db_to_gain, fast_exp2, fast_log2, time_constant_coef};
use super::StereoProcessor;

/// Static gain computer: gain reduction in dB (≥ 0) for input level `xg_db`, threshold `t_db`, slope
/// `1/ratio − 1` given as `inv_ratio` = 1/ratio, and knee width `knee_db`.
#[inline]
pub fn gain_reduction_curve_db(xg_db: f32, t_db: f32, inv_ratio: f32, knee_db: f32) -> f32 {
    let over = xg_db - t_db;
    if 2.0 * over < -knee_db {
        0.0
    } else if knee_db > 0.0 && 2.0 * over.abs() <= knee_db {
        let u = over + 0.5 * knee_db;
        -(inv_ratio - 1.0) * u * u / (2.0 * knee_db)
    } else {
        over * (1.0 - inv_ratio)
    }
}

/// Stereo-linked compressor.
pub struct Compressor {
    fs: f32,
    bypass: Bypass,
    fresh: bool,
    /// State cleared after a completed fade-out (nothing to do until re-enabled).
    idle: bool,
    threshold_db: Smoother,
    inv_ratio: Smoother,
    knee_db: Smoother,
    makeup_db: Smoother,
    makeup_lin: f32,
    /// Keys at or below this level are below the knee: no gain reduction, no log needed.
    knee_floor_lin: f32,
    attack_coef: f64,
    release_coef: f64,
    yl_db: f64,
    sc_enabled: bool,
    sc_coefs: SvfCoefs,
    sc_state: [SvfState; 2],
    block_max_gr_db: f32,
}

impl Compressor {
    /// New compressor: disabled, threshold −18 dBFS, ratio 4, knee 6 dB, attack 10 ms, release 100 ms, makeup
    /// 0 dB, side-chain high-pass off (100 Hz when switched on).
    pub fn new(sample_rate_hz: f32) -> Self {
        let mut c = Compressor {
            fs: sample_rate_hz,
            bypass: Bypass::new(sample_rate_hz),
            fresh: true,
            idle: true,
            threshold_db: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, -18.0),
            inv_ratio: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 0.25),
            knee_db: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 6.0),
            makeup_db: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 0.0),
            makeup_lin: 1.0,
            knee_floor_lin: 0.0,
            attack_coef: 0.0,
            release_coef: 0.0,
            yl_db: 0.0,
            sc_enabled: false,
            sc_coefs: SvfCoefs::IDENTITY,
            sc_state: [SvfState::default(); 2],
            block_max_gr_db: 0.0,
        };
        c.set_attack_ms(10.0);
        c.set_release_ms(100.0);
        c.set_sidechain_hpf_hz(100.0);
        c.update_derived();
        c
    }

    fn immediate(&self) -> bool {
        self.fresh || self.bypass.is_off()
    }

    fn update_derived(&mut self) {
        self.knee_floor_lin = db_to_gain(self.threshold_db.value() - 0.5 * self.knee_db.value());
        self.makeup_lin = db_to_gain(self.makeup_db.value());
    }

    fn set_param(&mut self, which: fn(&mut Self) -> &mut Smoother, v: f32) {
        let imm = self.immediate();
        which(self).set(v, imm);
        if imm {
            self.update_derived();
        }
    }

    /// Sets the threshold in dBFS (ramped).
    pub fn set_threshold_db(&mut self, threshold_db: f32) {
        self.set_param(|c| &mut c.threshold_db, threshold_db.clamp(-80.0, 0.0));
    }

    /// Sets the ratio (1 … 100; ramped as 1/ratio).
    pub fn set_ratio(&mut self, ratio: f32) {
        self.set_param(|c| &mut c.inv_ratio, 1.0 / ratio.clamp(1.0, 100.0));
    }

    /// Sets the knee width in dB (0 = hard knee, up to 24; ramped).
    pub fn set_knee_db(&mut self, knee_db: f32) {
        self.set_param(|c| &mut c.knee_db, knee_db.clamp(0.0, 24.0));
    }

    /// Sets the makeup gain in dB (−24 … +40; ramped).
    pub fn set_makeup_db(&mut self, makeup_db: f32) {
        self.set_param(|c| &mut c.makeup_db, makeup_db.clamp(-24.0, 40.0));
    }

    /// Sets the attack time constant τ in ms (0 = instant).
    pub fn set_attack_ms(&mut self, attack_ms: f32) {
        self.attack_coef = time_constant_coef(attack_ms, self.fs);
    }

    /// Sets the release time constant τ in ms (0 = instant).
    pub fn set_release_ms(&mut self, release_ms: f32) {
        self.release_coef = time_constant_coef(release_ms, self.fs);
    }

    /// Switches the side-chain high-pass (12 dB/oct Butterworth on the detector only) on or off.
    pub fn set_sidechain_hpf(&mut self, enabled: bool) {
        self.sc_enabled = enabled;
    }

    /// Sets the side-chain high-pass corner (20 Hz … 2 kHz).
    pub fn set_sidechain_hpf_hz(&mut self, freq_hz: f32) {
        self.sc_coefs = SvfCoefs::new(
            SvfKind::HighPass,
            self.fs as f64,
            freq_hz.clamp(20.0, 2_000.0) as f64,
            std::f64::consts::FRAC_1_SQRT_2,
            0.0,
        );
    }

    /// Gain reduction in dB (positive; 0 = none), the maximum over the last processed block.
    pub fn gain_reduction_db(&self) -> f32 {
        self.block_max_gr_db
    }

    fn go_idle(&mut self) {
        self.threshold_db.snap_to_target();
        self.inv_ratio.snap_to_target();
        self.knee_db.snap_to_target();
        self.makeup_db.snap_to_target();
        self.update_derived();
        self.yl_db = 0.0;
        self.sc_state = [SvfState::default(); 2];
        self.idle = true;
    }

    fn params_settled(&self) -> bool {
        self.threshold_db.is_settled()
            && self.inv_ratio.is_settled()
            && self.knee_db.is_settled()
            && self.makeup_db.is_settled()
    }

    /// Side-chain key of one frame: max(|L|, |R|), of the high-passed signal when the side-chain filter is on.
    #[inline(always)]
    fn key(&mut self, l: f32, r: f32) -> f32 {
        if self.sc_enabled {
            let a = self.sc_state[0].tick(&self.sc_coefs, l as f64);
            let b = self.sc_state[1].tick(&self.sc_coefs, r as f64);
            let k = a.abs().max(b.abs());
            if k < 1e-20 {
                // Silence: keep the filter state out of the denormal range (per frame, so block-invariant).
                self.sc_state[0].flush();
                self.sc_state[1].flush();
            }
            k as f32
        } else {
            l.abs().max(r.abs())
        }
    }

    /// Advances the detector one frame and returns the linear gain. The steady path
    /// ([`Compressor::run_steady`]) computes exactly the same values in passes over a chunk of frames.
    #[inline(always)]
    fn tick_gain(&mut self, l: f32, r: f32) -> f32 {
        if !self.params_settled() {
            self.threshold_db.tick();
            self.inv_ratio.tick();
            self.knee_db.tick();
            self.makeup_db.tick();
            self.update_derived();
        }
        let key = self.key(l, r);
        let xl = target_gr_db(
            key,
            self.knee_floor_lin,
            self.threshold_db.value(),
            self.inv_ratio.value(),
            self.knee_db.value(),
        );
        self.yl_db = smooth_gr_db(self.yl_db, xl, self.attack_coef, self.release_coef);
        gain_of(self.yl_db, self.makeup_db.value(), self.makeup_lin)
    }

    /// Fully on, parameters at rest: the frames of `left`/`right` (at most [`CHUNK`]) in passes — key, gain
    /// computer (with the polynomial log2, vectorized over frames), the ballistics recurrence, the gain
    /// (polynomial exp2, vectorized) and its application. Returns the largest gain reduction in dB.
    fn run_steady(&mut self, left: &mut [f32], right: &mut [f32]) -> f64 {
        let n = left.len().min(right.len()).min(CHUNK);
        let (left, right) = (&mut left[..n], &mut right[..n]);
        let mut buf = [0f32; CHUNK];
        let buf = &mut buf[..n];
        if self.sc_enabled {
            for ((k, &l), &r) in buf.iter_mut().zip(left.iter()).zip(right.iter()) {
                *k = self.key(l, r);
            }
        } else {
            for ((k, &l), &r) in buf.iter_mut().zip(left.iter()).zip(right.iter()) {
                *k = l.abs().max(r.abs());
            }
        }
        let (floor, t, ir, kn) = (
            self.knee_floor_lin,
            self.threshold_db.value(),
            self.inv_ratio.value(),
            self.knee_db.value(),
        );
        for x in buf.iter_mut() {
            *x = target_gr_db(*x, floor, t, ir, kn);
        }
        let (aa, ar) = (self.attack_coef, self.release_coef);
        let mut y = self.yl_db;
        let mut yl = [0f64; CHUNK];
        let yl = &mut yl[..n];
        let mut max_gr = 0f64;
        for (o, &x) in yl.iter_mut().zip(buf.iter()) {
            y = smooth_gr_db(y, x, aa, ar);
            max_gr = max_gr.max(y);
            *o = y;
        }
        self.yl_db = y;
        let (mk_db, mk_lin) = (self.makeup_db.value(), self.makeup_lin);
        for (g, &y) in buf.iter_mut().zip(yl.iter()) {
            *g = gain_of(y, mk_db, mk_lin);
        }
        for ((l, r), &g) in left.iter_mut().zip(right.iter_mut()).zip(buf.iter()) {
            *l *= g;
            *r *= g;
        }
        max_gr
    }
}

/// Frames per pass of [`Compressor::run_steady`] (stack buffers).
const CHUNK: usize = 64;

/// The gain computer's target reduction in dB for a key level (linear): 0 at or below the knee's floor.
#[inline(always)]
fn target_gr_db(key: f32, floor_lin: f32, t_db: f32, inv_ratio: f32, knee_db: f32) -> f32 {
    let xg = 6.020_6 * fast_log2(key.max(1e-10)); // 20·log10(key)
    let gr = gain_reduction_curve_db(xg, t_db, inv_ratio, knee_db);
    if key <= floor_lin {
        0.0
    } else {
        gr
    }
}

/// The branching peak detector `yl ← xl + α·(yl − xl)` (α: attack while the target rises above it, release
/// otherwise); values under 1e-9 dB snap to 0 (which also keeps it out of the denormal range).
#[inline(always)]
fn smooth_gr_db(yl: f64, xl: f32, attack_coef: f64, release_coef: f64) -> f64 {
    let xl = xl as f64;
    let a = if xl > yl { attack_coef } else { release_coef };
    let y = xl + a * (yl - xl);
    if y < 1e-9 {
        0.0
    } else {
        y
    }
}

/// Output gain for a smoothed reduction: `10^((makeup − yl)/20)`, or the makeup alone when there is none.
#[inline(always)]
fn gain_of(yl: f64, makeup_db: f32, makeup_lin: f32) -> f32 {
    let g = fast_exp2((makeup_db - yl as f32) * 0.166_096_4); // log2(10)/20
    if yl == 0.0 {
        makeup_lin
    } else {
        g
    }
}

impl StereoProcessor for Compressor {
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
        let mut max_gr = 0.0f64;
        if self.bypass.is_fully_on() {
            let mut i = 0;
            while i < n {
                if self.params_settled() {
                    let end = n.min(i + CHUNK);
                    max_gr = max_gr.max(self.run_steady(&mut left[i..end], &mut right[i..end]));
                    i = end;
                } else {
                    let g = self.tick_gain(left[i], right[i]);
                    max_gr = max_gr.max(self.yl_db);
                    left[i] *= g;
                    right[i] *= g;
                    i += 1;
                }
            }
        } else {
            for i in 0..n {
                if self.bypass.is_off() {
                    self.go_idle();
                    break;
                }
                let g = self.tick_gain(left[i], right[i]);
                max_gr = max_gr.max(self.yl_db);
                let m = self.bypass.tick();
                let w = if m == 1.0 { g } else { 1.0 + m * (g - 1.0) };
                left[i] *= w;
                right[i] *= w;
            }
        }
        self.block_max_gr_db = max_gr as f32;
    }
}
