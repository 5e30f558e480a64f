//! EBU Tech 3341 / 3342 compliance and behaviour of `ttymix::loudness`.
//!
//! Signals are synthesised here (tests/common/ebu.rs, definitions in DSP.md section 1); expected
//! figures and tolerances are those of the EBU documents.

mod common;

use common::ebu::{self, case_3341, case_3342, RATE};
use ttymix::loudness::{measure_planar, Channel, LoudnessMeter, LoudnessReport};

fn refs(ch: &[Vec<f32>]) -> Vec<&[f32]> {
    ch.iter().map(Vec::as_slice).collect()
}

fn measure(ch: &[Vec<f32>], rate: u32) -> LoudnessReport {
    let roles = Channel::default_roles(ch.len());
    measure_planar(&refs(ch), &roles, rate).unwrap()
}

#[track_caller]
fn within(name: &str, got: Option<f64>, want: f64, minus: f64, plus: f64) {
    let got = got.unwrap_or_else(|| panic!("{name}: no value"));
    assert!(
        got >= want - minus && got <= want + plus,
        "{name}: got {got:.4}, want {want} (+{plus}/-{minus})"
    );
}

/// (time in s, momentary LUFS, short-term LUFS) after a block.
type Reading = (f64, Option<f64>, Option<f64>);

/// Feeds a signal in 10 ms blocks, returning the momentary and short-term readings after each.
fn trace(ch: &[Vec<f32>], rate: u32) -> (LoudnessReport, Vec<Reading>) {
    let roles = Channel::default_roles(ch.len());
    let mut m = LoudnessMeter::new(rate, &roles).unwrap();
    let hop = rate as usize / 100;
    let len = ch[0].len();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < len {
        let end = (pos + hop).min(len);
        let blk: Vec<&[f32]> = ch.iter().map(|c| &c[pos..end]).collect();
        m.add_planar(&blk).unwrap();
        out.push((
            end as f64 / f64::from(rate),
            m.momentary_lufs(),
            m.short_term_lufs(),
        ));
        pos = end;
    }
    (m.finish(), out)
}

#[test]
fn tech3341_cases_1_and_2_m_s_i() {
    for (case, level) in [(1, -23.0), (2, -33.0)] {
        let (ch, rate) = case_3341(case);
        let r = measure(&ch, rate);
        let n = format!("3341-{case}");
        within(&format!("{n} I"), r.integrated_lufs, level, 0.1, 0.1);
        within(&format!("{n} max M"), r.max_momentary_lufs, level, 0.1, 0.1);
        within(
            &format!("{n} max S"),
            r.max_short_term_lufs,
            level,
            0.1,
            0.1,
        );
        assert_eq!(r.channels, 2);
        assert!((r.duration_s - 20.0).abs() < 1e-9);
    }
}

#[test]
fn tech3341_gating_cases_3_to_6() {
    for case in [3, 4, 5, 6] {
        let (ch, rate) = case_3341(case);
        let r = measure(&ch, rate);
        within(
            &format!("3341-{case} I"),
            r.integrated_lufs,
            -23.0,
            0.1,
            0.1,
        );
    }
}

#[test]
fn tech3341_case_9_short_term_constant_after_3s() {
    let (ch, rate) = case_3341(9);
    let (r, tr) = trace(&ch, rate);
    within("3341-9 max S", r.max_short_term_lufs, -23.0, 0.1, 0.1);
    let mut n = 0;
    for (t, _, s) in tr.iter().filter(|(t, _, _)| *t >= 3.0) {
        within(&format!("3341-9 S at {t:.2}s"), *s, -23.0, 0.1, 0.1);
        n += 1;
    }
    assert!(n >= 1200, "only {n} short-term readings");
}

#[test]
fn tech3341_case_12_momentary_constant_after_1s() {
    let (ch, rate) = case_3341(12);
    let (r, tr) = trace(&ch, rate);
    within("3341-12 max M", r.max_momentary_lufs, -23.0, 0.1, 0.1);
    let mut n = 0;
    for (t, m, _) in tr.iter().filter(|(t, _, _)| *t >= 1.0) {
        within(&format!("3341-12 M at {t:.2}s"), *m, -23.0, 0.1, 0.1);
        n += 1;
    }
    assert!(n >= 900, "only {n} momentary readings");
}

