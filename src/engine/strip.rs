//! Runs on the audio thread: channel strips (trim, polarity, filters, EQ, dynamics, fader, pan, sends,
//! mute/solo) for tracks and buses, and the master strip (EQ, bus compressor, fader, limiter).

use super::command::StripParam;
use super::ramp::Ramp;
use crate::dsp::compressor::Compressor;
use crate::dsp::eq::Eq4;
use crate::dsp::filter::{PassFilter, PassKind, Slope};
use crate::dsp::gate::Gate;
use crate::dsp::kernels;
use crate::dsp::limiter::Limiter;
use crate::dsp::svf::{run_pair, run_quad, Chain, ChainMode};
use crate::dsp::StereoProcessor;

/// A high- or low-pass filter's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PassState {
    /// On.
    pub enabled: bool,
    /// Corner in Hz.
    pub freq_hz: f32,
    /// 24 dB/oct (true) or 12 dB/oct (false).
    pub slope_24: bool,
}

/// One EQ band.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EqBandState {
    /// On.
    pub enabled: bool,
    /// Centre/corner in Hz.
    pub freq_hz: f32,
    /// Gain in dB.
    pub gain_db: f32,
    /// Q.
    pub q: f32,
}

/// The 4-band EQ: low shelf, bell, bell, high shelf.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EqState {
    /// Whole EQ on.
    pub enabled: bool,
    /// Bands in order low shelf, bell 1, bell 2, high shelf.
    pub bands: [EqBandState; 4],
}

impl Default for EqState {
    fn default() -> Self {
        let f = [100.0, 400.0, 2_500.0, 8_000.0];
        let q = [0.707, 1.0, 1.0, 0.707];
        Self {
            enabled: false,
            bands: std::array::from_fn(|b| EqBandState {
                enabled: false,
                freq_hz: f[b],
                gain_db: 0.0,
                q: q[b],
            }),
        }
    }
}

/// Gate / expander settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GateState {
    /// On.
    pub enabled: bool,
    /// Threshold in dBFS.
    pub threshold_db: f32,
    /// Expansion ratio (infinite = gate).
    pub ratio: f32,
    /// Floor in dB (negative).
    pub range_db: f32,
    /// Attack in ms.
    pub attack_ms: f32,
    /// Hold in ms.
    pub hold_ms: f32,
    /// Release in ms.
    pub release_ms: f32,
}

impl Default for GateState {
    fn default() -> Self {
        Self {
            enabled: false,
            threshold_db: -50.0,
            ratio: f32::INFINITY,
            range_db: -80.0,
            attack_ms: 0.5,
            hold_ms: 20.0,
            release_ms: 100.0,
        }
    }
}

/// Compressor settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompState {
    /// On.
    pub enabled: bool,
    /// Threshold in dBFS.
    pub threshold_db: f32,
    /// Ratio.
    pub ratio: f32,
    /// Knee width in dB.
    pub knee_db: f32,
    /// Attack in ms.
    pub attack_ms: f32,
    /// Release in ms.
    pub release_ms: f32,
    /// Makeup gain in dB.
    pub makeup_db: f32,
    /// Side-chain high-pass corner in Hz; 0 = off.
    pub sidechain_hpf_hz: f32,
}

impl Default for CompState {
    fn default() -> Self {
        Self {
            enabled: false,
            threshold_db: -18.0,
            ratio: 4.0,
            knee_db: 6.0,
            attack_ms: 10.0,
            release_ms: 100.0,
            makeup_db: 0.0,
            sidechain_hpf_hz: 0.0,
        }
    }
}

/// A send to an effect bus.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SendState {
    /// Index of the effect bus.
    pub bus: u16,
    /// Send level in dB.
    pub level_db: f32,
    /// Taken before the fader (and pan) rather than after.
    pub pre_fader: bool,
}

/// Where a strip's output goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Output {
    /// The master bus.
    #[default]
    Master,
    /// A group bus, by index.
    Bus(u16),
}

/// Static settings of a track (or bus) strip, as stored in the session.
#[derive(Clone, Debug, PartialEq)]
pub struct StripState {
    /// Input trim in dB.
    pub trim_db: f32,
    /// Fader in dB.
    pub gain_db: f32,
    /// −1.0 hard left .. +1.0 hard right.
    pub pan: f32,
    /// Muted (wins over solo).
    pub mute: bool,
    /// Soloed in place.
    pub solo: bool,
    /// Polarity inverted.
    pub invert_polarity: bool,
    /// High-pass filter.
    pub hpf: PassState,
    /// Low-pass filter.
    pub lpf: PassState,
    /// 4-band EQ.
    pub eq: EqState,
    /// Gate / expander.
    pub gate: GateState,
    /// Compressor.
    pub compressor: CompState,
    /// Sends to effect buses at build time (changed at run time by `StripParam::SendTo`, levels and pre/post
    /// also by `SendLevelDb`/`SendPreFader` per slot).
    pub sends: Vec<SendState>,
    /// Destination.
    pub output: Output,
}

impl Default for StripState {
    fn default() -> Self {
        Self {
            trim_db: 0.0,
            gain_db: 0.0,
            pan: 0.0,
            mute: false,
            solo: false,
            invert_polarity: false,
            hpf: PassState {
                enabled: false,
                freq_hz: 80.0,
                slope_24: false,
            },
            lpf: PassState {
                enabled: false,
                freq_hz: 12_000.0,
                slope_24: false,
            },
            eq: EqState::default(),
            gate: GateState::default(),
            compressor: CompState::default(),
            sends: Vec::new(),
            output: Output::Master,
        }
    }
}

/// Master limiter settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimiterState {
    /// On.
    pub enabled: bool,
    /// True-peak ceiling in dBTP.
    pub ceiling_dbtp: f32,
    /// Release in ms.
    pub release_ms: f32,
}

