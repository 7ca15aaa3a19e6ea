//! Request extractors of the mock that validate what they extract and turn every rejection into
//! the contract's JSON error (`error.rs`): JSON bodies, console ids and ISSIs in the path; and
//! the reading of an `Authorization` header's credentials (used by both dialects).
//! The mock knows nothing of the load engine.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use rcload_api as api;

/// A JSON request body; any rejection is a 400 `bad_request` with the JSON error body.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}

/// A valid console id (`[A-Za-z0-9._-]{1,64}`) from the path.
#[derive(Debug)]
pub(crate) struct ConsoleId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ConsoleId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state).await?;
        if api::valid_console_id(&id) {
            Ok(Self(id))
        } else {
            Err(ApiError::bad_request(
                "console id must match [A-Za-z0-9._-]{1,64}",
            ))
        }
    }
}

/// A valid ISSI (1..=16777215, written in plain decimal) from the path.
#[derive(Debug)]
pub(crate) struct Issi(pub u32);

impl<S: Send + Sync> FromRequestParts<S> for Issi {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        parse_issi(&raw).map(Self)
    }
}

/// An ISSI as written in a path: plain decimal digits in 1..=16777215. Every other form (a
/// sign, leading zeros, spaces, out of range, not a number) gets the same answer.
fn parse_issi(raw: &str) -> Result<u32, ApiError> {
    match parse_decimal(raw) {
        Some(issi) if api::valid_tetra_id(issi.into()) => Ok(issi),
        _ => Err(ApiError::bad_request(
            "ISSI must be a decimal integer in 1..=16777215 (no sign or leading zeros)",
        )),
    }
}

/// A number as the contract writes ids in a path: ASCII decimal digits only, no sign, no
/// leading zero (`0` alone is a number; whether it is a valid id is the caller's business).
/// `None` for anything else, or for a value beyond `u32`.
fn parse_decimal(raw: &str) -> Option<u32> {
    let plain = !raw.is_empty()
        && raw.bytes().all(|b| b.is_ascii_digit())
        && (raw == "0" || !raw.starts_with('0'));
    if !plain {
        return None;
    }
    raw.parse().ok()
}

/// A call id from the path (any string; unknown ones are answered 404 by the model).
#[derive(Debug)]
pub(crate) struct CallId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CallId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(call) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(Self(call))
    }
}

/// Checks that a talkgroup (GSSI) or ISSI taken from a body is in 1..=16777215.
pub(crate) fn check_tetra_id(what: &'static str, id: u32) -> Result<u32, ApiError> {
    if api::valid_tetra_id(id.into()) {
        Ok(id)
    } else {
        Err(ApiError::bad_request(format!(
            "{what} must be in 1..=16777215, got {id}"
        )))
    }
}

/// Whether the request's path is `/v1` or under it.
pub(crate) fn is_v1(req: &Request) -> bool {
    let path = req.uri().path();
    path == "/v1" || path.starts_with("/v1/")
}

/// The credentials of an `Authorization: <scheme> <credentials>` header when its scheme is
/// `scheme`: the scheme compared without regard to case (RFC 9110, 11.1), then one or more
/// spaces or tabs, then the credentials (spaces and tabs around them left out). `None` when
/// the header is missing, is not visible ASCII, has another scheme, or has no credentials.
pub(crate) fn auth_credentials<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, rest) = value.split_once([' ', '\t'])?;
    if !given.eq_ignore_ascii_case(scheme) {
        return None;
    }
    let credentials = rest.trim_matches([' ', '\t']);
    (!credentials.is_empty()).then_some(credentials)
}

/// The token of an `Authorization: Bearer <token>` header (`bearer`, `BEARER`, ... alike; see
/// [`auth_credentials`]). The bearer check of both dialects (`/v1`, vendor-x's `/xapi`).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    auth_credentials(headers, "Bearer")
}

/// Whether `given` is the secret `expected`, in time that does not depend on where they
/// differ (a timing side channel would let a client find the secret byte by byte).
pub(crate) fn same_secret(given: &str, expected: &str) -> bool {
    let (g, e) = (given.as_bytes(), expected.as_bytes());
    let mut diff = u8::from(g.len() != e.len());
    for (i, b) in e.iter().enumerate() {
        diff |= b ^ g.get(i).copied().unwrap_or(!*b);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn authorization(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(value).expect("header value"),
        );
        headers
    }

    #[test]
    fn a_secret_matches_only_itself() {
        assert!(same_secret("s3cret", "s3cret"));
        for other in ["s3cre", "s3cret!", "S3cret", "", "x3cret"] {
            assert!(!same_secret(other, "s3cret"), "{other}");
        }
        assert!(same_secret("", ""));
    }

    #[test]
    fn bearer_scheme_in_any_case_with_spaces_or_tabs() {
        for (value, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER abc", Some("abc")),
            ("bEaReR abc", Some("abc")),
            ("Bearer    abc", Some("abc")),
            ("Bearer\tabc", Some("abc")),
            ("Bearer \t abc \t", Some("abc")),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearer \t ", None),
            ("Bearerabc", None),
            ("Bearer-abc", None),
            ("Basic abc", None),
            ("Token abc", None),
            ("abc", None),
            ("", None),
        ] {
            assert_eq!(
                bearer_token(&authorization(value.as_bytes())),
                want,
                "{value:?}"
            );
        }
        assert_eq!(bearer_token(&HeaderMap::new()), None);
        assert_eq!(bearer_token(&authorization(b"Bearer \xe9t\xe9")), None);
        assert_eq!(
            auth_credentials(&authorization(b"basic Y2lkOnNlaw=="), "Basic"),
            Some("Y2lkOnNlaw==")
        );
        assert_eq!(
            auth_credentials(&authorization(b"Bearer Y2lkOnNlaw=="), "Basic"),
            None
        );
    }

    #[test]
    fn path_numbers_are_plain_decimal() {
        for (raw, want) in [
            ("0", Some(0)),
            ("1", Some(1)),
            ("10", Some(10)),
            ("16777215", Some(16_777_215)),
            ("4294967295", Some(u32::MAX)),
            ("4294967296", None),
            ("+5", None),
            ("-5", None),
            ("0005", None),
            ("05", None),
            ("00", None),
            ("", None),
            (" 5", None),
            ("5 ", None),
            ("5a", None),
            ("0x5", None),
            ("1.5", None),
            ("1e3", None),
            ("\u{663}", None),
        ] {
            assert_eq!(parse_decimal(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn issis_are_plain_decimal_in_range() {
        assert_eq!(parse_issi("5").ok(), Some(5));
        assert_eq!(parse_issi("16777215").ok(), Some(16_777_215));
        let invalid = format!("{:?}", parse_issi("abc").unwrap_err());
        for raw in ["+5", "0005", "05", "0", "-1", "16777216", ""] {
            let got = parse_issi(raw).map_err(|e| format!("{e:?}"));
            assert_eq!(got, Err(invalid.clone()), "{raw:?}");
        }
    }
}
