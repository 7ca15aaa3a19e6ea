//! summary.json's `rooms` and `disciplines`: each control room's (and discipline's) consoles,
//! drops, disconnects, downtime, missed deliveries and delivery latency. The groups add up to
//! the run's totals: every console is in one room (and in one discipline, or none), and
//! deliveries and misses count the profile's traffic as `deliveries` does.

use super::latency::LatencyMs;
use crate::metrics::Recorder;
use crate::metrics::groups::GroupStats;
use crate::schedule::Population;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// One control room's or discipline's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSummary {
    pub consoles: u64,
    pub talkgroup_drops: u64,
    pub console_disconnects: u64,
    /// Console downtime (disconnect to reconnect, or to the end of the load), seconds.
    pub downtime_s: f64,
    /// Deliveries that arrived at the group's consoles.
    pub delivered: u64,
    pub missed_deliveries: u64,
    pub delivery_latency_ms: LatencyMs,
}

fn secs(us: u64) -> f64 {
    (us as f64 / 1e3).round() / 1e3
}

/// Per room (by id) and per discipline (by name; empty for a population without
/// disciplines), from the recorder's groups; both empty when it kept none.
pub fn summaries(
    rec: &Recorder,
    pop: &Population,
    end_us: u64,
) -> (
    BTreeMap<String, GroupSummary>,
    BTreeMap<String, GroupSummary>,
) {
    let Some(groups) = &rec.groups else {
        return Default::default();
    };
    let downtime = rec.downtime_us(end_us);
    let build = |member: &dyn Fn(u32) -> bool, stats: &GroupStats| {
        let mut downtime_us = 0;
        for (c, us) in &downtime {
            if member(*c) {
                downtime_us += us;
            }
        }
        GroupSummary {
            consoles: (0..pop.console_count()).filter(|c| member(*c)).count() as u64,
            talkgroup_drops: rec.drops.iter().filter(|d| member(d.console)).count() as u64,
            console_disconnects: rec.disconnects.iter().filter(|d| member(d.console)).count()
                as u64,
            downtime_s: secs(downtime_us),
            delivered: stats.all.delivered,
            missed_deliveries: stats.all.missed,
            delivery_latency_ms: LatencyMs::of(&stats.all.latency),
        }
    };
    let rooms = pop
        .room_ids()
        .iter()
        .zip(&groups.rooms)
        .enumerate()
        .map(|(r, (id, stats))| {
            let member = |c: u32| groups.room_of(c) == Some(r as u32);
            (id.clone(), build(&member, stats))
        })
        .collect();
    let disciplines = pop
        .disciplines()
        .iter()
        .zip(&groups.disciplines)
        .enumerate()
        .map(|(d, (name, stats))| {
            let member = |c: u32| groups.discipline_of(c) == Some(d as u16);
            (name.clone(), build(&member, stats))
        })
        .collect();
    (rooms, disciplines)
}

/// The groups worst first, as every report lists them: by their drops, disconnects and missed
/// deliveries together, most first, then by id.
pub fn worst_first(map: &BTreeMap<String, GroupSummary>) -> Vec<(&String, &GroupSummary)> {
    let mut groups: Vec<_> = map.iter().collect();
    // Stable: ties keep the map's order, by id.
    groups.sort_by_key(|(_, g)| {
        Reverse(
            g.talkgroup_drops
                .saturating_add(g.console_disconnects)
                .saturating_add(g.missed_deliveries),
        )
    });
    groups
}

/// For an objective per room on `key` (`delivery.<type>`): each room's statistic `q` (`None`
/// = max) of that type's deliveries at its consoles, a missed one counting as later than any.
pub fn room_latency(
    rec: &Recorder,
    pop: &Population,
    key: &str,
    q: Option<f64>,
) -> Vec<(String, crate::judge::Observed)> {
    use crate::judge::{Observed, delivery_quantile};
    let Some(groups) = &rec.groups else {
        return Vec::new();
    };
    let event = key
        .strip_prefix("delivery.")
        .and_then(|t| crate::engine::Delivery::ALL.iter().find(|d| d.name() == t));
    pop.room_ids()
        .iter()
        .zip(&groups.rooms)
        .map(|(id, g)| {
            let seen = match event.and_then(|e| g.by_type.get(e)) {
                Some(d) => delivery_quantile(d.delivered, d.missed, q, |q| {
                    super::latency::ms(d.latency.value_at_quantile(q))
                }),
                None => Observed::NoSamples,
            };
            (id.clone(), seen)
        })
        .collect()
}

/// For a count objective per room: each room's `key` (`talkgroup_drops`,
/// `console_disconnects`, `missed_deliveries`).
pub fn room_count(rooms: &BTreeMap<String, GroupSummary>, key: &str) -> Vec<(String, u64)> {
    rooms
        .iter()
        .map(|(id, g)| {
            let n = match key {
                "talkgroup_drops" => g.talkgroup_drops,
                "console_disconnects" => g.console_disconnects,
                _ => g.missed_deliveries,
            };
            (id.clone(), n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Delivery, Outcome};
    use crate::metrics::groups::Groups;

    /// Deliveries and misses at consoles of three rooms of different sizes: the rooms add up
    /// to the totals.
    #[test]
    fn rooms_add_up_to_the_totals() {
        let pop = Population::new(
            &crate::profile::Population {
                fleet: None,
                like: None,
                control_rooms: 3,
                consoles_per_room: 4,
                terminals: 10,
                talkgroups_per_room: 2,
                monitored_per_console: 1,
            },
            1,
        );
        let mut rec = Recorder::new(1).with_groups(Groups::new(&pop));
        for i in 0..120u32 {
            let console = (i * 7) % 12;
            let o = if i % 5 == 0 {
                Outcome::Missed {
                    event: Delivery::Status,
                    phase: 0,
                    console,
                    talkgroup: 0,
                    at_us: 0,
                    probe: false,
                }
            } else {
                Outcome::Delivered {
                    event: Delivery::Status,
                    phase: 0,
                    console,
                    latency_us: u64::from(i) * 1000,
                    probe: i % 11 == 0,
                }
            };
            rec.record(&o);
        }
        let (rooms, disciplines) = summaries(&rec, &pop, 1_000_000);
        assert!(disciplines.is_empty());
        assert_eq!(rooms.len(), 3);
        let total = &rec.deliveries[&Delivery::Status];
        let sum = |f: fn(&GroupSummary) -> u64| rooms.values().map(f).sum::<u64>();
        assert_eq!(sum(|g| g.delivered), total.delivered);
        assert_eq!(sum(|g| g.missed_deliveries), total.missed);
        assert_eq!(sum(|g| g.consoles), 12);
        assert!(rooms["room02"].delivery_latency_ms.max > 0.0);
    }

    #[test]
    fn worst_first_then_by_id() {
        let group = |drops, disconnects, missed| GroupSummary {
            talkgroup_drops: drops,
            console_disconnects: disconnects,
            missed_deliveries: missed,
            ..GroupSummary::default()
        };
        let map: BTreeMap<String, GroupSummary> = [
            ("a", group(0, 0, 0)),
            ("b", group(1, 0, 1)),
            ("c", group(0, 2, 0)),
            ("d", group(0, 0, 3)),
        ]
        .into_iter()
        .map(|(id, g)| (id.to_string(), g))
        .collect();
        let order: Vec<&str> = worst_first(&map)
            .into_iter()
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(order, ["d", "b", "c", "a"]);
    }
}
