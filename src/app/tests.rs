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
    assert_eq!(a.marker_frames(), vec![1000, 3000]);
    // named in order of creation, kept in timeline order
    let names: Vec<&str> = a
        .session
        .file
        .markers
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["M2", "M1"]);
    assert!(a.dirty, "a marker is an edit");
    // adding where one already is changes nothing
    press(&mut a, &[ch('M')]);
    assert_eq!(a.session.file.markers.len(), 2);
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
fn markers_are_named_deleted_undone_and_saved() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 1);
    // no marker yet: naming says so and opens nothing
    press(&mut a, &[ch('N')]);
    assert_eq!(a.overlay, Overlay::None);
    assert!(a.message.contains("no marker"), "{}", a.message);
    a.position_frames = 48_000 * 12 + 24_000; // 12.5 s
    press(&mut a, &[ch('M')]);
    a.position_frames = 48_000 * 20;
    // the marker at or before the playhead is the one named: type over its default name
    press(&mut a, &[ch('N')]);
    assert_eq!(a.overlay, Overlay::MarkerName(0, "M1".into()));
    press(&mut a, &[key(KeyCode::Backspace), key(KeyCode::Backspace)]);
    for c in "Chorus 1".chars() {
        press(&mut a, &[ch(c)]);
    }
    press(&mut a, &[key(KeyCode::Enter)]);
    assert_eq!(a.overlay, Overlay::None);
    assert_eq!(a.session.file.markers[0].name, "Chorus 1");
    assert_eq!(a.session.file.markers[0].time_s, 12.5);
    // the transport bar names it
    let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 80, 24));
    crate::ui::render(&a, buf.area, &mut buf);
    let top: String = (0..80).map(|x| buf[(x, 0)].symbol().to_string()).collect();
    assert!(top.contains("@Chorus 1"), "{top}");
    // Esc while naming keeps the old name
    press(&mut a, &[ch('N'), ch('X'), key(KeyCode::Esc)]);
    assert_eq!(a.session.file.markers[0].name, "Chorus 1");
    // saved into the session file, read back equal
    press(&mut a, &[ctrl('s')]);
    let path = d.path().join("ttymix.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("[[marker]]"), "{text}");
    let back = SessionFile::parse(&text, &path).unwrap();
    assert_eq!(back.markers, a.session.file.markers);
    // delete, then undo brings it back, redo deletes again; no engine command at any point
    press(&mut a, &[ch('D')]);
    assert!(a.session.file.markers.is_empty());
    press(&mut a, &[ch('u')]);
    assert_eq!(a.session.file.markers[0].name, "Chorus 1");
    press(&mut a, &[ctrl('r')]);
    assert!(a.session.file.markers.is_empty());
    assert_eq!(drain(&mut a), vec![]);
}

#[test]
fn reconnect_key_asks_the_loop_to_reconnect() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 1);
    assert!(!a.reconnect_requested);
    press(&mut a, &[ch('R')]);
    assert!(a.reconnect_requested);
}

#[test]
fn overview_line_shows_the_song_playhead_markers_and_loop() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 1);
    // 60 s: loud for the first 30 s, silent after
    let loud = vec![0.5f32; 48_000 * 30];
    a.overview.add_stem(&[&loud]);
    a.length_frames = 48_000 * 60;
    a.position_frames = 48_000 * 45;
    a.loop_in_frames = Some(0);
    a.loop_out_frames = Some(48_000 * 15);
    a.session.file.markers.push(crate::session::MarkerConfig {
        time_s: 30.0,
        name: "B".into(),
    });
    let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 80, 24));
    crate::ui::render(&a, buf.area, &mut buf);
    let row: Vec<String> = (0..80).map(|x| buf[(x, 1)].symbol().to_string()).collect();
    // -6 dB on a 48 dB scale: 7 of 8 blocks in the loud half, blank in the silent half
    assert!(row[..40].iter().all(|c| c == "▇"), "{row:?}");
    assert_eq!(row[40], "|", "marker at 30 s");
    assert!(
        row[41..]
            .iter()
            .enumerate()
            .all(|(i, c)| c == " " || (i + 41 == 60 && c == "▏")),
        "{row:?}"
    );
    // the playhead at 45 s is column 60, reversed
    use ratatui::style::Modifier;
    assert!(buf[(60, 1)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(59, 1)].modifier.contains(Modifier::REVERSED));
    // the loop 0–15 s is underlined up to column 20
    assert!(buf[(20, 1)].modifier.contains(Modifier::UNDERLINED));
    assert!(!buf[(21, 1)].modifier.contains(Modifier::UNDERLINED));
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

