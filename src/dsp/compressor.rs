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
use super::util::{db_to_gain, flush_denormal, time_constant_coef};
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

    /// Advances the detector one frame and returns the linear gain.
    #[inline(always)]
    fn tick_gain(&mut self, l: f32, r: f32) -> f32 {
        let ramping = !(self.threshold_db.is_settled()
            && self.inv_ratio.is_settled()
            && self.knee_db.is_settled()
            && self.makeup_db.is_settled());
        if ramping {
            self.threshold_db.tick();
            self.inv_ratio.tick();
            self.knee_db.tick();
            self.makeup_db.tick();
            self.update_derived();
        }
        let key = if self.sc_enabled {
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
        };
        let xl = if key <= self.knee_floor_lin {
            0.0
        } else {
            let xg = super::util::gain_to_db(key);
            gain_reduction_curve_db(
                xg,
                self.threshold_db.value(),
                self.inv_ratio.value(),
                self.knee_db.value(),
            )
        } as f64;
        if xl != self.yl_db {
            let a = if xl > self.yl_db {
                self.attack_coef
            } else {
                self.release_coef
            };
            self.yl_db = flush_denormal(xl + a * (self.yl_db - xl));
            if self.yl_db < 1e-9 {
                self.yl_db = 0.0;
            }
        }
        if self.yl_db == 0.0 {
            self.makeup_lin
        } else {
            db_to_gain(self.makeup_db.value() - self.yl_db as f32)
        }
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
            for (l, r) in left[..n].iter_mut().zip(right[..n].iter_mut()) {
                let g = self.tick_gain(*l, *r);
                max_gr = max_gr.max(self.yl_db);
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
