//! The mock's "vendor-x" dialect (`rcload mock --dialect vendor-x`, `docs/mock.md`): the same
//! model (consoles, terminals, calls, fan-out, capacity, faults) behind a differently shaped
//! interface, to prove rcload's mapping-driven adapters against something that is not API v1:
//! other paths and field names, ids handed out in answers (a session per console, a radio id
//! per terminal), OAuth2 client credentials, events over a WebSocket (or polled) with the
//! vendor's type names and no echo of the client's reference, and its own error body
//! `{"errorCode", "description"}`.
//!
//! Handlers are in this file, the token endpoint in `oauth`, the WebSocket in `ws`, polling in
//! `poll` and the translation of events in `translate`. It knows nothing of the load engine.

mod oauth;
mod poll;
mod translate;
mod ws;

use super::capacity::Overloaded;
use super::faults::RouteOp::{Known, StartCall};
use super::faults::tag;
use super::sse;
use super::state::{Cost, MockState, StateError, TooManyTalkgroups};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use rcload_api::Op;
use rcload_api::{self as api, CallKind};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::borrow::Cow;
use std::sync::Arc;

pub(crate) use oauth::Tokens;

/// An error answer of the dialect: `{"errorCode": CODE, "description": TEXT}`.
#[derive(Debug, Clone)]
pub(crate) struct XError {
    status: StatusCode,
    code: &'static str,
    description: Cow<'static, str>,
}

impl XError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        XError {
            status,
            code,
            description: description.into(),
        }
    }

    fn invalid(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", d)
    }

    fn no_session() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "SESSION_NOT_FOUND",
            "no such session (ended, or never opened)",
        )
    }

    fn no_radio() -> Self {
        Self::new(StatusCode::NOT_FOUND, "RADIO_NOT_FOUND", "no such radio")
    }
}

impl IntoResponse for XError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(json!({"errorCode": self.code, "description": self.description})),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        resp
    }
}

impl From<Overloaded> for XError {
    fn from(_: Overloaded) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "BUSY",
            "the gateway is busy; retry later",
        )
    }
}

impl From<StateError> for XError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::AlreadyLoggedIn => Self::new(
                StatusCode::CONFLICT,
                "POSITION_IN_USE",
                "the position already has a session",
            ),
            StateError::NotLoggedIn => Self::no_session(),
            StateError::NotRegistered => Self::no_radio(),
            StateError::UnknownCall => {
                Self::new(StatusCode::NOT_FOUND, "CALL_NOT_FOUND", "no such call")
            }
        }
    }
}

impl From<TooManyTalkgroups> for XError {
    fn from(e: TooManyTalkgroups) -> Self {
        Self::invalid(e.to_string())
    }
}

type St = State<Arc<MockState>>;

