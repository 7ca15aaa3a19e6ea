//! Synthetic report inputs shared by the renderers' unit tests (test builds only).

use super::Summary;
use super::model::{Mark, MarkKind, PhaseBand, ReportData, Spectrum};
use crate::metrics::row::{Cell, IntervalRow};

pub fn summary() -> Summary {
    let lat = |p99: f64| {
        serde_json::json!({"p50": p99 / 4.0, "p90": p99 / 2.0, "p99": p99, "p999": p99,
            "max": p99 * 1.5, "mean": p99 / 4.0})
    };
    let v = serde_json::json!({
        "schema": "rcload.summary/1",
        "rcload_version": "0.1.0",
        "profile": "shift-change",
        "seed": 42,
        "target": "embedded mock",
        "started_at": "2025-01-01T00:00:00.000Z",
        "duration_s": 120.0,
        "interrupted": false,
        "generator": {
            "actions_scheduled": 1000, "actions_sent": 990,
            "skipped": {"console_not_logged_in": 10}, "throttled": 3,
            "lateness_ms": {"p50": 0.5, "p99": 63.2, "max": 90.0},
            "fell_behind": true, "lateness_limit_ms": 50.0
        },
        "operations": {
            "terminal.status": {"count": 1500, "ok": 1493, "errors": {"http_500": 7},
                "latency_ms": lat(812.4), "service_ms": lat(800.0)}
        },
        "deliveries": {
            "emergency.alert": {"expected": 20, "delivered": 19, "missed": 1,
                "latency_ms": lat(40.0)}
        },
        "phases": {
            "warmup": {"start_s": 0.0, "end_s": 30.0, "operations": {}, "deliveries": {},
                "talkgroup_drops": 0, "console_disconnects": 0, "missed_deliveries": 0},
            "shift_change": {"start_s": 30.0, "end_s": 90.0,
                "operations": {
                    "terminal.status": {"count": 1400, "errors": 7, "latency_ms": lat(812.4)}
                },
                "deliveries": {"emergency.alert": {"expected": 20, "delivered": 19,
                    "missed": 1, "latency_ms": lat(40.0)}},
                "talkgroup_drops": 1, "console_disconnects": 1, "missed_deliveries": 1},
            "after": {"start_s": 90.0, "end_s": 120.0, "operations": {},
                "deliveries": {}, "talkgroup_drops": 0, "console_disconnects": 0,
                "missed_deliveries": 0}
        },
        "talkgroup_drops": [
            {"t_s": 31.25, "phase": "shift_change", "console": "c-0001", "talkgroup": 1201,
                "detected_by": "audit", "recovered_after_s": 2.5}
        ],
        "console_disconnects": [
            {"t_s": 35.0, "phase": "shift_change", "console": "c-0002",
                "reason": "stream_end", "recovered_after_s": null}
        ],
        "unexpected_talkgroups": [],
        "console_downtime_s": {"total": 21.3, "consoles": {"c-0002": 21.3}},
        "missed_deliveries": 1,
        "probes": {"calls": 0, "errors": 0, "expected": 0, "delivered": 0, "missed": 0,
            "latency_ms": lat(0.0)},
        "slo": [
            {"name": "terminal.status p99", "limit": 500.0, "observed": 812.4, "unit": "ms",
                "passed": false},
            {"name": "delivery.emergency.alert p95", "limit": 300.0, "observed": null,
                "unit": "ms", "passed": false,
                "note": "this percentile falls on missed deliveries"}
        ],
        "verdict": "fail",
        "warnings": ["THE GENERATOR FELL BEHIND: lateness p99 63.2 ms"],
        "process": {"peak_rss_mb": 42.0}
    });
    serde_json::from_value(v).expect("sample summary") // ok: test-only fixture (cfg(test) in report/mod.rs)
}

