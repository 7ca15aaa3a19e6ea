//! The mock's connections: the accept loop, TLS (when configured), HTTP/1.1 and HTTP/2, and
//! the limits that keep a misbehaving client from holding the server: a cap on open
//! connections (more are closed at once), a bound on the TLS handshake, and a bound on
//! reading a request's headers, which also closes a keep-alive connection idle for as long
//! (a slow-loris client). Each cut is counted (`rcload_mock_connections_cut_total{reason}`).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::serve::Listener;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Bounds on what one client may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// A request's headers must arrive within this, and a keep-alive connection may idle
    /// this long between requests; then the connection is closed. Longer than rcload's own
    /// pool idle time (30 s), so its pooled connections are closed by rcload first. The TLS
    /// handshake has the same bound.
    pub header_timeout: Duration,
    /// Connections open at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(60),
            max_connections: 20_000,
        }
    }
}

/// Connection counts for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct ConnStats {
    pub open: AtomicUsize,
    pub header_timeouts: AtomicU64,
    pub tls_failures: AtomicU64,
    pub over_cap: AtomicU64,
}

impl ConnStats {
    /// `(reason, count)` of the connections cut.
    pub(crate) fn cuts(&self) -> [(&'static str, u64); 3] {
        [
            (
                "header_timeout",
                self.header_timeouts.load(Ordering::Relaxed),
            ),
            ("tls_handshake", self.tls_failures.load(Ordering::Relaxed)),
            ("connection_cap", self.over_cap.load(Ordering::Relaxed)),
        ]
    }
}

/// Counts an open connection until dropped.
struct OpenGuard(Arc<ConnStats>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `app` on every connection accepted until `signal` resolves; then stops accepting,
/// shuts every connection down gracefully (requests in progress are answered, idle ones are
/// closed) and returns once all are done. This is `axum::serve(..).with_graceful_shutdown(..)`
/// (same accept loop, same shutdown), but with HTTP/1 half-close allowed (a client that shuts
/// down its write half after its request still gets the answer), HTTP/2 (by ALPN over TLS, by
/// prior knowledge over plain TCP), TLS when `tls` is given, and [`ConnLimits`].
pub(crate) async fn serve_connections(
    mut listener: TcpListener,
    app: axum::Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnLimits,
    stats: Arc<ConnStats>,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    // Connections watch `signal_tx.closed()`: the receiver is dropped when `signal` resolves.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        signal.await;
        drop(signal_rx);
    });
    // Each connection holds a `close_rx` until it is done.
    let (close_tx, close_rx) = watch::channel(());
    loop {
        // axum's accept: retries at once on a connection error, after 1 s on any other.
        let (tcp, _remote) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = signal_tx.closed() => break,
        };
        if stats.open.load(Ordering::Relaxed) >= limits.max_connections {
            stats.over_cap.fetch_add(1, Ordering::Relaxed);
            drop(tcp);
            continue;
        }
        stats.open.fetch_add(1, Ordering::Relaxed);
        let guard = OpenGuard(Arc::clone(&stats));
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(app.clone());
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        let acceptor = acceptor.clone();
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            let _guard = guard;
            match acceptor {
                None => serve_one(tcp, service, limits, &stats, signal_tx).await,
                Some(a) => {
                    let handshake = tokio::time::timeout(limits.header_timeout, a.accept(tcp));
                    match handshake.await {
                        Ok(Ok(tls)) => serve_one(tls, service, limits, &stats, signal_tx).await,
                        Ok(Err(e)) => {
                            stats.tls_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(error = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            stats.tls_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!("TLS handshake timed out");
                        }
                    }
                }
            }
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
}

/// One connection, until it ends or the server shuts down (gracefully).
async fn serve_one<I>(
    io: I,
    service: TowerToHyperService<axum::Router>,
    limits: ConnLimits,
    stats: &ConnStats,
    signal_tx: watch::Sender<()>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .half_close(true)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let mut conn = pin!(conn);
    let mut signal_closed = pin!(signal_tx.closed());
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    if e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout) {
                        stats.header_timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                    tracing::trace!(error = %e, "connection ended with an error");
                }
                break;
            }
            () = &mut signal_closed, if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
