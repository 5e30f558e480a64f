//! Compressor, gate and limiter measured through the processors.

mod dsp_common;

use dsp_common::*;
use ttymix::dsp::compressor::Compressor;
use ttymix::dsp::gate::Gate;
use ttymix::dsp::limiter::Limiter;
use ttymix::dsp::StereoProcessor;

const FS: f64 = 48_000.0;

/// Square wave (±amp, period 96 frames): |x| is constant, so the detector sees a steady level with no DC.
fn square(n: usize, amp: f32) -> Vec<f32> {
    (0..n)
        .map(|i| if (i / 48) % 2 == 0 { amp } else { -amp })
        .collect()
}

fn db(x: f64) -> f64 {
    20.0 * x.abs().log10()
}

/// Giannoulis soft-knee gain computer, written out here independently of the crate: returns yg.
fn giannoulis_yg(xg: f64, t: f64, r: f64, w: f64) -> f64 {
    if 2.0 * (xg - t) < -w {
        xg
    } else if 2.0 * (xg - t).abs() <= w {
        xg + (1.0 / r - 1.0) * (xg - t + w / 2.0).powi(2) / (2.0 * w)
    } else {
        t + (xg - t) / r
    }
}

#[test]
fn compressor_static_curve_matches_giannoulis() {
    let (t, r, w, makeup) = (-20.0, 4.0, 10.0, 3.0);
    let mut worst = 0.0f64;
    let mut level = -40.0;
    while level <= 0.0 {
        let mut c = Compressor::new(FS as f32);
        c.set_threshold_db(t as f32);
        c.set_ratio(r as f32);
        c.set_knee_db(w as f32);
        c.set_makeup_db(makeup as f32);
        c.set_attack_ms(1.0);
        c.set_release_ms(20.0);
        c.set_enabled(true);
        let amp = 10f64.powf(level / 20.0) as f32;
        let x = square(24_000, amp);
        let (mut l, mut rr) = (x.clone(), x.clone());
        c.process(&mut l, &mut rr);
        let out_db = db(l[23_999] as f64);
        let want = giannoulis_yg(level, t, r, w) + makeup;
        worst = worst.max((out_db - want).abs());
        assert!(
            (out_db - want).abs() < 0.2,
            "in {level} dB: out {out_db:.3} dB, formula {want:.3} dB"
        );
        assert!(
            (c.gain_reduction_db() as f64 - (level - giannoulis_yg(level, t, r, w))).abs() < 0.2
        );
        level += 1.0;
    }
    eprintln!("static curve worst error {worst:.2e} dB");
}

/// Gain reduction in dB per frame for a level step.
fn gr_trace(
    c: &mut Compressor,
    from_db: f64,
    to_db: f64,
    n_before: usize,
    n_after: usize,
) -> Vec<f64> {
    let a0 = 10f64.powf(from_db / 20.0) as f32;
    let a1 = 10f64.powf(to_db / 20.0) as f32;
    let mut x = square(n_before, a0);
    x.extend(square(n_after, a1));
    let (mut l, mut r) = (x.clone(), x.clone());
    c.process(&mut l, &mut r);
    l.iter()
        .zip(&x)
        .skip(n_before)
        .map(|(y, x)| -db((*y / *x) as f64))
        .collect()
}

#[test]
fn compressor_attack_and_release_time_constants() {
    let (attack_ms, release_ms) = (20.0f32, 150.0f32);
    let mut c = Compressor::new(FS as f32);
    c.set_threshold_db(-20.0);
    c.set_ratio(4.0);
    c.set_knee_db(0.0);
    c.set_attack_ms(attack_ms);
    c.set_release_ms(release_ms);
    c.set_enabled(true);
    let full = 7.5; // (−10 − (−20))·(1 − 1/4)
    let up = gr_trace(&mut c, -40.0, -10.0, 4_800, 48_000);
    assert!((up.last().unwrap() - full).abs() < 1e-3);
    let k = up
        .iter()
        .position(|&g| g >= full * (1.0 - (-1f64).exp()))
        .unwrap();
    let tau = (k + 1) as f64 / FS * 1e3;
    assert!(
        (tau / attack_ms as f64 - 1.0).abs() < 0.1,
        "attack τ measured {tau:.2} ms"
    );
    let down = gr_trace(&mut c, -10.0, -40.0, 0, 96_000);
    let k = down
        .iter()
        .position(|&g| g <= full * (-1f64).exp())
        .unwrap();
    let tau_r = (k + 1) as f64 / FS * 1e3;
    assert!(
        (tau_r / release_ms as f64 - 1.0).abs() < 0.1,
        "release τ measured {tau_r:.2} ms"
    );
    eprintln!("attack τ {tau:.2} ms (set {attack_ms}), release τ {tau_r:.2} ms (set {release_ms})");
}

