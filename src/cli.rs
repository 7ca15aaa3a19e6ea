//! Command-line definitions (clap) only: parsing and per-flag validation. `config` turns these
//! into the typed configuration the engine sees; nothing below `config` imports clap.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Open-model load and soak testing for radio-control (dispatch console) systems.
#[derive(Debug, Parser)]
#[command(name = "rcload", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a load profile against a target (default: the built-in mock, in-process).
    Run(RunArgs),
    /// Check a profile and print its resolved schedule: phases, actions per kind, peak rate.
    Validate(ValidateArgs),
    /// Serve the built-in mock radio-control system (API v1) until Ctrl-C.
    Mock(MockArgs),
    /// Rebuild a run directory's reports (report.html, junit.xml, summary.md) from its raw
    /// data; works on a run that was killed (then summary.json is rebuilt too).
    Report(ReportArgs),
    /// Merge the run directories of a sharded test (`run --shard I/N`) into one: exact
    /// histogram sums, counts, timeseries, findings and events, judged as one run and with
    /// every report. Exit codes as `run`'s.
    Merge(MergeArgs),
    /// Compare two runs (directories or summary.json files); exit 1 on a regression.
    Compare(CompareArgs),
    /// Nightly runs over time: trend.md, trend.csv and trend.html, one row per run.
    Trend(TrendArgs),
    /// List the built-in profiles.
    Profiles,
    /// Find how much load the target takes before the profile's objectives break: run it at
    /// rising levels (each stage a full run), stop at the first failing one, report the curve.
    Capacity(CapacityArgs),
    /// Log out every console and deregister every terminal of a profile's population on a
    /// standalone target (`--target`, and `--adapter` for a mapped one): what a killed run
    /// left. Takes `run`'s flags; those about the load are ignored.
    Cleanup(RunArgs),
    /// Work with mapping files (`--adapter`, docs/adapters.md).
    #[command(subcommand)]
    Adapter(AdapterCommand),
    /// Work with fleet maps (`population: { fleet: fleet.yaml }`, docs/fleet.md).
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Work with recorded traffic (`traffic: - replay: records.csv`, docs/fleet.md).
    #[command(subcommand)]
    Replay(ReplayCommand),
}

#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Print a records file's span, its rate per minute and its peak minute.
    Inspect(ReplayInspectArgs),
    /// Write a recorded-style day (calls, statuses, emergencies, shift changes) made up from
    /// C2000's figures for a fleet, since no real records may ship.
    Generate(ReplayGenerateArgs),
}

#[derive(Debug, Args)]
pub struct ReplayGenerateArgs {
    /// The fleet map whose terminals and consoles the records name [default: a C2000-like
    /// fleet generated with `--seed`].
    #[arg(long, value_name = "FLEET")]
    pub fleet: Option<PathBuf>,
    /// The slice of the day, a clock time.
    #[arg(long, default_value = "00:00", value_name = "HH:MM")]
    pub from: String,
    #[arg(long, default_value = "24:00", value_name = "HH:MM")]
    pub to: String,
    #[arg(long, default_value_t = 2023)]
    pub seed: u64,
    /// The records file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReplayInspectArgs {
    /// The records file (CSV).
    #[arg(value_name = "RECORDS")]
    pub records: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Write a fleet map (fleet.yaml and its CSV files) from a few figures, with the skew
    /// real fleets have: uneven rooms, talkgroup popularity after a Zipf-like law, monitored
    /// sets that overlap.
    Generate(FleetGenerateArgs),
    /// Map every ISSI, GSSI, console and room id of a fleet map and its records files to
    /// synthetic ones, keyed: the same input and key give the same output, and nothing can
    /// be reversed without the key.
    Anonymise(FleetAnonymiseArgs),
}

