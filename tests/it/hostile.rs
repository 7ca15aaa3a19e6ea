//! Hostile targets: a small server on loopback (port 0, one per test) that answers API v1 well
//! except for one thing: a 100 MB line on the event stream, 50,000 events/s, an error body that
//! never comes, no headers at all, broken or truncated chunking, a 20 MB login answer, a body
//! sent one byte a second, a redirect loop. For each: no panic, the run ends (it does not hang),
//! summary.json and the reports are written, errors land in their classes, findings are
//! counted, and a run in which consoles received nothing does not pass.
//!
//! The server is written on raw sockets because most of these answers are ones no HTTP server
//! library will send.

use crate::common::{self, TempDir};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The one thing a hostile server does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Misbehaviour {
    /// Event streams: `data: ` and 100 MB without a line end, then silence.
    LongLine,
    /// Event streams: 50,000 events/s over all consoles (well formed, references not rcload's).
    Flood,
    /// Event streams: 409 with `Content-Length: 100`, and the body never comes.
    ErrorBodyNever,
    /// Event streams: the request is read and never answered.
    NoHeaders,
    /// Event streams: chunked, with a chunk size that is not hexadecimal.
    BrokenChunking,
    /// Event streams: a chunk announced longer than what is sent before the connection closes.
    TruncatedChunking,
    /// Logins: a 20 MB answer.
    HugeLogin,
    /// Logins: the answer's body one byte a second.
    SlowBody,
    /// Every request under /v1: 302 to itself.
    RedirectLoop,
}

/// The hostile server; stops accepting when dropped.
struct Hostile {
    url: String,
    stop: Arc<AtomicBool>,
    /// Bytes written on event streams.
    stream_bytes: Arc<AtomicU64>,
}

impl Hostile {
    fn start(how: Misbehaviour) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let stop = Arc::new(AtomicBool::new(false));
        let stream_bytes = Arc::new(AtomicU64::new(0));
        let (s, b) = (stop.clone(), stream_bytes.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (s, b) = (s.clone(), b.clone());
                std::thread::spawn(move || serve(conn, how, &s, &b));
            }
        });
        Hostile {
            url: format!("http://{addr}"),
            stop,
            stream_bytes,
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

/// One request's head and body.
struct Req {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// Read one request (head up to 64 KB, body by Content-Length up to 1 MB); None at the end of
/// the connection.
fn read_request(conn: &mut TcpStream) -> Option<Req> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 << 10 || conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut words = text.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let length = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).ok()?;
    Some(Req { method, path, body })
}

fn answer(conn: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Wait until the client closes the connection (or 5 minutes).
fn hold(conn: &mut TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(300)));
    let mut sink = [0u8; 1024];
    while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
}

fn serve(mut conn: TcpStream, how: Misbehaviour, stop: &AtomicBool, bytes: &AtomicU64) {
    let _ = conn.set_nodelay(true);
    while let Some(req) = read_request(&mut conn) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let done = respond(&mut conn, &req, how, bytes);
        if !matches!(done, Ok(true)) {
            return;
        }
    }
}

