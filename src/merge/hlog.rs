//! The interval files of a sharded run merged: the shards' `latency.hlog` and
//! `timeseries.csv`, read side by side an interval at a time, into one `latency.hlog` whose
//! every interval holds, per tag, the exact sum of the shards' histograms of that tag in that
//! interval, and one `timeseries.csv` whose rows sum the shards' rows (see `super::timeseries`).
//!
//! The shards ran from a common t=0 with the same interval, so interval k of every shard starts
//! at the same time: intervals are matched by their start, in whole milliseconds. Of each shard
//! only the intervals whole in both its files are used, found as `rcload report` finds them
//! (`crate::report::rundir`): a shard killed mid-line stops at its last whole interval, and
//! the merge says so. Memory holds one interval of each shard, however long the run.

use super::timeseries::{self as rows, RowReader, expected, ms, secs};
use crate::metrics::histogram;
use crate::metrics::row::IntervalRow;
use crate::report::ReportError;
use crate::report::hlog::{HlogInterval, HlogReader, HlogWriter};
use crate::report::rundir::{HLOG, TIMESERIES};
use crate::report::timeseries::TimeseriesWriter;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What [`merge_intervals`] wrote, and what of the shards it left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntervalsMerged {
    /// Intervals written: the rows of the merged `timeseries.csv`.
    pub intervals: usize,
    /// The shards' rows merged into them (each shard's whole intervals).
    pub rows: usize,
    /// Lines written to the merged `latency.hlog`.
    pub hlog_lines: usize,
    /// The end of the last interval written, s from t=0 (0 when none was).
    pub end_s: f64,
    /// The shards not used whole, by position in the list given: what of it was left out, a
    /// sentence naming its directory.
    pub cut: Vec<(usize, String)>,
}

impl IntervalsMerged {
    /// A note for each shard not used whole, for the merged run's warnings.
    pub fn notes(&self) -> Vec<String> {
        self.cut.iter().map(|(_, note)| note.clone()).collect()
    }
}

impl fmt::Display for IntervalsMerged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} intervals (t=0 to {} s) from {} shard rows, {} latency.hlog lines",
            self.intervals,
            secs(self.end_s),
            self.rows,
            self.hlog_lines
        )?;
        if !self.cut.is_empty() {
            write!(f, "; {} shards not used whole", self.cut.len())?;
        }
        Ok(())
    }
}

/// Merge the `latency.hlog` and `timeseries.csv` of each run directory of `shards` into
/// `out_dir` (its `latency.hlog` starting at `started_at`): interval by interval in start
/// order, each tag's histograms added exactly (tags in name order, as a single run writes
/// them), each row the sum of the shards' rows with its latencies computed from the added
/// histograms. Errors name the file (and line) that could not be read or written.
pub fn merge_intervals(
    shards: &[PathBuf],
    out_dir: &Path,
    started_at: SystemTime,
) -> Result<IntervalsMerged, ReportError> {
    let mut streams = shards
        .iter()
        .map(|dir| ShardIntervals::open(dir))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Output::create(out_dir, started_at)?;
    let mut heads = streams
        .iter_mut()
        .map(ShardIntervals::next_whole)
        .collect::<Result<Vec<_>, _>>()?;
    let mut merged = IntervalsMerged::default();
    while let Some(at_ms) = heads.iter().flatten().map(|w| w.at_ms).min() {
        let mut interval = MergedInterval::new(at_ms);
        for (stream, head) in streams.iter_mut().zip(heads.iter_mut()) {
            if let Some(whole) = head.take_if(|w| w.at_ms == at_ms) {
                interval.add(whole, &stream.hlog_path)?;
                *head = stream.next_whole()?;
                merged.rows += 1;
            }
        }
        let end_s = interval.row.t_s + interval.row.dt_s;
        merged.hlog_lines += out.write(interval)?;
        merged.intervals += 1;
        merged.end_s = end_s;
    }
    out.finish()?;
    for (position, stream) in streams.into_iter().enumerate() {
        if let Some(note) = stream.finish()? {
            merged.cut.push((position, note));
        }
    }
    Ok(merged)
}

/// One interval whole in a shard: its row, and its lines of `latency.hlog` (all its tags).
struct Whole {
    at_ms: u64,
    row: IntervalRow,
    lines: Vec<HlogInterval>,
}

