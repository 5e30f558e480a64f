//! EQ and HP/LP filters measured through the processors with steady sines, against the RBJ cookbook formulas.

mod dsp_common;

use dsp_common::*;
use ttymix::dsp::compressor::Compressor;
use ttymix::dsp::eq::Eq4;
use ttymix::dsp::filter::{PassFilter, PassKind, Slope, BUTTERWORTH4_Q};
use ttymix::dsp::StereoProcessor;

/// Steady-state gain in dB of `proc` at `f`, measured on both channels (they must agree).
fn measure_db(proc: &mut dyn StereoProcessor, fs: f64, f: f64) -> f64 {
    proc.reset();
    let settle = (0.1 * fs) as usize;
    let win = ((0.1 * fs) as usize).max((4.0 * fs / f) as usize);
    let x = sine(settle + win, f, fs, 0.5);
    let mut l = x.clone();
    let mut r = x.clone();
    proc.process(&mut l, &mut r);
    let (al, _) = fit_sine(&l[settle..], settle, f, fs);
    let (ar, _) = fit_sine(&r[settle..], settle, f, fs);
    assert!(
        (al - ar).abs() <= 1e-6 * al.max(1e-9),
        "channels differ at {f} Hz"
    );
    20.0 * (al / 0.5).log10()
}

fn check(proc: &mut dyn StereoProcessor, fs: f64, reference: impl Fn(f64) -> f64, what: &str) {
    let mut worst = 0.0f64;
    for f in log_freqs(31, 20.0, 20_000.0) {
        let got = measure_db(proc, fs, f);
        let want = reference(f);
        let err = (got - want).abs();
        worst = worst.max(err);
        assert!(
            err < 0.05,
            "{what} at {fs} Hz: {f:.1} Hz measured {got:.4} dB, RBJ {want:.4} dB"
        );
    }
    eprintln!("{what} @ {fs}: worst error {worst:.2e} dB");
}

fn eq_with_band(fs: f64, band: usize, freq: f32, gain_db: f32, q: f32) -> Eq4 {
    let mut eq = Eq4::new(fs as f32);
    eq.set_band_freq_hz(band, freq);
    eq.set_band_gain_db(band, gain_db);
    eq.set_band_q(band, q);
    eq.set_band_enabled(band, true);
    eq.set_enabled(true);
    eq
}

#[test]
fn eq_bands_match_rbj_cookbook() {
    for fs in [44_100.0, 48_000.0] {
        let cases: [(usize, Rbj, f64, f64, f64); 5] = [
            (0, Rbj::LowShelf, 200.0, 9.0, 0.707),
            (0, Rbj::LowShelf, 80.0, -12.0, 1.2),
            (1, Rbj::Peaking, 1_000.0, -8.0, 2.0),
            (2, Rbj::Peaking, 3_500.0, 10.0, 0.7),
            (3, Rbj::HighShelf, 6_000.0, 6.0, 0.707),
        ];
        for (band, kind, f0, g, q) in cases {
            let mut eq = eq_with_band(fs, band, f0 as f32, g as f32, q as f32);
            let bq = rbj(kind, fs, f0, q, g);
            check(
                &mut eq,
                fs,
                |f| bq.mag_db(fs, f),
                &format!("{kind:?} {f0} Hz {g} dB Q {q}"),
            );
        }
    }
}

#[test]
fn eq_all_bands_in_series_match_product() {
    let fs = 48_000.0;
    let mut eq = Eq4::new(fs as f32);
    let set = [
        (Rbj::LowShelf, 120.0, 4.0, 0.707),
        (Rbj::Peaking, 500.0, -6.0, 1.5),
        (Rbj::Peaking, 2_000.0, 5.0, 3.0),
        (Rbj::HighShelf, 9_000.0, -7.0, 0.9),
    ];
    for (b, (_, f, g, q)) in set.iter().enumerate() {
        eq.set_band_freq_hz(b, *f as f32);
        eq.set_band_gain_db(b, *g as f32);
        eq.set_band_q(b, *q as f32);
        eq.set_band_enabled(b, true);
    }
    eq.set_enabled(true);
    let bqs: Vec<Biquad> = set
        .iter()
        .map(|(k, f, g, q)| rbj(*k, fs, *f, *q, *g))
        .collect();
    check(
        &mut eq,
        fs,
        |f| bqs.iter().map(|b| b.mag_db(fs, f)).sum(),
        "4 bands",
    );
}

