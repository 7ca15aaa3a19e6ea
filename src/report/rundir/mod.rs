//! Read a run directory back into [`ReportData`] and write the derived reports from it. When
//! the run left no `summary.json` (it was killed), the summary is rebuilt from the raw data:
//! `latency.hlog`, `timeseries.csv`, `events.jsonl`, `run.json` and `profile.yaml`, up to the
//! last interval both `timeseries.csv` and `latency.hlog` hold whole, saying so when the log
//! covers less. Every file is read within the limits of [`super::limits`], and what is not what
//! rcload writes is an error naming the file, never a panic.

use super::events::EventLine;
use super::hlog::{CutLine, HlogInterval};
use super::limits::{self, Line};
use super::model::{Mark, MarkKind, ReportData, Spectrum};
use super::runinfo::RunInfo;
use super::{
    ReportError, Summary, charts, heatmap, hlog, html, junit, markdown, summary, timeseries,
};
use crate::engine::EngineReport;
use crate::metrics::histogram;
use crate::metrics::row::{CellKey, IntervalRow};
use crate::profile::Phase;
use crate::schedule::Schedule;
use hdrhistogram::Histogram;
use rcload_api::Op;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

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
/// The exact aggregates (`rcload merge` adds the shards').
pub const TOTALS: &str = "totals.json";

/// The class under which a rebuilt summary counts errors (the raw data keeps no classes).
pub const UNCLASSIFIED: &str = "unclassified";

/// At most this many missed deliveries are marked one by one on the timeline.
const MAX_MISSED_MARKS: usize = 2_000;

/// The last unix second RFC 3339 can write (9999-12-31T23:59:59Z).
const LAST_UNIX_S: f64 = limits::END_OF_RFC3339_UNIX_S - 1.0;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The file a summary is read from: `path` itself, or a run directory's `summary.json`.
fn summary_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(SUMMARY_JSON)
    } else {
        path.to_path_buf()
    }
}

/// What to name for the summary of `path` (a run directory, or a summary file) in a message:
/// its `summary.json` when it has one, else `path` itself (its summary is rebuilt).
pub fn summary_source(path: &Path) -> PathBuf {
    let file = summary_file(path);
    if file.exists() {
        file
    } else {
        path.to_path_buf()
    }
}

/// Read `summary.json` from a run directory or a summary file: at most
/// [`limits::MAX_JSON_BYTES`], of this build's schema major version, its times in range.
pub fn read_summary(path: &Path) -> Result<Summary, ReportError> {
    let file = summary_file(path);
    let bytes = limits::read_bounded(&file, limits::MAX_JSON_BYTES, None)?;
    parse_summary(&bytes, &file)
}

/// Parse and check the bytes of a summary (`path` names it in errors).
fn parse_summary(bytes: &[u8], path: &Path) -> Result<Summary, ReportError> {
    let error = |line: Option<usize>, message: String| ReportError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    // The schema first: another major version may well have other fields.
    #[derive(serde::Deserialize)]
    struct Schema {
        schema: Option<String>,
    }
    let schema = serde_json::from_slice::<Schema>(bytes)
        .ok()
        .and_then(|s| s.schema);
    if let Some(schema) = schema
        && !super::summary::readable(&schema)
    {
        let ours = super::SCHEMA;
        return Err(error(
            None,
            format!("schema `{schema}` is not `{ours}` (another major version): cannot read it"),
        ));
    }
    let s: Summary =
        serde_json::from_slice(bytes).map_err(|e| error(Some(e.line()), e.to_string()))?;
    check_summary(&s).map_err(|m| error(None, m))?;
    Ok(s)
}