#[test]
fn tech3341_true_peak_cases_15_to_19() {
    for (case, want) in [(15, -6.0), (16, -6.0), (17, -6.0), (18, -6.0), (19, 3.0)] {
        let (ch, rate) = case_3341(case);
        let r = measure(&ch, rate);
        within(&format!("3341-{case} TP"), r.true_peak_dbtp, want, 0.4, 0.2);
    }
    // The 45° case has its samples well below the true peak: the meter really interpolates.
    let r = measure(&case_3341(16).0, RATE);
    within("3341-16 sample peak", r.sample_peak_dbfs, -9.03, 0.05, 0.05);
}

#[test]
fn tech3342_loudness_range_cases_1_to_4() {
    for (case, want) in [(1, 10.0), (2, 5.0), (3, 20.0), (4, 15.0)] {
        let (ch, rate) = case_3342(case);
        let r = measure(&ch, rate);
        within(
            &format!("3342-{case} LRA"),
            r.loudness_range_lu,
            want,
            1.0,
            1.0,
        );
    }
}

#[test]
fn sine_1k_minus23_reads_minus_22_99() {
    let ch = ebu::replicate(ebu::sine_segments(1000.0, &[(-23.0, 10.0)], RATE), 2);
    let r = measure(&ch, RATE);
    within("I", r.integrated_lufs, -22.99, 0.02, 0.02);
    within("sample peak", r.sample_peak_dbfs, -23.0, 0.01, 0.01);
    assert_eq!(r.clipped_samples, 0);
}

#[test]
fn mono_reads_3db_below_dual_mono() {
    let x = ebu::white_noise(10 * RATE as usize, 0.25, 7);
    let mono = measure_planar(&[&x], &[Channel::Mono], RATE).unwrap();
    let dual = measure_planar(&[&x, &x], &[Channel::Left, Channel::Right], RATE).unwrap();
    let d = dual.integrated_lufs.unwrap() - mono.integrated_lufs.unwrap();
    assert!((d - 10.0 * 2f64.log10()).abs() < 0.01, "difference {d}");
    assert_eq!(mono.channels, 1);
    // Peaks do not depend on the channel count.
    assert_eq!(mono.true_peak_dbtp, dual.true_peak_dbtp);
}

#[test]
fn silence_gives_nulls() {
    let ch = vec![vec![0.0f32; 5 * RATE as usize]; 2];
    let r = measure(&ch, RATE);
    assert_eq!(
        r,
        LoudnessReport {
            integrated_lufs: None,
            loudness_range_lu: None,
            true_peak_dbtp: None,
            sample_peak_dbfs: None,
            max_momentary_lufs: None,
            max_short_term_lufs: None,
            clipped_samples: 0,
            duration_s: 5.0,
            sample_rate: RATE,
            channels: 2,
        }
    );
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["integrated_lufs"].is_null() && json["true_peak_dbtp"].is_null());
    let text = r.to_text();
    assert!(
        text.contains("n/a LUFS") && text.contains("-inf dBTP"),
        "{text}"
    );
}

#[test]
fn signal_below_absolute_gate_gives_null_integrated() {
    // −80 dBFS sine: about −80 LUFS, below the −70 LUFS absolute gate, but peaks are real.
    let ch = ebu::replicate(ebu::sine_segments(1000.0, &[(-80.0, 5.0)], RATE), 2);
    let r = measure(&ch, RATE);
    assert_eq!(r.integrated_lufs, None);
    assert_eq!(r.loudness_range_lu, None);
    within("max M", r.max_momentary_lufs, -80.0, 0.1, 0.1);
    within("sample peak", r.sample_peak_dbfs, -80.0, 0.01, 0.01);
}

#[test]
fn short_file_gives_null_integrated() {
    let ch = ebu::replicate(ebu::sine_segments(1000.0, &[(-10.0, 0.2)], RATE), 2);
    let r = measure(&ch, RATE);
    assert_eq!(
        r.integrated_lufs, None,
        "0.2 s is shorter than one 400 ms block"
    );
    assert_eq!(r.max_momentary_lufs, None);
    assert_eq!(r.max_short_term_lufs, None);
    assert_eq!(r.loudness_range_lu, None);
    within("sample peak", r.sample_peak_dbfs, -10.0, 0.01, 0.01);
    assert!((r.duration_s - 0.2).abs() < 1e-9);
    // 2 s: integrated and M exist, short-term (3 s window) and LRA do not.
    let ch = ebu::replicate(ebu::sine_segments(1000.0, &[(-23.0, 2.0)], RATE), 2);
    let r = measure(&ch, RATE);
    within("2 s I", r.integrated_lufs, -23.0, 0.1, 0.1);
    assert_eq!(r.max_short_term_lufs, None);
    assert_eq!(r.loudness_range_lu, None);
}

