//! The built-in mock over real HTTP: every route of the contract, its error answers, and the
//! SSE event stream (fan-out, logout, shutdown); and over raw TCP where HTTP clients would hide
//! the point (a half-closed connection).

use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventsource_stream::{Event as SseEvent, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use rcload_mock::{self, Dialect, MockConfig, MockHandle, MockSpec, OAuthClient};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Longest wait for anything that should happen.
const WAIT: Duration = Duration::from_secs(5);
/// How long to watch a stream that should stay silent.
const QUIET: Duration = Duration::from_millis(300);

type Sse = Pin<Box<dyn Stream<Item = Result<SseEvent, EventStreamError<reqwest::Error>>> + Send>>;

struct Api {
    base: String,
    client: reqwest::Client,
    token: Option<String>,
}

async fn start(token: Option<&str>) -> anyhow::Result<(MockHandle, Api)> {
    let config = MockConfig {
        token: token.map(str::to_owned),
        ..Default::default()
    };
    let handle = rcload_mock::spawn("127.0.0.1:0".parse()?, config).await?;
    let api = Api {
        base: format!("http://{}", handle.addr),
        client: reqwest::Client::builder().timeout(WAIT).build()?,
        token: token.map(str::to_owned),
    };
    Ok((handle, api))
}

/// One answer: status, raw body, and the body as JSON when it is JSON.
#[derive(Debug)]
struct Answer {
    what: String,
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{}: body is not JSON ({e}): {:?}", self.what, self.body))
    }

    #[track_caller]
    fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}: unexpected status; body {:?}",
            self.what,
            self.body
        );
        self
    }

    /// Asserts an error answer with the contract's JSON body.
    #[track_caller]
    fn expect_error(&self, status: u16, code: &str) {
        self.expect(status);
        assert!(
            self.content_type.starts_with("application/json"),
            "{}: error content type {:?}, body {:?}",
            self.what,
            self.content_type,
            self.body
        );
        let v = self.json();
        assert_eq!(v["error"], code, "{}: body {v}", self.what);
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}: no message in {v}",
            self.what
        );
    }
}

enum Body<'a> {
    None,
    Json(Value),
    /// Raw bytes with an optional content type.
    Raw(Option<&'a str>, &'a str),
}

impl Api {
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send(&self, method: Method, path: &str, body: Body<'_>) -> Answer {
        let what = format!("{method} {path}");
        let mut req = self.request(method, path);
        req = match body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(ct, text) => {
                let req = req.body(text.to_owned());
                match ct {
                    Some(ct) => req.header("content-type", ct),
                    None => req,
                }
            }
        };
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("{what}: reading body failed: {e}"));
        Answer {
            what,
            status,
            content_type,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, Body::None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Body::Json(body)).await
    }

    async fn post_empty(&self, path: &str) -> Answer {
        self.send(Method::POST, path, Body::None).await
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PUT, path, Body::Json(body)).await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, Body::None).await
    }

    async fn login(&self, console: &str) {
        self.post(
            &format!("/v1/consoles/{console}/login"),
            json!({"operator": "op"}),
        )
        .await
        .expect(200);
    }

    async fn attach(&self, console: &str, talkgroups: &[u32]) {
        self.put(
            &format!("/v1/consoles/{console}/talkgroups"),
            json!({ "talkgroups": talkgroups }),
        )
        .await
        .expect(200);
    }

    /// Opens the event stream of `console` (headers must come at once).
    async fn open_stream(&self, console: &str) -> Sse {
        let resp = timeout(
            WAIT,
            self.client
                .get(format!("{}/v1/consoles/{console}/events", self.base))
                .headers(self.auth_headers())
                // The client's total timeout would cut the stream; waits are bounded per event.
                .timeout(Duration::from_secs(24 * 3600))
                .send(),
        )
        .await
        .unwrap_or_else(|_| panic!("events of {console}: no headers within {WAIT:?}"))
        .unwrap_or_else(|e| panic!("events of {console}: {e}"));
        assert_eq!(resp.status(), StatusCode::OK, "events of {console}");
        Box::pin(resp.bytes_stream().eventsource())
    }

    fn auth_headers(&self) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        if let Some(t) = &self.token {
            h.insert(
                "authorization",
                format!("Bearer {t}").parse().expect("header value"),
            );
        }
        h
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// A received event: its SSE fields and its parsed data.
#[derive(Debug)]
struct Got {
    id: u64,
    data: Value,
}

/// The next event on `sse`, checked for shape: `event:` equals `type`, `ts` is recent.
async fn next_event(sse: &mut Sse, what: &str) -> Got {
    let item = timeout(WAIT, sse.next())
        .await
        .unwrap_or_else(|_| panic!("{what}: no event within {WAIT:?}"));
    let ev = item
        .unwrap_or_else(|| panic!("{what}: stream ended"))
        .unwrap_or_else(|e| panic!("{what}: stream error {e}"));
    let data: Value = serde_json::from_str(&ev.data)
        .unwrap_or_else(|e| panic!("{what}: data is not JSON ({e}): {:?}", ev.data));
    assert_eq!(data["type"], ev.event.as_str(), "{what}: event {ev:?}");
    let ts = data["ts"]
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: no ts in {data}"));
    let now = now_ms();
    assert!(
        ts <= now && ts + 60_000 > now,
        "{what}: ts {ts} not near now {now}"
    );
    let id = ev
        .id
        .parse()
        .unwrap_or_else(|e| panic!("{what}: id {:?} is not a number ({e})", ev.id));
    Got { id, data }
}

