//! Block-size invariance (bit-identical output for any split of the input, parameter ramps and bypass fades
//! included) and no allocation in `process` or the setters, for every processor.

mod dsp_common;

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use dsp_common::Noise;
use ttymix::dsp::compressor::Compressor;
use ttymix::dsp::delay::Delay;
use ttymix::dsp::eq::Eq4;
use ttymix::dsp::filter::{PassFilter, PassKind, Slope};
use ttymix::dsp::gate::Gate;
use ttymix::dsp::limiter::Limiter;
use ttymix::dsp::reverb::Reverb;
use ttymix::dsp::StereoProcessor;

#[global_allocator]
static ALLOC: AllocDisabler = AllocDisabler;

const N: usize = 30_000;
const FS: f32 = 48_000.0;

type Event<P> = (usize, fn(&mut P));

fn input() -> (Vec<f32>, Vec<f32>) {
    let mut nz = Noise(12_345);
    let mut l = Vec::with_capacity(N);
    let mut r = Vec::with_capacity(N);
    for i in 0..N {
        // quiet, loud and silent stretches so gates, compressors and limiters move
        let env = match (i / 2_500) % 4 {
            0 => 0.05,
            1 => 1.8,
            2 => 0.0,
            _ => 0.5,
        };
        let s = (i as f32 * 0.031).sin();
        l.push(env * (0.6 * s + 0.4 * nz.sample()));
        r.push(env * (0.6 * s - 0.4 * nz.sample()));
    }
    (l, r)
}

/// Processes `input` with blocks from `sizes`, applying each event exactly at its frame.
fn run<P: StereoProcessor>(
    make: fn() -> P,
    events: &[Event<P>],
    sizes: &mut dyn FnMut() -> usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut p = make();
    let (mut l, mut r) = input();
    let mut pos = 0;
    let mut ev = 0;
    while pos < N {
        while ev < events.len() && events[ev].0 == pos {
            let f = events[ev].1;
            assert_no_alloc(|| f(&mut p));
            ev += 1;
        }
        let next_event = events.get(ev).map_or(N, |ev| ev.0);
        let len = sizes().min(next_event - pos).max(1);
        let (bl, br) = (&mut l[pos..pos + len], &mut r[pos..pos + len]);
        assert_no_alloc(|| p.process(bl, br));
        pos += len;
    }
    // The allocator counts (rather than aborts on) allocations inside the guards: none allowed.
    assert_eq!(violation_count(), 0, "allocation in process or a setter");
    (l, r)
}

fn check<P: StereoProcessor>(name: &str, make: fn() -> P, events: &[Event<P>]) {
    let whole = run(make, events, &mut || usize::MAX);
    let mut k = 0usize;
    let mut nz = Noise(777);
    let splits: [&mut dyn FnMut() -> usize; 3] = [&mut || 1, &mut || 37, &mut || {
        k += 1;
        match k % 3 {
            0 => 1,
            1 => 37,
            _ => 1 + ((nz.sample() + 1.0) * 300.0) as usize,
        }
    }];
    for (i, sizes) in splits.into_iter().enumerate() {
        let got = run(make, events, sizes);
        for ch in 0..2 {
            let (a, b) = if ch == 0 {
                (&whole.0, &got.0)
            } else {
                (&whole.1, &got.1)
            };
            if let Some(f) = a
                .iter()
                .zip(b.iter())
                .position(|(x, y)| x.to_bits() != y.to_bits())
            {
                panic!("{name}: split pattern {i}, channel {ch}: first difference at frame {f}: {} vs {}", a[f], b[f]);
            }
        }
    }
    // The run must actually have changed the signal (the processor was active).
    let (l0, _) = input();
    assert!(
        whole.0.iter().zip(&l0).any(|(a, b)| a != b),
        "{name} did nothing"
    );
}

