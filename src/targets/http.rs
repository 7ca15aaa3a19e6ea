//! API v1 over HTTP (reqwest with rustls): the contract in `docs/api.md`, client side.

use super::body::{self, classify};
use super::sse;
use super::{EventStream, Received, Reply, Request, Target, TargetError};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use rcload_api::{
    self as api, CallRequest, EventEnvelope, StatusRequest, TalkgroupRequest, Talkgroups,
};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};

/// Settings of the HTTP driver.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Base URL, e.g. `http://127.0.0.1:8080` (a path prefix is kept).
    pub base_url: String,
    /// Timeout of one request (not of event streams).
    pub timeout: Duration,
    /// Bearer token; never printed or written.
    pub token: Option<String>,
    /// The largest event of a console's stream, bytes; a larger one ends the stream as a
    /// protocol error.
    pub max_event_bytes: usize,
    /// Pinned names and the proxy.
    pub transport: super::transport::Transport,
}

/// API v1 over HTTP.
pub struct HttpTarget {
    client: reqwest::Client,
    /// Event streams have connections of their own, outside the per-host cap.
    stream_client: reqwest::Client,
    cap: Option<std::sync::Arc<super::conncap::ConnectionCap>>,
    /// For a TLS failure's cause (see [`super::transport::Transport::explained`]).
    transport: super::transport::Transport,
    base: String,
    /// `base` parsed once: a request's URL is a copy with its path set, so the host is not
    /// parsed again for every request.
    base_url: reqwest::Url,
    /// `base`'s own path (`/gw` of `http://host/gw`; empty for none), before every path.
    prefix: String,
    /// The Host header of every request over plain HTTP (HTTP/1.1), made once: hyper would
    /// format it again for each request. `None` over TLS, where HTTP/2 sends `:authority`.
    host: Option<HeaderValue>,
    timeout: Duration,
    max_event_bytes: usize,
    /// API v1's requests over plain HTTP/1.1 without a proxy: the run's hot path, without
    /// reqwest's layers. `None` over TLS, HTTP/2 or a proxy, and for a name that did not
    /// resolve at set-up (reqwest then says why, as before).
    plain: Option<super::plain::PlainHttp>,
    /// The base's host under `--max-connections-per-host`, found once.
    host_slots: Option<super::conncap::HostSlots>,
}

