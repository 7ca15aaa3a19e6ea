//! `summary.json` built from a run's recorder and facts: every figure, the objectives judged,
//! the run's validity and verdict, and the warnings the reader must see.

use super::{
    AdapterSummary, ConsoleDisconnect, DeliverySummary, Downtime, GeneratorSummary, LatencyMs,
    LatenessMs, OperationSummary, PhaseOperation, PhaseSummary, ProbeSummary, ProcessSummary,
    SCHEMA, Summary, TalkgroupDrop, TeardownSummary, UnexpectedTalkgroup, WorstWindow, ms,
};
use crate::engine::{Delivery, EngineReport};
use crate::judge::{self, Observed, SloResult};
use crate::metrics::Recorder;
use crate::profile::{Phase, Profile};
use crate::schedule::{Population, Schedule};
use rcload_api::Op;
use std::collections::BTreeMap;

/// What the summary needs besides the recorder.
pub struct RunFacts<'a> {
    pub profile: &'a Profile,
    pub seed: u64,
    pub target: String,
    pub adapter: Option<AdapterSummary>,
    /// Figures of windowed and phase-scoped objectives, and the worst windows
    /// (`report::windows`).
    pub windows: crate::report::windows::Figures,
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
    let end_us = (facts.engine.load_s * 1e6) as u64;
    let downtime = rec.downtime_us(end_us);
    let (rooms, disciplines) = crate::report::groups::summaries(rec, facts.population, end_us);
    let slo = objectives(rec, facts, &rooms);
    let lateness = LatenessMs {
        p50: ms(rec.lateness.value_at_quantile(0.5)),
        p99: ms(rec.lateness.value_at_quantile(0.99)),
        max: ms(rec.lateness.max()),
    };
    let validity = validity(rec, facts, &lateness);
    let fell_behind = validity.fell_behind();
    let teardown = teardown_summary(facts.engine);
    let warnings = warnings(rec, facts, &teardown, &validity);
    let (verdict, verdict_reasons) = judge::assess(&validity, &slo);
    let findings = Findings::of(rec, facts, end_us);
    let console = |c: u32| facts.population.console_id(c);
    Summary {
        schema: SCHEMA.to_string(),
        rcload_version: env!("CARGO_PKG_VERSION").to_string(),
        verdict,
        verdict_reasons,
        profile: facts.profile.name.clone(),
        seed: facts.seed,
        target: facts.target.clone(),
        adapter: facts.adapter.clone(),
        started_at: crate::report::wall::rfc3339_millis(facts.engine.started_at),
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
        operations: operation_summaries(rec),
        deliveries: delivery_summaries(&rec.deliveries),
        phases: phase_summaries(rec, facts.phases),
        teardown,
        talkgroup_drops: findings.drops,
        console_disconnects: findings.disconnects,
        unexpected_talkgroups: findings.unexpected,
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
        worst_windows: worst_windows(&facts.windows),
        worst_window_s: crate::report::windows::WORST_WINDOW.as_secs_f64(),
        warnings,
        process: ProcessSummary {
            peak_rss_mb: facts.peak_rss_mb,
        },
    }
}

/// Each operation's counts, errors, latency and service time over the run.
fn operation_summaries(rec: &Recorder) -> BTreeMap<String, OperationSummary> {
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
    operations
}

/// Each phase's operations, deliveries and findings.
fn phase_summaries(rec: &Recorder, all: &[Phase]) -> BTreeMap<String, PhaseSummary> {
    let mut phases = BTreeMap::new();
    for (i, p) in all.iter().enumerate() {
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
        let in_phase = |at_us: u64| Schedule::phase_at(all, at_us) == i;
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
    phases
}

/// Every objective of the profile judged: whole-run, windowed and phase-scoped latency, the
/// counts, each room's, and the two that need no objective (consoles that never connected,
/// deliveries meant and none received).
fn objectives(
    rec: &Recorder,
    facts: &RunFacts<'_>,
    rooms: &BTreeMap<String, crate::report::groups::GroupSummary>,
) -> Vec<SloResult> {
    let mut slo = judge::judge(
        &facts.profile.slo,
        |key, q, limits| {
            if limits.is_scoped() {
                facts
                    .windows
                    .scoped
                    .get(&crate::report::windows::scoped_key(key, q))
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
        |key, q| crate::report::groups::room_latency(rec, facts.population, key, q),
        |key| crate::report::groups::room_count(rooms, key),
    ));
    slo.extend(judge::judge_connected(never_connected(rec)));
    slo.extend(judge::judge_received(
        deliveries_meant(rec, facts.population),
        rec.deliveries.values().map(|d| d.delivered).sum::<u64>() + rec.probes.deliveries.delivered,
    ));
    slo
}

/// What the run's validity is judged on.
fn validity(rec: &Recorder, facts: &RunFacts<'_>, lateness: &LatenessMs) -> judge::Validity {
    judge::Validity {
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
    }
}

/// The summary's warnings: set-up's notes, the teardown's, an exploratory run's, and an
/// adapter's (correlated deliveries, skipped actions).
fn warnings(
    rec: &Recorder,
    facts: &RunFacts<'_>,
    teardown: &TeardownSummary,
    validity: &judge::Validity,
) -> Vec<String> {
    let mut warnings = facts.notes.clone();
    if let Some(w) = teardown_warning(teardown, facts.rebuilt) {
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
    warnings
}

/// The findings of a run, each with its phase, console and outage.
struct Findings {
    drops: Vec<TalkgroupDrop>,
    disconnects: Vec<ConsoleDisconnect>,
    unexpected: Vec<UnexpectedTalkgroup>,
}

impl Findings {
    fn of(rec: &Recorder, facts: &RunFacts<'_>, end_us: u64) -> Self {
        let phase_name = |at_us: u64| {
            facts
                .phases
                .get(Schedule::phase_at(facts.phases, at_us))
                .map(|p| p.name.clone())
                .unwrap_or_default()
        };
        let console = |c: u32| facts.population.console_id(c);
        Findings {
            drops: rec
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
            disconnects: rec
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
            unexpected: rec
                .unexpected
                .iter()
                .map(|u| UnexpectedTalkgroup {
                    t_s: secs(u.at_us),
                    phase: phase_name(u.at_us),
                    console: console(u.console),
                    talkgroup: u.talkgroup,
                })
                .collect(),
        }
    }
}

/// The worst window of each operation and delivery type (`report::windows`).
fn worst_windows(windows: &crate::report::windows::Figures) -> BTreeMap<String, WorstWindow> {
    windows
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
        .collect()
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