#[test]
fn eq_is_block_size_invariant() {
    check(
        "eq",
        || {
            let mut e = Eq4::new(FS);
            e.set_band_enabled(1, true);
            e.set_band_gain_db(1, -6.0);
            e.set_enabled(true);
            e
        },
        &[
            (1_000, |e: &mut Eq4| e.set_band_gain_db(1, 9.0)),
            (1_200, |e: &mut Eq4| {
                e.set_band_enabled(2, true);
                e.set_band_gain_db(2, 5.0)
            }),
            (2_000, |e: &mut Eq4| e.set_band_freq_hz(2, 3_000.0)),
            (2_100, |e: &mut Eq4| e.set_band_q(2, 4.0)),
            (5_000, |e: &mut Eq4| e.set_band_enabled(1, false)),
            (7_000, |e: &mut Eq4| e.set_enabled(false)),
            (9_000, |e: &mut Eq4| e.set_band_freq_hz(2, 800.0)),
            (10_000, |e: &mut Eq4| e.set_enabled(true)),
            (12_000, |e: &mut Eq4| {
                e.set_band_enabled(3, true);
                e.set_band_gain_db(3, -9.0);
                e.set_band_enabled(0, true);
                e.set_band_gain_db(0, 4.0)
            }),
        ],
    );
}

#[test]
fn pass_filters_are_block_size_invariant() {
    check(
        "hp",
        || {
            let mut p = PassFilter::new(FS, PassKind::HighPass);
            p.set_freq_hz(120.0);
            p.set_enabled(true);
            p
        },
        &[
            (1_000, |p: &mut PassFilter| p.set_freq_hz(900.0)),
            (3_000, |p: &mut PassFilter| p.set_slope(Slope::Db24)),
            (6_000, |p: &mut PassFilter| p.set_enabled(false)),
            (8_000, |p: &mut PassFilter| p.set_enabled(true)),
            (8_100, |p: &mut PassFilter| p.set_freq_hz(40.0)),
        ],
    );
    check(
        "lp",
        || {
            let mut p = PassFilter::new(FS, PassKind::LowPass);
            p.set_freq_hz(3_000.0);
            p.set_slope(Slope::Db24);
            p.set_enabled(true);
            p
        },
        &[
            (1_000, |p: &mut PassFilter| p.set_freq_hz(300.0)),
            (3_000, |p: &mut PassFilter| p.set_slope(Slope::Db12)),
        ],
    );
}

#[test]
fn gate_is_block_size_invariant() {
    check(
        "gate",
        || {
            let mut g = Gate::new(FS);
            g.set_threshold_db(-20.0);
            g.set_range_db(-40.0);
            g.set_hold_ms(5.0);
            g.set_enabled(true);
            g
        },
        &[
            (4_000, |g: &mut Gate| g.set_threshold_db(-10.0)),
            (9_000, |g: &mut Gate| g.set_ratio(2.0)),
            (15_000, |g: &mut Gate| g.set_enabled(false)),
            (18_000, |g: &mut Gate| g.set_enabled(true)),
        ],
    );
}

#[test]
fn compressor_is_block_size_invariant() {
    check(
        "compressor",
        || {
            let mut c = Compressor::new(FS);
            c.set_threshold_db(-20.0);
            c.set_attack_ms(2.0);
            c.set_enabled(true);
            c
        },
        &[
            (3_000, |c: &mut Compressor| c.set_threshold_db(-30.0)),
            (3_500, |c: &mut Compressor| c.set_ratio(8.0)),
            (6_000, |c: &mut Compressor| c.set_knee_db(0.0)),
            (7_000, |c: &mut Compressor| c.set_makeup_db(6.0)),
            (8_000, |c: &mut Compressor| c.set_sidechain_hpf(true)),
            (12_000, |c: &mut Compressor| c.set_enabled(false)),
            (16_000, |c: &mut Compressor| c.set_enabled(true)),
        ],
    );
}

#[test]
fn limiter_is_block_size_invariant() {
    check(
        "limiter",
        || {
            let mut l = Limiter::new(FS);
            l.set_ceiling_db(-3.0);
            l.set_enabled(true);
            l
        },
        &[
            (3_000, |l: &mut Limiter| l.set_ceiling_db(-6.0)),
            (6_000, |l: &mut Limiter| l.set_release_ms(5.0)),
            (11_000, |l: &mut Limiter| l.set_enabled(false)),
            (14_000, |l: &mut Limiter| l.set_enabled(true)),
        ],
    );
}

