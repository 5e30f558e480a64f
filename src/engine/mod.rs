//! Runs on the audio thread: the shared mix engine used by real-time playback and offline render alike.
//!
//! Signal flow per track: source → trim → polarity → HPF → LPF → EQ → gate → compressor → (pre-fader sends)
//! → fader → pan → (post-fader sends) → mute/solo → its output (master or a group bus). Group buses have the
//! same strip and feed the master or another group bus (processed sources first); effect buses run a reverb
//! or delay (100 % wet) then their return strip into the master. The master runs EQ → bus compressor →
//! fader → lookahead limiter. Every parameter change arrives as a [`Command`] stamped with an engine-clock frame and
//! is applied per sample through [`ramp::Ramp`]s, so the output does not depend on block size.
//! [`Engine::process`] never allocates, locks or does I/O: everything is allocated in [`Engine::new`].

pub mod command;
pub mod monitor;
pub mod ramp;
pub mod source;
pub mod strip;

pub use command::{Command, CommandKind, StripId, StripParam, TransportCommand};
pub use monitor::{Monitor, MonitorCommand, MAX_REFERENCES};
pub use source::{MemorySource, SilentSource, Source};
pub use strip::{
    CompState, EqBandState, EqState, GainReduction, GateState, LimiterState, MasterState, Output,
    PassState, SendState, StripMeter, StripState,
};

use crate::dsp::delay::Delay;
use crate::dsp::kernels::add;
use crate::dsp::reverb::Reverb;
use crate::dsp::StereoProcessor;

use strip::{MasterStrip, TrackStrip};

/// Length of parameter ramps (click-free, short enough to feel immediate).
pub const RAMP_MS: f32 = 10.0;

/// Construction parameters.
#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    /// Sample rate of the engine and every source.
    pub sample_rate_hz: u32,
    /// Largest block `process` will be given.
    pub max_block_frames: usize,
    /// Capacity of the pending-command queue; commands beyond it are dropped and counted.
    pub max_pending_commands: usize,
}

impl EngineConfig {
    /// A config with a 1024-command queue.
    pub fn new(sample_rate_hz: u32, max_block_frames: usize) -> Self {
        Self {
            sample_rate_hz,
            max_block_frames,
            max_pending_commands: 1024,
        }
    }
}

/// One track: a source and its strip.
pub struct TrackInit {
    /// The audio.
    pub source: Box<dyn Source>,
    /// Static settings applied from the first sample.
    pub state: StripState,
}

struct Track {
    source: Box<dyn Source>,
    strip: TrackStrip,
    route: Route,
}

/// A strip's output crossfade: while `xfade` runs from 0 to 1 the signal goes to `strip.output` with gain
/// `x` and to `prev` with gain `1 − x` (linear, so coherent paths sum to the signal). `next` waits for the
/// running crossfade to end.
struct Route {
    prev: Option<Output>,
    next: Option<Output>,
    xfade: ramp::Ramp,
}

impl Route {
    fn new(ramp_frames: u32) -> Self {
        Route {
            prev: None,
            next: None,
            xfade: ramp::Ramp::new(1.0, ramp_frames),
        }
    }

    /// Route to `to` from `from` (the current output), or queue it behind a running crossfade.
    /// Returns the new current output.
    fn change(&mut self, from: Output, to: Output) -> Output {
        if self.prev.is_some() {
            self.next = Some(to);
            return from;
        }
        self.next = None;
        if to == from {
            return from;
        }
        self.prev = Some(from);
        self.xfade.snap(0.0);
        self.xfade.set_target(1.0);
        to
    }

    /// Frames until the running crossfade ends (when something depends on that moment).
    fn frames_to_change(&self) -> Option<u32> {
        (self.prev.is_some() && !self.xfade.is_settled()).then(|| self.xfade.remaining_frames())
    }

    /// At a segment start: finish an ended crossfade and start a queued one. True when edges changed.
    fn advance(&mut self, output: &mut Output) -> bool {
        if self.prev.is_none() || !self.xfade.is_settled() {
            return false;
        }
        self.prev = None;
        if let Some(n) = self.next.take() {
            *output = self.change(*output, n);
        }
        true
    }
}

/// Reverb settings of an effect bus.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReverbState {
    /// T60 in s.
    pub decay_s: f32,
    /// Pre-delay in ms.
    pub pre_delay_ms: f32,
    /// Room size 0.5 … 2.
    pub size: f32,
    /// High-frequency damping 0 … 1.
    pub damping: f32,
    /// Stereo width 0 … 1.
    pub width: f32,
}

impl Default for ReverbState {
    fn default() -> Self {
        Self {
            decay_s: 2.0,
            pre_delay_ms: 20.0,
            size: 1.0,
            damping: 0.5,
            width: 1.0,
        }
    }
}

/// Delay settings of an effect bus.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DelayState {
    /// Delay time in ms.
    pub time_ms: f32,
    /// Feedback 0 … 0.99.
    pub feedback: f32,
    /// Low cut in the feedback path, Hz.
    pub low_cut_hz: f32,
    /// High cut in the feedback path, Hz.
    pub high_cut_hz: f32,
    /// Ping-pong.
    pub ping_pong: bool,
}

impl Default for DelayState {
    fn default() -> Self {
        Self {
            time_ms: 375.0,
            feedback: 0.35,
            low_cut_hz: 100.0,
            high_cut_hz: 8_000.0,
            ping_pong: false,
        }
    }
}

/// What a bus does before its strip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BusKind {
    /// Sums the tracks (and buses) routed to it.
    Group,
    /// Effect bus with a reverb (fed by sends; solo-safe).
    Reverb(ReverbState),
    /// Effect bus with a delay (fed by sends; solo-safe).
    Delay(DelayState),
}

/// One bus.
#[derive(Clone, Debug)]
pub struct BusInit {
    /// What it is.
    pub kind: BusKind,
    /// Its strip (effect buses: the return; their output is always the master).
    pub state: StripState,
}

enum Fx {
    None,
    Reverb(Box<Reverb>),
    Delay(Box<Delay>),
}

impl Fx {
    /// Runs the bus's effect over the block in place (nothing for a group bus).
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        match self {
            Fx::None => {}
            Fx::Reverb(x) => x.process(l, r),
            Fx::Delay(x) => x.process(l, r),
        }
    }

    /// Clears the effect's state.
    fn reset(&mut self) {
        match self {
            Fx::None => {}
            Fx::Reverb(x) => x.reset(),
            Fx::Delay(x) => x.reset(),
        }
    }
}

struct Bus {
    fx: Fx,
    strip: TrackStrip,
    route: Route,
    /// Part of the solo: soloed, on a soloed strip's path, or feeding a soloed bus.
    needed: bool,
}

