//! The mock's configuration: capacity (workers, queue, service times, fan-out and attach
//! costs), per-stream event queues and what happens when one overflows, and faults.
//!
//! One serde type, [`MockSpec`], is both the `mock:` section of a profile and the document of
//! `rcload mock --config FILE`. A `preset` gives the base values (see [`presets`]) and the other
//! fields override them; [`MockSpec::resolve`] turns it into concrete values ([`Capacity`]).
//! Like the rest of the mock, this knows nothing of the load engine.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use super::fault_spec::{FaultSpec, check_faults};
use rcload_api::Dur;
use rcload_api::Op;

/// The preset used when a spec names none.
pub const DEFAULT_PRESET: &str = "healthy";

/// The names of the presets, in the order they are documented.
pub const PRESETS: &[&str] = &["healthy", "fragile-2023"];

/// The key of [`MockSpec::service`] that applies to every operation not listed.
pub const DEFAULT_SERVICE: &str = "default";

/// The operation that opens an event stream: not API work, so never queued and without a
/// service time.
const STREAM_OP: &str = "console.events";

/// The operations the API's workers serve (every operation but opening an event stream).
fn queued_operations() -> impl Iterator<Item = &'static str> {
    Op::EVERY
        .iter()
        .filter(|o| **o != Op::ConsoleEvents)
        .map(|o| o.name())
}

/// The most workers a spec may ask for.
pub const MAX_WORKERS: u32 = 100_000;

/// The most talkgroups one console may monitor when neither the spec nor its preset says.
pub const DEFAULT_MAX_TALKGROUPS_PER_CONSOLE: u32 = 1_000;

/// z of the 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326;

/// The `mock:` section of a profile, or a `rcload mock --config FILE` document. All fields
/// optional; a `preset` gives the base values and the other fields override them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockSpec {
    /// `healthy` (default) or `fragile-2023`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// API workers serving requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// Requests waiting for a worker beyond which the mock answers 503 `overloaded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_limit: Option<u32>,
    /// Service time per operation name (rcload's names, as in [`Op::EVERY`], without
    /// `console.events`); `default` applies to the rest. Merged key by key over the preset's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service: BTreeMap<String, ServiceTime>,
    /// Worker time per event fanned out by a request (per receiving stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanout_cost: Option<Dur>,
    /// Worker time per registered terminal on the talkgroups a console attaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_cost: Option<Dur>,
    /// Per console stream queue, in events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_buffer: Option<u32>,
    /// Events per second a console client takes from its queue (0 = as fast as it reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_drain_rate: Option<f64>,
    /// What happens to an event that does not fit in a stream's queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_overflow: Option<Overflow>,
    /// With `drop_talkgroups`: a console that has lost this many talkgroups as a slow consumer
    /// since it logged in is cut off (`console.kicked`, `slow_consumer`). 0: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kick_after_drops: Option<u32>,
    /// The most talkgroups one console may monitor: a `PUT talkgroups` of more (duplicates
    /// counted once) is answered 400 `bad_request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_talkgroups_per_console: Option<u32>,
    /// Faults to inject (`docs/mock.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
}

/// The service time of an operation. Written as `"8ms"` (fixed) or
/// `{ dist: fixed|exponential|lognormal, mean: 2ms, p99: 20ms }` (fixed and exponential need
/// `mean`; lognormal needs `mean` and `p99`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServiceTime {
    Fixed(Dur),
    Exponential { mean: Dur },
    LogNormal { mean: Dur, p99: Dur },
}

/// What happens when an event does not fit in a console stream's queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// `console.kicked {reason: "slow_consumer"}` goes to the client next and the stream
    /// closes (the console stays logged in).
    #[default]
    Kick,
    /// The event's talkgroup is removed from the console's set and `talkgroup.dropped
    /// {talkgroup, reason: "slow_consumer"}` goes to the client next; the event is lost.
    DropTalkgroups,
    /// The fan-out (and the request's answer) waits until there is room.
    Delay,
}

