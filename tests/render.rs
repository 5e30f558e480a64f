//! Offline render through the real binary: null tests against an independent f64 mix, ranges, dither,
//! safety of outputs.

mod common;
use common::*;
use std::path::Path;

const RATE: u32 = 48_000;

fn db(x: f64) -> f64 {
    10f64.powf(x / 20.0)
}

/// Four stems in several PCM formats, and a session file with non-trivial settings.
fn make_session(dir: &Path) {
    let n = 24_000;
    let stems = vec![
        ("a_mono16.wav", 16u16, vec![noise(1, n, 0.4)]),
        (
            "b_stereo24.wav",
            24,
            vec![noise(2, n + 500, 0.3), noise(3, n + 500, 0.3)],
        ),
        (
            "c_stereo32f.wav",
            32,
            vec![noise(4, n - 700, 0.5), noise(5, n - 700, 0.2)],
        ),
        ("d_mono24.wav", 24, vec![sine(440.0, 0.3, RATE, n)]),
    ];
    // (trim, gain, invert, pan) per track
    let settings = [
        (2.0, -3.0, false, -0.3),
        (0.0, 1.5, true, 0.6),
        (-4.0, -6.0, false, -1.0),
        (0.0, 0.0, true, 0.25),
    ];
    let mut toml = String::from("sample_rate = 48000\n[master]\ngain_db = -1.0\n");
    for ((name, bits, chans), (trim, gain, inv, pan)) in stems.into_iter().zip(settings) {
        write_wav(&dir.join(name), RATE, bits, &chans);
        toml.push_str(&format!(
            "[[track]]\nfile = \"{name}\"\ntrim_db = {trim:?}\ngain_db = {gain:?}\ninvert_polarity = {inv}\npan = {pan:?}\n"
        ));
    }
    std::fs::write(dir.join("mix.toml"), toml).unwrap();
}

#[test]
fn render_equals_an_independent_f64_sum() {
    let dir = tempdir();
    make_session(dir.path());
    let out = dir.path().join("out.wav");
    ttymix()
        .args(["render", "mix.toml", "-o", "out.wav", "--bits", "32f"])
        .current_dir(dir.path())
        .assert()
        .success();
    let (spec, mix) = read_wav(&out);
    assert_eq!((spec.channels, spec.sample_rate), (2, RATE));
    // Reference: decode the stems independently (hound) and mix in f64 with the documented laws.
    let settings = [
        ("a_mono16.wav", 2.0, -3.0, false, -0.3),
        ("b_stereo24.wav", 0.0, 1.5, true, 0.6),
        ("c_stereo32f.wav", -4.0, -6.0, false, -1.0),
        ("d_mono24.wav", 0.0, 0.0, true, 0.25),
    ];
    let len = 24_500;
    assert_eq!(
        mix[0].len(),
        len,
        "the mix lasts as long as the longest stem"
    );
    let mut rl = vec![0.0f64; len];
    let mut rr = vec![0.0f64; len];
    for (name, trim, gain, inv, pan) in settings {
        let (_, ch) = read_wav(&dir.path().join(name));
        let pre = db(trim) * if inv { -1.0 } else { 1.0 };
        let (gl, gr) = if ch.len() == 1 {
            let th = (pan + 1.0) * std::f64::consts::FRAC_PI_4;
            (th.cos(), th.sin())
        } else if pan >= 0.0 {
            ((pan * std::f64::consts::FRAC_PI_2).cos(), 1.0)
        } else {
            (1.0, (-pan * std::f64::consts::FRAC_PI_2).cos())
        };
        let g = db(gain) * db(-1.0);
        for i in 0..ch[0].len() {
            rl[i] += ch[0][i] * pre * g * gl;
            rr[i] += ch[ch.len() - 1][i] * pre * g * gr;
        }
    }
    let err = mix[0]
        .iter()
        .zip(&rl)
        .chain(mix[1].iter().zip(&rr))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-6, "max deviation from the f64 reference: {err:e}");
}

