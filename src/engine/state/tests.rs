//! Scenarios of the engine's world state on virtual time: logins, attaches, drops found three
//! ways, re-attaches, audits that cross an attach, kicks and reconnects, old sessions. No
//! network, no clock: each step is a method call with the time it happens at.

use super::*;
use crate::detect::DetectedBy;
use crate::profile;
use rcload_api::CallKind;

const S: u64 = 1_000_000;
const TIMEOUT_US: u64 = 2 * S;
const MISSED_FOR_DROP: u32 = 3;

/// One room, two consoles that both monitor both talkgroups, four terminals.
fn world() -> World {
    let pop = Population::new(
        &profile::Population {
            fleet: None,
            like: None,
            control_rooms: 1,
            consoles_per_room: 2,
            terminals: 4,
            talkgroups_per_room: 2,
            monitored_per_console: 2,
        },
        7,
    );
    World::new(pop, TIMEOUT_US, MISSED_FOR_DROP, true)
}

struct Scenario {
    w: World,
    seq: u64,
    /// Every finding so far, in order.
    findings: Vec<Finding>,
    reattach: Vec<(u32, u64)>,
}

impl Scenario {
    fn new() -> Self {
        Scenario {
            w: world(),
            seq: 0,
            findings: Vec::new(),
            reattach: Vec::new(),
        }
    }

    fn take(&mut self, fx: Effects) {
        for o in fx.outcomes {
            if let Outcome::Finding(f) = o {
                self.findings.push(f);
            }
        }
        self.reattach.extend(fx.reattach);
    }

    fn prepare(
        &mut self,
        at_us: u64,
        kind: ActionKind,
    ) -> Result<(Request, Completion), SkipReason> {
        self.seq += 1;
        let action = Action {
            at_us,
            seq: self.seq,
            phase: 0,
            kind,
        };
        let mut fx = Effects::default();
        let r = self.w.prepare(&action, &mut fx);
        self.take(fx);
        r
    }

    fn complete(&mut self, done: &Completion, result: Result<Reply, TargetError>, at_us: u64) {
        let mut fx = Effects::default();
        self.w.complete(done, &result, at_us, &mut fx);
        self.take(fx);
    }

    /// Console `c` logs in, opens its stream and attaches: ready. Returns its session epoch.
    fn login(&mut self, c: u32, at_us: u64) -> u64 {
        let (_, done) = self
            .prepare(
                at_us,
                ActionKind::Login {
                    console: c,
                    shift: 0,
                },
            )
            .expect("login");
        self.complete(&done, Ok(Reply::Done), at_us);
        let epoch = self.w.consoles[c as usize].epoch;
        let mut fx = Effects::default();
        self.w.session_ready(c, epoch, at_us, &mut fx);
        self.take(fx);
        epoch
    }

    /// `terminal` registers on `talkgroup`, and every console that should see the
    /// `terminal.registered` gets it.
    fn register(&mut self, terminal: u32, talkgroup: u32, at_us: u64) {
        let (_, done) = self
            .prepare(
                at_us,
                ActionKind::Register {
                    terminal,
                    talkgroup,
                },
            )
            .expect("register");
        self.complete(&done, Ok(Reply::Done), at_us);
        let issi = self.w.pop.issi(terminal);
        for c in 0..self.w.pop.console_count() {
            self.receive(Key::Registered(issi), c, at_us + 1_000);
        }
    }

    /// A status of `terminal`: the consoles it is expected at.
    fn status(&mut self, terminal: u32, at_us: u64) -> u64 {
        let (_, _) = self
            .prepare(at_us, ActionKind::Status { terminal, code: 7 })
            .expect("status");
        self.seq
    }

    fn receive(&mut self, key: Key, console: u32, at_us: u64) {
        let r = self.w.deliveries.receive(&key, console, at_us);
        let mut fx = Effects::default();
        self.w.resolve(r.into_iter().collect(), &mut fx);
        self.take(fx);
    }

    fn expire(&mut self, now_us: u64) {
        let r = self.w.deliveries.expire(now_us);
        let mut fx = Effects::default();
        self.w.resolve(r, &mut fx);
        self.take(fx);
    }

    fn drops(&self) -> Vec<(u32, u32, DetectedBy)> {
        self.findings
            .iter()
            .filter_map(|f| match f {
                Finding::TalkgroupDrop {
                    console,
                    talkgroup,
                    detected_by,
                    ..
                } => Some((*console, *talkgroup, *detected_by)),
                _ => None,
            })
            .collect()
    }

