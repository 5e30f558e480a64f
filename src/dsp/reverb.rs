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
//! of up to 256 frames (never longer than the shortest line, so every read of a chunk precedes its writes, and
//! never across a ring wrap): the pre-delay (block copies) and the diffusers (vectorized over time) run over
//! the chunk, then on x86_64 tiles of 16 lines × W frames (W = 16 with AVX-512F, 8 with AVX2, 4 with SSE2;
//! chosen once in `new`) are loaded straight from the line rings, transposed in registers to frame-major for
//! the absorption filters (the only recursion over frames), transposed back, and the output taps, Hadamard
//! mix, injection and flush run with the frames in lanes and store straight into the rings; frames left over
//! take narrower vectors, down to one frame. Elsewhere the line reads are transposed into a frame-major
//! scratch and each frame runs `fdn_frame`. Every path does `fdn_frame`'s f32 operations per lane in its
//! order (the output taps summed as a fixed pairwise tree, sign flips for the ±1 factors, no FMA), so the
//! output does not depend on the block split or the CPU. Measured at rest (48 kHz, 256-frame blocks):
//! callgrind counts 74 instructions per frame with AVX2 and 177 with SSE2 (319 for the former SSE2 frame
//! loop with its transposes through the scratch); valgrind does not run AVX-512, whose tile loop is 434
//! instructions per 16 frames (27 per frame, against 58 with AVX2), about 43 per frame in all. Criterion on
//! a Sapphire Rapids Xeon (AVX-512): 2.0 µs per 256-frame block, 7.8 ns per frame (was 5.3 µs).

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
const CHUNK: usize = 256;

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

/// A vector of `W` f32 lanes for the steady-state kernel ([`fdn_lanes`]); `f32` itself is the one-lane case.
/// Every operation is the lane-wise IEEE operation of the same name, so a kernel written with them does per
/// lane exactly what the scalar code does.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
trait Lanes: Copy {
    /// Lanes (frames) per vector; divides 16.
    const W: usize;
    /// # Safety
    /// `p` is valid for reading `W` f32 (any alignment), and the CPU has the type's instruction set.
    unsafe fn ld(p: *const f32) -> Self;
    /// # Safety
    /// `p` is valid for writing `W` f32 (any alignment), and the CPU has the type's instruction set.
    unsafe fn st(self, p: *mut f32);
    /// # Safety (this and the rest) The CPU has the type's instruction set.
    unsafe fn splat(x: f32) -> Self;
    unsafe fn add(self, o: Self) -> Self;
    unsafe fn sub(self, o: Self) -> Self;
    unsafe fn mul(self, o: Self) -> Self;
    /// Sign flip (equals a multiplication by −1 exactly).
    unsafe fn neg(self) -> Self;
    /// Denormal flush of [`fdn_frame`]: 0 where `|x| < 1e-20`, else `x`.
    unsafe fn flush(self) -> Self;
    /// 16 vectors from line-major (`t[i]`: line `i`, `W` frames) to frame-major (`t[f·G + q]`: frame `f`,
    /// lines `q·W .. q·W + W`, with `G = 16 / W`).
    unsafe fn to_frames(t: &mut [Self; LINES]);
    /// The inverse of [`Lanes::to_frames`].
    unsafe fn to_lines(t: &mut [Self; LINES]);

    /// [`fdn_lanes`] over a whole chunk: whole vectors of this type, the frames left over with narrower ones.
    ///
    /// # Safety
    /// As [`fdn_lanes`].
    #[inline(always)]
    unsafe fn fdn_chunk(ch: &Chunk, c: &FdnCoefs, lp: &mut [f32; LINES]) {
        let k = fdn_lanes::<Self>(ch, c, lp, 0);
        fdn_lanes::<f32>(ch, c, lp, k);
    }
}

