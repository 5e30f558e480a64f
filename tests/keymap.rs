//! Keymap tests: shipped files, the default against the code's expectations, merge and unbind rules, sequences,
//! key normalisation, errors per failure mode, configuration lookup (in child processes), the README table.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ttymix::keymap::{
    config_dir, markdown_key_table, Action, Group, KeyPress, KeySeq, Keymap, KeymapError, Mode,
    Resolution, DEFAULT_KEYMAP_NAME, DEFAULT_KEYMAP_TOML,
};

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

/// A key event as crossterm reports it.
fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

fn ch(c: char) -> KeyEvent {
    ev(KeyCode::Char(c), NONE)
}

fn keymaps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("keymaps")
}

fn vim() -> Keymap {
    let mut keymap = Keymap::builtin();
    keymap
        .merge_file(&keymaps_dir().join("vim.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    keymap
}

/// The default keymap as the code expects it: (table, key as a terminal sends it, action name).
fn expected_default() -> Vec<(Mode, KeyEvent, &'static str)> {
    use KeyCode::*;
    use Mode::{Inspector as I, Mixer as X};
    vec![
        (X, ch(' '), "play_pause"),
        (X, ev(Backspace, NONE), "stop"),
        (X, ch(','), "seek_back"),
        (X, ch('.'), "seek_forward"),
        (X, ch('<'), "seek_back_bar"),
        (X, ch('>'), "seek_forward_bar"),
        (X, ev(Home, NONE), "go_to_start"),
        (X, ev(End, NONE), "go_to_end"),
        (X, ch('L'), "loop_toggle"),
        (X, ch('i'), "loop_set_in"),
        (X, ch('o'), "loop_set_out"),
        (X, ch('M'), "marker_add"),
        (X, ch('\''), "marker_next"),
        (X, ch('`'), "marker_prev"),
        (X, ch('N'), "marker_name"),
        (X, ch('D'), "marker_delete"),
        (X, ev(Left, NONE), "select_prev"),
        (X, ch('h'), "select_prev"),
        (X, ev(Right, NONE), "select_next"),
        (X, ch('l'), "select_next"),
        (X, ev(Left, SHIFT), "select_first"),
        (X, ch('^'), "select_first"),
        (X, ev(Right, SHIFT), "select_last"),
        (X, ch('$'), "select_last"),
        (X, ev(Up, NONE), "fader_up"),
        (X, ch('k'), "fader_up"),
        (X, ev(Down, NONE), "fader_down"),
        (X, ch('j'), "fader_down"),
        (X, ev(Up, SHIFT), "fader_up_fine"),
        (X, ch('K'), "fader_up_fine"),
        (X, ev(Down, SHIFT), "fader_down_fine"),
        (X, ch('J'), "fader_down_fine"),
        (X, ev(PageUp, NONE), "fader_up_coarse"),
        (X, ev(PageDown, NONE), "fader_down_coarse"),
        (X, ch('0'), "fader_unity"),
        (X, ch('['), "pan_left"),
        (X, ch(']'), "pan_right"),
        (X, ch('{'), "pan_left_fine"),
        (X, ch('}'), "pan_right_fine"),
        (X, ch('='), "pan_center"),
        (X, ch('m'), "mute"),
        (X, ch('s'), "solo"),
        (X, ch('S'), "clear_solos"),
        (X, ch('p'), "polarity"),
        (X, ev(Tab, NONE), "toggle_inspector"),
        (X, ch('c'), "mono_check"),
        (X, ch('d'), "dim"),
        (X, ch('a'), "cycle_reference"),
        (X, ch('?'), "help"),
        (X, ev(F(1), NONE), "help"),
        (X, ch('v'), "toggle_meter_mode"),
        (X, ch('n'), "peek_numbers"),
        (X, ev(Enter, NONE), "type_value"),
        (X, ch('u'), "undo"),
        (X, ev(Char('r'), CTRL), "redo"),
        (X, ev(Esc, NONE), "cancel"),
        (X, ev(Char('s'), CTRL), "save"),
        (X, ch('R'), "reconnect"),
        (X, ch('q'), "quit"),
        (X, ev(Char('c'), CTRL), "quit"),
        (I, ev(Left, NONE), "param_prev"),
        (I, ch('h'), "param_prev"),
        (I, ev(Right, NONE), "param_next"),
        (I, ch('l'), "param_next"),
        (I, ev(Up, NONE), "param_increase"),
        (I, ch('k'), "param_increase"),
        (I, ev(Down, NONE), "param_decrease"),
        (I, ch('j'), "param_decrease"),
        (I, ev(Up, SHIFT), "param_increase_fine"),
        (I, ch('K'), "param_increase_fine"),
        (I, ev(Down, SHIFT), "param_decrease_fine"),
        (I, ch('J'), "param_decrease_fine"),
        (I, ev(PageUp, NONE), "param_increase_coarse"),
        (I, ev(PageDown, NONE), "param_decrease_coarse"),
        (I, ch('0'), "param_reset"),
    ]
}

#[test]
fn every_shipped_keymap_parses_over_the_default() {
    let mut count = 0;
    for entry in std::fs::read_dir(keymaps_dir()).expect("keymaps/ exists") {
        let path = entry.expect("readable dir entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let mut keymap = Keymap::builtin();
            keymap
                .merge_file(&path)
                .unwrap_or_else(|e| panic!("shipped keymap fails: {e}"));
            count += 1;
        }
    }
    assert!(
        count >= 2,
        "default.toml and vim.toml at least, found {count}"
    );
    // The embedded text is the file in the repository.
    let on_disk =
        std::fs::read_to_string(keymaps_dir().join("default.toml")).expect("default.toml");
    assert_eq!(on_disk, DEFAULT_KEYMAP_TOML);
}

#[test]
fn default_keymap_equals_the_codes_expectations() {
    let keymap = Keymap::builtin();
    let expected: HashSet<(Mode, KeySeq, Action)> = expected_default()
        .into_iter()
        .map(|(mode, event, name)| {
            let action = Action::from_name(name).unwrap_or_else(|| panic!("no action {name}"));
            (mode, KeySeq::from(KeyPress::from(event)), action)
        })
        .collect();
    let actual: HashSet<(Mode, KeySeq, Action)> = keymap.bindings().into_iter().collect();
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "default.toml differs from the expected table\nmissing: {missing:#?}\nextra: {extra:#?}"
    );
    assert_eq!(keymap.bindings().len(), expected_default().len());
}

#[test]
fn default_keys_resolve_as_a_terminal_sends_them() {
    let mut keymap = Keymap::builtin();
    for (mode, event, name) in expected_default() {
        keymap.set_mode(mode);
        let want = Resolution::Matched(Action::from_name(name).expect("known action"));
        assert_eq!(keymap.feed(event), want, "{event:?} in {mode:?}");
        // Terminals that report SHIFT with upper-case letters and symbols must match too.
        if let KeyCode::Char(c) = event.code {
            if c != ' ' && !c.is_lowercase() && !event.modifiers.contains(CTRL) {
                assert_eq!(keymap.feed(ev(event.code, SHIFT)), want, "{c:?}+SHIFT");
            }
        }
    }
}

#[test]
fn every_action_is_bound_in_the_default() {
    let keymap = Keymap::builtin();
    let unbound: Vec<&str> = Action::iter()
        .filter(|a| keymap.bindings_for(*a).is_empty())
        .map(Action::name)
        .collect();
    assert!(
        unbound.is_empty(),
        "actions without a default key: {unbound:?}"
    );
}

#[test]
fn every_action_is_bindable_by_its_name() {
    for action in Action::iter() {
        let mut keymap = Keymap::builtin();
        let toml = format!("[keys]\n\"f13\" = \"{}\"\n", action.name());
        keymap
            .merge_str(&toml, "user.toml")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            keymap.feed(ev(KeyCode::F(13), NONE)),
            Resolution::Matched(action)
        );
    }
}

