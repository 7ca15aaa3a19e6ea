//! The profile format v1: the typed shape of a load profile as a user writes it in YAML.
//!
//! Unknown keys are rejected everywhere. Semantic checks that span fields live in `validate`.

use rcload_api::{Dur, Percent, Rate};
use serde::{Deserialize, Deserializer, Serialize, de};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

fn default_seed() -> u64 {
    1
}

/// A load profile: population, background traffic, timed events, checks and SLOs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Seed of every random choice in the schedule (`--seed` overrides it).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The time zone of clock times (`at: "14:00"`, daily rates): an IANA name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Length of the run, from the first scheduled action.
    pub duration: Dur,
    pub population: Population,
    #[serde(default)]
    pub setup: Setup,
    /// Open-model background load, from the end of setup to the end of the run.
    #[serde(default)]
    pub traffic: Vec<TrafficEntry>,
    #[serde(default)]
    pub events: Vec<EventSpec>,
    #[serde(default)]
    pub checks: Checks,
    #[serde(default)]
    pub slo: Slo,
    /// Settings of the embedded mock, used only when the run targets it: capacity preset and
    /// overrides, stream queues, faults with times from the run's t=0 (`docs/mock.md`).
    #[serde(default, skip_serializing_if = "rcload_mock::MockSpec::is_empty")]
    pub mock: rcload_mock::MockSpec,
    /// Where the load goes, when the command line does not say.
    #[serde(default, skip_serializing_if = "TargetSection::is_empty")]
    pub target: TargetSection,
    /// Raised (or lowered) limits of this profile (`profile::limits`, docs/profiles.md).
    #[serde(default, skip_serializing_if = "ProfileLimits::is_empty")]
    pub limits: ProfileLimits,
    /// The fleet map `population.fleet` names, loaded with the profile.
    #[serde(skip)]
    pub fleet: Option<std::sync::Arc<crate::fleet::Fleet>>,
}

/// The profile's `limits:` section: each field that is set replaces the default limit of the
/// same name, for this profile only (the defaults and the checks are in `profile::limits`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileLimits {
    /// Longest `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Dur>,
    /// Most `population.control_rooms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_rooms: Option<u64>,
    /// Most consoles of all rooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consoles: Option<u64>,
    /// Most `population.terminals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminals: Option<u64>,
    /// Most talkgroups of all rooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talkgroups: Option<u64>,
    /// Most (console, monitored talkgroup) pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitored: Option<u64>,
    /// Highest rate of one stream (a traffic stream's peak, the audits, the probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Most background calls in progress at once (rate x hold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls_in_progress: Option<u64>,
    /// Most timed events, each day of a daily one counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    /// Most actions of all timed events together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_actions: Option<u64>,
}

impl ProfileLimits {
    pub fn is_empty(&self) -> bool {
        *self == ProfileLimits::default()
    }
}

/// The profile's `target:` section (`--target` and `--adapter` win over it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    /// Base URL of the system under test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A mapping file (`docs/adapters.md`); a relative path is taken from the profile's
    /// directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// Hosts (names or addresses) this profile may load besides loopback (docs/security.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Production hosts: refused unless the run is given `--production`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub production: Vec<String>,
    /// How the target is reached, as the flags of the same names (the flag wins); file
    /// paths are taken from the profile's directory (docs/security.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tls: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub http2: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolve: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections_per_host: Option<u32>,
}

impl TargetSection {
    pub fn is_empty(&self) -> bool {
        *self == TargetSection::default()
    }
}

/// Who takes part: control rooms with their consoles and talkgroups, and radio terminals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    /// A fleet map (docs/fleet.md), in place of the figures below; a relative path is taken
    /// from the profile's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<String>,
    /// A fleet made up from a known system's figures (`like: c2000`), seeded by the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like: Option<Like>,
    #[serde(default)]
    pub control_rooms: u32,
    #[serde(default)]
    pub consoles_per_room: u32,
    #[serde(default)]
    pub terminals: u32,
    #[serde(default)]
    pub talkgroups_per_room: u32,
    /// Talkgroups each console monitors, out of its room's.
    #[serde(default)]
    pub monitored_per_console: u32,
}