impl Default for LimiterState {
    fn default() -> Self {
        Self {
            enabled: true,
            ceiling_dbtp: -1.0,
            release_ms: 50.0,
        }
    }
}

/// Static settings of the master strip.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MasterState {
    /// Master fader in dB.
    pub gain_db: f32,
    /// Master EQ.
    pub eq: EqState,
    /// Bus compressor.
    pub compressor: CompState,
    /// Lookahead limiter; None = not in the signal path (no latency).
    pub limiter: Option<LimiterState>,
}

/// Gain reduction of a strip's dynamics, in dB (positive; 0 = none), over the last processed block.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GainReduction {
    /// Gate / expander.
    pub gate_db: f32,
    /// Compressor.
    pub comp_db: f32,
    /// Limiter (master only).
    pub limiter_db: f32,
}

/// Level accumulators of a strip's output since the last reset (read by meters).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StripMeter {
    /// Sample peak per channel (linear).
    pub peak: [f32; 2],
    /// Sum of squares per channel.
    pub sum_sq: [f64; 2],
    /// Frames accumulated.
    pub frames: u64,
}

/// dB to linear gain; −inf (or below −200 dB) gives 0.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    if db <= -200.0 {
        0.0
    } else {
        10f32.powf(db / 20.0)
    }
}

/// Pan gains (left, right) for a pan position.
///
/// Mono sources use the constant-power law θ = (pan+1)π/4, left cos θ, right sin θ (−3.01 dB each at
/// centre). Stereo sources use a balance control: the side panned towards stays at unity and the other side
/// is attenuated by cos(|pan|·π/2), so a centred stereo source passes unchanged.
#[inline]
pub fn pan_gains(pan: f32, stereo: bool) -> (f32, f32) {
    use std::f32::consts::{FRAC_PI_2, FRAC_PI_4};
    let p = pan.clamp(-1.0, 1.0);
    // The ends are exact: cos(π/2) is not exactly zero in floating point.
    if p == 1.0 {
        return (0.0, 1.0);
    }
    if p == -1.0 {
        return (1.0, 0.0);
    }
    if stereo {
        if p >= 0.0 {
            ((p * FRAC_PI_2).cos(), 1.0)
        } else {
            (1.0, (-p * FRAC_PI_2).cos())
        }
    } else {
        let theta = (p + 1.0) * FRAC_PI_4;
        (theta.cos(), theta.sin())
    }
}

/// Set every parameter of an EQ from its state.
pub(crate) fn apply_eq(eq: &mut Eq4, st: &EqState) {
    for (b, band) in st.bands.iter().enumerate() {
        eq.set_band_freq_hz(b, band.freq_hz);
        eq.set_band_gain_db(b, band.gain_db);
        eq.set_band_q(b, band.q);
        eq.set_band_enabled(b, band.enabled);
    }
    eq.set_enabled(st.enabled);
}

/// Set every parameter of a compressor from its state.
pub(crate) fn apply_comp(c: &mut Compressor, st: &CompState) {
    c.set_threshold_db(st.threshold_db);
    c.set_ratio(st.ratio);
    c.set_knee_db(st.knee_db);
    c.set_attack_ms(st.attack_ms);
    c.set_release_ms(st.release_ms);
    c.set_makeup_db(st.makeup_db);
    set_sidechain(c, st.sidechain_hpf_hz);
    c.set_enabled(st.enabled);
}

fn set_sidechain(c: &mut Compressor, freq_hz: f32) {
    if freq_hz > 0.0 {
        c.set_sidechain_hpf_hz(freq_hz);
        c.set_sidechain_hpf(true);
    } else {
        c.set_sidechain_hpf(false);
    }
}

fn apply_pass(f: &mut PassFilter, st: &PassState) {
    f.set_freq_hz(st.freq_hz);
    f.set_slope(if st.slope_24 {
        Slope::Db24
    } else {
        Slope::Db12
    });
    f.set_enabled(st.enabled);
}

/// Apply an EQ or compressor parameter; false when `param` is neither.
fn set_eq_comp(eq: &mut Eq4, comp: &mut Compressor, param: StripParam) -> bool {
    match param {
        StripParam::EqEnabled(on) => eq.set_enabled(on),
        StripParam::EqBandEnabled(b, on) => eq.set_band_enabled(b as usize, on),
        StripParam::EqBandFreqHz(b, v) => eq.set_band_freq_hz(b as usize, v),
        StripParam::EqBandGainDb(b, v) => eq.set_band_gain_db(b as usize, v),
        StripParam::EqBandQ(b, v) => eq.set_band_q(b as usize, v),
        StripParam::CompEnabled(on) => comp.set_enabled(on),
        StripParam::CompThresholdDb(v) => comp.set_threshold_db(v),
        StripParam::CompRatio(v) => comp.set_ratio(v),
        StripParam::CompKneeDb(v) => comp.set_knee_db(v),
        StripParam::CompAttackMs(v) => comp.set_attack_ms(v),
        StripParam::CompReleaseMs(v) => comp.set_release_ms(v),
        StripParam::CompMakeupDb(v) => comp.set_makeup_db(v),
        StripParam::CompSidechainHpfHz(v) => set_sidechain(comp, v),
        _ => return false,
    }
    true
}

/// The strip's processors, in signal order.
struct Dsp {
    hpf: PassFilter,
    lpf: PassFilter,
    eq: Eq4,
    gate: Gate,
    comp: Compressor,
}

