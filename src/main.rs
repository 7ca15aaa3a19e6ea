//! The binary edge: parse arguments, run, map errors to exit codes.
//!
//! Exit codes: 0 pass; 1 an SLO failed; 2 bad usage, profile or configuration;
//! 3 target unreachable at start.

use clap::Parser;
use rcload::cli::{
    AdapterCheckArgs, AdapterCommand, Cli, Command, CompareArgs, MockArgs, ReportArgs, ValidateArgs,
};
use rcload::config::{self, RunConfig};
use rcload::run::RunError;
use rcload::schedule::{Schedule, summarize};
use std::io::Write;
use std::process::ExitCode;
use tokio::sync::watch;

const EXIT_FAIL: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_UNREACHABLE: u8 = 3;
const EXIT_INVALID: u8 = 4;

/// The exit code of a verdict: 0 pass, 1 fail, 4 invalid.
fn verdict_code(v: rcload::judge::Verdict) -> ExitCode {
    match v {
        rcload::judge::Verdict::Pass => ExitCode::SUCCESS,
        rcload::judge::Verdict::Fail => ExitCode::from(EXIT_FAIL),
        rcload::judge::Verdict::Invalid => ExitCode::from(EXIT_INVALID),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour only on a terminal, and never with NO_COLOR.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && config::no_color_unset())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // The platform verifier logs each refused certificate: the run's own error
                // says it (naming the cause).
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("warn,rustls_platform_verifier=off")
                }),
        )
        .init();
    match cli.command {
        Command::Profiles => profiles(),
        Command::Validate(a) => validate(&a),
        Command::Run(a) => match RunConfig::from_args(&a) {
            Ok(cfg) => with_runtime(|| run(cfg)),
            Err(e) => usage_error(&e),
        },
        Command::Mock(a) => with_runtime(|| mock(a)),
        Command::Report(a) => report(&a),
        Command::Merge(a) => merge(&a),
        Command::Compare(a) => compare(&a),
        Command::Trend(a) => trend(&a),
        Command::Adapter(AdapterCommand::Check(a)) => with_runtime(|| adapter_check(a)),
        Command::Fleet(rcload::cli::FleetCommand::Generate(a)) => fleet_generate(&a),
        Command::Fleet(rcload::cli::FleetCommand::Anonymise(a)) => fleet_anonymise(&a),
        Command::Replay(rcload::cli::ReplayCommand::Inspect(a)) => replay_inspect(&a),
        Command::Replay(rcload::cli::ReplayCommand::Generate(a)) => replay_generate(&a),
        Command::Capacity(a) => with_runtime(|| capacity(a)),
        Command::Cleanup(a) => match RunConfig::from_args(&a) {
            Ok(cfg) => with_runtime(|| cleanup(cfg)),
            Err(e) => usage_error(&e),
        },
    }
}

/// `rcload cleanup PROFILE --target URL`: log out every console and deregister every terminal
/// of the population. 0 done (or already clean), 2 bad usage, 3 unreachable or not cleaned.
async fn cleanup(cfg: RunConfig) -> ExitCode {
    match rcload::run::cleanup(&cfg).await {
        Ok(c) if c.failed.is_empty() => {
            out(&format!("cleanup: {}\n", c.describe()));
            ExitCode::SUCCESS
        }
        Ok(c) => {
            eprintln!("error: cleanup: {}", c.describe());
            ExitCode::from(EXIT_UNREACHABLE)
        }
        Err(e @ RunError::Setup(_)) => usage_error(&e),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_UNREACHABLE)
        }
    }
}

