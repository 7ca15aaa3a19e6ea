//! `rcload compare BASE CANDIDATE`: the nightly soak gate. Compares two runs' `summary.json`
//! and says whether the candidate regressed against the base. Pure: no files, no CLI; the
//! caller loads both summaries, calls [`compare`], renders with [`to_markdown`], [`to_html`]
//! or [`to_json`] and exits 1 when [`Comparison::regressed`].
//!
//! Rules (see [`CompareOptions`]):
//! - a latency percentile regresses when `cand > base * (1 + max_regression)` and
//!   `cand - base > min_delta_ms`, only when both runs have enough samples (p50 and p99:
//!   `min_samples`, p99.9: `10 * min_samples`); otherwise it is shown as "too few samples";
//! - an error rate (errors / count for operations, missed / expected for deliveries)
//!   regresses when `cand > base * (1 + max_regression)` and `cand - base > 0.001`;
//! - more talkgroup drops, console disconnects or missed deliveries than the base regress;
//! - each phase is compared on its own as well (rows `<phase>: <operation>`), the teardown
//!   apart; a phase of the base the candidate lacks regresses;
//! - so is each operation's and delivery type's worst minute (rows `worst 1m: <operation>`,
//!   from the summary's `worst_windows`), so a bad minute of a quiet night regresses;
//! - an operation or delivery type the base has and the candidate lacks (whole run or phase)
//!   regresses: the signal was lost;
//! - different profiles, a generator that fell behind, or an invalid run are warnings; the
//!   caller fails the gate on an invalid candidate with its own exit code.

use crate::judge::Verdict;
use crate::report::summary::{DeliverySummary, LatencyMs, OperationSummary, SCHEMA, Summary};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// An error-rate increase at or below this (absolute, as a fraction: 0.1 point) is noise.
pub const MIN_ERROR_RATE_DELTA: f64 = 0.001;

/// How much worse the candidate may be.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareOptions {
    /// Allowed relative increase, as a fraction (0.10 = 10 %).
    pub max_regression: f64,
    /// Latency increases at or below this many ms are noise, whatever their percentage.
    pub min_delta_ms: f64,
    /// Samples each run needs for p50 and p99 to gate; p99.9 needs ten times this.
    pub min_samples: u64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            max_regression: 0.10,
            min_delta_ms: 2.0,
            min_samples: 100,
        }
    }
}

/// Which run is which.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunLabel {
    pub profile: String,
    pub seed: u64,
    pub started_at: String,
    pub duration_s: f64,
    /// The run's own SLO verdict.
    pub verdict: Verdict,
    pub fell_behind: bool,
}

impl RunLabel {
    fn of(s: &Summary) -> Self {
        RunLabel {
            profile: s.profile.clone(),
            seed: s.seed,
            started_at: s.started_at.clone(),
            duration_s: s.duration_s,
            verdict: s.verdict,
            fell_behind: s.generator.fell_behind,
        }
    }
}

/// One thing that got worse.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regression {
    /// `console.login p99`, `delivery.emergency.alert error rate`, `talkgroup drops`.
    pub what: String,
    /// Human-readable figures.
    pub detail: String,
}

/// One latency percentile, base against candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PercentileDelta {
    /// ms; null when that run has no samples.
    pub base: Option<f64>,
    pub cand: Option<f64>,
    /// `cand - base`, ms.
    pub delta_ms: Option<f64>,
    /// `(cand - base) / base`, percent; null when either side is missing or the base is 0.
    pub delta_pct: Option<f64>,
    /// Samples each run needs for this percentile to gate.
    pub min_samples: u64,
    /// Shown but not gating: a run has fewer than `min_samples` samples.
    pub too_few_samples: bool,
    pub regressed: bool,
}

/// One operation, or one delivery type (named `delivery.<type>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub name: String,
    /// Operations: calls made. Deliveries: deliveries expected.
    pub count_base: u64,
    pub count_cand: u64,
    pub p50: PercentileDelta,
    pub p99: PercentileDelta,
    pub p999: PercentileDelta,
    /// errors / count (operations) or missed / expected (deliveries); null when count is 0.
    pub error_rate_base: Option<f64>,
    pub error_rate_cand: Option<f64>,
    pub error_rate_regressed: bool,
    pub regressions: Vec<Regression>,
}

