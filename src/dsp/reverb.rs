//! Runs on the audio thread: stereo algorithmic reverb (100 % wet output): pre-delay, four series Schroeder
//! all-pass input diffusers, and a 16-line feedback delay network with an orthogonal Hadamard mixing matrix.
//!
//! Decay: each line `i` of length `m_i` frames carries a one-pole absorption filter
//! `H_i(z) = g_i·(1 − b_i)/(1 − b_i z⁻¹)` (Jot & Chaigne) whose DC gain `g_i = 10^(−3·m_i/(fs·T60))` makes every
//! low-frequency mode decay by 60 dB in `T60` and whose Nyquist gain corresponds to `T60·(1 − 0.9·damping)`, so
//! damping shortens the high-frequency decay down to a tenth. The matrix is lossless (Hadamard / 4), so the
//! decay is set by the absorption filters only. Line lengths are 16 distinct primes (23 … 67 ms at size 1, at
//! 48 kHz), scaled by `size` (0.5 … 2). The two outputs take the line outputs with two orthogonal sign patterns,
//! so they are decorrelated; `width` scales the side signal. Size and pre-delay glide over 100 ms with linear
//! interpolation while moving and are whole-sample reads at rest; decay, damping and width ramp per sample;
//! coefficients are recomputed every 16 frames of a ramp (counted per processor, not per block). Bypass fades
//! the output to silence and then clears the network.
//!
//! Cost: while anything glides, ramps or fades, frames run one at a time. At rest the network runs in chunks
//! of up to 128 frames (never longer than the shortest line, so every read of a chunk precedes its writes, and
//! never across a ring wrap): the pre-delay and the diffusers run over the chunk, the line reads are
//! transposed into a frame-major scratch, each frame does the 16 lines as `[f32; 16]` rows (SSE2 on x86_64),
//! and the results are transposed back into the lines. Both paths do the same f32 operations per frame in the
//! same order (`fdn_frame`; the output taps are summed as a fixed pairwise tree), so the output does not
//! depend on the block split.

use super::smoother::{Bypass, Smoother, PARAM_RAMP_MS};
use super::StereoProcessor;

const LINES: usize = 16;
/// Line lengths in frames at 48 kHz and size 1 (distinct primes).
const BASE_LEN_48K: [f32; LINES] = [
    1117.0, 1361.0, 1601.0, 1877.0, 2153.0, 2441.0, 2749.0, 3061.0, 1231.0, 1471.0, 1733.0, 2011.0,
    2293.0, 2593.0, 2903.0, 3221.0,
];
const DIFFUSER_LEN_48K: [f32; 4] = [229.0, 173.0, 613.0, 449.0];
const DIFFUSER_GAIN: [f32; 4] = [0.75, 0.75, 0.625, 0.625];
/// Largest `size`.
pub const MAX_SIZE: f32 = 2.0;
/// Smallest `size`.
pub const MIN_SIZE: f32 = 0.5;
/// Longest pre-delay in ms.
pub const MAX_PRE_DELAY_MS: f32 = 250.0;
const GLIDE_MS: f32 = 100.0;
const COEF_EVERY: u64 = 16;
/// Frames per chunk of the steady-state path (its scratch is `CHUNK × LINES` floats, allocated in `new`).
const CHUNK: usize = 128;

/// Injection signs (row 0 of a Hadamard-like pattern mixed with alternation) and output tap signs.
const IN_SIGN: [f32; LINES] = [
    1., -1., 1., 1., -1., 1., -1., -1., 1., 1., -1., 1., 1., -1., -1., 1.,
];
const OUT_L: [f32; LINES] = [
    1., 1., -1., 1., 1., -1., 1., -1., -1., 1., 1., 1., -1., -1., 1., -1.,
];
const OUT_R: [f32; LINES] = [
    1., -1., 1., 1., -1., -1., -1., 1., 1., 1., -1., 1., -1., 1., 1., -1.,
];

