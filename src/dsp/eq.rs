//! Runs on the audio thread: 4-band parametric EQ (low shelf, two peaking bells, high shelf) built from Simper
//! SVF sections (see [`super::svf`] for why), with per-sample smoothed frequency, gain and Q.
//!
//! A band switched off ramps its gain to 0 dB (where every band type is exactly the identity) and is then
//! skipped, so band on/off is click-free too.

use super::smoother::crossfade;
use super::smoother::{Bypass, Smoother, PARAM_RAMP_MS};
use super::svf::{tick_stereo_in, Chain, ChainMode, Flavoured, Madd, SvfCoefs, SvfKind, SvfState};
use super::StereoProcessor;

/// Number of EQ bands.
pub const BANDS: usize = 4;

/// Band types, in order: low shelf, bell, bell, high shelf.
pub const BAND_KINDS: [SvfKind; BANDS] = [
    SvfKind::LowShelf,
    SvfKind::Bell,
    SvfKind::Bell,
    SvfKind::HighShelf,
];

const DEFAULT_FREQ_HZ: [f32; BANDS] = [100.0, 400.0, 2_500.0, 8_000.0];
const DEFAULT_Q: [f32; BANDS] = [0.707, 1.0, 1.0, 0.707];
const FLUSH_EVERY: u64 = 1024;

struct Band {
    kind: SvfKind,
    on: bool,
    gain_db: f32,
    log2_freq: Smoother,
    /// Effective gain: the set gain while on, 0 dB while off.
    gain: Smoother,
    q: Smoother,
    coefs: SvfCoefs,
    st: [SvfState; 2],
}

impl Band {
    fn settled(&self) -> bool {
        self.log2_freq.is_settled() && self.gain.is_settled() && self.q.is_settled()
    }

    /// Off and at 0 dB: the band is the identity and can be skipped.
    fn idle(&self) -> bool {
        !self.on && self.settled()
    }

    fn update(&mut self, fs: f64) {
        self.coefs = SvfCoefs::new(
            self.kind,
            fs,
            self.log2_freq.value().exp2() as f64,
            self.q.value() as f64,
            self.gain.value() as f64,
        );
    }

    fn snap(&mut self, fs: f64) {
        self.log2_freq.snap_to_target();
        self.gain.snap_to_target();
        self.q.snap_to_target();
        self.update(fs);
    }
}

/// Stereo 4-band parametric EQ.
pub struct Eq4 {
    fs: f64,
    bypass: Bypass,
    fresh: bool,
    /// State cleared after a completed fade-out (nothing to do until re-enabled).
    idle: bool,
    bands: [Band; BANDS],
    counter: u64,
}

