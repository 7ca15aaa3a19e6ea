//! The population's layout: which consoles, terminals and talkgroups exist, who monitors what.
//!
//! Pure and derived from the profile alone (plus the seed for terminals' home talkgroups), so the
//! scheduler and the engine agree on it without sharing state.

use crate::profile::{self, FIRST_GSSI, FIRST_ISSI};
use rcload_api::mix::splitmix64;

/// The population of a run: control rooms, consoles, talkgroups and terminals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Population {
    pub rooms: u32,
    pub consoles_per_room: u32,
    pub terminals: u32,
    pub talkgroups_per_room: u32,
    pub monitored_per_console: u32,
    seed: u64,
}

impl Population {
    pub fn new(p: &profile::Population, seed: u64) -> Self {
        Population {
            rooms: p.control_rooms,
            consoles_per_room: p.consoles_per_room,
            terminals: p.terminals,
            talkgroups_per_room: p.talkgroups_per_room,
            monitored_per_console: p.monitored_per_console,
            seed,
        }
    }

    pub fn console_count(&self) -> u32 {
        self.rooms * self.consoles_per_room
    }

    pub fn talkgroup_count(&self) -> u32 {
        self.rooms * self.talkgroups_per_room
    }

    /// The wire id of console `c` (0-based): `room03-con07`.
    pub fn console_id(&self, c: u32) -> String {
        let room = c / self.consoles_per_room + 1;
        let n = c % self.consoles_per_room + 1;
        format!("room{room:02}-con{n:02}")
    }

    /// The operator name of console `c`'s `shift`-th operator.
    pub fn operator_name(&self, c: u32, shift: u32) -> String {
        format!("op-{}-{}", self.console_id(c), shift + 1)
    }

    /// The room (0-based) of console `c`.
    pub fn console_room(&self, c: u32) -> u32 {
        c / self.consoles_per_room
    }

    /// GSSI of talkgroup `t` (0-based within room `room`).
    pub fn gssi(&self, room: u32, t: u32) -> u32 {
        FIRST_GSSI + room * self.talkgroups_per_room + t
    }

    /// GSSI of the `i`-th talkgroup overall (0-based).
    pub fn gssi_of_index(&self, i: u32) -> u32 {
        FIRST_GSSI + i
    }

    /// 0-based talkgroup index of a GSSI, if it is one of this population's.
    pub fn talkgroup_index(&self, gssi: u32) -> Option<u32> {
        gssi.checked_sub(FIRST_GSSI)
            .filter(|i| *i < self.talkgroup_count())
    }

    /// ISSI of terminal `i` (0-based).
    pub fn issi(&self, i: u32) -> u32 {
        FIRST_ISSI + i
    }

    /// 0-based terminal index of an ISSI.
    pub fn terminal_index(&self, issi: u32) -> Option<u32> {
        issi.checked_sub(FIRST_ISSI).filter(|i| *i < self.terminals)
    }

    /// The room of terminal `i`: terminals are spread over the rooms in turn.
    pub fn terminal_room(&self, i: u32) -> u32 {
        i % self.rooms
    }

    /// The talkgroup (GSSI) terminal `i` registers on at setup: one of its room's, chosen by seed.
    pub fn home_talkgroup(&self, i: u32) -> u32 {
        let h = splitmix64(self.seed ^ (u64::from(i) << 20) ^ 0x7A11);
        let t = (h % u64::from(self.talkgroups_per_room)) as u32;
        self.gssi(self.terminal_room(i), t)
    }

    /// The talkgroups (GSSIs) console `c` monitors: a window of its room's talkgroups, windows
    /// staggered so that every talkgroup is monitored when consoles x monitored >= talkgroups.
    pub fn monitored(&self, c: u32) -> Vec<u32> {
        let room = self.console_room(c);
        let j = u64::from(c % self.consoles_per_room);
        let t_n = u64::from(self.talkgroups_per_room);
        let start = j * t_n / u64::from(self.consoles_per_room);
        (0..u64::from(self.monitored_per_console))
            .map(|k| self.gssi(room, ((start + k) % t_n) as u32))
            .collect()
    }