#[test]
fn clipped_samples_count_abs_at_least_one() {
    let mut l = ebu::white_noise(RATE as usize, 0.5, 1);
    let mut r = ebu::white_noise(RATE as usize, 0.5, 2);
    l[100] = 1.0;
    l[200] = -1.0;
    l[300] = 1.5;
    r[400] = -3.0;
    r[500] = 0.999_999;
    let rep = measure(&[l, r], RATE);
    assert_eq!(rep.clipped_samples, 4);
    within(
        "sample peak",
        rep.sample_peak_dbfs,
        20.0 * 3f64.log10(),
        1e-6,
        1e-6,
    );
}

#[test]
fn lfe_is_excluded_from_loudness_but_not_peaks() {
    let (ch50, rate) = case_3341(6);
    let mut ch51 = ch50.clone();
    ch51.insert(3, ebu::white_noise(ch50[0].len(), 0.9, 3));
    let r50 = measure(&ch50, rate);
    let r51 = measure(&ch51, rate);
    assert_eq!(r51.channels, 6);
    assert_eq!(r50.integrated_lufs, r51.integrated_lufs);
    within(
        "5.1 sample peak from LFE",
        r51.sample_peak_dbfs,
        20.0 * 0.9f64.log10(),
        0.01,
        0.0,
    );
    // Surround weight 1.41: Ls alone at −30 dBFS reads 1.49 dB above L alone at −30 dBFS.
    let x = ebu::sine_segments(1000.0, &[(-20.0, 5.0)], RATE);
    let z = vec![0.0f32; x.len()];
    let roles = Channel::default_roles(5);
    let on_l = measure_planar(&[&x, &z, &z, &z, &z], &roles, RATE).unwrap();
    let on_ls = measure_planar(&[&z, &z, &z, &x, &z], &roles, RATE).unwrap();
    let d = on_ls.integrated_lufs.unwrap() - on_l.integrated_lufs.unwrap();
    assert!(
        (d - 10.0 * 1.41f64.log10()).abs() < 0.01,
        "surround weight {d}"
    );
}

#[test]
fn block_size_does_not_change_the_report() {
    let l = ebu::white_noise(7 * RATE as usize, 0.3, 11);
    let r: Vec<f32> = ebu::white_noise(7 * RATE as usize, 0.2, 12);
    let whole = measure_planar(&[&l, &r], &[Channel::Left, Channel::Right], RATE).unwrap();
    for block in [1usize, 37, 479, 4801, 100_000] {
        let mut m = LoudnessMeter::new(RATE, &[Channel::Left, Channel::Right]).unwrap();
        for (a, b) in l.chunks(block).zip(r.chunks(block)) {
            m.add_planar(&[a, b]).unwrap();
        }
        assert_eq!(m.finish(), whole, "planar block {block}");
        let inter: Vec<f32> = l.iter().zip(&r).flat_map(|(a, b)| [*a, *b]).collect();
        let mut m = LoudnessMeter::new(RATE, &[Channel::Left, Channel::Right]).unwrap();
        for c in inter.chunks(block * 2) {
            m.add_interleaved_stereo(c).unwrap();
        }
        assert_eq!(m.finish(), whole, "interleaved block {block}");
    }
}

/// Independent BS.1770 reference: K-weighting with the published 48 kHz coefficients, mean square
/// over 400 ms windows ending every 10 ms (stereo, weights 1).
fn reference_max_momentary(ch: &[Vec<f32>]) -> f64 {
    let biquad = |x: &[f32], b: [f64; 3], a: [f64; 2]| -> Vec<f64> {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        x.iter()
            .map(|&s| {
                let s = f64::from(s);
                let y = b[0] * s + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2;
                (x2, x1, y2, y1) = (x1, s, y1, y);
                y
            })
            .collect()
    };
    let k: Vec<Vec<f64>> = ch
        .iter()
        .map(|c| {
            let s1 = biquad(
                c,
                [1.53512485958697, -2.69169618940638, 1.19839281085285],
                [-1.69065929318241, 0.73248077421585],
            );
            // Second stage (RLB high-pass), squared.
            let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
            s1.iter()
                .map(|&s| {
                    let y = s - 2.0 * x1 + x2 + 1.99004745483398 * y1 - 0.99007225036621 * y2;
                    (x2, x1, y2, y1) = (x1, s, y1, y);
                    y * y
                })
                .collect()
        })
        .collect();
    let win = 19_200;
    let mut best = f64::NEG_INFINITY;
    let mut end = win;
    while end <= k[0].len() {
        let z: f64 = k
            .iter()
            .map(|c| c[end - win..end].iter().sum::<f64>())
            .sum::<f64>()
            / win as f64;
        best = best.max(-0.691 + 10.0 * z.log10());
        end += 480;
    }
    best
}

