//! `rcload adapter check`: the pre-flight of a mapping file against a live system. Every
//! mapped action is sent once with a test console and terminal (cleaning up after itself), the
//! event channel is opened, and each step gets a verdict with the reason for a failure.
//!
//! The steps run in an order that builds what the next needs (log in, open events, attach,
//! register, ...) and end by undoing it (end calls, deregister, log out). A failed step does not
//! stop the check: each later step reports its own problem.

use super::spec::Matching;
use super::{MappedTarget, Trace};
use crate::targets::{EventStream, Received, Reply, Request, Target, TargetError};
use futures::StreamExt;
use rcload_api::{CallKind, Event, Op};
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Who and what the check uses.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub console: String,
    pub operator: String,
    pub issi: u32,
    /// The console attaches both; the terminal registers on the first and moves to the second.
    pub talkgroups: [u32; 2],
    /// How long to wait for an event.
    pub event_timeout: Duration,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            console: "rcload-check-1".into(),
            operator: "rcload-check".into(),
            issi: 16_777_001,
            talkgroups: [100_001, 100_002],
            event_timeout: Duration::from_secs(3),
        }
    }
}

/// One line of the check's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub action: String,
    pub request: String,
    pub status: String,
    pub captured: String,
    pub event: String,
    /// `None`: it worked (or the action is unsupported).
    pub problem: Option<String>,
    pub unsupported: bool,
}

impl Row {
    fn new(action: &str) -> Self {
        Row {
            action: action.to_string(),
            request: String::new(),
            status: String::new(),
            captured: String::new(),
            event: String::new(),
            problem: None,
            unsupported: false,
        }
    }

    pub fn verdict(&self) -> String {
        match (&self.problem, self.unsupported) {
            (Some(p), _) => format!("FAIL: {p}"),
            (None, true) => "unsupported (skipped in runs)".into(),
            (None, false) => "ok".into(),
        }
    }
}

/// The check's result.
#[derive(Debug, Clone)]
pub struct Report {
    pub adapter: String,
    pub target: String,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.problem.is_none())
    }

    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.problem.is_some()).count()
    }

    /// The table as plain text (aligned columns).
    pub fn render(&self) -> String {
        let head = [
            "action", "request", "status", "captured", "event", "verdict",
        ];
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.action.clone(),
                    r.request.clone(),
                    r.status.clone(),
                    r.captured.clone(),
                    r.event.clone(),
                    r.verdict(),
                ]
            })
            .collect();
        let mut width = head.map(str::len);
        for c in &cells {
            for (i, v) in c.iter().enumerate().take(5) {
                width[i] = width[i].max(v.chars().count());
            }
        }
        let mut out = format!("adapter {} against {}\n\n", self.adapter, self.target);
        let line = |out: &mut String, c: &[String]| {
            for (i, v) in c.iter().enumerate() {
                if i < 5 {
                    let _ = write!(out, "{v:<w$}  ", w = width[i]);
                } else {
                    let _ = write!(out, "{v}");
                }
            }
            out.push('\n');
        };
        line(&mut out, &head.map(str::to_string));
        line(
            &mut out,
            &width
                .iter()
                .enumerate()
                .map(|(i, w)| "-".repeat(if i < 5 { *w } else { 7 }))
                .collect::<Vec<_>>(),
        );
        for c in &cells {
            line(&mut out, c);
        }
        let failed = self.failures();
        out.push('\n');
        if failed == 0 {
            out.push_str("every supported action works\n");
        } else {
            let _ = writeln!(
                out,
                "{failed} of {} steps failed: fix the mapping (or the system) before a run",
                self.rows.len()
            );
        }
        out
    }
}

/// Why an error answer probably happened, in the terms of the mapping.
fn explain(e: &TargetError) -> String {
    match e {
        TargetError::Http { status: 404, .. } => {
            format!("{e} — the path may be wrong, or an id in it")
        }
        TargetError::Http { status: 405, .. } => format!("{e} — the method may be wrong"),
        TargetError::Http {
            status: 401 | 403, ..
        } => {
            format!("{e} — check `auth` and its environment variables")
        }
        TargetError::Http { status, .. } if *status >= 400 && *status < 500 => {
            format!("{e} — unexpected status; check the body template and `success`")
        }
        _ => e.to_string(),
    }
}

