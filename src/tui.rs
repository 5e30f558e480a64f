//! The terminal front end: terminal setup and restore (also on panic and signals), the background loader, the
//! audio output, the event loop with its frame-rate cap, and the recovery file.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossterm::event::{self, Event, KeyEventKind};

use crate::app::{lin_to_db, App, OutputInfo, Overlay, TrackStatus};
use crate::audio::{self, OutputOptions};
use crate::engine::{Command, CommandKind, MemorySource};
use crate::keymap::Keymap;
use crate::load::{load_each, LoadProgress, LoadedSession, DEFAULT_RATE_HZ};
use crate::player::{self, PlayerHandle};
use crate::session::{Origin, Session};

/// How often the recovery file is written while there are unsaved changes.
pub const RECOVERY_INTERVAL: Duration = Duration::from_secs(3);

/// Options of the mixer.
#[derive(Clone, Debug, Default)]
pub struct TuiOptions {
    /// Session argument (folder, .toml, audio file, `demo`).
    pub session: String,
    /// `--keymap FILE`.
    pub keymap: Option<PathBuf>,
    /// Frames per second cap.
    pub fps: u32,
    /// ASCII-only drawing.
    pub ascii: bool,
    /// Audio output options.
    pub output: OutputOptions,
}

struct Audio {
    player: PlayerHandle,
    output: audio::Output,
}

/// What the UI thread waits for: terminal input, signals and loader progress, all on one channel so that a
/// signal wakes the loop at once and a stuck terminal read can never keep it from seeing one.
enum UiEvent {
    /// A terminal event.
    Term(Event),
    /// Reading the terminal failed (it is gone).
    TermError,
    /// SIGHUP, SIGTERM or SIGINT.
    Signal(i32),
    /// Loader progress of one stem.
    Load(LoadProgress),
    /// One stem's share of the song overview (computed on the loader's thread).
    Overview(crate::overview::Overview),
    /// The demo, synthesised in one piece.
    Demo(Box<LoadedSession>),
    /// The loader has reported every stem.
    LoadFinished,
}

/// Why the event loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    /// The user quit.
    Quit,
    /// A signal asked us to go.
    Signal(i32),
    /// The terminal hung up (SSH dropped, tmux session killed) or cannot be written.
    TerminalLost,
}

/// How long teardown (stopping audio, restoring the terminal) may take on the way out, once the session is
/// saved or the recovery file written, before the process exits anyway.
pub const TEARDOWN_LIMIT: Duration = Duration::from_secs(2);

