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

/// Coefficients of one SVF section: `a1..a3` (integrator update) and output mix `m0·v0 + m1·v1 + m2·v2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SvfCoefs {
    a1: f64,
    a2: f64,
    a3: f64,
    m0: f64,
    m1: f64,
    m2: f64,
}

impl SvfCoefs {
    /// The identity section (output = input).
    pub const IDENTITY: SvfCoefs = SvfCoefs {
        a1: 1.0,
        a2: 0.0,
        a3: 0.0,
        m0: 1.0,
        m1: 0.0,
        m2: 0.0,
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
            a1,
            a2,
            a3,
            m0,
            m1,
            m2,
        }
    }

    /// Magnitude response in dB at `freq_hz` (for drawing; not used on the audio thread). The trapezoidal SVF
    /// is the bilinear transform of its analog prototype (pre-warped at f0), so its exact digital response is
    /// `H = m0 + (m1·s + m2)/(s² + k·s + 1)` at `s = j·tan(π·f/fs)/g`, with `g` and `k` recovered from the
    /// integrator coefficients.
    pub fn magnitude_db(&self, sample_rate_hz: f64, freq_hz: f64) -> f64 {
        let g = self.a2 / self.a1;
        if g <= 0.0 {
            // identity section
            return 20.0 * self.m0.abs().log10();
        }
        let k = (1.0 / self.a1 - 1.0 - g * g) / g;
        let w = (std::f64::consts::PI * freq_hz.clamp(0.0, 0.4999 * sample_rate_hz)
            / sample_rate_hz)
            .tan()
            / g;
        let (dr, di) = (1.0 - w * w, k * w);
        let (nr, ni) = (self.m0 * dr + self.m2, self.m0 * di + self.m1 * w);
        10.0 * ((nr * nr + ni * ni) / (dr * dr + di * di)).log10()
    }

    /// Linear blend of the output mix towards the identity: `amount` 0 gives the identity output, 1 this
    /// section. The integrator part is kept, so the blend is stable per sample.
    pub fn blend_with_identity(mut self, amount: f64) -> Self {
        self.m0 = 1.0 + amount * (self.m0 - 1.0);
        self.m1 *= amount;
        self.m2 *= amount;
        self
    }
}

/// Integrator state of one SVF section for one channel.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SvfState {
    ic1: f64,
    ic2: f64,
}

