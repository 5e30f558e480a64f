//! Built-in demo multitrack, synthesised deterministically at start-up (no files).
//!
//! A 20-bar song in A minor at 120 BPM (Am F C G; intro, verse, chorus, outro; 41.5 s with the
//! tail) on six tracks: drum kit (stereo), bass, pad (stereo), lead synth, a vowel-like "vocal"
//! (formant-filtered sawtooth with vibrato and glides) and percussion (shaker, claps; stereo).
//! Three realistic faults make mixing decisions matter: the pad is about 8 dB too hot, the lead is
//! buried about 10 dB under the rest, and the bass is muddy (a +14 dB bump at 290 Hz).
//! Summed at unity with the constant-power pan law the master peaks below −1 dBFS.
//!
//! Determinism: the samples are identical on every run and machine. Only IEEE-754 basic operations
//! (+ − × ÷, `round`) touch the signal; sine and exp come from the polynomials in `dm` rather than
//! the platform libm; noise comes from SplitMix64 with fixed seeds. Tracks are rendered in parallel
//! (rayon), each independently, so the thread count does not change anything.
//!
//! Not for the audio thread: building allocates and takes a few hundred milliseconds.

use rayon::prelude::*;

/// One track of the demo.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoTrack {
    /// Display name.
    pub name: String,
    /// Planar audio: one (mono) or two (stereo) channels, all the same length.
    pub channels: Vec<Vec<f32>>,
    /// Pan position in −1 … 1 (0 for stereo tracks).
    pub pan: f32,
    /// The deliberate fault in this track ("too hot", "buried", "muddy …"), or "" if none.
    pub note: &'static str,
}

/// The demo multitrack.
#[derive(Clone, Debug, PartialEq)]
pub struct Demo {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Tempo in beats per minute.
    pub tempo_bpm: f64,
    /// The tracks, all of the same length.
    pub tracks: Vec<DemoTrack>,
}

impl Demo {
    /// Length in frames (every track has this length).
    pub fn frames(&self) -> usize {
        self.tracks.first().map_or(0, |t| t.channels[0].len())
    }

    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate)
    }
}

/// Tempo of the song.
pub const TEMPO_BPM: f64 = 120.0;
/// Bars in the song (2 intro, 8 verse, 8 chorus, 2 outro).
const BARS: usize = 20;
/// Seconds after the last bar (decays), faded out over the last `FADE_S`.
const TAIL_S: f64 = 1.5;
const FADE_S: f64 = 0.3;

/// Track gains in dB, set so that the faults are what the track notes say.
const DRUMS_DB: f64 = -15.6;
const BASS_DB: f64 = -22.4;
const PAD_DB: f64 = -7.8;
const LEAD_DB: f64 = -31.9;
const VOCAL_DB: f64 = -7.0;
const PERC_DB: f64 = -6.4;

/// Builds the demo at `sample_rate` Hz (deterministic; tracks rendered in parallel). Rates outside
/// 8–384 kHz are clamped to that range (the returned `sample_rate` says which was used).
pub fn build(sample_rate: u32) -> Demo {
    let sample_rate = sample_rate.clamp(8_000, 384_000);
    let song = Song::new(f64::from(sample_rate));
    type Render = fn(&Song) -> DemoTrack;
    let renders: [Render; 6] = [drums, bass, pad, lead, vocal, percussion];
    let mut tracks: Vec<DemoTrack> = renders.par_iter().map(|r| r(&song)).collect();
    for t in &mut tracks {
        for ch in &mut t.channels {
            song.fade_tail(ch);
        }
    }
    Demo {
        sample_rate,
        tempo_bpm: TEMPO_BPM,
        tracks,
    }
}

/// Deterministic math: the same result on every platform (no libm).
mod dm {
    pub const LN2: f64 = std::f64::consts::LN_2;
    pub const LN10: f64 = std::f64::consts::LN_10;
    const TAU: f64 = std::f64::consts::TAU;

    /// sin(2π·x) for x in cycles (Taylor series to x^19 after reduction to ±π/2; error < 1e-15).
    pub fn sin_cycles(x: f64) -> f64 {
        let mut r = x - x.round();
        if r > 0.25 {
            r = 0.5 - r;
        } else if r < -0.25 {
            r = -0.5 - r;
        }
        let s = TAU * r;
        let s2 = s * s;
        let mut p = -1.0 / 121_645_100_408_832_000.0;
        p = p * s2 + 1.0 / 355_687_428_096_000.0;
        p = p * s2 - 1.0 / 1_307_674_368_000.0;
        p = p * s2 + 1.0 / 6_227_020_800.0;
        p = p * s2 - 1.0 / 39_916_800.0;
        p = p * s2 + 1.0 / 362_880.0;
        p = p * s2 - 1.0 / 5040.0;
        p = p * s2 + 1.0 / 120.0;
        p = p * s2 - 1.0 / 6.0;
        p = p * s2 + 1.0;
        s * p
    }

