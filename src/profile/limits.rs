//! Limits on what a profile may ask for. A typo (`duration: 1000000h`, a hundred million
//! consoles per room, a log pasted into `description`) is refused with a located error before
//! any work or allocation, rather than after minutes or gigabytes.
//!
//! The limits lie far above the largest real systems (`../shared/DOMAIN.md`: C2000 has about
//! 80,000 terminals, 11,000 talkgroups and 2,200 dispatchers in 13 rooms; Germany's BOS network
//! about 1.1 million terminals; a nightly soak lasts 8 h). Those a user may really need to pass
//! are raised in the profile's `limits:` section (or `--set limits.duration=30d`); the sizes
//! of the file and of its texts are fixed. `docs/profiles.md#limits` has the table.

use super::ProfileError;
use super::phases::DEFAULT_HOLD_S;
use super::types::{EventKind, Profile, ProfileLimits, TrafficAction};
use crate::locate::{FieldPath, KeyIndex, Problem, problem};
use rcload_api::Dur;
use std::time::Duration;

/// The most bytes of a profile file that are read; a larger file is refused before parsing.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// The most bytes of `description`.
pub const MAX_DESCRIPTION_BYTES: usize = 64 * 1024;
/// The most bytes of `name` and of an event's `name` (they name run directories and phases).
pub const MAX_NAME_BYTES: usize = 200;

/// Default limit of `duration`: a week (a nightly soak lasts 8 h).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default limit of `population.control_rooms`.
pub const DEFAULT_CONTROL_ROOMS: u64 = 1_000;
/// Default limit of the consoles of all rooms (`control_rooms` x `consoles_per_room`).
pub const DEFAULT_CONSOLES: u64 = 100_000;
/// Default limit of `population.terminals`.
pub const DEFAULT_TERMINALS: u64 = 10_000_000;
/// Default limit of the talkgroups of all rooms (`control_rooms` x `talkgroups_per_room`).
pub const DEFAULT_TALKGROUPS: u64 = 1_000_000;
/// Default limit of the (console, monitored talkgroup) pairs: consoles x
/// `monitored_per_console`.
pub const DEFAULT_MONITORED: u64 = 10_000_000;
/// Default limit of the rate of one stream: a traffic stream's peak, the audits, the probes.
pub const DEFAULT_RATE_PER_S: f64 = 100_000.0;
/// Default limit of the background calls in progress at once (rate x hold, over the streams).
pub const DEFAULT_CALLS_IN_PROGRESS: u64 = 1_000_000;
/// Default limit of the timed events, each day of a daily one counted.
pub const DEFAULT_EVENTS: u64 = 1_000;
/// Default limit of the actions of all timed events (logouts, logins, deregistrations,
/// registrations, emergency calls and their ends), each day of a daily one counted.
pub const DEFAULT_EVENT_ACTIONS: u64 = 10_000_000;

/// The limits in force: the profile's `limits:` where set, else the defaults.
impl ProfileLimits {
    pub fn duration(&self) -> Dur {
        self.duration.unwrap_or(Dur(DEFAULT_DURATION))
    }
    pub fn control_rooms(&self) -> u64 {
        self.control_rooms.unwrap_or(DEFAULT_CONTROL_ROOMS)
    }
    /// At most 2^32 - 1 however it is raised: consoles are numbered with 32 bits.
    pub fn consoles(&self) -> u64 {
        self.consoles
            .unwrap_or(DEFAULT_CONSOLES)
            .min(u64::from(u32::MAX))
    }
    pub fn terminals(&self) -> u64 {
        self.terminals.unwrap_or(DEFAULT_TERMINALS)
    }
    pub fn talkgroups(&self) -> u64 {
        self.talkgroups.unwrap_or(DEFAULT_TALKGROUPS)
    }
    pub fn monitored(&self) -> u64 {
        self.monitored.unwrap_or(DEFAULT_MONITORED)
    }
    pub fn rate_per_s(&self) -> f64 {
        self.rate.map_or(DEFAULT_RATE_PER_S, |r| r.per_s)
    }
    pub fn calls_in_progress(&self) -> u64 {
        self.calls_in_progress.unwrap_or(DEFAULT_CALLS_IN_PROGRESS)
    }
    pub fn events(&self) -> u64 {
        self.events.unwrap_or(DEFAULT_EVENTS)
    }
    pub fn event_actions(&self) -> u64 {
        self.event_actions.unwrap_or(DEFAULT_EVENT_ACTIONS)
    }
}

