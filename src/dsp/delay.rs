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
//! the rest of a block runs in chunks no longer than the shortest read distance (the delay time, one frame less
//! for the Hermite read; at most 256 frames of stack scratch), so every read of a chunk precedes the writes that
//! could reach it: first all the chunk's line reads (the outputs; a vectorised Hermite over the contiguous ring
//! run), then one loop that runs the feedback high-pass and low-pass as a skewed pipeline (the high-pass on frame
//! t while the low-pass does frame t − 1, both channels' f64 states in SSE2 lanes on x86_64, so the two
//! recurrences overlap instead of waiting on each other) and writes each line input behind them. Every frame
//! does the per-sample path's operations in the same order, so the output is bit-identical to it and does not
//! depend on the block split. Measured on a 10 s render in 32 768-frame blocks: 500 ms (whole-frame read)
//! 9.3 → 7.8 ns/frame, a fractional ping-pong time 14.1 → 8.4 ns/frame (best of 15; callgrind 127 → 120 and
//! 175 → 134 instructions per frame).

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
    /// reads (the outputs) first, then one loop that runs the two feedback filter sections as a skewed pipeline
    /// and writes the line inputs behind them. Every frame does [`Delay::tick`]'s operations in the same order
    /// (same read, the same f64 filter arithmetic per lane with no f32 rounding between the sections, the shared
    /// [`line_input`]), so the output is the same bit for bit whatever the block split.
    #[inline(always)]
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
        for (l, r) in left.chunks_mut(span).zip(right.chunks_mut(span)) {
            let n = l.len().min(r.len());
            let ys = &mut ys[..n];
            read_chunk(line, mask, write, d, ys);
            filter_and_write(
                &mut self.st,
                (&self.hp, &self.lp),
                (fb, p),
                (line, mask, write),
                ys,
                (&mut l[..n], &mut r[..n]),
            );
            write = write.wrapping_add(n);
        }
        self.write = write;
    }
}

/// Longest chunk of the steady loop (its stack scratch holds one chunk of stereo frames, 2 KiB).
const CHUNK: usize = 256;

/// The line reads of `ys.len()` consecutive frames starting at `write` (the same values as [`read`] per
/// frame). Where the frames' read window does not wrap around the ring (nearly always) the interleaved samples
/// are one contiguous run and the Hermite interpolation runs over it lane by lane (vectorised, the same f32
/// operations per sample).
#[inline(always)]
fn read_chunk(line: &[[f32; 2]], mask: usize, write: usize, d: f32, ys: &mut [[f32; 2]]) {
    let n = ys.len();
    let di = d as usize;
    let t = d - di as f32;
    // oldest slot of frame 0's Hermite window (base − 2)
    let r0 = write.wrapping_sub(di).wrapping_sub(2) & mask;
    if r0 + n + 3 > line.len() {
        for (j, y) in ys.iter_mut().enumerate() {
            *y = read(line, mask, write.wrapping_add(j), d);
        }
        return;
    }
    // frame j: slots r0 + j (base − 2) … r0 + j + 3 (base + 1); sample k of frame j at 2·(r0 + j) + k
    let src = line[r0..r0 + n + 3].as_flattened();
    let out = ys.as_flattened_mut();
    let m = out.len();
    if t == 0.0 {
        out.copy_from_slice(&src[4..4 + m]);
    } else {
        let (e, c, b, a) = (&src[..m], &src[2..2 + m], &src[4..4 + m], &src[6..6 + m]);
        for (o, (((&a, &b), &c), &e)) in out.iter_mut().zip(a.iter().zip(b).zip(c).zip(e)) {
            *o = hermite(a, b, c, e, t);
        }
    }
}