/// A spec resolved against its preset: every value concrete.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    pub workers: u32,
    pub queue_limit: u32,
    /// The service time of every queued operation (every name of [`Op::EVERY`] but
    /// `console.events`).
    pub service: BTreeMap<String, ServiceTime>,
    pub fanout_cost: Duration,
    pub attach_cost: Duration,
    pub event_buffer: u32,
    /// `None`: unlimited.
    pub console_drain_rate: Option<f64>,
    pub on_overflow: Overflow,
    /// `None`: never.
    pub kick_after_drops: Option<u32>,
    pub max_talkgroups_per_console: u32,
}

impl Default for Capacity {
    /// The healthy preset.
    fn default() -> Self {
        // ok: the healthy preset is valid (tested in `presets_resolve`); the fallback is
        // never reached.
        MockSpec::default()
            .resolve()
            .unwrap_or_else(|_| Capacity::zero())
    }
}

/// The presets: each is a plain [`MockSpec`] (what `docs/mock.md` shows as YAML). Tune them
/// here, and only here.
pub mod presets {
    use super::*;

    fn ms(n: u64) -> Dur {
        Dur(Duration::from_millis(n))
    }

    fn us(n: u64) -> Dur {
        Dur(Duration::from_micros(n))
    }

    /// Today's mock: no waiting anywhere, as fast as the machine goes.
    pub fn healthy() -> MockSpec {
        MockSpec {
            preset: None,
            workers: Some(64),
            queue_limit: Some(100_000),
            service: BTreeMap::from([(DEFAULT_SERVICE.to_owned(), ServiceTime::Fixed(ms(0)))]),
            fanout_cost: Some(ms(0)),
            attach_cost: Some(ms(0)),
            event_buffer: Some(65_536),
            console_drain_rate: Some(0.0),
            on_overflow: Some(Overflow::Kick),
            kick_after_drops: None,
            max_talkgroups_per_console: Some(DEFAULT_MAX_TALKGROUPS_PER_CONSOLE),
            faults: Vec::new(),
        }
    }

    /// A system of finite capacity that breaks at a shift change like the one of May 2023.
    /// Placeholder values, to be tuned against the shift-change profile.
    pub fn fragile_2023() -> MockSpec {
        // Dimensioned for the day: start-up (about 5 events/s per console) and steady load
        // pass. A shift change that re-registers most radios within a minute or two sends each
        // console 10 to 20 events/s: more than its client takes (8/s), so queues fill,
        // talkgroups are shed and consoles that lose several are cut off; the re-attaches and
        // re-logins that follow load the two workers on top of the registration storm.
        MockSpec {
            preset: None,
            workers: Some(2),
            queue_limit: Some(2_000),
            service: BTreeMap::from([
                (DEFAULT_SERVICE.to_owned(), ServiceTime::Fixed(ms(1))),
                (
                    Op::ConsoleLogin.name().to_owned(),
                    ServiceTime::Fixed(ms(8)),
                ),
                (
                    Op::TerminalRegister.name().to_owned(),
                    ServiceTime::Fixed(ms(2)),
                ),
                (
                    Op::TerminalStatus.name().to_owned(),
                    ServiceTime::Fixed(ms(1)),
                ),
            ]),
            fanout_cost: Some(us(20)),
            attach_cost: Some(us(50)),
            event_buffer: Some(100),
            console_drain_rate: Some(8.0),
            on_overflow: Some(Overflow::DropTalkgroups),
            kick_after_drops: Some(3),
            max_talkgroups_per_console: Some(DEFAULT_MAX_TALKGROUPS_PER_CONSOLE),
            faults: Vec::new(),
        }
    }

    /// The preset of that name.
    pub fn get(name: &str) -> Option<MockSpec> {
        match name {
            "healthy" => Some(healthy()),
            "fragile-2023" => Some(fragile_2023()),
            _ => None,
        }
    }
}

impl MockSpec {
    /// Whether nothing is set (the section can be left out when written back).
    pub fn is_empty(&self) -> bool {
        *self == MockSpec::default()
    }

