//! A console's event channel as the mapping describes it (SSE, WebSocket or polling), and the
//! reading of the system's messages into rcload's events: the type through the mapping's
//! table, the fields through its JSON pointers, the reference echoed or found by correlation.

use super::correlate::{CorrKey, CorrKind};
use super::pointer;
use super::spec::{Matching, Transport};
use super::{Inner, lock};
use crate::targets::body::classify;
use crate::targets::{Activity, EventStream, Received, TargetError, body, sse};
use futures::{StreamExt, stream};
use rcload_api::{CallKind, Event};
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Where messages that were not used are reported (`rcload adapter check`).
pub type Rejects = Option<mpsc::UnboundedSender<String>>;

/// What a message was.
#[derive(Debug)]
pub enum Decoded {
    Event(Received),
    /// A type the mapping does not map.
    Ignored,
    /// A mapped type whose fields could not be read.
    Bad(String),
}

fn field_u32(msg: &Value, ptr: Option<&String>) -> Option<u32> {
    ptr.and_then(|p| pointer::number(msg, p))
        .and_then(|n| u32::try_from(n).ok())
}

fn field_text(msg: &Value, ptr: Option<&String>) -> Option<String> {
    ptr.and_then(|p| pointer::text(msg, p))
}

impl Inner {
    /// Read one message of `console`'s channel. `sse_name` is the SSE event name.
    pub(crate) fn decode(
        &self,
        console: &str,
        msg: &Value,
        sse_name: Option<&str>,
        at: Instant,
    ) -> Decoded {
        let ev = &self.mapping.events;
        let name = match &ev.type_field {
            Some(p) => pointer::text(msg, p),
            None => sse_name.map(str::to_string),
        };
        let Some(name) = name else {
            return Decoded::Ignored;
        };
        let Some(ours) = ev.types.get(&name).copied() else {
            return Decoded::Ignored;
        };
        let f = &ev.fields;
        let need = |field: &str, v: Option<u32>| {
            v.ok_or_else(|| {
                format!(
                    "`{name}` message: no `{field}` at `{}`",
                    f.get(field).map(String::as_str).unwrap_or("?")
                )
            })
        };
        let talkgroup = field_u32(msg, f.talkgroup.as_ref());
        let issi = field_u32(msg, f.issi.as_ref());
        let caller = field_u32(msg, f.caller.as_ref());
        let call = field_text(msg, f.call.as_ref());
        let reason = field_text(msg, f.reason.as_ref()).unwrap_or_default();
        let code = field_u32(msg, f.code.as_ref()).and_then(|c| u16::try_from(c).ok());
        let reference = |kind: CorrKind, tg: u32, party: u32, code: Option<u16>| -> String {
            match ev.matching {
                Matching::Reference => field_text(msg, f.reference.as_ref()).unwrap_or_default(),
                Matching::Correlate => {
                    let key = CorrKey {
                        kind,
                        talkgroup: tg,
                        party,
                        code: if self.code_in_key { code } else { None },
                    };
                    lock(&self.correlator)
                        .received(&key, console, self.now_us())
                        .unwrap_or_default()
                }
            }
        };
        let event = (|| -> Result<Event, String> {
            Ok(match ours {
                "talkgroup.attached" => Event::TalkgroupAttached {
                    talkgroup: need("talkgroup", talkgroup)?,
                },
                "talkgroup.dropped" => Event::TalkgroupDropped {
                    talkgroup: need("talkgroup", talkgroup)?,
                    reason,
                },
                "call.started" | "emergency.alert" => {
                    let tg = need("talkgroup", talkgroup)?;
                    let caller = need("caller", caller)?;
                    let emergency = ours == "emergency.alert";
                    let kind = if emergency {
                        CorrKind::Emergency
                    } else {
                        CorrKind::GroupCall
                    };
                    let reference = reference(kind, tg, caller, None);
                    let call = call.unwrap_or_default();
                    if emergency {
                        Event::EmergencyAlert {
                            call,
                            talkgroup: tg,
                            caller,
                            reference,
                        }
                    } else {
                        Event::CallStarted {
                            call,
                            kind: CallKind::Group,
                            talkgroup: tg,
                            caller,
                            reference,
                        }
                    }
                }
                "call.ended" => Event::CallEnded {
                    call: call.ok_or_else(|| format!("`{name}` message: no `call`"))?,
                    talkgroup: talkgroup.unwrap_or(0),
                },
                "status" => {
                    let tg = need("talkgroup", talkgroup)?;
                    let issi = need("issi", issi)?;
                    Event::Status {
                        issi,
                        talkgroup: tg,
                        code: code.unwrap_or(0),
                        reference: reference(CorrKind::Status, tg, issi, code),
                    }
                }
                "terminal.registered" => Event::TerminalRegistered {
                    issi: need("issi", issi)?,
                    talkgroup: talkgroup.unwrap_or(0),
                },
                "terminal.deregistered" => Event::TerminalDeregistered {
                    issi: need("issi", issi)?,
                    talkgroup: talkgroup.unwrap_or(0),
                },
                "console.kicked" => Event::ConsoleKicked { reason },
                other => return Err(format!("`{other}` is not an rcload event")),
            })
        })();
        match event {
            Ok(event) => Decoded::Event(Received {
                event,
                server_ts_ms: f
                    .server_time_ms
                    .as_ref()
                    .and_then(|p| pointer::number(msg, p))
                    .unwrap_or(0),
                at,
            }),
            Err(reason) => Decoded::Bad(reason),
        }
    }

