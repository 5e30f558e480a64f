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

struct Bus {
    fx: Fx,
    strip: TrackStrip,
    /// Part of the solo: soloed, on a soloed strip's path, or feeding a soloed bus.
    needed: bool,
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
}

impl Engine {
    /// Build an engine with its tracks; static settings apply from the first sample, without ramps.
    pub fn new(config: EngineConfig, master: MasterState, tracks: Vec<TrackInit>) -> Self {
        Self::with_buses(config, master, tracks, Vec::new())
    }

    /// Build an engine with tracks and buses. Routing is fixed here: outputs naming a missing bus, an
    /// effect bus, or closing a loop fall back to the master (the session loader refuses them with an
    /// error first); sends naming a bus that is not an effect bus are dropped.
    pub fn with_buses(
        config: EngineConfig,
        master: MasterState,
        tracks: Vec<TrackInit>,
        buses: Vec<BusInit>,
    ) -> Self {
        let rate = config.sample_rate_hz;
        let ramp_frames = ((RAMP_MS / 1000.0) * rate as f32).round() as u32;
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
                strip: TrackStrip::new(st, 2, ramp_frames, rate, max),
                needed: false,
            })
            .collect();
        let tracks: Vec<Track> = tracks
            .into_iter()
            .map(|t| Track {
                strip: TrackStrip::new(
                    &sanitize(&t.state, true),
                    t.source.channels(),
                    ramp_frames,
                    rate,
                    max,
                ),
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
        self.master.latency_frames()
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
            let mut seg = n - done;
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

    /// Process into an interleaved stereo buffer of any length (split into blocks internally).
    pub fn process_interleaved(&mut self, out: &mut [f32]) {
        const CHUNK: usize = 256;
        let mut tmp_l = [0.0f32; CHUNK];
        let mut tmp_r = [0.0f32; CHUNK];
        let frames_total = out.len() / 2;
        let mut done = 0;
        while done < frames_total {
            let n = (frames_total - done).min(CHUNK).min(self.max_block_frames);
            self.process(&mut tmp_l[..n], &mut tmp_r[..n]);
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
        for cmd in self.pending.drain(..count) {
            match cmd.kind {
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
        if solo_changed {
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
        for track in &mut self.tracks {
            if track.strip.is_silent_settled() {
                track.strip.skip(seg);
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
            let (dl, dr) = match track.strip.output {
                Output::Bus(b) => (
                    &mut self.ins_l[b as usize][..seg],
                    &mut self.ins_r[b as usize][..seg],
                ),
                Output::Master => (&mut *bus_l, &mut *bus_r),
            };
            add(dl, tl);
            add(dr, tr);
        }
        for &bi in &self.bus_order {
            let bus = &mut self.buses[bi];
            if bus.strip.is_silent_settled() {
                if !bus.strip.cleared {
                    match &mut bus.fx {
                        Fx::None => {}
                        Fx::Reverb(r) => r.reset(),
                        Fx::Delay(d) => d.reset(),
                    }
                }
                bus.strip.skip(seg);
                continue;
            }
            tl.copy_from_slice(&self.ins_l[bi][..seg]);
            tr.copy_from_slice(&self.ins_r[bi][..seg]);
            match &mut bus.fx {
                Fx::None => {}
                Fx::Reverb(r) => r.process(tl, tr),
                Fx::Delay(d) => d.process(tl, tr),
            }
            bus.strip.process(tl, tr, &mut self.ins_l, &mut self.ins_r);
            let (dl, dr) = match bus.strip.output {
                Output::Bus(b) => (
                    &mut self.ins_l[b as usize][..seg],
                    &mut self.ins_r[b as usize][..seg],
                ),
                Output::Master => (&mut *bus_l, &mut *bus_r),
            };
            add(dl, tl);
            add(dr, tr);
        }
        self.master.process(bus_l, bus_r);
        // listening only; neutral (untouched) unless a monitor command arrived
        self.monitor.select(bus_l, bus_r, pos, playing);
        self.monitor.process(bus_l, bus_r);
    }
}

#[inline]
fn add(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += *s;
    }
}