impl Eq4 {
    /// New EQ: disabled, every band off at 0 dB (100 Hz shelf, 400 Hz and 2.5 kHz bells, 8 kHz shelf).
    pub fn new(sample_rate_hz: f32) -> Self {
        let fs = sample_rate_hz as f64;
        let bands = std::array::from_fn(|b| {
            let mut band = Band {
                kind: BAND_KINDS[b],
                on: false,
                gain_db: 0.0,
                log2_freq: Smoother::linear(
                    sample_rate_hz,
                    PARAM_RAMP_MS,
                    DEFAULT_FREQ_HZ[b].log2(),
                ),
                gain: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 0.0),
                q: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, DEFAULT_Q[b]),
                coefs: SvfCoefs::IDENTITY,
                st: [SvfState::default(); 2],
            };
            band.update(fs);
            band
        });
        Eq4 {
            fs,
            bypass: Bypass::new(sample_rate_hz),
            fresh: true,
            idle: true,
            bands,
            counter: 0,
        }
    }

    fn immediate(&self) -> bool {
        self.fresh || self.bypass.is_off()
    }

    fn after_set(&mut self, band: usize) {
        if self.immediate() {
            let fs = self.fs;
            self.bands[band].snap(fs);
        }
    }

    /// Switches one band (0..4) on or off; out-of-range bands are ignored.
    pub fn set_band_enabled(&mut self, band: usize, on: bool) {
        let imm = self.immediate();
        if let Some(b) = self.bands.get_mut(band) {
            b.on = on;
            b.gain.set(if on { b.gain_db } else { 0.0 }, imm);
            self.after_set(band);
        }
    }

    /// Sets a band's centre/corner frequency (clamped to 10 Hz … 0.49·fs).
    pub fn set_band_freq_hz(&mut self, band: usize, freq_hz: f32) {
        let imm = self.immediate();
        let f = freq_hz.clamp(10.0, 0.49 * self.fs as f32);
        if let Some(b) = self.bands.get_mut(band) {
            b.log2_freq.set(f.log2(), imm);
            self.after_set(band);
        }
    }

    /// Sets a band's gain in dB (clamped to ±30 dB).
    pub fn set_band_gain_db(&mut self, band: usize, gain_db: f32) {
        let imm = self.immediate();
        if let Some(b) = self.bands.get_mut(band) {
            b.gain_db = gain_db.clamp(-30.0, 30.0);
            if b.on {
                b.gain.set(b.gain_db, imm);
            }
            self.after_set(band);
        }
    }

    /// Sets a band's Q (clamped to 0.1 … 20; for the shelves 0.707 is the no-overshoot RBJ slope S = 1).
    pub fn set_band_q(&mut self, band: usize, q: f32) {
        let imm = self.immediate();
        if let Some(b) = self.bands.get_mut(band) {
            b.q.set(q.clamp(0.1, 20.0), imm);
            self.after_set(band);
        }
    }

    fn steady(&self) -> bool {
        self.bypass.is_fully_on() && self.bands.iter().all(|b| b.settled())
    }

    /// Where the EQ stands for a combined steady run (see [`Chain`]).
    pub fn chain_mode(&self) -> ChainMode {
        if self.bypass.is_off() {
            ChainMode::Off
        } else if self.steady() {
            ChainMode::Steady
        } else {
            ChainMode::Moving
        }
    }

    /// Longest steady run from here: up to the next denormal flush point.
    pub fn chain_frames(&self) -> usize {
        (FLUSH_EVERY - self.counter % FLUSH_EVERY) as usize
    }

    /// Appends the active bands of this (steady) EQ to `ch`.
    pub fn chain_push(&self, ch: &mut Chain) {
        let mut any = false;
        for b in self.bands.iter().filter(|b| !b.idle()) {
            ch.push(b.coefs, b.st);
            any = true;
        }
        if any {
            ch.end_processor();
        }
    }

    /// Takes the states back from `ch` at section `at` after a run of `frames`, as [`StereoProcessor::process`]
    /// would leave them; returns the index after the EQ's sections.
    pub fn chain_pull(&mut self, ch: &Chain, mut at: usize, frames: usize) -> usize {
        self.fresh = false;
        self.idle = false;
        for b in self.bands.iter_mut().filter(|b| !b.idle()) {
            b.st = ch.st[at];
            at += 1;
        }
        self.counter += frames as u64;
        if self.counter.is_multiple_of(FLUSH_EVERY) {
            for b in &mut self.bands {
                b.st[0].flush();
                b.st[1].flush();
            }
        }
        at
    }

    fn go_idle(&mut self) {
        let fs = self.fs;
        for b in &mut self.bands {
            b.st = [SvfState::default(); 2];
            b.snap(fs);
        }
        self.idle = true;
    }
}

/// The first `K` bands of `coefs`/`st` over a block, all bands per frame. `K` is a constant so that the band
/// states live in registers across frames (with a run-time count they went through memory every frame, whose
/// store-to-load latency sat on the filters' recurrence). Same operations in the same order as band after
/// band per frame, so the same result.
/// The active bands frame by frame, both channels in SSE2 lanes (bit-identical to the scalar loop below).
///
/// # Safety
/// For the fused flavour, the caller is compiled with FMA enabled.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn run_bands<M: Madd, const K: usize>(
    coefs: &[SvfCoefs; BANDS],
    st: &mut [[SvfState; 2]; BANDS],
    left: &mut [f32],
    right: &mut [f32],
) {
    use super::svf::stereo::{frame_in, frame_out, Coefs2, State2};
    let c: [Coefs2; K] = std::array::from_fn(|b| Coefs2::new(&coefs[b]));
    let mut s: [State2; K] = std::array::from_fn(|b| State2::load(&st[b]));
    for (l, r) in left.iter_mut().zip(right.iter_mut()) {
        let mut x = frame_in(*l, *r);
        for b in 0..K {
            x = s[b].tick_in::<M>(&c[b], x);
        }
        (*l, *r) = frame_out(x);
    }
    for b in 0..K {
        s[b].store(&mut st[b]);
    }
}