/// Run the mixer until the user quits or a signal arrives.
pub fn run(opts: TuiOptions) -> Result<()> {
    let session = Session::open(&opts.session, crate::media::is_audio_path)?;
    let keymap = Keymap::load(opts.keymap.as_deref())?;
    let preferred = opts
        .output
        .rate_hz
        .or(session.file.sample_rate)
        .unwrap_or(DEFAULT_RATE_HZ);
    let (negotiated, audio_note) = match audio::negotiate(&opts.output, preferred) {
        Ok(n) => (n, None),
        Err(e) => {
            let none = OutputOptions {
                output_none: true,
                rate_hz: Some(preferred),
                ..Default::default()
            };
            let n = audio::negotiate(&none, preferred).context("starting the silent clock")?;
            (n, Some(format!("no audio output: {e}")))
        }
    };
    let rate_hz = negotiated.rate_hz();
    let mut app = App::new(session.clone(), keymap, rate_hz);
    app.ascii = opts.ascii;
    app.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    app.output = OutputInfo {
        description: if negotiated.is_silent() {
            "no audio output".into()
        } else {
            negotiated.description().to_string()
        },
        silent: negotiated.is_silent(),
        load: None,
        xruns: 0,
    };
    if let Some(n) = audio_note {
        app.message = n;
    }
    if let Some(p) = app.recovery_path() {
        if p.is_file() {
            app.overlay = Overlay::Recover(p);
        }
    }

    let (tx, rx) = mpsc::channel::<UiEvent>();

    // Signals. A first SIGHUP/SIGTERM/SIGINT wakes the loop through the channel (which writes the recovery
    // file and exits); a second one while we are still shutting down terminates at once.
    let term_now = Arc::new(AtomicBool::new(false));
    let sigs = [
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ];
    for sig in sigs {
        signal_hook::flag::register_conditional_shutdown(sig, 1, term_now.clone())
            .context("installing signal handlers")?;
        signal_hook::flag::register(sig, term_now.clone()).context("installing signal handlers")?;
    }
    let mut signals =
        signal_hook::iterator::Signals::new(sigs).context("installing signal handlers")?;
    {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("ttymix-signal".into())
            .spawn(move || {
                for s in signals.forever() {
                    if tx.send(UiEvent::Signal(s)).is_err() {
                        break;
                    }
                }
            })
            .context("starting the signal thread")?;
    }

    // The loader: the demo in one piece, a session's stems one by one as they decode.
    let is_demo = session.origin == Origin::Demo;
    let (mut audio, mut pending_negotiated) = if is_demo {
        (None, Some(negotiated))
    } else {
        // the engine runs at once with every track silent; stems arrive through ReplaceSource
        let engine =
            LoadedSession::pending(session.clone(), rate_hz).engine(negotiated.max_block_frames());
        (Some(start_audio(engine, negotiated)), None)
    };
    {
        let tx = tx.clone();
        let load_session = session;
        std::thread::Builder::new()
            .name("ttymix-load".into())
            .spawn(move || {
                if is_demo {
                    let loaded = LoadedSession::load(load_session, Some(rate_hz));
                    let _ = tx.send(UiEvent::Overview(overview_of(&loaded)));
                    let _ = tx.send(UiEvent::Demo(Box::new(loaded)));
                } else {
                    let tx = Mutex::new(tx);
                    load_each(&load_session, rate_hz, &|p| {
                        // the overview share is computed here, on the decoding thread, not in the UI
                        let share = match &p {
                            LoadProgress::Done(_, ta) => ta.audio.as_ref().ok().map(|ch| {
                                let mut o = crate::overview::Overview::new(rate_hz);
                                let refs: Vec<&[f32]> = ch.iter().map(|c| &c[..]).collect();
                                o.add_stem(&refs);
                                o
                            }),
                            _ => None,
                        };
                        let tx = tx.lock().unwrap_or_else(|e| e.into_inner());
                        if let Some(o) = share {
                            let _ = tx.send(UiEvent::Overview(o));
                        }
                        let _ = tx.send(UiEvent::Load(p));
                    });
                    let _ = tx
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .send(UiEvent::LoadFinished);
                }
            })
            .context("starting the loader thread")?;
    }

    let mut terminal = ratatui::init();
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    // ratatui's hook restores the screen on a panic; mouse reporting has to go too
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
        hook(info);
    }));
    if let Ok(size) = terminal.size() {
        app.screen_size = (size.width, size.height);
    }
    // Terminal input on its own thread: crossterm's read can spin forever on a hung-up tty, so the event
    // loop never calls it itself.
    {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("ttymix-input".into())
            .spawn(move || loop {
                match event::read() {
                    Ok(e) => {
                        if tx.send(UiEvent::Term(e)).is_err() {
                            break;
                        }
                    }
                    Err(_) => {
                        let _ = tx.send(UiEvent::TermError);
                        break;
                    }
                }
            })
            .context("starting the input thread")?;
    }
    drop(tx);
    let watch = TtyWatch::new();
    let result = event_loop(
        &mut terminal,
        &mut app,
        &opts,
        &mut audio,
        &mut pending_negotiated,
        &rx,
        &watch,
    );
    let exit = match &result {
        Ok(e) => *e,
        Err(_) => Exit::TerminalLost,
    };
    // Unsaved changes go to the recovery file first, before anything that could block.
    let recovery = if app.dirty {
        Some(app.write_recovery())
    } else {
        None
    };
    {
        // Never hang on the way out: a stuck audio backend or a tty that no longer drains. (The session
        // was saved or the recovery file written above.)
        let code = match exit {
            Exit::Quit => 0,
            Exit::Signal(s) => 128 + s,
            Exit::TerminalLost => 1,
        };
        let _ = std::thread::Builder::new()
            .name("ttymix-exit-watchdog".into())
            .spawn(move || {
                std::thread::sleep(TEARDOWN_LIMIT);
                std::process::exit(code);
            });
    }
    if let Some(a) = audio.take() {
        drop(a.output.stop());
        drop(a.player);
    }
    if exit != Exit::TerminalLost {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
        ratatui::restore();
    }
    if exit != Exit::Quit {
        // the terminal is gone or we were told to go: nobody reads what we would print
        std::process::exit(match exit {
            Exit::Signal(s) => 128 + s,
            _ => 1,
        });
    }
    let mut err = std::io::stderr();
    match (recovery, app.recovery_path()) {
        (Some(Ok(())), Some(p)) => {
            let _ = writeln!(err, "unsaved changes kept in {}", p.display());
        }
        (Some(Err(e)), Some(p)) => {
            let _ = writeln!(
                err,
                "error: {}: {}",
                p.display(),
                crate::session::io_reason(&e)
            );
        }
        _ => {}
    }
    let mut out = std::io::stdout();
    for line in &app.peek_lines {
        let _ = writeln!(out, "{line}");
    }
    if !app.message.is_empty()
        && (app.message.starts_with("save failed") || app.message.starts_with("demo:"))
    {
        let _ = writeln!(err, "{}", app.message);
    }
    result.map(|_| ())
}

