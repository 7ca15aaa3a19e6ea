//! SLO evaluation: a pure function of the profile's objectives and what was observed.

use crate::profile::{LatencyLimits, Slo};
use serde::{Deserialize, Serialize};

/// One judged objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloResult {
    /// `console.login p99`, `delivery.emergency.alert p95`, `error_rate`.
    pub name: String,
    /// The limit, in `unit`.
    pub limit: f64,
    /// What was observed, in `unit`; null when there was nothing to observe or the statistic
    /// is beyond every sample (deliveries missed).
    pub observed: Option<f64>,
    /// `ms` for latencies, `ratio` for rates, `count` for findings.
    pub unit: String,
    pub passed: bool,
    /// Why it failed when `observed` alone does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// A windowed objective: the window's length, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// A phase-scoped objective: the phase (or event kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<String>,
    /// A windowed objective: when its worst window started, seconds from t=0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_at_s: Option<f64>,
}

/// An observed latency statistic for an SLO key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observed {
    /// Milliseconds.
    Ms(f64),
    /// No samples at all.
    NoSamples,
    /// The statistic falls on deliveries that never arrived.
    Missed,
}

/// Judge every objective. `latency(key, quantile, limits)` gives the observed statistic for an
/// operation or `delivery.<type>` key (`None` quantile = max) over the objective's scope (the
/// whole run, its worst window or its phase: `limits`), and for a window when it started.
pub fn judge(
    slo: &Slo,
    latency: impl Fn(&str, Option<f64>, &LatencyLimits) -> (Observed, Option<f64>),
    errors: u64,
    requests: u64,
) -> Vec<SloResult> {
    let mut out = Vec::new();
    for (key, limits) in &slo.latency {
        for (stat, q, limit) in limits.entries() {
            let limit_ms = limit.as_millis_f64();
            let (seen, worst_at_s) = latency(key, q, limits);
            let (observed, passed, note) = match seen {
                Observed::Ms(v) => (Some(v), v <= limit_ms, None),
                Observed::NoSamples => (None, false, Some("no samples".to_string())),
                Observed::Missed => (
                    None,
                    false,
                    Some("this percentile falls on missed deliveries".to_string()),
                ),
            };
            let note = note.or_else(|| worst_at_s.map(|t| format!("worst window from t={t:.0} s")));
            out.push(SloResult {
                name: format!("{key} {stat}{}", limits.scope_text()),
                limit: limit_ms,
                observed,
                unit: "ms".into(),
                passed,
                note,
                window_s: limits.window.map(|w| w.as_secs_f64()),
                during: limits.during.clone(),
                worst_at_s,
            });
        }
    }
    if let Some(limit) = slo.error_rate {
        let rate = if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        };
        out.push(SloResult {
            name: "error_rate".into(),
            limit: limit.fraction,
            observed: Some(rate),
            unit: "ratio".into(),
            passed: rate <= limit.fraction,
            note: (requests == 0).then(|| "no requests".to_string()),
            window_s: None,
            during: None,
            worst_at_s: None,
        });
    }
    out
}

/// Judge the maximum-count objectives (`talkgroup_drops: 0`); `count(key)` gives what was
/// found.
pub fn judge_counts(slo: &Slo, count: impl Fn(&str) -> u64) -> Vec<SloResult> {
    slo.max_counts
        .iter()
        .map(|(key, limit)| {
            let n = count(key);
            SloResult {
                name: key.clone(),
                limit: *limit as f64,
                observed: Some(n as f64),
                unit: "count".into(),
                passed: n <= *limit,
                note: None,
                window_s: None,
                during: None,
                worst_at_s: None,
            }
        })
        .collect()
}

/// The objective every run has, named or not: each console that logged in had its event
/// stream. `never_connected` consoles never did (they received nothing, so nothing they should
/// have received was checked): the run cannot pass. `None` when every console connected.
pub fn judge_connected(never_connected: u64) -> Option<SloResult> {
    (never_connected > 0).then(|| SloResult {
        name: "consoles_never_connected".into(),
        limit: 0.0,
        observed: Some(never_connected as f64),
        unit: "count".into(),
        passed: false,
        note: Some(
            "consoles whose event stream never opened received nothing: their deliveries \
             were not checked"
                .into(),
        ),
        window_s: None,
        during: None,
        worst_at_s: None,
    })
}

/// The other objective every run has: when consoles were `meant` to receive events (they
/// logged in, or tried to, and actions that deliver events were sent), at least one arrived.
/// A run in which no console received anything checked nothing and cannot pass.
pub fn judge_received(meant: bool, delivered: u64) -> Option<SloResult> {
    (meant && delivered == 0).then(|| SloResult {
        name: "deliveries_received".into(),
        limit: 1.0,
        observed: Some(0.0),
        unit: "count".into(),
        passed: false,
        note: Some(
            "actions that deliver events to consoles were sent and no console received any: \
             nothing was checked"
                .into(),
        ),
        window_s: None,
        during: None,
        worst_at_s: None,
    })
}

