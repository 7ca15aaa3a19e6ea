//! The short result table `rcload run` prints on stdout.

use super::Summary;
use super::groups::worst_first;
use std::fmt::Write;

/// How many control rooms are listed, the worst first.
const LISTED_ROOMS: usize = 5;

/// Render the table.
pub fn render(s: &Summary, run_dir: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "rcload {}: profile {} (seed {}) against {}, {:.1} s{}",
        s.rcload_version,
        s.profile,
        s.seed,
        s.target,
        s.duration_s,
        if s.interrupted { ", INTERRUPTED" } else { "" }
    );
    let g = &s.generator;
    let _ = writeln!(
        o,
        "generator: {} scheduled, {} sent, {} skipped, throttled {}, lateness p99 {:.1} ms",
        g.actions_scheduled,
        g.actions_sent,
        g.skipped.values().sum::<u64>(),
        g.throttled,
        g.lateness_ms.p99
    );
    let _ = writeln!(
        o,
        "\n{:<22} {:>8} {:>7} {:>9} {:>9} {:>9} {:>11}",
        "operation", "count", "errors", "p50 ms", "p99 ms", "max ms", "svc p99 ms"
    );
    for (name, op) in &s.operations {
        let _ = writeln!(
            o,
            "{:<22} {:>8} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>11.1}",
            name,
            op.count,
            op.errors.values().sum::<u64>(),
            op.latency_ms.p50,
            op.latency_ms.p99,
            op.latency_ms.max,
            op.service_ms.p99
        );
    }
    if !s.deliveries.is_empty() {
        let _ = writeln!(
            o,
            "\n{:<22} {:>8} {:>9} {:>7} {:>9} {:>9}",
            "delivery", "expected", "delivered", "missed", "p50 ms", "p99 ms"
        );
        for (name, d) in &s.deliveries {
            let _ = writeln!(
                o,
                "{:<22} {:>8} {:>9} {:>7} {:>9.1} {:>9.1}",
                name, d.expected, d.delivered, d.missed, d.latency_ms.p50, d.latency_ms.p99
            );
        }
    }
    let recovered = |n: usize, of: usize| {
        if of == 0 {
            String::new()
        } else {
            format!(" ({n} recovered)")
        }
    };
    let _ = writeln!(
        o,
        "\ntalkgroup drops: {}{}   console disconnects: {}{}   missed deliveries: {}   downtime: {:.1} s",
        s.talkgroup_drops.len(),
        recovered(
            s.talkgroup_drops
                .iter()
                .filter(|d| d.recovered_after_s.is_some())
                .count(),
            s.talkgroup_drops.len()
        ),
        s.console_disconnects.len(),
        recovered(
            s.console_disconnects
                .iter()
                .filter(|d| d.recovered_after_s.is_some())
                .count(),
            s.console_disconnects.len()
        ),
        s.missed_deliveries,
        s.console_downtime_s.total
    );
    for d in s.talkgroup_drops.iter().take(10) {
        let _ = writeln!(
            o,
            "  {:>8.1} s  drop        {} talkgroup {} ({}), {}",
            d.t_s,
            d.console,
            d.talkgroup,
            d.detected_by,
            outage_text(d.last_ok_s, d.outage_s, d.recovered_after_s)
        );
    }
    for d in s.console_disconnects.iter().take(10) {
        let _ = writeln!(
            o,
            "  {:>8.1} s  disconnect  {} ({}), {}",
            d.t_s,
            d.console,
            d.reason,
            outage_text(d.last_ok_s, d.outage_s, d.recovered_after_s)
        );
    }
    if s.talkgroup_drops.len() > 10 || s.console_disconnects.len() > 10 {
        let _ = writeln!(o, "  ... all of them in summary.json and events.jsonl");
    }
    if s.probes.calls > 0 {
        let _ = writeln!(
            o,
            "probes: {} calls, {} errors, {} of {} deliveries arrived",
            s.probes.calls, s.probes.errors, s.probes.delivered, s.probes.expected
        );
    }
    rooms(&mut o, s);
    if !s.slo.is_empty() {
        let _ = writeln!(o, "\nSLO");
        // Long objective names (`delivery.emergency.alert p99 (worst 5m window)`) set the width.
        let width = s
            .slo
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(34);
        for r in &s.slo {
            let (limit, observed) = if r.unit == "count" {
                (
                    format!("{:.0}", r.limit),
                    r.observed
                        .map(|v| format!("{v:.0}"))
                        .unwrap_or_else(|| "-".into()),
                )
            } else if r.unit == "ratio" {
                (
                    format!("{:.3} %", r.limit * 100.0),
                    r.observed
                        .map(|v| format!("{:.3} %", v * 100.0))
                        .unwrap_or_else(|| "-".into()),
                )
            } else {
                (
                    format!("{:.0} ms", r.limit),
                    r.observed
                        .map(|v| format!("{v:.1} ms"))
                        .unwrap_or_else(|| "-".into()),
                )
            };
            let _ = writeln!(
                o,
                "  {} {:<width$} observed {:>12}  limit {:>10}{}",
                if r.passed { "pass" } else { "FAIL" },
                r.name,
                observed,
                limit,
                r.note
                    .as_ref()
                    .map(|n| format!("  ({n})"))
                    .unwrap_or_default()
            );
        }
    }
    for w in &s.warnings {
        let _ = writeln!(o, "\nWARNING: {w}");
    }
    let _ = writeln!(o);
    o.push_str(&verdict_lines(s));
    let _ = writeln!(o, "results: {run_dir}");
    o
}