/// The setup phase: every console logs in and every terminal registers, spread over `over`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    pub over: Dur,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            over: Dur(Duration::from_secs(30)),
        }
    }
}

/// Kind of a background traffic stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrafficAction {
    /// A terminal sends a status message on its talkgroup.
    Status,
    /// A terminal starts a group call on its talkgroup (ended after `hold`).
    GroupCall,
    /// A terminal starts an emergency call on its talkgroup (ended after `hold`).
    EmergencyCall,
    /// A terminal moves to another talkgroup of its room.
    Affiliate,
}

/// Arrival process of a traffic stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Exponential inter-arrival times (memoryless, like independent users).
    #[default]
    Poisson,
    /// Evenly spaced arrivals.
    Uniform,
}

/// One open-model background traffic stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    pub action: TrafficAction,
    /// A constant rate, or a curve over the day or over the run (`profile::clock`).
    pub rate: super::clock::RateSpec,
    #[serde(default)]
    pub arrival: Arrival,
    /// How long a call lasts (calls only; default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Dur>,
}

/// Records naming an entity the fleet does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayMap {
    /// Skipped, counted and reported.
    #[default]
    None,
    /// Mapped onto the fleet's by a hash of their id.
    Hash,
}

/// A known system whose figures a fleet or a day of records can be made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Like {
    /// C2000 (../shared/DOMAIN.md): 13 rooms, 2,200 consoles, 80,000 radios.
    C2000,
}

/// Where a replay's records come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplaySource {
    /// A records file; a relative path is taken from the profile's directory.
    File(String),
    /// A recorded-style day made up from a known system's figures and the profile's fleet
    /// (`like: c2000`), since no real records may ship.
    Like(Like),
}

impl std::fmt::Display for ReplaySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplaySource::File(p) => f.write_str(p),
            ReplaySource::Like(Like::C2000) => f.write_str("a C2000-like day"),
        }
    }
}

/// Recorded traffic replayed at its recorded offsets (`traffic: - replay: records.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub source: ReplaySource,
    /// 2 replays the records twice as fast.
    pub speed: f64,
    /// The slice of the records replayed: a clock time of the records (`"14:00"`) or
    /// seconds from the first record.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The slice this many times, one after the other.
    pub repeat: u32,
    pub map: ReplayMap,
    /// The records, read (or made) with the profile.
    pub records: Option<std::sync::Arc<crate::replay::Records>>,
}

/// One entry of `traffic:`: a stream at a rate, or a replay of recorded traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TrafficItem", into = "TrafficItem")]
pub enum TrafficEntry {
    Formula(Traffic),
    Replay(Replay),
}

impl TrafficEntry {
    /// The stream at a rate, if this is one.
    pub fn formula(&self) -> Option<&Traffic> {
        match self {
            TrafficEntry::Formula(t) => Some(t),
            TrafficEntry::Replay(_) => None,
        }
    }

    pub fn formula_mut(&mut self) -> Option<&mut Traffic> {
        match self {
            TrafficEntry::Formula(t) => Some(t),
            TrafficEntry::Replay(_) => None,
        }
    }

    pub fn replay(&self) -> Option<&Replay> {
        match self {
            TrafficEntry::Replay(r) => Some(r),
            TrafficEntry::Formula(_) => None,
        }
    }
}

/// A `traffic:` entry as written: the fields of both kinds, told apart by `replay`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrafficItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action: Option<TrafficAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rate: Option<super::clock::RateSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arrival: Option<Arrival>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hold: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replay: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    like: Option<Like>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    speed: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    repeat: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    map: Option<ReplayMap>,
}

impl TryFrom<TrafficItem> for TrafficEntry {
    type Error = String;