// ---- inspector key scenarios: keys -> model, exact engine commands, screen ----

use crate::engine::Output as Out;
use crate::session::{BusConfig, BusKindName, LimiterConfig};
use params::{Param, StripRef};

/// Two tracks; buses Drums (group), Sub (group), Verb (reverb); a master limiter.
fn routed_app(dir: &std::path::Path) -> App {
    let mut s = session(dir, 2);
    s.file.buses = vec![
        BusConfig {
            name: "Drums".into(),
            ..Default::default()
        },
        BusConfig {
            name: "Sub".into(),
            ..Default::default()
        },
        BusConfig {
            name: "Verb".into(),
            kind: BusKindName::Reverb,
            ..Default::default()
        },
    ];
    s.file.master.limiter = Some(LimiterConfig {
        enabled: true,
        ceiling_dbtp: -1.0,
        release_ms: 50.0,
    });
    let mut a = App::new(s.clone(), Keymap::builtin(), 48_000);
    a.loaded(s, vec![TrackStatus::Online; 2], 48_000, 48_000 * 60);
    a
}

/// Move the inspector to parameter `p` with the param_next key (right), from the first parameter.
fn go_to(a: &mut App, p: Param) {
    let ps = params::params(&a.inspector_rows());
    let idx = ps
        .iter()
        .position(|&q| q == p)
        .expect("parameter on this strip");
    a.param_index = 0;
    for _ in 0..idx {
        press(a, &[key(KeyCode::Right)]);
    }
    assert_eq!(a.selected_param(), p);
}

fn typed(a: &mut App, text: &str) {
    press(a, &[key(KeyCode::Enter)]);
    for c in text.chars() {
        press(a, &[ch(c)]);
    }
    press(a, &[key(KeyCode::Enter)]);
}

fn screen(a: &App, w: u16, h: u16) -> String {
    let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, w, h));
    crate::ui::render(a, buf.area, &mut buf);
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn inspector_eq_band_steps_types_and_undoes() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 2);
    press(&mut a, &[key(KeyCode::Tab)]);
    go_to(&mut a, Param::BandGain(1));
    // normal, coarse and fine steps; then a typed value
    press(&mut a, &[key(KeyCode::Up), key(KeyCode::PageUp), ch('K')]);
    typed(&mut a, "-7.25");
    assert_eq!(
        drain(&mut a),
        vec![
            C::S(Track(0), EqBandGainDb(1, 0.5)),
            C::S(Track(0), EqBandGainDb(1, 3.5)),
            C::S(Track(0), EqBandGainDb(1, 3.6)),
            // typed values land on the fine grid (0.1 dB)
            C::S(Track(0), EqBandGainDb(1, -7.3)),
        ]
    );
    let band = a.session.file.tracks[0]
        .eq
        .as_ref()
        .unwrap()
        .low_mid
        .clone()
        .unwrap();
    assert_eq!(
        (band.gain_db, band.enabled, band.freq_hz),
        (-7.3, false, 400.0)
    );
    // frequency steps a sixth of an octave (400·2^(1/6) = 448.98 → 449 Hz), coarse an octave (224.5)
    press(
        &mut a,
        &[key(KeyCode::Left), key(KeyCode::Up), key(KeyCode::PageDown)],
    );
    // band on, then the whole EQ on
    press(&mut a, &[key(KeyCode::Left), key(KeyCode::Up)]);
    go_to(&mut a, Param::EqOn);
    press(&mut a, &[key(KeyCode::Up)]);
    assert_eq!(
        drain(&mut a),
        vec![
            C::S(Track(0), EqBandFreqHz(1, 449.0)),
            C::S(Track(0), EqBandFreqHz(1, 225.0)), // 224.5 rounds up
            C::S(Track(0), EqBandEnabled(1, true)),
            C::S(Track(0), EqEnabled(true)),
        ]
    );
    // the screen shows the values, the selected row highlighted, and the EQ curve
    let s = screen(&a, 80, 24);
    assert!(s.contains("INSPECTOR t0 (track 1)"), "{s}");
    assert!(s.contains(" EQ                      on"), "{s}");
    // undo walks back one step at a time with the reverse command
    press(&mut a, &[ch('u'), ch('u')]);
    assert_eq!(
        drain(&mut a),
        vec![
            C::S(Track(0), EqEnabled(false)),
            C::S(Track(0), EqBandEnabled(1, false)),
        ]
    );
    // reset key: the band gain back to 0 dB
    go_to(&mut a, Param::BandGain(1));
    press(&mut a, &[ch('0')]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), EqBandGainDb(1, 0.0))]);
}

