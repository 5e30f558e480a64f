//! `ttymix play` through real audio paths: ALSA's file plugin and a real PulseAudio server must receive
//! exactly what `ttymix render` writes; with no device the silent clock plays in real time.

mod common;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// A two-stem session at `rate` with settings, so the mix is not a plain copy of a file.
fn session(dir: &Path, rate: u32, seconds: f64) {
    let n = (rate as f64 * seconds) as usize;
    write_wav(
        &dir.join("a.wav"),
        rate,
        24,
        &[noise(11, n, 0.3), noise(12, n, 0.3)],
    );
    write_wav(&dir.join("b.wav"), rate, 24, &[sine(330.0, 0.4, rate, n)]);
    std::fs::write(
        dir.join("s.toml"),
        "[[track]]\nfile = \"a.wav\"\ngain_db = -3.5\npan = 0.3\n[[track]]\nfile = \"b.wav\"\npan = -0.6\ninvert_polarity = true\n",
    )
    .unwrap();
}

fn render_f32(dir: &Path, extra: &[&str]) -> Vec<f32> {
    ttymix()
        .current_dir(dir)
        .args(["render", "s.toml", "-o", "r.wav", "--bits", "32f"])
        .args(extra)
        .assert()
        .success();
    let (_, ch) = read_wav(&dir.join("r.wav"));
    let mut v = Vec::with_capacity(ch[0].len() * 2);
    for (l, r) in ch[0].iter().zip(&ch[1]) {
        v.push(*l as f32);
        v.push(*r as f32);
    }
    v
}

#[test]
fn alsa_file_plugin_receives_the_render_sample_for_sample() {
    for rate in [44_100u32, 48_000] {
        let dir = tempdir();
        let d = dir.path();
        session(d, rate, 2.0);
        let raw = d.join("out.raw");
        std::fs::write(
            d.join(".asoundrc"),
            format!(
                "pcm.!default {{ type file; slave.pcm \"null\"; file \"{}\"; format \"raw\" }}\n",
                raw.display()
            ),
        )
        .unwrap();
        let out = ttymix()
            .current_dir(d)
            .env("HOME", d)
            .env_remove("PULSE_SERVER")
            .args(["play", "s.toml", "--to", "1.5", "--rate", &rate.to_string()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains("f32") && err.contains(&format!("{rate} Hz")),
            "{err}"
        );
        let played = read_f32_le(&raw);
        let rendered = render_f32(d, &["--to", "1.5"]);
        assert_eq!(rendered.len(), (rate as f64 * 1.5) as usize * 2);
        assert!(
            played.len() >= rendered.len(),
            "the device got less than the range"
        );
        assert!(
            played[..rendered.len()] == rendered[..],
            "{rate} Hz: the device did not get the render's samples"
        );
        // after --to the engine is paused: nothing but silence follows
        assert!(played[rendered.len()..].iter().all(|&x| x == 0.0));
    }
}

#[test]
fn no_device_plays_on_a_silent_clock_in_real_time() {
    let dir = tempdir();
    // ALSA's default is the null device: not an output.
    std::fs::write(dir.path().join(".asoundrc"), "pcm.!default { type null }\n").unwrap();
    let t = Instant::now();
    let out = ttymix()
        .env("HOME", dir.path())
        .env_remove("PULSE_SERVER")
        .args(["play", "demo", "--to", "3"])
        .output()
        .unwrap();
    let wall = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("no audio output"), "{err}");
    assert!(
        wall >= Duration::from_millis(2900) && wall < Duration::from_millis(5000),
        "3 s of audio took {wall:?}"
    );
}

#[cfg(feature = "pulseaudio")]
#[test]
fn pulseaudio_server_receives_the_render_without_dropouts() {
    use common::pulse::{pulse_available, PulseServer, SINK_RATE_HZ};
    if !pulse_available() {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    session(d, SINK_RATE_HZ, 4.0);
    let server = PulseServer::start_in(&d.join("pulse"));
    let rec_path = d.join("rec.raw");
    let mut rec = server.record("out.monitor", &rec_path);
    let mut cmd = ttymix();
    cmd.current_dir(d)
        .args(["play", "s.toml", "--to", "3", "--host", "pulse"]);
    for (k, v) in PulseServer::client_env(&d.join("pulse")) {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}\n{}", server.log());
    std::thread::sleep(Duration::from_millis(300));
    rec.stop();
    let recorded = read_f32_le(&rec_path);
    let rendered = render_f32(d, &["--to", "3"]);
    // align on the first sound
    let first = |v: &[f32]| v.iter().position(|x| x.abs() > 1e-3).unwrap_or(usize::MAX) & !1;
    let (r0, p0) = (first(&rendered), first(&recorded));
    assert!(p0 < recorded.len(), "nothing was recorded");
    let n = rendered.len() - r0;
    assert!(
        recorded.len() >= p0 + n,
        "recorded {} samples after the onset, expected {n}",
        recorded.len().saturating_sub(p0)
    );
    let win = 2 * SINK_RATE_HZ as usize / 20; // 50 ms
    let mut bad = 0;
    for w in 0..n / win {
        let a = &rendered[r0 + w * win..r0 + (w + 1) * win];
        let b = &recorded[p0 + w * win..p0 + (w + 1) * win];
        let energy: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum();
        let error: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
            .sum();
        if error > 0.1 * energy {
            bad += 1;
        }
    }
    assert_eq!(bad, 0, "{bad} windows of 50 ms with dropouts or errors");
}
