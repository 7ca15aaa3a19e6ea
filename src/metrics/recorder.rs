//! The recorder: one consumer of the outcome channel, aggregating as outcomes arrive.

use super::{MergeHistError, add_counts, add_histogram, histogram};
use crate::detect::{DetectedBy, Finding};
use crate::engine::{Delivery, Outcome};
use hdrhistogram::Histogram;
use rcload_api::Op;
use std::collections::{BTreeMap, HashMap};

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

    /// Add `other`'s requests into these; `what` (the operation) names them in an error.
    pub fn merge(&mut self, other: &OpStats, what: &str) -> Result<(), MergeHistError> {
        self.count = self.count.saturating_add(other.count);
        self.ok = self.ok.saturating_add(other.ok);
        add_counts(&mut self.errors, &other.errors);
        add_histogram(&mut self.latency, &other.latency, || {
            format!("{what} latency")
        })?;
        add_histogram(&mut self.service, &other.service, || {
            format!("{what} service time")
        })
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

impl DeliveryStats {
    /// Add `other`'s deliveries into these; `what` (the event type or group) names them in an
    /// error.
    pub fn merge(&mut self, other: &DeliveryStats, what: &str) -> Result<(), MergeHistError> {
        self.delivered = self.delivered.saturating_add(other.delivered);
        self.missed = self.missed.saturating_add(other.missed);
        add_histogram(&mut self.latency, &other.latency, || {
            format!("{what} delivery latency")
        })
    }
}

/// A talkgroup drop, as found and (perhaps) recovered.
#[derive(Debug, Clone, PartialEq)]
pub struct DropRecord {
    pub console: u32,
    pub talkgroup: u32,
    pub detected_by: DetectedBy,
    pub at_us: u64,
    /// The last evidence that it still worked.
    pub last_ok_us: u64,
    pub recovered_after_us: Option<u64>,
}

/// A console disconnect, as found and (perhaps) recovered.
#[derive(Debug, Clone, PartialEq)]
pub struct DisconnectRecord {
    pub console: u32,
    pub reason: String,
    pub at_us: u64,
    /// The last evidence that its stream still worked.
    pub last_ok_us: u64,
    pub recovered_after_us: Option<u64>,
}

/// A talkgroup an audit found listed that the console had not attached.
#[derive(Debug, Clone, PartialEq)]
pub struct UnexpectedRecord {
    pub console: u32,
    pub talkgroup: u32,
    pub at_us: u64,
}

/// Missed deliveries: how many, and when (for per-phase counts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MissedCounts {
    pub total: u64,
    /// Per phase index.
    pub per_phase: BTreeMap<usize, u64>,
}

/// The probes rcload added: their calls and deliveries, apart from the profile's traffic.
#[derive(Debug, Clone, Default)]
pub struct ProbeStats {
    pub calls: OpStats,
    pub deliveries: DeliveryStats,
}

/// Aggregates of a run, built from outcomes.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub ops: BTreeMap<Op, OpStats>,
    /// Per phase index, per operation.
    pub phase_ops: Vec<BTreeMap<Op, OpStats>>,
    pub deliveries: BTreeMap<Delivery, DeliveryStats>,
    /// Per phase index (of the sending action), per delivered event type (probes apart).
    pub phase_deliveries: Vec<BTreeMap<Delivery, DeliveryStats>>,
    /// Intended to sent, µs, of every action sent.
    pub lateness: Histogram<u64>,
    pub skipped: BTreeMap<&'static str, u64>,
    pub throttled: u64,
    pub probes: ProbeStats,
    pub drops: Vec<DropRecord>,
    pub disconnects: Vec<DisconnectRecord>,
    pub unexpected: Vec<UnexpectedRecord>,
    /// All missed deliveries, probes included.
    pub missed: MissedCounts,
    /// Finding id -> (is a drop, index into `drops` or `disconnects`).
    open: HashMap<u64, (bool, usize)>,
    /// A phase whose requests are kept apart from the whole run's figures and lateness (the
    /// teardown: not the profile's load).
    apart: Option<usize>,
    /// Deliveries per control room and discipline, when the population is known.
    pub groups: Option<super::groups::Groups>,
}

impl Recorder {
    pub fn new(phases: usize) -> Self {
        Recorder {
            ops: BTreeMap::new(),
            phase_ops: vec![BTreeMap::new(); phases],
            deliveries: BTreeMap::new(),
            phase_deliveries: vec![BTreeMap::new(); phases],
            lateness: histogram(),
            skipped: BTreeMap::new(),
            throttled: 0,
            probes: ProbeStats::default(),
            drops: Vec::new(),
            disconnects: Vec::new(),
            unexpected: Vec::new(),
            missed: MissedCounts::default(),
            open: HashMap::new(),
            apart: None,
            groups: None,
        }
    }

