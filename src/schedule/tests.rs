use super::*;
use crate::profile::{Source as ProfileSource, load, parse_override};

fn profile(text: &str) -> Profile {
    load(
        &ProfileSource {
            name: "t.yaml".into(),
            text: text.into(),
        },
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn builtin(name: &str, sets: &[&str]) -> Profile {
    let o: Vec<_> = sets.iter().map(|s| parse_override(s).unwrap()).collect();
    load(&crate::profile::read_source(name).unwrap(), &o).unwrap()
}

fn traffic_only(arrival: &str, rate: &str, duration: &str) -> Profile {
    profile(&format!(
        "name: t
duration: {duration}
population: {{control_rooms: 1, consoles_per_room: 1, terminals: 100, talkgroups_per_room: 2, monitored_per_console: 1}}
setup: {{over: 0s}}
checks: {{audit_every: 0s, probe_every: 0s}}
traffic:
  - action: status
    rate: {rate}
    arrival: {arrival}
"
    ))
}

fn status_times(p: &Profile, seed: u64) -> Vec<f64> {
    Schedule::new(p, seed)
        .filter(|a| matches!(a.kind, ActionKind::Status { .. }))
        .map(|a| a.at_us as f64 / 1e6)
        .collect()
}

fn cv(times: &[f64]) -> f64 {
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
    var.sqrt() / mean
}

#[test]
fn same_seed_same_schedule_other_seed_other_schedule() {
    let p = builtin("shift-change", &[]);
    let a = schedule_hash(Schedule::new(&p, 2023));
    let b = schedule_hash(Schedule::new(&p, 2023));
    let c = schedule_hash(Schedule::new(&p, 2024));
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    assert!(a.1 > 50_000, "{} actions", a.1);
}

#[test]
fn actions_are_in_time_order_with_unique_seqs() {
    let p = builtin("shift-change", &[]);
    let mut last = 0;
    for (i, a) in Schedule::new(&p, 1).enumerate() {
        assert!(a.at_us >= last, "action {i} goes back in time");
        assert_eq!(a.seq, i as u64);
        assert!(a.at_us < p.duration.as_micros());
        last = a.at_us;
    }
}

#[test]
fn poisson_count_and_cv() {
    let p = traffic_only("poisson", "200/s", "60s");
    for seed in [1, 2, 3] {
        let t = status_times(&p, seed);
        let n = t.len() as f64;
        assert!((n - 12_000.0).abs() <= 360.0, "seed {seed}: {n} arrivals");
        let cv = cv(&t);
        assert!((0.9..=1.1).contains(&cv), "seed {seed}: cv {cv}");
    }
}

#[test]
fn uniform_count_and_cv() {
    let p = traffic_only("uniform", "200/s", "60s");
    let t = status_times(&p, 1);
    let n = t.len() as f64;
    assert!((n - 12_000.0).abs() <= 360.0, "{n} arrivals");
    let cv = cv(&t);
    assert!(cv < 0.1, "cv {cv}");
}

fn shift_change_profile(shape: &str) -> Profile {
    profile(&format!(
        "name: t
duration: 10m
population: {{control_rooms: 2, consoles_per_room: 50, terminals: 4000, talkgroups_per_room: 10, monitored_per_console: 3}}
setup: {{over: 20s}}
events:
  - kind: shift_change
    at: 2m
    consoles: 100%
    terminals: 50%
    logout_over: 2m
    shape: {shape}
    handover: 45s
"
    ))
}

#[test]
fn shift_change_logouts_fall_in_their_window_with_the_shape() {
    for shape in ["uniform", "normal"] {
        let p = shift_change_profile(shape);
        let sched = Schedule::new(&p, 9);
        let phase_names: Vec<String> = sched.phases().iter().map(|p| p.name.clone()).collect();
        let actions: Vec<Action> = sched.collect();
        let logouts: Vec<f64> = actions
            .iter()
            .filter(|a| {
                matches!(
                    a.kind,
                    ActionKind::Logout { .. } | ActionKind::Deregister { .. }
                )
            })
            .map(|a| a.at_us as f64 / 1e6 - 120.0)
            .collect();
        assert_eq!(logouts.len(), 100 + 2000, "{shape}");
        assert!(logouts.iter().all(|x| (0.0..=120.0).contains(x)), "{shape}");
        // Middle third of the window: 1/3 of the logouts for uniform, ~68 % (±1 sigma) for normal.
        let mid = logouts.iter().filter(|x| (40.0..80.0).contains(*x)).count() as f64
            / logouts.len() as f64;
        match shape {
            "uniform" => assert!((0.28..0.39).contains(&mid), "{shape}: {mid}"),
            _ => assert!((0.62..0.74).contains(&mid), "{shape}: {mid}"),
        }
        // Every logout is followed by a login of the same console, `handover` later.
        let logins_after: usize = actions
            .iter()
            .filter(|a| matches!(a.kind, ActionKind::Login { shift: 1, .. }))
            .count();
        assert_eq!(logins_after, 100);
        let phase = actions
            .iter()
            .find(|a| matches!(a.kind, ActionKind::Logout { .. }))
            .map(|a| phase_names[a.phase].clone());
        assert_eq!(phase.as_deref(), Some("shift_change"));
    }
}

#[test]
fn emergency_burst_is_concentrated_and_calls_end_after_hold() {
    let p = builtin("emergency-burst", &[]);
    let actions: Vec<Action> = Schedule::new(&p, 5).collect();
    let mut starts = std::collections::HashMap::new();
    let mut groups = std::collections::BTreeSet::new();
    for a in &actions {
        if let ActionKind::CallStart {
            call,
            kind: CallKind::Emergency,
            talkgroup,
            ..
        } = a.kind
        {
            assert!((60_000_000..90_000_000).contains(&a.at_us));
            starts.insert(call, a.at_us);
            groups.insert(talkgroup);
        }
    }
    assert_eq!(starts.len(), 200);
    assert_eq!(groups.len(), 3);
    let ends = actions
        .iter()
        .filter_map(|a| match a.kind {
            ActionKind::CallEnd { call, .. } => starts.get(&call).map(|s| a.at_us - s),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(ends.len(), 200);
    assert!(ends.iter().all(|d| *d == 20_000_000));
}

#[test]
fn setup_logs_in_every_console_and_registers_every_terminal() {
    let p = builtin("smoke", &[]);
    let setup: Vec<Action> = Schedule::new(&p, 1).filter(|a| a.phase == 0).collect();
    let logins = setup
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::Login { .. }))
        .count();
    let regs = setup
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::Register { .. }))
        .count();
    assert_eq!(logins, 12);
    assert_eq!(regs, 600);
}