impl SvfState {
    /// Processes one sample.
    #[inline(always)]
    pub fn tick(&mut self, c: &SvfCoefs, v0: f64) -> f64 {
        let v3 = v0 - self.ic2;
        let v1 = c.a1 * self.ic1 + c.a2 * v3;
        let v2 = self.ic2 + c.a2 * self.ic1 + c.a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        c.m0 * v0 + c.m1 * v1 + c.m2 * v2
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

/// Processes one stereo frame through a left and a right state with the same coefficients, written lane-wise
/// so the compiler can use packed f64 arithmetic. Bit-identical to two [`SvfState::tick`] calls.
#[inline(always)]
pub fn tick_stereo(st: &mut [SvfState; 2], c: &SvfCoefs, v0: [f64; 2]) -> [f64; 2] {
    let ic1 = [st[0].ic1, st[1].ic1];
    let ic2 = [st[0].ic2, st[1].ic2];
    let mut out = [0.0; 2];
    let mut n1 = [0.0; 2];
    let mut n2 = [0.0; 2];
    for k in 0..2 {
        let v3 = v0[k] - ic2[k];
        let v1 = c.a1 * ic1[k] + c.a2 * v3;
        let v2 = ic2[k] + c.a2 * ic1[k] + c.a3 * v3;
        n1[k] = 2.0 * v1 - ic1[k];
        n2[k] = 2.0 * v2 - ic2[k];
        out[k] = c.m0 * v0[k] + c.m1 * v1 + c.m2 * v2;
    }
    st[0].ic1 = n1[0];
    st[1].ic1 = n1[1];
    st[0].ic2 = n2[0];
    st[1].ic2 = n2[1];
    out
}

/// Both channels of one SVF section in one SSE2 register pair (x86_64; SSE2 is part of the base ISA there), for
/// the steady-state loops. Every lane does exactly [`SvfState::tick`]'s f64 operations in the same order (no
/// fused multiply-add), so results are bit-identical to the scalar path; what changes is that the left and right
/// recurrences share instructions and the state stays in registers without shuffles.
#[cfg(target_arch = "x86_64")]
pub mod stereo {
    use super::{SvfCoefs, SvfState};
    use core::arch::x86_64::*;

    /// Coefficients broadcast to both lanes.
    #[derive(Clone, Copy)]
    pub struct Coefs2 {
        a1: __m128d,
        a2: __m128d,
        a3: __m128d,
        m0: __m128d,
        m1: __m128d,
        m2: __m128d,
    }

    impl Coefs2 {
        /// Broadcast `c`.
        #[inline(always)]
        pub fn new(c: &SvfCoefs) -> Self {
            // SAFETY (every block in this module): SSE2 is part of the x86_64 base ISA; register-only
            // operations except the noted stores.
            unsafe {
                Coefs2 {
                    a1: _mm_set1_pd(c.a1),
                    a2: _mm_set1_pd(c.a2),
                    a3: _mm_set1_pd(c.a3),
                    m0: _mm_set1_pd(c.m0),
                    m1: _mm_set1_pd(c.m1),
                    m2: _mm_set1_pd(c.m2),
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

        /// [`SvfState::tick`] on both lanes.
        #[inline(always)]
        pub fn tick(&mut self, c: &Coefs2, v0: __m128d) -> __m128d {
            let (ic1, ic2) = (self.ic1, self.ic2);
            // SAFETY: see `Coefs2::new`.
            unsafe {
                let v3 = _mm_sub_pd(v0, ic2);
                let v1 = _mm_add_pd(_mm_mul_pd(c.a1, ic1), _mm_mul_pd(c.a2, v3));
                let v2 = _mm_add_pd(_mm_add_pd(ic2, _mm_mul_pd(c.a2, ic1)), _mm_mul_pd(c.a3, v3));
                let two = _mm_set1_pd(2.0);
                self.ic1 = _mm_sub_pd(_mm_mul_pd(two, v1), ic1);
                self.ic2 = _mm_sub_pd(_mm_mul_pd(two, v2), ic2);
                _mm_add_pd(
                    _mm_add_pd(_mm_mul_pd(c.m0, v0), _mm_mul_pd(c.m1, v1)),
                    _mm_mul_pd(c.m2, v2),
                )
            }
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

    /// Runs the sections over the block in place. Bit-identical to ticking the sections frame by frame (see
    /// [`Chain::run_reference`]).
    pub fn run(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.len == 0 {
            return;
        }
        self.round_after[self.len - 1] = true;
        #[cfg(target_arch = "x86_64")]
        {
            match self.len {
                1 => run_skewed::<1>(self, left, right),
                2 => run_skewed::<2>(self, left, right),
                3 => run_skewed::<3>(self, left, right),
                4 => run_skewed::<4>(self, left, right),
                5 => run_skewed::<5>(self, left, right),
                6 => run_skewed::<6>(self, left, right),
                7 => run_skewed::<7>(self, left, right),
                _ => run_skewed::<8>(self, left, right),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.run_reference(left, right);
    }

    /// Frame by frame through every section with scalar f64 arithmetic: the reference for [`Chain::run`].
    pub fn run_reference(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.len == 0 {
            return;
        }
        self.round_after[self.len - 1] = true;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let mut x = [*l as f64, *r as f64];
            for s in 0..self.len {
                x = tick_stereo(&mut self.st[s], &self.coefs[s], x);
                if self.round_after[s] {
                    x = [x[0] as f32 as f64, x[1] as f32 as f64];
                }
            }
            (*l, *r) = (x[0] as f32, x[1] as f32);
        }
    }
}

/// The chain as a skewed pipeline: at step `t` section `s` works on frame `t − s`, so the sections of one step
/// are independent of each other and only each section's own state recurrence links the steps. Frame by frame
/// (every section on the same frame) each frame waits on the whole cascade's latency; skewed, the processor
/// overlaps all sections. Every section still sees the same inputs in the same order, so the result is
/// bit-identical to [`Chain::run_reference`]. Both channels in SSE2 lanes (x86_64 base ISA).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn run_skewed<const K: usize>(ch: &mut Chain, left: &mut [f32], right: &mut [f32]) {
    use core::arch::x86_64::*;
    use stereo::{frame_in, frame_out, Coefs2, State2};
    let n = left.len().min(right.len());
    if n < K {
        ch.run_reference(&mut left[..n], &mut right[..n]);
        return;
    }
    let c: [Coefs2; K] = std::array::from_fn(|s| Coefs2::new(&ch.coefs[s]));
    let mut st: [State2; K] = std::array::from_fn(|s| State2::load(&ch.st[s]));
    let round: [bool; K] = std::array::from_fn(|s| ch.round_after[s]);
    // f64 → f32 → f64 in both lanes
    #[inline(always)]
    fn round_f32(x: __m128d) -> __m128d {
        // SAFETY: SSE2 is part of the x86_64 base ISA; register-only operations.
        unsafe { _mm_cvtps_pd(_mm_cvtpd_ps(x)) }
    }
    // SAFETY: as above.
    let mut pipe: [__m128d; K] = unsafe { [_mm_setzero_pd(); K] };
    // Prologue: steps 0 .. K−1, sections 0 ..= t active.
    for t in 0..K - 1 {
        pipe[0] = frame_in(left[t], right[t]);
        for s in (0..=t).rev() {
            let mut y = st[s].tick(&c[s], pipe[s]);
            if round[s] {
                y = round_f32(y);
            }
            pipe[s + 1] = y;
        }
    }
    // Steady part: every section active; section K−1 finishes frame t − K + 1.
    for t in K - 1..n {
        pipe[0] = frame_in(left[t], right[t]);
        for s in (0..K).rev() {
            let y = st[s].tick(&c[s], pipe[s]);
            if s + 1 < K {
                pipe[s + 1] = if round[s] { round_f32(y) } else { y };
            } else {
                (left[t + 1 - K], right[t + 1 - K]) = frame_out(y);
            }
        }
    }
    // Epilogue: steps n .. n+K−2, sections whose frame t − s is still < n.
    for t in n..n + K - 1 {
        for s in (t + 1 - n..K).rev() {
            let y = st[s].tick(&c[s], pipe[s]);
            if s + 1 < K {
                pipe[s + 1] = if round[s] { round_f32(y) } else { y };
            } else {
                (left[t + 1 - K], right[t + 1 - K]) = frame_out(y);
            }
        }
    }
    for (s, v) in st.iter().enumerate() {
        v.store(&mut ch.st[s]);
    }
}

/// Runs two chains with the same structure (length and rounding points) over two tracks' blocks at once:
/// with AVX, both tracks' left and right channels share one 4-lane f64 register per section (the same f64
/// operations per lane, so bit-identical to [`Chain::run`] on each). Chains of different structure, blocks of
/// different length, or a CPU without AVX run one after the other.
pub fn run_pair(
    a: &mut Chain,
    b: &mut Chain,
    (la, ra): (&mut [f32], &mut [f32]),
    (lb, rb): (&mut [f32], &mut [f32]),
) {
    #[cfg(target_arch = "x86_64")]
    {
        let n = la.len();
        let same = a.len == b.len
            && a.len > 0
            && a.round_after[..a.len - 1] == b.round_after[..b.len - 1]
            && [ra.len(), lb.len(), rb.len()] == [n; 3];
        if same && std::arch::is_x86_feature_detected!("avx") {
            a.round_after[a.len - 1] = true;
            b.round_after[b.len - 1] = true;
            // SAFETY: AVX is present (checked just above).
            unsafe {
                match a.len {
                    1 => pair_avx::run::<1>(a, b, la, ra, lb, rb),
                    2 => pair_avx::run::<2>(a, b, la, ra, lb, rb),
                    3 => pair_avx::run::<3>(a, b, la, ra, lb, rb),
                    4 => pair_avx::run::<4>(a, b, la, ra, lb, rb),
                    5 => pair_avx::run::<5>(a, b, la, ra, lb, rb),
                    6 => pair_avx::run::<6>(a, b, la, ra, lb, rb),
                    7 => pair_avx::run::<7>(a, b, la, ra, lb, rb),
                    _ => pair_avx::run::<8>(a, b, la, ra, lb, rb),
                }
            }
            return;
        }
    }
    a.run(la, ra);
    b.run(lb, rb);
}

/// The skewed pipeline of [`run_skewed`] for two tracks in AVX lanes `[La, Ra, Lb, Rb]`.
#[cfg(target_arch = "x86_64")]
mod pair_avx {
    use super::{Chain, SvfCoefs, SvfState};
    use core::arch::x86_64::*;

    #[derive(Clone, Copy)]
    struct C4 {
        a1: __m256d,
        a2: __m256d,
        a3: __m256d,
        m0: __m256d,
        m1: __m256d,
        m2: __m256d,
    }

    #[inline(always)]
    unsafe fn coefs(a: &SvfCoefs, b: &SvfCoefs) -> C4 {
        let f = |x: f64, y: f64| _mm256_set_pd(y, y, x, x);
        C4 {
            a1: f(a.a1, b.a1),
            a2: f(a.a2, b.a2),
            a3: f(a.a3, b.a3),
            m0: f(a.m0, b.m0),
            m1: f(a.m1, b.m1),
            m2: f(a.m2, b.m2),
        }
    }

    #[derive(Clone, Copy)]
    struct S4 {
        ic1: __m256d,
        ic2: __m256d,
    }

    #[inline(always)]
    unsafe fn load(a: &[SvfState; 2], b: &[SvfState; 2]) -> S4 {
        S4 {
            ic1: _mm256_set_pd(b[1].ic1, b[0].ic1, a[1].ic1, a[0].ic1),
            ic2: _mm256_set_pd(b[1].ic2, b[0].ic2, a[1].ic2, a[0].ic2),
        }
    }

    #[inline(always)]
    unsafe fn store(s: S4, a: &mut [SvfState; 2], b: &mut [SvfState; 2]) {
        let (mut x, mut y) = ([0f64; 4], [0f64; 4]);
        _mm256_storeu_pd(x.as_mut_ptr(), s.ic1);
        _mm256_storeu_pd(y.as_mut_ptr(), s.ic2);
        a[0].ic1 = x[0];
        a[1].ic1 = x[1];
        b[0].ic1 = x[2];
        b[1].ic1 = x[3];
        a[0].ic2 = y[0];
        a[1].ic2 = y[1];
        b[0].ic2 = y[2];
        b[1].ic2 = y[3];
    }

    /// [`super::SvfState::tick`] on every lane (the same operations in the same order, no FMA).
    #[inline(always)]
    unsafe fn tick(s: &mut S4, c: &C4, v0: __m256d) -> __m256d {
        let (ic1, ic2) = (s.ic1, s.ic2);
        let v3 = _mm256_sub_pd(v0, ic2);
        let v1 = _mm256_add_pd(_mm256_mul_pd(c.a1, ic1), _mm256_mul_pd(c.a2, v3));
        let v2 = _mm256_add_pd(
            _mm256_add_pd(ic2, _mm256_mul_pd(c.a2, ic1)),
            _mm256_mul_pd(c.a3, v3),
        );
        let two = _mm256_set1_pd(2.0);
        s.ic1 = _mm256_sub_pd(_mm256_mul_pd(two, v1), ic1);
        s.ic2 = _mm256_sub_pd(_mm256_mul_pd(two, v2), ic2);
        _mm256_add_pd(
            _mm256_add_pd(_mm256_mul_pd(c.m0, v0), _mm256_mul_pd(c.m1, v1)),
            _mm256_mul_pd(c.m2, v2),
        )
    }

    #[inline(always)]
    unsafe fn round_f32(x: __m256d) -> __m256d {
        _mm256_cvtps_pd(_mm256_cvtpd_ps(x))
    }

    /// # Safety
    /// The CPU must support AVX; `a` and `b` hold `K` sections with the same rounding points; all four
    /// slices have the same length.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn run<const K: usize>(
        a: &mut Chain,
        b: &mut Chain,
        la: &mut [f32],
        ra: &mut [f32],
        lb: &mut [f32],
        rb: &mut [f32],
    ) {
        let n = la.len();
        if n < K {
            a.run_reference(la, ra);
            b.run_reference(lb, rb);
            return;
        }
        let c: [C4; K] = std::array::from_fn(|s| coefs(&a.coefs[s], &b.coefs[s]));
        let mut st: [S4; K] = std::array::from_fn(|s| load(&a.st[s], &b.st[s]));
        let round: [bool; K] = std::array::from_fn(|s| a.round_after[s]);
        #[inline(always)]
        unsafe fn input(la: &[f32], ra: &[f32], lb: &[f32], rb: &[f32], t: usize) -> __m256d {
            _mm256_cvtps_pd(_mm_set_ps(rb[t], lb[t], ra[t], la[t]))
        }
        let mut pipe: [__m256d; K] = [_mm256_setzero_pd(); K];
        for t in 0..K - 1 {
            pipe[0] = input(la, ra, lb, rb, t);
            for s in (0..=t).rev() {
                let mut y = tick(&mut st[s], &c[s], pipe[s]);
                if round[s] {
                    y = round_f32(y);
                }
                pipe[s + 1] = y;
            }
        }
        let mut out = [0f32; 4];
        for t in K - 1..n {
            pipe[0] = input(la, ra, lb, rb, t);
            for s in (0..K).rev() {
                let y = tick(&mut st[s], &c[s], pipe[s]);
                if s + 1 < K {
                    pipe[s + 1] = if round[s] { round_f32(y) } else { y };
                } else {
                    _mm_storeu_ps(out.as_mut_ptr(), _mm256_cvtpd_ps(y));
                    let o = t + 1 - K;
                    (la[o], ra[o], lb[o], rb[o]) = (out[0], out[1], out[2], out[3]);
                }
            }
        }
        for t in n..n + K - 1 {
            for s in (t + 1 - n..K).rev() {
                let y = tick(&mut st[s], &c[s], pipe[s]);
                if s + 1 < K {
                    pipe[s + 1] = if round[s] { round_f32(y) } else { y };
                } else {
                    _mm_storeu_ps(out.as_mut_ptr(), _mm256_cvtpd_ps(y));
                    let o = t + 1 - K;
                    (la[o], ra[o], lb[o], rb[o]) = (out[0], out[1], out[2], out[3]);
                }
            }
        }
        for (s, v) in st.iter().enumerate() {
            store(*v, &mut a.st[s], &mut b.st[s]);
        }
    }
}

/// Runs four chains with the same structure over four tracks' blocks at once: with AVX-512F, the left and
/// right channels of all four tracks share one 8-lane f64 register per section (the same f64 operations per
/// lane as [`SvfState::tick`], so bit-identical to [`Chain::run`] on each). Otherwise, or when the structures
/// or block lengths differ, two [`run_pair`] calls.
pub fn run_quad(c: [&mut Chain; 4], io: [(&mut [f32], &mut [f32]); 4]) {
    let [c0, c1, c2, c3] = c;
    let [(l0, r0), (l1, r1), (l2, r2), (l3, r3)] = io;
    #[cfg(target_arch = "x86_64")]
    {
        let n = l0.len();
        let len = c0.len;
        let same_shape = |x: &Chain| {
            x.len == len && x.round_after[..len.max(1) - 1] == c0.round_after[..len.max(1) - 1]
        };
        let same = len > 0
            && [&*c1, &*c2, &*c3].into_iter().all(same_shape)
            && [
                r0.len(),
                l1.len(),
                r1.len(),
                l2.len(),
                r2.len(),
                l3.len(),
                r3.len(),
            ] == [n; 7];
        if same && avx512_detected() {
            for x in [&mut *c0, &mut *c1, &mut *c2, &mut *c3] {
                x.round_after[len - 1] = true;
            }
            let chains = [c0, c1, c2, c3];
            let bufs = [l0, r0, l1, r1, l2, r2, l3, r3];
            // SAFETY: AVX-512F is present (checked just above); the chains share their structure and the
            // slices their length.
            unsafe {
                match len {
                    1 => quad_avx512::run::<1>(chains, bufs),
                    2 => quad_avx512::run::<2>(chains, bufs),
                    3 => quad_avx512::run::<3>(chains, bufs),
                    4 => quad_avx512::run::<4>(chains, bufs),
                    5 => quad_avx512::run::<5>(chains, bufs),
                    6 => quad_avx512::run::<6>(chains, bufs),
                    7 => quad_avx512::run::<7>(chains, bufs),
                    _ => quad_avx512::run::<8>(chains, bufs),
                }
            }
            return;
        }
    }
    run_pair(c0, c1, (l0, r0), (l1, r1));
    run_pair(c2, c3, (l2, r2), (l3, r3));
}

/// Whether the CPU has AVX-512F (cached after the first call).
#[cfg(target_arch = "x86_64")]
pub fn avx512_detected() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// The skewed pipeline of [`run_skewed`] for four tracks in AVX-512 lanes `[La, Ra, Lb, Rb, Lc, Rc, Ld, Rd]`.
#[cfg(target_arch = "x86_64")]
mod quad_avx512 {
    use super::{Chain, SvfCoefs, SvfState};
    use core::arch::x86_64::*;

    #[derive(Clone, Copy)]
    struct C8 {
        a1: __m512d,
        a2: __m512d,
        a3: __m512d,
        m0: __m512d,
        m1: __m512d,
        m2: __m512d,
    }

    #[inline(always)]
    unsafe fn coefs(c: [&SvfCoefs; 4]) -> C8 {
        let f = |g: fn(&SvfCoefs) -> f64| {
            let v = c.map(g);
            _mm512_set_pd(v[3], v[3], v[2], v[2], v[1], v[1], v[0], v[0])
        };
        C8 {
            a1: f(|c| c.a1),
            a2: f(|c| c.a2),
            a3: f(|c| c.a3),
            m0: f(|c| c.m0),
            m1: f(|c| c.m1),
            m2: f(|c| c.m2),
        }
    }

    #[derive(Clone, Copy)]
    struct S8 {
        ic1: __m512d,
        ic2: __m512d,
    }

    #[inline(always)]
    unsafe fn load(s: [&[SvfState; 2]; 4]) -> S8 {
        let (mut x, mut y) = ([0f64; 8], [0f64; 8]);
        for k in 0..8 {
            x[k] = s[k / 2][k % 2].ic1;
            y[k] = s[k / 2][k % 2].ic2;
        }
        S8 {
            ic1: _mm512_loadu_pd(x.as_ptr()),
            ic2: _mm512_loadu_pd(y.as_ptr()),
        }
    }

    #[inline(always)]
    unsafe fn store(s: S8, d: [&mut [SvfState; 2]; 4]) {
        let (mut x, mut y) = ([0f64; 8], [0f64; 8]);
        _mm512_storeu_pd(x.as_mut_ptr(), s.ic1);
        _mm512_storeu_pd(y.as_mut_ptr(), s.ic2);
        for (t, st) in d.into_iter().enumerate() {
            for ch in 0..2 {
                st[ch].ic1 = x[2 * t + ch];
                st[ch].ic2 = y[2 * t + ch];
            }
        }
    }

    /// [`super::SvfState::tick`] on every lane (the same operations in the same order, no FMA).
    #[inline(always)]
    unsafe fn tick(s: &mut S8, c: &C8, v0: __m512d) -> __m512d {
        let (ic1, ic2) = (s.ic1, s.ic2);
        let v3 = _mm512_sub_pd(v0, ic2);
        let v1 = _mm512_add_pd(_mm512_mul_pd(c.a1, ic1), _mm512_mul_pd(c.a2, v3));
        let v2 = _mm512_add_pd(
            _mm512_add_pd(ic2, _mm512_mul_pd(c.a2, ic1)),
            _mm512_mul_pd(c.a3, v3),
        );
        let two = _mm512_set1_pd(2.0);
        s.ic1 = _mm512_sub_pd(_mm512_mul_pd(two, v1), ic1);
        s.ic2 = _mm512_sub_pd(_mm512_mul_pd(two, v2), ic2);
        _mm512_add_pd(
            _mm512_add_pd(_mm512_mul_pd(c.m0, v0), _mm512_mul_pd(c.m1, v1)),
            _mm512_mul_pd(c.m2, v2),
        )
    }

    #[inline(always)]
    unsafe fn round_f32(x: __m512d) -> __m512d {
        _mm512_cvtps_pd(_mm512_cvtpd_ps(x))
    }

    /// # Safety
    /// The CPU must support AVX-512F; the chains hold `K` sections with the same rounding points; all eight
    /// slices (`[La, Ra, Lb, Rb, Lc, Rc, Ld, Rd]`) have the same length.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn run<const K: usize>(ch: [&mut Chain; 4], io: [&mut [f32]; 8]) {
        let n = io[0].len();
        if n < K {
            let [l0, r0, l1, r1, l2, r2, l3, r3] = io;
            for (c, (l, r)) in ch.into_iter().zip([(l0, r0), (l1, r1), (l2, r2), (l3, r3)]) {
                c.run_reference(l, r);
            }
            return;
        }
        let c: [C8; K] = std::array::from_fn(|s| coefs([0, 1, 2, 3].map(|t| &ch[t].coefs[s])));
        let mut st: [S8; K] = std::array::from_fn(|s| load([0, 1, 2, 3].map(|t| &ch[t].st[s])));
        let round: [bool; K] = std::array::from_fn(|s| ch[0].round_after[s]);
        let io: [&mut [f32]; 8] = io.map(|x| &mut x[..n]);
        #[inline(always)]
        unsafe fn input(io: &[&mut [f32]; 8], t: usize) -> __m512d {
            let x = |k: usize| *io[k].get_unchecked(t);
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
        unsafe fn output(io: &mut [&mut [f32]; 8], o: usize, y: __m512d) {
            let mut v = [0f32; 8];
            _mm256_storeu_ps(v.as_mut_ptr(), _mm512_cvtpd_ps(y));
            *io[0].get_unchecked_mut(o) = v[0];
            *io[1].get_unchecked_mut(o) = v[1];
            *io[2].get_unchecked_mut(o) = v[2];
            *io[3].get_unchecked_mut(o) = v[3];
            *io[4].get_unchecked_mut(o) = v[4];
            *io[5].get_unchecked_mut(o) = v[5];
            *io[6].get_unchecked_mut(o) = v[6];
            *io[7].get_unchecked_mut(o) = v[7];
        }
        let mut io = io;
        let mut pipe: [__m512d; K] = [_mm512_setzero_pd(); K];
        for t in 0..K - 1 {
            pipe[0] = input(&io, t);
            for s in (0..=t).rev() {
                let mut y = tick(&mut st[s], &c[s], pipe[s]);
                if round[s] {
                    y = round_f32(y);
                }
                pipe[s + 1] = y;
            }
        }
        for t in K - 1..n {
            pipe[0] = input(&io, t);
            for s in (0..K).rev() {
                let y = tick(&mut st[s], &c[s], pipe[s]);
                if s + 1 < K {
                    pipe[s + 1] = if round[s] { round_f32(y) } else { y };
                } else {
                    output(&mut io, t + 1 - K, y);
                }
            }
        }
        for t in n..n + K - 1 {
            for s in (t + 1 - n..K).rev() {
                let y = tick(&mut st[s], &c[s], pipe[s]);
                if s + 1 < K {
                    pipe[s + 1] = if round[s] { round_f32(y) } else { y };
                } else {
                    output(&mut io, t + 1 - K, y);
                }
            }
        }
        let [a, b, cc, d] = ch;
        for (s, v) in st.iter().enumerate() {
            store(
                *v,
                [&mut a.st[s], &mut b.st[s], &mut cc.st[s], &mut d.st[s]],
            );
        }
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    use crate::dsp::test_noise as noise;

    #[test]
    fn skewed_chain_is_bit_identical_to_frame_by_frame_ticks() {
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
                    a.run(&mut l1[x..y], &mut r1[x..y]);
                    b.run_reference(&mut l2[x..y], &mut r2[x..y]);
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&l1), bits(&l2), "left, {len} sections");
                assert_eq!(bits(&r1), bits(&r2), "right, {len} sections");
                assert_eq!(a.st, b.st, "state, {len} sections");
                assert_ne!(bits(&l1), bits(&l0), "the chain did nothing");
            }
        }
    }

    #[test]
    fn paired_chains_are_bit_identical_to_each_run_alone() {
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
                    run_pair(
                        &mut a,
                        &mut b,
                        (&mut la[x..y], &mut ra[x..y]),
                        (&mut lb[x..y], &mut rb[x..y]),
                    );
                    a2.run_reference(&mut la2[x..y], &mut ra2[x..y]);
                    b2.run_reference(&mut lb2[x..y], &mut rb2[x..y]);
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
                    run_quad([a, b, c, d], [io(), io(), io(), io()]);
                    for (t, ch) in alone.iter_mut().enumerate() {
                        let (l, r) = sig2.split_at_mut(2 * t + 1);
                        ch.run_reference(&mut l[2 * t][x..y], &mut r[0][x..y]);
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
}
