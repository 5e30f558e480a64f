//! Drawing: the mixer, master, transport bar, status line, inspector and help, from [`App`] state only.

pub mod curve;
pub mod inspector;
pub mod meter;
pub mod strip;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::Frame;

use crate::app::{fmt_db, App, MeterMode, Overlay, StripRef};
use crate::keymap::{Action, Group};
use strip::Strip;

/// Smallest usable terminal.
pub const MIN_WIDTH: u16 = 80;
/// Smallest usable terminal height.
pub const MIN_HEIGHT: u16 = 24;
/// Width of a track strip including its separator.
pub const STRIP_WIDTH: u16 = 10;
/// Fewest meter rows a strip keeps when it shows many sends.
pub const MIN_METER_ROWS: u16 = 8;
/// Width of the master strip.
pub const MASTER_WIDTH: u16 = 22;
/// Width of the inspector panel (narrower terminals give it everything left of the master).
pub const INSPECTOR_WIDTH: u16 = 60;

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    render(app, area, frame.buffer_mut());
}

fn st(app: &App, color: Color) -> Style {
    if app.no_color {
        Style::default()
    } else {
        Style::default().fg(color)
    }
}

fn put(buf: &mut Buffer, x: u16, y: u16, width: u16, text: &str, style: Style) {
    if width == 0 {
        return;
    }
    buf.set_stringn(x, y, text, width as usize, style);
}

/// Time as `mm:ss.t` (tenths truncated, so the display never runs ahead of the playhead).
pub fn fmt_time(frames: u64, rate_hz: u32) -> String {
    let tenths = u128::from(frames) * 10 / u128::from(rate_hz.max(1));
    let (m, t) = (tenths / 600, tenths % 600);
    format!("{:02}:{:02}.{}", m, t / 10, t % 10)
}

/// Bars|beats (1-based) at `bpm` in 4/4.
pub fn fmt_bars(frames: u64, rate_hz: u32, bpm: f64) -> String {
    let beats = frames as f64 / rate_hz.max(1) as f64 * bpm / 60.0;
    let bar = (beats / 4.0).floor() as u64 + 1;
    let beat = (beats % 4.0).floor() as u64 + 1;
    format!("{bar}|{beat}")
}

/// Render the screen into a buffer (used by [`draw`] and by tests).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "terminal too small: need {MIN_WIDTH}x{MIN_HEIGHT}, have {}x{}",
            area.width, area.height
        );
        put(buf, area.x, area.y, area.width, &msg, Style::default());
        return;
    }
    transport_bar(app, Rect::new(area.x, area.y, area.width, 1), buf);
    overview_line(app, Rect::new(area.x, area.y + 1, area.width, 1), buf);
    status_line(
        app,
        Rect::new(area.x, area.bottom() - 1, area.width, 1),
        buf,
    );
    let body = body_of(area);
    if let Overlay::Help(scroll) = app.overlay {
        help(app, body, scroll, buf);
        return;
    }
    mixer(app, body, buf);
    if let Overlay::Recover(path) = &app.overlay {
        let w = body.width.min(70);
        let r = Rect::new(
            body.x + (body.width - w) / 2,
            body.y + body.height / 2 - 2,
            w,
            4,
        );
        buf.set_style(r, Style::default().add_modifier(Modifier::REVERSED));
        for y in r.y..r.bottom() {
            put(
                buf,
                r.x,
                y,
                w,
                &" ".repeat(w as usize),
                Style::default().add_modifier(Modifier::REVERSED),
            );
        }
        let style = Style::default().add_modifier(Modifier::REVERSED);
        put(
            buf,
            r.x + 1,
            r.y + 1,
            w - 2,
            "Unsaved changes from last time were found:",
            style,
        );
        put(
            buf,
            r.x + 1,
            r.y + 2,
            w - 2,
            &format!("{}  restore? y/n", path.display()),
            style,
        );
    }
}

