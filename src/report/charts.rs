//! The report's five SVG charts, drawn with plotters' SVG backend: throughput, latency over
//! time, the percentile spectrum, the console/terminal population and the findings timeline.
//! The time charts shade the phases; every chart has a title, axis units and a legend (in a
//! panel right of the plot, so it never hides data), and says "no data" instead of failing
//! when there is nothing to draw. Long series are thinned to a min/max envelope at about pixel
//! resolution, so a 1-hour run at 1 s intervals stays small and fast.

use super::ReportError;
use super::chart_series::{Runs, envelope};
use super::chart_style::{
    BAND_FILLS, BAND_TEXT, DISCONNECT_COLOR, DROP_COLOR, GREY, LIGHT, MISSED_COLOR, color, fmt_int,
    fmt_ms, fmt_num, text,
};
use super::model::{MarkKind, ReportData};
use crate::metrics::row::IntervalRow;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// `throughput`, `latency`, `spectrum`, `population`, `findings`.
    pub id: &'static str,
    pub title: String,
    /// A complete `<svg>` document.
    pub svg: String,
}

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 420;
/// The legend panel right of the plot.
const LEGEND_W: u32 = 230;
/// Left axis label area.
const Y_AREA: u32 = 64;
/// Right axis label area of the population chart.
const Y2_AREA: u32 = 64;
/// Height of the marks strip on top of the findings chart (caption included).
const STRIP_H: u32 = 120;
/// Latencies are clamped to this floor (ms) on log axes.
const FLOOR_MS: f64 = 0.01;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;
/// One of a row's counts.
type RowCount = fn(&IntervalRow) -> u64;

/// The five charts, in report order.
pub fn render_all(data: &ReportData) -> Result<Vec<Chart>, ReportError> {
    let span = TimeSpan::of(data);
    Ok(vec![
        render(
            "throughput",
            "Throughput: offered vs completed actions per second",
            |a, l| throughput(a, l, data, span),
        )?,
        render(
            "latency",
            "Latency over time (p50, p99, max per interval)",
            |a, l| latency(a, l, data, span),
        )?,
        render(
            "spectrum",
            "Latency percentile spectrum (whole run)",
            |a, l| spectrum(a, l, data),
        )?,
        render(
            "population",
            "Consoles logged in and terminals registered",
            |a, l| population(a, l, data, span),
        )?,
        render(
            "findings",
            "Findings: talkgroup drops, console disconnects, missed deliveries",
            |a, l| findings(a, l, data, span),
        )?,
    ])
}

/// Draw one chart: `draw` gets the chart area and the legend panel right of it.
fn render(
    id: &'static str,
    title: &str,
    draw: impl FnOnce(&Area<'_>, &Area<'_>) -> DrawResult,
) -> Result<Chart, ReportError> {
    let fail = |e: &dyn std::fmt::Display| ReportError::Render {
        what: format!("chart {id}"),
        message: e.to_string(),
    };
    let mut svg = String::with_capacity(64 * 1024);
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let (chart, legend) = root.split_horizontally(WIDTH - LEGEND_W);
        draw(&chart, &legend).map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(Chart {
        id,
        title: title.to_string(),
        svg,
    })
}

/// The time axis: from 0 to the end of the run (rows, phases or duration, whichever is last).
#[derive(Debug, Clone, Copy)]
struct TimeSpan {
    lo: f64,
    hi: f64,
}