#[test]
fn actions_have_unique_snake_case_names_descriptions_and_groups() {
    let mut names = HashSet::new();
    for action in Action::iter() {
        let name = action.name();
        assert!(names.insert(name), "duplicate name {name}");
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && !name.starts_with('_')
                && !name.ends_with('_')
                && !name.contains("__"),
            "not snake_case: {name}"
        );
        assert_eq!(Action::from_name(name), Some(action));
        assert_eq!(name.parse::<Action>(), Ok(action));
        assert_eq!(action.to_string(), action.description());
        let desc = action.description();
        assert!(!desc.is_empty() && !desc.ends_with('.') && !desc.contains('\n'));
        assert!(desc.starts_with(|c: char| c.is_uppercase()), "{desc}");
    }
    assert_eq!(names.len(), Action::ALL.len());
    // ALL lists actions group by group, in help order, and every group has actions.
    let groups: Vec<Group> = Action::iter().map(Action::group).collect();
    assert!(
        groups.windows(2).all(|w| w[0] <= w[1]),
        "ALL not in group order"
    );
    for group in Group::ALL {
        assert!(groups.contains(&group), "empty group {group}");
    }
    assert_eq!(Action::from_name("none"), None);
    assert!("fader_upp".parse::<Action>().is_err());
    // The actions the TUI issue asks for by name.
    for name in [
        "play_pause",
        "stop",
        "seek_back",
        "seek_forward",
        "seek_back_bar",
        "seek_forward_bar",
        "go_to_start",
        "go_to_end",
        "quit",
        "help",
        "select_prev",
        "select_next",
        "select_first",
        "select_last",
        "fader_up",
        "fader_down",
        "fader_up_fine",
        "fader_down_fine",
        "fader_up_coarse",
        "fader_down_coarse",
        "fader_unity",
        "mute",
        "solo",
        "clear_solos",
        "pan_left",
        "pan_right",
        "pan_left_fine",
        "pan_right_fine",
        "pan_center",
        "polarity",
        "loop_toggle",
        "loop_set_in",
        "loop_set_out",
        "marker_add",
        "marker_next",
        "marker_prev",
        "marker_name",
        "marker_delete",
        "reconnect",
        "undo",
        "redo",
        "save",
        "toggle_inspector",
        "param_next",
        "param_prev",
        "param_increase",
        "param_decrease",
        "param_increase_fine",
        "param_decrease_fine",
        "param_reset",
        "type_value",
        "peek_numbers",
        "toggle_meter_mode",
        "mono_check",
        "dim",
        "cycle_reference",
        "cancel",
    ] {
        assert!(Action::from_name(name).is_some(), "missing action {name}");
    }
}

