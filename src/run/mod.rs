//! One run, end to end: start the target (or the embedded mock), check it is there, run the
//! schedule through the engine, feed outcomes to the recorder, write the run directory.

mod consume;
mod setup;

use crate::config::{RunConfig, TargetSpec};
use crate::engine::{self, Outcome};
use crate::metrics::Recorder;
use crate::profile::{self, Phase};
use crate::progress::Progress;
use crate::report::runinfo::RunInfo;
use crate::report::{Summary, rundir, summary};
use crate::schedule::Schedule;
use crate::targets::http::{HttpConfig, HttpTarget};
use crate::targets::mapped::MappedTarget;
use crate::targets::{Target, TargetError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, oneshot, watch};

/// Time from the end of set-up to the run's t=0, so that the first actions are not late.
const START_DELAY: Duration = Duration::from_millis(500);

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("target {target} is not reachable: {source}")]
    Unreachable {
        target: String,
        #[source]
        source: TargetError,
    },
    #[error("cannot start the built-in mock: {0}")]
    Mock(std::io::Error),
    /// The target already holds what the run would create (exit 3, like an unreachable
    /// target: the run cannot start as asked).
    #[error(
        "target {target} already holds part of this run's population: {found}. Give \
         --clean-start to log them out and deregister them before the load, or run `rcload \
         cleanup PROFILE --target URL`"
    )]
    Leftovers { target: String, found: String },
    /// `--clean-start` could not clean the target.
    #[error("target {target}: --clean-start could not clean it: {cleaned}")]
    NotCleaned { target: String, cleaned: String },
    #[error("{0}")]
    Setup(String),
    /// The engine's task ended without its report (a bug: it panicked).
    #[error("the engine stopped before the end of the run: {0}")]
    Engine(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A finished run.
#[derive(Debug)]
pub struct RunResult {
    pub summary: Summary,
    pub run_dir: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write a file whole or not at all (temporary file, then rename).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), RunError> {
    crate::report::write_atomic(path, contents).map_err(|e| match e {
        crate::report::ReportError::Io { path, source } => RunError::Io { path, source },
        other => RunError::Setup(other.to_string()),
    })
}

/// Peak resident set size of this process, MB (Linux; None elsewhere).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

fn prepare_run_dir(dir: &Path) -> Result<(), RunError> {
    if dir.join("summary.json").exists() {
        return Err(RunError::Setup(format!(
            "{} already holds a run (summary.json); choose another --out",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))
}

/// The summary's account of a mapping-driven target.
fn adapter_summary(a: &crate::config::AdapterSetup) -> summary::AdapterSummary {
    use crate::targets::mapped::spec::Matching;
    let m = &a.mapping;
    let correlated = m.events.matching == Matching::Correlate;
    summary::AdapterSummary {
        name: m.file.name.clone(),
        file: a.path.clone(),
        auth: a.credentials.kind().to_string(),
        delivery_matching: if correlated {
            "correlated"
        } else {
            "reference"
        }
        .to_string(),
        correlation_window_s: correlated.then_some(m.events.window.as_secs_f64()),
        unsupported: m.unsupported().iter().map(|s| s.to_string()).collect(),
    }
}

/// `rcload cleanup`: log out every console and deregister every terminal of the population
/// on the standalone target (requests that find them already clean count as such).
pub async fn cleanup(cfg: &RunConfig) -> Result<crate::engine::preflight::Cleaned, RunError> {
    let TargetSpec::Url(url) = &cfg.target else {
        return Err(RunError::Setup(
            "cleanup needs --target (or `target.url` in the profile): the built-in mock \
             starts clean every run"
                .into(),
        ));
    };
    let (target, _) = build_target(cfg, url)?;
    if let Err(source) = target.health().await {
        return Err(RunError::Unreachable {
            target: target.describe(),
            source,
        });
    }
    let schedule = Schedule::new(&cfg.profile, cfg.seed);
    let pop = schedule.population();
    // A shard cleans only its own (`--shard I/N`).
    let consoles: Vec<String> = (0..pop.console_count())
        .filter(|c| cfg.shard.owns_console(*c))
        .map(|c| pop.console_id(c))
        .collect();
    let terminals: Vec<u32> = (0..pop.terminals)
        .filter(|t| cfg.shard.owns_terminal(*t))
        .map(|t| pop.issi(t))
        .collect();
    Ok(crate::engine::preflight::clean(
        target.as_ref(),
        &consoles,
        &terminals,
        cfg.preflight_timeout,
    )
    .await)
}

/// Carry out a run. `stop` turning true interrupts it (results are still written).
pub async fn run(cfg: RunConfig, stop: watch::Receiver<bool>) -> Result<RunResult, RunError> {
    // The run's t=0, shared by the engine and the embedded mock's fault clock. Set-up below
    // (mock, health check, run directory, schedule) takes far less than START_DELAY.
    let (t0, started_at) = clock_start(cfg.start_at);
    let (base_url, mock_handle) = setup::start_mock(&cfg, t0).await?;
    let (target, adapter) = build_target(&cfg, &base_url)?;
    let target_name = setup::target_name(&cfg, target.as_ref(), adapter.as_ref(), &base_url);
    if let Err(source) = target.health().await {
        if let Some(h) = mock_handle {
            h.shutdown().await;
        }
        return Err(RunError::Unreachable {
            target: target_name,
            source,
        });
    }

    let schedule = Schedule::new(&cfg.profile, cfg.seed);
    let mut notes = setup::profile_notes(&cfg.profile, &schedule);
    let (t0, started_at) = match &cfg.target {
        TargetSpec::Url(_) => {
            notes.extend(setup::standalone_notes(&cfg, &target_name));
            // A standalone target may hold what an earlier run left: find it before the load.
            notes.extend(
                setup::preflight(&cfg, target.as_ref(), schedule.population(), &target_name)
                    .await?,
            );
            // Set-up took a while: t=0 is from now (or the common start's instant).
            clock_start(cfg.start_at)
        }
        TargetSpec::EmbeddedMock => (t0, started_at),
    };

    prepare_run_dir(&cfg.out_dir)?;
    write_resolved_profile(&cfg)?;
    let plan = setup::Plan::new(&cfg, &schedule);
    let population = schedule.population().clone();
    notes.extend(setup::population_notes(&cfg, &population));
    let files = consume::Files::create(&cfg.out_dir, &plan.phases, &population, started_at)?;
    let info = setup::run_info(&cfg, &target_name, adapter.as_ref(), started_at, &plan).await;
    write_run_info(&cfg.out_dir, &info)?;
    // Live metrics (a consumer like the others) and their server, for the run's length.
    let (live, live_server) = setup::live_metrics(&cfg, &plan.phases, t0).await?;

    let (tx, rx) = mpsc::unbounded_channel::<Outcome>();
    let (finish_tx, finish_rx) = oneshot::channel::<()>();
    let planned = Duration::from_micros(plan.load_end_us).max(cfg.profile.duration.0);
    let writers = consume::Writers::new(
        files,
        &plan,
        &population,
        cfg.engine.gauges.clone(),
        live,
        Progress::new(cfg.progress, planned),
    );
    let consumer = tokio::spawn(consume::consume(rx, finish_rx, writers, t0, cfg.interval));

    let engine_cfg = engine::EngineConfig {
        start_at: Some(t0),
        teardown: plan.teardown,
        ..cfg.engine.clone()
    };
    let capped = target.clone();
    if let Some(at) = cfg.start_at {
        // The common start: wait for it here, and record how late this process began.
        tokio::time::sleep_until(t0.into()).await;
        let mut info = info;
        info.start = Some(crate::start::record(at, started_at, SystemTime::now()));
        write_run_info(&cfg.out_dir, &info)?;
    }
    // The engine runs as a task on the runtime's workers, not on this thread (the one that
    // blocks on the runtime): the requests it starts then run on the worker that started them,
    // not one thread over, which cost a wake-up and two context switches per action.
    let engine = tokio::spawn(engine::run(schedule, target, engine_cfg, tx, stop));
    let report = engine.await.map_err(|e| RunError::Engine(e.to_string()))?;
    notes.extend(setup::connection_cap_note(&cfg, capped.as_ref()));
    let _ = finish_tx.send(());
    let (rec, mut progress) = consumer
        .await
        .map_err(|e| RunError::Setup(format!("the recorder failed: {e}")))?;
    if let Some(h) = mock_handle {
        h.shutdown().await;
    }

    let summary = summary::build(
        &rec,
        &summary::RunFacts {
            profile: &cfg.profile,
            seed: cfg.seed,
            target: target_name,
            adapter,
            // Windowed and phase-scoped objectives are judged on the interval histograms
            // just written.
            windows: windowed(&cfg, &plan.phases),
            phases: &plan.phases,
            population: &population,
            engine: &report,
            lateness_limit_ms: cfg.lateness_limit_ms,
            max_skipped: cfg.max_skipped,
            allow_no_slo: cfg.allow_no_slo,
            rebuilt: false,
            notes,
            peak_rss_mb: peak_rss_mb(),
            incomplete: Vec::new(),
        },
    );
    write_results(&cfg.out_dir, &rec, &summary)?;
    progress.finish(&summary, &cfg.out_dir.display().to_string());
    if let Some(s) = live_server {
        s.abort();
    }
    Ok(RunResult {
        summary,
        run_dir: cfg.out_dir.clone(),
    })
}

/// `profile.yaml` of the run directory: the profile as run, overrides applied, with its seed.
fn write_resolved_profile(cfg: &RunConfig) -> Result<(), RunError> {
    let mut resolved = cfg.profile.clone();
    resolved.seed = cfg.seed;
    let header = format!(
        "# Resolved profile of this run (from {}), with overrides applied.\n",
        cfg.profile_source
    );
    write_atomic(
        &cfg.out_dir.join("profile.yaml"),
        format!("{header}{}", profile::to_yaml(&resolved)).as_bytes(),
    )
}

/// The windowed and phase-scoped objectives, judged on the run's `latency.hlog` (none, with a
/// warning, when it cannot be read).
fn windowed(cfg: &RunConfig, phases: &[Phase]) -> crate::report::windows::Figures {
    let hlog_path = cfg.out_dir.join(rundir::HLOG);
    crate::report::windows::evaluate(&hlog_path, &cfg.profile.slo, phases).unwrap_or_else(|e| {
        eprintln!("rcload: warning: windowed objectives could not be judged: {e}");
        Default::default()
    })
}

/// The run's results: `totals.json` (the exact aggregates, for `rcload merge` of a sharded
/// test), `summary.json`, and the reports, derived from the files as `rcload report` makes them.
fn write_results(dir: &Path, rec: &Recorder, summary: &Summary) -> Result<(), RunError> {
    let json = serde_json::to_vec_pretty(summary)
        .map_err(|e| RunError::Setup(format!("cannot encode summary.json: {e}")))?;
    if let Err(e) = crate::metrics::totals::write(rec, &dir.join(rundir::TOTALS)) {
        eprintln!("rcload: warning: {e}");
    }
    write_atomic(&dir.join(rundir::SUMMARY_JSON), &json)?;
    let reports = rundir::load(dir).and_then(|d| rundir::write_reports(dir, &d));
    if let Err(e) = reports {
        eprintln!("rcload: warning: the reports could not be written: {e}");
    }
    Ok(())
}

/// t=0 of a run set up now: `START_DELAY` from now, or the common start's instant
/// (`--start-at`) when set-up leaves time for it.
fn clock_start(start_at: Option<SystemTime>) -> (Instant, SystemTime) {
    let now = (Instant::now(), SystemTime::now());
    match start_at {
        Some(at) => crate::start::plan(at, now, START_DELAY),
        None => (now.0 + START_DELAY, now.1 + START_DELAY),
    }
}

fn write_run_info(dir: &Path, info: &RunInfo) -> Result<(), RunError> {
    let json = serde_json::to_vec_pretty(info)
        .map_err(|e| RunError::Setup(format!("cannot encode run.json: {e}")))?;
    write_atomic(&dir.join(rundir::RUN_JSON), &json)
}

/// The target a run drives at `base_url`: the built-in API v1 driver, or the mapping of the
/// configured adapter (with its summary for the results).
pub(crate) fn build_target(
    cfg: &RunConfig,
    base_url: &str,
) -> Result<(Arc<dyn Target>, Option<summary::AdapterSummary>), RunError> {
    Ok(match &cfg.adapter {
        None => {
            let t = HttpTarget::new(&HttpConfig {
                base_url: base_url.to_string(),
                timeout: cfg.request_timeout,
                token: cfg.token.as_ref().map(|s| s.0.clone()),
                max_event_bytes: cfg.max_event_bytes,
                transport: cfg.transport.clone(),
            })
            .map_err(|e| RunError::Setup(e.to_string()))?;
            (Arc::new(t), None)
        }
        Some(a) => {
            let t = MappedTarget::new(
                a.mapping.clone(),
                base_url,
                cfg.request_timeout,
                &a.credentials,
                &cfg.transport,
            )
            .map_err(|e| RunError::Setup(e.to_string()))?
            .with_max_event_bytes(cfg.max_event_bytes);
            (Arc::new(t), Some(adapter_summary(a)))
        }
    })
}
