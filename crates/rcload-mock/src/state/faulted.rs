//! What the faults of `faults.rs` do to the model: a talkgroup dropped, silently dropped or
//! blackholed at a console, and a console kicked.

use super::fanout::{announce, encode};
use super::{Inner, MockState, TalkgroupFault, now_ms};
use crate::fault_spec::FAULT_REASON;
use rcload_api::Event;

impl MockState {
    /// The logged-in consoles with their monitored sets, sorted by id (what faults choose
    /// from).
    pub(crate) fn fault_candidates(&self) -> Vec<(String, Vec<u32>)> {
        let inner = self.lock();
        let mut out: Vec<(String, Vec<u32>)> = inner
            .consoles
            .values()
            .map(|c| (c.name.clone(), c.monitored.iter().copied().collect()))
            .collect();
        drop(inner);
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Applies `fault` to `talkgroup` of `console`; answers whether it changed anything (false
    /// if the console is not logged in, does not monitor the talkgroup, or already has it
    /// blackholed).
    pub(crate) fn fault_talkgroup(
        &self,
        console: &str,
        talkgroup: u32,
        fault: TalkgroupFault,
    ) -> bool {
        let mut inner = self.lock();
        let Some(&key) = inner.names.get(console) else {
            return false;
        };
        let Inner {
            consoles, counters, ..
        } = &mut *inner;
        let Some(c) = consoles.get_mut(&key) else {
            return false; // names and consoles are kept in step
        };
        if !c.monitored.contains(&talkgroup) {
            return false;
        }
        match fault {
            TalkgroupFault::Blackhole => c.blackholed.insert(talkgroup),
            TalkgroupFault::Drop | TalkgroupFault::SilentDrop => {
                c.monitored.remove(&talkgroup);
                c.blackholed.remove(&talkgroup);
                counters.drops_fault += 1;
                if fault == TalkgroupFault::Drop
                    && !c.streams.is_empty()
                    && let Some(frame) = encode(
                        Event::TalkgroupDropped {
                            talkgroup,
                            reason: FAULT_REASON.to_owned(),
                        },
                        now_ms(),
                    )
                {
                    c.streams.retain(|s| announce(s, &frame, false));
                }
                inner.unmonitor(talkgroup, key);
                true
            }
        }
    }

    /// Sends `console.kicked {reason}` on the streams of `console` and closes them (they end
    /// after the events already queued; a full queue is bypassed); the console stays logged
    /// in. Answers whether the console is logged in.
    pub(crate) fn kick(&self, console: &str, reason: &str) -> bool {
        let streams = {
            let mut inner = self.lock();
            let Some(&key) = inner.names.get(console) else {
                return false;
            };
            let Inner {
                consoles, counters, ..
            } = &mut *inner;
            let Some(c) = consoles.get_mut(&key) else {
                return false; // names and consoles are kept in step
            };
            let streams = std::mem::take(&mut c.streams);
            counters.kicks_fault += streams.len() as u64;
            if !streams.is_empty()
                && let Some(frame) = encode(
                    Event::ConsoleKicked {
                        reason: reason.to_owned(),
                    },
                    now_ms(),
                )
            {
                for s in &streams {
                    announce(s, &frame, true);
                }
            }
            streams
        };
        // The senders (and so the streams) are dropped here, outside the lock.
        drop(streams);
        true
    }
}
