//! The engine: issues every scheduled action at its intended time through a [`Target`],
//! whatever the target does (open model), holds console event streams, matches what arrives
//! against what was sent, and finds drops and disconnects (through `crate::detect`).
//!
//! It emits [`Outcome`]s on a channel and keeps no statistics itself. It knows nothing of the
//! CLI, of files or of how results are shown.

mod clock;
mod console;
pub mod deliveries;
pub mod gauges;
pub mod outcome;
pub mod preflight;
pub mod state;
pub mod teardown;

pub use gauges::{GaugeReading, Gauges};
pub use outcome::{Delivery, Outcome, SkipReason};
pub use teardown::{Left, TeardownConfig, TeardownReport};

use crate::profile::Phase;
use crate::schedule::{Action, ActionKind, Ownership, Schedule, Shard};
use crate::targets::{OwnRequest, Reply, Target};
use state::{Completion, Effects, World};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{Semaphore, mpsc, watch};

/// How consoles watch their streams and recover (from the profile's `checks`).
#[derive(Debug, Clone)]
pub struct ConsoleChecks {
    /// Consecutive misses on one console and talkgroup that make a drop (0: never).
    pub missed_for_drop: u32,
    /// Re-attach dropped talkgroups.
    pub reattach: bool,
    /// A stream with no bytes for this long is lost (zero: never).
    pub stream_idle_timeout: Duration,
    pub reconnect_initial: Duration,
    pub reconnect_max: Duration,
    /// Share (0..1) by which a reconnect wait may be shortened at random.
    pub reconnect_jitter: f64,
}

impl Default for ConsoleChecks {
    fn default() -> Self {
        ConsoleChecks {
            missed_for_drop: 2,
            reattach: true,
            stream_idle_timeout: Duration::from_secs(45),
            reconnect_initial: Duration::from_millis(200),
            reconnect_max: Duration::from_secs(10),
            reconnect_jitter: 0.2,
        }
    }
}

/// `--dispatch-resolution`'s default: about the CPU of tokio's millisecond tick (0-7 % more
/// on this project's machine) with lateness p99 under 0.8 ms (see `clock`).
pub const DEFAULT_DISPATCH_RESOLUTION: Duration = Duration::from_micros(750);

/// Settings of the engine (from the run config; no CLI types here).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Most requests in flight at once. When full, a due action waits for a free slot: the
    /// wait is counted (`throttled`) and shows as generator lateness.
    pub max_in_flight: usize,
    /// An action nearer than this is sent at the next multiple of it from t=0, with the others
    /// due by then; a further one at its own microsecond (zero: every action alone). Bounds
    /// the dispatch loop's wakes, and so its CPU, at the price of lateness under it.
    pub dispatch_resolution: Duration,
    /// An expected event not received this long after its action's intended time is missed.
    pub delivery_timeout: Duration,
    /// After an interruption, how long to wait for requests in flight.
    pub grace: Duration,
    /// After the last action, how long to wait for requests in flight.
    pub drain_timeout: Duration,
    /// The run's t=0; `None`: `start_delay` from now.
    pub start_at: Option<Instant>,
    /// Delay between start-up and the run's t=0, so the first actions are not late.
    pub start_delay: Duration,
    pub checks: ConsoleChecks,
    /// Seed for the engine's own random choices (reconnect jitter).
    pub seed: u64,
    /// Live counters the engine keeps up to date for samplers.
    pub gauges: Arc<Gauges>,
    /// End what the run left open on the target after the load (and after an interruption);
    /// `None`: leave it (`--no-teardown`).
    pub teardown: Option<TeardownConfig>,
    /// The shard of a sharded run (`--shard I/N`): only its own actions are sent; the
    /// others' are modelled for the deliveries they cause at its consoles.
    pub shard: Shard,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_in_flight: 10_000,
            dispatch_resolution: DEFAULT_DISPATCH_RESOLUTION,
            delivery_timeout: Duration::from_secs(5),
            grace: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(31),
            start_at: None,
            start_delay: Duration::from_millis(100),
            checks: ConsoleChecks::default(),
            seed: 0,
            gauges: Arc::default(),
            teardown: None,
            shard: Shard::WHOLE,
        }
    }
}