    fn try_from(t: TrafficItem) -> Result<Self, String> {
        let source = match (t.replay, t.like) {
            (Some(_), Some(_)) => {
                return Err("a replay takes `replay: FILE` or `like: c2000`, not both".into());
            }
            (Some(f), None) => Some(ReplaySource::File(f)),
            (None, Some(l)) => Some(ReplaySource::Like(l)),
            (None, None) => None,
        };
        match (source, t.action, t.rate) {
            (Some(source), None, None) if t.arrival.is_none() && t.hold.is_none() => {
                Ok(TrafficEntry::Replay(Replay {
                    source,
                    speed: t.speed.unwrap_or(1.0),
                    from: t.from,
                    to: t.to,
                    repeat: t.repeat.unwrap_or(1),
                    map: t.map.unwrap_or_default(),
                    records: None,
                }))
            }
            (Some(_), _, _) => Err(
                "a replay entry takes `replay`, `speed`, `from`, `to`, `repeat` and `map`, not \
                 `action`, `rate`, `arrival` or `hold`"
                    .into(),
            ),
            (None, Some(action), Some(rate))
                if t.speed.is_none()
                    && t.from.is_none()
                    && t.to.is_none()
                    && t.repeat.is_none()
                    && t.map.is_none() =>
            {
                Ok(TrafficEntry::Formula(Traffic {
                    action,
                    rate,
                    arrival: t.arrival.unwrap_or_default(),
                    hold: t.hold,
                }))
            }
            (None, Some(_), Some(_)) => Err(
                "`speed`, `from`, `to`, `repeat` and `map` belong to a replay entry (`replay: \
                 records.csv`)"
                    .into(),
            ),
            (None, None, _) => {
                Err("missing field `action` (or `replay` for recorded traffic)".into())
            }
            (None, Some(_), None) => Err("missing field `rate`".into()),
        }
    }
}

impl From<TrafficEntry> for TrafficItem {
    fn from(e: TrafficEntry) -> Self {
        match e {
            TrafficEntry::Formula(t) => TrafficItem {
                action: Some(t.action),
                rate: Some(t.rate),
                arrival: Some(t.arrival),
                hold: t.hold,
                ..TrafficItem::default()
            },
            TrafficEntry::Replay(r) => TrafficItem {
                replay: match &r.source {
                    ReplaySource::File(f) => Some(f.clone()),
                    ReplaySource::Like(_) => None,
                },
                like: match r.source {
                    ReplaySource::Like(l) => Some(l),
                    ReplaySource::File(_) => None,
                },
                speed: (r.speed != 1.0).then_some(r.speed),
                from: r.from,
                to: r.to,
                repeat: (r.repeat != 1).then_some(r.repeat),
                map: (r.map != ReplayMap::None).then_some(r.map),
                ..TrafficItem::default()
            },
        }
    }
}

/// Kind of a timed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ShiftChange,
    EmergencyBurst,
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::ShiftChange => "shift_change",
            EventKind::EmergencyBurst => "emergency_burst",
        }
    }
}

/// Distribution of logouts over a shift change's `logout_over` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    #[default]
    Uniform,
    /// Normal around the window's middle, sigma = window / 6, clipped to the window.
    Normal,
}

/// A timed event. Which fields apply depends on `kind` (checked in `validate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    pub kind: EventKind,
    /// Phase name in results (default: the kind, numbered if it repeats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Start of the event: from the start of the run (`40s`), or a clock time (`"14:00"`).
    pub at: super::clock::At,
    /// With a clock time: `daily` repeats it every day the run lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<super::clock::Repeat>,
    // shift_change
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consoles: Option<Percent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminals: Option<Percent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_over: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Shape>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handover: Option<Dur>,
    // emergency_burst
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talkgroups: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Dur>,
}

/// Fields that belong to each event kind, for validation and help.
pub const SHIFT_CHANGE_FIELDS: &[&str] =
    &["consoles", "terminals", "logout_over", "shape", "handover"];
