//! The rows of the shards' `timeseries.csv` files: read one row at a time (within the limits
//! `rcload report` reads them with), and added into the merged run's row of each interval,
//! whose latencies are then computed from the merged interval's histograms exactly as a single
//! run computes them. Knows nothing of how the intervals of the shards are matched
//! (`super::hlog` does that).

use crate::metrics::row::IntervalRow;
use crate::report::ReportError;
use crate::report::limits::{self, Line};
use crate::report::timeseries;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Take};
use std::path::{Path, PathBuf};

/// An interval's start in whole milliseconds: how `latency.hlog` and `timeseries.csv` both
/// write it (`{:.3}`). `rcload report` matches the two files' intervals by it, and the merge
/// matches the shards' intervals by it too.
pub(super) fn ms(s: f64) -> u64 {
    (s * 1000.0).round() as u64
}

/// Seconds for a message: `12`, `12.5`, `12.125`.
pub(super) fn secs(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The latency samples a row counts (its cells' counts): its interval's lines in
/// `latency.hlog` hold as many, when the interval is whole there.
pub(super) fn expected(r: &IntervalRow) -> u64 {
    r.cells.values().fold(0, |n, c| n.saturating_add(c.count))
}

/// Reads one shard's `timeseries.csv` a row at a time, holding one line: at most
/// [`limits::MAX_TIMESERIES_BYTES`] in all and [`limits::MAX_LINE_BYTES`] a line, every time
/// one a run can have, the rows in time order. A last line cut short (the process was killed
/// while writing it) ends the rows and is remembered.
pub(super) struct RowReader {
    input: BufReader<Take<File>>,
    path: PathBuf,
    /// The header line, without its newline: each row is parsed under it.
    header: String,
    line: Vec<u8>,
    /// Lines read whole, the header's included.
    lines: usize,
    /// Bytes read whole.
    bytes: u64,
    /// Rows read.
    rows: usize,
    /// The start (ms) of the last row read.
    last_ms: Option<u64>,
    /// The end of the last row read, s from t=0.
    end_s: f64,
    /// The number of a last line cut short, left out.
    cut_line: Option<usize>,
    /// Nothing more is to be read.
    done: bool,
}

impl RowReader {
    /// Open `path` and read its header line.
    pub(super) fn open(path: &Path) -> Result<Self, ReportError> {
        let file = limits::open(path, limits::MAX_TIMESERIES_BYTES)?;
        let mut reader = RowReader {
            input: BufReader::with_capacity(64 * 1024, file),
            path: path.to_path_buf(),
            header: String::new(),
            line: Vec::new(),
            lines: 0,
            bytes: 0,
            rows: 0,
            last_ms: None,
            end_s: 0.0,
            cut_line: None,
            done: false,
        };
        if !reader.read_line()? {
            return Err(reader.error(1, "no header line".into()));
        }
        let header = reader.text(1)?.trim_end_matches('\n').to_string();
        reader.header = header;
        Ok(reader)
    }

    /// The next row, or `None` after the last whole one.
    pub(super) fn next_row(&mut self) -> Result<Option<IntervalRow>, ReportError> {
        if !self.read_line()? {
            return Ok(None);
        }
        let number = self.lines;
        let row = self.parse_line(number)?;
        self.check(&row, number)?;
        self.last_ms = Some(ms(row.t_s));
        self.end_s = row.t_s + row.dt_s;
        self.rows += 1;
        Ok(Some(row))
    }

    /// Rows read so far.
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// The end of the last row read so far, s from t=0 (0 before the first).
    pub(super) fn end_s(&self) -> f64 {
        self.end_s
    }

    /// The number of the last line, when it was cut short (known once the rows ended).
    pub(super) fn cut_line(&self) -> Option<usize> {
        self.cut_line
    }

    /// Read the next line into `self.line`: `true` when a whole one was read, `false` at the
    /// end or at a last line cut short.
    fn read_line(&mut self) -> Result<bool, ReportError> {
        if self.done {
            return Ok(false);
        }
        let number = self.lines + 1;
        let read = limits::read_line(&mut self.input, &mut self.line, limits::MAX_LINE_BYTES)
            .map_err(|source| ReportError::Io {
                path: self.path.clone(),
                source,
            })?;
        let over = self.bytes.saturating_add(self.line.len() as u64) > limits::MAX_TIMESERIES_BYTES;
        match read {
            Line::End => {
                self.done = true;
                Ok(false)
            }
            Line::TooLong => {
                self.done = true;
                Err(limits::line_too_long(&self.path, number))
            }
            // A device read to its limit ends in a "cut" line too: it is too big, not cut.
            _ if over => {
                self.done = true;
                Err(limits::too_big(&self.path, limits::MAX_TIMESERIES_BYTES))
            }
            Line::Cut => {
                self.done = true;
                self.cut_line = Some(number);
                Ok(false)
            }
            Line::Whole => {
                self.lines = number;
                self.bytes += self.line.len() as u64;
                Ok(true)
            }
        }
    }

    /// The line in hand as text (line `number` in errors).
    fn text(&self, number: usize) -> Result<&str, ReportError> {
        std::str::from_utf8(&self.line).map_err(|e| {
            self.error(
                number,
                format!(
                    "not UTF-8 text (at byte {}): not a line rcload wrote",
                    e.valid_up_to()
                ),
            )
        })
    }

    /// The line in hand, line `number`, parsed as `rcload report` parses the file: as the one
    /// row under the header.
    fn parse_line(&self, number: usize) -> Result<IntervalRow, ReportError> {
        let text = format!("{}\n{}", self.header, self.text(number)?);
        let mut rows = timeseries::parse(&text, &self.path).map_err(|e| at_line(e, number))?;
        match rows.pop() {
            Some(row) if rows.is_empty() => Ok(row),
            _ => Err(self.error(number, "not one row of timeseries.csv".into())),
        }
    }

    /// Row `row` (line `number`) has times a run can have, and starts after the row before.
    fn check(&self, row: &IntervalRow, number: usize) -> Result<(), ReportError> {
        for (field, v) in [("t_s", row.t_s), ("dt_s", row.dt_s)] {
            if !limits::is_run_seconds(v) {
                let message = format!("`{field}` is {}: {}", limits::show(v), limits::RUN_SECONDS);
                return Err(self.error(number, message));
            }
        }
        if let Some(last) = self.last_ms
            && ms(row.t_s) <= last
        {
            let message = format!(
                "its interval (t={} s) does not start after the one before it (t={} s): the \
                 rows are not in time order",
                secs(row.t_s),
                secs(last as f64 / 1000.0)
            );
            return Err(self.error(number, message));
        }
        Ok(())
    }

    /// An error about line `number` of the file.
    fn error(&self, number: usize, message: String) -> ReportError {
        ReportError::Parse {
            path: self.path.clone(),
            line: Some(number),
            message,
        }
    }
}

/// `e`, an error about the one row parsed under the header (line 2 of what was parsed), made
/// to name line `number` of the file instead.
fn at_line(e: ReportError, number: usize) -> ReportError {
    match e {
        ReportError::Parse {
            path,
            line: Some(2),
            message,
        } => ReportError::Parse {
            path,
            line: Some(number),
            message,
        },
        other => other,
    }
}

/// Add shard row `row` into `sum`, the merged row of the same interval: the counters, and the
/// counts and errors of the cells, summed; the longest length; the phase of the first shard's
/// row (`first`: `row` is the first added). The start is the caller's; the cells' latencies
/// are set afterwards, from the merged histograms, by [`set_latencies`].
pub(super) fn add_row(sum: &mut IntervalRow, row: &IntervalRow, first: bool) {
    if first {
        sum.phase = row.phase.clone();
    }
    sum.dt_s = sum.dt_s.max(row.dt_s);
    let counters = [
        (&mut sum.offered, row.offered),
        (&mut sum.sent, row.sent),
        (&mut sum.completed, row.completed),
        (&mut sum.in_flight, row.in_flight),
        (&mut sum.errors, row.errors),
        (&mut sum.consoles_logged_in, row.consoles_logged_in),
        (&mut sum.terminals_registered, row.terminals_registered),
        (&mut sum.drops, row.drops),
        (&mut sum.disconnects, row.disconnects),
        (&mut sum.missed, row.missed),
        (&mut sum.skipped, row.skipped),
        (&mut sum.throttled, row.throttled),
    ];
    for (into, n) in counters {
        *into = into.saturating_add(n);
    }
    for (key, cell) in &row.cells {
        let into = sum.cells.entry(key.clone()).or_default();
        into.count = into.count.saturating_add(cell.count);
        into.errors = into.errors.saturating_add(cell.errors);
    }
}

/// Set the p50, p99 and max (ms) of each cell of `row` from `hists`, the merged interval's
/// histograms by tag (a cell's key is its tag), as a single run sets them from its own:
/// zeros for a cell that counted no samples (or, the files disagreeing, has no histogram).
pub(super) fn set_latencies(row: &mut IntervalRow, hists: &BTreeMap<String, Histogram<u64>>) {
    for (key, cell) in row.cells.iter_mut() {
        let (p50_ms, p99_ms, max_ms) = match hists.get(key) {
            Some(h) if cell.count > 0 && !h.is_empty() => latencies_ms(h),
            _ => (0.0, 0.0, 0.0),
        };
        cell.p50_ms = p50_ms;
        cell.p99_ms = p99_ms;
        cell.max_ms = max_ms;
    }
}

/// The p50, p99 and max of `h` (µs), in ms: the formula of a single run's cells
/// (`Series::cell` in `crate::metrics::interval`), so that merging one shard gives back its
/// rows exactly.
fn latencies_ms(h: &Histogram<u64>) -> (f64, f64, f64) {
    let to_ms = |us: u64| us as f64 / 1000.0;
    (
        to_ms(h.value_at_quantile(0.5)),
        to_ms(h.value_at_quantile(0.99)),
        to_ms(h.max()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::histogram;
    use crate::metrics::interval::cell_keys;
    use crate::metrics::row::Cell;
    use crate::report::timeseries::{format_row, header};

    use crate::merge::testdir::TempDir;

    fn cell(count: u64, errors: u64) -> Cell {
        Cell {
            count,
            errors,
            ..Cell::default()
        }
    }

    fn row(t_s: f64, cells: &[(&str, Cell)]) -> IntervalRow {
        IntervalRow {
            t_s,
            dt_s: 1.0,
            phase: "steady".into(),
            offered: 10,
            sent: 9,
            completed: 8,
            in_flight: 1,
            errors: 1,
            consoles_logged_in: 3,
            terminals_registered: 40,
            drops: 1,
            disconnects: 0,
            missed: 2,
            skipped: 1,
            throttled: 4,
            cells: cells
                .iter()
                .map(|(k, c)| (k.to_string(), c.clone()))
                .collect(),
        }
    }

    /// A csv of these rows as a run writes it, and what follows them (`tail`).
    fn csv(rows: &[IntervalRow], tail: &str) -> String {
        let keys = cell_keys();
        let mut text = format!("{}\n", header());
        for r in rows {
            text.push_str(&format_row(r, &keys));
            text.push('\n');
        }
        text.push_str(tail);
        text
    }

    fn read_all(path: &Path) -> Result<(Vec<IntervalRow>, RowReader), ReportError> {
        let mut reader = RowReader::open(path)?;
        let mut rows = Vec::new();
        while let Some(r) = reader.next_row()? {
            rows.push(r);
        }
        Ok((rows, reader))
    }

    fn parse_error(text: &str) -> (Option<usize>, String) {
        let dir = TempDir::new("bad");
        let path = dir.0.join("timeseries.csv");
        std::fs::write(&path, text).unwrap();
        match read_all(&path) {
            Err(ReportError::Parse { line, message, .. }) => (line, message),
            other => panic!("{:?}", other.map(|(rows, _)| rows)),
        }
    }

    #[test]
    fn rows_are_read_one_at_a_time_and_a_cut_last_line_is_left_out() {
        let dir = TempDir::new("rows");
        let path = dir.0.join("timeseries.csv");
        let rows = [
            row(0.0, &[("terminal.status", cell(0, 2))]),
            row(1.0, &[]),
            row(2.5, &[]),
        ];
        let text = csv(&rows, "3.500,steady,1,2");
        std::fs::write(&path, &text).unwrap();
        let (read, reader) = read_all(&path).unwrap();
        // What `rcload report` reads from the same file.
        assert_eq!(read, timeseries::parse(&text, &path).unwrap());
        assert_eq!(read.len(), 3);
        assert_eq!((reader.rows(), reader.end_s()), (3, 3.5));
        assert_eq!(reader.cut_line(), Some(5));
        // Whole to its end: no cut line.
        std::fs::write(&path, csv(&rows, "")).unwrap();
        let (_, reader) = read_all(&path).unwrap();
        assert_eq!(reader.cut_line(), None);
    }

    #[test]
    fn a_bad_row_is_named_by_its_line_in_the_file() {
        let good = [row(0.0, &[]), row(1.0, &[])];
        let (line, message) = parse_error(&csv(&good, "2.000,steady,1\n"));
        assert_eq!(line, Some(4));
        assert!(message.contains("fields, the header has"), "{message}");
        // Out of time order.
        let (line, message) = parse_error(&csv(&[row(1.0, &[]), row(1.0, &[])], ""));
        assert_eq!(line, Some(3));
        assert!(message.contains("not in time order"), "{message}");
        // Out of range.
        let (line, message) = parse_error(&csv(&[row(0.0, &[]), row(2e9, &[])], ""));
        assert_eq!(line, Some(3));
        assert!(message.contains("`t_s` is 2000000000"), "{message}");
        let (line, message) = parse_error("");
        assert_eq!(line, Some(1));
        assert!(message.contains("no header line"), "{message}");
    }

    #[test]
    fn rows_add_up_and_latencies_come_from_the_merged_histograms() {
        let a = row(
            3.0,
            &[
                ("terminal.status", cell(3, 1)),
                ("delivery.status", cell(0, 2)),
            ],
        );
        let mut b = row(3.0, &[("terminal.status", cell(2, 0))]);
        b.phase = "other".into();
        b.dt_s = 0.4;
        let mut sum = IntervalRow {
            t_s: 3.0,
            ..IntervalRow::default()
        };
        add_row(&mut sum, &a, true);
        add_row(&mut sum, &b, false);
        assert_eq!((sum.phase.as_str(), sum.dt_s), ("steady", 1.0));
        assert_eq!((sum.offered, sum.sent, sum.completed), (20, 18, 16));
        assert_eq!((sum.in_flight, sum.errors, sum.missed), (2, 2, 4));
        assert_eq!((sum.consoles_logged_in, sum.terminals_registered), (6, 80));
        assert_eq!((sum.drops, sum.skipped, sum.throttled), (2, 2, 8));
        let mut h = histogram();
        for v in [1_000, 2_000, 3_000, 4_000, 250_000] {
            h.record(v).unwrap();
        }
        let hists = BTreeMap::from([("terminal.status".to_string(), h.clone())]);
        set_latencies(&mut sum, &hists);
        let status = &sum.cells["terminal.status"];
        assert_eq!((status.count, status.errors), (5, 1));
        assert_eq!(status.p50_ms, h.value_at_quantile(0.5) as f64 / 1000.0);
        assert_eq!(status.p99_ms, h.value_at_quantile(0.99) as f64 / 1000.0);
        assert_eq!(status.max_ms, h.max() as f64 / 1000.0);
        // Only missed deliveries: no latencies, as a single run writes it.
        assert_eq!(sum.cells["delivery.status"], cell(0, 2));
    }

    #[test]
    fn starts_and_seconds() {
        assert_eq!(ms(2.0), 2000);
        assert_eq!(ms(0.0015), 2);
        assert_eq!(secs(12.0), "12");
        assert_eq!(secs(12.125), "12.125");
        assert_eq!(
            expected(&row(0.0, &[("a", cell(2, 1)), ("b", cell(3, 0))])),
            5
        );
    }
}