#[test]
fn a_track_against_its_inverted_copy_nulls() {
    let dir = tempdir();
    let x = noise(7, 48_000, 0.5);
    write_wav(&dir.path().join("x.wav"), RATE, 24, &[x.clone(), x]);
    std::fs::write(
        dir.path().join("s.toml"),
        "[[track]]\nfile = \"x.wav\"\n[[track]]\nfile = \"x.wav\"\ninvert_polarity = true\n",
    )
    .unwrap();
    ttymix()
        .args(["render", "s.toml", "-o", "o.wav", "--bits", "32f"])
        .current_dir(dir.path())
        .assert()
        .success();
    let (_, m) = read_wav(&dir.path().join("o.wav"));
    let peak = m.iter().flatten().fold(0.0f64, |a, x| a.max(x.abs()));
    assert!(
        peak == 0.0 || 20.0 * peak.log10() < -120.0,
        "residual {peak}"
    );
    // and without the inversion it does not null (the test can fail)
    std::fs::write(
        dir.path().join("s.toml"),
        "[[track]]\nfile = \"x.wav\"\n[[track]]\nfile = \"x.wav\"\n",
    )
    .unwrap();
    ttymix()
        .args(["render", "s.toml", "-o", "o.wav", "--bits", "32f"])
        .current_dir(dir.path())
        .assert()
        .success();
    let (_, m) = read_wav(&dir.path().join("o.wav"));
    assert!(m.iter().flatten().fold(0.0f64, |a, x| a.max(x.abs())) > 0.1);
}

#[test]
fn from_and_to_select_exact_frames() {
    let dir = tempdir();
    let ramp: Vec<f32> = (0..48_000).map(|i| i as f32 / 65_536.0).collect();
    write_wav(
        &dir.path().join("r.wav"),
        RATE,
        32,
        &[ramp.clone(), ramp.clone()],
    );
    ttymix()
        .args([
            "render", ".", "-o", "out.wav", "--bits", "32f", "--from", "0.25", "--to", "0.5",
        ])
        .current_dir(dir.path())
        .assert()
        .success();
    let (_, m) = read_wav(&dir.path().join("out.wav"));
    assert_eq!(m[0].len(), 12_000);
    for (i, x) in m[0].iter().enumerate() {
        assert_eq!(*x, ramp[12_000 + i] as f64, "frame {i}");
    }
}

#[test]
fn sixteen_bit_output_is_dithered() {
    // A 1 kHz sine at -100 dBFS is a third of an LSB at 16 bits: plain rounding turns it into digital
    // silence; TPDF dither keeps it, buried in noise about 0.5 LSB RMS.
    let dir = tempdir();
    let amp = db(-100.0);
    let s = sine(1000.0, amp, RATE, 96_000);
    write_wav(
        &dir.path().join("quiet.wav"),
        RATE,
        32,
        &[s.clone(), s.clone()],
    );
    ttymix()
        .args(["render", ".", "-o", "out.wav", "--bits", "16"])
        .current_dir(dir.path())
        .assert()
        .success();
    let (spec, m) = read_wav(&dir.path().join("out.wav"));
    assert_eq!(spec.bits_per_sample, 16);
    let lsb = 1.0 / 32768.0;
    let x = &m[0];
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt();
    assert!(
        rms > 0.35 * lsb && rms < 0.7 * lsb,
        "noise RMS {:.3} LSB, expected about 0.5",
        rms / lsb
    );
    // the sine's amplitude, by correlation, survives within 1.5 dB
    let (mut c, mut q) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let ph = 2.0 * std::f64::consts::PI * 1000.0 * i as f64 / RATE as f64;
        c += v * ph.sin();
        q += v * ph.cos();
    }
    let est = 2.0 * (c * c + q * q).sqrt() / x.len() as f64;
    let err_db = 20.0 * (est / amp).log10();
    assert!(err_db.abs() < 1.5, "sine level off by {err_db:.2} dB");
}

#[test]
fn a_folder_mixes_every_stem_at_unity_sorted_by_name() {
    let dir = tempdir();
    write_wav(
        &dir.path().join("b.wav"),
        RATE,
        32,
        &[vec![0.25; 1000], vec![0.5; 1000]],
    );
    write_wav(&dir.path().join("a.wav"), RATE, 32, &[vec![0.125; 2000]]);
    std::fs::write(dir.path().join("notes.txt"), "not audio").unwrap();
    let out = tempdir();
    let o = out.path().join("m.wav");
    ttymix()
        .args([
            "render",
            dir.path().to_str().unwrap(),
            "-o",
            o.to_str().unwrap(),
            "--bits",
            "32f",
        ])
        .assert()
        .success();
    let (_, m) = read_wav(&o);
    let c = std::f64::consts::FRAC_1_SQRT_2 * 0.125;
    assert!((m[0][0] - (0.25 + c)).abs() < 1e-6 && (m[1][0] - (0.5 + c)).abs() < 1e-6);
    assert!((m[0][1500] - c).abs() < 1e-6 && m[0].len() == 2000);
}

