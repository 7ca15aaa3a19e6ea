//! The engine's own view of every entity, and what each action needs of it.
//!
//! An action whose entity is not in the state it needs (by this view) is skipped with a reason
//! rather than sent. No I/O: the engine holds it behind one mutex and carries out the
//! [`Effects`] its methods return (outcomes to emit, re-attaches to start).

use super::deliveries::{Deliveries, Expected, Key, Resolved};
use super::outcome::{Delivery, Outcome, SkipReason};
use crate::detect::{Detector, Finding};
use crate::schedule::{Action, ActionKind, Population, Shard};
use crate::targets::{Reply, Request, TargetError};
use rcload_api::reference::parse_reference;
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsolePhase {
    Off,
    LoggingIn,
    /// Logged in; `ready` while its stream is open and its talkgroups attached.
    On {
        ready: bool,
    },
    LoggingOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    Off,
    /// A request for it is in flight.
    Busy,
    On {
        talkgroup: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Starting,
    Active {
        id: String,
        talkgroup: u32,
    },
    /// Another shard's call, started by action `seq`: its id once a console here saw it
    /// start (`call.started` or `emergency.alert`).
    Foreign {
        seq: u64,
        talkgroup: u32,
        id: Option<String>,
    },
}

#[derive(Debug)]
pub struct ConsoleState {
    pub phase: ConsolePhase,
    /// Bumped at every login, so a task of an earlier session cannot change a later one.
    pub epoch: u64,
    /// The session task (stream reader and reconnects); aborted at logout and at the end.
    pub task: Option<tokio::task::AbortHandle>,
    /// Talkgroups known to be dropped: nothing is expected on them until re-attached.
    pub detached: BTreeSet<u32>,
    /// A re-attach is in flight (audits wait).
    pub reattaching: bool,
    /// Bumped at every attach; an audit answered after a newer attach is stale.
    pub attached_gen: u64,
}

/// What to do with the state when a request completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Login {
        console: u32,
        epoch: u64,
    },
    Logout {
        console: u32,
    },
    Register {
        terminal: u32,
        talkgroup: u32,
    },
    Deregister {
        terminal: u32,
        previous: u32,
    },
    Affiliate {
        terminal: u32,
        talkgroup: u32,
        previous: u32,
    },
    Status,
    CallStart {
        call: u64,
        talkgroup: u32,
    },
    CallEnd {
        call: u64,
    },
    Audit {
        console: u32,
        epoch: u64,
        attached_gen: u64,
        expected: Vec<u32>,
    },
}

/// What the engine must do after a state change.
#[derive(Debug, Default)]
pub struct Effects {
    pub outcomes: Vec<Outcome>,
    /// Consoles (with their session epoch) whose talkgroups must be attached again.
    pub reattach: Vec<(u32, u64)>,
}

/// Everything the engine knows about the run in progress.
#[derive(Debug)]
pub struct World {
    pub pop: Population,
    pub consoles: Vec<ConsoleState>,
    pub terminals: Vec<Term>,
    calls: HashMap<u64, Call>,
    /// For every talkgroup index, the consoles that monitor it.
    monitors: Vec<Vec<u32>>,
    pub deliveries: Deliveries,
    pub detector: Detector,
    reattach: bool,
    /// The shard this process runs: other shards' entities are modelled, never sent for.
    shard: Shard,
    /// Other shards' calls by the `seq` of their start, to learn their ids.
    foreign_calls: HashMap<u64, u64>,
}

/// How long a sharded run keeps an event that came before it was expected: the other
/// shards' clocks may run this far ahead (the merge warns about more than 5 ms).
const EARLY_KEEP_US: u64 = 2_000_000;

/// The least time after a re-attach in which a `talkgroup.dropped` not yet followed by its
/// `talkgroup.attached` is taken as old (`Detector::with_stale_window`).
const STALE_WINDOW_MIN_US: u64 = 30_000_000;

/// The key under which a request's expected deliveries are kept, if it causes any.
pub fn delivery_key(request: &Request) -> Option<Key> {
    match request {
        Request::Status { reference, .. } | Request::CallStart { reference, .. } => {
            parse_reference(reference).map(Key::Ref)
        }
        Request::Register { issi, .. } => Some(Key::Registered(*issi)),
        Request::Deregister { issi } => Some(Key::Deregistered(*issi)),
        Request::CallEnd { call } => Some(Key::Ended(call.clone())),
        _ => None,
    }
}

