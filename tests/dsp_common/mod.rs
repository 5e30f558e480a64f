//! Independent references and measurement helpers shared by the DSP tests.
#![allow(dead_code, clippy::needless_range_loop)]

use std::f64::consts::PI;

/// RBJ cookbook biquad (normalised by a0) from the DSP.md table, evaluated in f64.
#[derive(Clone, Copy, Debug)]
pub struct Biquad {
    pub b: [f64; 3],
    pub a: [f64; 2],
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rbj {
    LowPass,
    HighPass,
    Peaking,
    LowShelf,
    HighShelf,
}

pub fn rbj(kind: Rbj, fs: f64, f0: f64, q: f64, gain_db: f64) -> Biquad {
    let w0 = 2.0 * PI * f0 / fs;
    let c = w0.cos();
    let alpha = w0.sin() / (2.0 * q);
    let a = 10f64.powf(gain_db / 40.0);
    let sa = a.sqrt();
    let (b0, b1, b2, a0, a1, a2) = match kind {
        Rbj::LowPass => (
            (1.0 - c) / 2.0,
            1.0 - c,
            (1.0 - c) / 2.0,
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        ),
        Rbj::HighPass => (
            (1.0 + c) / 2.0,
            -(1.0 + c),
            (1.0 + c) / 2.0,
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        ),
        Rbj::Peaking => (
            1.0 + alpha * a,
            -2.0 * c,
            1.0 - alpha * a,
            1.0 + alpha / a,
            -2.0 * c,
            1.0 - alpha / a,
        ),
        Rbj::LowShelf => (
            a * ((a + 1.0) - (a - 1.0) * c + 2.0 * sa * alpha),
            2.0 * a * ((a - 1.0) - (a + 1.0) * c),
            a * ((a + 1.0) - (a - 1.0) * c - 2.0 * sa * alpha),
            (a + 1.0) + (a - 1.0) * c + 2.0 * sa * alpha,
            -2.0 * ((a - 1.0) + (a + 1.0) * c),
            (a + 1.0) + (a - 1.0) * c - 2.0 * sa * alpha,
        ),
        Rbj::HighShelf => (
            a * ((a + 1.0) + (a - 1.0) * c + 2.0 * sa * alpha),
            -2.0 * a * ((a - 1.0) + (a + 1.0) * c),
            a * ((a + 1.0) + (a - 1.0) * c - 2.0 * sa * alpha),
            (a + 1.0) - (a - 1.0) * c + 2.0 * sa * alpha,
            2.0 * ((a - 1.0) - (a + 1.0) * c),
            (a + 1.0) - (a - 1.0) * c - 2.0 * sa * alpha,
        ),
    };
    Biquad {
        b: [b0 / a0, b1 / a0, b2 / a0],
        a: [a1 / a0, a2 / a0],
    }
}

impl Biquad {
    /// |H(e^jw)| in dB at `f` Hz.
    pub fn mag_db(&self, fs: f64, f: f64) -> f64 {
        let w = 2.0 * PI * f / fs;
        let (c1, s1, c2, s2) = (w.cos(), -w.sin(), (2.0 * w).cos(), -(2.0 * w).sin());
        let nr = self.b[0] + self.b[1] * c1 + self.b[2] * c2;
        let ni = self.b[1] * s1 + self.b[2] * s2;
        let dr = 1.0 + self.a[0] * c1 + self.a[1] * c2;
        let di = self.a[0] * s1 + self.a[1] * s2;
        10.0 * ((nr * nr + ni * ni) / (dr * dr + di * di)).log10()
    }
}

/// Transposed direct form II runner (f64), used as an independent measuring filter.
#[derive(Clone)]
pub struct Tdf2 {
    q: Biquad,
    s1: f64,
    s2: f64,
}

impl Tdf2 {
    pub fn new(q: Biquad) -> Self {
        Tdf2 {
            q,
            s1: 0.0,
            s2: 0.0,
        }
    }
    pub fn tick(&mut self, x: f64) -> f64 {
        let y = self.q.b[0] * x + self.s1;
        self.s1 = self.q.b[1] * x - self.q.a[0] * y + self.s2;
        self.s2 = self.q.b[2] * x - self.q.a[1] * y;
        y
    }
}

/// 8th-order Butterworth high-pass (four RBJ sections) at `fc`: the independent "click meter".
pub fn hf_energy_ratio_db(
    signal: &[f32],
    reference_power: f64,
    fs: f64,
    fc: f64,
    skip: usize,
) -> f64 {
    let qs = [
        0.509_795_579_104_159,
        0.601_344_886_935_045,
        0.899_976_223_136_416,
        2.562_915_447_741_505,
    ];
    let mut secs: Vec<Tdf2> = qs
        .iter()
        .map(|&q| Tdf2::new(rbj(Rbj::HighPass, fs, fc, q, 0.0)))
        .collect();
    let mut e = 0.0;
    let mut n = 0usize;
    for (i, &x) in signal.iter().enumerate() {
        let mut y = x as f64;
        for s in &mut secs {
            y = s.tick(y);
        }
        if i >= skip {
            e += y * y;
            n += 1;
        }
    }
    10.0 * (e / n as f64 / reference_power).log10()
}

/// Least-squares amplitude and phase of a sinusoid at `f` Hz in `x` (sample index `start + k` is time
/// `(start + k)/fs`): fits `a·sin + b·cos + c`.
pub fn fit_sine(x: &[f32], start: usize, f: f64, fs: f64) -> (f64, f64) {
    let w = 2.0 * PI * f / fs;
    let mut m = [[0f64; 3]; 3];
    let mut v = [0f64; 3];
    for (k, &y) in x.iter().enumerate() {
        let t = (start + k) as f64 * w;
        let basis = [t.sin(), t.cos(), 1.0];
        for i in 0..3 {
            v[i] += basis[i] * y as f64;
            for j in 0..3 {
                m[i][j] += basis[i] * basis[j];
            }
        }
    }
    let sol = solve3(m, v);
    let amp = (sol[0] * sol[0] + sol[1] * sol[1]).sqrt();
    (amp, sol[1].atan2(sol[0]))
}

fn solve3(mut m: [[f64; 3]; 3], mut v: [f64; 3]) -> [f64; 3] {
    for c in 0..3 {
        let p = (c..3)
            .max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))
            .unwrap();
        m.swap(c, p);
        v.swap(c, p);
        for r in c + 1..3 {
            let f = m[r][c] / m[c][c];
            for k in c..3 {
                m[r][k] -= f * m[c][k];
            }
            v[r] -= f * v[c];
        }
    }
    let mut x = [0f64; 3];
    for r in (0..3).rev() {
        let mut s = v[r];
        for k in r + 1..3 {
            s -= m[r][k] * x[k];
        }
        x[r] = s / m[r][r];
    }
    x
}

pub fn sine(n: usize, f: f64, fs: f64, amp: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * PI * f * i as f64 / fs).sin()) as f32)
        .collect()
}

pub fn log_freqs(count: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..count)
        .map(|i| lo * (hi / lo).powf(i as f64 / (count - 1) as f64))
        .collect()
}

/// Deterministic xorshift noise in [−1, 1).
pub struct Noise(pub u64);
impl Noise {
    pub fn sample(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
    }
}
