//! Runs on the audio thread: the slot that owns the renderer while drivers come and go, the
//! per-callback wrapper every cpal stream calls, and the state shared with the supervisor.
//!
//! The renderer (engine callback + scratch) lives in one [`RendererSlot`] for the whole life of
//! an output. A driver (cpal stream or silent clock) borrows it for one callback by swapping the
//! pointer out and storing it back: lock-free, and two drivers can never hold it at once (the
//! loser outputs silence). Switching drivers therefore never moves, clones or drops the
//! callback, and the engine keeps its position.

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::Instant;

use cpal::{Data, ErrorKind};

use super::convert::{fill_silence, Renderer};
use super::denormal::flush_denormals;
use super::stats::Stats;
use super::RenderCallback;

/// Consecutive stream errors (with no successful callback in between) treated as a dead device.
const MAX_CONSECUTIVE_ERRORS: u32 = 32;

/// Owns one boxed [`Renderer`]; drivers borrow it per callback without locks.
pub struct RendererSlot {
    ptr: AtomicPtr<Renderer>,
}

impl Default for RendererSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl RendererSlot {
    /// An empty slot.
    pub fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Put a renderer in an empty slot; gives it back if the slot is occupied. Call only while
    /// no driver is running (before the output starts).
    pub fn install(&self, renderer: Box<Renderer>) -> Result<(), Box<Renderer>> {
        let p = Box::into_raw(renderer);
        match self
            .ptr
            .compare_exchange(ptr::null_mut(), p, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            // SAFETY: `p` came from Box::into_raw just above and was not published.
            Err(_) => Err(unsafe { Box::from_raw(p) }),
        }
    }

    /// Remove the renderer; `None` if the slot is empty or a driver holds it right now.
    pub fn take(&self) -> Option<Box<Renderer>> {
        let p = self.ptr.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: a non-null pointer in the slot always comes from Box::into_raw and, having
        // been swapped out, is owned by us alone.
        (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
    }

    /// Borrow the renderer for one callback. `None` when the slot is empty or another driver
    /// holds it. RT-safe: one swap and one store.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&mut Renderer) -> R) -> Option<R> {
        let p = self.ptr.swap(ptr::null_mut(), Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: the pointer was swapped out, so this thread has exclusive access until it is
        // stored back; it points to a live Box<Renderer> (see `install`).
        let result = f(unsafe { &mut *p });
        self.ptr.store(p, Ordering::Release);
        Some(result)
    }
}

impl Drop for RendererSlot {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// State shared by the drivers of one output and its supervisor.
pub(crate) struct Shared {
    pub slot: RendererSlot,
    pub stats: Arc<Stats>,
    /// Generation of the stream that reported a fatal error (0: none).
    pub failed_generation: AtomicU64,
    pub consecutive_errors: AtomicU32,
    /// Why a stream failed, with its generation (set on the error path, read by the
    /// supervisor).
    pub failure_reason: Mutex<Option<(u64, String)>>,
    /// Set once a renderer is installed: empty-slot callbacks after that are counted.
    pub started: AtomicBool,
    /// True while the silent clock drives the callback.
    pub silent: AtomicBool,
    /// Human-readable state of the output (non-RT threads only).
    pub description: Mutex<String>,
    /// The supervisor thread, woken on fatal errors.
    pub supervisor: OnceLock<Thread>,
}

impl Shared {
    pub fn new() -> Self {
        Self {
            slot: RendererSlot::new(),
            stats: Arc::new(Stats::new()),
            failed_generation: AtomicU64::new(0),
            consecutive_errors: AtomicU32::new(0),
            failure_reason: Mutex::new(None),
            started: AtomicBool::new(false),
            silent: AtomicBool::new(false),
            description: Mutex::new(String::new()),
            supervisor: OnceLock::new(),
        }
    }

    pub fn set_description(&self, text: String) {
        *self.description.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }

    pub fn description(&self) -> String {
        self.description
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The cpal error callback of stream `generation` (`label` names the device). Xruns are
    /// counted without allocating; device loss marks the stream failed and wakes the supervisor.
    pub fn on_stream_error(&self, generation: u64, label: &str, err: cpal::Error) {
        let consecutive = self.consecutive_errors.fetch_add(1, Ordering::Relaxed) + 1;
        let fatal = match err.kind() {
            ErrorKind::Xrun => {
                self.stats.record_xrun();
                false
            }
            ErrorKind::DeviceNotAvailable
            | ErrorKind::StreamInvalidated
            | ErrorKind::HostUnavailable => true,
            ErrorKind::DeviceChanged | ErrorKind::RealtimeDenied => false,
            _ => {
                self.stats.record_stream_error();
                false
            }
        };
        if fatal || consecutive >= MAX_CONSECUTIVE_ERRORS {
            self.mark_failed(generation, format!("{label} failed: {err}"));
        }
    }

    /// Mark stream `generation` as failed with a reason and wake the supervisor.
    pub fn mark_failed(&self, generation: u64, reason: String) {
        if let Ok(mut slot) = self.failure_reason.try_lock() {
            if slot.as_ref().is_none_or(|(g, _)| *g != generation) {
                *slot = Some((generation, reason));
            }
        }
        self.failed_generation.store(generation, Ordering::Release);
        if let Some(t) = self.supervisor.get() {
            t.unpark();
        }
    }
}

/// What a cpal output stream calls for every buffer: flush denormals, borrow the renderer,
/// render and convert (in chunks), time the callback against its period. RT-safe.
pub struct DeviceCallback {
    shared: Arc<Shared>,
    channels: usize,
    rate_hz: u32,
}

impl DeviceCallback {
    pub(crate) fn new(shared: Arc<Shared>, channels: usize, rate_hz: u32) -> Self {
        Self {
            shared,
            channels: channels.max(1),
            rate_hz,
        }
    }