/// `12345678` as `12,345,678`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size in bytes for messages: `4 MiB`, `64 KiB`, `200 bytes`.
fn bytes_text(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)).replace(".0 MiB", " MiB")
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0).replace(".0 KiB", " KiB")
    } else {
        format!("{n} bytes")
    }
}

/// How to pass a limit that is in the way.
fn raise(name: &str, example: &str) -> String {
    format!(
        "the limit guards against typos; if you really need more, raise it in the profile \
         (`limits: {{ {name}: {example} }}`) or with `--set limits.{name}={example}` \
         (docs/profiles.md, \"Limits\")"
    )
}

fn text_problem(path: FieldPath, what: &str, len: usize, limit: usize) -> Problem {
    problem(
        path,
        format!(
            "the {what} is {} bytes long, more than the limit of {} bytes ({})",
            thousands(len as u64),
            thousands(limit as u64),
            bytes_text(limit)
        ),
        Some("keep long notes in a file beside the profile (this limit is fixed)"),
    )
}

/// How many times a timed event happens in a run of `duration`: a daily one once a day (one
/// more for a run that starts before the clock time and ends after it a day later).
fn occurrences(repeat: bool, duration: Dur) -> u64 {
    if repeat {
        (duration.as_secs_f64() / 86_400.0).ceil() as u64 + 1
    } else {
        1
    }
}

/// Every limit the profile breaks; empty when it is within them all. Checked before anything
/// else of the profile, and before anything is built from it.
pub(super) fn check(p: &Profile) -> Vec<Problem> {
    let mut out = Vec::new();
    let l = &p.limits;
    let root = FieldPath::root();
    text_limits(p, &root, &mut out);
    if p.duration > l.duration() {
        out.push(problem(
            root.clone().key("duration"),
            format!(
                "the run would last {}, longer than the limit of {}",
                p.duration,
                l.duration()
            ),
            Some(&raise("duration", "30d")),
        ));
    }

    let n = population_limits(p, &root, &mut out);
    event_limits(p, &n, &root, &mut out);
    traffic_limits(p, &root, &mut out);
    check_limits(p, &n, &root, &mut out);
    out
}

/// The population's sizes, as the limits count them.
struct Sizes {
    consoles: u64,
    terminals: u64,
    talkgroups: u64,
    /// Console-talkgroup pairs.
    monitored: u64,
}

/// The lengths of the profile's texts: its name, its description, its phases' names.
fn text_limits(p: &Profile, root: &FieldPath, out: &mut Vec<Problem>) {
    if p.name.len() > MAX_NAME_BYTES {
        out.push(text_problem(
            root.clone().key("name"),
            "name",
            p.name.len(),
            MAX_NAME_BYTES,
        ));
    }
    if p.description.len() > MAX_DESCRIPTION_BYTES {
        out.push(text_problem(
            root.clone().key("description"),
            "description",
            p.description.len(),
            MAX_DESCRIPTION_BYTES,
        ));
    }
    for (i, e) in p.events.iter().enumerate() {
        if let Some(n) = &e.name
            && n.len() > MAX_NAME_BYTES
        {
            out.push(text_problem(
                root.clone().key("events").index(i).key("name"),
                "phase name",
                n.len(),
                MAX_NAME_BYTES,
            ));
        }
    }
}

