//! Damaged and hostile files, through the real binary (issue 13): what `rcload report` and
//! `rcload compare` read is bounded (`/dev/zero` or a 200 MB file is refused at once), a number
//! out of range is an error naming its field, a histogram declaring 2 GB is refused before any
//! allocation, a cut or empty latency.hlog is rebuilt up to its last whole interval and the
//! report says so, and `compare` refuses a summary of another schema or without samples. Never
//! a panic: every test checks both outputs for one.

use crate::common;
use base64::Engine as _;
use common::{Run, TempDir, rcload_in};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A refusal must come at once, not after reading the file.
const QUICK: Duration = Duration::from_secs(10);

/// A short run against the embedded mock: terminal status requests, two consoles.
const PROFILE: &str = "name: damaged-test
seed: 5
duration: 4s
population:
  control_rooms: 1
  consoles_per_room: 2
  terminals: 50
  talkgroups_per_room: 2
  monitored_per_console: 1
setup:
  over: 1s
traffic:
  - action: status
    rate: 20/s
checks:
  audit_every: 0s
  probe_every: 0s
slo:
  terminal.status: { p99: 2s }
";

/// Neither output of `r` shows a panic.
fn no_panic(r: &Run) -> &Run {
    assert!(
        !r.stdout.contains("panicked") && !r.stderr.contains("panicked"),
        "rcload panicked\n{r}"
    );
    r
}

/// `rcload args` in `dir`, checked for panics, and how long it took.
fn rcload_timed(dir: &Path, args: &[&str]) -> (Run, Duration) {
    let t = Instant::now();
    let r = rcload_in(dir, args);
    let took = t.elapsed();
    no_panic(&r);
    (r, took)
}

/// `rcload args` in `dir`: exit code 2 within [`QUICK`], stderr naming each of `names`.
fn refused(dir: &Path, args: &[&str], names: &[&str]) -> Run {
    let (r, took) = rcload_timed(dir, args);
    r.expect_code(2);
    for n in names {
        r.stderr_has(n);
    }
    assert!(took < QUICK, "refused after {took:?}\n{r}");
    r
}

/// A summary.json of `schema` with `count` terminal.status requests.
fn summary_json(schema: &str, count: u64) -> String {
    let lat = serde_json::json!({
        "p50": 10.0, "p90": 20.0, "p99": 40.0, "p999": 80.0, "max": 90.0, "mean": 12.0
    });
    serde_json::json!({
        "schema": schema, "rcload_version": "0.1.0", "profile": "damaged-test", "seed": 5,
        "target": "mock", "started_at": "2025-01-01T00:00:00.000Z", "duration_s": 20.0,
        "interrupted": false,
        "generator": {
            "actions_scheduled": count, "actions_sent": count, "skipped": {}, "throttled": 0,
            "lateness_ms": {"p50": 0.1, "p99": 0.5, "max": 1.0},
            "fell_behind": false, "lateness_limit_ms": 10.0
        },
        "operations": {
            "terminal.status": {"count": count, "ok": count, "errors": {},
                "latency_ms": lat, "service_ms": lat}
        },
        "deliveries": {}, "phases": {},
        "talkgroup_drops": [], "console_disconnects": [], "unexpected_talkgroups": [],
        "console_downtime_s": {"total": 0.0, "consoles": {}}, "missed_deliveries": 0,
        "probes": {"calls": 0, "errors": 0, "expected": 0, "delivered": 0, "missed": 0,
            "latency_ms": lat},
        "slo": [], "verdict": "pass", "warnings": [], "process": {"peak_rss_mb": null}
    })
    .to_string()
}

/// A run.json of a 20 s run, with `started_at_unix_s`.
fn run_json(started_at_unix_s: f64) -> String {
    serde_json::json!({
        "schema": "rcload.run/1", "rcload_version": "0.1.0", "profile": "damaged-test",
        "profile_source": "p.yaml", "seed": 5, "target": "mock",
        "started_at": "2025-01-01T00:00:00.000Z", "started_at_unix_s": started_at_unix_s,
        "interval_s": 1.0, "planned_duration_s": 20.0, "lateness_limit_ms": 10.0,
        "phases": [{"name": "setup", "start_s": 0.0, "end_s": 20.0}],
        "command": ["rcload", "run", "p.yaml"], "platform": "linux-x86_64"
    })
    .to_string()
}

