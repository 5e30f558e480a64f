//! The bridge between the UI thread and the engine on the audio thread.
//!
//! [`EngineCallback::render`] runs on the audio thread: it drains the command ring into the engine, processes,
//! publishes meters through atomics and sends events back. [`PlayerHandle`] lives on the UI thread: it sends
//! commands (keeping a backlog when the ring is full, never blocking), reads meters and the playhead, and drops
//! whatever the audio thread hands back. A meter thread runs EBU R 128 loudness on the master, fed through a
//! ring so the callback never does that work.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use crate::engine::{Command, Engine, GainReduction, Source, StripMeter};

/// RMS meter time constant.
pub const RMS_WINDOW_MS: f32 = 300.0;

/// An `f32` stored in an `AtomicU32`.
#[derive(Debug, Default)]
pub struct AtomicF32(AtomicU32);

impl AtomicF32 {
    /// A new value.
    pub fn new(v: f32) -> Self {
        Self(AtomicU32::new(v.to_bits()))
    }
    /// Read.
    pub fn load(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }
    /// Write.
    pub fn store(&self, v: f32) {
        self.0.store(v.to_bits(), Ordering::Relaxed)
    }
    /// Raise to `v` if larger (only for values ≥ 0, whose bit patterns order like the numbers).
    pub fn fetch_max(&self, v: f32) {
        self.0.fetch_max(v.max(0.0).to_bits(), Ordering::Relaxed);
    }
    /// Read and reset to 0 (peak since last read).
    pub fn take(&self) -> f32 {
        f32::from_bits(self.0.swap(0, Ordering::Relaxed))
    }
}

/// Meters of one strip, written by the audio thread.
#[derive(Debug, Default)]
pub struct StripMeters {
    /// Sample peak per channel since the last read (linear).
    pub peak: [AtomicF32; 2],
    /// RMS per channel over about 300 ms (linear).
    pub rms: [AtomicF32; 2],
    /// Gain reduction of the strip's dynamics over the last callback, in dB (positive; 0 when none): gate +
    /// compressor on tracks and buses, compressor + limiter on the master.
    pub gain_reduction_db: AtomicF32,
    /// The gate's (expander's) share of [`StripMeters::gain_reduction_db`], dB.
    pub gate_reduction_db: AtomicF32,
    /// The compressor's share, dB.
    pub comp_reduction_db: AtomicF32,
    /// The limiter's share (master only), dB.
    pub limiter_reduction_db: AtomicF32,
}

impl StripMeters {
    fn store_gain_reduction(&self, gr: GainReduction) {
        self.gate_reduction_db.store(gr.gate_db);
        self.comp_reduction_db.store(gr.comp_db);
        self.limiter_reduction_db.store(gr.limiter_db);
        self.gain_reduction_db
            .store(gr.gate_db + gr.comp_db + gr.limiter_db);
    }
}

/// Master loudness figures, written by the meter thread. `NaN` = not measurable yet.
#[derive(Debug, Default)]
pub struct LoudnessMeters {
    /// Momentary loudness (400 ms), LUFS.
    pub momentary_lufs: AtomicF32,
    /// Short-term loudness (3 s), LUFS.
    pub short_term_lufs: AtomicF32,
    /// Integrated loudness since the last reset, LUFS.
    pub integrated_lufs: AtomicF32,
    /// Loudness range, LU.
    pub loudness_range_lu: AtomicF32,
    /// True peak since the last read, linear.
    pub true_peak: AtomicF32,
    /// Correlation of L and R over about 300 ms, −1..+1.
    pub correlation: AtomicF32,
    /// Master samples that reached the meter thread.
    pub frames: AtomicU64,
    /// Master samples the meter ring had no room for.
    pub lost_frames: AtomicU64,
}

/// Every meter the UI reads.
#[derive(Debug)]
pub struct MeterBank {
    /// Per track.
    pub tracks: Vec<StripMeters>,
    /// Per bus (group and effect buses), in session order.
    pub buses: Vec<StripMeters>,
    /// The master strip.
    pub master: StripMeters,
    /// Master loudness.
    pub loudness: LoudnessMeters,
    /// Timeline position of the engine after the last callback.
    pub position_frames: AtomicU64,
    /// Transport running.
    pub playing: AtomicBool,
    /// Engine clock after the last callback.
    pub clock_frames: AtomicU64,
    /// Commands the engine dropped (queue full).
    pub dropped_commands: AtomicU64,
    /// Sample clipping events on the master (samples ≥ 1.0).
    pub master_clips: AtomicU64,
}

