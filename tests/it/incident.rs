//! The May 2023 incident replay, scaled down (same shape, fewer consoles and terminals, a few
//! minutes): against `fragile-2023` it shows drops and disconnects only in the shift change,
//! with emergency alerts slower there than in steady state; against `healthy` it passes.

use crate::common;
use common::{TempDir, rcload_in, summary};

/// Scaled so that each console sees the same event rates as at full scale (rooms and
/// terminals scaled together), with the timeline shortened, then replayed at half time
/// (`--time-scale 0.5`: every time on the timeline halved) with half the terminals, so that
/// registrations arrive as fast as in the full-length replay: 1m52s in all.
const SCALE: &[&str] = &[
    "--set",
    "population.control_rooms=4",
    "--set",
    "population.consoles_per_room=10",
    "--set",
    "population.terminals=3075",
    "--set",
    "duration=3m45s",
    "--set",
    "events.0.at=2m",
    "--set",
    "events.1.at=2m30s",
    "--time-scale",
    "0.5",
];

fn replay(dir: &std::path::Path, extra: &[&str]) -> common::Run {
    let mut args = vec!["run", "incident-2023-05-11", "--out", "out", "-q"];
    args.extend_from_slice(SCALE);
    args.extend_from_slice(extra);
    rcload_in(dir, &args)
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn fragile_2023_fails_in_the_shift_change_only() {
    let d = TempDir::new("incident");
    let r = replay(d.path(), &[]);
    r.expect_code(1);
    let s = summary(&d.path().join("out"));
    let ctx = format!(
        "{r}\ndrops {:#?}\ndisconnects {:#?}",
        s.talkgroup_drops, s.console_disconnects
    );
    assert!(!s.console_disconnects.is_empty(), "no disconnects\n{ctx}");
    assert!(!s.talkgroup_drops.is_empty(), "no drops\n{ctx}");
    for d in &s.talkgroup_drops {
        assert!(
            d.phase == "shift_change" || d.phase == "emergency_burst",
            "drop outside the shift change: {d:?}\n{ctx}"
        );
    }
    for c in &s.console_disconnects {
        assert!(
            c.phase == "shift_change" || c.phase == "emergency_burst",
            "disconnect outside the shift change: {c:?}\n{ctx}"
        );
    }
    assert!(
        s.phases["setup"].talkgroup_drops == 0 && s.phases["steady"].console_disconnects == 0,
        "{ctx}"
    );
    let steady = &s.phases["steady"].deliveries["emergency.alert"];
    let shift = &s.phases["shift_change"].deliveries["emergency.alert"];
    assert!(
        shift.latency_ms.p99 > steady.latency_ms.p99 || shift.missed > 0,
        "emergency alerts: steady {steady:?}, shift change {shift:?}\n{ctx}"
    );
    let failed: Vec<&str> = s
        .slo
        .iter()
        .filter(|x| !x.passed)
        .map(|x| x.name.as_str())
        .collect();
    assert!(failed.contains(&"talkgroup_drops"), "{failed:?}");
    // The rooms that would have rolled back are named, by the objectives every room must meet.
    let rolled = s
        .verdict_reasons
        .iter()
        .find(|w| w.contains("would have rolled back: room"));
    assert!(rolled.is_some(), "{:?}", s.verdict_reasons);
    assert!(
        s.slo
            .iter()
            .any(|x| x.name == "console_disconnects (every room)" && !x.rooms.is_empty()),
        "{:?}",
        s.slo
    );
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn the_same_replay_passes_against_a_healthy_mock() {
    let h = TempDir::new("incident-healthy");
    let r = replay(h.path(), &["--set", "mock.preset=healthy"]);
    r.expect_code(0);
    let s = summary(&h.path().join("out"));
    assert!(
        s.talkgroup_drops.is_empty() && s.console_disconnects.is_empty(),
        "{r}"
    );
    assert_eq!(s.missed_deliveries, 0, "{r}");
}
