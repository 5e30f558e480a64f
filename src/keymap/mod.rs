//! Keymaps as data: key (or key sequence) ─► [`Action`], loaded from TOML.
//!
//! The default keymap is `keymaps/default.toml`, embedded in the binary; its header comment defines the file
//! format and the key syntax. A user keymap (`keymap.toml` in [`config_dir`], or a file given with `--keymap`) is
//! merged over the default key by key; `"none"` unbinds. Two tables exist: `[keys]`, active everywhere, and
//! `[inspector]`, consulted first while the inspector has focus ([`Mode::Inspector`]).
//!
//! Resolution is incremental for sequences such as `"g g"`: [`Keymap::feed`] returns [`Resolution::Pending`]
//! after `g`, then [`Resolution::Matched`]. A key cannot both run an action and start a sequence (that is an error
//! when loading), so resolution never has to wait for a timeout; the caller may still drop a half-typed sequence
//! after [`SEQUENCE_TIMEOUT_MS`] with [`Keymap::reset`].

mod action;
mod key;

pub use action::{Action, Group, UnknownAction};
pub use key::{KeyPress, KeySeq};

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crossterm::event::{KeyEvent, KeyEventKind};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The default keymap file, embedded at build time.
pub const DEFAULT_KEYMAP_TOML: &str = include_str!("../../keymaps/default.toml");

/// The name the embedded default keymap goes by in error messages.
pub const DEFAULT_KEYMAP_NAME: &str = "default.toml (built in)";

/// File name of the user keymap inside [`config_dir`].
pub const KEYMAP_FILE_NAME: &str = "keymap.toml";

/// Environment variable naming the configuration folder; it overrides every other location.
pub const CONFIG_DIR_ENV: &str = "TTYMIX_CONFIG_DIR";

/// Suggested time after which the caller drops a half-typed key sequence ([`Keymap::reset`]).
pub const SEQUENCE_TIMEOUT_MS: u64 = 1000;

/// The value that unbinds a key.
pub const UNBIND: &str = "none";

/// Which bindings are active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// The mixer view: only the `[keys]` table.
    #[default]
    Mixer,
    /// The inspector has focus: the `[inspector]` table first, then `[keys]` for keys it does not bind.
    Inspector,
}

impl Mode {
    /// Both modes.
    pub const ALL: [Mode; 2] = [Mode::Mixer, Mode::Inspector];

    /// The TOML table holding this mode's own bindings.
    pub fn section(self) -> &'static str {
        match self {
            Mode::Mixer => "keys",
            Mode::Inspector => "inspector",
        }
    }

    fn index(self) -> usize {
        match self {
            Mode::Mixer => 0,
            Mode::Inspector => 1,
        }
    }
}

/// The outcome of feeding one key press to [`Keymap::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// A binding is complete: run this action. The pending sequence is cleared.
    Matched(Action),
    /// The keys so far start a sequence: wait for the next key.
    Pending,
    /// No binding: the key (and any pending sequence) is dropped.
    NotFound,
}

/// A keymap that could not be read or is invalid. Displays as `<file>: <reason>` or `<file>:<line>: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeymapError {
    /// The file could not be read.
    Io {
        /// The file as given.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The file was read but is not a valid keymap.
    Invalid {
        /// The file as given.
        path: String,
        /// 1-based line of the offending key or value.
        line: usize,
        /// The key as written in the file, when the problem concerns one.
        key: Option<String>,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for KeymapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeymapError::Io { path, reason } => {
                write!(f, "{path}: cannot read the keymap: {reason}")
            }
            KeymapError::Invalid {
                path,
                line,
                key: Some(key),
                reason,
            } => write!(f, "{path}:{line}: key {key:?}: {reason}"),
            KeymapError::Invalid {
                path,
                line,
                key: None,
                reason,
            } => write!(f, "{path}:{line}: {reason}"),
        }
    }
}

impl std::error::Error for KeymapError {}

/// Where a binding was written: which merged file, which line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Origin {
    file: usize,
    line: usize,
}

#[derive(Debug, Clone)]
struct Binding {
    action: Action,
    /// The key as written in the file, for error messages.
    text: String,
    origin: Origin,
}

