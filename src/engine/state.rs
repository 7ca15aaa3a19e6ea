//! The engine's own view of every entity, and what each action needs of it.
//!
//! An action whose entity is not in the state it needs (by this view) is skipped with a reason
//! rather than sent. Pure: no I/O; the engine holds it behind one mutex.

use super::deliveries::{Deliveries, Key, Resolved};
use super::outcome::{Delivery, SkipReason};
use crate::api::CallKind;
use crate::schedule::{Action, ActionKind, Population};
use crate::target::{Reply, Request};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsolePhase {
    Off,
    LoggingIn,
    /// Logged in; `ready` once its stream is open and its talkgroups attached.
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
    Active { id: String, talkgroup: u32 },
}

#[derive(Debug)]
pub struct ConsoleState {
    pub phase: ConsolePhase,
    /// Bumped at every login, so a stream of an earlier session cannot change a later one.
    pub epoch: u64,
    pub stream: Option<tokio::task::AbortHandle>,
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
}

/// The `ref` rcload sends with action `seq`.
pub fn reference(seq: u64) -> String {
    format!("r{seq}")
}

/// The action sequence number in a `ref`, if it is one of rcload's.
pub fn parse_reference(r: &str) -> Option<u64> {
    r.strip_prefix('r')?.parse().ok()
}

impl World {
    pub fn new(pop: Population, delivery_timeout_us: u64) -> Self {
        let monitors = pop.monitors_by_talkgroup();
        World {
            consoles: (0..pop.console_count())
                .map(|_| ConsoleState {
                    phase: ConsolePhase::Off,
                    epoch: 0,
                    stream: None,
                })
                .collect(),
            terminals: vec![Term::Off; pop.terminals as usize],
            calls: HashMap::new(),
            monitors,
            deliveries: Deliveries::new(delivery_timeout_us),
            pop,
        }
    }

    /// Consoles that should get an event on `talkgroup` now: logged in, stream open, attached.
    fn receivers(&self, talkgroup: u32) -> Vec<u32> {
        let Some(i) = self.pop.talkgroup_index(talkgroup) else {
            return Vec::new();
        };
        self.monitors[i as usize]
            .iter()
            .copied()
            .filter(|c| self.consoles[*c as usize].phase == ConsolePhase::On { ready: true })
            .collect()
    }

    fn expect_delivery(
        &mut self,
        key: Key,
        event: Delivery,
        action: &Action,
        talkgroup: u32,
    ) -> Vec<Resolved> {
        let to = self.receivers(talkgroup);
        self.deliveries
            .add(key, event, action.phase, action.at_us, to)
    }

    fn term(&self, t: u32) -> Term {
        self.terminals.get(t as usize).copied().unwrap_or(Term::Off)
    }