impl Lanes for f32 {
    const W: usize = 1;
    #[inline(always)]
    unsafe fn ld(p: *const f32) -> Self {
        *p
    }
    #[inline(always)]
    unsafe fn st(self, p: *mut f32) {
        *p = self;
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        x
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    unsafe fn neg(self) -> Self {
        -self
    }
    #[inline(always)]
    unsafe fn flush(self) -> Self {
        if self.abs() < 1e-20 {
            0.0
        } else {
            self
        }
    }
    #[inline(always)]
    unsafe fn to_frames(_: &mut [Self; LINES]) {}
    #[inline(always)]
    unsafe fn to_lines(_: &mut [Self; LINES]) {}
}

/// Raw pointers of one steady chunk: line `i` is read at `rd[i]` and written at `wr[i]` (`n` frames each,
/// contiguous, the reads all before the writes' positions are reread), the diffused input at `x`, the output
/// at `l`/`r`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Chunk {
    rd: [*const f32; LINES],
    wr: [*mut f32; LINES],
    x: *const f32,
    l: *mut f32,
    r: *mut f32,
    n: usize,
}

/// [`fdn_frame`] over frames `k0 ..` of the chunk, `V::W` frames at a time while whole vectors fit; returns
/// the first frame not done. Line-major tiles of 16 lines × `W` frames are loaded from the rings, transposed
/// to frame-major for the absorption filters (a recursion over frames, with the 16 lines in lanes), transposed
/// back, and the rest of the frame (output taps, Hadamard, injection, flush) runs line-major with the frames in
/// lanes, so it needs no shuffles; the results are stored straight into the rings. Per lane these are exactly
/// [`fdn_frame`]'s f32 operations in its order (sign flips for the multiplications by ±1), so the bits are the
/// same for any `V`.
///
/// # Safety
/// The pointers of `ch` are valid for `ch.n` frames, the read and write ranges do not overlap, and the CPU has
/// `V`'s instruction set.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[inline(always)]
unsafe fn fdn_lanes<V: Lanes>(ch: &Chunk, c: &FdnCoefs, lp: &mut [f32; LINES], k0: usize) -> usize {
    let w = V::W;
    let g = LINES / w;
    // (no closures here or in the `Lanes` impls: they would not inherit the caller's target features)
    let zero = V::splat(0.0);
    let (mut a, mut b, mut s) = ([zero; LINES], [zero; LINES], [zero; LINES]);
    for q in 0..g {
        a[q] = V::ld(c.a.as_ptr().add(q * w));
        b[q] = V::ld(c.b.as_ptr().add(q * w));
        s[q] = V::ld(lp.as_ptr().add(q * w));
    }
    let half = V::splat(0.5);
    let quarter = V::splat(0.25);
    let width = V::splat(c.width);
    let mut k = k0;
    while k + w <= ch.n {
        let mut t = [zero; LINES];
        for (ti, rd) in t.iter_mut().zip(&ch.rd) {
            *ti = V::ld(rd.add(k));
        }
        V::to_frames(&mut t);
        for f in 0..w {
            for q in 0..g {
                let y = a[q].mul(t[f * g + q]).add(b[q].mul(s[q]));
                s[q] = y;
                t[f * g + q] = y;
            }
        }
        V::to_lines(&mut t);
        // output taps, summed as `sum16`
        let (ol, or) = (tap(&t, &OUT_L), tap(&t, &OUT_R));
        let mid = half.mul(ol.add(or)).mul(half);
        let side = half.mul(ol.sub(or)).mul(half).mul(width);
        mid.add(side).st(ch.l.add(k));
        mid.sub(side).st(ch.r.add(k));
        // Hadamard, as `hadamard16`
        let mut h = 1;
        while h < LINES {
            let mut i = 0;
            while i < LINES {
                for j in i..i + h {
                    let (x, y) = (t[j], t[j + h]);
                    t[j] = x.add(y);
                    t[j + h] = x.sub(y);
                }
                i += 2 * h;
            }
            h *= 2;
        }
        let inj = quarter.mul(V::ld(ch.x.add(k)));
        let ninj = inj.neg();
        for (i, ti) in t.iter().enumerate() {
            let v = ti.mul(quarter);
            let v = v.add(if IN_SIGN[i] < 0.0 { ninj } else { inj });
            v.flush().st(ch.wr[i].add(k));
        }
        k += w;
    }
    for (q, sq) in s.iter().enumerate().take(g) {
        sq.st(lp.as_mut_ptr().add(q * w));
    }
    k
}