#[test]
fn reverb_is_block_size_invariant() {
    check(
        "reverb",
        || {
            let mut r = Reverb::new(FS);
            r.set_decay_s(1.0);
            r.set_enabled(true);
            r
        },
        &[
            (2_000, |r: &mut Reverb| r.set_size(1.7)),
            (3_000, |r: &mut Reverb| r.set_decay_s(2.5)),
            (4_000, |r: &mut Reverb| r.set_pre_delay_ms(40.0)),
            (5_000, |r: &mut Reverb| r.set_damping(0.9)),
            (6_000, |r: &mut Reverb| r.set_width(0.3)),
            (20_000, |r: &mut Reverb| r.set_enabled(false)),
            (25_000, |r: &mut Reverb| r.set_enabled(true)),
        ],
    );
}

#[test]
fn delay_is_block_size_invariant() {
    check(
        "delay",
        || {
            let mut d = Delay::new(FS);
            d.set_time_ms(30.0);
            d.set_feedback(0.7);
            d.set_enabled(true);
            d
        },
        &[
            (2_000, |d: &mut Delay| d.set_time_ms(47.3)),
            (4_000, |d: &mut Delay| d.set_ping_pong(true)),
            (5_000, |d: &mut Delay| d.set_high_cut_hz(2_000.0)),
            (5_500, |d: &mut Delay| d.set_low_cut_hz(400.0)),
            (7_000, |d: &mut Delay| d.set_feedback(0.3)),
            (20_000, |d: &mut Delay| d.set_enabled(false)),
            (25_000, |d: &mut Delay| d.set_enabled(true)),
        ],
    );
}

#[test]
fn first_set_applies_immediately_later_sets_ramp() {
    // Below threshold the compressor's gain is exactly the makeup, so the output/input ratio shows the ramp.
    let mut c = Compressor::new(FS);
    c.set_threshold_db(0.0);
    c.set_makeup_db(6.0);
    c.set_enabled(true);
    let x = vec![0.01f32; 2_000];
    let (mut l, mut r) = (x.clone(), x.clone());
    c.process(&mut l, &mut r);
    let g0 = 20.0 * (l[0] / 0.01).log10();
    assert!(
        (g0 - 6.0).abs() < 1e-3,
        "first frame {g0} dB: settings before processing must apply at once"
    );
    c.set_makeup_db(12.0);
    let (mut l, mut r) = (x.clone(), x.clone());
    c.process(&mut l, &mut r);
    let db = |v: f32| 20.0 * (v / 0.01).log10();
    assert!(
        db(l[0]) < 6.1,
        "a later change must ramp, got {} dB at once",
        db(l[0])
    );
    let half = (0.0075 * FS) as usize; // half of the 15 ms ramp: 9 dB (linear in dB)
    assert!((db(l[half]) - 9.0).abs() < 0.05, "{}", db(l[half]));
    assert!((db(l[1_999]) - 12.0).abs() < 1e-3);
    // Same for enabling: an enable after processing has started fades in over 10 ms.
    let mut e = Eq4::new(FS);
    e.set_band_enabled(1, true);
    e.set_band_freq_hz(1, 1_000.0);
    e.set_band_gain_db(1, 12.0);
    let s: Vec<f32> = (0..4_800)
        .map(|i| (i as f32 * 0.1309).sin() * 0.5)
        .collect(); // 1 kHz
    let (mut l, mut r) = (s.clone(), s.clone());
    e.process(&mut l[..100], &mut r[..100]);
    assert_eq!(&l[..100], &s[..100], "disabled EQ passes audio untouched");
    e.set_enabled(true);
    e.process(&mut l[100..], &mut r[100..]);
    assert!(
        (l[101] - s[101]).abs() < 0.05,
        "enable must fade in, not jump"
    );
    let peak = l[4_000..].iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(
        (20.0 * (peak / 0.5).log10() - 12.0).abs() < 0.1,
        "fully on after the fade"
    );
}
