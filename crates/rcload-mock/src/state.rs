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

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

use super::capacity::{ApiQueue, Overloaded, QueueStats, Work, op_index};
use super::fault_spec::FAULT_REASON;
use super::spec::{Capacity, Overflow};
use rcload_api::{CallKind, Event, EventEnvelope, Op};

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

    /// The logged-in consoles with their monitored sets, sorted by id (what faults choose
    /// from).
    pub(crate) fn fault_candidates(&self) -> Vec<(String, Vec<u32>)> {
        let inner = self.lock();
        let mut out: Vec<(String, Vec<u32>)> = inner
            .consoles
            .values()
            .map(|c| (c.name.clone(), c.monitored.iter().copied().collect()))
            .collect();
        drop(inner);
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Applies `fault` to `talkgroup` of `console`; answers whether it changed anything (false
    /// if the console is not logged in, does not monitor the talkgroup, or already has it
    /// blackholed).
    pub(crate) fn fault_talkgroup(
        &self,
        console: &str,
        talkgroup: u32,
        fault: TalkgroupFault,
    ) -> bool {
        let mut inner = self.lock();
        let Some(&key) = inner.names.get(console) else {
            return false;
        };
        let Inner {
            consoles, counters, ..
        } = &mut *inner;
        let Some(c) = consoles.get_mut(&key) else {
            return false; // names and consoles are kept in step
        };
        if !c.monitored.contains(&talkgroup) {
            return false;
        }
        match fault {
            TalkgroupFault::Blackhole => c.blackholed.insert(talkgroup),
            TalkgroupFault::Drop | TalkgroupFault::SilentDrop => {
                c.monitored.remove(&talkgroup);
                c.blackholed.remove(&talkgroup);
                counters.drops_fault += 1;
                if fault == TalkgroupFault::Drop
                    && !c.streams.is_empty()
                    && let Some(frame) = encode(
                        Event::TalkgroupDropped {
                            talkgroup,
                            reason: FAULT_REASON.to_owned(),
                        },
                        now_ms(),
                    )
                {
                    c.streams.retain(|s| announce(s, &frame, false));
                }
                inner.unmonitor(talkgroup, key);
                true
            }
        }
    }

    /// Sends `console.kicked {reason}` on the streams of `console` and closes them (they end
    /// after the events already queued; a full queue is bypassed); the console stays logged
    /// in. Answers whether the console is logged in.
    pub(crate) fn kick(&self, console: &str, reason: &str) -> bool {
        let streams = {
            let mut inner = self.lock();
            let Some(&key) = inner.names.get(console) else {
                return false;
            };
            let Inner {
                consoles, counters, ..
            } = &mut *inner;
            let Some(c) = consoles.get_mut(&key) else {
                return false; // names and consoles are kept in step
            };
            let streams = std::mem::take(&mut c.streams);
            counters.kicks_fault += streams.len() as u64;
            if !streams.is_empty()
                && let Some(frame) = encode(
                    Event::ConsoleKicked {
                        reason: reason.to_owned(),
                    },
                    now_ms(),
                )
            {
                for s in &streams {
                    announce(s, &frame, true);
                }
            }
            streams
        };
        // The senders (and so the streams) are dropped here, outside the lock.
        drop(streams);
        true
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

/// Offers frames to streams under an overflow policy, collecting what must wait (`delay`) and
/// counting what happens.
struct Outbox<'a> {
    policy: Overflow,
    kick_after_drops: Option<u32>,
    pending: &'a mut Pending,
    counters: &'a mut Counters,
    /// `console.kicked {reason: "slow_consumer"}`, encoded once when first needed.
    kicked: Option<Frame>,
}

impl<'a> Outbox<'a> {
    fn new(
        policy: Overflow,
        kick_after_drops: Option<u32>,
        pending: &'a mut Pending,
        counters: &'a mut Counters,
    ) -> Self {
        Self {
            policy,
            kick_after_drops,
            pending,
            counters,
            kicked: None,
        }
    }

    /// `console.kicked {reason: "slow_consumer"}`, encoded once.
    fn kicked(&mut self) -> &Frame {
        self.kicked.get_or_insert_with(|| {
            encode(
                Event::ConsoleKicked {
                    reason: SLOW_CONSUMER.to_owned(),
                },
                now_ms(),
            )
            .unwrap_or_else(|| Frame::from(&b""[..]))
        })
    }

    /// Offers `frame` to each of `streams`: queued, or (full) handled by the policy. Streams
    /// that are gone or kicked are removed. Answers whether the frame overflowed some stream
    /// under `drop_talkgroups` (the caller then drops the event's talkgroup from the console).
    fn offer_all(&mut self, streams: &mut Vec<StreamTx>, frame: &Frame) -> bool {
        let mut overflowed = false;
        streams.retain(|s| match s.tx.try_send(Arc::clone(frame)) {
            Ok(()) => {
                self.counters.fanned_out += 1;
                true
            }
            Err(TrySendError::Closed(_)) => false,
            Err(TrySendError::Full(f)) => match self.policy {
                Overflow::Delay => {
                    self.counters.fanned_out += 1;
                    self.pending.0.push((s.tx.clone(), f));
                    true
                }
                Overflow::Kick => {
                    self.counters.overflow_dropped += 1;
                    self.counters.kicks_slow_consumer += 1;
                    tracing::debug!(stream = s.id, "event stream queue full; kicking it");
                    s.send_control(self.kicked(), true);
                    false
                }
                Overflow::DropTalkgroups => {
                    self.counters.overflow_dropped += 1;
                    overflowed = true;
                    true
                }
            },
        });
        overflowed
    }

    /// Removes `talkgroup` from `c`'s set (the caller unindexes it) and announces it on the
    /// control lane of every stream of `c`.
    fn drop_talkgroup(&mut self, c: &mut Console, talkgroup: u32) {
        if !c.monitored.remove(&talkgroup) {
            return;
        }
        c.blackholed.remove(&talkgroup);
        self.counters.drops_slow_consumer += 1;
        tracing::debug!(console = %c.name, talkgroup, "event stream queue full; dropping the talkgroup");
        let event = Event::TalkgroupDropped {
            talkgroup,
            reason: SLOW_CONSUMER.to_owned(),
        };
        if let Some(frame) = encode(event, now_ms()) {
            for s in &c.streams {
                s.send_control(&frame, false);
            }
        }
        c.slow_drops += 1;
        if self.kick_after_drops.is_some_and(|n| c.slow_drops >= n) && !c.streams.is_empty() {
            c.slow_drops = 0;
            self.counters.kicks_slow_consumer += 1;
            tracing::debug!(console = %c.name, "too many talkgroups lost; kicking the console");
            let kicked = self.kicked();
            for s in &c.streams {
                s.send_control(kicked, true);
            }
            c.streams.clear();
        }
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

    /// Sends the event made by `make` to every open stream of every console monitoring
    /// `talkgroup`, under the overflow policy. The event is built and serialized only if some
    /// stream will get it. Answers what must wait for room (`delay`).
    fn fan_out(&mut self, talkgroup: u32, make: impl FnOnce() -> Event) -> Pending {
        let mut pending = Pending::default();
        let Inner {
            monitors,
            consoles,
            overflow,
            kick_after_drops,
            counters,
            ..
        } = self;
        let Some(keys) = monitors.get(&talkgroup) else {
            return pending;
        };
        let mut make = Some(make);
        let mut frame: Option<Frame> = None;
        let mut out = Outbox::new(*overflow, *kick_after_drops, &mut pending, counters);
        let mut dropped: Vec<u64> = Vec::new();
        for key in keys {
            let Some(c) = consoles.get_mut(key) else {
                continue;
            };
            if c.streams.is_empty()
                || (!c.blackholed.is_empty() && c.blackholed.contains(&talkgroup))
            {
                continue;
            }
            if frame.is_none() {
                frame = make.take().and_then(|m| encode(m(), now_ms()));
            }
            let Some(f) = &frame else {
                break; // serialization failed (cannot happen for these types); nothing to send
            };
            if out.offer_all(&mut c.streams, f) {
                out.drop_talkgroup(c, talkgroup);
                dropped.push(*key);
            }
        }
        for key in dropped {
            self.unmonitor(talkgroup, key);
        }
        pending
    }
}

/// Queues an announcement (fault `talkgroup.dropped` or `console.kicked`) on a stream, on the
/// control lane if the queue is full; answers whether to keep the stream (no, if gone).
fn announce(stream: &StreamTx, frame: &Frame, close: bool) -> bool {
    match stream.tx.try_send(Arc::clone(frame)) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            stream.send_control(frame, close);
            true
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

/// Serializes one event into a shared frame: `event: <type>\ndata: <json>\n\n`.
fn encode(event: Event, ts: u64) -> Option<Frame> {
    let name = event.type_name();
    let envelope = EventEnvelope { event, ts };
    let mut buf = Vec::with_capacity(192);
    buf.extend_from_slice(b"event: ");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\ndata: ");
    if let Err(e) = serde_json::to_writer(&mut buf, &envelope) {
        tracing::debug!(error = %e, "could not serialize event");
        return None;
    }
    buf.extend_from_slice(b"\n\n");
    Some(Frame::from(buf))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Receives every frame queued on `rx` now, as (event type, envelope).
    fn drain(rx: &mut mpsc::Receiver<Frame>) -> Vec<(String, EventEnvelope)> {
        let mut out = Vec::new();
        while let Ok(f) = rx.try_recv() {
            let text = std::str::from_utf8(&f).unwrap();
            let (event_line, rest) = text.split_once('\n').unwrap();
            let data = rest
                .strip_prefix("data: ")
                .and_then(|d| d.strip_suffix("\n\n"))
                .unwrap_or_else(|| panic!("bad frame {text:?}"));
            let env: EventEnvelope = serde_json::from_str(data).unwrap();
            let name = event_line.strip_prefix("event: ").unwrap().to_owned();
            assert_eq!(name, env.event.type_name(), "frame {text:?}");
            out.push((name, env));
        }
        out
    }

    fn events(rx: &mut mpsc::Receiver<Frame>) -> Vec<Event> {
        drain(rx).into_iter().map(|(_, e)| e.event).collect()
    }

    #[test]
    fn login_logout_and_conflicts() {
        let s = MockState::new();
        let s1 = s.login("c1", "op").unwrap();
        assert_eq!(s.login("c1", "op"), Err(StateError::AlreadyLoggedIn));
        assert_eq!(s.logout("c2"), Err(StateError::NotLoggedIn));
        s.logout("c1").unwrap();
        assert_eq!(s.logout("c1"), Err(StateError::NotLoggedIn));
        let s2 = s.login("c1", "op").unwrap();
        assert_ne!(s1, s2, "sessions are unique");
        assert_eq!(s.talkgroups("nobody"), Err(StateError::NotLoggedIn));
        assert_eq!(
            s.set_talkgroups("nobody", &[1]).unwrap_err(),
            StateError::NotLoggedIn
        );
        assert_eq!(
            s.open_stream("nobody").unwrap_err(),
            StateError::NotLoggedIn
        );
    }

    #[test]
    fn talkgroups_are_replaced_sorted_and_attached_once() {
        let s = MockState::new();
        s.login("c1", "op").unwrap();
        let mut st = s.open_stream("c1").unwrap();
        assert_eq!(
            s.set_talkgroups("c1", &[30, 10, 20, 10]).unwrap().0,
            [10, 20, 30]
        );
        assert_eq!(
            events(&mut st.rx),
            [10, 20, 30].map(|talkgroup| Event::TalkgroupAttached { talkgroup })
        );
        assert_eq!(s.set_talkgroups("c1", &[20, 40]).unwrap().0, [20, 40]);
        assert_eq!(
            events(&mut st.rx),
            [Event::TalkgroupAttached { talkgroup: 40 }]
        );
        assert_eq!(s.talkgroups("c1").unwrap(), [20, 40]);
        let inner = s.lock();
        assert!(!inner.monitors.contains_key(&10), "index pruned");
        assert_eq!(inner.monitors[&40].len(), 1);
    }

    #[test]
    fn attached_goes_only_to_own_streams() {
        let s = MockState::new();
        s.login("a", "op").unwrap();
        s.login("b", "op").unwrap();
        s.set_talkgroups("b", &[5]).unwrap();
        let mut b = s.open_stream("b").unwrap();
        let mut a = s.open_stream("a").unwrap();
        s.set_talkgroups("a", &[5]).unwrap();
        assert_eq!(events(&mut a.rx).len(), 1);
        assert!(events(&mut b.rx).is_empty());
    }

    #[test]
    fn fan_out_reaches_monitoring_consoles_only() {
        let s = MockState::new();
        for c in ["a", "b", "c"] {
            s.login(c, "op").unwrap();
        }
        let mut a1 = s.open_stream("a").unwrap();
        let mut a2 = s.open_stream("a").unwrap();
        let mut b = s.open_stream("b").unwrap();
        let mut c = s.open_stream("c").unwrap();
        s.set_talkgroups("a", &[100]).unwrap();
        s.set_talkgroups("b", &[100, 200]).unwrap();
        s.set_talkgroups("c", &[300]).unwrap();
        drain(&mut a1.rx);
        drain(&mut a2.rx);
        drain(&mut b.rx);
        drain(&mut c.rx);

        s.register(7, 100);
        s.status(7, 3, "r1").unwrap();
        let call = s.start_call(CallKind::Group, 100, 9, "r2").0;
        let em = s.start_call(CallKind::Emergency, 100, 9, "r3").0;
        s.end_call(&call).unwrap();
        s.affiliate(7, 200).unwrap();
        s.deregister(7).unwrap();
        let want_a = vec![
            Event::TerminalRegistered {
                issi: 7,
                talkgroup: 100,
            },
            Event::Status {
                issi: 7,
                talkgroup: 100,
                code: 3,
                reference: "r1".into(),
            },
            Event::CallStarted {
                call: call.clone(),
                kind: CallKind::Group,
                talkgroup: 100,
                caller: 9,
                reference: "r2".into(),
            },
            Event::EmergencyAlert {
                call: em.clone(),
                talkgroup: 100,
                caller: 9,
                reference: "r3".into(),
            },
            Event::CallEnded {
                call: call.clone(),
                talkgroup: 100,
            },
        ];
        let mut want_b = want_a.clone();
        want_b.push(Event::TerminalDeregistered {
            issi: 7,
            talkgroup: 200,
        });
        let got_a1 = drain(&mut a1.rx);
        assert!(got_a1.iter().all(|(_, e)| e.ts > 1_600_000_000_000));
        assert_eq!(
            got_a1.into_iter().map(|(_, e)| e.event).collect::<Vec<_>>(),
            want_a
        );
        assert_eq!(events(&mut a2.rx), want_a);
        assert_eq!(events(&mut b.rx), want_b);
        assert!(events(&mut c.rx).is_empty());
    }

    #[test]
    fn terminal_and_call_errors() {
        let s = MockState::new();
        assert_eq!(s.deregister(1).unwrap_err(), StateError::NotRegistered);
        assert_eq!(s.affiliate(1, 2), Err(StateError::NotRegistered));
        assert_eq!(s.status(1, 2, "r").unwrap_err(), StateError::NotRegistered);
        s.register(1, 5);
        s.register(1, 6); // re-register moves it
        s.deregister(1).unwrap();
        assert_eq!(s.deregister(1).unwrap_err(), StateError::NotRegistered);
        let call = s.start_call(CallKind::Group, 5, 1, "r").0;
        assert_eq!(call, "c-1");
        for bad in [
            "c-2",
            "c-",
            "c-01",
            "x-1",
            "",
            "c-1x",
            "c-99999999999999999999999",
        ] {
            assert_eq!(
                s.end_call(bad).unwrap_err(),
                StateError::UnknownCall,
                "{bad:?}"
            );
        }
        s.end_call(&call).unwrap();
        assert_eq!(s.end_call(&call).unwrap_err(), StateError::UnknownCall);
    }

    #[test]
    fn logout_closes_streams_and_unindexes() {
        let s = MockState::new();
        s.login("a", "op").unwrap();
        let mut st = s.open_stream("a").unwrap();
        s.set_talkgroups("a", &[1]).unwrap();
        s.logout("a").unwrap();
        drain(&mut st.rx);
        assert!(st.rx.try_recv().is_err());
        assert!(st.rx.is_closed(), "sender dropped on logout");
        assert!(s.lock().monitors.is_empty());
        // a new login does not inherit anything
        s.login("a", "op").unwrap();
        assert!(s.talkgroups("a").unwrap().is_empty());
        // closing a stream of the old login is a no-op
        s.close_stream(st.console_key, st.stream_id);
    }

    #[test]
    fn close_stream_forgets_sender() {
        let s = MockState::new();
        s.login("a", "op").unwrap();
        let a1 = s.open_stream("a").unwrap();
        let _a2 = s.open_stream("a").unwrap();
        assert_eq!(s.stream_count("a"), 2);
        s.close_stream(a1.console_key, a1.stream_id);
        assert_eq!(s.stream_count("a"), 1);
        s.close_stream(a1.console_key, a1.stream_id);
        assert_eq!(s.stream_count("a"), 1);
    }

    #[test]
    fn dropped_receiver_is_pruned_on_next_event() {
        let s = MockState::new();
        s.login("a", "op").unwrap();
        let st = s.open_stream("a").unwrap();
        s.set_talkgroups("a", &[1]).unwrap();
        drop(st);
        s.register(2, 1);
        assert_eq!(s.stream_count("a"), 0);
    }

    #[test]
    fn talkgroup_sets_are_bounded() {
        let cap = Capacity {
            max_talkgroups_per_console: 2,
            ..Capacity::default()
        };
        let s = MockState::with_capacity(&cap, 1);
        assert_eq!(s.check_talkgroup_count(&[1, 2, 2, 1]), Ok(()));
        assert_eq!(
            s.check_talkgroup_count(&[1, 2, 3]),
            Err(TooManyTalkgroups { limit: 2, got: 3 })
        );
        assert_eq!(MockState::new().check_talkgroup_count(&[7; 5_000]), Ok(()));
    }

    /// A state with small stream queues and the given overflow policy.
    fn small(buffer: u32, overflow: Overflow) -> MockState {
        let cap = Capacity {
            event_buffer: buffer,
            on_overflow: overflow,
            ..Capacity::default()
        };
        MockState::with_capacity(&cap, 1)
    }

    /// Receives every frame on the control lane now, as events.
    fn control(rx: &mut mpsc::UnboundedReceiver<Control>) -> Vec<(Event, bool)> {
        let mut out = Vec::new();
        while let Ok(c) = rx.try_recv() {
            let text = std::str::from_utf8(&c.frame).unwrap();
            let data = text.split_once("\ndata: ").unwrap().1.trim_end();
            let env: EventEnvelope = serde_json::from_str(data).unwrap();
            out.push((env.event, c.close));
        }
        out
    }

    #[test]
    fn healthy_default_never_queues_and_buffers_65536() {
        let s = MockState::new();
        assert!(!s.queues());
        s.login("a", "op").unwrap();
        let st = s.open_stream("a").unwrap();
        assert_eq!(st.rx.max_capacity(), 65_536);
        assert_eq!(st.drain_rate, None);
    }

    #[test]
    fn overflow_kick_bypasses_the_queue_and_closes() {
        let s = small(3, Overflow::Kick);
        s.login("a", "op").unwrap();
        s.login("b", "op").unwrap();
        let mut a = s.open_stream("a").unwrap();
        let mut b = s.open_stream("b").unwrap();
        s.set_talkgroups("a", &[1]).unwrap(); // 1 queued on a
        s.set_talkgroups("b", &[1]).unwrap();
        assert_eq!(s.register(1, 1).len(), 0);
        assert_eq!(s.register(2, 1).len(), 0);
        drain(&mut b.rx); // b keeps up, a does not
        assert_eq!(s.register(3, 1).len(), 0);
        // a: attached + 2 registrations fill it; the third overflows
        assert_eq!(s.stream_count("a"), 0, "a kicked");
        assert_eq!(s.stream_count("b"), 1, "b had room");
        assert_eq!(
            control(&mut a.control),
            [(
                Event::ConsoleKicked {
                    reason: "slow_consumer".into()
                },
                true
            )]
        );
        assert_eq!(drain(&mut a.rx).len(), 3);
        assert!(a.rx.is_closed());
        assert!(control(&mut b.control).is_empty());
        assert_eq!(
            s.talkgroups("a").unwrap(),
            [1],
            "still logged in and attached"
        );
        let m = s.model_stats();
        assert_eq!(m.counters.kicks_slow_consumer, 1);
        assert_eq!(m.counters.overflow_dropped, 1);
        assert_eq!(
            m.counters.fanned_out,
            2 + 2 + 2 + 1,
            "attached x2, 2 x2, then b"
        );
        assert_eq!(m.streams, 1);
        assert_eq!((m.queued_max, m.queued_sum), (1, 1));
        drain(&mut b.rx);
        assert_eq!(s.model_stats().queued_sum, 0);
    }

    #[test]
    fn overflow_drop_talkgroups_drops_the_events_talkgroup() {
        let s = small(2, Overflow::DropTalkgroups);
        s.login("a", "op").unwrap();
        let mut a = s.open_stream("a").unwrap();
        s.set_talkgroups("a", &[1, 2]).unwrap(); // fills the queue
        s.register(7, 2); // overflows: talkgroup 2 dropped, event lost
        assert_eq!(s.talkgroups("a").unwrap(), [1]);
        assert_eq!(
            control(&mut a.control),
            [(
                Event::TalkgroupDropped {
                    talkgroup: 2,
                    reason: "slow_consumer".into()
                },
                false
            )]
        );
        assert_eq!(s.stream_count("a"), 1, "the stream stays open");
        assert!(!s.lock().monitors.contains_key(&2), "index pruned");
        // once there is room, talkgroup 1 still flows; 2 no longer does
        drain(&mut a.rx);
        s.register(8, 2);
        s.register(9, 1);
        assert_eq!(
            events(&mut a.rx),
            [Event::TerminalRegistered {
                issi: 9,
                talkgroup: 1
            }]
        );
        let c = s.model_stats().counters;
        assert_eq!((c.drops_slow_consumer, c.overflow_dropped), (1, 1));
    }

    #[tokio::test]
    async fn overflow_delay_waits_for_room() {
        let s = small(1, Overflow::Delay);
        s.login("a", "op").unwrap();
        let mut a = s.open_stream("a").unwrap();
        s.set_talkgroups("a", &[1]).unwrap(); // fills the queue
        let pending = s.register(7, 1);
        assert_eq!(pending.len(), 1);
        assert_eq!(s.stream_count("a"), 1);
        let send = tokio::spawn(pending.deliver());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!send.is_finished(), "waits while the queue is full");
        assert_eq!(events(&mut a.rx).len(), 1); // room for one
        tokio::time::timeout(std::time::Duration::from_secs(5), send)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            events(&mut a.rx),
            [Event::TerminalRegistered {
                issi: 7,
                talkgroup: 1
            }]
        );
        assert_eq!(s.model_stats().counters.overflow_dropped, 0);
    }

    #[test]
    fn work_counts_receivers_and_terminals() {
        let s = MockState::new();
        for c in ["a", "b"] {
            s.login(c, "op").unwrap();
        }
        let _a1 = s.open_stream("a").unwrap();
        let _a2 = s.open_stream("a").unwrap();
        let _b = s.open_stream("b").unwrap();
        s.set_talkgroups("a", &[1, 2]).unwrap();
        s.set_talkgroups("b", &[1]).unwrap();
        let ev = |n| Work {
            events: n,
            terminals: 0,
        };
        assert_eq!(s.work(Cost::Talkgroup(1)), ev(3));
        assert_eq!(s.work(Cost::Talkgroup(2)), ev(2));
        assert_eq!(s.work(Cost::Talkgroup(3)), ev(0));
        assert_eq!(s.work(Cost::Terminal(5)), ev(0), "not registered");
        s.register(5, 2);
        s.register(6, 2);
        s.register(7, 3);
        assert_eq!(s.work(Cost::Terminal(5)), ev(2));
        s.affiliate(6, 3).unwrap();
        s.register(7, 1); // moves 7 from 3 to 1
        let call = s.start_call(CallKind::Group, 1, 5, "r").0;
        assert_eq!(s.work(Cost::Call(&call)), ev(3));
        assert_eq!(s.work(Cost::Call("c-99")), ev(0));
        // attach: new talkgroups x own streams; terminals on every talkgroup of the set
        assert_eq!(
            s.work(Cost::Attach("a", &[1, 3, 4, 3])),
            Work {
                events: 2 * 2,
                terminals: 1 + 1
            }
        );
        assert_eq!(s.work(Cost::Attach("b", &[2])).terminals, 1);
        s.deregister(5).unwrap();
        assert_eq!(s.work(Cost::Attach("b", &[2])).terminals, 0);
        assert!(!s.lock().on_talkgroup.contains_key(&2), "no zero entries");
        assert_eq!(s.work(Cost::Attach("nobody", &[1])).events, 0);
        assert_eq!(s.work(Cost::Nothing), Work::default());
    }

    #[test]
    fn shutdown_closes_and_refuses_streams() {
        let s = MockState::new();
        s.login("a", "op").unwrap();
        let st = s.open_stream("a").unwrap();
        let sig = s.shutdown_signal();
        assert!(!*sig.borrow());
        s.shutdown();
        assert!(*sig.borrow());
        assert!(st.rx.is_closed());
        let late = s.open_stream("a").unwrap();
        assert!(late.rx.is_closed());
        assert_eq!(s.stream_count("a"), 0);
    }

    #[test]
    fn fault_drop_and_silent_drop_remove_the_talkgroup() {
        let s = MockState::new();
        s.login("a", "op").unwrap();
        s.login("b", "op").unwrap();
        let mut a = s.open_stream("a").unwrap();
        s.set_talkgroups("a", &[1, 2, 3]).unwrap();
        s.set_talkgroups("b", &[1]).unwrap();
        drain(&mut a.rx);
        assert!(s.fault_talkgroup("a", 1, TalkgroupFault::Drop));
        assert_eq!(
            events(&mut a.rx),
            [Event::TalkgroupDropped {
                talkgroup: 1,
                reason: "fault".into()
            }]
        );
        assert!(s.fault_talkgroup("a", 2, TalkgroupFault::SilentDrop));
        assert!(events(&mut a.rx).is_empty());
        assert_eq!(s.talkgroups("a").unwrap(), [3]);
        assert!(
            !s.fault_talkgroup("a", 1, TalkgroupFault::Drop),
            "already gone"
        );
        assert!(!s.fault_talkgroup("nobody", 1, TalkgroupFault::Drop));
        // b still gets talkgroup 1, a no longer does
        s.register(7, 1);
        assert!(events(&mut a.rx).is_empty());
        assert_eq!(s.lock().monitors[&1].len(), 1);
        assert!(!s.lock().monitors.contains_key(&2), "index pruned");
    }

    #[test]
    fn fault_blackhole_until_reattached() {
        let s = MockState::new();
        s.login("a", "op").unwrap();
        let mut a = s.open_stream("a").unwrap();
        s.set_talkgroups("a", &[1, 2]).unwrap();
        drain(&mut a.rx);
        assert!(s.fault_talkgroup("a", 1, TalkgroupFault::Blackhole));
        assert!(
            !s.fault_talkgroup("a", 1, TalkgroupFault::Blackhole),
            "already"
        );
        assert_eq!(s.talkgroups("a").unwrap(), [1, 2], "still listed");
        s.register(7, 1);
        s.register(8, 2);
        assert_eq!(
            events(&mut a.rx),
            [Event::TerminalRegistered {
                issi: 8,
                talkgroup: 2
            }]
        );
        // a PUT whose set includes it is a fresh subscription (no attached event: not new)
        s.set_talkgroups("a", &[1, 2]).unwrap();
        assert!(events(&mut a.rx).is_empty());
        s.register(7, 1);
        assert_eq!(events(&mut a.rx).len(), 1);
        // logout forgets it
        assert!(s.fault_talkgroup("a", 2, TalkgroupFault::Blackhole));
        s.logout("a").unwrap();
        s.login("a", "op").unwrap();
        let mut a = s.open_stream("a").unwrap();
        s.set_talkgroups("a", &[2]).unwrap();
        drain(&mut a.rx);
        s.register(8, 2);
        assert_eq!(events(&mut a.rx).len(), 1);
    }

    #[test]
    fn fault_kick_closes_streams_but_keeps_login() {
        let s = MockState::new();
        s.login("a", "op").unwrap();
        let mut a1 = s.open_stream("a").unwrap();
        let mut a2 = s.open_stream("a").unwrap();
        s.set_talkgroups("a", &[1]).unwrap();
        drain(&mut a1.rx);
        drain(&mut a2.rx);
        assert!(s.kick("a", "fault"));
        for st in [&mut a1, &mut a2] {
            assert_eq!(
                events(&mut st.rx),
                [Event::ConsoleKicked {
                    reason: "fault".into()
                }]
            );
            assert!(st.rx.is_closed());
        }
        assert_eq!(s.stream_count("a"), 0);
        assert_eq!(s.talkgroups("a").unwrap(), [1], "still logged in");
        let mut a3 = s.open_stream("a").unwrap();
        s.register(5, 1);
        assert_eq!(events(&mut a3.rx).len(), 1);
        assert!(!s.kick("nobody", "fault"));
        assert_eq!(s.fault_candidates(), [("a".to_owned(), vec![1])]);
    }

    #[test]
    fn frames_are_sse_shaped() {
        let f = encode(
            Event::CallEnded {
                call: "c-1".into(),
                talkgroup: 9,
            },
            42,
        )
        .unwrap();
        assert_eq!(
            std::str::from_utf8(&f).unwrap(),
            "event: call.ended\ndata: {\"type\":\"call.ended\",\"call\":\"c-1\",\"talkgroup\":9,\"ts\":42}\n\n"
        );
    }
}
