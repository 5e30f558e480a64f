//! Runs on the audio thread: Andrew Simper's linear trapezoidal state-variable filter (Cytomic, "SvfLinearTrap").
//!
//! Why this structure rather than TDF-II biquads: the SVF is the bilinear transform of the same analog
//! prototypes the RBJ cookbook uses (with the same pre-warping at f0), so its low-pass, high-pass, bell and shelf
//! responses equal the cookbook's exactly; but its state variables are the integrator states, which stay
//! meaningful when g, k and the mix coefficients change every sample. Per-sample modulation therefore neither
//! blows up nor clicks, so the processors recompute coefficients every sample while a parameter ramps, with no
//! block-boundary dependence. State and coefficients are f64.

use super::util::flush_denormal;

/// Response type of one SVF section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SvfKind {
    /// Second-order low-pass.
    LowPass,
    /// Second-order high-pass.
    HighPass,
    /// Peaking bell (RBJ "peakingEQ").
    Bell,
    /// Low shelf (RBJ "lowShelf", Q form).
    LowShelf,
    /// High shelf (RBJ "highShelf", Q form).
    HighShelf,
}

/// Coefficients of one SVF section, in the state-space form the sample loops run.
///
/// Simper's tick, with `v3 = v0 − ic2`, `v1 = a1·ic1 + a2·v3`, `v2 = ic2 + a2·ic1 + a3·v3`, new states
/// `2·v1 − ic1`, `2·v2 − ic2` and output `m0·v0 + m1·v1 + m2·v2`, is 17 operations. Substituting `v1` and `v2`
/// gives the same linear system in 13:
///
/// ```text
/// v3   = v0 − ic2
/// ic1' = b·ic1 + c·v3              b = 2·a1 − 1, c = 2·a2
/// ic2' = (ic2 + c·ic1) + e·v3      e = 2·a3
/// y    = (y0·v0 + y1·ic1) + y3·v3  y0 = m0 + m2, y1 = m1·a1 + m2·a2, y3 = m1·a2 + m2·a3 − m2
/// ```
///
/// The output is taken from `v3` rather than `ic2` so that a high-pass (`y0 = 0`) never subtracts two large,
/// nearly equal products. Every path (scalar, SSE2, AVX, AVX-512) runs these operations in this order, in one
/// of two roundings ([`Madd`]): each product and sum rounded ([`Plain`], 13 operations), or the five
/// multiply-adds `c·v3 + b·ic1`, `c·ic1 + ic2`, `e·v3 + (…)`, `y1·ic1 + y0·v0`, `y3·v3 + (…)` fused
/// ([`Fused`], 8 operations: on this kind of machine the strip's filter cascade took 17 % of a full-strip render
/// with 13, and the render 7 % less time with 8). The EQ and pass filters run the flavour [`fused`] picks for
/// the process (the fused one wherever the CPU has FMA), so a steady chain and a per-sample ramp of the same
/// filters still give the same bits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SvfCoefs {
    b: f64,
    c: f64,
    e: f64,
    y0: f64,
    y1: f64,
    y3: f64,
}

impl SvfCoefs {
    /// The identity section (output = input).
    pub const IDENTITY: SvfCoefs = SvfCoefs {
        b: 1.0,
        c: 0.0,
        e: 0.0,
        y0: 1.0,
        y1: 0.0,
        y3: 0.0,
    };

    /// Designs a section. `freq_hz` is clamped to [1 Hz, 0.49·fs]; `q` to [0.05, 50]; `gain_db` is used by the
    /// bell and shelves only.
    pub fn new(kind: SvfKind, sample_rate_hz: f64, freq_hz: f64, q: f64, gain_db: f64) -> Self {
        let f = freq_hz.clamp(1.0, 0.49 * sample_rate_hz);
        let q = q.clamp(0.05, 50.0);
        let w = (std::f64::consts::PI * f / sample_rate_hz).tan();
        let a = 10f64.powf(gain_db / 40.0);
        let (g, k, m0, m1, m2) = match kind {
            SvfKind::LowPass => (w, 1.0 / q, 0.0, 0.0, 1.0),
            SvfKind::HighPass => (w, 1.0 / q, 1.0, -1.0 / q, -1.0),
            SvfKind::Bell => {
                let k = 1.0 / (q * a);
                (w, k, 1.0, k * (a * a - 1.0), 0.0)
            }
            SvfKind::LowShelf => {
                let k = 1.0 / q;
                (w / a.sqrt(), k, 1.0, k * (a - 1.0), a * a - 1.0)
            }
            SvfKind::HighShelf => {
                let k = 1.0 / q;
                (w * a.sqrt(), k, a * a, k * (1.0 - a) * a, 1.0 - a * a)
            }
        };
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        let a3 = g * a2;
        SvfCoefs {
            b: 2.0 * a1 - 1.0,
            c: 2.0 * a2,
            e: 2.0 * a3,
            y0: m0 + m2,
            y1: m1 * a1 + m2 * a2,
            y3: m1 * a2 + m2 * a3 - m2,
        }
    }

    /// Magnitude response in dB at `freq_hz` (for drawing; not used on the audio thread). The trapezoidal SVF
    /// is the bilinear transform of its analog prototype (pre-warped at f0), so its exact digital response is
    /// `H = m0 + (m1·s + m2)/(s² + k·s + 1)` at `s = j·tan(π·f/fs)/g`, with `g` and `k` recovered from the
    /// integrator coefficients.
    pub fn magnitude_db(&self, sample_rate_hz: f64, freq_hz: f64) -> f64 {
        let (a1, a2, a3) = ((self.b + 1.0) / 2.0, self.c / 2.0, self.e / 2.0);
        let g = a2 / a1;
        if g <= 0.0 {
            // identity section
            return 20.0 * self.y0.abs().log10();
        }
        let k = (1.0 / a1 - 1.0 - g * g) / g;
        // the output mix back from y1 = m1·a1 + m2·a2 and y3 = m1·a2 − m2·(1 − a3), then m0 = y0 − m2
        let det = -a1 * (1.0 - a3) - a2 * a2;
        let m1 = (-(1.0 - a3) * self.y1 - a2 * self.y3) / det;
        let m2 = (a1 * self.y3 - a2 * self.y1) / det;
        let m0 = self.y0 - m2;
        let w = (std::f64::consts::PI * freq_hz.clamp(0.0, 0.4999 * sample_rate_hz)
            / sample_rate_hz)
            .tan()
            / g;
        let (dr, di) = (1.0 - w * w, k * w);
        let (nr, ni) = (m0 * dr + m2, m0 * di + m1 * w);
        10.0 * ((nr * nr + ni * ni) / (dr * dr + di * di)).log10()
    }