    /// cos(2π·x) for x in cycles.
    pub fn cos_cycles(x: f64) -> f64 {
        sin_cycles(x + 0.25)
    }

    /// e^x (reduction by powers of two, Taylor series to r^13; relative error < 1e-15).
    pub fn exp(x: f64) -> f64 {
        if x < -700.0 {
            return 0.0;
        }
        if x > 700.0 {
            return f64::INFINITY;
        }
        let k = (x / LN2).round();
        let r = x - k * LN2;
        const C: [f64; 13] = [
            1.0 / 479_001_600.0,
            1.0 / 39_916_800.0,
            1.0 / 3_628_800.0,
            1.0 / 362_880.0,
            1.0 / 40_320.0,
            1.0 / 5040.0,
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            1.0,
        ];
        let mut p = 1.0 / 6_227_020_800.0;
        for c in C {
            p = p * r + c;
        }
        p * f64::from_bits(((k as i64 + 1023) as u64) << 52)
    }

    /// Linear gain of a level in dB.
    pub fn db(db: f64) -> f64 {
        exp(db * LN10 / 20.0)
    }

    /// Frequency of a (fractional) MIDI note.
    pub fn midi_hz(note: f64) -> f64 {
        440.0 * exp((note - 69.0) / 12.0 * LN2)
    }
}

/// SplitMix64 noise generator.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [−1, 1).
    fn uni(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy)]
enum Kind {
    LowPass,
    HighPass,
    BandPass,
    Peak(f64),
}

/// RBJ biquad, transposed direct form II, f64 state.
#[derive(Clone, Copy, Default)]
struct Biquad {
    b0: f64,
    b1: f64,
    b2: f64,
    a1: f64,
    a2: f64,
    z1: f64,
    z2: f64,
}

impl Biquad {
    fn new(kind: Kind, freq_hz: f64, q: f64, rate: f64) -> Self {
        let mut f = Self::default();
        f.set(kind, freq_hz, q, rate);
        f
    }

    /// Sets the coefficients, keeping the state.
    fn set(&mut self, kind: Kind, freq_hz: f64, q: f64, rate: f64) {
        let x = (freq_hz / rate).min(0.49);
        let (sn, c) = (dm::sin_cycles(x), dm::cos_cycles(x));
        let alpha = sn / (2.0 * q);
        let (b0, b1, b2, a0, a1, a2) = match kind {
            Kind::LowPass => {
                let b = (1.0 - c) / 2.0;
                (b, 1.0 - c, b, 1.0 + alpha, -2.0 * c, 1.0 - alpha)
            }
            Kind::HighPass => {
                let b = (1.0 + c) / 2.0;
                (b, -(1.0 + c), b, 1.0 + alpha, -2.0 * c, 1.0 - alpha)
            }
            // Constant 0 dB peak gain.
            Kind::BandPass => (alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * c, 1.0 - alpha),
            Kind::Peak(gain_db) => {
                let a = dm::db(gain_db / 2.0);
                (
                    1.0 + alpha * a,
                    -2.0 * c,
                    1.0 - alpha * a,
                    1.0 + alpha / a,
                    -2.0 * c,
                    1.0 - alpha / a,
                )
            }
        };
        self.b0 = b0 / a0;
        self.b1 = b1 / a0;
        self.b2 = b2 / a0;
        self.a1 = a1 / a0;
        self.a2 = a2 / a0;
    }

    #[inline]
    fn run(&mut self, x: f64) -> f64 {
        let y = self.b0 * x + self.z1;
        self.z1 = self.b1 * x - self.a1 * y + self.z2;
        self.z2 = self.b2 * x - self.a2 * y;
        // Flush denormals (long silences would otherwise slow everything down).
        if self.z1.abs() < 1e-30 {
            self.z1 = 0.0;
        }
        if self.z2.abs() < 1e-30 {
            self.z2 = 0.0;
        }
        y
    }

    fn run_buf(&mut self, buf: &mut [f64]) {
        for v in buf {
            *v = self.run(*v);
        }
    }
}

/// Fixed-frequency sine by complex rotation (basic arithmetic only: deterministic and cheap).
struct Phasor {
    re: f64,
    im: f64,
    c: f64,
    s: f64,
}

impl Phasor {
    /// A sine of `freq_hz` starting at phase `phase_cycles`.
    fn new(freq_hz: f64, phase_cycles: f64, rate: f64) -> Self {
        let x = freq_hz / rate;
        Self {
            re: dm::cos_cycles(phase_cycles),
            im: dm::sin_cycles(phase_cycles),
            c: dm::cos_cycles(x),
            s: dm::sin_cycles(x),
        }
    }

    #[inline]
    fn next(&mut self) -> f64 {
        let y = self.im;
        let re = self.re * self.c - self.im * self.s;
        self.im = self.re * self.s + self.im * self.c;
        self.re = re;
        y
    }
}

