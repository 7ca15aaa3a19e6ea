//! The mock's vendor-x dialect over real HTTP and WebSocket on loopback: its OAuth2 token
//! endpoint and bearer check, its errors, and — through rcload's mapping-driven target with
//! `adapters/vendor-x.yaml` — a token refused mid-run being renewed, and faults arriving as
//! the vendor's messages.

use futures::StreamExt;
use rcload::targets::auth::{ClientAuth, Credentials, OAuth2, Secret};
use rcload::targets::mapped::{self, MappedTarget};
use rcload::targets::{Request, Target, TargetError};
use rcload_api::Event;
use rcload_mock::{self, Dialect, FaultSpec, MockConfig, MockSpec, OAuthClient};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

async fn start(
    lifetime: Duration,
    faults: Value,
) -> anyhow::Result<(rcload_mock::MockHandle, String)> {
    let faults: Vec<FaultSpec> = serde_json::from_value(faults)?;
    let config = MockConfig {
        spec: MockSpec {
            faults,
            ..Default::default()
        },
        dialect: Dialect::VendorX,
        oauth: Some(OAuthClient {
            client_id: "cid".into(),
            client_secret: "sek".into(),
            token_lifetime: lifetime,
        }),
        fault_epoch: Some(Instant::now()),
        ..Default::default()
    };
    let h = rcload_mock::spawn("127.0.0.1:0".parse()?, config).await?;
    let url = format!("http://{}", h.addr);
    Ok((h, url))
}

