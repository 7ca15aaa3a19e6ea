//! `report.html`: one self-contained HTML5 file (inline CSS, inline SVG charts, no scripts, no
//! network) rendered with minijinja from `report.html.j2`. The Rust side builds a plain
//! context of already formatted strings; the template only lays them out, auto-escaped
//! (the template is registered as `report.html`, which turns HTML escaping on).

use super::ReportError;
use super::charts::Chart;
use super::groups::{GroupSummary, worst_first};
use super::heatmap::HeatMap;
use super::model::ReportData;
use super::summary::{DeliverySummary, LatencyMs, PhaseSummary, Summary};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeMap;

const TEMPLATE: &str = include_str!("report.html.j2");
const TEMPLATE_NAME: &str = "report.html";
/// Findings tables show at most this many rows each.
const MAX_ROWS: usize = 500;
/// The heat map shows at most this many rooms, the worst.
const MAX_HEAT_ROOMS: usize = 50;
/// The heat map's time labels stand every this many slices.
const HEAT_LABEL_EVERY: usize = 10;
/// The faintest shade of a heat map cell with findings (fainter would not show).
const MIN_ALPHA: f64 = 0.05;

/// Render the HTML report.
pub fn render(data: &ReportData, charts: &[Chart]) -> Result<String, ReportError> {
    let fail = |e: minijinja::Error| ReportError::Render {
        what: "report.html".to_string(),
        message: format!("{e:#}"),
    };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template(TEMPLATE_NAME, TEMPLATE).map_err(fail)?;
    let tmpl = env.get_template(TEMPLATE_NAME).map_err(fail)?;
    let ctx = context(data, charts);
    tmpl.render(minijinja::value::Serde(&ctx)).map_err(fail)
}

#[derive(Serialize)]
struct Ctx<'a> {
    profile: &'a str,
    seed: u64,
    target: &'a str,
    transport: Option<&'a str>,
    started_at: &'a str,
    duration: String,
    version: &'a str,
    verdict: String,
    /// `pass`, `fail` or `invalid` (the verdict's CSS class).
    verdict_class: &'static str,
    /// Why, first reason first.
    verdict_reasons: &'a [String],
    interrupted: bool,
    rebuilt: Option<&'a str>,
    warnings: &'a [String],
    slo: Vec<SloRow<'a>>,
    charts: Vec<ChartCtx<'a>>,
    drops: Listing<DropRow<'a>>,
    disconnects: Listing<DisconnectRow<'a>>,
    unexpected: Listing<UnexpectedRow<'a>>,
    /// The control rooms' table, then the disciplines' (each only when there are some).
    groups: Vec<GroupTable<'a>>,
    heat: Option<HeatCtx<'a>>,
    downtime: String,
    missed_deliveries: u64,
    operations: Vec<OpRow<'a>>,
    deliveries: Vec<DeliveryRow<'a>>,
    phases: Vec<PhaseCtx<'a>>,
    generator: GeneratorCtx,
}

#[derive(Serialize)]
struct SloRow<'a> {
    name: &'a str,
    limit: String,
    observed: String,
    passed: bool,
    note: &'a str,
}

#[derive(Serialize)]
struct ChartCtx<'a> {
    id: &'a str,
    title: &'a str,
    /// The SVG without its XML namespace attribute (not needed inline in HTML5).
    svg: String,
}

#[derive(Serialize)]
struct Listing<T> {
    rows: Vec<T>,
    /// Rows left out.
    more: usize,
}

impl<T> Listing<T> {
    fn of<'s, S>(items: &'s [S], f: impl Fn(&'s S) -> T) -> Self {
        Listing {
            rows: items.iter().take(MAX_ROWS).map(f).collect(),
            more: items.len().saturating_sub(MAX_ROWS),
        }
    }
}

#[derive(Serialize)]
struct DropRow<'a> {
    t: String,
    phase: &'a str,
    console: &'a str,
    talkgroup: u32,
    detected_by: &'a str,
    last_ok: String,
    outage: String,
    recovered: String,
}