#[test]
fn default_file_is_fully_commented() {
    let mut in_table = false;
    for (n, line) in DEFAULT_KEYMAP_TOML.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = true;
            continue;
        }
        if in_table && line.starts_with('"') {
            assert!(
                line.contains(" # "),
                "line {} has no comment: {line}",
                n + 1
            );
        }
    }
    // The header documents the grammar.
    for word in [
        "KEY SYNTAX",
        "sequence",
        "modifier",
        "\"none\"",
        "[inspector]",
    ] {
        assert!(DEFAULT_KEYMAP_TOML.contains(word), "header lacks {word}");
    }
}

#[test]
fn user_override_replaces_one_key_and_keeps_the_rest() {
    let mut keymap = Keymap::builtin();
    let before = keymap.bindings();
    keymap
        .merge_str("[keys]\n\"j\" = \"fader_up\"\n", "user.toml")
        .expect("valid");
    assert_eq!(keymap.feed(ch('j')), Resolution::Matched(Action::FaderUp));
    assert_eq!(
        keymap.feed(ev(KeyCode::Down, NONE)),
        Resolution::Matched(Action::FaderDown)
    );
    assert_eq!(keymap.feed(ch('k')), Resolution::Matched(Action::FaderUp));
    let after = keymap.bindings();
    assert_eq!(after.len(), before.len());
    let changed: Vec<_> = after.iter().filter(|b| !before.contains(b)).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(keymap.bindings_for(Action::FaderUp), ["Up", "k", "j"]);
    assert_eq!(keymap.bindings_for(Action::FaderDown), ["Down"]);
    assert_eq!(keymap.files(), [DEFAULT_KEYMAP_NAME, "user.toml"]);
}

