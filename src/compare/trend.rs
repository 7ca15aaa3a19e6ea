//! `rcload trend DIR...`: nightly runs over time. One row per run (when it started, its
//! verdict, its findings, and the p99 of every operation and delivery type of each phase but
//! the teardown), written as `trend.csv` (every column), `trend.md` and `trend.html` (tables,
//! and plotters SVG charts of p99 and findings over the runs). Pure: no files, no CLI; the
//! caller loads each run's summary, calls [`build`] and writes what [`to_csv`],
//! [`to_markdown`] and [`to_html`] return.

use super::render::{esc, fmt_ms, md};
use crate::profile::TEARDOWN;
use crate::report::chart_style::{
    BORDER, DISCONNECT_COLOR, DROP_COLOR, FONT, LIGHT, MISSED_COLOR, color, fmt_int,
    fmt_ms as tick_ms,
};
use crate::report::summary::Summary;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// p99 columns the Markdown and HTML tables show (those with the highest p99); `trend.csv`
/// has them all.
pub const TABLE_COLUMNS: usize = 12;
/// Lines in the p99 chart (those with the highest p99).
pub const CHART_KEYS: usize = 8;

/// One run as loaded by the caller.
#[derive(Debug, Clone)]
pub struct TrendRun {
    /// The run directory or summary file as given on the command line.
    pub label: String,
    pub summary: Summary,
}

/// One run's row.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendRow {
    pub label: String,
    /// RFC 3339, as in `summary.json`.
    pub started_at: String,
    pub profile: String,
    /// `pass`, `fail` or `invalid`.
    pub verdict: String,
    pub talkgroup_drops: u64,
    pub console_disconnects: u64,
    pub missed_deliveries: u64,
    /// p99 latency, ms, by `"{phase} {operation}"` and `"{phase} delivery.{type}"`; only
    /// those with samples, never of the teardown phase.
    pub p99_ms: BTreeMap<String, f64>,
}

/// The result of [`build`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trend {
    /// Sorted by start, then label.
    pub runs: Vec<TrendRow>,
    /// Every p99 key of any run, sorted.
    pub columns: Vec<String>,
}

/// One row per run, oldest first.
pub fn build(runs: Vec<TrendRun>) -> Trend {
    let mut runs: Vec<TrendRow> = runs.into_iter().map(row_of).collect();
    runs.sort_by(|a, b| (&a.started_at, &a.label).cmp(&(&b.started_at, &b.label)));
    let columns: BTreeSet<&String> = runs.iter().flat_map(|r| r.p99_ms.keys()).collect();
    let columns = columns.into_iter().cloned().collect();
    Trend { runs, columns }
}

fn row_of(run: TrendRun) -> TrendRow {
    let s = run.summary;
    let mut p99_ms = BTreeMap::new();
    // The teardown is outside the profile's load, and absent with `--no-teardown`.
    let phases = s.phases.iter().filter(|(n, _)| n.as_str() != TEARDOWN);
    for (phase, p) in phases {
        for (name, o) in p.operations.iter().filter(|(_, o)| o.count > 0) {
            p99_ms.insert(format!("{phase} {name}"), o.latency_ms.p99);
        }
        for (kind, d) in p.deliveries.iter().filter(|(_, d)| d.delivered > 0) {
            p99_ms.insert(format!("{phase} delivery.{kind}"), d.latency_ms.p99);
        }
    }
    TrendRow {
        label: run.label,
        verdict: s.verdict.as_str().to_string(),
        talkgroup_drops: s.talkgroup_drops.len() as u64,
        console_disconnects: s.console_disconnects.len() as u64,
        missed_deliveries: s.missed_deliveries,
        started_at: s.started_at,
        profile: s.profile,
        p99_ms,
    }
}

// ---- CSV ----

const CSV_HEAD: &str =
    "run,started_at,profile,verdict,talkgroup_drops,console_disconnects,missed_deliveries";