#[derive(Serialize)]
struct DisconnectRow<'a> {
    t: String,
    phase: &'a str,
    console: &'a str,
    reason: &'a str,
    last_ok: String,
    outage: String,
    recovered: String,
}

#[derive(Serialize)]
struct UnexpectedRow<'a> {
    t: String,
    phase: &'a str,
    console: &'a str,
    talkgroup: u32,
}

#[derive(Serialize)]
struct GroupTable<'a> {
    /// `rooms` or `disciplines` (the table's id).
    id: &'static str,
    title: &'static str,
    /// The first column's name.
    column: &'static str,
    /// All of them, the worst first.
    rows: Vec<GroupRow<'a>>,
}

#[derive(Serialize)]
struct GroupRow<'a> {
    id: &'a str,
    consoles: u64,
    drops: u64,
    disconnects: u64,
    downtime: String,
    delivered: u64,
    missed: u64,
    p50: String,
    p99: String,
}

#[derive(Serialize)]
struct HeatCtx<'a> {
    caption: String,
    /// Over the slices, every [`HEAT_LABEL_EVERY`].
    labels: Vec<HeatLabel>,
    /// The worst rooms, at most [`MAX_HEAT_ROOMS`].
    rows: Vec<HeatRow<'a>>,
    /// Rooms left out.
    more: usize,
}

#[derive(Serialize)]
struct HeatLabel {
    /// Slices it stands over.
    span: usize,
    /// `120 s`.
    text: String,
}

#[derive(Serialize)]
struct HeatRow<'a> {
    room: &'a str,
    cells: Vec<HeatCell>,
}

#[derive(Serialize)]
struct HeatCell {
    /// The shade; none for a slice without findings.
    style: Option<String>,
    /// `room01 120-122 s: 3 findings`.
    title: String,
}

#[derive(Serialize)]
struct OpRow<'a> {
    name: &'a str,
    count: u64,
    ok: u64,
    errors: u64,
    /// `http_500: 7, timeout: 2`.
    error_kinds: String,
    p50: String,
    p90: String,
    p99: String,
    p999: String,
    max: String,
    service_p99: String,
}

#[derive(Serialize)]
struct DeliveryRow<'a> {
    name: &'a str,
    expected: u64,
    delivered: u64,
    missed: u64,
    p50: String,
    p99: String,
    p999: String,
    max: String,
}

#[derive(Serialize)]
struct PhaseOpRow<'a> {
    name: &'a str,
    count: u64,
    errors: u64,
    p50: String,
    p99: String,
    p999: String,
    max: String,
}

#[derive(Serialize)]
struct PhaseCtx<'a> {
    name: &'a str,
    span: String,
    operations: Vec<PhaseOpRow<'a>>,
    deliveries: Vec<DeliveryRow<'a>>,
    drops: u64,
    disconnects: u64,
    missed: u64,
}

#[derive(Serialize)]
struct GeneratorCtx {
    scheduled: u64,
    sent: u64,
    skipped: u64,
    skipped_kinds: String,
    throttled: u64,
    lateness_p50: String,
    lateness_p99: String,
    lateness_max: String,
    lateness_limit: String,
    fell_behind: bool,
}

