//! `summary.json`: the run's results in a versioned schema (`docs/summary.md`,
//! `docs/summary.schema.json`). Built from the recorder's aggregates; latencies in ms.

use crate::engine::{Delivery, EngineReport};
use crate::judge::{self, Observed, SloResult, Verdict};
use crate::metrics::Recorder;
use crate::profile::Phase;
use crate::profile::Profile;
use crate::schedule::{Population, Schedule};
use rcload_api::Op;
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

/// What the summary needs besides the recorder.
pub struct RunFacts<'a> {
    pub profile: &'a Profile,
    pub seed: u64,
    pub target: String,
    pub adapter: Option<AdapterSummary>,
    /// Figures of windowed and phase-scoped objectives, and the worst windows
    /// (`report::windows`).
    pub windows: super::windows::Figures,
    pub phases: &'a [Phase],
    pub population: &'a Population,
    pub engine: &'a EngineReport,
    /// Generator lateness p99 above this (ms) marks the run as behind.
    pub lateness_limit_ms: f64,
    /// The share of scheduled actions that may be skipped before the run is invalid.
    pub max_skipped: f64,
    /// A run without objectives is an exploration (`--allow-no-slo`), not invalid.
    pub allow_no_slo: bool,
    /// Killed: rebuilt from the run directory's files by `rcload report`.
    pub rebuilt: bool,
    /// What set-up found or did that the reader must know (the pre-flight).
    pub notes: Vec<String>,
    pub peak_rss_mb: Option<f64>,
    /// What makes the data incomplete, each an invalid reason (`rcload merge`: shards
    /// missing or killed).
    pub incomplete: Vec<String>,
}

fn secs(us: u64) -> f64 {
    (us as f64 / 1e3).round() / 1e3
}

