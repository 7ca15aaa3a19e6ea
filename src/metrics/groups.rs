//! Results per control room and per discipline: the deliveries and misses at each group's
//! consoles (the profile's traffic, probes apart, as the whole run's `deliveries`), so that
//! the groups add up to the totals exactly. Drops, disconnects and downtime are split by
//! console when the summary is written (their records name the console).

use super::DeliveryStats;
use crate::engine::Delivery;
use crate::schedule::Population;
use std::collections::BTreeMap;

/// One group's deliveries, all types together and by type (for objectives per room).
#[derive(Debug, Clone, Default)]
pub struct GroupStats {
    pub all: DeliveryStats,
    pub by_type: BTreeMap<Delivery, DeliveryStats>,
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