/// The dialect's app over `state`; with `tokens`, `/xapi` needs a bearer token from
/// `/oauth2/token`.
pub(crate) fn app(state: Arc<MockState>, tokens: Option<Arc<Tokens>>) -> Router {
    let polls = Arc::new(poll::Polls::default());
    let api = Router::new()
        .route("/healthz", get(super::routes::healthz))
        .route("/metrics", get(super::metrics::metrics))
        .route("/xapi/v2/ping", get(ping))
        .route(
            "/xapi/v2/sessions",
            tag(post(login), Known(Op::ConsoleLogin)),
        )
        .route(
            "/xapi/v2/sessions/{sid}",
            tag(delete(logout), Known(Op::ConsoleLogout)),
        )
        .route(
            "/xapi/v2/sessions/{sid}/groups",
            tag(put(attach), Known(Op::ConsoleAttach))
                .merge(tag(get(audit), Known(Op::ConsoleAudit))),
        )
        .route(
            "/xapi/v2/sessions/{sid}/stream",
            tag(get(stream), Known(Op::ConsoleEvents)),
        )
        .route(
            "/xapi/v2/radios",
            tag(post(register), Known(Op::TerminalRegister)),
        )
        .route(
            "/xapi/v2/radios/{rid}",
            tag(delete(deregister), Known(Op::TerminalDeregister)),
        )
        .route(
            "/xapi/v2/radios/{rid}/group",
            tag(put(affiliate), Known(Op::TerminalAffiliate)),
        )
        .route(
            "/xapi/v2/radios/{rid}/status",
            tag(post(status), Known(Op::TerminalStatus)),
        )
        .route("/xapi/v2/calls", tag(post(start_call), StartCall))
        .route(
            "/xapi/v2/calls/{cid}",
            tag(delete(end_call), Known(Op::CallEnd)),
        )
        .fallback(|| async { XError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route") })
        .method_not_allowed_fallback(|| async {
            XError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "method not allowed on this path",
            )
        })
        .with_state(state.clone());
    let polled = Router::new()
        .route(
            "/xapi/v2/sessions/{sid}/messages",
            tag(get(poll::messages), Known(Op::ConsoleEvents)),
        )
        .with_state((state.clone(), polls));
    let mut app = api.merge(polled);
    if let Some(t) = tokens {
        app = app
            .layer(middleware::from_fn_with_state(t.clone(), oauth::bearer))
            .merge(
                Router::new()
                    .route("/oauth2/token", post(oauth::token))
                    .with_state((state, t)),
            );
    }
    app
}

/// A JSON body, or 400 INVALID_REQUEST.
fn body<T: DeserializeOwned>(b: &Bytes) -> Result<T, XError> {
    serde_json::from_slice(b).map_err(|e| XError::invalid(format!("invalid body: {e}")))
}

fn tetra(what: &str, id: u64) -> Result<u32, XError> {
    if api::valid_tetra_id(id) {
        Ok(id as u32)
    } else {
        Err(XError::invalid(format!(
            "{what} must be 1 to {}",
            api::MAX_ID
        )))
    }
}

/// The session id of a console's model session: opaque to clients, decodable here.
fn session_id(console: &str, session: &str) -> String {
    let hex: String = console.bytes().map(|b| format!("{b:02x}")).collect();
    format!("xs-{hex}-{session}")
}

/// The console of a session id that is still its console's current session.
pub(crate) fn console_of(state: &MockState, sid: &str) -> Result<String, XError> {
    let rest = sid.strip_prefix("xs-").ok_or_else(XError::no_session)?;
    let (hex, session) = rest.split_once('-').ok_or_else(XError::no_session)?;
    if hex.len() % 2 != 0 {
        return Err(XError::no_session());
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let console = bytes
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(XError::no_session)?;
    match state.session_of(&console) {
        Some(s) if s == session => Ok(console),
        _ => Err(XError::no_session()),
    }
}

fn radio_id(issi: u32) -> String {
    format!("xr-{issi:06x}")
}

/// The ISSI of a radio id exactly as [`radio_id`] writes it (no sign, no other padding).
fn issi_of(rid: &str) -> Result<u32, XError> {
    rid.strip_prefix("xr-")
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .filter(|i| api::valid_tetra_id(u64::from(*i)) && radio_id(*i) == rid)
        .ok_or_else(XError::no_radio)
}

async fn ping() -> Json<serde_json::Value> {
    Json(json!({"state": "UP"}))
}

#[derive(Deserialize)]
struct LoginBody {
    position: String,
    user: String,
}

async fn login(State(state): St, b: Bytes) -> Result<Response, XError> {
    let req: LoginBody = body(&b)?;
    if !api::valid_console_id(&req.position) {
        return Err(XError::invalid("position must be [A-Za-z0-9._-]{1,64}"));
    }
    state.serve(Op::ConsoleLogin, Cost::Nothing).await?;
    let session = state.login(&req.position, &req.user)?;
    let sid = session_id(&req.position, &session);
    Ok((
        StatusCode::CREATED,
        Json(json!({"sessionId": sid, "position": req.position, "user": req.user})),
    )
        .into_response())
}

async fn logout(State(state): St, Path(sid): Path<String>) -> Result<StatusCode, XError> {
    let console = console_of(&state, &sid)?;
    state.serve(Op::ConsoleLogout, Cost::Nothing).await?;
    state.logout(&console)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Group {
    gssi: u64,
}

#[derive(Deserialize)]
struct Groups {
    groups: Vec<Group>,
}

fn groups_answer(talkgroups: &[u32]) -> Json<serde_json::Value> {
    let groups: Vec<_> = talkgroups
        .iter()
        .map(|g| json!({"gssi": g, "state": "ATTACHED"}))
        .collect();
    Json(json!({ "groups": groups }))
}

async fn attach(
    State(state): St,
    Path(sid): Path<String>,
    b: Bytes,
) -> Result<Json<serde_json::Value>, XError> {
    let console = console_of(&state, &sid)?;
    let req: Groups = body(&b)?;
    let talkgroups = req
        .groups
        .iter()
        .map(|g| tetra("gssi", g.gssi))
        .collect::<Result<Vec<u32>, _>>()?;
    state.check_talkgroup_count(&talkgroups)?;
    state
        .serve(Op::ConsoleAttach, Cost::Attach(&console, &talkgroups))
        .await?;
    let (now, pending) = state.set_talkgroups(&console, &talkgroups)?;
    pending.deliver().await;
    Ok(groups_answer(&now))
}

async fn audit(
    State(state): St,
    Path(sid): Path<String>,
) -> Result<Json<serde_json::Value>, XError> {
    let console = console_of(&state, &sid)?;
    state.serve(Op::ConsoleAudit, Cost::Nothing).await?;
    Ok(groups_answer(&state.talkgroups(&console)?))
}

/// Opening the WebSocket is not API work: counted, never queued.
async fn stream(
    State(state): St,
    Path(sid): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, XError> {
    let console = console_of(&state, &sid)?;
    state.count_request(Op::ConsoleEvents);
    let opened = state.open_stream(&console)?;
    let frames = sse::frames(&state, opened);
    Ok(upgrade.on_upgrade(move |socket| ws::pump(socket, frames)))
}

#[derive(Deserialize)]
struct RadioBody {
    ssi: u64,
    gssi: u64,
}

async fn register(State(state): St, b: Bytes) -> Result<Response, XError> {
    let req: RadioBody = body(&b)?;
    let issi = tetra("ssi", req.ssi)?;
    let talkgroup = tetra("gssi", req.gssi)?;
    state
        .serve(Op::TerminalRegister, Cost::Talkgroup(talkgroup))
        .await?;
    state.register(issi, talkgroup).deliver().await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"radioId": radio_id(issi), "ssi": issi, "gssi": talkgroup})),
    )
        .into_response())
}

