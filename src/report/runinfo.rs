//! `run.json`: what a run directory holds and how to read it, written before the first
//! action: the profile, seed, target, versions, start time, interval and phases.

use super::ReportError;
use super::model::PhaseBand;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The schema id of `run.json`.
pub const RUN_SCHEMA: &str = "rcload.run/1";

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    pub schema: String,
    pub rcload_version: String,
    /// The profile's name; the resolved profile itself is `profile.yaml` beside this file.
    pub profile: String,
    /// Where the profile came from (a file, or `builtin:<name>`).
    pub profile_source: String,
    pub seed: u64,
    pub target: String,
    /// The mapping-driven target's description, when the run used one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<super::summary::AdapterSummary>,
    /// The run's t=0, RFC 3339 UTC, and as seconds since the epoch.
    pub started_at: String,
    pub started_at_unix_s: f64,
    /// Seconds per interval of `latency.hlog` and `timeseries.csv`.
    pub interval_s: f64,
    /// Planned length of the schedule, seconds.
    pub planned_duration_s: f64,
    /// The generator-lateness p99 limit (ms) above which the run is marked as behind.
    pub lateness_limit_ms: f64,
    pub phases: Vec<PhaseBand>,
    /// The command line that started the run.
    pub command: Vec<String>,
    /// OS and architecture of the machine that ran it.
    pub platform: String,
}

impl RunInfo {
    pub fn read(path: &Path) -> Result<RunInfo, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| ReportError::Parse {
            path: path.to_path_buf(),
            line: Some(e.line()),
            message: e.to_string(),
        })
    }
}