/// The population's limits (rooms, consoles, terminals, talkgroups, monitored pairs); returns
/// its sizes.
fn population_limits(p: &Profile, root: &FieldPath, out: &mut Vec<Problem>) -> Sizes {
    let l = &p.limits;
    let pop = &p.population;
    let pp = root.clone().key("population");
    let rooms = u64::from(pop.control_rooms);
    if rooms > l.control_rooms() {
        out.push(problem(
            pp.clone().key("control_rooms"),
            format!(
                "{} control rooms are more than the limit of {}",
                thousands(rooms),
                thousands(l.control_rooms())
            ),
            Some(&raise("control_rooms", "5000")),
        ));
    }
    let consoles = rooms * u64::from(pop.consoles_per_room);
    if consoles > l.consoles() {
        out.push(problem(
            pp.clone().key("consoles_per_room"),
            format!(
                "{} consoles per room in {} rooms are {} consoles, more than the limit of {}",
                thousands(u64::from(pop.consoles_per_room)),
                thousands(rooms),
                thousands(consoles),
                thousands(l.consoles())
            ),
            Some(&raise("consoles", "500000")),
        ));
    }
    let terminals = u64::from(pop.terminals);
    if terminals > l.terminals() {
        out.push(problem(
            pp.clone().key("terminals"),
            format!(
                "{} terminals are more than the limit of {}",
                thousands(terminals),
                thousands(l.terminals())
            ),
            Some(&raise("terminals", "15000000")),
        ));
    }
    let talkgroups = rooms * u64::from(pop.talkgroups_per_room);
    if talkgroups > l.talkgroups() {
        out.push(problem(
            pp.clone().key("talkgroups_per_room"),
            format!(
                "{} talkgroups per room in {} rooms are {} talkgroups, more than the limit of {}",
                thousands(u64::from(pop.talkgroups_per_room)),
                thousands(rooms),
                thousands(talkgroups),
                thousands(l.talkgroups())
            ),
            Some(&raise("talkgroups", "5000000")),
        ));
    }
    let monitored = consoles.saturating_mul(u64::from(pop.monitored_per_console));
    if monitored > l.monitored() {
        out.push(problem(
            pp.clone().key("monitored_per_console"),
            format!(
                "{} consoles monitoring {} talkgroups each are {} console-talkgroup pairs, more \
                 than the limit of {}",
                thousands(consoles),
                thousands(u64::from(pop.monitored_per_console)),
                thousands(monitored),
                thousands(l.monitored())
            ),
            Some(&raise("monitored", "50000000")),
        ));
    }
    Sizes {
        consoles,
        terminals,
        talkgroups,
        monitored,
    }
}

/// Timed events: each is a phase and a source of the schedule, and its actions are made when
/// the schedule is built.
fn event_limits(p: &Profile, n: &Sizes, root: &FieldPath, out: &mut Vec<Problem>) {
    let l = &p.limits;
    let (consoles, terminals) = (n.consoles, n.terminals);
    let (mut events, mut actions) = (0u64, 0u64);
    let (mut events_reported, mut actions_reported) = (false, false);
    for (i, e) in p.events.iter().enumerate() {
        let ep = root.clone().key("events").index(i);
        let times = occurrences(e.repeat.is_some(), p.duration);
        events = events.saturating_add(times);
        if events > l.events() && !events_reported {
            events_reported = true;
            out.push(problem(
                ep.clone(),
                format!(
                    "the timed events up to this one happen {} times in the run (a daily one \
                     once a day), more than the limit of {}",
                    thousands(events),
                    thousands(l.events())
                ),
                Some(&raise("events", "5000")),
            ));
        }
        let (field, per_time) = match e.kind {
            EventKind::ShiftChange => {
                let share = |pct: Option<rcload_api::Percent>, default: f64, n: u64| -> u64 {
                    let f = pct.map_or(default, |x| x.fraction);
                    ((f * n as f64).round() as u64).min(n)
                };
                let c = share(e.consoles, 1.0, consoles);
                let t = share(e.terminals, 0.0, terminals);
                let field = if t > c { "terminals" } else { "consoles" };
                (field, 2 * (c + t))
            }
            EventKind::EmergencyBurst => ("calls", 2 * u64::from(e.calls.unwrap_or(0))),
        };
        let here = per_time.saturating_mul(times);
        actions = actions.saturating_add(here);
        if actions > l.event_actions() && !actions_reported {
            actions_reported = true;
            out.push(problem(
                ep.clone().key(field),
                format!(
                    "the timed events up to this one make {} actions ({} of them this one's), \
                     more than the limit of {}",
                    thousands(actions),
                    thousands(here),
                    thousands(l.event_actions())
                ),
                Some(&raise("event_actions", "50000000")),
            ));
        }
    }
}

