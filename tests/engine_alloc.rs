//! Real-time safety: every command kind goes through `Engine::push` + `Engine::process` under the
//! `assert_no_alloc` allocator, which counts any allocation or deallocation inside the guarded closure.

mod common;

use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count, AllocDisabler};
use ttymix::engine::{
    BusInit, BusKind, Command, CommandKind, DelayState, Engine, EngineConfig, LimiterState,
    MasterState, MemorySource, MonitorCommand, Output, ReverbState, SendState, StripId, StripParam,
    StripState, TrackInit, TransportCommand,
};

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

fn tracks() -> Vec<TrackInit> {
    (0..4)
        .map(|i| TrackInit {
            source: Box::new(MemorySource::from_vecs(vec![
                vec![0.1 * i as f32; 50_000];
                1 + i % 2
            ])),
            state: StripState {
                output: if i == 0 {
                    Output::Bus(0)
                } else {
                    Output::Master
                },
                sends: vec![
                    SendState {
                        bus: 1,
                        level_db: -6.0,
                        pre_fader: false,
                    },
                    SendState {
                        bus: 2,
                        level_db: -10.0,
                        pre_fader: true,
                    },
                ],
                ..StripState::default()
            },
        })
        .collect()
}

fn buses() -> Vec<BusInit> {
    vec![
        BusInit {
            kind: BusKind::Group,
            state: StripState::default(),
        },
        BusInit {
            kind: BusKind::Reverb(ReverbState::default()),
            state: StripState::default(),
        },
        BusInit {
            kind: BusKind::Delay(DelayState::default()),
            state: StripState::default(),
        },
        BusInit {
            kind: BusKind::Group,
            state: StripState::default(),
        },
    ]
}

/// Routing commands: outputs (accepted, queued behind a crossfade, and refused loops/kinds) and sends
/// (created, changed, switched pre/post, off, and refused).
fn routing_commands(at: u64) -> Vec<Command> {
    use StripId::*;
    use StripParam::{Route as Out, SendTo as Send};
    let send = |bus, level_db, pre_fader, on| Send {
        bus,
        level_db,
        pre_fader,
        on,
    };
    let v = [
        (Track(1), Out(Output::Bus(0))),
        (Track(1), Out(Output::Bus(3))),
        (Track(0), Out(Output::Master)),
        (Bus(0), Out(Output::Bus(3))),
        (Bus(3), Out(Output::Bus(0))),
        (Bus(1), Out(Output::Bus(0))),
        (Track(2), Out(Output::Bus(2))),
        (Master, Out(Output::Bus(0))),
        (Track(3), send(1, -4.0, true, true)),
        (Track(3), send(2, -4.0, false, false)),
        (Bus(0), send(1, -12.0, false, true)),
        (Bus(3), send(2, -12.0, true, true)),
        (Bus(1), send(2, 0.0, false, true)),
        (Track(0), send(0, 0.0, false, true)),
        (Bus(0), Out(Output::Master)),
        (Bus(3), send(2, -12.0, true, false)),
    ];
    v.into_iter()
        .enumerate()
        .map(|(k, (s, p))| Command::strip(at + 2 * k as u64, s, p))
        .collect()
}

/// Every strip parameter (one value each, plus toggles both ways).
fn all_commands(at: u64) -> Vec<Command> {
    let mut v = Vec::new();
    for (k, p) in common::every_strip_param().iter().enumerate() {
        v.push(Command::strip(at + k as u64 * 7, StripId::Track(1), *p));
        v.push(Command::strip(at + k as u64 * 5, StripId::Master, *p));
        for b in 0..4u16 {
            v.push(Command::strip(at + k as u64 * 3, StripId::Bus(b), *p));
        }
    }
    v.extend(routing_commands(at + 50));
    for t in [
        TransportCommand::Play,
        TransportCommand::Seek { frame: 1234 },
        TransportCommand::SetLoop {
            start_frame: 1000,
            end_frame: 1500,
        },
        TransportCommand::LoopEnabled(false),
        TransportCommand::LoopEnabled(true),
        TransportCommand::Pause,
        TransportCommand::Play,
    ] {
        v.push(Command::transport(at + 3, t));
    }
    // the monitor section, on and off at different stamps (ramping through blocks)
    for (k, m) in [
        MonitorCommand::Mono(true),
        MonitorCommand::Dim(true),
        MonitorCommand::Dim(false),
        MonitorCommand::Mono(false),
        MonitorCommand::Dim(true),
        MonitorCommand::Listen {
            reference: Some(0),
            gain_db: -4.0,
        },
        MonitorCommand::Listen {
            reference: Some(5),
            gain_db: 0.0,
        },
        MonitorCommand::Listen {
            reference: None,
            gain_db: 0.0,
        },
        MonitorCommand::Listen {
            reference: Some(0),
            gain_db: 2.0,
        },
    ]
    .into_iter()
    .enumerate()
    {
        v.push(Command {
            at_frame: at + 100 * k as u64,
            kind: CommandKind::Monitor(m),
        });
    }
    v.push(Command {
        at_frame: at + 50,
        kind: CommandKind::SetReference {
            index: 0,
            source: Box::new(MemorySource::from_vecs(vec![vec![0.3; 60_000]; 2])),
        },
    });
    v.push(Command {
        at_frame: at + 11,
        kind: CommandKind::ReplaceSource {
            track: 2,
            source: Box::new(MemorySource::from_vecs(vec![vec![0.2; 70_000]; 2])),
        },
    });
    v
}

#[test]
fn the_guard_detects_allocation() {
    // Proves the check below can fail: an allocation inside the guard is counted.
    reset_violation_count();
    let v = assert_no_alloc(|| vec![1u8; 100]);
    assert!(violation_count() > 0);
    drop(v);
    reset_violation_count();
}

#[test]
fn push_and_process_never_allocate() {
    let mut e = Engine::with_buses(
        EngineConfig {
            max_pending_commands: 2048,
            ..EngineConfig::new(48_000, 512)
        },
        MasterState {
            limiter: Some(LimiterState::default()),
            ..MasterState::default()
        },
        tracks(),
        buses(),
    );
    let mut l = vec![0.0f32; 512];
    let mut r = vec![0.0f32; 512];
    let mut inter = vec![0.0f32; 1024];
    reset_violation_count();
    for round in 0..4u64 {
        // commands are built (allocated) off the audio thread, like the UI does
        let mut cmds = all_commands(e.clock_frames());
        let count = cmds.len();
        assert_no_alloc(|| {
            for c in cmds.drain(..) {
                if e.push(c).is_err() {
                    unreachable!()
                }
            }
            for block in [1usize, 37, 64, 256, 512] {
                e.process(&mut l[..block], &mut r[..block]);
            }
            e.process_interleaved(&mut inter);
        });
        drop(cmds);
        assert!(count > 20);
        // the replaced source comes back to be dropped here, off the audio thread
        let retired = e.take_retired_source();
        assert!(retired.is_some(), "round {round}: old source handed back");
        drop(retired);
        // from the second round on, the replaced reference comes back too
        let reference = e.take_retired_source();
        assert_eq!(
            reference.is_some(),
            round > 0,
            "round {round}: old reference handed back"
        );
        drop(reference);
    }
    assert_eq!(violation_count(), 0, "allocations inside the audio path");
    // the routing commands really ran: each round refuses the same loop/kind/master ones
    assert!(e.refused_commands() >= 4 * 5, "{}", e.refused_commands());
    assert!(e.is_playing());
    assert_eq!(e.length_frames(), 70_000);
}