/// In-place fast Walsh–Hadamard transform of 16 values, scaled by 1/4 (orthonormal).
#[inline(always)]
fn hadamard16(v: &mut [f32; LINES]) {
    let mut h = 1;
    while h < LINES {
        let mut i = 0;
        while i < LINES {
            for j in i..i + h {
                let (a, b) = (v[j], v[j + h]);
                v[j] = a + b;
                v[j + h] = a - b;
            }
            i += 2 * h;
        }
        h *= 2;
    }
    for x in v.iter_mut() {
        *x *= 0.25;
    }
}

/// Sum of 16 values as a fixed pairwise tree (halves, quarters, …), which maps onto SIMD lanes.
#[inline(always)]
fn sum16(p: &[f32; LINES]) -> f32 {
    let mut h = [0f32; 8];
    for j in 0..8 {
        h[j] = p[j] + p[j + 8];
    }
    let mut q = [0f32; 4];
    for j in 0..4 {
        q[j] = h[j] + h[j + 4];
    }
    (q[0] + q[2]) + (q[1] + q[3])
}

/// Coefficients of the network for one frame (constant over a steady run).
#[derive(Clone, Copy)]
struct FdnCoefs {
    a: [f32; LINES],
    b: [f32; LINES],
    width: f32,
}

/// One frame of the network after the line reads, shared by the per-sample and the steady-state paths so both
/// give the same bits: `v` holds the raw line outputs on entry and the values to write into the lines on exit
/// (absorption filters, output taps, Hadamard mixing, injection of the diffused input `x`, denormal flush).
#[inline(always)]
fn fdn_frame(v: &mut [f32; LINES], x: f32, c: &FdnCoefs, lp: &mut [f32; LINES]) -> (f32, f32) {
    for i in 0..LINES {
        let y = c.a[i] * v[i] + c.b[i] * lp[i];
        lp[i] = y;
        v[i] = y;
    }
    let mut pl = [0f32; LINES];
    let mut pr = [0f32; LINES];
    for i in 0..LINES {
        pl[i] = OUT_L[i] * v[i];
        pr[i] = OUT_R[i] * v[i];
    }
    let ol = sum16(&pl);
    let or = sum16(&pr);
    hadamard16(v);
    let inj = 0.25 * x;
    for i in 0..LINES {
        let s = v[i] + IN_SIGN[i] * inj;
        v[i] = if s.abs() < 1e-20 { 0.0 } else { s };
    }
    let mid = 0.5 * (ol + or) * 0.5;
    let side = 0.5 * (ol - or) * 0.5 * c.width;
    (mid + side, mid - side)
}

/// The steady-state frame loop with SSE2 (x86_64, where SSE2 is the base ISA): the 16 lines as four rows of
/// four lanes in registers, with exactly [`fdn_frame`]'s f32 operations per lane and in its order (sign
/// flips are XORs of the sign bit, which equal the multiplications by ±1 exactly; the in-row Hadamard stages
/// use shuffles), so the results are bit-identical to the portable loop.
#[cfg(target_arch = "x86_64")]
mod sse {
    use super::{FdnCoefs, IN_SIGN, LINES, OUT_L, OUT_R};
    use core::arch::x86_64::*;

    /// Sign bits of `s[4·row ..]` (−0.0 where negative) as a XOR mask.
    #[inline(always)]
    fn sign_mask(s: &[f32; LINES], row: usize) -> __m128 {
        let m = |x: f32| if x < 0.0 { -0.0 } else { 0.0 };
        let r = &s[4 * row..4 * row + 4];
        // SAFETY: SSE2 is part of the x86_64 base ISA; register-only.
        unsafe { _mm_set_ps(m(r[3]), m(r[2]), m(r[1]), m(r[0])) }
    }

    #[inline(always)]
    fn load(a: &[f32], row: usize) -> __m128 {
        let r = &a[4 * row..4 * row + 4];
        // SAFETY: SSE2 is baseline; `r` holds four f32 (unaligned load).
        unsafe { _mm_loadu_ps(r.as_ptr()) }
    }