#[test]
fn max_momentary_matches_independent_reference_on_bursts() {
    // Quiet noise with two short loud bursts at arbitrary (not 10 ms aligned) offsets.
    let len = 6 * RATE as usize;
    let mut l = ebu::white_noise(len, 0.02, 21);
    let burst = ebu::white_noise(19_200, 0.5, 22);
    for (i, v) in burst.iter().enumerate() {
        l[48_000 + 123 + i] += v;
        l[200_000 + 4321 + i] += v * 0.5;
    }
    let ch = vec![l.clone(), l];
    let r = measure(&ch, RATE);
    let want = reference_max_momentary(&ch);
    within("max M vs reference", r.max_momentary_lufs, want, 0.01, 0.01);
    // The burst is exactly 400 ms: a 10 ms hop reads within 0.12 LU of its sample-accurate level.
    let kburst: Vec<Vec<f32>> = {
        let mut b = vec![0.0f32; 19_200 + 2 * 4800];
        b[4800..4800 + 19_200].copy_from_slice(&burst);
        vec![b.clone(), b]
    };
    let burst_level = reference_max_momentary(&kburst);
    let m = r.max_momentary_lufs.unwrap();
    assert!(
        m <= burst_level + 0.05 && m >= burst_level - 0.12,
        "{m} vs {burst_level}"
    );
}

#[test]
fn json_keys_are_fixed() {
    let (ch, rate) = case_3341(1);
    let r = measure(&ch, rate);
    let v = serde_json::to_value(&r).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "channels",
            "clipped_samples",
            "duration_s",
            "integrated_lufs",
            "loudness_range_lu",
            "max_momentary_lufs",
            "max_short_term_lufs",
            "sample_peak_dbfs",
            "sample_rate",
            "true_peak_dbtp"
        ]
    );
    let back: LoudnessReport = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
    let text = r.to_text();
    for line in [
        "Integrated loudness:    -23.0 LUFS\n",
        "Loudness range:           0.0 LU\n",
        "Sample peak:            -23.0 dBFS\n",
        "Clipped samples:            0\n",
        "Duration:                20.0 s (48000 Hz, 2 ch)\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

/// Parses the summary of ffmpeg's ebur128 filter: (I, LRA, true peak).
fn ffmpeg_summary(stderr: &str) -> (f64, f64, f64) {
    let summary = &stderr[stderr.rfind("Summary:").expect("no ffmpeg summary")..];
    let field = |key: &str| -> f64 {
        let line = summary
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in ffmpeg summary:\n{summary}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (field("I:"), field("LRA:"), field("Peak:"))
}

#[test]
fn agrees_with_ffmpeg_ebur128_when_available() {
    if std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_err()
    {
        println!("ffmpeg not found: skipping the ffmpeg cross-check");
        return;
    }
    // 12 s of noise in three levels, different on L and R, low-passed at 8 kHz: full-band white
    // noise puts inter-sample peaks right at Nyquist, where true-peak interpolators legitimately
    // differ (the crate and ffmpeg use different oversampling filters).
    let seg = 4 * RATE as usize;
    let mut l = Vec::new();
    let mut r = Vec::new();
    for (i, amp) in [0.05, 0.6, 0.15].iter().enumerate() {
        l.extend(ebu::white_noise(seg, *amp, 100 + i as u64));
        r.extend(ebu::white_noise(seg, amp * 0.7, 200 + i as u64));
    }
    let ch = vec![
        ebu::low_pass(&l, 8000.0, RATE),
        ebu::low_pass(&r, 8000.0, RATE),
    ];
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("noise.wav");
    ebu::write_wav_f32(&wav, &ch, RATE).unwrap();
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner", "-i"])
        .arg(&wav)
        .args(["-af", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg failed");
    let (i, lra, tp) = ffmpeg_summary(&String::from_utf8_lossy(&out.stderr));
    let rep = measure(&ch, RATE);
    println!(
        "ffmpeg I {i} LRA {lra} TP {tp}; ours I {:?} LRA {:?} TP {:?}",
        rep.integrated_lufs, rep.loudness_range_lu, rep.true_peak_dbtp
    );
    // ffmpeg prints one decimal: allow 0.1 LU plus its rounding.
    within("I vs ffmpeg", rep.integrated_lufs, i, 0.1, 0.1);
    within("TP vs ffmpeg", rep.true_peak_dbtp, tp, 0.1, 0.1);
    within("LRA vs ffmpeg", rep.loudness_range_lu, lra, 0.2, 0.2);
}