/// Why the driver could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    #[error("the target URL `{0}` must start with http:// or https://")]
    Scheme(String),
    #[error("the token contains characters not allowed in an HTTP header")]
    Token,
    #[error("the target URL `{0}` is not a valid URL: {1}")]
    Url(String, String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl HttpTarget {
    pub fn new(config: &HttpConfig) -> Result<Self, HttpSetupError> {
        let base = config.base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(HttpSetupError::Scheme(config.base_url.clone()));
        }
        let base_url = reqwest::Url::parse(&base)
            .map_err(|e| HttpSetupError::Url(config.base_url.clone(), e.to_string()))?;
        let prefix = base_url.path().trim_end_matches('/').to_string();
        let host = match (base_url.scheme(), base_url.host_str(), base_url.port()) {
            ("http", Some(h), Some(p)) => HeaderValue::from_str(&format!("{h}:{p}")).ok(),
            ("http", Some(h), None) => HeaderValue::from_str(h).ok(),
            _ => None,
        };
        let mut headers = HeaderMap::new();
        if let Some(t) = &config.token {
            let mut v =
                HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| HttpSetupError::Token)?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let (client, stream_client) = config
            .transport
            .clients(&base, config.timeout, headers)
            .map_err(HttpSetupError::Client)?;
        let plain =
            plain_config(config, &base_url, &host, &prefix).map(super::plain::PlainHttp::new);
        let cap = super::conncap::ConnectionCap::of(&config.transport);
        Ok(HttpTarget {
            client,
            stream_client,
            host_slots: cap.as_ref().map(|c| c.host(&base)),
            cap,
            transport: config.transport.clone(),
            base,
            base_url,
            prefix,
            host,
            timeout: config.timeout,
            max_event_bytes: config.max_event_bytes,
            plain,
        })
    }

    /// `path` under the base URL as text: how request URLs were made before `request_url`,
    /// which the tests compare it with.
    #[cfg(test)]
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The URL of `path` (which starts with `/`) under the base URL, without parsing the base
    /// again.
    fn request_url(&self, path: &str) -> reqwest::Url {
        let mut url = self.base_url.clone();
        if self.prefix.is_empty() {
            url.set_path(path);
        } else {
            let mut full = String::with_capacity(self.prefix.len() + path.len());
            full.push_str(&self.prefix);
            full.push_str(path);
            url.set_path(&full);
        }
        url
    }

    async fn call(
        &self,
        method: Method,
        path: String,
        body: Option<Vec<u8>>,
    ) -> Result<bytes::Bytes, TargetError> {
        if let Some(plain) = &self.plain {
            let _slot = match &self.host_slots {
                Some(h) => h.slot().await,
                None => None,
            };
            let answer = plain.send(method.as_str(), &path, body.as_deref()).await?;
            let status = StatusCode::from_u16(answer.status)
                .map_err(|_| TargetError::Protocol(format!("unexpected HTTP {}", answer.status)))?;
            return body_or_error(status, answer.body);
        }
        let url = self.request_url(&path);
        // Held until the answer is read: the connection is busy until then.
        let _slot = super::conncap::slot(&self.cap, url.as_str()).await;
        let mut request = reqwest::Request::new(method, url);
        // reqwest's timeout of a request runs until its body is read: one timer for both.
        *request.timeout_mut() = Some(self.timeout);
        if let Some(h) = &self.host {
            request.headers_mut().insert(HOST, h.clone());
        }
        if let Some(b) = body {
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            *request.body_mut() = Some(b.into());
        }
        let resp = self.client.execute(request).await.map_err(classify)?;
        let status = resp.status();
        let bytes = body::read_timed(resp, body::MAX_ANSWER_BYTES).await?;
        body_or_error(status, bytes)
    }

    async fn perform_inner(&self, request: Request) -> Result<Reply, TargetError> {
        match request {
            Request::Login { console, operator } => {
                let b = self
                    .call(
                        Method::POST,
                        format!("/v1/consoles/{console}/login"),
                        Some(json_body(&api::LoginRequest { operator })),
                    )
                    .await?;
                parse::<api::LoginResponse>(&b)?;
                Ok(Reply::Done)
            }
            Request::Logout { console } => {
                self.call(Method::POST, format!("/v1/consoles/{console}/logout"), None)
                    .await?;
                Ok(Reply::Done)
            }
            Request::Attach {
                console,
                talkgroups,
            } => {
                let b = self
                    .call(
                        Method::PUT,
                        format!("/v1/consoles/{console}/talkgroups"),
                        Some(json_body(&Talkgroups { talkgroups })),
                    )
                    .await?;
                Ok(Reply::Talkgroups(parse::<Talkgroups>(&b)?.talkgroups))
            }
            Request::Audit { console } => {
                let b = self
                    .call(
                        Method::GET,
                        format!("/v1/consoles/{console}/talkgroups"),
                        None,
                    )
                    .await?;
                Ok(Reply::Talkgroups(parse::<Talkgroups>(&b)?.talkgroups))
            }
            Request::Register { issi, talkgroup } => {
                let b = self
                    .call(
                        Method::POST,
                        format!("/v1/terminals/{issi}/register"),
                        Some(json_body(&TalkgroupRequest { talkgroup })),
                    )
                    .await?;
                parse::<api::TerminalResponse>(&b)?;
                Ok(Reply::Done)
            }
            Request::Deregister { issi } => {
                self.call(
                    Method::POST,
                    format!("/v1/terminals/{issi}/deregister"),
                    None,
                )
                .await?;
                Ok(Reply::Done)
            }
            Request::Affiliate { issi, talkgroup } => {
                self.call(
                    Method::POST,
                    format!("/v1/terminals/{issi}/affiliate"),
                    Some(json_body(&TalkgroupRequest { talkgroup })),
                )
                .await?;
                Ok(Reply::Done)
            }
            Request::Status {
                issi,
                code,
                reference,
                ..
            } => {
                self.call(
                    Method::POST,
                    format!("/v1/terminals/{issi}/status"),
                    Some(json_body(&StatusRequest { code, reference })),
                )
                .await?;
                Ok(Reply::Done)
            }
            Request::CallStart {
                kind,
                talkgroup,
                caller,
                reference,
            } => {
                let b = self
                    .call(
                        Method::POST,
                        "/v1/calls".to_string(),
                        Some(json_body(&CallRequest {
                            kind,
                            talkgroup,
                            caller,
                            reference,
                        })),
                    )
                    .await?;
                Ok(Reply::Call(parse::<api::CallResponse>(&b)?.call))
            }
            Request::CallEnd { call } => {
                self.call(Method::DELETE, format!("/v1/calls/{call}"), None)
                    .await?;
                Ok(Reply::Done)
            }
        }
    }

    async fn open_inner(&self, console: &str) -> Result<EventStream, TargetError> {
        let resp = self
            .stream_client
            .get(self.request_url(&format!("/v1/consoles/{console}/events")))
            .header("accept", "text/event-stream")
            .send();
        // Only the wait for the headers is bounded; the stream itself lives as long as it may.
        let resp = tokio::time::timeout(self.timeout, resp)
            .await
            .map_err(|_| TargetError::Timeout)?
            .map_err(classify)?;
        let status = resp.status();
        if !status.is_success() {
            // The error body is bounded like the headers: one that never comes must not
            // hold the console in stream-open.
            let bytes = body::read_error(resp, self.timeout).await;
            return Err(http_error(status, &bytes));
        }
        let bytes = resp.bytes_stream();
        let max = self.max_event_bytes;
        Ok(EventStream::new(move |activity| {
            sse::decode(bytes.inspect(move |_| activity.touch()), max)
                .filter_map(|item| async move {
                    match item {
                        Ok(ev) => {
                            let at = Instant::now();
                            match serde_json::from_str::<EventEnvelope>(&ev.data) {
                                Ok(env) => Some(Ok(Received {
                                    event: env.event,
                                    server_ts_ms: env.ts,
                                    at,
                                })),
                                // An event type this client does not know is skipped, not fatal.
                                Err(_) if !api_event_type(&ev.event) => None,
                                Err(e) => Some(Err(TargetError::Protocol(format!(
                                    "bad `{}` event: {e}",
                                    ev.event
                                )))),
                            }
                        }
                        Err(sse::StreamError::Transport(e)) => Some(Err(classify(e))),
                        Err(sse::StreamError::Event(e)) => {
                            Some(Err(TargetError::Protocol(format!("event stream: {e}"))))
                        }
                    }
                })
                .boxed()
        }))
    }
}

