//! From command-line arguments to the typed, validated configuration of a run. Everything that
//! depends on the environment (files, environment variables, clock) is resolved here, before
//! any request is sent.

use crate::cli::{ProfileArgs, RunArgs};
use crate::engine::{ConsoleChecks, EngineConfig};
use crate::profile::{self, Override, Profile, ProfileError, parse_override};
use crate::schedule::Shard;
use crate::targets::auth::Credentials;
use crate::targets::consent::{Consent, ConsentError};
use crate::targets::mapped::{self, AdapterError, Mapping};
use crate::targets::transport::{Transport, TransportError};
use rcload_api::parse_duration;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Where the load goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// The built-in mock, started in-process on a loopback port.
    EmbeddedMock,
    /// A radio-control system at this base URL.
    Url(String),
}

pub use crate::targets::auth::Secret;

mod reach;
pub use reach::{judge_target, transport_of, with_server_name};

/// A mapping-driven target: the compiled mapping file and the credentials it names.
#[derive(Debug, Clone)]
pub struct AdapterSetup {
    /// The file, as given.
    pub path: String,
    pub mapping: Mapping,
    pub credentials: Credentials,
}

/// Everything a run needs, resolved.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub profile: Profile,
    /// Where the profile came from (path or `builtin:<name>`).
    pub profile_source: String,
    pub seed: u64,
    pub target: TargetSpec,
    pub request_timeout: Duration,
    /// The largest event on a console's stream, bytes.
    pub max_event_bytes: usize,
    pub token: Option<Secret>,
    /// Speak the target's own interface through a mapping file instead of API v1.
    pub adapter: Option<AdapterSetup>,
    pub out_dir: PathBuf,
    pub quiet: bool,
    pub engine: EngineConfig,
    pub lateness_limit_ms: f64,
    /// The share (0 to 1) of scheduled actions that may be skipped before the run is invalid.
    pub max_skipped: f64,
    /// A run without objectives is an exploration, not invalid.
    pub allow_no_slo: bool,
    /// After the load (and after an interruption), end what the run left open on the
    /// target within this time; `None`: leave it (`--no-teardown`).
    pub teardown: Option<Duration>,
    /// Clean what a standalone target already holds of the population before the load,
    /// instead of stopping.
    pub clean_start: bool,
    /// The bound of the pre-flight's reads, and of its clean-up.
    pub preflight_timeout: Duration,
    /// Length of an interval of latency.hlog and timeseries.csv.
    pub interval: Duration,
    /// How progress is shown while the run goes.
    pub progress: crate::progress::ProgressMode,
    /// Where to serve live Prometheus metrics.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Pinned names and the proxy, for every connection of the run.
    pub transport: Transport,
    /// Why the target may be loaded (`None`: the embedded mock).
    pub consent: Option<Consent>,
    /// The command line, for run.json.
    pub command: Vec<String>,
    /// The shard this process runs (`--shard I/N`; whole by default).
    pub shard: Shard,
    /// The common start (`--start-at`, `--start-in`): t=0 at this instant.
    pub start_at: Option<SystemTime>,
}

