//! The mock's in-memory model of a radio-control system and its event fan-out.
//!
//! Consoles (logged in or not, with their monitored talkgroups and open event streams),
//! terminals (registered or not, with their talkgroup) and calls live here behind one
//! `std::sync::Mutex`. Every operation is a short critical section with no await inside.
//! Events are serialized once per fan-out into a shared [`Frame`] that each receiving stream
//! gets a reference to.
//!
//! Each stream has a bounded queue (`event_buffer` events) that its SSE body drains (at
//! `console_drain_rate` at most, see `sse.rs`), and a control lane that bypasses the queue
//! for the events that must reach the client next (`console.kicked`, `talkgroup.dropped` of
//! an overflow). What happens to an event that does not fit is the overflow policy
//! ([`Overflow`]): kick the stream, drop the event's talkgroup from the console, or make the
//! fan-out wait ([`Pending`], awaited by the handler after the lock is released).
//!
//! The API's worker queue ([`ApiQueue`]) lives here too: [`MockState::serve`] counts what a
//! request will fan out from the model and queues it. The faults of `faults.rs` act on the
//! model through [`MockState::fault_talkgroup`] and [`MockState::kick`]. Like the rest of the
//! mock, this knows nothing of the load engine.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};

use super::capacity::{ApiQueue, Overloaded, QueueStats, Work, op_index};
use super::spec::{Capacity, Overflow};
use rcload_api::{CallKind, Event, Op};

/// The `reason` of the events an overflow sends (`console.kicked`, `talkgroup.dropped`).
pub(crate) const SLOW_CONSUMER: &str = "slow_consumer";

/// One SSE message as shared by every stream it goes to: the bytes
/// `event: <type>\ndata: <json>\n\n`. The writer inserts the per-stream `id:` line after the
/// first line (see `sse.rs`).
pub(crate) type Frame = Arc<[u8]>;

/// Why an operation was refused (mapped to HTTP answers in `error.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StateError {
    #[error("console is already logged in")]
    AlreadyLoggedIn,
    #[error("console is not logged in")]
    NotLoggedIn,
    #[error("terminal is not registered")]
    NotRegistered,
    #[error("no such call")]
    UnknownCall,
}

/// A monitored set larger than a console may have (`max_talkgroups_per_console`): refused
/// before any work (mapped to a 400 in `error.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a console may monitor at most {limit} talkgroups; this set has {got}")]
pub(crate) struct TooManyTalkgroups {
    pub limit: usize,
    pub got: usize,
}

/// A frame on a stream's control lane: written before anything queued; `close` ends the
/// stream right after it.
#[derive(Debug)]
pub(crate) struct Control {
    pub frame: Frame,
    pub close: bool,
}

/// An event stream just opened for a console: the receiving ends plus what is needed to
/// unregister it when the client goes away.
#[derive(Debug)]
pub(crate) struct OpenedStream {
    pub console_key: u64,
    pub stream_id: u64,
    pub rx: mpsc::Receiver<Frame>,
    pub control: mpsc::UnboundedReceiver<Control>,
    /// Events per second the body may write (`None`: unlimited).
    pub drain_rate: Option<f64>,
}

/// Events that did not fit in their streams' queues under the `delay` policy: the request
/// that fanned them out waits until each is queued ([`Pending::deliver`]), outside the lock.
#[derive(Debug, Default)]
pub(crate) struct Pending(Vec<(mpsc::Sender<Frame>, Frame)>);

