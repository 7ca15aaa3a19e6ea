use super::*;
use rcload_api::EventEnvelope;

/// Receives every frame queued on `rx` now, as (event type, envelope).
fn drain(rx: &mut mpsc::Receiver<Frame>) -> Vec<(String, EventEnvelope)> {
    let mut out = Vec::new();
    while let Ok(f) = rx.try_recv() {
        let text = std::str::from_utf8(&f).unwrap();
        let (event_line, rest) = text.split_once('\n').unwrap();
        let data = rest
            .strip_prefix("data: ")
            .and_then(|d| d.strip_suffix("\n\n"))
            .unwrap_or_else(|| panic!("bad frame {text:?}"));
        let env: EventEnvelope = serde_json::from_str(data).unwrap();
        let name = event_line.strip_prefix("event: ").unwrap().to_owned();
        assert_eq!(name, env.event.type_name(), "frame {text:?}");
        out.push((name, env));
    }
    out
}

fn events(rx: &mut mpsc::Receiver<Frame>) -> Vec<Event> {
    drain(rx).into_iter().map(|(_, e)| e.event).collect()
}

#[test]
fn login_logout_and_conflicts() {
    let s = MockState::new();
    let s1 = s.login("c1", "op").unwrap();
    assert_eq!(s.login("c1", "op"), Err(StateError::AlreadyLoggedIn));
    assert_eq!(s.logout("c2"), Err(StateError::NotLoggedIn));
    s.logout("c1").unwrap();
    assert_eq!(s.logout("c1"), Err(StateError::NotLoggedIn));
    let s2 = s.login("c1", "op").unwrap();
    assert_ne!(s1, s2, "sessions are unique");
    assert_eq!(s.talkgroups("nobody"), Err(StateError::NotLoggedIn));
    assert_eq!(
        s.set_talkgroups("nobody", &[1]).unwrap_err(),
        StateError::NotLoggedIn
    );
    assert_eq!(
        s.open_stream("nobody").unwrap_err(),
        StateError::NotLoggedIn
    );
}

#[test]
fn talkgroups_are_replaced_sorted_and_attached_once() {
    let s = MockState::new();
    s.login("c1", "op").unwrap();
    let mut st = s.open_stream("c1").unwrap();
    assert_eq!(
        s.set_talkgroups("c1", &[30, 10, 20, 10]).unwrap().0,
        [10, 20, 30]
    );
    assert_eq!(
        events(&mut st.rx),
        [10, 20, 30].map(|talkgroup| Event::TalkgroupAttached { talkgroup })
    );
    assert_eq!(s.set_talkgroups("c1", &[20, 40]).unwrap().0, [20, 40]);
    assert_eq!(
        events(&mut st.rx),
        [Event::TalkgroupAttached { talkgroup: 40 }]
    );
    assert_eq!(s.talkgroups("c1").unwrap(), [20, 40]);
    let inner = s.lock();
    assert!(!inner.monitors.contains_key(&10), "index pruned");
    assert_eq!(inner.monitors[&40].len(), 1);
}

#[test]
fn attached_goes_only_to_own_streams() {
    let s = MockState::new();
    s.login("a", "op").unwrap();
    s.login("b", "op").unwrap();
    s.set_talkgroups("b", &[5]).unwrap();
    let mut b = s.open_stream("b").unwrap();
    let mut a = s.open_stream("a").unwrap();
    s.set_talkgroups("a", &[5]).unwrap();
    assert_eq!(events(&mut a.rx).len(), 1);
    assert!(events(&mut b.rx).is_empty());
}

