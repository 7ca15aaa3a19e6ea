//! Running a capacity search: one full run per level, each in its own run directory under the
//! capacity directory, judged against the profile's objectives; a cool-down and a health check
//! between stages against a real target; the results kept as they come, so an interrupted
//! search still reports the stages it finished.

use super::search::{self, SearchPlan, Verdict};
use super::vary::{self, Vary};
use crate::config::{RunConfig, TargetSpec};
use crate::report::Summary;
use crate::run::{self, RunError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Everything a capacity search needs.
#[derive(Debug, Clone)]
pub struct CapacityConfig {
    /// The run every stage starts from (profile, target, adapter, engine settings).
    pub base: RunConfig,
    pub vary: Vary,
    pub plan: SearchPlan,
    /// Each stage's length (default: the profile's `duration`).
    pub stage: Option<Duration>,
    /// Pause between stages against a real target.
    pub cooldown: Duration,
    /// The capacity directory.
    pub dir: PathBuf,
}

/// An objective that failed, with by how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedSlo {
    pub name: String,
    pub limit: f64,
    pub observed: Option<f64>,
    pub unit: String,
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
            })
            .collect();
        let names: Vec<String> = failed.iter().map(|f| f.name.clone()).collect();
        let (passed, reason) = search::judge_stage(&names, s.generator.fell_behind, s.interrupted);
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
    /// `max_passing / nominal`.
    pub margin: Option<f64>,
    /// The first objective that failed at the first failing level.
    pub first_failed_slo: Option<FailedSlo>,
    pub interrupted: bool,
}

/// The schema id of `capacity.json`.
pub const CAPACITY_SCHEMA: &str = "rcload.capacity/1";

impl CapacityReport {
    pub fn new(cfg: &CapacityConfig, target: String, nominal: Option<f64>) -> Self {
        CapacityReport {
            schema: CAPACITY_SCHEMA.into(),
            profile: cfg.base.profile.name.clone(),
            target,
            vary: cfg.vary.name(),
            nominal,
            stages: Vec::new(),
            max_passing: None,
            first_failing: None,
            margin: None,
            first_failed_slo: None,
            interrupted: false,
        }
    }

    /// Recompute the outcome from the stages.
    pub fn conclude(&mut self) {
        let verdicts: Vec<Verdict> = self
            .stages
            .iter()
            .map(|s| Verdict {
                level: s.level,
                passed: s.passed,
            })
            .collect();
        let (pass, fail) = search::outcome(&verdicts);
        self.max_passing = pass;
        self.first_failing = fail;
        self.margin = pass.zip(self.nominal).map(|(p, n)| p / n.max(1e-9));
        self.first_failed_slo = fail.and_then(|f| {
            self.stages
                .iter()
                .find(|s| (s.level - f).abs() < 1e-9)
                .and_then(|s| s.failed_slos.first().cloned())
        });
    }
}

fn stage_dir(index: usize, level: f64) -> String {
    format!("stage-{index:02}-{level}")
}

/// Run the search. `stop` turning true interrupts the stage running and ends the search (the
/// stages done are reported).
pub async fn run(
    cfg: CapacityConfig,
    stop: watch::Receiver<bool>,
    mut on_stage: impl FnMut(&StageResult),
) -> Result<CapacityReport, RunError> {
    std::fs::create_dir_all(&cfg.dir).map_err(|source| RunError::Io {
        path: cfg.dir.clone(),
        source,
    })?;
    let nominal = match &cfg.vary {
        Vary::Scale => Some(1.0),
        Vary::Field(_) => None,
    };
    let target = match &cfg.base.target {
        TargetSpec::EmbeddedMock => "mock (embedded, a fresh one per stage)".to_string(),
        TargetSpec::Url(u) => u.clone(),
    };
    let mut report = CapacityReport::new(&cfg, target, nominal);
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut first_health: Option<Duration> = None;
    while let Some(level) = search::next_level(&cfg.plan, &verdicts) {
        if *stop.borrow() {
            report.interrupted = true;
            break;
        }
        if !verdicts.is_empty() {
            between_stages(&cfg, &mut first_health, stop.clone()).await?;
        }
        let mut profile = vary::apply(&cfg.base.profile, &cfg.vary, level)
            .map_err(|e| RunError::Setup(format!("level {level}: {e}")))?;
        if let Some(d) = cfg.stage {
            profile.duration = crate::profile::Dur(d);
        }
        let index = report.stages.len() + 1;
        let name = stage_dir(index, level);
        let mut stage_cfg = cfg.base.clone();
        stage_cfg.profile = profile;
        stage_cfg.out_dir = cfg.dir.join(&name);
        stage_cfg.quiet = true;
        stage_cfg.progress = crate::progress::ProgressMode::Off;
        stage_cfg.metrics_listen = None;
        let result = run::run(stage_cfg, stop.clone()).await?;
        if result.summary.interrupted {
            // A stage cut short says nothing about its level: only finished stages count.
            report.interrupted = true;
            break;
        }
        let stage = StageResult::of(index, level, name, &result.summary);
        on_stage(&stage);
        verdicts.push(Verdict {
            level,
            passed: stage.passed,
        });
        report.stages.push(stage);
        report.conclude();
        write(&cfg.dir, &report)?;
    }
    report.conclude();
    write(&cfg.dir, &report)?;
    Ok(report)
}

/// Cool down, then wait until a real target answers its health check about as fast as before
/// the first stage (at most a minute).
async fn between_stages(
    cfg: &CapacityConfig,
    first: &mut Option<Duration>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), RunError> {
    let TargetSpec::Url(url) = &cfg.base.target else {
        return Ok(());
    };
    tokio::select! {
        _ = tokio::time::sleep(cfg.cooldown) => {}
        _ = stop.wait_for(|s| *s) => return Ok(()),
    }
    // The run's own target: the adapter's health request where a mapping is used.
    let (target, _) = run::build_target(&cfg.base, url)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = Instant::now();
        let ok = target.health().await.is_ok();
        let took = t.elapsed();
        let base = *first.get_or_insert(took);
        if ok && took <= (base * 2).max(base + Duration::from_millis(20)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(RunError::Setup(format!(
                "the target did not recover within 60 s after the last stage (health check {}, {} ms)",
                if ok { "ok but slow" } else { "failing" },
                took.as_millis()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Write `capacity.json`, `capacity.csv`, `capacity.md` and `capacity.html`.
pub fn write(dir: &std::path::Path, r: &CapacityReport) -> Result<(), RunError> {
    let json = serde_json::to_vec_pretty(r)
        .map_err(|e| RunError::Setup(format!("cannot encode capacity.json: {e}")))?;
    run::write_atomic(&dir.join("capacity.json"), &json)?;
    run::write_atomic(&dir.join("capacity.csv"), super::render::csv(r).as_bytes())?;
    run::write_atomic(
        &dir.join("capacity.md"),
        super::render::markdown(r).as_bytes(),
    )?;
    run::write_atomic(
        &dir.join("capacity.html"),
        super::render::html(r).as_bytes(),
    )?;
    Ok(())
}
