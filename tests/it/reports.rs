//! Reports, through the real binary: the raw files read by independent readers (Python
//! `hdrhistogram` for latency.hlog, `junitparser` for junit.xml), report.html rendered by
//! headless Chromium, a SIGKILLed run reported from its raw data, and `rcload compare`.
//!
//! The tools come from `scripts/test` (RCLOAD_PYTHON, RCLOAD_CHROMIUM). Without them a test
//! fails under CI=true and is skipped, saying so, elsewhere.

use crate::common;
use common::{Run, TempDir, rcload_in, summary};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A run with setup, steady and an event phase; a drop and a kick in the event phase; one SLO
/// that fails (status p50 under 1 µs) and some that pass.
fn profile(name: &str, seconds: u32, faults: &str) -> String {
    format!(
        "name: {name}
seed: 11
duration: {seconds}s
population:
  control_rooms: 1
  consoles_per_room: 4
  terminals: 200
  talkgroups_per_room: 4
  monitored_per_console: 2
setup:
  over: 2s
traffic:
  - action: status
    rate: 60/s
  - action: group_call
    rate: 3/s
events:
  - kind: emergency_burst
    at: 6s
    calls: 15
    over: 3s
    talkgroups: 2
    hold: 1s
checks:
  audit_every: 2s
  probe_every: 1s
slo:
  terminal.status: {{ p50: 1us, p99: 2s }}
  delivery.emergency.alert: {{ p99: 2s }}
  error_rate: 5%
mock:
  faults:
{faults}
"
    )
}

const FAULTS: &str = "    - { at: 7s, kind: drop, console: room01-con01, talkgroup: 100001 }
    - { at: 7500ms, kind: kick, console: room01-con02 }";

/// A tool from scripts/test; None (after saying so) when it is missing outside CI.
fn tool(var: &str, fallback: &str, probe: &[&str]) -> Option<PathBuf> {
    let path = std::env::var(var).unwrap_or_else(|_| fallback.to_string());
    let ok = Command::new(&path)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Some(PathBuf::from(path));
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{var} ({path}) is missing or broken: scripts/test installs it");
    }
    eprintln!("SKIPPED: {var} ({path}) is not available; run scripts/test to install it");
    None
}

fn python() -> Option<PathBuf> {
    tool(
        "RCLOAD_PYTHON",
        "python3",
        &["-c", "import hdrh, junitparser"],
    )
}

fn chromium() -> Option<PathBuf> {
    tool("RCLOAD_CHROMIUM", "chromium", &["--version"])
}