    /// Linear blend of the output mix towards the identity: `amount` 0 gives the identity output, 1 this
    /// section. The integrator part is kept, so the blend is stable per sample.
    pub fn blend_with_identity(mut self, amount: f64) -> Self {
        // the output coefficients are linear in (m0, m1, m2), and the identity mix (1, 0, 0) gives (1, 0, 0)
        self.y0 = 1.0 + amount * (self.y0 - 1.0);
        self.y1 *= amount;
        self.y3 *= amount;
        self
    }
}

/// How an SVF tick rounds its multiply-adds `a·b + c`: the two results differ in the last bits, so every path
/// that must agree with another runs the same flavour.
pub trait Madd: Copy + 'static {
    /// Whether `a·b + c` is one fused, singly rounded operation.
    const FUSED: bool;
    /// `a·b + c`.
    fn madd(a: f64, b: f64, c: f64) -> f64;
}

/// The product and the sum rounded separately (IEEE `a * b + c`).
#[derive(Clone, Copy, Debug)]
pub struct Plain;

/// One fused multiply-add (`f64::mul_add`, correctly rounded once). Compiled with FMA enabled it is one
/// instruction; without, the same value through libm (slow, used only by tests on CPUs without FMA).
#[derive(Clone, Copy, Debug)]
pub struct Fused;

