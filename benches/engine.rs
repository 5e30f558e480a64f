//! Engine throughput: 64 stereo tracks with the full strip (HPF, 4 EQ bands, gate, compressor, 2 sends, pan),
//! a reverb and a delay bus, master limiter, 48 kHz, 256-frame blocks, one thread; and the plain engine
//! (no processors). Prints × real time and ns per strip-frame besides criterion's timings.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use ttymix::engine::{
    BusInit, BusKind, Command, DelayState, Engine, EngineConfig, LimiterState, MasterState,
    MemorySource, ReverbState, SendState, StripState, TrackInit, TransportCommand,
};

const RATE: u32 = 48_000;
const BLOCK: usize = 256;
const TRACKS: usize = 64;

fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            0.3 * (((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5)
        })
        .collect()
}

fn full_state() -> StripState {
    let mut st = StripState {
        pan: 0.3,
        sends: vec![
            SendState {
                bus: 0,
                level_db: -12.0,
                pre_fader: false,
            },
            SendState {
                bus: 1,
                level_db: -18.0,
                pre_fader: true,
            },
        ],
        ..Default::default()
    };
    st.hpf.enabled = true;
    st.eq.enabled = true;
    for b in &mut st.eq.bands {
        b.enabled = true;
        b.gain_db = 2.0;
    }
    st.gate.enabled = true;
    st.gate.threshold_db = -60.0;
    st.compressor.enabled = true;
    st.compressor.threshold_db = -24.0;
    st
}

fn build(full: bool) -> Engine {
    let len = RATE as usize * 2;
    let tracks = (0..TRACKS as u64)
        .map(|i| TrackInit {
            source: Box::new(MemorySource::from_vecs(vec![
                noise(i, len),
                noise(i + 1000, len),
            ])),
            state: if full {
                full_state()
            } else {
                StripState::default()
            },
        })
        .collect();
    let (buses, master) = if full {
        (
            vec![
                BusInit {
                    kind: BusKind::Reverb(ReverbState::default()),
                    state: StripState::default(),
                },
                BusInit {
                    kind: BusKind::Delay(DelayState::default()),
                    state: StripState::default(),
                },
            ],
            MasterState {
                limiter: Some(LimiterState::default()),
                ..Default::default()
            },
        )
    } else {
        (vec![], MasterState::default())
    };
    let mut e = Engine::with_buses(EngineConfig::new(RATE, BLOCK), master, tracks, buses);
    e.push(Command::transport(0, TransportCommand::Play))
        .unwrap();
    e.push(Command::transport(
        0,
        TransportCommand::SetLoop {
            start_frame: 0,
            end_frame: len as u64,
        },
    ))
    .unwrap();
    e
}

/// Nanoseconds this thread has run on a CPU (Linux: /proc/thread-self/schedstat), if available. On a shared
/// machine this is what the engine costs, whatever else was running.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Times 7 passes of 2 s of audio each and reports the median pass (the build machine is shared, so single
/// runs are noisy) with the fastest and slowest, by wall clock and by this thread's CPU time.
fn report(name: &str, full: bool) {
    let mut e = build(full);
    let mut l = vec![0.0f32; BLOCK];
    let mut r = vec![0.0f32; BLOCK];
    let blocks = RATE as usize * 2 / BLOCK; // 2 s of audio per pass
    let audio_s = (blocks * BLOCK) as f64 / RATE as f64;
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..7 {
        let (t, c) = (Instant::now(), thread_cpu_ns());
        for _ in 0..blocks {
            e.process(&mut l, &mut r);
            black_box((&l, &r));
        }
        wall.push(audio_s / t.elapsed().as_secs_f64());
        if let (Some(c0), Some(c1)) = (c, thread_cpu_ns()) {
            cpu.push(audio_s / ((c1 - c0) as f64 * 1e-9));
        }
    }
    let line = |what: &str, mut x: Vec<f64>| {
        if x.is_empty() {
            return;
        }
        x.sort_by(f64::total_cmp);
        let med = x[x.len() / 2];
        // all of the engine's time (buses and master included) per track and frame
        let ns = 1e9 / (med * RATE as f64 * TRACKS as f64);
        println!(
            "{name} ({what}): {med:.1}x real time ({TRACKS} tracks; passes {:.1}..{:.1}x), \
             {:.0} track-x-realtime, {ns:.1} ns per strip-frame",
            x[0],
            x[x.len() - 1],
            med * TRACKS as f64
        );
    };
    line("wall clock", wall);
    line("thread CPU time", cpu);
}

fn bench(c: &mut Criterion) {
    report("full strip", true);
    report("plain engine", false);
    for (name, full) in [
        ("engine/64 full strips, 256-frame block", true),
        ("engine/64 plain tracks, 256-frame block", false),
    ] {
        let mut e = build(full);
        let mut l = vec![0.0f32; BLOCK];
        let mut r = vec![0.0f32; BLOCK];
        c.bench_function(name, |b| {
            b.iter(|| {
                e.process(&mut l, &mut r);
                black_box((&l, &r));
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