impl Row {
    /// The three percentiles with their labels.
    pub fn percentiles(&self) -> [(&'static str, &PercentileDelta); 3] {
        [
            ("p50", &self.p50),
            ("p99", &self.p99),
            ("p99.9", &self.p999),
        ]
    }

    /// `REGRESSED`, `missing` (not in the candidate), `new` (not in the base) or `ok`.
    pub fn status(&self) -> &'static str {
        if !self.regressions.is_empty() {
            "REGRESSED"
        } else if self.count_base > 0 && self.count_cand == 0 {
            "missing"
        } else if self.count_base == 0 && self.count_cand > 0 {
            "new"
        } else {
            "ok"
        }
    }
}

/// A finding count (talkgroup drops, console disconnects, missed deliveries), base against
/// candidate. Any increase regresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingDelta {
    /// `talkgroup drops`, `console disconnects` or `missed deliveries`.
    pub what: String,
    pub base: u64,
    pub cand: u64,
    pub regressed: bool,
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub options: CompareOptions,
    pub base: RunLabel,
    pub candidate: RunLabel,
    /// Operations first, then deliveries, each sorted by name.
    pub rows: Vec<Row>,
    pub findings: Vec<FindingDelta>,
    /// Every regression: the rows' and the findings'.
    pub regressions: Vec<Regression>,
    /// Things the reader must know to trust the comparison.
    pub warnings: Vec<String>,
    /// How many base runs the base is the median of (1: one run).
    pub base_runs: usize,
    /// With several base runs: their p99 spread (min, max ms) per row name.
    pub base_spread: median::Spread,
}

impl Comparison {
    /// True when the candidate is worse than the gate allows.
    pub fn regressed(&self) -> bool {
        !self.regressions.is_empty()
    }

    fn status(&self) -> &'static str {
        if self.regressed() { "REGRESSED" } else { "OK" }
    }
}

/// One run's side of a row.
struct Side<'a> {
    /// Calls, or deliveries expected.
    count: u64,
    /// Latency samples: calls, or deliveries delivered.
    samples: u64,
    latency: &'a LatencyMs,
    /// Errors, or deliveries missed.
    failed: u64,
    /// What failed, for the regression detail.
    failures: String,
}

fn op_side(o: &OperationSummary) -> Side<'_> {
    let failures: Vec<String> = o.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
    Side {
        count: o.count,
        samples: o.count,
        latency: &o.latency_ms,
        failed: o.errors.values().fold(0u64, |a, n| a.saturating_add(*n)),
        failures: failures.join(", "),
    }
}

fn delivery_side(d: &DeliverySummary) -> Side<'_> {
    Side {
        count: d.expected,
        samples: d.delivered,
        latency: &d.latency_ms,
        failed: d.missed,
        failures: format!("{} missed of {}", d.missed, d.expected),
    }
}

/// Why `s` cannot be compared, when it cannot: its schema is of another major version than
/// this build's, or it has no samples at all (no operation with a count above 0: the run made
/// no requests, or its latency samples were lost). The caller names the file.
pub fn check_input(s: &Summary) -> Result<(), String> {
    if !crate::report::summary::readable(&s.schema) {
        return Err(format!(
            "schema `{}` is not `{SCHEMA}` (another major version): this rcload cannot compare it",
            s.schema
        ));
    }
    if !s.operations.values().any(|o| o.count > 0) {
        return Err(
            "no samples: no operation has a count above 0 (the run made no requests, \
                    or its latency samples were lost); there is nothing to compare"
                .to_string(),
        );
    }
    Ok(())
}

