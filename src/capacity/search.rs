//! The capacity search and the stage judge: pure functions of the stage results so far.
//!
//! Levels rise by steps (`--steps N` from `--from` to `--to`) or by a factor (`--factor F`)
//! until a stage fails; with bisection, the levels between the last pass and the first fail are
//! then halved until they are within the resolution of each other. When the lowest level fails,
//! levels halve downward to the floor, so the search always states a capacity or that it is
//! below the floor.

use serde::{Deserialize, Serialize};

/// How levels are chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPlan {
    pub from: f64,
    pub to: f64,
    pub step: Step,
    /// Narrow down between the last pass and the first fail.
    pub bisect: bool,
    /// Bisection stops when the fail is within this share above the pass (0.05 = 5 %).
    pub resolution: f64,
    /// Most stages in all (a bound on the run).
    pub max_stages: usize,
    /// The lowest level tried when the lowest of the ladder fails.
    pub floor: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// `n` levels evenly from `from` to `to`.
    Linear(usize),
    /// Each level this factor above the last.
    Factor(f64),
}

/// What the search needs of a finished stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub level: f64,
    pub passed: bool,
}

/// Why a stage failed, or that it passed: every objective passed and the generator kept to
/// the schedule (a generator that fell behind did not offer the level: the stage does not
/// count as a pass).
pub fn judge_stage(
    slo_failed: &[String],
    fell_behind: bool,
    interrupted: bool,
) -> (bool, Option<String>) {
    if interrupted {
        return (false, Some("interrupted".into()));
    }
    if fell_behind {
        return (
            false,
            Some("the generator fell behind: this level was not offered".into()),
        );
    }
    match slo_failed.first() {
        Some(first) => (false, Some(format!("{first} failed"))),
        None => (true, None),
    }
}

/// The rising levels of the plan (before any bisection).
pub fn ladder(plan: &SearchPlan) -> Vec<f64> {
    let mut out = Vec::new();
    match plan.step {
        Step::Linear(n) => {
            let n = n.max(1);
            for i in 0..n {
                let x = if n == 1 {
                    plan.from
                } else {
                    plan.from + (plan.to - plan.from) * i as f64 / (n - 1) as f64
                };
                out.push(round(x));
            }
        }
        Step::Factor(f) => {
            let f = if f > 1.0 { f } else { 2.0 };
            let mut x = plan.from;
            while x <= plan.to * (1.0 + 1e-9) && out.len() < 1000 {
                out.push(round(x));
                x *= f;
            }
        }
    }
    out.dedup();
    out
}

