//! The requests of API v1 over plain HTTP/1.1 straight to the target (no proxy, no TLS, no
//! HTTP/2): the hot path of a run, written for its cost. A request is written whole in one
//! write and its answer read in the request's own task, on a pooled keep-alive connection:
//! no URL is parsed, no header map built and no task woken besides the request's own.
//! Everything else (TLS, HTTP/2, proxies, event streams, the health check) goes through
//! reqwest, in `http.rs`.
//!
//! Connections: idle ones are kept (at most `--max-connections-per-host`, none longer than
//! 30 s idle: a burst's extra connections are closed once the load no longer needs them) and
//! the most recent is used first. One the target has closed while it was idle
//! is left when its end is seen before use. When the close crosses the request (a reused
//! connection ends without a byte of answer), an idempotent request (GET, PUT, DELETE) is
//! sent once more on a new connection; any other is a connect error, since the target may
//! have acted on it (Go's HTTP client does the same). Names resolve once, when the target is
//! set up (pins of `--resolve` apply), and addresses are tried in turn.

mod answer;

pub(crate) use answer::Answer;
use answer::{AnswerError, read_answer};
use bytes::BytesMut;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

use super::TargetError;

/// How long an idle connection is kept, by default.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how requests go.
#[derive(Debug, Clone)]
pub(crate) struct PlainConfig {
    /// The target's addresses, tried in turn for a new connection.
    pub addrs: Vec<SocketAddr>,
    /// The local address connections are made from.
    pub bind: Option<IpAddr>,
    /// The Host header.
    pub host: String,
    /// The base URL's path (`/gw` of `http://host/gw`; empty for none), before every path.
    pub prefix: String,
    /// The Authorization header's value (a secret: its `Debug` never shows it).
    pub authorization: Option<super::auth::Secret>,
    /// Of one request, from connecting to the last byte of its answer.
    pub timeout: Duration,
    /// The most idle connections kept.
    pub max_idle: usize,
    /// How long an idle connection is kept ([`IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// The largest answer body read, bytes.
    pub max_answer: usize,
}

/// A client of one target over plain HTTP/1.1.
pub(crate) struct PlainHttp {
    config: PlainConfig,
    /// Oldest first: the most recent is taken from the back, expired ones leave from the front.
    idle: Mutex<VecDeque<Idle>>,
}

impl std::fmt::Debug for PlainHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainHttp")
            .field("addrs", &self.config.addrs)
            .field("host", &self.config.host)
            .finish_non_exhaustive()
    }
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// A keep-alive connection and the buffer its answers are read into.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

impl From<AnswerError> for TargetError {
    fn from(e: AnswerError) -> Self {
        match e {
            AnswerError::Unanswered(_) | AnswerError::Cut(_) => TargetError::Connect(e.to_string()),
            AnswerError::Malformed(m) => TargetError::Protocol(m),
        }
    }
}

impl PlainHttp {
    pub(crate) fn new(config: PlainConfig) -> Self {
        PlainHttp {
            config,
            idle: Mutex::new(VecDeque::new()),
        }
    }

    /// Sends `method path` (the path under the base URL, starting with `/`) with `body` as
    /// JSON, and reads the answer, all within the timeout.
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Answer, TargetError> {
        let request = self.encode(method, path, body);
        let replayable = matches!(method, "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS");
        tokio::time::timeout(self.config.timeout, self.exchange(&request, replayable))
            .await
            .map_err(|_| TargetError::Timeout)?
    }