async fn token(
    c: &reqwest::Client,
    base: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut rb = c.post(format!("{base}/oauth2/token")).form(form);
    if let Some((u, p)) = basic {
        rb = rb.basic_auth(u, Some(p));
    }
    let r = rb.send().await.expect("token request");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn token_endpoint_and_bearer_check() -> anyhow::Result<()> {
    let (h, base) = start(Duration::from_millis(800), json!([])).await?;
    let c = reqwest::Client::builder().timeout(WAIT).build()?;
    let grant = [("grant_type", "client_credentials")];
    let (s, basic) = token(&c, &base, &grant, Some(("cid", "sek"))).await;
    assert_eq!(s, 200, "{basic}");
    assert_eq!(basic["token_type"], "Bearer");
    assert_eq!(basic["expires_in"], 1);
    let (s, form) = token(
        &c,
        &base,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "cid"),
            ("client_secret", "sek"),
        ],
        None,
    )
    .await;
    assert_eq!(s, 200, "{form}");
    assert_ne!(basic["access_token"], form["access_token"]);
    let (s, bad) = token(&c, &base, &grant, Some(("cid", "wrong"))).await;
    assert_eq!((s, bad["error"].as_str()), (401, Some("invalid_client")));
    let (s, bad) = token(
        &c,
        &base,
        &[("grant_type", "password")],
        Some(("cid", "sek")),
    )
    .await;
    assert_eq!(
        (s, bad["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );

    let t = basic["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let get = |auth: Option<String>| {
        let mut rb = c.get(format!("{base}/xapi/v2/sessions/xs-00-s-1/groups"));
        if let Some(a) = auth {
            rb = rb.bearer_auth(a);
        }
        rb.send()
    };
    // The ping needs no token; the API does.
    let ping = c.get(format!("{base}/xapi/v2/ping")).send().await?;
    assert_eq!(ping.status(), 200);
    let none = get(None).await?;
    assert_eq!(none.status(), 401);
    assert_eq!(none.json::<Value>().await?["errorCode"], "TOKEN_INVALID");
    let valid = get(Some(t.clone())).await?;
    assert_eq!(valid.status(), 404, "a valid token reaches the handler");
    assert_eq!(
        valid.json::<Value>().await?["errorCode"],
        "SESSION_NOT_FOUND"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    let expired = get(Some(t)).await?;
    assert_eq!(expired.status(), 401);
    assert_eq!(expired.json::<Value>().await?["errorCode"], "TOKEN_EXPIRED");
    let unknown = c.get(format!("{base}/xapi/v2/nothing")).send().await?;
    assert_eq!(unknown.status(), 401, "the bearer check comes first");
    h.shutdown().await;
    Ok(())
}

fn target(base: &str) -> anyhow::Result<MappedTarget> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/adapters/vendor-x.yaml");
    let m = mapped::load(path)?;
    let creds = Credentials::OAuth2(OAuth2 {
        token_url: "/oauth2/token".into(),
        client_id: "cid".into(),
        client_secret: Secret("sek".into()),
        scope: None,
        client_auth: ClientAuth::Basic,
        refresh_before: None,
    });
    let transport = rcload::targets::transport::Transport::default();
    Ok(MappedTarget::new(m, base, WAIT, &creds, &transport)?)
}

/// The mock's tokens die after 500 ms but say they live 1 s: rcload uses one the system has
/// already refused, fetches a new one and sends again, and the request succeeds.
#[tokio::test]
async fn a_refused_token_is_renewed_and_the_request_sent_again() -> anyhow::Result<()> {
    let (h, base) = start(Duration::from_millis(500), json!([])).await?;
    let t = target(&base)?;
    let mut own = t.take_own_requests().expect("own requests");
    t.perform(Request::Login {
        console: "c1".into(),
        operator: "op".into(),
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(650)).await;
    let r = t
        .perform(Request::Audit {
            console: "c1".into(),
        })
        .await;
    assert!(r.is_ok(), "{r:?}");
    let mut fetches = 0;
    while let Ok(o) = own.try_recv() {
        assert!(o.error.is_none(), "{o:?}");
        fetches += 1;
    }
    assert_eq!(fetches, 2, "one token, then a new one after the 401");
    h.shutdown().await;
    Ok(())
}

async fn next_event(s: &mut rcload::targets::EventStream) -> Event {
    match tokio::time::timeout(WAIT, s.events.next()).await {
        Ok(Some(Ok(r))) => r.event,
        other => panic!("no event: {other:?}"),
    }
}

/// Model faults arrive as the vendor's messages: a drop as GROUP_DETACHED, a kick as
/// SESSION_TERMINATED and the end of the WebSocket; the session stays, so it can reconnect.
#[tokio::test]
async fn faults_arrive_as_vendor_messages() -> anyhow::Result<()> {
    let (h, base) = start(
        Duration::from_secs(3600),
        json!([
            {"at": "1s", "kind": "drop", "console": "c1", "talkgroup": 100002},
            {"at": "2s", "kind": "kick", "console": "c1"}
        ]),
    )
    .await?;
    let t = target(&base)?;
    let mut trace = mapped::Trace::default();
    t.perform_traced(
        Request::Login {
            console: "c1".into(),
            operator: "op".into(),
        },
        &mut trace,
    )
    .await?;
    let sid = trace
        .captured
        .iter()
        .find(|(k, _)| k == "session")
        .map(|(_, v)| v.clone())
        .expect("session captured");
    let mut s = t.open_stream("c1").await?;
    t.perform(Request::Attach {
        console: "c1".into(),
        talkgroups: vec![100_001, 100_002],
    })
    .await?;
    assert!(matches!(
        next_event(&mut s).await,
        Event::TalkgroupAttached { .. }
    ));
    assert!(matches!(
        next_event(&mut s).await,
        Event::TalkgroupAttached { .. }
    ));
    assert_eq!(
        next_event(&mut s).await,
        Event::TalkgroupDropped {
            talkgroup: 100_002,
            reason: "fault".into()
        }
    );
    assert_eq!(
        next_event(&mut s).await,
        Event::ConsoleKicked {
            reason: "fault".into()
        }
    );
    let end = tokio::time::timeout(WAIT, s.events.next()).await?;
    assert!(end.is_none(), "the socket closes after the kick: {end:?}");
    // Reconnecting works with the same session.
    let mut again = t.open_stream("c1").await?;
    t.perform(Request::Register {
        issi: 1_000_001,
        talkgroup: 100_001,
    })
    .await?;
    assert_eq!(
        next_event(&mut again).await,
        Event::TerminalRegistered {
            issi: 1_000_001,
            talkgroup: 100_001
        }
    );
    // The session ends behind rcload's back: the system's SESSION_NOT_FOUND reads as
    // rcload's `not_logged_in` (which makes the engine log the console in again).
    let c = reqwest::Client::new();
    let (_, tok) = token(
        &c,
        &base,
        &[("grant_type", "client_credentials")],
        Some(("cid", "sek")),
    )
    .await;
    let gone = c
        .delete(format!("{base}/xapi/v2/sessions/{sid}"))
        .bearer_auth(tok["access_token"].as_str().unwrap_or_default())
        .send()
        .await?;
    assert_eq!(gone.status(), 204);
    match t.open_stream("c1").await {
        Err(TargetError::Http { status, code, .. }) => {
            assert_eq!((status, code.as_deref()), (404, Some("not_logged_in")))
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a stream for an ended session"),
    }
    h.shutdown().await;
    Ok(())
}