/// The feedback filters (high-pass `st[0]`, then low-pass `st[1]`, f64 without rounding between them) over
/// the line outputs `ys` of a chunk, the line inputs written from them and the input frames `x`, and `x`
/// replaced by `ys`. A silent frame (`y == 0` in both channels) flushes the filter states before that frame, as
/// in [`Delay::tick`]. On x86_64 a skewed pipeline with both channels in SSE2 lanes: at step t the high-pass
/// works on frame t and the low-pass on frame t − 1, so the two sections' recurrences overlap instead of waiting
/// on each other (and the line write of frame t − 1 fills the gaps); each section still sees the same inputs and
/// flushes at the same frames, so the result is bit-identical.
#[inline(always)]
fn filter_and_write(
    st: &mut [[SvfState; 2]; 2],
    (hp, lp): (&SvfCoefs, &SvfCoefs),
    (fb, p): (f32, f32),
    (line, mask, write): (&mut [[f32; 2]], usize, usize),
    ys: &[[f32; 2]],
    (xl, xr): (&mut [f32], &mut [f32]),
) {
    let n = ys.len().min(xl.len()).min(xr.len());
    if n == 0 {
        return;
    }
    let (ys, xl, xr) = (&ys[..n], &mut xl[..n], &mut xr[..n]);
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
        // the low-pass on frame j, then frame j's line input and output
        let mut finish = |sl: &mut State2, h, j: usize, z: bool| {
            if z {
                flush(sl);
            }
            let (fl, fr) = frame_out(sl.tick(&kl, h));
            line[write.wrapping_add(j) & mask] = line_input([xl[j], xr[j]], [fl, fr], fb, p);
            (xl[j], xr[j]) = (ys[j][0], ys[j][1]);
        };
        // step 0: the high-pass alone on frame 0
        let silent = |y: [f32; 2]| y[0] == 0.0 && y[1] == 0.0;
        let mut zprev = silent(ys[0]);
        if zprev {
            flush(&mut sh);
        }
        let mut h = sh.tick(&kh, frame_in(ys[0][0], ys[0][1]));
        // step t: low-pass on frame t − 1, high-pass on frame t
        for (t, &y) in ys.iter().enumerate().skip(1) {
            finish(&mut sl, h, t - 1, zprev);
            let z = silent(y);
            if z {
                flush(&mut sh);
            }
            h = sh.tick(&kh, frame_in(y[0], y[1]));
            zprev = z;
        }
        // step n: the low-pass alone on frame n − 1
        finish(&mut sl, h, n - 1, zprev);
        sh.store(&mut st[0]);
        sl.store(&mut st[1]);
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let (hp, lp) = (*hp, *lp);
        for (j, y) in ys.iter().enumerate().take(n) {
            if *y == [0.0; 2] {
                for s in st.iter_mut().flatten() {
                    s.flush();
                }
            }
            let h = tick_stereo(&mut st[0], &hp, [y[0] as f64, y[1] as f64]);
            let v = tick_stereo(&mut st[1], &lp, h);
            let f = [v[0] as f32, v[1] as f32];
            line[write.wrapping_add(j) & mask] = line_input([xl[j], xr[j]], f, fb, p);
            (xl[j], xr[j]) = (y[0], y[1]);
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

    /// Replaces the block with the wet (echo) signal; silence while bypassed. Compiled for AVX2 where the CPU
    /// has it (the same operations; no fused multiply-adds).
    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        super::process_avx2_where_present(self, left, right)
    }
}

impl super::Avx2Build for Delay {
    #[inline(always)]
    fn process_in(&mut self, left: &mut [f32], right: &mut [f32]) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::test_noise;

    /// [`Delay::process`] without the steady path: every frame through [`Delay::tick`].
    fn process_per_sample(d: &mut Delay, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        if n == 0 {
            return;
        }
        d.fresh = false;
        for i in 0..n {
            if d.bypass.is_off() {
                d.go_idle();
                left[i..n].fill(0.0);
                right[i..n].fill(0.0);
                return;
            }
            d.cleared = false;
            let (yl, yr) = d.tick(left[i], right[i]);
            if d.bypass.is_fully_on() {
                (left[i], right[i]) = (yl, yr);
            } else {
                let m = d.bypass.tick();
                (left[i], right[i]) = (m * yl, m * yr);
            }
        }
    }

    /// Parameter changes applied before the block that starts at the given frame.
    type Setup = fn(&mut Delay, usize);