impl Dsp {
    fn new(fs: f32, st: &StripState) -> Self {
        let mut d = Dsp {
            hpf: PassFilter::new(fs, PassKind::HighPass),
            lpf: PassFilter::new(fs, PassKind::LowPass),
            eq: Eq4::new(fs),
            gate: Gate::new(fs),
            comp: Compressor::new(fs),
        };
        apply_pass(&mut d.hpf, &st.hpf);
        apply_pass(&mut d.lpf, &st.lpf);
        apply_eq(&mut d.eq, &st.eq);
        let g = &st.gate;
        d.gate.set_threshold_db(g.threshold_db);
        d.gate.set_ratio(g.ratio);
        d.gate.set_range_db(g.range_db);
        d.gate.set_attack_ms(g.attack_ms);
        d.gate.set_hold_ms(g.hold_ms);
        d.gate.set_release_ms(g.release_ms);
        d.gate.set_enabled(g.enabled);
        apply_comp(&mut d.comp, &st.compressor);
        d
    }

    fn set(&mut self, param: StripParam) {
        if set_eq_comp(&mut self.eq, &mut self.comp, param) {
            return;
        }
        let slope = |on: bool| if on { Slope::Db24 } else { Slope::Db12 };
        match param {
            StripParam::HpfEnabled(on) => self.hpf.set_enabled(on),
            StripParam::HpfFreqHz(v) => self.hpf.set_freq_hz(v),
            StripParam::HpfSlope24(on) => self.hpf.set_slope(slope(on)),
            StripParam::LpfEnabled(on) => self.lpf.set_enabled(on),
            StripParam::LpfFreqHz(v) => self.lpf.set_freq_hz(v),
            StripParam::LpfSlope24(on) => self.lpf.set_slope(slope(on)),
            StripParam::GateEnabled(on) => self.gate.set_enabled(on),
            StripParam::GateThresholdDb(v) => self.gate.set_threshold_db(v),
            StripParam::GateRatio(v) => self.gate.set_ratio(v),
            StripParam::GateRangeDb(v) => self.gate.set_range_db(v),
            StripParam::GateAttackMs(v) => self.gate.set_attack_ms(v),
            StripParam::GateHoldMs(v) => self.gate.set_hold_ms(v),
            StripParam::GateReleaseMs(v) => self.gate.set_release_ms(v),
            _ => {}
        }
    }

    fn reset(&mut self) {
        self.hpf.reset();
        self.lpf.reset();
        self.eq.reset();
        self.gate.reset();
        self.comp.reset();
    }

    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.process_filters(l, r);
        self.dynamics(l, r);
    }

    /// High-pass, low-pass and EQ. While none of them ramps, their sections run as one skewed cascade
    /// ([`Chain`]), bit-identical to running them one after another, which is what happens from the first
    /// frame on which any of them moves.
    fn process_filters(&mut self, l: &mut [f32], r: &mut [f32]) {
        let n = l.len().min(r.len());
        let mut i = 0;
        while i < n {
            let Some((mut ch, steady, run)) = self.gather(n - i) else {
                break;
            };
            let (bl, br) = (&mut l[i..i + run], &mut r[i..i + run]);
            ch.run(bl, br);
            self.scatter(&ch, steady, bl, br);
            i += run;
        }
        if i < n {
            self.filters_alone(&mut l[i..n], &mut r[i..n]);
        }
    }

    /// [`Dsp::process_filters`] for two strips' blocks of the same length at once: their chains share SIMD
    /// registers when they have the same structure ([`run_pair`]); bit-identical to each strip on its own.
    fn process_filters_pair(
        a: &mut Dsp,
        b: &mut Dsp,
        (la, ra): (&mut [f32], &mut [f32]),
        (lb, rb): (&mut [f32], &mut [f32]),
    ) {
        let n = la.len();
        if [ra.len(), lb.len(), rb.len()] != [n; 3] {
            a.process_filters(la, ra);
            b.process_filters(lb, rb);
            return;
        }
        let mut i = 0;
        while i < n {
            let (Some((mut ca, sa, run_a)), Some((mut cb, sb, run_b))) =
                (a.gather(n - i), b.gather(n - i))
            else {
                break;
            };
            let run = run_a.min(run_b);
            let (xa, ya) = (&mut la[i..i + run], &mut ra[i..i + run]);
            let (xb, yb) = (&mut lb[i..i + run], &mut rb[i..i + run]);
            run_pair(&mut ca, &mut cb, (&mut *xa, &mut *ya), (&mut *xb, &mut *yb));
            a.scatter(&ca, sa, xa, ya);
            b.scatter(&cb, sb, xb, yb);
            i += run;
        }
        if i < n {
            a.process_filters(&mut la[i..n], &mut ra[i..n]);
            b.process_filters(&mut lb[i..n], &mut rb[i..n]);
        }
    }

    /// [`Dsp::process_filters`] for four strips' blocks of the same length at once: their chains share SIMD
    /// registers when they have the same structure ([`run_quad`]); bit-identical to each strip on its own.
    fn process_filters_quad(d: [&mut Dsp; 4], io: [(&mut [f32], &mut [f32]); 4]) {
        let n = io[0].0.len();
        let [d0, d1, d2, d3] = d;
        let [(l0, r0), (l1, r1), (l2, r2), (l3, r3)] = io;
        if [
            r0.len(),
            l1.len(),
            r1.len(),
            l2.len(),
            r2.len(),
            l3.len(),
            r3.len(),
        ] != [n; 7]
        {
            Dsp::process_filters_pair(d0, d1, (l0, r0), (l1, r1));
            Dsp::process_filters_pair(d2, d3, (l2, r2), (l3, r3));
            return;
        }
        let mut i = 0;
        while i < n {
            let (Some(g0), Some(g1), Some(g2), Some(g3)) = (
                d0.gather(n - i),
                d1.gather(n - i),
                d2.gather(n - i),
                d3.gather(n - i),
            ) else {
                break;
            };
            let run = g0.2.min(g1.2).min(g2.2).min(g3.2);
            let (mut c0, mut c1, mut c2, mut c3) = (g0.0, g1.0, g2.0, g3.0);
            let w = i..i + run;
            run_quad(
                [&mut c0, &mut c1, &mut c2, &mut c3],
                [
                    (&mut l0[w.clone()], &mut r0[w.clone()]),
                    (&mut l1[w.clone()], &mut r1[w.clone()]),
                    (&mut l2[w.clone()], &mut r2[w.clone()]),
                    (&mut l3[w.clone()], &mut r3[w.clone()]),
                ],
            );
            d0.scatter(&c0, g0.1, &mut l0[w.clone()], &mut r0[w.clone()]);
            d1.scatter(&c1, g1.1, &mut l1[w.clone()], &mut r1[w.clone()]);
            d2.scatter(&c2, g2.1, &mut l2[w.clone()], &mut r2[w.clone()]);
            d3.scatter(&c3, g3.1, &mut l3[w.clone()], &mut r3[w]);
            i += run;
        }
        if i < n {
            d0.process_filters(&mut l0[i..n], &mut r0[i..n]);
            d1.process_filters(&mut l1[i..n], &mut r1[i..n]);
            d2.process_filters(&mut l2[i..n], &mut r2[i..n]);
            d3.process_filters(&mut l3[i..n], &mut r3[i..n]);
        }
    }

    /// The steady filters' sections for a run of up to `max_frames`, which of the three are steady, and the run
    /// length (up to the nearest denormal flush point); None while any of them ramps.
    fn gather(&self, max_frames: usize) -> Option<(Chain, [bool; 3], usize)> {
        let modes = [
            self.hpf.chain_mode(),
            self.lpf.chain_mode(),
            self.eq.chain_mode(),
        ];
        if modes.contains(&ChainMode::Moving) {
            return None;
        }
        let steady = modes.map(|m| m == ChainMode::Steady);
        let mut run = max_frames;
        let mut ch = Chain::default();
        if steady[0] {
            run = run.min(self.hpf.chain_frames());
            self.hpf.chain_push(&mut ch);
        }
        if steady[1] {
            run = run.min(self.lpf.chain_frames());
            self.lpf.chain_push(&mut ch);
        }
        if steady[2] {
            run = run.min(self.eq.chain_frames());
            self.eq.chain_push(&mut ch);
        }
        Some((ch, steady, run))
    }

    /// After a chain run over `l`/`r`: the states back into the steady filters; the others (off) see the block
    /// as usual.
    fn scatter(&mut self, ch: &Chain, steady: [bool; 3], l: &mut [f32], r: &mut [f32]) {
        let run = l.len();
        let mut at = 0;
        if steady[0] {
            at = self.hpf.chain_pull(ch, at, run);
        } else {
            self.hpf.process(l, r);
        }
        if steady[1] {
            at = self.lpf.chain_pull(ch, at, run);
        } else {
            self.lpf.process(l, r);
        }
        if steady[2] {
            self.eq.chain_pull(ch, at, run);
        } else {
            self.eq.process(l, r);
        }
    }

    fn filters_alone(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.hpf.process(l, r);
        self.lpf.process(l, r);
        self.eq.process(l, r);
    }

    fn dynamics(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.gate.process(l, r);
        self.comp.process(l, r);
    }
}

