//! Engine tests: null tests against an independent f64 mix, block-size invariance, mute/solo exactness.

use ttymix::engine::{
    Command, Engine, EngineConfig, MasterState, MemorySource, StripId, StripParam, StripState,
    TrackInit, TransportCommand,
};

const RATE: u32 = 48_000;

/// Deterministic pseudo-random signal in [-0.5, 0.5).
fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn db(x: f64) -> f64 {
    10f64.powf(x / 20.0)
}

struct Spec {
    chans: Vec<Vec<f32>>,
    state: StripState,
}

fn engine(specs: &[Spec], master_db: f32, max_block: usize) -> Engine {
    let tracks = specs
        .iter()
        .map(|s| TrackInit {
            source: Box::new(MemorySource::from_vecs(s.chans.clone())),
            state: s.state.clone(),
        })
        .collect();
    let mut e = Engine::new(
        EngineConfig::new(RATE, max_block),
        MasterState {
            gain_db: master_db,
            ..Default::default()
        },
        tracks,
    );
    e.push(Command::transport(0, TransportCommand::Play))
        .unwrap();
    e
}

fn run(e: &mut Engine, frames: usize, block: usize) -> (Vec<f32>, Vec<f32>) {
    let mut l = vec![0.0; frames];
    let mut r = vec![0.0; frames];
    let mut done = 0;
    while done < frames {
        let n = block.min(frames - done);
        let (a, b) = (&mut l[done..done + n], &mut r[done..done + n]);
        e.process(a, b);
        done += n;
    }
    (l, r)
}

/// Independent reference: the documented signal flow in f64.
fn reference(specs: &[Spec], master_db: f64, frames: usize) -> (Vec<f64>, Vec<f64>) {
    let any_solo = specs.iter().any(|s| s.state.solo);
    let mut l = vec![0.0f64; frames];
    let mut r = vec![0.0f64; frames];
    for s in specs {
        let st = &s.state;
        if st.mute || (any_solo && !st.solo) {
            continue;
        }
        let pre = db(st.trim_db as f64) * if st.invert_polarity { -1.0 } else { 1.0 };
        let g = db(st.gain_db as f64);
        let p = st.pan as f64;
        let (gl, gr) = if s.chans.len() == 1 {
            let th = (p + 1.0) * std::f64::consts::FRAC_PI_4;
            (th.cos(), th.sin())
        } else if p >= 0.0 {
            ((p * std::f64::consts::FRAC_PI_2).cos(), 1.0)
        } else {
            (1.0, (-p * std::f64::consts::FRAC_PI_2).cos())
        };
        for i in 0..frames.min(s.chans[0].len()) {
            let xl = s.chans[0][i] as f64 * pre;
            let xr = s.chans[s.chans.len() - 1][i] as f64 * pre;
            l[i] += xl * g * gl;
            r[i] += xr * g * gr;
        }
    }
    let m = db(master_db);
    l.iter_mut().for_each(|x| *x *= m);
    r.iter_mut().for_each(|x| *x *= m);
    (l, r)
}

fn specs() -> Vec<Spec> {
    vec![
        Spec {
            chans: vec![noise(1, 20_000)],
            state: StripState {
                gain_db: -3.0,
                pan: -0.4,
                trim_db: 2.5,
                ..Default::default()
            },
        },
        Spec {
            chans: vec![noise(2, 30_000), noise(3, 30_000)],
            state: StripState {
                gain_db: 1.5,
                pan: 0.7,
                invert_polarity: true,
                ..Default::default()
            },
        },
        Spec {
            chans: vec![noise(4, 25_000)],
            state: StripState {
                trim_db: -6.0,
                pan: 1.0,
                ..Default::default()
            },
        },
        Spec {
            chans: vec![noise(5, 10_000), noise(6, 10_000)],
            state: StripState {
                pan: -0.25,
                gain_db: -12.0,
                ..Default::default()
            },
        },
    ]
}

#[test]
fn mix_equals_independent_f64_sum() {
    let specs = specs();
    let frames = 30_000;
    let mut e = engine(&specs, -1.0, 512);
    assert_eq!(
        e.length_frames(),
        30_000,
        "the mix lasts as long as the longest stem"
    );
    let (l, r) = run(&mut e, frames, 512);
    let (rl, rr) = reference(&specs, -1.0, frames);
    let err = l
        .iter()
        .zip(&rl)
        .chain(r.iter().zip(&rr))
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-6, "max error {err}");
    // static settings apply from the very first sample: no ramp from defaults
    assert!((l[0] as f64 - rl[0]).abs() < 1e-6 && (r[0] as f64 - rr[0]).abs() < 1e-6);
}

