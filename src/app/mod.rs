//! The mixer's state machine: the model the UI draws, key and action handling, the engine commands each change
//! emits (collected in [`App::outbox`] so tests can inspect them without audio), undo/redo, save and recovery.

pub mod params;

use std::path::PathBuf;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use crate::engine::monitor::DIM_DB;
use crate::engine::{
    BusKind, Command, CommandKind, MasterState, MonitorCommand, StripId, StripParam, StripState,
    TransportCommand,
};
use crate::keymap::{Action, Keymap, Mode, Resolution};
use crate::session::{MarkerConfig, Origin, Session, SessionFile};

pub use params::{Param, Row, StripRef};

/// Fader range in dB.
pub const FADER_MIN_DB: f32 = -60.0;
/// Fader maximum in dB.
pub const FADER_MAX_DB: f32 = 12.0;
/// Peak hold time on the meters.
pub const PEAK_HOLD_MS: u64 = 1500;

/// A track's loading state.
#[derive(Clone, Debug, PartialEq)]
pub enum TrackStatus {
    /// Waiting to be decoded.
    Loading,
    /// Being decoded now.
    Decoding,
    /// Playing from memory.
    Online,
    /// Missing or broken stem: the reason.
    Offline(String),
}

/// What the meters show for one strip (filled from the player's meter bank each frame).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StripLevels {
    /// Peak per channel in dBFS since the last frame.
    pub peak_db: [f32; 2],
    /// RMS per channel in dBFS.
    pub rms_db: [f32; 2],
    /// Held peak per channel in dBFS.
    pub hold_db: [f32; 2],
    /// When each hold was set (ms on the app clock).
    pub hold_at_ms: [u64; 2],
    /// A sample reached 0 dBFS since the clip indicator was cleared.
    pub clipped: bool,
    /// Gain reduction in dB (positive).
    pub gain_reduction_db: f32,
}

impl Default for StripLevels {
    fn default() -> Self {
        Self {
            peak_db: [f32::NEG_INFINITY; 2],
            rms_db: [f32::NEG_INFINITY; 2],
            hold_db: [f32::NEG_INFINITY; 2],
            hold_at_ms: [0; 2],
            clipped: false,
            gain_reduction_db: 0.0,
        }
    }
}

impl StripLevels {
    /// Take new linear peak and RMS values at `now_ms`: update hold and clip.
    pub fn update(&mut self, peak_lin: [f32; 2], rms_lin: [f32; 2], gr_db: f32, now_ms: u64) {
        for ch in 0..2 {
            let p = lin_to_db(peak_lin[ch]);
            self.peak_db[ch] = p;
            self.rms_db[ch] = lin_to_db(rms_lin[ch]);
            if p >= self.hold_db[ch] || now_ms.saturating_sub(self.hold_at_ms[ch]) > PEAK_HOLD_MS {
                self.hold_db[ch] = p;
                self.hold_at_ms[ch] = now_ms;
            }
            if peak_lin[ch] >= 1.0 {
                self.clipped = true;
            }
        }
        self.gain_reduction_db = gr_db;
    }
}

/// Linear amplitude to dBFS (−∞ for silence).
pub fn lin_to_db(x: f32) -> f32 {
    if x > 0.0 {
        20.0 * x.log10()
    } else {
        f32::NEG_INFINITY
    }
}

/// Master loudness figures for display.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loudness {
    /// Momentary LUFS.
    pub momentary_lufs: f32,
    /// Short-term LUFS.
    pub short_term_lufs: f32,
    /// Integrated LUFS.
    pub integrated_lufs: f32,
    /// Loudness range LU.
    pub range_lu: f32,
    /// True peak dBTP.
    pub true_peak_db: f32,
    /// Stereo correlation −1..1.
    pub correlation: f32,
    /// Samples at or above full scale on the master.
    pub clips: u64,
}

impl Default for Loudness {
    fn default() -> Self {
        Self {
            momentary_lufs: f32::NEG_INFINITY,
            short_term_lufs: f32::NEG_INFINITY,
            integrated_lufs: f32::NEG_INFINITY,
            range_lu: 0.0,
            true_peak_db: f32::NEG_INFINITY,
            correlation: 0.0,
            clips: 0,
        }
    }
}

/// Output device facts shown in the transport bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputInfo {
    /// Device description, or "no audio output".
    pub description: String,
    /// Whether it is the silent clock.
    pub silent: bool,
    /// Median DSP load (fraction of the period).
    pub load: Option<f64>,
    /// Xruns plus overruns.
    pub xruns: u64,
}

/// What the strip meters show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeterMode {
    /// Sample peak with peak hold (the default).
    #[default]
    Peak,
    /// RMS over 300 ms.
    Rms,
    /// Loudness: the master shows momentary and short-term LUFS; tracks, whose loudness is not measured,
    /// show RMS.
    Loudness,
}

impl MeterMode {
    /// The next mode in the cycle peak → RMS → loudness → peak.
    pub fn next(self) -> Self {
        match self {
            MeterMode::Peak => MeterMode::Rms,
            MeterMode::Rms => MeterMode::Loudness,
            MeterMode::Loudness => MeterMode::Peak,
        }
    }

    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            MeterMode::Peak => "peak",
            MeterMode::Rms => "rms",
            MeterMode::Loudness => "lufs",
        }
    }
}

/// A reference track's state.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceState {
    /// Display name.
    pub name: String,
    /// Loading, online or offline (with the reason).
    pub status: TrackStatus,
    /// Integrated loudness as heard, when measurable.
    pub integrated_lufs: Option<f64>,
}

/// Largest gain a loudness match may apply to a reference, dB (a quiet reference is not pushed into
/// clipping).
pub const REFERENCE_MAX_GAIN_DB: f32 = 12.0;

/// A pop-up over the mixer.
#[derive(Clone, Debug, PartialEq)]
pub enum Overlay {
    /// Nothing.
    None,
    /// The help screen, scrolled by this many lines.
    Help(u16),
    /// Typing a value: the text so far.
    Prompt(String),
    /// Typing the name of marker `index` (in `session.file.markers`): the text so far.
    MarkerName(usize, String),
    /// A recovery file was found: restore it?
    Recover(PathBuf),
}

