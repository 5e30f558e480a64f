//! Runs on the audio thread: stereo algorithmic reverb (100 % wet output): pre-delay, four series Schroeder
//! all-pass input diffusers, and a 16-line feedback delay network with an orthogonal Hadamard mixing matrix.
//!
//! Decay: each line `i` of length `m_i` frames carries a one-pole absorption filter
//! `H_i(z) = g_i·(1 − b_i)/(1 − b_i z⁻¹)` (Jot & Chaigne) whose DC gain `g_i = 10^(−3·m_i/(fs·T60))` makes every
//! low-frequency mode decay by 60 dB in `T60` and whose Nyquist gain corresponds to `T60·(1 − 0.9·damping)`, so
//! damping shortens the high-frequency decay down to a tenth. The matrix is lossless (Hadamard / 4), so the
//! decay is set by the absorption filters only. Line lengths are 16 distinct primes (23 … 67 ms at size 1, at
//! 48 kHz), scaled by `size` (0.5 … 2). The two outputs take the line outputs with two orthogonal sign patterns,
//! so they are decorrelated; `width` scales the side signal. Size and pre-delay glide over 100 ms with linear
//! interpolation while moving and are whole-sample reads at rest; decay, damping and width ramp per sample;
//! coefficients are recomputed every 16 frames of a ramp (counted per processor, not per block). Bypass fades
//! the output to silence and then clears the network.

use super::smoother::{Bypass, Smoother, PARAM_RAMP_MS};
use super::StereoProcessor;

const LINES: usize = 16;
/// Line lengths in frames at 48 kHz and size 1 (distinct primes).
const BASE_LEN_48K: [f32; LINES] = [
    1117.0, 1361.0, 1601.0, 1877.0, 2153.0, 2441.0, 2749.0, 3061.0, 1231.0, 1471.0, 1733.0, 2011.0,
    2293.0, 2593.0, 2903.0, 3221.0,
];
const DIFFUSER_LEN_48K: [f32; 4] = [229.0, 173.0, 613.0, 449.0];
const DIFFUSER_GAIN: [f32; 4] = [0.75, 0.75, 0.625, 0.625];
/// Largest `size`.
pub const MAX_SIZE: f32 = 2.0;
/// Smallest `size`.
pub const MIN_SIZE: f32 = 0.5;
/// Longest pre-delay in ms.
pub const MAX_PRE_DELAY_MS: f32 = 250.0;
const GLIDE_MS: f32 = 100.0;
const COEF_EVERY: u64 = 16;
/// Frames per chunk of the steady-state path (its scratch is `CHUNK × LINES` floats, allocated in `new`).
const CHUNK: usize = 128;

/// Injection signs (row 0 of a Hadamard-like pattern mixed with alternation) and output tap signs.
const IN_SIGN: [f32; LINES] = [
    1., -1., 1., 1., -1., 1., -1., -1., 1., 1., -1., 1., 1., -1., -1., 1.,
];
const OUT_L: [f32; LINES] = [
    1., 1., -1., 1., 1., -1., 1., -1., -1., 1., 1., 1., -1., -1., 1., -1.,
];
const OUT_R: [f32; LINES] = [
    1., -1., 1., 1., -1., -1., -1., 1., 1., 1., -1., 1., -1., 1., 1., -1.,
];

/// In-place fast Walsh–Hadamard transform of 16 values, scaled by 1/4 (orthonormal).
#[inline(always)]
fn hadamard16(v: &mut [f32; LINES]) {
    let mut h = 1;
    while h < LINES {
        let mut i = 0;
        while i < LINES {
            for j in i..i + h {
                let (a, b) = (v[j], v[j + h]);
                v[j] = a + b;
                v[j + h] = a - b;
            }
            i += 2 * h;
        }
        h *= 2;
    }
    for x in v.iter_mut() {
        *x *= 0.25;
    }
}

