//! The run's live state in Prometheus text format (`--metrics-listen ADDR`, prometheus-client),
//! a consumer of the engine's outcomes like the recorder: counters per operation and result,
//! latency histograms per operation and delivery type, deliveries, findings and skips; gauges
//! for requests in flight, consoles logged in, terminals registered, the current phase and the
//! run's elapsed time, read from the engine's gauges at each scrape.
//!
//! Counters only grow; a scrape never blocks the engine (the consumer holds no lock the
//! server needs for long).

use crate::detect::Finding;
use crate::engine::{Gauges, Outcome};
use crate::profile::Phase;
use crate::schedule::Schedule;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

type Labels = Vec<(&'static str, String)>;
type HistFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// Latency buckets, seconds: 0.5 ms to about 65 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

/// The metrics and the registry that serves them.
pub struct LiveMetrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: HistFamily,
    deliveries: Family<Labels, Counter>,
    delivery_latency: HistFamily,
    skipped: Family<Labels, Counter>,
    drops: Counter,
    disconnects: Counter,
    missed: Counter,
    in_flight: Gauge,
    consoles: Gauge,
    terminals: Gauge,
    phase: Family<Labels, Gauge>,
    elapsed: Gauge<f64, std::sync::atomic::AtomicU64>,
    gauges: Arc<Gauges>,
    phases: Vec<Phase>,
    t0: Instant,
}

impl LiveMetrics {
    pub fn new(gauges: Arc<Gauges>, phases: Vec<Phase>, t0: Instant) -> Self {
        let mut r = Registry::with_prefix("rcload");
        let requests = Family::<Labels, Counter>::default();
        r.register(
            "requests",
            "Requests completed, by operation and result (ok or error class)",
            requests.clone(),
        );
        let latency: HistFamily = Family::new_with_constructor(latency_histogram);
        r.register(
            "request_latency_seconds",
            "Latency from each action's intended time to its answer, by operation",
            latency.clone(),
        );
        let deliveries = Family::<Labels, Counter>::default();
        r.register(
            "deliveries",
            "Expected events, by type and result (delivered or missed)",
            deliveries.clone(),
        );
        let delivery_latency: HistFamily = Family::new_with_constructor(latency_histogram);
        r.register(
            "delivery_latency_seconds",
            "Latency from the sending action's intended time to receipt, by event type",
            delivery_latency.clone(),
        );
        let skipped = Family::<Labels, Counter>::default();
        r.register(
            "actions_skipped",
            "Due actions not sent, by reason",
            skipped.clone(),
        );
        let drops = Counter::default();
        r.register("talkgroup_drops", "Talkgroup drops found", drops.clone());
        let disconnects = Counter::default();
        r.register(
            "console_disconnects",
            "Console disconnects found",
            disconnects.clone(),
        );
        let missed = Counter::default();
        r.register(
            "missed_deliveries",
            "Expected events that did not arrive in time",
            missed.clone(),
        );
        let in_flight = Gauge::default();
        r.register("in_flight", "Requests in flight", in_flight.clone());
        let consoles = Gauge::default();
        r.register(
            "consoles_logged_in",
            "Consoles logged in (by rcload's view)",
            consoles.clone(),
        );
        let terminals = Gauge::default();
        r.register(
            "terminals_registered",
            "Terminals registered (by rcload's view)",
            terminals.clone(),
        );
        let phase = Family::<Labels, Gauge>::default();
        r.register(
            "phase",
            "1 for the phase the run is in (the latest-starting one), 0 for the others",
            phase.clone(),
        );
        let elapsed = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        r.register(
            "elapsed_seconds",
            "Time since the run's t=0",
            elapsed.clone(),
        );
        LiveMetrics {
            registry: r,
            requests,
            latency,
            deliveries,
            delivery_latency,
            skipped,
            drops,
            disconnects,
            missed,
            in_flight,
            consoles,
            terminals,
            phase,
            elapsed,
            gauges,
            phases,
            t0,
        }
    }

    /// Count one outcome.
    pub fn record(&self, o: &Outcome) {
        match o {
            Outcome::Op {
                op,
                latency_us,
                error,
                probe: false,
                ..
            } => {
                let result = error.map_or("ok", |e| e.name());
                self.requests
                    .get_or_create(&vec![("op", op.name().into()), ("result", result.into())])
                    .inc();
                self.latency
                    .get_or_create(&vec![("op", op.name().into())])
                    .observe(*latency_us as f64 / 1e6);
            }
            Outcome::Op { .. } | Outcome::Throttled | Outcome::Finding(_) => {
                if let Outcome::Finding(f) = o {
                    match f {
                        Finding::TalkgroupDrop { .. } => {
                            self.drops.inc();
                        }
                        Finding::ConsoleDisconnect { .. } => {
                            self.disconnects.inc();
                        }
                        _ => {}
                    }
                }
            }
            Outcome::Skipped { reason, .. } => {
                self.skipped
                    .get_or_create(&vec![("reason", reason.name().into())])
                    .inc();
            }
            Outcome::Delivered {
                event,
                latency_us,
                probe: false,
                ..
            } => {
                self.deliveries
                    .get_or_create(&vec![
                        ("type", event.name().into()),
                        ("result", "delivered".into()),
                    ])
                    .inc();
                self.delivery_latency
                    .get_or_create(&vec![("type", event.name().into())])
                    .observe(*latency_us as f64 / 1e6);
            }
            Outcome::Missed {
                event,
                probe: false,
                ..
            } => {
                self.missed.inc();
                self.deliveries
                    .get_or_create(&vec![
                        ("type", event.name().into()),
                        ("result", "missed".into()),
                    ])
                    .inc();
            }
            Outcome::Delivered { .. } | Outcome::Missed { .. } => {}
        }
    }

    /// The text of a scrape, with the gauges read now.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let g = self.gauges.read();
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.in_flight.set(clamp(g.in_flight()));
        self.consoles.set(clamp(g.consoles_logged_in));
        self.terminals.set(clamp(g.terminals_registered));
        let since = Instant::now().saturating_duration_since(self.t0);
        self.elapsed.set(since.as_secs_f64());
        let now_us = u64::try_from(since.as_micros()).unwrap_or(u64::MAX);
        let current = Schedule::phase_at(&self.phases, now_us);
        for (i, p) in self.phases.iter().enumerate() {
            self.phase
                .get_or_create(&vec![("phase", p.name.clone())])
                .set(i64::from(i == current && self.t0 <= Instant::now()));
        }
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Serve `live` at `http://ADDR/metrics` until the task is aborted.
pub async fn serve(
    listener: tokio::net::TcpListener,
    live: Arc<LiveMetrics>,
) -> std::io::Result<()> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let live = live.clone();
            async move {
                match live.render() {
                    Ok(body) => (
                        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
                        body,
                    )
                        .into_response(),
                    Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode").into_response(),
                }
            }
        }),
    );
    axum::serve(listener, app).await
}
