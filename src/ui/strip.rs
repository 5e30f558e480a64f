//! One channel strip of the mixer view (a track or a bus) drawn into a buffer: name, kind tag and clip
//! indicator, a stereo meter with dB scale and peak hold, peak, fader, pan, mute/solo/polarity, gain reduction,
//! output, and info rows (trim, send levels).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use super::meter::{scale_labels, Meter};
use super::put;
use crate::app::{fmt_db, params::format_pan, App, MeterMode, StripLevels, StripRef, TrackStatus};
use crate::session::BusKindName;

/// Rows of a strip that are not meter or info rows: name, clip, peak, fader, pan, flags, GR, output.
pub const FIXED_ROWS: u16 = 8;

/// Everything one strip shows, taken from the app.
#[derive(Clone, Debug)]
pub struct Strip {
    /// Name row text.
    pub name: String,
    /// Kind tag left of the clip indicator: `GRP`, `REV`, `DLY` for buses, none for tracks.
    pub tag: Option<&'static str>,
    /// Track loading state (buses are always online).
    pub status: TrackStatus,
    /// Meter view.
    pub levels: StripLevels,
    /// What the meter shows (peak with hold, or RMS; tracks and buses have no loudness meter, so they show
    /// RMS in loudness mode).
    pub mode: MeterMode,
    /// Fader in dB.
    pub gain_db: f32,
    /// Pan −1..1.
    pub pan: f32,
    /// Muted.
    pub mute: bool,
    /// Soloed.
    pub solo: bool,
    /// Polarity inverted (None: the strip has no polarity switch).
    pub polarity: Option<bool>,
    /// Output bus name (`master` for the master).
    pub output: String,
    /// Info rows under the output: trim when not 0, then one row per send.
    pub info: Vec<String>,
    /// Selected (name reversed, fader bold).
    pub selected: bool,
    /// ASCII glyphs only.
    pub ascii: bool,
    /// Colours on.
    pub color: bool,
}

/// A send's row: the bus name cut to fit `w` columns with the level at the right (`Verb  -12`).
pub fn send_row(bus: &str, level_db: f32, pre_fader: bool, w: usize) -> String {
    let lvl = if (level_db - level_db.round()).abs() < 0.05 {
        format!("{:.0}", level_db)
    } else {
        format!("{:.1}", level_db)
    };
    let lvl = if pre_fader { format!("{lvl}p") } else { lvl };
    let name_w = w.saturating_sub(lvl.chars().count() + 1).max(1);
    let name: String = bus.chars().take(name_w).collect();
    let lw = w.saturating_sub(name_w + 1);
    format!("{name:<name_w$} {lvl:>lw$}")
}

impl Strip {
    /// The strip of `s` (a track or a bus; None for the master, which has its own layout). `w` is the
    /// content width (for the send rows).
    pub fn of(app: &App, s: StripRef, w: u16) -> Option<Strip> {
        let f = &app.session.file;
        let w = w as usize;
        let selected = app.selected_strip() == s;
        let info_of = |trim_db: f32, sends: &[crate::session::SendConfig]| {
            let mut info = Vec::new();
            if trim_db != 0.0 {
                info.push(format!("trim{trim_db:+.1}"));
            }
            for sd in sends {
                info.push(send_row(&sd.bus, sd.level_db, sd.pre_fader, w));
            }
            info
        };
        match s {
            StripRef::Track(i) => {
                let t = f.tracks.get(i)?;
                Some(Strip {
                    name: t.display_name(),
                    tag: None,
                    status: match app.status.get(i).cloned().unwrap_or(TrackStatus::Online) {
                        // the strip is narrow: the file name instead of the whole path before the reason
                        TrackStatus::Offline(reason) => {
                            TrackStatus::Offline(match app.session.track_path(i) {
                                Some(p) => reason.replacen(
                                    &p.display().to_string(),
                                    &t.file.display().to_string(),
                                    1,
                                ),
                                None => reason,
                            })
                        }
                        st => st,
                    },
                    levels: app.strip_levels(s),
                    mode: app.meter_mode,
                    gain_db: t.gain_db,
                    pan: t.pan,
                    mute: t.mute,
                    solo: t.solo,
                    polarity: Some(t.invert_polarity),
                    output: t.output.clone().unwrap_or_else(|| "master".into()),
                    info: info_of(t.trim_db, &t.sends),
                    selected,
                    ascii: app.ascii,
                    color: !app.no_color,
                })
            }
            StripRef::Bus(b) => {
                let bus = f.buses.get(b)?;
                Some(Strip {
                    name: bus.name.clone(),
                    tag: Some(match bus.kind {
                        BusKindName::Group => "GRP",
                        BusKindName::Reverb => "REV",
                        BusKindName::Delay => "DLY",
                    }),
                    status: TrackStatus::Online,
                    levels: app.strip_levels(s),
                    mode: app.meter_mode,
                    gain_db: bus.gain_db,
                    pan: bus.pan,
                    mute: bus.mute,
                    solo: bus.solo,
                    polarity: None,
                    output: bus.output.clone().unwrap_or_else(|| "master".into()),
                    info: info_of(bus.trim_db, &bus.sends),
                    selected,
                    ascii: app.ascii,
                    color: !app.no_color,
                })
            }
            StripRef::Master => None,
        }
    }

