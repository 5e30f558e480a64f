//! A bulk reader for the most common stem format: plain PCM WAV (16/24/32-bit integer or 32-bit float,
//! mono or stereo, complete). Everything else, and anything unusual about such a file (truncation, odd
//! chunk sizes, more channels), goes to symphonia.
//!
//! Why: symphonia decodes WAV packet by packet (a few thousand frames each) through generic sample
//! buffers; for a session of 24-bit stems that was most of the render time. Reading the `data` chunk in one
//! go and converting it in a tight loop is several times faster, and the conversion is the same
//! (integer / 2^(bits−1)), so the samples are identical — `tests/decode.rs` checks both paths agree bit
//! for bit.

use std::path::Path;

use super::{ChannelRole, DecodedAudio};

const PCM: u16 = 1;
const IEEE_FLOAT: u16 = 3;
const EXTENSIBLE: u16 = 0xFFFE;

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// The layout of a plain PCM WAV: what the bulk reader and the streaming source handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlainWav {
    /// 1 (PCM integer) or 3 (IEEE float).
    pub tag: u16,
    /// 1 or 2.
    pub channels: u16,
    /// Frames per second.
    pub rate: u32,
    /// 16, 24 or 32.
    pub bits: u16,
    /// Byte offset of the first sample.
    pub data_offset: u64,
    /// Frames in the data chunk (complete frames present in the file).
    pub frames: u64,
}

/// The 24-bit stereo conversion (the commonest stem format) 8 frames at a time: each 24-byte half of a
/// 48-byte group is spread over one 128-bit lane (`vpermd`), its four 3-byte samples moved into the top three
/// bytes of 32-bit lanes (`vpshufb`), sign-extended by an arithmetic shift, converted and scaled by 2^−23 —
/// exactly the scalar `(i32 >> 8) as f32 / 8_388_608.0` (24-bit integers are exact in f32 and the scale is a
/// power of two) — then de-interleaved. Returns how many frames it converted (whole groups; the caller's scalar
/// loop does the rest).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn stereo24_avx2(src: &[u8], left: &mut [f32], right: &mut [f32]) -> usize {
    use core::arch::x86_64::*;
    let n = (src.len() / 6).min(left.len()).min(right.len());
    // groups of 8 frames whose 32-byte loads stay inside `src` (each reads 8 bytes past its 24)
    let mut k = 0;
    let spread = _mm256_setr_epi32(0, 1, 2, 3, 3, 4, 5, 6);
    let m = -128i8; // zero the byte
    #[rustfmt::skip]
    let place = _mm256_setr_epi8(
        m, 0, 1, 2, m, 3, 4, 5, m, 6, 7, 8, m, 9, 10, 11,
        m, 0, 1, 2, m, 3, 4, 5, m, 6, 7, 8, m, 9, 10, 11,
    );
    let scale = _mm256_set1_ps(1.0 / 8_388_608.0);
    let samples = |p: *const u8| {
        let v = _mm256_loadu_si256(p as *const __m256i);
        let v = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(v, spread), place);
        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srai_epi32::<8>(v)), scale)
    };
    while (k + 8) * 6 + 8 <= src.len() && k + 8 <= n {
        let p = src.as_ptr().add(k * 6);
        let a = samples(p); // frames k..k+4: L0 R0 L1 R1 | L2 R2 L3 R3
        let b = samples(p.add(24)); // frames k+4..k+8
                                    // L0 L1 L4 L5 | L2 L3 L6 L7, then the 64-bit pairs in order
        let l = _mm256_shuffle_ps::<0b10_00_10_00>(a, b);
        let r = _mm256_shuffle_ps::<0b11_01_11_01>(a, b);
        let l = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(l)));
        let r = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(r)));
        _mm256_storeu_ps(left.as_mut_ptr().add(k), l);
        _mm256_storeu_ps(right.as_mut_ptr().add(k), r);
        k += 8;
    }
    k
}

impl PlainWav {
    /// Bytes per frame.
    pub fn frame_bytes(&self) -> usize {
        (self.bits / 8) as usize * self.channels as usize
    }

    /// Convert interleaved little-endian frames into planar f32 (`right` untouched for mono).
    pub fn convert(&self, src: &[u8], left: &mut [f32], right: &mut [f32]) {
        fn run<const B: usize>(
            src: &[u8],
            ch: usize,
            left: &mut [f32],
            right: &mut [f32],
            f: impl Fn(&[u8]) -> f32,
        ) {
            if ch == 2 {
                for ((fr, l), r) in src
                    .chunks_exact(2 * B)
                    .zip(left.iter_mut())
                    .zip(right.iter_mut())
                {
                    *l = f(&fr[..B]);
                    *r = f(&fr[B..]);
                }
            } else {
                for (fr, l) in src.chunks_exact(B).zip(left.iter_mut()) {
                    *l = f(fr);
                }
            }
        }
        let ch = self.channels as usize;
        match (self.tag, self.bits) {
            (PCM, 16) => run::<2>(src, ch, left, right, |b| {
                i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0
            }),
            (PCM, 24) => {
                #[allow(unused_mut)]
                let mut done = 0;
                #[cfg(target_arch = "x86_64")]
                if ch == 2 && std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: AVX2 is present (checked just above).
                    done = unsafe { stereo24_avx2(src, left, right) };
                }
                let (l, r) = (&mut left[done..], &mut right[done..]);
                run::<3>(&src[done * 6..], ch, l, r, |b| {
                    (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0
                })
            }
            (PCM, 32) => run::<4>(src, ch, left, right, |b| {
                (i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64 / 2_147_483_648.0) as f32
            }),
            _ => run::<4>(src, ch, left, right, |b| {
                let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                // as the symphonia path does: non-finite samples become silence
                if v.is_finite() {
                    v
                } else {
                    0.0
                }
            }),
        }
    }
}

