//! Reading one HTTP/1.1 answer from a connection (RFC 9112): its head, any informational
//! answers before it skipped, then its body as the head frames it (no body, `Content-Length`,
//! chunked, or until the connection closes), up to a size limit. Generic over the reader, so
//! it is tested on bytes in memory.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest head (status line and headers) rcload reads, bytes.
pub(crate) const MAX_HEAD_BYTES: usize = 64 << 10;
/// The most headers an answer may have.
const MAX_HEADERS: usize = 64;
/// The longest line of chunked framing (a chunk's size with its extensions, a trailer).
const MAX_LINE_BYTES: usize = 8 << 10;
/// What one read asks for at least: API v1's answers are small, and an idle connection keeps
/// its buffer. A longer answer doubles the room at each read.
const READ_BYTES: usize = 1 << 10;

/// An answer read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Bytes,
    /// The connection may carry the next request: the answer was framed, the target did not
    /// say `close`, and nothing came after it.
    pub reusable: bool,
}

/// Why no answer could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AnswerError {
    /// The connection closed or failed before the first byte of an answer: the target may
    /// not have seen the request (an idle connection it had closed).
    #[error("the connection closed before an answer ({0})")]
    Unanswered(String),
    /// The connection closed or failed within the answer's head.
    #[error("the connection closed within the answer's head ({0})")]
    Cut(String),
    /// Not an HTTP/1.1 answer, bad framing, a body cut short, or more than the limit.
    #[error("{0}")]
    Malformed(String),
}

/// How the body of an answer is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// The parts of a head that matter here.
#[derive(Debug)]
struct Head {
    status: u16,
    framing: Framing,
    keep_alive: bool,
}

/// Reads the answer to one request from `io` into `buf` (which must hold nothing else),
/// with at most `limit` bytes of body.
pub(crate) async fn read_answer<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    limit: usize,
) -> Result<Answer, AnswerError> {
    let head = read_head(io, buf).await?;
    let body = match head.framing {
        Framing::None => Bytes::new(),
        Framing::Length(n) => read_length(io, buf, n, limit).await?,
        Framing::Chunked => read_chunked(io, buf, limit).await?,
        Framing::UntilClose => read_until_close(io, buf, limit).await?,
    };
    Ok(Answer {
        status: head.status,
        body,
        reusable: head.keep_alive && head.framing != Framing::UntilClose && buf.is_empty(),
    })
}

fn too_large(limit: usize) -> AnswerError {
    AnswerError::Malformed(format!("an answer larger than {limit} bytes"))
}

/// Reads more into `buf`: the number of bytes read (0: the connection closed).
async fn fill<R: AsyncRead + Unpin>(io: &mut R, buf: &mut BytesMut) -> std::io::Result<usize> {
    buf.reserve(READ_BYTES.max(buf.len()));
    io.read_buf(buf).await
}

/// The head of the final answer, consumed from `buf`; informational (1xx) answers before it
/// are skipped.
async fn read_head<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
) -> Result<Head, AnswerError> {
    let mut any = false;
    loop {
        if !buf.is_empty() {
            any = true;
            if let Some((n, head)) = parse_head(buf)? {
                buf.advance(n);
                if (100..200).contains(&head.status) {
                    continue;
                }
                return Ok(head);
            }
            if buf.len() > MAX_HEAD_BYTES {
                return Err(AnswerError::Malformed(format!(
                    "an answer head larger than {MAX_HEAD_BYTES} bytes"
                )));
            }
        }
        let why = match fill(io, buf).await {
            Ok(0) => "closed".to_string(),
            Ok(_) => continue,
            Err(e) => e.to_string(),
        };
        return Err(if any {
            AnswerError::Cut(why)
        } else {
            AnswerError::Unanswered(why)
        });
    }
}

/// A complete head at the start of `buf` and its length, or `None` when more must be read.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, AnswerError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(AnswerError::Malformed(format!(
                "not an HTTP/1.1 answer: {e}"
            )));
        }
    };
    let status = resp.code.unwrap_or(0);
    if status == 101 {
        return Err(AnswerError::Malformed(
            "unexpected HTTP 101 (a protocol switch nobody asked for)".into(),
        ));
    }
    let mut length: Option<u64> = None;
    let mut chunked = None;
    let mut close = false;
    let mut keep_alive = false;
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<u64>()
                .ok()
                .filter(|n| length.is_none_or(|l| l == *n));
            length = Some(n.ok_or_else(|| {
                AnswerError::Malformed(format!("a bad Content-Length `{value}`"))
            })?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides: chunked, or else the body runs until the close.
            let last = value.rsplit(',').next().unwrap_or("").trim();
            chunked = Some(last.eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep_alive |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::None
    } else {
        match (chunked, length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::UntilClose,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        }
    };
    // HTTP/1.1 keeps the connection unless told; HTTP/1.0 only when told.
    let keep_alive = !close && (resp.version == Some(1) || keep_alive);
    Ok(Some((
        n,
        Head {
            status,
            framing,
            keep_alive,
        },
    )))
}