/// What the engine reports about itself when the run ends.
#[derive(Debug, Clone)]
pub struct EngineReport {
    pub actions_scheduled: u64,
    pub actions_sent: u64,
    pub interrupted: bool,
    pub started_at: SystemTime,
    /// Seconds from the run's t=0 to the end of dispatching.
    pub load_s: f64,
    /// What the teardown did; `None` when there was none.
    pub teardown: Option<TeardownReport>,
    /// What the run left open on the target when it skipped its teardown.
    pub left_without_teardown: Left,
}

/// State shared by the engine's tasks.
pub(crate) struct Shared {
    world: Mutex<World>,
    target: Arc<dyn Target>,
    tx: mpsc::UnboundedSender<Outcome>,
    start: Instant,
    phases: Vec<Phase>,
    config: EngineConfig,
}

impl Shared {
    fn world(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock would be a bug in the engine; keep going with the
        // data rather than lose the run.
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn us_at(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.start).as_micros()).unwrap_or(u64::MAX)
    }

    fn now_us(&self) -> u64 {
        self.us_at(Instant::now())
    }

    fn emit(&self, o: Outcome) {
        // The receiver is gone only when the run is being torn down.
        let _ = self.tx.send(o);
    }

    /// Emit a state change's outcomes, and start nothing (the run is ending).
    fn apply_outcomes(&self, fx: Effects) {
        for o in fx.outcomes {
            self.emit(o);
        }
    }

    /// Carry out what a state change asks for: emit its outcomes, start its re-attaches.
    fn apply(self: &Arc<Self>, fx: Effects) {
        for o in fx.outcomes {
            self.emit(o);
        }
        for (console, epoch) in fx.reattach {
            tokio::spawn(console::reattach(self.clone(), console, epoch));
        }
    }
}

/// Resolves once `stop` turns true; never if its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Run a schedule against a target until it ends or `stop` turns true.
pub async fn run(
    schedule: Schedule,
    target: Arc<dyn Target>,
    config: EngineConfig,
    tx: mpsc::UnboundedSender<Outcome>,
    mut stop: watch::Receiver<bool>,
) -> EngineReport {
    let delivery_timeout_us =
        u64::try_from(config.delivery_timeout.as_micros()).unwrap_or(u64::MAX);
    let world = World::new(
        schedule.population().clone(),
        delivery_timeout_us,
        config.checks.missed_for_drop,
        config.checks.reattach,
    )
    .with_shard(config.shard);
    let start = config
        .start_at
        .unwrap_or_else(|| Instant::now() + config.start_delay);
    let started_at = SystemTime::now() + start.saturating_duration_since(Instant::now());
    let cap = config
        .max_in_flight
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let shared = Arc::new(Shared {
        world: Mutex::new(world),
        target,
        tx,
        start,
        phases: schedule.phases().to_vec(),
        config: config.clone(),
    });
    let slots = Arc::new(Semaphore::new(cap));

    // Requests that waited for a connection (`--max-connections-per-host`) were held back
    // like a full in-flight cap holds an action back: each is counted as throttled.
    let connection_waits = Arc::new(std::sync::atomic::AtomicU64::new(
        shared.target.connection_waits(),
    ));
    let sweeper = tokio::spawn(sweep(shared.clone(), connection_waits.clone()));
    // The target's own requests (token fetches) are measured like the engine's.
    let own = shared
        .target
        .take_own_requests()
        .map(|rx| tokio::spawn(own_requests(shared.clone(), rx)));

    let mut d = dispatch(schedule, &shared, &slots, &mut stop).await;
    let load_s = shared.start.elapsed().as_secs_f64();

    // Requests in flight: wait for them (bounded).
    let wait = if d.interrupted {
        config.grace
    } else {
        config.drain_timeout
    };
    let _ = tokio::time::timeout(wait, slots.acquire_many(cap as u32)).await;
    // Deliveries still expected: wait until they arrive or time out, unless interrupted.
    if !d.interrupted {
        let until = d.last_at_us + delivery_timeout_us + 50_000;
        d.interrupted = !await_deliveries(&shared, until, &mut stop).await;
    }
    sweeper.abort();
    throttle_waits(&shared, &connection_waits);
    if let Some(own) = own {
        own.abort();
    }
    close(&shared, d.interrupted);
    // The consoles' streams are closed; end what the run left open on the target.
    let (teardown, left_without_teardown) = match config.teardown {
        Some(t) => (Some(teardown::run(&shared, t).await), Left::default()),
        None => (None, Left::of(&shared.world().leftovers())),
    };
    EngineReport {
        actions_scheduled: d.scheduled,
        actions_sent: d.sent,
        interrupted: d.interrupted,
        started_at,
        load_s,
        teardown,
        left_without_teardown,
    }
}