#[test]
fn polarity_inverted_copy_nulls() {
    let x = noise(9, 48_000);
    let specs = vec![
        Spec {
            chans: vec![x.clone()],
            state: StripState::default(),
        },
        Spec {
            chans: vec![x],
            state: StripState {
                invert_polarity: true,
                ..Default::default()
            },
        },
    ];
    let (l, r) = run(&mut engine(&specs, 0.0, 256), 48_000, 256);
    let peak = l.iter().chain(&r).fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(
        peak == 0.0 || 20.0 * (peak as f64).log10() < -120.0,
        "residual peak {peak}"
    );
}

#[test]
fn mute_and_solo_give_exact_zeros() {
    let mut s = specs();
    s[0].state.mute = true;
    s[0].state.solo = true; // mute wins over solo
    s[2].state.solo = true;
    let (l, r) = run(&mut engine(&s, 0.0, 128), 30_000, 128);
    // only track 2 (hard right mono) is heard: left is exactly zero
    assert!(l.iter().all(|&x| x == 0.0), "left must be exactly silent");
    assert!(r[..25_000].iter().any(|&x| x != 0.0));
    assert!(
        r[25_000..].iter().all(|&x| x == 0.0),
        "after the soloed stem ends"
    );
    let (_, rr) = reference(&s, 0.0, 30_000);
    let err = r
        .iter()
        .zip(&rr)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-6, "{err}");
}

fn automation(e: &mut Engine) {
    let cmds = [
        (1_000, StripId::Track(0), StripParam::GainDb(-20.0)),
        (1_001, StripId::Track(1), StripParam::Pan(-1.0)),
        (5_555, StripId::Track(2), StripParam::Mute(true)),
        (7_000, StripId::Track(3), StripParam::Solo(true)),
        (9_000, StripId::Track(3), StripParam::Solo(false)),
        (9_100, StripId::Track(1), StripParam::InvertPolarity(false)),
        (12_345, StripId::Master, StripParam::GainDb(-6.0)),
        (12_400, StripId::Track(0), StripParam::TrimDb(6.0)),
        (15_000, StripId::Track(2), StripParam::Mute(false)),
    ];
    // pushed out of order on purpose: the engine sorts by stamp
    for (at, strip, param) in cmds.iter().rev() {
        e.push(Command::strip(*at, *strip, *param)).unwrap();
    }
    e.push(Command::transport(
        20_000,
        TransportCommand::Seek { frame: 3_000 },
    ))
    .unwrap();
}

#[test]
fn output_does_not_depend_on_block_size() {
    let specs = specs();
    let frames = 26_000;
    let mut outs = Vec::new();
    for block in [1usize, 37, 64, 512, 4096] {
        let mut e = engine(&specs, 0.0, 4096);
        automation(&mut e);
        outs.push((block, run(&mut e, frames, block)));
    }
    let (_, (l0, r0)) = &outs[0];
    // the automation must actually change the output (the test can fail)
    let mut plain = engine(&specs, 0.0, 4096);
    let (pl, _) = run(&mut plain, frames, 512);
    assert!(pl.iter().zip(l0).any(|(a, b)| a != b));
    for (block, (l, r)) in &outs[1..] {
        assert!(l == l0 && r == r0, "block size {block} differs from 1");
    }
}

#[test]
fn fader_change_is_smoothed_without_a_step() {
    // DC input: the output must move in small steps, not jump, after a gain change.
    let specs = vec![Spec {
        chans: vec![vec![0.5; 4000], vec![0.5; 4000]],
        state: StripState::default(),
    }];
    let mut e = engine(&specs, 0.0, 4000);
    e.push(Command::strip(
        1000,
        StripId::Track(0),
        StripParam::GainDb(-40.0),
    ))
    .unwrap();
    let (l, _) = run(&mut e, 4000, 4000);
    assert_eq!(l[999], 0.5);
    let max_step = l
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max);
    assert!(max_step < 0.01, "largest sample step {max_step}");
    assert!(
        (l[3000] - 0.005).abs() < 1e-6,
        "settled at -40 dB: {}",
        l[3000]
    );
}

#[test]
fn loop_wraps_sample_continuously_and_seek_is_exact() {
    let ramp: Vec<f32> = (0..10_000).map(|i| i as f32 / 10_000.0).collect();
    let specs = vec![Spec {
        chans: vec![ramp.clone(), ramp.clone()],
        state: StripState::default(),
    }];
    let mut e = engine(&specs, 0.0, 4096);
    e.push(Command::transport(
        0,
        TransportCommand::SetLoop {
            start_frame: 2_000,
            end_frame: 2_100,
        },
    ))
    .unwrap();
    e.push(Command::transport(
        0,
        TransportCommand::Seek { frame: 1_990 },
    ))
    .unwrap();
    let (l, _) = run(&mut e, 350, 37);
    let expect: Vec<f32> = (0..350)
        .map(|i| {
            let p = 1_990 + i;
            let p = if p >= 2_100 {
                2_000 + (p - 2_000) % 100
            } else {
                p
            };
            ramp[p]
        })
        .collect();
    assert_eq!(l, expect);
}