/// Asserts the next event has `want` as its fields (besides `ts`) and `id` = `want_id`.
async fn expect_event(sse: &mut Sse, what: &str, want_id: u64, want: Value) {
    let got = next_event(sse, what).await;
    let mut data = got.data.clone();
    if let Some(o) = data.as_object_mut() {
        o.remove("ts");
    }
    assert_eq!(data, want, "{what}: full event {:?}", got);
    assert_eq!(got.id, want_id, "{what}: event {:?}", got);
}

/// Asserts nothing arrives on `sse` for a while.
async fn expect_quiet(sse: &mut Sse, what: &str) {
    if let Ok(item) = timeout(QUIET, sse.next()).await {
        panic!("{what}: expected nothing, got {item:?}");
    }
}

/// Asserts `sse` ends within the wait.
async fn expect_end(sse: &mut Sse, what: &str) {
    match timeout(WAIT, sse.next()).await {
        Err(_) => panic!("{what}: stream did not end within {WAIT:?}"),
        Ok(None) => {}
        Ok(Some(Err(e))) => panic!("{what}: stream error instead of a clean end: {e}"),
        Ok(Some(Ok(ev))) => panic!("{what}: expected the end, got {ev:?}"),
    }
}

#[tokio::test]
async fn healthz_unknown_routes_and_methods() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    let h = api.get("/healthz").await;
    h.expect(200);
    assert_eq!(h.json(), json!({"status": "ok"}));

    for path in ["/nope", "/v1", "/v1/nope", "/v1/consoles/a", "/v1/calls/"] {
        api.get(path).await.expect_error(404, "not_found");
    }
    api.get("/v1/consoles/a/login")
        .await
        .expect_error(405, "method_not_allowed");
    api.delete("/v1/calls")
        .await
        .expect_error(405, "method_not_allowed");
    api.post_empty("/healthz")
        .await
        .expect_error(405, "method_not_allowed");
    mock.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn token_is_required_on_v1_only() -> anyhow::Result<()> {
    let (mock, api) = start(Some("sekret")).await?;
    let anonymous = Api {
        base: api.base.clone(),
        client: api.client.clone(),
        token: None,
    };
    let wrong = Api {
        base: api.base.clone(),
        client: api.client.clone(),
        token: Some("other".into()),
    };

    anonymous.get("/healthz").await.expect(200);
    for who in [&anonymous, &wrong] {
        who.post("/v1/consoles/c1/login", json!({"operator": "op"}))
            .await
            .expect_error(401, "unauthorized");
        who.get("/v1/consoles/c1/talkgroups")
            .await
            .expect_error(401, "unauthorized");
        who.get("/v1/consoles/c1/events")
            .await
            .expect_error(401, "unauthorized");
        who.post("/v1/terminals/1/register", json!({"talkgroup": 1}))
            .await
            .expect_error(401, "unauthorized");
        who.delete("/v1/calls/c-1")
            .await
            .expect_error(401, "unauthorized");
        who.get("/v1/unknown")
            .await
            .expect_error(401, "unauthorized");
    }
    // Wrong scheme.
    let resp = api
        .client
        .get(format!("{}/v1/consoles/c1/talkgroups", api.base))
        .header("authorization", "Basic sekret")
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    api.login("c1").await;
    api.get("/v1/consoles/c1/talkgroups").await.expect(200);
    let mut sse = api.open_stream("c1").await;
    api.attach("c1", &[7]).await;
    expect_event(
        &mut sse,
        "attach with token",
        1,
        json!({"type": "talkgroup.attached", "talkgroup": 7}),
    )
    .await;
    mock.shutdown().await;
    Ok(())
}

/// `GET path` carrying exactly this `Authorization` value (not the client's token): the
/// status and the body.
async fn get_with_authorization(api: &Api, path: &str, authorization: &str) -> (u16, String) {
    let resp = api
        .client
        .get(format!("{}{path}", api.base))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path} with {authorization:?}: {e}"));
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    (status, body)
}

/// The auth scheme is case-insensitive (RFC 9110) and may be followed by several spaces or
/// tabs; the token must still be the right one.
#[tokio::test]
async fn bearer_scheme_is_case_insensitive() -> anyhow::Result<()> {
    let (mock, api) = start(Some("sekret")).await?;
    api.login("c1").await;
    let path = "/v1/consoles/c1/talkgroups";
    for value in [
        "Bearer sekret",
        "bearer sekret",
        "BEARER sekret",
        "bEaReR sekret",
        "Bearer   sekret",
        "Bearer\tsekret",
        "bearer \t sekret",
    ] {
        let (status, body) = get_with_authorization(&api, path, value).await;
        assert_eq!(status, 200, "{value:?}: {body}");
    }
    for value in [
        "bearer other",
        "BEARER Sekret",
        "Bearer sekret2",
        "Bearersekret",
        "Bearer",
        "Basic sekret",
        "Token sekret",
        "sekret",
    ] {
        let (status, body) = get_with_authorization(&api, path, value).await;
        assert_eq!(status, 401, "{value:?}: {body}");
        let v: Value = serde_json::from_str(&body)?;
        assert_eq!(v["error"], "unauthorized", "{value:?}: {v}");
    }
    mock.shutdown().await;
    Ok(())
}