    /// Problems as (field path relative to the mock section, e.g.
    /// `service[terminal.register].p99`, message): unknown preset, unknown operation names,
    /// 0 workers, event buffer or talkgroups per console, a negative drain rate, service times
    /// that cannot be fitted, plus the faults' own checks as `faults[i].field`.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        if let Some(p) = self.preset.as_deref()
            && presets::get(p).is_none()
        {
            out.push((
                "preset".into(),
                format!("unknown preset `{p}`; use one of {}", PRESETS.join(", ")),
            ));
        }
        match self.workers {
            Some(0) => out.push(("workers".into(), "`workers` must be at least 1".into())),
            Some(n) if n > MAX_WORKERS => out.push((
                "workers".into(),
                format!(
                    "`workers` must be at most {MAX_WORKERS}, got {n} (for no limit, leave out the \
                     service times: the healthy preset never queues)"
                ),
            )),
            _ => {}
        }
        if self.event_buffer == Some(0) {
            out.push((
                "event_buffer".into(),
                "`event_buffer` must be at least 1 event".into(),
            ));
        }
        if self.max_talkgroups_per_console == Some(0) {
            out.push((
                "max_talkgroups_per_console".into(),
                "`max_talkgroups_per_console` must be at least 1".into(),
            ));
        }
        if let Some(r) = self.console_drain_rate
            && !(r.is_finite() && r >= 0.0)
        {
            out.push((
                "console_drain_rate".into(),
                format!(
                    "`console_drain_rate` must be 0 (unlimited) or a positive number of events \
                     per second, got {r}"
                ),
            ));
        }
        for (op, st) in &self.service {
            let at = format!("service[{op}]");
            if op == STREAM_OP {
                out.push((
                    at,
                    "opening an event stream is not API work: it is never queued and has no \
                     service time"
                        .into(),
                ));
                continue;
            }
            if op != DEFAULT_SERVICE && Op::from_name(op.as_str()).is_none() {
                let ops: Vec<&str> = queued_operations().collect();
                out.push((
                    at,
                    format!(
                        "unknown operation `{op}`; use `{DEFAULT_SERVICE}` or one of {}",
                        ops.join(", ")
                    ),
                ));
                continue;
            }
            for (field, message) in st.check() {
                out.push((format!("{at}.{field}"), message));
            }
        }
        for (i, field, message) in check_faults(&self.faults) {
            out.push((format!("faults[{i}].{field}"), message));
        }
        out
    }

    /// The problems as one line each (`workers: ...`), or `None` when the spec is valid.
    pub fn describe_problems(&self) -> Option<String> {
        let problems = self.check();
        if problems.is_empty() {
            return None;
        }
        let lines: Vec<String> = problems
            .into_iter()
            .map(|(field, msg)| format!("{field}: {msg}"))
            .collect();
        Some(lines.join("\n"))
    }

    /// Preset values with this spec's overrides applied. `service` is merged key by key: an
    /// operation's time is this spec's entry for it, else the preset's, else the merged
    /// `default`. The error lists the problems of [`MockSpec::check`], one per line.
    pub fn resolve(&self) -> Result<Capacity, String> {
        if let Some(problems) = self.describe_problems() {
            return Err(problems);
        }
        let name = self.preset.as_deref().unwrap_or(DEFAULT_PRESET);
        let base = presets::get(name).ok_or_else(|| format!("preset: unknown preset `{name}`"))?;
        let mut merged = base.service.clone();
        merged.extend(self.service.iter().map(|(k, v)| (k.clone(), *v)));
        let zero = ServiceTime::Fixed(Dur(Duration::ZERO));
        let default = merged.get(DEFAULT_SERVICE).copied().unwrap_or(zero);
        let service = queued_operations()
            .map(|op| (op.to_owned(), merged.get(op).copied().unwrap_or(default)))
            .collect();
        let pick_dur =
            |mine: Option<Dur>, theirs: Option<Dur>| mine.or(theirs).unwrap_or_default().0;
        let rate = self
            .console_drain_rate
            .or(base.console_drain_rate)
            .filter(|&r| r > 0.0);
        Ok(Capacity {
            workers: self.workers.or(base.workers).unwrap_or(1).max(1),
            queue_limit: self.queue_limit.or(base.queue_limit).unwrap_or(u32::MAX),
            service,
            fanout_cost: pick_dur(self.fanout_cost, base.fanout_cost),
            attach_cost: pick_dur(self.attach_cost, base.attach_cost),
            event_buffer: self.event_buffer.or(base.event_buffer).unwrap_or(1).max(1),
            console_drain_rate: rate,
            on_overflow: self
                .on_overflow
                .or(base.on_overflow)
                .unwrap_or(Overflow::Kick),
            kick_after_drops: self
                .kick_after_drops
                .or(base.kick_after_drops)
                .filter(|&n| n > 0),
            max_talkgroups_per_console: self
                .max_talkgroups_per_console
                .or(base.max_talkgroups_per_console)
                .unwrap_or(DEFAULT_MAX_TALKGROUPS_PER_CONSOLE)
                .max(1),
        })
    }
}

