//! The end of a run on the target: what the run left open (calls, registrations, logins) is
//! ended, in the `teardown` phase, within a bounded time, so that the next run starts clean.

use super::state::Effects;
use super::{Shared, perform};
use crate::schedule::{Action, ActionKind};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Teardown requests in flight at once: enough to end a C2000-sized population in seconds,
/// few enough that a system just out of the load is not flooded (20,000 deregistrations sent
/// at once left a third of them timed out against the built-in mock).
const AT_ONCE: usize = 64;

/// How the engine ends a run on the target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TeardownConfig {
    /// The whole teardown's bound.
    pub timeout: Duration,
    /// The index of the `teardown` phase its requests are recorded under.
    pub phase: usize,
}

/// What the teardown did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeardownReport {
    /// Requests sent (calls ended, terminals deregistered, consoles logged out).
    pub sent: u64,
    /// Entities still open by rcload's view when it ended (their request failed, or the
    /// timeout came first): calls, terminals, consoles.
    pub left: Left,
    /// The timeout came before every request was answered.
    pub timed_out: bool,
}

/// Entities left open on the target, by rcload's view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Left {
    pub calls: u64,
    pub terminals: u64,
    pub consoles: u64,
}

impl Left {
    pub fn of(actions: &[ActionKind]) -> Left {
        let mut l = Left::default();
        for a in actions {
            match a {
                ActionKind::CallEnd { .. } => l.calls += 1,
                ActionKind::Deregister { .. } => l.terminals += 1,
                ActionKind::Logout { .. } => l.consoles += 1,
                _ => {}
            }
        }
        l
    }

    pub fn is_empty(&self) -> bool {
        *self == Left::default()
    }
}

/// End calls, then registrations, then logins (each step's requests [`AT_ONCE`] at a time),
/// all within `cfg.timeout`. Requests carry the teardown phase; what the
/// state says they would deliver is not expected (the consoles' streams are closed first).
pub(super) async fn run(shared: &Arc<Shared>, cfg: TeardownConfig) -> TeardownReport {
    let deadline = Instant::now() + cfg.timeout;
    let slots = Arc::new(Semaphore::new(AT_ONCE));
    let mut report = TeardownReport::default();
    let mut seq = u64::MAX / 2;
    for step in 0..3 {
        let kinds: Vec<ActionKind> = shared
            .world()
            .leftovers()
            .into_iter()
            .filter(|k| step_of(k) == step)
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for kind in kinds {
            seq += 1;
            let action = Action {
                at_us: shared.now_us(),
                seq,
                phase: cfg.phase,
                kind,
            };
            let mut fx = Effects::default();
            let prepared = shared.world().prepare(&action, &mut fx);
            shared.apply_outcomes(fx);
            let Ok((request, completion)) = prepared else {
                continue;
            };
            report.sent += 1;
            let shared = shared.clone();
            let slots = slots.clone();
            tasks.spawn(async move {
                let Ok(_permit) = slots.acquire_owned().await else {
                    return;
                };
                perform(&shared, &action, Instant::now(), request, completion).await;
            });
        }
        let all = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout_at(deadline.into(), all).await.is_err() {
            tasks.abort_all();
            report.timed_out = true;
            break;
        }
    }
    let mut w = shared.world();
    w.deliveries.clear();
    report.left = Left::of(&w.leftovers());
    report
}

fn step_of(kind: &ActionKind) -> u8 {
    match kind {
        ActionKind::CallEnd { .. } => 0,
        ActionKind::Deregister { .. } => 1,
        _ => 2,
    }
}