#[test]
fn inspector_dynamics_and_filters_emit_their_commands() {
    let d = tempfile::tempdir().unwrap();
    let mut a = app(d.path(), 1);
    press(&mut a, &[key(KeyCode::Tab)]);
    let steps = [
        (Param::HpfOn, key(KeyCode::Up), HpfEnabled(true)),
        (Param::HpfFreq, key(KeyCode::PageUp), HpfFreqHz(160.0)),
        (Param::HpfSlope, key(KeyCode::Up), HpfSlope24(true)),
        (Param::LpfFreq, key(KeyCode::PageDown), LpfFreqHz(6000.0)),
        (
            Param::GateThreshold,
            key(KeyCode::Up),
            GateThresholdDb(-49.0),
        ),
        (Param::GateRatio, key(KeyCode::Down), GateRatio(20.0)),
        (Param::GateHold, key(KeyCode::Up), GateHoldMs(25.0)),
        (Param::CompRatio, key(KeyCode::Up), CompRatio(4.5)),
        (Param::CompKnee, ch('J'), CompKneeDb(5.9)),
        (Param::CompMakeup, key(KeyCode::PageUp), CompMakeupDb(6.0)),
        (Param::CompScHpf, key(KeyCode::Up), CompSidechainHpfHz(20.0)),
        (Param::CompOn, key(KeyCode::Up), CompEnabled(true)),
    ];
    for (p, k, cmd) in steps {
        go_to(&mut a, p);
        press(&mut a, &[k]);
        assert_eq!(drain(&mut a), vec![C::S(Track(0), cmd)], "{p:?}");
    }
    let t = &a.session.file.tracks[0];
    let c = t.compressor.as_ref().unwrap();
    assert!(c.enabled && c.ratio == 4.5 && c.sidechain_hpf_hz == Some(20.0));
    assert_eq!(t.gate.as_ref().unwrap().ratio, Some(20.0));
    assert_eq!(t.hpf.as_ref().unwrap().slope_db_oct, 24);
    // the session written from this model parses back to the same model
    let back = SessionFile::parse(&a.session.file.to_toml(), std::path::Path::new("x")).unwrap();
    assert_eq!(back, a.session.file);
}

#[test]
fn inspector_routes_outputs_and_sends() {
    let d = tempfile::tempdir().unwrap();
    let mut a = routed_app(d.path());
    press(&mut a, &[key(KeyCode::Tab)]);
    go_to(&mut a, Param::Output);
    // master -> Drums -> Sub, then the end of the list
    press(
        &mut a,
        &[key(KeyCode::Up), key(KeyCode::Up), key(KeyCode::Up)],
    );
    assert_eq!(
        drain(&mut a),
        vec![
            C::S(Track(0), Route(Out::Bus(0))),
            C::S(Track(0), Route(Out::Bus(1))),
        ]
    );
    assert_eq!(a.session.file.tracks[0].output.as_deref(), Some("Sub"));
    assert!(screen(&a, 80, 24).contains(" output                 Sub"));
    // the send to Verb (bus 2): off -> -60 dB, typed -6, pre-fader, typed below the range = off
    go_to(&mut a, Param::SendLevel(2));
    press(&mut a, &[key(KeyCode::Up)]);
    typed(&mut a, "-6");
    go_to(&mut a, Param::SendPre(2));
    press(&mut a, &[key(KeyCode::Up)]);
    go_to(&mut a, Param::SendLevel(2));
    typed(&mut a, "-80");
    let send = |level_db, pre_fader, on| SendTo {
        bus: 2,
        level_db,
        pre_fader,
        on,
    };
    assert_eq!(
        drain(&mut a),
        vec![
            C::S(Track(0), send(-60.0, false, true)),
            C::S(Track(0), send(-6.0, false, true)),
            C::S(Track(0), send(-6.0, true, true)),
            C::S(Track(0), send(-6.0, true, false)),
        ]
    );
    assert!(a.session.file.tracks[0].sends.is_empty());
    press(&mut a, &[ch('u')]);
    assert_eq!(drain(&mut a), vec![C::S(Track(0), send(-6.0, true, true))]);
    assert_eq!(a.session.file.tracks[0].sends[0].bus, "Verb");
}