#[test]
fn none_unbinds_a_key() {
    let mut keymap = Keymap::builtin();
    keymap
        .merge_str("[keys]\n\"q\" = \"none\"\n\"Q\" = \"quit\"\n", "user.toml")
        .expect("valid");
    assert_eq!(keymap.feed(ch('q')), Resolution::NotFound);
    assert_eq!(keymap.feed(ch('Q')), Resolution::Matched(Action::Quit));
    assert_eq!(keymap.bindings_for(Action::Quit), ["Ctrl-c", "Q"]);
    // Unbinding a key in [inspector] lets it fall through to [keys] again.
    keymap
        .merge_str("[inspector]\n\"up\" = \"none\"\n", "user2.toml")
        .expect("valid");
    keymap.set_mode(Mode::Inspector);
    assert_eq!(
        keymap.feed(ev(KeyCode::Up, NONE)),
        Resolution::Matched(Action::FaderUp)
    );
    assert_eq!(
        keymap.feed(ch('k')),
        Resolution::Matched(Action::ParamIncrease)
    );
}

#[test]
fn inspector_table_shadows_keys_and_falls_through() {
    let mut keymap = Keymap::builtin();
    assert_eq!(keymap.mode(), Mode::Mixer);
    assert_eq!(
        keymap.feed(ev(KeyCode::Up, NONE)),
        Resolution::Matched(Action::FaderUp)
    );
    keymap.set_mode(Mode::Inspector);
    assert_eq!(
        keymap.feed(ev(KeyCode::Up, NONE)),
        Resolution::Matched(Action::ParamIncrease)
    );
    assert_eq!(keymap.feed(ch(' ')), Resolution::Matched(Action::PlayPause));
    assert_eq!(keymap.feed(ch('m')), Resolution::Matched(Action::Mute));
    assert_eq!(
        keymap.feed(ev(KeyCode::Tab, NONE)),
        Resolution::Matched(Action::ToggleInspector)
    );
    keymap.set_mode(Mode::Mixer);
    assert_eq!(
        keymap.feed(ch('0')),
        Resolution::Matched(Action::FaderUnity)
    );
}

#[test]
fn sequences_resolve_pending_then_matched() {
    let mut keymap = vim();
    let g = ch('g');
    assert_eq!(keymap.feed(g), Resolution::Pending);
    assert_eq!(keymap.pending(), [KeyPress::from(g)]);
    assert_eq!(keymap.feed(g), Resolution::Matched(Action::GoToStart));
    assert!(!keymap.is_pending());
    assert_eq!(keymap.feed(ch('Z')), Resolution::Pending);
    assert_eq!(
        keymap.feed(ev(KeyCode::Char('Z'), SHIFT)),
        Resolution::Matched(Action::Save)
    );
    // A key that continues nothing drops the sequence; it is not re-read as a fresh key.
    assert_eq!(keymap.feed(g), Resolution::Pending);
    assert_eq!(keymap.feed(ch('q')), Resolution::NotFound);
    assert!(!keymap.is_pending());
    assert_eq!(keymap.feed(ch('q')), Resolution::Matched(Action::Quit));
    // Esc abandons a sequence without cancelling anything else; alone it is cancel.
    assert_eq!(keymap.feed(g), Resolution::Pending);
    assert_eq!(keymap.feed(ev(KeyCode::Esc, NONE)), Resolution::NotFound);
    assert_eq!(
        keymap.feed(ev(KeyCode::Esc, NONE)),
        Resolution::Matched(Action::Cancel)
    );
    // The caller's timeout: reset, then g starts afresh.
    assert_eq!(keymap.feed(g), Resolution::Pending);
    keymap.reset();
    assert_eq!(keymap.feed(g), Resolution::Pending);
    assert_eq!(
        keymap.feed(ch('h')),
        Resolution::Matched(Action::SelectFirst)
    );
    // Releases are not keys: they neither match nor disturb a pending sequence.
    assert_eq!(keymap.feed_event(&g), Some(Resolution::Pending));
    let release = KeyEvent::new_with_kind(KeyCode::Char('g'), NONE, KeyEventKind::Release);
    assert_eq!(keymap.feed_event(&release), None);
    assert!(keymap.is_pending());
    let repeat = KeyEvent::new_with_kind(KeyCode::Char('g'), NONE, KeyEventKind::Repeat);
    assert_eq!(
        keymap.feed_event(&repeat),
        Some(Resolution::Matched(Action::GoToStart))
    );
    // Changing mode drops a pending sequence.
    assert_eq!(keymap.feed(ch('z')), Resolution::Pending);
    keymap.set_mode(Mode::Inspector);
    assert_eq!(keymap.feed(ch('m')), Resolution::Matched(Action::Mute));
    // Sequences work in the inspector too, and unbound keys of vim.toml are gone.
    assert_eq!(keymap.feed(ch('z')), Resolution::Pending);
    assert_eq!(keymap.feed(ch('m')), Resolution::Matched(Action::MonoCheck));
    assert_eq!(keymap.feed(ch('d')), Resolution::NotFound);
    assert_eq!(keymap.bindings_for(Action::GoToStart), ["Home", "g g"]);
}

