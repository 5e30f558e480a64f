//! Runs on the audio thread: the commands that change the engine, stamped with the frame they take effect at.
//!
//! Every change to the engine (a fader move from the UI, an automation point, a seek) is a [`Command`]. The
//! stamp is on the engine's own clock (frames processed since it was built), so the change lands on the same
//! sample whatever the block size, in real time or offline. A stamp in the past means "at the next sample".

use std::fmt;

use super::monitor::MonitorCommand;
use super::source::Source;
use super::strip::Output;

/// Which strip a parameter command addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StripId {
    /// A track, by index in the session.
    Track(u16),
    /// The master bus.
    Master,
    /// A group or effect bus, by index in the session's `[[bus]]` list.
    Bus(u16),
}

/// A parameter of a channel strip. Values are in the units their names give.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StripParam {
    /// Input trim, before everything else.
    TrimDb(f32),
    /// Fader.
    GainDb(f32),
    /// −1.0 hard left .. +1.0 hard right.
    Pan(f32),
    /// Mute (wins over solo).
    Mute(bool),
    /// Solo in place.
    Solo(bool),
    /// Polarity inversion (after trim).
    InvertPolarity(bool),
    /// High-pass filter on/off.
    HpfEnabled(bool),
    /// High-pass corner in Hz.
    HpfFreqHz(f32),
    /// High-pass slope: true 24 dB/oct, false 12 dB/oct.
    HpfSlope24(bool),
    /// Low-pass filter on/off.
    LpfEnabled(bool),
    /// Low-pass corner in Hz.
    LpfFreqHz(f32),
    /// Low-pass slope: true 24 dB/oct, false 12 dB/oct.
    LpfSlope24(bool),
    /// Whole EQ on/off.
    EqEnabled(bool),
    /// EQ band (0 low shelf, 1 and 2 bells, 3 high shelf) on/off.
    EqBandEnabled(u8, bool),
    /// EQ band frequency in Hz.
    EqBandFreqHz(u8, f32),
    /// EQ band gain in dB.
    EqBandGainDb(u8, f32),
    /// EQ band Q.
    EqBandQ(u8, f32),
    /// Gate on/off.
    GateEnabled(bool),
    /// Gate threshold in dBFS.
    GateThresholdDb(f32),
    /// Gate/expander ratio (infinite = gate).
    GateRatio(f32),
    /// Gate range (floor) in dB, negative.
    GateRangeDb(f32),
    /// Gate attack in ms.
    GateAttackMs(f32),
    /// Gate hold in ms.
    GateHoldMs(f32),
    /// Gate release in ms.
    GateReleaseMs(f32),
    /// Compressor on/off.
    CompEnabled(bool),
    /// Compressor threshold in dBFS.
    CompThresholdDb(f32),
    /// Compressor ratio.
    CompRatio(f32),
    /// Compressor knee width in dB.
    CompKneeDb(f32),
    /// Compressor attack in ms.
    CompAttackMs(f32),
    /// Compressor release in ms.
    CompReleaseMs(f32),
    /// Compressor makeup gain in dB.
    CompMakeupDb(f32),
    /// Compressor side-chain high-pass corner in Hz; 0 switches the side-chain filter off.
    CompSidechainHpfHz(f32),
    /// Level of send `n` (index in the strip's send list) in dB.
    SendLevelDb(u8, f32),
    /// Send `n` taken before (true) or after (false) the fader.
    SendPreFader(u8, bool),
    /// Master limiter on/off (only when the session has a `[master.limiter]`: its latency is fixed at load).
    LimiterEnabled(bool),
    /// Master limiter ceiling in dBTP.
    LimiterCeilingDbtp(f32),
    /// Master limiter release in ms.
    LimiterReleaseMs(f32),
    /// Reverb bus: decay time (T60) in s.
    ReverbDecayS(f32),
    /// Reverb bus: pre-delay in ms.
    ReverbPreDelayMs(f32),
    /// Reverb bus: size 0.5 … 2.
    ReverbSize(f32),
    /// Reverb bus: damping 0 … 1.
    ReverbDamping(f32),
    /// Reverb bus: width 0 … 1.
    ReverbWidth(f32),
    /// Delay bus: time in ms.
    DelayTimeMs(f32),
    /// Delay bus: feedback 0 … <1.
    DelayFeedback(f32),
    /// Delay bus: low cut in the feedback path, Hz.
    DelayLowCutHz(f32),
    /// Delay bus: high cut in the feedback path, Hz.
    DelayHighCutHz(f32),
    /// Delay bus: ping-pong.
    DelayPingPong(bool),
    /// Route the strip's output to the master or a group bus, crossfaded over [`crate::engine::RAMP_MS`]
    /// (a change arriving during a crossfade starts when it ends). Refused (see
    /// [`crate::engine::Engine::refused_commands`]) when it names a missing or effect bus or would close a
    /// loop between group buses; effect buses always return to the master.
    Route(Output),
    /// The strip's send to effect bus `bus` (addressed by bus, not by slot): level in dB, pre- or
    /// post-fader, on. Creates the send when the strip has none to that bus (slots are reserved at build);
    /// level, pre/post and on/off changes are ramped. Refused on effect buses and the master, and when `bus`
    /// is not an effect bus.
    SendTo {
        /// Effect bus index.
        bus: u16,
        /// Level in dB.
        level_db: f32,
        /// Before the fader (true) or after (false).
        pre_fader: bool,
        /// Send on.
        on: bool,
    },
}