    /// Decode for a stream: events pass, the rest is reported to `rejects` and skipped.
    fn pass(
        &self,
        console: &str,
        msg: &Value,
        sse_name: Option<&str>,
        rejects: &Rejects,
    ) -> Option<Received> {
        match self.decode(console, msg, sse_name, Instant::now()) {
            Decoded::Event(r) => Some(r),
            Decoded::Ignored => None,
            Decoded::Bad(reason) => {
                tracing::debug!(%console, %reason, "event message not used");
                if let Some(r) = rejects {
                    let _ = r.send(reason);
                }
                None
            }
        }
    }

    /// The channel's URL for `console` (absolute).
    fn channel_url(
        &self,
        console: &str,
        cursor: Option<&minijinja::Value>,
    ) -> Result<String, TargetError> {
        let ctx = self.console_context(console, cursor)?;
        let url = self.render("events", "url", &self.mapping.events.url, &ctx)?;
        if !url.starts_with('/') {
            return Ok(url);
        }
        let base = match self.mapping.events.transport {
            Transport::Websocket => {
                if let Some(rest) = self.base.strip_prefix("https://") {
                    format!("wss://{rest}")
                } else if let Some(rest) = self.base.strip_prefix("http://") {
                    format!("ws://{rest}")
                } else {
                    self.base.clone()
                }
            }
            _ => self.base.clone(),
        };
        Ok(format!("{base}{url}"))
    }

