//! Fleet maps end to end: a fleet of 13 control rooms of different sizes (10 to 300
//! consoles, with disciplines and a shared talkgroup) runs against the built-in mock, and
//! the results per room and per discipline add up to the run's totals exactly.

use crate::common;
use common::{TempDir, summary};
use std::fmt::Write as _;

/// Consoles per room: the smallest 10, the largest 300.
const SIZES: [u32; 13] = [10, 300, 25, 40, 60, 80, 100, 120, 150, 30, 45, 200, 15];
const DISCIPLINES: [&str; 3] = ["police", "fire", "ambulance"];

/// Writes `fleet/` in `dir`: four talkgroups per room and two shared, each console on one of
/// its room's talkgroups (every tenth also on a shared one), 100 terminals per room.
fn write_fleet(dir: &TempDir) {
    let rooms: Vec<String> = (1..=SIZES.len()).map(|r| format!("mk{r:02}")).collect();
    let shared = [
        100_001 + 4 * SIZES.len() as u32,
        100_002 + 4 * SIZES.len() as u32,
    ];
    let (mut consoles, mut talkgroups, mut terminals) = (
        String::from("console,room,discipline,monitors\n"),
        String::from("gssi,name,room\n"),
        String::from("issi,home,discipline\n"),
    );
    for (r, size) in SIZES.iter().enumerate() {
        let gssi = |k: u32| 100_001 + 4 * r as u32 + k;
        for k in 0..4 {
            let _ = writeln!(talkgroups, "{},{}-tg{k},{}", gssi(k), rooms[r], rooms[r]);
        }
        for c in 0..*size {
            let mut monitors = gssi(c % 4).to_string();
            if c % 10 == 0 {
                let _ = write!(monitors, " {}", shared[(c / 10 % 2) as usize]);
            }
            let _ = writeln!(
                consoles,
                "{}-c{:03},{},{},{monitors}",
                rooms[r],
                c + 1,
                rooms[r],
                DISCIPLINES[(c % 3) as usize]
            );
        }
        for t in 0..100u32 {
            let issi = 2_000_001 + 100 * r as u32 + t;
            let home = if t % 20 == 0 { shared[0] } else { gssi(t % 4) };
            let _ = writeln!(terminals, "{issi},{home},{}", DISCIPLINES[(t % 3) as usize]);
        }
    }
    for (k, g) in shared.iter().enumerate() {
        let _ = writeln!(talkgroups, "{g},national-{k},");
    }
    dir.write(
        "fleet/fleet.yaml",
        &format!(
            "name: thirteen rooms\ndisciplines: [police, fire, ambulance]\nrooms: [{}]\n\
             consoles: consoles.csv\ntalkgroups: talkgroups.csv\nterminals: terminals.csv\n",
            rooms.join(", ")
        ),
    );
    dir.write("fleet/consoles.csv", &consoles);
    dir.write("fleet/talkgroups.csv", &talkgroups);
    dir.write("fleet/terminals.csv", &terminals);
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn thirteen_rooms_of_different_sizes_add_up_to_the_totals() {
    let d = TempDir::new("fleet-13");
    write_fleet(&d);
    d.write(
        "p.yaml",
        "name: fleet-13\nseed: 5\nduration: 24s\npopulation: { fleet: fleet/fleet.yaml }\n\
         setup: { over: 8s }\ntraffic:\n  - action: status\n    rate: 20/s\n  - action: group_call\n    rate: 2/s\n    hold: 2s\n\
         slo:\n  error_rate: 1%\n",
    );
    let run = common::rcload_in(d.path(), &["run", "p.yaml", "--out", "out"]);
    assert!(
        matches!(run.code, Some(0) | Some(1) | Some(4)),
        "the run did not finish\n{run}"
    );
    let s = summary(&d.path().join("out"));
    assert_eq!(s.rooms.len(), 13, "{run}");
    for (r, size) in SIZES.iter().enumerate() {
        assert_eq!(
            s.rooms[&format!("mk{:02}", r + 1)].consoles,
            u64::from(*size)
        );
    }
    let delivered: u64 = s.deliveries.values().map(|x| x.delivered).sum();
    let missed: u64 = s.deliveries.values().map(|x| x.missed).sum();
    assert!(delivered > 1000, "only {delivered} deliveries\n{run}");
    for (what, groups) in [("rooms", &s.rooms), ("disciplines", &s.disciplines)] {
        let sum = |f: fn(&rcload::report::groups::GroupSummary) -> u64| {
            groups.values().map(f).sum::<u64>()
        };
        assert_eq!(sum(|g| g.consoles), 1175, "{what}");
        assert_eq!(sum(|g| g.delivered), delivered, "{what}");
        assert_eq!(sum(|g| g.missed_deliveries), missed, "{what}");
        assert_eq!(
            sum(|g| g.talkgroup_drops),
            s.talkgroup_drops.len() as u64,
            "{what}"
        );
        assert_eq!(
            sum(|g| g.console_disconnects),
            s.console_disconnects.len() as u64,
            "{what}"
        );
        let downtime: f64 = groups.values().map(|g| g.downtime_s).sum();
        assert!(
            (downtime - s.console_downtime_s.total).abs() < 0.001 * 14.0,
            "{what}: downtime {downtime} vs {}",
            s.console_downtime_s.total
        );
    }
    assert_eq!(s.disciplines.len(), 3);
    let md = std::fs::read_to_string(d.path().join("out/summary.md")).expect("summary.md");
    assert!(md.contains("mk02"), "summary.md names no room\n{md}");
}