/// Every 20 ms while the run lasts: count connection waits as throttled, expire the
/// deliveries that are overdue, and (every 100 ms) set the population gauges.
async fn sweep(shared: Arc<Shared>, seen: Arc<std::sync::atomic::AtomicU64>) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0u64.. {
        tick.tick().await;
        throttle_waits(&shared, &seen);
        let now = shared.now_us();
        let mut fx = Effects::default();
        {
            let mut w = shared.world();
            let missed = w.deliveries.expire(now);
            w.resolve(missed, &mut fx);
            // Who is logged in and registered, every 100 ms (a scan of the state).
            if n % 5 == 0 {
                let (c, t) = w.population_now();
                shared.config.gauges.set_population(c, t);
            }
        }
        shared.apply(fx);
    }
}

/// The target's own requests (token fetches), each an operation's outcome.
async fn own_requests(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<OwnRequest>) {
    while let Some(r) = rx.recv().await {
        let took = micros(r.took);
        shared.emit(Outcome::Op {
            op: r.op,
            phase: console::phase_now(&shared),
            intended_us: shared.us_at(r.sent),
            lateness_us: None,
            latency_us: took,
            service_us: took,
            error: r.error,
            probe: false,
        });
    }
}

/// What the dispatch of a schedule did.
struct Dispatched {
    /// Actions of this shard that came due.
    scheduled: u64,
    /// Actions whose request was started.
    sent: u64,
    interrupted: bool,
    /// The last action's intended time, µs from t=0.
    last_at_us: u64,
}

/// Start each action of `schedule` at its intended time, or at the next point of the dispatch
/// grid when it is near (see `clock`), each in a task of its own holding one of `slots`; until
/// the schedule ends or `stop` turns true.
async fn dispatch(
    schedule: Schedule,
    shared: &Arc<Shared>,
    slots: &Arc<Semaphore>,
    stop: &mut watch::Receiver<bool>,
) -> Dispatched {
    let config = &shared.config;
    let clock = clock::Clock::new(shared.start, config.dispatch_resolution);
    let mut d = Dispatched {
        scheduled: 0,
        sent: 0,
        interrupted: false,
        last_at_us: 0,
    };
    let gauges = config.gauges.clone();
    let mut ownership = Ownership::new(config.shard);
    for action in schedule {
        let own = ownership.owns(&action);
        if !own && console_action(&action.kind) {
            // Another shard's console: nothing of it happens here.
            continue;
        }
        if own {
            d.scheduled += 1;
        }
        // Deliveries of another shard's action are awaited here too.
        d.last_at_us = action.at_us;
        let intended = shared.start + Duration::from_micros(action.at_us);
        if Instant::now() < intended {
            tokio::select! {
                _ = clock.sleep_until(intended) => {}
                _ = stopped(stop) => { d.interrupted = true; break; }
            }
        } else if *stop.borrow() {
            d.interrupted = true;
            break;
        }
        if !own {
            let mut fx = Effects::default();
            shared.world().shadow(&action, &mut fx);
            shared.apply(fx);
            continue;
        }
        gauges.add_due();
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                shared.emit(Outcome::Throttled);
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    _ = stopped(stop) => { d.interrupted = true; break; }
                }
            }
        };
        if !shared.target.supports(action.kind.op()) {
            shared.world().unsupported(&action);
            shared.emit(Outcome::Skipped {
                op: action.kind.op(),
                reason: SkipReason::Unsupported,
            });
            continue;
        }
        let mut fx = Effects::default();
        let prepared = shared.world().prepare(&action, &mut fx);
        shared.apply(fx);
        match prepared {
            Err(reason) => shared.emit(Outcome::Skipped {
                op: action.kind.op(),
                reason,
            }),
            Ok((request, completion)) => {
                d.sent += 1;
                gauges.add_sent();
                let shared = shared.clone();
                tokio::spawn(async move {
                    perform(&shared, &action, intended, request, completion).await;
                    shared.config.gauges.add_done();
                    drop(permit);
                });
            }
        }
    }
    d
}

