//! Run-time routing: a track's or group bus's output and its sends change by command. After the crossfade the
//! engine nulls against one built with that routing from the start; the change is click-free, block-size
//! invariant, and loops or wrong bus kinds are refused.

use ttymix::engine::{
    BusInit, BusKind, Command, DelayState, Engine, EngineConfig, MasterState, MemorySource, Output,
    SendState, StripId, StripParam, StripState, TrackInit, TransportCommand, RAMP_MS,
};

const RATE: u32 = 48_000;
const N: usize = 24_000;

fn ramp_frames() -> usize {
    (RAMP_MS / 1000.0 * RATE as f32).round() as usize
}

fn sine(freq: f32, n: usize, amp: f32) -> Vec<f32> {
    (0..n)
        .map(|i| amp * (2.0 * std::f32::consts::PI * freq * i as f32 / RATE as f32).sin())
        .collect()
}

/// Buses: 0 group (−6 dB), 1 group (+2 dB), 2 delay (5 ms, no feedback), 3 group (0 dB).
fn buses(bus0_out: Output) -> Vec<BusInit> {
    vec![
        BusInit {
            kind: BusKind::Group,
            state: StripState {
                gain_db: -6.0,
                output: bus0_out,
                ..StripState::default()
            },
        },
        BusInit {
            kind: BusKind::Group,
            state: StripState {
                gain_db: 2.0,
                ..StripState::default()
            },
        },
        BusInit {
            kind: BusKind::Delay(DelayState {
                time_ms: 5.0,
                feedback: 0.0,
                low_cut_hz: 20.0,
                high_cut_hz: 20_000.0,
                ping_pong: false,
            }),
            state: StripState::default(),
        },
        BusInit {
            kind: BusKind::Group,
            state: StripState::default(),
        },
    ]
}