/// Bus index of a send slot that was never used.
const UNUSED_SLOT: u16 = u16::MAX;

/// A send slot. Its pre- and post-fader contributions have their own ramps, so switching pre/post, changing
/// the level or switching the send on/off are click-free crossfades.
struct Send {
    bus: u16,
    level_db: f32,
    pre_fader: bool,
    on: bool,
    pre: Ramp,
    post: Ramp,
}

impl Send {
    fn new(bus: u16, level_db: f32, pre_fader: bool, on: bool, ramp_frames: u32) -> Self {
        let mut s = Send {
            bus,
            level_db,
            pre_fader,
            on,
            pre: Ramp::new(0.0, ramp_frames),
            post: Ramp::new(0.0, ramp_frames),
        };
        s.pre.snap(s.pre_target());
        s.post.snap(s.post_target());
        s
    }

    fn gain(&self) -> f32 {
        if self.on {
            db_to_gain(self.level_db)
        } else {
            0.0
        }
    }

    fn pre_target(&self) -> f32 {
        if self.pre_fader {
            self.gain()
        } else {
            0.0
        }
    }

    fn post_target(&self) -> f32 {
        if self.pre_fader {
            0.0
        } else {
            self.gain()
        }
    }

    fn retarget(&mut self) {
        self.pre.set_target(self.pre_target());
        self.post.set_target(self.post_target());
    }

    /// Off and faded out: the slot may be pointed at another bus without a click.
    fn is_free(&self) -> bool {
        self.bus == UNUSED_SLOT
            || (!self.on
                && self.pre.is_settled()
                && self.post.is_settled()
                && self.pre.value() == 0.0
                && self.post.value() == 0.0)
    }

    fn skip(&mut self, frames: usize) {
        self.pre.skip(frames);
        self.post.skip(frames);
    }
}

/// A track or bus strip: trim → polarity → HPF → LPF → EQ → gate → compressor → (pre-fader sends) → fader
/// → pan → (post-fader sends) → output. Mute and solo act on the output and on every send.
pub(crate) struct TrackStrip {
    trim_db: f32,
    gain_db: f32,
    mute: bool,
    pub(crate) solo: bool,
    invert_polarity: bool,
    /// Not muted and not solo-muted.
    audible: bool,
    stereo: bool,
    /// trim × polarity
    pre: Ramp,
    fader: Ramp,
    /// 1 audible, 0 muted
    gate: Ramp,
    pan: Ramp,
    dsp: Dsp,
    sends: Vec<Send>,
    ramp_frames: u32,
    pub(crate) output: Output,
    /// The processors were reset after the strip went silent (see [`TrackStrip::skip`]).
    pub(crate) cleared: bool,
    /// scratch: audible gain per sample
    abuf: Vec<f32>,
    pub(crate) meter: StripMeter,
    /// Level after the dynamics, before the fader.
    pub(crate) pre_meter: StripMeter,
    /// Accumulate `meter` and `pre_meter` (off for offline render: the audio is the same either way).
    pub(crate) metering: bool,
}

