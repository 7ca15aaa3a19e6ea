//! Arrival processes: the times of an open-model stream of actions at a given rate.

use rand::RngExt;
use rand_distr::{Distribution, Exp};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::profile::{Arrival, secs_to_us};

/// Arrival times (seconds) at `rate_per_s` in `[start_s, end_s)`, or at a rate that changes
/// along a curve.
#[derive(Debug, Clone)]
pub struct Arrivals {
    process: Arrival,
    rate_per_s: f64,
    start_s: f64,
    end_s: f64,
    k: u64,
    next_s: f64,
    exp: Option<Exp<f64>>,
    /// A changing rate: arrivals are drawn on the curve's cumulative rate (time rescaling).
    curve: Option<Curve>,
    /// With a curve: the cumulative rate at `next_s`.
    next_lambda: f64,
}

/// A piecewise-linear rate over `[start, end]` and its integral, for time rescaling: a
/// process of rate 1 on the integral's scale is a process of the curve's rate in time.
#[derive(Debug, Clone)]
struct Curve {
    /// Segment starts (s) and their rates; the last entry is the end.
    t: Vec<f64>,
    r: Vec<f64>,
    /// The integral of the rate at each segment start.
    cum: Vec<f64>,
}

impl Curve {
    /// `points` (seconds from t=0, per second) sorted by time; flat before the first and after
    /// the last.
    fn new(points: &[(f64, f64)], start: f64, end: f64) -> Self {
        let rate_at = |x: f64| -> f64 {
            match points.iter().position(|(t, _)| *t > x) {
                None => points.last().map_or(0.0, |p| p.1),
                Some(0) => points[0].1,
                Some(i) => {
                    let (t0, r0) = points[i - 1];
                    let (t1, r1) = points[i];
                    r0 + (r1 - r0) * (x - t0) / (t1 - t0).max(1e-12)
                }
            }
        };
        let mut t = vec![start];
        t.extend(
            points
                .iter()
                .map(|p| p.0)
                .filter(|x| *x > start && *x < end),
        );
        t.push(end.max(start));
        let r: Vec<f64> = t.iter().map(|x| rate_at(*x).max(0.0)).collect();
        let mut cum = vec![0.0];
        for i in 1..t.len() {
            let area = (r[i - 1] + r[i]) / 2.0 * (t[i] - t[i - 1]);
            cum.push(cum[i - 1] + area);
        }
        Curve { t, r, cum }
    }

    fn total(&self) -> f64 {
        self.cum.last().copied().unwrap_or(0.0)
    }

    /// The integral of the rate from the start to `x` (0 before the start, the total after the
    /// end): the inverse of [`Curve::inverse`].
    fn integral_to(&self, x: f64) -> f64 {
        let (first, last) = (self.t[0], self.t[self.t.len() - 1]);
        if x.is_nan() || x <= first {
            return 0.0;
        }
        if x >= last {
            return self.total();
        }
        let i = self.t.partition_point(|t| *t <= x).saturating_sub(1);
        let (t0, t1) = (self.t[i], self.t[i + 1]);
        let (r0, r1) = (self.r[i], self.r[i + 1]);
        let u = x - t0;
        let slope = (r1 - r0) / (t1 - t0).max(1e-12);
        self.cum[i] + r0 * u + slope * u * u / 2.0
    }