impl Pending {
    /// Waits until every event is queued (or its stream is gone), in fan-out order.
    pub(crate) async fn deliver(self) {
        for (tx, frame) in self.0 {
            // An error means the stream is gone: nothing to wait for.
            let _ = tx.send(frame).await;
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// What a request will cost beyond its service time, named by what the model must look up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cost<'a> {
    /// No fan-out.
    Nothing,
    /// An event on this talkgroup.
    Talkgroup(u32),
    /// An event on the talkgroup of this registered terminal.
    Terminal(u32),
    /// An event on the talkgroup of this call.
    Call(&'a str),
    /// A `PUT talkgroups` of this console with this set.
    Attach(&'a str, &'a [u32]),
}

/// Counters of the model since start, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Events queued (or waiting, under `delay`) on a stream by a fan-out or an attach.
    pub fanned_out: u64,
    /// Events that did not fit in a stream's queue and were lost (kick, drop_talkgroups).
    pub overflow_dropped: u64,
    pub kicks_slow_consumer: u64,
    pub kicks_fault: u64,
    pub drops_slow_consumer: u64,
    pub drops_fault: u64,
}

/// The model now, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModelStats {
    pub consoles: usize,
    pub terminals: usize,
    /// Calls started and not ended.
    pub calls: usize,
    pub streams: usize,
    /// Events waiting in the fullest stream queue, and in all of them.
    pub queued_max: usize,
    pub queued_sum: usize,
    pub counters: Counters,
}

/// The whole in-memory system. Shared as `Arc<MockState>` by the handlers.
#[derive(Debug)]
pub(crate) struct MockState {
    inner: Mutex<Inner>,
    /// Set to `true` once on shutdown; every open stream watches it and ends.
    shutdown_tx: watch::Sender<bool>,
    /// The API's workers.
    queue: ApiQueue,
    /// Per-stream queue size, in events.
    event_buffer: usize,
    drain_rate: Option<f64>,
    /// The most talkgroups one console may monitor.
    max_talkgroups: usize,
    /// Connections open and cut (the accept loop counts them).
    conns: Arc<crate::conn::ConnStats>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Console id -> key of its current login (keys are never reused).
    names: HashMap<String, u64>,
    /// Logged-in consoles by login key.
    consoles: HashMap<u64, Console>,
    /// Talkgroup -> keys of the logged-in consoles monitoring it.
    monitors: HashMap<u32, HashSet<u64>>,
    /// ISSI -> talkgroup of every registered terminal.
    terminals: HashMap<u32, u32>,
    /// Talkgroup -> number of registered terminals on it (no zero entries).
    on_talkgroup: HashMap<u32, u64>,
    /// Call number (`c-<n>`) -> call.
    calls: HashMap<u64, Call>,
    next_key: u64,
    next_session: u64,
    next_stream: u64,
    next_call: u64,
    shutting_down: bool,
    /// What happens to an event that does not fit in a stream's queue.
    overflow: Overflow,
    /// With `drop_talkgroups`, slow-consumer drops after which a console is cut off.
    kick_after_drops: Option<u32>,
    counters: Counters,
}

#[derive(Debug)]
struct Console {
    name: String,
    operator: String,
    session: String,
    monitored: BTreeSet<u32>,
    /// Monitored talkgroups whose events a `blackhole` fault keeps from this console (until the
    /// next `PUT talkgroups` or logout).
    blackholed: HashSet<u32>,
    streams: Vec<StreamTx>,
    /// Talkgroups lost as a slow consumer since login (or since the last slow-consumer kick).
    slow_drops: u32,
}

/// What a fault does to one monitored talkgroup of one console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TalkgroupFault {
    /// Removed from the set, with `talkgroup.dropped` on the console's streams.
    Drop,
    /// Removed from the set without any event.
    SilentDrop,
    /// Kept in the set, but its events no longer reach the console.
    Blackhole,
}

#[derive(Debug)]
struct StreamTx {
    id: u64,
    tx: mpsc::Sender<Frame>,
    control: mpsc::UnboundedSender<Control>,
}

impl StreamTx {
    /// Puts `frame` on the control lane (written next; `close`: then the stream ends).
    fn send_control(&self, frame: &Frame, close: bool) {
        // An error means the body is gone: nothing to tell.
        let _ = self.control.send(Control {
            frame: Arc::clone(frame),
            close,
        });
    }

    /// Events waiting in this stream's queue.
    fn queued(&self) -> usize {
        self.tx.max_capacity().saturating_sub(self.tx.capacity())
    }
}

#[derive(Debug, Clone, Copy)]
struct Call {
    kind: CallKind,
    talkgroup: u32,
    caller: u32,
}

impl Default for MockState {
    fn default() -> Self {
        Self::new()
    }
}