impl TrackStrip {
    pub(crate) fn new(
        state: &StripState,
        channels: usize,
        ramp_frames: u32,
        sample_rate_hz: u32,
        max_block_frames: usize,
    ) -> Self {
        let mut s = Self {
            trim_db: state.trim_db,
            gain_db: state.gain_db,
            mute: state.mute,
            solo: state.solo,
            invert_polarity: state.invert_polarity,
            audible: !state.mute,
            stereo: channels == 2,
            pre: Ramp::new(1.0, ramp_frames),
            fader: Ramp::new(db_to_gain(state.gain_db), ramp_frames),
            gate: Ramp::new(1.0, ramp_frames),
            pan: Ramp::new(state.pan.clamp(-1.0, 1.0), ramp_frames),
            dsp: Dsp::new(sample_rate_hz as f32, state),
            sends: state
                .sends
                .iter()
                .map(|s| Send::new(s.bus, s.level_db, s.pre_fader, true, ramp_frames))
                .collect(),
            ramp_frames,
            output: state.output,
            cleared: false,
            abuf: vec![0.0; max_block_frames.max(1)],
            meter: StripMeter::default(),
            pre_meter: StripMeter::default(),
            metering: true,
        };
        s.pre.snap(s.pre_target());
        s.gate.snap(if s.audible { 1.0 } else { 0.0 });
        s
    }

    fn pre_target(&self) -> f32 {
        let g = db_to_gain(self.trim_db);
        if self.invert_polarity {
            -g
        } else {
            g
        }
    }

    pub(crate) fn set_channels(&mut self, channels: usize) {
        self.stereo = channels == 2;
    }

    /// Muted by its own mute button.
    pub(crate) fn is_muted(&self) -> bool {
        self.mute
    }