/// Compare a candidate run against a base run.
pub fn compare(base: &Summary, candidate: &Summary, opts: &CompareOptions) -> Comparison {
    let mut warnings = Vec::new();
    if base.profile != candidate.profile {
        warnings.push(format!(
            "Different profiles compared: base {:?}, candidate {:?}; \
             the figures may not be comparable.",
            base.profile, candidate.profile
        ));
    }
    for (which, s) in [("base", base), ("candidate", candidate)] {
        if s.generator.fell_behind {
            warnings.push(format!(
                "The {which} run's generator fell behind: its latencies are not valid, \
                 and neither is this comparison."
            ));
        }
        if s.interrupted {
            warnings.push(format!(
                "The {which} run was interrupted before the end of its schedule."
            ));
        }
        if let (Verdict::Invalid, Some(why)) = (s.verdict, s.verdict_reasons.first()) {
            warnings.push(format!("The {which} run is invalid: {why}."));
        }
    }
    let (db, dc) = (base.duration_s, candidate.duration_s);
    if db > 0.0 && dc > 0.0 && (dc - db).abs() > 0.1 * db.max(dc) {
        warnings.push(format!(
            "The runs lasted differently ({db:.0} s and {dc:.0} s): \
             finding counts are not comparable."
        ));
    }

    let (bo, co) = (&base.operations, &candidate.operations);
    let mut rows = rows_of("", bo, co, op_side, opts);
    let (bd, cd) = (&base.deliveries, &candidate.deliveries);
    rows.extend(rows_of("delivery.", bd, cd, delivery_side, opts));
    for r in &rows {
        if r.count_base == 0 && r.count_cand > 0 {
            warnings.push(format!(
                "{}: not in the base, {} samples in the candidate; not compared.",
                r.name, r.count_cand
            ));
        }
    }

    let (phase_rows, lost_phases) = phases::phase_rows(base, candidate, opts);
    rows.extend(phase_rows);
    // A signal the base had and the candidate lost (no samples of an operation or delivery
    // type, in the whole run or in a phase) is a regression, not a note.
    for r in &mut rows {
        if r.count_base > 0 && r.count_cand == 0 {
            r.regressions.push(Regression {
                what: format!("{} missing", r.name),
                detail: format!(
                    "{} in the base, none in the candidate: the signal was lost",
                    r.count_base
                ),
            });
        }
    }
    // Added after the lost-signal rule: an operation missing in a run is its whole-run row's.
    let (window_rows, window_warning) = windows::window_rows(base, candidate, opts);
    rows.extend(window_rows);
    warnings.extend(window_warning);
    let mut regressions: Vec<Regression> =
        rows.iter().flat_map(|r| r.regressions.clone()).collect();
    regressions.extend(lost_phases);
    let drops = candidate.talkgroup_drops.iter().map(|d| {
        format!(
            "console {} talkgroup {} at {:.1} s ({})",
            d.console, d.talkgroup, d.t_s, d.phase
        )
    });
    let disconnects = candidate.console_disconnects.iter().map(|d| {
        format!(
            "console {} at {:.1} s ({}): {}",
            d.console, d.t_s, d.phase, d.reason
        )
    });
    let (bn, cn) = (base.talkgroup_drops.len(), candidate.talkgroup_drops.len());
    let (bc, cc) = (
        base.console_disconnects.len(),
        candidate.console_disconnects.len(),
    );
    let (bm, cm) = (base.missed_deliveries, candidate.missed_deliveries);
    let mut findings = Vec::new();
    for (what, b, c, examples) in [
        (
            "talkgroup drops",
            bn as u64,
            cn as u64,
            drops.collect::<Vec<_>>(),
        ),
        (
            "console disconnects",
            bc as u64,
            cc as u64,
            disconnects.collect(),
        ),
        ("missed deliveries", bm, cm, Vec::new()),
    ] {
        let regressed = c > b;
        if regressed {
            let mut detail = format!("{b} in the base, {c} in the candidate");
            if !examples.is_empty() {
                let _ = write!(detail, ": {}", examples[..examples.len().min(3)].join("; "));
                detail.push_str(if examples.len() > 3 { "; ..." } else { "" });
            }
            regressions.push(Regression {
                what: what.to_string(),
                detail,
            });
        }
        let (what, base, cand) = (what.to_string(), b, c);
        findings.push(FindingDelta {
            what,
            base,
            cand,
            regressed,
        });
    }

    Comparison {
        options: opts.clone(),
        base: RunLabel::of(base),
        candidate: RunLabel::of(candidate),
        rows,
        findings,
        regressions,
        warnings,
        base_runs: 1,
        base_spread: median::Spread::new(),
    }
}