/// One interval of the merged run, being added up: its row and its histograms by tag.
struct MergedInterval {
    at_ms: u64,
    row: IntervalRow,
    hists: BTreeMap<String, Histogram<u64>>,
    /// Shards added so far.
    shards: usize,
}

impl MergedInterval {
    /// An empty interval starting at `at_ms`.
    fn new(at_ms: u64) -> Self {
        MergedInterval {
            at_ms,
            row: IntervalRow {
                t_s: at_ms as f64 / 1000.0,
                ..IntervalRow::default()
            },
            hists: BTreeMap::new(),
            shards: 0,
        }
    }

    /// Add a shard's whole interval (`hlog` names its log in errors): its row summed, each
    /// line's histogram added to its tag's, into histograms that grow as needed.
    fn add(&mut self, whole: Whole, hlog: &Path) -> Result<(), ReportError> {
        rows::add_row(&mut self.row, &whole.row, self.shards == 0);
        self.shards += 1;
        for line in whole.lines {
            if !self.hists.contains_key(&line.tag) {
                self.hists.insert(line.tag.clone(), histogram());
            }
            let Some(into) = self.hists.get_mut(&line.tag) else {
                continue;
            };
            into.add(&line.hist).map_err(|e| ReportError::Parse {
                path: hlog.to_path_buf(),
                line: None,
                message: format!(
                    "cannot add `{}` of the interval at t={} s to the other shards': {e:?}",
                    line.tag,
                    secs(line.start_s)
                ),
            })?;
        }
        Ok(())
    }
}

/// The merged run's two interval files, written as a run writes them: an interval's lines to
/// `latency.hlog` first, then its row to `timeseries.csv`.
struct Output {
    hlog: HlogWriter,
    hlog_path: PathBuf,
    csv: TimeseriesWriter,
    csv_path: PathBuf,
}

impl Output {
    /// Create both files in `dir`; the log's start time is `started_at`.
    fn create(dir: &Path, started_at: SystemTime) -> Result<Self, ReportError> {
        let hlog_path = dir.join(HLOG);
        let csv_path = dir.join(TIMESERIES);
        let hlog = HlogWriter::create(&hlog_path, started_at).map_err(io(&hlog_path))?;
        let csv = TimeseriesWriter::create(&csv_path).map_err(io(&csv_path))?;
        Ok(Output {
            hlog,
            hlog_path,
            csv,
            csv_path,
        })
    }

    /// Write one merged interval; returns the lines written to the log.
    fn write(&mut self, interval: MergedInterval) -> Result<usize, ReportError> {
        let MergedInterval {
            at_ms,
            mut row,
            hists,
            ..
        } = interval;
        rows::set_latencies(&mut row, &hists);
        let start_s = at_ms as f64 / 1000.0;
        let mut lines = 0;
        for (tag, h) in hists.iter().filter(|(_, h)| !h.is_empty()) {
            let written = self.hlog.write(tag, start_s, row.dt_s, h);
            written.map_err(io(&self.hlog_path))?;
            lines += 1;
        }
        // The row says its interval is whole: its lines reach the file first.
        self.hlog.flush().map_err(io(&self.hlog_path))?;
        self.csv.write(&row).map_err(io(&self.csv_path))?;
        Ok(lines)
    }

    /// Make all that was written reach the files.
    fn finish(mut self) -> Result<(), ReportError> {
        self.hlog.flush().map_err(io(&self.hlog_path))
    }
}

/// An I/O error on `path`.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One interval of a shard's `latency.hlog`: its lines, consecutive and of one start.
struct Group {
    at_ms: u64,
    lines: Vec<HlogInterval>,
}

/// Reads a shard's `latency.hlog` an interval (a group of lines of one start) at a time. A
/// group is handed out once the line after it starts another interval, or the log ends. When
/// the log's last line was cut short, the group read last is left out if the cut line's
/// interval is its own or an earlier one, as `rcload report` leaves it out.
struct GroupReader {
    reader: HlogReader<BufReader<File>>,
    /// The first line of the next group, read ahead.
    ahead: Option<HlogInterval>,
    /// The start (ms) of the last interval line read.
    last_ms: Option<u64>,
    /// Set at the end of a log cut short: the start (ms) from which no interval is whole in it.
    limit: Option<u64>,
    ended: bool,
}