#[test]
fn disabled_band_and_disabled_eq_are_identity() {
    let fs = 48_000.0;
    let mut eq = eq_with_band(fs, 1, 1_000.0, 12.0, 1.0);
    eq.set_band_enabled(1, false);
    let x = sine(4_800, 1_000.0, fs, 0.5);
    let (mut l, mut r) = (x.clone(), x.clone());
    eq.process(&mut l, &mut r);
    assert_eq!(l, x);
    let mut eq = eq_with_band(fs, 1, 1_000.0, 12.0, 1.0);
    eq.set_enabled(false);
    let (mut l, mut r) = (x.clone(), x.clone());
    eq.process(&mut l, &mut r);
    assert_eq!(r, x);
}

fn pass(fs: f64, kind: PassKind, slope: Slope, f0: f32) -> PassFilter {
    let mut p = PassFilter::new(fs as f32, kind);
    p.set_freq_hz(f0);
    p.set_slope(slope);
    p.set_enabled(true);
    p
}

#[test]
fn hp_lp_match_rbj_butterworth() {
    for fs in [44_100.0, 48_000.0] {
        for (kind, rk, f0) in [
            (PassKind::HighPass, Rbj::HighPass, 100.0),
            (PassKind::LowPass, Rbj::LowPass, 5_000.0),
        ] {
            let mut p = pass(fs, kind, Slope::Db12, f0 as f32);
            let bq = rbj(rk, fs, f0, std::f64::consts::FRAC_1_SQRT_2, 0.0);
            check(
                &mut p,
                fs,
                |f| bq.mag_db(fs, f),
                &format!("{kind:?} 12 dB/oct {f0} Hz"),
            );
            let mut p = pass(fs, kind, Slope::Db24, f0 as f32);
            let b1 = rbj(rk, fs, f0, BUTTERWORTH4_Q[0], 0.0);
            let b2 = rbj(rk, fs, f0, BUTTERWORTH4_Q[1], 0.0);
            check(
                &mut p,
                fs,
                |f| b1.mag_db(fs, f) + b2.mag_db(fs, f),
                &format!("{kind:?} 24 dB/oct {f0} Hz"),
            );
        }
    }
}

#[test]
fn hp_lp_slopes_and_corner() {
    let fs = 48_000.0;
    for (slope, per_octave) in [(Slope::Db12, 12.04), (Slope::Db24, 24.08)] {
        // High-pass at 2 kHz: 100 Hz vs 50 Hz is far below the corner.
        let mut p = pass(fs, PassKind::HighPass, slope, 2_000.0);
        let d = measure_db(&mut p, fs, 100.0) - measure_db(&mut p, fs, 50.0);
        assert!((d - per_octave).abs() < 0.1, "HP {slope:?}: {d:.3} dB/oct");
        let c = measure_db(&mut p, fs, 2_000.0);
        assert!((c + 3.01).abs() < 0.02, "HP {slope:?} corner {c:.3} dB");
        // Low-pass at 100 Hz: 800 Hz vs 1.6 kHz (far above the corner, far below Nyquist; the bilinear
        // transform's warping and zeros at Nyquist steepen it by < 0.3 dB here).
        let mut p = pass(fs, PassKind::LowPass, slope, 100.0);
        let d = measure_db(&mut p, fs, 800.0) - measure_db(&mut p, fs, 1_600.0);
        assert!(
            d > per_octave - 0.1 && d < per_octave + 0.3,
            "LP {slope:?}: {d:.3} dB/oct"
        );
        let c = measure_db(&mut p, fs, 100.0);
        assert!((c + 3.01).abs() < 0.02, "LP {slope:?} corner {c:.3} dB");
    }
}

// ---- smoothing: parameter sweeps during a 1 kHz sine add no energy above 4 kHz ----

const CLICK_BOUND_DB: f64 = -60.0;

