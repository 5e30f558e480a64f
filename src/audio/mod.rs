//! cpal glue: hosts, devices, sample-format conversion, callback health and a silent clock when
//! there is no device. No mixing logic: the engine is behind [`RenderCallback`].
//!
//! Two steps, so the engine can be built for the rate the device really runs at:
//! [`negotiate`] picks host, device, rate, format and buffer and builds the stream;
//! [`start`] hands it the engine's callback. [`open_output`] does both.
//!
//! ```no_run
//! use ttymix::audio::{negotiate, start, OutputOptions, RenderCallback};
//!
//! struct Silence;
//! impl RenderCallback for Silence {
//!     fn render(&mut self, out: &mut [f32]) {
//!         out.fill(0.0);
//!     }
//! }
//!
//! let negotiated = negotiate(&OutputOptions::default(), 48_000)?;
//! if let Some(note) = negotiated.rate_note() {
//!     eprintln!("{note}"); // resample the stems to negotiated.rate_hz()
//! }
//! // build the engine for negotiated.rate_hz() and negotiated.max_block_frames() here
//! let output = start(negotiated, Box::new(Silence));
//! println!("{}", output.description());
//! // later, in the UI loop: output.try_event(), output.stats(), output.reconnect()
//! let _engine = output.stop();
//! # Ok::<(), ttymix::audio::AudioError>(())
//! ```

#[cfg(any(
    target_os = "linux",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "netbsd"
))]
mod alsa_util;
mod convert;
mod denormal;
mod device;
mod output;
mod silent;
mod slot;
mod stats;

pub use convert::{fill_silence, is_supported_format, write_frames, DeviceSample, Renderer};
pub use cpal::{Data, SampleFormat, I24, U24};
pub use denormal::{denormals_flushed, flush_denormals};
pub use device::{
    list_devices, ConfigSummary, DeviceList, DeviceListing, HostChoice, HostListing, OutputOptions,
};
pub use output::{negotiate, open_output, start, Negotiated, Output, OutputEvent};
pub use slot::{DeviceCallback, RendererSlot};
pub use stats::{LoadHistogram, Stats, StatsSnapshot, HISTOGRAM_BUCKETS, PPM_PER_PERIOD};

/// What the output drives. Runs on the audio thread.
pub trait RenderCallback: Send + 'static {
    /// Fill `out` (interleaved stereo f32, out.len() = 2*frames) for the next `frames` frames.
    /// Must be RT-safe.
    fn render(&mut self, out: &mut [f32]);
}

/// Why an output could not be opened as asked.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The host is not compiled in or not running.
    #[error("{host}: {reason}")]
    HostUnavailable {
        /// The host asked for.
        host: HostChoice,
        /// Why it cannot be used.
        reason: String,
    },
    /// No output device matches the name.
    #[error("{host}: no output device `{name}` (available: {available})")]
    DeviceNotFound {
        /// The host searched.
        host: HostChoice,
        /// The name asked for.
        name: String,
        /// Ids of the output devices found.
        available: String,
    },
    /// The device cannot run at the rate given with `--rate`.
    #[error("{device}: cannot run at {rate_hz} Hz (supported: {supported})")]
    UnsupportedRate {
        /// Host and device.
        device: String,
        /// The rate asked for.
        rate_hz: u32,
        /// Rates the device offers.
        supported: String,
    },
    /// The device cannot use the buffer size given with `--buffer`.
    #[error("{device}: cannot use a {frames}-frame buffer (supported: {supported})")]
    UnsupportedBuffer {
        /// Host and device.
        device: String,
        /// The size asked for.
        frames: u32,
        /// Sizes the device offers.
        supported: String,
    },
    /// Any other device failure.
    #[error("{device}: {reason}")]
    Device {
        /// Host and device.
        device: String,
        /// What went wrong.
        reason: String,
    },
    /// The output was stopped.
    #[error("the audio output has stopped")]
    Stopped,
}
