//! Read a run directory back into [`ReportData`] and write the derived reports from it. When
//! the run left no `summary.json` (it was killed), the summary is rebuilt from the raw data:
//! `latency.hlog`, `timeseries.csv`, `events.jsonl`, `run.json` and `profile.yaml`, up to the
//! last whole interval.

use super::events::EventLine;
use super::model::{Mark, MarkKind, ReportData, Spectrum};
use super::runinfo::RunInfo;
use super::{ReportError, Summary, charts, hlog, html, junit, markdown, summary, timeseries};
use crate::detect::DetectedBy;
use crate::engine::{Delivery, EngineReport};
use crate::metrics::interval::{LATENESS, PROBE_CALL, PROBE_DELIVERY, delivery_tag, service_tag};
use crate::metrics::row::CellKey;
use crate::metrics::{
    DeliveryStats, DisconnectRecord, DropRecord, OpStats, Recorder, UnexpectedRecord, histogram,
};
use crate::profile::Phase;
use crate::schedule::Schedule;
use hdrhistogram::Histogram;
use rcload_api::Op;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// The files of a run directory.
pub const RUN_JSON: &str = "run.json";
pub const SUMMARY_JSON: &str = "summary.json";
pub const HLOG: &str = "latency.hlog";
pub const TIMESERIES: &str = "timeseries.csv";
pub const EVENTS: &str = "events.jsonl";
pub const PROFILE: &str = "profile.yaml";
pub const REPORT_HTML: &str = "report.html";
pub const JUNIT_XML: &str = "junit.xml";
pub const SUMMARY_MD: &str = "summary.md";

/// The class under which a rebuilt summary counts errors (the raw data keeps no classes).
pub const UNCLASSIFIED: &str = "unclassified";

/// At most this many missed deliveries are marked one by one on the timeline.
const MAX_MISSED_MARKS: usize = 2_000;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Read `summary.json` from a run directory or a summary file.
pub fn read_summary(path: &Path) -> Result<Summary, ReportError> {
    let file = if path.is_dir() {
        path.join(SUMMARY_JSON)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(io(&file))?;
    serde_json::from_str(&text).map_err(|e| ReportError::Parse {
        path: file.clone(),
        line: Some(e.line()),
        message: e.to_string(),
    })
}

/// The summary of a run directory (rebuilt if the run wrote none) or of a summary file.
pub fn summary_of(path: &Path) -> Result<Summary, ReportError> {
    if path.is_dir() && !path.join(SUMMARY_JSON).exists() {
        return Ok(load(path)?.summary);
    }
    read_summary(path)
}

/// Read `events.jsonl`: whole lines only (a kill may cut the last one).
pub fn read_events(path: &Path) -> Result<Vec<EventLine>, ReportError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(path)(e)),
    };
    let whole = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    whole
        .lines()
        .enumerate()
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| ReportError::Parse {
                path: path.to_path_buf(),
                line: Some(n + 1),
                message: e.to_string(),
            })
        })
        .collect()
}

/// Read everything a report needs from run directory `dir`.
pub fn load(dir: &Path) -> Result<ReportData, ReportError> {
    let info = RunInfo::read(&dir.join(RUN_JSON))?;
    let rows = timeseries::read(&dir.join(TIMESERIES))?;
    let events = read_events(&dir.join(EVENTS))?;
    // The data up to the last whole interval: the csv row is written after its hlog lines.
    let covered_s = rows.last().map(|r| r.t_s + r.dt_s).unwrap_or(0.0);
    // Merged per tag, and per phase and tag, an interval at a time (bounded memory).
    let spans = phase_spans(&info);
    let mut merged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut by_phase: BTreeMap<(usize, String), Histogram<u64>> = BTreeMap::new();
    let hlog_path = dir.join(HLOG);
    let add = |into: &mut Histogram<u64>, h: &Histogram<u64>, tag: &str| {
        into.add(h).map_err(|e| ReportError::Parse {
            path: hlog_path.clone(),
            line: None,
            message: format!("cannot merge `{tag}`: {e:?}"),
        })
    };
    hlog::for_each(&hlog_path, |i| {
        if i.start_s + 1e-6 >= covered_s {
            return Ok(());
        }
        let p = Schedule::span_at(spans.len(), |i| spans[i], (i.start_s * 1e6).round() as u64);
        // Into auto-resizing histograms: a decoded one only holds its own interval's range.
        let key = (p, i.tag.clone());
        add(
            by_phase.entry(key).or_insert_with(histogram),
            &i.hist,
            &i.tag,
        )?;
        add(
            merged.entry(i.tag.clone()).or_insert_with(histogram),
            &i.hist,
            &i.tag,
        )
    })?;
    let summary_path = dir.join(SUMMARY_JSON);
    let (summary, rebuilt) = if summary_path.exists() {
        (read_summary(&summary_path)?, None)
    } else {
        let s = rebuild(dir, &info, &rows, &by_phase, &merged, &events, covered_s)?;
        let note = format!(
            "The run did not finish (no summary.json): these figures were rebuilt from its raw \
             data and cover t=0 to {covered_s:.0} s, the last whole interval. Errors are not \
             split by class, and per-phase figures go by the interval a result came in."
        );
        (s, Some(note))
    };
    let events_marks = marks(&events);
    Ok(ReportData {
        key_series: key_series(&summary),
        spectra: spectra(&merged),
        marks: events_marks,
        interval_s: info.interval_s,
        phases: info.phases.clone(),
        rows,
        summary,
        rebuilt,
    })
}

