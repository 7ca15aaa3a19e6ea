//! The mock's capacity model over real HTTP (loopback only): a worker queue that saturates
//! and refuses, slow console streams that overflow, and `GET /metrics`.
//!
//! Load is offered open-loop: each request is sent at its intended time on its own task,
//! whatever the answers to the earlier ones (many requests in flight). The tests of this file
//! run one at a time (they measure latency on a small machine). Every await is bounded.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use rcload_api::Dur;
use rcload_mock::{self, MockConfig, MockHandle, MockSpec, Overflow, ServiceTime};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

/// Longest wait for any one thing.
const WAIT: Duration = Duration::from_secs(10);

/// One test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer in {WAIT:?}"))
}

fn ms(n: u64) -> Dur {
    Dur(Duration::from_millis(n))
}

struct Mock {
    handle: MockHandle,
    base: String,
    client: reqwest::Client,
}

async fn start(spec: MockSpec) -> Mock {
    let config = MockConfig {
        spec,
        seed: 1,
        ..Default::default()
    };
    let handle = rcload_mock::spawn("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("mock starts");
    Mock {
        base: format!("http://{}", handle.addr),
        handle,
        client: reqwest::Client::builder()
            .timeout(WAIT)
            .build()
            .expect("client"),
    }
}

impl Mock {
    /// Sends one request; answers (status, JSON body or null).
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = bounded(path, req.send())
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let text = bounded(path, resp.text()).await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> u16 {
        self.send(reqwest::Method::POST, path, Some(body)).await.0
    }

    async fn metrics(&self) -> String {
        let resp = bounded(
            "metrics",
            self.client.get(format!("{}/metrics", self.base)).send(),
        )
        .await
        .expect("GET /metrics");
        assert_eq!(resp.status(), 200);
        bounded("metrics body", resp.text()).await.expect("body")
    }
}

/// The value of one sample line of the exposition (`name{labels} value`).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{series} missing in\n{text}"))
}

/// The outcome of one request of an open-loop run.
#[derive(Debug, Clone)]
struct Shot {
    /// From the intended send time to the full answer.
    latency: Duration,
    /// The answer's completion, since the run's start.
    done: Duration,
    status: u16,
    retry_after: Option<String>,
    body: String,
}

/// Offers `n` `POST path` requests at `rate`/s (fixed spacing), each on its own task at its
/// intended time; waits for all of them.
async fn offer(mock: &Mock, path: &str, body: Value, rate: f64, n: usize) -> Vec<Shot> {
    let start = Instant::now() + Duration::from_millis(20);
    let url = format!("{}{path}", mock.base);
    let body = Arc::new(body);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let intended = start + Duration::from_secs_f64(i as f64 / rate);
        let client = mock.client.clone();
        let url = url.clone();
        let body = Arc::clone(&body);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(intended).await;
            let resp = client
                .post(&url)
                .json(&*body)
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = resp.text().await.unwrap_or_default();
            let now = Instant::now();
            Shot {
                latency: now - intended,
                done: now - start,
                status,
                retry_after,
                body,
            }
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(bounded("open-loop request", t).await.expect("task"));
    }
    out
}

fn percentile(shots: &[Shot], p: f64) -> Duration {
    let mut l: Vec<Duration> = shots.iter().map(|s| s.latency).collect();
    l.sort();
    let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
    l[i]
}

/// 2 workers, a fixed 5 ms for `terminal.status` and 0 for the rest.
fn two_workers(queue_limit: Option<u32>) -> MockSpec {
    MockSpec {
        workers: Some(2),
        queue_limit,
        service: BTreeMap::from([("terminal.status".into(), ServiceTime::Fixed(ms(5)))]),
        ..MockSpec::default()
    }
}

const STATUS: &str = "/v1/terminals/1001/status";

