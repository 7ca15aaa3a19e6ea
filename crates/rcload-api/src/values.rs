//! Scalar value types of the profile format: durations, rates and percentages.
//!
//! Each parses from the text a user writes (`45s`, `40/s`, `0.1%`) and serializes back to the
//! same form, so a resolved profile reads like the original. Parse errors become serde errors and
//! so carry the YAML location of the value.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;
use std::time::Duration;

/// A duration written as text with a unit (`45s`, `2m`, `500ms`, `1h 30m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn from_secs_f64(s: f64) -> Self {
        Dur(Duration::from_secs_f64(s))
    }
    pub fn as_secs_f64(&self) -> f64 {
        self.0.as_secs_f64()
    }
    pub fn as_micros(&self) -> u64 {
        u64::try_from(self.0.as_micros()).unwrap_or(u64::MAX)
    }
    pub fn as_millis_f64(&self) -> f64 {
        self.0.as_secs_f64() * 1000.0
    }
}

/// Parse a duration as written in a profile or on the command line.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!("a duration cannot be negative, got `{t}`"));
    }
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "`{t}` has no unit; write it with one, e.g. `{t}s` or `{t}ms`"
        ));
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("`{t}` is not a duration ({e}); write e.g. `45s`, `2m`, `500ms`"))
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration with a unit, such as `45s`, `2m` or `500ms`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "`{v}` has no unit; write it with one, e.g. `{v}s` or `{v}ms`"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                if v < 0 {
                    Err(E::custom(format!(
                        "a duration cannot be negative, got `{v}`"
                    )))
                } else {
                    self.visit_u64(v as u64)
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "`{v}` has no unit; write it with one, e.g. `{v}s`"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// An arrival rate in actions per second, written `40/s`, `2400/min` or `3/h`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Rate {
    /// Actions per second.
    pub per_s: f64,
}

/// Parse a rate (`40/s`, `2400/min`, `3/h`, or a bare number meaning per second).
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let t = text.trim();
    let (num, unit) = match t.split_once('/') {
        Some((n, u)) => (n.trim(), u.trim()),
        None => (t, "s"),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{t}` is not a rate; write e.g. `40/s`, `2400/min` or `3/h`"))?;
    let per = match unit {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        other => {
            return Err(format!(
                "unknown rate unit `{other}` in `{t}`; use `/s`, `/min` or `/h`"
            ));
        }
    };
    if !value.is_finite() || value < 0.0 {
        return Err(format!("a rate must be zero or positive, got `{t}`"));
    }
    Ok(Rate { per_s: value / per })
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_s)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rate such as `40/s`, `2400/min` or `3/h`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
                parse_rate(v).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
                parse_rate(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

/// A fraction written as a percentage (`50%`, `0.1%`) or a number between 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Percent {
    /// The fraction, 0.0..=1.0.
    pub fraction: f64,
}

/// Parse a percentage (`50%`) or a fraction (`0.5`).
pub fn parse_percent(text: &str) -> Result<Percent, String> {
    let t = text.trim();
    let fraction = if let Some(p) = t.strip_suffix('%') {
        p.trim()
            .parse::<f64>()
            .map_err(|_| format!("`{t}` is not a percentage; write e.g. `50%` or `0.1%`"))?
            / 100.0
    } else {
        let v: f64 = t
            .parse()
            .map_err(|_| format!("`{t}` is not a percentage; write e.g. `50%` or `0.1%`"))?;
        if v > 1.0 {
            return Err(format!(
                "`{t}` is more than 1; write a percentage with `%` (e.g. `{t}%`) or a fraction 0..1"
            ));
        }
        v
    };
    if !(0.0..=1.0).contains(&fraction) {
        return Err(format!(
            "a percentage must be between 0% and 100%, got `{t}`"
        ));
    }
    Ok(Percent { fraction })
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.fraction * 100.0)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a percentage such as `50%` or a fraction between 0 and 1")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Percent, E> {
                parse_percent(v).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Percent, E> {
                parse_percent(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Percent, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Percent, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("45s").unwrap(), Duration::from_secs(45));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("-5s").unwrap_err().contains("negative"));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("ten minutes").is_err());
        assert_eq!(Dur(Duration::from_secs(90)).to_string(), "1m 30s");
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("40/s").unwrap().per_s, 40.0);
        assert_eq!(parse_rate("120/min").unwrap().per_s, 2.0);
        assert_eq!(parse_rate("3600/h").unwrap().per_s, 1.0);
        assert_eq!(parse_rate("7").unwrap().per_s, 7.0);
        assert!(parse_rate("-5/s").unwrap_err().contains("positive"));
        assert!(parse_rate("5/fortnight").unwrap_err().contains("unit"));
        let r = parse_rate("0.25/s").unwrap();
        assert_eq!(parse_rate(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn percents() {
        assert_eq!(parse_percent("50%").unwrap().fraction, 0.5);
        assert_eq!(parse_percent("0.1%").unwrap().fraction, 0.001);
        assert_eq!(parse_percent("0.25").unwrap().fraction, 0.25);
        assert!(parse_percent("150%").is_err());
        assert!(parse_percent("2").is_err());
        let p = parse_percent("12.5%").unwrap();
        assert_eq!(parse_percent(&p.to_string()).unwrap(), p);
    }
}
