//! The five charts of `report.html`, drawn with plotters as inline SVG (SVG backend only, no
//! system fonts). Each has the run's phases shaded and named, labelled axes with units, and a
//! legend. Long runs are thinned to at most [`MAX_POINTS`] points per series (sums for
//! counts, the worst for p99 and max) so that a 1-hour run stays quick to draw and to open.

use super::ReportError;
use super::model::{Cell, IntervalRow, MarkKind, PhaseBand, ReportData};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// One chart: its id (`throughput`, `latency`, `spectrum`, `population`, `findings`), title
/// and SVG text.
#[derive(Debug, Clone)]
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub svg: String,
}

const SIZE: (u32, u32) = (1200, 420);
/// Most points per series; longer series are merged in buckets.
pub const MAX_POINTS: usize = 1_200;
/// Latencies are drawn from this floor (log axes), ms.
const FLOOR_MS: f64 = 0.01;

const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

type Res<T> = Result<T, String>;
/// Reads one count of an interval row.
type Count = fn(&IntervalRow) -> u64;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draw all five charts, in report order.
pub fn render_all(data: &ReportData) -> Result<Vec<Chart>, ReportError> {
    let rows = thin(&data.rows, MAX_POINTS);
    let x_end = x_end(data);
    let specs: [(&'static str, &str, DrawFn); 5] = [
        (
            "throughput",
            "Offered vs completed actions per second",
            throughput,
        ),
        (
            "latency",
            "Latency over time (p50, p99, max per interval; log scale)",
            latency,
        ),
        (
            "spectrum",
            "Percentile spectrum per operation and delivery type",
            spectrum,
        ),
        (
            "population",
            "Consoles logged in and terminals registered",
            population,
        ),
        (
            "findings",
            "Talkgroup drops, console disconnects and missed deliveries",
            findings,
        ),
    ];
    let mut out = Vec::new();
    for (id, title, draw) in specs {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            let ctx = Ctx {
                data,
                rows: &rows,
                x_end,
                title,
            };
            root.fill(&WHITE)
                .map_err(err)
                .and_then(|_| draw(&root, &ctx))
                .and_then(|_| root.present().map_err(err))
                .map_err(|message| ReportError::Render {
                    what: format!("chart {id}"),
                    message,
                })?;
        }
        out.push(Chart {
            id,
            title: title.to_string(),
            svg,
        });
    }
    Ok(out)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawFn = for<'a, 'b> fn(&Area<'a>, &Ctx<'b>) -> Res<()>;

struct Ctx<'a> {
    data: &'a ReportData,
    rows: &'a [IntervalRow],
    x_end: f64,
    title: &'a str,
}

fn x_end(data: &ReportData) -> f64 {
    let rows = data.rows.last().map(|r| r.t_s + r.dt_s).unwrap_or(0.0);
    let phases = data.phases.iter().map(|p| p.end_s).fold(0.0, f64::max);
    let marks = data.marks.iter().map(|m| m.t_s).fold(0.0, f64::max);
    let end = rows.max(phases).max(marks);
    if end.is_finite() && end > 0.0 {
        end
    } else {
        1.0
    }
}

