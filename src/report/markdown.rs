//! `summary.md`: a short Markdown report fit for a CI job summary (GitHub's
//! `$GITHUB_STEP_SUMMARY`): verdict, run facts, warnings, the SLO table, per-phase key figures,
//! the worst control rooms and disciplines, the first findings and the generator's account.
//! Derived from `summary.json` alone.

use super::Summary;
use super::groups::{GroupSummary, worst_first};
use super::summary::{ConsoleDisconnect, PhaseSummary, TalkgroupDrop};
use crate::judge::{SloResult, Verdict};
use crate::text::plural;
use std::collections::BTreeMap;
use std::fmt::Write;

/// How many talkgroup drops and how many console disconnects are listed.
const LISTED_FINDINGS: usize = 10;
/// How many control rooms and how many disciplines are listed, the worst first.
const LISTED_GROUPS: usize = 20;

/// Render the report. `rebuilt` is a note that the report was rebuilt from a run directory
/// (what, from where), shown as a blockquote under the run facts.
pub fn render(summary: &Summary, rebuilt: Option<&str>, transport: Option<&str>) -> String {
    let s = summary;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "## rcload: {} {}\n",
        s.verdict.shouted(),
        match s.verdict {
            Verdict::Pass => "✅",
            Verdict::Fail => "❌",
            Verdict::Invalid => "⚠️",
        }
    );
    if let Some((first, rest)) = s.verdict_reasons.split_first() {
        let _ = writeln!(o, "**{}:** {}\n", s.verdict.shouted(), cell(first));
        for r in rest {
            let _ = writeln!(o, "- {}", cell(r));
        }
        if !rest.is_empty() {
            o.push('\n');
        }
    }
    let _ = writeln!(
        o,
        "Profile {} · seed {} · target {} · duration {:.1} s · started {}{}\n",
        code(&s.profile),
        s.seed,
        code(&s.target),
        s.duration_s,
        code(&s.started_at),
        if s.interrupted {
            " · **interrupted**"
        } else {
            ""
        }
    );
    if let Some(t) = transport {
        let _ = writeln!(o, "Transport: {}\n", cell(t));
    }
    if let Some(note) = rebuilt {
        let _ = writeln!(o, "{}\n", blockquote("**Note:**", note));
    }
    for w in &s.warnings {
        let _ = writeln!(o, "{}\n", blockquote("**Warning:**", w));
    }
    slo_table(&mut o, &s.slo);
    phase_table(&mut o, s);
    group_table(&mut o, ("Control rooms", "room", "rooms"), &s.rooms);
    group_table(
        &mut o,
        ("Disciplines", "discipline", "disciplines"),
        &s.disciplines,
    );
    findings(&mut o, s);
    generator_line(&mut o, s);
    o
}

fn slo_table(o: &mut String, slo: &[SloResult]) {
    let _ = writeln!(o, "### Objectives\n");
    if slo.is_empty() {
        let _ = writeln!(o, "_The profile sets no objectives._\n");
        return;
    }
    let _ = writeln!(o, "| objective | limit | observed | result |");
    let _ = writeln!(o, "|---|---:|---:|---|");
    for r in slo {
        let (observed, limit) = observed_and_limit(r);
        let observed = match (observed, &r.note) {
            (Some(v), Some(note)) => format!("{v} ({note})"),
            (Some(v), None) => v,
            (None, Some(note)) => format!("— _{note}_"),
            (None, None) => "—".to_string(),
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            cell(&r.name),
            cell(&limit),
            cell(&observed),
            if r.passed { "✅ pass" } else { "❌ fail" }
        );
    }
    o.push('\n');
}