    #[inline(always)]
    fn store(a: &mut [f32], row: usize, v: __m128) {
        let r = &mut a[4 * row..4 * row + 4];
        // SAFETY: SSE2 is baseline; `r` holds four f32 (unaligned store).
        unsafe { _mm_storeu_ps(r.as_mut_ptr(), v) }
    }

    /// 4×4 transpose of `[a, b, c, d]` rows.
    #[inline(always)]
    fn transpose(r: [__m128; 4]) -> [__m128; 4] {
        // SAFETY: SSE2 is baseline; register-only.
        unsafe {
            let t0 = _mm_unpacklo_ps(r[0], r[1]);
            let t1 = _mm_unpacklo_ps(r[2], r[3]);
            let t2 = _mm_unpackhi_ps(r[0], r[1]);
            let t3 = _mm_unpackhi_ps(r[2], r[3]);
            [
                _mm_movelh_ps(t0, t1),
                _mm_movehl_ps(t1, t0),
                _mm_movelh_ps(t2, t3),
                _mm_movehl_ps(t3, t2),
            ]
        }
    }

    /// Copies four lines' reads (`src[j][k]`, each `sc.len()` long) into lanes `col..col + 4` of the
    /// frame-major scratch, four frames at a time through a register transpose.
    pub(super) fn gather4(sc: &mut [[f32; LINES]], col: usize, src: [&[f32]; 4]) {
        let n = sc.len();
        let mut k = 0;
        while k + 4 <= n {
            let o = transpose(std::array::from_fn(|j| load(&src[j][k..k + 4], 0)));
            for (m, om) in o.into_iter().enumerate() {
                store(&mut sc[k + m][col..col + 4], 0, om);
            }
            k += 4;
        }
        for (kk, f) in sc.iter_mut().enumerate().skip(k) {
            for j in 0..4 {
                f[col + j] = src[j][kk];
            }
        }
    }

    /// The inverse of [`gather4`]: lanes `col..col + 4` of the scratch into four lines' writes.
    pub(super) fn scatter4(sc: &[[f32; LINES]], col: usize, dst: [&mut [f32]; 4]) {
        let n = sc.len();
        let mut k = 0;
        while k + 4 <= n {
            let o = transpose(std::array::from_fn(|m| load(&sc[k + m][col..col + 4], 0)));
            for (j, oj) in o.into_iter().enumerate() {
                store(&mut dst[j][k..k + 4], 0, oj);
            }
            k += 4;
        }
        for (kk, f) in sc.iter().enumerate().skip(k) {
            for j in 0..4 {
                dst[j][kk] = f[col + j];
            }
        }
    }

