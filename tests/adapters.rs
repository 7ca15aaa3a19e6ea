//! Mapping-driven targets (`--adapter`, docs/adapters.md), end to end with the real binary:
//! API v1 through `adapters/api-v1.yaml` gives the built-in driver's results; a mapping file's
//! errors are located.

mod common;

use common::{TempDir, rcload_in, summary};
use rcload::report::Summary;
use std::collections::BTreeMap;
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn adapter(name: &str) -> String {
    repo().join("adapters").join(name).display().to_string()
}

/// Every kind of action but shift changes, on a large terminal population so that no action
/// finds its terminal busy. (A shift change is left out on purpose: whether a status sent a
/// millisecond before a logout reaches that console is a race in any driver.)
const EQUIVALENCE: &str = r#"
name: adapter-equivalence
seed: 11
duration: 11s
population:
  control_rooms: 2
  consoles_per_room: 6
  terminals: 3000
  talkgroups_per_room: 10
  monitored_per_console: 4
setup:
  over: 3s
traffic:
  - action: status
    rate: 25/s
  - action: group_call
    rate: 2/s
    hold: 2s
  - action: affiliate
    rate: 1/s
events:
  - kind: emergency_burst
    at: 6s
    calls: 10
    over: 1s
    talkgroups: 2
    hold: 2s
checks:
  delivery_timeout: 3s
  audit_every: 4s
  probe_every: 4s
"#;

type Counts = BTreeMap<String, (u64, u64)>;

fn ops(s: &Summary) -> Counts {
    s.operations
        .iter()
        .map(|(k, v)| (k.clone(), (v.count, v.ok)))
        .collect()
}

/// Deliveries (expected, delivered) of every phase after setup.
fn deliveries_after_setup(s: &Summary) -> BTreeMap<String, Counts> {
    s.phases
        .iter()
        .filter(|(name, _)| name.as_str() != "setup")
        .map(|(name, p)| {
            let d = p
                .deliveries
                .iter()
                .map(|(k, v)| (k.clone(), (v.expected, v.delivered)))
                .collect();
            (name.clone(), d)
        })
        .collect()
}

#[test]
fn api_v1_through_its_mapping_gives_the_builtin_drivers_results() {
    let dir = TempDir::new("adapter-equivalence");
    let profile = dir.write("equivalence.yaml", EQUIVALENCE);
    let profile = profile.display().to_string();
    let builtin = rcload_in(dir.path(), &["run", &profile, "--out", "builtin", "-q"]);
    builtin.expect_code(0);
    let v1 = adapter("api-v1.yaml");
    let mapped = rcload_in(
        dir.path(),
        &["run", &profile, "--adapter", &v1, "--out", "mapped", "-q"],
    );
    mapped.expect_code(0);
    let b = summary(&dir.path().join("builtin"));
    let m = summary(&dir.path().join("mapped"));
    let context = format!("{builtin}\n{mapped}");

    assert!(b.adapter.is_none(), "{context}");
    let a = m
        .adapter
        .as_ref()
        .expect("the mapped run names its adapter");
    assert_eq!(a.name, "api-v1");
    assert_eq!(a.delivery_matching, "reference");
    assert!(a.unsupported.is_empty());

    assert_eq!(
        b.generator.actions_scheduled, m.generator.actions_scheduled,
        "{context}"
    );
    assert_eq!(
        b.generator.actions_sent, m.generator.actions_sent,
        "{context}"
    );
    assert_eq!(b.generator.skipped, m.generator.skipped, "{context}");
    assert_eq!(ops(&b), ops(&m), "action counts differ\n{context}");
    for (op, (count, ok)) in ops(&m) {
        assert_eq!(count, ok, "{op} had errors through the mapping\n{context}");
    }
    // Setup's terminal.registered deliveries depend on when each console's stream became
    // ready, to the millisecond, in any driver: there, all that arrived is compared.
    assert_eq!(
        deliveries_after_setup(&b),
        deliveries_after_setup(&m),
        "deliveries differ\n{context}"
    );
    for s in [&b, &m] {
        for (ty, d) in &s.deliveries {
            assert!(d.expected > 0, "{ty}: nothing expected\n{context}");
            assert_eq!(d.expected, d.delivered, "{ty}\n{context}");
            assert_eq!(d.missed, 0, "{ty}\n{context}");
        }
        assert_eq!(s.missed_deliveries, 0, "{context}");
        assert!(s.talkgroup_drops.is_empty(), "{context}");
        assert!(s.console_disconnects.is_empty(), "{context}");
        assert_eq!(s.probes.missed, 0, "{context}");
    }
    assert_eq!(b.probes.delivered, m.probes.delivered, "{context}");
}

#[test]
fn a_broken_mapping_file_is_located() {
    let dir = TempDir::new("adapter-errors");
    let good = std::fs::read_to_string(adapter("api-v1.yaml")).expect("api-v1.yaml");
    let cases = [
        (
            "console.logout:\n    method: POST",
            "console.logout:\n    method: POTS",
            "actions[console.logout].method",
            "`POTS` is not one of",
        ),
        (
            "/v1/consoles/{{ console | urlencode }}/login",
            "/v1/consoles/{{ consle }}/login",
            "actions[console.login].path",
            "the template uses `consle`",
        ),
        (
            "      session: /session",
            "      session: session",
            "actions[console.login].capture.session",
            "is not a JSON pointer",
        ),
        (
            "    status: status\n",
            "    status: statsu\n",
            "events.types.status",
            "`statsu` is not an rcload event type",
        ),
        (
            "  call.end:\n",
            "  call.ended:\n",
            "actions[call.ended]",
            "is not an rcload action",
        ),
    ];
    for (i, (from, to, field, message)) in cases.iter().enumerate() {
        assert!(good.contains(from), "case {i}: {from:?} not in api-v1.yaml");
        let bad = good.replacen(from, to, 1);
        let file = dir.write(&format!("bad{i}.yaml"), &bad);
        let file = file.display().to_string();
        let line = bad
            .lines()
            .position(|l| l.contains(to.lines().last().unwrap_or(to).trim()))
            .map(|n| n + 1);
        let run = rcload_in(
            dir.path(),
            &["run", "smoke", "--adapter", &file, "--out", "x"],
        );
        run.expect_code(2).stderr_has(field).stderr_has(message);
        if let Some(line) = line {
            run.stderr_has(&format!("{file}:{line}:"));
        }
        assert!(!dir.path().join("x").exists(), "nothing may run\n{run}");
    }
}

#[test]
fn a_secret_named_but_not_set_stops_before_any_request() {
    let dir = TempDir::new("adapter-env");
    let text = std::fs::read_to_string(adapter("api-v1.yaml"))
        .expect("api-v1.yaml")
        .replace("  optional: true\n", "");
    let file = dir.write("strict.yaml", &text);
    let run = rcload_in(
        dir.path(),
        &["run", "smoke", "--adapter", &file.display().to_string()],
    );
    run.expect_code(2)
        .stderr_has("auth.token_env: the environment variable RCLOAD_TOKEN is not set");
}