fn start_audio(engine: crate::engine::Engine, n: audio::Negotiated) -> Audio {
    let (player, callback) = player::bridge(engine, 1024);
    let output = audio::start(n, Box::new(callback));
    Audio { player, output }
}

/// Watches the controlling terminal's file descriptors for a hang-up.
struct TtyWatch {
    fds: Vec<i32>,
}

impl TtyWatch {
    fn new() -> Self {
        use std::io::IsTerminal;
        let mut fds = Vec::new();
        if std::io::stdin().is_terminal() {
            fds.push(0);
        }
        if std::io::stdout().is_terminal() {
            fds.push(1);
        }
        Self { fds }
    }

    /// True when a terminal descriptor reports hang-up or error (the pty's other side is gone).
    fn hung_up(&self) -> bool {
        let mut p: Vec<libc::pollfd> = self
            .fds
            .iter()
            .map(|&fd| libc::pollfd {
                fd,
                events: 0,
                revents: 0,
            })
            .collect();
        if p.is_empty() {
            return false;
        }
        // SAFETY: `p` is a valid array of `p.len()` pollfd structs; a zero timeout never blocks.
        let n = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, 0) };
        n > 0
            && p.iter()
                .any(|f| f.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0)
    }
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    opts: &TuiOptions,
    audio: &mut Option<Audio>,
    negotiated: &mut Option<audio::Negotiated>,
    rx: &mpsc::Receiver<UiEvent>,
    watch: &TtyWatch,
) -> Result<Exit> {
    let frame = Duration::from_secs_f64(1.0 / opts.fps.clamp(1, 240) as f64);
    let start = Instant::now();
    let mut dirty_view = true;
    let mut last_draw = Instant::now() - frame;
    let mut last_recovery = Instant::now();
    let mut recovery_gen = 0u64;
    let mut last_message = String::new();
    loop {
        let timeout = frame.saturating_sub(last_draw.elapsed());
        let mut next = rx.recv_timeout(timeout).ok();
        while let Some(ev) = next.take() {
            match ev {
                UiEvent::Signal(s) => {
                    // at once: the terminal may already be gone
                    if app.dirty {
                        app.write_recovery().ok();
                    }
                    return Ok(Exit::Signal(s));
                }
                UiEvent::TermError => return Ok(Exit::TerminalLost),
                UiEvent::Term(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                    app.handle_key(&k);
                    dirty_view = true;
                }
                UiEvent::Term(Event::Mouse(m)) => {
                    if app.handle_mouse(&m) {
                        dirty_view = true;
                    }
                }
                UiEvent::Term(Event::Resize(w, h)) => {
                    app.screen_size = (w, h);
                    dirty_view = true;
                }
                UiEvent::Term(_) => {}
                UiEvent::Load(LoadProgress::Started(i)) => {
                    app.track_started(i);
                    dirty_view = true;
                }
                UiEvent::Load(LoadProgress::Done(i, ta)) => {
                    let result = match &ta.audio {
                        Ok(ch) => Ok(ch.first().map(|c| c.len()).unwrap_or(0) as u64),
                        Err(e) => Err(e.clone()),
                    };
                    if let (Ok(ch), Some(a)) = (&ta.audio, audio.as_mut()) {
                        // built here; the audio thread only swaps it in
                        let source: Box<dyn crate::engine::Source> =
                            Box::new(MemorySource::new(ch.clone()));
                        a.player.send(Command::now(CommandKind::ReplaceSource {
                            track: i as u16,
                            source,
                        }));
                    }
                    app.track_loaded(i, result);
                    dirty_view = true;
                }
                UiEvent::Load(LoadProgress::Reference(i, r)) => {
                    let result = match r {
                        Ok(ra) => {
                            if let Some(a) = audio.as_mut() {
                                a.player.send(Command::now(CommandKind::SetReference {
                                    index: i as u8,
                                    source: Box::new(MemorySource::new(ra.channels)),
                                }));
                            }
                            Ok(ra.integrated_lufs)
                        }
                        Err(e) => Err(e),
                    };
                    app.reference_loaded(i, result);
                    dirty_view = true;
                }
                UiEvent::Overview(o) => {
                    app.overview.merge(&o);
                    dirty_view = true;
                }
                UiEvent::LoadFinished => {
                    app.finish_loading_if_done();
                    dirty_view = true;
                }
                UiEvent::Demo(loaded) => {
                    let mut loaded = *loaded;
                    if app.generation > 0 && app.track_count() == loaded.session.file.tracks.len() {
                        loaded.session.file = app.session.file.clone();
                    }
                    let status = loaded
                        .tracks
                        .iter()
                        .map(|t| match &t.audio {
                            Ok(_) => TrackStatus::Online,
                            Err(e) => TrackStatus::Offline(e.clone()),
                        })
                        .collect();
                    // the engine starts from the session as edited so far: keep only transport commands
                    app.outbox.retain(|c| {
                        matches!(c.kind, CommandKind::Transport(_) | CommandKind::Monitor(_))
                    });
                    if let Some(n) = negotiated.take() {
                        *audio = Some(start_audio(loaded.engine(n.max_block_frames()), n));
                    }
                    app.loaded(
                        loaded.session.clone(),
                        status,
                        loaded.sample_rate_hz,
                        loaded.length_frames(),
                    );
                    dirty_view = true;
                }
            }
            // drain everything pending before drawing
            next = rx.try_recv().ok();
        }
        if watch.hung_up() {
            return Ok(Exit::TerminalLost);
        }
        if let Some(a) = audio.as_mut() {
            for cmd in app.drain_commands() {
                a.player.send(cmd);
            }
            a.player.tick();
            if std::mem::take(&mut app.reconnect_requested) {
                a.output.request_reconnect();
            }
            // device lost / back: say so and show the current output (reconnect: Output::request_reconnect)
            while let Some(ev) = a.output.try_event() {
                app.message = crate::play::event_line(&ev);
                app.output.silent = a.output.is_silent();
                app.output.description = if app.output.silent {
                    "no audio output".into()
                } else {
                    a.output.description()
                };
                dirty_view = true;
            }
        }
        if app.quit {
            return Ok(Exit::Quit);
        }
        if last_draw.elapsed() >= frame {
            if let Some(a) = audio.as_ref() {
                if update_meters(app, a, start) {
                    dirty_view = true;
                }
            }
            if app.message != last_message {
                last_message = app.message.clone();
                dirty_view = true;
            }
            if dirty_view {
                if let Ok(size) = terminal.size() {
                    app.scroll_into_view(crate::ui::strip_slots(app, size.width));
                }
                if terminal.draw(|f| crate::ui::draw(f, app)).is_err() {
                    return Ok(Exit::TerminalLost);
                }
                dirty_view = false;
            }
            last_draw = Instant::now();
        }
        if app.dirty
            && app.generation != recovery_gen
            && last_recovery.elapsed() >= RECOVERY_INTERVAL
        {
            app.write_recovery().ok();
            recovery_gen = app.generation;
            last_recovery = Instant::now();
        }
    }
}