    fn recoveries(&self) -> Vec<(u32, Option<u32>, u64)> {
        self.findings
            .iter()
            .filter_map(|f| match f {
                Finding::Recovered {
                    console,
                    talkgroup,
                    after_us,
                    ..
                } => Some((*console, *talkgroup, *after_us)),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn a_console_logs_in_becomes_ready_and_logs_out() {
    let mut s = Scenario::new();
    let (req, done) = s
        .prepare(
            0,
            ActionKind::Login {
                console: 0,
                shift: 0,
            },
        )
        .expect("login");
    assert!(matches!(req, Request::Login { .. }));
    assert_eq!(s.w.consoles[0].phase, ConsolePhase::LoggingIn);
    assert_eq!(
        s.prepare(
            0,
            ActionKind::Login {
                console: 0,
                shift: 0
            }
        )
        .map(|_| ()),
        Err(SkipReason::ConsoleBusy)
    );
    s.complete(&done, Ok(Reply::Done), S);
    assert_eq!(s.w.consoles[0].phase, ConsolePhase::On { ready: false });
    // Not attached yet: an audit waits.
    assert_eq!(
        s.prepare(S, ActionKind::Audit { console: 0 }).map(|_| ()),
        Err(SkipReason::ConsoleNotReady)
    );
    let epoch = s.w.consoles[0].epoch;
    let mut fx = Effects::default();
    s.w.session_ready(0, epoch, S, &mut fx);
    assert_eq!(s.w.consoles[0].phase, ConsolePhase::On { ready: true });
    assert_eq!(s.w.population_now(), (1, 0));

    let (_, out) = s
        .prepare(2 * S, ActionKind::Logout { console: 0 })
        .expect("logout");
    assert_eq!(s.w.consoles[0].phase, ConsolePhase::LoggingOut);
    s.complete(&out, Ok(Reply::Done), 2 * S);
    assert_eq!(s.w.consoles[0].phase, ConsolePhase::Off);
    assert_eq!(s.w.population_now(), (0, 0));
    assert_eq!(
        s.prepare(3 * S, ActionKind::Audit { console: 0 })
            .map(|_| ()),
        Err(SkipReason::ConsoleNotLoggedIn)
    );
    assert!(s.findings.is_empty(), "{:?}", s.findings);
}

#[test]
fn a_failed_login_leaves_the_console_off() {
    let mut s = Scenario::new();
    let (_, done) = s
        .prepare(
            0,
            ActionKind::Login {
                console: 1,
                shift: 0,
            },
        )
        .expect("login");
    s.complete(&done, Err(TargetError::Timeout), S);
    assert_eq!(s.w.consoles[1].phase, ConsolePhase::Off);
    assert!(
        s.prepare(
            2 * S,
            ActionKind::Login {
                console: 1,
                shift: 1
            }
        )
        .is_ok()
    );
}

#[test]
fn statuses_are_expected_at_the_ready_consoles_that_monitor_the_talkgroup() {
    let mut s = Scenario::new();
    let tg = s.w.pop.gssi_of_index(0);
    s.login(0, 0);
    assert_eq!(
        s.prepare(
            S,
            ActionKind::Status {
                terminal: 2,
                code: 7
            }
        )
        .map(|_| ()),
        Err(SkipReason::TerminalNotRegistered)
    );
    s.register(2, tg, S);
    let seq = s.status(2, 2 * S);
    // Console 1 is not logged in: only console 0 is expected to get it.
    s.receive(Key::Ref(seq), 0, 2 * S + 40_000);
    s.receive(Key::Ref(seq), 1, 2 * S + 50_000);
    assert_eq!(s.w.deliveries.pending(), 0);
    s.expire(10 * S);
    assert!(s.findings.is_empty(), "{:?}", s.findings);
}

#[test]
fn an_announced_drop_is_found_once_reattached_and_recovered() {
    let mut s = Scenario::new();
    let tg = s.w.pop.gssi_of_index(0);
    let e0 = s.login(0, 0);
    s.login(1, 0);
    let mut fx = Effects::default();
    s.w.announced_drop(0, e0, tg, 5 * S, &mut fx);
    s.take(fx);
    assert_eq!(s.drops(), [(0, tg, DetectedBy::Announced)]);
    assert_eq!(s.reattach, [(0, e0)]);
    // The same drop announced again is not a second one.
    let mut fx = Effects::default();
    s.w.announced_drop(0, e0, tg, 5 * S + 1, &mut fx);
    s.take(fx);
    assert_eq!(s.drops().len(), 1);
    // While dropped, a status on it is expected at console 1 only.
    s.register(0, tg, 5 * S);
    let seq = s.status(0, 5 * S);
    s.receive(Key::Ref(seq), 1, 5 * S + 10_000);
    assert_eq!(s.w.deliveries.pending(), 0, "nothing expected at console 0");
    // The re-attach repairs it: recovered one second after it was found.
    let (id, tgs) = s.w.reattach_begin(0, e0).expect("re-attach runs");
    assert_eq!(id, s.w.pop.console_id(0));
    assert!(tgs.contains(&tg));
    assert_eq!(s.w.reattach_begin(0, e0), None, "one re-attach at a time");
    let mut fx = Effects::default();
    s.w.reattach_end(0, e0, true, 6 * S, &mut fx);
    s.take(fx);
    assert_eq!(s.recoveries(), [(0, Some(tg), S)]);
    // A `talkgroup.dropped` sent before the re-attach but read after it is the same drop.
    let mut fx = Effects::default();
    s.w.announced_drop(0, e0, tg, 6 * S + 500_000, &mut fx);
    s.take(fx);
    assert_eq!(s.drops().len(), 1, "{:?}", s.findings);
}

#[test]
fn an_audit_finds_a_missing_talkgroup_but_not_when_it_crossed_an_attach() {
    let mut s = Scenario::new();
    let e0 = s.login(0, 0);
    let monitored = s.w.pop.monitored(0);
    let missing = monitored[1];
    let listed_without = vec![monitored[0]];

    // An audit sent, then a re-attach, then its answer: it tells nothing.
    let (_, stale) = s
        .prepare(S, ActionKind::Audit { console: 0 })
        .expect("audit");
    s.w.reattach_begin(0, e0).expect("re-attach");
    assert_eq!(
        s.prepare(S, ActionKind::Audit { console: 0 }).map(|_| ()),
        Err(SkipReason::ConsoleNotReady),
        "audits wait for a re-attach"
    );
    let mut fx = Effects::default();
    s.w.reattach_end(0, e0, true, 2 * S, &mut fx);
    s.take(fx);
    s.complete(&stale, Ok(Reply::Talkgroups(listed_without.clone())), 2 * S);
    assert!(s.drops().is_empty(), "{:?}", s.findings);

    // A fresh audit that lacks it: a drop found by the audit, and a re-attach asked for.
    let (_, fresh) = s
        .prepare(3 * S, ActionKind::Audit { console: 0 })
        .expect("audit");
    s.complete(&fresh, Ok(Reply::Talkgroups(listed_without)), 3 * S);
    assert_eq!(s.drops(), [(0, missing, DetectedBy::Audit)]);
    assert_eq!(s.reattach, [(0, e0)]);
    // The next audit does not expect the dropped talkgroup, so finds nothing new.
    let mut fx = Effects::default();
    s.w.reattach_begin(0, e0).expect("re-attach");
    s.w.reattach_end(0, e0, false, 4 * S, &mut fx);
    s.take(fx);
    let (_, again) = s
        .prepare(5 * S, ActionKind::Audit { console: 0 })
        .expect("audit");
    if let Completion::Audit { expected, .. } = &again {
        assert!(!expected.contains(&missing), "{expected:?}");
    }
    s.complete(&again, Ok(Reply::Talkgroups(vec![monitored[0]])), 5 * S);
    assert_eq!(s.drops().len(), 1);
    assert!(
        s.recoveries().is_empty(),
        "a failed re-attach recovers nothing"
    );
}

#[test]
fn missed_deliveries_add_up_to_a_drop_and_a_delivery_breaks_the_run() {
    let mut s = Scenario::new();
    let tg = s.w.pop.gssi_of_index(1);
    s.login(0, 0);
    s.register(3, tg, 0);
    // miss, miss, delivered, miss, miss: never three in a row.
    let a = s.status(3, S);
    let b = s.status(3, 2 * S);
    s.expire(5 * S);
    let c = s.status(3, 6 * S);
    s.receive(Key::Ref(c), 0, 6 * S + 1_000);
    let d = s.status(3, 7 * S);
    let e = s.status(3, 8 * S);
    s.expire(11 * S);
    assert!(s.drops().is_empty(), "{:?} ({a} {b} {d} {e})", s.findings);
    // A third miss in a row makes it a drop, found by delivery.
    s.status(3, 12 * S);
    s.expire(15 * S);
    assert_eq!(s.drops(), [(0, tg, DetectedBy::Delivery)]);
    // Dropped: nothing more is expected there, so no more misses pile up.
    s.status(3, 16 * S);
    assert_eq!(s.w.deliveries.pending(), 0);
}

#[test]
fn a_kick_is_a_disconnect_that_recovers_at_reconnect() {
    let mut s = Scenario::new();
    let tg = s.w.pop.gssi_of_index(0);
    let e0 = s.login(0, 0);
    s.register(1, tg, 0);
    let mut fx = Effects::default();
    s.w.stream_lost(0, e0, "kicked: slow_consumer", 2 * S, None, &mut fx);
    s.take(fx);
    assert!(matches!(
        s.findings.as_slice(),
        [Finding::ConsoleDisconnect { console: 0, reason, at_us, .. }]
            if reason == "kicked: slow_consumer" && *at_us == 2 * S
    ));
    assert_eq!(s.w.consoles[0].phase, ConsolePhase::On { ready: false });
    // Not ready: nothing expected at it, and a second loss is the same disconnect.
    s.status(1, 2 * S);
    assert_eq!(s.w.deliveries.pending(), 0);
    let mut fx = Effects::default();
    s.w.stream_lost(0, e0, "stream_end", 2 * S + 1, None, &mut fx);
    s.take(fx);
    assert_eq!(s.findings.len(), 1);
    // The client reconnects and re-attaches: recovered after 1.5 s.
    let mut fx = Effects::default();
    s.w.session_ready(0, e0, 3 * S + 500_000, &mut fx);
    s.take(fx);
    assert_eq!(s.recoveries(), [(0, None, 1_500_000)]);
    assert_eq!(s.w.consoles[0].phase, ConsolePhase::On { ready: true });
}

#[test]
fn an_old_sessions_events_change_nothing() {
    let mut s = Scenario::new();
    let tg = s.w.pop.gssi_of_index(0);
    let old = s.login(0, 0);
    let (_, out) = s
        .prepare(S, ActionKind::Logout { console: 0 })
        .expect("logout");
    s.complete(&out, Ok(Reply::Done), S);
    let new = s.login(0, 2 * S);
    assert_ne!(old, new);
    let mut fx = Effects::default();
    s.w.announced_drop(0, old, tg, 3 * S, &mut fx);
    s.w.stream_lost(0, old, "stream_end", 3 * S, None, &mut fx);
    s.take(fx);
    assert!(s.findings.is_empty(), "{:?}", s.findings);
    assert_eq!(s.w.reattach_begin(0, old), None);
    assert!(s.w.in_session(0, new));
}

#[test]
fn what_a_run_leaves_open_is_ended_calls_first_consoles_last() {
    let mut s = Scenario::new();
    let tg = s.w.pop.gssi_of_index(0);
    assert!(s.w.leftovers().is_empty(), "nothing yet");
    s.login(1, 0);
    s.login(0, 0);
    s.register(3, tg, S);
    s.register(0, tg, S);
    let (_, started) = s
        .prepare(
            2 * S,
            ActionKind::CallStart {
                call: 9,
                kind: CallKind::Group,
                caller: 0,
                talkgroup: tg,
                probe: false,
            },
        )
        .expect("call");
    s.complete(&started, Ok(Reply::Call("c-9".into())), 2 * S);
    // A call still starting and a terminal with a request in flight are not known to be open.
    s.prepare(
        3 * S,
        ActionKind::CallStart {
            call: 10,
            kind: CallKind::Group,
            caller: 0,
            talkgroup: tg,
            probe: false,
        },
    )
    .expect("call");
    s.prepare(
        3 * S,
        ActionKind::Register {
            terminal: 2,
            talkgroup: tg,
        },
    )
    .expect("register");
    assert_eq!(
        s.w.leftovers(),
        [
            ActionKind::CallEnd {
                call: 9,
                probe: false
            },
            ActionKind::Deregister { terminal: 0 },
            ActionKind::Deregister { terminal: 3 },
            ActionKind::Logout { console: 0 },
            ActionKind::Logout { console: 1 },
        ]
    );
    // Ending them empties the list.
    for kind in s.w.leftovers() {
        let (_, done) = s.prepare(4 * S, kind).expect("an action that ends");
        s.complete(&done, Ok(Reply::Done), 4 * S);
    }
    assert!(s.w.leftovers().is_empty(), "{:?}", s.w.leftovers());
}
