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
