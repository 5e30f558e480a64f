//! `ttymix gain-stage`: trims that bring each track's RMS to the target, written atomically, the rest of the
//! session kept; a folder session gets a ttymix.toml. Also the analyze JSON keys.

use std::path::Path;

use assert_cmd::Command;
use ttymix::session::SessionFile;

fn write_wav(path: &Path, chans: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels: chans.len() as u16,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..chans[0].len() {
        for c in chans {
            w.write_sample(c[i]).unwrap();
        }
    }
    w.finalize().unwrap();
}

fn sine(amp: f32, f: f32, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| amp * (2.0 * std::f32::consts::PI * f * i as f32 / 48_000.0).sin())
        .collect()
}

fn rms_db(chans: &[Vec<f32>], trim_db: f32) -> f64 {
    let g = 10f64.powf(trim_db as f64 / 20.0);
    let (mut s, mut n) = (0.0f64, 0usize);
    for c in chans {
        for &x in c {
            s += (x as f64 * g).powi(2);
        }
        n += c.len();
    }
    10.0 * (s / n as f64).log10()
}

const SESSION: &str = r#"tempo_bpm = 120.0

[master]
gain_db = -1.0

[master.limiter]
ceiling_dbtp = -1.5

[[track]]
name = "Loud"
file = "loud.wav"
gain_db = -4.0
trim_db = 3.0
pan = -0.3
output = "Drums"

[track.eq]
low_shelf = { freq_hz = 120.0, gain_db = -2.0, q = 0.7 }

[track.compressor]
threshold_db = -20.0
ratio = 3.0

[[track.send]]
bus = "Echo"
level_db = -12.0

[[track]]
name = "Quiet"
file = "quiet.wav"

[[bus]]
name = "Drums"

[[bus]]
name = "Echo"
kind = "delay"

[bus.delay]
time = "1/8."
"#;

#[test]
fn gain_stage_sets_trims_to_the_target_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let loud = vec![sine(0.9, 440.0, 48_000), sine(0.7, 660.0, 48_000)];
    let quiet = vec![sine(0.01, 220.0, 48_000)];
    write_wav(&dir.path().join("loud.wav"), &loud);
    write_wav(&dir.path().join("quiet.wav"), &quiet);
    let s = dir.path().join("s.toml");
    std::fs::write(&s, SESSION).unwrap();
    let before = SessionFile::parse(SESSION, &s).unwrap();
    let out = Command::cargo_bin("ttymix")
        .unwrap()
        .args(["gain-stage", s.to_str().unwrap(), "--target-rms-db", "-20"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Loud: trim +3.0 dB"), "{stdout}");
    let text = std::fs::read_to_string(&s).unwrap();
    let after = SessionFile::parse(&text, &s).unwrap();
    for (t, chans) in after.tracks.iter().zip([&loud, &quiet]) {
        let got = rms_db(chans, t.trim_db);
        assert!((got + 20.0).abs() < 0.1, "{}: {got} dBFS", t.file.display());
    }
    assert_ne!(after.tracks[0].trim_db, 3.0);
    // everything else unchanged
    let mut expect = before.clone();
    for (e, a) in expect.tracks.iter_mut().zip(&after.tracks) {
        e.trim_db = a.trim_db;
    }
    assert_eq!(after, expect);
    // no temporary file left behind
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn gain_stage_on_a_folder_creates_the_session_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = vec![sine(0.5, 300.0, 24_000)];
    write_wav(&dir.path().join("a.wav"), &a);
    Command::cargo_bin("ttymix")
        .unwrap()
        .args(["gain-stage", dir.path().to_str().unwrap()])
        .assert()
        .success();
    let p = dir.path().join("ttymix.toml");
    let f = SessionFile::parse(&std::fs::read_to_string(&p).unwrap(), &p).unwrap();
    assert!((rms_db(&a, f.tracks[0].trim_db) + 18.0).abs() < 0.1);
}

#[test]
fn analyze_reports_pre_fader_peak_and_rms() {
    let dir = tempfile::tempdir().unwrap();
    write_wav(&dir.path().join("loud.wav"), &[sine(0.5, 440.0, 48_000)]);
    let s = dir.path().join("s.toml");
    std::fs::write(
        &s,
        "[[track]]\nfile = \"loud.wav\"\ntrim_db = -6.0\ngain_db = -20.0\n",
    )
    .unwrap();
    let out = Command::cargo_bin("ttymix")
        .unwrap()
        .args(["analyze", s.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &v["tracks"][0];
    // 0.5 peak at -6 dB trim: -12.02 dBFS; sine RMS is peak - 3.01 dB
    let peak = t["peak_dbfs"].as_f64().unwrap();
    let rms = t["rms_dbfs"].as_f64().unwrap();
    assert!(
        (peak - (20.0 * 0.5f64.log10() - 6.0)).abs() < 0.01,
        "{peak}"
    );
    assert!((rms - (peak - 3.0103)).abs() < 0.01, "{rms}");
}
