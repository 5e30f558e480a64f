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

/// The README's SSH recipe: ttymix on the "remote" side reaches the user's PulseAudio server only through a
/// forwarded unix socket (a byte relay, as `ssh -R <remote path>:<local socket>` makes) named by
/// `PULSE_SERVER`; what the server's sink receives must be the render, without dropouts.
#[cfg(feature = "pulseaudio")]
#[test]
fn pulseaudio_server_receives_the_render_without_dropouts() {
    use common::pulse::{pulse_available, PulseServer, SocketRelay, SINK_RATE_HZ};
    if !pulse_available() {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    session(d, SINK_RATE_HZ, 4.0);
    let server = PulseServer::start_in(&d.join("pulse"));
    let rec_path = d.join("rec.raw");
    let mut rec = server.record("out.monitor", &rec_path);
    let relay = SocketRelay::start(
        &d.join("forwarded.sock"),
        &PulseServer::socket_in(&d.join("pulse")),
    );
    let mut cmd = ttymix();
    cmd.current_dir(d)
        .args(["play", "s.toml", "--to", "3", "--host", "pulse"]);
    for (k, v) in PulseServer::client_env(&d.join("pulse")) {
        cmd.env(k, v);
    }
    cmd.env("PULSE_SERVER", relay.address());
    let out = cmd.output().unwrap();
    drop(relay);
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

/// Kills a child process when dropped (a failing test must not leave ttymix running).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where a recorded stretch sits in the render: the offset (in frames) whose 64 frames match best, and the
/// match error relative to the signal energy there.
fn locate(rendered: &[f32], rec: &[f32], rec_frame: usize) -> (usize, f64) {
    let n = 64;
    let frames = rendered.len() / 2;
    let score = |k: usize| -> (f64, f64) {
        let mut err = 0.0;
        let mut sig = 0.0;
        for i in 0..2 * n {
            let a = rendered[2 * k + i] as f64;
            err += (a - rec[2 * rec_frame + i] as f64).powi(2);
            sig += a * a;
        }
        (err, sig)
    };
    let (k, (err, sig)) = (0..frames - n)
        .map(|k| (k, score(k)))
        .min_by(|a, b| a.1 .0.partial_cmp(&b.1 .0).unwrap())
        .unwrap();
    (k, err / sig.max(1e-12))
}

/// Headless play survives its PulseAudio server dying: it says so, the silent clock keeps the transport
/// moving, and when a server comes back on the same socket it reconnects by itself and the audio continues
/// from where the transport has got to (recorded with parec on the new server and located in the render).
#[cfg(feature = "pulseaudio")]
#[test]
fn pulseaudio_server_lost_mid_play_keeps_the_clock_and_reconnects() {
    use common::pulse::{pulse_available, PulseServer, SINK_RATE_HZ};
    if !pulse_available() {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    let rate = SINK_RATE_HZ;
    session(d, rate, 14.0);
    let mut server = PulseServer::start_in(&d.join("pulse"));
    let rec1_path = d.join("rec1.raw");
    let mut rec1 = server.record("out.monitor", &rec1_path);
    let err_path = d.join("stderr.txt");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ttymix"));
    cmd.current_dir(d)
        .args(["play", "s.toml", "--to", "13", "--host", "pulse"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, v) in PulseServer::client_env(&d.join("pulse")) {
        cmd.env(k, v);
    }
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    let stderr = || std::fs::read_to_string(&err_path).unwrap_or_default();
    let wait_for = |what: &str, timeout: Duration| -> Instant {
        let t = Instant::now();
        while t.elapsed() < timeout {
            if stderr().contains(what) {
                return Instant::now();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no `{what}` within {timeout:?}:\n{}", stderr());
    };
    wait_for("output: PulseAudio", Duration::from_secs(10));
    // past the idle null sink's first 2 s gap, then some steady playback
    std::thread::sleep(Duration::from_millis(3500));
    server.kill();
    wait_for(
        "no audio output, the silent clock keeps time",
        Duration::from_secs(8),
    );
    rec1.wait(Duration::from_secs(5));
    rec1.stop();
    // the silent clock runs for at least 2 s before the server returns
    std::thread::sleep(Duration::from_millis(2000));
    server.restart();
    let rec2_path = d.join("rec2.raw");
    let mut rec2 = server.record("out.monitor", &rec2_path);
    wait_for("audio: reconnected: PulseAudio", Duration::from_secs(5));
    let status = {
        let t = Instant::now();
        loop {
            if let Some(s) = child.0.try_wait().unwrap() {
                break s;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "play did not finish:\n{}",
                stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    std::thread::sleep(Duration::from_millis(300));
    rec2.stop();
    let err = stderr();
    assert!(status.success(), "{err}\n{}", server.log());

    let rendered = render_f32(d, &["--to", "13"]);
    let rec1 = read_f32_le(&rec1_path);
    let rec2 = read_f32_le(&rec2_path);
    // the last sound the first server got, and the first sound the second got, located in the render
    let sound = |v: &[f32]| -> Vec<usize> {
        (0..v.len() / 2)
            .filter(|&f| v[2 * f].abs() > 1e-3)
            .collect()
    };
    let s1 = sound(&rec1);
    let s2 = sound(&rec2);
    assert!(s1.len() > rate as usize, "first server: too little audio");
    assert!(
        s2.len() > rate as usize,
        "second server: too little audio after reconnecting:\n{err}"
    );
    let last1 = s1[s1.len() - 1 - 64 - 2400]; // 50 ms before the end of what arrived
    let first2 = s2[2400]; // 50 ms into what arrived
    let (k1, e1) = locate(&rendered, &rec1, last1);
    let (k2, e2) = locate(&rendered, &rec2, first2);
    assert!(
        e1 < 1e-3 && e2 < 1e-3,
        "recordings do not match the render ({e1:.2e}, {e2:.2e})"
    );
    // the transport moved on while there was no server (>= 2 s of silent clock), not frozen, not reset
    let gap_s = (k2 as f64 - k1 as f64) / rate as f64;
    println!("last sound before the loss at {k1}, first after at {k2}: {gap_s:.2} s; match errors {e1:.1e} {e2:.1e}");
    assert!(
        (1.9..=9.0).contains(&gap_s),
        "the transport advanced {gap_s:.2} s between the last sound before the loss and the first after"
    );
    // and after reconnecting the audio is intact: 1 s of 50 ms windows, each matching the render
    let win = 2400;
    for w in 0..20 {
        let a = &rendered[2 * (k2 + w * win)..2 * (k2 + (w + 1) * win)];
        let b = &rec2[2 * (first2 + w * win)..2 * (first2 + (w + 1) * win)];
        let energy: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum();
        let error: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
            .sum();
        assert!(
            error <= 0.1 * energy,
            "window {w} after reconnecting: error {:.1} % of the energy",
            100.0 * error / energy
        );
    }
}

/// `--from` and `--to` pick the same range as `render --from --to`, sample for sample on the device.
#[test]
fn alsa_file_plugin_plays_the_from_to_range_of_the_render() {
    let dir = tempdir();
    let d = dir.path();
    let rate = 48_000;
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
        .args(["play", "s.toml", "--from", "0.5", "--to", "1.25"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let played = read_f32_le(&raw);
    let rendered = render_f32(d, &["--from", "0.5", "--to", "1.25"]);
    assert_eq!(rendered.len(), 36_000 * 2);
    assert!(
        played.len() >= rendered.len(),
        "the device got less than the range"
    );
    assert!(
        played[..rendered.len()] == rendered[..],
        "the device did not get the render's samples"
    );
}

/// Ctrl-C (SIGINT) stops headless play promptly and cleanly: exit status 0, the statistics are printed,
/// well before the end of the range.
#[test]
fn ctrl_c_stops_play_cleanly() {
    let dir = tempdir();
    let d = dir.path();
    session(d, 48_000, 1.0);
    let mut child = KillOnDrop(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("ttymix"))
            .current_dir(d)
            .env("HOME", d)
            .env_remove("PULSE_SERVER")
            .args(["play", "s.toml", "--loop", "--output", "none", "--stats"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "--loop ended by itself"
    );
    let t = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "still running 3 s after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        err.contains("no audio output") && err.contains("callbacks "),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// On a terminal, headless play shows a status line (time, master peak, momentary LUFS) a few times a
/// second on stderr; `script` provides the terminal.
#[test]
fn status_line_on_a_terminal() {
    if !have_tool("script") {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    session(d, 48_000, 2.0);
    let bin = assert_cmd::cargo::cargo_bin("ttymix");
    let out = std::process::Command::new("script")
        .current_dir(d)
        .env("HOME", d)
        .env_remove("PULSE_SERVER")
        .args(["-qec"])
        .arg(format!(
            "{} play s.toml --to 1.5 --output none",
            bin.display()
        ))
        .arg("/dev/null")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // carriage-return-separated updates: several, with the time advancing, and a finite loudness by the end
    let updates: Vec<&str> = text
        .split('\r')
        .filter(|l| l.contains(" s  peak ") && l.contains("LUFS"))
        .collect();
    assert!(updates.len() >= 4, "{} updates: {text:?}", updates.len());
    let time = |l: &str| -> f64 { l.split_whitespace().next().unwrap().parse().unwrap() };
    assert!(
        time(updates[updates.len() - 1]) > time(updates[0]),
        "{updates:?}"
    );
    assert!(
        updates
            .iter()
            .any(|l| !l.contains("n/a LUFS") && l.contains("dBFS")),
        "{updates:?}"
    );
}

/// A sound server that accepts connections and never answers (a stalled SSH forward does exactly this)
/// must not hang ttymix: while it retries the lost device in the background, the silent clock keeps time and
/// play still ends on time and exits cleanly.
#[cfg(feature = "pulseaudio")]
#[test]
fn a_server_that_never_answers_does_not_hang_play() {
    use common::pulse::{pulse_available, PulseServer};
    if !pulse_available() {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    session(d, 48_000, 9.0);
    let mut server = PulseServer::start_in(&d.join("pulse"));
    let err_path = d.join("stderr.txt");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ttymix"));
    cmd.current_dir(d)
        .args(["play", "s.toml", "--to", "8", "--host", "pulse"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, v) in PulseServer::client_env(&d.join("pulse")) {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    let stderr = || std::fs::read_to_string(&err_path).unwrap_or_default();
    let wait_for = |what: &str, timeout: Duration| {
        let t = Instant::now();
        while !stderr().contains(what) {
            assert!(t.elapsed() < timeout, "no `{what}`:\n{}", stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for("output: PulseAudio", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    server.kill();
    // a black hole on the server's socket: connections are accepted and held, nothing is ever said
    let socket = PulseServer::socket_in(&d.join("pulse"));
    let _ = std::fs::remove_file(&socket);
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let hole = std::thread::spawn(move || {
        let mut held = Vec::new();
        let mut accepted = 0;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((c, _)) = listener.accept() {
                held.push(c);
                accepted += 1;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        accepted
    });
    wait_for(
        "no audio output, the silent clock keeps time",
        Duration::from_secs(8),
    );
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "play hung with a server that never answers:\n{}",
            stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let accepted = hole.join().unwrap();
    let err = stderr();
    assert!(status.success(), "{status}: {err}");
    assert!(accepted >= 1, "ttymix never retried the server:\n{err}");
    assert!(!err.contains("reconnected"), "{err}");
}