/// The active bands frame by frame with scalar f64 arithmetic (the reference for the SSE2 loop).
#[inline(always)]
fn run_bands_scalar<M: Madd, const K: usize>(
    coefs: &[SvfCoefs; BANDS],
    st: &mut [[SvfState; 2]; BANDS],
    left: &mut [f32],
    right: &mut [f32],
) {
    let c: [SvfCoefs; K] = std::array::from_fn(|b| coefs[b]);
    let mut s: [[SvfState; 2]; K] = std::array::from_fn(|b| st[b]);
    for (l, r) in left.iter_mut().zip(right.iter_mut()) {
        let mut x = [*l as f64, *r as f64];
        for b in 0..K {
            x = tick_stereo_in::<M>(&mut s[b], &c[b], x);
        }
        *l = x[0] as f32;
        *r = x[1] as f32;
    }
    st[..K].copy_from_slice(&s);
}

impl StereoProcessor for Eq4 {
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
        self.counter = 0;
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_as(super::svf::fused(), left, right)
    }
}

impl Eq4 {
    /// [`StereoProcessor::process`] in the fused flavour when `fused`, else the plain one (for tests; see
    /// [`super::svf::process_as`]).
    pub fn process_as(&mut self, fused: bool, left: &mut [f32], right: &mut [f32]) {
        super::svf::process_as(self, fused, left, right)
    }
}

