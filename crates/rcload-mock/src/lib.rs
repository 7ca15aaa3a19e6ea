//! Built-in mock of a radio-control system serving the API v1 contract (`rcload_api`).
//!
//! It keeps consoles, terminals and calls in memory and fans events out to the consoles'
//! SSE streams. It is a stand-alone server: it knows nothing of the load engine, the schedule
//! or metrics, which drive it only over HTTP.
//!
//! It has a finite capacity, configured by a [`MockSpec`] (the `mock:` section of a profile,
//! or `rcload mock --config FILE`): its API is a queue served by a number of workers, each
//! operation takes a service time, fan-out and attach cost worker time, a full queue answers
//! 503, and each console stream has a bounded queue drained at the console's pace, with a
//! policy for events that do not fit.
//!
//! This module holds the public interface ([`MockConfig`], [`router`], [`spawn`], [`serve`]).
//! The configuration is in `spec`, the worker queue in `capacity`, the model and fan-out in
//! `state`, the handlers in `routes`, `GET /metrics` in `metrics`, validating extractors in
//! `extract`, the JSON errors in `error`, the event-stream body in `sse`, fault injection
//! (breaking on purpose at known times) in `faults`, the accept loop with its limits in `conn`
//! and TLS in `tls`.

mod capacity;
mod conn;
mod error;
mod extract;
mod fault_spec;
mod faults;
mod metrics;
mod routes;
mod spec;
mod sse;
mod state;
mod tls;
mod vendorx;

pub use conn::ConnLimits;
pub use fault_spec::{
    FAULT_REASON, FaultFile, FaultKind, FaultRecord, FaultSpec, Selector, check_faults,
    describe_problems, fault_operations, parse_fault_file,
};
pub use spec::{
    Capacity, DEFAULT_PRESET, DEFAULT_SERVICE, MockSpec, Overflow, PRESETS, ServiceTime,
    parse_mock_spec, presets,
};
pub use tls::{TlsSetupError, server_config};

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use fault_spec::FaultLog;
use faults::RequestFaults;
use state::MockState;

/// How long [`MockHandle::shutdown`] waits for connections to finish before aborting the
/// server task (only reached with a client that stopped reading).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The largest request body read (both dialects; axum's default, made explicit): a larger one
/// is refused with a 400 after this much was read.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The interface the mock serves over its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// rcload's API v1 (`docs/api.md`).
    #[default]
    ApiV1,
    /// A differently shaped vendor interface (`docs/mock.md`, "Dialect vendor-x"), for
    /// proving mapping-driven adapters.
    VendorX,
}

impl Dialect {
    pub fn name(&self) -> &'static str {
        match self {
            Dialect::ApiV1 => "api-v1",
            Dialect::VendorX => "vendor-x",
        }
    }
}

/// The OAuth2 client the vendor-x dialect accepts at its token endpoint.
#[derive(Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of each token issued.
    pub token_lifetime: Duration,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("token_lifetime", &self.token_lifetime)
            .finish()
    }
}

/// Configuration of the mock. The default is the healthy preset with no faults.
#[derive(Debug, Clone, Default)]
pub struct MockConfig {
    /// When set, every `/v1` request needs `Authorization: Bearer <token>` (the scheme in any
    /// case); when not, no request needs a token.
    pub token: Option<String>,
    /// Capacity, stream queues and faults (see `docs/mock.md`). [`serve`] and [`spawn`] refuse
    /// a spec with problems ([`MockSpec::check`]).
    pub spec: MockSpec,
    /// Seed of the random choices of faults (which consoles and talkgroups) and of the
    /// service-time draws.
    pub seed: u64,
    /// The fault clock's epoch: every fault time counts from it. `None`: the moment the server
    /// starts serving.
    pub fault_epoch: Option<Instant>,
    /// The interface served (API v1 by default).
    pub dialect: Dialect,
    /// vendor-x only: require OAuth2 client credentials (`None`: no authentication).
    pub oauth: Option<OAuthClient>,
    /// Serve TLS with this configuration ([`server_config`]); `None`: plain TCP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Bounds on what one client may hold.
    pub limits: ConnLimits,
}

/// The whole app with fresh in-memory state.
///
/// Open event streams of a bare router end only on logout or client disconnect; use
/// [`serve`] or [`spawn`] for a server that closes them on shutdown. Faults need a server
/// too: a bare router ignores `config.spec.faults`. A spec with problems is replaced by the
/// healthy preset (with a warning); [`serve`] and [`spawn`] refuse it instead.
pub fn router(config: MockConfig) -> axum::Router {
    if !config.spec.faults.is_empty() {
        tracing::warn!("a bare mock router ignores faults; use mock::serve or mock::spawn");
    }
    let capacity = config.spec.resolve().unwrap_or_else(|problems| {
        tracing::warn!(%problems, "invalid mock spec; using the healthy preset");
        Capacity::default()
    });
    app(&config, &capacity, None).0
}