/// Every time of a summary is one a run can have (charts and reports place them on a time
/// axis); the message names the first field that is not.
fn check_summary(s: &Summary) -> Result<(), String> {
    run_seconds(|| "duration_s".into(), Some(s.duration_s))?;
    let downtime = &s.console_downtime_s;
    run_seconds(|| "console_downtime_s.total".into(), Some(downtime.total))?;
    for (console, v) in &downtime.consoles {
        run_seconds(
            || format!("console_downtime_s.consoles.{console}"),
            Some(*v),
        )?;
    }
    for (name, p) in &s.phases {
        run_seconds(|| format!("phases.{name}.start_s"), Some(p.start_s))?;
        run_seconds(|| format!("phases.{name}.end_s"), Some(p.end_s))?;
    }
    for (i, d) in s.talkgroup_drops.iter().enumerate() {
        let field = |f: &str| format!("talkgroup_drops[{i}].{f}");
        run_seconds(|| field("t_s"), Some(d.t_s))?;
        run_seconds(|| field("recovered_after_s"), d.recovered_after_s)?;
    }
    for (i, d) in s.console_disconnects.iter().enumerate() {
        let field = |f: &str| format!("console_disconnects[{i}].{f}");
        run_seconds(|| field("t_s"), Some(d.t_s))?;
        run_seconds(|| field("recovered_after_s"), d.recovered_after_s)?;
    }
    for (i, u) in s.unexpected_talkgroups.iter().enumerate() {
        run_seconds(|| format!("unexpected_talkgroups[{i}].t_s"), Some(u.t_s))?;
    }
    for (i, r) in s.slo.iter().enumerate() {
        run_seconds(|| format!("slo[{i}].window_s"), r.window_s)?;
        run_seconds(|| format!("slo[{i}].worst_at_s"), r.worst_at_s)?;
    }
    Ok(())
}

/// `v`, when there is one, is a time a run can have; else the message names `field`.
fn run_seconds(field: impl FnOnce() -> String, v: Option<f64>) -> Result<(), String> {
    match v {
        Some(v) if !limits::is_run_seconds(v) => Err(format!(
            "`{}` is {}: {}",
            field(),
            limits::show(v),
            limits::RUN_SECONDS
        )),
        _ => Ok(()),
    }
}

/// The summary of a run directory (rebuilt if the run wrote none) or of a summary file.
pub fn summary_of(path: &Path) -> Result<Summary, ReportError> {
    if path.is_dir() && !path.join(SUMMARY_JSON).exists() {
        return Ok(load(path)?.summary);
    }
    read_summary(path)
}