impl Bus {
    /// A silent, settled bus is not processed: its effect is cleared once and its ramps advance `frames`.
    /// Returns whether it was skipped.
    fn skip_if_silent(&mut self, frames: usize) -> bool {
        if !self.strip.is_silent_settled() {
            return false;
        }
        if !self.strip.cleared {
            self.fx.reset();
        }
        self.strip.skip(frames);
        self.route.xfade.skip(frames);
        true
    }
}

/// The processing order of group buses (a bus before the bus it feeds), or the first bus of a cycle.
pub fn bus_order(outputs: &[Output]) -> Result<Vec<usize>, usize> {
    let n = outputs.len();
    // depth = number of group hops to the master
    let mut depth = vec![0usize; n];
    for (i, d) in depth.iter_mut().enumerate() {
        let mut cur = i;
        let mut hops = 0;
        while let Output::Bus(b) = outputs[cur] {
            hops += 1;
            if hops > n || b as usize >= n {
                return Err(i);
            }
            cur = b as usize;
        }
        *d = hops;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(depth[i]));
    Ok(order)
}

#[derive(Clone, Copy, Debug, Default)]
struct Transport {
    playing: bool,
    position_frames: u64,
    loop_start_frames: u64,
    loop_end_frames: u64,
    loop_enabled: bool,
}

impl Transport {
    fn loop_active(&self) -> bool {
        self.loop_enabled && self.loop_end_frames > self.loop_start_frames
    }
}

/// The mix engine.
pub struct Engine {
    sample_rate_hz: u32,
    max_block_frames: usize,
    clock_frames: u64,
    transport: Transport,
    tracks: Vec<Track>,
    buses: Vec<Bus>,
    /// Group buses first (deepest first), then effect buses.
    bus_order: Vec<usize>,
    ins_l: Vec<Vec<f32>>,
    ins_r: Vec<Vec<f32>>,
    master: MasterStrip,
    /// The master strip runs outside the engine ([`Engine::detach_master`]): the engine's output is the mix
    /// before it, and `master` is a neutral stand-in that never runs.
    master_detached: Option<usize>,
    monitor: Monitor,
    any_solo: bool,
    pending: Vec<Command>,
    dropped_commands: u64,
    retired: Vec<Box<dyn Source>>,
    length_frames: u64,
    track_l: Vec<f32>,
    track_r: Vec<f32>,
    bus_l: Vec<f32>,
    bus_r: Vec<f32>,
    /// The mix before the monitor section, for the last `process` call (what the meters measure).
    mix_l: Vec<f32>,
    mix_r: Vec<f32>,
    /// Keep `mix_l`/`mix_r` (off with the meters: an offline render reads neither).
    keep_mix: bool,
    /// Per-sample crossfade gains of the strip being routed.
    xbuf: Vec<f32>,
    /// Scratch for recomputing the bus order without allocating.
    order_scratch: Vec<usize>,
    indeg: Vec<usize>,
    refused_commands: u64,
    /// Offline only ([`Engine::set_offline_parallel`]): one left/right buffer per track, so the tracks'
    /// strips of a segment run on several threads. `None` (always on the audio thread): one thread.
    par_bufs: Option<Vec<[Vec<f32>; 2]>>,
    /// Scratch for the offline path: which tracks are audible in the current segment.
    live: Vec<bool>,
    /// The same per bus (used by effect buses), with `par_bufs`.
    par_bus_bufs: Option<Vec<[Vec<f32>; 2]>>,
}

impl Engine {
    /// Build an engine with its tracks; static settings apply from the first sample, without ramps.
    pub fn new(config: EngineConfig, master: MasterState, tracks: Vec<TrackInit>) -> Self {
        Self::with_buses(config, master, tracks, Vec::new())
    }

    /// Build an engine with tracks and buses. This is the starting routing (changed at run time by
    /// [`StripParam::Route`] and [`StripParam::SendTo`]; every track and group bus gets one spare send slot per
    /// effect bus here, so those never allocate): outputs naming a missing bus, an effect bus, or closing a
    /// loop fall back to the master (the session loader refuses them with an error first); sends naming a bus
    /// that is not an effect bus are dropped.
    pub fn with_buses(
        config: EngineConfig,
        master: MasterState,
        tracks: Vec<TrackInit>,
        buses: Vec<BusInit>,
    ) -> Self {
        let rate = config.sample_rate_hz;
        let ramp_frames = ramp_frames(rate);
        let max = config.max_block_frames.max(1);
        let is_group = |o: Output| match o {
            Output::Master => true,
            Output::Bus(b) => buses
                .get(b as usize)
                .is_some_and(|x| matches!(x.kind, BusKind::Group)),
        };
        let is_fx = |b: u16| {
            buses
                .get(b as usize)
                .is_some_and(|x| !matches!(x.kind, BusKind::Group))
        };
        let sanitize = |st: &StripState, allow_bus_output: bool| {
            let mut st = st.clone();
            if !allow_bus_output || !is_group(st.output) {
                st.output = Output::Master;
            }
            st.sends.retain(|s| is_fx(s.bus));
            st
        };
        let mut bus_states: Vec<StripState> = buses
            .iter()
            .map(|b| {
                let mut st = sanitize(&b.state, matches!(b.kind, BusKind::Group));
                if !matches!(b.kind, BusKind::Group) {
                    st.sends.clear();
                }
                st
            })
            .collect();
        let outputs: Vec<Output> = bus_states.iter().map(|s| s.output).collect();
        let group_order = match bus_order(&outputs) {
            Ok(o) => o,
            Err(_) => {
                for st in &mut bus_states {
                    st.output = Output::Master;
                }
                (0..bus_states.len()).collect()
            }
        };
        let mut order: Vec<usize> = group_order
            .iter()
            .copied()
            .filter(|&i| matches!(buses[i].kind, BusKind::Group))
            .collect();
        order.extend((0..buses.len()).filter(|&i| !matches!(buses[i].kind, BusKind::Group)));
        let fs = rate as f32;
        let fx_count = buses
            .iter()
            .filter(|b| !matches!(b.kind, BusKind::Group))
            .count();
        let buses: Vec<Bus> = buses
            .iter()
            .zip(&bus_states)
            .map(|(b, st)| Bus {
                fx: match b.kind {
                    BusKind::Group => Fx::None,
                    BusKind::Reverb(r) => {
                        let mut v = Box::new(Reverb::new(fs));
                        v.set_decay_s(r.decay_s);
                        v.set_pre_delay_ms(r.pre_delay_ms);
                        v.set_size(r.size);
                        v.set_damping(r.damping);
                        v.set_width(r.width);
                        v.set_enabled(true);
                        Fx::Reverb(v)
                    }
                    BusKind::Delay(d) => {
                        let mut v = Box::new(Delay::new(fs));
                        v.set_time_ms(d.time_ms);
                        v.set_feedback(d.feedback);
                        v.set_low_cut_hz(d.low_cut_hz);
                        v.set_high_cut_hz(d.high_cut_hz);
                        v.set_ping_pong(d.ping_pong);
                        v.set_enabled(true);
                        Fx::Delay(v)
                    }
                },
                strip: {
                    let mut s = TrackStrip::new(st, 2, ramp_frames, rate, max);
                    if matches!(b.kind, BusKind::Group) {
                        s.reserve_send_slots(fx_count);
                    }
                    s
                },
                route: Route::new(ramp_frames),
                needed: false,
            })
            .collect();
        let tracks: Vec<Track> = tracks
            .into_iter()
            .map(|t| Track {
                strip: {
                    let mut s = TrackStrip::new(
                        &sanitize(&t.state, true),
                        t.source.channels(),
                        ramp_frames,
                        rate,
                        max,
                    );
                    s.reserve_send_slots(fx_count);
                    s
                },
                route: Route::new(ramp_frames),
                source: t.source,
            })
            .collect();
        let nb = buses.len();
        let mut engine = Self {
            sample_rate_hz: config.sample_rate_hz,
            max_block_frames: max,
            clock_frames: 0,
            transport: Transport::default(),
            master: MasterStrip::new(&master, ramp_frames, rate),
            master_detached: None,
            monitor: Monitor::new(ramp_frames, max),
            buses,
            bus_order: order,
            ins_l: vec![vec![0.0; max]; nb],
            ins_r: vec![vec![0.0; max]; nb],
            any_solo: false,
            pending: Vec::with_capacity(config.max_pending_commands.max(1)),
            dropped_commands: 0,
            retired: Vec::with_capacity(tracks.len() + 8),
            length_frames: 0,
            track_l: vec![0.0; max],
            track_r: vec![0.0; max],
            bus_l: vec![0.0; max],
            bus_r: vec![0.0; max],
            mix_l: vec![0.0; max],
            keep_mix: true,
            mix_r: vec![0.0; max],
            xbuf: vec![0.0; max],
            order_scratch: Vec::with_capacity(nb),
            indeg: vec![0; nb],
            refused_commands: 0,
            par_bufs: None,
            live: Vec::new(),
            par_bus_bufs: None,
            tracks,
        };
        engine.update_length();
        engine.update_solo(true);
        engine
    }

