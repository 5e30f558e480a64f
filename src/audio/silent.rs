//! Runs on the audio thread (its own): the silent clock. When there is no device it drives the
//! render callback in real time: render one period, then sleep until that period's deadline,
//! computed from a fixed start instant so that the clock never drifts. The output is discarded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::denormal::flush_denormals;
use super::slot::Shared;

/// If the clock falls this far behind (machine suspended, debugger), it restarts its timeline
/// instead of rendering the backlog in a burst.
const MAX_LAG: Duration = Duration::from_millis(250);

/// Time of `frames` frames at `rate_hz`, exact to the nanosecond.
pub(crate) fn frames_to_duration(frames: u64, rate_hz: u32) -> Duration {
    let nanos = frames as u128 * 1_000_000_000 / rate_hz.max(1) as u128;
    Duration::from_nanos(nanos.min(u64::MAX as u128) as u64)
}

/// A running silent clock.
pub(crate) struct SilentClock {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl SilentClock {
    /// Start driving `shared`'s renderer at `rate_hz` in periods of `period_frames`.
    pub fn start(shared: Arc<Shared>, rate_hz: u32, period_frames: usize) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_thread = stop.clone();
        let period_frames = period_frames.max(1);
        let thread = thread::Builder::new()
            .name("ttymix-silent-clock".into())
            .spawn(move || run(&shared, rate_hz, period_frames, &stop_thread))?;
        Ok(Self { stop, thread })
    }

    /// Stop and wait for the thread; the renderer stays in the slot.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Release);
        self.thread.thread().unpark();
        let _ = self.thread.join();
    }
}

fn run(shared: &Shared, rate_hz: u32, period_frames: usize, stop: &AtomicBool) {
    flush_denormals();
    // allocated once, before the loop
    let mut buffer = vec![0.0f32; 2 * period_frames];
    let mut origin = Instant::now();
    let mut frames_done: u64 = 0;
    while !stop.load(Ordering::Acquire) {
        let start = Instant::now();
        let cpu_start = shared.stats.cpu_clock();
        if shared.slot.with(|r| r.render(&mut buffer, 2)).is_none() {
            shared.stats.record_busy_skip();
        }
        shared
            .stats
            .record_callback(start.elapsed(), period_frames, rate_hz);
        shared
            .stats
            .record_cpu_since(cpu_start, period_frames, rate_hz);
        frames_done += period_frames as u64;

        let deadline = origin + frames_to_duration(frames_done, rate_hz);
        let now = Instant::now();
        if now > deadline + MAX_LAG {
            origin = now
                .checked_sub(frames_to_duration(frames_done, rate_hz))
                .unwrap_or(now);
            continue;
        }
        loop {
            let now = Instant::now();
            if now >= deadline || stop.load(Ordering::Acquire) {
                break;
            }
            thread::park_timeout(deadline - now);
        }
    }
}
