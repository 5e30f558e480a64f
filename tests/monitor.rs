#![allow(clippy::needless_range_loop)]
//! The monitor section after the master: mono check is exactly (L+R)/2 on both sides, dim exactly −20 dB,
//! switching ramps per sample independent of block size, and with both off the output is bit-identical
//! to an engine that never had them (a render equals playback with them off).

use ttymix::engine::monitor::{dim_gain, DIM_DB};
use ttymix::engine::{
    Command, CommandKind, Engine, EngineConfig, MasterState, MemorySource, MonitorCommand,
    StripState, TrackInit, TransportCommand, RAMP_MS,
};

const RATE: u32 = 48_000;
const FRAMES: usize = 48_000;

/// Two tracks with different content so that L and R differ: a 220 Hz sine panned left, 1 kHz right.
fn engine() -> Engine {
    let sine = |f: f32, a: f32| -> Vec<f32> {
        (0..FRAMES)
            .map(|i| a * (2.0 * std::f32::consts::PI * f * i as f32 / RATE as f32).sin())
            .collect()
    };
    let tracks = vec![
        TrackInit {
            source: Box::new(MemorySource::from_vecs(vec![sine(220.0, 0.5)])),
            state: StripState {
                pan: -0.7,
                ..StripState::default()
            },
        },
        TrackInit {
            source: Box::new(MemorySource::from_vecs(vec![sine(1000.0, 0.3)])),
            state: StripState {
                pan: 0.9,
                ..StripState::default()
            },
        },
    ];
    let mut e = Engine::new(EngineConfig::new(RATE, 512), MasterState::default(), tracks);
    e.push(Command::transport(0, TransportCommand::Play))
        .unwrap();
    e
}

fn run(mut e: Engine, cmds: Vec<Command>, block: usize) -> (Vec<f32>, Vec<f32>) {
    for c in cmds {
        e.push(c).unwrap();
    }
    let (mut l, mut r) = (vec![0.0f32; FRAMES], vec![0.0f32; FRAMES]);
    let mut done = 0;
    while done < FRAMES {
        let n = block.min(FRAMES - done);
        e.process(&mut l[done..done + n], &mut r[done..done + n]);
        done += n;
    }
    (l, r)
}

fn mon(at: u64, m: MonitorCommand) -> Command {
    Command {
        at_frame: at,
        kind: CommandKind::Monitor(m),
    }
}

fn ramp_frames() -> usize {
    (RAMP_MS / 1000.0 * RATE as f32).round() as usize
}

#[test]
fn mono_is_the_exact_mid_sum_on_both_sides_after_the_ramp() {
    let (al, ar) = run(engine(), vec![], 512);
    let on = 10_000u64;
    let (bl, br) = run(engine(), vec![mon(on, MonitorCommand::Mono(true))], 512);
    // the signal really is stereo, or the test could not fail
    assert!(al.iter().zip(&ar).any(|(l, r)| (l - r).abs() > 0.1));
    // untouched before the switch
    assert_eq!(&al[..on as usize], &bl[..on as usize]);
    assert_eq!(&ar[..on as usize], &br[..on as usize]);
    for i in on as usize + ramp_frames()..FRAMES {
        let m = (al[i] + ar[i]) * 0.5;
        assert_eq!(bl[i], m, "frame {i}");
        assert_eq!(br[i], m, "frame {i}");
    }
    // a centred signal keeps its level: L = R = x gives x
    let x = 0.25f32;
    assert_eq!((x + x) * 0.5, x);
}

#[test]
fn dim_is_exactly_minus_20_db_after_the_ramp() {
    assert_eq!(DIM_DB, -20.0);
    assert!((dim_gain() - 0.1).abs() < 1e-7);
    let (al, ar) = run(engine(), vec![], 512);
    let (bl, br) = run(engine(), vec![mon(0, MonitorCommand::Dim(true))], 512);
    let g = 10f32.powf(-20.0 / 20.0);
    for i in ramp_frames()..FRAMES {
        assert_eq!(bl[i], al[i] * g, "frame {i}");
        assert_eq!(br[i], ar[i] * g, "frame {i}");
    }
    // the ramp moves monotonically from 1 to 0.1 of the level (no jump, no click)
    let ratio = |i: usize| bl[i] / al[i];
    let mut last = 1.0f32;
    for i in 1..ramp_frames() {
        if al[i].abs() > 1e-3 {
            let r = ratio(i);
            assert!(r <= last + 1e-5 && r >= g - 1e-5, "frame {i}: {r}");
            last = r;
        }
    }
}

