//! A disk-streaming source for plain PCM WAV stems: memory stays bounded (one block of bytes) however long
//! the stem. It reads the file inside [`Source::read`], so it is for offline render only, never for the
//! audio thread (real-time playback uses in-memory sources, or would use a read-ahead thread and a ring).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::wav_fast::{plain_wav, PlainWav};
use super::MediaError;
use crate::engine::Source;

/// Streams a plain PCM WAV from disk.
pub struct WavStreamSource {
    /// Read directly (no `BufReader`): each read is a whole block of frames, so a buffer would only add a
    /// copy.
    file: File,
    wav: PlainWav,
    next_frame: u64,
    bytes: Vec<u8>,
    failed: bool,
}

impl WavStreamSource {
    /// Open `path`, which must be a plain PCM WAV (see [`plain_wav`]).
    pub fn open(path: &Path) -> Result<Self, MediaError> {
        let wav = plain_wav(path).ok_or_else(|| MediaError::UnrecognisedFormat {
            path: path.to_path_buf(),
        })?;
        let file = File::open(path).map_err(|e| MediaError::from_io(path, &e))?;
        let mut s = Self {
            file,
            wav,
            next_frame: u64::MAX,
            bytes: Vec::new(),
            failed: false,
        };
        s.seek(0);
        Ok(s)
    }

    fn seek(&mut self, frame: u64) {
        let off = self.wav.data_offset + frame * self.wav.frame_bytes() as u64;
        self.failed = self.file.seek(SeekFrom::Start(off)).is_err();
        self.next_frame = frame;
    }

    /// True if a read failed (the rest was given as silence).
    pub fn failed(&self) -> bool {
        self.failed
    }
}

impl Source for WavStreamSource {
    fn channels(&self) -> usize {
        self.wav.channels as usize
    }

    fn len_frames(&self) -> u64 {
        self.wav.frames
    }

    fn read(&mut self, start_frame: u64, left: &mut [f32], right: &mut [f32]) {
        // `convert` writes every frame it is given; only what lies past the stem's end (or follows a failed
        // read) is filled with silence here.
        let stereo = self.wav.channels == 2;
        let silence_from = |n: usize, left: &mut [f32], right: &mut [f32]| {
            let from_left = n.min(left.len());
            left[from_left..].fill(0.0);
            if stereo {
                let from_right = n.min(right.len());
                right[from_right..].fill(0.0);
            }
        };
        if start_frame >= self.wav.frames || self.failed {
            return silence_from(0, left, right);
        }
        if start_frame != self.next_frame {
            self.seek(start_frame);
        }
        let n = ((self.wav.frames - start_frame) as usize).min(left.len());
        let need = n * self.wav.frame_bytes();
        if self.bytes.len() < need {
            self.bytes.resize(need, 0);
        }
        if self.failed || self.file.read_exact(&mut self.bytes[..need]).is_err() {
            self.failed = true;
            return silence_from(0, left, right);
        }
        let nr = n.min(right.len());
        self.wav
            .convert(&self.bytes[..need], &mut left[..n], &mut right[..nr]);
        self.next_frame = start_frame + n as u64;
        silence_from(n, left, right);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stereo 16-bit stem of `frames` frames whose left sample `i` is `i / 32768` and right `-i / 32768`.
    fn stem(dir: &Path, frames: i16) -> std::path::PathBuf {
        let p = dir.join("s.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&p, spec).unwrap();
        for i in 0..frames {
            w.write_sample(i).unwrap();
            w.write_sample(-i).unwrap();
        }
        w.finalize().unwrap();
        p
    }

    #[test]
    fn reads_fill_past_the_end_with_silence_and_keep_the_frames_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = WavStreamSource::open(&stem(dir.path(), 100)).unwrap();
        // buffers full of garbage: every frame must be written
        let (mut l, mut r) = (vec![f32::NAN; 64], vec![f32::NAN; 64]);
        s.read(60, &mut l, &mut r);
        for i in 0..64 {
            let want = if 60 + i < 100 {
                (60 + i) as f32 / 32_768.0
            } else {
                0.0
            };
            assert_eq!((l[i], r[i]), (want, -want), "frame {i}");
        }
        // wholly past the end
        let (mut l, mut r) = (vec![f32::NAN; 8], vec![f32::NAN; 8]);
        s.read(200, &mut l, &mut r);
        assert!(l.iter().chain(&r).all(|&x| x == 0.0));
        // and back (a seek)
        s.read(3, &mut l, &mut r);
        assert_eq!(l[0], 3.0 / 32_768.0);
        assert_eq!(r[7], -10.0 / 32_768.0);
    }
}
