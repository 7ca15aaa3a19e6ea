//! One interval of a run as `timeseries.csv` has it: the counters and per-key figures the
//! interval recorder closes each second, and the report readers read back.

use rcload_api::Op;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// What a cell is about: an operation (`terminal.status`) or the deliveries of an event type
/// (`delivery.emergency.alert`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKey {
    Op(Op),
    /// An event type, as in `emergency.alert`.
    Delivery(&'static str),
}

impl fmt::Display for CellKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellKey::Op(op) => f.write_str(op.name()),
            CellKey::Delivery(t) => write!(f, "delivery.{t}"),
        }
    }
}

/// One operation's (or delivery type's) figures in one interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cell {
    pub count: u64,
    /// Failed requests (operations); missed deliveries (delivery types).
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One row of `timeseries.csv`: an interval `[t_s, t_s + dt_s)` from the run's t=0.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntervalRow {
    pub t_s: f64,
    pub dt_s: f64,
    /// The phase at the interval's start.
    pub phase: String,
    /// Actions whose intended time fell in the interval.
    pub offered: u64,
    /// Requests sent in the interval.
    pub sent: u64,
    /// Requests answered (or failed) in the interval.
    pub completed: u64,
    /// Requests in flight at the interval's end.
    pub in_flight: u64,
    pub errors: u64,
    /// At the interval's end.
    pub consoles_logged_in: u64,
    pub terminals_registered: u64,
    /// Found in the interval.
    pub drops: u64,
    pub disconnects: u64,
    pub missed: u64,
    /// Due actions not sent (their console or terminal was not in the needed state).
    pub skipped: u64,
    /// Times a due action found the in-flight cap full.
    pub throttled: u64,
    /// Per operation (`terminal.status`) and delivery type (`delivery.emergency.alert`).
    pub cells: BTreeMap<String, Cell>,
}
