//! Recorders: consume the engine's outcomes into HdrHistograms per operation, phase and
//! delivery type. Knows nothing of HTTP or of how results are reported (`totals` only dumps
//! the aggregates themselves, exactly, so that the shards of one test can be added).

pub mod groups;
pub mod interval;
pub mod live;
mod recorder;
pub mod row;
pub mod totals;

pub use recorder::{
    DeliveryStats, DisconnectRecord, DropRecord, MissedCounts, OpStats, ProbeStats, Recorder,
    UnexpectedRecord,
};

use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// A new histogram for microsecond values (3 significant digits, grows as needed).
pub fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant figures is valid") // ok: 3 is within 0..=5
}

/// Record a value, growing the histogram as needed; a value it cannot hold is clamped.
pub fn record(h: &mut Histogram<u64>, value_us: u64) {
    if h.record(value_us).is_err() {
        h.saturating_record(value_us);
    }
}

/// Why two recorders could not be added together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeHistError {
    /// A histogram could not take the other's values (it cannot grow that far).
    #[error("cannot add the {what} histograms: {message}")]
    Histogram { what: String, message: String },
    /// The deliveries per control room and discipline do not add up: the two are of different
    /// populations, or only one kept them.
    #[error("cannot add the deliveries per control room and discipline: {0}")]
    Groups(String),
    /// The two keep different phases apart (the teardown): not parts of one test.
    #[error("one keeps phase {ours} apart and the other phase {theirs}: not parts of one test")]
    Apart { ours: usize, theirs: usize },
}

/// Add histogram `from` into `into`: exact, count by count (both hold microseconds at the same
/// precision), `into` growing as needed. `what` names them in an error.
fn add_histogram(
    into: &mut Histogram<u64>,
    from: &Histogram<u64>,
    what: impl FnOnce() -> String,
) -> Result<(), MergeHistError> {
    into.add(from).map_err(|e| MergeHistError::Histogram {
        what: what(),
        message: format!("{e:?}"),
    })
}

/// Add counts by key.
fn add_counts<K: Ord + Copy>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, n) in from {
        let e = into.entry(*k).or_insert(0);
        *e = e.saturating_add(*n);
    }
}