    /// The time at which the integral reaches `x`, if before the end.
    fn inverse(&self, x: f64) -> Option<f64> {
        if x.is_nan() || x >= self.total() {
            return None;
        }
        let i = self.cum.partition_point(|c| *c <= x).saturating_sub(1);
        let (t0, t1) = (self.t[i], self.t[i + 1]);
        let (r0, r1) = (self.r[i], self.r[i + 1]);
        let d = x - self.cum[i];
        let len = t1 - t0;
        let a = (r1 - r0) / (2.0 * len.max(1e-12));
        // r0 u + a u^2 = d, solved without cancellation.
        let u = if d <= 0.0 {
            0.0
        } else if a.abs() < 1e-12 {
            if r0 > 0.0 { d / r0 } else { 0.0 }
        } else {
            2.0 * d / (r0 + (r0 * r0 + 4.0 * a * d).max(0.0).sqrt())
        };
        Some((t0 + u).min(t1))
    }
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
            curve: None,
            next_lambda: 0.0,
        };
        a.next_s = match process {
            Arrival::Uniform => start_s,
            Arrival::Poisson => start_s + a.gap(rng),
        };
        a
    }

    /// Arrivals whose rate follows `points` (seconds from t=0, per second; straight lines
    /// between them): a Poisson process by time rescaling, or uniform on the cumulative rate.
    pub fn with_curve(
        process: Arrival,
        points: &[(f64, f64)],
        start_s: f64,
        end_s: f64,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Self {
        let curve = Curve::new(points, start_s, end_s);
        let unit = Exp::new(1.0).ok();
        let first = match process {
            Arrival::Uniform => 0.0,
            Arrival::Poisson => unit.map_or(f64::INFINITY, |e| e.sample(rng)),
        };
        let next_s = curve.inverse(first).unwrap_or(f64::INFINITY);
        Arrivals {
            process,
            rate_per_s: curve.r.iter().copied().fold(0.0, f64::max),
            start_s,
            end_s,
            k: 0,
            next_s,
            exp: unit,
            curve: Some(curve),
            next_lambda: first,
        }
    }

    /// The times (s) where the rate changes: start, end, and a curve's points between.
    pub fn breakpoints_s(&self) -> Vec<f64> {
        match &self.curve {
            Some(c) => c.t.clone(),
            None => vec![self.start_s, self.end_s],
        }
    }

    /// How many arrivals this stream makes before `t_us` (microseconds from t=0, the unit of
    /// the schedule), from the start and without drawing them: the exact count when evenly
    /// spaced at a constant rate, else the expectation (the integral of the rate; for even
    /// spacing on a curve, the whole arrivals within it).
    pub fn count_before_us(&self, t_us: u64) -> f64 {
        if self.rate_per_s <= 0.0 {
            return 0.0;
        }
        let t_s = (t_us as f64 / 1e6).min(self.end_s);
        if let Some(c) = &self.curve {
            let lambda = c.integral_to(t_s);
            return match self.process {
                Arrival::Uniform => lambda.ceil(),
                Arrival::Poisson => lambda,
            };
        }
        match self.process {
            Arrival::Poisson => self.rate_per_s * (t_s - self.start_s).max(0.0),
            Arrival::Uniform => {
                // Arrival k is at start + k / rate (as `advance` places it), and is made while
                // before the end; the first k that is not before both is the count.
                let at = |k: u64| self.start_s + k as f64 / self.rate_per_s;
                let made = |k: u64| at(k) < self.end_s && secs_to_us(at(k)) < t_us;
                let room = (self.end_s - self.start_s).max(0.0) * self.rate_per_s;
                first_not(room.ceil() as u64 + 2, made) as f64
            }
        }
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
        if let Some(c) = &self.curve {
            self.next_lambda = match self.process {
                Arrival::Uniform => self.k as f64,
                Arrival::Poisson => {
                    self.next_lambda + self.exp.map_or(f64::INFINITY, |e| e.sample(rng))
                }
            };
            self.next_s = c.inverse(self.next_lambda).unwrap_or(f64::INFINITY);
            return Some(t);
        }
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

/// The first `k` in `0..n` for which `made(k)` is false, or `n`; `made` is true up to some `k`
/// and false from there.
pub(super) fn first_not(n: u64, made: impl Fn(u64) -> bool) -> u64 {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if made(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod curve_tests {
    use super::*;
    use rand::SeedableRng;

    /// A rate rising from 0 to 200/s over 100 s: 10,000 arrivals expected, most late.
    #[test]
    fn arrivals_follow_a_rising_curve() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for process in [Arrival::Uniform, Arrival::Poisson] {
            let mut a =
                Arrivals::with_curve(process, &[(0.0, 0.0), (100.0, 200.0)], 0.0, 100.0, &mut rng);
            let mut times = Vec::new();
            while let Some(t) = a.advance(&mut rng) {
                times.push(t);
            }
            let n = times.len() as f64;
            assert!((9_700.0..=10_300.0).contains(&n), "{process:?}: {n}");
            // The integral to 50 s is a quarter of the whole.
            let half = times.iter().filter(|t| **t < 50.0).count() as f64;
            assert!((half / n - 0.25).abs() < 0.02, "{process:?}: {}", half / n);
            assert!(times.windows(2).all(|w| w[0] <= w[1]));
        }
        // Flat curves give the constant rate.
        let c = Curve::new(&[(0.0, 10.0)], 5.0, 15.0);
        assert_eq!(c.total(), 100.0);
        assert_eq!(c.inverse(50.0), Some(10.0));
        assert_eq!(c.inverse(100.0), None);
    }

    /// What `rcload validate` counts without drawing: exact for even arrivals at a constant
    /// rate, the integral of the rate otherwise.
    #[test]
    fn arrivals_are_counted_before_a_time_without_drawing_them() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        // Even arrivals at 200/s from 1 s to 61 s.
        let a = Arrivals::new(Arrival::Uniform, 200.0, 1.0, 61.0, &mut rng);
        assert_eq!(a.count_before_us(0), 0.0);
        assert_eq!(a.count_before_us(1_000_000), 0.0);
        assert_eq!(a.count_before_us(1_000_001), 1.0);
        assert_eq!(a.count_before_us(2_000_000), 200.0);
        assert_eq!(a.count_before_us(u64::MAX), 12_000.0);
        let mut drawn = a.clone();
        let mut n = 0;
        while let Some(t) = drawn.advance(&mut rng) {
            if secs_to_us(t) < 31_500_000 {
                n += 1;
            }
        }
        assert_eq!(a.count_before_us(31_500_000), f64::from(n));
        // Poisson, and curves: the integral of the rate.
        let p = Arrivals::new(Arrival::Poisson, 10.0, 5.0, 15.0, &mut rng);
        assert_eq!(p.count_before_us(10_000_000), 50.0);
        assert_eq!(p.count_before_us(99_000_000), 100.0);
        let c = Arrivals::with_curve(
            Arrival::Poisson,
            &[(0.0, 0.0), (100.0, 200.0)],
            0.0,
            100.0,
            &mut rng,
        );
        assert!((c.count_before_us(50_000_000) - 2_500.0).abs() < 1e-6);
        assert!((c.count_before_us(100_000_000) - 10_000.0).abs() < 1e-6);
        assert_eq!(c.breakpoints_s(), vec![0.0, 100.0], "where the rate bends");
    }
}