    /// Sample rate in Hz.
    pub fn sample_rate_hz(&self) -> u32 {
        self.sample_rate_hz
    }

    /// Largest block accepted by `process`.
    pub fn max_block_frames(&self) -> usize {
        self.max_block_frames
    }

    /// Frames processed since construction (the clock command stamps refer to).
    pub fn clock_frames(&self) -> u64 {
        self.clock_frames
    }

    /// Current timeline position.
    pub fn position_frames(&self) -> u64 {
        self.transport.position_frames
    }

    /// True while the transport is playing.
    pub fn is_playing(&self) -> bool {
        self.transport.playing
    }

    /// Length of the longest source.
    pub fn length_frames(&self) -> u64 {
        self.length_frames
    }

    /// Frames of delay between input and output (the master limiter's lookahead; 0 without a limiter).
    /// Offline renders drop this many frames at the start and flush as many at the end.
    pub fn latency_frames(&self) -> usize {
        self.master_detached
            .unwrap_or_else(|| self.master.latency_frames())
    }

    /// Takes the master strip out of the engine, for a render that runs it on another thread (a pipeline
    /// stage after the mix, see `render`): from now on [`Engine::process`] returns the mix before the master,
    /// and the returned [`DetachedMaster`] turns it into the engine's output, block by block in order (its
    /// processors are block-size invariant, so any block split gives the same samples).
    /// [`Engine::latency_frames`] still counts the master's latency. Commands to the master no longer reach
    /// it, so detach only for a render without them (renders send transport commands only).
    pub fn detach_master(&mut self) -> DetachedMaster {
        let stand_in = MasterStrip::new(
            &MasterState::default(),
            ramp_frames(self.sample_rate_hz),
            self.sample_rate_hz,
        );
        self.master_detached = Some(self.master.latency_frames());
        DetachedMaster {
            strip: std::mem::replace(&mut self.master, stand_in),
        }
    }

    /// True when the engine has effect buses (whose reverb or delay rings on after the sources end).
    pub fn has_tail(&self) -> bool {
        self.buses.iter().any(|b| !matches!(b.fx, Fx::None))
    }

    /// Number of buses.
    pub fn bus_count(&self) -> usize {
        self.buses.len()
    }

    /// Gate and compressor gain reduction of a track over the last processed block.
    pub fn track_gain_reduction_db(&self, index: usize) -> Option<GainReduction> {
        self.tracks.get(index).map(|t| t.strip.gain_reduction())
    }

    /// Gate and compressor gain reduction of a bus over the last processed block.
    pub fn bus_gain_reduction_db(&self, index: usize) -> Option<GainReduction> {
        self.buses.get(index).map(|b| b.strip.gain_reduction())
    }

    /// Compressor and limiter gain reduction of the master over the last processed block.
    pub fn master_gain_reduction_db(&self) -> GainReduction {
        self.master.gain_reduction()
    }

    /// Meters of a bus since the last [`Engine::reset_meters`].
    pub fn bus_meter(&self, index: usize) -> Option<&StripMeter> {
        self.buses.get(index).map(|b| &b.strip.meter)
    }

    /// Level of a track after its dynamics, before the fader, since the last [`Engine::reset_meters`].
    pub fn track_pre_fader_meter(&self, index: usize) -> Option<&StripMeter> {
        self.tracks.get(index).map(|t| &t.strip.pre_meter)
    }

    /// Number of tracks.
    pub fn track_count(&self) -> usize {
        self.tracks.len()
    }

    /// Routing commands refused (an output naming a missing or effect bus or closing a loop between group
    /// buses, a send to a bus that is not an effect bus, a send on an effect bus).
    pub fn refused_commands(&self) -> u64 {
        self.refused_commands
    }

    /// Where a track's output goes now (after any queued change has started).
    pub fn track_output(&self, index: usize) -> Option<Output> {
        self.tracks
            .get(index)
            .map(|t| t.route.next.unwrap_or(t.strip.output))
    }

    /// Where a bus's output goes now (after any queued change has started).
    pub fn bus_output(&self, index: usize) -> Option<Output> {
        self.buses
            .get(index)
            .map(|b| b.route.next.unwrap_or(b.strip.output))
    }

    /// Commands dropped because the pending queue was full.
    pub fn dropped_commands(&self) -> u64 {
        self.dropped_commands
    }

    /// Meters of a track since the last [`Engine::reset_meters`].
    pub fn track_meter(&self, index: usize) -> Option<&StripMeter> {
        self.tracks.get(index).map(|t| &t.strip.meter)
    }

    /// Meters of the master since the last [`Engine::reset_meters`].
    pub fn master_meter(&self) -> &StripMeter {
        &self.master.meter
    }

    /// Switch the strip meters (track, bus, master level accumulators) and the copy of the mix for
    /// [`Engine::last_mix`] on or off; on by default. Offline render switches them off: nothing reads them there,
    /// and the audio is identical either way.
    pub fn set_metering(&mut self, on: bool) {
        self.keep_mix = on;
        for t in &mut self.tracks {
            t.strip.metering = on;
        }
        for b in &mut self.buses {
            b.strip.metering = on;
        }
        self.master.metering = on;
    }

