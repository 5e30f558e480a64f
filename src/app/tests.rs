use super::*;
use crate::engine::CommandKind;
use crate::session::TrackConfig;

#[derive(Debug, PartialEq)]
enum C {
    S(StripId, StripParam),
    T(TransportCommand),
    M(crate::engine::MonitorCommand),
}

fn drain(app: &mut App) -> Vec<C> {
    app.drain_commands()
        .into_iter()
        .map(|c| {
            assert_eq!(c.at_frame, 0, "UI commands apply at once");
            match c.kind {
                CommandKind::Strip { strip, param } => C::S(strip, param),
                CommandKind::Transport(t) => C::T(t),
                CommandKind::Monitor(m) => C::M(m),
                CommandKind::ReplaceSource { .. } | CommandKind::SetReference { .. } => {
                    panic!("unexpected source command")
                }
            }
        })
        .collect()
}

fn session(dir: &std::path::Path, n: usize) -> Session {
    Session {
        origin: Origin::Folder(dir.to_path_buf()),
        base_dir: dir.to_path_buf(),
        file: SessionFile {
            tracks: (0..n)
                .map(|i| TrackConfig {
                    file: PathBuf::from(format!("t{i}.wav")),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
    }
}

fn app(dir: &std::path::Path, n: usize) -> App {
    let mut a = App::new(session(dir, n), Keymap::builtin(), 48_000);
    let s = session(dir, n);
    a.loaded(s, vec![TrackStatus::Online; n], 48_000, 48_000 * 60);
    a
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    let m = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    KeyEvent::new(KeyCode::Char(c), m)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn press(app: &mut App, keys: &[KeyEvent]) {
    for k in keys {
        app.handle_key(k);
    }
}

use StripId::Track;
use StripParam::*;

#[test]
fn fader_keys_step_and_emit_gain_commands() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 3);
    press(&mut a, &[key(KeyCode::Up)]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), GainDb(1.0))]);
    press(&mut a, &[key(KeyCode::Down), key(KeyCode::Down)]);
    assert_eq!(
        drain(&mut a),
        vec![C::S(Track(0), GainDb(0.0)), C::S(Track(0), GainDb(-1.0))]
    );
    press(&mut a, &[key(KeyCode::PageUp)]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), GainDb(5.0))]);
    press(&mut a, &[KeyEvent::new(KeyCode::Up, KeyModifiers::SHIFT)]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), GainDb(5.1))]);
    press(&mut a, &[ch('0')]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), GainDb(0.0))]);
    // unity again changes nothing: no command, no undo step
    press(&mut a, &[ch('0')]);
    assert_eq!(drain(&mut a), vec![]);
    // clamped at the top of the range
    for _ in 0..5 {
        press(&mut a, &[key(KeyCode::PageUp)]);
    }
    assert_eq!(a.session.file.tracks[0].gain_db, FADER_MAX_DB);
    assert!(a.dirty);
}

#[test]
fn select_mute_solo_polarity_pan() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 3);
    press(&mut a, &[key(KeyCode::Right), ch('m'), ch('s')]);
    assert_eq!(a.selected, 1);
    assert_eq!(
        drain(&mut a),
        vec![C::S(Track(1), Mute(true)), C::S(Track(1), Solo(true))]
    );
    press(
        &mut a,
        &[ch('l'), ch('s'), ch('p'), ch(']'), ch(']'), ch('=')],
    );
    assert_eq!(
        drain(&mut a),
        vec![
            C::S(Track(2), Solo(true)),
            C::S(Track(2), InvertPolarity(true)),
            C::S(Track(2), Pan(0.1)),
            C::S(Track(2), Pan(0.2)),
            C::S(Track(2), Pan(0.0)),
        ]
    );
    press(&mut a, &[ch('S')]);
    assert_eq!(
        drain(&mut a),
        vec![C::S(Track(1), Solo(false)), C::S(Track(2), Solo(false))]
    );
    // undo brings both solos back in one step
    press(&mut a, &[ch('u')]);
    assert_eq!(
        drain(&mut a),
        vec![C::S(Track(1), Solo(true)), C::S(Track(2), Solo(true))]
    );
    assert!(a.session.file.tracks[1].solo && a.session.file.tracks[2].solo);
    // selection stops at the master; strip keys there do nothing
    press(&mut a, &[ch('l'), ch('l'), ch('l'), ch('m')]);
    assert!(a.master_selected());
    assert_eq!(drain(&mut a), vec![]);
    press(&mut a, &[key(KeyCode::Down)]);
    assert_eq!(drain(&mut a), vec![C::S(StripId::Master, GainDb(-1.0))]);
}