impl Madd for Plain {
    const FUSED: bool = false;
    #[inline(always)]
    fn madd(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

impl Madd for Fused {
    const FUSED: bool = true;
    #[inline(always)]
    fn madd(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

/// Whether this process runs the EQ and pass filters in the [`Fused`] flavour: where the CPU has FMA (x86_64
/// with FMA3, every aarch64). Fixed for the life of the process, so playback, render and every block size
/// agree.
#[inline]
pub fn fused() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(target_arch = "aarch64")]
    {
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// A processor whose block processing follows the SVF flavour ([`Madd`]): the EQ and the pass filters, whose
/// steady sections join [`Chain`]s and so must round as the chains do.
pub trait Flavoured {
    /// The block processing in flavour `M`. Implementations mark it `#[inline(always)]`, so that
    /// [`process_as`]'s FMA build compiles the whole loop with FMA.
    fn process_in<M: Madd>(&mut self, left: &mut [f32], right: &mut [f32]);
}

/// Runs `p` over the block in the fused flavour when `fused`, else the plain one; the fused flavour compiled
/// with FMA where the CPU has it (elsewhere through libm: slow, the same bits; only tests ask for that).
/// Processors call it with [`fused`] from `StereoProcessor::process`.
pub fn process_as<P: Flavoured>(p: &mut P, fused: bool, left: &mut [f32], right: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if fused && self::fused() {
        // SAFETY: `fused()` is true on x86_64 only where the CPU has FMA.
        unsafe { process_fma(p, left, right) };
        return;
    }
    if fused {
        p.process_in::<Fused>(left, right)
    } else {
        p.process_in::<Plain>(left, right)
    }
}

/// [`Flavoured::process_in`] in the fused flavour, compiled with FMA.
///
/// # Safety
/// The CPU must support FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn process_fma<P: Flavoured>(p: &mut P, left: &mut [f32], right: &mut [f32]) {
    p.process_in::<Fused>(left, right)
}

/// Whether a loop in flavour `M` may use the SSE2 lanes of [`stereo`] (x86_64 only): always for the plain
/// flavour; for the fused one, only where the CPU has FMA — [`process_as`] runs a fused loop without FMA
/// compiled in only on a CPU without it, and that run must take the scalar loop.
#[inline(always)]
pub fn stereo_lanes<M: Madd>() -> bool {
    cfg!(target_arch = "x86_64") && (!M::FUSED || fused())
}

/// Integrator state of one SVF section for one channel.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SvfState {
    ic1: f64,
    ic2: f64,
}

impl SvfState {
    /// Processes one sample in the [`Plain`] flavour (for filters that never join a [`Chain`]: the delay's
    /// feedback filters, the compressor's side chain).
    #[inline(always)]
    pub fn tick(&mut self, c: &SvfCoefs, v0: f64) -> f64 {
        self.tick_in::<Plain>(c, v0)
    }

    /// Processes one sample in flavour `M`.
    #[inline(always)]
    pub fn tick_in<M: Madd>(&mut self, c: &SvfCoefs, v0: f64) -> f64 {
        let (ic1, ic2) = (self.ic1, self.ic2);
        let v3 = v0 - ic2;
        self.ic1 = M::madd(c.c, v3, c.b * ic1);
        self.ic2 = M::madd(c.e, v3, M::madd(c.c, ic1, ic2));
        M::madd(c.y3, v3, M::madd(c.y1, ic1, c.y0 * v0))
    }

    /// Processes one sample in the fused flavour when `fused`, else the plain one (for tests and references).
    pub fn tick_as(&mut self, fused: bool, c: &SvfCoefs, v0: f64) -> f64 {
        if fused {
            self.tick_in::<Fused>(c, v0)
        } else {
            self.tick_in::<Plain>(c, v0)
        }
    }

    /// Flushes tiny state values to zero (call once per block).
    #[inline]
    pub fn flush(&mut self) {
        self.ic1 = flush_denormal(self.ic1);
        self.ic2 = flush_denormal(self.ic2);
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        *self = SvfState::default();
    }
}

/// Processes one stereo frame through a left and a right state with the same coefficients, in the [`Plain`]
/// flavour. Bit-identical to two [`SvfState::tick`] calls.
#[inline(always)]
pub fn tick_stereo(st: &mut [SvfState; 2], c: &SvfCoefs, v0: [f64; 2]) -> [f64; 2] {
    tick_stereo_in::<Plain>(st, c, v0)
}

/// [`tick_stereo`] in flavour `M`, written lane-wise so the compiler can use packed f64 arithmetic.
/// Bit-identical to two [`SvfState::tick_in`] calls.
#[inline(always)]
pub fn tick_stereo_in<M: Madd>(st: &mut [SvfState; 2], c: &SvfCoefs, v0: [f64; 2]) -> [f64; 2] {
    let ic1 = [st[0].ic1, st[1].ic1];
    let ic2 = [st[0].ic2, st[1].ic2];
    let mut out = [0.0; 2];
    let mut n1 = [0.0; 2];
    let mut n2 = [0.0; 2];
    for k in 0..2 {
        let v3 = v0[k] - ic2[k];
        n1[k] = M::madd(c.c, v3, c.b * ic1[k]);
        n2[k] = M::madd(c.e, v3, M::madd(c.c, ic1[k], ic2[k]));
        out[k] = M::madd(c.y3, v3, M::madd(c.y1, ic1[k], c.y0 * v0[k]));
    }
    st[0].ic1 = n1[0];
    st[1].ic1 = n1[1];
    st[0].ic2 = n2[0];
    st[1].ic2 = n2[1];
    out
}

/// Both channels of one SVF section in one SSE2 register pair (x86_64; SSE2 is part of the base ISA there), for
/// the steady-state loops. Every lane does exactly [`SvfState::tick_in`]'s f64 operations in the same order and
/// flavour, so results are bit-identical to the scalar path; what changes is that the left and right
/// recurrences share instructions and the state stays in registers without shuffles.
#[cfg(target_arch = "x86_64")]
pub mod stereo {
    use super::{Madd, Plain, SvfCoefs, SvfState};
    use core::arch::x86_64::*;

    /// `a·b + c` on both lanes in flavour `M`. The fused one must be inlined into a function compiled with FMA
    /// (only reached where the CPU has it).
    #[inline(always)]
    unsafe fn madd<M: Madd>(a: __m128d, b: __m128d, c: __m128d) -> __m128d {
        if M::FUSED {
            _mm_fmadd_pd(a, b, c)
        } else {
            _mm_add_pd(_mm_mul_pd(a, b), c)
        }
    }

    /// Coefficients broadcast to both lanes.
    #[derive(Clone, Copy)]
    pub struct Coefs2 {
        b: __m128d,
        c: __m128d,
        e: __m128d,
        y0: __m128d,
        y1: __m128d,
        y3: __m128d,
    }

    impl Coefs2 {
        /// Broadcast `c`.
        #[inline(always)]
        pub fn new(c: &SvfCoefs) -> Self {
            // SAFETY (every block in this module): SSE2 is part of the x86_64 base ISA; register-only
            // operations except the noted stores.
            unsafe {
                Coefs2 {
                    b: _mm_set1_pd(c.b),
                    c: _mm_set1_pd(c.c),
                    e: _mm_set1_pd(c.e),
                    y0: _mm_set1_pd(c.y0),
                    y1: _mm_set1_pd(c.y1),
                    y3: _mm_set1_pd(c.y3),
                }
            }
        }
    }

    /// Integrator states of the left (low lane) and right (high lane) channel.
    #[derive(Clone, Copy)]
    pub struct State2 {
        ic1: __m128d,
        ic2: __m128d,
    }

    impl State2 {
        /// From the scalar states `[left, right]`.
        #[inline(always)]
        pub fn load(st: &[SvfState; 2]) -> Self {
            // SAFETY: see `Coefs2::new`.
            unsafe {
                State2 {
                    ic1: _mm_set_pd(st[1].ic1, st[0].ic1),
                    ic2: _mm_set_pd(st[1].ic2, st[0].ic2),
                }
            }
        }

        /// Back into the scalar states.
        #[inline(always)]
        pub fn store(self, st: &mut [SvfState; 2]) {
            let (mut a, mut b) = ([0.0f64; 2], [0.0f64; 2]);
            // SAFETY: SSE2 is baseline; each array holds two f64 (unaligned stores).
            unsafe {
                _mm_storeu_pd(a.as_mut_ptr(), self.ic1);
                _mm_storeu_pd(b.as_mut_ptr(), self.ic2);
            }
            st[0].ic1 = a[0];
            st[1].ic1 = a[1];
            st[0].ic2 = b[0];
            st[1].ic2 = b[1];
        }

        /// [`SvfState::tick`] on both lanes ([`Plain`]).
        #[inline(always)]
        pub fn tick(&mut self, c: &Coefs2, v0: __m128d) -> __m128d {
            // SAFETY: the plain flavour uses SSE2 only.
            unsafe { self.tick_in::<Plain>(c, v0) }
        }

        /// [`SvfState::tick_in`] on both lanes.
        ///
        /// # Safety
        /// For [`super::Fused`], the caller is compiled with FMA enabled (and the CPU has it).
        #[inline(always)]
        pub unsafe fn tick_in<M: Madd>(&mut self, c: &Coefs2, v0: __m128d) -> __m128d {
            let (ic1, ic2) = (self.ic1, self.ic2);
            let v3 = _mm_sub_pd(v0, ic2);
            self.ic1 = madd::<M>(c.c, v3, _mm_mul_pd(c.b, ic1));
            self.ic2 = madd::<M>(c.e, v3, madd::<M>(c.c, ic1, ic2));
            madd::<M>(c.y3, v3, madd::<M>(c.y1, ic1, _mm_mul_pd(c.y0, v0)))
        }
    }

    /// `[l as f64, r as f64]`.
    #[inline(always)]
    pub fn frame_in(l: f32, r: f32) -> __m128d {
        // SAFETY: see `Coefs2::new`.
        unsafe { _mm_cvtps_pd(_mm_set_ps(0.0, 0.0, r, l)) }
    }

    /// `(x[0] as f32, x[1] as f32)`.
    #[inline(always)]
    pub fn frame_out(x: __m128d) -> (f32, f32) {
        // SAFETY: see `Coefs2::new`.
        unsafe {
            let y = _mm_cvtpd_ps(x);
            (_mm_cvtss_f32(y), _mm_cvtss_f32(_mm_shuffle_ps::<1>(y, y)))
        }
    }
}

/// How a filter processor stands for a combined [`Chain`] run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainMode {
    /// Bypassed and faded out: it leaves the audio untouched.
    Off,
    /// Fully on with every parameter at rest: its sections can join a chain.
    Steady,
    /// A ramp or bypass fade runs: it must run on its own, per sample.
    Moving,
}

/// Most sections one [`Chain`] holds: a 24 dB/oct high-pass and low-pass (two sections each) and four EQ bands.
pub const CHAIN_MAX: usize = 8;

/// A cascade of steady SVF sections gathered from several processors (the strip's high-pass, low-pass and EQ),
/// run as one loop. `round_after[s]` marks the last section of a processor: its output is rounded to f32 there,
/// exactly as when each processor runs on its own (they exchange f32 buffers), so the chain is bit-identical to
/// running the processors one after another.
#[derive(Clone, Copy, Debug)]
pub struct Chain {
    /// Section coefficients, in signal order.
    pub coefs: [SvfCoefs; CHAIN_MAX],
    /// Left/right states per section.
    pub st: [[SvfState; 2]; CHAIN_MAX],
    /// Round the section's output to f32 (the end of a processor).
    pub round_after: [bool; CHAIN_MAX],
    /// Sections in use.
    pub len: usize,
}

impl Default for Chain {
    fn default() -> Self {
        Chain {
            coefs: [SvfCoefs::IDENTITY; CHAIN_MAX],
            st: [[SvfState::default(); 2]; CHAIN_MAX],
            round_after: [false; CHAIN_MAX],
            len: 0,
        }
    }
}

impl Chain {
    /// Appends a section; returns its index (None when full).
    #[inline]
    pub fn push(&mut self, c: SvfCoefs, st: [SvfState; 2]) -> Option<usize> {
        let i = self.len;
        if i >= CHAIN_MAX {
            return None;
        }
        self.coefs[i] = c;
        self.st[i] = st;
        self.round_after[i] = false;
        self.len += 1;
        Some(i)
    }

