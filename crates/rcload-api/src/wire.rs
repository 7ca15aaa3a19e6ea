//! Radio-control API v1: the wire types of the contract in `docs/api.md`.
//!
//! The one place the contract's shapes live in code: the mock (`rcload-mock`) serves them and
//! the generator's HTTP driver (`rcload::targets::http`) sends and parses them.

use serde::{Deserialize, Serialize};

/// The largest valid ISSI or GSSI (24-bit).
pub const MAX_ID: u32 = 16_777_215;

/// Is `id` a valid console id (`[A-Za-z0-9._-]{1,64}`)?
pub fn valid_console_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Is `id` a valid ISSI or talkgroup (GSSI): 1..=16777215?
pub fn valid_tetra_id(id: u64) -> bool {
    (1..=MAX_ID as u64).contains(&id)
}

/// Error codes of the contract (`{"error": code, "message": text}`).
pub mod codes {
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const BAD_REQUEST: &str = "bad_request";
    pub const NOT_FOUND: &str = "not_found";
    pub const ALREADY_LOGGED_IN: &str = "already_logged_in";
    pub const NOT_LOGGED_IN: &str = "not_logged_in";
    pub const NOT_REGISTERED: &str = "not_registered";
    pub const INTERNAL: &str = "internal";
    pub const OVERLOADED: &str = "overloaded";
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

/// `POST /v1/consoles/{id}/login` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub operator: String,
}

/// `POST /v1/consoles/{id}/login` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    pub console: String,
    pub operator: String,
    pub session: String,
}

/// `PUT`/`GET /v1/consoles/{id}/talkgroups` body and answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Talkgroups {
    pub talkgroups: Vec<u32>,
}

/// `POST /v1/terminals/{issi}/register` and `/affiliate` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkgroupRequest {
    pub talkgroup: u32,
}

/// `POST /v1/terminals/{issi}/register` and `/affiliate` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalResponse {
    pub issi: u32,
    pub talkgroup: u32,
}

/// `POST /v1/terminals/{issi}/status` request. `code` is a 16-bit status code (0 = emergency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRequest {
    pub code: u16,
    #[serde(rename = "ref")]
    pub reference: String,
}

/// Kind of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallKind {
    Group,
    Emergency,
}

/// `POST /v1/calls` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRequest {
    pub kind: CallKind,
    pub talkgroup: u32,
    pub caller: u32,
    #[serde(rename = "ref")]
    pub reference: String,
}

/// `POST /v1/calls` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallResponse {
    pub call: String,
}

/// One event on a console's stream (`data:` of an SSE message, without `ts`).
/// The SSE `event:` field carries the same name as `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "talkgroup.attached")]
    TalkgroupAttached { talkgroup: u32 },
    #[serde(rename = "talkgroup.dropped")]
    TalkgroupDropped { talkgroup: u32, reason: String },
    #[serde(rename = "call.started")]
    CallStarted {
        call: String,
        kind: CallKind,
        talkgroup: u32,
        caller: u32,
        #[serde(rename = "ref")]
        reference: String,
    },
    #[serde(rename = "emergency.alert")]
    EmergencyAlert {
        call: String,
        talkgroup: u32,
        caller: u32,
        #[serde(rename = "ref")]
        reference: String,
    },
    #[serde(rename = "call.ended")]
    CallEnded { call: String, talkgroup: u32 },
    #[serde(rename = "status")]
    Status {
        issi: u32,
        talkgroup: u32,
        code: u16,
        #[serde(rename = "ref")]
        reference: String,
    },
    #[serde(rename = "terminal.registered")]
    TerminalRegistered { issi: u32, talkgroup: u32 },
    #[serde(rename = "terminal.deregistered")]
    TerminalDeregistered { issi: u32, talkgroup: u32 },
    #[serde(rename = "console.kicked")]
    ConsoleKicked { reason: String },
}

impl Event {
    /// The event's type name, as in the SSE `event:` field and the JSON `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::TalkgroupAttached { .. } => "talkgroup.attached",
            Event::TalkgroupDropped { .. } => "talkgroup.dropped",
            Event::CallStarted { .. } => "call.started",
            Event::EmergencyAlert { .. } => "emergency.alert",
            Event::CallEnded { .. } => "call.ended",
            Event::Status { .. } => "status",
            Event::TerminalRegistered { .. } => "terminal.registered",
            Event::TerminalDeregistered { .. } => "terminal.deregistered",
            Event::ConsoleKicked { .. } => "console.kicked",
        }
    }

    /// The talkgroup the event concerns, if any (decides which consoles get it).
    pub fn talkgroup(&self) -> Option<u32> {
        match self {
            Event::TalkgroupAttached { talkgroup }
            | Event::TalkgroupDropped { talkgroup, .. }
            | Event::CallStarted { talkgroup, .. }
            | Event::EmergencyAlert { talkgroup, .. }
            | Event::CallEnded { talkgroup, .. }
            | Event::Status { talkgroup, .. }
            | Event::TerminalRegistered { talkgroup, .. }
            | Event::TerminalDeregistered { talkgroup, .. } => Some(*talkgroup),
            Event::ConsoleKicked { .. } => None,
        }
    }
}

/// An event as sent in an SSE `data:` line: the event plus `ts`, the server's time in unix ms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEnvelope {
    #[serde(flatten)]
    pub event: Event,
    /// Server time when the event was produced, unix milliseconds.
    pub ts: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_with_type_and_ts() {
        let env = EventEnvelope {
            event: Event::Status {
                issi: 1_000_001,
                talkgroup: 100_001,
                code: 7,
                reference: "r42".into(),
            },
            ts: 1_700_000_000_000,
        };
        let json = serde_json::to_string(&env).unwrap();
        assert!(json.contains(r#""type":"status""#), "{json}");
        assert!(json.contains(r#""ref":"r42""#), "{json}");
        assert!(json.contains(r#""ts":1700000000000"#), "{json}");
        let back: EventEnvelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn ids_are_validated() {
        assert!(valid_console_id("room01-con.07_a"));
        assert!(!valid_console_id(""));
        assert!(!valid_console_id("a/b"));
        assert!(!valid_console_id(&"x".repeat(65)));
        assert!(valid_tetra_id(1));
        assert!(valid_tetra_id(16_777_215));
        assert!(!valid_tetra_id(0));
        assert!(!valid_tetra_id(16_777_216));
    }
}
