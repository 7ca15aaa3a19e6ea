//! What a capacity stage changes: `scale` (every rate and shift-change size together, 1.0 =
//! the profile as written) or one field (`traffic.status.rate`, `events.shift_change.terminals`,
//! or any `--set` path such as `traffic.0.rate`). Pure: a profile and a level in, a profile out.

use crate::profile::clock::RateSpec;
use crate::profile::{EventKind, Profile, ProfileError, parse_override};
use rcload_api::Percent;

/// The varied quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vary {
    /// Multiply every traffic rate, the consoles and terminals of each shift change (at most
    /// 100 %) and the calls of each emergency burst.
    Scale,
    /// Set one field to the level (a `--set` path; `traffic.<action>.` and `events.<kind>.`
    /// name every entry of that action or kind).
    Field(String),
}

impl Vary {
    pub fn parse(text: &str) -> Self {
        match text {
            "scale" => Vary::Scale,
            other => Vary::Field(other.to_string()),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Vary::Scale => "scale".into(),
            Vary::Field(f) => f.clone(),
        }
    }
}

fn scale_rate(r: &mut RateSpec, k: f64) {
    match r {
        RateSpec::Constant(x) => x.per_s *= k,
        RateSpec::Daily(v) => v.iter_mut().for_each(|(_, x)| x.per_s *= k),
        RateSpec::Curve(v) => v.iter_mut().for_each(|(_, x)| x.per_s *= k),
    }
}

fn scale_percent(p: &mut Option<Percent>, k: f64) {
    if let Some(x) = p {
        x.fraction = (x.fraction * k).min(1.0);
    }
}

/// The profile at `level`.
pub fn apply(p: &Profile, vary: &Vary, level: f64) -> Result<Profile, ProfileError> {
    match vary {
        Vary::Scale => {
            let mut out = p.clone();
            for t in &mut out.traffic {
                scale_rate(&mut t.rate, level);
            }
            for e in &mut out.events {
                match e.kind {
                    EventKind::ShiftChange => {
                        if e.consoles.is_none() {
                            e.consoles = Some(Percent { fraction: 1.0 });
                        }
                        scale_percent(&mut e.consoles, level);
                        scale_percent(&mut e.terminals, level);
                    }
                    EventKind::EmergencyBurst => {
                        if let Some(c) = &mut e.calls {
                            *c = ((f64::from(*c) * level).round() as u32).max(1);
                        }
                    }
                }
            }
            crate::profile::with_overrides(&out, &[])
        }
        Vary::Field(path) => {
            let paths = expand(p, path);
            let value = format!("{}", (level * 1e6).round() / 1e6);
            let overrides = paths
                .iter()
                .map(|f| {
                    let percent = f.starts_with("events.")
                        && (f.ends_with(".consoles") || f.ends_with(".terminals"));
                    let v = if percent {
                        format!("{value}%")
                    } else {
                        value.clone()
                    };
                    parse_override(&format!("{f}={v}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            crate::profile::with_overrides(p, &overrides)
        }
    }
}

/// `traffic.<action>.x` and `events.<kind>.x` as the index paths of every matching entry.
fn expand(p: &Profile, path: &str) -> Vec<String> {
    let parts: Vec<&str> = path.splitn(3, '.').collect();
    if let [list @ ("traffic" | "events"), name, rest] = parts.as_slice()
        && name.parse::<usize>().is_err()
    {
        let idx: Vec<usize> = if *list == "traffic" {
            p.traffic
                .iter()
                .enumerate()
                .filter(|(_, t)| {
                    serde_json::to_value(t.action)
                        .ok()
                        .is_some_and(|v| v.as_str() == Some(name))
                })
                .map(|(i, _)| i)
                .collect()
        } else {
            p.events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.kind.as_str() == *name)
                .map(|(i, _)| i)
                .collect()
        };
        return idx
            .into_iter()
            .map(|i| format!("{list}.{i}.{rest}"))
            .collect();
    }
    vec![path.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Source, load};

    fn smoke() -> Profile {
        let (_, _, text) = crate::profile::BUILTIN[0];
        load(
            &Source {
                name: "smoke".into(),
                text: text.to_string(),
            },
            &[],
        )
        .unwrap()
    }

    #[test]
    fn scale_multiplies_rates_and_sizes() {
        let p = smoke();
        let s = apply(&p, &Vary::Scale, 2.0).unwrap();
        assert_eq!(s.traffic[0].rate.peak(), p.traffic[0].rate.peak() * 2.0);
        let sc = s
            .events
            .iter()
            .find(|e| e.kind == EventKind::ShiftChange)
            .unwrap();
        assert_eq!(sc.consoles.unwrap().fraction, 1.0, "at most 100 %");
        assert_eq!(sc.terminals.unwrap().fraction, 1.0);
        let eb = s
            .events
            .iter()
            .find(|e| e.kind == EventKind::EmergencyBurst)
            .unwrap();
        assert_eq!(eb.calls, Some(24));
        let half = apply(&p, &Vary::Scale, 0.5).unwrap();
        let sc = half
            .events
            .iter()
            .find(|e| e.kind == EventKind::ShiftChange)
            .unwrap();
        assert_eq!(sc.terminals.unwrap().fraction, 0.25);
    }

    #[test]
    fn a_field_by_name_or_index() {
        let p = smoke();
        let s = apply(&p, &Vary::Field("traffic.status.rate".into()), 75.0).unwrap();
        assert_eq!(s.traffic[0].rate.peak(), 75.0);
        let s = apply(
            &p,
            &Vary::Field("events.shift_change.terminals".into()),
            30.0,
        )
        .unwrap();
        let sc = s
            .events
            .iter()
            .find(|e| e.kind == EventKind::ShiftChange)
            .unwrap();
        assert!((sc.terminals.unwrap().fraction - 0.3).abs() < 1e-9);
        let s = apply(&p, &Vary::Field("population.terminals".into()), 900.0).unwrap();
        assert_eq!(s.population.terminals, 900);
        assert!(apply(&p, &Vary::Field("population.nothing".into()), 1.0).is_err());
    }
}