/// vendor-x's bearer check (and its token endpoint's basic credentials) read the scheme the
/// same way.
#[tokio::test]
async fn vendor_x_bearer_scheme_is_case_insensitive() -> anyhow::Result<()> {
    let config = MockConfig {
        dialect: Dialect::VendorX,
        oauth: Some(OAuthClient {
            client_id: "cid".into(),
            client_secret: "sek".into(),
            token_lifetime: Duration::from_secs(600),
        }),
        ..Default::default()
    };
    let mock = rcload_mock::spawn("127.0.0.1:0".parse()?, config).await?;
    let api = Api {
        base: format!("http://{}", mock.addr),
        client: reqwest::Client::builder().timeout(WAIT).build()?,
        token: None,
    };
    let grant: Value = api
        .client
        .post(format!("{}/oauth2/token", api.base))
        .header("authorization", "basic Y2lkOnNlaw==")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let Some(token) = grant["access_token"].as_str() else {
        panic!("no access token in {grant}");
    };
    // A valid token reaches the handler: no such session.
    let path = "/xapi/v2/sessions/xs-00-s-1/groups";
    for scheme in ["Bearer ", "bearer ", "BEARER  ", "Bearer\t"] {
        let value = format!("{scheme}{token}");
        let (status, body) = get_with_authorization(&api, path, &value).await;
        assert_eq!(status, 404, "{scheme:?}: {body}");
    }
    let (status, body) = get_with_authorization(&api, path, "bearer nope").await;
    assert_eq!(status, 401, "{body}");
    mock.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn console_lifecycle() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    let login = api
        .post(
            "/v1/consoles/room1.con-7_a/login",
            json!({"operator": "alice"}),
        )
        .await;
    login.expect(200);
    let v = login.json();
    assert_eq!(v["console"], "room1.con-7_a", "{v}");
    assert_eq!(v["operator"], "alice", "{v}");
    let session = v["session"].as_str().expect("session string").to_owned();
    assert!(!session.is_empty());

    api.post(
        "/v1/consoles/room1.con-7_a/login",
        json!({"operator": "bob"}),
    )
    .await
    .expect_error(409, "already_logged_in");

    let tgs = api.get("/v1/consoles/room1.con-7_a/talkgroups").await;
    tgs.expect(200);
    assert_eq!(tgs.json(), json!({"talkgroups": []}));

    let put = api
        .put(
            "/v1/consoles/room1.con-7_a/talkgroups",
            json!({"talkgroups": [300, 100, 200, 100]}),
        )
        .await;
    put.expect(200);
    assert_eq!(put.json(), json!({"talkgroups": [100, 200, 300]}));
    let got = api.get("/v1/consoles/room1.con-7_a/talkgroups").await;
    got.expect(200);
    assert_eq!(got.json(), json!({"talkgroups": [100, 200, 300]}));
    let put = api
        .put(
            "/v1/consoles/room1.con-7_a/talkgroups",
            json!({"talkgroups": [16777215, 1]}),
        )
        .await;
    put.expect(200);
    assert_eq!(put.json(), json!({"talkgroups": [1, 16777215]}));

    let out = api.post_empty("/v1/consoles/room1.con-7_a/logout").await;
    out.expect(204);
    assert!(out.body.is_empty(), "204 with body {:?}", out.body);
    api.post_empty("/v1/consoles/room1.con-7_a/logout")
        .await
        .expect_error(409, "not_logged_in");
    api.get("/v1/consoles/room1.con-7_a/talkgroups")
        .await
        .expect_error(409, "not_logged_in");
    api.put(
        "/v1/consoles/room1.con-7_a/talkgroups",
        json!({"talkgroups": [1]}),
    )
    .await
    .expect_error(409, "not_logged_in");
    api.get("/v1/consoles/room1.con-7_a/events")
        .await
        .expect_error(409, "not_logged_in");

    // A new login starts empty with a new session.
    let again = api
        .post(
            "/v1/consoles/room1.con-7_a/login",
            json!({"operator": "alice"}),
        )
        .await;
    again.expect(200);
    assert_ne!(again.json()["session"], session.as_str());
    let tgs = api.get("/v1/consoles/room1.con-7_a/talkgroups").await;
    assert_eq!(tgs.json(), json!({"talkgroups": []}));
    mock.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bad_requests() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    let long = "x".repeat(65);
    for id in [long.as_str(), "a%20b", "a%2Fb", "caf%C3%A9", "%FF"] {
        api.post(
            &format!("/v1/consoles/{id}/login"),
            json!({"operator": "op"}),
        )
        .await
        .expect_error(400, "bad_request");
        api.get(&format!("/v1/consoles/{id}/talkgroups"))
            .await
            .expect_error(400, "bad_request");
        api.get(&format!("/v1/consoles/{id}/events"))
            .await
            .expect_error(400, "bad_request");
    }
    api.post(
        &format!("/v1/consoles/{}/login", "x".repeat(64)),
        json!({"operator": "op"}),
    )
    .await
    .expect(200);

    for issi in ["0", "16777216", "-1", "abc", "1.5", "99999999999999999999"] {
        for action in ["register", "affiliate"] {
            api.post(
                &format!("/v1/terminals/{issi}/{action}"),
                json!({"talkgroup": 1}),
            )
            .await
            .expect_error(400, "bad_request");
        }
        api.post_empty(&format!("/v1/terminals/{issi}/deregister"))
            .await
            .expect_error(400, "bad_request");
        api.post(
            &format!("/v1/terminals/{issi}/status"),
            json!({"code": 1, "ref": "r"}),
        )
        .await
        .expect_error(400, "bad_request");
    }
    api.post("/v1/terminals/16777215/register", json!({"talkgroup": 1}))
        .await
        .expect(200);

    for tg in [json!(0), json!(16777216), json!(-1), json!("5"), json!(1.5)] {
        api.post("/v1/terminals/5/register", json!({"talkgroup": tg}))
            .await
            .expect_error(400, "bad_request");
    }
    api.login("c1").await;
    for tgs in [json!([0]), json!([1, 16777216]), json!("1"), json!([null])] {
        api.put("/v1/consoles/c1/talkgroups", json!({"talkgroups": tgs}))
            .await
            .expect_error(400, "bad_request");
    }

    let json_ct = Some("application/json");
    let raw_cases: &[(Method, &str, Option<&str>, &str)] = &[
        (Method::POST, "/v1/consoles/c2/login", json_ct, "{not json"),
        (Method::POST, "/v1/consoles/c2/login", json_ct, ""),
        (Method::POST, "/v1/consoles/c2/login", json_ct, "{}"),
        (
            Method::POST,
            "/v1/consoles/c2/login",
            json_ct,
            r#"{"operator": 5}"#,
        ),
        (Method::POST, "/v1/consoles/c2/login", json_ct, "[]"),
        (
            Method::POST,
            "/v1/consoles/c2/login",
            None,
            r#"{"operator": "op"}"#,
        ),
        (
            Method::POST,
            "/v1/consoles/c2/login",
            Some("text/plain"),
            r#"{"operator": "op"}"#,
        ),
        (Method::PUT, "/v1/consoles/c1/talkgroups", json_ct, "{}"),
        (
            Method::PUT,
            "/v1/consoles/c1/talkgroups",
            json_ct,
            r#"{"talkgroups": [1,"#,
        ),
        (Method::POST, "/v1/terminals/5/register", json_ct, "{}"),
        (
            Method::POST,
            "/v1/terminals/5/affiliate",
            json_ct,
            r#"{"talkgroup": true}"#,
        ),
        (
            Method::POST,
            "/v1/terminals/5/status",
            json_ct,
            r#"{"code": 1}"#,
        ),
        (
            Method::POST,
            "/v1/terminals/5/status",
            json_ct,
            r#"{"code": 65536, "ref": "r"}"#,
        ),
        (
            Method::POST,
            "/v1/terminals/5/status",
            json_ct,
            r#"{"code": "1", "ref": "r"}"#,
        ),
        (
            Method::POST,
            "/v1/calls",
            json_ct,
            r#"{"kind": "bogus", "talkgroup": 1, "caller": 1, "ref": "r"}"#,
        ),
        (
            Method::POST,
            "/v1/calls",
            json_ct,
            r#"{"kind": "group", "talkgroup": 1, "caller": 1}"#,
        ),
        (
            Method::POST,
            "/v1/calls",
            json_ct,
            r#"{"kind": "group", "talkgroup": 0, "caller": 1, "ref": "r"}"#,
        ),
        (
            Method::POST,
            "/v1/calls",
            json_ct,
            r#"{"kind": "group", "talkgroup": 1, "caller": 16777216, "ref": "r"}"#,
        ),
        (Method::POST, "/v1/calls", json_ct, "\u{0}\u{1}garbage"),
    ];
    for (method, path, ct, body) in raw_cases {
        let a = api.send(method.clone(), path, Body::Raw(*ct, body)).await;
        assert!(
            a.status == StatusCode::BAD_REQUEST,
            "{method} {path} ct={ct:?} body={body:?}: status {} body {:?}",
            a.status,
            a.body
        );
        a.expect_error(400, "bad_request");
    }
    // The server is still fine.
    api.get("/healthz").await.expect(200);
    mock.shutdown().await;
    Ok(())
}

