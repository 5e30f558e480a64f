#![allow(clippy::needless_range_loop)]
//! The monitor section after the master: mono check is exactly (L+R)/2 on both sides, dim exactly −20 dB,
//! switching ramps per sample independent of block size, and with both off the output is bit-identical
//! to an engine that never had them (a render equals playback with them off).

use ttymix::engine::monitor::{dim_gain, DIM_DB};
use ttymix::engine::{
    Command, CommandKind, Engine, EngineConfig, MasterState, MemorySource, MonitorCommand,
    StripState, TrackInit, TransportCommand, RAMP_MS,
};

const RATE: u32 = 48_000;
const FRAMES: usize = 48_000;

/// Two tracks with different content so that L and R differ: a 220 Hz sine panned left, 1 kHz right.
fn engine() -> Engine {
    let sine = |f: f32, a: f32| -> Vec<f32> {
        (0..FRAMES)
            .map(|i| a * (2.0 * std::f32::consts::PI * f * i as f32 / RATE as f32).sin())
            .collect()
    };
    let tracks = vec![
        TrackInit {
            source: Box::new(MemorySource::from_vecs(vec![sine(220.0, 0.5)])),
            state: StripState {
                pan: -0.7,
                ..StripState::default()
            },
        },
        TrackInit {
            source: Box::new(MemorySource::from_vecs(vec![sine(1000.0, 0.3)])),
            state: StripState {
                pan: 0.9,
                ..StripState::default()
            },
        },
    ];
    let mut e = Engine::new(EngineConfig::new(RATE, 512), MasterState::default(), tracks);
    e.push(Command::transport(0, TransportCommand::Play))
        .unwrap();
    e
}

fn run(mut e: Engine, cmds: Vec<Command>, block: usize) -> (Vec<f32>, Vec<f32>) {
    for c in cmds {
        e.push(c).unwrap();
    }
    let (mut l, mut r) = (vec![0.0f32; FRAMES], vec![0.0f32; FRAMES]);
    let mut done = 0;
    while done < FRAMES {
        let n = block.min(FRAMES - done);
        e.process(&mut l[done..done + n], &mut r[done..done + n]);
        done += n;
    }
    (l, r)
}

fn mon(at: u64, m: MonitorCommand) -> Command {
    Command {
        at_frame: at,
        kind: CommandKind::Monitor(m),
    }
}

fn ramp_frames() -> usize {
    (RAMP_MS / 1000.0 * RATE as f32).round() as usize
}

#[test]
fn mono_is_the_exact_mid_sum_on_both_sides_after_the_ramp() {
    let (al, ar) = run(engine(), vec![], 512);
    let on = 10_000u64;
    let (bl, br) = run(engine(), vec![mon(on, MonitorCommand::Mono(true))], 512);
    // the signal really is stereo, or the test could not fail
    assert!(al.iter().zip(&ar).any(|(l, r)| (l - r).abs() > 0.1));
    // untouched before the switch
    assert_eq!(&al[..on as usize], &bl[..on as usize]);
    assert_eq!(&ar[..on as usize], &br[..on as usize]);
    for i in on as usize + ramp_frames()..FRAMES {
        let m = (al[i] + ar[i]) * 0.5;
        assert_eq!(bl[i], m, "frame {i}");
        assert_eq!(br[i], m, "frame {i}");
    }
    // a centred signal keeps its level: L = R = x gives x
    let x = 0.25f32;
    assert_eq!((x + x) * 0.5, x);
}

#[test]
fn dim_is_exactly_minus_20_db_after_the_ramp() {
    assert_eq!(DIM_DB, -20.0);
    assert!((dim_gain() - 0.1).abs() < 1e-7);
    let (al, ar) = run(engine(), vec![], 512);
    let (bl, br) = run(engine(), vec![mon(0, MonitorCommand::Dim(true))], 512);
    let g = 10f32.powf(-20.0 / 20.0);
    for i in ramp_frames()..FRAMES {
        assert_eq!(bl[i], al[i] * g, "frame {i}");
        assert_eq!(br[i], ar[i] * g, "frame {i}");
    }
    // the ramp moves monotonically from 1 to 0.1 of the level (no jump, no click)
    let ratio = |i: usize| bl[i] / al[i];
    let mut last = 1.0f32;
    for i in 1..ramp_frames() {
        if al[i].abs() > 1e-3 {
            let r = ratio(i);
            assert!(r <= last + 1e-5 && r >= g - 1e-5, "frame {i}: {r}");
            last = r;
        }
    }
}

#[test]
fn mono_and_dim_together_and_block_size_invariant() {
    let cmds = || {
        vec![
            mon(1_000, MonitorCommand::Mono(true)),
            mon(1_333, MonitorCommand::Dim(true)),
            mon(20_017, MonitorCommand::Mono(false)),
        ]
    };
    let (al, ar) = run(engine(), vec![], 512);
    let (bl, br) = run(engine(), cmds(), 512);
    for block in [1usize, 7, 64, 500] {
        let (cl, cr) = run(engine(), cmds(), block);
        assert_eq!(bl, cl, "block {block}");
        assert_eq!(br, cr, "block {block}");
    }
    let g = dim_gain();
    let i = 10_000;
    assert_eq!(bl[i], (al[i] + ar[i]) * 0.5 * g);
    assert_eq!(br[i], (al[i] + ar[i]) * 0.5 * g);
    let i = 30_000;
    assert_eq!(bl[i], al[i] * g);
    assert_eq!(br[i], ar[i] * g);
}

#[test]
fn switched_off_again_the_output_is_bit_identical_to_no_monitor() {
    // what render produces (no monitor commands ever) against playback that used mono and dim and then
    // switched them off
    let (al, ar) = run(engine(), vec![], 512);
    let off = 12_000u64;
    let (bl, br) = run(
        engine(),
        vec![
            mon(100, MonitorCommand::Mono(true)),
            mon(200, MonitorCommand::Dim(true)),
            mon(off, MonitorCommand::Mono(false)),
            mon(off, MonitorCommand::Dim(false)),
        ],
        256,
    );
    assert_ne!(&al[..off as usize], &bl[..off as usize]);
    let settled = off as usize + ramp_frames();
    assert_eq!(&al[settled..], &bl[settled..]);
    assert_eq!(&ar[settled..], &br[settled..]);
}