impl TimeSpan {
    fn of(data: &ReportData) -> Self {
        let ends = data
            .rows
            .iter()
            .map(|r| r.t_s + r.dt_s.max(0.0))
            .chain(data.phases.iter().map(|p| p.end_s))
            .chain(data.marks.iter().map(|m| m.t_s))
            .chain(std::iter::once(data.summary.duration_s));
        let hi = ends.filter(|v| v.is_finite()).fold(0.0_f64, f64::max);
        TimeSpan {
            lo: 0.0,
            hi: if hi > 0.0 { hi } else { 1.0 },
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }

    /// Pixel column of `t` in a plot `w` pixels wide.
    fn px(&self, t: f64, w: u32) -> i32 {
        let f = ((t - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        (f * f64::from(w)).round() as i32
    }
}

/// A usable row: finite time and a positive duration.
fn valid(r: &IntervalRow) -> bool {
    r.t_s.is_finite() && r.dt_s.is_finite() && r.dt_s > 0.0
}

fn mid(r: &IntervalRow) -> f64 {
    r.t_s + r.dt_s / 2.0
}

/// `0..max` with headroom, never empty.
fn linear_max(max: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        max * 1.1
    } else {
        1.0
    }
}

/// Decade-aligned log range covering `values` (ms), clamped to the floor.
fn log_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0_f64);
    for v in values.filter(|v| v.is_finite()) {
        let v = v.max(FLOOR_MS);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || hi <= 0.0 {
        return 0.1..1000.0;
    }
    let lo = 10f64.powf(lo.log10().floor()).max(FLOOR_MS);
    let mut hi = 10f64.powf(hi.log10().ceil());
    if hi <= lo {
        hi = lo * 10.0;
    }
    lo..hi
}

/// Shade the phases on the plot (pixel space) and write their names at the top, cut to fit.
fn phase_bands(plot: &Area<'_>, data: &ReportData, span: TimeSpan, labels: bool) -> DrawResult {
    let (w, h) = plot.dim_in_pixel();
    let style = text(11, &BAND_TEXT).pos(Pos::new(HPos::Left, VPos::Top));
    for (i, p) in data.phases.iter().enumerate() {
        if !(p.start_s.is_finite() && p.end_s.is_finite()) || p.end_s <= p.start_s {
            continue;
        }
        let (x0, x1) = (span.px(p.start_s, w), span.px(p.end_s, w));
        if x1 <= x0 {
            continue;
        }
        plot.draw(&Rectangle::new(
            [(x0, 0), (x1, h as i32)],
            BAND_FILLS[i % 2].filled(),
        ))?;
        if !labels {
            continue;
        }
        // About 6 px a character at this size.
        let fits = ((x1 - x0 - 6) / 6).max(0) as usize;
        let name: String = if p.name.chars().count() <= fits {
            p.name.clone()
        } else if fits >= 4 {
            let mut s: String = p.name.chars().take(fits - 1).collect();
            s.push('…');
            s
        } else {
            continue;
        };
        plot.draw(&Text::new(name, (x0 + 4, 3), style.clone()))?;
    }
    Ok(())
}

fn no_data(plot: &Area<'_>) -> DrawResult {
    let (w, h) = plot.dim_in_pixel();
    let style = text(22, &GREY).pos(Pos::new(HPos::Center, VPos::Center));
    plot.draw(&Text::new("no data", (w as i32 / 2, h as i32 / 2), style))?;
    Ok(())
}

/// What a legend entry shows.
#[derive(Clone, Copy)]
enum Swatch {
    Line(ShapeStyle),
    Cross(RGBColor),
    Triangle(RGBColor),
    Dot(RGBColor),
}

/// The legend, drawn in its own panel right of the chart, from `top` (pixels).
fn legend(panel: &Area<'_>, top: i32, entries: &[(String, Swatch)]) -> DrawResult {
    const LINE: i32 = 17;
    const CHARS: usize = 34;
    if entries.is_empty() {
        return Ok(());
    }
    let (w, h) = panel.dim_in_pixel();
    let room = ((h as i32 - top - 8) / LINE).max(1) as usize;
    let (shown, rest) = if entries.len() > room {
        (room - 1, entries.len() - (room - 1))
    } else {
        (entries.len(), 0)
    };
    let bottom = top + 8 + LINE * (shown + usize::from(rest > 0)) as i32;
    panel.draw(&Rectangle::new(
        [(4, top), (w as i32 - 6, bottom)],
        RGBColor(200, 200, 200).stroke_width(1),
    ))?;
    let style = text(12, &BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, swatch)) in entries.iter().take(shown).enumerate() {
        let y = top + 4 + LINE * i as i32 + LINE / 2;
        let x = 12;
        match *swatch {
            Swatch::Line(s) => panel.draw(&PathElement::new(vec![(x, y), (x + 22, y)], s))?,
            Swatch::Cross(c) => panel.draw(&Cross::new((x + 11, y), 4, c.stroke_width(2)))?,
            Swatch::Triangle(c) => panel.draw(&TriangleMarker::new((x + 11, y), 5, c.filled()))?,
            Swatch::Dot(c) => panel.draw(&Circle::new((x + 11, y), 3, c.filled()))?,
        }
        let label: String = if label.chars().count() > CHARS {
            let mut s: String = label.chars().take(CHARS - 1).collect();
            s.push('…');
            s
        } else {
            label.clone()
        };
        panel.draw(&Text::new(label, (x + 30, y), style.clone()))?;
    }
    if rest > 0 {
        let y = top + 4 + LINE * shown as i32 + LINE / 2;
        panel.draw(&Text::new(format!("… and {rest} more"), (42, y), style))?;
    }
    Ok(())
}

