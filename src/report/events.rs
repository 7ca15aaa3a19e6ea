//! `events.jsonl`: one JSON object a line for every drop, disconnect, missed delivery and
//! recovery, written as the run goes. Each batch goes to the file in one write, so the file is
//! valid JSON Lines at any moment; a crash loses at most the batch in hand.

use crate::detect::Finding;
use crate::engine::Outcome;
use crate::profile::Phase;
use crate::schedule::{Population, Schedule};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

/// One line of `events.jsonl`. Fields that do not apply are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLine {
    /// Seconds from the run's t=0.
    pub t_s: f64,
    /// Wall-clock time, RFC 3339 UTC.
    pub wall: String,
    pub phase: String,
    /// `talkgroup_drop`, `console_disconnect`, `missed_delivery`, `recovered`,
    /// `talkgroup_unexpected`.
    pub kind: String,
    /// Ties a `recovered` line to its drop or disconnect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<String>,
    /// The console's control room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talkgroup: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_after_s: Option<f64>,
    /// For a drop or disconnect: the last evidence that it still worked, seconds from t=0
    /// (its outage began after it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ok_s: Option<f64>,
    /// For a missed delivery: the event type that did not arrive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// For a missed delivery: it was a probe's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<bool>,
    /// In a merged run (`rcload merge`): the index of the shard whose process found it
    /// (`--shard I/N`'s I, from 0). A single run's lines have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u32>,
}

/// Writes `events.jsonl` from the outcome stream.
pub struct EventsWriter {
    file: File,
    phases: Vec<Phase>,
    pop: Population,
    started_at: SystemTime,
    pending: Vec<u8>,
}

fn secs(us: u64) -> f64 {
    (us as f64 / 1e3).round() / 1e3
}

impl EventsWriter {
    pub fn create(
        path: &Path,
        phases: Vec<Phase>,
        pop: Population,
        started_at: SystemTime,
    ) -> std::io::Result<Self> {
        Ok(EventsWriter {
            file: File::create(path)?,
            phases,
            pop,
            started_at,
            pending: Vec::new(),
        })
    }

    /// The room of console `c`, by id.
    fn room(&self, c: u32) -> Option<String> {
        self.pop
            .room_ids()
            .get(self.pop.console_room(c) as usize)
            .cloned()
    }

    fn line(&self, at_us: u64, kind: &str) -> EventLine {
        EventLine {
            t_s: secs(at_us),
            wall: super::wall::rfc3339_millis(super::wall::offset(self.started_at, at_us)),
            phase: self
                .phases
                .get(Schedule::phase_at(&self.phases, at_us))
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            kind: kind.to_string(),
            id: None,
            console: None,
            room: None,
            talkgroup: None,
            detected_by: None,
            reason: None,
            recovered_after_s: None,
            last_ok_s: None,
            event: None,
            probe: None,
            shard: None,
        }
    }

    /// Take one outcome; lines are kept until [`EventsWriter::flush`].
    pub fn consume(&mut self, o: &Outcome) {
        let line = match o {
            Outcome::Missed {
                event,
                console,
                talkgroup,
                at_us,
                probe,
                ..
            } => EventLine {
                console: Some(self.pop.console_id(*console)),
                room: self.room(*console),
                talkgroup: Some(*talkgroup),
                event: Some(event.name().to_string()),
                probe: probe.then_some(true),
                ..self.line(*at_us, "missed_delivery")
            },
            Outcome::Finding(f) => match f {
                Finding::TalkgroupDrop {
                    id,
                    console,
                    talkgroup,
                    detected_by,
                    at_us,
                    last_ok_us,
                } => EventLine {
                    id: Some(*id),
                    console: Some(self.pop.console_id(*console)),
                    room: self.room(*console),
                    talkgroup: Some(*talkgroup),
                    detected_by: Some(detected_by.name().to_string()),
                    last_ok_s: Some(secs(*last_ok_us)),
                    ..self.line(*at_us, "talkgroup_drop")
                },
                Finding::ConsoleDisconnect {
                    id,
                    console,
                    reason,
                    at_us,
                    last_ok_us,
                } => EventLine {
                    id: Some(*id),
                    console: Some(self.pop.console_id(*console)),
                    room: self.room(*console),
                    reason: Some(reason.clone()),
                    last_ok_s: Some(secs(*last_ok_us)),
                    ..self.line(*at_us, "console_disconnect")
                },
                Finding::TalkgroupUnexpected {
                    console,
                    talkgroup,
                    at_us,
                } => EventLine {
                    console: Some(self.pop.console_id(*console)),
                    room: self.room(*console),
                    talkgroup: Some(*talkgroup),
                    detected_by: Some("audit".into()),
                    ..self.line(*at_us, "talkgroup_unexpected")
                },
                Finding::Recovered {
                    id,
                    console,
                    talkgroup,
                    at_us,
                    after_us,
                } => EventLine {
                    id: Some(*id),
                    console: Some(self.pop.console_id(*console)),
                    room: self.room(*console),
                    talkgroup: *talkgroup,
                    recovered_after_s: Some(secs(*after_us)),
                    ..self.line(*at_us, "recovered")
                },
            },
            _ => return,
        };
        if let Ok(mut text) = serde_json::to_vec(&line) {
            text.push(b'\n');
            self.pending.extend_from_slice(&text);
        }
    }

    /// Write the lines taken so far, in one write.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let r = self.file.write_all(&self.pending);
        self.pending.clear();
        r
    }
}
