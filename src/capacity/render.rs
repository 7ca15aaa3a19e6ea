//! The capacity report's files: `capacity.csv` (one row per stage), `capacity.md` and
//! `capacity.html` (the answer, the stages, and plotters SVG charts of latency, throughput and
//! failures against the offered load, with the knee marked).

use super::model::{CapacityReport, StageResult};
use crate::metrics::row::CellKey;
use crate::report::chart_style::{BORDER, DROP_COLOR, FONT, LIGHT, color};
use plotters::prelude::*;
use rcload_api::Op;
use std::fmt::Write as _;

/// Operations and delivery types charted, when the stages have them.
const KEYS: [CellKey; 6] = [
    CellKey::Op(Op::ConsoleLogin),
    CellKey::Op(Op::TerminalRegister),
    CellKey::Op(Op::TerminalStatus),
    CellKey::Op(Op::CallEmergency),
    CellKey::Delivery("emergency.alert"),
    CellKey::Delivery("status"),
];

/// The sentence management asks for.
pub fn answer(r: &CapacityReport) -> String {
    let mut s = match (r.max_passing, r.first_failing) {
        (Some(p), Some(f)) => format!("Passes up to {} = {p}; fails at {f}.", r.vary,),
        (Some(p), None) => format!("Passes every level tried, up to {} = {p}.", r.vary),
        (None, Some(f)) => format!(
            "Fails at every level tried, down to {} = {f}: its capacity is below that (--floor).",
            r.vary
        ),
        (None, None) => "No stage finished.".to_string(),
    };
    match (
        r.margin_offered,
        r.max_passing_offered_per_s,
        r.nominal_offered_per_s,
    ) {
        (Some(m), Some(at), Some(nominal)) => {
            let _ = write!(
                s,
                " Margin over the profile as written: {m:.2}× its offered load ({at:.1} \
                 actions/s at the highest passing level, {nominal:.1}/s as written)."
            );
        }
        _ => {
            if let (Some(m), Some(_)) = (r.margin, r.nominal) {
                let _ = write!(s, " Margin over the profile as written: {m:.2}×.");
            }
        }
    }
    if r.nominal.is_some() && r.first_failing.is_some_and(|f| f <= 1.0 + 1e-9) {
        s.push_str(" The realistic level (1.0) FAILS.");
    }
    if let Some(f) = &r.first_failed_slo {
        if f.text.is_empty() {
            let _ = write!(
                s,
                " First objective to fail: {} ({} against a limit of {} {}).",
                f.name,
                f.observed
                    .map(|o| format!("{o} {}", f.unit))
                    .unwrap_or_else(|| "no value".into()),
                f.limit,
                f.unit
            );
        } else {
            let _ = write!(s, " First objective to fail: {}.", f.text);
        }
    }
    if r.interrupted {
        s.push_str(" The search was interrupted: these are the stages it finished.");
    }
    for w in &r.warnings {
        let _ = write!(s, " Warning: {w}.");
    }
    s
}

pub fn csv(r: &CapacityReport) -> String {
    let mut keys: Vec<String> = Vec::new();
    for st in &r.stages {
        let names = st
            .operations
            .keys()
            .cloned()
            .chain(st.deliveries.keys().map(|k| format!("delivery.{k}")));
        for name in names {
            if !keys.contains(&name) {
                keys.push(name);
            }
        }
    }
    let mut out = String::from(
        "stage,level,passed,offered_per_s,achieved_per_s,error_rate,talkgroup_drops,console_disconnects,missed_deliveries,fell_behind,measured_again,first_failed_slo",
    );
    for k in &keys {
        let _ = write!(out, ",{k}.p50_ms,{k}.p99_ms");
    }
    out.push('\n');
    for st in &r.stages {
        let _ = write!(
            out,
            "{},{},{},{:.2},{:.2},{:.5},{},{},{},{},{},{}",
            st.index,
            st.level,
            st.passed,
            st.offered_per_s,
            st.achieved_per_s,
            st.error_rate,
            st.talkgroup_drops,
            st.console_disconnects,
            st.missed_deliveries,
            st.fell_behind,
            st.measured_again,
            st.failed_slos
                .first()
                .map(|f| f.name.replace(',', ";"))
                .unwrap_or_default()
        );
        for k in &keys {
            let p = match k.strip_prefix("delivery.") {
                Some(t) => st.deliveries.get(t),
                None => st.operations.get(k),
            };
            match p {
                Some(p) => {
                    let _ = write!(out, ",{},{}", p.p50_ms, p.p99_ms);
                }
                None => out.push_str(",,"),
            }
        }
        out.push('\n');
    }
    out
}