    /// Keep deliveries per control room and discipline too.
    pub fn with_groups(mut self, groups: super::groups::Groups) -> Self {
        self.groups = Some(groups);
        self
    }

    /// Keep phase `phase`'s requests out of the whole run's figures and lateness (they are
    /// in that phase's figures only).
    pub fn with_phase_apart(mut self, phase: Option<usize>) -> Self {
        self.apart = phase;
        self
    }

    /// The phase kept apart from the whole run's figures (the teardown), if any.
    pub fn apart(&self) -> Option<usize> {
        self.apart
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
                let class = error.map(|e| e.name());
                if self.apart == Some(*phase) {
                    if let Some(p) = self.phase_ops.get_mut(*phase) {
                        p.entry(*op)
                            .or_default()
                            .add(*latency_us, *service_us, class);
                    }
                    return;
                }
                if *probe {
                    if *op != Op::CallEnd {
                        self.probes.calls.add(*latency_us, *service_us, class);
                    }
                } else {
                    self.ops
                        .entry(*op)
                        .or_default()
                        .add(*latency_us, *service_us, class);
                    if let Some(p) = self.phase_ops.get_mut(*phase) {
                        p.entry(*op)
                            .or_default()
                            .add(*latency_us, *service_us, class);
                    }
                }
                if let Some(l) = lateness_us {
                    super::record(&mut self.lateness, *l);
                }
            }
            Outcome::Skipped { reason, .. } => {
                *self.skipped.entry(reason.name()).or_insert(0) += 1;
            }
            Outcome::Throttled => self.throttled += 1,
            Outcome::Delivered {
                event,
                latency_us,
                probe,
                phase,
                console,
            } => {
                if !*probe && let Some(g) = &mut self.groups {
                    g.delivered(*console, *event, *latency_us);
                }
                if !*probe && let Some(p) = self.phase_deliveries.get_mut(*phase) {
                    let d = p.entry(*event).or_default();
                    d.delivered += 1;
                    super::record(&mut d.latency, *latency_us);
                }
                let d = if *probe {
                    &mut self.probes.deliveries
                } else {
                    self.deliveries.entry(*event).or_default()
                };
                d.delivered += 1;
                super::record(&mut d.latency, *latency_us);
            }
            Outcome::Missed {
                event,
                phase,
                probe,
                console,
                ..
            } => {
                if *probe {
                    self.probes.deliveries.missed += 1;
                } else {
                    if let Some(g) = &mut self.groups {
                        g.missed(*console, *event);
                    }
                    self.deliveries.entry(*event).or_default().missed += 1;
                    if let Some(p) = self.phase_deliveries.get_mut(*phase) {
                        p.entry(*event).or_default().missed += 1;
                    }
                }
                self.missed.total += 1;
                *self.missed.per_phase.entry(*phase).or_insert(0) += 1;
            }
            Outcome::Finding(f) => self.finding(f),
        }
    }

    fn finding(&mut self, f: &Finding) {
        match f {
            Finding::TalkgroupDrop {
                id,
                console,
                talkgroup,
                detected_by,
                at_us,
                last_ok_us,
            } => {
                self.open.insert(*id, (true, self.drops.len()));
                self.drops.push(DropRecord {
                    console: *console,
                    talkgroup: *talkgroup,
                    detected_by: *detected_by,
                    at_us: *at_us,
                    last_ok_us: *last_ok_us,
                    recovered_after_us: None,
                });
            }
            Finding::ConsoleDisconnect {
                id,
                console,
                reason,
                at_us,
                last_ok_us,
            } => {
                self.open.insert(*id, (false, self.disconnects.len()));
                self.disconnects.push(DisconnectRecord {
                    console: *console,
                    reason: reason.clone(),
                    at_us: *at_us,
                    last_ok_us: *last_ok_us,
                    recovered_after_us: None,
                });
            }
            Finding::TalkgroupUnexpected {
                console,
                talkgroup,
                at_us,
            } => self.unexpected.push(UnexpectedRecord {
                console: *console,
                talkgroup: *talkgroup,
                at_us: *at_us,
            }),
            Finding::Recovered { id, after_us, .. } => match self.open.remove(id) {
                Some((true, i)) => {
                    if let Some(d) = self.drops.get_mut(i) {
                        d.recovered_after_us = Some(*after_us);
                    }
                }
                Some((false, i)) => {
                    if let Some(d) = self.disconnects.get_mut(i) {
                        d.recovered_after_us = Some(*after_us);
                    }
                }
                None => {}
            },
        }
    }

    /// Seconds each console spent disconnected, up to `end_us` for those never recovered.
    pub fn downtime_us(&self, end_us: u64) -> BTreeMap<u32, u64> {
        let mut out = BTreeMap::new();
        for d in &self.disconnects {
            let t = d
                .recovered_after_us
                .unwrap_or_else(|| end_us.saturating_sub(d.at_us));
            *out.entry(d.console).or_insert(0) += t;
        }
        out
    }

    /// Errors over all operations.
    pub fn total_errors(&self) -> u64 {
        self.ops.values().map(OpStats::error_count).sum()
    }

    /// Requests completed over all operations.
    pub fn total_ops(&self) -> u64 {
        self.ops.values().map(|s| s.count).sum()
    }

    /// Add `other`'s aggregates into these, exactly (histograms add count by count), as if one
    /// recorder had seen both's outcomes: how `rcload merge` puts the shards of one test
    /// together. Findings end up sorted by time (then console, then talkgroup or reason), so
    /// the result does not depend on the order the parts are added in; phases go to the longer
    /// of the two lists. The phase kept apart and the groups are taken from `other` when this
    /// one has none (an empty recorder can start the sum). Findings still open here can no
    /// longer be recovered: a merged recorder is for reporting. An error leaves nothing added,
    /// unless a histogram could not grow (then discard `self`).
    pub fn merge(&mut self, other: &Recorder) -> Result<(), MergeHistError> {
        let apart = match (self.apart, other.apart) {
            (Some(ours), Some(theirs)) if ours != theirs => {
                return Err(MergeHistError::Apart { ours, theirs });
            }
            (ours, theirs) => ours.or(theirs),
        };
        self.merge_groups(other)?;
        self.apart = apart;
        merge_ops(&mut self.ops, &other.ops)?;
        grow(&mut self.phase_ops, other.phase_ops.len());
        for (mine, theirs) in self.phase_ops.iter_mut().zip(&other.phase_ops) {
            merge_ops(mine, theirs)?;
        }
        merge_deliveries(&mut self.deliveries, &other.deliveries)?;
        grow(&mut self.phase_deliveries, other.phase_deliveries.len());
        for (mine, theirs) in self
            .phase_deliveries
            .iter_mut()
            .zip(&other.phase_deliveries)
        {
            merge_deliveries(mine, theirs)?;
        }
        add_histogram(&mut self.lateness, &other.lateness, || "lateness".into())?;
        add_counts(&mut self.skipped, &other.skipped);
        self.throttled = self.throttled.saturating_add(other.throttled);
        self.probes.calls.merge(&other.probes.calls, "probe.call")?;
        let probe_deliveries = &other.probes.deliveries;
        self.probes.deliveries.merge(probe_deliveries, "probe")?;
        self.missed.total = self.missed.total.saturating_add(other.missed.total);
        add_counts(&mut self.missed.per_phase, &other.missed.per_phase);
        self.merge_findings(other);
        Ok(())
    }

    /// Add `other`'s groups into these. One side without groups is fine only when it has no
    /// deliveries to split: otherwise the groups would no longer add up to the totals.
    fn merge_groups(&mut self, other: &Recorder) -> Result<(), MergeHistError> {
        let one_sided = || {
            MergeHistError::Groups(
                "only one of the two kept them, and the other has deliveries".into(),
            )
        };
        let Some(theirs) = &other.groups else {
            if self.groups.is_some() && other.has_deliveries() {
                return Err(one_sided());
            }
            return Ok(());
        };
        if let Some(mine) = &mut self.groups {
            return mine.merge(theirs);
        }
        if self.has_deliveries() {
            return Err(one_sided());
        }
        self.groups = Some(theirs.clone());
        Ok(())
    }

    /// Whether any of the profile's deliveries (probes apart) was delivered or missed.
    fn has_deliveries(&self) -> bool {
        self.deliveries
            .values()
            .any(|d| d.delivered > 0 || d.missed > 0)
    }

    /// Append `other`'s findings and sort each list; the open ones' indices no longer hold.
    fn merge_findings(&mut self, other: &Recorder) {
        self.open.clear();
        self.drops.extend(other.drops.iter().cloned());
        self.drops.sort_by_key(|d| {
            let when = (d.at_us, d.console, d.talkgroup, d.last_ok_us);
            (when, d.detected_by, d.recovered_after_us)
        });
        self.disconnects.extend(other.disconnects.iter().cloned());
        self.disconnects
            .sort_by(|a, b| disconnect_key(a).cmp(&disconnect_key(b)));
        self.unexpected.extend(other.unexpected.iter().cloned());
        self.unexpected
            .sort_by_key(|u| (u.at_us, u.console, u.talkgroup));
    }
}

