//! `summary.json`: the run's results in a versioned schema (`docs/summary.md`,
//! `docs/summary.schema.json`). Built from the recorder's aggregates; latencies in ms.

mod build;

pub use build::{RunFacts, build};

use crate::judge::{SloResult, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The schema id written in every summary. Version 2 added the verdict `invalid` and
/// `verdict_reasons`.
pub const SCHEMA: &str = "rcload.summary/3";

/// The major versions this build reads: its own, and 1 (a version-1 file reads as version 2
/// without reasons).
pub const READS: [&str; 3] = [SCHEMA, "rcload.summary/2", "rcload.summary/1"];

/// Can this build read a summary of schema `found`?
pub fn readable(found: &str) -> bool {
    READS
        .iter()
        .any(|ours| super::limits::same_schema(found, ours))
}

pub use super::latency::{LatencyMs, ms};

/// Generator lateness (intended to sent) in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatenessMs {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// The load generator's own account: did it offer the schedule as planned?
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorSummary {
    pub actions_scheduled: u64,
    pub actions_sent: u64,
    /// Actions not sent because their entity was not in the needed state, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Times a due action found the in-flight cap full and had to wait.
    pub throttled: u64,
    pub lateness_ms: LatenessMs,
    /// True when the generator could not keep to the schedule (lateness p99 over the limit, or
    /// throttled): latencies are then not valid.
    pub fell_behind: bool,
    /// The lateness p99 limit used for `fell_behind`, ms.
    pub lateness_limit_ms: f64,
}

/// One operation's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationSummary {
    pub count: u64,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    /// From the action's intended time to the response.
    pub latency_ms: LatencyMs,
    /// From sending the request to the response.
    pub service_ms: LatencyMs,
}

/// One delivered event type's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySummary {
    pub expected: u64,
    pub delivered: u64,
    pub missed: u64,
    /// From the sending action's intended time to receipt at a console.
    pub latency_ms: LatencyMs,
}

/// One operation within a phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseOperation {
    pub count: u64,
    pub errors: u64,
    pub latency_ms: LatencyMs,
}

/// One phase's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSummary {
    pub start_s: f64,
    pub end_s: f64,
    pub operations: BTreeMap<String, PhaseOperation>,
    /// Deliveries of events sent by actions in this phase.
    pub deliveries: BTreeMap<String, DeliverySummary>,
    /// Findings whose time falls in this phase.
    pub talkgroup_drops: u64,
    pub console_disconnects: u64,
    pub missed_deliveries: u64,
}

/// A talkgroup that fell away at a console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalkgroupDrop {
    /// When it was detected, from the run's t=0.
    pub t_s: f64,
    pub phase: String,
    pub console: String,
    pub talkgroup: u32,
    /// `announced`, `audit` or `delivery`.
    pub detected_by: String,
    /// From detection until it was attached again (the repair time); null if it never was
    /// before the end.
    pub recovered_after_s: Option<f64>,
    /// The last evidence that it still worked, from t=0: a delivery on it, or its attach; for
    /// a drop found by an audit or announced, an audit that listed it too. (Absent from
    /// `rcload.summary/1` files.)
    #[serde(default)]
    pub last_ok_s: f64,
    /// From the last evidence to detection.
    #[serde(default)]
    pub detection_s: f64,
    /// From the last evidence to the repair (or to the end of the load, when never
    /// repaired): an upper bound of the outage a dispatcher lived through.
    #[serde(default)]
    pub outage_s: f64,
}

/// A console whose event stream was lost while rcload had it logged in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleDisconnect {
    pub t_s: f64,
    pub phase: String,
    pub console: String,
    /// `stream_end`, `stream_error: <class>`, `kicked: <reason>`, `heartbeat_timeout`,
    /// `stream_open: <class>`, `attach: <class>`; prefixed `never_connected: ` when the console
    /// never had its stream open and attached since it logged in.
    pub reason: String,
    /// From the loss until the stream was open and attached again (the repair time); null if
    /// never.
    pub recovered_after_s: Option<f64>,
    /// The last evidence that its stream still worked, from t=0: bytes on it, a delivery, or
    /// its attach. (Absent from `rcload.summary/1` files.)
    #[serde(default)]
    pub last_ok_s: f64,
    /// From the last evidence to detection.
    #[serde(default)]
    pub detection_s: f64,
    /// From the last evidence to the repair (or to the end of the load): an upper bound.
    #[serde(default)]
    pub outage_s: f64,
}

