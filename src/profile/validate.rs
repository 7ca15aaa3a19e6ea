//! Checks that span fields, run after a profile has parsed. Each problem names its field path;
//! the caller turns the path into a line and column.

use super::types::{EMERGENCY_BURST_FIELDS, EventKind, EventSpec, Profile, SHIFT_CHANGE_FIELDS};
use crate::locate::{FieldPath, Problem, problem};
use rcload_api::{MAX_ID, Op};

/// Event types whose delivery rcload measures (SLO key `delivery.<type>`).
pub const DELIVERY_TYPES: &[&str] = &[
    "status",
    "call.started",
    "emergency.alert",
    "call.ended",
    "terminal.registered",
    "terminal.deregistered",
];

pub use crate::ids::{FIRST_GSSI, FIRST_ISSI};

/// What is wrong with a `traffic:` replay entry's settings (the file is read later).
fn replay_problems(r: &super::types::Replay, tp: &FieldPath, out: &mut Vec<Problem>) {
    if !(r.speed.is_finite() && r.speed > 0.0 && r.speed <= 1000.0) {
        out.push(problem(
            tp.clone().key("speed"),
            format!(
                "`speed` must be more than 0 and at most 1000, not {}",
                r.speed
            ),
            Some("2 replays the records twice as fast"),
        ));
    }
    if r.repeat == 0 || r.repeat > 10_000 {
        out.push(problem(
            tp.clone().key("repeat"),
            "`repeat` must be 1 to 10000",
            None,
        ));
    }
    let time = |field: &str, v: &Option<String>, out: &mut Vec<Problem>| match v {
        Some(t) => {
            let parsed = crate::replay::parse_time(t);
            if parsed.is_none() {
                out.push(problem(
                    tp.clone().key(field),
                    format!("`{t}`: a clock time of the records (`\"14:00\"`) or seconds"),
                    None,
                ));
            }
            parsed
        }
        None => None,
    };
    // Compared when written alike: a clock time against seconds from the first record is
    // known only with the records.
    let alike =
        r.from.as_deref().map(|t| t.contains(':')) == r.to.as_deref().map(|t| t.contains(':'));
    if let (Some(from), Some(to)) = (time("from", &r.from, out), time("to", &r.to, out))
        && alike
        && from >= to
    {
        out.push(problem(
            tp.clone().key("to"),
            "`to` must come after `from`",
            None,
        ));
    }
}

fn set_fields(e: &EventSpec) -> Vec<&'static str> {
    let mut v = Vec::new();
    let fields: [(&str, bool); 9] = [
        ("consoles", e.consoles.is_some()),
        ("terminals", e.terminals.is_some()),
        ("logout_over", e.logout_over.is_some()),
        ("shape", e.shape.is_some()),
        ("handover", e.handover.is_some()),
        ("calls", e.calls.is_some()),
        ("over", e.over.is_some()),
        ("talkgroups", e.talkgroups.is_some()),
        ("hold", e.hold.is_some()),
    ];
    for (name, set) in fields {
        if set {
            v.push(name);
        }
    }
    v
}

/// All problems of a parsed profile; empty when it is fine.
pub fn check(p: &Profile) -> Vec<Problem> {
    // The limits first: they guard everything that is built from the profile.
    let mut out = super::limits::check(p);
    let root = FieldPath::root();
    if p.name.trim().is_empty() {
        out.push(problem(root.clone().key("name"), "the name is empty", None));
    }
    if p.duration.0.is_zero() {
        out.push(problem(
            root.clone().key("duration"),
            "the duration must be more than zero",
            Some("e.g. `duration: 10m`"),
        ));
    }
    let talkgroups = population_problems(&p.population, &root, &mut out);
    if p.setup.over > p.duration {
        out.push(problem(
            root.clone().key("setup").key("over"),
            format!(
                "setup takes {} but the run lasts only {}",
                p.setup.over, p.duration
            ),
            Some("shorten `setup.over` or lengthen `duration`"),
        ));
    }
    traffic_problems(p, &root, &mut out);
    event_problems(p, talkgroups, &root, &mut out);
    mock_problems(p, &root, &mut out);
    checks_problems(&p.checks, &root, &mut out);
    slo_problems(p, &root, &mut out);
    out
}

