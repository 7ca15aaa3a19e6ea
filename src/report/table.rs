//! The short result table `rcload run` prints on stdout.

use super::Summary;
use std::fmt::Write;

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
