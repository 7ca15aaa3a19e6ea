//! vendor-x's polled event channel, for clients without push:
//! `GET /xapi/v2/sessions/{sid}/messages?cursor=N` answers the session's messages after `N`.
//!
//! The first poll of a session opens a model stream for it; a reader task keeps its messages
//! (numbered from 1, at most [`BUFFER`], the oldest dropped when full) until they are polled
//! past. The poll session ends when its stream ends (its last messages can still be polled) or
//! when nobody polled for [`IDLE`]; dropping the stream unregisters it from the model.

use super::translate::{Item, Splitter};
use super::{CursorQuery, XError, console_of};
use crate::sse;
use crate::state::MockState;
use axum::Json;
use axum::extract::{Path, State};
use futures::StreamExt;
use rcload_api::Op;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Most messages a poll session keeps.
const BUFFER: usize = 10_000;
/// Most messages in one answer.
const MAX_ANSWER: usize = 1_000;
/// A poll session nobody polled for this long is closed.
const IDLE: Duration = Duration::from_secs(30);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Default)]
struct Buffer {
    items: VecDeque<(u64, Value)>,
    ended: bool,
}

struct Session {
    buf: Mutex<Buffer>,
    last_poll: Mutex<Instant>,
}

/// The open poll sessions, by session id.
#[derive(Default)]
pub(crate) struct Polls {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Message numbers, shared by all sessions so that they only grow: a session whose stream
    /// was opened again continues after what its client saw.
    seq: AtomicU64,
}

impl Polls {
    fn remove(&self, sid: &str, s: &Arc<Session>) {
        let mut map = lock(&self.sessions);
        if map.get(sid).is_some_and(|cur| Arc::ptr_eq(cur, s)) {
            map.remove(sid);
        }
    }
}

/// Read the stream's messages into the session until it ends or goes idle.
async fn read(
    session: Arc<Session>,
    frames: impl futures::Stream<Item = Result<bytes::Bytes, std::convert::Infallible>> + Send,
    polls: Weak<Polls>,
    sid: String,
) {
    let mut frames = Box::pin(frames);
    let mut splitter = Splitter::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            chunk = frames.next() => {
                let Some(Ok(chunk)) = chunk else { break };
                let mut b = lock(&session.buf);
                for item in splitter.push(&chunk) {
                    let Item::Message(text) = item else { continue };
                    let Ok(mut v) = serde_json::from_str::<Value>(&text) else { continue };
                    let Some(seq) = polls.upgrade().map(|p| p.seq.fetch_add(1, Ordering::Relaxed) + 1) else {
                        continue;
                    };
                    if let Some(o) = v.as_object_mut() {
                        o.insert("seq".into(), json!(seq));
                    }
                    if b.items.len() >= BUFFER {
                        b.items.pop_front();
                    }
                    b.items.push_back((seq, v));
                }
            }
            _ = tick.tick() => {
                if lock(&session.last_poll).elapsed() > IDLE {
                    if let Some(p) = polls.upgrade() {
                        p.remove(&sid, &session);
                    }
                    break;
                }
            }
        }
    }
    lock(&session.buf).ended = true;
}

/// `GET /xapi/v2/sessions/{sid}/messages?cursor=N`.
pub(crate) async fn messages(
    State((state, polls)): State<(Arc<MockState>, Arc<Polls>)>,
    Path(sid): Path<String>,
    query: CursorQuery,
) -> Result<Json<Value>, XError> {
    let cursor = query.value()?;
    let existing = lock(&polls.sessions).get(&sid).cloned();
    let session = match existing {
        Some(s) => s,
        None => {
            let console = console_of(&state, &sid)?;
            state.count_request(Op::ConsoleEvents);
            let opened = state.open_stream(&console)?;
            let session = Arc::new(Session {
                buf: Mutex::new(Buffer::default()),
                last_poll: Mutex::new(Instant::now()),
            });
            lock(&polls.sessions).insert(sid.clone(), session.clone());
            tokio::spawn(read(
                session.clone(),
                sse::frames(&state, opened),
                Arc::downgrade(&polls),
                sid.clone(),
            ));
            // Give the stream a moment to say what is already queued for it.
            tokio::task::yield_now().await;
            session
        }
    };
    *lock(&session.last_poll) = Instant::now();
    let (out, last, done) = {
        let mut b = lock(&session.buf);
        while b.items.front().is_some_and(|(seq, _)| *seq <= cursor) {
            b.items.pop_front();
        }
        let out: Vec<Value> = b
            .items
            .iter()
            .take(MAX_ANSWER)
            .map(|(_, v)| v.clone())
            .collect();
        let last = out
            .last()
            .and_then(|v| v.get("seq"))
            .and_then(Value::as_u64)
            .unwrap_or(cursor);
        (out, last, b.ended && b.items.len() <= MAX_ANSWER)
    };
    if done {
        // The stream ended and this answer holds the rest: the next poll starts afresh (a new
        // stream if the session is still there, else 404).
        polls.remove(&sid, &session);
        if out.is_empty() {
            console_of(&state, &sid)?;
        }
    }
    Ok(Json(json!({"messages": out, "cursor": last})))
}