/// PolyBLEP correction for a unit step at phase 0 (`t` phase in [0, 1), `dt` increment).
#[inline]
fn poly_blep(t: f64, dt: f64) -> f64 {
    if t < dt {
        let t = t / dt;
        t + t - t * t - 1.0
    } else if t > 1.0 - dt {
        let t = (t - 1.0) / dt;
        t * t + t + t + 1.0
    } else {
        0.0
    }
}

/// Band-limited (polyBLEP) sawtooth and square oscillator.
#[derive(Clone, Copy)]
struct Osc {
    phase: f64,
}

impl Osc {
    fn saw(&mut self, dt: f64) -> f64 {
        let y = 2.0 * self.phase - 1.0 - poly_blep(self.phase, dt);
        self.advance(dt);
        y
    }

    fn square(&mut self, dt: f64) -> f64 {
        let p = self.phase;
        let mut y = if p < 0.5 { 1.0 } else { -1.0 };
        y += poly_blep(p, dt);
        let p2 = if p < 0.5 { p + 0.5 } else { p - 0.5 };
        y -= poly_blep(p2, dt);
        self.advance(dt);
        y
    }

    #[inline]
    fn advance(&mut self, dt: f64) {
        self.phase += dt;
        if self.phase >= 1.0 {
            self.phase -= 1.0;
        }
    }
}

/// Attack–decay–sustain–release envelope run sample by sample with multiplications only:
/// linear attack, exponential decay to the sustain level and exponential release.
struct Adsr {
    level: f64,
    attacking: bool,
    attack_inc: f64,
    decay_coef: f64,
    sustain: f64,
    release_coef: f64,
}

impl Adsr {
    fn new(rate: f64, attack_s: f64, decay_tau_s: f64, sustain: f64, release_tau_s: f64) -> Self {
        Self {
            level: 0.0,
            attacking: true,
            attack_inc: 1.0 / (attack_s * rate).max(1.0),
            decay_coef: decay_coef(decay_tau_s, rate),
            sustain,
            release_coef: decay_coef(release_tau_s, rate),
        }
    }

    /// Next level; `held` is false once the note is released.
    #[inline]
    fn next(&mut self, held: bool) -> f64 {
        if !held {
            self.level *= self.release_coef;
        } else if self.attacking {
            self.level += self.attack_inc;
            if self.level >= 1.0 {
                self.level = 1.0;
                self.attacking = false;
            }
        } else {
            self.level = self.sustain + (self.level - self.sustain) * self.decay_coef;
        }
        self.level
    }
}

/// Per-sample multiplier of an exponential decay with time constant `tau_s`.
fn decay_coef(tau_s: f64, rate: f64) -> f64 {
    dm::exp(-1.0 / (tau_s * rate))
}

/// Exponential decay from 1, one multiplication per sample.
struct Decay {
    level: f64,
    coef: f64,
}

impl Decay {
    fn new(tau_s: f64, rate: f64) -> Self {
        Self {
            level: 1.0,
            coef: decay_coef(tau_s, rate),
        }
    }

    #[inline]
    fn next(&mut self) -> f64 {
        let y = self.level;
        self.level *= self.coef;
        y
    }
}

/// Time grid of the song.
struct Song {
    rate: f64,
    beat_s: f64,
    frames: usize,
}

/// Chords: 0 Am, 1 F, 2 C, 3 G.
const PROGRESSION: [usize; BARS] = [0, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 0];
/// Bass roots (MIDI) of the chords: A1, F1, C2, G1.
const ROOTS: [i32; 4] = [33, 29, 36, 31];
/// Pad voicings (MIDI), kept above ~290 Hz.
const VOICINGS: [[i32; 4]; 4] = [
    [64, 69, 72, 76],
    [65, 69, 72, 77],
    [64, 67, 72, 76],
    [62, 67, 71, 74],
];
/// Lead arpeggio tones (MIDI).
const ARP: [[i32; 4]; 4] = [
    [69, 72, 76, 81],
    [69, 72, 77, 81],
    [67, 72, 76, 79],
    [67, 71, 74, 79],
];

const INTRO: std::ops::Range<usize> = 0..2;
const VERSE: std::ops::Range<usize> = 2..10;
const CHORUS: std::ops::Range<usize> = 10..18;
const OUTRO: usize = 18;

impl Song {
    fn new(rate: f64) -> Self {
        let beat_s = 60.0 / TEMPO_BPM;
        let total_s = BARS as f64 * 4.0 * beat_s + TAIL_S;
        Self {
            rate,
            beat_s,
            frames: (total_s * rate).round() as usize,
        }
    }

    /// Frame index of a beat (0-based, fractional) in a bar.
    fn at(&self, bar: usize, beat: f64) -> usize {
        ((bar as f64 * 4.0 + beat) * self.beat_s * self.rate).round() as usize
    }

    fn len(&self, secs: f64) -> usize {
        (secs * self.rate).round() as usize
    }

    fn buf(&self) -> Vec<f64> {
        vec![0.0; self.frames]
    }

