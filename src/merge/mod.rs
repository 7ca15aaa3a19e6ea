//! `rcload merge`: the run directories of a sharded test (`run --shard I/N`) made into one
//! run directory, as one process would have written it: the shards' exact aggregates
//! (`totals.json`) added, their interval histograms added interval by interval, their
//! timeseries rows summed, their events renumbered into one file. The profile's objectives
//! (whole-run, windowed, phase-scoped) are judged on the merged data, and every report is
//! written from it; `rcload report` reads the result like any run directory.
//!
//! A shard that is missing or did not finish makes the verdict invalid, naming it; a shard
//! whose clock began later than the others by more than the skew allowed is named in a
//! warning.

mod events;
mod hlog;
mod shards;
#[cfg(test)]
mod testdir;
mod timeseries;

pub use shards::{Census, CensusError, Found, census, skew_warnings};

use crate::engine::{EngineReport, Left, TeardownReport};
use crate::metrics::Recorder;
use crate::metrics::totals::{self, TotalsError};
use crate::profile::{self, Phase};
use crate::report::runinfo::{MergedFrom, RunInfo};
use crate::report::{ReportError, Summary, rundir, summary};
use crate::schedule::{Schedule, Shard};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What to merge, and how.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// The shards' run directories, in any order.
    pub dirs: Vec<PathBuf>,
    /// The merged run directory.
    pub out: PathBuf,
    /// Shards whose clocks began further apart than this are named in a warning.
    pub max_skew: Duration,
    /// The command line, for run.json.
    pub command: Vec<String>,
}

/// Why there is nothing to merge (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Census(#[from] CensusError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Totals(#[from] TotalsError),
    #[error("{0}")]
    Setup(String),
}

/// A merged run.
#[derive(Debug)]
pub struct Merged {
    pub summary: Summary,
    pub dir: PathBuf,
    pub shards: u32,
    /// The files written.
    pub written: Vec<PathBuf>,
}

/// Read what each directory holds of a shard.
fn look(dir: &Path) -> Found {
    let info = if dir.is_dir() {
        RunInfo::read(&dir.join(rundir::RUN_JSON)).map_err(|e| e.to_string())
    } else {
        Err(format!("{} is not a directory", dir.display()))
    };
    let finished = dir.join(rundir::SUMMARY_JSON).is_file() && dir.join(rundir::TOTALS).is_file();
    Found {
        dir: dir.to_path_buf(),
        info,
        finished,
    }
}