    /// The channel's headers: the file's, authentication, the channel's own.
    async fn channel_headers(
        &self,
        console: &str,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, TargetError> {
        let mut out = Vec::new();
        for (k, v) in &self.mapping.static_headers {
            if let Ok(v) = HeaderValue::from_str(v) {
                out.push((k.clone(), v));
            }
        }
        if let Some(h) = self.auth.header().await? {
            out.push(h);
        }
        let ctx = self.console_context(console, None)?;
        for (k, t) in &self.mapping.events.headers {
            let v = self.render("events", "header", t, &ctx)?;
            let v = HeaderValue::from_str(&v)
                .map_err(|_| TargetError::Protocol(format!("events: header {k}: not valid")))?;
            out.push((k.clone(), v));
        }
        Ok(out)
    }
}

/// Open `console`'s channel.
pub(crate) async fn open(
    inner: Arc<Inner>,
    console: String,
    rejects: Rejects,
) -> Result<EventStream, TargetError> {
    match inner.mapping.events.transport {
        Transport::Sse => sse(inner, console, rejects).await,
        Transport::Websocket => websocket(inner, console, rejects).await,
        Transport::Poll => poll(inner, console, rejects).await,
    }
}

async fn sse(
    inner: Arc<Inner>,
    console: String,
    rejects: Rejects,
) -> Result<EventStream, TargetError> {
    let url = inner.channel_url(&console, None)?;
    let mut rb = inner
        .stream_client
        .get(url)
        .header("accept", "text/event-stream");
    for (k, v) in inner.channel_headers(&console).await? {
        rb = rb.header(k, v);
    }
    let resp = tokio::time::timeout(inner.timeout, rb.send())
        .await
        .map_err(|_| TargetError::Timeout)?
        .map_err(classify)?;
    let status = resp.status();
    if !status.is_success() {
        let bytes = body::read_error(resp, inner.timeout).await;
        return Err(inner.error_answer(status, &bytes));
    }
    let bytes = resp.bytes_stream();
    let max = inner.max_event_bytes;
    Ok(EventStream::new(move |activity| {
        sse::decode(bytes.inspect(move |_| activity.touch()), max)
            .filter_map(move |item| {
                let inner = inner.clone();
                let console = console.clone();
                let rejects = rejects.clone();
                async move {
                    match item {
                        Ok(ev) => {
                            let msg =
                                serde_json::from_str::<Value>(&ev.data).unwrap_or(Value::Null);
                            inner
                                .pass(&console, &msg, Some(&ev.event), &rejects)
                                .map(Ok)
                        }
                        Err(sse::StreamError::Transport(e)) => Some(Err(classify(e))),
                        Err(sse::StreamError::Event(e)) => {
                            Some(Err(TargetError::Protocol(format!("event stream: {e}"))))
                        }
                    }
                }
            })
            .boxed()
    }))
}

/// TLS for `wss://`, with the Mozilla roots (no system store needed).
fn ws_error(inner: &Inner, e: tokio_tungstenite::tungstenite::Error) -> TargetError {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Http(resp) => {
            let body = resp.body().clone().unwrap_or_default();
            inner.error_answer(resp.status(), &body)
        }
        E::Io(e) => TargetError::Connect(e.to_string()),
        other => TargetError::Protocol(format!("websocket: {other}")),
    }
}

async fn websocket(
    inner: Arc<Inner>,
    console: String,
    rejects: Rejects,
) -> Result<EventStream, TargetError> {
    let url = inner.channel_url(&console, None)?;
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| TargetError::Protocol(format!("events: url `{url}`: {e}")))?;
    for (k, v) in inner.channel_headers(&console).await? {
        req.headers_mut().insert(k, v);
    }
    let connector = if url.starts_with("wss://") {
        let tls = inner
            .transport
            .websocket_tls()
            .map_err(|e| TargetError::Protocol(format!("events: {e}")))?;
        Some(tokio_tungstenite::Connector::Rustls(tls))
    } else {
        None
    };
    // A message or frame over the event size limit ends the stream as a protocol error.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(inner.max_event_bytes))
        .max_frame_size(Some(inner.max_event_bytes));
    // The TCP connection is rcload's own (pins, --bind, the proxy's CONNECT tunnel); the
    // WebSocket client does TLS and the handshake on it.
    let connect = async {
        let tcp = inner
            .transport
            .open_tcp(&url)
            .await
            .map_err(tokio_tungstenite::tungstenite::Error::Io)?;
        tokio_tungstenite::client_async_tls_with_config(req, tcp, Some(config), connector).await
    };
    let (ws, _) = tokio::time::timeout(inner.timeout, connect)
        .await
        .map_err(|_| TargetError::Timeout)?
        .map_err(|e| ws_error(&inner, e))?;
    Ok(EventStream::new(move |activity: Activity| {
        stream::unfold(
            (ws, inner, console, rejects, activity),
            |(mut ws, inner, console, rejects, activity)| async move {
                loop {
                    let msg = match ws.next().await? {
                        Ok(m) => m,
                        Err(e) => {
                            let err = TargetError::Protocol(format!("websocket: {e}"));
                            return Some((Err(err), (ws, inner, console, rejects, activity)));
                        }
                    };
                    activity.touch();
                    let data: Option<Value> = match &msg {
                        Message::Text(t) => serde_json::from_str(t.as_str()).ok(),
                        Message::Binary(b) => serde_json::from_slice(b).ok(),
                        Message::Close(_) => return None,
                        _ => continue,
                    };
                    let Some(data) = data else {
                        if let Some(r) = &rejects {
                            let _ = r.send("a message that is not JSON".into());
                        }
                        continue;
                    };
                    if let Some(r) = inner.pass(&console, &data, None, &rejects) {
                        return Some((Ok(r), (ws, inner, console, rejects, activity)));
                    }
                }
            },
        )
        .boxed()
    }))
}

