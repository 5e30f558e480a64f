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
//!
//! Speed: the level's `log2` and the gain's `exp2` are polynomials ([`super::util::fast_log2`],
//! [`super::util::fast_exp2`]: errors below 1e-5 dB), written lane-wise. While the parameters rest, a block
//! runs in chunks of 64 frames as passes — keys and gain computer (vectorized over frames), the ballistics
//! recurrence (the only serial part), gains and their application (vectorized) — with exactly the per-frame
//! operations of the ramping path, so the result does not depend on where a ramp or a block ends. Offline,
//! [`Compressor::process_pair`] interleaves two tracks' recurrences so their latencies overlap.

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
    /// The knee's curvature `(1 − 1/R) / (2W)` (0 without a knee), so the per-frame curve multiplies instead
    /// of dividing.
    knee_scale: f32,
    attack_coef: f64,
    release_coef: f64,
    yl_db: f64,
    sc_enabled: bool,
    sc_coefs: SvfCoefs,
    sc_state: [SvfState; 2],
    block_max_gr_db: f32,
    /// The CPU has AVX2 (the steady passes use it; same results).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2: bool,
    /// The steady passes use AVX-512F (16 frames per instruction; same results): see
    /// [`Compressor::set_avx512`].
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx512: bool,
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
            knee_scale: 0.0,
            attack_coef: 0.0,
            release_coef: 0.0,
            yl_db: 0.0,
            sc_enabled: false,
            sc_coefs: SvfCoefs::IDENTITY,
            sc_state: [SvfState::default(); 2],
            block_max_gr_db: 0.0,
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            avx2: false,
            avx512: false,
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
        let knee_db = self.knee_db.value();
        self.knee_scale = if knee_db > 0.0 {
            (1.0 - self.inv_ratio.value()) / (2.0 * knee_db)
        } else {
            0.0
        };
        self.makeup_lin = db_to_gain(self.makeup_db.value());
    }

    fn set_param(&mut self, which: fn(&mut Self) -> &mut Smoother, v: f32) {
        let imm = self.immediate();
        which(self).set(v, imm);
        if imm {
            self.update_derived();
        }
    }

    /// Lets the steady passes use AVX-512 where the CPU has it (the same bits). Off by default, as for the
    /// reverb ([`super::reverb::Reverb::set_avx512`]): the offline render turns it on.
    pub fn set_avx512(&mut self, on: bool) {
        #[cfg(target_arch = "x86_64")]
        {
            self.avx512 = on && std::arch::is_x86_feature_detected!("avx512f");
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = on;
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
            self.knee_scale,
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
        self.steady_targets(left, right, buf);
        let mut yl = [0f64; CHUNK];
        let yl = &mut yl[..n];
        let (y, max_gr) = smooth_run(self.yl_db, buf, yl, self.attack_coef, self.release_coef);
        self.yl_db = y;
        self.steady_apply(yl, buf, left, right);
        max_gr
    }

    /// Steady pass 1: the key and the gain computer's target reduction per frame into `buf`.
    #[inline(always)]
    fn steady_targets(&mut self, left: &[f32], right: &[f32], buf: &mut [f32]) {
        // without the side-chain filter, the key max(|L|, |R|) in the same vectorized pass as the gain computer
        let stereo = if self.sc_enabled {
            for ((k, &l), &r) in buf.iter_mut().zip(left.iter()).zip(right.iter()) {
                *k = self.key(l, r);
            }
            None
        } else {
            Some((left, right))
        };
        let p = (
            self.knee_floor_lin,
            self.threshold_db.value(),
            self.inv_ratio.value(),
            self.knee_db.value(),
            self.knee_scale,
        );
        #[cfg(target_arch = "x86_64")]
        if self.avx512 {
            // SAFETY: AVX-512F was detected in `new`.
            unsafe { targets_avx512(stereo, buf, p) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: AVX2 was detected in `new`.
            unsafe { targets_avx2(stereo, buf, p) };
            return;
        }
        targets(stereo, buf, p);
    }

    /// Steady pass 3: the output gain per frame (into `buf`) and its application.
    #[inline(always)]
    fn steady_apply(&self, yl: &[f64], buf: &mut [f32], left: &mut [f32], right: &mut [f32]) {
        let mk = (self.makeup_db.value(), self.makeup_lin);
        #[cfg(target_arch = "x86_64")]
        if self.avx512 {
            // SAFETY: AVX-512F was detected in `new`.
            unsafe { gains_avx512(yl, buf, mk, left, right) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: AVX2 was detected in `new`.
            unsafe { gains_avx2(yl, buf, mk, left, right) };
            return;
        }
        gains(yl, buf, mk, left, right);
    }

    /// Both fully on with parameters at rest over a whole block.
    fn pair_ready(&self) -> bool {
        self.bypass.is_fully_on() && self.params_settled()
    }

    /// Two compressors (two tracks' strips) over blocks of the same length: as [`StereoProcessor::process`] on
    /// each, with the two ballistics recurrences interleaved in one loop so the processor overlaps their
    /// latencies. Bit-identical to processing each alone.
    pub fn process_pair(
        a: &mut Compressor,
        b: &mut Compressor,
        (la, ra): (&mut [f32], &mut [f32]),
        (lb, rb): (&mut [f32], &mut [f32]),
    ) {
        let n = la.len();
        if n == 0 || [ra.len(), lb.len(), rb.len()] != [n; 3] || !a.pair_ready() || !b.pair_ready()
        {
            a.process(la, ra);
            b.process(lb, rb);
            return;
        }
        for c in [&mut *a, &mut *b] {
            c.fresh = false;
            c.idle = false;
        }
        let (mut max_a, mut max_b) = (0f64, 0f64);
        let mut i = 0;
        while i < n {
            let end = n.min(i + CHUNK);
            let m = end - i;
            let (mut ba, mut bb) = ([0f32; CHUNK], [0f32; CHUNK]);
            let (ba, bb) = (&mut ba[..m], &mut bb[..m]);
            a.steady_targets(&la[i..end], &ra[i..end], ba);
            b.steady_targets(&lb[i..end], &rb[i..end], bb);
            let (mut ya, mut yb) = ([0f64; CHUNK], [0f64; CHUNK]);
            let (ya, yb) = (&mut ya[..m], &mut yb[..m]);
            let (mut y0, mut y1) = (a.yl_db, b.yl_db);
            let (aa0, ar0, aa1, ar1) =
                (a.attack_coef, a.release_coef, b.attack_coef, b.release_coef);
            for j in 0..m {
                y0 = smooth_gr_db(y0, ba[j], aa0, ar0);
                y1 = smooth_gr_db(y1, bb[j], aa1, ar1);
                max_a = max_a.max(y0);
                max_b = max_b.max(y1);
                ya[j] = y0;
                yb[j] = y1;
            }
            (a.yl_db, b.yl_db) = (y0, y1);
            a.steady_apply(ya, ba, &mut la[i..end], &mut ra[i..end]);
            b.steady_apply(yb, bb, &mut lb[i..end], &mut rb[i..end]);
            i = end;
        }
        a.block_max_gr_db = max_a as f32;
        b.block_max_gr_db = max_b as f32;
    }
}

impl Compressor {
    /// Four compressors (four tracks' strips) over blocks of the same length: as [`StereoProcessor::process`]
    /// on each, with the four ballistics recurrences in one loop (in the lanes of one AVX register where the
    /// CPU has AVX2, else interleaved), so the processor overlaps their latencies. Bit-identical to processing
    /// each alone. When any is not fully on at rest, or the lengths differ, two [`Compressor::process_pair`].
    pub fn process_quad(mut c: [&mut Compressor; 4], mut io: [(&mut [f32], &mut [f32]); 4]) {
        let n = io[0].0.len();
        let ok = n > 0
            && io.iter().all(|(l, r)| l.len() == n && r.len() == n)
            && c.iter().all(|c| c.pair_ready());
        if !ok {
            let [a, b, x, y] = c;
            let [ia, ib, ix, iy] = io;
            Compressor::process_pair(a, b, ia, ib);
            Compressor::process_pair(x, y, ix, iy);
            return;
        }
        for c in c.iter_mut() {
            c.fresh = false;
            c.idle = false;
        }
        let attack = c.each_ref().map(|c| c.attack_coef);
        let release = c.each_ref().map(|c| c.release_coef);
        let mut y = c.each_ref().map(|c| c.yl_db);
        let mut max_gr = [0f64; 4];
        let mut i = 0;
        while i < n {
            let end = n.min(i + CHUNK);
            let m = end - i;
            let mut targets = [[0f32; CHUNK]; 4];
            for (k, (l, r)) in io.iter().enumerate() {
                c[k].steady_targets(&l[i..end], &r[i..end], &mut targets[k][..m]);
            }
            let mut yl = [[0f64; CHUNK]; 4];
            smooth_run4(
                &mut y,
                &targets,
                &mut yl,
                m,
                (attack, release),
                &mut max_gr,
                c[0].avx2,
            );
            for (k, (l, r)) in io.iter_mut().enumerate() {
                c[k].steady_apply(
                    &yl[k][..m],
                    &mut targets[k][..m],
                    &mut l[i..end],
                    &mut r[i..end],
                );
            }
            i = end;
        }
        for k in 0..4 {
            c[k].yl_db = y[k];
            c[k].block_max_gr_db = max_gr[k] as f32;
        }
    }
}

/// Four ballistics recurrences over the first `m` frames of their targets, lane by lane exactly
/// [`smooth_gr_db`]; `y` holds the running values, `max_gr` the largest per lane.
#[inline(always)]
fn smooth_run4(
    y: &mut [f64; 4],
    xl: &[[f32; CHUNK]; 4],
    yl: &mut [[f64; CHUNK]; 4],
    m: usize,
    (attack, release): ([f64; 4], [f64; 4]),
    max_gr: &mut [f64; 4],
    avx2: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: AVX2 (which implies AVX) was detected in `Compressor::new`.
        unsafe { smooth_run4_avx(y, xl, yl, m, (attack, release), max_gr) };
        return;
    }
    let _ = avx2;
    for j in 0..m {
        for k in 0..4 {
            y[k] = smooth_gr_db(y[k], xl[k][j], attack[k], release[k]);
            max_gr[k] = max_gr[k].max(y[k]);
            yl[k][j] = y[k];
        }
    }
}

/// [`smooth_run4`] with the four tracks in the lanes of one AVX register. Per lane the same IEEE operations as
/// [`smooth_gr_db`]: the attack/release choice `xl > y` (false for NaN, as the scalar comparison), `xl + α·(y −
/// xl)` unfused, and the snap of values under 1e-9 to +0. The values are never NaN (the targets are finite), so
/// the packed maximum equals `f64::max`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn smooth_run4_avx(
    y: &mut [f64; 4],
    xl: &[[f32; CHUNK]; 4],
    yl: &mut [[f64; CHUNK]; 4],
    m: usize,
    (attack, release): ([f64; 4], [f64; 4]),
    max_gr: &mut [f64; 4],
) {
    use core::arch::x86_64::*;
    let m = m.min(CHUNK);
    let att = _mm256_loadu_pd(attack.as_ptr());
    let rel = _mm256_loadu_pd(release.as_ptr());
    let snap = _mm256_set1_pd(1e-9);
    let mut yv = _mm256_loadu_pd(y.as_ptr());
    let mut mx = _mm256_loadu_pd(max_gr.as_ptr());
    for j in 0..m {
        let x = _mm256_cvtps_pd(_mm_set_ps(xl[3][j], xl[2][j], xl[1][j], xl[0][j]));
        let up = _mm256_cmp_pd::<_CMP_GT_OQ>(x, yv);
        let a = _mm256_blendv_pd(rel, att, up);
        let v = _mm256_add_pd(x, _mm256_mul_pd(a, _mm256_sub_pd(yv, x)));
        yv = _mm256_andnot_pd(_mm256_cmp_pd::<_CMP_LT_OQ>(v, snap), v);
        mx = _mm256_max_pd(mx, yv);
        let mut t = [0f64; 4];
        _mm256_storeu_pd(t.as_mut_ptr(), yv);
        yl[0][j] = t[0];
        yl[1][j] = t[1];
        yl[2][j] = t[2];
        yl[3][j] = t[3];
    }
    _mm256_storeu_pd(y.as_mut_ptr(), yv);
    _mm256_storeu_pd(max_gr.as_mut_ptr(), mx);
}