    /// Check an action against the state, move the state to "in flight", register the
    /// deliveries it should cause, and give the request to send.
    pub fn prepare(
        &mut self,
        action: &Action,
        resolved: &mut Vec<Resolved>,
    ) -> Result<(Request, Completion), SkipReason> {
        let pop = &self.pop;
        match &action.kind {
            ActionKind::Login { console, shift } => {
                let c = &mut self.consoles[*console as usize];
                if c.phase != ConsolePhase::Off {
                    return Err(SkipReason::ConsoleBusy);
                }
                c.phase = ConsolePhase::LoggingIn;
                c.epoch += 1;
                Ok((
                    Request::Login {
                        console: pop.console_id(*console),
                        operator: pop.operator_name(*console, *shift),
                    },
                    Completion::Login {
                        console: *console,
                        epoch: c.epoch,
                    },
                ))
            }
            ActionKind::Logout { console } => {
                let id = pop.console_id(*console);
                let c = &mut self.consoles[*console as usize];
                if !matches!(c.phase, ConsolePhase::On { .. }) {
                    return Err(SkipReason::ConsoleNotLoggedIn);
                }
                c.phase = ConsolePhase::LoggingOut;
                self.deliveries.forget_console(*console);
                Ok((
                    Request::Logout { console: id },
                    Completion::Logout { console: *console },
                ))
            }
            ActionKind::Register {
                terminal,
                talkgroup,
            } => {
                match self.term(*terminal) {
                    Term::Busy => return Err(SkipReason::TerminalBusy),
                    Term::On { .. } => return Err(SkipReason::TerminalAlreadyRegistered),
                    Term::Off => {}
                }
                self.terminals[*terminal as usize] = Term::Busy;
                let issi = self.pop.issi(*terminal);
                resolved.extend(self.expect_delivery(
                    Key::Registered(issi),
                    Delivery::TerminalRegistered,
                    action,
                    *talkgroup,
                ));
                Ok((
                    Request::Register {
                        issi,
                        talkgroup: *talkgroup,
                    },
                    Completion::Register {
                        terminal: *terminal,
                        talkgroup: *talkgroup,
                    },
                ))
            }
            ActionKind::Deregister { terminal } => {
                let talkgroup = self.registered(*terminal)?;
                self.terminals[*terminal as usize] = Term::Busy;
                let issi = self.pop.issi(*terminal);
                resolved.extend(self.expect_delivery(
                    Key::Deregistered(issi),
                    Delivery::TerminalDeregistered,
                    action,
                    talkgroup,
                ));
                Ok((
                    Request::Deregister { issi },
                    Completion::Deregister {
                        terminal: *terminal,
                        previous: talkgroup,
                    },
                ))
            }
            ActionKind::Affiliate {
                terminal,
                talkgroup,
            } => {
                let previous = self.registered(*terminal)?;
                self.terminals[*terminal as usize] = Term::Busy;
                Ok((
                    Request::Affiliate {
                        issi: self.pop.issi(*terminal),
                        talkgroup: *talkgroup,
                    },
                    Completion::Affiliate {
                        terminal: *terminal,
                        talkgroup: *talkgroup,
                        previous,
                    },
                ))
            }
            ActionKind::Status { terminal, code } => {
                let talkgroup = self.registered(*terminal)?;
                resolved.extend(self.expect_delivery(
                    Key::Ref(action.seq),
                    Delivery::Status,
                    action,
                    talkgroup,
                ));
                Ok((
                    Request::Status {
                        issi: self.pop.issi(*terminal),
                        code: *code,
                        reference: reference(action.seq),
                    },
                    Completion::Status,
                ))
            }
            ActionKind::CallStart {
                call,
                kind,
                caller,
                talkgroup,
            } => {
                self.calls.insert(*call, Call::Starting);
                let event = match kind {
                    CallKind::Group => Delivery::CallStarted,
                    CallKind::Emergency => Delivery::EmergencyAlert,
                };
                resolved.extend(self.expect_delivery(
                    Key::Ref(action.seq),
                    event,
                    action,
                    *talkgroup,
                ));
                Ok((
                    Request::CallStart {
                        kind: *kind,
                        talkgroup: *talkgroup,
                        caller: self.pop.issi(*caller),
                        reference: reference(action.seq),
                    },
                    Completion::CallStart {
                        call: *call,
                        talkgroup: *talkgroup,
                    },
                ))
            }
            ActionKind::CallEnd { call } => {
                let Some(Call::Active { id, talkgroup }) = self.calls.get(call).cloned() else {
                    self.calls.remove(call);
                    return Err(SkipReason::CallNotStarted);
                };
                resolved.extend(self.expect_delivery(
                    Key::Ended(id.clone()),
                    Delivery::CallEnded,
                    action,
                    talkgroup,
                ));
                Ok((
                    Request::CallEnd { call: id },
                    Completion::CallEnd { call: *call },
                ))
            }
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
        result: &Result<Reply, crate::target::TargetError>,
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
                if let Some(h) = c.stream.take() {
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
                    Err(e) => e.code() == Some(crate::api::codes::NOT_REGISTERED),
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
        }
    }

    /// Is console `c` still in session `epoch`?
    pub fn in_session(&self, c: u32, epoch: u64) -> bool {
        let s = &self.consoles[c as usize];
        s.epoch == epoch && matches!(s.phase, ConsolePhase::On { .. })
    }

    /// The console's session ended under it (stream lost): not ready, nothing more expected.
    pub fn stream_lost(&mut self, c: u32, epoch: u64) {
        if self.in_session(c, epoch) {
            self.consoles[c as usize].phase = ConsolePhase::On { ready: false };
        }
        self.deliveries.forget_console(c);
    }
}
