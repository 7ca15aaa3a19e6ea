//! The mock's HTTP routes: one handler per request of the contract, `GET /metrics`, the
//! bearer-token check on `/v1`, and JSON answers for unknown routes and wrong methods.
//! Handlers validate input, queue the request on the API's workers (`capacity.rs`; a full
//! queue answers 503 `overloaded`), then call the model (`state.rs`) and wait for the events
//! that had to wait for room (`delay` overflow). They hold no lock across an await. The mock
//! knows nothing of the load engine.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};

use super::error::ApiError;
use super::extract::{
    CallId, ConsoleId, Issi, JsonBody, bearer_token, check_tetra_id, is_v1, same_secret,
};
use super::faults::RouteOp::{Known, StartCall};
use super::faults::tag;
use super::metrics;
use super::sse;
use super::state::{Cost, MockState};
use rcload_api::Op;
use rcload_api::{
    CallKind, CallRequest, CallResponse, Health, LoginRequest, LoginResponse, StatusRequest,
    TalkgroupRequest, Talkgroups, TerminalResponse,
};

type AppState = State<Arc<MockState>>;

/// The whole app over `state`; with a token, every `/v1` request must carry it. (Request
/// faults are layered over it by `mod.rs`, outermost, so a stall holds even requests that
/// would be refused.)
pub(crate) fn app(state: Arc<MockState>, token: Option<&str>) -> Router {
    with_auth(routes(state), token)
}

