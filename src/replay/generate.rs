//! A recorded-style day made up from a fleet and a few figures, since no real records may
//! ship: calls and statuses at a rate that follows the hours of the day (quiet at night, busy
//! in the morning and afternoon), emergency calls among them, and at each shift change the
//! consoles logging out and in again and a share of the radios deregistering and registering
//! on their way out and in. Deterministic: the same fleet, figures and seed give the same
//! records.

use super::{Record, RecordAction, Records};
use crate::fleet::Fleet;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The figures of a day.
#[derive(Debug, Clone, PartialEq)]
pub struct DayFigures {
    /// Calls in a whole day (C2000: about 444,300).
    pub calls_per_day: f64,
    /// Emergency calls in a whole day (C2000: about 300).
    pub emergencies_per_day: f64,
    /// Status messages per call.
    pub statuses_per_call: f64,
    /// Radios active in a day (C2000: about 18,600 of 80,000); the others stay silent.
    pub active_radios: u32,
    /// Shift changes, hours of the day (assumed: 07:00, 14:30, 23:00).
    pub shift_changes_h: Vec<f64>,
    /// The share of active radios that go off and on again at a shift change.
    pub radios_changing: f64,
    pub seed: u64,
}

impl DayFigures {
    /// C2000's average day (../shared/DOMAIN.md).
    pub fn c2000(seed: u64) -> Self {
        DayFigures {
            calls_per_day: 444_300.0,
            emergencies_per_day: 300.0,
            statuses_per_call: 0.5,
            active_radios: 18_600,
            shift_changes_h: vec![7.0, 14.5, 23.0],
            radios_changing: 0.3,
            seed,
        }
    }
}

/// The share of a day's traffic in each hour (sums to 1): night low, peaks late morning and
/// afternoon.
const HOURLY: [f64; 24] = [
    1.6, 1.2, 1.0, 0.9, 0.9, 1.2, 2.4, 4.0, 5.2, 5.8, 6.0, 6.0, 5.6, 5.6, 6.0, 6.2, 6.0, 5.6, 5.0,
    4.4, 3.8, 3.2, 2.6, 2.0,
];

fn hourly_share(h: usize) -> f64 {
    HOURLY[h % 24] / HOURLY.iter().sum::<f64>()
}

/// Records of `fleet` from `from_s` to `to_s` (seconds of the day, `to_s` at most 48 h).
pub fn day(fleet: &Fleet, f: &DayFigures, from_s: f64, to_s: f64) -> Records {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(f.seed ^ 0xDA7);
    let active: Vec<u32> = fleet
        .terminals
        .iter()
        .take((f.active_radios as usize).min(fleet.terminals.len()))
        .map(|t| t.issi)
        .collect();
    let mut out = Vec::new();
    if active.is_empty() || to_s <= from_s {
        return Records {
            file: Default::default(),
            records: out,
        };
    }
    let pick = |rng: &mut Xoshiro256PlusPlus| active[rng.random_range(0..active.len())];
    let us = |s: f64| (s * 1e6).round() as u64;
    // Calls and statuses: Poisson within each hour at the hour's rate.
    let per_call = 1.0 + f.statuses_per_call;
    let emergency_share = f.emergencies_per_day / f.calls_per_day.max(1.0);
    let mut t = from_s;
    while t < to_s {
        let hour = (t / 3600.0) as usize;
        let rate = f.calls_per_day * per_call * hourly_share(hour) / 3600.0;
        t += -rng.random::<f64>().max(1e-12).ln() / rate.max(1e-9);
        if t >= to_s {
            break;
        }
        let issi = pick(&mut rng);
        let status = rng.random::<f64>() < f.statuses_per_call / per_call;
        out.push(if status {
            Record {
                line: 0,
                at_us: us(t),
                action: RecordAction::Status,
                issi: Some(issi),
                console: None,
                talkgroup: None,
                emergency: false,
                hold_us: None,
                code: Some(rng.random_range(1..=40)),
            }
        } else {
            let hold_s = (-rng.random::<f64>().max(1e-12).ln() * 8.0).clamp(1.0, 60.0);
            Record {
                line: 0,
                at_us: us(t),
                action: RecordAction::Call,
                issi: Some(issi),
                console: None,
                talkgroup: None,
                emergency: rng.random::<f64>() < emergency_share,
                hold_us: Some(us(hold_s.round())),
                code: None,
            }
        });
    }
    shift_changes(fleet, f, &active, from_s, to_s, &mut rng, &mut out);
    out.sort_by_key(|r| r.at_us);
    for (i, r) in out.iter_mut().enumerate() {
        r.line = i + 2;
    }
    Records {
        file: Default::default(),
        records: out,
    }
}

