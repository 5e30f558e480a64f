//! Helpers shared by the integration tests: fixtures written in code, WAV reading, tool checks.
#![allow(dead_code)]

pub mod ebu;
pub mod pulse;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The ttymix binary under test.
pub fn ttymix() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("ttymix").expect("binary built")
}

/// Deterministic noise in [-amp, amp).
pub fn noise(seed: u64, n: usize, amp: f32) -> Vec<f32> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0) * amp
        })
        .collect()
}

/// A sine.
pub fn sine(freq_hz: f64, amp: f64, rate: u32, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            (amp * (2.0 * std::f64::consts::PI * freq_hz * i as f64 / rate as f64).sin()) as f32
        })
        .collect()
}

/// Write planar channels as a WAV: `bits` 16 or 24 (integer) or 32 (float).
pub fn write_wav(path: &Path, rate: u32, bits: u16, chans: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels: chans.len() as u16,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if bits == 32 {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..chans[0].len() {
        for c in chans {
            match bits {
                32 => w.write_sample(c[i]).unwrap(),
                16 => w
                    .write_sample((c[i] * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
                    .unwrap(),
                _ => w
                    .write_sample(
                        (c[i] * 8_388_608.0)
                            .round()
                            .clamp(-8_388_608.0, 8_388_607.0) as i32,
                    )
                    .unwrap(),
            }
        }
    }
    w.finalize().unwrap();
}

/// Read a WAV into planar f64 (integer formats scaled to ±1).
pub fn read_wav(path: &Path) -> (hound::WavSpec, Vec<Vec<f64>>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let ch = spec.channels as usize;
    let inter: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap() as f64).collect(),
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample - 1)) as f64;
            r.samples::<i32>()
                .map(|s| s.unwrap() as f64 / scale)
                .collect()
        }
    };
    let mut out = vec![Vec::with_capacity(inter.len() / ch); ch];
    for (i, x) in inter.into_iter().enumerate() {
        out[i % ch].push(x);
    }
    (spec, out)
}

/// Is a command-line tool installed? In CI (CI set) a missing tool is a failure, not a skip.
pub fn have_tool(name: &str) -> bool {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{name} is required in CI (.ci/run installs it)");
        }
        eprintln!("skipping: {name} is not installed");
    }
    ok
}

/// A temporary folder.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Path helper.
pub fn p(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

// ---- audio-stack helpers ----

use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ttymix::audio::RenderCallback;

/// Set in a child process started by [`run_child`].
pub const CHILD_ENV: &str = "TTYMIX_TEST_CHILD";

/// Whether this process is a child started by [`run_child`].
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Run the test `name` of the current test binary in a child process (it must be `#[ignore]`d
/// so that it runs only when asked), with extra environment. Panics with the child's output if
/// it fails.
pub fn run_child(name: &str, envs: &[(&str, &Path)]) -> Output {
    let exe = std::env::current_exe().expect("current test binary");
    let mut cmd = Command::new(exe);
    cmd.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("start child test process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child test {name} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("1 passed"),
        "child test {name} did not run:\n{stdout}\n{stderr}"
    );
    out
}

/// A counter-coded ramp: frame i has L = ((i mod 65536) - 32768) / 32768 and
/// R = (((7 i + 12345) mod 65536) - 32768) / 32768, exact in f32, so a recording can be checked
/// sample for sample and tells which frame it is.
pub struct Ramp {
    next: u64,
    /// Frames rendered so far.
    pub rendered: Arc<AtomicU64>,
}

impl Ramp {
    pub fn new(rendered: Arc<AtomicU64>) -> Self {
        Self { next: 0, rendered }
    }

    pub fn frame(i: u64) -> (f32, f32) {
        let l = (i % 65536) as f32 - 32768.0;
        let r = ((i * 7 + 12345) % 65536) as f32 - 32768.0;
        (l / 32768.0, r / 32768.0)
    }
}

impl RenderCallback for Ramp {
    fn render(&mut self, out: &mut [f32]) {
        for frame in out.chunks_exact_mut(2) {
            let (l, r) = Self::frame(self.next);
            frame[0] = l;
            frame[1] = r;
            self.next += 1;
        }
        self.rendered.store(self.next, Ordering::Release);
    }
}

/// Deterministic white noise at amplitude 0.5 (xorshift64*), different on L and R: aligns
/// unambiguously against a recording.
pub struct Noise {
    next: u64,
    /// Frames rendered so far.
    pub rendered: Arc<AtomicU64>,
}

impl Noise {
    pub fn new(rendered: Arc<AtomicU64>) -> Self {
        Self { next: 0, rendered }
    }

    fn hash(mut x: u64) -> f32 {
        // splitmix64 of the index: random access, no state
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        // 24 random bits -> [-0.5, 0.5)
        ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    }

    pub fn frame(i: u64) -> (f32, f32) {
        (Self::hash(2 * i), Self::hash(2 * i + 1))
    }
}

impl RenderCallback for Noise {
    fn render(&mut self, out: &mut [f32]) {
        for frame in out.chunks_exact_mut(2) {
            let (l, r) = Self::frame(self.next);
            frame[0] = l;
            frame[1] = r;
            self.next += 1;
        }
        self.rendered.store(self.next, Ordering::Release);
    }
}

/// Counts how often it is dropped.
pub struct DropFlag(pub Arc<AtomicU64>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Read a file of little-endian f32 samples.
pub fn read_f32_le(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Every kind of strip parameter (basic strip, filters, EQ, dynamics, sends, master processors) with a
/// value that changes something: the allocation tests drive each through the engine and the player.
pub fn every_strip_param() -> Vec<ttymix::engine::StripParam> {
    use ttymix::engine::StripParam::*;
    let mut v = vec![
        TrimDb(3.0),
        GainDb(-6.0),
        Pan(0.5),
        Mute(true),
        Mute(false),
        Solo(true),
        Solo(false),
        InvertPolarity(true),
        HpfEnabled(true),
        HpfFreqHz(120.0),
        HpfSlope24(true),
        LpfEnabled(true),
        LpfFreqHz(9000.0),
        LpfSlope24(true),
        EqEnabled(true),
        GateEnabled(true),
        GateThresholdDb(-40.0),
        GateRatio(3.0),
        GateRangeDb(-30.0),
        GateAttackMs(1.0),
        GateHoldMs(10.0),
        GateReleaseMs(80.0),
        CompEnabled(true),
        CompThresholdDb(-20.0),
        CompRatio(3.0),
        CompKneeDb(4.0),
        CompAttackMs(5.0),
        CompReleaseMs(120.0),
        CompMakeupDb(2.0),
        CompSidechainHpfHz(150.0),
        CompSidechainHpfHz(0.0),
        SendLevelDb(0, -3.0),
        SendLevelDb(1, -20.0),
        SendPreFader(0, true),
        SendPreFader(1, false),
        LimiterEnabled(true),
        LimiterCeilingDbtp(-2.0),
        LimiterReleaseMs(80.0),
        ReverbDecayS(3.0),
        ReverbPreDelayMs(30.0),
        ReverbSize(1.5),
        ReverbDamping(0.3),
        ReverbWidth(0.8),
        DelayTimeMs(250.0),
        DelayFeedback(0.5),
        DelayLowCutHz(200.0),
        DelayHighCutHz(5000.0),
        DelayPingPong(true),
    ];
    for b in 0..4u8 {
        v.extend([
            EqBandEnabled(b, true),
            EqBandFreqHz(b, 500.0 + b as f32 * 1000.0),
            EqBandGainDb(b, 4.0),
            EqBandQ(b, 2.0),
        ]);
    }
    v
}
