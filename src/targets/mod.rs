//! The target interface: the only way the engine reaches a radio-control system.
//!
//! A target performs one request at a time and opens a console's event stream. API v1 over
//! HTTP ([`http::HttpTarget`]) is the first implementation; vendor adapters go behind the same
//! trait without touching the scheduler, engine or metrics. Targets know nothing of metrics.

pub mod auth;
pub mod body;
pub mod conncap;
pub mod consent;
pub mod http;
pub mod mapped;
mod plain;
pub mod sse;
pub mod transport;
pub mod tunnel;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use rcload_api::{CallKind, Event};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// One request to the system under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Login {
        console: String,
        operator: String,
    },
    Logout {
        console: String,
    },
    Attach {
        console: String,
        talkgroups: Vec<u32>,
    },
    Audit {
        console: String,
    },
    Register {
        issi: u32,
        talkgroup: u32,
    },
    Deregister {
        issi: u32,
    },
    Affiliate {
        issi: u32,
        talkgroup: u32,
    },
    Status {
        issi: u32,
        /// The talkgroup the terminal is on (API v1 does not send it; adapters may).
        talkgroup: u32,
        code: u16,
        reference: String,
    },
    CallStart {
        kind: CallKind,
        talkgroup: u32,
        caller: u32,
        reference: String,
    },
    CallEnd {
        call: String,
    },
}

/// What a successful request returned that the engine needs later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Done,
    /// The call id the system gave a new call.
    Call(String),
    /// The talkgroups a console now monitors.
    Talkgroups(Vec<u32>),
}

/// Error classes as reported in results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    Connect,
    Timeout,
    Http4xx,
    Http5xx,
    Protocol,
}

impl ErrorClass {
    /// Every class, in the order declared.
    pub const ALL: [ErrorClass; 5] = [
        ErrorClass::Connect,
        ErrorClass::Timeout,
        ErrorClass::Http4xx,
        ErrorClass::Http5xx,
        ErrorClass::Protocol,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ErrorClass::Connect => "connect",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Http4xx => "http_4xx",
            ErrorClass::Http5xx => "http_5xx",
            ErrorClass::Protocol => "protocol",
        }
    }
}

/// Why a request or stream failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("timed out")]
    Timeout,
    #[error("HTTP {status}{}: {message}", .code.as_ref().map(|c| format!(" {c}")).unwrap_or_default())]
    Http {
        status: u16,
        /// The contract's error code, when the body had one.
        code: Option<String>,
        message: String,
    },
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl TargetError {
    pub fn class(&self) -> ErrorClass {
        match self {
            TargetError::Connect(_) => ErrorClass::Connect,
            TargetError::Timeout => ErrorClass::Timeout,
            TargetError::Http { status, .. } if *status >= 500 => ErrorClass::Http5xx,
            TargetError::Http { .. } => ErrorClass::Http4xx,
            TargetError::Protocol(_) => ErrorClass::Protocol,
        }
    }

    /// The contract's error code, if the system answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            TargetError::Http { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// An event received on a console's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub event: Event,
    /// The server's time stamp, unix ms.
    pub server_ts_ms: u64,
    /// When rcload received it.
    pub at: Instant,
}

/// A console's event stream: events until it ends (an `Err` item ends it too), and when bytes
/// last arrived (comments and pings included), so a silent stream can be told from a quiet one.
pub struct EventStream {
    pub events: BoxStream<'static, Result<Received, TargetError>>,
    activity: Arc<AtomicU64>,
    opened: Instant,
}

impl EventStream {
    /// A stream built by `make`, which must call [`Activity::touch`] whenever bytes arrive.
    pub fn new(
        make: impl FnOnce(Activity) -> BoxStream<'static, Result<Received, TargetError>>,
    ) -> Self {
        let activity = Arc::new(AtomicU64::new(0));
        let opened = Instant::now();
        let events = make(Activity {
            activity: activity.clone(),
            opened,
        });
        EventStream {
            events,
            activity,
            opened,
        }
    }

    /// Time since bytes last arrived (or since the stream opened).
    pub fn idle(&self) -> std::time::Duration {
        let last_ms = self.activity.load(Ordering::Relaxed);
        self.opened
            .elapsed()
            .saturating_sub(std::time::Duration::from_millis(last_ms))
    }
}

/// The writing side of an [`EventStream`]'s activity clock.
#[derive(Clone)]
pub struct Activity {
    activity: Arc<AtomicU64>,
    opened: Instant,
}

impl Activity {
    /// Bytes arrived now.
    pub fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.activity.store(ms, Ordering::Relaxed);
    }
}

/// A request a target made on its own (not one of the engine's), reported so the engine can
/// measure it: an OAuth2 token fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnRequest {
    pub op: rcload_api::Op,
    pub sent: Instant,
    pub took: std::time::Duration,
    pub error: Option<ErrorClass>,
}

/// A radio-control system under test.
pub trait Target: Send + Sync + 'static {
    /// Perform one request.
    fn perform(&self, request: Request) -> BoxFuture<'_, Result<Reply, TargetError>>;
    /// Open console `console`'s event stream; resolves once the stream is open.
    fn open_stream<'a>(
        &'a self,
        console: &'a str,
    ) -> BoxFuture<'a, Result<EventStream, TargetError>>;
    /// Is the system there at all? Used once before a run.
    fn health(&self) -> BoxFuture<'_, Result<(), TargetError>>;
    /// For results: where the target is (never with secrets).
    fn describe(&self) -> String;
    /// Does the system offer this operation? The engine skips actions it does not
    /// (`unsupported`) and says so in the results.
    fn supports(&self, _op: rcload_api::Op) -> bool {
        true
    }
    /// Is console `console` logged in, by the system's own account? `None`: the system
    /// cannot say, or did not answer as the contract says (API v1: `GET
    /// /v1/consoles/{id}/talkgroups`, 200 or 409 `not_logged_in`; a mapping file: unknown).
    /// A read for the pre-flight, outside the load.
    fn console_logged_in<'a>(&'a self, _console: &'a str) -> BoxFuture<'a, Option<bool>> {
        Box::pin(async { None })
    }
    /// Is terminal `issi` registered, by the system's own account? `None` as above (API v1:
    /// `GET /v1/terminals/{issi}`, 200 or 404 `not_registered`).
    fn terminal_registered(&self, _issi: u32) -> BoxFuture<'_, Option<bool>> {
        Box::pin(async { None })
    }
    /// The target's own requests (token fetches), once: the engine takes the receiver at the
    /// start of a run and records them.
    fn take_own_requests(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<OwnRequest>> {
        None
    }
    /// Requests so far that waited for a connection (`--max-connections-per-host`); the
    /// engine counts each as throttled.
    fn connection_waits(&self) -> u64 {
        0
    }
}