fn phase_table(o: &mut String, s: &Summary) {
    let phases = phases_in_time_order(s);
    if phases.is_empty() {
        return;
    }
    let _ = writeln!(o, "### Phases\n");
    let _ = writeln!(
        o,
        "| phase | span | requests | errors | worst p99 (op) | drops | disconnects | missed |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---|---:|---:|---:|");
    for (name, p) in phases {
        let requests: u64 = p.operations.values().map(|op| op.count).sum();
        let errors: u64 = p.operations.values().map(|op| op.errors).sum();
        let worst = p
            .operations
            .iter()
            .filter(|(_, op)| op.count > 0)
            .max_by(|a, b| a.1.latency_ms.p99.total_cmp(&b.1.latency_ms.p99))
            .map(|(op, stats)| format!("{} ({op})", with_unit(stats.latency_ms.p99, "ms", 1)))
            .unwrap_or_else(|| "—".to_string());
        let _ = writeln!(
            o,
            "| {} | {}–{} s | {} | {} | {} | {} | {} | {} |",
            cell(name),
            num(p.start_s, 1),
            num(p.end_s, 1),
            requests,
            errors,
            cell(&worst),
            p.talkgroup_drops,
            p.console_disconnects,
            p.missed_deliveries
        );
    }
    o.push('\n');
}

/// The table of the worst [`LISTED_GROUPS`] rooms or disciplines; nothing when there are none.
/// `names` is the heading, the first column's name and the groups' plural.
fn group_table(o: &mut String, names: (&str, &str, &str), groups: &BTreeMap<String, GroupSummary>) {
    if groups.is_empty() {
        return;
    }
    let (heading, column, many) = names;
    let _ = writeln!(o, "### {heading}\n");
    let _ = writeln!(
        o,
        "| {column} | consoles | drops | disconnects | downtime | delivered | missed | delivery p50 | delivery p99 |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (id, g) in worst_first(groups).into_iter().take(LISTED_GROUPS) {
        group_row(o, id, g);
    }
    if groups.len() > LISTED_GROUPS {
        let _ = writeln!(
            o,
            "\n… and {} more {many} (see `summary.json`).",
            groups.len() - LISTED_GROUPS
        );
    }
    o.push('\n');
}

fn group_row(o: &mut String, id: &str, g: &GroupSummary) {
    // No deliveries arrived: no latency to show.
    let latency = |v: f64| {
        if g.delivered > 0 {
            with_unit(v, "ms", 1)
        } else {
            "—".to_string()
        }
    };
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        cell(id),
        g.consoles,
        g.talkgroup_drops,
        g.console_disconnects,
        with_unit(g.downtime_s, "s", 1),
        g.delivered,
        g.missed_deliveries,
        latency(g.delivery_latency_ms.p50),
        latency(g.delivery_latency_ms.p99)
    );
}

fn findings(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "### Findings\n");
    let drops = &s.talkgroup_drops;
    let disconnects = &s.console_disconnects;
    let recovered_drops = drops
        .iter()
        .filter(|d| d.recovered_after_s.is_some())
        .count();
    let recovered_disc = disconnects
        .iter()
        .filter(|d| d.recovered_after_s.is_some())
        .count();
    let _ = write!(
        o,
        "{} ({recovered_drops} recovered) · {} ({recovered_disc} recovered) · {} · console downtime {:.1} s",
        plural(drops.len() as u64, "talkgroup drop", "talkgroup drops"),
        plural(
            disconnects.len() as u64,
            "console disconnect",
            "console disconnects"
        ),
        plural(s.missed_deliveries, "missed delivery", "missed deliveries"),
        s.console_downtime_s.total
    );
    if !s.unexpected_talkgroups.is_empty() {
        let _ = write!(
            o,
            " · {}",
            plural(
                s.unexpected_talkgroups.len() as u64,
                "unexpected talkgroup",
                "unexpected talkgroups"
            )
        );
    }
    o.push_str("\n\n");
    if !drops.is_empty() {
        let _ = writeln!(o, "**Talkgroup drops**\n");
        let _ = writeln!(
            o,
            "| t | phase | console | talkgroup | detected by | last ok | outage | recovered after |"
        );
        let _ = writeln!(o, "|---:|---|---|---:|---|---:|---:|---:|");
        for d in drops.iter().take(LISTED_FINDINGS) {
            drop_row(o, d);
        }
        more(o, drops.len());
    }
    if !disconnects.is_empty() {
        let _ = writeln!(o, "**Console disconnects**\n");
        let _ = writeln!(
            o,
            "| t | phase | console | reason | last ok | outage | recovered after |"
        );
        let _ = writeln!(o, "|---:|---|---|---|---:|---:|---:|");
        for d in disconnects.iter().take(LISTED_FINDINGS) {
            disconnect_row(o, d);
        }
        more(o, disconnects.len());
    }
}