/// The output tap of [`fdn_frame`] with the signs `sign`, summed as [`sum16`].
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[inline(always)]
unsafe fn tap<V: Lanes>(t: &[V; LINES], sign: &[f32; LINES]) -> V {
    let mut p = *t;
    for (pi, si) in p.iter_mut().zip(sign) {
        if *si < 0.0 {
            *pi = pi.neg();
        }
    }
    let mut h = [p[0]; 8];
    for j in 0..8 {
        h[j] = p[j].add(p[j + 8]);
    }
    let mut q = [p[0]; 4];
    for j in 0..4 {
        q[j] = h[j].add(h[j + 4]);
    }
    q[0].add(q[2]).add(q[1].add(q[3]))
}

/// The x86_64 vectors: SSE2 (the base ISA), AVX (detected as AVX2) and AVX-512F, with their transposes.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{fdn_lanes, Chunk, FdnCoefs, Lanes, LINES};
    use core::arch::x86_64::*;

    /// 4×4 transpose of `[a, b, c, d]` rows.
    #[inline(always)]
    unsafe fn transpose4(r: [__m128; 4]) -> [__m128; 4] {
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

    impl Lanes for __m128 {
        const W: usize = 4;
        #[inline(always)]
        unsafe fn ld(p: *const f32) -> Self {
            _mm_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn st(self, p: *mut f32) {
            _mm_storeu_ps(p, self)
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            _mm_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn add(self, o: Self) -> Self {
            _mm_add_ps(self, o)
        }
        #[inline(always)]
        unsafe fn sub(self, o: Self) -> Self {
            _mm_sub_ps(self, o)
        }
        #[inline(always)]
        unsafe fn mul(self, o: Self) -> Self {
            _mm_mul_ps(self, o)
        }
        #[inline(always)]
        unsafe fn neg(self) -> Self {
            _mm_xor_ps(self, _mm_set1_ps(-0.0))
        }
        #[inline(always)]
        unsafe fn flush(self) -> Self {
            let abs = _mm_and_ps(self, _mm_castsi128_ps(_mm_set1_epi32(0x7fff_ffff)));
            _mm_andnot_ps(_mm_cmplt_ps(abs, _mm_set1_ps(1e-20)), self)
        }
        #[inline(always)]
        unsafe fn to_frames(t: &mut [Self; LINES]) {
            let mut u = *t;
            for g in 0..4 {
                let o = transpose4([t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]]);
                for (f, of) in o.into_iter().enumerate() {
                    u[4 * f + g] = of;
                }
            }
            *t = u;
        }
        #[inline(always)]
        unsafe fn to_lines(t: &mut [Self; LINES]) {
            let mut u = *t;
            for g in 0..4 {
                let o = transpose4([t[g], t[4 + g], t[8 + g], t[12 + g]]);
                for (j, oj) in o.into_iter().enumerate() {
                    u[4 * g + j] = oj;
                }
            }
            *t = u;
        }
    }

    /// 8×8 transpose of rows.
    #[inline(always)]
    unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
        // t0 = a0 b0 a1 b1 | a4 b4 a5 b5, t1 = a2 b2 a3 b3 | a6 b6 a7 b7, t2/t3 the same of c, d, …
        let mut t = r;
        for i in 0..4 {
            t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // u0 = a0 b0 c0 d0 | a4 …, u1 = column 1 | 5, u2 = 2 | 6, u3 = 3 | 7 (rows a–d); u4 … rows e–h
        let mut u = r;
        for m in 0..2 {
            for h in 0..2 {
                let (x, y) = (t[4 * m + h], t[4 * m + 2 + h]);
                u[4 * m + 2 * h] = _mm256_shuffle_ps::<0x44>(x, y);
                u[4 * m + 2 * h + 1] = _mm256_shuffle_ps::<0xee>(x, y);
            }
        }
        let mut o = r;
        for i in 0..4 {
            o[i] = _mm256_permute2f128_ps::<0x20>(u[i], u[4 + i]);
            o[4 + i] = _mm256_permute2f128_ps::<0x31>(u[i], u[4 + i]);
        }
        o
    }

    impl Lanes for __m256 {
        const W: usize = 8;
        #[inline(always)]
        unsafe fn fdn_chunk(ch: &Chunk, c: &FdnCoefs, lp: &mut [f32; LINES]) {
            let k = fdn_lanes::<Self>(ch, c, lp, 0);
            let k = fdn_lanes::<__m128>(ch, c, lp, k);
            fdn_lanes::<f32>(ch, c, lp, k);
        }
        #[inline(always)]
        unsafe fn ld(p: *const f32) -> Self {
            _mm256_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn st(self, p: *mut f32) {
            _mm256_storeu_ps(p, self)
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            _mm256_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn add(self, o: Self) -> Self {
            _mm256_add_ps(self, o)
        }
        #[inline(always)]
        unsafe fn sub(self, o: Self) -> Self {
            _mm256_sub_ps(self, o)
        }
        #[inline(always)]
        unsafe fn mul(self, o: Self) -> Self {
            _mm256_mul_ps(self, o)
        }
        #[inline(always)]
        unsafe fn neg(self) -> Self {
            _mm256_xor_ps(self, _mm256_set1_ps(-0.0))
        }
        #[inline(always)]
        unsafe fn flush(self) -> Self {
            let abs = _mm256_and_ps(self, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff)));
            _mm256_andnot_ps(
                _mm256_cmp_ps::<_CMP_LT_OQ>(abs, _mm256_set1_ps(1e-20)),
                self,
            )
        }
        #[inline(always)]
        unsafe fn to_frames(t: &mut [Self; LINES]) {
            let mut u = *t;
            for g in 0..2 {
                let mut r = [t[0]; 8];
                r.copy_from_slice(&t[8 * g..8 * g + 8]);
                let o = transpose8(r);
                for (f, of) in o.into_iter().enumerate() {
                    u[2 * f + g] = of;
                }
            }
            *t = u;
        }
        #[inline(always)]
        unsafe fn to_lines(t: &mut [Self; LINES]) {
            let mut u = *t;
            for g in 0..2 {
                let mut r = [t[0]; 8];
                for (f, rf) in r.iter_mut().enumerate() {
                    *rf = t[2 * f + g];
                }
                let o = transpose8(r);
                for (j, oj) in o.into_iter().enumerate() {
                    u[8 * g + j] = oj;
                }
            }
            *t = u;
        }
    }

    /// 16×16 transpose of rows.
    #[inline(always)]
    unsafe fn transpose16(r: &mut [__m512; 16]) {
        // t[2i], t[2i+1]: rows 2i, 2i+1 interleaved (columns 0 1 | 4 5 | … and 2 3 | 6 7 | …)
        let mut t = *r;
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // u[4m + c]: rows 4m … 4m+3 of columns c, c+4, c+8, c+12 (one per 128-bit lane)
        let mut u = *r;
        for m in 0..4 {
            for h in 0..2 {
                let x = _mm512_castps_pd(t[4 * m + h]);
                let y = _mm512_castps_pd(t[4 * m + 2 + h]);
                u[4 * m + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(x, y));
                u[4 * m + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(x, y));
            }
        }
        // v[8h + c], c < 4: rows 8h … 8h+7 of columns c, c+8 (128-bit lanes: rows 8h…, c | 8h…, c+8 |
        // 8h+4…, c | 8h+4…, c+8); v[8h + 4 + c]: the same of columns c+4, c+12
        let mut v = *r;
        for h in 0..2 {
            for c in 0..4 {
                let (x, y) = (u[8 * h + c], u[8 * h + 4 + c]);
                v[8 * h + c] = _mm512_shuffle_f32x4::<0x88>(x, y);
                v[8 * h + 4 + c] = _mm512_shuffle_f32x4::<0xdd>(x, y);
            }
        }
        for c in 0..8 {
            r[c] = _mm512_shuffle_f32x4::<0x88>(v[c], v[8 + c]);
            r[8 + c] = _mm512_shuffle_f32x4::<0xdd>(v[c], v[8 + c]);
        }
    }

    impl Lanes for __m512 {
        const W: usize = 16;
        #[inline(always)]
        unsafe fn fdn_chunk(ch: &Chunk, c: &FdnCoefs, lp: &mut [f32; LINES]) {
            let k = fdn_lanes::<Self>(ch, c, lp, 0);
            let k = fdn_lanes::<__m256>(ch, c, lp, k);
            let k = fdn_lanes::<__m128>(ch, c, lp, k);
            fdn_lanes::<f32>(ch, c, lp, k);
        }
        #[inline(always)]
        unsafe fn ld(p: *const f32) -> Self {
            _mm512_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn st(self, p: *mut f32) {
            _mm512_storeu_ps(p, self)
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            _mm512_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn add(self, o: Self) -> Self {
            _mm512_add_ps(self, o)
        }
        #[inline(always)]
        unsafe fn sub(self, o: Self) -> Self {
            _mm512_sub_ps(self, o)
        }
        #[inline(always)]
        unsafe fn mul(self, o: Self) -> Self {
            _mm512_mul_ps(self, o)
        }
        #[inline(always)]
        unsafe fn neg(self) -> Self {
            _mm512_castsi512_ps(_mm512_xor_si512(
                _mm512_castps_si512(self),
                _mm512_set1_epi32(i32::MIN),
            ))
        }
        #[inline(always)]
        unsafe fn flush(self) -> Self {
            let big = _mm512_cmp_ps_mask::<_CMP_NLT_UQ>(_mm512_abs_ps(self), _mm512_set1_ps(1e-20));
            _mm512_maskz_mov_ps(big, self)
        }
        #[inline(always)]
        unsafe fn to_frames(t: &mut [Self; LINES]) {
            transpose16(t);
        }
        #[inline(always)]
        unsafe fn to_lines(t: &mut [Self; LINES]) {
            transpose16(t);
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
    /// (each slot is read before it is rewritten, so a run vectorizes over time; inlined, so that it vectorizes
    /// with the caller's instruction set).
    #[inline(always)]
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

/// The steady-state kernel, chosen once in [`Reverb::new`] from the CPU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kernel {
    /// No steady-state chunks: every frame through [`Reverb::tick`] (the reference in tests).
    #[cfg_attr(not(test), allow(dead_code))]
    PerFrame,
    /// [`Reverb::steady_portable`].
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    Portable,
    #[cfg(target_arch = "x86_64")]
    Sse2,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    /// The widest kernel the CPU runs; AVX-512 only when `avx512` (see [`Reverb::set_avx512`]).
    fn detect(avx512: bool) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if avx512 && std::arch::is_x86_feature_detected!("avx512f") {
                Kernel::Avx512
            } else if std::arch::is_x86_feature_detected!("avx2") {
                Kernel::Avx2
            } else {
                Kernel::Sse2
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = avx512;
            Kernel::Portable
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
    /// Steady-state kernel for this CPU.
    kernel: Kernel,
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
            kernel: Kernel::detect(false),
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

    /// Lets the steady path use AVX-512 where the CPU has it (the same bits as the narrower kernels). Off by
    /// default: on a CPU that lowers its clock for 512-bit arithmetic, a few wide instructions per audio
    /// callback slow every other processor on that core (the 64-strip real-time bench: 14.9× real time
    /// without AVX-512 against 13.5× with it); the offline render turns it on, where it is faster overall.
    pub fn set_avx512(&mut self, on: bool) {
        if self.kernel != Kernel::PerFrame {
            self.kernel = Kernel::detect(on);
        }
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

    /// Steady state (nothing gliding or ramping, bypass fully on): processes the block in chunks of up to
    /// [`CHUNK`] frames, each at most the shortest line, so every line read of a chunk precedes its writes. At
    /// rest all lengths and the pre-delay are whole frames, so the reads are the same plain reads as in
    /// [`Reverb::tick`] and the frame arithmetic is [`fdn_frame`]'s: the samples equal the per-sample path's
    /// bit for bit, whatever the block split and the kernel. Returns the number of frames done (all).
    fn process_steady(&mut self, left: &mut [f32], right: &mut [f32]) -> usize {
        let total = left.len().min(right.len());
        let len: [usize; LINES] = std::array::from_fn(|i| self.len[i].value() as usize);
        let shortest = len.iter().copied().min().unwrap_or(1);
        // pre-delay: all writes of a chunk precede its reads, so no read may reach a later write of the chunk
        let pre_room = self.pre_mask + 1 - self.pre_frames.value() as usize;
        let mask = self.line_mask;
        let cap = mask + 1;
        let mut done = 0;
        while done < total {
            // The chunk also stops at the first ring wrap, so every line's reads and writes are one contiguous
            // run.
            let ws = self.write & mask;
            let starts: [usize; LINES] =
                std::array::from_fn(|i| self.write.wrapping_sub(len[i]) & mask);
            let n = (total - done).min(CHUNK).min(shortest).min(pre_room);
            let n = starts.iter().fold(n.min(cap - ws), |m, s| m.min(cap - s));
            let (l, r) = (&mut left[done..done + n], &mut right[done..done + n]);
            match self.kernel {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: AVX-512F was detected in `new`.
                Kernel::Avx512 => unsafe { self.steady_avx512(l, r, &starts, ws) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: AVX2 was detected in `new`.
                Kernel::Avx2 => unsafe { self.steady_avx2(l, r, &starts, ws) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: SSE2 is part of the x86_64 base ISA.
                Kernel::Sse2 => unsafe {
                    self.steady_lanes::<core::arch::x86_64::__m128>(l, r, &starts, ws)
                },
                _ => self.steady_portable(l, r, &starts, ws),
            }
            self.write = self.write.wrapping_add(n);
            self.counter += n as u64;
            done += n;
        }
        done
    }

    /// Pre-delay (whole frames) and diffusers of a steady chunk into `xbuf`.
    #[inline(always)]
    fn steady_input(&mut self, left: &[f32], right: &[f32]) {
        let n = left.len();
        let pd = self.pre_frames.value() as usize;
        let pm = self.pre_mask;
        let pcap = pm + 1;
        // All writes, then all reads (in contiguous runs up to the ring wrap): a read of frame `k` at
        // `pre_write + k − pd` sees the value written at frame `k − pd` of this chunk if `pd ≤ k`, as frame by
        // frame; if `pd > k` it is older, and no write of the chunk reaches it (`pd + n ≤ pre_cap`, see
        // `process_steady`).
        let mut k = 0;
        while k < n {
            let p = (self.pre_write + k) & pm;
            let m = (n - k).min(pcap - p);
            for ((d, l), r) in self.pre[p..p + m]
                .iter_mut()
                .zip(&left[k..k + m])
                .zip(&right[k..k + m])
            {
                *d = 0.5 * (l + r);
            }
            k += m;
        }
        let xb = &mut self.xbuf[..n];
        let mut k = 0;
        while k < n {
            let p = self.pre_write.wrapping_add(k).wrapping_sub(pd) & pm;
            let m = (n - k).min(pcap - p);
            xb[k..k + m].copy_from_slice(&self.pre[p..p + m]);
            k += m;
        }
        self.pre_write = self.pre_write.wrapping_add(n);
        for d in &mut self.diffusers {
            d.run(xb);
        }
    }

    /// A steady chunk with the vector kernel [`fdn_lanes`] (the frames left over by whole vectors one at a time,
    /// with the one-lane `f32` kernel).
    ///
    /// # Safety
    /// The CPU has `V`'s instruction set; `starts` and `ws` are those of [`Reverb::process_steady`] for
    /// `left.len()` frames.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    #[inline(always)]
    unsafe fn steady_lanes<V: Lanes>(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        starts: &[usize; LINES],
        ws: usize,
    ) {
        self.steady_input(left, right);
        let cap = self.line_mask + 1;
        let base = self.lines.as_mut_ptr();
        let ch = Chunk {
            rd: std::array::from_fn(|i| base.add(i * cap + starts[i]) as *const f32),
            wr: std::array::from_fn(|i| base.add(i * cap + ws)),
            x: self.xbuf.as_ptr(),
            l: left.as_mut_ptr(),
            r: right.as_mut_ptr(),
            n: left.len(),
        };
        let c = self.fdn_coefs();
        V::fdn_chunk(&ch, &c, &mut self.lp_state);
    }

    /// [`Reverb::steady_lanes`] with AVX-512F.
    ///
    /// # Safety
    /// The CPU has AVX-512F; the rest as [`Reverb::steady_lanes`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn steady_avx512(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        starts: &[usize; LINES],
        ws: usize,
    ) {
        self.steady_lanes::<core::arch::x86_64::__m512>(left, right, starts, ws);
    }

    /// [`Reverb::steady_lanes`] with AVX2.
    ///
    /// # Safety
    /// The CPU has AVX2; the rest as [`Reverb::steady_lanes`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn steady_avx2(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        starts: &[usize; LINES],
        ws: usize,
    ) {
        self.steady_lanes::<core::arch::x86_64::__m256>(left, right, starts, ws);
    }

    /// A steady chunk without vector intrinsics (non-x86 targets): the line reads transposed into the
    /// frame-major scratch, [`fdn_frame`] per frame, and the results transposed back into the lines.
    fn steady_portable(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        starts: &[usize; LINES],
        ws: usize,
    ) {
        self.steady_input(left, right);
        let n = left.len();
        let cap = self.line_mask + 1;
        let c = self.fdn_coefs();
        let sc = &mut self.scratch[..n];
        for (i, line) in self.lines.chunks_exact(cap).enumerate() {
            for (f, &v) in sc.iter_mut().zip(&line[starts[i]..starts[i] + n]) {
                f[i] = v;
            }
        }
        let mut lp = self.lp_state;
        for (((f, x), l), r) in sc
            .iter_mut()
            .zip(self.xbuf.iter())
            .zip(left.iter_mut())
            .zip(right.iter_mut())
        {
            (*l, *r) = fdn_frame(f, *x, &c, &mut lp);
        }
        self.lp_state = lp;
        for (i, line) in self.lines.chunks_exact_mut(cap).enumerate() {
            for (d, f) in line[ws..ws + n].iter_mut().zip(sc.iter()) {
                *d = f[i];
            }
        }
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
            if !ramp && self.bypass.is_fully_on() && self.kernel != Kernel::PerFrame {
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

    /// The kernels this machine can run, besides [`Kernel::PerFrame`].
    fn kernels() -> Vec<Kernel> {
        #[allow(unused_mut)]
        let mut k = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            k.push(Kernel::Sse2);
            if std::arch::is_x86_feature_detected!("avx2") {
                k.push(Kernel::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                k.push(Kernel::Avx512);
            }
        }
        k
    }

    /// [`fdn_lanes`] with `V` (then the one-lane kernel for the rest) over frame-major `sc` (line reads in,
    /// line writes out).
    ///
    /// # Safety
    /// The CPU has `V`'s instruction set.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn lanes_on_frames<V: Lanes>(
        sc: &mut [[f32; LINES]],
        xb: &[f32],
        left: &mut [f32],
        right: &mut [f32],
        c: &FdnCoefs,
        lp: &mut [f32; LINES],
    ) {
        let n = sc.len();
        let rd: Vec<Vec<f32>> = (0..LINES)
            .map(|i| sc.iter().map(|f| f[i]).collect())
            .collect();
        let mut wr = vec![vec![0f32; n]; LINES];
        let ch = Chunk {
            rd: std::array::from_fn(|i| rd[i].as_ptr()),
            wr: std::array::from_fn(|i| wr[i].as_mut_ptr()),
            x: xb.as_ptr(),
            l: left.as_mut_ptr(),
            r: right.as_mut_ptr(),
            n,
        };
        let k = fdn_lanes::<V>(&ch, c, lp, 0);
        fdn_lanes::<f32>(&ch, c, lp, k);
        for (k, f) in sc.iter_mut().enumerate() {
            for (i, v) in f.iter_mut().enumerate() {
                *v = wr[i][k];
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn lanes_on_frames_avx2(
        sc: &mut [[f32; LINES]],
        xb: &[f32],
        left: &mut [f32],
        right: &mut [f32],
        c: &FdnCoefs,
        lp: &mut [f32; LINES],
    ) {
        lanes_on_frames::<core::arch::x86_64::__m256>(sc, xb, left, right, c, lp);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn lanes_on_frames_avx512(
        sc: &mut [[f32; LINES]],
        xb: &[f32],
        left: &mut [f32],
        right: &mut [f32],
        c: &FdnCoefs,
        lp: &mut [f32; LINES],
    ) {
        lanes_on_frames::<core::arch::x86_64::__m512>(sc, xb, left, right, c, lp);
    }

    /// Every vector kernel gives exactly the portable `fdn_frame`'s bits (state, writes and outputs), with
    /// values around the denormal flush threshold and a frame count that is no multiple of a vector.
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
        let n = 203;
        let sc0: Vec<[f32; LINES]> = (0..n)
            .map(|k| std::array::from_fn(|i| if (k + i) % 7 == 0 { 1e-21 } else { rnd() }))
            .collect();
        let xb: Vec<f32> = (0..n).map(|_| rnd()).collect();
        let lp0: [f32; LINES] = std::array::from_fn(|_| rnd());
        let (mut sc2, mut lp2) = (sc0.clone(), lp0);
        let (mut l2, mut r2) = (vec![0f32; n], vec![0f32; n]);
        for k in 0..n {
            (l2[k], r2[k]) = fdn_frame(&mut sc2[k], xb[k], &c, &mut lp2);
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for kernel in kernels() {
            let (mut sc, mut lp) = (sc0.clone(), lp0);
            let (mut l, mut r) = (vec![0f32; n], vec![0f32; n]);
            // SAFETY: each kernel is run only where `kernels` found its instruction set.
            unsafe {
                match kernel {
                    Kernel::Sse2 => lanes_on_frames::<core::arch::x86_64::__m128>(
                        &mut sc, &xb, &mut l, &mut r, &c, &mut lp,
                    ),
                    Kernel::Avx2 => lanes_on_frames_avx2(&mut sc, &xb, &mut l, &mut r, &c, &mut lp),
                    Kernel::Avx512 => {
                        lanes_on_frames_avx512(&mut sc, &xb, &mut l, &mut r, &c, &mut lp)
                    }
                    _ => lanes_on_frames::<f32>(&mut sc, &xb, &mut l, &mut r, &c, &mut lp),
                }
            }
            assert_eq!(bits(&l), bits(&l2), "{kernel:?}");
            assert_eq!(bits(&r), bits(&r2), "{kernel:?}");
            assert_eq!(bits(&lp), bits(&lp2), "{kernel:?}");
            assert_eq!(
                bits(sc.as_flattened()),
                bits(sc2.as_flattened()),
                "{kernel:?}"
            );
        }
    }

    /// Runs `rv` over the noise input in blocks of `sizes` (cycled), changing a parameter every 4,000 frames
    /// (decay, size, damping, pre-delay, width, bypass; blocks are split there, so the output does not depend
    /// on `sizes`), so both the per-frame and the steady paths are crossed; returns the output.
    fn render(mut rv: Reverb, sizes: &[usize]) -> (Vec<f32>, Vec<f32>) {
        const EVERY: usize = 4_000;
        let n = 150_000;
        let (mut l, mut r) = (
            crate::dsp::test_noise(5, n, 0.5),
            crate::dsp::test_noise(6, n, 0.5),
        );
        rv.set_enabled(true);
        let (mut i, mut step) = (0, 0);
        while i < n {
            if i % EVERY == 0 {
                let c = i / EVERY;
                match c % 6 {
                    0 => rv.set_decay_s(0.4 + (c % 7) as f32),
                    1 => rv.set_size(0.5 + 0.1 * (c % 16) as f32),
                    2 => rv.set_damping((c % 5) as f32 * 0.2),
                    3 => rv.set_pre_delay_ms((c % 9) as f32 * 30.0),
                    4 => rv.set_width((c % 4) as f32 * 0.3),
                    _ => rv.set_enabled(c % 4 != 3),
                }
            }
            let bs = sizes[step % sizes.len()].min(n - i).min(EVERY - i % EVERY);
            rv.process(&mut l[i..i + bs], &mut r[i..i + bs]);
            i += bs;
            step += 1;
        }
        (l, r)
    }

    /// Every steady-state kernel this machine supports gives the per-frame path's bits over a long noise
    /// input, for several block splits and with parameter changes (ramps and glides) in between.
    #[test]
    fn steady_kernels_equal_per_frame_path() {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut bad = Vec::new();
        for fs in [48_000.0, 44_100.0] {
            let mut reference = Reverb::new(fs);
            reference.kernel = Kernel::PerFrame;
            let (rl, rr) = render(reference, &[1000]);
            assert!(rl.iter().any(|&x| x.abs() > 1e-3));
            for kernel in kernels() {
                for sizes in [
                    &[1usize][..],
                    &[37],
                    &[64],
                    &[128],
                    &[1000],
                    &[256, 1, 37, 7, 500],
                ] {
                    let mut rv = Reverb::new(fs);
                    rv.kernel = kernel;
                    let (l, r) = render(rv, sizes);
                    let first = |a: &[f32], b: &[f32]| {
                        bits(a).iter().zip(bits(b)).position(|(x, y)| *x != y)
                    };
                    if first(&l, &rl).is_some() || first(&r, &rr).is_some() {
                        bad.push(format!(
                            "{kernel:?} {sizes:?} at {fs} Hz: {:?} {:?}",
                            first(&l, &rl),
                            first(&r, &rr)
                        ));
                    }
                }
            }
        }
        assert!(bad.is_empty(), "{bad:#?}");
    }
}