/// A complete keymap: the merged tables plus the state of a half-typed sequence.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// Names of the merged files, lowest priority first.
    files: Vec<String>,
    /// Own bindings of each mode's table, indexed by [`Mode::index`].
    tables: [HashMap<KeySeq, Binding>; 2],
    /// Active bindings per mode (the inspector's over `[keys]`).
    effective: [HashMap<Vec<KeyPress>, Action>; 2],
    /// Every proper prefix of an active sequence, per mode.
    prefixes: [HashSet<Vec<KeyPress>>; 2],
    mode: Mode,
    pending: Vec<KeyPress>,
}

impl Default for Keymap {
    /// The built-in default keymap.
    fn default() -> Keymap {
        Keymap::builtin()
    }
}

/// One entry of a parsed file before merging.
struct Entry {
    mode: Mode,
    seq: KeySeq,
    text: String,
    line: usize,
    action: Option<Action>,
}

impl Keymap {
    /// A keymap with no bindings at all.
    pub fn empty() -> Keymap {
        Keymap {
            files: Vec::new(),
            tables: [HashMap::new(), HashMap::new()],
            effective: [HashMap::new(), HashMap::new()],
            prefixes: [HashSet::new(), HashSet::new()],
            mode: Mode::Mixer,
            pending: Vec::new(),
        }
    }

    /// The embedded default keymap. It is checked by the test suite, so this cannot fail in a released build.
    pub fn builtin() -> Keymap {
        let mut keymap = Keymap::empty();
        if let Err(err) = keymap.merge_str(DEFAULT_KEYMAP_TOML, DEFAULT_KEYMAP_NAME) {
            panic!("the built-in keymap is invalid: {err}");
        }
        keymap
    }

    /// The default keymap with the user's keymap merged over it: `cli_keymap` (from `--keymap`) when given,
    /// else `keymap.toml` in [`config_dir`] if that file exists.
    pub fn load(cli_keymap: Option<&Path>) -> Result<Keymap, KeymapError> {
        Keymap::load_with(config_dir().as_deref(), cli_keymap)
    }

    /// [`Keymap::load`] with an explicit configuration folder instead of [`config_dir`].
    pub fn load_with(
        config_dir: Option<&Path>,
        cli_keymap: Option<&Path>,
    ) -> Result<Keymap, KeymapError> {
        let mut keymap = Keymap::builtin();
        if let Some(path) = cli_keymap {
            keymap.merge_file(path)?;
        } else if let Some(dir) = config_dir {
            let path = dir.join(KEYMAP_FILE_NAME);
            if path.exists() {
                keymap.merge_file(&path)?;
            }
        }
        Ok(keymap)
    }