fn context<'a>(data: &'a ReportData, charts: &'a [Chart]) -> Ctx<'a> {
    let s = &data.summary;
    let g = &s.generator;
    Ctx {
        profile: &s.profile,
        seed: s.seed,
        target: &s.target,
        transport: data.transport.as_deref(),
        started_at: &s.started_at,
        duration: duration(s.duration_s),
        version: &s.rcload_version,
        verdict: s.verdict.shouted().to_string(),
        verdict_class: s.verdict.as_str(),
        verdict_reasons: &s.verdict_reasons,
        interrupted: s.interrupted,
        rebuilt: data.rebuilt.as_deref(),
        warnings: &s.warnings,
        slo: s
            .slo
            .iter()
            .map(|r| SloRow {
                name: &r.name,
                limit: value(Some(r.limit), &r.unit),
                observed: value(r.observed, &r.unit),
                passed: r.passed,
                note: r.note.as_deref().unwrap_or(""),
            })
            .collect(),
        charts: charts
            .iter()
            .map(|c| ChartCtx {
                id: c.id,
                title: &c.title,
                svg: c
                    .svg
                    .replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1),
            })
            .collect(),
        drops: Listing::of(&s.talkgroup_drops, |d| DropRow {
            t: secs(d.t_s),
            phase: &d.phase,
            console: &d.console,
            talkgroup: d.talkgroup,
            detected_by: &d.detected_by,
            last_ok: secs(d.last_ok_s),
            outage: super::markdown::outage(d.outage_s, d.recovered_after_s),
            recovered: recovered(d.recovered_after_s),
        }),
        disconnects: Listing::of(&s.console_disconnects, |d| DisconnectRow {
            t: secs(d.t_s),
            phase: &d.phase,
            console: &d.console,
            reason: &d.reason,
            last_ok: secs(d.last_ok_s),
            outage: super::markdown::outage(d.outage_s, d.recovered_after_s),
            recovered: recovered(d.recovered_after_s),
        }),
        unexpected: Listing::of(&s.unexpected_talkgroups, |u| UnexpectedRow {
            t: secs(u.t_s),
            phase: &u.phase,
            console: &u.console,
            talkgroup: u.talkgroup,
        }),
        groups: group_tables(s),
        heat: data.heat.as_ref().map(heat_ctx),
        downtime: format!(
            "{} over {} console(s)",
            duration(s.console_downtime_s.total),
            s.console_downtime_s.consoles.len()
        ),
        missed_deliveries: s.missed_deliveries,
        operations: s
            .operations
            .iter()
            .map(|(name, o)| OpRow {
                name,
                count: o.count,
                ok: o.ok,
                errors: o.errors.values().sum(),
                error_kinds: kinds(&o.errors),
                p50: ms(o.latency_ms.p50),
                p90: ms(o.latency_ms.p90),
                p99: ms(o.latency_ms.p99),
                p999: ms(o.latency_ms.p999),
                max: ms(o.latency_ms.max),
                service_p99: ms(o.service_ms.p99),
            })
            .collect(),
        deliveries: delivery_rows(&s.deliveries),
        phases: phases_in_time_order(s)
            .into_iter()
            .map(|(name, p)| PhaseCtx {
                name,
                span: format!("{} – {}", secs(p.start_s), secs(p.end_s)),
                operations: p
                    .operations
                    .iter()
                    .map(|(name, o)| {
                        let l: &LatencyMs = &o.latency_ms;
                        PhaseOpRow {
                            name,
                            count: o.count,
                            errors: o.errors,
                            p50: ms(l.p50),
                            p99: ms(l.p99),
                            p999: ms(l.p999),
                            max: ms(l.max),
                        }
                    })
                    .collect(),
                deliveries: delivery_rows(&p.deliveries),
                drops: p.talkgroup_drops,
                disconnects: p.console_disconnects,
                missed: p.missed_deliveries,
            })
            .collect(),
        generator: GeneratorCtx {
            scheduled: g.actions_scheduled,
            sent: g.actions_sent,
            skipped: g.skipped.values().sum(),
            skipped_kinds: kinds(&g.skipped),
            throttled: g.throttled,
            lateness_p50: ms(g.lateness_ms.p50),
            lateness_p99: ms(g.lateness_ms.p99),
            lateness_max: ms(g.lateness_ms.max),
            lateness_limit: ms(g.lateness_limit_ms),
            fell_behind: g.fell_behind,
        },
    }
}

fn delivery_rows(m: &BTreeMap<String, DeliverySummary>) -> Vec<DeliveryRow<'_>> {
    m.iter()
        .map(|(name, d)| DeliveryRow {
            name,
            expected: d.expected,
            delivered: d.delivered,
            missed: d.missed,
            p50: ms(d.latency_ms.p50),
            p99: ms(d.latency_ms.p99),
            p999: ms(d.latency_ms.p999),
            max: ms(d.latency_ms.max),
        })
        .collect()
}