#[test]
fn compressor_sidechain_hpf_ignores_lows() {
    let mut c = Compressor::new(FS as f32);
    c.set_threshold_db(-20.0);
    c.set_ratio(10.0);
    c.set_sidechain_hpf_hz(500.0);
    c.set_sidechain_hpf(true);
    c.set_enabled(true);
    let x = sine(48_000, 40.0, FS, 0.3); // −10.5 dBFS at 40 Hz: −32 dB in the side chain, under threshold
    let (mut l, mut r) = (x.clone(), x.clone());
    c.process(&mut l, &mut r);
    assert!(c.gain_reduction_db() < 0.5, "{}", c.gain_reduction_db());
    c.set_sidechain_hpf(false);
    let (mut l, mut r) = (x.clone(), x.clone());
    c.process(&mut l, &mut r);
    assert!(c.gain_reduction_db() > 5.0, "{}", c.gain_reduction_db());
}

#[test]
fn gate_closed_level_equals_range() {
    for range in [-20.0f32, -40.0, -80.0] {
        let mut g = Gate::new(FS as f32);
        g.set_threshold_db(-40.0);
        g.set_range_db(range);
        g.set_release_ms(5.0);
        g.set_enabled(true);
        let x = square(48_000, 10f32.powf(-60.0 / 20.0));
        let (mut l, mut r) = (x.clone(), x.clone());
        g.process(&mut l, &mut r);
        let got = db((l[47_999] / x[47_999]) as f64);
        assert!(
            (got - range as f64).abs() < 0.01,
            "range {range}: closed at {got:.4} dB"
        );
        assert!((g.gain_reduction_db() + range).abs() < 0.01);
    }
}

#[test]
fn gate_hold_time_is_respected() {
    let hold_ms = 50.0;
    let mut g = Gate::new(FS as f32);
    g.set_threshold_db(-30.0);
    g.set_range_db(-60.0);
    g.set_attack_ms(0.1);
    g.set_hold_ms(hold_ms);
    g.set_release_ms(10.0);
    g.set_enabled(true);
    let loud = 9_600;
    let mut x = square(loud, 0.1);
    x.extend(square(24_000, 0.001));
    let (mut l, mut r) = (x.clone(), x.clone());
    g.process(&mut l, &mut r);
    let gain: Vec<f64> = l.iter().zip(&x).map(|(y, x)| (*y / *x) as f64).collect();
    let last_above = loud - 1;
    let hold = (hold_ms as f64 * 1e-3 * FS) as usize;
    assert!(
        gain[..=last_above + hold]
            .iter()
            .skip(100)
            .all(|&v| v == 1.0),
        "gate closed during hold"
    );
    let after = last_above + hold + 48; // 1 ms into the release
    assert!(
        db(gain[after]) < -2.0,
        "gate did not start closing: {:.3} dB",
        db(gain[after])
    );
    assert!(gain[last_above + hold + 1] < 1.0);
}

#[test]
fn expander_ratio_below_threshold() {
    let mut g = Gate::new(FS as f32);
    g.set_threshold_db(-30.0);
    g.set_ratio(2.0);
    g.set_range_db(-60.0);
    g.set_hold_ms(5.0);
    g.set_enabled(true);
    let x = square(48_000, 10f32.powf(-40.0 / 20.0)); // 10 dB under: 1:2 expansion → −10 dB gain
    let (mut l, mut r) = (x.clone(), x.clone());
    g.process(&mut l, &mut r);
    let got = db((l[47_999] / x[47_999]) as f64);
    assert!((got + 10.0).abs() < 0.05, "{got:.3}");
}

// ---- limiter ----

fn true_peak_db(l: &[f32], r: &[f32]) -> f64 {
    let mut m = ebur128::EbuR128::new(2, FS as u32, ebur128::Mode::TRUE_PEAK).unwrap();
    let inter: Vec<f32> = l.iter().zip(r).flat_map(|(a, b)| [*a, *b]).collect();
    for chunk in inter.chunks(960) {
        m.add_frames_f32(chunk).unwrap();
    }
    let tp = m.true_peak(0).unwrap().max(m.true_peak(1).unwrap());
    20.0 * tp.log10()
}