/// The population's problems; returns how many talkgroups it has (`u64::MAX` for a fleet
/// map, counted when it is loaded).
fn population_problems(
    pop: &super::types::Population,
    root: &FieldPath,
    out: &mut Vec<Problem>,
) -> u64 {
    let pp = root.clone().key("population");
    // A fleet's talkgroups are counted when it is loaded.
    let mapped = pop.fleet.is_some() || pop.like.is_some();
    let talkgroups = if mapped {
        u64::MAX
    } else {
        u64::from(pop.control_rooms) * u64::from(pop.talkgroups_per_room)
    };
    if pop.fleet.is_some() && pop.like.is_some() {
        out.push(problem(
            pp.clone().key("like"),
            "`fleet` and `like` do not go together: a fleet map, or one made up",
            None,
        ));
    }
    if mapped {
        let figures = [
            pop.control_rooms,
            pop.consoles_per_room,
            pop.terminals,
            pop.talkgroups_per_room,
            pop.monitored_per_console,
        ];
        if figures.iter().any(|v| *v != 0) {
            out.push(problem(
                pp.clone().key(if pop.fleet.is_some() { "fleet" } else { "like" }),
                "a fleet map and the population's figures do not go together",
                Some("leave out control_rooms, consoles_per_room, terminals, talkgroups_per_room and monitored_per_console"),
            ));
        }
    } else {
        // No consoles is a pure request load (terminals only, no event streams); then a
        // console monitors nothing.
        let consoles = pop.consoles_per_room > 0;
        for (name, v, needed) in [
            ("control_rooms", pop.control_rooms, true),
            ("terminals", pop.terminals, true),
            ("talkgroups_per_room", pop.talkgroups_per_room, true),
            ("monitored_per_console", pop.monitored_per_console, consoles),
        ] {
            if v == 0 && needed {
                out.push(problem(
                    pp.clone().key(name),
                    format!("`{name}` must be at least 1"),
                    None,
                ));
            }
        }
        if pop.monitored_per_console > pop.talkgroups_per_room {
            out.push(problem(
                pp.clone().key("monitored_per_console"),
                format!(
                    "a console cannot monitor {} talkgroups when its room has {}",
                    pop.monitored_per_console, pop.talkgroups_per_room
                ),
                Some("make it at most `talkgroups_per_room`"),
            ));
        }
        if u64::from(FIRST_GSSI) + talkgroups > u64::from(MAX_ID) {
            out.push(problem(
                pp.clone().key("talkgroups_per_room"),
                format!("{talkgroups} talkgroups do not fit in the 24-bit GSSI space"),
                None,
            ));
        }
        if u64::from(FIRST_ISSI) + u64::from(pop.terminals) > u64::from(MAX_ID) {
            out.push(problem(
                pp.clone().key("terminals"),
                format!(
                    "{} terminals do not fit in the 24-bit ISSI space",
                    pop.terminals
                ),
                None,
            ));
        }
    }
    talkgroups
}