    /// Raised-cosine fade to zero over the last `FADE_S`.
    fn fade_tail(&self, ch: &mut [f32]) {
        let n = self.len(FADE_S).min(ch.len());
        let start = ch.len() - n;
        for (i, v) in ch[start..].iter_mut().enumerate() {
            let g = if i + 1 == n {
                0.0
            } else {
                0.5 + 0.5 * dm::cos_cycles(0.5 * (i + 1) as f64 / n as f64)
            };
            *v = (f64::from(*v) * g) as f32;
        }
    }

    /// Adds `len` frames of `f(i)` (i = frames since `start`) into `buf` from `start`, clipped to
    /// the end of the buffer.
    fn add(&self, buf: &mut [f64], start: usize, len: usize, mut f: impl FnMut(usize) -> f64) {
        let end = (start + len).min(buf.len());
        for (i, v) in buf[start.min(end)..end].iter_mut().enumerate() {
            *v += f(i);
        }
    }
}

fn to_f32(buf: Vec<f64>, gain_db: f64) -> Vec<f32> {
    let g = dm::db(gain_db);
    buf.into_iter().map(|v| (v * g) as f32).collect()
}

fn track(name: &str, channels: Vec<Vec<f32>>, pan: f32, note: &'static str) -> DemoTrack {
    DemoTrack {
        name: name.to_string(),
        channels,
        pan,
        note,
    }
}

// ---------------------------------------------------------------- drums

#[derive(Clone, Copy, PartialEq)]
enum Hit {
    Kick,
    Snare,
    Hat,
    OpenHat,
    Crash,
}

fn drums(s: &Song) -> DemoTrack {
    let (mut l, mut r) = (s.buf(), s.buf());
    let mut rng = Rng(0x0D0D_0001);
    let rate = s.rate;
    let hit =
        |l: &mut Vec<f64>, r: &mut Vec<f64>, at: usize, what: Hit, vel: f64, rng: &mut Rng| {
            match what {
                Hit::Kick => {
                    let mut ph = 0.0;
                    let mut click_noise = Rng(rng.next_u64());
                    let (mut sweep, mut body, mut click) = (
                        Decay::new(0.035, rate),
                        Decay::new(0.26, rate),
                        Decay::new(0.0015, rate),
                    );
                    let mut mono = vec![0.0; s.len(0.45)];
                    for v in mono.iter_mut() {
                        let y = dm::sin_cycles(ph) * body.next();
                        ph += (45.0 + 110.0 * sweep.next()) / rate;
                        if ph >= 1.0 {
                            ph -= 1.0;
                        }
                        *v = vel * (y + 0.4 * click_noise.uni() * click.next());
                    }
                    add_pan(l, r, at, &mono, 1.0, 1.0);
                }
                Hit::Snare => {
                    let mut hp = Biquad::new(Kind::HighPass, 1200.0, 0.7, rate);
                    let (mut o1, mut o2) = (
                        Phasor::new(190.0, 0.0, rate),
                        Phasor::new(335.0, 0.25, rate),
                    );
                    let (mut tone_env, mut noise_env) =
                        (Decay::new(0.045, rate), Decay::new(0.10, rate));
                    let mut mono = vec![0.0; s.len(0.35)];
                    for v in mono.iter_mut() {
                        let tone = (0.6 * o1.next() + 0.3 * o2.next()) * tone_env.next();
                        let noise = hp.run(rng.uni()) * noise_env.next();
                        *v = vel * (0.7 * tone + 0.9 * noise);
                    }
                    add_pan(l, r, at, &mono, 0.9, 1.0);
                }
                Hit::Hat | Hit::OpenHat => {
                    let (len, tau) = if what == Hit::Hat {
                        (0.12, 0.022)
                    } else {
                        (0.6, 0.18)
                    };
                    let mut hp = Biquad::new(Kind::HighPass, 7500.0, 0.8, rate);
                    let mut lp = Biquad::new(Kind::LowPass, 14000.0, 0.7, rate);
                    let mut env = Decay::new(tau, rate);
                    let mut mono = vec![0.0; s.len(len)];
                    for v in mono.iter_mut() {
                        *v = vel * lp.run(hp.run(rng.uni())) * env.next();
                    }
                    add_pan(l, r, at, &mono, 0.55, 1.0);
                }
                Hit::Crash => {
                    // Crash: decorrelated noise on L and R for width.
                    for ch in [&mut *l, &mut *r] {
                        let mut hp = Biquad::new(Kind::HighPass, 4500.0, 0.7, rate);
                        let mut noise = Rng(rng.next_u64());
                        let mut env = Decay::new(0.9, rate);
                        s.add(ch, at, s.len(2.5), |_| {
                            vel * hp.run(noise.uni()) * env.next()
                        });
                    }
                }
            }
        };
    for bar in 0..BARS {
        let step = |k: usize| s.at(bar, k as f64 / 4.0);
        if INTRO.contains(&bar) {
            for k in (0..16).step_by(2) {
                hit(&mut l, &mut r, step(k), Hit::Hat, 0.35, &mut rng);
            }
        }
        if VERSE.contains(&bar) || CHORUS.contains(&bar) {
            let kicks: &[usize] = if bar % 2 == 0 {
                &[0, 8, 10]
            } else {
                &[0, 6, 8]
            };
            for &k in kicks {
                hit(&mut l, &mut r, step(k), Hit::Kick, 1.0, &mut rng);
            }
            for k in [4, 12] {
                hit(&mut l, &mut r, step(k), Hit::Snare, 0.8, &mut rng);
            }
            let chorus = CHORUS.contains(&bar);
            for k in 0..16 {
                if k == 14 && bar % 2 == 1 {
                    hit(&mut l, &mut r, step(k), Hit::OpenHat, 0.3, &mut rng);
                } else if k % 2 == 0 {
                    let vel = if k % 4 == 2 { 0.45 } else { 0.32 };
                    hit(&mut l, &mut r, step(k), Hit::Hat, vel, &mut rng);
                } else if chorus {
                    hit(&mut l, &mut r, step(k), Hit::Hat, 0.2, &mut rng);
                }
            }
        }
        if bar == 1 || bar == 9 {
            // Fill into the next section.
            for (i, k) in (12..16).enumerate() {
                hit(
                    &mut l,
                    &mut r,
                    step(k),
                    Hit::Snare,
                    0.45 + 0.12 * i as f64,
                    &mut rng,
                );
            }
        }
        if bar == VERSE.start || bar == CHORUS.start || bar == OUTRO {
            hit(&mut l, &mut r, step(0), Hit::Crash, 0.35, &mut rng);
        }
        if bar == OUTRO {
            hit(&mut l, &mut r, step(0), Hit::Kick, 1.0, &mut rng);
        }
    }
    track(
        "Drums",
        vec![to_f32(l, DRUMS_DB), to_f32(r, DRUMS_DB)],
        0.0,
        "",
    )
}

