//! The summary of a killed run, rebuilt from its raw data: the recorder's aggregates from
//! `latency.hlog` and `timeseries.csv`, its findings and misses from `events.jsonl`, then the
//! summary as `run` builds it.

use super::{HLOG, LAST_UNIX_S, PROFILE, UNCLASSIFIED, facts_of_run};
use crate::detect::DetectedBy;
use crate::engine::{Delivery, EngineReport};
use crate::metrics::interval::{LATENESS, PROBE_CALL, PROBE_DELIVERY, delivery_tag, service_tag};
use crate::metrics::row::IntervalRow;
use crate::metrics::{
    DeliveryStats, DisconnectRecord, DropRecord, OpStats, Recorder, UnexpectedRecord, histogram,
};
use crate::profile::{Phase, Profile};
use crate::report::events::EventLine;
use crate::report::runinfo::RunInfo;
use crate::report::{ReportError, Summary, summary};
use crate::schedule::{Population, Schedule};
use hdrhistogram::Histogram;
use rcload_api::Op;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// The raw data a summary is rebuilt from, up to `covered_s`: the interval rows, the interval
/// histograms added by (phase, tag) and by tag, and the events.
pub(super) struct RawData<'a> {
    pub rows: &'a [IntervalRow],
    pub by_phase: &'a BTreeMap<(usize, String), Histogram<u64>>,
    pub merged: &'a BTreeMap<String, Histogram<u64>>,
    pub events: &'a [EventLine],
    pub covered_s: f64,
}

/// Rebuild the recorder's aggregates from the raw data, then the summary as `run` builds it.
pub(super) fn rebuild(
    dir: &Path,
    info: &RunInfo,
    raw: &RawData<'_>,
) -> Result<Summary, ReportError> {
    let profile = read_profile(&dir.join(PROFILE))?;
    let schedule = Schedule::new(&profile, info.seed);
    let phases: Vec<Phase> = schedule.phases().to_vec();
    let population = schedule.population().clone();
    let mut rec = aggregates(raw, &phases);
    findings(&mut rec, raw, &phases, &population);
    let engine = EngineReport {
        actions_scheduled: raw.rows.iter().map(|r| r.offered).sum(),
        actions_sent: raw.rows.iter().map(|r| r.sent).sum(),
        interrupted: true,
        // In range once RunInfo::read checked it; clamped all the same.
        started_at: UNIX_EPOCH
            + Duration::try_from_secs_f64(info.started_at_unix_s.clamp(0.0, LAST_UNIX_S))
                .unwrap_or_default(),
        load_s: raw.covered_s,
        teardown: None,
        left_without_teardown: Default::default(),
    };
    Ok(summary::build(
        &rec,
        &summary::RunFacts {
            rebuilt: true,
            ..facts_of_run(
                info,
                &profile,
                &phases,
                &population,
                &engine,
                crate::report::windows::evaluate(&dir.join(HLOG), &profile.slo, &phases)?,
            )
        },
    ))
}

/// The run's resolved profile (`profile.yaml`), with its path in any error.
fn read_profile(path: &Path) -> Result<Profile, ReportError> {
    let parse = |message: String| ReportError::Parse {
        path: path.to_path_buf(),
        line: None,
        message,
    };
    let source =
        crate::profile::read_source(&path.to_string_lossy()).map_err(|e| parse(e.to_string()))?;
    crate::profile::load(&source, &[]).map_err(|e| parse(e.to_string()))
}

/// The recorder's aggregates from the interval files: operations, phases, deliveries,
/// lateness and probes, with the csv's errors (unclassified), throttles and skips.
fn aggregates(raw: &RawData<'_>, phases: &[Phase]) -> Recorder {
    let phase_index = |name: &str| phases.iter().position(|p| p.name == name);
    let mut rec = Recorder::new(phases.len());
    let merged = raw.merged;
    let hist = |tag: &str| merged.get(tag).cloned().unwrap_or_else(histogram);
    // Errors by operation and by (phase, operation), from the csv.
    let mut op_errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut phase_errors: BTreeMap<(usize, String), u64> = BTreeMap::new();
    for r in raw.rows {
        let p = phase_index(&r.phase);
        for (k, c) in &r.cells {
            *op_errors.entry(k.clone()).or_insert(0) += c.errors;
            if let Some(p) = p {
                *phase_errors.entry((p, k.clone())).or_insert(0) += c.errors;
            }
        }
        rec.throttled += r.throttled;
        if r.skipped > 0 {
            *rec.skipped.entry(UNCLASSIFIED).or_insert(0) += r.skipped;
        }
    }
    let stats = |latency: Histogram<u64>, service: Histogram<u64>, errors: u64| {
        let count = latency.len();
        let mut s = OpStats {
            count,
            ok: count.saturating_sub(errors),
            latency,
            service,
            ..OpStats::default()
        };
        if errors > 0 {
            s.errors.insert(UNCLASSIFIED, errors);
        }
        s
    };
    for op in Op::ALL {
        let Some(h) = merged.get(op.name()) else {
            continue;
        };
        let errors = op_errors.get(op.name()).copied().unwrap_or(0);
        rec.ops
            .insert(op, stats(h.clone(), hist(&service_tag(op)), errors));
    }
    // Per phase: the intervals that started in it.
    for ((p, tag), h) in raw.by_phase {
        let Some(p) = rec.phase_ops.len().gt(p).then_some(*p) else {
            continue;
        };
        if let Some(op) = Op::ALL.iter().find(|o| o.name() == tag) {
            let e = rec.phase_ops[p].entry(*op).or_default();
            e.count += h.len();
            e.latency = h.clone();
        } else if let Some(d) = Delivery::ALL.iter().find(|d| delivery_tag(**d) == *tag) {
            let e = rec.phase_deliveries[p].entry(*d).or_default();
            e.delivered += h.len();
            e.latency = h.clone();
        }
    }
    for ((p, k), n) in &phase_errors {
        if let Some(op) = Op::ALL.iter().find(|o| o.name() == k)
            && let Some(e) = rec.phase_ops[*p].get_mut(op)
        {
            e.ok = e.count.saturating_sub(*n);
            if *n > 0 {
                e.errors.insert(UNCLASSIFIED, *n);
            }
        }
    }
    for d in Delivery::ALL {
        if let Some(h) = merged.get(&delivery_tag(d)) {
            rec.deliveries.insert(
                d,
                DeliveryStats {
                    delivered: h.len(),
                    missed: 0,
                    latency: h.clone(),
                },
            );
        }
    }
    rec.lateness = hist(LATENESS);
    let probe_errors = op_errors.get(PROBE_CALL).copied().unwrap_or(0);
    rec.probes.calls = stats(hist(PROBE_CALL), histogram(), probe_errors);
    rec.probes.deliveries.latency = hist(PROBE_DELIVERY);
    rec.probes.deliveries.delivered = rec.probes.deliveries.latency.len();
    rec
}