/// The rooms' table, then the disciplines', each only when it has rows.
fn group_tables(s: &Summary) -> Vec<GroupTable<'_>> {
    [
        ("rooms", "Control rooms", "room", &s.rooms),
        ("disciplines", "Disciplines", "discipline", &s.disciplines),
    ]
    .into_iter()
    .filter(|(.., groups)| !groups.is_empty())
    .map(|(id, title, column, groups)| GroupTable {
        id,
        title,
        column,
        rows: group_rows(groups),
    })
    .collect()
}

fn group_rows(m: &BTreeMap<String, GroupSummary>) -> Vec<GroupRow<'_>> {
    worst_first(m)
        .into_iter()
        .map(|(id, g)| {
            // No deliveries arrived: no latency to show.
            let latency = |v: f64| {
                if g.delivered > 0 {
                    ms(v)
                } else {
                    "—".to_string()
                }
            };
            GroupRow {
                id: id.as_str(),
                consoles: g.consoles,
                drops: g.talkgroup_drops,
                disconnects: g.console_disconnects,
                downtime: duration(g.downtime_s),
                delivered: g.delivered,
                missed: g.missed_deliveries,
                p50: latency(g.delivery_latency_ms.p50),
                p99: latency(g.delivery_latency_ms.p99),
            }
        })
        .collect()
}

/// The heat map: the worst rooms, a shaded cell per slice.
fn heat_ctx(h: &HeatMap) -> HeatCtx<'_> {
    let slices = h.cells.iter().map(Vec::len).max().unwrap_or(0);
    let plural = if slices == 1 { "" } else { "s" };
    HeatCtx {
        caption: format!(
            "drops, disconnects and missed deliveries per room, in {slices} slice{plural} of \
             the run; darker is more; the worst room first"
        ),
        labels: heat_labels(slices, h.bucket_s),
        rows: h
            .rooms
            .iter()
            .zip(&h.cells)
            .take(MAX_HEAT_ROOMS)
            .map(|(room, counts)| HeatRow {
                room: room.as_str(),
                cells: counts
                    .iter()
                    .enumerate()
                    .map(|(b, &n)| heat_cell(room, b, n, h))
                    .collect(),
            })
            .collect(),
        more: h.rooms.len().saturating_sub(MAX_HEAT_ROOMS),
    }
}

/// A time label (whole seconds) every [`HEAT_LABEL_EVERY`] slices.
fn heat_labels(slices: usize, bucket_s: f64) -> Vec<HeatLabel> {
    (0..slices)
        .step_by(HEAT_LABEL_EVERY)
        .map(|b| HeatLabel {
            span: HEAT_LABEL_EVERY.min(slices - b),
            // A float-to-int cast saturates: no panic on any value.
            text: format!("{} s", (b as f64 * bucket_s).round() as u64),
        })
        .collect()
}

/// Slice `b` of `room` with `n` findings: shaded by `n` against the map's largest cell.
fn heat_cell(room: &str, b: usize, n: u32, h: &HeatMap) -> HeatCell {
    let style = (n > 0 && h.max > 0).then(|| {
        let alpha = (f64::from(n) / f64::from(h.max)).clamp(MIN_ALPHA, 1.0);
        format!("background: rgba(192, 57, 43, {alpha:.2})")
    });
    let at = |i: usize| trim(format!("{:.1}", i as f64 * h.bucket_s));
    let noun = if n == 1 { "finding" } else { "findings" };
    HeatCell {
        style,
        title: format!("{room} {}-{} s: {n} {noun}", at(b), at(b + 1)),
    }
}

/// Phases sorted by start time (then name).
fn phases_in_time_order(s: &Summary) -> Vec<(&String, &PhaseSummary)> {
    let mut phases: Vec<_> = s.phases.iter().collect();
    phases.sort_by(|a, b| a.1.start_s.total_cmp(&b.1.start_s).then(a.0.cmp(b.0)));
    phases
}

/// `http_500: 7, timeout: 2` (empty when there are none).
fn kinds(m: &BTreeMap<String, u64>) -> String {
    m.iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A latency in ms with precision to suit its size.
fn ms(v: f64) -> String {
    if !v.is_finite() {
        "—".to_string()
    } else if v == 0.0 {
        "0".to_string()
    } else if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A time from t=0 in seconds.
fn secs(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2} s")
    } else {
        "—".to_string()
    }
}

