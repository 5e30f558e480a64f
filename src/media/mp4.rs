//! Gapless trimming for MP4/M4A, which symphonia 0.6 does not do: reads the iTunes `iTunSMPB`
//! tag or the audio track's edit list (`elst`) from the `moov` box.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// What to keep of the decoded track, in frames at the track's sample rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mp4Trim {
    /// Silence to insert before the first frame (empty edits).
    pub pad_start_frames: u64,
    /// Decoded frames to drop from the start (encoder priming).
    pub skip_frames: u64,
    /// Frames to keep after the skip, if known.
    pub keep_frames: Option<u64>,
}

/// The largest `moov` box read into memory.
const MAX_MOOV_BYTES: u64 = 64 << 20;

/// Iterates the boxes in `buf`: `(type, body)`. Stops at the first malformed header.
fn boxes(buf: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let rest = buf.get(pos..)?;
        if rest.len() < 8 {
            return None;
        }
        let size32 = u32::from_be_bytes(rest[0..4].try_into().ok()?) as u64;
        let kind: [u8; 4] = rest[4..8].try_into().ok()?;
        let (header, size) = match size32 {
            0 => (8u64, rest.len() as u64),
            1 => (16u64, u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?)),
            n => (8u64, n),
        };
        if size < header || size > rest.len() as u64 {
            return None;
        }
        let body = &rest[header as usize..size as usize];
        pos += size as usize;
        Some((kind, body))
    })
}

fn child<'a>(buf: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(buf).find(|(k, _)| k == kind).map(|(_, b)| b)
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Timescale of an `mvhd` or `mdhd` body (both full boxes with the same layout up to it).
fn header_timescale(body: &[u8]) -> Option<u32> {
    match body.first()? {
        0 => be_u32(body, 12),
        1 => be_u32(body, 20),
        _ => None,
    }
    .filter(|&t| t > 0)
}

fn tkhd_track_id(body: &[u8]) -> Option<u32> {
    match body.first()? {
        0 => be_u32(body, 12),
        1 => be_u32(body, 20),
        _ => None,
    }
}

/// Edit list entries: (segment_duration in movie timescale, media_time in media timescale,
/// media_rate integer part).
fn elst_entries(body: &[u8]) -> Option<Vec<(u64, i64, i16)>> {
    let version = *body.first()?;
    let count = be_u32(body, 4)? as usize;
    let entry_len = if version == 1 { 20 } else { 12 };
    if count > (body.len().saturating_sub(8)) / entry_len {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let at = 8 + i * entry_len;
        let (dur, time, rate_at) = if version == 1 {
            (be_u64(body, at)?, be_u64(body, at + 8)? as i64, at + 16)
        } else {
            (
                u64::from(be_u32(body, at)?),
                i64::from(be_u32(body, at + 4)? as i32),
                at + 8,
            )
        };
        let rate = i16::from_be_bytes(body.get(rate_at..rate_at + 2)?.try_into().ok()?);
        out.push((dur, time, rate));
    }
    Some(out)
}

fn rescale(value: u64, from_scale: u32, to_scale: u32) -> u64 {
    let v = u128::from(value) * u128::from(to_scale);
    let d = u128::from(from_scale.max(1));
    u64::try_from((2 * v + d) / (2 * d)).unwrap_or(u64::MAX)
}

/// The trim from the edit list of track `track_id`, or `None` if it has no usable edit list.
/// Supported: any number of leading empty edits followed by exactly one normal-rate edit.
fn trim_from_elst(moov: &[u8], track_id: u32, sample_rate: u32) -> Option<Mp4Trim> {
    let movie_scale = header_timescale(child(moov, b"mvhd")?)?;
    let trak = boxes(moov)
        .filter(|(k, _)| k == b"trak")
        .map(|(_, b)| b)
        .find(|t| child(t, b"tkhd").and_then(tkhd_track_id) == Some(track_id))?;
    let media_scale = header_timescale(child(child(trak, b"mdia")?, b"mdhd")?)?;
    let entries = elst_entries(child(child(trak, b"edts")?, b"elst")?)?;
    let mut pad_start_frames = 0u64;
    let mut normal = entries.iter().skip_while(|(dur, time, _)| {
        if *time == -1 {
            pad_start_frames += rescale(*dur, movie_scale, sample_rate);
            true
        } else {
            false
        }
    });
    let &(dur, time, rate) = normal.next()?;
    if normal.next().is_some() || rate != 1 || time < 0 {
        return None;
    }
    Some(Mp4Trim {
        pad_start_frames,
        skip_frames: rescale(time as u64, media_scale, sample_rate),
        keep_frames: (dur > 0).then(|| rescale(dur, movie_scale, sample_rate)),
    })
}

