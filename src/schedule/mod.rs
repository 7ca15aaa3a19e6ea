//! The scheduler: profile + seed -> a lazy, time-ordered stream of [`Action`]s.
//!
//! Pure: no I/O, no clocks, no tokio. Every load shape (setup, background traffic, shift
//! change, emergency burst) is a source of timed actions; one merge turns them into one stream.
//! Memory is bounded by the population and the calls in progress, not by the run's length.
//! Each source draws from its own seeded Xoshiro256++ generator, so the stream depends only on
//! the profile and the seed.

mod action;
mod arrivals;
mod population;
mod replayed;
mod shard;
mod summary;
#[cfg(test)]
mod tests;

pub use action::{Action, ActionKind};
pub use population::Population;
pub use replayed::ReplayCounts;
pub use shard::{Owner, Ownership, Shard, ShardError};
pub use summary::{ScheduleSummary, estimate, schedule_hash, summarize};

use crate::profile::{
    DEFAULT_HOLD_S, EventKind, EventSpec, Phase, Profile, Shape, TrafficAction, TrafficEntry,
    phases_of, secs_to_us,
};
use arrivals::{Arrivals, below};
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rcload_api::CallKind;
use rcload_api::mix::splitmix64;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What a timed source will do; resolved against the schedule's model when emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Template {
    Logout(u32),
    Login(u32),
    Deregister(u32),
    Register(u32),
    Emergency { talkgroup: u32, hold_us: u64 },
}

#[derive(Debug)]
enum Source {
    /// `count` evenly spaced items from `start_us`, `step_us` apart: logins or registrations.
    Linear {
        count: u32,
        start_us: f64,
        step_us: f64,
        next: u32,
        consoles: bool,
    },
    Traffic {
        action: TrafficAction,
        hold_us: u64,
        arrivals: Arrivals,
        rng: Xoshiro256PlusPlus,
    },
    Timed {
        items: Vec<(u64, Template)>,
        next: usize,
        rng: Xoshiro256PlusPlus,
    },
    /// Recorded traffic (`traffic: - replay:`), its records made into timed items.
    Replay {
        items: Vec<(u64, replayed::Replayed)>,
        next: usize,
        rng: Xoshiro256PlusPlus,
    },
    /// Each of `items` once every `period_us`, spread evenly over the period: audits of
    /// consoles, or probe calls on talkgroups. Never empty.
    Periodic {
        start_us: u64,
        period_us: u64,
        items: Vec<u32>,
        next: u64,
        audit: bool,
        hold_us: u64,
        rng: Xoshiro256PlusPlus,
    },
}

impl Source {
    fn peek_us(&self) -> Option<u64> {
        match self {
            Source::Linear {
                count,
                start_us,
                step_us,
                next,
                ..
            } => (next < count).then(|| (start_us + step_us * f64::from(*next)).round() as u64),
            Source::Traffic { arrivals, .. } => arrivals.peek().map(secs_to_us),
            Source::Timed { items, next, .. } => items.get(*next).map(|(t, _)| *t),
            Source::Replay { items, next, .. } => items.get(*next).map(|(t, _)| *t),
            Source::Periodic {
                start_us,
                period_us,
                items,
                next,
                ..
            } => {
                let n = items.len() as u64;
                let (k, j) = (next / n, next % n);
                Some(start_us + k * period_us + j * period_us / n)
            }
        }
    }
}

/// The schedule's own view of the population, so that choices follow earlier actions.
#[derive(Debug)]
struct Model {
    terminal_talkgroup: Vec<u32>,
    /// Whether, by the schedule, a terminal is registered (false between deregister and register).
    terminal_registered: Vec<bool>,
    console_shift: Vec<u32>,
    next_call: u64,
}

/// A lazy, time-ordered stream of actions. Create with [`Schedule::new`], iterate.
#[derive(Debug)]
pub struct Schedule {
    pop: Population,
    /// Each replay entry's index in `traffic`, its file and how its records fared.
    replays: Vec<(usize, String, ReplayCounts)>,
    phases: Vec<Phase>,
    duration_us: u64,
    sources: Vec<Source>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    /// Call ends waiting for their time: (at, call number, probe).
    deferred: BinaryHeap<Reverse<(u64, u64, bool)>>,
    model: Model,
    seq: u64,
}

fn rng_for(seed: u64, stream: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(splitmix64(
        seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F),
    ))
}

