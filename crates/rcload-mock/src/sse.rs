//! A console's event stream as a `text/event-stream` response body.
//!
//! The body starts with a `: ok` comment so the client sees bytes at once, then writes the
//! shared frames queued by the model (`state.rs`) with a per-stream `id:` line, batching what
//! is queued into one chunk, and a `: ping` comment every 15 s. Frames on the stream's control
//! lane (`console.kicked`, `talkgroup.dropped` of an overflow) are written before anything
//! queued; one that closes the stream ends it right after. With a drain rate, a token bucket
//! limits the events written per second: the others wait in the stream's queue, so a slow
//! console's queue fills as a real slow client's would. It ends when the model drops the
//! sender (logout, kick), after a closing control frame, or on server shutdown; when the
//! client goes away the body is dropped and the stream is unregistered. The mock knows
//! nothing of the load engine.

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

use super::state::{Control, Frame, MockState, OpenedStream};

/// Period of the `: ping` comment.
const PING_PERIOD: Duration = Duration::from_secs(15);
/// Most queued events written as one body chunk.
const MAX_BATCH: usize = 64;
/// The token bucket holds this much time's worth of events (at least one event).
const BURST: Duration = Duration::from_millis(20);

const HELLO: &[u8] = b": ok\n\n";
const PING: &[u8] = b": ping\n\n";

/// The `200 text/event-stream` answer for a stream just opened in `state`.
pub(crate) fn response(state: &Arc<MockState>, opened: OpenedStream) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(frames(state, opened)),
    )
        .into_response()
}

/// The bytes of a stream just opened in `state`, as the SSE body writes them (other dialects
/// translate them: `vendorx`).
pub(crate) fn frames(
    state: &Arc<MockState>,
    opened: OpenedStream,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_PERIOD, PING_PERIOD);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stream = EventStream {
        rx: opened.rx,
        control: Some(opened.control),
        bucket: opened.drain_rate.map(|r| Bucket::new(r, Instant::now())),
        shutdown: state.shutdown_signal(),
        ping,
        seq: 0,
        hello_sent: false,
        closing: false,
        batch: Vec::new(),
        _guard: Unregister {
            state: Arc::downgrade(state),
            console_key: opened.console_key,
            stream_id: opened.stream_id,
        },
    };
    body(stream)
}

struct EventStream {
    rx: mpsc::Receiver<Frame>,
    /// `None` once the model dropped its end.
    control: Option<mpsc::UnboundedReceiver<Control>>,
    /// `None`: no drain limit.
    bucket: Option<Bucket>,
    shutdown: watch::Receiver<bool>,
    ping: Interval,
    /// `id:` of the last event written on this stream.
    seq: u64,
    hello_sent: bool,
    /// A closing control frame was written: end.
    closing: bool,
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

/// A token bucket of events: `rate` per second, holding at most `burst`.
#[derive(Debug, Clone)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, now: Instant) -> Self {
        let burst = (rate * BURST.as_secs_f64()).max(1.0);
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Whole events that may be written at `now`.
    fn available(&mut self, now: Instant) -> usize {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.last = now;
        // tokens is in 0..=burst, a small positive number
        self.tokens.floor() as usize
    }

    fn take(&mut self, n: usize) {
        self.tokens = (self.tokens - n as f64).max(0.0);
    }

    /// When the next whole event may be written.
    fn next_ready(&self) -> Instant {
        let missing = (1.0 - self.tokens).max(0.0) / self.rate;
        self.last + Duration::try_from_secs_f64(missing).unwrap_or(Duration::from_secs(1))
    }
}

fn body(stream: EventStream) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    futures::stream::unfold(stream, |mut s| async move {
        if !s.hello_sent {
            s.hello_sent = true;
            return Some((Ok(Bytes::from_static(HELLO)), s));
        }
        if s.closing {
            return None;
        }
        let chunk = s.next_chunk().await?;
        Some((Ok(chunk), s))
    })
}

/// Resolves once shutdown is signalled (or the model is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|&stop| stop).await;
}

/// The next control frame (pending for ever once the lane is closed).
async fn next_control(control: &mut Option<mpsc::UnboundedReceiver<Control>>) -> Option<Control> {
    match control {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `at`, or for ever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

impl EventStream {
    /// The next chunk to write, or `None` when the stream ends.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            let (limit, wait) = match &mut self.bucket {
                None => (MAX_BATCH, None),
                Some(b) => match b.available(Instant::now()) {
                    0 => (0, Some(b.next_ready())),
                    n => (n.min(MAX_BATCH), None),
                },
            };
            tokio::select! {
                biased;
                () = stopped(&mut self.shutdown) => return None,
                c = next_control(&mut self.control) => match c {
                    Some(c) => {
                        self.closing = c.close;
                        return Some(self.write_one(&c.frame));
                    }
                    None => self.control = None, // the model dropped the stream: drain the rest
                },
                () = sleep_until(wait) => {} // a token is ready
                n = self.rx.recv_many(&mut self.batch, limit), if limit > 0 => {
                    if n == 0 {
                        return None; // sender dropped: logout, kick or shutdown
                    }
                    if let Some(b) = &mut self.bucket {
                        b.take(n);
                    }
                    return Some(self.write_batch());
                }
                _ = self.ping.tick() => return Some(Bytes::from_static(PING)),
            }
        }
    }

    /// Writes one frame with the next `id:`.
    fn write_one(&mut self, frame: &Frame) -> Bytes {
        let mut out = BytesMut::with_capacity(frame.len() + 26);
        self.push_frame(&mut out, frame);
        out.freeze()
    }

    /// Writes the batched frames as one chunk.
    fn write_batch(&mut self) -> Bytes {
        let len: usize = self.batch.iter().map(|f| f.len() + 26).sum();
        let mut out = BytesMut::with_capacity(len);
        let batch = std::mem::take(&mut self.batch);
        for frame in &batch {
            self.push_frame(&mut out, frame);
        }
        self.batch = batch;
        self.batch.clear();
        out.freeze()
    }

    /// Appends `frame`, inserting `id: <seq>` after its `event:` line.
    fn push_frame(&mut self, out: &mut BytesMut, frame: &Frame) {
        self.seq += 1;
        let split = frame.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        out.extend_from_slice(&frame[..split]);
        out.extend_from_slice(b"id: ");
        push_u64(out, self.seq);
        out.extend_from_slice(b"\n");
        out.extend_from_slice(&frame[split..]);
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

    #[test]
    fn bucket_limits_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(50.0, t0);
        assert_eq!(b.available(t0), 1, "burst of at least one");
        b.take(1);
        assert_eq!(b.available(t0), 0);
        let ready = b.next_ready();
        assert!(ready > t0 + Duration::from_millis(19) && ready <= t0 + Duration::from_millis(21));
        // one second later: the burst, not fifty
        assert_eq!(b.available(t0 + Duration::from_secs(1)), 1);
        // writing whatever is available for 2 s gives about 100 events
        let mut fast = Bucket::new(1000.0, t0);
        let mut n = 0;
        let mut t = t0;
        while t < t0 + Duration::from_secs(2) {
            let k = fast.available(t);
            fast.take(k);
            n += k;
            t += Duration::from_millis(7);
        }
        assert!((1990..=2030).contains(&n), "{n}");
    }
}
