//! What the schedule emits: timed actions, and the phases of a run.

use rcload_api::{CallKind, Op};

/// One thing to do at an intended time. Entities are 0-based indexes into the population
/// (console `c`, terminal `t`); talkgroups are GSSIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Intended time, microseconds from the start of the run.
    pub at_us: u64,
    /// Position in the schedule, from 0; unique within a run (used for `ref`s).
    pub seq: u64,
    /// Index into the schedule's phases.
    pub phase: usize,
    pub kind: ActionKind,
}

/// The kinds of action. A console login is followed by the console's stream and talkgroup
/// attach, which the engine performs as soon as the login succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    /// Console `console` logs in its `shift`-th operator (0 = the one at setup).
    Login {
        console: u32,
        shift: u32,
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
    },
    Affiliate {
        terminal: u32,
        talkgroup: u32,
    },
    Status {
        terminal: u32,
        code: u16,
    },
    /// Start call number `call` (the schedule's own numbering, matched by `CallEnd`).
    /// A `probe` is a short group call rcload adds so that quiet talkgroups carry traffic.
    CallStart {
        call: u64,
        kind: CallKind,
        caller: u32,
        talkgroup: u32,
        probe: bool,
    },
    CallEnd {
        call: u64,
        probe: bool,
    },
    /// Read console `console`'s talkgroup list and compare it with what was attached.
    Audit {
        console: u32,
    },
}

impl ActionKind {
    /// The operation name this action is measured under.
    pub fn op(&self) -> Op {
        match self {
            ActionKind::Login { .. } => Op::ConsoleLogin,
            ActionKind::Logout { .. } => Op::ConsoleLogout,
            ActionKind::Register { .. } => Op::TerminalRegister,
            ActionKind::Deregister { .. } => Op::TerminalDeregister,
            ActionKind::Affiliate { .. } => Op::TerminalAffiliate,
            ActionKind::Status { .. } => Op::TerminalStatus,
            ActionKind::CallStart {
                kind: CallKind::Group,
                ..
            } => Op::CallGroup,
            ActionKind::CallStart {
                kind: CallKind::Emergency,
                ..
            } => Op::CallEmergency,
            ActionKind::CallEnd { .. } => Op::CallEnd,
            ActionKind::Audit { .. } => Op::ConsoleAudit,
        }
    }

    /// Is this a probe (reported apart from the profile's own traffic)?
    pub fn is_probe(&self) -> bool {
        matches!(
            self,
            ActionKind::CallStart { probe: true, .. } | ActionKind::CallEnd { probe: true, .. }
        )
    }
}
