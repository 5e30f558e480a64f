//! Runs on the audio thread: high-pass / low-pass filter (12 dB/oct Butterworth or 24 dB/oct 4th-order
//! Butterworth as two cascaded SVF sections), smoothed frequency and slope, click-free bypass.
//!
//! The 24 dB/oct response is a true 4th-order Butterworth (section Qs 0.5412 and 1.3066), so both slopes are
//! −3.01 dB at the corner and maximally flat in the pass band.

use super::smoother::crossfade;
use super::smoother::{Bypass, Smoother, PARAM_RAMP_MS};
use super::svf::{tick_stereo_in, Chain, ChainMode, Flavoured, Madd, SvfCoefs, SvfKind, SvfState};
use super::StereoProcessor;

/// Q of a 2nd-order Butterworth section.
pub const BUTTERWORTH_Q: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// Section Qs of a 4th-order Butterworth filter: 1/(2cos(π/8)) and 1/(2cos(3π/8)).
pub const BUTTERWORTH4_Q: [f64; 2] = [0.541_196_100_146_197, 1.306_562_964_876_376_4];

/// Which side the filter cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassKind {
    /// Removes lows (passes highs).
    HighPass,
    /// Removes highs (passes lows).
    LowPass,
}

/// Filter slope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slope {
    /// 2nd order, 12 dB/oct.
    Db12,
    /// 4th order, 24 dB/oct.
    Db24,
}

/// Stereo high-pass or low-pass filter.
pub struct PassFilter {
    fs: f64,
    kind: SvfKind,
    bypass: Bypass,
    fresh: bool,
    /// State cleared after a completed fade-out (nothing to do until re-enabled).
    idle: bool,
    /// log2 of the corner frequency.
    log2_freq: Smoother,
    /// 0 → 12 dB/oct, 1 → 24 dB/oct; blends the second section in and morphs the first section's Q.
    order: Smoother,
    c1: SvfCoefs,
    c2: SvfCoefs,
    st: [[SvfState; 2]; 2],
    counter: u64,
}

impl PassFilter {
    /// New filter, disabled, 12 dB/oct, corner 80 Hz (high-pass) or 12 kHz (low-pass).
    pub fn new(sample_rate_hz: f32, kind: PassKind) -> Self {
        let (svf, f) = match kind {
            PassKind::HighPass => (SvfKind::HighPass, 80.0f32),
            PassKind::LowPass => (SvfKind::LowPass, 12_000.0f32),
        };
        let mut p = PassFilter {
            fs: sample_rate_hz as f64,
            kind: svf,
            bypass: Bypass::new(sample_rate_hz),
            fresh: true,
            idle: true,
            log2_freq: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, f.log2()),
            order: Smoother::linear(sample_rate_hz, PARAM_RAMP_MS, 0.0),
            c1: SvfCoefs::IDENTITY,
            c2: SvfCoefs::IDENTITY,
            st: [[SvfState::default(); 2]; 2],
            counter: 0,
        };
        p.update_coefs();
        p
    }

    /// Sets the corner frequency (clamped to 10 Hz … 0.49·fs).
    pub fn set_freq_hz(&mut self, freq_hz: f32) {
        let f = freq_hz.clamp(10.0, 0.49 * self.fs as f32);
        let imm = self.fresh || self.bypass.is_off();
        self.log2_freq.set(f.log2(), imm);
        if imm {
            self.update_coefs();
        }
    }

    /// Current (smoothed) corner frequency.
    pub fn freq_hz(&self) -> f32 {
        self.log2_freq.value().exp2()
    }

    /// Sets the slope.
    pub fn set_slope(&mut self, slope: Slope) {
        let v = if slope == Slope::Db24 { 1.0 } else { 0.0 };
        let imm = self.fresh || self.bypass.is_off();
        self.order.set(v, imm);
        if imm {
            self.update_coefs();
        }
    }

    fn update_coefs(&mut self) {
        let f = self.log2_freq.value().exp2() as f64;
        let m = self.order.value() as f64;
        let q1 = BUTTERWORTH_Q + m * (BUTTERWORTH4_Q[0] - BUTTERWORTH_Q);
        self.c1 = SvfCoefs::new(self.kind, self.fs, f, q1, 0.0);
        self.c2 =
            SvfCoefs::new(self.kind, self.fs, f, BUTTERWORTH4_Q[1], 0.0).blend_with_identity(m);
    }

    fn go_idle(&mut self) {
        self.st = [[SvfState::default(); 2]; 2];
        self.log2_freq.snap_to_target();
        self.order.snap_to_target();
        self.update_coefs();
        self.idle = true;
    }

    /// Where the filter stands for a combined steady run (see [`Chain`]).
    pub fn chain_mode(&self) -> ChainMode {
        if self.bypass.is_off() {
            ChainMode::Off
        } else if self.bypass.is_fully_on()
            && self.log2_freq.is_settled()
            && self.order.is_settled()
        {
            ChainMode::Steady
        } else {
            ChainMode::Moving
        }
    }

    /// Longest steady run from here: up to the next denormal flush point.
    pub fn chain_frames(&self) -> usize {
        (FLUSH_EVERY - self.counter % FLUSH_EVERY) as usize
    }

    /// Appends this (steady) filter's sections to `ch`.
    pub fn chain_push(&self, ch: &mut Chain) {
        ch.push(self.c1, self.st[0]);
        if self.order.value() != 0.0 {
            ch.push(self.c2, self.st[1]);
        }
        ch.end_processor();
    }

    /// Takes the states back from `ch` at section `at` after a run of `frames`, as [`StereoProcessor::process`]
    /// would leave them; returns the index of the next processor's first section.
    pub fn chain_pull(&mut self, ch: &Chain, at: usize, frames: usize) -> usize {
        self.fresh = false;
        self.idle = false;
        self.st[0] = ch.st[at];
        let next = if self.order.value() != 0.0 {
            self.st[1] = ch.st[at + 1];
            at + 2
        } else {
            at + 1
        };
        self.counter += frames as u64;
        if self.counter.is_multiple_of(FLUSH_EVERY) {
            for s in self.st.iter_mut().flatten() {
                s.flush();
            }
        }
        next
    }

    #[inline(always)]
    fn tick<M: Madd>(&mut self, l: f32, r: f32, second: bool) -> (f32, f32) {
        let mut x = tick_stereo_in::<M>(&mut self.st[0], &self.c1, [l as f64, r as f64]);
        if second {
            x = tick_stereo_in::<M>(&mut self.st[1], &self.c2, x);
        }
        (x[0] as f32, x[1] as f32)
    }

    /// [`StereoProcessor::process`] in the fused flavour when `fused`, else the plain one (for tests; see
    /// [`super::svf::process_as`]).
    pub fn process_as(&mut self, fused: bool, left: &mut [f32], right: &mut [f32]) {
        super::svf::process_as(self, fused, left, right)
    }
}