/// Draw `k` distinct indexes out of `0..n`, portably (partial Fisher-Yates on u32).
fn sample_indexes(rng: &mut Xoshiro256PlusPlus, n: u32, k: u32) -> Vec<u32> {
    let mut v: Vec<u32> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = i + below(rng, n - i);
        v.swap(i as usize, j as usize);
    }
    v.truncate(k as usize);
    v
}

fn count_of(fraction: f64, n: u32) -> u32 {
    ((fraction * f64::from(n)).round() as u32).min(n)
}

/// The actions of timed event `i` (`e`), in time order (ties in the order they were drawn, so
/// the result is deterministic), and the generator its source goes on with.
fn event_items(
    e: &EventSpec,
    i: usize,
    seed: u64,
    pop: &Population,
) -> (Vec<(u64, Template)>, Xoshiro256PlusPlus) {
    let consoles = pop.console_count();
    let mut rng = rng_for(seed, 1000 + i as u64);
    let at_us = e.at.as_micros();
    let mut items = Vec::new();
    match e.kind {
        EventKind::ShiftChange => {
            let over_s = e.logout_over.map_or(0.0, |d| d.as_secs_f64());
            let handover_us = e.handover.map_or(0, |d| d.as_micros());
            let shape = e.shape.unwrap_or_default();
            let normal = Normal::new(over_s / 2.0, over_s / 6.0).ok();
            let draw = |rng: &mut Xoshiro256PlusPlus| -> u64 {
                let x = match (shape, &normal) {
                    (Shape::Normal, Some(n)) if over_s > 0.0 => {
                        let mut x = n.sample(rng);
                        // Resample the rare tails rather than pile them on the edges.
                        for _ in 0..8 {
                            if (0.0..over_s).contains(&x) {
                                break;
                            }
                            x = n.sample(rng);
                        }
                        x.clamp(0.0, over_s)
                    }
                    _ => rng.random::<f64>() * over_s,
                };
                at_us + secs_to_us(x)
            };
            let nc = count_of(e.consoles.map_or(1.0, |p| p.fraction), consoles);
            for c in sample_indexes(&mut rng, consoles, nc) {
                let t = draw(&mut rng);
                items.push((t, Template::Logout(c)));
                items.push((t + handover_us, Template::Login(c)));
            }
            let nt = count_of(e.terminals.map_or(0.0, |p| p.fraction), pop.terminals);
            for term in sample_indexes(&mut rng, pop.terminals, nt) {
                let t = draw(&mut rng);
                items.push((t, Template::Deregister(term)));
                items.push((t + handover_us, Template::Register(term)));
            }
        }
        EventKind::EmergencyBurst => {
            let over_us = e.over.map_or(0, |d| d.as_micros());
            let hold_us = secs_to_us(e.hold.map_or(DEFAULT_HOLD_S, |d| d.as_secs_f64()));
            let groups = sample_indexes(
                &mut rng,
                pop.talkgroup_count(),
                e.talkgroups.unwrap_or(1).max(1),
            );
            let calls = e.calls.unwrap_or(0);
            let mut times: Vec<u64> = (0..calls)
                .map(|_| at_us + (rng.random::<f64>() * over_us as f64) as u64)
                .collect();
            times.sort_unstable();
            for (k, t) in times.into_iter().enumerate() {
                let g = groups[k % groups.len()];
                items.push((
                    t,
                    Template::Emergency {
                        talkgroup: pop.gssi_of_index(g),
                        hold_us,
                    },
                ));
            }
        }
    }
    items.sort_by_key(|(t, _)| *t);
    (items, rng)
}

