#![allow(clippy::needless_range_loop)]
//! Screen snapshots of the mixer and help (TestBackend into insta), the clip indicator, the "too small"
//! notice, and the README key table against the live keymap.

use std::path::PathBuf;

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;
use ratatui::Terminal;
use ttymix::app::{App, Overlay, TrackStatus};
use ttymix::keymap::{self, Keymap};
use ttymix::session::{
    BandConfig, BusConfig, BusKindName, CompConfig, EqConfig, LimiterConfig, MasterConfig, Origin,
    PassConfig, SendConfig, Session, SessionFile, TrackConfig,
};

const NAMES: [&str; 8] = [
    "Kick", "Snare", "Bass", "Keys", "Guitar", "Lead", "Vocal", "FX",
];

fn app() -> App {
    let dir = PathBuf::from("/nonexistent/song");
    let tracks: Vec<TrackConfig> = NAMES
        .iter()
        .map(|n| TrackConfig {
            name: Some(n.to_string()),
            file: PathBuf::from(format!("{}.wav", n.to_lowercase())),
            ..Default::default()
        })
        .collect();
    let session = Session {
        origin: Origin::Folder(dir.clone()),
        base_dir: dir,
        file: SessionFile {
            tempo_bpm: Some(100.0),
            tracks,
            buses: vec![
                BusConfig {
                    name: "Drums".into(),
                    gain_db: -2.5,
                    mute: true,
                    sends: vec![SendConfig {
                        bus: "Verb".into(),
                        level_db: -15.0,
                        pre_fader: false,
                    }],
                    ..Default::default()
                },
                BusConfig {
                    name: "Verb".into(),
                    kind: BusKindName::Reverb,
                    ..Default::default()
                },
            ],
            master: MasterConfig {
                limiter: Some(LimiterConfig {
                    enabled: true,
                    ceiling_dbtp: -1.0,
                    release_ms: 50.0,
                }),
                ..Default::default()
            },
            ..Default::default()
        },
    };
    let mut a = App::new(session.clone(), Keymap::builtin(), 48_000);
    let mut status = vec![TrackStatus::Online; NAMES.len()];
    status[7] = TrackStatus::Offline("/nonexistent/song/fx.wav: not found".into());
    a.loaded(session, status, 48_000, 48_000 * 200);
    a.message.clear();
    a.output.description = "no audio output".into();
    a.output.silent = true;
    // deterministic levels: track i peaks at -3*(i+1) dB, holds 2 dB higher
    for (i, l) in a.levels.iter_mut().enumerate() {
        let p = 10f32.powf(-3.0 * (i as f32 + 1.0) / 20.0);
        let h = 10f32.powf((-3.0 * (i as f32 + 1.0) + 2.0) / 20.0);
        l.update([h, h], [p * 0.5; 2], 0.0, 0);
        l.update([p, p * 0.8], [p * 0.5; 2], 0.0, 10);
    }
    // buses: Drums peaks at -6 dB (hold -6), 2.5 dB of gain reduction; Verb at -20 dB, soloed
    let lin = |db: f32| 10f32.powf(db / 20.0);
    a.bus_levels[0].update([lin(-6.0); 2], [lin(-12.0); 2], 2.5, 0);
    a.bus_levels[1].update([lin(-20.0), lin(-23.0)], [lin(-30.0); 2], 0.0, 0);
    a.session.file.buses[1].solo = true;
    a.master_levels.update([1.0, 0.7], [0.3, 0.3], 1.5, 0);
    a.loudness.momentary_lufs = -12.3;
    a.loudness.short_term_lufs = -13.4;
    a.loudness.integrated_lufs = -14.5;
    a.loudness.range_lu = 5.6;
    a.loudness.true_peak_db = 0.4;
    a.loudness.correlation = 0.87;
    a.loudness.clips = 3;
    a.position_frames = 48_000 * 75 + 24_000;
    a.playing = true;
    // a song shape for the overview: a quiet intro, verses, a loud chorus from 60 s to 100 s, an outro; two
    // markers and a loop over the chorus
    let shape: Vec<f32> = (0..200 * 48_000)
        .map(|n| {
            let t = n / 48_000;
            let amp = match t {
                0..20 => 0.05,
                20..60 => 0.2,
                60..100 => 0.6,
                100..180 => 0.25,
                _ => 0.02,
            };
            if n % 2 == 0 {
                amp
            } else {
                -amp
            }
        })
        .collect();
    a.overview.add_stem(&[&shape]);
    a.session.file.markers = vec![
        ttymix::session::MarkerConfig {
            time_s: 20.0,
            name: "Verse".into(),
        },
        ttymix::session::MarkerConfig {
            time_s: 60.0,
            name: "Chorus".into(),
        },
    ];
    a.loop_in_frames = Some(48_000 * 60);
    a.loop_out_frames = Some(48_000 * 100);
    a.session.file.tracks[1].mute = true;
    a.session.file.tracks[2].solo = true;
    a.session.file.tracks[3].invert_polarity = true;
    a.session.file.tracks[0].gain_db = -4.5;
    a.session.file.tracks[0].pan = -0.25;
    a
}

