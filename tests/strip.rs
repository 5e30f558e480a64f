#![allow(clippy::needless_range_loop)]
//! Channel strip and routing through the engine: group-bus null test, pre/post-fader sends, solo rules,
//! routing loops, block-size invariance of the whole strip, EQ against the RBJ cookbook, master limiter
//! ceiling (measured with the loudness module's true peak), latency compensation and effect tails.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ttymix::engine::{
    BusInit, BusKind, Command, DelayState, Engine, EngineConfig, LimiterState, MasterState,
    MemorySource, Output, ReverbState, SendState, StripId, StripParam, StripState, TrackInit,
    TransportCommand,
};
use ttymix::load::{LoadedSession, TrackAudio};
use ttymix::loudness::{measure_planar, Channel};
use ttymix::render::{render_to_memory, RenderOptions};
use ttymix::session::{Origin, Session, SessionFile};

const RATE: u32 = 48_000;

fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn track(chans: Vec<Vec<f32>>, state: StripState) -> TrackInit {
    TrackInit {
        source: Box::new(MemorySource::from_vecs(chans)),
        state,
    }
}

fn group() -> BusInit {
    BusInit {
        kind: BusKind::Group,
        state: StripState::default(),
    }
}

/// A delay bus with no feedback: its output is its input 480 frames (10 ms) later.
fn echo() -> BusInit {
    BusInit {
        kind: BusKind::Delay(DelayState {
            time_ms: 10.0,
            feedback: 0.0,
            ..DelayState::default()
        }),
        state: StripState::default(),
    }
}

fn engine(tracks: Vec<TrackInit>, buses: Vec<BusInit>, master: MasterState, max: usize) -> Engine {
    let mut e = Engine::with_buses(EngineConfig::new(RATE, max), master, tracks, buses);
    e.push(Command::transport(0, TransportCommand::Play))
        .unwrap();
    e
}

fn run(e: &mut Engine, frames: usize, block: usize) -> (Vec<f32>, Vec<f32>) {
    let mut l = vec![0.0; frames];
    let mut r = vec![0.0; frames];
    let mut done = 0;
    while done < frames {
        let n = block.min(frames - done);
        e.process(&mut l[done..done + n], &mut r[done..done + n]);
        done += n;
    }
    (l, r)
}

fn stereo(seed: u64, n: usize) -> Vec<Vec<f32>> {
    vec![noise(seed, n), noise(seed + 100, n)]
}

#[test]
fn unity_group_bus_nulls_against_the_direct_path() {
    let n = 20_000;
    let st = |out| StripState {
        gain_db: -3.0,
        pan: 0.3,
        output: out,
        ..Default::default()
    };
    let direct = {
        let mut e = engine(
            vec![
                track(stereo(1, n), st(Output::Master)),
                track(vec![noise(2, n)], st(Output::Master)),
            ],
            vec![group()],
            MasterState::default(),
            512,
        );
        run(&mut e, n, 512)
    };
    let via_bus = {
        let mut e = engine(
            vec![
                track(stereo(1, n), st(Output::Bus(0))),
                track(vec![noise(2, n)], st(Output::Bus(0))),
            ],
            vec![group()],
            MasterState::default(),
            512,
        );
        run(&mut e, n, 512)
    };
    assert!(direct.0.iter().any(|x| x.abs() > 0.1));
    assert_eq!(direct, via_bus);
    // and a bus at -6 dB is not the same (the comparison can fail)
    let mut g = group();
    g.state.gain_db = -6.0;
    let mut e = engine(
        vec![track(stereo(1, n), st(Output::Bus(0)))],
        vec![g],
        MasterState::default(),
        512,
    );
    let half = run(&mut e, n, 512);
    assert_ne!(half.0, via_bus.0);
}

fn send_case(pre_fader: bool, fader_db: f32) -> (Vec<f32>, Vec<f32>) {
    let n = 10_000;
    let st = StripState {
        gain_db: fader_db,
        sends: vec![SendState {
            bus: 0,
            level_db: 0.0,
            pre_fader,
        }],
        ..Default::default()
    };
    let mut e = engine(
        vec![track(stereo(3, n), st)],
        vec![echo()],
        MasterState::default(),
        256,
    );
    run(&mut e, n + 1000, 256)
}