/// The findings (drops, disconnects, recoveries, unexpected talkgroups) and the missed
/// deliveries of `events.jsonl`, up to the covered time.
fn findings(rec: &mut Recorder, raw: &RawData<'_>, phases: &[Phase], population: &Population) {
    let phase_index = |name: &str| phases.iter().position(|p| p.name == name);
    let us = |s: f64| (s * 1e6).round().max(0.0) as u64;
    let consoles: HashMap<String, u32> = (0..population.console_count())
        .map(|c| (population.console_id(c), c))
        .collect();
    let console = |e: &EventLine| e.console.as_ref().and_then(|c| consoles.get(c)).copied();
    let mut by_id: HashMap<u64, (bool, usize)> = HashMap::new();
    for e in raw.events.iter().filter(|e| e.t_s <= raw.covered_s) {
        let at_us = us(e.t_s);
        match e.kind.as_str() {
            "talkgroup_drop" => {
                let detected_by = match e.detected_by.as_deref() {
                    Some("audit") => DetectedBy::Audit,
                    Some("delivery") => DetectedBy::Delivery,
                    _ => DetectedBy::Announced,
                };
                if let (Some(c), Some(t)) = (console(e), e.talkgroup) {
                    if let Some(id) = e.id {
                        by_id.insert(id, (true, rec.drops.len()));
                    }
                    rec.drops.push(DropRecord {
                        console: c,
                        talkgroup: t,
                        detected_by,
                        at_us,
                        last_ok_us: last_ok(e, at_us),
                        recovered_after_us: None,
                    });
                }
            }
            "console_disconnect" => {
                if let Some(c) = console(e) {
                    if let Some(id) = e.id {
                        by_id.insert(id, (false, rec.disconnects.len()));
                    }
                    rec.disconnects.push(DisconnectRecord {
                        console: c,
                        reason: e.reason.clone().unwrap_or_default(),
                        at_us,
                        last_ok_us: last_ok(e, at_us),
                        recovered_after_us: None,
                    });
                }
            }
            "recovered" => {
                let after = e.recovered_after_s.map(us);
                match e.id.and_then(|id| by_id.get(&id)) {
                    Some((true, i)) => rec.drops[*i].recovered_after_us = after,
                    Some((false, i)) => rec.disconnects[*i].recovered_after_us = after,
                    None => {}
                }
            }
            "talkgroup_unexpected" => {
                if let (Some(c), Some(t)) = (console(e), e.talkgroup) {
                    rec.unexpected.push(UnexpectedRecord {
                        console: c,
                        talkgroup: t,
                        at_us,
                    });
                }
            }
            "missed_delivery" => {
                rec.missed.total += 1;
                let p = phase_index(&e.phase);
                if let Some(p) = p {
                    *rec.missed.per_phase.entry(p).or_insert(0) += 1;
                }
                let d = Delivery::ALL
                    .iter()
                    .find(|d| Some(d.name()) == e.event.as_deref());
                match (e.probe == Some(true), d) {
                    (true, _) => rec.probes.deliveries.missed += 1,
                    (false, Some(d)) => {
                        rec.deliveries.entry(*d).or_default().missed += 1;
                        if let Some(p) = p {
                            rec.phase_deliveries[p].entry(*d).or_default().missed += 1;
                        }
                    }
                    (false, None) => {}
                }
            }
            _ => {}
        }
    }
}

/// A finding's last evidence of working, µs: never after the finding (a line without one, from
/// an older rcload, starts its outage at the finding).
fn last_ok(e: &EventLine, at_us: u64) -> u64 {
    e.last_ok_s
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| (s * 1e6).round() as u64)
        .unwrap_or(at_us)
        .min(at_us)
}
