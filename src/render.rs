//! Offline bounce: the same [`Engine`] the audio thread runs, in a loop, written to a WAV file atomically.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::engine::{Command, Engine, TransportCommand};
use crate::load::LoadedSession;
use crate::loudness::{Channel, LoudnessMeter, LoudnessReport};

/// Output sample format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Bits {
    /// 16-bit integer PCM with TPDF dither.
    #[value(name = "16")]
    Int16,
    /// 24-bit integer PCM.
    #[value(name = "24")]
    Int24,
    /// 32-bit float.
    #[value(name = "32f")]
    Float32,
}

/// How to render.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Start of the range in seconds (timeline).
    pub from_s: Option<f64>,
    /// End of the range in seconds (timeline); default: the end of the longest stem.
    pub to_s: Option<f64>,
    /// Frames per engine call.
    pub block_frames: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Frames per engine call in a render. The audio does not depend on it (the engine is block-size invariant,
/// tested); larger blocks mean fewer reads, thread hand-offs and pool wake-ups per second of audio. Measured on
/// the 8-stem bench (`benches/render_vs_sox.sh`, 2 cores): 4,096 frames 0.32 s, 16,384 0.29 s, 32,768 0.28 s,
/// 65,536 0.28 s with more memory (23 MiB peak at 32,768 against 36 MiB at 65,536, for 8 stems).
pub const RENDER_BLOCK_FRAMES: usize = 32_768;

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            from_s: None,
            to_s: None,
            block_frames: RENDER_BLOCK_FRAMES,
            progress: false,
        }
    }
}

/// The frame range `[start, end)` a render covers.
/// Renders with effect buses continue past the end until the output stays below this level …
pub const TAIL_THRESHOLD_DBFS: f32 = -90.0;
/// … for this long …
pub const TAIL_QUIET_S: f64 = 0.25;
/// … or at most this long.
pub const TAIL_MAX_S: f64 = 10.0;

pub fn frame_range(loaded: &LoadedSession, opts: &RenderOptions) -> Result<(u64, u64)> {
    let rate = loaded.sample_rate_hz as f64;
    let len = loaded.length_frames();
    let to_frames = |s: f64, what: &str| -> Result<u64> {
        if !s.is_finite() || s < 0.0 {
            bail!("--{what} {s}: must be a time in seconds, 0 or more");
        }
        Ok((s * rate).round() as u64)
    };
    let start = match opts.from_s {
        Some(s) => to_frames(s, "from")?,
        None => 0,
    };
    let end = match opts.to_s {
        Some(s) => to_frames(s, "to")?,
        None => len,
    };
    if end <= start {
        bail!(
            "nothing to render: the range {:.3}–{:.3} s is empty (the mix lasts {:.3} s)",
            start as f64 / rate,
            end as f64 / rate,
            len as f64 / rate
        );
    }
    Ok((start, end))
}

/// Render `[start, end)` through the engine, calling `sink` with interleaved stereo blocks; returns the frames
/// written. The engine's latency (master limiter lookahead) is compensated: its first `latency_frames` are
/// dropped and as many are flushed past `end`, so the output lines up with the input. With `tail` and effect
/// buses, rendering continues past `end` until the output stays below [`TAIL_THRESHOLD_DBFS`] for
/// [`TAIL_QUIET_S`] (at most [`TAIL_MAX_S`]).
pub fn run_engine(
    engine: &mut Engine,
    start: u64,
    end: u64,
    block_frames: usize,
    tail: bool,
    mut sink: impl FnMut(&[f32]) -> Result<()>,
) -> Result<u64> {
    let (mut cut, block) = Cutter::start(engine, start, end, block_frames, tail);
    let mut l = vec![0.0f32; block];
    let mut r = vec![0.0f32; block];
    while let Some(n) = cut.next_frames(block) {
        engine.process(&mut l[..n], &mut r[..n]);
        if cut.take(&l[..n], &r[..n], &mut sink)? {
            break;
        }
    }
    Ok(cut.written)
}

