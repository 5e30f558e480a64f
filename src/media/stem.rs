//! Loading stems: decode, fold to mono/stereo, resample to the session rate.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{decode_file, fold_to_stereo, resample, DecodedAudio, MediaError};

/// A stem ready for the engine: 1 (mono) or 2 (stereo) planar channels at `sample_rate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stem {
    /// The file it came from.
    pub path: PathBuf,
    /// The rate of `channels` (the session rate).
    pub sample_rate: u32,
    /// The file's own rate before resampling.
    pub source_rate: u32,
    /// 1 (mono) or 2 (stereo) planar channels at `sample_rate`, all the same length.
    pub channels: Vec<Vec<f32>>,
    /// Non-fatal problems (e.g. a truncated file), for the user.
    pub warnings: Vec<String>,
}

impl Stem {
    /// Length in frames.
    pub fn frames(&self) -> usize {
        self.channels.first().map(Vec::len).unwrap_or(0)
    }
}

/// Turns decoded audio into a stem at `target_rate_hz` (its own rate when `None`).
pub fn stem_from_decoded(
    decoded: DecodedAudio,
    target_rate_hz: Option<u32>,
) -> Result<Stem, MediaError> {
    let folded = fold_to_stereo(decoded);
    let source_rate = folded.sample_rate;
    let target = target_rate_hz.unwrap_or(source_rate);
    let channels = if target == source_rate {
        folded.channels
    } else {
        let out = resample(&folded.channels, source_rate, target)
            .map_err(|e| e.with_path(&folded.path))?;
        drop(folded.channels);
        out
    };
    Ok(Stem {
        path: folded.path,
        sample_rate: target,
        source_rate,
        channels,
        warnings: folded.warnings,
    })
}

/// Loads one stem: decodes `path`, folds 3+ channels to stereo (mono stays mono) and resamples
/// to `target_rate_hz` if given and different from the file's rate.
pub fn load_stem(path: &Path, target_rate_hz: Option<u32>) -> Result<Stem, MediaError> {
    stem_from_decoded(decode_file(path)?, target_rate_hz)
}

/// The most common rate in `rates` (ties: the higher); `None` if empty.
pub fn most_common_rate(rates: &[u32]) -> Option<u32> {
    let mut best: Option<(usize, u32)> = None;
    for &r in rates {
        let count = rates.iter().filter(|&&x| x == r).count();
        if best.is_none_or(|(c, b)| count > c || (count == c && r > b)) {
            best = Some((count, r));
        }
    }
    best.map(|(_, r)| r)
}

/// Loads several stems in parallel (rayon), in the order of `paths`.
///
/// With `target_rate_hz == None` the session rate is the most common native rate among the
/// stems that decoded (ties: the higher), and every stem is resampled to it.
pub fn load_stems(paths: &[PathBuf], target_rate_hz: Option<u32>) -> Vec<Result<Stem, MediaError>> {
    if let Some(rate) = target_rate_hz {
        return paths.par_iter().map(|p| load_stem(p, Some(rate))).collect();
    }
    let decoded: Vec<Result<DecodedAudio, MediaError>> =
        paths.par_iter().map(|p| decode_file(p)).collect();
    let rates: Vec<u32> = decoded
        .iter()
        .filter_map(|d| d.as_ref().ok().map(|d| d.sample_rate))
        .collect();
    let target = most_common_rate(&rates);
    decoded
        .into_par_iter()
        .map(|d| d.and_then(|d| stem_from_decoded(d, target)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_common_rate_prefers_majority_then_higher() {
        assert_eq!(most_common_rate(&[]), None);
        assert_eq!(most_common_rate(&[44_100, 48_000, 44_100]), Some(44_100));
        assert_eq!(most_common_rate(&[44_100, 48_000]), Some(48_000));
        assert_eq!(
            most_common_rate(&[96_000, 44_100, 44_100, 48_000, 48_000]),
            Some(48_000)
        );
    }
}
