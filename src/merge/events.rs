//! `events.jsonl` of a sharded run: the shards' lines in one file, in time order, each naming
//! its shard. Each shard numbers its drops and disconnects from 1, so the ids are numbered
//! again, from 1 in the merged order, every `recovered` line keeping the id of its own drop or
//! disconnect.

use crate::report::ReportError;
use crate::report::events::EventLine;
use crate::report::rundir::{EVENTS, read_events};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The kind of line that ends a drop or disconnect, tied to it by `id`.
const RECOVERED: &str = "recovered";

/// What [`merge_events`] wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventsMerged {
    /// Lines written.
    pub lines: usize,
    /// Lines by kind (`talkgroup_drop`, `console_disconnect`, `missed_delivery`, `recovered`,
    /// `talkgroup_unexpected`).
    pub by_kind: BTreeMap<String, usize>,
    /// `recovered` lines whose drop or disconnect is not in their shard's file (it was lost
    /// with a cut line): kept, with an id of their own.
    pub orphan_recoveries: usize,
}

impl fmt::Display for EventsMerged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} events", self.lines)?;
        let kinds: Vec<String> = self
            .by_kind
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        if !kinds.is_empty() {
            write!(f, " ({})", kinds.join(", "))?;
        }
        if self.orphan_recoveries > 0 {
            write!(
                f,
                "; {} recoveries without their finding",
                self.orphan_recoveries
            )?;
        }
        Ok(())
    }
}

/// One line read, with where it came from.
struct Sourced {
    /// The shard's index (`--shard I/N`'s I).
    shard: u32,
    /// The position of its directory in the list given: ids are its shard's own.
    position: usize,
    line: EventLine,
}

/// Merge the `events.jsonl` of each run directory of `shards` (shard index, directory) into
/// `out`: every whole line (a directory without the file has none), sorted by `t_s` (a tie
/// goes by shard index, then by the order in its file), with `shard` set and the ids numbered
/// again. Errors name the file (and line).
pub fn merge_events(shards: &[(u32, PathBuf)], out: &Path) -> Result<EventsMerged, ReportError> {
    let mut lines = Vec::new();
    for (position, (shard, dir)) in shards.iter().enumerate() {
        let read = read_events(&dir.join(EVENTS))?;
        lines.extend(read.into_iter().map(|line| Sourced {
            shard: *shard,
            position,
            line,
        }));
    }
    // Stable: lines of one shard at the same time keep their order.
    lines.sort_by(|a, b| {
        a.line
            .t_s
            .total_cmp(&b.line.t_s)
            .then(a.shard.cmp(&b.shard))
    });
    let (merged, summary) = renumber(lines);
    write(out, &merged)?;
    Ok(summary)
}

/// Number the ids again, from 1 in the order of `lines` (each (shard, id) gets the next number
/// where it first appears, so a recovery keeps its finding's), and set each line's shard.
fn renumber(lines: Vec<Sourced>) -> (Vec<EventLine>, EventsMerged) {
    let findings: HashSet<(usize, u64)> = lines
        .iter()
        .filter(|s| s.line.kind != RECOVERED)
        .filter_map(|s| s.line.id.map(|id| (s.position, id)))
        .collect();
    let mut ids: HashMap<(usize, u64), u64> = HashMap::new();
    let mut summary = EventsMerged::default();
    let mut out = Vec::with_capacity(lines.len());
    for Sourced {
        shard,
        position,
        mut line,
    } in lines
    {
        if let Some(old) = line.id {
            let key = (position, old);
            let next = ids.len() as u64 + 1;
            line.id = Some(*ids.entry(key).or_insert(next));
            if line.kind == RECOVERED && !findings.contains(&key) {
                summary.orphan_recoveries += 1;
            }
        }
        line.shard = Some(shard);
        *summary.by_kind.entry(line.kind.clone()).or_insert(0) += 1;
        summary.lines += 1;
        out.push(line);
    }
    (out, summary)
}

