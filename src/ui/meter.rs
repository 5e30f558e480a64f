//! A vertical level meter drawn into a buffer: block glyphs in eighths (or `#` with ASCII), a peak-hold mark,
//! colour zones.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

/// Top of the meter scale (dBFS).
pub const METER_MAX_DB: f32 = 0.0;
/// Bottom of the meter scale (dBFS).
pub const METER_MIN_DB: f32 = -60.0;

const EIGHTHS: [&str; 9] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

/// One vertical bar.
#[derive(Clone, Copy, Debug)]
pub struct Meter {
    /// Level in dBFS.
    pub level_db: f32,
    /// Held peak in dBFS.
    pub hold_db: f32,
    /// ASCII glyphs only.
    pub ascii: bool,
    /// Colours on.
    pub color: bool,
}

/// Fraction of the scale filled by `db`.
pub fn fraction(db: f32) -> f32 {
    if !db.is_finite() && db < 0.0 {
        return 0.0;
    }
    ((db - METER_MIN_DB) / (METER_MAX_DB - METER_MIN_DB)).clamp(0.0, 1.0)
}

/// The dB value at the bottom edge of row `row_from_bottom` of a meter `height` rows high.
pub fn row_db(row_from_bottom: u16, height: u16) -> f32 {
    METER_MIN_DB + (METER_MAX_DB - METER_MIN_DB) * row_from_bottom as f32 / height.max(1) as f32
}

/// Colour for a row whose bottom is at `db`.
pub fn zone_color(db: f32) -> Color {
    if db >= -6.0 {
        Color::Red
    } else if db >= -18.0 {
        Color::Yellow
    } else {
        Color::Green
    }
}

impl Meter {
    /// Draw into `area` (every column of the area gets the same bar).
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        let h = area.height;
        if h == 0 || area.width == 0 {
            return;
        }
        let (full, partial) = if self.ascii {
            ((fraction(self.level_db) * h as f32).round() as u16, 0usize)
        } else {
            let eighths = (fraction(self.level_db) * h as f32 * 8.0).round() as u32;
            ((eighths / 8) as u16, (eighths % 8) as usize)
        };
        let hold_row = if self.hold_db.is_finite() && fraction(self.hold_db) > 0.0 {
            Some(((fraction(self.hold_db) * h as f32).ceil() as u16).clamp(1, h) - 1)
        } else {
            None
        };
        for r in 0..h {
            let y = area.y + h - 1 - r;
            let color = zone_color(row_db(r, h));
            let style = if self.color {
                Style::default().fg(color)
            } else {
                Style::default()
            };
            let glyph = if r < full {
                if self.ascii {
                    "#"
                } else {
                    EIGHTHS[8]
                }
            } else if r == full && partial > 0 {
                EIGHTHS[partial]
            } else if Some(r) == hold_row {
                if self.ascii {
                    "-"
                } else {
                    "▔"
                }
            } else if self.ascii {
                "."
            } else {
                "·"
            };
            let style = if glyph == "." || glyph == "·" {
                if self.color {
                    Style::default().fg(Color::DarkGray)
                } else {
                    Style::default()
                }
            } else {
                style
            };
            for x in area.x..area.x + area.width {
                if let Some(c) = buf.cell_mut((x, y)) {
                    c.set_symbol(glyph).set_style(style);
                }
            }
        }
    }
}

/// Scale labels: (row from the top, text) for 0, -6, -12, -18, -30, -48 dB where they fit on distinct rows.
pub fn scale_labels(height: u16) -> Vec<(u16, String)> {
    let mut out: Vec<(u16, String)> = Vec::new();
    for db in [0.0f32, -6.0, -12.0, -18.0, -24.0, -30.0, -40.0, -48.0] {
        let frac = fraction(db);
        // the row whose top edge is at this level
        let from_top = ((1.0 - frac) * height as f32).floor() as u16;
        if from_top >= height {
            continue;
        }
        if out.last().is_some_and(|(r, _)| from_top <= *r) {
            continue;
        }
        out.push((from_top, format!("{:>3}", db as i32)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(level_db: f32, hold_db: f32, ascii: bool, h: u16) -> Vec<String> {
        let area = Rect::new(0, 0, 1, h);
        let mut buf = Buffer::empty(area);
        Meter {
            level_db,
            hold_db,
            ascii,
            color: true,
        }
        .render(area, &mut buf);
        (0..h).map(|y| buf[(0, y)].symbol().to_string()).collect()
    }

    #[test]
    fn level_fills_cells_in_eighths() {
        // 10 rows over 60 dB: 6 dB per row, 0.75 dB per eighth
        let c = column(-30.0, f32::NEG_INFINITY, false, 10);
        assert_eq!(c.iter().filter(|s| *s == "█").count(), 5);
        assert_eq!(c[4], "·");
        assert_eq!(c[5], "█");
        // -33 dB: 27/60*80 = 36 eighths = 4 full rows and a half row
        let c = column(-33.0, f32::NEG_INFINITY, false, 10);
        assert_eq!(c.iter().filter(|s| *s == "█").count(), 4);
        assert_eq!(c[5], "▄");
        // silence and full scale
        assert!(column(f32::NEG_INFINITY, f32::NEG_INFINITY, false, 10)
            .iter()
            .all(|s| s == "·"));
        assert!(column(3.0, 3.0, false, 10).iter().all(|s| s == "█"));
    }

    #[test]
    fn peak_hold_marks_its_row() {
        // hold at -12 dB: 48/60 of 10 rows = row 8 from the bottom's top edge -> cell 7 from bottom (y = 2)
        let c = column(-50.0, -12.0, false, 10);
        assert_eq!(c[2], "▔");
        assert_eq!(c.iter().filter(|s| *s == "▔").count(), 1);
        let c = column(-50.0, -12.0, true, 10);
        assert_eq!(c[2], "-");
    }

    #[test]
    fn ascii_uses_whole_cells() {
        let c = column(-33.0, f32::NEG_INFINITY, true, 10);
        // 0.45 * 10 = 4.5 rounds to 5 (half away from zero)
        assert_eq!(c.iter().filter(|s| *s == "#").count(), 5);
        assert!(c.iter().all(|s| s.is_ascii()));
    }

    #[test]
    fn zones_are_coloured() {
        let area = Rect::new(0, 0, 1, 10);
        let mut buf = Buffer::empty(area);
        Meter {
            level_db: 0.0,
            hold_db: 0.0,
            ascii: false,
            color: true,
        }
        .render(area, &mut buf);
        assert_eq!(buf[(0, 0)].fg, Color::Red); // top row: -6..0 dB
        assert_eq!(buf[(0, 2)].fg, Color::Yellow); // -18..-12
        assert_eq!(buf[(0, 9)].fg, Color::Green); // bottom
    }

    #[test]
    fn scale_labels_sit_on_their_rows() {
        let l = scale_labels(10);
        assert_eq!(l[0], (0, "  0".to_string()));
        assert_eq!(l[1], (1, " -6".to_string()));
        assert!(l.contains(&(3, "-18".to_string())));
        assert!(l.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
