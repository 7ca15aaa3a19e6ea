//! `timeseries.csv`: one row per interval, written as the run goes. Columns: `t_s, phase,
//! offered, sent, completed, in_flight, errors, consoles_logged_in, terminals_registered,
//! drops, disconnects, missed, skipped, throttled, dt_s`, then for every operation and delivery
//! type `<key>.count, <key>.errors, <key>.p50_ms, <key>.p99_ms, <key>.max_ms` (percentiles
//! empty when the count is 0; for a delivery type `errors` is its missed deliveries).

use super::ReportError;
use crate::metrics::interval::cell_keys;
use crate::metrics::row::{Cell, IntervalRow};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const FIXED: [&str; 15] = [
    "t_s",
    "phase",
    "offered",
    "sent",
    "completed",
    "in_flight",
    "errors",
    "consoles_logged_in",
    "terminals_registered",
    "drops",
    "disconnects",
    "missed",
    "skipped",
    "throttled",
    "dt_s",
];
const CELL: [&str; 5] = ["count", "errors", "p50_ms", "p99_ms", "max_ms"];

/// The header line (without its newline).
pub fn header() -> String {
    let mut cols: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
    for k in cell_keys() {
        for c in CELL {
            cols.push(format!("{k}.{c}"));
        }
    }
    cols.join(",")
}

fn quoted(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Format one row (without its newline).
pub fn format_row(r: &IntervalRow, keys: &[String]) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "{:.3},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3}",
        r.t_s,
        quoted(&r.phase),
        r.offered,
        r.sent,
        r.completed,
        r.in_flight,
        r.errors,
        r.consoles_logged_in,
        r.terminals_registered,
        r.drops,
        r.disconnects,
        r.missed,
        r.skipped,
        r.throttled,
        r.dt_s
    );
    for k in keys {
        match r.cells.get(k) {
            Some(c) if c.count > 0 => {
                let _ = write!(
                    s,
                    ",{},{},{:.3},{:.3},{:.3}",
                    c.count, c.errors, c.p50_ms, c.p99_ms, c.max_ms
                );
            }
            Some(c) => {
                let _ = write!(s, ",0,{},,,", c.errors);
            }
            None => s.push_str(",0,0,,,"),
        }
    }
    s
}

/// Appends rows to `timeseries.csv`, each written whole and flushed.
pub struct TimeseriesWriter {
    file: File,
    keys: Vec<String>,
}

impl TimeseriesWriter {
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut file = File::create(path)?;
        file.write_all(format!("{}\n", header()).as_bytes())?;
        Ok(TimeseriesWriter {
            file,
            keys: cell_keys(),
        })
    }

    pub fn write(&mut self, r: &IntervalRow) -> io::Result<()> {
        let line = format!("{}\n", format_row(r, &self.keys));
        self.file.write_all(line.as_bytes())
    }
}

/// Split one CSV line (quotes as [`quoted`] writes them).
fn split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_q) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => in_q = !in_q,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Read `timeseries.csv`: the whole rows (a last line cut short by a kill is left out).
pub fn read(path: &Path) -> Result<Vec<IntervalRow>, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &Path) -> Result<Vec<IntervalRow>, ReportError> {
    let whole = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut lines = whole.lines().enumerate();
    let err = |line: usize, message: String| ReportError::Parse {
        path: PathBuf::from(path),
        line: Some(line + 1),
        message,
    };
    let Some((_, head)) = lines.next() else {
        return Err(err(0, "no header line".into()));
    };
    let cols = split(head);
    let index: BTreeMap<&str, usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    for f in FIXED {
        if !index.contains_key(f) {
            return Err(err(0, format!("no `{f}` column")));
        }
    }
    // The cell keys this file has, in its own column order.
    let keys: Vec<&str> = cols
        .iter()
        .filter_map(|c| c.strip_suffix(".count"))
        .collect();
    let mut rows = Vec::new();
    for (n, line) in lines {
        let v = split(line);
        if v.len() != cols.len() {
            return Err(err(
                n,
                format!("{} fields, the header has {}", v.len(), cols.len()),
            ));
        }
        let get = |name: &str| -> &str { index.get(name).map(|i| v[*i].as_str()).unwrap_or("") };
        let int = |name: &str| -> Result<u64, ReportError> {
            get(name)
                .parse()
                .map_err(|_| err(n, format!("`{name}`: not a count: {:?}", get(name))))
        };
        let num = |name: &str| -> Result<f64, ReportError> {
            let s = get(name);
            if s.is_empty() {
                return Ok(0.0);
            }
            s.parse()
                .map_err(|_| err(n, format!("`{name}`: not a number: {s:?}")))
        };
        let mut cells = BTreeMap::new();
        for k in &keys {
            let count = int(&format!("{k}.count"))?;
            let errors = int(&format!("{k}.errors"))?;
            if count == 0 && errors == 0 {
                continue;
            }
            cells.insert(
                k.to_string(),
                Cell {
                    count,
                    errors,
                    p50_ms: num(&format!("{k}.p50_ms"))?,
                    p99_ms: num(&format!("{k}.p99_ms"))?,
                    max_ms: num(&format!("{k}.max_ms"))?,
                },
            );
        }
        rows.push(IntervalRow {
            t_s: num("t_s")?,
            dt_s: num("dt_s")?,
            phase: get("phase").to_string(),
            offered: int("offered")?,
            sent: int("sent")?,
            completed: int("completed")?,
            in_flight: int("in_flight")?,
            errors: int("errors")?,
            consoles_logged_in: int("consoles_logged_in")?,
            terminals_registered: int("terminals_registered")?,
            drops: int("drops")?,
            disconnects: int("disconnects")?,
            missed: int("missed")?,
            skipped: int("skipped")?,
            throttled: int("throttled")?,
            cells,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_a_cut_row_is_left_out() {
        let mut cells = BTreeMap::new();
        cells.insert(
            "terminal.status".to_string(),
            Cell {
                count: 10,
                errors: 1,
                p50_ms: 1.5,
                p99_ms: 4.25,
                max_ms: 9.0,
            },
        );
        cells.insert(
            "delivery.status".to_string(),
            Cell {
                count: 0,
                errors: 3,
                ..Cell::default()
            },
        );
        let row = IntervalRow {
            t_s: 2.0,
            dt_s: 1.0,
            phase: "shift, change \"b\"".into(),
            offered: 11,
            sent: 10,
            completed: 10,
            in_flight: 1,
            errors: 1,
            consoles_logged_in: 40,
            terminals_registered: 600,
            drops: 2,
            disconnects: 1,
            missed: 3,
            skipped: 1,
            throttled: 0,
            cells,
        };
        let keys = cell_keys();
        let text = format!(
            "{}\n{}\n{}\n",
            header(),
            format_row(&row, &keys),
            format_row(&row, &keys)
        );
        let rows = parse(&text, Path::new("t.csv")).unwrap();
        assert_eq!(rows, vec![row.clone(), row.clone()]);
        let cut = &text[..text.len() - 7];
        assert_eq!(parse(cut, Path::new("t.csv")).unwrap(), vec![row]);
        assert!(header().starts_with("t_s,phase,offered,sent,completed,in_flight,errors,consoles_logged_in,terminals_registered,drops,disconnects,missed"));
        let bad = format!("{}\n1,2\n", header());
        let e = parse(&bad, Path::new("t.csv")).unwrap_err().to_string();
        assert!(e.starts_with("t.csv:2: "), "{e}");
    }
}