/// Adds a mono sound into a stereo pair with fixed channel gains.
fn add_pan(l: &mut [f64], r: &mut [f64], at: usize, mono: &[f64], gl: f64, gr: f64) {
    let end = (at + mono.len()).min(l.len());
    for (i, v) in (at.min(end)..end).zip(mono) {
        l[i] += gl * v;
        r[i] += gr * v;
    }
}

// ---------------------------------------------------------------- bass

fn bass(s: &Song) -> DemoTrack {
    let mut b = s.buf();
    let eighth = s.beat_s / 2.0;
    let note = |b: &mut Vec<f64>, at: usize, midi: i32, dur: f64| {
        let dt = dm::midi_hz(f64::from(midi)) / s.rate;
        let mut saw = Osc { phase: 0.0 };
        let mut sub = Phasor::new(dt * s.rate, 0.0, s.rate);
        let mut env = Adsr::new(s.rate, 0.004, 0.12, 0.75, 0.03);
        let held = s.len(dur);
        s.add(b, at, s.len(dur + 0.2), |i| {
            env.next(i < held) * (saw.saw(dt) + 0.6 * sub.next())
        });
    };
    for bar in VERSE.start..CHORUS.end {
        let root = ROOTS[PROGRESSION[bar]];
        for (k, off) in [0, 0, 12, 0, 0, 0, 7, 12].iter().enumerate() {
            note(&mut b, s.at(bar, k as f64 / 2.0), root + off, eighth * 0.85);
        }
    }
    note(&mut b, s.at(OUTRO, 0.0), ROOTS[0], 6.0 * s.beat_s);
    Biquad::new(Kind::LowPass, 900.0, 0.7, s.rate).run_buf(&mut b);
    // The fault: a broad +14 dB bump in the low mids.
    Biquad::new(Kind::Peak(14.0), 290.0, 0.8, s.rate).run_buf(&mut b);
    Biquad::new(Kind::HighPass, 30.0, 0.7, s.rate).run_buf(&mut b);
    track(
        "Bass",
        vec![to_f32(b, BASS_DB)],
        0.0,
        "muddy (heavy 200-400 Hz)",
    )
}

// ---------------------------------------------------------------- pad