fn cut_body(why: &str) -> AnswerError {
    AnswerError::Malformed(format!("the answer ended within its body ({why})"))
}

/// Reads more of a body that must go on: its end, or a failed read, is an error (`where_`
/// says where the body was cut).
async fn fill_body<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    where_: impl FnOnce() -> String,
) -> Result<(), AnswerError> {
    match fill(io, buf).await {
        Ok(0) => Err(cut_body(&where_())),
        Ok(_) => Ok(()),
        Err(e) => Err(cut_body(&e.to_string())),
    }
}

async fn read_length<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    n: u64,
    limit: usize,
) -> Result<Bytes, AnswerError> {
    let n = usize::try_from(n)
        .ok()
        .filter(|n| *n <= limit)
        .ok_or_else(|| too_large(limit))?;
    while buf.len() < n {
        let got = buf.len();
        fill_body(io, buf, || format!("{got} of {n} bytes")).await?;
    }
    Ok(buf.split_to(n).freeze())
}

async fn read_until_close<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    limit: usize,
) -> Result<Bytes, AnswerError> {
    loop {
        if buf.len() > limit {
            return Err(too_large(limit));
        }
        match fill(io, buf).await {
            Ok(0) => return Ok(buf.split().freeze()),
            Ok(_) => {}
            Err(e) => return Err(cut_body(&e.to_string())),
        }
    }
}

/// One line of chunked framing, without its line end, consumed from `buf`.
async fn read_line<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
) -> Result<String, AnswerError> {
    loop {
        if let Some(i) = buf.iter().position(|b| *b == b'\n') {
            let line = buf.split_to(i + 1);
            let text = std::str::from_utf8(&line[..i])
                .map_err(|_| AnswerError::Malformed("bad chunked framing: not text".into()))?;
            return Ok(text.trim_end_matches('\r').to_string());
        }
        if buf.len() > MAX_LINE_BYTES {
            return Err(AnswerError::Malformed(format!(
                "bad chunked framing: a line longer than {MAX_LINE_BYTES} bytes"
            )));
        }
        fill_body(io, buf, || "within its chunked framing".into()).await?;
    }
}