/// Merge rows in buckets so that at most `max` remain: counts add up, levels are the last
/// one's, p50 is the count-weighted mean, p99 and max the worst.
pub fn thin(rows: &[IntervalRow], max: usize) -> Vec<IntervalRow> {
    if rows.len() <= max || max == 0 {
        return rows.to_vec();
    }
    let per = rows.len().div_ceil(max);
    rows.chunks(per)
        .map(|chunk| {
            let mut m = chunk[0].clone();
            let last = &chunk[chunk.len() - 1];
            m.dt_s = last.t_s + last.dt_s - m.t_s;
            m.in_flight = last.in_flight;
            m.consoles_logged_in = last.consoles_logged_in;
            m.terminals_registered = last.terminals_registered;
            let mut cells: BTreeMap<String, (Cell, f64)> = BTreeMap::new();
            for (k, c) in &m.cells {
                cells.insert(k.clone(), (c.clone(), c.p50_ms * c.count as f64));
            }
            for r in &chunk[1..] {
                m.offered += r.offered;
                m.sent += r.sent;
                m.completed += r.completed;
                m.errors += r.errors;
                m.drops += r.drops;
                m.disconnects += r.disconnects;
                m.missed += r.missed;
                m.skipped += r.skipped;
                m.throttled += r.throttled;
                for (k, c) in &r.cells {
                    let e = cells.entry(k.clone()).or_default();
                    e.0.count += c.count;
                    e.0.errors += c.errors;
                    e.0.p99_ms = e.0.p99_ms.max(c.p99_ms);
                    e.0.max_ms = e.0.max_ms.max(c.max_ms);
                    e.1 += c.p50_ms * c.count as f64;
                }
            }
            m.cells = cells
                .into_iter()
                .map(|(k, (mut c, weighted))| {
                    if c.count > 0 {
                        c.p50_ms = weighted / c.count as f64;
                    }
                    (k, c)
                })
                .collect();
            m
        })
        .collect()
}

fn finite_max(values: impl Iterator<Item = f64>) -> f64 {
    values.filter(|v| v.is_finite()).fold(0.0, f64::max)
}

/// Shade and name the phases on a chart whose y axis spans `y0..y1` (in its own coordinates).
fn bands<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    phases: &[PhaseBand],
    y0: Y::ValueType,
    y1: Y::ValueType,
) -> Res<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged,
    Y::ValueType: Clone + 'static,
{
    let shades = [RGBColor(70, 110, 200), RGBColor(200, 140, 60)];
    chart
        .draw_series(phases.iter().enumerate().map(|(i, p)| {
            Rectangle::new(
                [(p.start_s, y0.clone()), (p.end_s, y1.clone())],
                shades[i % 2].mix(0.08).filled(),
            )
        }))
        .map_err(err)?;
    chart
        .draw_series(phases.iter().map(|p| {
            Text::new(
                p.name.clone(),
                (p.start_s, y1.clone()),
                ("sans-serif", 13).into_font().color(&RGBColor(60, 60, 60)),
            )
        }))
        .map_err(err)?;
    Ok(())
}

fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
    font_px: u32,
) -> Res<()> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", font_px))
        .draw()
        .map_err(err)
}

fn no_data(area: &Area<'_>, ctx: &Ctx<'_>) -> Res<()> {
    area.draw(&Text::new(
        "no data",
        (SIZE.0 as i32 / 2 - 30, SIZE.1 as i32 / 2),
        ("sans-serif", 18)
            .into_font()
            .color(&RGBColor(120, 120, 120)),
    ))
    .map_err(err)?;
    let _ = ctx;
    Ok(())
}

fn mid(r: &IntervalRow) -> f64 {
    r.t_s + r.dt_s / 2.0
}

fn per_s(n: u64, r: &IntervalRow) -> f64 {
    if r.dt_s > 0.0 { n as f64 / r.dt_s } else { 0.0 }
}

fn throughput(area: &Area<'_>, ctx: &Ctx<'_>) -> Res<()> {
    let rows = ctx.rows;
    let y_max = finite_max(
        rows.iter()
            .flat_map(|r| [per_s(r.offered, r), per_s(r.completed, r)]),
    )
    .max(1.0)
        * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(ctx.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..ctx.x_end, 0f64..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("actions/s")
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    bands(&mut chart, &ctx.data.phases, 0.0, y_max)?;
    if rows.is_empty() {
        return no_data(area, ctx);
    }
    let series: [(&str, RGBColor, Count); 3] = [
        ("offered", color(0), |r| r.offered),
        ("completed", color(2), |r| r.completed),
        ("errors", color(1), |r| r.errors),
    ];
    for (name, c, f) in series {
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|r| (mid(r), per_s(f(r), r))),
                c.stroke_width(2),
            ))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, 12)
}

fn log_top(max: f64) -> f64 {
    let top = max.max(1.0) * 2.0;
    if top.is_finite() { top } else { 1e7 }
}