fn pad(s: &Song) -> DemoTrack {
    let (mut l, mut r) = (s.buf(), s.buf());
    let mut rng = Rng(0x0BAD_0003);
    let bar_s = 4.0 * s.beat_s;
    let mut bar = 0;
    while bar < BARS {
        // The outro chord is held for its two bars.
        let bars_held = if bar == OUTRO { 2 } else { 1 };
        let dur = bars_held as f64 * bar_s;
        // One envelope per chord: 250 ms exponential swell, 250 ms release, rendered to −60 dB.
        let held = s.len(dur);
        let mut swell = Decay::new(0.25, s.rate);
        let release = decay_coef(0.25, s.rate);
        let mut rel = 1.0;
        let env: Vec<f64> = (0..s.len(dur + 1.75))
            .map(|i| {
                if i >= held {
                    rel *= release;
                }
                0.25 * (1.0 - swell.next()) * rel
            })
            .collect();
        let at = s.at(bar, 0.0);
        let voicing = VOICINGS[PROGRESSION[bar]];
        // One saw per note and side, detuned ±7 cents: width, and slow beating in mono.
        for (ch, cents) in [(&mut l, -7.0), (&mut r, 7.0)] {
            let detune = dm::exp(cents / 1200.0 * dm::LN2);
            let dts = voicing.map(|m| dm::midi_hz(f64::from(m)) * detune / s.rate);
            let mut oscs = voicing.map(|_| Osc { phase: rng.unit() });
            s.add(ch, at, env.len(), |i| {
                let y: f64 = oscs.iter_mut().zip(&dts).map(|(o, dt)| o.saw(*dt)).sum();
                env[i] * y
            });
        }
        bar += bars_held;
    }
    for ch in [&mut l, &mut r] {
        Biquad::new(Kind::HighPass, 180.0, 0.7, s.rate).run_buf(ch);
        Biquad::new(Kind::LowPass, 2400.0, 0.6, s.rate).run_buf(ch);
    }
    track(
        "Pad",
        vec![to_f32(l, PAD_DB), to_f32(r, PAD_DB)],
        0.0,
        "too hot (about +8 dB)",
    )
}

// ---------------------------------------------------------------- lead

fn lead(s: &Song) -> DemoTrack {
    let mut b = s.buf();
    let eighth = s.beat_s / 2.0;
    for bar in CHORUS {
        let tones = ARP[PROGRESSION[bar]];
        for (k, idx) in [0usize, 1, 2, 3, 2, 1, 2, 3].iter().enumerate() {
            let midi = tones[*idx] + if bar % 4 == 3 && k >= 4 { 12 } else { 0 };
            let f = dm::midi_hz(f64::from(midi));
            let (mut sq, mut sw) = (Osc { phase: 0.0 }, Osc { phase: 0.5 });
            let mut env = Adsr::new(s.rate, 0.005, 0.15, 0.6, 0.05);
            let held = s.len(eighth * 0.8);
            let mut dt = f / s.rate;
            s.add(
                &mut b,
                s.at(bar, k as f64 / 2.0),
                s.len(eighth * 0.8 + 0.3),
                |i| {
                    if i % 8 == 0 {
                        // Vibrato ±12 cents at 5.5 Hz, updated every 8 frames.
                        dt = f * (1.0 + 0.007 * dm::sin_cycles(5.5 * i as f64 / s.rate)) / s.rate;
                    }
                    env.next(i < held) * (0.6 * sq.square(dt) + 0.4 * sw.saw(dt))
                },
            );
        }
    }
    Biquad::new(Kind::LowPass, 3000.0, 0.8, s.rate).run_buf(&mut b);
    // Dotted-eighth echo with feedback.
    let delay = s.len(0.75 * s.beat_s);
    let mut wet = vec![0.0; b.len()];
    for i in delay..b.len() {
        wet[i] = b[i - delay] + 0.35 * wet[i - delay];
    }
    let out: Vec<f64> = b.iter().zip(&wet).map(|(d, w)| d + 0.3 * w).collect();
    track(
        "Lead",
        vec![to_f32(out, LEAD_DB)],
        -0.3,
        "buried (about -10 dB)",
    )
}

// ---------------------------------------------------------------- vocal

/// Vowel formants (alto): frequencies in Hz, levels in dB, bandwidths in Hz.
struct Vowel {
    freq_hz: [f64; 4],
    level_db: [f64; 4],
    bw_hz: [f64; 4],
}

const VOWELS: [Vowel; 5] = [
    // a
    Vowel {
        freq_hz: [800.0, 1150.0, 2800.0, 3500.0],
        level_db: [0.0, -4.0, -20.0, -36.0],
        bw_hz: [80.0, 90.0, 120.0, 130.0],
    },
    // e
    Vowel {
        freq_hz: [400.0, 1600.0, 2700.0, 3300.0],
        level_db: [0.0, -24.0, -30.0, -35.0],
        bw_hz: [60.0, 80.0, 120.0, 150.0],
    },
    // i
    Vowel {
        freq_hz: [350.0, 1700.0, 2700.0, 3700.0],
        level_db: [0.0, -20.0, -30.0, -36.0],
        bw_hz: [50.0, 100.0, 120.0, 150.0],
    },
    // o
    Vowel {
        freq_hz: [450.0, 800.0, 2830.0, 3500.0],
        level_db: [0.0, -9.0, -16.0, -28.0],
        bw_hz: [70.0, 80.0, 100.0, 130.0],
    },
    // u
    Vowel {
        freq_hz: [325.0, 700.0, 2530.0, 3500.0],
        level_db: [0.0, -12.0, -30.0, -40.0],
        bw_hz: [50.0, 60.0, 170.0, 180.0],
    },
];

/// A sung note: bar, start beat, length in beats, MIDI note, vowel (a e i o u = 0..4).
type SungNote = (usize, f64, f64, i32, usize);

