//! Figures of windowed and phase-scoped objectives (`slo: {op: {p99: 500ms, window: 1m,
//! during: shift_change}}`), from `latency.hlog`'s interval histograms read one interval at a
//! time: the histograms of a window are merged (never percentiles averaged), the window slides
//! one interval at a time, and the worst window is kept with when it started.
//!
//! A delivery objective's windowed figure is over the deliveries that arrived (the whole-run
//! figure also counts the missed ones as later than any).
//!
//! The same pass finds, for every operation and delivery type, its worst minute
//! ([`WORST_WINDOW`], the window of the highest p99) whatever the objectives: the summary keeps
//! it, and `rcload compare` gates on it, so a bad minute cannot hide in eight quiet hours.

use super::ReportError;
use super::hlog;
use crate::judge::Observed;
use crate::profile::Phase;
use crate::profile::{LatencyLimits, Slo};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

/// Key of a scoped figure: the objective's key and its quantile (millionths; `None`: max).
pub type ScopedKey = (String, Option<u64>);

/// Figures of the scoped objectives: the observed statistic, and for a window when it started
/// (seconds from t=0).
pub type Scoped = BTreeMap<ScopedKey, (Observed, Option<f64>)>;

/// The length of the window of [`Figures::worst`].
pub const WORST_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// Per operation (`console.login`) and delivery type (`delivery.emergency.alert`): when its
/// worst window ([`WORST_WINDOW`], the highest p99; a run shorter than that is one window)
/// started, seconds from t=0, and the histogram of that window. The teardown is not in it.
pub type Worst = BTreeMap<String, (f64, Histogram<u64>)>;

/// What one pass over `latency.hlog` finds.
#[derive(Debug, Default)]
pub struct Figures {
    pub scoped: Scoped,
    pub worst: Worst,
}

pub fn scoped_key(key: &str, q: Option<f64>) -> ScopedKey {
    (key.to_string(), q.map(|q| (q * 1e6).round() as u64))
}

struct Spec {
    key: String,
    /// The hlog tag read: the key, or `teardown.<key>` for `during: teardown` (the teardown's
    /// requests are kept under their own tags).
    tag: String,
    stats: Vec<Option<f64>>,
    window_s: Option<f64>,
    /// `[start, end)` seconds of the phases in scope; `None`: the whole run.
    ranges: Option<Vec<(f64, f64)>>,
    deque: VecDeque<(f64, Histogram<u64>)>,
    sum: Histogram<u64>,
    /// Per statistic: the worst value (µs), the window's mean (µs, to break ties: the window
    /// most inside a bad stretch) and when the window started.
    worst: Vec<Option<(u64, f64, f64)>>,
    /// Keep the histogram of the first statistic's worst window here.
    worst_hist: Option<Histogram<u64>>,
    keep_hist: bool,
    full_seen: bool,
}

fn new_hist() -> Histogram<u64> {
    crate::metrics::histogram()
}

fn value(h: &Histogram<u64>, q: Option<f64>) -> u64 {
    match q {
        Some(q) => h.value_at_quantile(q),
        None => h.max(),
    }
}

impl Spec {
    fn in_scope(&self, start_s: f64) -> bool {
        self.ranges
            .as_ref()
            .is_none_or(|r| r.iter().any(|(a, b)| start_s >= *a && start_s < *b))
    }

    fn judge_sum(&mut self, at_s: f64) {
        if self.sum.is_empty() {
            return;
        }
        let mean = self.sum.mean();
        for (i, q) in self.stats.iter().enumerate() {
            let v = value(&self.sum, *q);
            if self.worst[i].is_none_or(|(w, m, _)| v > w || (v == w && mean > m)) {
                self.worst[i] = Some((v, mean, at_s));
                if i == 0 && self.keep_hist {
                    self.worst_hist = Some(self.sum.clone());
                }
            }
        }
    }

    /// An interval of this objective's key.
    fn take(&mut self, iv: &hlog::HlogInterval) {
        if !self.in_scope(iv.start_s) {
            return;
        }
        let _ = self.sum.add(&iv.hist);
        if self.window_s.is_some() {
            self.deque.push_back((iv.start_s, iv.hist.clone()));
        }
    }

    /// The run has reached `end_s` (every key's intervals before it are read): judge the
    /// window that ends there. Windows move with time, not with this key's samples, so a
    /// stretch where only slow requests came is its own window.
    fn advance(&mut self, end_s: f64) {
        let Some(w) = self.window_s else {
            return;
        };
        while let Some((s, _)) = self.deque.front() {
            if *s >= end_s - w - 1e-6 {
                break;
            }
            if let Some((_, h)) = self.deque.pop_front() {
                let _ = self.sum.subtract(&h);
            }
        }
        if end_s >= w - 1e-6 {
            self.full_seen = true;
            self.judge_sum(end_s - w);
        }
    }