fn render(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ttymix::ui::draw(f, app)).unwrap();
    t.backend().buffer().clone()
}

/// The row of the strip names (the one ending in MASTER) and its index.
fn name_row(t: &str) -> (usize, String) {
    t.lines()
        .enumerate()
        .find(|(_, l)| l.contains("MASTER"))
        .map(|(i, l)| (i, l.to_string()))
        .unwrap_or_else(|| panic!("no strip name row: {t}"))
}

fn text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut out = String::new();
    for y in 0..a.height {
        let mut line = String::new();
        for x in 0..a.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn mixer_80x24() {
    insta::assert_snapshot!(text(&render(&app(), 80, 24)));
}

#[test]
fn mixer_160x48() {
    insta::assert_snapshot!(text(&render(&app(), 160, 48)));
}

#[test]
fn mixer_80x24_ascii_selected_last() {
    let mut a = app();
    a.ascii = true;
    a.selected = 6;
    let t = text(&render(&a, 80, 24));
    assert!(t.is_ascii(), "{t}");
    insta::assert_snapshot!(t);
}

/// Kick with a high-pass, a +6 dB bell at 1 kHz, a low-shelf cut, a compressor, a send and the Drums bus.
fn inspecting() -> App {
    let mut a = app();
    let t = &mut a.session.file.tracks[0];
    t.output = Some("Drums".into());
    t.hpf = Some(PassConfig {
        enabled: true,
        freq_hz: 40.0,
        slope_db_oct: 24,
    });
    t.eq = Some(EqConfig {
        enabled: true,
        low_shelf: Some(BandConfig {
            enabled: true,
            freq_hz: 200.0,
            gain_db: -4.0,
            q: None,
        }),
        low_mid: Some(BandConfig {
            enabled: true,
            freq_hz: 1000.0,
            gain_db: 6.0,
            q: Some(1.4),
        }),
        ..Default::default()
    });
    t.compressor = Some(CompConfig {
        enabled: true,
        threshold_db: -24.0,
        ratio: 4.0,
        knee_db: 6.0,
        attack_ms: 10.0,
        release_ms: 120.0,
        makeup_db: 3.0,
        sidechain_hpf_hz: Some(100.0),
    });
    t.sends = vec![SendConfig {
        bus: "Verb".into(),
        level_db: -12.0,
        pre_fader: false,
    }];
    a.levels[0].gain_reduction_db = 4.5;
    a.inspector = true;
    a
}

/// Select the inspector row whose parameter name is `name` (the first one).
fn select_param(a: &mut App, name: &str) {
    let ps = ttymix::app::params::params(&a.inspector_rows());
    a.param_index = ps.iter().position(|p| p.spec().name == name).unwrap();
}

#[test]
fn inspector_80x24() {
    let mut a = inspecting();
    select_param(&mut a, "threshold");
    insta::assert_snapshot!(text(&render(&a, 80, 24)));
}

#[test]
fn inspector_160x48() {
    let mut a = inspecting();
    select_param(&mut a, "trim");
    insta::assert_snapshot!(text(&render(&a, 160, 48)));
}

#[test]
fn inspector_80x24_band_selected_marks_its_frequency() {
    let mut a = inspecting();
    // bell 1's gain (the second "gain" row: the low shelf's comes first)
    let ps = ttymix::app::params::params(&a.inspector_rows());
    a.param_index = ps
        .iter()
        .position(|p| *p == ttymix::app::Param::BandGain(1))
        .unwrap();
    let t = text(&render(&a, 80, 24));
    assert!(t.contains("┊"), "{t}");
    insta::assert_snapshot!(t);
}

#[test]
fn inspector_80x24_ascii_scrolled_to_the_output() {
    let mut a = inspecting();
    a.ascii = true;
    select_param(&mut a, "output");
    let t = text(&render(&a, 80, 24));
    assert!(t.is_ascii(), "{t}");
    assert!(t.contains("Drums"), "{t}");
    insta::assert_snapshot!(t);
}

#[test]
fn inspector_master_and_reverb_bus_80x24() {
    let mut a = inspecting();
    a.selected = NAMES.len() + 2; // tracks, Drums, Verb, then the master
    assert!(a.master_selected());
    select_param(&mut a, "ceiling");
    let master = text(&render(&a, 80, 24));
    assert!(
        master.contains("INSPECTOR MASTER") && master.contains("ceiling"),
        "{master}"
    );
    a.selected = NAMES.len() + 1;
    a.param_index = 0;
    let verb = text(&render(&a, 80, 24));
    assert!(
        verb.contains("Verb (reverb bus)") && verb.contains("decay"),
        "{verb}"
    );
    insta::assert_snapshot!(format!("{master}\n{verb}"));
}

#[test]
fn help_80x24() {
    let mut a = app();
    a.overlay = Overlay::Help(0);
    insta::assert_snapshot!(text(&render(&a, 80, 24)));
}

#[test]
fn help_160x48() {
    let mut a = app();
    a.overlay = Overlay::Help(0);
    insta::assert_snapshot!(text(&render(&a, 160, 48)));
}

#[test]
fn help_follows_the_live_keymap() {
    let mut a = app();
    a.keymap
        .merge_str("[keys]\n\"x\" = \"mute\"\n", "test.toml")
        .unwrap();
    let lines = ttymix::ui::help_lines(&a);
    let mute = lines.iter().find(|l| l.contains("Mute or unmute")).unwrap();
    assert!(mute.contains('x') && mute.contains('m'), "{mute}");
}

#[test]
fn selected_strip_stays_in_view() {
    let mut a = app();
    let names: Vec<&str> = NAMES.iter().copied().chain(["Drums", "Verb"]).collect();
    for (sel, name) in names.iter().enumerate() {
        a.selected = sel;
        let buf = render(&a, 80, 24);
        let t = text(&buf);
        let (y, name_row) = name_row(&t);
        let y = y as u16;
        let x = name_row
            .find(name)
            .unwrap_or_else(|| panic!("{sel}: {name_row}"));
        // the selected strip's name is highlighted (reversed), and only it among the strips
        let x = name_row[..x].chars().count() as u16;
        assert!(
            buf[(x, y)].modifier.contains(Modifier::REVERSED),
            "{sel}: {name_row}"
        );
        let reversed = (0..58u16)
            .filter(|&x| buf[(x, y)].modifier.contains(Modifier::REVERSED))
            .count();
        assert_eq!(reversed, 9, "{sel}: one strip name (9 columns) reversed");
        // the master is always at the right
        assert!(name_row.ends_with("│MASTER"), "{sel}: {name_row}");
    }
}

#[test]
fn mixer_80x24_bus_selected() {
    let mut a = app();
    a.selected = NAMES.len() + 1; // Verb
    let t = text(&render(&a, 80, 24));
    let (y, name_row) = name_row(&t);
    assert!(
        name_row.contains("Drums") && name_row.contains("Verb") && name_row.starts_with('◀'),
        "{t}"
    );
    let kind_row = t.lines().nth(y + 1).unwrap();
    assert!(kind_row.contains("GRP") && kind_row.contains("REV"), "{t}");
    assert!(t.contains("Verb  -15"), "Drums' send row: {t}");
    insta::assert_snapshot!(t);
}

#[test]
fn mixer_160x48_ascii_bus_selected() {
    let mut a = app();
    a.ascii = true;
    a.selected = NAMES.len(); // Drums
    let t = text(&render(&a, 160, 48));
    assert!(t.is_ascii(), "{t}");
    insta::assert_snapshot!(t);
}

#[test]
fn clip_indicator_shows_on_the_clipped_strip_only() {
    let mut a = app();
    a.levels[0].update([1.0, 0.5], [0.5; 2], 0.0, 100);
    let buf = render(&a, 80, 24);
    let t = text(&buf);
    let clip_row = t.lines().nth(3).unwrap();
    // strip 0 and the master clipped; strips 1.. did not
    assert_eq!(clip_row.matches("CLIP!").count(), 2, "{clip_row}");
    assert!(clip_row.starts_with("    CLIP!"), "{clip_row}");
}

#[test]
fn too_small_says_so() {
    let t = text(&render(&app(), 79, 24));
    assert!(
        t.starts_with("terminal too small: need 80x24, have 79x24"),
        "{t}"
    );
    let t = text(&render(&app(), 80, 23));
    assert!(t.starts_with("terminal too small"), "{t}");
}

#[test]
fn no_color_draws_without_colours() {
    let mut a = app();
    a.no_color = true;
    let buf = render(&a, 80, 24);
    for c in buf.content() {
        assert_eq!(c.fg, ratatui::style::Color::Reset);
        assert_eq!(c.bg, ratatui::style::Color::Reset);
    }
}

#[test]
fn readme_key_table_matches_the_builtin_keymap() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("\n## Keys\n")
        .expect("README has a ## Keys section");
    let section = &readme[start..];
    let table_start = section.find("| Group |").expect("key table under ## Keys");
    let table: String = section[table_start..]
        .lines()
        .take_while(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(table, keymap::markdown_key_table(&Keymap::builtin()));
}

fn write_sine(path: &std::path::Path, seconds: f32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(seconds * 48_000.0) as usize {
        let x = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 48_000.0).sin() * 0.5;
        w.write_sample((x * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// A session with a good, a missing and a corrupt stem: the loader reports each stem as it goes, the mixer
/// shows the two bad ones offline with the reason, and the good one plays through the running engine once
/// its source is swapped in.
#[test]
fn missing_and_corrupt_stems_show_offline_with_reason_and_the_rest_plays() {
    use std::sync::Mutex;
    use ttymix::engine::{Command, CommandKind, MemorySource};
    use ttymix::load::{load_each, LoadProgress, LoadedSession};

    let dir = tempfile::tempdir().unwrap();
    write_sine(&dir.path().join("good.wav"), 1.0);
    // a RIFF/WAVE header promising data that is not there, then junk
    let mut junk = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    junk.extend_from_slice(&[0xff; 40]);
    std::fs::write(dir.path().join("corrupt.wav"), junk).unwrap();
    let toml = dir.path().join("song.toml");
    std::fs::write(
        &toml,
        "[[track]]\nfile = \"good.wav\"\n[[track]]\nfile = \"missing.wav\"\n[[track]]\nfile = \"corrupt.wav\"\n",
    )
    .unwrap();
    let session = Session::open(toml.to_str().unwrap(), ttymix::media::is_audio_path).unwrap();
    let mut a = App::new(session.clone(), Keymap::builtin(), 48_000);
    a.output.description = "no audio output".into();
    assert!(a.loading);
    assert_eq!(a.status, vec![TrackStatus::Loading; 3]);

    // the engine runs before anything decoded: silent
    let mut engine = LoadedSession::pending(session.clone(), 48_000).engine(512);
    engine
        .push(Command::transport(
            0,
            ttymix::engine::TransportCommand::Play,
        ))
        .unwrap();
    let mut out = vec![0.0f32; 2 * 4800];
    engine.process_interleaved(&mut out);
    assert!(out.iter().all(|&x| x == 0.0));

    let events = Mutex::new(Vec::new());
    load_each(&session, 48_000, &|p| events.lock().unwrap().push(p));
    let events = events.into_inner().unwrap();
    assert_eq!(events.len(), 6, "a start and a result per stem");
    for ev in events {
        match ev {
            LoadProgress::Started(i) => {
                a.track_started(i);
                assert_eq!(a.status[i], TrackStatus::Decoding);
                let t = text(&render(&a, 80, 24));
                assert!(t.contains("decoding"), "{t}");
                assert!(t.contains("loading stems"), "{t}");
            }
            LoadProgress::Done(i, ta) => {
                let result = match &ta.audio {
                    Ok(ch) => {
                        engine
                            .push(Command::now(CommandKind::ReplaceSource {
                                track: i as u16,
                                source: Box::new(MemorySource::new(ch.clone())),
                            }))
                            .unwrap();
                        Ok(ch[0].len() as u64)
                    }
                    Err(e) => Err(e.clone()),
                };
                a.track_loaded(i, result);
            }
            LoadProgress::Reference(..) => panic!("no references in this session"),
        }
    }
    assert!(!a.loading);
    assert_eq!(a.status[0], TrackStatus::Online);
    assert_eq!(a.length_frames, 48_000);
    let missing = dir.path().join("missing.wav");
    assert_eq!(
        a.status[1],
        TrackStatus::Offline(format!("{}: file not found", missing.display()))
    );
    let TrackStatus::Offline(corrupt) = &a.status[2] else {
        panic!("corrupt stem online: {:?}", a.status[2]);
    };
    assert!(corrupt.contains("corrupt.wav"), "{corrupt}");
    assert_eq!(a.message, "loaded; 2 track(s) offline");
    let t = text(&render(&a, 80, 24));
    assert_eq!(t.matches("OFFLINE").count(), 2, "{t}");
    // the strip shows the stem's name and the reason, not the temp path
    assert!(t.contains("│missing.w│corrupt.w│"), "{t}");
    assert!(
        t.contains("│av: file │") && t.contains("│not found│"),
        "{t}"
    );

    // the good stem now plays through the engine (mono sine, centre pan: equal in L and R)
    engine.process_interleaved(&mut out);
    let peak = out.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
    assert!(
        peak > 0.2,
        "good stem silent after ReplaceSource: peak {peak}"
    );
    assert!(
        engine.take_retired_source().is_some(),
        "old silent source handed back"
    );
}

/// Mouse: a click selects the strip under it (master included), the wheel over a strip selects it and moves
/// its fader 1 dB per notch, emitting the fader command; clicks elsewhere do nothing.
#[test]
fn mouse_click_selects_and_wheel_moves_the_fader() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    use ttymix::engine::{CommandKind, StripId, StripParam};
    let ev = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let mut a = app();
    a.screen_size = (160, 48);
    a.drain_commands();
    // strip k spans columns 10k..10k+9 below the transport bar
    assert!(a.handle_mouse(&ev(MouseEventKind::Down(MouseButton::Left), 34, 10)));
    assert_eq!(a.selected, 3);
    assert!(
        a.drain_commands().is_empty(),
        "a click changes nothing in the mix"
    );
    // the master at the right edge
    let master = a.track_count() + a.bus_count();
    assert!(a.handle_mouse(&ev(MouseEventKind::Down(MouseButton::Left), 150, 5)));
    assert_eq!(a.selected, master);
    // the transport bar and the overview line are not strips
    assert!(!a.handle_mouse(&ev(MouseEventKind::Down(MouseButton::Left), 5, 0)));
    assert!(!a.handle_mouse(&ev(MouseEventKind::Down(MouseButton::Left), 5, 1)));
    assert_eq!(a.selected, master);
    // wheel up twice over strip 5, down once over strip 0
    a.handle_mouse(&ev(MouseEventKind::ScrollUp, 55, 20));
    a.handle_mouse(&ev(MouseEventKind::ScrollUp, 55, 20));
    assert_eq!(a.selected, 5);
    assert_eq!(a.session.file.tracks[5].gain_db, 2.0);
    a.handle_mouse(&ev(MouseEventKind::ScrollDown, 2, 20));
    assert_eq!(a.session.file.tracks[0].gain_db, -5.5);
    let cmds: Vec<_> = a
        .drain_commands()
        .into_iter()
        .map(|c| match c.kind {
            CommandKind::Strip { strip, param } => (strip, param),
            k => panic!("unexpected {k:?}"),
        })
        .collect();
    assert_eq!(
        cmds,
        vec![
            (StripId::Track(5), StripParam::GainDb(1.0)),
            (StripId::Track(5), StripParam::GainDb(2.0)),
            (StripId::Track(0), StripParam::GainDb(-5.5)),
        ]
    );
    // an overlay swallows the mouse
    a.overlay = Overlay::Help(0);
    assert!(!a.handle_mouse(&ev(MouseEventKind::Down(MouseButton::Left), 34, 10)));
}

/// Only the 16 ANSI colours (plus the terminal's default) are used, in every view, so the screen is the same
/// on 16-colour, 256-colour and true-colour terminals.
#[test]
fn only_the_16_ansi_colours_are_used() {
    use ratatui::style::Color;
    let mut views = Vec::new();
    let a = app();
    views.push(render(&a, 160, 48));
    let mut b = app();
    b.inspector = true;
    views.push(render(&b, 80, 24));
    let mut c = app();
    c.overlay = Overlay::Help(0);
    views.push(render(&c, 160, 48));
    let mut d = app();
    d.mono = true;
    d.dim = true;
    d.meter_mode = ttymix::app::MeterMode::Rms;
    views.push(render(&d, 80, 24));
    let mut coloured = 0;
    for buf in &views {
        for cell in buf.content() {
            for col in [cell.fg, cell.bg] {
                assert!(
                    !matches!(col, Color::Rgb(..) | Color::Indexed(_)),
                    "{col:?} needs more than 16 colours"
                );
                if col != Color::Reset {
                    coloured += 1;
                }
            }
        }
    }
    assert!(coloured > 100, "the views do use colour ({coloured} cells)");
}

#[test]
fn scrolling_back_keeps_the_view_until_the_selection_leaves_it() {
    let mut a = app();
    let row_of = |a: &mut App| {
        // what the event loop does before each draw
        a.scroll_into_view(ttymix::ui::strip_slots(a, 80));
        name_row(&text(&render(a, 80, 24))).1
    };
    assert_eq!(ttymix::ui::strip_slots(&a, 80), 5);
    a.selected = NAMES.len() + 1; // Verb, the last bus
    let row = row_of(&mut a);
    assert!(
        row.starts_with("◀Lead    │Vocal    │FX       ║Drums    │Verb"),
        "{row}"
    );
    // back to Lead: all still in view, nothing moves
    for _ in 0..4 {
        a.action(keymap::Action::SelectPrev);
        assert_eq!(row_of(&mut a), row);
    }
    // one more: Guitar comes in at the left
    a.action(keymap::Action::SelectPrev);
    let row = row_of(&mut a);
    assert!(row.starts_with("◀Guitar  │Lead"), "{row}");
    // the master keeps the last strips in view
    a.select_master();
    let row = row_of(&mut a);
    assert!(
        row.contains("Verb     │") && row.ends_with("│MASTER"),
        "{row}"
    );
}

#[test]
fn strips_with_many_sends_get_rows_and_the_meters_keep_their_height_while_scrolling() {
    let mut a = app();
    // Snare (track 1) gets a trim and two sends: three info rows for every strip, meters 3 - 1 rows shorter
    a.session.file.buses.push(BusConfig {
        name: "Echo".into(),
        kind: BusKindName::Delay,
        ..Default::default()
    });
    let t = &mut a.session.file.tracks[1];
    t.trim_db = 2.0;
    t.sends = vec![
        SendConfig {
            bus: "Verb".into(),
            level_db: -10.0,
            pre_fader: false,
        },
        SendConfig {
            bus: "Echo".into(),
            level_db: -20.5,
            pre_fader: true,
        },
    ];
    let rows_of = |a: &App| -> Vec<String> {
        text(&render(a, 80, 24))
            .lines()
            .map(|l| l.to_string())
            .collect()
    };
    let rows = rows_of(&a);
    let (y, _) = name_row(&rows.join("\n"));
    // body: 21 rows from y; 8 fixed + 3 info -> 10 meter rows; the peak row follows them
    let pk = y + 2 + 10;
    assert!(rows[pk].starts_with("pk  -1.0 │pk  -4.0"), "{rows:#?}");
    assert!(rows[pk + 6].starts_with("         │trim+2.0 "), "{rows:#?}");
    assert!(rows[pk + 7].starts_with("         │Verb  -10"), "{rows:#?}");
    assert!(rows[pk + 8].starts_with("         │Ec -20.5p"), "{rows:#?}");
    // scrolled to the buses (Snare out of view): same meter height
    a.selected = NAMES.len() + 2;
    let rows = rows_of(&a);
    assert!(!rows[y].contains("Snare"), "{}", rows[y]);
    assert!(rows[pk].starts_with("pk "), "{rows:#?}");
    assert!(rows[pk - 1].contains("██"), "{rows:#?}");
}