/// Below capacity the answer takes the service time; above it, throughput stays at the
/// capacity (2 / 5 ms = 400/s) and latency grows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
async fn latency_and_throughput_follow_the_queue() {
    let _one = SERIAL.lock().await;
    let m = start(two_workers(None)).await;
    assert_eq!(
        m.post("/v1/terminals/1001/register", json!({"talkgroup": 100}))
            .await,
        200
    );
    let body = json!({"code": 3, "ref": "r"});

    let low = offer(&m, STATUS, body.clone(), 200.0, 300).await;
    assert!(low.iter().all(|s| s.status == 202), "{:?}", low.first());
    let p50 = percentile(&low, 0.5);
    let p99 = percentile(&low, 0.99);
    eprintln!("offered 200/s: p50 {p50:?}, p99 {p99:?}");
    // The service time is a floor (the model's clock); above it, 10x is the bound (a busy
    // machine adds to every figure measured from outside).
    assert!(
        p50 >= Duration::from_millis(5) && p50 < Duration::from_millis(50),
        "served in {p50:?}"
    );
    // No queueing below capacity, as the mock's own queue measures it (requests waiting for a
    // worker). Even random (Poisson) arrivals at half the capacity wait 0.83 ms on average
    // (M/D/2 at 50 %); these are evenly spaced, so only pauses of the test's process bunch
    // them. The bound is 10x the Poisson figure; a queue that builds up (as below, above
    // capacity) waits over 80 ms per request.
    let waited = sample(&m.metrics().await, "rcload_mock_queue_wait_seconds_total");
    eprintln!("waited for a worker: {waited:.6} s in all");
    assert!(
        waited < low.len() as f64 * 0.0083,
        "requests waited {waited:.4} s in all for a worker below capacity"
    );
    // Measured from outside, the tail holds every pause of a busy machine: the queue's own
    // wait above says whether requests queued; this bounds only a stuck server.
    assert!(p99 < Duration::from_millis(500), "p99 {p99:?}");

    let high = offer(&m, STATUS, body, 600.0, 1200).await;
    assert!(
        high.iter().all(|s| s.status == 202),
        "no refusal without a limit"
    );
    let last = high.iter().map(|s| s.done).max().expect("shots");
    let throughput = high.len() as f64 / last.as_secs_f64();
    let early = percentile(&high[..100], 0.5);
    let late = percentile(&high[1100..], 0.5);
    eprintln!(
        "offered 600/s: throughput {throughput:.0}/s, median latency first 100 {early:?}, last 100 {late:?}"
    );
    // The mock computes each finish on its own clock, so a busy machine can only add the
    // lateness of the last wake-ups: above the capacity never (15 % for the HTTP round trips),
    // below it by 2 s at most (10x the 0.2 s seen on a loaded machine).
    assert!(
        throughput <= 1.15 * 400.0 && high.len() as f64 / throughput <= 1200.0 / 400.0 + 2.0,
        "throughput {throughput:.0}/s, capacity 400/s"
    );
    // The model: request i waits i/400 - i/600 s, the last hundred about 1 s.
    assert!(
        late > Duration::from_millis(100) && late > early * 4,
        "latency grows: {early:?} then {late:?}"
    );
    let text = m.metrics().await;
    assert_eq!(
        sample(&text, "rcload_mock_requests_total{op=\"terminal.status\"}"),
        1500.0
    );
    assert!(sample(&text, "rcload_mock_queue_wait_seconds_total") > 100.0);
    m.handle.shutdown().await;
}

