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