/// Why a configuration could not be built (all are exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A profile that `--duration` cut: the error, and the flag that shortens it whole.
    #[error(
        "{source}\n  hint: --duration {duration} changes only the run's length, and every time \
         the profile places inside it stays; `--time-scale F` shrinks them all together (0.1: a \
         tenth of the profile)"
    )]
    DurationCut {
        duration: String,
        #[source]
        source: Box<ProfileError>,
    },
    #[error("--{flag}: {message}")]
    Flag { flag: &'static str, message: String },
    #[error("the environment variable {0} named by --token-env is not set")]
    TokenMissing(String),
    #[error("--token-file {path}: {message}")]
    TokenFile { path: String, message: String },
    #[error(transparent)]
    Consent(#[from] ConsentError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Adapter(#[from] AdapterError),
}

/// Load a mapping file and read the credentials it names.
pub fn load_adapter(path: &str) -> Result<AdapterSetup, ConfigError> {
    let mapping = mapped::load(path)?;
    let credentials = mapped::credentials(&mapping)?;
    Ok(AdapterSetup {
        path: path.to_string(),
        mapping,
        credentials,
    })
}

/// The mapping file a run uses: `--adapter`, else the profile's `target.adapter` (relative to
/// the profile's directory).
fn adapter_path(flag: Option<&str>, profile: &Profile, source: &str) -> Option<String> {
    if let Some(f) = flag {
        return Some(f.to_string());
    }
    let p = profile.target.adapter.as_deref()?;
    let dir = Path::new(source)
        .parent()
        .filter(|_| !source.starts_with("builtin:"));
    Some(match dir {
        Some(d) if Path::new(p).is_relative() && !d.as_os_str().is_empty() => {
            d.join(p).to_string_lossy().into_owned()
        }
        _ => p.to_string(),
    })
}

/// Load a profile with `--set`, `--seed` and `--duration` applied.
pub fn load_profile(spec: &str, args: &ProfileArgs) -> Result<(Profile, String), ConfigError> {
    let source = profile::read_source(spec)?;
    let mut overrides: Vec<Override> = args
        .set
        .iter()
        .map(|s| parse_override(s))
        .collect::<Result<_, _>>()?;
    if let Some(seed) = args.seed {
        overrides.push(parse_override(&format!("seed={seed}"))?);
    }
    if let Some(d) = &args.duration {
        parse_duration(d).map_err(|message| ConfigError::Flag {
            flag: "duration",
            message,
        })?;
        overrides.push(parse_override(&format!("duration={d}"))?);
    }
    let p = profile::load_scaled(&source, &overrides, args.time_scale).map_err(|e| {
        match (&args.duration, args.time_scale) {
            (Some(d), None) => ConfigError::DurationCut {
                duration: d.clone(),
                source: Box::new(e),
            },
            _ => ConfigError::Profile(e),
        }
    })?;
    let p = profile::resolve_clock(&source, &p, args.clock_start.as_deref())?;
    Ok((p, source.name))
}

fn duration_flag(flag: &'static str, text: &str) -> Result<Duration, ConfigError> {
    parse_duration(text).map_err(|message| ConfigError::Flag { flag, message })
}

/// Colour is allowed: `NO_COLOR` (no-color.org) is unset or empty.
pub fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The default run directory: `reports/<UTC time>-<profile>`.
pub fn default_run_dir(profile: &str) -> PathBuf {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp: String = now.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let safe: String = profile
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from("reports").join(format!("{stamp}-{safe}"))
}

impl RunConfig {
    /// Build the run configuration from `rcload run`'s arguments and the environment.
    pub fn from_args(args: &RunArgs) -> Result<Self, ConfigError> {
        let (profile, profile_source) = load_profile(&args.profile, &args.profile_args)?;
        let times = Times::of(args)?;
        let (target, transport, consent) = reach_of(args, &profile, &profile_source)?;
        let token = match &args.token_file {
            Some(path) => Some(token_from_file(path)?),
            None => token_from_env(&args.token_env)?,
        };
        let progress = progress_mode(args)?;
        let metrics_listen = metrics_listen(args)?;
        let adapter = adapter_path(args.adapter.as_deref(), &profile, &profile_source)
            .map(|p| load_adapter(&p))
            .transpose()?;
        // The mapping may send token requests and event streams to other hosts: each one
        // needs the same consent as the target.
        if let (Some(a), TargetSpec::Url(_)) = (&adapter, &target) {
            for u in adapter_hosts(a) {
                judge_target(&u, &profile.target, &args.reach, &transport)?;
            }
        }
        let dispatch_resolution = engine_flags(args)?;
        let out_dir = args
            .out
            .clone()
            .unwrap_or_else(|| default_run_dir(&profile.name));
        let shard = shard_of(args, adapter.as_ref())?;
        let start_at = start_instant(args.start_at.as_deref(), args.start_in.as_deref())?;
        let c = &profile.checks;
        let engine = EngineConfig {
            max_in_flight: args.max_in_flight,
            dispatch_resolution,
            delivery_timeout: c.delivery_timeout.0,
            grace: times.grace,
            drain_timeout: times.request + Duration::from_secs(1),
            checks: ConsoleChecks {
                missed_for_drop: c.missed_for_drop,
                reattach: c.reattach,
                stream_idle_timeout: c.stream_idle_timeout.0,
                reconnect_initial: c.reconnect.initial.0,
                reconnect_max: c.reconnect.max.0,
                reconnect_jitter: c.reconnect.jitter.fraction,
            },
            seed: profile.seed,
            shard,
            ..EngineConfig::default()
        };
        Ok(RunConfig {
            seed: profile.seed,
            profile,
            profile_source,
            target,
            request_timeout: times.request,
            max_event_bytes: args.max_event_bytes,
            token,
            adapter,
            out_dir,
            quiet: args.profile_args.quiet,
            engine,
            lateness_limit_ms: args.max_lateness_ms,
            max_skipped: rcload_api::parse_percent(&args.max_skipped)
                .map_err(|message| ConfigError::Flag {
                    flag: "max-skipped",
                    message,
                })?
                .fraction,
            allow_no_slo: args.allow_no_slo,
            teardown: (!args.no_teardown).then_some(times.teardown),
            clean_start: args.clean_start,
            preflight_timeout: times.teardown,
            interval: times.interval,
            progress,
            metrics_listen,
            transport,
            consent,
            command: std::env::args().collect(),
            shard,
            start_at,
        })
    }
}

/// The run's time flags, checked: `--timeout`, `--grace`, `--teardown-timeout`, `--interval`.
struct Times {
    request: Duration,
    grace: Duration,
    teardown: Duration,
    interval: Duration,
}

impl Times {
    fn of(args: &RunArgs) -> Result<Self, ConfigError> {
        let request_timeout = duration_flag("timeout", &args.timeout)?;
        if request_timeout.is_zero() {
            return Err(ConfigError::Flag {
                flag: "timeout",
                message: "must be more than zero".into(),
            });
        }
        let grace = duration_flag("grace", &args.grace)?;
        let teardown_timeout = duration_flag("teardown-timeout", &args.teardown_timeout)?;
        if teardown_timeout.is_zero() {
            return Err(ConfigError::Flag {
                flag: "teardown-timeout",
                message: "must be more than zero (--no-teardown skips the teardown)".into(),
            });
        }
        let interval = duration_flag("interval", &args.interval)?;
        if interval < Duration::from_millis(10) || interval > Duration::from_secs(3600) {
            return Err(ConfigError::Flag {
                flag: "interval",
                message: "must be from 10ms to 1h".into(),
            });
        }
        Ok(Times {
            request: request_timeout,
            grace,
            teardown: teardown_timeout,
            interval,
        })
    }
}

/// The target (`--target` or the profile's `target.url`), how it is reached (TLS, proxy,
/// pinned names, the server name), and whether it may be loaded.
fn reach_of(
    args: &RunArgs,
    profile: &Profile,
    profile_source: &str,
) -> Result<(TargetSpec, Transport, Option<Consent>), ConfigError> {
    let target_url = args.target.as_ref().or(profile.target.url.as_ref());
    let target = match target_url {
        None => TargetSpec::EmbeddedMock,
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
            TargetSpec::Url(u.clone())
        }
        Some(u) => {
            return Err(ConfigError::Flag {
                flag: "target",
                message: format!("`{u}` must start with http:// or https://"),
            });
        }
    };
    let profile_dir = Path::new(profile_source)
        .parent()
        .filter(|d| !profile_source.starts_with("builtin:") && !d.as_os_str().is_empty());
    let mut transport = transport_of(&args.reach, &profile.target, profile_dir)?;
    let consent = match &target {
        TargetSpec::Url(u) => Some(judge_target(u, &profile.target, &args.reach, &transport)?),
        TargetSpec::EmbeddedMock => None,
    };
    if consent == Some(Consent::Production) && transport.tls.insecure {
        return Err(ConfigError::Flag {
            flag: "insecure",
            message: "refused for a production target: its certificate must be checked".into(),
        });
    }
    let server_name = args
        .reach
        .tls_server_name
        .as_ref()
        .or(profile.target.tls_server_name.as_ref());
    let target = match (target, server_name) {
        (TargetSpec::Url(u), Some(name)) => {
            TargetSpec::Url(with_server_name(&u, name, &mut transport)?)
        }
        (t, _) => t,
    };
    Ok((target, transport, consent))
}