/// The app and its state; with an epoch, the request faults of the config are installed.
fn app(
    config: &MockConfig,
    capacity: &Capacity,
    epoch: Option<Instant>,
) -> (axum::Router, Arc<MockState>) {
    let state = Arc::new(MockState::with_capacity(capacity, config.seed));
    let request_faults = epoch
        .and_then(|e| RequestFaults::new(&config.spec.faults, e))
        .map(Arc::new);
    let router = match config.dialect {
        Dialect::ApiV1 => routes::app(Arc::clone(&state), config.token.as_deref()),
        Dialect::VendorX => vendorx::app(
            Arc::clone(&state),
            config
                .oauth
                .clone()
                .map(|c| Arc::new(vendorx::Tokens::new(c))),
        ),
    };
    let router = router.layer(DefaultBodyLimit::max(BODY_LIMIT));
    let router = match request_faults {
        Some(f) => router.layer(axum::middleware::from_fn_with_state(f, faults::middleware)),
        None => router,
    };
    (router, state)
}

/// Resolves the spec, refusing one with problems (`InvalidInput`, one line per problem, e.g.
/// `faults[1].for: a stall needs `for``).
fn check_config(config: &MockConfig) -> io::Result<Capacity> {
    config.spec.resolve().map_err(|problems| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid mock configuration:\n{problems}"),
        )
    })
}

/// A mock server running on a tokio task.
///
/// Dropping the handle also stops the server (gracefully, without waiting for it).
#[derive(Debug)]
pub struct MockHandle {
    /// The address the server listens on.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
    faults: FaultLog,
}

impl MockHandle {
    /// What the faults fired so far did: one record per console/talkgroup affected, plus one
    /// per stall/errors/delay fault when it starts; in firing order.
    pub fn fault_log(&self) -> Vec<FaultRecord> {
        self.faults.snapshot()
    }

    /// Graceful stop: stops accepting, ends all open event streams and waits for the server
    /// task (at most a few seconds, then aborts it).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "mock server failed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "mock server task failed"),
            Err(_) => {
                tracing::warn!("mock server did not stop in time; aborting it");
                self.task.abort();
            }
        }
    }
}

/// Binds `addr` (e.g. 127.0.0.1:0), spawns the server on the current tokio runtime, returns at
/// once. Without `config.fault_epoch`, the fault clock starts now. Fails with `InvalidInput`
/// for a spec with problems.
pub async fn spawn(addr: SocketAddr, mut config: MockConfig) -> io::Result<MockHandle> {
    check_config(&config)?;
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    config.fault_epoch.get_or_insert_with(Instant::now);
    let (stop, stopped) = oneshot::channel::<()>();
    let log = FaultLog::default();
    let shutdown = async move {
        // Resolves on `shutdown()` and when the handle is dropped.
        let _ = stopped.await;
    };
    let task = tokio::spawn(serve_with_log(listener, config, shutdown, log.clone()));
    tracing::debug!(%addr, "mock listening");
    Ok(MockHandle {
        addr,
        stop: Some(stop),
        task,
        faults: log,
    })
}

/// Serves until `shutdown` resolves (used by `rcload mock --listen`). On shutdown it stops
/// accepting, ends every open event stream and returns once the connections are done.
/// Faults fire as configured (the fault clock starts now unless `config.fault_epoch` is
/// set); a spec with problems is refused with `InvalidInput`.
pub async fn serve(
    listener: TcpListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with_log(listener, config, shutdown, FaultLog::default()).await
}

async fn serve_with_log(
    listener: TcpListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    log: FaultLog,
) -> io::Result<()> {
    let capacity = check_config(&config)?;
    let epoch = config.fault_epoch.unwrap_or_else(Instant::now);
    let (app, state) = app(&config, &capacity, Some(epoch));
    // The firing task ends by itself on shutdown; the guard also stops it if this future is
    // dropped (an aborted server task).
    let _firing = (!config.spec.faults.is_empty()).then(|| {
        AbortOnDrop(tokio::spawn(faults::run(
            Arc::clone(&state),
            config.spec.faults.clone(),
            config.seed,
            epoch,
            log,
        )))
    });
    let stats = state.conn_stats();
    conn::serve_connections(
        listener,
        app,
        config.tls.clone(),
        config.limits,
        stats,
        async move {
            shutdown.await;
            state.shutdown();
        },
    )
    .await;
    Ok(())
}

/// Aborts a task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client that goes away is unregistered from the model without any event being sent.
    #[tokio::test]
    async fn disconnected_stream_is_forgotten() {
        let (app, state) = app(&MockConfig::default(), &Capacity::default(), None);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        let base = format!("http://{addr}/v1/consoles/c1");
        let login = client
            .post(format!("{base}/login"))
            .json(&serde_json::json!({"operator": "op"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let stream = client.get(format!("{base}/events")).send().await.unwrap();
        assert_eq!(stream.status(), 200);
        assert_eq!(state.stream_count("c1"), 1);
        drop(stream);
        let gone = tokio::time::timeout(Duration::from_secs(5), async {
            while state.stream_count("c1") != 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(
            gone.is_ok(),
            "stream still registered after the client left"
        );
        server.abort();
    }
}
