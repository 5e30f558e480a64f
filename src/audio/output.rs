//! The running output: negotiation result, start, the supervisor thread that switches between
//! the device stream and the silent clock, and the handle the UI keeps. Not on the audio thread.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use cpal::SampleFormat;

use super::convert::Renderer;
use super::device::{
    open_stream, OpenFailure, OpenedStream, OutputOptions, SILENT_DEFAULT_PERIOD_FRAMES,
};
use super::silent::SilentClock;
use super::slot::Shared;
use super::stats::{Stats, StatsSnapshot};
use super::{AudioError, RenderCallback};

/// A device stream that delivers no callback for this long is treated as lost. Generous:
/// an idle PulseAudio null sink can take 2 s to ask for data after a stream starts.
const WATCHDOG: Duration = Duration::from_secs(5);
/// Supervisor poll interval (it is also woken directly on errors and commands).
const SUPERVISOR_TICK: Duration = Duration::from_millis(50);
/// Bounds for the engine's maximum block.
const MIN_BLOCK_FRAMES: u32 = 256;
const MAX_BLOCK_FRAMES: u32 = 4096;

// The supervisor owns streams built on the caller's thread.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<cpal::Stream>();
};

enum Pending {
    Stream(OpenedStream),
    Silent { reason: String },
}

/// The outcome of negotiation: the actual rate and block size, before the engine exists.
/// Holds the built (not yet playing) device stream. Pass it to [`start`].
pub struct Negotiated {
    shared: Arc<Shared>,
    opts: OutputOptions,
    rate_hz: u32,
    buffer_frames: u32,
    max_block_frames: usize,
    rate_note: Option<String>,
    description: String,
    pending: Pending,
}

impl Negotiated {
    /// The rate the output runs at: build the engine (and resample stems) for this rate.
    pub fn rate_hz(&self) -> u32 {
        self.rate_hz
    }

    /// Frames per device callback (the silent clock's period when there is no device).
    pub fn buffer_frames(&self) -> u32 {
        self.buffer_frames
    }

    /// The most frames one [`RenderCallback::render`] call will ever ask for.
    pub fn max_block_frames(&self) -> usize {
        self.max_block_frames
    }

    /// Set when the device could not run at the preferred rate and its own rate was chosen.
    pub fn rate_note(&self) -> Option<&str> {
        self.rate_note.as_deref()
    }

    /// "ALSA default: 2 ch f32 at 48000 Hz, 256-frame buffer (5.3 ms)" or
    /// "no audio output (reason)".
    pub fn description(&self) -> &str {
        &self.description
    }

    /// True when there is no device and the silent clock will run.
    pub fn is_silent(&self) -> bool {
        matches!(self.pending, Pending::Silent { .. })
    }

    /// Device channel count and sample format (`None` when silent).
    pub fn device_format(&self) -> Option<(u16, SampleFormat)> {
        match &self.pending {
            Pending::Stream(s) => Some((s.config.channels, s.format)),
            Pending::Silent { .. } => None,
        }
    }
}

fn block_frames(buffer_frames: u32) -> usize {
    buffer_frames.clamp(MIN_BLOCK_FRAMES, MAX_BLOCK_FRAMES) as usize
}

fn silent_description(reason: &str) -> String {
    format!("no audio output ({reason})")
}