/// The plot's top edge in the chart's pixels: where the legend starts.
fn plot_top<CT: CoordTranslate>(chart: &ChartContext<'_, SVGBackend<'_>, CT>) -> i32 {
    chart.plotting_area().get_base_pixel().1
}

fn builder<'a, 'b, 's>(root: &'a Area<'s>) -> ChartBuilder<'a, 'b, SVGBackend<'s>> {
    let mut b = ChartBuilder::on(root);
    b.margin(10)
        .margin_right(14)
        .x_label_area_size(42)
        .y_label_area_size(Y_AREA);
    b
}

fn line(c: RGBColor, width: u32) -> Swatch {
    Swatch::Line(c.stroke_width(width))
}

fn throughput(root: &Area<'_>, panel: &Area<'_>, data: &ReportData, span: TimeSpan) -> DrawResult {
    let rows: Vec<&IntervalRow> = data.rows.iter().filter(|r| valid(r)).collect();
    let rate = |f: RowCount| -> Vec<(f64, f64)> {
        envelope(
            rows.iter()
                .map(|r| (mid(r), f(r) as f64 / r.dt_s))
                .collect(),
        )
    };
    let series = [
        ("offered /s", rate(|r| r.offered), color(0), 2),
        ("completed /s", rate(|r| r.completed), color(2), 2),
        ("errors /s", rate(|r| r.errors), color(3), 1),
    ];
    let max = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let mut chart = builder(root)
        .caption("Throughput (actions/s)", text(20, &BLACK))
        .build_cartesian_2d(span.range(), 0.0..linear_max(max))?;
    phase_bands(&chart.plotting_area().strip_coord_spec(), data, span, true)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("actions/s")
        .x_label_formatter(&fmt_num)
        .y_label_formatter(&fmt_num)
        .light_line_style(LIGHT)
        .draw()?;
    if rows.is_empty() {
        return no_data(&chart.plotting_area().strip_coord_spec());
    }
    let mut entries = Vec::new();
    for (label, points, c, w) in series {
        chart.draw_series(LineSeries::new(points, c.stroke_width(w)))?;
        entries.push((label.to_string(), line(c, w)));
    }
    legend(panel, plot_top(&chart), &entries)
}

