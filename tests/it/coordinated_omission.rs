//! Coordinated omission: a target that stalls for 1 s at t=5 s of a 10 s run at 100
//! actions/s. Latency from the intended time shows the stall (p99 >= 800 ms) while the median
//! stays low, and service time alone does not show it.

use crate::common;
use axum::Router;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use common::{TempDir, summary};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PROFILE: &str = "name: co-test
seed: 3
duration: 10s
population:
  control_rooms: 1
  consoles_per_room: 1
  terminals: 10
  talkgroups_per_room: 1
  monitored_per_console: 1
setup:
  over: 0s
traffic:
  - action: status
    rate: 100/s
    arrival: uniform
";

/// Answers every request at once, except those arriving in [5 s, 6 s) after the first one,
/// which wait until 6 s: the target "stalls for 1 s at t=5 s".
async fn stall_server() -> std::net::SocketAddr {
    let first: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let app = Router::new()
        // Reads of the state answer as API v1 does for what is not there: the pre-flight
        // finds nothing left over.
        .route(
            "/v1/consoles/{id}/talkgroups",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::CONFLICT,
                    axum::Json(serde_json::json!({"error": "not_logged_in", "message": "no"})),
                )
            }),
        )
        .route(
            "/v1/terminals/{issi}",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::NOT_FOUND,
                    axum::Json(serde_json::json!({"error": "not_registered", "message": "no"})),
                )
            }),
        )
        .route(
            "/v1/consoles/{id}/events",
            axum::routing::get(|| async {
                let s = futures::stream::pending::<Result<Event, std::convert::Infallible>>();
                Sse::new(s).keep_alive(KeepAlive::default())
            }),
        )
        .fallback(move || {
            let first = first.clone();
            async move {
                let t0 = *first
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert_with(Instant::now);
                let since = t0.elapsed();
                if since >= Duration::from_secs(5) && since < Duration::from_secs(6) {
                    tokio::time::sleep(Duration::from_secs(6) - since).await;
                }
                axum::Json(serde_json::json!({
                    "status": "ok", "console": "x", "operator": "y", "session": "s",
                    "talkgroups": [], "issi": 1, "talkgroup": 1, "call": "c1"
                }))
                .into_response()
            }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
async fn latency_from_intended_time_shows_a_stall_that_service_time_hides() {
    let addr = stall_server().await;
    let d = TempDir::new("co");
    d.write("p.yaml", PROFILE);
    let url = format!("http://{addr}");
    let dir = d.path().to_path_buf();
    // One request at a time, like a closed-loop client: the stall holds back the actions due
    // behind it, which is exactly what coordinated omission hides.
    let r = tokio::task::spawn_blocking(move || {
        common::rcload_in(
            &dir,
            &[
                "run",
                "p.yaml",
                "--target",
                &url,
                "--out",
                "out",
                "--max-in-flight",
                "1",
            ],
        )
    })
    .await
    .expect("join");
    let s = summary(&d.path().join("out"));
    let st = &s.operations["terminal.status"];
    eprintln!(
        "figures: count {}, latency p50 {} ms p99 {} ms, service p99 {} ms max {} ms, throttled {}",
        st.count,
        st.latency_ms.p50,
        st.latency_ms.p99,
        st.service_ms.p99,
        st.service_ms.max,
        s.generator.throttled
    );
    assert!(st.count >= 990, "{st:?}\n{r}");
    assert!(
        st.latency_ms.p99 >= 800.0,
        "latency p99 {}\n{r}",
        st.latency_ms.p99
    );
    assert!(
        st.latency_ms.p50 < 50.0,
        "latency p50 {}\n{r}",
        st.latency_ms.p50
    );
    assert!(
        st.service_ms.p99 < 100.0,
        "service p99 {}\n{r}",
        st.service_ms.p99
    );
    assert!(
        st.service_ms.max >= 900.0,
        "the one stalled request {}\n{r}",
        st.service_ms.max
    );
    // And the run says first that the generator could not keep to the schedule: invalid.
    assert!(s.generator.fell_behind, "{:?}\n{r}", s.generator);
    assert!(s.generator.throttled > 50, "{:?}", s.generator);
    assert_eq!(r.code, Some(4), "{r}");
    assert!(
        r.stdout
            .contains("verdict: INVALID: the generator fell behind"),
        "{r}"
    );
    assert!(
        s.verdict_reasons[0].starts_with("the generator fell behind"),
        "{r}"
    );
}
