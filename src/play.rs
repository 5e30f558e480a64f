//! Headless playback: the session through the real-time engine and the audio output, with a status line.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::audio::{self, OutputOptions};
use crate::engine::{Command, TransportCommand};
use crate::load::{LoadedSession, DEFAULT_RATE_HZ};
use crate::player::{self, PlayerHandle};
use crate::session::{Origin, Session};

/// What `ttymix play` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct PlayOptions {
    /// Start time in seconds.
    pub from_s: Option<f64>,
    /// End time in seconds.
    pub to_s: Option<f64>,
    /// Loop the range until Ctrl-C.
    pub looping: bool,
    /// Print callback-time statistics at the end.
    pub stats: bool,
    /// Print every strip's levels as plain text once a second.
    pub peek: bool,
    /// Output device options.
    pub output: OutputOptions,
}

/// The rate a session would like to run at before any device is asked: the session file's, else the most
/// common rate among its stems (read from the headers only).
pub fn preferred_rate(session: &Session) -> u32 {
    if session.origin == Origin::Demo {
        return session.file.sample_rate.unwrap_or(DEFAULT_RATE_HZ);
    }
    if let Some(r) = session.file.sample_rate {
        return r;
    }
    let rates: Vec<u32> = (0..session.file.tracks.len())
        .filter_map(|i| session.track_path(i))
        .filter_map(|p| crate::media::probe_rate(&p).ok())
        .collect();
    crate::media::most_common_rate(&rates).unwrap_or(DEFAULT_RATE_HZ)
}

fn db(x: f32) -> String {
    if x > 0.0 {
        format!("{:6.1}", 20.0 * x.log10())
    } else {
        "  -inf".into()
    }
}

/// One plain-text line with every strip's peak and RMS and the master loudness (screen readers, slow links).
pub fn levels_line(loaded: &LoadedSession, handle: &PlayerHandle) -> String {
    let m = handle.meters();
    let mut s = String::new();
    let mut strip = |name: &str, sm: &player::StripMeters| {
        let peak = sm.peak[0].take().max(sm.peak[1].take());
        let rms = sm.rms[0].load().max(sm.rms[1].load());
        s.push_str(&format!(
            "{}: peak {} rms {} dBFS",
            name,
            db(peak).trim(),
            db(rms).trim()
        ));
        let gr = sm.gain_reduction_db.load();
        if gr > 0.0 {
            s.push_str(&format!(" GR {gr:.1} dB"));
        }
        s.push_str("; ");
    };
    for (t, sm) in loaded.tracks.iter().zip(&m.tracks) {
        strip(&t.name, sm);
    }
    for (b, sm) in loaded.session.file.buses.iter().zip(&m.buses) {
        strip(&b.name, sm);
    }
    let l = &m.loudness;
    let f = |v: f32| {
        if v.is_finite() {
            format!("{v:.1}")
        } else {
            "n/a".into()
        }
    };
    let mp = m.master.peak[0].take().max(m.master.peak[1].take());
    s.push_str(&format!(
        "master: peak {} dBFS, M {} S {} I {} LUFS, LRA {} LU",
        db(mp).trim(),
        f(l.momentary_lufs.load()),
        f(l.short_term_lufs.load()),
        f(l.integrated_lufs.load()),
        f(l.loudness_range_lu.load())
    ));
    s
}

/// How often headless play retries a lost device.
pub const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);

/// What `play` prints for an output event.
pub fn event_line(ev: &audio::OutputEvent) -> String {
    match ev {
        audio::OutputEvent::DeviceLost { reason } => format!(
            "audio: {reason}; no audio output, the silent clock keeps time; retrying every {} s",
            RECONNECT_INTERVAL.as_secs()
        ),
        audio::OutputEvent::Reconnected { description } => {
            format!("audio: reconnected: {description}")
        }
        audio::OutputEvent::ReconnectFailed { reason } => {
            format!("audio: reconnect failed: {reason}")
        }
    }
}

