//! Curve widgets for the inspector: the EQ magnitude response (filters and all EQ bands, from the DSP's own
//! filter design, on a log-frequency axis 20 Hz–20 kHz and a dB axis) and the compressor's static transfer
//! curve (input dB → output dB with the knee) with the live gain reduction. Braille [`Canvas`] drawing, or
//! plain ASCII for `--ascii`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::widgets::canvas::{Canvas, Points};
use ratatui::widgets::Widget;

use crate::dsp::compressor::gain_reduction_curve_db;
use crate::dsp::eq::BAND_KINDS;
use crate::dsp::filter::{BUTTERWORTH4_Q, BUTTERWORTH_Q};
use crate::dsp::svf::{SvfCoefs, SvfKind};
use crate::engine::{CompState, StripState};

/// Lowest frequency on the axis.
pub const F_MIN_HZ: f64 = 20.0;
/// Highest frequency on the axis.
pub const F_MAX_HZ: f64 = 20_000.0;
/// The EQ plot spans ±this many dB.
pub const EQ_RANGE_DB: f64 = 18.0;
/// The transfer curve spans this many dB below 0 dBFS on both axes.
pub const COMP_RANGE_DB: f64 = 60.0;

/// The magnitude response in dB of a strip's filters and EQ at `freq_hz` (switched-off parts are flat), from
/// the same SVF sections the DSP runs.
pub fn eq_response_db(st: &StripState, sample_rate_hz: f64, freq_hz: f64) -> f64 {
    let fs = sample_rate_hz;
    let mut db = 0.0;
    for (pass, kind) in [(&st.hpf, SvfKind::HighPass), (&st.lpf, SvfKind::LowPass)] {
        if !pass.enabled {
            continue;
        }
        let f0 = (pass.freq_hz as f64).clamp(10.0, 0.49 * fs);
        if pass.slope_24 {
            for q in BUTTERWORTH4_Q {
                db += SvfCoefs::new(kind, fs, f0, q, 0.0).magnitude_db(fs, freq_hz);
            }
        } else {
            db += SvfCoefs::new(kind, fs, f0, BUTTERWORTH_Q, 0.0).magnitude_db(fs, freq_hz);
        }
    }
    if st.eq.enabled {
        for (b, band) in st.eq.bands.iter().enumerate() {
            if band.enabled && band.gain_db != 0.0 {
                db += SvfCoefs::new(
                    BAND_KINDS[b],
                    fs,
                    band.freq_hz as f64,
                    band.q as f64,
                    band.gain_db as f64,
                )
                .magnitude_db(fs, freq_hz);
            }
        }
    }
    db
}

/// The compressor's static output level in dB for input level `in_db` (gain computer and makeup).
pub fn transfer_db(c: &CompState, in_db: f64) -> f64 {
    let gr = gain_reduction_curve_db(
        in_db as f32,
        c.threshold_db,
        1.0 / c.ratio.max(1.0),
        c.knee_db,
    ) as f64;
    in_db - gr + c.makeup_db as f64
}

/// Frequency at fraction `t` (0..1) of the log axis.
pub fn axis_freq_hz(t: f64) -> f64 {
    F_MIN_HZ * (F_MAX_HZ / F_MIN_HZ).powf(t)
}

/// The EQ response plot. The plot itself fills [`EqCurve::plot_area`]: a dB scale is drawn on the left
/// (3 columns) and frequency labels on the bottom row.
pub struct EqCurve<'a> {
    /// The strip.
    pub state: &'a StripState,
    /// Sample rate the DSP runs at.
    pub sample_rate_hz: u32,
    /// Plain ASCII.
    pub ascii: bool,
    /// Use colours.
    pub color: bool,
    /// Mark this frequency (the selected band's or filter's) with a dim vertical line behind the curve.
    pub marker_hz: Option<f64>,
}