/// The problems of each `traffic` entry.
fn traffic_problems(p: &Profile, root: &FieldPath, out: &mut Vec<Problem>) {
    for (i, t) in p.traffic.iter().enumerate() {
        let tp = root.clone().key("traffic").index(i);
        let t = match t {
            super::types::TrafficEntry::Formula(t) => t,
            super::types::TrafficEntry::Replay(r) => {
                replay_problems(r, &tp, out);
                continue;
            }
        };
        let rates = t.rate.points();
        if t.rate.peak() <= 0.0 || rates.iter().any(|r| *r < 0.0 || !r.is_finite()) {
            out.push(problem(
                tp.clone().key("rate"),
                "the rate must be more than zero (a curve: no point below zero, one above)",
                Some("remove the entry to send none"),
            ));
        }
        if t.rate.peak() > 1_000_000.0 {
            out.push(problem(
                tp.clone().key("rate"),
                "rates above 1,000,000/s are not supported",
                None,
            ));
        }
        let is_call = matches!(
            t.action,
            super::types::TrafficAction::GroupCall | super::types::TrafficAction::EmergencyCall
        );
        if t.hold.is_some() && !is_call {
            out.push(problem(
                tp.clone().key("hold"),
                "`hold` applies only to group_call and emergency_call",
                None,
            ));
        }
    }
}

/// The problems of each event (`events`); `talkgroups` bounds an emergency burst's.
fn event_problems(p: &Profile, talkgroups: u64, root: &FieldPath, out: &mut Vec<Problem>) {
    let mut names = std::collections::BTreeSet::new();
    for (i, e) in p.events.iter().enumerate() {
        let ep = root.clone().key("events").index(i);
        if let super::clock::At::After(at) = e.at
            && at >= p.duration
        {
            out.push(problem(
                ep.clone().key("at"),
                format!(
                    "the event starts at {} but the run lasts only {}",
                    e.at, p.duration
                ),
                None,
            ));
        }
        if let Some(n) = &e.name
            && (!names.insert(n.clone()) || n == "setup" || n == "steady")
        {
            out.push(problem(
                ep.clone().key("name"),
                format!("phase name `{n}` is used twice or reserved"),
                None,
            ));
        }
        let (allowed, required): (&[&str], &[&str]) = match e.kind {
            EventKind::ShiftChange => (SHIFT_CHANGE_FIELDS, &["logout_over", "handover"]),
            EventKind::EmergencyBurst => (EMERGENCY_BURST_FIELDS, &["calls", "over"]),
        };
        for f in set_fields(e) {
            if !allowed.contains(&f) {
                out.push(problem(
                    ep.clone().key(f),
                    format!("`{f}` is not a field of a {} event", e.kind.as_str()),
                    Some(&format!("its fields are: {}", allowed.join(", "))),
                ));
            }
        }
        let set = set_fields(e);
        for f in required {
            if !set.contains(f) {
                out.push(problem(
                    ep.clone().key(f),
                    format!("a {} event needs `{f}`", e.kind.as_str()),
                    None,
                ));
            }
        }
        if e.kind == EventKind::EmergencyBurst {
            if e.calls == Some(0) {
                out.push(problem(
                    ep.clone().key("calls"),
                    "`calls` must be at least 1",
                    None,
                ));
            }
            if let Some(n) = e.talkgroups
                && (n == 0 || u64::from(n) > talkgroups)
            {
                out.push(problem(
                    ep.clone().key("talkgroups"),
                    format!("`talkgroups` must be between 1 and {talkgroups} (all talkgroups)"),
                    None,
                ));
            }
        }
    }
}

/// The problems of the `mock:` section.
fn mock_problems(p: &Profile, root: &FieldPath, out: &mut Vec<Problem>) {
    let mp = root.clone().key("mock");
    for (path, message) in p.mock.check() {
        out.push(problem(
            mp.clone().join(&FieldPath::parse(&path)),
            message,
            Some("docs/mock.md lists the mock's fields, presets and fault kinds"),
        ));
    }
    for (i, f) in p.mock.faults.iter().enumerate() {
        let fp = mp.clone().key("faults").index(i);
        if f.at >= p.duration {
            out.push(problem(
                fp.clone().key("at"),
                format!(
                    "the fault fires at {} but the run lasts only {}",
                    f.at, p.duration
                ),
                None,
            ));
        }
    }
}

