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
            d.recovered_after_s
                .map(|r| format!("recovered after {r:.1} s"))
                .unwrap_or_else(|| "not recovered".into())
        );
    }
    for d in s.console_disconnects.iter().take(10) {
        let _ = writeln!(
            o,
            "  {:>8.1} s  disconnect  {} ({}), {}",
            d.t_s,
            d.console,
            d.reason,
            d.recovered_after_s
                .map(|r| format!("recovered after {r:.1} s"))
                .unwrap_or_else(|| "not recovered".into())
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
                "  {} {:<34} observed {:>12}  limit {:>10}{}",
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
    let _ = writeln!(
        o,
        "\nverdict: {}    results: {run_dir}",
        s.verdict.shouted()
    );
    o
}