/// Read `events.jsonl`: whole lines only (a kill may cut the last one), at most
/// [`limits::MAX_EVENTS_BYTES`], a line at most [`limits::MAX_LINE_BYTES`].
pub fn read_events(path: &Path) -> Result<Vec<EventLine>, ReportError> {
    let file = match limits::open(path, limits::MAX_EVENTS_BYTES) {
        Ok(f) => f,
        Err(ReportError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    parse_events(BufReader::with_capacity(64 * 1024, file), path)
}

fn parse_events(mut input: impl BufRead, path: &Path) -> Result<Vec<EventLine>, ReportError> {
    let mut out = Vec::new();
    let mut line = Vec::new();
    let mut total = 0u64;
    let mut number = 0;
    loop {
        number += 1;
        match limits::read_line(&mut input, &mut line, limits::MAX_LINE_BYTES).map_err(io(path))? {
            // A kill may cut the last line: only whole lines count.
            Line::End | Line::Cut => return Ok(out),
            Line::TooLong => return Err(limits::line_too_long(path, number)),
            Line::Whole => {}
        }
        total += line.len() as u64;
        if total > limits::MAX_EVENTS_BYTES {
            return Err(limits::too_big(path, limits::MAX_EVENTS_BYTES));
        }
        let event: EventLine = serde_json::from_slice(&line).map_err(|e| ReportError::Parse {
            path: path.to_path_buf(),
            line: Some(number),
            message: e.to_string(),
        })?;
        out.push(event);
    }
}

/// Read `timeseries.csv`: at most [`limits::MAX_TIMESERIES_BYTES`], a line at most
/// [`limits::MAX_LINE_BYTES`], every interval's times in range.
fn read_timeseries(path: &Path) -> Result<Vec<IntervalRow>, ReportError> {
    let max = limits::MAX_TIMESERIES_BYTES;
    let bytes = limits::read_bounded(path, max, Some(limits::MAX_LINE_BYTES))?;
    let rows = timeseries::parse(&limits::text(bytes, path)?, path)?;
    check_rows(&rows, path)?;
    Ok(rows)
}

/// The rows' times are ones a run can have (row `n` is line `n + 2`, after the header).
fn check_rows(rows: &[IntervalRow], path: &Path) -> Result<(), ReportError> {
    for (n, r) in rows.iter().enumerate() {
        for (field, v) in [("t_s", r.t_s), ("dt_s", r.dt_s)] {
            if !limits::is_run_seconds(v) {
                return Err(ReportError::Parse {
                    path: path.to_path_buf(),
                    line: Some(n + 2),
                    message: format!("`{field}` is {}: {}", limits::show(v), limits::RUN_SECONDS),
                });
            }
        }
    }
    Ok(())
}

/// An interval's start in whole milliseconds: how `latency.hlog` and `timeseries.csv` both
/// write it (`{:.3}`), so the two files' intervals match by it.
fn ms(s: f64) -> u64 {
    (s * 1000.0).round() as u64
}

/// The latency samples a row of `timeseries.csv` counts: `latency.hlog` has them too.
fn expected(r: &IntervalRow) -> u64 {
    r.cells.values().map(|c| c.count).sum()
}

/// What of the run the figures read back cover: the intervals whole in both `timeseries.csv`
/// and `latency.hlog`, from t=0.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Rows of `timeseries.csv` (each a whole interval).
    pub rows: usize,
    /// How many of them, from the first, `latency.hlog` holds whole too.
    pub whole_rows: usize,
    /// The end of the last row of `timeseries.csv`, s.
    pub csv_end_s: f64,
    /// The end of the last of the whole rows, s: the figures cover t=0 to this.
    pub covered_s: f64,
    /// `latency.hlog`'s last line, cut short and left out.
    pub cut_line: Option<usize>,
    /// Latency samples (operations, deliveries, probes) in the whole intervals.
    pub samples: u64,
}

impl Coverage {
    /// `latency.hlog` covers less than `timeseries.csv`.
    pub fn partial(&self) -> bool {
        self.whole_rows < self.rows
    }

    /// A sentence on `latency.hlog` when it is partial or has no latency samples.
    pub fn hlog_note(&self) -> Option<String> {
        let cut = match self.cut_line {
            Some(n) => format!(" (its line {n} was cut short and skipped)"),
            None => String::new(),
        };
        let (end, covered) = (secs(self.csv_end_s), secs(self.covered_s));
        if self.partial() && self.whole_rows == 0 {
            Some(format!(
                "latency.hlog is partial: it has no whole interval of the {end} s in \
                 timeseries.csv{cut}, so there are no latency samples."
            ))
        } else if self.partial() && self.samples == 0 {
            Some(format!(
                "latency.hlog is partial: its last whole interval ends at t={covered} s of \
                 {end} s{cut}, and there are no latency samples before it."
            ))
        } else if self.partial() {
            Some(format!(
                "latency.hlog is partial: its last whole interval ends at t={covered} s of \
                 {end} s{cut}."
            ))
        } else if self.samples == 0 && self.rows == 0 {
            Some("There are no latency samples: timeseries.csv has no whole interval.".into())
        } else if self.samples == 0 {
            Some(format!(
                "latency.hlog has no latency samples: no request or delivery was timed in t=0 \
                 to {covered} s."
            ))
        } else {
            None
        }
    }

    /// `cover t=0 to 12.5 s`.
    fn span(&self) -> String {
        if self.whole_rows == 0 {
            "cover no whole interval".to_string()
        } else {
            format!("cover t=0 to {} s", secs(self.covered_s))
        }
    }
}

/// Seconds as `12`, `12.5`, `12.125`.
fn secs(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Matches the intervals of `latency.hlog` against the rows of `timeseries.csv`, both in time
/// order, holding one interval of the log at a time, and passes on (commits) the intervals of
/// the rows both files hold whole: an interval whose samples the log has as many of as the row
/// counts. The first row that does not match ends what is whole.
struct Matcher<'a, F> {
    rows: &'a [IntervalRow],
    /// The next row to match; once `broken`, the first row that is not whole.
    next: usize,
    broken: bool,
    /// The lines of the interval being read, and its start (ms).
    pending: Vec<HlogInterval>,
    pending_ms: Option<u64>,
    samples: u64,
    commit: F,
}

impl<'a, F: FnMut(&HlogInterval) -> Result<(), ReportError>> Matcher<'a, F> {
    fn new(rows: &'a [IntervalRow], commit: F) -> Self {
        Matcher {
            rows,
            next: 0,
            broken: false,
            pending: Vec::new(),
            pending_ms: None,
            samples: 0,
            commit,
        }
    }

    fn take(&mut self, i: HlogInterval) -> Result<(), ReportError> {
        let at = ms(i.start_s);
        if self.pending_ms.is_some_and(|p| p != at) {
            self.flush()?;
        }
        self.pending_ms = Some(at);
        self.pending.push(i);
        Ok(())
    }

    /// Match the interval read so far against its row.
    fn flush(&mut self) -> Result<(), ReportError> {
        let Some(at) = self.pending_ms.take() else {
            return Ok(());
        };
        let pending = std::mem::take(&mut self.pending);
        if self.broken {
            return Ok(());
        }
        let rows = self.rows;
        // Rows before this interval are whole only when they counted no samples.
        while let Some(r) = rows.get(self.next) {
            if ms(r.t_s) >= at {
                break;
            }
            if expected(r) > 0 {
                self.broken = true;
                return Ok(());
            }
            self.next += 1;
        }
        // Past the last row (the run was killed before writing it), or no row of its own.
        let Some(r) = rows.get(self.next).filter(|r| ms(r.t_s) == at) else {
            return Ok(());
        };
        let got: u64 = pending
            .iter()
            .filter(|i| r.cells.contains_key(&i.tag))
            .map(|i| i.hist.len())
            .sum();
        if got != expected(r) {
            self.broken = true;
            return Ok(());
        }
        for i in &pending {
            (self.commit)(i)?;
        }
        self.samples += got;
        self.next += 1;
        Ok(())
    }

    /// The end of the log; `cut`, its last line cut short.
    fn finish(mut self, cut: Option<CutLine>) -> Result<Coverage, ReportError> {
        // The interval of a cut line, and any after it, are not whole in the log. When the cut
        // left its start illegible, the interval read last is judged by its counts, as any.
        let limit = cut.map(|c| match c.start_s {
            Some(s) => ms(s),
            None => self.pending_ms.map_or(0, |p| p + 1),
        });
        if let (Some(l), Some(p)) = (limit, self.pending_ms)
            && p >= l
        {
            self.pending.clear();
            self.pending_ms = None;
        }
        self.flush()?;
        let rows = self.rows;
        while !self.broken {
            let Some(r) = rows.get(self.next) else {
                break;
            };
            if limit.is_some_and(|l| ms(r.t_s) >= l) || expected(r) > 0 {
                self.broken = true;
            } else {
                self.next += 1;
            }
        }
        let end = |r: &IntervalRow| r.t_s + r.dt_s;
        Ok(Coverage {
            rows: rows.len(),
            whole_rows: self.next,
            csv_end_s: rows.last().map_or(0.0, end),
            covered_s: rows[..self.next].last().map_or(0.0, end),
            cut_line: cut.map(|c| c.line),
            samples: self.samples,
        })
    }
}

/// Read `latency.hlog` from `input` (`path` names it in errors) and `commit` the intervals
/// whole in it and in `rows` (`timeseries.csv`); says what that covers.
fn whole_intervals(
    input: impl BufRead,
    path: &Path,
    rows: &[IntervalRow],
    commit: impl FnMut(&HlogInterval) -> Result<(), ReportError>,
) -> Result<Coverage, ReportError> {
    let mut m = Matcher::new(rows, commit);
    let end = hlog::read_from(input, path, |i| m.take(i))?;
    m.finish(end.cut)
}

/// Read everything a report needs from run directory `dir`.
pub fn load(dir: &Path) -> Result<ReportData, ReportError> {
    load_with_note(dir).map(|(data, _)| data)
}

/// [`load`], and a note to print when `latency.hlog` covers less of the run than
/// `timeseries.csv` (it was cut) while `summary.json` is there (when the summary was rebuilt,
/// [`ReportData::rebuilt`] says so itself). The note is among the report's warnings too.
pub fn load_with_note(dir: &Path) -> Result<(ReportData, Option<String>), ReportError> {
    let info = RunInfo::read(&dir.join(RUN_JSON))?;
    let rows = read_timeseries(&dir.join(TIMESERIES))?;
    let events = read_events(&dir.join(EVENTS))?;
    // Merged per tag, and per phase and tag, an interval at a time (bounded memory), the
    // intervals whole in both files only: the csv row is written after its hlog lines.
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
    let hlog_file = File::open(&hlog_path).map_err(io(&hlog_path))?;
    let input = BufReader::with_capacity(64 * 1024, hlog_file);
    let coverage = whole_intervals(input, &hlog_path, &rows, |i| {
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
    let mut note = None;
    let (summary, rebuilt) = if summary_path.exists() {
        let mut s = read_summary(&summary_path)?;
        if coverage.partial()
            && let Some(h) = coverage.hlog_note()
        {
            let n = format!(
                "{h} The percentile spectra {} only; the other figures are summary.json's.",
                coverage.span()
            );
            s.warnings.push(n.clone());
            note = Some(n);
        }
        (s, None)
    } else {
        let raw = rebuild::RawData {
            rows: &rows[..coverage.whole_rows],
            by_phase: &by_phase,
            merged: &merged,
            events: &events,
            covered_s: coverage.covered_s,
        };
        let mut s = rebuild::rebuild(dir, &info, &raw)?;
        let span = coverage.span();
        let (about_hlog, whole_interval) = match coverage.hlog_note() {
            Some(h) => (format!(" {h}"), ""),
            None => (String::new(), ", the last whole interval"),
        };
        s.warnings.push(format!(
            "Rebuilt from raw data: the run ended without writing summary.json; figures \
             {span}{whole_interval}.{about_hlog}"
        ));
        let text = format!(
            "The run did not finish (no summary.json): these figures were rebuilt from its raw \
             data and {span}{whole_interval}.{about_hlog} Errors are not split by class, and \
             per-phase figures go by the interval a result came in."
        );
        (s, Some(text))
    };
    let events_marks = marks(&events);
    let rooms: Vec<String> = super::groups::worst_first(&summary.rooms)
        .into_iter()
        .map(|(id, _)| id.clone())
        .collect();
    let heat = heatmap::build(&events, &rooms, summary.duration_s, heatmap::BUCKETS);
    let data = ReportData {
        key_series: key_series(&summary),
        spectra: spectra(&merged),
        marks: events_marks,
        interval_s: info.interval_s,
        phases: info.phases.clone(),
        rows,
        summary,
        rebuilt,
        transport: info.transport.as_ref().map(|t| t.line()),
        heat,
    };
    Ok((data, note))
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

/// The facts of a run read back from its directory (`run.json`), for a summary built after
/// the run (rebuilt, or merged): not rebuilt, no notes, no memory figure, nothing incomplete.
pub fn facts_of_run<'a>(
    info: &RunInfo,
    profile: &'a crate::profile::Profile,
    phases: &'a [Phase],
    population: &'a crate::schedule::Population,
    engine: &'a EngineReport,
    windows: super::windows::Figures,
) -> summary::RunFacts<'a> {
    summary::RunFacts {
        profile,
        seed: info.seed,
        target: info.target.clone(),
        adapter: info.adapter.clone(),
        windows,
        phases,
        population,
        engine,
        lateness_limit_ms: info.lateness_limit_ms,
        max_skipped: info.max_skipped,
        allow_no_slo: info.allow_no_slo,
        rebuilt: false,
        notes: Vec::new(),
        peak_rss_mb: None,
        incomplete: Vec::new(),
    }
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
        markdown::render(
            &data.summary,
            data.rebuilt.as_deref(),
            data.transport.as_deref(),
        )
        .as_bytes(),
    )?;
    Ok(written)
}

mod rebuild;
#[cfg(test)]
mod tests;