impl EqCurve<'_> {
    /// The plot column of `freq_hz` (cells, from the plot's left edge).
    pub fn column_of(plot: Rect, freq_hz: f64) -> u16 {
        let t = (freq_hz / F_MIN_HZ).ln() / (F_MAX_HZ / F_MIN_HZ).ln();
        let dx = (t.clamp(0.0, 1.0) * (plot.width as f64 * 2.0 - 1.0)).round() as u16;
        dx / 2
    }

    /// Where the curve itself goes inside `area`.
    pub fn plot_area(area: Rect) -> Rect {
        Rect::new(
            area.x + 3,
            area.y,
            area.width.saturating_sub(3),
            area.height.saturating_sub(1),
        )
    }

    /// Draw into `buf`.
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        let plot = Self::plot_area(area);
        if plot.width < 4 || plot.height < 3 {
            return;
        }
        let dim = style(self.color, Color::DarkGray);
        let row_of = |db: f64| {
            let t = (EQ_RANGE_DB - db) / (2.0 * EQ_RANGE_DB);
            plot.y + (t * (plot.height - 1) as f64).round() as u16
        };
        for (db, label) in [(12.0, "+12"), (0.0, "  0"), (-12.0, "-12")] {
            buf.set_stringn(area.x, row_of(db), label, 3, dim);
        }
        let mut freq_row = String::new();
        for (f, label) in [
            (20.0, "20"),
            (100.0, "100"),
            (1000.0, "1k"),
            (10_000.0, "10k"),
        ] {
            let t = (f / F_MIN_HZ).ln() / (F_MAX_HZ / F_MIN_HZ).ln();
            let col = (t * (plot.width - 1) as f64).round() as usize;
            while freq_row.chars().count() < col {
                freq_row.push(' ');
            }
            if freq_row.chars().count() == col {
                freq_row.push_str(label);
            }
        }
        buf.set_stringn(plot.x, plot.bottom(), &freq_row, plot.width as usize, dim);
        if let Some(f) = self.marker_hz {
            let x = plot.x + Self::column_of(plot, f);
            let bar = if self.ascii { ":" } else { "┊" };
            for y in plot.y..plot.bottom() {
                buf.set_stringn(x, y, bar, 1, dim);
            }
        }
        let fs = self.sample_rate_hz as f64;
        let curve = style(self.color, Color::Cyan);
        if self.ascii {
            // a 0 dB line, then one '*' per column at the response's row
            let zero = row_of(0.0);
            for x in plot.x..plot.right() {
                buf.set_stringn(x, zero, "-", 1, dim);
            }
            for c in 0..plot.width {
                let t = c as f64 / (plot.width - 1) as f64;
                let db = eq_response_db(self.state, fs, axis_freq_hz(t));
                let db = db.clamp(-EQ_RANGE_DB, EQ_RANGE_DB);
                buf.set_stringn(plot.x + c, row_of(db), "*", 1, curve);
            }
            return;
        }
        let dots = plot.width as usize * 2;
        let pts: Vec<(f64, f64)> = (0..dots)
            .map(|i| {
                let t = i as f64 / (dots - 1) as f64;
                let db = eq_response_db(self.state, fs, axis_freq_hz(t));
                (t, db.clamp(-EQ_RANGE_DB, EQ_RANGE_DB))
            })
            .collect();
        let zero: Vec<(f64, f64)> = (0..dots)
            .step_by(2)
            .map(|i| (i as f64 / (dots - 1) as f64, 0.0))
            .collect();
        let color = if self.color {
            Color::Cyan
        } else {
            Color::Reset
        };
        let grid = if self.color {
            Color::DarkGray
        } else {
            Color::Reset
        };
        Canvas::default()
            .marker(Marker::Braille)
            .x_bounds([0.0, 1.0])
            .y_bounds([-EQ_RANGE_DB, EQ_RANGE_DB])
            .paint(|ctx| {
                ctx.draw(&Points {
                    coords: &zero,
                    color: grid,
                });
                ctx.layer();
                ctx.draw(&Points {
                    coords: &pts,
                    color,
                });
            })
            .render(plot, buf);
    }
}