/// Sum of 16 values as a fixed pairwise tree (halves, quarters, …), which maps onto SIMD lanes.
#[inline(always)]
fn sum16(p: &[f32; LINES]) -> f32 {
    let mut h = [0f32; 8];
    for j in 0..8 {
        h[j] = p[j] + p[j + 8];
    }
    let mut q = [0f32; 4];
    for j in 0..4 {
        q[j] = h[j] + h[j + 4];
    }
    (q[0] + q[2]) + (q[1] + q[3])
}

/// Coefficients of the network for one frame (constant over a steady run).
#[derive(Clone, Copy)]
struct FdnCoefs {
    a: [f32; LINES],
    b: [f32; LINES],
    width: f32,
}

/// One frame of the network after the line reads, shared by the per-sample and the steady-state paths so both
/// give the same bits: `v` holds the raw line outputs on entry and the values to write into the lines on exit
/// (absorption filters, output taps, Hadamard mixing, injection of the diffused input `x`, denormal flush).
#[inline(always)]
fn fdn_frame(v: &mut [f32; LINES], x: f32, c: &FdnCoefs, lp: &mut [f32; LINES]) -> (f32, f32) {
    for i in 0..LINES {
        let y = c.a[i] * v[i] + c.b[i] * lp[i];
        lp[i] = y;
        v[i] = y;
    }
    let mut pl = [0f32; LINES];
    let mut pr = [0f32; LINES];
    for i in 0..LINES {
        pl[i] = OUT_L[i] * v[i];
        pr[i] = OUT_R[i] * v[i];
    }
    let ol = sum16(&pl);
    let or = sum16(&pr);
    hadamard16(v);
    let inj = 0.25 * x;
    for i in 0..LINES {
        let s = v[i] + IN_SIGN[i] * inj;
        v[i] = if s.abs() < 1e-20 { 0.0 } else { s };
    }
    let mid = 0.5 * (ol + or) * 0.5;
    let side = 0.5 * (ol - or) * 0.5 * c.width;
    (mid + side, mid - side)
}

struct Diffuser {
    buf: Vec<f32>,
    pos: usize,
    gain: f32,
}

impl Diffuser {
    #[inline(always)]
    fn step(gain: f32, x: &mut f32, slot: &mut f32) {
        let d = *slot;
        let w = *x + gain * d;
        *x = d - gain * w;
        *slot = w;
    }

    #[inline(always)]
    fn tick(&mut self, mut x: f32) -> f32 {
        Self::step(self.gain, &mut x, &mut self.buf[self.pos]);
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        x
    }

    /// Runs a block in place; the same per-sample arithmetic as [`Diffuser::tick`], in runs up to the ring wrap
    /// (each slot is read before it is rewritten, so a run vectorizes over time).
    fn run(&mut self, mut x: &mut [f32]) {
        while !x.is_empty() {
            let n = x.len().min(self.buf.len() - self.pos);
            let (seg, rest) = x.split_at_mut(n);
            for (xi, slot) in seg.iter_mut().zip(&mut self.buf[self.pos..self.pos + n]) {
                Self::step(self.gain, xi, slot);
            }
            self.pos += n;
            if self.pos == self.buf.len() {
                self.pos = 0;
            }
            x = rest;
        }
    }
}

/// Stereo FDN reverb.
pub struct Reverb {
    fs: f32,
    bypass: Bypass,
    fresh: bool,
    lines: Vec<f32>,
    line_mask: usize,
    write: usize,
    base_len: [f32; LINES],
    len: [Smoother; LINES],
    coef_a: [f32; LINES],
    coef_b: [f32; LINES],
    lp_state: [f32; LINES],
    diffusers: [Diffuser; 4],
    pre: Vec<f32>,
    pre_mask: usize,
    pre_write: usize,
    pre_frames: Smoother,
    decay_s: Smoother,
    damping: Smoother,
    width: Smoother,
    size: f32,
    counter: u64,
    cleared: bool,
    /// Steady-state path: line reads of a chunk (frame-major, transposed from the line-major rings) and the
    /// diffused input.
    scratch: Box<[[f32; LINES]; CHUNK]>,
    xbuf: Box<[f32; CHUNK]>,
}