#[test]
fn shift_is_normalised_across_terminals() {
    let mut keymap = Keymap::builtin();
    let fine = Resolution::Matched(Action::FaderUpFine);
    assert_eq!(
        keymap.feed(ch('K')),
        fine,
        "legacy terminal: upper case, no SHIFT"
    );
    assert_eq!(
        keymap.feed(ev(KeyCode::Char('K'), SHIFT)),
        fine,
        "upper case with SHIFT"
    );
    assert_eq!(
        keymap.feed(ev(KeyCode::Char('k'), SHIFT)),
        fine,
        "lower case with SHIFT"
    );
    assert_eq!(keymap.feed(ch('k')), Resolution::Matched(Action::FaderUp));
    assert_eq!(
        keymap.feed(ev(KeyCode::Char('?'), SHIFT)),
        Resolution::Matched(Action::Help)
    );
    assert_eq!(keymap.feed(ch('?')), Resolution::Matched(Action::Help));
    // "S-k" in a file is "K"; Shift+Tab arrives as BackTab with SHIFT.
    keymap
        .merge_str(
            "[keys]\n\"S-x\" = \"solo\"\n\"S-tab\" = \"undo\"\n",
            "user.toml",
        )
        .expect("valid");
    assert_eq!(keymap.feed(ch('X')), Resolution::Matched(Action::Solo));
    assert_eq!(keymap.feed(ch('x')), Resolution::NotFound);
    assert_eq!(
        keymap.feed(ev(KeyCode::BackTab, SHIFT)),
        Resolution::Matched(Action::Undo)
    );
    assert_eq!(
        keymap.feed(ev(KeyCode::BackTab, NONE)),
        Resolution::Matched(Action::Undo)
    );
    // Ctrl is not dropped: Ctrl-s saves, s solos.
    assert_eq!(
        keymap.feed(ev(KeyCode::Char('s'), CTRL)),
        Resolution::Matched(Action::Save)
    );
    assert_eq!(keymap.feed(ch('s')), Resolution::Matched(Action::Solo));
}

#[test]
fn bindings_for_is_readable() {
    let keymap = Keymap::builtin();
    assert_eq!(keymap.bindings_for(Action::PlayPause), ["Space"]);
    assert_eq!(keymap.bindings_for(Action::FaderUpFine), ["Shift-Up", "K"]);
    assert_eq!(keymap.bindings_for(Action::Save), ["Ctrl-s"]);
    assert_eq!(keymap.bindings_for(Action::FaderUpCoarse), ["PgUp"]);
    assert_eq!(keymap.bindings_for(Action::Help), ["?", "F1"]);
    assert_eq!(keymap.bindings_for(Action::ParamIncrease), ["Up", "k"]);
    assert_eq!(
        keymap.bindings_in(Mode::Mixer, Action::ParamIncrease),
        Vec::<String>::new()
    );
    assert_eq!(keymap.bindings_for(Action::MarkerPrev), ["`"]);
}