/// With a small queue limit, overload is answered 503 `overloaded` with `Retry-After: 1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
async fn full_queue_answers_503() {
    let _one = SERIAL.lock().await;
    let m = start(two_workers(Some(20))).await;
    assert_eq!(
        m.post("/v1/terminals/1001/register", json!({"talkgroup": 100}))
            .await,
        200
    );
    let shots = offer(&m, STATUS, json!({"code": 3, "ref": "r"}), 600.0, 600).await;
    let ok = shots.iter().filter(|s| s.status == 202).count();
    let refused: Vec<&Shot> = shots.iter().filter(|s| s.status == 503).collect();
    eprintln!(
        "offered 600/s for 1 s, 20 may wait: {ok} served, {} refused",
        refused.len()
    );
    assert_eq!(ok + refused.len(), shots.len(), "only 202 and 503");
    // The model serves at most 400/s while requests come in, plus the 2 started and 20 waiting
    // at once; pauses of the test's process stretch the time and bunch the sends, so the
    // bounds use the time the answers actually took.
    let last = shots.iter().map(|s| s.done).max().expect("shots");
    let most = (400.0 * last.as_secs_f64()).ceil() as usize + 22;
    assert!(
        ok >= 22 && ok <= most,
        "served {ok}, the model at most {most} in {last:?}"
    );
    assert!(
        !refused.is_empty(),
        "600 offered in about 1 s, none refused"
    );
    for s in &refused {
        assert_eq!(s.retry_after.as_deref(), Some("1"));
        let v: Value = serde_json::from_str(&s.body).expect("JSON error");
        assert_eq!(v["error"], "overloaded", "{}", s.body);
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        // At once: not held for a worker. 100 ms is the figure on a quiet machine; the
        // bound is 10x that, as every wall-clock bound of tier 2 (a build beside stretched
        // one refusal past 100 ms).
        assert!(
            s.latency < Duration::from_secs(1),
            "refused at once, not after {:?}",
            s.latency
        );
    }
    // the worst wait is bounded by the limit: 20 waiting / 400/s = 50 ms, 55 ms with the service
    // (the bound 10x that)
    let worst = shots
        .iter()
        .filter(|s| s.status == 202)
        .map(|s| s.latency)
        .max()
        .expect("served");
    eprintln!("worst wait of a served request: {worst:?}");
    assert!(worst < Duration::from_millis(550), "worst {worst:?}");
    let text = m.metrics().await;
    assert_eq!(
        sample(
            &text,
            "rcload_mock_requests_rejected_total{op=\"terminal.status\"}"
        ),
        refused.len() as f64
    );
    m.handle.shutdown().await;
}

/// An event received on a console stream: (time since the statuses started, type, data).
type Received = (Duration, String, Value);

/// Logs in console `c1` monitoring talkgroup 100, opens its stream and registers terminal
/// 1001 on 100; forwards the stream's events, then `None` when it ends.
async fn console(m: &Mock) -> mpsc::UnboundedReceiver<Option<(Instant, String, Value)>> {
    assert_eq!(
        m.post("/v1/consoles/c1/login", json!({"operator": "op"}))
            .await,
        200
    );
    let resp = bounded(
        "open stream",
        m.client
            .get(format!("{}/v1/consoles/c1/events", m.base))
            .timeout(Duration::from_secs(60))
            .send(),
    )
    .await
    .expect("stream");
    assert_eq!(resp.status(), 200);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut events = resp.bytes_stream().eventsource();
        while let Some(Ok(e)) = events.next().await {
            let data = serde_json::from_str(&e.data).unwrap_or(Value::Null);
            if tx.send(Some((Instant::now(), e.event, data))).is_err() {
                return;
            }
        }
        let _ = tx.send(None);
    });
    let (code, _) = m
        .send(
            reqwest::Method::PUT,
            "/v1/consoles/c1/talkgroups",
            Some(json!({"talkgroups": [100]})),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        m.post("/v1/terminals/1001/register", json!({"talkgroup": 100}))
            .await,
        200
    );
    rx
}

/// Sends statuses of terminal 1001 at 200/s until `stop` is seen on the console's stream (or
/// 7 s); answers what the console received, with times since the first status.
async fn flood_until(
    m: &Mock,
    rx: &mut mpsc::UnboundedReceiver<Option<(Instant, String, Value)>>,
    stop: &str,
) -> (Vec<Received>, bool) {
    let start = Instant::now();
    let client = m.client.clone();
    let url = format!("{}{STATUS}", m.base);
    let sender = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        for i in 0..1400u32 {
            tick.tick().await;
            let c = client.clone();
            let u = url.clone();
            tokio::spawn(async move {
                let _ = c
                    .post(&u)
                    .json(&json!({"code": 3, "ref": format!("s{i}")}))
                    .send()
                    .await;
            });
        }
    });
    let mut got = Vec::new();
    let mut ended = false;
    let deadline = start + Duration::from_secs(7);
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        let Some((at, kind, data)) = item else {
            ended = true;
            break;
        };
        let is_stop = kind == stop;
        got.push((at.saturating_duration_since(start), kind, data));
        if is_stop {
            break;
        }
    }
    sender.abort();
    (got, ended)
}