impl World {
    pub fn new(
        pop: Population,
        delivery_timeout_us: u64,
        missed_for_drop: u32,
        reattach: bool,
    ) -> Self {
        let monitors = pop.monitors_by_talkgroup();
        World {
            consoles: (0..pop.console_count())
                .map(|_| ConsoleState {
                    phase: ConsolePhase::Off,
                    epoch: 0,
                    task: None,
                    detached: BTreeSet::new(),
                    reattaching: false,
                    attached_gen: 0,
                })
                .collect(),
            terminals: vec![Term::Off; pop.terminals as usize],
            calls: HashMap::new(),
            monitors,
            deliveries: Deliveries::new(delivery_timeout_us),
            // A slow console's stream can lag by many seconds: an old `talkgroup.dropped` still
            // comes before the re-attach's `talkgroup.attached`, so the window is only for
            // re-attaches that send none (the talkgroup never left the system's set).
            detector: Detector::new(missed_for_drop).with_stale_window(
                (delivery_timeout_us.saturating_mul(4)).max(STALE_WINDOW_MIN_US),
            ),
            reattach,
            pop,
            shard: Shard::WHOLE,
            foreign_calls: HashMap::new(),
        }
    }

    /// Run shard `shard` of a sharded run.
    pub fn with_shard(mut self, shard: Shard) -> Self {
        self.shard = shard;
        if !shard.is_whole() {
            let keep_us = self.deliveries.timeout_us().min(EARLY_KEEP_US);
            let d = std::mem::replace(&mut self.deliveries, Deliveries::new(0));
            self.deliveries = d.with_early(keep_us);
        }
        self
    }

    /// Consoles that should get an event on `talkgroup` now: logged in, stream open,
    /// talkgroups attached, and this talkgroup not known dropped.
    fn receivers(&self, talkgroup: u32) -> Vec<u32> {
        let Some(i) = self.pop.talkgroup_index(talkgroup) else {
            return Vec::new();
        };
        self.monitors[i as usize]
            .iter()
            .copied()
            .filter(|c| {
                let s = &self.consoles[*c as usize];
                s.phase == ConsolePhase::On { ready: true } && !s.detached.contains(&talkgroup)
            })
            .collect()
    }

    fn expect_delivery(
        &mut self,
        key: Key,
        event: Delivery,
        action: &Action,
        talkgroup: u32,
        fx: &mut Effects,
    ) {
        let to = self.receivers(talkgroup);
        let what = Expected {
            event,
            phase: action.phase,
            intended_us: action.at_us,
            talkgroup,
            probe: action.kind.is_probe(),
        };
        let old = self.deliveries.add(key, what, to);
        self.resolve(old, fx);
    }

    fn term(&self, t: u32) -> Term {
        self.terminals.get(t as usize).copied().unwrap_or(Term::Off)
    }

    /// An action the target does not offer is skipped: forget what it would have ended, so a
    /// long run does not keep every call it could not end.
    pub fn unsupported(&mut self, action: &Action) {
        if let ActionKind::CallEnd { call, .. } = &action.kind {
            self.calls.remove(call);
        }
    }

    fn registered(&self, terminal: u32) -> Result<u32, SkipReason> {
        match self.term(terminal) {
            Term::On { talkgroup } => Ok(talkgroup),
            Term::Busy => Err(SkipReason::TerminalBusy),
            Term::Off => Err(SkipReason::TerminalNotRegistered),
        }
    }

