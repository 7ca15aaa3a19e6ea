//! Which shards a merge has: the test's shard count, the shards that finished, those missing
//! or killed (each an invalid reason), and the clock skew between their starts. Pure: over
//! what was read of each directory.

use crate::report::runinfo::{RunInfo, StartRecord};
use crate::schedule::Shard;
use std::path::PathBuf;
use std::time::Duration;

/// What was found in one directory given to the merge.
#[derive(Debug, Clone)]
pub struct Found {
    pub dir: PathBuf,
    /// Its run.json, or why there is none.
    pub info: Result<RunInfo, String>,
    /// It holds summary.json and totals.json: the run ended and wrote its results.
    pub finished: bool,
}

/// The shards of one test, as the merge will use them.
#[derive(Debug, Clone, PartialEq)]
pub struct Census {
    /// The test's shard count (N).
    pub count: u32,
    /// Positions (in the directories given) of the finished shards, by shard index.
    pub finished: Vec<usize>,
    /// Why the data is incomplete: shards missing or not finished, directories unreadable.
    pub incomplete: Vec<String>,
}

/// Why the directories are not the shards of one test (exit 2: nothing to merge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CensusError {
    #[error("none of the directories holds a shard's run.json: {0}")]
    NoShard(String),
    #[error("{dir} is not a shard (run.json has no `shard`: it was not run with --shard I/N)")]
    NotAShard { dir: String },
    #[error("{dir} is shard {shard}, another test's: {why} ({first} is shard {first_shard})")]
    OtherTest {
        dir: String,
        shard: Shard,
        why: String,
        first: String,
        first_shard: Shard,
    },
    #[error("shard {shard} is given twice: {a} and {b}")]
    Twice { shard: Shard, a: String, b: String },
}

/// Sort the directories into the shards of one test.
pub fn census(found: &[Found]) -> Result<Census, CensusError> {
    let shown = |i: usize| found[i].dir.display().to_string();
    let mut incomplete = Vec::new();
    let mut first: Option<(usize, &RunInfo, Shard)> = None;
    let mut by_index: std::collections::BTreeMap<u32, usize> = Default::default();
    for (i, f) in found.iter().enumerate() {
        let info = match &f.info {
            Ok(info) => info,
            Err(why) => {
                incomplete.push(format!("{} holds no run of a shard: {why}", shown(i)));
                continue;
            }
        };
        let Some(shard) = info.shard else {
            return Err(CensusError::NotAShard { dir: shown(i) });
        };
        match first {
            None => first = Some((i, info, shard)),
            Some((j, head, head_shard)) => {
                if let Some(why) = other_test(head, head_shard, info, shard) {
                    return Err(CensusError::OtherTest {
                        dir: shown(i),
                        shard,
                        why,
                        first: shown(j),
                        first_shard: head_shard,
                    });
                }
            }
        }
        if let Some(j) = by_index.insert(shard.index, i) {
            return Err(CensusError::Twice {
                shard,
                a: shown(j),
                b: shown(i),
            });
        }
    }
    let Some((_, _, head_shard)) = first else {
        let dirs: Vec<String> = (0..found.len()).map(shown).collect();
        return Err(CensusError::NoShard(dirs.join(", ")));
    };
    let count = head_shard.count;
    let mut finished = Vec::new();
    for index in 0..count {
        let shard = Shard { index, count };
        match by_index.get(&index) {
            None => incomplete.push(format!(
                "shard {shard} is missing: none of the directories given holds it, so its \
                 consoles' deliveries and its terminals' actions are not in the figures"
            )),
            Some(i) if !found[*i].finished => incomplete.push(format!(
                "shard {shard} ({}) did not finish: it has no summary.json or totals.json \
                 (killed, or still running), so its part of the test is not in the figures",
                shown(*i)
            )),
            Some(i) => finished.push(*i),
        }
    }
    Ok(Census {
        count,
        finished,
        incomplete,
    })
}

/// Why `b` (shard `sb`) is not of the same test as `a` (shard `sa`), if it is not.
fn other_test(a: &RunInfo, sa: Shard, b: &RunInfo, sb: Shard) -> Option<String> {
    if sa.count != sb.count {
        return Some(format!("{} shards, not {}", sb.count, sa.count));
    }
    if a.seed != b.seed {
        return Some(format!("seed {}, not {}", b.seed, a.seed));
    }
    if a.profile != b.profile {
        return Some(format!("profile `{}`, not `{}`", b.profile, a.profile));
    }
    if a.interval_s != b.interval_s {
        return Some(format!(
            "interval {} s, not {} s",
            b.interval_s, a.interval_s
        ));
    }
    if a.phases != b.phases {
        return Some("other phases".to_string());
    }
    None
}