impl Flavoured for Eq4 {
    /// The processing in SVF flavour `M` (the process's flavour is picked in [`StereoProcessor::process`]).
    #[inline(always)]
    fn process_in<M: Madd>(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
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
        let mut i = 0;
        while i < n {
            if self.bypass.is_off() {
                self.go_idle();
                return;
            }
            let steady = self.steady();
            let end = if steady {
                n.min(i + (FLUSH_EVERY - self.counter % FLUSH_EVERY) as usize)
            } else {
                i + 1
            };
            if steady {
                // All active bands per frame (not band after band over the block): the bands' state
                // recurrences are independent, so interleaving them keeps the FPU busy instead of waiting on
                // one recurrence's latency. Same operations in the same order per band, so same result.
                let mut coefs = [SvfCoefs::IDENTITY; BANDS];
                let mut st = [[SvfState::default(); 2]; BANDS];
                let mut active = [0usize; BANDS];
                let mut k = 0;
                for (bi, b) in self.bands.iter().enumerate() {
                    if !b.idle() {
                        coefs[k] = b.coefs;
                        st[k] = b.st;
                        active[k] = bi;
                        k += 1;
                    }
                }
                let (l, r) = (&mut left[i..end], &mut right[i..end]);
                let lanes = super::svf::stereo_lanes::<M>();
                #[cfg(target_arch = "x86_64")]
                if lanes {
                    // SAFETY: plain, or fused inside the FMA build (see `stereo_lanes`).
                    unsafe {
                        match k {
                            1 => run_bands::<M, 1>(&coefs, &mut st, l, r),
                            2 => run_bands::<M, 2>(&coefs, &mut st, l, r),
                            3 => run_bands::<M, 3>(&coefs, &mut st, l, r),
                            4 => run_bands::<M, 4>(&coefs, &mut st, l, r),
                            _ => {}
                        }
                    }
                }
                if !lanes {
                    match k {
                        1 => run_bands_scalar::<M, 1>(&coefs, &mut st, l, r),
                        2 => run_bands_scalar::<M, 2>(&coefs, &mut st, l, r),
                        3 => run_bands_scalar::<M, 3>(&coefs, &mut st, l, r),
                        4 => run_bands_scalar::<M, 4>(&coefs, &mut st, l, r),
                        _ => {}
                    }
                }
                for (s, &bi) in st[..k].iter().zip(&active[..k]) {
                    self.bands[bi].st = *s;
                }
            } else {
                let fs = self.fs;
                let (dl, dr) = (left[i], right[i]);
                let (mut wl, mut wr) = (dl as f64, dr as f64);
                for b in self.bands.iter_mut() {
                    if !b.settled() {
                        b.log2_freq.tick();
                        b.gain.tick();
                        b.q.tick();
                        b.update(fs);
                        if b.idle() {
                            // Just reached 0 dB while off: this sample is already the identity.
                            b.st = [SvfState::default(); 2];
                            continue;
                        }
                    } else if b.idle() {
                        continue;
                    }
                    wl = b.st[0].tick_in::<M>(&b.coefs, wl);
                    wr = b.st[1].tick_in::<M>(&b.coefs, wr);
                }
                let m = self.bypass.tick();
                (left[i], right[i]) = crossfade(m, dl, dr, wl as f32, wr as f32);
            }
            self.counter += (end - i) as u64;
            i = end;
            if self.counter.is_multiple_of(FLUSH_EVERY) {
                for b in &mut self.bands {
                    b.st[0].flush();
                    b.st[1].flush();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::svf::{Fused, Plain};

    use crate::dsp::test_noise as noise;

    /// The SSE2 band loop in the fused flavour, compiled with FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "fma")]
    unsafe fn run_bands_fma<const K: usize>(
        c: &[SvfCoefs; BANDS],
        st: &mut [[SvfState; 2]; BANDS],
        l: &mut [f32],
        r: &mut [f32],
    ) {
        run_bands::<Fused, K>(c, st, l, r)
    }

    /// The band loop against scalar ticks, in both flavours (the fused SIMD loop where the CPU has FMA);
    /// returns the two flavours' left outputs and final states.
    type Run = (Vec<f32>, [[SvfState; 2]; BANDS]);
    fn check<const K: usize>(coefs: &[SvfCoefs; BANDS], seed: u32) -> [Run; 2] {
        let (l0, r0) = (noise(seed, 5_000, 0.9), noise(seed + 7, 5_000, 0.3));
        let mut outs: [Run; 2] = Default::default();
        for fused in [false, true] {
            let (mut l1, mut r1) = (l0.clone(), r0.clone());
            let (mut l2, mut r2) = (l0.clone(), r0.clone());
            let mut st1 = [[SvfState::default(); 2]; BANDS];
            let mut st2 = st1;
            // in two runs, so the state handover between runs is covered too
            for (a, b) in [(0, 1_234), (1_234, 5_000)] {
                let (x1, y1) = (&mut l1[a..b], &mut r1[a..b]);
                let (x2, y2) = (&mut l2[a..b], &mut r2[a..b]);
                if fused {
                    #[cfg(target_arch = "x86_64")]
                    if crate::dsp::svf::fused() {
                        // SAFETY: the CPU has FMA.
                        unsafe { run_bands_fma::<K>(coefs, &mut st1, x1, y1) };
                    } else {
                        run_bands_scalar::<Fused, K>(coefs, &mut st1, x1, y1);
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    run_bands_scalar::<Fused, K>(coefs, &mut st1, x1, y1);
                } else {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: plain flavour, SSE2 only.
                    unsafe {
                        run_bands::<Plain, K>(coefs, &mut st1, x1, y1)
                    };
                    #[cfg(not(target_arch = "x86_64"))]
                    run_bands_scalar::<Plain, K>(coefs, &mut st1, x1, y1);
                }
                // the reference: one scalar tick per band, channel and frame
                for (l, r) in x2.iter_mut().zip(y2.iter_mut()) {
                    let (mut wl, mut wr) = (*l as f64, *r as f64);
                    for (c, s) in coefs.iter().zip(st2.iter_mut()).take(K) {
                        wl = s[0].tick_as(fused, c, wl);
                        wr = s[1].tick_as(fused, c, wr);
                    }
                    (*l, *r) = (wl as f32, wr as f32);
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&l1), bits(&l2), "left, {K} bands, fused {fused}");
            assert_eq!(bits(&r1), bits(&r2), "right, {K} bands, fused {fused}");
            assert_eq!(st1, st2, "state, {K} bands, fused {fused}");
            assert_ne!(bits(&l1), bits(&l0), "the bands did nothing");
            outs[fused as usize] = (l1, st1);
        }
        outs
    }

    #[test]
    fn band_loop_is_bit_identical_to_scalar_svf_ticks() {
        let fs = 48_000.0;
        let sets = [
            [
                (100.0, 0.7, 6.0),
                (400.0, 1.5, -9.0),
                (2_500.0, 4.0, 3.0),
                (8_000.0, 0.7, -4.0),
            ],
            [
                (35.0, 0.3, -12.0),
                (1_000.0, 12.0, 15.0),
                (9_000.0, 0.5, -20.0),
                (20_000.0, 2.0, 9.0),
            ],
        ];
        for (i, set) in sets.iter().enumerate() {
            let coefs: [SvfCoefs; BANDS] = std::array::from_fn(|b| {
                let (f, q, g) = set[b];
                SvfCoefs::new(BAND_KINDS[b], fs, f, q, g)
            });
            let seed = 1 + i as u32;
            check::<1>(&coefs, seed);
            check::<2>(&coefs, seed);
            check::<3>(&coefs, seed);
            let [(plain, plain_st), (fused, fused_st)] = check::<4>(&coefs, seed);
            // The flavours round differently (so the comparisons above can tell them apart: the f64 states
            // differ), by far less than anything audible: within 1e-5 of full scale (−100 dBFS) on every
            // sample.
            assert!(
                plain_st != fused_st,
                "set {i}: the flavours gave the same states"
            );
            let worst = plain
                .iter()
                .zip(&fused)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-5, "set {i}: flavours differ by {worst}");
        }
    }
}
