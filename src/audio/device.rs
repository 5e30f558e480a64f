//! Host and device selection, rate/format/buffer negotiation and the device listing. Runs on the
//! caller's thread or the output supervisor, never on the audio thread.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{
    BufferSize, SampleFormat, StreamConfig, SupportedBufferSize, SupportedStreamConfigRange,
};

use super::convert::is_supported_format;
use super::slot::{DeviceCallback, Shared};
use super::AudioError;

/// Audio host (sound server or driver API) to play through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostChoice {
    /// ALSA, the Linux default.
    Alsa,
    /// PulseAudio (also pipewire-pulse), through cpal's pure-Rust client.
    Pulse,
    /// PipeWire's native API (cargo feature `pipewire`).
    PipeWire,
    /// JACK (cargo feature `jack`).
    Jack,
}

impl HostChoice {
    /// Every host, in the order tried when none is asked for.
    pub const ALL: [HostChoice; 4] = [
        HostChoice::Alsa,
        HostChoice::Pulse,
        HostChoice::PipeWire,
        HostChoice::Jack,
    ];

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            HostChoice::Alsa => "ALSA",
            HostChoice::Pulse => "PulseAudio",
            HostChoice::PipeWire => "PipeWire",
            HostChoice::Jack => "JACK",
        }
    }

    /// The cargo feature that compiles this host in (ALSA is always in on Linux).
    pub fn cargo_feature(self) -> Option<&'static str> {
        match self {
            HostChoice::Alsa => None,
            HostChoice::Pulse => Some("pulseaudio"),
            HostChoice::PipeWire => Some("pipewire"),
            HostChoice::Jack => Some("jack"),
        }
    }

    /// Whether this build contains the host.
    pub fn is_compiled(self) -> bool {
        self.cpal_id().is_some()
    }

    pub(crate) fn cpal_id(self) -> Option<cpal::HostId> {
        match self {
            HostChoice::Alsa => alsa_id(),
            HostChoice::Pulse => pulse_id(),
            HostChoice::PipeWire => pipewire_id(),
            HostChoice::Jack => jack_id(),
        }
    }
}

#[cfg(any(
    target_os = "linux",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "netbsd"
))]
fn alsa_id() -> Option<cpal::HostId> {
    Some(cpal::HostId::Alsa)
}
#[cfg(not(any(
    target_os = "linux",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "netbsd"
)))]
fn alsa_id() -> Option<cpal::HostId> {
    None
}

#[cfg(all(
    feature = "pulseaudio",
    any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "netbsd"
    )
))]
fn pulse_id() -> Option<cpal::HostId> {
    Some(cpal::HostId::PulseAudio)
}
#[cfg(not(all(
    feature = "pulseaudio",
    any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "netbsd"
    )
)))]
fn pulse_id() -> Option<cpal::HostId> {
    None
}

#[cfg(all(
    feature = "pipewire",
    any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "netbsd"
    )
))]
fn pipewire_id() -> Option<cpal::HostId> {
    Some(cpal::HostId::PipeWire)
}
#[cfg(not(all(
    feature = "pipewire",
    any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "netbsd"
    )
)))]
fn pipewire_id() -> Option<cpal::HostId> {
    None
}

#[cfg(all(
    feature = "jack",
    any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "macos",
        target_os = "windows"
    )
))]
fn jack_id() -> Option<cpal::HostId> {
    Some(cpal::HostId::Jack)
}
#[cfg(not(all(
    feature = "jack",
    any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "macos",
        target_os = "windows"
    )
)))]
fn jack_id() -> Option<cpal::HostId> {
    None
}

impl fmt::Display for HostChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HostChoice {
    type Err = String;

    /// `alsa`, `pulse`/`pulseaudio`, `pipewire`/`pw`, `jack` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "alsa" => Ok(HostChoice::Alsa),
            "pulse" | "pulseaudio" => Ok(HostChoice::Pulse),
            "pipewire" | "pw" => Ok(HostChoice::PipeWire),
            "jack" => Ok(HostChoice::Jack),
            other => Err(format!(
                "unknown audio host `{other}` (expected alsa, pulse, pipewire or jack)"
            )),
        }
    }
}