/// Warnings about the shards' starts: those that began more than `max_skew` after the
/// earliest, shards given another instant, and shards without a common start.
pub fn skew_warnings(starts: &[(Shard, Option<&StartRecord>)], max_skew: Duration) -> Vec<String> {
    let mut out = Vec::new();
    let without: Vec<String> = starts
        .iter()
        .filter(|(_, s)| s.is_none())
        .map(|(shard, _)| shard.to_string())
        .collect();
    if !without.is_empty() && without.len() < starts.len() {
        out.push(format!(
            "Shards {} had no common start (--start-at): their clocks may be apart from the \
             others' by their set-up time.",
            without.join(", ")
        ));
    } else if !without.is_empty() && starts.len() > 1 {
        out.push(
            "The shards had no common start (--start-at): their clocks may be apart by their \
             set-up times, so the load the target saw at any moment mixes schedule times."
                .to_string(),
        );
    }
    let timed: Vec<(Shard, &StartRecord)> = starts
        .iter()
        .filter_map(|(shard, s)| s.map(|s| (*shard, s)))
        .collect();
    let Some(first) = timed
        .iter()
        .map(|(_, s)| began_s(s))
        .min_by(|a, b| a.total_cmp(b))
    else {
        return out;
    };
    let asked: std::collections::BTreeSet<&str> =
        timed.iter().map(|(_, s)| s.requested.as_str()).collect();
    if asked.len() > 1 {
        out.push(format!(
            "The shards were given different start instants: {}.",
            asked.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let limit_ms = max_skew.as_secs_f64() * 1e3;
    for (shard, s) in &timed {
        let after_ms = (began_s(s) - first) * 1e3;
        if after_ms > limit_ms {
            out.push(format!(
                "Shard {shard} started {after_ms:.1} ms after the first shard (skew limit \
                 {limit_ms:.1} ms; {} late for {}, its set-up overran it): its actions reached \
                 the target that much later than the others' of the same schedule time, and \
                 its consoles expected the others' deliveries that much late. Each latency is \
                 measured from its own shard's clock and stays valid, but the load the target \
                 saw at any moment mixed schedule times that far apart.",
                fmt_ms(s.late_ms),
                s.requested
            ));
        }
    }
    out
}

/// When a shard's clock began, unix seconds.
fn began_s(s: &StartRecord) -> f64 {
    s.requested_unix_s + s.late_ms / 1e3
}

fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1e3)
    } else {
        format!("{ms:.1} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(index: u32, count: u32, seed: u64) -> RunInfo {
        serde_json::from_value(serde_json::json!({
            "schema": crate::report::runinfo::RUN_SCHEMA,
            "rcload_version": "0.1.0",
            "profile": "p",
            "profile_source": "p.yaml",
            "seed": seed,
            "target": "mock",
            "started_at": "2026-12-02T12:00:00.000Z",
            "started_at_unix_s": 1.8e9,
            "interval_s": 1.0,
            "planned_duration_s": 20.0,
            "lateness_limit_ms": 10.0,
            "phases": [],
            "command": [],
            "platform": "linux",
            "shard": {"index": index, "count": count},
        }))
        .expect("a run.json")
    }

    fn found(index: u32, count: u32, finished: bool) -> Found {
        Found {
            dir: PathBuf::from(format!("s{index}")),
            info: Ok(info(index, count, 7)),
            finished,
        }
    }

    #[test]
    fn missing_and_unfinished_shards_are_named() {
        let c =
            census(&[found(2, 4, true), found(0, 4, true), found(3, 4, false)]).expect("one test");
        assert_eq!(c.count, 4);
        assert_eq!(c.finished, vec![1, 0]);
        assert_eq!(c.incomplete.len(), 2, "{:?}", c.incomplete);
        assert!(c.incomplete[0].starts_with("shard 1/4 is missing"));
        assert!(c.incomplete[1].starts_with("shard 3/4 (s3) did not finish"));
        let whole = census(&[found(1, 2, true), found(0, 2, true)]).expect("one test");
        assert!(whole.incomplete.is_empty());
    }

    #[test]
    fn shards_of_other_tests_or_twice_are_refused() {
        let mut other = found(1, 4, true);
        other.info = Ok(info(1, 4, 8));
        let e = census(&[found(0, 4, true), other]).expect_err("another seed");
        assert!(e.to_string().contains("seed 8, not 7"), "{e}");
        let e = census(&[found(0, 4, true), found(0, 4, true)]).expect_err("twice");
        assert!(matches!(e, CensusError::Twice { .. }));
        let e = census(&[found(0, 4, true), found(1, 3, true)]).expect_err("other count");
        assert!(e.to_string().contains("3 shards, not 4"), "{e}");
    }

    #[test]
    fn a_late_shard_is_named_in_a_warning() {
        let rec = |late_ms: f64| StartRecord {
            requested: "2026-12-02T12:00:00.000Z".into(),
            requested_unix_s: 1.8e9,
            late_ms,
            woke_ms: 1.0,
            clock: "realtime".into(),
        };
        let (a, b, c) = (rec(0.4), rec(1.2), rec(812.3));
        let s = |index| Shard { index, count: 3 };
        let starts = [(s(0), Some(&a)), (s(1), Some(&b)), (s(2), Some(&c))];
        let w = skew_warnings(&starts, Duration::from_millis(5));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("Shard 2/3 started 811.9 ms after the first"),
            "{}",
            w[0]
        );
        assert!(skew_warnings(&starts[..2], Duration::from_millis(5)).is_empty());
    }
}
