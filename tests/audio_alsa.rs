//! Real output through cpal's ALSA host, each case in a child process whose HOME holds its own
//! .asoundrc (ALSA reads it once per process).

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{read_f32_le, run_child, Ramp};
use ttymix::audio::{negotiate, start, HostChoice, OutputOptions, SampleFormat};

const RATE_HZ: u32 = 48_000;
const BUFFER_FRAMES: u32 = 256;
/// Frames the file test plays at least.
const PLAY_FRAMES: u64 = 96_000;

fn test_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("TTYMIX_TEST_DIR").expect("TTYMIX_TEST_DIR"))
}

fn write_asoundrc(dir: &Path, text: &str) {
    std::fs::write(dir.join(".asoundrc"), text).expect("write .asoundrc");
}

/// Environment for a child: its own HOME (.asoundrc) and no reachable PulseAudio server, so
/// nothing but the .asoundrc decides what "default" is.
fn child_env(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("HOME", dir.to_path_buf()),
        ("TTYMIX_TEST_DIR", dir.to_path_buf()),
        ("XDG_RUNTIME_DIR", dir.to_path_buf()),
        ("PULSE_RUNTIME_PATH", dir.to_path_buf()),
        (
            "PULSE_SERVER",
            PathBuf::from(format!("unix:{}/no-server", dir.display())),
        ),
    ]
}