pub fn markdown(r: &CapacityReport) -> String {
    let mut o = format!(
        "# Capacity: {} against {}\n\n**{}**\n\nVaried: `{}`. Stages:\n\n| stage | level | verdict | offered/s | achieved/s | errors | drops | disconnects | why |\n|---|---|---|---|---|---|---|---|---|\n",
        r.profile,
        r.target,
        answer(r),
        r.vary
    );
    for st in &r.stages {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {:.1} | {:.1} | {:.2} % | {} | {} | {} |",
            st.index,
            st.level,
            st.verdict_label(),
            st.offered_per_s,
            st.achieved_per_s,
            st.error_rate * 100.0,
            st.talkgroup_drops,
            st.console_disconnects,
            st.reason.clone().unwrap_or_default().replace('|', "\\|")
        );
    }
    o
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

type Series = Vec<(String, Vec<(f64, f64)>)>;

/// One line chart: `series` against the offered load, the knee marked.
fn chart(title: &str, y_label: &str, series: &Series, knee: Option<f64>, log: bool) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 360)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let xs: Vec<f64> = series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.0))
            .collect();
        let ys: Vec<f64> = series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.1))
            .collect();
        let x_max = xs.iter().copied().fold(1.0, f64::max) * 1.05;
        let y_max = ys.iter().copied().fold(1e-3, f64::max) * 1.2;
        let y_min = ys
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(y_max, f64::min)
            .max(1e-3)
            / 1.5;
        let draw = |root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>| -> Result<(), Box<dyn std::error::Error + '_>> {
            let (lo, hi) = if log { (y_min.log10(), y_max.log10()) } else { (0.0, y_max) };
            let mut c = ChartBuilder::on(root)
                .caption(title, (FONT, 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(64)
                .build_cartesian_2d(0f64..x_max, lo..hi)?;
            let fmt = |v: &f64| {
                if log {
                    let x = 10f64.powf(*v);
                    if x >= 10.0 { format!("{x:.0}") } else { format!("{x:.2}") }
                } else {
                    format!("{v:.1}")
                }
            };
            c.configure_mesh()
                .x_desc("offered actions per second")
                .y_desc(y_label)
                .y_label_formatter(&fmt)
                .light_line_style(LIGHT)
                .draw()?;
            let tr = |v: f64| if log { v.max(1e-3).log10() } else { v };
            for (i, (name, pts)) in series.iter().enumerate() {
                let col = color(i);
                let pts: Vec<(f64, f64)> = pts.iter().map(|(x, y)| (*x, tr(*y))).collect();
                c.draw_series(LineSeries::new(pts.iter().copied(), col.stroke_width(2)))?
                    .label(name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], col.stroke_width(2)));
                c.draw_series(pts.iter().map(|p| Circle::new(*p, 3, col.filled())))?;
            }
            if let Some(k) = knee {
                let red = DROP_COLOR;
                c.draw_series(LineSeries::new(vec![(k, lo), (k, hi)], red.stroke_width(1)))?
                    .label("knee (first failing level)")
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], red));
            }
            c.configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BORDER)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()?;
            Ok(())
        };
        let _ = draw(&root);
        let _ = root.present();
    }
    svg
}

