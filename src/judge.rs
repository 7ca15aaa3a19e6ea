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
    /// Nothing to judge (no samples, no requests): the run is `invalid`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_samples: bool,
    /// An objective per control room (`per: room`): the rooms that miss it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<String>,
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
    for (key, limits) in slo.latency.iter().filter(|(_, l)| !l.per_room()) {
        for (stat, q, limit) in limits.entries() {
            let limit_ms = limit.as_millis_f64();
            let (seen, worst_at_s) = latency(key, q, limits);
            let (observed, passed, note) = match seen {
                Observed::Ms(v) => (Some(v), v <= limit_ms, None),
                Observed::NoSamples => (None, false, Some(nothing_seen(key, limits))),
                Observed::Missed => (
                    None,
                    false,
                    Some("this percentile falls on missed deliveries".to_string()),
                ),
            };
            let no_samples = seen == Observed::NoSamples;
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
                no_samples,
                rooms: Vec::new(),
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
            passed: requests > 0 && rate <= limit.fraction,
            note: (requests == 0).then(|| "no requests".to_string()),
            window_s: None,
            during: None,
            worst_at_s: None,
            no_samples: requests == 0,
            rooms: Vec::new(),
        });
    }
    out
}

/// What an objective without samples missed: `no emergency.alert delivered`, `no
/// console.login answered during shift_change`.
fn nothing_seen(key: &str, limits: &LatencyLimits) -> String {
    let what = match key.strip_prefix("delivery.") {
        Some(event) => format!("no {event} delivered"),
        None => format!("no {key} answered"),
    };
    match &limits.during {
        Some(phase) => format!("{what} during {phase}"),
        None => what,
    }
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
                no_samples: false,
                rooms: Vec::new(),
            }
        })
        .collect()
}

/// Judge the objectives every control room must meet (`per: room`): delivery latencies from
/// `latency(key, quantile)` and counts from `counts(key)`, each room by room (`(room,
/// observed)`). An objective passes when every room meets it; its observed value is the worst
/// room's, and `rooms` names those that miss it. Rooms without samples are not judged; when
/// no room has any, the objective had nothing to judge.
pub fn judge_rooms(
    slo: &Slo,
    latency: impl Fn(&str, Option<f64>) -> Vec<(String, Observed)>,
    counts: impl Fn(&str) -> Vec<(String, u64)>,
) -> Vec<SloResult> {
    let mut out = Vec::new();
    for (key, limits) in slo.latency.iter().filter(|(_, l)| l.per_room()) {
        for (stat, q, limit) in limits.entries() {
            let limit_ms = limit.as_millis_f64();
            let rooms = latency(key, q);
            let over = |o: &Observed| match o {
                Observed::Ms(v) => *v > limit_ms,
                Observed::Missed => true,
                Observed::NoSamples => false,
            };
            let failed: Vec<String> = rooms
                .iter()
                .filter(|(_, o)| over(o))
                .map(|(r, _)| r.clone())
                .collect();
            let judged = rooms
                .iter()
                .filter(|(_, o)| *o != Observed::NoSamples)
                .count();
            let missed = rooms.iter().any(|(_, o)| *o == Observed::Missed);
            let worst = rooms
                .iter()
                .filter_map(|(r, o)| match o {
                    Observed::Ms(v) => Some((r, *v)),
                    _ => None,
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let note = if judged == 0 {
                Some(format!("{} in any room", nothing_seen(key, limits)))
            } else if missed {
                Some("in some room this percentile falls on missed deliveries".to_string())
            } else {
                worst.map(|(r, v)| format!("worst room {r}: {v:.1} ms"))
            };
            out.push(SloResult {
                name: format!("{key} {stat} (every room)"),
                limit: limit_ms,
                observed: if missed { None } else { worst.map(|w| w.1) },
                unit: "ms".into(),
                passed: judged > 0 && failed.is_empty(),
                note,
                window_s: None,
                during: None,
                worst_at_s: None,
                no_samples: judged == 0,
                rooms: failed,
            });
        }
    }
    for (key, limit) in &slo.room_counts {
        let rooms = counts(key);
        let failed: Vec<String> = rooms
            .iter()
            .filter(|(_, n)| *n > limit.max)
            .map(|(r, _)| r.clone())
            .collect();
        let worst = rooms.iter().max_by_key(|(_, n)| *n);
        out.push(SloResult {
            name: format!("{key} (every room)"),
            limit: limit.max as f64,
            observed: worst.map(|w| w.1 as f64),
            unit: "count".into(),
            passed: !rooms.is_empty() && failed.is_empty(),
            note: worst
                .filter(|w| w.1 > 0)
                .map(|(r, n)| format!("worst room {r}: {n}")),
            window_s: None,
            during: None,
            worst_at_s: None,
            no_samples: rooms.is_empty(),
            rooms: failed,
        });
    }
    out
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
        no_samples: false,
        rooms: Vec::new(),
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
        no_samples: false,
        rooms: Vec::new(),
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

/// A run's verdict, written `pass`, `fail` or `invalid` in summary.json (read in any case).
/// `invalid` outranks `fail`: when rcload knows its own figures are not valid (the generator
/// fell behind, the run was interrupted, an objective had nothing to judge, there were no
/// objectives), no objective's result can be signed, passed or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    Pass,
    #[default]
    Fail,
    Invalid,
}

impl Verdict {
    pub const ALL: [Verdict; 3] = [Verdict::Pass, Verdict::Fail, Verdict::Invalid];

    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Invalid => "invalid",
        }
    }

    /// `PASS`, `FAIL` or `INVALID`, as reports show it.
    pub fn shouted(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Invalid => "INVALID",
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
        Verdict::ALL
            .into_iter()
            .find(|v| text.eq_ignore_ascii_case(v.as_str()))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a verdict (`pass`, `fail` or `invalid`)"
                ))
            })
    }
}

