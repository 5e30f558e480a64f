//! Keys as written in keymap files (`"C-s"`, `"S-up"`, `"K"`, `"g g"`) and as crossterm reports them, both
//! reduced to one normal form so that they compare equal.
//!
//! Normal form ([`KeyPress::new`]):
//! - a letter (any character with an upper and a lower case) is stored in lower case, with SHIFT set when it was
//!   upper case or SHIFT was reported: `'K'`, `'K'`+SHIFT and `'k'`+SHIFT are all `S-k`;
//! - any other printable character carries no SHIFT (terminals disagree on whether `?` reports SHIFT): `'?'` and
//!   `'?'`+SHIFT are both `?`;
//! - `BackTab` carries no SHIFT (crossterm reports Shift+Tab as `BackTab`+SHIFT);
//! - other keys (space, arrows, F-keys, ...) keep every modifier.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key press with its modifiers, normalised (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyPress {
    code: KeyCode,
    modifiers: KeyModifiers,
}

impl KeyPress {
    /// Build a key press from a crossterm code and modifiers, normalising case and SHIFT.
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> KeyPress {
        let mut modifiers = modifiers;
        let code = match code {
            KeyCode::Char(c) if c != ' ' => {
                if let Some(lower) = cased_lower(c) {
                    if lower != c {
                        modifiers |= KeyModifiers::SHIFT;
                    }
                    KeyCode::Char(lower)
                } else {
                    modifiers.remove(KeyModifiers::SHIFT);
                    KeyCode::Char(c)
                }
            }
            KeyCode::BackTab => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        KeyPress { code, modifiers }
    }

    /// The normalised key code (letters in lower case).
    pub fn code(&self) -> KeyCode {
        self.code
    }

    /// The normalised modifiers.
    pub fn modifiers(&self) -> KeyModifiers {
        self.modifiers
    }

    /// Parse one key in keymap syntax (`"q"`, `"K"`, `"C-s"`, `"ctrl-s"`, `"A-x"`, `"S-up"`, `"pageup"`, `"f1"`).
    /// The error is a short reason, without the key itself.
    pub fn parse(text: &str) -> Result<KeyPress, String> {
        if text.is_empty() {
            return Err("empty key".to_string());
        }
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        // A modifier is `NAME-` followed by at least one more character, so "-" and "C--" name the minus key.
        while let Some((head, tail)) = rest.split_once('-') {
            if tail.is_empty() {
                break;
            }
            let modifier = match head.to_ascii_lowercase().as_str() {
                "c" | "ctrl" | "control" => KeyModifiers::CONTROL,
                "a" | "alt" | "m" | "meta" => KeyModifiers::ALT,
                "s" | "shift" => KeyModifiers::SHIFT,
                _ if head.chars().count() == 1 => {
                    return Err(format!(
                        "unknown modifier \"{head}-\" (use C- for Ctrl, A- for Alt, S- for Shift)"
                    ))
                }
                _ => break,
            };
            if modifiers.contains(modifier) {
                return Err(format!("modifier \"{head}-\" given twice"));
            }
            modifiers |= modifier;
            rest = tail;
        }
        let name = rest;
        let mut chars = name.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if c.is_control() {
                    return Err(
                        "a control character is not a key; use a name such as \"tab\"".into(),
                    );
                }
                if c == ' ' {
                    return Err("write \"space\" for the space bar".into());
                }
                if modifiers.contains(KeyModifiers::SHIFT) && cased_lower(c).is_none() {
                    return Err(format!(
                        "shift cannot be combined with \"{c}\": write the shifted character itself"
                    ));
                }
                KeyCode::Char(c)
            }
            _ => named_key(name).ok_or_else(|| format!("unknown key name \"{name}\""))?,
        };
        let code = match code {
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
        Ok(KeyPress::new(code, modifiers))
    }
}

impl From<KeyEvent> for KeyPress {
    fn from(event: KeyEvent) -> KeyPress {
        KeyPress::new(event.code, event.modifiers)
    }
}

impl From<KeyCode> for KeyPress {
    fn from(code: KeyCode) -> KeyPress {
        KeyPress::new(code, KeyModifiers::NONE)
    }
}

/// The lower-case form of a character that has distinct upper and lower cases, else `None`.
fn cased_lower(c: char) -> Option<char> {
    let mut lower = c.to_lowercase();
    let mut upper = c.to_uppercase();
    match (lower.next(), lower.next(), upper.next(), upper.next()) {
        (Some(l), None, Some(u), None) if l != u => Some(l),
        _ => None,
    }
}

fn named_key(name: &str) -> Option<KeyCode> {
    let lower = name.to_ascii_lowercase();
    let code = match lower.as_str() {
        "space" | "spc" => KeyCode::Char(' '),
        "enter" | "return" | "ret" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "backspace" | "bs" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" | "pgup" => KeyCode::PageUp,
        "pagedown" | "pgdn" => KeyCode::PageDown,
        "minus" => KeyCode::Char('-'),
        _ => {
            let n: u8 = lower.strip_prefix('f')?.parse().ok()?;
            if !(1..=24).contains(&n) || lower.starts_with("f0") {
                return None;
            }
            KeyCode::F(n)
        }
    };
    Some(code)
}