    /// Offline render only — never on the audio thread (it allocates here and then runs work on rayon's
    /// thread pool): with `on`, each segment reads and processes the tracks' sources, trim, filters, EQ and
    /// dynamics on several threads, each track into its own buffer; then sends, fader, pan and the sums into
    /// buses and the master run on this thread in track order, exactly as the single-threaded engine does.
    /// Likewise the effect buses' reverbs/delays and strip fronts run side by side once the group buses are
    /// done, and are summed into the master in bus order.
    /// It also lets the processors use AVX-512 where the CPU has it.
    /// Every operation on every sample is the same, so the output is bit-identical either way.
    pub fn set_offline_parallel(&mut self, on: bool) {
        let m = self.max_block_frames;
        let bufs = |n: usize| on.then(|| (0..n).map(|_| [vec![0.0; m], vec![0.0; m]]).collect());
        self.par_bufs = bufs(self.tracks.len());
        self.live = vec![false; self.tracks.len()];
        self.par_bus_bufs = bufs(self.buses.len());
        // Offline, the widest vectors pay (see `Reverb::set_avx512` for why playback does without them).
        for t in &mut self.tracks {
            t.strip.set_avx512(on);
        }
        for b in &mut self.buses {
            b.strip.set_avx512(on);
            if let Fx::Reverb(r) = &mut b.fx {
                r.set_avx512(on);
            }
        }
        self.master.set_avx512(on);
    }

    /// Clear all meter accumulators.
    pub fn reset_meters(&mut self) {
        for t in &mut self.tracks {
            t.strip.meter = StripMeter::default();
            t.strip.pre_meter = StripMeter::default();
        }
        for b in &mut self.buses {
            b.strip.meter = StripMeter::default();
            b.strip.pre_meter = StripMeter::default();
        }
        self.master.meter = StripMeter::default();
    }

    /// A source replaced by [`CommandKind::ReplaceSource`], to be dropped off the audio thread.
    pub fn take_retired_source(&mut self) -> Option<Box<dyn Source>> {
        self.retired.pop()
    }

    /// Queue a command. Never allocates: when the queue is full the command is dropped and counted, and
    /// returned so the caller can retry later.
    pub fn push(&mut self, cmd: Command) -> Result<(), Command> {
        if self.pending.len() == self.pending.capacity() {
            self.dropped_commands += 1;
            return Err(cmd);
        }
        // Keep the queue sorted by stamp, stable for equal stamps (insertion after the last equal one).
        let idx = self.pending.partition_point(|c| c.at_frame <= cmd.at_frame);
        self.pending.insert(idx, cmd);
        Ok(())
    }

