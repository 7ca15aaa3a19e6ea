//! A `traffic:` replay entry made into timed items: each record of the slice (`from`/`to`) at
//! its offset from the slice's start, divided by `speed`, after the end of setup, `repeat`
//! times; its terminal, console and talkgroup found in the population (or, with `map: hash`,
//! mapped onto it). Records the population cannot take are counted, for the run's notes.

use super::Population;
use crate::profile::{Replay, ReplayMap};
use crate::replay::{RecordAction, parse_time};
use rcload_api::mix::splitmix64;

/// One replayed record, its entities as population indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Replayed {
    Status {
        terminal: u32,
        code: Option<u16>,
    },
    Call {
        terminal: u32,
        talkgroup: Option<u32>,
        emergency: bool,
        hold_us: u64,
    },
    Register {
        terminal: u32,
        talkgroup: Option<u32>,
    },
    Deregister {
        terminal: u32,
    },
    Affiliate {
        terminal: u32,
        talkgroup: u32,
    },
    Login {
        console: u32,
    },
    Logout {
        console: u32,
    },
}

/// How a replay's records fared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    /// Records in the slice (once; `repeat` times as many are replayed).
    pub in_slice: u64,
    /// Items scheduled (all repeats).
    pub scheduled: u64,
    /// Records naming an entity the population does not have, left out (`map: none`).
    pub unknown: u64,
    /// Such records mapped onto the population (`map: hash`).
    pub mapped: u64,
    /// Items that would fall after the run's end.
    pub after_end: u64,
}

/// Default hold of a replayed call without one, µs.
const DEFAULT_HOLD_US: u64 = 10_000_000;

fn hash_index(bytes: &[u8], n: u32) -> u32 {
    let mut h = 0x5EED_u64;
    for b in bytes {
        h = splitmix64(h ^ u64::from(*b));
    }
    (h % u64::from(n.max(1))) as u32
}

/// A slice bound as written: a clock time of the records (`"14:00"`), or seconds from the
/// first record (`first`, µs).
fn slice_time(text: &str, first: u64) -> Option<u64> {
    let t = parse_time(text)?;
    Some(if text.contains(':') { t } else { first + t })
}

