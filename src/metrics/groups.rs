//! Results per control room and per discipline: the deliveries and misses at each group's
//! consoles (the profile's traffic, probes apart, as the whole run's `deliveries`), so that
//! the groups add up to the totals exactly. Drops, disconnects and downtime are split by
//! console when the summary is written (their records name the console).

use super::{DeliveryStats, MergeHistError};
use crate::engine::Delivery;
use crate::schedule::Population;
use std::collections::BTreeMap;

/// One group's deliveries, all types together and by type (for objectives per room).
#[derive(Debug, Clone, Default)]
pub struct GroupStats {
    pub all: DeliveryStats,
    pub by_type: BTreeMap<Delivery, DeliveryStats>,
}

impl GroupStats {
    /// Add `other`'s deliveries into these, all together and type by type; `what` names the
    /// group in an error.
    pub fn merge(&mut self, other: &GroupStats, what: &str) -> Result<(), MergeHistError> {
        self.all.merge(&other.all, what)?;
        for (event, d) in &other.by_type {
            self.by_type.entry(*event).or_default().merge(d, what)?;
        }
        Ok(())
    }
}

/// The rooms and disciplines of a population, and their deliveries so far.
#[derive(Debug, Clone)]
pub struct Groups {
    room_of: Vec<u32>,
    discipline_of: Vec<Option<u16>>,
    /// By room index.
    pub rooms: Vec<GroupStats>,
    /// By discipline index (empty when the population has none).
    pub disciplines: Vec<GroupStats>,
}

impl Groups {
    pub fn new(pop: &Population) -> Self {
        let n = pop.console_count();
        Groups {
            room_of: (0..n).map(|c| pop.console_room(c)).collect(),
            discipline_of: (0..n).map(|c| pop.console_discipline(c)).collect(),
            rooms: vec![GroupStats::default(); pop.rooms as usize],
            disciplines: vec![GroupStats::default(); pop.disciplines().len()],
        }
    }

    /// Groups as a totals file holds them: each console's room and discipline (by console
    /// index), and each room's and discipline's deliveries so far.
    pub fn from_parts(
        room_of: Vec<u32>,
        discipline_of: Vec<Option<u16>>,
        rooms: Vec<GroupStats>,
        disciplines: Vec<GroupStats>,
    ) -> Self {
        Groups {
            room_of,
            discipline_of,
            rooms,
            disciplines,
        }
    }

    /// Each console's room, by console index.
    pub fn rooms_of_consoles(&self) -> &[u32] {
        &self.room_of
    }

    /// Each console's discipline, by console index.
    pub fn disciplines_of_consoles(&self) -> &[Option<u16>] {
        &self.discipline_of
    }

    /// Add `other`'s deliveries into these, room by room and discipline by discipline: how
    /// the shards of one test are put together. Both must be of one population (the same
    /// consoles in the same rooms and disciplines); when they are not, nothing is added.
    pub fn merge(&mut self, other: &Groups) -> Result<(), MergeHistError> {
        let same = self.room_of == other.room_of
            && self.discipline_of == other.discipline_of
            && self.rooms.len() == other.rooms.len()
            && self.disciplines.len() == other.disciplines.len();
        if !same {
            return Err(MergeHistError::Groups(
                "they are of different populations (consoles, rooms or disciplines differ)".into(),
            ));
        }
        for (r, (mine, theirs)) in self.rooms.iter_mut().zip(&other.rooms).enumerate() {
            mine.merge(theirs, &format!("room {r}"))?;
        }
        for (d, (mine, theirs)) in self
            .disciplines
            .iter_mut()
            .zip(&other.disciplines)
            .enumerate()
        {
            mine.merge(theirs, &format!("discipline {d}"))?;
        }
        Ok(())
    }

    fn each(&mut self, console: u32, f: impl Fn(&mut GroupStats)) {
        let c = console as usize;
        if let Some(g) = self
            .room_of
            .get(c)
            .and_then(|r| self.rooms.get_mut(*r as usize))
        {
            f(g);
        }
        if let Some(g) = self
            .discipline_of
            .get(c)
            .copied()
            .flatten()
            .and_then(|d| self.disciplines.get_mut(d as usize))
        {
            f(g);
        }
    }

    pub fn delivered(&mut self, console: u32, event: Delivery, latency_us: u64) {
        self.each(console, |g| {
            for d in [&mut g.all, g.by_type.entry(event).or_default()] {
                d.delivered += 1;
                super::record(&mut d.latency, latency_us);
            }
        });
    }

    pub fn missed(&mut self, console: u32, event: Delivery) {
        self.each(console, |g| {
            g.all.missed += 1;
            g.by_type.entry(event).or_default().missed += 1;
        });
    }

    /// The room of console `c`.
    pub fn room_of(&self, c: u32) -> Option<u32> {
        self.room_of.get(c as usize).copied()
    }

    /// The discipline of console `c`, if it has one.
    pub fn discipline_of(&self, c: u32) -> Option<u16> {
        self.discipline_of.get(c as usize).copied().flatten()
    }
}