    /// Marks the end of a processor: the last section pushed rounds its output to f32.
    #[inline]
    pub fn end_processor(&mut self) {
        if self.len > 0 {
            self.round_after[self.len - 1] = true;
        }
    }

    /// Runs the sections over the block in place, in the process's flavour ([`fused`]). Bit-identical to
    /// ticking the sections frame by frame (see [`Chain::run_reference_as`]).
    pub fn run(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.run_as(fused(), left, right)
    }

    /// [`Chain::run`] in the fused flavour when `fused`, else the plain one (a fused run on a CPU without FMA
    /// goes through the scalar reference).
    pub fn run_as(&mut self, fused: bool, left: &mut [f32], right: &mut [f32]) {
        if self.len == 0 {
            return;
        }
        self.round_after[self.len - 1] = true;
        #[cfg(target_arch = "x86_64")]
        {
            if !fused {
                skew::run_sse2(self, left, right);
            } else if super::svf::fused() {
                // SAFETY: `fused()` is true on x86_64 only where the CPU has FMA.
                unsafe { skew::run_sse2_fma(self, left, right) };
            } else {
                self.run_reference_as(true, left, right);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.run_reference_as(fused, left, right);
    }

    /// Frame by frame through every section with scalar f64 arithmetic, in the fused flavour when `fused`, else
    /// the plain one: the reference for [`Chain::run_as`].
    pub fn run_reference_as(&mut self, fused: bool, left: &mut [f32], right: &mut [f32]) {
        if fused {
            self.run_reference_in::<Fused>(left, right)
        } else {
            self.run_reference_in::<Plain>(left, right)
        }
    }

    fn run_reference_in<M: Madd>(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.len == 0 {
            return;
        }
        self.round_after[self.len - 1] = true;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let mut x = [*l as f64, *r as f64];
            for s in 0..self.len {
                x = tick_stereo_in::<M>(&mut self.st[s], &self.coefs[s], x);
                if self.round_after[s] {
                    x = [x[0] as f32 as f64, x[1] as f32 as f64];
                }
            }
            (*l, *r) = (x[0] as f32, x[1] as f32);
        }
    }
}

/// Runs two chains with the same structure (length and rounding points) over two tracks' blocks at once:
/// with AVX, both tracks' left and right channels share one 4-lane f64 register per section (the same f64
/// operations per lane, so bit-identical to [`Chain::run`] on each). Chains of different structure, blocks of
/// different length, or a CPU without AVX run one after the other.
pub fn run_pair(
    a: &mut Chain,
    b: &mut Chain,
    io_a: (&mut [f32], &mut [f32]),
    io_b: (&mut [f32], &mut [f32]),
) {
    run_pair_as(fused(), a, b, io_a, io_b)
}

/// [`run_pair`] in the fused flavour when `fused`, else the plain one.
pub fn run_pair_as(
    fused: bool,
    a: &mut Chain,
    b: &mut Chain,
    (la, ra): (&mut [f32], &mut [f32]),
    (lb, rb): (&mut [f32], &mut [f32]),
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") && (!fused || self::fused()) {
        let mut ch = [a, b];
        let mut io = [la, ra, lb, rb];
        if skew::prepare(&mut ch, &io) {
            // SAFETY: AVX is present, and FMA for the fused flavour (checked just above); `prepare` checked
            // the structures and lengths.
            unsafe {
                if fused {
                    skew::run_avx_fma(&mut ch, &mut io)
                } else {
                    skew::run_avx(&mut ch, &mut io)
                }
            };
            return;
        }
        let ([a, b], [la, ra, lb, rb]) = (ch, io);
        a.run_as(fused, la, ra);
        b.run_as(fused, lb, rb);
        return;
    }
    a.run_as(fused, la, ra);
    b.run_as(fused, lb, rb);
}

/// Runs four chains with the same structure over four tracks' blocks at once: with AVX-512F, the left and
/// right channels of all four tracks share one 8-lane f64 register per section (the same f64 operations per
/// lane as [`SvfState::tick`], so bit-identical to [`Chain::run`] on each). Otherwise, or when the structures
/// or block lengths differ, two [`run_pair`] calls.
pub fn run_quad(c: [&mut Chain; 4], io: [(&mut [f32], &mut [f32]); 4]) {
    run_quad_as(fused(), c, io)
}

/// [`run_quad`] in the fused flavour when `fused`, else the plain one.
pub fn run_quad_as(fused: bool, c: [&mut Chain; 4], io: [(&mut [f32], &mut [f32]); 4]) {
    let [c0, c1, c2, c3] = c;
    let [(l0, r0), (l1, r1), (l2, r2), (l3, r3)] = io;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && (!fused || self::fused()) {
        let mut ch = [c0, c1, c2, c3];
        let mut io = [l0, r0, l1, r1, l2, r2, l3, r3];
        if skew::prepare(&mut ch, &io) {
            // SAFETY: AVX-512F is present, and FMA for the fused flavour (checked just above); `prepare`
            // checked the structures and lengths.
            unsafe {
                if fused {
                    skew::run_avx512::<true>(&mut ch, &mut io)
                } else {
                    skew::run_avx512::<false>(&mut ch, &mut io)
                }
            };
            return;
        }
        let ([c0, c1, c2, c3], [l0, r0, l1, r1, l2, r2, l3, r3]) = (ch, io);
        run_pair_as(fused, c0, c1, (l0, r0), (l1, r1));
        run_pair_as(fused, c2, c3, (l2, r2), (l3, r3));
        return;
    }
    run_pair_as(fused, c0, c1, (l0, r0), (l1, r1));
    run_pair_as(fused, c2, c3, (l2, r2), (l3, r3));
}

/// The chain as a skewed pipeline: at step `t` section `s` works on frame `t − s`, so the sections of one step
/// are independent of each other and only each section's own state recurrence links the steps. Frame by frame
/// (every section on the same frame) each frame waits on the whole cascade's latency; skewed, the processor
/// overlaps all sections. Every section still sees the same inputs in the same order, so the result is
/// bit-identical to [`Chain::run_reference_as`].
///
/// One loop serves every register width: the left and right channels of one track in SSE2 lanes (x86_64 base
/// ISA, [`Chain::run`]), of two tracks in AVX lanes ([`run_pair`]) or of four in AVX-512 lanes ([`run_quad`]),
/// lanes `[L0, R0, L1, R1, …]`. Each lane does exactly [`SvfState::tick_in`]'s f64 operations in the same order
/// and flavour (the const parameter `F` of the lane types: fused multiply-adds or not).
#[cfg(target_arch = "x86_64")]
mod skew {
    use super::Chain;
    use core::arch::x86_64::*;

