//! Real-time safety: the exact function every cpal output callback runs
//! ([`DeviceCallback::process`]: denormal flush, renderer slot, chunked rendering, conversion,
//! timing and stats) must not allocate, for every sample format and channel layout, including
//! device buffers larger than the engine block.

mod common;

use assert_no_alloc::{assert_no_alloc, AllocDisabler};
use ttymix::audio::{Data, DeviceCallback, DeviceSample, RenderCallback, I24, U24};

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

/// The allocator's violation counter is global: tests that read it run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// In `warn_debug` mode an allocation inside the guard is counted, not fatal: check the count.
#[test]
fn the_guard_counts_allocations() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_no_alloc::reset_violation_count();
    let v = assert_no_alloc(|| vec![1u8; 100]);
    drop(v);
    assert!(assert_no_alloc::violation_count() > 0);
    assert_no_alloc::reset_violation_count();
}

/// A sine-ish test signal with state, like an engine.
struct Signal {
    phase: f32,
}

impl RenderCallback for Signal {
    fn render(&mut self, out: &mut [f32]) {
        for frame in out.chunks_exact_mut(2) {
            self.phase += 0.01;
            if self.phase > 1.0 {
                self.phase -= 2.0;
            }
            frame[0] = self.phase;
            frame[1] = -self.phase * 0.5;
        }
    }
}

const MAX_BLOCK: usize = 256;

fn drive<T: DeviceSample + PartialEq>() {
    for channels in [1usize, 2, 3, 6] {
        // smaller than, equal to and much larger than the engine block
        for frames in [100usize, MAX_BLOCK, 1000] {
            let mut cb = DeviceCallback::standalone(
                Box::new(Signal { phase: 0.0 }),
                MAX_BLOCK,
                channels,
                48_000,
            );
            let mut buf = vec![T::SILENCE; frames * channels];
            let mut data =
                unsafe { Data::from_parts(buf.as_mut_ptr() as *mut (), buf.len(), T::FORMAT) };
            assert_no_alloc(|| {
                for _ in 0..20 {
                    cb.process(&mut data);
                }
            });
            // the callback really ran: counted, and wrote non-silence on channel 0
            assert_eq!(cb.stats().callbacks(), 20, "{:?}", T::FORMAT);
            assert_eq!(cb.stats().frames(), 20 * frames as u64);
            assert!(
                buf.iter().step_by(channels).any(|s| *s != T::SILENCE),
                "{:?} {channels} ch: output is silent",
                T::FORMAT
            );
            if channels > 2 {
                assert!(
                    buf.chunks_exact(channels)
                        .all(|f| f[2..].iter().all(|s| *s == T::SILENCE)),
                    "{:?}: extra channels silent",
                    T::FORMAT
                );
            }
        }
    }
}

#[test]
fn device_callback_never_allocates_for_any_format() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_no_alloc::reset_violation_count();
    drive::<i8>();
    drive::<i16>();
    drive::<I24>();
    drive::<i32>();
    drive::<i64>();
    drive::<u8>();
    drive::<u16>();
    drive::<U24>();
    drive::<u32>();
    drive::<u64>();
    drive::<f32>();
    drive::<f64>();
    assert_eq!(
        assert_no_alloc::violation_count(),
        0,
        "allocations in the device callback"
    );
}