#[test]
fn pre_fader_send_survives_a_closed_fader_and_post_fader_does_not() {
    let src = stereo(3, 10_000);
    let (l, r) = send_case(true, -200.0);
    // fader closed: only the echo, 480 frames late, at unity
    for i in 0..480 {
        assert_eq!(l[i], 0.0, "frame {i}");
    }
    for i in 0..9_000 {
        assert!((l[i + 480] - src[0][i]).abs() < 1e-6, "left {i}");
        assert!((r[i + 480] - src[1][i]).abs() < 1e-6, "right {i}");
    }
    let (l, r) = send_case(false, -200.0);
    assert!(
        l.iter().chain(&r).all(|x| *x == 0.0),
        "post-fader send after a closed fader"
    );
    // post-fader at -6 dB: dry at -6 dB plus echo at -6 dB
    let (l, _) = send_case(false, -6.0);
    let g = 10f32.powf(-6.0 / 20.0);
    for i in 0..9_000 {
        let want = g * src[0][i + 480] + g * src[0][i];
        assert!((l[i + 480] - want).abs() < 1e-5, "{i}");
    }
}

#[test]
fn sends_of_a_muted_track_are_silent() {
    let n = 10_000;
    let st = StripState {
        mute: true,
        sends: vec![SendState {
            bus: 0,
            level_db: 0.0,
            pre_fader: true,
        }],
        ..Default::default()
    };
    let mut e = engine(
        vec![track(stereo(3, n), st)],
        vec![echo()],
        MasterState::default(),
        256,
    );
    let (l, r) = run(&mut e, n, 256);
    assert!(l.iter().chain(&r).all(|x| *x == 0.0));
}

/// Track 0 → group bus 0, sends to echo bus 1; track 1 → master; track 2 → group bus 0.
fn solo_session(solo: [bool; 3], mute: [bool; 3], bus_solo: bool, echo_mute: bool) -> Vec<f32> {
    let n = 8_000;
    let mk = |i: usize, out| StripState {
        solo: solo[i],
        mute: mute[i],
        output: out,
        sends: if i == 0 {
            vec![SendState {
                bus: 1,
                level_db: -3.0,
                pre_fader: false,
            }]
        } else {
            vec![]
        },
        ..Default::default()
    };
    let mut g = group();
    g.state.solo = bus_solo;
    g.state.gain_db = -2.0;
    let mut fx = echo();
    fx.state.mute = echo_mute;
    let mut e = engine(
        vec![
            track(stereo(10, n), mk(0, Output::Bus(0))),
            track(stereo(20, n), mk(1, Output::Master)),
            track(stereo(30, n), mk(2, Output::Bus(0))),
        ],
        vec![g, fx],
        MasterState::default(),
        512,
    );
    run(&mut e, n, 512).0
}

#[test]
fn solo_keeps_the_bus_path_and_the_effect_return() {
    let f = false;
    let soloed = solo_session([true, f, f], [f; 3], f, f);
    // the same as muting everything else, with bus and echo return still playing
    let muted_others = solo_session([f; 3], [f, true, true], f, f);
    assert_eq!(soloed, muted_others);
    // the echo return is in it (muting it changes the result)
    let no_echo = solo_session([f; 3], [f, true, true], f, true);
    assert_ne!(soloed, no_echo);
    // and the bus path (track 0 only reaches the master through the bus)
    assert!(soloed.iter().any(|x| x.abs() > 0.05));
}

#[test]
fn soloing_a_bus_makes_its_feeding_tracks_audible() {
    let f = false;
    let bus_soloed = solo_session([f; 3], [f; 3], true, f);
    let track1_muted = solo_session([f; 3], [f, true, f], f, f);
    assert_eq!(bus_soloed, track1_muted);
    let all = solo_session([f; 3], [f; 3], f, f);
    assert_ne!(bus_soloed, all);
}