/// Parses and checks a mock configuration document (`rcload mock --config FILE`, the same
/// shape as a profile's `mock:` section). The error is the parse error, or one line per
/// problem as in [`MockSpec::describe_problems`].
pub fn parse_mock_spec(yaml: &str) -> Result<MockSpec, String> {
    let spec: MockSpec = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
    match spec.describe_problems() {
        None => Ok(spec),
        Some(problems) => Err(problems),
    }
}

impl Capacity {
    /// No waiting anywhere (used only as an impossible fallback).
    fn zero() -> Capacity {
        let zero = ServiceTime::Fixed(Dur(Duration::ZERO));
        Capacity {
            workers: 1,
            queue_limit: u32::MAX,
            service: queued_operations()
                .map(|op| (op.to_owned(), zero))
                .collect(),
            fanout_cost: Duration::ZERO,
            attach_cost: Duration::ZERO,
            event_buffer: 65_536,
            console_drain_rate: None,
            on_overflow: Overflow::Kick,
            kick_after_drops: None,
            max_talkgroups_per_console: DEFAULT_MAX_TALKGROUPS_PER_CONSOLE,
        }
    }

    /// Whether no request ever waits: every service time is a fixed 0 and so are the fan-out
    /// and attach costs (then the worker queue is skipped altogether).
    pub fn is_instant(&self) -> bool {
        self.fanout_cost.is_zero()
            && self.attach_cost.is_zero()
            && self
                .service
                .values()
                .all(|s| matches!(s, ServiceTime::Fixed(d) if d.0.is_zero()))
    }
}

// ---------------------------------------------------------------------------------------------
// Service times

impl ServiceTime {
    /// The mean service time.
    pub fn mean(&self) -> Duration {
        match self {
            ServiceTime::Fixed(d) => d.0,
            ServiceTime::Exponential { mean } | ServiceTime::LogNormal { mean, .. } => mean.0,
        }
    }

    /// Problems as (field, message).
    fn check(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match *self {
            ServiceTime::Fixed(_) => {}
            ServiceTime::Exponential { mean } => {
                if mean.0.is_zero() {
                    out.push((
                        "mean",
                        "the mean must be more than 0 (write `0s` for no service time)".into(),
                    ));
                }
            }
            ServiceTime::LogNormal { mean, p99 } => {
                if mean.0.is_zero() {
                    out.push((
                        "mean",
                        "the mean must be more than 0 (write `0s` for no service time)".into(),
                    ));
                } else if p99 <= mean {
                    out.push((
                        "p99",
                        format!("`p99` ({p99}) must be more than `mean` ({mean})"),
                    ));
                } else if lognormal_params(mean.0, p99.0).is_none() {
                    out.push((
                        "p99",
                        format!(
                            "no lognormal distribution has mean {mean} and p99 {p99}: the p99 \
                             can be at most {:.1} times the mean",
                            (Z99 * Z99 / 2.0).exp()
                        ),
                    ));
                }
            }
        }
        out
    }
}

/// (mu, sigma) of the lognormal distribution (of seconds) with mean `mean` and 99th
/// percentile `p99`: mu + sigma^2/2 = ln mean and mu + 2.326 sigma = ln p99, the smaller
/// positive root for sigma. `None` when there is none (p99 <= mean, or p99 more than about
/// 15 times the mean).
pub(crate) fn lognormal_params(mean: Duration, p99: Duration) -> Option<(f64, f64)> {
    let (m, q) = (mean.as_secs_f64(), p99.as_secs_f64());
    if !(m > 0.0 && q > m) {
        return None;
    }
    let r = (q / m).ln();
    // sigma^2 - 2 z sigma + 2 r = 0
    let disc = Z99 * Z99 - 2.0 * r;
    if disc < 0.0 {
        return None;
    }
    let sigma = Z99 - disc.sqrt();
    if sigma.is_nan() || sigma <= 0.0 {
        return None;
    }
    Some((m.ln() - sigma * sigma / 2.0, sigma))
}

