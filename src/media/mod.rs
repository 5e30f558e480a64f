//! Stem loading: decode (symphonia), fold multichannel to stereo (ITU-R BS.775), resample once
//! at load (rubato FFT), several stems in parallel (rayon). Never runs on the audio thread.
//!
//! Formats (tested): WAV (8/16/24/32-bit integer, 32/64-bit float, WAVE_FORMAT_EXTENSIBLE, extra
//! chunks before `data`), AIFF, FLAC, MP3 (gapless via the LAME/Xing header), Ogg Vorbis, AAC-LC
//! and ALAC in MP4/M4A (gapless via edit list or iTunSMPB), ALAC in CAF. Also decoded by
//! symphonia but not covered by tests here: AIFC, AAC in CAF, ADTS `.aac`, Vorbis/FLAC in
//! Matroska. Not supported by symphonia 0.6: Opus, HE-AAC (SBR), AC-3, WMA, ...
//!
//! Entry points: [`load_stems`] / [`load_stem`] for the mixer; [`decode_file`] for the native
//! channels with their [`ChannelRole`]s (loudness analysis of a file); [`probe_rate`] for a
//! header-only look at the rate.

mod channels;
mod decode;
mod error;
mod mp4;
mod resample;
mod stem;
pub mod stream;
pub mod wav_fast;

use std::path::PathBuf;

pub use channels::{fold_to_stereo, ChannelRole, FOLD_GAIN_OTHER, FOLD_GAIN_SIDE};
pub use decode::{decode_file, decode_file_symphonia, is_audio_path, probe_rate, AUDIO_EXTENSIONS};
pub use error::{MediaError, IN_MEMORY};
pub use resample::{resample, resampled_len};
pub use stem::{load_stem, load_stems, most_common_rate, stem_from_decoded, Stem};

/// A whole file decoded to its native channels (planar f32, full scale ±1.0) at its own rate.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// The file it came from.
    pub path: PathBuf,
    /// The file's sample rate.
    pub sample_rate: u32,
    /// One Vec per channel, all the same length, in the file's channel order.
    pub channels: Vec<Vec<f32>>,
    /// The role of each channel (same length as `channels`).
    pub roles: Vec<ChannelRole>,
    /// Non-fatal problems (e.g. a truncated file), for the user.
    pub warnings: Vec<String>,
}

impl DecodedAudio {
    /// Length in frames.
    pub fn frames(&self) -> usize {
        self.channels.first().map(Vec::len).unwrap_or(0)
    }
}
