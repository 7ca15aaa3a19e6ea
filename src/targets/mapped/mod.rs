//! A target driven by a mapping file (`--adapter FILE`, `docs/adapters.md`): each rcload
//! action becomes the HTTP request the file describes (method, path, headers and body from
//! minijinja templates), its answer is checked against the status codes that mean success, and
//! values are captured from it (JSON pointers) for later requests of the same console,
//! terminal or call. Events come over SSE, a WebSocket or polling and are read into rcload's
//! events by the file's pointers and type table; where the system does not echo rcload's
//! reference, they are matched by correlation (`correlate`).
//!
//! It knows nothing of metrics: token fetches are reported as [`OwnRequest`]s.

pub mod check;
pub mod compile;
pub mod correlate;
pub mod events;
pub mod pointer;
pub mod spec;
#[cfg(test)]
mod tests;

pub use compile::{AdapterError, Mapping, credentials, load, parse};

use super::auth::{Auth, Credentials};
use super::body::classify;
use super::{EventStream, OwnRequest, Reply, Request, Target, TargetError};
use compile::{CompiledAction, Tpl};
use correlate::{CorrKey, CorrKind, Correlator};
use futures::FutureExt;
use futures::future::BoxFuture;
use minijinja::Value as Jv;
use rcload_api::CallKind;
use rcload_api::Op;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use spec::Matching;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Values kept for later requests: name -> value.
type Vars = BTreeMap<String, Jv>;

/// What one request did, for `rcload adapter check`.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// `METHOD /path` as sent.
    pub request: String,
    pub status: Option<u16>,
    /// Captured values, as text.
    pub captured: Vec<(String, String)>,
}

#[derive(Default)]
struct Stores {
    consoles: HashMap<String, Vars>,
    terminals: HashMap<u32, Vars>,
    calls: HashMap<String, Vars>,
}

pub(crate) struct Inner {
    mapping: Mapping,
    client: reqwest::Client,
    /// Event channels (SSE, polling) have connections of their own, outside the cap.
    pub(crate) stream_client: reqwest::Client,
    pub(crate) cap: Option<Arc<crate::targets::conncap::ConnectionCap>>,
    base: String,
    timeout: Duration,
    auth: Arc<Auth>,
    stores: Mutex<Stores>,
    correlator: Mutex<Correlator>,
    clock: Instant,
    own_rx: Mutex<Option<mpsc::UnboundedReceiver<OwnRequest>>>,
    /// Status codes carry into correlation only when messages carry them.
    code_in_key: bool,
    /// The largest event message of a console's channel, bytes.
    pub(crate) max_event_bytes: usize,
    /// Pinned names (the WebSocket channel connects by itself).
    pub(crate) transport: crate::targets::transport::Transport,
}

/// The mapping-driven target.
#[derive(Clone)]
pub struct MappedTarget {
    inner: Arc<Inner>,
}