fn latency(root: &Area<'_>, panel: &Area<'_>, data: &ReportData, span: TimeSpan) -> DrawResult {
    let rows: Vec<&IntervalRow> = data.rows.iter().filter(|r| valid(r)).collect();
    // Per key: (key, p50, p99, max), each cut where an interval has no sample.
    type Stats = (String, Runs, Runs, Runs);
    let mut stats: Vec<Stats> = Vec::new();
    for key in &data.key_series {
        let (mut p50, mut p99, mut max) = (Runs::default(), Runs::default(), Runs::default());
        for r in &rows {
            let Some(c) = r.cells.get(key).filter(|c| c.count > 0) else {
                for runs in [&mut p50, &mut p99, &mut max] {
                    runs.gap();
                }
                continue;
            };
            let t = mid(r);
            for (v, runs) in [
                (c.p50_ms, &mut p50),
                (c.p99_ms, &mut p99),
                (c.max_ms, &mut max),
            ] {
                if v.is_finite() {
                    runs.push((t, v.max(FLOOR_MS)));
                } else {
                    runs.gap();
                }
            }
        }
        if !(p50.is_empty() && p99.is_empty() && max.is_empty()) {
            stats.push((key.clone(), p50.thinned(), p99.thinned(), max.thinned()));
        }
    }
    let y = log_range(
        stats
            .iter()
            .flat_map(|s| s.1.values().chain(s.2.values()).chain(s.3.values())),
    );
    let mut chart = builder(root)
        .caption("Latency over time (ms, log scale)", text(20, &BLACK))
        .build_cartesian_2d(span.range(), y.log_scale())?;
    phase_bands(&chart.plotting_area().strip_coord_spec(), data, span, true)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("latency (ms, log)")
        .x_label_formatter(&fmt_num)
        .y_label_formatter(&fmt_ms)
        .light_line_style(LIGHT)
        .draw()?;
    if stats.is_empty() {
        return no_data(&chart.plotting_area().strip_coord_spec());
    }
    let mut entries = Vec::new();
    for (i, (key, p50, p99, max)) in stats.into_iter().enumerate() {
        let c = color(i);
        max.draw(&mut chart, c.mix(0.35).stroke_width(1))?;
        p50.draw(&mut chart, c.mix(0.75).stroke_width(1))?;
        p99.draw(&mut chart, c.stroke_width(2))?;
        entries.push((key, line(c, 2)));
    }
    // What each line style stands for.
    entries.push(("p99: thick".into(), Swatch::Line(GREY.stroke_width(2))));
    entries.push((
        "p50: thin".into(),
        Swatch::Line(GREY.mix(0.75).stroke_width(1)),
    ));
    entries.push((
        "max: faint".into(),
        Swatch::Line(GREY.mix(0.35).stroke_width(1)),
    ));
    legend(panel, plot_top(&chart), &entries)
}

/// The "nines" position of percentile `p`: 90 -> 1, 99 -> 2, 99.9 -> 3.
fn nines(p: f64) -> f64 {
    let p = p.clamp(0.0, 99.999);
    (-(1.0 - p / 100.0).log10()).clamp(0.0, 5.0)
}

fn nines_label(v: &f64) -> String {
    const LABELS: [&str; 6] = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
    let r = v.round();
    if (v - r).abs() < 1e-6 && (0.0..=5.0).contains(&r) {
        LABELS[r as usize].to_string()
    } else {
        String::new()
    }
}

fn spectrum(root: &Area<'_>, panel: &Area<'_>, data: &ReportData) -> DrawResult {
    let lines: Vec<(String, Vec<(f64, f64)>)> = data
        .spectra
        .iter()
        .map(|s| {
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter(|(p, ms)| p.is_finite() && ms.is_finite())
                .map(|&(p, ms)| (nines(p), ms.max(FLOOR_MS)))
                .collect();
            (format!("{} (n={})", s.name, s.count), envelope(points))
        })
        .filter(|(_, p)| !p.is_empty())
        .collect();
    let y = log_range(lines.iter().flat_map(|l| l.1.iter().map(|p| p.1)));
    let mut chart = builder(root)
        .caption("Latency by percentile (ms, log scale)", text(20, &BLACK))
        .build_cartesian_2d(0.0..5.0, y.log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms, log)")
        .x_labels(6)
        .x_label_formatter(&nines_label)
        .y_label_formatter(&fmt_ms)
        .light_line_style(LIGHT)
        .draw()?;
    if lines.is_empty() {
        return no_data(&chart.plotting_area().strip_coord_spec());
    }
    let mut entries = Vec::new();
    for (i, (label, points)) in lines.into_iter().enumerate() {
        let c = color(i);
        // Delivery types thicker than operations.
        let w = if label.starts_with("delivery.") { 2 } else { 1 };
        chart.draw_series(LineSeries::new(points, c.stroke_width(w)))?;
        entries.push((label, line(c, w)));
    }
    legend(panel, plot_top(&chart), &entries)
}