    /// Read a keymap file and merge it over this keymap (see [`Keymap::merge_str`]).
    pub fn merge_file(&mut self, path: &Path) -> Result<(), KeymapError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| KeymapError::Io {
            path: name.clone(),
            reason: err.to_string(),
        })?;
        self.merge_str(&text, &name)
    }

    /// Merge keymap TOML over this keymap, key by key: a key bound in `text` replaces the existing binding of
    /// the same key in the same table, `"none"` removes it, every other binding stays. `name` is the file name
    /// used in errors. On error the keymap is unchanged.
    pub fn merge_str(&mut self, text: &str, name: &str) -> Result<(), KeymapError> {
        let entries = parse_entries(text, name)?;
        let file = self.files.len();
        let mut tables = self.tables.clone();
        for entry in entries {
            let table = &mut tables[entry.mode.index()];
            match entry.action {
                Some(action) => {
                    let origin = Origin {
                        file,
                        line: entry.line,
                    };
                    table.insert(
                        entry.seq,
                        Binding {
                            action,
                            text: entry.text,
                            origin,
                        },
                    );
                }
                None => {
                    table.remove(&entry.seq);
                }
            }
        }
        let mut files = self.files.clone();
        files.push(name.to_string());
        check_prefix_conflicts(&tables, &files)?;
        self.files = files;
        self.tables = tables;
        self.rebuild();
        Ok(())
    }

    fn rebuild(&mut self) {
        for mode in Mode::ALL {
            let mut active: HashMap<Vec<KeyPress>, Action> = HashMap::new();
            for (seq, binding) in &self.tables[Mode::Mixer.index()] {
                active.insert(seq.keys().to_vec(), binding.action);
            }
            if mode == Mode::Inspector {
                for (seq, binding) in &self.tables[Mode::Inspector.index()] {
                    active.insert(seq.keys().to_vec(), binding.action);
                }
            }
            let mut prefixes = HashSet::new();
            for seq in active.keys() {
                for len in 1..seq.len() {
                    prefixes.insert(seq[..len].to_vec());
                }
            }
            self.effective[mode.index()] = active;
            self.prefixes[mode.index()] = prefixes;
        }
        self.pending.clear();
    }

    /// Names of the files merged into this keymap, the built-in default first.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Switch mode (e.g. when the inspector gains or loses focus). A pending sequence is dropped on a change.
    pub fn set_mode(&mut self, mode: Mode) {
        if mode != self.mode {
            self.mode = mode;
            self.pending.clear();
        }
    }

    /// Resolve one key press in the current mode. Pass only presses and repeats, not releases. A key that does
    /// not continue the pending sequence (Esc, for example) drops it and returns [`Resolution::NotFound`].
    pub fn feed(&mut self, key: impl Into<KeyPress>) -> Resolution {
        let index = self.mode.index();
        self.pending.push(key.into());
        if let Some(&action) = self.effective[index].get(&self.pending) {
            self.pending.clear();
            Resolution::Matched(action)
        } else if self.prefixes[index].contains(&self.pending) {
            Resolution::Pending
        } else {
            self.pending.clear();
            Resolution::NotFound
        }
    }

    /// [`Keymap::feed`] for a crossterm event: key releases (reported on Windows, or with the kitty keyboard
    /// protocol) are ignored and give `None`; presses and repeats are fed.
    pub fn feed_event(&mut self, event: &KeyEvent) -> Option<Resolution> {
        match event.kind {
            KeyEventKind::Release => None,
            KeyEventKind::Press | KeyEventKind::Repeat => Some(self.feed(*event)),
        }
    }

    /// Drop a half-typed sequence (the caller's timeout).
    pub fn reset(&mut self) {
        self.pending.clear();
    }

    /// The keys typed so far of an unfinished sequence (empty when none).
    pub fn pending(&self) -> &[KeyPress] {
        &self.pending
    }

    /// Whether a sequence is half typed.
    pub fn is_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The action a complete key sequence runs in `mode`, without touching the pending state.
    pub fn action_for(&self, mode: Mode, seq: &KeySeq) -> Option<Action> {
        self.effective[mode.index()].get(seq.keys()).copied()
    }

    /// Every binding: (table, key sequence, action), `[keys]` first, each table in the order the bindings were
    /// written (files in merge order, then lines).
    pub fn bindings(&self) -> Vec<(Mode, KeySeq, Action)> {
        let mut all: Vec<(Mode, Origin, &KeySeq, Action)> = Vec::new();
        for mode in Mode::ALL {
            for (seq, binding) in &self.tables[mode.index()] {
                all.push((mode, binding.origin, seq, binding.action));
            }
        }
        all.sort_by(|a, b| {
            (a.0.index(), a.1, a.2.to_string()).cmp(&(b.0.index(), b.1, b.2.to_string()))
        });
        all.into_iter()
            .map(|(mode, _, seq, action)| (mode, seq.clone(), action))
            .collect()
    }

    /// The keys bound to `action` in `mode`'s own table, readable (`"Space"`, `"K"`, `"Ctrl-s"`, `"g g"`).
    pub fn bindings_in(&self, mode: Mode, action: Action) -> Vec<String> {
        self.bindings()
            .into_iter()
            .filter(|(m, _, a)| *m == mode && *a == action)
            .map(|(_, seq, _)| seq.to_string())
            .collect()
    }

    /// The keys bound to `action` in any table, readable, `[keys]` first (for the help screen).
    pub fn bindings_for(&self, action: Action) -> Vec<String> {
        self.bindings()
            .into_iter()
            .filter(|(_, _, a)| *a == action)
            .map(|(_, seq, _)| seq.to_string())
            .collect()
    }
}