/// Read the header of `path`; `Some` only for a complete plain PCM WAV with 1 or 2 channels.
pub fn plain_wav(path: &Path) -> Option<PlainWav> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let file_len = f.metadata().ok()?.len();
    let mut head = [0u8; 12];
    f.read_exact(&mut head).ok()?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let mut pos = 12u64;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    loop {
        let mut ch = [0u8; 8];
        f.seek(SeekFrom::Start(pos)).ok()?;
        f.read_exact(&mut ch).ok()?;
        let len = u32_at(&ch, 4)? as u64;
        let body_start = pos + 8;
        if body_start + len > file_len {
            return None; // a chunk running past the end (truncated): symphonia warns about it
        }
        match &ch[0..4] {
            b"fmt " => {
                let mut body = vec![0u8; len.min(64) as usize];
                f.read_exact(&mut body).ok()?;
                let mut tag = u16_at(&body, 0)?;
                let channels = u16_at(&body, 2)?;
                let rate = u32_at(&body, 4)?;
                let block_align = u16_at(&body, 12)?;
                let bits = u16_at(&body, 14)?;
                if tag == EXTENSIBLE {
                    if u16_at(&body, 16)? < 22 {
                        return None;
                    }
                    let valid_bits = u16_at(&body, 18)?;
                    let mask = u32_at(&body, 20)?;
                    let plain_mask = mask == 0
                        || (channels == 1 && (mask == 1 || mask == 4))
                        || (channels == 2 && mask == 3);
                    if valid_bits != bits || !plain_mask {
                        return None;
                    }
                    tag = u16_at(&body, 24)?; // first two bytes of the sub-format GUID
                }
                if block_align as u32 != channels as u32 * (bits as u32 / 8) {
                    return None;
                }
                fmt = Some((tag, channels, rate, bits));
            }
            b"data" => {
                let (tag, channels, rate, bits) = fmt?;
                let ok = matches!(
                    (tag, bits),
                    (PCM, 16) | (PCM, 24) | (PCM, 32) | (IEEE_FLOAT, 32)
                );
                if !ok || rate == 0 || !(channels == 1 || channels == 2) {
                    return None;
                }
                let w = PlainWav {
                    tag,
                    channels,
                    rate,
                    bits,
                    data_offset: body_start,
                    frames: 0,
                };
                let fb = w.frame_bytes() as u64;
                if len == 0 || !len.is_multiple_of(fb) {
                    return None;
                }
                return Some(PlainWav {
                    frames: len / fb,
                    ..w
                });
            }
            _ => {}
        }
        pos = body_start + len + (len & 1);
    }
}

/// Decode `path` if it is a complete plain PCM WAV with 1 or 2 channels; `None` means "use symphonia".
pub(crate) fn try_decode(path: &Path) -> Option<DecodedAudio> {
    use std::io::{Read, Seek, SeekFrom};
    let w = plain_wav(path)?;
    let mut f = std::fs::File::open(path).ok()?;
    f.seek(SeekFrom::Start(w.data_offset)).ok()?;
    let mut data = vec![0u8; w.frames as usize * w.frame_bytes()];
    f.read_exact(&mut data).ok()?;
    if w.tag == IEEE_FLOAT
        && data
            .chunks_exact(4)
            .any(|b| !f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite())
    {
        return None; // symphonia's path zeroes them and says so
    }
    let n = w.frames as usize;
    let mut left = vec![0.0f32; n];
    let mut right = vec![0.0f32; if w.channels == 2 { n } else { 0 }];
    w.convert(&data, &mut left, &mut right);
    let (channels, roles) = if w.channels == 1 {
        (vec![left], vec![ChannelRole::Mono])
    } else {
        (
            vec![left, right],
            vec![ChannelRole::Left, ChannelRole::Right],
        )
    };
    Some(DecodedAudio {
        path: path.to_path_buf(),
        sample_rate: w.rate,
        channels,
        roles,
        warnings: Vec::new(),
    })
}

/// The WAV data chunk is addressed with 32-bit sizes: at most this many bytes of header and data together.
const RIFF_MAX_BYTES: u64 = u32::MAX as u64;