/// The ballistics over a chunk: `yl` per frame from the targets `xl`, starting at `y`; returns the last value
/// and the largest.
#[inline(always)]
fn smooth_run(mut y: f64, xl: &[f32], yl: &mut [f64], attack: f64, release: f64) -> (f64, f64) {
    let mut max_gr = 0f64;
    for (o, &x) in yl.iter_mut().zip(xl.iter()) {
        y = smooth_gr_db(y, x, attack, release);
        max_gr = max_gr.max(y);
        *o = y;
    }
    (y, max_gr)
}

/// The target reductions into `buf` for the keys `max(|L|, |R|)` of `stereo` when given, else for the keys
/// already in `buf`; loops over frames that auto-vectorize.
#[inline(always)]
fn targets(stereo: Option<(&[f32], &[f32])>, buf: &mut [f32], (floor, t, ir, kn, ks): Curve) {
    match stereo {
        Some((left, right)) => {
            for ((x, &l), &r) in buf.iter_mut().zip(left).zip(right) {
                *x = target_gr_db(l.abs().max(r.abs()), floor, t, ir, kn, ks);
            }
        }
        None => {
            for x in buf.iter_mut() {
                *x = target_gr_db(*x, floor, t, ir, kn, ks);
            }
        }
    }
}

/// Gains from the smoothed reductions, applied to both channels.
#[inline(always)]
fn gains(
    yl: &[f64],
    buf: &mut [f32],
    (mk_db, mk_lin): (f32, f32),
    left: &mut [f32],
    right: &mut [f32],
) {
    for (g, &y) in buf.iter_mut().zip(yl.iter()) {
        *g = gain_of(y, mk_db, mk_lin);
    }
    for ((l, r), &g) in left.iter_mut().zip(right.iter_mut()).zip(buf.iter()) {
        *l *= g;
        *r *= g;
    }
}