/// Compare a candidate against the median of several base runs (the last N nights), with
/// their spread beside it. `bases` is not empty.
pub fn compare_many(bases: &[Summary], candidate: &Summary, opts: &CompareOptions) -> Comparison {
    let (m, spread) = median::median(bases);
    let mut c = compare(&m, candidate, opts);
    c.base_runs = bases.len();
    c.base_spread = spread;
    c
}

/// One row per name in either map, sorted.
fn rows_of<'a, T>(
    prefix: &str,
    base: &'a BTreeMap<String, T>,
    cand: &'a BTreeMap<String, T>,
    side: fn(&'a T) -> Side<'a>,
    opts: &CompareOptions,
) -> Vec<Row> {
    let names: BTreeSet<&String> = base.keys().chain(cand.keys()).collect();
    let one = |name: &String| {
        let (b, c) = (base.get(name).map(side), cand.get(name).map(side));
        row(format!("{prefix}{name}"), b.as_ref(), c.as_ref(), opts)
    };
    names.into_iter().map(one).collect()
}

fn row(
    name: String,
    base: Option<&Side<'_>>,
    cand: Option<&Side<'_>>,
    opts: &CompareOptions,
) -> Row {
    let main = opts.min_samples;
    let tail = opts.min_samples.saturating_mul(10);
    let at = |s: Option<&Side<'_>>, f: fn(&LatencyMs) -> f64| s.map(|s| (s.samples, f(s.latency)));
    let p50 = percentile(at(base, |l| l.p50), at(cand, |l| l.p50), main, opts);
    let p99 = percentile(at(base, |l| l.p99), at(cand, |l| l.p99), main, opts);
    let p999 = percentile(at(base, |l| l.p999), at(cand, |l| l.p999), tail, opts);
    let rate = |s: Option<&Side<'_>>| {
        s.filter(|s| s.count > 0)
            .map(|s| s.failed as f64 / s.count as f64)
    };
    let (error_rate_base, error_rate_cand) = (rate(base), rate(cand));
    let error_rate_regressed = match (error_rate_base, error_rate_cand) {
        (Some(b), Some(c)) => c > b * (1.0 + opts.max_regression) && c - b > MIN_ERROR_RATE_DELTA,
        _ => false,
    };
    let mut r = Row {
        name,
        count_base: base.map_or(0, |s| s.count),
        count_cand: cand.map_or(0, |s| s.count),
        p50,
        p99,
        p999,
        error_rate_base,
        error_rate_cand,
        error_rate_regressed,
        regressions: Vec::new(),
    };
    let mut regressions = Vec::new();
    for (label, p) in r.percentiles() {
        if let (true, Some(b), Some(c)) = (p.regressed, p.base, p.cand) {
            regressions.push(Regression {
                what: format!("{} {label}", r.name),
                detail: format!(
                    "{} ms → {} ms ({:+.1} ms, {}); gate: more than {} and more than {} ms",
                    fmt_ms(b),
                    fmt_ms(c),
                    c - b,
                    fmt_pct_change(p.delta_pct),
                    fmt_pct_change(Some(opts.max_regression * 100.0)),
                    fmt_ms(opts.min_delta_ms)
                ),
            });
        }
    }
    if let (true, Some(b), Some(c)) = (error_rate_regressed, error_rate_base, error_rate_cand) {
        let failures = cand.map(|s| s.failures.as_str()).unwrap_or_default();
        let mut detail = format!("{} → {}", fmt_rate(Some(b)), fmt_rate(Some(c)));
        if !failures.is_empty() {
            let _ = write!(detail, " ({failures})");
        }
        regressions.push(Regression {
            what: format!("{} error rate", r.name),
            detail,
        });
    }
    r.regressions = regressions;
    r
}

