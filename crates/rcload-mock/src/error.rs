//! The mock's error answers: the contract's JSON error body (`{"error", "message"}`) and the
//! mapping of model errors and axum extractor rejections onto it. The mock knows nothing of
//! the load engine.

use std::borrow::Cow;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::capacity::Overloaded;
use super::state::{StateError, TooManyTalkgroups};
use rcload_api::{ErrorBody, codes};

/// Error code for a known path asked with the wrong method (not part of the contract's list).
pub(crate) const METHOD_NOT_ALLOWED: &str = "method_not_allowed";

/// Error code of an injected 500 (a fault; see `faults.rs`).
pub(crate) const INTERNAL: &str = "internal";

/// Error code of a 503 answered when the API's queue is full (`capacity.rs`).
pub(crate) const OVERLOADED: &str = "overloaded";

/// An error answer: status, contract error code and a human-readable message.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "missing or wrong bearer token",
        )
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "no such route")
    }

    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            METHOD_NOT_ALLOWED,
            "method not allowed on this path",
        )
    }
}

/// A 503 carries `Retry-After: 1`.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_owned(),
            message: self.message.into_owned(),
        };
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

impl From<Overloaded> for ApiError {
    fn from(_: Overloaded) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            OVERLOADED,
            "the system is overloaded: too many requests are waiting; retry later",
        )
    }
}

impl From<StateError> for ApiError {
    fn from(e: StateError) -> Self {
        let (status, code) = match e {
            StateError::AlreadyLoggedIn => (StatusCode::CONFLICT, codes::ALREADY_LOGGED_IN),
            StateError::NotLoggedIn => (StatusCode::CONFLICT, codes::NOT_LOGGED_IN),
            StateError::NotRegistered => (StatusCode::NOT_FOUND, codes::NOT_REGISTERED),
            StateError::UnknownCall => (StatusCode::NOT_FOUND, codes::NOT_FOUND),
        };
        Self::new(status, code, e.to_string())
    }
}

/// A monitored set beyond the limit is a 400 `bad_request`, like any other set the contract
/// refuses.
impl From<TooManyTalkgroups> for ApiError {
    fn from(e: TooManyTalkgroups) -> Self {
        Self::bad_request(e.to_string())
    }
}

/// Every body rejection (bad JSON, wrong or missing field, wrong content type, unreadable or
/// too large body) is a 400 `bad_request`.
impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        Self::bad_request(r.body_text())
    }
}

/// Every path-parameter rejection is a 400 `bad_request`.
impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::bad_request(r.body_text())
    }
}
