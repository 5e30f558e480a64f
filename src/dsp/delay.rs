//! Runs on the audio thread: stereo delay (100 % wet output) with feedback, low/high cut inside the feedback
//! loop and ping-pong.
//!
//! Signal flow per channel: `out = line(n − d)`; the feedback taken from `out` passes a 12 dB/oct high-pass
//! (low cut) and low-pass (high cut) before being added to the input written into the line, so the first echo is
//! the untouched input and every repeat is filtered once more. When `time·fs` is an integer the read is a plain
//! integer-sample read (the echo lands exactly on that sample); otherwise a 4-point Hermite interpolation reads
//! between samples. Time changes ramp the read position over 100 ms (a tape-like glide). Ping-pong feeds the
//! mono sum into the left line and crosses the feedback (L → R → L), so repeats alternate sides; it is a
//! smoothed 0…1 blend with the straight stereo routing, so switching it does not click. Bypass fades the output
//! to silence (the caller mixes the dry signal) and then clears the lines.
//!
//! The two lines are one interleaved ring of stereo frames. While nothing ramps and the bypass is fully on,
//! the rest of a block runs in a loop with the parameters and the filter states in locals (both channels'
//! f64 filters in SSE2 lanes on x86_64); it does the per-sample path's operations in the same order, so the
//! output does not depend on the block split.

use super::smoother::{Bypass, Smoother, PARAM_RAMP_MS};
use super::svf::{tick_stereo, SvfCoefs, SvfKind, SvfState};
use super::util::flush_denormal_f32;
use super::StereoProcessor;

/// Longest delay time in ms (the lines are allocated for it in `new`).
pub const MAX_DELAY_MS: f32 = 4000.0;
/// Ramp length for delay-time changes.
pub const TIME_RAMP_MS: f32 = 100.0;

/// Duration in ms of `note_fraction` of a whole note at `bpm` quarter notes per minute: a whole note lasts
/// 4 beats, so `note_to_ms(120.0, 0.25)` (a quarter) is 500 ms; dotted notes are ×1.5, triplets ×2/3.
pub fn note_to_ms(bpm: f32, note_fraction: f32) -> f32 {
    240_000.0 / bpm.max(1e-3) * note_fraction
}

/// 4-point, 3rd-order Hermite interpolation between `x0` and `x1` at `t` ∈ [0, 1); exactly `x0` at `t = 0`.
#[inline(always)]
fn hermite(xm1: f32, x0: f32, x1: f32, x2: f32, t: f32) -> f32 {
    let c1 = 0.5 * (x1 - xm1);
    let c2 = xm1 - 2.5 * x0 + 2.0 * x1 - 0.5 * x2;
    let c3 = 0.5 * (x2 - xm1) + 1.5 * (x0 - x1);
    ((c3 * t + c2) * t + c1) * t + x0
}

/// Line read `d` frames back from `write` in the interleaved stereo ring (`d ≥ 2`): a plain read when `d` is
/// whole, Hermite between samples otherwise.
#[inline(always)]
fn read(line: &[[f32; 2]], mask: usize, write: usize, d: f32) -> [f32; 2] {
    let di = d as usize;
    let t = d - di as f32;
    let base = write.wrapping_sub(di);
    if t == 0.0 {
        line[base & mask]
    } else {
        let (a, b) = (line[base.wrapping_add(1) & mask], line[base & mask]);
        let (c, e) = (
            line[base.wrapping_sub(1) & mask],
            line[base.wrapping_sub(2) & mask],
        );
        [
            hermite(a[0], b[0], c[0], e[0], t),
            hermite(a[1], b[1], c[1], e[1], t),
        ]
    }
}

/// The frame written into the lines from the input `x` and the filtered feedback `f`, with feedback `fb` and
/// ping-pong amount `p` (shared by the per-sample and the steady-state paths, so both give the same bits).
#[inline(always)]
fn line_input(x: [f32; 2], f: [f32; 2], fb: f32, p: f32) -> [f32; 2] {
    let ([xl, xr], [fl, fr]) = (x, f);
    let q = 1.0 - p;
    let in_l = q * xl + p * 0.5 * (xl + xr);
    let in_r = q * xr;
    let wl = in_l + fb * (q * fl + p * fr);
    let wr = in_r + fb * (q * fr + p * fl);
    [flush_denormal_f32(wl), flush_denormal_f32(wr)]
}