    /// Process one stereo block (planar). `left.len() == right.len() <= max_block_frames`.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len()).min(self.max_block_frames);
        let mut done = 0;
        while done < n {
            self.apply_due_commands();
            self.advance_routes();
            let mut seg = n - done;
            for f in self
                .tracks
                .iter()
                .filter_map(|t| t.route.frames_to_change())
                .chain(self.buses.iter().filter_map(|b| b.route.frames_to_change()))
            {
                seg = seg.min(f as usize);
            }
            if let Some(next) = self.pending.first() {
                let until = next.at_frame.saturating_sub(self.clock_frames);
                seg = seg.min(until.max(1) as usize);
            }
            // A strip that falls silent stops being processed (and resets its processors) exactly there,
            // whatever the block size.
            for f in self
                .tracks
                .iter()
                .filter_map(|t| t.strip.frames_to_silence())
                .chain(
                    self.buses
                        .iter()
                        .filter_map(|b| b.strip.frames_to_silence()),
                )
            {
                seg = seg.min(f as usize);
            }
            let t = self.transport;
            if t.playing && t.loop_active() && t.position_frames < t.loop_end_frames {
                seg = seg.min((t.loop_end_frames - t.position_frames) as usize);
            }
            self.render_segment(seg);
            // the mix, before the listening-only monitor section
            if self.keep_mix {
                self.mix_l[done..done + seg].copy_from_slice(&self.bus_l[..seg]);
                self.mix_r[done..done + seg].copy_from_slice(&self.bus_r[..seg]);
            }
            {
                let (bl, br) = (&mut self.bus_l[..seg], &mut self.bus_r[..seg]);
                let t = self.transport;
                self.monitor.select(bl, br, t.position_frames, t.playing);
                self.monitor.process(bl, br);
            }
            left[done..done + seg].copy_from_slice(&self.bus_l[..seg]);
            right[done..done + seg].copy_from_slice(&self.bus_r[..seg]);
            self.clock_frames += seg as u64;
            if self.transport.playing {
                let t = &mut self.transport;
                let before = t.position_frames;
                t.position_frames += seg as u64;
                if t.loop_active()
                    && before < t.loop_end_frames
                    && t.position_frames >= t.loop_end_frames
                {
                    t.position_frames = t.loop_start_frames;
                }
            }
            done += seg;
        }
        left[n..].fill(0.0);
        right[n..].fill(0.0);
    }

    /// The mix of the last [`Engine::process`] call, `frames` long, before the monitor section (mono check,
    /// dim, references): what meters and loudness measure, whatever is being listened to. Not kept while the
    /// meters are off ([`Engine::set_metering`]).
    pub fn last_mix(&self, frames: usize) -> (&[f32], &[f32]) {
        let n = frames.min(self.max_block_frames);
        (&self.mix_l[..n], &self.mix_r[..n])
    }

    /// Process into an interleaved stereo buffer of any length (split into blocks internally).
    pub fn process_interleaved(&mut self, out: &mut [f32]) {
        self.process_interleaved_with_mix(out, |_, _| {});
    }

    /// As [`Engine::process_interleaved`], handing each processed chunk's mix (before the monitor section,
    /// planar left and right) to `mix` as it goes, so a caller can meter the mix without a buffer of its own.
    pub fn process_interleaved_with_mix(
        &mut self,
        out: &mut [f32],
        mut mix: impl FnMut(&[f32], &[f32]),
    ) {
        const CHUNK: usize = 256;
        let mut tmp_l = [0.0f32; CHUNK];
        let mut tmp_r = [0.0f32; CHUNK];
        let frames_total = out.len() / 2;
        let mut done = 0;
        while done < frames_total {
            let n = (frames_total - done).min(CHUNK).min(self.max_block_frames);
            self.process(&mut tmp_l[..n], &mut tmp_r[..n]);
            mix(&self.mix_l[..n], &self.mix_r[..n]);
            for (i, frame) in out[2 * done..2 * (done + n)]
                .chunks_exact_mut(2)
                .enumerate()
            {
                frame[0] = tmp_l[i];
                frame[1] = tmp_r[i];
            }
            done += n;
        }
    }

    fn apply_due_commands(&mut self) {
        let mut count = 0;
        while count < self.pending.len() && self.pending[count].at_frame <= self.clock_frames {
            count += 1;
        }
        if count == 0 {
            return;
        }
        let mut solo_changed = false;
        // taken out (no allocation) so routing handlers may borrow the engine
        let mut pending = std::mem::take(&mut self.pending);
        for cmd in pending.drain(..count) {
            match cmd.kind {
                CommandKind::Strip {
                    strip,
                    param: param @ (StripParam::Route(_) | StripParam::SendTo { .. }),
                } => {
                    if self.route(strip, param) {
                        solo_changed = true;
                    } else {
                        self.refused_commands += 1;
                    }
                }
                CommandKind::Strip { strip, param } => match strip {
                    StripId::Track(i) => {
                        if let Some(t) = self.tracks.get_mut(i as usize) {
                            solo_changed |= t.strip.set(param);
                        }
                    }
                    StripId::Master => self.master.set(param),
                    StripId::Bus(i) => {
                        if let Some(b) = self.buses.get_mut(i as usize) {
                            match (&mut b.fx, param) {
                                (Fx::Reverb(r), StripParam::ReverbDecayS(v)) => r.set_decay_s(v),
                                (Fx::Reverb(r), StripParam::ReverbPreDelayMs(v)) => {
                                    r.set_pre_delay_ms(v)
                                }
                                (Fx::Reverb(r), StripParam::ReverbSize(v)) => r.set_size(v),
                                (Fx::Reverb(r), StripParam::ReverbDamping(v)) => r.set_damping(v),
                                (Fx::Reverb(r), StripParam::ReverbWidth(v)) => r.set_width(v),
                                (Fx::Delay(d), StripParam::DelayTimeMs(v)) => d.set_time_ms(v),
                                (Fx::Delay(d), StripParam::DelayFeedback(v)) => d.set_feedback(v),
                                (Fx::Delay(d), StripParam::DelayLowCutHz(v)) => d.set_low_cut_hz(v),
                                (Fx::Delay(d), StripParam::DelayHighCutHz(v)) => {
                                    d.set_high_cut_hz(v)
                                }
                                (Fx::Delay(d), StripParam::DelayPingPong(on)) => {
                                    d.set_ping_pong(on)
                                }
                                _ => solo_changed |= b.strip.set(param),
                            }
                        }
                    }
                },
                CommandKind::Transport(tc) => {
                    let t = &mut self.transport;
                    match tc {
                        TransportCommand::Play => t.playing = true,
                        TransportCommand::Pause => t.playing = false,
                        TransportCommand::Seek { frame } => t.position_frames = frame,
                        TransportCommand::SetLoop {
                            start_frame,
                            end_frame,
                        } => {
                            t.loop_start_frames = start_frame;
                            t.loop_end_frames = end_frame;
                            t.loop_enabled = end_frame > start_frame;
                        }
                        TransportCommand::LoopEnabled(on) => t.loop_enabled = on,
                    }
                }
                CommandKind::Monitor(m) => self.monitor.set(m),
                CommandKind::SetReference { index, source } => {
                    if let Some(old) = self.monitor.set_reference(index as usize, source) {
                        if self.retired.len() < self.retired.capacity() {
                            self.retired.push(old);
                        } else {
                            std::mem::forget(old);
                        }
                    }
                }
                CommandKind::ReplaceSource { track, source } => {
                    if let Some(t) = self.tracks.get_mut(track as usize) {
                        let old = std::mem::replace(&mut t.source, source);
                        t.strip.set_channels(t.source.channels());
                        if self.retired.len() < self.retired.capacity() {
                            self.retired.push(old);
                        } else {
                            // Never reached in practice (the owner drains every callback); keep the old
                            // source alive rather than free memory here.
                            std::mem::forget(old);
                        }
                    }
                    // length may grow
                    let mut len = 0;
                    for t in &self.tracks {
                        len = len.max(t.source.len_frames());
                    }
                    self.length_frames = len;
                }
            }
        }
        self.pending = pending;
        if solo_changed {
            self.update_solo(false);
        }
    }

    fn is_group_bus(&self, b: u16) -> bool {
        self.buses
            .get(b as usize)
            .is_some_and(|x| matches!(x.fx, Fx::None))
    }

    fn is_fx_bus(&self, b: u16) -> bool {
        self.buses
            .get(b as usize)
            .is_some_and(|x| !matches!(x.fx, Fx::None))
    }

    /// Apply a routing parameter; false when refused. Never allocates.
    fn route(&mut self, strip: StripId, param: StripParam) -> bool {
        match (strip, param) {
            (StripId::Track(i), StripParam::Route(o)) => {
                if let Output::Bus(b) = o {
                    if !self.is_group_bus(b) {
                        return false;
                    }
                }
                let Some(t) = self.tracks.get_mut(i as usize) else {
                    return false;
                };
                t.strip.output = t.route.change(t.strip.output, o);
                true
            }
            (StripId::Bus(i), StripParam::Route(o)) => {
                let i = i as usize;
                if !self.is_group_bus(i as u16) {
                    return false;
                }
                if let Output::Bus(b) = o {
                    if !self.is_group_bus(b) || b as usize == i || !self.compute_order(Some((i, b)))
                    {
                        return false;
                    }
                }
                let bus = &mut self.buses[i];
                bus.strip.output = bus.route.change(bus.strip.output, o);
                self.compute_order(None)
            }
            (
                StripId::Track(_) | StripId::Bus(_),
                StripParam::SendTo {
                    bus,
                    level_db,
                    pre_fader,
                    on,
                },
            ) => {
                if !self.is_fx_bus(bus) {
                    return false;
                }
                let s = match strip {
                    StripId::Track(i) => self.tracks.get_mut(i as usize).map(|t| &mut t.strip),
                    StripId::Bus(i) => self
                        .buses
                        .get_mut(i as usize)
                        .filter(|b| matches!(b.fx, Fx::None))
                        .map(|b| &mut b.strip),
                    StripId::Master => None,
                };
                s.is_some_and(|s| s.set_send(bus, level_db, pre_fader, on))
            }
            _ => false,
        }
    }

    /// Group bus `j`'s outgoing edges (current, crossfading-from and queued outputs, plus `extra`).
    fn bus_edges(&self, j: usize, extra: Option<(usize, u16)>) -> [Option<usize>; 4] {
        let b = &self.buses[j];
        let to = |o: Option<Output>| match o {
            Some(Output::Bus(k)) => Some(k as usize),
            _ => None,
        };
        [
            to(Some(b.strip.output)),
            to(b.route.prev),
            to(b.route.next),
            extra.filter(|e| e.0 == j).map(|e| e.1 as usize),
        ]
    }

    /// Recompute the processing order (group buses before the buses they feed, over every edge that is or
    /// will be live, then effect buses) with an optional extra edge. False (order unchanged) on a cycle.
    /// Never allocates.
    fn compute_order(&mut self, extra: Option<(usize, u16)>) -> bool {
        let nb = self.buses.len();
        let mut indeg = std::mem::take(&mut self.indeg);
        let mut order = std::mem::take(&mut self.order_scratch);
        indeg.iter_mut().for_each(|d| *d = 0);
        order.clear();
        let groups = (0..nb).filter(|&j| matches!(self.buses[j].fx, Fx::None));
        for j in groups.clone() {
            for k in self.bus_edges(j, extra).into_iter().flatten() {
                indeg[k] += 1;
            }
        }
        for j in groups.clone() {
            if indeg[j] == 0 {
                order.push(j);
            }
        }
        let mut head = 0;
        while head < order.len() {
            let j = order[head];
            head += 1;
            for k in self.bus_edges(j, extra).into_iter().flatten() {
                indeg[k] -= 1;
                if indeg[k] == 0 {
                    order.push(k);
                }
            }
        }
        let ok = order.len() == groups.count();
        if ok {
            order.extend((0..nb).filter(|&j| !matches!(self.buses[j].fx, Fx::None)));
            self.bus_order.clear();
            self.bus_order.extend_from_slice(&order);
        }
        self.indeg = indeg;
        self.order_scratch = order;
        ok
    }

    /// Finish ended output crossfades and start queued ones (at segment starts, so block-size invariant).
    fn advance_routes(&mut self) {
        let mut changed = false;
        for t in &mut self.tracks {
            changed |= t.route.advance(&mut t.strip.output);
        }
        let mut bus_changed = false;
        for b in &mut self.buses {
            bus_changed |= b.route.advance(&mut b.strip.output);
        }
        if bus_changed {
            self.compute_order(None);
        }
        if changed || bus_changed {
            self.update_solo(false);
        }
    }

    fn update_length(&mut self) {
        self.length_frames = self
            .tracks
            .iter()
            .map(|t| t.source.len_frames())
            .max()
            .unwrap_or(0);
    }

    /// Follow an output chain from `out`, true when `pred(bus)` holds for a bus on it.
    fn chain_any(&self, mut out: Output, pred: impl Fn(&Bus) -> bool) -> bool {
        let mut hops = 0;
        while let Output::Bus(b) = out {
            let Some(bus) = self.buses.get(b as usize) else {
                return false;
            };
            if pred(bus) {
                return true;
            }
            out = bus.strip.output;
            hops += 1;
            if hops > self.buses.len() {
                return false;
            }
        }
        false
    }

    /// Resolve mute and solo into audibility (never allocates).
    ///
    /// With any track or bus soloed, a strip stays audible when it is soloed, when a soloed strip routes
    /// through it (the buses a soloed track needs), when it routes into a soloed bus (the feeders of a soloed
    /// bus), or when it sends to a soloed effect bus. Effect buses are solo-safe. Mute always wins.
    fn update_solo(&mut self, snap: bool) {
        self.any_solo =
            self.tracks.iter().any(|t| t.strip.solo) || self.buses.iter().any(|b| b.strip.solo);
        // buses on a soloed strip's output path
        for b in &mut self.buses {
            b.needed = b.strip.solo || !matches!(b.fx, Fx::None);
        }
        for ti in 0..self.tracks.len() + self.buses.len() {
            let (solo, mut out) = if ti < self.tracks.len() {
                let s = &self.tracks[ti].strip;
                (s.solo, s.output)
            } else {
                let s = &self.buses[ti - self.tracks.len()].strip;
                (s.solo, s.output)
            };
            if !solo {
                continue;
            }
            let mut hops = 0;
            while let Output::Bus(b) = out {
                let Some(bus) = self.buses.get_mut(b as usize) else {
                    break;
                };
                bus.needed = true;
                out = bus.strip.output;
                hops += 1;
                if hops > self.buses.len() {
                    break;
                }
            }
        }
        // bus feeding a soloed bus
        for i in 0..self.buses.len() {
            let out = self.buses[i].strip.output;
            if !self.buses[i].needed && self.chain_any(out, |b| b.strip.solo) {
                self.buses[i].needed = true;
            }
        }
        let any = self.any_solo;
        for i in 0..self.buses.len() {
            let s = &self.buses[i].strip;
            let audible = !s.is_muted() && (!any || self.buses[i].needed);
            self.buses[i].strip.set_audible(audible, snap);
        }
        for i in 0..self.tracks.len() {
            let s = &self.tracks[i].strip;
            let needed = !any
                || s.solo
                || self.chain_any(s.output, |b| b.strip.solo)
                || s.send_buses()
                    .any(|b| self.buses.get(b as usize).is_some_and(|x| x.strip.solo));
            let audible = !s.is_muted() && needed;
            self.tracks[i].strip.set_audible(audible, snap);
        }
    }

    /// Mix `seg` frames into `bus_l/bus_r[..seg]`.
    fn render_segment(&mut self, seg: usize) {
        let playing = self.transport.playing;
        let pos = self.transport.position_frames;
        let (bus_l, bus_r) = (&mut self.bus_l[..seg], &mut self.bus_r[..seg]);
        bus_l.fill(0.0);
        bus_r.fill(0.0);
        for (l, r) in self.ins_l.iter_mut().zip(self.ins_r.iter_mut()) {
            l[..seg].fill(0.0);
            r[..seg].fill(0.0);
        }
        let tl = &mut self.track_l[..seg];
        let tr = &mut self.track_r[..seg];
        let xbuf = &mut self.xbuf[..seg];
        if self.par_bufs.is_some() {
            self.render_segment_offline(seg);
            return;
        }
        let serial = self.par_bufs.is_none();
        for track in self.tracks.iter_mut().filter(|_| serial) {
            if track.strip.is_silent_settled() {
                track.strip.skip(seg);
                track.route.xfade.skip(seg);
                continue;
            }
            if playing {
                track.source.read(pos, tl, tr);
            } else {
                tl.fill(0.0);
                tr.fill(0.0);
            }
            track
                .strip
                .process(tl, tr, &mut self.ins_l, &mut self.ins_r);
            route_out(
                track.strip.output,
                &mut track.route,
                tl,
                tr,
                xbuf,
                bus_l,
                bus_r,
                &mut self.ins_l,
                &mut self.ins_r,
                0,
            );
        }
        for k in 0..self.bus_order.len() {
            let bi = self.bus_order[k];
            let bus = &mut self.buses[bi];
            if bus.skip_if_silent(seg) {
                continue;
            }
            tl.copy_from_slice(&self.ins_l[bi][..seg]);
            tr.copy_from_slice(&self.ins_r[bi][..seg]);
            bus.fx.process(tl, tr);
            bus.strip.process(tl, tr, &mut self.ins_l, &mut self.ins_r);
            route_out(
                bus.strip.output,
                &mut bus.route,
                tl,
                tr,
                xbuf,
                bus_l,
                bus_r,
                &mut self.ins_l,
                &mut self.ins_r,
                0,
            );
        }
        if self.master_detached.is_none() {
            self.master.process(bus_l, bus_r);
        }
        // the monitor section (listening only) runs after this, in `process`
    }
}

