//! What a capacity search produces: each stage's results and the search's outcome
//! (`capacity.json`, schema `rcload.capacity/1`). Plain data; `stages` fills it, `render`
//! draws it.

use super::search::{self, Verdict};
use crate::report::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An objective that failed, with by how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedSlo {
    pub name: String,
    pub limit: f64,
    pub observed: Option<f64>,
    pub unit: String,
    /// What failed, in words: `delivery.emergency.alert p95: no emergency.alert delivered
    /// (limit 300.0 ms)`.
    #[serde(default)]
    pub text: String,
}

/// Latency of an operation or delivery type in one stage, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// One stage's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageResult {
    pub index: usize,
    pub level: f64,
    /// The stage's run directory, relative to the capacity directory.
    pub run_dir: String,
    pub passed: bool,
    /// Why it did not pass.
    pub reason: Option<String>,
    pub failed_slos: Vec<FailedSlo>,
    /// Actions per second the schedule offered, and requests per second completed.
    pub offered_per_s: f64,
    pub achieved_per_s: f64,
    pub error_rate: f64,
    pub talkgroup_drops: u64,
    pub console_disconnects: u64,
    pub missed_deliveries: u64,
    pub fell_behind: bool,
    /// The generator fell behind and the level was measured again in a later stage: this
    /// stage does not count towards the outcome.
    #[serde(default)]
    pub measured_again: bool,
    pub operations: BTreeMap<String, Percentiles>,
    pub deliveries: BTreeMap<String, Percentiles>,
}

impl StageResult {
    pub fn of(index: usize, level: f64, run_dir: String, s: &Summary) -> Self {
        let failed: Vec<FailedSlo> = s
            .slo
            .iter()
            .filter(|r| !r.passed)
            .map(|r| FailedSlo {
                name: r.name.clone(),
                limit: r.limit,
                observed: r.observed,
                unit: r.unit.clone(),
                text: crate::judge::failure_text(r),
            })
            .collect();
        let names: Vec<String> = failed.iter().map(|f| f.name.clone()).collect();
        let (mut passed, mut reason) =
            search::judge_stage(&names, s.generator.fell_behind, s.interrupted);
        // Invalid for another reason (an objective with nothing to judge, too many skipped
        // actions): not a pass either, and the summary says why.
        if passed && s.verdict != crate::judge::Verdict::Pass {
            passed = false;
            reason = s.verdict_reasons.first().cloned();
        }
        let secs = s.duration_s.max(1e-9);
        let completed: u64 = s.operations.values().map(|o| o.count).sum();
        let errors: u64 = s
            .operations
            .values()
            .map(|o| o.errors.values().sum::<u64>())
            .sum();
        StageResult {
            index,
            level,
            run_dir,
            passed,
            reason,
            failed_slos: failed,
            offered_per_s: s.generator.actions_scheduled as f64 / secs,
            achieved_per_s: completed.saturating_sub(errors) as f64 / secs,
            error_rate: if completed == 0 {
                0.0
            } else {
                errors as f64 / completed as f64
            },
            talkgroup_drops: s.talkgroup_drops.len() as u64,
            console_disconnects: s.console_disconnects.len() as u64,
            missed_deliveries: s.missed_deliveries,
            fell_behind: s.generator.fell_behind,
            measured_again: false,
            operations: s
                .operations
                .iter()
                .filter(|(_, o)| o.count > 0)
                .map(|(k, o)| {
                    (
                        k.clone(),
                        Percentiles {
                            p50_ms: o.latency_ms.p50,
                            p99_ms: o.latency_ms.p99,
                        },
                    )
                })
                .collect(),
            deliveries: s
                .deliveries
                .iter()
                .filter(|(_, d)| d.delivered > 0)
                .map(|(k, d)| {
                    (
                        k.clone(),
                        Percentiles {
                            p50_ms: d.latency_ms.p50,
                            p99_ms: d.latency_ms.p99,
                        },
                    )
                })
                .collect(),
        }
    }
}

impl StageResult {
    /// The verdict as the tables show it.
    pub fn verdict_label(&self) -> &'static str {
        match (self.measured_again, self.passed) {
            (true, _) => "not counted",
            (false, true) => "pass",
            (false, false) => "FAIL",
        }
    }

    /// Mark the stage as measured again: its reason says so and it no longer counts.
    pub fn mark_measured_again(&mut self) {
        self.measured_again = true;
        self.reason = Some("the generator fell behind: the level was measured again".into());
    }
}

/// The capacity search's results (`capacity.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityReport {
    pub schema: String,
    pub profile: String,
    pub target: String,
    pub vary: String,
    /// The level of the profile as written (1.0 for `scale`).
    pub nominal: Option<f64>,
    pub stages: Vec<StageResult>,
    /// The highest level that passed below the first that failed.
    pub max_passing: Option<f64>,
    pub first_failing: Option<f64>,
    /// `max_passing / nominal` (a multiple of the varied parameter).
    pub margin: Option<f64>,
    /// The offered load of the profile as written (at each stage's length), actions/s.
    #[serde(default)]
    pub nominal_offered_per_s: Option<f64>,
    /// The offered load at `max_passing`, actions/s (as measured in that stage).
    #[serde(default)]
    pub max_passing_offered_per_s: Option<f64>,
    /// `max_passing_offered_per_s / nominal_offered_per_s`: the margin as the load it is.
    #[serde(default)]
    pub margin_offered: Option<f64>,
    /// Levels the model could not give as asked (a share capped at 100 %).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The first objective that failed at the first failing level.
    pub first_failed_slo: Option<FailedSlo>,
    pub interrupted: bool,
}

/// The schema id of `capacity.json`.
pub const CAPACITY_SCHEMA: &str = "rcload.capacity/1";

impl CapacityReport {
    /// The stages that count: all but those measured again.
    pub fn counted(&self) -> impl Iterator<Item = &StageResult> {
        self.stages.iter().filter(|s| !s.measured_again)
    }

    /// Recompute the outcome from the stages that count.
    pub fn conclude(&mut self) {
        let verdicts: Vec<Verdict> = self
            .counted()
            .map(|s| Verdict {
                level: s.level,
                passed: s.passed,
            })
            .collect();
        let (pass, fail) = search::outcome(&verdicts);
        self.max_passing = pass;
        self.first_failing = fail;
        self.margin = pass.zip(self.nominal).map(|(p, n)| p / n.max(1e-9));
        self.max_passing_offered_per_s = pass.and_then(|p| {
            self.counted()
                .find(|s| (s.level - p).abs() < 1e-9)
                .map(|s| s.offered_per_s)
        });
        self.margin_offered = self
            .max_passing_offered_per_s
            .zip(self.nominal_offered_per_s)
            .filter(|(_, n)| *n > 0.0)
            .map(|(p, n)| p / n);
        self.first_failed_slo = fail.and_then(|f| {
            self.counted()
                .find(|s| (s.level - f).abs() < 1e-9)
                .and_then(|s| s.failed_slos.first().cloned())
        });
    }
}