/// The compressor's static transfer curve (input −60…0 dB across, output −60…0 dB up, 1:1 dotted), with
/// the threshold marked and the live gain reduction as a bar in the last column.
pub struct TransferCurve<'a> {
    /// Compressor settings.
    pub comp: &'a CompState,
    /// Live gain reduction in dB (positive), from the meters.
    pub gain_reduction_db: f32,
    /// Plain ASCII.
    pub ascii: bool,
    /// Use colours.
    pub color: bool,
}

impl TransferCurve<'_> {
    /// Where the curve itself goes inside `area` (3 label columns left; the GR bar and a gap right; the
    /// bottom row for labels).
    pub fn plot_area(area: Rect) -> Rect {
        Rect::new(
            area.x + 3,
            area.y,
            area.width.saturating_sub(5),
            area.height.saturating_sub(1),
        )
    }

    /// The row of the live gain-reduction bar's lowest cell (GR of `COMP_RANGE_DB / 2` fills the column).
    pub fn gr_cells(&self, plot_height: u16) -> u16 {
        let full = COMP_RANGE_DB / 2.0;
        let t = (self.gain_reduction_db.max(0.0) as f64 / full).min(1.0);
        (t * plot_height as f64).round() as u16
    }

    /// Draw into `buf`.
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        let plot = Self::plot_area(area);
        if plot.width < 4 || plot.height < 3 {
            return;
        }
        let dim = style(self.color, Color::DarkGray);
        let row_of = |db: f64| {
            let t = -db / COMP_RANGE_DB;
            plot.y + (t.clamp(0.0, 1.0) * (plot.height - 1) as f64).round() as u16
        };
        for (db, label) in [(0.0, "  0"), (-30.0, "-30"), (-60.0, "-60")] {
            buf.set_stringn(area.x, row_of(db), label, 3, dim);
        }
        let c = self.comp;
        let bottom = format!("in dB  T{:.0} {:.1}:1", c.threshold_db, c.ratio);
        buf.set_stringn(plot.x, plot.bottom(), &bottom, plot.width as usize, dim);
        // live gain reduction: a bar from the top of the column right of the plot
        let gr_x = plot.right() + 1;
        let cells = self.gr_cells(plot.height);
        let gr_style = style(self.color, Color::Yellow);
        for k in 0..plot.height {
            let sym = if k < cells {
                if self.ascii {
                    "#"
                } else {
                    "█"
                }
            } else if self.ascii {
                "."
            } else {
                "·"
            };
            buf.set_stringn(
                gr_x,
                plot.y + k,
                sym,
                1,
                if k < cells { gr_style } else { dim },
            );
        }
        let curve_style = style(self.color, Color::Cyan);
        if self.ascii {
            for col in 0..plot.width {
                let x = -COMP_RANGE_DB + COMP_RANGE_DB * col as f64 / (plot.width - 1) as f64;
                buf.set_stringn(plot.x + col, row_of(x), ".", 1, dim);
            }
            for col in 0..plot.width {
                let x = -COMP_RANGE_DB + COMP_RANGE_DB * col as f64 / (plot.width - 1) as f64;
                let y = transfer_db(c, x);
                if (-COMP_RANGE_DB..=0.0).contains(&y) {
                    buf.set_stringn(plot.x + col, row_of(y), "*", 1, curve_style);
                }
            }
            return;
        }
        let dots = plot.width as usize * 2;
        let xs = |i: usize| -COMP_RANGE_DB + COMP_RANGE_DB * i as f64 / (dots - 1) as f64;
        let unity: Vec<(f64, f64)> = (0..dots).step_by(3).map(|i| (xs(i), xs(i))).collect();
        let thr = c.threshold_db as f64;
        let thr_line: Vec<(f64, f64)> = (0..plot.height as usize * 4)
            .step_by(3)
            .map(|k| {
                (
                    thr,
                    -COMP_RANGE_DB * k as f64 / (plot.height as f64 * 4.0 - 1.0),
                )
            })
            .collect();
        let pts: Vec<(f64, f64)> = (0..dots)
            .map(|i| (xs(i), transfer_db(c, xs(i))))
            .filter(|&(_, y)| (-COMP_RANGE_DB..=0.0).contains(&y))
            .collect();
        let (grid, color) = if self.color {
            (Color::DarkGray, Color::Cyan)
        } else {
            (Color::Reset, Color::Reset)
        };
        Canvas::default()
            .marker(Marker::Braille)
            .x_bounds([-COMP_RANGE_DB, 0.0])
            .y_bounds([-COMP_RANGE_DB, 0.0])
            .paint(|ctx| {
                ctx.draw(&Points {
                    coords: &unity,
                    color: grid,
                });
                ctx.draw(&Points {
                    coords: &thr_line,
                    color: grid,
                });
                ctx.layer();
                ctx.draw(&Points {
                    coords: &pts,
                    color,
                });
            })
            .render(plot, buf);
    }
}

