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
        left.fill(0.0);
        if self.wav.channels == 2 {
            right.fill(0.0);
        }
        if start_frame >= self.wav.frames || self.failed {
            return;
        }
        if start_frame != self.next_frame {
            self.seek(start_frame);
        }
        let n = ((self.wav.frames - start_frame) as usize).min(left.len());
        let need = n * self.wav.frame_bytes();
        if self.bytes.len() < need {
            self.bytes.resize(need, 0);
        }
        if self.file.read_exact(&mut self.bytes[..need]).is_err() {
            self.failed = true;
            return;
        }
        let nr = n.min(right.len());
        self.wav
            .convert(&self.bytes[..need], &mut left[..n], &mut right[..nr]);
        self.next_frame = start_frame + n as u64;
    }
}
