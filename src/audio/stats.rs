//! Runs on the audio thread (recording side): callback-health counters and a fixed, lock-free
//! histogram of callback time as a share of the callback's period.
//!
//! Values are stored in parts per million of the period (1 000 000 = the callback took exactly as
//! long as the audio it produced). Buckets are log-linear: exact below 64 ppm, then 32 buckets per
//! octave, so a reported percentile is within 1/64 (1.6 %) of the true value. Recording is a few
//! relaxed atomic adds; nothing allocates.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per octave = 2^SUB_BITS.
const SUB_BITS: u32 = 5;
/// Values below this are stored exactly (one bucket per ppm).
const LINEAR_LIMIT: u64 = 1 << (SUB_BITS + 1);
/// Largest value kept apart (about 67 periods); larger values land in the last bucket.
const MAX_EXPONENT: u32 = 25;
/// Number of buckets.
pub const HISTOGRAM_BUCKETS: usize =
    LINEAR_LIMIT as usize + ((MAX_EXPONENT - SUB_BITS) as usize) * (1 << SUB_BITS);
/// Largest value (ppm) that has its own bucket.
const MAX_TRACKED_PPM: u64 = (1 << (MAX_EXPONENT + 1)) - 1;

/// One million: the ppm value of a callback that took exactly its period.
pub const PPM_PER_PERIOD: u64 = 1_000_000;

/// Bucket index of a ppm value.
#[inline]
fn bucket_of(ppm: u64) -> usize {
    let v = ppm.min(MAX_TRACKED_PPM);
    if v < LINEAR_LIMIT {
        return v as usize;
    }
    let exponent = 63 - v.leading_zeros(); // >= SUB_BITS + 1
    let shift = exponent - SUB_BITS;
    let sub = (v >> shift) & ((1 << SUB_BITS) - 1);
    LINEAR_LIMIT as usize + ((exponent - SUB_BITS - 1) as usize) * (1 << SUB_BITS) + sub as usize
}

/// Inclusive lower and exclusive upper bound (ppm) of a bucket.
fn bucket_bounds(index: usize) -> (u64, u64) {
    if (index as u64) < LINEAR_LIMIT {
        return (index as u64, index as u64 + 1);
    }
    let rel = index - LINEAR_LIMIT as usize;
    let exponent = (rel >> SUB_BITS) as u32 + SUB_BITS + 1;
    let sub = (rel & ((1 << SUB_BITS) - 1)) as u64;
    let shift = exponent - SUB_BITS;
    let lower = ((1u64 << SUB_BITS) + sub) << shift;
    (lower, lower + (1u64 << shift))
}

/// Lock-free histogram of callback load (ppm of the period). Safe to record from the audio
/// thread while another thread reads percentiles.
pub struct LoadHistogram {
    buckets: [AtomicU64; HISTOGRAM_BUCKETS],
    count: AtomicU64,
    max_ppm: AtomicU64,
}

impl Default for LoadHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LoadHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            max_ppm: AtomicU64::new(0),
        }
    }

    /// Record one value in ppm of the period. RT-safe.
    #[inline]
    pub fn record_ppm(&self, ppm: u64) {
        self.buckets[bucket_of(ppm)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max_ppm.fetch_max(ppm, Ordering::Relaxed);
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Exact largest recorded value (ppm).
    pub fn max_ppm(&self) -> u64 {
        self.max_ppm.load(Ordering::Relaxed)
    }

    /// The `q`-quantile (0 < q <= 1) in ppm: the midpoint of the bucket holding the value of
    /// rank ceil(q * count), capped at the exact maximum (returned exactly for the top rank).
    /// `None` when empty.
    pub fn quantile_ppm(&self, q: f64) -> Option<f64> {
        let counts: [u64; HISTOGRAM_BUCKETS] =
            std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed));
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let max = self.max_ppm() as f64;
        if rank == total {
            return Some(max);
        }
        let mut seen = 0u64;
        for (index, &c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bucket_bounds(index);
                let mid = if hi - lo == 1 {
                    lo as f64
                } else {
                    (lo as f64 + (hi - 1) as f64) / 2.0
                };
                return Some(mid.min(max));
            }
        }
        Some(max)
    }

    /// Forget everything recorded so far (not atomic with concurrent recording).
    pub fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
        self.count.store(0, Ordering::Relaxed);
        self.max_ppm.store(0, Ordering::Relaxed);
    }
}