/// Merge the shards of `cfg.dirs` into `cfg.out`.
pub fn merge(cfg: &MergeConfig) -> Result<Merged, MergeError> {
    let found: Vec<Found> = cfg.dirs.iter().map(|d| look(d)).collect();
    let census = census(&found)?;
    if census.finished.is_empty() {
        return Err(MergeError::Setup(format!(
            "no shard finished, nothing to merge: {}",
            census.incomplete.join("; ")
        )));
    }
    if cfg.out.join(rundir::SUMMARY_JSON).exists() {
        return Err(MergeError::Setup(format!(
            "{} already holds a run (summary.json); choose another --out",
            cfg.out.display()
        )));
    }
    std::fs::create_dir_all(&cfg.out).map_err(|source| ReportError::Io {
        path: cfg.out.clone(),
        source,
    })?;
    // The finished shards, in shard order: their directories, run.json and summary.
    let mut dirs = Vec::new();
    let mut infos = Vec::new();
    let mut summaries = Vec::new();
    for i in &census.finished {
        let f = &found[*i];
        let Ok(info) = &f.info else { continue };
        dirs.push(f.dir.clone());
        infos.push(info.clone());
        summaries.push(rundir::read_summary(&f.dir)?);
    }
    let head = infos[0].clone();

    // The profile, as every shard ran it.
    let profile_text = read_text(&dirs[0].join(rundir::PROFILE))?;
    for d in &dirs[1..] {
        if body(&read_text(&d.join(rundir::PROFILE))?) != body(&profile_text) {
            return Err(MergeError::Setup(format!(
                "{} ran another profile than {} (profile.yaml differs): not shards of one test",
                d.display(),
                dirs[0].display()
            )));
        }
    }
    crate::report::write_atomic(&cfg.out.join(rundir::PROFILE), profile_text.as_bytes())?;

    // The exact aggregates.
    let mut rec: Option<Recorder> = None;
    for d in &dirs {
        let r = totals::read(&d.join(rundir::TOTALS))?;
        match &mut rec {
            None => rec = Some(r),
            Some(into) => into.merge(&r).map_err(|e| {
                MergeError::Setup(format!("{}: cannot add its totals: {e}", d.display()))
            })?,
        }
    }
    let rec = rec.ok_or_else(|| MergeError::Setup("no totals".into()))?;

    // The interval files and the events.
    let started_at = infos
        .iter()
        .map(|i| unix(i.started_at_unix_s))
        .min()
        .unwrap_or(UNIX_EPOCH);
    let cut = hlog::merge_intervals(&dirs, &cfg.out, started_at)?;
    let indexed: Vec<(u32, PathBuf)> = infos
        .iter()
        .zip(&dirs)
        .map(|(i, d)| (i.shard.map_or(0, |s| s.index), d.clone()))
        .collect();
    events::merge_events(&indexed, &cfg.out.join(rundir::EVENTS))?;

    // run.json of the merged run.
    let mut info = head.clone();
    info.shard = None;
    info.start = None;
    info.started_at = crate::report::wall::rfc3339_millis(started_at);
    info.started_at_unix_s = started_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    info.command = cfg.command.clone();
    info.merged = Some(MergedFrom {
        shards: census.count,
        dirs: dirs.iter().map(|d| d.display().to_string()).collect(),
    });
    let info_json = serde_json::to_vec_pretty(&info)
        .map_err(|e| MergeError::Setup(format!("cannot encode run.json: {e}")))?;
    crate::report::write_atomic(&cfg.out.join(rundir::RUN_JSON), &info_json)?;

    // Judge the merged data as one run.
    let starts: Vec<(Shard, Option<&crate::report::runinfo::StartRecord>)> = infos
        .iter()
        .map(|i| (i.shard.unwrap_or(Shard::WHOLE), i.start.as_ref()))
        .collect();
    let mut notes = vec![format!(
        "Merged from {} of {} shards ({}).",
        dirs.len(),
        census.count,
        dirs.iter()
            .zip(&infos)
            .map(|(d, i)| format!("{} {}", i.shard.unwrap_or(Shard::WHOLE), d.display()))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    notes.extend(skew_warnings(&starts, cfg.max_skew));
    notes.extend(cut.notes());
    let mut incomplete = census.incomplete;
    incomplete.extend(behind(&infos, &summaries));
    let summary = judge(
        &cfg.out,
        &info,
        &profile_text,
        &rec,
        &summaries,
        incomplete,
        notes,
    )?;
    let json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| MergeError::Setup(format!("cannot encode summary.json: {e}")))?;
    totals::write(&rec, &cfg.out.join(rundir::TOTALS))?;
    crate::report::write_atomic(&cfg.out.join(rundir::SUMMARY_JSON), &json)?;
    let data = rundir::load(&cfg.out)?;
    let mut written = vec![
        cfg.out.join(rundir::RUN_JSON),
        cfg.out.join(rundir::SUMMARY_JSON),
    ];
    written.extend(rundir::write_reports(&cfg.out, &data)?);
    Ok(Merged {
        summary: data.summary,
        dir: cfg.out.clone(),
        shards: census.count,
        written,
    })
}

/// The shards whose generator fell behind (lateness p99 over their limit, or a cap hit): their
/// part of the load did not follow the schedule, so the merged run is not valid, whatever the
/// lateness of all shards together says (the others' samples can hide one shard's).
fn behind(infos: &[RunInfo], summaries: &[Summary]) -> Vec<String> {
    infos
        .iter()
        .zip(summaries)
        .filter(|(_, s)| s.generator.fell_behind)
        .map(|(i, s)| {
            let g = &s.generator;
            format!(
                "shard {} fell behind: lateness p99 {:.1} ms (limit {:.1} ms), in-flight or \
                 connection cap hit {} times; its part of the load did not follow the schedule",
                i.shard.unwrap_or(Shard::WHOLE),
                g.lateness_ms.p99,
                g.lateness_limit_ms,
                g.throttled
            )
        })
        .collect()
}

/// The summary of the merged run: the merged aggregates judged with the profile's objectives.
fn judge(
    dir: &Path,
    info: &RunInfo,
    profile_text: &str,
    rec: &Recorder,
    summaries: &[Summary],
    incomplete: Vec<String>,
    notes: Vec<String>,
) -> Result<Summary, MergeError> {
    let path = dir.join(rundir::PROFILE);
    let source = profile::Source {
        name: path.display().to_string(),
        text: profile_text.to_string(),
    };
    let profile = profile::load(&source, &[]).map_err(|e| ReportError::Parse {
        path: path.clone(),
        line: None,
        message: e.to_string(),
    })?;
    let schedule = Schedule::new(&profile, info.seed);
    let phases = phases_of_run(schedule.phases(), info);
    let population = schedule.population().clone();
    let windows = crate::report::windows::evaluate(&dir.join(rundir::HLOG), &profile.slo, &phases)?;
    let engine = engine_report(summaries, unix(info.started_at_unix_s));
    let mut notes = notes;
    notes.retain(|n| !n.is_empty());
    Ok(summary::build(
        rec,
        &summary::RunFacts {
            notes,
            peak_rss_mb: summaries
                .iter()
                .filter_map(|s| s.process.peak_rss_mb)
                .max_by(|a, b| a.total_cmp(b)),
            incomplete,
            ..rundir::facts_of_run(info, &profile, &phases, &population, &engine, windows)
        },
    ))
}

/// The phases the shards recorded under: the schedule's, and the teardown when run.json has
/// one more band.
fn phases_of_run(schedule: &[Phase], info: &RunInfo) -> Vec<Phase> {
    let mut phases = schedule.to_vec();
    if let Some(last) = info.phases.get(phases.len()) {
        let us = |s: f64| (s * 1e6).round().max(0.0) as u64;
        phases.push(profile::teardown_phase(
            us(last.start_s),
            us(last.end_s).saturating_sub(us(last.start_s)),
        ));
    }
    phases
}

/// The engine's account of the whole test: the shards' actions added, interrupted when one
/// was, the longest load, and their teardowns together.
fn engine_report(summaries: &[Summary], started_at: SystemTime) -> EngineReport {
    let g = |f: fn(&Summary) -> u64| summaries.iter().map(f).sum::<u64>();
    let all_tore_down = summaries.iter().all(|s| s.teardown.ran);
    let left = Left {
        calls: g(|s| s.teardown.left_calls),
        terminals: g(|s| s.teardown.left_terminals),
        consoles: g(|s| s.teardown.left_consoles),
    };
    EngineReport {
        actions_scheduled: g(|s| s.generator.actions_scheduled),
        actions_sent: g(|s| s.generator.actions_sent),
        interrupted: summaries.iter().any(|s| s.interrupted),
        started_at,
        load_s: summaries.iter().map(|s| s.duration_s).fold(0.0, f64::max),
        teardown: all_tore_down.then_some(TeardownReport {
            sent: g(|s| s.teardown.requests),
            left,
            timed_out: summaries.iter().any(|s| s.teardown.timed_out),
        }),
        left_without_teardown: if all_tore_down { Left::default() } else { left },
    }
}

fn unix(s: f64) -> SystemTime {
    UNIX_EPOCH
        + Duration::try_from_secs_f64(
            s.clamp(0.0, crate::report::limits::END_OF_RFC3339_UNIX_S - 1.0),
        )
        .unwrap_or_default()
}

fn read_text(path: &Path) -> Result<String, ReportError> {
    let bytes =
        crate::report::limits::read_bounded(path, crate::report::limits::MAX_JSON_BYTES, None)?;
    String::from_utf8(bytes).map_err(|_| ReportError::Parse {
        path: path.to_path_buf(),
        line: None,
        message: "not UTF-8".into(),
    })
}

/// A profile.yaml without its header comment (which names the shard's own source).
fn body(text: &str) -> &str {
    match text.split_once('\n') {
        Some((first, rest)) if first.starts_with('#') => rest,
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_comment_does_not_count() {
        assert_eq!(body("# from a\nname: x\n"), "name: x\n");
        assert_eq!(body("name: x\n"), "name: x\n");
    }
}
