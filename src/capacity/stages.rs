//! Running a capacity search: one full run per level, each in its own run directory under the
//! capacity directory, judged against the profile's objectives; a cool-down and a health check
//! between stages against a real target; the results kept as they come, so an interrupted
//! search still reports the stages it finished.

use super::model::{CAPACITY_SCHEMA, CapacityReport, StageResult};
use super::search::{self, SearchPlan, Verdict};
use super::vary::{self, Vary};
use crate::config::{RunConfig, TargetSpec};
use crate::run::{self, RunError};
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
    /// How many times a level whose generator fell behind is run again before it counts as
    /// not offered (a moment of a busy machine should not decide the capacity).
    pub retries: usize,
}

/// An empty report of the search `cfg` describes.
fn new_report(cfg: &CapacityConfig, target: String, nominal: Option<f64>) -> CapacityReport {
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
        nominal_offered_per_s: None,
        max_passing_offered_per_s: None,
        margin_offered: None,
        warnings: Vec::new(),
        first_failed_slo: None,
        interrupted: false,
    }
}

/// The offered load of the profile as written, at the stages' length, actions/s.
fn nominal_offered(cfg: &CapacityConfig) -> Option<f64> {
    let mut p = cfg.base.profile.clone();
    if let Some(d) = cfg.stage {
        p.duration = rcload_api::Dur(d);
    }
    let secs = p.duration.0.as_secs_f64();
    (secs > 0.0).then(|| crate::schedule::estimate(&p, cfg.base.seed).total as f64 / secs)
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
    let mut report = new_report(&cfg, target, nominal);
    report.nominal_offered_per_s = nominal_offered(&cfg);
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut first_health: Option<Duration> = None;
    let mut retried = 0;
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
        for w in vary::capped(&cfg.base.profile, &cfg.vary, level) {
            if !report.warnings.contains(&w) {
                report.warnings.push(w);
            }
        }
        if let Some(d) = cfg.stage {
            profile.duration = rcload_api::Dur(d);
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
        let mut stage = StageResult::of(index, level, name, &result.summary);
        if stage.fell_behind && retried < cfg.retries {
            // Not counted: the same level comes next again (the verdicts did not change).
            retried += 1;
            stage.mark_measured_again();
        } else {
            retried = 0;
            verdicts.push(Verdict {
                level,
                passed: stage.passed,
            });
        }
        on_stage(&stage);
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
