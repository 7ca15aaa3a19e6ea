//! Bad input exits 2 with a message naming the file, line, column and field; an unreachable
//! target exits 3. One case each, through the real binary.

use crate::common;
use common::{TempDir, rcload_in};

const GOOD: &str = "name: t
duration: 5s
population:
  control_rooms: 1
  consoles_per_room: 2
  terminals: 10
  talkgroups_per_room: 3
  monitored_per_console: 2
setup:
  over: 1s
traffic:
  - action: status
    rate: 10/s
";

fn validate_bad(text: &str) -> common::Run {
    let d = TempDir::new("bad");
    d.write("p.yaml", text);
    let r = rcload_in(d.path(), &["validate", "p.yaml"]);
    r.expect_code(2);
    r
}

#[test]
fn good_profile_validates_and_prints_the_schedule() {
    let d = TempDir::new("good");
    d.write("p.yaml", GOOD);
    rcload_in(d.path(), &["validate", "p.yaml"])
        .expect_code(0)
        .stdout_has("terminal.status")
        // One of a thing is singular.
        .stdout_has("population: 1 control room, 2 consoles, 10 terminals, 3 talkgroups")
        .stdout_has("peak offered rate")
        .stdout_has("setup");
}

#[test]
fn unknown_key() {
    validate_bad(&format!("{GOOD}    colour: red\n"))
        .stderr_has("p.yaml:14:5:")
        .stderr_has("colour");
}

#[test]
fn wrong_type() {
    validate_bad(&GOOD.replace("terminals: 10", "terminals: lots"))
        .stderr_has("p.yaml:6:")
        .stderr_has("population.terminals");
}

#[test]
fn negative_rate() {
    validate_bad(&GOOD.replace("rate: 10/s", "rate: -10/s"))
        .stderr_has("p.yaml:13:")
        .stderr_has("traffic[0].rate");
}

#[test]
fn bad_duration() {
    validate_bad(&GOOD.replace("duration: 5s", "duration: 5 parsecs"))
        .stderr_has("p.yaml:2:")
        .stderr_has("duration");
}

#[test]
fn unknown_event_kind() {
    validate_bad(&format!(
        "{GOOD}events:\n  - kind: solar_flare\n    at: 1s\n"
    ))
    .stderr_has("p.yaml:15:")
    .stderr_has("solar_flare");
}

#[test]
fn missing_file() {
    let d = TempDir::new("missing");
    rcload_in(d.path(), &["validate", "nope.yaml"])
        .expect_code(2)
        .stderr_has("nope.yaml");
    rcload_in(d.path(), &["run", "nope.yaml", "-q"])
        .expect_code(2)
        .stderr_has("nope.yaml");
}

#[test]
fn empty_file() {
    validate_bad("").stderr_has("p.yaml").stderr_has("empty");
}

#[test]
fn yaml_syntax_error() {
    validate_bad(&format!("{GOOD}events: [ {{ kind: shift_change\n")).stderr_has("p.yaml:");
}

#[test]
fn bad_override() {
    let d = TempDir::new("set");
    d.write("p.yaml", GOOD);
    rcload_in(
        d.path(),
        &["validate", "p.yaml", "--set", "population.terminal=5"],
    )
    .expect_code(2)
    .stderr_has("--set population.terminal=5");
    rcload_in(
        d.path(),
        &["validate", "p.yaml", "--set", "population.terminals=500"],
    )
    .expect_code(0)
    .stdout_has("500 terminals");
}

#[test]
fn unknown_flag_is_usage_error() {
    let d = TempDir::new("flag");
    rcload_in(d.path(), &["run", "--frobnicate"]).expect_code(2);
}

#[test]
fn a_dispatch_resolution_too_coarse_or_without_unit_is_named() {
    let d = TempDir::new("resolution");
    d.write("p.yaml", GOOD);
    for (value, says) in [("50ms", "at most 10ms"), ("5", "has no unit")] {
        rcload_in(d.path(), &["run", "p.yaml", "--dispatch-resolution", value])
            .expect_code(2)
            .stderr_has("--dispatch-resolution")
            .stderr_has(says);
    }
}

#[test]
fn unreachable_target_exits_3() {
    // Bind a port, then free it: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9);
    let d = TempDir::new("unreach");
    d.write("p.yaml", GOOD);
    let url = format!("http://127.0.0.1:{port}");
    rcload_in(
        d.path(),
        &["run", "p.yaml", "--target", &url, "-q", "--timeout", "2s"],
    )
    .expect_code(3)
    .stderr_has("not reachable");
}

#[test]
fn profiles_are_listed_and_all_validate() {
    let d = TempDir::new("profiles");
    let r = rcload_in(d.path(), &["profiles"]);
    r.expect_code(0);
    for name in [
        "smoke",
        "shift-change",
        "emergency-burst",
        "incident-2023-05-11",
    ] {
        r.stdout_has(name);
        rcload_in(d.path(), &["validate", name]).expect_code(0);
    }
    // Lengths come from the profiles themselves.
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("shift-change ") && l.contains(" 10m ")),
        "{r}"
    );
}

#[test]
fn a_capacity_search_of_a_path_that_is_not_there_exits_2_before_any_stage() {
    let d = TempDir::new("vary-typo");
    rcload_in(
        d.path(),
        &["capacity", "smoke", "--vary", "traffic.fly.rate"],
    )
    .expect_code(2)
    .stderr_has("`fly` is neither a list index nor the action or kind of an entry");
    assert!(!d.path().join("reports").exists(), "no stage ran");
}