/// One undo step: the mix settings before and after.
#[derive(Clone, Debug)]
struct Edit {
    before: SessionFile,
    after: SessionFile,
}

/// The whole UI state.
pub struct App {
    /// The session (its `file` is the live mix settings).
    pub session: Session,
    /// Loading state per track.
    pub status: Vec<TrackStatus>,
    /// Whether the session is still loading.
    pub loading: bool,
    /// Selected strip: a track index, `tracks.len() + k` for bus k, or `tracks.len() + buses.len()` for the
    /// master.
    pub selected: usize,
    /// First visible strip of the scrolling row, tracks then buses (kept so the selected one is in view).
    pub scroll: usize,
    /// Keymap.
    pub keymap: Keymap,
    /// Engine commands emitted and not yet sent.
    pub outbox: Vec<Command>,
    /// Session sample rate.
    pub rate_hz: u32,
    /// Longest stem.
    pub length_frames: u64,
    /// Playhead.
    pub position_frames: u64,
    /// Playing?
    pub playing: bool,
    /// Where the last play started (Stop returns here).
    pub play_start_frames: u64,
    /// Loop start.
    pub loop_in_frames: Option<u64>,
    /// Loop end.
    pub loop_out_frames: Option<u64>,
    /// Looping on?
    pub loop_enabled: bool,
    /// Reconnecting the audio output was asked for (the TUI loop takes it).
    pub reconnect_requested: bool,
    /// The song overview (stems' energy over time), filled as stems load.
    pub overview: crate::overview::Overview,
    /// Pop-up.
    pub overlay: Overlay,
    /// Inspector shown (and focused).
    pub inspector: bool,
    /// Selected parameter row in the inspector.
    pub param_index: usize,
    /// The status line message.
    pub message: String,
    /// Unsaved changes.
    pub dirty: bool,
    /// Bumped on every change (recovery writes when it moves).
    pub generation: u64,
    /// Quit requested.
    pub quit: bool,
    /// Per-track meter view.
    pub levels: Vec<StripLevels>,
    /// Per-bus meter view (session order), filled from the player's `MeterBank::buses`.
    pub bus_levels: Vec<StripLevels>,
    /// Master meter view.
    pub master_levels: StripLevels,
    /// Master loudness.
    pub loudness: Loudness,
    /// Output facts.
    pub output: OutputInfo,
    /// Plain ASCII drawing.
    pub ascii: bool,
    /// No colours.
    pub no_color: bool,
    /// The last "peek numbers" line (printed to stdout after exit).
    pub peek_lines: Vec<String>,
    /// Mono check on the monitor (listening only: not saved, never rendered).
    pub mono: bool,
    /// Monitor dimmed by 20 dB (listening only).
    pub dim: bool,
    /// What the meters show.
    pub meter_mode: MeterMode,
    /// The session's reference tracks.
    pub references: Vec<ReferenceState>,
    /// The reference being listened to (None: the mix).
    pub listening: Option<usize>,
    /// The mix's integrated loudness when we last switched away from it (while a reference plays, the
    /// live loudness meter measures the reference).
    pub mix_lufs: Option<f32>,
    /// Terminal size in cells (columns, rows), for mouse hit-testing.
    pub screen_size: (u16, u16),
    undo: Vec<Edit>,
    redo: Vec<Edit>,
}

/// Longest marker name, in characters.
pub const MARKER_NAME_MAX: usize = 40;

/// Seek step of seek_back/seek_forward.
pub const SEEK_STEP_S: f64 = 5.0;
/// Pan step and fine step.
pub const PAN_STEP: f32 = 0.1;
/// Pan fine step.
pub const PAN_FINE_STEP: f32 = 0.01;

impl App {
    /// A new app for `session` (tracks still loading).
    pub fn new(session: Session, keymap: Keymap, rate_hz: u32) -> App {
        let mut a = App::bare(session, keymap, rate_hz);
        a.references = reference_states(&a.session);
        a
    }

    fn bare(session: Session, keymap: Keymap, rate_hz: u32) -> App {
        let n = session.file.tracks.len();
        let buses = session.file.buses.len();
        App {
            session,
            status: vec![TrackStatus::Loading; n],
            loading: true,
            selected: 0,
            scroll: 0,
            keymap,
            outbox: Vec::new(),
            rate_hz,
            length_frames: 0,
            position_frames: 0,
            playing: false,
            play_start_frames: 0,
            loop_in_frames: None,
            loop_out_frames: None,
            loop_enabled: false,
            reconnect_requested: false,
            overview: crate::overview::Overview::new(rate_hz),
            overlay: Overlay::None,
            inspector: false,
            param_index: 0,
            message: String::new(),
            dirty: false,
            generation: 0,
            quit: false,
            levels: vec![StripLevels::default(); n],
            bus_levels: vec![StripLevels::default(); buses],
            master_levels: StripLevels::default(),
            loudness: Loudness::default(),
            output: OutputInfo::default(),
            ascii: false,
            no_color: false,
            peek_lines: Vec::new(),
            screen_size: (80, 24),
            mono: false,
            dim: false,
            meter_mode: MeterMode::Peak,
            references: Vec::new(),
            listening: None,
            mix_lufs: None,
            undo: Vec::new(),
            redo: Vec::new(),
        }
    }

    /// Number of track strips.
    pub fn track_count(&self) -> usize {
        self.session.file.tracks.len()
    }

    /// Number of buses.
    pub fn bus_count(&self) -> usize {
        self.session.file.buses.len()
    }

    /// Index of the master in the selection order.
    fn master_index(&self) -> usize {
        self.track_count() + self.bus_count()
    }

    /// Whether the master strip is selected.
    pub fn master_selected(&self) -> bool {
        self.selected >= self.master_index()
    }

    /// Select the master strip (it comes after the tracks and buses).
    pub fn select_master(&mut self) {
        self.selected = self.master_index();
    }

    /// The selected strip.
    pub fn selected_strip(&self) -> StripRef {
        let t = self.track_count();
        if self.selected < t {
            StripRef::Track(self.selected)
        } else if self.selected < self.master_index() {
            StripRef::Bus(self.selected - t)
        } else {
            StripRef::Master
        }
    }

