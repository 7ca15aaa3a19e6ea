//! `latency.hlog`: the HdrHistogram interval log, as the reference `HistogramLogWriter`
//! writes it (`#[StartTime: ...]`, `#[BaseTime: ...]`, the legend line, then one line per
//! interval and tag with a V2 compressed histogram in base64). Values are microseconds; the
//! `Interval_Max` column is in milliseconds. Timestamps are seconds from `BaseTime`, the run's
//! t=0.

use super::ReportError;
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The legend line of the reference writer.
const LEGEND: &str =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";

/// Writes `latency.hlog` as the run goes.
pub struct HlogWriter {
    out: BufWriter<File>,
    ser: V2DeflateSerializer,
    buf: Vec<u8>,
}

impl HlogWriter {
    /// Create the log and write its header; `t0` is the run's t=0 (StartTime and BaseTime).
    pub fn create(path: &Path, t0: SystemTime) -> io::Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        let secs = t0
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let wall = humantime::format_rfc3339_millis(t0);
        writeln!(
            out,
            "#[Logged with rcload {}: values in microseconds; tags: <operation> (latency from \
             the intended time), service.<operation>, delivery.<event type>, probe.call, \
             probe.delivery, generator.lateness]",
            env!("CARGO_PKG_VERSION")
        )?;
        writeln!(out, "#[Histogram log format version 1.3]")?;
        writeln!(out, "#[StartTime: {secs:.3} (seconds since epoch), {wall}]")?;
        writeln!(out, "#[BaseTime: {secs:.3} (seconds since epoch)]")?;
        writeln!(out, "{LEGEND}")?;
        out.flush()?;
        Ok(HlogWriter {
            out,
            ser: V2DeflateSerializer::new(),
            buf: Vec::new(),
        })
    }

    /// One interval's histogram for `tag` (no spaces or commas), starting `start_s` after t=0.
    pub fn write(
        &mut self,
        tag: &str,
        start_s: f64,
        len_s: f64,
        h: &Histogram<u64>,
    ) -> io::Result<()> {
        self.buf.clear();
        self.ser
            .serialize(h, &mut self.buf)
            .map_err(|e| io::Error::other(format!("cannot encode a histogram: {e:?}")))?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.buf);
        writeln!(
            self.out,
            "Tag={tag},{start_s:.3},{len_s:.3},{:.3},{b64}",
            h.max() as f64 / 1000.0
        )
    }

    /// Make what was written so far reach the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// One interval line read back.
#[derive(Debug, Clone)]
pub struct HlogInterval {
    pub tag: String,
    pub start_s: f64,
    pub len_s: f64,
    pub hist: Histogram<u64>,
}

/// Read `latency.hlog` one line at a time (memory stays bounded however long the run); a
/// line cut short (the process was killed while writing) ends the reading, anything else that
/// does not parse is an error. Returns whether its tail was cut off.
pub fn for_each(
    path: &Path,
    f: impl FnMut(HlogInterval) -> Result<(), ReportError>,
) -> Result<bool, ReportError> {
    let file = File::open(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    visit(BufReader::with_capacity(64 * 1024, file), path, f)
}

/// Call `f` for each whole interval line read from `input` (`path` only names it in errors);
/// returns whether the last line was cut short.
fn visit(
    mut input: impl BufRead,
    path: &Path,
    mut f: impl FnMut(HlogInterval) -> Result<(), ReportError>,
) -> Result<bool, ReportError> {
    let mut de = Deserializer::new();
    let mut decoded = Vec::new();
    let mut line = Vec::with_capacity(4096);
    let mut number = 0usize;
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|source| ReportError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        // Only whole lines: a kill may leave the last one unfinished.
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(n > 0);
        }
        number += 1;
        for entry in IntervalLogIterator::new(&line) {
            let Ok(entry) = entry else {
                return Err(ReportError::Parse {
                    path: PathBuf::from(path),
                    line: Some(number),
                    message: "not an interval log line".into(),
                });
            };
            visit_entry(entry, (path, number), &mut de, &mut decoded, &mut f)?;
        }
    }
}

