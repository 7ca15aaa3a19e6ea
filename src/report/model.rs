//! What the derived reports (HTML, charts, JUnit, Markdown) are drawn from: the summary plus
//! the per-interval series and the merged histograms read back from a run directory. Plain
//! data, no I/O: the readers in `rundir` fill it, the renderers only read it.

use super::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// A phase as a band on a time axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseBand {
    pub name: String,
    pub start_s: f64,
    pub end_s: f64,
}

impl PhaseBand {
    /// The bands of a schedule's phases.
    pub fn of(phases: &[crate::schedule::Phase]) -> Vec<PhaseBand> {
        phases
            .iter()
            .map(|p| PhaseBand {
                name: p.name.clone(),
                start_s: p.start_us as f64 / 1e6,
                end_s: p.end_us as f64 / 1e6,
            })
            .collect()
    }
}

/// The percentile spectrum of one histogram: `(percentile in 0..100, latency ms)` points,
/// percentiles rising, as HdrHistogram's percentile distribution gives them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spectrum {
    /// `terminal.status`, `delivery.emergency.alert`.
    pub name: String,
    pub count: u64,
    pub points: Vec<(f64, f64)>,
}

/// What kind of finding a timeline mark is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    Drop,
    Disconnect,
    Missed,
}

/// One finding on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub t_s: f64,
    pub kind: MarkKind,
    /// `room01-con01 talkgroup 100001 (audit)`.
    pub label: String,
}

/// Everything a report is drawn from.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub summary: Summary,
    /// Seconds per interval.
    pub interval_s: f64,
    pub phases: Vec<PhaseBand>,
    pub rows: Vec<IntervalRow>,
    /// Operations first, then delivery types, each sorted by name.
    pub spectra: Vec<Spectrum>,
    pub marks: Vec<Mark>,
    /// The operations and delivery types chart 2 shows (most frequent and the critical ones).
    pub key_series: Vec<String>,
    /// Set when the summary was rebuilt from raw data (the run did not write summary.json):
    /// says what the figures cover.
    pub rebuilt: Option<String>,
}