fn spectra(merged: &BTreeMap<String, Histogram<u64>>) -> Vec<Spectrum> {
    let is_op = |t: &str| Op::ALL.iter().any(|o| o.name() == t);
    let mut out = Vec::new();
    let ops = merged.iter().filter(|(t, _)| is_op(t));
    let deliveries = merged.iter().filter(|(t, _)| t.starts_with("delivery."));
    for (tag, h) in ops.chain(deliveries) {
        if h.is_empty() {
            continue;
        }
        // Evenly spaced on the "nines" axis, from 0 % to 99.999 %.
        let points = (0..=100)
            .map(|i| {
                let nines = i as f64 * 0.05;
                let q = 1.0 - 10f64.powf(-nines);
                (q * 100.0, h.value_at_quantile(q) as f64 / 1000.0)
            })
            .collect();
        out.push(Spectrum {
            name: tag.clone(),
            count: h.len(),
            points,
        });
    }
    out
}

fn marks(events: &[EventLine]) -> Vec<Mark> {
    let mut out = Vec::new();
    let mut missed = 0;
    for e in events {
        let who = e.console.clone().unwrap_or_default();
        let tg = e
            .talkgroup
            .map(|t| format!(" talkgroup {t}"))
            .unwrap_or_default();
        let (kind, label) = match e.kind.as_str() {
            "talkgroup_drop" => (
                MarkKind::Drop,
                format!("{who}{tg} ({})", e.detected_by.as_deref().unwrap_or("?")),
            ),
            "console_disconnect" => (
                MarkKind::Disconnect,
                format!("{who}: {}", e.reason.as_deref().unwrap_or("?")),
            ),
            "missed_delivery" if missed < MAX_MISSED_MARKS => {
                missed += 1;
                (
                    MarkKind::Missed,
                    format!("{who}{tg}: {}", e.event.as_deref().unwrap_or("?")),
                )
            }
            _ => continue,
        };
        out.push(Mark {
            t_s: e.t_s,
            kind,
            label,
        });
    }
    out
}

/// The `[start, end)` microseconds of run.json's phases, as the schedule has them.
fn phase_spans(info: &RunInfo) -> Vec<(u64, u64)> {
    let us = |s: f64| (s * 1e6).round().max(0.0) as u64;
    info.phases
        .iter()
        .map(|p| (us(p.start_s), us(p.end_s)))
        .collect()
}

/// The series of the latency-over-time chart: the critical ones that ran, then the busiest.
fn key_series(s: &Summary) -> Vec<String> {
    const CRITICAL: [CellKey; 3] = [
        CellKey::Delivery("emergency.alert"),
        CellKey::Op(Op::CallEmergency),
        CellKey::Op(Op::ConsoleLogin),
    ];
    let mut out: Vec<String> = CRITICAL
        .iter()
        .filter(|k| match k {
            CellKey::Delivery(t) => s.deliveries.get(*t).is_some_and(|d| d.delivered > 0),
            CellKey::Op(op) => s.operations.get(op.name()).is_some_and(|o| o.count > 0),
        })
        .map(|k| k.to_string())
        .collect();
    let mut busiest: Vec<(&String, u64)> = s.operations.iter().map(|(k, o)| (k, o.count)).collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (k, _) in busiest {
        if out.len() >= 4 {
            break;
        }
        if !out.contains(k) {
            out.push(k.clone());
        }
    }
    out
}

