//! Several base runs (the last N nights): the candidate is judged against their median, and
//! the spread of the bases is shown beside it. For each operation, delivery type and phase
//! operation, the median base is the run whose p99 is the median of theirs (its counts,
//! errors and percentiles go together); for each finding count, the run whose count is the
//! median.

use crate::report::summary::{LatencyMs, Summary};
use std::collections::{BTreeMap, BTreeSet};

/// The spread of the bases' p99 per row name (`console.login`, `delivery.status`,
/// `shift_change: console.login`): min and max, ms.
pub type Spread = BTreeMap<String, (f64, f64)>;

/// The index of the median of `values` (the lower one of an even count).
fn median_index(values: &[f64]) -> usize {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    idx[(idx.len() - 1) / 2]
}

/// For each name in any of `maps`, the entry of the run whose p99 is the median, and the
/// bases' p99 spread.
fn median_map<T: Clone>(
    maps: &[&BTreeMap<String, T>],
    p99: impl Fn(&T) -> Option<f64>,
    prefix: &str,
    spread: &mut Spread,
) -> BTreeMap<String, T> {
    let names: BTreeSet<&String> = maps.iter().flat_map(|m| m.keys()).collect();
    let mut out = BTreeMap::new();
    for name in names {
        let entries: Vec<&T> = maps.iter().filter_map(|m| m.get(name)).collect();
        let values: Vec<f64> = entries.iter().map(|e| p99(e).unwrap_or(0.0)).collect();
        let chosen = entries[median_index(&values)].clone();
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        spread.insert(format!("{prefix}{name}"), (lo, hi));
        out.insert(name.clone(), chosen);
    }
    out
}

fn sampled(count: u64, l: &LatencyMs) -> Option<f64> {
    (count > 0).then_some(l.p99)
}

/// The median of `bases` (at least one) as one summary, and the spread of their p99s.
pub fn median(bases: &[Summary]) -> (Summary, Spread) {
    let mut spread = Spread::new();
    let mut m = bases[0].clone();
    if bases.len() == 1 {
        return (m, spread);
    }
    let ops: Vec<_> = bases.iter().map(|b| &b.operations).collect();
    m.operations = median_map(&ops, |o| sampled(o.count, &o.latency_ms), "", &mut spread);
    let dels: Vec<_> = bases.iter().map(|b| &b.deliveries).collect();
    m.deliveries = median_map(
        &dels,
        |d| sampled(d.delivered, &d.latency_ms),
        "delivery.",
        &mut spread,
    );
    for (name, phase) in m.phases.iter_mut() {
        let with: Vec<_> = bases
            .iter()
            .filter_map(|b| b.phases.get(name))
            .map(|p| &p.operations)
            .collect();
        let prefix = format!("{name}: ");
        phase.operations = median_map(
            &with,
            |o| sampled(o.count, &o.latency_ms),
            &prefix,
            &mut spread,
        );
        let with: Vec<_> = bases
            .iter()
            .filter_map(|b| b.phases.get(name))
            .map(|p| &p.deliveries)
            .collect();
        phase.deliveries = median_map(
            &with,
            |d| sampled(d.delivered, &d.latency_ms),
            &format!("{name}: delivery."),
            &mut spread,
        );
    }
    let windows: Vec<_> = bases.iter().map(|b| &b.worst_windows).collect();
    m.worst_windows = median_map(
        &windows,
        |w| (w.samples > 0).then_some(w.latency_ms.p99),
        &super::windows::prefix(m.worst_window_s),
        &mut spread,
    );
    let pick = |count: fn(&Summary) -> f64| {
        let values: Vec<f64> = bases.iter().map(count).collect();
        &bases[median_index(&values)]
    };
    m.talkgroup_drops = pick(|s| s.talkgroup_drops.len() as f64)
        .talkgroup_drops
        .clone();
    m.console_disconnects = pick(|s| s.console_disconnects.len() as f64)
        .console_disconnects
        .clone();
    m.missed_deliveries = pick(|s| s.missed_deliveries as f64).missed_deliveries;
    m.started_at = format!("median of {} runs", bases.len());
    (m, spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_run_of_each_row_and_the_spread() {
        let mut runs: Vec<Summary> = (0..3)
            .map(|_| crate::report::fixtures::findings_summary())
            .collect();
        let name = runs[0]
            .operations
            .keys()
            .next()
            .cloned()
            .expect("an operation");
        for (run, p99) in runs.iter_mut().zip([30.0, 10.0, 20.0]) {
            run.operations.get_mut(&name).expect("op").latency_ms.p99 = p99;
        }
        runs[1].talkgroup_drops.clear();
        let (m, spread) = median(&runs);
        assert_eq!(m.operations[&name].latency_ms.p99, 20.0);
        assert_eq!(spread[&name], (10.0, 30.0));
        assert_eq!(m.talkgroup_drops.len(), runs[0].talkgroup_drops.len());
        assert_eq!(m.started_at, "median of 3 runs");
        let (one, none) = median(&runs[..1]);
        assert_eq!(one, runs[0]);
        assert!(none.is_empty());
    }
}
