//! A console's event stream as a `text/event-stream` response body.
//!
//! The body starts with a `: ok` comment so the client sees bytes at once, then writes the
//! shared frames queued by the model (`state.rs`) with a per-stream `id:` line, batching what
//! is queued into one chunk, and a `: ping` comment every 15 s. It ends when the model drops
//! the sender (logout, full buffer) or on server shutdown; when the client goes away the body is
//! dropped and the stream is unregistered. The mock knows nothing of the load engine.

use std::convert::Infallible;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures::Stream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::state::{Frame, MockState, OpenedStream};

/// Period of the `: ping` comment.
const PING_PERIOD: Duration = Duration::from_secs(15);
/// Most queued events written as one body chunk.
const MAX_BATCH: usize = 64;

const HELLO: &[u8] = b": ok\n\n";
const PING: &[u8] = b": ping\n\n";

/// The `200 text/event-stream` answer for a stream just opened in `state`.
pub(crate) fn response(state: &Arc<MockState>, opened: OpenedStream) -> Response {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_PERIOD, PING_PERIOD);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stream = EventStream {
        rx: opened.rx,
        shutdown: state.shutdown_signal(),
        ping,
        seq: 0,
        hello_sent: false,
        batch: Vec::new(),
        _guard: Unregister {
            state: Arc::downgrade(state),
            console_key: opened.console_key,
            stream_id: opened.stream_id,
        },
    };
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(body(stream)),
    )
        .into_response()
}

struct EventStream {
    rx: mpsc::Receiver<Frame>,
    shutdown: watch::Receiver<bool>,
    ping: Interval,
    /// `id:` of the last event written on this stream.
    seq: u64,
    hello_sent: bool,
    batch: Vec<Frame>,
    _guard: Unregister,
}

/// Unregisters the stream from the model when the body is dropped (client gone, or ended).
struct Unregister {
    state: Weak<MockState>,
    console_key: u64,
    stream_id: u64,
}

impl Drop for Unregister {
    fn drop(&mut self) {
        if let Some(state) = self.state.upgrade() {
            state.close_stream(self.console_key, self.stream_id);
        }
    }
}

fn body(stream: EventStream) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    futures::stream::unfold(stream, |mut s| async move {
        if !s.hello_sent {
            s.hello_sent = true;
            return Some((Ok(Bytes::from_static(HELLO)), s));
        }
        let chunk = tokio::select! {
            biased;
            () = stopped(&mut s.shutdown) => return None,
            n = s.rx.recv_many(&mut s.batch, MAX_BATCH) => {
                if n == 0 {
                    return None; // sender dropped: logout, full buffer or shutdown
                }
                s.write_batch()
            }
            _ = s.ping.tick() => Bytes::from_static(PING),
        };
        Some((Ok(chunk), s))
    })
}

/// Resolves once shutdown is signalled (or the model is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|&stop| stop).await;
}

impl EventStream {
    /// Writes the batched frames as one chunk, inserting `id: <seq>` after each `event:` line.
    fn write_batch(&mut self) -> Bytes {
        let len: usize = self.batch.iter().map(|f| f.len() + 26).sum();
        let mut out = BytesMut::with_capacity(len);
        for frame in self.batch.drain(..) {
            self.seq += 1;
            let split = frame.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
            out.extend_from_slice(&frame[..split]);
            out.extend_from_slice(b"id: ");
            push_u64(&mut out, self.seq);
            out.extend_from_slice(b"\n");
            out.extend_from_slice(&frame[split..]);
        }
        out.freeze()
    }
}

/// Appends the decimal digits of `n`.
fn push_u64(out: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits() {
        for n in [0, 7, 10, 12345, u64::MAX] {
            let mut b = BytesMut::new();
            push_u64(&mut b, n);
            assert_eq!(b.as_ref(), n.to_string().as_bytes());
        }
    }
}