/// `rooms:`, then the worst [`LISTED_ROOMS`] control rooms, one line each; nothing when the
/// summary has no rooms.
fn rooms(o: &mut String, s: &Summary) {
    if s.rooms.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nrooms:");
    for (id, g) in worst_first(&s.rooms).into_iter().take(LISTED_ROOMS) {
        let _ = writeln!(
            o,
            "  {}: {} consoles, {} drops, {} disconnects, {} missed, {}",
            id,
            g.consoles,
            g.talkgroup_drops,
            g.console_disconnects,
            g.missed_deliveries,
            if g.delivered > 0 {
                format!("delivery p99 {:.1} ms", g.delivery_latency_ms.p99)
            } else {
                "no deliveries".to_string()
            }
        );
    }
    if s.rooms.len() > LISTED_ROOMS {
        let _ = writeln!(
            o,
            "  ({} more rooms in summary.json)",
            s.rooms.len() - LISTED_ROOMS
        );
    }
}

/// `last ok at 3.9 s, outage up to 5.6 s, recovered 0.2 s after detection`.
fn outage_text(last_ok_s: f64, outage_s: f64, recovered: Option<f64>) -> String {
    match recovered {
        Some(r) => format!(
            "last ok at {last_ok_s:.1} s, outage up to {outage_s:.1} s, recovered {r:.1} s after detection"
        ),
        None => {
            format!("last ok at {last_ok_s:.1} s, not recovered (down {outage_s:.1} s by the end)")
        }
    }
}

/// `verdict: INVALID: <the first reason>`, then the other reasons indented, one per line.
pub fn verdict_lines(s: &Summary) -> String {
    let mut o = format!("verdict: {}", s.verdict.shouted());
    let mut reasons = s.verdict_reasons.iter();
    if let Some(first) = reasons.next() {
        let _ = write!(o, ": {first}");
    }
    o.push('\n');
    for r in reasons {
        let _ = writeln!(o, "  and: {r}");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::findings_summary as sample;
    use crate::report::groups::GroupSummary;
    use crate::report::summary::LatencyMs;

    fn room(drops: u64, missed: u64) -> GroupSummary {
        GroupSummary {
            consoles: 4,
            talkgroup_drops: drops,
            console_disconnects: 1,
            delivered: 100,
            missed_deliveries: missed,
            delivery_latency_ms: LatencyMs {
                p99: 40.3,
                ..LatencyMs::default()
            },
            ..GroupSummary::default()
        }
    }

    /// The verdict and the run directory stay the last lines: scripts read them.
    fn ends_with_verdict_and_run_dir(out: &str) {
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() >= 2, "{out}");
        assert!(lines[lines.len() - 2].starts_with("verdict: FAIL"), "{out}");
        assert_eq!(lines[lines.len() - 1], "results: runs/x", "{out}");
    }

    #[test]
    fn no_rooms_no_block() {
        let out = render(&sample(), "runs/x");
        assert!(!out.contains("rooms:"), "{out}");
        ends_with_verdict_and_run_dir(&out);
    }

    #[test]
    fn the_worst_rooms_first() {
        let mut s = sample();
        s.rooms.insert("room01".into(), room(0, 0));
        s.rooms.insert("room02".into(), room(3, 2));
        s.rooms.insert("room03".into(), GroupSummary::default());
        let out = render(&s, "runs/x");
        let worst = out
            .find("\nrooms:\n  room02: 4 consoles, 3 drops, 1 disconnects, 2 missed, delivery p99 40.3 ms\n")
            .expect("room02 first");
        let next = out
            .find(
                "\n  room01: 4 consoles, 0 drops, 1 disconnects, 0 missed, delivery p99 40.3 ms\n",
            )
            .expect("room01 line");
        let last = out
            .find("\n  room03: 0 consoles, 0 drops, 0 disconnects, 0 missed, no deliveries\n")
            .expect("room03 line");
        assert!(worst < next && next < last, "{out}");
        assert!(!out.contains("more rooms"), "{out}");
        ends_with_verdict_and_run_dir(&out);

        for i in 4..=8 {
            s.rooms.insert(format!("room{i:02}"), room(0, i));
        }
        let out = render(&s, "runs/x");
        assert!(out.contains("  room08: "), "{out}");
        assert!(!out.contains("  room01: "), "{out}");
        assert!(out.contains("  (3 more rooms in summary.json)\n"), "{out}");
        ends_with_verdict_and_run_dir(&out);
    }
}