impl MeterBank {
    fn new(tracks: usize, buses: usize) -> Self {
        Self {
            tracks: (0..tracks).map(|_| StripMeters::default()).collect(),
            buses: (0..buses).map(|_| StripMeters::default()).collect(),
            master: StripMeters::default(),
            loudness: LoudnessMeters::default(),
            position_frames: AtomicU64::new(0),
            playing: AtomicBool::new(false),
            clock_frames: AtomicU64::new(0),
            dropped_commands: AtomicU64::new(0),
            master_clips: AtomicU64::new(0),
        }
    }
}

/// What the audio thread tells the UI.
pub enum EngineEvent {
    /// A replaced source, to be dropped here rather than on the audio thread.
    Retired(Box<dyn Source>),
}

/// Frames per stack-buffer chunk when the mix is copied to the loudness tap.
const TAP_CHUNK_FRAMES: usize = 256;

/// Runs on the audio thread: owns the engine and renders it. Implements the output's render callback.
pub struct EngineCallback {
    engine: Engine,
    commands: HeapCons<Command>,
    events: HeapProd<EngineEvent>,
    meters: Arc<MeterBank>,
    master_tap: HeapProd<f32>,
    rms_ms: Vec<[f32; 2]>,
    bus_rms_ms: Vec<[f32; 2]>,
    master_rms_ms: [f32; 2],
    max_commands_per_block: usize,
}

impl EngineCallback {
    /// Render `out` (interleaved stereo). Real-time safe: no allocation, locks or I/O.
    pub fn render(&mut self, out: &mut [f32]) {
        // Drain a bounded number of commands at block start.
        for _ in 0..self.max_commands_per_block {
            let Some(cmd) = self.commands.try_pop() else {
                break;
            };
            if let Err(cmd) = self.engine.push(cmd) {
                // queue full: apply nothing more this block; drop it off-thread is impossible here, so keep
                // the count and let the command go (it is small and Copy-like except ReplaceSource).
                self.meters
                    .dropped_commands
                    .store(self.engine.dropped_commands(), Ordering::Relaxed);
                if let crate::engine::CommandKind::ReplaceSource { source, .. } = cmd.kind {
                    let _ = self.events.try_push(EngineEvent::Retired(source));
                }
                break;
            }
        }
        // Meters measure the mix, not the monitor (dim, mono check, a reference): the loudness tap and the
        // clip count take the engine's pre-monitor mix, chunk by chunk, through a small stack buffer.
        {
            let (tap, meters) = (&mut self.master_tap, &self.meters);
            self.engine.process_interleaved_with_mix(out, |l, r| {
                let mut buf = [0.0f32; 2 * TAP_CHUNK_FRAMES];
                for (lc, rc) in l.chunks(TAP_CHUNK_FRAMES).zip(r.chunks(TAP_CHUNK_FRAMES)) {
                    let frames = lc.len();
                    let mut clips = 0u64;
                    for (i, (&a, &b)) in lc.iter().zip(rc).enumerate() {
                        buf[2 * i] = a;
                        buf[2 * i + 1] = b;
                        clips += u64::from(a.abs() >= 1.0) + u64::from(b.abs() >= 1.0);
                    }
                    if clips > 0 {
                        meters.master_clips.fetch_add(clips, Ordering::Relaxed);
                    }
                    let pushed = tap.push_slice(&buf[..2 * frames]);
                    if pushed < 2 * frames {
                        meters
                            .loudness
                            .lost_frames
                            .fetch_add(((2 * frames - pushed) / 2) as u64, Ordering::Relaxed);
                    }
                }
            });
        }
        while let Some(src) = self.engine.take_retired_source() {
            if let Err(EngineEvent::Retired(src)) = self.events.try_push(EngineEvent::Retired(src))
            {
                // The UI is not draining events; never free on this thread.
                std::mem::forget(src);
            }
        }
        self.publish(out.len() / 2);
    }