fn transport_bar(app: &App, r: Rect, buf: &mut Buffer) {
    let state = if app.playing {
        if app.ascii {
            "> PLAY "
        } else {
            "▶ PLAY "
        }
    } else if app.ascii {
        "|| STOP"
    } else {
        "⏸ STOP"
    };
    // bars|beats only when the session has a tempo: a guessed grid would mislead
    let bars = app
        .session
        .file
        .tempo_bpm
        .map(|bpm| format!("{} ", fmt_bars(app.position_frames, app.rate_hz, bpm)))
        .unwrap_or_default();
    let mut left = format!(
        "{state} {} {bars}",
        fmt_time(app.position_frames, app.rate_hz),
    );
    match (app.loop_in_frames, app.loop_out_frames) {
        (None, None) => left.push_str(" loop -"),
        (a, b) => {
            let f = |x: Option<u64>| {
                x.map(|v| fmt_time(v, app.rate_hz))
                    .unwrap_or_else(|| "--".into())
            };
            left.push_str(&format!(
                " loop {}-{} {}",
                f(a),
                f(b),
                if app.loop_enabled { "on" } else { "off" }
            ));
        }
    }
    // monitor and meter states, shown only when not the default
    if app.meter_mode != MeterMode::Peak {
        left.push_str(&format!("  meters {}", app.meter_mode.label()));
    }
    if let Some(i) = app.listening {
        left.push_str(&format!("  REF {}", i + 1));
    }
    if app.mono {
        left.push_str("  MONO");
    }
    if app.dim {
        left.push_str("  DIM");
    }
    if let Some(i) = app.marker_at_or_before() {
        let m = &app.session.file.markers[i];
        left.push_str(&format!("  @{}", m.name));
    }
    let o = &app.output;
    let right = if o.silent {
        format!(" no audio output {}Hz", app.rate_hz)
    } else {
        format!(
            " {} DSP {} xrun {}",
            o.description,
            o.load
                .map(|l| format!("{:.0}%", l * 100.0))
                .unwrap_or_else(|| "-".into()),
            o.xruns
        )
    };
    let style = Style::default().add_modifier(Modifier::REVERSED);
    buf.set_style(r, style);
    put(
        buf,
        r.x,
        r.y,
        r.width,
        &format!("{:w$}", "", w = r.width as usize),
        style,
    );
    put(buf, r.x, r.y, r.width, &left, style);
    let rw =
        (right.chars().count() as u16).min(r.width.saturating_sub(left.chars().count() as u16));
    if rw > 0 {
        let skip = right.chars().count() - rw as usize;
        let shown: String = right.chars().skip(skip).collect();
        put(buf, r.right() - rw, r.y, rw, &shown, style);
    }
}

/// Overview range: levels from 0 dBFS down to this many dB get a block.
const OVERVIEW_RANGE_DB: f32 = 48.0;

/// The whole song on one line: its energy over time (block heights), the loop region (underlined, or
/// `=` on the ruler when ASCII), markers (`|` in yellow, their names in the transport bar) and the
/// playhead (reversed).
fn overview_line(app: &App, r: Rect, buf: &mut Buffer) {
    use crate::overview::frame_column;
    let len = app.length_frames;
    let cols = r.width as usize;
    if len == 0 || cols == 0 {
        return;
    }
    let mut glyphs = app.overview.row(len, cols, OVERVIEW_RANGE_DB, app.ascii);
    let mut styles = vec![Style::default(); cols];
    if let (Some(a), Some(b)) = (app.loop_in_frames, app.loop_out_frames) {
        let (ca, cb) = (frame_column(len, cols, a), frame_column(len, cols, b));
        for s in &mut styles[ca..=cb.max(ca)] {
            *s = s.add_modifier(Modifier::UNDERLINED);
            if !app.no_color {
                *s = s.bg(Color::DarkGray);
            }
        }
    }
    for m in app.marker_frames() {
        let c = frame_column(len, cols, m);
        glyphs[c] = '|';
        if !app.no_color {
            styles[c] = styles[c].fg(Color::Yellow);
        }
    }
    let p = frame_column(len, cols, app.position_frames);
    styles[p] = styles[p].add_modifier(Modifier::REVERSED);
    if glyphs[p] == ' ' {
        glyphs[p] = if app.ascii { '^' } else { '▏' };
    }
    for (c, (g, s)) in glyphs.into_iter().zip(styles).enumerate() {
        let cell = &mut buf[(r.x + c as u16, r.y)];
        cell.set_char(g);
        cell.set_style(s);
    }
}

