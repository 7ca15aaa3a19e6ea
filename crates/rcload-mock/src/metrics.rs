//! `GET /metrics`: the mock's state in the Prometheus text format (version 0.0.4), via
//! `prometheus-client`.
//!
//! Every value is read at scrape time from the model (`state.rs`) and the worker queue
//! (`capacity.rs`) into a fresh registry, so serving requests costs no metric bookkeeping
//! beyond a few counters. Names start with `rcload_mock_`. No token is needed. Like the rest of
//! the mock, this knows nothing of the load engine.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::capacity::QueueStats;
use super::fault_spec::FAULT_REASON;
use super::state::{MockState, ModelStats, SLOW_CONSUMER};
use rcload_api::Op;

type Labels = Vec<(&'static str, &'static str)>;

/// The handler.
pub(crate) async fn metrics(State(state): State<Arc<MockState>>) -> Response {
    let text = render(
        &state.queue_stats(),
        &state.model_stats(),
        &state.conn_stats(),
    );
    match text {
        Ok(body) => (
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not encode metrics",
        )
            .into_response(),
    }
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: usize) {
    let g: Gauge = Gauge::default();
    g.set(i64::try_from(value).unwrap_or(i64::MAX));
    registry.register(name, help, g);
}

fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let c: Counter = Counter::default();
    c.inc_by(value);
    registry.register(name, help, c);
}

/// A counter family with one label.
fn counter_by(
    registry: &mut Registry,
    name: &str,
    help: &str,
    label: &'static str,
    values: &[(&'static str, u64)],
) {
    let f: Family<Labels, Counter> = Family::default();
    for &(v, n) in values {
        f.get_or_create(&vec![(label, v)]).inc_by(n);
    }
    registry.register(name, help, f);
}

/// The connection gauge and counters.
fn register_conns(r: &mut Registry, c: &crate::conn::ConnStats) {
    gauge(
        r,
        "connections_open",
        "Client connections open",
        c.open.load(std::sync::atomic::Ordering::Relaxed),
    );
    counter_by(
        r,
        "connections_cut",
        "Client connections the mock closed: headers or the next request not read within the \
         header timeout (slow or idle), a failed or slow TLS handshake, over the connection cap",
        "reason",
        &c.cuts(),
    );
}

/// The whole exposition.
fn render(
    q: &QueueStats,
    m: &ModelStats,
    c: &crate::conn::ConnStats,
) -> Result<String, std::fmt::Error> {
    let mut r = Registry::with_prefix("rcload_mock");
    register_conns(&mut r, c);
    gauge(
        &mut r,
        "workers",
        "API workers serving requests",
        q.workers as usize,
    );
    gauge(
        &mut r,
        "queue_depth",
        "Requests waiting for an API worker",
        q.depth,
    );
    gauge(
        &mut r,
        "requests_in_service",
        "Requests an API worker is serving now",
        q.in_service,
    );
    // Requests and refusals per operation (every operation listed, even at 0).
    let per_op = |v: &[u64]| -> Vec<(&'static str, u64)> {
        Op::EVERY
            .iter()
            .enumerate()
            .map(|(i, op)| (op.name(), v.get(i).copied().unwrap_or(0)))
            .collect()
    };
    counter_by(
        &mut r,
        "requests",
        "API requests received, by operation (opening an event stream is console.events)",
        "op",
        &per_op(&q.requests),
    );
    counter_by(
        &mut r,
        "requests_rejected",
        "API requests answered 503 overloaded because the queue was full, by operation",
        "op",
        &per_op(&q.rejected),
    );
    let wait: Counter<f64, AtomicU64> = Counter::default();
    wait.inc_by(q.wait.as_secs_f64());
    r.register_with_unit(
        "queue_wait",
        "Time admitted requests spent waiting for an API worker",
        Unit::Seconds,
        wait,
    );
    gauge(
        &mut r,
        "console_queued_events_max",
        "Events waiting in the fullest console stream queue",
        m.queued_max,
    );
    gauge(
        &mut r,
        "console_queued_events",
        "Events waiting in all console stream queues together",
        m.queued_sum,
    );
    let c = &m.counters;
    counter(
        &mut r,
        "events_fanned_out",
        "Events queued on console streams by fan-out and attach (one per receiving stream)",
        c.fanned_out,
    );
    counter(
        &mut r,
        "events_dropped_on_overflow",
        "Events lost because a console stream queue was full (on_overflow kick or drop_talkgroups)",
        c.overflow_dropped,
    );
    counter_by(
        &mut r,
        "kicks",
        "Console streams closed with console.kicked, by reason",
        "reason",
        &[
            (SLOW_CONSUMER, c.kicks_slow_consumer),
            (FAULT_REASON, c.kicks_fault),
        ],
    );
    counter_by(
        &mut r,
        "talkgroup_drops",
        "Talkgroups removed from a console's monitored set by the mock, by reason",
        "reason",
        &[
            (SLOW_CONSUMER, c.drops_slow_consumer),
            (FAULT_REASON, c.drops_fault),
        ],
    );
    gauge(
        &mut r,
        "consoles_logged_in",
        "Consoles logged in",
        m.consoles,
    );
    gauge(
        &mut r,
        "terminals_registered",
        "Terminals registered",
        m.terminals,
    );
    gauge(&mut r, "calls_open", "Calls started and not ended", m.calls);
    gauge(
        &mut r,
        "streams_open",
        "Console event streams open",
        m.streams,
    );
    let mut out = String::new();
    prometheus_text::encode(&mut out, &r)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn names_help_and_values() {
        let q = QueueStats {
            workers: 4,
            depth: 3,
            in_service: 4,
            requests: (0..Op::EVERY.len() as u64).collect(),
            rejected: vec![0; Op::EVERY.len()],
            wait: Duration::from_millis(1500),
        };
        let mut m = ModelStats {
            consoles: 2,
            terminals: 5,
            calls: 3,
            streams: 2,
            queued_max: 7,
            queued_sum: 9,
            ..ModelStats::default()
        };
        m.counters.kicks_slow_consumer = 1;
        m.counters.drops_fault = 2;
        let text = render(&q, &m, &crate::conn::ConnStats::default()).unwrap();
        for line in [
            "# HELP rcload_mock_queue_depth Requests waiting for an API worker.",
            "# TYPE rcload_mock_queue_depth gauge",
            "rcload_mock_queue_depth 3",
            "rcload_mock_requests_in_service 4",
            "# TYPE rcload_mock_requests_total counter",
            "rcload_mock_requests_total{op=\"console.logout\"} 1",
            "rcload_mock_requests_rejected_total{op=\"call.end\"} 0",
            "rcload_mock_queue_wait_seconds_total 1.5",
            "rcload_mock_console_queued_events_max 7",
            "rcload_mock_console_queued_events 9",
            "rcload_mock_events_fanned_out_total 0",
            "rcload_mock_events_dropped_on_overflow_total 0",
            "rcload_mock_kicks_total{reason=\"slow_consumer\"} 1",
            "rcload_mock_talkgroup_drops_total{reason=\"fault\"} 2",
            "rcload_mock_consoles_logged_in 2",
            "rcload_mock_terminals_registered 5",
            "rcload_mock_streams_open 2",
            "rcload_mock_calls_open 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in\n{text}"
            );
        }
    }
}
