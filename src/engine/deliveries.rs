//! The table of expected deliveries: which consoles should receive which event, and by when.
//!
//! Pure: times are microseconds from the start of the run, passed in by the caller.

use super::outcome::Delivery;
use std::collections::{HashMap, VecDeque};

/// How an expected event is recognised when it arrives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// By the `ref` rcload sent (status, calls).
    Ref(u64),
    /// `terminal.registered` by ISSI.
    Registered(u32),
    /// `terminal.deregistered` by ISSI.
    Deregistered(u32),
    /// `call.ended` by the system's call id.
    Ended(String),
}

#[derive(Debug)]
struct Expect {
    event: Delivery,
    phase: usize,
    intended_us: u64,
    talkgroup: u32,
    probe: bool,
    consoles: Vec<u32>,
    generation: u64,
}

/// What is expected: an event on a talkgroup, caused by an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub event: Delivery,
    pub phase: usize,
    pub intended_us: u64,
    pub talkgroup: u32,
    pub probe: bool,
}

/// A delivery that was resolved: arrived, or did not arrive in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Delivered {
        what: Expected,
        console: u32,
        latency_us: u64,
    },
    Missed {
        what: Expected,
        console: u32,
        /// When the miss was established.
        at_us: u64,
    },
}

/// Expected deliveries, pruned as they arrive or time out.
#[derive(Debug)]
pub struct Deliveries {
    map: HashMap<Key, Expect>,
    deadlines: VecDeque<(u64, Key, u64)>,
    generation: u64,
    timeout_us: u64,
    /// What came before it was expected (sharded runs only).
    early: Option<Early>,
}

/// At most this many early arrivals are kept; the oldest go first.
const MAX_EARLY: usize = 200_000;

/// Events that arrived before they were expected, and call ids seen before their call: in a
/// sharded run another shard sends an action by its own clock, which may run a little ahead
/// of this one, so its event can come before this shard expects it. Kept for `keep_us`.
#[derive(Debug, Default)]
struct Early {
    keep_us: u64,
    events: HashMap<Key, Vec<(u32, u64)>>,
    calls: HashMap<u64, String>,
    /// Arrival order, for pruning: (at, the event's key, or the call's reference).
    order: VecDeque<(u64, Result<Key, u64>)>,
}

impl Early {
    fn push(&mut self, item: Result<Key, u64>, at_us: u64) {
        if self.order.len() >= MAX_EARLY {
            self.prune(u64::MAX, 1);
        }
        self.order.push_back((at_us, item));
    }

    /// Drop what arrived more than `keep_us` before `now_us` (at most `most` items).
    fn prune(&mut self, now_us: u64, most: usize) {
        for _ in 0..most {
            match self.order.front() {
                Some((at, _)) if at.saturating_add(self.keep_us) < now_us || now_us == u64::MAX => {
                }
                _ => return,
            }
            let Some((at, item)) = self.order.pop_front() else {
                return;
            };
            match item {
                Ok(key) => {
                    if let Some(v) = self.events.get_mut(&key) {
                        v.retain(|(_, t)| *t != at);
                        if v.is_empty() {
                            self.events.remove(&key);
                        }
                    }
                }
                Err(seq) => {
                    self.calls.remove(&seq);
                }
            }
        }
    }
}

impl Deliveries {
    pub fn new(timeout_us: u64) -> Self {
        Deliveries {
            map: HashMap::new(),
            deadlines: VecDeque::new(),
            generation: 0,
            timeout_us,
            early: None,
        }
    }

    /// How long after its action's intended time a delivery may come.
    pub fn timeout_us(&self) -> u64 {
        self.timeout_us
    }

    /// Keep events that arrive before they are expected for `keep_us`, and match them when
    /// they are (a sharded run).
    pub fn with_early(mut self, keep_us: u64) -> Self {
        self.early = Some(Early {
            keep_us,
            ..Early::default()
        });
        self
    }

    /// Call `id` was seen starting (sent with reference `seq`) before this shard knew the
    /// call: keep it for [`Deliveries::take_call`].
    pub fn note_call(&mut self, seq: u64, id: &str, at_us: u64) {
        if let Some(e) = &mut self.early
            && !e.calls.contains_key(&seq)
        {
            e.calls.insert(seq, id.to_string());
            e.push(Err(seq), at_us);
        }
    }

    /// The id of the call sent with reference `seq`, if it was seen before.
    pub fn take_call(&mut self, seq: u64) -> Option<String> {
        self.early.as_mut().and_then(|e| e.calls.remove(&seq))
    }