/// Why the target could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MappedSetupError {
    #[error("the target URL `{0}` must start with http:// or https://")]
    Scheme(String),
    #[error(transparent)]
    Auth(#[from] super::auth::AuthSetupError),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MappedTarget {
    pub fn new(
        mapping: Mapping,
        base_url: &str,
        timeout: Duration,
        credentials: &Credentials,
        transport: &crate::targets::transport::Transport,
    ) -> Result<Self, MappedSetupError> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(MappedSetupError::Scheme(base_url.to_string()));
        }
        let (client, stream_client) = transport
            .clients(&base, timeout, reqwest::header::HeaderMap::new())
            .map_err(MappedSetupError::Client)?;
        let cap = crate::targets::conncap::ConnectionCap::of(transport);
        let (own_tx, own_rx) = mpsc::unbounded_channel();
        let mut credentials = credentials.clone();
        if let Credentials::OAuth2(o) = &mut credentials
            && o.token_url.starts_with('/')
        {
            o.token_url = format!("{base}{}", o.token_url);
        }
        let auth = Auth::new(&credentials, client.clone(), cap.clone(), timeout, own_tx)?;
        let window_us = u64::try_from(mapping.events.window.as_micros()).unwrap_or(u64::MAX);
        let code_in_key = mapping.events.fields.code.is_some();
        Ok(MappedTarget {
            inner: Arc::new(Inner {
                mapping,
                client,
                stream_client,
                cap,
                base,
                timeout,
                auth,
                stores: Mutex::default(),
                correlator: Mutex::new(Correlator::new(window_us)),
                clock: Instant::now(),
                own_rx: Mutex::new(Some(own_rx)),
                code_in_key,
                max_event_bytes: crate::targets::body::DEFAULT_MAX_EVENT_BYTES,
                transport: transport.clone(),
            }),
        })
    }

    /// What one message of `console`'s event channel means (a WebSocket message or a polled
    /// item, as bytes): JSON, then the mapping's fields; `None` when it is not JSON. What the
    /// channels do with each message (the fuzzer drives it: `fuzz/`).
    pub fn decode_message(&self, console: &str, bytes: &[u8]) -> Option<events::Decoded> {
        let msg: Value = serde_json::from_slice(bytes).ok()?;
        Some(self.inner.decode(console, &msg, None, Instant::now()))
    }

    /// The largest event message of a console's channel, bytes (before the target is shared).
    pub fn with_max_event_bytes(mut self, max: usize) -> Self {
        if let Some(i) = Arc::get_mut(&mut self.inner) {
            i.max_event_bytes = max.max(1);
        }
        self
    }

    pub fn mapping(&self) -> &Mapping {
        &self.inner.mapping
    }

    /// The target's base URL.
    pub fn base(&self) -> &str {
        &self.inner.base
    }

    /// Perform `request`, recording what was sent and captured in `trace`.
    pub async fn perform_traced(
        &self,
        request: Request,
        trace: &mut Trace,
    ) -> Result<Reply, TargetError> {
        self.inner.perform(request, Some(trace)).await
    }

    /// The decoded events of a console's channel, with why messages were not used (for
    /// `rcload adapter check`).
    pub async fn open_traced(
        &self,
        console: &str,
        rejects: mpsc::UnboundedSender<String>,
    ) -> Result<EventStream, TargetError> {
        events::open(self.inner.clone(), console.to_string(), Some(rejects)).await
    }
}

/// The action of a request, and its variables.
fn describe(request: &Request) -> (Op, Vec<(&'static str, Jv)>) {
    match request {
        Request::Login { console, operator } => (
            Op::ConsoleLogin,
            vec![
                ("console", Jv::from(console.as_str())),
                ("operator", Jv::from(operator.as_str())),
            ],
        ),
        Request::Logout { console } => (
            Op::ConsoleLogout,
            vec![("console", Jv::from(console.as_str()))],
        ),
        Request::Attach {
            console,
            talkgroups,
        } => (
            Op::ConsoleAttach,
            vec![
                ("console", Jv::from(console.as_str())),
                ("talkgroups", Jv::from(talkgroups.clone())),
            ],
        ),
        Request::Audit { console } => (
            Op::ConsoleAudit,
            vec![("console", Jv::from(console.as_str()))],
        ),
        Request::Register { issi, talkgroup } => (
            Op::TerminalRegister,
            vec![
                ("issi", Jv::from(*issi)),
                ("talkgroup", Jv::from(*talkgroup)),
            ],
        ),
        Request::Deregister { issi } => (Op::TerminalDeregister, vec![("issi", Jv::from(*issi))]),
        Request::Affiliate { issi, talkgroup } => (
            Op::TerminalAffiliate,
            vec![
                ("issi", Jv::from(*issi)),
                ("talkgroup", Jv::from(*talkgroup)),
            ],
        ),
        Request::Status {
            issi,
            talkgroup,
            code,
            reference,
        } => (
            Op::TerminalStatus,
            vec![
                ("issi", Jv::from(*issi)),
                ("talkgroup", Jv::from(*talkgroup)),
                ("code", Jv::from(*code)),
                ("ref", Jv::from(reference.as_str())),
            ],
        ),
        Request::CallStart {
            kind,
            talkgroup,
            caller,
            reference,
        } => (
            match kind {
                CallKind::Group => Op::CallGroup,
                CallKind::Emergency => Op::CallEmergency,
            },
            vec![
                ("talkgroup", Jv::from(*talkgroup)),
                ("issi", Jv::from(*caller)),
                ("caller", Jv::from(*caller)),
                (
                    "kind",
                    Jv::from(match kind {
                        CallKind::Group => "group",
                        CallKind::Emergency => "emergency",
                    }),
                ),
                ("ref", Jv::from(reference.as_str())),
            ],
        ),
        Request::CallEnd { call } => (Op::CallEnd, vec![("call", Jv::from(call.as_str()))]),
    }
}

/// The key of the entity whose captures a request uses and keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entity {
    Console(String),
    Terminal(u32),
    Call(String),
    /// A new call: its key is known only from the answer.
    NewCall,
}

