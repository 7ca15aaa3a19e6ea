//! What a capacity stage changes: `scale` (every rate and shift-change size together, 1.0 =
//! the profile as written) or one field (`traffic.status.rate`, `events.shift_change.terminals`,
//! or any `--set` path such as `traffic.0.rate`). Pure: a profile and a level in, a profile out.

use crate::profile::clock::RateSpec;
use crate::profile::{EventKind, Profile, ProfileError, TrafficEntry, parse_override};
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

/// What the model cannot give as asked at `level`: shares of a shift change that would pass
/// 100 % and are capped there (the level then offers less than its name says).
pub fn capped(p: &Profile, vary: &Vary, level: f64) -> Vec<String> {
    let Vary::Scale = vary else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, e) in p.events.iter().enumerate() {
        if e.kind != EventKind::ShiftChange {
            continue;
        }
        let consoles = e.consoles.unwrap_or(Percent { fraction: 1.0 });
        for (field, share) in [("consoles", Some(consoles)), ("terminals", e.terminals)] {
            if let Some(s) = share
                && s.fraction * level > 1.0 + 1e-9
            {
                out.push(format!(
                    "from scale {:.3} on, events[{i}].{field} ({}) would pass 100 % and is \
                     capped there: those levels offer less of the shift change than their name says",
                    (1.0 / s.fraction * 1e3).round() / 1e3,
                    s
                ));
            }
        }
    }
    out
}

/// The profile at `level`.
pub fn apply(p: &Profile, vary: &Vary, level: f64) -> Result<Profile, ProfileError> {
    match vary {
        Vary::Scale => {
            let mut out = p.clone();
            for t in &mut out.traffic {
                match t {
                    TrafficEntry::Formula(t) => scale_rate(&mut t.rate, level),
                    // Recorded traffic at `level` times its speed.
                    TrafficEntry::Replay(r) => r.speed *= level,
                }
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
            // The `--set` grammar: an index or the entries an action or kind names.
            let value = format!("{}", (level * 1e6).round() / 1e6);
            let percent = path.starts_with("events.")
                && (path.ends_with(".consoles") || path.ends_with(".terminals"));
            let v = if percent { format!("{value}%") } else { value };
            let o = parse_override(&format!("{path}={v}"))?;
            crate::profile::with_overrides(p, &[o])
        }
    }
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
        assert_eq!(
            s.traffic[0].formula().unwrap().rate.peak(),
            p.traffic[0].formula().unwrap().rate.peak() * 2.0
        );
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
        assert_eq!(s.traffic[0].formula().unwrap().rate.peak(), 75.0);
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
        // A typo is an error naming what there is, never identical stages.
        let e = apply(&p, &Vary::Field("traffic.fly.rate".into()), 1.0).unwrap_err();
        assert!(
            e.to_string()
                .contains("`fly` is neither a list index nor the action or kind"),
            "{e}"
        );
        assert!(e.to_string().contains("status"), "{e}");
    }

    #[test]
    fn a_share_the_model_caps_is_said() {
        let p = smoke();
        assert!(capped(&p, &Vary::Scale, 1.0).is_empty());
        let sc = p
            .events
            .iter()
            .position(|e| e.kind == EventKind::ShiftChange)
            .expect("smoke has a shift change");
        let w = capped(&p, &Vary::Scale, 50.0);
        assert!(
            w.iter()
                .any(|w| w.contains(&format!("events[{sc}].")) && w.contains("capped")),
            "{w:?}"
        );
        assert!(capped(&p, &Vary::Field("traffic.0.rate".into()), 50.0).is_empty());
    }
}
