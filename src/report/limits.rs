//! How much `rcload report` and `rcload compare` read from a run directory, and the checks on
//! what they read. A damaged or hostile file (or `/dev/zero` given as a summary) is refused with
//! an error naming the file (and line), never read whole: a file over its maximum size, a line
//! over the maximum line length, a number out of the range it can have. The limits are far above
//! what rcload writes; `docs/reports.md` lists them.

use super::ReportError;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

const MIB: u64 = 1024 * 1024;

/// `summary.json` and `run.json`: 64 MiB (rcload writes some kilobytes; a summary's lists of
/// findings grow by about 200 bytes a finding).
pub const MAX_JSON_BYTES: u64 = 64 * MIB;
/// `timeseries.csv`: 1 GiB (about 1 KB an interval: 25 MB for 8 hours at 1 s).
pub const MAX_TIMESERIES_BYTES: u64 = 1024 * MIB;
/// `events.jsonl`: 1 GiB (a few hundred bytes an event).
pub const MAX_EVENTS_BYTES: u64 = 1024 * MIB;
/// One line of `latency.hlog`, `timeseries.csv` or `events.jsonl`, its newline included: 1 MiB
/// (rcload's longest, a histogram line, is a few kilobytes; `latency.hlog` has no limit on its
/// length, as it is read a line at a time).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// The counts of one histogram of `latency.hlog` as its header declares them, decoded: 1 MiB
/// (rcload's, 3 significant digits, take at most about 520 KB, usually a few hundred bytes).
pub const MAX_HISTOGRAM_BYTES: usize = 1024 * 1024;
/// The significant digits of one histogram of `latency.hlog`: 4 (rcload writes 3); its counts
/// then take at most about 6.7 MB of memory, whatever its range.
pub const MAX_SIGNIFICANT_DIGITS: u32 = 4;
/// A time from a run's t=0 (phase bounds, interval starts and lengths, the times of a summary):
/// 0 to 1,000,000,000 s (about 31 years).
pub const MAX_RUN_SECONDS: f64 = 1e9;
/// What [`MAX_RUN_SECONDS`] allows, for messages.
pub const RUN_SECONDS: &str = "not a time a run can have (0 to 1000000000 s from its start)";
/// `run.json`'s `started_at_unix_s` is before this: 10000-01-01T00:00:00Z, the first instant
/// RFC 3339 cannot write.
pub const END_OF_RFC3339_UNIX_S: f64 = 253_402_300_800.0;

/// Whether `v` is a time from a run's t=0 that a run can have.
pub fn is_run_seconds(v: f64) -> bool {
    (0.0..=MAX_RUN_SECONDS).contains(&v)
}