#[derive(Debug, Args)]
pub struct FleetAnonymiseArgs {
    /// The fleet map (fleet.yaml).
    #[arg(value_name = "FLEET")]
    pub fleet: PathBuf,
    /// Records files to map the same way.
    #[arg(value_name = "RECORDS")]
    pub records: Vec<PathBuf>,
    /// A file holding the key (at least 16 bytes; e.g. `head -c 32 /dev/urandom > key`).
    #[arg(long, value_name = "FILE")]
    pub key_file: PathBuf,
    /// The directory to write to (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct FleetGenerateArgs {
    /// Start from a known system's figures (`c2000`: ../shared/DOMAIN.md); the flags below
    /// change them.
    #[arg(long, value_parser = ["c2000"])]
    pub like: Option<String>,
    /// Control rooms [default: 4, or the system's].
    #[arg(long)]
    pub rooms: Option<u32>,
    /// Consoles over all rooms [default: 40].
    #[arg(long)]
    pub consoles: Option<u32>,
    /// Radio terminals [default: 2000].
    #[arg(long)]
    pub terminals: Option<u32>,
    /// Talkgroups, a tenth of them shared [default: 100].
    #[arg(long)]
    pub talkgroups: Option<u32>,
    /// Talkgroups each console monitors, besides one shared [default: 6].
    #[arg(long)]
    pub monitored: Option<u32>,
    /// Disciplines and their shares of consoles and terminals: `police=0.5,fire=0.3,
    /// ambulance=0.2`, or names alone for equal shares [default: none].
    #[arg(long, value_name = "LIST")]
    pub disciplines: Option<String>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// The directory to write to (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// What rises from stage to stage: `scale` (every rate and shift-change size together; 1.0
    /// is the profile as written) or a field (`traffic.status.rate`,
    /// `events.shift_change.terminals`, any `--set` path).
    #[arg(long, default_value = "scale", value_name = "FIELD")]
    pub vary: String,
    /// The first level.
    #[arg(long, default_value_t = 0.5, value_name = "LEVEL")]
    pub from: f64,
    /// The highest level tried.
    #[arg(long, default_value_t = 4.0, value_name = "LEVEL")]
    pub to: f64,
    /// When the lowest level fails, levels halve downward to this one: the report states a
    /// capacity, or that it is below the floor.
    #[arg(long, default_value_t = 0.1, value_name = "LEVEL")]
    pub floor: f64,
    /// Levels evenly from --from to --to (instead of --factor).
    #[arg(long, value_name = "N", conflicts_with = "factor")]
    pub steps: Option<usize>,
    /// Each level this factor above the last (default 1.5).
    #[arg(long, value_name = "F")]
    pub factor: Option<f64>,
    /// Each stage's length (default: the profile's duration).
    #[arg(long, value_name = "DURATION")]
    pub stage: Option<String>,
    /// After the first failing level: `bisect` narrows down between the last pass and the
    /// first fail to --resolution; `none` stops.
    #[arg(long, value_enum, default_value = "none")]
    pub search: SearchMode,
    /// Bisection stops when the first fail is within this share above the last pass.
    #[arg(long, default_value = "5%", value_name = "PERCENT")]
    pub resolution: String,
    /// Pause between stages against a real target (then its health check must answer about as
    /// fast as before the first stage).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub cooldown: String,
    /// Most levels measured in all (stages measured again after the generator fell behind
    /// come on top, at most --retries per level).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_stages: usize,
    /// A stage whose generator fell behind (the level was not offered) is run again up to N
    /// times before it counts as a failure; the stages measured again stay in the report,
    /// marked "not counted".
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub retries: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SearchMode {
    None,
    Bisect,
}

#[derive(Debug, Subcommand)]
pub enum AdapterCommand {
    /// Pre-flight: send each mapped action once with a test console and terminal (cleaning
    /// up after itself), open the event channel, and print a verdict per step. Exit 0 only
    /// when every supported action works.
    Check(AdapterCheckArgs),
}

#[derive(Debug, Args)]
pub struct AdapterCheckArgs {
    /// The mapping file.
    #[arg(long, value_name = "FILE")]
    pub adapter: String,
    /// Base URL of the system. Without it, the built-in mock (API v1) is started on a loopback
    /// port.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Timeout of one request.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub timeout: String,
    /// How long to wait for each expected event.
    #[arg(long, default_value = "3s", value_name = "DURATION")]
    pub event_timeout: String,
    /// The test console's id.
    #[arg(long, default_value = "rcload-check-1", value_name = "ID")]
    pub console: String,
    /// The test terminal's ISSI.
    #[arg(long, default_value_t = 16_777_001, value_name = "ISSI")]
    pub issi: u32,
    /// Two talkgroups (GSSI) for the test: the console attaches both, the terminal registers
    /// on the first and moves to the second.
    #[arg(long, value_delimiter = ',', default_values_t = [100_001u32, 100_002u32], value_name = "GSSI,GSSI")]
    pub talkgroups: Vec<u32>,
    #[command(flatten)]
    pub reach: ReachArgs,
}

/// Options that choose and change a profile.
#[derive(Debug, Args, Clone)]
pub struct ProfileArgs {
    /// Override a profile field: `--set population.terminals=500`, `--set traffic.0.rate=80/s`,
    /// `--set 'slo[console.login].p99=2s'`. May be repeated; applied in order.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Seed of the schedule (shortcut for `--set seed=N`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Length of the run, e.g. `90s`, `10m` (shortcut for `--set duration=D`); every other
    /// time of the profile stays (see --time-scale).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Multiply every time of the profile's timeline by F (duration, set-up, event times and
    /// spreads, holds, rate-curve points, windows, the mock's fault times): `0.1` runs a
    /// 10-minute profile as a 1-minute rehearsal at the same rates.
    #[arg(long, value_name = "F")]
    pub time_scale: Option<f64>,
    /// Print only the result (`run`) or nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// For profiles with clock times (`at: "14:00"`): build the schedule as if the run started
    /// at this time, e.g. `2026-03-28T13:59:30` (in the profile's time zone). Default: now.
    #[arg(long, value_name = "DATETIME")]
    pub clock_start: Option<String>,
}

/// Which target a run may load and how it is reached (docs/security.md): a target on loopback
/// needs none of these; any other host must be named.
#[derive(Debug, Args, Clone, Default)]
pub struct ReachArgs {
    /// Let the run load this host (a name or an address), besides loopback and the profile's
    /// `target.allow`. May be repeated.
    #[arg(long = "allow-target", value_name = "HOST")]
    pub allow_target: Vec<String>,
    /// Let the run load a host listed under the profile's `target.production`; the run says
    /// so at its start and in every report.
    #[arg(long)]
    pub production: bool,
    /// Let the run send plain http:// (unencrypted) to a host off loopback.
    #[arg(long)]
    pub allow_plain_http: bool,
    /// Connect to ADDR for HOST:PORT instead of resolving HOST, as curl's --resolve. May be
    /// repeated.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Send every connection through this proxy, e.g. `http://proxy.lab:3128`. Without it
    /// (or --proxy-from-env) connections go straight to the target, whatever the environment.
    #[arg(long, value_name = "URL", conflicts_with = "proxy_from_env")]
    pub proxy: Option<String>,
    /// Use the environment's proxy variables (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY).
    #[arg(long)]
    pub proxy_from_env: bool,
    /// Trust the CA certificates of this PEM bundle, besides the built-in roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Offer this client certificate chain (PEM) for mutual TLS; needs --client-key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The private key of --client-cert (PEM; never printed).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Connect to the target's address but ask for, and verify, this name (SNI and the
    /// certificate's name; it is also the Host header).
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// The lowest TLS version accepted.
    #[arg(long, value_name = "VERSION", value_parser = ["1.2", "1.3"])]
    pub min_tls: Option<String>,
    /// Accept any certificate of the target (lab targets only: refused for a production
    /// target, and said in every report).
    #[arg(long)]
    pub insecure: bool,
    /// Speak HTTP/2 (ALPN h2 over TLS, prior knowledge over plain http); HTTP/1.1 by default.
    #[arg(long)]
    pub http2: bool,
    /// The local address connections are made from, e.g. `10.0.0.5`.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// At most N requests in flight to one host and N idle connections kept (event channels
    /// have their own); a request that waits for a connection counts as throttled.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_host: Option<u32>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A profile file, or the name of a built-in profile (`rcload profiles`).
    #[arg(default_value = "smoke", value_name = "PROFILE")]
    pub profile: String,
    #[command(flatten)]
    pub profile_args: ProfileArgs,
    /// Base URL of the radio-control system under test, e.g. `https://host:8443`.
    /// Without it, rcload starts its built-in mock on a loopback port.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Run directory for the results (default: `reports/<UTC time>-<profile>/`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run shard I of N (`0/4`: the first of four processes that run one test together,
    /// docs/scale-out.md): it sends only the actions of its own consoles and terminals (by
    /// index modulo N) and expects only the deliveries to its own consoles. `rcload merge`
    /// makes one run of the N run directories.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Start the run's clock at this instant (RFC 3339, e.g. `2026-12-02T12:00:00Z`), the
    /// same for every shard; run.json records how late it actually began.
    #[arg(long, value_name = "RFC3339", conflicts_with = "start_in")]
    pub start_at: Option<String>,
    /// Start the run's clock this long after rcload starts, e.g. `30s`.
    #[arg(long, value_name = "DURATION")]
    pub start_in: Option<String>,
    /// A mapping file that describes the target's own interface (`docs/adapters.md`), e.g.
    /// `adapters/vendor-x.yaml`. Without it (and without `target.adapter` in the profile),
    /// rcload speaks API v1.
    #[arg(long, value_name = "FILE")]
    pub adapter: Option<String>,
    /// Timeout of one request, e.g. `10s`: its headers and its body (answers over 4 MiB are a
    /// protocol error). The same bounds opening a console's stream (its headers, or the body
    /// of an error answer), a token fetch and a WebSocket handshake.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub timeout: String,
    /// Environment variable holding the bearer token (never printed or written).
    #[arg(long, default_value = "RCLOAD_TOKEN", value_name = "NAME")]
    pub token_env: String,
    /// A file holding the bearer token (its first line; never printed or written), instead of
    /// the environment variable of --token-env.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub reach: ReachArgs,
    /// Most requests in flight at once; a due action waits when it is full (counted).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_in_flight: usize,
    /// How finely actions are timed: one nearer than this is sent at the next multiple of it
    /// from the run's start, with the others due by then (its lateness stays under it); a
    /// further one at its own microsecond. Finer costs CPU at high rates (a wake per
    /// resolution); `0s` times every action alone. At most 10ms.
    #[arg(long, default_value = "750us", value_name = "DURATION")]
    pub dispatch_resolution: String,
    /// The largest event on a console's stream (an SSE event, a WebSocket message, a polled
    /// answer), bytes; a larger one ends the stream as a protocol error (a disconnect).
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_event_bytes: usize,
    /// After Ctrl-C or SIGTERM, how long to wait for requests in flight.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub grace: String,
    /// Generator lateness p99 (ms) above which the run is marked as fallen behind.
    #[arg(long, default_value_t = 10.0, value_name = "MS")]
    pub max_lateness_ms: f64,
    /// The share of scheduled actions that may be skipped (their console or terminal not in
    /// the state they need) before the run is invalid, e.g. `5%`.
    #[arg(long, default_value = "5%", value_name = "PERCENT")]
    pub max_skipped: String,
    /// Accept a profile without objectives (`slo:`) as an exploratory run; without this flag
    /// such a run is invalid (exit 4): nothing was judged.
    #[arg(long)]
    pub allow_no_slo: bool,
    /// After the load, and after Ctrl-C or SIGTERM, end what the run left open on the target
    /// (calls, registrations, logins) within this time: the `teardown` phase. It bounds the
    /// pre-flight before the load too.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub teardown_timeout: String,
    /// Leave what the run opened on the target as it is (summary.json says what).
    #[arg(long)]
    pub no_teardown: bool,
    /// When a standalone target already holds consoles logged in or terminals registered of
    /// this run's population, log them out and deregister them before the load (without it
    /// the run stops, exit 3, naming them).
    #[arg(long)]
    pub clean_start: bool,
    /// Length of an interval of latency.hlog and timeseries.csv.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub interval: String,
    /// When stderr is not a terminal (CI): one progress line this often. On a terminal a
    /// progress bar is shown instead; `--quiet` shows neither.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub progress_every: String,
    /// Serve the run's live state in Prometheus text format at `http://ADDR/metrics`, e.g.
    /// `127.0.0.1:9464` (port 0 picks one; the address is printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A profile file, or the name of a built-in profile.
    #[arg(value_name = "PROFILE")]
    pub profile: String,
    #[command(flatten)]
    pub profile_args: ProfileArgs,
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// Require `Authorization: Bearer <token>` with the token in this environment variable.
    #[arg(long, value_name = "NAME")]
    pub token_env: Option<String>,
    /// The mock's configuration (YAML, docs/mock.md): `preset`, capacity, stream queues,
    /// `faults` (times from the mock's start).
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,
    /// Inject the faults of this YAML file (`faults: [...]`); added to `--config`'s.
    #[arg(long, value_name = "FILE")]
    pub faults: Option<String>,
    /// Seed for faults that pick a share of consoles or talkgroups.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Start the fault clock at this instant (RFC 3339) instead of at start-up: the faults'
    /// times then line up with runs started with `run --start-at` at the same instant.
    #[arg(long, value_name = "RFC3339")]
    pub start_at: Option<String>,
    /// The interface to serve: rcload's API v1, or `vendor-x`, a differently shaped vendor
    /// interface for trying adapters (docs/mock.md).
    #[arg(long, value_enum, default_value = "api-v1")]
    pub dialect: MockDialect,
    /// vendor-x: the OAuth2 client id accepted at `/oauth2/token`.
    #[arg(long, default_value = "rcload", value_name = "ID")]
    pub client_id: String,
    /// vendor-x: the environment variable holding the OAuth2 client secret. When it is set,
    /// every `/xapi` request needs a token; when not, vendor-x needs none.
    #[arg(long, default_value = "RCLOAD_MOCK_CLIENT_SECRET", value_name = "NAME")]
    pub client_secret_env: String,
    /// vendor-x: lifetime of the tokens it issues, e.g. `60s`.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub token_lifetime: String,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key. HTTP/2 and HTTP/1.1 by
    /// ALPN.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require a client certificate that chains to one of these CAs (PEM): mutual TLS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// A request's headers must arrive within this, and a connection may idle this long
    /// between requests; then it is closed (and counted). The TLS handshake too.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub header_timeout: String,
    /// Client connections open at once; more are closed as soon as accepted (and counted).
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub max_connections: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MockDialect {
    ApiV1,
    VendorX,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run directory (as `rcload run --out` made it).
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' run directories (`run --shard I/N --out DIR`), in any order.
    #[arg(value_name = "RUN_DIR", required = true)]
    pub run_dirs: Vec<PathBuf>,
    /// The merged run directory to write (must not hold a run).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Shards whose clocks began further apart than this are named in a warning.
    #[arg(long, default_value = "5ms", value_name = "DURATION")]
    pub max_skew: String,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// `BASE_RUN CANDIDATE_RUN`, or only `CANDIDATE_RUN` with `--base`: run directories or
    /// summary.json files.
    #[arg(value_name = "RUN", num_args = 1..=2, required = true)]
    pub runs: Vec<PathBuf>,
    /// A base run; may be given several times (the last N nights): the candidate is judged
    /// against their median, their spread shown.
    #[arg(long = "base", value_name = "RUN")]
    pub bases: Vec<PathBuf>,
    /// How much worse a percentile or error rate may get: `10%`, `0.1`.
    #[arg(long, default_value = "10%", value_name = "PERCENT")]
    pub max_regression: String,
    /// Differences below this many milliseconds are noise, never a regression.
    #[arg(long, default_value_t = 2.0, value_name = "MS")]
    pub min_delta_ms: f64,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "md")]
    pub format: CompareFormat,
    /// Also write the comparison to this file (format from --format).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrendArgs {
    /// Runs: run directories or summary.json files, in any order (they are sorted by start).
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<PathBuf>,
    /// Where to write trend.md, trend.csv and trend.html.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    Md,
    Html,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--talkgroups` as docs/adapters.md writes it (`GSSI,GSSI`; `main` checks there are two).
    #[test]
    fn adapter_check_talkgroups_parse_as_documented() {
        for args in [
            vec!["--talkgroups", "100005,100006"],
            vec!["--talkgroups=100005,100006"],
        ] {
            let mut argv = vec!["rcload", "adapter", "check", "--adapter", "a.yaml"];
            argv.extend(args.iter().copied());
            let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            let Command::Adapter(AdapterCommand::Check(a)) = cli.command else {
                panic!("not adapter check");
            };
            assert_eq!(a.talkgroups, [100_005, 100_006], "{argv:?}");
        }
    }

    /// The flag's default is the engine's (the CLI holds it as text for clap).
    #[test]
    fn the_dispatch_resolution_default_is_the_engines() {
        let cli = Cli::try_parse_from(["rcload", "run", "p.yaml"])
            .unwrap_or_else(|e| panic!("rcload run p.yaml: {e}"));
        let Command::Run(a) = cli.command else {
            panic!("not run");
        };
        assert_eq!(
            rcload_api::parse_duration(&a.dispatch_resolution),
            Ok(crate::engine::DEFAULT_DISPATCH_RESOLUTION)
        );
    }
}