fn status_line(app: &App, r: Rect, buf: &mut Buffer) {
    let mut text = match &app.overlay {
        Overlay::MarkerName(i, t) => {
            let at = app
                .session
                .file
                .markers
                .get(*i)
                .map(|m| fmt_time(m.frame(app.rate_hz), app.rate_hz))
                .unwrap_or_default();
            format!("marker name at {at}: {t}_   (Enter set, Esc cancel)")
        }
        Overlay::Prompt(t) => {
            let what = if app.inspector {
                let p = app.selected_param();
                let s = p.spec();
                if s.unit.is_empty() {
                    s.name.to_string()
                } else {
                    format!("{} {}", s.name, s.unit)
                }
            } else {
                "fader dB".to_string()
            };
            format!("{what}: {t}_   (Enter set, Esc cancel)")
        }
        _ if app.loading && app.status.is_empty() => "loading...".to_string(),
        _ if app.loading => format!(
            "loading stems: {}/{} ready{}",
            app.tracks_done(),
            app.status.len(),
            if app.message.is_empty() {
                String::new()
            } else {
                format!("; {}", app.message)
            }
        ),
        _ if !app.message.is_empty() => app.message.clone(),
        _ => "? help  q quit  space play  arrows select/fader  m s p mute solo polarity".into(),
    };
    if app.dirty {
        text = format!("[+] {text}");
    }
    put(buf, r.x, r.y, r.width, &text, Style::default());
}

/// The strip at position `i` of the scrolling row: tracks, then buses.
fn row_strip(app: &App, i: usize) -> StripRef {
    let t = app.track_count();
    if i < t {
        StripRef::Track(i)
    } else {
        StripRef::Bus(i - t)
    }
}

/// The first of `visible` strip slots shown when strip `selected` of `n` must be in view (the master, past the
/// end, shows the last ones).
pub fn first_visible(selected: usize, n: usize, visible: usize) -> usize {
    let visible = visible.max(1);
    let sel = selected.min(n.saturating_sub(1));
    if n <= visible {
        0
    } else {
        sel.saturating_sub(visible - 1).min(n - visible)
    }
}

/// Widths of the strip row and the inspector in a mixer body `width` columns wide (the master takes the rest).
fn columns(app: &App, width: u16) -> (u16, u16) {
    let room = width.saturating_sub(MASTER_WIDTH);
    let insp_w = if !app.inspector {
        0
    } else if room >= INSPECTOR_WIDTH + 3 * STRIP_WIDTH {
        // whole strips to the left, the rest to the inspector
        room - (room - INSPECTOR_WIDTH) / STRIP_WIDTH * STRIP_WIDTH
    } else {
        room
    };
    (width.saturating_sub(MASTER_WIDTH + insp_w), insp_w)
}

/// How many track/bus strips fit beside the master (and the inspector) on a terminal `width` columns wide;
/// the event loop passes it to [`App::scroll_into_view`] before drawing.
pub fn strip_slots(app: &App, width: u16) -> usize {
    (columns(app, width).0 / STRIP_WIDTH) as usize
}

/// The first strip shown of the scrolling row when `visible` fit: the remembered scroll position, moved as
/// little as needed to show the selected strip.
fn first_shown(app: &App, visible: usize) -> usize {
    let n = app.track_count() + app.bus_count();
    app.scroll.clamp(
        first_visible(app.selected, n, visible),
        app.selected
            .min(n.saturating_sub(1))
            .min(n.saturating_sub(visible.max(1))),
    )
}

/// The mixer body of a screen `area`: below the transport bar and the overview line, above the status line.
fn body_of(area: Rect) -> Rect {
    Rect::new(
        area.x,
        area.y + 2,
        area.width,
        area.height.saturating_sub(3),
    )
}

/// What is under terminal cell (`col`, `row`) of a screen of `area`, in selection order (tracks, buses, then
/// the master); None elsewhere (transport bar, overview, status line, inspector, gaps). Uses the same layout
/// as the mixer view, for the mouse.
pub fn strip_at(app: &App, area: Rect, col: u16, row: u16) -> Option<usize> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT || !matches!(app.overlay, Overlay::None) {
        return None;
    }
    let body = body_of(area);
    if row < body.y || row >= body.bottom() || col < body.x || col >= body.right() {
        return None;
    }
    let n = app.track_count() + app.bus_count();
    if col >= body.right() - MASTER_WIDTH {
        return Some(n);
    }
    let (strips_w, _) = columns(app, body.width);
    let visible = (strips_w / STRIP_WIDTH) as usize;
    if col >= body.x + strips_w || visible == 0 {
        return None;
    }
    let k = ((col - body.x) / STRIP_WIDTH) as usize;
    let i = first_shown(app, visible) + k;
    (k < visible && i < n).then_some(i)
}