/// `POST /v1/terminals/{issi}/{action}` with a valid body for the action.
async fn terminal_action(api: &Api, issi: &str, action: &str) -> Answer {
    let path = format!("/v1/terminals/{issi}/{action}");
    match action {
        "deregister" => api.post_empty(&path).await,
        "status" => api.post(&path, json!({"code": 1, "ref": "r"})).await,
        _ => api.post(&path, json!({"talkgroup": 1})).await,
    }
}

/// An ISSI in a path is plain decimal digits: a sign or leading zeros get exactly the answer
/// of any other invalid ISSI. (Ids in JSON bodies have neither: JSON's grammar refuses them.)
#[tokio::test]
async fn issis_with_sign_or_leading_zeros_are_refused() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    api.post("/v1/terminals/5/register", json!({"talkgroup": 1}))
        .await
        .expect(200);
    for action in ["register", "affiliate", "status", "deregister"] {
        let invalid = terminal_action(&api, "abc", action).await;
        invalid.expect_error(400, "bad_request");
        for issi in ["+5", "0005", "05", "00", "%2B5", "+0000005"] {
            let got = terminal_action(&api, issi, action).await;
            got.expect_error(400, "bad_request");
            assert_eq!(got.body, invalid.body, "{}", got.what);
        }
    }
    // None of them reached terminal 5: it is still registered on talkgroup 1.
    api.post_empty("/v1/terminals/5/deregister")
        .await
        .expect(204);
    let json_ct = Some("application/json");
    let path = "/v1/terminals/5/register";
    for body in [
        r#"{"talkgroup": 05}"#,
        r#"{"talkgroup": 0005}"#,
        r#"{"talkgroup": +5}"#,
    ] {
        api.send(Method::POST, path, Body::Raw(json_ct, body))
            .await
            .expect_error(400, "bad_request");
    }
    mock.shutdown().await;
    Ok(())
}