/// The error from merging `file` (relative to the crate root) over the default.
fn fixture_error(file: &str) -> String {
    let path = format!("tests/fixtures/keymaps/{file}");
    let mut keymap = Keymap::builtin();
    let before = keymap.bindings();
    let err = keymap
        .merge_file(Path::new(&path))
        .expect_err("the fixture is invalid");
    assert_eq!(
        keymap.bindings(),
        before,
        "a failed merge leaves the keymap unchanged"
    );
    err.to_string()
}

#[test]
fn bad_keymap_unknown_action() {
    assert_eq!(
        fixture_error("unknown_action.toml"),
        "tests/fixtures/keymaps/unknown_action.toml:4: key \"j\": unknown action \"fader_dwn\" \
         (did you mean \"fader_down\"?)"
    );
}

#[test]
fn bad_keymap_unparseable_key() {
    assert_eq!(
        fixture_error("bad_key.toml"),
        "tests/fixtures/keymaps/bad_key.toml:4: key \"ctrl-pgupp\": cannot parse the key: unknown key \
         name \"pgupp\""
    );
    assert_eq!(
        fixture_error("shift_symbol.toml"),
        "tests/fixtures/keymaps/shift_symbol.toml:2: key \"S-/\": cannot parse the key: shift cannot be \
         combined with \"/\": write the shifted character itself"
    );
}

#[test]
fn bad_keymap_wrong_value_type() {
    assert_eq!(
        fixture_error("wrong_type.toml"),
        "tests/fixtures/keymaps/wrong_type.toml:3: key \"y\": expected an action name in quotes, found an \
         integer"
    );
    assert_eq!(
        fixture_error("section_not_table.toml"),
        "tests/fixtures/keymaps/section_not_table.toml:2: section \"keys\" must be a table of \"key\" = \
         \"action\" lines, found a string"
    );
}

#[test]
fn bad_keymap_prefix_conflict() {
    assert_eq!(
        fixture_error("prefix_conflict.toml"),
        "tests/fixtures/keymaps/prefix_conflict.toml:4: key \"g g\": conflicts with \"g\" (line 2): a key \
         cannot both run an action and start a sequence"
    );
}

#[test]
fn bad_keymap_prefix_conflict_with_the_default_names_both_files() {
    let mute_line = DEFAULT_KEYMAP_TOML
        .lines()
        .position(|l| l.starts_with("\"m\" = \"mute\""))
        .expect("default binds m")
        + 1;
    let mut keymap = Keymap::builtin();
    let err = keymap
        .merge_str("[keys]\n\n\"m m\" = \"marker_add\"\n", "user.toml")
        .expect_err("m is bound in the default");
    assert_eq!(
        err.to_string(),
        format!(
            "user.toml:3: key \"m m\": conflicts with \"m\" ({DEFAULT_KEYMAP_NAME}:{mute_line}): a key cannot \
             both run an action and start a sequence"
        )
    );
    // Unbinding the prefix in the same file makes it valid.
    keymap
        .merge_str(
            "[keys]\n\"m\" = \"none\"\n\"m m\" = \"marker_add\"\n",
            "user.toml",
        )
        .expect("valid once m is unbound");
    assert_eq!(keymap.feed(ch('m')), Resolution::Pending);
    // A [inspector] key may not start a sequence of [keys] either.
    let err = keymap
        .merge_str("[inspector]\n\"m\" = \"mute\"\n", "other.toml")
        .expect_err("m m is a [keys] sequence");
    assert_eq!(
        err.to_string(),
        "other.toml:2: key \"m\": conflicts with \"m m\" (user.toml:3): a key cannot both run an action and \
         start a sequence"
    );
}

#[test]
fn bad_keymap_invalid_toml() {
    // The reason after "invalid TOML: " is the toml crate's own wording.
    assert_eq!(
        fixture_error("invalid_syntax.toml"),
        "tests/fixtures/keymaps/invalid_syntax.toml:3: invalid TOML: invalid basic string, expected `\"`"
    );
}

#[test]
fn bad_keymap_duplicate_keys() {
    assert_eq!(
        fixture_error("duplicate_key.toml"),
        "tests/fixtures/keymaps/duplicate_key.toml:4: key \"S-k\": same key as \"K\" on line 2"
    );
    let mut keymap = Keymap::builtin();
    let err = keymap
        .merge_str("[keys]\n\"x\" = \"mute\"\n\"x\" = \"solo\"\n", "user.toml")
        .expect_err("TOML forbids a key twice");
    assert_eq!(
        err.to_string(),
        "user.toml:3: key \"x\": invalid TOML: duplicate key"
    );
}

