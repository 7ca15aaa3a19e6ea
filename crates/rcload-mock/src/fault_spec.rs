//! The fault list: what may break on purpose, when, and for whom ([`FaultSpec`]), how a list
//! is read and checked, and the record of what each fault did ([`FaultLog`]).
//!
//! Plain data with its parsing and checks; the firing task and the request middleware that
//! carry faults out are in `faults`.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use rcload_api::{self as api, Dur, Op, Percent, parse_percent};

/// The `reason` of the events a fault sends (`talkgroup.dropped`, `console.kicked`).
pub const FAULT_REASON: &str = "fault";

/// Operation names accepted by `errors` and `delay` faults (rcload's operation names, plus
/// `console.events` for opening an event stream), in the order `/metrics` lists them.
pub fn fault_operations() -> impl Iterator<Item = &'static str> {
    Op::EVERY.iter().map(|o| o.name())
}

/// One fault of the list: when it fires and what it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Time since the fault clock's epoch.
    pub at: Dur,
    pub kind: FaultKind,
    /// `stall`: how long the API stalls.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_: Option<Dur>,
    /// `drop`, `silent_drop`, `blackhole`, `kick`: a console id or a share of the consoles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<Selector>,
    /// `drop`, `silent_drop`, `blackhole`: a GSSI or a share of each console's set; absent: one
    /// at random.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talkgroup: Option<Selector>,
    /// `errors`, `delay`: the operation (one of [`FAULT_OPERATIONS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// `errors`: the share of the operation's requests that fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Percent>,
    /// `errors`, `delay`: when the fault ends (time since the epoch); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Dur>,
    /// `delay`: the extra latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
}

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Every `/v1` request arriving in `[at, at+for)` waits until `at+for`.
    Stall,
    /// Removes talkgroups from consoles' sets and sends `talkgroup.dropped`.
    Drop,
    /// Removes talkgroups from consoles' sets without any event.
    SilentDrop,
    /// Keeps talkgroups listed but delivers none of their events until re-attached.
    Blackhole,
    /// Sends `console.kicked` and closes the consoles' streams (they stay logged in).
    Kick,
    /// A share of an operation's requests answer 500.
    Errors,
    /// A fixed extra latency on an operation.
    Delay,
}

impl FaultKind {
    /// The name as written in a fault list.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Stall => "stall",
            FaultKind::Drop => "drop",
            FaultKind::SilentDrop => "silent_drop",
            FaultKind::Blackhole => "blackhole",
            FaultKind::Kick => "kick",
            FaultKind::Errors => "errors",
            FaultKind::Delay => "delay",
        }
    }

    /// Fields this kind needs, and fields it accepts (besides `at` and `kind`).
    fn fields(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            FaultKind::Stall => (&["for"], &["for"]),
            FaultKind::Drop | FaultKind::SilentDrop | FaultKind::Blackhole => {
                (&["console"], &["console", "talkgroup"])
            }
            FaultKind::Kick => (&["console"], &["console"]),
            FaultKind::Errors => (&["op", "rate"], &["op", "rate", "until"]),
            FaultKind::Delay => (&["op", "ms"], &["op", "ms", "until"]),
        }
    }

    /// "a stall", "an errors fault", ... for messages.
    fn a(self) -> &'static str {
        match self {
            FaultKind::Stall => "a stall",
            FaultKind::Drop => "a drop",
            FaultKind::SilentDrop => "a silent_drop",
            FaultKind::Blackhole => "a blackhole",
            FaultKind::Kick => "a kick",
            FaultKind::Errors => "an errors fault",
            FaultKind::Delay => "a delay",
        }
    }

    /// Whether the fault acts on requests (rather than on the model).
    pub(crate) fn on_requests(self) -> bool {
        matches!(
            self,
            FaultKind::Stall | FaultKind::Errors | FaultKind::Delay
        )
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A console id / GSSI, or a share. Deserializes from a string ending in `%` (share), another
/// string (id), or an integer (GSSI); serializes back the same way.
///
/// As a `console`, a `Number` is the console id written as digits.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    Id(String),
    Number(u32),
    Share(Percent),
}

impl Selector {
    /// The console id this selects, when it names one console.
    pub(crate) fn console_id(&self) -> Option<String> {
        match self {
            Selector::Id(id) => Some(id.clone()),
            Selector::Number(n) => Some(n.to_string()),
            Selector::Share(_) => None,
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Id(id) => f.write_str(id),
            Selector::Number(n) => write!(f, "{n}"),
            Selector::Share(p) => write!(f, "{p}"),
        }
    }
}