#[test]
fn schedule_is_lazy() {
    // A day at 10,000/s is 864 million actions: taking the first ones must be instant and small.
    let p = traffic_only("poisson", "10000/s", "24h");
    let first: Vec<Action> = Schedule::new(&p, 1).take(1000).collect();
    assert_eq!(first.len(), 1000);
}

#[test]
fn summary_counts_and_peak() {
    let p = traffic_only("uniform", "200/s", "60s");
    let s = summarize(Schedule::new(&p, 1));
    // 12,000 statuses plus the setup's login and 100 registrations, all at t=0.
    assert_eq!(s.total, 12_101);
    assert_eq!(s.per_op["terminal.status"], 12_000);
    assert_eq!(s.peak_per_s, 301);
    assert_eq!(s.peak_at_s, 0);
}

#[test]
fn estimate_equals_the_walk_where_it_is_exact() {
    let p = traffic_only("uniform", "200/s", "60s");
    let walk = summarize(Schedule::new(&p, 1));
    let est = estimate(&p, 1);
    assert!(est.estimated && !walk.estimated);
    assert_eq!(est.per_op, walk.per_op);
    assert_eq!(est.per_phase, walk.per_phase);
    assert_eq!(est.total, 12_101);
    assert_eq!((est.peak_per_s, est.peak_at_s), (301, 0));
    // Every kind of source (setup, traffic, both events, audits, probes) with even arrivals:
    // the same counts by operation and by phase.
    let even = ["traffic.0.arrival=uniform", "traffic.1.arrival=uniform"];
    for (name, seed) in [("smoke", 7), ("smoke", 8), ("emergency-burst", 1)] {
        let p = builtin(name, &even);
        let walk = summarize(Schedule::new(&p, seed));
        let est = estimate(&p, seed);
        assert_eq!(est.per_op, walk.per_op, "{name} {seed}");
        assert_eq!(est.per_phase, walk.per_phase, "{name} {seed}");
        assert_eq!(est.total, walk.total, "{name} {seed}");
        assert!(
            est.peak_per_s.abs_diff(walk.peak_per_s) <= 2,
            "{name} {seed}: peak {} in second {}, walked {} in second {}",
            est.peak_per_s,
            est.peak_at_s,
            walk.peak_per_s,
            walk.peak_at_s
        );
    }
}

#[test]
fn estimate_of_poisson_traffic_is_its_expectation() {
    let p = builtin("smoke", &[]);
    let walk = summarize(Schedule::new(&p, 7));
    let est = estimate(&p, 7);
    // 30/s over the 17 s after setup.
    assert_eq!(est.per_op["terminal.status"], 510);
    let (w, e) = (walk.total as f64, est.total as f64);
    assert!((w - e).abs() / w < 0.1, "walked {w}, estimated {e}");
    // The timed events are drawn as the schedule draws them: exact.
    for op in ["terminal.deregister", "console.logout", "call.emergency"] {
        assert_eq!(est.per_op[op], walk.per_op[op], "{op}");
    }
}