#[test]
fn bus_outputs_never_close_a_loop() {
    let d = tempfile::tempdir().unwrap();
    let mut a = routed_app(d.path());
    // select the Drums bus (after the two tracks), route it to Sub
    press(&mut a, &[key(KeyCode::Right), key(KeyCode::Right)]);
    assert_eq!(a.selected_strip(), StripRef::Bus(0));
    press(&mut a, &[key(KeyCode::Tab)]);
    go_to(&mut a, Param::Output);
    press(&mut a, &[key(KeyCode::Up)]);
    assert_eq!(
        drain(&mut a),
        vec![C::S(StripId::Bus(0), Route(Out::Bus(1)))]
    );
    // Sub may not go to Drums: stepping skips it, typing it is refused
    press(
        &mut a,
        &[key(KeyCode::Tab), key(KeyCode::Right), key(KeyCode::Tab)],
    );
    assert_eq!(a.selected_strip(), StripRef::Bus(1));
    go_to(&mut a, Param::Output);
    press(&mut a, &[key(KeyCode::Up)]);
    typed(&mut a, "1");
    assert_eq!(drain(&mut a), vec![]);
    assert!(a.message.contains("close a loop"), "{}", a.message);
    assert_eq!(a.session.file.buses[1].output, None);
    // a bus has no polarity key
    press(&mut a, &[key(KeyCode::Tab), ch('p')]);
    assert_eq!(drain(&mut a), vec![]);
    assert!(
        a.message.contains("polarity: not on this bus"),
        "{}",
        a.message
    );
    // the reverb bus: its effect parameters, no output row
    press(&mut a, &[key(KeyCode::Right), key(KeyCode::Tab)]);
    assert_eq!(a.selected_strip(), StripRef::Bus(2));
    assert!(!params::params(&a.inspector_rows()).contains(&Param::Output));
    go_to(&mut a, Param::RevDecay);
    press(&mut a, &[key(KeyCode::Up)]);
    assert_eq!(
        drain(&mut a),
        vec![C::S(StripId::Bus(2), ReverbDecayS(2.1))]
    );
    assert_eq!(
        a.session.file.buses[2].reverb.as_ref().unwrap().decay_s,
        2.1
    );
}

#[test]
fn master_inspector_eq_compressor_limiter() {
    let d = tempfile::tempdir().unwrap();
    let mut a = routed_app(d.path());
    for _ in 0..5 {
        press(&mut a, &[key(KeyCode::Right)]);
    }
    assert!(a.master_selected());
    press(&mut a, &[key(KeyCode::Tab)]);
    go_to(&mut a, Param::LimCeiling);
    press(&mut a, &[key(KeyCode::Down)]);
    go_to(&mut a, Param::CompThreshold);
    typed(&mut a, "-30");
    go_to(&mut a, Param::BandGain(3));
    press(&mut a, &[key(KeyCode::PageUp)]);
    go_to(&mut a, Param::Fader);
    press(&mut a, &[key(KeyCode::Down)]);
    assert_eq!(
        drain(&mut a),
        vec![
            C::S(StripId::Master, LimiterCeilingDbtp(-2.0)),
            C::S(StripId::Master, CompThresholdDb(-30.0)),
            C::S(StripId::Master, EqBandGainDb(3, 3.0)),
            C::S(StripId::Master, GainDb(-1.0)),
        ]
    );
    let s = screen(&a, 80, 24);
    assert!(s.contains("INSPECTOR MASTER"), "{s}");
    assert_eq!(
        a.session.file.master.limiter.as_ref().unwrap().ceiling_dbtp,
        -2.0
    );
}