fn mixer(app: &App, body: Rect, buf: &mut Buffer) {
    let (strips_w, insp_w) = columns(app, body.width);
    // tracks then buses scroll together; the master stays at the right
    let n = app.track_count() + app.bus_count();
    let visible = (strips_w / STRIP_WIDTH) as usize;
    let first = first_shown(app, visible);
    let shown: Vec<Strip> = if visible == 0 {
        Vec::new()
    } else {
        (first..n.min(first + visible))
            .filter_map(|i| Strip::of(app, row_strip(app, i), STRIP_WIDTH - 1))
            .collect()
    };
    // info rows (trim, sends): as many as the busiest strip needs (all strips, so the meters keep their height
    // while scrolling), leaving the meter MIN_METER_ROWS
    let max_info = body
        .height
        .saturating_sub(strip::FIXED_ROWS + MIN_METER_ROWS)
        .max(1) as usize;
    let f = &app.session.file;
    let info_rows = f
        .tracks
        .iter()
        .map(|t| usize::from(t.trim_db != 0.0) + t.sends.len())
        .chain(
            f.buses
                .iter()
                .map(|b| usize::from(b.trim_db != 0.0) + b.sends.len()),
        )
        .max()
        .unwrap_or(0)
        .clamp(1, max_info) as u16;
    for (k, s) in shown.iter().enumerate() {
        let r = Rect::new(
            body.x + k as u16 * STRIP_WIDTH,
            body.y,
            STRIP_WIDTH,
            body.height,
        );
        s.render(r, info_rows, buf);
        // a double line between the last track and the first bus
        if first + k + 1 == app.track_count() && app.bus_count() > 0 && !app.ascii {
            for y in r.y..r.bottom() {
                put(buf, r.right() - 1, y, 1, "║", st(app, Color::DarkGray));
            }
        }
    }
    if visible > 0 {
        if first > 0 {
            // the arrow goes before the first strip's name (which keeps its highlight)
            if let Some(s) = shown.first() {
                s.render_name(
                    Rect::new(body.x, body.y, STRIP_WIDTH, body.height),
                    Some(if app.ascii { "<" } else { "◀" }),
                    buf,
                );
            }
        }
        if first + visible < n {
            put(
                buf,
                body.x + visible as u16 * STRIP_WIDTH - 1,
                body.y,
                1,
                if app.ascii { ">" } else { "▶" },
                Style::default(),
            );
        }
    }
    if app.inspector {
        inspector(
            app,
            Rect::new(body.x + strips_w, body.y, insp_w, body.height),
            buf,
        );
    }
    master_strip(
        app,
        Rect::new(
            body.right() - MASTER_WIDTH,
            body.y,
            MASTER_WIDTH,
            body.height,
        ),
        info_rows,
        buf,
    );
}