#[test]
fn bad_keymap_unknown_section() {
    assert_eq!(
        fixture_error("unknown_section.toml"),
        "tests/fixtures/keymaps/unknown_section.toml:4: unknown section \"mixr\" (expected \"keys\" or \
         \"inspector\")"
    );
}

#[test]
fn missing_keymap_file_names_the_file() {
    let mut keymap = Keymap::builtin();
    let err = keymap
        .merge_file(Path::new("tests/fixtures/keymaps/no_such_file.toml"))
        .expect_err("missing");
    assert!(matches!(err, KeymapError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with("tests/fixtures/keymaps/no_such_file.toml: cannot read the keymap: "),
        "{err}"
    );
}

#[test]
fn load_prefers_the_cli_keymap_over_the_config_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("keymap.toml"), "[keys]\n\"x\" = \"mute\"\n").expect("write");
    let cli = dir.path().join("cli.toml");
    std::fs::write(&cli, "[keys]\n\"y\" = \"solo\"\n").expect("write");

    let from_config = Keymap::load_with(Some(dir.path()), None).expect("valid");
    assert_eq!(
        from_config.action_for(Mode::Mixer, &KeySeq::parse("x").unwrap()),
        Some(Action::Mute)
    );
    assert_eq!(
        from_config.action_for(Mode::Mixer, &KeySeq::parse("y").unwrap()),
        None
    );
    assert_eq!(
        from_config.action_for(Mode::Mixer, &KeySeq::parse("q").unwrap()),
        Some(Action::Quit)
    );

    let from_cli = Keymap::load_with(Some(dir.path()), Some(&cli)).expect("valid");
    assert_eq!(
        from_cli.action_for(Mode::Mixer, &KeySeq::parse("x").unwrap()),
        None
    );
    assert_eq!(
        from_cli.action_for(Mode::Mixer, &KeySeq::parse("y").unwrap()),
        Some(Action::Solo)
    );
    assert_eq!(from_cli.files().len(), 2);

    let empty = tempfile::tempdir().expect("temp dir");
    let plain = Keymap::load_with(Some(empty.path()), None).expect("no file is fine");
    assert_eq!(plain.files(), [DEFAULT_KEYMAP_NAME]);
}

/// Not a test: the body run in a child process by `config_lookup_*` with a controlled environment.
#[test]
#[ignore = "run only as a child process by the config lookup tests"]
fn child_probe() {
    println!("PROBE config_dir={:?}", config_dir());
    match Keymap::load(None) {
        Ok(keymap) => println!("PROBE quit={:?}", keymap.bindings_for(Action::Quit)),
        Err(err) => println!("PROBE error={err}"),
    }
}

/// Run [`child_probe`] with only `vars` in its environment and return its `PROBE` lines.
fn probe(vars: &[(&str, &Path)]) -> Vec<String> {
    let exe = std::env::current_exe().expect("test binary");
    let output = Command::new(exe)
        .args([
            "child_probe",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v.as_os_str())))
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed: {stdout}");
    stdout
        .lines()
        .filter_map(|l| l.split_once("PROBE ").map(|(_, rest)| rest.to_string()))
        .collect()
}

#[test]
fn config_lookup_env_override_wins() {
    let base = tempfile::tempdir().expect("temp dir");
    let own = base.path().join("own");
    let xdg = base.path().join("xdg");
    let lines = probe(&[
        ("TTYMIX_CONFIG_DIR", &own),
        ("XDG_CONFIG_HOME", &xdg),
        ("HOME", base.path()),
    ]);
    assert_eq!(lines[0], format!("config_dir=Some({own:?})"));
}