fn run(name: &str, dir: &Path) -> String {
    let env = child_env(dir);
    let env: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let out = run_child(name, &env);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(counter: &AtomicU64, frames: u64, timeout: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if counter.load(Ordering::Acquire) >= frames {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

/// The ALSA file plugin writes exactly what cpal handed to the device: the raw file must equal
/// the ramp the callback produced, sample for sample, as f32 LE stereo at 48 kHz.
#[test]
fn alsa_file_plugin_receives_the_callback_output_sample_for_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("out.raw");
    write_asoundrc(
        tmp.path(),
        &format!(
            "pcm.!default {{ type file; slave.pcm \"null\"; file \"{}\"; format \"raw\" }}\n",
            raw.display()
        ),
    );
    let stdout = run("child_alsa_file", tmp.path());
    print!("{stdout}");
    let result = std::fs::read_to_string(tmp.path().join("result.txt")).unwrap();
    let field = |key: &str| -> String {
        result
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in result:\n{result}"))
            .to_string()
    };
    assert_eq!(field("format"), "f32", "negotiated format");
    assert_eq!(field("channels"), "2");
    assert_eq!(field("rate"), "48000");
    assert_eq!(field("buffer"), BUFFER_FRAMES.to_string());
    let rendered: u64 = field("rendered").parse().unwrap();

    let samples = read_f32_le(&raw);
    assert_eq!(samples.len() % 2, 0, "whole stereo frames");
    let frames = samples.len() as u64 / 2;
    assert!(
        frames >= PLAY_FRAMES - 2 * BUFFER_FRAMES as u64 && frames <= rendered,
        "file has {frames} frames, callback rendered {rendered}"
    );
    for i in 0..frames {
        let (l, r) = Ramp::frame(i);
        let (fl, fr) = (samples[2 * i as usize], samples[2 * i as usize + 1]);
        assert!(
            fl.to_bits() == l.to_bits() && fr.to_bits() == r.to_bits(),
            "frame {i}: file ({fl}, {fr}), callback ({l}, {r})"
        );
    }
}

#[test]
#[ignore = "child process of alsa_file_plugin_receives_the_callback_output_sample_for_sample"]
fn child_alsa_file() {
    let dir = test_dir();
    let opts = OutputOptions {
        host: Some(HostChoice::Alsa),
        buffer_frames: Some(BUFFER_FRAMES),
        rate_hz: Some(RATE_HZ),
        ..Default::default()
    };
    let negotiated = negotiate(&opts, RATE_HZ).expect("open the ALSA default (file plugin)");
    let (channels, format) = negotiated.device_format().expect("a device, not silence");
    let rate = negotiated.rate_hz();
    let buffer = negotiated.buffer_frames();
    println!("negotiated: {}", negotiated.description());
    let rendered = Arc::new(AtomicU64::new(0));
    let output = start(negotiated, Box::new(Ramp::new(rendered.clone())));
    assert!(!output.is_silent(), "{}", output.description());
    let took = wait_for(&rendered, PLAY_FRAMES, Duration::from_secs(20))
        .expect("the device consumed the frames");
    let stats = output.stats();
    assert!(output.stop().is_some(), "callback handed back");
    println!("played {PLAY_FRAMES} frames in {took:?}");
    println!("stats: {stats}");
    std::fs::write(
        dir.join("result.txt"),
        format!(
            "format={}\nchannels={channels}\nrate={rate}\nbuffer={buffer}\nrendered={}\n",
            match format {
                SampleFormat::F32 => "f32".to_string(),
                other => other.to_string(),
            },
            rendered.load(Ordering::Acquire)
        ),
    )
    .unwrap();
}

/// A default PCM that is ALSA's null plugin is not an output: the silent clock runs and says
/// so. Naming the null device explicitly does open it.
#[test]
fn alsa_null_default_is_treated_as_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    write_asoundrc(
        tmp.path(),
        "pcm.!default { type plug; slave.pcm \"null\" }\n",
    );
    let stdout = run("child_alsa_null", tmp.path());
    print!("{stdout}");
}

#[test]
#[ignore = "child process of alsa_null_default_is_treated_as_no_output"]
fn child_alsa_null() {
    let negotiated =
        negotiate(&OutputOptions::default(), RATE_HZ).expect("silence is not an error");
    println!("default: {}", negotiated.description());
    assert!(negotiated.is_silent());
    assert!(negotiated.description().starts_with("no audio output ("));
    assert!(
        negotiated.description().contains("null"),
        "{}",
        negotiated.description()
    );

    let named = OutputOptions {
        device: Some("null".into()),
        ..Default::default()
    };
    let negotiated = negotiate(&named, RATE_HZ).expect("the null device named explicitly");
    println!("named: {}", negotiated.description());
    assert!(!negotiated.is_silent());
    assert!(
        negotiated.description().starts_with("ALSA null:"),
        "{}",
        negotiated.description()
    );
}

/// No usable default device: the silent clock renders 1 s of audio in about 1 s of wall time.
#[test]
fn no_usable_device_runs_the_silent_clock_in_real_time() {
    let tmp = tempfile::tempdir().unwrap();
    write_asoundrc(
        tmp.path(),
        "pcm.!default { type hw; card 97 }\nctl.!default { type hw; card 97 }\n",
    );
    let stdout = run("child_no_device", tmp.path());
    print!("{stdout}");
}

#[test]
#[ignore = "child process of no_usable_device_runs_the_silent_clock_in_real_time"]
fn child_no_device() {
    let negotiated =
        negotiate(&OutputOptions::default(), RATE_HZ).expect("silence is not an error");
    println!("description: {}", negotiated.description());
    assert!(negotiated.is_silent());
    assert_eq!(negotiated.rate_hz(), RATE_HZ);
    assert!(
        negotiated
            .description()
            .starts_with("no audio output (ALSA default"),
        "{}",
        negotiated.description()
    );
    let rendered = Arc::new(AtomicU64::new(0));
    let output = start(negotiated, Box::new(Ramp::new(rendered.clone())));
    assert!(output.is_silent());
    let took = wait_for(&rendered, RATE_HZ as u64, Duration::from_secs(5)).expect("clock runs");
    println!("1 s of audio took {took:?}; {}", output.stats());
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_millis(1500),
        "1 s of audio took {took:?}"
    );
    // an explicit request for a missing device is an error, not silence
    let err = negotiate(
        &OutputOptions {
            device: Some("no-such-device".into()),
            ..Default::default()
        },
        RATE_HZ,
    )
    .err()
    .expect("missing named device is an error");
    println!("named missing device: {err}");
    assert!(err.to_string().contains("no-such-device"), "{err}");
}