    fn finish(mut self, out: &mut Scoped) {
        if !self.full_seen {
            // Shorter than one window (or a phase without windows): judge what there is.
            let at = self.deque.front().map(|(s, _)| *s);
            self.judge_sum(at.unwrap_or(0.0));
        }
        for (i, q) in self.stats.iter().enumerate() {
            let seen = match self.worst[i] {
                Some((v, _, at)) => (
                    Observed::Ms((v as f64 / 1000.0 * 1000.0).round() / 1000.0),
                    self.window_s.map(|_| (at * 1000.0).round() / 1000.0),
                ),
                None => (Observed::NoSamples, None),
            };
            out.insert(scoped_key(&self.key, *q), seen);
        }
    }

    /// The worst window's start and histogram, when there was a sample.
    fn finish_worst(mut self, out: &mut Worst) {
        if !self.full_seen {
            let at = self.deque.front().map(|(s, _)| *s);
            self.judge_sum(at.unwrap_or(0.0));
        }
        if let (Some(h), Some(Some((_, _, at)))) = (self.worst_hist, self.worst.first()) {
            out.insert(self.key, (*at, h));
        }
    }
}

/// Whether `tag` is an operation's or a delivery type's (not lateness, service times, probes
/// or the teardown).
fn is_load_tag(tag: &str) -> bool {
    rcload_api::Op::from_name(tag).is_some() || tag.starts_with("delivery.")
}

/// The figures of every windowed or phase-scoped latency objective of `slo`, and every
/// operation's and delivery type's worst window, from the run's `latency.hlog`, in one pass.
pub fn evaluate(hlog_path: &Path, slo: &Slo, phases: &[Phase]) -> Result<Figures, ReportError> {
    let mut specs: Vec<Spec> = slo
        .latency
        .iter()
        .filter(|(_, l)| l.is_scoped())
        .map(|(key, l)| spec(key, l, phases))
        .collect();
    let worst_limits = LatencyLimits {
        p99: Some(rcload_api::Dur(WORST_WINDOW)),
        window: Some(rcload_api::Dur(WORST_WINDOW)),
        ..LatencyLimits::default()
    };
    // Made when a tag is first seen: its intervals before then had no samples.
    let mut worst: BTreeMap<String, Spec> = BTreeMap::new();
    // The end of the interval being read; when the next one starts, the run has reached it.
    let mut open: Option<(f64, f64)> = None;
    hlog::for_each(hlog_path, |iv| {
        if let Some((start, end)) = open
            && (iv.start_s - start).abs() > 1e-9
        {
            specs.iter_mut().for_each(|s| s.advance(end));
            worst.values_mut().for_each(|s| s.advance(end));
        }
        open = Some((iv.start_s, iv.start_s + iv.len_s));
        for s in specs.iter_mut().filter(|s| s.tag == iv.tag) {
            s.take(&iv);
        }
        if !worst.contains_key(&iv.tag) && is_load_tag(&iv.tag) {
            let mut s = spec(&iv.tag, &worst_limits, phases);
            s.keep_hist = true;
            worst.insert(iv.tag.clone(), s);
        }
        if let Some(s) = worst.get_mut(&iv.tag) {
            s.take(&iv);
        }
        Ok(())
    })?;
    if let Some((_, end)) = open {
        specs.iter_mut().for_each(|s| s.advance(end));
        worst.values_mut().for_each(|s| s.advance(end));
    }
    let mut out = Figures::default();
    for s in specs {
        s.finish(&mut out.scoped);
    }
    for s in worst.into_values() {
        s.finish_worst(&mut out.worst);
    }
    Ok(out)
}