/// What the user asked for on the command line. All fields optional: the default is the
/// default device of the default host at the engine's preferred rate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputOptions {
    /// Host to use (`--host`). `None`: ALSA, then other compiled-in hosts that are running.
    pub host: Option<HostChoice>,
    /// Device id or name (`--device`); matched exactly, then case-insensitively, then as a
    /// unique substring.
    pub device: Option<String>,
    /// Frames per device callback (`--buffer`).
    pub buffer_frames: Option<u32>,
    /// Required device rate (`--rate`); negotiation fails if the device cannot run at it.
    pub rate_hz: Option<u32>,
    /// Do not open a device; run the silent clock (`--output none`).
    pub output_none: bool,
}

/// Default frames per callback for PulseAudio (its server default would be about 2 s).
const PULSE_DEFAULT_BUFFER_FRAMES: u32 = 1024;
/// Silent clock period when nothing else decides it.
pub(crate) const SILENT_DEFAULT_PERIOD_FRAMES: u32 = 512;
/// How long PulseAudio stream creation may take.
const STREAM_CREATE_TIMEOUT: Duration = Duration::from_secs(5);

/// A stream built (not yet playing) on a device.
pub(crate) struct OpenedStream {
    pub stream: cpal::Stream,
    pub label: String,
    pub config: StreamConfig,
    pub format: SampleFormat,
    pub period_frames: u32,
    pub rate_note: Option<String>,
    pub generation: u64,
}

impl OpenedStream {
    pub fn describe(&self) -> String {
        let ms = self.period_frames as f64 * 1000.0 / self.config.sample_rate as f64;
        format!(
            "{}: {} ch {} at {} Hz, {}-frame buffer ({:.1} ms)",
            self.label,
            self.config.channels,
            self.format,
            self.config.sample_rate,
            self.period_frames,
            ms
        )
    }

    /// Start playback.
    pub fn play(&self) -> Result<(), AudioError> {
        self.stream.play().map_err(|e| AudioError::Device {
            device: self.label.clone(),
            reason: format!("cannot start playback: {e}"),
        })
    }
}

/// Why opening failed.
pub(crate) enum OpenFailure {
    /// The user asked for this host/device/rate/buffer: report the error.
    Requested(AudioError),
    /// Nothing usable by default: run the silent clock with this reason.
    NoDefault(String),
}

/// Open a stream for `opts` at `requested_rate_hz` (falls back to the device rate unless
/// `opts.rate_hz` is set). Tries the default hosts in turn when no host is named.
pub(crate) fn open_stream(
    opts: &OutputOptions,
    requested_rate_hz: u32,
    shared: &Arc<Shared>,
    generation: u64,
) -> Result<OpenedStream, OpenFailure> {
    let hosts: Vec<HostChoice> = match opts.host {
        Some(h) => {
            if !h.is_compiled() {
                return Err(OpenFailure::Requested(not_compiled(h)));
            }
            vec![h]
        }
        None => {
            let running = cpal::available_hosts();
            HostChoice::ALL
                .into_iter()
                .filter(|h| match h.cpal_id() {
                    Some(id) => *h == HostChoice::Alsa || running.contains(&id),
                    None => false,
                })
                .collect()
        }
    };
    if hosts.is_empty() {
        return Err(OpenFailure::NoDefault("no audio host in this build".into()));
    }
    let mut reasons = Vec::new();
    let mut not_found: Option<AudioError> = None;
    for host in hosts {
        match open_on_host(host, opts, requested_rate_hz, shared, generation) {
            Ok(s) => return Ok(s),
            Err(e) => {
                let is_not_found = matches!(e, AudioError::DeviceNotFound { .. });
                if opts.host.is_some() || (opts.device.is_some() && !is_not_found) {
                    return Err(OpenFailure::Requested(e));
                }
                if is_not_found {
                    not_found.get_or_insert(e);
                } else {
                    reasons.push(e.to_string());
                }
            }
        }
    }
    match not_found {
        Some(e) if opts.device.is_some() => Err(OpenFailure::Requested(e)),
        _ => Err(OpenFailure::NoDefault(reasons.join("; "))),
    }
}