#[test]
fn mono_and_dim_together_and_block_size_invariant() {
    let cmds = || {
        vec![
            mon(1_000, MonitorCommand::Mono(true)),
            mon(1_333, MonitorCommand::Dim(true)),
            mon(20_017, MonitorCommand::Mono(false)),
        ]
    };
    let (al, ar) = run(engine(), vec![], 512);
    let (bl, br) = run(engine(), cmds(), 512);
    for block in [1usize, 7, 64, 500] {
        let (cl, cr) = run(engine(), cmds(), block);
        assert_eq!(bl, cl, "block {block}");
        assert_eq!(br, cr, "block {block}");
    }
    let g = dim_gain();
    let i = 10_000;
    assert_eq!(bl[i], (al[i] + ar[i]) * 0.5 * g);
    assert_eq!(br[i], (al[i] + ar[i]) * 0.5 * g);
    let i = 30_000;
    assert_eq!(bl[i], al[i] * g);
    assert_eq!(br[i], ar[i] * g);
}

#[test]
fn switched_off_again_the_output_is_bit_identical_to_no_monitor() {
    // what render produces (no monitor commands ever) against playback that used mono and dim and then
    // switched them off
    let (al, ar) = run(engine(), vec![], 512);
    let off = 12_000u64;
    let (bl, br) = run(
        engine(),
        vec![
            mon(100, MonitorCommand::Mono(true)),
            mon(200, MonitorCommand::Dim(true)),
            mon(off, MonitorCommand::Mono(false)),
            mon(off, MonitorCommand::Dim(false)),
        ],
        256,
    );
    assert_ne!(&al[..off as usize], &bl[..off as usize]);
    let settled = off as usize + ramp_frames();
    assert_eq!(&al[settled..], &bl[settled..]);
    assert_eq!(&ar[settled..], &br[settled..]);
}

fn listen(at: u64, reference: Option<u8>, gain_db: f32) -> Command {
    mon(at, MonitorCommand::Listen { reference, gain_db })
}

/// A stereo reference whose channels differ from the mix: a ramp on the left, a square on the right.
fn reference() -> (Vec<f32>, Vec<f32>) {
    let l: Vec<f32> = (0..2 * FRAMES)
        .map(|i| (i % 1000) as f32 / 2000.0)
        .collect();
    let r: Vec<f32> = (0..2 * FRAMES)
        .map(|i| if i % 96 < 48 { 0.4 } else { -0.4 })
        .collect();
    (l, r)
}

#[test]
fn a_reference_replaces_the_mix_in_sync_with_the_transport_at_its_gain() {
    let (rl, rr) = reference();
    let install = || Command {
        at_frame: 0,
        kind: CommandKind::SetReference {
            index: 1,
            source: Box::new(MemorySource::from_vecs(vec![rl.clone(), rr.clone()])),
        },
    };
    let (al, ar) = run(engine(), vec![], 512);
    let on = 5_000u64;
    let off = 30_000u64;
    let mut e = engine();
    // a seek first: the reference follows the timeline position, not the engine clock
    e.push(Command::transport(0, TransportCommand::Seek { frame: 0 }))
        .unwrap();
    let (bl, br) = run(
        e,
        vec![
            install(),
            listen(on, Some(1), -6.0),
            listen(off, None, 0.0),
            // an empty slot is refused: stays on the mix
            listen(off + 1000, Some(3), 0.0),
        ],
        333,
    );
    let g = 10f32.powf(-6.0 / 20.0);
    let on = on as usize;
    let off = off as usize;
    // switching fades out over the ramp, cuts on the silent sample and fades in: 2 ramps
    let x = 2 * ramp_frames();
    assert!(al[..on] == bl[..on]);
    for i in on + x..off {
        assert_eq!(bl[i], rl[i] * g, "frame {i}");
        assert_eq!(br[i], rr[i] * g, "frame {i}");
    }
    assert!(al[off + x..] == bl[off + x..]);
    assert!(ar[off + x..] == br[off + x..]);
    // through each switch the level dips to silence and never exceeds the louder side: no click
    for (a, b) in [(on, on + x), (off, off + x)] {
        let mut silent = false;
        for i in a..b {
            let louder = al[i]
                .abs()
                .max(ar[i].abs())
                .max(rl[i].abs().max(rr[i].abs()) * g);
            assert!(
                bl[i].abs() <= louder + 1e-6 && br[i].abs() <= louder + 1e-6,
                "frame {i}"
            );
            silent |= bl[i] == 0.0 && br[i] == 0.0;
        }
        assert!(silent, "no silent switching sample in {a}..{b}");
    }
}