/// Choose host, device, rate, format and buffer, and build the stream (not playing yet).
///
/// Rate: `opts.rate_hz` if set (error if the device cannot do it), else `preferred_rate_hz`
/// if the device can, else the device's own rate (see [`Negotiated::rate_note`]).
/// When no host or device was named and the default cannot be opened (or is ALSA's null
/// device), or with `output_none`, the result is the silent clock, not an error.
pub fn negotiate(opts: &OutputOptions, preferred_rate_hz: u32) -> Result<Negotiated, AudioError> {
    let shared = Arc::new(Shared::new());
    let requested = opts.rate_hz.unwrap_or(preferred_rate_hz).max(1);
    let silent = |reason: String| {
        let buffer_frames = opts
            .buffer_frames
            .unwrap_or(SILENT_DEFAULT_PERIOD_FRAMES)
            .clamp(16, 16384);
        Negotiated {
            shared: shared.clone(),
            opts: opts.clone(),
            rate_hz: requested,
            buffer_frames,
            max_block_frames: block_frames(buffer_frames),
            rate_note: None,
            description: silent_description(&reason),
            pending: Pending::Silent { reason },
        }
    };
    if opts.output_none {
        return Ok(silent("output disabled".into()));
    }
    match open_stream(opts, requested, &shared, 1) {
        Ok(opened) => Ok(Negotiated {
            shared: shared.clone(),
            opts: opts.clone(),
            rate_hz: opened.config.sample_rate,
            buffer_frames: opened.period_frames,
            max_block_frames: block_frames(opened.period_frames),
            rate_note: opened.rate_note.clone(),
            description: opened.describe(),
            pending: Pending::Stream(opened),
        }),
        Err(OpenFailure::Requested(e)) => Err(e),
        Err(OpenFailure::NoDefault(reason)) => Ok(silent(reason)),
    }
}

/// Events for the UI, read with [`Output::try_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputEvent {
    /// The device failed; the silent clock runs now. Position is kept.
    DeviceLost {
        /// What happened.
        reason: String,
    },
    /// A reconnection (asked for, or automatic) brought a device back. The transport kept its position.
    Reconnected {
        /// The new description.
        description: String,
    },
    /// A reconnection asked for with [`Output::request_reconnect`] failed; the silent clock keeps running.
    /// (Automatic retries fail silently.)
    ReconnectFailed {
        /// Why.
        reason: String,
    },
}

enum Ctrl {
    Stop,
    Reconnect(mpsc::Sender<Result<(), AudioError>>),
    RequestReconnect,
    AutoReconnect(Option<Duration>),
}

/// A running output. Dropping it stops audio (and drops the render callback); use
/// [`Output::stop`] to get the callback back.
pub struct Output {
    shared: Arc<Shared>,
    rate_hz: u32,
    max_block_frames: usize,
    ctrl: mpsc::Sender<Ctrl>,
    events: mpsc::Receiver<OutputEvent>,
    supervisor: Option<JoinHandle<()>>,
}

/// Start the negotiated output with the engine's render callback. Never fails: if the device
/// refuses to start, the silent clock runs and the description says why.
pub fn start(negotiated: Negotiated, callback: Box<dyn RenderCallback>) -> Output {
    let Negotiated {
        shared,
        opts,
        rate_hz,
        buffer_frames,
        max_block_frames,
        description,
        pending,
        ..
    } = negotiated;
    let renderer = Box::new(Renderer::new(callback, max_block_frames));
    if let Err(renderer) = shared.slot.install(renderer) {
        drop(renderer); // impossible: a Negotiated's slot starts empty
    }
    shared.started.store(true, Ordering::Release);

    let (ctrl_tx, ctrl_rx) = mpsc::channel();
    let (event_tx, event_rx) = mpsc::channel();
    let mut sup = Supervisor {
        shared: shared.clone(),
        opts,
        rate_hz,
        period_frames: buffer_frames as usize,
        driver: Driver::None,
        next_generation: 2,
        events: event_tx,
        auto_reconnect: None,
        lost_device: false,
        next_retry: Instant::now(),
        attempt: None,
    };
    match pending {
        Pending::Stream(opened) => match opened.play() {
            Ok(()) => {
                shared.set_description(description);
                sup.driver = Driver::Stream(StreamDriver::new(opened, &shared));
            }
            Err(e) => {
                drop(opened);
                sup.go_silent(e.to_string());
            }
        },
        Pending::Silent { reason } => sup.go_silent(reason),
    }
    let thread = thread::Builder::new()
        .name("ttymix-audio-supervisor".into())
        .spawn(move || sup.run(ctrl_rx));
    let supervisor = match thread {
        Ok(t) => {
            let _ = shared.supervisor.set(t.thread().clone());
            Some(t)
        }
        Err(_) => None, // the current driver keeps running; no failover or reconnect
    };
    Output {
        shared,
        rate_hz,
        max_block_frames,
        ctrl: ctrl_tx,
        events: event_rx,
        supervisor,
    }
}