/// A console may monitor at most `max_talkgroups_per_console` talkgroups (1,000 by default,
/// duplicates counted once): the limit is accepted, one more is a 400 that changes nothing.
#[tokio::test]
async fn talkgroup_set_is_bounded_per_console() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    api.login("c1").await;
    let path = "/v1/consoles/c1/talkgroups";
    let at_limit: Vec<u32> = (1..=1_000).collect();
    let put = api.put(path, json!({ "talkgroups": at_limit })).await;
    put.expect(200);
    assert_eq!(put.json(), json!({ "talkgroups": at_limit }));
    let mut with_duplicates = at_limit.clone();
    with_duplicates.extend([1, 2, 3]);
    api.put(path, json!({ "talkgroups": with_duplicates }))
        .await
        .expect(200);
    let over: Vec<u32> = (1..=1_001).collect();
    api.put(path, json!({ "talkgroups": over }))
        .await
        .expect_error(400, "bad_request");
    let got = api.get(path).await;
    got.expect(200);
    assert_eq!(got.json(), json!({ "talkgroups": at_limit }));
    mock.shutdown().await;

    // A spec sets another limit.
    let config = MockConfig {
        spec: MockSpec {
            max_talkgroups_per_console: Some(2),
            ..MockSpec::default()
        },
        ..Default::default()
    };
    let mock = rcload_mock::spawn("127.0.0.1:0".parse()?, config).await?;
    let api = Api {
        base: format!("http://{}", mock.addr),
        client: api.client.clone(),
        token: None,
    };
    api.login("c1").await;
    api.attach("c1", &[7, 8, 8]).await;
    api.put(path, json!({"talkgroups": [7, 8, 9]}))
        .await
        .expect_error(400, "bad_request");
    let got = api.get(path).await;
    assert_eq!(got.json(), json!({"talkgroups": [7, 8]}));
    mock.shutdown().await;
    Ok(())
}

/// Reads one HTTP/1.1 answer with a `Content-Length` from `tcp`: head and body, as text.
async fn read_http_answer(tcp: &mut TcpStream) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            anyhow::bail!("closed after {:?}", String::from_utf8_lossy(&buf));
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let length = text[..end]
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.trim().parse::<usize>().ok());
        let Some(length) = length else {
            anyhow::bail!("an answer without Content-Length: {text:?}");
        };
        if text.len() >= end + 4 + length {
            return Ok(text);
        }
    }
}

