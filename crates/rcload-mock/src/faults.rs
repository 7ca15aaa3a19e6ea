//! Fault injection: the mock breaks on purpose at known times, so that rcload's detection of
//! talkgroup drops, lost streams, stalls and errors can be tested end to end.
//!
//! A fault list ([`FaultSpec`]) is given in [`MockConfig`](super::MockConfig). Times are counted
//! from the fault clock's epoch (`MockConfig::fault_epoch`, or the moment the server starts).
//!
//! - Faults on the model (`drop`, `silent_drop`, `blackhole`, `kick`) fire from one tokio task
//!   per server ([`run`]) that sleeps until each `at` in order, selects the consoles and
//!   talkgroups concerned among those logged in at that moment, and changes the model
//!   (`state.rs`).
//! - Faults on requests (`stall`, `errors`, `delay`) are time windows known in advance; a
//!   middleware ([`middleware`], installed only when the list has such a fault) checks each `/v1`
//!   request against them. Outside every window that check is a clock read and two compares;
//!   it takes no lock. The firing task only logs them when they start.
//!
//! What each fault did is kept in a [`FaultLog`] (one [`FaultRecord`] per console/talkgroup
//! affected, one per request fault when it starts) and logged with `tracing::info!`.
//! Like the rest of the mock, this knows nothing of the load engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Deserialize;

use super::error::{ApiError, INTERNAL};
use super::extract::is_v1;
use super::fault_spec::{FAULT_REASON, FaultKind, FaultLog, FaultRecord, FaultSpec, Selector};
use super::state::{MockState, TalkgroupFault};
use rcload_api::Percent;
use rcload_api::{CallKind, Op};

/// Largest body read when a fault needs the `kind` of a `POST /v1/calls` (axum's default
/// body limit for JSON).
const CALL_BODY_LIMIT: usize = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Operations

/// The operation a route serves, as the router tags it ([`tag`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteOp {
    Known(Op),
    /// `POST /v1/calls`: `call.group` or `call.emergency` by the body's `kind`.
    StartCall,
}

/// The request faults a request is subject to, put on it by [`middleware`] when an errors or
/// delay fault may be active; read by the layer [`tag`] puts on each route.
#[derive(Clone)]
struct Active {
    faults: Arc<RequestFaults>,
    t: Duration,
}

/// Tags a route with the operation it serves: a request to it gets the active errors and
/// delay faults of that operation. The router is the one table of paths: fault matching reads
/// the tag, never the path.
pub(crate) fn tag<S>(route: MethodRouter<S>, op: RouteOp) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    route.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| op_faults(op, req, next),
    ))
}

/// Applies the active errors and delay faults of `op` to one request.
async fn op_faults(op: RouteOp, req: Request, next: Next) -> Response {
    let Some(Active { faults, t }) = req.extensions().get::<Active>().cloned() else {
        return next.run(req).await;
    };
    let (req, op) = match op {
        RouteOp::Known(op) => (req, Some(op)),
        RouteOp::StartCall if !faults.calls_active(t) => (req, None),
        RouteOp::StartCall => {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, CALL_BODY_LIMIT).await else {
                return ApiError::bad_request("could not read the request body").into_response();
            };
            let op = call_op(&bytes);
            (Request::from_parts(parts, Body::from(bytes)), op)
        }
    };
    let Some(op) = op else {
        return next.run(req).await;
    };
    let fail = faults.fails(op, t);
    let extra = faults.delay(op, t);
    if !extra.is_zero() {
        tokio::time::sleep(extra).await;
    }
    if fail {
        return injected_error();
    }
    next.run(req).await
}

