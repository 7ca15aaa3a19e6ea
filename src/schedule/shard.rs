//! Shards: N processes that run one test together (`--shard I/N`). Every console and every
//! terminal belongs to exactly one shard, by its index modulo N, and so does every action on
//! it: a console's login, logout and audits go with the console; a terminal's registration,
//! affiliation, statuses and the calls it starts (their ends included) go with the terminal.
//! Each shard computes the whole schedule from the seed and sends only its own actions, so
//! the union of the N shards' actions is exactly the unsharded schedule.

use super::{Action, ActionKind};
use std::collections::HashMap;
use std::fmt;

/// Shard `index` of `count` (0-based). `0/1` is a whole, unsharded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Why a `--shard` value is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    #[error("`{0}` is not a shard: write I/N, e.g. `0/4` (shard 0 of 4; I from 0 to N-1)")]
    Form(String),
    #[error("shard `{0}`: N must be at least 1")]
    NoShards(String),
    #[error("shard `{text}`: I must be below N ({count}); shards count from 0")]
    OutOfRange { text: String, count: u32 },
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl Shard {
    /// The whole run, unsharded.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parse `I/N`.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let form = || ShardError::Form(text.to_string());
        let (i, n) = text.trim().split_once('/').ok_or_else(form)?;
        let index: u32 = i.trim().parse().map_err(|_| form())?;
        let count: u32 = n.trim().parse().map_err(|_| form())?;
        if count == 0 {
            return Err(ShardError::NoShards(text.to_string()));
        }
        if index >= count {
            return Err(ShardError::OutOfRange {
                text: text.to_string(),
                count,
            });
        }
        Ok(Shard { index, count })
    }

    pub fn is_whole(&self) -> bool {
        self.count <= 1
    }

    fn owns_index(&self, i: u32) -> bool {
        self.count <= 1 || i % self.count == self.index
    }

    /// Does this shard own console `c` (an index into the population)?
    pub fn owns_console(&self, c: u32) -> bool {
        self.owns_index(c)
    }

    /// Does this shard own terminal `t` (an index into the population)?
    pub fn owns_terminal(&self, t: u32) -> bool {
        self.owns_index(t)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Whose an action is, by its entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A console's action (login, logout, audit), owned by the console's shard.
    Console(u32),
    /// A terminal's action, owned by the terminal's shard (a call: by its caller's).
    Terminal(u32),
}

/// Tells the actions of one shard from the others', in schedule order. A call's end carries
/// only the call's number, so the caller of every call in progress is kept (bounded by the
/// calls in progress).
#[derive(Debug, Default)]
pub struct Ownership {
    shard: Shard,
    callers: HashMap<u64, u32>,
}

impl Ownership {
    pub fn new(shard: Shard) -> Self {
        Ownership {
            shard,
            callers: HashMap::new(),
        }
    }

    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// The entity `action` acts on; call for every action of the schedule, in order.
    pub fn owner(&mut self, action: &Action) -> Owner {
        match &action.kind {
            ActionKind::Login { console, .. }
            | ActionKind::Logout { console }
            | ActionKind::Audit { console } => Owner::Console(*console),
            ActionKind::Register { terminal, .. }
            | ActionKind::Deregister { terminal }
            | ActionKind::Affiliate { terminal, .. }
            | ActionKind::Status { terminal, .. } => Owner::Terminal(*terminal),
            ActionKind::CallStart { call, caller, .. } => {
                if !self.shard.is_whole() {
                    self.callers.insert(*call, *caller);
                }
                Owner::Terminal(*caller)
            }
            // The schedule ends a call only after starting it; an end without its start
            // (never made by the schedule) goes to shard 0.
            ActionKind::CallEnd { call, .. } => {
                Owner::Terminal(self.callers.remove(call).unwrap_or(0))
            }
        }
    }

    /// Is `action` this shard's to send? Call for every action of the schedule, in order.
    pub fn owns(&mut self, action: &Action) -> bool {
        if self.shard.is_whole() {
            return true;
        }
        match self.owner(action) {
            Owner::Console(c) => self.shard.owns_console(c),
            Owner::Terminal(t) => self.shard.owns_terminal(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse("0/1"), Ok(Shard::WHOLE));
        assert!(matches!(
            Shard::parse("4/4"),
            Err(ShardError::OutOfRange { .. })
        ));
        assert!(matches!(Shard::parse("0/0"), Err(ShardError::NoShards(_))));
        for bad in ["", "1", "a/4", "1/b", "-1/4", "1/4/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Shard { index: 3, count: 8 }.to_string(), "3/8");
    }

    #[test]
    fn every_index_has_one_owner() {
        for n in 1..9 {
            for i in 0..100 {
                let owners = (0..n)
                    .filter(|s| {
                        Shard {
                            index: *s,
                            count: n,
                        }
                        .owns_terminal(i)
                    })
                    .count();
                assert_eq!(owners, 1);
            }
        }
    }
}
