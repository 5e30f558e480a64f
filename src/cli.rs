//! The command line: clap definitions and dispatch to the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::analyze;
use crate::load::LoadedSession;
use crate::render::{self, Bits, RenderOptions};
use crate::session::Session;

/// ttymix: a keyboard-driven terminal multitrack mixer.
#[derive(Debug, Parser)]
#[command(name = "ttymix", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Commands,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Bounce a session through the mix engine to a WAV file, then print its loudness report.
    Render {
        /// A session file (.toml), a folder of stems, or `demo`.
        input: String,
        /// The WAV file to write (written atomically; never one of the session's inputs).
        #[arg(short, long)]
        output: PathBuf,
        /// Sample format: 16 (with TPDF dither), 24, or 32f (float).
        #[arg(long, value_enum, default_value = "24")]
        bits: Bits,
        /// Start time in seconds.
        #[arg(long, value_name = "SEC")]
        from: Option<f64>,
        /// End time in seconds (default: the end of the longest stem).
        #[arg(long, value_name = "SEC")]
        to: Option<f64>,
        /// Session rate in Hz (overrides the session file; default: the most common stem rate).
        #[arg(long, value_name = "HZ")]
        rate: Option<u32>,
        /// Print the loudness report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Print the loudness report of an audio file, or of a session (the mix and every track).
    Analyze {
        /// An audio file, a session file (.toml), a folder of stems, or `demo`.
        input: String,
        /// Session rate in Hz for sessions (default: the most common stem rate).
        #[arg(long, value_name = "HZ")]
        rate: Option<u32>,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Set every track's input trim so its pre-fader level hits a target, and save the session (a folder
    /// of stems gets a ttymix.toml).
    GainStage {
        /// A session file (.toml) or a folder of stems.
        session: String,
        /// Target RMS in dBFS (over all channels).
        #[arg(long, value_name = "DB", default_value_t = -18.0, allow_hyphen_values = true)]
        target_rms_db: f64,
        /// Target integrated loudness in LUFS instead of RMS.
        #[arg(long, value_name = "LUFS", allow_hyphen_values = true)]
        target_lufs: Option<f64>,
        /// Session rate in Hz (default: the most common stem rate).
        #[arg(long, value_name = "HZ")]
        rate: Option<u32>,
    },
}

/// Is this argument a session (demo, folder, .toml) rather than a single audio file?
pub fn is_session_arg(arg: &str) -> bool {
    let p = Path::new(arg);
    (arg == "demo" && !p.exists())
        || p.is_dir()
        || p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

fn open_session(arg: &str, rate: Option<u32>) -> Result<LoadedSession> {
    let session = Session::open(arg, crate::media::is_audio_path)?;
    let loaded = LoadedSession::load(session, rate);
    for t in &loaded.tracks {
        for w in &t.warnings {
            match &t.path {
                Some(p) => eprintln!("warning: {}: {w}", p.display()),
                None => eprintln!("warning: {w}"),
            }
        }
        if let Some(p) = &t.path {
            if t.audio.is_ok() && t.source_rate_hz != loaded.sample_rate_hz {
                eprintln!(
                    "note: {}: resampled from {} Hz to {} Hz",
                    p.display(),
                    t.source_rate_hz,
                    loaded.sample_rate_hz
                );
            }
        }
    }
    Ok(loaded)
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Commands::Render {
            input,
            output,
            bits,
            from,
            to,
            rate,
            json,
        } => {
            let loaded = open_session(&input, rate)?;
            let opts = RenderOptions {
                from_s: from,
                to_s: to,
                progress: true,
                ..Default::default()
            };
            let report = render::render_to_file(&loaded, &output, bits, &opts)?;
            if json {
                print_json(&report)?;
            } else {
                println!("wrote {}", output.display());
                print!("{}", report.to_text());
            }
        }
        Commands::Analyze { input, rate, json } => {
            if is_session_arg(&input) {
                let loaded = open_session(&input, rate)?;
                let report = analyze::analyze_session(&loaded)?;
                if json {
                    print_json(&report)?;
                } else {
                    print!("{}", report.to_text());
                }
            } else {
                let report = analyze::analyze_file(Path::new(&input))?;
                if json {
                    print_json(&report)?;
                } else {
                    print!("{}", report.to_text());
                }
            }
        }
        Commands::GainStage {
            session,
            target_rms_db,
            target_lufs,
            rate,
        } => {
            let target = match target_lufs {
                Some(l) if l.is_finite() => analyze::GainTarget::Lufs(l),
                Some(l) => anyhow::bail!("--target-lufs {l}: not a number"),
                None if target_rms_db.is_finite() => analyze::GainTarget::RmsDb(target_rms_db),
                None => anyhow::bail!("--target-rms-db {target_rms_db}: not a number"),
            };
            let mut loaded = open_session(&session, rate)?;
            let changes = analyze::gain_stage(&loaded, target)?;
            let unit = match target {
                analyze::GainTarget::RmsDb(_) => "dBFS RMS",
                analyze::GainTarget::Lufs(_) => "LUFS",
            };
            for (c, tc) in changes.iter().zip(loaded.session.file.tracks.iter_mut()) {
                tc.trim_db = c.new_trim_db;
                match c.level_db {
                    Some(l) => println!(
                        "{}: trim {:+.1} dB -> {:+.1} dB (stem {l:.1} {unit})",
                        c.name, c.old_trim_db, c.new_trim_db
                    ),
                    None => println!("{}: silent, trim left at {:+.1} dB", c.name, c.old_trim_db),
                }
            }
            let path = loaded.session.save()?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// The binary's entry point: parse, run, and turn every error into `error: <path>: <reason>`.
pub fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        // Never a backtrace for the user; say what happened in one line.
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        eprintln!("error: internal error: {msg} (please report this)");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