/// `trend.csv`: one line per run, every p99 column (empty where the run lacks it).
pub fn to_csv(t: &Trend) -> String {
    let mut out = CSV_HEAD.to_string();
    for k in &t.columns {
        let _ = write!(out, ",{}", csv_cell(&format!("{k} p99_ms")));
    }
    out.push('\n');
    for r in &t.runs {
        let text = [&r.label, &r.started_at, &r.profile, &r.verdict].map(|c| csv_cell(c));
        out.push_str(&text.join(","));
        for n in r.counts() {
            let _ = write!(out, ",{n}");
        }
        for k in &t.columns {
            out.push(',');
            if let Some(v) = r.p99_ms.get(k) {
                let _ = write!(out, "{v}");
            }
        }
        out.push('\n');
    }
    out
}

/// Quoted (quotes doubled) when it has a comma, quote or line break.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

// ---- what the Markdown and the HTML both say ----

const FINDINGS: [&str; 3] = [
    "talkgroup drops",
    "console disconnects",
    "missed deliveries",
];

impl TrendRow {
    /// Talkgroup drops, console disconnects and missed deliveries (as [`FINDINGS`] names them).
    fn counts(&self) -> [u64; 3] {
        [
            self.talkgroup_drops,
            self.console_disconnects,
            self.missed_deliveries,
        ]
    }
}

/// A table: its header, rows of (text, is bad), and how many leading columns are text.
struct Table {
    head: Vec<String>,
    rows: Vec<Vec<(String, bool)>>,
    left: usize,
}

fn overview(t: &Trend) -> String {
    let mut s = match t.runs.as_slice() {
        [] => "No runs.".to_string(),
        [one] => format!("1 run, started {}.", one.started_at),
        [first, .., last] => format!(
            "{} runs, the first started {}, the last {}.",
            t.runs.len(),
            first.started_at,
            last.started_at
        ),
    };
    let profiles: BTreeSet<&str> = t.runs.iter().map(|r| r.profile.as_str()).collect();
    if profiles.len() > 1 {
        let list: Vec<&str> = profiles.into_iter().collect();
        let _ = write!(
            s,
            " The runs used different profiles ({}): their figures may not be comparable.",
            list.join(", ")
        );
    }
    s
}

fn findings_table(t: &Trend) -> Table {
    let mut head: Vec<String> = ["run", "started", "verdict"].map(String::from).to_vec();
    head.extend(FINDINGS.map(String::from));
    let rows = t.runs.iter().map(|r| {
        let mut cells = vec![
            (r.label.clone(), false),
            (r.started_at.clone(), false),
            (r.verdict.to_ascii_uppercase(), r.verdict != "pass"),
        ];
        cells.extend(r.counts().map(|n| (n.to_string(), n > 0)));
        cells
    });
    let rows = rows.collect();
    Table {
        head,
        rows,
        left: 3,
    }
}

/// The `limit` columns with the highest p99 over the runs, in column order.
fn top_columns(t: &Trend, limit: usize) -> Vec<&str> {
    let peak = |k: &str| {
        let values = t.runs.iter().filter_map(|r| r.p99_ms.get(k));
        values.copied().fold(f64::NEG_INFINITY, f64::max)
    };
    let mut ranked: Vec<(&str, f64)> = t.columns.iter().map(|k| (k.as_str(), peak(k))).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut top: Vec<&str> = ranked.into_iter().take(limit).map(|(k, _)| k).collect();
    top.sort_unstable();
    top
}

/// The p99 table (at most [`TABLE_COLUMNS`] columns, none when there are none), and what
/// it says under it.
fn p99_table(t: &Trend) -> (Option<Table>, Option<String>) {
    let shown = top_columns(t, TABLE_COLUMNS);
    let mut head = vec!["run".to_string()];
    head.extend(shown.iter().map(|k| k.to_string()));
    let cell = |r: &TrendRow, k: &str| r.p99_ms.get(k).map_or_else(|| "–".into(), |v| fmt_ms(*v));
    let rows = t.runs.iter().map(|r| {
        let mut cells = vec![(r.label.clone(), false)];
        cells.extend(shown.iter().map(|k| (cell(r, k), false)));
        cells
    });
    let rows = rows.collect();
    let left_out = t.columns.len() - shown.len();
    let note = match (t.columns.len(), left_out) {
        (0, _) => Some("No phase of any run has an operation or delivery with samples.".into()),
        (_, 0) => None,
        (all, _) => Some(format!(
            "{left_out} of {all} p99 columns left out (shown: the {} with the highest p99 \
             over the runs); trend.csv has them all.",
            shown.len()
        )),
    };
    let table = (!shown.is_empty()).then_some(Table {
        head,
        rows,
        left: 1,
    });
    (table, note)
}