/// Stereo feedback delay.
pub struct Delay {
    fs: f64,
    bypass: Bypass,
    fresh: bool,
    /// Both channels' lines, interleaved (one frame per slot).
    lines: Vec<[f32; 2]>,
    mask: usize,
    write: usize,
    time_frames: Smoother,
    feedback: Smoother,
    ping_pong: Smoother,
    log2_low_cut: Smoother,
    log2_high_cut: Smoother,
    hp: SvfCoefs,
    lp: SvfCoefs,
    st: [[SvfState; 2]; 2],
    cleared: bool,
}

impl Delay {
    /// New delay: disabled, 500 ms, feedback 0.35, low cut 20 Hz, high cut 20 kHz (≤ 0.45·fs), no ping-pong.
    pub fn new(sample_rate_hz: f32) -> Self {
        let fs = sample_rate_hz as f64;
        let max_frames = (MAX_DELAY_MS as f64 * 1e-3 * fs).ceil() as usize + 4;
        let cap = max_frames.next_power_of_two();
        let mut d = Delay {
            fs,
            bypass: Bypass::new(sample_rate_hz),
            fresh: true,
            lines: vec![[0.0; 2]; cap],
            mask: cap - 1,
            write: 0,
            time_frames: Smoother::linear(sample_rate_hz, TIME_RAMP_MS, (0.5 * fs) as f32),
            feedback: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 0.35),
            ping_pong: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 0.0),
            log2_low_cut: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 20f32.log2()),
            log2_high_cut: Smoother::linear(
                sample_rate_hz,
                PARAM_RAMP_MS,
                (20_000f32.min(0.45 * sample_rate_hz)).log2(),
            ),
            hp: SvfCoefs::IDENTITY,
            lp: SvfCoefs::IDENTITY,
            st: [[SvfState::default(); 2]; 2],
            cleared: true,
        };
        d.update_filters();
        d
    }

    fn immediate(&self) -> bool {
        self.fresh || self.bypass.is_off()
    }

    fn update_filters(&mut self) {
        let q = std::f64::consts::FRAC_1_SQRT_2;
        self.hp = SvfCoefs::new(
            SvfKind::HighPass,
            self.fs,
            self.log2_low_cut.value().exp2() as f64,
            q,
            0.0,
        );
        self.lp = SvfCoefs::new(
            SvfKind::LowPass,
            self.fs,
            self.log2_high_cut.value().exp2() as f64,
            q,
            0.0,
        );
    }

    /// Sets the delay time in ms (1 ms … [`MAX_DELAY_MS`]); see [`note_to_ms`] for tempo-synced values.
    pub fn set_time_ms(&mut self, time_ms: f32) {
        let imm = self.immediate();
        let frames = (time_ms.clamp(1.0, MAX_DELAY_MS) as f64 * self.fs / 1000.0) as f32;
        self.time_frames.set(frames, imm);
    }

    /// Sets the delay time directly in frames (2 … max), e.g. for sample-exact tests.
    pub fn set_time_frames(&mut self, frames: f32) {
        let imm = self.immediate();
        let max = (MAX_DELAY_MS as f64 * self.fs / 1000.0) as f32;
        self.time_frames.set(frames.clamp(2.0, max), imm);
    }

    /// Sets the feedback amount: the linear gain of each repeat relative to the previous one (0 … 0.99) in the
    /// pass band of the cut filters.
    pub fn set_feedback(&mut self, feedback: f32) {
        let imm = self.immediate();
        self.feedback.set(feedback.clamp(0.0, 0.99), imm);
    }

    /// Sets the low cut (high-pass in the feedback path) corner in Hz (10 Hz … 0.45·fs).
    pub fn set_low_cut_hz(&mut self, freq_hz: f32) {
        let imm = self.immediate();
        self.log2_low_cut
            .set(freq_hz.clamp(10.0, 0.45 * self.fs as f32).log2(), imm);
        if imm {
            self.update_filters();
        }
    }

    /// Sets the high cut (low-pass in the feedback path) corner in Hz (100 Hz … 0.45·fs).
    pub fn set_high_cut_hz(&mut self, freq_hz: f32) {
        let imm = self.immediate();
        self.log2_high_cut
            .set(freq_hz.clamp(100.0, 0.45 * self.fs as f32).log2(), imm);
        if imm {
            self.update_filters();
        }
    }

    /// Switches ping-pong (repeats alternate left/right, starting left) on or off.
    pub fn set_ping_pong(&mut self, on: bool) {
        let imm = self.immediate();
        self.ping_pong.set(if on { 1.0 } else { 0.0 }, imm);
    }

    fn go_idle(&mut self) {
        if !self.cleared {
            self.lines.fill([0.0; 2]);
            self.st = [[SvfState::default(); 2]; 2];
            self.cleared = true;
        }
        self.time_frames.snap_to_target();
        self.feedback.snap_to_target();
        self.ping_pong.snap_to_target();
        self.log2_low_cut.snap_to_target();
        self.log2_high_cut.snap_to_target();
        self.update_filters();
    }

    #[inline(always)]
    fn tick(&mut self, xl: f32, xr: f32) -> (f32, f32) {
        let d = self.time_frames.tick();
        let fb = self.feedback.tick();
        let p = self.ping_pong.tick();
        if !(self.log2_low_cut.is_settled() && self.log2_high_cut.is_settled()) {
            self.log2_low_cut.tick();
            self.log2_high_cut.tick();
            self.update_filters();
        }
        let y = read(&self.lines, self.mask, self.write, d);
        if y == [0.0; 2] {
            // Silence in the lines: keep the loop filters out of the denormal range (per frame).
            for s in self.st.iter_mut().flatten() {
                s.flush();
            }
        }
        let h = tick_stereo(&mut self.st[0], &self.hp, [y[0] as f64, y[1] as f64]);
        let f = tick_stereo(&mut self.st[1], &self.lp, h);
        let w = line_input([xl, xr], [f[0] as f32, f[1] as f32], fb, p);
        self.lines[self.write & self.mask] = w;
        self.write = self.write.wrapping_add(1);
        (y[0], y[1])
    }

    /// Nothing ramping or gliding.
    fn settled(&self) -> bool {
        self.time_frames.is_settled()
            && self.feedback.is_settled()
            && self.ping_pong.is_settled()
            && self.log2_low_cut.is_settled()
            && self.log2_high_cut.is_settled()
    }

    /// Steady state (bypass fully on, [`Delay::settled`]): the rest of the block in chunks no longer than the
    /// shortest read distance, so every line read of a chunk precedes the chunk's writes. Per chunk: all line
    /// reads (the outputs), then the two feedback filter sections over the chunk as a skewed pipeline, then the
    /// line inputs. Every frame does [`Delay::tick`]'s operations in the same order (same read, the same f64
    /// filter arithmetic per lane with no f32 rounding between the sections, the shared [`line_input`]), so the
    /// output is the same bit for bit whatever the block split.
    fn process_steady(&mut self, left: &mut [f32], right: &mut [f32]) {
        let (d, fb, p) = (
            self.time_frames.value(),
            self.feedback.value(),
            self.ping_pong.value(),
        );
        // Frame j of a chunk starting at `write` reads back to `write + j − di` (whole `d`) or
        // `write + j − di + 1` (Hermite: one frame newer); that must be older than `write`. The ring holds more
        // than the longest read distance, so no read in a chunk meets a slot written earlier in the chunk.
        let di = d as usize;
        let span = if d == di as f32 {
            di
        } else {
            di.saturating_sub(1)
        }
        .clamp(1, CHUNK);
        let (mask, mut write) = (self.mask, self.write);
        let line = &mut self.lines[..];
        let mut ys = [[0.0f32; 2]; CHUNK];
        let mut fs = [[0.0f32; 2]; CHUNK];
        for (l, r) in left.chunks_mut(span).zip(right.chunks_mut(span)) {
            let n = l.len().min(r.len());
            let (ys, fs) = (&mut ys[..n], &mut fs[..n]);
            for (j, y) in ys.iter_mut().enumerate() {
                *y = read(line, mask, write.wrapping_add(j), d);
            }
            feedback_filters(&mut self.st, &self.hp, &self.lp, ys, fs);
            for (j, ((l, r), (y, f))) in l
                .iter_mut()
                .zip(r.iter_mut())
                .zip(ys.iter().zip(fs.iter()))
                .enumerate()
            {
                line[write.wrapping_add(j) & mask] = line_input([*l, *r], *f, fb, p);
                (*l, *r) = (y[0], y[1]);
            }
            write = write.wrapping_add(n);
        }
        self.write = write;
    }
}