    /// The effect buses this strip sends to (sends that are on).
    pub(crate) fn send_buses(&self) -> impl Iterator<Item = u16> + '_ {
        self.sends.iter().filter(|s| s.on).map(|s| s.bus)
    }

    /// Pre-allocate `extra` unused send slots (at build time) so [`TrackStrip::set_send`] never allocates.
    pub(crate) fn reserve_send_slots(&mut self, extra: usize) {
        self.sends.reserve_exact(extra);
        for _ in 0..extra {
            self.sends
                .push(Send::new(UNUSED_SLOT, 0.0, false, false, self.ramp_frames));
        }
    }

    /// Set the send to effect bus `bus` (the first slot pointing there, else a free slot). False when there
    /// is no free slot (never with the slots reserved at build time). Never allocates.
    pub(crate) fn set_send(&mut self, bus: u16, level_db: f32, pre_fader: bool, on: bool) -> bool {
        let idx = match self.sends.iter().position(|s| s.bus == bus) {
            Some(i) => i,
            None if !on => return true,
            None => match self.sends.iter().position(|s| s.is_free()) {
                Some(i) => {
                    let s = &mut self.sends[i];
                    s.bus = bus;
                    s.on = false;
                    s.pre.snap(0.0);
                    s.post.snap(0.0);
                    i
                }
                None => return false,
            },
        };
        let s = &mut self.sends[idx];
        s.level_db = level_db;
        s.pre_fader = pre_fader;
        s.on = on;
        s.retarget();
        true
    }

    /// Gain reduction of the gate and compressor over the last block.
    pub(crate) fn gain_reduction(&self) -> GainReduction {
        GainReduction {
            gate_db: self.dsp.gate.gain_reduction_db(),
            comp_db: self.dsp.comp.gain_reduction_db(),
            limiter_db: 0.0,
        }
    }

    /// Apply a parameter; returns true when mute or solo changed (the engine then re-evaluates audibility).
    pub(crate) fn set(&mut self, param: StripParam) -> bool {
        match param {
            StripParam::TrimDb(db) => {
                self.trim_db = db;
                self.pre.set_target(self.pre_target());
            }
            StripParam::InvertPolarity(on) => {
                self.invert_polarity = on;
                self.pre.set_target(self.pre_target());
            }
            StripParam::GainDb(db) => {
                self.gain_db = db;
                self.fader.set_target(db_to_gain(db));
            }
            StripParam::Pan(p) => self.pan.set_target(p.clamp(-1.0, 1.0)),
            StripParam::Mute(on) => {
                self.mute = on;
                return true;
            }
            StripParam::Solo(on) => {
                let changed = self.solo != on;
                self.solo = on;
                return changed;
            }
            StripParam::SendLevelDb(n, db) => {
                if let Some(s) = self.sends.get_mut(n as usize) {
                    s.level_db = db;
                    s.retarget();
                }
            }
            StripParam::SendPreFader(n, on) => {
                if let Some(s) = self.sends.get_mut(n as usize) {
                    s.pre_fader = on;
                    s.retarget();
                }
            }
            p => self.dsp.set(p),
        }
        false
    }

    /// Set audibility (mute and solo already resolved by the engine).
    pub(crate) fn set_audible(&mut self, audible: bool, snap: bool) {
        self.audible = audible;
        let target = if audible { 1.0 } else { 0.0 };
        if snap {
            self.gate.snap(target);
        } else {
            self.gate.set_target(target);
        }
    }

    /// Frames until the strip falls silent (its mute/solo fade ends at 0), if it is fading out.
    pub(crate) fn frames_to_silence(&self) -> Option<u32> {
        (self.gate.target() == 0.0 && !self.gate.is_settled()).then(|| self.gate.remaining_frames())
    }

    /// Silent and staying silent: nothing to compute.
    pub(crate) fn is_silent_settled(&self) -> bool {
        self.gate.is_settled() && self.gate.value() == 0.0
    }

    /// Advance the ramps without processing audio. The processors are reset on the first skipped segment, so
    /// their state when the strip becomes audible again does not depend on where blocks were split.
    pub(crate) fn skip(&mut self, frames: usize) {
        if !self.cleared {
            self.dsp.reset();
            self.cleared = true;
        }
        self.pre.skip(frames);
        self.fader.skip(frames);
        self.gate.skip(frames);
        self.pan.skip(frames);
        for s in &mut self.sends {
            s.skip(frames);
        }
        self.meter.frames += frames as u64;
        self.pre_meter.frames += frames as u64;
    }

    /// Process the block in place (mono input in `left` only; the result is stereo in both) and add the
    /// sends into the effect-bus inputs `ins_l/ins_r[bus][..n]`.
    pub(crate) fn process(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        ins_l: &mut [Vec<f32>],
        ins_r: &mut [Vec<f32>],
    ) {
        self.process_front(left, right);
        self.process_back(left, right, ins_l, ins_r);
    }

    /// Lets the strip's processors use AVX-512 where the CPU has it (see
    /// [`crate::dsp::reverb::Reverb::set_avx512`]); the offline engine turns it on.
    pub(crate) fn set_avx512(&mut self, on: bool) {
        self.dsp.comp.set_avx512(on);
    }

    /// The first part of [`TrackStrip::process`]: trim, polarity, filters, EQ and dynamics in place (and the
    /// pre-fader meter). Touches nothing outside the strip, so the offline engine runs it for several
    /// tracks at once; [`TrackStrip::process_back`] must follow on the same buffers.
    pub(crate) fn process_front(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.front_gain(left, right);
        self.dsp.process(left, right);
        self.front_meter(left, right);
    }

    /// [`TrackStrip::process_front`] for two strips at once (their filter chains share SIMD registers where
    /// they can); bit-identical to calling it on each.
    pub(crate) fn process_front_pair(
        a: &mut TrackStrip,
        b: &mut TrackStrip,
        (la, ra): (&mut [f32], &mut [f32]),
        (lb, rb): (&mut [f32], &mut [f32]),
    ) {
        a.front_gain(la, ra);
        b.front_gain(lb, rb);
        Dsp::process_filters_pair(&mut a.dsp, &mut b.dsp, (la, ra), (lb, rb));
        a.dsp.gate.process(la, ra);
        b.dsp.gate.process(lb, rb);
        Compressor::process_pair(&mut a.dsp.comp, &mut b.dsp.comp, (la, ra), (lb, rb));
        a.front_meter(la, ra);
        b.front_meter(lb, rb);
    }

    /// [`TrackStrip::process_front`] for four strips at once (their filter chains share SIMD registers and
    /// their compressors' ballistics run side by side where they can); bit-identical to calling it on each.
    pub(crate) fn process_front_quad(s: [&mut TrackStrip; 4], io: [(&mut [f32], &mut [f32]); 4]) {
        let [s0, s1, s2, s3] = s;
        let [(l0, r0), (l1, r1), (l2, r2), (l3, r3)] = io;
        s0.front_gain(l0, r0);
        s1.front_gain(l1, r1);
        s2.front_gain(l2, r2);
        s3.front_gain(l3, r3);
        Dsp::process_filters_quad(
            [&mut s0.dsp, &mut s1.dsp, &mut s2.dsp, &mut s3.dsp],
            [
                (&mut *l0, &mut *r0),
                (&mut *l1, &mut *r1),
                (&mut *l2, &mut *r2),
                (&mut *l3, &mut *r3),
            ],
        );
        s0.dsp.gate.process(l0, r0);
        s1.dsp.gate.process(l1, r1);
        s2.dsp.gate.process(l2, r2);
        s3.dsp.gate.process(l3, r3);
        Compressor::process_quad(
            [
                &mut s0.dsp.comp,
                &mut s1.dsp.comp,
                &mut s2.dsp.comp,
                &mut s3.dsp.comp,
            ],
            [
                (&mut *l0, &mut *r0),
                (&mut *l1, &mut *r1),
                (&mut *l2, &mut *r2),
                (&mut *l3, &mut *r3),
            ],
        );
        s0.front_meter(l0, r0);
        s1.front_meter(l1, r1);
        s2.front_meter(l2, r2);
        s3.front_meter(l3, r3);
    }

    /// Trim and polarity (and mono to both channels).
    fn front_gain(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len();
        let stereo = self.stereo;
        self.cleared = false;
        if self.pre.is_settled() {
            let g = self.pre.value();
            if g != 1.0 {
                left.iter_mut().for_each(|x| *x *= g);
                if stereo {
                    right.iter_mut().for_each(|x| *x *= g);
                }
            }
        } else {
            for i in 0..n {
                let g = self.pre.next_value();
                left[i] *= g;
                if stereo {
                    right[i] *= g;
                }
            }
        }
        if !stereo {
            right.copy_from_slice(left);
        }
    }

    fn front_meter(&mut self, left: &[f32], right: &[f32]) {
        if self.metering {
            accumulate(&mut self.pre_meter, left, right);
        }
    }

    /// The second part of [`TrackStrip::process`]: pre-fader sends, fader, pan, mute/solo, post-fader
    /// sends (added into `ins_l/ins_r`) and the output meter.
    pub(crate) fn process_back(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        ins_l: &mut [Vec<f32>],
        ins_r: &mut [Vec<f32>],
    ) {
        self.process_back_at(left, right, ins_l, ins_r, 0);
    }

    /// Whether the second part of the strip is at rest: the gate's audible gain, fader, pan and every send
    /// settled and no meter to feed. It is then a fixed function of each frame, which
    /// [`TrackStrip::back_at_rest_at`] applies through a shared reference (so the offline engine can run two
    /// frame ranges of it at once).
    pub(crate) fn back_at_rest(&self) -> bool {
        !self.metering
            && self.gate.is_settled()
            && self.fader.is_settled()
            && self.pan.is_settled()
            && self
                .sends
                .iter()
                .all(|s| s.pre.is_settled() && s.post.is_settled())
    }

    /// [`TrackStrip::process_back_at`] while [`TrackStrip::back_at_rest`]: the same operations per frame as its
    /// settled branches (in the AVX2 builds of [`kernels`] where the CPU has it: the same bits).
    pub(crate) fn back_at_rest_at<S: AsMut<[f32]>>(
        &self,
        left: &mut [f32],
        right: &mut [f32],
        ins_l: &mut [S],
        ins_r: &mut [S],
        off: usize,
    ) {
        let n = left.len();
        let mono_send = if self.stereo {
            1.0
        } else {
            pan_gains(0.0, false).0
        };
        let gate = self.gate.value();
        let mut add_send = |bus: u16, g: f32, left: &[f32], right: &[f32]| {
            let b = bus as usize;
            if let (Some(dl), Some(dr)) = (ins_l.get_mut(b), ins_r.get_mut(b)) {
                kernels::add_scaled(&mut dl.as_mut()[off..off + n], left, g);
                kernels::add_scaled(&mut dr.as_mut()[off..off + n], right, g);
            }
        };
        for s in self.sends.iter().filter(|s| s.pre.value() != 0.0) {
            add_send(s.bus, s.pre.value() * gate * mono_send, left, right);
        }
        let g = self.fader.value() * gate;
        let (gl, gr) = pan_gains(self.pan.value(), self.stereo);
        let (a, b) = (g * gl, g * gr);
        if a != 1.0 || b != 1.0 {
            kernels::scale(left, a);
            kernels::scale(right, b);
        }
        for s in self.sends.iter().filter(|s| s.post.value() != 0.0) {
            add_send(s.bus, s.post.value(), left, right);
        }
    }

    /// [`TrackStrip::process_back`] adding into the effect-bus inputs from frame `off` on (for a block that is
    /// part of a longer segment).
    pub(crate) fn process_back_at(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        ins_l: &mut [Vec<f32>],
        ins_r: &mut [Vec<f32>],
        off: usize,
    ) {
        if self.back_at_rest() {
            self.back_at_rest_at(left, right, ins_l, ins_r, off);
            return;
        }
        let n = left.len();
        let stereo = self.stereo;
        // audible gain per sample
        let abuf = &mut self.abuf[..n];
        let gate_settled = self.gate.is_settled();
        if gate_settled {
            abuf.fill(self.gate.value());
        } else {
            for a in abuf.iter_mut() {
                *a = self.gate.next_value();
            }
        }
        // pre-fader sends (mono at the centre pan law)
        let mono_send = if stereo { 1.0 } else { pan_gains(0.0, false).0 };
        for s in self.sends.iter_mut() {
            if s.pre.is_settled() && s.pre.value() == 0.0 {
                continue;
            }
            let b = s.bus as usize;
            let (Some(dl), Some(dr)) = (ins_l.get_mut(b), ins_r.get_mut(b)) else {
                s.pre.skip(n);
                continue;
            };
            let (dl, dr) = (&mut dl[off..off + n], &mut dr[off..off + n]);
            if s.pre.is_settled() && gate_settled {
                // the same product per frame, all factors constant
                let g = s.pre.value() * self.gate.value() * mono_send;
                for i in 0..n {
                    dl[i] += left[i] * g;
                    dr[i] += right[i] * g;
                }
            } else {
                for i in 0..n {
                    let g = s.pre.next_value() * abuf[i] * mono_send;
                    dl[i] += left[i] * g;
                    dr[i] += right[i] * g;
                }
            }
        }

        // fader, pan, mute/solo, in place
        if self.fader.is_settled() && self.pan.is_settled() && gate_settled {
            let g = self.fader.value() * self.gate.value();
            let (gl, gr) = pan_gains(self.pan.value(), stereo);
            let (a, b) = (g * gl, g * gr);
            // x * 1.0 == x exactly: a unity strip skips the multiply
            if a != 1.0 || b != 1.0 {
                for i in 0..n {
                    left[i] *= a;
                    right[i] *= b;
                }
            }
        } else {
            for i in 0..n {
                let g = self.fader.next_value() * abuf[i];
                let (gl, gr) = pan_gains(self.pan.next_value(), stereo);
                left[i] *= g * gl;
                right[i] *= g * gr;
            }
        }
        // post-fader sends (the audible gain is already in the signal)
        for s in self.sends.iter_mut() {
            if s.post.is_settled() && s.post.value() == 0.0 {
                continue;
            }
            let b = s.bus as usize;
            let (Some(dl), Some(dr)) = (ins_l.get_mut(b), ins_r.get_mut(b)) else {
                s.post.skip(n);
                continue;
            };
            let (dl, dr) = (&mut dl[off..off + n], &mut dr[off..off + n]);
            if s.post.is_settled() {
                let g = s.post.value();
                for i in 0..n {
                    dl[i] += left[i] * g;
                    dr[i] += right[i] * g;
                }
            } else {
                for i in 0..n {
                    let g = s.post.next_value();
                    dl[i] += left[i] * g;
                    dr[i] += right[i] * g;
                }
            }
        }
        if self.metering {
            accumulate(&mut self.meter, left, right);
        }
    }
}

