//! Decoding whole files to planar f32 with symphonia.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::well_known as codec_ids;
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters, AudioDecoderOptions};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::packet::Packet;
use symphonia::core::units::TimeBase;

use super::channels::{default_roles, roles_for};
use super::mp4;
use super::{DecodedAudio, MediaError};

/// File extensions (lower case) that [`is_audio_path`] accepts.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "aif", "aiff", "aifc", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "caf", "aac",
    "mka",
];

/// Whether `path` has an audio file extension (case-insensitive); for folder scanning.
pub fn is_audio_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
        .unwrap_or(false)
}

/// Opens `path` for reading, classifying a missing, empty, unreadable or non-file path.
fn open_file(path: &Path) -> Result<File, MediaError> {
    let meta = std::fs::metadata(path).map_err(|e| MediaError::from_io(path, &e))?;
    if meta.is_dir() {
        return Err(MediaError::Unreadable {
            path: path.to_path_buf(),
            reason: "is a directory".to_string(),
        });
    }
    let file = File::open(path).map_err(|e| MediaError::from_io(path, &e))?;
    if meta.len() == 0 {
        return Err(MediaError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

/// Maps an error raised while probing the container / reading its header.
fn header_error(path: &Path, err: SymError) -> MediaError {
    let path_buf = path.to_path_buf();
    match err {
        SymError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => MediaError::CorruptHeader {
            path: path_buf,
            reason: HEADER_TRUNCATED.to_string(),
        },
        SymError::IoError(e) => MediaError::from_io(path, &e),
        SymError::Unsupported(msg) if msg.contains("no suitable format reader") => {
            MediaError::UnrecognisedFormat { path: path_buf }
        }
        SymError::Unsupported(msg) if msg.contains("missing") => MediaError::CorruptHeader {
            path: path_buf,
            reason: msg.to_string(),
        },
        SymError::Unsupported(msg) => MediaError::UnsupportedCodec {
            path: path_buf,
            codec: msg.to_string(),
        },
        SymError::DecodeError(msg) | SymError::LimitError(msg) => MediaError::CorruptHeader {
            path: path_buf,
            reason: msg.to_string(),
        },
        other => MediaError::CorruptHeader {
            path: path_buf,
            reason: other.to_string(),
        },
    }
}

const HEADER_TRUNCATED: &str = "header is truncated";

/// A human name for codecs symphonia knows by id but cannot decode (or a hex id).
fn codec_name(id: AudioCodecId) -> String {
    let known: &[(AudioCodecId, &str)] = &[
        (codec_ids::CODEC_ID_OPUS, "Opus"),
        (codec_ids::CODEC_ID_SPEEX, "Speex"),
        (codec_ids::CODEC_ID_MUSEPACK, "Musepack"),
        (codec_ids::CODEC_ID_AC3, "AC-3"),
        (codec_ids::CODEC_ID_EAC3, "E-AC-3"),
        (codec_ids::CODEC_ID_AC4, "AC-4"),
        (codec_ids::CODEC_ID_DCA, "DTS"),
        (codec_ids::CODEC_ID_WMA, "WMA"),
        (codec_ids::CODEC_ID_WAVPACK, "WavPack"),
        (codec_ids::CODEC_ID_MONKEYS_AUDIO, "Monkey's Audio"),
        (codec_ids::CODEC_ID_TTA, "TTA"),
        (codec_ids::CODEC_ID_TRUEHD, "TrueHD"),
        (codec_ids::CODEC_ID_ATRAC3, "ATRAC3"),
        (codec_ids::CODEC_ID_ATRAC3PLUS, "ATRAC3+"),
        (codec_ids::CODEC_ID_AAC, "AAC"),
        (codec_ids::CODEC_ID_ALAC, "ALAC"),
        (codec_ids::CODEC_ID_MP3, "MP3"),
        (codec_ids::CODEC_ID_VORBIS, "Vorbis"),
        (codec_ids::CODEC_ID_FLAC, "FLAC"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| format!("codec id {id}"))
}

/// How an Ogg file ends: whether its last page is complete and flagged end-of-stream, and the
/// last page's granule position (for Vorbis and FLAC the frame count at its end).
#[derive(Debug, PartialEq, Eq)]
struct OggEnd {
    complete_eos: bool,
    granule: Option<u64>,
}

/// Reads the last Ogg page of `path`. symphonia's Ogg reader takes the length from the last
/// page it can read, so a cut or damaged end goes unnoticed without this.
fn ogg_end(path: &Path) -> Option<OggEnd> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL_BYTES: u64 = 128 * 1024;
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut tail = Vec::new();
    f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .ok()?;
    f.read_to_end(&mut tail).ok()?;
    // The last page header in the tail.
    let i = (0..tail.len().saturating_sub(26))
        .rev()
        .find(|&i| tail[i..].starts_with(b"OggS") && tail[i + 4] == 0)?;
    let incomplete = OggEnd {
        complete_eos: false,
        granule: None,
    };
    let header_type = tail[i + 5];
    let granule = i64::from_le_bytes(tail[i + 6..i + 14].try_into().ok()?);
    let nseg = tail[i + 26] as usize;
    let Some(segs) = tail.get(i + 27..i + 27 + nseg) else {
        return Some(incomplete);
    };
    let body: usize = segs.iter().map(|&s| s as usize).sum();
    if i + 27 + nseg + body != tail.len() {
        return Some(incomplete);
    }
    Some(OggEnd {
        complete_eos: header_type & 0x04 != 0,
        granule: u64::try_from(granule).ok(),
    })
}

/// What is wrong with the end of an Ogg file of `frames` decoded frames, if anything: a missing
/// or cut-off end-of-stream page, or (when symphonia could not find the length itself, i.e.
/// `length_known` is false) a last granule position beyond what was decoded.
fn ogg_end_problem(path: &Path, frames: usize, length_known: bool) -> Option<String> {
    match ogg_end(path) {
        Some(OggEnd {
            complete_eos: true,
            granule,
        }) => match granule {
            Some(g) if !length_known && g > frames as u64 => {
                Some(format!("file is damaged ({g} frames expected)"))
            }
            _ => None,
        },
        _ => Some("file is truncated".to_string()),
    }
}

/// Whether `codec` decodes to exactly the encoded length (no priming or padding).
fn is_lossless(codec: AudioCodecId) -> bool {
    use codec_ids::*;
    codec == CODEC_ID_ALAC
        || codec == CODEC_ID_FLAC
        || (CODEC_ID_PCM_S32LE..=CODEC_ID_PCM_MULAW).contains(&codec)
}

/// An opened container with its chosen audio track.
struct Opened {
    reader: Box<dyn FormatReader>,
    track: Track,
    params: AudioCodecParameters,
    sample_rate: u32,
    truncated_header: bool,
}

/// Probes `path` with a seekable or a forward-only source.
fn probe(path: &Path, seekable: bool) -> Result<Box<dyn FormatReader>, MediaError> {
    let file = open_file(path)?;
    let source: Box<dyn MediaSource> = if seekable {
        Box::new(file)
    } else {
        Box::new(ReadOnlySource::new(file))
    };
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| header_error(path, e))
}

/// Opens and probes `path`, picks the default audio track and validates its header.
///
/// Some readers (AIFF, CAF, Ogg) look past the audio data while opening a seekable file and
/// fail on a truncated one; those are retried forward-only, which `truncated_header` reports.
fn open(path: &Path) -> Result<Opened, MediaError> {
    let (reader, truncated_header) = match probe(path, true) {
        Ok(r) => (r, false),
        Err(MediaError::CorruptHeader { reason, .. }) if reason == HEADER_TRUNCATED => {
            match probe(path, false) {
                Ok(r) => (r, true),
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let track = reader
        .default_track(TrackType::Audio)
        .or_else(|| reader.first_track(TrackType::Audio))
        .cloned()
        .ok_or_else(|| MediaError::NoAudioTrack {
            path: path.to_path_buf(),
        })?;
    let params = match &track.codec_params {
        Some(CodecParameters::Audio(p)) => p.clone(),
        _ => {
            return Err(MediaError::NoAudioTrack {
                path: path.to_path_buf(),
            })
        }
    };
    let sample_rate = match params.sample_rate {
        Some(r) if r > 0 => r,
        _ => {
            return Err(MediaError::CorruptHeader {
                path: path.to_path_buf(),
                reason: "sample rate is zero".to_string(),
            })
        }
    };
    if params.channels.as_ref().is_some_and(|c| c.count() == 0) {
        return Err(MediaError::CorruptHeader {
            path: path.to_path_buf(),
            reason: "zero channels".to_string(),
        });
    }
    Ok(Opened {
        reader,
        track,
        params,
        sample_rate,
        truncated_header,
    })
}

/// The sample rate of `path` from its header, without decoding audio.
pub fn probe_rate(path: &Path) -> Result<u32, MediaError> {
    guard(path, || open(path).map(|o| o.sample_rate))
}

/// Runs `f`, turning a panic inside a decoder into a [`MediaError::Decode`] for `path`.
fn guard<T>(path: &Path, f: impl FnOnce() -> Result<T, MediaError>) -> Result<T, MediaError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(MediaError::Decode {
            path: path.to_path_buf(),
            reason: format!("decoder failed internally: {msg}"),
        })
    })
}

/// Frames in `dur` timebase units, at `rate`.
fn timebase_to_frames(dur: u64, tb: Option<TimeBase>, rate: u32) -> Option<u64> {
    let tb = tb?;
    let num = u128::from(dur) * u128::from(rate) * u128::from(tb.numer.get());
    u64::try_from(num / u128::from(tb.denom.get())).ok()
}

/// Appends a decoded buffer's planes to `out` (which must have one Vec per plane).
fn append_planar(buf: &GenericAudioBufferRef<'_>, out: &mut [Vec<f32>]) {
    let n = buf.frames();
    let mut slices: Vec<&mut [f32]> = out
        .iter_mut()
        .map(|ch| {
            let start = ch.len();
            ch.resize(start + n, 0.0);
            &mut ch[start..]
        })
        .collect();
    buf.copy_to_slice_planar(&mut slices);
}

/// How many frames to reserve for a track that says it has `frames`: the exact count when it
/// is plausible for a file of `file_len` bytes, otherwise nothing (the Vecs grow as needed).
fn plausible_reserve(frames: Option<u64>, channels: usize, file_len: u64) -> usize {
    let Some(frames) = frames else { return 0 };
    // Silence compresses extremely well in FLAC; allow a large ratio but stop absurd headers.
    let max_samples = file_len.saturating_mul(2048).min(1 << 33);
    let samples = frames.saturating_mul(channels.max(1) as u64);
    if samples <= max_samples {
        usize::try_from(frames).unwrap_or(0)
    } else {
        0
    }
}

/// The longest run of missing frames filled with silence; a larger timestamp jump is ignored.
const MAX_GAP_SECONDS: u64 = 10;

/// Where the first decoded frame of `packet` belongs, in frames from the start of the track
/// (after gapless trimming), when timestamps count frames.
fn packet_position(packet: &Packet, exact_timebase: bool) -> Option<u64> {
    if !exact_timebase {
        return None;
    }
    let pos = packet
        .pts
        .get()
        .checked_add(i64::try_from(packet.trim_start.get()).ok()?)?;
    u64::try_from(pos).ok()
}

/// After this many consecutive packets fail to decode, decoding stops.
const MAX_CONSECUTIVE_BAD_PACKETS: usize = 256;

/// Decodes all of `path` into native planar channels with their roles.
///
/// Gapless: MP3 (LAME/Xing delay and padding) and Ogg Vorbis are trimmed to the original
/// length by symphonia 0.6 (in the decoder: `AudioDecoderOptions::gapless`, on by default and
/// set explicitly here). MP4/M4A (iTunSMPB tag, else the edit list) and CAF (packet table) are
/// trimmed here, since symphonia does not. ADTS `.aac` has no gapless information.
///
/// A truncated or partly damaged file is not an error: what can be decoded is returned, with a
/// message in `warnings`. Packets that fail to decode, and packets the demuxer dropped (seen as
/// a jump in timestamps, when the timebase is 1/rate), are replaced by silence of their length
/// so later audio stays in time. NaN/infinite samples become 0. A panic inside symphonia is
/// caught and reported as [`MediaError::Decode`] (the panic hook still runs).
pub fn decode_file(path: &Path) -> Result<DecodedAudio, MediaError> {
    if let Some(a) = super::wav_fast::try_decode(path) {
        return Ok(a);
    }
    guard(path, || decode_unguarded(path))
}

/// [`decode_file`] without the bulk PCM WAV reader: always symphonia (tests compare the two).
pub fn decode_file_symphonia(path: &Path) -> Result<DecodedAudio, MediaError> {
    guard(path, || decode_unguarded(path))
}

fn decode_unguarded(path: &Path) -> Result<DecodedAudio, MediaError> {
    let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let Opened {
        mut reader,
        track,
        params,
        mut sample_rate,
        truncated_header,
    } = open(path)?;
    let format_name = reader.format_info().short_name;
    let is_caf = format_name == "caf";
    // Formats whose header states the exact decoded length (for MP3 only with a LAME tag;
    // otherwise the count is estimated from the bitrate).
    let exact_length = match format_name {
        "wave" | "aiff" | "flac" | "ogg" => true,
        "mp1" | "mp2" | "mp3" => track.delay.is_some(),
        _ => false,
    };

    let dec_opts = AudioDecoderOptions::default().gapless(true);
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &dec_opts)
        .map_err(|e| match e {
            SymError::Unsupported(_) => MediaError::UnsupportedCodec {
                path: path.to_path_buf(),
                codec: codec_name(params.codec),
            },
            other => header_error(path, other),
        })?;

    let mut warnings: Vec<String> = Vec::new();
    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut roles = Vec::new();
    let mut reserve = 0usize;
    if let Some(ch) = &params.channels {
        let count = ch.count();
        reserve = plausible_reserve(track.num_frames, count, file_len);
        channels = (0..count).map(|_| Vec::with_capacity(reserve)).collect();
        roles = roles_for(Some(ch), count);
    }

    let mut packets_ok = 0usize;
    let mut packets_bad = 0usize;
    let mut consecutive_bad = 0usize;
    let mut first_bad: Option<String> = None;
    // Packet timestamps count frames only when the timebase is exactly 1/rate.
    let exact_timebase = track
        .time_base
        .is_some_and(|tb| tb.numer.get() == 1 && tb.denom.get() == sample_rate);
    let mut gap_frames = 0u64;
    // Silence for damaged packets before the channel count is known.
    let mut lead_silence = 0usize;
    let mut any_packet_trim = false;
    let mut stop_reason: Option<String> = None;

    loop {
        let packet = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                stop_reason = Some("file is truncated".to_string());
                break;
            }
            Err(SymError::ResetRequired) => {
                stop_reason = Some("stream changes mid-file (chained stream)".to_string());
                break;
            }
            Err(e) => {
                stop_reason = Some(format!("file is damaged ({e})"));
                break;
            }
        };
        if packet.track_id != track.id {
            continue;
        }
        if !packet.trim_start.is_zero() || !packet.trim_end.is_zero() {
            any_packet_trim = true;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let planes = buf.num_planes();
                if planes == 0 {
                    continue;
                }
                if packets_ok == 0 {
                    // The first decoded buffer is the truth about layout and rate.
                    let spec_rate = buf.spec().rate();
                    if spec_rate > 0 {
                        sample_rate = spec_rate;
                    }
                    if channels.len() != planes {
                        // Keep any silence that stands in for damaged leading packets.
                        let lead = channels.first().map_or(lead_silence, Vec::len);
                        reserve = plausible_reserve(track.num_frames, planes, file_len);
                        channels = (0..planes)
                            .map(|_| {
                                let mut v = Vec::with_capacity(reserve.max(lead));
                                v.resize(lead, 0.0);
                                v
                            })
                            .collect();
                    }
                    roles = roles_for(Some(buf.spec().channels()), planes);
                }
                if planes != channels.len() || buf.spec().rate() != sample_rate {
                    stop_reason = Some("channel count or sample rate changes mid-file".into());
                    break;
                }
                // A packet that starts later than the audio so far means the demuxer dropped
                // damaged data (FLAC frame, Ogg page): fill the gap to keep later audio in time.
                if let Some(pos) = packet_position(&packet, exact_timebase) {
                    let len = channels[0].len() as u64;
                    if pos > len {
                        let gap = pos - len;
                        if gap <= MAX_GAP_SECONDS * u64::from(sample_rate) {
                            for ch in channels.iter_mut() {
                                ch.resize(pos as usize, 0.0);
                            }
                            gap_frames += gap;
                        }
                    }
                }
                append_planar(&buf, &mut channels);
                packets_ok += 1;
                consecutive_bad = 0;
            }
            Err(SymError::DecodeError(msg)) => {
                packets_bad += 1;
                consecutive_bad += 1;
                first_bad.get_or_insert_with(|| msg.to_string());
                // Keep later audio in time: replace the packet by silence of its length.
                if let Some(frames) =
                    timebase_to_frames(packet.dur.get(), track.time_base, sample_rate)
                {
                    let frames = frames.min(u64::from(sample_rate)) as usize;
                    if channels.is_empty() {
                        lead_silence += frames;
                    }
                    for ch in channels.iter_mut() {
                        ch.resize(ch.len() + frames, 0.0);
                    }
                }
                if consecutive_bad >= MAX_CONSECUTIVE_BAD_PACKETS {
                    stop_reason = Some("too many damaged packets".to_string());
                    break;
                }
            }
            Err(SymError::IoError(e)) => {
                stop_reason = Some(format!("file is truncated or damaged ({e})"));
                break;
            }
            Err(SymError::Unsupported(msg)) if packets_ok == 0 => {
                return Err(MediaError::UnsupportedCodec {
                    path: path.to_path_buf(),
                    codec: format!("{} ({msg})", codec_name(params.codec)),
                });
            }
            Err(e) => {
                stop_reason = Some(format!("decoding stopped ({e})"));
                break;
            }
        }
    }

    if packets_ok == 0 && packets_bad > 0 {
        return Err(MediaError::Decode {
            path: path.to_path_buf(),
            reason: first_bad.unwrap_or_else(|| "no packet could be decoded".to_string()),
        });
    }
    if channels.is_empty() {
        return Err(MediaError::Decode {
            path: path.to_path_buf(),
            reason: stop_reason.unwrap_or_else(|| "no audio could be decoded".to_string()),
        });
    }

    // MP4/M4A: symphonia ignores edit lists and iTunSMPB; trim encoder priming and padding here.
    // Lossless codecs decode to their exact length, so only a start edit applies to them (the
    // edit's length is often in a coarse movie timescale).
    if format_name == "isomp4" {
        if let Some(mut trim) = mp4::mp4_trim(path, track.id, sample_rate) {
            if is_lossless(params.codec) {
                trim.keep_frames = None;
            }
            mp4::apply_trim(&mut channels, trim);
        }
    }

    // CAF carries priming/remainder frames in its packet table but symphonia does not trim them.
    if is_caf && !any_packet_trim {
        let delay = track.delay.unwrap_or(0) as usize;
        let padding = track.padding.unwrap_or(0) as usize;
        if delay > 0 || padding > 0 {
            for ch in channels.iter_mut() {
                let end = ch.len().saturating_sub(padding);
                ch.truncate(end);
                ch.drain(..delay.min(ch.len()));
            }
        }
    }

    // NaN or infinity (float files, damaged data) would poison every filter downstream.
    let mut non_finite = 0usize;
    for x in channels.iter_mut().flatten() {
        if !x.is_finite() {
            *x = 0.0;
            non_finite += 1;
        }
    }
    if non_finite > 0 {
        warnings.push(format!(
            "{non_finite} non-finite sample(s) (NaN or infinity) replaced by 0"
        ));
    }

    let frames = channels[0].len();
    if packets_bad > 0 {
        warnings.push(format!(
            "{packets_bad} damaged packet(s) replaced by silence ({})",
            first_bad.unwrap_or_default()
        ));
    }
    if gap_frames > 0 {
        warnings.push(format!(
            "{gap_frames} frames lost to damaged data were replaced by silence"
        ));
    }
    let expected = track.num_frames.filter(|_| exact_length);
    let shortfall = expected.filter(|&n| n > frames as u64);
    let of_expected = shortfall.map(|n| format!(" of {n}")).unwrap_or_default();
    let decoded_s = frames as f64 / f64::from(sample_rate);
    if let Some(reason) = stop_reason {
        warnings.push(format!(
            "{reason}: decoded {frames}{of_expected} frames ({decoded_s:.3} s)"
        ));
    } else if truncated_header || shortfall.is_some() {
        warnings.push(format!(
            "file is truncated: decoded {frames}{of_expected} frames ({decoded_s:.3} s)"
        ));
    } else if let Some(problem) = (format_name == "ogg")
        .then(|| ogg_end_problem(path, frames, track.num_frames.is_some()))
        .flatten()
    {
        warnings.push(format!(
            "{problem}: decoded {frames} frames ({decoded_s:.3} s)"
        ));
    }
    if frames == 0 && warnings.is_empty() {
        warnings.push("file contains no audio frames".to_string());
    }
    // A truncated file may leave a large unused reservation.
    if reserve > 0 && frames < reserve / 2 {
        channels.iter_mut().for_each(Vec::shrink_to_fit);
    }
    if roles.len() != channels.len() {
        roles = default_roles(channels.len());
    }

    Ok(DecodedAudio {
        path: path.to_path_buf(),
        sample_rate,
        channels,
        roles,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_extensions() {
        assert!(is_audio_path(Path::new("a/b/Drums.WAV")));
        assert!(is_audio_path(Path::new("x.flac")));
        assert!(is_audio_path(Path::new("x.m4a")));
        assert!(!is_audio_path(Path::new("notes.txt")));
        assert!(!is_audio_path(Path::new("wav")));
        assert!(!is_audio_path(Path::new("session.ttymix")));
    }

    #[test]
    fn timebase_conversion() {
        let tb = Some(TimeBase::try_new(1, 44_100).unwrap());
        assert_eq!(timebase_to_frames(1152, tb, 44_100), Some(1152));
        // MP4 tracks often use a 1/600 or other unrelated timebase.
        let tb = Some(TimeBase::try_new(1, 1000).unwrap());
        assert_eq!(timebase_to_frames(500, tb, 48_000), Some(24_000));
        assert_eq!(timebase_to_frames(500, None, 48_000), None);
    }

    #[test]
    fn reservation_is_bounded() {
        assert_eq!(plausible_reserve(Some(1000), 2, 4000), 1000);
        assert_eq!(plausible_reserve(None, 2, 4000), 0);
        // A 100-byte file claiming 2^40 frames is not believed.
        assert_eq!(plausible_reserve(Some(1 << 40), 2, 100), 0);
    }
}
