//! ns per stereo frame for each DSP unit at 48 kHz in 256-frame blocks (criterion reports time per block of
//! 256 frames as throughput in elements = frames).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use ttymix::dsp::compressor::Compressor;
use ttymix::dsp::delay::Delay;
use ttymix::dsp::eq::Eq4;
use ttymix::dsp::filter::{PassFilter, PassKind, Slope};
use ttymix::dsp::gate::Gate;
use ttymix::dsp::limiter::Limiter;
use ttymix::dsp::reverb::Reverb;
use ttymix::dsp::svf::{Chain, ChainMode};
use ttymix::dsp::StereoProcessor;

const FS: f32 = 48_000.0;
const BLOCK: usize = 256;

/// Music-like test signal: two sines plus noise at about −12 dBFS, loud enough to trigger the dynamics.
fn signal() -> (Vec<f32>, Vec<f32>) {
    let mut seed = 0x1234_5678u32;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as f32 / u32::MAX as f32 - 0.5
    };
    let n = FS as usize;
    let l = (0..n)
        .map(|i| 0.3 * (i as f32 * 0.0571).sin() + 0.2 * (i as f32 * 0.31).sin() + 0.2 * noise())
        .collect();
    let r = (0..n)
        .map(|i| 0.3 * (i as f32 * 0.0573).sin() + 0.2 * (i as f32 * 0.29).sin() + 0.2 * noise())
        .collect();
    (l, r)
}

fn bench_unit<P: StereoProcessor>(c: &mut Criterion, name: &str, mut p: P) {
    let (src_l, src_r) = signal();
    let mut l = vec![0f32; BLOCK];
    let mut r = vec![0f32; BLOCK];
    let mut pos = 0;
    // warm up past the bypass fade and any ramps
    for _ in 0..100 {
        l.copy_from_slice(&src_l[..BLOCK]);
        r.copy_from_slice(&src_r[..BLOCK]);
        p.process(&mut l, &mut r);
    }
    let mut g = c.benchmark_group("dsp");
    g.throughput(Throughput::Elements(BLOCK as u64));
    g.bench_function(BenchmarkId::new(name, BLOCK), |b| {
        b.iter(|| {
            if pos + BLOCK > src_l.len() {
                pos = 0;
            }
            l.copy_from_slice(&src_l[pos..pos + BLOCK]);
            r.copy_from_slice(&src_r[pos..pos + BLOCK]);
            pos += BLOCK;
            p.process(black_box(&mut l), black_box(&mut r));
        })
    });
    g.finish();
}

fn eq() -> Eq4 {
    let mut e = Eq4::new(FS);
    for (b, (f, g)) in [(100.0, 3.0), (400.0, -4.0), (2_500.0, 2.0), (8_000.0, 4.0)]
        .into_iter()
        .enumerate()
    {
        e.set_band_freq_hz(b, f);
        e.set_band_gain_db(b, g);
        e.set_band_enabled(b, true);
    }
    e.set_enabled(true);
    e
}

fn hp() -> PassFilter {
    let mut p = PassFilter::new(FS, PassKind::HighPass);
    p.set_freq_hz(80.0);
    p.set_slope(Slope::Db24);
    p.set_enabled(true);
    p
}

fn gate() -> Gate {
    let mut g = Gate::new(FS);
    g.set_threshold_db(-30.0);
    g.set_enabled(true);
    g
}

fn comp() -> Compressor {
    let mut c = Compressor::new(FS);
    c.set_threshold_db(-24.0);
    c.set_ratio(4.0);
    c.set_enabled(true);
    c
}

/// HP (24 dB/oct) + 4-band EQ + gate + compressor, in series.
struct Strip(PassFilter, Eq4, Gate, Compressor);
impl StereoProcessor for Strip {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.0.process(l, r);
        self.1.process(l, r);
        self.2.process(l, r);
        self.3.process(l, r);
    }
    fn set_enabled(&mut self, _: bool) {}
    fn is_enabled(&self) -> bool {
        true
    }
    fn reset(&mut self) {}
}

/// HP (12 dB/oct) then the 4-band EQ, each processor on its own.
struct HpEq(PassFilter, Eq4);
impl StereoProcessor for HpEq {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.0.process(l, r);
        self.1.process(l, r);
    }
    fn set_enabled(&mut self, _: bool) {}
    fn is_enabled(&self) -> bool {
        true
    }
    fn reset(&mut self) {}
}

/// The same two as one skewed [`Chain`] (as the track strip runs them while nothing ramps).
struct HpEqChain(PassFilter, Eq4);
impl StereoProcessor for HpEqChain {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        if self.0.chain_mode() != ChainMode::Steady || self.1.chain_mode() != ChainMode::Steady {
            self.0.process(l, r);
            self.1.process(l, r);
            return;
        }
        let n = l.len();
        let mut i = 0;
        while i < n {
            let run = (n - i)
                .min(self.0.chain_frames())
                .min(self.1.chain_frames());
            let mut ch = Chain::default();
            self.0.chain_push(&mut ch);
            self.1.chain_push(&mut ch);
            ch.run(&mut l[i..i + run], &mut r[i..i + run]);
            let at = self.0.chain_pull(&ch, 0, run);
            self.1.chain_pull(&ch, at, run);
            i += run;
        }
    }
    fn set_enabled(&mut self, _: bool) {}
    fn is_enabled(&self) -> bool {
        true
    }
    fn reset(&mut self) {}
}

fn benches(c: &mut Criterion) {
    let hp12 = || {
        let mut p = hp();
        p.set_slope(Slope::Db12);
        p
    };
    bench_unit(c, "hp12_eq4_separate", HpEq(hp12(), eq()));
    bench_unit(c, "hp12_eq4_chain", HpEqChain(hp12(), eq()));
    bench_unit(c, "eq4", eq());
    bench_unit(c, "hp24", hp());
    let mut hp12 = hp();
    hp12.set_slope(Slope::Db12);
    bench_unit(c, "hp12", hp12);
    bench_unit(c, "gate", gate());
    bench_unit(c, "compressor", comp());
    let mut lim = Limiter::new(FS);
    lim.set_ceiling_db(-6.0);
    lim.set_enabled(true);
    bench_unit(c, "limiter", lim);
    let mut rv = Reverb::new(FS);
    rv.set_enabled(true);
    bench_unit(c, "reverb", rv);
    let mut d = Delay::new(FS);
    d.set_enabled(true);
    bench_unit(c, "delay", d);
    bench_unit(
        c,
        "strip_hp_eq_gate_comp",
        Strip(hp(), eq(), gate(), comp()),
    );
    bench_unit(c, "eq4_bypassed", Eq4::new(FS));
}

criterion_group! {
    name = dsp;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(dsp);
