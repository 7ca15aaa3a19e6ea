//! Recorded traffic (docs/fleet.md, "Recorded traffic"): the call and status records of a
//! real day, read from a CSV file, to be replayed at their recorded offsets as open-model
//! arrivals (`traffic: - replay: records.csv`). Pure: a file's text in, records out; what
//! the schedule makes of them is in `schedule`.

pub mod generate;

use std::path::{Path, PathBuf};

/// What a record does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordAction {
    Status,
    Call,
    Register,
    Deregister,
    Affiliate,
    Login,
    Logout,
}

impl RecordAction {
    fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "status" => RecordAction::Status,
            "call" => RecordAction::Call,
            "register" => RecordAction::Register,
            "deregister" => RecordAction::Deregister,
            "affiliate" => RecordAction::Affiliate,
            "login" => RecordAction::Login,
            "logout" => RecordAction::Logout,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            RecordAction::Status => "status",
            RecordAction::Call => "call",
            RecordAction::Register => "register",
            RecordAction::Deregister => "deregister",
            RecordAction::Affiliate => "affiliate",
            RecordAction::Login => "login",
            RecordAction::Logout => "logout",
        }
    }

    /// Whether the record names a console (else a terminal).
    pub fn by_console(&self) -> bool {
        matches!(self, RecordAction::Login | RecordAction::Logout)
    }
}

/// One record, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The file's line.
    pub line: usize,
    /// Its time, µs: from midnight for a clock time, else as written.
    pub at_us: u64,
    pub action: RecordAction,
    pub issi: Option<u32>,
    pub console: Option<String>,
    pub talkgroup: Option<u32>,
    pub emergency: bool,
    /// How long a call lasts, µs.
    pub hold_us: Option<u64>,
    pub code: Option<u16>,
}

/// A records file, sorted by time (ties in file order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Records {
    pub file: PathBuf,
    pub records: Vec<Record>,
}

/// What is wrong with a records file, and where.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct RecordsError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// A time as written: seconds (`12.25`) or a clock time (`14:03:07`, `14:03:07.250`), µs.
pub fn parse_time(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.contains(':') {
        let mut parts = t.split(':');
        let h: u64 = parts.next()?.parse().ok()?;
        let m: u64 = parts.next()?.parse().ok()?;
        let s: f64 = parts.next().unwrap_or("0").parse().ok()?;
        if parts.next().is_some() || h > 47 || m > 59 || !(0.0..60.0).contains(&s) {
            return None;
        }
        Some((h * 3600 + m * 60) * 1_000_000 + (s * 1e6).round() as u64)
    } else {
        let s: f64 = t.parse().ok()?;
        (s.is_finite() && s >= 0.0).then(|| (s * 1e6).round() as u64)
    }
}

/// The largest records file read, bytes.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// Read and parse the records of `path`.
pub fn load(path: &Path) -> Result<Records, RecordsError> {
    let err = |line: Option<usize>, message: String| RecordsError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| err(None, e.to_string()))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(err(
            None,
            format!("{len} bytes: larger than the {MAX_FILE_BYTES}-byte limit"),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(None, e.to_string()))?;
    parse(&text).map_err(|(line, message)| err(Some(line), message))
}

/// Parse a records file's text; `Err((line, message))`.
pub fn parse(text: &str) -> Result<Records, (usize, String)> {
    let mut t = crate::csv::parse(text)?;
    let need = |name: &str| {
        t.column(name).ok_or_else(|| {
            (
                1,
                format!(
                    "no `{name}` column (the header has: {})",
                    t.columns.join(",")
                ),
            )
        })
    };
    let (c_time, c_action) = (need("time")?, need("action")?);
    let col = |name: &str| t.column(name);
    let (c_issi, c_console, c_tg, c_kind, c_hold, c_code) = (
        col("issi"),
        col("console"),
        col("talkgroup"),
        col("kind"),
        col("hold"),
        col("code"),
    );
    let mut records = Vec::new();
    for r in t.by_ref() {
        let r = &r?;
        let line = r.line;
        let field = |c: Option<usize>| c.map(|c| r.fields[c].trim()).filter(|f| !f.is_empty());
        let bad = |what: &str, v: &str| (line, format!("{what} `{v}`"));
        let at_us = parse_time(&r.fields[c_time])
            .ok_or_else(|| bad("time: seconds or HH:MM:SS[.mmm], not", &r.fields[c_time]))?;
        let action = RecordAction::parse(&r.fields[c_action]).ok_or_else(|| {
            bad(
                "action: status, call, register, deregister, affiliate, login or logout, not",
                &r.fields[c_action],
            )
        })?;
        let id = |c: Option<usize>, what: &str| -> Result<Option<u32>, (usize, String)> {
            match field(c) {
                None => Ok(None),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if rcload_api::valid_tetra_id(n) => Ok(Some(n as u32)),
                    _ => Err(bad(&format!("{what}: a TETRA id (1 to 16777215), not"), v)),
                },
            }
        };
        let issi = id(c_issi, "issi")?;
        let talkgroup = id(c_tg, "talkgroup")?;
        let console = field(c_console).map(str::to_string);
        match (action.by_console(), &console, issi) {
            (true, None, _) => return Err((line, format!("{}: no console", action.name()))),
            (false, _, None) => return Err((line, format!("{}: no issi", action.name()))),
            _ => {}
        }
        if action == RecordAction::Affiliate && talkgroup.is_none() {
            return Err((line, "affiliate: no talkgroup".into()));
        }
        let emergency = match field(c_kind).map(str::to_ascii_lowercase).as_deref() {
            None | Some("group") => false,
            Some("emergency") => true,
            Some(other) => return Err(bad("kind: group or emergency, not", other)),
        };
        let hold_us = match field(c_hold) {
            None => None,
            Some(v) => Some(
                parse_time(v)
                    .filter(|_| !v.contains(':'))
                    .ok_or_else(|| bad("hold: seconds, not", v))?,
            ),
        };
        let code = match field(c_code) {
            None => None,
            Some(v) => Some(
                v.parse::<u16>()
                    .map_err(|_| bad("code: 0 to 65535, not", v))?,
            ),
        };
        records.push(Record {
            line,
            at_us,
            action,
            issi,
            console,
            talkgroup,
            emergency,
            hold_us,
            code,
        });
    }
    // Stable: records of one instant keep the file's order.
    records.sort_by_key(|r| r.at_us);
    Ok(Records {
        file: PathBuf::new(),
        records,
    })
}