/// A client that sends its whole request and then shuts down its write half (TCP half-close)
/// still gets the whole answer.
#[tokio::test]
async fn half_closed_client_still_gets_its_answer() -> anyhow::Result<()> {
    let (mock, _api) = start(None).await?;
    let addr = mock.addr;
    let body = r#"{"operator":"op"}"#;
    let length = body.len();
    let request = format!(
        "POST /v1/consoles/c1/login HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{body}"
    );
    let answer = timeout(WAIT, async {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.write_all(request.as_bytes()).await?;
        tcp.shutdown().await?;
        read_http_answer(&mut tcp).await
    })
    .await
    .map_err(|_| anyhow::anyhow!("no complete answer within {WAIT:?}"))??;
    assert!(answer.starts_with("HTTP/1.1 200 "), "answer {answer:?}");
    let Some((_, json_body)) = answer.split_once("\r\n\r\n") else {
        panic!("no body in {answer:?}");
    };
    let v: Value = serde_json::from_str(json_body)?;
    assert_eq!(v["console"], "c1", "{v}");
    assert_eq!(v["operator"], "op", "{v}");
    mock.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn terminals_and_calls() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    let r = api
        .post("/v1/terminals/1000001/register", json!({"talkgroup": 100}))
        .await;
    r.expect(200);
    assert_eq!(r.json(), json!({"issi": 1000001, "talkgroup": 100}));
    // Re-register moves it.
    let r = api
        .post("/v1/terminals/1000001/register", json!({"talkgroup": 101}))
        .await;
    r.expect(200);
    assert_eq!(r.json(), json!({"issi": 1000001, "talkgroup": 101}));

    let a = api
        .post("/v1/terminals/1000001/affiliate", json!({"talkgroup": 102}))
        .await;
    a.expect(200);
    assert_eq!(a.json(), json!({"issi": 1000001, "talkgroup": 102}));

    let s = api
        .post(
            "/v1/terminals/1000001/status",
            json!({"code": 0, "ref": "x"}),
        )
        .await;
    s.expect(202);
    assert!(
        s.body.is_empty() || s.json() == json!({}),
        "202 body {:?}",
        s.body
    );
    api.post_empty("/v1/terminals/1000001/deregister")
        .await
        .expect(204);
    api.post_empty("/v1/terminals/1000001/deregister")
        .await
        .expect_error(404, "not_registered");
    api.post("/v1/terminals/1000001/affiliate", json!({"talkgroup": 1}))
        .await
        .expect_error(404, "not_registered");
    api.post(
        "/v1/terminals/1000001/status",
        json!({"code": 1, "ref": "r"}),
    )
    .await
    .expect_error(404, "not_registered");
    api.post_empty("/v1/terminals/42/deregister")
        .await
        .expect_error(404, "not_registered");

    // The caller need not be registered.
    let c = api
        .post(
            "/v1/calls",
            json!({"kind": "group", "talkgroup": 100, "caller": 5, "ref": "r1"}),
        )
        .await;
    c.expect(201);
    let call = c.json()["call"]
        .as_str()
        .expect("call id string")
        .to_owned();
    let e = api
        .post(
            "/v1/calls",
            json!({"kind": "emergency", "talkgroup": 100, "caller": 5, "ref": "r2"}),
        )
        .await;
    e.expect(201);
    let emergency = e.json()["call"]
        .as_str()
        .expect("call id string")
        .to_owned();
    assert_ne!(call, emergency);
    api.delete(&format!("/v1/calls/{call}")).await.expect(204);
    api.delete(&format!("/v1/calls/{call}"))
        .await
        .expect_error(404, "not_found");
    api.delete(&format!("/v1/calls/{emergency}"))
        .await
        .expect(204);
    for bogus in ["nope", "c-0", "c-999", "c-01"] {
        api.delete(&format!("/v1/calls/{bogus}"))
            .await
            .expect_error(404, "not_found");
    }
    // A path that is not valid UTF-8 is a bad request.
    api.delete("/v1/calls/%FF")
        .await
        .expect_error(400, "bad_request");
    mock.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn stream_starts_at_once_with_a_comment() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    api.login("c1").await;
    let resp = timeout(
        WAIT,
        api.client
            .get(format!("{}/v1/consoles/c1/events", api.base))
            .send(),
    )
    .await??;
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/event-stream"), "content type {ct:?}");
    let mut bytes = resp.bytes_stream();
    let first = timeout(WAIT, bytes.next())
        .await
        .map_err(|_| anyhow::anyhow!("no first chunk within {WAIT:?}"))?
        .ok_or_else(|| anyhow::anyhow!("stream ended"))??;
    assert!(
        first.starts_with(b": ok\n"),
        "first chunk {:?}",
        String::from_utf8_lossy(&first)
    );
    // Raw shape of an event.
    api.attach("c1", &[9]).await;
    let chunk = timeout(WAIT, bytes.next())
        .await
        .map_err(|_| anyhow::anyhow!("no event within {WAIT:?}"))?
        .ok_or_else(|| anyhow::anyhow!("stream ended"))??;
    let text = String::from_utf8_lossy(&chunk);
    assert!(
        text.starts_with("event: talkgroup.attached\nid: 1\ndata: {") && text.ends_with("}\n\n"),
        "raw event {text:?}"
    );
    mock.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn events_fan_out_to_monitoring_consoles() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    for c in ["a", "b", "idle"] {
        api.login(c).await;
    }
    let mut a1 = api.open_stream("a").await;
    let mut a2 = api.open_stream("a").await;
    let mut b = api.open_stream("b").await;
    api.attach("a", &[200, 100]).await;
    api.attach("b", &[300]).await;
    api.attach("idle", &[100]).await; // monitors but has no stream

    for (sse, name) in [(&mut a1, "a1"), (&mut a2, "a2")] {
        expect_event(
            sse,
            name,
            1,
            json!({"type": "talkgroup.attached", "talkgroup": 100}),
        )
        .await;
        expect_event(
            sse,
            name,
            2,
            json!({"type": "talkgroup.attached", "talkgroup": 200}),
        )
        .await;
    }
    expect_event(
        &mut b,
        "b",
        1,
        json!({"type": "talkgroup.attached", "talkgroup": 300}),
    )
    .await;
    // Re-putting a set with one new talkgroup attaches only that one.
    api.attach("a", &[100, 200, 250]).await;
    api.attach("a", &[100, 200]).await;
    for (sse, name) in [(&mut a1, "a1"), (&mut a2, "a2")] {
        expect_event(
            sse,
            name,
            3,
            json!({"type": "talkgroup.attached", "talkgroup": 250}),
        )
        .await;
    }

    api.post("/v1/terminals/1000001/register", json!({"talkgroup": 100}))
        .await
        .expect(200);
    api.post(
        "/v1/terminals/1000001/status",
        json!({"code": 32768, "ref": "st-1"}),
    )
    .await
    .expect(202);
    api.post("/v1/terminals/1000001/affiliate", json!({"talkgroup": 200}))
        .await
        .expect(200);
    api.post(
        "/v1/terminals/1000001/status",
        json!({"code": 0, "ref": "st-2"}),
    )
    .await
    .expect(202);
    let group = api
        .post(
            "/v1/calls",
            json!({"kind": "group", "talkgroup": 200, "caller": 1000001, "ref": "call-1"}),
        )
        .await
        .json()["call"]
        .as_str()
        .expect("call id")
        .to_owned();
    let emergency = api
        .post(
            "/v1/calls",
            json!({"kind": "emergency", "talkgroup": 100, "caller": 77, "ref": "call-2"}),
        )
        .await
        .json()["call"]
        .as_str()
        .expect("call id")
        .to_owned();
    api.delete(&format!("/v1/calls/{group}")).await.expect(204);
    api.delete(&format!("/v1/calls/{emergency}"))
        .await
        .expect(204);
    api.post_empty("/v1/terminals/1000001/deregister")
        .await
        .expect(204);
    // Events on a talkgroup nobody monitors go nowhere.
    api.post("/v1/terminals/5/register", json!({"talkgroup": 999}))
        .await
        .expect(200);

    let want = [
        json!({"type": "terminal.registered", "issi": 1000001, "talkgroup": 100}),
        json!({"type": "status", "issi": 1000001, "talkgroup": 100, "code": 32768, "ref": "st-1"}),
        json!({"type": "status", "issi": 1000001, "talkgroup": 200, "code": 0, "ref": "st-2"}),
        json!({"type": "call.started", "call": group, "kind": "group", "talkgroup": 200,
               "caller": 1000001, "ref": "call-1"}),
        json!({"type": "emergency.alert", "call": emergency, "talkgroup": 100,
               "caller": 77, "ref": "call-2"}),
        json!({"type": "call.ended", "call": group, "talkgroup": 200}),
        json!({"type": "call.ended", "call": emergency, "talkgroup": 100}),
        json!({"type": "terminal.deregistered", "issi": 1000001, "talkgroup": 200}),
    ];
    for (sse, name) in [(&mut a1, "a1"), (&mut a2, "a2")] {
        for (i, w) in want.iter().enumerate() {
            expect_event(sse, &format!("{name} event {i}"), 4 + i as u64, w.clone()).await;
        }
        expect_quiet(sse, name).await;
    }
    // b monitors none of those talkgroups.
    expect_quiet(&mut b, "b").await;
    api.post("/v1/terminals/6/register", json!({"talkgroup": 300}))
        .await
        .expect(200);
    expect_event(
        &mut b,
        "b after register on 300",
        2,
        json!({"type": "terminal.registered", "issi": 6, "talkgroup": 300}),
    )
    .await;
    expect_quiet(&mut a1, "a1 after register on 300").await;

    // A dropped talkgroup no longer delivers.
    api.attach("a", &[200]).await;
    api.post("/v1/terminals/7/register", json!({"talkgroup": 100}))
        .await
        .expect(200);
    expect_quiet(&mut a1, "a1 after dropping 100").await;
    mock.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn logout_ends_the_streams() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    api.login("c1").await;
    api.login("c2").await;
    let mut s1 = api.open_stream("c1").await;
    let mut s2 = api.open_stream("c1").await;
    let mut other = api.open_stream("c2").await;
    api.attach("c1", &[5]).await;
    api.attach("c2", &[5]).await;
    next_event(&mut s1, "s1 attach").await;
    next_event(&mut s2, "s2 attach").await;
    next_event(&mut other, "other attach").await;
    api.post_empty("/v1/consoles/c1/logout").await.expect(204);
    expect_end(&mut s1, "s1 after logout").await;
    expect_end(&mut s2, "s2 after logout").await;
    // The other console is unaffected.
    api.post("/v1/terminals/9/register", json!({"talkgroup": 5}))
        .await
        .expect(200);
    expect_event(
        &mut other,
        "other after c1 logout",
        2,
        json!({"type": "terminal.registered", "issi": 9, "talkgroup": 5}),
    )
    .await;
    // Closing a stream from the client side is harmless.
    drop(other);
    api.post("/v1/terminals/9/register", json!({"talkgroup": 5}))
        .await
        .expect(200);
    api.post_empty("/v1/consoles/c2/logout").await.expect(204);
    mock.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn shutdown_is_prompt_with_streams_open() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    api.login("c1").await;
    let mut sse = api.open_stream("c1").await;
    let mut sse2 = api.open_stream("c1").await;
    api.attach("c1", &[1]).await;
    next_event(&mut sse, "attach").await;
    let started = std::time::Instant::now();
    timeout(Duration::from_secs(2), mock.shutdown())
        .await
        .map_err(|_| anyhow::anyhow!("shutdown took more than 2 s with a stream open"))?;
    assert!(started.elapsed() < Duration::from_secs(2));
    // The streams end (cleanly or by connection close), without hanging.
    for (s, name) in [(&mut sse, "sse"), (&mut sse2, "sse2")] {
        loop {
            match timeout(WAIT, s.next()).await {
                Err(_) => panic!("{name}: stream still open after shutdown"),
                Ok(None) | Ok(Some(Err(_))) => break,
                Ok(Some(Ok(ev))) if ev.event == "talkgroup.attached" => continue,
                Ok(Some(Ok(ev))) => panic!("{name}: unexpected event {ev:?}"),
            }
        }
    }
    // And the server is gone.
    let r = api
        .client
        .get(format!("{}/healthz", api.base))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(r.is_err(), "server still answers after shutdown: {r:?}");
    Ok(())
}

