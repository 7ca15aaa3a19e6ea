//! What `rcload validate` prints about a schedule, and a stable hash of a whole schedule.
//!
//! [`summarize`] walks a schedule: exact, in time that grows with the run. [`estimate`] counts
//! it from the profile's rates, events and periods, in time that does not grow with the run's
//! length (a week at 10,000/s is six billion actions).

use super::arrivals::{Arrivals, first_not};
use super::{Action, Phase, Population, Schedule, Template, event_items, rng_for};
use crate::profile::{DEFAULT_HOLD_S, Profile, TrafficAction, phases_of, secs_to_us};
use rcload_api::Op;
use std::collections::{BTreeMap, BTreeSet};

/// Counts of a schedule: by walking it once ([`summarize`]) or from its rates ([`estimate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSummary {
    pub phases: Vec<Phase>,
    /// Actions per operation name.
    pub per_op: BTreeMap<&'static str, u64>,
    /// Actions per phase name.
    pub per_phase: BTreeMap<String, u64>,
    pub total: u64,
    /// The most actions intended in any one-second window (aligned to whole seconds).
    pub peak_per_s: u64,
    /// The second in which that peak falls.
    pub peak_at_s: u64,
    /// Counted from the rates ([`estimate`]), not by walking the schedule: counts of Poisson
    /// arrivals and rate curves are their expectations, and the peak is the busiest of the
    /// seconds where something starts, stops, bends or bunches up.
    pub estimated: bool,
}

/// Run through a schedule and count it.
pub fn summarize(schedule: Schedule) -> ScheduleSummary {
    let phases = schedule.phases().to_vec();
    let mut per_op = BTreeMap::new();
    let mut per_phase: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    let (mut cur_s, mut cur_n, mut peak, mut peak_at) = (0u64, 0u64, 0u64, 0u64);
    for a in schedule {
        total += 1;
        *per_op.entry(a.kind.op().name()).or_insert(0) += 1;
        if let Some(p) = phases.get(a.phase) {
            *per_phase.entry(p.name.clone()).or_insert(0) += 1;
        }
        let s = a.at_us / 1_000_000;
        if s != cur_s {
            cur_s = s;
            cur_n = 0;
        }
        cur_n += 1;
        if cur_n > peak {
            peak = cur_n;
            peak_at = cur_s;
        }
    }
    ScheduleSummary {
        phases,
        per_op,
        per_phase,
        total,
        peak_per_s: peak,
        peak_at_s: peak_at,
        estimated: false,
    }
}

/// How the actions of one stream lie in time.
enum Spread {
    /// `n` actions at `round(step_us * k)`, k < n: the logins or registrations of setup.
    Linear { n: u64, step_us: f64 },
    /// Background traffic.
    Arrivals(Arrivals),
    /// Each of `n` items once every `period_us` from `start_us`, spread evenly over the period:
    /// audits or probes.
    Periodic {
        start_us: u64,
        period_us: u64,
        n: u64,
    },
    /// Times drawn as the schedule draws them, sorted: the actions of timed events.
    Times(Vec<u64>),
}

/// The actions of one operation from one source, `delay_us` after the times of `spread` (the
/// ends of calls).
struct Stream {
    op: &'static str,
    spread: Spread,
    delay_us: u64,
}

/// Items of a periodic source before `t_us`: item `j` of round `k` is at
/// `start + k * period + j * period / n` (as the schedule places it).
fn periodic_before(start_us: u64, period_us: u64, n: u64, t_us: u64) -> u64 {
    if t_us <= start_us || period_us == 0 || n == 0 {
        return 0;
    }
    let (d, p, n) = (
        u128::from(t_us - start_us),
        u128::from(period_us),
        u128::from(n),
    );
    // Whole rounds, then the items of the last round whose offset j * p / n is below d % p.
    let partial = ((d % p) * n).div_ceil(p).min(n);
    u64::try_from(d / p * n + partial).unwrap_or(u64::MAX)
}

/// Put the second `t_us` falls in into `out`, with the one before it and the two after.
fn around(out: &mut BTreeSet<u64>, t_us: u64) {
    let s = t_us / 1_000_000;
    out.extend(s.saturating_sub(1)..=s.saturating_add(2));
}

impl Stream {
    /// Actions of this stream before `t_us` (an expectation for random arrivals).
    fn before(&self, t_us: u64) -> f64 {
        let Some(t) = t_us.checked_sub(self.delay_us) else {
            return 0.0;
        };
        match &self.spread {
            Spread::Linear { n, step_us } => {
                first_not(*n, |k| ((step_us * k as f64).round() as u64) < t) as f64
            }
            Spread::Arrivals(a) => a.count_before_us(t),
            Spread::Periodic {
                start_us,
                period_us,
                n,
            } => periodic_before(*start_us, *period_us, *n, t) as f64,
            Spread::Times(v) => v.partition_point(|x| *x < t) as f64,
        }
    }

