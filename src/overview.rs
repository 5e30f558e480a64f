//! The song overview: the energy of all stems over time, in fixed buckets, for the transport bar's
//! overview line (with the playhead, markers and loop region drawn over it).
//!
//! Built on the UI side as stems finish loading (never on the audio thread). It is pre-fader: it shows
//! where the song is busy or quiet, which is what finding a section needs, and it does not change while
//! the mix is adjusted, so it costs nothing after load.

/// Bucket length in seconds (10 buckets per second: fine enough for a 200-column overview of a
/// 20-second loop, small enough that a 10-minute song is 6,000 numbers).
pub const BUCKET_S: f64 = 0.1;

/// Summed mean-square energy per bucket over every stem added.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overview {
    frames_per_bucket: u64,
    energy: Vec<f64>,
}

impl Overview {
    /// An empty overview at `rate_hz`.
    pub fn new(rate_hz: u32) -> Overview {
        Overview {
            frames_per_bucket: ((f64::from(rate_hz) * BUCKET_S).round() as u64).max(1),
            energy: Vec::new(),
        }
    }

    /// Frames per bucket.
    pub fn frames_per_bucket(&self) -> u64 {
        self.frames_per_bucket
    }

    /// Number of buckets (covers the longest stem added).
    pub fn len(&self) -> usize {
        self.energy.len()
    }

    /// No stem added yet.
    pub fn is_empty(&self) -> bool {
        self.energy.is_empty()
    }

    /// Add one stem's planar channels (mono or stereo, equal lengths): each bucket gains the stem's mean
    /// square over that bucket, summed over its channels (so a stereo stem counts like the two signals it
    /// puts in the mix).
    pub fn add_stem(&mut self, channels: &[&[f32]]) {
        let len = channels.iter().map(|c| c.len()).max().unwrap_or(0);
        let fpb = self.frames_per_bucket as usize;
        let buckets = len.div_ceil(fpb);
        if self.energy.len() < buckets {
            self.energy.resize(buckets, 0.0);
        }
        for ch in channels {
            for (b, chunk) in ch.chunks(fpb).enumerate() {
                let sum: f64 = chunk.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
                // a short last bucket is averaged over a full bucket: the song ends there
                self.energy[b] += sum / fpb as f64;
            }
        }
    }

    /// Add another overview's energy (another stem's share, at the same rate).
    pub fn merge(&mut self, other: &Overview) {
        if other.frames_per_bucket != self.frames_per_bucket {
            return;
        }
        if self.energy.len() < other.energy.len() {
            self.energy.resize(other.energy.len(), 0.0);
        }
        for (e, o) in self.energy.iter_mut().zip(&other.energy) {
            *e += o;
        }
    }

    /// Level in dBFS (RMS of the summed energy) over the frames `[start, end)`, the loudest bucket
    /// in the range; `None` past the end or for silence.
    pub fn level_db(&self, start_frame: u64, end_frame: u64) -> Option<f32> {
        let fpb = self.frames_per_bucket;
        let first = (start_frame / fpb) as usize;
        let last = (end_frame.max(start_frame + 1).div_ceil(fpb) as usize).min(self.energy.len());
        if first >= last {
            return None;
        }
        let e = self.energy[first..last].iter().cloned().fold(0.0, f64::max);
        (e > 0.0).then(|| (10.0 * e.log10()) as f32)
    }

    /// One row of `columns` characters for the frames `[0, length_frames)`: a block glyph per column,
    /// its height the column's level on a `range_db` scale below 0 dBFS (`ascii`: ` .:-=+*#`).
    pub fn row(&self, length_frames: u64, columns: usize, range_db: f32, ascii: bool) -> Vec<char> {
        const BLOCKS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
        const ASCII: [char; 9] = [' ', '.', '.', ':', '-', '=', '+', '*', '#'];
        let glyphs = if ascii { &ASCII } else { &BLOCKS };
        (0..columns)
            .map(|c| {
                let (a, b) = column_frames(length_frames, columns, c);
                match self.level_db(a, b) {
                    None => glyphs[0],
                    Some(db) => {
                        let t = ((db + range_db) / range_db).clamp(0.0, 1.0);
                        // anything audible gets at least the lowest block
                        let i = ((t * 8.0).round() as usize).max(1);
                        glyphs[i.min(8)]
                    }
                }
            })
            .collect()
    }
}

/// The frames `[start, end)` that column `c` of `columns` covers in a song of `length_frames`.
pub fn column_frames(length_frames: u64, columns: usize, c: usize) -> (u64, u64) {
    let cols = columns.max(1) as u128;
    let len = u128::from(length_frames);
    let a = (len * c as u128 / cols) as u64;
    let b = (len * (c as u128 + 1) / cols) as u64;
    (a, b.max(a + 1))
}

/// The column of `columns` that shows `frame` in a song of `length_frames` (clamped to the last).
pub fn frame_column(length_frames: u64, columns: usize, frame: u64) -> usize {
    if length_frames == 0 || columns == 0 {
        return 0;
    }
    let c = (u128::from(frame) * columns as u128 / u128::from(length_frames)) as usize;
    c.min(columns - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scale_sine_reads_minus_3_db_and_silence_reads_nothing() {
        let rate = 48_000;
        let mut o = Overview::new(rate);
        assert_eq!(o.frames_per_bucket(), 4_800);
        // 1 s of a full-scale 1 kHz sine, then 1 s of silence
        let sine: Vec<f32> = (0..rate as usize)
            .map(|n| {
                (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / f64::from(rate)).sin() as f32
            })
            .chain(std::iter::repeat_n(0.0, rate as usize))
            .collect();
        o.add_stem(&[&sine]);
        assert_eq!(o.len(), 20);
        let db = o.level_db(0, 48_000).unwrap();
        assert!((db - (-3.0103)).abs() < 0.01, "{db}");
        assert_eq!(o.level_db(48_000, 96_000), None);
        assert_eq!(o.level_db(200_000, 300_000), None);
    }

    #[test]
    fn stems_add_as_energy() {
        // two uncorrelated-in-time stems: one loud early, one loud late; and two equal stems add +3 dB
        let mut o = Overview::new(1000);
        let a = vec![0.5f32; 1000];
        o.add_stem(&[&a]);
        let one = o.level_db(0, 1000).unwrap();
        let mut two = Overview::new(1000);
        two.add_stem(&[&a, &a]);
        o.merge(&two);
        let three = o.level_db(0, 1000).unwrap();
        assert!((one - 20.0 * 0.5f32.log10()).abs() < 1e-4, "{one}");
        assert!(
            (three - one - 10.0 * 3f32.log10()).abs() < 1e-4,
            "{three} {one}"
        );
    }

    #[test]
    fn the_row_follows_the_level_and_columns_map_frames() {
        let mut o = Overview::new(100); // 10 frames per bucket
                                        // 100 frames loud, 100 frames at -30 dB, 100 frames silent
        let x: Vec<f32> = (0..300)
            .map(|n| match n {
                0..100 => 1.0,
                100..200 => 0.031_622_8,
                _ => 0.0,
            })
            .collect();
        o.add_stem(&[&x]);
        let row = o.row(300, 3, 60.0, false);
        assert_eq!(row, vec!['█', '▄', ' ']);
        assert_eq!(o.row(300, 3, 60.0, true), vec!['#', '-', ' ']);
        assert_eq!(frame_column(300, 3, 0), 0);
        assert_eq!(frame_column(300, 3, 199), 1);
        assert_eq!(frame_column(300, 3, 10_000), 2);
        assert_eq!(column_frames(300, 3, 1), (100, 200));
    }
}
