//! Engine throughput: N stereo tracks (trim, fader, pan, mute/solo; no strip processors) mixed at 48 kHz in
//! 256-frame blocks. Criterion reports time per 10 s of audio; × real time = 10 s / that time, and
//! tracks × real time = N × that. Run: `cargo bench --bench mix_engine`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ttymix::engine::{
    Command, Engine, EngineConfig, MasterState, MemorySource, StripState, TrackInit,
    TransportCommand,
};

const RATE: u32 = 48_000;
const SECONDS: usize = 10;

fn engine(tracks: usize) -> Engine {
    let n = RATE as usize * SECONDS;
    let init = (0..tracks)
        .map(|i| {
            let l: Vec<f32> = (0..n)
                .map(|k| ((k * (i + 3)) % 97) as f32 / 200.0)
                .collect();
            let r = l.iter().map(|x| -x).collect();
            TrackInit {
                source: Box::new(MemorySource::from_vecs(vec![l, r])),
                state: StripState {
                    gain_db: -6.0,
                    pan: (i as f32 / tracks as f32) * 2.0 - 1.0,
                    ..Default::default()
                },
            }
        })
        .collect();
    Engine::new(EngineConfig::new(RATE, 256), MasterState::default(), init)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mix_engine");
    g.sample_size(10);
    for tracks in [8usize, 64] {
        g.throughput(Throughput::Elements(
            (RATE as usize * SECONDS * tracks) as u64,
        ));
        g.bench_with_input(
            BenchmarkId::new("stereo_tracks", tracks),
            &tracks,
            |b, &t| {
                let mut e = engine(t);
                let (mut l, mut r) = (vec![0.0f32; 256], vec![0.0f32; 256]);
                b.iter(|| {
                    let _ = e.push(Command::transport(0, TransportCommand::Seek { frame: 0 }));
                    let _ = e.push(Command::transport(0, TransportCommand::Play));
                    for _ in 0..(RATE as usize * SECONDS / 256) {
                        e.process(&mut l, &mut r);
                    }
                    l[0]
                });
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