fn not_compiled(host: HostChoice) -> AudioError {
    AudioError::HostUnavailable {
        host,
        reason: match host.cargo_feature() {
            Some(f) => format!("not part of this build (rebuild with `--features {f}`)"),
            None => "not available on this platform".into(),
        },
    }
}

fn open_on_host(
    host_choice: HostChoice,
    opts: &OutputOptions,
    requested_rate_hz: u32,
    shared: &Arc<Shared>,
    generation: u64,
) -> Result<OpenedStream, AudioError> {
    #[cfg(any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "netbsd"
    ))]
    let alsa_errors = (host_choice == HostChoice::Alsa).then(super::alsa_util::AlsaErrors::capture);
    let result = open_on_host_inner(host_choice, opts, requested_rate_hz, shared, generation);
    #[cfg(any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "netbsd"
    ))]
    let result = result.map_err(|e| match (e, alsa_errors.and_then(|c| c.last_message())) {
        (AudioError::Device { device, reason }, Some(detail)) if !reason.contains(&detail) => {
            AudioError::Device {
                device,
                reason: format!("{reason} (alsa-lib: {detail})"),
            }
        }
        (e, _) => e,
    });
    result
}

fn open_on_host_inner(
    host_choice: HostChoice,
    opts: &OutputOptions,
    requested_rate_hz: u32,
    shared: &Arc<Shared>,
    generation: u64,
) -> Result<OpenedStream, AudioError> {
    let id = host_choice
        .cpal_id()
        .ok_or_else(|| not_compiled(host_choice))?;
    let host = cpal::host_from_id(id).map_err(|e| AudioError::HostUnavailable {
        host: host_choice,
        reason: e.to_string(),
    })?;
    let (device, named) = match &opts.device {
        Some(name) => (find_device(&host, host_choice, name)?, true),
        None => (
            host.default_output_device()
                .ok_or_else(|| AudioError::Device {
                    device: format!("{host_choice} default"),
                    reason: "no default output device".into(),
                })?,
            false,
        ),
    };
    let device_id = device_id_string(&device);
    let label = format!("{host_choice} {device_id}");
    if host_choice == HostChoice::Alsa {
        let discards = alsa_probe(&device_id).map_err(|reason| AudioError::Device {
            device: label.clone(),
            reason,
        })?;
        if discards && !named {
            return Err(AudioError::Device {
                device: label,
                reason: "the default PCM is ALSA's null device, which discards audio".into(),
            });
        }
    }
    let (supported, rate_note) =
        choose_config(&device, &label, requested_rate_hz, opts.rate_hz.is_some())?;
    let buffer_size = match opts.buffer_frames {
        Some(frames) => {
            if let SupportedBufferSize::Range { min, max } = supported.buffer_size() {
                if !(*min..=*max).contains(&frames) {
                    return Err(AudioError::UnsupportedBuffer {
                        device: label,
                        frames,
                        supported: format!("{min}–{max} frames"),
                    });
                }
            }
            BufferSize::Fixed(frames)
        }
        None if host_choice == HostChoice::Pulse => BufferSize::Fixed(PULSE_DEFAULT_BUFFER_FRAMES),
        None => BufferSize::Default,
    };
    let config = StreamConfig {
        channels: supported.channels(),
        sample_rate: supported.sample_rate(),
        buffer_size,
    };
    let format = supported.sample_format();
    let mut callback =
        DeviceCallback::new(shared.clone(), config.channels as usize, config.sample_rate);
    let error_shared = shared.clone();
    let error_label = label.clone();
    let timeout = (host_choice == HostChoice::Pulse).then_some(STREAM_CREATE_TIMEOUT);
    let stream = device
        .build_output_stream_raw(
            config,
            format,
            move |data, _info| callback.process(data),
            move |err| error_shared.on_stream_error(generation, &error_label, err),
            timeout,
        )
        .map_err(|e| AudioError::Device {
            device: label.clone(),
            reason: format!(
                "cannot open a {} ch {} stream at {} Hz: {e}",
                config.channels, format, config.sample_rate
            ),
        })?;
    let period_frames = stream
        .buffer_size()
        .ok()
        .filter(|&f| f > 0)
        .or(match buffer_size {
            BufferSize::Fixed(f) => Some(f),
            BufferSize::Default => None,
        })
        .unwrap_or(SILENT_DEFAULT_PERIOD_FRAMES);
    Ok(OpenedStream {
        stream,
        label,
        config,
        format,
        period_frames,
        rate_note,
        generation,
    })
}

