//! The mock's in-memory model of a radio-control system and its event fan-out.
//!
//! Consoles (logged in or not, with their monitored talkgroups and open event streams),
//! terminals (registered or not, with their talkgroup) and calls live here behind one
//! `std::sync::Mutex`. Every operation is a short critical section with no await inside.
//! Events are serialized once per fan-out into a shared [`Frame`] that each receiving stream
//! gets a reference to. The faults of `faults.rs` act on the model through
//! [`MockState::fault_talkgroup`] and [`MockState::kick`]. Like the rest of the mock, this knows
//! nothing of the load engine.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

use crate::api::{CallKind, Event, EventEnvelope};

/// Buffer of one event stream, in events. A stream whose buffer is full is closed.
pub(crate) const STREAM_CAPACITY: usize = 65_536;

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

/// An event stream just opened for a console: the receiving end plus what is needed to
/// unregister it when the client goes away.
#[derive(Debug)]
pub(crate) struct OpenedStream {
    pub console_key: u64,
    pub stream_id: u64,
    pub rx: mpsc::Receiver<Frame>,
}

/// The whole in-memory system. Shared as `Arc<MockState>` by the handlers.
#[derive(Debug)]
pub(crate) struct MockState {
    inner: Mutex<Inner>,
    /// Set to `true` once on shutdown; every open stream watches it and ends.
    shutdown_tx: watch::Sender<bool>,
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
    /// Call number (`c-<n>`) -> call.
    calls: HashMap<u64, Call>,
    next_key: u64,
    next_session: u64,
    next_stream: u64,
    next_call: u64,
    shutting_down: bool,
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
    pub(crate) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            shutdown_tx: watch::Sender::new(false),
        }
    }

    /// The lock. Nothing panics while holding it, so poisoning cannot happen; if it ever did,
    /// the data is still consistent enough for a mock and we carry on.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// subscription; the others are no longer monitored).
    pub(crate) fn set_talkgroups(
        &self,
        console: &str,
        talkgroups: &[u32],
    ) -> Result<Vec<u32>, StateError> {
        let new: BTreeSet<u32> = talkgroups.iter().copied().collect();
        let mut inner = self.lock();
        let key = *inner.names.get(console).ok_or(StateError::NotLoggedIn)?;
        let Inner {
            consoles, monitors, ..
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
        for &tg in new.difference(&c.monitored) {
            monitors.entry(tg).or_default().insert(key);
            if !c.streams.is_empty()
                && let Some(frame) = encode(Event::TalkgroupAttached { talkgroup: tg }, ts)
            {
                c.streams.retain(|s| deliver(s, &frame));
            }
        }
        c.monitored = new;
        c.blackholed.clear();
        Ok(c.monitored.iter().copied().collect())
    }

    /// The monitored set of `console`, sorted.
    pub(crate) fn talkgroups(&self, console: &str) -> Result<Vec<u32>, StateError> {
        let inner = self.lock();
        let c = inner.console(console).ok_or(StateError::NotLoggedIn)?;
        Ok(c.monitored.iter().copied().collect())
    }

    /// Opens a new event stream for `console`. After shutdown the stream is closed at once.
    pub(crate) fn open_stream(&self, console: &str) -> Result<OpenedStream, StateError> {
        let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
        let mut inner = self.lock();
        let key = *inner.names.get(console).ok_or(StateError::NotLoggedIn)?;
        inner.next_stream += 1;
        let id = inner.next_stream;
        let shutting_down = inner.shutting_down;
        if let Some(c) = inner.consoles.get_mut(&key)
            && !shutting_down
        {
            c.streams.push(StreamTx { id, tx });
        }
        Ok(OpenedStream {
            console_key: key,
            stream_id: id,
            rx,
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
    pub(crate) fn register(&self, issi: u32, talkgroup: u32) {
        let mut inner = self.lock();
        inner.terminals.insert(issi, talkgroup);
        inner.fan_out(talkgroup, || Event::TerminalRegistered { issi, talkgroup });
    }

    /// Deregisters `issi`; fans out `terminal.deregistered` on the talkgroup it was on.
    pub(crate) fn deregister(&self, issi: u32) -> Result<(), StateError> {
        let mut inner = self.lock();
        let talkgroup = inner
            .terminals
            .remove(&issi)
            .ok_or(StateError::NotRegistered)?;
        inner.fan_out(talkgroup, || Event::TerminalDeregistered {
            issi,
            talkgroup,
        });
        Ok(())
    }

    /// Moves registered terminal `issi` to `talkgroup` (no event).
    pub(crate) fn affiliate(&self, issi: u32, talkgroup: u32) -> Result<(), StateError> {
        let mut inner = self.lock();
        let tg = inner
            .terminals
            .get_mut(&issi)
            .ok_or(StateError::NotRegistered)?;
        *tg = talkgroup;
        Ok(())
    }

    /// A status message from registered terminal `issi`; fans out `status` on its talkgroup.
    pub(crate) fn status(&self, issi: u32, code: u16, reference: &str) -> Result<(), StateError> {
        let mut inner = self.lock();
        let talkgroup = *inner
            .terminals
            .get(&issi)
            .ok_or(StateError::NotRegistered)?;
        inner.fan_out(talkgroup, || Event::Status {
            issi,
            talkgroup,
            code,
            reference: reference.to_owned(),
        });
        Ok(())
    }

    /// Starts a call; answers its id. Fans out `call.started` (group) or `emergency.alert`.
    pub(crate) fn start_call(
        &self,
        kind: CallKind,
        talkgroup: u32,
        caller: u32,
        reference: &str,
    ) -> String {
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
        inner.fan_out(talkgroup, || match kind {
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
        call_name(n)
    }

    /// Ends call `call` (`c-<n>`); fans out `call.ended`.
    pub(crate) fn end_call(&self, call: &str) -> Result<(), StateError> {
        let n = parse_call_name(call).ok_or(StateError::UnknownCall)?;
        let mut inner = self.lock();
        let c = inner.calls.remove(&n).ok_or(StateError::UnknownCall)?;
        let talkgroup = c.talkgroup;
        inner.fan_out(talkgroup, || Event::CallEnded {
            call: call.to_owned(),
            talkgroup,
        });
        drop(inner);
        tracing::debug!(call, kind = ?c.kind, caller = c.caller, "call ended");
        Ok(())
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
        let Some(c) = inner.consoles.get_mut(&key) else {
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
                if fault == TalkgroupFault::Drop
                    && !c.streams.is_empty()
                    && let Some(frame) = encode(
                        Event::TalkgroupDropped {
                            talkgroup,
                            reason: super::faults::FAULT_REASON.to_owned(),
                        },
                        now_ms(),
                    )
                {
                    c.streams.retain(|s| deliver(s, &frame));
                }
                inner.unmonitor(talkgroup, key);
                true
            }
        }
    }

    /// Sends `console.kicked {reason}` on the streams of `console` and closes them (they end
    /// after the events already queued); the console stays logged in. Answers whether the
    /// console is logged in.
    pub(crate) fn kick(&self, console: &str, reason: &str) -> bool {
        let streams = {
            let mut inner = self.lock();
            let Some(&key) = inner.names.get(console) else {
                return false;
            };
            let Some(c) = inner.consoles.get_mut(&key) else {
                return false; // names and consoles are kept in step
            };
            let streams = std::mem::take(&mut c.streams);
            if !streams.is_empty()
                && let Some(frame) = encode(
                    Event::ConsoleKicked {
                        reason: reason.to_owned(),
                    },
                    now_ms(),
                )
            {
                for s in &streams {
                    deliver(s, &frame);
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

    /// Sends the event made by `make` to every open stream of every console monitoring
    /// `talkgroup`. The event is built and serialized only if some stream will get it.
    fn fan_out(&mut self, talkgroup: u32, make: impl FnOnce() -> Event) {
        let Some(keys) = self.monitors.get(&talkgroup) else {
            return;
        };
        let mut make = Some(make);
        let mut frame: Option<Frame> = None;
        for key in keys {
            let Some(c) = self.consoles.get_mut(key) else {
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
                return; // serialization failed (cannot happen for these types); nothing to send
            };
            c.streams.retain(|s| deliver(s, f));
        }
    }
}

/// Offers `frame` to one stream; answers whether to keep the stream.
///
/// This is the whole slow-consumer policy: today a stream whose buffer is full gets nothing
/// more and is closed (its sender is dropped, so the client sees the stream end after the
/// buffered events).
fn deliver(stream: &StreamTx, frame: &Frame) -> bool {
    match stream.tx.try_send(Arc::clone(frame)) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            tracing::debug!(stream = stream.id, "event stream buffer full; closing it");
            false
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
            s.set_talkgroups("nobody", &[1]),
            Err(StateError::NotLoggedIn)
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
            s.set_talkgroups("c1", &[30, 10, 20, 10]).unwrap(),
            [10, 20, 30]
        );
        assert_eq!(
            events(&mut st.rx),
            [10, 20, 30].map(|talkgroup| Event::TalkgroupAttached { talkgroup })
        );
        assert_eq!(s.set_talkgroups("c1", &[20, 40]).unwrap(), [20, 40]);
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
        let call = s.start_call(CallKind::Group, 100, 9, "r2");
        let em = s.start_call(CallKind::Emergency, 100, 9, "r3");
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
        assert_eq!(s.deregister(1), Err(StateError::NotRegistered));
        assert_eq!(s.affiliate(1, 2), Err(StateError::NotRegistered));
        assert_eq!(s.status(1, 2, "r"), Err(StateError::NotRegistered));
        s.register(1, 5);
        s.register(1, 6); // re-register moves it
        s.deregister(1).unwrap();
        assert_eq!(s.deregister(1), Err(StateError::NotRegistered));
        let call = s.start_call(CallKind::Group, 5, 1, "r");
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
            assert_eq!(s.end_call(bad), Err(StateError::UnknownCall), "{bad:?}");
        }
        s.end_call(&call).unwrap();
        assert_eq!(s.end_call(&call), Err(StateError::UnknownCall));
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
    fn full_stream_is_closed() {
        let s = MockState::new();
        s.login("a", "op").unwrap();
        let mut st = s.open_stream("a").unwrap();
        s.set_talkgroups("a", &[1]).unwrap(); // 1 event
        for i in 0..STREAM_CAPACITY as u32 {
            s.register(i + 1, 1);
        }
        assert_eq!(s.stream_count("a"), 0, "closed when full");
        let mut n = 0;
        while st.rx.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, STREAM_CAPACITY);
        assert!(st.rx.is_closed());
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
