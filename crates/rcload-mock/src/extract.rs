//! Request extractors of the mock that validate what they extract and turn every rejection into
//! the contract's JSON error (`error.rs`): JSON bodies, console ids and ISSIs in the path.
//! The mock knows nothing of the load engine.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
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

/// A valid ISSI (1..=16777215) from the path.
#[derive(Debug)]
pub(crate) struct Issi(pub u32);

impl<S: Send + Sync> FromRequestParts<S> for Issi {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        match raw.parse::<u32>() {
            Ok(issi) if api::valid_tetra_id(issi.into()) => Ok(Self(issi)),
            _ => Err(ApiError::bad_request(
                "ISSI must be an integer in 1..=16777215",
            )),
        }
    }
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
