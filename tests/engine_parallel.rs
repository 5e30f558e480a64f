//! The offline engine's parallel track strips ([`Engine::set_offline_parallel`]) give bit-for-bit the
//! single-threaded engine's output: many full-strip tracks (mono and stereo) with pre- and post-fader sends to
//! a reverb and a delay bus, group buses feeding group buses, the master limiter, and parameter, mute, solo and
//! routing commands in the middle of the render, at several block sizes. (Checked to fail: summing the tracks'
//! outputs in reverse order in the parallel path makes it differ.)

use ttymix::engine::{
    BusInit, BusKind, Command, CompState, DelayState, Engine, EngineConfig, EqBandState, EqState,
    GateState, LimiterState, MasterState, MemorySource, Output, PassState, ReverbState, SendState,
    StripId, StripParam, StripState, TrackInit, TransportCommand,
};

const RATE: u32 = 48_000;
const N: usize = 30_000;

/// Deterministic noise with a decaying envelope per beat (so gate and compressor move).
fn signal(seed: u32, n: usize, amp: f32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let noise = (x as f32 / u32::MAX as f32) * 2.0 - 1.0;
            let beat = (i % 6_000) as f32 / 6_000.0;
            let tone = (2.0 * std::f32::consts::PI * (110.0 * (1 + seed % 5) as f32) * i as f32
                / RATE as f32)
                .sin();
            amp * (1.0 - beat).powi(3) * (0.5 * noise + 0.5 * tone)
        })
        .collect()
}

fn full_strip(i: usize, output: Output) -> StripState {
    let f = i as f32;
    StripState {
        trim_db: -1.0 + 0.5 * f,
        gain_db: -3.0 + 0.7 * f,
        pan: -0.8 + 0.25 * f,
        invert_polarity: i % 3 == 1,
        hpf: PassState {
            enabled: true,
            freq_hz: 60.0 + 10.0 * f,
            slope_24: i.is_multiple_of(2),
        },
        lpf: PassState {
            enabled: i % 2 == 1,
            freq_hz: 9_000.0,
            slope_24: false,
        },
        eq: EqState {
            enabled: true,
            bands: [
                (120.0, 3.0, 0.7),
                (500.0 + 30.0 * f, -4.0, 1.2),
                (2_500.0, 2.5, 1.0),
                (9_000.0, -2.0, 0.7),
            ]
            .map(|(freq_hz, gain_db, q)| EqBandState {
                enabled: true,
                freq_hz,
                gain_db,
                q,
            }),
        },
        gate: GateState {
            enabled: true,
            threshold_db: -40.0,
            ratio: 4.0,
            range_db: -30.0,
            attack_ms: 1.0,
            hold_ms: 10.0,
            release_ms: 60.0,
        },
        compressor: CompState {
            enabled: true,
            threshold_db: -20.0,
            ratio: 4.0,
            knee_db: 6.0,
            attack_ms: 5.0,
            release_ms: 80.0,
            makeup_db: 3.0,
            sidechain_hpf_hz: if i.is_multiple_of(2) { 100.0 } else { 0.0 },
        },
        sends: vec![
            SendState {
                bus: 2,
                level_db: -12.0 + f,
                pre_fader: false,
            },
            SendState {
                bus: 3,
                level_db: -15.0,
                pre_fader: i.is_multiple_of(2),
            },
        ],
        output,
        ..StripState::default()
    }
}

