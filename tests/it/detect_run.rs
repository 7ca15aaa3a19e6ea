//! Drops and disconnects against real servers, through the real binary: no false positives on
//! a healthy mock; a dead or stalled target yields disconnects and errors by class, and the run
//! still finishes and writes its results; events.jsonl is valid JSON Lines while the run goes.

use crate::common;
use common::{TempDir, rcload_in, start_mock, summary};
use rcload::report::events::EventLine;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SMALL: &str = "name: detect-test
seed: 5
duration: 12s
population:
  control_rooms: 2
  consoles_per_room: 4
  terminals: 200
  talkgroups_per_room: 6
  monitored_per_console: 3
setup:
  over: 2s
traffic:
  - action: status
    rate: 20/s
  - action: group_call
    rate: 2/s
    hold: 1s
checks:
  delivery_timeout: 1s
  audit_every: 2s
  probe_every: 2s
  stream_idle_timeout: 2s
  reconnect: { initial: 100ms, max: 1s }
slo:
  error_rate: 0%
";

/// Every complete line of events.jsonl parses strictly, and the file ends with a newline.
fn check_events(path: &Path) -> Vec<EventLine> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "events.jsonl ends in a partial line:\n{text}"
    );
    text.lines()
        .map(|l| {
            serde_json::from_str::<EventLine>(l)
                .unwrap_or_else(|e| panic!("bad events.jsonl line {l:?}: {e}"))
        })
        .collect()
}

/// Run against `url`, doing `during(child_pid)` at `at` into the run, reading events.jsonl all
/// along. Returns the run's exit code, its stderr, and how long it took.
fn run_with(
    dir: &Path,
    url: &str,
    at: Duration,
    during: impl FnOnce(),
) -> (Option<i32>, String, Duration) {
    let start = Instant::now();
    let mut run = Command::new(env!("CARGO_BIN_EXE_rcload"))
        .args(common::with_test_lateness(&[
            "run",
            "p.yaml",
            "--target",
            url,
            "--out",
            "out",
            "-q",
            "--timeout",
            "1s",
        ]))
        .args(["--grace", "3s"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start rcload run: {e}"));
    let mut during = Some(during);
    let events = dir.join("out/events.jsonl");
    let code = loop {
        if let Some(status) = run.try_wait().unwrap_or_else(|e| panic!("wait: {e}")) {
            break status.code();
        }
        if start.elapsed() >= at
            && let Some(f) = during.take()
        {
            f();
        }
        check_events(&events);
        // The run ends: 12 s, a 1 s timeout and a 3 s grace take about 15 s; a run that hangs
        // is stopped at 10x that.
        if start.elapsed() > Duration::from_secs(150) {
            let _ = run.kill();
            panic!("the run did not finish in 150 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    if let Some(mut e) = run.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    (code, stderr, start.elapsed())
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_dead_target_gives_disconnects_and_connect_errors_and_the_run_ends() {
    let d = TempDir::new("dead");
    d.write("p.yaml", SMALL);
    let (mut mock, url) = start_mock();
    let pid = mock.id();
    let (code, stderr, took) = run_with(d.path(), &url, Duration::from_secs(5), || {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let _ = mock.kill();
    let _ = mock.wait();
    let s = summary(&d.path().join("out"));
    let ctx = format!("exit {code:?}, took {took:?}\nstderr: {stderr}\n{s:#?}");
    assert_eq!(code, Some(1), "error_rate 0% fails: {ctx}");
    assert!(!s.interrupted, "{ctx}");
    assert!(!s.console_disconnects.is_empty(), "{ctx}");
    for c in &s.console_disconnects {
        assert!(
            c.reason.starts_with("stream_") || c.reason.starts_with("attach"),
            "reason {}: {ctx}",
            c.reason
        );
        assert!(c.t_s >= 4.0, "{ctx}");
        assert_eq!(c.recovered_after_s, None, "{ctx}");
    }
    let connect: u64 = s
        .operations
        .values()
        .filter_map(|o| o.errors.get("connect"))
        .sum();
    assert!(connect > 0, "{ctx}");
    let lines = check_events(&d.path().join("out/events.jsonl"));
    assert!(
        lines.iter().any(|l| l.kind == "console_disconnect"),
        "{lines:?}"
    );
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_stalled_target_gives_heartbeat_timeouts_and_timeouts_and_the_run_ends() {
    let d = TempDir::new("stalled");
    d.write("p.yaml", SMALL);
    let (mut mock, url) = start_mock();
    let pid = mock.id().to_string();
    let (code, stderr, took) = run_with(d.path(), &url, Duration::from_secs(5), || {
        let _ = Command::new("kill").args(["-STOP", &pid]).status();
    });
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    let _ = mock.kill();
    let _ = mock.wait();
    let s = summary(&d.path().join("out"));
    let ctx = format!("exit {code:?}, took {took:?}\nstderr: {stderr}\n{s:#?}");
    assert_eq!(code, Some(1), "{ctx}");
    assert!(
        s.console_disconnects
            .iter()
            .any(|c| c.reason == "heartbeat_timeout"),
        "{ctx}"
    );
    let timeouts: u64 = s
        .operations
        .values()
        .filter_map(|o| o.errors.get("timeout"))
        .sum();
    assert!(timeouts > 0, "{ctx}");
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn no_false_positives_on_a_healthy_mock() {
    // The shift-change profile scaled to 200 consoles and 5,000 terminals, 80 seconds.
    let d = TempDir::new("healthy");
    let r = rcload_in(
        d.path(),
        &[
            "run",
            "shift-change",
            "--out",
            "out",
            "--duration",
            "80s",
            "--set",
            "population.control_rooms=10",
            "--set",
            "population.consoles_per_room=20",
            "--set",
            "population.terminals=5000",
            "--set",
            "setup.over=15s",
            "--set",
            "events.0.at=25s",
            "--set",
            "events.0.logout_over=20s",
            "--set",
            "events.0.handover=8s",
            "--set",
            "events.1.at=50s",
            "--set",
            "events.1.over=10s",
            "--set",
            "events.1.hold=15s",
        ],
    );
    r.expect_code(0);
    let s = summary(&d.path().join("out"));
    assert!(s.talkgroup_drops.is_empty(), "{:?}\n{r}", s.talkgroup_drops);
    assert!(
        s.console_disconnects.is_empty(),
        "{:?}\n{r}",
        s.console_disconnects
    );
    assert!(
        s.unexpected_talkgroups.is_empty(),
        "{:?}\n{r}",
        s.unexpected_talkgroups
    );
    assert_eq!(s.missed_deliveries, 0, "{r}");
    assert!(
        s.probes.calls > 0 && s.probes.missed == 0,
        "{:?}\n{r}",
        s.probes
    );
    assert!(s.operations["console.audit"].count > 100, "{r}");
    assert_eq!(s.operations["console.logout"].count, 200, "{r}");
    assert!(check_events(&d.path().join("out/events.jsonl")).is_empty());
}
