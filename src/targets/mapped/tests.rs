//! Unit tests of mapping files on synthetic input: loading and its located problems, the
//! reading of messages into events, correlation and captured values. No network.

use super::events::Decoded;
use super::*;
use crate::profile::Source;
use rcload_api::Event;
use serde_json::json;

fn source(name: &str) -> Source {
    let path = format!("{}/adapters/{name}", env!("CARGO_MANIFEST_DIR"));
    Source {
        name: format!("adapters/{name}"),
        text: std::fs::read_to_string(&path).unwrap(),
    }
}

fn target(name: &str) -> MappedTarget {
    let m = parse(&source(name)).unwrap();
    MappedTarget::new(
        m,
        "http://127.0.0.1:9",
        Duration::from_secs(1),
        &Credentials::None,
        &crate::targets::transport::Transport::default(),
    )
    .unwrap()
}

fn edited(name: &str, from: &str, to: &str) -> Result<Mapping, AdapterError> {
    let mut s = source(name);
    assert!(s.text.contains(from), "{from:?}");
    s.text = s.text.replacen(from, to, 1);
    parse(&s)
}

fn event(d: Decoded) -> Event {
    match d {
        Decoded::Event(r) => r.event,
        other => panic!("not an event: {other:?}"),
    }
}

#[test]
fn both_example_mappings_load() {
    for name in ["api-v1.yaml", "vendor-x.yaml"] {
        let m = parse(&source(name)).unwrap();
        assert!(m.unsupported().is_empty(), "{name}");
        for op in Op::ALL {
            assert_eq!(m.action(op).is_some(), op != Op::AuthToken, "{name} {op:?}");
        }
    }
}