impl MockState {
    /// A healthy mock (the default preset): no waiting anywhere.
    pub(crate) fn new() -> Self {
        Self::with_capacity(&Capacity::default(), 0)
    }

    /// A mock of the given capacity; `seed` seeds the service-time draws.
    pub(crate) fn with_capacity(cap: &Capacity, seed: u64) -> Self {
        Self {
            inner: Mutex::new(Inner {
                overflow: cap.on_overflow,
                kick_after_drops: cap.kick_after_drops,
                ..Inner::default()
            }),
            shutdown_tx: watch::Sender::new(false),
            queue: ApiQueue::new(cap, seed),
            event_buffer: usize::try_from(cap.event_buffer.max(1)).unwrap_or(65_536),
            drain_rate: cap.console_drain_rate.filter(|r| *r > 0.0),
            max_talkgroups: cap.max_talkgroups_per_console as usize,
            conns: Arc::default(),
        }
    }

    /// The lock. Nothing panics while holding it, so poisoning cannot happen; if it ever did,
    /// the data is still consistent enough for a mock and we carry on.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a request of operation `op` on the API's workers: returns once
    /// its work is done, or at once with [`Overloaded`]. What it fans out (and attaches) is
    /// counted from the model now, when the costs are not zero.
    pub(crate) async fn serve(&self, op: Op, cost: Cost<'_>) -> Result<(), Overloaded> {
        let i = op_index(op);
        let work = if self.queue.needs_work() {
            self.work(cost)
        } else {
            Work::default()
        };
        self.queue.serve(i, work).await
    }

    /// Counts a request of `op` that is not queued (opening an event stream).
    pub(crate) fn count_request(&self, op: Op) {
        self.queue.count(op_index(op));
    }

    /// Whether requests may wait for a worker.
    #[cfg(test)]
    pub(crate) fn queues(&self) -> bool {
        self.queue.queues()
    }

    /// What a request of `cost` fans out and attaches, by the model now.
    pub(crate) fn work(&self, cost: Cost<'_>) -> Work {
        let inner = self.lock();
        match cost {
            Cost::Nothing => Work::default(),
            Cost::Talkgroup(tg) => Work {
                events: inner.receivers(tg),
                terminals: 0,
            },
            Cost::Terminal(issi) => Work {
                events: inner
                    .terminals
                    .get(&issi)
                    .map_or(0, |&tg| inner.receivers(tg)),
                terminals: 0,
            },
            Cost::Call(call) => Work {
                events: parse_call_name(call)
                    .and_then(|n| inner.calls.get(&n))
                    .map_or(0, |c| inner.receivers(c.talkgroup)),
                terminals: 0,
            },
            Cost::Attach(console, tgs) => {
                let set: BTreeSet<u32> = tgs.iter().copied().collect();
                let terminals = set
                    .iter()
                    .map(|tg| inner.on_talkgroup.get(tg).copied().unwrap_or(0))
                    .sum();
                let events = inner.console(console).map_or(0, |c| {
                    let new = set.difference(&c.monitored).count();
                    (new * c.streams.len()) as u64
                });
                Work { events, terminals }
            }
        }
    }

    /// Logs `console` in; returns the new session string.
    pub(crate) fn login(&self, console: &str, operator: &str) -> Result<String, StateError> {
        let mut inner = self.lock();
        if inner.names.contains_key(console) {
            return Err(StateError::AlreadyLoggedIn);
        }
        inner.next_key += 1;
        inner.next_session += 1;
        let key = inner.next_key;
        let session = format!("s-{}", inner.next_session);
        inner.names.insert(console.to_owned(), key);
        inner.consoles.insert(
            key,
            Console {
                name: console.to_owned(),
                operator: operator.to_owned(),
                session: session.clone(),
                monitored: BTreeSet::new(),
                blackholed: HashSet::new(),
                streams: Vec::new(),
                slow_drops: 0,
            },
        );
        Ok(session)
    }