fn accumulate(m: &mut StripMeter, left: &[f32], right: &[f32]) {
    // Four partial sums per channel (one long sum waits on every addition's latency); a meter reading,
    // not audio, so the summation order does not matter.
    const LANES: usize = 4;
    let (mut pk_l, mut pk_r) = ([m.peak[0]; LANES], [m.peak[1]; LANES]);
    let (mut sq_l, mut sq_r) = ([0.0f64; LANES], [0.0f64; LANES]);
    let (lc, rc) = (left.chunks_exact(LANES), right.chunks_exact(LANES));
    let (lt, rt) = (lc.remainder(), rc.remainder());
    for (cl, cr) in lc.zip(rc) {
        for k in 0..LANES {
            pk_l[k] = pk_l[k].max(cl[k].abs());
            pk_r[k] = pk_r[k].max(cr[k].abs());
            sq_l[k] += (cl[k] * cl[k]) as f64;
            sq_r[k] += (cr[k] * cr[k]) as f64;
        }
    }
    for (&yl, &yr) in lt.iter().zip(rt) {
        pk_l[0] = pk_l[0].max(yl.abs());
        pk_r[0] = pk_r[0].max(yr.abs());
        sq_l[0] += (yl * yl) as f64;
        sq_r[0] += (yr * yr) as f64;
    }
    let max4 = |p: [f32; LANES]| p[0].max(p[1]).max(p[2].max(p[3]));
    m.peak = [max4(pk_l), max4(pk_r)];
    m.sum_sq[0] += (sq_l[0] + sq_l[1]) + (sq_l[2] + sq_l[3]);
    m.sum_sq[1] += (sq_r[0] + sq_r[1]) + (sq_r[2] + sq_r[3]);
    m.frames += left.len() as u64;
}

