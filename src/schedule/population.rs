//! The population's layout: which consoles, terminals and talkgroups exist, who monitors what.
//!
//! Pure and derived from the profile alone (plus the seed for terminals' home talkgroups), so the
//! scheduler and the engine agree on it without sharing state.

use crate::profile::{self, FIRST_GSSI, FIRST_ISSI};
use rcload_api::mix::splitmix64;

/// One console: its wire id, room and discipline.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ConsoleEntry {
    id: String,
    room: u32,
    discipline: Option<u16>,
}

/// One terminal: ISSI, home talkgroup (GSSI), room (of the home talkgroup; `NO_ROOM` for a
/// shared one) and discipline (`NO_DISCIPLINE` for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TerminalEntry {
    issi: u32,
    home: u32,
    room: u32,
    discipline: u16,
}

const NO_ROOM: u32 = u32::MAX;
const NO_DISCIPLINE: u16 = u16::MAX;

/// The population of a run: control rooms, consoles, talkgroups and terminals, as tables. A
/// generated population (from the profile's figures) and a fleet map (`population.fleet`)
/// are the same tables, so nothing downstream tells them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Population {
    /// How many control rooms.
    pub rooms: u32,
    /// How many terminals.
    pub terminals: u32,
    room_ids: Vec<String>,
    disciplines: Vec<String>,
    consoles: Vec<ConsoleEntry>,
    /// GSSIs each console monitors.
    monitored: Vec<Vec<u32>>,
    /// Talkgroup index to GSSI.
    gssis: Vec<u32>,
    /// The owning room of each talkgroup (by index), `NO_ROOM` when shared.
    talkgroup_room: Vec<u32>,
    /// (GSSI, index), sorted.
    gssi_index: Vec<(u32, u32)>,
    /// Each room's own talkgroups (GSSIs).
    room_talkgroups: Vec<Vec<u32>>,
    terminal: Vec<TerminalEntry>,
    /// (ISSI, index), sorted.
    issi_index: Vec<(u32, u32)>,
}

impl Population {
    /// The profile's population: its fleet map when it has one, else generated from its figures.
    pub fn of(profile: &profile::Profile, seed: u64) -> Self {
        match &profile.fleet {
            Some(f) => Population::from_fleet(f),
            None => Population::new(&profile.population, seed),
        }
    }

    /// The population the figures describe: rooms alike, ids `room03-con07`, ISSIs from
    /// [`FIRST_ISSI`], GSSIs from [`FIRST_GSSI`], terminals spread over the rooms in turn, each
    /// on one of its room's talkgroups chosen by seed, and each console monitoring a window of
    /// its room's talkgroups, windows staggered so that every talkgroup is monitored when
    /// consoles x monitored >= talkgroups.
    pub fn new(p: &profile::Population, seed: u64) -> Self {
        let (rooms, per_room) = (p.control_rooms, p.consoles_per_room);
        let tg_per_room = p.talkgroups_per_room;
        let gssi = |room: u32, t: u32| FIRST_GSSI + room * tg_per_room + t;
        let consoles: Vec<ConsoleEntry> = (0..rooms * per_room)
            .map(|c| ConsoleEntry {
                id: format!("room{:02}-con{:02}", c / per_room + 1, c % per_room + 1),
                room: c / per_room,
                discipline: None,
            })
            .collect();
        let t_n = u64::from(tg_per_room);
        let monitored = (0..rooms * per_room)
            .map(|c| {
                let room = c / per_room;
                let j = u64::from(c % per_room);
                let start = j * t_n / u64::from(per_room);
                (0..u64::from(p.monitored_per_console))
                    .map(|k| gssi(room, ((start + k) % t_n) as u32))
                    .collect()
            })
            .collect();
        let terminal = (0..p.terminals)
            .map(|i| {
                let room = i % rooms.max(1);
                let h = splitmix64(seed ^ (u64::from(i) << 20) ^ 0x7A11);
                let t = (h % t_n.max(1)) as u32;
                TerminalEntry {
                    issi: FIRST_ISSI + i,
                    home: gssi(room, t),
                    room,
                    discipline: NO_DISCIPLINE,
                }
            })
            .collect();
        Population::build(
            (0..rooms).map(|r| format!("room{:02}", r + 1)).collect(),
            Vec::new(),
            consoles,
            monitored,
            (0..rooms * tg_per_room)
                .map(|i| (FIRST_GSSI + i, i / tg_per_room.max(1)))
                .collect(),
            terminal,
        )
    }