#[test]
fn reference_switching_is_block_size_invariant() {
    let (rl, rr) = reference();
    let cmds = || {
        vec![
            Command {
                at_frame: 0,
                kind: CommandKind::SetReference {
                    index: 0,
                    source: Box::new(MemorySource::from_vecs(vec![rl.clone(), rr.clone()])),
                },
            },
            Command {
                at_frame: 0,
                kind: CommandKind::SetReference {
                    index: 1,
                    source: Box::new(MemorySource::from_vecs(vec![rr.clone()])),
                },
            },
            listen(3_001, Some(0), -3.0),
            // switched again before the first switch finished
            listen(3_200, Some(1), 1.0),
            listen(9_999, None, 0.0),
            listen(10_100, Some(0), 0.0),
        ]
    };
    let (bl, br) = run(engine(), cmds(), 512);
    for block in [1usize, 64, 333] {
        let (cl, cr) = run(engine(), cmds(), block);
        assert!(bl == cl && br == cr, "block {block}");
    }
    // the second request wins: reference 2 (mono, on both sides) at +1 dB once settled
    let g = 10f32.powf(1.0 / 20.0);
    for i in 3_200 + 2 * ramp_frames()..9_999 {
        assert_eq!(bl[i], rr[i] * g, "frame {i}");
        assert_eq!(br[i], rr[i] * g, "frame {i}");
    }
}

#[test]
fn a_mono_reference_plays_on_both_sides_and_is_silent_when_stopped() {
    let (rl, _) = reference();
    let mut e = engine();
    e.push(Command {
        at_frame: 0,
        kind: CommandKind::SetReference {
            index: 0,
            source: Box::new(MemorySource::from_vecs(vec![rl.clone()])),
        },
    })
    .unwrap();
    e.push(listen(0, Some(0), 0.0)).unwrap();
    e.push(Command::transport(
        0,
        TransportCommand::Seek { frame: 7_000 },
    ))
    .unwrap();
    e.push(Command::transport(2_000, TransportCommand::Pause))
        .unwrap();
    let (mut l, mut r) = (vec![0.0f32; 4_000], vec![0.0f32; 4_000]);
    for k in 0..8 {
        e.process(
            &mut l[k * 500..(k + 1) * 500],
            &mut r[k * 500..(k + 1) * 500],
        );
    }
    // after the switch (fade out, cut, fade in)
    let x = 2 * ramp_frames();
    assert!(l[x..2_000] == rl[7_000 + x..9_000]);
    assert!(r[x..2_000] == rl[7_000 + x..9_000]);
    assert!(l[2_000..].iter().chain(&r[2_000..]).all(|&x| x == 0.0));
    // the replaced source comes back for dropping off the audio thread
    e.push(Command {
        at_frame: 0,
        kind: CommandKind::SetReference {
            index: 0,
            source: Box::new(MemorySource::from_vecs(vec![vec![0.0; 10]])),
        },
    })
    .unwrap();
    e.process(&mut l[..16], &mut r[..16]);
    assert_eq!(
        e.take_retired_source().map(|s| s.len_frames()),
        Some(2 * FRAMES as u64)
    );
}

#[test]
fn reference_loudness_is_measured_as_heard() {
    // a 997 Hz sine at amplitude 0.5 on both channels: −6.02 LUFS by the BS.1770 definition (0 dBFS in
    // one channel is −3.01 LUFS); a mono file is heard on both sides, so it measures the same
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ref.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&p, spec).unwrap();
    for i in 0..RATE * 5 {
        let x = 0.5 * (2.0 * std::f64::consts::PI * 997.0 * i as f64 / RATE as f64).sin();
        w.write_sample(x as f32).unwrap();
    }
    w.finalize().unwrap();
    let r = ttymix::load::load_reference(&p, RATE).unwrap();
    let lufs = r.integrated_lufs.unwrap();
    let expected = 20.0 * 0.5f64.log10();
    assert!((lufs - expected).abs() < 0.1, "{lufs} vs {expected}");
    assert_eq!(r.channels.len(), 1);
    let missing = ttymix::load::load_reference(&dir.path().join("nope.wav"), RATE).unwrap_err();
    assert!(missing.ends_with("nope.wav: file not found"), "{missing}");
}

#[test]
fn reference_entries_parse_and_round_trip() {
    use ttymix::session::SessionFile;
    let p = std::path::Path::new("/s/ttymix.toml");
    let text = "[[track]]\nfile = \"a.wav\"\n\n[[reference]]\nfile = \"refs/pro.flac\"\nname = \"Pro\"\n\n[[reference]]\nfile = \"other.wav\"\n";
    let f = SessionFile::parse(text, p).unwrap();
    assert_eq!(f.references.len(), 2);
    assert_eq!(f.references[0].display_name(), "Pro");
    assert_eq!(f.references[1].display_name(), "other");
    let again = SessionFile::parse(&f.to_toml(), p).unwrap();
    assert_eq!(again, f);
    let bad = SessionFile::parse("[[reference]]\nfile = \"x.wav\"\ngain = 3\n", p).unwrap_err();
    assert!(bad.to_string().contains("gain"), "{bad}");
    // a session without references writes none
    let plain = SessionFile::parse("[[track]]\nfile = \"a.wav\"\n", p).unwrap();
    assert!(!plain.to_toml().contains("reference"));
}
