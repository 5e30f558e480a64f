//! Helpers shared by the integration tests: fixtures written in code, WAV reading, tool checks.
#![allow(dead_code)]

pub mod ebu;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The ttymix binary under test.
pub fn ttymix() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("ttymix").expect("binary built")
}

/// Deterministic noise in [-amp, amp).
pub fn noise(seed: u64, n: usize, amp: f32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
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
        .map(|i| (amp * (2.0 * std::f64::consts::PI * freq_hz * i as f64 / rate as f64).sin()) as f32)
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
                    .write_sample((c[i] * 8_388_608.0).round().clamp(-8_388_608.0, 8_388_607.0) as i32)
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
            r.samples::<i32>().map(|s| s.unwrap() as f64 / scale).collect()
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