fn slow_consumer(on_overflow: Overflow) -> MockSpec {
    MockSpec {
        event_buffer: Some(100),
        console_drain_rate: Some(50.0),
        on_overflow: Some(on_overflow),
        ..MockSpec::default()
    }
}

/// A console that takes 50 events/s, fed 200/s with a queue of 100, is kicked after about
/// 100 / (200 - 50) = 0.67 s: not before 0.2 s (fewer than 40 statuses are sent by then, however
/// the sends bunch), and by 10x the model's figure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
async fn slow_consumer_is_kicked() {
    let _one = SERIAL.lock().await;
    let m = start(slow_consumer(Overflow::Kick)).await;
    let mut rx = console(&m).await;
    let (got, _) = flood_until(&m, &mut rx, "console.kicked").await;
    let (at, _, data) = got.last().expect("events").clone();
    assert_eq!(got.last().map(|g| g.1.as_str()), Some("console.kicked"));
    assert_eq!(data["reason"], "slow_consumer");
    let statuses = got.iter().filter(|g| g.1 == "status").count();
    eprintln!("kicked after {at:?}, {statuses} statuses delivered before");
    assert!(
        at > Duration::from_millis(200) && at < Duration::from_millis(6700),
        "kicked after {at:?}, expected about 0.67 s"
    );
    // delivered at about 50/s: far fewer than sent
    let sent = at.as_secs_f64() * 200.0;
    assert!(
        (statuses as f64) < sent / 2.0,
        "{statuses} delivered of {sent:.0} sent"
    );
    // the stream ends right after the kick; the console stays logged in
    let end = bounded("end of stream", rx.recv()).await;
    assert!(matches!(end, Some(None)), "{end:?}");
    let (code, v) = m
        .send(reqwest::Method::GET, "/v1/consoles/c1/talkgroups", None)
        .await;
    assert_eq!((code, v), (200, json!({"talkgroups": [100]})));
    let text = m.metrics().await;
    assert_eq!(
        sample(&text, "rcload_mock_kicks_total{reason=\"slow_consumer\"}"),
        1.0
    );
    assert!(sample(&text, "rcload_mock_events_dropped_on_overflow_total") >= 1.0);
    m.handle.shutdown().await;
}

