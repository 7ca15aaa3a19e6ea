use super::*;

fn src(text: &str) -> Source {
    Source {
        name: "test.yaml".into(),
        text: text.into(),
    }
}

fn err(text: &str) -> String {
    match load(&src(text), &[]) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const MINIMAL: &str = "name: t
duration: 1m
population:
  control_rooms: 1
  consoles_per_room: 2
  terminals: 10
  talkgroups_per_room: 3
  monitored_per_console: 2
";

#[test]
fn builtins_load() {
    for (name, _, _) in BUILTIN {
        let s = read_source(name).unwrap();
        let p = load(&s, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&p.name, name);
    }
}

#[test]
fn example_from_the_issue_loads_as_written() {
    let s = read_source("shift-change").unwrap();
    let p = load(&s, &[]).unwrap();
    assert_eq!(p.seed, 2023);
    assert_eq!(p.population.terminals, 20000);
    assert_eq!(p.traffic.len(), 3);
    assert_eq!(p.events[0].kind, EventKind::ShiftChange);
    assert_eq!(p.slo.error_rate.unwrap().fraction, 0.001);
    assert_eq!(
        p.slo.latency["delivery.emergency.alert"].p95,
        Some(rcload_api::Dur(std::time::Duration::from_millis(300)))
    );
}

#[test]
fn unknown_key_names_line_and_field() {
    let e = err(&format!("{MINIMAL}  colour: red\n"));
    assert!(e.starts_with("test.yaml:9:"), "{e}");
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn wrong_type_names_field() {
    let e = err(&MINIMAL.replace("terminals: 10", "terminals: many"));
    assert!(e.starts_with("test.yaml:6:"), "{e}");
    assert!(e.contains("population.terminals"), "{e}");
}

#[test]
fn negative_rate_is_rejected_with_place() {
    let e = err(&format!(
        "{MINIMAL}traffic:\n  - action: status\n    rate: -5/s\n"
    ));
    assert!(e.starts_with("test.yaml:11:"), "{e}");
    assert!(e.contains("traffic[0].rate"), "{e}");
    assert!(e.contains("positive"), "{e}");
}

#[test]
fn bad_duration_is_rejected_with_place() {
    let e = err(&MINIMAL.replace("duration: 1m", "duration: ten"));
    assert!(e.starts_with("test.yaml:2:"), "{e}");
    assert!(e.contains("duration"), "{e}");
}

#[test]
fn unknown_event_kind() {
    let e = err(&format!(
        "{MINIMAL}events:\n  - kind: alien_invasion\n    at: 1s\n"
    ));
    assert!(e.starts_with("test.yaml:10:"), "{e}");
    assert!(e.contains("alien_invasion"), "{e}");
    assert!(e.contains("shift_change"), "{e}");
}

#[test]
fn yaml_syntax_error() {
    let e = err(&format!("{MINIMAL}traffic: [ {{ action: status\n"));
    assert!(e.starts_with("test.yaml:"), "{e}");
}

#[test]
fn empty_file() {
    let e = err("# nothing here\n\n");
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn missing_file() {
    let e = read_source("/nonexistent/profile.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/profile.yaml"), "{e}");
}

#[test]
fn cross_field_check_is_located() {
    let e = err(&MINIMAL.replace("monitored_per_console: 2", "monitored_per_console: 9"));
    assert!(e.starts_with("test.yaml:8:3:"), "{e}");
    assert!(e.contains("population.monitored_per_console"), "{e}");
    assert!(e.contains("hint:"), "{e}");
}

#[test]
fn field_of_the_wrong_event_kind() {
    let e = err(&format!(
        "{MINIMAL}events:\n  - kind: shift_change\n    at: 1s\n    logout_over: 2s\n    handover: 1s\n    calls: 4\n"
    ));
    assert!(e.starts_with("test.yaml:14:5:"), "{e}");
    assert!(
        e.contains("`calls` is not a field of a shift_change event"),
        "{e}"
    );
}

#[test]
fn unknown_slo_key() {
    let e = err(&format!("{MINIMAL}slo:\n  console.lgoin: {{ p99: 1s }}\n"));
    assert!(e.starts_with("test.yaml:10:3:"), "{e}");
    assert!(e.contains("console.lgoin"), "{e}");
}

#[test]
fn overrides_apply_and_are_checked() {
    let s = src(MINIMAL);
    let o = [
        parse_override("population.terminals=500").unwrap(),
        parse_override("duration=1m").unwrap(),
        parse_override("slo[console.login].p99=2s").unwrap(),
    ];
    let p = load(&s, &o).unwrap();
    assert_eq!(p.population.terminals, 500);
    assert_eq!(p.duration.as_secs_f64(), 60.0);
    assert_eq!(
        p.slo.latency["console.login"].p99.unwrap().as_secs_f64(),
        2.0
    );

    let bad = [parse_override("population.terminal=5").unwrap()];
    let e = load(&s, &bad).unwrap_err().to_string();
    assert!(e.starts_with("--set population.terminal=5:"), "{e}");
    assert!(e.contains("terminal"), "{e}");

    let bad = [parse_override("population.monitored_per_console=7").unwrap()];
    let e = load(&s, &bad).unwrap_err().to_string();
    assert!(
        e.starts_with("--set population.monitored_per_console=7"),
        "{e}"
    );

    assert!(parse_override("no-equals-sign").is_err());
}

#[test]
fn resolved_profile_round_trips_through_yaml() {
    let p = load(&read_source("shift-change").unwrap(), &[]).unwrap();
    let text = to_yaml(&p);
    let back = load(&src(&text), &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, p);
}

#[test]
fn checks_have_defaults_and_are_validated() {
    let p = load(&src(MINIMAL), &[]).unwrap();
    assert_eq!(p.checks.audit_every.as_secs_f64(), 30.0);
    assert_eq!(p.checks.missed_for_drop, 2);
    assert_eq!(p.checks.probe_every.as_secs_f64(), 60.0);
    assert!(p.checks.reattach);
    let e = err(&format!(
        "{MINIMAL}checks:\n  reconnect: {{ initial: 5s, max: 1s }}\n"
    ));
    assert!(e.contains("checks.reconnect.initial"), "{e}");
    let e = err(&format!("{MINIMAL}checks:\n  missed_for_drop: -1\n"));
    assert!(e.contains("checks.missed_for_drop"), "{e}");
}

#[test]
fn count_slos_take_a_number() {
    let p = load(
        &src(&format!(
            "{MINIMAL}slo:\n  talkgroup_drops: 0\n  console_disconnects: 2\n  missed_deliveries: 10\n"
        )),
        &[],
    )
    .unwrap();
    assert_eq!(p.slo.max_counts["talkgroup_drops"], 0);
    assert_eq!(p.slo.max_counts["missed_deliveries"], 10);
    let e = err(&format!("{MINIMAL}slo:\n  talkgroup_drops: none\n"));
    assert!(e.contains("slo.talkgroup_drops"), "{e}");
}

// Limits (`profile::limits`): each is refused with its place and field before anything is
// built, and the overridable ones are raised in `limits:`.

fn loads(text: &str) -> Profile {
    load(&src(text), &[]).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn a_duration_over_the_limit_is_refused_and_can_be_raised() {
    let e = err(&MINIMAL.replace("duration: 1m", "duration: 8days"));
    assert!(e.starts_with("test.yaml:2:1: duration:"), "{e}");
    assert!(e.contains("limit of 7days"), "{e}");
    assert!(e.contains("limits.duration"), "{e}");
    let p = loads(&format!(
        "{}limits:\n  duration: 30d\n",
        MINIMAL.replace("duration: 1m", "duration: 8days")
    ));
    assert_eq!(p.duration.as_secs_f64(), 8.0 * 86_400.0);
    // From the command line, the override is named.
    let o = [parse_override("duration=1000000h").unwrap()];
    let e = load(&src(MINIMAL), &o).unwrap_err().to_string();
    assert!(e.starts_with("--set duration=1000000h: duration:"), "{e}");
    assert!(e.contains("limit of 7days"), "{e}");
    let o = [
        parse_override("limits.duration=30d").unwrap(),
        parse_override("duration=20d").unwrap(),
    ];
    assert_eq!(
        load(&src(MINIMAL), &o).unwrap().duration.as_secs_f64(),
        20.0 * 86_400.0
    );
}

#[test]
fn population_limits_name_their_field() {
    let cases = [
        (
            "control_rooms: 1",
            "control_rooms: 1001",
            4,
            "population.control_rooms",
        ),
        (
            "consoles_per_room: 2",
            "consoles_per_room: 100000000",
            5,
            "population.consoles_per_room",
        ),
        (
            "terminals: 10",
            "terminals: 10000001",
            6,
            "population.terminals",
        ),
        (
            "talkgroups_per_room: 3",
            "talkgroups_per_room: 1000001",
            7,
            "population.talkgroups_per_room",
        ),
    ];
    for (from, to, line, field) in cases {
        let e = err(&MINIMAL.replace(from, to));
        assert!(
            e.starts_with(&format!("test.yaml:{line}:3: {field}:")),
            "{e}"
        );
        assert!(e.contains("more than the limit of"), "{e}");
        assert!(e.contains("hint:") && e.contains("limits."), "{e}");
    }
    // Consoles are counted over all rooms: 20 rooms of 6,000 are 120,000.
    let e = err(&MINIMAL
        .replace("control_rooms: 1", "control_rooms: 20")
        .replace("consoles_per_room: 2", "consoles_per_room: 6000"));
    assert!(e.contains("population.consoles_per_room"), "{e}");
    assert!(e.contains("120,000 consoles"), "{e}");
    // 2,000 consoles monitoring 6,000 talkgroups each are 12 million pairs.
    let e = err(&MINIMAL
        .replace("consoles_per_room: 2", "consoles_per_room: 2000")
        .replace("talkgroups_per_room: 3", "talkgroups_per_room: 10000")
        .replace("monitored_per_console: 2", "monitored_per_console: 6000"));
    assert!(e.contains("population.monitored_per_console"), "{e}");
    assert!(e.contains("12,000,000"), "{e}");
    // Raised in the profile.
    let p = loads(&format!(
        "{}limits: {{ terminals: 12000000, control_rooms: 2000 }}\n",
        MINIMAL
            .replace("terminals: 10", "terminals: 11000000")
            .replace("control_rooms: 1", "control_rooms: 1500")
    ));
    assert_eq!(p.population.terminals, 11_000_000);
    // From the command line: the field and the override are named, before anything is built.
    let o = [parse_override("population.consoles_per_room=100000000").unwrap()];
    let e = load(&src(MINIMAL), &o).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "--set population.consoles_per_room=100000000: population.consoles_per_room:"
        ),
        "{e}"
    );
}

#[test]
fn rate_limits_cover_traffic_audits_and_probes() {
    let e = err(&format!(
        "{MINIMAL}traffic:\n  - action: status\n    rate: 200000/s\n"
    ));
    assert!(e.starts_with("test.yaml:11:5: traffic[0].rate:"), "{e}");
    assert!(e.contains("limit of 100000/s"), "{e}");
    loads(&format!(
        "{MINIMAL}traffic:\n  - action: status\n    rate: 200000/s\nlimits:\n  rate: 500000/s\n"
    ));
    // Past 1,000,000/s no limit lets it through.
    let e = err(&format!(
        "{MINIMAL}traffic:\n  - action: status\n    rate: 2000000/s\nlimits:\n  rate: 5000000/s\n"
    ));
    assert!(e.contains("not supported"), "{e}");
    // A curve is judged by its peak.
    let e = err(&format!(
        "{MINIMAL}traffic:\n  - action: status\n    rate: {{ 0s: 5/s, 30s: 150000/s }}\n"
    ));
    assert!(e.contains("traffic[0].rate"), "{e}");
    let e = err(&format!("{MINIMAL}checks:\n  audit_every: 1us\n"));
    assert!(e.starts_with("test.yaml:10:3: checks.audit_every:"), "{e}");
    let e = err(&format!(
        "{MINIMAL}checks:\n  audit_every: 0s\n  probe_every: 1us\n"
    ));
    assert!(e.starts_with("test.yaml:11:3: checks.probe_every:"), "{e}");
}

#[test]
fn calls_in_progress_are_limited() {
    // 1,000 calls a second held 2,000 s: two million at once.
    let e = err(&format!(
        "{MINIMAL}traffic:\n  - action: group_call\n    rate: 1000/s\n    hold: 2000s\n"
    ));
    assert!(e.starts_with("test.yaml:12:5: traffic[0].hold:"), "{e}");
    assert!(e.contains("2,000,000 calls in progress"), "{e}");
    // Without `hold` (10 s by default) the rate is named.
    let e = err(&format!(
        "{MINIMAL}traffic:\n  - action: emergency_call\n    rate: 99000/s\n  - action: group_call\n    rate: 20000/s\n"
    ));
    assert!(e.contains("traffic[1].rate"), "{e}");
    loads(&format!(
        "{MINIMAL}traffic:\n  - action: group_call\n    rate: 1000/s\n    hold: 2000s\nlimits:\n  calls_in_progress: 3000000\n"
    ));
}

#[test]
fn event_limits_count_actions_and_daily_repeats() {
    let e = err(&format!(
        "{}events:\n  - kind: emergency_burst\n    at: 1s\n    calls: 6000000\n    over: 10s\n",
        MINIMAL.replace("terminals: 10", "terminals: 100")
    ));
    assert!(e.starts_with("test.yaml:12:5: events[0].calls:"), "{e}");
    assert!(e.contains("12,000,000 actions"), "{e}");
    let e = err(&format!(
        "{}events:\n  - {{ kind: shift_change, at: 1s, terminals: 100%, logout_over: 10s, handover: 1s }}\n",
        MINIMAL.replace("terminals: 10", "terminals: 6000000")
    ));
    assert!(e.contains("events[0].terminals"), "{e}");
    // 1,001 events.
    let many: String = (0..1001)
        .map(|_| "  - { kind: emergency_burst, at: 1s, calls: 1, over: 1s }\n")
        .collect();
    let e = err(&format!("{MINIMAL}events:\n{many}"));
    assert!(e.contains("events[1000]"), "{e}");
    assert!(e.contains("limit of 1,000"), "{e}");
    // A daily event over 2,000 days happens 2,001 times.
    let daily = format!(
        "{}timezone: UTC\nlimits: {{ duration: 3000d }}\nevents:\n  - {{ kind: shift_change, at: \"14:00\", repeat: daily, logout_over: 1s, handover: 1s }}\n",
        MINIMAL.replace("duration: 1m", "duration: 2000d")
    );
    let e = err(&daily);
    assert!(e.contains("events[0]"), "{e}");
    assert!(e.contains("2,001 times"), "{e}");
}

#[test]
fn texts_are_limited() {
    let long_name = "n".repeat(201);
    let e = err(&MINIMAL.replace("name: t", &format!("name: {long_name}")));
    assert!(e.starts_with("test.yaml:1:1: name:"), "{e}");
    assert!(e.contains("201 bytes"), "{e}");
    let long = "d".repeat(64 * 1024 + 1);
    let e = err(&format!("{MINIMAL}description: {long}\n"));
    assert!(e.starts_with("test.yaml:9:1: description:"), "{e}");
    assert!(e.contains("65,537 bytes long"), "{e}");
    assert!(e.contains("limit of 65,536 bytes (64 KiB)"), "{e}");
    let e = err(&format!(
        "{MINIMAL}events:\n  - {{ kind: emergency_burst, name: {long_name}, at: 1s, calls: 1, over: 1s }}\n"
    ));
    assert!(e.contains("events[0].name"), "{e}");
    // An unknown limit is refused like any unknown key.
    let e = err(&format!("{MINIMAL}limits:\n  colour: 3\n"));
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_parsing_naming_its_big_field() {
    let text = format!(
        "name: big\ndescription: {}\n{}",
        "x".repeat(5 << 20),
        &MINIMAL["name: t\n".len()..]
    );
    let path = std::env::temp_dir().join(format!("rcload-big-{}.yaml", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let spec = path.to_string_lossy().into_owned();
    let e = read_source(&spec).unwrap_err().to_string();
    let _ = std::fs::remove_file(&path);
    assert!(e.starts_with(&format!("{spec}:2:1: description:")), "{e}");
    assert!(e.contains("larger than 4 MiB"), "{e}");
    // A text given in memory is held to the same size.
    let e = load(&src(&text), &[]).unwrap_err().to_string();
    assert!(e.starts_with("test.yaml:2:1: description:"), "{e}");
    // Without one big field, the file as a whole.
    let many: String = (0..200_000).map(|i| format!("# {i:>30}\n")).collect();
    let e = load(&src(&format!("{MINIMAL}{many}")), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("test.yaml: (top level): the file is larger"),
        "{e}"
    );
}

#[test]
fn limits_round_trip_through_yaml() {
    let p = loads(&format!(
        "{MINIMAL}limits:\n  duration: 30d\n  rate: 200000/s\n  event_actions: 20000000\n"
    ));
    assert_eq!(p.limits.event_actions, Some(20_000_000));
    let back = loads(&to_yaml(&p));
    assert_eq!(back, p);
    // Without a `limits:` section, none is written.
    assert!(!to_yaml(&loads(MINIMAL)).contains("limits"));
}

#[test]
fn a_replay_entry_is_read_and_a_mixed_one_is_located() {
    let dir = std::env::temp_dir().join(format!("rcload-replay-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("r.csv"),
        "time,action,issi\n0,status,1000001\n1.5,status,1000002\n",
    )
    .unwrap();
    let text = format!(
        "{MINIMAL}traffic:\n  - action: status\n    rate: 2/s\n  - replay: r.csv\n    speed: 2\n    repeat: 3\n"
    );
    let source = Source {
        name: dir.join("p.yaml").display().to_string(),
        text: text.clone(),
    };
    let p = load(&source, &[]).expect("loads");
    let r = p.traffic[1].replay().expect("a replay");
    assert_eq!((r.speed, r.repeat), (2.0, 3));
    assert_eq!(r.records.as_ref().map(|x| x.records.len()), Some(2));
    // An override keeps the records.
    let o = parse_override("traffic.0.rate=4/s").unwrap();
    let q = with_overrides(&p, &[o]).expect("overridden");
    assert!(q.traffic[1].replay().unwrap().records.is_some());
    // `rate` does not go with `replay`, and `speed` must be more than 0.
    let e = err(&format!(
        "{MINIMAL}traffic:\n  - replay: r.csv\n    rate: 2/s\n"
    ));
    assert!(
        e.contains("test.yaml:10") && e.contains("replay entry"),
        "{e}"
    );
    let e = err(&format!(
        "{MINIMAL}traffic:\n  - replay: r.csv\n    speed: 0\n"
    ));
    assert!(e.contains("traffic[0].speed"), "{e}");
    // A records file that is not there is named.
    let e = err(&format!("{MINIMAL}traffic:\n  - replay: nowhere.csv\n"));
    assert!(e.contains("nowhere.csv"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_fleet_profile_takes_no_figures() {
    let e = err("name: t\nduration: 1m\npopulation:\n  fleet: f.yaml\n  terminals: 10\n");
    assert!(
        e.contains("population.fleet") && e.contains("do not go together"),
        "{e}"
    );
    let e = err("name: t\nduration: 1m\npopulation:\n  fleet: nowhere/fleet.yaml\n");
    assert!(e.contains("nowhere/fleet.yaml"), "{e}");
}

#[test]
fn per_room_goes_with_delivery_keys_only() {
    let ok = format!(
        "{MINIMAL}slo:\n  delivery.status: {{ p99: 1s, per: room }}\n  talkgroup_drops: {{ max: 0, per: room }}\n"
    );
    let p = load(&src(&ok), &[]).expect("loads");
    assert!(p.slo.latency["delivery.status"].per_room());
    assert_eq!(p.slo.room_counts["talkgroup_drops"].max, 0);
    let e = err(&format!(
        "{MINIMAL}slo:\n  console.login: {{ p99: 1s, per: room }}\n"
    ));
    assert!(
        e.contains("slo.console.login.per") || e.contains("slo[console.login].per"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}slo:\n  talkgroup_drops: -1\n"));
    assert!(e.contains("0 or more"), "{e}");
}

#[test]
fn a_population_without_consoles_is_a_pure_request_load() {
    let text = "name: t\nduration: 1m\npopulation:\n  control_rooms: 2\n  consoles_per_room: 0\n  terminals: 50\n  talkgroups_per_room: 3\n  monitored_per_console: 0\ntraffic:\n  - action: status\n    rate: 10/s\nslo:\n  terminal.status: { p99: 1s }\n";
    let p = load(&src(text), &[]).expect("loads");
    assert_eq!(p.population.consoles_per_room, 0);
    let e = err(&text.replace(
        "terminal.status: { p99: 1s }",
        "delivery.status: { p99: 1s }",
    ));
    assert!(e.contains("no consoles"), "{e}");
}