/// A run of `n` one-second intervals over three phases, with findings.
pub fn sample(n: usize) -> ReportData {
    let keys = [
        "terminal.status",
        "console.login",
        "delivery.emergency.alert",
    ];
    let total = n.max(1) as f64;
    let rows = (0..n)
        .map(|i| {
            let t = i as f64;
            let cells = keys
                .iter()
                .enumerate()
                .map(|(k, key)| {
                    let base = 2.0 + (k as f64) * 5.0 + (i % 17) as f64;
                    let count = if k == 1 && i % 3 != 0 { 0 } else { 10 };
                    let cell = Cell {
                        count,
                        errors: u64::from(i % 50 == 0),
                        p50_ms: base,
                        p99_ms: base * 4.0,
                        max_ms: base * 9.0,
                    };
                    (key.to_string(), cell)
                })
                .collect();
            IntervalRow {
                t_s: t,
                dt_s: 1.0,
                phase: "shift_change".into(),
                offered: 100 + (i % 10) as u64,
                sent: 100,
                completed: 98,
                in_flight: 2,
                errors: u64::from(i % 7 == 0),
                consoles_logged_in: (i as u64 * 40 / n as u64).min(40),
                terminals_registered: (i as u64 * 6000 / n as u64).min(6000),
                drops: u64::from(i % 11 == 0),
                disconnects: u64::from(i % 13 == 0),
                missed: u64::from(i % 29 == 0) * 3,
                skipped: 0,
                throttled: 0,
                cells,
            }
        })
        .collect();
    let band = |name: &str, a: f64, b: f64| PhaseBand {
        name: name.into(),
        start_s: total * a,
        end_s: total * b,
    };
    let spectrum = |name: &str, scale: f64| Spectrum {
        name: name.into(),
        count: 1000,
        points: (0..60)
            .map(|i| {
                let p = 100.0 - 100.0 * 0.8_f64.powi(i);
                (p, scale * (1.0 + i as f64))
            })
            .chain(std::iter::once((100.0, scale * 100.0)))
            .collect(),
    };
    ReportData {
        summary: summary(),
        interval_s: 1.0,
        phases: vec![
            band("warmup", 0.0, 0.25),
            band("shift_change", 0.25, 0.75),
            band("after", 0.75, 1.0),
        ],
        rows,
        spectra: vec![
            spectrum("terminal.status", 1.0),
            spectrum("delivery.emergency.alert", 0.3),
        ],
        marks: (0..n / 10)
            .map(|i| Mark {
                t_s: (i * 10) as f64 + 0.5,
                kind: [MarkKind::Drop, MarkKind::Disconnect, MarkKind::Missed][i % 3],
                label: format!("room01-con{i:02} talkgroup 100001 (audit)"),
            })
            .collect(),
        key_series: keys.iter().map(|k| k.to_string()).collect(),
        rebuilt: None,
        transport: None,
        heat: None,
    }
}