impl Serialize for Selector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Selector::Id(id) => s.serialize_str(id),
            Selector::Number(n) => s.serialize_u32(*n),
            Selector::Share(p) => s.collect_str(p),
        }
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Selector;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id, a GSSI (integer) or a share such as `10%`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Selector, E> {
                if v.trim().ends_with('%') {
                    parse_percent(v).map(Selector::Share).map_err(E::custom)
                } else {
                    Ok(Selector::Id(v.to_owned()))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Selector, E> {
                u32::try_from(v)
                    .map(Selector::Number)
                    .map_err(|_| E::custom(format!("`{v}` is too large for a GSSI")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Selector, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!(
                        "`{v}` is negative; give an id, a GSSI or a share such as `10%`"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl FaultSpec {
    /// Problems as (field name, message) pairs, e.g. ("for", "a stall needs `for`"),
    /// ("op", "unknown operation `x`; use one of ..."), ("console", "`console` is not a field of
    /// a stall fault"). Required per kind: stall: for; drop/silent_drop/blackhole: console;
    /// kick: console; errors: op, rate; delay: op, ms. Fields not listed for the kind are
    /// problems too.
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let kind = self.kind;
        let (required, allowed) = kind.fields();
        let present: [(&'static str, bool); 7] = [
            ("for", self.for_.is_some()),
            ("console", self.console.is_some()),
            ("talkgroup", self.talkgroup.is_some()),
            ("op", self.op.is_some()),
            ("rate", self.rate.is_some()),
            ("until", self.until.is_some()),
            ("ms", self.ms.is_some()),
        ];
        for (field, is) in present {
            if is && !allowed.contains(&field) {
                let a = kind.a().trim_end_matches(" fault");
                out.push((field, format!("`{field}` is not a field of {a} fault")));
            } else if !is && required.contains(&field) {
                out.push((field, format!("{} needs `{field}`", kind.a())));
            }
        }
        let ok = |field: &str| allowed.contains(&field);
        if let Some(d) = self.for_.filter(|d| d.0.is_zero() && ok("for")) {
            out.push(("for", format!("`for` must be more than 0, got `{d}`")));
        }
        if let Some(sel) = self.console.as_ref().filter(|_| ok("console")) {
            match sel {
                Selector::Id(id) if !api::valid_console_id(id) => out.push((
                    "console",
                    format!(
                        "`{id}` is not a console id ([A-Za-z0-9._-]{{1,64}}); give an id or a \
                         share such as `10%`"
                    ),
                )),
                Selector::Share(p) if p.fraction <= 0.0 => {
                    out.push(("console", "a share of 0% selects no console".to_owned()));
                }
                _ => {}
            }
        }
        if let Some(sel) = self.talkgroup.as_ref().filter(|_| ok("talkgroup")) {
            match sel {
                Selector::Id(id) => out.push((
                    "talkgroup",
                    format!(
                        "`{id}` is not a talkgroup; give a GSSI (integer 1..={}), a share such \
                         as `10%`, or leave `talkgroup` out for one at random",
                        api::MAX_ID
                    ),
                )),
                Selector::Number(n) if !api::valid_tetra_id(u64::from(*n)) => out.push((
                    "talkgroup",
                    format!("a GSSI must be in 1..={}, got {n}", api::MAX_ID),
                )),
                Selector::Share(p) if p.fraction <= 0.0 => {
                    out.push(("talkgroup", "a share of 0% selects no talkgroup".to_owned()));
                }
                _ => {}
            }
        }
        if let Some(op) = self.op.as_deref().filter(|_| ok("op"))
            && Op::from_name(op).is_none()
        {
            out.push((
                "op",
                format!(
                    "unknown operation `{op}`; use one of {}",
                    fault_operations().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if let Some(until) = self.until.filter(|_| ok("until"))
            && until <= self.at
        {
            out.push((
                "until",
                format!("`until` ({until}) must be after `at` ({})", self.at),
            ));
        }
        out
    }
}

/// Problems of a whole list as (index in the list, field, message).
pub fn check_faults(faults: &[FaultSpec]) -> Vec<(usize, &'static str, String)> {
    faults
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.check().into_iter().map(move |(k, m)| (i, k, m)))
        .collect()
}

/// The problems of a list as one message per line (`faults[1].for: a stall needs `for``), or
/// `None` when the list is valid.
pub fn describe_problems(faults: &[FaultSpec]) -> Option<String> {
    let problems = check_faults(faults);
    if problems.is_empty() {
        return None;
    }
    let lines: Vec<String> = problems
        .into_iter()
        .map(|(i, field, msg)| format!("faults[{i}].{field}: {msg}"))
        .collect();
    Some(lines.join("\n"))
}

/// A fault file: a YAML document `faults: [ ... ]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
}

/// Parses and checks a fault file (YAML `faults: [ ... ]`). The error is the parse error, or
/// one line per problem as in [`describe_problems`].
pub fn parse_fault_file(yaml: &str) -> Result<Vec<FaultSpec>, String> {
    let file: FaultFile = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
    match describe_problems(&file.faults) {
        None => Ok(file.faults),
        Some(problems) => Err(problems),
    }
}

/// What a fault did when it fired, for logs and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRecord {
    pub at: Instant,
    pub kind: FaultKind,
    pub console: Option<String>,
    pub talkgroup: Option<u32>,
}

/// The records of the faults fired so far, shared by the firing task and the handle.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultLog(Arc<Mutex<Vec<FaultRecord>>>);

impl FaultLog {
    fn lock(&self) -> MutexGuard<'_, Vec<FaultRecord>> {
        // Nothing panics while holding it; a poisoned log is still a valid list.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn push(&self, record: FaultRecord) {
        self.lock().push(record);
    }

    pub(crate) fn snapshot(&self) -> Vec<FaultRecord> {
        self.lock().clone()
    }
}
