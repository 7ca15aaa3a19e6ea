//! Per-interval aggregation: what happened in one interval (one second by default), as
//! histograms by tag (for `latency.hlog`) and counts (for `timeseries.csv`). The run's
//! consumer feeds it outcomes and closes an interval at each tick.

use super::histogram;
use crate::detect::Finding;
use crate::engine::{Delivery, GaugeReading, Outcome};
use crate::metrics::row::{Cell, IntervalRow};
use hdrhistogram::Histogram;
use rcload_api::Op;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The hlog tag of a probe call's latency.
pub const PROBE_CALL: &str = "probe.call";
/// The hlog tag of a probe's deliveries.
pub const PROBE_DELIVERY: &str = "probe.delivery";
/// The hlog tag of the generator's lateness.
pub const LATENESS: &str = "generator.lateness";

/// The tag of a delivery type's latencies: `delivery.emergency.alert`.
pub fn delivery_tag(d: Delivery) -> String {
    format!("delivery.{}", d.name())
}

/// The tag of an operation's service times: `service.terminal.status`.
pub fn service_tag(op: Op) -> String {
    format!("service.{}", op.name())
}

/// The tags, made once: outcomes are recorded at the full request rate.
static SERVICE_TAGS: LazyLock<Vec<String>> =
    LazyLock::new(|| Op::ALL.iter().map(|o| service_tag(*o)).collect());
static DELIVERY_TAGS: LazyLock<Vec<String>> =
    LazyLock::new(|| Delivery::ALL.iter().map(|d| delivery_tag(*d)).collect());

fn service_tag_of(op: Op) -> &'static str {
    let i = Op::ALL.iter().position(|o| *o == op).unwrap_or(0);
    SERVICE_TAGS.get(i).map_or("service", String::as_str)
}

fn delivery_tag_of(d: Delivery) -> &'static str {
    let i = Delivery::ALL.iter().position(|x| *x == d).unwrap_or(0);
    DELIVERY_TAGS.get(i).map_or("delivery", String::as_str)
}

/// The per-operation and per-delivery-type keys of `timeseries.csv`, in column order: every
/// operation, every delivery type, then the probes. Fixed, so every run has the same columns.
pub fn cell_keys() -> Vec<String> {
    let mut keys: Vec<String> = Op::ALL.iter().map(|o| o.name().to_string()).collect();
    keys.extend(Delivery::ALL.iter().map(|d| delivery_tag(*d)));
    keys.push(PROBE_CALL.to_string());
    keys.push(PROBE_DELIVERY.to_string());
    keys
}

#[derive(Debug, Clone)]
struct Series {
    errors: u64,
    hist: Histogram<u64>,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            errors: 0,
            hist: histogram(),
        }
    }
}