pub const EMERGENCY_BURST_FIELDS: &[&str] = &["calls", "over", "talkgroups", "hold"];

/// Checks the engine makes while it runs, and how its consoles recover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    /// An expected event not received this long after its action's intended time is missed.
    #[serde(default = "default_delivery_timeout")]
    pub delivery_timeout: Dur,
    /// How often each console's talkgroup list is read and compared (`0s`: never). The
    /// audits are spread over the consoles, not all at once.
    #[serde(default = "default_audit_every")]
    pub audit_every: Dur,
    /// Consecutive missed deliveries on one console and talkgroup that make a drop (0: never).
    #[serde(default = "default_missed_for_drop")]
    pub missed_for_drop: u32,
    /// Every monitored talkgroup gets a short probe group call this often (`0s`: no probes).
    #[serde(default = "default_probe_every")]
    pub probe_every: Dur,
    /// A console stream with no bytes (not even `: ping`) for this long is lost.
    #[serde(default = "default_stream_idle_timeout")]
    pub stream_idle_timeout: Dur,
    /// Backoff of a console reconnecting its lost stream.
    #[serde(default)]
    pub reconnect: Reconnect,
    /// Re-attach a dropped talkgroup.
    #[serde(default = "default_true")]
    pub reattach: bool,
}

fn default_delivery_timeout() -> Dur {
    Dur(Duration::from_secs(5))
}
fn default_audit_every() -> Dur {
    Dur(Duration::from_secs(30))
}
fn default_missed_for_drop() -> u32 {
    2
}
fn default_probe_every() -> Dur {
    Dur(Duration::from_secs(60))
}
fn default_stream_idle_timeout() -> Dur {
    Dur(Duration::from_secs(45))
}
fn default_true() -> bool {
    true
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            delivery_timeout: default_delivery_timeout(),
            audit_every: default_audit_every(),
            missed_for_drop: default_missed_for_drop(),
            probe_every: default_probe_every(),
            stream_idle_timeout: default_stream_idle_timeout(),
            reconnect: Reconnect::default(),
            reattach: true,
        }
    }
}

/// Exponential backoff with jitter: the n-th retry waits `initial * 2^n`, at most `max`, less a
/// random share of up to `jitter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reconnect {
    #[serde(default = "default_reconnect_initial")]
    pub initial: Dur,
    #[serde(default = "default_reconnect_max")]
    pub max: Dur,
    #[serde(default = "default_reconnect_jitter")]
    pub jitter: Percent,
}

fn default_reconnect_initial() -> Dur {
    Dur(Duration::from_millis(200))
}
fn default_reconnect_max() -> Dur {
    Dur(Duration::from_secs(10))
}
fn default_reconnect_jitter() -> Percent {
    Percent { fraction: 0.2 }
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            initial: default_reconnect_initial(),
            max: default_reconnect_max(),
            jitter: default_reconnect_jitter(),
        }
    }
}

/// Latency limits of one operation or delivery type. All are upper bounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p999: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Dur>,
    /// Judge the worst window of this length (interval histograms merged over the window),
    /// not the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Dur>,
    /// Judge only this phase: a phase name (`steady`, `shift_change-2`) or an event kind (all
    /// its phases: `shift_change`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<String>,
    /// `per: room`: every control room must meet the limit on its own consoles' deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<Per>,
}

/// What an objective is judged for, one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    /// Each control room.
    Room,
}

/// A maximum count judged per control room: `talkgroup_drops: { max: 0, per: room }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomCount {
    pub max: u64,
    pub per: Per,
}

impl LatencyLimits {
    /// Whether the objective is judged on a window or a phase, not the whole run.
    pub fn is_scoped(&self) -> bool {
        self.window.is_some() || self.during.is_some()
    }