    /// The inspector rows of the selected strip.
    pub fn inspector_rows(&self) -> Vec<Row> {
        params::rows(&self.session.file, self.selected_strip())
    }

    /// The parameter selected in the inspector.
    pub fn selected_param(&self) -> Param {
        let ps = params::params(&self.inspector_rows());
        ps[self.param_index % ps.len().max(1)]
    }

    /// Set parameter `p` of the selected strip to `v` (clamped to its range and grid) as one undo step.
    pub fn set_param(&mut self, p: Param, v: f32) {
        let strip = self.selected_strip();
        if !params::params(&self.inspector_rows()).contains(&p) {
            let on = match strip {
                StripRef::Master => "the master",
                StripRef::Bus(_) => "this bus",
                StripRef::Track(_) => "a track",
            };
            self.message = format!("{}: not on {on}", p.spec().name);
            return;
        }
        let v = p.clamp(v);
        if p == Param::Output && !params::output_options(&self.session.file, strip).contains(&v) {
            self.message = "output: no such group bus (or it would close a loop)".into();
            return;
        }
        self.edit(|f| p.set(f, strip, v));
    }

    fn param_value(&self, p: Param) -> f32 {
        p.get(&params::view(&self.session.file, self.selected_strip()))
    }

    /// The session has finished loading: take the track states and the length.
    pub fn loaded(
        &mut self,
        session: Session,
        status: Vec<TrackStatus>,
        rate_hz: u32,
        length_frames: u64,
    ) {
        // keep edits made while loading
        let file = std::mem::take(&mut self.session.file);
        self.session = session;
        if self.generation > 0 {
            self.session.file = file;
        }
        self.levels = vec![StripLevels::default(); status.len()];
        self.bus_levels = vec![StripLevels::default(); self.bus_count()];
        self.status = status;
        if self.references.len() != self.session.file.references.len() {
            self.references = reference_states(&self.session);
        }
        self.rate_hz = rate_hz;
        self.length_frames = length_frames;
        self.selected = self.selected.min(self.master_index());
        self.finish_loading_if_done();
    }

    /// Track `index` started decoding.
    pub fn track_started(&mut self, index: usize) {
        if let Some(s) = self.status.get_mut(index) {
            if *s == TrackStatus::Loading {
                *s = TrackStatus::Decoding;
            }
        }
    }

    /// Track `index` finished loading: online with its length, or offline with the reason. The rest of the
    /// session keeps working either way; when no track is left loading the status line says so.
    pub fn track_loaded(&mut self, index: usize, result: Result<u64, String>) {
        let Some(s) = self.status.get_mut(index) else {
            return;
        };
        *s = match result {
            Ok(len) => {
                self.length_frames = self.length_frames.max(len);
                TrackStatus::Online
            }
            Err(reason) => TrackStatus::Offline(reason),
        };
        self.finish_loading_if_done();
    }

    /// Reference `index` finished loading: its integrated loudness, or why it is offline.
    pub fn reference_loaded(&mut self, index: usize, result: Result<Option<f64>, String>) {
        if let Some(r) = self.references.get_mut(index) {
            match result {
                Ok(lufs) => {
                    r.status = TrackStatus::Online;
                    r.integrated_lufs = lufs;
                }
                Err(e) => {
                    r.status = TrackStatus::Offline(e.clone());
                    self.message = format!("reference {}: {e}", index + 1);
                }
            }
        }
    }

    fn cycle_reference(&mut self) {
        if self.references.is_empty() {
            self.message =
                "no reference tracks: add [[reference]] file = \"song.wav\" to the session".into();
            return;
        }
        let online: Vec<usize> = (0..self.references.len())
            .filter(|&i| self.references[i].status == TrackStatus::Online)
            .collect();
        if online.is_empty() && self.listening.is_none() {
            self.message = match self.references.iter().find_map(|r| match &r.status {
                TrackStatus::Offline(e) => Some(e.clone()),
                _ => None,
            }) {
                Some(e) => format!("no reference can play: {e}"),
                None => "references still loading".into(),
            };
            return;
        }
        if self.listening.is_none() {
            self.mix_lufs = Some(self.loudness.integrated_lufs).filter(|v| v.is_finite());
        }
        let next = match self.listening {
            None => online.first().copied(),
            Some(i) => online.iter().copied().find(|&j| j > i),
        };
        let Some(j) = next else {
            self.listening = None;
            self.outbox
                .push(Command::now(CommandKind::Monitor(MonitorCommand::Listen {
                    reference: None,
                    gain_db: 0.0,
                })));
            self.message = "listening to the mix".into();
            return;
        };
        let r = &self.references[j];
        let (gain_db, how) = match (self.mix_lufs, r.integrated_lufs) {
            (Some(mix), Some(rl)) => {
                let g = (mix as f64 - rl) as f32;
                let g = g.min(REFERENCE_MAX_GAIN_DB);
                (
                    g,
                    format!("loudness-matched {g:+.1} dB (mix {mix:.1}, ref {rl:.1} LUFS)"),
                )
            }
            (None, _) => (
                0.0,
                "at unity: the mix loudness is not measured yet (play the mix first)".to_string(),
            ),
            (_, None) => (0.0, "at unity: its loudness cannot be measured".to_string()),
        };
        self.message = format!("reference {}: {} {how}", j + 1, r.name);
        self.listening = Some(j);
        self.outbox
            .push(Command::now(CommandKind::Monitor(MonitorCommand::Listen {
                reference: Some(j as u8),
                gain_db,
            })));
    }

    /// Tracks whose loading has finished (online or offline).
    pub fn tracks_done(&self) -> usize {
        self.status
            .iter()
            .filter(|s| matches!(s, TrackStatus::Online | TrackStatus::Offline(_)))
            .count()
    }

    /// Leave the loading state once every track is done (online or offline).
    pub fn finish_loading_if_done(&mut self) {
        if !self.loading || self.tracks_done() < self.status.len() {
            return;
        }
        self.loading = false;
        let offline = self
            .status
            .iter()
            .filter(|s| matches!(s, TrackStatus::Offline(_)))
            .count();
        let loaded = if offline > 0 {
            format!("loaded; {offline} track(s) offline")
        } else {
            "loaded".into()
        };
        // keep what was said while loading (a restore, a missing device)
        self.message = if self.message.is_empty() {
            loaded
        } else {
            format!("{}; {loaded}", self.message)
        };
    }

