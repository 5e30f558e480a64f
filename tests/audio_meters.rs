//! Strip meters published by the player's audio-thread callback: gain reduction, peak and RMS per track and
//! bus, driven through `EngineCallback::render` itself (no device).

use ttymix::engine::{
    BusInit, BusKind, CompState, Engine, EngineConfig, GateState, MasterState, MemorySource,
    Output, StripState, TrackInit,
};
use ttymix::player;

const RATE: u32 = 48_000;
const BLOCK: usize = 256;

fn sine(amplitude: f32, freq_hz: f32, frames: usize) -> Vec<f32> {
    (0..frames)
        .map(|n| amplitude * (2.0 * std::f32::consts::PI * freq_hz * n as f32 / RATE as f32).sin())
        .collect()
}

fn track(signal: &[f32], state: StripState) -> TrackInit {
    TrackInit {
        source: Box::new(MemorySource::from_vecs(vec![signal.to_vec()])),
        state,
    }
}

/// Play `frames` of `engine` through the player's callback in blocks, paced so the meter thread keeps up,
/// and wait until it has measured everything. Returns the handle (its meters) and the peak of what the device
/// was given from frame `skip_frames` on.
fn play_and_meter(
    engine: Engine,
    frames: usize,
    skip_frames: usize,
) -> (player::PlayerHandle, f32) {
    use std::sync::atomic::Ordering;
    let (handle, mut callback) = player::bridge(engine, 16);
    let mut out = vec![0.0f32; 2 * BLOCK];
    let m = handle.meters();
    let mut peak = 0.0f32;
    for b in 0..frames / BLOCK {
        callback.render(&mut out);
        if b * BLOCK >= skip_frames {
            peak = out.iter().fold(peak, |a, x| a.max(x.abs()));
        }
        // pace a little so the one-second tap ring never overflows
        while m.loudness.frames.load(Ordering::Relaxed) + (RATE as u64 / 2)
            < m.clock_frames.load(Ordering::Relaxed)
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    let t = std::time::Instant::now();
    while m.loudness.frames.load(Ordering::Relaxed) < (frames / BLOCK * BLOCK) as u64 {
        assert!(t.elapsed().as_secs() < 10, "the meter thread is stuck");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(m.loudness.lost_frames.load(Ordering::Relaxed), 0);
    (handle, peak)
}

fn lin_db(x: f32) -> f32 {
    20.0 * x.log10()
}

/// A compressor 24 dB over its threshold at 4:1 shows about 18 dB of gain reduction on its track's meter,
/// and the level difference to an identical uncompressed track agrees with it; strips without dynamics show
/// 0; a bus compressor shows on the bus meter; a gate that is shut shows its range.
#[test]
fn gain_reduction_reaches_the_strip_meters() {
    let frames = 3 * RATE as usize;
    let loud = sine(0.5, 1000.0, frames); // -6.02 dBFS peak, -9.03 dBFS RMS
    let quiet = sine(0.001, 1000.0, frames); // -60 dBFS
    let comp = CompState {
        enabled: true,
        threshold_db: -30.0,
        ratio: 4.0,
        knee_db: 0.0,
        attack_ms: 1.0,
        release_ms: 50.0,
        makeup_db: 0.0,
        sidechain_hpf_hz: 0.0,
    };
    let gate = GateState {
        enabled: true,
        threshold_db: -40.0,
        range_db: -30.0,
        ..GateState::default()
    };
    let tracks = vec![
        // 0: compressed
        track(
            &loud,
            StripState {
                compressor: comp,
                ..StripState::default()
            },
        ),
        // 1: the same signal, no dynamics
        track(&loud, StripState::default()),
        // 2: into the group bus (which compresses)
        track(
            &loud,
            StripState {
                output: Output::Bus(0),
                ..StripState::default()
            },
        ),
        // 3: below the gate's threshold: the gate shuts to its range
        track(
            &quiet,
            StripState {
                gate,
                ..StripState::default()
            },
        ),
    ];
    let buses = vec![BusInit {
        kind: BusKind::Group,
        state: StripState {
            compressor: comp,
            ..StripState::default()
        },
    }];
    let mut engine = Engine::with_buses(
        EngineConfig::new(RATE, BLOCK),
        MasterState::default(),
        tracks,
        buses,
    );
    let _ = engine.push(ttymix::engine::Command::transport(
        0,
        ttymix::engine::TransportCommand::Play,
    ));
    let (handle, mut callback) = player::bridge(engine, 64);
    let mut out = vec![0.0f32; 2 * BLOCK];
    let m = handle.meters();
    // The RMS meter is a mean square with a 300 ms time constant: from silence, after t seconds it reads
    // sqrt(1 - exp(-t / 0.3)) of the steady RMS. The plain centred mono track's steady RMS is the sine's
    // (-9.03 dBFS) times the -3.01 dB pan law.
    let steady_db = lin_db(0.5 / 2f32.sqrt()) - 3.0103;
    let blocks = 56; // 0.2987 s
    for _ in 0..blocks {
        callback.render(&mut out);
    }
    let t = (blocks * BLOCK) as f32 / RATE as f32;
    let want = steady_db + 10.0 * (1.0 - (-t / 0.3).exp()).log10();
    let got = lin_db(m.tracks[1].rms[0].load());
    assert!(
        (got - want).abs() < 0.1,
        "RMS after {t} s: {got} dBFS, want {want}"
    );
    // 2 s to settle, then read peaks over the next 0.25 s
    for _ in 0..(2 * RATE as usize / BLOCK) {
        callback.render(&mut out);
    }
    assert_eq!(m.tracks.len(), 4);
    assert_eq!(m.buses.len(), 1);
    for s in m.tracks.iter().chain(&m.buses) {
        s.peak[0].take();
        s.peak[1].take();
    }
    for _ in 0..(RATE as usize / 4 / BLOCK) {
        callback.render(&mut out);
    }
    let gr: Vec<f32> = m
        .tracks
        .iter()
        .map(|s| s.gain_reduction_db.load())
        .collect();
    let bus_gr = m.buses[0].gain_reduction_db.load();
    // static curve: 24 dB over the threshold at 4:1 leaves 6 dB over, i.e. 18 dB of reduction (the detector
    // may read the sine's peak or its RMS, 3 dB lower: 15.75 dB)
    assert!(
        (15.0..=19.0).contains(&gr[0]),
        "compressed track GR {} dB",
        gr[0]
    );
    assert_eq!(m.tracks[0].comp_reduction_db.load(), gr[0]);
    assert_eq!(m.tracks[0].gate_reduction_db.load(), 0.0);
    assert_eq!(gr[1], 0.0, "a track without dynamics shows no GR");
    assert_eq!(gr[2], 0.0, "the track feeding the bus has no dynamics");
    assert!(
        (15.0..=19.0).contains(&bus_gr),
        "compressing bus GR {bus_gr} dB"
    );
    // gate shut: reduction by its range (30 dB)
    assert!(
        (gr[3] - 30.0).abs() < 1.0 && m.tracks[3].gate_reduction_db.load() == gr[3],
        "shut gate GR {} dB",
        gr[3]
    );
    // independent check: the level difference between the compressed and the plain track
    let peak = |s: &player::StripMeters| s.peak[0].take().max(s.peak[1].take());
    let (p0, p1) = (peak(&m.tracks[0]), peak(&m.tracks[1]));
    assert!(p0 > 0.0 && p1 > 0.0, "peaks {p0} {p1}");
    let measured = lin_db(p1) - lin_db(p0);
    assert!(
        (measured - gr[0]).abs() < 1.5,
        "level drop {measured} dB vs GR meter {} dB",
        gr[0]
    );
    let rms = lin_db(m.tracks[1].rms[0].load());
    assert!(
        (rms - steady_db).abs() < 0.05,
        "steady RMS {rms} dBFS, want {steady_db}"
    );
    // the bus meter sees the bus output: track 2's signal reduced by the bus compressor
    let bus_peak = peak(&m.buses[0]);
    assert!(
        (lin_db(p1) - lin_db(bus_peak) - bus_gr).abs() < 1.5,
        "bus level {} dB vs plain {} dB with GR {bus_gr}",
        lin_db(bus_peak),
        lin_db(p1)
    );
    // and the level meters are max-since-last-read: a read resets them
    assert_eq!(m.tracks[1].peak[0].take(), 0.0);
}

/// A full command ring never blocks the UI thread: commands wait in the handle's backlog, in order, and
/// reach the engine as the audio thread drains the ring.
#[test]
fn a_full_command_ring_never_blocks_and_keeps_order() {
    use ttymix::engine::{Command, StripId, StripParam};
    let engine = Engine::with_buses(
        EngineConfig::new(RATE, BLOCK),
        MasterState::default(),
        vec![track(&vec![0.5; RATE as usize * 4], StripState::default())],
        Vec::new(),
    );
    let (mut handle, mut callback) = player::bridge(engine, 16);
    let t = std::time::Instant::now();
    handle.send(Command::transport(
        0,
        ttymix::engine::TransportCommand::Play,
    ));
    for _ in 0..99 {
        handle.send(Command::strip(
            0,
            StripId::Track(0),
            StripParam::GainDb(-60.0),
        ));
    }
    handle.send(Command::strip(
        0,
        StripId::Track(0),
        StripParam::GainDb(-6.0),
    ));
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(handle.backlog_len(), 101 - 16, "the ring holds 16");
    let mut out = vec![0.0f32; 2 * BLOCK];
    for _ in 0..200 {
        callback.render(&mut out);
        handle.tick();
    }
    assert_eq!(handle.backlog_len(), 0);
    // the last command won: a centred mono 0.5 at -6 dB with the -3.01 dB pan law
    let want = 0.5 * 10f32.powf(-6.0 / 20.0) * std::f32::consts::FRAC_1_SQRT_2;
    assert!(
        (out[0] - want).abs() < 1e-4 && (out[1] - want).abs() < 1e-4,
        "{} {} want {want}",
        out[0],
        out[1]
    );
}

/// The master's loudness meters run on the meter thread, fed through a ring: a stereo 1 kHz sine at
/// -23 dBFS reads -23 LUFS momentary (EBU Tech 3341), identical channels correlate at +1 and opposite ones
/// at -1, and a sine at fs/4 sampled 45° off its peaks shows its true peak, 3 dB above the sample peak.
#[test]
fn master_loudness_true_peak_and_correlation_come_from_the_meter_thread() {
    let run = |left: Vec<f32>, right: Vec<f32>| -> (f32, f32, f32, f32) {
        let n = left.len();
        let tracks = vec![
            track(
                &left,
                StripState {
                    pan: -1.0,
                    ..StripState::default()
                },
            ),
            track(
                &right,
                StripState {
                    pan: 1.0,
                    ..StripState::default()
                },
            ),
        ];
        let mut engine = Engine::with_buses(
            EngineConfig::new(RATE, BLOCK),
            MasterState::default(),
            tracks,
            Vec::new(),
        );
        let _ = engine.push(ttymix::engine::Command::transport(
            0,
            ttymix::engine::TransportCommand::Play,
        ));
        let (handle, sample_peak) = play_and_meter(engine, n, 0);
        let m = handle.meters();
        (
            m.loudness.momentary_lufs.load(),
            m.loudness.correlation.load(),
            m.loudness.true_peak.take(),
            sample_peak,
        )
    };
    let amp = 10f32.powf(-23.0 / 20.0);
    // hard-panned mono tracks reach their side at unity (constant-power pan: cos 0 = 1)
    let comp = 1.0;
    let s = sine(amp * comp, 1000.0, 2 * RATE as usize);
    let neg: Vec<f32> = s.iter().map(|x| -x).collect();
    let (m, corr, _, peak) = run(s.clone(), s.clone());
    assert!(
        (lin_db(peak) + 23.0).abs() < 0.05,
        "sample peak {} dBFS",
        lin_db(peak)
    );
    assert!((m + 23.0).abs() < 0.1, "momentary {m} LUFS");
    assert!((corr - 1.0).abs() < 1e-3, "correlation {corr}");
    let (_, corr, _, _) = run(s, neg);
    assert!((corr + 1.0).abs() < 1e-3, "correlation {corr}");
    // fs/4 at 45°: samples at ±0.5·0.7071, true peak 0.5
    let q: Vec<f32> = (0..RATE as usize)
        .map(|n| {
            0.5 * comp
                * (std::f32::consts::FRAC_PI_2 * (n % 4) as f32 + std::f32::consts::FRAC_PI_4).sin()
        })
        .collect();
    let (_, _, tp, peak) = run(q.clone(), q);
    assert!(
        (lin_db(peak) - lin_db(0.5 * std::f32::consts::FRAC_1_SQRT_2)).abs() < 0.05,
        "sample peak {peak}"
    );
    assert!(
        (lin_db(tp) - lin_db(0.5)).abs() < 0.5,
        "true peak {} dBFS, want -6.02",
        lin_db(tp)
    );
}

/// The loudness meter, correlation and clip count measure the mix, not the monitor: with dim and mono check
/// on, the device hears a dimmed mono sum (here of a signal against its inverse: silence) while the meter
/// thread still reads the mix at −23 LUFS with correlation −1.
#[test]
fn master_meters_measure_the_mix_not_the_monitor() {
    use ttymix::engine::{Command, CommandKind, MonitorCommand, TransportCommand};
    let amp = 10f32.powf(-23.0 / 20.0);
    let s = sine(amp, 1000.0, 2 * RATE as usize);
    let neg: Vec<f32> = s.iter().map(|x| -x).collect();
    let n = s.len();
    let tracks = vec![
        track(
            &s,
            StripState {
                pan: -1.0,
                ..StripState::default()
            },
        ),
        track(
            &neg,
            StripState {
                pan: 1.0,
                ..StripState::default()
            },
        ),
    ];
    let mut engine = Engine::with_buses(
        EngineConfig::new(RATE, BLOCK),
        MasterState::default(),
        tracks,
        Vec::new(),
    );
    for kind in [
        CommandKind::Monitor(MonitorCommand::Dim(true)),
        CommandKind::Monitor(MonitorCommand::Mono(true)),
        CommandKind::Transport(TransportCommand::Play),
    ] {
        assert!(engine.push(Command { at_frame: 0, kind }).is_ok());
    }
    // after the monitor's 10 ms switching ramp
    let (handle, heard_peak) = play_and_meter(engine, n, RATE as usize / 50);
    let m = handle.meters();
    // what the device got: the mono sum of a signal and its inverse, dimmed: silence
    assert!(heard_peak < 1e-6, "heard peak {heard_peak}");
    let momentary = m.loudness.momentary_lufs.load();
    let corr = m.loudness.correlation.load();
    assert!((momentary + 23.0).abs() < 0.1, "momentary {momentary} LUFS");
    assert!((corr + 1.0).abs() < 1e-3, "correlation {corr}");
}