// ---- Markdown ----

fn md_table(o: &mut String, t: &Table) {
    let head: Vec<String> = t.head.iter().map(|h| md(h)).collect();
    let _ = writeln!(o, "| {} |", head.join(" | "));
    let align = |i: usize| if i < t.left { "---" } else { "---:" };
    let align: Vec<&str> = (0..head.len()).map(align).collect();
    let _ = writeln!(o, "|{}|", align.join("|"));
    for row in &t.rows {
        let cell = |(text, bad): &(String, bool)| match bad {
            true => format!("**{}**", md(text)),
            false => md(text),
        };
        let cells: Vec<String> = row.iter().map(cell).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o.push('\n');
}

/// `trend.md`: the runs and their findings, then their p99 (at most [`TABLE_COLUMNS`]).
pub fn to_markdown(t: &Trend) -> String {
    let mut o = format!("## rcload trend\n\n{}\n\n", md(&overview(t)));
    md_table(&mut o, &findings_table(t));
    o.push_str("### p99 latency by phase, ms\n\n");
    let (table, note) = p99_table(t);
    if let Some(table) = table {
        md_table(&mut o, &table);
    }
    if let Some(note) = note {
        let _ = writeln!(o, "{}\n", md(&note));
    }
    o
}

// ---- HTML ----

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
p{max-width:60em}table{border-collapse:collapse;margin:1em 0}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
th.l,td.l{text-align:left}th{background:#f3f3f3}\
td.bad{color:#b00020;font-weight:bold;background:#fdecee}\
figure{margin:1em 0}.note{color:#555;font-style:italic}";

fn html_table(o: &mut String, t: &Table) {
    let class = |i: usize, bad: bool| match (i < t.left, bad) {
        (true, true) => " class=\"l bad\"",
        (true, false) => " class=\"l\"",
        (false, true) => " class=\"bad\"",
        (false, false) => "",
    };
    o.push_str("<table>\n<tr>");
    for (i, h) in t.head.iter().enumerate() {
        let _ = write!(o, "<th{}>{}</th>", class(i, false), esc(h));
    }
    o.push_str("</tr>\n");
    for row in &t.rows {
        o.push_str("<tr>");
        for (i, (text, bad)) in row.iter().enumerate() {
            let _ = write!(o, "<td{}>{}</td>", class(i, *bad), esc(text));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
}

/// `trend.html`: one self-contained page (inline style and SVG, no scripts, no network).
pub fn to_html(t: &Trend) -> String {
    let mut o = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>rcload trend</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>rcload trend</h1>\n<p>{}</p>\n",
        esc(&overview(t))
    );
    html_table(&mut o, &findings_table(t));
    o.push_str("<h2>Over the runs</h2>\n");
    charts_html(&mut o, t);
    o.push_str("<h2>p99 latency by phase, ms</h2>\n");
    let (table, note) = p99_table(t);
    if let Some(table) = table {
        html_table(&mut o, &table);
    }
    if let Some(note) = note {
        let _ = writeln!(o, "<p class=\"note\">{}</p>", esc(&note));
    }
    o.push_str("</body>\n</html>\n");
    o
}

// ---- charts ----

/// One line: a value per run, `None` where the run has none (the line breaks there).
struct Line {
    name: String,
    color: RGBColor,
    values: Vec<Option<f64>>,
}

/// The runs' start dates, when they differ; else their numbers.
fn tick_labels(t: &Trend) -> Vec<String> {
    let dates: Vec<String> = t
        .runs
        .iter()
        .map(|r| r.started_at.get(..10).unwrap_or(&r.started_at).to_string())
        .collect();
    let distinct: BTreeSet<&String> = dates.iter().collect();
    if distinct.len() == dates.len() {
        dates
    } else {
        (1..=dates.len()).map(|i| i.to_string()).collect()
    }
}

fn charts_html(o: &mut String, t: &Trend) {
    if t.runs.len() < 2 {
        o.push_str("<p class=\"note\">Fewer than two runs: nothing to chart.</p>\n");
        return;
    }
    let ticks = tick_labels(t);
    let p99_lines: Vec<Line> = top_columns(t, CHART_KEYS)
        .into_iter()
        .enumerate()
        .map(|(i, k)| Line {
            name: k.to_string(),
            color: color(i),
            values: per_run(t, |r| r.p99_ms.get(k).copied()),
        })
        .collect();
    let colors = [DROP_COLOR, DISCONNECT_COLOR, MISSED_COLOR];
    let findings: Vec<Line> = FINDINGS
        .iter()
        .zip(colors)
        .enumerate()
        .map(|(i, (name, col))| Line {
            name: name.to_string(),
            color: col,
            values: per_run(t, |r| Some(r.counts()[i] as f64)),
        })
        .collect();
    let specs = [
        ("p99 over the runs", false, p99_lines),
        ("findings over the runs", true, findings),
    ];
    for (title, counts, lines) in specs {
        if lines.is_empty() {
            let _ = writeln!(o, "<p class=\"note\">{}: nothing to chart.</p>", esc(title));
            continue;
        }
        match chart(title, counts, &lines, &ticks) {
            Ok(svg) => {
                let _ = writeln!(o, "<figure>{svg}</figure>");
            }
            Err(e) => {
                let why = format!("The chart \u{201c}{title}\u{201d} could not be drawn: {e}");
                let _ = writeln!(o, "<p class=\"note\">{}</p>", esc(&why));
            }
        }
    }
}

/// `f` of each run, in order.
fn per_run(t: &Trend, f: impl Fn(&TrendRow) -> Option<f64>) -> Vec<Option<f64>> {
    t.runs.iter().map(f).collect()
}

/// The chart as an SVG string, or why it could not be drawn. `counts`: whole numbers on the
/// y axis, else ms; `ticks`: one x label per run.
fn chart(title: &str, counts: bool, lines: &[Line], ticks: &[String]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 380)).into_drawing_area();
        draw(&root, title, counts, lines, ticks).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The runs of consecutive values present, as points at x = run number (from 1).
fn segments(values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let at = |(i, v): (usize, &Option<f64>)| ((i + 1) as f64, v.filter(|v| v.is_finite()));
    let xy: Vec<(f64, Option<f64>)> = values.iter().enumerate().map(at).collect();
    let segs = xy.split(|(_, v)| v.is_none()).filter(|s| !s.is_empty());
    let present = |s: &[(f64, Option<f64>)]| -> Vec<(f64, f64)> {
        s.iter().filter_map(|(x, v)| Some((*x, (*v)?))).collect()
    };
    segs.map(present).collect()
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    counts: bool,
    lines: &[Line],
    ticks: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let n = ticks.len().max(1) as f64;
    let values = lines.iter().flat_map(|l| l.values.iter().flatten());
    let top = values
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let y_max = if top > 0.0 { top * 1.15 } else { 1.0 };
    let mut c = ChartBuilder::on(root)
        .caption(title, (FONT, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0.5f64..n + 0.5, 0f64..y_max)?;
    let x_fmt = |v: &f64| -> String {
        let i = v.round();
        if (v - i).abs() > 1e-6 || i < 1.0 {
            return String::new();
        }
        ticks.get(i as usize - 1).cloned().unwrap_or_default()
    };
    let y_fmt: &dyn Fn(&f64) -> String = if counts { &fmt_int } else { &tick_ms };
    c.configure_mesh()
        .x_labels(ticks.len().min(12))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(y_fmt)
        .x_desc("run")
        .y_desc(if counts { "count" } else { "p99 ms" })
        .light_line_style(LIGHT)
        .draw()?;
    for line in lines {
        let col = line.color;
        let segs = segments(&line.values);
        for seg in &segs {
            c.draw_series(LineSeries::new(seg.iter().copied(), col.stroke_width(2)))?;
        }
        let points = segs.into_iter().flatten();
        c.draw_series(points.map(|p| Circle::new(p, 3, col.filled())))?
            .label(line.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], col.stroke_width(2)));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BORDER)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn lat(p99: f64) -> Value {
        json!({"p50": p99, "p90": p99, "p99": p99, "p999": p99, "max": p99, "mean": p99})
    }

    /// A phase with operations (name, count, p99 ms) and deliveries (type, delivered, p99 ms).
    fn phase(ops: &[(&str, u64, f64)], deliveries: &[(&str, u64, f64)]) -> Value {
        let op = |&(n, c, p99): &(&str, u64, f64)| {
            (
                n.to_string(),
                json!({"count": c, "errors": 0, "latency_ms": lat(p99)}),
            )
        };
        let del = |&(n, d, p99): &(&str, u64, f64)| {
            let v = json!({"expected": d, "delivered": d, "missed": 0, "latency_ms": lat(p99)});
            (n.to_string(), v)
        };
        let ops: serde_json::Map<String, Value> = ops.iter().map(op).collect();
        let dels: serde_json::Map<String, Value> = deliveries.iter().map(del).collect();
        json!({"start_s": 0.0, "end_s": 60.0, "operations": ops, "deliveries": dels,
               "talkgroup_drops": 0, "console_disconnects": 0, "missed_deliveries": 0})
    }

    /// A run started on 2025-01-`day`, with `f` = (drops, disconnects, missed).
    fn run(label: &str, day: u32, verdict: &str, phases: Value, f: [u64; 3]) -> TrendRun {
        let tg_drop = json!({"t_s": 1.0, "phase": "steady", "console": "c-1", "talkgroup": 1001,
                             "detected_by": "audit", "recovered_after_s": null});
        let disc = json!({"t_s": 2.0, "phase": "steady", "console": "c-1",
                          "reason": "stream_end", "recovered_after_s": null});
        let summary = serde_json::from_value(json!({
            "schema": "rcload.summary/2", "rcload_version": "0.0.0", "profile": "soak",
            "seed": 7, "target": "mock", "started_at": format!("2025-01-{day:02}T01:00:00.000Z"),
            "duration_s": 600.0, "interrupted": false,
            "generator": {
                "actions_scheduled": 10, "actions_sent": 10, "skipped": {}, "throttled": 0,
                "lateness_ms": {"p50": 0.1, "p99": 0.5, "max": 1.0},
                "fell_behind": false, "lateness_limit_ms": 50.0
            },
            "operations": {}, "deliveries": {}, "phases": phases,
            "talkgroup_drops": vec![tg_drop; f[0] as usize],
            "console_disconnects": vec![disc; f[1] as usize], "unexpected_talkgroups": [],
            "console_downtime_s": {"total": 0.0, "consoles": {}}, "missed_deliveries": f[2],
            "probes": {"calls": 0, "errors": 0, "expected": 0, "delivered": 0, "missed": 0,
                       "latency_ms": lat(0.0)},
            "slo": [], "verdict": verdict, "warnings": [], "process": {"peak_rss_mb": null}
        }))
        .expect("synthetic summary deserializes");
        let label = label.to_string();
        TrendRun { label, summary }
    }

    /// Three nights, given out of order.
    fn nights() -> Vec<TrendRun> {
        let n2 = json!({
            "steady": phase(&[("console.login", 100, 40.0), ("call.group", 0, 0.0)],
                            &[("status", 50, 12.0)]),
            "teardown": phase(&[("console.logout", 40, 5.0)], &[]),
        });
        let n1 = json!({
            "steady": phase(&[("console.login", 100, 90.0)], &[("status", 0, 0.0)]),
            "shift_change": phase(&[("terminal.status", 10, 300.0)], &[]),
        });
        let n3 = json!({"steady": phase(&[("console.login", 50, 45.0)], &[])});
        vec![
            run("runs/n2|x", 2, "pass", n2, [0; 3]),
            run("runs/n1", 1, "fail", n1, [2, 1, 3]),
            run("runs/n3, \"odd\" <x>", 3, "invalid", n3, [0; 3]),
        ]
    }

    #[test]
    fn columns_are_the_sorted_union_without_teardown_or_empty_ones() {
        let t = build(nights());
        let labels: Vec<&str> = t.runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["runs/n1", "runs/n2|x", "runs/n3, \"odd\" <x>"]);
        let want = ["shift_change terminal.status", "steady console.login"];
        assert_eq!(t.columns, [want[0], want[1], "steady delivery.status"]);
        assert!(t.columns.iter().all(|c| !c.starts_with("teardown")));
        assert_eq!(
            (t.runs[0].verdict.as_str(), t.runs[0].counts()),
            ("fail", [2, 1, 3])
        );
        assert_eq!(t.runs[1].p99_ms.get("steady console.login"), Some(&40.0));
        let same_day = vec![
            run("b", 1, "pass", json!({}), [0; 3]),
            run("a", 1, "pass", json!({}), [0; 3]),
        ];
        let t = build(same_day);
        assert_eq!([&t.runs[0].label, &t.runs[1].label], ["a", "b"]);
        assert!(t.columns.is_empty());
    }

    #[test]
    fn csv_has_every_column_and_empty_cells_for_missing_keys() {
        let csv = to_csv(&build(nights()));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines,
            [
                "run,started_at,profile,verdict,talkgroup_drops,console_disconnects,\
                 missed_deliveries,shift_change terminal.status p99_ms,\
                 steady console.login p99_ms,steady delivery.status p99_ms",
                "runs/n1,2025-01-01T01:00:00.000Z,soak,fail,2,1,3,300,90,",
                "runs/n2|x,2025-01-02T01:00:00.000Z,soak,pass,0,0,0,,40,12",
                "\"runs/n3, \"\"odd\"\" <x>\",2025-01-03T01:00:00.000Z,soak,invalid,0,0,0,,45,",
            ]
        );
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn markdown_shows_verdicts_and_escapes() {
        let md = to_markdown(&build(nights()));
        assert!(md.starts_with("## rcload trend\n"), "{md}");
        for v in [
            "**FAIL**",
            "| PASS |",
            "**INVALID**",
            "runs/n2\\|x",
            "| 300.0 |",
            "| 12.0 |",
        ] {
            assert!(md.contains(v), "{v}: {md}");
        }
        assert!(!md.contains("<x>") && !md.contains("left out"), "{md}");
    }

    #[test]
    fn wide_runs_show_twelve_p99_columns_and_say_so() {
        let names: Vec<String> = (0..14).map(|i| format!("op{i:02}")).collect();
        let ops: Vec<(&str, u64, f64)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), 10, 100.0 + i as f64))
            .collect();
        let t = build(vec![run(
            "r",
            1,
            "pass",
            json!({"steady": phase(&ops, &[])}),
            [0; 3],
        )]);
        let md = to_markdown(&t);
        assert!(md.contains("2 of 14 p99 columns left out"), "{md}");
        assert!(md.contains("trend.csv has them all"), "{md}");
        // The two lowest are left out of the table, not of the CSV.
        assert!(
            !md.contains("op01") && md.contains("op02") && md.contains("op13"),
            "{md}"
        );
        assert_eq!(
            to_csv(&t).lines().next().map(|l| l.split(',').count()),
            Some(21)
        );
    }

    #[test]
    fn html_charts_three_runs_and_not_one() {
        let html = to_html(&build(nights()));
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert_eq!(html.matches("<svg").count(), 2, "{html}");
        assert!(html.contains("p99 over the runs") && html.contains("findings over the runs"));
        assert!(!html.contains("<script") && !html.contains("could not be drawn"));
        assert!(html.contains("&lt;x&gt;") && !html.contains("<x>"));
        assert!(html.contains(">INVALID<") && html.contains(">FAIL<"));
        let one = to_html(&build(nights().into_iter().take(1).collect()));
        assert!(one.contains("Fewer than two runs") && !one.contains("<svg"));
        let none = to_html(&build(Vec::new()));
        assert!(none.contains("No runs.") && !none.contains("<svg"));
    }
}
