//! Worst-window comparison: each operation's and delivery type's worst minute (the summary's
//! `worst_windows`), base against candidate, so that a bad minute of an otherwise quiet night
//! regresses even where the whole run's and its phase's percentiles hide it. The rows are
//! named `worst 1m: <operation>`; their regressions say when each run's window started.

use super::{CompareOptions, Row, Side, rows_of};
use crate::report::summary::{Summary, WorstWindow};

/// The row-name prefix of worst windows `window_s` long: `worst 1m: `.
pub(super) fn prefix(window_s: f64) -> String {
    let s = window_s.round() as u64;
    if s > 0 && s.is_multiple_of(60) {
        format!("worst {}m: ", s / 60)
    } else {
        format!("worst {s}s: ")
    }
}

fn window_side(w: &WorstWindow) -> Side<'_> {
    Side {
        count: w.samples,
        samples: w.samples,
        latency: &w.latency_ms,
        failed: 0,
        failures: String::new(),
    }
}

/// One row per operation and delivery type with a worst window in both runs (one that only
/// one run has is the whole-run row's business: missing or new), and a warning when a run
/// has no worst windows to compare (a summary written before they were added) or the runs'
/// windows differ in length.
pub(super) fn window_rows(
    base: &Summary,
    cand: &Summary,
    opts: &CompareOptions,
) -> (Vec<Row>, Option<String>) {
    for (which, s) in [("base", base), ("candidate", cand)] {
        if s.worst_windows.is_empty() {
            let warning = format!(
                "The {which} summary has no worst windows (written by an rcload before they \
                 were added): worst windows are not compared."
            );
            return (Vec::new(), Some(warning));
        }
    }
    if (base.worst_window_s - cand.worst_window_s).abs() > 1e-9 {
        let warning = format!(
            "The runs' worst windows differ in length ({} s and {} s): not compared.",
            base.worst_window_s, cand.worst_window_s
        );
        return (Vec::new(), Some(warning));
    }
    let prefix = prefix(base.worst_window_s);
    let (bw, cw) = (&base.worst_windows, &cand.worst_windows);
    let mut rows = rows_of(&prefix, bw, cw, window_side, opts);
    rows.retain(|r| r.count_base > 0 && r.count_cand > 0);
    for r in &mut rows {
        let name = r.name.trim_start_matches(prefix.as_str());
        if let (Some(b), Some(c)) = (bw.get(name), cw.get(name)) {
            for g in &mut r.regressions {
                g.detail.push_str(&format!(
                    " (base window from t={:.0} s, candidate from t={:.0} s)",
                    b.start_s, c.start_s
                ));
            }
        }
    }
    (rows, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::LatencyMs;

    fn window(start_s: f64, samples: u64, p99: f64) -> WorstWindow {
        WorstWindow {
            start_s,
            samples,
            latency_ms: LatencyMs {
                p50: p99 / 4.0,
                p90: p99 / 2.0,
                p99,
                p999: p99,
                max: p99,
                mean: p99 / 4.0,
            },
        }
    }

    fn with_windows(ws: &[(&str, WorstWindow)]) -> Summary {
        let mut s = crate::report::fixtures::findings_summary();
        s.worst_window_s = 60.0;
        s.worst_windows = ws.iter().map(|(k, w)| (k.to_string(), w.clone())).collect();
        s
    }

    #[test]
    fn a_worse_minute_regresses_and_says_when() {
        let base = with_windows(&[("terminal.register", window(100.0, 500, 40.0))]);
        let cand = with_windows(&[("terminal.register", window(7_200.0, 500, 400.0))]);
        let (rows, warning) = window_rows(&base, &cand, &CompareOptions::default());
        assert!(warning.is_none());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].name, "worst 1m: terminal.register");
        assert!(rows[0].p99.regressed);
        let detail = &rows[0].regressions[0].detail;
        assert!(detail.ends_with("(base window from t=100 s, candidate from t=7200 s)"));
        // As good as the base: no row regresses.
        let (same, _) = window_rows(&base, &base, &CompareOptions::default());
        assert!(same.iter().all(|r| r.regressions.is_empty()));
    }

    #[test]
    fn too_few_samples_and_missing_windows_do_not_gate() {
        let base = with_windows(&[
            ("delivery.emergency.alert", window(0.0, 12, 40.0)),
            ("console.login", window(0.0, 400, 5.0)),
        ]);
        let cand = with_windows(&[("delivery.emergency.alert", window(0.0, 12, 900.0))]);
        let (rows, _) = window_rows(&base, &cand, &CompareOptions::default());
        assert_eq!(rows.len(), 1, "console.login is in one run only");
        assert!(rows[0].p99.too_few_samples && !rows[0].p99.regressed);
        let old = with_windows(&[]);
        let (rows, warning) = window_rows(&old, &cand, &CompareOptions::default());
        assert!(rows.is_empty());
        assert!(warning.is_some_and(|w| w.starts_with("The base summary has no worst windows")));
        assert_eq!(prefix(30.0), "worst 30s: ");
    }
}