impl Engine {
    /// The offline render's segment (with [`Engine::set_offline_parallel`]; the buffers are already cleared):
    /// the tracks' side, then the buses' side, then the master. The same operations on every sample as the
    /// single-threaded path, so the output is bit-identical.
    fn render_segment_offline(&mut self, seg: usize) {
        let Engine {
            tracks,
            buses,
            master,
            ins_l,
            ins_r,
            bus_l,
            bus_r,
            xbuf,
            track_l,
            track_r,
            par_bufs,
            par_bus_bufs,
            live,
            bus_order,
            transport,
            master_detached,
            ..
        } = self;
        let (Some(bufs), Some(bus_bufs)) = (par_bufs.as_mut(), par_bus_bufs.as_mut()) else {
            return;
        };
        let (out_l, out_r) = (&mut bus_l[..seg], &mut bus_r[..seg]);
        let xbuf = &mut xbuf[..seg];
        let (playing, pos) = (transport.playing, transport.position_frames);
        offline_tracks(
            tracks, bufs, live, playing, pos, ins_l, ins_r, out_l, out_r, xbuf,
        );
        let scratch = (&mut track_l[..seg], &mut track_r[..seg]);
        offline_buses(
            buses, bus_order, bus_bufs, ins_l, ins_r, out_l, out_r, xbuf, scratch,
        );
        if master_detached.is_none() {
            master.process(out_l, out_r);
        }
    }
}