/// The configuration folder: `$TTYMIX_CONFIG_DIR` if set; else `$XDG_CONFIG_HOME/ttymix` on Unix when that
/// variable is an absolute path; else the platform's folder (`~/.config/ttymix` on Linux,
/// `~/Library/Application Support/ttymix` on macOS, `%APPDATA%\ttymix\config` on Windows).
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    #[cfg(unix)]
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        if xdg.is_absolute() {
            return Some(xdg.join("ttymix"));
        }
    }
    directories::ProjectDirs::from("", "", "ttymix").map(|dirs| dirs.config_dir().to_path_buf())
}

/// The user keymap's path: `keymap.toml` in [`config_dir`].
pub fn user_keymap_path() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join(KEYMAP_FILE_NAME))
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Entries of a table sorted by their position in the file.
fn sorted_entries<'a, 'i>(
    table: &'a DeTable<'i>,
) -> Vec<(
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

fn parse_entries(text: &str, name: &str) -> Result<Vec<Entry>, KeymapError> {
    let invalid = |offset: usize, key: Option<&str>, reason: String| KeymapError::Invalid {
        path: name.to_string(),
        line: line_of(text, offset),
        key: key.map(str::to_string),
        reason,
    };
    let root = DeTable::parse(text).map_err(|err| {
        let span = err.span().unwrap_or(0..0);
        // The parser's span covers the key when it is a duplicate: name it.
        let key = match text.get(span.clone()) {
            Some(s) if err.message() == "duplicate key" && !s.is_empty() => Some(unquote(s)),
            _ => None,
        };
        invalid(
            span.start,
            key.as_deref(),
            format!("invalid TOML: {}", err.message()),
        )
    })?;
    let mut entries = Vec::new();
    for (section, value) in sorted_entries(root.get_ref()) {
        let mode = match section.get_ref().as_ref() {
            "keys" => Mode::Mixer,
            "inspector" => Mode::Inspector,
            other => {
                return Err(invalid(
                    section.span().start,
                    None,
                    format!("unknown section {other:?} (expected \"keys\" or \"inspector\")"),
                ))
            }
        };
        let DeValue::Table(table) = value.get_ref() else {
            return Err(invalid(
                section.span().start,
                None,
                format!(
                    "section {:?} must be a table of \"key\" = \"action\" lines, found {}",
                    mode.section(),
                    type_name(value.get_ref())
                ),
            ));
        };
        let mut seen: HashMap<KeySeq, (String, usize)> = HashMap::new();
        for (key, value) in sorted_entries(table) {
            let key_text: &str = key.get_ref();
            let key_line = line_of(text, key.span().start);
            let seq = KeySeq::parse(key_text).map_err(|reason| {
                invalid(
                    key.span().start,
                    Some(key_text),
                    format!("cannot parse the key: {reason}"),
                )
            })?;
            if let Some((first, line)) = seen.get(&seq) {
                return Err(invalid(
                    key.span().start,
                    Some(key_text),
                    format!("same key as {first:?} on line {line}"),
                ));
            }
            seen.insert(seq.clone(), (key_text.to_string(), key_line));
            let action_name = match value.get_ref() {
                DeValue::String(s) => s.as_ref(),
                other => {
                    return Err(invalid(
                        value.span().start,
                        Some(key_text),
                        format!(
                            "expected an action name in quotes, found {}",
                            type_name(other)
                        ),
                    ))
                }
            };
            let action = if action_name == UNBIND {
                None
            } else {
                Some(Action::from_name(action_name).ok_or_else(|| {
                    let hint = closest_action(action_name)
                        .map(|a| format!(" (did you mean {:?}?)", a.name()))
                        .unwrap_or_default();
                    invalid(
                        value.span().start,
                        Some(key_text),
                        format!("unknown action {action_name:?}{hint}"),
                    )
                })?)
            };
            entries.push(Entry {
                mode,
                seq,
                text: key_text.to_string(),
                line: key_line,
                action,
            });
        }
    }
    Ok(entries)
}

/// A TOML key as written, without its quotes.
fn unquote(key: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(inner) = key.strip_prefix(quote).and_then(|k| k.strip_suffix(quote)) {
            return inner.to_string();
        }
    }
    key.to_string()
}