fn population(root: &Area<'_>, panel: &Area<'_>, data: &ReportData, span: TimeSpan) -> DrawResult {
    let rows: Vec<&IntervalRow> = data.rows.iter().filter(|r| valid(r)).collect();
    let at_end = |f: RowCount| -> Vec<(f64, f64)> {
        envelope(rows.iter().map(|r| (r.t_s + r.dt_s, f(r) as f64)).collect())
    };
    let consoles = at_end(|r| r.consoles_logged_in);
    let terminals = at_end(|r| r.terminals_registered);
    let top = |v: &[(f64, f64)]| linear_max(v.iter().map(|p| p.1).fold(0.0, f64::max));
    let mut chart = builder(root)
        .right_y_label_area_size(Y2_AREA)
        .caption("Population: consoles and terminals", text(20, &BLACK))
        .build_cartesian_2d(span.range(), 0.0..top(&consoles))?
        .set_secondary_coord(span.range(), 0.0..top(&terminals));
    phase_bands(&chart.plotting_area().strip_coord_spec(), data, span, true)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("consoles")
        .x_label_formatter(&fmt_num)
        .y_label_formatter(&fmt_int)
        .light_line_style(LIGHT)
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("terminals")
        .y_label_formatter(&fmt_int)
        .draw()?;
    if rows.is_empty() {
        return no_data(&chart.plotting_area().strip_coord_spec());
    }
    let (c, t) = (color(0), color(1));
    chart.draw_series(LineSeries::new(consoles, c.stroke_width(2)))?;
    chart.draw_secondary_series(LineSeries::new(terminals, t.stroke_width(2)))?;
    let entries = [
        ("consoles logged in (left axis)".to_string(), line(c, 2)),
        ("terminals registered (right axis)".to_string(), line(t, 2)),
    ];
    legend(panel, plot_top(&chart), &entries)
}

/// Per pixel column, the largest positive value (at its time): a bounded number of stems.
fn stems(points: impl Iterator<Item = (f64, f64)>, span: TimeSpan, w: u32) -> Vec<(f64, f64)> {
    let mut best: Vec<Option<(f64, f64)>> = vec![None; w as usize + 1];
    for (t, v) in points.filter(|p| p.1 > 0.0) {
        let slot = &mut best[span.px(t, w).clamp(0, w as i32) as usize];
        if slot.is_none_or(|b| v > b.1) {
            *slot = Some((t, v));
        }
    }
    best.into_iter().flatten().collect()
}

