//! A run's set-up before the load: the embedded mock, the target's name, the pre-flight of a
//! standalone target, what the summary must say of how the run was set up, the phases as recorded,
//! `run.json`'s facts, and the live metrics server.

use super::RunError;
use crate::config::{RunConfig, TargetSpec};
use crate::engine;
use crate::metrics::live::LiveMetrics;
use crate::profile::{self, Phase, Profile};
use crate::report::model::PhaseBand;
use crate::report::runinfo::{RUN_SCHEMA, RunInfo};
use crate::report::summary::AdapterSummary;
use crate::schedule::{Population, Schedule};
use crate::targets::Target;
use rcload_mock as mock;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::task::JoinHandle;

/// The base URL of the run's target, and the embedded mock's handle when the run started one
/// (its faults' clock at `t0`).
pub(super) async fn start_mock(
    cfg: &RunConfig,
    t0: Instant,
) -> Result<(String, Option<mock::MockHandle>), RunError> {
    match &cfg.target {
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
            Ok((format!("http://{}", h.addr), Some(h)))
        }
        TargetSpec::Url(u) => Ok((u.clone(), None)),
    }
}

/// The target as the results name it.
pub(super) fn target_name(
    cfg: &RunConfig,
    target: &dyn Target,
    adapter: Option<&AdapterSummary>,
    base_url: &str,
) -> String {
    match &cfg.target {
        TargetSpec::EmbeddedMock => match adapter {
            None => format!("mock (embedded, {base_url})"),
            Some(a) => format!("mock (embedded, {base_url}, adapter {})", a.name),
        },
        TargetSpec::Url(_) => target.describe(),
    }
}

/// What the summary says of the profile itself: events it cuts, and replay notes.
pub(super) fn profile_notes(profile: &Profile, schedule: &Schedule) -> Vec<String> {
    let mut notes: Vec<String> = profile::cut_events(profile)
        .into_iter()
        .map(|w| format!("The profile's {w}."))
        .collect();
    notes.extend(schedule.replay_notes().into_iter().map(|w| format!("{w}.")));
    notes
}

/// What the summary says of a standalone target's set-up: production consent, an unchecked
/// certificate, a proxy or pinned names, and a `mock:` section that does not apply.
pub(super) fn standalone_notes(cfg: &RunConfig, target_name: &str) -> Vec<String> {
    let mut notes = Vec::new();
    if cfg.consent == Some(crate::targets::consent::Consent::Production) {
        let note = format!(
            "PRODUCTION: this run loads {target_name}, listed under `target.production`, with \
             --production."
        );
        eprintln!("rcload: {note}");
        notes.push(note);
    }
    if cfg.transport.tls.insecure {
        notes.push(
            "INSECURE: the target's certificate was not checked (--insecure); a lab target only."
                .to_string(),
        );
    }
    let t = cfg.transport.describe();
    if t.proxy != "none" || !t.resolve.is_empty() {
        notes.push(format!(
            "Reached through proxy: {}; pinned names: {}.",
            t.proxy,
            if t.resolve.is_empty() {
                "none".to_string()
            } else {
                t.resolve.join(", ")
            }
        ));
    }
    if !cfg.profile.mock.is_empty() {
        notes.push(format!(
            "The profile's `mock:` section (preset, capacity, faults) is ignored: the run goes \
             to {target_name}, not to the built-in mock."
        ));
    }
    notes
}