/// A service time ready to draw from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sampler {
    Fixed(Duration),
    Exp(Exp<f64>),
    LogNormal(LogNormal<f64>),
}

impl Sampler {
    /// The sampler of a (checked) service time; one that cannot be fitted draws its mean.
    pub(crate) fn new(st: &ServiceTime) -> Sampler {
        match *st {
            ServiceTime::Fixed(d) => Sampler::Fixed(d.0),
            ServiceTime::Exponential { mean } => match Exp::new(1.0 / mean.0.as_secs_f64()) {
                Ok(e) if !mean.0.is_zero() => Sampler::Exp(e),
                _ => Sampler::Fixed(mean.0),
            },
            ServiceTime::LogNormal { mean, p99 } => {
                match lognormal_params(mean.0, p99.0).and_then(|(mu, s)| LogNormal::new(mu, s).ok())
                {
                    Some(l) => Sampler::LogNormal(l),
                    None => Sampler::Fixed(mean.0),
                }
            }
        }
    }

    /// Whether every draw is 0.
    pub(crate) fn is_zero(&self) -> bool {
        matches!(self, Sampler::Fixed(d) if d.is_zero())
    }

    /// One draw.
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let secs = match self {
            Sampler::Fixed(d) => return *d,
            Sampler::Exp(e) => e.sample(rng),
            Sampler::LogNormal(l) => l.sample(rng),
        };
        // Draws are finite and non-negative; cap absurd tails at one hour.
        Duration::try_from_secs_f64(secs.clamp(0.0, 3600.0)).unwrap_or(Duration::ZERO)
    }
}

/// The distribution names as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Dist {
    Fixed,
    Exponential,
    Lognormal,
}

/// The map form of a service time as written.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServiceTime {
    dist: Dist,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mean: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p99: Option<Dur>,
}

impl TryFrom<RawServiceTime> for ServiceTime {
    type Error = String;

    fn try_from(raw: RawServiceTime) -> Result<Self, String> {
        let name = match raw.dist {
            Dist::Fixed => "fixed",
            Dist::Exponential => "exponential",
            Dist::Lognormal => "lognormal",
        };
        let Some(mean) = raw.mean else {
            return Err(format!("a {name} service time needs `mean`"));
        };
        match (raw.dist, raw.p99) {
            (Dist::Fixed, None) => Ok(ServiceTime::Fixed(mean)),
            (Dist::Exponential, None) => Ok(ServiceTime::Exponential { mean }),
            (Dist::Lognormal, Some(p99)) => Ok(ServiceTime::LogNormal { mean, p99 }),
            (Dist::Lognormal, None) => Err("a lognormal service time needs `p99`".into()),
            (_, Some(_)) => Err(format!(
                "`p99` is not a field of a {name} service time (only lognormal has one)"
            )),
        }
    }
}