/// `rcload capacity`: 0 the profile's own level (1.0 for `scale`) passed, or with a field, some
/// level passed; 1 otherwise; 2 bad usage; 3 target unreachable.
async fn capacity(a: rcload::cli::CapacityArgs) -> ExitCode {
    use rcload::capacity::search::{SearchPlan, Step};
    use rcload::capacity::{render, stages, vary::Vary};
    let mut base = match RunConfig::from_args(&a.run) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    if a.run.out.is_none() {
        base.out_dir = config::default_run_dir(&format!("capacity-{}", base.profile.name));
    }
    let parse =
        |flag: &str, t: &str| rcload_api::parse_duration(t).map_err(|e| format!("--{flag}: {e}"));
    let stage = match a.stage.as_deref().map(|t| parse("stage", t)).transpose() {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let cooldown = match parse("cooldown", &a.cooldown) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    let resolution = match rcload::compare::parse_percent(&a.resolution) {
        Ok(r) if r > 0.0 => r,
        _ => return usage_error(&"--resolution: a share above zero, e.g. 5%"),
    };
    if !(a.from > 0.0 && a.to >= a.from) {
        return usage_error(&"--from and --to: 0 < from <= to");
    }
    let step = match (a.steps, a.factor) {
        (Some(n), _) if n >= 1 => Step::Linear(n),
        (Some(_), _) => return usage_error(&"--steps: at least 1"),
        (None, Some(f)) if f > 1.0 => Step::Factor(f),
        (None, Some(_)) => return usage_error(&"--factor: above 1"),
        (None, None) => Step::Factor(1.5),
    };
    let vary = Vary::parse(&a.vary);
    // The first level must make a valid profile, so a wrong field is a usage error.
    if let Err(e) = rcload::capacity::vary::apply(&base.profile, &vary, a.from) {
        return usage_error(&format!("--vary {}: {e}", a.vary));
    }
    let quiet = base.quiet;
    let dir = base.out_dir.clone();
    let cfg = stages::CapacityConfig {
        base,
        vary,
        plan: SearchPlan {
            from: a.from,
            to: a.to,
            step,
            bisect: a.search == rcload::cli::SearchMode::Bisect,
            resolution,
            max_stages: a.max_stages.max(1),
            floor: a.floor,
        },
        stage,
        cooldown,
        dir: dir.clone(),
        retries: a.retries,
    };
    if !quiet {
        eprintln!(
            "rcload: capacity of {} varying {}, results in {}",
            cfg.base.profile.name,
            a.vary,
            dir.display()
        );
    }
    let stop = watch_signals();
    let result = stages::run(cfg, stop, |s| {
        if !quiet {
            eprintln!(
                "rcload: stage {} level {}: {} (offered {:.0}/s, achieved {:.0}/s){}",
                s.index,
                s.level,
                s.verdict_label(),
                s.offered_per_s,
                s.achieved_per_s,
                s.reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
    })
    .await;
    match result {
        Ok(r) => {
            out(&format!(
                "{}\nreport: {}\n",
                render::answer(&r),
                dir.join("capacity.html").display()
            ));
            let ok = match r.nominal {
                Some(n) => r.max_passing.is_some_and(|p| p >= n - 1e-9),
                None => r.max_passing.is_some(),
            };
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAIL)
            }
        }
        Err(
            e @ (RunError::Unreachable { .. }
            | RunError::Leftovers { .. }
            | RunError::NotCleaned { .. }),
        ) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_UNREACHABLE)
        }
        Err(e) => usage_error(&e),
    }
}