#[test]
fn undo_redo_walk_the_history() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 2);
    press(&mut a, &[key(KeyCode::Up), key(KeyCode::Up), ch('m')]);
    drain(&mut a);
    press(&mut a, &[ch('u')]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), Mute(false))]);
    press(&mut a, &[ch('u')]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), GainDb(1.0))]);
    press(&mut a, &[ctrl('r')]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), GainDb(2.0))]);
    // a new edit clears the redo stack
    press(&mut a, &[ch('p'), ctrl('r')]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), InvertPolarity(true))]);
    press(&mut a, &[ch('u'), ch('u'), ch('u'), ch('u')]);
    assert_eq!(
        drain(&mut a),
        vec![
            C::S(Track(0), InvertPolarity(false)),
            C::S(Track(0), GainDb(1.0)),
            C::S(Track(0), GainDb(0.0)),
        ]
    );
    assert_eq!(a.message, "nothing to undo");
}

#[test]
fn transport_play_stop_returns_to_start_and_seeks() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 1);
    a.position_frames = 96_000;
    press(&mut a, &[key(KeyCode::Char(' '))]);
    assert!(a.playing);
    assert_eq!(drain(&mut a), vec![C::T(TransportCommand::Play)]);
    a.position_frames = 300_000; // the playhead moved while playing
    press(&mut a, &[ch('.')]);
    assert_eq!(
        drain(&mut a),
        vec![C::T(TransportCommand::Seek { frame: 540_000 })]
    );
    press(&mut a, &[ch(','), ch(',')]);
    assert_eq!(
        drain(&mut a),
        vec![
            C::T(TransportCommand::Seek { frame: 300_000 }),
            C::T(TransportCommand::Seek { frame: 60_000 })
        ]
    );
    press(&mut a, &[key(KeyCode::Backspace)]);
    assert!(!a.playing);
    assert_eq!(
        drain(&mut a),
        vec![
            C::T(TransportCommand::Pause),
            C::T(TransportCommand::Seek { frame: 96_000 })
        ]
    );
    // one bar at the default 120 bpm in 4/4 = 2 s
    press(&mut a, &[ch('>')]);
    assert_eq!(
        drain(&mut a),
        vec![C::T(TransportCommand::Seek {
            frame: 96_000 + 96_000
        })]
    );
    press(&mut a, &[key(KeyCode::End)]);
    assert_eq!(
        drain(&mut a),
        vec![C::T(TransportCommand::Seek { frame: 48_000 * 60 })]
    );
}

#[test]
fn loop_in_out_toggle() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 1);
    press(&mut a, &[ch('L')]);
    assert_eq!(drain(&mut a), vec![]);
    a.position_frames = 1000;
    press(&mut a, &[ch('i')]);
    assert_eq!(drain(&mut a), vec![]);
    a.position_frames = 5000;
    press(&mut a, &[ch('o')]);
    assert_eq!(
        drain(&mut a),
        vec![C::T(TransportCommand::SetLoop {
            start_frame: 1000,
            end_frame: 5000
        })]
    );
    assert!(a.loop_enabled);
    press(&mut a, &[ch('L'), ch('L')]);
    assert_eq!(
        drain(&mut a),
        vec![
            C::T(TransportCommand::LoopEnabled(false)),
            C::T(TransportCommand::LoopEnabled(true))
        ]
    );
}

#[test]
fn markers_add_next_prev() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 1);
    a.position_frames = 3000;
    press(&mut a, &[ch('M')]);
    a.position_frames = 1000;
    press(&mut a, &[ch('M')]);
    assert_eq!(a.markers, vec![1000, 3000]);
    a.position_frames = 0;
    press(&mut a, &[ch('\''), ch('\''), ch('\''), ch('`')]);
    assert_eq!(
        drain(&mut a),
        vec![
            C::T(TransportCommand::Seek { frame: 1000 }),
            C::T(TransportCommand::Seek { frame: 3000 }),
            C::T(TransportCommand::Seek { frame: 1000 }),
        ]
    );
}