/// The song overview of every online stem (computed on the loader thread).
fn overview_of(loaded: &LoadedSession) -> crate::overview::Overview {
    let mut o = crate::overview::Overview::new(loaded.sample_rate_hz);
    for t in &loaded.tracks {
        if let Ok(ch) = &t.audio {
            let refs: Vec<&[f32]> = ch.iter().map(|c| &c[..]).collect();
            o.add_stem(&refs);
        }
    }
    o
}

/// Copy the meter bank into the app; true when anything shown changed.
fn update_meters(app: &mut App, a: &Audio, start: Instant) -> bool {
    let now_ms = start.elapsed().as_millis() as u64;
    let m = a.player.meters();
    let before_levels = app.levels.clone();
    let before_buses = app.bus_levels.clone();
    let before_master = app.master_levels;
    let before_pos = app.position_frames;
    let before_loud = app.loudness;
    for (l, sm) in app.levels.iter_mut().zip(&m.tracks) {
        l.update(
            [sm.peak[0].take(), sm.peak[1].take()],
            [sm.rms[0].load(), sm.rms[1].load()],
            sm.gain_reduction_db.load(),
            now_ms,
        );
    }
    app.take_bus_meters(&m.buses, now_ms);
    app.master_levels.update(
        [m.master.peak[0].take(), m.master.peak[1].take()],
        [m.master.rms[0].load(), m.master.rms[1].load()],
        m.master.gain_reduction_db.load(),
        now_ms,
    );
    let ld = &m.loudness;
    app.loudness.momentary_lufs = ld.momentary_lufs.load();
    app.loudness.short_term_lufs = ld.short_term_lufs.load();
    app.loudness.integrated_lufs = ld.integrated_lufs.load();
    app.loudness.range_lu = ld.loudness_range_lu.load();
    let tp = lin_to_db(ld.true_peak.take());
    if tp > app.loudness.true_peak_db || !app.loudness.true_peak_db.is_finite() {
        app.loudness.true_peak_db = tp;
    }
    app.loudness.correlation = ld.correlation.load();
    app.loudness.clips = m.master_clips.load(Ordering::Relaxed);
    app.position_frames = a.player.position_frames();
    let s = a.output.stats();
    app.output.load = s.load_p50;
    app.output.xruns = s.xruns + s.overruns;
    // compare what is displayed (NaN-safe by bits)
    let bits = |l: &crate::app::StripLevels| {
        [
            l.peak_db[0].to_bits(),
            l.peak_db[1].to_bits(),
            l.hold_db[0].to_bits(),
            l.hold_db[1].to_bits(),
            l.clipped as u32,
            l.gain_reduction_db.to_bits(),
        ]
    };
    let lb = |x: &crate::app::Loudness| {
        [
            x.momentary_lufs.to_bits(),
            x.short_term_lufs.to_bits(),
            x.integrated_lufs.to_bits(),
            x.range_lu.to_bits(),
            x.true_peak_db.to_bits(),
            x.correlation.to_bits(),
            x.clips as u32,
        ]
    };
    before_levels
        .iter()
        .map(bits)
        .ne(app.levels.iter().map(bits))
        || before_buses
            .iter()
            .map(bits)
            .ne(app.bus_levels.iter().map(bits))
        || bits(&before_master) != bits(&app.master_levels)
        || before_pos != app.position_frames
        || lb(&before_loud) != lb(&app.loudness)
}