/// `rcload adapter check`: 0 every supported action works, 1 a step failed, 2 bad usage or
/// mapping file.
async fn adapter_check(a: AdapterCheckArgs) -> ExitCode {
    use rcload::targets::mapped::{MappedTarget, check};
    if a.talkgroups.len() != 2 {
        return usage_error(&format!(
            "--talkgroups: two talkgroups, GSSI,GSSI (e.g. 100001,100002), not {}",
            a.talkgroups.len()
        ));
    }
    let setup = match config::load_adapter(&a.adapter) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let duration = |flag: &str, text: &str| {
        rcload_api::parse_duration(text).map_err(|e| format!("--{flag}: {e}"))
    };
    let (timeout, event_timeout) = match (
        duration("timeout", &a.timeout),
        duration("event-timeout", &a.event_timeout),
    ) {
        (Ok(t), Ok(e)) => (t, e),
        (Err(e), _) | (_, Err(e)) => return usage_error(&e),
    };
    let [tg_a, tg_b] = match a.talkgroups.as_slice() {
        [x, y] if x != y => [*x, *y],
        _ => return usage_error(&"--talkgroups: give two different talkgroups"),
    };
    let mut mock = None;
    let base = match &a.target {
        Some(u) => u.clone(),
        None => {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            match rcload_mock::spawn(addr, rcload_mock::MockConfig::default()).await {
                Ok(h) => {
                    let url = format!("http://{}", h.addr);
                    mock = Some(h);
                    url
                }
                Err(e) => return usage_error(&format!("cannot start the built-in mock: {e}")),
            }
        }
    };
    let section = rcload::profile::TargetSection::default();
    let mut transport = match rcload::config::transport_of(&a.reach, &section, None) {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    let mut base = base;
    if a.target.is_some() {
        if let Err(e) = rcload::config::judge_target(&base, &section, &a.reach, &transport) {
            return usage_error(&e);
        }
        if let Some(name) = &a.reach.tls_server_name {
            match rcload::config::with_server_name(&base, name, &mut transport) {
                Ok(u) => base = u,
                Err(e) => return usage_error(&e),
            }
        }
    }
    let target = match MappedTarget::new(
        setup.mapping,
        &base,
        timeout,
        &setup.credentials,
        &transport,
    ) {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    let cfg = check::CheckConfig {
        console: a.console.clone(),
        issi: a.issi,
        talkgroups: [tg_a, tg_b],
        event_timeout,
        ..check::CheckConfig::default()
    };
    let report = check::run(&target, &cfg).await;
    out(&report.render());
    if let Some(m) = mock {
        m.shutdown().await;
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
    }
}

/// `rcload report RUN_DIR`: rebuild the derived reports from the run directory's files.
fn report(a: &ReportArgs) -> ExitCode {
    use rcload::report::rundir;
    // A damaged or hostile file is an error naming it (exit 2), never a panic; a latency.hlog
    // that covers less than the run is reported, and said so.
    let (data, hlog_note) = match rundir::load_with_note(&a.run_dir) {
        Ok(d) => d,
        Err(e) => return usage_error(&e),
    };
    let written = match rundir::write_reports(&a.run_dir, &data) {
        Ok(w) => w,
        Err(e) => return usage_error(&e),
    };
    if !a.quiet {
        let mut s = String::new();
        for note in data.rebuilt.iter().chain(&hlog_note) {
            s.push_str(&format!("note: {note}\n"));
        }
        for p in &written {
            s.push_str(&format!("wrote {}\n", p.display()));
        }
        s.push_str(&rcload::report::table::verdict_lines(&data.summary));
        out(&s);
    }
    verdict_code(data.summary.verdict)
}

/// `rcload merge DIR... --out DIR`: the merged run's verdict as `run` gives it (0 pass, 1 fail,
/// 4 invalid: a shard missing or killed), 2 when the directories cannot be merged.
fn merge(a: &rcload::cli::MergeArgs) -> ExitCode {
    let max_skew = match rcload_api::parse_duration(&a.max_skew) {
        Ok(d) => d,
        Err(e) => return usage_error(&format!("--max-skew: {e}")),
    };
    let cfg = rcload::merge::MergeConfig {
        dirs: a.run_dirs.clone(),
        out: a.out.clone(),
        max_skew,
        command: std::env::args().collect(),
    };
    let merged = match rcload::merge::merge(&cfg) {
        Ok(m) => m,
        Err(e) => return usage_error(&e),
    };
    if !a.quiet {
        let mut s = format!(
            "merged {} shards into {}\n",
            merged.shards,
            merged.dir.display()
        );
        for w in &merged.summary.warnings {
            s.push_str(&format!("warning: {w}\n"));
        }
        for p in &merged.written {
            s.push_str(&format!("wrote {}\n", p.display()));
        }
        s.push_str(&rcload::report::table::verdict_lines(&merged.summary));
        out(&s);
    }
    verdict_code(merged.summary.verdict)
}

/// `rcload trend RUN...`: 0 the files were written, 2 a run or the output cannot be used.
fn trend(a: &rcload::cli::TrendArgs) -> ExitCode {
    use rcload::compare::trend;
    use rcload::report::rundir;
    let mut runs = Vec::new();
    for p in &a.runs {
        match rundir::summary_of(p) {
            Ok(summary) => runs.push(trend::TrendRun {
                label: p.display().to_string(),
                summary,
            }),
            Err(e) => return usage_error(&e),
        }
    }
    let t = trend::build(runs);
    if let Err(e) = std::fs::create_dir_all(&a.out) {
        return usage_error(&format!("--out {}: {e}", a.out.display()));
    }
    let files = [
        ("trend.md", trend::to_markdown(&t)),
        ("trend.csv", trend::to_csv(&t)),
        ("trend.html", trend::to_html(&t)),
    ];
    let mut s = String::new();
    for (name, text) in files {
        let path = a.out.join(name);
        if let Err(e) = rcload::report::write_atomic(&path, text.as_bytes()) {
            return usage_error(&e);
        }
        s.push_str(&format!("wrote {}\n", path.display()));
    }
    out(&s);
    ExitCode::SUCCESS
}

/// `rcload compare BASE CANDIDATE`: 0 no regression, 1 a regression, 2 unreadable input (also
/// another schema major version, or a run with no samples), 4 an invalid candidate.
fn compare(a: &CompareArgs) -> ExitCode {
    use rcload::cli::CompareFormat;
    use rcload::compare;
    use rcload::report::rundir;
    let max_regression = match compare::parse_percent(&a.max_regression) {
        Ok(v) => v,
        Err(e) => return usage_error(&format!("--max-regression: {e}")),
    };
    if a.min_delta_ms.is_nan() || a.min_delta_ms < 0.0 {
        return usage_error(&"--min-delta-ms: must be zero or more");
    }
    let (candidate_path, mut base_paths) = match a.runs.as_slice() {
        [base, cand] => (cand.clone(), vec![base.clone()]),
        [cand] => (cand.clone(), Vec::new()),
        _ => return usage_error(&"give BASE_RUN CANDIDATE_RUN, or CANDIDATE_RUN with --base"),
    };
    base_paths.extend(a.bases.iter().cloned());
    if base_paths.is_empty() {
        return usage_error(&"no base run: give BASE_RUN CANDIDATE_RUN, or --base RUN");
    }
    // Another schema major version, or a run without samples, cannot be compared: passing it
    // would pass a gate on nothing.
    let load = |which: &str, path: &std::path::Path| {
        let s = rundir::summary_of(path).map_err(|e| e.to_string())?;
        compare::check_input(&s).map_err(|why| {
            let file = rundir::summary_source(path);
            format!("{} ({which}): {why}", file.display())
        })?;
        Ok::<_, String>(s)
    };
    let candidate = match load("candidate", &candidate_path) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let mut bases = Vec::new();
    for p in &base_paths {
        match load("base", p) {
            Ok(s) => bases.push(s),
            Err(e) => return usage_error(&e),
        }
    }
    let opts = compare::CompareOptions {
        max_regression,
        min_delta_ms: a.min_delta_ms,
        ..compare::CompareOptions::default()
    };
    let c = compare::compare_many(&bases, &candidate, &opts);
    let text = match a.format {
        CompareFormat::Md => compare::to_markdown(&c),
        CompareFormat::Html => compare::to_html(&c),
        CompareFormat::Json => match compare::to_json(&c) {
            Ok(t) => t,
            Err(e) => return usage_error(&format!("cannot encode the comparison: {e}")),
        },
    };
    if let Some(path) = &a.out
        && let Err(e) = std::fs::write(path, &text)
    {
        return usage_error(&format!("{}: {e}", path.display()));
    }
    out(&text);
    if !text.ends_with('\n') {
        out("\n");
    }
    // An invalid candidate fails the gate whatever it shows: its figures cannot be trusted.
    if candidate.verdict == rcload::judge::Verdict::Invalid {
        eprintln!(
            "error: the candidate run is invalid: {}",
            candidate
                .verdict_reasons
                .first()
                .map_or("see its summary", String::as_str)
        );
        ExitCode::from(EXIT_INVALID)
    } else if c.regressed() {
        ExitCode::from(EXIT_FAIL)
    } else {
        ExitCode::SUCCESS
    }
}

fn usage_error(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(EXIT_USAGE)
}

/// Print to stdout; a closed pipe (`rcload ... | head`) is not an error.
fn out(text: &str) {
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(text.as_bytes());
    let _ = so.flush();
}

fn with_runtime<F, Fut>(f: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn profiles() -> ExitCode {
    let mut s = String::new();
    // The length comes from the profile itself, never from a description that can go stale.
    for (name, about, _) in rcload::profile::BUILTIN {
        let length = rcload::profile::read_source(name)
            .and_then(|src| rcload::profile::load(&src, &[]))
            .map(|p| p.duration.to_string())
            .unwrap_or_else(|_| "?".into());
        s.push_str(&format!("{name:<20} {length:>6}  {about}\n"));
    }
    out(&s);
    ExitCode::SUCCESS
}

fn validate(a: &ValidateArgs) -> ExitCode {
    let (p, source) = match config::load_profile(&a.profile, &a.profile_args) {
        Ok(x) => x,
        Err(e) => return usage_error(&e),
    };
    for w in rcload::profile::cut_events(&p) {
        eprintln!("warning: {w}");
    }
    if p.traffic.iter().any(|t| t.replay().is_some()) {
        for w in Schedule::new(&p, p.seed).replay_notes() {
            eprintln!("warning: {w}");
        }
    }
    if a.profile_args.quiet {
        return ExitCode::SUCCESS;
    }
    // Count the schedule from its rates, in time that does not grow with the run's length; walk
    // it for exact counts and peak only when that is quick.
    const WALK_AT_MOST: u64 = 1_000_000;
    let pop = rcload::schedule::Population::of(&p, p.seed);
    let mut sum = rcload::schedule::estimate(&p, p.seed);
    if sum.total <= WALK_AT_MOST {
        sum = summarize(Schedule::new(&p, p.seed));
    }
    let about = if sum.estimated { "about " } else { "" };
    let mut s = format!(
        "profile {} ({source}): seed {}, duration {}\n",
        p.name, p.seed, p.duration
    );
    let n = rcload::text::plural;
    s.push_str(&format!(
        "population: {}, {}, {}, {} ({} monitored by some console){}\n\nphases:\n",
        n(u64::from(pop.rooms), "control room", "control rooms"),
        n(u64::from(pop.console_count()), "console", "consoles"),
        n(u64::from(pop.terminals), "terminal", "terminals"),
        n(u64::from(pop.talkgroup_count()), "talkgroup", "talkgroups"),
        pop.monitored_talkgroup_count(),
        match &p.population.fleet {
            Some(f) => format!(", from the fleet map {f}"),
            None => String::new(),
        }
    ));
    for ph in &sum.phases {
        s.push_str(&format!(
            "  {:<18} {:>8.1} s - {:>8.1} s  {:>9} actions\n",
            ph.name,
            ph.start_us as f64 / 1e6,
            ph.end_us as f64 / 1e6,
            sum.per_phase.get(&ph.name).copied().unwrap_or(0)
        ));
    }
    s.push_str("\nactions by kind:\n");
    for (op, n) in &sum.per_op {
        s.push_str(&format!("  {op:<22} {n:>9}\n"));
        if *op == rcload_api::Op::ConsoleLogin.name() {
            s.push_str(&format!(
                "  {:<22} {n:>9}  (follows each login)\n",
                rcload_api::Op::ConsoleAttach.name()
            ));
        }
    }
    s.push_str(&format!(
        "\ntotal {about}{} actions; peak offered rate {about}{}/s (in second {})\n",
        sum.total, sum.peak_per_s, sum.peak_at_s
    ));
    if sum.estimated {
        s.push_str(
            "(counted from the rates, not by walking the schedule: Poisson arrivals and rate \
             curves by their expected number; the peak among the seconds where load starts, \
             stops or bunches up)\n",
        );
    }
    s.push_str("OK\n");
    out(&s);
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM once: stop and write results. Twice: exit at once.
fn watch_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        for n in 0.. {
            let got = async {
                match term.as_mut() {
                    Some(t) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = t.recv() => {}
                        }
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            };
            got.await;
            if n == 0 {
                eprintln!("interrupted: stopping, writing results (again to exit at once)");
                let _ = tx.send(true);
            } else {
                eprintln!("interrupted twice: exiting now");
                std::process::exit(130);
            }
        }
    });
    rx
}

async fn run(cfg: RunConfig) -> ExitCode {
    // 1,000+ concurrent event streams need more than the usual 1,024 open files.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!("cannot raise the open-files limit: {e}");
    }
    let quiet = cfg.quiet;
    if !quiet {
        eprintln!(
            "rcload: running {} (seed {}) for {}, results in {}",
            cfg.profile.name,
            cfg.seed,
            cfg.profile.duration,
            cfg.out_dir.display()
        );
    }
    let stop = watch_signals();
    match rcload::run::run(cfg, stop).await {
        Ok(r) => {
            if quiet {
                // Only the result.
                out(&format!(
                    "{}\n",
                    rcload::progress::final_line(&r.summary, &r.run_dir.display().to_string())
                ));
            } else {
                out(&rcload::report::table::render(
                    &r.summary,
                    &r.run_dir.display().to_string(),
                ));
            }
            for w in &r.summary.warnings {
                if quiet {
                    eprintln!("warning: {w}");
                }
            }
            verdict_code(r.summary.verdict)
        }
        Err(
            e @ (RunError::Unreachable { .. }
            | RunError::Leftovers { .. }
            | RunError::NotCleaned { .. }),
        ) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_UNREACHABLE)
        }
        Err(e) => usage_error(&e),
    }
}

