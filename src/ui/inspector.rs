//! The inspector panel: every parameter of the selected strip (track, group/effect bus or master) in
//! sections, scrolled to keep the selected one in view, beside the EQ response and the compressor's transfer
//! curve with its live gain reduction.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use super::curve::{EqCurve, TransferCurve};
use crate::app::params::{self, Param, Row, StripRef};
use crate::app::App;
use crate::session::BusKindName;

/// Width of the parameter list.
pub const LIST_WIDTH: u16 = 28;

fn put(buf: &mut Buffer, x: u16, y: u16, width: u16, text: &str, style: Style) {
    if width > 0 {
        buf.set_stringn(x, y, text, width as usize, style);
    }
}

/// Title of the strip: its name and what it is.
pub fn strip_title(app: &App) -> String {
    let f = &app.session.file;
    match app.selected_strip() {
        StripRef::Track(i) => format!("{} (track {})", f.tracks[i].display_name(), i + 1),
        StripRef::Bus(i) => {
            let kind = match f.buses[i].kind {
                BusKindName::Group => "group bus",
                BusKindName::Reverb => "reverb bus",
                BusKindName::Delay => "delay bus",
            };
            format!("{} ({kind})", f.buses[i].name)
        }
        StripRef::Master => "MASTER".into(),
    }
}

/// The text lines of the parameter list (section titles and `name value` rows) and the line of the
/// selected parameter.
pub fn list_lines(app: &App) -> (Vec<(String, bool)>, usize) {
    let strip = app.selected_strip();
    let rows = params::rows(&app.session.file, strip);
    let view = params::view(&app.session.file, strip);
    let selected = app.selected_param();
    let mut sel_line = 0;
    let mut lines = Vec::with_capacity(rows.len());
    let dash = if app.ascii { "-" } else { "─" };
    for row in &rows {
        match row {
            Row::Section(s) => lines.push((format!("{dash}{dash} {s} "), true)),
            Row::Param(p) => {
                if *p == selected {
                    sel_line = lines.len();
                }
                let name = p.spec().name;
                let w = LIST_WIDTH as usize - 2 - 11;
                lines.push((format!(" {name:<11}{:>w$}", p.format(&view)), false));
            }
        }
    }
    (lines, sel_line)
}

/// The frequency the selected parameter is about (a filter's or an EQ band's), marked on the EQ plot.
fn marker_hz(p: Param, st: &crate::engine::StripState) -> Option<f64> {
    match p {
        Param::HpfOn | Param::HpfFreq | Param::HpfSlope => Some(st.hpf.freq_hz as f64),
        Param::LpfOn | Param::LpfFreq | Param::LpfSlope => Some(st.lpf.freq_hz as f64),
        Param::BandOn(b) | Param::BandFreq(b) | Param::BandGain(b) | Param::BandQ(b) => {
            Some(st.eq.bands[b as usize & 3].freq_hz as f64)
        }
        _ => None,
    }
}

/// Draw the inspector into `r`.
pub fn render(app: &App, r: Rect, buf: &mut Buffer) {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let g = if app.ascii { "|" } else { "│" };
    let dim = if app.no_color {
        Style::default()
    } else {
        Style::default().fg(Color::DarkGray)
    };
    for y in r.y..r.bottom() {
        put(buf, r.x, y, 1, g, dim);
    }
    let x = r.x + 1;
    let w = r.width.saturating_sub(1);
    put(
        buf,
        x,
        r.y,
        w,
        &format!("INSPECTOR {}", strip_title(app)),
        bold,
    );
    let list_h = r.height.saturating_sub(1) as usize;
    let (lines, sel) = list_lines(app);
    let first = if lines.len() <= list_h {
        0
    } else {
        sel.saturating_sub(list_h / 2).min(lines.len() - list_h)
    };
    let lw = LIST_WIDTH.min(w);
    for (k, (text, section)) in lines.iter().skip(first).take(list_h).enumerate() {
        let y = r.y + 1 + k as u16;
        let style = if first + k == sel {
            Style::default().add_modifier(Modifier::REVERSED)
        } else if *section {
            bold
        } else {
            Style::default()
        };
        put(buf, x, y, lw, &format!("{text:<0$}", lw as usize), style);
    }
    if first > 0 {
        put(
            buf,
            x + lw - 1,
            r.y + 1,
            1,
            if app.ascii { "^" } else { "▲" },
            dim,
        );
    }
    if first + list_h < lines.len() {
        put(
            buf,
            x + lw - 1,
            r.bottom() - 1,
            1,
            if app.ascii { "v" } else { "▼" },
            dim,
        );
    }
    // curves to the right of the list
    let gx = x + lw + 1;
    let gw = r.right().saturating_sub(gx);
    if gw < 12 || r.height < 8 {
        return;
    }
    let view = params::view(&app.session.file, app.selected_strip());
    let gh = r.height - 1;
    let eq_h = gh / 2;
    put(buf, gx, r.y + 1, gw, "EQ + filters", bold);
    EqCurve {
        state: &view.st,
        sample_rate_hz: app.rate_hz,
        ascii: app.ascii,
        color: !app.no_color,
        marker_hz: marker_hz(app.selected_param(), &view.st),
    }
    .render(Rect::new(gx, r.y + 2, gw, eq_h - 1), buf);
    let gr = app.strip_levels(app.selected_strip()).gain_reduction_db;
    let cy = r.y + 1 + eq_h;
    let state = if view.st.compressor.enabled {
        "on"
    } else {
        "off"
    };
    put(
        buf,
        gx,
        cy,
        gw,
        &format!("Comp {state}  GR {gr:.1} dB"),
        bold,
    );
    TransferCurve {
        comp: &view.st.compressor,
        gain_reduction_db: gr,
        ascii: app.ascii,
        color: !app.no_color,
    }
    .render(
        Rect::new(gx, cy + 1, gw, r.bottom().saturating_sub(cy + 1)),
        buf,
    );
}