impl Series {
    fn cell(&self) -> Cell {
        let h = &self.hist;
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return Cell {
                errors: self.errors,
                ..Cell::default()
            };
        }
        Cell {
            count: h.len(),
            errors: self.errors,
            p50_ms: ms(h.value_at_quantile(0.5)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// One closed interval: its row and its histograms by tag (only tags with samples).
#[derive(Debug)]
pub struct Closed {
    pub row: IntervalRow,
    pub hists: Vec<(String, Histogram<u64>)>,
}

/// The interval being filled.
#[derive(Debug, Default)]
pub struct IntervalRecorder {
    /// By hlog tag: operations, `service.<op>`, `delivery.<type>`, probes, lateness.
    series: BTreeMap<String, Series>,
    completed: u64,
    errors: u64,
    drops: u64,
    disconnects: u64,
    missed: u64,
    skipped: u64,
    throttled: u64,
    /// A phase whose requests go under their own tags, `teardown.<op>`, apart from the run's
    /// (the teardown: not the profile's load; summary.json keeps them apart too).
    apart: Option<usize>,
}

/// The hlog tag of a teardown request's latency: `teardown.console.logout`.
pub fn teardown_tag(op: &str) -> String {
    format!("{}.{op}", crate::profile::TEARDOWN)
}

impl IntervalRecorder {
    pub fn new() -> Self {
        IntervalRecorder::default()
    }

    /// Record phase `phase`'s requests under `teardown.<op>` only (no service time, no
    /// lateness, not in the row's counts).
    pub fn with_phase_apart(mut self, phase: Option<usize>) -> Self {
        self.apart = phase;
        self
    }

    /// The series of `tag`, made on first use in an interval (its name is allocated only
    /// then; this runs for every outcome). Always `Some`.
    fn series(&mut self, tag: &str) -> Option<&mut Series> {
        if !self.series.contains_key(tag) {
            self.series.insert(tag.to_string(), Series::default());
        }
        self.series.get_mut(tag)
    }

    fn add(&mut self, tag: &str, value_us: u64, error: bool) {
        if let Some(s) = self.series(tag) {
            super::record(&mut s.hist, value_us);
            s.errors += u64::from(error);
        }
    }

    fn add_error_only(&mut self, tag: &str) {
        if let Some(s) = self.series(tag) {
            s.errors += 1;
        }
    }

    pub fn record(&mut self, o: &Outcome) {
        match o {
            Outcome::Op {
                op,
                phase,
                lateness_us,
                latency_us,
                service_us,
                error,
                probe,
                ..
            } => {
                if self.apart == Some(*phase) {
                    self.add(&teardown_tag(op.name()), *latency_us, error.is_some());
                    return;
                }
                if lateness_us.is_some() {
                    self.completed += 1;
                }
                if let Some(l) = lateness_us {
                    self.add(LATENESS, *l, false);
                }
                if *probe {
                    if *op != Op::CallEnd {
                        self.add(PROBE_CALL, *latency_us, error.is_some());
                    }
                    return;
                }
                if error.is_some() {
                    self.errors += 1;
                }
                self.add(op.name(), *latency_us, error.is_some());
                self.add(service_tag_of(*op), *service_us, false);
            }
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Throttled => self.throttled += 1,
            Outcome::Delivered {
                event,
                latency_us,
                probe,
                ..
            } => {
                if *probe {
                    self.add(PROBE_DELIVERY, *latency_us, false);
                } else {
                    self.add(delivery_tag_of(*event), *latency_us, false);
                }
            }
            Outcome::Missed { event, probe, .. } => {
                self.missed += 1;
                if *probe {
                    self.add_error_only(PROBE_DELIVERY);
                } else {
                    self.add_error_only(delivery_tag_of(*event));
                }
            }
            Outcome::Finding(f) => match f {
                Finding::TalkgroupDrop { .. } => self.drops += 1,
                Finding::ConsoleDisconnect { .. } => self.disconnects += 1,
                _ => {}
            },
        }
    }

    /// Close the interval `[start_us, end_us)`: its row (gauges `now`, counters since
    /// `before`) and histograms; the recorder starts empty again.
    pub fn close(
        &mut self,
        start_us: u64,
        end_us: u64,
        phase: &str,
        before: &GaugeReading,
        now: &GaugeReading,
    ) -> Closed {
        let taken = std::mem::take(self);
        // The counts start again; what the recorder keeps apart stays apart.
        self.apart = taken.apart;
        let mut cells = BTreeMap::new();
        for key in cell_keys() {
            if let Some(s) = taken.series.get(&key) {
                cells.insert(key, s.cell());
            }
        }
        let row = IntervalRow {
            t_s: start_us as f64 / 1e6,
            dt_s: end_us.saturating_sub(start_us) as f64 / 1e6,
            phase: phase.to_string(),
            offered: now.due.saturating_sub(before.due),
            sent: now.sent.saturating_sub(before.sent),
            completed: taken.completed,
            in_flight: now.in_flight(),
            errors: taken.errors,
            consoles_logged_in: now.consoles_logged_in,
            terminals_registered: now.terminals_registered,
            drops: taken.drops,
            disconnects: taken.disconnects,
            missed: taken.missed,
            skipped: taken.skipped,
            throttled: taken.throttled,
            cells,
        };
        let hists = taken
            .series
            .into_iter()
            .filter(|(_, s)| !s.hist.is_empty())
            .map(|(k, s)| (k, s.hist))
            .collect();
        Closed { row, hists }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::ErrorClass;

    fn op(op: Op, latency_us: u64, error: Option<ErrorClass>, probe: bool) -> Outcome {
        Outcome::Op {
            op,
            phase: 0,
            intended_us: 0,
            lateness_us: Some(100),
            latency_us,
            service_us: latency_us / 2,
            error,
            probe,
        }
    }

    #[test]
    fn an_interval_counts_and_tags_what_happened_then_starts_empty() {
        let mut r = IntervalRecorder::new();
        for i in 0..100 {
            r.record(&op(Op::TerminalStatus, 1_000 + i * 10, None, false));
        }
        r.record(&op(
            Op::TerminalStatus,
            5_000,
            Some(ErrorClass::Http5xx),
            false,
        ));
        r.record(&op(Op::CallGroup, 2_000, None, true));
        r.record(&Outcome::Missed {
            event: Delivery::Status,
            phase: 0,
            console: 1,
            talkgroup: 2,
            at_us: 9,
            probe: false,
        });
        r.record(&Outcome::Delivered {
            console: 0,
            event: Delivery::Status,
            phase: 0,
            latency_us: 3_000,
            probe: false,
        });
        let before = GaugeReading::default();
        let now = GaugeReading {
            due: 110,
            sent: 105,
            done: 102,
            consoles_logged_in: 4,
            terminals_registered: 50,
        };
        let c = r.close(1_000_000, 2_000_000, "steady", &before, &now);
        let row = &c.row;
        assert_eq!((row.t_s, row.dt_s), (1.0, 1.0));
        assert_eq!((row.offered, row.sent, row.in_flight), (110, 105, 3));
        assert_eq!((row.completed, row.errors, row.missed), (102, 1, 1));
        let status = &row.cells["terminal.status"];
        assert_eq!((status.count, status.errors), (101, 1));
        assert!((status.max_ms - 5.0).abs() < 0.01);
        assert_eq!(row.cells["delivery.status"].count, 1);
        assert_eq!(row.cells["delivery.status"].errors, 1);
        assert_eq!(row.cells[PROBE_CALL].count, 1);
        let tags: Vec<&str> = c.hists.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            tags,
            [
                "delivery.status",
                "generator.lateness",
                "probe.call",
                "service.terminal.status",
                "terminal.status"
            ]
        );
        let next = r.close(2_000_000, 3_000_000, "steady", &now, &now);
        assert!(next.hists.is_empty() && next.row.cells.is_empty());
        assert_eq!((next.row.offered, next.row.completed), (0, 0));
    }

    #[test]
    fn the_teardown_has_its_own_tags_and_is_not_in_the_rows_counts() {
        let mut r = IntervalRecorder::new().with_phase_apart(Some(2));
        let mut logout = op(Op::ConsoleLogout, 4_000, None, false);
        if let Outcome::Op { phase, .. } = &mut logout {
            *phase = 2;
        }
        let g = GaugeReading::default();
        // An interval closed before: the recorder keeps the teardown apart after it too.
        assert!(r.close(0, 1_000_000, "steady", &g, &g).row.completed == 0);
        r.record(&logout);
        r.record(&op(Op::ConsoleLogout, 1_000, None, false));
        let c = r.close(1_000_000, 2_000_000, "steady", &g, &g);
        assert_eq!(c.row.completed, 1, "only the load's request");
        let tags: Vec<&str> = c.hists.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            tags,
            [
                "console.logout",
                "generator.lateness",
                "service.console.logout",
                "teardown.console.logout"
            ]
        );
    }
}
