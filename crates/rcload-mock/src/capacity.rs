//! The mock's finite capacity: its API is an M/G/c queue with `workers` servers.
//!
//! The model keeps one "free at" instant per worker. A request takes the worker that is free
//! first, starts at max(now, free at), finishes at start + its worker time, and moves that
//! worker's free-at instant to its finish; it then waits until the finish (one timer, no
//! sleeps that drift) and is handled. Requests whose start is still in the future are the
//! queue; when `queue_limit` of them wait, the next request that would have to wait is
//! refused at once (503 `overloaded`). The timing is pure ([`WorkerQueue`], tested on
//! synthetic times); [`ApiQueue`] adds the service-time draws, the clock and the counters.
//! Like the rest of the mock, this knows nothing of the load engine.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::spec::{Capacity, Sampler};
use rcload_api::Op;

/// The index of an operation's counters: its position in [`Op::EVERY`].
pub(crate) fn op_index(op: Op) -> usize {
    Op::EVERY.iter().position(|o| *o == op).unwrap_or(0)
}

/// When an admitted request starts and finishes its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub start: Instant,
    pub finish: Instant,
}

/// The pure timing of `c` workers with a bounded queue.
#[derive(Debug)]
pub(crate) struct WorkerQueue {
    /// One entry per worker: the instant it is free (min-heap).
    free_at: BinaryHeap<Reverse<Instant>>,
    /// Starts of admitted requests that were in the future when admitted (min-heap); those
    /// still in the future are the queue.
    waiting: BinaryHeap<Reverse<Instant>>,
    queue_limit: usize,
}

impl WorkerQueue {
    /// `workers` (at least one) free from `now`.
    pub(crate) fn new(workers: u32, queue_limit: u32, now: Instant) -> Self {
        let n = usize::try_from(workers.max(1)).unwrap_or(1);
        Self {
            free_at: std::iter::repeat_n(Reverse(now), n).collect(),
            waiting: BinaryHeap::new(),
            queue_limit: usize::try_from(queue_limit).unwrap_or(usize::MAX),
        }
    }

    /// Forgets the waiting requests that have started by `now`.
    fn expire(&mut self, now: Instant) {
        while self.waiting.peek().is_some_and(|Reverse(t)| *t <= now) {
            self.waiting.pop();
        }
    }

    /// Requests whose start is after `now`.
    pub(crate) fn depth(&mut self, now: Instant) -> usize {
        self.expire(now);
        self.waiting.len()
    }

    /// Requests in service at `now`: workers busy at `now` (a worker's busy time is one
    /// contiguous stretch up to its free-at instant, so busy means serving).
    pub(crate) fn in_service(&self, now: Instant) -> usize {
        self.free_at.iter().filter(|Reverse(t)| *t > now).count()
    }

    /// Admits a request arriving at `now` needing `work` of worker time; `None` when it would
    /// have to wait and the queue is at its limit (nothing changes then).
    pub(crate) fn admit(&mut self, now: Instant, work: Duration) -> Option<Slot> {
        self.expire(now);
        let mut first = self.free_at.peek_mut()?;
        let start = first.0.max(now);
        if start > now && self.waiting.len() >= self.queue_limit {
            return None;
        }
        let finish = later(start, work);
        first.0 = finish;
        drop(first);
        if start > now {
            self.waiting.push(Reverse(start));
        }
        Some(Slot { start, finish })
    }
}

/// `t + d`, or `t` plus about 34 years if that is not representable.
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(1 << 30)))
        .unwrap_or(t)
}

/// What a request costs beyond its service time, as counted from the model before it is
/// queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Work {
    /// Events the request fans out (one per receiving stream).
    pub events: u64,
    /// Registered terminals on the talkgroups a `PUT talkgroups` attaches.
    pub terminals: u64,
}

/// The answer for a request refused because the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overloaded;

