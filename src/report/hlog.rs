//! `latency.hlog`: the HdrHistogram interval log, as the reference `HistogramLogWriter`
//! writes it (`#[StartTime: ...]`, `#[BaseTime: ...]`, the legend line, then one line per
//! interval and tag with a V2 compressed histogram in base64). Values are microseconds; the
//! `Interval_Max` column is in milliseconds. Timestamps are seconds from `BaseTime`, the run's
//! t=0.

use super::ReportError;
use super::limits::{self, Line, MAX_HISTOGRAM_BYTES, MAX_LINE_BYTES, MAX_SIGNIFICANT_DIGITS};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use std::collections::VecDeque;
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

/// How a read of `latency.hlog` ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HlogEnd {
    /// Lines read whole.
    pub lines: usize,
    /// Interval lines among them.
    pub intervals: usize,
    /// The last line, cut short (no newline: the run was killed while writing it, or the file
    /// was cut) and left out.
    pub cut: Option<CutLine>,
}

/// A last line cut short.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CutLine {
    /// Its line number.
    pub line: usize,
    /// The start of its interval (seconds from t=0), when that much of it is there.
    pub start_s: Option<f64>,
}

/// Read `latency.hlog` one line at a time (memory stays bounded however long the run); a
/// line cut short (the process was killed while writing) ends the reading, anything else that
/// does not parse is an error. Returns whether its tail was cut off.
pub fn for_each(
    path: &Path,
    f: impl FnMut(HlogInterval) -> Result<(), ReportError>,
) -> Result<bool, ReportError> {
    read(path, f).map(|end| end.cut.is_some())
}

/// [`for_each`], saying how the reading ended.
pub fn read(
    path: &Path,
    f: impl FnMut(HlogInterval) -> Result<(), ReportError>,
) -> Result<HlogEnd, ReportError> {
    let file = File::open(path).map_err(|source| io_error(path, source))?;
    read_from(BufReader::with_capacity(64 * 1024, file), path, f)
}

/// Call `f` for each whole interval line read from `input` (`path` only names it in errors).
/// A line longer than [`MAX_LINE_BYTES`], or a histogram that declares more than
/// [`MAX_HISTOGRAM_BYTES`] of counts or more than [`MAX_SIGNIFICANT_DIGITS`], is an error
/// naming the line: nothing is allocated for it.
pub fn read_from(
    input: impl BufRead,
    path: &Path,
    mut f: impl FnMut(HlogInterval) -> Result<(), ReportError>,
) -> Result<HlogEnd, ReportError> {
    let mut reader = HlogReader::new(input, path);
    while let Some(interval) = reader.next_interval()? {
        f(interval)?;
    }
    Ok(reader.into_end())
}

/// Reads `latency.hlog` one interval line at a time, when asked: several logs can be read
/// side by side, in step, each holding only the line in hand. It checks and ends as
/// [`read_from`] does (which is built on it): a last line cut short ends the reading and is
/// named by [`HlogReader::end`], anything else that does not parse is an error naming the line.
pub struct HlogReader<R> {
    input: R,
    path: PathBuf,
    de: Deserializer,
    decoded: Vec<u8>,
    line: Vec<u8>,
    end: HlogEnd,
    /// What the last line read gave and was not handed out yet (a line holds one interval at
    /// most; an error ends the reading once handed out).
    queued: VecDeque<Result<HlogInterval, ReportError>>,
    /// No more lines are to be read: the end of the input, a cut line, or an error.
    finished: bool,
}

impl HlogReader<BufReader<File>> {
    /// Open the log at `path` to read it an interval line at a time.
    pub fn open(path: &Path) -> Result<Self, ReportError> {
        let file = File::open(path).map_err(|source| io_error(path, source))?;
        Ok(HlogReader::new(
            BufReader::with_capacity(64 * 1024, file),
            path,
        ))
    }
}

