//! The command line: clap definitions and dispatch to the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::analyze;
use crate::audio::{HostChoice, OutputOptions};
use crate::load::LoadedSession;
use crate::render::{self, Bits, RenderOptions};
use crate::session::Session;

/// ttymix: a keyboard-driven terminal multitrack mixer.
#[derive(Debug, Parser)]
#[command(name = "ttymix", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (without a command: open the mixer).
    #[command(subcommand)]
    pub command: Option<Commands>,
    /// Open the mixer on this session: a session file (.toml), a folder of stems, an audio file, or `demo`.
    #[arg(default_value = ".")]
    pub path: String,
    /// Keymap file merged over the built-in keys (instead of keymap.toml in the config folder).
    #[arg(long, value_name = "FILE")]
    pub keymap: Option<PathBuf>,
    /// Screen refresh cap, frames per second.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=240))]
    pub fps: u32,
    /// Draw with ASCII characters only.
    #[arg(long)]
    pub ascii: bool,
    /// Audio host (alsa, pulseaudio, ...).
    #[arg(long, value_name = "HOST")]
    pub host: Option<HostChoice>,
    /// Output device id or name.
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    /// Frames per audio callback.
    #[arg(long, value_name = "FRAMES")]
    pub buffer: Option<u32>,
    /// Required device rate in Hz.
    #[arg(long, value_name = "HZ")]
    pub rate: Option<u32>,
    /// `none`: no audio device, run on a silent clock.
    #[arg(long, value_name = "none")]
    pub output: Option<OutputChoice>,
}

/// `--output` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputChoice {
    /// No device: a silent clock drives the mixer.
    None,
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
    /// Play a session without the mixer screen (a status line on stderr); exits after the end or `--to`.
    Play {
        /// A session file (.toml), a folder of stems, an audio file, or `demo`.
        input: String,
        /// Start time in seconds.
        #[arg(long, value_name = "SEC")]
        from: Option<f64>,
        /// End time in seconds (default: the end of the longest stem).
        #[arg(long, value_name = "SEC")]
        to: Option<f64>,
        /// Loop the range until Ctrl-C.
        #[arg(long = "loop")]
        looping: bool,
        /// Print callback-time statistics (share of the period: p50, p99, p99.9, max) at the end.
        #[arg(long)]
        stats: bool,
        /// Print every strip's peak and RMS and the master loudness as plain text once a second.
        #[arg(long)]
        peek: bool,
        /// Output options.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List audio hosts, output devices and their supported rates and formats.
    Devices,
}

/// Where audio goes.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Audio host: alsa, pulse, pipewire or jack (default: ALSA, then a running server).
    #[arg(long, value_name = "HOST")]
    pub host: Option<crate::audio::HostChoice>,
    /// Output device (id or name; `ttymix devices` lists them).
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    /// Frames per device period.
    #[arg(long, value_name = "FRAMES")]
    pub buffer: Option<u32>,
    /// Ask the device for this rate (default: the session rate, else the device's).
    #[arg(long, value_name = "HZ")]
    pub rate: Option<u32>,
    /// `none`: no device; run on a silent real-time clock.
    #[arg(long, value_name = "none")]
    pub output: Option<NoOutput>,
}

/// The only value `--output` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NoOutput {
    /// No audio device.
    None,
}

impl OutputArgs {
    /// As the audio layer's options.
    pub fn options(&self) -> crate::audio::OutputOptions {
        crate::audio::OutputOptions {
            host: self.host,
            device: self.device.clone(),
            buffer_frames: self.buffer,
            rate_hz: self.rate,
            output_none: self.output == Some(NoOutput::None),
        }
    }
}

/// Is this argument a session (demo, folder, .toml) rather than a single audio file?
pub fn is_session_arg(arg: &str) -> bool {
    let p = Path::new(arg);
    (arg == "demo" && !p.exists())
        || p.is_dir()
        || p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

fn open_session(arg: &str, rate: Option<u32>, streaming: bool) -> Result<LoadedSession> {
    let session = Session::open(arg, crate::media::is_audio_path)?;
    let loaded = if streaming {
        LoadedSession::load_streaming(session, rate)
    } else {
        LoadedSession::load(session, rate)
    };
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
    let Some(command) = cli.command else {
        return crate::tui::run(crate::tui::TuiOptions {
            session: cli.path,
            keymap: cli.keymap,
            fps: cli.fps,
            ascii: cli.ascii,
            output: OutputOptions {
                host: cli.host,
                device: cli.device,
                buffer_frames: cli.buffer,
                rate_hz: cli.rate,
                output_none: cli.output == Some(OutputChoice::None),
            },
        });
    };
    match command {
        Commands::Render {
            input,
            output,
            bits,
            from,
            to,
            rate,
            json,
        } => {
            let loaded = open_session(&input, rate, true)?;
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
                let loaded = open_session(&input, rate, false)?;
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
        Commands::Play {
            input,
            from,
            to,
            looping,
            stats,
            peek,
            output,
        } => {
            let opts = crate::play::PlayOptions {
                from_s: from,
                to_s: to,
                looping,
                stats,
                peek,
                output: output.options(),
            };
            crate::play::play(&input, &opts)?;
        }
        Commands::Devices => print!("{}", crate::play::devices()),
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
            let mut loaded = open_session(&session, rate, false)?;
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