/// Tracks 0..7: two into group bus 0, two into group bus 1 (which feeds bus 0), the rest to the master.
/// Buses: 0 group, 1 group → 0, 2 reverb, 3 delay.
fn engine(max_block: usize, parallel: bool) -> Engine {
    let outputs = [
        Output::Bus(0),
        Output::Bus(0),
        Output::Bus(1),
        Output::Bus(1),
        Output::Master,
        Output::Master,
        Output::Master,
    ];
    let tracks = outputs
        .iter()
        .enumerate()
        .map(|(i, &o)| {
            let s = i as u32;
            let chans = if i % 3 == 2 {
                vec![signal(s, N, 0.7)]
            } else {
                vec![signal(s, N, 0.6), signal(s + 100, N, 0.5)]
            };
            TrackInit {
                source: Box::new(MemorySource::from_vecs(chans)),
                state: full_strip(i, o),
            }
        })
        .collect();
    let buses = vec![
        BusInit {
            kind: BusKind::Group,
            state: StripState {
                gain_db: -2.0,
                ..full_strip(7, Output::Master)
            },
        },
        BusInit {
            kind: BusKind::Group,
            state: StripState {
                output: Output::Bus(0),
                sends: vec![],
                ..StripState::default()
            },
        },
        BusInit {
            kind: BusKind::Reverb(ReverbState::default()),
            state: StripState::default(),
        },
        BusInit {
            kind: BusKind::Delay(DelayState {
                time_ms: 30.0,
                ..DelayState::default()
            }),
            state: StripState::default(),
        },
    ];
    let master = MasterState {
        limiter: Some(LimiterState::default()),
        ..MasterState::default()
    };
    let mut e = Engine::with_buses(EngineConfig::new(RATE, max_block), master, tracks, buses);
    e.set_metering(false);
    e.set_offline_parallel(parallel);
    let cmds = [
        Command::transport(0, TransportCommand::Play),
        Command::strip(3_001, StripId::Track(1), StripParam::EqBandGainDb(1, 6.0)),
        Command::strip(5_555, StripId::Track(4), StripParam::Mute(true)),
        Command::strip(9_000, StripId::Track(5), StripParam::Route(Output::Bus(1))),
        Command::strip(11_111, StripId::Track(2), StripParam::Solo(true)),
        Command::strip(16_000, StripId::Track(2), StripParam::Solo(false)),
        Command::strip(17_017, StripId::Track(0), StripParam::HpfFreqHz(200.0)),
        Command::strip(20_000, StripId::Track(6), StripParam::SendPreFader(0, true)),
        Command::strip(
            22_222,
            StripId::Track(3),
            StripParam::CompThresholdDb(-30.0),
        ),
        Command::strip(25_000, StripId::Track(4), StripParam::Mute(false)),
    ];
    for c in cmds {
        e.push(c).unwrap();
    }
    e
}

fn run(e: &mut Engine, frames: usize, block: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(2 * frames);
    let mut l = vec![0.0; block];
    let mut r = vec![0.0; block];
    let mut done = 0;
    while done < frames {
        let n = block.min(frames - done);
        e.process(&mut l[..n], &mut r[..n]);
        for i in 0..n {
            out.push(l[i]);
            out.push(r[i]);
        }
        done += n;
    }
    out
}

fn first_difference(a: &[f32], b: &[f32]) -> Option<usize> {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .position(|(x, y)| x.to_bits() != y.to_bits())
}

#[test]
fn parallel_strips_are_bit_identical_to_serial() {
    // past the sources' end so the effect tails are in it too
    let frames = N + 12_000;
    let serial = run(&mut engine(256, false), frames, 256);
    let rms = (serial.iter().map(|x| x * x).sum::<f32>() / serial.len() as f32).sqrt();
    assert!(
        rms > 0.01,
        "the reference render is (nearly) silent: rms {rms}"
    );
    // (the large blocks also cover the path that runs two frame ranges of the sums at once, taken when a
    // segment of at least 4,096 frames finds every strip at rest)
    for (max, block) in [
        (256, 256),
        (4096, 4096),
        (16_384, 16_384),
        (1000, 777),
        (64, 64),
    ] {
        let par = run(&mut engine(max, true), frames, block);
        assert_eq!(
            first_difference(&serial, &par),
            None,
            "parallel render with {block}-frame blocks differs from the serial one"
        );
    }
}