impl fmt::Display for KeyPress {
    /// Readable form for the help screen: `Space`, `K`, `Ctrl-s`, `Alt-x`, `Shift-Up`, `PgUp`, `F1`, `?`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.modifiers;
        let shifted_letter =
            matches!(self.code, KeyCode::Char(c) if c != ' ' && cased_lower(c).is_some());
        if m.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if m.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if m.contains(KeyModifiers::SUPER) {
            f.write_str("Super-")?;
        }
        if m.contains(KeyModifiers::HYPER) {
            f.write_str("Hyper-")?;
        }
        if m.contains(KeyModifiers::META) {
            f.write_str("Meta-")?;
        }
        if m.contains(KeyModifiers::SHIFT) && !shifted_letter {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if shifted_letter && m.contains(KeyModifiers::SHIFT) => {
                write!(f, "{}", c.to_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Delete"),
            KeyCode::Insert => f.write_str("Insert"),
            KeyCode::Up => f.write_str("Up"),
            KeyCode::Down => f.write_str("Down"),
            KeyCode::Left => f.write_str("Left"),
            KeyCode::Right => f.write_str("Right"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A key sequence: one or more key presses typed one after another (`"g g"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeySeq(Vec<KeyPress>);

impl KeySeq {
    /// Parse a sequence: keys in keymap syntax separated by spaces. The error is a short reason.
    pub fn parse(text: &str) -> Result<KeySeq, String> {
        if text.trim().is_empty() {
            return Err("empty key (write \"space\" for the space bar)".to_string());
        }
        let keys = text
            .split_whitespace()
            .map(KeyPress::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeySeq(keys))
    }

    /// A sequence of these key presses; `None` if `keys` is empty.
    pub fn from_keys(keys: Vec<KeyPress>) -> Option<KeySeq> {
        (!keys.is_empty()).then_some(KeySeq(keys))
    }

    /// The key presses in order (never empty).
    pub fn keys(&self) -> &[KeyPress] {
        &self.0
    }

    /// Whether `self` is a proper prefix of `other`.
    pub fn is_proper_prefix_of(&self, other: &KeySeq) -> bool {
        self.0.len() < other.0.len() && other.0.starts_with(&self.0)
    }
}

impl From<KeyPress> for KeySeq {
    fn from(key: KeyPress) -> KeySeq {
        KeySeq(vec![key])
    }
}

impl fmt::Display for KeySeq {
    /// Readable form: the keys separated by spaces (`g g`, `Ctrl-x s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, key) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{key}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kp(code: KeyCode, m: KeyModifiers) -> KeyPress {
        KeyPress::new(code, m)
    }

    #[test]
    fn parses_modifiers_and_names() {
        let ctrl_s = kp(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(KeyPress::parse("C-s"), Ok(ctrl_s));
        assert_eq!(KeyPress::parse("ctrl-s"), Ok(ctrl_s));
        assert_eq!(KeyPress::parse("Control-s"), Ok(ctrl_s));
        assert_eq!(
            KeyPress::parse("A-x"),
            Ok(kp(KeyCode::Char('x'), KeyModifiers::ALT))
        );
        assert_eq!(
            KeyPress::parse("S-up"),
            Ok(kp(KeyCode::Up, KeyModifiers::SHIFT))
        );
        assert_eq!(
            KeyPress::parse("PageUp"),
            Ok(kp(KeyCode::PageUp, KeyModifiers::NONE))
        );
        assert_eq!(
            KeyPress::parse("f12"),
            Ok(kp(KeyCode::F(12), KeyModifiers::NONE))
        );
        assert_eq!(
            KeyPress::parse("-"),
            Ok(kp(KeyCode::Char('-'), KeyModifiers::NONE))
        );
        assert_eq!(
            KeyPress::parse("C--"),
            Ok(kp(KeyCode::Char('-'), KeyModifiers::CONTROL))
        );
        assert_eq!(
            KeyPress::parse("S-tab"),
            Ok(kp(KeyCode::BackTab, KeyModifiers::NONE))
        );
        assert_eq!(
            KeyPress::parse("C-S-k"),
            KeyPress::parse("C-K"),
            "C-S-k and C-K are one key"
        );
    }

    #[test]
    fn rejects_bad_keys() {
        assert_eq!(
            KeyPress::parse("X-s"),
            Err("unknown modifier \"X-\" (use C- for Ctrl, A- for Alt, S- for Shift)".into())
        );
        assert_eq!(
            KeyPress::parse("pgupp"),
            Err("unknown key name \"pgupp\"".into())
        );
        assert_eq!(KeyPress::parse("f0"), Err("unknown key name \"f0\"".into()));
        assert_eq!(
            KeyPress::parse("f25"),
            Err("unknown key name \"f25\"".into())
        );
        assert_eq!(
            KeyPress::parse("C-C-s"),
            Err("modifier \"C-\" given twice".into())
        );
        assert!(KeyPress::parse("S-?").is_err());
        assert!(KeyPress::parse("\t").is_err());
        assert!(KeySeq::parse(" ").is_err());
        assert!(KeySeq::parse("").is_err());
    }

    #[test]
    fn display_is_readable() {
        let show = |s: &str| KeySeq::parse(s).map(|k| k.to_string());
        assert_eq!(show("space").as_deref(), Ok("Space"));
        assert_eq!(show("K").as_deref(), Ok("K"));
        assert_eq!(show("S-k").as_deref(), Ok("K"));
        assert_eq!(show("C-s").as_deref(), Ok("Ctrl-s"));
        assert_eq!(show("S-up").as_deref(), Ok("Shift-Up"));
        assert_eq!(show("backtab").as_deref(), Ok("Shift-Tab"));
        assert_eq!(show("g g").as_deref(), Ok("g g"));
        assert_eq!(show("pagedown").as_deref(), Ok("PgDn"));
        assert_eq!(show("?").as_deref(), Ok("?"));
    }
}
