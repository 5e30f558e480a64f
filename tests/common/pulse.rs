//! A private PulseAudio server for tests (reusable for testing the real `ttymix play`).
//!
//! The server runs in the foreground as our child with HOME, XDG_RUNTIME_DIR and
//! XDG_CONFIG_HOME inside the given directory, loads only what `server.pa` lists: a null sink
//! `out` (float32le, 48 kHz, stereo, so nothing is converted) and the native protocol on
//! `<dir>/native` with anonymous auth. Point clients at it with [`PulseServer::client_env`].
//! Record what reaches the sink with [`PulseServer::record`] (parec on `out.monitor`).
//!
//! Expect a gap at the start of every playback stream: an idle null sink sleeps for its
//! previous 2 s block before it adapts to a new stream's latency, so the first buffers are
//! followed by about 2 s without requests. Check recordings from the steady state on.
//!
//! When `pulseaudio` or `parec`/`pactl` is missing, [`pulse_available`] panics with a clear
//! message, unless TTYMIX_SKIP_PULSE=1 is set (then it returns false and the test skips).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Sample rate of the test sink.
pub const SINK_RATE_HZ: u32 = 48_000;
/// Name of the test sink; its monitor source is `out.monitor`.
pub const SINK_NAME: &str = "out";

/// True if pulseaudio and its utilities can run. Panics if they are missing, unless
/// TTYMIX_SKIP_PULSE=1 (then prints why and returns false).
pub fn pulse_available() -> bool {
    let missing: Vec<&str> = ["pulseaudio", "parec", "pactl"]
        .into_iter()
        .filter(|tool| {
            Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_err()
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "PulseAudio tests need {} (Debian/Ubuntu: apt install pulseaudio pulseaudio-utils); \
         set TTYMIX_SKIP_PULSE=1 to skip them",
        missing.join(", ")
    );
    if std::env::var("TTYMIX_SKIP_PULSE").as_deref() == Ok("1") {
        eprintln!("skipped: {msg}");
        false
    } else {
        panic!("{msg}");
    }
}

/// A running test server. Killed when dropped.
pub struct PulseServer {
    dir: PathBuf,
    child: Option<Child>,
}

impl PulseServer {
    /// Socket path for a server in `dir` (known before the server starts).
    pub fn socket_in(dir: &Path) -> PathBuf {
        dir.join("native")
    }

    /// Environment that points a client process at a server in `dir`.
    pub fn client_env(dir: &Path) -> Vec<(String, String)> {
        vec![
            (
                "PULSE_SERVER".into(),
                format!("unix:{}", Self::socket_in(dir).display()),
            ),
            ("HOME".into(), dir.join("home").display().to_string()),
            (
                "XDG_RUNTIME_DIR".into(),
                dir.join("run").display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".into(),
                dir.join("config").display().to_string(),
            ),
            (
                "PULSE_COOKIE".into(),
                Self::cookie_in(dir).display().to_string(),
            ),
        ]
    }

    /// The auth cookie. The server accepts anyone (auth-anonymous), but the native protocol
    /// still requires clients to send a 256-byte cookie, and cpal's client sends an empty one
    /// when it finds no file.
    pub fn cookie_in(dir: &Path) -> PathBuf {
        dir.join("cookie")
    }

    /// Start a server in `dir` (created if needed) and wait until it answers.
    pub fn start_in(dir: &Path) -> Self {
        let mut server = Self {
            dir: dir.to_path_buf(),
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let dir = &self.dir;
        for sub in ["home", "run", "config"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create pulse test dirs");
        }
        let socket = Self::socket_in(dir);
        let _ = std::fs::remove_file(&socket);
        let cookie: Vec<u8> = (0..256u32).map(|i| (i * 37 + 11) as u8).collect();
        std::fs::write(Self::cookie_in(dir), cookie).expect("write pulse cookie");
        let script = dir.join("server.pa");
        std::fs::write(
            &script,
            format!(
                "load-module module-null-sink sink_name={SINK_NAME} rate={SINK_RATE_HZ} \
                 format=float32le channels=2\n\
                 load-module module-native-protocol-unix socket={} auth-anonymous=1 \
                 auth-cookie={}\n",
                socket.display(),
                Self::cookie_in(dir).display()
            ),
        )
        .expect("write server.pa");
        let log = File::create(dir.join("pulse.log")).expect("create pulse.log");
        let child = Command::new("pulseaudio")
            .args(["-n", "-F"])
            .arg(&script)
            .args([
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--realtime=no",
                "--high-priority=no",
                "--disallow-exit",
                "--log-target=stderr",
            ])
            .env("HOME", dir.join("home"))
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("PULSE_COOKIE", Self::cookie_in(dir))
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("PULSE_SERVER")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start pulseaudio");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "pulseaudio exited early ({status}):\n{}",
                    std::fs::read_to_string(dir.join("pulse.log")).unwrap_or_default()
                );
            }
            if socket.exists() && self.pactl(&["info"]).is_some() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "pulseaudio did not answer within 15 s:\n{}",
                    std::fs::read_to_string(dir.join("pulse.log")).unwrap_or_default()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// `unix:<socket>`.
    pub fn server_address(&self) -> String {
        format!("unix:{}", Self::socket_in(&self.dir).display())
    }

    /// Run pactl against this server; its stdout if it succeeded.
    pub fn pactl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("pactl")
            .arg(format!("--server={}", self.server_address()))
            .args(args)
            .env("HOME", self.dir.join("home"))
            .env("PULSE_COOKIE", Self::cookie_in(&self.dir))
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Record `source` (e.g. "out.monitor") as raw float32le stereo at the sink rate into
    /// `path`, and wait until the recording stream exists.
    pub fn record(&self, source: &str, path: &Path) -> Recorder {
        let file = File::create(path).expect("create recording file");
        let child = Command::new("parec")
            .arg(format!("--server={}", self.server_address()))
            .args(["-d", source])
            .args(["--format=float32le", "--channels=2", "--raw"])
            .arg(format!("--rate={SINK_RATE_HZ}"))
            .arg("--latency-msec=20")
            .env("HOME", self.dir.join("home"))
            .env("PULSE_COOKIE", Self::cookie_in(&self.dir))
            .stdout(Stdio::from(file))
            .stderr(Stdio::null())
            .spawn()
            .expect("start parec");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let outputs = self
                .pactl(&["list", "short", "source-outputs"])
                .unwrap_or_default();
            if !outputs.trim().is_empty() {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        Recorder { child: Some(child) }
    }

    /// Kill the server abruptly (like a crash). Clients see the connection drop.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start the server again in the same directory, on the same socket.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pulse.log")).unwrap_or_default()
    }
}

impl Drop for PulseServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running parec. Killed when dropped.
pub struct Recorder {
    child: Option<Child>,
}

impl Recorder {
    /// Stop recording (everything received so far is in the file).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Wait for parec to end by itself (e.g. its server went away), at most `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.child.as_mut().map(|c| c.try_wait()) {
                None | Some(Ok(Some(_))) | Some(Err(_)) => {
                    self.child = None;
                    return true;
                }
                Some(Ok(None)) => thread::sleep(Duration::from_millis(20)),
            }
        }
        false
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What `ssh -R <path>:<target>` does for a unix socket: listen at `path` and, for every connection, open
/// one to `target` and copy bytes both ways. Only bytes cross (no credentials or file descriptors passed
/// over the socket), exactly as through an SSH stream-local forward. Stops listening when dropped.
pub struct SocketRelay {
    path: PathBuf,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl SocketRelay {
    /// Start relaying `path` → `target`.
    pub fn start(path: &Path, target: &Path) -> Self {
        use std::os::unix::net::{UnixListener, UnixStream};
        use std::sync::atomic::Ordering;
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).expect("bind relay socket");
        listener.set_nonblocking(true).expect("nonblocking relay");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let target = target.to_path_buf();
        let stop_thread = stop.clone();
        let thread = thread::spawn(move || {
            while !stop_thread.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let Ok(server) = UnixStream::connect(&target) else {
                            continue; // like ssh: the forwarded connection just closes
                        };
                        let pipe = |mut from: UnixStream, mut to: UnixStream| {
                            thread::spawn(move || {
                                let _ = std::io::copy(&mut from, &mut to);
                                let _ = to.shutdown(std::net::Shutdown::Write);
                            });
                        };
                        if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                            pipe(client, server);
                            pipe(s2, c2);
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            path: path.to_path_buf(),
            stop,
            thread: Some(thread),
        }
    }

    /// `unix:<path>`, for PULSE_SERVER on the "remote" side.
    pub fn address(&self) -> String {
        format!("unix:{}", self.path.display())
    }
}

impl Drop for SocketRelay {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}