#[test]
fn config_lookup_xdg_then_home() {
    let base = tempfile::tempdir().expect("temp dir");
    let xdg = base.path().join("xdg");
    let lines = probe(&[("XDG_CONFIG_HOME", &xdg), ("HOME", base.path())]);
    assert_eq!(
        lines[0],
        format!("config_dir=Some({:?})", xdg.join("ttymix"))
    );
    // An empty override and a relative XDG_CONFIG_HOME are ignored.
    let lines = probe(&[
        ("TTYMIX_CONFIG_DIR", Path::new("")),
        ("XDG_CONFIG_HOME", Path::new("relative")),
        ("HOME", base.path()),
    ]);
    if cfg!(target_os = "linux") {
        let home_config = base.path().join(".config").join("ttymix");
        assert_eq!(lines[0], format!("config_dir=Some({home_config:?})"));
    } else {
        assert!(!lines[0].contains("relative"), "{}", lines[0]);
    }
}

#[test]
fn config_folder_keymap_is_loaded_and_errors_name_it() {
    let base = tempfile::tempdir().expect("temp dir");
    // Through TTYMIX_CONFIG_DIR.
    let own = base.path().join("own");
    std::fs::create_dir_all(&own).expect("mkdir");
    std::fs::write(
        own.join("keymap.toml"),
        "[keys]\n\"q\" = \"none\"\n\"x\" = \"quit\"\n",
    )
    .expect("write");
    let lines = probe(&[("TTYMIX_CONFIG_DIR", &own), ("HOME", base.path())]);
    assert_eq!(lines[1], r#"quit=["Ctrl-c", "x"]"#);
    // Through XDG_CONFIG_HOME/ttymix, with a bad file.
    let xdg = base.path().join("xdg");
    std::fs::create_dir_all(xdg.join("ttymix")).expect("mkdir");
    let file = xdg.join("ttymix").join("keymap.toml");
    std::fs::write(&file, "[keys]\n\"x\" = \"quitt\"\n").expect("write");
    let lines = probe(&[("XDG_CONFIG_HOME", &xdg), ("HOME", base.path())]);
    assert_eq!(
        lines[1],
        format!(
            "error={}:2: key \"x\": unknown action \"quitt\" (did you mean \"quit\"?)",
            file.display()
        )
    );
    // No file anywhere: the default.
    let lines = probe(&[("HOME", base.path())]);
    assert_eq!(lines[1], r#"quit=["q", "Ctrl-c"]"#);
}

#[test]
fn markdown_key_table_is_generated_from_the_live_keymap() {
    let keymap = Keymap::builtin();
    let table = markdown_key_table(&keymap);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "| Group | Keys | Action | Description |");
    assert_eq!(lines[1], "| --- | --- | --- | --- |");
    assert_eq!(lines.len(), 2 + Action::ALL.len(), "one row per action");
    assert_eq!(
        lines[2],
        "| **Transport** | `Space` | `play_pause` | Play or pause |"
    );
    assert!(lines.contains(&"|  | `Shift-Up`, `K` | `fader_up_fine` | Raise the fader 0.1 dB |"));
    assert!(lines.contains(&"|  | `` ` `` | `marker_prev` | Jump to the previous marker |"));
    assert!(lines.contains(
        &"|  | `Up`, `k` in the inspector | `param_increase` | Increase the parameter |"
    ));
    // Rows follow Action::ALL, and each group title appears once, on its first row.
    for (row, action) in lines[2..].iter().zip(Action::iter()) {
        assert!(row.contains(&format!("| `{}` |", action.name())), "{row}");
    }
    for group in Group::ALL {
        let title = format!("| **{}** |", group.title());
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(&title)).count(),
            1,
            "{title}"
        );
    }
    // The table follows overrides.
    let mut custom = Keymap::builtin();
    custom
        .merge_str(
            "[keys]\n\"space\" = \"none\"\n\"|\" = \"play_pause\"\n",
            "user.toml",
        )
        .expect("valid");
    let custom_table = markdown_key_table(&custom);
    assert!(
        custom_table.contains("| **Transport** | `\\|` | `play_pause` |"),
        "{custom_table}"
    );
    custom
        .merge_str("[keys]\n\"|\" = \"none\"\n", "user2.toml")
        .expect("valid");
    assert!(markdown_key_table(&custom).contains("| **Transport** | (unbound) | `play_pause` |"));
}