#[test]
fn routing_loop_is_refused_naming_file_and_buses() {
    let text = r#"
[[track]]
file = "a.wav"
output = "Drums"
[[bus]]
name = "Drums"
output = "Sub"
[[bus]]
name = "Sub"
output = "Drums"
"#;
    let path = Path::new("loop.toml");
    let f = SessionFile::parse(text, path).unwrap();
    let e = f.routing(path).unwrap_err().to_string();
    assert!(e.starts_with("loop.toml: "), "{e}");
    assert!(e.contains("loop"), "{e}");
    assert!(e.contains("Drums") && e.contains("Sub"), "{e}");
    // without the loop it resolves
    let ok = text.replace("output = \"Drums\"\n\"#", "");
    let fixed = ok.replacen("name = \"Sub\"\noutput = \"Drums\"", "name = \"Sub\"", 1);
    SessionFile::parse(&fixed, path)
        .unwrap()
        .routing(path)
        .unwrap();
}

fn full_strip(output: Output, sends: Vec<SendState>) -> StripState {
    let mut st = StripState {
        trim_db: 2.0,
        gain_db: -1.0,
        pan: 0.2,
        output,
        sends,
        ..Default::default()
    };
    st.hpf.enabled = true;
    st.hpf.freq_hz = 60.0;
    st.lpf.enabled = true;
    st.lpf.slope_24 = true;
    st.eq.enabled = true;
    for b in &mut st.eq.bands {
        b.enabled = true;
        b.gain_db = 3.0;
    }
    st.gate.enabled = true;
    st.gate.threshold_db = -30.0;
    st.compressor.enabled = true;
    st.compressor.threshold_db = -20.0;
    st.compressor.sidechain_hpf_hz = 100.0;
    st
}