/// Background traffic: its rate, and the calls it keeps in progress.
fn traffic_limits(p: &Profile, root: &FieldPath, out: &mut Vec<Problem>) {
    let l = &p.limits;
    let rate_limit = l.rate_per_s();
    let mut in_progress = 0.0_f64;
    let mut in_progress_reported = false;
    for (i, t) in p.traffic.iter().enumerate() {
        let tp = root.clone().key("traffic").index(i);
        let Some(t) = t.formula() else { continue };
        let peak = t.rate.peak();
        if peak > rate_limit {
            out.push(problem(
                tp.clone().key("rate"),
                format!("a rate of {peak}/s is more than the limit of {rate_limit}/s"),
                Some(&raise("rate", "200000/s")),
            ));
        }
        if matches!(
            t.action,
            TrafficAction::GroupCall | TrafficAction::EmergencyCall
        ) {
            let hold_s = t.hold.map_or(DEFAULT_HOLD_S, |d| d.as_secs_f64());
            in_progress += peak * hold_s;
            if in_progress > l.calls_in_progress() as f64 && !in_progress_reported {
                in_progress_reported = true;
                let field = if t.hold.is_some() { "hold" } else { "rate" };
                out.push(problem(
                    tp.clone().key(field),
                    format!(
                        "calls held {hold_s} s at up to {peak}/s keep about {} calls in \
                         progress at once (with the call streams before this one), more than \
                         the limit of {}",
                        thousands(in_progress.round() as u64),
                        thousands(l.calls_in_progress())
                    ),
                    Some(&raise("calls_in_progress", "5000000")),
                ));
            }
        }
    }
}

/// Checks: the audits and probes are streams of their own, within the rate limit.
fn check_limits(p: &Profile, n: &Sizes, root: &FieldPath, out: &mut Vec<Problem>) {
    let rate_limit = p.limits.rate_per_s();
    let (consoles, talkgroups, monitored) = (n.consoles, n.talkgroups, n.monitored);
    let cp = root.clone().key("checks");
    let audit_us = p.checks.audit_every.as_micros();
    if audit_us > 0 {
        let rate = consoles as f64 / (audit_us as f64 / 1e6);
        if rate > rate_limit {
            out.push(problem(
                cp.clone().key("audit_every"),
                format!(
                    "auditing {} consoles every {} is {rate:.0}/s, more than the limit of \
                     {rate_limit}/s",
                    thousands(consoles),
                    p.checks.audit_every
                ),
                Some(&format!(
                    "audit less often; or {}",
                    raise("rate", "200000/s")
                )),
            ));
        }
    }
    let probe_us = p.checks.probe_every.as_micros();
    if probe_us > 0 {
        let probed = talkgroups.min(monitored);
        let rate = probed as f64 / (probe_us as f64 / 1e6);
        if rate > rate_limit {
            out.push(problem(
                cp.clone().key("probe_every"),
                format!(
                    "probing up to {} talkgroups every {} is up to {rate:.0}/s, more than the \
                     limit of {rate_limit}/s",
                    thousands(probed),
                    p.checks.probe_every
                ),
                Some(&format!(
                    "probe less often; or {}",
                    raise("rate", "200000/s")
                )),
            ));
        }
    }
}

/// The error for a file larger than [`MAX_FILE_BYTES`], given the start of it (what was read):
/// located at the field that takes most of it when one does (a pasted `description`).
pub(super) fn too_large(file: &str, head: &[u8]) -> ProfileError {
    let text = String::from_utf8_lossy(head);
    let index = KeyIndex::new(&text);
    let message = format!(
        "the file is larger than {}, the most a profile may be",
        bytes_text(MAX_FILE_BYTES)
    );
    let hint = Some(format!(
        "a profile is a few kilobytes; `description` takes at most {} (these limits are fixed)",
        bytes_text(MAX_DESCRIPTION_BYTES)
    ));
    match index.largest(&text) {
        Some((path, line, column, len)) if len * 2 >= head.len() => ProfileError::Invalid {
            file: file.to_string(),
            line,
            column,
            field: path.to_string(),
            message: format!(
                "{message}; this field takes {} and more of it",
                bytes_text(len)
            ),
            hint,
        },
        _ => ProfileError::Unplaced {
            file: file.to_string(),
            field: FieldPath::root().to_string(),
            message,
            hint,
        },
    }
}