/// A snapshot of the queue for `/metrics`.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueueStats {
    pub workers: u32,
    pub depth: usize,
    pub in_service: usize,
    /// Per operation (index into [`Op::EVERY`]): requests seen, requests refused.
    pub requests: Vec<u64>,
    pub rejected: Vec<u64>,
    /// Total time admitted requests waited for a worker.
    pub wait: Duration,
}

#[derive(Debug)]
struct Timing {
    workers: WorkerQueue,
    rng: Xoshiro256PlusPlus,
    wait_ns: u128,
}

/// The API's workers as used by the handlers: draws service times, admits or refuses, and
/// waits until the request's finish.
#[derive(Debug)]
pub(crate) struct ApiQueue {
    /// No request ever waits (every time and cost is zero): skip the model altogether.
    instant: bool,
    workers: u32,
    /// Per operation (index into [`Op::EVERY`]).
    samplers: Vec<Sampler>,
    fanout_cost: Duration,
    attach_cost: Duration,
    requests: Vec<AtomicU64>,
    rejected: Vec<AtomicU64>,
    timing: Mutex<Timing>,
}

impl ApiQueue {
    pub(crate) fn new(cap: &Capacity, seed: u64) -> Self {
        let samplers = Op::EVERY
            .iter()
            .map(|op| {
                cap.service
                    .get(op.name())
                    .map_or(Sampler::Fixed(Duration::ZERO), Sampler::new)
            })
            .collect::<Vec<_>>();
        let counters = || Op::EVERY.iter().map(|_| AtomicU64::new(0)).collect();
        Self {
            instant: cap.is_instant(),
            workers: cap.workers,
            samplers,
            fanout_cost: cap.fanout_cost,
            attach_cost: cap.attach_cost,
            requests: counters(),
            rejected: counters(),
            timing: Mutex::new(Timing {
                workers: WorkerQueue::new(cap.workers, cap.queue_limit, Instant::now()),
                rng: Xoshiro256PlusPlus::seed_from_u64(seed),
                wait_ns: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Timing> {
        // Nothing panics while holding it; the timing stays consistent.
        self.timing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether requests may wait (otherwise [`ApiQueue::serve`] returns at once).
    #[cfg(test)]
    pub(crate) fn queues(&self) -> bool {
        !self.instant
    }

    /// Whether the worker time depends on the fan-out or attach counts (so they must be
    /// counted before queueing).
    pub(crate) fn needs_work(&self) -> bool {
        let free = self.fanout_cost.is_zero() && self.attach_cost.is_zero();
        !self.instant && !free
    }

    /// Counts a request of `op` that is not queued (opening an event stream).
    pub(crate) fn count(&self, op: usize) {
        if let Some(c) = self.requests.get(op) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues one request of `op`: returns once its work is done, or at once with
    /// [`Overloaded`]. A request whose worker time is zero on a free worker does not sleep.
    pub(crate) async fn serve(&self, op: usize, work: Work) -> Result<(), Overloaded> {
        self.count(op);
        if self.instant {
            return Ok(());
        }
        let extra = self
            .fanout_cost
            .saturating_mul(u32::try_from(work.events).unwrap_or(u32::MAX))
            .saturating_add(
                self.attach_cost
                    .saturating_mul(u32::try_from(work.terminals).unwrap_or(u32::MAX)),
            );
        let slot = {
            let mut t = self.lock();
            let Timing { workers, rng, .. } = &mut *t;
            let service = match self.samplers.get(op) {
                Some(s) if !s.is_zero() => s.sample(rng),
                _ => Duration::ZERO,
            };
            let now = Instant::now();
            let slot = workers.admit(now, service.saturating_add(extra));
            if let Some(s) = slot {
                t.wait_ns += s.start.saturating_duration_since(now).as_nanos();
            }
            (slot, now)
        };
        match slot {
            (None, _) => {
                if let Some(c) = self.rejected.get(op) {
                    c.fetch_add(1, Ordering::Relaxed);
                }
                Err(Overloaded)
            }
            (Some(s), now) => {
                if s.finish > now {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(s.finish)).await;
                }
                Ok(())
            }
        }
    }

    /// The queue now, for `/metrics`.
    pub(crate) fn stats(&self) -> QueueStats {
        let load = |v: &[AtomicU64]| v.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let (depth, in_service, wait_ns) = if self.instant {
            (0, 0, 0)
        } else {
            let mut t = self.lock();
            let now = Instant::now();
            let depth = t.workers.depth(now);
            (depth, t.workers.in_service(now), t.wait_ns)
        };
        QueueStats {
            workers: self.workers,
            depth,
            in_service,
            requests: load(&self.requests),
            rejected: load(&self.rejected),
            wait: Duration::from_nanos(u64::try_from(wait_ns).unwrap_or(u64::MAX)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Exp};

    fn ms(n: f64) -> Duration {
        Duration::from_secs_f64(n / 1000.0)
    }

    #[test]
    fn free_workers_start_at_once() {
        let t0 = Instant::now();
        let mut q = WorkerQueue::new(2, 10, t0);
        let a = q.admit(t0, ms(5.0)).unwrap();
        let b = q.admit(t0, ms(5.0)).unwrap();
        assert_eq!((a.start, b.start), (t0, t0));
        assert_eq!(q.in_service(t0), 2);
        assert_eq!(q.depth(t0), 0);
        // the third waits for the first free worker
        let c = q.admit(t0 + ms(1.0), ms(5.0)).unwrap();
        assert_eq!(c.start, t0 + ms(5.0));
        assert_eq!(c.finish, t0 + ms(10.0));
        assert_eq!(q.depth(t0 + ms(1.0)), 1);
        assert_eq!(q.depth(t0 + ms(5.0)), 0);
        assert_eq!(q.in_service(t0 + ms(7.0)), 1);
        assert_eq!(q.in_service(t0 + ms(10.0)), 0);
        // zero work on a free worker: no wait at all
        let d = q.admit(t0 + ms(20.0), Duration::ZERO).unwrap();
        assert_eq!(d.start, d.finish);
    }

    #[test]
    fn queue_limit_refuses_only_waiting_requests() {
        let t0 = Instant::now();
        let mut q = WorkerQueue::new(1, 2, t0);
        assert!(q.admit(t0, ms(10.0)).is_some()); // in service
        assert!(q.admit(t0, ms(10.0)).is_some()); // waits (1)
        assert!(q.admit(t0, ms(10.0)).is_some()); // waits (2)
        assert!(q.admit(t0, ms(10.0)).is_none(), "third waiting one refused");
        assert_eq!(q.depth(t0), 2);
        // once the first waiting one started, there is room again
        let late = t0 + ms(10.0);
        assert_eq!(q.depth(late), 1);
        let s = q.admit(late, ms(10.0)).unwrap();
        assert_eq!(s.start, t0 + ms(30.0));
        // a queue limit of 0 is a loss system: no waiting at all
        let mut loss = WorkerQueue::new(1, 0, t0);
        assert!(loss.admit(t0, ms(10.0)).is_some());
        assert!(loss.admit(t0 + ms(5.0), ms(10.0)).is_none());
        assert!(loss.admit(t0 + ms(10.0), ms(10.0)).is_some());
    }

    /// Mean wait of `n` Poisson arrivals at `rate`/s on `c` workers with fixed `service`.
    fn simulate(seed: u64, n: usize, rate: f64, c: u32, service: Duration) -> (f64, usize) {
        let t0 = Instant::now();
        let mut q = WorkerQueue::new(c, u32::MAX, t0);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let gap = Exp::new(rate).unwrap();
        let mut t = t0;
        let mut wait = 0.0;
        let mut max_depth = 0;
        for _ in 0..n {
            t += Duration::from_secs_f64(gap.sample(&mut rng));
            let s = q.admit(t, service).unwrap();
            wait += (s.start - t).as_secs_f64();
            max_depth = max_depth.max(q.depth(t));
        }
        (wait / n as f64, max_depth)
    }

    /// Erlang C: probability of waiting in M/M/c with offered load `a` = lambda/mu.
    fn erlang_c(c: u32, a: f64) -> f64 {
        let mut term = 1.0;
        let mut sum = 0.0;
        for k in 0..c {
            if k > 0 {
                term *= a / f64::from(k);
            }
            sum += term;
        }
        let top = term * a / f64::from(c) / (1.0 - a / f64::from(c));
        top / (sum + top)
    }

    /// 2 workers, fixed 5 ms, Poisson arrivals at 300/s (utilisation 0.75): the mean wait is
    /// the M/D/2 value (Cosmetatos' approximation, 3.3 ms).
    #[test]
    fn md2_mean_wait() {
        let (c, rate, d) = (2u32, 300.0, 0.005);
        let a = rate * d;
        let rho = a / f64::from(c);
        let wq_mmc = erlang_c(c, a) / (f64::from(c) / d - rate);
        let cf = f64::from(c);
        let wq_mdc = 0.5
            * (1.0
                + (1.0 - rho) * (cf - 1.0) * ((4.0 + 5.0 * cf).sqrt() - 2.0) / (16.0 * rho * cf))
            * wq_mmc;
        assert!((wq_mdc - 0.00327).abs() < 0.0001, "{wq_mdc}");
        // 1,000 requests per run, averaged over 40 seeded runs
        let runs = 40;
        let mean: f64 = (0..runs)
            .map(|seed| simulate(seed, 1_000, rate, c, Duration::from_secs_f64(d)).0)
            .sum::<f64>()
            / f64::from(runs as u32);
        let err = (mean - wq_mdc).abs() / wq_mdc;
        eprintln!(
            "M/D/2 at 300/s: simulated mean wait {:.3} ms, M/D/2 {:.3} ms, M/M/2 {:.3} ms",
            mean * 1e3,
            wq_mdc * 1e3,
            wq_mmc * 1e3
        );
        assert!(
            err < 0.15,
            "mean wait {:.3} ms, M/D/2 {:.3} ms",
            mean * 1e3,
            wq_mdc * 1e3
        );
        // and well below the M/M/2 value (fixed service waits about half as long)
        assert!(mean < 0.7 * wq_mmc, "{mean} vs M/M/2 {wq_mmc}");
    }

    /// At 500/s (utilisation 1.25) the queue grows without bound until the limit refuses.
    #[test]
    fn overload_grows_the_queue_until_refused() {
        let (_, unbounded_depth) = simulate(7, 1_000, 500.0, 2, ms(5.0));
        // about 100 more arrivals than departures per second over 2 s
        assert!(unbounded_depth > 120, "depth {unbounded_depth}");

        let t0 = Instant::now();
        let limit = 50;
        let mut q = WorkerQueue::new(2, limit, t0);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let gap = Exp::new(500.0).unwrap();
        let mut t = t0;
        let mut depths = Vec::new();
        let (mut ok, mut refused, mut last_finish) = (0u32, 0u32, t0);
        for _ in 0..1_000 {
            t += Duration::from_secs_f64(gap.sample(&mut rng));
            match q.admit(t, ms(5.0)) {
                Some(s) => {
                    ok += 1;
                    last_finish = s.finish;
                }
                None => refused += 1,
            }
            let d = q.depth(t);
            assert!(d <= limit as usize);
            depths.push(d);
        }
        assert!(refused > 100, "refused {refused}");
        assert!(depths.contains(&(limit as usize)));
        // served at the capacity of 2 workers: 400/s
        let throughput = f64::from(ok) / (last_finish - t0).as_secs_f64();
        assert!((throughput - 400.0).abs() < 20.0, "{throughput}/s");
        // queue grows: its depth in the second half is mostly at the limit
        let late = &depths[depths.len() / 2..];
        let full = late.iter().filter(|&&d| d + 5 >= limit as usize).count();
        assert!(full * 2 > late.len(), "{full} of {}", late.len());
    }
}
