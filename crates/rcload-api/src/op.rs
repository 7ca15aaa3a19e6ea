//! The operations of the contract, named once.
//!
//! Every list of operation names in rcload (results, objectives, mapping files, the mock's
//! faults and service times, the progress view) is derived from [`Op`]: a new operation is added
//! here and nowhere else.

use std::fmt;
use std::str::FromStr;

/// An operation of the API, as named in results, objectives, mapping files and mock faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    ConsoleLogin,
    ConsoleLogout,
    ConsoleAttach,
    TerminalRegister,
    TerminalDeregister,
    TerminalAffiliate,
    TerminalStatus,
    CallGroup,
    CallEmergency,
    CallEnd,
    ConsoleAudit,
    /// A token fetch of the target's own authentication (OAuth2), not a scheduled action.
    AuthToken,
    /// Opening a console's event stream. Not measured as an operation (a stream's health is
    /// measured by its deliveries and disconnects), but a mock fault can aim at it.
    ConsoleEvents,
}

impl Op {
    /// The measured operations, in the order results list them. `op.index()` is the position
    /// of `op` here.
    pub const ALL: [Op; 12] = [
        Op::ConsoleLogin,
        Op::ConsoleLogout,
        Op::ConsoleAttach,
        Op::TerminalRegister,
        Op::TerminalDeregister,
        Op::TerminalAffiliate,
        Op::TerminalStatus,
        Op::CallGroup,
        Op::CallEmergency,
        Op::CallEnd,
        Op::ConsoleAudit,
        Op::AuthToken,
    ];

    /// Every operation a request to the contract can be, [`Op::ALL`] plus opening an event
    /// stream (what the mock's faults may name).
    pub const EVERY: [Op; 13] = [
        Op::ConsoleLogin,
        Op::ConsoleLogout,
        Op::ConsoleAttach,
        Op::ConsoleAudit,
        Op::ConsoleEvents,
        Op::TerminalRegister,
        Op::TerminalDeregister,
        Op::TerminalAffiliate,
        Op::TerminalStatus,
        Op::CallGroup,
        Op::CallEmergency,
        Op::CallEnd,
        Op::AuthToken,
    ];

    /// The operation's name (`console.login`), as in results, objectives and mapping files.
    pub fn name(&self) -> &'static str {
        match self {
            Op::ConsoleLogin => "console.login",
            Op::ConsoleLogout => "console.logout",
            Op::ConsoleAttach => "console.attach",
            Op::TerminalRegister => "terminal.register",
            Op::TerminalDeregister => "terminal.deregister",
            Op::TerminalAffiliate => "terminal.affiliate",
            Op::TerminalStatus => "terminal.status",
            Op::CallGroup => "call.group",
            Op::CallEmergency => "call.emergency",
            Op::CallEnd => "call.end",
            Op::ConsoleAudit => "console.audit",
            Op::AuthToken => "auth.token",
            Op::ConsoleEvents => "console.events",
        }
    }

    /// The operation of a name (any of [`Op::EVERY`]).
    pub fn from_name(name: &str) -> Option<Op> {
        Op::EVERY.iter().copied().find(|o| o.name() == name)
    }

    /// The measured operation of a name (one of [`Op::ALL`]).
    pub fn measured(name: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|o| o.name() == name)
    }

    /// Position in [`Op::ALL`]; [`Op::ConsoleEvents`], which is not measured, comes after them.
    pub fn index(&self) -> usize {
        *self as usize
    }

    /// The names of [`Op::ALL`].
    pub fn names() -> impl Iterator<Item = &'static str> {
        Op::ALL.iter().map(|o| o.name())
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Op {
    type Err = String;
    fn from_str(s: &str) -> Result<Op, String> {
        Op::from_name(s).ok_or_else(|| format!("`{s}` is not an operation"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_is_the_position_in_all() {
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(op.index(), i);
            assert_eq!(Op::measured(op.name()), Some(*op));
        }
        for op in Op::EVERY {
            assert_eq!(op.name().parse::<Op>(), Ok(op));
        }
        assert_eq!(Op::ConsoleEvents.index(), Op::ALL.len());
        assert_eq!(Op::measured("console.events"), None);
        assert!("console.nope".parse::<Op>().is_err());
    }
}