/// The vocal line: verse (bars 2–9) and the first chorus half (bars 10–13, sung twice).
const VOCAL_LINE: [SungNote; 37] = [
    (2, 0.5, 0.5, 69, 0),
    (2, 1.0, 1.0, 72, 3),
    (2, 2.0, 0.5, 71, 1),
    (2, 2.5, 1.5, 69, 0),
    (3, 0.5, 0.5, 69, 2),
    (3, 1.0, 1.0, 72, 0),
    (3, 2.0, 1.0, 74, 3),
    (3, 3.0, 1.0, 72, 1),
    (4, 0.5, 0.5, 72, 0),
    (4, 1.0, 1.0, 76, 3),
    (4, 2.0, 1.0, 74, 0),
    (4, 3.0, 1.0, 72, 2),
    (5, 0.0, 2.0, 71, 3),
    (5, 2.0, 1.5, 67, 0),
    (6, 0.5, 0.5, 69, 0),
    (6, 1.0, 1.0, 72, 3),
    (6, 2.0, 0.5, 71, 1),
    (6, 2.5, 1.5, 69, 0),
    (7, 0.5, 0.5, 69, 2),
    (7, 1.0, 1.0, 72, 0),
    (7, 2.0, 1.0, 77, 3),
    (7, 3.0, 1.0, 76, 1),
    (8, 0.5, 0.5, 76, 0),
    (8, 1.0, 1.5, 74, 3),
    (8, 2.5, 1.5, 72, 0),
    (9, 0.0, 3.0, 71, 4),
    (10, 0.0, 1.5, 76, 0),
    (10, 1.5, 0.5, 74, 1),
    (10, 2.0, 2.0, 72, 3),
    (11, 0.0, 1.0, 72, 0),
    (11, 1.0, 1.0, 74, 2),
    (11, 2.0, 2.0, 77, 0),
    (12, 0.0, 1.5, 76, 3),
    (12, 1.5, 0.5, 74, 0),
    (12, 2.0, 2.0, 72, 1),
    (13, 0.0, 2.0, 71, 0),
    (13, 2.0, 2.0, 74, 3),
];

fn vocal(s: &Song) -> DemoTrack {
    let mut notes: Vec<SungNote> = VOCAL_LINE.to_vec();
    notes.extend(
        VOCAL_LINE
            .iter()
            .filter(|n| n.0 >= 10)
            .map(|&(b, st, len, m, v)| (b + 4, st, len, m, v)),
    );
    notes.push((OUTRO, 0.0, 6.0, 69, 0));
    // Frame spans: (start, end of the sung part, MIDI, vowel); a note that runs into the next one
    // is sung legato (no gap, glide only).
    let spans: Vec<(usize, usize, f64, usize)> = notes
        .iter()
        .enumerate()
        .map(|(k, &(bar, st, len, midi, vowel))| {
            let start = s.at(bar, st);
            let end = s.at(bar, st + len);
            let legato = notes.get(k + 1).is_some_and(|n| s.at(n.0, n.1) <= end);
            let sung = if legato {
                end
            } else {
                start + (end - start) * 92 / 100
            };
            (start, sung, f64::from(midi), vowel)
        })
        .collect();
    let mut b = s.buf();
    let mut rng = Rng(0x0C0C_0005);
    let mut osc = Osc { phase: 0.0 };
    let mut formants = [Biquad::default(); 4];
    let mut gains = [0.0; 4];
    let (attack, release) = (decay_coef(0.025, s.rate), decay_coef(0.06, s.rate));
    let glide = decay_coef(0.045, s.rate);
    const CONTROL_FRAMES: usize = 8;
    let mut level = 0.0;
    let mut pitch = spans[0].2;
    let mut dt = 0.0;
    let mut cur = 0usize;
    let mut prev_vowel = spans[0].3;
    for (i, out) in b.iter_mut().enumerate().skip(spans[0].0) {
        while cur + 1 < spans.len() && spans[cur + 1].0 <= i {
            prev_vowel = spans[cur].3;
            cur += 1;
        }
        let (start, sung, midi, vowel) = spans[cur];
        let gate = if i < sung { 1.0 } else { 0.0 };
        let coef = if gate > level { attack } else { release };
        level = gate + (level - gate) * coef;
        if gate == 0.0 && level < 1e-6 {
            continue;
        }
        pitch = midi + (pitch - midi) * glide;
        let t = (i - start) as f64 / s.rate;
        if (i - start) % CONTROL_FRAMES == 0 {
            // Vibrato fades in after 150 ms: ±35 cents at 5.5 Hz.
            let depth = ((t - 0.15) / 0.3).clamp(0.0, 1.0) * 0.35;
            dt = dm::midi_hz(pitch + depth * dm::sin_cycles(5.5 * t)) / s.rate;
            // Formants move from the previous vowel to this one over 60 ms.
            let k = (t / 0.06).min(1.0);
            let (a, z) = (&VOWELS[prev_vowel], &VOWELS[vowel]);
            for (j, f) in formants.iter_mut().enumerate() {
                let fr = a.freq_hz[j] + (z.freq_hz[j] - a.freq_hz[j]) * k;
                let bw = a.bw_hz[j] + (z.bw_hz[j] - a.bw_hz[j]) * k;
                f.set(Kind::BandPass, fr, fr / bw, s.rate);
                gains[j] = dm::db(a.level_db[j] + (z.level_db[j] - a.level_db[j]) * k);
            }
        }
        let src = osc.saw(dt) + 0.08 * rng.uni();
        let y: f64 = formants
            .iter_mut()
            .zip(&gains)
            .map(|(f, g)| g * f.run(src))
            .sum();
        *out = level * y;
    }
    track("Vocal", vec![to_f32(b, VOCAL_DB)], 0.0, "")
}