fn entity(request: &Request) -> Entity {
    match request {
        Request::Login { console, .. }
        | Request::Logout { console }
        | Request::Attach { console, .. }
        | Request::Audit { console } => Entity::Console(console.clone()),
        Request::Register { issi, .. }
        | Request::Deregister { issi }
        | Request::Affiliate { issi, .. }
        | Request::Status { issi, .. } => Entity::Terminal(*issi),
        Request::CallStart { .. } => Entity::NewCall,
        Request::CallEnd { call } => Entity::Call(call.clone()),
    }
}

/// A status code outside the success set is an error; a 2xx outside it is the system
/// answering in a way the mapping does not expect.
fn succeeded(status: StatusCode, success: &Option<Vec<u16>>) -> bool {
    match success {
        Some(s) => s.contains(&status.as_u16()),
        None => status.is_success(),
    }
}

impl Inner {
    fn now_us(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The variables of a request: its own, then those stored for its entity. `needs` are the
    /// captured values its templates use: a missing one is an error that names who captures it.
    fn context(
        &self,
        own: &[(&'static str, Jv)],
        entity: &Entity,
        needs: &[String],
    ) -> Result<Jv, TargetError> {
        let mut map: BTreeMap<String, Jv> = BTreeMap::new();
        {
            let stores = lock(&self.stores);
            let stored = match entity {
                Entity::Console(c) => stores.consoles.get(c),
                Entity::Terminal(t) => stores.terminals.get(t),
                Entity::Call(c) => stores.calls.get(c),
                Entity::NewCall => None,
            };
            if let Some(s) = stored {
                map.extend(s.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        for (k, v) in own {
            map.insert((*k).to_string(), v.clone());
        }
        if let Some(missing) = needs.iter().find(|n| !map.contains_key(*n)) {
            return Err(TargetError::Protocol(format!(
                "`{missing}` is not known: {} did not capture it for this {}",
                self.captured_by(missing),
                match entity {
                    Entity::Console(_) => "console",
                    Entity::Terminal(_) => "terminal",
                    _ => "call",
                }
            )));
        }
        Ok(Jv::from(map))
    }

    /// The actions that capture `name`, for messages.
    fn captured_by(&self, name: &str) -> String {
        let by: Vec<&str> = self
            .mapping
            .file
            .actions
            .iter()
            .filter(|(_, a)| a.capture.contains_key(name))
            .map(|(k, _)| k.as_str())
            .collect();
        if by.is_empty() {
            "no action".into()
        } else {
            by.join(" or ")
        }
    }

    /// Render a template of `action`.
    fn render(&self, action: &str, what: &str, t: &Tpl, ctx: &Jv) -> Result<String, TargetError> {
        t.render(&self.mapping.env, ctx)
            .map_err(|e| TargetError::Protocol(format!("{action}: {what}: {e}")))
    }

    /// Remember a correlatable request before it is sent (its event can come before its
    /// answer).
    fn note_for_correlation(&self, request: &Request) {
        if self.mapping.events.matching != Matching::Correlate {
            return;
        }
        let (key, reference) = match request {
            Request::Status {
                issi,
                talkgroup,
                code,
                reference,
            } => (
                CorrKey {
                    kind: CorrKind::Status,
                    talkgroup: *talkgroup,
                    party: *issi,
                    code: self.code_in_key.then_some(*code),
                },
                reference,
            ),
            Request::CallStart {
                kind,
                talkgroup,
                caller,
                reference,
            } => (
                CorrKey {
                    kind: match kind {
                        CallKind::Group => CorrKind::GroupCall,
                        CallKind::Emergency => CorrKind::Emergency,
                    },
                    talkgroup: *talkgroup,
                    party: *caller,
                    code: None,
                },
                reference,
            ),
            _ => return,
        };
        let now = self.now_us();
        lock(&self.correlator).sent(key, reference.clone(), now);
    }

    async fn perform(
        &self,
        request: Request,
        mut trace: Option<&mut Trace>,
    ) -> Result<Reply, TargetError> {
        let (op, own) = describe(&request);
        let Some(action) = self.mapping.action(op) else {
            return Err(TargetError::Protocol(format!(
                "{} is unsupported by the mapping",
                op.name()
            )));
        };
        let ent = entity(&request);
        let ctx = self.context(&own, &ent, &action.needs)?;
        let path = self.render(action.name, "path", &action.path, &ctx)?;
        let body = action
            .body
            .as_ref()
            .map(|b| self.render(action.name, "body", b, &ctx))
            .transpose()?;
        let mut headers = Vec::with_capacity(action.headers.len());
        for (name, t) in &action.headers {
            let v = self.render(action.name, "header", t, &ctx)?;
            let v = HeaderValue::from_str(&v).map_err(|_| {
                TargetError::Protocol(format!("{}: header {name}: not a valid value", action.name))
            })?;
            headers.push((name.clone(), v));
        }
        if let Some(t) = trace.as_deref_mut() {
            t.request = format!("{} {path}", action.method);
        }
        self.note_for_correlation(&request);
        let url = format!("{}{path}", self.base);
        let (status, bytes) = self.send(action, &url, &headers, body).await?;
        if let Some(t) = trace.as_deref_mut() {
            t.status = Some(status.as_u16());
        }
        if !succeeded(status, &action.success) {
            return Err(self.error(action, status, &bytes));
        }
        let answer = if action.capture.is_empty() && action.talkgroups.is_none() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                TargetError::Protocol(format!("{}: the answer is not JSON: {e}", action.name))
            })?
        };
        let mut captured: Vars = BTreeMap::new();
        for (name, ptr) in &action.capture {
            let Some(v) = pointer::one(&answer, ptr).filter(|v| !v.is_null()) else {
                return Err(TargetError::Protocol(format!(
                    "{}: capture `{name}`: nothing at `{ptr}` in the answer",
                    action.name
                )));
            };
            if let Some(t) = trace.as_deref_mut() {
                t.captured.push((
                    name.clone(),
                    pointer::as_text(v).unwrap_or_else(|| v.to_string()),
                ));
            }
            captured.insert(name.clone(), Jv::from(minijinja::value::Serde(v)));
        }
        let reply = self.reply(&request, action, &answer, &captured)?;
        self.keep(&request, ent, own, captured, &reply);
        Ok(reply)
    }

    /// Send, with the authentication header; a 401 with OAuth2 fetches a new token and
    /// retries once.
    async fn send(
        &self,
        action: &CompiledAction,
        url: &str,
        headers: &[(reqwest::header::HeaderName, HeaderValue)],
        body: Option<String>,
    ) -> Result<(StatusCode, bytes::Bytes), TargetError> {
        for attempt in 0..2 {
            let auth = self.auth.header().await?;
            // Held until the answer is read: the connection is busy until then.
            let _slot = crate::targets::conncap::slot(&self.cap, url).await;
            let mut rb = self
                .client
                .request(action.method.clone(), url)
                .timeout(self.timeout);
            for (k, v) in &self.mapping.static_headers {
                rb = rb.header(k, v);
            }
            if let Some((k, v)) = &auth {
                rb = rb.header(k, v.clone());
            }
            if body.is_some() && action.json_body {
                rb = rb.header(CONTENT_TYPE, "application/json");
            }
            for (k, v) in headers {
                rb = rb.header(k, v.clone());
            }
            if let Some(b) = &body {
                rb = rb.body(b.clone());
            }
            let resp = rb.send().await.map_err(classify)?;
            let status = resp.status();
            let bytes = crate::targets::body::read(
                resp,
                crate::targets::body::MAX_ANSWER_BYTES,
                self.timeout,
            )
            .await?;
            if status == StatusCode::UNAUTHORIZED
                && attempt == 0
                && self.auth.renews()
                && let Some((_, used)) = &auth
            {
                self.auth.refused(used);
                continue;
            }
            return Ok((status, bytes));
        }
        Err(TargetError::Protocol("unreachable retry".into()))
    }

    /// An error answer, read by the mapping's `errors`.
    pub(crate) fn error(
        &self,
        action: &CompiledAction,
        status: StatusCode,
        body: &[u8],
    ) -> TargetError {
        if status.is_success() {
            return TargetError::Protocol(format!(
                "{}: status {} is not one of the success codes {:?}",
                action.name,
                status.as_u16(),
                action.success.as_deref().unwrap_or_default()
            ));
        }
        self.error_answer(status, body)
    }

    /// An error answer (not 2xx) read by the mapping's `errors`: the system's code mapped to
    /// rcload's where the table says so.
    pub(crate) fn error_answer(&self, status: StatusCode, body: &[u8]) -> TargetError {
        let errors = &self.mapping.file.errors;
        let parsed = serde_json::from_slice::<Value>(body).ok();
        let code = parsed
            .as_ref()
            .zip(errors.code.as_deref())
            .and_then(|(v, p)| pointer::text(v, p))
            .map(|c| errors.codes.get(&c).cloned().unwrap_or(c));
        let message = parsed
            .as_ref()
            .zip(errors.message.as_deref())
            .and_then(|(v, p)| pointer::text(v, p))
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
        TargetError::Http {
            status: status.as_u16(),
            code,
            message,
        }
    }

    fn reply(
        &self,
        request: &Request,
        action: &CompiledAction,
        answer: &Value,
        captured: &Vars,
    ) -> Result<Reply, TargetError> {
        Ok(match request {
            Request::Attach { talkgroups, .. } => Reply::Talkgroups(match &action.talkgroups {
                Some(ptr) => talkgroups_at(answer, ptr, action.name)?,
                None => talkgroups.clone(),
            }),
            Request::Audit { .. } => match &action.talkgroups {
                Some(ptr) => Reply::Talkgroups(talkgroups_at(answer, ptr, action.name)?),
                None => Reply::Done,
            },
            Request::CallStart { reference, .. } => Reply::Call(
                captured
                    .get("call")
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .unwrap_or_else(|| reference.clone()),
            ),
            _ => Reply::Done,
        })
    }

    /// Keep what later requests of the entity need; forget an entity that ended.
    fn keep(
        &self,
        request: &Request,
        ent: Entity,
        own: Vec<(&'static str, Jv)>,
        captured: Vars,
        reply: &Reply,
    ) {
        let mut stores = lock(&self.stores);
        match (request, ent) {
            (Request::Logout { .. }, Entity::Console(c)) => {
                stores.consoles.remove(&c);
            }
            (Request::Deregister { .. }, Entity::Terminal(t)) => {
                stores.terminals.remove(&t);
            }
            (Request::CallEnd { .. }, Entity::Call(c)) => {
                stores.calls.remove(&c);
            }
            (Request::CallStart { .. }, Entity::NewCall) => {
                // Only a call that can be ended needs what it started with.
                if self.mapping.action(Op::CallEnd).is_some()
                    && let Reply::Call(id) = reply
                {
                    let mut vars: Vars = own.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                    vars.extend(captured);
                    stores.calls.insert(id.clone(), vars);
                }
            }
            (_, Entity::Console(c)) if !captured.is_empty() => {
                stores.consoles.entry(c).or_default().extend(captured);
            }
            (_, Entity::Terminal(t)) if !captured.is_empty() => {
                stores.terminals.entry(t).or_default().extend(captured);
            }
            _ => {}
        }
    }

    fn console_context(&self, console: &str, cursor: Option<&Jv>) -> Result<Jv, TargetError> {
        let mut own = vec![("console", Jv::from(console))];
        if let Some(c) = cursor {
            own.push(("cursor", c.clone()));
        }
        self.context(
            &own,
            &Entity::Console(console.to_string()),
            &self.mapping.events.needs,
        )
    }
}

fn talkgroups_at(answer: &Value, ptr: &str, action: &str) -> Result<Vec<u32>, TargetError> {
    let found = pointer::all(answer, ptr);
    if found.is_empty()
        && answer
            .pointer(ptr.split("/*").next().unwrap_or(""))
            .is_none()
    {
        return Err(TargetError::Protocol(format!(
            "{action}: talkgroups: nothing at `{ptr}` in the answer"
        )));
    }
    let mut out = Vec::with_capacity(found.len());
    for v in found {
        // A pointer to the list itself gives one array value.
        if let Value::Array(items) = v {
            out.extend(items.iter().filter_map(pointer::as_number));
        } else if let Some(n) = pointer::as_number(v) {
            out.push(n);
        }
    }
    Ok(out
        .into_iter()
        .filter_map(|n| u32::try_from(n).ok())
        .collect())
}

impl Target for MappedTarget {
    fn perform(&self, request: Request) -> BoxFuture<'_, Result<Reply, TargetError>> {
        self.inner.perform(request, None).boxed()
    }

    fn open_stream<'a>(
        &'a self,
        console: &'a str,
    ) -> BoxFuture<'a, Result<EventStream, TargetError>> {
        events::open(self.inner.clone(), console.to_string(), None).boxed()
    }

    fn health(&self) -> BoxFuture<'_, Result<(), TargetError>> {
        async move {
            let i = &self.inner;
            let (method, path, success) = match &i.mapping.file.health {
                Some(h) => (h.method.as_str(), h.path.as_str(), h.success.clone()),
                None => ("GET", "/healthz", None),
            };
            let method = reqwest::Method::from_bytes(method.as_bytes())
                .map_err(|_| TargetError::Protocol("health: bad method".into()))?;
            let url = format!("{}{path}", i.base);
            let mut rb = i.client.request(method, &url).timeout(i.timeout);
            let sent = async {
                if let Some((k, v)) = i.auth.header().await? {
                    rb = rb.header(k, v);
                }
                rb.send().await.map_err(classify)
            };
            let resp = match sent.await {
                Ok(r) => r,
                Err(e) => return Err(i.transport.explained(&url, i.timeout, e).await),
            };
            let status = resp.status();
            if succeeded(status, &success) {
                Ok(())
            } else {
                let b = crate::targets::body::read_error(resp, i.timeout).await;
                Err(super::http::http_error(status, &b))
            }
        }
        .boxed()
    }

    fn describe(&self) -> String {
        format!(
            "{} (adapter {})",
            self.inner.base, self.inner.mapping.file.name
        )
    }

    fn supports(&self, op: Op) -> bool {
        op == Op::AuthToken || self.inner.mapping.action(op).is_some()
    }

    fn connection_waits(&self) -> u64 {
        self.inner.cap.as_ref().map_or(0, |c| c.waits())
    }

    fn take_own_requests(&self) -> Option<mpsc::UnboundedReceiver<OwnRequest>> {
        lock(&self.inner.own_rx).take()
    }
}