/// The whole chain: inspector edits -> drained commands -> a running engine built from the old session
/// ends up identical (within float rounding) to an engine built from the edited session.
#[test]
fn inspector_edits_drive_the_engine_to_the_edited_session() {
    use crate::engine::{Engine, EngineConfig, MemorySource, TrackInit};
    let d = tempfile::tempdir().unwrap();
    let mut a = routed_app(d.path());
    let start = a.session.file.clone();
    press(&mut a, &[key(KeyCode::Tab)]);
    // track 0: to the Drums bus, a send to Verb, an EQ bell, the compressor
    go_to(&mut a, Param::Output);
    press(&mut a, &[key(KeyCode::Up)]);
    go_to(&mut a, Param::SendLevel(2));
    typed(&mut a, "-9");
    go_to(&mut a, Param::BandGain(2));
    typed(&mut a, "6");
    go_to(&mut a, Param::BandOn(2));
    press(&mut a, &[key(KeyCode::Up)]);
    go_to(&mut a, Param::EqOn);
    press(&mut a, &[key(KeyCode::Up)]);
    go_to(&mut a, Param::CompThreshold);
    typed(&mut a, "-30");
    go_to(&mut a, Param::CompOn);
    press(&mut a, &[key(KeyCode::Up)]);
    // (a fader off unity, so pre- and post-fader sends differ)
    go_to(&mut a, Param::Fader);
    typed(&mut a, "-6");
    // Drums bus to Sub at -3 dB; reverb decay; master limiter ceiling
    press(
        &mut a,
        &[key(KeyCode::Tab), key(KeyCode::Right), key(KeyCode::Right)],
    );
    press(&mut a, &[key(KeyCode::Tab)]);
    go_to(&mut a, Param::Output);
    press(&mut a, &[key(KeyCode::Up)]);
    go_to(&mut a, Param::Fader);
    typed(&mut a, "-3");
    press(
        &mut a,
        &[key(KeyCode::Tab), key(KeyCode::Right), key(KeyCode::Right)],
    );
    press(&mut a, &[key(KeyCode::Tab)]);
    go_to(&mut a, Param::RevDecay);
    typed(&mut a, "1.2");
    press(
        &mut a,
        &[key(KeyCode::Tab), key(KeyCode::Right), key(KeyCode::Tab)],
    );
    go_to(&mut a, Param::LimCeiling);
    typed(&mut a, "-3");
    let cmds = a.drain_commands();
    assert!(cmds.len() >= 12, "{cmds:?}");
    assert_eq!(a.message, "loaded", "nothing refused");
    let edited = a.session.file.clone();
    assert_ne!(edited, start);

    // silence first (every ramp settles), then a signal on both tracks
    const SILENT: usize = 24_000;
    const N: usize = 48_000;
    let src = |seed: f32| {
        (0..N)
            .map(|i| {
                if i < SILENT {
                    0.0
                } else {
                    0.4 * (i as f32 * 0.031 * seed).sin()
                }
            })
            .collect::<Vec<f32>>()
    };
    let build = |f: &SessionFile| {
        let r = f.routing(std::path::Path::new("s")).unwrap();
        let tracks = r
            .tracks
            .into_iter()
            .enumerate()
            .map(|(i, state)| TrackInit {
                source: Box::new(MemorySource::from_vecs(vec![src(1.0 + i as f32)])),
                state,
            })
            .collect();
        let mut e = Engine::with_buses(EngineConfig::new(48_000, 256), r.master, tracks, r.buses);
        e.push(Command::transport(0, TransportCommand::Play))
            .unwrap();
        e
    };
    let render = |e: &mut Engine| {
        let mut out = vec![0.0f32; 2 * N];
        e.process_interleaved(&mut out);
        out
    };
    let mut live = build(&start);
    for mut c in cmds {
        c.at_frame = 100;
        live.push(c).unwrap();
    }
    let got = render(&mut live);
    assert_eq!(live.refused_commands(), 0);
    let want = render(&mut build(&edited));
    let untouched = render(&mut build(&start));
    let diff = |x: &[f32], y: &[f32]| {
        x.iter()
            .zip(y)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max)
    };
    assert!(diff(&want, &untouched) > 0.05, "the edits change the sound");
    assert!(diff(&got, &want) < 1e-5, "{}", diff(&got, &want));
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

// ---- buses in the mixer view ----