#[test]
fn refuses_to_overwrite_an_input_and_leaves_it_intact() {
    let dir = tempdir();
    write_wav(&dir.path().join("x.wav"), RATE, 24, &[noise(3, 4800, 0.5)]);
    let before = std::fs::read(dir.path().join("x.wav")).unwrap();
    let out = ttymix()
        .args(["render", ".", "-o", "./x.wav"])
        .current_dir(dir.path())
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.starts_with("error: ./x.wav: refusing to overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.path().join("x.wav")).unwrap(), before);
}

#[test]
fn json_report_has_the_fixed_keys() {
    let dir = tempdir();
    let s = sine(1000.0, db(-23.0), RATE, RATE as usize * 5);
    write_wav(&dir.path().join("s.wav"), RATE, 32, &[s.clone(), s]);
    let out = ttymix()
        .args(["render", ".", "-o", "o.wav", "--json"])
        .current_dir(dir.path())
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    for k in [
        "integrated_lufs",
        "loudness_range_lu",
        "true_peak_dbtp",
        "sample_peak_dbfs",
        "max_momentary_lufs",
        "max_short_term_lufs",
        "clipped_samples",
        "duration_s",
        "sample_rate",
        "channels",
    ] {
        assert!(v.get(k).is_some(), "missing {k} in {v}");
    }
    // a stereo -23 dBFS sine reads -23 LUFS (BS.1770), and the file is 5 s
    let i = v["integrated_lufs"].as_f64().unwrap();
    assert!((i + 22.99).abs() < 0.05, "{i}");
    assert!((v["duration_s"].as_f64().unwrap() - 5.0).abs() < 1e-9);
    // the written file exists and nothing temporary is left beside it
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
}

#[test]
fn bulk_wav_reader_and_streaming_match_symphonia_bit_for_bit() {
    use ttymix::media::{decode_file, decode_file_symphonia, wav_fast::plain_wav};
    let dir = tempdir();
    for (bits, chans) in [(16u16, 1usize), (16, 2), (24, 1), (24, 2), (32, 2), (32, 1)] {
        let path = dir.path().join(format!("x{bits}_{chans}.wav"));
        let c: Vec<Vec<f32>> = (0..chans)
            .map(|k| noise(40 + k as u64, 9_999, 0.9))
            .collect();
        write_wav(&path, 44_100, bits, &c);
        assert!(
            plain_wav(&path).is_some(),
            "{bits}-bit {chans} ch takes the bulk path"
        );
        let fast = decode_file(&path).unwrap();
        let sym = decode_file_symphonia(&path).unwrap();
        assert_eq!(fast.channels, sym.channels, "{bits}-bit {chans} ch");
        assert_eq!(fast.roles, sym.roles);
        assert_eq!(fast.sample_rate, sym.sample_rate);
    }
    // a render streams WAV stems from disk; it must equal the in-memory mix (analyze renders in memory)
    let d = dir.path();
    std::fs::create_dir(d.join("s")).unwrap();
    write_wav(
        &d.join("s/a.wav"),
        RATE,
        24,
        &[noise(1, 30_000, 0.3), noise(2, 30_000, 0.3)],
    );
    write_wav(&d.join("s/b.wav"), RATE, 16, &[noise(3, 20_000, 0.3)]);
    let rendered = ttymix()
        .current_dir(d)
        .args(["render", "s", "-o", "o.wav", "--bits", "32f", "--json"])
        .output()
        .unwrap();
    let analyzed = ttymix()
        .current_dir(d)
        .args(["analyze", "s", "--json"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&rendered.stdout).unwrap();
    let a: serde_json::Value = serde_json::from_slice(&analyzed.stdout).unwrap();
    for k in [
        "integrated_lufs",
        "true_peak_dbtp",
        "sample_peak_dbfs",
        "duration_s",
    ] {
        assert_eq!(r[k], a["mix"][k], "{k}");
    }
}

/// A render does not depend on its block size, effect tails included: the demo (with its reverb and echo
/// buses, so the render runs past the end until the tail is quiet) renders to the same samples and the same
/// length at 1,000, 4,096 and the default 32,768-frame blocks.
#[test]
fn render_is_the_same_at_any_block_size_tails_included() {
    use ttymix::load::LoadedSession;
    use ttymix::render::{render_to_memory, RenderOptions, RENDER_BLOCK_FRAMES};
    use ttymix::session::Session;
    let loaded = LoadedSession::load(Session::open("demo", |_| false).unwrap(), Some(48_000));
    let render = |block_frames: usize| {
        let opts = RenderOptions {
            block_frames,
            ..RenderOptions::default()
        };
        render_to_memory(&loaded, &opts).unwrap().0
    };
    let reference = render(RENDER_BLOCK_FRAMES);
    let song_frames = loaded.length_frames() as usize;
    assert!(
        reference.len() / 2 > song_frames,
        "the demo's effect tails run past the song ({} <= {song_frames} frames)",
        reference.len() / 2
    );
    for block in [1_000, 4_096] {
        let other = render(block);
        assert_eq!(
            other.len(),
            reference.len(),
            "length at {block}-frame blocks"
        );
        assert!(other == reference, "samples differ at {block}-frame blocks");
    }
}

/// The file render runs the master strip on a pipeline stage of its own (`run_engine_pipelined`); it must
/// give exactly what the plain loop (`render_to_memory`) gives: the limiter's latency dropped, the effect
/// tail cut on the same frame, the same samples and the same report, at any block size and for a range.
#[test]
fn the_pipelined_file_render_equals_the_plain_loop() {
    use ttymix::load::LoadedSession;
    use ttymix::render::{render_to_file, render_to_memory, Bits, RenderOptions};
    use ttymix::session::Session;
    let dir = tempdir();
    let n = 30_000;
    write_wav(
        &dir.path().join("a.wav"),
        RATE,
        24,
        &[noise(7, n, 0.9), noise(8, n, 0.7)],
    );
    write_wav(
        &dir.path().join("b.wav"),
        RATE,
        24,
        &[sine(220.0, 0.8, RATE, n)],
    );
    let toml = "sample_rate = 48000\n\
        [master]\ngain_db = 4.0\n\
        [master.compressor]\nthreshold_db = -20.0\nratio = 3.0\n\
        [master.limiter]\nceiling_dbtp = -1.0\n\
        [[track]]\nfile = \"a.wav\"\n[[track.send]]\nbus = \"Verb\"\nlevel_db = -6.0\n\
        [[track]]\nfile = \"b.wav\"\n[[track.send]]\nbus = \"Echo\"\nlevel_db = -3.0\n\
        [[bus]]\nname = \"Verb\"\nkind = \"reverb\"\n\
        [[bus]]\nname = \"Echo\"\nkind = \"delay\"\n";
    let path = dir.path().join("mix.toml");
    std::fs::write(&path, toml).unwrap();
    let loaded = LoadedSession::load(Session::open_file(&path).unwrap(), None);
    let cases = [
        (1_000, None, None),
        (4_096, None, None),
        (777, Some(0.1), Some(0.5)),
    ];
    for (block_frames, from_s, to_s) in cases {
        let opts = RenderOptions {
            block_frames,
            from_s,
            to_s,
            ..RenderOptions::default()
        };
        let (want, want_report) = render_to_memory(&loaded, &opts).unwrap();
        let out = dir.path().join("out.wav");
        let report = render_to_file(&loaded, &out, Bits::Float32, &opts).unwrap();
        let mut r = hound::WavReader::open(&out).unwrap();
        let got: Vec<f32> = r.samples::<f32>().map(|s| s.unwrap()).collect();
        let case = format!("{block_frames}-frame blocks, from {from_s:?} to {to_s:?}");
        assert_eq!(got.len(), want.len(), "length, {case}");
        assert!(got == want, "samples differ, {case}");
        assert_eq!(report, want_report, "report, {case}");
        if to_s.is_none() {
            // a tail past the stems and a limiter at work, or the comparison would prove little
            assert!(got.len() / 2 > n, "no tail, {case}");
            assert!(
                report.true_peak_dbtp.unwrap() > -1.5,
                "limiter idle, {case}"
            );
        }
    }
}