#[test]
fn problems_name_the_line_and_field() {
    let e = edited(
        "vendor-x.yaml",
        "/xapi/v2/radios/{{ radio | urlencode }}/group",
        "/x/{{ raido }}",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("adapters/vendor-x.yaml:"), "{e}");
    assert!(e.contains("actions[terminal.affiliate].path"), "{e}");
    assert!(e.contains("the template uses `raido`"), "{e}");
    assert!(e.contains("`radio`"), "the hint lists what it has: {e}");

    let e = edited(
        "vendor-x.yaml",
        "  terminal.affiliate:\n",
        "  terminal.afiliate:\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("`terminal.afiliate` is not an rcload action"),
        "{e}"
    );

    let e = edited(
        "vendor-x.yaml",
        "  console.attach:\n    method: PUT",
        "  console.attach:\n    unsupported: true\n    method: PUT",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("cannot be unsupported"), "{e}");

    let e = edited("vendor-x.yaml", "{% endfor %}]}", "{% endfor %]}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("actions[console.attach].body: template:"), "{e}");

    let e = edited(
        "vendor-x.yaml",
        "  client_secret_env: VENDORX_CLIENT_SECRET",
        "  client_secret_env: s3cr3t-value!",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("auth.client_secret_env"), "{e}");
    assert!(e.contains("name the variable"), "{e}");

    let e = edited("vendor-x.yaml", "    issi: /payload/ssi\n", "")
        .unwrap_err()
        .to_string();
    assert!(e.contains("`issi` is missing"), "{e}");

    let e = edited("vendor-x.yaml", "matching: correlate", "matching: guess")
        .unwrap_err()
        .to_string();
    assert!(e.contains("events.matching"), "{e}");
}

#[test]
fn an_unsupported_action_is_reported_as_such() {
    let m = edited(
        "vendor-x.yaml",
        "  terminal.affiliate:\n    method: PUT\n    path: /xapi/v2/radios/{{ radio | urlencode }}/group\n    body: '{\"gssi\": {{ talkgroup }}}'\n    success: [200]\n",
        "  terminal.affiliate:\n    unsupported: true\n",
    )
    .unwrap();
    assert_eq!(m.unsupported(), vec!["terminal.affiliate"]);
    let t = MappedTarget::new(
        m,
        "http://127.0.0.1:9",
        Duration::from_secs(1),
        &Credentials::None,
        &crate::targets::transport::Transport::default(),
    )
    .unwrap();
    assert!(!t.supports(Op::TerminalAffiliate));
    assert!(t.supports(Op::TerminalStatus));
}

#[test]
fn api_v1_messages_read_by_their_sse_name_and_echoed_reference() {
    let t = target("api-v1.yaml");
    let msg = json!({"type": "status", "issi": 1000001, "talkgroup": 100001, "code": 7, "ref": "r42", "ts": 1700000000000u64});
    match t.inner.decode("c1", &msg, Some("status"), Instant::now()) {
        Decoded::Event(r) => {
            assert_eq!(
                r.event,
                Event::Status {
                    issi: 1_000_001,
                    talkgroup: 100_001,
                    code: 7,
                    reference: "r42".into()
                }
            );
            assert_eq!(r.server_ts_ms, 1_700_000_000_000);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        t.inner
            .decode("c1", &msg, Some("something.else"), Instant::now()),
        Decoded::Ignored
    ));
}

#[test]
fn vendor_x_messages_are_correlated_with_what_was_sent() {
    let t = target("vendor-x.yaml");
    let i = &t.inner;
    let status = Request::Status {
        issi: 1_000_001,
        talkgroup: 100_001,
        code: 7,
        reference: "r5".into(),
    };
    i.note_for_correlation(&status);
    i.note_for_correlation(&Request::CallStart {
        kind: CallKind::Emergency,
        talkgroup: 100_002,
        caller: 1_000_009,
        reference: "r6".into(),
    });
    let msg = |ty: &str, payload: Value| json!({"msgType": ty, "timestamp": 5, "payload": payload});
    let st = msg(
        "STATUS_MSG",
        json!({"ssi": 1000001, "gssi": 100001, "statusValue": 7}),
    );
    // Two consoles each get their copy matched; a third copy at the same console is not.
    for console in ["a", "b"] {
        assert_eq!(
            event(i.decode(console, &st, None, Instant::now())),
            Event::Status {
                issi: 1_000_001,
                talkgroup: 100_001,
                code: 7,
                reference: "r5".into()
            }
        );
    }
    match event(i.decode("a", &st, None, Instant::now())) {
        Event::Status { reference, .. } => assert_eq!(reference, ""),
        e => panic!("{e:?}"),
    }
    // Another status value is another request.
    let other = msg(
        "STATUS_MSG",
        json!({"ssi": 1000001, "gssi": 100001, "statusValue": 8}),
    );
    match event(i.decode("c", &other, None, Instant::now())) {
        Event::Status { reference, .. } => assert_eq!(reference, ""),
        e => panic!("{e:?}"),
    }
    let alarm = msg(
        "EMERGENCY_ALARM",
        json!({"callId": "c-9", "gssi": 100002, "callingSsi": 1000009}),
    );
    assert_eq!(
        event(i.decode("a", &alarm, None, Instant::now())),
        Event::EmergencyAlert {
            call: "c-9".into(),
            talkgroup: 100_002,
            caller: 1_000_009,
            reference: "r6".into()
        }
    );
    let kicked = msg("SESSION_TERMINATED", json!({"cause": "admin"}));
    assert_eq!(
        event(i.decode("a", &kicked, None, Instant::now())),
        Event::ConsoleKicked {
            reason: "admin".into()
        }
    );
    let detached = msg(
        "GROUP_DETACHED",
        json!({"gssi": "100003", "cause": "overflow"}),
    );
    assert_eq!(
        event(i.decode("a", &detached, None, Instant::now())),
        Event::TalkgroupDropped {
            talkgroup: 100_003,
            reason: "overflow".into()
        }
    );
    // A mapped type whose field is not where the mapping says.
    let broken = msg(
        "RADIO_ONLINE",
        json!({"subscriber": 1000001, "gssi": 100001}),
    );
    match i.decode("a", &broken, None, Instant::now()) {
        Decoded::Bad(reason) => {
            assert!(
                reason.contains("`RADIO_ONLINE`") && reason.contains("/payload/ssi"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        i.decode("a", &msg("HEARTBEAT", json!({})), None, Instant::now()),
        Decoded::Ignored
    ));
}

#[test]
fn a_value_not_captured_yet_names_who_captures_it() {
    let t = target("vendor-x.yaml");
    let i = &t.inner;
    let action = i.mapping.action(Op::TerminalStatus).unwrap();
    let e = i
        .context(
            &[("issi", minijinja::Value::from(5))],
            &Entity::Terminal(5),
            &action.needs,
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "protocol error: `radio` is not known: terminal.register did not capture it for this terminal"
    );
    lock(&i.stores)
        .terminals
        .entry(5)
        .or_default()
        .insert("radio".into(), minijinja::Value::from("xr-5"));
    let ctx = i
        .context(
            &[
                ("issi", minijinja::Value::from(5)),
                ("code", minijinja::Value::from(3)),
            ],
            &Entity::Terminal(5),
            &action.needs,
        )
        .unwrap();
    assert_eq!(
        action.path.render(&i.mapping.env, &ctx).unwrap(),
        "/xapi/v2/radios/xr-5/status"
    );
    assert_eq!(
        action
            .body
            .as_ref()
            .unwrap()
            .render(&i.mapping.env, &ctx)
            .unwrap(),
        r#"{"statusValue": 3}"#
    );
}

#[test]
fn the_attach_body_is_built_by_a_loop_and_the_answer_read_by_a_wildcard() {
    let t = target("vendor-x.yaml");
    let i = &t.inner;
    let action = i.mapping.action(Op::ConsoleAttach).unwrap();
    let ctx = minijinja::Value::from(std::collections::BTreeMap::from([
        (
            "talkgroups".to_string(),
            minijinja::Value::from(vec![100_001u32, 100_002]),
        ),
        ("session".to_string(), minijinja::Value::from("xs-1")),
        ("console".to_string(), minijinja::Value::from("c1")),
    ]));
    let body = action
        .body
        .as_ref()
        .unwrap()
        .render(&i.mapping.env, &ctx)
        .unwrap();
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        parsed,
        json!({"groups": [{"gssi": 100001}, {"gssi": 100002}]})
    );
    let answer = json!({"groups": [{"gssi": 100001, "state": "ATTACHED"}, {"gssi": 100002, "state": "ATTACHED"}]});
    assert_eq!(
        talkgroups_at(&answer, "/groups/*/gssi", "console.attach").unwrap(),
        vec![100_001, 100_002]
    );
    assert!(talkgroups_at(&json!({"x": 1}), "/groups/*/gssi", "console.audit").is_err());
    assert_eq!(
        talkgroups_at(
            &json!({"talkgroups": [1, 2]}),
            "/talkgroups",
            "console.audit"
        )
        .unwrap(),
        vec![1, 2]
    );
}