#[test]
fn a_bad_fault_file_is_located() {
    let d = TempDir::new("faults");
    d.write(
        "f.yaml",
        "faults:\n  - { at: 1s, kind: drop, console: room01-con01 }\n  - at: 2s\n    kind: stall\n",
    );
    rcload_in(
        d.path(),
        &["mock", "--listen", "127.0.0.1:0", "--faults", "f.yaml"],
    )
    .expect_code(2)
    .stderr_has("f.yaml:3:")
    .stderr_has("faults[1]");
    d.write("g.yaml", "faults:\n  - { at: 1s, kind: earthquake }\n");
    rcload_in(
        d.path(),
        &["mock", "--listen", "127.0.0.1:0", "--faults", "g.yaml"],
    )
    .expect_code(2)
    .stderr_has("g.yaml:2:")
    .stderr_has("earthquake");
}

#[test]
fn a_bad_fault_in_a_profile_is_located() {
    let d = TempDir::new("pfaults");
    d.write(
        "p.yaml",
        &format!(
            "{GOOD}mock:\n  faults:\n    - {{ at: 1s, kind: errors, op: console.fly, rate: 10% }}\n"
        ),
    );
    rcload_in(d.path(), &["validate", "p.yaml"])
        .expect_code(2)
        .stderr_has("p.yaml:16:")
        .stderr_has("mock.faults[0].op");
}

// Limits (docs/profiles.md, "Limits"): a typo that would take minutes or gigabytes is refused at
// once, naming the field and the limit.

fn quickly(t: std::time::Instant) {
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn an_overlong_duration_is_refused_at_once() {
    let d = TempDir::new("long");
    let t = std::time::Instant::now();
    rcload_in(
        d.path(),
        &["validate", "smoke", "--set", "duration=1000000h"],
    )
    .expect_code(2)
    .stderr_has("--set duration=1000000h: duration:")
    .stderr_has("limit of 7days")
    .stderr_has("limits.duration");
    quickly(t);
}

#[test]
fn a_hundred_million_consoles_per_room_are_refused_at_once() {
    let d = TempDir::new("consoles");
    let t = std::time::Instant::now();
    rcload_in(
        d.path(),
        &[
            "validate",
            "smoke",
            "--set",
            "population.consoles_per_room=100000000",
        ],
    )
    .expect_code(2)
    .stderr_has("population.consoles_per_room")
    .stderr_has("more than the limit of 100,000");
    quickly(t);
}

#[test]
fn a_50_mb_description_is_refused_naming_it() {
    let d = TempDir::new("huge");
    let text = format!(
        "name: huge\ndescription: {}\n{}",
        "x".repeat(50 << 20),
        GOOD.replace("name: t\n", "")
    );
    d.write("p.yaml", &text);
    drop(text);
    let t = std::time::Instant::now();
    rcload_in(d.path(), &["validate", "p.yaml"])
        .expect_code(2)
        .stderr_has("p.yaml:2:1: description:")
        .stderr_has("larger than 4 MiB");
    quickly(t);
    // Under the file's limit, a description is still held to its own.
    d.write(
        "q.yaml",
        &format!("{GOOD}description: {}\n", "y".repeat(100_000)),
    );
    rcload_in(d.path(), &["validate", "q.yaml"])
        .expect_code(2)
        .stderr_has("q.yaml:14:1: description:")
        .stderr_has("limit of 65,536 bytes");
}

#[test]
fn a_week_long_profile_validates_quickly_with_estimated_counts() {
    let d = TempDir::new("week");
    let t = std::time::Instant::now();
    rcload_in(d.path(), &["validate", "smoke", "--set", "duration=7d"])
        .expect_code(0)
        .stdout_has("peak offered rate about")
        .stdout_has("terminal.status")
        .stdout_has("counted from the rates");
    quickly(t);
    // Limits are raised in the profile (or with --set).
    rcload_in(
        d.path(),
        &[
            "validate",
            "smoke",
            "--set",
            "limits.duration=30d",
            "--set",
            "duration=20d",
        ],
    )
    .expect_code(0)
    .stdout_has("total about");
}

#[test]
fn every_problem_of_a_profile_is_reported_at_once() {
    let text = GOOD
        .replace("monitored_per_console: 2", "monitored_per_console: 9")
        .replace("over: 1s", "over: 9s");
    let r = validate_bad(&text);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| l.contains("p.yaml:")).collect();
    assert!(lines.len() >= 2, "each problem on its own line\n{r}");
    r.stderr_has("problems in this profile");
}

#[test]
fn a_shortened_built_in_profile_points_to_the_time_scale() {
    let d = TempDir::new("scale");
    let r = rcload_in(d.path(), &["validate", "shift-change", "--duration", "40s"]);
    r.expect_code(2)
        .stderr_has("setup.over")
        .stderr_has("events[0].at")
        .stderr_has("--time-scale");
    let r = rcload_in(
        d.path(),
        &["validate", "shift-change", "--time-scale", "0.1"],
    );
    r.expect_code(0).stdout_has("duration 1m");
    let r = rcload_in(d.path(), &["validate", "shift-change", "--time-scale", "0"]);
    r.expect_code(2).stderr_has("--time-scale");
}

#[test]
fn an_event_the_duration_cuts_off_is_a_warning() {
    let d = TempDir::new("cut");
    d.write(
        "p.yaml",
        &format!(
            "{GOOD}events:\n  - kind: emergency_burst\n    at: 4s\n    calls: 2\n    over: 1s\n    talkgroups: 1\n    hold: 10s\n"
        ),
    );
    rcload_in(d.path(), &["validate", "p.yaml"])
        .expect_code(0)
        .stderr_has(
            "warning: events[0] (emergency_burst) would end at 15.0 s, after the run's 5.0 s",
        );
}
