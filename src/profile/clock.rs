//! Wall-clock profiles: events anchored to clock times (`at: "14:00"`, `repeat: daily`) and
//! rates that follow the day (`rate: {"07:00": 40/s, "23:00": 10/s}`), in the profile's
//! `timezone`. [`resolve`] turns them, given the run's start, into the plain form the scheduler
//! takes (offsets from t=0 and a rate curve over the run), so the schedule stays a pure
//! function of the resolved profile and the seed. Daylight-saving changes are handled by the
//! time-zone database (bundled, the same on every machine): a daily 14:00 is 23 or 25 hours
//! after the previous one across a change, and a clock time that does not exist that day
//! (02:30 when clocks go forward) is taken as the moment after the gap.

use super::{EventSpec, Profile};
use crate::locate::FieldPath;
use crate::locate::Problem;
use rcload_api::{Dur, Rate, parse_duration, parse_rate};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;
use std::time::Duration;

/// A time of day, `HH:MM` or `HH:MM:SS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime {
    pub hour: i8,
    pub minute: i8,
    pub second: i8,
}

impl ClockTime {
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<&str> = text.trim().split(':').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
            return None;
        }
        let num = |s: &str| s.parse::<i8>().ok();
        let c = ClockTime {
            hour: num(parts[0])?,
            minute: num(parts[1])?,
            second: parts.get(2).map_or(Some(0), |s| num(s))?,
        };
        ((0..24).contains(&c.hour) && (0..60).contains(&c.minute) && (0..60).contains(&c.second))
            .then_some(c)
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.second == 0 {
            write!(f, "{:02}:{:02}", self.hour, self.minute)
        } else {
            write!(f, "{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
        }
    }
}

/// When an event starts: after a time from t=0 (`40s`), or at a clock time (`"14:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    After(Dur),
    Clock(ClockTime),
}

impl At {
    /// The offset from t=0 (a clock time not yet resolved counts as 0).
    pub fn offset(&self) -> Dur {
        match self {
            At::After(d) => *d,
            At::Clock(_) => Dur::default(),
        }
    }

    pub fn as_micros(&self) -> u64 {
        self.offset().as_micros()
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::After(d) => write!(f, "{d}"),
            At::Clock(c) => write!(f, "{c}"),
        }
    }
}

impl Serialize for At {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for At {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if let Some(c) = ClockTime::parse(&text) {
            return Ok(At::Clock(c));
        }
        parse_duration(&text)
            .map(|x| At::After(Dur(x)))
            .map_err(|m| de::Error::custom(format!("{m}, or a clock time such as \"14:00\"")))
    }
}

/// How an event anchored to a clock time repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Repeat {
    /// Every day at the same clock time, for as long as the run lasts.
    Daily,
}

/// The rate of a traffic stream.
#[derive(Debug, Clone, PartialEq)]
pub enum RateSpec {
    Constant(Rate),
    /// Over the day, by clock time; straight lines between the points, round the clock.
    Daily(Vec<(ClockTime, Rate)>),
    /// Over the run, by offset from t=0; straight lines between the points, flat outside them.
    Curve(Vec<(Dur, Rate)>),
}

impl RateSpec {
    /// Every rate it names, per second.
    pub fn points(&self) -> Vec<f64> {
        match self {
            RateSpec::Constant(r) => vec![r.per_s],
            RateSpec::Daily(v) => v.iter().map(|(_, r)| r.per_s).collect(),
            RateSpec::Curve(v) => v.iter().map(|(_, r)| r.per_s).collect(),
        }
    }

    /// The highest rate, per second.
    pub fn peak(&self) -> f64 {
        self.points().into_iter().fold(0.0, f64::max)
    }

    /// The curve over the run's seconds: (seconds from t=0, per second), or `None` for a
    /// constant rate.
    pub fn curve_s(&self) -> Option<Vec<(f64, f64)>> {
        match self {
            RateSpec::Curve(v) => Some(v.iter().map(|(t, r)| (t.as_secs_f64(), r.per_s)).collect()),
            _ => None,
        }
    }
}