impl<R: BufRead> HlogReader<R> {
    /// Read the log from `input`; `path` only names it in errors.
    pub fn new(input: R, path: &Path) -> Self {
        HlogReader {
            input,
            path: path.to_path_buf(),
            de: Deserializer::new(),
            decoded: Vec::new(),
            line: Vec::with_capacity(4096),
            end: HlogEnd::default(),
            queued: VecDeque::new(),
            finished: false,
        }
    }

    /// The next whole interval line, or `None` at the end of the log (a last line cut short
    /// ends it too: [`HlogReader::end`] then names it). After an error, `None`.
    pub fn next_interval(&mut self) -> Result<Option<HlogInterval>, ReportError> {
        loop {
            if let Some(next) = self.queued.pop_front() {
                if next.is_err() {
                    self.finished = true;
                    self.queued.clear();
                }
                return next.map(Some);
            }
            if self.finished {
                return Ok(None);
            }
            if let Err(e) = self.read_line() {
                self.finished = true;
                return Err(e);
            }
        }
    }

    /// How the reading went so far: the lines read whole, the interval lines among them, and
    /// (once the end is reached) the last line when it was cut short.
    pub fn end(&self) -> &HlogEnd {
        &self.end
    }

    /// [`HlogReader::end`], taking the reader.
    pub fn into_end(self) -> HlogEnd {
        self.end
    }