async fn read_chunked<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    limit: usize,
) -> Result<Bytes, AnswerError> {
    let mut body = BytesMut::new();
    loop {
        let line = read_line(io, buf).await?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| {
            AnswerError::Malformed(format!("bad chunked framing: a chunk size `{size}`"))
        })?;
        if size == 0 {
            // Trailers, if any, up to the empty line: read and left aside.
            while !read_line(io, buf).await?.is_empty() {}
            return Ok(body.freeze());
        }
        if body.len().saturating_add(size) > limit {
            return Err(too_large(limit));
        }
        while buf.len() < size + 2 {
            fill_body(io, buf, || "within a chunk".into()).await?;
        }
        body.extend_from_slice(&buf[..size]);
        if &buf[size..size + 2] != b"\r\n" {
            return Err(AnswerError::Malformed(
                "bad chunked framing: a chunk longer than its size".into(),
            ));
        }
        buf.advance(size + 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `wire` read in pieces of `piece` bytes (every split point is tried by the callers).
    async fn read_from(wire: &[u8], piece: usize, limit: usize) -> Result<Answer, AnswerError> {
        let mut io = tokio_test_reader(wire, piece);
        read_answer(&mut io, &mut BytesMut::new(), limit).await
    }

    /// A reader that gives `wire` in pieces of at most `piece` bytes, one per read.
    fn tokio_test_reader(wire: &[u8], piece: usize) -> Pieces {
        Pieces(
            wire.chunks(piece.max(1))
                .rev()
                .map(<[u8]>::to_vec)
                .collect(),
        )
    }

    struct Pieces(Vec<Vec<u8>>);

    impl AsyncRead for Pieces {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            out: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if let Some(mut next) = self.0.pop() {
                let n = next.len().min(out.remaining());
                out.put_slice(&next[..n]);
                if n < next.len() {
                    self.0.push(next.split_off(n));
                }
            }
            std::task::Poll::Ready(Ok(()))
        }
    }

    fn answer(status: u16, body: &str, reusable: bool) -> Answer {
        Answer {
            status,
            body: Bytes::copy_from_slice(body.as_bytes()),
            reusable,
        }
    }

    async fn same_in_every_piece_size(wire: &str, limit: usize) -> Result<Answer, AnswerError> {
        let whole = read_from(wire.as_bytes(), wire.len(), limit).await;
        for piece in [1, 2, 3, 7, 16] {
            assert_eq!(
                read_from(wire.as_bytes(), piece, limit).await,
                whole,
                "{wire:?} in pieces of {piece}"
            );
        }
        whole
    }

    #[tokio::test]
    async fn framed_answers_are_read_whole_and_keep_the_connection() {
        let cases = [
            (
                "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}",
                answer(202, "{}", true),
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nTrailer: t\r\n\r\n",
                answer(200, "{\"a\":1}", true),
            ),
            // An informational answer first, then the answer.
            (
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                answer(204, "", true),
            ),
            (
                "HTTP/1.1 409 Conflict\r\ncontent-length: 5\r\nConnection: close\r\n\r\nnope!",
                answer(409, "nope!", false),
            ),
            (
                "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
                answer(200, "x", false),
            ),
            (
                "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx",
                answer(200, "x", true),
            ),
        ];
        for (wire, want) in cases {
            assert_eq!(
                same_in_every_piece_size(wire, 1024).await,
                Ok(want),
                "{wire:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_unframed_answer_runs_until_the_close_and_ends_the_connection() {
        let wire = "HTTP/1.1 200 OK\r\n\r\n{\"until\":\"close\"}";
        assert_eq!(
            same_in_every_piece_size(wire, 1024).await,
            Ok(answer(200, "{\"until\":\"close\"}", false))
        );
    }

    #[tokio::test]
    async fn bytes_after_the_answer_end_the_connection() {
        let wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200";
        let a = read_from(wire.as_bytes(), wire.len(), 1024).await;
        assert_eq!(a, Ok(answer(200, "{}", false)));
    }

    #[tokio::test]
    async fn answers_over_the_limit_are_refused_however_framed() {
        let big = "x".repeat(100);
        for wire in [
            format!("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{big}"),
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n{big}\r\n0\r\n\r\n"
            ),
            format!("HTTP/1.1 200 OK\r\n\r\n{big}"),
        ] {
            assert_eq!(
                same_in_every_piece_size(&wire, 99).await,
                Err(AnswerError::Malformed(
                    "an answer larger than 99 bytes".into()
                )),
                "{wire:?}"
            );
        }
        // A length over the limit is refused before its body is read.
        let wire = "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n";
        assert!(
            matches!(read_from(wire.as_bytes(), 64, 99).await, Err(AnswerError::Malformed(m)) if m.contains("larger"))
        );
    }

    #[tokio::test]
    async fn a_close_is_told_apart_by_where_it_falls() {
        assert!(matches!(
            read_from(b"", 1, 1024).await,
            Err(AnswerError::Unanswered(_))
        ));
        assert!(matches!(
            read_from(b"HTTP/1.1 200 OK\r\nContent-Le", 4, 1024).await,
            Err(AnswerError::Cut(_))
        ));
        for cut in [
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{}",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
        ] {
            assert!(
                matches!(read_from(cut.as_bytes(), 5, 1024).await, Err(AnswerError::Malformed(m)) if m.contains("ended within")),
                "{cut:?}"
            );
        }
    }

    #[tokio::test]
    async fn what_is_not_http_is_malformed() {
        for wire in [
            "SSH-2.0-OpenSSH_9.2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        ] {
            assert!(
                matches!(
                    read_from(wire.as_bytes(), wire.len(), 1024).await,
                    Err(AnswerError::Malformed(_))
                ),
                "{wire:?}"
            );
        }
        let endless_head = format!("HTTP/1.1 200 OK\r\n{}", "X-A: b\r\n".repeat(10_000));
        assert!(matches!(
            read_from(endless_head.as_bytes(), 4096, 1024).await,
            Err(AnswerError::Malformed(_))
        ));
    }
}