async fn deregister(State(state): St, Path(rid): Path<String>) -> Result<StatusCode, XError> {
    let issi = issi_of(&rid)?;
    state
        .serve(Op::TerminalDeregister, Cost::Terminal(issi))
        .await?;
    state.deregister(issi)?.deliver().await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct GroupBody {
    gssi: u64,
}

async fn affiliate(
    State(state): St,
    Path(rid): Path<String>,
    b: Bytes,
) -> Result<Json<serde_json::Value>, XError> {
    let issi = issi_of(&rid)?;
    let req: GroupBody = body(&b)?;
    let talkgroup = tetra("gssi", req.gssi)?;
    state.serve(Op::TerminalAffiliate, Cost::Nothing).await?;
    state.affiliate(issi, talkgroup)?;
    Ok(Json(
        json!({"radioId": rid, "ssi": issi, "gssi": talkgroup}),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusBody {
    status_value: u16,
}

async fn status(State(state): St, Path(rid): Path<String>, b: Bytes) -> Result<Response, XError> {
    let issi = issi_of(&rid)?;
    let req: StatusBody = body(&b)?;
    state
        .serve(Op::TerminalStatus, Cost::Terminal(issi))
        .await?;
    state.status(issi, req.status_value, "")?.deliver().await;
    Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallBody {
    #[serde(rename = "type")]
    kind: String,
    gssi: u64,
    calling_ssi: u64,
}

async fn start_call(State(state): St, b: Bytes) -> Result<Response, XError> {
    let req: CallBody = body(&b)?;
    let (kind, op) = match req.kind.as_str() {
        "GROUP" => (CallKind::Group, Op::CallGroup),
        "EMERGENCY" => (CallKind::Emergency, Op::CallEmergency),
        _ => return Err(XError::invalid("type must be GROUP or EMERGENCY")),
    };
    let talkgroup = tetra("gssi", req.gssi)?;
    let caller = tetra("callingSsi", req.calling_ssi)?;
    state.serve(op, Cost::Talkgroup(talkgroup)).await?;
    let (call, pending) = state.start_call(kind, talkgroup, caller, "");
    pending.deliver().await;
    Ok((StatusCode::CREATED, Json(json!({"callId": call}))).into_response())
}

async fn end_call(State(state): St, Path(cid): Path<String>) -> Result<StatusCode, XError> {
    state.serve(Op::CallEnd, Cost::Call(&cid)).await?;
    state.end_call(&cid)?.deliver().await;
    Ok(StatusCode::NO_CONTENT)
}

/// `?cursor=N` of a poll.
#[derive(Deserialize)]
pub(crate) struct Cursor {
    #[serde(default)]
    cursor: Option<String>,
}

impl Cursor {
    fn value(&self) -> Result<u64, XError> {
        match self.cursor.as_deref().map(str::trim) {
            None | Some("") => Ok(0),
            Some(c) => c
                .parse()
                .map_err(|_| XError::invalid("cursor must be a whole number")),
        }
    }
}

pub(crate) type CursorQuery = Query<Cursor>;