/// [`targets`] compiled for AVX2 (8 frames per instruction; the same operations per frame, so the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn targets_avx2(stereo: Option<(&[f32], &[f32])>, buf: &mut [f32], p: Curve) {
    targets(stereo, buf, p)
}

/// [`gains`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gains_avx2(
    yl: &[f64],
    buf: &mut [f32],
    mk: (f32, f32),
    left: &mut [f32],
    right: &mut [f32],
) {
    gains(yl, buf, mk, left, right)
}

/// [`targets`] compiled for AVX-512F (16 frames per instruction; the same operations per frame).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn targets_avx512(stereo: Option<(&[f32], &[f32])>, buf: &mut [f32], p: Curve) {
    targets(stereo, buf, p)
}

/// [`gains`] compiled for AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gains_avx512(
    yl: &[f64],
    buf: &mut [f32],
    mk: (f32, f32),
    left: &mut [f32],
    right: &mut [f32],
) {
    gains(yl, buf, mk, left, right)
}

/// The gain computer's settings for a pass: knee floor (linear), threshold (dB), 1/ratio, knee width (dB) and
/// knee curvature (see [`Compressor`]'s `knee_scale`).
type Curve = (f32, f32, f32, f32, f32);

/// Frames per pass of [`Compressor::run_steady`] (stack buffers).
const CHUNK: usize = 64;