/// A synthetic summary: five SLOs (four failed), three phases whose names sort unlike their
/// times, two of them with findings.
pub fn findings_summary() -> Summary {
    let lat = |p99: f64| {
        serde_json::json!({"p50": p99 / 4.0, "p90": p99 / 2.0, "p99": p99, "p999": p99,
            "max": p99, "mean": p99 / 4.0})
    };
    let v = serde_json::json!({
        "schema": "rcload.summary/1",
        "rcload_version": "0.1.0",
        "profile": "shift & <change>",
        "seed": 42,
        "target": "http://127.0.0.1:8080",
        "started_at": "2025-01-01T00:00:00.000Z",
        "duration_s": 120.5,
        "interrupted": true,
        "generator": {
            "actions_scheduled": 1000, "actions_sent": 990,
            "skipped": {"console_not_logged_in": 10}, "throttled": 0,
            "lateness_ms": {"p50": 0.5, "p99": 3.2, "max": 9.0},
            "fell_behind": false, "lateness_limit_ms": 50.0
        },
        "operations": {
            "terminal.status": {"count": 1500, "ok": 1493, "errors": {"http_500": 7},
                "latency_ms": lat(812.4), "service_ms": lat(800.0)}
        },
        "deliveries": {},
        "phases": {
            "warmup": {"start_s": 0.0, "end_s": 30.0, "operations": {}, "deliveries": {},
                "talkgroup_drops": 0, "console_disconnects": 0, "missed_deliveries": 0},
            "shift_change": {"start_s": 30.0, "end_s": 90.0,
                "operations": {
                    "terminal.status": {"count": 1400, "errors": 7, "latency_ms": lat(812.4)},
                    "console.login": {"count": 100, "errors": 0, "latency_ms": lat(120.0)}
                },
                "deliveries": {},
                "talkgroup_drops": 3, "console_disconnects": 1, "missed_deliveries": 2},
            "after|hours": {"start_s": 90.0, "end_s": 120.5, "operations": {},
                "deliveries": {}, "talkgroup_drops": 0, "console_disconnects": 1,
                "missed_deliveries": 0}
        },
        "talkgroup_drops": [
            {"t_s": 31.25, "phase": "shift_change", "console": "c-0001", "talkgroup": 1201,
                "detected_by": "audit", "recovered_after_s": 2.5,
                "last_ok_s": 28.25, "detection_s": 3.0, "outage_s": 5.5},
            {"t_s": 32.0, "phase": "shift_change", "console": "c-0001", "talkgroup": 1202,
                "detected_by": "announced", "recovered_after_s": 1.0,
                "last_ok_s": 31.5, "detection_s": 0.5, "outage_s": 1.5},
            {"t_s": 40.0, "phase": "shift_change", "console": "c-0003", "talkgroup": 1203,
                "detected_by": "delivery", "recovered_after_s": null,
                "last_ok_s": 36.0, "detection_s": 4.0, "outage_s": 84.5}
        ],
        "console_disconnects": [
            {"t_s": 35.0, "phase": "shift_change", "console": "c-0002",
                "reason": "stream_end", "recovered_after_s": 0.8,
                "last_ok_s": 34.0, "detection_s": 1.0, "outage_s": 1.8},
            {"t_s": 100.0, "phase": "after|hours", "console": "c-0002",
                "reason": "kicked: a | b", "recovered_after_s": null,
                "last_ok_s": 100.0, "detection_s": 0.0, "outage_s": 20.5}
        ],
        "unexpected_talkgroups": [],
        "console_downtime_s": {"total": 21.3, "consoles": {"c-0002": 21.3}},
        "missed_deliveries": 2,
        "probes": {"calls": 0, "errors": 0, "expected": 0, "delivered": 0, "missed": 0,
            "latency_ms": lat(0.0)},
        "slo": [
            {"name": "terminal.status p99", "limit": 500.0, "observed": 812.4, "unit": "ms",
                "passed": false},
            {"name": "console.login p99", "limit": 1000.0, "observed": 120.0, "unit": "ms",
                "passed": true},
            {"name": "delivery.emergency.alert p95", "limit": 300.0, "observed": null,
                "unit": "ms", "passed": false,
                "note": "this percentile falls on missed deliveries"},
            {"name": "error_rate", "limit": 0.001, "observed": 0.0052, "unit": "ratio",
                "passed": false},
            {"name": "talkgroup_drops", "limit": 0.0, "observed": 3.0, "unit": "count",
                "passed": false}
        ],
        "verdict": "fail",
        "warnings": ["The run was interrupted before the end of its schedule."],
        "process": {"peak_rss_mb": null}
    });
    serde_json::from_value(v).expect("sample summary") // ok: test-only fixture (cfg(test) in report/mod.rs)
}

/// A room's (or discipline's) results with `drops` drops and `missed` misses (and one
/// disconnect).
pub fn group(drops: u64, missed: u64) -> super::groups::GroupSummary {
    super::groups::GroupSummary {
        consoles: 4,
        talkgroup_drops: drops,
        console_disconnects: 1,
        downtime_s: 21.3,
        delivered: 100,
        missed_deliveries: missed,
        delivery_latency_ms: super::latency::LatencyMs {
            p50: 10.0,
            p99: 40.3,
            ..super::latency::LatencyMs::default()
        },
    }
}
