//! A console's session after login: open its event stream, attach its talkgroups, read events
//! and match them against expected deliveries; when the stream is lost, reconnect with backoff
//! (logging in again if the system says the console is not logged in). Also the re-attach of
//! dropped talkgroups.

use super::deliveries::Key;
use super::state::Effects;
use super::{ConsoleChecks, Outcome, Shared, micros};
use crate::targets::{EventStream, Received, Request, TargetError};
use futures::StreamExt;
use rcload_api::Op;
use rcload_api::mix::splitmix64;
use rcload_api::reference::parse_reference;
use rcload_api::{Event, codes};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wait before reconnect attempt `attempt` (0-based): exponential, bounded, with jitter.
pub fn backoff(c: &ConsoleChecks, console: u32, attempt: u32, seed: u64) -> Duration {
    let base = c
        .reconnect_initial
        .saturating_mul(1u32 << attempt.min(20))
        .min(c.reconnect_max);
    let r =
        splitmix64(seed ^ (u64::from(console) << 32) ^ u64::from(attempt)) as f64 / u64::MAX as f64;
    base.mul_f64(1.0 - c.reconnect_jitter * r)
}

/// Record a request the engine made on its own (not scheduled): no lateness.
fn record(shared: &Shared, op: Op, phase: usize, sent: Instant, error: Option<&TargetError>) {
    let done = Instant::now();
    let took = micros(done.saturating_duration_since(sent));
    shared.emit(Outcome::Op {
        op,
        phase,
        intended_us: shared.us_at(sent),
        lateness_us: None,
        latency_us: took,
        service_us: took,
        error: error.map(|e| e.class()),
        probe: false,
    });
}

/// Attach `talkgroups` to console `id` (a full replacement of its set), measured as
/// `console.attach`.
async fn attach(
    shared: &Shared,
    id: String,
    talkgroups: Vec<u32>,
    phase: usize,
) -> Result<crate::targets::Reply, TargetError> {
    let sent = Instant::now();
    let result = shared
        .target
        .perform(Request::Attach {
            console: id,
            talkgroups,
        })
        .await;
    record(
        shared,
        Op::ConsoleAttach,
        phase,
        sent,
        result.as_ref().err(),
    );
    result
}

/// The phase the run is in now.
pub(super) fn phase_now(shared: &Shared) -> usize {
    crate::schedule::Schedule::phase_at(&shared.phases, shared.now_us())
}

/// The session of console `console` from its login (session `epoch`) until it is logged out
/// or the run ends (then the task is aborted).
pub(super) async fn session(shared: Arc<Shared>, console: u32, epoch: u64, login_phase: usize) {
    let (id, talkgroups) = {
        let w = shared.world();
        (w.pop.console_id(console), w.pop.monitored(console))
    };
    let checks = shared.config.checks.clone();
    let mut attempt: u32 = 0;
    let mut first = true;
    let mut ever_connected = false;
    loop {
        if !shared.world().in_session(console, epoch) {
            return;
        }
        let phase = if first {
            login_phase
        } else {
            phase_now(&shared)
        };
        let opened = shared.target.open_stream(&id).await;
        // When bytes last came on the stream (None: it did not open, or was never read).
        let mut stream_ok_us = None;
        let reason = match opened {
            Ok(stream) => {
                let result = attach(&shared, id.clone(), talkgroups.clone(), phase).await;
                match result {
                    Ok(_) => {
                        let mut fx = Effects::default();
                        shared
                            .world()
                            .session_ready(console, epoch, shared.now_us(), &mut fx);
                        shared.apply(fx);
                        attempt = 0;
                        ever_connected = true;
                        let (reason, last_bytes_us) =
                            read(&shared, console, epoch, stream, &checks).await;
                        stream_ok_us = Some(last_bytes_us);
                        reason
                    }
                    Err(e) => format!("attach: {}", e.class().name()),
                }
            }
            Err(e) => {
                if first {
                    // Without a stream the console cannot attach: count it against the attach.
                    record(&shared, Op::ConsoleAttach, phase, Instant::now(), Some(&e));
                }
                if e.code() == Some(codes::NOT_LOGGED_IN) {
                    relogin(&shared, console, &id, phase).await;
                }
                format!("stream_open: {}", e.class().name())
            }
        };
        first = false;
        let reason = crate::detect::disconnect_reason(&reason, ever_connected);
        let mut fx = Effects::default();
        shared.world().stream_lost(
            console,
            epoch,
            &reason,
            shared.now_us(),
            stream_ok_us,
            &mut fx,
        );
        if !fx.outcomes.is_empty() {
            tracing::debug!(console = %id, %reason, "console event stream lost");
        }
        shared.apply(fx);
        tokio::time::sleep(backoff(&checks, console, attempt, shared.config.seed)).await;
        attempt = attempt.saturating_add(1);
    }
}