    /// The seconds where this stream's count per second may change (each with the seconds
    /// around it), or, for drawn times, every second that has some.
    fn seconds(&self, out: &mut BTreeSet<u64>) {
        let d = self.delay_us;
        match &self.spread {
            Spread::Linear { n, step_us } => {
                let last = (step_us * n.saturating_sub(1) as f64).round() as u64;
                around(out, d);
                around(out, last.saturating_add(d));
            }
            Spread::Arrivals(a) => {
                for b in a.breakpoints_s() {
                    around(out, secs_to_us(b).saturating_add(d));
                }
            }
            Spread::Periodic { start_us, .. } => around(out, start_us.saturating_add(d)),
            Spread::Times(v) => {
                let mut last = None;
                for t in v {
                    let s = t.saturating_add(d) / 1_000_000;
                    if last != Some(s) {
                        out.insert(s);
                        last = Some(s);
                    }
                }
            }
        }
    }
}

/// The counts [`summarize`] gives, computed from the profile without walking the schedule, in
/// time that does not grow with the run's length: setup, audits, probes, evenly spaced
/// constant rates and timed events (drawn as the schedule draws them) are counted exactly;
/// Poisson arrivals and rate curves by their expectation. The peak is the busiest of the
/// seconds where some stream starts, stops or bends, and of those that hold timed actions.
pub fn estimate(profile: &Profile, seed: u64) -> ScheduleSummary {
    let pop = Population::of(profile, seed);
    let phases = phases_of(profile);
    let duration_us = profile.duration.as_micros();
    let setup_us = profile.setup.over.as_micros().min(duration_us) as f64;
    let mut streams = setup_streams(&pop, setup_us);
    traffic_streams(profile, seed, setup_us, &mut streams);
    event_streams(profile, seed, &pop, &mut streams);
    check_streams(profile, &pop, setup_us, &mut streams);
    let (per_op, per_phase) = counts(&streams, &phases, duration_us);
    let (peak, peak_at) = peak_second(&streams, &phases, duration_us);
    ScheduleSummary {
        phases,
        total: per_op.values().sum(),
        per_op,
        per_phase,
        peak_per_s: peak,
        peak_at_s: peak_at,
        estimated: true,
    }
}

/// Set-up: every console's login over the first half of it, every terminal's registration
/// over all of it.
fn setup_streams(pop: &Population, setup_us: f64) -> Vec<Stream> {
    let consoles = u64::from(pop.console_count());
    let terminals = u64::from(pop.terminals);
    vec![
        Stream {
            op: Op::ConsoleLogin.name(),
            spread: Spread::Linear {
                n: consoles,
                step_us: setup_us / 2.0 / consoles.max(1) as f64,
            },
            delay_us: 0,
        },
        Stream {
            op: Op::TerminalRegister.name(),
            spread: Spread::Linear {
                n: terminals,
                step_us: setup_us / terminals.max(1) as f64,
            },
            delay_us: 0,
        },
    ]
}

/// Background traffic: each entry's arrivals as the schedule draws them, and a call's end
/// after its hold.
fn traffic_streams(profile: &Profile, seed: u64, setup_us: f64, streams: &mut Vec<Stream>) {
    let duration_us = profile.duration.as_micros();
    let (setup_s, end_s) = (setup_us / 1e6, duration_us as f64 / 1e6);
    for (i, t) in profile.traffic.iter().enumerate() {
        let Some(t) = t.formula() else { continue };
        // As the schedule makes them; counting draws nothing more.
        let mut rng = rng_for(seed, 100 + i as u64);
        let arrivals = match t.rate.curve_s() {
            None => Arrivals::new(t.arrival, t.rate.peak(), setup_s, end_s, &mut rng),
            Some(curve) => Arrivals::with_curve(t.arrival, &curve, setup_s, end_s, &mut rng),
        };
        let hold_us = secs_to_us(t.hold.map_or(DEFAULT_HOLD_S, |d| d.as_secs_f64()));
        let op = match t.action {
            TrafficAction::Status => Op::TerminalStatus,
            TrafficAction::Affiliate => Op::TerminalAffiliate,
            TrafficAction::GroupCall => Op::CallGroup,
            TrafficAction::EmergencyCall => Op::CallEmergency,
        };
        if matches!(op, Op::CallGroup | Op::CallEmergency) {
            streams.push(Stream {
                op: Op::CallEnd.name(),
                spread: Spread::Arrivals(arrivals.clone()),
                delay_us: hold_us,
            });
        }
        streams.push(Stream {
            op: op.name(),
            spread: Spread::Arrivals(arrivals),
            delay_us: 0,
        });
    }
}