/// Seconds as the report writes them: `12`, `12.5`.
fn secs(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The short run, in `d/r0`; its exit code is its verdict's (0, 1, or 4 when a busy machine
/// held the generator back: any of them made a whole run directory).
fn real_run(d: &TempDir) -> PathBuf {
    d.write("p.yaml", PROFILE);
    let r = rcload_in(d.path(), &["run", "p.yaml", "--out", "r0", "-q"]);
    no_panic(&r);
    assert!(matches!(r.code, Some(0 | 1 | 4)), "the run failed\n{r}");
    let out = d.path().join("r0");
    for f in ["run.json", "timeseries.csv", "latency.hlog", "summary.json"] {
        assert!(out.join(f).is_file(), "{f} is missing\n{r}");
    }
    out
}

/// A copy of run directory `from` as `d/name`.
fn copy_run(d: &TempDir, from: &Path, name: &str) -> PathBuf {
    let to = d.path().join(name);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
    to
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_json(path: &Path, v: &serde_json::Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

fn summary_of(dir: &Path) -> rcload::report::Summary {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A V2 histogram header declaring 2,000,000,000 bytes of counts (2 GB), and a few bytes.
fn histogram_declaring_2gb() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x1c84_9313u32.to_be_bytes()); // V2 cookie
    b.extend_from_slice(&2_000_000_000u32.to_be_bytes()); // counts length
    b.extend_from_slice(&0u32.to_be_bytes()); // normalizing offset
    b.extend_from_slice(&3u32.to_be_bytes()); // significant digits
    b.extend_from_slice(&1u64.to_be_bytes()); // lowest
    b.extend_from_slice(&2048u64.to_be_bytes()); // highest
    b.extend_from_slice(&1.0f64.to_be_bytes()); // integer to double ratio
    b.extend_from_slice(&[2, 0, 2]);
    b
}

/// `data` in the compressed V2 form: a zlib stream of one stored block.
fn compressed(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap();
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(data);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = 0x1c84_9314u32.to_be_bytes().to_vec();
    out.extend_from_slice(&u32::try_from(z.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&z);
    out
}

#[test]
fn compare_refuses_dev_zero_and_a_200_mb_summary_at_once() {
    let d = TempDir::new("damaged-huge");
    d.write("base.json", &summary_json("rcload.summary/1", 500));
    no_panic(rcload_in(d.path(), &["compare", "base.json", "base.json"]).expect_code(0));
    refused(
        d.path(),
        &["compare", "base.json", "/dev/zero"],
        &["/dev/zero", "64 MiB"],
    );
    refused(
        d.path(),
        &["compare", "/dev/zero", "base.json"],
        &["/dev/zero"],
    );
    let big = d.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(200 * 1024 * 1024)
        .unwrap();
    refused(
        d.path(),
        &["compare", "base.json", "big.json"],
        &["big.json", "64 MiB"],
    );
}

#[test]
fn compare_refuses_a_summary_of_another_schema_major_version() {
    let d = TempDir::new("damaged-schema");
    d.write("base.json", &summary_json("rcload.summary/1", 500));
    d.write("cand.json", &summary_json("rcload.summary/999", 500));
    refused(
        d.path(),
        &["compare", "base.json", "cand.json"],
        &["cand.json", "rcload.summary/999"],
    );
    refused(
        d.path(),
        &["compare", "cand.json", "base.json"],
        &["cand.json", "rcload.summary/999"],
    );
}

#[test]
fn compare_refuses_a_run_without_samples() {
    let d = TempDir::new("damaged-zero");
    d.write("base.json", &summary_json("rcload.summary/1", 500));
    d.write("zero.json", &summary_json("rcload.summary/1", 0));
    refused(
        d.path(),
        &["compare", "base.json", "zero.json"],
        &["zero.json (candidate)", "no samples"],
    );
    refused(
        d.path(),
        &["compare", "zero.json", "base.json"],
        &["zero.json (base)", "no samples"],
    );
}

#[test]
fn report_refuses_a_start_time_it_cannot_write() {
    let d = TempDir::new("damaged-start");
    std::fs::create_dir_all(d.path().join("out")).unwrap();
    d.write("out/run.json", &run_json(1e300));
    refused(
        d.path(),
        &["report", "out"],
        &["run.json", "started_at_unix_s", "1e300"],
    );
}

/// A change made to a run.json.
type Edit = fn(&mut serde_json::Value);

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn numbers_out_of_range_and_huge_files_in_a_real_run_are_refused_by_name() {
    let d = TempDir::new("damaged-run-json");
    let r0 = real_run(&d);
    // `report` exits with the run's verdict (0, 1, or 4 for a busy machine), never 2.
    let again = rcload_in(d.path(), &["report", "r0"]);
    no_panic(&again);
    assert!(matches!(again.code, Some(0 | 1 | 4)), "{again}");
    let cases: [(&str, Edit); 4] = [
        ("started_at_unix_s", |v| {
            v["started_at_unix_s"] = 1e300.into()
        }),
        ("interval_s", |v| v["interval_s"] = (-1.0).into()),
        ("planned_duration_s", |v| {
            v["planned_duration_s"] = 1e300.into()
        }),
        ("phases[0].end_s", |v| {
            v["phases"][0]["end_s"] = 1e300.into()
        }),
    ];
    for (field, damage) in cases {
        let dir = copy_run(&d, &r0, "bad");
        let mut v = read_json(&dir.join("run.json"));
        damage(&mut v);
        write_json(&dir.join("run.json"), &v);
        refused(d.path(), &["report", "bad"], &["run.json", field]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // summary.json as a 200 MB (sparse) file, and as /dev/zero.
    let big = copy_run(&d, &r0, "big");
    std::fs::File::create(big.join("summary.json"))
        .unwrap()
        .set_len(200 * 1024 * 1024)
        .unwrap();
    refused(d.path(), &["report", "big"], &["summary.json", "64 MiB"]);
    refused(
        d.path(),
        &["compare", "r0", "big"],
        &["summary.json", "64 MiB"],
    );
    let zero = copy_run(&d, &r0, "zero");
    std::fs::remove_file(zero.join("summary.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", zero.join("summary.json")).unwrap();
    refused(d.path(), &["report", "zero"], &["summary.json", "64 MiB"]);
    // A summary time out of range.
    let late = copy_run(&d, &r0, "late");
    let mut v = read_json(&late.join("summary.json"));
    v["duration_s"] = 1e300.into();
    write_json(&late.join("summary.json"), &v);
    refused(
        d.path(),
        &["compare", "r0", "late"],
        &["summary.json", "duration_s"],
    );
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn an_hlog_line_declaring_a_2gb_histogram_is_refused_naming_file_and_line() {
    let d = TempDir::new("damaged-2gb");
    let r0 = real_run(&d);
    let hlog = std::fs::read_to_string(r0.join("latency.hlog")).unwrap();
    let line = hlog.lines().count() + 1;
    let plain = histogram_declaring_2gb();
    for (name, encoded) in [("plain", plain.clone()), ("deflate", compressed(&plain))] {
        let dir = copy_run(&d, &r0, name);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&encoded);
        let text = format!("{hlog}Tag=terminal.status,0.000,1.000,1.000,{b64}\n");
        std::fs::write(dir.join("latency.hlog"), text).unwrap();
        let at = format!("latency.hlog:{line}");
        refused(
            d.path(),
            &["report", name],
            &[at.as_str(), "declares 2000000000 bytes of counts"],
        );
    }
    // A line of 10 MB: refused at its first MiB.
    let dir = copy_run(&d, &r0, "long");
    let long = "A".repeat(10 << 20);
    let text = format!("{hlog}Tag=terminal.status,0.000,1.000,1.000,{long}\n");
    std::fs::write(dir.join("latency.hlog"), text).unwrap();
    let at = format!("latency.hlog:{line}");
    refused(
        d.path(),
        &["report", "long"],
        &[at.as_str(), "longer than 1 MiB"],
    );
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_cut_hlog_is_rebuilt_up_to_its_last_whole_interval_and_says_so() {
    let d = TempDir::new("damaged-cut");
    let r0 = real_run(&d);
    let cut = copy_run(&d, &r0, "cut");
    std::fs::remove_file(cut.join("summary.json")).unwrap();
    let bytes = std::fs::read(cut.join("latency.hlog")).unwrap();
    // Some 60 % in, in the middle of a line.
    let mut at = bytes.len() * 3 / 5;
    while bytes[at - 1] == b'\n' || bytes[at] == b'\n' {
        at -= 1;
    }
    std::fs::write(cut.join("latency.hlog"), &bytes[..at]).unwrap();
    let (r, _) = rcload_timed(d.path(), &["report", "cut"]);
    // A run rebuilt after a kill is invalid, and says so first.
    r.expect_code(4)
        .stdout_has("verdict: INVALID: the run was killed before it ended")
        .stdout_has("note: The run did not finish")
        .stdout_has("latency.hlog is partial")
        .stdout_has("was cut short and skipped");
    let rows = rcload::report::timeseries::read(&cut.join("timeseries.csv")).unwrap();
    let csv_end = rows.last().map(|r| r.t_s + r.dt_s).unwrap();
    r.stdout_has(&format!("{} s", secs(csv_end)));
    let s = summary_of(&cut);
    assert!(s.interrupted, "{r}");
    assert!(
        s.duration_s + 1e-6 < csv_end,
        "{} of {csv_end} s\n{r}",
        s.duration_s
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("latency.hlog is partial")),
        "{:?}\n{r}",
        s.warnings
    );
    // The figures are those of the rows it covers, exactly.
    let covered: Vec<_> = rows
        .iter()
        .filter(|x| x.t_s + x.dt_s <= s.duration_s + 1e-6)
        .collect();
    for (op, o) in &s.operations {
        let from_rows: u64 = covered
            .iter()
            .filter_map(|x| x.cells.get(op))
            .map(|c| c.count)
            .sum();
        assert_eq!(o.count, from_rows, "{op}\n{r}");
    }
    let html = std::fs::read_to_string(cut.join("report.html")).unwrap();
    assert!(
        html.contains("latency.hlog is partial"),
        "no note in report.html\n{r}"
    );
    let md = std::fs::read_to_string(cut.join("summary.md")).unwrap();
    assert!(
        md.contains("latency.hlog is partial"),
        "no note in summary.md\n{r}"
    );
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn an_empty_hlog_is_rebuilt_saying_there_are_no_latency_samples() {
    let d = TempDir::new("damaged-empty");
    let r0 = real_run(&d);
    let empty = copy_run(&d, &r0, "empty");
    std::fs::remove_file(empty.join("summary.json")).unwrap();
    std::fs::write(empty.join("latency.hlog"), "").unwrap();
    let (r, _) = rcload_timed(d.path(), &["report", "empty"]);
    r.expect_code(4)
        .stdout_has("verdict: INVALID: the run was killed before it ended")
        .stdout_has("note: The run did not finish")
        .stdout_has("no latency samples");
    let s = summary_of(&empty);
    assert!(s.operations.values().all(|o| o.count == 0), "{r}");
    // Nothing to compare: refused either way round.
    refused(
        d.path(),
        &["compare", "r0", "empty"],
        &["empty/summary.json (candidate)", "no samples"],
    );
    refused(
        d.path(),
        &["compare", "empty", "r0"],
        &["empty/summary.json (base)", "no samples"],
    );
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn compare_refuses_a_real_summary_of_another_schema_or_without_samples() {
    let d = TempDir::new("damaged-compare");
    let r0 = real_run(&d);
    no_panic(rcload_in(d.path(), &["compare", "r0", "r0"]).expect_code(0));
    let other = copy_run(&d, &r0, "other");
    let mut v = read_json(&other.join("summary.json"));
    v["schema"] = "rcload.summary/999".into();
    write_json(&other.join("summary.json"), &v);
    refused(
        d.path(),
        &["compare", "r0", "other"],
        &["other/summary.json", "rcload.summary/999"],
    );
    let zero = copy_run(&d, &r0, "zero");
    let mut v = read_json(&zero.join("summary.json"));
    if let Some(ops) = v["operations"].as_object_mut() {
        for o in ops.values_mut() {
            o["count"] = 0.into();
            o["ok"] = 0.into();
        }
    }
    write_json(&zero.join("summary.json"), &v);
    refused(
        d.path(),
        &["compare", "r0", "zero"],
        &["zero/summary.json (candidate)", "no samples"],
    );
}