/// The system says the console is not logged in (it lost the session): log in again.
async fn relogin(shared: &Arc<Shared>, console: u32, id: &str, phase: usize) {
    let operator = shared.world().pop.operator_name(console, 0);
    let sent = Instant::now();
    let result = shared
        .target
        .perform(Request::Login {
            console: id.to_string(),
            operator,
        })
        .await;
    // "Already logged in" means the session is there after all: fine for reconnecting.
    let err = result
        .as_ref()
        .err()
        .filter(|e| e.code() != Some(codes::ALREADY_LOGGED_IN));
    record(shared, Op::ConsoleLogin, phase, sent, err);
}

fn key_of(event: &Event) -> Option<Key> {
    match event {
        Event::Status { reference, .. }
        | Event::CallStarted { reference, .. }
        | Event::EmergencyAlert { reference, .. } => parse_reference(reference).map(Key::Ref),
        Event::TerminalRegistered { issi, .. } => Some(Key::Registered(*issi)),
        Event::TerminalDeregistered { issi, .. } => Some(Key::Deregistered(*issi)),
        Event::CallEnded { call, .. } => Some(Key::Ended(call.clone())),
        _ => None,
    }
}

/// The id of the call an event says started.
fn started_call(event: &Event) -> Option<&str> {
    match event {
        Event::CallStarted { call, .. } | Event::EmergencyAlert { call, .. } => Some(call),
        _ => None,
    }
}

/// Read events until the stream is lost; returns why, and when bytes last came on it.
async fn read(
    shared: &Arc<Shared>,
    console: u32,
    epoch: u64,
    mut stream: EventStream,
    checks: &ConsoleChecks,
) -> (String, u64) {
    let reason = read_until_lost(shared, console, epoch, &mut stream, checks).await;
    let last_bytes = Instant::now()
        .checked_sub(stream.idle())
        .unwrap_or(shared.start);
    (reason, shared.us_at(last_bytes))
}

async fn read_until_lost(
    shared: &Arc<Shared>,
    console: u32,
    epoch: u64,
    stream: &mut EventStream,
    checks: &ConsoleChecks,
) -> String {
    let idle = checks.stream_idle_timeout;
    let tick = (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        let item = tokio::select! {
            item = stream.events.next() => item,
            _ = tokio::time::sleep(tick) => {
                if !idle.is_zero() && stream.idle() > idle {
                    return "heartbeat_timeout".to_string();
                }
                continue;
            }
        };
        match item {
            Some(Ok(Received { event, at, .. })) => match &event {
                Event::ConsoleKicked { reason } => return format!("kicked: {reason}"),
                Event::TalkgroupDropped { talkgroup, .. } => {
                    let mut fx = Effects::default();
                    shared.world().announced_drop(
                        console,
                        epoch,
                        *talkgroup,
                        shared.us_at(at),
                        &mut fx,
                    );
                    shared.apply(fx);
                }
                Event::TalkgroupAttached { talkgroup } => {
                    shared.world().attached_seen(console, epoch, *talkgroup);
                }
                _ => {
                    if let Some(key) = key_of(&event) {
                        let at_us = shared.us_at(at);
                        let mut w = shared.world();
                        if let (Key::Ref(seq), Some(id)) = (&key, started_call(&event)) {
                            w.learn_call(*seq, id, at_us);
                        }
                        if let Some(r) = w.deliveries.receive(&key, console, at_us) {
                            let mut fx = Effects::default();
                            w.resolve(vec![r], &mut fx);
                            drop(w);
                            shared.apply(fx);
                        }
                    }
                }
            },
            Some(Err(e)) => return format!("stream_error: {}", e.class().name()),
            None => return "stream_end".to_string(),
        }
    }
}

/// Attach console `console`'s talkgroups again after a drop (measured as `console.attach`).
pub(super) async fn reattach(shared: Arc<Shared>, console: u32, epoch: u64) {
    let Some((id, talkgroups)) = shared.world().reattach_begin(console, epoch) else {
        return;
    };
    let result = attach(&shared, id, talkgroups, phase_now(&shared)).await;
    let mut fx = Effects::default();
    shared
        .world()
        .reattach_end(console, epoch, result.is_ok(), shared.now_us(), &mut fx);
    shared.apply(fx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_bound_with_jitter() {
        let c = ConsoleChecks {
            reconnect_initial: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(2),
            reconnect_jitter: 0.2,
            ..ConsoleChecks::default()
        };
        let waits: Vec<Duration> = (0..8).map(|a| backoff(&c, 3, a, 1)).collect();
        assert!(waits[0] <= Duration::from_millis(100) && waits[0] >= Duration::from_millis(80));
        assert!(waits[3] <= Duration::from_millis(800) && waits[3] >= Duration::from_millis(640));
        assert!(waits[7] <= Duration::from_secs(2) && waits[7] >= Duration::from_millis(1600));
        assert_eq!(backoff(&c, 3, 2, 1), backoff(&c, 3, 2, 1));
    }
}