fn routes(state: Arc<MockState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/v1/consoles/{id}/login",
            tag(post(login), Known(Op::ConsoleLogin)),
        )
        .route(
            "/v1/consoles/{id}/logout",
            tag(post(logout), Known(Op::ConsoleLogout)),
        )
        .route(
            "/v1/consoles/{id}/talkgroups",
            tag(get(get_talkgroups), Known(Op::ConsoleAudit))
                .merge(tag(put(put_talkgroups), Known(Op::ConsoleAttach))),
        )
        .route(
            "/v1/consoles/{id}/events",
            tag(get(events), Known(Op::ConsoleEvents)),
        )
        // A read of the state for rcload's pre-flight, not load: no fault or queue applies.
        .route("/v1/terminals/{issi}", get(get_terminal))
        .route(
            "/v1/terminals/{issi}/register",
            tag(post(register), Known(Op::TerminalRegister)),
        )
        .route(
            "/v1/terminals/{issi}/deregister",
            tag(post(deregister), Known(Op::TerminalDeregister)),
        )
        .route(
            "/v1/terminals/{issi}/affiliate",
            tag(post(affiliate), Known(Op::TerminalAffiliate)),
        )
        .route(
            "/v1/terminals/{issi}/status",
            tag(post(status), Known(Op::TerminalStatus)),
        )
        .route("/v1/calls", tag(post(start_call), StartCall))
        .route(
            "/v1/calls/{call}",
            tag(delete(end_call), Known(Op::CallEnd)),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

fn with_auth(router: Router, token: Option<&str>) -> Router {
    match token {
        None => router,
        Some(t) if can_be_sent(t) => {
            router.layer(middleware::from_fn_with_state(Arc::<str>::from(t), auth))
        }
        Some(_) => {
            // A token that no `Authorization` header can carry: no request can match it.
            tracing::warn!(
                "mock token is not a valid bearer token; every /v1 request will be refused"
            );
            router.layer(middleware::from_fn(refuse_v1))
        }
    }
}

/// Whether `Authorization: Bearer <token>` carries `token` as [`bearer_token`] reads it (not
/// empty, visible ASCII, no spaces or tabs around it).
fn can_be_sent(token: &str) -> bool {
    let Ok(value) = HeaderValue::try_from(format!("Bearer {token}")) else {
        return false;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    bearer_token(&headers) == Some(token)
}

/// The bearer check of `/v1`: the scheme in any case (`bearer`, `BEARER`), then the token.
async fn auth(State(expected): State<Arc<str>>, req: Request, next: Next) -> Response {
    let given = bearer_token(req.headers()).unwrap_or_default();
    if is_v1(&req) && !same_secret(given, &expected) {
        return ApiError::unauthorized().into_response();
    }
    next.run(req).await
}

async fn refuse_v1(req: Request, next: Next) -> Response {
    if is_v1(&req) {
        return ApiError::unauthorized().into_response();
    }
    next.run(req).await
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

async fn login(
    State(state): AppState,
    ConsoleId(console): ConsoleId,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    state.serve(Op::ConsoleLogin, Cost::Nothing).await?;
    let session = state.login(&console, &req.operator)?;
    Ok(Json(LoginResponse {
        console,
        operator: req.operator,
        session,
    }))
}

async fn logout(
    State(state): AppState,
    ConsoleId(console): ConsoleId,
) -> Result<StatusCode, ApiError> {
    state.serve(Op::ConsoleLogout, Cost::Nothing).await?;
    state.logout(&console)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_talkgroups(
    State(state): AppState,
    ConsoleId(console): ConsoleId,
    JsonBody(req): JsonBody<Talkgroups>,
) -> Result<Json<Talkgroups>, ApiError> {
    for &tg in &req.talkgroups {
        check_tetra_id("talkgroup", tg)?;
    }
    state.check_talkgroup_count(&req.talkgroups)?;
    state
        .serve(Op::ConsoleAttach, Cost::Attach(&console, &req.talkgroups))
        .await?;
    let (talkgroups, pending) = state.set_talkgroups(&console, &req.talkgroups)?;
    pending.deliver().await;
    Ok(Json(Talkgroups { talkgroups }))
}

async fn get_talkgroups(
    State(state): AppState,
    ConsoleId(console): ConsoleId,
) -> Result<Json<Talkgroups>, ApiError> {
    state.serve(Op::ConsoleAudit, Cost::Nothing).await?;
    let talkgroups = state.talkgroups(&console)?;
    Ok(Json(Talkgroups { talkgroups }))
}

/// Opening a stream is not API work: it is counted but never queued.
async fn events(
    State(state): AppState,
    ConsoleId(console): ConsoleId,
) -> Result<Response, ApiError> {
    state.count_request(Op::ConsoleEvents);
    let opened = state.open_stream(&console)?;
    Ok(sse::response(&state, opened))
}

async fn register(
    State(state): AppState,
    Issi(issi): Issi,
    JsonBody(req): JsonBody<TalkgroupRequest>,
) -> Result<Json<TerminalResponse>, ApiError> {
    let talkgroup = check_tetra_id("talkgroup", req.talkgroup)?;
    state
        .serve(Op::TerminalRegister, Cost::Talkgroup(talkgroup))
        .await?;
    state.register(issi, talkgroup).deliver().await;
    Ok(Json(TerminalResponse { issi, talkgroup }))
}

async fn get_terminal(
    State(state): AppState,
    Issi(issi): Issi,
) -> Result<Json<TerminalResponse>, ApiError> {
    let talkgroup = state.terminal(issi)?;
    Ok(Json(TerminalResponse { issi, talkgroup }))
}

async fn deregister(State(state): AppState, Issi(issi): Issi) -> Result<StatusCode, ApiError> {
    state
        .serve(Op::TerminalDeregister, Cost::Terminal(issi))
        .await?;
    state.deregister(issi)?.deliver().await;
    Ok(StatusCode::NO_CONTENT)
}

async fn affiliate(
    State(state): AppState,
    Issi(issi): Issi,
    JsonBody(req): JsonBody<TalkgroupRequest>,
) -> Result<Json<TerminalResponse>, ApiError> {
    let talkgroup = check_tetra_id("talkgroup", req.talkgroup)?;
    state.serve(Op::TerminalAffiliate, Cost::Nothing).await?;
    state.affiliate(issi, talkgroup)?;
    Ok(Json(TerminalResponse { issi, talkgroup }))
}

async fn status(
    State(state): AppState,
    Issi(issi): Issi,
    JsonBody(req): JsonBody<StatusRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .serve(Op::TerminalStatus, Cost::Terminal(issi))
        .await?;
    state
        .status(issi, req.code, &req.reference)?
        .deliver()
        .await;
    Ok(StatusCode::ACCEPTED)
}

async fn start_call(
    State(state): AppState,
    JsonBody(req): JsonBody<CallRequest>,
) -> Result<(StatusCode, Json<CallResponse>), ApiError> {
    let talkgroup = check_tetra_id("talkgroup", req.talkgroup)?;
    let caller = check_tetra_id("caller", req.caller)?;
    let op = match req.kind {
        CallKind::Group => Op::CallGroup,
        CallKind::Emergency => Op::CallEmergency,
    };
    state.serve(op, Cost::Talkgroup(talkgroup)).await?;
    let (call, pending) = state.start_call(req.kind, talkgroup, caller, &req.reference);
    pending.deliver().await;
    Ok((StatusCode::CREATED, Json(CallResponse { call })))
}

async fn end_call(State(state): AppState, CallId(call): CallId) -> Result<StatusCode, ApiError> {
    state.serve(Op::CallEnd, Cost::Call(&call)).await?;
    state.end_call(&call)?.deliver().await;
    Ok(StatusCode::NO_CONTENT)
}