/// Rebuild the recorder's aggregates from the raw data, then the summary as `run` builds it.
fn rebuild(
    dir: &Path,
    info: &RunInfo,
    rows: &[crate::metrics::row::IntervalRow],
    by_phase: &BTreeMap<(usize, String), Histogram<u64>>,
    merged: &BTreeMap<String, Histogram<u64>>,
    events: &[EventLine],
    covered_s: f64,
) -> Result<Summary, ReportError> {
    let profile_path = dir.join(PROFILE);
    let source = crate::profile::read_source(&profile_path.to_string_lossy()).map_err(|e| {
        ReportError::Parse {
            path: profile_path.clone(),
            line: None,
            message: e.to_string(),
        }
    })?;
    let profile = crate::profile::load(&source, &[]).map_err(|e| ReportError::Parse {
        path: profile_path.clone(),
        line: None,
        message: e.to_string(),
    })?;
    let schedule = Schedule::new(&profile, info.seed);
    let phases: Vec<Phase> = schedule.phases().to_vec();
    let population = schedule.population().clone();
    let phase_index = |name: &str| phases.iter().position(|p| p.name == name);
    let us = |s: f64| (s * 1e6).round().max(0.0) as u64;

    let mut rec = Recorder::new(phases.len());
    let hist = |tag: &str| merged.get(tag).cloned().unwrap_or_else(histogram);
    // Errors by operation and by (phase, operation), from the csv.
    let mut op_errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut phase_errors: BTreeMap<(usize, String), u64> = BTreeMap::new();
    for r in rows {
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
    for ((p, tag), h) in by_phase {
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

    // Findings and misses, from events.jsonl.
    let consoles: HashMap<String, u32> = (0..population.console_count())
        .map(|c| (population.console_id(c), c))
        .collect();
    let console = |e: &EventLine| e.console.as_ref().and_then(|c| consoles.get(c)).copied();
    let mut by_id: HashMap<u64, (bool, usize)> = HashMap::new();
    for e in events.iter().filter(|e| e.t_s <= covered_s) {
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

    let engine = EngineReport {
        actions_scheduled: rows.iter().map(|r| r.offered).sum(),
        actions_sent: rows.iter().map(|r| r.sent).sum(),
        interrupted: true,
        started_at: UNIX_EPOCH + Duration::from_secs_f64(info.started_at_unix_s.max(0.0)),
        load_s: covered_s,
    };
    let mut s = summary::build(
        &rec,
        &summary::RunFacts {
            profile: &profile,
            seed: info.seed,
            target: info.target.clone(),
            adapter: info.adapter.clone(),
            scoped: super::windows::evaluate(&dir.join(HLOG), &profile.slo, &phases)?,
            phases: &phases,
            population: &population,
            engine: &engine,
            lateness_limit_ms: info.lateness_limit_ms,
            peak_rss_mb: None,
        },
    );
    s.warnings.push(format!(
        "Rebuilt from raw data: the run ended without writing summary.json; figures cover \
         t=0 to {covered_s:.0} s."
    ));
    Ok(s)
}

/// Write `report.html`, `junit.xml` and `summary.md` (and `summary.json` when it was rebuilt)
/// into `dir`; returns the paths written.
pub fn write_reports(dir: &Path, data: &ReportData) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: &[u8]| -> Result<(), ReportError> {
        let path = dir.join(name);
        super::write_atomic(&path, bytes)?;
        written.push(path);
        Ok(())
    };
    if data.rebuilt.is_some() {
        let json = serde_json::to_vec_pretty(&data.summary).map_err(|e| ReportError::Render {
            what: SUMMARY_JSON.into(),
            message: e.to_string(),
        })?;
        put(SUMMARY_JSON, &json)?;
    }
    let charts = charts::render_all(data)?;
    put(REPORT_HTML, html::render(data, &charts)?.as_bytes())?;
    put(JUNIT_XML, junit::render(&data.summary)?.as_bytes())?;
    put(
        SUMMARY_MD,
        markdown::render(&data.summary, data.rebuilt.as_deref()).as_bytes(),
    )?;
    Ok(written)
}