/// Answer `req`; Ok(true) when the connection can take another request.
fn respond(
    conn: &mut TcpStream,
    req: &Req,
    how: Misbehaviour,
    bytes: &AtomicU64,
) -> std::io::Result<bool> {
    let p = req.path.as_str();
    if how == Misbehaviour::RedirectLoop && p.starts_with("/v1/") {
        write!(
            conn,
            "HTTP/1.1 302 Found\r\nLocation: {p}\r\nContent-Length: 0\r\n\r\n"
        )?;
        return Ok(true);
    }
    if p == "/healthz" {
        answer(conn, "200 OK", r#"{"status":"ok"}"#)?;
        return Ok(true);
    }
    let parts: Vec<&str> = p.trim_start_matches('/').split('/').collect();
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["v1", "consoles", _, "events"]) => {
            events(conn, how, bytes)?;
            Ok(false)
        }
        ("POST", ["v1", "consoles", id, "login"]) => {
            let body = format!(r#"{{"console":"{id}","operator":"op","session":"s"}}"#);
            match how {
                Misbehaviour::HugeLogin => {
                    let pad = " ".repeat(20 << 20);
                    answer(conn, "200 OK", &format!("{body}{pad}"))?;
                }
                Misbehaviour::SlowBody => {
                    write!(
                        conn,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )?;
                    for b in body.bytes() {
                        conn.write_all(&[b])?;
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
                _ => answer(conn, "200 OK", &body)?,
            }
            Ok(true)
        }
        ("PUT", ["v1", "consoles", _, "talkgroups"]) => {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            answer(conn, "200 OK", &body)?;
            Ok(true)
        }
        // The reads of rcload's pre-flight (the profiles audit nothing): nothing left over.
        ("GET", ["v1", "consoles", _, "talkgroups"]) => {
            answer(
                conn,
                "409 Conflict",
                r#"{"error":"not_logged_in","message":"not logged in"}"#,
            )?;
            Ok(true)
        }
        ("GET", ["v1", "terminals", _]) => {
            answer(
                conn,
                "404 Not Found",
                r#"{"error":"not_registered","message":"not registered"}"#,
            )?;
            Ok(true)
        }
        ("POST", ["v1", "terminals", issi, "register"]) => {
            let tg = serde_json::from_slice::<serde_json::Value>(&req.body)
                .ok()
                .and_then(|v| v["talkgroup"].as_u64())
                .unwrap_or(0);
            answer(
                conn,
                "200 OK",
                &format!(r#"{{"issi":{issi},"talkgroup":{tg}}}"#),
            )?;
            Ok(true)
        }
        ("POST", ["v1", "terminals", _, "status"]) => {
            answer(conn, "202 Accepted", "{}")?;
            Ok(true)
        }
        ("POST", ["v1", "calls"]) => {
            answer(conn, "201 Created", r#"{"call":"c1"}"#)?;
            Ok(true)
        }
        _ => {
            answer(conn, "200 OK", "{}")?;
            Ok(true)
        }
    }
}

/// A console's event stream, as `how` has it.
fn events(conn: &mut TcpStream, how: Misbehaviour, bytes: &AtomicU64) -> std::io::Result<()> {
    const SSE: &str =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n";
    match how {
        Misbehaviour::LongLine => {
            write!(conn, "{SSE}\r\ndata: ")?;
            let chunk = vec![b'x'; 64 << 10];
            for _ in 0..1600 {
                conn.write_all(&chunk)?;
                bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            hold(conn);
        }
        Misbehaviour::Flood => {
            write!(conn, "{SSE}\r\n")?;
            // 50,000 events/s over 12 consoles: batches of 42 every 10 ms on each stream.
            let mut n = 0u64;
            loop {
                let mut batch = String::new();
                for _ in 0..42 {
                    n += 1;
                    batch.push_str(&format!(
                        "event: status\ndata: {{\"type\":\"status\",\"issi\":1001,\"talkgroup\":1,\"code\":1,\"ref\":\"foreign-{n}\",\"ts\":1}}\n\n"
                    ));
                }
                conn.write_all(batch.as_bytes())?;
                bytes.fetch_add(batch.len() as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        Misbehaviour::ErrorBodyNever => {
            write!(
                conn,
                "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )?;
            hold(conn);
        }
        Misbehaviour::NoHeaders => hold(conn),
        Misbehaviour::BrokenChunking => {
            write!(conn, "{SSE}Transfer-Encoding: chunked\r\n\r\n")?;
            write!(conn, "zz\r\n: ping\n\n\r\n")?;
            hold(conn);
        }
        Misbehaviour::TruncatedChunking => {
            write!(conn, "{SSE}Transfer-Encoding: chunked\r\n\r\n")?;
            write!(conn, "64\r\n: ping\n\n")?;
            conn.flush()?;
            let _ = conn.shutdown(Shutdown::Both);
        }
        _ => {
            write!(conn, "{SSE}\r\n")?;
            loop {
                conn.write_all(b": ping\n\n")?;
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    Ok(())
}

/// Twelve consoles, statuses and registrations that should reach them, no objectives at all
/// (run with `--allow-no-slo`): the verdict rests on what every run is judged by.
const PROFILE: &str = "name: hostile
seed: 7
duration: 8s
population:
  control_rooms: 1
  consoles_per_room: 12
  terminals: 24
  talkgroups_per_room: 4
  monitored_per_console: 2
setup:
  over: 1s
traffic:
  - action: status
    rate: 20/s
checks:
  audit_every: 0s
  probe_every: 0s
  delivery_timeout: 2s
";

/// What a run against a hostile server left.
struct Outcome {
    run: common::Run,
    summary: rcload::report::Summary,
    /// CPU seconds (user + system) of the rcload process.
    cpu_s: f64,
}

/// CPU seconds of process `pid` so far (/proc, 100 ticks a second).
fn cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3, utime 14 and stime 15 (1-based over the whole line).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Run the profile against `server`, with `extra` arguments; the run must end within 10x its
/// expected length (8 s, 2 s of delivery timeout, 1 s timeouts, 2 s grace).
fn run_against(dir: &TempDir, server: &Hostile, extra: &[&str]) -> Outcome {
    dir.write("p.yaml", PROFILE);
    let mut args = vec![
        "run",
        "p.yaml",
        "--target",
        &server.url,
        "--out",
        "out",
        "-q",
        "--timeout",
        "1s",
        "--grace",
        "2s",
        // No objectives of its own, explored: the implicit ones still judge it.
        "--allow-no-slo",
    ];
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rcload"))
        .args(common::with_test_lateness(&args))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start rcload: {e}"));
    let pid = child.id();
    let started = Instant::now();
    let mut cpu = 0.0;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap_or_else(|e| panic!("wait: {e}")) {
            break s;
        }
        cpu = cpu_s(pid).unwrap_or(cpu);
        if started.elapsed() > Duration::from_secs(150) {
            let _ = child.kill();
            panic!("the run did not end in 150 s: rcload {}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut stdout);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let run = common::Run {
        cmd: format!("(cd {} && rcload {})", dir.path().display(), args.join(" ")),
        code: status.code(),
        stdout,
        stderr,
    };
    assert!(
        !run.stdout.contains("panicked") && !run.stderr.contains("panicked"),
        "{run}"
    );
    let out = dir.path().join("out");
    for f in [
        "summary.json",
        "report.html",
        "summary.md",
        "junit.xml",
        "events.jsonl",
    ] {
        assert!(out.join(f).exists(), "no {f}\n{run}");
    }
    let summary = common::summary(&out);
    Outcome {
        run,
        summary,
        cpu_s: cpu,
    }
}

fn errors(s: &rcload::report::Summary, op: &str, class: &str) -> u64 {
    s.operations
        .get(op)
        .and_then(|o| o.errors.get(class))
        .copied()
        .unwrap_or(0)
}

/// Nothing the consoles should have received arrived: the run fails, and says why.
fn fails_as_unchecked(o: &Outcome) {
    assert_eq!(o.run.code, Some(1), "{}", o.run);
    assert_eq!(o.summary.verdict.as_str(), "fail", "{}", o.run);
    let failed: Vec<&str> = o
        .summary
        .slo
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.name.as_str())
        .collect();
    assert!(
        failed.contains(&"deliveries_received") || failed.contains(&"consoles_never_connected"),
        "{failed:?}\n{}",
        o.run
    );
}

fn disconnect_reasons(s: &rcload::report::Summary) -> Vec<String> {
    s.console_disconnects
        .iter()
        .map(|d| d.reason.clone())
        .collect()
}

fn consoles_never_connected(o: &Outcome) {
    let s = &o.summary;
    let never: std::collections::BTreeSet<&str> = s
        .console_disconnects
        .iter()
        .filter(|d| d.reason.starts_with("never_connected: ") && d.recovered_after_s.is_none())
        .map(|d| d.console.as_str())
        .collect();
    assert_eq!(never.len(), 12, "{:?}\n{}", disconnect_reasons(s), o.run);
    // Each has its downtime: from its first failed open to the end of the run.
    assert_eq!(s.console_downtime_s.consoles.len(), 12, "{}", o.run);
    assert!(
        s.console_downtime_s.consoles.values().all(|d| *d > 4.0),
        "{:?}",
        s.console_downtime_s
    );
    let r = s
        .slo
        .iter()
        .find(|r| r.name == "consoles_never_connected")
        .unwrap_or_else(|| panic!("no consoles_never_connected objective\n{}", o.run));
    assert_eq!((r.observed, r.passed), (Some(12.0), false));
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn an_error_answer_whose_body_never_comes_is_a_console_that_never_connected() {
    let dir = TempDir::new("hostile-409");
    let server = Hostile::start(Misbehaviour::ErrorBodyNever);
    let o = run_against(&dir, &server, &[]);
    fails_as_unchecked(&o);
    consoles_never_connected(&o);
    assert!(
        disconnect_reasons(&o.summary)
            .iter()
            .all(|r| r == "never_connected: stream_open: http_4xx"),
        "{:?}",
        disconnect_reasons(&o.summary)
    );
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_stream_open_without_headers_is_a_console_that_never_connected() {
    let dir = TempDir::new("hostile-noheaders");
    let server = Hostile::start(Misbehaviour::NoHeaders);
    let o = run_against(&dir, &server, &[]);
    fails_as_unchecked(&o);
    consoles_never_connected(&o);
    assert!(
        disconnect_reasons(&o.summary)
            .iter()
            .all(|r| r == "never_connected: stream_open: timeout"),
        "{:?}",
        disconnect_reasons(&o.summary)
    );
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_line_over_the_event_limit_ends_the_stream_as_a_protocol_error() {
    let dir = TempDir::new("hostile-line");
    let server = Hostile::start(Misbehaviour::LongLine);
    let o = run_against(&dir, &server, &[]);
    fails_as_unchecked(&o);
    let reasons = disconnect_reasons(&o.summary);
    assert!(
        reasons
            .iter()
            .any(|r| r.ends_with("stream_error: protocol")),
        "{reasons:?}\n{}",
        o.run
    );
}

/// The acceptance figure of issue 13 at 10x (this is a debug build on a machine that may be
/// busy): `scripts/bench-hostile.sh` runs it optimised and checks 2 s per 100 MB.
#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_100_mb_line_costs_cpu_linear_in_its_length() {
    let dir = TempDir::new("hostile-line-cpu");
    let server = Hostile::start(Misbehaviour::LongLine);
    let o = run_against(&dir, &server, &["--max-event-bytes", "209715200"]);
    let received = server.stream_bytes.load(Ordering::Relaxed) as f64;
    let per_100mb = o.cpu_s / (received / 100e6).max(1e-9);
    let g = &o.summary.generator;
    eprintln!(
        "long line: {:.0} MB sent to 12 consoles, rcload CPU {:.2} s, {per_100mb:.3} s per 100 MB; lateness p99 {} ms (limit {} ms), fell behind: {}",
        received / 1e6,
        o.cpu_s,
        g.lateness_ms.p99,
        g.lateness_limit_ms,
        g.fell_behind
    );
    assert!(received >= 100e6, "only {received} bytes sent\n{}", o.run);
    assert!(
        per_100mb < 20.0,
        "{per_100mb} s of CPU per 100 MB\n{}",
        o.run
    );
    fails_as_unchecked(&o);
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_flood_of_events_is_read_and_the_run_ends() {
    let dir = TempDir::new("hostile-flood");
    let server = Hostile::start(Misbehaviour::Flood);
    // Reading 50,000 events/s is this debug build's whole core while the other hostile tests
    // (the 100-MB line among them) share the machine: its dispatch may then run late by more
    // than the tests' 100 ms, which makes the run invalid (exit 4) before the missing
    // deliveries can fail it. What is asserted here is that the flood is read, the run ends
    // and it fails on its deliveries, not the machine's timing: a bound of its own.
    let o = run_against(&dir, &server, &["--max-lateness-ms", "2000"]);
    // The flood is read (none of it is rcload's, so nothing is delivered).
    assert!(server.stream_bytes.load(Ordering::Relaxed) > 1_000_000);
    fails_as_unchecked(&o);
    eprintln!(
        "flood: lateness p99 {} ms, fell behind: {}",
        o.summary.generator.lateness_ms.p99, o.summary.generator.fell_behind
    );
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn broken_and_truncated_chunking_end_streams_as_errors() {
    for (how, tag) in [
        (Misbehaviour::BrokenChunking, "hostile-chunks"),
        (Misbehaviour::TruncatedChunking, "hostile-truncated"),
    ] {
        let dir = TempDir::new(tag);
        let server = Hostile::start(how);
        let o = run_against(&dir, &server, &[]);
        fails_as_unchecked(&o);
        let reasons = disconnect_reasons(&o.summary);
        assert!(
            !reasons.is_empty()
                && reasons
                    .iter()
                    .all(|r| r.contains("stream_error: ") || r.contains("stream_end")),
            "{how:?}: {reasons:?}\n{}",
            o.run
        );
    }
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn oversized_slow_and_redirected_answers_are_errors_of_their_class() {
    for (how, tag, class) in [
        (Misbehaviour::HugeLogin, "hostile-huge", "protocol"),
        (Misbehaviour::SlowBody, "hostile-slow", "timeout"),
        (Misbehaviour::RedirectLoop, "hostile-redirect", "protocol"),
    ] {
        let dir = TempDir::new(tag);
        let server = Hostile::start(how);
        let o = run_against(&dir, &server, &[]);
        fails_as_unchecked(&o);
        let logins = o.summary.operations.get("console.login").map(|l| l.count);
        assert_eq!(
            Some(errors(&o.summary, "console.login", class)),
            logins,
            "{how:?}: every login an error of class {class}\n{}",
            o.run
        );
    }
}

/// The run directory's reports read back: `rcload report` on what a hostile run left.
#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_hostile_run_directory_rebuilds() {
    let dir = TempDir::new("hostile-rebuild");
    let server = Hostile::start(Misbehaviour::ErrorBodyNever);
    let o = run_against(&dir, &server, &[]);
    fails_as_unchecked(&o);
    let again = common::rcload_in(dir.path(), &["report", "out"]);
    again.expect_code(1).stdout_has("verdict: FAIL: ");
    assert!(!again.stderr.contains("panicked"), "{again}");
    assert!(Path::new(&dir.path().join("out/report.html")).exists());
}
