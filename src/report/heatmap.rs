//! The heat map of `report.html`: per control room and slice of the run, how many findings
//! (drops, disconnects, and missed deliveries other than probes') `events.jsonl` holds. Plain
//! counting, no I/O: `rundir` hands in the events it read, `html` lays the map out.

use super::events::EventLine;
use std::collections::HashMap;

/// How many slices of the run the report's map has.
pub const BUCKETS: usize = 60;

/// Findings per room and time slice.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    /// Room ids, the worst first.
    pub rooms: Vec<String>,
    /// Seconds per slice (0 when the run has no duration to slice: one slice).
    pub bucket_s: f64,
    /// Findings, `[room][bucket]`, in the order of `rooms`.
    pub cells: Vec<Vec<u32>>,
    /// The largest cell.
    pub max: u32,
}

/// Count the findings of `events` per room of `rooms_worst_first` and per slice: `buckets`
/// equal slices of `duration_s` (one when the duration is 0 or not a number), a finding at or
/// after the end in the last. Lines without a room or of a room not listed are left out.
/// `None` when there are no rooms or no findings.
pub fn build(
    events: &[EventLine],
    rooms_worst_first: &[String],
    duration_s: f64,
    buckets: usize,
) -> Option<HeatMap> {
    if rooms_worst_first.is_empty() {
        return None;
    }
    let (buckets, bucket_s) = slicing(duration_s, buckets);
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, room) in rooms_worst_first.iter().enumerate() {
        index.entry(room.as_str()).or_insert(i);
    }
    let mut cells = vec![vec![0u32; buckets]; rooms_worst_first.len()];
    for e in events.iter().filter(|e| is_finding(e)) {
        let Some(&r) = e.room.as_deref().and_then(|room| index.get(room)) else {
            continue;
        };
        if let Some(cell) = cells
            .get_mut(r)
            .and_then(|row| row.get_mut(bucket_of(e.t_s, bucket_s, buckets)))
        {
            *cell = cell.saturating_add(1);
        }
    }
    let max = cells.iter().flatten().copied().max().unwrap_or(0);
    (max > 0).then(|| HeatMap {
        rooms: rooms_worst_first.to_vec(),
        bucket_s,
        cells,
        max,
    })
}

/// How many slices, and how long each: one slice (of 0 s) for a duration that is not a
/// positive, finite number.
fn slicing(duration_s: f64, buckets: usize) -> (usize, f64) {
    let buckets = buckets.max(1);
    if duration_s.is_finite() && duration_s > 0.0 {
        (buckets, duration_s / buckets as f64)
    } else {
        (1, 0.0)
    }
}

/// A drop, a disconnect, or a missed delivery that was not a probe's.
fn is_finding(e: &EventLine) -> bool {
    match e.kind.as_str() {
        "talkgroup_drop" | "console_disconnect" => true,
        "missed_delivery" => e.probe != Some(true),
        _ => false,
    }
}

/// The slice of `t_s`: before t=0 the first, at or after the end the last.
fn bucket_of(t_s: f64, bucket_s: f64, buckets: usize) -> usize {
    // A float-to-int cast saturates (NaN and negatives give 0, infinity the largest).
    ((t_s / bucket_s) as usize).min(buckets.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t_s: f64, kind: &str, room: Option<&str>) -> EventLine {
        EventLine {
            t_s,
            phase: "steady".into(),
            kind: kind.into(),
            console: Some("room01-con01".into()),
            room: room.map(Into::into),
            ..EventLine::default()
        }
    }

    fn rooms(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn counts_land_in_their_cells() {
        let events = [
            line(5.0, "talkgroup_drop", Some("a")),
            line(9.99, "console_disconnect", Some("a")),
            line(15.0, "missed_delivery", Some("b")),
            line(59.9, "missed_delivery", Some("b")),
            line(20.0, "talkgroup_drop", Some("a")),
        ];
        let heat = build(&events, &rooms(&["b", "a", "c"]), 60.0, 6).unwrap();
        assert_eq!(heat.rooms, ["b", "a", "c"]);
        assert_eq!(heat.bucket_s, 10.0);
        assert_eq!(heat.cells[0], [0, 1, 0, 0, 0, 1]);
        assert_eq!(heat.cells[1], [2, 0, 1, 0, 0, 0]);
        assert_eq!(heat.cells[2], [0; 6]);
        assert_eq!(heat.max, 2);
    }

    #[test]
    fn probes_recoveries_and_strangers_are_left_out() {
        let probe = EventLine {
            probe: Some(true),
            ..line(1.0, "missed_delivery", Some("a"))
        };
        let others = [
            probe,
            line(2.0, "recovered", Some("a")),
            line(3.0, "talkgroup_unexpected", Some("a")),
            line(4.0, "talkgroup_drop", None),
            line(5.0, "talkgroup_drop", Some("z")),
        ];
        assert_eq!(build(&others, &rooms(&["a"]), 10.0, 2), None);

        let not_a_probe = EventLine {
            probe: Some(false),
            ..line(6.0, "missed_delivery", Some("a"))
        };
        let mut events = others.to_vec();
        events.push(not_a_probe);
        let heat = build(&events, &rooms(&["a"]), 10.0, 2).unwrap();
        assert_eq!(heat.cells, [[0, 1]]);
        assert_eq!(heat.max, 1);
    }

    #[test]
    fn none_without_rooms_or_findings() {
        let drop = [line(1.0, "talkgroup_drop", Some("a"))];
        assert_eq!(build(&[], &rooms(&["a"]), 10.0, 60), None);
        assert_eq!(build(&drop, &[], 10.0, 60), None);
        assert!(build(&drop, &rooms(&["a"]), 10.0, 60).is_some());
    }

    #[test]
    fn the_end_and_after_go_in_the_last_slice() {
        let events = [
            line(60.0, "talkgroup_drop", Some("a")),
            line(1e9, "talkgroup_drop", Some("a")),
            line(f64::INFINITY, "talkgroup_drop", Some("a")),
            line(-1.0, "talkgroup_drop", Some("a")),
            line(f64::NAN, "talkgroup_drop", Some("a")),
        ];
        let heat = build(&events, &rooms(&["a"]), 60.0, 60).unwrap();
        assert_eq!(heat.cells[0].len(), 60);
        assert_eq!(heat.cells[0][59], 3);
        assert_eq!(heat.cells[0][0], 2);
        assert_eq!(heat.max, 3);
    }

    #[test]
    fn no_duration_is_one_slice() {
        let events = [
            line(0.0, "talkgroup_drop", Some("a")),
            line(7.0, "console_disconnect", Some("a")),
        ];
        for duration in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            let heat = build(&events, &rooms(&["a"]), duration, 60).unwrap();
            assert_eq!(heat.cells, [[2]], "{duration}");
            assert_eq!(heat.bucket_s, 0.0);
        }
        let heat = build(&events, &rooms(&["a"]), 10.0, 0).unwrap();
        assert_eq!(heat.cells, [[2]]);
        assert_eq!(heat.bucket_s, 10.0);
    }
}