fn round(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The next level to run, or `None` when the search is done.
pub fn next_level(plan: &SearchPlan, done: &[Verdict]) -> Option<f64> {
    if done.len() >= plan.max_stages {
        return None;
    }
    let first_fail = done
        .iter()
        .filter(|v| !v.passed)
        .map(|v| v.level)
        .fold(None, min);
    match first_fail {
        None => ladder(plan)
            .into_iter()
            .find(|l| !done.iter().any(|v| (v.level - l).abs() < 1e-9)),
        Some(fail) => {
            let pass = done
                .iter()
                .filter(|v| v.passed && v.level < fail)
                .map(|v| v.level)
                .fold(None, max);
            match pass {
                // Nothing passed yet: halve downward, down to the floor.
                None => {
                    let next = round((fail / 2.0).max(plan.floor));
                    (next < fail - 1e-9).then_some(next)
                }
                Some(pass) if plan.bisect => {
                    if fail - pass <= pass.abs() * plan.resolution + 1e-9 {
                        return None;
                    }
                    let mid = round((pass + fail) / 2.0);
                    (mid > pass && mid < fail).then_some(mid)
                }
                Some(_) => None,
            }
        }
    }
}

fn min(acc: Option<f64>, x: f64) -> Option<f64> {
    Some(acc.map_or(x, |a| a.min(x)))
}

fn max(acc: Option<f64>, x: f64) -> Option<f64> {
    Some(acc.map_or(x, |a| a.max(x)))
}

/// The outcome: the highest level that passed below the first that failed.
pub fn outcome(done: &[Verdict]) -> (Option<f64>, Option<f64>) {
    let fail = done
        .iter()
        .filter(|v| !v.passed)
        .map(|v| v.level)
        .fold(None, min);
    let pass = done
        .iter()
        .filter(|v| v.passed && fail.is_none_or(|f| v.level < f))
        .map(|v| v.level)
        .fold(None, max);
    (pass, fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(step: Step, bisect: bool) -> SearchPlan {
        SearchPlan {
            from: 0.5,
            to: 4.0,
            step,
            bisect,
            resolution: 0.05,
            max_stages: 30,
            floor: 0.1,
        }
    }

    /// Run the search against a system that passes every level up to `capacity`.
    fn search(p: &SearchPlan, capacity: f64) -> Vec<Verdict> {
        let mut done = Vec::new();
        while let Some(level) = next_level(p, &done) {
            done.push(Verdict {
                level,
                passed: level <= capacity,
            });
        }
        done
    }

    #[test]
    fn ladders() {
        assert_eq!(
            ladder(&plan(Step::Linear(8), false)),
            vec![0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
        );
        assert_eq!(
            ladder(&plan(Step::Factor(2.0), false)),
            vec![0.5, 1.0, 2.0, 4.0]
        );
    }

    #[test]
    fn the_search_stops_at_the_first_fail_and_bisects_to_the_resolution() {
        let done = search(&plan(Step::Linear(8), false), 2.2);
        assert_eq!(
            done.iter().map(|v| v.level).collect::<Vec<_>>(),
            vec![0.5, 1.0, 1.5, 2.0, 2.5]
        );
        assert_eq!(outcome(&done), (Some(2.0), Some(2.5)));

        let done = search(&plan(Step::Factor(2.0), true), 2.6);
        let (pass, fail) = outcome(&done);
        let (pass, fail) = (pass.unwrap(), fail.unwrap());
        assert!(pass <= 2.6 && fail > 2.6, "{done:?}");
        assert!(fail - pass <= pass * 0.05 + 1e-9, "{done:?}");
        assert!(done.len() <= 10, "{done:?}");
    }

    #[test]
    fn edge_cases() {
        // Fails at the lowest level: the search goes down, halving, and finds the capacity.
        let done = search(&plan(Step::Factor(2.0), false), 0.2);
        assert_eq!(
            done.iter().map(|v| v.level).collect::<Vec<_>>(),
            vec![0.5, 0.25, 0.125]
        );
        assert_eq!(outcome(&done), (Some(0.125), Some(0.25)));
        let done = search(&plan(Step::Factor(2.0), true), 0.2);
        let (pass, fail) = outcome(&done);
        assert!(pass.unwrap() <= 0.2 && fail.unwrap() > 0.2, "{done:?}");
        // Fails at the floor too: the capacity is below it.
        let done = search(&plan(Step::Factor(2.0), true), 0.05);
        assert_eq!(
            done.iter().map(|v| v.level).collect::<Vec<_>>(),
            vec![0.5, 0.25, 0.125, 0.1]
        );
        assert_eq!(outcome(&done), (None, Some(0.1)));
        // Never fails: the top of the ladder passed.
        let done = search(&plan(Step::Factor(2.0), true), 100.0);
        assert_eq!(outcome(&done), (Some(4.0), None));
        // The bound on stages holds.
        let mut p = plan(Step::Linear(100), false);
        p.max_stages = 3;
        assert_eq!(search(&p, 100.0).len(), 3);
    }

    #[test]
    fn a_stage_passes_only_when_everything_held() {
        assert_eq!(judge_stage(&[], false, false), (true, None));
        let (ok, why) = judge_stage(&["terminal.status p99".into()], false, false);
        assert!(!ok && why.unwrap().contains("terminal.status p99"));
        let (ok, why) = judge_stage(&[], true, false);
        assert!(!ok && why.unwrap().contains("fell behind"));
        assert!(!judge_stage(&[], false, true).0);
    }
}