fn engine(track0: StripState, bus0_out: Output, max_block: usize) -> Engine {
    let tracks = vec![
        TrackInit {
            source: Box::new(MemorySource::from_vecs(vec![sine(440.0, N, 0.5)])),
            state: track0,
        },
        TrackInit {
            source: Box::new(MemorySource::from_vecs(vec![
                sine(97.0, N, 0.3),
                sine(1234.0, N, 0.2),
            ])),
            state: StripState {
                output: Output::Bus(0),
                ..StripState::default()
            },
        },
    ];
    let mut e = Engine::with_buses(
        EngineConfig::new(RATE, max_block),
        MasterState::default(),
        tracks,
        buses(bus0_out),
    );
    e.push(Command::transport(0, TransportCommand::Play))
        .unwrap();
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

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Largest sample-to-sample step in either channel (a click shows as a jump far above the signal's own).
fn max_step(x: &[f32]) -> f32 {
    x.chunks_exact(2)
        .zip(x.chunks_exact(2).skip(1))
        .map(|(a, b)| (a[0] - b[0]).abs().max((a[1] - b[1]).abs()))
        .fold(0.0, f32::max)
}

const AT: u64 = 4_000;

#[test]
fn track_output_change_nulls_against_built_routing() {
    let mut live = engine(StripState::default(), Output::Master, 256);
    live.push(Command::strip(
        AT,
        StripId::Track(0),
        StripParam::Route(Output::Bus(0)),
    ))
    .unwrap();
    let a = run(&mut live, N, 256);
    let mut built = engine(
        StripState {
            output: Output::Bus(0),
            ..StripState::default()
        },
        Output::Master,
        256,
    );
    let b = run(&mut built, N, 256);
    let mut before = engine(StripState::default(), Output::Master, 256);
    let c = run(&mut before, N, 256);
    let settle = 2 * (AT as usize + ramp_frames());
    // before the change: the old routing, exactly
    assert_eq!(&a[..2 * AT as usize], &c[..2 * AT as usize]);
    // after the ramp: the new routing, exactly (same operations in the same order)
    assert!(max_diff(&a[settle..], &b[settle..]) < 1e-6);
    // the routes differ by 6 dB, so the comparison can fail
    assert!(max_diff(&b[settle..], &c[settle..]) > 0.1);
    assert_eq!(live.track_output(0), Some(Output::Bus(0)));
    // click-free: no step larger than the signals' own largest step (plus a margin for the crossfade slope)
    let own = max_step(&b).max(max_step(&c));
    assert!(max_step(&a) <= own * 1.05, "{} vs {own}", max_step(&a));
    assert_eq!(live.refused_commands(), 0);
}

#[test]
fn bus_output_change_and_loop_refused() {
    // bus 0 (fed by track 1) moves to bus 1; bus 1 -> bus 0 would close a loop and is refused
    let mut live = engine(StripState::default(), Output::Master, 128);
    live.push(Command::strip(
        AT,
        StripId::Bus(0),
        StripParam::Route(Output::Bus(1)),
    ))
    .unwrap();
    live.push(Command::strip(
        AT + 10,
        StripId::Bus(1),
        StripParam::Route(Output::Bus(0)),
    ))
    .unwrap();
    // an effect bus is not an output; an effect bus's own output is fixed; a bus is not its own output
    live.push(Command::strip(
        AT + 20,
        StripId::Track(0),
        StripParam::Route(Output::Bus(2)),
    ))
    .unwrap();
    live.push(Command::strip(
        AT + 20,
        StripId::Bus(2),
        StripParam::Route(Output::Bus(0)),
    ))
    .unwrap();
    live.push(Command::strip(
        AT + 20,
        StripId::Bus(3),
        StripParam::Route(Output::Bus(3)),
    ))
    .unwrap();
    let a = run(&mut live, N, 128);
    assert_eq!(live.refused_commands(), 4);
    assert_eq!(live.bus_output(0), Some(Output::Bus(1)));
    assert_eq!(live.bus_output(1), Some(Output::Master));
    assert_eq!(live.track_output(0), Some(Output::Master));
    let mut built = engine(StripState::default(), Output::Bus(1), 128);
    let b = run(&mut built, N, 128);
    let settle = 2 * (AT as usize + ramp_frames());
    assert!(max_diff(&a[settle..], &b[settle..]) < 1e-6);
    let mut old = engine(StripState::default(), Output::Master, 128);
    let c = run(&mut old, N, 128);
    assert!(max_diff(&b[settle..], &c[settle..]) > 0.02);
}

fn send(bus: u16, level_db: f32, pre_fader: bool, on: bool) -> StripParam {
    StripParam::SendTo {
        bus,
        level_db,
        pre_fader,
        on,
    }
}

#[test]
fn send_added_at_run_time_nulls_against_built_send() {
    for pre_fader in [false, true] {
        let track = StripState {
            gain_db: -4.0,
            ..StripState::default()
        };
        let mut live = engine(track.clone(), Output::Master, 64);
        live.push(Command::strip(
            AT,
            StripId::Track(0),
            send(2, -3.0, pre_fader, true),
        ))
        .unwrap();
        let a = run(&mut live, N, 64);
        let mut built = engine(
            StripState {
                sends: vec![SendState {
                    bus: 2,
                    level_db: -3.0,
                    pre_fader,
                }],
                ..track.clone()
            },
            Output::Master,
            64,
        );
        let b = run(&mut built, N, 64);
        let mut none = engine(track, Output::Master, 64);
        let c = run(&mut none, N, 64);
        // the 5 ms echo of the ramp has passed
        let settle = 2 * (AT as usize + ramp_frames() + 240);
        assert!(
            max_diff(&a[settle..], &b[settle..]) < 1e-6,
            "pre {pre_fader}"
        );
        assert!(max_diff(&b[settle..], &c[settle..]) > 0.05);
        assert_eq!(&a[..2 * AT as usize], &c[..2 * AT as usize]);
    }
}

#[test]
fn send_pre_post_switch_and_off() {
    let track = StripState {
        gain_db: -10.0,
        sends: vec![SendState {
            bus: 2,
            level_db: 0.0,
            pre_fader: false,
        }],
        ..StripState::default()
    };
    let mut live = engine(track.clone(), Output::Master, 100);
    live.push(Command::strip(
        AT,
        StripId::Track(0),
        send(2, 0.0, true, true),
    ))
    .unwrap();
    let a = run(&mut live, N / 2, 100);
    let mut pre = engine(
        StripState {
            sends: vec![SendState {
                bus: 2,
                level_db: 0.0,
                pre_fader: true,
            }],
            ..track.clone()
        },
        Output::Master,
        100,
    );
    let b = run(&mut pre, N / 2, 100);
    let settle = 2 * (AT as usize + ramp_frames() + 240);
    assert!(max_diff(&a[settle..], &b[settle..]) < 1e-6);
    // the switch is a crossfade: no step beyond the signals' own (an instant switch jumps by ~0.2)
    let mut post = engine(track.clone(), Output::Master, 100);
    let c = run(&mut post, N / 2, 100);
    let own = max_step(&b).max(max_step(&c));
    assert!(max_step(&a) <= own * 1.05, "{} vs {own}", max_step(&a));
    // switching the send off ends at no send at all
    let mut off = engine(track.clone(), Output::Master, 100);
    off.push(Command::strip(
        AT,
        StripId::Track(0),
        send(2, 0.0, false, false),
    ))
    .unwrap();
    let a = run(&mut off, N, 100);
    let mut none = engine(
        StripState {
            sends: vec![],
            ..track.clone()
        },
        Output::Master,
        100,
    );
    let c = run(&mut none, N, 100);
    assert!(max_diff(&a[settle..], &c[settle..]) < 1e-6);
    let mut on = engine(track.clone(), Output::Master, 100);
    let b = run(&mut on, N, 100);
    let own = max_step(&b).max(max_step(&c));
    assert!(max_step(&a) <= own * 1.05, "{} vs {own}", max_step(&a));
    assert_eq!(off.refused_commands(), 0);
}

#[test]
fn send_to_a_group_bus_or_from_an_effect_bus_is_refused() {
    let mut e = engine(StripState::default(), Output::Master, 64);
    for (strip, p) in [
        (StripId::Track(0), send(0, 0.0, false, true)),
        (StripId::Track(0), send(9, 0.0, false, true)),
        (StripId::Bus(2), send(2, 0.0, false, true)),
        (StripId::Master, send(2, 0.0, false, true)),
        (StripId::Master, StripParam::Route(Output::Bus(0))),
        (StripId::Track(5), StripParam::Route(Output::Master)),
    ] {
        e.push(Command::strip(10, strip, p)).unwrap();
    }
    // allowed: a group bus sends to an effect bus
    e.push(Command::strip(
        10,
        StripId::Bus(1),
        send(2, -6.0, false, true),
    ))
    .unwrap();
    run(&mut e, 1000, 64);
    assert_eq!(e.refused_commands(), 6);
}

#[test]
fn change_during_a_crossfade_waits_for_it() {
    // to bus 0 at AT, back to the master 100 frames later: ends on the master, never a jump
    let mut live = engine(StripState::default(), Output::Master, 256);
    for (at, o) in [(AT, Output::Bus(0)), (AT + 100, Output::Master)] {
        live.push(Command::strip(at, StripId::Track(0), StripParam::Route(o)))
            .unwrap();
    }
    let a = run(&mut live, N, 256);
    let mut c = engine(StripState::default(), Output::Master, 256);
    let c = run(&mut c, N, 256);
    let settle = 2 * (AT as usize + 2 * ramp_frames());
    assert!(max_diff(&a[settle..], &c[settle..]) < 1e-6);
    // halfway through the second crossfade it still differs (it really went to the bus)
    let mid = 2 * (AT as usize + ramp_frames() + ramp_frames() / 2);
    assert!(max_diff(&a[mid..mid + 200], &c[mid..mid + 200]) > 0.01);
    assert!(max_step(&a) <= max_step(&c) * 1.05);
}

#[test]
fn routing_changes_are_block_size_invariant() {
    let script = |e: &mut Engine| {
        let cmds = [
            (1_000, StripId::Track(0), StripParam::Route(Output::Bus(0))),
            (1_100, StripId::Track(0), StripParam::Route(Output::Bus(3))),
            (1_333, StripId::Bus(0), StripParam::Route(Output::Bus(1))),
            (2_000, StripId::Track(1), send(2, -2.0, true, true)),
            (2_222, StripId::Track(1), send(2, -8.0, false, true)),
            (2_500, StripId::Bus(3), StripParam::Route(Output::Bus(1))),
            (3_001, StripId::Bus(1), send(2, 0.0, false, true)),
            (3_500, StripId::Track(1), send(2, 0.0, false, false)),
            (4_000, StripId::Bus(3), StripParam::Route(Output::Bus(0))),
            (4_700, StripId::Bus(0), StripParam::Route(Output::Master)),
        ];
        for (at, s, p) in cmds {
            e.push(Command::strip(at, s, p)).unwrap();
        }
    };
    let mut reference = None;
    for block in [1usize, 7, 64, 333, 512] {
        let mut e = engine(StripState::default(), Output::Master, 512);
        script(&mut e);
        let out = run(&mut e, 8_000, block);
        assert_eq!(e.refused_commands(), 0, "block {block}");
        match &reference {
            None => reference = Some(out),
            Some(r) => assert!(out == *r, "block {block} differs"),
        }
    }
}
