//! Runs on the audio thread: the channel-strip DSP units (filters, EQ, gate, compressor, limiter, reverb,
//! delay) and their shared helpers.
//!
//! Every processor allocates in `new` only, smooths its parameters per sample, and gives bit-identical output
//! whatever block sizes it is fed with. Setters retarget a ~15 ms ramp, except that setters called before the
//! first processed frame, after `reset`, or while the unit is fully bypassed apply immediately.

pub mod compressor;
pub mod delay;
pub mod eq;
pub mod filter;
pub mod gate;
pub(crate) mod kernels;
pub mod limiter;
pub mod reverb;
pub mod smoother;
pub mod svf;
pub mod util;

/// Common interface of the stereo in-place processors.
pub trait StereoProcessor {
    /// Processes a stereo block in place; `left` and `right` must have the same length (extra frames in the
    /// longer slice are left untouched).
    fn process(&mut self, left: &mut [f32], right: &mut [f32]);
    /// Turns the unit on or off with a ~10 ms crossfade (immediately when nothing has been processed yet).
    fn set_enabled(&mut self, enabled: bool);
    /// Whether the unit is (fading) on.
    fn is_enabled(&self) -> bool;
    /// Clears all state, ends every ramp and bypass fade at its target.
    fn reset(&mut self);
    /// Delay the unit adds to the signal, in frames (0 for all but the limiter).
    fn latency_frames(&self) -> usize {
        0
    }
}

/// A processor whose block loop is compiled a second time with AVX2 and picked at run time by
/// [`process_avx2_where_present`]: the same operations (no fused multiply-adds), so the same bits.
pub(crate) trait Avx2Build {
    /// The block processing. Implementations mark it `#[inline(always)]`, so that the AVX2 build compiles all
    /// of it with AVX2.
    fn process_in(&mut self, left: &mut [f32], right: &mut [f32]);
}

/// [`Avx2Build::process_in`], in its AVX2 build where the CPU has AVX2.
pub(crate) fn process_avx2_where_present<P: Avx2Build>(
    p: &mut P,
    left: &mut [f32],
    right: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked just above).
        unsafe { process_avx2(p, left, right) };
        return;
    }
    p.process_in(left, right)
}

/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn process_avx2<P: Avx2Build>(p: &mut P, left: &mut [f32], right: &mut [f32]) {
    p.process_in(left, right)
}

/// Xorshift noise, `n` samples uniform in ±`amp` (unit tests' input).
#[cfg(test)]
pub(crate) fn test_noise(seed: u32, n: usize, amp: f32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(747_796_405).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            amp * ((x as f32 / u32::MAX as f32) * 2.0 - 1.0)
        })
        .collect()
}