/// `rcload fleet generate`: the figures from `--like` and the flags, the fleet written.
fn fleet_generate(a: &rcload::cli::FleetGenerateArgs) -> ExitCode {
    use rcload::fleet::generate::{Figures, generate, write};
    let mut f = match a.like.as_deref() {
        Some(_) => Figures::c2000(),
        None => Figures {
            rooms: 4,
            consoles: 40,
            terminals: 2000,
            talkgroups: 100,
            disciplines: Vec::new(),
            monitored: 6,
            seed: 1,
        },
    };
    f.rooms = a.rooms.unwrap_or(f.rooms);
    f.consoles = a.consoles.unwrap_or(f.consoles);
    f.terminals = a.terminals.unwrap_or(f.terminals);
    f.talkgroups = a.talkgroups.unwrap_or(f.talkgroups);
    f.monitored = a.monitored.unwrap_or(f.monitored);
    f.seed = a.seed.unwrap_or(f.seed);
    if let Some(list) = &a.disciplines {
        let mut d = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, share) = item.split_once('=').unwrap_or((item, "1"));
            match share.trim().parse::<f64>() {
                Ok(s) => d.push((name.trim().to_string(), s)),
                Err(_) => return usage_error(&format!("--disciplines: `{item}`: NAME=SHARE")),
            }
        }
        f.disciplines = d;
    }
    if let Err(e) = f.check() {
        return usage_error(&e);
    }
    let fleet = generate(&f);
    match write(&fleet, &a.out) {
        Ok(files) => {
            for p in files {
                out(&format!("{}\n", p.display()));
            }
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(&format!("{}: {e}", a.out.display())),
    }
}