/// [`run_engine`] with the engine's master strip on a thread of its own: this thread mixes (with rayon's
/// workers) while the master stage runs the master strip over the blocks before and cuts the output (latency,
/// tail) exactly as [`run_engine`] does, then calls `sink`. The master's serial work (EQ, bus compressor,
/// limiter) thus overlaps the next blocks' mix instead of holding it up; the samples are the same (the
/// master's processors are block-size invariant and see the same frames in the same order). The mix may run
/// a few blocks past the end of a tail; the stage drops them.
pub fn run_engine_pipelined(
    engine: &mut Engine,
    start: u64,
    end: u64,
    block_frames: usize,
    tail: bool,
    sink: impl FnMut(&[f32]) -> Result<()> + Send,
) -> Result<u64> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc::{channel, sync_channel};
    let (mut cut, block) = Cutter::start(engine, start, end, block_frames, tail);
    // the most the stage can take: the whole range, its latency and the longest tail
    let limit = cut.latency + cut.main + cut.max_tail;
    let mut master = engine.detach_master();
    let done = AtomicBool::new(false);
    let (to_stage, stage_rx) = sync_channel::<(Vec<f32>, Vec<f32>)>(4);
    let (free_tx, free_rx) = channel::<(Vec<f32>, Vec<f32>)>();
    std::thread::scope(|scope| {
        let done = &done;
        let stage = scope.spawn(move || -> Result<u64> {
            let mut sink = sink;
            let result = (|| {
                for (mut l, mut r) in stage_rx.iter() {
                    master.process(&mut l, &mut r);
                    let finished = cut.take(&l, &r, &mut sink)?;
                    let _ = free_tx.send((l, r));
                    if finished {
                        break;
                    }
                }
                Ok(cut.written)
            })();
            done.store(true, Ordering::Relaxed);
            result
        });
        let mut processed = 0u64;
        while processed < limit && !done.load(Ordering::Relaxed) {
            let n = (limit - processed).min(block as u64) as usize;
            let (mut l, mut r) = free_rx.try_recv().unwrap_or_default();
            l.resize(n, 0.0);
            r.resize(n, 0.0);
            engine.process(&mut l, &mut r);
            processed += n as u64;
            if to_stage.send((l, r)).is_err() {
                break; // the stage stopped: its result says why
            }
        }
        drop(to_stage);
        stage
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the master stage failed")))
    })
}

/// The frame bookkeeping of a render: which frames of the engine's output to keep (its latency dropped at the
/// start, as many flushed past the end) and where the effect tail ends.
struct Cutter {
    latency: u64,
    main: u64,
    tail: bool,
    max_tail: u64,
    quiet_needed: u64,
    threshold: f32,
    processed: u64,
    written: u64,
    quiet: u64,
    inter: Vec<f32>,
}

impl Cutter {
    /// Starts playback of `[start, end)` on the engine; returns the cutter and the block length to process.
    fn start(
        engine: &mut Engine,
        start: u64,
        end: u64,
        block_frames: usize,
        tail: bool,
    ) -> (Cutter, usize) {
        let _ = engine.push(Command::transport(
            0,
            TransportCommand::Seek { frame: start },
        ));
        let _ = engine.push(Command::transport(0, TransportCommand::Play));
        let block = block_frames.min(engine.max_block_frames()).max(1);
        let rate = engine.sample_rate_hz() as u64;
        let tail = tail && engine.has_tail();
        let cut = Cutter {
            latency: engine.latency_frames() as u64,
            main: end - start,
            tail,
            max_tail: if tail {
                (TAIL_MAX_S * rate as f64) as u64
            } else {
                0
            },
            quiet_needed: (TAIL_QUIET_S * rate as f64) as u64,
            threshold: 10f32.powf(TAIL_THRESHOLD_DBFS / 20.0),
            processed: 0,
            written: 0,
            quiet: 0,
            inter: vec![0.0f32; 2 * block],
        };
        (cut, block)
    }

    /// Frames to process next (at most `block`), or `None` when the render is complete.
    fn next_frames(&self, block: usize) -> Option<usize> {
        let main_left = (self.latency + self.main).saturating_sub(self.processed);
        if main_left > 0 {
            return Some(main_left.min(block as u64) as usize);
        }
        if !self.tail
            || self.quiet >= self.quiet_needed
            || self.written >= self.main + self.max_tail
        {
            return None;
        }
        Some((self.main + self.max_tail - self.written).min(block as u64) as usize)
    }