#[test]
fn bus_strips_select_mute_and_fader_by_strip_keys() {
    let d = tempfile::tempdir().unwrap();
    let mut a = routed_app(d.path());
    // two tracks, then Drums: l l selects the first bus
    press(&mut a, &[ch('l'), ch('l')]);
    assert_eq!(a.selected_strip(), StripRef::Bus(0));
    let s = screen(&a, 80, 24);
    let name_row = s.lines().find(|l| l.contains("MASTER")).unwrap();
    assert!(
        name_row.contains("Drums") && name_row.contains("Verb"),
        "{s}"
    );
    press(&mut a, &[ch('m'), key(KeyCode::Up), ch('K')]);
    assert_eq!(
        drain(&mut a),
        vec![
            C::S(StripId::Bus(0), Mute(true)),
            C::S(StripId::Bus(0), GainDb(1.0)),
            C::S(StripId::Bus(0), GainDb(1.1)),
        ]
    );
    assert!(a.session.file.buses[0].mute);
    assert_eq!(a.session.file.buses[0].gain_db, 1.1);
    // the strip shows it: muted flag and the fader value
    let s = screen(&a, 80, 24);
    assert!(s.contains("   1.1dB"), "{s}");
    assert!(s.contains("M s      "), "{s}");
    // on to the reverb return (h back, l forward), solo it, pull it down 6 dB, then the master
    press(&mut a, &[ch('l'), ch('l'), ch('h'), ch('l')]);
    assert_eq!(a.selected_strip(), StripRef::Bus(2));
    press(&mut a, &[ch('s'), key(KeyCode::PageDown)]);
    assert_eq!(
        drain(&mut a),
        vec![
            C::S(StripId::Bus(2), Solo(true)),
            C::S(StripId::Bus(2), GainDb(-6.0)),
        ]
    );
    press(&mut a, &[ch('l')]);
    assert!(a.master_selected());
    // the bus meter feeds its strip and the inspector's live GR
    a.selected = 2 + 2;
    a.bus_levels[2].update([0.5, 0.5], [0.1, 0.1], 4.0, 0);
    press(&mut a, &[key(KeyCode::Tab)]);
    assert!(a.inspector);
    let s = screen(&a, 160, 48);
    assert!(s.contains("GR 4.0 dB"), "{s}");
    assert!(a.peek_line().contains("bus Verb peak -6.0 rms -20.0"));
}

#[test]
fn scroll_keeps_a_selected_bus_in_view() {
    let d = tempfile::tempdir().unwrap();
    let mut a = routed_app(d.path()); // t0 t1 Drums Sub Verb | master
    a.selected = 4; // Verb
    a.scroll_into_view(2);
    assert_eq!(a.scroll, 3);
    a.select_master();
    a.scroll_into_view(2);
    assert_eq!(a.scroll, 3, "the master shows the last buses");
    a.selected = 2;
    a.scroll_into_view(2);
    assert_eq!(a.scroll, 2);
    a.selected = 0;
    a.scroll_into_view(3);
    assert_eq!(a.scroll, 0);
}

#[test]
fn bus_meters_from_the_player_reach_the_bus_strips() {
    use crate::player::StripMeters;
    let d = tempfile::tempdir().unwrap();
    let mut a = routed_app(d.path());
    assert_eq!(a.bus_levels.len(), 3);
    let m: Vec<StripMeters> = (0..3).map(|_| StripMeters::default()).collect();
    // Sub (bus 1): peak 0.5 / 0.25, rms 0.1, 3 dB of gain reduction
    m[1].peak[0].fetch_max(0.5);
    m[1].peak[1].fetch_max(0.25);
    m[1].rms[0].store(0.1);
    m[1].rms[1].store(0.1);
    m[1].gain_reduction_db.store(3.0);
    a.take_bus_meters(&m, 0);
    let l = a.strip_levels(StripRef::Bus(1));
    assert!((l.peak_db[0] - 20.0 * 0.5f32.log10()).abs() < 1e-4);
    assert!((l.peak_db[1] - 20.0 * 0.25f32.log10()).abs() < 1e-4);
    assert!((l.rms_db[0] + 20.0).abs() < 1e-4);
    assert_eq!(l.gain_reduction_db, 3.0);
    assert!(a.bus_levels[0].peak_db[0].is_infinite() && a.bus_levels[2].peak_db[0].is_infinite());
    // the peak was taken (reset); the hold keeps it for PEAK_HOLD_MS
    assert_eq!(m[1].peak[0].load(), 0.0);
    a.take_bus_meters(&m, 100);
    let l = a.strip_levels(StripRef::Bus(1));
    assert!(l.peak_db[0].is_infinite());
    assert!((l.hold_db[0] - 20.0 * 0.5f32.log10()).abs() < 1e-4);
    // the selected bus's compressor GR in the inspector comes from its meter
    a.selected = 2 + 1;
    press(&mut a, &[key(KeyCode::Tab)]);
    assert!(screen(&a, 160, 48).contains("GR 3.0 dB"));
}
