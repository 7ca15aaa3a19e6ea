//! `report.html`: one self-contained page (inline style and SVG, no scripts, no network),
//! rendered with minijinja from `report.html.j2`. The context is built here with every number
//! already formatted, so the template only lays out text; minijinja escapes all of it.

use super::ReportError;
use super::charts::Chart;
use super::model::ReportData;
use super::summary::{LatencyMs, Summary};
use serde::Serialize;

const TEMPLATE: &str = include_str!("report.html.j2");
/// Most rows shown in a findings table.
const MAX_ROWS: usize = 500;

#[derive(Serialize)]
struct Page {
    profile: String,
    seed: u64,
    target: String,
    started_at: String,
    duration: String,
    version: String,
    verdict: String,
    passed: bool,
    interrupted: bool,
    rebuilt: Option<String>,
    warnings: Vec<String>,
    slo: Vec<Vec<String>>,
    slo_passed: Vec<bool>,
    charts: Vec<ChartView>,
    drops: Table,
    disconnects: Table,
    unexpected: Table,
    operations: Table,
    deliveries: Table,
    phases: Vec<PhaseView>,
    generator: Vec<(String, String)>,
    fell_behind: bool,
}

#[derive(Serialize)]
struct ChartView {
    id: String,
    title: String,
    svg: String,
}

#[derive(Serialize, Default)]
struct Table {
    rows: Vec<Vec<String>>,
    more: usize,
}

#[derive(Serialize)]
struct PhaseView {
    name: String,
    span: String,
    operations: Table,
    deliveries: Table,
    findings: String,
}