    /// Takes the engine's next output frames: keeps those past the latency, interleaved, into `sink`; returns
    /// true when the render is complete (the tail's quiet run ended, on its exact frame). Frames given after the
    /// end are ignored.
    fn take(
        &mut self,
        l: &[f32],
        r: &[f32],
        sink: &mut impl FnMut(&[f32]) -> Result<()>,
    ) -> Result<bool> {
        let n = l.len().min(r.len());
        let mut i = 0;
        while i < n {
            // at most one interleaving buffer at a time, and never past what the render needs
            let Some(want) = self.next_frames(self.inter.len() / 2) else {
                return Ok(true);
            };
            let len = want.min(n - i);
            let (l, r) = (&l[i..i + len], &r[i..i + len]);
            i += len;
            let skip = self.latency.saturating_sub(self.processed).min(len as u64) as usize;
            self.processed += len as u64;
            let kept = len - skip;
            if !(self.tail && self.written + kept as u64 > self.main) {
                // No tail end can fall in these frames: interleave them in one pass, and the quiet run is
                // what follows the last loud frame (or grows by all of them).
                let (l, r) = (&l[skip..], &r[skip..]);
                for ((o, &x), &y) in self.inter.chunks_exact_mut(2).zip(l).zip(r) {
                    o[0] = x;
                    o[1] = y;
                }
                let quiet = |j: usize| l[j].abs().max(r[j].abs()) < self.threshold;
                self.quiet = match (0..kept).rev().find(|&j| !quiet(j)) {
                    Some(j) => (kept - 1 - j) as u64,
                    None => self.quiet + kept as u64,
                };
                if kept > 0 {
                    sink(&self.inter[..2 * kept])?;
                    self.written += kept as u64;
                }
                continue;
            }
            let mut m = 0;
            let mut tail_done = false;
            for j in skip..len {
                self.inter[2 * m] = l[j];
                self.inter[2 * m + 1] = r[j];
                if l[j].abs().max(r[j].abs()) < self.threshold {
                    self.quiet += 1;
                } else {
                    self.quiet = 0;
                }
                m += 1;
                // the tail ends on the exact frame its quiet run is complete, whatever the block size
                if self.tail
                    && self.written + m as u64 > self.main
                    && self.quiet >= self.quiet_needed
                {
                    tail_done = true;
                    break;
                }
            }
            if m > 0 {
                sink(&self.inter[..2 * m])?;
                self.written += m as u64;
            }
            if tail_done {
                return Ok(true);
            }
        }
        Ok(self.next_frames(self.inter.len() / 2).is_none())
    }
}

/// Render the whole range to memory (interleaved stereo) with its loudness report.
pub fn render_to_memory(
    loaded: &LoadedSession,
    opts: &RenderOptions,
) -> Result<(Vec<f32>, LoudnessReport)> {
    let (start, end) = frame_range(loaded, opts)?;
    let mut engine = loaded.engine(opts.block_frames);
    engine.set_metering(false);
    // Track strips on every core; the audio is bit-identical to the single-threaded engine.
    engine.set_offline_parallel(true);
    let mut out = Vec::with_capacity(2 * (end - start) as usize);
    let mut meter = LoudnessMeter::new(loaded.sample_rate_hz, &[Channel::Left, Channel::Right])?;
    run_engine(
        &mut engine,
        start,
        end,
        opts.block_frames,
        opts.to_s.is_none(),
        |b| {
            out.extend_from_slice(b);
            meter.add_interleaved_stereo(b)?;
            Ok(())
        },
    )?;
    Ok((out, meter.finish()))
}

/// Refuse an output path that is one of the session's own inputs.
pub fn check_not_an_input(out: &Path, inputs: &[PathBuf]) -> Result<()> {
    let canon = |p: &Path| -> Option<PathBuf> {
        if let Ok(c) = p.canonicalize() {
            return Some(c);
        }
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.canonicalize().ok()?,
            _ => std::env::current_dir().ok()?,
        };
        Some(parent.join(p.file_name()?))
    };
    let Some(o) = canon(out) else { return Ok(()) };
    for i in inputs {
        if canon(i).as_ref() == Some(&o) {
            bail!(
                "{}: refusing to overwrite one of the session's own inputs",
                out.display()
            );
        }
    }
    Ok(())
}

/// Deterministic TPDF dither source: the sum of two uniform values in [-0.5, 0.5) LSB.
struct Tpdf(u64);

impl Tpdf {
    fn uniform(&mut self) -> f32 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545F4914F6CDD1D);
        (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    fn next(&mut self) -> f32 {
        self.uniform() + self.uniform()
    }
}

/// `y.round().clamp(lo, hi) as i32` (round half away from zero; NaN gives 0) without a libm call:
/// `y ± 0.5` is exact in f64 for every f32 `y`, and the conversion truncates towards zero.
#[inline]
fn round_clamp(y: f32, lo: f64, hi: f64) -> i32 {
    let y = f64::from(y);
    (y + 0.5f64.copysign(y)).clamp(lo, hi) as i32
}