/// [`negotiate`] then [`start`], for callers that can build the callback without knowing the
/// device rate.
pub fn open_output(
    opts: &OutputOptions,
    preferred_rate_hz: u32,
    callback: Box<dyn RenderCallback>,
) -> Result<Output, AudioError> {
    Ok(start(negotiate(opts, preferred_rate_hz)?, callback))
}

impl Output {
    /// The rate the render callback runs at (fixed for the life of the output).
    pub fn rate_hz(&self) -> u32 {
        self.rate_hz
    }

    /// The most frames one render call asks for.
    pub fn max_block_frames(&self) -> usize {
        self.max_block_frames
    }

    /// What is playing now, e.g. "PulseAudio out: 2 ch f32 at 48000 Hz, 1024-frame buffer
    /// (21.3 ms)" or "no audio output (ALSA default failed: …)".
    pub fn description(&self) -> String {
        self.shared.description()
    }

    /// True while the silent clock drives the callback (no device, or the device was lost).
    pub fn is_silent(&self) -> bool {
        self.shared.silent.load(Ordering::Acquire)
    }

    /// Callback-health counters and load percentiles.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The live counters, for a UI that polls them.
    pub fn stats_handle(&self) -> Arc<Stats> {
        self.shared.stats.clone()
    }

    /// The next event, if any.
    pub fn try_event(&self) -> Option<OutputEvent> {
        self.events.try_recv().ok()
    }

    /// Try the device again (same options, same rate). Ok without change when a device is
    /// playing. On failure the silent clock keeps running. Blocks until done.
    pub fn reconnect(&self) -> Result<(), AudioError> {
        let (tx, rx) = mpsc::channel();
        self.ctrl
            .send(Ctrl::Reconnect(tx))
            .map_err(|_| AudioError::Stopped)?;
        if let Some(t) = &self.supervisor {
            t.thread().unpark();
        }
        rx.recv().map_err(|_| AudioError::Stopped)?
    }

    /// Ask for a reconnection without waiting (for a UI key): the result arrives as
    /// [`OutputEvent::Reconnected`] or [`OutputEvent::ReconnectFailed`] through [`Output::try_event`].
    /// Nothing happens when a device is playing.
    pub fn request_reconnect(&self) {
        if self.ctrl.send(Ctrl::RequestReconnect).is_ok() {
            if let Some(t) = &self.supervisor {
                t.thread().unpark();
            }
        }
    }

    /// After the device is lost, retry it every `every` (same options, same rate) while the silent clock
    /// runs, until it comes back ([`OutputEvent::Reconnected`]); `None` turns retries off (the default).
    /// Outputs that started silent (no device, `--output none`) are never retried.
    pub fn set_auto_reconnect(&self, every: Option<Duration>) {
        if self.ctrl.send(Ctrl::AutoReconnect(every)).is_ok() {
            if let Some(t) = &self.supervisor {
                t.thread().unpark();
            }
        }
    }

    /// Stop all audio and return the render callback (`None` only if a dying device thread
    /// still held it).
    pub fn stop(mut self) -> Option<Box<dyn RenderCallback>> {
        self.shutdown();
        self.shared.slot.take().map(|r| r.into_callback())
    }