fn spec(key: &str, l: &LatencyLimits, phases: &[Phase]) -> Spec {
    let stats: Vec<Option<f64>> = l.entries().into_iter().map(|(_, q, _)| q).collect();
    let span = |p: &Phase| (p.start_us as f64 / 1e6, p.end_us as f64 / 1e6);
    let ranges = match &l.during {
        Some(d) => Some(phases.iter().filter(|p| p.matches(d)).map(span).collect()),
        // The whole run is the load: the teardown after it is judged only when named.
        None => phases
            .iter()
            .find(|p| p.kind == crate::profile::PhaseKind::Teardown)
            .map(|t| vec![(0.0, span(t).0)]),
    };
    let tag = match l.during.as_deref() {
        Some(crate::profile::TEARDOWN) => crate::metrics::interval::teardown_tag(key),
        _ => key.to_string(),
    };
    Spec {
        key: key.to_string(),
        tag,
        worst: vec![None; stats.len()],
        worst_hist: None,
        keep_hist: false,
        stats,
        window_s: l.window.map(|w| w.as_secs_f64()),
        ranges,
        deque: VecDeque::new(),
        sum: new_hist(),
        full_seen: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::PhaseKind;
    use rcload_api::Dur;
    use std::time::Duration;

    fn interval(tag: &str, start_s: f64, values_us: &[u64]) -> hlog::HlogInterval {
        let mut hist = new_hist();
        for v in values_us {
            hist.record(*v).unwrap();
        }
        hlog::HlogInterval {
            tag: tag.into(),
            start_s,
            len_s: 1.0,
            hist,
        }
    }

    fn limits(window_s: Option<u64>, during: Option<&str>) -> LatencyLimits {
        LatencyLimits {
            p99: Some(Dur(Duration::from_millis(100))),
            window: window_s.map(|s| Dur(Duration::from_secs(s))),
            during: during.map(str::to_string),
            ..Default::default()
        }
    }

    fn run(
        l: &LatencyLimits,
        phases: &[Phase],
        intervals: &[hlog::HlogInterval],
    ) -> (Observed, Option<f64>) {
        let mut s = spec("terminal.status", l, phases);
        for iv in intervals {
            if iv.tag == "terminal.status" {
                s.take(iv);
            }
            s.advance(iv.start_s + iv.len_s);
        }
        let mut out = Scoped::new();
        s.finish(&mut out);
        out[&scoped_key("terminal.status", Some(0.99))]
    }

    /// 10 minutes at 10 ms with one bad minute at 300 ms: the whole run's p99 would hide it
    /// (60 of 600 intervals), the worst 1-minute window does not.
    #[test]
    fn the_worst_window_is_found_and_dated() {
        let intervals: Vec<_> = (0..600)
            .map(|t| {
                let v = if (240..300).contains(&t) {
                    300_000
                } else {
                    10_000
                };
                interval("terminal.status", t as f64, &[v; 100])
            })
            .collect();
        let (obs, at) = run(&limits(Some(60), None), &[], &intervals);
        assert!(
            matches!(obs, Observed::Ms(v) if (299.0..=301.0).contains(&v)),
            "{obs:?}"
        );
        assert_eq!(at, Some(240.0));
        // Over the whole run, 10 % of the samples are slow: p99 is slow too; at p90 not.
        let mut l = limits(None, None);
        l.p99 = None;
        l.p90 = Some(Dur(Duration::from_millis(100)));
        assert!(!l.is_scoped());
        // A window never full (a run shorter than the window) is judged as it is.
        let short: Vec<_> = (0..30)
            .map(|t| interval("terminal.status", t as f64, &[5_000]))
            .collect();
        let (obs, at) = run(&limits(Some(60), None), &[], &short);
        assert!(
            matches!(obs, Observed::Ms(v) if (4.9..=5.1).contains(&v)),
            "{obs:?}"
        );
        assert_eq!(at, Some(0.0));
    }

    /// Many fast samples, then a few slow ones long after: a window holding only the slow
    /// ones exists because windows move with the run's time.
    #[test]
    fn windows_move_with_time_not_with_samples() {
        let mut intervals = Vec::new();
        for t in 0..75 {
            if t < 10 {
                intervals.push(interval("terminal.status", t as f64, &[2_000; 500]));
            } else if (16..22).contains(&t) {
                intervals.push(interval("terminal.status", t as f64, &[205_000; 4]));
            }
            intervals.push(interval("other", t as f64, &[1]));
        }
        let (obs, at) = run(&limits(Some(60), None), &[], &intervals);
        assert!(matches!(obs, Observed::Ms(v) if v > 200.0), "{obs:?}");
        let at = at.unwrap_or(-1.0);
        assert!((10.0..=16.0).contains(&at), "{at}");
    }

    #[test]
    fn during_judges_only_its_phases() {
        let phases = vec![
            Phase {
                name: "setup".into(),
                kind: PhaseKind::Setup,
                start_us: 0,
                end_us: 10_000_000,
            },
            Phase {
                name: "shift_change".into(),
                kind: PhaseKind::Event(crate::profile::EventKind::ShiftChange),
                start_us: 20_000_000,
                end_us: 30_000_000,
            },
            Phase {
                name: "shift_change-2".into(),
                kind: PhaseKind::Event(crate::profile::EventKind::ShiftChange),
                start_us: 50_000_000,
                end_us: 60_000_000,
            },
        ];
        let intervals: Vec<_> = (0..70)
            .map(|t| {
                let v = if (50..60).contains(&t) {
                    200_000
                } else if (20..30).contains(&t) {
                    50_000
                } else {
                    900_000
                };
                interval("terminal.status", t as f64, &[v])
            })
            .collect();
        let (obs, at) = run(&limits(None, Some("shift_change")), &phases, &intervals);
        assert!(
            matches!(obs, Observed::Ms(v) if (199.0..=201.0).contains(&v)),
            "{obs:?}"
        );
        assert_eq!(at, None, "a phase-scoped figure has no window start");
        let (obs, _) = run(&limits(None, Some("shift_change-2")), &phases, &intervals);
        assert!(matches!(obs, Observed::Ms(v) if v > 199.0));
        let (obs, _) = run(&limits(None, Some("nothing")), &phases, &intervals);
        assert_eq!(obs, Observed::NoSamples);
    }
}
