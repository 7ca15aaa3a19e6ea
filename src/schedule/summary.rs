//! What `rcload validate` prints about a schedule, and a stable hash of a whole schedule.

use super::{Action, Phase, Schedule};
use std::collections::BTreeMap;

/// Counts of a schedule, computed by running through it once.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSummary {
    pub phases: Vec<Phase>,
    /// Actions per operation name.
    pub per_op: BTreeMap<&'static str, u64>,
    /// Actions per phase name.
    pub per_phase: BTreeMap<String, u64>,
    pub total: u64,
    /// The most actions intended in any one-second window (aligned to whole seconds).
    pub peak_per_s: u64,
    /// The second in which that peak falls.
    pub peak_at_s: u64,
}

/// Run through a schedule and count it.
pub fn summarize(schedule: Schedule) -> ScheduleSummary {
    let phases = schedule.phases().to_vec();
    let mut per_op = BTreeMap::new();
    let mut per_phase: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    let (mut cur_s, mut cur_n, mut peak, mut peak_at) = (0u64, 0u64, 0u64, 0u64);
    for a in schedule {
        total += 1;
        *per_op.entry(a.kind.op().name()).or_insert(0) += 1;
        if let Some(p) = phases.get(a.phase) {
            *per_phase.entry(p.name.clone()).or_insert(0) += 1;
        }
        let s = a.at_us / 1_000_000;
        if s != cur_s {
            cur_s = s;
            cur_n = 0;
        }
        cur_n += 1;
        if cur_n > peak {
            peak = cur_n;
            peak_at = cur_s;
        }
    }
    ScheduleSummary {
        phases,
        per_op,
        per_phase,
        total,
        peak_per_s: peak,
        peak_at_s: peak_at,
    }
}

/// FNV-1a over the canonical text of every action: equal hashes mean equal schedules.
pub fn schedule_hash(actions: impl Iterator<Item = Action>) -> (u64, u64) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut n = 0;
    for a in actions {
        n += 1;
        for b in format!("{a:?}\n").bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    (h, n)
}