/// Before the load on a standalone target: find what it already holds of the population,
/// and clean it (`--clean-start`) or stop naming it. Returns what the summary must say.
pub(super) async fn preflight(
    cfg: &RunConfig,
    target: &dyn Target,
    population: &Population,
    target_name: &str,
) -> Result<Vec<String>, RunError> {
    use crate::engine::preflight;
    let mut notes = Vec::new();
    let found = preflight::find(target, population, cfg.shard, cfg.preflight_timeout).await;
    if !found.is_clean() {
        if !cfg.clean_start {
            return Err(RunError::Leftovers {
                target: target_name.to_string(),
                found: found.describe(),
            });
        }
        let cleaned = preflight::clean(
            target,
            &found.consoles,
            &found.terminals,
            cfg.preflight_timeout,
        )
        .await;
        if !cleaned.failed.is_empty() {
            return Err(RunError::NotCleaned {
                target: target_name.to_string(),
                cleaned: cleaned.describe(),
            });
        }
        notes.push(format!(
            "The target held part of this run's population before the load ({}): \
             --clean-start {}.",
            found.describe(),
            cleaned.describe()
        ));
    }
    let unknown = |n: u64, what: &str| (n > 0).then(|| format!("{n} {what}"));
    let unknown: Vec<String> = [
        unknown(found.unknown_consoles, "consoles were logged in"),
        unknown(found.unknown_terminals, "terminals were registered"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !unknown.is_empty() {
        notes.push(format!(
            "The pre-flight could not tell whether {} before the load (the target does not \
             say): a leftover there is not excluded.",
            unknown.join(" or whether ")
        ));
    }
    Ok(notes)
}

/// What the summary says of the population and the shard: no consoles, or one shard's part.
pub(super) fn population_notes(cfg: &RunConfig, population: &Population) -> Vec<String> {
    let mut notes = Vec::new();
    if population.console_count() == 0 {
        notes.push(
            "The population has no consoles: only terminal actions were sent, no event stream \
             was opened, and no delivery was checked."
                .to_string(),
        );
    }
    if !cfg.shard.is_whole() {
        notes.push(format!(
            "Shard {} of a sharded test: these figures are this shard's part (its consoles' \
             deliveries, its terminals' actions); `rcload merge` judges the whole.",
            cfg.shard
        ));
    }
    notes
}

/// The phases a run records: the schedule's, and the teardown's after them when the run has
/// one.
pub(super) struct Plan {
    pub phases: Vec<Phase>,
    /// The load's end, µs from t=0: every phase of the profile ends by then.
    pub load_end_us: u64,
    pub teardown: Option<engine::TeardownConfig>,
}

impl Plan {
    pub(super) fn new(cfg: &RunConfig, schedule: &Schedule) -> Self {
        let mut phases = schedule.phases().to_vec();
        let load_end_us = phases.iter().map(|p| p.end_us).max().unwrap_or(0);
        let teardown = cfg.teardown.map(|timeout| {
            let timeout_us = u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX);
            phases.push(profile::teardown_phase(load_end_us, timeout_us));
            engine::TeardownConfig {
                timeout,
                phase: phases.len() - 1,
            }
        });
        Self {
            phases,
            load_end_us,
            teardown,
        }
    }
}

/// `run.json`: how the run was set up (a standalone target's transport probed for its TLS).
pub(super) async fn run_info(
    cfg: &RunConfig,
    target_name: &str,
    adapter: Option<&AdapterSummary>,
    started_at: SystemTime,
    plan: &Plan,
) -> RunInfo {
    RunInfo {
        schema: RUN_SCHEMA.to_string(),
        rcload_version: env!("CARGO_PKG_VERSION").to_string(),
        profile: cfg.profile.name.clone(),
        profile_source: cfg.profile_source.clone(),
        seed: cfg.seed,
        target: target_name.to_string(),
        adapter: adapter.cloned(),
        started_at: crate::report::wall::rfc3339_millis(started_at),
        started_at_unix_s: started_at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
        interval_s: cfg.interval.as_secs_f64(),
        planned_duration_s: plan.load_end_us as f64 / 1e6,
        lateness_limit_ms: cfg.lateness_limit_ms,
        dispatch_resolution_us: Some(
            u64::try_from(cfg.engine.dispatch_resolution.as_micros()).unwrap_or(u64::MAX),
        ),
        max_skipped: cfg.max_skipped,
        allow_no_slo: cfg.allow_no_slo,
        phases: PhaseBand::of(&plan.phases),
        transport: match &cfg.target {
            TargetSpec::Url(u) => {
                let mut t = cfg.transport.describe();
                t.negotiated = cfg.transport.probe_tls(u, cfg.request_timeout).await;
                Some(t)
            }
            TargetSpec::EmbeddedMock => None,
        },
        consent: cfg.consent,
        command: cfg
            .command
            .iter()
            .map(|a| crate::targets::transport::without_password(a))
            .collect(),
        platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        shard: (!cfg.shard.is_whole()).then_some(cfg.shard),
        start: cfg
            .start_at
            .map(|at| crate::start::record(at, started_at, started_at)),
        merged: None,
    }
}

/// The task serving the live metrics.
pub(super) type LiveServer = JoinHandle<std::io::Result<()>>;

/// The live metrics (`--metrics-listen`) and their server's task, or none.
pub(super) async fn live_metrics(
    cfg: &RunConfig,
    phases: &[Phase],
    t0: Instant,
) -> Result<(Option<Arc<LiveMetrics>>, Option<LiveServer>), RunError> {
    let Some(addr) = cfg.metrics_listen else {
        return Ok((None, None));
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| RunError::Setup(format!("--metrics-listen {addr}: {e}")))?;
    if let Ok(a) = listener.local_addr() {
        eprintln!("rcload: live metrics on http://{a}/metrics");
    }
    let live = Arc::new(LiveMetrics::new(
        cfg.engine.gauges.clone(),
        phases.to_vec(),
        t0,
    ));
    let server = tokio::spawn(crate::metrics::live::serve(listener, live.clone()));
    Ok((Some(live), Some(server)))
}

/// What the summary says of `--max-connections-per-host`: how many requests waited for a
/// connection (counted as throttled).
pub(super) fn connection_cap_note(cfg: &RunConfig, target: &dyn Target) -> Option<String> {
    let n = cfg.transport.max_per_host?;
    let waits = target.connection_waits();
    Some(format!(
        "At most {} per host (--max-connections-per-host): {} waited for one{}.",
        crate::text::plural(n as u64, "connection", "connections"),
        crate::text::plural(waits, "request", "requests"),
        if waits > 0 {
            ", counted as throttled: the target did not get the schedule"
        } else {
            ""
        }
    ))
}
