//! Drawing: the mixer, master, transport bar, status line, inspector and help, from [`App`] state only.

pub mod curve;
pub mod inspector;
pub mod meter;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::Frame;

use crate::app::{fmt_db, params::format_pan, App, MeterMode, Overlay, StripLevels, TrackStatus};
use crate::keymap::{Action, Group};
use meter::{scale_labels, Meter};

/// Smallest usable terminal.
pub const MIN_WIDTH: u16 = 80;
/// Smallest usable terminal height.
pub const MIN_HEIGHT: u16 = 24;
/// Width of a track strip including its separator.
pub const STRIP_WIDTH: u16 = 10;
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
    let body = Rect::new(area.x, area.y + 2, area.width, area.height - 3);
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
                *s = s.bg(Color::Indexed(236));
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
    // buses have no strip in the mixer yet: say which one is selected
    if let crate::app::StripRef::Bus(b) = app.selected_strip() {
        if !app.inspector {
            let name = &app.session.file.buses[b].name;
            text = format!("[bus {name}: tab inspects] {text}");
        }
    }
    if app.dirty {
        text = format!("[+] {text}");
    }
    put(buf, r.x, r.y, r.width, &text, Style::default());
}

fn strip_name(app: &App, i: usize) -> String {
    app.session.file.tracks[i].display_name()
}

/// What is under terminal cell (`col`, `row`) of a screen of `area`: a track index, or `track_count()` for
/// the master; None elsewhere (transport bar, status line, inspector, gaps). Mirrors the layout of the
/// mixer view, for the mouse.
pub fn strip_at(app: &App, area: Rect, col: u16, row: u16) -> Option<usize> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT || !matches!(app.overlay, Overlay::None) {
        return None;
    }
    let body = Rect::new(area.x, area.y + 1, area.width, area.height - 2);
    if row < body.y || row >= body.bottom() || col < body.x || col >= body.right() {
        return None;
    }
    if col >= body.right() - MASTER_WIDTH {
        return Some(app.track_count());
    }
    let insp_w = if app.inspector { INSPECTOR_WIDTH } else { 0 };
    let strips_w = body.width.saturating_sub(MASTER_WIDTH + insp_w);
    let visible = (strips_w / STRIP_WIDTH).max(1) as usize;
    let n = app.track_count();
    let sel = app.selected.min(n.saturating_sub(1));
    let first = if n <= visible {
        0
    } else {
        sel.saturating_sub(visible - 1).min(n - visible)
    };
    let k = ((col - body.x) / STRIP_WIDTH) as usize;
    (k < visible && first + k < n).then_some(first + k)
}