    fn shutdown(&mut self) {
        let _ = self.ctrl.send(Ctrl::Stop);
        if let Some(t) = self.supervisor.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct StreamDriver {
    opened: OpenedStream,
    last_callbacks: u64,
    last_progress: Instant,
}

impl StreamDriver {
    fn new(opened: OpenedStream, shared: &Shared) -> Self {
        shared.silent.store(false, Ordering::Release);
        Self {
            opened,
            last_callbacks: shared.stats.callbacks(),
            last_progress: Instant::now(),
        }
    }
}

enum Driver {
    None,
    Stream(StreamDriver),
    Silent(SilentClock),
}

struct Supervisor {
    shared: Arc<Shared>,
    opts: OutputOptions,
    rate_hz: u32,
    period_frames: usize,
    driver: Driver,
    next_generation: u64,
    events: mpsc::Sender<OutputEvent>,
    /// Retry interval after a device loss.
    auto_reconnect: Option<Duration>,
    /// The silent clock runs because a device failed (not because there was none).
    lost_device: bool,
    next_retry: Instant,
    /// A reconnection being opened in the background.
    attempt: Option<Attempt>,
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop_driver(false);
    }
}

impl Supervisor {
    fn run(&mut self, ctrl: mpsc::Receiver<Ctrl>) {
        loop {
            loop {
                match ctrl.try_recv() {
                    Ok(Ctrl::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                        self.stop_driver(false);
                        return;
                    }
                    Ok(Ctrl::Reconnect(reply)) => {
                        let _ = reply.send(self.reconnect());
                    }
                    Ok(Ctrl::RequestReconnect) => self.start_attempt(true),
                    Ok(Ctrl::AutoReconnect(every)) => {
                        self.auto_reconnect = every;
                        if let Some(every) = every {
                            self.next_retry = Instant::now() + every;
                        }
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            self.check_stream();
            self.retry();
            self.poll_attempt();
            thread::park_timeout(SUPERVISOR_TICK);
        }
    }

    /// Fail over when the stream reported a fatal error or stopped calling back.
    fn check_stream(&mut self) {
        let Driver::Stream(d) = &mut self.driver else {
            return;
        };
        let generation = d.opened.generation;
        let failed = self.shared.failed_generation.load(Ordering::Acquire) == generation;
        let callbacks = self.shared.stats.callbacks();
        if callbacks != d.last_callbacks {
            d.last_callbacks = callbacks;
            d.last_progress = Instant::now();
        }
        let reason = if failed {
            let reason = self
                .shared
                .failure_reason
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .filter(|(g, _)| *g == generation)
                .map(|(_, reason)| reason);
            reason.unwrap_or_else(|| format!("{} failed", d.opened.label))
        } else if d.last_progress.elapsed() > WATCHDOG {
            format!(
                "{} stopped responding (no callback for {} s)",
                d.opened.label,
                WATCHDOG.as_secs()
            )
        } else {
            return;
        };
        self.shared.stats.record_device_loss();
        self.stop_driver(true);
        self.go_silent(reason.clone());
        self.lost_device = true;
        if let Some(every) = self.auto_reconnect {
            self.next_retry = Instant::now() + every;
        }
        let _ = self.events.send(OutputEvent::DeviceLost { reason });
    }

    /// Automatic retry of a lost device, at most once per interval (in the background).
    fn retry(&mut self) {
        let Some(every) = self.auto_reconnect else {
            return;
        };
        if !self.lost_device
            || !matches!(self.driver, Driver::Silent(_))
            || self.attempt.is_some()
            || Instant::now() < self.next_retry
        {
            return;
        }
        self.start_attempt(false);
        self.next_retry = Instant::now() + every;
    }

    /// Stop the current driver. A failed stream is dropped on a separate thread so that a
    /// hung backend cannot block the switch to the silent clock.
    fn stop_driver(&mut self, failed: bool) {
        match std::mem::replace(&mut self.driver, Driver::None) {
            Driver::None => {}
            Driver::Silent(clock) => clock.stop(),
            Driver::Stream(d) => {
                if failed {
                    let reaper = thread::Builder::new()
                        .name("ttymix-audio-reaper".into())
                        .spawn(move || drop(d));
                    drop(reaper);
                } else {
                    drop(d);
                }
            }
        }
    }

    fn go_silent(&mut self, reason: String) {
        self.stop_driver(false);
        self.shared.silent.store(true, Ordering::Release);
        let mut description = silent_description(&reason);
        match SilentClock::start(self.shared.clone(), self.rate_hz, self.period_frames) {
            Ok(clock) => self.driver = Driver::Silent(clock),
            Err(e) => description.push_str(&format!("; the silent clock failed to start: {e}")),
        }
        self.shared.set_description(description);
    }

    /// True when a device stream is playing and has not failed.
    fn has_healthy_stream(&self) -> bool {
        match &self.driver {
            Driver::Stream(d) => {
                self.shared.failed_generation.load(Ordering::Acquire) != d.opened.generation
            }
            _ => false,
        }
    }

    /// Options and generation for the next reconnection attempt: same device options, same rate.
    fn next_attempt(&mut self) -> (OutputOptions, u64) {
        let mut opts = self.opts.clone();
        opts.output_none = false;
        opts.rate_hz = Some(self.rate_hz);
        let generation = self.next_generation;
        self.next_generation += 1;
        (opts, generation)
    }

    /// Reconnect now, waiting for the device (blocking [`Output::reconnect`]).
    fn reconnect(&mut self) -> Result<(), AudioError> {
        if self.has_healthy_stream() {
            return Ok(());
        }
        self.attempt = None; // a pending background attempt loses to this one
        let (opts, generation) = self.next_attempt();
        let opened = open_stream(&opts, self.rate_hz, &self.shared, generation);
        self.install(opened.map_err(open_error))
    }

    /// Start opening the device on a helper thread, so a device or server that hangs (a stalled SSH
    /// forward accepts the connection and never answers) cannot stall the supervisor: the silent clock,
    /// stop and Ctrl-C keep working. `requested` attempts report failure as an event.
    fn start_attempt(&mut self, requested: bool) {
        if self.has_healthy_stream() || self.attempt.is_some() {
            return;
        }
        let (opts, generation) = self.next_attempt();
        let (tx, rx) = mpsc::channel();
        let shared = self.shared.clone();
        let rate_hz = self.rate_hz;
        let supervisor = thread::current();
        let spawned = thread::Builder::new()
            .name("ttymix-audio-connect".into())
            .spawn(move || {
                let opened = open_stream(&opts, rate_hz, &shared, generation);
                // if the supervisor gave up on this attempt, the stream (never played) is dropped here
                if tx.send(opened.map_err(open_error)).is_ok() {
                    supervisor.unpark();
                }
            });
        match spawned {
            Ok(_) => {
                self.attempt = Some(Attempt {
                    result: rx,
                    started: Instant::now(),
                    requested,
                })
            }
            Err(e) if requested => {
                let _ = self.events.send(OutputEvent::ReconnectFailed {
                    reason: format!("cannot start a thread: {e}"),
                });
            }
            Err(_) => {}
        }
    }

    /// Take the result of a background attempt, if it is in; give up on one that hangs.
    fn poll_attempt(&mut self) {
        let Some(a) = &self.attempt else {
            return;
        };
        let result = match a.result.try_recv() {
            Ok(r) => r,
            Err(mpsc::TryRecvError::Empty) if a.started.elapsed() < ATTEMPT_TIMEOUT => return,
            Err(mpsc::TryRecvError::Empty) => Err(AudioError::Device {
                device: "audio output".into(),
                reason: format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
            }),
            Err(mpsc::TryRecvError::Disconnected) => Err(AudioError::Stopped),
        };
        let requested = a.requested;
        self.attempt = None;
        if self.has_healthy_stream() {
            return; // a blocking reconnect got there first; the extra stream is dropped
        }
        let description = self.shared.description();
        if let Err(e) = self.install(result) {
            if requested {
                let _ = self.events.send(OutputEvent::ReconnectFailed {
                    reason: e.to_string(),
                });
            } else if self.shared.silent.load(Ordering::Acquire) {
                // an automatic retry that failed: keep the reason the device was lost
                self.shared.set_description(description);
            }
        }
    }

    /// Switch from the silent clock (or a failed stream) to a newly opened stream.
    fn install(&mut self, opened: Result<OpenedStream, AudioError>) -> Result<(), AudioError> {
        let opened = opened?;
        self.stop_driver(false);
        *self
            .shared
            .failure_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        if let Err(e) = opened.play() {
            self.go_silent(e.to_string());
            return Err(e);
        }
        let description = opened.describe();
        self.lost_device = false;
        self.period_frames = opened.period_frames as usize;
        self.shared.set_description(description.clone());
        self.driver = Driver::Stream(StreamDriver::new(opened, &self.shared));
        let _ = self.events.send(OutputEvent::Reconnected { description });
        Ok(())
    }
}

/// A reconnection running on a helper thread.
struct Attempt {
    result: mpsc::Receiver<Result<OpenedStream, AudioError>>,
    started: Instant,
    requested: bool,
}

/// A reconnection attempt that has not answered after this long is abandoned.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

fn open_error(e: OpenFailure) -> AudioError {
    match e {
        OpenFailure::Requested(e) => e,
        OpenFailure::NoDefault(reason) => AudioError::Device {
            device: "default output".into(),
            reason,
        },
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::audio::HostChoice;
    use std::sync::atomic::{AtomicBool, AtomicU64};

    /// Counts frames, and records if two drivers ever called it at the same time.
    struct Probe {
        frames: Arc<AtomicU64>,
        busy: Arc<AtomicBool>,
        overlaps: Arc<AtomicU64>,
        drops: Arc<AtomicU64>,
    }

    impl RenderCallback for Probe {
        fn render(&mut self, out: &mut [f32]) {
            if self.busy.swap(true, Ordering::SeqCst) {
                self.overlaps.fetch_add(1, Ordering::SeqCst);
            }
            out.fill(0.5);
            self.frames
                .fetch_add(out.len() as u64 / 2, Ordering::SeqCst);
            self.busy.store(false, Ordering::SeqCst);
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if f() {
                return true;
            }
            thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// ALSA's null device named explicitly (it exists in every alsa-lib configuration and
    /// runs as fast as the CPU allows). A fatal error hands the callback to the silent clock,
    /// which then paces it in real time; reconnect hands it back; the callback is never run by
    /// two drivers at once and never dropped until the end.
    #[test]
    fn device_failure_switches_to_the_silent_clock_and_reconnect_restores_it() {
        let opts = OutputOptions {
            host: Some(HostChoice::Alsa),
            device: Some("null".into()),
            buffer_frames: Some(256),
            rate_hz: Some(48_000),
            output_none: false,
        };
        let negotiated = negotiate(&opts, 48_000).expect("ALSA null device");
        assert!(!negotiated.is_silent());
        assert_eq!(negotiated.rate_hz(), 48_000);
        let frames = Arc::new(AtomicU64::new(0));
        let overlaps = Arc::new(AtomicU64::new(0));
        let drops = Arc::new(AtomicU64::new(0));
        let probe = Probe {
            frames: frames.clone(),
            busy: Arc::new(AtomicBool::new(false)),
            overlaps: overlaps.clone(),
            drops: drops.clone(),
        };
        let output = start(negotiated, Box::new(probe));
        assert!(!output.is_silent());
        assert!(wait_until(Duration::from_secs(5), || frames
            .load(Ordering::SeqCst)
            > 48_000));

        output
            .shared
            .mark_failed(1, "test: device unplugged".into());
        assert!(wait_until(Duration::from_secs(2), || output.is_silent()));
        assert_eq!(
            output.try_event(),
            Some(OutputEvent::DeviceLost {
                reason: "test: device unplugged".into()
            })
        );
        assert_eq!(
            output.description(),
            "no audio output (test: device unplugged)"
        );
        // let the reaper finish with the old stream, then the clock runs in real time
        thread::sleep(Duration::from_millis(200));
        let a = frames.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(500));
        let b = frames.load(Ordering::SeqCst);
        assert!(
            (b - a) >= 18_000 && (b - a) <= 30_000,
            "silent clock rendered {} frames in 0.5 s",
            b - a
        );
        assert_eq!(output.stats().device_losses, 1);

        output.reconnect().expect("reconnect to the null device");
        assert!(!output.is_silent());
        assert!(matches!(
            output.try_event(),
            Some(OutputEvent::Reconnected { .. })
        ));
        assert!(
            output.description().starts_with("ALSA null:"),
            "{}",
            output.description()
        );
        let c = frames.load(Ordering::SeqCst);
        assert!(wait_until(Duration::from_secs(5), || frames
            .load(Ordering::SeqCst)
            > c + 48_000));
        // reconnecting while healthy changes nothing
        output.reconnect().expect("no-op");
        assert_eq!(output.try_event(), None);

        let callback = output.stop().expect("callback handed back");
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(callback);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(
            overlaps.load(Ordering::SeqCst),
            0,
            "two drivers ran the callback at once"
        );
    }

    /// With automatic retries a lost device comes back by itself; a requested reconnection reports its
    /// outcome as an event without blocking; an output that started silent is never retried.
    #[test]
    fn auto_reconnect_brings_a_lost_device_back() {
        let opts = OutputOptions {
            host: Some(HostChoice::Alsa),
            device: Some("null".into()),
            buffer_frames: Some(256),
            rate_hz: Some(48_000),
            output_none: false,
        };
        let frames = Arc::new(AtomicU64::new(0));
        let probe = Probe {
            frames: frames.clone(),
            busy: Arc::new(AtomicBool::new(false)),
            overlaps: Arc::new(AtomicU64::new(0)),
            drops: Arc::new(AtomicU64::new(0)),
        };
        let output = start(
            negotiate(&opts, 48_000).expect("ALSA null"),
            Box::new(probe),
        );
        output.set_auto_reconnect(Some(Duration::from_millis(300)));
        // a requested reconnection while healthy: nothing happens, no event
        output.request_reconnect();
        thread::sleep(Duration::from_millis(100));
        assert_eq!(output.try_event(), None);
        output.shared.mark_failed(1, "test: unplugged".into());
        assert!(wait_until(Duration::from_secs(2), || output.is_silent()));
        assert!(matches!(
            output.try_event(),
            Some(OutputEvent::DeviceLost { .. })
        ));
        let lost_at = Instant::now();
        let mut event = None;
        assert!(wait_until(Duration::from_secs(3), || {
            event = output.try_event();
            event.is_some()
        }));
        assert!(
            matches!(event, Some(OutputEvent::Reconnected { .. })),
            "{event:?}"
        );
        assert!(
            lost_at.elapsed() >= Duration::from_millis(250),
            "retried before the interval"
        );
        assert!(!output.is_silent());
        drop(output.stop());

        // started silent: never retried
        let none = OutputOptions {
            output_none: true,
            ..opts
        };
        let probe = Probe {
            frames: Arc::new(AtomicU64::new(0)),
            busy: Arc::new(AtomicBool::new(false)),
            overlaps: Arc::new(AtomicU64::new(0)),
            drops: Arc::new(AtomicU64::new(0)),
        };
        let output = start(negotiate(&none, 48_000).unwrap(), Box::new(probe));
        output.set_auto_reconnect(Some(Duration::from_millis(50)));
        thread::sleep(Duration::from_millis(300));
        assert!(output.is_silent());
        assert_eq!(output.try_event(), None);
        drop(output.stop());
    }
}
