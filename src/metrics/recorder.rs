//! The recorder: one consumer of the outcome channel, aggregating as outcomes arrive.

use super::histogram;
use crate::engine::{Delivery, Outcome};
use crate::schedule::Op;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// What was measured for one operation (all phases, or one phase).
#[derive(Debug, Clone)]
pub struct OpStats {
    pub count: u64,
    pub ok: u64,
    pub errors: BTreeMap<&'static str, u64>,
    /// Intended time to response, µs.
    pub latency: Histogram<u64>,
    /// Sent to response, µs.
    pub service: Histogram<u64>,
}

impl Default for OpStats {
    fn default() -> Self {
        OpStats {
            count: 0,
            ok: 0,
            errors: BTreeMap::new(),
            latency: histogram(),
            service: histogram(),
        }
    }
}

impl OpStats {
    fn add(&mut self, latency_us: u64, service_us: u64, error: Option<&'static str>) {
        self.count += 1;
        match error {
            None => self.ok += 1,
            Some(class) => *self.errors.entry(class).or_insert(0) += 1,
        }
        super::record(&mut self.latency, latency_us);
        super::record(&mut self.service, service_us);
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// What was measured for one delivered event type.
#[derive(Debug, Clone)]
pub struct DeliveryStats {
    pub delivered: u64,
    pub missed: u64,
    /// From the sending action's intended time to receipt, µs.
    pub latency: Histogram<u64>,
}

impl Default for DeliveryStats {
    fn default() -> Self {
        DeliveryStats {
            delivered: 0,
            missed: 0,
            latency: histogram(),
        }
    }
}

/// A console whose stream ended without rcload logging it out.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamLoss {
    pub console: u32,
    pub at_us: u64,
    pub reason: String,
}

/// Aggregates of a run, built from outcomes.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub ops: BTreeMap<Op, OpStats>,
    /// Per phase index, per operation.
    pub phase_ops: Vec<BTreeMap<Op, OpStats>>,
    pub deliveries: BTreeMap<Delivery, DeliveryStats>,
    /// Intended to sent, µs, of every action sent.
    pub lateness: Histogram<u64>,
    pub skipped: BTreeMap<&'static str, u64>,
    pub throttled: u64,
    pub stream_losses: Vec<StreamLoss>,
}

impl Recorder {
    pub fn new(phases: usize) -> Self {
        Recorder {
            ops: BTreeMap::new(),
            phase_ops: vec![BTreeMap::new(); phases],
            deliveries: BTreeMap::new(),
            lateness: histogram(),
            skipped: BTreeMap::new(),
            throttled: 0,
            stream_losses: Vec::new(),
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
                ..
            } => {
                let class = error.map(|e| e.name());
                self.ops
                    .entry(*op)
                    .or_default()
                    .add(*latency_us, *service_us, class);
                if let Some(p) = self.phase_ops.get_mut(*phase) {
                    p.entry(*op)
                        .or_default()
                        .add(*latency_us, *service_us, class);
                }
                if *op != Op::ConsoleAttach {
                    super::record(&mut self.lateness, *lateness_us);
                }
            }
            Outcome::Skipped { reason, .. } => {
                *self.skipped.entry(reason.name()).or_insert(0) += 1;
            }
            Outcome::Throttled => self.throttled += 1,
            Outcome::Delivered {
                event, latency_us, ..
            } => {
                let d = self.deliveries.entry(*event).or_default();
                d.delivered += 1;
                super::record(&mut d.latency, *latency_us);
            }
            Outcome::Missed { event, .. } => {
                self.deliveries.entry(*event).or_default().missed += 1;
            }
            Outcome::StreamLost {
                console,
                at_us,
                reason,
            } => self.stream_losses.push(StreamLoss {
                console: *console,
                at_us: *at_us,
                reason: reason.clone(),
            }),
        }
    }

    /// Errors over all operations.
    pub fn total_errors(&self) -> u64 {
        self.ops.values().map(OpStats::error_count).sum()
    }

    /// Requests completed over all operations.
    pub fn total_ops(&self) -> u64 {
        self.ops.values().map(|s| s.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::ErrorClass;

    #[test]
    fn records_ops_errors_deliveries() {
        let mut r = Recorder::new(2);
        for i in 0..100u64 {
            r.record(&Outcome::Op {
                op: Op::TerminalStatus,
                phase: 1,
                intended_us: i,
                lateness_us: 10,
                latency_us: 1000 + i,
                service_us: 900,
                error: (i == 0).then_some(ErrorClass::Http5xx),
            });
        }
        r.record(&Outcome::Delivered {
            event: Delivery::Status,
            phase: 1,
            latency_us: 2000,
        });
        r.record(&Outcome::Missed {
            event: Delivery::Status,
            phase: 1,
            console: 3,
        });
        let s = &r.ops[&Op::TerminalStatus];
        assert_eq!((s.count, s.ok, s.errors["http_5xx"]), (100, 99, 1));
        assert_eq!(r.phase_ops[1][&Op::TerminalStatus].count, 100);
        assert_eq!(r.deliveries[&Delivery::Status].delivered, 1);
        assert_eq!(r.deliveries[&Delivery::Status].missed, 1);
        assert_eq!(r.total_errors(), 1);
        assert_eq!(r.lateness.len(), 100);
    }
}