/// The trim from an iTunes `iTunSMPB` tag: " 00000000 <delay> <padding> <length> ..." (hex).
fn trim_from_itunsmpb(moov: &[u8]) -> Option<Mp4Trim> {
    let meta = child(child(moov, b"udta")?, b"meta")?;
    // `meta` is a full box in MP4 (version/flags first) but not always in QuickTime files.
    let ilst = meta
        .get(4..)
        .and_then(|m| child(m, b"ilst"))
        .or_else(|| child(meta, b"ilst"))?;
    for (_, item) in boxes(ilst).filter(|(k, _)| k == b"----") {
        let name = child(item, b"name").and_then(|b| b.get(4..));
        if name != Some(b"iTunSMPB") {
            continue;
        }
        let value = child(item, b"data").and_then(|b| b.get(8..))?;
        let text = std::str::from_utf8(value).ok()?;
        let fields: Vec<&str> = text.split_whitespace().collect();
        let delay = u64::from_str_radix(fields.get(1)?, 16).ok()?;
        let length = u64::from_str_radix(fields.get(3)?, 16).ok()?;
        return Some(Mp4Trim {
            pad_start_frames: 0,
            skip_frames: delay,
            keep_frames: (length > 0).then_some(length),
        });
    }
    None
}

/// Reads the `moov` box of the MP4 file at `path`.
fn read_moov(path: &Path) -> Option<Vec<u8>> {
    let mut f = File::open(path).ok()?;
    let file_len = f.metadata().ok()?.len();
    let mut pos = 0u64;
    while pos + 8 <= file_len {
        f.seek(SeekFrom::Start(pos)).ok()?;
        let mut h = [0u8; 16];
        f.read_exact(&mut h[..8]).ok()?;
        let size32 = u64::from(u32::from_be_bytes(h[0..4].try_into().ok()?));
        let (header, size) = match size32 {
            0 => (8, file_len - pos),
            1 => {
                f.read_exact(&mut h[8..16]).ok()?;
                (16, u64::from_be_bytes(h[8..16].try_into().ok()?))
            }
            n => (8, n),
        };
        if size < header || pos + size > file_len {
            return None;
        }
        if &h[4..8] == b"moov" {
            let body_len = size - header;
            if body_len > MAX_MOOV_BYTES {
                return None;
            }
            let mut body = vec![0u8; body_len as usize];
            f.read_exact(&mut body).ok()?;
            return Some(body);
        }
        pos += size;
    }
    None
}

/// The gapless trim for track `track_id` of the MP4 file at `path`: the `iTunSMPB` tag if
/// present, else the track's edit list. `None` when neither gives one.
pub(crate) fn mp4_trim(path: &Path, track_id: u32, sample_rate: u32) -> Option<Mp4Trim> {
    let moov = read_moov(path)?;
    trim_from_itunsmpb(&moov).or_else(|| trim_from_elst(&moov, track_id, sample_rate))
}