/// Two panels on one time axis: on top a strip with one lane per kind of finding and a marker
/// per finding (`data.marks`); below, the counts per interval as stems.
fn findings(root: &Area<'_>, panel: &Area<'_>, data: &ReportData, span: TimeSpan) -> DrawResult {
    let rows: Vec<&IntervalRow> = data.rows.iter().filter(|r| valid(r)).collect();
    let (upper, lower) = root.split_vertically(STRIP_H);

    // The marks strip: lanes at y = 3 (drops), 2 (disconnects), 1 (missed); room on top for
    // the phase names.
    let mut strip = ChartBuilder::on(&upper)
        .margin(10)
        .margin_right(14)
        .margin_bottom(4)
        .x_label_area_size(0)
        .y_label_area_size(Y_AREA)
        .caption("Findings timeline", text(20, &BLACK))
        .build_cartesian_2d(span.range(), 0.4..3.9)?;
    let strip_plot = strip.plotting_area().strip_coord_spec();
    let w = strip_plot.dim_in_pixel().0;
    phase_bands(&strip_plot, data, span, true)?;
    strip
        .configure_mesh()
        .disable_mesh()
        .y_labels(3)
        .y_label_formatter(&|v: &f64| {
            match fmt_int(v).as_str() {
                "3" => "drops",
                "2" => "disconn.",
                "1" => "missed",
                _ => "",
            }
            .to_string()
        })
        .draw()?;

    let max = rows
        .iter()
        .map(|r| r.drops.max(r.disconnects).max(r.missed))
        .max()
        .unwrap_or(0) as f64;
    let mut chart = ChartBuilder::on(&lower)
        .margin(10)
        .margin_top(2)
        .margin_right(14)
        .x_label_area_size(42)
        .y_label_area_size(Y_AREA)
        .build_cartesian_2d(span.range(), 0.0..linear_max(max.max(1.0)))?;
    let plot = chart.plotting_area().strip_coord_spec();
    phase_bands(&plot, data, span, false)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("count per interval")
        .x_label_formatter(&fmt_num)
        .y_label_formatter(&fmt_int)
        .light_line_style(LIGHT)
        .draw()?;
    if rows.is_empty() && data.marks.is_empty() {
        return no_data(&plot);
    }

    let mut entries = Vec::new();
    let px_time = (span.hi - span.lo) / f64::from(w.max(1));
    let kinds: [(&str, RowCount, RGBColor, f64); 3] = [
        ("drops / interval", |r| r.drops, DROP_COLOR, -2.0),
        (
            "disconnects / interval",
            |r| r.disconnects,
            DISCONNECT_COLOR,
            0.0,
        ),
        ("missed / interval", |r| r.missed, MISSED_COLOR, 2.0),
    ];
    for (label, f, c, shift) in kinds {
        let points = stems(rows.iter().map(|r| (mid(r), f(r) as f64)), span, w);
        let dx = shift * px_time;
        chart.draw_series(
            points.into_iter().map(|(t, v)| {
                PathElement::new(vec![(t + dx, 0.0), (t + dx, v)], c.stroke_width(2))
            }),
        )?;
        entries.push((label.to_string(), line(c, 2)));
    }

    // One marker per kind and pixel column: more would draw the same.
    let lanes = [
        (MarkKind::Drop, 3.0, "talkgroup drop"),
        (MarkKind::Disconnect, 2.0, "console disconnect"),
        (MarkKind::Missed, 1.0, "missed delivery"),
    ];
    for (kind, y, label) in lanes {
        let mut seen = vec![false; w as usize + 1];
        let ts: Vec<f64> = data
            .marks
            .iter()
            .filter(|m| m.kind == kind && m.t_s.is_finite())
            .filter_map(|m| {
                let slot = &mut seen[span.px(m.t_s, w).clamp(0, w as i32) as usize];
                (!std::mem::replace(slot, true)).then_some(m.t_s)
            })
            .collect();
        let swatch = match kind {
            MarkKind::Drop => {
                let style = DROP_COLOR.stroke_width(2);
                strip.draw_series(ts.iter().map(|&t| Cross::new((t, y), 4, style)))?;
                Swatch::Cross(DROP_COLOR)
            }
            MarkKind::Disconnect => {
                let style = DISCONNECT_COLOR.filled();
                strip.draw_series(ts.iter().map(|&t| TriangleMarker::new((t, y), 5, style)))?;
                Swatch::Triangle(DISCONNECT_COLOR)
            }
            MarkKind::Missed => {
                let style = MISSED_COLOR.filled();
                strip.draw_series(ts.iter().map(|&t| Circle::new((t, y), 3, style)))?;
                Swatch::Dot(MISSED_COLOR)
            }
        };
        entries.push((label.to_string(), swatch));
    }
    legend(panel, plot_top(&strip), &entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::chart_series::GAP_INTERVALS;
    use crate::report::fixtures::sample;

    fn empty() -> ReportData {
        let mut d = sample(0);
        d.phases.clear();
        d.spectra.clear();
        d.marks.clear();
        d.key_series.clear();
        d
    }

    const IDS: [&str; 5] = [
        "throughput",
        "latency",
        "spectrum",
        "population",
        "findings",
    ];

    fn check(charts: &[Chart]) {
        let ids: Vec<&str> = charts.iter().map(|c| c.id).collect();
        assert_eq!(ids, IDS);
        for c in charts {
            assert!(c.svg.starts_with("<svg"), "{}", c.id);
            assert!(c.svg.trim_end().ends_with("</svg>"), "{}", c.id);
            for bad in ["NaN", "inf\n", "\"inf", "-inf"] {
                assert!(!c.svg.contains(bad), "{}: {bad}", c.id);
            }
            assert!(!c.title.is_empty());
        }
    }

    #[test]
    fn five_charts_with_data() {
        let charts = render_all(&sample(120)).expect("render");
        check(&charts);
        for c in &charts {
            assert!(
                c.svg.contains("<polyline") || c.svg.contains("<path") || c.svg.contains("<circle"),
                "{} has no data elements",
                c.id
            );
            assert!(!c.svg.contains("no data"), "{}", c.id);
        }
        let by_id = |id: &str| &charts.iter().find(|c| c.id == id).expect("chart").svg;
        for label in ["99.9%", "99.999%", "90%"] {
            assert!(
                by_id("spectrum").contains(&format!(">\n{label}\n<")),
                "{label}"
            );
        }
        assert!(by_id("throughput").contains("shift_change"));
        assert!(by_id("population").contains("terminals"));
        assert!(by_id("findings").contains("<circle"));
    }

    #[test]
    fn empty_data_renders_no_data() {
        let charts = render_all(&empty()).expect("render");
        check(&charts);
        for c in &charts {
            assert!(c.svg.contains("no data"), "{}", c.id);
        }
    }

    #[test]
    fn hour_long_run_renders() {
        let charts = render_all(&sample(3600)).expect("render");
        check(&charts);
        for c in &charts {
            // Thinned: nothing near one element (or coordinate pair) per row per series.
            assert!(c.svg.len() < 400_000, "{}: {} bytes", c.id, c.svg.len());
        }
    }

    #[test]
    fn odd_values_stay_finite() {
        let mut d = sample(20);
        d.rows[3].dt_s = 0.0;
        d.rows[4].t_s = f64::NAN;
        if let Some(c) = d.rows[5].cells.get_mut("terminal.status") {
            c.p99_ms = f64::INFINITY;
            c.p50_ms = 0.0;
        }
        d.spectra[0].points.push((f64::NAN, 1.0));
        d.summary.duration_s = f64::NAN;
        check(&render_all(&d).expect("render"));
    }

    #[test]
    fn latency_lines_do_not_bridge_intervals_without_samples() {
        let key = "terminal.status";
        let count = |d: &ReportData| {
            let charts = render_all(d).expect("render");
            let svg = &charts
                .iter()
                .find(|c| c.id == "latency")
                .expect("latency")
                .svg;
            svg.matches("<polyline").count()
        };
        let mut d = sample(40);
        d.key_series = vec![key.to_string()];
        let whole = count(&d);
        for r in &mut d.rows[15..15 + GAP_INTERVALS - 1] {
            if let Some(c) = r.cells.get_mut(key) {
                c.count = 0;
            }
        }
        // A shorter gap is bridged.
        assert_eq!(count(&d), whole);
        for r in &mut d.rows[15..15 + GAP_INTERVALS] {
            if let Some(c) = r.cells.get_mut(key) {
                c.count = 0;
            }
        }
        // p50, p99 and max each become two lines.
        assert_eq!(count(&d), whole + 3);
    }

    #[test]
    fn helpers() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(99.0) - 2.0).abs() < 1e-9);
        assert!((nines(100.0) - 5.0).abs() < 1e-6);
        assert_eq!(nines_label(&3.0), "99.9%");
        assert_eq!(nines_label(&2.5), "");
        assert_eq!(log_range([0.0, 0.5, 250.0].into_iter()), 0.01..1000.0);
        assert_eq!(log_range(std::iter::empty()), 0.1..1000.0);
    }
}