#[tokio::test]
async fn many_concurrent_requests() -> anyhow::Result<()> {
    let (mock, api) = start(None).await?;
    api.login("c1").await;
    let mut sse = api.open_stream("c1").await;
    api.attach("c1", &[1]).await;
    next_event(&mut sse, "attach").await;
    let n = 500u32;
    let answers = futures::future::join_all((1..=n).map(|issi| {
        let api = &api;
        async move {
            api.post(
                &format!("/v1/terminals/{issi}/register"),
                json!({"talkgroup": 1}),
            )
            .await
        }
    }))
    .await;
    for a in &answers {
        a.expect(200);
    }
    let mut seen = std::collections::HashSet::new();
    for i in 0..n {
        let got = next_event(&mut sse, &format!("register {i}")).await;
        assert_eq!(got.id, 2 + u64::from(i), "ids are sequential: {got:?}");
        assert_eq!(got.data["type"], "terminal.registered");
        seen.insert(got.data["issi"].as_u64().expect("issi"));
    }
    assert_eq!(seen.len(), n as usize);
    mock.shutdown().await;
    Ok(())
}

fn rss_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Performance smoke test (not run by default; run in release with `--ignored --nocapture`):
/// 1,000 consoles with open streams, 100,000 registered terminals, then status messages at
/// about 10,000 requests/s for 5 s. Prints the achieved rate, events received and memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "performance smoke test; run in release"]
async fn load_smoke() -> anyhow::Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    const CONSOLES: u32 = 1_000;
    const TERMINALS: u32 = 100_000;
    const TALKGROUPS: u32 = 1_000;
    const RATE: u64 = 10_000;
    const SECS: u64 = 5;

    let (mock, api) = start(None).await?;
    let api = Arc::new(api);
    let events = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for c in 0..CONSOLES {
        let name = format!("con-{c}");
        api.login(&name).await;
        let mut sse = api.open_stream(&name).await;
        let tgs: Vec<u32> = (0..5).map(|k| (c * 5 + k) % TALKGROUPS + 1).collect();
        api.attach(&name, &tgs).await;
        let events = Arc::clone(&events);
        readers.push(tokio::spawn(async move {
            while let Some(Ok(_)) = sse.next().await {
                events.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let t = std::time::Instant::now();
    futures::stream::iter(1..=TERMINALS)
        .map(|issi| {
            let api = Arc::clone(&api);
            async move {
                api.post(
                    &format!("/v1/terminals/{issi}/register"),
                    json!({"talkgroup": issi % TALKGROUPS + 1}),
                )
                .await
                .expect(200);
            }
        })
        .buffer_unordered(128)
        .collect::<Vec<()>>()
        .await;
    println!(
        "registered {TERMINALS} in {:?}; rss {:.0} MB",
        t.elapsed(),
        rss_mb("VmRSS")
    );

    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let permits = Arc::new(tokio::sync::Semaphore::new(1024));
    tokio::time::sleep(Duration::from_millis(500)).await; // let readers drain the registrations
    let before = events.load(Ordering::Relaxed);
    let t = std::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut sent = 0u64;
    while t.elapsed() < Duration::from_secs(SECS) {
        tick.tick().await;
        let due = t.elapsed().as_millis() as u64 * RATE / 1000;
        while sent < due {
            sent += 1;
            let issi = (sent * 7919) % u64::from(TERMINALS) + 1;
            let (api, done, failed) = (Arc::clone(&api), Arc::clone(&done), Arc::clone(&failed));
            let permit = Arc::clone(&permits).acquire_owned().await?;
            tokio::spawn(async move {
                let r = api
                    .send(
                        Method::POST,
                        &format!("/v1/terminals/{issi}/status"),
                        Body::Json(json!({"code": 1, "ref": "r"})),
                    )
                    .await;
                if r.status == StatusCode::ACCEPTED {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                drop(permit);
            });
        }
    }
    let _ = permits.acquire_many(1024).await?;
    let secs = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open = readers.iter().filter(|r| !r.is_finished()).count();
    println!(
        "{} ok, {} failed in {secs:.2} s = {:.0} req/s; {} events delivered to {open} open streams; rss {:.0} MB, peak {:.0} MB",
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        done.load(Ordering::Relaxed) as f64 / secs,
        events.load(Ordering::Relaxed) - before,
        rss_mb("VmRSS"),
        rss_mb("VmHWM"),
    );
    let t = std::time::Instant::now();
    mock.shutdown().await;
    println!("shutdown with {CONSOLES} streams took {:?}", t.elapsed());
    for r in readers {
        timeout(WAIT, r).await??;
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert_eq!(open, CONSOLES as usize, "all streams stayed open");
    assert_eq!(
        events.load(Ordering::Relaxed) - before,
        5 * done.load(Ordering::Relaxed),
        "each status reaches the 5 consoles monitoring its talkgroup"
    );
    Ok(())
}