/// The gain computer's target reduction in dB for a key level (linear): 0 at or below the knee's floor.
/// [`gain_reduction_curve_db`] with the knee's division replaced by the precomputed `knee_scale`.
#[inline(always)]
fn target_gr_db(
    key: f32,
    floor_lin: f32,
    t_db: f32,
    inv_ratio: f32,
    knee_db: f32,
    knee_scale: f32,
) -> f32 {
    let xg = 6.020_6 * fast_log2(key.max(1e-10)); // 20·log10(key)
    let over = xg - t_db;
    let gr = if 2.0 * over < -knee_db {
        0.0
    } else if knee_db > 0.0 && 2.0 * over.abs() <= knee_db {
        let u = over + 0.5 * knee_db;
        u * u * knee_scale
    } else {
        over * (1.0 - inv_ratio)
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(seed: u32, n: usize, amp: f32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(747_796_405).max(1);
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // bursts, so the detector both attacks and releases
                let env = if (i / 3_000) % 2 == 0 { 1.0 } else { 0.05 };
                env * amp * ((x as f32 / u32::MAX as f32) * 2.0 - 1.0)
            })
            .collect()
    }

    fn comp(threshold_db: f32, sidechain_hz: f32) -> Compressor {
        let mut c = Compressor::new(48_000.0);
        c.set_threshold_db(threshold_db);
        c.set_ratio(4.0);
        c.set_knee_db(6.0);
        c.set_makeup_db(3.0);
        c.set_attack_ms(2.0);
        c.set_release_ms(40.0);
        if sidechain_hz > 0.0 {
            c.set_sidechain_hpf_hz(sidechain_hz);
            c.set_sidechain_hpf(true);
        }
        c.set_enabled(true);
        c
    }

    /// The paired path (two compressors, interleaved ballistics) and the steady chunked path against
    /// frame-by-frame processing (blocks of one frame go through `tick_gain` only while the parameters ramp,
    /// so a threshold change mid-stream exercises the per-sample path too).
    #[test]
    fn pair_and_steady_paths_are_bit_identical_to_single_frames() {
        let n = 20_000;
        let (la, ra, lb, rb) = (
            noise(1, n, 0.9),
            noise(2, n, 0.7),
            noise(3, n, 0.5),
            noise(4, n, 0.8),
        );
        let (mut a1, mut b1) = (comp(-24.0, 0.0), comp(-30.0, 120.0));
        let (mut a2, mut b2) = (comp(-24.0, 0.0), comp(-30.0, 120.0));
        let (mut xa, mut ya, mut xb, mut yb) = (la.clone(), ra.clone(), lb.clone(), rb.clone());
        let (mut xa2, mut ya2, mut xb2, mut yb2) = (la.clone(), ra.clone(), lb.clone(), rb.clone());
        let mut grs = (Vec::new(), Vec::new());
        for (s, e) in [(0, 777), (777, 8_000), (8_000, 8_001), (8_001, 20_000)] {
            if s == 8_000 {
                for c in [&mut a1, &mut a2] {
                    c.set_threshold_db(-12.0); // ramps from here on
                }
            }
            Compressor::process_pair(
                &mut a1,
                &mut b1,
                (&mut xa[s..e], &mut ya[s..e]),
                (&mut xb[s..e], &mut yb[s..e]),
            );
            grs.0.push((a1.gain_reduction_db(), b1.gain_reduction_db()));
            let (mut ga, mut gb) = (0f32, 0f32);
            for i in s..e {
                a2.process(&mut xa2[i..i + 1], &mut ya2[i..i + 1]);
                b2.process(&mut xb2[i..i + 1], &mut yb2[i..i + 1]);
                ga = ga.max(a2.gain_reduction_db());
                gb = gb.max(b2.gain_reduction_db());
            }
            grs.1.push((ga, gb));
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&xa), bits(&xa2));
        assert_eq!(bits(&ya), bits(&ya2));
        assert_eq!(bits(&xb), bits(&xb2));
        assert_eq!(bits(&yb), bits(&yb2));
        assert_eq!(grs.0, grs.1, "gain reduction per block");
        assert!(
            grs.0.iter().all(|g| g.0 > 1.0 && g.1 > 1.0),
            "both compressed: {grs:?}"
        );
        assert_ne!(bits(&xa), bits(&la), "the compressor did nothing");
    }

    /// The four-track path, with the AVX lanes (where the CPU has them) and with the interleaved scalar
    /// recurrences, against frame-by-frame processing; a threshold change on one of the four mid-stream sends
    /// that block through the pairs and the per-sample path.
    #[test]
    fn quad_path_is_bit_identical_to_single_frames() {
        let n = 12_000;
        let mk = || {
            [
                comp(-24.0, 0.0),
                comp(-30.0, 120.0),
                comp(-18.0, 0.0),
                comp(-36.0, 0.0),
            ]
        };
        let sig: Vec<Vec<f32>> = (0..8)
            .map(|k| noise(20 + k, n, 0.3 + 0.08 * k as f32))
            .collect();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut single = mk();
        let mut want = sig.clone();
        let spans = [(0, 500), (500, 6_000), (6_000, 6_001), (6_001, n)];
        let mut want_gr = Vec::new();
        for &(s, e) in &spans {
            if s == 6_000 {
                single[2].set_threshold_db(-10.0);
            }
            let mut gr = [0f32; 4];
            for i in s..e {
                for (k, c) in single.iter_mut().enumerate() {
                    let (l, r) = want.split_at_mut(2 * k + 1);
                    c.process(&mut l[2 * k][i..i + 1], &mut r[0][i..i + 1]);
                    gr[k] = gr[k].max(c.gain_reduction_db());
                }
            }
            want_gr.push(gr);
        }
        // every variant this CPU has: AVX-512 passes, AVX2 passes, scalar
        for (vector, wide) in [(true, true), (true, false), (false, false)] {
            let mut quad = mk();
            for c in quad.iter_mut() {
                c.set_avx512(wide);
                c.avx2 &= vector;
            }
            let mut got = sig.clone();
            let mut got_gr = Vec::new();
            for &(s, e) in &spans {
                if s == 6_000 {
                    quad[2].set_threshold_db(-10.0);
                }
                let [a, b, c, d] = &mut quad;
                let mut it = got.iter_mut();
                let mut io = || (&mut it.next().unwrap()[s..e], &mut it.next().unwrap()[s..e]);
                Compressor::process_quad([a, b, c, d], [io(), io(), io(), io()]);
                got_gr.push(quad.each_ref().map(|c| c.gain_reduction_db()));
            }
            for k in 0..8 {
                assert_eq!(bits(&got[k]), bits(&want[k]), "buffer {k}, vector {vector}");
            }
            assert_eq!(got_gr, want_gr, "gain reduction per block, vector {vector}");
        }
        assert!(
            want_gr.iter().all(|g| g.iter().all(|&x| x > 1.0)),
            "all compressed: {want_gr:?}"
        );
        assert_ne!(bits(&want[0]), bits(&sig[0]), "the compressor did nothing");
    }
}