/// The skipped share of the scheduled actions above which a run is invalid (the target was
/// not offered the profile's load), unless `--max-skipped` says otherwise.
pub const MAX_SKIPPED_SHARE: f64 = 0.05;

/// What decides whether a run's figures can be judged at all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validity {
    pub lateness_p99_ms: f64,
    /// Generator lateness p99 above this is falling behind.
    pub lateness_limit_ms: f64,
    /// Times a due action found the in-flight cap full (any is falling behind).
    pub throttled: u64,
    pub scheduled: u64,
    /// Actions skipped because their entity was not in the needed state (not those the
    /// target does not offer: an adapter's `unsupported` are a warning of their own).
    pub skipped: u64,
    /// The share of `scheduled` that may be skipped, 0 to 1.
    pub max_skipped: f64,
    /// Stopped by SIGINT or SIGTERM before the end of its schedule.
    pub interrupted: bool,
    /// Killed: the summary was rebuilt from the run directory's files.
    pub rebuilt: bool,
    /// How many objectives the profile names (`slo:`).
    pub objectives: usize,
    /// `--allow-no-slo`: a run without objectives is an exploration, valid.
    pub allow_no_slo: bool,
    /// What else is missing from the data, each a reason (a merged test's shards that are
    /// missing or did not finish).
    pub incomplete: Vec<String>,
}

impl Validity {
    /// The generator did not keep to the schedule.
    pub fn fell_behind(&self) -> bool {
        self.lateness_p99_ms > self.lateness_limit_ms || self.throttled > 0
    }
}

/// Why a run's figures are not valid, most fundamental first; empty when they are.
/// `results` are the judged objectives.
///
/// Two kinds of reason. Those about rcload itself (killed, interrupted, the generator fell
/// behind, no objectives) make the run invalid whatever the objectives say. Those that a
/// failing target also causes (actions skipped because a login or a registration failed,
/// objectives left without samples because nothing got through) make it invalid only when
/// no objective failed: when one did, the run is a plain fail, and they are listed after
/// the failures ([`assess`]).
pub fn invalid_reasons(v: &Validity, results: &[SloResult]) -> Vec<String> {
    let r = reasons(v, results);
    let failed = results.iter().any(|r| !r.passed && !r.no_samples);
    if r.own.is_empty() && failed {
        return Vec::new();
    }
    r.own
        .into_iter()
        .chain(r.skipped)
        .chain(r.unjudged)
        .collect()
}

/// The verdict and why, first reason first: what makes the run invalid; or the objectives
/// that failed, then what else the reader must know to trust them (actions skipped,
/// objectives without samples); nothing for a pass.
pub fn assess(v: &Validity, results: &[SloResult]) -> (Verdict, Vec<String>) {
    let invalid = invalid_reasons(v, results);
    let verdict = verdict(results, &invalid);
    let mut why = verdict_reasons(results, &invalid);
    // A fail also says how many actions were skipped (the objectives without samples are
    // among its failures already).
    if verdict == Verdict::Fail {
        why.extend(rolled_back(results));
        why.extend(reasons(v, results).skipped);
    }
    (verdict, why)
}

