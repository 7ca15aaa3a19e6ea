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