/// Frames of a parameter or routing ramp ([`RAMP_MS`]) at `rate` Hz.
fn ramp_frames(rate: u32) -> u32 {
    ((RAMP_MS / 1000.0) * rate as f32).round() as u32
}

/// The master strip of an engine, taken out by [`Engine::detach_master`] to run on another thread.
pub struct DetachedMaster {
    strip: MasterStrip,
}

impl DetachedMaster {
    /// The master (EQ, bus compressor, fader, limiter) over the next frames of the engine's pre-master output,
    /// in place.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.strip.process(left, right);
    }
}

/// A track to process in an offline segment, with its left and right buffers.
type LiveTrack<'a> = (&'a mut Track, &'a mut [f32], &'a mut [f32]);

/// The tracks' side of an offline segment: sources and strip fronts on rayon's threads (four or two strips at
/// a time, whose filter chains and compressors can share SIMD registers), then in track order the sends, fader, pan and sums into
/// the buses (`ins_*`, one slice per bus) and the master (`out_*`).
#[allow(clippy::too_many_arguments)]
fn offline_tracks(
    tracks: &mut [Track],
    bufs: &mut [[Vec<f32>; 2]],
    live: &mut [bool],
    playing: bool,
    pos: u64,
    ins_l: &mut [Vec<f32>],
    ins_r: &mut [Vec<f32>],
    out_l: &mut [f32],
    out_r: &mut [f32],
    xbuf: &mut [f32],
) {
    use rayon::prelude::*;
    let seg = out_l.len();
    // Four strips at a time where every thread still gets a group (their filters and compressors share SIMD
    // registers), else two.
    let group = if tracks.len() >= 4 * rayon::current_num_threads() {
        4
    } else {
        2
    };
    tracks
        .par_chunks_mut(group)
        .zip(bufs.par_chunks_mut(group))
        .for_each(|(grp, grp_bufs)| {
            let mut live: [Option<LiveTrack>; 4] = [None, None, None, None];
            for (k, (track, [bl, br])) in grp.iter_mut().zip(grp_bufs.iter_mut()).enumerate() {
                if track.strip.is_silent_settled() {
                    continue;
                }
                let (bl, br) = (&mut bl[..seg], &mut br[..seg]);
                if playing {
                    track.source.read(pos, bl, br);
                } else {
                    bl.fill(0.0);
                    br.fill(0.0);
                }
                live[k] = Some((track, bl, br));
            }
            match live {
                [Some((t0, l0, r0)), Some((t1, l1, r1)), Some((t2, l2, r2)), Some((t3, l3, r3))] => {
                    TrackStrip::process_front_quad(
                        [&mut t0.strip, &mut t1.strip, &mut t2.strip, &mut t3.strip],
                        [(l0, r0), (l1, r1), (l2, r2), (l3, r3)],
                    );
                }
                live => {
                    let mut live = live.into_iter().flatten();
                    while let Some((ta, la, ra)) = live.next() {
                        match live.next() {
                            Some((tb, lb, rb)) => TrackStrip::process_front_pair(
                                &mut ta.strip,
                                &mut tb.strip,
                                (la, ra),
                                (lb, rb),
                            ),
                            None => ta.strip.process_front(la, ra),
                        }
                    }
                }
            }
        });
    // In cache-sized stretches of frames, every track per stretch, so the buses' stretch stays in cache while
    // each track adds into it (each frame sees the same additions in the same order and ramps advance per
    // frame: the same result as whole segments).
    let live = &mut live[..tracks.len()];
    for (track, live) in tracks.iter_mut().zip(live.iter_mut()) {
        *live = !track.strip.is_silent_settled();
        if !*live {
            track.strip.skip(seg);
            track.route.xfade.skip(seg);
        }
    }
    let at_rest = tracks
        .iter()
        .zip(live.iter())
        .filter(|(_, &l)| l)
        .all(|(t, _)| t.strip.back_at_rest() && t.route.xfade.is_settled());
    if at_rest && seg >= 2 * SUM_STRETCH_FRAMES {
        // Every frame's sums are then a fixed function of that frame: the two halves of the segment on two
        // threads, each adding the tracks in order (the same additions per frame as below).
        let h = seg / 2;
        fn halves(v: &mut [Vec<f32>], seg: usize, h: usize) -> (Vec<&mut [f32]>, Vec<&mut [f32]>) {
            v.iter_mut().map(|x| x[..seg].split_at_mut(h)).unzip()
        }
        let (mut il0, mut il1) = halves(ins_l, seg, h);
        let (mut ir0, mut ir1) = halves(ins_r, seg, h);
        let ((ol0, ol1), (or0, or1)) = (out_l.split_at_mut(h), out_r.split_at_mut(h));
        let (mut t0, mut t1): (Vec<BackAtRest>, Vec<BackAtRest>) = tracks
            .iter()
            .zip(bufs.iter_mut())
            .zip(live.iter())
            .filter(|(_, &l)| l)
            .map(|((t, [bl, br]), _)| {
                let ((l0, l1), (r0, r1)) = (bl[..seg].split_at_mut(h), br[..seg].split_at_mut(h));
                ((&t.strip, l0, r0), (&t.strip, l1, r1))
            })
            .unzip();
        rayon::join(
            || backs_at_rest(&mut t0, &mut il0, &mut ir0, ol0, or0),
            || backs_at_rest(&mut t1, &mut il1, &mut ir1, ol1, or1),
        );
        return;
    }
    let mut a = 0;
    while a < seg {
        let b = seg.min(a + SUM_STRETCH_FRAMES);
        for ((track, [bl, br]), _) in tracks
            .iter_mut()
            .zip(bufs.iter_mut())
            .zip(live.iter())
            .filter(|(_, &l)| l)
        {
            let (bl, br) = (&mut bl[a..b], &mut br[a..b]);
            track.strip.process_back_at(bl, br, ins_l, ins_r, a);
            route_out(
                track.strip.output,
                &mut track.route,
                bl,
                br,
                &mut xbuf[a..b],
                &mut out_l[a..b],
                &mut out_r[a..b],
                ins_l,
                ins_r,
                a,
            );
        }
        a = b;
    }
}