/// The op of a `POST /v1/calls` body (`None` if it has no readable `kind`: the handler answers
/// 400 for it).
fn call_op(body: &[u8]) -> Option<Op> {
    #[derive(Deserialize)]
    struct KindOnly {
        kind: CallKind,
    }
    #[derive(Deserialize)]
    struct VendorType {
        #[serde(rename = "type")]
        kind: String,
    }
    if let Ok(k) = serde_json::from_slice::<KindOnly>(body) {
        return Some(match k.kind {
            CallKind::Group => Op::CallGroup,
            CallKind::Emergency => Op::CallEmergency,
        });
    }
    // vendor-x: {"type": "GROUP" | "EMERGENCY", ...}
    let v: VendorType = serde_json::from_slice(body).ok()?;
    match v.kind.as_str() {
        "GROUP" => Some(Op::CallGroup),
        "EMERGENCY" => Some(Op::CallEmergency),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Request faults: stall, errors, delay

/// A time window `[start, end)` since the epoch; `end: None` = for ever.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Duration,
    end: Option<Duration>,
}

impl Window {
    fn contains(&self, t: Duration) -> bool {
        t >= self.start && self.end.is_none_or(|e| t < e)
    }
}

#[derive(Debug)]
struct ErrorFault {
    op: Op,
    window: Window,
    /// The rate in parts per billion (exact for any rate written with up to 7 decimals in %).
    ppb: u64,
    /// Matching requests seen so far.
    seen: AtomicU64,
}

impl ErrorFault {
    /// Counts one matching request; answers whether it fails.
    fn next_fails(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        share_fails(n, self.ppb)
    }
}

#[derive(Debug)]
struct DelayFault {
    op: Op,
    window: Window,
    extra: Duration,
}

/// The request faults of a server with their windows, checked by [`middleware`].
#[derive(Debug)]
pub(crate) struct RequestFaults {
    epoch: Instant,
    /// Union bounds of every window: no fault is active before `first` or from `last` on.
    first: Duration,
    last: Option<Duration>,
    stalls: Vec<Window>,
    errors: Vec<ErrorFault>,
    delays: Vec<DelayFault>,
    /// Some errors/delay fault concerns `call.group` or `call.emergency` (so the body of
    /// `POST /v1/calls` may have to be read).
    on_calls: bool,
}

const PPB: u64 = 1_000_000_000;

/// Does the `n`-th matching request (from 1) fail at a rate of `ppb` parts per billion?
/// Yes when floor(n*rate) > floor((n-1)*rate): over any N requests exactly floor(N*rate) fail.
fn share_fails(n: u64, ppb: u64) -> bool {
    if n == 0 {
        return false;
    }
    let now = u128::from(n) * u128::from(ppb) / u128::from(PPB);
    let before = u128::from(n - 1) * u128::from(ppb) / u128::from(PPB);
    now > before
}

fn to_ppb(rate: Percent) -> u64 {
    let r = (rate.fraction.clamp(0.0, 1.0) * PPB as f64).round();
    // The value is in 0..=1e9, so the conversion is exact.
    r as u64
}

impl RequestFaults {
    /// The request faults of `faults` (stall, errors, delay), or `None` if there are none.
    /// Faults missing a needed field are left out (lists are checked before serving).
    pub(crate) fn new(faults: &[FaultSpec], epoch: Instant) -> Option<RequestFaults> {
        let mut stalls = Vec::new();
        let mut errors = Vec::new();
        let mut delays = Vec::new();
        let mut windows = Vec::new();
        for f in faults {
            let start = f.at.0;
            let until = f.until.map(|u| u.0);
            match f.kind {
                FaultKind::Stall => {
                    let Some(d) = f.for_ else { continue };
                    let w = Window {
                        start,
                        end: Some(start.saturating_add(d.0)),
                    };
                    stalls.push(w);
                    windows.push(w);
                }
                FaultKind::Errors => {
                    let (Some(op), Some(rate)) = (f.op.as_deref().and_then(Op::from_name), f.rate)
                    else {
                        continue;
                    };
                    let window = Window { start, end: until };
                    errors.push(ErrorFault {
                        op,
                        window,
                        ppb: to_ppb(rate),
                        seen: AtomicU64::new(0),
                    });
                    windows.push(window);
                }
                FaultKind::Delay => {
                    let (Some(op), Some(ms)) = (f.op.as_deref().and_then(Op::from_name), f.ms)
                    else {
                        continue;
                    };
                    let window = Window { start, end: until };
                    delays.push(DelayFault {
                        op,
                        window,
                        extra: Duration::from_millis(ms),
                    });
                    windows.push(window);
                }
                FaultKind::Drop
                | FaultKind::SilentDrop
                | FaultKind::Blackhole
                | FaultKind::Kick => {}
            }
        }
        let first = windows.iter().map(|w| w.start).min()?;
        let last = windows
            .iter()
            .map(|w| w.end)
            .try_fold(Duration::ZERO, |acc, e| e.map(|e| acc.max(e)));
        let call_ops = [Some(Op::CallGroup), Some(Op::CallEmergency)];
        let on_calls = errors
            .iter()
            .map(|e| e.op)
            .chain(delays.iter().map(|d| d.op))
            .any(|op| call_ops.contains(&Some(op)));
        Some(RequestFaults {
            epoch,
            first,
            last,
            stalls,
            errors,
            delays,
            on_calls,
        })
    }

    /// Time since the epoch (`None` before it).
    fn elapsed(&self) -> Option<Duration> {
        Instant::now().checked_duration_since(self.epoch)
    }

    /// Whether any window may contain `t` (the cheap first check).
    fn maybe_active(&self, t: Duration) -> bool {
        t >= self.first && self.last.is_none_or(|l| t < l)
    }

    /// The latest end of the stalls that contain `t`.
    fn stall_end(&self, t: Duration) -> Option<Duration> {
        self.stalls
            .iter()
            .filter(|w| w.contains(t))
            .filter_map(|w| w.end)
            .max()
    }

    /// Whether an errors or delay fault on `call.group`/`call.emergency` is active at `t`.
    fn calls_active(&self, t: Duration) -> bool {
        if !self.on_calls {
            return false;
        }
        let call_ops = [Some(Op::CallGroup), Some(Op::CallEmergency)];
        let hit = |op: Op, w: &Window| call_ops.contains(&Some(op)) && w.contains(t);
        self.errors.iter().any(|e| hit(e.op, &e.window))
            || self.delays.iter().any(|d| hit(d.op, &d.window))
    }

    /// Whether any errors or delay fault is active at `t`.
    fn ops_active(&self, t: Duration) -> bool {
        self.errors.iter().any(|e| e.window.contains(t))
            || self.delays.iter().any(|d| d.window.contains(t))
    }

    /// The extra latency on `op` at `t` (the sum of the active delays).
    fn delay(&self, op: Op, t: Duration) -> Duration {
        self.delays
            .iter()
            .filter(|d| d.op == op && d.window.contains(t))
            .map(|d| d.extra)
            .sum()
    }

    /// Counts a request of `op` at `t` in every active errors fault on it; answers whether any
    /// of them fails it.
    fn fails(&self, op: Op, t: Duration) -> bool {
        // Every active fault counts the request (no short cut once one has failed it).
        let mut failed = false;
        for e in &self.errors {
            if e.op == op && e.window.contains(t) && e.next_fails() {
                failed = true;
            }
        }
        failed
    }

    /// Sleeps until `at` (since the epoch), if that is a representable instant.
    async fn sleep_until(&self, at: Duration) {
        if let Some(when) = self.epoch.checked_add(at) {
            tokio::time::sleep_until(tokio::time::Instant::from_std(when)).await;
        }
    }
}

/// The 500 answer of an injected error.
fn injected_error() -> Response {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        INTERNAL,
        "injected fault",
    )
    .into_response()
}

