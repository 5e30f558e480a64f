//! Whole-clip sample-rate conversion with rubato's synchronous FFT resampler.

use std::path::PathBuf;

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use super::error::IN_MEMORY;
use super::MediaError;

/// Target FFT block length in input frames. Longer blocks give a cutoff closer to Nyquist
/// (about 0.9966 × the lower Nyquist frequency at 4096) at the cost of memory and latency, which
/// do not matter for whole-clip conversion at load time.
const FFT_CHUNK_FRAMES: usize = 4096;

/// The output length for `frames` input frames: `round(frames · to_hz / from_hz)`, halves up.
pub fn resampled_len(frames: usize, from_hz: u32, to_hz: u32) -> usize {
    if from_hz == 0 {
        return 0;
    }
    let num = frames as u128 * u128::from(to_hz);
    let den = u128::from(from_hz);
    ((2 * num + den) / (2 * den)) as usize
}

/// A chunk size for `FixedSync::Both` that makes rubato use an even number of minimal FFT
/// blocks, so both FFT sizes are even. rubato compensates a delay of `fft_size_out / 2` output
/// frames; with an odd `fft_size_out` that is half a frame short and the output would lag.
fn even_block_chunk(from_hz: u32, to_hz: u32) -> usize {
    let gcd = gcd(from_hz, to_hz).max(1);
    let min_in = (from_hz / gcd) as usize;
    let mut blocks = FFT_CHUNK_FRAMES.div_ceil(min_in).max(1);
    if blocks % 2 == 1 {
        blocks += 1;
    }
    blocks * min_in
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn resample_error(from_hz: u32, to_hz: u32, reason: impl Into<String>) -> MediaError {
    MediaError::Resample {
        path: PathBuf::from(IN_MEMORY),
        from_hz,
        to_hz,
        reason: reason.into(),
    }
}

/// Resamples planar `channels` from `from_hz` to `to_hz` with rubato's FFT resampler
/// (BlackmanHarris² anti-aliasing window, f32).
///
/// Each output channel has exactly [`resampled_len`] frames and is time-aligned with the input:
/// the resampler's delay is removed, so an event at input time t is at output time t. Equal
/// rates return a copy. All channels must have the same length. Errors name
/// [`IN_MEMORY`] as the path; [`MediaError::with_path`] replaces it.
pub fn resample(
    channels: &[Vec<f32>],
    from_hz: u32,
    to_hz: u32,
) -> Result<Vec<Vec<f32>>, MediaError> {
    if from_hz == 0 || to_hz == 0 {
        return Err(resample_error(from_hz, to_hz, "sample rate is zero"));
    }
    let frames = channels.first().map(Vec::len).unwrap_or(0);
    if channels.iter().any(|c| c.len() != frames) {
        return Err(resample_error(
            from_hz,
            to_hz,
            "channels have different lengths",
        ));
    }
    if from_hz == to_hz {
        return Ok(channels.to_vec());
    }
    let out_len = resampled_len(frames, from_hz, to_hz);
    if frames == 0 {
        return Ok(vec![Vec::new(); channels.len()]);
    }
    let nch = channels.len();
    let mut resampler = Fft::<f32>::new_custom(
        from_hz as usize,
        to_hz as usize,
        even_block_chunk(from_hz, to_hz),
        1,
        nch,
        WindowFunction::BlackmanHarris2,
        FixedSync::Both,
    )
    .map_err(|e| resample_error(from_hz, to_hz, e.to_string()))?;
    let input = SequentialSliceOfVecs::new(channels, nch, frames)
        .map_err(|e| resample_error(from_hz, to_hz, e.to_string()))?;
    let needed = resampler.process_all_needed_output_len(frames);
    let mut out: Vec<Vec<f32>> = (0..nch).map(|_| vec![0.0f32; needed]).collect();
    let mut output = SequentialSliceOfVecs::new_mut(&mut out, nch, needed)
        .map_err(|e| resample_error(from_hz, to_hz, e.to_string()))?;
    let (_, produced) = resampler
        .process_all_into_buffer(&input, &mut output, frames, None)
        .map_err(|e| resample_error(from_hz, to_hz, e.to_string()))?;
    if produced < out_len {
        return Err(resample_error(
            from_hz,
            to_hz,
            format!("resampler produced {produced} frames, expected {out_len}"),
        ));
    }
    for ch in out.iter_mut() {
        ch.truncate(out_len);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rounds_half_up() {
        assert_eq!(resampled_len(147, 44_100, 48_000), 160);
        assert_eq!(resampled_len(1, 44_100, 48_000), 1);
        // 3 * 48000 / 44100 = 3.265 -> 3 ; 7 * 44100 / 48000 = 6.43 -> 6
        assert_eq!(resampled_len(3, 44_100, 48_000), 3);
        assert_eq!(resampled_len(7, 48_000, 44_100), 6);
        // 1 * 3 / 2 = 1.5 -> 2
        assert_eq!(resampled_len(1, 2, 3), 2);
        assert_eq!(resampled_len(3_340_800, 48_000, 44_100), 3_069_360);
    }

    #[test]
    fn fft_blocks_are_even_on_both_sides() {
        for (from, to) in [
            (44_100, 48_000),
            (48_000, 44_100),
            (96_000, 44_100),
            (44_100, 96_000),
            (8_000, 44_100),
            (44_101, 48_000),
            (32_000, 48_000),
        ] {
            let chunk = even_block_chunk(from, to);
            let g = gcd(from, to);
            let blocks = chunk / (from / g) as usize;
            assert_eq!(chunk % (from / g) as usize, 0);
            assert_eq!(blocks % 2, 0, "{from}->{to}");
            assert_eq!((blocks * (to / g) as usize) % 2, 0);
        }
        assert_eq!(gcd(44_100, 48_000), 300);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(matches!(
            resample(&[vec![0.0; 4]], 0, 48_000),
            Err(MediaError::Resample { .. })
        ));
        let e = resample(&[vec![0.0; 4], vec![0.0; 3]], 44_100, 48_000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "<in-memory audio>: cannot resample from 44100 Hz to 48000 Hz: channels have different lengths"
        );
    }

    #[test]
    fn equal_rates_copy_and_empty_input() {
        let x = vec![vec![0.1, 0.2, 0.3]];
        assert_eq!(resample(&x, 48_000, 48_000).unwrap(), x);
        assert_eq!(
            resample(&[vec![], vec![]], 44_100, 48_000).unwrap(),
            vec![Vec::<f32>::new(), Vec::new()]
        );
        assert!(resample(&[], 44_100, 48_000).unwrap().is_empty());
    }

    #[test]
    fn short_clips_have_exact_length() {
        for frames in [1usize, 2, 100, 4095, 4116, 4117, 10_000] {
            let x = vec![vec![0.5f32; frames]; 2];
            for (from, to) in [(44_100, 48_000), (48_000, 44_100), (22_050, 48_000)] {
                let y = resample(&x, from, to).unwrap();
                assert_eq!(y.len(), 2);
                assert_eq!(
                    y[0].len(),
                    resampled_len(frames, from, to),
                    "{frames} {from}->{to}"
                );
                assert_eq!(y[1].len(), y[0].len());
            }
        }
    }
}