impl GroupReader {
    fn open(path: &Path) -> Result<Self, ReportError> {
        Ok(GroupReader {
            reader: HlogReader::open(path)?,
            ahead: None,
            last_ms: None,
            limit: None,
            ended: false,
        })
    }

    /// The next whole group, or `None` at the end of the log.
    fn next_group(&mut self) -> Result<Option<Group>, ReportError> {
        let mut group = self.ahead.take().map(|first| Group {
            at_ms: ms(first.start_s),
            lines: vec![first],
        });
        while !self.ended {
            let Some(line) = self.reader.next_interval()? else {
                self.end(&mut group);
                break;
            };
            let at_ms = ms(line.start_s);
            self.last_ms = Some(at_ms);
            let Some(g) = group.as_mut() else {
                group = Some(Group {
                    at_ms,
                    lines: vec![line],
                });
                continue;
            };
            if g.at_ms != at_ms {
                self.ahead = Some(line);
                break;
            }
            g.lines.push(line);
        }
        Ok(group)
    }

    /// The end of the log, `group` the one read last: as `rcload report` ends it, the interval
    /// of a cut line and any after it are not whole; when the cut left the line's start
    /// illegible, the interval read last is judged by its counts, as any.
    fn end(&mut self, group: &mut Option<Group>) {
        self.ended = true;
        let last_ms = self.last_ms;
        self.limit = self.reader.end().cut.map(|c| match c.start_s {
            Some(s) => ms(s),
            None => last_ms.map_or(0, |p| p.saturating_add(1)),
        });
        if let Some(limit) = self.limit
            && group.as_ref().is_some_and(|g| g.at_ms >= limit)
        {
            *group = None;
        }
    }

    /// The number of the log's last line, when it was cut short (known at its end).
    fn cut_line(&self) -> Option<usize> {
        self.reader.end().cut.map(|c| c.line)
    }
}

/// One shard's intervals whole in both its files, in time order, as `rcload report` finds
/// them (`crate::report::rundir`'s `Matcher`, here pulled an interval at a time): a row of
/// `timeseries.csv` and the lines of its interval in `latency.hlog`, whole when the log holds
/// as many samples of the row's cells as the row counts (a row that counts none needs no
/// lines). Lines of an interval without a row are left out; the first row not whole ends the
/// shard.
struct ShardIntervals {
    dir: PathBuf,
    hlog_path: PathBuf,
    rows: RowReader,
    groups: GroupReader,
    /// The next group of the log, read ahead of the rows (`None`: not read yet, or the end).
    group: Option<Group>,
    /// The start of the first row found not whole, s: the shard ends before it.
    stopped_at_s: Option<f64>,
    /// Rows handed out, and the end of the last of them (s).
    used: usize,
    covered_s: f64,
}

impl ShardIntervals {
    /// Open the interval files of run directory `dir`.
    fn open(dir: &Path) -> Result<Self, ReportError> {
        let hlog_path = dir.join(HLOG);
        Ok(ShardIntervals {
            dir: dir.to_path_buf(),
            rows: RowReader::open(&dir.join(TIMESERIES))?,
            groups: GroupReader::open(&hlog_path)?,
            hlog_path,
            group: None,
            stopped_at_s: None,
            used: 0,
            covered_s: 0.0,
        })
    }

    /// The shard's next whole interval, or `None` after its last.
    fn next_whole(&mut self) -> Result<Option<Whole>, ReportError> {
        if self.stopped_at_s.is_some() {
            return Ok(None);
        }
        let Some(row) = self.rows.next_row()? else {
            return Ok(None);
        };
        let at_ms = ms(row.t_s);
        // Groups before this row's interval have no row of their own.
        while self.group.as_ref().is_none_or(|g| g.at_ms < at_ms) {
            self.group = self.groups.next_group()?;
            if self.group.is_none() {
                break;
            }
        }
        let lines = match self.group.take_if(|g| g.at_ms == at_ms) {
            Some(g) if sampled(&g, &row) == expected(&row) => g.lines,
            Some(_) => return Ok(self.stop(&row)),
            None => {
                // No lines of its own: whole when it counts no samples, unless the log ended
                // cut short at or before its interval.
                let past_cut =
                    self.group.is_none() && self.groups.limit.is_some_and(|limit| at_ms >= limit);
                if expected(&row) > 0 || past_cut {
                    return Ok(self.stop(&row));
                }
                Vec::new()
            }
        };
        self.used += 1;
        self.covered_s = row.t_s + row.dt_s;
        Ok(Some(Whole { at_ms, row, lines }))
    }

