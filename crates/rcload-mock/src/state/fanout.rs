//! The fan-out of an event to the streams of the consoles that monitor its talkgroup, under
//! the overflow policy: each stream's bounded queue, the control lane, and what must wait.

use super::{Console, Counters, Frame, Inner, Pending, SLOW_CONSUMER, StreamTx, now_ms};
use crate::spec::Overflow;
use rcload_api::{Event, EventEnvelope};
use std::sync::Arc;
use tokio::sync::mpsc::error::TrySendError;

/// Offers frames to streams under an overflow policy, collecting what must wait (`delay`) and
/// counting what happens.
pub(super) struct Outbox<'a> {
    policy: Overflow,
    kick_after_drops: Option<u32>,
    pending: &'a mut Pending,
    counters: &'a mut Counters,
    /// `console.kicked {reason: "slow_consumer"}`, encoded once when first needed.
    kicked: Option<Frame>,
}

impl<'a> Outbox<'a> {
    pub(super) fn new(
        policy: Overflow,
        kick_after_drops: Option<u32>,
        pending: &'a mut Pending,
        counters: &'a mut Counters,
    ) -> Self {
        Self {
            policy,
            kick_after_drops,
            pending,
            counters,
            kicked: None,
        }
    }

    /// `console.kicked {reason: "slow_consumer"}`, encoded once.
    pub(super) fn kicked(&mut self) -> &Frame {
        self.kicked.get_or_insert_with(|| {
            encode(
                Event::ConsoleKicked {
                    reason: SLOW_CONSUMER.to_owned(),
                },
                now_ms(),
            )
            .unwrap_or_else(|| Frame::from(&b""[..]))
        })
    }

    /// Offers `frame` to each of `streams`: queued, or (full) handled by the policy. Streams
    /// that are gone or kicked are removed. Answers whether the frame overflowed some stream
    /// under `drop_talkgroups` (the caller then drops the event's talkgroup from the console).
    pub(super) fn offer_all(&mut self, streams: &mut Vec<StreamTx>, frame: &Frame) -> bool {
        let mut overflowed = false;
        streams.retain(|s| match s.tx.try_send(Arc::clone(frame)) {
            Ok(()) => {
                self.counters.fanned_out += 1;
                true
            }
            Err(TrySendError::Closed(_)) => false,
            Err(TrySendError::Full(f)) => match self.policy {
                Overflow::Delay => {
                    self.counters.fanned_out += 1;
                    self.pending.0.push((s.tx.clone(), f));
                    true
                }
                Overflow::Kick => {
                    self.counters.overflow_dropped += 1;
                    self.counters.kicks_slow_consumer += 1;
                    tracing::debug!(stream = s.id, "event stream queue full; kicking it");
                    s.send_control(self.kicked(), true);
                    false
                }
                Overflow::DropTalkgroups => {
                    self.counters.overflow_dropped += 1;
                    overflowed = true;
                    true
                }
            },
        });
        overflowed
    }

    /// Removes `talkgroup` from `c`'s set (the caller unindexes it) and announces it on the
    /// control lane of every stream of `c`.
    pub(super) fn drop_talkgroup(&mut self, c: &mut Console, talkgroup: u32) {
        if !c.monitored.remove(&talkgroup) {
            return;
        }
        c.blackholed.remove(&talkgroup);
        self.counters.drops_slow_consumer += 1;
        tracing::debug!(console = %c.name, talkgroup, "event stream queue full; dropping the talkgroup");
        let event = Event::TalkgroupDropped {
            talkgroup,
            reason: SLOW_CONSUMER.to_owned(),
        };
        if let Some(frame) = encode(event, now_ms()) {
            for s in &c.streams {
                s.send_control(&frame, false);
            }
        }
        c.slow_drops += 1;
        if self.kick_after_drops.is_some_and(|n| c.slow_drops >= n) && !c.streams.is_empty() {
            c.slow_drops = 0;
            self.counters.kicks_slow_consumer += 1;
            tracing::debug!(console = %c.name, "too many talkgroups lost; kicking the console");
            let kicked = self.kicked();
            for s in &c.streams {
                s.send_control(kicked, true);
            }
            c.streams.clear();
        }
    }
}

impl Inner {
    /// Sends the event made by `make` to every open stream of every console monitoring
    /// `talkgroup`, under the overflow policy. The event is built and serialized only if some
    /// stream will get it. Answers what must wait for room (`delay`).
    pub(super) fn fan_out(&mut self, talkgroup: u32, make: impl FnOnce() -> Event) -> Pending {
        let mut pending = Pending::default();
        let Inner {
            monitors,
            consoles,
            overflow,
            kick_after_drops,
            counters,
            ..
        } = self;
        let Some(keys) = monitors.get(&talkgroup) else {
            return pending;
        };
        let mut make = Some(make);
        let mut frame: Option<Frame> = None;
        let mut out = Outbox::new(*overflow, *kick_after_drops, &mut pending, counters);
        let mut dropped: Vec<u64> = Vec::new();
        for key in keys {
            let Some(c) = consoles.get_mut(key) else {
                continue;
            };
            if c.streams.is_empty()
                || (!c.blackholed.is_empty() && c.blackholed.contains(&talkgroup))
            {
                continue;
            }
            if frame.is_none() {
                frame = make.take().and_then(|m| encode(m(), now_ms()));
            }
            let Some(f) = &frame else {
                break; // serialization failed (cannot happen for these types); nothing to send
            };
            if out.offer_all(&mut c.streams, f) {
                out.drop_talkgroup(c, talkgroup);
                dropped.push(*key);
            }
        }
        for key in dropped {
            self.unmonitor(talkgroup, key);
        }
        pending
    }
}

/// Queues an announcement (fault `talkgroup.dropped` or `console.kicked`) on a stream, on the
/// control lane if the queue is full; answers whether to keep the stream (no, if gone).
pub(super) fn announce(stream: &StreamTx, frame: &Frame, close: bool) -> bool {
    match stream.tx.try_send(Arc::clone(frame)) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            stream.send_control(frame, close);
            true
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

/// Serializes one event into a shared frame: `event: <type>\ndata: <json>\n\n`.
pub(super) fn encode(event: Event, ts: u64) -> Option<Frame> {
    let name = event.type_name();
    let envelope = EventEnvelope { event, ts };
    let mut buf = Vec::with_capacity(192);
    buf.extend_from_slice(b"event: ");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\ndata: ");
    if let Err(e) = serde_json::to_writer(&mut buf, &envelope) {
        tracing::debug!(error = %e, "could not serialize event");
        return None;
    }
    buf.extend_from_slice(b"\n\n");
    Some(Frame::from(buf))
}