/// Write `lines` to `out` as JSON Lines, one object a line.
fn write(out: &Path, lines: &[EventLine]) -> Result<(), ReportError> {
    let io = |source: std::io::Error| ReportError::Io {
        path: out.to_path_buf(),
        source,
    };
    let mut w = BufWriter::new(File::create(out).map_err(io)?);
    for line in lines {
        serde_json::to_writer(&mut w, line).map_err(|e| io(e.into()))?;
        w.write_all(b"\n").map_err(io)?;
    }
    w.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::merge::testdir::TempDir;

    fn line(t_s: f64, kind: &str, id: Option<u64>, console: &str) -> EventLine {
        EventLine {
            t_s,
            wall: "2027-01-15T08:00:00.000Z".into(),
            phase: "steady".into(),
            kind: kind.into(),
            id,
            console: Some(console.into()),
            ..EventLine::default()
        }
    }

    /// Write `lines` as a run writes events.jsonl, and `tail` after them.
    fn write_events(dir: &Path, lines: &[EventLine], tail: &str) {
        let mut text = String::new();
        for l in lines {
            text.push_str(&serde_json::to_string(l).unwrap());
            text.push('\n');
        }
        text.push_str(tail);
        std::fs::write(dir.join(EVENTS), text).unwrap();
    }

    #[test]
    fn ids_are_numbered_again_and_recoveries_keep_their_findings() {
        let tmp = TempDir::new("ids");
        let (a, b, c) = (tmp.sub("a"), tmp.sub("b"), tmp.sub("c"));
        // Shard 1: a drop and its recovery, a miss; a last line cut short by a kill.
        write_events(
            &a,
            &[
                line(1.0, "talkgroup_drop", Some(1), "a1"),
                line(2.0, "missed_delivery", None, "a2"),
                line(3.0, "recovered", Some(1), "a1"),
            ],
            r#"{"t_s":4.0,"wall":"x","#,
        );
        // Shard 0: a disconnect at the same time as shard 1's drop, its recovery, another
        // disconnect never recovered, and a recovery whose disconnect is not in the file.
        write_events(
            &b,
            &[
                line(0.5, "talkgroup_unexpected", None, "b0"),
                line(1.0, "console_disconnect", Some(1), "b1"),
                line(1.0, "console_disconnect", Some(2), "b2"),
                line(2.5, "recovered", Some(1), "b1"),
                line(5.0, "recovered", Some(7), "b7"),
            ],
            "",
        );
        // Shard 2 has no events.jsonl.
        let out = tmp.0.join("events.jsonl");
        let shards = [(1, a), (0, b), (2, c)];
        let merged = merge_events(&shards, &out).unwrap();
        assert_eq!(merged.lines, 8);
        assert_eq!(merged.orphan_recoveries, 1);
        let kinds: Vec<(&str, usize)> = merged
            .by_kind
            .iter()
            .map(|(k, n)| (k.as_str(), *n))
            .collect();
        assert_eq!(
            kinds,
            [
                ("console_disconnect", 2),
                ("missed_delivery", 1),
                ("recovered", 3),
                ("talkgroup_drop", 1),
                ("talkgroup_unexpected", 1)
            ]
        );
        assert!(
            merged
                .to_string()
                .starts_with("8 events (2 console_disconnect")
        );

        // Read back as `rcload report` reads it.
        let lines = read_events(&out).unwrap();
        type Seen<'a> = (f64, &'a str, Option<u64>, Option<u32>, &'a str);
        let got: Vec<Seen> = lines
            .iter()
            .map(|l| {
                let console = l.console.as_deref().unwrap_or("");
                (l.t_s, l.kind.as_str(), l.id, l.shard, console)
            })
            .collect();
        assert_eq!(
            got,
            [
                (0.5, "talkgroup_unexpected", None, Some(0), "b0"),
                // The tie at 1.0 goes by shard index, then by the order in the file.
                (1.0, "console_disconnect", Some(1), Some(0), "b1"),
                (1.0, "console_disconnect", Some(2), Some(0), "b2"),
                (1.0, "talkgroup_drop", Some(3), Some(1), "a1"),
                (2.0, "missed_delivery", None, Some(1), "a2"),
                (2.5, "recovered", Some(1), Some(0), "b1"),
                (3.0, "recovered", Some(3), Some(1), "a1"),
                (5.0, "recovered", Some(4), Some(0), "b7"),
            ]
        );
        // Each line is written as a run writes it, with the shard last.
        let text = std::fs::read_to_string(&out).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            r#"{"t_s":0.5,"wall":"2027-01-15T08:00:00.000Z","phase":"steady","kind":"talkgroup_unexpected","console":"b0","shard":0}"#
        );
    }

    #[test]
    fn no_events_make_an_empty_file_and_a_bad_line_is_named() {
        let tmp = TempDir::new("none");
        let out = tmp.0.join("events.jsonl");
        let merged = merge_events(&[(0, tmp.sub("a"))], &out).unwrap();
        assert_eq!((merged.lines, merged.to_string().as_str()), (0, "0 events"));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
        let bad = tmp.sub("bad");
        write_events(
            &bad,
            &[line(1.0, "talkgroup_drop", Some(1), "x")],
            "not json\n",
        );
        match merge_events(&[(0, bad.clone())], &out) {
            Err(ReportError::Parse { path, line, .. }) => {
                assert_eq!((path, line), (bad.join(EVENTS), Some(2)));
            }
            other => panic!("{other:?}"),
        }
    }
}
