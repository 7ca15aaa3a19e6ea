//! Drop and disconnect detection: a pure state machine over what the engine observed.
//!
//! The engine reports observations (an announced drop, an audit's answer, a missed or
//! delivered event, a lost or restored stream, a successful re-attach); the detector decides
//! what is a finding, keeps the open ones, and says when one has recovered. No I/O, no clocks:
//! times are microseconds from the start of the run, passed in.

use std::collections::{BTreeMap, BTreeSet};

/// The prefix of a disconnect's reason when the console never had its stream open and its
/// talkgroups attached since it logged in (`never_connected: stream_open: timeout`): it
/// received nothing, so nothing it should have received was checked.
pub const NEVER_CONNECTED: &str = "never_connected";

/// The reason of a disconnect: `reason`, marked when the console was never connected.
pub fn disconnect_reason(reason: &str, ever_connected: bool) -> String {
    if ever_connected {
        reason.to_string()
    } else {
        format!("{NEVER_CONNECTED}: {reason}")
    }
}

/// How a talkgroup drop was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DetectedBy {
    /// A `talkgroup.dropped` event on the console's stream.
    Announced,
    /// The console's talkgroup list no longer had it.
    Audit,
    /// Consecutive expected events on it did not arrive.
    Delivery,
}

impl DetectedBy {
    pub fn name(&self) -> &'static str {
        match self {
            DetectedBy::Announced => "announced",
            DetectedBy::Audit => "audit",
            DetectedBy::Delivery => "delivery",
        }
    }
}

