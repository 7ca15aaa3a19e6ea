//! Arrival processes: the times of an open-model stream of actions at a given rate.

use rand::RngExt;
use rand_distr::{Distribution, Exp};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::profile::Arrival;

/// Arrival times (seconds) at `rate_per_s` in `[start_s, end_s)`.
#[derive(Debug, Clone)]
pub struct Arrivals {
    process: Arrival,
    rate_per_s: f64,
    start_s: f64,
    end_s: f64,
    k: u64,
    next_s: f64,
    exp: Option<Exp<f64>>,
}

impl Arrivals {
    pub fn new(
        process: Arrival,
        rate_per_s: f64,
        start_s: f64,
        end_s: f64,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Self {
        let exp = Exp::new(rate_per_s).ok().filter(|_| rate_per_s > 0.0);
        let mut a = Arrivals {
            process,
            rate_per_s,
            start_s,
            end_s,
            k: 0,
            next_s: start_s,
            exp,
        };
        a.next_s = match process {
            Arrival::Uniform => start_s,
            Arrival::Poisson => start_s + a.gap(rng),
        };
        a
    }

    fn gap(&self, rng: &mut Xoshiro256PlusPlus) -> f64 {
        match &self.exp {
            Some(e) => e.sample(rng),
            None => f64::INFINITY,
        }
    }

    /// The next arrival time, if it is before the end.
    pub fn peek(&self) -> Option<f64> {
        (self.rate_per_s > 0.0 && self.next_s < self.end_s).then_some(self.next_s)
    }

    /// Take the next arrival time and draw the one after it.
    pub fn advance(&mut self, rng: &mut Xoshiro256PlusPlus) -> Option<f64> {
        let t = self.peek()?;
        self.k += 1;
        self.next_s = match self.process {
            // From the start each time, so rounding does not accumulate.
            Arrival::Uniform => self.start_s + self.k as f64 / self.rate_per_s,
            Arrival::Poisson => t + self.gap(rng),
        };
        Some(t)
    }
}

/// A uniform draw in `[0, n)` for small `n`, the same on every platform.
pub fn below(rng: &mut Xoshiro256PlusPlus, n: u32) -> u32 {
    if n <= 1 { 0 } else { rng.random_range(0..n) }
}