fn mixer(app: &App, body: Rect, buf: &mut Buffer) {
    let room = body.width.saturating_sub(MASTER_WIDTH);
    let insp_w = if !app.inspector {
        0
    } else if room >= INSPECTOR_WIDTH + 3 * STRIP_WIDTH {
        // whole strips to the left, the rest to the inspector
        room - (room - INSPECTOR_WIDTH) / STRIP_WIDTH * STRIP_WIDTH
    } else {
        room
    };
    let strips_w = body.width.saturating_sub(MASTER_WIDTH + insp_w);
    // the inspector may take the whole width left of the master
    if strips_w >= STRIP_WIDTH {
        let visible = (strips_w / STRIP_WIDTH).max(1) as usize;
        let n = app.track_count();
        let sel = app.selected.min(n.saturating_sub(1));
        let first = if n <= visible {
            0
        } else {
            sel.saturating_sub(visible - 1).min(n - visible)
        };
        for (k, i) in (first..n.min(first + visible)).enumerate() {
            let r = Rect::new(
                body.x + k as u16 * STRIP_WIDTH,
                body.y,
                STRIP_WIDTH,
                body.height,
            );
            track_strip(app, i, r, buf);
        }
        if first > 0 {
            put(
                buf,
                body.x,
                body.y,
                1,
                if app.ascii { "<" } else { "◀" },
                Style::default(),
            );
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
        buf,
    );
}

/// The two bars of a strip in the current meter mode: peak with hold, RMS, or (master only, `loudness`
/// given) momentary and short-term LUFS on the same scale.
fn meter_pair(
    app: &App,
    l: &StripLevels,
    loudness: Option<[f32; 2]>,
    x: u16,
    y: u16,
    h: u16,
    buf: &mut Buffer,
) {
    for (row, label) in scale_labels(h) {
        put(buf, x, y + row, 3, &label, st(app, Color::DarkGray));
    }
    let (level, hold) = match (app.meter_mode, loudness) {
        (MeterMode::Peak, _) => (l.peak_db, l.hold_db),
        (MeterMode::Loudness, Some(v)) => (v, v),
        _ => (l.rms_db, l.rms_db),
    };
    for ch in 0..2 {
        Meter {
            level_db: level[ch],
            hold_db: hold[ch],
            ascii: app.ascii,
            color: !app.no_color,
        }
        .render(Rect::new(x + 4 + ch as u16 * 3, y, 2, h), buf);
    }
}

fn clip_row(app: &App, l: &StripLevels, x: u16, y: u16, buf: &mut Buffer) {
    if l.clipped {
        let s = if app.no_color {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().fg(Color::White).bg(Color::Red)
        };
        put(buf, x + 4, y, 5, "CLIP!", s);
    } else {
        put(buf, x + 4, y, 5, "     ", Style::default());
    }
}

fn separator(app: &App, r: Rect, buf: &mut Buffer) {
    let g = if app.ascii { "|" } else { "│" };
    for y in r.y..r.bottom() {
        put(buf, r.right() - 1, y, 1, g, st(app, Color::DarkGray));
    }
}

fn track_strip(app: &App, i: usize, r: Rect, buf: &mut Buffer) {
    let w = r.width - 1;
    let t = &app.session.file.tracks[i];
    let selected = app.selected == i;
    let name_style = if selected {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    } else {
        Style::default().add_modifier(Modifier::BOLD)
    };
    let name = format!("{:<w$}", strip_name(app, i), w = w as usize);
    put(buf, r.x, r.y, w, &name, name_style);
    let h = r.height;
    let meter_h = h.saturating_sub(9);
    let l = app.levels.get(i).copied().unwrap_or_default();
    match &app.status[i] {
        TrackStatus::Offline(reason) => {
            put(
                buf,
                r.x,
                r.y + 1,
                w,
                "OFFLINE",
                st(app, Color::Red).add_modifier(Modifier::BOLD),
            );
            // the strip is narrow: the file name instead of the whole path before the reason
            let reason = match app.session.track_path(i) {
                Some(p) => {
                    let full = p.display().to_string();
                    let short = app.session.file.tracks[i].file.display().to_string();
                    reason.replacen(&full, &short, 1)
                }
                None => reason.clone(),
            };
            let chars: Vec<char> = reason.chars().collect();
            for (k, chunk) in chars.chunks(w as usize).take(meter_h as usize).enumerate() {
                let s: String = chunk.iter().collect();
                put(buf, r.x, r.y + 2 + k as u16, w, &s, st(app, Color::Red));
            }
        }
        TrackStatus::Loading => put(buf, r.x, r.y + 2, w, "queued", st(app, Color::DarkGray)),
        TrackStatus::Decoding => put(buf, r.x, r.y + 2, w, "decoding", st(app, Color::Yellow)),
        TrackStatus::Online => {
            clip_row(app, &l, r.x, r.y + 1, buf);
            meter_pair(app, &l, None, r.x, r.y + 2, meter_h, buf);
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
    let fader_style = if selected {
        Style::default().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    put(
        buf,
        r.x,
        y0 + 1,
        w,
        &format!("{:>6.1}dB", t.gain_db),
        fader_style,
    );
    put(
        buf,
        r.x,
        y0 + 2,
        w,
        &format!("pan {:>4}", format_pan(t.pan)),
        Style::default(),
    );
    let on = |b: bool, c: Color| {
        if b {
            if app.no_color {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default().fg(Color::Black).bg(c)
            }
        } else {
            st(app, Color::DarkGray)
        }
    };
    // on: capital and highlighted; off: small and dim (readable without colour)
    let flag = |b: bool, upper: &'static str, lower: &'static str| if b { upper } else { lower };
    put(
        buf,
        r.x,
        y0 + 3,
        1,
        flag(t.mute, "M", "m"),
        on(t.mute, Color::Red),
    );
    put(
        buf,
        r.x + 2,
        y0 + 3,
        1,
        flag(t.solo, "S", "s"),
        on(t.solo, Color::Yellow),
    );
    let (pu, pl) = if app.ascii { ("P", "p") } else { ("Ø", "ø") };
    let pol = flag(t.invert_polarity, pu, pl);
    put(
        buf,
        r.x + 4,
        y0 + 3,
        1,
        pol,
        on(t.invert_polarity, Color::Cyan),
    );
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
        &format!(
            "{} {}",
            if app.ascii { "->" } else { "→" },
            t.output.as_deref().unwrap_or("master")
        ),
        st(app, Color::DarkGray),
    );
    let trim = if t.trim_db != 0.0 {
        format!("trim{:+.1}", t.trim_db)
    } else {
        String::new()
    };
    put(buf, r.x, y0 + 6, w, &trim, Style::default());
    separator(app, r, buf);
}

fn master_strip(app: &App, r: Rect, buf: &mut Buffer) {
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
    let meter_h = r.height.saturating_sub(9);
    let l = &app.master_levels;
    clip_row(app, l, x, r.y + 1, buf);
    let ld = &app.loudness;
    let lufs = [ld.momentary_lufs, ld.short_term_lufs];
    meter_pair(app, l, Some(lufs), x, r.y + 2, meter_h, buf);
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