    fn publish(&mut self, frames: usize) {
        let rate = self.engine.sample_rate_hz() as f32;
        // exponential moving mean square with τ = 300 ms, advanced by one block
        let a = (-(frames as f32) / (RMS_WINDOW_MS / 1000.0 * rate)).exp();
        let update = |ms: &mut [f32; 2], m: &StripMeter, dst: &StripMeters| {
            let n = m.frames.max(1) as f64;
            for (ch, ms) in ms.iter_mut().enumerate() {
                let block = (m.sum_sq[ch] / n) as f32;
                *ms = a * *ms + (1.0 - a) * block;
                dst.rms[ch].store(ms.sqrt());
                dst.peak[ch].fetch_max(m.peak[ch]);
            }
        };
        for (i, (ms, dst)) in self.rms_ms.iter_mut().zip(&self.meters.tracks).enumerate() {
            if let (Some(m), Some(gr)) = (
                self.engine.track_meter(i),
                self.engine.track_gain_reduction_db(i),
            ) {
                update(ms, m, dst);
                dst.store_gain_reduction(gr);
            }
        }
        for (i, (ms, dst)) in self
            .bus_rms_ms
            .iter_mut()
            .zip(&self.meters.buses)
            .enumerate()
        {
            if let (Some(m), Some(gr)) = (
                self.engine.bus_meter(i),
                self.engine.bus_gain_reduction_db(i),
            ) {
                update(ms, m, dst);
                dst.store_gain_reduction(gr);
            }
        }
        update(
            &mut self.master_rms_ms,
            self.engine.master_meter(),
            &self.meters.master,
        );
        self.meters
            .master
            .store_gain_reduction(self.engine.master_gain_reduction_db());
        self.engine.reset_meters();
        let m = &self.meters;
        m.position_frames
            .store(self.engine.position_frames(), Ordering::Relaxed);
        m.clock_frames
            .store(self.engine.clock_frames(), Ordering::Relaxed);
        m.playing.store(self.engine.is_playing(), Ordering::Relaxed);
    }

    /// The engine (for tests and for handing it back).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// The UI thread's side.
pub struct PlayerHandle {
    commands: HeapProd<Command>,
    events: HeapCons<EngineEvent>,
    backlog: VecDeque<Command>,
    meters: Arc<MeterBank>,
    meter_thread: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    reset_loudness: Arc<AtomicBool>,
    sample_rate_hz: u32,
}

impl PlayerHandle {
    /// Send a command; if the ring is full it waits in a backlog, retried by [`PlayerHandle::tick`].
    pub fn send(&mut self, cmd: Command) {
        if !self.backlog.is_empty() {
            self.backlog.push_back(cmd);
            self.flush();
            return;
        }
        if let Err(cmd) = self.commands.try_push(cmd) {
            self.backlog.push_back(cmd);
        }
    }

    fn flush(&mut self) {
        while let Some(cmd) = self.backlog.pop_front() {
            if let Err(cmd) = self.commands.try_push(cmd) {
                self.backlog.push_front(cmd);
                break;
            }
        }
    }

    /// Retry the backlog and drop what the audio thread handed back. Call once per UI tick.
    pub fn tick(&mut self) {
        self.flush();
        while let Some(ev) = self.events.try_pop() {
            match ev {
                EngineEvent::Retired(src) => drop(src),
            }
        }
    }

    /// Commands still waiting for room in the ring.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// The meters.
    pub fn meters(&self) -> &MeterBank {
        &self.meters
    }

    /// Shared meters (for other readers).
    pub fn meters_arc(&self) -> Arc<MeterBank> {
        self.meters.clone()
    }

    /// Timeline position after the last callback.
    pub fn position_frames(&self) -> u64 {
        self.meters.position_frames.load(Ordering::Relaxed)
    }

    /// Engine sample rate.
    pub fn sample_rate_hz(&self) -> u32 {
        self.sample_rate_hz
    }

    /// Restart integrated loudness, LRA and max figures.
    pub fn reset_loudness(&self) {
        self.reset_loudness.store(true, Ordering::Relaxed);
    }
}

impl Drop for PlayerHandle {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.meter_thread.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = handle.join();
        }
    }
}

/// Split an engine into the audio-thread callback and the UI-thread handle, and start the meter thread.
pub fn bridge(engine: Engine, command_capacity: usize) -> (PlayerHandle, EngineCallback) {
    let rate = engine.sample_rate_hz();
    let meters = Arc::new(MeterBank::new(engine.track_count(), engine.bus_count()));
    let (cmd_tx, cmd_rx) = HeapRb::<Command>::new(command_capacity.max(16)).split();
    let (ev_tx, ev_rx) = HeapRb::<EngineEvent>::new(256).split();
    // one second of master audio for the meter thread
    let (tap_tx, tap_rx) = HeapRb::<f32>::new(2 * rate as usize).split();
    let stop = Arc::new(AtomicBool::new(false));
    let reset = Arc::new(AtomicBool::new(false));
    let thread = {
        let meters = meters.clone();
        let stop = stop.clone();
        let reset = reset.clone();
        std::thread::Builder::new()
            .name("ttymix-meter".into())
            .spawn(move || meter_thread(rate, tap_rx, meters, stop, reset))
            .ok()
    };
    let tracks = engine.track_count();
    let engine_buses = engine.bus_count();
    let cb = EngineCallback {
        engine,
        commands: cmd_rx,
        events: ev_tx,
        meters: meters.clone(),
        master_tap: tap_tx,
        rms_ms: vec![[0.0; 2]; tracks],
        bus_rms_ms: vec![[0.0; 2]; engine_buses],
        master_rms_ms: [0.0; 2],
        max_commands_per_block: command_capacity.max(16),
    };
    let handle = PlayerHandle {
        commands: cmd_tx,
        events: ev_rx,
        backlog: VecDeque::new(),
        meters,
        meter_thread: thread.map(|t| (stop, t)),
        reset_loudness: reset,
        sample_rate_hz: rate,
    };
    (handle, cb)
}

