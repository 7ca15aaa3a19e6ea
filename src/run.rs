//! One run, end to end: start the target (or the embedded mock), check it is there, run the
//! schedule through the engine, feed outcomes to the recorder, write the run directory.

use crate::config::{RunConfig, TargetSpec};
use crate::engine::{self, Outcome};
use crate::metrics::Recorder;
use crate::mock;
use crate::profile;
use crate::report::events::EventsWriter;
use crate::report::{Summary, summary};
use crate::schedule::Schedule;
use crate::target::http::{HttpConfig, HttpTarget};
use crate::target::{Target, TargetError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Time from the end of set-up to the run's t=0, so that the first actions are not late.
const START_DELAY: Duration = Duration::from_millis(500);
use tokio::sync::{mpsc, oneshot, watch};

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
    #[error("{0}")]
    Setup(String),
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
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
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

/// Carry out a run. `stop` turning true interrupts it (results are still written).
pub async fn run(cfg: RunConfig, stop: watch::Receiver<bool>) -> Result<RunResult, RunError> {
    // The run's t=0, shared by the engine and the embedded mock's fault clock. Set-up below
    // (mock, health check, run directory, schedule) takes far less than START_DELAY.
    let t0 = Instant::now() + START_DELAY;
    let started_at = SystemTime::now() + START_DELAY;
    let mut mock_handle = None;
    let base_url = match &cfg.target {
        TargetSpec::EmbeddedMock => {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let mock_config = mock::MockConfig {
                spec: cfg.profile.mock.clone(),
                seed: cfg.seed,
                fault_epoch: Some(t0),
                ..mock::MockConfig::default()
            };
            let h = mock::spawn(addr, mock_config)
                .await
                .map_err(RunError::Mock)?;
            let url = format!("http://{}", h.addr);
            mock_handle = Some(h);
            url
        }
        TargetSpec::Url(u) => u.clone(),
    };
    let target = HttpTarget::new(&HttpConfig {
        base_url: base_url.clone(),
        timeout: cfg.request_timeout,
        token: cfg.token.as_ref().map(|s| s.0.clone()),
    })
    .map_err(|e| RunError::Setup(e.to_string()))?;
    let target_name = match &cfg.target {
        TargetSpec::EmbeddedMock => format!("mock (embedded, {base_url})"),
        TargetSpec::Url(_) => target.describe(),
    };
    if let Err(source) = target.health().await {
        if let Some(h) = mock_handle {
            h.shutdown().await;
        }
        return Err(RunError::Unreachable {
            target: target_name,
            source,
        });
    }
    let target: Arc<dyn Target> = Arc::new(target);

    prepare_run_dir(&cfg.out_dir)?;
    let mut resolved = cfg.profile.clone();
    resolved.seed = cfg.seed;
    let header = format!(
        "# Resolved profile of this run (from {}), with overrides applied.\n",
        cfg.profile_source
    );
    write_atomic(
        &cfg.out_dir.join("profile.yaml"),
        format!("{header}{}", profile::to_yaml(&resolved)).as_bytes(),
    )?;

    let schedule = Schedule::new(&cfg.profile, cfg.seed);
    let phases = schedule.phases().to_vec();
    let population = schedule.population().clone();

    let events_path = cfg.out_dir.join("events.jsonl");
    let mut events =
        EventsWriter::create(&events_path, phases.clone(), population.clone(), started_at)
            .map_err(io_err(&events_path))?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Outcome>();
    let (finish_tx, mut finish_rx) = oneshot::channel::<()>();
    let n_phases = phases.len();
    // The one consumer of the engine's outcomes: recorder and events.jsonl.
    let consumer = tokio::spawn(async move {
        let mut rec = Recorder::new(n_phases);
        let take = |o: Outcome, rec: &mut Recorder, events: &mut EventsWriter| {
            rec.record(&o);
            events.consume(&o);
        };
        loop {
            tokio::select! {
                biased;
                o = rx.recv() => match o {
                    Some(o) => {
                        take(o, &mut rec, &mut events);
                        // Take what else is waiting, then write it in one go.
                        for _ in 0..10_000 {
                            match rx.try_recv() {
                                Ok(o) => take(o, &mut rec, &mut events),
                                Err(_) => break,
                            }
                        }
                        if let Err(e) = events.flush() {
                            tracing::warn!("cannot write events.jsonl: {e}");
                        }
                    }
                    None => break,
                },
                _ = &mut finish_rx => {
                    while let Ok(o) = rx.try_recv() {
                        take(o, &mut rec, &mut events);
                    }
                    break;
                }
            }
        }
        if let Err(e) = events.flush() {
            tracing::warn!("cannot write events.jsonl: {e}");
        }
        rec
    });

    let engine_cfg = engine::EngineConfig {
        start_at: Some(t0),
        ..cfg.engine.clone()
    };
    let report = engine::run(schedule, target, engine_cfg, tx, stop).await;
    let _ = finish_tx.send(());
    let rec = consumer
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
            phases: &phases,
            population: &population,
            engine: &report,
            lateness_limit_ms: cfg.lateness_limit_ms,
            peak_rss_mb: peak_rss_mb(),
        },
    );
    let json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| RunError::Setup(format!("cannot encode summary.json: {e}")))?;
    write_atomic(&cfg.out_dir.join("summary.json"), &json)?;
    Ok(RunResult {
        summary,
        run_dir: cfg.out_dir.clone(),
    })
}