/// Events read from the channel so far, and why messages could not be read.
struct Channel {
    rx: mpsc::UnboundedReceiver<Received>,
    rejects: mpsc::UnboundedReceiver<String>,
    seen: Vec<Received>,
    rejected: Vec<String>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl Channel {
    fn start(stream: EventStream, rejects: mpsc::UnboundedReceiver<String>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut events = stream.events;
            while let Some(Ok(r)) = events.next().await {
                if tx.send(r).is_err() {
                    break;
                }
            }
        });
        Channel {
            rx,
            rejects,
            seen: Vec::new(),
            rejected: Vec::new(),
            reader: Some(reader),
        }
    }

    /// Wait for an event `want` accepts; the message of the first near miss otherwise.
    async fn wait(
        &mut self,
        what: &str,
        timeout: Duration,
        want: impl Fn(&Event) -> Result<(), String>,
    ) -> Result<Duration, String> {
        let start = Instant::now();
        let mut near: Option<String> = None;
        let check = |r: &Received, near: &mut Option<String>| match want(&r.event) {
            Ok(()) => true,
            Err(m) if !m.is_empty() => {
                near.get_or_insert(m);
                false
            }
            Err(_) => false,
        };
        if let Some(i) = self.seen.iter().position(|r| check(r, &mut near)) {
            self.seen.remove(i);
            return Ok(Duration::ZERO);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            tokio::select! {
                r = self.rx.recv() => match r {
                    Some(r) if check(&r, &mut near) => return Ok(start.elapsed()),
                    Some(r) => self.seen.push(r),
                    None => return Err(format!("the event channel ended before a `{what}` event")),
                },
                Some(m) = self.rejects.recv() => self.rejected.push(m),
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        while let Ok(m) = self.rejects.try_recv() {
            self.rejected.push(m);
        }
        let mut msg = format!(
            "no `{what}` event within {}",
            humantime::format_duration(timeout)
        );
        if let Some(n) = near {
            let _ = write!(msg, "; {n}");
        } else if let Some(r) = self.rejected.last() {
            let _ = write!(msg, "; a message could not be read: {r}");
        }
        Err(msg)
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        if let Some(r) = self.reader.take() {
            r.abort();
        }
    }
}

/// Accepts an event (`Ok`), or says why a near miss is not it (`Err` with a message; an
/// empty one for events of other kinds).
type Want = Box<dyn Fn(&Event) -> Result<(), String> + Send>;

/// What a step expects on the event channel.
enum Expect {
    Nothing,
    Event(&'static str, Want),
}

/// Run the check.
pub async fn run(target: &MappedTarget, cfg: &CheckConfig) -> Report {
    let m = target.mapping();
    let mut rows = Vec::new();
    let correlated = m.events.matching == Matching::Correlate;

    let mut health = Row::new("health");
    match target.health().await {
        Ok(()) => health.status = "ok".into(),
        Err(e) => {
            // Nothing else can work when the system is not there at all.
            let unreachable = matches!(e, TargetError::Connect(_) | TargetError::Timeout);
            health.problem = Some(explain(&e));
            if unreachable {
                rows.push(health);
                return Report {
                    adapter: format!("{} ({})", m.file.name, m.source),
                    target: target.base().to_string(),
                    rows,
                };
            }
        }
    }
    rows.push(health);

    let mut channel: Option<Channel> = None;
    let mut call_ids: Vec<Option<String>> = Vec::new();
    let mapped = |ty: &str| m.events.types.values().any(|t| *t == ty);
    for (step, request) in steps(cfg) {
        let mut row = Row::new(step.map_or("events", |op| op.name()));
        let Some(op) = step else {
            channel = open_channel(target, cfg, &mut row).await;
            rows.push(row);
            continue;
        };
        if m.action(op).is_none() {
            row.unsupported = true;
            if matches!(op, Op::CallGroup | Op::CallEmergency) {
                call_ids.push(None);
            }
            rows.push(row);
            continue;
        }
        let request = match (op, request) {
            (Op::CallEnd, _) => match call_ids.pop().flatten() {
                Some(call) => Request::CallEnd { call },
                None => {
                    row.problem = Some("no call to end (its start failed)".into());
                    rows.push(row);
                    continue;
                }
            },
            (_, Some(r)) => r,
            (_, None) => continue,
        };
        let expect = expectation(&request, cfg, correlated);
        let mut trace = Trace::default();
        let result = target.perform_traced(request.clone(), &mut trace).await;
        row.request = trace.request;
        row.status = trace.status.map(|s| s.to_string()).unwrap_or_default();
        row.captured = trace
            .captured
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        match &result {
            Err(e) => row.problem = Some(explain(e)),
            Ok(reply) => {
                if let Some(p) = check_reply(&request, reply, cfg) {
                    row.problem = Some(p);
                }
            }
        }
        if let Request::CallStart { .. } = &request {
            call_ids.push(match &result {
                Ok(Reply::Call(id)) => Some(id.clone()),
                _ => None,
            });
        }
        if let Expect::Event(ty, want) = expect {
            // A call's end must be that call's.
            let want = match &request {
                Request::CallEnd { call } => ended(call.clone()),
                _ => want,
            };
            row.event = if !mapped(ty) {
                format!("{ty}: not mapped")
            } else if result.is_err() {
                String::new()
            } else {
                match &mut channel {
                    None => format!("{ty}: no channel"),
                    Some(ch) => seen(ch, ty, want, cfg, &mut row.problem).await,
                }
            };
        }
        rows.push(row);
    }
    Report {
        adapter: format!("{} ({})", m.file.name, m.source),
        target: target.base().to_string(),
        rows,
    }
}

/// The steps in order (`None`: open the event channel); each needs only what earlier steps
/// made. A call's end takes the id its start's answer gave.
fn steps(cfg: &CheckConfig) -> Vec<(Option<Op>, Option<Request>)> {
    let [tg_a, tg_b] = cfg.talkgroups;
    let reference = |n: u64| rcload_api::reference::reference(900_000_000 + n);
    vec![
        (
            Some(Op::ConsoleLogin),
            Some(Request::Login {
                console: cfg.console.clone(),
                operator: cfg.operator.clone(),
            }),
        ),
        (None, None),
        (
            Some(Op::ConsoleAttach),
            Some(Request::Attach {
                console: cfg.console.clone(),
                talkgroups: vec![tg_a, tg_b],
            }),
        ),
        (
            Some(Op::ConsoleAudit),
            Some(Request::Audit {
                console: cfg.console.clone(),
            }),
        ),
        (
            Some(Op::TerminalRegister),
            Some(Request::Register {
                issi: cfg.issi,
                talkgroup: tg_a,
            }),
        ),
        (
            Some(Op::TerminalAffiliate),
            Some(Request::Affiliate {
                issi: cfg.issi,
                talkgroup: tg_b,
            }),
        ),
        (
            Some(Op::TerminalStatus),
            Some(Request::Status {
                issi: cfg.issi,
                talkgroup: tg_b,
                code: 7,
                reference: reference(1),
            }),
        ),
        (
            Some(Op::CallGroup),
            Some(Request::CallStart {
                kind: CallKind::Group,
                talkgroup: tg_b,
                caller: cfg.issi,
                reference: reference(2),
            }),
        ),
        (Some(Op::CallEnd), None),
        (
            Some(Op::CallEmergency),
            Some(Request::CallStart {
                kind: CallKind::Emergency,
                talkgroup: tg_b,
                caller: cfg.issi,
                reference: reference(3),
            }),
        ),
        (Some(Op::CallEnd), None),
        (
            Some(Op::TerminalDeregister),
            Some(Request::Deregister { issi: cfg.issi }),
        ),
        (
            Some(Op::ConsoleLogout),
            Some(Request::Logout {
                console: cfg.console.clone(),
            }),
        ),
    ]
}

/// The event channel of the check's console, or none (the row says why).
async fn open_channel(target: &MappedTarget, cfg: &CheckConfig, row: &mut Row) -> Option<Channel> {
    let (rtx, rrx) = mpsc::unbounded_channel();
    row.request = format!("{:?} channel", target.mapping().events.transport).to_lowercase();
    match target.open_traced(&cfg.console, rtx).await {
        Ok(stream) => {
            row.status = "open".into();
            Some(Channel::start(stream, rrx))
        }
        Err(e) => {
            row.problem = Some(format!("cannot open the event channel: {}", explain(&e)));
            None
        }
    }
}

/// The `call.ended` of call `id`, and of no other.
fn ended(id: String) -> Want {
    Box::new(move |e| match e {
        Event::CallEnded { call, .. } if *call == id => Ok(()),
        Event::CallEnded { call, .. } => {
            Err(format!("a `call.ended` of call `{call}`, not `{id}`"))
        }
        _ => Err(String::new()),
    })
}

/// Wait on `ch` for the event `ty` that `want` accepts: the row's event column, and its
/// problem when it is not seen (unless the row has one already).
async fn seen(
    ch: &mut Channel,
    ty: &str,
    want: Want,
    cfg: &CheckConfig,
    problem: &mut Option<String>,
) -> String {
    match ch.wait(ty, cfg.event_timeout, want).await {
        Ok(d) if d.is_zero() => format!("{ty} (before the answer)"),
        Ok(d) => format!("{ty} after {} ms", d.as_millis()),
        Err(p) => {
            problem.get_or_insert(p);
            format!("{ty}: not seen")
        }
    }
}

/// Is the answer what the step needed?
fn check_reply(request: &Request, reply: &Reply, cfg: &CheckConfig) -> Option<String> {
    match (request, reply) {
        (Request::Audit { .. } | Request::Attach { .. }, Reply::Talkgroups(t)) => {
            let missing: Vec<u32> = cfg
                .talkgroups
                .iter()
                .copied()
                .filter(|g| !t.contains(g))
                .collect();
            (!missing.is_empty()).then(|| {
                format!(
                    "the answer lists talkgroups {t:?}; {missing:?} missing (check `talkgroups`)"
                )
            })
        }
        _ => None,
    }
}

fn expectation(request: &Request, cfg: &CheckConfig, correlated: bool) -> Expect {
    let issi = cfg.issi;
    let by_ref = move |want: String, got: &str, ty: &str| {
        if got == want {
            Ok(())
        } else if correlated {
            Err(format!("a `{ty}` event that no request correlates with"))
        } else {
            Err(format!(
                "a `{ty}` event with reference `{got}`, not `{want}` (check `fields.ref`)"
            ))
        }
    };
    match request.clone() {
        Request::Attach { .. } => Expect::Event(
            "talkgroup.attached",
            Box::new(move |e| match e {
                Event::TalkgroupAttached { .. } => Ok(()),
                _ => Err(String::new()),
            }),
        ),
        Request::Register { .. } => Expect::Event(
            "terminal.registered",
            Box::new(move |e| match e {
                Event::TerminalRegistered { issi: i, .. } if *i == issi => Ok(()),
                _ => Err(String::new()),
            }),
        ),
        Request::Deregister { .. } => Expect::Event(
            "terminal.deregistered",
            Box::new(move |e| match e {
                Event::TerminalDeregistered { issi: i, .. } if *i == issi => Ok(()),
                _ => Err(String::new()),
            }),
        ),
        Request::Status { reference, .. } => Expect::Event(
            "status",
            Box::new(move |e| match e {
                Event::Status { reference: r, .. } => by_ref(reference.clone(), r, "status"),
                _ => Err(String::new()),
            }),
        ),
        Request::CallStart {
            kind, reference, ..
        } => {
            let ty = match kind {
                CallKind::Group => "call.started",
                CallKind::Emergency => "emergency.alert",
            };
            Expect::Event(
                ty,
                Box::new(move |e| match (e, kind) {
                    (Event::CallStarted { reference: r, .. }, CallKind::Group)
                    | (Event::EmergencyAlert { reference: r, .. }, CallKind::Emergency) => {
                        by_ref(reference.clone(), r, ty)
                    }
                    _ => Err(String::new()),
                }),
            )
        }
        Request::CallEnd { .. } => Expect::Event("call.ended", Box::new(|_| Err(String::new()))),
        _ => Expect::Nothing,
    }
}
