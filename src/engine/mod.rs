//! Runs on the audio thread: the shared mix engine used by real-time playback and offline render alike.
//!
//! Signal flow per track: source → trim → polarity → (strip processors) → fader → pan → mute/solo → master
//! bus → master gain. Every parameter change arrives as a [`Command`] stamped with an engine-clock frame and
//! is applied per sample through [`ramp::Ramp`]s, so the output does not depend on block size.
//! [`Engine::process`] never allocates, locks or does I/O: everything is allocated in [`Engine::new`].

pub mod command;
pub mod ramp;
pub mod source;
pub mod strip;

pub use command::{Command, CommandKind, StripId, StripParam, TransportCommand};
pub use source::{MemorySource, SilentSource, Source};
pub use strip::{MasterState, StripMeter, StripState};

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
    master: MasterStrip,
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
        let ramp_frames = ((RAMP_MS / 1000.0) * config.sample_rate_hz as f32).round() as u32;
        let max = config.max_block_frames.max(1);
        let tracks: Vec<Track> = tracks
            .into_iter()
            .map(|t| Track {
                strip: TrackStrip::new(&t.state, t.source.channels(), ramp_frames),
                source: t.source,
            })
            .collect();
        let mut engine = Self {
            sample_rate_hz: config.sample_rate_hz,
            max_block_frames: max,
            clock_frames: 0,
            transport: Transport::default(),
            master: MasterStrip::new(&master, ramp_frames),
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

    fn update_solo(&mut self, snap: bool) {
        self.any_solo = self.tracks.iter().any(|t| t.strip.solo);
        for t in &mut self.tracks {
            t.strip.update_audible(self.any_solo, snap);
        }
    }

    /// Mix `seg` frames into `bus_l/bus_r[..seg]`.
    fn render_segment(&mut self, seg: usize) {
        let playing = self.transport.playing;
        let pos = self.transport.position_frames;
        let (bus_l, bus_r) = (&mut self.bus_l[..seg], &mut self.bus_r[..seg]);
        bus_l.fill(0.0);
        bus_r.fill(0.0);
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
            track.strip.process(tl, tr, bus_l, bus_r);
        }
        self.master.process(bus_l, bus_r);
    }
}