/// Applies the request faults to one request: waits out a stall, and when an errors or delay
/// fault may be active hands them to the route's [`tag`] layer, which knows the operation.
/// Holds no lock.
pub(crate) async fn middleware(
    State(faults): State<Arc<RequestFaults>>,
    mut req: Request,
    next: Next,
) -> Response {
    if !is_v1(&req) && !req.uri().path().starts_with("/xapi/") {
        return next.run(req).await;
    }
    let Some(mut t) = faults.elapsed().filter(|&t| faults.maybe_active(t)) else {
        return next.run(req).await;
    };
    // A request arriving in a stall waits for its end (and for any stall it then falls in).
    while let Some(end) = faults.stall_end(t) {
        faults.sleep_until(end).await;
        t = faults.elapsed().unwrap_or(end).max(end);
    }
    if faults.ops_active(t) {
        req.extensions_mut().insert(Active {
            faults: Arc::clone(&faults),
            t,
        });
    }
    next.run(req).await
}

// ---------------------------------------------------------------------------------------------
// Model faults and the firing task

/// The RNG of fault number `index` (from 0, in list order): seeded with `seed + index`, so
/// each fault's choice depends only on the seed, its place in the list and the consoles
/// logged in when it fires.
fn fault_rng(seed: u64, index: usize) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_add(index as u64))
}