impl Flavoured for PassFilter {
    /// The processing in SVF flavour `M` (the process's flavour is picked in [`StereoProcessor::process`]).
    #[inline(always)]
    fn process_in<M: Madd>(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        if n == 0 {
            return;
        }
        self.fresh = false;
        if self.bypass.is_off() {
            if !self.idle {
                self.go_idle();
            }
            return;
        }
        self.idle = false;
        let mut i = 0;
        while i < n {
            if self.bypass.is_off() {
                // Faded out inside this block: settle everything and pass the rest through untouched.
                self.go_idle();
                return;
            }
            let steady =
                self.bypass.is_fully_on() && self.log2_freq.is_settled() && self.order.is_settled();
            // Run up to the next denormal flush point (keyed on the frame counter, not on blocks).
            let end = if steady {
                n.min(i + (FLUSH_EVERY - self.counter % FLUSH_EVERY) as usize)
            } else {
                i + 1
            };
            if steady {
                // State and coefficients in locals (registers) over the run, one loop per order: the same
                // operations as `tick`, without going through memory every frame.
                let (c1, c2) = (self.c1, self.c2);
                let mut st = self.st;
                let (bl, br) = (&mut left[i..end], &mut right[i..end]);
                let lanes = super::svf::stereo_lanes::<M>();
                #[cfg(target_arch = "x86_64")]
                if lanes {
                    // both channels in SSE2 lanes: the same f64 operations per lane, bit-identical
                    use super::svf::stereo::{frame_in, frame_out, Coefs2, State2};
                    let (k1, k2) = (Coefs2::new(&c1), Coefs2::new(&c2));
                    let (mut s1, mut s2) = (State2::load(&st[0]), State2::load(&st[1]));
                    let frames = bl.iter_mut().zip(br.iter_mut());
                    // SAFETY: plain, or fused inside the FMA build (see `stereo_lanes`).
                    unsafe {
                        if self.order.value() != 0.0 {
                            for (l, r) in frames {
                                let x = s1.tick_in::<M>(&k1, frame_in(*l, *r));
                                (*l, *r) = frame_out(s2.tick_in::<M>(&k2, x));
                            }
                        } else {
                            for (l, r) in frames {
                                (*l, *r) = frame_out(s1.tick_in::<M>(&k1, frame_in(*l, *r)));
                            }
                        }
                    }
                    s1.store(&mut st[0]);
                    s2.store(&mut st[1]);
                }
                if !lanes {
                    let frames = bl.iter_mut().zip(br.iter_mut());
                    if self.order.value() != 0.0 {
                        for (l, r) in frames {
                            let x = tick_stereo_in::<M>(&mut st[0], &c1, [*l as f64, *r as f64]);
                            let x = tick_stereo_in::<M>(&mut st[1], &c2, x);
                            (*l, *r) = (x[0] as f32, x[1] as f32);
                        }
                    } else {
                        for (l, r) in frames {
                            let x = tick_stereo_in::<M>(&mut st[0], &c1, [*l as f64, *r as f64]);
                            (*l, *r) = (x[0] as f32, x[1] as f32);
                        }
                    }
                }
                self.st = st;
            } else {
                if !(self.log2_freq.is_settled() && self.order.is_settled()) {
                    self.log2_freq.tick();
                    self.order.tick();
                    self.update_coefs();
                }
                let second = self.order.value() != 0.0;
                let (dl, dr) = (left[i], right[i]);
                let (wl, wr) = self.tick::<M>(dl, dr, second);
                let m = self.bypass.tick();
                (left[i], right[i]) = crossfade(m, dl, dr, wl, wr);
            }
            self.counter += (end - i) as u64;
            i = end;
            if self.counter.is_multiple_of(FLUSH_EVERY) {
                for s in self.st.iter_mut().flatten() {
                    s.flush();
                }
            }
        }
    }
}

