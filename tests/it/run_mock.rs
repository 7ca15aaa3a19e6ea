//! `rcload run` against the embedded mock, through the real binary: deliveries are matched
//! and counted, and summary.json follows its schema.

use crate::common;
use common::{TempDir, rcload_in, summary};

const BURST: &str = "name: burst-test
seed: 11
duration: 8s
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
events:
  - kind: emergency_burst
    at: 3s
    calls: 20
    over: 1s
    talkgroups: 2
    hold: 2s
  - kind: shift_change
    at: 4s
    consoles: 50%
    terminals: 20%
    logout_over: 1s
    handover: 500ms
checks:
  delivery_timeout: 2s
slo:
  delivery.emergency.alert: { p99: 1s }
  error_rate: 0%
";

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn every_emergency_alert_is_delivered_and_counted() {
    let d = TempDir::new("run");
    d.write("p.yaml", BURST);
    let r = rcload_in(d.path(), &["run", "p.yaml", "--out", "out"]);
    r.expect_code(0).stdout_has("verdict: PASS");
    check_schema(&d.path().join("out/summary.json"));
    let s = summary(&d.path().join("out"));
    let alerts = s
        .deliveries
        .get("emergency.alert")
        .unwrap_or_else(|| panic!("no emergency.alert deliveries\n{r}"));
    // 20 calls on talkgroups monitored by at least one console each.
    eprintln!(
        "figures: emergency.alert expected {} delivered {} missed {} p99 {} ms",
        alerts.expected, alerts.delivered, alerts.missed, alerts.latency_ms.p99
    );
    assert!(alerts.expected >= 20, "{alerts:?}\n{r}");
    assert_eq!(alerts.expected, alerts.delivered, "{alerts:?}\n{r}");
    assert_eq!(alerts.missed, 0, "{alerts:?}\n{r}");
    assert!(alerts.latency_ms.max > 0.0, "{alerts:?}");
    assert!(alerts.latency_ms.p50 <= alerts.latency_ms.p99);
    for (name, d) in &s.deliveries {
        assert_eq!(d.missed, 0, "{name}: {d:?}\n{r}");
    }
    assert_eq!(s.operations["call.emergency"].count, 20);
    assert_eq!(
        s.generator.actions_scheduled, s.generator.actions_sent,
        "{r}"
    );
    assert!(s.phases.contains_key("shift_change") && s.phases.contains_key("emergency_burst"));
    assert_eq!(s.verdict.as_str(), "pass");
    assert!(!s.interrupted);
    // The resolved profile is in the run directory and loads again.
    let resolved = d.path().join("out/profile.yaml");
    rcload_in(
        d.path(),
        &["validate", resolved.to_str().unwrap_or_default(), "-q"],
    )
    .expect_code(0);
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_failed_slo_exits_1_and_a_used_run_dir_is_refused() {
    let d = TempDir::new("fail");
    d.write(
        "p.yaml",
        &BURST
            .replace("{ p99: 1s }", "{ p99: 1us }")
            .replace("duration: 8s", "duration: 5s"),
    );
    let r = rcload_in(d.path(), &["run", "p.yaml", "--out", "out", "-q"]);
    r.expect_code(1);
    assert_eq!(
        r.stdout.lines().count(),
        1,
        "--quiet prints only the result on stdout\n{r}"
    );
    r.stdout_has("verdict fail");
    let s = summary(&d.path().join("out"));
    assert_eq!(s.verdict.as_str(), "fail");
    let failed: Vec<_> = s.slo.iter().filter(|x| !x.passed).collect();
    assert_eq!(failed.len(), 1, "{:?}", s.slo);
    assert_eq!(failed[0].name, "delivery.emergency.alert p99");
    rcload_in(d.path(), &["run", "p.yaml", "--out", "out", "-q"])
        .expect_code(2)
        .stderr_has("already holds a run");
}

/// summary.json follows docs/summary.schema.json (the versioned contract).
fn check_schema(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    common::schema_errors_are_none(&text);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    // And the schema does reject what breaks it.
    let mut broken = doc.clone();
    if let Some(o) = broken.as_object_mut() {
        o.remove("verdict");
        o.insert("surprise".into(), serde_json::json!(1));
    }
    assert!(!common::summary_schema().is_valid(&broken));
}

/// Colour only on a terminal, and never with `NO_COLOR` (no-color.org): the same run through
/// a pseudo-terminal (`script`, util-linux) draws its progress bar in colour, with
/// `NO_COLOR=1` without, and piped (as in every other test) without any escape code.
#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let d = TempDir::new("colour");
    d.write("p.yaml", &BURST.replace("duration: 8s", "duration: 5s"));
    let exe = env!("CARGO_BIN_EXE_rcload");
    let through_a_terminal = |out: &str, no_color: Option<&str>| -> String {
        let line = format!(
            "{exe} run p.yaml --out {out} --max-lateness-ms {}",
            common::TEST_MAX_LATENESS_MS
        );
        let mut c = std::process::Command::new("script");
        c.args(["-qfec", &line, "/dev/null"])
            .current_dir(d.path())
            .env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null());
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        let o = c.output().expect("script (util-linux) runs");
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(o.status.success(), "{line}: {:?}\n{text}", o.status);
        text
    };
    // Foreground colours (SGR 30-37) of the bar; the bar's cursor movements are not colour.
    let coloured = |t: &str| (30..=37).any(|c| t.contains(&format!("\x1b[{c}m")));
    let tty = through_a_terminal("tty", None);
    assert!(coloured(&tty), "no colour on a terminal: {tty:?}");
    let no_color = through_a_terminal("no-color", Some("1"));
    assert!(!coloured(&no_color), "colour with NO_COLOR=1: {no_color:?}");
    let piped = rcload_in(d.path(), &["run", "p.yaml", "--out", "piped"]);
    piped.expect_code(0);
    assert!(
        !piped.stdout.contains('\x1b') && !piped.stderr.contains('\x1b'),
        "escape codes when piped\n{piped}"
    );
}

/// A population without consoles is a pure request load: terminals only, no event stream,
/// and the report says that no delivery was checked.
#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_population_without_consoles_sends_only_terminal_actions() {
    let d = TempDir::new("no-consoles");
    d.write(
        "p.yaml",
        "name: no-consoles\nseed: 2\nduration: 5s\npopulation:\n  control_rooms: 2\n  consoles_per_room: 0\n  terminals: 200\n  talkgroups_per_room: 4\n  monitored_per_console: 0\nsetup: { over: 1s }\ntraffic:\n  - action: status\n    rate: 200/s\n    arrival: uniform\n  - action: group_call\n    rate: 5/s\n    hold: 1s\nslo:\n  terminal.status: { p99: 1s }\n  error_rate: 0%\n",
    );
    let r = rcload_in(d.path(), &["run", "p.yaml", "--out", "out"]);
    r.expect_code(0);
    let s = summary(&d.path().join("out"));
    let ops: Vec<&str> = s.operations.keys().map(String::as_str).collect();
    assert!(
        ops.iter()
            .all(|o| o.starts_with("terminal.") || o.starts_with("call.")),
        "{ops:?}"
    );
    assert!(s.operations["terminal.status"].count >= 700, "{r}");
    assert!(
        s.deliveries.values().all(|d| d.delivered + d.missed == 0),
        "{:?}",
        s.deliveries
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("no consoles") && w.contains("no delivery was checked")),
        "{:?}",
        s.warnings
    );
}
