//! Cost harness for the reverb and delay buses (for `valgrind --tool=callgrind` or `perf`): processes
//! `frames` frames of noise with the engine's default bus settings in `block`-frame blocks.
//!
//! `cargo run --release --example fx_cost -- reverb|delay FRAMES [BLOCK]`; instructions per frame are the
//! difference of two runs with different FRAMES divided by the frame difference.

use ttymix::dsp::delay::Delay;
use ttymix::dsp::reverb::Reverb;
use ttymix::dsp::StereoProcessor;

const FS: f32 = 48_000.0;

fn run<P: StereoProcessor>(mut p: P, frames: usize, block: usize) -> f32 {
    let mut seed = 0x1234_5678u32;
    let mut l = vec![0f32; block];
    let mut r = vec![0f32; block];
    let mut acc = 0f32;
    let mut done = 0;
    while done < frames {
        let n = block.min(frames - done);
        for i in 0..n {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            l[i] = seed as f32 / u32::MAX as f32 - 0.5;
            r[i] = 0.5 - l[i];
        }
        p.process(&mut l[..n], &mut r[..n]);
        acc += l[n - 1] + r[n - 1];
        done += n;
    }
    acc
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("reverb", String::as_str);
    let frames: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1 << 20);
    let block: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(32_768);
    let acc = match which {
        "reverb" => {
            // ReverbState::default() as the engine applies it
            let mut v = Reverb::new(FS);
            v.set_decay_s(2.0);
            v.set_pre_delay_ms(20.0);
            v.set_size(1.0);
            v.set_damping(0.5);
            v.set_width(1.0);
            v.set_enabled(true);
            run(v, frames, block)
        }
        "delay" => {
            // DelayState::default() as the engine applies it
            let mut v = Delay::new(FS);
            v.set_time_ms(375.0);
            v.set_feedback(0.35);
            v.set_low_cut_hz(100.0);
            v.set_high_cut_hz(8_000.0);
            v.set_ping_pong(false);
            v.set_enabled(true);
            run(v, frames, block)
        }
        _ => {
            eprintln!("usage: fx_cost reverb|delay FRAMES [BLOCK]");
            std::process::exit(2);
        }
    };
    println!("{which} {frames} frames, block {block}: checksum {acc}");
}
