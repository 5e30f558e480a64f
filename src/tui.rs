//! The terminal front end: terminal setup and restore (also on panic and signals), the background loader, the
//! audio output, the event loop with its frame-rate cap, and the recovery file.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossterm::event::{self, Event, KeyEventKind};

use crate::app::{lin_to_db, App, OutputInfo, Overlay, TrackStatus};
use crate::audio::{self, OutputOptions};
use crate::keymap::Keymap;
use crate::load::{LoadedSession, DEFAULT_RATE_HZ};
use crate::player::{self, PlayerHandle};
use crate::session::Session;

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

    // Signals: SIGHUP/SIGTERM/SIGINT set a flag the loop checks every frame.
    let signalled = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(sig, signalled.clone())
            .context("installing signal handlers")?;
    }

    let (tx, rx) = mpsc::channel();
    let load_session = session;
    std::thread::Builder::new()
        .name("ttymix-load".into())
        .spawn(move || {
            let _ = tx.send(LoadedSession::load(load_session, Some(rate_hz)));
        })
        .context("starting the loader thread")?;

    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut app, &opts, negotiated, rx, &signalled);
    ratatui::restore();
    if app.dirty {
        // a signal, or a save on quit that failed: keep the changes in the recovery file
        match (app.write_recovery(), app.recovery_path()) {
            (Ok(()), Some(p)) if !signalled.load(Ordering::Relaxed) => {
                eprintln!("unsaved changes kept in {}", p.display())
            }
            (Err(e), Some(p)) => {
                eprintln!("error: {}: {}", p.display(), crate::session::io_reason(&e))
            }
            _ => {}
        }
    }
    for line in &app.peek_lines {
        println!("{line}");
    }
    if !app.message.is_empty()
        && (app.message.starts_with("save failed") || app.message.starts_with("demo:"))
    {
        eprintln!("{}", app.message);
    }
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    opts: &TuiOptions,
    negotiated: audio::Negotiated,
    rx: mpsc::Receiver<LoadedSession>,
    signalled: &AtomicBool,
) -> Result<()> {
    let frame = Duration::from_secs_f64(1.0 / opts.fps.clamp(1, 240) as f64);
    let start = Instant::now();
    let mut negotiated = Some(negotiated);
    let mut audio: Option<Audio> = None;
    let mut dirty_view = true;
    let mut last_draw = Instant::now() - frame;
    let mut last_recovery = Instant::now();
    let mut recovery_gen = 0u64;
    let mut last_message = String::new();
    loop {
        if signalled.load(Ordering::Relaxed) {
            if app.dirty {
                app.write_recovery().ok();
            }
            return Ok(());
        }
        if let Ok(loaded) = rx.try_recv() {
            let mut loaded = loaded;
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
            app.outbox
                .retain(|c| matches!(c.kind, crate::engine::CommandKind::Transport(_)));
            if let Some(n) = negotiated.take() {
                let engine = loaded.engine(n.max_block_frames());
                let (player, callback) = player::bridge(engine, 1024);
                let output = audio::start(n, Box::new(callback));
                output.set_auto_reconnect(Some(crate::play::RECONNECT_INTERVAL));
                audio = Some(Audio { player, output });
            }
            app.loaded(
                loaded.session.clone(),
                status,
                loaded.sample_rate_hz,
                loaded.length_frames(),
            );
            dirty_view = true;
        }
        let timeout = frame.saturating_sub(last_draw.elapsed());
        if event::poll(timeout)? {
            match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    app.handle_key(&k);
                    dirty_view = true;
                }
                Event::Resize(..) => dirty_view = true,
                _ => {}
            }
            // drain everything pending before drawing
            while event::poll(Duration::ZERO)? {
                match event::read()? {
                    Event::Key(k) if k.kind != KeyEventKind::Release => app.handle_key(&k),
                    _ => {}
                }
                dirty_view = true;
            }
        }
        if let Some(a) = audio.as_mut() {
            for cmd in app.drain_commands() {
                a.player.send(cmd);
            }
            a.player.tick();
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
            if let Some(a) = audio.take() {
                drop(a.output.stop());
                drop(a.player);
            }
            return Ok(());
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
            if app.loading {
                dirty_view = true;
            }
            if dirty_view {
                app.scroll_into_view(crate::ui::strip_slots(app, terminal.size()?.width));
                terminal.draw(|f| crate::ui::draw(f, app))?;
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
