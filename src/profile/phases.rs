//! The phases of a run: named stretches of time derived from the profile alone.
//!
//! `setup` and `steady` are always there; each timed event adds one, named after the event (or
//! its kind, numbered from the second of a kind on: `shift_change`, `shift_change-2`). A phase
//! knows its kind, so "every shift change" is a match on the kind, never on the name's text.

use super::{EventKind, Profile};

/// How long an emergency burst's calls are held when the profile does not say, seconds.
pub const DEFAULT_HOLD_S: f64 = 10.0;

/// Seconds to whole microseconds (negative clamps to 0).
pub fn secs_to_us(s: f64) -> u64 {
    (s * 1e6).round().max(0.0) as u64
}

/// What a phase is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseKind {
    Setup,
    Steady,
    /// The stretch of a timed event of this kind.
    Event(EventKind),
    /// After the load: what the run left open on the target is ended. Outside the profile's
    /// objectives unless one names it (`during: teardown`).
    Teardown,
}

/// The name of the teardown phase.
pub const TEARDOWN: &str = "teardown";

/// The teardown phase of a run whose load ends at `end_us`, bounded by `timeout_us`.
pub fn teardown_phase(end_us: u64, timeout_us: u64) -> Phase {
    Phase {
        name: TEARDOWN.to_string(),
        kind: PhaseKind::Teardown,
        start_us: end_us,
        end_us: end_us.saturating_add(timeout_us),
    }
}

/// A named stretch of the run. Event phases lie over `steady`: an action belongs to the
/// latest-starting phase it falls in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub name: String,
    pub kind: PhaseKind,
    pub start_us: u64,
    pub end_us: u64,
}

impl Phase {
    /// Whether this phase is what an objective's `during` names: the phase itself, or every
    /// phase of an event kind (`shift_change` covers `shift_change-2` and a named one).
    pub fn matches(&self, during: &str) -> bool {
        self.name == during || matches!(self.kind, PhaseKind::Event(k) if k.as_str() == during)
    }
}

/// The phases of a profile: setup, steady, then one per event.
pub fn phases_of(profile: &Profile) -> Vec<Phase> {
    let duration_us = profile.duration.as_micros();
    let setup_end = profile.setup.over.as_micros().min(duration_us);
    let mut phases = vec![
        Phase {
            name: "setup".into(),
            kind: PhaseKind::Setup,
            start_us: 0,
            end_us: setup_end,
        },
        Phase {
            name: "steady".into(),
            kind: PhaseKind::Steady,
            start_us: setup_end,
            end_us: duration_us,
        },
    ];
    let mut seen: std::collections::BTreeMap<&str, u32> = Default::default();
    for e in &profile.events {
        let n = seen.entry(e.kind.as_str()).or_insert(0);
        *n += 1;
        let name = match &e.name {
            Some(n) => n.clone(),
            None if *n == 1 => e.kind.as_str().to_string(),
            None => format!("{}-{}", e.kind.as_str(), n),
        };
        let length = event_length_s(e);
        let start_us = e.at.as_micros();
        phases.push(Phase {
            name,
            kind: PhaseKind::Event(e.kind),
            start_us,
            end_us: (start_us.saturating_add(secs_to_us(length))).min(duration_us),
        });
    }
    phases
}

/// How long an event lasts, seconds: a shift change's logouts and handover, a burst's
/// spread and hold.
fn event_length_s(e: &super::EventSpec) -> f64 {
    match e.kind {
        EventKind::ShiftChange => {
            e.logout_over.map_or(0.0, |d| d.as_secs_f64())
                + e.handover.map_or(0.0, |d| d.as_secs_f64())
        }
        EventKind::EmergencyBurst => {
            e.over.map_or(0.0, |d| d.as_secs_f64())
                + e.hold.map_or(DEFAULT_HOLD_S, |d| d.as_secs_f64())
        }
    }
}

/// Events the run's duration cuts off (they would go on after it ends): one warning each.
pub fn cut_events(profile: &Profile) -> Vec<String> {
    let duration_us = profile.duration.as_micros();
    let phases = phases_of(profile);
    let events = phases
        .iter()
        .filter(|p| matches!(p.kind, PhaseKind::Event(_)));
    profile
        .events
        .iter()
        .zip(events)
        .enumerate()
        .filter_map(|(i, (e, ph))| {
            let end_us = ph.start_us.saturating_add(secs_to_us(event_length_s(e)));
            (end_us > duration_us).then(|| {
                format!(
                    "events[{i}] ({}) would end at {:.1} s, after the run's {:.1} s: the \
                     duration cuts off its last {:.1} s",
                    ph.name,
                    end_us as f64 / 1e6,
                    duration_us as f64 / 1e6,
                    (end_us - duration_us) as f64 / 1e6
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(name: &str, kind: PhaseKind) -> Phase {
        Phase {
            name: name.into(),
            kind,
            start_us: 0,
            end_us: 1,
        }
    }

    #[test]
    fn during_names_a_phase_or_every_phase_of_an_event_kind() {
        let sc = PhaseKind::Event(EventKind::ShiftChange);
        assert!(phase("shift_change-12", sc).matches("shift_change"));
        assert!(phase("afternoon", sc).matches("shift_change"));
        assert!(phase("afternoon", sc).matches("afternoon"));
        assert!(!phase("shift_changes", PhaseKind::Steady).matches("shift_change"));
        assert!(!phase("steady", PhaseKind::Steady).matches("shift_change"));
        assert!(phase("steady", PhaseKind::Steady).matches("steady"));
    }
}