    /// End the shard at `row`, the first not whole: nothing more of it is merged.
    fn stop(&mut self, row: &IntervalRow) -> Option<Whole> {
        self.stopped_at_s = Some(row.t_s);
        None
    }

    /// After the last interval: read what is left of both files (a line at a time), and say
    /// what of the shard was left out, if anything.
    fn finish(mut self) -> Result<Option<String>, ReportError> {
        while self.rows.next_row()?.is_some() {}
        self.group = None;
        while self.groups.next_group()?.is_some() {}
        let mut parts = Vec::new();
        if let Some(t) = self.stopped_at_s {
            parts.push(format!(
                "its intervals from t={} s on are not whole in latency.hlog and were left out \
                 (t=0 to {} s of the {} s in its timeseries.csv were merged, {} of {} rows)",
                secs(t),
                secs(self.covered_s),
                secs(self.rows.end_s()),
                self.used,
                self.rows.rows()
            ));
        }
        if let Some(line) = self.groups.cut_line() {
            parts.push(format!(
                "latency.hlog line {line} was cut short and skipped"
            ));
        }
        if let Some(line) = self.rows.cut_line() {
            parts.push(format!(
                "timeseries.csv line {line} was cut short and skipped"
            ));
        }
        if parts.is_empty() {
            return Ok(None);
        }
        Ok(Some(format!(
            "{}: {}.",
            self.dir.display(),
            parts.join("; ")
        )))
    }
}