/// `base` and `cand` are (samples, value ms) when the run has the row at all.
fn percentile(
    base: Option<(u64, f64)>,
    cand: Option<(u64, f64)>,
    need: u64,
    opts: &CompareOptions,
) -> PercentileDelta {
    let value = |s: Option<(u64, f64)>| s.filter(|(n, _)| *n > 0).map(|(_, v)| v);
    let enough = |s: Option<(u64, f64)>| s.is_some_and(|(n, _)| n > 0 && n >= need);
    let (b, c) = (value(base), value(cand));
    let too_few_samples = !(enough(base) && enough(cand));
    let (delta_ms, delta_pct, rose) = match (b, c) {
        (Some(b), Some(c)) => {
            let pct = if b > 0.0 {
                Some((c - b) / b * 100.0)
            } else if c == b {
                Some(0.0)
            } else {
                None
            };
            let rose = c > b * (1.0 + opts.max_regression) && c - b > opts.min_delta_ms;
            (Some(c - b), pct, rose)
        }
        _ => (None, None, false),
    };
    PercentileDelta {
        base: b,
        cand: c,
        delta_ms,
        delta_pct,
        min_samples: need,
        too_few_samples,
        regressed: rose && !too_few_samples,
    }
}

/// Parse `--max-regression`: `10%`, `15 %` (percent) or `0.1` (a fraction) to a fraction.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, pct) = t
        .strip_suffix('%')
        .map_or((t, false), |n| (n.trim_end(), true));
    let err = |why: &str| format!("invalid regression limit `{s}`: {why}");
    let v: f64 = num
        .parse()
        .map_err(|_| err("expected a percentage like `10%` or a fraction like `0.1`"))?;
    match v {
        _ if !v.is_finite() => Err(err("must be a finite number")),
        _ if v < 0.0 => Err(err("must not be negative")),
        _ if pct => Ok(v / 100.0),
        _ if v > 1.0 => Err(err(&format!(
            "a bare number is a fraction between 0 and 1; write `{v}%` for a percentage"
        ))),
        _ => Ok(v),
    }
}