    /// A register of f64 lanes for the left and right channels of one, two or four tracks, and the f32 frames it
    /// exchanges with their buffers.
    pub(super) trait Lanes {
        type V: Copy;
        /// Whether [`Lanes::madd`] is fused (the flavour of the run).
        const FUSED: bool;
        unsafe fn splat_tracks(x: [f64; 4]) -> Self::V;
        unsafe fn lanes(x: [f64; 8]) -> Self::V;
        unsafe fn to_lanes(v: Self::V) -> [f64; 8];
        unsafe fn zero() -> Self::V;
        /// `a·b + c`, fused when the lane type's `F` is true.
        unsafe fn madd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
        unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
        unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
        /// f64 → f32 → f64 in every lane.
        unsafe fn round_f32(v: Self::V) -> Self::V;
        /// Frame `t` of the buffers `[L0, R0, L1, R1, …]` (`t` in bounds).
        unsafe fn input(io: &[&mut [f32]], t: usize) -> Self::V;
        /// Writes frame `o` (in bounds).
        unsafe fn output(io: &mut [&mut [f32]], o: usize, v: Self::V);
    }

    pub(super) struct Sse2<const F: bool>;
    pub(super) struct Avx<const F: bool>;
    pub(super) struct Avx512<const F: bool>;

    impl<const F: bool> Lanes for Sse2<F> {
        type V = __m128d;
        const FUSED: bool = F;
        #[inline(always)]
        unsafe fn splat_tracks(x: [f64; 4]) -> __m128d {
            _mm_set1_pd(x[0])
        }
        #[inline(always)]
        unsafe fn lanes(x: [f64; 8]) -> __m128d {
            _mm_set_pd(x[1], x[0])
        }
        #[inline(always)]
        unsafe fn to_lanes(v: __m128d) -> [f64; 8] {
            let mut x = [0f64; 8];
            _mm_storeu_pd(x.as_mut_ptr(), v);
            x
        }
        #[inline(always)]
        unsafe fn zero() -> __m128d {
            _mm_setzero_pd()
        }
        #[inline(always)]
        unsafe fn madd(a: __m128d, b: __m128d, c: __m128d) -> __m128d {
            if F {
                _mm_fmadd_pd(a, b, c)
            } else {
                _mm_add_pd(_mm_mul_pd(a, b), c)
            }
        }
        #[inline(always)]
        unsafe fn sub(a: __m128d, b: __m128d) -> __m128d {
            _mm_sub_pd(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m128d, b: __m128d) -> __m128d {
            _mm_mul_pd(a, b)
        }
        #[inline(always)]
        unsafe fn round_f32(v: __m128d) -> __m128d {
            _mm_cvtps_pd(_mm_cvtpd_ps(v))
        }
        #[inline(always)]
        unsafe fn input(io: &[&mut [f32]], t: usize) -> __m128d {
            let x = |k: usize| *io.get_unchecked(k).get_unchecked(t);
            _mm_cvtps_pd(_mm_set_ps(0.0, 0.0, x(1), x(0)))
        }
        #[inline(always)]
        unsafe fn output(io: &mut [&mut [f32]], o: usize, v: __m128d) {
            let mut y = [0f32; 4];
            _mm_storeu_ps(y.as_mut_ptr(), _mm_cvtpd_ps(v));
            for (k, y) in y.iter().enumerate().take(2) {
                *io.get_unchecked_mut(k).get_unchecked_mut(o) = *y;
            }
        }
    }

    impl<const F: bool> Lanes for Avx<F> {
        type V = __m256d;
        const FUSED: bool = F;
        #[inline(always)]
        unsafe fn splat_tracks(x: [f64; 4]) -> __m256d {
            _mm256_set_pd(x[1], x[1], x[0], x[0])
        }
        #[inline(always)]
        unsafe fn lanes(x: [f64; 8]) -> __m256d {
            _mm256_loadu_pd(x.as_ptr())
        }
        #[inline(always)]
        unsafe fn to_lanes(v: __m256d) -> [f64; 8] {
            let mut x = [0f64; 8];
            _mm256_storeu_pd(x.as_mut_ptr(), v);
            x
        }
        #[inline(always)]
        unsafe fn zero() -> __m256d {
            _mm256_setzero_pd()
        }
        #[inline(always)]
        unsafe fn madd(a: __m256d, b: __m256d, c: __m256d) -> __m256d {
            if F {
                _mm256_fmadd_pd(a, b, c)
            } else {
                _mm256_add_pd(_mm256_mul_pd(a, b), c)
            }
        }
        #[inline(always)]
        unsafe fn sub(a: __m256d, b: __m256d) -> __m256d {
            _mm256_sub_pd(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m256d, b: __m256d) -> __m256d {
            _mm256_mul_pd(a, b)
        }
        #[inline(always)]
        unsafe fn round_f32(v: __m256d) -> __m256d {
            _mm256_cvtps_pd(_mm256_cvtpd_ps(v))
        }
        #[inline(always)]
        unsafe fn input(io: &[&mut [f32]], t: usize) -> __m256d {
            let x = |k: usize| *io.get_unchecked(k).get_unchecked(t);
            _mm256_cvtps_pd(_mm_set_ps(x(3), x(2), x(1), x(0)))
        }
        #[inline(always)]
        unsafe fn output(io: &mut [&mut [f32]], o: usize, v: __m256d) {
            let mut y = [0f32; 4];
            _mm_storeu_ps(y.as_mut_ptr(), _mm256_cvtpd_ps(v));
            for (k, y) in y.iter().enumerate() {
                *io.get_unchecked_mut(k).get_unchecked_mut(o) = *y;
            }
        }
    }