/// Runs `proc` on a 1 kHz sine (amplitude 0.5, 48 kHz) for 0.3 s, calling `automate(proc, frame)` every 32
/// frames from 0.1 s on; returns the energy above 4 kHz relative to the sine's power, in dB.
fn sweep_hf_db<P: StereoProcessor>(mut proc: P, automate: impl Fn(&mut P, usize)) -> f64 {
    let fs = 48_000.0;
    let n = (0.3 * fs) as usize;
    let x = sine(n, 1_000.0, fs, 0.5);
    let (mut l, mut r) = (x.clone(), x.clone());
    for start in (0..n).step_by(32) {
        automate(&mut proc, start);
        proc.process(&mut l[start..start + 32], &mut r[start..start + 32]);
    }
    hf_energy_ratio_db(&l, 0.125, fs, 4_000.0, (0.05 * fs) as usize)
}

fn ramp(frame: usize, from: f32, to: f32) -> f32 {
    let t0 = 4_800.0;
    let t = ((frame as f32 - t0) / 2_400.0).clamp(0.0, 1.0); // 50 ms
    from + t * (to - from)
}

#[test]
fn eq_sweeps_do_not_click() {
    let fs = 48_000.0;
    let gain = sweep_hf_db(eq_with_band(fs, 1, 1_000.0, -12.0, 1.0), |eq, f| {
        eq.set_band_gain_db(1, ramp(f, -12.0, 12.0))
    });
    let freq = sweep_hf_db(eq_with_band(fs, 2, 200.0, 12.0, 1.0), |eq, f| {
        eq.set_band_freq_hz(2, 200.0 * 10f32.powf(ramp(f, 0.0, 1.0)))
    });
    // One jump with no automation: the built-in ramp alone must smooth it.
    let jump = sweep_hf_db(eq_with_band(fs, 1, 1_000.0, -12.0, 1.0), |eq, f| {
        if f == 4_800 {
            eq.set_band_gain_db(1, 12.0)
        }
    });
    let toggle = sweep_hf_db(eq_with_band(fs, 1, 1_000.0, 12.0, 1.0), |eq, f| {
        if f == 4_800 {
            eq.set_enabled(false)
        }
    });
    eprintln!("HF energy: gain sweep {gain:.1} dB, freq sweep {freq:.1} dB, jump {jump:.1} dB, bypass {toggle:.1} dB");
    for v in [gain, freq, jump, toggle] {
        assert!(v < CLICK_BOUND_DB, "{v:.1} dB");
    }
}

#[test]
fn click_meter_detects_an_unsmoothed_gain_step() {
    // Control for the measurement above: a hard −12 → +12 dB step on the same sine must exceed the bound.
    let fs = 48_000.0;
    let mut x = sine((0.3 * fs) as usize, 1_000.0, fs, 0.5);
    for (i, v) in x.iter_mut().enumerate() {
        *v *= if i < 4_800 { 0.251 } else { 3.98 };
    }
    let db = hf_energy_ratio_db(&x, 0.125, fs, 4_000.0, (0.05 * fs) as usize);
    assert!(db > CLICK_BOUND_DB, "{db:.1} dB");
}

#[test]
fn filter_sweep_does_not_click() {
    let mut p = PassFilter::new(48_000.0, PassKind::HighPass);
    p.set_freq_hz(50.0);
    p.set_enabled(true);
    let db = sweep_hf_db(p, |p, f| {
        p.set_freq_hz(50.0 * 10f32.powf(ramp(f, 0.0, 1.0)));
        if f == 9_600 {
            p.set_slope(Slope::Db24);
        }
    });
    eprintln!("HP sweep HF energy {db:.1} dB");
    assert!(db < CLICK_BOUND_DB, "{db:.1} dB");
}

#[test]
fn compressor_threshold_sweep_does_not_click() {
    let mut c = Compressor::new(48_000.0);
    c.set_threshold_db(-10.0);
    c.set_ratio(4.0);
    c.set_attack_ms(10.0);
    c.set_release_ms(100.0);
    c.set_enabled(true);
    let db = sweep_hf_db(c, |c, f| c.set_threshold_db(ramp(f, -10.0, -30.0)));
    eprintln!("compressor threshold sweep HF energy {db:.1} dB");
    assert!(db < CLICK_BOUND_DB, "{db:.1} dB");
}
