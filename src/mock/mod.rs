//! Built-in mock of a radio-control system serving the API v1 contract (`crate::api`).
//!
//! It keeps consoles, terminals and calls in memory and fans events out to the consoles'
//! SSE streams. It is a stand-alone server: it knows nothing of the load engine, the schedule
//! or metrics, which drive it only over HTTP.
//!
//! This module holds the public interface ([`MockConfig`], [`router`], [`spawn`], [`serve`]).
//! The model and fan-out are in `state`, the handlers in `routes`, validating extractors in
//! `extract`, the JSON errors in `error` and the event-stream body in `sse`.

mod error;
mod extract;
mod routes;
mod sse;
mod state;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use state::MockState;

/// How long [`MockHandle::shutdown`] waits for connections to finish before aborting the
/// server task (only reached with a client that stopped reading).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Configuration of the mock.
#[derive(Debug, Clone, Default)]
pub struct MockConfig {
    /// When set, every `/v1` request needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

/// The whole app with fresh in-memory state.
///
/// Open event streams of a bare router end only on logout or client disconnect; use
/// [`serve`] or [`spawn`] for a server that closes them on shutdown.
pub fn router(config: MockConfig) -> axum::Router {
    app(&config).0
}

fn app(config: &MockConfig) -> (axum::Router, Arc<MockState>) {
    let state = Arc::new(MockState::new());
    (
        routes::app(Arc::clone(&state), config.token.as_deref()),
        state,
    )
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
}

impl MockHandle {
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
/// once.
pub async fn spawn(addr: SocketAddr, config: MockConfig) -> io::Result<MockHandle> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, config, async move {
        // Resolves on `shutdown()` and when the handle is dropped.
        let _ = stopped.await;
    }));
    tracing::debug!(%addr, "mock listening");
    Ok(MockHandle {
        addr,
        stop: Some(stop),
        task,
    })
}

/// Serves until `shutdown` resolves (used by `rcload mock --listen`). On shutdown it stops
/// accepting, ends every open event stream and returns once the connections are done.
pub async fn serve(
    listener: TcpListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (app, state) = app(&config);
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            state.shutdown();
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client that goes away is unregistered from the model without any event being sent.
    #[tokio::test]
    async fn disconnected_stream_is_forgotten() {
        let (app, state) = app(&MockConfig::default());
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
