//! Recorders: consume the engine's outcomes into HdrHistograms per operation, phase and
//! delivery type. Knows nothing of HTTP or of how results are written.

pub mod groups;
pub mod interval;
pub mod live;
mod recorder;
pub mod row;

pub use recorder::{
    DeliveryStats, DisconnectRecord, DropRecord, MissedCounts, OpStats, ProbeStats, Recorder,
    UnexpectedRecord,
};

use hdrhistogram::Histogram;

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
