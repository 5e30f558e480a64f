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
