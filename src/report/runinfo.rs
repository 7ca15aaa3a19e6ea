//! `run.json`: what a run directory holds and how to read it, written before the first
//! action: the profile, seed, target, versions, start time, interval and phases.

use super::ReportError;
use super::limits;
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
    /// `--dispatch-resolution`, µs: an action nearer than this was sent at the next multiple
    /// of it from t=0 (its lateness under it); absent in files written before it was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_resolution_us: Option<u64>,
    /// The share of scheduled actions that may be skipped before the run is invalid.
    #[serde(default = "default_max_skipped")]
    pub max_skipped: f64,
    /// `--allow-no-slo`: a run without objectives is an exploration, not invalid.
    #[serde(default)]
    pub allow_no_slo: bool,
    pub phases: Vec<PhaseBand>,
    /// How a standalone target was reached: the proxy and the pinned names (absent for the
    /// embedded mock, and in files written before it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<crate::reach::TransportSummary>,
    /// Why the target could be loaded: `loopback`, `allowed` (named), `production`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<crate::reach::Consent>,
    /// The command line that started the run (a URL's password left out).
    pub command: Vec<String>,
    /// OS and architecture of the machine that ran it.
    pub platform: String,
    /// The shard this run was of a sharded test (`--shard I/N`); a merged run has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::schedule::Shard>,
    /// The common start it was given (`--start-at`, `--start-in`), and how late it began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<StartRecord>,
    /// A merged run: the shards it was merged from (`rcload merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergedFrom>,
}

/// A common start (`--start-at`): the instant asked for and when this process's clock began.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRecord {
    /// The instant asked for, RFC 3339 UTC.
    pub requested: String,
    pub requested_unix_s: f64,
    /// How long after that instant this shard's clock (its t=0) began, ms: 0 unless its
    /// set-up overran the instant. Every action's intended time is shifted by it.
    pub late_ms: f64,
    /// How long after its t=0 the process woke to send its first actions, ms (a timer's
    /// delay: about a millisecond; only the first actions are that late, and say so in
    /// their lateness).
    #[serde(default)]
    pub woke_ms: f64,
    /// The clock read: the system's real-time clock and its source (`tsc`, `kvm-clock`).
    pub clock: String,
}

/// What a merged run was made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergedFrom {
    /// The number of shards the test had.
    pub shards: u32,
    /// The directories merged, by shard index.
    pub dirs: Vec<String>,
}

fn default_max_skipped() -> f64 {
    crate::judge::MAX_SKIPPED_SHARE
}

impl RunInfo {
    /// Read and [`check`](RunInfo::check) `run.json` (at most [`limits::MAX_JSON_BYTES`]).
    pub fn read(path: &Path) -> Result<RunInfo, ReportError> {
        let bytes = limits::read_bounded(path, limits::MAX_JSON_BYTES, None)?;
        let error = |line: Option<usize>, message: String| ReportError::Parse {
            path: path.to_path_buf(),
            line,
            message,
        };
        let info: RunInfo =
            serde_json::from_slice(&bytes).map_err(|e| error(Some(e.line()), e.to_string()))?;
        info.check().map_err(|m| error(None, m))?;
        Ok(info)
    }

    /// Its schema is this build's (same major version), and every number that becomes a time
    /// (or, through the phases, an index) is one a run can have; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        if !limits::same_schema(&self.schema, RUN_SCHEMA) {
            return Err(format!(
                "schema `{}` is not `{RUN_SCHEMA}` (another major version): cannot read it",
                self.schema
            ));
        }
        let start = self.started_at_unix_s;
        if !(0.0..limits::END_OF_RFC3339_UNIX_S).contains(&start) {
            return Err(format!(
                "`started_at_unix_s` is {}: not a start time rcload can write (seconds since \
                 1970, before the year 10000)",
                limits::show(start)
            ));
        }
        let interval = self.interval_s;
        let interval_ok = interval > 0.0 && limits::is_run_seconds(interval);
        if !interval_ok {
            return Err(format!(
                "`interval_s` is {}: not an interval length (more than 0, at most {} s)",
                limits::show(interval),
                limits::MAX_RUN_SECONDS
            ));
        }
        let seconds = |field: String, v: f64| {
            if limits::is_run_seconds(v) {
                Ok(())
            } else {
                Err(format!(
                    "`{field}` is {}: {}",
                    limits::show(v),
                    limits::RUN_SECONDS
                ))
            }
        };
        if !(0.0..=1.0).contains(&self.max_skipped) {
            return Err(format!(
                "`max_skipped` is {}: not a share (0 to 1)",
                limits::show(self.max_skipped)
            ));
        }
        seconds("planned_duration_s".into(), self.planned_duration_s)?;
        for (i, p) in self.phases.iter().enumerate() {
            seconds(format!("phases[{i}].start_s"), p.start_s)?;
            seconds(format!("phases[{i}].end_s"), p.end_s)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RunInfo {
        RunInfo {
            schema: RUN_SCHEMA.into(),
            rcload_version: "0.1.0".into(),
            profile: "smoke".into(),
            profile_source: "builtin:smoke".into(),
            seed: 7,
            target: "mock".into(),
            adapter: None,
            started_at: "2025-01-01T00:00:00.000Z".into(),
            started_at_unix_s: 1_735_689_600.0,
            interval_s: 1.0,
            planned_duration_s: 20.0,
            lateness_limit_ms: 50.0,
            dispatch_resolution_us: Some(750),
            max_skipped: 0.05,
            allow_no_slo: false,
            transport: None,
            consent: None,
            phases: vec![PhaseBand {
                name: "setup".into(),
                start_s: 0.0,
                end_s: 20.0,
            }],
            command: vec!["rcload".into()],
            platform: "linux".into(),
            shard: None,
            start: None,
            merged: None,
        }
    }

    fn error(change: impl FnOnce(&mut RunInfo)) -> String {
        let mut i = info();
        change(&mut i);
        i.check().expect_err("out of range")
    }

    #[test]
    fn numbers_out_of_range_are_named() {
        assert_eq!(info().check(), Ok(()));
        let e = error(|i| i.started_at_unix_s = 1e300);
        assert!(e.starts_with("`started_at_unix_s` is 1e300"), "{e}");
        assert!(error(|i| i.started_at_unix_s = -1.0).contains("`started_at_unix_s` is -1"));
        assert!(error(|i| i.started_at_unix_s = 253_402_300_800.0).contains("started_at"));
        assert!(error(|i| i.interval_s = 0.0).contains("`interval_s` is 0"));
        assert!(error(|i| i.planned_duration_s = f64::INFINITY).contains("planned_duration_s"));
        assert!(error(|i| i.phases[0].end_s = 1e300).contains("`phases[0].end_s` is 1e300"));
        assert!(error(|i| i.schema = "rcload.run/2".into()).contains("rcload.run/2"));
    }

    #[test]
    fn a_run_json_out_of_range_is_an_error_naming_file_and_field() {
        let dir = std::env::temp_dir().join(format!("rcload-runinfo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.json");
        let mut v = serde_json::to_value(info()).unwrap();
        v["started_at_unix_s"] = 1e300.into();
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        let e = RunInfo::read(&path).unwrap_err().to_string();
        assert!(e.contains("run.json: `started_at_unix_s` is 1e300"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