/// A number for a message: `1e300` rather than its 301 digits.
pub fn show(v: f64) -> String {
    if v.abs() < 1e15 {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// `64 MiB`, `1 GiB`, `1000 bytes`.
pub fn human(bytes: u64) -> String {
    if bytes >= 1024 * MIB && bytes.is_multiple_of(1024 * MIB) {
        format!("{} GiB", bytes / (1024 * MIB))
    } else if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Whether schema id `found` names the same format and major version as `ours`:
/// `rcload.summary/1` and `rcload.summary/1.2` do, `rcload.summary/999` does not.
pub fn same_schema(found: &str, ours: &str) -> bool {
    fn major(id: &str) -> Option<(&str, &str)> {
        let (name, version) = id.split_once('/')?;
        Some((name, version.split('.').next().unwrap_or(version)))
    }
    major(found).is_some_and(|f| Some(f) == major(ours))
}

fn io_error(path: &Path, source: std::io::Error) -> ReportError {
    ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The error for a file over its maximum size.
pub fn too_big(path: &Path, max: u64) -> ReportError {
    ReportError::Parse {
        path: path.to_path_buf(),
        line: None,
        message: format!(
            "larger than {}, the most rcload reads from this file: not a file rcload wrote",
            human(max)
        ),
    }
}

/// The error for line `line` of `path`, over [`MAX_LINE_BYTES`].
pub fn line_too_long(path: &Path, line: usize) -> ReportError {
    ReportError::Parse {
        path: path.to_path_buf(),
        line: Some(line),
        message: format!(
            "a line longer than {}, the most rcload reads in one line: not a line rcload wrote",
            human(MAX_LINE_BYTES as u64)
        ),
    }
}

/// How [`read_line`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// Nothing more to read.
    End,
    /// A line and its newline.
    Whole,
    /// The last line, without its newline (a kill cut it, or the file was cut).
    Cut,
    /// More than the most allowed, without a newline: what was read is not all of it.
    TooLong,
}

/// Read one line into `line` (cleared first), at most `max` bytes with its newline.
pub fn read_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    line.clear();
    let n = (&mut *input).take(max as u64 + 1).read_until(b'\n', line)?;
    Ok(if n == 0 {
        Line::End
    } else if n > max {
        Line::TooLong
    } else if line.last() == Some(&b'\n') {
        Line::Whole
    } else {
        Line::Cut
    })
}

/// Open `path` to read at most `max` bytes of it: a regular file larger than that is refused
/// before any read. What else it may be (a pipe, a device such as `/dev/zero`) is read through
/// at most `max + 1` bytes, so that the caller can tell it is too large.
pub fn open(path: &Path, max: u64) -> Result<std::io::Take<File>, ReportError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if meta.is_file() && meta.len() > max {
        return Err(too_big(path, max));
    }
    Ok(file.take(max + 1))
}

/// All of `path`, refused when it holds more than `max` bytes, or (with `max_line`) a line of
/// more than `max_line` bytes with its newline (a last line cut short is kept).
pub fn read_bounded(
    path: &Path,
    max: u64,
    max_line: Option<usize>,
) -> Result<Vec<u8>, ReportError> {
    let file = open(path, max)?;
    let mut input = BufReader::with_capacity(64 * 1024, file);
    let mut out = Vec::new();
    match max_line {
        None => {
            input.read_to_end(&mut out).map_err(|e| io_error(path, e))?;
        }
        Some(max_line) => {
            let mut line = Vec::new();
            let mut number = 0;
            loop {
                number += 1;
                let read = read_line(&mut input, &mut line, max_line);
                match read.map_err(|e| io_error(path, e))? {
                    Line::End => break,
                    Line::TooLong => return Err(line_too_long(path, number)),
                    Line::Whole | Line::Cut => out.extend_from_slice(&line),
                }
                if out.len() as u64 > max {
                    return Err(too_big(path, max));
                }
            }
        }
    }
    if out.len() as u64 > max {
        return Err(too_big(path, max));
    }
    Ok(out)
}

/// `bytes` as text; an error naming `path` when they are not UTF-8.
pub fn text(bytes: Vec<u8>, path: &Path) -> Result<String, ReportError> {
    String::from_utf8(bytes).map_err(|e| ReportError::Parse {
        path: path.to_path_buf(),
        line: None,
        message: format!(
            "not UTF-8 text (at byte {}): not a file rcload wrote",
            e.utf8_error().valid_up_to()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_up_to_the_limit() {
        let mut input: &[u8] = b"ab\ncdef\nghijk\nxy";
        let mut line = Vec::new();
        let mut next = || read_line(&mut input, &mut line, 5).unwrap();
        assert_eq!(next(), Line::Whole);
        assert_eq!(next(), Line::Whole);
        // 6 bytes with its newline: too long.
        assert_eq!(next(), Line::TooLong);
        let mut input: &[u8] = b"xy";
        assert_eq!(read_line(&mut input, &mut line, 5).unwrap(), Line::Cut);
        assert_eq!(line, b"xy");
        assert_eq!(read_line(&mut input, &mut line, 5).unwrap(), Line::End);
        // Exactly the limit, newline included.
        let mut input: &[u8] = b"abcd\n";
        assert_eq!(read_line(&mut input, &mut line, 5).unwrap(), Line::Whole);
        // No newline in the first max + 1 bytes (as from /dev/zero): too long.
        let zeros = [0u8; 100];
        let mut input: &[u8] = &zeros;
        assert_eq!(read_line(&mut input, &mut line, 5).unwrap(), Line::TooLong);
        assert_eq!(line.len(), 6);
    }

    #[test]
    fn schema_major_versions() {
        assert!(same_schema("rcload.summary/1", "rcload.summary/1"));
        assert!(same_schema("rcload.summary/1.3", "rcload.summary/1"));
        assert!(!same_schema("rcload.summary/999", "rcload.summary/1"));
        assert!(!same_schema("rcload.summary/10", "rcload.summary/1"));
        assert!(!same_schema("rcload.run/1", "rcload.summary/1"));
        assert!(!same_schema("rcload.summary", "rcload.summary/1"));
        assert!(!same_schema("", "rcload.summary/1"));
    }

    #[test]
    fn numbers_and_sizes_for_messages() {
        assert_eq!(show(1e300), "1e300");
        assert_eq!(show(-1.5), "-1.5");
        assert_eq!(human(MAX_JSON_BYTES), "64 MiB");
        assert_eq!(human(MAX_TIMESERIES_BYTES), "1 GiB");
        assert_eq!(human(1000), "1000 bytes");
        assert!(is_run_seconds(0.0) && is_run_seconds(86_400.0));
        assert!(!is_run_seconds(-0.5) && !is_run_seconds(1e300) && !is_run_seconds(f64::NAN));
    }

    #[test]
    fn a_file_over_its_limit_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("rcload-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.json");
        // Sparse: its size is judged before any read.
        File::create(&path).unwrap().set_len(3 * MIB).unwrap();
        match read_bounded(&path, MIB, None) {
            Err(ReportError::Parse {
                path: p, message, ..
            }) => {
                assert_eq!(p, path);
                assert!(message.contains("larger than 1 MiB"), "{message}");
            }
            other => panic!("{:?}", other.map(|b| b.len())),
        }
        std::fs::write(&path, "a\nbb\n").unwrap();
        assert_eq!(read_bounded(&path, MIB, Some(3)).unwrap(), b"a\nbb\n");
        match read_bounded(&path, MIB, Some(2)) {
            Err(ReportError::Parse { line, .. }) => assert_eq!(line, Some(2)),
            other => panic!("{:?}", other.map(|b| b.len())),
        }
        assert!(read_bounded(&path, 4, None).is_err());
        assert_eq!(read_bounded(&path, 5, None).unwrap().len(), 5);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_device_is_read_only_to_its_limit() {
        let zero = Path::new("/dev/zero");
        if !zero.exists() {
            return;
        }
        match read_bounded(zero, MIB, None) {
            Err(ReportError::Parse { message, .. }) => assert!(message.contains("1 MiB")),
            other => panic!("{:?}", other.map(|b| b.len())),
        }
        match read_bounded(zero, MAX_TIMESERIES_BYTES, Some(MAX_LINE_BYTES)) {
            Err(ReportError::Parse { line, .. }) => assert_eq!(line, Some(1)),
            other => panic!("{:?}", other.map(|b| b.len())),
        }
    }
}