/// The same console under `drop_talkgroups` loses the talkgroup instead, and is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
async fn slow_consumer_loses_the_talkgroup() {
    let _one = SERIAL.lock().await;
    let m = start(slow_consumer(Overflow::DropTalkgroups)).await;
    let mut rx = console(&m).await;
    let (got, ended) = flood_until(&m, &mut rx, "talkgroup.dropped").await;
    assert!(!ended, "the stream stays open");
    let (at, kind, data) = got.last().expect("events").clone();
    assert_eq!(kind, "talkgroup.dropped", "{got:?}");
    assert_eq!(data["talkgroup"], 100);
    assert_eq!(data["reason"], "slow_consumer");
    eprintln!("talkgroup dropped after {at:?}");
    assert!(
        at > Duration::from_millis(200) && at < Duration::from_millis(6700),
        "dropped after {at:?}"
    );
    let (code, v) = m
        .send(reqwest::Method::GET, "/v1/consoles/c1/talkgroups", None)
        .await;
    assert_eq!((code, v), (200, json!({"talkgroups": []})));
    let text = m.metrics().await;
    assert_eq!(
        sample(
            &text,
            "rcload_mock_talkgroup_drops_total{reason=\"slow_consumer\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(&text, "rcload_mock_kicks_total{reason=\"slow_consumer\"}"),
        0.0
    );
    m.handle.shutdown().await;
}

/// `GET /metrics` needs no token and lists every metric with its help.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
async fn metrics_list_every_name() {
    let _one = SERIAL.lock().await;
    let handle = rcload_mock::spawn(
        "127.0.0.1:0".parse().expect("addr"),
        MockConfig {
            token: Some("secret".into()),
            ..Default::default()
        },
    )
    .await
    .expect("mock");
    let base = format!("http://{}", handle.addr);
    let client = reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("client");
    let login = bounded(
        "login",
        client
            .post(format!("{base}/v1/consoles/c1/login"))
            .bearer_auth("secret")
            .json(&json!({"operator": "op"}))
            .send(),
    )
    .await
    .expect("login");
    assert_eq!(login.status(), 200);
    let resp = bounded("metrics", client.get(format!("{base}/metrics")).send())
        .await
        .expect("metrics");
    assert_eq!(resp.status(), 200);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = bounded("metrics body", resp.text()).await.expect("body");
    for (name, kind) in [
        ("rcload_mock_workers", "gauge"),
        ("rcload_mock_queue_depth", "gauge"),
        ("rcload_mock_requests_in_service", "gauge"),
        ("rcload_mock_requests_total", "counter"),
        ("rcload_mock_requests_rejected_total", "counter"),
        ("rcload_mock_queue_wait_seconds_total", "counter"),
        ("rcload_mock_console_queued_events_max", "gauge"),
        ("rcload_mock_console_queued_events", "gauge"),
        ("rcload_mock_events_fanned_out_total", "counter"),
        ("rcload_mock_events_dropped_on_overflow_total", "counter"),
        ("rcload_mock_kicks_total", "counter"),
        ("rcload_mock_talkgroup_drops_total", "counter"),
        ("rcload_mock_consoles_logged_in", "gauge"),
        ("rcload_mock_terminals_registered", "gauge"),
        ("rcload_mock_streams_open", "gauge"),
    ] {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "help of {name} in\n{text}"
        );
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "type of {name} in\n{text}"
        );
    }
    assert_eq!(sample(&text, "rcload_mock_consoles_logged_in"), 1.0);
    assert_eq!(sample(&text, "rcload_mock_workers"), 64.0);
    assert_eq!(
        sample(&text, "rcload_mock_requests_total{op=\"console.login\"}"),
        1.0
    );
    handle.shutdown().await;
}

/// Under `delay` nothing is lost: the request that fanned out waits until its event is
/// queued, so a slow console slows the API down instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
async fn delay_moves_the_wait_to_the_api() {
    let _one = SERIAL.lock().await;
    let m = start(MockSpec {
        event_buffer: Some(2),
        console_drain_rate: Some(20.0),
        on_overflow: Some(Overflow::Delay),
        ..MockSpec::default()
    })
    .await;
    let mut rx = console(&m).await;
    let t = Instant::now();
    for i in 0..12 {
        let code = m
            .post(STATUS, json!({"code": 3, "ref": format!("d{i}")}))
            .await;
        assert_eq!(code, 202);
    }
    let took = t.elapsed();
    let mut refs = Vec::new();
    while refs.len() < 12 {
        let item = bounded("delayed events", rx.recv()).await;
        let Some(Some((_, kind, data))) = item else {
            panic!("stream ended: {item:?}");
        };
        if kind == "status" {
            refs.push(data["ref"].as_str().unwrap_or_default().to_owned());
        }
    }
    eprintln!("12 statuses to a console taking 20 events/s took {took:?}");
    // attached + registered + 12 statuses at 20/s with 2 queued: the last answer waits for
    // about 10 events to be taken (0.5 s)
    assert!(took > Duration::from_millis(300), "{took:?}");
    let want: Vec<String> = (0..12).map(|i| format!("d{i}")).collect();
    assert_eq!(refs, want, "all delivered, in order");
    let text = m.metrics().await;
    assert_eq!(
        sample(&text, "rcload_mock_events_dropped_on_overflow_total"),
        0.0
    );
    m.handle.shutdown().await;
}