    /// Logs `console` out: forgets its monitored set and closes its streams.
    pub(crate) fn logout(&self, console: &str) -> Result<(), StateError> {
        let removed = {
            let mut inner = self.lock();
            let key = inner.names.remove(console).ok_or(StateError::NotLoggedIn)?;
            let removed = inner.consoles.remove(&key);
            if let Some(c) = &removed {
                for tg in &c.monitored {
                    inner.unmonitor(*tg, key);
                }
            }
            removed
        };
        // The senders (and so the streams) are dropped here, outside the lock.
        if let Some(c) = removed {
            tracing::debug!(
                console = %c.name,
                operator = %c.operator,
                session = %c.session,
                streams = c.streams.len(),
                "console logged out"
            );
        }
        Ok(())
    }

    /// Replaces the monitored set of `console`; answers the new set, sorted. Sends
    /// `talkgroup.attached` on the console's own streams for each newly added talkgroup.
    /// Clears every blackhole of the console (each talkgroup in the new set is a fresh
    /// subscription; the others are no longer monitored). Under `drop_talkgroups`, a
    /// talkgroup whose `talkgroup.attached` does not fit is dropped again at once (and is not
    /// in the answer).
    pub(crate) fn set_talkgroups(
        &self,
        console: &str,
        talkgroups: &[u32],
    ) -> Result<(Vec<u32>, Pending), StateError> {
        let new: BTreeSet<u32> = talkgroups.iter().copied().collect();
        let mut pending = Pending::default();
        let mut inner = self.lock();
        let key = *inner.names.get(console).ok_or(StateError::NotLoggedIn)?;
        let Inner {
            consoles,
            monitors,
            overflow,
            kick_after_drops,
            counters,
            ..
        } = &mut *inner;
        let Some(c) = consoles.get_mut(&key) else {
            return Err(StateError::NotLoggedIn); // names and consoles are kept in step
        };
        for tg in c.monitored.difference(&new) {
            if let Some(set) = monitors.get_mut(tg) {
                set.remove(&key);
                if set.is_empty() {
                    monitors.remove(tg);
                }
            }
        }
        let ts = now_ms();
        let mut overflowed = Vec::new();
        let mut out = Outbox::new(*overflow, *kick_after_drops, &mut pending, counters);
        for &tg in new.difference(&c.monitored) {
            monitors.entry(tg).or_default().insert(key);
            if !c.streams.is_empty()
                && let Some(frame) = encode(Event::TalkgroupAttached { talkgroup: tg }, ts)
                && out.offer_all(&mut c.streams, &frame)
            {
                overflowed.push(tg);
            }
        }
        c.monitored = new;
        c.blackholed.clear();
        for tg in overflowed {
            out.drop_talkgroup(c, tg);
            if let Some(set) = monitors.get_mut(&tg) {
                set.remove(&key);
                if set.is_empty() {
                    monitors.remove(&tg);
                }
            }
        }
        let answer = c.monitored.iter().copied().collect();
        drop(inner);
        Ok((answer, pending))
    }

    /// Refuses a set of more distinct talkgroups than one console may monitor (checked by the
    /// handlers before the request is queued).
    pub(crate) fn check_talkgroup_count(
        &self,
        talkgroups: &[u32],
    ) -> Result<(), TooManyTalkgroups> {
        let limit = self.max_talkgroups;
        if talkgroups.len() <= limit {
            return Ok(());
        }
        let got = talkgroups.iter().collect::<HashSet<_>>().len();
        if got > limit {
            return Err(TooManyTalkgroups { limit, got });
        }
        Ok(())
    }

    /// The monitored set of `console`, sorted.
    pub(crate) fn talkgroups(&self, console: &str) -> Result<Vec<u32>, StateError> {
        let inner = self.lock();
        let c = inner.console(console).ok_or(StateError::NotLoggedIn)?;
        Ok(c.monitored.iter().copied().collect())
    }

    /// Opens a new event stream for `console`. After shutdown the stream is closed at once.
    pub(crate) fn open_stream(&self, console: &str) -> Result<OpenedStream, StateError> {
        let (tx, rx) = mpsc::channel(self.event_buffer);
        let (control_tx, control) = mpsc::unbounded_channel();
        let mut inner = self.lock();
        let key = *inner.names.get(console).ok_or(StateError::NotLoggedIn)?;
        inner.next_stream += 1;
        let id = inner.next_stream;
        let shutting_down = inner.shutting_down;
        if let Some(c) = inner.consoles.get_mut(&key)
            && !shutting_down
        {
            c.streams.push(StreamTx {
                id,
                tx,
                control: control_tx,
            });
        }
        Ok(OpenedStream {
            console_key: key,
            stream_id: id,
            rx,
            control,
            drain_rate: self.drain_rate,
        })
    }

