//! Live counters the engine keeps for whoever samples them (the interval writer, a progress
//! display): what was offered and sent so far, what is in flight, who is logged in.

use std::sync::atomic::{AtomicU64, Ordering};

/// Running totals and levels; read with [`Gauges::read`].
#[derive(Debug, Default)]
pub struct Gauges {
    /// Actions whose intended time has come.
    due: AtomicU64,
    /// Requests of scheduled actions sent.
    sent: AtomicU64,
    /// Requests of scheduled actions answered or failed.
    done: AtomicU64,
    consoles_logged_in: AtomicU64,
    terminals_registered: AtomicU64,
}

/// One reading of [`Gauges`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GaugeReading {
    pub due: u64,
    pub sent: u64,
    pub done: u64,
    pub consoles_logged_in: u64,
    pub terminals_registered: u64,
}

impl GaugeReading {
    pub fn in_flight(&self) -> u64 {
        self.sent.saturating_sub(self.done)
    }
}

impl Gauges {
    pub fn read(&self) -> GaugeReading {
        GaugeReading {
            // `done` first: a request counted done was counted sent before it.
            done: self.done.load(Ordering::Acquire),
            sent: self.sent.load(Ordering::Acquire),
            due: self.due.load(Ordering::Acquire),
            consoles_logged_in: self.consoles_logged_in.load(Ordering::Relaxed),
            terminals_registered: self.terminals_registered.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add_due(&self) {
        self.due.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn add_sent(&self) {
        self.sent.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn add_done(&self) {
        self.done.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn set_population(&self, consoles: u64, terminals: u64) {
        self.consoles_logged_in.store(consoles, Ordering::Relaxed);
        self.terminals_registered
            .store(terminals, Ordering::Relaxed);
    }
}
