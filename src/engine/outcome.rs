//! What the engine emits on its channel for every action and delivery. Consumers (recorder,
//! progress, writers) read these; the engine does not know them.

use crate::detect::Finding;
use crate::targets::ErrorClass;
use rcload_api::Op;

/// Event types whose delivery is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Delivery {
    Status,
    CallStarted,
    EmergencyAlert,
    CallEnded,
    TerminalRegistered,
    TerminalDeregistered,
}

impl Delivery {
    pub const ALL: [Delivery; 6] = [
        Delivery::Status,
        Delivery::CallStarted,
        Delivery::EmergencyAlert,
        Delivery::CallEnded,
        Delivery::TerminalRegistered,
        Delivery::TerminalDeregistered,
    ];

    /// The event type name, as on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Delivery::Status => "status",
            Delivery::CallStarted => "call.started",
            Delivery::EmergencyAlert => "emergency.alert",
            Delivery::CallEnded => "call.ended",
            Delivery::TerminalRegistered => "terminal.registered",
            Delivery::TerminalDeregistered => "terminal.deregistered",
        }
    }

    pub fn index(&self) -> usize {
        *self as usize
    }
}

/// Why an action was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    ConsoleBusy,
    ConsoleNotLoggedIn,
    ConsoleNotReady,
    TerminalBusy,
    TerminalNotRegistered,
    TerminalAlreadyRegistered,
    CallNotStarted,
    /// The target does not offer the operation (an adapter marked it unsupported).
    Unsupported,
}

impl SkipReason {
    /// Every reason, in the order declared.
    pub const ALL: [SkipReason; 8] = [
        SkipReason::ConsoleBusy,
        SkipReason::ConsoleNotLoggedIn,
        SkipReason::ConsoleNotReady,
        SkipReason::TerminalBusy,
        SkipReason::TerminalNotRegistered,
        SkipReason::TerminalAlreadyRegistered,
        SkipReason::CallNotStarted,
        SkipReason::Unsupported,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            SkipReason::ConsoleBusy => "console_busy",
            SkipReason::ConsoleNotLoggedIn => "console_not_logged_in",
            SkipReason::ConsoleNotReady => "console_not_ready",
            SkipReason::TerminalBusy => "terminal_busy",
            SkipReason::TerminalNotRegistered => "terminal_not_registered",
            SkipReason::TerminalAlreadyRegistered => "terminal_already_registered",
            SkipReason::CallNotStarted => "call_not_started",
            SkipReason::Unsupported => "unsupported",
        }
    }
}

/// One result from the engine. Times are microseconds from the start of the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A request completed (or failed).
    Op {
        op: Op,
        phase: usize,
        /// Intended time.
        intended_us: u64,
        /// Intended time to sent; `None` for requests the engine makes on its own (attach,
        /// re-attach, re-login), which have no schedule to be late for.
        lateness_us: Option<u64>,
        /// Intended time to response: the coordinated-omission-free latency.
        latency_us: u64,
        /// Sent to response.
        service_us: u64,
        error: Option<ErrorClass>,
        /// A probe (reported apart from the profile's own traffic).
        probe: bool,
    },
    Skipped {
        op: Op,
        reason: SkipReason,
    },
    /// The in-flight cap was full when an action was due; it waited for a free slot.
    Throttled,
    Delivered {
        event: Delivery,
        phase: usize,
        /// The console that received it.
        console: u32,
        /// From the intended time of the sending action to receipt.
        latency_us: u64,
        probe: bool,
    },
    /// An expected event did not arrive at `console` within the delivery timeout.
    Missed {
        event: Delivery,
        phase: usize,
        console: u32,
        talkgroup: u32,
        /// When the miss was established (intended time + delivery timeout, or later).
        at_us: u64,
        probe: bool,
    },
    /// A drop, disconnect or recovery (see `crate::detect`).
    Finding(Finding),
}
