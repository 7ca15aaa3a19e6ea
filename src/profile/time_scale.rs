//! `--time-scale F`: every time the profile places on its timeline (the duration, the set-up
//! spread, event times and spreads, call holds, rate-curve points, objective windows, the
//! embedded mock's fault times) multiplied by `F` together, so a profile runs as a short
//! rehearsal of itself. Rates stay as written: an event's actions come `1/F` times as fast.
//! The engine's own checks (delivery timeout, audits, probes, reconnects) keep their values:
//! they describe the system and the tool, not the profile's day.

use super::Profile;
use super::clock::{At, RateSpec};
use rcload_api::Dur;
use std::time::Duration;

/// The shortest objective window (windows are whole intervals).
const MIN_WINDOW: Duration = Duration::from_secs(1);

/// Scale `p`'s timeline by `factor` (more than 0). A profile that places things by clock time
/// cannot be scaled: the error says which field.
pub fn scale(p: &Profile, factor: f64) -> Result<Profile, String> {
    if !(factor.is_finite() && factor > 0.0 && factor <= 1000.0) {
        return Err(format!("{factor} is not a factor from more than 0 to 1000"));
    }
    let mut p = p.clone();
    let s = |d: &mut Dur| d.0 = d.0.mul_f64(factor);
    s(&mut p.duration);
    s(&mut p.setup.over);
    for (i, t) in p.traffic.iter_mut().enumerate() {
        let t = match t {
            super::types::TrafficEntry::Formula(t) => t,
            // Recorded traffic keeps pace with the scaled timeline.
            super::types::TrafficEntry::Replay(r) => {
                r.speed /= factor;
                continue;
            }
        };
        if let Some(h) = t.hold.as_mut() {
            s(h);
        }
        match &mut t.rate {
            RateSpec::Constant(_) => {}
            RateSpec::Curve(points) => {
                for (at, _) in points.iter_mut() {
                    s(at);
                }
            }
            RateSpec::Daily(_) => {
                return Err(format!(
                    "traffic[{i}].rate follows the clock (a daily curve): a scaled rehearsal \
                     cannot keep clock times"
                ));
            }
        }
    }
    for (i, e) in p.events.iter_mut().enumerate() {
        match &mut e.at {
            At::After(d) => s(d),
            At::Clock(_) => {
                return Err(format!(
                    "events[{i}].at is a clock time: a scaled rehearsal cannot keep clock times"
                ));
            }
        }
        for d in [
            &mut e.logout_over,
            &mut e.handover,
            &mut e.over,
            &mut e.hold,
        ]
        .into_iter()
        .flatten()
        {
            s(d);
        }
    }
    for limits in p.slo.latency.values_mut() {
        if let Some(w) = limits.window.as_mut() {
            w.0 = w.0.mul_f64(factor).max(MIN_WINDOW);
        }
    }
    for f in p.mock.faults.iter_mut() {
        s(&mut f.at);
        for d in [&mut f.for_, &mut f.until].into_iter().flatten() {
            s(d);
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_timeline_shrinks_together_and_rates_stay() {
        let src = crate::profile::read_source("shift-change").expect("built in");
        let p = crate::profile::load(&src, &[]).expect("valid");
        let r = scale(&p, 0.1).expect("scales");
        assert_eq!(r.duration.0, p.duration.0 / 10);
        assert_eq!(r.setup.over.0, p.setup.over.0 / 10);
        for (a, b) in p.events.iter().zip(&r.events) {
            assert_eq!(b.at.offset().0, a.at.offset().0 / 10);
            assert_eq!(b.logout_over.map(|d| d.0), a.logout_over.map(|d| d.0 / 10));
            assert_eq!(b.over.map(|d| d.0), a.over.map(|d| d.0 / 10));
            assert_eq!(b.hold.map(|d| d.0), a.hold.map(|d| d.0 / 10));
        }
        assert_eq!(
            r.traffic[0].formula().unwrap().rate,
            p.traffic[0].formula().unwrap().rate,
            "rates are as written"
        );
        assert_eq!(
            r.checks, p.checks,
            "the checks describe the system, not the day"
        );
        assert!(crate::profile::validate::check(&r).is_empty());
        assert!(scale(&p, 0.0).is_err() && scale(&p, f64::NAN).is_err());
    }
}