    /// Apply a request's result to the state.
    pub fn complete(
        &mut self,
        done: &Completion,
        result: &Result<Reply, TargetError>,
        now_us: u64,
        fx: &mut Effects,
    ) {
        let ok = result.is_ok();
        match done {
            Completion::Login { console, epoch } => {
                let c = &mut self.consoles[*console as usize];
                if c.epoch == *epoch && c.phase == ConsolePhase::LoggingIn {
                    c.phase = if ok {
                        ConsolePhase::On { ready: false }
                    } else {
                        ConsolePhase::Off
                    };
                }
            }
            Completion::Logout { console } => {
                let c = &mut self.consoles[*console as usize];
                c.phase = ConsolePhase::Off;
                if let Some(h) = c.task.take() {
                    h.abort();
                }
            }
            Completion::Register {
                terminal,
                talkgroup,
            } => {
                self.terminals[*terminal as usize] = if ok {
                    Term::On {
                        talkgroup: *talkgroup,
                    }
                } else {
                    Term::Off
                };
            }
            Completion::Deregister { terminal, previous } => {
                // Failed for another reason than "not registered": the system still has it.
                let gone = match result {
                    Ok(_) => true,
                    Err(e) => e.code() == Some(rcload_api::codes::NOT_REGISTERED),
                };
                self.terminals[*terminal as usize] = if gone {
                    Term::Off
                } else {
                    Term::On {
                        talkgroup: *previous,
                    }
                };
            }
            Completion::Affiliate {
                terminal,
                talkgroup,
                previous,
            } => {
                self.terminals[*terminal as usize] = Term::On {
                    talkgroup: if ok { *talkgroup } else { *previous },
                };
            }
            Completion::Status => {}
            Completion::CallStart { call, talkgroup } => match result {
                Ok(Reply::Call(id)) => {
                    self.calls.insert(
                        *call,
                        Call::Active {
                            id: id.clone(),
                            talkgroup: *talkgroup,
                        },
                    );
                }
                _ => {
                    self.calls.remove(call);
                }
            },
            Completion::CallEnd { call } => {
                self.calls.remove(call);
            }
            Completion::Audit {
                console,
                epoch,
                attached_gen,
                expected,
            } => {
                let Ok(Reply::Talkgroups(listed)) = result else {
                    return;
                };
                let c = &self.consoles[*console as usize];
                // An answer that crossed an attach tells nothing about the set now.
                if !self.in_session(*console, *epoch)
                    || c.reattaching
                    || c.attached_gen != *attached_gen
                {
                    return;
                }
                for f in self.detector.audit(*console, expected, listed, now_us) {
                    if let Finding::TalkgroupDrop { talkgroup, .. } = &f {
                        self.mark_dropped(*console, *talkgroup);
                    }
                    fx.outcomes.push(Outcome::Finding(f));
                }
                self.want_reattach(*console, fx);
            }
        }
    }

    fn mark_dropped(&mut self, console: u32, talkgroup: u32) {
        self.consoles[console as usize].detached.insert(talkgroup);
        self.deliveries.forget_talkgroup(console, talkgroup);
    }

    /// Ask for a re-attach of `console` if it has dropped talkgroups and none is running.
    fn want_reattach(&mut self, console: u32, fx: &mut Effects) {
        let c = &self.consoles[console as usize];
        if self.reattach
            && !c.detached.is_empty()
            && !c.reattaching
            && c.phase == (ConsolePhase::On { ready: true })
            && !fx.reattach.iter().any(|(x, _)| *x == console)
        {
            fx.reattach.push((console, c.epoch));
        }
    }

    /// Turn resolved deliveries into outcomes, and misses into drops where they add up.
    pub fn resolve(&mut self, resolved: Vec<Resolved>, fx: &mut Effects) {
        for r in resolved {
            match r {
                Resolved::Delivered {
                    what,
                    console,
                    latency_us,
                } => {
                    self.detector
                        .delivered(console, what.talkgroup, what.intended_us + latency_us);
                    fx.outcomes.push(Outcome::Delivered {
                        event: what.event,
                        phase: what.phase,
                        console,
                        latency_us,
                        probe: what.probe,
                    });
                }
                Resolved::Missed {
                    what,
                    console,
                    at_us,
                } => {
                    fx.outcomes.push(Outcome::Missed {
                        event: what.event,
                        phase: what.phase,
                        console,
                        talkgroup: what.talkgroup,
                        at_us,
                        probe: what.probe,
                    });
                    if let Some(f) = self.detector.missed(console, what.talkgroup, at_us) {
                        self.mark_dropped(console, what.talkgroup);
                        fx.outcomes.push(Outcome::Finding(f));
                        self.want_reattach(console, fx);
                    }
                }
            }
        }
    }

    /// A `talkgroup.dropped` arrived at `console` in session `epoch`.
    pub fn announced_drop(
        &mut self,
        console: u32,
        epoch: u64,
        talkgroup: u32,
        at_us: u64,
        fx: &mut Effects,
    ) {
        if !self.in_session(console, epoch) {
            return;
        }
        if let Some(f) = self.detector.announced_drop(console, talkgroup, at_us) {
            self.mark_dropped(console, talkgroup);
            fx.outcomes.push(Outcome::Finding(f));
            self.want_reattach(console, fx);
        }
    }