impl Reverb {
    /// New reverb: disabled, decay 1.5 s, pre-delay 10 ms, size 1, damping 0.5, width 1.
    pub fn new(sample_rate_hz: f32) -> Self {
        let scale = sample_rate_hz / 48_000.0;
        let max_len = (BASE_LEN_48K.iter().cloned().fold(0.0, f32::max) * scale * MAX_SIZE).ceil()
            as usize
            + 4;
        let cap = max_len.next_power_of_two();
        let pre_cap =
            ((MAX_PRE_DELAY_MS * 1e-3 * sample_rate_hz).ceil() as usize + 4).next_power_of_two();
        let base_len = BASE_LEN_48K.map(|l| l * scale);
        let diffusers = std::array::from_fn(|i| Diffuser {
            buf: vec![0.0; ((DIFFUSER_LEN_48K[i] * scale).round() as usize).max(1)],
            pos: 0,
            gain: DIFFUSER_GAIN[i],
        });
        let mut r = Reverb {
            fs: sample_rate_hz,
            bypass: Bypass::new(sample_rate_hz),
            fresh: true,
            lines: vec![0.0; cap * LINES],
            line_mask: cap - 1,
            write: 0,
            base_len,
            len: std::array::from_fn(|i| {
                Smoother::linear(sample_rate_hz, GLIDE_MS, base_len[i].round())
            }),
            coef_a: [0.0; LINES],
            coef_b: [0.0; LINES],
            lp_state: [0.0; LINES],
            diffusers,
            pre: vec![0.0; pre_cap],
            pre_mask: pre_cap - 1,
            pre_write: 0,
            pre_frames: Smoother::linear(
                sample_rate_hz,
                GLIDE_MS,
                (0.010 * sample_rate_hz).round(),
            ),
            decay_s: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 1.5),
            damping: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 0.5),
            width: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 1.0),
            size: 1.0,
            counter: 0,
            cleared: true,
            scratch: Box::new([[0.0; LINES]; CHUNK]),
            xbuf: Box::new([0.0; CHUNK]),
        };
        r.update_coefs();
        r
    }

    fn immediate(&self) -> bool {
        self.fresh || self.bypass.is_off()
    }

    fn after_set(&mut self) {
        if self.immediate() {
            self.snap_all();
        }
    }

    fn snap_all(&mut self) {
        for l in &mut self.len {
            l.snap_to_target();
        }
        self.pre_frames.snap_to_target();
        self.decay_s.snap_to_target();
        self.damping.snap_to_target();
        self.width.snap_to_target();
        self.update_coefs();
    }

    /// Sets the decay time RT60 in seconds (0.1 … 30) at low frequencies.
    pub fn set_decay_s(&mut self, decay_s: f32) {
        let imm = self.immediate();
        self.decay_s.set(decay_s.clamp(0.1, 30.0), imm);
        self.after_set();
    }

    /// Sets the pre-delay in ms (0 … [`MAX_PRE_DELAY_MS`]; rounded to whole frames).
    pub fn set_pre_delay_ms(&mut self, pre_delay_ms: f32) {
        let imm = self.immediate();
        let f = (pre_delay_ms.clamp(0.0, MAX_PRE_DELAY_MS) * 1e-3 * self.fs).round();
        self.pre_frames.set(f, imm);
        self.after_set();
    }

    /// Sets the room size factor (0.5 … 2), which scales every line length.
    pub fn set_size(&mut self, size: f32) {
        let imm = self.immediate();
        self.size = size.clamp(MIN_SIZE, MAX_SIZE);
        for i in 0..LINES {
            let target = (self.base_len[i] * self.size).round();
            self.len[i].set(target, imm);
        }
        self.after_set();
    }

    /// Sets the high-frequency damping (0 = none … 1 = Nyquist RT60 a tenth of the setting).
    pub fn set_damping(&mut self, damping: f32) {
        let imm = self.immediate();
        self.damping.set(damping.clamp(0.0, 1.0), imm);
        self.after_set();
    }

    /// Sets the stereo width (0 = mono … 1 = full).
    pub fn set_width(&mut self, width: f32) {
        let imm = self.immediate();
        self.width.set(width.clamp(0.0, 1.0), imm);
        self.after_set();
    }

    fn update_coefs(&mut self) {
        let t60 = self.decay_s.value() as f64;
        let t_ny = t60 * (1.0 - 0.9 * self.damping.value() as f64);
        let fs = self.fs as f64;
        for i in 0..LINES {
            let m = self.len[i].value() as f64;
            let g_dc = 10f64.powf(-3.0 * m / (fs * t60));
            let g_ny = 10f64.powf(-3.0 * m / (fs * t_ny));
            let b = (g_dc - g_ny) / (g_dc + g_ny);
            self.coef_a[i] = (g_dc * (1.0 - b)) as f32;
            self.coef_b[i] = b as f32;
        }
    }

    fn ramping(&self) -> bool {
        !(self.decay_s.is_settled()
            && self.damping.is_settled()
            && self.width.is_settled()
            && self.pre_frames.is_settled()
            && self.len.iter().all(|l| l.is_settled()))
    }

    fn go_idle(&mut self) {
        if !self.cleared {
            self.lines.fill(0.0);
            self.pre.fill(0.0);
            for d in &mut self.diffusers {
                d.buf.fill(0.0);
            }
            self.lp_state = [0.0; LINES];
            self.cleared = true;
        }
        self.snap_all();
    }

    #[inline(always)]
    fn read_frac(buf: &[f32], mask: usize, write: usize, d: f32) -> f32 {
        let di = d as usize;
        let t = d - di as f32;
        let a = buf[write.wrapping_sub(di) & mask];
        if t == 0.0 {
            a
        } else {
            let b = buf[write.wrapping_sub(di + 1) & mask];
            a + t * (b - a)
        }
    }

    fn fdn_coefs(&self) -> FdnCoefs {
        FdnCoefs {
            a: self.coef_a,
            b: self.coef_b,
            width: self.width.value(),
        }
    }

    /// One frame, any state (gliding sizes and pre-delay read between samples).
    #[inline(always)]
    fn tick(&mut self, xl: f32, xr: f32, ramp: bool) -> (f32, f32) {
        if ramp {
            self.pre_frames.tick();
            self.decay_s.tick();
            self.damping.tick();
            self.width.tick();
            for l in &mut self.len {
                l.tick();
            }
            if self.counter % COEF_EVERY == 0 || !self.ramping() {
                self.update_coefs();
            }
        }
        // pre-delay and diffusion of the mono input
        let pw = self.pre_write & self.pre_mask;
        self.pre[pw] = 0.5 * (xl + xr);
        let pd = Self::read_frac(
            &self.pre,
            self.pre_mask,
            self.pre_write,
            self.pre_frames.value(),
        );
        self.pre_write = self.pre_write.wrapping_add(1);
        let mut x = pd;
        for d in &mut self.diffusers {
            x = d.tick(x);
        }
        // FDN
        let cap = self.line_mask + 1;
        let mut v = [0f32; LINES];
        for (i, vi) in v.iter_mut().enumerate() {
            let line = &self.lines[i * cap..(i + 1) * cap];
            *vi = Self::read_frac(line, self.line_mask, self.write, self.len[i].value());
        }
        let c = self.fdn_coefs();
        let out = fdn_frame(&mut v, x, &c, &mut self.lp_state);
        let w = self.write & self.line_mask;
        for (i, vi) in v.iter().enumerate() {
            self.lines[i * cap + w] = *vi;
        }
        self.write = self.write.wrapping_add(1);
        self.counter += 1;
        out
    }

    /// Steady state (nothing gliding or ramping, bypass fully on): processes up to [`CHUNK`] frames, at most the
    /// shortest line, so every line read of the chunk precedes its writes. At rest all lengths and the
    /// pre-delay are whole frames, so the reads are the same plain reads as in [`Reverb::tick`] and the frame
    /// arithmetic is the shared [`fdn_frame`]: the samples equal the per-sample path's bit for bit, whatever
    /// the block split. Returns the number of frames done.
    fn process_steady(&mut self, left: &mut [f32], right: &mut [f32]) -> usize {
        let shortest = self
            .len
            .iter()
            .map(|l| l.value() as usize)
            .min()
            .unwrap_or(1);
        let n = left.len().min(right.len()).min(CHUNK).min(shortest);
        let c = self.fdn_coefs();
        let (left, right) = (&mut left[..n], &mut right[..n]);
        // pre-delay (whole frames; may be 0, so write before read, frame by frame)
        let xb = &mut self.xbuf[..n];
        let pd = self.pre_frames.value() as usize;
        let pm = self.pre_mask;
        for ((x, l), r) in xb.iter_mut().zip(left.iter()).zip(right.iter()) {
            self.pre[self.pre_write & pm] = 0.5 * (l + r);
            *x = self.pre[self.pre_write.wrapping_sub(pd) & pm];
            self.pre_write = self.pre_write.wrapping_add(1);
        }
        for d in &mut self.diffusers {
            d.run(xb);
        }
        // line reads, transposed to frame-major
        let mask = self.line_mask;
        let cap = mask + 1;
        let sc = &mut self.scratch[..n];
        for i in 0..LINES {
            let line = &self.lines[i * cap..(i + 1) * cap];
            let start = self.write.wrapping_sub(self.len[i].value() as usize) & mask;
            let first = n.min(cap - start);
            for (f, s) in sc.iter_mut().zip(&line[start..start + first]) {
                f[i] = *s;
            }
            for (f, s) in sc[first..].iter_mut().zip(&line[..n - first]) {
                f[i] = *s;
            }
        }
        let mut lp = self.lp_state;
        for (((f, x), l), r) in sc
            .iter_mut()
            .zip(xb.iter())
            .zip(left.iter_mut())
            .zip(right.iter_mut())
        {
            (*l, *r) = fdn_frame(f, *x, &c, &mut lp);
        }
        self.lp_state = lp;
        // line writes
        let start = self.write & mask;
        let first = n.min(cap - start);
        for i in 0..LINES {
            let line = &mut self.lines[i * cap..(i + 1) * cap];
            for (f, s) in sc.iter().zip(&mut line[start..start + first]) {
                *s = f[i];
            }
            for (f, s) in sc[first..].iter().zip(&mut line[..n - first]) {
                *s = f[i];
            }
        }
        self.write = self.write.wrapping_add(n);
        self.counter += n as u64;
        n
    }
}

impl StereoProcessor for Reverb {
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
        self.counter = 0;
        self.fresh = true;
    }

    /// Replaces the block with the wet (reverberated) signal; silence while bypassed.
    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        if n == 0 {
            return;
        }
        self.fresh = false;
        let mut i = 0;
        while i < n {
            if self.bypass.is_off() {
                self.go_idle();
                left[i..n].fill(0.0);
                right[i..n].fill(0.0);
                return;
            }
            self.cleared = false;
            let ramp = self.ramping();
            if !ramp && self.bypass.is_fully_on() {
                i += self.process_steady(&mut left[i..n], &mut right[i..n]);
                continue;
            }
            let (yl, yr) = self.tick(left[i], right[i], ramp);
            if self.bypass.is_fully_on() {
                left[i] = yl;
                right[i] = yr;
            } else {
                let m = self.bypass.tick();
                left[i] = m * yl;
                right[i] = m * yr;
            }
            i += 1;
        }
    }
}