/// Applies `trim` to decoded planar channels.
pub(crate) fn apply_trim(channels: &mut [Vec<f32>], trim: Mp4Trim) {
    for ch in channels.iter_mut() {
        let skip = usize::try_from(trim.skip_frames)
            .unwrap_or(usize::MAX)
            .min(ch.len());
        ch.drain(..skip);
        if let Some(keep) = trim.keep_frames {
            if let Ok(keep) = usize::try_from(keep) {
                ch.truncate(keep);
            }
        }
        if trim.pad_start_frames > 0 {
            let pad = usize::try_from(trim.pad_start_frames).unwrap_or(0);
            ch.splice(0..0, std::iter::repeat_n(0.0, pad));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn full(version: u8, rest: &[u8]) -> Vec<u8> {
        let mut v = vec![version, 0, 0, 0];
        v.extend_from_slice(rest);
        v
    }

    /// mvhd/mdhd v0: creation, modification, timescale, duration.
    fn hd(timescale: u32) -> Vec<u8> {
        let mut r = vec![0u8; 8];
        r.extend_from_slice(&timescale.to_be_bytes());
        r.extend_from_slice(&[0u8; 4]);
        full(0, &r)
    }

    fn tkhd(id: u32) -> Vec<u8> {
        let mut r = vec![0u8; 8];
        r.extend_from_slice(&id.to_be_bytes());
        full(0, &r)
    }

    fn elst(entries: &[(u32, i32)]) -> Vec<u8> {
        let mut r = (entries.len() as u32).to_be_bytes().to_vec();
        for (d, t) in entries {
            r.extend_from_slice(&d.to_be_bytes());
            r.extend_from_slice(&t.to_be_bytes());
            r.extend_from_slice(&[0, 1, 0, 0]);
        }
        full(0, &r)
    }

    fn moov(track_id: u32, entries: &[(u32, i32)]) -> Vec<u8> {
        let trak = [
            bx(b"tkhd", &tkhd(track_id)),
            bx(b"edts", &bx(b"elst", &elst(entries))),
            bx(b"mdia", &bx(b"mdhd", &hd(44_100))),
        ]
        .concat();
        [bx(b"mvhd", &hd(1000)), bx(b"trak", &trak)].concat()
    }

    #[test]
    fn edit_list_priming_and_length() {
        let m = moov(1, &[(250, 1024)]);
        assert_eq!(
            trim_from_elst(&m, 1, 44_100),
            Some(Mp4Trim {
                pad_start_frames: 0,
                skip_frames: 1024,
                keep_frames: Some(11_025)
            })
        );
        // Another track id: no trim.
        assert_eq!(trim_from_elst(&m, 2, 44_100), None);
        // A leading empty edit of 10 ms pads 441 frames.
        let m = moov(1, &[(10, -1), (250, 2112)]);
        assert_eq!(
            trim_from_elst(&m, 1, 44_100),
            Some(Mp4Trim {
                pad_start_frames: 441,
                skip_frames: 2112,
                keep_frames: Some(11_025)
            })
        );
        // Two normal edits are not supported.
        assert_eq!(
            trim_from_elst(&moov(1, &[(100, 0), (100, 5000)]), 1, 44_100),
            None
        );
    }

    #[test]
    fn itunsmpb_tag() {
        // data box body: type (1 = UTF-8), locale, value.
        let mut data = vec![0, 0, 0, 1, 0, 0, 0, 0];
        data.extend_from_slice(b" 00000000 00000840 000001CA 0000000000002B11 00000000 00000000");
        let item = [
            bx(b"mean", &full(0, b"com.apple.iTunes")),
            bx(b"name", &full(0, b"iTunSMPB")),
            bx(b"data", &data),
        ]
        .concat();
        let ilst = bx(b"ilst", &bx(b"----", &item));
        let meta = bx(b"meta", &full(0, &[bx(b"hdlr", &[0u8; 25]), ilst].concat()));
        let m = [bx(b"mvhd", &hd(1000)), bx(b"udta", &meta)].concat();
        assert_eq!(
            trim_from_itunsmpb(&m),
            Some(Mp4Trim {
                pad_start_frames: 0,
                skip_frames: 0x840,
                keep_frames: Some(0x2B11)
            })
        );
    }

    #[test]
    fn malformed_boxes_stop_iteration() {
        // Size larger than the buffer, size smaller than the header.
        assert_eq!(boxes(&[0, 0, 0, 200, b'm', b'o', b'o', b'v']).count(), 0);
        assert_eq!(boxes(&[0, 0, 0, 3, b'm', b'o', b'o', b'v']).count(), 0);
        assert!(elst_entries(&full(0, &u32::MAX.to_be_bytes())).is_none());
    }

    #[test]
    fn trim_application() {
        let mut ch = vec![(0..10).map(|v| v as f32).collect::<Vec<_>>()];
        apply_trim(
            &mut ch,
            Mp4Trim {
                pad_start_frames: 2,
                skip_frames: 3,
                keep_frames: Some(4),
            },
        );
        assert_eq!(ch[0], vec![0.0, 0.0, 3.0, 4.0, 5.0, 6.0]);
    }
}
