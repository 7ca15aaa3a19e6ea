//! From the model's SSE bytes to vendor-x messages: a splitter of SSE frames across chunks,
//! and the translation of each API v1 event into the vendor's JSON (its type names and field
//! names, and no `ref`). Pure.

use rcload_api::{Event, EventEnvelope};
use serde_json::{Value, json};

/// What the SSE bytes hold, one item at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// A vendor message (JSON text).
    Message(String),
    /// A keep-alive (`: ping`).
    Ping,
}

/// Splits SSE bytes into frames; a frame may be split across chunks.
#[derive(Debug, Default)]
pub(crate) struct Splitter {
    buf: Vec<u8>,
}

impl Splitter {
    /// Feed a chunk; returns the items of the frames it completes.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Item> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
            let frame: Vec<u8> = self.buf.drain(..end + 2).collect();
            if let Some(item) = item_of(&frame[..end]) {
                out.push(item);
            }
        }
        out
    }
}

/// One frame (without its blank line): a comment, or an event's `data:`.
fn item_of(frame: &[u8]) -> Option<Item> {
    let text = std::str::from_utf8(frame).ok()?;
    let mut data = String::new();
    for line in text.lines() {
        if let Some(c) = line.strip_prefix(':') {
            if c.trim() == "ping" {
                return Some(Item::Ping);
            }
            continue;
        }
        if let Some(d) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(d.strip_prefix(' ').unwrap_or(d));
        }
    }
    if data.is_empty() {
        return None;
    }
    let env: EventEnvelope = serde_json::from_str(&data).ok()?;
    Some(Item::Message(message(&env.event, env.ts).to_string()))
}

/// The vendor-x message of an event.
pub(crate) fn message(event: &Event, ts: u64) -> Value {
    let (ty, payload) = match event {
        Event::TalkgroupAttached { talkgroup } => ("GROUP_ATTACHED", json!({"gssi": talkgroup})),
        Event::TalkgroupDropped { talkgroup, reason } => (
            "GROUP_DETACHED",
            json!({"gssi": talkgroup, "cause": reason}),
        ),
        Event::CallStarted {
            call,
            talkgroup,
            caller,
            ..
        } => (
            "CALL_SETUP",
            json!({"callId": call, "gssi": talkgroup, "callingSsi": caller, "priority": "NORMAL"}),
        ),
        Event::EmergencyAlert {
            call,
            talkgroup,
            caller,
            ..
        } => (
            "EMERGENCY_ALARM",
            json!({"callId": call, "gssi": talkgroup, "callingSsi": caller}),
        ),
        Event::CallEnded { call, talkgroup } => {
            ("CALL_RELEASE", json!({"callId": call, "gssi": talkgroup}))
        }
        Event::Status {
            issi,
            talkgroup,
            code,
            ..
        } => (
            "STATUS_MSG",
            json!({"ssi": issi, "gssi": talkgroup, "statusValue": code}),
        ),
        Event::TerminalRegistered { issi, talkgroup } => {
            ("RADIO_ONLINE", json!({"ssi": issi, "gssi": talkgroup}))
        }
        Event::TerminalDeregistered { issi, talkgroup } => {
            ("RADIO_OFFLINE", json!({"ssi": issi, "gssi": talkgroup}))
        }
        Event::ConsoleKicked { reason } => ("SESSION_TERMINATED", json!({"cause": reason})),
    };
    json!({"msgType": ty, "timestamp": ts, "payload": payload})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_chunks_become_messages() {
        let mut s = Splitter::default();
        let frame = b"event: status\nid: 4\ndata: {\"type\":\"status\",\"issi\":1000001,\"talkgroup\":100001,\"code\":7,\"ref\":\"r9\",\"ts\":5}\n\n";
        assert_eq!(s.push(b": ok\n\n"), vec![]);
        let (a, b) = frame.split_at(30);
        assert!(s.push(a).is_empty());
        let items = s.push(&[b, b": ping\n\n".as_slice()].concat());
        assert_eq!(items.len(), 2);
        let Item::Message(m) = &items[0] else {
            panic!("{items:?}")
        };
        let v: Value = serde_json::from_str(m).unwrap();
        assert_eq!(
            v,
            json!({"msgType": "STATUS_MSG", "timestamp": 5, "payload": {"ssi": 1000001, "gssi": 100001, "statusValue": 7}})
        );
        assert!(!m.contains("r9"), "no reference is echoed: {m}");
        assert_eq!(items[1], Item::Ping);
    }

    #[test]
    fn every_event_has_a_vendor_type() {
        let kicked = message(
            &Event::ConsoleKicked {
                reason: "fault".into(),
            },
            1,
        );
        assert_eq!(kicked["msgType"], "SESSION_TERMINATED");
        let setup = message(
            &Event::CallStarted {
                call: "c-1".into(),
                kind: rcload_api::CallKind::Group,
                talkgroup: 2,
                caller: 3,
                reference: "r1".into(),
            },
            1,
        );
        assert_eq!(setup["payload"]["callId"], "c-1");
        assert_eq!(setup["payload"]["callingSsi"], 3);
        assert!(setup["payload"].get("ref").is_none());
    }
}
