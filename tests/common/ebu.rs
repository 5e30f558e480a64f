//! Generators for the EBU Tech 3341 / 3342 compliance signals (definitions in DSP.md section 1),
//! synthesised at 48 kHz, plus a 32-bit float WAV writer. Reusable by any integration test:
//! `mod common;` then `common::ebu::case_3341(1)`.
//!
//! All sines use f64 `sin` of an exact phase (`2π·f·n/fs` from the integer sample index), so a 1 kHz
//! tone at 48 kHz repeats exactly every 48 samples. "dBFS" is peak amplitude; stereo cases carry the
//! same signal in phase on L and R.

use std::f64::consts::PI;
use std::path::Path;

/// Sample rate of every compliance signal.
pub const RATE: u32 = 48_000;

/// Linear amplitude of a peak level in dBFS.
pub fn db_to_amp(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// A continuous-phase 1 kHz sine through consecutive `(level_dbfs, seconds)` segments.
pub fn sine_segments(freq_hz: f64, segments: &[(f64, f64)], rate: u32) -> Vec<f32> {
    let mut out = Vec::new();
    let mut n: u64 = 0;
    for &(db, secs) in segments {
        let amp = db_to_amp(db);
        let len = (secs * f64::from(rate)).round() as u64;
        for _ in 0..len {
            let ph = 2.0 * PI * freq_hz * n as f64 / f64::from(rate);
            out.push((amp * ph.sin()) as f32);
            n += 1;
        }
    }
    out
}

/// The same mono signal on `n` channels.
pub fn replicate(ch: Vec<f32>, n: usize) -> Vec<Vec<f32>> {
    vec![ch; n]
}

/// A sine of `freq_hz` with amplitude `amp` and start phase `phase_deg`, `secs` long, with linear
/// fades of `fade_s` at both ends (the Tech 3341 true-peak signals).
pub fn faded_sine(
    freq_hz: f64,
    amp: f64,
    phase_deg: f64,
    secs: f64,
    fade_s: f64,
    rate: u32,
) -> Vec<f32> {
    let len = (secs * f64::from(rate)).round() as usize;
    let fade = (fade_s * f64::from(rate)).round() as usize;
    let ph0 = phase_deg.to_radians();
    (0..len)
        .map(|n| {
            let g = if n < fade {
                n as f64 / fade as f64
            } else if n >= len - fade {
                (len - 1 - n) as f64 / fade as f64
            } else {
                1.0
            };
            let ph = 2.0 * PI * freq_hz * n as f64 / f64::from(rate) + ph0;
            (g * amp * ph.sin()) as f32
        })
        .collect()
}

/// EBU Tech 3341 case `n` (1–6, 9, 12, 15–19) as planar channels at [`RATE`].
/// Case 6 is 5.0 in the order L, R, C, Ls, Rs; all others are stereo.
pub fn case_3341(n: u32) -> (Vec<Vec<f32>>, u32) {
    let stereo = |segs: &[(f64, f64)]| replicate(sine_segments(1000.0, segs, RATE), 2);
    let tp = |f: f64, amp: f64, ph: f64| replicate(faded_sine(f, amp, ph, 1.0, 0.01, RATE), 2);
    let fs = f64::from(RATE);
    let ch = match n {
        1 => stereo(&[(-23.0, 20.0)]),
        2 => stereo(&[(-33.0, 20.0)]),
        3 => stereo(&[(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)]),
        4 => stereo(&[
            (-72.0, 10.0),
            (-36.0, 10.0),
            (-23.0, 60.0),
            (-36.0, 10.0),
            (-72.0, 10.0),
        ]),
        5 => stereo(&[(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)]),
        6 => ["L", "R", "C", "Ls", "Rs"]
            .iter()
            .map(|c| {
                let db = match *c {
                    "L" | "R" => -28.0,
                    "C" => -24.0,
                    _ => -30.0,
                };
                sine_segments(1000.0, &[(db, 20.0)], RATE)
            })
            .collect(),
        9 => stereo(&[(-20.0, 1.34), (-30.0, 1.66)].repeat(5)),
        12 => stereo(&[(-20.0, 0.18), (-30.0, 0.22)].repeat(25)),
        15 => tp(fs / 4.0, 0.5, 0.0),
        16 => tp(fs / 4.0, 0.5, 45.0),
        17 => tp(fs / 6.0, 0.5, 60.0),
        18 => tp(fs / 8.0, 0.5, 67.5),
        19 => tp(fs / 4.0, 1.41, 45.0),
        _ => panic!("Tech 3341 case {n} is not synthesised"),
    };
    (ch, RATE)
}

/// EBU Tech 3342 case `n` (1–4) as stereo planar channels at [`RATE`].
pub fn case_3342(n: u32) -> (Vec<Vec<f32>>, u32) {
    let segs: Vec<(f64, f64)> = match n {
        1 => vec![(-20.0, 20.0), (-30.0, 20.0)],
        2 => vec![(-20.0, 20.0), (-15.0, 20.0)],
        3 => vec![(-40.0, 20.0), (-20.0, 20.0)],
        4 => [-50.0, -35.0, -20.0, -35.0, -50.0]
            .iter()
            .map(|&d| (d, 20.0))
            .collect(),
        _ => panic!("Tech 3342 case {n} is not synthesised"),
    };
    (replicate(sine_segments(1000.0, &segs, RATE), 2), RATE)
}

/// Deterministic uniform white noise in [-amp, amp) (64-bit LCG, top bits).
pub fn white_noise(len: usize, amp: f64, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            (amp * (2.0 * u - 1.0)) as f32
        })
        .collect()
}

/// 4th-order Butterworth low-pass (two RBJ biquads, Q 0.541 and 1.307) at `freq_hz`.
pub fn low_pass(x: &[f32], freq_hz: f64, rate: u32) -> Vec<f32> {
    let mut y: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    for q in [0.541_196_1, 1.306_563] {
        let w0 = 2.0 * PI * freq_hz / f64::from(rate);
        let (c, alpha) = (w0.cos(), w0.sin() / (2.0 * q));
        let a0 = 1.0 + alpha;
        let b = [(1.0 - c) / 2.0 / a0, (1.0 - c) / a0, (1.0 - c) / 2.0 / a0];
        let a = [-2.0 * c / a0, (1.0 - alpha) / a0];
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for v in y.iter_mut() {
            let out = b[0] * *v + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2;
            (x2, x1, y2, y1) = (x1, *v, y1, out);
            *v = out;
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}

/// Writes planar channels as a 32-bit float WAV.
pub fn write_wav_f32(path: &Path, channels: &[Vec<f32>], rate: u32) -> hound::Result<()> {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    let len = channels.first().map_or(0, Vec::len);
    for i in 0..len {
        for c in channels {
            w.write_sample(c[i])?;
        }
    }
    w.finalize()
}