/// The settings of the plain HTTP/1.1 path, when `config` takes it: http://, no proxy, no
/// HTTP/2, and a host that resolves (pins first) at set-up.
fn plain_config(
    config: &HttpConfig,
    base_url: &reqwest::Url,
    host: &Option<HeaderValue>,
    prefix: &str,
) -> Option<super::plain::PlainConfig> {
    let t = &config.transport;
    if base_url.scheme() != "http" || t.proxy != super::transport::Proxy::None || t.http2 {
        return None;
    }
    let port = base_url.port_or_known_default()?;
    let name = base_url.host_str()?;
    let ips = t.addresses(name.trim_start_matches('[').trim_end_matches(']'), port);
    if ips.is_empty() {
        return None;
    }
    Some(super::plain::PlainConfig {
        addrs: ips
            .into_iter()
            .map(|ip| std::net::SocketAddr::new(ip, port))
            .collect(),
        bind: t.bind,
        host: host.as_ref()?.to_str().ok()?.to_string(),
        prefix: prefix.to_string(),
        authorization: config
            .token
            .as_ref()
            .map(|t| super::auth::Secret(format!("Bearer {t}"))),
        timeout: config.timeout,
        max_idle: t.max_per_host.unwrap_or(usize::MAX),
        idle_timeout: super::plain::IDLE_TIMEOUT,
        max_answer: body::MAX_ANSWER_BYTES,
    })
}

