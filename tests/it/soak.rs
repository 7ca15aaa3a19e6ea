//! What an unattended run needs, with the real binary: plain progress lines at their cadence
//! ending with the result, a live `/metrics` that passes `promtool check metrics` and whose
//! counters only grow, and Ctrl-C (once: results written, interrupted; twice: out at once).

use crate::common;

use common::{TempDir, summary};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn profile(duration: &str, faults: &str) -> String {
    format!(
        "name: soak-test
seed: 9
duration: {duration}
population:
  control_rooms: 1
  consoles_per_room: 4
  terminals: 200
  talkgroups_per_room: 6
  monitored_per_console: 3
setup:
  over: 2s
traffic:
  - action: status
    rate: 40/s
  - action: group_call
    rate: 2/s
    hold: 1s
slo:
  terminal.status: {{ p99: 1s }}
{faults}"
    )
}

/// The binary started in `dir`; stderr lines arrive on the channel as they are written.
fn spawn(dir: &std::path::Path, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rcload"))
        .args(crate::common::with_test_lateness(args))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rcload");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn finish(
    mut child: Child,
    rx: &mpsc::Receiver<String>,
    limit: Duration,
) -> (Option<i32>, String, Vec<String>) {
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("rcload did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    std::thread::sleep(Duration::from_millis(100));
    let err: Vec<String> = rx.try_iter().collect();
    (code, out, err)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn plain_progress_lines_come_at_their_cadence_and_end_with_the_result() {
    let dir = TempDir::new("progress");
    dir.write("p.yaml", &profile("9s", ""));
    let (child, rx) = spawn(
        dir.path(),
        &["run", "p.yaml", "--out", "out", "--progress-every", "2s"],
    );
    let (code, stdout, stderr) = finish(child, &rx, Duration::from_secs(60));
    let context = format!(
        "exit {code:?}\n--- stdout\n{stdout}\n--- stderr\n{}",
        stderr.join("\n")
    );
    assert_eq!(code, Some(0), "{context}");
    let lines: Vec<&String> = stderr
        .iter()
        .filter(|l| l.contains(" s of ") && l.contains("| offered "))
        .collect();
    let times: Vec<f64> = lines
        .iter()
        .filter_map(|l| {
            l.trim_start_matches("rcload:")
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert!(times.len() >= 4, "{context}");
    assert_eq!(times[..4], [2.0, 4.0, 6.0, 8.0], "{context}");
    for l in &lines {
        for part in [
            "offered",
            "sent",
            "in flight",
            "consoles",
            "drops 0",
            "disconnects 0",
        ] {
            assert!(l.contains(part), "{part} missing in {l}\n{context}");
        }
    }
    assert!(
        lines.iter().any(|l| l.contains("p99 ms: terminal.status")),
        "{context}"
    );
    let last = stderr.last().expect("stderr lines");
    assert!(
        last.starts_with("rcload: finished after") && last.contains("verdict pass"),
        "{context}"
    );
    assert!(
        stdout.contains("verdict"),
        "the result table is on stdout\n{context}"
    );
}

/// One scrape: (status line, body).
fn scrape(addr: &str) -> String {
    let mut c = std::net::TcpStream::connect(addr).expect("connect to /metrics");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(c, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("send");
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    let (head, body) = out.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.to_string()
}

/// Counter-like samples (`_total`, histogram `_count`, `_sum`, `_bucket`) by series.
fn counters(body: &str) -> std::collections::BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let name = series.split('{').next()?;
            let counter = ["_total", "_count", "_sum", "_bucket"]
                .iter()
                .any(|s| name.ends_with(s));
            counter.then(|| Some((series.to_string(), value.parse().ok()?)))?
        })
        .collect()
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn live_metrics_pass_promtool_and_counters_only_grow() {
    let dir = TempDir::new("live-metrics");
    dir.write("p.yaml", &profile("10s", ""));
    let (child, rx) = spawn(
        dir.path(),
        &[
            "run",
            "p.yaml",
            "--out",
            "out",
            "-q",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
    );
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a first stderr line");
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in {first:?}"))
        .to_string();
    std::thread::sleep(Duration::from_secs(4));
    let a = scrape(&addr);
    std::thread::sleep(Duration::from_secs(3));
    let b = scrape(&addr);
    let (code, stdout, stderr) = finish(child, &rx, Duration::from_secs(60));
    assert_eq!(code, Some(0), "{stdout}\n{}", stderr.join("\n"));
    for body in [&a, &b] {
        common::promtool_check(body);
        for name in [
            "rcload_requests_total{",
            "rcload_request_latency_seconds_bucket{",
            "rcload_deliveries_total{",
            "rcload_in_flight ",
            "rcload_consoles_logged_in 4",
            "rcload_terminals_registered ",
            "rcload_phase{phase=\"steady\"} 1",
            "rcload_talkgroup_drops_total 0",
        ] {
            assert!(body.contains(name), "{name} missing:\n{body}");
        }
    }
    let (ca, cb) = (counters(&a), counters(&b));
    assert!(ca.len() > 10, "{a}");
    for (series, v) in &ca {
        let later = cb
            .get(series)
            .unwrap_or_else(|| panic!("{series} gone:\n{b}"));
        assert!(later >= v, "{series} went down: {v} -> {later}");
    }
    let status = "rcload_requests_total{op=\"terminal.status\",result=\"ok\"}";
    assert!(cb[status] > ca[status], "traffic went on between scrapes");
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn ctrl_c_once_writes_the_results_and_twice_exits_at_once() {
    let dir = TempDir::new("sigint");
    dir.write("p.yaml", &profile("30s", ""));
    let (child, rx) = spawn(dir.path(), &["run", "p.yaml", "--out", "once", "-q"]);
    std::thread::sleep(Duration::from_secs(6));
    signal(&child, "-INT");
    let (code, stdout, stderr) = finish(child, &rx, Duration::from_secs(40));
    let context = format!("exit {code:?}\n{stdout}\n{}", stderr.join("\n"));
    // An interrupted run is invalid (exit 4), and says so first.
    assert_eq!(code, Some(4), "{context}");
    assert!(
        stdout.contains("verdict invalid: the run was interrupted (SIGINT or SIGTERM)"),
        "{context}"
    );
    let s = summary(&dir.path().join("once"));
    assert!(s.interrupted, "{context}");
    assert_eq!(s.verdict, rcload::judge::Verdict::Invalid, "{context}");
    assert!(
        s.verdict_reasons[0].starts_with("the run was interrupted"),
        "{context}"
    );
    assert!(
        s.duration_s > 3.0 && s.duration_s < 15.0,
        "{}",
        s.duration_s
    );

    for f in [
        "report.html",
        "junit.xml",
        "summary.md",
        "latency.hlog",
        "timeseries.csv",
        "events.jsonl",
    ] {
        assert!(dir.path().join("once").join(f).exists(), "{f}\n{context}");
    }

    // Twice: requests stalled by the mock hold the first stop; the second exits at once.
    dir.write(
        "stall.yaml",
        &profile(
            "30s",
            "mock:\n  faults:\n    - { at: 3s, kind: stall, for: 60s }\n",
        ),
    );
    let (child, rx) = spawn(dir.path(), &["run", "stall.yaml", "--out", "twice", "-q"]);
    std::thread::sleep(Duration::from_secs(5));
    signal(&child, "-INT");
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    signal(&child, "-INT");
    let (code, _, stderr) = finish(child, &rx, Duration::from_secs(20));
    assert_eq!(code, Some(130), "{}", stderr.join("\n"));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(stderr.iter().any(|l| l.contains("interrupted twice")));
    // What was flushed is there for `rcload report`.
    assert!(dir.path().join("twice/latency.hlog").exists());
    assert!(dir.path().join("twice/events.jsonl").exists());
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_clock_time_is_placed_by_the_clock_start() {
    let dir = TempDir::new("clock");
    dir.write(
        "p.yaml",
        &profile("2m", "").replace(
            "name: soak-test\n",
            "name: soak-test\ntimezone: Europe/Amsterdam\nevents:\n  - { kind: shift_change, at: \"14:00\", consoles: 50%, logout_over: 10s, handover: 5s }\n",
        ),
    );
    let r = common::rcload_in(
        dir.path(),
        &["validate", "p.yaml", "--clock-start", "2026-03-28T13:59:30"],
    );
    r.expect_code(0).stdout_has("shift_change           30.0 s");
    let late = common::rcload_in(
        dir.path(),
        &["validate", "p.yaml", "--clock-start", "2026-03-28T14:30:00"],
    );
    late.expect_code(2)
        .stderr_has("p.yaml:")
        .stderr_has("events[0].at: 14:00 does not come within the run");
    // The built-in nightly soak started at 22:00 sees the 23:00 shift change an hour in.
    let n = common::rcload_in(
        dir.path(),
        &[
            "validate",
            "nightly-soak",
            "--clock-start",
            "2026-11-28T22:00:00",
        ],
    );
    n.expect_code(0).stdout_has("shift_change         3600.0 s");
}