    /// Match what already arrived under `key` against the consoles now expecting it.
    fn arrived_early(&mut self, key: &Key) -> Vec<Resolved> {
        let Some(early) = &mut self.early else {
            return Vec::new();
        };
        let (Some(arrived), Some(e)) = (early.events.get_mut(key), self.map.get_mut(key)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        arrived.retain(|(console, at_us)| {
            let Some(pos) = e.consoles.iter().position(|c| c == console) else {
                return true;
            };
            e.consoles.swap_remove(pos);
            out.push(Resolved::Delivered {
                what: e.what(),
                console: *console,
                latency_us: at_us.saturating_sub(e.intended_us),
            });
            false
        });
        if arrived.is_empty() {
            early.events.remove(key);
        }
        if e.consoles.is_empty() {
            self.map.remove(key);
        }
        out
    }

    /// Expect `event` at `consoles`, sent by an action intended at `intended_us`. A previous
    /// expectation under the same key is resolved as missed where it is still open.
    pub fn add(&mut self, key: Key, what: Expected, consoles: Vec<u32>) -> Vec<Resolved> {
        if consoles.is_empty() {
            return Vec::new();
        }
        self.generation += 1;
        let deadline = what.intended_us + self.timeout_us;
        self.deadlines
            .push_back((deadline, key.clone(), self.generation));
        let old = self.map.insert(
            key.clone(),
            Expect {
                event: what.event,
                phase: what.phase,
                intended_us: what.intended_us,
                talkgroup: what.talkgroup,
                probe: what.probe,
                consoles,
                generation: self.generation,
            },
        );
        let mut out = old.map(|e| misses(e, deadline)).unwrap_or_default();
        out.extend(self.arrived_early(&key));
        out
    }

    /// `console` received the event under `key` at `at_us`.
    pub fn receive(&mut self, key: &Key, console: u32, at_us: u64) -> Option<Resolved> {
        let found = self
            .map
            .get(key)
            .and_then(|e| e.consoles.iter().position(|c| *c == console));
        let Some(pos) = found else {
            if let Some(early) = &mut self.early {
                early
                    .events
                    .entry(key.clone())
                    .or_default()
                    .push((console, at_us));
                early.push(Ok(key.clone()), at_us);
            }
            return None;
        };
        let e = self.map.get_mut(key)?;
        e.consoles.swap_remove(pos);
        let r = Resolved::Delivered {
            what: e.what(),
            console,
            latency_us: at_us.saturating_sub(e.intended_us),
        };
        if e.consoles.is_empty() {
            self.map.remove(key);
        }
        Some(r)
    }

    /// Resolve as missed whatever is past its deadline at `now_us`.
    pub fn expire(&mut self, now_us: u64) -> Vec<Resolved> {
        if let Some(e) = &mut self.early {
            e.prune(now_us, usize::MAX);
        }
        let mut out = Vec::new();
        while let Some((deadline, _, _)) = self.deadlines.front() {
            if *deadline > now_us {
                break;
            }
            let Some((_, key, generation)) = self.deadlines.pop_front() else {
                break;
            };
            if self
                .map
                .get(&key)
                .is_some_and(|e| e.generation == generation)
                && let Some(e) = self.map.remove(&key)
            {
                out.extend(misses(e, now_us));
            }
        }
        out
    }

    /// The run ends at `now_us`: everything still open is missed, at its deadline or at
    /// `now_us`, whichever comes first (never at a time after the run).
    pub fn expire_all(&mut self, now_us: u64) -> Vec<Resolved> {
        let mut out = Vec::new();
        for (deadline, key, generation) in std::mem::take(&mut self.deadlines) {
            if self
                .map
                .get(&key)
                .is_some_and(|e| e.generation == generation)
                && let Some(e) = self.map.remove(&key)
            {
                out.extend(misses(e, deadline.min(now_us)));
            }
        }
        self.map.clear();
        out
    }

    /// Stop expecting anything at `console` (it logged out or lost its stream).
    pub fn forget_console(&mut self, console: u32) {
        self.map.retain(|_, e| {
            e.consoles.retain(|c| *c != console);
            !e.consoles.is_empty()
        });
    }

    /// Stop expecting what `key` was to cause (its request failed, so the system had nothing
    /// to deliver).
    pub fn cancel(&mut self, key: &Key) {
        self.map.remove(key);
    }

    /// Stop expecting events of `talkgroup` at `console` (a known drop).
    pub fn forget_talkgroup(&mut self, console: u32, talkgroup: u32) {
        self.map.retain(|_, e| {
            if e.talkgroup == talkgroup {
                e.consoles.retain(|c| *c != console);
            }
            !e.consoles.is_empty()
        });
    }

    /// Drop every open expectation without counting it (an interrupted run).
    pub fn clear(&mut self) {
        self.map.clear();
        self.deadlines.clear();
    }

    /// Expectations still open.
    pub fn pending(&self) -> usize {
        self.map.len()
    }
}

impl Expect {
    fn what(&self) -> Expected {
        Expected {
            event: self.event,
            phase: self.phase,
            intended_us: self.intended_us,
            talkgroup: self.talkgroup,
            probe: self.probe,
        }
    }
}

fn misses(e: Expect, at_us: u64) -> Vec<Resolved> {
    let what = e.what();
    e.consoles
        .into_iter()
        .map(|console| Resolved::Missed {
            what,
            console,
            at_us,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(event: Delivery, intended_us: u64) -> Expected {
        Expected {
            event,
            phase: 1,
            intended_us,
            talkgroup: 100_001,
            probe: false,
        }
    }

    #[test]
    fn delivered_then_missed_after_timeout() {
        let mut d = Deliveries::new(1_000);
        let w = what(Delivery::Status, 100);
        assert!(d.add(Key::Ref(1), w, vec![3, 4]).is_empty());
        assert_eq!(
            d.receive(&Key::Ref(1), 3, 150),
            Some(Resolved::Delivered {
                what: w,
                console: 3,
                latency_us: 50
            })
        );
        // A second copy at the same console, or a console not expected, counts nothing.
        assert_eq!(d.receive(&Key::Ref(1), 3, 160), None);
        assert_eq!(d.receive(&Key::Ref(1), 9, 160), None);
        assert!(d.expire(1_099).is_empty());
        assert_eq!(
            d.expire(1_100),
            vec![Resolved::Missed {
                what: w,
                console: 4,
                at_us: 1_100
            }]
        );
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn fully_delivered_expectations_leave_the_table() {
        let mut d = Deliveries::new(1_000);
        d.add(
            Key::Registered(7),
            what(Delivery::TerminalRegistered, 0),
            vec![1],
        );
        assert!(d.receive(&Key::Registered(7), 1, 10).is_some());
        assert_eq!(d.pending(), 0);
        assert!(d.expire(5_000).is_empty());
    }

    #[test]
    fn forgetting_a_console_is_not_a_miss() {
        let mut d = Deliveries::new(1_000);
        d.add(Key::Ref(1), what(Delivery::EmergencyAlert, 0), vec![1, 2]);
        d.forget_console(2);
        d.forget_console(1);
        assert_eq!(d.pending(), 0);
        assert!(d.expire(5_000).is_empty());
    }

    #[test]
    fn a_replaced_expectation_resolves_the_old_one() {
        let mut d = Deliveries::new(1_000);
        d.add(
            Key::Registered(7),
            what(Delivery::TerminalRegistered, 0),
            vec![1],
        );
        let old = d.add(
            Key::Registered(7),
            what(Delivery::TerminalRegistered, 500),
            vec![1],
        );
        assert_eq!(old.len(), 1);
        // The first deadline no longer applies to the new expectation.
        assert!(d.expire(1_000).is_empty());
        assert_eq!(d.expire(1_500).len(), 1);
    }

    #[test]
    fn an_event_that_came_early_is_matched_when_expected_and_forgotten_later() {
        let mut d = Deliveries::new(1_000).with_early(500);
        let w = what(Delivery::Status, 100);
        // It came 20 µs before this shard's clock reached the action's intended time.
        assert_eq!(d.receive(&Key::Ref(1), 3, 80), None);
        assert_eq!(
            d.add(Key::Ref(1), w, vec![3, 4]),
            vec![Resolved::Delivered {
                what: w,
                console: 3,
                latency_us: 0
            }]
        );
        assert_eq!(d.pending(), 1);
        // Kept no longer than `keep_us`.
        assert_eq!(d.receive(&Key::Ref(2), 3, 100), None);
        d.note_call(7, "c-7", 100);
        assert!(d.expire(700).is_empty());
        assert!(
            d.add(Key::Ref(2), what(Delivery::Status, 700), vec![3])
                .is_empty()
        );
        assert_eq!(d.take_call(7), None);
        // Without early matching (one process), an unexpected event is dropped at once.
        let mut one = Deliveries::new(1_000);
        assert_eq!(one.receive(&Key::Ref(1), 3, 80), None);
        assert!(one.add(Key::Ref(1), w, vec![3]).is_empty());
    }

    #[test]
    fn at_the_end_everything_open_is_missed_within_the_run() {
        let mut d = Deliveries::new(1_000);
        d.add(Key::Ref(1), what(Delivery::Status, 0), vec![1]);
        d.add(Key::Ref(2), what(Delivery::Status, 5_000), vec![2, 3]);
        let mut at: Vec<(u32, u64)> = d
            .expire_all(5_500)
            .into_iter()
            .map(|r| match r {
                Resolved::Missed { console, at_us, .. } => (console, at_us),
                Resolved::Delivered { .. } => (0, 0),
            })
            .collect();
        at.sort_unstable();
        assert_eq!(at, [(1, 1_000), (2, 5_500), (3, 5_500)]);
        assert_eq!(d.pending(), 0);
        assert!(d.expire(u64::MAX).is_empty());
    }
}