    /// Handle a key press: prompts and overlays first, then the keymap.
    pub fn handle_key(&mut self, key: &KeyEvent) {
        match &mut self.overlay {
            Overlay::MarkerName(index, text) => {
                match key.code {
                    KeyCode::Enter => {
                        let (i, name) = (*index, text.trim().to_string());
                        self.overlay = Overlay::None;
                        if i < self.session.file.markers.len() {
                            self.edit(|f| f.markers[i].name = name.clone());
                            self.message = format!("marker named {name:?}");
                        }
                    }
                    KeyCode::Esc => self.overlay = Overlay::None,
                    KeyCode::Backspace => {
                        text.pop();
                    }
                    KeyCode::Char(c)
                        if !c.is_control() && text.chars().count() < MARKER_NAME_MAX =>
                    {
                        text.push(c)
                    }
                    _ => {}
                }
                return;
            }
            Overlay::Prompt(text) => {
                match key.code {
                    KeyCode::Enter => {
                        let t = text.clone();
                        self.overlay = Overlay::None;
                        self.apply_typed(&t);
                    }
                    KeyCode::Esc => self.overlay = Overlay::None,
                    KeyCode::Backspace => {
                        text.pop();
                    }
                    KeyCode::Char(c) if c.is_ascii_digit() || c == '.' || c == '-' || c == '+' => {
                        text.push(c)
                    }
                    _ => {}
                }
                return;
            }
            Overlay::Help(scroll) => {
                match key.code {
                    KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1),
                    KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                    KeyCode::PageDown => *scroll = scroll.saturating_add(10),
                    KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
                    KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::F(1) => {
                        self.overlay = Overlay::None
                    }
                    _ => {}
                }
                return;
            }
            Overlay::Recover(path) => {
                let path = path.clone();
                match key.code {
                    KeyCode::Char('y') | KeyCode::Char('r') => {
                        self.overlay = Overlay::None;
                        self.restore_recovery(&path);
                    }
                    KeyCode::Char('n') | KeyCode::Char('d') | KeyCode::Esc => {
                        self.overlay = Overlay::None;
                        let _ = std::fs::remove_file(&path);
                        self.message = "recovery file discarded".into();
                    }
                    _ => {}
                }
                return;
            }
            Overlay::None => {}
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.action(Action::Quit);
            return;
        }
        match self.keymap.feed_event(key) {
            Some(Resolution::Matched(a)) => self.action(a),
            Some(Resolution::Pending) | Some(Resolution::NotFound) | None => {}
        }
    }

    /// Handle a mouse event: a left click selects the strip under it, the wheel over a strip selects it and
    /// moves its fader 1 dB per notch. Returns true when something changed.
    pub fn handle_mouse(&mut self, m: &MouseEvent) -> bool {
        let (w, h) = self.screen_size;
        let area = ratatui::layout::Rect::new(0, 0, w, h);
        let Some(strip) = crate::ui::strip_at(self, area, m.column, m.row) else {
            return false;
        };
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.selected = strip;
                self.keep_selected_in_view_hint();
                true
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                self.selected = strip;
                let up = matches!(m.kind, MouseEventKind::ScrollUp);
                self.action(if up {
                    Action::FaderUp
                } else {
                    Action::FaderDown
                });
                true
            }
            _ => false,
        }
    }

    fn apply_typed(&mut self, text: &str) {
        let v: f32 = match text.trim().parse() {
            Ok(v) if f32::is_finite(v) => v,
            _ => {
                self.message = format!("not a number: {text:?}");
                return;
            }
        };
        if self.inspector {
            self.set_param(self.selected_param(), v);
        } else {
            self.set_fader(v);
        }
    }

    /// Set the selected fader to `db` (clamped), as one undo step.
    pub fn set_fader(&mut self, db: f32) {
        self.set_param(Param::Fader, db.clamp(FADER_MIN_DB, FADER_MAX_DB));
    }

    fn fader_db(&self) -> f32 {
        self.param_value(Param::Fader)
    }

    fn nudge_fader(&mut self, delta_db: f32) {
        let db = ((self.fader_db() + delta_db) * 10.0).round() / 10.0;
        self.set_fader(db);
    }

    /// Step parameter `p` of the selected strip by `delta` (step units; octaves for frequencies).
    fn step(&mut self, p: Param, delta: f32) {
        let options = params::output_options(&self.session.file, self.selected_strip());
        let v = p.stepped(self.param_value(p), delta, &options);
        self.set_param(p, v);
    }

    fn toggle(&mut self, p: Param) {
        let v = self.param_value(p);
        self.set_param(p, if v >= 0.5 { 0.0 } else { 1.0 });
    }

    /// Apply a change to the mix settings as one undo step, emitting the engine commands for what changed.
    /// A change the session would refuse (a routing loop) is undone with a message.
    pub fn edit(&mut self, f: impl FnOnce(&mut SessionFile)) {
        let before = self.session.file.clone();
        f(&mut self.session.file);
        if let Err(e) = self.session.file.routing(std::path::Path::new("session")) {
            if before.routing(std::path::Path::new("session")).is_ok() {
                self.session.file = before;
                self.message = format!("refused: {e}");
                return;
            }
        }
        let after = self.session.file.clone();
        let cmds = diff_commands(&before, &after);
        // Markers (and other settings the engine does not hear) change no command but are still edits.
        if cmds.is_empty() && before == after {
            return;
        }
        self.outbox.extend(cmds);
        self.undo.push(Edit { before, after });
        self.redo.clear();
        self.changed();
    }

    /// Marker positions in frames at the session rate, in timeline order.
    pub fn marker_frames(&self) -> Vec<u64> {
        self.session
            .file
            .markers
            .iter()
            .map(|m| m.frame(self.rate_hz))
            .collect()
    }

    /// The marker at or before the playhead (the one the transport bar names), if any.
    pub fn marker_at_or_before(&self) -> Option<usize> {
        let pos = self.position_frames;
        let rate = self.rate_hz;
        self.session
            .file
            .markers
            .iter()
            .rposition(|m| m.frame(rate) <= pos)
    }

    /// Add a marker at the playhead, named M1, M2, … (a marker already there is kept). One undo step.
    fn marker_add(&mut self) {
        let pos = self.position_frames;
        let frames = self.marker_frames();
        if frames.contains(&pos) {
            self.message = "a marker is already here".into();
            return;
        }
        let at = frames.partition_point(|&m| m < pos);
        let mut n = self.session.file.markers.len() + 1;
        while self
            .session
            .file
            .markers
            .iter()
            .any(|m| m.name == format!("M{n}"))
        {
            n += 1;
        }
        let marker = MarkerConfig {
            time_s: pos as f64 / f64::from(self.rate_hz.max(1)),
            name: format!("M{n}"),
        };
        let name = marker.name.clone();
        self.edit(|f| f.markers.insert(at, marker));
        self.message = format!("marker {name} added");
    }

    fn changed(&mut self) {
        self.dirty = true;
        self.generation += 1;
    }

    fn transport(&mut self, t: TransportCommand) {
        self.outbox.push(Command::transport(0, t));
    }

    fn seek(&mut self, frame: u64) {
        let frame = if self.length_frames > 0 {
            frame.min(self.length_frames)
        } else {
            frame
        };
        self.position_frames = frame;
        self.transport(TransportCommand::Seek { frame });
    }

    fn bar_frames(&self) -> u64 {
        let bpm = self.session.file.tempo_bpm.unwrap_or(120.0).max(1.0);
        (4.0 * 60.0 / bpm * self.rate_hz as f64).round() as u64
    }

    fn send_loop(&mut self) {
        if let (Some(a), Some(b)) = (self.loop_in_frames, self.loop_out_frames) {
            if a < b {
                self.loop_enabled = true;
                self.transport(TransportCommand::SetLoop {
                    start_frame: a,
                    end_frame: b,
                });
            }
        }
    }

    /// Run an action.
    pub fn action(&mut self, a: Action) {
        let seek_step = (SEEK_STEP_S * self.rate_hz as f64) as u64;
        match a {
            Action::PlayPause => {
                if self.playing {
                    self.playing = false;
                    self.transport(TransportCommand::Pause);
                } else {
                    self.playing = true;
                    self.play_start_frames = self.position_frames;
                    self.transport(TransportCommand::Play);
                }
            }
            Action::Stop => {
                self.playing = false;
                self.transport(TransportCommand::Pause);
                self.seek(self.play_start_frames);
            }
            Action::SeekBack => self.seek(self.position_frames.saturating_sub(seek_step)),
            Action::SeekForward => self.seek(self.position_frames + seek_step),
            Action::SeekBackBar => {
                self.seek(self.position_frames.saturating_sub(self.bar_frames()))
            }
            Action::SeekForwardBar => self.seek(self.position_frames + self.bar_frames()),
            Action::GoToStart => self.seek(0),
            Action::GoToEnd => self.seek(self.length_frames),
            Action::LoopToggle => {
                if self.loop_in_frames.is_some() && self.loop_out_frames.is_some() {
                    self.loop_enabled = !self.loop_enabled;
                    let on = self.loop_enabled;
                    self.transport(TransportCommand::LoopEnabled(on));
                } else {
                    self.message = "set the loop in (i) and out (o) first".into();
                }
            }
            Action::LoopSetIn => {
                self.loop_in_frames = Some(self.position_frames);
                if self
                    .loop_out_frames
                    .is_some_and(|o| o <= self.position_frames)
                {
                    self.loop_out_frames = None;
                }
                self.send_loop();
            }
            Action::LoopSetOut => {
                self.loop_out_frames = Some(self.position_frames);
                if self
                    .loop_in_frames
                    .is_some_and(|i| i >= self.position_frames)
                {
                    self.loop_in_frames = None;
                }
                self.send_loop();
            }
            Action::MarkerAdd => self.marker_add(),
            Action::MarkerName => match self.marker_at_or_before() {
                Some(i) => {
                    let name = self.session.file.markers[i].name.clone();
                    self.overlay = Overlay::MarkerName(i, name);
                }
                None => self.message = "no marker at or before the playhead".into(),
            },
            Action::MarkerDelete => match self.marker_at_or_before() {
                Some(i) => {
                    let name = self.session.file.markers[i].name.clone();
                    self.edit(|f| {
                        f.markers.remove(i);
                    });
                    self.message = format!("marker {name:?} deleted");
                }
                None => self.message = "no marker at or before the playhead".into(),
            },
            Action::MarkerNext => {
                let pos = self.position_frames;
                if let Some(m) = self.marker_frames().into_iter().find(|&m| m > pos) {
                    self.seek(m);
                }
            }
            Action::MarkerPrev => {
                let pos = self.position_frames;
                if let Some(m) = self.marker_frames().into_iter().rev().find(|&m| m < pos) {
                    self.seek(m);
                }
            }
            Action::Reconnect => {
                self.reconnect_requested = true;
                self.message = "reconnecting the audio output…".into();
            }
            Action::SelectPrev => self.selected = self.selected.saturating_sub(1),
            Action::SelectNext => self.selected = (self.selected + 1).min(self.master_index()),
            Action::SelectFirst => self.selected = 0,
            Action::SelectLast => self.select_master(),
            Action::FaderUp => self.nudge_fader(1.0),
            Action::FaderDown => self.nudge_fader(-1.0),
            Action::FaderUpFine => self.nudge_fader(0.1),
            Action::FaderDownFine => self.nudge_fader(-0.1),
            Action::FaderUpCoarse => self.nudge_fader(6.0),
            Action::FaderDownCoarse => self.nudge_fader(-6.0),
            Action::FaderUnity => self.set_fader(0.0),
            Action::PanLeft => self.step(Param::Pan, -PAN_STEP),
            Action::PanRight => self.step(Param::Pan, PAN_STEP),
            Action::PanLeftFine => self.step(Param::Pan, -PAN_FINE_STEP),
            Action::PanRightFine => self.step(Param::Pan, PAN_FINE_STEP),
            Action::PanCenter => self.set_param(Param::Pan, 0.0),
            Action::Mute => self.toggle(Param::Mute),
            Action::Solo => self.toggle(Param::Solo),
            Action::ClearSolos => self.edit(|f| {
                f.tracks.iter_mut().for_each(|t| t.solo = false);
                f.buses.iter_mut().for_each(|b| b.solo = false);
            }),
            Action::Polarity => self.toggle(Param::Polarity),
            Action::ToggleInspector => {
                self.inspector = !self.inspector;
                self.keymap.set_mode(if self.inspector {
                    Mode::Inspector
                } else {
                    Mode::Mixer
                });
            }
            Action::ParamNext | Action::ParamPrev => {
                let n = params::params(&self.inspector_rows()).len().max(1);
                let i = self.param_index % n;
                self.param_index = if a == Action::ParamNext {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
            }
            Action::ParamIncrease => self.step_param(|s| s.step),
            Action::ParamDecrease => self.step_param(|s| -s.step),
            Action::ParamIncreaseFine => self.step_param(|s| s.fine),
            Action::ParamDecreaseFine => self.step_param(|s| -s.fine),
            Action::ParamIncreaseCoarse => self.step_param(|s| s.coarse),
            Action::ParamDecreaseCoarse => self.step_param(|s| -s.coarse),
            Action::ParamReset => {
                let p = self.selected_param();
                self.set_param(p, p.spec().default);
            }
            Action::MonoCheck => {
                self.mono = !self.mono;
                self.outbox
                    .push(Command::now(CommandKind::Monitor(MonitorCommand::Mono(
                        self.mono,
                    ))));
                self.message = format!("mono check {}", on_off(self.mono));
            }
            Action::Dim => {
                self.dim = !self.dim;
                self.outbox
                    .push(Command::now(CommandKind::Monitor(MonitorCommand::Dim(
                        self.dim,
                    ))));
                self.message = format!("dim {} ({} dB on the monitor)", on_off(self.dim), DIM_DB);
            }
            Action::ToggleMeterMode => {
                self.meter_mode = self.meter_mode.next();
                self.message = format!("meters: {}", self.meter_mode.label());
            }
            Action::CycleReference => self.cycle_reference(),
            Action::Help => self.overlay = Overlay::Help(0),
            Action::PeekNumbers => {
                let line = self.peek_line();
                self.message = line.clone();
                self.peek_lines.push(line);
            }
            Action::TypeValue => self.overlay = Overlay::Prompt(String::new()),
            Action::Undo => {
                if let Some(e) = self.undo.pop() {
                    self.outbox
                        .extend(diff_commands(&self.session.file, &e.before));
                    self.session.file = e.before.clone();
                    self.redo.push(e);
                    self.changed();
                    self.message = "undone".into();
                } else {
                    self.message = "nothing to undo".into();
                }
            }
            Action::Redo => {
                if let Some(e) = self.redo.pop() {
                    self.outbox
                        .extend(diff_commands(&self.session.file, &e.after));
                    self.session.file = e.after.clone();
                    self.undo.push(e);
                    self.changed();
                    self.message = "redone".into();
                } else {
                    self.message = "nothing to redo".into();
                }
            }
            Action::Cancel => {
                self.overlay = Overlay::None;
                self.keymap.reset();
            }
            Action::Save => self.save(),
            Action::Quit => {
                if self.dirty {
                    self.save();
                }
                self.quit = true;
            }
        }
        self.keep_selected_in_view_hint();
    }

    fn keep_selected_in_view_hint(&mut self) {
        if self.selected < self.scroll {
            self.scroll = self.selected;
        }
    }

    /// Adjust `scroll` so the selected strip is among the `visible` strips of the scrolling row (tracks, then
    /// buses; with the master selected, the last ones).
    pub fn scroll_into_view(&mut self, visible: usize) {
        let visible = visible.max(1);
        let n = self.track_count() + self.bus_count();
        let sel = self.selected.min(n.saturating_sub(1));
        if sel < self.scroll {
            self.scroll = sel;
        } else if sel >= self.scroll + visible {
            self.scroll = sel + 1 - visible;
        }
        let max_scroll = n.saturating_sub(visible);
        self.scroll = self.scroll.min(max_scroll);
    }

    fn step_param(&mut self, delta: impl Fn(&params::Spec) -> f32) {
        let p = self.selected_param();
        self.step(p, delta(&p.spec()));
    }

    /// Save the session file (atomically). The demo has nothing to save to.
    pub fn save(&mut self) {
        match self.session.origin {
            Origin::Demo => {
                self.message = "demo: nothing to save (the built-in song has no file)".into();
            }
            _ => match self.session.save() {
                Ok(p) => {
                    self.dirty = false;
                    if let Some(r) = self.recovery_path() {
                        let _ = std::fs::remove_file(r);
                    }
                    self.message = format!("saved {}", p.display());
                }
                Err(e) => self.message = format!("save failed: {e}"),
            },
        }
    }

    /// Where the recovery file goes: next to the save path, `<name>.recovery`. None for the demo.
    pub fn recovery_path(&self) -> Option<PathBuf> {
        recovery_path_for(&self.session)
    }

    /// Write the recovery file now (atomically).
    pub fn write_recovery(&self) -> std::io::Result<()> {
        if let Some(p) = self.recovery_path() {
            crate::session::write_atomic(&p, self.session.file.to_toml().as_bytes())?;
        }
        Ok(())
    }

    fn restore_recovery(&mut self, path: &std::path::Path) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.message = format!("{}: {}", path.display(), crate::session::io_reason(&e));
                return;
            }
        };
        match SessionFile::parse(&text, path) {
            Ok(file) if file.tracks.len() == self.track_count() => {
                self.edit(|f| *f = file);
                self.message = format!("restored {}", path.display());
            }
            Ok(_) => self.message = format!("{}: track list differs; not restored", path.display()),
            Err(e) => self.message = format!("{e}"),
        }
    }

    /// One plain-text line: every strip's peak and RMS, and the master loudness.
    pub fn peek_line(&self) -> String {
        let mut parts = Vec::new();
        for (t, l) in self.session.file.tracks.iter().zip(&self.levels) {
            parts.push(format!(
                "{} peak {} rms {}",
                t.display_name(),
                fmt_db(l.peak_db[0].max(l.peak_db[1])),
                fmt_db(l.rms_db[0].max(l.rms_db[1]))
            ));
        }
        for (b, l) in self.session.file.buses.iter().zip(&self.bus_levels) {
            parts.push(format!(
                "bus {} peak {} rms {}",
                b.name,
                fmt_db(l.peak_db[0].max(l.peak_db[1])),
                fmt_db(l.rms_db[0].max(l.rms_db[1]))
            ));
        }
        let m = &self.master_levels;
        let ld = &self.loudness;
        parts.push(format!(
            "master peak {} rms {} M {} S {} I {} LUFS LRA {:.1} LU TP {} dBTP",
            fmt_db(m.peak_db[0].max(m.peak_db[1])),
            fmt_db(m.rms_db[0].max(m.rms_db[1])),
            fmt_db(ld.momentary_lufs),
            fmt_db(ld.short_term_lufs),
            fmt_db(ld.integrated_lufs),
            ld.range_lu,
            fmt_db(ld.true_peak_db)
        ));
        parts.join("; ")
    }

    /// Take the emitted commands.
    pub fn drain_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.outbox)
    }

    /// Take the player's per-bus meters (`MeterBank::buses`, session order) into [`App::bus_levels`]: the
    /// peaks since the last read (read and reset), RMS and gain reduction, with hold and clip at `now_ms`.
    pub fn take_bus_meters(&mut self, buses: &[crate::player::StripMeters], now_ms: u64) {
        for (l, sm) in self.bus_levels.iter_mut().zip(buses) {
            l.update(
                [sm.peak[0].take(), sm.peak[1].take()],
                [sm.rms[0].load(), sm.rms[1].load()],
                sm.gain_reduction_db.load(),
                now_ms,
            );
        }
    }

    /// The meter view of strip `s` (default levels for an index out of range).
    pub fn strip_levels(&self, s: StripRef) -> StripLevels {
        match s {
            StripRef::Track(i) => self.levels.get(i).copied().unwrap_or_default(),
            StripRef::Bus(b) => self.bus_levels.get(b).copied().unwrap_or_default(),
            StripRef::Master => self.master_levels,
        }
    }

    /// Update hold times etc.; returns nothing. `now` is used for the meter clock.
    pub fn now_ms(start: Instant) -> u64 {
        start.elapsed().as_millis() as u64
    }
}