fn drop_row(o: &mut String, d: &TalkgroupDrop) {
    let _ = writeln!(
        o,
        "| {:.3} s | {} | {} | {} | {} | {:.3} s | {} | {} |",
        d.t_s,
        cell(&d.phase),
        cell(&d.console),
        d.talkgroup,
        cell(&d.detected_by),
        d.last_ok_s,
        outage(d.outage_s, d.recovered_after_s),
        recovered(d.recovered_after_s)
    );
}

fn disconnect_row(o: &mut String, d: &ConsoleDisconnect) {
    let _ = writeln!(
        o,
        "| {:.3} s | {} | {} | {} | {:.3} s | {} | {} |",
        d.t_s,
        cell(&d.phase),
        cell(&d.console),
        cell(&d.reason),
        d.last_ok_s,
        outage(d.outage_s, d.recovered_after_s),
        recovered(d.recovered_after_s)
    );
}

fn more(o: &mut String, total: usize) {
    if total > LISTED_FINDINGS {
        let _ = writeln!(
            o,
            "\n… and {} more (see `events.jsonl`).",
            total - LISTED_FINDINGS
        );
    }
    o.push('\n');
}

/// An outage's upper bound; `≥` when it had not ended by the end of the load.
pub(super) fn outage(outage_s: f64, recovered: Option<f64>) -> String {
    match recovered {
        Some(_) => format!("≤ {outage_s:.3} s"),
        None => format!("≥ {outage_s:.3} s"),
    }
}

fn recovered(after: Option<f64>) -> String {
    match after {
        Some(s) => format!("{s:.3} s"),
        None => "never".to_string(),
    }
}

fn generator_line(o: &mut String, s: &Summary) {
    let g = &s.generator;
    let skipped: u64 = g.skipped.values().sum();
    let _ = writeln!(
        o,
        "**Generator:** {} scheduled / {} sent{} · throttled {} · lateness p99 {} (limit {}) · fell behind: {}",
        g.actions_scheduled,
        g.actions_sent,
        if skipped > 0 {
            format!(" ({skipped} skipped)")
        } else {
            String::new()
        },
        g.throttled,
        with_unit(g.lateness_ms.p99, "ms", 1),
        with_unit(g.lateness_limit_ms, "ms", 1),
        if g.fell_behind {
            "**yes** ⚠️ (latencies are not valid)"
        } else {
            "no"
        }
    );
}

/// Phases sorted by start time (then name).
pub(crate) fn phases_in_time_order(s: &Summary) -> Vec<(&String, &PhaseSummary)> {
    let mut phases: Vec<_> = s.phases.iter().collect();
    phases.sort_by(|a, b| a.1.start_s.total_cmp(&b.1.start_s).then(a.0.cmp(b.0)));
    phases
}

/// `v` with at most `decimals` decimals, trailing zeros dropped.
pub(crate) fn num(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".to_string() } else { s }
}

/// A value in an SLO unit: `812.4 ms`, `0.52 %` (ratio), `3` (count).
pub(crate) fn with_unit(v: f64, unit: &str, decimals: usize) -> String {
    match unit {
        "ratio" => format!("{} %", num(v * 100.0, decimals)),
        "count" | "" => num(v, decimals),
        u => format!("{} {u}", num(v, decimals)),
    }
}