fn api_event_type(name: &str) -> bool {
    matches!(
        name,
        "talkgroup.attached"
            | "talkgroup.dropped"
            | "call.started"
            | "emergency.alert"
            | "call.ended"
            | "status"
            | "terminal.registered"
            | "terminal.deregistered"
            | "console.kicked"
    )
}

/// A request's JSON body, written straight from its type (no `serde_json::Value` between).
fn json_body<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // ok: the contract's request types are plain structs (string keys, no maps with other
    // keys), for which serde_json's writer to a Vec cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, TargetError> {
    serde_json::from_slice(b).map_err(|e| TargetError::Protocol(format!("unexpected answer: {e}")))
}

/// A success's body, or the error an answer of `status` says.
fn body_or_error(status: StatusCode, body: bytes::Bytes) -> Result<bytes::Bytes, TargetError> {
    if status.is_success() {
        Ok(body)
    } else {
        Err(http_error(status, &body))
    }
}

pub(crate) fn http_error(status: StatusCode, body: &[u8]) -> TargetError {
    if !(status.is_client_error() || status.is_server_error()) {
        // Neither success nor an error of the contract: a redirect (not followed) or worse.
        return TargetError::Protocol(format!(
            "unexpected HTTP {}{}",
            status.as_u16(),
            if status.is_redirection() {
                " (a redirect: rcload does not follow redirects)"
            } else {
                ""
            }
        ));
    }
    let parsed = serde_json::from_slice::<api::ErrorBody>(body).ok();
    TargetError::Http {
        status: status.as_u16(),
        code: parsed.as_ref().map(|e| e.error.clone()),
        message: parsed
            .map(|e| e.message)
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()),
    }
}

impl Target for HttpTarget {
    fn perform(&self, request: Request) -> BoxFuture<'_, Result<Reply, TargetError>> {
        self.perform_inner(request).boxed()
    }

    fn open_stream<'a>(
        &'a self,
        console: &'a str,
    ) -> BoxFuture<'a, Result<EventStream, TargetError>> {
        self.open_inner(console).boxed()
    }

    fn health(&self) -> BoxFuture<'_, Result<(), TargetError>> {
        async move {
            let url = self.request_url("/healthz");
            let resp = match self
                .client
                .get(url.clone())
                .timeout(self.timeout)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    let e = classify(e);
                    return Err(self
                        .transport
                        .explained(url.as_str(), self.timeout, e)
                        .await);
                }
            };
            let status = resp.status();
            if status.is_success() {
                Ok(())
            } else {
                let b = body::read_error(resp, self.timeout).await;
                Err(http_error(status, &b))
            }
        }
        .boxed()
    }

    fn describe(&self) -> String {
        self.base.clone()
    }

    fn connection_waits(&self) -> u64 {
        self.cap.as_ref().map_or(0, |c| c.waits())
    }

    fn console_logged_in<'a>(&'a self, console: &'a str) -> BoxFuture<'a, Option<bool>> {
        async move {
            let path = format!("/v1/consoles/{console}/talkgroups");
            presence(
                self.call(Method::GET, path, None).await,
                409,
                "not_logged_in",
            )
        }
        .boxed()
    }

    fn terminal_registered(&self, issi: u32) -> BoxFuture<'_, Option<bool>> {
        async move {
            let path = format!("/v1/terminals/{issi}");
            presence(
                self.call(Method::GET, path, None).await,
                404,
                "not_registered",
            )
        }
        .boxed()
    }
}