impl Serialize for ServiceTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = match *self {
            ServiceTime::Fixed(d) => return d.serialize(s),
            ServiceTime::Exponential { mean } => RawServiceTime {
                dist: Dist::Exponential,
                mean: Some(mean),
                p99: None,
            },
            ServiceTime::LogNormal { mean, p99 } => RawServiceTime {
                dist: Dist::Lognormal,
                mean: Some(mean),
                p99: Some(p99),
            },
        };
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ServiceTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = ServiceTime;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration such as `8ms`, or { dist: fixed|exponential|lognormal, mean: 2ms, \
                     p99: 20ms }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ServiceTime, E> {
                rcload_api::parse_duration(v)
                    .map(|d| ServiceTime::Fixed(Dur(d)))
                    .map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ServiceTime, E> {
                Err(E::custom(format!(
                    "`{v}` has no unit; write it with one, e.g. `{v}ms`"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ServiceTime, E> {
                Err(E::custom(format!(
                    "`{v}` is not a service time; write a duration such as `8ms`"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ServiceTime, E> {
                Err(E::custom(format!(
                    "`{v}` has no unit; write it with one, e.g. `{v}ms`"
                )))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ServiceTime, A::Error> {
                let raw = RawServiceTime::deserialize(de::value::MapAccessDeserializer::new(map))?;
                ServiceTime::try_from(raw).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for ServiceTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceTime::Fixed(d) => write!(f, "{d}"),
            ServiceTime::Exponential { mean } => write!(f, "exponential, mean {mean}"),
            ServiceTime::LogNormal { mean, p99 } => {
                write!(f, "lognormal, mean {mean}, p99 {p99}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn ms(n: u64) -> Dur {
        Dur(Duration::from_millis(n))
    }

    fn fields(spec: &MockSpec) -> Vec<String> {
        spec.check().into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn service_time_parses_both_forms_and_round_trips() {
        let yaml = r#"
preset: fragile-2023
workers: 2
queue_limit: 50
service:
  default: 1ms
  terminal.status: 5ms
  console.login: { dist: lognormal, mean: 2ms, p99: 20ms }
  terminal.register: { dist: exponential, mean: 3ms }
  call.end: { dist: fixed, mean: 4ms }
fanout_cost: 20us
attach_cost: 50us
event_buffer: 100
console_drain_rate: 50
on_overflow: drop_talkgroups
max_talkgroups_per_console: 50
faults:
  - { at: 1s, kind: stall, for: 200ms }
"#;
        let spec = parse_mock_spec(yaml).unwrap();
        assert_eq!(spec.preset.as_deref(), Some("fragile-2023"));
        assert_eq!(spec.service["default"], ServiceTime::Fixed(ms(1)));
        assert_eq!(spec.service["terminal.status"], ServiceTime::Fixed(ms(5)));
        assert_eq!(
            spec.service["console.login"],
            ServiceTime::LogNormal {
                mean: ms(2),
                p99: ms(20)
            }
        );
        assert_eq!(
            spec.service["terminal.register"],
            ServiceTime::Exponential { mean: ms(3) }
        );
        assert_eq!(spec.service["call.end"], ServiceTime::Fixed(ms(4)));
        assert_eq!(spec.fanout_cost, Some(Dur(Duration::from_micros(20))));
        assert_eq!(spec.console_drain_rate, Some(50.0));
        assert_eq!(spec.on_overflow, Some(Overflow::DropTalkgroups));
        assert_eq!(spec.max_talkgroups_per_console, Some(50));
        assert_eq!(spec.faults.len(), 1);
        let back = serde_saphyr::to_string(&spec).unwrap();
        assert_eq!(parse_mock_spec(&back).unwrap(), spec, "{back}");
        // a fixed time serializes as a plain duration
        let json = serde_json::to_string(&ServiceTime::Fixed(ms(8))).unwrap();
        assert_eq!(json, r#""8ms""#);
        let json = serde_json::to_value(ServiceTime::LogNormal {
            mean: ms(2),
            p99: ms(20),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"dist": "lognormal", "mean": "2ms", "p99": "20ms"})
        );

        // wrong shapes are parse errors
        for bad in [
            "service: { terminal.status: 5 }",
            "service: { terminal.status: { dist: lognormal, mean: 2ms } }",
            "service: { terminal.status: { dist: exponential } }",
            "service: { terminal.status: { dist: exponential, mean: 2ms, p99: 9ms } }",
            "service: { terminal.status: { dist: gamma, mean: 2ms } }",
            "service: { terminal.status: { dist: fixed, mean: 2ms, sd: 1ms } }",
            "on_overflow: explode",
            "workerz: 3",
        ] {
            assert!(parse_mock_spec(bad).is_err(), "{bad}");
        }
        let err = parse_mock_spec("service: { x: { dist: lognormal, mean: 2ms } }").unwrap_err();
        assert!(err.contains("needs `p99`"), "{err}");
        // a fault file is a spec with only faults
        let f = parse_mock_spec("faults:\n  - { at: 1s, kind: kick, console: c1 }\n").unwrap();
        assert_eq!(f.faults.len(), 1);
        assert!(MockSpec::default().is_empty() && !f.is_empty());
    }

    /// Draws p99 of a fitted lognormal within 10 % of the p99 asked, and its mean near the mean.
    #[test]
    fn lognormal_fit_hits_mean_and_p99() {
        for (mean, p99) in [(2.0, 20.0), (8.0, 12.0), (1.0, 5.0)] {
            let st = ServiceTime::LogNormal {
                mean: Dur(Duration::from_secs_f64(mean / 1000.0)),
                p99: Dur(Duration::from_secs_f64(p99 / 1000.0)),
            };
            let sampler = Sampler::new(&st);
            assert!(matches!(sampler, Sampler::LogNormal(_)));
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
            let mut draws: Vec<f64> = (0..100_000)
                .map(|_| sampler.sample(&mut rng).as_secs_f64() * 1000.0)
                .collect();
            draws.sort_by(f64::total_cmp);
            let got_p99 = draws[99_000];
            let got_mean = draws.iter().sum::<f64>() / draws.len() as f64;
            assert!(
                (got_p99 - p99).abs() / p99 < 0.10,
                "p99 {got_p99:.3} ms, asked {p99}"
            );
            assert!(
                (got_mean - mean).abs() / mean < 0.05,
                "mean {got_mean:.3} ms, asked {mean}"
            );
        }
        // the smaller root: sigma -> 0 as p99 -> mean
        let (_, s) =
            lognormal_params(Duration::from_millis(10), Duration::from_millis(11)).unwrap();
        assert!(s < 0.05, "{s}");
        assert!(lognormal_params(Duration::from_millis(2), Duration::from_millis(2)).is_none());
        assert!(lognormal_params(Duration::from_millis(1), Duration::from_millis(20)).is_none());
        let exp = Sampler::new(&ServiceTime::Exponential { mean: ms(4) });
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let m = (0..100_000)
            .map(|_| exp.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / 100_000.0;
        assert!((m - 0.004).abs() < 0.0002, "{m}");
        assert!(Sampler::new(&ServiceTime::Fixed(ms(0))).is_zero());
    }

    #[test]
    fn presets_resolve() {
        for name in PRESETS {
            let spec = MockSpec {
                preset: Some((*name).to_owned()),
                ..MockSpec::default()
            };
            assert!(spec.check().is_empty(), "{name}");
            let cap = spec.resolve().unwrap();
            assert_eq!(cap.service.len(), Op::EVERY.len() - 1, "{name}");
            assert!(!cap.service.contains_key("console.events"));
        }
        let healthy = MockSpec::default().resolve().unwrap();
        assert_eq!(healthy, Capacity::default());
        assert!(healthy.is_instant());
        assert_eq!(healthy.workers, 64);
        assert_eq!(healthy.event_buffer, 65_536);
        assert_eq!(healthy.console_drain_rate, None);
        assert_eq!(healthy.on_overflow, Overflow::Kick);
        assert_eq!(healthy.max_talkgroups_per_console, 1_000);

        let fragile = MockSpec {
            preset: Some("fragile-2023".into()),
            ..MockSpec::default()
        }
        .resolve()
        .unwrap();
        assert!(!fragile.is_instant());
        assert_eq!(fragile.workers, 2);
        assert_eq!(fragile.queue_limit, 2_000);
        assert_eq!(fragile.on_overflow, Overflow::DropTalkgroups);
        assert_eq!(fragile.kick_after_drops, Some(3));
        assert_eq!(fragile.service["console.login"], ServiceTime::Fixed(ms(8)));
        assert_eq!(
            fragile.service["terminal.register"],
            ServiceTime::Fixed(ms(2))
        );
        assert_eq!(
            fragile.service["call.end"],
            ServiceTime::Fixed(ms(1)),
            "default"
        );
        assert_eq!(fragile.fanout_cost, Duration::from_micros(20));
        assert_eq!(fragile.attach_cost, Duration::from_micros(50));
        assert_eq!(fragile.event_buffer, 100);
        assert_eq!(fragile.console_drain_rate, Some(8.0));
        assert_eq!(fragile.max_talkgroups_per_console, 1_000);
    }

    #[test]
    fn overrides_apply_over_the_preset() {
        let spec = MockSpec {
            preset: Some("fragile-2023".into()),
            workers: Some(2),
            service: BTreeMap::from([
                ("default".into(), ServiceTime::Fixed(ms(3))),
                ("terminal.status".into(), ServiceTime::Fixed(ms(5))),
            ]),
            console_drain_rate: Some(0.0),
            on_overflow: Some(Overflow::Delay),
            ..MockSpec::default()
        };
        let cap = spec.resolve().unwrap();
        assert_eq!(cap.workers, 2);
        assert_eq!(cap.queue_limit, 2_000, "from the preset");
        assert_eq!(cap.service["terminal.status"], ServiceTime::Fixed(ms(5)));
        assert_eq!(
            cap.service["console.login"],
            ServiceTime::Fixed(ms(8)),
            "the preset's own entry wins over a new default"
        );
        assert_eq!(
            cap.service["call.end"],
            ServiceTime::Fixed(ms(3)),
            "new default"
        );
        assert_eq!(cap.console_drain_rate, None, "0 = unlimited");
        assert_eq!(cap.on_overflow, Overflow::Delay);
        // on healthy, one slow operation: the others stay at 0 and it queues
        let one = MockSpec {
            workers: Some(2),
            service: BTreeMap::from([("terminal.status".into(), ServiceTime::Fixed(ms(5)))]),
            ..MockSpec::default()
        }
        .resolve()
        .unwrap();
        assert!(!one.is_instant());
        assert_eq!(one.service["console.login"], ServiceTime::Fixed(ms(0)));
        assert_eq!(one.event_buffer, 65_536);
        let few = MockSpec {
            max_talkgroups_per_console: Some(3),
            ..MockSpec::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(few.max_talkgroups_per_console, 3);
    }

    #[test]
    fn check_names_every_problem() {
        let mut spec = MockSpec {
            preset: Some("sturdy".into()),
            workers: Some(0),
            event_buffer: Some(0),
            console_drain_rate: Some(-1.0),
            service: BTreeMap::from([
                ("terminal.fly".into(), ServiceTime::Fixed(ms(1))),
                ("console.events".into(), ServiceTime::Fixed(ms(1))),
                (
                    "terminal.register".into(),
                    ServiceTime::LogNormal {
                        mean: ms(2),
                        p99: ms(2),
                    },
                ),
                (
                    "terminal.status".into(),
                    ServiceTime::LogNormal {
                        mean: ms(1),
                        p99: ms(100),
                    },
                ),
                ("call.end".into(), ServiceTime::Exponential { mean: ms(0) }),
            ]),
            ..MockSpec::default()
        };
        spec.faults = serde_json::from_value(serde_json::json!([
            {"at": "1s", "kind": "stall"},
        ]))
        .unwrap();
        assert_eq!(
            fields(&spec),
            [
                "preset",
                "workers",
                "event_buffer",
                "console_drain_rate",
                "service[call.end].mean",
                "service[console.events]",
                "service[terminal.fly]",
                "service[terminal.register].p99",
                "service[terminal.status].p99",
                "faults[0].for",
            ]
        );
        let p = spec.check();
        assert!(p[0].1.contains("use one of healthy, fragile-2023"), "{p:?}");
        assert!(p[6].1.contains("unknown operation `terminal.fly`"), "{p:?}");
        assert!(p[7].1.contains("must be more than `mean`"), "{p:?}");
        assert!(p[8].1.contains("at most 15.0 times"), "{p:?}");
        assert_eq!(p[9].1, "a stall needs `for`");
        let err = spec.resolve().unwrap_err();
        assert!(err.starts_with("preset: unknown preset `sturdy`"), "{err}");
        assert_eq!(err.lines().count(), 10);
        assert!(MockSpec::default().check().is_empty());
        let nan = MockSpec {
            console_drain_rate: Some(f64::NAN),
            ..MockSpec::default()
        };
        assert_eq!(fields(&nan), ["console_drain_rate"]);
        let many = MockSpec {
            workers: Some(MAX_WORKERS + 1),
            ..MockSpec::default()
        };
        assert_eq!(fields(&many), ["workers"]);
        let none = MockSpec {
            max_talkgroups_per_console: Some(0),
            ..MockSpec::default()
        };
        assert_eq!(fields(&none), ["max_talkgroups_per_console"]);
    }

    /// The presets in `docs/mock.md` are the presets.
    #[test]
    fn documented_presets_match() {
        let doc = include_str!("../../../docs/mock.md");
        for (name, want) in [
            ("healthy", presets::healthy()),
            ("fragile-2023", presets::fragile_2023()),
        ] {
            let marker = format!("```yaml\n# preset: {name}\n");
            let start = doc
                .find(&marker)
                .unwrap_or_else(|| panic!("{name} in docs/mock.md"))
                + 8;
            let len = doc[start..].find("```").unwrap();
            let got = parse_mock_spec(&doc[start..start + len]).unwrap();
            assert_eq!(got, want, "{name}");
        }
    }
}