/// Every strip parameter, one value each (toggles both ways).
/// The player's real callback (`EngineCallback::render`: drain the command ring into the engine, process,
/// publish meters, hand retired sources back), behind the device wrapper, with every command kind arriving
/// through the ring from the UI side: no allocation on the audio thread, and the commands took effect.
#[test]
fn player_callback_with_every_command_kind_never_allocates() {
    use assert_no_alloc::{reset_violation_count, violation_count};
    use std::sync::atomic::Ordering;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use ttymix::engine::{
        BusInit, BusKind, Command, CommandKind, DelayState, Engine, EngineConfig, LimiterState,
        MasterState, MemorySource, MonitorCommand, Output, ReverbState, SendState, StripId,
        StripParam, StripState, TrackInit, TransportCommand,
    };
    let tracks = (0..3)
        .map(|i| TrackInit {
            source: Box::new(MemorySource::from_vecs(vec![vec![0.1; 200_000]; 1 + i % 2])),
            state: StripState {
                output: if i == 0 {
                    Output::Bus(0)
                } else {
                    Output::Master
                },
                sends: vec![SendState {
                    bus: 1,
                    level_db: -6.0,
                    pre_fader: false,
                }],
                ..StripState::default()
            },
        })
        .collect();
    let buses = vec![
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
    ];
    let engine = Engine::with_buses(
        EngineConfig {
            max_pending_commands: 4096,
            ..EngineConfig::new(48_000, MAX_BLOCK)
        },
        MasterState {
            limiter: Some(LimiterState::default()),
            ..MasterState::default()
        },
        tracks,
        buses,
    );
    let (mut handle, callback) = ttymix::player::bridge(engine, 4096);
    let mut device = DeviceCallback::standalone(Box::new(callback), MAX_BLOCK, 2, 48_000);
    let mut buf = vec![0.0f32; 2 * 300];
    let mut data = unsafe { Data::from_parts(buf.as_mut_ptr() as *mut (), buf.len(), f32::FORMAT) };
    reset_violation_count();
    for round in 0..3u64 {
        // built and sent on the UI side
        let mut sent = 0;
        for p in common::every_strip_param() {
            for id in [
                StripId::Track(1),
                StripId::Bus(0),
                StripId::Bus(1),
                StripId::Bus(2),
                StripId::Master,
            ] {
                handle.send(Command::strip(0, id, p));
                sent += 1;
            }
        }
        for t in [
            TransportCommand::Play,
            TransportCommand::Seek {
                frame: 1000 * round,
            },
            TransportCommand::SetLoop {
                start_frame: 10_000,
                end_frame: 20_000,
            },
            TransportCommand::LoopEnabled(false),
            TransportCommand::LoopEnabled(true),
            TransportCommand::Pause,
            TransportCommand::Play,
        ] {
            handle.send(Command::transport(0, t));
            sent += 1;
        }
        // run-time routing: a track to the group bus and back, sends created, changed and switched off
        for (id, p) in [
            (StripId::Track(1), StripParam::Route(Output::Bus(0))),
            (StripId::Track(1), StripParam::Route(Output::Master)),
            (StripId::Bus(0), StripParam::Route(Output::Bus(0))), // a loop: refused, still no allocation
            (
                StripId::Track(1),
                StripParam::SendTo {
                    bus: 2,
                    level_db: -12.0,
                    pre_fader: true,
                    on: true,
                },
            ),
            (
                StripId::Bus(0),
                StripParam::SendTo {
                    bus: 1,
                    level_db: -9.0,
                    pre_fader: false,
                    on: round % 2 == 0,
                },
            ),
        ] {
            handle.send(Command::strip(0, id, p));
            sent += 1;
        }
        // the monitor section: a reference (built here), A/B to it and back, mono check and dim
        handle.send(Command {
            at_frame: 0,
            kind: CommandKind::SetReference {
                index: 0,
                source: Box::new(MemorySource::from_vecs(vec![vec![0.05; 50_000]; 2])),
            },
        });
        for m in [
            MonitorCommand::Listen {
                reference: Some(0),
                gain_db: -3.0,
            },
            MonitorCommand::Mono(round % 2 == 0),
            MonitorCommand::Dim(round % 2 == 1),
            MonitorCommand::Listen {
                reference: None,
                gain_db: 0.0,
            },
        ] {
            handle.send(Command {
                at_frame: 0,
                kind: CommandKind::Monitor(m),
            });
            sent += 1;
        }
        handle.send(Command {
            at_frame: 0,
            kind: CommandKind::ReplaceSource {
                track: 2,
                source: Box::new(MemorySource::from_vecs(vec![vec![0.2; 100_000]; 2])),
            },
        });
        assert!(sent > 200);
        assert_eq!(handle.backlog_len(), 0, "the ring holds every command");
        assert_no_alloc(|| {
            for _ in 0..10 {
                device.process(&mut data);
            }
        });
        // the old source comes back through the event ring and is dropped here
        handle.tick();
    }
    assert_eq!(violation_count(), 0, "allocations on the audio thread");
    let m = handle.meters();
    assert!(
        m.playing.load(Ordering::Relaxed),
        "the transport commands arrived"
    );
    assert!(m.position_frames.load(Ordering::Relaxed) > 0);
    assert_eq!(m.dropped_commands.load(Ordering::Relaxed), 0);
    assert!(buf.iter().any(|x| *x != 0.0), "the engine produced sound");
}