/// The items of `r` (its records already read), in time order, and their counts.
pub(super) fn items(
    r: &Replay,
    pop: &Population,
    setup_end_us: u64,
    duration_us: u64,
) -> (Vec<(u64, Replayed)>, ReplayCounts) {
    let mut counts = ReplayCounts::default();
    let Some(records) = &r.records else {
        return (Vec::new(), counts);
    };
    let recs = &records.records;
    let first = recs.first().map_or(0, |x| x.at_us);
    let from = r.from.as_deref().and_then(|t| slice_time(t, first));
    let to = r.to.as_deref().and_then(|t| slice_time(t, first));
    let base = from.unwrap_or(first);
    let slice: Vec<_> = recs
        .iter()
        .filter(|x| x.at_us >= base && to.is_none_or(|t| x.at_us < t))
        .collect();
    counts.in_slice = slice.len() as u64;
    let span = match to {
        Some(t) => t.saturating_sub(base),
        None => slice.last().map_or(0, |x| x.at_us - base) + 1_000_000,
    };
    let consoles: std::collections::HashMap<&str, u32> = (0..pop.console_count())
        .map(|c| (pop.console_id_ref(c), c))
        .collect();
    let hashing = r.map == ReplayMap::Hash;
    let mut resolved = Vec::with_capacity(slice.len());
    for x in &slice {
        let mut unknown = false;
        let mut terminal = || -> Option<u32> {
            let issi = x.issi?;
            match pop.terminal_index(issi) {
                Some(t) => Some(t),
                None if hashing && pop.terminals > 0 => {
                    unknown = true;
                    Some(hash_index(&issi.to_le_bytes(), pop.terminals))
                }
                None => None,
            }
        };
        let terminal = terminal();
        let mut talkgroup_missing = false;
        let talkgroup = x.talkgroup.and_then(|g| match pop.talkgroup_index(g) {
            Some(_) => Some(g),
            None if hashing && pop.talkgroup_count() > 0 => {
                Some(pop.gssi_of_index(hash_index(&g.to_le_bytes(), pop.talkgroup_count())))
            }
            None => {
                talkgroup_missing = true;
                None
            }
        });
        let console = x.console.as_deref().and_then(|id| match consoles.get(id) {
            Some(c) => Some(*c),
            None if hashing && pop.console_count() > 0 => {
                Some(hash_index(id.as_bytes(), pop.console_count()))
            }
            None => None,
        });
        let item = match (x.action, terminal, console) {
            _ if talkgroup_missing => None,
            (RecordAction::Status, Some(terminal), _) => Some(Replayed::Status {
                terminal,
                code: x.code,
            }),
            (RecordAction::Call, Some(terminal), _) => Some(Replayed::Call {
                terminal,
                talkgroup,
                emergency: x.emergency,
                hold_us: x.hold_us.unwrap_or(DEFAULT_HOLD_US),
            }),
            (RecordAction::Register, Some(terminal), _) => Some(Replayed::Register {
                terminal,
                talkgroup,
            }),
            (RecordAction::Deregister, Some(terminal), _) => {
                Some(Replayed::Deregister { terminal })
            }
            (RecordAction::Affiliate, Some(terminal), _) => {
                talkgroup.map(|talkgroup| Replayed::Affiliate {
                    terminal,
                    talkgroup,
                })
            }
            (RecordAction::Login, _, Some(console)) => Some(Replayed::Login { console }),
            (RecordAction::Logout, _, Some(console)) => Some(Replayed::Logout { console }),
            _ => None,
        };
        let mapped = unknown
            || x.talkgroup
                .is_some_and(|g| pop.talkgroup_index(g).is_none())
            || x.console
                .as_deref()
                .is_some_and(|id| !consoles.contains_key(id));
        match item {
            Some(i) => {
                if mapped {
                    counts.mapped += 1;
                }
                resolved.push((x.at_us - base, i));
            }
            None => counts.unknown += 1,
        }
    }
    let mut out = Vec::with_capacity(resolved.len() * r.repeat as usize);
    'repeats: for k in 0..u64::from(r.repeat) {
        for (offset, item) in &resolved {
            let at = setup_end_us + ((offset + k * span) as f64 / r.speed) as u64;
            if at >= duration_us {
                break 'repeats;
            }
            out.push((at, *item));
        }
    }
    counts.after_end = (resolved.len() * r.repeat as usize - out.len()) as u64;
    counts.scheduled = out.len() as u64;
    (out, counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::parse;
    use std::sync::Arc;

    fn pop() -> Population {
        Population::new(
            &crate::profile::Population {
                fleet: None,
                like: None,
                control_rooms: 1,
                consoles_per_room: 2,
                terminals: 10,
                talkgroups_per_room: 3,
                monitored_per_console: 2,
            },
            1,
        )
    }

    fn replay(text: &str, f: impl FnOnce(&mut Replay)) -> Replay {
        let mut r = Replay {
            source: crate::profile::ReplaySource::File("r.csv".into()),
            speed: 1.0,
            from: None,
            to: None,
            repeat: 1,
            map: ReplayMap::None,
            records: Some(Arc::new(parse(text).expect("records"))),
        };
        f(&mut r);
        r
    }

    const RECORDS: &str = "time,action,issi,console,talkgroup,kind,hold
10:00:00,status,1000001,,,,
10:00:02.5,call,1000002,,100002,emergency,3
10:00:04,logout,,room01-con02,,,
10:00:05,status,9999999,,,,
10:00:06,affiliate,1000003,,777777,,
10:00:07,login,,room01-con02,,,
";

    #[test]
    fn records_come_at_their_offsets_after_setup_and_unknown_ones_are_counted() {
        let (got, c) = items(&replay(RECORDS, |_| {}), &pop(), 1_000_000, 60_000_000);
        let at: Vec<u64> = got.iter().map(|(t, _)| *t).collect();
        assert_eq!(at, [1_000_000, 3_500_000, 5_000_000, 8_000_000]);
        assert_eq!(
            got[1].1,
            Replayed::Call {
                terminal: 1,
                talkgroup: Some(100_002),
                emergency: true,
                hold_us: 3_000_000
            }
        );
        assert_eq!(got[2].1, Replayed::Logout { console: 1 });
        assert_eq!((c.in_slice, c.scheduled, c.unknown, c.mapped), (6, 4, 2, 0));
    }

    #[test]
    fn speed_slices_repeats_and_hashing() {
        let fast = replay(RECORDS, |r| r.speed = 2.0);
        let (got, _) = items(&fast, &pop(), 0, 60_000_000);
        let at: Vec<u64> = got.iter().map(|(t, _)| *t).collect();
        assert_eq!(at, [0, 1_250_000, 2_000_000, 3_500_000]);

        let slice = replay(RECORDS, |r| {
            r.from = Some("10:00:02".into());
            r.to = Some("10:00:05".into());
            r.repeat = 2;
        });
        let (got, c) = items(&slice, &pop(), 0, 60_000_000);
        let at: Vec<u64> = got.iter().map(|(t, _)| *t).collect();
        assert_eq!(at, [500_000, 2_000_000, 3_500_000, 5_000_000]);
        assert_eq!(c.in_slice, 2);

        let hashed = replay(RECORDS, |r| r.map = ReplayMap::Hash);
        let (got, c) = items(&hashed, &pop(), 0, 60_000_000);
        assert_eq!((got.len(), c.unknown, c.mapped), (6, 0, 2));

        let (got, c) = items(&replay(RECORDS, |_| {}), &pop(), 0, 5_500_000);
        assert_eq!((got.len(), c.after_end), (3, 1));
    }
}