    /// The population of a fleet map.
    pub fn from_fleet(f: &crate::fleet::Fleet) -> Self {
        let tg_room: std::collections::HashMap<u32, u32> = f
            .talkgroups
            .iter()
            .map(|t| (t.gssi, t.room.unwrap_or(NO_ROOM)))
            .collect();
        Population::build(
            f.rooms.clone(),
            f.disciplines.clone(),
            f.consoles
                .iter()
                .map(|c| ConsoleEntry {
                    id: c.id.clone(),
                    room: c.room,
                    discipline: c.discipline,
                })
                .collect(),
            f.consoles.iter().map(|c| c.monitors.clone()).collect(),
            f.talkgroups
                .iter()
                .map(|t| (t.gssi, t.room.unwrap_or(NO_ROOM)))
                .collect(),
            f.terminals
                .iter()
                .map(|t| TerminalEntry {
                    issi: t.issi,
                    home: t.home,
                    room: tg_room.get(&t.home).copied().unwrap_or(NO_ROOM),
                    discipline: t.discipline.unwrap_or(NO_DISCIPLINE),
                })
                .collect(),
        )
    }

    fn build(
        room_ids: Vec<String>,
        disciplines: Vec<String>,
        consoles: Vec<ConsoleEntry>,
        monitored: Vec<Vec<u32>>,
        talkgroups: Vec<(u32, u32)>,
        terminal: Vec<TerminalEntry>,
    ) -> Self {
        let mut room_talkgroups = vec![Vec::new(); room_ids.len()];
        for (g, room) in &talkgroups {
            if let Some(list) = room_talkgroups.get_mut(*room as usize) {
                list.push(*g);
            }
        }
        let mut gssi_index: Vec<(u32, u32)> = talkgroups
            .iter()
            .enumerate()
            .map(|(i, (g, _))| (*g, i as u32))
            .collect();
        gssi_index.sort_unstable();
        let mut issi_index: Vec<(u32, u32)> = terminal
            .iter()
            .enumerate()
            .map(|(i, t)| (t.issi, i as u32))
            .collect();
        issi_index.sort_unstable();
        Population {
            rooms: room_ids.len() as u32,
            terminals: terminal.len() as u32,
            room_ids,
            disciplines,
            consoles,
            monitored,
            gssis: talkgroups.iter().map(|(g, _)| *g).collect(),
            talkgroup_room: talkgroups.iter().map(|(_, r)| *r).collect(),
            gssi_index,
            room_talkgroups,
            terminal,
            issi_index,
        }
    }

    pub fn console_count(&self) -> u32 {
        self.consoles.len() as u32
    }

    pub fn talkgroup_count(&self) -> u32 {
        self.gssis.len() as u32
    }

    /// The wire id of console `c` (0-based), e.g. `room03-con07`.
    pub fn console_id(&self, c: u32) -> String {
        self.consoles[c as usize].id.clone()
    }

    /// The wire id of console `c`, borrowed.
    pub fn console_id_ref(&self, c: u32) -> &str {
        &self.consoles[c as usize].id
    }

    /// The operator name of console `c`'s `shift`-th operator.
    pub fn operator_name(&self, c: u32, shift: u32) -> String {
        format!("op-{}-{}", self.consoles[c as usize].id, shift + 1)
    }

    /// The room (0-based) of console `c`.
    pub fn console_room(&self, c: u32) -> u32 {
        self.consoles[c as usize].room
    }

    /// The discipline (index into [`Population::disciplines`]) of console `c`, if it has one.
    pub fn console_discipline(&self, c: u32) -> Option<u16> {
        self.consoles[c as usize].discipline
    }