impl Serialize for RateSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            RateSpec::Constant(r) => r.serialize(s),
            RateSpec::Daily(v) => {
                let mut m = s.serialize_map(Some(v.len()))?;
                for (t, r) in v {
                    m.serialize_entry(&t.to_string(), r)?;
                }
                m.end()
            }
            RateSpec::Curve(v) => {
                let mut m = s.serialize_map(Some(v.len()))?;
                for (t, r) in v {
                    m.serialize_entry(&t.to_string(), r)?;
                }
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for RateSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = RateSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rate such as `40/s`, or a map from clock times (\"07:00\") or offsets (`2h`) to rates")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RateSpec, E> {
                parse_rate(v).map(RateSpec::Constant).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RateSpec, E> {
                Ok(RateSpec::Constant(Rate { per_s: v as f64 }))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RateSpec, E> {
                Ok(RateSpec::Constant(Rate { per_s: v }))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RateSpec, A::Error> {
                let mut daily = Vec::new();
                let mut curve = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let rate: Rate = map.next_value()?;
                    if let Some(c) = ClockTime::parse(&key) {
                        daily.push((c, rate));
                    } else {
                        let d = parse_duration(&key).map_err(|m| {
                            de::Error::custom(format!(
                                "`{key}` is neither a clock time (\"07:00\") nor an offset (`2h`): {m}"
                            ))
                        })?;
                        curve.push((Dur(d), rate));
                    }
                }
                match (daily.is_empty(), curve.is_empty()) {
                    (false, true) => {
                        daily.sort_by_key(|(c, _)| *c);
                        Ok(RateSpec::Daily(daily))
                    }
                    (true, false) => {
                        curve.sort_by_key(|(t, _)| *t);
                        Ok(RateSpec::Curve(curve))
                    }
                    (true, true) => Err(de::Error::custom("a rate curve needs at least one point")),
                    (false, false) => Err(de::Error::custom(
                        "a rate curve takes clock times or offsets, not both",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Whether the profile uses clock times anywhere.
pub fn uses_clock(p: &Profile) -> bool {
    p.events
        .iter()
        .any(|e| matches!(e.at, At::Clock(_)) || e.repeat.is_some())
        || p.traffic
            .iter()
            .filter_map(|t| t.formula())
            .any(|t| matches!(t.rate, RateSpec::Daily(_)))
}

/// Parse `--clock-start`: `2026-03-28T13:59:30` (civil time in `tz`) or an RFC 3339 time.
pub fn parse_start(text: &str, tz: &jiff::tz::TimeZone) -> Result<jiff::Timestamp, String> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let dt: jiff::civil::DateTime = text
        .parse()
        .map_err(|e| format!("`{text}` is not a date and time such as 2026-03-28T13:59:30: {e}"))?;
    dt.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| format!("`{text}`: {e}"))
}

/// The profile's time zone.
pub fn time_zone(p: &Profile) -> Result<jiff::tz::TimeZone, Problem> {
    let name = p.timezone.as_deref().ok_or_else(|| Problem {
        path: FieldPath::root().key("timezone"),
        message: "clock times need the profile's time zone".into(),
        hint: Some("add e.g. `timezone: Europe/Amsterdam` at the top of the profile".into()),
    })?;
    jiff::tz::TimeZone::get(name).map_err(|_| Problem {
        path: FieldPath::root().key("timezone"),
        message: format!("`{name}` is not a time zone"),
        hint: Some("use an IANA name such as Europe/Amsterdam or UTC".into()),
    })
}

/// The moments (seconds from `start`) at which clock time `c` falls in `[from_s, to_s)`.
fn occurrences(
    c: ClockTime,
    start: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
    from_s: f64,
    to_s: f64,
) -> Vec<f64> {
    let zoned = start.to_zoned(tz.clone());
    let first_day = zoned.date();
    let days = (to_s / 86_400.0).ceil() as i64 + 2;
    let mut out = Vec::new();
    for k in -1..=days {
        let Ok(day) = first_day.checked_add(jiff::Span::new().days(k)) else {
            continue;
        };
        let civil = day.at(c.hour, c.minute, c.second, 0);
        // A time in a gap (clocks forward) is the moment after it; in a fold, the first one.
        let Ok(z) = civil.to_zoned(tz.clone()) else {
            continue;
        };
        let s = z.timestamp().as_duration().as_secs_f64() - start.as_duration().as_secs_f64();
        if s >= from_s && s < to_s {
            out.push(s);
        }
    }
    out
}

fn dur(s: f64) -> Dur {
    Dur(Duration::from_secs_f64(s.max(0.0)))
}

/// Resolve clock times for a run starting at `start`: events at clock times become events at
/// offsets (a daily one, one per day within the run), daily rates become curves over the run.
/// A profile without clock times comes back unchanged.
pub fn resolve(p: &Profile, start: jiff::Timestamp) -> Result<Profile, Problem> {
    if !uses_clock(p) {
        return Ok(p.clone());
    }
    let tz = time_zone(p)?;
    let duration_s = p.duration.as_secs_f64();
    let mut out = p.clone();
    let mut events: Vec<EventSpec> = Vec::new();
    for (i, e) in p.events.iter().enumerate() {
        let path = FieldPath::root().key("events").index(i);
        match (e.at, e.repeat) {
            (At::After(_), None) => events.push(e.clone()),
            (At::After(_), Some(_)) => {
                return Err(Problem {
                    path: path.key("repeat"),
                    message: "`repeat: daily` needs a clock time in `at`, such as \"14:00\"".into(),
                    hint: None,
                });
            }
            (At::Clock(c), repeat) => {
                let times = occurrences(c, start, &tz, 0.0, duration_s);
                let times = match repeat {
                    Some(Repeat::Daily) => times,
                    None => times.into_iter().take(1).collect(),
                };
                // A daily event may fall outside a run shorter than a day (the nightly soak
                // sees the shift changes of its hours); a one-off must fall inside.
                if times.is_empty() && repeat.is_none() {
                    let zoned = start.to_zoned(tz.clone());
                    return Err(Problem {
                        path: path.key("at"),
                        message: format!(
                            "{c} does not come within the run: it starts at {} and lasts {}",
                            zoned.strftime("%Y-%m-%d %H:%M:%S %Z"),
                            p.duration
                        ),
                        hint: Some(
                            "start the run earlier, make it longer, or use `--clock-start`".into(),
                        ),
                    });
                }
                for t in times {
                    let mut one = e.clone();
                    one.at = At::After(dur(t));
                    one.repeat = None;
                    events.push(one);
                }
            }
        }
    }
    events.sort_by_key(|e| e.at.as_micros());
    out.events = events;
    for t in out.traffic.iter_mut().filter_map(|t| t.formula_mut()) {
        if let RateSpec::Daily(points) = &t.rate {
            t.rate = RateSpec::Curve(daily_curve(points, start, &tz, duration_s));
        }
    }
    Ok(out)
}

/// A daily curve as a curve over `[0, duration_s]`: the clock points that fall in the run, and
/// the interpolated rates at its start and end.
fn daily_curve(
    points: &[(ClockTime, Rate)],
    start: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
    duration_s: f64,
) -> Vec<(Dur, Rate)> {
    // Every occurrence from a day before to a day after the run, in time order.
    let mut all: Vec<(f64, f64)> = points
        .iter()
        .flat_map(|(c, r)| {
            occurrences(*c, start, tz, -2.0 * 86_400.0, duration_s + 2.0 * 86_400.0)
                .into_iter()
                .map(move |s| (s, r.per_s))
        })
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = |t: f64| -> f64 {
        match all.iter().position(|(s, _)| *s > t) {
            Some(0) => all[0].1,
            Some(i) => {
                let (s0, r0) = all[i - 1];
                let (s1, r1) = all[i];
                r0 + (r1 - r0) * (t - s0) / (s1 - s0).max(1e-9)
            }
            None => all.last().map_or(0.0, |p| p.1),
        }
    };
    let mut curve = vec![(dur(0.0), Rate { per_s: at(0.0) })];
    curve.extend(
        all.iter()
            .filter(|(s, _)| *s > 0.0 && *s < duration_s)
            .map(|(s, r)| (dur(*s), Rate { per_s: *r })),
    );
    curve.push((
        dur(duration_s),
        Rate {
            per_s: at(duration_s),
        },
    ));
    curve
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(extra_events: &str, rate: &str, duration: &str) -> Profile {
        let text = format!(
            "name: clock
timezone: Europe/Amsterdam
duration: {duration}
population: {{control_rooms: 1, consoles_per_room: 2, terminals: 10, talkgroups_per_room: 2, monitored_per_console: 1}}
setup: {{over: 10s}}
traffic:
  - action: status
    rate: {rate}
events:
{extra_events}"
        );
        let source = super::super::Source {
            name: "clock.yaml".into(),
            text,
        };
        super::super::load(&source, &[]).unwrap()
    }

    fn at(text: &str) -> jiff::Timestamp {
        let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
        parse_start(text, &tz).unwrap()
    }

    const SHIFT: &str =
        "  - {kind: shift_change, at: \"14:00\", consoles: 50%, logout_over: 10s, handover: 5s}\n";

    #[test]
    fn a_clock_time_is_placed_from_the_start() {
        let p = profile(SHIFT, "5/s", "2m");
        let r = resolve(&p, at("2026-06-10T13:59:30")).unwrap();
        assert_eq!(r.events[0].at, At::After(Dur(Duration::from_secs(30))));
        // The scheduler takes it from there: the shift change's phase starts 30 s in.
        // The shift change's phase starts 30 s in (its logouts too: `schedule::tests`).
        let phases = crate::profile::phases_of(&r);
        let sc = phases.iter().find(|ph| ph.name == "shift_change").unwrap();
        assert_eq!(sc.start_us, 30_000_000);
        // Past 14:00 today: the next one is tomorrow, after the end of a 2-minute run.
        let e = resolve(&p, at("2026-06-10T14:00:30")).unwrap_err();
        assert!(e.message.contains("does not come within the run"), "{e:?}");
    }

    #[test]
    fn daily_events_follow_the_clock_across_daylight_saving() {
        let daily = SHIFT.replace("handover: 5s}", "handover: 5s, repeat: daily}");
        let p = profile(&daily, "5/s", "50h");
        // 2026-03-29 02:00 CET: clocks go forward; that day has 23 hours.
        let r = resolve(&p, at("2026-03-28T13:59:30")).unwrap();
        let offsets: Vec<f64> = r
            .events
            .iter()
            .map(|e| e.at.offset().as_secs_f64())
            .collect();
        assert_eq!(
            offsets,
            vec![30.0, 30.0 + 23.0 * 3600.0, 30.0 + 47.0 * 3600.0]
        );
        // 2026-10-25 03:00 CEST: clocks go back; that day has 25 hours.
        let r = resolve(&p, at("2026-10-24T13:59:30")).unwrap();
        let offsets: Vec<f64> = r
            .events
            .iter()
            .map(|e| e.at.offset().as_secs_f64())
            .collect();
        assert_eq!(
            offsets,
            vec![30.0, 30.0 + 25.0 * 3600.0, 30.0 + 49.0 * 3600.0]
        );
        // A time in the spring gap (02:30 does not exist on 29 March) is the moment after it.
        let gap = SHIFT.replace("\"14:00\"", "\"02:30\"");
        let p = profile(&gap, "5/s", "2h");
        let r = resolve(&p, at("2026-03-29T01:30:00")).unwrap();
        assert_eq!(
            r.events[0].at.offset().as_secs_f64(),
            3600.0,
            "{:?}",
            r.events[0].at
        );
    }

    #[test]
    fn a_daily_rate_becomes_a_curve_over_the_run() {
        let p = profile(
            "  []\n",
            "{\"06:00\": 10/s, \"12:00\": 40/s, \"18:00\": 20/s}",
            "8h",
        );
        let r = resolve(&p, at("2026-06-10T08:00:00")).unwrap();
        let RateSpec::Curve(c) = &r.traffic[0].formula().unwrap().rate else {
            panic!("{:?}", r.traffic[0])
        };
        let pts: Vec<(f64, f64)> = c.iter().map(|(t, r)| (t.as_secs_f64(), r.per_s)).collect();
        // 08:00 is a third of the way from 06:00 (10/s) to 12:00 (40/s): 20/s.
        assert_eq!(pts[0], (0.0, 20.0));
        assert_eq!(pts[1], (4.0 * 3600.0, 40.0));
        // 16:00: two thirds from 40/s to 20/s.
        let last = pts[pts.len() - 1];
        assert_eq!(last.0, 8.0 * 3600.0);
        assert!((last.1 - 26.666).abs() < 0.01, "{last:?}");
        // Resolving is a fixed point: the resolved profile resolves to itself.
        assert_eq!(resolve(&r, at("2027-01-01T00:00:00")).unwrap(), r);
    }
}
