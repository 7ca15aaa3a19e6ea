//! A console's session after login: open its event stream, attach its talkgroups, and read
//! events until the stream ends, matching each against the expected deliveries.

use super::deliveries::Key;
use super::state::{ConsolePhase, parse_reference};
use super::{Outcome, Shared, micros};
use crate::api::Event;
use crate::schedule::Op;
use crate::target::{EventStream, Received, Request};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Instant;

/// Open the stream, then attach the console's talkgroups (measured as `console.attach`).
pub(super) async fn start_session(shared: Arc<Shared>, console: u32, epoch: u64, phase: usize) {
    let (id, talkgroups) = {
        let w = shared.world();
        (w.pop.console_id(console), w.pop.monitored(console))
    };
    let issued = Instant::now();
    let opened = shared.target.open_stream(&id).await;
    let stream = match opened {
        Ok(s) => s,
        Err(e) => {
            // Without a stream the console cannot attach: count it against the attach.
            record_attach(&shared, phase, issued, issued, Some(e.class()));
            shared.world().stream_lost(console, epoch);
            shared.emit(Outcome::StreamLost {
                console,
                at_us: shared.now_us(),
                reason: format!("stream_open: {}", e.class().name()),
            });
            return;
        }
    };
    {
        let mut w = shared.world();
        if !w.in_session(console, epoch) {
            return; // logged out meanwhile; dropping the stream closes it
        }
        let reader = tokio::spawn(read(shared.clone(), console, epoch, stream));
        if let Some(old) = w.consoles[console as usize]
            .stream
            .replace(reader.abort_handle())
        {
            old.abort();
        }
    }
    let sent = Instant::now();
    let result = shared
        .target
        .perform(Request::Attach {
            console: id,
            talkgroups,
        })
        .await;
    record_attach(
        &shared,
        phase,
        issued,
        sent,
        result.as_ref().err().map(|e| e.class()),
    );
    if result.is_ok() {
        let mut w = shared.world();
        if w.in_session(console, epoch) {
            w.consoles[console as usize].phase = ConsolePhase::On { ready: true };
        }
    }
}

fn record_attach(
    shared: &Shared,
    phase: usize,
    issued: Instant,
    sent: Instant,
    error: Option<crate::target::ErrorClass>,
) {
    let done = Instant::now();
    shared.emit(Outcome::Op {
        op: Op::ConsoleAttach,
        phase,
        intended_us: shared.us_at(issued),
        lateness_us: 0,
        latency_us: micros(done.saturating_duration_since(issued)),
        service_us: micros(done.saturating_duration_since(sent)),
        error,
    });
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

async fn read(shared: Arc<Shared>, console: u32, epoch: u64, mut stream: EventStream) {
    let reason = loop {
        match stream.next().await {
            Some(Ok(Received { event, at, .. })) => {
                if let Event::ConsoleKicked { reason } = &event {
                    break format!("kicked: {reason}");
                }
                if let Some(key) = key_of(&event) {
                    let at_us = shared.us_at(at);
                    let got = shared.world().deliveries.receive(&key, console, at_us);
                    if let Some(r) = got {
                        shared.emit_resolved(vec![r]);
                    }
                }
            }
            Some(Err(e)) => break format!("stream_error: {}", e.class().name()),
            None => break "stream_end".to_string(),
        }
    };
    let lost = {
        let mut w = shared.world();
        let lost = w.in_session(console, epoch);
        w.stream_lost(console, epoch);
        lost
    };
    if lost {
        tracing::warn!(console, %reason, "console event stream lost");
        shared.emit(Outcome::StreamLost {
            console,
            at_us: shared.now_us(),
            reason,
        });
    }
}