/// Wait until no delivery is expected any more or `until` (µs from t=0) has passed; false
/// when `stop` turned true first.
async fn await_deliveries(shared: &Shared, until: u64, stop: &mut watch::Receiver<bool>) -> bool {
    loop {
        if shared.world().deliveries.pending() == 0 || shared.now_us() > until {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = stopped(stop) => return false,
        }
    }
}

/// The end of the load: the population gauges set, the deliveries still expected missed (or,
/// when interrupted, forgotten), the consoles' sessions ended; their outcomes emitted, and
/// nothing new started.
fn close(shared: &Shared, interrupted: bool) {
    let mut fx = Effects::default();
    {
        let mut w = shared.world();
        let (c, t) = w.population_now();
        shared.config.gauges.set_population(c, t);
        if interrupted {
            w.deliveries.clear();
        } else {
            let missed = w.deliveries.expire_all(shared.now_us());
            w.resolve(missed, &mut fx);
        }
        for c in &mut w.consoles {
            if let Some(h) = c.task.take() {
                h.abort();
            }
        }
    }
    shared.apply_outcomes(fx);
}

/// Is this a console's action (login, logout, audit)?
fn console_action(kind: &ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Login { .. } | ActionKind::Logout { .. } | ActionKind::Audit { .. }
    )
}

/// A throttled outcome for each connection wait since the last look.
fn throttle_waits(shared: &Shared, seen: &std::sync::atomic::AtomicU64) {
    let now = shared.target.connection_waits();
    let before = seen.swap(now, std::sync::atomic::Ordering::Relaxed);
    for _ in before..now {
        shared.emit(Outcome::Throttled);
    }
}

/// Send one action's request, record it, update the state, and start a console's session
/// after its login.
async fn perform(
    shared: &Arc<Shared>,
    action: &Action,
    intended: Instant,
    request: crate::targets::Request,
    completion: Completion,
) {
    let key = state::delivery_key(&request);
    let sent = Instant::now();
    let result = shared.target.perform(request).await;
    let done = Instant::now();
    let mut fx = Effects::default();
    {
        let mut w = shared.world();
        if let (Err(_), Some(key)) = (&result, &key) {
            // A failed request causes no events (a timed-out one may have, but that is
            // unknowable): nothing is expected of it.
            w.deliveries.cancel(key);
        }
        w.complete(&completion, &result, shared.us_at(done), &mut fx);
    }
    shared.emit(Outcome::Op {
        op: action.kind.op(),
        phase: action.phase,
        intended_us: action.at_us,
        lateness_us: Some(micros(sent.saturating_duration_since(intended))),
        latency_us: micros(done.saturating_duration_since(intended)),
        service_us: micros(done.saturating_duration_since(sent)),
        error: result.as_ref().err().map(|e| e.class()),
        probe: action.kind.is_probe(),
    });
    shared.apply(fx);
    if let (ActionKind::Login { console, .. }, Ok(Reply::Done), Completion::Login { epoch, .. }) =
        (&action.kind, &result, &completion)
    {
        let task = tokio::spawn(console::session(
            shared.clone(),
            *console,
            *epoch,
            action.phase,
        ));
        let mut w = shared.world();
        if w.in_session(*console, *epoch) {
            if let Some(old) = w.consoles[*console as usize]
                .task
                .replace(task.abort_handle())
            {
                old.abort();
            }
        } else {
            task.abort();
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