/// How progress is shown: nothing (`-q`), a bar on a terminal, or a plain line every
/// `--progress-every`.
fn progress_mode(args: &RunArgs) -> Result<crate::progress::ProgressMode, ConfigError> {
    let progress_every = duration_flag("progress-every", &args.progress_every)?;
    if progress_every < Duration::from_millis(100) {
        return Err(ConfigError::Flag {
            flag: "progress-every",
            message: "must be at least 100ms".into(),
        });
    }
    Ok(if args.profile_args.quiet {
        crate::progress::ProgressMode::Off
    } else if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        crate::progress::ProgressMode::Bar {
            color: no_color_unset(),
        }
    } else {
        crate::progress::ProgressMode::Plain {
            every: progress_every,
        }
    })
}

/// `--metrics-listen`'s address, if given.
fn metrics_listen(args: &RunArgs) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    Ok(match &args.metrics_listen {
        None => None,
        Some(a) => Some(a.parse().map_err(|_| ConfigError::Flag {
            flag: "metrics-listen",
            message: format!("`{a}` is not an address such as 127.0.0.1:9464"),
        })?),
    })
}

/// The engine's flags, checked (`--max-in-flight`, `--max-event-bytes`); returns
/// `--dispatch-resolution`.
fn engine_flags(args: &RunArgs) -> Result<Duration, ConfigError> {
    if args.max_in_flight == 0 {
        return Err(ConfigError::Flag {
            flag: "max-in-flight",
            message: "must be at least 1".into(),
        });
    }
    let dispatch_resolution = duration_flag("dispatch-resolution", &args.dispatch_resolution)?;
    if dispatch_resolution > Duration::from_millis(10) {
        return Err(ConfigError::Flag {
            flag: "dispatch-resolution",
            message: format!(
                "at most 10ms (a coarser grid would make every near action up to that \
                 late), got `{}`",
                args.dispatch_resolution
            ),
        });
    }
    if args.max_event_bytes == 0 {
        return Err(ConfigError::Flag {
            flag: "max-event-bytes",
            message: "must be at least 1".into(),
        });
    }
    Ok(dispatch_resolution)
}