/// What `rcload replay inspect` prints: span, rate per minute, the peak minute.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub records: usize,
    pub first_us: u64,
    pub last_us: u64,
    /// Records per minute, from the first record's minute.
    pub per_minute: Vec<u64>,
    /// Records by action.
    pub by_action: Vec<(RecordAction, u64)>,
}

impl Inspection {
    pub fn of(r: &Records) -> Self {
        let first_us = r.records.first().map_or(0, |x| x.at_us);
        let last_us = r.records.last().map_or(0, |x| x.at_us);
        let minute0 = first_us / 60_000_000;
        let mut per_minute = vec![0u64; (last_us / 60_000_000 - minute0 + 1) as usize];
        let mut by_action = std::collections::BTreeMap::new();
        for x in &r.records {
            per_minute[(x.at_us / 60_000_000 - minute0) as usize] += 1;
            *by_action.entry(x.action).or_insert(0) += 1;
        }
        if r.records.is_empty() {
            per_minute.clear();
        }
        Inspection {
            records: r.records.len(),
            first_us,
            last_us,
            per_minute,
            by_action: by_action.into_iter().collect(),
        }
    }

    /// The busiest minute: its start (µs, as the records' times) and its records.
    pub fn peak(&self) -> Option<(u64, u64)> {
        let minute0 = self.first_us / 60_000_000 * 60_000_000;
        self.per_minute
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(i, n)| (minute0 + i as u64 * 60_000_000, *n))
    }
}

/// A time of the records (µs), as a clock time when it is within a day's hours.
pub fn clock(us: u64) -> String {
    let s = us / 1_000_000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "time,action,issi,console,talkgroup,kind,hold,code
14:00:01.500,status,2000001,,,,,7
14:00:00,call,2000002,,100001,emergency,4,
14:00:03,login,,mk01-c001,,,,
14:01:10,affiliate,2000001,,100002,,,
";

    #[test]
    fn records_are_read_and_sorted_by_time() {
        let r = parse(FILE).expect("parses");
        assert_eq!(r.records.len(), 4);
        assert_eq!(r.records[0].action, RecordAction::Call);
        assert!(r.records[0].emergency);
        assert_eq!(r.records[0].hold_us, Some(4_000_000));
        assert_eq!(r.records[1].at_us, (14 * 3600) * 1_000_000 + 1_500_000);
        assert_eq!(r.records[1].code, Some(7));
        assert_eq!(r.records[2].console.as_deref(), Some("mk01-c001"));
        assert_eq!(r.records[3].line, 5);
        let i = Inspection::of(&r);
        assert_eq!(i.per_minute, [3, 1]);
        assert_eq!(i.peak(), Some((14 * 3600 * 1_000_000, 3)));
        assert_eq!(clock(i.last_us), "14:01:10");
    }

    #[test]
    fn a_bad_record_is_located() {
        for (bad, line, what) in [
            ("x,status,1,,,,,", 2, "time"),
            ("1,shout,1,,,,,", 2, "action"),
            ("1,status,,,,,,", 2, "no issi"),
            ("1,login,,,,,,", 2, "no console"),
            ("1,call,1,,100001,urgent,,", 2, "kind"),
            ("1,status,99999999,,,,,", 2, "issi"),
            ("1,affiliate,1,,,,,", 2, "no talkgroup"),
        ] {
            let text = format!("time,action,issi,console,talkgroup,kind,hold,code\n{bad}\n");
            let (l, m) = parse(&text).expect_err(bad);
            assert_eq!(l, line, "{bad}: {m}");
            assert!(m.contains(what), "{bad}: {m}");
        }
        assert_eq!(parse("action\nstatus\n").unwrap_err().0, 1);
    }

    #[test]
    fn times_are_seconds_or_clock_times() {
        assert_eq!(parse_time("12.25"), Some(12_250_000));
        assert_eq!(parse_time("00:01:02.5"), Some(62_500_000));
        assert_eq!(parse_time("14:00"), Some(14 * 3600 * 1_000_000));
        assert_eq!(parse_time("-1"), None);
        assert_eq!(parse_time("25:61:00"), None);
    }
}