#[test]
fn fan_out_reaches_monitoring_consoles_only() {
    let s = MockState::new();
    for c in ["a", "b", "c"] {
        s.login(c, "op").unwrap();
    }
    let mut a1 = s.open_stream("a").unwrap();
    let mut a2 = s.open_stream("a").unwrap();
    let mut b = s.open_stream("b").unwrap();
    let mut c = s.open_stream("c").unwrap();
    s.set_talkgroups("a", &[100]).unwrap();
    s.set_talkgroups("b", &[100, 200]).unwrap();
    s.set_talkgroups("c", &[300]).unwrap();
    drain(&mut a1.rx);
    drain(&mut a2.rx);
    drain(&mut b.rx);
    drain(&mut c.rx);

    s.register(7, 100);
    s.status(7, 3, "r1").unwrap();
    let call = s.start_call(CallKind::Group, 100, 9, "r2").0;
    let em = s.start_call(CallKind::Emergency, 100, 9, "r3").0;
    s.end_call(&call).unwrap();
    s.affiliate(7, 200).unwrap();
    s.deregister(7).unwrap();
    let want_a = vec![
        Event::TerminalRegistered {
            issi: 7,
            talkgroup: 100,
        },
        Event::Status {
            issi: 7,
            talkgroup: 100,
            code: 3,
            reference: "r1".into(),
        },
        Event::CallStarted {
            call: call.clone(),
            kind: CallKind::Group,
            talkgroup: 100,
            caller: 9,
            reference: "r2".into(),
        },
        Event::EmergencyAlert {
            call: em.clone(),
            talkgroup: 100,
            caller: 9,
            reference: "r3".into(),
        },
        Event::CallEnded {
            call: call.clone(),
            talkgroup: 100,
        },
    ];
    let mut want_b = want_a.clone();
    want_b.push(Event::TerminalDeregistered {
        issi: 7,
        talkgroup: 200,
    });
    let got_a1 = drain(&mut a1.rx);
    assert!(got_a1.iter().all(|(_, e)| e.ts > 1_600_000_000_000));
    assert_eq!(
        got_a1.into_iter().map(|(_, e)| e.event).collect::<Vec<_>>(),
        want_a
    );
    assert_eq!(events(&mut a2.rx), want_a);
    assert_eq!(events(&mut b.rx), want_b);
    assert!(events(&mut c.rx).is_empty());
}

#[test]
fn terminal_and_call_errors() {
    let s = MockState::new();
    assert_eq!(s.deregister(1).unwrap_err(), StateError::NotRegistered);
    assert_eq!(s.affiliate(1, 2), Err(StateError::NotRegistered));
    assert_eq!(s.status(1, 2, "r").unwrap_err(), StateError::NotRegistered);
    s.register(1, 5);
    s.register(1, 6); // re-register moves it
    s.deregister(1).unwrap();
    assert_eq!(s.deregister(1).unwrap_err(), StateError::NotRegistered);
    let call = s.start_call(CallKind::Group, 5, 1, "r").0;
    assert_eq!(call, "c-1");
    for bad in [
        "c-2",
        "c-",
        "c-01",
        "x-1",
        "",
        "c-1x",
        "c-99999999999999999999999",
    ] {
        assert_eq!(
            s.end_call(bad).unwrap_err(),
            StateError::UnknownCall,
            "{bad:?}"
        );
    }
    s.end_call(&call).unwrap();
    assert_eq!(s.end_call(&call).unwrap_err(), StateError::UnknownCall);
}

#[test]
fn logout_closes_streams_and_unindexes() {
    let s = MockState::new();
    s.login("a", "op").unwrap();
    let mut st = s.open_stream("a").unwrap();
    s.set_talkgroups("a", &[1]).unwrap();
    s.logout("a").unwrap();
    drain(&mut st.rx);
    assert!(st.rx.try_recv().is_err());
    assert!(st.rx.is_closed(), "sender dropped on logout");
    assert!(s.lock().monitors.is_empty());
    // a new login does not inherit anything
    s.login("a", "op").unwrap();
    assert!(s.talkgroups("a").unwrap().is_empty());
    // closing a stream of the old login is a no-op
    s.close_stream(st.console_key, st.stream_id);
}

#[test]
fn close_stream_forgets_sender() {
    let s = MockState::new();
    s.login("a", "op").unwrap();
    let a1 = s.open_stream("a").unwrap();
    let _a2 = s.open_stream("a").unwrap();
    assert_eq!(s.stream_count("a"), 2);
    s.close_stream(a1.console_key, a1.stream_id);
    assert_eq!(s.stream_count("a"), 1);
    s.close_stream(a1.console_key, a1.stream_id);
    assert_eq!(s.stream_count("a"), 1);
}

#[test]
fn dropped_receiver_is_pruned_on_next_event() {
    let s = MockState::new();
    s.login("a", "op").unwrap();
    let st = s.open_stream("a").unwrap();
    s.set_talkgroups("a", &[1]).unwrap();
    drop(st);
    s.register(2, 1);
    assert_eq!(s.stream_count("a"), 0);
}