#[test]
fn whole_strip_is_block_size_invariant() {
    use StripParam::*;
    let frames = 30_000;
    let build = || {
        let sends = vec![
            SendState {
                bus: 1,
                level_db: -10.0,
                pre_fader: false,
            },
            SendState {
                bus: 2,
                level_db: -12.0,
                pre_fader: true,
            },
        ];
        let mut tracks = Vec::new();
        for i in 0..4u64 {
            let chans = if i % 2 == 0 {
                stereo(i + 1, 25_000)
            } else {
                vec![noise(i + 1, 25_000)]
            };
            let out = if i < 2 {
                Output::Bus(0)
            } else {
                Output::Master
            };
            tracks.push(track(chans, full_strip(out, sends.clone())));
        }
        let buses = vec![
            BusInit {
                kind: BusKind::Group,
                state: full_strip(Output::Master, vec![]),
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
        let master = MasterState {
            limiter: Some(LimiterState::default()),
            ..Default::default()
        };
        let mut e = engine(tracks, buses, master, 4096);
        let cmds: Vec<(u64, StripId, StripParam)> = vec![
            (1_000, StripId::Track(0), HpfFreqHz(200.0)),
            (1_500, StripId::Track(1), EqBandGainDb(1, -8.0)),
            (2_222, StripId::Track(2), CompThresholdDb(-30.0)),
            (3_001, StripId::Track(3), GateEnabled(false)),
            (4_000, StripId::Track(0), SendLevelDb(0, 0.0)),
            (4_100, StripId::Track(1), SendPreFader(1, false)),
            (5_000, StripId::Bus(0), EqBandFreqHz(2, 900.0)),
            (5_500, StripId::Bus(1), ReverbDecayS(4.0)),
            (6_000, StripId::Bus(2), DelayTimeMs(123.0)),
            (7_000, StripId::Master, LimiterCeilingDbtp(-6.0)),
            (7_500, StripId::Master, CompEnabled(true)),
            (8_000, StripId::Track(2), Solo(true)),
            (12_000, StripId::Track(2), Solo(false)),
            (13_000, StripId::Bus(0), Mute(true)),
            (16_000, StripId::Bus(0), Mute(false)),
            (17_000, StripId::Track(0), LpfSlope24(false)),
            (18_000, StripId::Master, EqEnabled(true)),
            (18_001, StripId::Master, EqBandGainDb(0, 6.0)),
            (18_001, StripId::Master, EqBandEnabled(0, true)),
        ];
        for (at, s, p) in cmds {
            e.push(Command::strip(at, s, p)).unwrap();
        }
        e
    };
    let mut outs = Vec::new();
    for block in [1usize, 37, 64, 512, 4096] {
        let mut e = build();
        outs.push((block, run(&mut e, frames, block)));
    }
    let (_, first) = &outs[0];
    assert!(first.0.iter().any(|x| x.abs() > 0.01));
    for (block, o) in &outs[1..] {
        let d = o.0.iter().zip(&first.0).position(|(a, b)| a != b);
        assert!(o == first, "block size {block} differs from 1 at {d:?}");
    }
}

/// RBJ cookbook peaking EQ magnitude at `f`.
fn rbj_peak_db(f0: f64, gain_db: f64, q: f64, f: f64) -> f64 {
    use std::f64::consts::PI;
    let a = 10f64.powf(gain_db / 40.0);
    let w0 = 2.0 * PI * f0 / RATE as f64;
    let alpha = w0.sin() / (2.0 * q);
    let (b0, b1, b2) = (1.0 + alpha * a, -2.0 * w0.cos(), 1.0 - alpha * a);
    let (a0, a1, a2) = (1.0 + alpha / a, -2.0 * w0.cos(), 1.0 - alpha / a);
    let w = 2.0 * PI * f / RATE as f64;
    let h = |c0: f64, c1: f64, c2: f64| {
        let re = c0 + c1 * w.cos() + c2 * (2.0 * w).cos();
        let im = -c1 * w.sin() - c2 * (2.0 * w).sin();
        (re * re + im * im).sqrt()
    };
    20.0 * (h(b0, b1, b2) / h(a0, a1, a2)).log10()
}

#[test]
fn eq_through_the_engine_matches_the_cookbook() {
    let (f0, g, q) = (1_000.0f64, 9.0f64, 1.4f64);
    for f in [100.0f64, 500.0, 1_000.0, 1_700.0, 6_000.0] {
        let n = 48_000;
        let sine: Vec<f32> = (0..n)
            .map(|i| {
                (0.25 * (2.0 * std::f64::consts::PI * f * i as f64 / RATE as f64).sin()) as f32
            })
            .collect();
        let mut st = StripState::default();
        st.eq.enabled = true;
        st.eq.bands[1] = ttymix::engine::EqBandState {
            enabled: true,
            freq_hz: f0 as f32,
            gain_db: g as f32,
            q: q as f32,
        };
        let mut e = engine(
            vec![track(vec![sine.clone(), sine.clone()], st)],
            vec![],
            MasterState::default(),
            512,
        );
        let (l, _) = run(&mut e, n, 512);
        let rms = |x: &[f32]| {
            (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        };
        let got = 20.0 * (rms(&l[24_000..]) / rms(&sine[24_000..])).log10();
        let want = rbj_peak_db(f0, g, q, f);
        assert!(
            (got - want).abs() < 0.02,
            "{f} Hz: engine {got:.3} dB, cookbook {want:.3} dB"
        );
    }
}

fn loaded(chans: Vec<Vec<f32>>, file: SessionFile) -> LoadedSession {
    LoadedSession {
        session: Session {
            origin: Origin::Demo,
            base_dir: PathBuf::from("."),
            file,
        },
        sample_rate_hz: RATE,
        tempo_bpm: None,
        tracks: vec![TrackAudio {
            name: "t".into(),
            path: None,
            audio: Ok(chans.into_iter().map(Arc::from).collect()),
            warnings: vec![],
            source_rate_hz: RATE,
            stream: None,
        }],
    }
}

fn session(text: &str) -> SessionFile {
    SessionFile::parse(text, Path::new("t.toml")).unwrap()
}

#[test]
fn master_limiter_keeps_a_hot_render_under_the_ceiling() {
    let hot: Vec<Vec<f32>> = stereo(7, 96_000)
        .into_iter()
        .map(|c| c.into_iter().map(|x| x * 6.0).collect())
        .collect();
    let with = session("[master.limiter]\nceiling_dbtp = -1.0\n[[track]]\nfile = \"x.wav\"\n");
    let without = session("[[track]]\nfile = \"x.wav\"\n");
    let tp = |file: SessionFile| {
        let (out, _) =
            render_to_memory(&loaded(hot.clone(), file), &RenderOptions::default()).unwrap();
        assert_eq!(out.len(), 2 * 96_000);
        let l: Vec<f32> = out.iter().step_by(2).copied().collect();
        let r: Vec<f32> = out.iter().skip(1).step_by(2).copied().collect();
        measure_planar(&[&l, &r], &[Channel::Left, Channel::Right], RATE)
            .unwrap()
            .true_peak_dbtp
            .unwrap()
    };
    let limited = tp(with);
    assert!(
        limited <= -1.0,
        "true peak {limited} dBTP over the -1 dBTP ceiling"
    );
    assert!(tp(without) > 3.0, "the input really is hot");
}

#[test]
fn render_compensates_the_limiter_latency() {
    let quiet: Vec<Vec<f32>> = stereo(8, 20_000)
        .into_iter()
        .map(|c| c.into_iter().map(|x| x * 0.5).collect())
        .collect();
    let file = session("[master.limiter]\nceiling_dbtp = -1.0\n[[track]]\nfile = \"x.wav\"\n");
    let (out, _) =
        render_to_memory(&loaded(quiet.clone(), file), &RenderOptions::default()).unwrap();
    assert_eq!(out.len(), 2 * 20_000);
    for i in 0..20_000 {
        assert!((out[2 * i] - quiet[0][i]).abs() < 1e-6, "left {i}");
        assert!((out[2 * i + 1] - quiet[1][i]).abs() < 1e-6, "right {i}");
    }
}

#[test]
fn render_includes_the_effect_tail_and_ends() {
    let mut burst = noise(9, 4_800);
    burst.resize(9_600, 0.0);
    let text = "[[track]]\nfile = \"x.wav\"\n[[track.send]]\nbus = \"Verb\"\nlevel_db = 0.0\n\
                [[bus]]\nname = \"Verb\"\nkind = \"reverb\"\n[bus.reverb]\ndecay_s = 1.0\n";
    let (out, _) = render_to_memory(
        &loaded(vec![burst.clone()], session(text)),
        &RenderOptions::default(),
    )
    .unwrap();
    let frames = out.len() / 2;
    assert!(
        frames > 9_600 + RATE as usize / 2,
        "tail of {frames} frames"
    );
    assert!(
        frames < 9_600 + 10 * RATE as usize,
        "the tail ends before the cap"
    );
    let last = &out[out.len() - 2 * 4_800..];
    assert!(last.iter().all(|x| x.abs() < 10f32.powf(-90.0 / 20.0)));
    // somewhere after the stem ends the reverb is still audible
    assert!(out[2 * 9_600..2 * 19_200].iter().any(|x| x.abs() > 1e-3));
    // with --to the render stops there
    let opts = RenderOptions {
        to_s: Some(0.2),
        ..Default::default()
    };
    let (out, _) = render_to_memory(&loaded(vec![burst], session(text)), &opts).unwrap();
    assert_eq!(out.len(), 2 * 9_600);
}

#[test]
fn gain_reduction_is_reported() {
    let mut st = StripState::default();
    st.compressor.enabled = true;
    st.compressor.threshold_db = -30.0;
    let mut e = engine(
        vec![track(stereo(4, 10_000), st)],
        vec![],
        MasterState::default(),
        512,
    );
    run(&mut e, 4096, 512);
    let gr = e.track_gain_reduction_db(0).unwrap();
    assert!(gr.comp_db > 5.0, "{gr:?}");
    assert_eq!(gr.gate_db, 0.0);
}