    impl<const F: bool> Lanes for Avx512<F> {
        type V = __m512d;
        const FUSED: bool = F;
        #[inline(always)]
        unsafe fn splat_tracks(x: [f64; 4]) -> __m512d {
            _mm512_set_pd(x[3], x[3], x[2], x[2], x[1], x[1], x[0], x[0])
        }
        #[inline(always)]
        unsafe fn lanes(x: [f64; 8]) -> __m512d {
            _mm512_loadu_pd(x.as_ptr())
        }
        #[inline(always)]
        unsafe fn to_lanes(v: __m512d) -> [f64; 8] {
            let mut x = [0f64; 8];
            _mm512_storeu_pd(x.as_mut_ptr(), v);
            x
        }
        #[inline(always)]
        unsafe fn zero() -> __m512d {
            _mm512_setzero_pd()
        }
        #[inline(always)]
        unsafe fn madd(a: __m512d, b: __m512d, c: __m512d) -> __m512d {
            if F {
                _mm512_fmadd_pd(a, b, c)
            } else {
                _mm512_add_pd(_mm512_mul_pd(a, b), c)
            }
        }
        #[inline(always)]
        unsafe fn sub(a: __m512d, b: __m512d) -> __m512d {
            _mm512_sub_pd(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m512d, b: __m512d) -> __m512d {
            _mm512_mul_pd(a, b)
        }
        #[inline(always)]
        unsafe fn round_f32(v: __m512d) -> __m512d {
            _mm512_cvtps_pd(_mm512_cvtpd_ps(v))
        }
        #[inline(always)]
        unsafe fn input(io: &[&mut [f32]], t: usize) -> __m512d {
            let x = |k: usize| *io.get_unchecked(k).get_unchecked(t);
            _mm512_cvtps_pd(_mm256_set_ps(
                x(7),
                x(6),
                x(5),
                x(4),
                x(3),
                x(2),
                x(1),
                x(0),
            ))
        }
        #[inline(always)]
        unsafe fn output(io: &mut [&mut [f32]], o: usize, v: __m512d) {
            let mut y = [0f32; 8];
            _mm256_storeu_ps(y.as_mut_ptr(), _mm512_cvtpd_ps(v));
            for (k, y) in y.iter().enumerate() {
                *io.get_unchecked_mut(k).get_unchecked_mut(o) = *y;
            }
        }
    }

    /// One section's coefficients, each track's in both of its lanes.
    #[derive(Clone, Copy)]
    struct Coefs<V> {
        b: V,
        c: V,
        e: V,
        y0: V,
        y1: V,
        y3: V,
    }

    /// One section's integrator states, lane by lane.
    #[derive(Clone, Copy)]
    struct State<V> {
        ic1: V,
        ic2: V,
    }

    /// [`super::SvfState::tick_in`] on every lane (the same operations in the same order and flavour).
    #[inline(always)]
    unsafe fn tick<L: Lanes>(s: &mut State<L::V>, c: &Coefs<L::V>, v0: L::V) -> L::V {
        let (ic1, ic2) = (s.ic1, s.ic2);
        let v3 = L::sub(v0, ic2);
        s.ic1 = L::madd(c.c, v3, L::mul(c.b, ic1));
        s.ic2 = L::madd(c.e, v3, L::madd(c.c, ic1, ic2));
        L::madd(c.y3, v3, L::madd(c.y1, ic1, L::mul(c.y0, v0)))
    }

    /// Whether the chains (at most four) can share one run: the same length and rounding points, and every
    /// buffer (two per chain) the same length. If so, marks the last section of each as rounding (as
    /// [`Chain::run`] does).
    pub(super) fn prepare(ch: &mut [&mut Chain], io: &[&mut [f32]]) -> bool {
        let len = ch[0].len;
        let shape = |c: &Chain| {
            c.len == len && c.round_after[..len.max(1) - 1] == ch[0].round_after[..len.max(1) - 1]
        };
        let n = io[0].len();
        let ok = len > 0 && ch.iter().all(|c| shape(c)) && io.iter().all(|x| x.len() == n);
        if ok {
            for c in ch.iter_mut() {
                c.round_after[len - 1] = true;
            }
        }
        ok
    }

    /// The pipeline for `K` sections over as many chains as `L` has tracks, and their buffers `io`.
    #[inline(always)]
    unsafe fn run<L: Lanes, const K: usize>(ch: &mut [&mut Chain], io: &mut [&mut [f32]]) {
        let n = io[0].len();
        if n < K {
            for (k, c) in ch.iter_mut().enumerate() {
                if let [l, r] = &mut io[2 * k..2 * k + 2] {
                    c.run_reference_as(L::FUSED, l, r);
                }
            }
            return;
        }
        let per_track = |s: usize, f: fn(&super::SvfCoefs) -> f64| {
            let mut x = [0f64; 4];
            for (k, c) in ch.iter().enumerate() {
                x[k] = f(&c.coefs[s]);
            }
            L::splat_tracks(x)
        };
        let c: [Coefs<L::V>; K] = std::array::from_fn(|s| Coefs {
            b: per_track(s, |c| c.b),
            c: per_track(s, |c| c.c),
            e: per_track(s, |c| c.e),
            y0: per_track(s, |c| c.y0),
            y1: per_track(s, |c| c.y1),
            y3: per_track(s, |c| c.y3),
        });
        let mut st: [State<L::V>; K] = std::array::from_fn(|s| {
            let (mut x, mut y) = ([0f64; 8], [0f64; 8]);
            for (k, c) in ch.iter().enumerate() {
                for lr in 0..2 {
                    x[2 * k + lr] = c.st[s][lr].ic1;
                    y[2 * k + lr] = c.st[s][lr].ic2;
                }
            }
            State {
                ic1: L::lanes(x),
                ic2: L::lanes(y),
            }
        });
        let round: [bool; K] = std::array::from_fn(|s| ch[0].round_after[s]);
        let mut pipe: [L::V; K] = [L::zero(); K];
        // Prologue: steps 0 .. K−1, sections 0 ..= t active.
        for t in 0..K - 1 {
            pipe[0] = L::input(io, t);
            for s in (0..=t).rev() {
                let mut y = tick::<L>(&mut st[s], &c[s], pipe[s]);
                if round[s] {
                    y = L::round_f32(y);
                }
                pipe[s + 1] = y;
            }
        }
        // Steady part: every section active; section K−1 finishes frame t − K + 1.
        for t in K - 1..n {
            pipe[0] = L::input(io, t);
            for s in (0..K).rev() {
                let y = tick::<L>(&mut st[s], &c[s], pipe[s]);
                if s + 1 < K {
                    pipe[s + 1] = if round[s] { L::round_f32(y) } else { y };
                } else {
                    L::output(io, t + 1 - K, y);
                }
            }
        }
        // Epilogue: steps n .. n+K−2, sections whose frame t − s is still < n.
        for t in n..n + K - 1 {
            for s in (t + 1 - n..K).rev() {
                let y = tick::<L>(&mut st[s], &c[s], pipe[s]);
                if s + 1 < K {
                    pipe[s + 1] = if round[s] { L::round_f32(y) } else { y };
                } else {
                    L::output(io, t + 1 - K, y);
                }
            }
        }
        for (s, v) in st.iter().enumerate() {
            let (x, y) = (L::to_lanes(v.ic1), L::to_lanes(v.ic2));
            for (k, c) in ch.iter_mut().enumerate() {
                for lr in 0..2 {
                    c.st[s][lr].ic1 = x[2 * k + lr];
                    c.st[s][lr].ic2 = y[2 * k + lr];
                }
            }
        }
    }