#[test]
fn talkgroup_sets_are_bounded() {
    let cap = Capacity {
        max_talkgroups_per_console: 2,
        ..Capacity::default()
    };
    let s = MockState::with_capacity(&cap, 1);
    assert_eq!(s.check_talkgroup_count(&[1, 2, 2, 1]), Ok(()));
    assert_eq!(
        s.check_talkgroup_count(&[1, 2, 3]),
        Err(TooManyTalkgroups { limit: 2, got: 3 })
    );
    assert_eq!(MockState::new().check_talkgroup_count(&[7; 5_000]), Ok(()));
}

/// A state with small stream queues and the given overflow policy.
fn small(buffer: u32, overflow: Overflow) -> MockState {
    let cap = Capacity {
        event_buffer: buffer,
        on_overflow: overflow,
        ..Capacity::default()
    };
    MockState::with_capacity(&cap, 1)
}

/// Receives every frame on the control lane now, as events.
fn control(rx: &mut mpsc::UnboundedReceiver<Control>) -> Vec<(Event, bool)> {
    let mut out = Vec::new();
    while let Ok(c) = rx.try_recv() {
        let text = std::str::from_utf8(&c.frame).unwrap();
        let data = text.split_once("\ndata: ").unwrap().1.trim_end();
        let env: EventEnvelope = serde_json::from_str(data).unwrap();
        out.push((env.event, c.close));
    }
    out
}

#[test]
fn healthy_default_never_queues_and_buffers_65536() {
    let s = MockState::new();
    assert!(!s.queues());
    s.login("a", "op").unwrap();
    let st = s.open_stream("a").unwrap();
    assert_eq!(st.rx.max_capacity(), 65_536);
    assert_eq!(st.drain_rate, None);
}

#[test]
fn overflow_kick_bypasses_the_queue_and_closes() {
    let s = small(3, Overflow::Kick);
    s.login("a", "op").unwrap();
    s.login("b", "op").unwrap();
    let mut a = s.open_stream("a").unwrap();
    let mut b = s.open_stream("b").unwrap();
    s.set_talkgroups("a", &[1]).unwrap(); // 1 queued on a
    s.set_talkgroups("b", &[1]).unwrap();
    assert_eq!(s.register(1, 1).len(), 0);
    assert_eq!(s.register(2, 1).len(), 0);
    drain(&mut b.rx); // b keeps up, a does not
    assert_eq!(s.register(3, 1).len(), 0);
    // a: attached + 2 registrations fill it; the third overflows
    assert_eq!(s.stream_count("a"), 0, "a kicked");
    assert_eq!(s.stream_count("b"), 1, "b had room");
    assert_eq!(
        control(&mut a.control),
        [(
            Event::ConsoleKicked {
                reason: "slow_consumer".into()
            },
            true
        )]
    );
    assert_eq!(drain(&mut a.rx).len(), 3);
    assert!(a.rx.is_closed());
    assert!(control(&mut b.control).is_empty());
    assert_eq!(
        s.talkgroups("a").unwrap(),
        [1],
        "still logged in and attached"
    );
    let m = s.model_stats();
    assert_eq!(m.counters.kicks_slow_consumer, 1);
    assert_eq!(m.counters.overflow_dropped, 1);
    assert_eq!(
        m.counters.fanned_out,
        2 + 2 + 2 + 1,
        "attached x2, 2 x2, then b"
    );
    assert_eq!(m.streams, 1);
    assert_eq!((m.queued_max, m.queued_sum), (1, 1));
    drain(&mut b.rx);
    assert_eq!(s.model_stats().queued_sum, 0);
}