impl Schedule {
    /// Compile a validated profile and a seed into a schedule.
    pub fn new(profile: &Profile, seed: u64) -> Self {
        let pop = Population::of(profile, seed);
        let duration_us = profile.duration.as_micros();
        let phases = phases_of(profile);
        let setup_us = profile.setup.over.as_micros().min(duration_us) as f64;
        let mut sources = Vec::new();
        let consoles = pop.console_count();
        sources.push(Source::Linear {
            count: consoles,
            start_us: 0.0,
            step_us: setup_us / 2.0 / f64::from(consoles.max(1)),
            next: 0,
            consoles: true,
        });
        sources.push(Source::Linear {
            count: pop.terminals,
            start_us: 0.0,
            step_us: setup_us / f64::from(pop.terminals.max(1)),
            next: 0,
            consoles: false,
        });
        let setup_s = setup_us / 1e6;
        let end_s = duration_us as f64 / 1e6;
        let mut replays = Vec::new();
        for (i, t) in profile.traffic.iter().enumerate() {
            let mut rng = rng_for(seed, 100 + i as u64);
            let t = match t {
                TrafficEntry::Formula(t) => t,
                TrafficEntry::Replay(r) => {
                    let (items, counts) = replayed::items(r, &pop, setup_us as u64, duration_us);
                    replays.push((i, r.source.to_string(), counts));
                    sources.push(Source::Replay {
                        items,
                        next: 0,
                        rng,
                    });
                    continue;
                }
            };
            let arrivals = match t.rate.curve_s() {
                None => Arrivals::new(t.arrival, t.rate.peak(), setup_s, end_s, &mut rng),
                Some(curve) => Arrivals::with_curve(t.arrival, &curve, setup_s, end_s, &mut rng),
            };
            sources.push(Source::Traffic {
                action: t.action,
                hold_us: secs_to_us(t.hold.map_or(DEFAULT_HOLD_S, |d| d.as_secs_f64())),
                arrivals,
                rng,
            });
        }
        for (i, e) in profile.events.iter().enumerate() {
            let (items, rng) = event_items(e, i, seed, &pop);
            sources.push(Source::Timed {
                items,
                next: 0,
                rng,
            });
        }
        // Checks: audits of every console and probes on every monitored talkgroup, from the
        // end of setup, each spread evenly over its period.
        let setup_end_us = setup_us as u64;
        let audit_us = profile.checks.audit_every.as_micros();
        if audit_us > 0 && consoles > 0 {
            sources.push(Source::Periodic {
                start_us: setup_end_us + audit_us / 2,
                period_us: audit_us,
                items: (0..consoles).collect(),
                next: 0,
                audit: true,
                hold_us: 0,
                rng: rng_for(seed, 5000),
            });
        }
        let probe_us = profile.checks.probe_every.as_micros();
        let monitored: Vec<u32> = pop
            .monitors_by_talkgroup()
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.is_empty())
            .map(|(i, _)| i as u32)
            .collect();
        if probe_us > 0 && !monitored.is_empty() {
            sources.push(Source::Periodic {
                start_us: setup_end_us,
                period_us: probe_us,
                items: monitored,
                next: 0,
                audit: false,
                hold_us: (probe_us / 2).min(1_000_000),
                rng: rng_for(seed, 5001),
            });
        }
        let mut heap = BinaryHeap::new();
        for (i, s) in sources.iter().enumerate() {
            if let Some(t) = s.peek_us() {
                heap.push(Reverse((t, i)));
            }
        }
        let model = Model {
            terminal_talkgroup: (0..pop.terminals).map(|i| pop.home_talkgroup(i)).collect(),
            terminal_registered: vec![false; pop.terminals as usize],
            console_shift: vec![0; consoles as usize],
            next_call: 0,
        };
        Schedule {
            pop,
            replays,
            phases,
            duration_us,
            sources,
            heap,
            deferred: BinaryHeap::new(),
            model,
            seq: 0,
        }
    }

    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    pub fn population(&self) -> &Population {
        &self.pop
    }

    /// How each replay entry's records fared: `(index in traffic, file, counts)`.
    pub fn replays(&self) -> &[(usize, String, ReplayCounts)] {
        &self.replays
    }

    /// What the run must say of its replays: records left out or mapped, and items after
    /// the run's end.
    pub fn replay_notes(&self) -> Vec<String> {
        let n = crate::text::plural;
        let mut out = Vec::new();
        for (i, file, c) in &self.replays {
            let head = format!("traffic[{i}] replays {file}");
            if c.unknown > 0 {
                out.push(format!(
                    "{head}: {} of the {} in the slice left out: they name a terminal, console \
                     or talkgroup the population does not have (`map: hash` maps them onto it)",
                    n(c.unknown, "record", "records"),
                    c.in_slice,
                ));
            }
            if c.mapped > 0 {
                out.push(format!(
                    "{head}: {} naming an entity the population does not have mapped onto it \
                     by hash (`map: hash`)",
                    n(c.mapped, "record", "records"),
                ));
            }
            if c.after_end > 0 {
                out.push(format!(
                    "{head}: {} would come after the run's end: not sent",
                    n(c.after_end, "replayed record", "replayed records"),
                ));
            }
        }
        out
    }

    pub fn duration_us(&self) -> u64 {
        self.duration_us
    }

    /// The phase a time falls in. Times after the end of the schedule (results that come in
    /// while the run drains) belong to the phases that were on at its end.
    pub fn phase_at(phases: &[Phase], at_us: u64) -> usize {
        Self::span_at(
            phases.len(),
            |i| (phases[i].start_us, phases[i].end_us),
            at_us,
        )
    }

    /// [`Schedule::phase_at`] over `n` phases given by their `[start, end)` microseconds
    /// (`span(i)` for `i < n`), for phases read back from a run directory.
    pub fn span_at(n: usize, span: impl Fn(usize) -> (u64, u64), at_us: u64) -> usize {
        let end_us = if n > 1 { span(1).1 } else { u64::MAX };
        let at_us = if at_us >= end_us {
            end_us.saturating_sub(1)
        } else {
            at_us
        };
        for i in (2..n).rev() {
            let (start, end) = span(i);
            if at_us >= start && at_us < end {
                return i;
            }
        }
        if n > 0 && at_us < span(0).1 { 0 } else { 1 }
    }

    /// A terminal the schedule believes registered (a few draws), for background traffic.
    fn pick_terminal(&self, rng: &mut Xoshiro256PlusPlus) -> u32 {
        let mut t = below(rng, self.pop.terminals);
        for _ in 0..8 {
            if self.model.terminal_registered[t as usize] {
                break;
            }
            t = below(rng, self.pop.terminals);
        }
        t
    }

    fn start_call(
        &mut self,
        at_us: u64,
        kind: CallKind,
        caller: u32,
        talkgroup: u32,
        hold_us: u64,
        probe: bool,
    ) -> ActionKind {
        let call = self.model.next_call;
        self.model.next_call += 1;
        self.deferred.push(Reverse((at_us + hold_us, call, probe)));
        ActionKind::CallStart {
            call,
            kind,
            caller,
            talkgroup,
            probe,
        }
    }

    /// The action of a replayed record, the schedule's model kept up with it.
    fn replayed(
        &mut self,
        at_us: u64,
        r: replayed::Replayed,
        rng: &mut Xoshiro256PlusPlus,
    ) -> ActionKind {
        use replayed::Replayed as R;
        match r {
            R::Status { terminal, code } => ActionKind::Status {
                terminal,
                code: code.unwrap_or_else(|| rng.random_range(1..=u16::MAX)),
            },
            R::Call {
                terminal,
                talkgroup,
                emergency,
                hold_us,
            } => {
                let g = talkgroup.unwrap_or(self.model.terminal_talkgroup[terminal as usize]);
                let kind = if emergency {
                    CallKind::Emergency
                } else {
                    CallKind::Group
                };
                self.start_call(at_us, kind, terminal, g, hold_us, false)
            }
            R::Register {
                terminal,
                talkgroup,
            } => {
                let t = terminal as usize;
                if let Some(g) = talkgroup {
                    self.model.terminal_talkgroup[t] = g;
                }
                self.model.terminal_registered[t] = true;
                ActionKind::Register {
                    terminal,
                    talkgroup: self.model.terminal_talkgroup[t],
                }
            }
            R::Deregister { terminal } => {
                self.model.terminal_registered[terminal as usize] = false;
                ActionKind::Deregister { terminal }
            }
            R::Affiliate {
                terminal,
                talkgroup,
            } => {
                self.model.terminal_talkgroup[terminal as usize] = talkgroup;
                ActionKind::Affiliate {
                    terminal,
                    talkgroup,
                }
            }
            R::Login { console } => {
                let shift = &mut self.model.console_shift[console as usize];
                *shift += 1;
                ActionKind::Login {
                    console,
                    shift: *shift,
                }
            }
            R::Logout { console } => ActionKind::Logout { console },
        }
    }

    /// Produce the action of source `i` at `at_us` and advance the source.
    fn take(&mut self, i: usize, at_us: u64) -> Option<ActionKind> {
        // Move the source out while it draws, so that the model can be read and changed.
        let mut source = std::mem::replace(
            &mut self.sources[i],
            Source::Timed {
                items: Vec::new(),
                next: 0,
                rng: rng_for(0, 0),
            },
        );
        let kind = match &mut source {
            Source::Linear { next, consoles, .. } => {
                let n = *next;
                *next += 1;
                if *consoles {
                    Some(ActionKind::Login {
                        console: n,
                        shift: 0,
                    })
                } else {
                    self.model.terminal_registered[n as usize] = true;
                    Some(ActionKind::Register {
                        terminal: n,
                        talkgroup: self.model.terminal_talkgroup[n as usize],
                    })
                }
            }
            Source::Traffic {
                action,
                hold_us,
                arrivals,
                rng,
            } => {
                arrivals.advance(rng);
                let terminal = self.pick_terminal(rng);
                let talkgroup = self.model.terminal_talkgroup[terminal as usize];
                Some(match action {
                    TrafficAction::Status => ActionKind::Status {
                        terminal,
                        code: rng.random_range(1..=u16::MAX),
                    },
                    TrafficAction::GroupCall => self.start_call(
                        at_us,
                        CallKind::Group,
                        terminal,
                        talkgroup,
                        *hold_us,
                        false,
                    ),
                    TrafficAction::EmergencyCall => self.start_call(
                        at_us,
                        CallKind::Emergency,
                        terminal,
                        talkgroup,
                        *hold_us,
                        false,
                    ),
                    TrafficAction::Affiliate => {
                        let choices = self.pop.affiliation_choices(terminal);
                        let n = choices.len() as u32;
                        let mut g = talkgroup;
                        if n > 0 {
                            g = choices[below(rng, n) as usize];
                            if g == talkgroup && n > 1 {
                                g = choices[below(rng, n) as usize];
                            }
                        }
                        self.model.terminal_talkgroup[terminal as usize] = g;
                        ActionKind::Affiliate {
                            terminal,
                            talkgroup: g,
                        }
                    }
                })
            }
            Source::Timed { items, next, rng } => {
                let item = items.get(*next).map(|(_, t)| *t);
                *next += 1;
                match item {
                    Some(Template::Logout(c)) => Some(ActionKind::Logout { console: c }),
                    Some(Template::Login(c)) => {
                        let shift = &mut self.model.console_shift[c as usize];
                        *shift += 1;
                        Some(ActionKind::Login {
                            console: c,
                            shift: *shift,
                        })
                    }
                    Some(Template::Deregister(t)) => {
                        self.model.terminal_registered[t as usize] = false;
                        Some(ActionKind::Deregister { terminal: t })
                    }
                    Some(Template::Register(t)) => {
                        self.model.terminal_registered[t as usize] = true;
                        Some(ActionKind::Register {
                            terminal: t,
                            talkgroup: self.model.terminal_talkgroup[t as usize],
                        })
                    }
                    Some(Template::Emergency { talkgroup, hold_us }) => {
                        let caller = below(rng, self.pop.terminals);
                        Some(self.start_call(
                            at_us,
                            CallKind::Emergency,
                            caller,
                            talkgroup,
                            hold_us,
                            false,
                        ))
                    }
                    None => None,
                }
            }
            Source::Replay { items, next, rng } => {
                let item = items.get(*next).map(|(_, r)| *r);
                *next += 1;
                item.map(|r| self.replayed(at_us, r, rng))
            }
            Source::Periodic {
                items,
                next,
                audit,
                hold_us,
                rng,
                ..
            } => {
                let n = items.len() as u64;
                let item = items[(*next % n) as usize];
                *next += 1;
                if *audit {
                    Some(ActionKind::Audit { console: item })
                } else {
                    let talkgroup = self.pop.gssi_of_index(item);
                    let caller = below(rng, self.pop.terminals);
                    Some(self.start_call(at_us, CallKind::Group, caller, talkgroup, *hold_us, true))
                }
            }
        };
        self.sources[i] = source;
        if let Some(t) = self.sources[i].peek_us() {
            self.heap.push(Reverse((t, i)));
        }
        kind
    }
}

impl Iterator for Schedule {
    type Item = Action;

    fn next(&mut self) -> Option<Action> {
        loop {
            let src = self.heap.peek().map(|Reverse((t, i))| (*t, *i));
            let def = self
                .deferred
                .peek()
                .map(|Reverse((t, c, p))| (*t, (*c, *p)));
            let (at_us, kind) = match (src, def) {
                (None, None) => return None,
                (Some((ts, _)), Some((td, (call, probe)))) if td <= ts => {
                    self.deferred.pop();
                    (td, Some(ActionKind::CallEnd { call, probe }))
                }
                (None, Some((td, (call, probe)))) => {
                    self.deferred.pop();
                    (td, Some(ActionKind::CallEnd { call, probe }))
                }
                (Some((ts, i)), _) => {
                    self.heap.pop();
                    (ts, self.take(i, ts))
                }
            };
            if at_us >= self.duration_us {
                // The merge pops the earliest time first: everything left lies past the end.
                self.heap.clear();
                self.deferred.clear();
                return None;
            }
            let Some(kind) = kind else { continue };
            let seq = self.seq;
            self.seq += 1;
            return Some(Action {
                at_us,
                seq,
                phase: Self::phase_at(&self.phases, at_us),
                kind,
            });
        }
    }
}
