//! Matching events to the requests that caused them when the system does not echo rcload's
//! reference: by kind, talkgroup and caller (and status code, where the message has one)
//! within a time window. Each console's copy of an event takes the oldest request in the
//! window it has not matched yet, so repeated requests of the same kind match in order.
//!
//! Pure: times are microseconds on a clock the caller keeps.

use std::collections::{HashMap, VecDeque};

/// What an event has in common with the request that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CorrKey {
    pub kind: CorrKind,
    pub talkgroup: u32,
    /// The caller of a call, the terminal of a status.
    pub party: u32,
    /// A status's code, when the system's messages carry it.
    pub code: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrKind {
    Status,
    GroupCall,
    Emergency,
}

#[derive(Debug)]
struct Entry {
    reference: String,
    /// Consoles (by hash of their id) that matched it already.
    matched: Vec<u64>,
}

/// Requests sent in the last window, by key.
#[derive(Debug)]
pub struct Correlator {
    window_us: u64,
    open: HashMap<CorrKey, VecDeque<Entry>>,
    /// Every entry's time and key, oldest first, for pruning.
    order: VecDeque<(u64, CorrKey)>,
}

/// A console id's hash (FNV-1a): collisions only cost a missed match.
fn console_hash(console: &str) -> u64 {
    console.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Correlator {
    pub fn new(window_us: u64) -> Self {
        Correlator {
            window_us,
            open: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// A request with `key` and rcload's `reference` is being sent at `now_us`.
    pub fn sent(&mut self, key: CorrKey, reference: String, now_us: u64) {
        self.prune(now_us);
        self.open.entry(key).or_default().push_back(Entry {
            reference,
            matched: Vec::new(),
        });
        self.order.push_back((now_us, key));
    }

    /// `console` received an event with `key` at `now_us`: the reference of the request it
    /// answers, if any in the window.
    pub fn received(&mut self, key: &CorrKey, console: &str, now_us: u64) -> Option<String> {
        self.prune(now_us);
        let h = console_hash(console);
        let entries = self.open.get_mut(key)?;
        let e = entries.iter_mut().find(|e| !e.matched.contains(&h))?;
        e.matched.push(h);
        Some(e.reference.clone())
    }

    fn prune(&mut self, now_us: u64) {
        while let Some((at, key)) = self.order.front().copied() {
            if at.saturating_add(self.window_us) >= now_us {
                break;
            }
            self.order.pop_front();
            if let Some(q) = self.open.get_mut(&key) {
                q.pop_front();
                if q.is_empty() {
                    self.open.remove(&key);
                }
            }
        }
    }

    /// Requests still in the window.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(party: u32) -> CorrKey {
        CorrKey {
            kind: CorrKind::Status,
            talkgroup: 100_001,
            party,
            code: Some(7),
        }
    }

    #[test]
    fn each_console_matches_requests_in_order() {
        let mut c = Correlator::new(1_000);
        c.sent(status(1), "r1".into(), 0);
        c.sent(status(1), "r2".into(), 10);
        c.sent(status(2), "r3".into(), 20);
        assert_eq!(c.received(&status(1), "a", 30).as_deref(), Some("r1"));
        assert_eq!(c.received(&status(1), "b", 31).as_deref(), Some("r1"));
        assert_eq!(c.received(&status(1), "a", 32).as_deref(), Some("r2"));
        assert_eq!(c.received(&status(1), "a", 33), None, "nothing left for a");
        assert_eq!(c.received(&status(2), "a", 34).as_deref(), Some("r3"));
        let other = CorrKey {
            code: Some(8),
            ..status(1)
        };
        assert_eq!(
            c.received(&other, "c", 35),
            None,
            "another code is another key"
        );
    }

    #[test]
    fn requests_leave_after_the_window() {
        let mut c = Correlator::new(1_000);
        c.sent(status(1), "r1".into(), 0);
        c.sent(status(1), "r2".into(), 600);
        assert_eq!(c.len(), 2);
        // r1 is out of the window at 1_001; r2 is the oldest then.
        assert_eq!(c.received(&status(1), "a", 1_001).as_deref(), Some("r2"));
        assert_eq!(c.received(&status(1), "a", 1_700), None);
        assert!(c.is_empty());
    }
}