/// Callback-health counters shared by every driver of one output (device stream and silent
/// clock). Recording is RT-safe.
#[derive(Default)]
pub struct Stats {
    load: LoadHistogram,
    /// Thread CPU time per callback (ppm of the period), recorded only when enabled.
    cpu_load: LoadHistogram,
    measure_cpu: AtomicBool,
    callbacks: AtomicU64,
    frames: AtomicU64,
    overruns: AtomicU64,
    xruns: AtomicU64,
    stream_errors: AtomicU64,
    device_losses: AtomicU64,
    busy_skips: AtomicU64,
}

impl Stats {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one callback that produced `frames` frames at `rate_hz` and took `elapsed`.
    /// Counts an overrun when it took longer than the audio it produced. RT-safe.
    #[inline]
    pub fn record_callback(&self, elapsed: Duration, frames: usize, rate_hz: u32) {
        if frames == 0 || rate_hz == 0 {
            return;
        }
        let elapsed_ns = elapsed.as_nanos().min(u64::MAX as u128) as u64;
        // ppm = elapsed / period * 1e6 = elapsed_ns * rate / (frames * 1000)
        let ppm = (elapsed_ns as u128 * rate_hz as u128 / (frames as u128 * 1000)) as u64;
        self.load.record_ppm(ppm);
        self.callbacks.fetch_add(1, Ordering::Relaxed);
        self.frames.fetch_add(frames as u64, Ordering::Relaxed);
        if ppm > PPM_PER_PERIOD {
            self.overruns.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Also measure each callback's thread CPU time (one extra `clock_gettime` per callback). Wall time
    /// includes the time the thread was preempted by other processes; CPU time does not, so the two together
    /// tell the cost of the callback from the load of the machine.
    pub fn set_measure_cpu_time(&self, on: bool) {
        self.measure_cpu.store(on, Ordering::Relaxed);
    }

    /// The thread CPU clock now, when CPU time is measured. RT-safe (a non-blocking syscall).
    #[inline]
    pub fn cpu_clock(&self) -> Option<Duration> {
        if self.measure_cpu.load(Ordering::Relaxed) {
            thread_cpu_time()
        } else {
            None
        }
    }

    /// Record the thread CPU time a callback of `frames` frames took, given the [`Stats::cpu_clock`] reading
    /// taken at its start. RT-safe.
    #[inline]
    pub fn record_cpu_since(&self, start: Option<Duration>, frames: usize, rate_hz: u32) {
        let (Some(start), Some(now)) = (start, start.and_then(|_| thread_cpu_time())) else {
            return;
        };
        if frames == 0 || rate_hz == 0 {
            return;
        }
        let ns = now.saturating_sub(start).as_nanos().min(u64::MAX as u128) as u64;
        let ppm = (ns as u128 * rate_hz as u128 / (frames as u128 * 1000)) as u64;
        self.cpu_load.record_ppm(ppm);
    }

    /// The CPU-time histogram (empty unless [`Stats::set_measure_cpu_time`]).
    pub fn cpu_load(&self) -> &LoadHistogram {
        &self.cpu_load
    }

    /// Count a device xrun (ALSA reports underruns as stream errors). RT-safe.
    #[inline]
    pub fn record_xrun(&self) {
        self.xruns.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a non-fatal stream error other than an xrun.
    pub fn record_stream_error(&self) {
        self.stream_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a switch from a failed device to the silent clock.
    pub fn record_device_loss(&self) {
        self.device_losses.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a callback that found the render callback busy in another driver (it output
    /// silence). Only happens briefly while a failed device is being torn down. RT-safe.
    #[inline]
    pub fn record_busy_skip(&self) {
        self.busy_skips.fetch_add(1, Ordering::Relaxed);
    }

    /// Frames rendered so far (all drivers).
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Callbacks so far (all drivers).
    pub fn callbacks(&self) -> u64 {
        self.callbacks.load(Ordering::Relaxed)
    }

    /// The load histogram.
    pub fn load(&self) -> &LoadHistogram {
        &self.load
    }

    /// A consistent-enough copy of all counters and the load percentiles.
    pub fn snapshot(&self) -> StatsSnapshot {
        let share = |q: f64| self.load.quantile_ppm(q).map(|p| p / PPM_PER_PERIOD as f64);
        let cpu = |q: f64| {
            self.cpu_load
                .quantile_ppm(q)
                .map(|p| p / PPM_PER_PERIOD as f64)
        };
        StatsSnapshot {
            callbacks: self.callbacks.load(Ordering::Relaxed),
            frames: self.frames.load(Ordering::Relaxed),
            overruns: self.overruns.load(Ordering::Relaxed),
            xruns: self.xruns.load(Ordering::Relaxed),
            stream_errors: self.stream_errors.load(Ordering::Relaxed),
            device_losses: self.device_losses.load(Ordering::Relaxed),
            busy_skips: self.busy_skips.load(Ordering::Relaxed),
            load_p50: share(0.5),
            load_p99: share(0.99),
            load_p999: share(0.999),
            load_max: (self.load.count() > 0)
                .then(|| self.load.max_ppm() as f64 / PPM_PER_PERIOD as f64),
            cpu_p50: cpu(0.5),
            cpu_p99: cpu(0.99),
            cpu_p999: cpu(0.999),
            cpu_max: (self.cpu_load.count() > 0)
                .then(|| self.cpu_load.max_ppm() as f64 / PPM_PER_PERIOD as f64),
        }
    }

    /// Zero every counter and the histogram (not atomic with concurrent recording).
    pub fn reset(&self) {
        self.load.reset();
        self.cpu_load.reset();
        for c in [
            &self.callbacks,
            &self.frames,
            &self.overruns,
            &self.xruns,
            &self.stream_errors,
            &self.device_losses,
            &self.busy_skips,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// A copy of [`Stats`]. Load values are shares of the period (1.0 = 100 %); `None` before the
/// first callback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatsSnapshot {
    /// Callbacks so far.
    pub callbacks: u64,
    /// Frames rendered so far.
    pub frames: u64,
    /// Callbacks that took longer than their period.
    pub overruns: u64,
    /// Xruns reported by the device.
    pub xruns: u64,
    /// Other non-fatal stream errors.
    pub stream_errors: u64,
    /// Times the device failed and the silent clock took over.
    pub device_losses: u64,
    /// Callbacks that output silence because the render callback was busy elsewhere.
    pub busy_skips: u64,
    /// Median callback time / period.
    pub load_p50: Option<f64>,
    /// 99th percentile callback time / period.
    pub load_p99: Option<f64>,
    /// 99.9th percentile callback time / period.
    pub load_p999: Option<f64>,
    /// Largest callback time / period.
    pub load_max: Option<f64>,
    /// Median callback thread CPU time / period (`None` unless measured).
    pub cpu_p50: Option<f64>,
    /// 99th percentile of callback thread CPU time / period.
    pub cpu_p99: Option<f64>,
    /// 99.9th percentile of callback thread CPU time / period.
    pub cpu_p999: Option<f64>,
    /// Largest callback thread CPU time / period.
    pub cpu_max: Option<f64>,
}

/// CPU time consumed by the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
#[cfg(unix)]
#[inline]
fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(unix))]
#[inline]
fn thread_cpu_time() -> Option<Duration> {
    None
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |v: Option<f64>| match v {
            Some(v) => format!("{:.2} %", v * 100.0),
            None => "-".to_string(),
        };
        write!(
            f,
            "callbacks {}, frames {}, load p50 {} p99 {} p99.9 {} max {}, overruns {}, xruns {}",
            self.callbacks,
            self.frames,
            pct(self.load_p50),
            pct(self.load_p99),
            pct(self.load_p999),
            pct(self.load_max),
            self.overruns,
            self.xruns,
        )?;
        if self.stream_errors > 0 {
            write!(f, ", stream errors {}", self.stream_errors)?;
        }
        if self.device_losses > 0 {
            write!(f, ", device losses {}", self.device_losses)?;
        }
        if self.cpu_max.is_some() {
            write!(
                f,
                "; thread CPU time p50 {} p99 {} p99.9 {} max {}",
                pct(self.cpu_p50),
                pct(self.cpu_p99),
                pct(self.cpu_p999),
                pct(self.cpu_max),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_the_range() {
        let mut expected_lo = 0u64;
        for i in 0..HISTOGRAM_BUCKETS {
            let (lo, hi) = bucket_bounds(i);
            assert_eq!(
                lo, expected_lo,
                "bucket {i} starts where the previous ended"
            );
            assert!(hi > lo);
            assert_eq!(bucket_of(lo), i);
            assert_eq!(bucket_of(hi - 1), i);
            // relative width <= 1/32 above the linear range
            if lo >= LINEAR_LIMIT {
                assert!((hi - lo) * 32 <= lo, "bucket {i} too wide: {lo}..{hi}");
            }
            expected_lo = hi;
        }
        assert_eq!(expected_lo, MAX_TRACKED_PPM + 1);
        assert_eq!(bucket_of(u64::MAX), HISTOGRAM_BUCKETS - 1);
    }

    /// Uniform 1..=N ppm: the exact q-quantile is ceil(q*N); the histogram must be within its
    /// stated 1/64 relative error.
    #[test]
    fn percentiles_of_a_uniform_distribution() {
        let h = LoadHistogram::new();
        let n = 200_000u64;
        // a scrambled order, so that nothing depends on insertion order
        for i in 0..n {
            let v = (i * 7919) % n + 1;
            h.record_ppm(v);
        }
        assert_eq!(h.count(), n);
        assert_eq!(h.max_ppm(), n);
        for q in [0.5, 0.9, 0.99, 0.999] {
            let exact = (q * n as f64).ceil();
            let got = h.quantile_ppm(q).unwrap();
            let err = (got - exact).abs() / exact;
            assert!(
                err <= 1.0 / 64.0,
                "q={q}: got {got}, exact {exact}, rel err {err}"
            );
        }
        assert_eq!(h.quantile_ppm(1.0).unwrap(), n as f64);
    }

    /// A skewed, known distribution: 990 values at 20 000 ppm, 9 at 500 000 ppm, 1 at 3 000 000
    /// ppm (an overrun). p50 ~ 2 %, p99 ~ 2 %, p99.9 ~ 50 %, max = 300 %.
    #[test]
    fn percentiles_of_a_skewed_distribution_and_counters() {
        let s = Stats::new();
        let rate = 48_000;
        let frames = 480; // 10 ms
        let period_ns = 10_000_000u64;
        for _ in 0..990 {
            s.record_callback(Duration::from_nanos(period_ns / 50), frames, rate);
        }
        for _ in 0..9 {
            s.record_callback(Duration::from_nanos(period_ns / 2), frames, rate);
        }
        s.record_callback(Duration::from_nanos(period_ns * 3), frames, rate);
        let snap = s.snapshot();
        assert_eq!(snap.callbacks, 1000);
        assert_eq!(snap.frames, 480_000);
        assert_eq!(snap.overruns, 1);
        let close = |a: f64, b: f64| (a - b).abs() <= b / 64.0;
        assert!(close(snap.load_p50.unwrap(), 0.02), "{snap:?}");
        assert!(close(snap.load_p99.unwrap(), 0.02), "{snap:?}");
        assert!(close(snap.load_p999.unwrap(), 0.5), "{snap:?}");
        assert_eq!(snap.load_max.unwrap(), 3.0);
        s.reset();
        let snap = s.snapshot();
        assert_eq!(snap.callbacks, 0);
        assert_eq!(snap.load_p50, None);
    }

    #[test]
    fn exact_values_in_the_linear_range() {
        let h = LoadHistogram::new();
        for v in [3u64, 3, 3, 10, 63] {
            h.record_ppm(v);
        }
        assert_eq!(h.quantile_ppm(0.5), Some(3.0));
        assert_eq!(h.quantile_ppm(0.8), Some(10.0));
        assert_eq!(h.quantile_ppm(1.0), Some(63.0));
    }

    /// Thread CPU time is measured only when enabled; a busy callback's CPU time is close to its wall time,
    /// a sleeping one's is not.
    #[cfg(unix)]
    #[test]
    fn cpu_time_is_opt_in_and_excludes_sleep() {
        let stats = Stats::new();
        assert_eq!(stats.cpu_clock(), None, "off by default");
        stats.record_cpu_since(None, 256, 48_000);
        assert_eq!(stats.cpu_load().count(), 0);
        stats.set_measure_cpu_time(true);
        // busy for 2 ms of CPU time in a 5.33 ms period
        let start = stats.cpu_clock();
        let mut x = 0u64;
        while thread_cpu_time().unwrap() < start.unwrap() + Duration::from_millis(2) {
            x = x.wrapping_mul(31).wrapping_add(1);
        }
        std::hint::black_box(x);
        stats.record_cpu_since(start, 256, 48_000);
        // asleep for 3 ms
        let start = stats.cpu_clock();
        std::thread::sleep(Duration::from_millis(3));
        stats.record_cpu_since(start, 256, 48_000);
        assert_eq!(stats.cpu_load().count(), 2);
        let snap = stats.snapshot();
        let max = snap.cpu_max.unwrap();
        // busy: 2 ms of 5.333 ms = 37.5 % (plus the last loop turn and the clock reads)
        assert!(
            (0.375..0.40).contains(&max),
            "busy callback CPU share {max}"
        );
        let min = stats.cpu_load().quantile_ppm(0.5).unwrap() / PPM_PER_PERIOD as f64;
        assert!(min < 0.05, "sleeping callback CPU share {min}");
        assert!(snap.to_string().contains("thread CPU time p50"), "{snap}");
    }
}