#[test]
fn typed_fader_value() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 2);
    press(
        &mut a,
        &[
            key(KeyCode::Enter),
            ch('-'),
            ch('7'),
            ch('.'),
            ch('5'),
            key(KeyCode::Enter),
        ],
    );
    assert_eq!(drain(&mut a), vec![C::S(Track(0), GainDb(-7.5))]);
    press(
        &mut a,
        &[key(KeyCode::Enter), ch('9'), ch('9'), key(KeyCode::Enter)],
    );
    assert_eq!(drain(&mut a), vec![C::S(Track(0), GainDb(FADER_MAX_DB))]);
    // Esc abandons; letters are not typed
    press(
        &mut a,
        &[key(KeyCode::Enter), ch('3'), key(KeyCode::Esc), ch('m')],
    );
    assert_eq!(drain(&mut a), vec![C::S(Track(0), Mute(true))]);
    press(&mut a, &[key(KeyCode::Enter), ch('-'), key(KeyCode::Enter)]);
    assert_eq!(drain(&mut a), vec![]);
    assert!(a.message.starts_with("not a number"));
}

#[test]
fn save_writes_the_session_file_and_quit_saves() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 2);
    press(
        &mut a,
        &[
            key(KeyCode::Right),
            ch('m'),
            key(KeyCode::PageDown),
            ctrl('s'),
        ],
    );
    assert!(!a.dirty);
    let path = d.path().join("ttymix.toml");
    let f = SessionFile::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    assert!(f.tracks[1].mute);
    assert_eq!(f.tracks[1].gain_db, -6.0);
    assert!(!f.tracks[0].mute);
    press(&mut a, &[key(KeyCode::Up), ch('q')]);
    assert!(a.quit);
    let f = SessionFile::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    assert_eq!(f.tracks[1].gain_db, -5.0);
}

#[test]
fn demo_has_nothing_to_save() {
    let s = Session::open("demo", |_| false).unwrap();
    let mut a = App::new(s, Keymap::builtin(), 48_000);
    press(&mut a, &[ctrl('s')]);
    assert!(a.message.contains("nothing to save"), "{}", a.message);
    assert_eq!(a.recovery_path(), None);
}

#[test]
fn recovery_file_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 2);
    press(&mut a, &[ch('l'), ch('p'), key(KeyCode::Up)]);
    a.write_recovery().unwrap();
    let rec = d.path().join("ttymix.toml.recovery");
    assert_eq!(a.recovery_path().as_deref(), Some(rec.as_path()));
    assert!(rec.is_file());
    let mut b = app(d.path(), 2);
    b.overlay = Overlay::Recover(rec.clone());
    press(&mut b, &[ch('y')]);
    assert_eq!(
        drain(&mut b),
        vec![
            C::S(Track(1), InvertPolarity(true)),
            C::S(Track(1), GainDb(1.0))
        ]
    );
    // saving removes the recovery file
    press(&mut b, &[ctrl('s')]);
    assert!(!rec.exists());
}

#[test]
fn inspector_steps_the_selected_parameter() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 1);
    press(
        &mut a,
        &[key(KeyCode::Tab), key(KeyCode::Up), key(KeyCode::PageUp)],
    );
    assert_eq!(
        drain(&mut a),
        vec![C::S(Track(0), TrimDb(1.0)), C::S(Track(0), TrimDb(7.0))]
    );
    press(&mut a, &[key(KeyCode::Right), key(KeyCode::Up)]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), InvertPolarity(true))]);
    press(&mut a, &[ch('0')]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), InvertPolarity(false))]);
    press(&mut a, &[key(KeyCode::Tab), key(KeyCode::Up)]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), GainDb(1.0))]);
}

#[test]
fn peek_line_lists_every_strip_and_loudness() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 2);
    a.levels[0].update([0.5, 0.25], [0.1, 0.1], 0.0, 0);
    a.loudness.integrated_lufs = -14.0;
    press(&mut a, &[ch('n')]);
    assert!(
        a.message.contains("t0 peak -6.0 rms -20.0"),
        "{}",
        a.message
    );
    assert!(a.message.contains("t1 peak -inf"), "{}", a.message);
    assert!(a.message.contains("I -14.0 LUFS"), "{}", a.message);
    assert_eq!(a.peek_lines.len(), 1);
}