/// One entry of line `number`: an interval goes to `f`, headers are skipped.
fn visit_entry(
    entry: LogEntry<'_>,
    (path, number): (&Path, usize),
    de: &mut Deserializer,
    decoded: &mut Vec<u8>,
    f: &mut impl FnMut(HlogInterval) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let LogEntry::Interval(i) = entry else {
        return Ok(());
    };
    let start_s = i.start_timestamp().as_secs_f64();
    let bad = |m: String| ReportError::Parse {
        path: PathBuf::from(path),
        line: Some(number),
        message: format!("interval at {start_s:.3} s: {m}"),
    };
    decoded.clear();
    base64::engine::general_purpose::STANDARD
        .decode_vec(i.encoded_histogram(), decoded)
        .map_err(|e| bad(format!("bad base64: {e}")))?;
    let hist: Histogram<u64> = de
        .deserialize(&mut decoded.as_slice())
        .map_err(|e| bad(format!("bad histogram: {e:?}")))?;
    f(HlogInterval {
        tag: i.tag().map(|t| t.as_str().to_string()).unwrap_or_default(),
        start_s,
        len_s: i.duration().as_secs_f64(),
        hist,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Hlog {
        intervals: Vec<HlogInterval>,
        truncated: bool,
    }

    fn collect(
        read: impl FnOnce(
            &mut dyn FnMut(HlogInterval) -> Result<(), ReportError>,
        ) -> Result<bool, ReportError>,
    ) -> Result<Hlog, ReportError> {
        let mut intervals = Vec::new();
        let truncated = read(&mut |i| {
            intervals.push(i);
            Ok(())
        })?;
        Ok(Hlog {
            intervals,
            truncated,
        })
    }

    fn read(path: &Path) -> Result<Hlog, ReportError> {
        collect(|f| for_each(path, f))
    }

    fn parse(bytes: &[u8], path: &Path) -> Result<Hlog, ReportError> {
        collect(|f| visit(bytes, path, f))
    }

    #[test]
    fn written_intervals_read_back_and_a_cut_line_is_dropped() {
        let dir = std::env::temp_dir().join(format!("rcload-hlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("latency.hlog");
        let mut w = HlogWriter::create(
            &path,
            UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
        )
        .unwrap();
        let mut h = crate::metrics::histogram();
        for v in [1_000u64, 2_000, 3_000, 250_000] {
            h.record(v).unwrap();
        }
        w.write("terminal.status", 0.0, 1.0, &h).unwrap();
        w.write("delivery.status", 1.0, 0.5, &h).unwrap();
        w.flush().unwrap();
        drop(w);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(
            "#[StartTime: 1700000000.000 (seconds since epoch), 2023-11-14T22:13:20.000Z]"
        ));
        assert!(text.contains("#[BaseTime: 1700000000.000"));
        assert!(text.contains(LEGEND));
        assert!(
            text.contains("Tag=terminal.status,0.000,1.000,250.111,HIST"),
            "{text}"
        );
        let log = read(&path).unwrap();
        assert!(!log.truncated);
        assert_eq!(log.intervals.len(), 2);
        assert_eq!(log.intervals[1].tag, "delivery.status");
        assert_eq!(
            (log.intervals[1].start_s, log.intervals[1].len_s),
            (1.0, 0.5)
        );
        assert_eq!(log.intervals[0].hist.len(), 4);
        assert_eq!(log.intervals[0].hist.max(), h.max());
        // A kill in the middle of a line: the whole lines still read.
        let cut = &text.as_bytes()[..text.len() - 10];
        let log = parse(cut, &path).unwrap();
        assert!(log.truncated);
        assert_eq!(log.intervals.len(), 1);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        let path = Path::new("latency.hlog");
        let mut h = crate::metrics::histogram();
        h.record(1_000).unwrap();
        let mut buf = Vec::new();
        V2DeflateSerializer::new().serialize(&h, &mut buf).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&buf);
        let good = format!(
            "#[BaseTime: 0.000 (seconds since epoch)]\n{LEGEND}\nTag=a,0.000,1.000,1.000,{b64}\n"
        );
        let log = parse(good.as_bytes(), path).unwrap();
        assert_eq!((log.intervals.len(), log.truncated), (1, false));
        let bad = format!("{good}Tag=a,1.000,1.000,1.000,{b64}\nthis is not a log line\n");
        match parse(bad.as_bytes(), path) {
            Err(ReportError::Parse { line, .. }) => assert_eq!(line, Some(5)),
            other => panic!("{:?}", other.map(|l| l.intervals.len())),
        }
        let corrupt = format!("{good}Tag=a,1.000,1.000,1.000,AAAA{b64}\n");
        match parse(corrupt.as_bytes(), path) {
            Err(ReportError::Parse { line, .. }) => assert_eq!(line, Some(4)),
            other => panic!("{:?}", other.map(|l| l.intervals.len())),
        }
    }
}
