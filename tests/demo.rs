//! The built-in demo multitrack: determinism, shape, headroom and the deliberate mix faults.
//!
//! Loudness is measured with `ttymix::loudness` (itself checked against EBU Tech 3341/3342 and
//! ffmpeg); band energy with an independent 4th-order Butterworth band filter written here.

use std::sync::OnceLock;
use ttymix::demo::{build, Demo, DemoTrack};
use ttymix::loudness::{measure_planar, Channel};

const RATE: u32 = 48_000;

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| build(RATE))
}

/// FNV-1a over every sample's bits, track by track, channel by channel.
fn hash(d: &Demo) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for t in &d.tracks {
        for ch in &t.channels {
            for s in ch {
                for b in s.to_bits().to_le_bytes() {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
    }
    h
}

/// The track as it reaches a stereo bus at unity: mono through the constant-power pan law
/// (θ = (p+1)π/4, L = cos θ, R = sin θ), stereo unchanged.
fn to_stereo(t: &DemoTrack) -> [Vec<f32>; 2] {
    match t.channels.len() {
        2 => [t.channels[0].clone(), t.channels[1].clone()],
        1 => {
            let th = (f64::from(t.pan) + 1.0) * std::f64::consts::FRAC_PI_4;
            let (gl, gr) = (th.cos(), th.sin());
            let m = &t.channels[0];
            [
                m.iter().map(|&x| (f64::from(x) * gl) as f32).collect(),
                m.iter().map(|&x| (f64::from(x) * gr) as f32).collect(),
            ]
        }
        n => panic!("{}: {n} channels", t.name),
    }
}

fn loudness(ch: &[Vec<f32>; 2]) -> f64 {
    measure_planar(&[&ch[0], &ch[1]], &[Channel::Left, Channel::Right], RATE)
        .unwrap()
        .integrated_lufs
        .expect("track has measurable loudness")
}

/// Share of the signal's energy between `lo_hz` and `hi_hz` (4th-order Butterworth high-pass and
/// low-pass, RBJ biquads in f64).
fn band_share(x: &[f32], lo_hz: f64, hi_hz: f64) -> f64 {
    fn biquad(x: &mut [f64], b: [f64; 3], a: [f64; 2]) {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for v in x.iter_mut() {
            let y = b[0] * *v + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2;
            (x2, x1, y2, y1) = (x1, *v, y1, y);
            *v = y;
        }
    }
    let coefs = |f: f64, q: f64, high: bool| {
        let w = 2.0 * std::f64::consts::PI * f / f64::from(RATE);
        let (c, al) = (w.cos(), w.sin() / (2.0 * q));
        let a0 = 1.0 + al;
        let k = if high {
            (1.0 + c) / 2.0
        } else {
            (1.0 - c) / 2.0
        };
        let mid = if high { -(1.0 + c) } else { 1.0 - c };
        ([k / a0, mid / a0, k / a0], [-2.0 * c / a0, (1.0 - al) / a0])
    };
    let total: f64 = x.iter().map(|&v| f64::from(v).powi(2)).sum();
    let mut y: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    for q in [0.541_196, 1.306_563] {
        let (b, a) = coefs(lo_hz, q, true);
        biquad(&mut y, b, a);
        let (b, a) = coefs(hi_hz, q, false);
        biquad(&mut y, b, a);
    }
    y.iter().map(|v| v * v).sum::<f64>() / total
}

fn track<'a>(d: &'a Demo, name: &str) -> &'a DemoTrack {
    d.tracks.iter().find(|t| t.name == name).unwrap()
}

#[test]
fn builds_are_identical_on_any_thread_count() {
    let a = demo();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = pool.install(|| build(RATE));
    assert_eq!(hash(a), hash(&b));
    assert!(*a == b, "two builds differ");
}

/// Pins the samples: the same value on every machine (the demo avoids libm on purpose).
/// Update the constant only when the demo is changed deliberately.
#[test]
fn samples_match_the_pinned_hash() {
    let h = hash(demo());
    assert_eq!(h, 0x1c18_2c95_5721_74b9, "demo samples changed: {h:#018x}");
}

#[test]
fn shape_duration_and_tracks() {
    let d = demo();
    assert_eq!(d.sample_rate, RATE);
    assert!((100.0..=120.0).contains(&d.tempo_bpm));
    let secs = d.duration_s();
    assert!((30.0..=60.0).contains(&secs), "{secs} s");
    assert!(d.tracks.len() >= 6);
    let names: Vec<&str> = d.tracks.iter().map(|t| t.name.as_str()).collect();
    for want in ["Drums", "Bass", "Pad", "Lead", "Vocal", "Percussion"] {
        assert!(names.contains(&want), "no {want} in {names:?}");
    }
    for t in &d.tracks {
        assert!(matches!(t.channels.len(), 1 | 2), "{}", t.name);
        assert!((-1.0..=1.0).contains(&t.pan), "{}", t.name);
        if t.channels.len() == 2 {
            assert_eq!(t.pan, 0.0, "{}: stereo tracks pass unchanged", t.name);
        }
        for ch in &t.channels {
            assert_eq!(ch.len(), d.frames(), "{}", t.name);
            assert!(ch.iter().all(|x| x.is_finite()), "{}", t.name);
            // Faded to silence at the end.
            assert_eq!(*ch.last().unwrap(), 0.0, "{}", t.name);
        }
    }
    for stereo in ["Drums", "Pad", "Percussion"] {
        let t = track(d, stereo);
        assert_eq!(t.channels.len(), 2, "{stereo}");
        assert_ne!(t.channels[0], t.channels[1], "{stereo} is really stereo");
    }
}

