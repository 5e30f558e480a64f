//! Real-time safety: every command kind goes through `Engine::push` + `Engine::process` under the
//! `assert_no_alloc` allocator, which counts any allocation or deallocation inside the guarded closure.

use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count, AllocDisabler};
use ttymix::engine::{
    Command, CommandKind, Engine, EngineConfig, MasterState, MemorySource, StripId, StripParam,
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
            state: StripState::default(),
        })
        .collect()
}

fn all_commands(at: u64) -> Vec<Command> {
    let params = [
        StripParam::TrimDb(3.0),
        StripParam::GainDb(-6.0),
        StripParam::Pan(0.5),
        StripParam::Mute(true),
        StripParam::Mute(false),
        StripParam::Solo(true),
        StripParam::Solo(false),
        StripParam::InvertPolarity(true),
    ];
    let mut v = Vec::new();
    for (k, p) in params.iter().enumerate() {
        v.push(Command::strip(at + k as u64 * 7, StripId::Track(1), *p));
        v.push(Command::strip(at + k as u64 * 5, StripId::Master, *p));
    }
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
    let mut e = Engine::new(
        EngineConfig::new(48_000, 512),
        MasterState::default(),
        tracks(),
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
    }
    assert_eq!(violation_count(), 0, "allocations inside the audio path");
    assert!(e.is_playing());
    assert_eq!(e.length_frames(), 70_000);
}