fn master_strip(app: &App, r: Rect, info_rows: u16, buf: &mut Buffer) {
    let selected = app.master_selected();
    let name_style = if selected {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    } else {
        Style::default().add_modifier(Modifier::BOLD)
    };
    let x = r.x + 1;
    let w = r.width - 1;
    let g = if app.ascii { "|" } else { "│" };
    for y in r.y..r.bottom() {
        put(buf, r.x, y, 1, g, st(app, Color::DarkGray));
    }
    put(
        buf,
        x,
        r.y,
        w,
        &format!("{:<w$}", "MASTER", w = w as usize),
        name_style,
    );
    let meter_h = r.height.saturating_sub(strip::FIXED_ROWS + info_rows);
    let l = &app.master_levels;
    strip::clip_row(l, app.ascii, !app.no_color, x, r.y + 1, buf);
    let ld = &app.loudness;
    let lufs = [ld.momentary_lufs, ld.short_term_lufs];
    let (level_db, hold_db) = strip::meter_values(l, app.meter_mode, Some(lufs));
    strip::meter_pair(
        level_db,
        hold_db,
        app.ascii,
        !app.no_color,
        x,
        r.y + 2,
        meter_h,
        buf,
    );
    let fx = x + 10;
    let fw = w.saturating_sub(10);
    let rows = [
        "LUFS".to_string(),
        format!("M {:>6}", fmt_db(ld.momentary_lufs)),
        format!("S {:>6}", fmt_db(ld.short_term_lufs)),
        format!("I {:>6}", fmt_db(ld.integrated_lufs)),
        format!("LRA{:>5.1}", ld.range_lu),
        format!("TP {:>5}", fmt_db(ld.true_peak_db)),
        if ld.correlation.is_finite() {
            format!("cor{:>5.2}", ld.correlation)
        } else {
            "cor    -".to_string()
        },
        format!("clip{:>4}", ld.clips),
    ];
    for (k, s) in rows.iter().enumerate() {
        if (k as u16) < r.height {
            put(buf, fx, r.y + 1 + k as u16, fw, s, Style::default());
        }
    }
    let y0 = r.y + 2 + meter_h;
    let pk = l.hold_db[0].max(l.hold_db[1]);
    put(
        buf,
        x,
        y0,
        w,
        &format!("pk{:>6}", fmt_db(pk)),
        Style::default(),
    );
    put(
        buf,
        x,
        y0 + 1,
        w,
        &format!("{:>6.1}dB", app.session.file.master.gain_db),
        Style::default(),
    );
    // compressor + limiter
    put(
        buf,
        x,
        y0 + 4,
        w,
        &format!("GR {:>4.1}", l.gain_reduction_db),
        Style::default(),
    );
    put(
        buf,
        x,
        y0 + 5,
        w,
        if app.ascii { "-> output" } else { "→ output" },
        st(app, Color::DarkGray),
    );
}

fn inspector(app: &App, r: Rect, buf: &mut Buffer) {
    inspector::render(app, r, buf);
}

/// The help lines: one per action with its keys from the live keymap, grouped.
pub fn help_lines(app: &App) -> Vec<String> {
    let mut lines = Vec::new();
    for group in Group::ALL {
        lines.push(format!("{}:", group.title()));
        for a in Action::iter().filter(|a| a.group() == group) {
            let keys = app.keymap.bindings_for(a).join(" ");
            let keys = if keys.is_empty() {
                "(unbound)".into()
            } else {
                keys
            };
            lines.push(format!("  {keys:<16} {}", a.description()));
        }
    }
    lines
}

fn help(app: &App, body: Rect, scroll: u16, buf: &mut Buffer) {
    put(
        buf,
        body.x,
        body.y,
        body.width,
        "HELP: keys from the live keymap (up/down scroll, ? or Esc close)",
        Style::default().add_modifier(Modifier::BOLD),
    );
    let lines = help_lines(app);
    let rows = (body.height - 1) as usize;
    let col_w = 70u16;
    let cols = (body.width / col_w).max(1) as usize;
    let per_page = rows * cols;
    let start = (scroll as usize).min(lines.len().saturating_sub(per_page.min(lines.len())));
    for (k, line) in lines.iter().skip(start).take(per_page).enumerate() {
        let c = (k / rows) as u16;
        let y = body.y + 1 + (k % rows) as u16;
        let x = body.x + c * col_w;
        let w = if cols == 1 { body.width } else { col_w - 1 };
        let style = if line.ends_with(':') {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        put(buf, x, y, w, line, style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_and_bars_beats() {
        assert_eq!(fmt_time(0, 48_000), "00:00.0");
        // 59.96 s must not read 00:60.0
        assert_eq!(fmt_time(2_878_080, 48_000), "00:59.9");
        assert_eq!(fmt_time(48_000 * 61 + 24_000, 48_000), "01:01.5");
        // 120 BPM in 4/4: a beat is 0.5 s, a bar 2 s
        assert_eq!(fmt_bars(0, 48_000, 120.0), "1|1");
        assert_eq!(fmt_bars(23_999, 48_000, 120.0), "1|1");
        assert_eq!(fmt_bars(24_000, 48_000, 120.0), "1|2");
        assert_eq!(fmt_bars(96_000, 48_000, 120.0), "2|1");
        assert_eq!(fmt_bars(44_100 * 7, 44_100, 90.0), "3|3"); // 10.5 beats
    }
}