fn limiter_signals() -> Vec<(&'static str, Vec<f32>, Vec<f32>)> {
    let n = 96_000;
    let mut v = Vec::new();
    // fs/4 sine, 45° phase, +6 dBFS: samples at ±1.41, true peak 2.0
    let s: Vec<f32> = (0..n)
        .map(|i| {
            (2.0 * (std::f64::consts::FRAC_PI_2 * i as f64 + std::f64::consts::FRAC_PI_4).sin())
                as f32
        })
        .collect();
    v.push(("fs/4 sine 45° +6 dBFS", s.clone(), s));
    for (f, amp) in [(1_000.0f64, 2.0f32), (3_100.0, 1.5), (7_919.0, 4.0)] {
        let period = FS / f;
        let sq: Vec<f32> = (0..n)
            .map(|i| {
                if (i as f64 / period).fract() < 0.5 {
                    amp
                } else {
                    -amp
                }
            })
            .collect();
        let sq2: Vec<f32> = sq.iter().map(|x| -x).collect();
        v.push(("square", sq, sq2));
    }
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let nl: Vec<f32> = (0..n).map(|_| 4.0 * noise.sample()).collect();
    let nr: Vec<f32> = (0..n).map(|_| 4.0 * noise.sample()).collect();
    v.push(("noise +12 dB", nl, nr));
    // bursts of near-Nyquist sines with silence in between (attack from unity gain)
    let b: Vec<f32> = (0..n)
        .map(|i| {
            if (i / 4_000) % 2 == 0 {
                (3.0 * (2.0 * std::f64::consts::PI * 19_000.0 * i as f64 / FS + 0.3).sin()) as f32
            } else {
                0.0
            }
        })
        .collect();
    v.push(("19 kHz bursts", b.clone(), b));
    v
}

#[test]
fn limiter_never_exceeds_true_peak_ceiling() {
    for ceiling in [-1.0f32, -0.1] {
        for (name, l0, r0) in limiter_signals() {
            let input_tp = true_peak_db(&l0, &r0);
            let mut lim = Limiter::new(FS as f32);
            lim.set_ceiling_db(ceiling);
            lim.set_enabled(true);
            let (mut l, mut r) = (l0.clone(), r0.clone());
            lim.process(&mut l, &mut r);
            let tp = true_peak_db(&l, &r);
            eprintln!("{name}: ceiling {ceiling} dBTP, input {input_tp:.2} dBTP, output {tp:.3} dBTP, GR {:.1} dB", lim.gain_reduction_db());
            assert!(
                tp <= ceiling as f64,
                "{name}: output {tp:.4} dBTP over ceiling {ceiling}"
            );
            assert!(
                tp > ceiling as f64 - 1.0,
                "{name}: output {tp:.4} dBTP: limiting far too much"
            );
        }
    }
}

#[test]
fn limiter_holds_ceiling_on_gated_noise_with_fast_release() {
    // Noise bursts (±16 and ±64, i.e. +24 and +36 dBFS peaks, white and low-passed) with 1 ms and 20 ms
    // release: the fastest gain movement the limiter allows.
    for seed in 1..7u64 {
        for (amp, lp, release_ms) in [
            (16.0f32, 0.0f32, 1.0f32),
            (64.0, 0.9, 1.0),
            (16.0, 0.5, 20.0),
        ] {
            let mut nz = Noise(seed * 7_919 + 1);
            let (mut a, mut b) = (0f32, 0f32);
            let (mut l, mut r) = (Vec::new(), Vec::new());
            for i in 0..48_000 {
                let burst = if (i / 3_000 + seed as usize).is_multiple_of(3) {
                    0.05
                } else {
                    1.0
                };
                a = lp * a + (1.0 - lp) * nz.sample();
                b = lp * b + (1.0 - lp) * nz.sample();
                l.push(a * amp * burst);
                r.push(b * amp * burst);
            }
            let mut lim = Limiter::new(FS as f32);
            lim.set_ceiling_db(-0.1);
            lim.set_release_ms(release_ms);
            lim.set_enabled(true);
            lim.process(&mut l, &mut r);
            let tp = true_peak_db(&l, &r);
            assert!(tp <= -0.1, "seed {seed} amp {amp} lp {lp}: {tp:.4} dBTP");
        }
    }
}

#[test]
fn limiter_is_transparent_below_ceiling_and_reports_latency() {
    let mut lim = Limiter::new(FS as f32);
    lim.set_ceiling_db(-1.0);
    lim.set_enabled(true);
    let lat = lim.latency_frames();
    assert!(lat > 0 && lat < 200, "{lat}");
    let x = sine(9_600, 997.0, FS, 0.5);
    let (mut l, mut r) = (x.clone(), x.clone());
    lim.process(&mut l, &mut r);
    assert!(l[..lat].iter().all(|&v| v == 0.0));
    assert_eq!(&l[lat..], &x[..x.len() - lat]);
    assert_eq!(lim.gain_reduction_db(), 0.0);
}