    /// [`super::fdn_frame`] over every frame of `sc` (line reads in, line writes out), input `xb`, output into
    /// `left`/`right`.
    pub(super) fn run(
        sc: &mut [[f32; LINES]],
        xb: &[f32],
        left: &mut [f32],
        right: &mut [f32],
        c: &FdnCoefs,
        lp: &mut [f32; LINES],
    ) {
        let a: [__m128; 4] = std::array::from_fn(|q| load(&c.a, q));
        let b: [__m128; 4] = std::array::from_fn(|q| load(&c.b, q));
        let out_l: [__m128; 4] = std::array::from_fn(|q| sign_mask(&OUT_L, q));
        let out_r: [__m128; 4] = std::array::from_fn(|q| sign_mask(&OUT_R, q));
        let in_s: [__m128; 4] = std::array::from_fn(|q| sign_mask(&IN_SIGN, q));
        let mut s: [__m128; 4] = std::array::from_fn(|q| load(lp, q));
        let width = c.width;
        // SAFETY (whole block): SSE2 is part of the x86_64 base ISA; register-only operations (the loads and
        // stores go through `load`/`store` on bounds-checked slices).
        unsafe {
            let abs = _mm_castsi128_ps(_mm_set1_epi32(0x7fff_ffff));
            let tiny = _mm_set1_ps(1e-20);
            let quarter = _mm_set1_ps(0.25);
            let neg13 = _mm_set_ps(-0.0, 0.0, -0.0, 0.0);
            let neg23 = _mm_set_ps(-0.0, -0.0, 0.0, 0.0);
            let sum16 = |v: &[__m128; 4], m: &[__m128; 4]| -> f32 {
                let p: [__m128; 4] = std::array::from_fn(|q| _mm_xor_ps(v[q], m[q]));
                let q4 = _mm_add_ps(_mm_add_ps(p[0], p[2]), _mm_add_ps(p[1], p[3]));
                let t = _mm_add_ps(q4, _mm_movehl_ps(q4, q4));
                _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps::<0b01>(t, t)))
            };
            for (((f, x), l), r) in sc
                .iter_mut()
                .zip(xb.iter())
                .zip(left.iter_mut())
                .zip(right.iter_mut())
            {
                let mut v: [__m128; 4] = std::array::from_fn(|q| load(f, q));
                for q in 0..4 {
                    v[q] = _mm_add_ps(_mm_mul_ps(a[q], v[q]), _mm_mul_ps(b[q], s[q]));
                    s[q] = v[q];
                }
                let ol = sum16(&v, &out_l);
                let or = sum16(&v, &out_r);
                // Hadamard, stages h = 1, 2 (in rows), 4, 8 (across rows), as `hadamard16`
                for vq in v.iter_mut() {
                    let x = _mm_shuffle_ps::<0b10_10_00_00>(*vq, *vq);
                    let y = _mm_shuffle_ps::<0b11_11_01_01>(*vq, *vq);
                    *vq = _mm_add_ps(x, _mm_xor_ps(y, neg13));
                    let x = _mm_movelh_ps(*vq, *vq);
                    let y = _mm_movehl_ps(*vq, *vq);
                    *vq = _mm_add_ps(x, _mm_xor_ps(y, neg23));
                }
                for (i, j) in [(0, 1), (2, 3), (0, 2), (1, 3)] {
                    let (p, q) = (v[i], v[j]);
                    v[i] = _mm_add_ps(p, q);
                    v[j] = _mm_sub_ps(p, q);
                }
                let inj = _mm_set1_ps(0.25 * *x);
                for q in 0..4 {
                    let w = _mm_add_ps(_mm_mul_ps(v[q], quarter), _mm_xor_ps(inj, in_s[q]));
                    let small = _mm_cmplt_ps(_mm_and_ps(w, abs), tiny);
                    store(f, q, _mm_andnot_ps(small, w));
                }
                let mid = 0.5 * (ol + or) * 0.5;
                let side = 0.5 * (ol - or) * 0.5 * width;
                (*l, *r) = (mid + side, mid - side);
            }
        }
        for (q, &v) in s.iter().enumerate() {
            store(lp, q, v);
        }
    }
}

struct Diffuser {
    buf: Vec<f32>,
    pos: usize,
    gain: f32,
}

impl Diffuser {
    #[inline(always)]
    fn step(gain: f32, x: &mut f32, slot: &mut f32) {
        let d = *slot;
        let w = *x + gain * d;
        *x = d - gain * w;
        *slot = w;
    }

    #[inline(always)]
    fn tick(&mut self, mut x: f32) -> f32 {
        Self::step(self.gain, &mut x, &mut self.buf[self.pos]);
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        x
    }

    /// Runs a block in place; the same per-sample arithmetic as [`Diffuser::tick`], in runs up to the ring wrap
    /// (each slot is read before it is rewritten, so a run vectorizes over time).
    fn run(&mut self, mut x: &mut [f32]) {
        while !x.is_empty() {
            let n = x.len().min(self.buf.len() - self.pos);
            let (seg, rest) = x.split_at_mut(n);
            for (xi, slot) in seg.iter_mut().zip(&mut self.buf[self.pos..self.pos + n]) {
                Self::step(self.gain, xi, slot);
            }
            self.pos += n;
            if self.pos == self.buf.len() {
                self.pos = 0;
            }
            x = rest;
        }
    }
}

