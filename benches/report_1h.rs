//! Benchmark: report generation for a 1-hour run at 1 s intervals (target: under 10 s).
//!
//! Writes a run directory as a 1-hour `shift-change` run would leave it, through rcload's own
//! writers (the interval recorder, latency.hlog, timeseries.csv, events.jsonl, run.json,
//! profile.yaml) with seeded synthetic latencies at about 1,900 samples a second, then times
//! what `rcload report` does: once without summary.json (rebuilt from the raw data, as after a
//! kill) and once with it. `scripts/bench-report.sh` also times the binary itself.
//!
//! Usage: cargo bench --bench report_1h -- [DIR]

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rcload::cli::ProfileArgs;
use rcload::detect::Finding;
use rcload::engine::{Delivery, GaugeReading, Outcome};
use rcload::metrics::interval::IntervalRecorder;
use rcload::report::hlog::HlogWriter;
use rcload::report::model::PhaseBand;
use rcload::report::runinfo::{RUN_SCHEMA, RunInfo};
use rcload::report::timeseries::TimeseriesWriter;
use rcload::report::{events::EventsWriter, rundir};
use rcload::schedule::Schedule;
use rcload_api::Op;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

const SECONDS: u64 = 3600;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench-report-1h"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;

    let args = ProfileArgs {
        set: vec![],
        seed: None,
        duration: Some("60m".into()),
        quiet: true,
        clock_start: None,
        time_scale: None,
    };
    let (profile, source) = rcload::config::load_profile("shift-change", &args)?;
    std::fs::write(dir.join("profile.yaml"), rcload::profile::to_yaml(&profile))?;
    let schedule = Schedule::new(&profile, profile.seed);
    let phases = schedule.phases().to_vec();
    let population = schedule.population().clone();
    let t0 = SystemTime::now();
    let info = RunInfo {
        schema: RUN_SCHEMA.into(),
        rcload_version: env!("CARGO_PKG_VERSION").into(),
        profile: profile.name.clone(),
        profile_source: source,
        seed: profile.seed,
        target: "synthetic (benchmark)".into(),
        adapter: None,
        started_at: humantime::format_rfc3339_millis(t0).to_string(),
        started_at_unix_s: t0.duration_since(SystemTime::UNIX_EPOCH)?.as_secs_f64(),
        interval_s: 1.0,
        planned_duration_s: SECONDS as f64,
        lateness_limit_ms: 10.0,
        dispatch_resolution_us: None,
        max_skipped: rcload::judge::MAX_SKIPPED_SHARE,
        allow_no_slo: false,
        transport: None,
        consent: None,
        phases: PhaseBand::of(&phases),
        command: vec!["benchmark".into()],
        platform: std::env::consts::OS.into(),
        shard: None,
        start: None,
        merged: None,
    };
    std::fs::write(dir.join("run.json"), serde_json::to_vec_pretty(&info)?)?;

    let gen_start = Instant::now();
    let mut hlog = HlogWriter::create(&dir.join("latency.hlog"), t0)?;
    let mut csv = TimeseriesWriter::create(&dir.join("timeseries.csv"))?;
    let mut events =
        EventsWriter::create(&dir.join("events.jsonl"), phases.clone(), population, t0)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let lat = LogNormal::new(8.0, 0.6)?; // median about 3 ms, in µs
    // (operation, per second)
    let mix = [
        (Op::TerminalStatus, 250),
        (Op::CallGroup, 10),
        (Op::CallEnd, 10),
        (Op::TerminalAffiliate, 5),
        (Op::TerminalRegister, 20),
        (Op::TerminalDeregister, 20),
        (Op::ConsoleLogin, 1),
        (Op::ConsoleLogout, 1),
        (Op::ConsoleAttach, 1),
        (Op::ConsoleAudit, 8),
        (Op::CallEmergency, 1),
    ];
    let deliveries = [
        (Delivery::Status, 1_000),
        (Delivery::CallStarted, 40),
        (Delivery::CallEnded, 40),
        (Delivery::TerminalRegistered, 80),
        (Delivery::TerminalDeregistered, 80),
        (Delivery::EmergencyAlert, 4),
    ];
    let mut rec = IntervalRecorder::new();
    let mut before = GaugeReading::default();
    let mut samples = 0u64;
    let mut id = 0;
    for s in 0..SECONDS {
        let at = s * 1_000_000;
        let phase = Schedule::phase_at(&phases, at);
        for (op, n) in mix {
            for _ in 0..n {
                let l = lat.sample(&mut rng) as u64;
                let o = Outcome::Op {
                    op,
                    phase,
                    intended_us: at,
                    lateness_us: Some(rng.random_range(50..900)),
                    latency_us: l,
                    service_us: l * 9 / 10,
                    error: None,
                    probe: false,
                };
                rec.record(&o);
                samples += 1;
            }
        }
        for (event, n) in deliveries {
            for _ in 0..n {
                let o = Outcome::Delivered {
                    event,
                    phase,
                    console: (samples % 390) as u32,
                    latency_us: lat.sample(&mut rng) as u64,
                    probe: false,
                };
                rec.record(&o);
                samples += 1;
            }
        }
        if s % 120 == 60 {
            id += 1;
            let f = Outcome::Finding(Finding::TalkgroupDrop {
                id,
                console: (s % 40) as u32,
                talkgroup: 100_001,
                detected_by: rcload::detect::DetectedBy::Audit,
                at_us: at + 500_000,
                last_ok_us: at,
            });
            rec.record(&f);
            events.consume(&f);
            events.flush()?;
        }
        let now = GaugeReading {
            due: before.due + 330,
            sent: before.sent + 330,
            done: before.done + 330,
            consoles_logged_in: 40,
            terminals_registered: 6_000,
        };
        let name = &phases[phase].name;
        let closed = rec.close(at, at + 1_000_000, name, &before, &now);
        for (tag, h) in &closed.hists {
            hlog.write(tag, closed.row.t_s, closed.row.dt_s, h)?;
        }
        hlog.flush()?;
        csv.write(&closed.row)?;
        before = now;
    }
    drop((hlog, csv, events));
    let size = |f: &str| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
    println!(
        "run directory {}: {SECONDS} intervals, {samples} samples; latency.hlog {:.1} MB, \
         timeseries.csv {:.1} MB (written in {:.1} s)",
        dir.display(),
        size("latency.hlog") as f64 / 1e6,
        size("timeseries.csv") as f64 / 1e6,
        gen_start.elapsed().as_secs_f64()
    );

    let mut worst = Duration::ZERO;
    for label in [
        "rebuilt from raw data (no summary.json)",
        "with summary.json",
    ] {
        let t = Instant::now();
        let data = rundir::load(&dir)?;
        let loaded = t.elapsed();
        rundir::write_reports(&dir, &data)?;
        let total = t.elapsed();
        worst = worst.max(total);
        println!(
            "report, {label}: {:.2} s (read and merge {:.2} s, render and write {:.2} s); \
             report.html {:.1} MB",
            total.as_secs_f64(),
            loaded.as_secs_f64(),
            (total - loaded).as_secs_f64(),
            size("report.html") as f64 / 1e6
        );
    }
    let ok = worst < Duration::from_secs(10);
    println!("target: under 10 s: {}", if ok { "met" } else { "MISSED" });
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