    /// The rooms' ids (`room01`... for a generated population).
    pub fn room_ids(&self) -> &[String] {
        &self.room_ids
    }

    /// The disciplines of a fleet map (none for a generated population).
    pub fn disciplines(&self) -> &[String] {
        &self.disciplines
    }

    /// GSSI of the `i`-th talkgroup overall (0-based).
    pub fn gssi_of_index(&self, i: u32) -> u32 {
        self.gssis[i as usize]
    }

    /// 0-based talkgroup index of a GSSI, if it is one of this population's.
    pub fn talkgroup_index(&self, gssi: u32) -> Option<u32> {
        self.gssi_index
            .binary_search_by_key(&gssi, |(g, _)| *g)
            .ok()
            .map(|k| self.gssi_index[k].1)
    }

    /// ISSI of terminal `i` (0-based).
    pub fn issi(&self, i: u32) -> u32 {
        self.terminal[i as usize].issi
    }

    /// 0-based terminal index of an ISSI.
    pub fn terminal_index(&self, issi: u32) -> Option<u32> {
        self.issi_index
            .binary_search_by_key(&issi, |(t, _)| *t)
            .ok()
            .map(|k| self.issi_index[k].1)
    }

    /// The room of terminal `i` (that of its home talkgroup), if its home is not shared.
    pub fn terminal_room(&self, i: u32) -> Option<u32> {
        Some(self.terminal[i as usize].room).filter(|r| *r != NO_ROOM)
    }

    /// The discipline of terminal `i`, if it has one.
    pub fn terminal_discipline(&self, i: u32) -> Option<u16> {
        Some(self.terminal[i as usize].discipline).filter(|d| *d != NO_DISCIPLINE)
    }

    /// The talkgroup (GSSI) terminal `i` registers on at setup.
    pub fn home_talkgroup(&self, i: u32) -> u32 {
        self.terminal[i as usize].home
    }

    /// The talkgroups terminal `i` may move to: its room's own, or every talkgroup for a
    /// terminal whose home is shared.
    pub fn affiliation_choices(&self, i: u32) -> &[u32] {
        match self.terminal_room(i) {
            Some(r) => &self.room_talkgroups[r as usize],
            None => &self.gssis,
        }
    }

    /// The talkgroups (GSSIs) console `c` monitors.
    pub fn monitored(&self, c: u32) -> Vec<u32> {
        self.monitored[c as usize].clone()
    }

    /// How many talkgroups some console monitors.
    pub fn monitored_talkgroup_count(&self) -> u64 {
        self.monitors_by_talkgroup()
            .iter()
            .filter(|m| !m.is_empty())
            .count() as u64
    }

    /// For every talkgroup index, the consoles that monitor it.
    pub fn monitors_by_talkgroup(&self) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.gssis.len()];
        for (c, set) in self.monitored.iter().enumerate() {
            for g in set {
                if let Some(i) = self.talkgroup_index(*g) {
                    out[i as usize].push(c as u32);
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
                fleet: None,
                like: None,
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
                    fleet: None,
                    like: None,
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
            assert_eq!(Some(idx / 40), p.terminal_room(i));
        }
    }

    #[test]
    fn an_anonymised_fleet_makes_the_same_population() {
        use crate::fleet::{anonymise, generate};
        let figures = generate::tiny();
        let original = generate::generate(&figures);
        let key = anonymise::Key::from_bytes(&[9; 32]).expect("key");
        let (p, q) = (
            Population::from_fleet(&anonymise::fleet(&original, &key)),
            Population::from_fleet(&original),
        );
        assert_eq!(p.monitored_talkgroup_count(), q.monitored_talkgroup_count());
        for i in 0..p.terminals {
            assert!(p.talkgroup_index(p.home_talkgroup(i)).is_some());
            assert_eq!(p.terminal_room(i), q.terminal_room(i));
            assert_eq!(p.terminal_discipline(i), q.terminal_discipline(i));
        }
        for c in 0..p.console_count() {
            assert_eq!(p.monitored(c).len(), q.monitored(c).len());
            assert_eq!(p.console_room(c), q.console_room(c));
        }
    }
}