    /// The text added to the objective's name: ` (worst 1m window during shift_change)`.
    pub fn scope_text(&self) -> String {
        match (&self.window, &self.during) {
            (None, None) => String::new(),
            (Some(w), None) => format!(" (worst {w} window)"),
            (None, Some(p)) => format!(" (during {p})"),
            (Some(w), Some(p)) => format!(" (worst {w} window during {p})"),
        }
    }

    /// Whether every control room must meet it.
    pub fn per_room(&self) -> bool {
        self.per == Some(Per::Room)
    }

    /// The limits that are set, as (statistic name, quantile or None for max, limit).
    pub fn entries(&self) -> Vec<(&'static str, Option<f64>, Dur)> {
        let mut out = Vec::new();
        let all = [
            ("p50", Some(0.50), self.p50),
            ("p90", Some(0.90), self.p90),
            ("p95", Some(0.95), self.p95),
            ("p99", Some(0.99), self.p99),
            ("p999", Some(0.999), self.p999),
            ("max", None, self.max),
        ];
        for (name, q, limit) in all {
            if let Some(l) = limit {
                out.push((name, q, l));
            }
        }
        out
    }
}

/// Service-level objectives: latency limits per operation (`console.login`) or delivery type
/// (`delivery.emergency.alert`), and a run-wide `error_rate`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slo {
    pub error_rate: Option<Percent>,
    pub latency: BTreeMap<String, LatencyLimits>,
    /// Most findings allowed: `talkgroup_drops`, `console_disconnects`, `missed_deliveries`.
    pub max_counts: BTreeMap<String, u64>,
    /// Most findings allowed in every control room (`talkgroup_drops: { max: 0, per: room }`).
    pub room_counts: BTreeMap<String, RoomCount>,
}

impl Slo {
    /// How many objectives it names (each statistic of a latency key is one).
    pub fn len(&self) -> usize {
        self.latency
            .values()
            .map(|l| l.entries().len())
            .sum::<usize>()
            + self.max_counts.len()
            + self.room_counts.len()
            + usize::from(self.error_rate.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A count objective as written: a number (the whole run) or `{ max, per: room }`.
enum CountLimit {
    Run(u64),
    Room(RoomCount),
}

impl<'de> Deserialize<'de> for CountLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = CountLimit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a count (0 or more), or `{ max: N, per: room }`")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<CountLimit, E> {
                Ok(CountLimit::Run(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<CountLimit, E> {
                u64::try_from(n)
                    .map(CountLimit::Run)
                    .map_err(|_| E::custom("a count must be 0 or more"))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<CountLimit, A::Error> {
                RoomCount::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(CountLimit::Room)
            }
        }
        d.deserialize_any(V)
    }
}

/// SLO keys that take a maximum count.
pub const COUNT_SLOS: &[&str] = &[
    "talkgroup_drops",
    "console_disconnects",
    "missed_deliveries",
];

impl Serialize for Slo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, v) in &self.latency {
            m.serialize_entry(k, v)?;
        }
        for (k, v) in &self.max_counts {
            m.serialize_entry(k, v)?;
        }
        for (k, v) in &self.room_counts {
            m.serialize_entry(k, v)?;
        }
        if let Some(e) = &self.error_rate {
            m.serialize_entry("error_rate", e)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Slo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Slo;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of operation names to latency limits, and `error_rate`")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Slo, E> {
                Ok(Slo::default())
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Slo, A::Error> {
                let mut slo = Slo::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "error_rate" {
                        slo.error_rate = Some(map.next_value()?);
                    } else if COUNT_SLOS.contains(&key.as_str()) {
                        match map.next_value::<CountLimit>()? {
                            CountLimit::Run(n) => slo.max_counts.insert(key, n),
                            CountLimit::Room(r) => slo.room_counts.insert(key, r).map(|r| r.max),
                        };
                    } else {
                        let limits: LatencyLimits = map.next_value()?;
                        slo.latency.insert(key, limits);
                    }
                }
                Ok(slo)
            }
        }
        d.deserialize_map(V)
    }
}
