//! What the derived reports (HTML, charts, JUnit, Markdown) are drawn from: the summary plus
//! the per-interval series and the merged histograms read back from a run directory. Plain
//! data, no I/O: the readers in `rundir` fill it, the renderers only read it.

use super::Summary;
use crate::metrics::row::IntervalRow;
use serde::{Deserialize, Serialize};

/// A phase as a band on a time axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseBand {
    pub name: String,
    pub start_s: f64,
    pub end_s: f64,
}

impl PhaseBand {
    /// The bands of a schedule's phases.
    pub fn of(phases: &[crate::profile::Phase]) -> Vec<PhaseBand> {
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
    /// How the target was reached (run.json's `transport`, one line); `None` for the
    /// embedded mock.
    pub transport: Option<String>,
    /// Findings per control room and slice of the run, for the report's heat map; `None` when
    /// the summary names no rooms or `events.jsonl` has no findings of theirs.
    pub heat: Option<super::heatmap::HeatMap>,
}
