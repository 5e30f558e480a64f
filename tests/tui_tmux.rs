//! End to end in tmux with the real binary: open a generated WAV session with `--output none`, play (the time
//! moves), mute, move a fader, save, quit, and find the changes in ttymix.toml; then change something, send
//! SIGHUP, find the change in the recovery file, and restore it on the next start.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ttymix::session::SessionFile;

fn have_tmux() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("tmux is required in CI");
        }
        eprintln!("note: tmux not found; skipping the end-to-end TUI test");
    }
    ok
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("running tmux")
    }

    fn start(&self, dir: &Path) {
        let bin = env!("CARGO_BIN_EXE_ttymix");
        let line = format!("exec '{bin}' '{}' --output none", dir.display());
        let o = self.cmd(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "100",
            "-y",
            "30",
            &line,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    fn wait_for(&self, text: &str) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if t0.elapsed() > Duration::from_secs(20) {
                panic!("timed out waiting for {text:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_exit(&self) {
        let t0 = Instant::now();
        while self.cmd(&["has-session", "-t", "t"]).status.success() {
            if t0.elapsed() > Duration::from_secs(20) {
                panic!("ttymix did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn pid(&self) -> u32 {
        let o = self.cmd(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .expect("pane pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn write_sine(path: &Path, freq_hz: f32, seconds: f32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let n = (seconds * 48_000.0) as usize;
    for i in 0..n {
        let x = (2.0 * std::f32::consts::PI * freq_hz * i as f32 / 48_000.0).sin() * 0.3;
        w.write_sample((x * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

fn time_on(screen: &str) -> String {
    let line = screen.lines().next().unwrap_or("");
    line.split_whitespace()
        .find(|w| w.len() == 7 && w.as_bytes()[2] == b':')
        .unwrap_or("")
        .to_string()
}

fn session_file(path: &Path) -> SessionFile {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    SessionFile::parse(&text, path).unwrap()
}

#[test]
fn play_mute_fader_save_quit_then_sighup_and_restore() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_sine(&dir.path().join("a_bass.wav"), 110.0, 20.0);
    write_sine(&dir.path().join("b_lead.wav"), 880.0, 20.0);
    let t = Tmux {
        socket: format!("ttymix-test-{}", std::process::id()),
    };
    t.start(dir.path());
    t.wait_for("loaded");
    let s = t.wait_for("no audio output");
    let before = time_on(&s);
    assert_eq!(before, "00:00.0", "{s}");
    t.keys(&["Space"]);
    std::thread::sleep(Duration::from_millis(1200));
    let s = t.wait_for("PLAY");
    let after = time_on(&s);
    assert!(
        after.as_str() > "00:00.5",
        "time did not move: {after}\n{s}"
    );
    t.keys(&["m", "Up", "Up", "C-s"]);
    t.wait_for("saved");
    t.keys(&["q"]);
    t.wait_exit();
    let f = session_file(&dir.path().join("ttymix.toml"));
    assert!(f.tracks[0].mute);
    assert_eq!(f.tracks[0].gain_db, 2.0);
    assert!(!f.tracks[1].mute);
    assert_eq!(f.tracks[1].gain_db, 0.0);

    // a change, then SIGHUP: the change is in the recovery file, not the session
    t.start(dir.path());
    t.wait_for("loaded");
    t.keys(&["l", "s"]);
    t.wait_for("m S");
    let pid = t.pid();
    assert!(Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    t.wait_exit();
    let rec = dir.path().join("ttymix.toml.recovery");
    let r = session_file(&rec);
    assert!(r.tracks[1].solo);
    assert!(r.tracks[0].mute);
    assert!(!session_file(&dir.path().join("ttymix.toml")).tracks[1].solo);

    // the next start offers to restore it
    t.start(dir.path());
    t.wait_for("restore? y/n");
    t.keys(&["y"]);
    t.wait_for("restored");
    t.keys(&["C-s"]);
    t.wait_for("saved");
    t.keys(&["q"]);
    t.wait_exit();
    assert!(session_file(&dir.path().join("ttymix.toml")).tracks[1].solo);
    assert!(!rec.exists());
}

/// True while `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn assert_gone_within(pid: u32, limit: Duration, what: &str) -> Duration {
    let t0 = Instant::now();
    while alive(pid) {
        if t0.elapsed() > limit {
            // do not leave it behind
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("ttymix (pid {pid}) still running {limit:?} after {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    t0.elapsed()
}

/// The terminal going away (tmux kill-session closes the pty: SIGHUP and a hung-up tty) and a plain SIGTERM
/// both end the process within seconds, with the unsaved change in the recovery file, offered on the next
/// start. (Regression: crossterm spun forever reading the dead tty and SIGTERM was swallowed.)
#[test]
fn killed_session_and_sigterm_exit_promptly_and_keep_the_change() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_sine(&dir.path().join("a_bass.wav"), 110.0, 5.0);
    write_sine(&dir.path().join("b_lead.wav"), 880.0, 5.0);
    let rec = dir.path().join("ttymix.toml.recovery");
    let t = Tmux {
        socket: format!("ttymix-kill-{}", std::process::id()),
    };

    // 1. the whole tmux session goes away
    t.start(dir.path());
    t.wait_for("loaded");
    t.keys(&["Space", "m"]);
    t.wait_for("[+]");
    let pid = t.pid();
    assert!(alive(pid));
    assert!(t.cmd(&["kill-session", "-t", "t"]).status.success());
    let took = assert_gone_within(pid, Duration::from_secs(3), "tmux kill-session");
    eprintln!("exit after kill-session: {took:?}");
    let r = session_file(&rec);
    assert!(r.tracks[0].mute, "{r:?}");
    assert!(!dir.path().join("ttymix.toml").exists());

    // 2. the next start offers it; take it, change more, then SIGTERM
    t.start(dir.path());
    t.wait_for("restore? y/n");
    t.keys(&["y"]);
    t.wait_for("restored");
    t.keys(&["l", "s"]);
    t.wait_for("m S");
    let pid = t.pid();
    assert!(Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let took = assert_gone_within(pid, Duration::from_secs(3), "SIGTERM");
    eprintln!("exit after SIGTERM: {took:?}");
    let r = session_file(&rec);
    assert!(r.tracks[0].mute && r.tracks[1].solo, "{r:?}");

    // 3. and once more it is offered
    t.wait_exit();
    t.start(dir.path());
    t.wait_for("restore? y/n");
    t.keys(&["n"]);
    t.wait_for("recovery file discarded");
    t.keys(&["q"]);
    t.wait_exit();
    assert!(!rec.exists());
}

/// Bytes the pane writes to the terminal during `secs`.
fn bytes_written(t: &Tmux, dir: &Path, secs: f32) -> Vec<u8> {
    let log = dir.join(format!("pipe-{}.log", Instant::now().elapsed().as_nanos()));
    let cmd = format!("cat > '{}'", log.display());
    assert!(t
        .cmd(&["pipe-pane", "-o", "-t", "t", &cmd])
        .status
        .success());
    std::thread::sleep(Duration::from_secs_f32(secs));
    assert!(t.cmd(&["pipe-pane", "-t", "t"]).status.success());
    std::thread::sleep(Duration::from_millis(200));
    std::fs::read(&log).unwrap_or_default()
}

/// Terminal conditions with the real binary: nothing is written while nothing changes; while playing the
/// redraws stay under the `--fps` cap; below 80x24 it says so.
#[test]
fn redraw_only_on_change_fps_cap_and_minimum_size() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_sine(&dir.path().join("a.wav"), 220.0, 30.0);
    let t = Tmux {
        socket: format!("ttymix-cond-{}", std::process::id()),
    };
    let bin = env!("CARGO_BIN_EXE_ttymix");
    let line = format!(
        "exec '{bin}' '{}' --output none --fps 5",
        dir.path().display()
    );
    let o = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "100",
        "-y",
        "30",
        &line,
    ]);
    assert!(o.status.success());
    t.wait_for("loaded");
    std::thread::sleep(Duration::from_millis(500));
    // idle: not a byte
    let idle = bytes_written(&t, dir.path(), 2.0);
    assert_eq!(idle.len(), 0, "wrote {} bytes while idle", idle.len());
    // playing at --fps 5: the clock changes every frame, so there are about 5 frames a second and never
    // more. Each ratatui frame ends by hiding the cursor again: count those.
    t.keys(&["Space"]);
    t.wait_for("PLAY");
    let playing = bytes_written(&t, dir.path(), 3.0);
    let text = String::from_utf8_lossy(&playing);
    let frames = text.matches("\u{1b}[?25l").count();
    eprintln!("{frames} frames, {} bytes in 3 s at --fps 5", playing.len());
    assert!(
        frames >= 5,
        "only {frames} frames in 3 s while playing:\n{text:?}"
    );
    assert!(frames <= 3 * 5 + 2, "{frames} frames in 3 s with --fps 5");
    t.keys(&["q"]);
    t.wait_exit();

    // below 80x24 it says so
    let line = format!("exec '{bin}' '{}' --output none", dir.path().display());
    let o = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "70",
        "-y",
        "20",
        &line,
    ]);
    assert!(o.status.success());
    t.wait_for("terminal too small: need 80x24, have 70x20");
    t.keys(&["q"]);
    t.wait_exit();
}