/// Stereo FDN reverb.
pub struct Reverb {
    fs: f32,
    bypass: Bypass,
    fresh: bool,
    lines: Vec<f32>,
    line_mask: usize,
    write: usize,
    base_len: [f32; LINES],
    len: [Smoother; LINES],
    coef_a: [f32; LINES],
    coef_b: [f32; LINES],
    lp_state: [f32; LINES],
    diffusers: [Diffuser; 4],
    pre: Vec<f32>,
    pre_mask: usize,
    pre_write: usize,
    pre_frames: Smoother,
    decay_s: Smoother,
    damping: Smoother,
    width: Smoother,
    size: f32,
    counter: u64,
    cleared: bool,
    /// Steady-state path: line reads of a chunk (frame-major, transposed from the line-major rings) and the
    /// diffused input.
    scratch: Box<[[f32; LINES]; CHUNK]>,
    xbuf: Box<[f32; CHUNK]>,
}

impl Reverb {
    /// New reverb: disabled, decay 1.5 s, pre-delay 10 ms, size 1, damping 0.5, width 1.
    pub fn new(sample_rate_hz: f32) -> Self {
        let scale = sample_rate_hz / 48_000.0;
        let max_len = (BASE_LEN_48K.iter().cloned().fold(0.0, f32::max) * scale * MAX_SIZE).ceil()
            as usize
            + 4;
        let cap = max_len.next_power_of_two();
        let pre_cap =
            ((MAX_PRE_DELAY_MS * 1e-3 * sample_rate_hz).ceil() as usize + 4).next_power_of_two();
        let base_len = BASE_LEN_48K.map(|l| l * scale);
        let diffusers = std::array::from_fn(|i| Diffuser {
            buf: vec![0.0; ((DIFFUSER_LEN_48K[i] * scale).round() as usize).max(1)],
            pos: 0,
            gain: DIFFUSER_GAIN[i],
        });
        let mut r = Reverb {
            fs: sample_rate_hz,
            bypass: Bypass::new(sample_rate_hz),
            fresh: true,
            lines: vec![0.0; cap * LINES],
            line_mask: cap - 1,
            write: 0,
            base_len,
            len: std::array::from_fn(|i| {
                Smoother::linear(sample_rate_hz, GLIDE_MS, base_len[i].round())
            }),
            coef_a: [0.0; LINES],
            coef_b: [0.0; LINES],
            lp_state: [0.0; LINES],
            diffusers,
            pre: vec![0.0; pre_cap],
            pre_mask: pre_cap - 1,
            pre_write: 0,
            pre_frames: Smoother::linear(
                sample_rate_hz,
                GLIDE_MS,
                (0.010 * sample_rate_hz).round(),
            ),
            decay_s: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 1.5),
            damping: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 0.5),
            width: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 1.0),
            size: 1.0,
            counter: 0,
            cleared: true,
            scratch: Box::new([[0.0; LINES]; CHUNK]),
            xbuf: Box::new([0.0; CHUNK]),
        };
        r.update_coefs();
        r
    }

    fn immediate(&self) -> bool {
        self.fresh || self.bypass.is_off()
    }

    fn after_set(&mut self) {
        if self.immediate() {
            self.snap_all();
        }
    }

    fn snap_all(&mut self) {
        for l in &mut self.len {
            l.snap_to_target();
        }
        self.pre_frames.snap_to_target();
        self.decay_s.snap_to_target();
        self.damping.snap_to_target();
        self.width.snap_to_target();
        self.update_coefs();
    }

    /// Sets the decay time RT60 in seconds (0.1 … 30) at low frequencies.
    pub fn set_decay_s(&mut self, decay_s: f32) {
        let imm = self.immediate();
        self.decay_s.set(decay_s.clamp(0.1, 30.0), imm);
        self.after_set();
    }

    /// Sets the pre-delay in ms (0 … [`MAX_PRE_DELAY_MS`]; rounded to whole frames).
    pub fn set_pre_delay_ms(&mut self, pre_delay_ms: f32) {
        let imm = self.immediate();
        let f = (pre_delay_ms.clamp(0.0, MAX_PRE_DELAY_MS) * 1e-3 * self.fs).round();
        self.pre_frames.set(f, imm);
        self.after_set();
    }

    /// Sets the room size factor (0.5 … 2), which scales every line length.
    pub fn set_size(&mut self, size: f32) {
        let imm = self.immediate();
        self.size = size.clamp(MIN_SIZE, MAX_SIZE);
        for i in 0..LINES {
            let target = (self.base_len[i] * self.size).round();
            self.len[i].set(target, imm);
        }
        self.after_set();
    }

    /// Sets the high-frequency damping (0 = none … 1 = Nyquist RT60 a tenth of the setting).
    pub fn set_damping(&mut self, damping: f32) {
        let imm = self.immediate();
        self.damping.set(damping.clamp(0.0, 1.0), imm);
        self.after_set();
    }

    /// Sets the stereo width (0 = mono … 1 = full).
    pub fn set_width(&mut self, width: f32) {
        let imm = self.immediate();
        self.width.set(width.clamp(0.0, 1.0), imm);
        self.after_set();
    }

    fn update_coefs(&mut self) {
        let t60 = self.decay_s.value() as f64;
        let t_ny = t60 * (1.0 - 0.9 * self.damping.value() as f64);
        let fs = self.fs as f64;
        for i in 0..LINES {
            let m = self.len[i].value() as f64;
            let g_dc = 10f64.powf(-3.0 * m / (fs * t60));
            let g_ny = 10f64.powf(-3.0 * m / (fs * t_ny));
            let b = (g_dc - g_ny) / (g_dc + g_ny);
            self.coef_a[i] = (g_dc * (1.0 - b)) as f32;
            self.coef_b[i] = b as f32;
        }
    }

    fn ramping(&self) -> bool {
        !(self.decay_s.is_settled()
            && self.damping.is_settled()
            && self.width.is_settled()
            && self.pre_frames.is_settled()
            && self.len.iter().all(|l| l.is_settled()))
    }

    fn go_idle(&mut self) {
        if !self.cleared {
            self.lines.fill(0.0);
            self.pre.fill(0.0);
            for d in &mut self.diffusers {
                d.buf.fill(0.0);
            }
            self.lp_state = [0.0; LINES];
            self.cleared = true;
        }
        self.snap_all();
    }

    #[inline(always)]
    fn read_frac(buf: &[f32], mask: usize, write: usize, d: f32) -> f32 {
        let di = d as usize;
        let t = d - di as f32;
        let a = buf[write.wrapping_sub(di) & mask];
        if t == 0.0 {
            a
        } else {
            let b = buf[write.wrapping_sub(di + 1) & mask];
            a + t * (b - a)
        }
    }

    fn fdn_coefs(&self) -> FdnCoefs {
        FdnCoefs {
            a: self.coef_a,
            b: self.coef_b,
            width: self.width.value(),
        }
    }

    /// One frame, any state (gliding sizes and pre-delay read between samples).
    #[inline(always)]
    fn tick(&mut self, xl: f32, xr: f32, ramp: bool) -> (f32, f32) {
        if ramp {
            self.pre_frames.tick();
            self.decay_s.tick();
            self.damping.tick();
            self.width.tick();
            for l in &mut self.len {
                l.tick();
            }
            if self.counter.is_multiple_of(COEF_EVERY) || !self.ramping() {
                self.update_coefs();
            }
        }
        // pre-delay and diffusion of the mono input
        let pw = self.pre_write & self.pre_mask;
        self.pre[pw] = 0.5 * (xl + xr);
        let pd = Self::read_frac(
            &self.pre,
            self.pre_mask,
            self.pre_write,
            self.pre_frames.value(),
        );
        self.pre_write = self.pre_write.wrapping_add(1);
        let mut x = pd;
        for d in &mut self.diffusers {
            x = d.tick(x);
        }
        // FDN
        let cap = self.line_mask + 1;
        let mut v = [0f32; LINES];
        for (i, vi) in v.iter_mut().enumerate() {
            let line = &self.lines[i * cap..(i + 1) * cap];
            *vi = Self::read_frac(line, self.line_mask, self.write, self.len[i].value());
        }
        let c = self.fdn_coefs();
        let out = fdn_frame(&mut v, x, &c, &mut self.lp_state);
        let w = self.write & self.line_mask;
        for (i, vi) in v.iter().enumerate() {
            self.lines[i * cap + w] = *vi;
        }
        self.write = self.write.wrapping_add(1);
        self.counter += 1;
        out
    }

    /// Steady state (nothing gliding or ramping, bypass fully on): processes up to [`CHUNK`] frames, at most the
    /// shortest line, so every line read of the chunk precedes its writes. At rest all lengths and the
    /// pre-delay are whole frames, so the reads are the same plain reads as in [`Reverb::tick`] and the frame
    /// arithmetic is the shared [`fdn_frame`]: the samples equal the per-sample path's bit for bit, whatever
    /// the block split. Returns the number of frames done.
    fn process_steady(&mut self, left: &mut [f32], right: &mut [f32]) -> usize {
        let shortest = self
            .len
            .iter()
            .map(|l| l.value() as usize)
            .min()
            .unwrap_or(1);
        // The chunk also stops at the first ring wrap, so every line's reads and writes are one contiguous run.
        let mask = self.line_mask;
        let cap = mask + 1;
        let ws = self.write & mask;
        let starts: [usize; LINES] =
            std::array::from_fn(|i| self.write.wrapping_sub(self.len[i].value() as usize) & mask);
        let n = left.len().min(right.len()).min(CHUNK).min(shortest);
        let n = starts.iter().fold(n.min(cap - ws), |m, s| m.min(cap - s));
        let c = self.fdn_coefs();
        let (left, right) = (&mut left[..n], &mut right[..n]);
        // pre-delay (whole frames; may be 0, so write before read, frame by frame)
        let xb = &mut self.xbuf[..n];
        let pd = self.pre_frames.value() as usize;
        let pm = self.pre_mask;
        for ((x, l), r) in xb.iter_mut().zip(left.iter()).zip(right.iter()) {
            self.pre[self.pre_write & pm] = 0.5 * (l + r);
            *x = self.pre[self.pre_write.wrapping_sub(pd) & pm];
            self.pre_write = self.pre_write.wrapping_add(1);
        }
        for d in &mut self.diffusers {
            d.run(xb);
        }
        // line reads, transposed to frame-major
        let sc = &mut self.scratch[..n];
        for g in 0..LINES / 4 {
            let src: [&[f32]; 4] = std::array::from_fn(|j| {
                let i = 4 * g + j;
                &self.lines[i * cap + starts[i]..i * cap + starts[i] + n]
            });
            #[cfg(target_arch = "x86_64")]
            sse::gather4(sc, 4 * g, src);
            #[cfg(not(target_arch = "x86_64"))]
            for (k, f) in sc.iter_mut().enumerate() {
                for j in 0..4 {
                    f[4 * g + j] = src[j][k];
                }
            }
        }
        let mut lp = self.lp_state;
        #[cfg(target_arch = "x86_64")]
        sse::run(sc, xb, left, right, &c, &mut lp);
        #[cfg(not(target_arch = "x86_64"))]
        for (((f, x), l), r) in sc
            .iter_mut()
            .zip(xb.iter())
            .zip(left.iter_mut())
            .zip(right.iter_mut())
        {
            (*l, *r) = fdn_frame(f, *x, &c, &mut lp);
        }
        self.lp_state = lp;
        // line writes
        for (g, grp) in self.lines.chunks_exact_mut(4 * cap).enumerate() {
            let (l01, l23) = grp.split_at_mut(2 * cap);
            let (l0, l1) = l01.split_at_mut(cap);
            let (l2, l3) = l23.split_at_mut(cap);
            let dst = [l0, l1, l2, l3].map(|l| &mut l[ws..ws + n]);
            #[cfg(target_arch = "x86_64")]
            sse::scatter4(sc, 4 * g, dst);
            #[cfg(not(target_arch = "x86_64"))]
            for (k, f) in sc.iter().enumerate() {
                for (j, d) in dst.iter_mut().enumerate() {
                    d[k] = f[4 * g + j];
                }
            }
        }
        self.write = self.write.wrapping_add(n);
        self.counter += n as u64;
        n
    }
}