fn meter_thread(
    rate: u32,
    mut tap: HeapCons<f32>,
    meters: Arc<MeterBank>,
    stop: Arc<AtomicBool>,
    reset: Arc<AtomicBool>,
) {
    use ebur128::{EbuR128, Mode};
    lower_priority();
    let mode = Mode::I | Mode::M | Mode::S | Mode::LRA | Mode::TRUE_PEAK;
    let new_meter = || EbuR128::new(2, rate, mode).ok();
    let Some(mut ebu) = new_meter() else { return };
    let chunk = (rate as usize / 100).max(1) * 2; // 10 ms, interleaved
    let mut buf = vec![0.0f32; chunk];
    let corr_a = (-(chunk as f32 / 2.0) / (RMS_WINDOW_MS / 1000.0 * rate as f32)).exp();
    let (mut lr, mut ll, mut rr) = (0.0f32, 0.0f32, 0.0f32);
    let l = &meters.loudness;
    for v in [
        &l.momentary_lufs,
        &l.short_term_lufs,
        &l.integrated_lufs,
        &l.loudness_range_lu,
        &l.correlation,
    ] {
        v.store(f32::NAN);
    }
    while !stop.load(Ordering::Relaxed) {
        if reset.swap(false, Ordering::Relaxed) {
            if let Some(m) = new_meter() {
                ebu = m;
            }
        }
        let n = tap.pop_slice(&mut buf);
        if n < chunk {
            // not enough yet: put nothing back, just wait for more (partial chunks are measured too)
            if n == 0 {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        }
        let block = &buf[..n - n % 2];
        if ebu.add_frames_f32(block).is_err() {
            continue;
        }
        let (mut slr, mut sll, mut srr) = (0.0f32, 0.0f32, 0.0f32);
        for f in block.chunks_exact(2) {
            slr += f[0] * f[1];
            sll += f[0] * f[0];
            srr += f[1] * f[1];
        }
        lr = corr_a * lr + (1.0 - corr_a) * slr;
        ll = corr_a * ll + (1.0 - corr_a) * sll;
        rr = corr_a * rr + (1.0 - corr_a) * srr;
        let denom = (ll * rr).sqrt();
        l.correlation
            .store(if denom > 1e-12 { lr / denom } else { f32::NAN });
        let fin = |r: Result<f64, ebur128::Error>| match r {
            Ok(v) if v.is_finite() => v as f32,
            _ => f32::NAN,
        };
        l.momentary_lufs.store(fin(ebu.loudness_momentary()));
        l.short_term_lufs.store(fin(ebu.loudness_shortterm()));
        l.integrated_lufs.store(fin(ebu.loudness_global()));
        l.loudness_range_lu.store(fin(ebu.loudness_range()));
        let tp = (0..2)
            .filter_map(|c| ebu.prev_true_peak(c).ok())
            .fold(0.0f64, f64::max);
        l.true_peak.fetch_max(tp as f32);
        l.frames
            .fetch_add((block.len() / 2) as u64, Ordering::Relaxed);
    }
}

/// Give the calling (meter) thread a lower scheduling priority than the audio thread, so on a small, busy
/// machine the loudness work yields to the callback rather than competing with it. Best effort.
pub(crate) fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no preconditions; setpriority on our own thread id only changes its nice value.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// Puts the calling thread in the idle scheduling class (Linux `SCHED_IDLE`): it runs only when a core has
/// nothing else to do. For work that must not delay the threads it feeds on, such as a render's meters; an
/// unprivileged thread cannot leave the class again, so whoever feeds it must be able to take its work over
/// (the render's `MeterStage` does). Elsewhere, the lower priority of [`lower_priority`].
pub(crate) fn idle_priority() {
    #[cfg(target_os = "linux")]
    {
        let p = libc::sched_param { sched_priority: 0 };
        // SAFETY: sched_setscheduler with pid 0 changes only the calling thread's policy; `p` is valid.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &p) } == 0 {
            return;
        }
    }
    lower_priority();
}

impl crate::audio::RenderCallback for EngineCallback {
    fn render(&mut self, out: &mut [f32]) {
        EngineCallback::render(self, out)
    }
}