/// An SLO's observed value (if any) and limit, formatted in its unit with enough decimals that
/// different values never read the same.
pub(crate) fn observed_and_limit(r: &SloResult) -> (Option<String>, String) {
    let mut decimals = match r.unit.as_str() {
        "ratio" => 2,
        "count" => 0,
        _ => 1,
    };
    let Some(observed) = r.observed else {
        return (None, with_unit(r.limit, &r.unit, decimals));
    };
    loop {
        let (o, l) = (
            with_unit(observed, &r.unit, decimals),
            with_unit(r.limit, &r.unit, decimals),
        );
        if o != l || observed == r.limit || decimals >= 6 {
            return (Some(o), l);
        }
        decimals += 1;
    }
}

/// Text for a table cell: `|` escaped, line breaks folded.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// An inline code span that survives backticks in `s`.
fn code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {} ``", s.replace(['\r', '\n'], " "))
    } else {
        format!("`{}`", s.replace(['\r', '\n'], " "))
    }
}

/// A blockquote starting with `label`, every line of `text` quoted.
fn blockquote(label: &str, text: &str) -> String {
    let mut out = format!("> {label}");
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push(' ');
        } else {
            out.push_str("\n> ");
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::findings_summary as sample;

    #[test]
    fn heading_facts_and_notes() {
        let s = sample();
        let md = render(&s, Some("rebuilt from runs/2025-01-01\nsecond line"), None);
        assert!(md.starts_with("## rcload: FAIL ❌\n"), "{md}");
        assert!(md.contains("seed 42"), "{md}");
        assert!(md.contains("`http://127.0.0.1:8080`"), "{md}");
        assert!(md.contains("duration 120.5 s"), "{md}");
        assert!(md.contains("started `2025-01-01T00:00:00.000Z`"), "{md}");
        assert!(
            md.contains("> **Note:** rebuilt from runs/2025-01-01\n> second line\n"),
            "{md}"
        );
        assert!(
            md.contains("> **Warning:** The run was interrupted before the end of its schedule."),
            "{md}"
        );

        let mut pass = sample();
        pass.verdict = Verdict::Pass;
        pass.warnings.clear();
        let md = render(&pass, None, None);
        assert!(md.starts_with("## rcload: PASS ✅\n"), "{md}");
        assert!(!md.contains("> **"), "{md}");
    }

    #[test]
    fn slo_table_shows_units_and_percentages() {
        let md = render(&sample(), None, None);
        assert!(
            md.contains("| objective | limit | observed | result |"),
            "{md}"
        );
        assert!(
            md.contains("| terminal.status p99 | 500 ms | 812.4 ms | ❌ fail |"),
            "{md}"
        );
        assert!(
            md.contains("| console.login p99 | 1000 ms | 120 ms | ✅ pass |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| delivery.emergency.alert p95 | 300 ms | — _this percentile falls on missed deliveries_ | ❌ fail |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| error_rate | 0.1 % | 0.52 % | ❌ fail |"),
            "{md}"
        );
        assert!(md.contains("| talkgroup_drops | 0 | 3 | ❌ fail |"), "{md}");
    }

    #[test]
    fn phases_in_time_order_with_escaped_cells() {
        let md = render(&sample(), None, None);
        let warmup = md.find("| warmup |").expect("warmup row");
        let shift = md.find("| shift_change |").expect("shift_change row");
        let after = md
            .find("| after\\|hours |")
            .expect("escaped after|hours row");
        assert!(warmup < shift && shift < after, "{md}");
        assert!(
            md.contains(
                "| shift_change | 30–90 s | 1500 | 7 | 812.4 ms (terminal.status) | 3 | 1 | 2 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| warmup | 0–30 s | 0 | 0 | — | 0 | 0 | 0 |"),
            "{md}"
        );
    }

    #[test]
    fn findings_are_counted_and_the_first_ones_listed() {
        let mut s = sample();
        let md = render(&s, None, None);
        assert!(
            md.contains("3 talkgroup drops (2 recovered) · 2 console disconnects (1 recovered) · 2 missed deliveries"),
            "{md}"
        );
        assert!(
            md.contains(
                "| 31.250 s | shift_change | c-0001 | 1201 | audit | 28.250 s | ≤ 5.500 s | 2.500 s |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| 100.000 s | after\\|hours | c-0002 | kicked: a \\| b | 100.000 s | ≥ 20.500 s | never |"
            ),
            "{md}"
        );
        assert!(!md.contains("more (see"), "{md}");

        let first = s.talkgroup_drops[0].clone();
        s.talkgroup_drops = (0..15)
            .map(|i| TalkgroupDrop {
                talkgroup: 5000 + i,
                ..first.clone()
            })
            .collect();
        let md = render(&s, None, None);
        assert!(md.contains("| 5009 |"), "{md}");
        assert!(!md.contains("| 5010 |"), "{md}");
        assert!(md.contains("… and 5 more (see `events.jsonl`)."), "{md}");
    }

    use crate::report::fixtures::group as room;

    #[test]
    fn rooms_worst_first_after_the_phases() {
        let mut s = sample();
        let md = render(&s, None, None);
        assert!(!md.contains("### Control rooms"), "{md}");
        assert!(!md.contains("### Disciplines"), "{md}");

        s.rooms.insert("room01".into(), room(0, 0));
        s.rooms.insert("room02".into(), room(3, 2));
        let md = render(&s, None, None);
        assert!(
            md.contains("| room | consoles | drops | disconnects | downtime | delivered | missed | delivery p50 | delivery p99 |"),
            "{md}"
        );
        let worst = md
            .find("| room02 | 4 | 3 | 1 | 21.3 s | 100 | 2 | 10 ms | 40.3 ms |")
            .expect("room02 row");
        let other = md
            .find("| room01 | 4 | 0 | 1 | 21.3 s | 100 | 0 | 10 ms | 40.3 ms |")
            .expect("room01 row");
        assert!(worst < other, "{md}");
        let at = |h: &str| md.find(h).unwrap_or_else(|| panic!("{h}\n{md}"));
        assert!(at("### Phases") < at("### Control rooms"), "{md}");
        assert!(at("### Control rooms") < at("### Findings"), "{md}");
        assert!(!md.contains("### Disciplines"), "{md}");
        assert!(!md.contains("more rooms"), "{md}");

        s.disciplines.insert("fire".into(), room(0, 1));
        let md = render(&s, None, None);
        assert!(md.contains("| discipline | consoles |"), "{md}");
        assert!(md.contains("| fire | 4 | 0 | 1 |"), "{md}");
    }

    #[test]
    fn only_the_worst_rooms_are_listed() {
        let mut s = sample();
        for i in 0..25 {
            s.rooms.insert(format!("room{i:02}"), room(i, 0));
        }
        let md = render(&s, None, None);
        assert!(md.contains("| room24 |"), "{md}");
        assert!(md.contains("| room05 |"), "{md}");
        assert!(!md.contains("| room04 |"), "{md}");
        assert!(
            md.contains("… and 5 more rooms (see `summary.json`)."),
            "{md}"
        );
    }

    #[test]
    fn generator_line() {
        let mut s = sample();
        let md = render(&s, None, None);
        assert!(
            md.contains("**Generator:** 1000 scheduled / 990 sent (10 skipped) · throttled 0 · lateness p99 3.2 ms (limit 50 ms) · fell behind: no"),
            "{md}"
        );
        s.generator.fell_behind = true;
        let md = render(&s, None, None);
        assert!(md.contains("fell behind: **yes**"), "{md}");
    }

    #[test]
    fn numbers_keep_enough_decimals_to_differ() {
        let r = SloResult {
            name: "x p99".into(),
            limit: 500.0,
            observed: Some(500.04),
            unit: "ms".into(),
            passed: false,
            note: None,
            window_s: None,
            during: None,
            worst_at_s: None,
            no_samples: false,
            rooms: Vec::new(),
        };
        assert_eq!(
            observed_and_limit(&r),
            (Some("500.04 ms".to_string()), "500 ms".to_string())
        );
        assert_eq!(num(-0.0, 1), "0");
        assert_eq!(num(12.0, 3), "12");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