/// The control rooms that missed an objective every room must meet (`per: room`): those that
/// would have rolled back.
fn rolled_back(results: &[SloResult]) -> Option<String> {
    let rooms: std::collections::BTreeSet<&str> = results
        .iter()
        .filter(|r| !r.passed)
        .flat_map(|r| r.rooms.iter().map(String::as_str))
        .collect();
    (!rooms.is_empty()).then(|| {
        format!(
            "{} would have rolled back: {}",
            crate::text::plural(rooms.len() as u64, "control room", "control rooms"),
            rooms.into_iter().collect::<Vec<_>>().join(", ")
        )
    })
}

/// ` in 3 rooms: mk02, mk05, mk07` (at most ten named).
fn rooms_text(rooms: &[String]) -> String {
    if rooms.is_empty() {
        return String::new();
    }
    let named: Vec<&str> = rooms.iter().take(10).map(String::as_str).collect();
    let more = rooms.len().saturating_sub(10);
    format!(
        " in {}: {}{}",
        crate::text::plural(rooms.len() as u64, "room", "rooms"),
        named.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// The reasons about rcload itself (`own`), and those a failing target also causes.
struct Reasons {
    own: Vec<String>,
    skipped: Option<String>,
    unjudged: Option<String>,
}

fn reasons(v: &Validity, results: &[SloResult]) -> Reasons {
    let mut own = Vec::new();
    if v.rebuilt {
        own.push(
            "the run was killed before it ended: this summary was rebuilt from the files it \
             left, and covers only part of the schedule"
                .to_string(),
        );
    } else if v.interrupted {
        own.push(
            "the run was interrupted (SIGINT or SIGTERM) before the end of its schedule"
                .to_string(),
        );
    }
    own.extend(v.incomplete.iter().cloned());
    if v.fell_behind() {
        own.push(format!(
            "the generator fell behind: lateness p99 {:.1} ms (limit {:.1} ms), in-flight or \
             connection cap hit {} times; the target did not get the load the profile asks \
             for and latencies are not valid",
            v.lateness_p99_ms, v.lateness_limit_ms, v.throttled
        ));
    }
    if v.objectives == 0 && !v.allow_no_slo {
        own.push(
            "the profile has no objectives (`slo:`): nothing was judged (`--allow-no-slo` \
             for an exploratory run)"
                .to_string(),
        );
    }
    let skipped =
        (v.scheduled > 0 && v.skipped as f64 > v.max_skipped * v.scheduled as f64).then(|| {
            format!(
                "{} of {} scheduled actions ({:.1} %) were skipped, over the {:.1} % allowed: \
             their console or terminal was not in the state they need, so the target did not \
             get the load the profile asks for",
                v.skipped,
                v.scheduled,
                100.0 * v.skipped as f64 / v.scheduled as f64,
                100.0 * v.max_skipped
            )
        });
    let names: Vec<&str> = results
        .iter()
        .filter(|r| r.no_samples)
        .map(|r| r.name.as_str())
        .collect();
    let unjudged = (!names.is_empty()).then(|| {
        format!(
            "{} had no samples to judge: {}",
            if names.len() == 1 {
                "1 objective".to_string()
            } else {
                format!("{} objectives", names.len())
            },
            names.join(", ")
        )
    });
    Reasons {
        own,
        skipped,
        unjudged,
    }
}

/// `invalid` when there is a reason ([`invalid_reasons`]), else `pass` when every objective
/// passed, else `fail`.
pub fn verdict(results: &[SloResult], invalid: &[String]) -> Verdict {
    if !invalid.is_empty() {
        Verdict::Invalid
    } else if results.iter().all(|r| r.passed) {
        Verdict::Pass
    } else {
        Verdict::Fail
    }
}

/// Why the verdict is what it is, first reason first: the invalid reasons, or one line per
/// failed objective; empty for a pass.
pub fn verdict_reasons(results: &[SloResult], invalid: &[String]) -> Vec<String> {
    if !invalid.is_empty() {
        return invalid.to_vec();
    }
    results
        .iter()
        .filter(|r| !r.passed)
        .map(failure_text)
        .collect()
}

/// `console.login p99: observed 1200 ms, limit 1000 ms`, or what was missing.
pub fn failure_text(r: &SloResult) -> String {
    let num = |v: f64| match r.unit.as_str() {
        "ratio" => format!("{:.3} %", v * 100.0),
        "ms" => format!("{v:.1} ms"),
        _ => format!("{v:.0}"),
    };
    let text = match (r.observed, &r.note) {
        (Some(o), Some(note)) if r.note_explains() => {
            format!(
                "{}: {note} (observed {}, limit {})",
                r.name,
                num(o),
                num(r.limit)
            )
        }
        (Some(o), _) => format!("{}: observed {}, limit {}", r.name, num(o), num(r.limit)),
        (None, Some(note)) => format!("{}: {note} (limit {})", r.name, num(r.limit)),
        (None, None) => format!("{}: nothing observed (limit {})", r.name, num(r.limit)),
    };
    format!("{text}{}", rooms_text(&r.rooms))
}

impl SloResult {
    /// The note says why it failed (not merely where its worst window was).
    fn note_explains(&self) -> bool {
        self.worst_at_s.is_none() && self.note.is_some()
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
        assert_eq!(verdict(&r, &[]), Verdict::Fail);
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
        assert!(!r[0].passed && r[0].no_samples);
        assert_eq!(r[0].note.as_deref(), Some("no console.login answered"));
        assert_eq!(r[1].note.as_deref(), Some("no emergency.alert delivered"));
        assert!(
            !r[2].passed && r[2].no_samples,
            "no requests: an error rate of nothing"
        );
        let why = invalid_reasons(&valid(), &r);
        assert_eq!(
            why,
            ["3 objectives had no samples to judge: console.login p99, \
              delivery.emergency.alert p95, error_rate"]
        );
        assert_eq!(verdict(&r, &why), Verdict::Invalid);
    }

    fn valid() -> Validity {
        Validity {
            lateness_p99_ms: 1.0,
            lateness_limit_ms: 10.0,
            scheduled: 1000,
            max_skipped: MAX_SKIPPED_SHARE,
            objectives: 3,
            ..Default::default()
        }
    }

    #[test]
    fn a_run_rcload_knows_is_not_valid_is_invalid_whatever_its_objectives_say() {
        let passed = judge(&slo(), |_, _, _| (Observed::Ms(1.0), None), 0, 1000);
        assert!(invalid_reasons(&valid(), &passed).is_empty());
        assert_eq!(verdict(&passed, &[]), Verdict::Pass);
        let cases: [(Validity, &str); 8] = [
            (
                Validity {
                    incomplete: vec!["shard 2/4 is missing".into()],
                    ..valid()
                },
                "shard 2/4 is missing",
            ),
            (
                Validity {
                    lateness_p99_ms: 10.5,
                    ..valid()
                },
                "the generator fell behind: lateness p99 10.5 ms (limit 10.0 ms)",
            ),
            (
                Validity {
                    throttled: 1,
                    ..valid()
                },
                "the generator fell behind",
            ),
            (
                Validity {
                    skipped: 51,
                    ..valid()
                },
                "51 of 1000 scheduled actions (5.1 %) were skipped, over the 5.0 % allowed",
            ),
            (
                Validity {
                    interrupted: true,
                    ..valid()
                },
                "the run was interrupted (SIGINT or SIGTERM)",
            ),
            (
                Validity {
                    interrupted: true,
                    rebuilt: true,
                    ..valid()
                },
                "the run was killed before it ended: this summary was rebuilt",
            ),
            (
                Validity {
                    objectives: 0,
                    ..valid()
                },
                "the profile has no objectives",
            ),
            (
                Validity {
                    objectives: 0,
                    allow_no_slo: true,
                    skipped: 50,
                    ..valid()
                },
                "",
            ),
        ];
        for (v, first) in cases {
            let why = invalid_reasons(&v, &passed);
            if first.is_empty() {
                assert!(why.is_empty(), "{v:?}: {why:?}");
                continue;
            }
            assert_eq!(why.len(), 1, "{v:?}: {why:?}");
            assert!(why[0].starts_with(first), "{v:?}: {why:?}");
            assert_eq!(verdict(&passed, &why), Verdict::Invalid);
            assert_eq!(verdict_reasons(&passed, &why), why);
        }
        // Invalid outranks fail, and the reasons say the most fundamental first.
        let failed = judge(&slo(), |_, _, _| (Observed::Ms(5000.0), None), 0, 1000);
        let v = Validity {
            interrupted: true,
            throttled: 3,
            ..valid()
        };
        let why = invalid_reasons(&v, &failed);
        assert!(
            why[0].contains("interrupted") && why[1].contains("fell behind"),
            "{why:?}"
        );
        assert_eq!(verdict(&failed, &why), Verdict::Invalid);
    }

    #[test]
    fn a_target_that_fails_is_a_fail_even_when_it_left_nothing_to_judge() {
        // Logins refused: most actions skipped, the deliveries never came (no samples), the
        // error rate over its limit. The target failed: fail, the rest said after it.
        let r = judge(
            &slo(),
            |k, _, _| match k {
                "console.login" => (Observed::Ms(5.0), None),
                _ => (Observed::NoSamples, None),
            },
            600,
            1000,
        );
        let v = Validity {
            skipped: 700,
            ..valid()
        };
        let (verdict, why) = assess(&v, &r);
        assert_eq!(verdict, Verdict::Fail, "{why:?}");
        assert!(
            why[0].starts_with("delivery.emergency.alert p95: no emergency.alert delivered"),
            "{why:?}"
        );
        assert!(
            why[1].starts_with("error_rate: observed 60.000 %"),
            "{why:?}"
        );
        assert!(
            why[2].starts_with("700 of 1000 scheduled actions (70.0 %) were skipped"),
            "{why:?}"
        );
        // Nothing failed: the same gaps leave the run unsigned.
        let r = judge(&slo(), |_, _, _| (Observed::NoSamples, None), 0, 1000);
        let (verdict, why) = assess(&v, &r);
        assert_eq!(verdict, Verdict::Invalid);
        assert!(why[0].starts_with("700 of 1000"), "{why:?}");
        // rcload's own reasons outrank any failure.
        let v = Validity { throttled: 1, ..v };
        let (verdict, why) = assess(&v, &r);
        assert_eq!(verdict, Verdict::Invalid);
        assert!(why[0].starts_with("the generator fell behind"), "{why:?}");
    }

    #[test]
    fn a_failed_verdict_says_which_objectives_failed_and_by_how_much() {
        let r = judge(
            &slo(),
            |k, _, _| match k {
                "console.login" => (Observed::Ms(1200.0), None),
                _ => (Observed::Missed, None),
            },
            0,
            1000,
        );
        assert_eq!(
            verdict_reasons(&r, &[]),
            [
                "console.login p99: observed 1200.0 ms, limit 1000.0 ms",
                "delivery.emergency.alert p95: this percentile falls on missed deliveries \
                 (limit 300.0 ms)"
            ]
        );
        assert!(
            verdict_reasons(&r[2..], &[]).is_empty(),
            "a pass has no reason"
        );
    }

    #[test]
    fn verdicts_read_back_in_any_case() {
        for v in Verdict::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
            let upper = format!("\"{}\"", v.shouted());
            assert_eq!(serde_json::from_str::<Verdict>(&upper).unwrap(), v);
        }
        assert!(serde_json::from_str::<Verdict>("\"maybe\"").is_err());
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
        assert_eq!(verdict(&[r], &[]), Verdict::Fail);
        assert_eq!(judge_received(true, 5), None);
        assert_eq!(judge_received(false, 0), None);
        let r = judge_received(true, 0).expect("a failed objective");
        assert_eq!((r.name.as_str(), r.passed), ("deliveries_received", false));
        assert!(r.note.is_some_and(|n| n.contains("nothing was checked")));
    }

    #[test]
    fn an_objective_per_room_names_the_rooms_that_miss_it() {
        let p: crate::profile::Slo = serde_saphyr::from_str(
            "delivery.status: { p99: 1s, per: room }\ntalkgroup_drops: { max: 0, per: room }\nmissed_deliveries: 3\n",
        )
        .expect("slo");
        assert_eq!(p.len(), 3);
        let results = judge_rooms(
            &p,
            |_, _| {
                vec![
                    ("mk01".into(), Observed::Ms(200.0)),
                    ("mk02".into(), Observed::Ms(1500.0)),
                    ("mk03".into(), Observed::NoSamples),
                ]
            },
            |_| vec![("mk01".into(), 0), ("mk02".into(), 2), ("mk03".into(), 1)],
        );
        let lat = &results[0];
        assert_eq!(lat.name, "delivery.status p99 (every room)");
        assert!(!lat.passed);
        assert_eq!(lat.observed, Some(1500.0));
        assert_eq!(lat.rooms, ["mk02"]);
        let drops = &results[1];
        assert_eq!(drops.name, "talkgroup_drops (every room)");
        assert_eq!(drops.rooms, ["mk02", "mk03"]);
        assert_eq!(drops.note.as_deref(), Some("worst room mk02: 2"));
        // Whole-run objectives are not judged here.
        assert_eq!(results.len(), 2);
        let none = judge_rooms(
            &p,
            |_, _| vec![("mk01".into(), Observed::NoSamples)],
            |_| vec![],
        );
        assert!(none[0].no_samples && !none[0].passed);
    }
}
