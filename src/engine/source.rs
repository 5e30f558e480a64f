//! Runs on the audio thread: the one interface through which tracks read audio.
//!
//! The engine only knows [`Source`]. Today stems are decoded into memory ([`MemorySource`]); a disk-streaming
//! source with bounded memory can implement the same trait later without touching the engine.

use std::sync::Arc;

/// Audio for one track, addressed by timeline frame. Implementations must be real-time safe in `read`.
pub trait Source: Send {
    /// 1 (mono) or 2 (stereo).
    fn channels(&self) -> usize;
    /// Length in frames at the engine's sample rate.
    fn len_frames(&self) -> u64;
    /// Fill `left` (and `right` for stereo sources; untouched for mono) with the frames starting at
    /// `start_frame`. Frames outside the source are zero. `left.len() == right.len()`.
    fn read(&mut self, start_frame: u64, left: &mut [f32], right: &mut [f32]);
}

/// Planar samples shared between the UI (overview, analysis) and the engine, read-only.
#[derive(Clone, Debug)]
pub struct MemorySource {
    channels: Vec<Arc<[f32]>>,
    len_frames: u64,
}

impl MemorySource {
    /// A source over one (mono) or two (stereo) planar channels of equal length.
    ///
    /// # Panics
    /// If there are not 1 or 2 channels or their lengths differ (a programming error, not user input).
    pub fn new(channels: Vec<Arc<[f32]>>) -> Self {
        assert!(
            channels.len() == 1 || channels.len() == 2,
            "MemorySource takes 1 or 2 channels"
        );
        let len = channels[0].len();
        assert!(
            channels.iter().all(|c| c.len() == len),
            "channel lengths differ"
        );
        Self {
            channels,
            len_frames: len as u64,
        }
    }

    /// Build from owned planar vectors.
    pub fn from_vecs(channels: Vec<Vec<f32>>) -> Self {
        Self::new(channels.into_iter().map(Arc::from).collect())
    }

    /// The shared channel data.
    pub fn data(&self) -> &[Arc<[f32]>] {
        &self.channels
    }
}

fn copy_range(src: &[f32], start_frame: u64, dst: &mut [f32]) {
    let len = src.len() as u64;
    if start_frame >= len {
        dst.fill(0.0);
        return;
    }
    let start = start_frame as usize;
    let avail = (src.len() - start).min(dst.len());
    dst[..avail].copy_from_slice(&src[start..start + avail]);
    dst[avail..].fill(0.0);
}

impl Source for MemorySource {
    fn channels(&self) -> usize {
        self.channels.len()
    }

    fn len_frames(&self) -> u64 {
        self.len_frames
    }

    fn read(&mut self, start_frame: u64, left: &mut [f32], right: &mut [f32]) {
        copy_range(&self.channels[0], start_frame, left);
        if self.channels.len() == 2 {
            copy_range(&self.channels[1], start_frame, right);
        }
    }
}

/// A source with nothing in it: an offline track (missing or not yet decoded stem).
#[derive(Clone, Copy, Debug, Default)]
pub struct SilentSource;

impl Source for SilentSource {
    fn channels(&self) -> usize {
        1
    }
    fn len_frames(&self) -> u64 {
        0
    }
    fn read(&mut self, _start_frame: u64, left: &mut [f32], _right: &mut [f32]) {
        left.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_end_as_zero() {
        let mut s = MemorySource::from_vecs(vec![vec![1.0, 2.0, 3.0]]);
        let mut l = [9.0; 4];
        let mut r = [9.0; 4];
        s.read(1, &mut l, &mut r);
        assert_eq!(l, [2.0, 3.0, 0.0, 0.0]);
        assert_eq!(r, [9.0; 4], "mono sources leave the right buffer alone");
        s.read(10, &mut l, &mut r);
        assert_eq!(l, [0.0; 4]);
    }
}