    /// Forgets a stream whose client went away (no-op if already gone).
    pub(crate) fn close_stream(&self, console_key: u64, stream_id: u64) {
        let removed = {
            let mut inner = self.lock();
            let Some(c) = inner.consoles.get_mut(&console_key) else {
                return;
            };
            let pos = c.streams.iter().position(|s| s.id == stream_id);
            pos.map(|i| c.streams.swap_remove(i))
        };
        drop(removed);
    }

    /// (Re)registers terminal `issi` on `talkgroup`; fans out `terminal.registered`.
    pub(crate) fn register(&self, issi: u32, talkgroup: u32) -> Pending {
        let mut inner = self.lock();
        inner.place_terminal(issi, Some(talkgroup));
        inner.fan_out(talkgroup, || Event::TerminalRegistered { issi, talkgroup })
    }

    /// Deregisters `issi`; fans out `terminal.deregistered` on the talkgroup it was on.
    pub(crate) fn deregister(&self, issi: u32) -> Result<Pending, StateError> {
        let mut inner = self.lock();
        let talkgroup = inner
            .place_terminal(issi, None)
            .ok_or(StateError::NotRegistered)?;
        Ok(inner.fan_out(talkgroup, || Event::TerminalDeregistered {
            issi,
            talkgroup,
        }))
    }

    /// Moves registered terminal `issi` to `talkgroup` (no event).
    /// The talkgroup registered terminal `issi` is on.
    pub(crate) fn terminal(&self, issi: u32) -> Result<u32, StateError> {
        self.lock()
            .terminals
            .get(&issi)
            .copied()
            .ok_or(StateError::NotRegistered)
    }

    pub(crate) fn affiliate(&self, issi: u32, talkgroup: u32) -> Result<(), StateError> {
        let mut inner = self.lock();
        if !inner.terminals.contains_key(&issi) {
            return Err(StateError::NotRegistered);
        }
        inner.place_terminal(issi, Some(talkgroup));
        Ok(())
    }

    /// A status message from registered terminal `issi`; fans out `status` on its talkgroup.
    pub(crate) fn status(
        &self,
        issi: u32,
        code: u16,
        reference: &str,
    ) -> Result<Pending, StateError> {
        let mut inner = self.lock();
        let talkgroup = *inner
            .terminals
            .get(&issi)
            .ok_or(StateError::NotRegistered)?;
        Ok(inner.fan_out(talkgroup, || Event::Status {
            issi,
            talkgroup,
            code,
            reference: reference.to_owned(),
        }))
    }

    /// Starts a call; answers its id. Fans out `call.started` (group) or `emergency.alert`.
    pub(crate) fn start_call(
        &self,
        kind: CallKind,
        talkgroup: u32,
        caller: u32,
        reference: &str,
    ) -> (String, Pending) {
        let mut inner = self.lock();
        inner.next_call += 1;
        let n = inner.next_call;
        inner.calls.insert(
            n,
            Call {
                kind,
                talkgroup,
                caller,
            },
        );
        let pending = inner.fan_out(talkgroup, || match kind {
            CallKind::Group => Event::CallStarted {
                call: call_name(n),
                kind,
                talkgroup,
                caller,
                reference: reference.to_owned(),
            },
            CallKind::Emergency => Event::EmergencyAlert {
                call: call_name(n),
                talkgroup,
                caller,
                reference: reference.to_owned(),
            },
        });
        drop(inner);
        (call_name(n), pending)
    }