    /// A callback wrapper with its own renderer slot, for driving the exact device code path
    /// without a device (tests, benchmarks). Allocates here only.
    pub fn standalone(
        callback: Box<dyn RenderCallback>,
        max_block_frames: usize,
        channels: usize,
        rate_hz: u32,
    ) -> Self {
        let shared = Arc::new(Shared::new());
        let installed = shared
            .slot
            .install(Box::new(Renderer::new(callback, max_block_frames)));
        debug_assert!(installed.is_ok(), "a new slot is empty");
        shared.started.store(true, Ordering::Relaxed);
        Self::new(shared, channels, rate_hz)
    }

    /// The counters this wrapper records into.
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Fill one device buffer. RT-safe: no allocation, no locks, no syscalls beyond the vDSO
    /// clock read.
    #[inline]
    pub fn process(&mut self, data: &mut Data) {
        flush_denormals();
        let start = Instant::now();
        let cpu_start = self.shared.stats.cpu_clock();
        let channels = self.channels;
        let frames = data.len() / channels;
        let rendered = self.shared.slot.with(|r| r.render_data(data, channels));
        if rendered.is_none() {
            fill_silence(data);
            if self.shared.started.load(Ordering::Relaxed) {
                self.shared.stats.record_busy_skip();
            } else {
                return; // before start: nothing to measure
            }
        }
        self.shared
            .stats
            .record_callback(start.elapsed(), frames, self.rate_hz);
        self.shared
            .stats
            .record_cpu_since(cpu_start, frames, self.rate_hz);
        self.shared.consecutive_errors.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Dropped(Arc<AtomicUsize>);
    impl RenderCallback for Dropped {
        fn render(&mut self, out: &mut [f32]) {
            out.fill(0.25);
        }
    }
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn slot_lends_exclusively_and_frees_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let slot = RendererSlot::new();
        assert!(slot.with(|_| ()).is_none(), "empty slot lends nothing");
        assert!(slot
            .install(Box::new(Renderer::new(Box::new(Dropped(drops.clone())), 8)))
            .is_ok());
        let second = slot.install(Box::new(Renderer::new(Box::new(Dropped(drops.clone())), 8)));
        assert!(second.is_err(), "occupied slot refuses a second renderer");
        drop(second);
        assert_eq!(drops.load(Ordering::SeqCst), 1);

        // while one driver holds it, another gets nothing
        let inner = slot.with(|_| slot.with(|_| ()).is_none());
        assert_eq!(inner, Some(true));
        // and it is back afterwards
        let mut out = [0.0f32; 4];
        assert!(slot.with(|r| r.render(&mut out, 2)).is_some());
        assert_eq!(out, [0.25; 4]);
        drop(slot);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "slot drop frees the renderer once"
        );
    }

    #[test]
    fn fatal_errors_mark_the_generation_and_xruns_only_count() {
        let shared = Shared::new();
        shared.on_stream_error(3, "ALSA x", cpal::Error::new(ErrorKind::Xrun));
        assert_eq!(shared.failed_generation.load(Ordering::Relaxed), 0);
        assert_eq!(shared.stats.snapshot().xruns, 1);
        shared.on_stream_error(
            3,
            "ALSA x",
            cpal::Error::with_message(ErrorKind::DeviceNotAvailable, "gone"),
        );
        assert_eq!(shared.failed_generation.load(Ordering::Relaxed), 3);
        let reason = shared.failure_reason.lock().unwrap().clone().unwrap();
        assert_eq!(reason, (3, "ALSA x failed: gone".to_string()));
    }

    #[test]
    fn an_error_flood_without_callbacks_counts_as_failure() {
        let shared = Shared::new();
        for _ in 0..MAX_CONSECUTIVE_ERRORS - 1 {
            shared.on_stream_error(1, "d", cpal::Error::new(ErrorKind::BackendError));
        }
        assert_eq!(shared.failed_generation.load(Ordering::Relaxed), 0);
        shared.on_stream_error(1, "d", cpal::Error::new(ErrorKind::BackendError));
        assert_eq!(shared.failed_generation.load(Ordering::Relaxed), 1);
        assert_eq!(
            shared.stats.snapshot().stream_errors,
            MAX_CONSECUTIVE_ERRORS as u64
        );
    }
}
