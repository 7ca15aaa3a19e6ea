//! Reading a target's answers, bounded: every body is read within a time limit and up to a
//! size limit, so a target that sends a 20 MB answer, an endless one, or none at all after its
//! headers costs a bounded wait and bounded memory, and is counted as an error of its class.

use super::TargetError;
use std::time::Duration;

/// The class of a failed request.
pub(crate) fn classify(e: reqwest::Error) -> TargetError {
    if e.is_timeout() {
        TargetError::Timeout
    } else if e.is_connect() {
        TargetError::Connect(root_cause(&e))
    } else if e.is_body() || e.is_decode() {
        TargetError::Protocol(root_cause(&e))
    } else {
        TargetError::Connect(root_cause(&e))
    }
}

pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        msg = format!("{msg}: {s}");
        cur = s.source();
    }
    match tls_cause(e) {
        Some(why) => format!("{why} ({msg})"),
        None => msg,
    }
}

/// What a TLS failure in `e`'s chain means, in the user's words, with the flag that helps.
/// (An I/O error hides the error it wraps from `source()`: it is looked into as well.)
pub(crate) fn tls_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    while let Some(x) = cur {
        // I/O errors may wrap each other before the TLS error.
        let mut inner = Some(x);
        while let Some(i) = inner {
            if let Some(r) = i.downcast_ref::<rustls::Error>() {
                return Some(explain_tls(r));
            }
            inner = i
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|i| i as &(dyn std::error::Error + 'static));
        }
        cur = x.source();
    }
    None
}

fn explain_tls(e: &rustls::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "TLS: the target's certificate is not signed by a CA rcload trusts (give its CA \
             with --ca-cert)"
                .into()
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "TLS: the target's certificate has expired".into()
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "TLS: the target's certificate is not valid yet".into()
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "TLS: the target's certificate is not valid for the name rcload asked for \
             (--tls-server-name names another)"
                .into()
        }
        E::AlertReceived(A::CertificateRequired) => {
            "TLS: the target requires a client certificate (give --client-cert and \
             --client-key)"
                .into()
        }
        E::AlertReceived(A::BadCertificate | A::UnknownCA | A::CertificateUnknown) => {
            "TLS: the target did not accept the client certificate".into()
        }
        E::AlertReceived(A::ProtocolVersion) => {
            "TLS: the target and rcload share no TLS version (--min-tls)".into()
        }
        other => format!("TLS: {other}"),
    }
}

/// The largest answer body rcload reads, bytes (4 MiB): API v1's answers are under 1 KB, a
/// console's talkgroup list at the mock's limit under 16 KB. Larger answers are a protocol
/// error.
pub const MAX_ANSWER_BYTES: usize = 4 << 20;

/// The largest event of a console's stream by default, bytes (1 MiB; `--max-event-bytes`).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;

fn too_large(limit: usize) -> TargetError {
    TargetError::Protocol(format!("an answer larger than {limit} bytes"))
}

/// `resp`'s body, at most `limit` bytes, read within `timeout`.
pub async fn read(
    resp: reqwest::Response,
    limit: usize,
    timeout: Duration,
) -> Result<bytes::Bytes, TargetError> {
    tokio::time::timeout(timeout, read_timed(resp, limit))
        .await
        .map_err(|_| TargetError::Timeout)?
}

/// `resp`'s body, at most `limit` bytes, for a request sent with reqwest's own timeout, which
/// runs until the body is read (a body that never ends fails as a timeout): no timer of its
/// own.
pub async fn read_timed(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<bytes::Bytes, TargetError> {
    if resp
        .content_length()
        .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(too_large(limit));
    }
    // An answer of one chunk (the usual) is kept as it came, without a copy.
    let first = match resp.chunk().await.map_err(classify)? {
        None => return Ok(bytes::Bytes::new()),
        Some(c) if c.len() > limit => return Err(too_large(limit)),
        Some(c) => c,
    };
    let Some(second) = resp.chunk().await.map_err(classify)? else {
        return Ok(first);
    };
    let mut buf = bytes::BytesMut::from(first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if buf.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        buf.extend_from_slice(&chunk);
        next = resp.chunk().await.map_err(classify)?;
    }
    Ok(buf.freeze())
}

/// The body of an error answer, for its message: what arrives within `timeout` and the size
/// limit, or nothing (the error is the status; a body that never comes must not hold it).
pub async fn read_error(resp: reqwest::Response, timeout: Duration) -> bytes::Bytes {
    read(resp, MAX_ANSWER_BYTES, timeout)
        .await
        .unwrap_or_default()
}