    /// [`run`] for the chains' length (1 ..= 8).
    #[inline(always)]
    unsafe fn by_len<L: Lanes>(ch: &mut [&mut Chain], io: &mut [&mut [f32]]) {
        match ch[0].len {
            1 => run::<L, 1>(ch, io),
            2 => run::<L, 2>(ch, io),
            3 => run::<L, 3>(ch, io),
            4 => run::<L, 4>(ch, io),
            5 => run::<L, 5>(ch, io),
            6 => run::<L, 6>(ch, io),
            7 => run::<L, 7>(ch, io),
            _ => run::<L, 8>(ch, io),
        }
    }

    /// One chain in SSE2 lanes (x86_64 base ISA), plain flavour.
    pub(super) fn run_sse2(ch: &mut Chain, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        // SAFETY: SSE2 is part of the x86_64 base ISA; both buffers hold `n` frames.
        unsafe { by_len::<Sse2<false>>(&mut [ch], &mut [&mut left[..n], &mut right[..n]]) }
    }

    /// One chain in SSE2 lanes, fused flavour.
    ///
    /// # Safety
    /// The CPU must support FMA.
    #[target_feature(enable = "fma")]
    pub(super) unsafe fn run_sse2_fma(ch: &mut Chain, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        by_len::<Sse2<true>>(&mut [ch], &mut [&mut left[..n], &mut right[..n]])
    }

    /// # Safety
    /// The CPU must support AVX; [`prepare`] accepted the two chains and four buffers.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn run_avx(ch: &mut [&mut Chain; 2], io: &mut [&mut [f32]; 4]) {
        by_len::<Avx<false>>(ch, io)
    }

    /// [`run_avx`] in the fused flavour.
    ///
    /// # Safety
    /// The CPU must support AVX and FMA; [`prepare`] accepted the two chains and four buffers.
    #[target_feature(enable = "avx,fma")]
    pub(super) unsafe fn run_avx_fma(ch: &mut [&mut Chain; 2], io: &mut [&mut [f32]; 4]) {
        by_len::<Avx<true>>(ch, io)
    }

    /// # Safety
    /// The CPU must support AVX-512F (and FMA, which every AVX-512 CPU has); [`prepare`] accepted the four
    /// chains and eight buffers.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn run_avx512<const F: bool>(
        ch: &mut [&mut Chain; 4],
        io: &mut [&mut [f32]; 8],
    ) {
        by_len::<Avx512<F>>(ch, io)
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    use crate::dsp::test_noise as noise;

    #[test]
    fn skewed_chain_is_bit_identical_to_frame_by_frame_ticks() {
        for fused in [false, true] {
            skewed_chain_is_bit_identical_to_frame_by_frame_ticks_as(fused);
        }
    }

    fn skewed_chain_is_bit_identical_to_frame_by_frame_ticks_as(fused: bool) {
        let fs = 48_000.0;
        let kinds = [
            (SvfKind::HighPass, 40.0, 0.54, 0.0),
            (SvfKind::HighPass, 40.0, 1.31, 0.0),
            (SvfKind::LowPass, 12_000.0, 0.707, 0.0),
            (SvfKind::LowShelf, 120.0, 0.7, -2.0),
            (SvfKind::Bell, 400.0, 1.5, -3.0),
            (SvfKind::Bell, 3_000.0, 1.0, 2.0),
            (SvfKind::HighShelf, 8_000.0, 0.7, 1.0),
            (SvfKind::Bell, 90.0, 8.0, 12.0),
        ];
        for len in 1..=CHAIN_MAX {
            for rounding in [0u32, 0b1010_0101, 0xff] {
                let mut a = Chain::default();
                for (s, &(k, f, q, g)) in kinds[..len].iter().enumerate() {
                    a.push(SvfCoefs::new(k, fs, f, q, g), [SvfState::default(); 2]);
                    a.round_after[s] = rounding & (1 << s) != 0;
                }
                let mut b = a;
                let (l0, r0) = (noise(len as u32, 3_000, 0.9), noise(77, 3_000, 0.4));
                let (mut l1, mut r1, mut l2, mut r2) = (l0.clone(), r0.clone(), l0.clone(), r0);
                // uneven runs, including ones shorter than the chain
                for (x, y) in [(0, 3), (3, 1_000), (1_000, 1_001), (1_001, 3_000)] {
                    a.run_as(fused, &mut l1[x..y], &mut r1[x..y]);
                    b.run_reference_as(fused, &mut l2[x..y], &mut r2[x..y]);
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&l1), bits(&l2), "left, {len} sections, fused {fused}");
                assert_eq!(bits(&r1), bits(&r2), "right, {len} sections");
                assert_eq!(a.st, b.st, "state, {len} sections, fused {fused}");
                assert_ne!(bits(&l1), bits(&l0), "the chain did nothing");
            }
        }
    }