/// Longest chunk of the steady loop (its stack scratch holds two chunks of stereo frames, 4 KiB).
const CHUNK: usize = 256;

/// The feedback filters (high-pass `st[0]`/`hp`, then low-pass `st[1]`/`lp`, f64 without rounding between
/// them) over the line outputs `ys` of a chunk into `fs`; a silent frame (`y == 0` in both channels) flushes
/// the filter states before that frame, as in [`Delay::tick`]. On x86_64 a skewed pipeline with both channels in
/// SSE2 lanes: at step t the high-pass works on frame t and the low-pass on frame t − 1, so the two sections'
/// recurrences overlap instead of waiting on each other; each section still sees the same inputs and flushes at
/// the same frames, so the result is bit-identical.
#[inline(always)]
fn feedback_filters(
    st: &mut [[SvfState; 2]; 2],
    hp: &SvfCoefs,
    lp: &SvfCoefs,
    ys: &[[f32; 2]],
    fs: &mut [[f32; 2]],
) {
    let n = ys.len().min(fs.len());
    if n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use super::svf::stereo::{frame_in, frame_out, Coefs2, State2};
        #[inline(always)]
        fn flush(s: &mut State2) {
            let mut a = [SvfState::default(); 2];
            s.store(&mut a);
            a[0].flush();
            a[1].flush();
            *s = State2::load(&a);
        }
        let (kh, kl) = (Coefs2::new(hp), Coefs2::new(lp));
        let (mut sh, mut sl) = (State2::load(&st[0]), State2::load(&st[1]));
        // step 0: the high-pass alone on frame 0
        let mut zprev = ys[0] == [0.0; 2];
        if zprev {
            flush(&mut sh);
        }
        let mut h = sh.tick(&kh, frame_in(ys[0][0], ys[0][1]));
        // step t: low-pass on frame t − 1, high-pass on frame t
        for t in 1..n {
            let y = ys[t];
            let z = y == [0.0; 2];
            if zprev {
                flush(&mut sl);
            }
            let (fl, fr) = frame_out(sl.tick(&kl, h));
            fs[t - 1] = [fl, fr];
            if z {
                flush(&mut sh);
            }
            h = sh.tick(&kh, frame_in(y[0], y[1]));
            zprev = z;
        }
        // step n: the low-pass alone on frame n − 1
        if zprev {
            flush(&mut sl);
        }
        let (fl, fr) = frame_out(sl.tick(&kl, h));
        fs[n - 1] = [fl, fr];
        sh.store(&mut st[0]);
        sl.store(&mut st[1]);
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let (hp, lp) = (*hp, *lp);
        for (y, f) in ys.iter().zip(fs.iter_mut()) {
            if *y == [0.0; 2] {
                for s in st.iter_mut().flatten() {
                    s.flush();
                }
            }
            let h = tick_stereo(&mut st[0], &hp, [y[0] as f64, y[1] as f64]);
            let v = tick_stereo(&mut st[1], &lp, h);
            *f = [v[0] as f32, v[1] as f32];
        }
    }
}

impl StereoProcessor for Delay {
    fn set_enabled(&mut self, enabled: bool) {
        let imm = self.fresh;
        self.bypass.set_enabled(enabled, imm);
    }

    fn is_enabled(&self) -> bool {
        self.bypass.is_enabled()
    }

    fn reset(&mut self) {
        self.bypass.snap();
        self.cleared = false;
        self.go_idle();
        self.write = 0;
        self.fresh = true;
    }

    /// Replaces the block with the wet (echo) signal; silence while bypassed.
    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        if n == 0 {
            return;
        }
        self.fresh = false;
        for i in 0..n {
            if self.bypass.is_off() {
                self.go_idle();
                left[i..n].fill(0.0);
                right[i..n].fill(0.0);
                return;
            }
            self.cleared = false;
            if self.bypass.is_fully_on() && self.settled() {
                self.process_steady(&mut left[i..n], &mut right[i..n]);
                return;
            }
            let (yl, yr) = self.tick(left[i], right[i]);
            if self.bypass.is_fully_on() {
                left[i] = yl;
                right[i] = yr;
            } else {
                let m = self.bypass.tick();
                left[i] = m * yl;
                right[i] = m * yr;
            }
        }
    }
}