/// At each shift change in the slice: every console out within ±10 minutes and in again 2 to
/// 5 minutes later; a share of the radios off within ±15 minutes and on again 1 to 10
/// minutes later.
fn shift_changes(
    fleet: &Fleet,
    f: &DayFigures,
    active: &[u32],
    from_s: f64,
    to_s: f64,
    rng: &mut Xoshiro256PlusPlus,
    out: &mut Vec<Record>,
) {
    let record = |at_s: f64, action, issi, console: Option<&str>| Record {
        line: 0,
        at_us: (at_s * 1e6).round() as u64,
        action,
        issi,
        console: console.map(str::to_string),
        talkgroup: None,
        emergency: false,
        hold_us: None,
        code: None,
    };
    for day in [0.0, 86_400.0] {
        for h in &f.shift_changes_h {
            let at = day + h * 3600.0;
            if at + 1200.0 < from_s || at - 1200.0 > to_s {
                continue;
            }
            let keep = |s: f64| (from_s..to_s).contains(&s);
            for c in &fleet.consoles {
                let off = at + rng.random_range(-600.0..600.0);
                let on = off + rng.random_range(120.0..300.0);
                for (s, a) in [(off, RecordAction::Logout), (on, RecordAction::Login)] {
                    if keep(s) {
                        out.push(record(s, a, None, Some(&c.id)));
                    }
                }
            }
            let n = (active.len() as f64 * f.radios_changing) as usize;
            for _ in 0..n {
                let issi = active[rng.random_range(0..active.len())];
                let off = at + rng.random_range(-900.0..900.0);
                let on = off + rng.random_range(60.0..600.0);
                for (s, a) in [
                    (off, RecordAction::Deregister),
                    (on, RecordAction::Register),
                ] {
                    if keep(s) {
                        out.push(record(s, a, Some(issi), None));
                    }
                }
            }
        }
    }
}

/// The records as a records file (CSV), times as clock times.
pub fn to_csv(r: &Records) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(r.records.len() * 40);
    s.push_str("time,action,issi,console,talkgroup,kind,hold,code\n");
    let opt = |v: Option<String>| v.unwrap_or_default();
    for x in &r.records {
        let ms = x.at_us / 1000;
        let _ = writeln!(
            s,
            "{:02}:{:02}:{:02}.{:03},{},{},{},{},{},{},{}",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000,
            x.action.name(),
            opt(x.issi.map(|i| i.to_string())),
            opt(x.console.clone()),
            opt(x.talkgroup.map(|g| g.to_string())),
            if x.action == RecordAction::Call {
                if x.emergency { "emergency" } else { "group" }
            } else {
                ""
            },
            opt(x.hold_us.map(|h| format!("{}", h / 1_000_000))),
            opt(x.code.map(|c| c.to_string())),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_afternoon_has_its_rate_its_shift_change_and_reads_back() {
        let fleet = crate::fleet::generate::generate(&crate::fleet::generate::tiny());
        let f = DayFigures {
            active_radios: 300,
            ..DayFigures::c2000(5)
        };
        let r = day(&fleet, &f, 14.0 * 3600.0, 15.0 * 3600.0);
        let calls = r
            .records
            .iter()
            .filter(|x| x.action == RecordAction::Call)
            .count() as f64;
        // Hour 14's share of 444,300 calls.
        let want = 444_300.0 * hourly_share(14);
        assert!(
            (calls - want).abs() < want * 0.05,
            "{calls} calls, want about {want}"
        );
        let logouts = r
            .records
            .iter()
            .filter(|x| x.action == RecordAction::Logout)
            .count();
        assert_eq!(
            logouts,
            fleet.consoles.len(),
            "every console changes shift at 14:30"
        );
        assert_eq!(day(&fleet, &f, 50_400.0, 54_000.0), r);
        let back = super::super::parse(&to_csv(&r)).expect("reads back");
        assert_eq!(back.records.len(), r.records.len());
        assert_eq!(back.records[10].at_us / 1000, r.records[10].at_us / 1000);
    }
}