/// `--shard I/N`, refused with a mapping that correlates events (only the process that sent a
/// request can match it).
fn shard_of(args: &RunArgs, adapter: Option<&AdapterSetup>) -> Result<Shard, ConfigError> {
    let shard = match &args.shard {
        None => Shard::WHOLE,
        Some(t) => Shard::parse(t).map_err(|e| ConfigError::Flag {
            flag: "shard",
            message: e.to_string(),
        })?,
    };
    if let (false, Some(a)) = (shard.is_whole(), adapter)
        && a.mapping.events.matching == crate::targets::mapped::spec::Matching::Correlate
    {
        return Err(ConfigError::Flag {
            flag: "shard",
            message: format!(
                "the mapping {} matches events by correlation (`events.matching: \
                 correlate`), which only the process that sent a request can do: a \
                 shard could not match what its consoles receive of the other shards' \
                 actions. Shard only targets whose events carry rcload's reference",
                a.path
            ),
        });
    }
    Ok(shard)
}

/// The farthest ahead a common start may be: further is taken for a mistake.
const START_AHEAD_MAX: Duration = Duration::from_secs(24 * 3600);

/// The instant of `--start-at` (RFC 3339) or `--start-in` (a duration from now).
fn start_instant(
    at: Option<&str>,
    within: Option<&str>,
) -> Result<Option<SystemTime>, ConfigError> {
    let when = match (at, within) {
        (Some(text), _) => {
            let ts: jiff::Timestamp = text.trim().parse().map_err(|e| ConfigError::Flag {
                flag: "start-at",
                message: format!(
                    "`{text}` is not an RFC 3339 instant such as 2026-12-02T12:00:00Z: {e}"
                ),
            })?;
            SystemTime::from(ts)
        }
        (None, Some(text)) => SystemTime::now() + duration_flag("start-in", text)?,
        (None, None) => return Ok(None),
    };
    if when
        .duration_since(SystemTime::now())
        .is_ok_and(|ahead| ahead > START_AHEAD_MAX)
    {
        return Err(ConfigError::Flag {
            flag: if at.is_some() { "start-at" } else { "start-in" },
            message: "is more than 24 hours ahead: not a start time".into(),
        });
    }
    Ok(Some(when))
}

/// The absolute URLs of a mapping besides the target's: its OAuth token URL and its event
/// channel, when they name a host (a template is judged on what comes before its first
/// placeholder: a host written out in full).
fn adapter_hosts(a: &AdapterSetup) -> Vec<String> {
    let mut urls = Vec::new();
    if let Credentials::OAuth2(o) = &a.credentials {
        urls.push(o.token_url.clone());
    }
    if let Some(u) = a.mapping.events.url.source(&a.mapping.env) {
        urls.push(u);
    }
    urls.into_iter()
        .map(|u| match u.find("{{") {
            Some(i) => u[..i].to_string(),
            None => u,
        })
        .filter(|u| u.contains("://"))
        .collect()
}

/// The token of `--token-env` (unset is no token, unless a name other than the default was
/// given).
fn token_from_env(name: &str) -> Result<Option<Secret>, ConfigError> {
    match std::env::var(name) {
        Ok(t) if !t.is_empty() => Ok(Some(Secret(t))),
        _ if name != "RCLOAD_TOKEN" => Err(ConfigError::TokenMissing(name.to_string())),
        _ => Ok(None),
    }
}

/// The first line of `--token-file` (the file's contents are never printed).
fn token_from_file(path: &Path) -> Result<Secret, ConfigError> {
    let err = |message: String| ConfigError::TokenFile {
        path: path.display().to_string(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if meta.len() > 64 * 1024 {
        return Err(err("larger than 64 KiB: not a token".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.is_empty() {
        return Err(err("is empty".into()));
    }
    Ok(Secret(token))
}