/// The action whose name is nearest to `name` by edit distance, if it is close enough to be a typo.
fn closest_action(name: &str) -> Option<Action> {
    Action::iter()
        .map(|a| (edit_distance(name, a.name()), a))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// A key that runs an action must not also start a sequence, in the bindings active in any mode. The binding
/// written last (the newest file, then the latest line) is blamed.
fn check_prefix_conflicts(
    tables: &[HashMap<KeySeq, Binding>; 2],
    files: &[String],
) -> Result<(), KeymapError> {
    let mut worst: Option<(&Binding, &Binding)> = None;
    for mode in Mode::ALL {
        let mut active: HashMap<&[KeyPress], &Binding> = HashMap::new();
        for (seq, binding) in &tables[Mode::Mixer.index()] {
            active.insert(seq.keys(), binding);
        }
        if mode == Mode::Inspector {
            for (seq, binding) in &tables[Mode::Inspector.index()] {
                active.insert(seq.keys(), binding);
            }
        }
        for (seq, long) in &active {
            for len in 1..seq.len() {
                if let Some(short) = active.get(&seq[..len]) {
                    let (blamed, other) = if long.origin >= short.origin {
                        (*long, *short)
                    } else {
                        (*short, *long)
                    };
                    let replace = match worst {
                        None => true,
                        Some((b, o)) => (blamed.origin, other.origin) < (b.origin, o.origin),
                    };
                    if replace {
                        worst = Some((blamed, other));
                    }
                }
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((blamed, other)) => {
            let place = if other.origin.file == blamed.origin.file {
                format!("line {}", other.origin.line)
            } else {
                format!("{}:{}", files[other.origin.file], other.origin.line)
            };
            Err(KeymapError::Invalid {
                path: files[blamed.origin.file].clone(),
                line: blamed.origin.line,
                key: Some(blamed.text.clone()),
                reason: format!(
                    "conflicts with {:?} ({place}): a key cannot both run an action and start a sequence",
                    other.text
                ),
            })
        }
    }
}

/// The keymap as a markdown table grouped by help group, for the README: one row per action, its keys in code
/// spans (keys of the `[inspector]` table marked "in the inspector").
pub fn markdown_key_table(keymap: &Keymap) -> String {
    let mut out =
        String::from("| Group | Keys | Action | Description |\n| --- | --- | --- | --- |\n");
    for group in Group::ALL {
        let mut first = true;
        for action in Action::iter().filter(|a| a.group() == group) {
            let mut parts = Vec::new();
            for mode in Mode::ALL {
                let keys = keymap.bindings_in(mode, action);
                if keys.is_empty() {
                    continue;
                }
                let list = keys
                    .iter()
                    .map(|k| markdown_code(k))
                    .collect::<Vec<_>>()
                    .join(", ");
                parts.push(match mode {
                    Mode::Mixer => list,
                    Mode::Inspector => format!("{list} in the inspector"),
                });
            }
            let keys = if parts.is_empty() {
                "(unbound)".to_string()
            } else {
                parts.join("; ")
            };
            let group_cell = if first {
                format!("**{}**", group.title())
            } else {
                String::new()
            };
            first = false;
            out.push_str(&format!(
                "| {group_cell} | {keys} | `{}` | {} |\n",
                action.name(),
                action.description().replace('|', "\\|")
            ));
        }
    }
    out
}

/// A markdown code span holding `text`, safe inside a table cell.
fn markdown_code(text: &str) -> String {
    let escaped = text.replace('|', "\\|");
    if escaped.contains('`') {
        format!("`` {escaped} ``")
    } else {
        format!("`{escaped}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_matches_hand_counts() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("fader_upp", "fader_up"), 1);
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn line_numbers_are_one_based() {
        let text = "a\nb\nc";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 2), 2);
        assert_eq!(line_of(text, 4), 3);
    }
}