fn ms(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else if v < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn secs(v: f64) -> String {
    format!("{v:.1}")
}

fn limited(rows: Vec<Vec<String>>) -> Table {
    let more = rows.len().saturating_sub(MAX_ROWS);
    Table {
        rows: rows.into_iter().take(MAX_ROWS).collect(),
        more,
    }
}

fn lat(l: &LatencyMs) -> [String; 4] {
    [ms(l.p50), ms(l.p99), ms(l.p999), ms(l.max)]
}

fn slo_value(v: f64, unit: &str) -> String {
    match unit {
        "ms" => format!("{} ms", ms(v)),
        "ratio" => format!("{:.3} %", v * 100.0),
        _ => format!("{v:.0}"),
    }
}

fn recovered(r: Option<f64>) -> String {
    r.map(|s| format!("{} s", secs(s)))
        .unwrap_or_else(|| "not recovered".into())
}

fn page(data: &ReportData, charts: &[Chart]) -> Page {
    let s: &Summary = &data.summary;
    let slo = s
        .slo
        .iter()
        .map(|x| {
            vec![
                x.name.clone(),
                slo_value(x.limit, &x.unit),
                x.observed
                    .map(|v| slo_value(v, &x.unit))
                    .unwrap_or_else(|| "—".into()),
                if x.passed { "PASS" } else { "FAIL" }.into(),
                x.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let operations = s
        .operations
        .iter()
        .map(|(name, o)| {
            let l = &o.latency_ms;
            let errors: u64 = o.errors.values().sum();
            vec![
                name.clone(),
                o.count.to_string(),
                o.ok.to_string(),
                errors.to_string(),
                ms(l.p50),
                ms(l.p90),
                ms(l.p99),
                ms(l.p999),
                ms(l.max),
                ms(o.service_ms.p99),
            ]
        })
        .collect();
    let deliveries = s
        .deliveries
        .iter()
        .map(|(name, d)| {
            let mut r = vec![
                name.clone(),
                d.expected.to_string(),
                d.delivered.to_string(),
                d.missed.to_string(),
            ];
            r.extend(lat(&d.latency_ms));
            r
        })
        .collect();
    let mut phases: Vec<(&String, &super::summary::PhaseSummary)> = s.phases.iter().collect();
    phases.sort_by(|a, b| a.1.start_s.total_cmp(&b.1.start_s).then(a.0.cmp(b.0)));
    let phases = phases
        .into_iter()
        .map(|(name, p)| PhaseView {
            name: name.clone(),
            span: format!("{} s to {} s", secs(p.start_s), secs(p.end_s)),
            operations: Table {
                rows: p
                    .operations
                    .iter()
                    .map(|(op, o)| {
                        let mut r = vec![op.clone(), o.count.to_string(), o.errors.to_string()];
                        r.extend(lat(&o.latency_ms));
                        r
                    })
                    .collect(),
                more: 0,
            },
            deliveries: Table {
                rows: p
                    .deliveries
                    .iter()
                    .map(|(t, d)| {
                        let mut r = vec![
                            t.clone(),
                            d.expected.to_string(),
                            d.delivered.to_string(),
                            d.missed.to_string(),
                        ];
                        r.extend(lat(&d.latency_ms));
                        r
                    })
                    .collect(),
                more: 0,
            },
            findings: format!(
                "{} talkgroup drops, {} console disconnects, {} missed deliveries",
                p.talkgroup_drops, p.console_disconnects, p.missed_deliveries
            ),
        })
        .collect();
    let g = &s.generator;
    let skipped: u64 = g.skipped.values().sum();
    let generator = vec![
        ("actions scheduled".into(), g.actions_scheduled.to_string()),
        ("actions sent".into(), g.actions_sent.to_string()),
        (
            "skipped".into(),
            if g.skipped.is_empty() {
                "0".into()
            } else {
                let parts: Vec<String> =
                    g.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
                format!("{skipped} ({})", parts.join(", "))
            },
        ),
        ("in-flight cap hits".into(), g.throttled.to_string()),
        (
            "lateness p50 / p99 / max".into(),
            format!(
                "{} / {} / {} ms (limit p99 {} ms)",
                ms(g.lateness_ms.p50),
                ms(g.lateness_ms.p99),
                ms(g.lateness_ms.max),
                ms(g.lateness_limit_ms)
            ),
        ),
        (
            "fell behind".into(),
            if g.fell_behind { "YES" } else { "no" }.into(),
        ),
        (
            "peak memory (RSS)".into(),
            s.process
                .peak_rss_mb
                .map(|m| format!("{m:.1} MB"))
                .unwrap_or_else(|| "unknown".into()),
        ),
    ];
    Page {
        profile: s.profile.clone(),
        seed: s.seed,
        target: s.target.clone(),
        started_at: s.started_at.clone(),
        duration: format!("{} s", secs(s.duration_s)),
        version: s.rcload_version.clone(),
        verdict: s.verdict.to_uppercase(),
        passed: s.verdict.eq_ignore_ascii_case("pass"),
        interrupted: s.interrupted,
        rebuilt: data.rebuilt.clone(),
        warnings: s.warnings.clone(),
        slo_passed: s.slo.iter().map(|x| x.passed).collect(),
        slo,
        charts: charts
            .iter()
            .map(|c| ChartView {
                id: c.id.to_string(),
                title: c.title.clone(),
                // Inline in HTML5 an <svg> needs no namespace declaration.
                svg: c
                    .svg
                    .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1),
            })
            .collect(),
        drops: limited(
            s.talkgroup_drops
                .iter()
                .map(|d| {
                    vec![
                        secs(d.t_s),
                        d.phase.clone(),
                        d.console.clone(),
                        d.talkgroup.to_string(),
                        d.detected_by.clone(),
                        recovered(d.recovered_after_s),
                    ]
                })
                .collect(),
        ),
        disconnects: limited(
            s.console_disconnects
                .iter()
                .map(|d| {
                    vec![
                        secs(d.t_s),
                        d.phase.clone(),
                        d.console.clone(),
                        d.reason.clone(),
                        recovered(d.recovered_after_s),
                    ]
                })
                .collect(),
        ),
        unexpected: limited(
            s.unexpected_talkgroups
                .iter()
                .map(|u| {
                    vec![
                        secs(u.t_s),
                        u.phase.clone(),
                        u.console.clone(),
                        u.talkgroup.to_string(),
                    ]
                })
                .collect(),
        ),
        operations: Table {
            rows: operations,
            more: 0,
        },
        deliveries: Table {
            rows: deliveries,
            more: 0,
        },
        phases,
        generator,
        fell_behind: g.fell_behind,
    }
}

/// Render the page; `charts` are [`super::charts::render_all`]'s.
pub fn render(data: &ReportData, charts: &[Chart]) -> Result<String, ReportError> {
    let fail = |e: minijinja::Error| ReportError::Render {
        what: "report.html".into(),
        message: e.to_string(),
    };
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE).map_err(fail)?;
    env.get_template("report.html")
        .and_then(|t| t.render(minijinja::value::Serde(page(data, charts))))
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts;

    #[test]
    fn a_page_with_the_slo_table_five_charts_and_no_network() {
        let mut data = charts::tests::sample(60);
        data.summary.profile = "night <b>shift</b>".into();
        data.rebuilt = Some("rebuilt from raw data".into());
        let c = charts::render_all(&data).unwrap();
        let html = render(&data, &c).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("id=\"slo\""));
        assert_eq!(html.matches("<figure id=\"chart-").count(), 5);
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script"));
        assert!(html.contains("night &lt;b&gt;shift") && !html.contains("<b>shift"));
        assert!(html.contains("rebuilt from raw data"));
        for s in &data.summary.slo {
            assert!(
                html.contains(
                    &s.name
                        .replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                ),
                "{}",
                s.name
            );
        }
    }
}