/// A talkgroup an audit found at a console that had not attached it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnexpectedTalkgroup {
    pub t_s: f64,
    pub phase: String,
    pub console: String,
    pub talkgroup: u32,
}

/// Time consoles spent disconnected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Downtime {
    pub total: f64,
    /// Per console id, only consoles that were down.
    pub consoles: BTreeMap<String, f64>,
}

/// The probe calls rcload added so quiet talkgroups carry traffic, apart from the profile's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSummary {
    pub calls: u64,
    pub errors: u64,
    pub expected: u64,
    pub delivered: u64,
    pub missed: u64,
    pub latency_ms: LatencyMs,
}

/// The process's own resource use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSummary {
    /// Peak resident memory of the rcload process (generator, and the mock when embedded), MB.
    pub peak_rss_mb: Option<f64>,
}

/// How a mapping-driven target was driven (`--adapter`); absent for API v1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterSummary {
    /// The mapping's `name`.
    pub name: String,
    /// The mapping file as given.
    pub file: String,
    /// `none`, `bearer`, `basic`, `header` or `oauth2` (never a secret).
    pub auth: String,
    /// `reference`: the system echoes rcload's reference, delivery latency is exact.
    /// `correlated`: events were matched by kind, talkgroup and caller within a window.
    pub delivery_matching: String,
    /// The correlation window, seconds (with `correlated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_window_s: Option<f64>,
    /// Actions the system does not offer (skipped, counted as `unsupported`).
    pub unsupported: Vec<String>,
}

/// How the run left the target: what its teardown ended, and what is still open by
/// rcload's view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeardownSummary {
    /// False with `--no-teardown` (and in a summary rebuilt after a kill).
    pub ran: bool,
    /// Requests the teardown sent (calls ended, terminals deregistered, consoles logged out);
    /// their figures are in phase `teardown`.
    pub requests: u64,
    /// The `--teardown-timeout` came before every request was answered.
    pub timed_out: bool,
    /// Still open on the target by rcload's view: calls, terminals registered, consoles
    /// logged in.
    pub left_calls: u64,
    pub left_terminals: u64,
    pub left_consoles: u64,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub schema: String,
    pub rcload_version: String,
    /// `pass`, `fail` or `invalid`.
    pub verdict: Verdict,
    /// Why, first reason first: what makes the run invalid, or the objectives that failed.
    /// (Absent from `rcload.summary/1` files.)
    #[serde(default)]
    pub verdict_reasons: Vec<String>,
    pub profile: String,
    pub seed: u64,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<AdapterSummary>,
    pub started_at: String,
    pub duration_s: f64,
    pub interrupted: bool,
    pub generator: GeneratorSummary,
    pub operations: BTreeMap<String, OperationSummary>,
    pub deliveries: BTreeMap<String, DeliverySummary>,
    pub phases: BTreeMap<String, PhaseSummary>,
    /// (Absent from `rcload.summary/1` files.)
    #[serde(default)]
    pub teardown: TeardownSummary,
    pub talkgroup_drops: Vec<TalkgroupDrop>,
    pub console_disconnects: Vec<ConsoleDisconnect>,
    pub unexpected_talkgroups: Vec<UnexpectedTalkgroup>,
    pub console_downtime_s: Downtime,
    /// Per control room (by id): its consoles, drops, disconnects, downtime, missed
    /// deliveries and delivery latency; the rooms add up to the totals. (Absent from files
    /// before `rcload.summary/3`, and from a summary rebuilt from raw data.)
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rooms: BTreeMap<String, super::groups::GroupSummary>,
    /// The same per discipline of a fleet map's consoles (police, fire, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub disciplines: BTreeMap<String, super::groups::GroupSummary>,
    /// All missed deliveries, the profile's and the probes'.
    pub missed_deliveries: u64,
    pub probes: ProbeSummary,
    pub slo: Vec<SloResult>,
    /// Per operation and delivery type (`delivery.<type>`), its worst minute: the
    /// `worst_window_s` window of the load with the highest p99 (the teardown apart). Empty in
    /// files written before it was added.
    #[serde(default)]
    pub worst_windows: BTreeMap<String, WorstWindow>,
    #[serde(default)]
    pub worst_window_s: f64,
    /// Things the reader must know to trust the figures (generator behind, interrupted, ...).
    pub warnings: Vec<String>,
    pub process: ProcessSummary,
}

/// An operation's or delivery type's worst window (interval histograms merged over it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorstWindow {
    /// When it started, seconds from t=0.
    pub start_s: f64,
    /// Samples in it: calls made, or deliveries that arrived.
    pub samples: u64,
    pub latency_ms: LatencyMs,
}