/// The problems of the `checks:` section.
fn checks_problems(c: &super::types::Checks, root: &FieldPath, out: &mut Vec<Problem>) {
    let cp = root.clone().key("checks");
    if c.delivery_timeout.0.is_zero() {
        out.push(problem(
            cp.clone().key("delivery_timeout"),
            "the delivery timeout must be more than zero",
            None,
        ));
    }
    if c.reconnect.initial.0.is_zero() || c.reconnect.initial > c.reconnect.max {
        out.push(problem(
            cp.clone().key("reconnect").key("initial"),
            format!(
                "the first reconnect wait ({}) must be more than zero and at most `max` ({})",
                c.reconnect.initial, c.reconnect.max
            ),
            None,
        ));
    }
    if c.reconnect.jitter.fraction >= 1.0 {
        out.push(problem(
            cp.clone().key("reconnect").key("jitter"),
            "jitter must be below 100%",
            None,
        ));
    }
    if !c.stream_idle_timeout.0.is_zero()
        && c.stream_idle_timeout.0 < std::time::Duration::from_secs(1)
    {
        out.push(problem(
            cp.clone().key("stream_idle_timeout"),
            "a stream idle timeout under 1s would cut off healthy streams between pings",
            Some("use at least 1s, or 0s to turn the check off"),
        ));
    }
}

/// The problems of each objective (`slo:`).
fn slo_problems(p: &Profile, root: &FieldPath, out: &mut Vec<Problem>) {
    let sp = root.clone().key("slo");
    for (key, limits) in &p.slo.latency {
        let known = Op::measured(key).is_some()
            || key
                .strip_prefix("delivery.")
                .is_some_and(|t| DELIVERY_TYPES.contains(&t));
        if !known {
            out.push(problem(
                sp.clone().key(key),
                format!("`{key}` is not an operation or delivery type"),
                Some(&format!(
                    "use `error_rate`, one of {}, or `delivery.` + one of {}",
                    Op::names().collect::<Vec<_>>().join(", "),
                    DELIVERY_TYPES.join(", ")
                )),
            ));
        } else if limits.entries().is_empty() {
            out.push(problem(
                sp.clone().key(key),
                "no limit given",
                Some("e.g. `{ p99: 1s }`"),
            ));
        }
        if let Some(w) = limits.window
            && (w.0 < std::time::Duration::from_secs(1) || w.0 > p.duration.0)
        {
            out.push(problem(
                sp.clone().key(key).key("window"),
                format!("a window of {w} does not fit: it must be from 1s to the run's duration"),
                Some("windows are made of whole intervals (`--interval`, default 1s)"),
            ));
        }
        let no_consoles = p.population.fleet.is_none()
            && p.population.like.is_none()
            && p.population.consoles_per_room == 0;
        if no_consoles && key.starts_with("delivery.") {
            out.push(problem(
                sp.clone().key(key),
                "the population has no consoles: no delivery is checked, so this cannot be \
                 judged",
                Some("leave out the delivery objectives of a pure request load"),
            ));
        }
        if limits.per_room() && (!key.starts_with("delivery.") || limits.is_scoped()) {
            out.push(problem(
                sp.clone().key(key).key("per"),
                "`per: room` judges each room's deliveries over the whole run: a `delivery.` \
                 key, without `window` or `during`",
                Some("operations are not the rooms': their latency is judged for the whole run"),
            ));
        }
        if let Some(d) = &limits.during {
            let phases = super::phases_of(p);
            if d != super::TEARDOWN && !phases.iter().any(|ph| ph.matches(d)) {
                let mut names: Vec<&str> = phases.iter().map(|ph| ph.name.as_str()).collect();
                names.push(super::TEARDOWN);
                out.push(problem(
                    sp.clone().key(key).key("during"),
                    format!("`{d}` is not a phase of this profile"),
                    Some(&format!(
                        "phases are {} (an event kind names all its phases)",
                        names.join(", ")
                    )),
                ));
            }
        }
    }
}