/// A read of an entity's state: a success says it is there, the contract's `absent` error
/// says it is not, anything else says nothing.
fn presence(answer: Result<bytes::Bytes, TargetError>, status: u16, absent: &str) -> Option<bool> {
    match answer {
        Ok(_) => Some(true),
        Err(TargetError::Http {
            status: s, code, ..
        }) if s == status && code.as_deref() == Some(absent) => Some(false),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(base: &str) -> HttpTarget {
        HttpTarget::new(&HttpConfig {
            base_url: base.to_string(),
            timeout: Duration::from_secs(1),
            token: None,
            max_event_bytes: 1 << 20,
            transport: Default::default(),
        })
        .unwrap_or_else(|e| panic!("{base}: {e}"))
    }

    #[test]
    fn a_request_url_is_the_base_with_its_path_and_the_base_path_kept() {
        for (base, path, want) in [
            (
                "http://127.0.0.1:8080",
                "/v1/x",
                "http://127.0.0.1:8080/v1/x",
            ),
            (
                "http://127.0.0.1:8080/",
                "/v1/x",
                "http://127.0.0.1:8080/v1/x",
            ),
            ("http://gw.test/rc/", "/v1/x", "http://gw.test/rc/v1/x"),
            (
                "https://gw.test:8443/a/b",
                "/v1/x",
                "https://gw.test:8443/a/b/v1/x",
            ),
        ] {
            let t = target(base);
            assert_eq!(t.request_url(path).as_str(), want, "{base}");
            // The same as the URL parsed whole, as before.
            assert_eq!(t.request_url(path).as_str(), t.url(path), "{base}");
        }
    }

    #[test]
    fn the_host_header_is_made_once_for_plain_http_only() {
        let host = |base: &str| {
            target(base)
                .host
                .map(|h| h.to_str().unwrap_or("?").to_string())
        };
        assert_eq!(
            host("http://127.0.0.1:8080").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(host("http://gw.test").as_deref(), Some("gw.test"));
        assert_eq!(host("http://gw.test:80/x").as_deref(), Some("gw.test"));
        assert_eq!(host("http://[::1]:9000").as_deref(), Some("[::1]:9000"));
        assert_eq!(host("https://gw.test:8443"), None);
    }

    #[test]
    fn plain_http_without_a_proxy_or_http2_takes_the_plain_path() {
        use crate::targets::transport::{Pin, Proxy, Transport};
        let with = |base: &str, transport: Transport| {
            HttpTarget::new(&HttpConfig {
                base_url: base.to_string(),
                timeout: Duration::from_secs(1),
                token: Some("s3cret".into()),
                max_event_bytes: 1 << 20,
                transport,
            })
            .map(|t| t.plain.is_some())
            .unwrap_or_else(|e| panic!("{base}: {e}"))
        };
        assert!(with("http://127.0.0.1:8080", Transport::default()));
        assert!(with("http://[::1]:8080/gw", Transport::default()));
        let pinned = Transport {
            pins: vec![Pin::parse("gw.test:8080:127.0.0.1").unwrap_or_else(|e| panic!("{e}"))],
            ..Transport::default()
        };
        assert!(with("http://gw.test:8080", pinned));
        assert!(!with("https://127.0.0.1:8443", Transport::default()));
        let proxied = Transport {
            proxy: Proxy::Url("http://127.0.0.1:3128".into()),
            ..Transport::default()
        };
        assert!(!with("http://127.0.0.1:8080", proxied));
        let h2 = Transport {
            http2: true,
            ..Transport::default()
        };
        assert!(!with("http://127.0.0.1:8080", h2));
    }

    #[test]
    fn a_base_that_is_not_a_url_is_refused_at_set_up() {
        let e = HttpTarget::new(&HttpConfig {
            base_url: "http://gw test:80".into(),
            timeout: Duration::from_secs(1),
            token: None,
            max_event_bytes: 1 << 20,
            transport: Default::default(),
        });
        assert!(matches!(e, Err(HttpSetupError::Url(..))), "{:?}", e.err());
    }
}