/// The samples of `g` in the cells of `row`: its lines whose tag is one of the row's keys.
fn sampled(g: &Group, row: &IntervalRow) -> u64 {
    g.lines
        .iter()
        .filter(|i| row.cells.contains_key(&i.tag))
        .fold(0, |n, i| n.saturating_add(i.hist.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Delivery, GaugeReading, Outcome};
    use crate::metrics::interval::{Closed, IntervalRecorder};
    use crate::report::{hlog, timeseries};
    use crate::targets::ErrorClass;
    use rcload_api::Op;
    use std::time::{Duration, UNIX_EPOCH};

    use crate::merge::testdir::TempDir;

    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn status(latency_us: u64, error: bool) -> Outcome {
        Outcome::Op {
            op: Op::TerminalStatus,
            phase: 0,
            intended_us: 0,
            lateness_us: Some(40 + latency_us % 7),
            latency_us,
            service_us: latency_us / 2,
            error: error.then_some(ErrorClass::Http5xx),
            probe: false,
        }
    }

    fn delivered(latency_us: u64) -> Outcome {
        Outcome::Delivered {
            event: Delivery::Status,
            phase: 0,
            console: 0,
            latency_us,
            probe: false,
        }
    }

    fn missed() -> Outcome {
        Outcome::Missed {
            event: Delivery::Status,
            phase: 0,
            console: 0,
            talkgroup: 1,
            at_us: 0,
            probe: false,
        }
    }

    /// What shard `s` sees in interval `k`: status requests (one failing in shard 1), and
    /// deliveries; shard 2 only misses its delivery in interval 1.
    fn outcomes(s: u64, k: u64) -> Vec<Outcome> {
        let mut out: Vec<Outcome> = (1..=4 + 3 * s + k)
            .map(|i| status(800 * (s + 1) + i * 137 * (k + 1), s == 1 && i == 2))
            .collect();
        if s == 2 && k == 1 {
            out.push(missed());
        } else {
            out.extend((0..=s).map(|i| delivered(5_000 + 1_000 * i + 10_000 * k)));
        }
        out
    }

    /// Write a shard's run directory as a run writes it (`Writers::close_interval`): per
    /// interval, its lines to latency.hlog, then its row. The last interval is
    /// `last_len_us` long. Returns what was closed.
    fn write_shard(dir: &Path, intervals: &[Vec<Outcome>], last_len_us: u64) -> Vec<Closed> {
        let mut log = HlogWriter::create(&dir.join(HLOG), t0()).unwrap();
        let mut csv = TimeseriesWriter::create(&dir.join(TIMESERIES)).unwrap();
        let mut rec = IntervalRecorder::new();
        let mut before = GaugeReading::default();
        let mut closed = Vec::new();
        for (k, outcomes) in intervals.iter().enumerate() {
            for o in outcomes {
                rec.record(o);
            }
            let n = outcomes.len() as u64;
            let now = GaugeReading {
                due: before.due + n + 1,
                sent: before.sent + n,
                done: before.done + n - 1,
                consoles_logged_in: 2,
                terminals_registered: 10 + k as u64,
            };
            let start = k as u64 * 1_000_000;
            let len = if k + 1 == intervals.len() {
                last_len_us
            } else {
                1_000_000
            };
            let phase = if k == 0 { "warmup" } else { "steady" };
            let c = rec.close(start, start + len, phase, &before, &now);
            for (tag, h) in &c.hists {
                log.write(tag, c.row.t_s, c.row.dt_s, h).unwrap();
            }
            log.flush().unwrap();
            csv.write(&c.row).unwrap();
            before = now;
            closed.push(c);
        }
        closed
    }

    /// Shard `s` of the test, 3 intervals, written into `dir`.
    fn shard(dir: &Path, s: u64) -> Vec<Closed> {
        let intervals: Vec<Vec<Outcome>> = (0..3).map(|k| outcomes(s, k)).collect();
        write_shard(dir, &intervals, 500_000 + 100_000 * s)
    }

    /// A log read back: per interval start (ms), its tags in file order and their histograms.
    fn read_log(path: &Path) -> BTreeMap<u64, Vec<(String, Histogram<u64>)>> {
        let mut out: BTreeMap<u64, Vec<(String, Histogram<u64>)>> = BTreeMap::new();
        let mut last = 0;
        hlog::read(path, |i| {
            let at = ms(i.start_s);
            assert!(at >= last, "intervals in start order");
            last = at;
            out.entry(at).or_default().push((i.tag, i.hist));
            Ok(())
        })
        .unwrap();
        out
    }

    /// The values and counts `h` recorded.
    fn recorded(h: &Histogram<u64>) -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    fn assert_same(a: &Histogram<u64>, b: &Histogram<u64>, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        assert_eq!(a.value_at_quantile(0.5), b.value_at_quantile(0.5), "{what}");
        assert_eq!(
            a.value_at_quantile(0.99),
            b.value_at_quantile(0.99),
            "{what}"
        );
        assert_eq!((a.min(), a.max()), (b.min(), b.max()), "{what}");
        assert_eq!(recorded(a), recorded(b), "{what}");
    }

    #[test]
    fn three_shards_merge_into_the_exact_sum_of_their_intervals() {
        let tmp = TempDir::new("three");
        let dirs: Vec<PathBuf> = (0..3).map(|s| tmp.sub(&format!("shard{s}"))).collect();
        let closed: Vec<Vec<Closed>> = (0..3).map(|s| shard(&dirs[s], s as u64)).collect();
        let out = tmp.sub("merged");
        let merged = merge_intervals(&dirs, &out, t0()).unwrap();
        assert_eq!((merged.intervals, merged.rows), (3, 9));
        assert!(merged.cut.is_empty(), "{:?}", merged.cut);
        assert!(merged.notes().is_empty());
        // The longest last interval: shard 2's, 0.7 s.
        assert!((merged.end_s - 2.7).abs() < 1e-9, "{}", merged.end_s);

        // Each interval's histograms are the exact sums of the shards', tags in name order.
        let log = read_log(&out.join(HLOG));
        assert_eq!(log.keys().copied().collect::<Vec<_>>(), [0, 1000, 2000]);
        assert_eq!(merged.hlog_lines, log.values().map(Vec::len).sum::<usize>());
        let mut sums: Vec<BTreeMap<String, Histogram<u64>>> = vec![BTreeMap::new(); 3];
        for c in closed.iter().flatten() {
            let k = ms(c.row.t_s) as usize / 1000;
            for (tag, h) in &c.hists {
                sums[k]
                    .entry(tag.clone())
                    .or_insert_with(histogram)
                    .add(h)
                    .unwrap();
            }
        }
        for (k, lines) in log.values().enumerate() {
            let tags: Vec<&String> = lines.iter().map(|(t, _)| t).collect();
            assert_eq!(tags, sums[k].keys().collect::<Vec<_>>(), "interval {k}");
            for (tag, h) in lines {
                assert_same(h, &sums[k][tag], &format!("{tag} in interval {k}"));
            }
        }

        // Each row sums the shards' rows; its latencies are the summed histograms'.
        let rows = timeseries::read(&out.join(TIMESERIES)).unwrap();
        assert_eq!(rows.len(), 3);
        for (k, r) in rows.iter().enumerate() {
            let parts: Vec<&IntervalRow> = closed.iter().map(|c| &c[k].row).collect();
            let sum = |f: fn(&IntervalRow) -> u64| parts.iter().map(|r| f(r)).sum::<u64>();
            assert_eq!(r.t_s, k as f64);
            assert_eq!(r.phase, parts[0].phase);
            assert_eq!(r.offered, sum(|r| r.offered));
            assert_eq!(r.sent, sum(|r| r.sent));
            assert_eq!(r.completed, sum(|r| r.completed));
            assert_eq!(r.in_flight, sum(|r| r.in_flight));
            assert_eq!(r.errors, sum(|r| r.errors));
            assert_eq!(r.missed, sum(|r| r.missed));
            assert_eq!(r.consoles_logged_in, sum(|r| r.consoles_logged_in));
            assert_eq!(r.terminals_registered, sum(|r| r.terminals_registered));
            let longest = parts.iter().map(|r| r.dt_s).fold(0.0, f64::max);
            assert_eq!(r.dt_s, longest);
            for (key, cell) in &r.cells {
                let of_key = || parts.iter().filter_map(|p| p.cells.get(key));
                let count: u64 = of_key().map(|c| c.count).sum();
                let errors: u64 = of_key().map(|c| c.errors).sum();
                assert_eq!((cell.count, cell.errors), (count, errors), "{key} at {k}");
                let h = &sums[k][key];
                assert_eq!(cell.count, h.len(), "{key} at {k}");
                assert_eq!(cell.p50_ms, h.value_at_quantile(0.5) as f64 / 1000.0);
                assert_eq!(cell.p99_ms, h.value_at_quantile(0.99) as f64 / 1000.0);
                assert_eq!(cell.max_ms, h.max() as f64 / 1000.0);
            }
        }
        // The failed request of shard 1, and the delivery shard 2 missed.
        assert_eq!(rows[1].cells["terminal.status"].errors, 1);
        assert_eq!(rows[1].cells["delivery.status"].errors, 1);

        // The merged directory is whole as `rcload report` reads it: merged again, alone, every
        // row is used, and it comes back byte for byte.
        let again = tmp.sub("again");
        let twice = merge_intervals(std::slice::from_ref(&out), &again, t0()).unwrap();
        assert_eq!((twice.intervals, twice.rows), (3, 3));
        assert!(twice.cut.is_empty(), "{:?}", twice.cut);
        let csv = |d: &Path| std::fs::read(d.join(TIMESERIES)).unwrap();
        assert_eq!(csv(&again), csv(&out));
    }

    #[test]
    fn one_shard_merges_into_its_own_rows_and_histograms() {
        let tmp = TempDir::new("one");
        let dir = tmp.sub("shard");
        shard(&dir, 1);
        let out = tmp.sub("merged");
        let merged = merge_intervals(std::slice::from_ref(&dir), &out, t0()).unwrap();
        assert_eq!((merged.intervals, merged.rows), (3, 3));
        assert!(merged.cut.is_empty());
        // The rows exactly, as the shard wrote them.
        let csv = |d: &Path| std::fs::read_to_string(d.join(TIMESERIES)).unwrap();
        assert_eq!(csv(&out), csv(&dir));
        // The same lines, with the same histograms.
        let (mine, theirs) = (read_log(&out.join(HLOG)), read_log(&dir.join(HLOG)));
        assert_eq!(mine.len(), theirs.len());
        for ((at, a), (_, b)) in mine.iter().zip(&theirs) {
            let tags = |l: &Vec<(String, Histogram<u64>)>| -> Vec<String> {
                l.iter().map(|(t, _)| t.clone()).collect()
            };
            assert_eq!(tags(a), tags(b), "at {at} ms");
            for ((tag, ha), (_, hb)) in a.iter().zip(b) {
                assert_same(ha, hb, &format!("{tag} at {at} ms"));
            }
        }
        let text = std::fs::read_to_string(out.join(HLOG)).unwrap();
        assert!(
            text.contains("#[StartTime: 1800000000.000 (seconds since epoch)"),
            "{text}"
        );
        assert!(text.contains("Tag=terminal.status,2.000,0.600,"), "{text}");
    }

    /// Cut `path` `n` bytes before its end.
    fn cut(path: &Path, n: usize) {
        let bytes = std::fs::read(path).unwrap();
        std::fs::write(path, &bytes[..bytes.len() - n]).unwrap();
    }

    #[test]
    fn a_shard_cut_short_is_used_up_to_its_last_whole_interval_and_named() {
        let tmp = TempDir::new("cut");
        let dirs: Vec<PathBuf> = (0..4).map(|s| tmp.sub(&format!("shard{s}"))).collect();
        let whole = shard(&dirs[0], 0);
        // Killed while writing the last interval's lines: no row for it, its last line cut.
        let killed = shard(&dirs[1], 1);
        let csv_path = dirs[1].join(TIMESERIES);
        let text = std::fs::read_to_string(&csv_path).unwrap();
        let without_last = text.trim_end_matches('\n').rsplit_once('\n').unwrap().0;
        std::fs::write(&csv_path, format!("{without_last}\n")).unwrap();
        cut(&dirs[1].join(HLOG), 20);
        // A log cut short under a whole csv: its last interval is not whole.
        let damaged = shard(&dirs[2], 2);
        cut(&dirs[2].join(HLOG), 20);
        // A log missing a line of the second interval: whole up to the first only.
        shard(&dirs[3], 0);
        let log_path = dirs[3].join(HLOG);
        let log = std::fs::read_to_string(&log_path).unwrap();
        let gone = log
            .lines()
            .find(|l| l.starts_with("Tag=delivery.status,1.000"))
            .unwrap();
        std::fs::write(&log_path, log.replace(&format!("{gone}\n"), "")).unwrap();

        let out = tmp.sub("merged");
        let merged = merge_intervals(&dirs, &out, t0()).unwrap();
        assert_eq!(merged.intervals, 3);
        assert_eq!(merged.rows, 3 + 2 + 2 + 1);
        let positions: Vec<usize> = merged.cut.iter().map(|(p, _)| *p).collect();
        assert_eq!(positions, [1, 2, 3]);
        let note = |p: usize| merged.cut[p].1.clone();
        // 5 header lines, then 4 lines an interval.
        assert!(
            note(0).contains("latency.hlog line 17 was cut short"),
            "{}",
            note(0)
        );
        assert!(!note(0).contains("not whole"), "{}", note(0));
        assert!(
            note(0).starts_with(&dirs[1].display().to_string()),
            "{}",
            note(0)
        );
        assert!(
            note(1).contains("from t=2 s on are not whole"),
            "{}",
            note(1)
        );
        assert!(note(1).contains("t=0 to 2 s of the 2.7 s"), "{}", note(1));
        // Its second interval has no delivery line (it missed its delivery).
        assert!(note(1).contains("line 16 was cut short"), "{}", note(1));
        assert!(
            note(2).contains("from t=1 s on are not whole"),
            "{}",
            note(2)
        );
        assert!(note(2).contains("1 of 3 rows"), "{}", note(2));
        assert_eq!(merged.notes().len(), 3);

        // The last interval holds only the whole shard's samples.
        let rows = timeseries::read(&out.join(TIMESERIES)).unwrap();
        assert_eq!(rows[2].offered, whole[2].row.offered);
        assert_eq!(rows[2].dt_s, whole[2].row.dt_s);
        let log = read_log(&out.join(HLOG));
        for (tag, h) in &log[&2000] {
            let theirs = whole[2].hists.iter().find(|(t, _)| t == tag).unwrap();
            assert_same(h, &theirs.1, tag);
        }
        // The second: shards 0, 1 and 2.
        let second = |c: &Vec<Closed>| c[1].row.cells["terminal.status"].count;
        let expect = second(&whole) + second(&killed) + second(&damaged);
        assert_eq!(rows[1].cells["terminal.status"].count, expect);
    }
}
