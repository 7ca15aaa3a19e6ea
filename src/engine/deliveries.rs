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
}

impl Deliveries {
    pub fn new(timeout_us: u64) -> Self {
        Deliveries {
            map: HashMap::new(),
            deadlines: VecDeque::new(),
            generation: 0,
            timeout_us,
        }
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
            key,
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
        old.map(|e| misses(e, deadline)).unwrap_or_default()
    }

    /// `console` received the event under `key` at `at_us`.
    pub fn receive(&mut self, key: &Key, console: u32, at_us: u64) -> Option<Resolved> {
        let e = self.map.get_mut(key)?;
        let pos = e.consoles.iter().position(|c| *c == console)?;
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
