//! The speed paths of offline render give the same results as the plain ones: strip meters switched off
//! leave the audio unchanged, and the loudness meter split over two threads reports what one meter does.

use ttymix::engine::{
    BusInit, BusKind, Command, DelayState, Engine, EngineConfig, LimiterState, MasterState,
    MemorySource, ReverbState, SendState, StripId, StripParam, StripState, TrackInit,
    TransportCommand,
};
use ttymix::loudness::{Channel, LoudnessMeter};

const RATE: u32 = 48_000;

fn noise(seed: u64, n: usize, amp: f32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            amp * (((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5)
        })
        .collect()
}

fn full_strip(i: usize) -> StripState {
    let mut st = StripState {
        pan: -0.5 + 0.3 * i as f32,
        gain_db: -2.0,
        sends: vec![
            SendState {
                bus: 0,
                level_db: -10.0,
                pre_fader: false,
            },
            SendState {
                bus: 1,
                level_db: -14.0,
                pre_fader: true,
            },
        ],
        ..Default::default()
    };
    st.hpf.enabled = true;
    st.eq.enabled = true;
    for b in &mut st.eq.bands {
        b.enabled = true;
        b.gain_db = 3.0;
    }
    st.gate.enabled = true;
    st.gate.threshold_db = -30.0;
    st.compressor.enabled = true;
    st.compressor.threshold_db = -20.0;
    st
}

fn engine(metering: bool) -> Engine {
    let n = RATE as usize;
    let tracks = (0..4)
        .map(|i| TrackInit {
            source: if i == 3 {
                Box::new(MemorySource::from_vecs(vec![noise(9, n, 0.8)])) // mono
            } else {
                Box::new(MemorySource::from_vecs(vec![
                    noise(i as u64, n, 0.6),
                    noise(100 + i as u64, n, 0.6),
                ]))
            },
            state: full_strip(i),
        })
        .collect();
    let buses = vec![
        BusInit {
            kind: BusKind::Reverb(ReverbState::default()),
            state: StripState::default(),
        },
        BusInit {
            kind: BusKind::Delay(DelayState::default()),
            state: StripState::default(),
        },
    ];
    let master = MasterState {
        limiter: Some(LimiterState::default()),
        ..Default::default()
    };
    let mut e = Engine::with_buses(EngineConfig::new(RATE, 512), master, tracks, buses);
    e.set_metering(metering);
    e.push(Command::transport(0, TransportCommand::Play))
        .unwrap();
    // parameter moves mid-block, so ramps run while the meters are off
    e.push(Command::strip(
        7_000,
        StripId::Track(1),
        StripParam::GainDb(-12.0),
    ))
    .unwrap();
    e.push(Command::strip(
        20_011,
        StripId::Track(2),
        StripParam::Pan(0.9),
    ))
    .unwrap();
    e.push(Command::strip(
        30_000,
        StripId::Track(0),
        StripParam::Mute(true),
    ))
    .unwrap();
    e
}

fn run(e: &mut Engine, frames: usize, block: usize) -> (Vec<f32>, Vec<f32>) {
    let (mut l, mut r) = (vec![0.0; frames], vec![0.0; frames]);
    for (cl, cr) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
        e.process(cl, cr);
    }
    (l, r)
}

#[test]
fn meters_off_leaves_the_audio_bit_identical() {
    let frames = 60_000;
    let mut on = engine(true);
    let mut off = engine(false);
    let (l1, r1) = run(&mut on, frames, 512);
    let (l2, r2) = run(&mut off, frames, 333);
    assert!(l1.iter().any(|&x| x != 0.0));
    for i in 0..frames {
        assert_eq!(l1[i].to_bits(), l2[i].to_bits(), "left {i}");
        assert_eq!(r1[i].to_bits(), r2[i].to_bits(), "right {i}");
    }
    // the switch does what it says: meters accumulate only when on
    assert!(on.track_meter(0).unwrap().sum_sq[0] > 0.0);
    assert!(on.master_meter().peak[0] > 0.0);
    assert_eq!(off.track_meter(0).unwrap().sum_sq, [0.0, 0.0]);
    assert_eq!(off.track_pre_fader_meter(1).unwrap().peak, [0.0, 0.0]);
    assert_eq!(off.master_meter().peak, [0.0, 0.0]);
    // and switching them back on resumes metering
    off.set_metering(true);
    run(&mut off, 1_000, 256);
    assert!(off.master_meter().peak[0] > 0.0);
}

#[test]
fn split_loudness_meter_reports_exactly_what_one_meter_does() {
    // 7 s of varying loudness with clipped bursts, fed in uneven blocks; each channel in turn the louder one
    // (the report holds the larger channel's peaks, so each channel's peak meter must get it right), and the
    // peaks half fed interleaved and planar
    let frames = 7 * RATE as usize;
    for louder in [0, 1] {
        let mut x = noise(5, 2 * frames, 1.0);
        for (i, v) in x.iter_mut().enumerate() {
            let t = (i / 2) as f32 / RATE as f32;
            *v *= 0.2 + (t * 1.3).sin().abs() * 2.5; // up to ±1.35: some clip
            if i % 2 != louder {
                *v *= 0.5;
            }
        }
        let roles = [Channel::Left, Channel::Right];
        let mut one = LoudnessMeter::new(RATE, &roles).unwrap();
        let (mut loud, mut peaks) = LoudnessMeter::split(RATE, &roles).unwrap();
        for b in x.chunks(2 * 1_234) {
            one.add_interleaved_stereo(b).unwrap();
        }
        for b in x.chunks(2 * 4_096) {
            loud.add_interleaved_stereo(b).unwrap();
            if louder == 0 {
                peaks.add_interleaved_stereo(b).unwrap();
            } else {
                let l: Vec<f32> = b.iter().step_by(2).copied().collect();
                let r: Vec<f32> = b.iter().skip(1).step_by(2).copied().collect();
                peaks.add_planar(&[&l, &r]).unwrap();
            }
        }
        let want = one.finish();
        let got = loud.finish().with_peaks_of(&peaks.finish());
        assert!(want.clipped_samples > 0 && want.true_peak_dbtp.unwrap() > 0.0);
        assert!(want.loudness_range_lu.is_some() && want.integrated_lufs.is_some());
        assert_eq!(got, want, "louder channel {louder}");
    }
}