#[test]
fn levels_hold_and_clip() {
    let mut l = StripLevels::default();
    l.update([0.5, 0.5], [0.0; 2], 0.0, 0);
    l.update([0.1, 0.1], [0.0; 2], 0.0, 1000);
    assert!((l.hold_db[0] - 20.0 * 0.5f32.log10()).abs() < 1e-5);
    l.update([0.1, 0.1], [0.0; 2], 0.0, 1000 + PEAK_HOLD_MS + 1);
    assert!((l.hold_db[0] + 20.0).abs() < 1e-4);
    assert!(!l.clipped);
    l.update([1.0, 0.0], [0.0; 2], 0.0, 5000);
    assert!(l.clipped);
}

#[test]
fn mono_dim_and_meter_mode_are_monitor_only() {
    use crate::engine::MonitorCommand::{Dim, Mono};
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 2);
    press(&mut a, &[ch('c')]);
    assert!(a.mono);
    assert_eq!(drain(&mut a), vec![C::M(Mono(true))]);
    assert_eq!(a.message, "mono check on");
    press(&mut a, &[ch('d'), ch('c')]);
    assert!(a.dim && !a.mono);
    assert_eq!(drain(&mut a), vec![C::M(Dim(true)), C::M(Mono(false))]);
    assert_eq!(a.message, "mono check off");
    press(&mut a, &[ch('d')]);
    assert_eq!(drain(&mut a), vec![C::M(Dim(false))]);
    // listening aids are not edits: nothing to save, nothing to undo, nothing in the session file
    assert!(!a.dirty);
    assert_eq!(a.generation, 0);
    press(&mut a, &[ch('u')]);
    assert_eq!(a.message, "nothing to undo");
    // meter mode cycles peak → rms → loudness → peak and emits nothing
    assert_eq!(a.meter_mode, MeterMode::Peak);
    press(&mut a, &[ch('v')]);
    assert_eq!(
        (a.meter_mode, a.message.as_str()),
        (MeterMode::Rms, "meters: rms")
    );
    press(&mut a, &[ch('v')]);
    assert_eq!(a.meter_mode, MeterMode::Loudness);
    press(&mut a, &[ch('v')]);
    assert_eq!(a.meter_mode, MeterMode::Peak);
    assert_eq!(drain(&mut a), vec![]);
    assert!(!a.dirty);
}

/// The strip meters follow the mode: a track at −6 dB peak / −30 dB RMS fills far less in RMS mode; the
/// master shows momentary/short-term LUFS in loudness mode; the transport bar names the states.
#[test]
fn meter_mode_changes_what_the_bars_show() {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 2);
    let p = 10f32.powf(-6.0 / 20.0);
    let r = 10f32.powf(-30.0 / 20.0);
    a.levels[0].update([p, p], [r, r], 0.0, 0);
    a.master_levels.update([p, p], [r, r], 0.0, 0);
    a.loudness.momentary_lufs = -12.0;
    a.loudness.short_term_lufs = -12.0;
    let area = Rect::new(0, 0, 80, 24);
    let filled = |a: &App, col: u16| {
        let mut b = Buffer::empty(area);
        crate::ui::render(a, area, &mut b);
        (0..24)
            .filter(|&y| {
                matches!(
                    b[(col, y)].symbol(),
                    "█" | "▇" | "▆" | "▅" | "▄" | "▃" | "▂" | "▁"
                )
            })
            .count()
    };
    let peak_rows = filled(&a, 4);
    let master_x = 80 - crate::ui::MASTER_WIDTH + 1 + 4;
    let master_peak = filled(&a, master_x);
    a.action(Action::ToggleMeterMode);
    let rms_rows = filled(&a, 4);
    assert!(
        peak_rows > rms_rows + 2,
        "peak {peak_rows} rows, rms {rms_rows}"
    );
    a.action(Action::ToggleMeterMode);
    assert_eq!(filled(&a, 4), rms_rows, "tracks show RMS in loudness mode");
    let master_lufs = filled(&a, master_x);
    assert!(
        master_lufs < master_peak
            && master_lufs
                > filled(
                    &{
                        let mut b = App::new(a.session.clone(), Keymap::builtin(), 48_000);
                        b.loaded(a.session.clone(), vec![TrackStatus::Online; 2], 48_000, 0);
                        b.master_levels = a.master_levels;
                        b.meter_mode = MeterMode::Rms;
                        b
                    },
                    master_x
                ),
        "master lufs {master_lufs} rows, peak {master_peak}"
    );
    a.action(Action::MonoCheck);
    a.action(Action::Dim);
    let mut b = Buffer::empty(area);
    crate::ui::render(&a, area, &mut b);
    let top: String = (0..80).map(|x| b[(x, 0)].symbol().to_string()).collect();
    assert!(
        top.contains("meters lufs") && top.contains("MONO") && top.contains("DIM"),
        "{top}"
    );
}