pub fn html(r: &CapacityReport) -> String {
    let knee = r
        .first_failing
        .and_then(|f| r.counted().find(|s| (s.level - f).abs() < 1e-9))
        .map(|s| s.offered_per_s);
    let mut stages: Vec<&StageResult> = r.counted().collect();
    stages.sort_by(|a, b| a.offered_per_s.total_cmp(&b.offered_per_s));
    let mut latency: Series = Vec::new();
    for k in KEYS {
        for (stat, pick) in [("p99", true), ("p50", false)] {
            let pts: Vec<(f64, f64)> = stages
                .iter()
                .filter_map(|s| {
                    let p = match k {
                        CellKey::Delivery(t) => s.deliveries.get(t),
                        CellKey::Op(op) => s.operations.get(op.name()),
                    }?;
                    let v = if pick { p.p99_ms } else { p.p50_ms };
                    Some((s.offered_per_s, v.max(0.001)))
                })
                .collect();
            if !pts.is_empty() {
                latency.push((format!("{k} {stat}"), pts));
            }
        }
    }
    let throughput: Series = vec![
        (
            "offered".into(),
            stages
                .iter()
                .map(|s| (s.offered_per_s, s.offered_per_s))
                .collect(),
        ),
        (
            "achieved (ok)".into(),
            stages
                .iter()
                .map(|s| (s.offered_per_s, s.achieved_per_s))
                .collect(),
        ),
    ];
    let failures: Series = vec![
        (
            "errors (% of requests)".into(),
            stages
                .iter()
                .map(|s| (s.offered_per_s, s.error_rate * 100.0))
                .collect(),
        ),
        (
            "talkgroup drops".into(),
            stages
                .iter()
                .map(|s| (s.offered_per_s, s.talkgroup_drops as f64))
                .collect(),
        ),
        (
            "console disconnects".into(),
            stages
                .iter()
                .map(|s| (s.offered_per_s, s.console_disconnects as f64))
                .collect(),
        ),
    ];
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Capacity: {p}</title>\
         <style>body{{font-family:sans-serif;margin:24px;max-width:960px}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th{{background:#f4f4f4}}\
         .fail{{color:#b00;font-weight:bold}}.answer{{font-size:1.2em;padding:12px;background:#f4f8ff;border:1px solid #cde}}</style>\
         </head><body><h1>Capacity: {p}</h1><p>Target: {t}. Varied: <code>{v}</code>.</p>\
         <p class=\"answer\" id=\"answer\">{a}</p>",
        p = esc(&r.profile),
        t = esc(&r.target),
        v = esc(&r.vary),
        a = esc(&answer(r))
    );
    for (id, title, y, s, log) in [
        (
            "chart-latency",
            "Latency against offered load",
            "ms (log)",
            &latency,
            true,
        ),
        (
            "chart-throughput",
            "Achieved against offered",
            "per second",
            &throughput,
            false,
        ),
        (
            "chart-failures",
            "Errors and findings against offered load",
            "count / %",
            &failures,
            false,
        ),
    ] {
        let _ = write!(
            o,
            "<figure id=\"{id}\">{}</figure>",
            chart(title, y, s, knee, log)
        );
    }
    o.push_str("<h2>Stages</h2><table><tr><th>stage</th><th>level</th><th>verdict</th><th>offered/s</th><th>achieved/s</th><th>errors</th><th>drops</th><th>disconnects</th><th>why</th><th>run</th></tr>");
    for st in &r.stages {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.2} %</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{d}/report.html\">{d}</a></td></tr>",
            st.index,
            st.level,
            if st.passed || st.measured_again {
                ""
            } else {
                "fail"
            },
            st.verdict_label(),
            st.offered_per_s,
            st.achieved_per_s,
            st.error_rate * 100.0,
            st.talkgroup_drops,
            st.console_disconnects,
            esc(&st.reason.clone().unwrap_or_default()),
            d = esc(&st.run_dir)
        );
    }
    o.push_str("</table></body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::model::{FailedSlo, Percentiles};

    fn stage(i: usize, level: f64, passed: bool) -> StageResult {
        StageResult {
            index: i,
            level,
            run_dir: format!("stage-{i:02}-{level}"),
            passed,
            reason: (!passed).then(|| "terminal.status p99 failed".into()),
            failed_slos: if passed {
                vec![]
            } else {
                vec![FailedSlo {
                    name: "terminal.status p99".into(),
                    limit: 50.0,
                    observed: Some(812.5),
                    unit: "ms".into(),
                    text: "terminal.status p99: observed 812.5 ms, limit 50.0 ms".into(),
                }]
            },
            offered_per_s: 100.0 * level,
            achieved_per_s: 100.0 * level.min(2.6),
            error_rate: 0.0,
            talkgroup_drops: 0,
            console_disconnects: 0,
            missed_deliveries: 0,
            fell_behind: false,
            measured_again: false,
            operations: [(
                "terminal.status".to_string(),
                Percentiles {
                    p50_ms: 5.0,
                    p99_ms: 9.0,
                },
            )]
            .into(),
            deliveries: [(
                "status".to_string(),
                Percentiles {
                    p50_ms: 6.0,
                    p99_ms: 11.0,
                },
            )]
            .into(),
        }
    }

    fn report() -> CapacityReport {
        let mut r = CapacityReport {
            schema: crate::capacity::model::CAPACITY_SCHEMA.into(),
            profile: "p".into(),
            target: "t".into(),
            vary: "scale".into(),
            nominal: Some(1.0),
            stages: vec![
                stage(1, 1.0, true),
                stage(2, 2.0, true),
                stage(3, 3.0, false),
                stage(4, 2.5, true),
            ],
            max_passing: None,
            first_failing: None,
            margin: None,
            nominal_offered_per_s: Some(100.0),
            max_passing_offered_per_s: None,
            margin_offered: None,
            warnings: Vec::new(),
            first_failed_slo: None,
            interrupted: false,
        };
        r.conclude();
        r
    }

    #[test]
    fn the_answer_names_the_level_the_margin_and_the_first_failure() {
        let r = report();
        assert_eq!(
            answer(&r),
            "Passes up to scale = 2.5; fails at 3. Margin over the profile as written: 2.50× its \
             offered load (250.0 actions/s at the highest passing level, 100.0/s as written). \
             First objective to fail: terminal.status p99: observed 812.5 ms, limit 50.0 ms."
        );
        let csv = csv(&r);
        assert!(csv.lines().next().unwrap().ends_with("terminal.status.p50_ms,terminal.status.p99_ms,delivery.status.p50_ms,delivery.status.p99_ms"), "{csv}");
        assert_eq!(csv.lines().count(), 5);
        assert!(markdown(&r).contains("| 3 | 3 | FAIL |"));
        let html = html(&r);
        assert_eq!(html.matches("<figure").count(), 3);
        assert!(html.contains("knee"));
    }

    #[test]
    fn a_stage_measured_again_is_shown_but_not_counted() {
        let mut r = report();
        // Stage 5 at 2.8 fell behind and was measured again (stage 6, a pass).
        let mut behind = stage(5, 2.8, false);
        behind.fell_behind = true;
        behind.failed_slos.clear();
        behind.mark_measured_again();
        r.stages.push(behind);
        r.stages.push(stage(6, 2.8, true));
        r.conclude();
        assert_eq!(r.max_passing, Some(2.8));
        assert_eq!(r.first_failing, Some(3.0));
        let md = markdown(&r);
        assert!(
            md.contains("| 5 | 2.8 | not counted |") && md.contains("measured again"),
            "{md}"
        );
        assert!(md.contains("| 6 | 2.8 | pass |"), "{md}");
        assert!(csv(&r).lines().nth(5).unwrap().contains(",true,true,"));
        assert!(html(&r).contains(">not counted<"));
    }
}