/// A track strip whose second part is at rest, with its buffers for a range of frames.
type BackAtRest<'a> = (&'a TrackStrip, &'a mut [f32], &'a mut [f32]);

/// The tracks' second parts over a range of frames while every one is at rest
/// ([`TrackStrip::back_at_rest`], routes settled): sends, fader and pan, then the sum into the track's output,
/// in stretches of [`SUM_STRETCH_FRAMES`] and in track order, as [`offline_tracks`] does it.
fn backs_at_rest<'a>(
    tracks: &mut [BackAtRest],
    ins_l: &mut [&'a mut [f32]],
    ins_r: &mut [&'a mut [f32]],
    out_l: &mut [f32],
    out_r: &mut [f32],
) {
    let n = out_l.len();
    let mut a = 0;
    while a < n {
        let b = n.min(a + SUM_STRETCH_FRAMES);
        for (strip, bl, br) in tracks.iter_mut() {
            let (bl, br) = (&mut bl[a..b], &mut br[a..b]);
            strip.back_at_rest_at(bl, br, ins_l, ins_r, a);
            let out = (&mut out_l[a..b], &mut out_r[a..b]);
            add_to_output(strip.output, (bl, br), out, ins_l, ins_r, a);
        }
        a = b;
    }
}

/// The buses' side of an offline segment (before the master): group buses in order; once every effect bus's
/// input is complete, the effect buses' effects and strip fronts side by side on rayon's threads, each into
/// its own buffer; then their sends, faders and sums in bus order.
#[allow(clippy::too_many_arguments)]
fn offline_buses(
    buses: &mut [Bus],
    bus_order: &[usize],
    bufs: &mut [[Vec<f32>; 2]],
    ins_l: &mut [Vec<f32>],
    ins_r: &mut [Vec<f32>],
    out_l: &mut [f32],
    out_r: &mut [f32],
    xbuf: &mut [f32],
    (tl, tr): (&mut [f32], &mut [f32]),
) {
    use rayon::prelude::*;
    let seg = out_l.len();
    let mut fx_ready = false;
    for &bi in bus_order {
        let is_fx = !matches!(buses[bi].fx, Fx::None);
        if is_fx && !fx_ready {
            // (group buses come first in the order)
            let (il, ir) = (&*ins_l, &*ins_r);
            buses
                .par_iter_mut()
                .zip(bufs.par_iter_mut())
                .enumerate()
                .for_each(|(j, (bus, [bl, br]))| {
                    if matches!(bus.fx, Fx::None) || bus.strip.is_silent_settled() {
                        return;
                    }
                    let (bl, br) = (&mut bl[..seg], &mut br[..seg]);
                    bl.copy_from_slice(&il[j][..seg]);
                    br.copy_from_slice(&ir[j][..seg]);
                    bus.fx.process(bl, br);
                    bus.strip.process_front(bl, br);
                });
            fx_ready = true;
        }
        let bus = &mut buses[bi];
        if bus.skip_if_silent(seg) {
            continue;
        }
        let (bl, br) = if fx_ready {
            let [bl, br] = &mut bufs[bi];
            let (bl, br) = (&mut bl[..seg], &mut br[..seg]);
            bus.strip.process_back_at(bl, br, ins_l, ins_r, 0);
            (bl, br)
        } else {
            tl.copy_from_slice(&ins_l[bi][..seg]);
            tr.copy_from_slice(&ins_r[bi][..seg]);
            bus.fx.process(tl, tr);
            bus.strip.process_front(tl, tr);
            bus.strip.process_back_at(tl, tr, ins_l, ins_r, 0);
            (&mut *tl, &mut *tr)
        };
        route_out(
            bus.strip.output,
            &mut bus.route,
            bl,
            br,
            xbuf,
            out_l,
            out_r,
            ins_l,
            ins_r,
            0,
        );
    }
}

/// Frames per stretch when the offline path adds every track's output and sends into the buses (see
/// `render_segment`): the buses' stretch (8 KiB per channel) stays in the L1/L2 cache while the tracks add into it.
const SUM_STRETCH_FRAMES: usize = 2_048;

/// Add a strip's output into its destination, crossfading from the previous one while a route change runs.
#[allow(clippy::too_many_arguments)]
fn route_out(
    output: Output,
    route: &mut Route,
    tl: &[f32],
    tr: &[f32],
    xbuf: &mut [f32],
    bus_l: &mut [f32],
    bus_r: &mut [f32],
    ins_l: &mut [Vec<f32>],
    ins_r: &mut [Vec<f32>],
    off: usize,
) {
    let seg = tl.len();
    let Some(prev) = route.prev.filter(|_| !route.xfade.is_settled()) else {
        add_to_output(output, (tl, tr), (bus_l, bus_r), ins_l, ins_r, off);
        return;
    };
    for x in xbuf.iter_mut() {
        *x = route.xfade.next_value();
    }
    for (dest, new) in [(output, true), (prev, false)] {
        let (dl, dr) = match dest {
            Output::Bus(b) => (
                &mut ins_l[b as usize][off..off + seg],
                &mut ins_r[b as usize][off..off + seg],
            ),
            Output::Master => (&mut *bus_l, &mut *bus_r),
        };
        for i in 0..seg {
            let g = if new { xbuf[i] } else { 1.0 - xbuf[i] };
            dl[i] += tl[i] * g;
            dr[i] += tr[i] * g;
        }
    }
}

/// Adds a strip's frames into its output with the route at rest: a bus's input from frame `off` on, or the
/// master's buffers (`out`, already cut to these frames).
fn add_to_output<S: AsMut<[f32]>>(
    output: Output,
    (tl, tr): (&[f32], &[f32]),
    (out_l, out_r): (&mut [f32], &mut [f32]),
    ins_l: &mut [S],
    ins_r: &mut [S],
    off: usize,
) {
    let n = tl.len();
    let (dl, dr) = match output {
        Output::Bus(b) => (
            &mut ins_l[b as usize].as_mut()[off..off + n],
            &mut ins_r[b as usize].as_mut()[off..off + n],
        ),
        Output::Master => (out_l, out_r),
    };
    add(dl, tl);
    add(dr, tr);
}