/// A WAV writer that takes the data chunk in bulk (already encoded little-endian bytes) instead of sample by
/// sample. The header is hound's own (written by [`hound::WavWriter`] for the same spec, the two size fields
/// filled in at the end with hound's formulas), so a file written here is byte for byte what hound writes for
/// the same samples — `tests/render.rs` checks this for 16-bit, 24-bit and 32-bit float.
pub struct BulkWavWriter<W: std::io::Write + std::io::Seek> {
    out: W,
    header_len: u64,
    data_bytes: u64,
    block_align: u64,
}

impl<W: std::io::Write + std::io::Seek> BulkWavWriter<W> {
    /// Write hound's header for `spec` to `out` (at offset 0).
    pub fn new(mut out: W, spec: hound::WavSpec) -> std::io::Result<Self> {
        let mut header = std::io::Cursor::new(Vec::new());
        hound::WavWriter::new(&mut header, spec)
            .and_then(|w| w.finalize())
            .map_err(|e| match e {
                hound::Error::IoError(e) => e,
                e => std::io::Error::other(e.to_string()),
            })?;
        let header = header.into_inner();
        out.write_all(&header)?;
        Ok(Self {
            out,
            header_len: header.len() as u64,
            data_bytes: 0,
            block_align: u64::from(spec.channels) * u64::from(spec.bits_per_sample.div_ceil(8)),
        })
    }

    /// Append encoded sample bytes (whole frames, see [`encode_i16`], [`encode_i24`], [`encode_f32`]).
    pub fn write_data(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let total = self.data_bytes + bytes.len() as u64;
        if self.header_len + total > RIFF_MAX_BYTES {
            return Err(std::io::Error::other(
                "the mix is too long for a WAV file (4 GiB limit); render a shorter range",
            ));
        }
        self.out.write_all(bytes)?;
        self.data_bytes = total;
        Ok(())
    }

    /// Fill in the RIFF and data sizes (as hound's `finalize` does), flush, and hand back the output.
    pub fn finalize(mut self) -> std::io::Result<W> {
        use std::io::SeekFrom;
        if !self.data_bytes.is_multiple_of(self.block_align) {
            return Err(std::io::Error::other(
                "internal error: a partial frame was written",
            ));
        }
        let riff = (self.header_len - 8 + self.data_bytes) as u32;
        self.out.seek(SeekFrom::Start(4))?;
        self.out.write_all(&riff.to_le_bytes())?;
        self.out.seek(SeekFrom::Start(self.header_len - 4))?;
        self.out
            .write_all(&(self.data_bytes as u32).to_le_bytes())?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Append `samples` as 16-bit little-endian PCM.
pub fn encode_i16(samples: &[i16], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + 2 * samples.len(), 0);
    for (b, &s) in out[start..].chunks_exact_mut(2).zip(samples) {
        b.copy_from_slice(&s.to_le_bytes());
    }
}

/// Append `samples` (each within ±2^23) as 24-bit little-endian PCM.
pub fn encode_i24(samples: &[i32], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + 3 * samples.len(), 0);
    for (b, &s) in out[start..].chunks_exact_mut(3).zip(samples) {
        b.copy_from_slice(&s.to_le_bytes()[..3]);
    }
}

/// Append `samples` as 32-bit little-endian IEEE float.
pub fn encode_f32(samples: &[f32], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + 4 * samples.len(), 0);
    for (b, &s) in out[start..].chunks_exact_mut(4).zip(samples) {
        b.copy_from_slice(&s.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 24-bit stereo conversion (the AVX2 build where the CPU has it) against the scalar formula on
    /// pseudo-random bytes, for lengths around the 8-frame groups and the tail.
    #[test]
    fn stereo_24_bit_conversion_matches_the_scalar_formula() {
        let w = PlainWav {
            tag: PCM,
            channels: 2,
            rate: 48_000,
            bits: 24,
            data_offset: 44,
            frames: 0,
        };
        let mut x = 0x1234_5678u32;
        let bytes: Vec<u8> = (0..6 * 203)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        let scalar =
            |b: &[u8]| (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0;
        for frames in [0, 1, 7, 8, 9, 16, 17, 64, 200, 203] {
            let src = &bytes[..6 * frames];
            let (mut l, mut r) = (vec![9.0f32; frames], vec![9.0f32; frames]);
            w.convert(src, &mut l, &mut r);
            for i in 0..frames {
                assert_eq!(
                    l[i].to_bits(),
                    scalar(&src[6 * i..]).to_bits(),
                    "{frames}: L{i}"
                );
                assert_eq!(
                    r[i].to_bits(),
                    scalar(&src[6 * i + 3..]).to_bits(),
                    "{frames}: R{i}"
                );
            }
        }
        // full scale both ways
        let (mut l, mut r) = ([0f32; 9], [0f32; 9]);
        let mut src = Vec::new();
        for _ in 0..9 {
            src.extend_from_slice(&[0xff, 0xff, 0x7f, 0x00, 0x00, 0x80]);
        }
        w.convert(&src, &mut l, &mut r);
        assert!(l.iter().all(|&v| v == 8_388_607.0 / 8_388_608.0), "{l:?}");
        assert!(r.iter().all(|&v| v == -1.0), "{r:?}");
    }
}