    /// How many talkgroups some console monitors (those [`Population::monitors_by_talkgroup`]
    /// gives a console), without listing them: every room is laid out alike, so one room's
    /// windows are merged, in time linear in its consoles.
    pub fn monitored_talkgroup_count(&self) -> u64 {
        let t_n = u64::from(self.talkgroups_per_room);
        let c_n = u64::from(self.consoles_per_room);
        let m = u64::from(self.monitored_per_console).min(t_n);
        if t_n == 0 || c_n == 0 || m == 0 {
            return 0;
        }
        // Console j's window is [start_j, start_j + m) round the room's talkgroups; starts rise
        // with j and the first is 0, so what runs past the end falls inside [0, m), covered.
        let (mut covered, mut reach) = (0, 0);
        for j in 0..c_n {
            let start = j * t_n / c_n;
            let from = start.max(reach);
            let to = (start + m).min(t_n);
            if to > from {
                covered += to - from;
                reach = to;
            }
        }
        covered * u64::from(self.rooms)
    }

    /// For every talkgroup index, the consoles that monitor it.
    pub fn monitors_by_talkgroup(&self) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.talkgroup_count() as usize];
        for c in 0..self.console_count() {
            for g in self.monitored(c) {
                if let Some(i) = self.talkgroup_index(g) {
                    out[i as usize].push(c);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pop() -> Population {
        Population::new(
            &profile::Population {
                control_rooms: 13,
                consoles_per_room: 30,
                terminals: 20000,
                talkgroups_per_room: 40,
                monitored_per_console: 12,
            },
            2023,
        )
    }

    #[test]
    fn every_talkgroup_is_monitored_evenly() {
        let p = pop();
        let m = p.monitors_by_talkgroup();
        assert_eq!(m.len(), 13 * 40);
        let min = m.iter().map(Vec::len).min().unwrap();
        let max = m.iter().map(Vec::len).max().unwrap();
        assert!(min >= 8 && max <= 10, "min {min} max {max}");
        for c in 0..p.console_count() {
            let set = p.monitored(c);
            assert_eq!(set.len(), 12);
            let room = p.console_room(c);
            assert!(
                set.iter()
                    .all(|g| (p.talkgroup_index(*g).unwrap() / 40) == room)
            );
        }
    }

    #[test]
    fn monitored_talkgroups_are_counted_without_listing_them() {
        for (rooms, consoles, talkgroups, monitored) in [
            (13, 30, 40, 12),
            (2, 6, 10, 4),
            (3, 2, 50, 3),
            (1, 7, 7, 1),
            (2, 100, 9, 9),
            (4, 3, 1000, 1),
            (1, 1, 5, 5),
        ] {
            let p = Population::new(
                &profile::Population {
                    control_rooms: rooms,
                    consoles_per_room: consoles,
                    terminals: 10,
                    talkgroups_per_room: talkgroups,
                    monitored_per_console: monitored,
                },
                1,
            );
            let listed = p
                .monitors_by_talkgroup()
                .iter()
                .filter(|m| !m.is_empty())
                .count() as u64;
            assert_eq!(
                p.monitored_talkgroup_count(),
                listed,
                "{rooms} rooms, {consoles} consoles, {talkgroups} talkgroups, {monitored} each"
            );
        }
    }

    #[test]
    fn ids_are_valid_on_the_wire() {
        let p = pop();
        assert_eq!(p.console_id(0), "room01-con01");
        assert_eq!(p.console_id(389), "room13-con30");
        assert!(rcload_api::valid_console_id(&p.console_id(389)));
        assert!(rcload_api::valid_tetra_id(u64::from(p.issi(19999))));
        for i in 0..1000 {
            let g = p.home_talkgroup(i);
            let idx = p.talkgroup_index(g).unwrap();
            assert_eq!(idx / 40, p.terminal_room(i));
        }
    }
}