/// Play a session until `--to` or the end (or Ctrl-C), draining the device before returning.
pub fn play(arg: &str, opts: &PlayOptions) -> Result<()> {
    let session = Session::open(arg, crate::media::is_audio_path)?;
    let want_rate = opts
        .output
        .rate_hz
        .unwrap_or_else(|| preferred_rate(&session));
    let negotiated = audio::negotiate(&opts.output, want_rate)?;
    let rate = negotiated.rate_hz();
    if let Some(note) = negotiated.rate_note() {
        eprintln!("note: {note}");
    }
    let loaded = LoadedSession::load(session, Some(rate));
    if let Some(reason) = loaded.first_offline() {
        bail!("{reason}");
    }
    for t in &loaded.tracks {
        if let (Some(p), Ok(_)) = (&t.path, &t.audio) {
            if t.source_rate_hz != rate {
                eprintln!(
                    "note: {}: resampled from {} Hz to {} Hz",
                    p.display(),
                    t.source_rate_hz,
                    rate
                );
            }
        }
    }
    let ropts = crate::render::RenderOptions {
        from_s: opts.from_s,
        to_s: opts.to_s,
        ..Default::default()
    };
    let (start, end) = crate::render::frame_range(&loaded, &ropts)?;
    let mut engine = loaded.engine(negotiated.max_block_frames());
    // The same commands, at the same engine-clock frames, as an offline render of this range.
    let _ = engine.push(Command::transport(
        0,
        TransportCommand::Seek { frame: start },
    ));
    if opts.looping {
        let _ = engine.push(Command::transport(
            0,
            TransportCommand::SetLoop {
                start_frame: start,
                end_frame: end,
            },
        ));
    } else {
        let _ = engine.push(Command::transport(end - start, TransportCommand::Pause));
    }
    let _ = engine.push(Command::transport(0, TransportCommand::Play));
    let (mut handle, callback) = player::bridge(engine, 1024);
    let buffer_frames = negotiated.buffer_frames().max(1) as u64;
    let output = audio::start(negotiated, Box::new(callback));
    if opts.stats {
        output.stats_handle().set_measure_cpu_time(true);
    }
    // a lost device (unplugged, server gone) is retried while the silent clock keeps the transport going
    output.set_auto_reconnect(Some(RECONNECT_INTERVAL));
    eprintln!("output: {}", output.description());

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let status = std::io::stderr().is_terminal();
    let mut last_status = Instant::now();
    let mut last_peek = Instant::now();
    let total = end - start;
    loop {
        std::thread::sleep(Duration::from_millis(20));
        handle.tick();
        while let Some(ev) = output.try_event() {
            eprintln!("{}{}", if status { "\n" } else { "" }, event_line(&ev));
        }
        let m = handle.meters();
        let clock = m.clock_frames.load(Ordering::Relaxed);
        let pos = handle.position_frames();
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if !opts.looping && clock >= total && !m.playing.load(Ordering::Relaxed) {
            break;
        }
        if status && last_status.elapsed() >= Duration::from_millis(200) {
            last_status = Instant::now();
            let peak = m.master.peak[0].take().max(m.master.peak[1].take());
            let mom = m.loudness.momentary_lufs.load();
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r{:>8.2} s  peak {} dBFS  M {} LUFS   ",
                pos as f64 / rate as f64,
                db(peak),
                if mom.is_finite() {
                    format!("{mom:6.1}")
                } else {
                    "   n/a".into()
                }
            );
            let _ = err.flush();
        }
        if opts.peek && last_peek.elapsed() >= Duration::from_secs(1) {
            last_peek = Instant::now();
            println!("{}", levels_line(&loaded, &handle));
        }
    }
    if status {
        eprintln!();
    }
    // Drain: what the engine produced last is still in the device's buffers (two periods on ALSA).
    if !stop.load(Ordering::Relaxed) && !output.is_silent() {
        let drain_ms = 3 * buffer_frames * 1000 / rate as u64 + 50;
        std::thread::sleep(Duration::from_millis(drain_ms));
    }
    if opts.stats {
        eprintln!("{}", output.stats());
    }
    drop(output.stop());
    handle.tick();
    Ok(())
}

/// `ttymix devices`.
pub fn devices() -> String {
    audio::list_devices().to_string()
}