/// Timed events: drawn one at a time, as the schedule draws them, and kept as times only.
fn event_streams(profile: &Profile, seed: u64, pop: &Population, streams: &mut Vec<Stream>) {
    let mut drawn: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    for (i, e) in profile.events.iter().enumerate() {
        let (items, _) = event_items(e, i, seed, pop);
        for (t, item) in items {
            let op = match item {
                Template::Logout(_) => Op::ConsoleLogout,
                Template::Login(_) => Op::ConsoleLogin,
                Template::Deregister(_) => Op::TerminalDeregister,
                Template::Register(_) => Op::TerminalRegister,
                Template::Emergency { hold_us, .. } => {
                    let end = t.saturating_add(hold_us);
                    drawn.entry(Op::CallEnd.name()).or_default().push(end);
                    Op::CallEmergency
                }
            };
            drawn.entry(op.name()).or_default().push(t);
        }
    }
    for (op, mut times) in drawn {
        times.sort_unstable();
        streams.push(Stream {
            op,
            spread: Spread::Times(times),
            delay_us: 0,
        });
    }
}

/// Checks: audits of every console, probes of every monitored talkgroup.
fn check_streams(profile: &Profile, pop: &Population, setup_us: f64, streams: &mut Vec<Stream>) {
    let consoles = u64::from(pop.console_count());
    let setup_end_us = setup_us as u64;
    let audit_us = profile.checks.audit_every.as_micros();
    if audit_us > 0 && consoles > 0 {
        streams.push(Stream {
            op: Op::ConsoleAudit.name(),
            spread: Spread::Periodic {
                start_us: setup_end_us + audit_us / 2,
                period_us: audit_us,
                n: consoles,
            },
            delay_us: 0,
        });
    }
    let probe_us = profile.checks.probe_every.as_micros();
    let probed = pop.monitored_talkgroup_count();
    if probe_us > 0 && probed > 0 {
        for (op, delay_us) in [
            (Op::CallGroup, 0),
            (Op::CallEnd, (probe_us / 2).min(1_000_000)),
        ] {
            streams.push(Stream {
                op: op.name(),
                spread: Spread::Periodic {
                    start_us: setup_end_us,
                    period_us: probe_us,
                    n: probed,
                },
                delay_us,
            });
        }
    }
}

/// Actions by operation and by phase: the phases' edges cut the run into stretches that each
/// lie in one phase.
fn counts(
    streams: &[Stream],
    phases: &[Phase],
    duration_us: u64,
) -> (BTreeMap<&'static str, u64>, BTreeMap<String, u64>) {
    let mut cuts = vec![0, duration_us];
    for ph in phases {
        cuts.push(ph.start_us.min(duration_us));
        cuts.push(ph.end_us.min(duration_us));
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut by_op: BTreeMap<&'static str, f64> = BTreeMap::new();
    let mut by_phase = vec![0.0; phases.len()];
    for w in cuts.windows(2) {
        let phase = Schedule::phase_at(phases, w[0]);
        for s in streams {
            let n = s.before(w[1]) - s.before(w[0]);
            *by_op.entry(s.op).or_insert(0.0) += n;
            by_phase[phase] += n;
        }
    }
    let per_op: BTreeMap<&'static str, u64> = by_op
        .into_iter()
        .map(|(op, n)| (op, n.round() as u64))
        .filter(|(_, n)| *n > 0)
        .collect();
    let mut per_phase: BTreeMap<String, u64> = BTreeMap::new();
    for (ph, n) in phases.iter().zip(&by_phase) {
        let n = n.round() as u64;
        if n > 0 {
            *per_phase.entry(ph.name.clone()).or_insert(0) += n;
        }
    }
    (per_op, per_phase)
}

/// The peak: the busiest of the seconds where the count per second may change, and that
/// second.
fn peak_second(streams: &[Stream], phases: &[Phase], duration_us: u64) -> (u64, u64) {
    let mut seconds = BTreeSet::new();
    for t in [0, duration_us]
        .into_iter()
        .chain(phases.iter().flat_map(|ph| [ph.start_us, ph.end_us]))
    {
        around(&mut seconds, t);
    }
    for s in streams {
        s.seconds(&mut seconds);
    }
    let (mut peak, mut peak_at) = (0, 0);
    for &sec in seconds.range(..duration_us.div_ceil(1_000_000)) {
        let from = sec * 1_000_000;
        let to = (from + 1_000_000).min(duration_us);
        let n: f64 = streams.iter().map(|s| s.before(to) - s.before(from)).sum();
        let n = n.round() as u64;
        if n > peak {
            peak = n;
            peak_at = sec;
        }
    }
    (peak, peak_at)
}

/// FNV-1a over the canonical text of every action: equal hashes mean equal schedules.
pub fn schedule_hash(actions: impl Iterator<Item = Action>) -> (u64, u64) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut n = 0;
    for a in actions {
        n += 1;
        for b in format!("{a:?}\n").bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    (h, n)
}