// ---------------------------------------------------------------- percussion

fn percussion(s: &Song) -> DemoTrack {
    let (mut l, mut r) = (s.buf(), s.buf());
    let mut rng = Rng(0x0FEE_0006);
    let attack = s.len(0.008) as f64;
    for bar in 1..CHORUS.end {
        let chorus = CHORUS.contains(&bar);
        for k in 0..16 {
            // Shaker, accented on the off-beat eighths.
            let vel = [0.55, 0.3, 1.0, 0.35][k % 4] * if chorus { 1.0 } else { 0.8 };
            let mut bp = Biquad::new(Kind::BandPass, 6000.0, 1.2, s.rate);
            let mut env = Decay::new(0.03, s.rate);
            let mut mono = vec![0.0; s.len(0.1)];
            for (i, v) in mono.iter_mut().enumerate() {
                *v = vel * (i as f64 / attack).min(1.0) * env.next() * bp.run(rng.uni());
            }
            add_pan(&mut l, &mut r, s.at(bar, k as f64 / 4.0), &mono, 1.0, 0.4);
        }
        if chorus {
            // Claps on 2 and 4: three quick bursts, then a short tail.
            for beat in [1.0, 3.0] {
                let mut bp = Biquad::new(Kind::BandPass, 1300.0, 1.0, s.rate);
                let onsets = [0.0, 0.009, 0.018, 0.027].map(|t| s.len(t));
                let mut envs = [0.004, 0.004, 0.004, 0.08].map(|tau| Decay::new(tau, s.rate));
                let mut mono = vec![0.0; s.len(0.3)];
                for (i, v) in mono.iter_mut().enumerate() {
                    let mut e = 0.0;
                    for (on, env) in onsets.iter().zip(envs.iter_mut()) {
                        if i >= *on {
                            e += env.next();
                        }
                    }
                    *v = e * bp.run(rng.uni());
                }
                add_pan(&mut l, &mut r, s.at(bar, beat), &mono, 0.5, 1.0);
            }
        }
    }
    track(
        "Percussion",
        vec![to_f32(l, PERC_DB), to_f32(r, PERC_DB)],
        0.0,
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::{dm, Adsr, Phasor};

    #[test]
    fn phasor_stays_on_the_sine_for_seconds() {
        let rate = 48_000.0;
        let mut p = Phasor::new(997.0, 0.125, rate);
        for n in 0..(5 * 48_000) {
            let want = (std::f64::consts::TAU * (997.0 * f64::from(n) / rate + 0.125)).sin();
            let got = p.next();
            assert!((got - want).abs() < 1e-9, "sample {n}: {got} vs {want}");
        }
    }

    #[test]
    fn adsr_reaches_peak_sustain_and_releases() {
        let rate = 1000.0;
        let mut e = Adsr::new(rate, 0.01, 0.05, 0.5, 0.02);
        let held: Vec<f64> = (0..500).map(|_| e.next(true)).collect();
        assert!(held[8] < 1.0 && held[10] == 1.0, "linear attack over 10 ms");
        assert!((held[499] - 0.5).abs() < 1e-3, "sustain {}", held[499]);
        // Release: one time constant (20 ms) later the level is 1/e of where it was.
        let released: Vec<f64> = (0..20).map(|_| e.next(false)).collect();
        assert!((released[19] / held[499] - (-1.0f64).exp()).abs() < 1e-6);
    }

    #[test]
    fn deterministic_math_matches_libm_closely() {
        for i in -2000..2000 {
            let x = f64::from(i) * 0.001_37;
            let s = (x * std::f64::consts::TAU).sin();
            assert!((dm::sin_cycles(x) - s).abs() < 1e-14, "sin at {x}");
            let c = (x * std::f64::consts::TAU).cos();
            assert!((dm::cos_cycles(x) - c).abs() < 1e-14, "cos at {x}");
            let e = (x * 10.0).exp();
            assert!(
                (dm::exp(x * 10.0) - e).abs() <= 1e-14 * e,
                "exp at {}",
                x * 10.0
            );
        }
        assert!((dm::midi_hz(69.0) - 440.0).abs() < 1e-9);
        assert!((dm::midi_hz(81.0) - 880.0).abs() < 1e-9);
        assert!((dm::db(-6.0) - 0.501_187_233_627_272_3).abs() < 1e-12);
    }
}