#[test]
fn estimate_does_not_walk_a_long_run() {
    // A week of the smoke profile is over 18 million actions: counted, not walked.
    let p = builtin("smoke", &["duration=7d"]);
    let t = std::time::Instant::now();
    let est = estimate(&p, 7);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    assert!(est.estimated);
    let status = est.per_op["terminal.status"] as f64;
    assert!((status - 30.0 * (604_800.0 - 3.0)).abs() <= 1.0, "{status}");
    assert!(est.total > 18_000_000, "{}", est.total);
    assert!(est.per_phase["steady"] > 18_000_000);
}

#[test]
fn audits_and_probes_cover_everyone_each_period_spread_out() {
    let p = builtin(
        "smoke",
        &[
            "checks.audit_every=4s",
            "checks.probe_every=2s",
            "duration=15s",
        ],
    );
    let actions: Vec<Action> = Schedule::new(&p, 1).collect();
    // Setup ends at 3 s; audits from 3 s + 2 s, one console every 4 s / 12.
    let audits: Vec<(u64, u32)> = actions
        .iter()
        .filter_map(|a| match a.kind {
            ActionKind::Audit { console } => Some((a.at_us, console)),
            _ => None,
        })
        .collect();
    let first_round: Vec<u32> = audits.iter().take(12).map(|(_, c)| *c).collect();
    assert_eq!(first_round, (0..12).collect::<Vec<_>>());
    assert_eq!(audits[0].0, 5_000_000);
    assert_eq!(audits[1].0 - audits[0].0, 4_000_000 / 12);
    assert_eq!(audits[12].0, 9_000_000);
    // Probes: every monitored talkgroup (20) once every 2 s from the end of setup, ended
    // after 1 s, marked as probes.
    let probes: Vec<&Action> = actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::CallStart { probe: true, .. }))
        .collect();
    let in_first: std::collections::BTreeSet<u32> = probes
        .iter()
        .filter(|a| a.at_us < 5_000_000)
        .map(|a| match a.kind {
            ActionKind::CallStart { talkgroup, .. } => talkgroup,
            _ => 0,
        })
        .collect();
    assert_eq!(in_first.len(), 20);
    let probe_ends = actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::CallEnd { probe: true, .. }))
        .count();
    assert!(
        probe_ends >= probes.len() - 20,
        "{probe_ends} of {}",
        probes.len()
    );
    assert!(probes.iter().all(|a| a.kind.is_probe()));
}

#[test]
fn zero_turns_audits_and_probes_off() {
    let p = builtin("smoke", &["checks.audit_every=0s", "checks.probe_every=0s"]);
    assert!(
        Schedule::new(&p, 1)
            .all(|a| !matches!(a.kind, ActionKind::Audit { .. }) && !a.kind.is_probe())
    );
}

#[test]
fn times_after_the_end_belong_to_the_phases_on_at_the_end() {
    let p = builtin("smoke", &[]);
    let s = Schedule::new(&p, 1);
    let phases = s.phases().to_vec();
    let end = s.duration_us();
    assert_eq!(
        Schedule::phase_at(&phases, end + 5_000_000),
        Schedule::phase_at(&phases, end - 1)
    );
    assert_eq!(phases[Schedule::phase_at(&phases, 0)].name, "setup");
}