#[test]
fn overflow_drop_talkgroups_drops_the_events_talkgroup() {
    let s = small(2, Overflow::DropTalkgroups);
    s.login("a", "op").unwrap();
    let mut a = s.open_stream("a").unwrap();
    s.set_talkgroups("a", &[1, 2]).unwrap(); // fills the queue
    s.register(7, 2); // overflows: talkgroup 2 dropped, event lost
    assert_eq!(s.talkgroups("a").unwrap(), [1]);
    assert_eq!(
        control(&mut a.control),
        [(
            Event::TalkgroupDropped {
                talkgroup: 2,
                reason: "slow_consumer".into()
            },
            false
        )]
    );
    assert_eq!(s.stream_count("a"), 1, "the stream stays open");
    assert!(!s.lock().monitors.contains_key(&2), "index pruned");
    // once there is room, talkgroup 1 still flows; 2 no longer does
    drain(&mut a.rx);
    s.register(8, 2);
    s.register(9, 1);
    assert_eq!(
        events(&mut a.rx),
        [Event::TerminalRegistered {
            issi: 9,
            talkgroup: 1
        }]
    );
    let c = s.model_stats().counters;
    assert_eq!((c.drops_slow_consumer, c.overflow_dropped), (1, 1));
}

#[tokio::test]
async fn overflow_delay_waits_for_room() {
    let s = small(1, Overflow::Delay);
    s.login("a", "op").unwrap();
    let mut a = s.open_stream("a").unwrap();
    s.set_talkgroups("a", &[1]).unwrap(); // fills the queue
    let pending = s.register(7, 1);
    assert_eq!(pending.len(), 1);
    assert_eq!(s.stream_count("a"), 1);
    let send = tokio::spawn(pending.deliver());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(!send.is_finished(), "waits while the queue is full");
    assert_eq!(events(&mut a.rx).len(), 1); // room for one
    tokio::time::timeout(std::time::Duration::from_secs(5), send)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        events(&mut a.rx),
        [Event::TerminalRegistered {
            issi: 7,
            talkgroup: 1
        }]
    );
    assert_eq!(s.model_stats().counters.overflow_dropped, 0);
}

#[test]
fn work_counts_receivers_and_terminals() {
    let s = MockState::new();
    for c in ["a", "b"] {
        s.login(c, "op").unwrap();
    }
    let _a1 = s.open_stream("a").unwrap();
    let _a2 = s.open_stream("a").unwrap();
    let _b = s.open_stream("b").unwrap();
    s.set_talkgroups("a", &[1, 2]).unwrap();
    s.set_talkgroups("b", &[1]).unwrap();
    let ev = |n| Work {
        events: n,
        terminals: 0,
    };
    assert_eq!(s.work(Cost::Talkgroup(1)), ev(3));
    assert_eq!(s.work(Cost::Talkgroup(2)), ev(2));
    assert_eq!(s.work(Cost::Talkgroup(3)), ev(0));
    assert_eq!(s.work(Cost::Terminal(5)), ev(0), "not registered");
    s.register(5, 2);
    s.register(6, 2);
    s.register(7, 3);
    assert_eq!(s.work(Cost::Terminal(5)), ev(2));
    s.affiliate(6, 3).unwrap();
    s.register(7, 1); // moves 7 from 3 to 1
    let call = s.start_call(CallKind::Group, 1, 5, "r").0;
    assert_eq!(s.work(Cost::Call(&call)), ev(3));
    assert_eq!(s.work(Cost::Call("c-99")), ev(0));
    // attach: new talkgroups x own streams; terminals on every talkgroup of the set
    assert_eq!(
        s.work(Cost::Attach("a", &[1, 3, 4, 3])),
        Work {
            events: 2 * 2,
            terminals: 1 + 1
        }
    );
    assert_eq!(s.work(Cost::Attach("b", &[2])).terminals, 1);
    s.deregister(5).unwrap();
    assert_eq!(s.work(Cost::Attach("b", &[2])).terminals, 0);
    assert!(!s.lock().on_talkgroup.contains_key(&2), "no zero entries");
    assert_eq!(s.work(Cost::Attach("nobody", &[1])).events, 0);
    assert_eq!(s.work(Cost::Nothing), Work::default());
}

#[test]
fn shutdown_closes_and_refuses_streams() {
    let s = MockState::new();
    s.login("a", "op").unwrap();
    let st = s.open_stream("a").unwrap();
    let sig = s.shutdown_signal();
    assert!(!*sig.borrow());
    s.shutdown();
    assert!(*sig.borrow());
    assert!(st.rx.is_closed());
    let late = s.open_stream("a").unwrap();
    assert!(late.rx.is_closed());
    assert_eq!(s.stream_count("a"), 0);
}

