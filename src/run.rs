//! One run, end to end: start the target (or the embedded mock), check it is there, run the
//! schedule through the engine, feed outcomes to the recorder, write the run directory.

use crate::config::{RunConfig, TargetSpec};
use crate::engine::{self, Outcome};
use crate::engine::{GaugeReading, Gauges};
use crate::metrics::Recorder;
use crate::metrics::interval::IntervalRecorder;
use crate::metrics::live::LiveMetrics;
use crate::profile;
use crate::profile::Phase;
use crate::progress::Progress;
use crate::report::events::EventsWriter;
use crate::report::hlog::HlogWriter;
use crate::report::model::PhaseBand;
use crate::report::runinfo::{RUN_SCHEMA, RunInfo};
use crate::report::timeseries::TimeseriesWriter;
use crate::report::{Summary, rundir, summary};
use crate::schedule::Schedule;
use crate::targets::http::{HttpConfig, HttpTarget};
use crate::targets::mapped::MappedTarget;
use crate::targets::{Target, TargetError};
use rcload_mock as mock;
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

/// Before the load on a standalone target: find what it already holds of the population,
/// and clean it (`--clean-start`) or stop naming it. Returns what the summary must say.
async fn preflight(
    cfg: &RunConfig,
    target: &dyn Target,
    population: &crate::schedule::Population,
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
    let mut mock_handle = None;
    let base_url = match &cfg.target {
        TargetSpec::EmbeddedMock => {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let mock_config = rcload_mock::MockConfig {
                spec: cfg.profile.mock.clone(),
                seed: cfg.seed,
                fault_epoch: Some(t0),
                ..mock::MockConfig::default()
            };
            let h = rcload_mock::spawn(addr, mock_config)
                .await
                .map_err(RunError::Mock)?;
            let url = format!("http://{}", h.addr);
            mock_handle = Some(h);
            url
        }
        TargetSpec::Url(u) => u.clone(),
    };
    let (target, adapter) = build_target(&cfg, &base_url)?;
    let target_name = match &cfg.target {
        TargetSpec::EmbeddedMock => match &adapter {
            None => format!("mock (embedded, {base_url})"),
            Some(a) => format!("mock (embedded, {base_url}, adapter {})", a.name),
        },
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

    let schedule = Schedule::new(&cfg.profile, cfg.seed);
    // A standalone target may hold what an earlier run left: find it before the load.
    let mut notes: Vec<String> = profile::cut_events(&cfg.profile)
        .into_iter()
        .map(|w| format!("The profile's {w}."))
        .collect();
    notes.extend(schedule.replay_notes().into_iter().map(|w| format!("{w}.")));
    let (t0, started_at) = match &cfg.target {
        TargetSpec::Url(_) => {
            if cfg.consent == Some(crate::targets::consent::Consent::Production) {
                let note = format!(
                    "PRODUCTION: this run loads {target_name}, listed under \
                     `target.production`, with --production."
                );
                eprintln!("rcload: {note}");
                notes.push(note);
            }
            if cfg.transport.tls.insecure {
                notes.push(
                    "INSECURE: the target's certificate was not checked (--insecure); a lab \
                     target only."
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
                    "The profile's `mock:` section (preset, capacity, faults) is ignored: the \
                     run goes to {target_name}, not to the built-in mock."
                ));
            }
            notes.extend(
                preflight(&cfg, target.as_ref(), schedule.population(), &target_name).await?,
            );
            // Set-up took a while: t=0 is from now (or the common start's instant).
            clock_start(cfg.start_at)
        }
        TargetSpec::EmbeddedMock => (t0, started_at),
    };

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

    let mut phases = schedule.phases().to_vec();
    // The load's end: every phase of the profile ends by then.
    let load_end_us = phases.iter().map(|p| p.end_us).max().unwrap_or(0);
    let teardown = cfg.teardown.map(|timeout| {
        let end_us = load_end_us;
        let timeout_us = u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX);
        phases.push(profile::teardown_phase(end_us, timeout_us));
        engine::TeardownConfig {
            timeout,
            phase: phases.len() - 1,
        }
    });
    let population = schedule.population().clone();
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
    let events_path = cfg.out_dir.join(rundir::EVENTS);
    let events = EventsWriter::create(&events_path, phases.clone(), population.clone(), started_at)
        .map_err(io_err(&events_path))?;
    let hlog_path = cfg.out_dir.join(rundir::HLOG);
    let hlog = HlogWriter::create(&hlog_path, started_at).map_err(io_err(&hlog_path))?;
    let csv_path = cfg.out_dir.join(rundir::TIMESERIES);
    let csv = TimeseriesWriter::create(&csv_path).map_err(io_err(&csv_path))?;
    let info = RunInfo {
        schema: RUN_SCHEMA.to_string(),
        rcload_version: env!("CARGO_PKG_VERSION").to_string(),
        profile: cfg.profile.name.clone(),
        profile_source: cfg.profile_source.clone(),
        seed: cfg.seed,
        target: target_name.clone(),
        adapter: adapter.clone(),
        started_at: crate::report::wall::rfc3339_millis(started_at),
        started_at_unix_s: started_at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
        interval_s: cfg.interval.as_secs_f64(),
        planned_duration_s: load_end_us as f64 / 1e6,
        lateness_limit_ms: cfg.lateness_limit_ms,
        dispatch_resolution_us: Some(
            u64::try_from(cfg.engine.dispatch_resolution.as_micros()).unwrap_or(u64::MAX),
        ),
        max_skipped: cfg.max_skipped,
        allow_no_slo: cfg.allow_no_slo,
        phases: PhaseBand::of(&phases),
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
    };
    write_run_info(&cfg.out_dir, &info)?;

    // Live metrics (a consumer like the others) and their server, for the run's length.
    let mut live = None;
    let mut live_server = None;
    if let Some(addr) = cfg.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| RunError::Setup(format!("--metrics-listen {addr}: {e}")))?;
        if let Ok(a) = listener.local_addr() {
            eprintln!("rcload: live metrics on http://{a}/metrics");
        }
        let l = Arc::new(LiveMetrics::new(
            cfg.engine.gauges.clone(),
            phases.clone(),
            t0,
        ));
        live_server = Some(tokio::spawn(crate::metrics::live::serve(
            listener,
            l.clone(),
        )));
        live = Some(l);
    }
    let planned = Duration::from_micros(load_end_us).max(cfg.profile.duration.0);

    let (tx, rx) = mpsc::unbounded_channel::<Outcome>();
    let (finish_tx, finish_rx) = oneshot::channel::<()>();
    let gauges = cfg.engine.gauges.clone();
    let consumer = tokio::spawn(consume(
        rx,
        finish_rx,
        Writers {
            rec: Recorder::new(phases.len())
                .with_phase_apart(teardown.map(|t| t.phase))
                .with_groups(crate::metrics::groups::Groups::new(&population)),
            events,
            interval: IntervalRecorder::new().with_phase_apart(teardown.map(|t| t.phase)),
            hlog,
            csv,
            phases: phases.clone(),
            gauges,
            before: GaugeReading::default(),
            start_us: 0,
            warned: false,
            live,
            progress: Progress::new(cfg.progress, planned),
        },
        t0,
        cfg.interval,
    ));

    let engine_cfg = engine::EngineConfig {
        start_at: Some(t0),
        teardown,
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
    if let Some(n) = cfg.transport.max_per_host {
        let waits = capped.connection_waits();
        notes.push(format!(
            "At most {} per host (--max-connections-per-host): {} waited for one{}.",
            crate::text::plural(n as u64, "connection", "connections"),
            crate::text::plural(waits, "request", "requests"),
            if waits > 0 {
                ", counted as throttled: the target did not get the schedule"
            } else {
                ""
            }
        ));
    }
    let _ = finish_tx.send(());
    let (rec, mut progress) = consumer
        .await
        .map_err(|e| RunError::Setup(format!("the recorder failed: {e}")))?;
    if let Some(h) = mock_handle {
        h.shutdown().await;
    }

    // Windowed and phase-scoped objectives are judged on the interval histograms just written.
    let windows = crate::report::windows::evaluate(&hlog_path, &cfg.profile.slo, &phases)
        .unwrap_or_else(|e| {
            eprintln!("rcload: warning: windowed objectives could not be judged: {e}");
            Default::default()
        });
    let summary = summary::build(
        &rec,
        &summary::RunFacts {
            profile: &cfg.profile,
            seed: cfg.seed,
            target: target_name,
            adapter,
            windows,
            phases: &phases,
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
    let json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| RunError::Setup(format!("cannot encode summary.json: {e}")))?;
    // The exact aggregates, for `rcload merge` of a sharded test.
    if let Err(e) = crate::metrics::totals::write(&rec, &cfg.out_dir.join(rundir::TOTALS)) {
        eprintln!("rcload: warning: {e}");
    }
    write_atomic(&cfg.out_dir.join(rundir::SUMMARY_JSON), &json)?;
    // The reports are derived from the files, as `rcload report` makes them.
    let reports = rundir::load(&cfg.out_dir).and_then(|d| rundir::write_reports(&cfg.out_dir, &d));
    if let Err(e) = reports {
        eprintln!("rcload: warning: the reports could not be written: {e}");
    }
    progress.finish(&summary, &cfg.out_dir.display().to_string());
    if let Some(s) = live_server {
        s.abort();
    }
    Ok(RunResult {
        summary,
        run_dir: cfg.out_dir.clone(),
    })
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

/// Everything the consumer writes to as outcomes come in.
struct Writers {
    rec: Recorder,
    events: EventsWriter,
    interval: IntervalRecorder,
    hlog: HlogWriter,
    csv: TimeseriesWriter,
    phases: Vec<Phase>,
    gauges: Arc<Gauges>,
    /// Gauges at the start of the open interval.
    before: GaugeReading,
    /// Start of the open interval, µs from t=0.
    start_us: u64,
    warned: bool,
    live: Option<Arc<LiveMetrics>>,
    progress: Progress,
}

impl Writers {
    fn take(&mut self, o: Outcome) {
        if let Some(l) = &self.live {
            l.record(&o);
        }
        self.rec.record(&o);
        self.interval.record(&o);
        self.events.consume(&o);
    }

    fn warn(&mut self, what: &str, e: std::io::Error) {
        if !self.warned {
            eprintln!("rcload: warning: cannot write {what}: {e}");
            self.warned = true;
        }
    }

    fn flush_events(&mut self) {
        if let Err(e) = self.events.flush() {
            self.warn("events.jsonl", e);
        }
    }

    /// Close the open interval at `end_us`: its histograms to latency.hlog, then (marking it
    /// whole) its row to timeseries.csv.
    fn close_interval(&mut self, end_us: u64) {
        let phase = self
            .phases
            .get(Schedule::phase_at(&self.phases, self.start_us))
            .map(|p| p.name.as_str())
            .unwrap_or("");
        let now = self.gauges.read();
        let closed = self
            .interval
            .close(self.start_us, end_us, phase, &self.before, &now);
        let (start_s, len_s) = (closed.row.t_s, closed.row.dt_s);
        let mut result = Ok(());
        for (tag, h) in &closed.hists {
            result = result.and_then(|_| self.hlog.write(tag, start_s, len_s, h));
        }
        let result = result
            .and_then(|_| self.hlog.flush())
            .and_then(|_| self.csv.write(&closed.row));
        if let Err(e) = result {
            self.warn("latency.hlog / timeseries.csv", e);
        }
        self.progress.interval(&closed.row);
        self.before = now;
        self.start_us = end_us;
    }
}

/// The one consumer of the engine's outcomes: the recorder, events.jsonl, and the interval
/// files, closed at each interval boundary from t=0.
async fn consume(
    mut rx: mpsc::UnboundedReceiver<Outcome>,
    mut finish_rx: oneshot::Receiver<()>,
    mut w: Writers,
    t0: Instant,
    interval: Duration,
) -> (Recorder, Progress) {
    let us =
        |t: Instant| u64::try_from(t.saturating_duration_since(t0).as_micros()).unwrap_or(u64::MAX);
    let mut ticks = tokio::time::interval_at((t0 + interval).into(), interval);
    loop {
        tokio::select! {
            biased;
            at = ticks.tick() => {
                // What came in before the boundary belongs to the interval it closes.
                for _ in 0..1_000_000 {
                    match rx.try_recv() {
                        Ok(o) => w.take(o),
                        Err(_) => break,
                    }
                }
                w.flush_events();
                w.close_interval(us(at.into_std()));
            }
            o = rx.recv() => match o {
                Some(o) => {
                    w.take(o);
                    // Take what else is waiting, then write it in one go.
                    for _ in 0..10_000 {
                        match rx.try_recv() {
                            Ok(o) => w.take(o),
                            Err(_) => break,
                        }
                    }
                    w.flush_events();
                }
                None => break,
            },
            _ = &mut finish_rx => {
                while let Ok(o) = rx.try_recv() {
                    w.take(o);
                }
                break;
            }
        }
    }
    w.flush_events();
    let end_us = us(Instant::now());
    if end_us > w.start_us {
        w.close_interval(end_us);
    }
    (w.rec, w.progress)
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