pub(crate) struct MasterStrip {
    gain_db: f32,
    mute: bool,
    gain: Ramp,
    eq: Eq4,
    comp: Compressor,
    limiter: Option<Limiter>,
    pub(crate) meter: StripMeter,
    /// Accumulate `meter` (see [`TrackStrip::metering`]).
    pub(crate) metering: bool,
}

impl MasterStrip {
    /// As [`TrackStrip::set_avx512`].
    pub(crate) fn set_avx512(&mut self, on: bool) {
        self.comp.set_avx512(on);
        if let Some(l) = self.limiter.as_mut() {
            l.set_avx512(on);
        }
    }

    pub(crate) fn new(state: &MasterState, ramp_frames: u32, sample_rate_hz: u32) -> Self {
        let fs = sample_rate_hz as f32;
        let mut eq = Eq4::new(fs);
        apply_eq(&mut eq, &state.eq);
        let mut comp = Compressor::new(fs);
        apply_comp(&mut comp, &state.compressor);
        let limiter = state.limiter.map(|st| {
            let mut l = Limiter::new(fs);
            l.set_ceiling_db(st.ceiling_dbtp);
            l.set_release_ms(st.release_ms);
            l.set_enabled(st.enabled);
            l
        });
        Self {
            gain_db: state.gain_db,
            mute: false,
            gain: Ramp::new(db_to_gain(state.gain_db), ramp_frames),
            eq,
            comp,
            limiter,
            meter: StripMeter::default(),
            metering: true,
        }
    }

    fn target(&self) -> f32 {
        if self.mute {
            0.0
        } else {
            db_to_gain(self.gain_db)
        }
    }

    /// Frames of delay the master adds (the limiter's lookahead, when present).
    pub(crate) fn latency_frames(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.latency_frames())
    }

    pub(crate) fn gain_reduction(&self) -> GainReduction {
        GainReduction {
            gate_db: 0.0,
            comp_db: self.comp.gain_reduction_db(),
            limiter_db: self.limiter.as_ref().map_or(0.0, |l| l.gain_reduction_db()),
        }
    }

    /// Master accepts fader, mute, EQ, compressor and limiter parameters; others are ignored.
    pub(crate) fn set(&mut self, param: StripParam) {
        if set_eq_comp(&mut self.eq, &mut self.comp, param) {
            return;
        }
        match param {
            StripParam::GainDb(db) => self.gain_db = db,
            StripParam::Mute(on) => self.mute = on,
            StripParam::LimiterEnabled(on) => {
                if let Some(l) = &mut self.limiter {
                    l.set_enabled(on);
                }
                return;
            }
            StripParam::LimiterCeilingDbtp(v) => {
                if let Some(l) = &mut self.limiter {
                    l.set_ceiling_db(v);
                }
                return;
            }
            StripParam::LimiterReleaseMs(v) => {
                if let Some(l) = &mut self.limiter {
                    l.set_release_ms(v);
                }
                return;
            }
            _ => return,
        }
        self.gain.set_target(self.target());
    }

    pub(crate) fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.eq.process(left, right);
        self.comp.process(left, right);
        if self.gain.is_settled() {
            let g = self.gain.value();
            if g != 1.0 {
                left.iter_mut().for_each(|x| *x *= g);
                right.iter_mut().for_each(|x| *x *= g);
            }
        } else {
            for i in 0..left.len() {
                let g = self.gain.next_value();
                left[i] *= g;
                right[i] *= g;
            }
        }
        if let Some(l) = &mut self.limiter {
            l.process(left, right);
        }
        if self.metering {
            accumulate(&mut self.meter, left, right);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_power_pan_law() {
        for i in 0..=20 {
            let p = -1.0 + i as f32 * 0.1;
            let (l, r) = pan_gains(p, false);
            assert!((l * l + r * r - 1.0).abs() < 1e-6, "power sum at {p}");
        }
        let (l, r) = pan_gains(0.0, false);
        assert!((20.0 * l.log10() + 3.0103).abs() < 1e-3);
        assert!((20.0 * r.log10() + 3.0103).abs() < 1e-3);
        assert_eq!(pan_gains(-1.0, false), (1.0, 0.0));
        assert_eq!(pan_gains(1.0, false), (0.0, 1.0));
    }

    #[test]
    fn stereo_balance_passes_unchanged_at_centre() {
        assert_eq!(pan_gains(0.0, true), (1.0, 1.0));
        let (l, r) = pan_gains(1.0, true);
        assert_eq!((l, r), (0.0, 1.0));
    }
}