fn style(color: bool, c: Color) -> Style {
    if color {
        Style::default().fg(c)
    } else {
        Style::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bell_peaks_at_its_gain_and_shelves_reach_theirs() {
        let mut st = StripState::default();
        st.eq.enabled = true;
        st.eq.bands[1].enabled = true;
        st.eq.bands[1].freq_hz = 1000.0;
        st.eq.bands[1].gain_db = 12.0;
        // pre-warped at f0: exactly the set gain at the centre (RBJ cookbook)
        assert!((eq_response_db(&st, 48_000.0, 1000.0) - 12.0).abs() < 1e-9);
        assert!(eq_response_db(&st, 48_000.0, 20.0).abs() < 0.05);
        // an analog-prototype bell at one octave: |H|² = (1 + (A·u/q)²... ) computed independently
        let a = 10f64.powf(12.0 / 40.0);
        let w0 = (std::f64::consts::PI * 1000.0 / 48_000.0).tan();
        let w = (std::f64::consts::PI * 2000.0 / 48_000.0).tan() / w0;
        let num = (1.0 - w * w).powi(2) + (a * w).powi(2);
        let den = (1.0 - w * w).powi(2) + (w / a).powi(2);
        let expect = 10.0 * (num / den).log10();
        assert!((eq_response_db(&st, 48_000.0, 2000.0) - expect).abs() < 1e-9);
        let mut hp = StripState::default();
        hp.hpf.enabled = true;
        hp.hpf.freq_hz = 100.0;
        // Butterworth: −3.01 dB at the corner, both slopes
        for s24 in [false, true] {
            hp.hpf.slope_24 = s24;
            assert!((eq_response_db(&hp, 48_000.0, 100.0) + 3.0103).abs() < 0.01);
        }
    }

    #[test]
    fn transfer_curve_follows_the_gain_computer() {
        let c = CompState {
            threshold_db: -20.0,
            ratio: 4.0,
            knee_db: 0.0,
            makeup_db: 0.0,
            ..CompState::default()
        };
        assert_eq!(transfer_db(&c, -40.0), -40.0);
        assert!((transfer_db(&c, 0.0) + 15.0).abs() < 1e-6);
    }

    /// Cells of `buf` inside `r` holding any curve glyph (braille with dots, or '*').
    fn dots(buf: &Buffer, r: Rect) -> Vec<(u16, u16)> {
        let mut v = Vec::new();
        for y in r.y..r.bottom() {
            for x in r.x..r.right() {
                let s = buf[(x, y)].symbol();
                let c = s.chars().next().unwrap_or(' ');
                let braille = ('\u{2801}'..='\u{28FF}').contains(&c);
                if braille || s == "*" {
                    v.push((x, y));
                }
            }
        }
        v
    }

    /// Expected cell of a point, from the axis definitions alone (independent of the widget's mapping): the
    /// braille grid is 2×4 dots per cell.
    fn cell(plot: Rect, tx: f64, ty: f64) -> (u16, u16) {
        let dx = (tx * (plot.width as f64 * 2.0 - 1.0)).round() as u16;
        let dy = (ty * (plot.height as f64 * 4.0 - 1.0)).round() as u16;
        (plot.x + dx / 2, plot.y + dy / 4)
    }

    fn bell(gain_db: f32) -> StripState {
        let mut st = StripState::default();
        st.eq.enabled = true;
        st.eq.bands[1].enabled = true;
        st.eq.bands[1].freq_hz = 1000.0;
        st.eq.bands[1].gain_db = gain_db;
        st
    }

    fn draw_eq(st: &StripState, ascii: bool, area: Rect) -> Buffer {
        let mut buf = Buffer::empty(area);
        EqCurve {
            state: st,
            sample_rate_hz: 48_000,
            ascii,
            color: false,
            marker_hz: None,
        }
        .render(area, &mut buf);
        buf
    }

    #[test]
    fn marker_sits_in_the_column_of_its_frequency() {
        let area = Rect::new(0, 0, 40, 13);
        let plot = EqCurve::plot_area(area);
        for ascii in [false, true] {
            let mut buf = Buffer::empty(area);
            EqCurve {
                state: &StripState::default(),
                sample_rate_hz: 48_000,
                ascii,
                color: false,
                marker_hz: Some(1000.0),
            }
            .render(area, &mut buf);
            let bar = if ascii { ":" } else { "┊" };
            let t_1k = (1000.0f64 / F_MIN_HZ).ln() / (F_MAX_HZ / F_MIN_HZ).ln();
            let (col, _) = cell(plot, t_1k, 0.0);
            let cols: Vec<u16> = (plot.x..plot.right())
                .filter(|&x| buf[(x, plot.y)].symbol() == bar)
                .collect();
            assert_eq!(cols, vec![col], "ascii {ascii}");
        }
    }

    #[test]
    fn eq_bell_peaks_in_the_1khz_column_at_the_12db_row() {
        let area = Rect::new(0, 0, 40, 13);
        let plot = EqCurve::plot_area(area);
        let buf = draw_eq(&bell(12.0), false, area);
        let d = dots(&buf, plot);
        let top = d.iter().map(|p| p.1).min().unwrap();
        let top_cols: Vec<u16> = d.iter().filter(|p| p.1 == top).map(|p| p.0).collect();
        let t_1k = (1000.0f64 / F_MIN_HZ).ln() / (F_MAX_HZ / F_MIN_HZ).ln();
        let (col, row) = cell(plot, t_1k, (EQ_RANGE_DB - 12.0) / (2.0 * EQ_RANGE_DB));
        assert_eq!(top, row, "highest dots on the +12 dB row");
        assert!(
            top_cols.contains(&col),
            "{top_cols:?} vs 1 kHz column {col}"
        );
        assert!(
            top_cols.iter().all(|&c| c.abs_diff(col) <= 1),
            "{top_cols:?}"
        );
        // far from the bell the curve is back at 0 dB
        let (_, zero_row) = cell(plot, 0.0, 0.5);
        assert!(d.contains(&(plot.x, zero_row)), "20 Hz at 0 dB");
        // a cut mirrors it: lowest dots at −12 dB
        let buf = draw_eq(&bell(-12.0), false, area);
        let d = dots(&buf, plot);
        let bottom = d.iter().map(|p| p.1).max().unwrap();
        assert_eq!(
            bottom,
            cell(plot, t_1k, (EQ_RANGE_DB + 12.0) / (2.0 * EQ_RANGE_DB)).1
        );
    }

    #[test]
    fn flat_eq_draws_a_flat_line_at_0db() {
        let area = Rect::new(0, 0, 40, 13);
        let plot = EqCurve::plot_area(area);
        for ascii in [false, true] {
            // bands on at 0 dB gain, EQ on: flat
            let mut st = bell(0.0);
            st.eq.bands[0].enabled = true;
            let buf = draw_eq(&st, ascii, area);
            let d = dots(&buf, plot);
            let (_, zero_row) = cell(plot, 0.5, 0.5);
            assert!(!d.is_empty());
            assert!(d.iter().all(|p| p.1 == zero_row), "ascii {ascii}: {d:?}");
            // every column has the curve
            for x in plot.x..plot.right() {
                assert!(d.contains(&(x, zero_row)), "ascii {ascii}: column {x}");
            }
        }
        // the ASCII fallback is ASCII only, and a bell shows there too
        let buf = draw_eq(&bell(12.0), true, area);
        assert!(buf.content().iter().all(|c| c.symbol().is_ascii()));
        let d = dots(&buf, plot);
        let top = d.iter().map(|p| p.1).min().unwrap();
        assert_eq!(
            top,
            cell(plot, 0.0, (EQ_RANGE_DB - 12.0) / (2.0 * EQ_RANGE_DB)).1
        );
    }

    #[test]
    fn high_pass_falls_to_the_bottom_at_low_frequencies() {
        let area = Rect::new(0, 0, 40, 13);
        let plot = EqCurve::plot_area(area);
        let mut st = StripState::default();
        st.hpf.enabled = true;
        st.hpf.freq_hz = 500.0;
        st.hpf.slope_24 = true;
        let d = dots(&draw_eq(&st, false, area), plot);
        let first_col: Vec<u16> = d.iter().filter(|p| p.0 == plot.x).map(|p| p.1).collect();
        // the curve at the bottom (the other cell is the dotted 0 dB grid line)
        let (_, zero_row) = cell(plot, 0.0, 0.5);
        assert_eq!(
            first_col,
            vec![zero_row, plot.bottom() - 1],
            "20 Hz clamped at the bottom"
        );
        assert!(d.contains(&(plot.right() - 1, zero_row)));
    }

    #[test]
    fn transfer_curve_bends_at_the_threshold_and_shows_gain_reduction() {
        let c = CompState {
            enabled: true,
            threshold_db: -30.0,
            ratio: 4.0,
            knee_db: 0.0,
            makeup_db: 0.0,
            ..CompState::default()
        };
        let area = Rect::new(0, 0, 35, 16);
        let plot = TransferCurve::plot_area(area);
        for ascii in [false, true] {
            let mut buf = Buffer::empty(area);
            TransferCurve {
                comp: &c,
                gain_reduction_db: 15.0,
                ascii,
                color: false,
            }
            .render(area, &mut buf);
            // the curve layer: at 0 dB in, −30 + 30/4 = −22.5 dB out
            let mut curve = Vec::new();
            for y in plot.y..plot.bottom() {
                let x = plot.right() - 1;
                let s = buf[(x, y)].symbol();
                if s == "*"
                    || s.chars()
                        .next()
                        .is_some_and(|c| ('\u{2801}'..='\u{28FF}').contains(&c))
                {
                    curve.push(y);
                }
            }
            let (_, row) = cell(plot, 1.0, 22.5 / COMP_RANGE_DB);
            // ASCII rounds per cell row; braille per dot
            let row_ascii =
                plot.y + ((22.5 / COMP_RANGE_DB) * (plot.height - 1) as f64).round() as u16;
            let want = if ascii { row_ascii } else { row };
            assert!(curve.contains(&want), "ascii {ascii}: {curve:?} vs {want}");
            // below the threshold it is the 1:1 line: −45 dB in at −45 dB out
            let tx = 15.0 / COMP_RANGE_DB;
            let (cx, cy) = cell(plot, tx, 45.0 / COMP_RANGE_DB);
            if !ascii {
                let s = buf[(cx, cy)].symbol();
                assert_ne!(s, " ", "1:1 below the threshold");
            }
            // 15 dB of gain reduction fills half the bar (30 dB full scale)
            let bar_x = plot.right() + 1;
            let full = if ascii { "#" } else { "█" };
            let filled = (plot.y..plot.bottom())
                .filter(|&y| buf[(bar_x, y)].symbol() == full)
                .count() as u16;
            assert_eq!(filled, (plot.height as f64 / 2.0).round() as u16);
            let _ = cx;
        }
    }
}