    async fn exchange(&self, request: &[u8], replayable: bool) -> Result<Answer, TargetError> {
        if let Some(mut conn) = self.checkout() {
            match conn.round_trip(request, self.config.max_answer).await {
                Ok(a) => return Ok(self.checkin(conn, a)),
                // The target closed it as the request went: once more, on a new one.
                Err(AnswerError::Unanswered(_)) if replayable => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut conn = self.connect().await?;
        let a = conn.round_trip(request, self.config.max_answer).await?;
        Ok(self.checkin(conn, a))
    }

    /// The request's bytes: head and body, for one write.
    fn encode(&self, method: &str, path: &str, body: Option<&[u8]>) -> Vec<u8> {
        let c = &self.config;
        let body_len = body.map_or(0, <[u8]>::len);
        let mut r = Vec::with_capacity(160 + c.host.len() + c.prefix.len() + path.len() + body_len);
        r.extend_from_slice(method.as_bytes());
        r.push(b' ');
        push_path(&mut r, &c.prefix);
        push_path(&mut r, path);
        r.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        r.extend_from_slice(c.host.as_bytes());
        r.extend_from_slice(b"\r\naccept: */*\r\n");
        if let Some(a) = &c.authorization {
            r.extend_from_slice(b"authorization: ");
            r.extend_from_slice(a.0.as_bytes());
            r.extend_from_slice(b"\r\n");
        }
        if body.is_some() {
            r.extend_from_slice(b"content-type: application/json\r\n");
        }
        if body.is_some() || method != "GET" {
            r.extend_from_slice(b"content-length: ");
            r.extend_from_slice(body_len.to_string().as_bytes());
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(b"\r\n");
        if let Some(b) = body {
            r.extend_from_slice(b);
        }
        r
    }

    /// The most recently used idle connection that is still open, if any.
    fn checkout(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(i) = idle.pop_back() {
            if i.since.elapsed() > self.config.idle_timeout {
                // The rest are older still.
                idle.clear();
                return None;
            }
            if i.conn.still_open() {
                return Some(i.conn);
            }
        }
        None
    }

    /// `conn` back to the pool when the answer leaves it usable and there is room; the answer.
    fn checkin(&self, conn: Conn, answer: Answer) -> Answer {
        if answer.reusable {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            // Connections not used for the idle time go, however many are in use.
            while idle
                .front()
                .is_some_and(|i| i.since.elapsed() > self.config.idle_timeout)
            {
                idle.pop_front();
            }
            if idle.len() < self.config.max_idle {
                idle.push_back(Idle {
                    conn,
                    since: Instant::now(),
                });
            }
        }
        answer
    }

    /// A new connection, to the first address that takes it.
    async fn connect(&self) -> Result<Conn, TargetError> {
        let mut last = String::from("the target's name resolves to no address");
        for addr in &self.config.addrs {
            match self.connect_to(*addr).await {
                Ok(stream) => {
                    return Ok(Conn {
                        stream,
                        buf: BytesMut::new(),
                    });
                }
                Err(e) => last = format!("tcp connect to {addr}: {e}"),
            }
        }
        Err(TargetError::Connect(last))
    }

    async fn connect_to(&self, addr: SocketAddr) -> std::io::Result<TcpStream> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(local) = self.config.bind {
            socket.bind(SocketAddr::new(local, 0))?;
        }
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

impl Conn {
    async fn round_trip(&mut self, request: &[u8], limit: usize) -> Result<Answer, AnswerError> {
        self.buf.clear();
        self.stream
            .write_all(request)
            .await
            .map_err(|e| AnswerError::Unanswered(e.to_string()))?;
        read_answer(&mut self.stream, &mut self.buf, limit).await
    }

    /// Whether an idle connection may carry a request: nothing arrived on it since its last
    /// answer (the end of a connection the target closed, or bytes nobody asked for). Costs
    /// a system call only when the runtime saw it readable.
    fn still_open(&self) -> bool {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        match self.stream.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            Poll::Ready(Ok(())) => matches!(
                self.stream.try_read(&mut [0u8; 1]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
            ),
        }
    }
}

/// `path` into a request line, with the bytes a URL path may not hold percent-encoded (as
/// reqwest's URL parser does).
fn push_path(r: &mut Vec<u8>, path: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = path.as_bytes();
    if bytes.iter().all(|b| PATH_BYTE[usize::from(*b)]) {
        r.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        if PATH_BYTE[usize::from(b)] {
            r.push(b);
        } else {
            r.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

/// The bytes a request's path holds as they are.
const PATH_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric();
        i += 1;
    }
    let other = b"-._~!$&'()*+,;=:@/%";
    let mut j = 0;
    while j < other.len() {
        t[other[j] as usize] = true;
        j += 1;
    }
    t
};

#[cfg(test)]
mod tests;