/// Build the summary and judge the SLOs.
pub fn build(rec: &Recorder, facts: &RunFacts<'_>) -> Summary {
    let mut operations = BTreeMap::new();
    for (op, s) in &rec.ops {
        operations.insert(
            op.name().to_string(),
            OperationSummary {
                count: s.count,
                ok: s.ok,
                errors: s.errors.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                latency_ms: LatencyMs::of(&s.latency),
                service_ms: LatencyMs::of(&s.service),
            },
        );
    }
    let deliveries = delivery_summaries(&rec.deliveries);
    let mut phases = BTreeMap::new();
    for (i, p) in facts.phases.iter().enumerate() {
        let ops = rec
            .phase_ops
            .get(i)
            .map(|m| {
                m.iter()
                    .map(|(op, s)| {
                        (
                            op.name().to_string(),
                            PhaseOperation {
                                count: s.count,
                                errors: s.error_count(),
                                latency_ms: LatencyMs::of(&s.latency),
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let in_phase = |at_us: u64| Schedule::phase_at(facts.phases, at_us) == i;
        phases.insert(
            p.name.clone(),
            PhaseSummary {
                start_s: secs(p.start_us),
                end_s: secs(p.end_us),
                operations: ops,
                deliveries: rec
                    .phase_deliveries
                    .get(i)
                    .map(delivery_summaries)
                    .unwrap_or_default(),
                talkgroup_drops: rec.drops.iter().filter(|d| in_phase(d.at_us)).count() as u64,
                console_disconnects: rec.disconnects.iter().filter(|d| in_phase(d.at_us)).count()
                    as u64,
                missed_deliveries: rec.missed.per_phase.get(&i).copied().unwrap_or(0),
            },
        );
    }
    let phase_name = |at_us: u64| {
        facts
            .phases
            .get(Schedule::phase_at(facts.phases, at_us))
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let console = |c: u32| facts.population.console_id(c);
    let end_us = (facts.engine.load_s * 1e6) as u64;
    let downtime = rec.downtime_us(end_us);
    let (rooms, disciplines) = super::groups::summaries(rec, facts.population, end_us);
    let mut slo = judge::judge(
        &facts.profile.slo,
        |key, q, limits| {
            if limits.is_scoped() {
                facts
                    .windows
                    .scoped
                    .get(&super::windows::scoped_key(key, q))
                    .copied()
                    .unwrap_or((Observed::NoSamples, None))
            } else {
                (observe(rec, key, q), None)
            }
        },
        rec.total_errors(),
        rec.total_ops(),
    );
    slo.extend(judge::judge_counts(&facts.profile.slo, |key| match key {
        "talkgroup_drops" => rec.drops.len() as u64,
        "console_disconnects" => rec.disconnects.len() as u64,
        _ => rec.missed.total,
    }));
    slo.extend(judge::judge_rooms(
        &facts.profile.slo,
        |key, q| super::groups::room_latency(rec, facts.population, key, q),
        |key| super::groups::room_count(&rooms, key),
    ));
    slo.extend(judge::judge_connected(never_connected(rec)));
    slo.extend(judge::judge_received(
        deliveries_meant(rec, facts.population),
        rec.deliveries.values().map(|d| d.delivered).sum::<u64>() + rec.probes.deliveries.delivered,
    ));
    let lateness = LatenessMs {
        p50: ms(rec.lateness.value_at_quantile(0.5)),
        p99: ms(rec.lateness.value_at_quantile(0.99)),
        max: ms(rec.lateness.max()),
    };
    let validity = judge::Validity {
        lateness_p99_ms: lateness.p99,
        lateness_limit_ms: facts.lateness_limit_ms,
        throttled: rec.throttled,
        scheduled: facts.engine.actions_scheduled,
        skipped: rec
            .skipped
            .iter()
            .filter(|(reason, _)| **reason != crate::engine::SkipReason::Unsupported.name())
            .map(|(_, n)| n)
            .sum(),
        max_skipped: facts.max_skipped,
        interrupted: facts.engine.interrupted,
        rebuilt: facts.rebuilt,
        objectives: facts.profile.slo.len(),
        allow_no_slo: facts.allow_no_slo,
        incomplete: facts.incomplete.clone(),
    };
    let fell_behind = validity.fell_behind();
    let mut warnings = facts.notes.clone();
    let teardown = teardown_summary(facts.engine);
    if let Some(w) = teardown_warning(&teardown, facts.rebuilt) {
        warnings.push(w);
    }
    if validity.objectives == 0 && facts.allow_no_slo {
        warnings.push(
            "The profile sets no objectives: an exploratory run (--allow-no-slo). Its verdict \
             says only that the figures are valid, not that the target meets any objective."
                .to_string(),
        );
    }
    if let Some(a) = &facts.adapter {
        if a.delivery_matching == "correlated" {
            warnings.push(format!(
                "Delivery latency is correlated, not exact: the system does not echo rcload's \
                 reference, so each event was matched to the oldest request of the same kind, \
                 talkgroup and caller within {:.0} s.",
                a.correlation_window_s.unwrap_or(0.0)
            ));
        }
        let skipped = rec.skipped.get("unsupported").copied().unwrap_or(0);
        if !a.unsupported.is_empty() && skipped > 0 {
            warnings.push(format!(
                "The target does not offer {} (unsupported in adapter {}): {skipped} actions \
                 were skipped.",
                a.unsupported.join(", "),
                a.name
            ));
        }
    }
    let (verdict, verdict_reasons) = judge::assess(&validity, &slo);
    Summary {
        schema: SCHEMA.to_string(),
        rcload_version: env!("CARGO_PKG_VERSION").to_string(),
        verdict,
        verdict_reasons,
        profile: facts.profile.name.clone(),
        seed: facts.seed,
        target: facts.target.clone(),
        adapter: facts.adapter.clone(),
        started_at: super::wall::rfc3339_millis(facts.engine.started_at),
        duration_s: (facts.engine.load_s * 1000.0).round() / 1000.0,
        interrupted: facts.engine.interrupted,
        generator: GeneratorSummary {
            actions_scheduled: facts.engine.actions_scheduled,
            actions_sent: facts.engine.actions_sent,
            skipped: rec
                .skipped
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            throttled: rec.throttled,
            lateness_ms: lateness,
            fell_behind,
            lateness_limit_ms: facts.lateness_limit_ms,
        },
        operations,
        deliveries,
        phases,
        teardown,
        talkgroup_drops: rec
            .drops
            .iter()
            .map(|d| {
                let o = Outage::of(d.last_ok_us, d.at_us, d.recovered_after_us, end_us);
                TalkgroupDrop {
                    t_s: secs(d.at_us),
                    phase: phase_name(d.at_us),
                    console: console(d.console),
                    talkgroup: d.talkgroup,
                    detected_by: d.detected_by.name().to_string(),
                    recovered_after_s: d.recovered_after_us.map(secs),
                    last_ok_s: o.last_ok_s,
                    detection_s: o.detection_s,
                    outage_s: o.outage_s,
                }
            })
            .collect(),
        console_disconnects: rec
            .disconnects
            .iter()
            .map(|d| {
                let o = Outage::of(d.last_ok_us, d.at_us, d.recovered_after_us, end_us);
                ConsoleDisconnect {
                    t_s: secs(d.at_us),
                    phase: phase_name(d.at_us),
                    console: console(d.console),
                    reason: d.reason.clone(),
                    recovered_after_s: d.recovered_after_us.map(secs),
                    last_ok_s: o.last_ok_s,
                    detection_s: o.detection_s,
                    outage_s: o.outage_s,
                }
            })
            .collect(),
        unexpected_talkgroups: rec
            .unexpected
            .iter()
            .map(|u| UnexpectedTalkgroup {
                t_s: secs(u.at_us),
                phase: phase_name(u.at_us),
                console: console(u.console),
                talkgroup: u.talkgroup,
            })
            .collect(),
        console_downtime_s: Downtime {
            total: secs(downtime.values().sum()),
            consoles: downtime
                .iter()
                .map(|(c, us)| (console(*c), secs(*us)))
                .collect(),
        },
        rooms,
        disciplines,
        missed_deliveries: rec.missed.total,
        probes: ProbeSummary {
            calls: rec.probes.calls.count,
            errors: rec.probes.calls.error_count(),
            expected: rec.probes.deliveries.delivered + rec.probes.deliveries.missed,
            delivered: rec.probes.deliveries.delivered,
            missed: rec.probes.deliveries.missed,
            latency_ms: LatencyMs::of(&rec.probes.deliveries.latency),
        },
        slo,
        worst_windows: facts
            .windows
            .worst
            .iter()
            .map(|(tag, (start_s, h))| {
                let w = WorstWindow {
                    start_s: (start_s * 1000.0).round() / 1000.0,
                    samples: h.len(),
                    latency_ms: LatencyMs::of(h),
                };
                (tag.clone(), w)
            })
            .collect(),
        worst_window_s: super::windows::WORST_WINDOW.as_secs_f64(),
        warnings,
        process: ProcessSummary {
            peak_rss_mb: facts.peak_rss_mb,
        },
    }
}

/// A finding's outage figures, seconds.
struct Outage {
    last_ok_s: f64,
    detection_s: f64,
    outage_s: f64,
}

impl Outage {
    /// From the last evidence (`last_ok_us`) to detection (`at_us`) and to the repair
    /// (`repaired_after_us` after detection), or to `end_us` when never repaired.
    fn of(last_ok_us: u64, at_us: u64, repaired_after_us: Option<u64>, end_us: u64) -> Outage {
        let last_ok_us = last_ok_us.min(at_us);
        let until_us = match repaired_after_us {
            Some(after) => at_us.saturating_add(after),
            None => end_us.max(at_us),
        };
        Outage {
            last_ok_s: secs(last_ok_us),
            detection_s: secs(at_us - last_ok_us),
            outage_s: secs(until_us - last_ok_us),
        }
    }
}

fn teardown_summary(engine: &EngineReport) -> TeardownSummary {
    match &engine.teardown {
        Some(t) => TeardownSummary {
            ran: true,
            requests: t.sent,
            timed_out: t.timed_out,
            left_calls: t.left.calls,
            left_terminals: t.left.terminals,
            left_consoles: t.left.consoles,
        },
        None => {
            let l = engine.left_without_teardown;
            TeardownSummary {
                ran: false,
                requests: 0,
                timed_out: false,
                left_calls: l.calls,
                left_terminals: l.terminals,
                left_consoles: l.consoles,
            }
        }
    }
}

/// What the reader must know about the state the run left the target in.
fn teardown_warning(t: &TeardownSummary, rebuilt: bool) -> Option<String> {
    if rebuilt {
        return Some(
            "The run was killed before its teardown: what it opened on the target (consoles \
             logged in, terminals registered, calls) may still be open; `rcload cleanup` \
             ends it."
                .to_string(),
        );
    }
    let left = t.left_calls + t.left_terminals + t.left_consoles;
    if left == 0 {
        return None;
    }
    use crate::text::plural;
    let what = format!(
        "{}, {} and {}",
        plural(t.left_consoles, "console logged in", "consoles logged in"),
        plural(
            t.left_terminals,
            "terminal registered",
            "terminals registered"
        ),
        plural(t.left_calls, "call open", "calls open"),
    );
    Some(if !t.ran {
        format!("No teardown (--no-teardown): the run left {what} on the target.")
    } else if t.timed_out {
        format!("The teardown timed out (--teardown-timeout) and left {what} on the target.")
    } else {
        format!("The teardown's requests failed for {what}: they may still be open on the target.")
    })
}

/// Consoles that logged in and never had their stream open and attached (their disconnect is
/// marked as such and never recovered).
fn never_connected(rec: &Recorder) -> u64 {
    let consoles: std::collections::BTreeSet<u32> = rec
        .disconnects
        .iter()
        .filter(|d| {
            d.recovered_after_us.is_none() && d.reason.starts_with(crate::detect::NEVER_CONNECTED)
        })
        .map(|d| d.console)
        .collect();
    consoles.len() as u64
}

/// Operations whose events consoles are meant to receive.
const DELIVERING: [Op; 5] = [
    Op::TerminalRegister,
    Op::TerminalDeregister,
    Op::TerminalStatus,
    Op::CallGroup,
    Op::CallEmergency,
];

/// Were consoles meant to receive events: consoles logged in (or tried to) and actions that
/// deliver events were sent (whatever their answers).
fn deliveries_meant(rec: &Recorder, population: &Population) -> bool {
    let sent = |op: &Op| rec.ops.get(op).is_some_and(|s| s.count > 0);
    population.console_count() > 0 && sent(&Op::ConsoleLogin) && DELIVERING.iter().any(sent)
}

fn delivery_summaries(
    m: &BTreeMap<Delivery, crate::metrics::DeliveryStats>,
) -> BTreeMap<String, DeliverySummary> {
    m.iter()
        .map(|(d, s)| {
            (
                d.name().to_string(),
                DeliverySummary {
                    expected: s.delivered + s.missed,
                    delivered: s.delivered,
                    missed: s.missed,
                    latency_ms: LatencyMs::of(&s.latency),
                },
            )
        })
        .collect()
}

fn observe(rec: &Recorder, key: &str, q: Option<f64>) -> Observed {
    if let Some(t) = key.strip_prefix("delivery.") {
        let Some(d) = Delivery::ALL.iter().find(|d| d.name() == t) else {
            return Observed::NoSamples;
        };
        let Some(s) = rec.deliveries.get(d) else {
            return Observed::NoSamples;
        };
        return judge::delivery_quantile(s.delivered, s.missed, q, |q| {
            ms(s.latency.value_at_quantile(q))
        });
    }
    let Some(op) = Op::ALL.iter().find(|o| o.name() == key) else {
        return Observed::NoSamples;
    };
    match rec.ops.get(op) {
        Some(s) if s.count > 0 => Observed::Ms(match q {
            Some(q) => ms(s.latency.value_at_quantile(q)),
            None => ms(s.latency.max()),
        }),
        _ => Observed::NoSamples,
    }
}