fn latency(area: &Area<'_>, ctx: &Ctx<'_>) -> Res<()> {
    let rows = ctx.rows;
    let keys = &ctx.data.key_series;
    let top = log_top(finite_max(
        rows.iter()
            .flat_map(|r| keys.iter().filter_map(|k| r.cells.get(k)))
            .map(|c| c.max_ms),
    ));
    let mut chart = ChartBuilder::on(area)
        .caption(ctx.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..ctx.x_end, (FLOOR_MS..top).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("latency (ms, log)")
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    bands(&mut chart, &ctx.data.phases, FLOOR_MS, top)?;
    if rows.is_empty() || keys.is_empty() {
        return no_data(area, ctx);
    }
    type Stat = fn(&Cell) -> f64;
    let stats: [(&str, Stat, u32); 3] = [
        ("p50", |c| c.p50_ms, 1),
        ("p99", |c| c.p99_ms, 2),
        ("max", |c| c.max_ms, 1),
    ];
    for (i, key) in keys.iter().enumerate() {
        let c = color(i);
        for (si, (stat, f, width)) in stats.iter().enumerate() {
            let points: Vec<(f64, f64)> = rows
                .iter()
                .filter_map(|r| {
                    let cell = r.cells.get(key).filter(|c| c.count > 0)?;
                    Some((mid(r), f(cell).max(FLOOR_MS)))
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            let style = if si == 2 {
                c.mix(0.45).stroke_width(*width)
            } else {
                c.stroke_width(*width)
            };
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(err)?
                .label(format!("{key} {stat}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, 12)
}

/// The "nines" of a percentile: 90 % -> 1, 99 % -> 2, 99.9 % -> 3.
fn nines(p: f64) -> f64 {
    let p = p.clamp(0.0, 99.999);
    -(1.0 - p / 100.0).log10()
}

fn nines_label(x: &f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    if *x < 0.5 {
        "0%".into()
    } else {
        let digits = (x.round() as usize).saturating_sub(2);
        format!("{p:.digits$}%")
    }
}

fn spectrum(area: &Area<'_>, ctx: &Ctx<'_>) -> Res<()> {
    let spectra = &ctx.data.spectra;
    let top = log_top(finite_max(
        spectra.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
    ));
    let mut chart = ChartBuilder::on(area)
        .caption(ctx.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..5f64, (FLOOR_MS..top).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms, log)")
        .x_labels(6)
        .x_label_formatter(&nines_label)
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    if spectra.is_empty() {
        return no_data(area, ctx);
    }
    for (i, s) in spectra.iter().enumerate() {
        let c = color(i);
        let style = if s.name.starts_with("delivery.") {
            c.mix(0.7).stroke_width(2)
        } else {
            c.stroke_width(1)
        };
        chart
            .draw_series(LineSeries::new(
                s.points
                    .iter()
                    .filter(|(p, v)| p.is_finite() && v.is_finite())
                    .map(|(p, v)| (nines(*p), v.max(FLOOR_MS))),
                style,
            ))
            .map_err(err)?
            .label(format!("{} ({})", s.name, s.count))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, 11)
}

fn population(area: &Area<'_>, ctx: &Ctx<'_>) -> Res<()> {
    let rows = ctx.rows;
    let consoles = finite_max(rows.iter().map(|r| r.consoles_logged_in as f64)).max(1.0) * 1.15;
    let terminals = finite_max(rows.iter().map(|r| r.terminals_registered as f64)).max(1.0) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(ctx.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .right_y_label_area_size(80)
        .build_cartesian_2d(0f64..ctx.x_end, 0f64..consoles)
        .map_err(err)?
        .set_secondary_coord(0f64..ctx.x_end, 0f64..terminals);
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("consoles logged in")
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    chart
        .configure_secondary_axes()
        .y_desc("terminals registered")
        .draw()
        .map_err(err)?;
    let shades = [RGBColor(70, 110, 200), RGBColor(200, 140, 60)];
    let phases = &ctx.data.phases;
    chart
        .draw_series(phases.iter().enumerate().map(|(i, p)| {
            Rectangle::new(
                [(p.start_s, 0.0), (p.end_s, consoles)],
                shades[i % 2].mix(0.08).filled(),
            )
        }))
        .map_err(err)?;
    chart
        .draw_series(phases.iter().map(|p| {
            Text::new(
                p.name.clone(),
                (p.start_s, consoles),
                ("sans-serif", 13).into_font().color(&RGBColor(60, 60, 60)),
            )
        }))
        .map_err(err)?;
    if rows.is_empty() {
        return no_data(area, ctx);
    }
    let (c0, c1) = (color(0), color(3));
    // Levels at each interval's end.
    let end = |r: &IntervalRow| r.t_s + r.dt_s;
    chart
        .draw_series(LineSeries::new(
            rows.iter().map(|r| (end(r), r.consoles_logged_in as f64)),
            c0.stroke_width(2),
        ))
        .map_err(err)?
        .label("consoles logged in (left axis)")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c0.stroke_width(2)));
    chart
        .draw_secondary_series(LineSeries::new(
            rows.iter().map(|r| (end(r), r.terminals_registered as f64)),
            c1.stroke_width(2),
        ))
        .map_err(err)?
        .label("terminals registered (right axis)")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c1.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(err)
}

fn findings(area: &Area<'_>, ctx: &Ctx<'_>) -> Res<()> {
    let rows = ctx.rows;
    let marks = &ctx.data.marks;
    let y_max = finite_max(
        rows.iter()
            .flat_map(|r| [r.drops as f64, r.disconnects as f64, r.missed as f64]),
    )
    .max(4.0)
        * 1.15;
    // Below zero: one lane per kind for the individual findings.
    let lane = y_max * 0.06;
    let y_min = -lane * 4.0;
    let mut chart = ChartBuilder::on(area)
        .caption(ctx.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..ctx.x_end, y_min..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("count per interval")
        .y_label_formatter(&|y| {
            if *y < 0.0 {
                String::new()
            } else {
                format!("{y:.0}")
            }
        })
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    bands(&mut chart, &ctx.data.phases, y_min, y_max)?;
    let kinds: [(&str, MarkKind, RGBColor, Count); 3] = [
        ("talkgroup drops", MarkKind::Drop, color(1), |r| r.drops),
        ("console disconnects", MarkKind::Disconnect, color(4), |r| {
            r.disconnects
        }),
        ("missed deliveries", MarkKind::Missed, color(3), |r| {
            r.missed
        }),
    ];
    for (i, (name, kind, c, f)) in kinds.into_iter().enumerate() {
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|r| (mid(r), f(r) as f64)),
                c.stroke_width(2),
            ))
            .map_err(err)?
            .label(format!(
                "{name} ({})",
                marks.iter().filter(|m| m.kind == kind).count()
            ))
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
        let y = -lane * (i as f64 + 1.0);
        chart
            .draw_series(
                marks
                    .iter()
                    .filter(|m| m.kind == kind && m.t_s.is_finite())
                    .map(|m| Circle::new((m.t_s, y), 4, c.filled())),
            )
            .map_err(err)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, 12)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::model::{Mark, Spectrum};

    pub(crate) fn sample(rows: usize) -> ReportData {
        let summary = crate::report::junit::tests::sample();
        let mut data = ReportData {
            summary,
            interval_s: 1.0,
            phases: vec![
                PhaseBand {
                    name: "setup".into(),
                    start_s: 0.0,
                    end_s: rows as f64 / 3.0,
                },
                PhaseBand {
                    name: "shift_change".into(),
                    start_s: rows as f64 / 3.0,
                    end_s: rows as f64,
                },
            ],
            rows: Vec::new(),
            spectra: Vec::new(),
            marks: Vec::new(),
            key_series: vec!["terminal.status".into(), "delivery.emergency.alert".into()],
            rebuilt: None,
        };
        for i in 0..rows {
            let mut cells = BTreeMap::new();
            for (k, base) in [("terminal.status", 2.0), ("delivery.emergency.alert", 5.0)] {
                cells.insert(
                    k.to_string(),
                    Cell {
                        count: 100,
                        errors: (i % 7 == 0) as u64,
                        p50_ms: base + (i % 10) as f64,
                        p99_ms: base * 4.0 + (i % 13) as f64,
                        max_ms: base * 10.0 + (i % 17) as f64,
                    },
                );
            }
            data.rows.push(IntervalRow {
                t_s: i as f64,
                dt_s: 1.0,
                phase: "setup".into(),
                offered: 100 + (i % 5) as u64,
                sent: 100,
                completed: 99,
                in_flight: 1,
                errors: 1,
                consoles_logged_in: (i % 40) as u64,
                terminals_registered: (i * 10 % 6000) as u64,
                drops: (i % 11 == 0) as u64,
                disconnects: (i % 23 == 0) as u64,
                missed: (i % 5 == 0) as u64,
                skipped: 0,
                throttled: 0,
                cells,
            });
        }
        for (i, name) in ["terminal.status", "delivery.status"].iter().enumerate() {
            data.spectra.push(Spectrum {
                name: name.to_string(),
                count: 1000,
                points: (0..=100)
                    .map(|j| {
                        let q = 1.0 - 10f64.powf(-(j as f64) * 0.05);
                        (q * 100.0, 1.0 + j as f64 * (i as f64 + 1.0))
                    })
                    .collect(),
            });
        }
        if rows > 0 {
            data.marks.push(Mark {
                t_s: 3.5,
                kind: MarkKind::Drop,
                label: "room01-con01 talkgroup 100001 (audit)".into(),
            });
            data.marks.push(Mark {
                t_s: 4.5,
                kind: MarkKind::Disconnect,
                label: "room01-con02: kicked".into(),
            });
        }
        data
    }

    fn has_data(svg: &str) -> bool {
        svg.contains("<polyline") || svg.contains("<path") || svg.contains("<circle")
    }

    #[test]
    fn five_charts_with_data_in_order() {
        let charts = render_all(&sample(120)).unwrap();
        let ids: Vec<&str> = charts.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "throughput",
                "latency",
                "spectrum",
                "population",
                "findings"
            ]
        );
        for c in &charts {
            assert!(c.svg.starts_with("<svg"), "{}", c.id);
            assert!(has_data(&c.svg), "{} has no data", c.id);
            assert!(!c.svg.contains("NaN") && !c.svg.contains("inf"), "{}", c.id);
        }
        assert!(charts[0].svg.contains("actions/s"));
        assert!(charts[2].svg.contains("99.9%"), "nines axis labels");
        assert!(charts[1].svg.contains("shift_change"), "phase label");
    }

    #[test]
    fn empty_data_still_draws_axes() {
        let mut d = sample(0);
        d.spectra.clear();
        d.phases.clear();
        d.key_series.clear();
        let charts = render_all(&d).unwrap();
        assert_eq!(charts.len(), 5);
        for c in &charts {
            assert!(c.svg.contains("no data") || c.id == "findings", "{}", c.id);
            assert!(!c.svg.contains("NaN"), "{}", c.id);
        }
    }

    #[test]
    fn an_hour_is_thinned_and_drawn() {
        let d = sample(3600);
        let thinned = thin(&d.rows, MAX_POINTS);
        assert!(thinned.len() <= MAX_POINTS);
        let total: u64 = thinned.iter().map(|r| r.offered).sum();
        assert_eq!(total, d.rows.iter().map(|r| r.offered).sum::<u64>());
        let worst = d.rows.iter().map(|r| r.cells["terminal.status"].max_ms);
        let thin_worst = thinned.iter().map(|r| r.cells["terminal.status"].max_ms);
        assert_eq!(worst.fold(0.0, f64::max), thin_worst.fold(0.0, f64::max));
        let charts = render_all(&d).unwrap();
        assert!(charts.iter().all(|c| has_data(&c.svg)));
    }

    #[test]
    fn nines_labels() {
        assert_eq!(nines_label(&0.0), "0%");
        assert_eq!(nines_label(&1.0), "90%");
        assert_eq!(nines_label(&2.0), "99%");
        assert_eq!(nines_label(&3.0), "99.9%");
        assert_eq!(nines_label(&5.0), "99.999%");
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
    }
}