/// Something worth reporting. `id`s tie a later [`Finding::Recovered`] to its finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    TalkgroupDrop {
        id: u64,
        console: u32,
        talkgroup: u32,
        detected_by: DetectedBy,
        at_us: u64,
        /// The last evidence that it still worked (a delivery on it, an audit that listed it
        /// for a drop found by an audit or announced, its attach): the outage began after it.
        last_ok_us: u64,
    },
    /// An audit found a talkgroup the console had not attached.
    TalkgroupUnexpected {
        console: u32,
        talkgroup: u32,
        at_us: u64,
    },
    ConsoleDisconnect {
        id: u64,
        console: u32,
        reason: String,
        at_us: u64,
        /// The last evidence that its stream still worked (bytes on it, a delivery, its
        /// attach): the outage began after it.
        last_ok_us: u64,
    },
    Recovered {
        /// The drop's or disconnect's id.
        id: u64,
        console: u32,
        talkgroup: Option<u32>,
        at_us: u64,
        /// From the finding to its recovery.
        after_us: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Open {
    id: u64,
    at_us: u64,
}

/// The detector's state: consecutive misses and the findings not yet recovered.
#[derive(Debug, Default)]
pub struct Detector {
    missed_for_drop: u32,
    misses: BTreeMap<(u32, u32), u32>,
    drops: BTreeMap<(u32, u32), Open>,
    disconnects: BTreeMap<u32, Open>,
    /// Drops repaired by a re-attach whose `talkgroup.attached` has not yet come down the
    /// console's stream, with the time until which a `talkgroup.dropped` for them is taken
    /// as sent before the re-attach.
    unconfirmed: BTreeMap<(u32, u32), u64>,
    /// How long after a re-attach a `talkgroup.dropped` with no `talkgroup.attached` before
    /// it is still taken as old.
    stale_window_us: u64,
    next_id: u64,
    /// Per console and talkgroup: when an event on it last arrived, or it was last attached.
    delivered_at: BTreeMap<(u32, u32), u64>,
    /// Per console and talkgroup: when an audit last listed it.
    listed_at: BTreeMap<(u32, u32), u64>,
    /// Per console: when it was last ready (stream open, talkgroups attached).
    ready_at: BTreeMap<u32, u64>,
}

impl Detector {
    /// `missed_for_drop`: consecutive misses on one console and talkgroup that make a drop
    /// (0: misses never make a drop).
    pub fn new(missed_for_drop: u32) -> Self {
        Detector {
            missed_for_drop,
            ..Default::default()
        }
    }

    /// `window_us`: how long after a re-attach a `talkgroup.dropped` that came before the
    /// stream's `talkgroup.attached` is taken as sent before the re-attach. It matters only when
    /// no `talkgroup.attached` follows (the talkgroup had not left the system's set); it must
    /// outlast the stream's lag, which for a slow console can be many seconds.
    pub fn with_stale_window(mut self, window_us: u64) -> Self {
        self.stale_window_us = window_us;
        self
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Is a drop of `talkgroup` at `console` open (found, not yet recovered)?
    pub fn is_dropped(&self, console: u32, talkgroup: u32) -> bool {
        self.drops.contains_key(&(console, talkgroup))
    }

    /// Talkgroups of `console` with open drops.
    pub fn dropped_at(&self, console: u32) -> Vec<u32> {
        self.drops
            .range((console, 0)..=(console, u32::MAX))
            .map(|((_, t), _)| *t)
            .collect()
    }

    fn drop_found(
        &mut self,
        console: u32,
        talkgroup: u32,
        detected_by: DetectedBy,
        at_us: u64,
    ) -> Option<Finding> {
        if self.drops.contains_key(&(console, talkgroup)) {
            return None;
        }
        let id = self.id();
        self.drops.insert((console, talkgroup), Open { id, at_us });
        self.misses.remove(&(console, talkgroup));
        Some(Finding::TalkgroupDrop {
            id,
            console,
            talkgroup,
            detected_by,
            at_us,
            last_ok_us: self.last_ok(console, talkgroup, detected_by).min(at_us),
        })
    }

    /// The last evidence that `talkgroup` worked at `console`. A talkgroup whose events stop
    /// (a blackhole) can stay listed: for a drop found by missed deliveries only a delivery
    /// (or its attach) is evidence; otherwise an audit that listed it is too.
    fn last_ok(&self, console: u32, talkgroup: u32, detected_by: DetectedBy) -> u64 {
        let key = (console, talkgroup);
        let delivered = self.delivered_at.get(&key).copied();
        let listed = match detected_by {
            DetectedBy::Delivery => None,
            DetectedBy::Audit | DetectedBy::Announced => self.listed_at.get(&key).copied(),
        };
        let ready = self.ready_at.get(&console).copied();
        [delivered, listed, ready]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0)
    }

    /// `console` became ready at `at_us` with `talkgroups` attached: evidence that they work.
    pub fn ready(&mut self, console: u32, talkgroups: &[u32], at_us: u64) {
        self.ready_at.insert(console, at_us);
        for t in talkgroups {
            self.delivered_at.insert((console, *t), at_us);
        }
    }

    /// A `talkgroup.dropped` arrived. One that comes down the stream after an audit or missed
    /// deliveries found the drop and a re-attach repaired it, but before the stream's
    /// `talkgroup.attached` for that re-attach, was sent before the re-attach: it is the drop
    /// already found, not a new one (a stream keeps its order; requests and streams do not).
    pub fn announced_drop(&mut self, console: u32, talkgroup: u32, at_us: u64) -> Option<Finding> {
        match self.unconfirmed.get(&(console, talkgroup)) {
            Some(until) if at_us <= *until => return None,
            Some(_) => {
                self.unconfirmed.remove(&(console, talkgroup));
            }
            None => {}
        }
        self.drop_found(console, talkgroup, DetectedBy::Announced, at_us)
    }

    /// A `talkgroup.attached` arrived: from here on the stream's events are newer than the
    /// re-attach that caused it.
    pub fn attached_seen(&mut self, console: u32, talkgroup: u32) {
        self.unconfirmed.remove(&(console, talkgroup));
    }

    /// An audit listed `listed` for a console that should have `expected` attached.
    pub fn audit(
        &mut self,
        console: u32,
        expected: &[u32],
        listed: &[u32],
        at_us: u64,
    ) -> Vec<Finding> {
        let listed: BTreeSet<u32> = listed.iter().copied().collect();
        let expected_set: BTreeSet<u32> = expected.iter().copied().collect();
        for t in expected_set.intersection(&listed) {
            self.listed_at.insert((console, *t), at_us);
        }
        let mut out = Vec::new();
        for t in &expected_set {
            if !listed.contains(t)
                && let Some(f) = self.drop_found(console, *t, DetectedBy::Audit, at_us)
            {
                out.push(f);
            }
        }
        for t in listed.difference(&expected_set) {
            out.push(Finding::TalkgroupUnexpected {
                console,
                talkgroup: *t,
                at_us,
            });
        }
        out
    }

    /// An expected event did not arrive at `console` on `talkgroup` (found at `at_us`).
    /// Returns a drop when this miss completes a run of `missed_for_drop`.
    pub fn missed(&mut self, console: u32, talkgroup: u32, at_us: u64) -> Option<Finding> {
        if self.missed_for_drop == 0 || self.drops.contains_key(&(console, talkgroup)) {
            return None;
        }
        let n = self.misses.entry((console, talkgroup)).or_insert(0);
        *n += 1;
        if *n >= self.missed_for_drop {
            self.drop_found(console, talkgroup, DetectedBy::Delivery, at_us)
        } else {
            None
        }
    }

    /// An expected event arrived (at `at_us`): the run of misses is broken.
    pub fn delivered(&mut self, console: u32, talkgroup: u32, at_us: u64) {
        self.misses.remove(&(console, talkgroup));
        let last = self.delivered_at.entry((console, talkgroup)).or_insert(0);
        *last = (*last).max(at_us);
    }

    /// The console's stream was lost while it was logged in. `stream_ok_us`: when bytes last
    /// came on it (None: it did not open this time).
    pub fn disconnected(
        &mut self,
        console: u32,
        reason: &str,
        at_us: u64,
        stream_ok_us: Option<u64>,
    ) -> Option<Finding> {
        if self.disconnects.contains_key(&console) {
            return None;
        }
        let delivered = self
            .delivered_at
            .range((console, 0)..=(console, u32::MAX))
            .map(|(_, t)| *t)
            .max();
        let last_ok_us = [
            stream_ok_us,
            delivered,
            self.ready_at.get(&console).copied(),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
        .min(at_us);
        let id = self.id();
        self.disconnects.insert(console, Open { id, at_us });
        // Misses counted before the loss do not carry over into the new session, nor does
        // the order of the lost stream.
        self.misses.retain(|(c, _), _| *c != console);
        self.unconfirmed.retain(|(c, _), _| *c != console);
        Some(Finding::ConsoleDisconnect {
            id,
            console,
            reason: reason.to_string(),
            at_us,
            last_ok_us,
        })
    }

    /// The console's talkgroups `attached` were attached again successfully: open drops on
    /// them have recovered.
    pub fn reattached(&mut self, console: u32, attached: &[u32], at_us: u64) -> Vec<Finding> {
        let mut out = Vec::new();
        for t in attached {
            if let Some(o) = self.drops.remove(&(console, *t)) {
                self.unconfirmed
                    .insert((console, *t), at_us.saturating_add(self.stale_window_us));
                out.push(Finding::Recovered {
                    id: o.id,
                    console,
                    talkgroup: Some(*t),
                    at_us,
                    after_us: at_us.saturating_sub(o.at_us),
                });
            }
            self.misses.remove(&(console, *t));
            // Attached again: evidence that it works from here on.
            self.delivered_at.insert((console, *t), at_us);
        }
        out
    }

    /// The console has its stream back and its talkgroups attached.
    pub fn reconnected(&mut self, console: u32, at_us: u64) -> Option<Finding> {
        let o = self.disconnects.remove(&console)?;
        Some(Finding::Recovered {
            id: o.id,
            console,
            talkgroup: None,
            at_us,
            after_us: at_us.saturating_sub(o.at_us),
        })
    }

    /// The console was logged out by rcload: what was open at it can no longer recover and
    /// stays open (reported with `recovered_after_s: null`); nothing more is counted for it.
    pub fn logged_out(&mut self, console: u32) {
        self.misses.retain(|(c, _), _| *c != console);
        self.unconfirmed.retain(|(c, _), _| *c != console);
        self.delivered_at.retain(|(c, _), _| *c != console);
        self.listed_at.retain(|(c, _), _| *c != console);
        self.ready_at.remove(&console);
    }
}

#[cfg(test)]
mod tests;
