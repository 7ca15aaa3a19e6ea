//! The nightly gate through the real binary, on summary.json files: a lost signal, a
//! regression only during the shift change, one only in a bad minute outside any event, an
//! invalid candidate; `rcload trend` over three runs writes its files. Quick: no run, only
//! files.

use crate::common;
use common::{TempDir, rcload_in};
use serde_json::{Value, json};

fn lat(p99: f64) -> Value {
    json!({"p50": 10.0, "p90": 20.0, "p99": p99, "p999": p99, "max": p99, "mean": 12.0})
}

/// A night: 20,000 statuses (p99 40 ms; in their worst minute `status_worst_p99`), a shift
/// change whose logins have p99 `login_p99`, and `alerts` emergency alerts delivered.
fn night(started: &str, login_p99: f64, alerts: u64, verdict: &str) -> String {
    night_with(started, login_p99, alerts, verdict, 45.0)
}

fn night_with(
    started: &str,
    login_p99: f64,
    alerts: u64,
    verdict: &str,
    status_worst_p99: f64,
) -> String {
    let mut deliveries = serde_json::Map::new();
    if alerts > 0 {
        deliveries.insert(
            "emergency.alert".into(),
            json!({"expected": alerts, "delivered": alerts, "missed": 0, "latency_ms": lat(90.0)}),
        );
    }
    json!({
        "schema": "rcload.summary/2", "rcload_version": "0.1.0", "profile": "nightly-soak",
        "seed": 5, "target": "mock", "started_at": started, "duration_s": 28800.0,
        "verdict": verdict,
        "verdict_reasons": if verdict == "invalid" { json!(["the generator fell behind: ..."]) } else { json!([]) },
        "interrupted": false,
        "generator": {
            "actions_scheduled": 20400, "actions_sent": 20400, "skipped": {}, "throttled": 0,
            "lateness_ms": {"p50": 0.1, "p99": 0.5, "max": 1.0},
            "fell_behind": verdict == "invalid", "lateness_limit_ms": 10.0
        },
        "operations": {
            "terminal.status": {"count": 20000, "ok": 20000, "errors": {},
                "latency_ms": lat(40.0), "service_ms": lat(40.0)},
            "console.login": {"count": 400, "ok": 400, "errors": {},
                "latency_ms": lat(50.0), "service_ms": lat(50.0)}
        },
        "deliveries": deliveries,
        "phases": {
            "shift_change": {"start_s": 14400.0, "end_s": 14700.0,
                "operations": {"console.login": {"count": 400, "errors": 0,
                    "latency_ms": lat(login_p99)}},
                "deliveries": {}, "talkgroup_drops": 0, "console_disconnects": 0,
                "missed_deliveries": 0}
        },
        "teardown": {"ran": true, "requests": 0, "timed_out": false, "left_calls": 0,
            "left_terminals": 0, "left_consoles": 0},
        "talkgroup_drops": [], "console_disconnects": [], "unexpected_talkgroups": [],
        "console_downtime_s": {"total": 0.0, "consoles": {}}, "missed_deliveries": 0,
        "probes": {"calls": 0, "errors": 0, "expected": 0, "delivered": 0, "missed": 0,
            "latency_ms": lat(0.0)},
        "slo": [], "warnings": [], "process": {"peak_rss_mb": null},
        "worst_window_s": 60.0,
        "worst_windows": {"terminal.status": {"start_s": 3600.0, "samples": 2000,
            "latency_ms": lat(status_worst_p99)}}
    })
    .to_string()
}

#[test]
fn the_gate_fails_on_a_lost_signal_a_shift_change_regression_and_an_invalid_run() {
    let d = TempDir::new("gate");
    d.write(
        "base.json",
        &night("2026-11-28T02:00:00.000Z", 50.0, 30, "pass"),
    );
    d.write(
        "same.json",
        &night("2026-11-29T02:00:00.000Z", 50.0, 30, "pass"),
    );
    d.write(
        "lost.json",
        &night("2026-11-29T02:00:00.000Z", 50.0, 0, "pass"),
    );
    d.write(
        "shift.json",
        &night("2026-11-29T02:00:00.000Z", 900.0, 30, "pass"),
    );
    d.write(
        "invalid.json",
        &night("2026-11-29T02:00:00.000Z", 50.0, 30, "invalid"),
    );
    d.write(
        "minute.json",
        &night_with("2026-11-29T02:00:00.000Z", 50.0, 30, "pass", 400.0),
    );
    rcload_in(d.path(), &["compare", "base.json", "same.json"]).expect_code(0);
    rcload_in(d.path(), &["compare", "base.json", "lost.json"])
        .expect_code(1)
        .stdout_has("delivery.emergency.alert missing");
    rcload_in(d.path(), &["compare", "base.json", "shift.json"])
        .expect_code(1)
        .stdout_has("shift\\_change: console.login p99");
    // Statuses slow for one minute of eight hours: the whole run's p99 hides it (as here: 40
    // ms in both), the worst minute does not.
    rcload_in(d.path(), &["compare", "base.json", "minute.json"])
        .expect_code(1)
        .stdout_has("worst 1m: terminal.status p99");
    rcload_in(d.path(), &["compare", "base.json", "invalid.json"])
        .expect_code(4)
        .stderr_has("the candidate run is invalid: the generator fell behind");
    // The last nights as bases: their median.
    rcload_in(
        d.path(),
        &[
            "compare",
            "--base",
            "base.json",
            "--base",
            "same.json",
            "shift.json",
        ],
    )
    .expect_code(1)
    .stdout_has("Spread of the 2 base runs");
}

#[test]
fn a_trend_over_three_runs_writes_its_files() {
    let d = TempDir::new("trend");
    d.write(
        "a.json",
        &night("2026-11-28T02:00:00.000Z", 50.0, 30, "pass"),
    );
    d.write(
        "b.json",
        &night("2026-11-29T02:00:00.000Z", 60.0, 30, "pass"),
    );
    d.write(
        "c.json",
        &night("2026-11-27T02:00:00.000Z", 900.0, 30, "fail"),
    );
    rcload_in(
        d.path(),
        &["trend", "a.json", "b.json", "c.json", "--out", "t"],
    )
    .expect_code(0)
    .stdout_has("trend.html");
    let csv = std::fs::read_to_string(d.path().join("t/trend.csv")).expect("trend.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1].starts_with("c.json,2026-11-27"),
        "in time order\n{csv}"
    );
    assert!(
        lines[0].contains("shift_change console.login p99_ms"),
        "{csv}"
    );
    let html = std::fs::read_to_string(d.path().join("t/trend.html")).expect("trend.html");
    assert_eq!(html.matches("<svg").count(), 2, "two charts");
    let md = std::fs::read_to_string(d.path().join("t/trend.md")).expect("trend.md");
    assert!(md.contains("FAIL"), "{md}");
}