#[test]
fn cycle_reference_goes_mix_ref1_ref2_mix_loudness_matched() {
    use crate::engine::MonitorCommand::Listen;
    use crate::session::ReferenceConfig;
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 2);
    press(&mut a, &[ch('a')]);
    assert!(
        a.message.starts_with("no reference tracks"),
        "{}",
        a.message
    );
    assert_eq!(drain(&mut a), vec![]);

    let mut s = session(d.path(), 2);
    s.file.references = vec![
        ReferenceConfig {
            file: PathBuf::from("pro.wav"),
            name: Some("Pro".into()),
        },
        ReferenceConfig {
            file: PathBuf::from("other.flac"),
            name: None,
        },
    ];
    let mut a = App::new(s.clone(), Keymap::builtin(), 48_000);
    a.loaded(s, vec![TrackStatus::Online; 2], 48_000, 48_000 * 60);
    assert_eq!(a.references.len(), 2);
    press(&mut a, &[ch('a')]);
    assert_eq!(a.message, "references still loading");
    assert_eq!(drain(&mut a), vec![]);

    a.reference_loaded(0, Ok(Some(-9.0)));
    a.reference_loaded(1, Err("other.flac: file not found".into()));
    // the mix has not been measured: unity, and it says so
    press(&mut a, &[ch('a')]);
    assert_eq!(a.listening, Some(0));
    assert_eq!(
        drain(&mut a),
        vec![C::M(Listen {
            reference: Some(0),
            gain_db: 0.0
        })]
    );
    assert!(
        a.message.contains("Pro") && a.message.contains("at unity"),
        "{}",
        a.message
    );
    // the offline second reference is skipped: back to the mix
    press(&mut a, &[ch('a')]);
    assert_eq!(a.listening, None);
    assert_eq!(
        drain(&mut a),
        vec![C::M(Listen {
            reference: None,
            gain_db: 0.0
        })]
    );
    assert_eq!(a.message, "listening to the mix");

    // both online; the mix measured at -14 LUFS: ref 1 (-9) gets -5 dB, ref 2 (-20) would get +6 dB
    a.reference_loaded(1, Ok(Some(-20.0)));
    a.loudness.integrated_lufs = -14.0;
    press(&mut a, &[ch('a')]);
    assert!(
        a.message.contains("loudness-matched -5.0 dB"),
        "{}",
        a.message
    );
    // while a reference plays the live meter measures it; the match still uses the mix's figure
    a.loudness.integrated_lufs = -9.0;
    press(&mut a, &[ch('a')]);
    press(&mut a, &[ch('a')]);
    assert_eq!(
        drain(&mut a),
        vec![
            C::M(Listen {
                reference: Some(0),
                gain_db: -5.0
            }),
            C::M(Listen {
                reference: Some(1),
                gain_db: 6.0
            }),
            C::M(Listen {
                reference: None,
                gain_db: 0.0
            }),
        ]
    );
    assert!(a.references[1].name == "other");
    // listening is not an edit
    assert!(!a.dirty);
    // a very quiet reference is not pushed more than REFERENCE_MAX_GAIN_DB
    a.reference_loaded(1, Ok(Some(-60.0)));
    a.loudness.integrated_lufs = -14.0;
    press(&mut a, &[ch('a'), ch('a')]);
    assert_eq!(
        drain(&mut a).last(),
        Some(&C::M(Listen {
            reference: Some(1),
            gain_db: REFERENCE_MAX_GAIN_DB
        }))
    );
}