impl StereoProcessor for PassFilter {
    fn set_enabled(&mut self, enabled: bool) {
        self.bypass.set_enabled(enabled, self.fresh);
    }

    fn is_enabled(&self) -> bool {
        self.bypass.is_enabled()
    }

    fn reset(&mut self) {
        self.bypass.snap();
        self.go_idle();
        self.counter = 0;
        self.fresh = true;
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_as(super::svf::fused(), left, right)
    }
}

/// Frames between denormal flushes of the filter state.
const FLUSH_EVERY: u64 = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_loop_is_bit_identical_to_scalar_svf_ticks() {
        let n = 6_000;
        let mut x = 0x1234_5678u32;
        let mut noise = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32) * 2.0 - 1.0
        };
        let l0: Vec<f32> = (0..n).map(|_| noise()).collect();
        let r0: Vec<f32> = (0..n).map(|_| 0.2 * noise()).collect();
        let mut states = Vec::new();
        for (fused, kind) in [false, true]
            .into_iter()
            .flat_map(|x| [(x, PassKind::HighPass), (x, PassKind::LowPass)])
        {
            for (slope, f) in [(Slope::Db12, 80.0), (Slope::Db24, 3_000.0)] {
                let mut p = PassFilter::new(48_000.0, kind);
                p.set_freq_hz(f);
                p.set_slope(slope);
                p.set_enabled(true);
                let (c1, c2, second) = (p.c1, p.c2, slope == Slope::Db24);
                let (mut l, mut r) = (l0.clone(), r0.clone());
                for (a, b) in [(0, 700), (700, 4_096), (4_096, n)] {
                    p.process_as(fused, &mut l[a..b], &mut r[a..b]);
                }
                // reference: scalar ticks per channel, with the same denormal flush points
                let mut st = [[SvfState::default(); 2]; 2];
                for i in 0..n {
                    for (ch, v) in [(0, l0[i]), (1, r0[i])] {
                        let mut y = st[0][ch].tick_as(fused, &c1, v as f64);
                        if second {
                            y = st[1][ch].tick_as(fused, &c2, y);
                        }
                        let want = y as f32;
                        let got = if ch == 0 { l[i] } else { r[i] };
                        assert_eq!(
                            got.to_bits(),
                            want.to_bits(),
                            "{kind:?} {slope:?} fused {fused} frame {i}"
                        );
                    }
                    if ((i + 1) as u64).is_multiple_of(FLUSH_EVERY) {
                        st.iter_mut().flatten().for_each(|s| s.flush());
                    }
                }
                assert!(l.iter().zip(&l0).any(|(a, b)| a != b), "filter did nothing");
                assert_eq!(p.st, st, "{kind:?} {slope:?} fused {fused}: state");
                states.push(st);
            }
        }
        // the two flavours really differ (in the f64 states), so the comparisons can tell them apart
        let (plain, fused) = states.split_at(states.len() / 2);
        assert!(plain.iter().zip(fused).all(|(a, b)| a != b));
    }
}