/// A statistic over delivered and missed events, a missed one counting as later than any.
/// `value_at(q)` reads the delivered latencies' histogram (ms).
pub fn delivery_quantile(
    delivered: u64,
    missed: u64,
    q: Option<f64>,
    value_at: impl Fn(f64) -> f64,
) -> Observed {
    let total = delivered + missed;
    if total == 0 {
        return Observed::NoSamples;
    }
    match q {
        None if missed > 0 => Observed::Missed,
        None => Observed::Ms(value_at(1.0)),
        Some(q) => {
            let rank = (q * total as f64).ceil().max(1.0) as u64;
            if rank > delivered {
                Observed::Missed
            } else {
                Observed::Ms(value_at(rank as f64 / delivered as f64))
            }
        }
    }
}

/// A run's verdict, written `pass` or `fail` in summary.json (read in any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    Pass,
    #[default]
    Fail,
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }

    /// `PASS` or `FAIL`, as reports show it.
    pub fn shouted(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Verdict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.eq_ignore_ascii_case("pass") {
            Ok(Verdict::Pass)
        } else if text.eq_ignore_ascii_case("fail") {
            Ok(Verdict::Fail)
        } else {
            Err(serde::de::Error::custom(format!(
                "`{text}` is not a verdict (`pass` or `fail`)"
            )))
        }
    }
}

/// `pass` when every objective passed.
pub fn verdict(results: &[SloResult]) -> Verdict {
    if results.iter().all(|r| r.passed) {
        Verdict::Pass
    } else {
        Verdict::Fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcload_api::{Dur, Percent};
    use std::time::Duration;

    fn slo() -> Slo {
        let mut s = Slo::default();
        s.latency.insert(
            "console.login".into(),
            LatencyLimits {
                p99: Some(Dur(Duration::from_secs(1))),
                ..Default::default()
            },
        );
        s.latency.insert(
            "delivery.emergency.alert".into(),
            LatencyLimits {
                p95: Some(Dur(Duration::from_millis(300))),
                ..Default::default()
            },
        );
        s.error_rate = Some(Percent { fraction: 0.001 });
        s
    }

    #[test]
    fn passes_and_fails_by_limit() {
        let r = judge(
            &slo(),
            |k, _, _| match k {
                "console.login" => (Observed::Ms(999.0), None),
                _ => (Observed::Ms(301.0), None),
            },
            1,
            1000,
        );
        assert_eq!(r.len(), 3);
        assert!(r[0].passed, "{r:?}");
        assert_eq!(r[0].name, "console.login p99");
        assert!(!r[1].passed);
        assert_eq!(r[1].observed, Some(301.0));
        assert!(r[2].passed, "1/1000 = 0.1 % is at the limit");
        assert_eq!(verdict(&r), Verdict::Fail);
    }

    #[test]
    fn counts_are_judged_against_their_maximum() {
        let mut s = Slo::default();
        s.max_counts.insert("talkgroup_drops".into(), 0);
        s.max_counts.insert("missed_deliveries".into(), 5);
        let r = judge_counts(&s, |k| if k == "talkgroup_drops" { 1 } else { 5 });
        assert_eq!(r.len(), 2);
        assert!(
            r.iter()
                .find(|x| x.name == "missed_deliveries")
                .unwrap()
                .passed
        );
        let drops = r.iter().find(|x| x.name == "talkgroup_drops").unwrap();
        assert!(!drops.passed);
        assert_eq!((drops.limit, drops.observed), (0.0, Some(1.0)));
    }

    #[test]
    fn no_samples_fail_with_a_note() {
        let r = judge(&slo(), |_, _, _| (Observed::NoSamples, None), 0, 0);
        assert!(!r[0].passed);
        assert_eq!(r[0].note.as_deref(), Some("no samples"));
        assert!(r[2].passed);
    }

    #[test]
    fn missed_deliveries_count_as_later_than_any() {
        // 96 delivered, 4 missed: p95 is the 95th sample, delivered; p99 falls on a miss.
        let v = |q: f64| q * 100.0;
        assert!(matches!(
            delivery_quantile(96, 4, Some(0.95), v),
            Observed::Ms(_)
        ));
        assert_eq!(delivery_quantile(96, 4, Some(0.99), v), Observed::Missed);
        assert_eq!(delivery_quantile(96, 4, None, v), Observed::Missed);
        assert_eq!(delivery_quantile(0, 0, Some(0.5), v), Observed::NoSamples);
        assert_eq!(delivery_quantile(10, 0, None, v), Observed::Ms(100.0));
    }

    #[test]
    fn runs_that_checked_nothing_cannot_pass() {
        assert_eq!(judge_connected(0), None);
        let r = judge_connected(12).expect("a failed objective");
        assert_eq!(
            (r.name.as_str(), r.observed, r.passed),
            ("consoles_never_connected", Some(12.0), false)
        );
        assert_eq!(verdict(&[r]), Verdict::Fail);
        assert_eq!(judge_received(true, 5), None);
        assert_eq!(judge_received(false, 0), None);
        let r = judge_received(true, 0).expect("a failed objective");
        assert_eq!((r.name.as_str(), r.passed), ("deliveries_received", false));
        assert!(r.note.is_some_and(|n| n.contains("nothing was checked")));
    }
}