#[cfg(any(
    target_os = "linux",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "netbsd"
))]
fn alsa_probe(pcm: &str) -> Result<bool, String> {
    super::alsa_util::probe_pcm(pcm).map(|discards| discards || pcm == "null")
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "netbsd"
)))]
fn alsa_probe(pcm: &str) -> Result<bool, String> {
    Ok(pcm == "null")
}

fn device_id_string(device: &cpal::Device) -> String {
    match device.id() {
        Ok(id) => id.id().to_string(),
        Err(_) => device
            .description()
            .map(|d| d.name().to_string())
            .unwrap_or_else(|_| "unknown device".into()),
    }
}

fn device_name(device: &cpal::Device) -> String {
    device
        .description()
        .map(|d| d.name().to_string())
        .unwrap_or_default()
}

/// Find an output device by id, then name (case-insensitive), then unique substring.
fn find_device(
    host: &cpal::Host,
    host_choice: HostChoice,
    wanted: &str,
) -> Result<cpal::Device, AudioError> {
    let mut devices: Vec<cpal::Device> = host.default_output_device().into_iter().collect();
    if let Ok(all) = host.output_devices() {
        for d in all {
            if !devices.contains(&d) {
                devices.push(d);
            }
        }
    }
    let ids: Vec<(String, String)> = devices
        .iter()
        .map(|d| (device_id_string(d), device_name(d)))
        .collect();
    let pick = |pred: &dyn Fn(&(String, String)) -> bool| -> Vec<usize> {
        ids.iter()
            .enumerate()
            .filter(|(_, x)| pred(x))
            .map(|(i, _)| i)
            .collect()
    };
    let lower = wanted.to_lowercase();
    let exact = pick(&|(id, _)| id == wanted);
    let by_name = pick(&|(id, name)| id.to_lowercase() == lower || name.to_lowercase() == lower);
    let partial = pick(&|(id, name)| {
        id.to_lowercase().contains(&lower) || name.to_lowercase().contains(&lower)
    });
    for matches in [exact, by_name, partial] {
        if matches.len() == 1 {
            return Ok(devices.swap_remove(matches[0]));
        }
        if matches.len() > 1 {
            return Err(AudioError::Device {
                device: format!("{host_choice} `{wanted}`"),
                reason: format!(
                    "ambiguous device name, matches: {}",
                    matches
                        .iter()
                        .map(|&i| ids[i].0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    Err(AudioError::DeviceNotFound {
        host: host_choice,
        name: wanted.to_string(),
        available: ids
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Preference among configurations: stereo, then more channels (fewest first), then mono;
/// then sample format quality.
fn config_rank(r: &SupportedStreamConfigRange) -> (u8, u32, u8) {
    let channel_class = match r.channels() {
        2 => 3,
        0 => 0,
        1 => 1,
        _ => 2,
    };
    let format_rank = match r.sample_format() {
        SampleFormat::F32 => 12,
        SampleFormat::F64 => 11,
        SampleFormat::I32 => 10,
        SampleFormat::I24 => 9,
        SampleFormat::I16 => 8,
        SampleFormat::U32 => 7,
        SampleFormat::U24 => 6,
        SampleFormat::U16 => 5,
        SampleFormat::I64 => 4,
        SampleFormat::U64 => 3,
        SampleFormat::I8 => 2,
        SampleFormat::U8 => 1,
        _ => 0,
    };
    (channel_class, u32::MAX - r.channels() as u32, format_rank)
}

/// Pick format, channels and rate. Returns the config and, if the rate differs from the
/// request, a note saying so.
fn choose_config(
    device: &cpal::Device,
    label: &str,
    requested_rate_hz: u32,
    rate_required: bool,
) -> Result<(cpal::SupportedStreamConfig, Option<String>), AudioError> {
    let ranges: Vec<SupportedStreamConfigRange> = device
        .supported_output_configs()
        .map_err(|e| AudioError::Device {
            device: label.to_string(),
            reason: format!("cannot be opened: {e}"),
        })?
        .collect();
    let device_rate = device.default_output_config().ok().map(|c| c.sample_rate());
    choose_from_ranges(
        &ranges,
        device_rate,
        label,
        requested_rate_hz,
        rate_required,
    )
}

/// The configuration choice on its own: the best-ranked range containing the requested rate;
/// failing that (unless the rate is required) the device's default rate, then 48 kHz, then
/// 44.1 kHz, then the best range's maximum, with a note saying so.
fn choose_from_ranges(
    ranges: &[SupportedStreamConfigRange],
    device_default_rate_hz: Option<u32>,
    label: &str,
    requested_rate_hz: u32,
    rate_required: bool,
) -> Result<(cpal::SupportedStreamConfig, Option<String>), AudioError> {
    let ranges: Vec<SupportedStreamConfigRange> = ranges
        .iter()
        .filter(|r| is_supported_format(r.sample_format()) && r.channels() > 0)
        .copied()
        .collect();
    if ranges.is_empty() {
        return Err(AudioError::Device {
            device: label.to_string(),
            reason: "offers no PCM output configuration".into(),
        });
    }
    let best_at = |rate: u32| {
        ranges
            .iter()
            .filter(|r| r.contains_rate(rate))
            .max_by_key(|r| config_rank(r))
            .copied()
    };
    if let Some(r) = best_at(requested_rate_hz) {
        return Ok((r.with_sample_rate(requested_rate_hz), None));
    }
    let unsupported = || AudioError::UnsupportedRate {
        device: label.to_string(),
        rate_hz: requested_rate_hz,
        supported: ConfigSummary::from_ranges(&ranges).rates_text(),
    };
    if rate_required {
        return Err(unsupported());
    }
    let device_rate = device_default_rate_hz
        .filter(|&r| best_at(r).is_some())
        .or_else(|| {
            [cpal::SAMPLE_RATE_48K, cpal::SAMPLE_RATE_CD]
                .into_iter()
                .find(|&r| best_at(r).is_some())
        })
        .or_else(|| {
            ranges
                .iter()
                .max_by_key(|r| config_rank(r))
                .map(|r| r.max_sample_rate())
        })
        .ok_or_else(unsupported)?;
    let r = best_at(device_rate).ok_or_else(unsupported)?;
    Ok((
        r.with_sample_rate(device_rate),
        Some(format!(
            "{label} cannot run at {requested_rate_hz} Hz; using its rate of {device_rate} Hz"
        )),
    ))
}

/// A compact summary of a device's supported output configurations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigSummary {
    /// Sample formats, best first.
    pub formats: Vec<SampleFormat>,
    /// Channel counts, ascending.
    pub channels: Vec<u16>,
    /// Rate ranges (inclusive), merged and ascending.
    pub rates_hz: Vec<(u32, u32)>,
    /// Smallest and largest period in frames, when the device says.
    pub buffer_frames: Option<(u32, u32)>,
}

impl ConfigSummary {
    /// Summarize cpal's supported configuration ranges.
    pub fn from_ranges(ranges: &[SupportedStreamConfigRange]) -> Self {
        let mut formats: Vec<SampleFormat> = Vec::new();
        let mut channels = BTreeSet::new();
        let mut rates: Vec<(u32, u32)> = Vec::new();
        let mut buffer: Option<(u32, u32)> = None;
        for r in ranges {
            if !formats.contains(&r.sample_format()) {
                formats.push(r.sample_format());
            }
            channels.insert(r.channels());
            rates.push((r.min_sample_rate(), r.max_sample_rate()));
            if let SupportedBufferSize::Range { min, max } = r.buffer_size() {
                buffer = Some(match buffer {
                    Some((a, b)) => (a.min(*min), b.max(*max)),
                    None => (*min, *max),
                });
            }
        }
        formats.sort_by_key(|f| {
            std::cmp::Reverse(config_rank(&SupportedStreamConfigRange::new(
                2,
                1,
                1,
                SupportedBufferSize::Unknown,
                *f,
            )))
        });
        rates.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::new();
        for (lo, hi) in rates {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Self {
            formats,
            channels: channels.into_iter().collect(),
            rates_hz: merged,
            buffer_frames: buffer,
        }
    }

    /// "8000–192000 Hz" or "44100, 48000 Hz".
    pub fn rates_text(&self) -> String {
        if self.rates_hz.is_empty() {
            return "none".into();
        }
        let parts: Vec<String> = self
            .rates_hz
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}–{hi}")
                }
            })
            .collect();
        format!("{} Hz", parts.join(", "))
    }

    /// "1–8" or "2, 6".
    pub fn channels_text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < self.channels.len() {
            let start = self.channels[i];
            let mut end = start;
            while i + 1 < self.channels.len() && self.channels[i + 1] == end + 1 {
                i += 1;
                end = self.channels[i];
            }
            parts.push(if start == end {
                start.to_string()
            } else {
                format!("{start}–{end}")
            });
            i += 1;
        }
        parts.join(", ")
    }

    /// "f32 i32 i16".
    pub fn formats_text(&self) -> String {
        self.formats
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One output device in the listing.
#[derive(Clone, Debug)]
pub struct DeviceListing {
    /// Id to pass to `--device`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Whether this is the host's default output.
    pub is_default: bool,
    /// What the device supports (when it could be queried).
    pub summary: Option<ConfigSummary>,
    /// The device's own default configuration, e.g. "2 ch f32 at 48000 Hz".
    pub default_config: Option<String>,
    /// Why the device could not be queried, or a remark (null device).
    pub note: Option<String>,
}

/// One host in the listing.
#[derive(Clone, Debug)]
pub struct HostListing {
    /// Host name.
    pub host: HostChoice,
    /// Why the host could not be listed.
    pub error: Option<String>,
    /// Output devices.
    pub devices: Vec<DeviceListing>,
}

/// Hosts, output devices and what they support; `Display` prints it for `ttymix devices`.
#[derive(Clone, Debug)]
pub struct DeviceList {
    /// Hosts compiled into this build, in the order they are tried.
    pub hosts: Vec<HostListing>,
}

/// List compiled-in hosts and their output devices with supported rates, channel counts and
/// sample formats. Opens each device briefly to query it; alsa-lib's messages are captured
/// rather than printed.
pub fn list_devices() -> DeviceList {
    #[cfg(any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "netbsd"
    ))]
    let _alsa_errors = super::alsa_util::AlsaErrors::capture();
    let running = cpal::available_hosts();
    let mut hosts = Vec::new();
    for choice in HostChoice::ALL {
        let Some(id) = choice.cpal_id() else { continue };
        if choice != HostChoice::Alsa && !running.contains(&id) {
            hosts.push(HostListing {
                host: choice,
                error: Some("not running".into()),
                devices: Vec::new(),
            });
            continue;
        }
        hosts.push(list_host(choice, id));
    }
    DeviceList { hosts }
}

fn list_host(choice: HostChoice, id: cpal::HostId) -> HostListing {
    let host = match cpal::host_from_id(id) {
        Ok(h) => h,
        Err(e) => {
            return HostListing {
                host: choice,
                error: Some(e.to_string()),
                devices: Vec::new(),
            }
        }
    };
    let default = host.default_output_device();
    let mut devices: Vec<cpal::Device> = default.iter().cloned().collect();
    let mut error = None;
    match host.output_devices() {
        Ok(all) => {
            for d in all {
                if !devices.contains(&d) {
                    devices.push(d);
                }
            }
        }
        Err(e) => error = Some(e.to_string()),
    }
    let devices = devices
        .iter()
        .map(|d| {
            let id = device_id_string(d);
            let mut note = None;
            let summary = match d.supported_output_configs() {
                Ok(ranges) => {
                    // only what the output can write (no DSD)
                    let ranges: Vec<_> = ranges
                        .filter(|r| is_supported_format(r.sample_format()))
                        .collect();
                    Some(ConfigSummary::from_ranges(&ranges))
                }
                Err(e) => {
                    note = Some(format!("cannot open: {e}"));
                    None
                }
            };
            let is_default = default.as_ref() == Some(d);
            if choice == HostChoice::Alsa && id == "null" {
                note = Some("discards audio; used only when named with --device".into());
            } else if choice == HostChoice::Alsa && is_default && alsa_probe(&id) == Ok(true) {
                note = Some("discards audio (ALSA null device); not used as the default".into());
            }
            let default_config = d.default_output_config().ok().map(|c| {
                format!(
                    "{} ch {} at {} Hz",
                    c.channels(),
                    c.sample_format(),
                    c.sample_rate()
                )
            });
            DeviceListing {
                name: device_name(d),
                is_default,
                id,
                summary,
                default_config,
                note,
            }
        })
        .collect();
    HostListing {
        host: choice,
        error,
        devices,
    }
}

impl fmt::Display for DeviceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for host in &self.hosts {
            write!(f, "{}", host.host)?;
            if let Some(e) = &host.error {
                write!(f, " ({e})")?;
            }
            writeln!(f)?;
            for d in &host.devices {
                write!(f, "  {}", d.id)?;
                if d.is_default {
                    write!(f, " [default]")?;
                }
                if !d.name.is_empty() && d.name != d.id {
                    write!(f, " — {}", d.name)?;
                }
                writeln!(f)?;
                if let Some(c) = &d.default_config {
                    writeln!(f, "      default: {c}")?;
                }
                if let Some(s) = &d.summary {
                    writeln!(f, "      formats: {}", s.formats_text())?;
                    writeln!(f, "      channels: {}", s.channels_text())?;
                    writeln!(f, "      rates: {}", s.rates_text())?;
                    if let Some((lo, hi)) = s.buffer_frames {
                        writeln!(f, "      buffer: {lo}–{hi} frames")?;
                    }
                }
                if let Some(n) = &d.note {
                    writeln!(f, "      note: {n}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(ch: u16, lo: u32, hi: u32, fmt: SampleFormat) -> SupportedStreamConfigRange {
        SupportedStreamConfigRange::new(
            ch,
            lo,
            hi,
            SupportedBufferSize::Range { min: 32, max: 4096 },
            fmt,
        )
    }

    #[test]
    fn host_names_parse() {
        assert_eq!("ALSA".parse::<HostChoice>(), Ok(HostChoice::Alsa));
        assert_eq!("pulse".parse::<HostChoice>(), Ok(HostChoice::Pulse));
        assert_eq!("PulseAudio".parse::<HostChoice>(), Ok(HostChoice::Pulse));
        assert_eq!("pw".parse::<HostChoice>(), Ok(HostChoice::PipeWire));
        assert_eq!("jack".parse::<HostChoice>(), Ok(HostChoice::Jack));
        let err = "oss".parse::<HostChoice>().unwrap_err();
        assert!(err.contains("`oss`"), "{err}");
    }

    #[test]
    fn compiled_hosts_follow_the_features() {
        #[cfg(target_os = "linux")]
        assert!(HostChoice::Alsa.is_compiled());
        assert_eq!(
            HostChoice::Pulse.is_compiled(),
            cfg!(all(target_os = "linux", feature = "pulseaudio"))
        );
        assert_eq!(
            HostChoice::Jack.is_compiled(),
            cfg!(all(target_os = "linux", feature = "jack"))
        );
        assert_eq!(
            HostChoice::PipeWire.is_compiled(),
            cfg!(all(target_os = "linux", feature = "pipewire"))
        );
    }

    #[test]
    fn ranking_prefers_stereo_then_wide_then_mono_then_format() {
        let mut v = [
            range(1, 8000, 48000, SampleFormat::F32),
            range(6, 8000, 48000, SampleFormat::F32),
            range(8, 8000, 48000, SampleFormat::F32),
            range(2, 8000, 48000, SampleFormat::I16),
            range(2, 8000, 48000, SampleFormat::F32),
            range(2, 8000, 48000, SampleFormat::U8),
        ];
        v.sort_by_key(config_rank);
        let order: Vec<(u16, SampleFormat)> = v
            .iter()
            .map(|r| (r.channels(), r.sample_format()))
            .collect();
        assert_eq!(
            order,
            vec![
                (1, SampleFormat::F32),
                (8, SampleFormat::F32),
                (6, SampleFormat::F32),
                (2, SampleFormat::U8),
                (2, SampleFormat::I16),
                (2, SampleFormat::F32),
            ]
        );
    }

    #[test]
    fn rate_negotiation_prefers_the_request_then_the_device_rate() {
        let ranges = [
            range(2, 44100, 44100, SampleFormat::I16),
            range(2, 96000, 96000, SampleFormat::I32),
            range(1, 48000, 48000, SampleFormat::F32),
            range(2, 48000, 48000, SampleFormat::DsdU8),
        ];
        // requested rate available (mono only at 48 kHz; DSD is never chosen)
        let (c, note) = choose_from_ranges(&ranges, Some(96000), "d", 48000, false).unwrap();
        assert_eq!(
            (c.sample_rate(), c.channels(), c.sample_format()),
            (48000, 1, SampleFormat::F32)
        );
        assert_eq!(note, None);
        // not available: the device's default rate, reported
        let (c, note) = choose_from_ranges(&ranges, Some(96000), "d", 32000, false).unwrap();
        assert_eq!(
            (c.sample_rate(), c.channels(), c.sample_format()),
            (96000, 2, SampleFormat::I32)
        );
        assert_eq!(
            note.as_deref(),
            Some("d cannot run at 32000 Hz; using its rate of 96000 Hz")
        );
        // no usable default: 48 kHz, then 44.1 kHz
        let (c, _) = choose_from_ranges(&ranges, None, "d", 32000, false).unwrap();
        assert_eq!(c.sample_rate(), 48000);
        let (c, _) = choose_from_ranges(&ranges[..2], Some(12345), "d", 32000, false).unwrap();
        assert_eq!(c.sample_rate(), 44100);
        // neither: the best range's maximum
        let odd = [range(2, 8000, 22050, SampleFormat::I16)];
        let (c, _) = choose_from_ranges(&odd, None, "d", 48000, false).unwrap();
        assert_eq!(c.sample_rate(), 22050);
        // a required rate is an error naming what the device supports
        let err = choose_from_ranges(&ranges, Some(96000), "ALSA hw:0", 32000, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ALSA hw:0: cannot run at 32000 Hz (supported: 44100, 48000, 96000 Hz)"
        );
        // only DSD: nothing usable
        let err = choose_from_ranges(&ranges[3..], None, "d", 48000, false).unwrap_err();
        assert!(
            err.to_string().contains("no PCM output configuration"),
            "{err}"
        );
    }

    #[test]
    fn summary_merges_rates_and_channels() {
        let ranges = [
            range(1, 44100, 44100, SampleFormat::I16),
            range(2, 48000, 48000, SampleFormat::I16),
            range(2, 96000, 96000, SampleFormat::F32),
            range(4, 44100, 48000, SampleFormat::F32),
            range(6, 8000, 8000, SampleFormat::U8),
        ];
        let s = ConfigSummary::from_ranges(&ranges);
        assert_eq!(
            s.formats,
            vec![SampleFormat::F32, SampleFormat::I16, SampleFormat::U8]
        );
        assert_eq!(s.channels, vec![1, 2, 4, 6]);
        assert_eq!(
            s.rates_hz,
            vec![(8000, 8000), (44100, 48000), (96000, 96000)]
        );
        assert_eq!(s.rates_text(), "8000, 44100–48000, 96000 Hz");
        assert_eq!(s.channels_text(), "1–2, 4, 6");
        assert_eq!(s.formats_text(), "f32 i16 u8");
        assert_eq!(s.buffer_frames, Some((32, 4096)));
    }
}