/// Transport changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportCommand {
    /// Start or resume playback at the current position.
    Play,
    /// Stop advancing; the position stays.
    Pause,
    /// Jump to a timeline frame.
    Seek {
        /// Timeline frame.
        frame: u64,
    },
    /// Set the loop region (`start_frame < end_frame`) and enable looping.
    SetLoop {
        /// First frame of the loop.
        start_frame: u64,
        /// Frame after the last one of the loop.
        end_frame: u64,
    },
    /// Enable or disable looping over the current region.
    LoopEnabled(bool),
}

/// What a command does.
pub enum CommandKind {
    /// Change a strip parameter (smoothed per sample).
    Strip {
        /// The strip.
        strip: StripId,
        /// The parameter and its new value.
        param: StripParam,
    },
    /// Change the transport.
    Transport(TransportCommand),
    /// Change the monitor section after the master (playback only; a render never sends it).
    Monitor(MonitorCommand),
    /// Install reference track `index` for the monitor section (a reference finished loading). The one it
    /// replaces is handed back like a replaced track source.
    SetReference {
        /// Reference index (< [`crate::engine::MAX_REFERENCES`]).
        index: u8,
        /// The reference audio at the engine rate.
        source: Box<dyn Source>,
    },
    /// Put a new source on a track (a stem finished loading). The old one is handed back through
    /// [`crate::engine::Engine::take_retired_source`] so it is never dropped on the audio thread.
    ReplaceSource {
        /// Track index.
        track: u16,
        /// The new source.
        source: Box<dyn Source>,
    },
}

impl fmt::Debug for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandKind::Strip { strip, param } => f
                .debug_struct("Strip")
                .field("strip", strip)
                .field("param", param)
                .finish(),
            CommandKind::Transport(t) => f.debug_tuple("Transport").field(t).finish(),
            CommandKind::Monitor(m) => f.debug_tuple("Monitor").field(m).finish(),
            CommandKind::SetReference { index, source } => f
                .debug_struct("SetReference")
                .field("index", index)
                .field("len_frames", &source.len_frames())
                .finish(),
            CommandKind::ReplaceSource { track, source } => f
                .debug_struct("ReplaceSource")
                .field("track", track)
                .field("len_frames", &source.len_frames())
                .finish(),
        }
    }
}

/// A change to the engine, effective at engine-clock frame `at_frame`.
#[derive(Debug)]
pub struct Command {
    /// Engine-clock frame (frames processed since construction) at which the change starts. Past stamps
    /// apply at the next sample processed.
    pub at_frame: u64,
    /// The change.
    pub kind: CommandKind,
}

impl Command {
    /// A command that applies as soon as possible.
    pub fn now(kind: CommandKind) -> Self {
        Self { at_frame: 0, kind }
    }

    /// A strip parameter change at `at_frame`.
    pub fn strip(at_frame: u64, strip: StripId, param: StripParam) -> Self {
        Self {
            at_frame,
            kind: CommandKind::Strip { strip, param },
        }
    }

    /// A transport change at `at_frame`.
    pub fn transport(at_frame: u64, t: TransportCommand) -> Self {
        Self {
            at_frame,
            kind: CommandKind::Transport(t),
        }
    }
}