#[test]
fn master_at_unity_does_not_clip_and_has_sensible_loudness() {
    let d = demo();
    let n = d.frames();
    let mut bus = [vec![0.0f32; n], vec![0.0f32; n]];
    for t in &d.tracks {
        let st = to_stereo(t);
        for c in 0..2 {
            for (b, x) in bus[c].iter_mut().zip(&st[c]) {
                *b += x;
            }
        }
    }
    let peak = bus.iter().flatten().fold(0.0f32, |m, x| m.max(x.abs()));
    let peak_db = 20.0 * f64::from(peak).log10();
    let rep = measure_planar(&[&bus[0], &bus[1]], &[Channel::Left, Channel::Right], RATE).unwrap();
    let lufs = rep.integrated_lufs.unwrap();
    println!(
        "master: sample peak {peak_db:.2} dBFS, true peak {:?} dBTP, {lufs:.2} LUFS",
        rep.true_peak_dbtp
    );
    assert!(peak_db <= -1.0, "master peaks at {peak_db:.2} dBFS");
    assert!((-20.0..=-12.0).contains(&lufs), "master at {lufs:.2} LUFS");
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[test]
fn hot_and_buried_tracks_are_measurably_off() {
    let d = demo();
    let lufs: Vec<(String, f64)> = d
        .tracks
        .iter()
        .map(|t| (t.name.clone(), loudness(&to_stereo(t))))
        .collect();
    println!("{lufs:?}");
    let med = median(&mut lufs.iter().map(|x| x.1).collect::<Vec<_>>());
    let get = |name: &str| lufs.iter().find(|x| x.0 == name).unwrap().1;
    assert!(
        get("Pad") - med >= 6.0,
        "pad {:.2} vs median {med:.2}",
        get("Pad")
    );
    assert!(
        med - get("Lead") >= 8.0,
        "lead {:.2} vs median {med:.2}",
        get("Lead")
    );
    // Nothing else is far off.
    for (name, l) in &lufs {
        if name != "Pad" && name != "Lead" {
            assert!((l - med).abs() <= 4.0, "{name} {l:.2} vs median {med:.2}");
        }
    }
    assert!(track(d, "Pad").note.contains("hot"));
    assert!(track(d, "Lead").note.contains("buried"));
}

#[test]
fn muddy_bass_has_most_energy_in_200_to_400_hz() {
    let d = demo();
    let shares: Vec<(&str, f64)> = d
        .tracks
        .iter()
        .map(|t| {
            let st = to_stereo(t);
            let mono: Vec<f32> = st[0].iter().zip(&st[1]).map(|(l, r)| l + r).collect();
            (t.name.as_str(), band_share(&mono, 200.0, 400.0))
        })
        .collect();
    println!("{shares:?}");
    let bass = shares.iter().find(|s| s.0 == "Bass").unwrap().1;
    assert!(bass >= 0.45, "bass 200-400 Hz share {bass:.3}");
    for (name, s) in &shares {
        if *name != "Bass" {
            assert!(bass >= 2.0 * s, "bass {bass:.3} vs {name} {s:.3}");
        }
    }
    assert!(track(d, "Bass").note.contains("muddy"));
}

#[test]
fn vocal_vowels_have_distinct_formants() {
    // Bar 9 sings a long "u" (B4), bar 10 starts with "a" (E5). An "a" has F1 ≈ 800 Hz and
    // F2 ≈ 1150 Hz, an "u" F1 ≈ 325 Hz and F2 ≈ 700 Hz: the 700–1300 Hz band tells them apart.
    let d = demo();
    let bar_s = 4.0 * 60.0 / d.tempo_bpm;
    let v = &track(d, "Vocal").channels[0];
    let span = |from_s: f64, len_s: f64| {
        let a = (from_s * f64::from(RATE)) as usize;
        &v[a..a + (len_s * f64::from(RATE)) as usize]
    };
    let u = band_share(span(9.0 * bar_s + 0.3, 0.9), 700.0, 1300.0);
    let a = band_share(span(10.0 * bar_s + 0.15, 0.5), 700.0, 1300.0);
    println!("700-1300 Hz share: u {u:.3}, a {a:.3}");
    assert!(a >= 2.0 * u && a >= 0.25, "a {a:.3}, u {u:.3}");
}

#[test]
fn other_rates_keep_the_song_length() {
    let d = build(44_100);
    assert_eq!(d.sample_rate, 44_100);
    assert!((d.duration_s() - demo().duration_s()).abs() < 1e-3);
    assert_eq!(d.tracks.len(), demo().tracks.len());
}
