//! A Server-Sent Events decoder: the WHATWG grammar (lines ending in CRLF, LF or CR; the fields
//! `event` and `data`; comments; an event dispatched at a blank line), in time linear in the
//! bytes received, and bounded: an event (or a comment line) larger than `max_event_bytes` ends
//! the stream with an error.
//!
//! Written here rather than taken from `eventsource-stream`, which rescans its whole buffer for
//! every chunk (CPU quadratic in the length of a line: 100 MB without a newline cost 30 s of CPU)
//! and has no size limit. The grammar is short; `id` and `retry` are read and ignored (rcload
//! reconnects on its own schedule and never resumes a stream).

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use std::collections::VecDeque;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event` field, `message` when there was none.
    pub event: String,
    /// The `data` lines joined with `\n`.
    pub data: String,
}

/// Why a stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an event (or line) larger than {max} bytes")]
    TooLarge { max: usize },
}

/// The decoder's state between chunks.
#[derive(Debug)]
pub struct Decoder {
    max: usize,
    /// The line being received (without its end).
    line: Vec<u8>,
    /// The last byte seen was a CR: an LF right after it ends no second line.
    after_cr: bool,
    /// The first line of the stream is still to come (a byte order mark is dropped from it).
    first_line: bool,
    event: String,
    data: String,
    has_data: bool,
    /// Bytes of the event so far (its field lines).
    size: usize,
}

impl Decoder {
    pub fn new(max_event_bytes: usize) -> Self {
        Decoder {
            max: max_event_bytes.max(1),
            line: Vec::new(),
            after_cr: false,
            first_line: true,
            event: String::new(),
            data: String::new(),
            has_data: false,
            size: 0,
        }
    }

    /// Take `bytes`; the events they complete are added to `out`. Each byte is looked at once.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut VecDeque<SseEvent>) -> Result<(), SseError> {
        while let Some(&b0) = bytes.first() {
            if self.after_cr {
                self.after_cr = false;
                if b0 == b'\n' {
                    bytes = &bytes[1..];
                    continue;
                }
            }
            match bytes.iter().position(|b| *b == b'\n' || *b == b'\r') {
                Some(i) => {
                    self.extend_line(&bytes[..i])?;
                    self.after_cr = bytes[i] == b'\r';
                    self.end_line(out);
                    bytes = &bytes[i + 1..];
                }
                None => {
                    self.extend_line(bytes)?;
                    break;
                }
            }
        }
        Ok(())
    }

    fn extend_line(&mut self, part: &[u8]) -> Result<(), SseError> {
        if self.size + self.line.len() + part.len() > self.max {
            return Err(SseError::TooLarge { max: self.max });
        }
        self.line.extend_from_slice(part);
        Ok(())
    }

    fn end_line(&mut self, out: &mut VecDeque<SseEvent>) {
        let mut line = std::mem::take(&mut self.line);
        if std::mem::take(&mut self.first_line) && line.starts_with(&[0xEF, 0xBB, 0xBF]) {
            line = line.split_off(3);
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            // A comment (the API's `: ping`): activity only.
            self.line = line;
            self.line.clear();
            return;
        }
        self.size += line.len() + 1;
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (&line[..], &[][..]),
        };
        match name {
            b"event" => self.event = String::from_utf8_lossy(value).into_owned(),
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
            }
            _ => {}
        }
        // Keep the line's allocation for the next one.
        line.clear();
        self.line = line;
    }

    fn dispatch(&mut self, out: &mut VecDeque<SseEvent>) {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        self.size = 0;
        if std::mem::take(&mut self.has_data) {
            out.push_back(SseEvent {
                event: if event.is_empty() {
                    "message".to_string()
                } else {
                    event
                },
                data,
            });
        }
    }
}

/// Why a decoded stream ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum StreamError<E> {
    #[error("{0}")]
    Transport(E),
    #[error("{0}")]
    Event(SseError),
}

struct State<S> {
    bytes: std::pin::Pin<Box<S>>,
    decoder: Decoder,
    ready: VecDeque<SseEvent>,
    done: bool,
}

/// The events of a byte stream. An error (of the transport, or an event too large) is the last
/// item; an event left unfinished when the bytes end is dropped, as the grammar says.
pub fn decode<S, B, E>(
    bytes: S,
    max_event_bytes: usize,
) -> BoxStream<'static, Result<SseEvent, StreamError<E>>>
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
    E: Send + 'static,
{
    let state = State {
        bytes: Box::pin(bytes),
        decoder: Decoder::new(max_event_bytes),
        ready: VecDeque::new(),
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.ready.pop_front() {
                return Some((Ok(ev), st));
            }
            if st.done {
                return None;
            }
            match st.bytes.next().await {
                Some(Ok(chunk)) => {
                    if let Err(e) = st.decoder.feed(chunk.as_ref(), &mut st.ready) {
                        st.done = true;
                        st.ready.clear();
                        return Some((Err(StreamError::Event(e)), st));
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(StreamError::Transport(e)), st));
                }
                None => st.done = true,
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]], max: usize) -> (Vec<SseEvent>, Option<SseError>) {
        let mut d = Decoder::new(max);
        let mut out = VecDeque::new();
        for c in chunks {
            if let Err(e) = d.feed(c, &mut out) {
                return (out.into(), Some(e));
            }
        }
        (out.into(), None)
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn the_grammar() {
        let text = b"\xEF\xBB\xBF: ping\n\nevent: status\ndata: {\"a\":1}\n\ndata:x\r\ndata: y\r\n\r\nevent:e\rdata\r\r: only a comment\n\nid: 7\nretry: 10\ndata:  two spaces\n\n";
        let (got, err) = all(&[&text[..]], 1 << 20);
        assert_eq!(err, None);
        assert_eq!(
            got,
            [
                ev("status", "{\"a\":1}"),
                ev("message", "x\ny"),
                ev("e", ""),
                ev("message", " two spaces"),
            ]
        );
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let text: &[u8] = b"event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\rdata: 3\n\n";
        let (whole, _) = all(&[text], 1 << 20);
        for cut in 0..text.len() {
            let (parts, err) = all(&[&text[..cut], &text[cut..]], 1 << 20);
            assert_eq!(err, None);
            assert_eq!(parts, whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(all(&bytes, 1 << 20).0, whole);
        assert_eq!(whole.len(), 3);
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        let (got, err) = all(&[&b"data: 1\n\ndata: 2\n"[..]], 100);
        assert_eq!((got, err), (vec![ev("message", "1")], None));
    }

    #[test]
    fn an_event_or_line_over_the_limit_is_an_error() {
        let long = [b'x'; 200];
        let (_, err) = all(&[&b"data: "[..], &long[..]], 100);
        assert_eq!(err, Some(SseError::TooLarge { max: 100 }));
        // Many small lines of one event add up.
        let lines = b"data: 0123456789\n".repeat(10);
        let (_, err) = all(&[&lines[..]], 100);
        assert_eq!(err, Some(SseError::TooLarge { max: 100 }));
        // A comment line without an end is bounded too.
        let (_, err) = all(&[&b":"[..], &long[..]], 100);
        assert!(err.is_some());
        // Under the limit, events of any count pass.
        let many = b"data: 0123456789\n\n".repeat(1000);
        let (got, err) = all(&[&many[..]], 100);
        assert_eq!((got.len(), err), (1000, None));
    }

    #[test]
    fn a_long_line_costs_linear_time() {
        // 8 MB in 64 KB chunks without a line end: each byte is looked at once (a rescan per
        // chunk would look at 2 GB), so this takes milliseconds, not minutes, even unoptimised.
        let chunk = vec![b'x'; 64 << 10];
        let mut d = Decoder::new(16 << 20);
        let mut out = VecDeque::new();
        assert!(d.feed(b"data: ", &mut out).is_ok());
        for _ in 0..128 {
            assert!(d.feed(&chunk, &mut out).is_ok());
        }
        assert!(d.feed(b"\n\n", &mut out).is_ok());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data.len(), 8 << 20);
    }

    #[tokio::test]
    async fn a_stream_of_chunks() {
        let chunks: Vec<Result<&'static [u8], String>> = vec![
            Ok(b"data: 1\n"),
            Ok(b"\ndata: 2\n\n"),
            Err("reset".to_string()),
            Ok(b"data: 3\n\n"),
        ];
        let got: Vec<_> = decode(futures::stream::iter(chunks), 1 << 20)
            .collect()
            .await;
        assert_eq!(got.len(), 3);
        assert!(matches!(&got[0], Ok(e) if e.data == "1"));
        assert!(matches!(&got[1], Ok(e) if e.data == "2"));
        assert!(matches!(&got[2], Err(StreamError::Transport(e)) if e == "reset"));
    }
}