    /// Ends call `call` (`c-<n>`); fans out `call.ended`.
    pub(crate) fn end_call(&self, call: &str) -> Result<Pending, StateError> {
        let n = parse_call_name(call).ok_or(StateError::UnknownCall)?;
        let mut inner = self.lock();
        let c = inner.calls.remove(&n).ok_or(StateError::UnknownCall)?;
        let talkgroup = c.talkgroup;
        let pending = inner.fan_out(talkgroup, || Event::CallEnded {
            call: call.to_owned(),
            talkgroup,
        });
        drop(inner);
        tracing::debug!(call, kind = ?c.kind, caller = c.caller, "call ended");
        Ok(pending)
    }

    /// Closes every open stream and refuses new ones (streams opened later end at once).
    pub(crate) fn shutdown(&self) {
        let dropped: Vec<Vec<StreamTx>> = {
            let mut inner = self.lock();
            inner.shutting_down = true;
            inner
                .consoles
                .values_mut()
                .map(|c| std::mem::take(&mut c.streams))
                .collect()
        };
        drop(dropped);
        self.shutdown_tx.send_replace(true);
    }

    /// A receiver that turns `true` on shutdown.
    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }

    /// The model now (for `/metrics`).
    pub(crate) fn model_stats(&self) -> ModelStats {
        let inner = self.lock();
        let mut s = ModelStats {
            consoles: inner.consoles.len(),
            terminals: inner.terminals.len(),
            calls: inner.calls.len(),
            counters: inner.counters,
            ..ModelStats::default()
        };
        for st in inner.consoles.values().flat_map(|c| &c.streams) {
            let q = st.queued();
            s.streams += 1;
            s.queued_sum += q;
            s.queued_max = s.queued_max.max(q);
        }
        s
    }

    /// The worker queue now (for `/metrics`).
    pub(crate) fn queue_stats(&self) -> QueueStats {
        self.queue.stats()
    }

    /// The connection counts, shared with the accept loop.
    pub(crate) fn conn_stats(&self) -> Arc<crate::conn::ConnStats> {
        Arc::clone(&self.conns)
    }

    /// The session of `console` if it is logged in (dialects that hand out session ids check
    /// them against it).
    pub(crate) fn session_of(&self, console: &str) -> Option<String> {
        self.lock().console(console).map(|c| c.session.clone())
    }

    /// Number of open streams of `console` (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn stream_count(&self, console: &str) -> usize {
        self.lock().console(console).map_or(0, |c| c.streams.len())
    }
}

impl Inner {
    fn console(&self, name: &str) -> Option<&Console> {
        self.names.get(name).and_then(|k| self.consoles.get(k))
    }

    fn unmonitor(&mut self, talkgroup: u32, key: u64) {
        if let Some(set) = self.monitors.get_mut(&talkgroup) {
            set.remove(&key);
            if set.is_empty() {
                self.monitors.remove(&talkgroup);
            }
        }
    }

    /// Streams an event on `talkgroup` would be offered to now.
    fn receivers(&self, talkgroup: u32) -> u64 {
        let Some(keys) = self.monitors.get(&talkgroup) else {
            return 0;
        };
        keys.iter()
            .filter_map(|k| self.consoles.get(k))
            .filter(|c| c.blackholed.is_empty() || !c.blackholed.contains(&talkgroup))
            .map(|c| c.streams.len() as u64)
            .sum()
    }

    /// Moves terminal `issi` to `talkgroup` (`None`: deregisters it), keeping the count per
    /// talkgroup; answers the talkgroup it was on.
    fn place_terminal(&mut self, issi: u32, talkgroup: Option<u32>) -> Option<u32> {
        let old = match talkgroup {
            Some(tg) => self.terminals.insert(issi, tg),
            None => self.terminals.remove(&issi),
        };
        if let Some(o) = old
            && let Some(n) = self.on_talkgroup.get_mut(&o)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.on_talkgroup.remove(&o);
            }
        }
        if let Some(tg) = talkgroup {
            *self.on_talkgroup.entry(tg).or_default() += 1;
        }
        old
    }
}

/// Server time in unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn call_name(n: u64) -> String {
    format!("c-{n}")
}

/// `c-<n>` -> `n` (exactly as produced by [`call_name`]).
fn parse_call_name(call: &str) -> Option<u64> {
    let digits = call.strip_prefix("c-")?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

mod fanout;
mod faulted;

use fanout::{Outbox, encode};
#[cfg(test)]
mod tests;
