//! Loads the given audio files as stems and prints what came out, with timings.
//!
//! `cargo run --release --example load_stems -- [--rate HZ] FILE...`

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let mut rate = None;
    let mut paths = Vec::new();
    while let Some(a) = args.next() {
        if a == "--rate" {
            rate = args.next().and_then(|r| r.parse::<u32>().ok());
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    let t0 = Instant::now();
    let stems = ttymix::media::load_stems(&paths, rate);
    let elapsed = t0.elapsed();
    for s in &stems {
        match s {
            Ok(s) => println!(
                "{}: {} ch, {} Hz (from {} Hz), {} frames{}",
                s.path.display(),
                s.channels.len(),
                s.sample_rate,
                s.source_rate,
                s.frames(),
                if s.warnings.is_empty() {
                    String::new()
                } else {
                    format!(", warnings: {:?}", s.warnings)
                }
            ),
            Err(e) => println!("error: {e}"),
        }
    }
    println!(
        "loaded {} stems in {:.3} s",
        stems.len(),
        elapsed.as_secs_f64()
    );
}