    /// The chunked steady path against the per-sample path, bit for bit, over long noise (with silent
    /// stretches, so the lines fall silent and the loop filters get flushed) in several block sizes.
    #[test]
    fn steady_chunks_match_per_sample_bit_for_bit() {
        let setups: [(&str, Setup); 7] = [
            ("whole 1000, cuts, fb 0.9", |d, at| {
                if at == 0 {
                    d.set_time_frames(1000.0);
                    d.set_feedback(0.9);
                    d.set_low_cut_hz(200.0);
                    d.set_high_cut_hz(3000.0);
                }
            }),
            ("fractional 733.4, ping-pong, fb 0.95", |d, at| {
                if at == 0 {
                    d.set_time_frames(733.4);
                    d.set_feedback(0.95);
                    d.set_ping_pong(true);
                }
            }),
            ("1 ms, ping-pong, fb 0.9", |d, at| {
                if at == 0 {
                    d.set_time_ms(1.0);
                    d.set_feedback(0.9);
                    d.set_ping_pong(true);
                }
            }),
            ("fractional 2.5", |d, at| {
                if at == 0 {
                    d.set_time_frames(2.5);
                    d.set_feedback(0.8);
                }
            }),
            ("whole 2, ping-pong", |d, at| {
                if at == 0 {
                    d.set_time_frames(2.0);
                    d.set_feedback(0.8);
                    d.set_ping_pong(true);
                }
            }),
            (
                "fractional 100.5, fb 0.1, low cut 8 kHz (silent lines, flushes)",
                |d, at| {
                    if at == 0 {
                        d.set_time_frames(100.5);
                        d.set_feedback(0.1);
                        d.set_low_cut_hz(8000.0);
                    }
                },
            ),
            ("changes mid-stream", |d, at| match at {
                0 => {
                    d.set_time_frames(500.0);
                    d.set_feedback(0.7);
                }
                20_000..=24_999 => {
                    d.set_time_frames(1500.25);
                    d.set_ping_pong(true);
                }
                35_000..=39_999 => {
                    d.set_low_cut_hz(300.0);
                    d.set_high_cut_hz(2000.0);
                    d.set_feedback(0.95);
                }
                45_000..=49_999 => {
                    d.set_time_ms(1.0);
                    d.set_ping_pong(false);
                }
                50_000..=54_999 => d.set_enabled(false),
                55_000..=59_999 => {
                    d.set_enabled(true);
                    d.set_time_frames(47.7);
                }
                _ => {}
            }),
        ];
        let n = 72_000;
        let (mut src_l, mut src_r) = (test_noise(7, n, 0.5), test_noise(8, n, 0.5));
        for i in (0..n).filter(|i| (i / 6000) % 3 == 2) {
            (src_l[i], src_r[i]) = (0.0, 0.0);
        }
        for (name, setup) in setups {
            for block in [1, 37, 64, 1000, 5000] {
                let (mut a, mut b) = (Delay::new(48_000.0), Delay::new(48_000.0));
                a.set_enabled(true);
                b.set_enabled(true);
                let (mut al, mut ar) = (src_l.clone(), src_r.clone());
                let (mut bl, mut br) = (src_l.clone(), src_r.clone());
                let mut at = 0;
                while at < n {
                    let m = block.min(n - at);
                    // the same setter calls on both, at the block start (every block size starts a block in
                    // each 5000-frame range of `setup`)
                    setup(&mut a, at);
                    setup(&mut b, at);
                    a.process(&mut al[at..at + m], &mut ar[at..at + m]);
                    process_per_sample(&mut b, &mut bl[at..at + m], &mut br[at..at + m]);
                    // the filter states too: a missed flush changes them long before it reaches the output
                    assert!(
                        a.st == b.st,
                        "{name}, blocks of {block}: filter states differ at frame {at}"
                    );
                    at += m;
                }
                assert!(
                    a.write == b.write && a.lines == b.lines,
                    "{name}, blocks of {block}: lines differ"
                );
                for i in 0..n {
                    assert!(
                        al[i].to_bits() == bl[i].to_bits() && ar[i].to_bits() == br[i].to_bits(),
                        "{name}, blocks of {block}: frame {i} differs: ({}, {}) vs ({}, {})",
                        al[i],
                        ar[i],
                        bl[i],
                        br[i]
                    );
                }
                assert!(al.iter().any(|&v| v != 0.0), "{name}: silent output");
            }
        }
    }
}