/// `<save path>.recovery`, or None for the demo.
pub fn recovery_path_for(session: &Session) -> Option<PathBuf> {
    let p = session.save_path()?;
    let mut s = p.into_os_string();
    s.push(".recovery");
    Some(PathBuf::from(s))
}

fn reference_states(session: &Session) -> Vec<ReferenceState> {
    session
        .file
        .references
        .iter()
        .enumerate()
        .map(|(i, r)| ReferenceState {
            name: r.display_name(),
            status: if i < crate::engine::MAX_REFERENCES {
                TrackStatus::Loading
            } else {
                TrackStatus::Offline(format!(
                    "more than {} references",
                    crate::engine::MAX_REFERENCES
                ))
            },
            integrated_lufs: None,
        })
        .collect()
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// dB with one decimal, `-inf` for silence.
pub fn fmt_db(db: f32) -> String {
    if db.is_finite() {
        format!("{db:.1}")
    } else {
        "-inf".into()
    }
}

type Resolved = (
    Vec<StripState>,
    Vec<(StripState, Option<BusKind>)>,
    MasterState,
);

/// The session resolved into engine states: tracks, buses (with their kind) and the master. A session the
/// engine would refuse (a routing loop) resolves without routing.
fn resolve(f: &SessionFile) -> Resolved {
    match f.routing(std::path::Path::new("session")) {
        Ok(r) => (
            r.tracks,
            r.buses
                .into_iter()
                .map(|b| (b.state, Some(b.kind)))
                .collect(),
            r.master,
        ),
        Err(_) => (
            f.tracks.iter().map(|t| t.strip_state()).collect(),
            f.buses
                .iter()
                .map(|_| (StripState::default(), None))
                .collect(),
            f.master_state(),
        ),
    }
}

/// Commands for what differs between two strip states, in signal-flow order.
fn strip_diff(a: &StripState, b: &StripState, id: StripId, out: &mut Vec<Command>) {
    use StripParam as P;
    let mut push = |p: P| out.push(Command::strip(0, id, p));
    if a.trim_db != b.trim_db {
        push(P::TrimDb(b.trim_db));
    }
    if a.invert_polarity != b.invert_polarity {
        push(P::InvertPolarity(b.invert_polarity));
    }
    for (pa, pb, hp) in [(&a.hpf, &b.hpf, true), (&a.lpf, &b.lpf, false)] {
        if pa.enabled != pb.enabled {
            push(if hp { P::HpfEnabled } else { P::LpfEnabled }(pb.enabled));
        }
        if pa.freq_hz != pb.freq_hz {
            push(if hp { P::HpfFreqHz } else { P::LpfFreqHz }(pb.freq_hz));
        }
        if pa.slope_24 != pb.slope_24 {
            push(if hp { P::HpfSlope24 } else { P::LpfSlope24 }(pb.slope_24));
        }
    }
    eq_diff(a, b, &mut push);
    let (ga, gb) = (&a.gate, &b.gate);
    if ga.enabled != gb.enabled {
        push(P::GateEnabled(gb.enabled));
    }
    for (x, y, f) in [
        (
            ga.threshold_db,
            gb.threshold_db,
            P::GateThresholdDb as fn(f32) -> P,
        ),
        (ga.ratio, gb.ratio, P::GateRatio),
        (ga.range_db, gb.range_db, P::GateRangeDb),
        (ga.attack_ms, gb.attack_ms, P::GateAttackMs),
        (ga.hold_ms, gb.hold_ms, P::GateHoldMs),
        (ga.release_ms, gb.release_ms, P::GateReleaseMs),
    ] {
        if x != y {
            push(f(y));
        }
    }
    // compressor after the gate (signal-flow order)
    comp_diff(a, b, &mut push);
    let mut buses: Vec<u16> = a.sends.iter().chain(&b.sends).map(|s| s.bus).collect();
    buses.sort_unstable();
    buses.dedup();
    for bus in buses {
        let sa = a.sends.iter().find(|s| s.bus == bus);
        let sb = b.sends.iter().find(|s| s.bus == bus);
        match (sa, sb) {
            (_, Some(s)) if sa != sb => push(P::SendTo {
                bus,
                level_db: s.level_db,
                pre_fader: s.pre_fader,
                on: true,
            }),
            (Some(s), None) => push(P::SendTo {
                bus,
                level_db: s.level_db,
                pre_fader: s.pre_fader,
                on: false,
            }),
            _ => {}
        }
    }
    if a.output != b.output {
        push(P::Route(b.output));
    }
    if a.gain_db != b.gain_db {
        push(P::GainDb(b.gain_db));
    }
    if a.pan != b.pan {
        push(P::Pan(b.pan));
    }
    if a.mute != b.mute {
        push(P::Mute(b.mute));
    }
    if a.solo != b.solo {
        push(P::Solo(b.solo));
    }
}

fn eq_diff(a: &StripState, b: &StripState, push: &mut impl FnMut(StripParam)) {
    use StripParam as P;
    if a.eq.enabled != b.eq.enabled {
        push(P::EqEnabled(b.eq.enabled));
    }
    for (k, (x, y)) in a.eq.bands.iter().zip(&b.eq.bands).enumerate() {
        let k = k as u8;
        if x.enabled != y.enabled {
            push(P::EqBandEnabled(k, y.enabled));
        }
        if x.freq_hz != y.freq_hz {
            push(P::EqBandFreqHz(k, y.freq_hz));
        }
        if x.gain_db != y.gain_db {
            push(P::EqBandGainDb(k, y.gain_db));
        }
        if x.q != y.q {
            push(P::EqBandQ(k, y.q));
        }
    }
}

fn comp_diff(a: &StripState, b: &StripState, push: &mut impl FnMut(StripParam)) {
    use StripParam as P;
    let (ca, cb) = (&a.compressor, &b.compressor);
    if ca.enabled != cb.enabled {
        push(P::CompEnabled(cb.enabled));
    }
    for (x, y, f) in [
        (
            ca.threshold_db,
            cb.threshold_db,
            P::CompThresholdDb as fn(f32) -> P,
        ),
        (ca.ratio, cb.ratio, P::CompRatio),
        (ca.knee_db, cb.knee_db, P::CompKneeDb),
        (ca.attack_ms, cb.attack_ms, P::CompAttackMs),
        (ca.release_ms, cb.release_ms, P::CompReleaseMs),
        (ca.makeup_db, cb.makeup_db, P::CompMakeupDb),
        (
            ca.sidechain_hpf_hz,
            cb.sidechain_hpf_hz,
            P::CompSidechainHpfHz,
        ),
    ] {
        if x != y {
            push(f(y));
        }
    }
}

fn fx_diff(a: Option<BusKind>, b: Option<BusKind>, id: StripId, out: &mut Vec<Command>) {
    use StripParam as P;
    let mut push = |p: P| out.push(Command::strip(0, id, p));
    match (a, b) {
        (Some(BusKind::Reverb(x)), Some(BusKind::Reverb(y))) => {
            for (u, v, f) in [
                (x.decay_s, y.decay_s, P::ReverbDecayS as fn(f32) -> P),
                (x.pre_delay_ms, y.pre_delay_ms, P::ReverbPreDelayMs),
                (x.size, y.size, P::ReverbSize),
                (x.damping, y.damping, P::ReverbDamping),
                (x.width, y.width, P::ReverbWidth),
            ] {
                if u != v {
                    push(f(v));
                }
            }
        }
        (Some(BusKind::Delay(x)), Some(BusKind::Delay(y))) => {
            for (u, v, f) in [
                (x.time_ms, y.time_ms, P::DelayTimeMs as fn(f32) -> P),
                (x.feedback, y.feedback, P::DelayFeedback),
                (x.low_cut_hz, y.low_cut_hz, P::DelayLowCutHz),
                (x.high_cut_hz, y.high_cut_hz, P::DelayHighCutHz),
            ] {
                if u != v {
                    push(f(v));
                }
            }
            if x.ping_pong != y.ping_pong {
                push(P::DelayPingPong(y.ping_pong));
            }
        }
        _ => {}
    }
}

/// The engine commands that take the mix from `a` to `b`: tracks, then buses, then the master, each in
/// signal-flow order. Computed from the engine states both resolve to, so every parameter (and routing:
/// [`StripParam::Route`], [`StripParam::SendTo`]) is covered.
pub fn diff_commands(a: &SessionFile, b: &SessionFile) -> Vec<Command> {
    let mut out = Vec::new();
    let (ta, ba, ma) = resolve(a);
    let (tb, bb, mb) = resolve(b);
    for (i, (x, y)) in ta.iter().zip(&tb).enumerate() {
        strip_diff(x, y, StripId::Track(i as u16), &mut out);
    }
    for (i, ((x, kx), (y, ky))) in ba.iter().zip(&bb).enumerate() {
        let id = StripId::Bus(i as u16);
        fx_diff(*kx, *ky, id, &mut out);
        strip_diff(x, y, id, &mut out);
    }
    let id = StripId::Master;
    let mut push = |p: StripParam| out.push(Command::strip(0, id, p));
    let (sa, sb) = (
        StripState {
            eq: ma.eq,
            compressor: ma.compressor,
            ..StripState::default()
        },
        StripState {
            eq: mb.eq,
            compressor: mb.compressor,
            ..StripState::default()
        },
    );
    eq_diff(&sa, &sb, &mut push);
    comp_diff(&sa, &sb, &mut push);
    if let (Some(la), Some(lb)) = (ma.limiter, mb.limiter) {
        if la.enabled != lb.enabled {
            push(StripParam::LimiterEnabled(lb.enabled));
        }
        if la.ceiling_dbtp != lb.ceiling_dbtp {
            push(StripParam::LimiterCeilingDbtp(lb.ceiling_dbtp));
        }
        if la.release_ms != lb.release_ms {
            push(StripParam::LimiterReleaseMs(lb.release_ms));
        }
    }
    if ma.gain_db != mb.gain_db {
        push(StripParam::GainDb(mb.gain_db));
    }
    out
}

#[cfg(test)]
mod tests;
