//! Reverb and delay measured through the processors.

mod dsp_common;

use dsp_common::*;
use ttymix::dsp::delay::{note_to_ms, Delay};
use ttymix::dsp::reverb::Reverb;
use ttymix::dsp::StereoProcessor;

fn impulse_response(rv: &mut Reverb, n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut l = vec![0f32; n];
    let mut r = vec![0f32; n];
    l[0] = 1.0;
    r[0] = 1.0;
    rv.process(&mut l, &mut r);
    (l, r)
}

/// RT60 by Schroeder backward integration, T20 (−5 … −25 dB) by least squares, extrapolated ×3.
fn rt60_t20(ir: &[f32], fs: f64) -> f64 {
    let mut edc: Vec<f64> = ir.iter().map(|x| (*x as f64).powi(2)).collect();
    for i in (0..edc.len() - 1).rev() {
        edc[i] += edc[i + 1];
    }
    let e0 = edc[0];
    let db: Vec<f64> = edc.iter().map(|e| 10.0 * (e / e0).log10()).collect();
    let pts: Vec<(f64, f64)> = db
        .iter()
        .enumerate()
        .filter(|(_, d)| **d <= -5.0 && **d >= -25.0)
        .map(|(i, d)| (i as f64 / fs, *d))
        .collect();
    let n = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
    let (mx, my) = (sx / n, sy / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in &pts {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
    }
    -60.0 / (sxy / sxx)
}

#[test]
fn reverb_rt60_matches_setting() {
    let fs = 48_000.0;
    for (decay, size) in [(0.5f32, 0.7f32), (1.5, 1.0), (3.0, 1.6)] {
        let mut rv = Reverb::new(fs as f32);
        rv.set_decay_s(decay);
        rv.set_size(size);
        rv.set_damping(0.0);
        rv.set_pre_delay_ms(0.0);
        rv.set_enabled(true);
        let n = (fs * (decay as f64 * 1.6 + 0.5)) as usize;
        let (l, r) = impulse_response(&mut rv, n);
        for (ch, ir) in [("L", &l), ("R", &r)] {
            let t = rt60_t20(ir, fs);
            eprintln!("decay {decay} s size {size}: {ch} T20-extrapolated RT60 {t:.3} s");
            assert!(
                (t / decay as f64 - 1.0).abs() < 0.2,
                "set {decay} s, measured {t:.3} s on {ch}"
            );
        }
    }
}

#[test]
fn reverb_damping_shortens_high_frequency_decay() {
    let fs = 48_000.0;
    let mut rv = Reverb::new(fs as f32);
    rv.set_decay_s(2.0);
    rv.set_damping(0.8);
    rv.set_enabled(true);
    let (l, _) = impulse_response(&mut rv, (fs * 3.0) as usize);
    // Split the IR at 1 kHz and 8 kHz with independent RBJ filters (4th order each side).
    let band = |ir: &[f32], kind: Rbj, f: f64| -> Vec<f32> {
        let mut a = Tdf2::new(rbj(kind, fs, f, 0.541, 0.0));
        let mut b = Tdf2::new(rbj(kind, fs, f, 1.307, 0.0));
        ir.iter()
            .map(|x| b.tick(a.tick(*x as f64)) as f32)
            .collect()
    };
    let low = rt60_t20(&band(&l, Rbj::LowPass, 1_000.0), fs);
    let high = rt60_t20(&band(&l, Rbj::HighPass, 8_000.0), fs);
    eprintln!("damping 0.8: RT60 below 1 kHz {low:.3} s, above 8 kHz {high:.3} s");
    assert!((low / 2.0 - 1.0).abs() < 0.2, "{low}");
    assert!(high < 0.6 * low, "{high} vs {low}");
}

#[test]
fn reverb_channels_are_decorrelated_and_width_zero_is_mono() {
    let fs = 48_000.0;
    let mut rv = Reverb::new(fs as f32);
    rv.set_decay_s(1.5);
    rv.set_enabled(true);
    let (l, r) = impulse_response(&mut rv, 48_000);
    let dot = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| *x as f64 * *y as f64)
            .sum::<f64>()
    };
    let rho = dot(&l, &r) / (dot(&l, &l) * dot(&r, &r)).sqrt();
    eprintln!("L/R IR correlation {rho:.4}");
    assert!(rho.abs() < 0.2, "correlation {rho}");
    // Dense: after 100 ms, fewer than 1 % of samples are (near) zero.
    let quiet = l[4_800..24_000].iter().filter(|x| x.abs() < 1e-9).count();
    assert!(quiet < 192, "{quiet} empty samples in the tail");
    let mut rv = Reverb::new(fs as f32);
    rv.set_width(0.0);
    rv.set_enabled(true);
    let (l, r) = impulse_response(&mut rv, 9_600);
    assert_eq!(l, r);
}

fn delay(fs: f32) -> Delay {
    let mut d = Delay::new(fs);
    d.set_enabled(true);
    d
}

#[test]
fn note_values() {
    assert_eq!(note_to_ms(120.0, 0.25), 500.0);
    assert!((note_to_ms(90.0, 0.125 * 1.5) - 500.0).abs() < 1e-3); // dotted eighth at 90 bpm
}