/// How many of `n` a share picks: `share * n` rounded, at least one when the share is above 0,
/// at most `n`.
fn share_count(share: Percent, n: usize) -> usize {
    if n == 0 || share.fraction <= 0.0 {
        return 0;
    }
    let k = (share.fraction * n as f64).round();
    // k is in 0..=n (the share is at most 1), so the conversion is exact.
    (k as usize).clamp(1, n)
}

/// Picks `share` of `items` at random (in their order).
fn pick_share<T: Clone>(rng: &mut Xoshiro256PlusPlus, items: &[T], share: Percent) -> Vec<T> {
    let k = share_count(share, items.len());
    let mut idx = rand::seq::index::sample(rng, items.len(), k).into_vec();
    idx.sort_unstable();
    idx.into_iter()
        .filter_map(|i| items.get(i).cloned())
        .collect()
}

/// A logged-in console as seen by a fault: its id and monitored set (sorted).
pub(crate) type Candidate = (String, Vec<u32>);

/// The consoles `sel` picks among `candidates` (sorted by id): the one named (if logged in) or
/// a share of them.
fn select_consoles<'a>(
    sel: &Selector,
    candidates: &'a [Candidate],
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<&'a Candidate> {
    match sel {
        Selector::Share(share) => {
            let all: Vec<&Candidate> = candidates.iter().collect();
            pick_share(rng, &all, *share)
        }
        Selector::Id(_) | Selector::Number(_) => {
            let id = sel.console_id().unwrap_or_default();
            match candidates.iter().find(|c| c.0 == id) {
                Some(c) => vec![c],
                None => {
                    tracing::info!(console = %id, "fault: console is not logged in; skipped");
                    Vec::new()
                }
            }
        }
    }
}