struct Poller {
    inner: Arc<Inner>,
    console: String,
    rejects: Rejects,
    cursor: minijinja::Value,
    pending: VecDeque<Received>,
    activity: Option<Activity>,
}

impl Poller {
    /// One poll: queue what it brought and move the cursor.
    async fn poll(&mut self) -> Result<(), TargetError> {
        let i = self.inner.clone();
        let url = i.channel_url(&self.console, Some(&self.cursor))?;
        let mut rb = i.stream_client.get(url).timeout(i.timeout);
        for (k, v) in i.channel_headers(&self.console).await? {
            rb = rb.header(k, v);
        }
        let resp = rb.send().await.map_err(classify)?;
        let status = resp.status();
        let bytes = body::read(
            resp,
            i.max_event_bytes.max(body::MAX_ANSWER_BYTES),
            i.timeout,
        )
        .await?;
        if !status.is_success() {
            return Err(i.error_answer(status, &bytes));
        }
        if let Some(a) = &self.activity {
            a.touch();
        }
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| TargetError::Protocol(format!("events: the answer is not JSON: {e}")))?;
        let items_ptr = i.mapping.events.items.as_deref().unwrap_or("");
        let Some(Value::Array(items)) = pointer::one(&answer, items_ptr) else {
            return Err(TargetError::Protocol(format!(
                "events: no list of messages at `{items_ptr}`"
            )));
        };
        for m in items {
            if let Some(r) = i.pass(&self.console, m, None, &self.rejects) {
                self.pending.push_back(r);
            }
        }
        if let Some(c) = i
            .mapping
            .events
            .cursor
            .as_deref()
            .and_then(|p| pointer::one(&answer, p))
        {
            self.cursor = minijinja::Value::from(minijinja::value::Serde(c));
        }
        Ok(())
    }
}

async fn poll(
    inner: Arc<Inner>,
    console: String,
    rejects: Rejects,
) -> Result<EventStream, TargetError> {
    let interval = inner.mapping.events.poll_interval;
    let mut p = Poller {
        inner,
        console,
        rejects,
        cursor: minijinja::Value::from(""),
        pending: VecDeque::new(),
        activity: None,
    };
    // The first poll opens the channel: its failure is the open's.
    p.poll().await?;
    Ok(EventStream::new(move |activity| {
        activity.touch();
        p.activity = Some(activity);
        stream::unfold(Some(p), move |state| async move {
            let mut p = state?;
            loop {
                if let Some(r) = p.pending.pop_front() {
                    return Some((Ok(r), Some(p)));
                }
                tokio::time::sleep(interval).await;
                if let Err(e) = p.poll().await {
                    // The error ends the stream.
                    return Some((Err(e), None));
                }
            }
        })
        .boxed()
    }))
}