#[test]
fn echo_lands_on_the_exact_sample() {
    for (fs, ms, frames) in [
        (48_000.0f32, 250.0f32, 12_000usize),
        (44_100.0, 10.0, 441),
        (48_000.0, note_to_ms(120.0, 0.125), 12_000),
    ] {
        let mut d = delay(fs);
        d.set_time_ms(ms);
        d.set_feedback(0.5);
        let n = 2 * frames - 10;
        let mut l = vec![0f32; n];
        let mut r = vec![0f32; n];
        l[7] = 1.0;
        d.process(&mut l, &mut r);
        for (i, v) in l.iter().enumerate() {
            let want = if i == 7 + frames { 1.0 } else { 0.0 };
            assert_eq!(*v, want, "fs {fs}, {ms} ms: frame {i}");
        }
        assert!(r.iter().all(|v| *v == 0.0));
    }
}

#[test]
fn fractional_delay_shifts_phase_exactly() {
    let fs = 48_000.0;
    let mut d = delay(fs as f32);
    d.set_time_frames(100.5);
    d.set_feedback(0.0);
    let f = 500.0;
    let x = sine(9_600, f, fs, 0.5);
    let (mut l, mut r) = (x.clone(), x.clone());
    d.process(&mut l, &mut r);
    let (a_in, p_in) = fit_sine(&x[4_800..], 4_800, f, fs);
    let (a_out, p_out) = fit_sine(&l[4_800..], 4_800, f, fs);
    let want = -2.0 * std::f64::consts::PI * f * 100.5 / fs;
    let mut dp = p_out - p_in - want;
    dp = (dp + std::f64::consts::PI).rem_euclid(2.0 * std::f64::consts::PI) - std::f64::consts::PI;
    assert!(dp.abs() < 1e-3, "phase error {dp} rad");
    assert!((a_out / a_in - 1.0).abs() < 1e-3, "gain {}", a_out / a_in);
}

#[test]
fn feedback_decays_by_the_set_amount_per_repeat() {
    let fs = 48_000.0;
    let f = 1_000.0;
    for (fb, low_cut, high_cut) in [(0.6f32, 20.0f32, 20_000.0f32), (0.8, 300.0, 2_000.0)] {
        let mut d = delay(fs as f32);
        d.set_time_ms(100.0);
        d.set_feedback(fb);
        d.set_low_cut_hz(low_cut);
        d.set_high_cut_hz(high_cut);
        let burst = 2_880; // 60 ms
        let n = 4_800 * 6;
        let mut l: Vec<f32> = sine(n, f, fs, 0.5);
        l[burst..].fill(0.0);
        let mut r = l.clone();
        d.process(&mut l, &mut r);
        // Independent expectation: fb × |H_hp(1 kHz)| × |H_lp(1 kHz)| from the RBJ formulas.
        let q = std::f64::consts::FRAC_1_SQRT_2;
        let loop_db = 20.0 * (fb as f64).log10()
            + rbj(Rbj::HighPass, fs, low_cut as f64, q, 0.0).mag_db(fs, f)
            + rbj(Rbj::LowPass, fs, high_cut as f64, q, 0.0).mag_db(fs, f);
        let amp = |k: usize| {
            let s = k * 4_800 + 960;
            fit_sine(&l[s..s + 960], s, f, fs).0
        };
        for k in 1..4 {
            let step = 20.0 * (amp(k + 1) / amp(k)).log10();
            assert!(
                (step - loop_db).abs() < 0.05,
                "fb {fb}: repeat {k}→{}: {step:.3} dB, expected {loop_db:.3} dB",
                k + 1
            );
        }
        assert!(
            (20.0 * (amp(1) / 0.5).log10()).abs() < 1e-3,
            "first echo is the unfiltered input"
        );
    }
}

#[test]
fn ping_pong_alternates_sides() {
    let fs = 48_000.0;
    let mut d = delay(fs as f32);
    d.set_time_ms(50.0);
    d.set_feedback(0.5);
    d.set_ping_pong(true);
    let n = 2_400 * 5;
    let mut l = vec![0f32; n];
    let mut r = vec![0f32; n];
    l[0] = 1.0;
    d.process(&mut l, &mut r);
    let energy = |x: &[f32], k: usize| {
        x[k * 2_400 - 100..k * 2_400 + 500]
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
    };
    for k in 1..5 {
        let (el, er) = (energy(&l, k), energy(&r, k));
        let (on, off) = if k % 2 == 1 { (el, er) } else { (er, el) };
        // The off side only carries the 20 Hz loop high-pass tail of the previous repeat (< −40 dB).
        assert!(on > 1e-3 && off < 1e-4 * on, "repeat {k}: L {el}, R {er}");
    }
    assert_eq!(
        l[2_400], 0.5,
        "first echo on the left at half level (mono sum)"
    );
}

#[test]
fn bypassed_wet_effects_output_silence() {
    let mut d = Delay::new(48_000.0);
    let mut rv = Reverb::new(48_000.0);
    let x = sine(4_800, 440.0, 48_000.0, 0.5);
    let (mut l, mut r) = (x.clone(), x.clone());
    d.process(&mut l, &mut r);
    assert!(l.iter().chain(&r).all(|v| *v == 0.0));
    let (mut l, mut r) = (x.clone(), x.clone());
    rv.process(&mut l, &mut r);
    assert!(l.iter().chain(&r).all(|v| *v == 0.0));
}