pub mod median;
mod phases;
mod render;
pub mod trend;
mod windows;
use render::{fmt_ms, fmt_pct_change, fmt_rate};
pub use render::{to_html, to_json, to_markdown};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::{ConsoleDisconnect, TalkgroupDrop};
    use serde_json::json;

    fn lat(p50: f64, p99: f64, p999: f64) -> serde_json::Value {
        json!({"p50": p50, "p90": p50, "p99": p99, "p999": p999, "max": p999, "mean": p50})
    }

    /// A summary with the given operations: (name, count, p50, p99, p999) in ms, each as
    /// fast in its worst minute as over the whole run.
    fn summary(ops: &[(&str, u64, f64, f64, f64)]) -> Summary {
        let mut operations = serde_json::Map::new();
        let mut worst = serde_json::Map::new();
        for &(name, count, p50, p99, p999) in ops {
            let l = lat(p50, p99, p999);
            let o = json!({"count": count, "ok": count, "errors": {},
                           "latency_ms": l, "service_ms": l});
            operations.insert(name.to_string(), o);
            let w = json!({"start_s": 0.0, "samples": count / 60, "latency_ms": l});
            worst.insert(name.to_string(), w);
        }
        serde_json::from_value(json!({
            "schema": "rcload.summary/1", "rcload_version": "0.0.0", "profile": "soak", "seed": 7,
            "target": "mock", "started_at": "2024-01-01T00:00:00.000Z", "duration_s": 3600.0,
            "interrupted": false,
            "generator": {
                "actions_scheduled": 10, "actions_sent": 10, "skipped": {}, "throttled": 0,
                "lateness_ms": {"p50": 0.1, "p99": 0.5, "max": 1.0},
                "fell_behind": false, "lateness_limit_ms": 50.0
            },
            "operations": operations, "deliveries": {}, "phases": {},
            "talkgroup_drops": [], "console_disconnects": [], "unexpected_talkgroups": [],
            "console_downtime_s": {"total": 0.0, "consoles": {}}, "missed_deliveries": 0,
            "probes": {"calls": 0, "errors": 0, "expected": 0, "delivered": 0, "missed": 0,
                       "latency_ms": lat(0.0, 0.0, 0.0)},
            "slo": [], "verdict": "PASS", "warnings": [], "process": {"peak_rss_mb": null},
            "worst_window_s": 60.0, "worst_windows": worst
        }))
        .expect("synthetic summary deserializes")
    }

    fn base() -> Summary {
        summary(&[
            ("console.login", 5000, 10.0, 40.0, 80.0),
            ("call.group", 20000, 20.0, 100.0, 200.0),
        ])
    }

    fn op<'a>(s: &'a mut Summary, name: &str) -> &'a mut OperationSummary {
        s.operations.get_mut(name).expect("operation exists")
    }

    fn whats(c: &Comparison) -> Vec<&str> {
        c.regressions.iter().map(|r| r.what.as_str()).collect()
    }

    fn row<'a>(c: &'a Comparison, name: &str) -> &'a Row {
        c.rows.iter().find(|r| r.name == name).expect("row exists")
    }

    #[test]
    fn identical_runs_do_not_regress() {
        let c = compare(&base(), &base(), &CompareOptions::default());
        assert!(!c.regressed() && c.warnings.is_empty(), "{c:?}");
        // Two operations, whole run and worst minute.
        assert_eq!(c.rows.len(), 4);
        assert!(to_markdown(&c).starts_with("# rcload compare: OK"));
    }

    #[test]
    fn p99_up_fifty_percent_is_exactly_that_regression() {
        let mut k = base();
        op(&mut k, "call.group").latency_ms.p99 = 150.0;
        let c = compare(&base(), &k, &CompareOptions::default());
        assert_eq!(whats(&c), ["call.group p99"]);
        let r = row(&c, "call.group");
        assert!(r.p99.regressed && !r.p50.regressed && !r.p999.regressed);
        assert_eq!((r.p99.delta_pct, r.regressions.len()), (Some(50.0), 1));
        let md = to_markdown(&c);
        assert!(
            md.starts_with("# rcload compare: REGRESSED") && md.contains("**+50.0 %**"),
            "{md}"
        );
    }

    #[test]
    fn below_noise_floor_is_not_a_regression() {
        let b = summary(&[("terminal.status", 5000, 1.0, 2.0, 3.0)]);
        let k = summary(&[("terminal.status", 5000, 1.5, 3.0, 4.5)]);
        let c = compare(&b, &k, &CompareOptions::default());
        assert!(!c.regressed(), "{:?}", c.regressions);
        assert_eq!(c.rows[0].p99.delta_pct, Some(50.0));
    }

    #[test]
    fn too_few_samples_are_shown_not_gating() {
        // p50 and p99 have enough samples (500 >= 100); p99.9 needs 1000.
        let b = summary(&[("console.attach", 500, 10.0, 50.0, 100.0)]);
        let k = summary(&[("console.attach", 500, 10.0, 50.0, 300.0)]);
        let c = compare(&b, &k, &CompareOptions::default());
        let r = &c.rows[0];
        assert!(!c.regressed() && r.p999.too_few_samples && !r.p99.too_few_samples);
        assert_eq!(r.p999.cand, Some(300.0));
        assert!(to_markdown(&c).contains("+200.0 % (too few samples)"));
        let b = summary(&[("console.attach", 50, 10.0, 50.0, 100.0)]);
        let k = summary(&[("console.attach", 50, 30.0, 150.0, 300.0)]);
        let c = compare(&b, &k, &CompareOptions::default());
        assert!(!c.regressed() && c.rows[0].p50.too_few_samples && c.rows[0].p99.too_few_samples);
    }

    #[test]
    fn new_drops_and_disconnects_regress() {
        let mut k = base();
        let (phase, console) = ("steady".to_string(), "C01".to_string());
        k.talkgroup_drops.push(TalkgroupDrop {
            t_s: 12.5,
            phase: phase.clone(),
            console: console.clone(),
            talkgroup: 1001,
            detected_by: "audit".into(),
            recovered_after_s: None,
            last_ok_s: 10.0,
            detection_s: 2.5,
            outage_s: 50.0,
        });
        k.console_disconnects.push(ConsoleDisconnect {
            t_s: 30.0,
            phase,
            console,
            reason: "stream_end".into(),
            recovered_after_s: Some(1.0),
            last_ok_s: 29.0,
            detection_s: 1.0,
            outage_s: 2.0,
        });
        let c = compare(&base(), &k, &CompareOptions::default());
        assert_eq!(whats(&c), ["talkgroup drops", "console disconnects"]);
        assert!(c.regressions[0].detail.contains("talkgroup 1001"));
        assert!(c.findings[0].regressed && !c.findings[2].regressed);
        // The same findings in both runs are not a regression.
        assert!(!compare(&k, &k, &CompareOptions::default()).regressed());
    }

    #[test]
    fn error_rate_jump_and_missed_deliveries_regress() {
        let mut k = base();
        op(&mut k, "console.login")
            .errors
            .insert("timeout".into(), 50);
        k.missed_deliveries = 3;
        let c = compare(&base(), &k, &CompareOptions::default());
        assert_eq!(whats(&c), ["console.login error rate", "missed deliveries"]);
        assert!(c.regressions[0].detail.contains("timeout 50"));
        let r = row(&c, "console.login");
        assert!(r.error_rate_regressed && r.error_rate_cand == Some(0.01));
        // A rise below 0.1 point is noise.
        let mut k = base();
        op(&mut k, "console.login")
            .errors
            .insert("timeout".into(), 4);
        assert!(!compare(&base(), &k, &CompareOptions::default()).regressed());
    }

    #[test]
    fn deliveries_and_warnings() {
        let mut b = base();
        let latency_ms = LatencyMs {
            p50: 5.0,
            p99: 10.0,
            p999: 20.0,
            ..LatencyMs::default()
        };
        let d = DeliverySummary {
            expected: 1000,
            delivered: 1000,
            missed: 0,
            latency_ms,
        };
        b.deliveries.insert("emergency.alert".into(), d);
        let mut k = b.clone();
        k.operations.remove("console.login");
        k.profile = "soak-v2".into();
        k.generator.fell_behind = true;
        if let Some(d) = k.deliveries.get_mut("emergency.alert") {
            (d.delivered, d.missed) = (990, 10);
        }
        let c = compare(&b, &k, &CompareOptions::default());
        let names: Vec<&str> = c.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names[..3],
            ["call.group", "console.login", "delivery.emergency.alert"]
        );
        // Then the worst minutes (here as in the base).
        assert!(names[3..].iter().all(|n| n.starts_with("worst 1m: ")));
        // A signal the candidate lost is a regression, not a note.
        assert_eq!(
            whats(&c),
            [
                "console.login missing",
                "delivery.emergency.alert error rate"
            ]
        );
        assert_eq!(c.rows[1].status(), "REGRESSED");
        assert!(c.regressions[0].detail.contains("5000 in the base, none"));
        let w = c.warnings.join("\n");
        assert!(w.contains("Different profiles"), "{w}");
        assert!(w.contains("candidate run's generator fell behind"), "{w}");
    }

    /// `b` with a phase `shift_change` whose console.login p99 is `p99` ms, and emergency
    /// alerts (30 delivered) in the whole run.
    fn with_phase(mut b: Summary, p99: f64) -> Summary {
        let phase = json!({
            "start_s": 3000.0, "end_s": 3300.0,
            "operations": {"console.login": {"count": 400, "errors": 0,
                                             "latency_ms": lat(10.0, p99, p99)}},
            "deliveries": {}, "talkgroup_drops": 0, "console_disconnects": 0,
            "missed_deliveries": 0
        });
        b.phases.insert(
            "shift_change".into(),
            serde_json::from_value(phase).expect("phase"),
        );
        b
    }

    #[test]
    fn a_regression_only_during_the_shift_change_of_a_quiet_run_fails_the_gate() {
        let b = with_phase(base(), 40.0);
        let k = with_phase(base(), 900.0);
        let c = compare(&b, &k, &CompareOptions::default());
        assert_eq!(whats(&c), ["shift_change: console.login p99"], "{c:?}");
        assert!(
            !row(&c, "console.login").p99.regressed,
            "the whole run hides it"
        );
        // A phase that did not happen in the candidate is a lost signal.
        let c = compare(&b, &base(), &CompareOptions::default());
        assert_eq!(whats(&c), ["phase shift_change"], "{c:?}");
    }

    #[test]
    fn a_candidate_that_lost_every_emergency_alert_regresses() {
        let mut b = base();
        let latency_ms: LatencyMs = serde_json::from_value(lat(50.0, 90.0, 90.0)).unwrap();
        let d = DeliverySummary {
            expected: 30,
            delivered: 30,
            missed: 0,
            latency_ms,
        };
        b.deliveries.insert("emergency.alert".into(), d);
        let c = compare(&b, &base(), &CompareOptions::default());
        assert!(c.regressed(), "{c:?}");
        assert_eq!(whats(&c), ["delivery.emergency.alert missing"]);
    }

    #[test]
    fn several_bases_are_judged_by_their_median_with_the_spread() {
        let mut bases = vec![base(), base(), base()];
        for (b, p99) in bases.iter_mut().zip([100.0, 400.0, 110.0]) {
            op(b, "call.group").latency_ms.p99 = p99;
        }
        let mut k = base();
        op(&mut k, "call.group").latency_ms.p99 = 130.0;
        let c = compare_many(&bases, &k, &CompareOptions::default());
        assert_eq!(row(&c, "call.group").p99.base, Some(110.0));
        assert_eq!(whats(&c), ["call.group p99"], "130 is over 110 + 10 %");
        assert_eq!(c.base_spread["call.group"], (100.0, 400.0));
        assert!(to_markdown(&c).contains("Spread of the 3 base runs"));
    }

    #[test]
    fn renderers_contain_names_and_escape() {
        let b = summary(&[
            ("op<script>", 5000, 10.0, 40.0, 80.0),
            ("call.end", 5000, 1.0, 2.0, 3.0),
        ]);
        let mut k = b.clone();
        op(&mut k, "op<script>").latency_ms.p99 = 80.0;
        let c = compare(&b, &k, &CompareOptions::default());
        let md = to_markdown(&c);
        assert!(
            md.contains("op&lt;script&gt;") && !md.contains("<script>"),
            "{md}"
        );
        assert!(md.contains("call.end"));
        let html = to_html(&c);
        assert!(html.starts_with("<!DOCTYPE html>") && html.contains("op&lt;script&gt; p99"));
        assert!(!html.contains("<script") && html.contains("call.end"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        let j: serde_json::Value =
            serde_json::from_str(&to_json(&c).expect("json")).expect("valid");
        assert_eq!(j["regressed"], json!(true));
        assert_eq!(j["rows"][1]["name"], json!("op<script>"));
        assert_eq!(j["rows"][1]["p99"]["regressed"], json!(true));
    }

    #[test]
    fn other_schemas_and_runs_without_samples_cannot_be_compared() {
        assert_eq!(check_input(&base()), Ok(()));
        let mut s = base();
        s.schema = "rcload.summary/1.1".into();
        assert_eq!(check_input(&s), Ok(()));
        s.schema = "rcload.summary/999".into();
        let e = check_input(&s).unwrap_err();
        assert!(e.contains("`rcload.summary/999`"), "{e}");
        let zero = summary(&[("console.login", 0, 0.0, 0.0, 0.0)]);
        assert!(check_input(&zero).unwrap_err().starts_with("no samples"));
        assert!(
            check_input(&summary(&[]))
                .unwrap_err()
                .starts_with("no samples")
        );
    }

    #[test]
    fn parse_percent_forms() {
        let ok = [
            ("10%", 0.10),
            ("0.1", 0.10),
            ("15 %", 0.15),
            (" 2.5% ", 0.025),
            ("0", 0.0),
            ("150%", 1.5),
        ];
        for (s, v) in ok {
            let x = parse_percent(s).expect(s);
            assert!((x - v).abs() < 1e-12, "{s}: {x} != {v}");
        }
        for bad in ["-5%", "-0.1", "abc", "", "%", "10%%", "NaN", "inf%", "10"] {
            let e = parse_percent(bad).expect_err(bad);
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
    }
}