/// `rcload fleet anonymise`: the fleet and its records mapped with the key, written.
fn fleet_anonymise(a: &rcload::cli::FleetAnonymiseArgs) -> ExitCode {
    use rcload::fleet::anonymise;
    let key = match std::fs::read(&a.key_file)
        .map_err(|e| format!("--key-file {}: {e}", a.key_file.display()))
        .and_then(|b| anonymise::Key::from_bytes(&b))
    {
        Ok(k) => k,
        Err(e) => return usage_error(&e),
    };
    let fleet = match rcload::fleet::load(&a.fleet) {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    let mut records = Vec::new();
    for p in &a.records {
        let text = match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) => return usage_error(&format!("{}: {e}", p.display())),
        };
        match anonymise::records(&text, &key) {
            Ok(out) => records.push((p.display().to_string(), out)),
            Err((line, m)) => return usage_error(&format!("{}:{line}: {m}", p.display())),
        }
    }
    match anonymise::write(&anonymise::fleet(&fleet, &key), &records, &a.out) {
        Ok(files) => {
            for p in files {
                out(&format!("{}\n", p.display()));
            }
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(&format!("{}: {e}", a.out.display())),
    }
}

/// `rcload replay generate`: a C2000-like day's records for a fleet, written.
fn replay_generate(a: &rcload::cli::ReplayGenerateArgs) -> ExitCode {
    use rcload::replay::generate::{DayFigures, day, to_csv};
    let fleet = match &a.fleet {
        Some(p) => match rcload::fleet::load(p) {
            Ok(f) => f,
            Err(e) => return usage_error(&e),
        },
        None => {
            let mut f = rcload::fleet::generate::Figures::c2000();
            f.seed = a.seed;
            rcload::fleet::generate::generate(&f)
        }
    };
    let time = |flag: &str, t: &str| {
        rcload::replay::parse_time(t)
            .map(|us| us as f64 / 1e6)
            .ok_or_else(|| format!("--{flag} `{t}`: a clock time such as 14:00"))
    };
    let (from, to) = match (time("from", &a.from), time("to", &a.to)) {
        (Ok(f), Ok(t)) if f < t => (f, t),
        (Err(e), _) | (_, Err(e)) => return usage_error(&e),
        _ => return usage_error(&"--to must come after --from"),
    };
    let records = day(&fleet, &DayFigures::c2000(a.seed), from, to);
    match std::fs::write(&a.out, to_csv(&records)) {
        Ok(()) => {
            out(&format!(
                "{}: {} records\n",
                a.out.display(),
                records.records.len()
            ));
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(&format!("{}: {e}", a.out.display())),
    }
}

/// `rcload replay inspect`: a records file's span, rate per minute and peak.
fn replay_inspect(a: &rcload::cli::ReplayInspectArgs) -> ExitCode {
    use rcload::replay::{Inspection, clock, load};
    let r = match load(&a.records) {
        Ok(r) => r,
        Err(e) => return usage_error(&e),
    };
    let i = Inspection::of(&r);
    let mut s = format!(
        "{}: {} records, {} to {} ({:.1} min)\n",
        a.records.display(),
        i.records,
        clock(i.first_us),
        clock(i.last_us),
        (i.last_us - i.first_us) as f64 / 60e6
    );
    let actions: Vec<String> = i
        .by_action
        .iter()
        .map(|(k, n)| format!("{} {n}", k.name()))
        .collect();
    s.push_str(&format!("by action: {}\n", actions.join(", ")));
    if let Some((at, n)) = i.peak() {
        s.push_str(&format!(
            "peak minute: {} with {n} records ({:.2}/s)\n",
            clock(at),
            n as f64 / 60.0
        ));
    }
    s.push_str("per minute:\n");
    let minute0 = i.first_us / 60_000_000 * 60_000_000;
    for (k, n) in i.per_minute.iter().enumerate() {
        s.push_str(&format!(
            "  {}  {n:>7}\n",
            clock(minute0 + k as u64 * 60_000_000)
        ));
    }
    out(&s);
    ExitCode::SUCCESS
}

/// The mock's TLS configuration from `--tls-cert`, `--tls-key` and `--client-ca`.
fn mock_tls(a: &MockArgs) -> Result<Option<std::sync::Arc<rustls::ServerConfig>>, String> {
    let (Some(cert), Some(key)) = (&a.tls_cert, &a.tls_key) else {
        return Ok(None);
    };
    let read = |flag: &str, p: &std::path::Path| {
        std::fs::read(p).map_err(|e| format!("{flag} {}: {e}", p.display()))
    };
    let cert = read("--tls-cert", cert)?;
    let key = read("--tls-key", key)?;
    let ca = a
        .client_ca
        .as_deref()
        .map(|p| read("--client-ca", p))
        .transpose()?;
    rcload_mock::server_config(&cert, &key, ca.as_deref())
        .map(|c| Some(std::sync::Arc::new(c)))
        .map_err(|e| e.to_string())
}

/// The fault clock's epoch for `rcload mock --start-at`: that instant of the real-time clock,
/// on the monotonic clock (in the past when it has passed).
fn fault_epoch(text: &str) -> Result<std::time::Instant, String> {
    let at: jiff::Timestamp = text
        .trim()
        .parse()
        .map_err(|e| format!("--start-at: `{text}` is not an RFC 3339 instant: {e}"))?;
    let at = std::time::SystemTime::from(at);
    let (now_i, now_s) = (std::time::Instant::now(), std::time::SystemTime::now());
    Ok(match at.duration_since(now_s) {
        Ok(ahead) => now_i + ahead,
        Err(e) => now_i.checked_sub(e.duration()).unwrap_or(now_i),
    })
}

async fn mock(a: MockArgs) -> ExitCode {
    let token = match &a.token_env {
        Some(name) => match std::env::var(name) {
            Ok(t) if !t.is_empty() => Some(t),
            _ => {
                return usage_error(&format!(
                    "the environment variable {name} named by --token-env is not set"
                ));
            }
        },
        None => None,
    };
    let load = |path: &str| {
        rcload::profile::read_source(path).and_then(|s| rcload::profile::load_mock_spec(&s))
    };
    let mut spec = match &a.config {
        None => rcload_mock::MockSpec::default(),
        Some(path) => match load(path) {
            Ok(s) => s,
            Err(e) => return usage_error(&e),
        },
    };
    if let Some(path) = &a.faults {
        match load(path) {
            Ok(f) => spec.faults.extend(f.faults),
            Err(e) => return usage_error(&e),
        }
    }
    let tls = match mock_tls(&a) {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    let header_timeout = match rcload_api::parse_duration(&a.header_timeout) {
        Ok(d) if !d.is_zero() => d,
        Ok(_) => return usage_error(&"--header-timeout: must be more than zero"),
        Err(e) => return usage_error(&format!("--header-timeout: {e}")),
    };
    if a.max_connections == 0 {
        return usage_error(&"--max-connections: must be at least 1");
    }
    let listener = match tokio::net::TcpListener::bind(&a.listen).await {
        Ok(l) => l,
        Err(e) => return usage_error(&format!("--listen {}: {e}", a.listen)),
    };
    if let Ok(addr) = listener.local_addr() {
        let scheme = if tls.is_some() { "https" } else { "http" };
        out(&format!("rcload mock listening on {scheme}://{addr}\n"));
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let dialect = match a.dialect {
        rcload::cli::MockDialect::ApiV1 => rcload_mock::Dialect::ApiV1,
        rcload::cli::MockDialect::VendorX => rcload_mock::Dialect::VendorX,
    };
    let oauth = match (dialect, std::env::var(&a.client_secret_env)) {
        (rcload_mock::Dialect::VendorX, Ok(secret)) if !secret.is_empty() => {
            let lifetime = match rcload_api::parse_duration(&a.token_lifetime) {
                Ok(d) if !d.is_zero() => d,
                Ok(_) => return usage_error(&"--token-lifetime: must be more than zero"),
                Err(e) => return usage_error(&format!("--token-lifetime: {e}")),
            };
            Some(rcload_mock::OAuthClient {
                client_id: a.client_id.clone(),
                client_secret: secret,
                token_lifetime: lifetime,
            })
        }
        (rcload_mock::Dialect::VendorX, _) => {
            eprintln!(
                "rcload mock: vendor-x without authentication ({} is not set)",
                a.client_secret_env
            );
            None
        }
        _ => None,
    };
    let fault_epoch = match a.start_at.as_deref().map(fault_epoch).transpose() {
        Ok(e) => e,
        Err(e) => return usage_error(&e),
    };
    let config = rcload_mock::MockConfig {
        token,
        spec,
        seed: a.seed,
        fault_epoch,
        dialect,
        oauth,
        tls,
        limits: rcload_mock::ConnLimits {
            header_timeout,
            max_connections: a.max_connections,
        },
    };
    match rcload_mock::serve(listener, config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(&format!("mock: {e}")),
    }
}