/// The order of disconnects in a merged recorder: by time, console, then reason.
fn disconnect_key(d: &DisconnectRecord) -> (u64, u32, &str, u64, Option<u64>) {
    let reason = d.reason.as_str();
    (
        d.at_us,
        d.console,
        reason,
        d.last_ok_us,
        d.recovered_after_us,
    )
}

/// Add each operation's figures of `from` into `into`.
fn merge_ops(
    into: &mut BTreeMap<Op, OpStats>,
    from: &BTreeMap<Op, OpStats>,
) -> Result<(), MergeHistError> {
    for (op, s) in from {
        into.entry(*op).or_default().merge(s, op.name())?;
    }
    Ok(())
}

/// Add each event type's deliveries of `from` into `into`.
fn merge_deliveries(
    into: &mut BTreeMap<Delivery, DeliveryStats>,
    from: &BTreeMap<Delivery, DeliveryStats>,
) -> Result<(), MergeHistError> {
    for (event, d) in from {
        into.entry(*event).or_default().merge(d, event.name())?;
    }
    Ok(())
}

/// Lengthen a list of phases to `len` phases, empty ones added.
fn grow<T: Default>(phases: &mut Vec<T>, len: usize) {
    if phases.len() < len {
        phases.resize_with(len, T::default);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::ErrorClass;

    #[test]
    fn records_ops_errors_deliveries() {
        let mut r = Recorder::new(2);
        for i in 0..100u64 {
            r.record(&Outcome::Op {
                op: Op::TerminalStatus,
                phase: 1,
                intended_us: i,
                lateness_us: Some(10),
                latency_us: 1000 + i,
                service_us: 900,
                error: (i == 0).then_some(ErrorClass::Http5xx),
                probe: false,
            });
        }
        r.record(&Outcome::Delivered {
            console: 0,
            event: Delivery::Status,
            phase: 1,
            latency_us: 2000,
            probe: false,
        });
        r.record(&Outcome::Missed {
            event: Delivery::Status,
            phase: 1,
            console: 3,
            talkgroup: 100_001,
            at_us: 5,
            probe: false,
        });
        let s = &r.ops[&Op::TerminalStatus];
        assert_eq!((s.count, s.ok, s.errors["http_5xx"]), (100, 99, 1));
        assert_eq!(r.phase_ops[1][&Op::TerminalStatus].count, 100);
        assert_eq!(r.deliveries[&Delivery::Status].delivered, 1);
        assert_eq!(r.deliveries[&Delivery::Status].missed, 1);
        assert_eq!(r.total_errors(), 1);
        assert_eq!(r.lateness.len(), 100);
        assert_eq!(r.missed.total, 1);
    }

    #[test]
    fn the_teardown_is_its_own_phase_and_not_in_the_whole_run() {
        let mut r = Recorder::new(3).with_phase_apart(Some(2));
        for (phase, error) in [(1, None), (2, Some(ErrorClass::Http4xx)), (2, None)] {
            r.record(&Outcome::Op {
                op: Op::ConsoleLogout,
                phase,
                intended_us: 0,
                lateness_us: Some(900_000),
                latency_us: 5_000,
                service_us: 5_000,
                error,
                probe: false,
            });
        }
        assert_eq!(r.ops[&Op::ConsoleLogout].count, 1);
        assert_eq!(
            r.total_errors(),
            0,
            "the teardown's failed logout is its phase's"
        );
        assert_eq!(
            r.lateness.len(),
            1,
            "a teardown request is not scheduled: no lateness"
        );
        let teardown = &r.phase_ops[2][&Op::ConsoleLogout];
        assert_eq!((teardown.count, teardown.error_count()), (2, 1));
    }

    #[test]
    fn findings_and_their_recovery() {
        let mut r = Recorder::new(2);
        r.record(&Outcome::Finding(Finding::ConsoleDisconnect {
            id: 1,
            console: 2,
            reason: "stream_end".into(),
            at_us: 1_000,
            last_ok_us: 800,
        }));
        r.record(&Outcome::Finding(Finding::TalkgroupDrop {
            id: 2,
            console: 2,
            talkgroup: 7,
            detected_by: DetectedBy::Audit,
            at_us: 2_000,
            last_ok_us: 1_000,
        }));
        r.record(&Outcome::Finding(Finding::Recovered {
            id: 1,
            console: 2,
            talkgroup: None,
            at_us: 1_500,
            after_us: 500,
        }));
        assert_eq!(r.disconnects[0].recovered_after_us, Some(500));
        assert_eq!(r.drops[0].recovered_after_us, None);
        r.record(&Outcome::Finding(Finding::ConsoleDisconnect {
            id: 3,
            console: 2,
            reason: "kicked: fault".into(),
            at_us: 3_000,
            last_ok_us: 3_000,
        }));
        // 500 recovered + 7,000 still down at the end.
        assert_eq!(r.downtime_us(10_000)[&2], 7_500);
    }
}