    #[test]
    fn paired_chains_are_bit_identical_to_each_run_alone() {
        for fused in [false, true] {
            paired_chains_are_bit_identical_to_each_run_alone_as(fused);
        }
    }

    fn paired_chains_are_bit_identical_to_each_run_alone_as(fused: bool) {
        let fs = 44_100.0;
        let mk = |len: usize, shift: f64| {
            let mut c = Chain::default();
            for s in 0..len {
                let kind = [SvfKind::HighPass, SvfKind::LowShelf, SvfKind::Bell][s % 3];
                let f = 50.0 * (s as f64 + 1.0) * shift;
                c.push(
                    SvfCoefs::new(kind, fs, f, 0.5 + 0.3 * s as f64, 4.0 - s as f64),
                    [SvfState::default(); 2],
                );
                c.round_after[s] = s % 2 == 1;
            }
            c
        };
        for len in 1..=CHAIN_MAX {
            // same structure (paired) and, for len > 1, a different one (run one after the other)
            for other in [len, len.max(2) - 1] {
                let (mut a, mut b) = (mk(len, 1.0), mk(other, 1.7));
                let (mut a2, mut b2) = (a, b);
                let sig = |seed: u32| noise(seed, 2_000, 0.8);
                let (mut la, mut ra, mut lb, mut rb) = (sig(1), sig(2), sig(3), sig(4));
                let (mut la2, mut ra2, mut lb2, mut rb2) =
                    (la.clone(), ra.clone(), lb.clone(), rb.clone());
                for (x, y) in [(0, 2), (2, 700), (700, 2_000)] {
                    run_pair_as(
                        fused,
                        &mut a,
                        &mut b,
                        (&mut la[x..y], &mut ra[x..y]),
                        (&mut lb[x..y], &mut rb[x..y]),
                    );
                    a2.run_reference_as(fused, &mut la2[x..y], &mut ra2[x..y]);
                    b2.run_reference_as(fused, &mut lb2[x..y], &mut rb2[x..y]);
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&la), bits(&la2), "{len}/{other}");
                assert_eq!(bits(&ra), bits(&ra2), "{len}/{other}");
                assert_eq!(bits(&lb), bits(&lb2), "{len}/{other}");
                assert_eq!(bits(&rb), bits(&rb2), "{len}/{other}");
                assert_eq!((a.st, b.st), (a2.st, b2.st), "{len}/{other}");
            }
        }
    }

    #[test]
    fn quad_chains_are_bit_identical_to_each_run_alone() {
        for fused in [false, true] {
            quad_chains_are_bit_identical_to_each_run_alone_as(fused);
        }
    }

    fn quad_chains_are_bit_identical_to_each_run_alone_as(fused: bool) {
        let fs = 48_000.0;
        let mk = |len: usize, shift: f64| {
            let mut c = Chain::default();
            for s in 0..len {
                let kind = [SvfKind::HighPass, SvfKind::LowShelf, SvfKind::Bell][s % 3];
                let f = 40.0 * (s as f64 + 1.0) * shift;
                c.push(
                    SvfCoefs::new(kind, fs, f, 0.6 + 0.2 * s as f64, 3.0 - s as f64),
                    [SvfState::default(); 2],
                );
                c.round_after[s] = s % 3 == 0;
            }
            c
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for len in 1..=CHAIN_MAX {
            // the same structure (one AVX-512 run where the CPU has it) and a different last chain (pairs)
            for last in [len, len.max(2) - 1] {
                let lens = [len, len, len, last];
                let mut quad: [Chain; 4] =
                    std::array::from_fn(|t| mk(lens[t], 1.0 + 0.3 * t as f64));
                let mut alone = quad;
                let mut sig: Vec<Vec<f32>> = (0..8).map(|k| noise(k + 10, 2_500, 0.7)).collect();
                let mut sig2 = sig.clone();
                for (x, y) in [(0, 3), (3, 900), (900, 901), (901, 2_500)] {
                    let [a, b, c, d] = &mut quad;
                    let mut it = sig.iter_mut();
                    let mut io = || {
                        let l = &mut it.next().unwrap()[x..y];
                        let r = &mut it.next().unwrap()[x..y];
                        (l, r)
                    };
                    run_quad_as(fused, [a, b, c, d], [io(), io(), io(), io()]);
                    for (t, ch) in alone.iter_mut().enumerate() {
                        let (l, r) = sig2.split_at_mut(2 * t + 1);
                        ch.run_reference_as(fused, &mut l[2 * t][x..y], &mut r[0][x..y]);
                    }
                }
                for k in 0..8 {
                    assert_eq!(bits(&sig[k]), bits(&sig2[k]), "{len}/{last}, buffer {k}");
                }
                for t in 0..4 {
                    assert_eq!(quad[t].st, alone[t].st, "{len}/{last}, state {t}");
                }
                assert_ne!(bits(&sig[0]), bits(&noise(10, 2_500, 0.7)), "nothing ran");
            }
        }
    }

    /// The fused flavour is `f64::mul_add` at the five multiply-adds and nothing else: checked against the
    /// formula written out, and against the plain flavour (which it must not equal, or the bit-exact
    /// comparisons above could not tell the flavours apart).
    #[test]
    fn flavours_differ_only_in_the_fused_roundings() {
        let c = SvfCoefs::new(SvfKind::Bell, 48_000.0, 1_000.0, 2.0, 6.0);
        let x = noise(5, 4_000, 0.9);
        let (mut p, mut f) = (SvfState::default(), SvfState::default());
        let (mut ic1, mut ic2) = (0f64, 0f64);
        let mut differ = 0;
        for &v in &x {
            let v0 = v as f64;
            let v3 = v0 - ic2;
            let y = c.y3.mul_add(v3, c.y1.mul_add(ic1, c.y0 * v0));
            (ic1, ic2) = (
                c.c.mul_add(v3, c.b * ic1),
                c.e.mul_add(v3, c.c.mul_add(ic1, ic2)),
            );
            let yf = f.tick_as(true, &c, v0);
            assert_eq!(yf.to_bits(), y.to_bits());
            assert_eq!((f.ic1, f.ic2), (ic1, ic2));
            let yp = p.tick_as(false, &c, v0);
            assert!((yp - yf).abs() < 1e-9, "{yp} against {yf}");
            differ += (yp != yf) as usize;
        }
        assert!(differ > 100, "only {differ} of 4000 outputs differ");
    }
}