#[test]
fn a_clock_time_event_is_scheduled_from_the_clock_start() {
    let p = profile(
        "name: clock
timezone: Europe/Amsterdam
duration: 2m
population: {control_rooms: 1, consoles_per_room: 2, terminals: 10, talkgroups_per_room: 2, monitored_per_console: 1}
setup: {over: 10s}
traffic:
  - action: status
    rate: 5/s
events:
  - {kind: shift_change, at: \"14:00\", consoles: 50%, logout_over: 10s, handover: 5s}
",
    );
    let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
    let start = crate::profile::clock::parse_start("2026-06-10T13:59:30", &tz).unwrap();
    let r = crate::profile::clock::resolve(&p, start).unwrap();
    let actions: Vec<_> = Schedule::new(&r, 1)
        .filter(|a| matches!(a.kind, ActionKind::Logout { .. }))
        .collect();
    assert!(!actions.is_empty() && actions.iter().all(|a| a.at_us >= 30_000_000));
}

#[test]
fn a_population_without_consoles_schedules_only_terminal_actions() {
    let text = "name: t\nduration: 1m\npopulation:\n  control_rooms: 2\n  consoles_per_room: 0\n  terminals: 50\n  talkgroups_per_room: 3\n  monitored_per_console: 0\ntraffic:\n  - action: status\n    rate: 10/s\n";
    let p = load(
        &ProfileSource {
            name: "t.yaml".into(),
            text: text.into(),
        },
        &[],
    )
    .expect("loads");
    let s = Schedule::new(&p, 1);
    assert_eq!(s.population().console_count(), 0);
    let kinds: std::collections::BTreeSet<&str> = s.map(|a| a.kind.op().name()).collect();
    assert!(
        kinds.iter().all(|k| k.starts_with("terminal.")),
        "{kinds:?}"
    );
}

/// A random but valid profile: population, traffic, events and checks drawn from `rng`.
fn random_profile(rng: &mut Xoshiro256PlusPlus) -> Profile {
    let rooms = rng.random_range(1..=3u32);
    let consoles = rng.random_range(0..=4u32);
    let groups = rng.random_range(1..=4u32);
    let monitored = if consoles == 0 {
        0
    } else {
        rng.random_range(1..=groups)
    };
    let terminals = rng.random_range(1..=200u32);
    let duration = rng.random_range(20..=60u32);
    let mut traffic = String::new();
    for action in ["status", "group_call", "emergency_call", "affiliate"] {
        if rng.random_bool(0.7) {
            let rate = rng.random_range(1..=20u32);
            let arrival = if rng.random_bool(0.5) {
                "poisson"
            } else {
                "uniform"
            };
            traffic.push_str(&format!(
                "  - {{action: {action}, rate: {rate}/s, arrival: {arrival}}}\n"
            ));
        }
    }
    let mut events = String::new();
    if rng.random_bool(0.6) {
        let share = rng.random_range(10..=100u32);
        events.push_str(&format!(
            "  - {{kind: shift_change, at: 8s, consoles: {share}%, terminals: {}%, logout_over: 5s, handover: 2s}}\n",
            100 - share / 2
        ));
    }
    if rng.random_bool(0.6) {
        events.push_str(&format!(
            "  - {{kind: emergency_burst, at: 12s, over: 3s, calls: {}, talkgroups: {}}}\n",
            rng.random_range(1..=30u32),
            rng.random_range(1..=(rooms * groups).min(3))
        ));
    }
    let audit = rng.random_range(0..=10u32);
    let probe = rng.random_range(0..=10u32);
    let mut text = format!(
        "name: t
duration: {duration}s
population: {{control_rooms: {rooms}, consoles_per_room: {consoles}, terminals: {terminals}, talkgroups_per_room: {groups}, monitored_per_console: {monitored}}}
setup: {{over: 5s}}
checks: {{audit_every: {audit}s, probe_every: {probe}s}}
"
    );
    if !traffic.is_empty() {
        text.push_str("traffic:\n");
        text.push_str(&traffic);
    }
    if !events.is_empty() {
        text.push_str("events:\n");
        text.push_str(&events);
    }
    profile(&text)
}

#[test]
fn the_shards_of_a_schedule_add_up_to_it_exactly() {
    let mut rng = rng_for(17, 17);
    for case in 0..40 {
        let p = random_profile(&mut rng);
        let seed: u64 = rng.random();
        let whole: Vec<Action> = Schedule::new(&p, seed).collect();
        for n in 1..=8u32 {
            let mut union: Vec<Action> = Vec::new();
            for i in 0..n {
                let shard = Shard { index: i, count: n };
                let mut own = Ownership::new(shard);
                let mut calls = std::collections::HashMap::new();
                for a in Schedule::new(&p, seed).filter(|a| own.owns(a)) {
                    // An entity and everything acting on it stay in one shard.
                    match &a.kind {
                        ActionKind::Login { console, .. }
                        | ActionKind::Logout { console }
                        | ActionKind::Audit { console } => assert!(shard.owns_console(*console)),
                        ActionKind::CallStart { call, caller, .. } => {
                            assert!(shard.owns_terminal(*caller));
                            calls.insert(*call, ());
                        }
                        ActionKind::CallEnd { call, .. } => assert!(
                            calls.remove(call).is_some(),
                            "case {case}: call {call} ends in shard {shard} without its start"
                        ),
                        ActionKind::Register { terminal, .. }
                        | ActionKind::Deregister { terminal }
                        | ActionKind::Affiliate { terminal, .. }
                        | ActionKind::Status { terminal, .. } => {
                            assert!(shard.owns_terminal(*terminal))
                        }
                    }
                    union.push(a);
                }
            }
            union.sort_by_key(|a| a.seq);
            assert_eq!(
                union.len(),
                whole.len(),
                "case {case}, seed {seed}, {n} shards: {} actions in the shards, {} in the run",
                union.len(),
                whole.len()
            );
            assert!(
                union == whole,
                "case {case}, seed {seed}, {n} shards: the union differs from the schedule"
            );
        }
    }
}