    /// What the run has left open on the target by this view, as the actions that end it:
    /// calls to end, then terminals to deregister, then consoles to log out (each in id
    /// order). Entities with a request in flight are not in it.
    pub fn leftovers(&self) -> Vec<ActionKind> {
        let mut calls: Vec<u64> = self
            .calls
            .iter()
            .filter(|(_, c)| matches!(c, Call::Active { .. }))
            .map(|(n, _)| *n)
            .collect();
        calls.sort_unstable();
        let mut out: Vec<ActionKind> = calls
            .into_iter()
            .map(|call| ActionKind::CallEnd { call, probe: false })
            .collect();
        out.extend(
            (0u32..)
                .zip(&self.terminals)
                .filter(|(i, t)| matches!(t, Term::On { .. }) && self.own_terminal(*i))
                .map(|(terminal, _)| ActionKind::Deregister { terminal }),
        );
        out.extend(
            (0u32..)
                .zip(&self.consoles)
                .filter(|(_, c)| matches!(c.phase, ConsolePhase::On { .. }))
                .map(|(console, _)| ActionKind::Logout { console }),
        );
        out
    }

    /// Consoles logged in and terminals registered now (a scan).
    pub fn population_now(&self) -> (u64, u64) {
        let consoles = self
            .consoles
            .iter()
            .filter(|c| matches!(c.phase, ConsolePhase::On { .. } | ConsolePhase::LoggingOut))
            .count();
        let terminals = (0u32..)
            .zip(&self.terminals)
            .filter(|(i, t)| matches!(t, Term::On { .. }) && self.own_terminal(*i))
            .count();
        (consoles as u64, terminals as u64)
    }

    /// A `talkgroup.attached` arrived at `console` in session `epoch`.
    pub fn attached_seen(&mut self, console: u32, epoch: u64, talkgroup: u32) {
        if self.in_session(console, epoch) {
            self.detector.attached_seen(console, talkgroup);
        }
    }

    /// Is console `c` still in session `epoch`?
    pub fn in_session(&self, c: u32, epoch: u64) -> bool {
        let s = &self.consoles[c as usize];
        s.epoch == epoch && matches!(s.phase, ConsolePhase::On { .. })
    }

    /// The console's stream was lost (or could not be opened) while it was logged in:
    /// not ready, nothing more expected, a disconnect found.
    /// `stream_ok_us`: when bytes last came on the stream (None: it did not open).
    pub fn stream_lost(
        &mut self,
        c: u32,
        epoch: u64,
        reason: &str,
        at_us: u64,
        stream_ok_us: Option<u64>,
        fx: &mut Effects,
    ) {
        if !self.in_session(c, epoch) {
            return;
        }
        self.consoles[c as usize].phase = ConsolePhase::On { ready: false };
        self.deliveries.forget_console(c);
        if let Some(f) = self.detector.disconnected(c, reason, at_us, stream_ok_us) {
            fx.outcomes.push(Outcome::Finding(f));
        }
    }

    /// The console's stream is open and its talkgroups attached: ready; what was open at it
    /// has recovered.
    pub fn session_ready(&mut self, c: u32, epoch: u64, at_us: u64, fx: &mut Effects) {
        if !self.in_session(c, epoch) {
            return;
        }
        let monitored = self.pop.monitored(c);
        let s = &mut self.consoles[c as usize];
        s.phase = ConsolePhase::On { ready: true };
        s.detached.clear();
        s.attached_gen += 1;
        if let Some(f) = self.detector.reconnected(c, at_us) {
            fx.outcomes.push(Outcome::Finding(f));
        }
        for f in self.detector.reattached(c, &monitored, at_us) {
            fx.outcomes.push(Outcome::Finding(f));
        }
        self.detector.ready(c, &monitored, at_us);
    }

    /// Start a re-attach of `c`: the talkgroups to attach, or None if it should not run now.
    pub fn reattach_begin(&mut self, c: u32, epoch: u64) -> Option<(String, Vec<u32>)> {
        let s = &self.consoles[c as usize];
        if s.epoch != epoch || s.phase != (ConsolePhase::On { ready: true }) || s.reattaching {
            return None;
        }
        self.consoles[c as usize].reattaching = true;
        Some((self.pop.console_id(c), self.pop.monitored(c)))
    }

    /// A re-attach of `c` ended.
    pub fn reattach_end(&mut self, c: u32, epoch: u64, ok: bool, at_us: u64, fx: &mut Effects) {
        self.consoles[c as usize].reattaching = false;
        if ok && self.in_session(c, epoch) {
            let monitored = self.pop.monitored(c);
            self.consoles[c as usize].detached.clear();
            self.consoles[c as usize].attached_gen += 1;
            for f in self.detector.reattached(c, &monitored, at_us) {
                fx.outcomes.push(Outcome::Finding(f));
            }
        }
    }
}

mod prepare;
mod shadow;
#[cfg(test)]
mod tests;
