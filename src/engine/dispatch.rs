//! The dispatch loop: walks the schedule and starts each action at its intended time.
//!
//! It runs on a thread of its own (tokio's blocking pool), not on the async runtime: a
//! thread's sleep ends within tens of microseconds of its deadline (the kernel's high-resolution
//! timers), where tokio's timer works in whole milliseconds and so adds up to a millisecond of
//! generator lateness to every action. The thread sleeps (it never spins) and hands each
//! action to the runtime as a task; the time that hand-over takes is part of the action's
//! lateness, as before.

use super::{Outcome, Shared, SkipReason, console_action, perform, stopped};
use crate::schedule::{Ownership, Schedule};
use state::Effects;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::{Semaphore, watch};

use super::state;

/// The longest single sleep: how soon a stop request is seen while waiting for an action.
const STOP_POLL: Duration = Duration::from_millis(20);

/// What the dispatch loop did.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Dispatched {
    /// This process's own actions in the schedule (all of them unless sharded).
    pub scheduled: u64,
    /// Actions whose request was started.
    pub sent: u64,
    /// The loop ended on a stop request.
    pub interrupted: bool,
    /// Intended time of the last action walked, µs from t=0.
    pub last_at_us: u64,
}

/// Sleeps until `until`; false when a stop was asked for first.
fn wait_until(until: Instant, stop: &watch::Receiver<bool>) -> bool {
    loop {
        if *stop.borrow() {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(STOP_POLL));
    }
}

/// Walks `schedule` on the calling thread (not a runtime worker): waits for each action's
/// intended time, then starts it on the runtime behind `handle`. Requests in flight are capped
/// by `slots`; a due action that finds them all taken waits for one (counted as throttled).
pub(super) fn walk(
    schedule: Schedule,
    shared: &Arc<Shared>,
    slots: &Arc<Semaphore>,
    stop: &watch::Receiver<bool>,
    handle: &Handle,
) -> Dispatched {
    let mut d = Dispatched::default();
    let gauges = shared.config.gauges.clone();
    let mut ownership = Ownership::new(shared.config.shard);
    for action in schedule {
        let own = ownership.owns(&action);
        if !own && console_action(&action.kind) {
            // Another shard's console: nothing of it happens here.
            continue;
        }
        if own {
            d.scheduled += 1;
        }
        // Deliveries of another shard's action are awaited here too.
        d.last_at_us = action.at_us;
        let intended = shared.start + Duration::from_micros(action.at_us);
        if !wait_until(intended, stop) {
            d.interrupted = true;
            break;
        }
        if !own {
            let mut fx = Effects::default();
            shared.world().shadow(&action, &mut fx);
            shared.apply(fx);
            continue;
        }
        gauges.add_due();
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                shared.emit(Outcome::Throttled);
                let mut stop = stop.clone();
                let slot = handle.block_on(async {
                    tokio::select! {
                        p = slots.clone().acquire_owned() => Some(p),
                        _ = stopped(&mut stop) => None,
                    }
                });
                match slot {
                    Some(Ok(p)) => p,
                    Some(Err(_)) => break,
                    None => {
                        d.interrupted = true;
                        break;
                    }
                }
            }
        };
        if !shared.target.supports(action.kind.op()) {
            shared.world().unsupported(&action);
            shared.emit(Outcome::Skipped {
                op: action.kind.op(),
                reason: SkipReason::Unsupported,
            });
            continue;
        }
        let mut fx = Effects::default();
        let prepared = shared.world().prepare(&action, &mut fx);
        shared.apply(fx);
        match prepared {
            Err(reason) => shared.emit(Outcome::Skipped {
                op: action.kind.op(),
                reason,
            }),
            Ok((request, completion)) => {
                d.sent += 1;
                gauges.add_sent();
                let shared = shared.clone();
                handle.spawn(async move {
                    perform(&shared, &action, intended, request, completion).await;
                    shared.config.gauges.add_done();
                    drop(permit);
                });
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_at_its_deadline_or_at_a_stop() {
        let (tx, rx) = watch::channel(false);
        let until = Instant::now() + Duration::from_millis(3);
        assert!(wait_until(until, &rx));
        assert!(Instant::now() >= until);
        tx.send_replace(true);
        let far = Instant::now() + Duration::from_secs(3600);
        assert!(!wait_until(far, &rx));
    }
}