/// 24-bit quantisation of `block` (in place, as the values written) into `out`; through an AVX2 build where
/// the CPU has it (the same operations per sample, so the same values).
fn quantise_24(block: &mut [f32], out: &mut [i32]) {
    #[inline(always)]
    fn run(block: &mut [f32], out: &mut [i32]) {
        const S: f32 = 8_388_608.0;
        for (x, o) in block.iter_mut().zip(out.iter_mut()) {
            let v = round_clamp(*x * S, -8_388_608.0, 8_388_607.0);
            *x = v as f32 / S;
            *o = v;
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(block: &mut [f32], out: &mut [i32]) {
        run(block, out)
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked just above).
        return unsafe { run_avx2(block, out) };
    }
    run(block, out)
}

/// Turns mixed blocks into the output format: the file's bytes, and in place the values written (as f32),
/// which the loudness report measures.
pub(crate) struct Quantiser {
    bits: Bits,
    dither: Tpdf,
    i16s: Vec<i16>,
    i32s: Vec<i32>,
}

impl Quantiser {
    pub(crate) fn new(bits: Bits) -> Self {
        Self {
            bits,
            dither: Tpdf(0x9E37_79B9_7F4A_7C15),
            i16s: Vec::new(),
            i32s: Vec::new(),
        }
    }

    /// Quantise `block` in place and append its encoded bytes to `bytes`.
    pub(crate) fn run(&mut self, block: &mut [f32], bytes: &mut Vec<u8>) {
        use crate::media::wav_fast::{encode_f32, encode_i16, encode_i24};
        match self.bits {
            Bits::Float32 => encode_f32(block, bytes),
            Bits::Int24 => {
                self.i32s.clear();
                self.i32s.resize(block.len(), 0);
                quantise_24(block, &mut self.i32s);
                encode_i24(&self.i32s, bytes);
            }
            Bits::Int16 => {
                const S: f32 = 32_768.0;
                let d = &mut self.dither;
                self.i16s.clear();
                self.i16s.extend(block.iter_mut().map(|x| {
                    let v = round_clamp(*x * S + d.next(), -32_768.0, 32_767.0) as i16;
                    *x = v as f32 / S;
                    v
                }));
                encode_i16(&self.i16s, bytes);
            }
        }
    }
}

/// Render to a WAV file, written atomically; returns the loudness report of what was written.
pub fn render_to_file(
    loaded: &LoadedSession,
    out: &Path,
    bits: Bits,
    opts: &RenderOptions,
) -> Result<LoudnessReport> {
    check_not_an_input(out, &loaded.session.input_paths())?;
    if let Some(reason) = loaded.first_offline() {
        bail!("{reason}");
    }
    let (start, end) = frame_range(loaded, opts)?;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!("{}: the output folder does not exist", out.display());
    }
    let name = out
        .file_name()
        .with_context(|| format!("{}: not a file name", out.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = write_wav(loaded, &tmp, bits, opts, start, end);
    match result {
        Ok(report) => {
            std::fs::rename(&tmp, out).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                anyhow::anyhow!("{}: {}", out.display(), crate::session::io_reason(&e))
            })?;
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn write_wav(
    loaded: &LoadedSession,
    tmp: &Path,
    bits: Bits,
    opts: &RenderOptions,
    start: u64,
    end: u64,
) -> Result<LoudnessReport> {
    use crate::media::wav_fast::BulkWavWriter;
    use std::sync::mpsc::{channel, sync_channel};
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: loaded.sample_rate_hz,
        bits_per_sample: match bits {
            Bits::Int16 => 16,
            Bits::Int24 => 24,
            Bits::Float32 => 32,
        },
        sample_format: match bits {
            Bits::Float32 => hound::SampleFormat::Float,
            _ => hound::SampleFormat::Int,
        },
    };
    let io_err =
        |e: std::io::Error| anyhow::anyhow!("{}: {}", tmp.display(), crate::session::io_reason(&e));
    let file = std::fs::File::create(tmp).map_err(io_err)?;
    let mut out = BulkWavWriter::new(file, spec).map_err(io_err)?;
    let mut engine = loaded.render_engine(opts.block_frames)?;
    // Nothing reads the strip meters here; the audio is the same without them.
    engine.set_metering(false);
    // Track strips on every core; the audio is bit-identical to the single-threaded engine.
    engine.set_offline_parallel(true);
    let (loudness, peaks) =
        LoudnessMeter::split(loaded.sample_rate_hz, &[Channel::Left, Channel::Right])?;
    // A pipeline: this thread mixes (with rayon's workers); a master stage runs the master strip and cuts the
    // output (`run_engine_pipelined`); a writer quantises and writes the file and hands
    // each block (the values written, after dither and quantisation) to two meters, one for the true and
    // sample peaks, one for the loudness. The meters run at idle priority in the gaps the mix leaves (see
    // `MeterStage`); used blocks come back here for reuse, so memory stays bounded.
    let (to_writer, writer_rx) = sync_channel::<Vec<f32>>(8);
    let (free_tx, free_rx) = channel::<Vec<f32>>();
    let peaks = MeterStage::spawn(peaks, free_tx.clone());
    let loudness = MeterStage::spawn(loudness, free_tx);
    let stages = [peaks.clone(), loudness.clone()];
    let writer = std::thread::spawn(move || -> std::io::Result<std::fs::File> {
        let mut q = Quantiser::new(bits);
        let mut bytes = Vec::new();
        let result = (|| {
            for mut block in writer_rx {
                bytes.clear();
                q.run(&mut block, &mut bytes);
                out.write_data(&bytes)?;
                let block = std::sync::Arc::new(block);
                for s in &stages {
                    s.push(block.clone());
                }
            }
            out.finalize()
        })();
        for s in &stages {
            s.close();
        }
        result
    });
    let bar = (opts.progress && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(end - start);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "rendering [{bar:40}] {percent:>3}% {elapsed}/{duration}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });
    // The mixing loop runs on one of rayon's workers, so that thread also takes a share of the parallel track
    // strips instead of waiting for the pool (which has as many threads as cores); the master strip runs on a
    // stage of its own between the mix and the writer.
    let (engine, bar_ref) = (&mut engine, &bar);
    let result = rayon::scope(move |_| {
        run_engine_pipelined(
            engine,
            start,
            end,
            opts.block_frames,
            opts.to_s.is_none(),
            move |block| {
                let mut b = free_rx.try_recv().unwrap_or_default();
                b.clear();
                b.extend_from_slice(block);
                if to_writer.send(b).is_err() {
                    bail!("the writer stopped"); // its own error is reported below
                }
                if let Some(b) = bar_ref {
                    b.inc((block.len() / 2) as u64);
                }
                Ok(())
            },
        )
    });
    // (`to_writer` went with the mixing closure, so the writer sees the end of the stream)
    let written = writer.join();
    // (the meters' threads end even if the writer did not)
    let peaks = peaks.finish();
    let report = loudness.finish();
    let written = written.map_err(|_| anyhow::anyhow!("{}: the writer failed", tmp.display()))?;
    let file = written.map_err(io_err)?;
    let report = report?.with_peaks_of(&peaks?);
    result?;
    // Data on disk before the rename makes it visible under the real name.
    file.sync_all().map_err(io_err)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}

/// Blocks a meter may fall behind the writer before the writer measures blocks itself.
const METER_QUEUE_BLOCKS: usize = 8;
/// A meter's idle-priority thread that is behind and has measured nothing for this long is replaced.
const METER_STALL_MS: u64 = 50;

/// One meter of the render pipeline. Its thread runs at idle priority, so that it measures in the gaps the
/// mix leaves instead of preempting the mixing threads (a render's wall time fell by about a sixth on two
/// cores). An idle-priority thread hardly runs while the machine is busy with other work, and an
/// unprivileged thread cannot raise its priority again. So the writer measures blocks itself while the meter is
/// more than [`METER_QUEUE_BLOCKS`] behind, and if the idle thread is then stalled (nothing measured for
/// [`METER_STALL_MS`]), starts a replacement thread at the lowered normal priority of
/// [`crate::player::lower_priority`] and the idle one retires after its block (a 3-minute render with busy
/// loops on both cores: 2.9 s; 32 s without the replacement; 4.1 s with session 4's nice-10 meter threads). Each block is measured once and in order, whichever
/// thread takes it: a block is taken from the queue only while holding the meter.
struct MeterStage {
    meter: std::sync::Mutex<(LoudnessMeter, Result<(), crate::loudness::LoudnessError>)>,
    queue: std::sync::Mutex<(std::collections::VecDeque<std::sync::Arc<Vec<f32>>>, bool)>,
    ready: std::sync::Condvar,
    /// Where a block goes when its last meter is done with it.
    free: std::sync::Mutex<std::sync::mpsc::Sender<Vec<f32>>>,
    /// The idle-priority thread and, once it fell behind, its replacement.
    threads: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Set when the idle thread is replaced: it ends after its block.
    replaced: std::sync::atomic::AtomicBool,
    /// When the idle thread last measured a block, in ms since `epoch`.
    idle_done_ms: std::sync::atomic::AtomicU64,
    epoch: std::time::Instant,
}

impl MeterStage {
    /// A stage for `meter` with its idle-priority thread (none when `spawn_thread` is false: the tests'
    /// starved meter).
    fn new(
        meter: LoudnessMeter,
        free: std::sync::mpsc::Sender<Vec<f32>>,
        spawn_thread: bool,
    ) -> std::sync::Arc<Self> {
        let stage = std::sync::Arc::new(Self {
            meter: std::sync::Mutex::new((meter, Ok(()))),
            queue: Default::default(),
            ready: Default::default(),
            free: std::sync::Mutex::new(free),
            threads: Default::default(),
            replaced: Default::default(),
            idle_done_ms: Default::default(),
            epoch: std::time::Instant::now(),
        });
        if spawn_thread {
            stage.start(true);
        }
        stage
    }

    fn spawn(
        meter: LoudnessMeter,
        free: std::sync::mpsc::Sender<Vec<f32>>,
    ) -> std::sync::Arc<Self> {
        Self::new(meter, free, true)
    }

    /// Starts a meter thread, at idle priority or at the lowered normal one.
    fn start(self: &std::sync::Arc<Self>, idle: bool) {
        let s = self.clone();
        let handle = std::thread::spawn(move || {
            if idle {
                crate::player::idle_priority();
            } else {
                crate::player::lower_priority();
            }
            s.run(idle);
        });
        lock(&self.threads).push(handle);
    }

    /// Measures the oldest queued block; false when there was none.
    fn measure_next(&self) -> bool {
        let mut m = lock(&self.meter);
        let Some(block) = lock(&self.queue).0.pop_front() else {
            return false;
        };
        if m.1.is_ok() {
            m.1 = m.0.add_interleaved_stereo(&block);
        }
        drop(m);
        if let Ok(v) = std::sync::Arc::try_unwrap(block) {
            let _ = lock(&self.free).send(v);
        }
        true
    }

    /// Queues a block. When the meter is more than [`METER_QUEUE_BLOCKS`] behind: a replacement for the idle
    /// thread if it is stalled; then measures on this thread until the meter is not behind.
    fn push(self: &std::sync::Arc<Self>, block: std::sync::Arc<Vec<f32>>) {
        lock(&self.queue).0.push_back(block);
        self.ready.notify_all();
        if lock(&self.queue).0.len() > METER_QUEUE_BLOCKS
            && self.idle_stalled()
            && !self
                .replaced
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            && !lock(&self.threads).is_empty()
        {
            self.start(false);
        }
        while lock(&self.queue).0.len() > METER_QUEUE_BLOCKS && self.measure_next() {}
    }

    /// Whether the idle thread has measured nothing for [`METER_STALL_MS`]: starved by other work rather than
    /// only behind (a block takes it a few milliseconds when it runs).
    fn idle_stalled(&self) -> bool {
        let now = self.epoch.elapsed().as_millis() as u64;
        now.saturating_sub(self.idle_done_ms.load(std::sync::atomic::Ordering::Relaxed))
            > METER_STALL_MS
    }

    /// No more blocks: the thread measures what is queued and ends.
    fn close(&self) {
        lock(&self.queue).1 = true;
        self.ready.notify_all();
    }

    /// A meter thread: measures queued blocks until the stage is closed and empty (the idle one: or until it
    /// has been replaced).
    fn run(&self, idle: bool) {
        loop {
            {
                let mut q = lock(&self.queue);
                while q.0.is_empty() && !q.1 {
                    q = self
                        .ready
                        .wait(q)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                if q.0.is_empty() {
                    return;
                }
            }
            if idle && self.replaced.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            if self.measure_next() && idle {
                let now = self.epoch.elapsed().as_millis() as u64;
                self.idle_done_ms
                    .store(now, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Closes the stage (if the writer could not), waits for its threads, measures anything left and reports.
    fn finish(&self) -> Result<LoudnessReport> {
        self.close();
        let threads = std::mem::take(&mut *lock(&self.threads));
        for t in threads {
            t.join()
                .map_err(|_| anyhow::anyhow!("loudness meter failed"))?;
        }
        while self.measure_next() {}
        let mut m = lock(&self.meter);
        std::mem::replace(&mut m.1, Ok(()))?;
        Ok(m.0.report())
    }
}

/// Locks, taking the data of a mutex whose holder panicked (the panic itself is reported where it happened).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::wav_fast::BulkWavWriter;
    use std::io::Cursor;
    use std::sync::mpsc::channel;

    /// The neighbours of a finite, non-zero `x` (in magnitude: one ulp towards and away from zero).
    fn neighbours(x: f32) -> [f32; 2] {
        [
            f32::from_bits(x.to_bits() - 1),
            f32::from_bits(x.to_bits() + 1),
        ]
    }

    /// Test signal: noise over the whole range and beyond, exact halves, clipping values, non-finite.
    fn signal() -> Vec<f32> {
        let mut v = Vec::new();
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.4);
        }
        for k in -300..300 {
            // exact half-LSB points at both depths, and their neighbours
            for s in [8_388_608.0f32, 32_768.0] {
                let h = (k as f32 + 0.5) / s;
                v.push(h);
                v.extend(neighbours(h));
            }
        }
        v.extend([
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.5,
            -1.5,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
        ]);
        if v.len() % 2 == 1 {
            v.push(0.25);
        }
        v
    }

    fn spec(bits: Bits) -> hound::WavSpec {
        hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: match bits {
                Bits::Int16 => 16,
                Bits::Int24 => 24,
                Bits::Float32 => 32,
            },
            sample_format: match bits {
                Bits::Float32 => hound::SampleFormat::Float,
                _ => hound::SampleFormat::Int,
            },
        }
    }

    /// The reference: hound writing sample by sample, quantised with `f32::round` (the former writer).
    fn with_hound(bits: Bits, x: &[f32]) -> (Vec<u8>, Vec<f32>) {
        let mut cur = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cur, spec(bits)).unwrap();
        let mut dither = Tpdf(0x9E37_79B9_7F4A_7C15);
        let mut q = Vec::new();
        for &x in x {
            match bits {
                Bits::Float32 => {
                    w.write_sample(x).unwrap();
                    q.push(x);
                }
                Bits::Int24 => {
                    const S: f32 = 8_388_608.0;
                    let v = (x * S).round().clamp(-S, S - 1.0) as i32;
                    w.write_sample(v).unwrap();
                    q.push(v as f32 / S);
                }
                Bits::Int16 => {
                    const S: f32 = 32_768.0;
                    let v = (x * S + dither.next()).round().clamp(-S, S - 1.0) as i16;
                    w.write_sample(v).unwrap();
                    q.push(v as f32 / S);
                }
            }
        }
        w.finalize().unwrap();
        (cur.into_inner(), q)
    }

    /// 24 blocks of 4 800 stereo frames: tones whose frequency and level change at every block boundary (so
    /// the meters' filters and the true-peak interpolator see a different signal if blocks are reordered).
    fn meter_blocks() -> Vec<Vec<f32>> {
        (0..24)
            .map(|b| {
                let (f, a) = (100.0 + 350.0 * b as f32, 0.2 + 0.03 * (b % 7) as f32);
                (0..4_800)
                    .flat_map(|i| {
                        let x =
                            a * (std::f32::consts::TAU * f * i as f32 / 48_000.0 + b as f32).sin();
                        [x, -0.7 * x]
                    })
                    .collect()
            })
            .collect()
    }

    /// The report of one meter fed the blocks in order on this thread.
    fn direct_report(blocks: &[Vec<f32>]) -> LoudnessReport {
        let mut m = LoudnessMeter::new(48_000, &[Channel::Left, Channel::Right]).unwrap();
        for b in blocks {
            m.add_interleaved_stereo(b).unwrap();
        }
        m.finish()
    }

    fn stage_meter() -> LoudnessMeter {
        LoudnessMeter::new(48_000, &[Channel::Left, Channel::Right]).unwrap()
    }

    /// The cutter keeps the frames past the latency and ends the tail on the frame a plain frame-by-frame
    /// count gives, whatever the pieces it is handed (its one-pass path covers frames no tail end can fall in).
    #[test]
    fn the_cutter_ends_where_a_frame_by_frame_count_does() {
        let (latency, main, quiet_needed, threshold) = (37u64, 5_000u64, 300u64, 0.01f32);
        // loud, then quiet from `q` on, with or without loud blips past the end (the quiet run restarts);
        // quiet from 4,900 on, the run that ends the tail starts before the end of the range
        let n = 9_000;
        let signal = |q: usize, blips: bool| -> Vec<(f32, f32)> {
            (0..n)
                .map(|i| {
                    let x = ((i * 7919) % 1000) as f32 / 1000.0 - 0.5;
                    if i < q || (blips && i == 5_200) {
                        (x, -x)
                    } else if blips && i == 5_150 {
                        (f32::NAN, 0.0) // counts as loud, as `!(x < threshold)`
                    } else {
                        (x * 1e-3, 0.0)
                    }
                })
                .collect()
        };
        let cases = [
            (4_990, true, true),
            (4_900, false, true),
            (4_990, true, false),
        ];
        for (q, blips, tail) in cases {
            let sig = signal(q, blips);
            // reference: frame by frame
            let mut want = Vec::new();
            let (mut quiet, mut written) = (0u64, 0u64);
            for (i, &(l, r)) in sig.iter().enumerate() {
                if (i as u64) < latency {
                    continue;
                }
                if !tail && written == main {
                    break;
                }
                want.extend([l, r]);
                written += 1;
                quiet = if l.abs().max(r.abs()) < threshold {
                    quiet + 1
                } else {
                    0
                };
                if tail && written > main && quiet >= quiet_needed {
                    break;
                }
            }
            assert!(
                want.len() / 2 > main as usize || !tail,
                "the tail ended early"
            );
            let case = format!("quiet from {q}, blips {blips}, tail {tail}");
            for piece in [1, 7, 512, 3_000] {
                let mut cut = Cutter {
                    latency,
                    main,
                    tail,
                    max_tail: 20_000,
                    quiet_needed,
                    threshold,
                    processed: 0,
                    written: 0,
                    quiet: 0,
                    inter: vec![0.0; 2 * 512],
                };
                let mut got: Vec<f32> = Vec::new();
                for c in sig.chunks(piece) {
                    let (l, r): (Vec<f32>, Vec<f32>) = c.iter().copied().unzip();
                    let done = cut
                        .take(&l, &r, &mut |b: &[f32]| {
                            got.extend_from_slice(b);
                            Ok(())
                        })
                        .unwrap();
                    if done {
                        break;
                    }
                }
                assert_eq!(got.len(), want.len(), "{case}, pieces of {piece}");
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert!(bits(&got) == bits(&want), "{case}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn a_meter_stage_measures_every_block_once_in_order() {
        let blocks = meter_blocks();
        let want = direct_report(&blocks);
        // (the report tells two blocks swapped, or one measured twice, from the right order)
        let mut swapped = blocks.clone();
        swapped.swap(5, 6);
        assert_ne!(direct_report(&swapped), want);
        let mut twice = blocks.clone();
        twice.insert(5, blocks[5].clone());
        assert_ne!(direct_report(&twice), want);
        // with its idle-priority thread
        let (tx, rx) = channel();
        let stage = MeterStage::new(stage_meter(), tx, true);
        for b in &blocks {
            stage.push(std::sync::Arc::new(b.clone()));
        }
        stage.close();
        assert_eq!(stage.finish().unwrap(), want);
        // every block came back for reuse once its meter was done with it
        assert_eq!(rx.try_iter().count(), blocks.len());
        // a meter whose thread never runs: the pusher measures whatever is more than the queue's length
        // behind, the rest at the end
        let (tx, _rx) = channel();
        let stage = MeterStage::new(stage_meter(), tx, false);
        for b in &blocks {
            stage.push(std::sync::Arc::new(b.clone()));
            assert!(lock(&stage.queue).0.len() <= METER_QUEUE_BLOCKS);
        }
        stage.close();
        assert_eq!(stage.finish().unwrap(), want);
    }

    #[test]
    fn a_stalled_idle_meter_is_replaced_without_losing_or_reordering_blocks() {
        let blocks = meter_blocks();
        let want = direct_report(&blocks);
        let (tx, _rx) = channel();
        let stage = MeterStage::new(stage_meter(), tx, true);
        // hold the meter: its idle thread cannot measure anything, as if starved by other work
        let held = lock(&stage.meter);
        std::thread::sleep(std::time::Duration::from_millis(2 * METER_STALL_MS));
        let pusher = {
            let (stage, blocks) = (stage.clone(), blocks.clone());
            std::thread::spawn(move || {
                for b in blocks {
                    stage.push(std::sync::Arc::new(b));
                }
            })
        };
        while lock(&stage.queue).0.len() <= METER_QUEUE_BLOCKS {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        assert!(stage.replaced.load(std::sync::atomic::Ordering::Relaxed));
        drop(held);
        pusher.join().unwrap();
        assert_eq!(
            lock(&stage.threads).len(),
            2,
            "the idle thread and its replacement"
        );
        stage.close();
        assert_eq!(stage.finish().unwrap(), want);
    }

    #[test]
    fn bulk_writer_is_byte_identical_to_hound() {
        let x = signal();
        for bits in [Bits::Int16, Bits::Int24, Bits::Float32] {
            let (want, want_q) = with_hound(bits, &x);
            // uneven block sizes, as the render pipeline sends them
            let mut w = BulkWavWriter::new(Cursor::new(Vec::new()), spec(bits)).unwrap();
            let mut q = Quantiser::new(bits);
            let mut got_q = Vec::new();
            let mut bytes = Vec::new();
            for block in x.chunks(2 * 777) {
                let mut b = block.to_vec();
                bytes.clear();
                q.run(&mut b, &mut bytes);
                w.write_data(&bytes).unwrap();
                got_q.extend_from_slice(&b);
            }
            let got = w.finalize().unwrap().into_inner();
            assert_eq!(got.len(), want.len(), "{bits:?}: file length");
            assert!(got == want, "{bits:?}: bytes differ from hound's");
            for (i, (a, b)) in got_q.iter().zip(&want_q).enumerate() {
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{bits:?}: measured value {i}: {a} vs {b}"
                );
            }
            // and hound reads it back
            let r = hound::WavReader::new(Cursor::new(got)).unwrap();
            assert_eq!(r.len() as usize, x.len());
        }
    }

    #[test]
    fn bulk_writer_refuses_a_partial_frame() {
        let mut w = BulkWavWriter::new(Cursor::new(Vec::new()), spec(Bits::Int24)).unwrap();
        w.write_data(&[0; 9]).unwrap();
        assert!(w.finalize().is_err());
    }

    #[test]
    fn round_clamp_equals_round_then_clamp() {
        let mut x = 0x0bad_cafe_u32;
        let mut check = |y: f32| {
            let want = y.round().clamp(-8_388_608.0, 8_388_607.0) as i32;
            assert_eq!(round_clamp(y, -8_388_608.0, 8_388_607.0), want, "{y:e}");
        };
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            check(f32::from_bits(x)); // every exponent, NaN and inf included
        }
        for k in -100_000..100_000 {
            let h = k as f32 + 0.5;
            check(h);
            neighbours(h).into_iter().for_each(&mut check);
        }
    }
}
