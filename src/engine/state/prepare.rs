//! What each action needs of the state before it is sent: is its entity in the state it needs
//! (else it is skipped with a reason), the state moved to "in flight", the deliveries it
//! should cause expected, and the request to send.

use super::{Call, Completion, ConsolePhase, Effects, Term, World};
use crate::engine::deliveries::Key;
use crate::engine::outcome::{Delivery, SkipReason};
use crate::schedule::{Action, ActionKind};
use crate::targets::Request;
use rcload_api::CallKind;
use rcload_api::reference::reference;

/// An action made ready to send, or why it is skipped.
type Prepared = Result<(Request, Completion), SkipReason>;

impl World {
    /// Check an action against the state, move the state to "in flight", register the
    /// deliveries it should cause, and give the request to send.
    pub fn prepare(&mut self, action: &Action, fx: &mut Effects) -> Prepared {
        match &action.kind {
            ActionKind::Login { console, shift } => self.login(*console, *shift),
            ActionKind::Logout { console } => self.logout(*console),
            ActionKind::Audit { console } => self.audit(*console),
            ActionKind::Register {
                terminal,
                talkgroup,
            } => self.register(action, *terminal, *talkgroup, fx),
            ActionKind::Deregister { terminal } => self.deregister(action, *terminal, fx),
            ActionKind::Affiliate {
                terminal,
                talkgroup,
            } => self.affiliate(*terminal, *talkgroup),
            ActionKind::Status { terminal, code } => self.status(action, *terminal, *code, fx),
            ActionKind::CallStart {
                call,
                kind,
                caller,
                talkgroup,
                ..
            } => Ok(self.call_start(action, *call, *kind, *caller, *talkgroup, fx)),
            ActionKind::CallEnd { call, .. } => self.call_end(action, *call, fx),
        }
    }

    fn login(&mut self, console: u32, shift: u32) -> Prepared {
        let c = &mut self.consoles[console as usize];
        if c.phase != ConsolePhase::Off {
            return Err(SkipReason::ConsoleBusy);
        }
        c.phase = ConsolePhase::LoggingIn;
        c.epoch += 1;
        c.detached.clear();
        Ok((
            Request::Login {
                console: self.pop.console_id(console),
                operator: self.pop.operator_name(console, shift),
            },
            Completion::Login {
                console,
                epoch: c.epoch,
            },
        ))
    }

    fn logout(&mut self, console: u32) -> Prepared {
        let id = self.pop.console_id(console);
        let c = &mut self.consoles[console as usize];
        if !matches!(c.phase, ConsolePhase::On { .. }) {
            return Err(SkipReason::ConsoleNotLoggedIn);
        }
        c.phase = ConsolePhase::LoggingOut;
        self.deliveries.forget_console(console);
        self.detector.logged_out(console);
        Ok((
            Request::Logout { console: id },
            Completion::Logout { console },
        ))
    }

    /// An audit expects the console's monitored talkgroups less those it knows were detached.
    fn audit(&mut self, console: u32) -> Prepared {
        let c = &self.consoles[console as usize];
        match c.phase {
            ConsolePhase::On { ready: true } if !c.reattaching => {}
            ConsolePhase::On { .. } => return Err(SkipReason::ConsoleNotReady),
            _ => return Err(SkipReason::ConsoleNotLoggedIn),
        }
        let expected = self
            .pop
            .monitored(console)
            .into_iter()
            .filter(|t| !c.detached.contains(t))
            .collect();
        Ok((
            Request::Audit {
                console: self.pop.console_id(console),
            },
            Completion::Audit {
                console,
                epoch: c.epoch,
                attached_gen: c.attached_gen,
                expected,
            },
        ))
    }

    fn register(
        &mut self,
        action: &Action,
        terminal: u32,
        talkgroup: u32,
        fx: &mut Effects,
    ) -> Prepared {
        match self.term(terminal) {
            Term::Busy => return Err(SkipReason::TerminalBusy),
            Term::On { .. } => return Err(SkipReason::TerminalAlreadyRegistered),
            Term::Off => {}
        }
        self.terminals[terminal as usize] = Term::Busy;
        let issi = self.pop.issi(terminal);
        self.expect_delivery(
            Key::Registered(issi),
            Delivery::TerminalRegistered,
            action,
            talkgroup,
            fx,
        );
        Ok((
            Request::Register { issi, talkgroup },
            Completion::Register {
                terminal,
                talkgroup,
            },
        ))
    }

    fn deregister(&mut self, action: &Action, terminal: u32, fx: &mut Effects) -> Prepared {
        let talkgroup = self.registered(terminal)?;
        self.terminals[terminal as usize] = Term::Busy;
        let issi = self.pop.issi(terminal);
        self.expect_delivery(
            Key::Deregistered(issi),
            Delivery::TerminalDeregistered,
            action,
            talkgroup,
            fx,
        );
        Ok((
            Request::Deregister { issi },
            Completion::Deregister {
                terminal,
                previous: talkgroup,
            },
        ))
    }

    fn affiliate(&mut self, terminal: u32, talkgroup: u32) -> Prepared {
        let previous = self.registered(terminal)?;
        self.terminals[terminal as usize] = Term::Busy;
        Ok((
            Request::Affiliate {
                issi: self.pop.issi(terminal),
                talkgroup,
            },
            Completion::Affiliate {
                terminal,
                talkgroup,
                previous,
            },
        ))
    }

    /// A status goes to the terminal's talkgroup, with the action's reference to match its
    /// delivery by.
    fn status(&mut self, action: &Action, terminal: u32, code: u16, fx: &mut Effects) -> Prepared {
        let talkgroup = self.registered(terminal)?;
        self.expect_delivery(
            Key::Ref(action.seq),
            Delivery::Status,
            action,
            talkgroup,
            fx,
        );
        Ok((
            Request::Status {
                issi: self.pop.issi(terminal),
                talkgroup,
                code,
                reference: reference(action.seq),
            },
            Completion::Status,
        ))
    }

    /// A call start is never skipped: the call is starting until its answer names it.
    fn call_start(
        &mut self,
        action: &Action,
        call: u64,
        kind: CallKind,
        caller: u32,
        talkgroup: u32,
        fx: &mut Effects,
    ) -> (Request, Completion) {
        self.calls.insert(call, Call::Starting);
        let event = match kind {
            CallKind::Group => Delivery::CallStarted,
            CallKind::Emergency => Delivery::EmergencyAlert,
        };
        self.expect_delivery(Key::Ref(action.seq), event, action, talkgroup, fx);
        (
            Request::CallStart {
                kind,
                talkgroup,
                caller: self.pop.issi(caller),
                reference: reference(action.seq),
            },
            Completion::CallStart { call, talkgroup },
        )
    }

    /// A call ends by the id its start's answer gave; one that never started is skipped.
    fn call_end(&mut self, action: &Action, call: u64, fx: &mut Effects) -> Prepared {
        let Some(Call::Active { id, talkgroup }) = self.calls.get(&call).cloned() else {
            self.calls.remove(&call);
            return Err(SkipReason::CallNotStarted);
        };
        self.expect_delivery(
            Key::Ended(id.clone()),
            Delivery::CallEnded,
            action,
            talkgroup,
            fx,
        );
        Ok((Request::CallEnd { call: id }, Completion::CallEnd { call }))
    }
}