/// `754.2 s (12 min 34 s)`.
fn duration(v: f64) -> String {
    if !v.is_finite() {
        return "—".to_string();
    }
    if v < 60.0 {
        return format!("{v:.1} s");
    }
    let whole = v.round() as u64;
    let (h, m, sec) = (whole / 3600, whole / 60 % 60, whole % 60);
    let hms = if h > 0 {
        format!("{h} h {m} min {sec} s")
    } else {
        format!("{m} min {sec} s")
    };
    format!("{v:.1} s ({hms})")
}

fn recovered(v: Option<f64>) -> String {
    match v {
        Some(s) => secs(s),
        None => "not recovered".to_string(),
    }
}

/// An SLO value in its unit; "—" when there is none.
fn value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v.filter(|v| v.is_finite()) else {
        return "—".to_string();
    };
    match unit {
        "ms" => format!("{} ms", ms(v)),
        "ratio" => format!("{} ({:.3}%)", trim(format!("{v:.6}")), v * 100.0),
        "count" => format!("{v:.0}"),
        other => format!("{} {other}", trim(format!("{v:.3}"))),
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Verdict;
    use crate::report::charts;
    use crate::report::fixtures::sample;
    use crate::report::summary::{ConsoleDisconnect, TalkgroupDrop};

    fn page(data: &ReportData) -> String {
        let charts = charts::render_all(data).expect("charts");
        render(data, &charts).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn renders_a_self_contained_report() {
        let mut data = sample(60);
        data.summary.profile = "shift <b>change</b> & co".into();
        data.rebuilt = Some("rebuilt from latency.hlog".into());
        let html = page(&data);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(r#"id="slo""#));
        assert_eq!(html.matches(r#"<figure id="chart-"#).count(), 5);
        for id in [
            "throughput",
            "latency",
            "spectrum",
            "population",
            "findings",
        ] {
            assert!(
                html.contains(&format!(r#"<figure id="chart-{id}">"#)),
                "{id}"
            );
        }
        assert!(!html.contains("http://") && !html.contains("https://"));
        for external in ["<script", "<link", "src=", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
        assert!(html.contains("shift &lt;b&gt;change&lt;&#x2f;b&gt; &amp; co"));
        assert!(!html.contains("<b>change"));
        assert!(html.contains("rebuilt from latency.hlog"));
        assert!(html.contains("THE GENERATOR FELL BEHIND"));
        assert!(html.contains(">FAIL<"));
        assert!(html.contains("812.4 ms"));
        assert!(html.contains("this percentile falls on missed deliveries"));
        // Phases in time order, not name order.
        let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s}"));
        assert!(
            at("<h3>warmup") < at("<h3>shift_change") && at("<h3>shift_change") < at("<h3>after")
        );
        assert!(html.contains("<svg"));
        assert!(html.contains("stream_end"));
    }

    #[test]
    fn empty_findings_and_slos() {
        let mut data = sample(0);
        data.summary.slo.clear();
        data.summary.talkgroup_drops.clear();
        data.summary.console_disconnects.clear();
        data.summary.verdict = Verdict::Pass;
        data.summary.warnings.clear();
        let html = page(&data);
        assert!(html.contains("No SLOs"));
        assert!(html.contains(">PASS<"));
        assert!(html.matches("<p class=\"none\">none</p>").count() >= 3);
    }

    #[test]
    fn long_listings_are_cut() {
        let mut data = sample(10);
        let drop = data.summary.talkgroup_drops[0].clone();
        data.summary.talkgroup_drops = vec![
            TalkgroupDrop {
                recovered_after_s: None,
                ..drop
            };
            MAX_ROWS + 7
        ];
        let disconnect: ConsoleDisconnect = data.summary.console_disconnects[0].clone();
        data.summary.console_disconnects = vec![disconnect; 3];
        let html = page(&data);
        assert!(html.contains("… and 7 more"));
        assert_eq!(html.matches("not recovered").count(), MAX_ROWS + 3);
    }

    #[test]
    fn rooms_and_disciplines_worst_first() {
        let mut data = sample(10);
        let html = page(&data);
        assert!(!html.contains(r#"id="rooms""#) && !html.contains("Disciplines"));

        let room = crate::report::fixtures::group;
        for i in 0..30 {
            data.summary
                .rooms
                .insert(format!("room{i:02}"), room(i % 3, 0));
        }
        data.summary.rooms.insert("room<x>".into(), room(5, 2));
        let html = page(&data);
        assert!(html.contains(r#"<table id="rooms">"#));
        assert!(!html.contains("Disciplines"));
        // All of them, the worst first; ids escaped.
        assert_eq!(html.matches("<tr><td>room").count(), 31);
        let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s}"));
        assert!(at("<td>room&lt;x&gt;</td>") < at("<td>room02</td>"));
        assert!(at("<td>room02</td>") < at("<td>room01</td>"));
        assert!(at("<td>room01</td>") < at("<td>room00</td>"));
        assert!(at(r#"<table id="rooms">"#) > at("<h3>Unexpected talkgroups"));
        assert!(html.contains(r#"<td class="num">21.3 s</td>"#));
        assert!(html.contains(r#"<td class="num">40.30</td>"#));

        data.summary.disciplines.insert("fire".into(), room(0, 1));
        let html = page(&data);
        assert!(html.contains(r#"<table id="disciplines">"#));
        assert!(html.contains("<th>discipline</th>"));
        assert!(html.contains("<td>fire</td>"));
    }

    #[test]
    fn heat_map_of_the_worst_rooms() {
        let mut data = sample(10);
        let html = page(&data);
        assert!(!html.contains(r#"class="heat""#));
        assert!(!html.contains("Findings by room and time"));

        let mut cells = vec![vec![0; 60]; 52];
        cells[0][3] = 4;
        cells[0][59] = 1;
        cells[1][3] = 2;
        cells[51][0] = 9;
        data.heat = Some(HeatMap {
            rooms: (0..52).map(|i| format!("room{i:02}")).collect(),
            bucket_s: 2.0,
            cells,
            max: 4,
        });
        let html = page(&data);
        assert!(html.contains("<h3>Findings by room and time</h3>"));
        assert!(html.contains("in 60 slices of the run; darker is more"));
        assert!(html.contains(r#"<table class="heat" id="heat">"#));
        assert!(html.contains(r#"<th colspan="10">20 s</th>"#));
        assert_eq!(html.matches("<th colspan=").count(), 6);
        assert!(html.contains(
            r#"<td style="background: rgba(192, 57, 43, 1.00)" title="room00 6-8 s: 4 findings"></td>"#
        ));
        assert!(html.contains(r#"rgba(192, 57, 43, 0.50)" title="room01 6-8 s: 2 findings""#));
        assert!(html.contains(r#"rgba(192, 57, 43, 0.25)" title="room00 118-120 s: 1 finding""#));
        assert!(html.contains(r#"<td title="room00 0-2 s: 0 findings"></td>"#));
        // The 50 worst, a line for the rest.
        assert_eq!(html.matches(r#"<td class="room">"#).count(), 50);
        assert_eq!(html.matches(" title=\"room").count(), 50 * 60);
        assert_eq!(html.matches("background: rgba").count(), 3);
        assert!(!html.contains("room51"));
        assert!(html.contains("… and 2 more rooms (summary.json)"));
        let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s}"));
        assert!(at("<h3>Unexpected talkgroups") < at(r#"<table class="heat""#));
    }

    #[test]
    fn formats() {
        assert_eq!(ms(812.44), "812.4");
        assert_eq!(ms(0.5), "0.500");
        assert_eq!(ms(12345.6), "12346");
        assert_eq!(value(None, "ms"), "—");
        assert_eq!(value(Some(0.0052), "ratio"), "0.0052 (0.520%)");
        assert_eq!(value(Some(3.0), "count"), "3");
        assert_eq!(duration(754.2), "754.2 s (12 min 34 s)");
        assert_eq!(duration(3725.0), "3725.0 s (1 h 2 min 5 s)");
    }
}