fn run_tool(program: &Path, args: &[&str]) -> Run {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    Run {
        cmd: format!("{} {}", program.display(), args.join(" ")),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn script(name: &str) -> String {
    format!("{}/tests/py/{name}", env!("CARGO_MANIFEST_DIR"))
}

const ARTIFACTS: [&str; 9] = [
    "run.json",
    "profile.yaml",
    "events.jsonl",
    "latency.hlog",
    "timeseries.csv",
    "summary.json",
    "report.html",
    "junit.xml",
    "summary.md",
];

fn has_all_artifacts(dir: &Path, r: &Run) {
    for f in ARTIFACTS {
        let p = dir.join(f);
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{} is missing or empty\n{r}", p.display());
    }
}

/// The `<figure id="chart-...">` blocks of a page, with their contents.
fn charts(html: &str) -> Vec<(String, String)> {
    html.split("<figure id=\"chart-")
        .skip(1)
        .map(|rest| {
            let id = rest.split('"').next().unwrap_or("").to_string();
            let body = rest.split("</figure>").next().unwrap_or("").to_string();
            (id, body)
        })
        .collect()
}

fn five_charts_with_data(html: &str, context: &str) {
    let found = charts(html);
    let ids: Vec<&str> = found.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(
        ids,
        [
            "throughput",
            "latency",
            "spectrum",
            "population",
            "findings"
        ],
        "{context}"
    );
    for (id, body) in &found {
        assert!(body.contains("<svg"), "chart {id} has no SVG\n{context}");
        let marks = body.matches("<polyline").count()
            + body.matches("<path").count()
            + body.matches("<circle").count();
        assert!(marks > 0, "chart {id} has no data elements\n{context}");
    }
    assert!(html.contains("id=\"slo\""), "no SLO table\n{context}");
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn reports_are_read_by_independent_readers_and_render_in_chromium() {
    let d = TempDir::new("reports");
    d.write("p.yaml", &profile("report-test", 12, FAULTS));
    let r = rcload_in(d.path(), &["run", "p.yaml", "--out", "out"]);
    r.expect_code(1);
    let out = d.path().join("out");
    has_all_artifacts(&out, &r);
    let s = summary(&out);
    assert!(!s.talkgroup_drops.is_empty(), "the fault made no drop\n{r}");
    assert!(s.slo.iter().any(|x| x.passed) && s.slo.iter().any(|x| !x.passed));
    let rows = rcload::report::timeseries::read(&out.join("timeseries.csv")).unwrap();
    assert!((11..=14).contains(&rows.len()), "{} rows\n{r}", rows.len());
    let status: u64 = rows
        .iter()
        .filter_map(|x| x.cells.get("terminal.status"))
        .map(|c| c.count)
        .sum();
    assert_eq!(status, s.operations["terminal.status"].count, "{r}");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("FAIL") && md.contains("terminal.status p50"),
        "{md}"
    );

    let out_s = out.to_string_lossy().to_string();
    if let Some(py) = python() {
        let h = run_tool(&py, &[&script("check_hlog.py"), &out_s]);
        eprintln!("{}", h.stdout);
        h.expect_code(0);
        let j = run_tool(&py, &[&script("check_junit.py"), &out_s]);
        eprintln!("{}", j.stdout);
        j.expect_code(0);
    }
    if let Some(chrome) = chromium() {
        let page = format!("file://{}", out.join("report.html").display());
        let profile_dir = d.path().join("chrome-profile");
        let user_data = format!("--user-data-dir={}", profile_dir.display());
        let common = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            user_data.as_str(),
        ];
        let mut args = common.to_vec();
        args.extend(["--dump-dom", page.as_str()]);
        let dom = run_tool(&chrome, &args);
        dom.expect_code(0);
        let console_errors: Vec<&str> = dom
            .stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .collect();
        assert!(
            console_errors.is_empty(),
            "console errors: {console_errors:?}"
        );
        five_charts_with_data(&dom.stdout, &dom.cmd);
        let png = d.path().join("report.png");
        let shot = format!("--screenshot={}", png.display());
        let mut args = common.to_vec();
        args.extend([shot.as_str(), "--window-size=1280,2400", page.as_str()]);
        run_tool(&chrome, &args).expect_code(0);
        let bytes = std::fs::read(&png).unwrap_or_default();
        assert!(
            bytes.len() > 20_000 && bytes.starts_with(b"\x89PNG"),
            "screenshot of {} bytes",
            bytes.len()
        );
    }
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_killed_run_is_reported_up_to_its_last_interval() {
    let d = TempDir::new("killed");
    d.write("p.yaml", &profile("killed-test", 30, FAULTS));
    let mut child = Command::new(env!("CARGO_BIN_EXE_rcload"))
        .args(["run", "p.yaml", "--out", "out"])
        .current_dir(d.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = d.path().join("out");
    let csv = out.join("timeseries.csv");
    // Halfway through the event phase: after 9 whole intervals.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let rows = std::fs::read_to_string(&csv)
            .map(|t| t.lines().count().saturating_sub(1))
            .unwrap_or(0);
        if rows >= 9 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run wrote {rows} rows in 40 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!out.join("summary.json").exists());

    let r = rcload_in(d.path(), &["report", "out"]);
    // Killed, then rebuilt: invalid (exit 4), the reason first.
    r.expect_code(4)
        .stdout_has("rebuilt")
        .stdout_has("verdict: INVALID: the run was killed before it ended");
    has_all_artifacts(&out, &r);
    let s = summary(&out);
    assert!(s.interrupted, "{r}");
    assert!(s.warnings.iter().any(|w| w.contains("Rebuilt")), "{r}");
    let rows = rcload::report::timeseries::read(&csv).unwrap();
    let last = rows.last().unwrap();
    assert!((s.duration_s - (last.t_s + last.dt_s)).abs() < 0.01, "{r}");
    for (op, o) in &s.operations {
        let from_rows: u64 = rows
            .iter()
            .filter_map(|x| x.cells.get(op))
            .map(|c| c.count)
            .sum();
        assert_eq!(o.count, from_rows, "{op}\n{r}");
    }
    assert!(!s.talkgroup_drops.is_empty(), "{r}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    five_charts_with_data(&html, &r.to_string());
    assert!(html.contains("did not finish"), "no rebuilt notice\n{r}");
    if let Some(py) = python() {
        let out_s = out.to_string_lossy().to_string();
        let h = run_tool(&py, &[&script("check_hlog.py"), &out_s]);
        eprintln!("{}", h.stdout);
        h.expect_code(0);
        run_tool(&py, &[&script("check_junit.py"), &out_s]).expect_code(0);
    }
    // Reporting again gives the same files.
    let again = rcload_in(d.path(), &["report", "out"]);
    again.expect_code(4);
    assert_eq!(summary(&out), s);
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn compare_flags_an_injected_regression_and_passes_a_rerun() {
    let d = TempDir::new("compare");
    let healthy = profile("compare-test", 10, "    []");
    let delayed = profile(
        "compare-test",
        10,
        "    - { at: 0s, kind: delay, op: terminal.status, ms: 100 }",
    );
    d.write("healthy.yaml", &healthy);
    d.write("delayed.yaml", &delayed);
    let dir = d.path();
    let runs: Vec<Run> = std::thread::scope(|s| {
        let h: Vec<_> = [
            ("healthy.yaml", "base"),
            ("healthy.yaml", "rerun"),
            ("delayed.yaml", "delayed"),
        ]
        .into_iter()
        .map(|(p, o)| s.spawn(move || rcload_in(dir, &["run", p, "--out", o])))
        .collect();
        h.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &runs {
        assert!(r.code == Some(0) || r.code == Some(1), "{r}");
    }
    // A noise floor of 20 ms: three runs at once on a small machine move p99 by a few ms.
    let gate = ["--max-regression", "10%", "--min-delta-ms", "20"];
    let mut args = vec!["compare", "base", "rerun"];
    args.extend(gate);
    let same = rcload_in(d.path(), &args);
    same.expect_code(0);

    let mut args = vec!["compare", "base", "delayed"];
    args.extend(gate);
    let worse = rcload_in(d.path(), &args);
    worse.expect_code(1).stdout_has("terminal.status");

    // summary.json files work too, and json output parses.
    let mut args = vec![
        "compare",
        "base/summary.json",
        "delayed/summary.json",
        "--format",
        "json",
    ];
    args.extend(gate);
    let j = rcload_in(d.path(), &args);
    j.expect_code(1);
    let v: serde_json::Value =
        serde_json::from_str(&j.stdout).unwrap_or_else(|e| panic!("{e}\n{j}"));
    let regressions = v["regressions"].as_array().cloned().unwrap_or_default();
    assert!(
        regressions
            .iter()
            .any(|x| x.to_string().contains("terminal.status")),
        "{j}"
    );
    assert!(
        !regressions
            .iter()
            .any(|x| x.to_string().contains("call.group")),
        "only the delayed operation regressed\n{j}"
    );
    let bad = rcload_in(d.path(), &["compare", "base", "nowhere"]);
    bad.expect_code(2);
}