    /// Read one line and queue what it holds (headers and comments hold nothing).
    fn read_line(&mut self) -> Result<(), ReportError> {
        let number = self.end.lines + 1;
        let read = limits::read_line(&mut self.input, &mut self.line, MAX_LINE_BYTES);
        match read.map_err(|source| io_error(&self.path, source))? {
            Line::End => {
                self.finished = true;
                return Ok(());
            }
            Line::TooLong => return Err(limits::line_too_long(&self.path, number)),
            // Only whole lines: a kill may leave the last one unfinished.
            Line::Cut => {
                let start_s = cut_start(&self.line);
                self.end.cut = Some(CutLine {
                    line: number,
                    start_s,
                });
                self.finished = true;
                return Ok(());
            }
            Line::Whole => self.end.lines = number,
        }
        for entry in IntervalLogIterator::new(&self.line) {
            let Ok(entry) = entry else {
                self.queued.push_back(Err(ReportError::Parse {
                    path: self.path.clone(),
                    line: Some(number),
                    message: "not an interval log line".into(),
                }));
                return Ok(());
            };
            if matches!(entry, LogEntry::Interval(_)) {
                self.end.intervals += 1;
            }
            let at = (self.path.as_path(), number);
            match decode_entry(entry, at, &mut self.de, &mut self.decoded) {
                Ok(Some(interval)) => self.queued.push_back(Ok(interval)),
                Ok(None) => {}
                Err(e) => {
                    self.queued.push_back(Err(e));
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

fn io_error(path: &Path, source: io::Error) -> ReportError {
    ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The start of a cut line's interval, when its start field is all there (a comma follows).
fn cut_start(line: &[u8]) -> Option<f64> {
    let text: &str = &String::from_utf8_lossy(line);
    let fields = match text.strip_prefix("Tag=") {
        Some(rest) => rest.split_once(',')?.1,
        None => text,
    };
    let (start, _) = fields.split_once(',')?;
    start
        .parse::<f64>()
        .ok()
        .filter(|s| limits::is_run_seconds(*s))
}

/// One entry of line `number`: an interval is decoded, headers give `None`.
fn decode_entry(
    entry: LogEntry<'_>,
    (path, number): (&Path, usize),
    de: &mut Deserializer,
    decoded: &mut Vec<u8>,
) -> Result<Option<HlogInterval>, ReportError> {
    let LogEntry::Interval(i) = entry else {
        return Ok(None);
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
    check_histogram(decoded.as_slice()).map_err(|m| bad(format!("bad histogram: {m}")))?;
    let hist: Histogram<u64> = de
        .deserialize(&mut decoded.as_slice())
        .map_err(|e| bad(format!("bad histogram: {e:?}")))?;
    Ok(Some(HlogInterval {
        tag: i.tag().map(|t| t.as_str().to_string()).unwrap_or_default(),
        start_s,
        len_s: i.duration().as_secs_f64(),
        hist,
    }))
}

/// The cookie of HdrHistogram's V2 encoding, and of its compressed form.
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// A V2 header: cookie, length of the counts, normalizing offset, significant digits, lowest
/// and highest trackable values, integer-to-double ratio.
const V2_HEADER_BYTES: usize = 40;

/// Check what an encoded histogram declares before the library allocates for it (it sizes its
/// buffers from the header, whatever follows): counts of at most [`MAX_HISTOGRAM_BYTES`] (and
/// no more than there are, when not compressed), at most [`MAX_SIGNIFICANT_DIGITS`]. Of a
/// compressed one, only the start is inflated, to read its header.
fn check_histogram(bytes: &[u8]) -> Result<(), String> {
    let word = |at: usize| -> Option<u32> {
        let w: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_be_bytes(w))
    };
    match word(0) {
        Some(V2_COOKIE) => {
            let holds = bytes.len().saturating_sub(V2_HEADER_BYTES);
            check_v2_header(bytes, Some(holds))
        }
        Some(V2_COMPRESSED_COOKIE) => {
            let declared = word(4).ok_or("cut short")? as usize;
            let zlib = &bytes[8..];
            if declared > zlib.len() {
                return Err(format!(
                    "declares {declared} bytes of compressed data and holds {}",
                    zlib.len()
                ));
            }
            let header = inflate_prefix(&zlib[..declared], V2_HEADER_BYTES)
                .map_err(|e| format!("cannot inflate its header: {e}"))?;
            check_v2_header(&header, None)
        }
        _ => Err("not HdrHistogram's V2 encoding (unknown cookie)".into()),
    }
}

/// Check a V2 header; `holds` is how many bytes of counts follow it, when known.
fn check_v2_header(h: &[u8], holds: Option<usize>) -> Result<(), String> {
    let Some(h) = h.get(..V2_HEADER_BYTES) else {
        return Err("its header is cut short".into());
    };
    let word = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    if word(0) != V2_COOKIE {
        return Err("not HdrHistogram's V2 encoding (unknown inner cookie)".into());
    }
    let counts = word(4) as usize;
    if counts > MAX_HISTOGRAM_BYTES {
        return Err(format!(
            "declares {counts} bytes of counts, more than the {} rcload reads in one histogram",
            limits::human(MAX_HISTOGRAM_BYTES as u64)
        ));
    }
    if let Some(holds) = holds
        && counts > holds
    {
        return Err(format!(
            "declares {counts} bytes of counts and holds {holds}"
        ));
    }
    let digits = word(12);
    if digits > MAX_SIGNIFICANT_DIGITS {
        return Err(format!(
            "declares {digits} significant digits; rcload reads at most {MAX_SIGNIFICANT_DIGITS}"
        ));
    }
    Ok(())
}

/// Up to `want` bytes of what the zlib stream `zlib` inflates to (fewer when it ends first):
/// enough to read a histogram's header before the library inflates the rest.
fn inflate_prefix(zlib: &[u8], want: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::with_capacity(want);
    flate2::read::ZlibDecoder::new(zlib)
        .take(u64::try_from(want).unwrap_or(u64::MAX))
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
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
        collect(|f| read_from(bytes, path, f).map(|end| end.cut.is_some()))
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

    const HEAD: &str = "#[BaseTime: 0.000 (seconds since epoch)]\n";

    /// A V2 header declaring `counts` bytes of counts and `digits` significant digits.
    fn v2_header(counts: u32, digits: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&V2_COOKIE.to_be_bytes());
        b.extend_from_slice(&counts.to_be_bytes());
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&digits.to_be_bytes());
        b.extend_from_slice(&1u64.to_be_bytes());
        b.extend_from_slice(&2048u64.to_be_bytes());
        b.extend_from_slice(&1.0f64.to_be_bytes());
        b
    }

    /// `data` as a zlib stream of one stored block (no compression).
    fn stored_zlib(data: &[u8]) -> Vec<u8> {
        let len = u16::try_from(data.len()).unwrap();
        let mut z = vec![0x78, 0x01, 0x01];
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(data);
        let (mut a, mut b) = (1u32, 0u32);
        for &x in data {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        z.extend_from_slice(&((b << 16) | a).to_be_bytes());
        z
    }

    /// A log with one interval line whose histogram is `encoded`.
    fn log_with(encoded: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(encoded);
        format!("{HEAD}{LEGEND}\nTag=a,0.000,1.000,1.000,{b64}\n")
    }

    fn parse_error(bytes: &[u8]) -> (Option<usize>, String) {
        match parse(bytes, Path::new("latency.hlog")) {
            Err(ReportError::Parse { line, message, .. }) => (line, message),
            other => panic!("{:?}", other.map(|l| l.intervals.len())),
        }
    }

    #[test]
    fn a_histogram_declaring_2gb_of_counts_is_refused_before_any_allocation() {
        let mut plain = v2_header(2_000_000_000, 3);
        plain.extend_from_slice(&[2, 0, 2]);
        let (line, message) = parse_error(log_with(&plain).as_bytes());
        assert_eq!(line, Some(3));
        assert!(
            message.contains("declares 2000000000 bytes of counts"),
            "{message}"
        );
        // The same header inside a compressed histogram.
        let zlib = stored_zlib(&plain);
        let mut compressed = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
        compressed.extend_from_slice(&u32::try_from(zlib.len()).unwrap().to_be_bytes());
        compressed.extend_from_slice(&zlib);
        let (line, message) = parse_error(log_with(&compressed).as_bytes());
        assert_eq!(line, Some(3));
        assert!(
            message.contains("declares 2000000000 bytes of counts"),
            "{message}"
        );
        // More counts declared than there are; too many significant digits.
        let mut short = v2_header(1000, 3);
        short.extend_from_slice(&[2; 10]);
        let (_, message) = parse_error(log_with(&short).as_bytes());
        assert!(
            message.contains("declares 1000 bytes of counts and holds 10"),
            "{message}"
        );
        let (_, message) = parse_error(log_with(&v2_header(0, 5)).as_bytes());
        assert!(message.contains("5 significant digits"), "{message}");
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused_by_number() {
        let long = format!(
            "{HEAD}{LEGEND}\nTag=a,0.000,1.000,1.000,{}\n",
            "A".repeat(MAX_LINE_BYTES)
        );
        let (line, message) = parse_error(long.as_bytes());
        assert_eq!(line, Some(3));
        assert!(message.contains("longer than 1 MiB"), "{message}");
        // No newline at all, as /dev/zero.
        let (line, _) = parse_error(&vec![0u8; MAX_LINE_BYTES + 10]);
        assert_eq!(line, Some(1));
    }

    #[test]
    fn a_cut_line_says_where_its_interval_starts() {
        let mut h = crate::metrics::histogram();
        h.record(1_000).unwrap();
        let mut buf = Vec::new();
        V2DeflateSerializer::new().serialize(&h, &mut buf).unwrap();
        let good = log_with(&buf);
        let path = Path::new("latency.hlog");
        let end = read_from(
            format!("{good}Tag=a,2.000,1.0").as_bytes(),
            path,
            |_| Ok(()),
        )
        .unwrap();
        assert_eq!((end.lines, end.intervals), (3, 1));
        let cut = CutLine {
            line: 4,
            start_s: Some(2.0),
        };
        assert_eq!(end.cut, Some(cut));
        // The start may be cut itself: `2.0` could have been `2.05`.
        let end = read_from(format!("{good}Tag=a,2.0").as_bytes(), path, |_| Ok(())).unwrap();
        assert_eq!(end.cut.map(|c| c.start_s), Some(None));
        assert_eq!(cut_start(b"3.500,1.000,1.0"), Some(3.5));
        assert_eq!(cut_start(b"#[Logged with rcload"), None);
        let end = read_from(good.as_bytes(), path, |_| Ok(())).unwrap();
        assert_eq!(end.cut, None);
    }

    #[test]
    fn the_pull_reader_gives_one_line_at_a_time_and_stops_at_a_cut() {
        let mut h = crate::metrics::histogram();
        h.record(1_000).unwrap();
        let mut buf = Vec::new();
        V2DeflateSerializer::new().serialize(&h, &mut buf).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&buf);
        let a = format!("Tag=a,0.000,1.000,1.000,{b64}\n");
        let b = format!("Tag=b,1.000,1.000,1.000,{b64}\n");
        let text = format!("{HEAD}{LEGEND}\n{a}{b}Tag=c,2.0");
        let path = Path::new("latency.hlog");
        let mut r = HlogReader::new(text.as_bytes(), path);
        let first = r.next_interval().unwrap().unwrap();
        assert_eq!((first.tag.as_str(), first.start_s), ("a", 0.0));
        assert_eq!(r.end().cut, None);
        let second = r.next_interval().unwrap().unwrap();
        assert_eq!((second.tag.as_str(), second.hist.len()), ("b", 1));
        assert!(r.next_interval().unwrap().is_none());
        assert!(r.next_interval().unwrap().is_none());
        let end = r.into_end();
        assert_eq!((end.lines, end.intervals), (4, 2));
        assert_eq!(end.cut.map(|c| c.line), Some(5));
        // An error is given once, naming its line; then nothing more is read.
        let bad = format!("{HEAD}{LEGEND}\nthis is not a log line\n{a}");
        let mut r = HlogReader::new(bad.as_bytes(), path);
        match r.next_interval() {
            Err(ReportError::Parse { line, .. }) => assert_eq!(line, Some(3)),
            other => panic!("{other:?}"),
        }
        assert!(r.next_interval().unwrap().is_none());
    }

    #[test]
    fn inflating_the_start_gives_what_the_library_compressed() {
        use hdrhistogram::serialization::V2Serializer;
        let small = {
            let mut h = crate::metrics::histogram();
            for v in [1_000u64, 2_000, 3_000, 250_000] {
                h.record(v).unwrap();
            }
            h
        };
        // Many different counts: dynamic Huffman codes and copies.
        let large = {
            let mut h = crate::metrics::histogram();
            for i in 1..30_000u64 {
                h.record_n(i * 37 % 200_000 + 1, i % 7 + 1).unwrap();
            }
            h
        };
        for h in [small, large] {
            let (mut plain, mut compressed) = (Vec::new(), Vec::new());
            V2Serializer::new().serialize(&h, &mut plain).unwrap();
            V2DeflateSerializer::new()
                .serialize(&h, &mut compressed)
                .unwrap();
            let zlib = &compressed[8..];
            assert_eq!(inflate_prefix(zlib, V2_HEADER_BYTES).unwrap(), &plain[..40]);
            assert_eq!(inflate_prefix(zlib, plain.len()).unwrap(), plain);
            assert!(check_histogram(&compressed).is_ok());
            assert!(check_histogram(&plain).is_ok());
        }
        assert_eq!(inflate_prefix(&stored_zlib(b"abc"), 2).unwrap(), b"ab");
        // A stream cut short gives less than asked for (the header check then says so).
        assert!(!inflate_prefix(b"\x78\x01", 2).is_ok_and(|v| v.len() >= 2));
        assert!(inflate_prefix(b"not zlib", 2).is_err());
    }
}