#[test]
fn fault_drop_and_silent_drop_remove_the_talkgroup() {
    let s = MockState::new();
    s.login("a", "op").unwrap();
    s.login("b", "op").unwrap();
    let mut a = s.open_stream("a").unwrap();
    s.set_talkgroups("a", &[1, 2, 3]).unwrap();
    s.set_talkgroups("b", &[1]).unwrap();
    drain(&mut a.rx);
    assert!(s.fault_talkgroup("a", 1, TalkgroupFault::Drop));
    assert_eq!(
        events(&mut a.rx),
        [Event::TalkgroupDropped {
            talkgroup: 1,
            reason: "fault".into()
        }]
    );
    assert!(s.fault_talkgroup("a", 2, TalkgroupFault::SilentDrop));
    assert!(events(&mut a.rx).is_empty());
    assert_eq!(s.talkgroups("a").unwrap(), [3]);
    assert!(
        !s.fault_talkgroup("a", 1, TalkgroupFault::Drop),
        "already gone"
    );
    assert!(!s.fault_talkgroup("nobody", 1, TalkgroupFault::Drop));
    // b still gets talkgroup 1, a no longer does
    s.register(7, 1);
    assert!(events(&mut a.rx).is_empty());
    assert_eq!(s.lock().monitors[&1].len(), 1);
    assert!(!s.lock().monitors.contains_key(&2), "index pruned");
}

#[test]
fn fault_blackhole_until_reattached() {
    let s = MockState::new();
    s.login("a", "op").unwrap();
    let mut a = s.open_stream("a").unwrap();
    s.set_talkgroups("a", &[1, 2]).unwrap();
    drain(&mut a.rx);
    assert!(s.fault_talkgroup("a", 1, TalkgroupFault::Blackhole));
    assert!(
        !s.fault_talkgroup("a", 1, TalkgroupFault::Blackhole),
        "already"
    );
    assert_eq!(s.talkgroups("a").unwrap(), [1, 2], "still listed");
    s.register(7, 1);
    s.register(8, 2);
    assert_eq!(
        events(&mut a.rx),
        [Event::TerminalRegistered {
            issi: 8,
            talkgroup: 2
        }]
    );
    // a PUT whose set includes it is a fresh subscription (no attached event: not new)
    s.set_talkgroups("a", &[1, 2]).unwrap();
    assert!(events(&mut a.rx).is_empty());
    s.register(7, 1);
    assert_eq!(events(&mut a.rx).len(), 1);
    // logout forgets it
    assert!(s.fault_talkgroup("a", 2, TalkgroupFault::Blackhole));
    s.logout("a").unwrap();
    s.login("a", "op").unwrap();
    let mut a = s.open_stream("a").unwrap();
    s.set_talkgroups("a", &[2]).unwrap();
    drain(&mut a.rx);
    s.register(8, 2);
    assert_eq!(events(&mut a.rx).len(), 1);
}

#[test]
fn fault_kick_closes_streams_but_keeps_login() {
    let s = MockState::new();
    s.login("a", "op").unwrap();
    let mut a1 = s.open_stream("a").unwrap();
    let mut a2 = s.open_stream("a").unwrap();
    s.set_talkgroups("a", &[1]).unwrap();
    drain(&mut a1.rx);
    drain(&mut a2.rx);
    assert!(s.kick("a", "fault"));
    for st in [&mut a1, &mut a2] {
        assert_eq!(
            events(&mut st.rx),
            [Event::ConsoleKicked {
                reason: "fault".into()
            }]
        );
        assert!(st.rx.is_closed());
    }
    assert_eq!(s.stream_count("a"), 0);
    assert_eq!(s.talkgroups("a").unwrap(), [1], "still logged in");
    let mut a3 = s.open_stream("a").unwrap();
    s.register(5, 1);
    assert_eq!(events(&mut a3.rx).len(), 1);
    assert!(!s.kick("nobody", "fault"));
    assert_eq!(s.fault_candidates(), [("a".to_owned(), vec![1])]);
}

#[test]
fn frames_are_sse_shaped() {
    let f = encode(
        Event::CallEnded {
            call: "c-1".into(),
            talkgroup: 9,
        },
        42,
    )
    .unwrap();
    assert_eq!(
        std::str::from_utf8(&f).unwrap(),
        "event: call.ended\ndata: {\"type\":\"call.ended\",\"call\":\"c-1\",\"talkgroup\":9,\"ts\":42}\n\n"
    );
}