/// The talkgroups `sel` picks in `monitored` (sorted): the GSSI if monitored, a share, or
/// (absent) one at random.
fn select_talkgroups(
    sel: Option<&Selector>,
    monitored: &[u32],
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<u32> {
    if monitored.is_empty() {
        return Vec::new();
    }
    match sel {
        None => vec![monitored[rng.random_range(0..monitored.len())]],
        Some(Selector::Number(g)) => {
            if monitored.contains(g) {
                vec![*g]
            } else {
                Vec::new()
            }
        }
        Some(Selector::Share(share)) => pick_share(rng, monitored, *share),
        Some(Selector::Id(_)) => Vec::new(), // refused by `check`
    }
}

/// Fires one fault now; answers what it did.
fn fire(state: &MockState, spec: &FaultSpec, rng: &mut Xoshiro256PlusPlus) -> Vec<FaultRecord> {
    let kind = spec.kind;
    let record = |console: Option<String>, talkgroup: Option<u32>| FaultRecord {
        at: Instant::now(),
        kind,
        console,
        talkgroup,
    };
    if kind.on_requests() {
        match kind {
            FaultKind::Stall => {
                let for_ = spec.for_.map(|d| d.to_string()).unwrap_or_default();
                tracing::info!(fault = %kind, at = %spec.at, %for_, "fault: API stalls");
            }
            _ => {
                let op = spec.op.as_deref().unwrap_or("");
                let until = spec
                    .until
                    .map_or_else(|| "never".to_owned(), |u| u.to_string());
                let rate = spec.rate.map(|r| r.to_string()).unwrap_or_default();
                let ms = spec.ms.unwrap_or(0);
                tracing::info!(fault = %kind, at = %spec.at, op, %rate, ms, %until, "fault: operation faults start");
            }
        }
        return vec![record(None, None)];
    }
    let Some(sel) = &spec.console else {
        return Vec::new(); // refused by `check`
    };
    let candidates = state.fault_candidates();
    let chosen = select_consoles(sel, &candidates, rng);
    let mut out = Vec::new();
    for (console, monitored) in chosen {
        if kind == FaultKind::Kick {
            if state.kick(console, FAULT_REASON) {
                tracing::info!(fault = %kind, at = %spec.at, console = %console, "fault: console kicked");
                out.push(record(Some(console.clone()), None));
            }
            continue;
        }
        let effect = match kind {
            FaultKind::Drop => TalkgroupFault::Drop,
            FaultKind::SilentDrop => TalkgroupFault::SilentDrop,
            _ => TalkgroupFault::Blackhole,
        };
        let tgs = select_talkgroups(spec.talkgroup.as_ref(), monitored, rng);
        if tgs.is_empty() {
            tracing::info!(fault = %kind, at = %spec.at, console = %console, "fault: no talkgroup to act on; console skipped");
        }
        for tg in tgs {
            if state.fault_talkgroup(console, tg, effect) {
                tracing::info!(fault = %kind, at = %spec.at, console = %console, talkgroup = tg, "fault fired");
                out.push(record(Some(console.clone()), Some(tg)));
            }
        }
    }
    if out.is_empty() {
        tracing::info!(fault = %kind, at = %spec.at, "fault fired but found nothing to act on");
    }
    out
}

/// The firing task: sleeps until each fault's `at` (in order of `at`, then of the list), fires
/// it and records what it did. Ends when all have fired or on shutdown.
pub(crate) async fn run(
    state: Arc<MockState>,
    faults: Vec<FaultSpec>,
    seed: u64,
    epoch: Instant,
    log: FaultLog,
) {
    let mut order: Vec<(usize, &FaultSpec)> = faults.iter().enumerate().collect();
    order.sort_by_key(|(_, f)| f.at);
    let mut shutdown = state.shutdown_signal();
    for (index, spec) in order {
        let Some(when) = epoch.checked_add(spec.at.0) else {
            break; // beyond any representable time: it (and every later one) never fires
        };
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|&stop| stop) => return,
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(when)) => {}
        }
        let mut rng = fault_rng(seed, index);
        for r in fire(&state, spec, &mut rng) {
            log.push(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault_spec::*;
    use rcload_api::Dur;

    fn pct(fraction: f64) -> Percent {
        Percent { fraction }
    }

    fn spec(kind: FaultKind) -> FaultSpec {
        FaultSpec {
            at: Dur(Duration::from_secs(1)),
            kind,
            for_: None,
            console: None,
            talkgroup: None,
            op: None,
            rate: None,
            until: None,
            ms: None,
        }
    }

    fn fields(problems: &[(&'static str, String)]) -> Vec<&'static str> {
        problems.iter().map(|(f, _)| *f).collect()
    }

    #[test]
    fn selectors_parse_and_round_trip() {
        let share: Selector = serde_json::from_str(r#""10%""#).unwrap();
        assert_eq!(share, Selector::Share(pct(0.1)));
        let id: Selector = serde_json::from_str(r#""room01-con01""#).unwrap();
        assert_eq!(id, Selector::Id("room01-con01".into()));
        let n: Selector = serde_json::from_str("100042").unwrap();
        assert_eq!(n, Selector::Number(100_042));
        for s in [&share, &id, &n] {
            let text = serde_json::to_string(s).unwrap();
            assert_eq!(
                &serde_json::from_str::<Selector>(&text).unwrap(),
                s,
                "{text}"
            );
        }
        assert_eq!(serde_json::to_string(&n).unwrap(), "100042");
        assert_eq!(serde_json::to_string(&share).unwrap(), r#""10%""#);
        assert!(serde_json::from_str::<Selector>(r#""150%""#).is_err());
        assert!(serde_json::from_str::<Selector>("-3").is_err());
        assert!(serde_json::from_str::<Selector>("5000000000").is_err());
        let quoted: Selector = serde_json::from_str(r#""42""#).unwrap();
        assert_eq!(quoted, Selector::Id("42".into()), "a string is an id");
    }

    #[test]
    fn fault_file_parses_from_yaml() {
        let yaml = r#"
faults:
  - { at: 300ms, kind: stall, for: 200ms }
  - at: 1s
    kind: drop
    console: 10%
    talkgroup: 100042
  - { at: 2s, kind: silent_drop, console: room01-con01 }
  - { at: 2s, kind: blackhole, console: room01-con01, talkgroup: 50% }
  - { at: 3s, kind: kick, console: c1 }
  - { at: 4s, kind: errors, op: terminal.status, rate: 25%, until: 10s }
  - { at: 4s, kind: delay, op: call.group, ms: 150 }
"#;
        let faults = parse_fault_file(yaml).unwrap();
        assert_eq!(faults.len(), 7);
        assert_eq!(faults[0].for_, Some(Dur(Duration::from_millis(200))));
        assert_eq!(faults[1].console, Some(Selector::Share(pct(0.1))));
        assert_eq!(faults[1].talkgroup, Some(Selector::Number(100_042)));
        assert_eq!(faults[2].kind, FaultKind::SilentDrop);
        assert_eq!(faults[3].talkgroup, Some(Selector::Share(pct(0.5))));
        assert_eq!(faults[5].rate, Some(pct(0.25)));
        assert_eq!(faults[6].ms, Some(150));
        // serializes back to the same list
        let back = serde_saphyr::to_string(&FaultFile {
            faults: faults.clone(),
        })
        .unwrap();
        assert_eq!(parse_fault_file(&back).unwrap(), faults, "{back}");

        let err = parse_fault_file("faults:\n  - { at: 1s, kind: stall }\n").unwrap_err();
        assert_eq!(err, "faults[0].for: a stall needs `for`");
        assert!(parse_fault_file("faults:\n  - { at: 1s, kind: stall, fro: 1s }\n").is_err());
        assert!(parse_fault_file("faults:\n  - { at: 1s, kind: explode }\n").is_err());
    }

    /// The example in `docs/mock.md` is a valid fault file.
    #[test]
    fn documented_example_parses() {
        let doc = include_str!("../../../docs/mock.md");
        let start = doc
            .find("```yaml\nfaults:")
            .expect("example in docs/mock.md")
            + 8;
        let len = doc[start..].find("```").expect("end of the example");
        let faults = parse_fault_file(&doc[start..start + len]).unwrap();
        assert_eq!(faults.len(), 7);
        assert_eq!(faults[6].until, None);
    }

    #[test]
    fn check_required_and_forbidden_fields() {
        let s = spec(FaultKind::Stall);
        assert_eq!(s.check(), [("for", "a stall needs `for`".to_owned())]);
        let mut s2 = spec(FaultKind::Stall);
        s2.for_ = Some(Dur(Duration::from_secs(1)));
        s2.console = Some(Selector::Id("c1".into()));
        assert_eq!(
            s2.check(),
            [(
                "console",
                "`console` is not a field of a stall fault".to_owned()
            )]
        );

        for kind in [FaultKind::Drop, FaultKind::SilentDrop, FaultKind::Blackhole] {
            let s = spec(kind);
            assert_eq!(fields(&s.check()), ["console"], "{kind}");
            let mut ok = spec(kind);
            ok.console = Some(Selector::Share(pct(0.1)));
            assert!(ok.check().is_empty(), "{kind}: {:?}", ok.check());
            ok.talkgroup = Some(Selector::Number(100_001));
            assert!(ok.check().is_empty(), "{kind}: {:?}", ok.check());
            ok.op = Some("call.end".into());
            ok.ms = Some(3);
            assert_eq!(fields(&ok.check()), ["op", "ms"], "{kind}");
        }

        let mut k = spec(FaultKind::Kick);
        assert_eq!(fields(&k.check()), ["console"]);
        k.console = Some(Selector::Id("c1".into()));
        assert!(k.check().is_empty());
        k.talkgroup = Some(Selector::Number(1));
        assert_eq!(fields(&k.check()), ["talkgroup"]);

        let mut e = spec(FaultKind::Errors);
        assert_eq!(fields(&e.check()), ["op", "rate"]);
        e.op = Some("terminal.status".into());
        e.rate = Some(pct(0.25));
        e.until = Some(Dur(Duration::from_secs(5)));
        assert!(e.check().is_empty(), "{:?}", e.check());
        e.for_ = Some(Dur(Duration::from_secs(1)));
        e.ms = Some(1);
        assert_eq!(fields(&e.check()), ["for", "ms"]);

        let mut d = spec(FaultKind::Delay);
        assert_eq!(fields(&d.check()), ["op", "ms"]);
        d.op = Some("console.events".into());
        d.ms = Some(100);
        assert!(d.check().is_empty(), "{:?}", d.check());
        d.rate = Some(pct(0.5));
        assert_eq!(fields(&d.check()), ["rate"]);
    }

    #[test]
    fn check_values() {
        let mut e = spec(FaultKind::Errors);
        e.op = Some("x".into());
        e.rate = Some(pct(0.1));
        let p = e.check();
        assert_eq!(fields(&p), ["op"]);
        assert!(
            p[0].1
                .starts_with("unknown operation `x`; use one of console.login"),
            "{p:?}"
        );
        e.op = Some("call.emergency".into());
        e.until = Some(Dur(Duration::from_millis(500)));
        assert_eq!(fields(&e.check()), ["until"]);

        let mut s = spec(FaultKind::Stall);
        s.for_ = Some(Dur(Duration::ZERO));
        assert_eq!(fields(&s.check()), ["for"]);

        let mut d = spec(FaultKind::Drop);
        d.console = Some(Selector::Id("no/slash".into()));
        d.talkgroup = Some(Selector::Id("tg1".into()));
        assert_eq!(fields(&d.check()), ["console", "talkgroup"]);
        d.console = Some(Selector::Share(pct(0.0)));
        d.talkgroup = Some(Selector::Number(0));
        assert_eq!(fields(&d.check()), ["console", "talkgroup"]);
        d.console = Some(Selector::Number(7)); // console id "7"
        d.talkgroup = Some(Selector::Share(pct(0.0)));
        assert_eq!(fields(&d.check()), ["talkgroup"]);

        for op in fault_operations() {
            assert!(Op::from_name(op).is_some());
        }
        let list = [spec(FaultKind::Kick), spec(FaultKind::Stall)];
        assert_eq!(
            describe_problems(&list).unwrap(),
            "faults[0].console: a kick needs `console`\nfaults[1].for: a stall needs `for`"
        );
    }

    #[test]
    fn error_share_is_exact() {
        let f = ErrorFault {
            op: Op::ConsoleLogin,
            window: Window {
                start: Duration::ZERO,
                end: None,
            },
            ppb: to_ppb(pct(0.25)),
            seen: AtomicU64::new(0),
        };
        let fails: Vec<bool> = (0..100).map(|_| f.next_fails()).collect();
        assert_eq!(fails.iter().filter(|&&x| x).count(), 25);
        // the 4th, 8th, ... fail
        assert!(fails[3] && fails[7] && !fails[0] && !fails[4]);
        for (rate, n, want) in [
            (0.1, 1000, 100),
            (0.07, 100, 7),
            (0.333, 1000, 333),
            (1.0, 50, 50),
            (0.0, 50, 0),
            (0.000_01, 200_000, 2),
        ] {
            let ppb = to_ppb(pct(rate));
            let got = (1..=n).filter(|&i| share_fails(i, ppb)).count();
            assert_eq!(got, want, "rate {rate} over {n}");
        }
    }

    #[test]
    fn share_selection_is_deterministic_and_picks_one() {
        let consoles: Vec<Candidate> = (1..=30)
            .map(|i| (format!("c{i:02}"), vec![100 + i, 200 + i, 300 + i]))
            .collect();
        let pick = |seed: u64, share: f64| -> Vec<String> {
            let mut rng = fault_rng(seed, 0);
            select_consoles(&Selector::Share(pct(share)), &consoles, &mut rng)
                .into_iter()
                .map(|c| c.0.clone())
                .collect()
        };
        let a = pick(7, 0.1);
        assert_eq!(a.len(), 3);
        assert_eq!(a, pick(7, 0.1), "same seed, same choice");
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(a, sorted, "in id order");
        assert!(
            (0..20).any(|s| pick(s, 0.1) != a),
            "other seeds choose otherwise"
        );
        assert_eq!(pick(1, 0.001).len(), 1, "at least one");
        assert_eq!(pick(1, 1.0).len(), 30);
        assert!(pick(1, 0.0).is_empty());

        let mut rng = fault_rng(3, 1);
        let none: &[Candidate] = &[];
        assert!(select_consoles(&Selector::Share(pct(0.5)), none, &mut rng).is_empty());
        let by_id = select_consoles(&Selector::Id("c05".into()), &consoles, &mut rng);
        assert_eq!(by_id.len(), 1);
        assert_eq!(by_id[0].0, "c05");
        assert!(select_consoles(&Selector::Id("zz".into()), &consoles, &mut rng).is_empty());

        let tgs = [10, 20, 30, 40];
        let one = select_talkgroups(None, &tgs, &mut fault_rng(5, 0));
        assert_eq!(one.len(), 1);
        assert_eq!(one, select_talkgroups(None, &tgs, &mut fault_rng(5, 0)));
        assert!(tgs.contains(&one[0]));
        let half = Selector::Share(pct(0.5));
        assert_eq!(select_talkgroups(Some(&half), &tgs, &mut rng).len(), 2);
        let tiny = Selector::Share(pct(0.01));
        assert_eq!(select_talkgroups(Some(&tiny), &tgs, &mut rng).len(), 1);
        assert_eq!(
            select_talkgroups(Some(&Selector::Number(30)), &tgs, &mut rng),
            [30]
        );
        assert!(select_talkgroups(Some(&Selector::Number(31)), &tgs, &mut rng).is_empty());
        assert!(select_talkgroups(None, &[], &mut rng).is_empty());
    }

    #[test]
    fn share_counts() {
        assert_eq!(share_count(pct(0.1), 25), 3); // 2.5 rounds up
        assert_eq!(share_count(pct(0.1), 30), 3);
        assert_eq!(share_count(pct(0.1), 1), 1);
        assert_eq!(share_count(pct(0.0), 10), 0);
        assert_eq!(share_count(pct(1.0), 10), 10);
        assert_eq!(share_count(pct(0.5), 0), 0);
    }

    #[test]
    fn a_call_body_names_its_operation() {
        assert_eq!(
            call_op(br#"{"kind":"emergency","talkgroup":1,"caller":2,"ref":"r"}"#),
            Some(Op::CallEmergency)
        );
        assert_eq!(call_op(br#"{"kind":"group"}"#), Some(Op::CallGroup));
        assert_eq!(call_op(br#"{"type":"EMERGENCY"}"#), Some(Op::CallEmergency));
        assert_eq!(call_op(b"nope"), None);
    }

    #[test]
    fn request_fault_windows() {
        let epoch = Instant::now();
        let mut stall = spec(FaultKind::Stall);
        stall.for_ = Some(Dur(Duration::from_secs(2))); // [1s, 3s)
        let mut late = spec(FaultKind::Stall);
        late.at = Dur(Duration::from_millis(2500));
        late.for_ = Some(Dur(Duration::from_secs(1))); // [2.5s, 3.5s)
        let mut delay = spec(FaultKind::Delay);
        delay.op = Some("call.group".into());
        delay.ms = Some(10);
        delay.until = Some(Dur(Duration::from_secs(5)));
        let kick = spec(FaultKind::Kick);
        assert!(RequestFaults::new(std::slice::from_ref(&kick), epoch).is_none());
        let rf = RequestFaults::new(&[stall, late, delay, kick], epoch).unwrap();
        let ms = Duration::from_millis;
        assert!(!rf.maybe_active(ms(999)));
        assert!(rf.maybe_active(ms(1000)));
        assert!(!rf.maybe_active(ms(5000)));
        assert_eq!(rf.stall_end(ms(999)), None);
        assert_eq!(rf.stall_end(ms(1000)), Some(ms(3000)));
        assert_eq!(rf.stall_end(ms(2600)), Some(ms(3500)));
        assert_eq!(rf.stall_end(ms(3500)), None);
        assert!(rf.on_calls);
        assert!(rf.calls_active(ms(1000)));
        let group = Op::from_name("call.group").unwrap();
        assert_eq!(rf.delay(group, ms(1500)), ms(10));
        assert_eq!(rf.delay(group, ms(5000)), Duration::ZERO);
        let mut forever = spec(FaultKind::Errors);
        forever.op = Some("call.end".into());
        forever.rate = Some(pct(0.5));
        let rf = RequestFaults::new(&[forever], epoch).unwrap();
        assert!(rf.maybe_active(Duration::from_secs(1_000_000)));
        assert!(!rf.on_calls);
    }
}
