//! Recorded traffic end to end: a records file with a known list replayed against the
//! built-in mock sends exactly those actions (also at `speed: 2`, which brings the later
//! records inside the run); an anonymised fleet and its records are the same files twice
//! with one key, and run to the same counts as the originals.

use crate::common;
use common::{TempDir, rcload_in, summary};
use std::fmt::Write as _;

/// A small generated fleet in `fleet/`.
fn fleet(d: &TempDir) {
    rcload_in(
        d.path(),
        &[
            "fleet",
            "generate",
            "--rooms",
            "3",
            "--consoles",
            "12",
            "--terminals",
            "200",
            "--talkgroups",
            "30",
            "--seed",
            "3",
            "--out",
            "fleet",
        ],
    )
    .expect_code(0);
}

/// Column `col` of every line of a CSV file of the fleet (the header left out).
fn column(d: &TempDir, file: &str, col: usize) -> Vec<String> {
    std::fs::read_to_string(d.path().join("fleet").join(file))
        .expect(file)
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(col).unwrap_or_default().to_string())
        .collect()
}

/// The known list: 60 statuses 0.2 s apart, 6 group and 2 emergency calls, 4 affiliations,
/// a console out and in again, and 3 statuses of terminals the fleet does not have. The last
/// record is 12 s after the first.
fn records(d: &TempDir) -> String {
    let issis = column(d, "terminals.csv", 0);
    let groups = column(d, "talkgroups.csv", 0);
    let consoles = column(d, "consoles.csv", 0);
    let mut r = String::from("time,action,issi,console,talkgroup,kind,hold\n");
    for k in 0..60 {
        let _ = writeln!(r, "{:.1},status,{},,,,", 0.2 * k as f64, issis[k * 3]);
    }
    for k in 0..8 {
        let kind = if k < 6 { "group" } else { "emergency" };
        let _ = writeln!(r, "{}.5,call,{},,,{kind},1", k, issis[k * 7 + 1]);
    }
    for k in 0..4 {
        let _ = writeln!(
            r,
            "{}.7,affiliate,{},,{},,",
            2 * k + 1,
            issis[k + 2],
            groups[k]
        );
    }
    let _ = writeln!(r, "3,logout,,{},,,", consoles[5]);
    let _ = writeln!(r, "6,login,,{},,,", consoles[5]);
    for k in 0..3 {
        let _ = writeln!(r, "{}.9,status,{},,,,", 9 + k, 9_999_001 + k);
    }
    let _ = writeln!(r, "12,status,{},,,,", issis[1]);
    r
}

const PROFILE: &str = "name: replay-test
seed: 4
duration: 12s
population: { fleet: FLEET }
setup: { over: 4s }
traffic:
  - replay: RECORDS
slo:
  error_rate: 1%
";

fn profile(fleet: &str, records: &str) -> String {
    PROFILE.replace("FLEET", fleet).replace("RECORDS", records)
}

fn count(s: &rcload::report::Summary, op: &str) -> u64 {
    s.operations.get(op).map_or(0, |o| o.count)
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_replay_sends_its_records_and_speed_2_brings_the_rest_in() {
    let d = TempDir::new("replay");
    fleet(&d);
    d.write("records.csv", &records(&d));
    d.write("p.yaml", &profile("fleet/fleet.yaml", "records.csv"));
    let once = rcload_in(d.path(), &["run", "p.yaml", "--out", "once"]);
    let fast = rcload_in(
        d.path(),
        &[
            "run",
            "p.yaml",
            "--set",
            "traffic.0.speed=2",
            "--out",
            "fast",
        ],
    );
    for r in [&once, &fast] {
        assert!(matches!(r.code, Some(0) | Some(1) | Some(4)), "{r}");
    }
    // Speed 1: records from 8 s on come after the run's 12 s (4 s of setup first): the 20
    // statuses from 8 s and the last one.
    let s = summary(&d.path().join("once"));
    assert_eq!(count(&s, "terminal.status"), 40, "{once}");
    assert_eq!(count(&s, "call.group"), 6, "{once}");
    assert_eq!(count(&s, "call.emergency"), 2, "{once}");
    assert_eq!(count(&s, "terminal.affiliate"), 4, "{once}");
    assert_eq!(count(&s, "console.logout"), 1, "{once}");
    assert_eq!(count(&s, "console.login"), 13, "{once}");
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("3 records of the 78 in the slice left out")),
        "{:?}",
        s.warnings
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("21 replayed records would come after the run's end: not sent")),
        "{:?}",
        s.warnings
    );
    // Speed 2: all 75 known records within 6 s of setup's end.
    let s = summary(&d.path().join("fast"));
    assert_eq!(count(&s, "terminal.status"), 61, "{fast}");
    assert_eq!(count(&s, "call.group") + count(&s, "call.emergency"), 8);
    assert_eq!(count(&s, "terminal.affiliate"), 4);
    assert!(
        !s.warnings.iter().any(|w| w.contains("after the run's end")),
        "{:?}",
        s.warnings
    );
}

/// Every file of `dir`, name and bytes, sorted.
fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn an_anonymised_fleet_and_its_records_run_to_the_same_counts() {
    let d = TempDir::new("anonymise");
    fleet(&d);
    d.write("records.csv", &records(&d));
    d.write("key", "0123456789abcdef-a-test-key-only");
    for out in ["anon", "again"] {
        rcload_in(
            d.path(),
            &[
                "fleet",
                "anonymise",
                "fleet/fleet.yaml",
                "records.csv",
                "--key-file",
                "key",
                "--out",
                out,
            ],
        )
        .expect_code(0);
    }
    let (anon, again) = (
        files(&d.path().join("anon")),
        files(&d.path().join("again")),
    );
    assert_eq!(anon.len(), 5);
    assert!(anon == again, "two runs with one key differ");
    let original = std::fs::read_to_string(d.path().join("fleet/terminals.csv")).unwrap();
    let first_issi = original.lines().nth(1).unwrap().split(',').next().unwrap();
    let mapped = String::from_utf8_lossy(&anon.iter().find(|f| f.0 == "terminals.csv").unwrap().1)
        .into_owned();
    assert!(!mapped.contains(first_issi), "an ISSI was kept");

    d.write("p.yaml", &profile("fleet/fleet.yaml", "records.csv"));
    d.write("q.yaml", &profile("anon/fleet.yaml", "anon/records.csv"));
    let runs = [
        rcload_in(d.path(), &["run", "p.yaml", "--out", "p"]),
        rcload_in(d.path(), &["run", "q.yaml", "--out", "q"]),
    ];
    for r in &runs {
        assert!(matches!(r.code, Some(0) | Some(1) | Some(4)), "{r}");
    }
    let (p, q) = (summary(&d.path().join("p")), summary(&d.path().join("q")));
    let counts = |s: &rcload::report::Summary| -> Vec<(String, u64)> {
        s.operations
            .iter()
            .map(|(k, v)| (k.clone(), v.count))
            .collect()
    };
    assert_eq!(counts(&p), counts(&q), "{}\n{}", runs[0], runs[1]);
    // Deliveries expected of the replayed traffic (a registration's during setup depends on
    // whether its consoles' logins were through yet: timing, not the ids).
    let expected = |s: &rcload::report::Summary| -> Vec<(String, u64)> {
        s.deliveries
            .iter()
            .filter(|(k, _)| !k.starts_with("terminal."))
            .map(|(k, v)| (k.clone(), v.delivered + v.missed))
            .collect()
    };
    assert_eq!(expected(&p), expected(&q));
    assert_eq!(p.rooms.len(), q.rooms.len());
}