impl StereoProcessor for Reverb {
    fn set_enabled(&mut self, enabled: bool) {
        let imm = self.fresh;
        self.bypass.set_enabled(enabled, imm);
    }

    fn is_enabled(&self) -> bool {
        self.bypass.is_enabled()
    }

    fn reset(&mut self) {
        self.bypass.snap();
        self.cleared = false;
        self.go_idle();
        self.counter = 0;
        self.fresh = true;
    }

    /// Replaces the block with the wet (reverberated) signal; silence while bypassed.
    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        if n == 0 {
            return;
        }
        self.fresh = false;
        let mut i = 0;
        while i < n {
            if self.bypass.is_off() {
                self.go_idle();
                left[i..n].fill(0.0);
                right[i..n].fill(0.0);
                return;
            }
            self.cleared = false;
            let ramp = self.ramping();
            if !ramp && self.bypass.is_fully_on() {
                i += self.process_steady(&mut left[i..n], &mut right[i..n]);
                continue;
            }
            let (yl, yr) = self.tick(left[i], right[i], ramp);
            if self.bypass.is_fully_on() {
                left[i] = yl;
                right[i] = yr;
            } else {
                let m = self.bypass.tick();
                left[i] = m * yl;
                right[i] = m * yr;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SSE2 steady-state loop gives exactly the portable `fdn_frame`'s bits (state, writes and outputs).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse_frames_equal_portable_frames() {
        let mut seed = 0x9e37_79b9u32;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as f32 / u32::MAX as f32 - 0.5
        };
        let c = FdnCoefs {
            a: std::array::from_fn(|_| 0.5 + rnd()),
            b: std::array::from_fn(|_| 0.5 * rnd()),
            width: 0.7,
        };
        let n = 200;
        let mut sc: Vec<[f32; LINES]> = (0..n)
            .map(|k| std::array::from_fn(|i| if (k + i) % 7 == 0 { 1e-21 } else { rnd() }))
            .collect();
        let xb: Vec<f32> = (0..n).map(|_| rnd()).collect();
        let lp0: [f32; LINES] = std::array::from_fn(|_| rnd());
        let (mut sc2, mut lp, mut lp2) = (sc.clone(), lp0, lp0);
        let (mut l, mut r) = (vec![0f32; n], vec![0f32; n]);
        let (mut l2, mut r2) = (vec![0f32; n], vec![0f32; n]);
        sse::run(&mut sc, &xb, &mut l, &mut r, &c, &mut lp);
        for k in 0..n {
            (l2[k], r2[k]) = fdn_frame(&mut sc2[k], xb[k], &c, &mut lp2);
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&l), bits(&l2));
        assert_eq!(bits(&r), bits(&r2));
        assert_eq!(bits(&lp), bits(&lp2));
        assert_eq!(bits(sc.as_flattened()), bits(sc2.as_flattened()));
    }
}