/// `output_none` never touches a device (no child needed).
#[test]
fn output_none_runs_the_silent_clock_in_real_time() {
    let opts = OutputOptions {
        output_none: true,
        buffer_frames: Some(300),
        ..Default::default()
    };
    let negotiated = negotiate(&opts, 44_100).unwrap();
    assert!(negotiated.is_silent());
    assert_eq!(negotiated.rate_hz(), 44_100);
    assert_eq!(negotiated.buffer_frames(), 300);
    assert_eq!(
        negotiated.description(),
        "no audio output (output disabled)"
    );
    let rendered = Arc::new(AtomicU64::new(0));
    let output = start(negotiated, Box::new(Ramp::new(rendered.clone())));
    let took = wait_for(&rendered, 44_100, Duration::from_secs(5)).expect("clock runs");
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_millis(1500),
        "1 s of audio took {took:?}"
    );
    let stats = output.stats();
    assert!(stats.callbacks >= 44_100 / 300, "{stats}");
    assert!(output.description().starts_with("no audio output"));
    assert!(output.stop().is_some());
}

/// `list_devices` shows hosts, output devices (the default first, user-defined PCMs with
/// hints) and what each supports.
#[test]
fn device_listing_shows_devices_and_their_capabilities() {
    let tmp = tempfile::tempdir().unwrap();
    write_asoundrc(
        tmp.path(),
        "pcm.!default { type plug; slave.pcm \"null\" }\n\
         pcm.ttymixtest { type plug; slave.pcm \"null\"; \
         hint { show on; description \"ttymix test sink\" } }\n",
    );
    let stdout = run("child_listing", tmp.path());
    print!("{stdout}");
}

#[test]
#[ignore = "child process of device_listing_shows_devices_and_their_capabilities"]
fn child_listing() {
    use ttymix::audio::list_devices;
    let list = list_devices();
    let text = list.to_string();
    println!("{text}");
    let alsa = list
        .hosts
        .iter()
        .find(|h| h.host == HostChoice::Alsa)
        .expect("ALSA listed");
    assert!(alsa.error.is_none(), "{:?}", alsa.error);
    let first = &alsa.devices[0];
    assert_eq!((first.id.as_str(), first.is_default), ("default", true));
    // this default is a plug over the null device
    assert!(first
        .note
        .as_deref()
        .unwrap_or("")
        .contains("not used as the default"));
    let test = alsa
        .devices
        .iter()
        .find(|d| d.id == "ttymixtest")
        .expect("hinted PCM listed");
    assert_eq!(test.name, "ttymix test sink");
    assert!(!test.is_default);
    let summary = test.summary.as_ref().expect("queried");
    for f in [SampleFormat::F32, SampleFormat::I16, SampleFormat::U8] {
        assert!(summary.formats.contains(&f), "{f} in {:?}", summary.formats);
    }
    assert!(summary.formats.iter().all(|f| !f.is_dsd()));
    assert!(summary.channels.contains(&1) && summary.channels.contains(&2));
    assert!(
        summary
            .rates_hz
            .iter()
            .any(|&(lo, hi)| lo <= 48_000 && 48_000 <= hi),
        "{:?}",
        summary.rates_hz
    );
    let null = alsa
        .devices
        .iter()
        .find(|d| d.id == "null")
        .expect("null listed");
    assert!(null
        .note
        .as_deref()
        .unwrap_or("")
        .contains("discards audio"));
    assert!(text.contains("  ttymixtest — ttymix test sink\n"), "{text}");
    assert!(text.contains("      formats: f32 "), "{text}");
    #[cfg(feature = "pulseaudio")]
    assert!(text.contains("PulseAudio (not running)"), "{text}");
}