    fn st(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    /// The name row (reversed when selected), after `marker` (the mixer's "more to the left" arrow) when given.
    pub fn render_name(&self, r: Rect, marker: Option<&str>, buf: &mut Buffer) {
        let w = r.width.saturating_sub(1);
        let name_style = if self.selected {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        let text = match marker {
            Some(m) => format!("{m}{}", self.name),
            None => self.name.clone(),
        };
        put(
            buf,
            r.x,
            r.y,
            w,
            &format!("{:<w$}", text, w = w as usize),
            name_style,
        );
    }

    /// Draw into `r` (the last column is the separator) with `info_rows` rows for trim and sends at the
    /// bottom; the meter takes the rest.
    pub fn render(&self, r: Rect, info_rows: u16, buf: &mut Buffer) {
        if r.width < 2 || r.height < FIXED_ROWS + 2 {
            return;
        }
        let w = r.width - 1;
        self.render_name(r, None, buf);
        let info_rows = info_rows.min(r.height - FIXED_ROWS - 1);
        let meter_h = r.height - FIXED_ROWS - info_rows;
        let l = &self.levels;
        match &self.status {
            TrackStatus::Offline(reason) => {
                put(
                    buf,
                    r.x,
                    r.y + 1,
                    w,
                    "OFFLINE",
                    self.st(Color::Red).add_modifier(Modifier::BOLD),
                );
                let chars: Vec<char> = reason.chars().collect();
                for (k, chunk) in chars.chunks(w as usize).take(meter_h as usize).enumerate() {
                    let s: String = chunk.iter().collect();
                    put(buf, r.x, r.y + 2 + k as u16, w, &s, self.st(Color::Red));
                }
            }
            TrackStatus::Loading => put(buf, r.x, r.y + 2, w, "queued", self.st(Color::DarkGray)),
            TrackStatus::Decoding => put(buf, r.x, r.y + 2, w, "decoding", self.st(Color::Yellow)),
            TrackStatus::Online => {
                if let Some(tag) = self.tag {
                    put(buf, r.x, r.y + 1, 3, tag, self.st(Color::Cyan));
                }
                clip_row(l, self.ascii, self.color, r.x, r.y + 1, buf);
                let (level_db, hold_db) = meter_values(l, self.mode, None);
                meter_pair(
                    level_db,
                    hold_db,
                    self.ascii,
                    self.color,
                    r.x,
                    r.y + 2,
                    meter_h,
                    buf,
                );
            }
        }
        let y0 = r.y + 2 + meter_h;
        let pk = l.hold_db[0].max(l.hold_db[1]);
        put(
            buf,
            r.x,
            y0,
            w,
            &format!("pk{:>6}", fmt_db(pk)),
            Style::default(),
        );
        let fader_style = if self.selected {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        put(
            buf,
            r.x,
            y0 + 1,
            w,
            &format!("{:>6.1}dB", self.gain_db),
            fader_style,
        );
        put(
            buf,
            r.x,
            y0 + 2,
            w,
            &format!("pan {:>4}", format_pan(self.pan)),
            Style::default(),
        );
        let on = |b: bool, c: Color| {
            if b {
                if self.color {
                    Style::default().fg(Color::Black).bg(c)
                } else {
                    Style::default().add_modifier(Modifier::REVERSED)
                }
            } else {
                self.st(Color::DarkGray)
            }
        };
        // on: capital and highlighted; off: small and dim (readable without colour)
        let flag =
            |b: bool, upper: &'static str, lower: &'static str| if b { upper } else { lower };
        put(
            buf,
            r.x,
            y0 + 3,
            1,
            flag(self.mute, "M", "m"),
            on(self.mute, Color::Red),
        );
        put(
            buf,
            r.x + 2,
            y0 + 3,
            1,
            flag(self.solo, "S", "s"),
            on(self.solo, Color::Yellow),
        );
        if let Some(p) = self.polarity {
            let (pu, pl) = if self.ascii { ("P", "p") } else { ("Ø", "ø") };
            put(buf, r.x + 4, y0 + 3, 1, flag(p, pu, pl), on(p, Color::Cyan));
        }
        put(
            buf,
            r.x,
            y0 + 4,
            w,
            &format!("GR {:>4.1}", l.gain_reduction_db),
            Style::default(),
        );
        put(
            buf,
            r.x,
            y0 + 5,
            w,
            &format!("{} {}", if self.ascii { "->" } else { "→" }, self.output),
            self.st(Color::DarkGray),
        );
        let rows = info_rows as usize;
        for k in 0..rows.min(self.info.len()) {
            let text = if k + 1 == rows && self.info.len() > rows {
                format!("+{} more", self.info.len() - k)
            } else {
                self.info[k].clone()
            };
            put(buf, r.x, y0 + 6 + k as u16, w, &text, Style::default());
        }
        separator(self.ascii, self.color, r, buf);
    }
}

/// What the two bars show in meter `mode`: peak with hold, RMS, or (the master, `loudness` given)
/// momentary and short-term LUFS on the same scale. Returns (level, hold) per bar.
pub fn meter_values(
    l: &StripLevels,
    mode: MeterMode,
    loudness: Option<[f32; 2]>,
) -> ([f32; 2], [f32; 2]) {
    match (mode, loudness) {
        (MeterMode::Peak, _) => (l.peak_db, l.hold_db),
        (MeterMode::Loudness, Some(v)) => (v, v),
        _ => (l.rms_db, l.rms_db),
    }
}

/// The dB scale and a two-channel meter at (`x`, `y`), `h` rows high, 9 columns wide.
#[allow(clippy::too_many_arguments)]
pub fn meter_pair(
    level_db: [f32; 2],
    hold_db: [f32; 2],
    ascii: bool,
    color: bool,
    x: u16,
    y: u16,
    h: u16,
    buf: &mut Buffer,
) {
    let dim = if color {
        Style::default().fg(Color::DarkGray)
    } else {
        Style::default()
    };
    for (row, label) in scale_labels(h) {
        put(buf, x, y + row, 3, &label, dim);
    }
    for ch in 0..2 {
        Meter {
            level_db: level_db[ch],
            hold_db: hold_db[ch],
            ascii,
            color,
        }
        .render(Rect::new(x + 4 + ch as u16 * 3, y, 2, h), buf);
    }
}

/// The clip indicator over the meter (columns 4..9 from `x`).
pub fn clip_row(l: &StripLevels, _ascii: bool, color: bool, x: u16, y: u16, buf: &mut Buffer) {
    if l.clipped {
        let s = if color {
            Style::default().fg(Color::White).bg(Color::Red)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        };
        put(buf, x + 4, y, 5, "CLIP!", s);
    } else {
        put(buf, x + 4, y, 5, "     ", Style::default());
    }
}

/// The separator in the last column of `r`.
pub fn separator(ascii: bool, color: bool, r: Rect, buf: &mut Buffer) {
    let g = if ascii { "|" } else { "│" };
    let s = if color {
        Style::default().fg(Color::DarkGray)
    } else {
        Style::default()
    };
    for y in r.y..r.bottom() {
        put(buf, r.right() - 1, y, 1, g, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keymap::Keymap;
    use crate::session::{BusConfig, Origin, SendConfig, Session, SessionFile, TrackConfig};

    fn lin(db: f32) -> f32 {
        10f32.powf(db / 20.0)
    }

    fn bus_strip(level_db: f32) -> Strip {
        let mut levels = StripLevels::default();
        levels.update([lin(level_db); 2], [lin(level_db - 6.0); 2], 3.0, 0);
        Strip {
            name: "Verb".into(),
            tag: Some("REV"),
            status: TrackStatus::Online,
            mode: MeterMode::Peak,
            levels,
            gain_db: -3.5,
            pan: 0.0,
            mute: true,
            solo: false,
            polarity: None,
            output: "master".into(),
            info: Vec::new(),
            selected: false,
            ascii: false,
            color: true,
        }
    }

    fn draw(s: &Strip, h: u16, info_rows: u16) -> (Buffer, Vec<String>) {
        let area = Rect::new(0, 0, 10, h);
        let mut buf = Buffer::empty(area);
        s.render(area, info_rows, &mut buf);
        let rows = (0..h)
            .map(|y| (0..10).map(|x| buf[(x, y)].symbol()).collect::<String>())
            .collect();
        (buf, rows)
    }

    #[test]
    fn bus_strip_shows_name_kind_fader_flags_gr_and_output() {
        let (buf, rows) = draw(&bus_strip(-30.0), 21, 1);
        assert_eq!(rows[0], "Verb     │");
        assert!(rows[1].starts_with("REV      "), "{:?}", rows[1]);
        // meter rows 2..2+12, then the fixed rows
        assert_eq!(rows[15], "  -3.5dB │");
        assert_eq!(rows[16], "pan    C │");
        // muted (capital M), solo off, no polarity switch on a bus
        assert_eq!(rows[17], "M s      │");
        assert!(buf[(0, 17)].modifier.is_empty() && buf[(0, 17)].bg == Color::Red);
        assert_eq!(rows[18], "GR  3.0  │");
        assert_eq!(rows[19], "→ master │");
        // not selected: name bold, not reversed
        assert!(!buf[(0, 0)].modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn meter_cells_follow_the_level() {
        // h = 21, one info row: 21 - 8 - 1 = 12 meter rows (y = 2..14), 5 dB per row
        for (db, full) in [(-30.0f32, 6usize), (-10.0, 10), (-55.0, 1), (0.0, 12)] {
            let (_, rows) = draw(&bus_strip(db), 21, 1);
            let meter: Vec<&str> = rows[2..14].iter().map(|r| &r[..]).collect();
            // independent reference: rows filled = (db - (-60)) / 60 * 12
            let expect = ((db + 60.0) / 60.0 * 12.0).round() as usize;
            assert_eq!(expect, full);
            for ch_x in [4usize, 7] {
                let col: Vec<char> = meter.iter().map(|r| r.chars().nth(ch_x).unwrap()).collect();
                let n_full = col.iter().filter(|&&c| c == '█').count();
                assert_eq!(n_full, full, "{db} dB, column {ch_x}: {col:?}");
                // filled from the bottom
                assert!(col[12 - full..].iter().all(|&c| c == '█'), "{col:?}");
            }
            // the scale's 0 dB label on the top meter row
            assert!(meter[0].starts_with("  0"), "{meter:?}");
        }
    }

    #[test]
    fn selected_strip_is_reversed_and_clip_shows() {
        let mut s = bus_strip(0.0);
        s.selected = true;
        let (buf, rows) = draw(&s, 21, 1);
        for x in 0..9 {
            assert!(buf[(x, 0)].modifier.contains(Modifier::REVERSED), "{x}");
        }
        assert!(!buf[(9, 0)].modifier.contains(Modifier::REVERSED));
        // 0 dBFS clipped
        assert_eq!(rows[1], "REV CLIP!│");
    }

    #[test]
    fn peak_hold_stays_above_a_falling_level() {
        let mut s = bus_strip(-12.0);
        // 100 ms later the level fell to -42 dB; the hold (1.5 s) keeps -12 dB
        s.levels.update([lin(-42.0); 2], [0.0; 2], 0.0, 100);
        let (_, rows) = draw(&s, 21, 1);
        let col: Vec<char> = rows[2..14]
            .iter()
            .map(|r| r.chars().nth(4).unwrap())
            .collect();
        // 12 rows of 5 dB: -42 dB fills 18/60*12 = 3.6 rows (3 full + a partial), the hold sits in the row
        // whose top edge is at -12 dB: 48/60*12 = 9.6 -> row 10 from the bottom (index 2 from the top)
        assert_eq!(col.iter().filter(|&&c| c == '█').count(), 3, "{col:?}");
        assert_eq!(col[2], '▔', "{col:?}");
        assert_eq!(col.iter().filter(|&&c| c == '▔').count(), 1, "{col:?}");
        assert_eq!(rows[14], "pk -12.0 │");
    }

    #[test]
    fn send_rows_fit_and_overflow_says_how_many_more() {
        assert_eq!(send_row("Reverb", -12.0, false, 9), "Rever -12");
        assert_eq!(send_row("Dly", -4.5, true, 9), "Dly -4.5p");
        assert_eq!(send_row("Dly", -4.5, true, 9).chars().count(), 9);
        let mut s = bus_strip(-20.0);
        s.info = vec![
            send_row("Verb", -15.0, false, 9),
            send_row("Echo", -20.0, false, 9),
        ];
        let (_, rows) = draw(&s, 21, 2);
        assert_eq!(rows[19], "Verb  -15│");
        assert_eq!(rows[20], "Echo  -20│");
        let (_, rows) = draw(&s, 21, 1);
        assert_eq!(rows[20], "+2 more  │");
    }

    #[test]
    fn strips_of_a_session_take_kind_sends_and_bus_meters() {
        let dir = std::path::PathBuf::from("/nonexistent");
        let file = SessionFile {
            tracks: vec![TrackConfig {
                file: "a.wav".into(),
                ..Default::default()
            }],
            buses: vec![
                BusConfig {
                    name: "Drums".into(),
                    sends: vec![SendConfig {
                        bus: "Echo".into(),
                        level_db: -9.0,
                        pre_fader: true,
                    }],
                    ..Default::default()
                },
                BusConfig {
                    name: "Echo".into(),
                    kind: BusKindName::Delay,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let session = Session {
            origin: Origin::Folder(dir.clone()),
            base_dir: dir,
            file,
        };
        let mut app = App::new(session, Keymap::builtin(), 48_000);
        app.bus_levels[1].update([lin(-12.0); 2], [0.0; 2], 1.5, 0);
        app.selected = 2;
        let drums = Strip::of(&app, StripRef::Bus(0), 9).unwrap();
        assert_eq!(drums.tag, Some("GRP"));
        assert_eq!(drums.info, vec!["Echo  -9p".to_string()]);
        assert!(!drums.selected);
        let echo = Strip::of(&app, StripRef::Bus(1), 9).unwrap();
        assert_eq!(echo.tag, Some("DLY"));
        assert!(echo.selected);
        assert!((echo.levels.peak_db[0] + 12.0).abs() < 1e-4);
        assert_eq!(echo.levels.gain_reduction_db, 1.5);
        assert_eq!(Strip::of(&app, StripRef::Track(0), 9).unwrap().tag, None);
        assert!(Strip::of(&app, StripRef::Master, 9).is_none());
        assert!(Strip::of(&app, StripRef::Bus(2), 9).is_none());
    }
}
