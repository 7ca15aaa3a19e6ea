//! vendor-x's OAuth2 client-credentials token endpoint and the bearer check on `/xapi`.
//! Both read the `Authorization` header as API v1 does (`extract.rs`): the scheme in any case.
//!
//! Tokens are opaque, kept with their expiry (expired ones are dropped when a new one is
//! issued), and checked on every `/xapi` request but the ping.

use super::XError;
use crate::OAuthClient;
use crate::extract::{auth_credentials, bearer_token};
use crate::state::MockState;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rcload_api::Op;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The client the mock accepts and the tokens it issued.
#[derive(Debug)]
pub(crate) struct Tokens {
    client: OAuthClient,
    issued: Mutex<HashMap<String, Instant>>,
    counter: Mutex<u64>,
    salt: u64,
}

/// What the bearer check found.
#[derive(Debug, PartialEq, Eq)]
enum Check {
    Valid,
    Expired,
    Invalid,
}

impl Tokens {
    pub(crate) fn new(client: OAuthClient) -> Self {
        let salt = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7);
        Tokens {
            client,
            issued: Mutex::new(HashMap::new()),
            counter: Mutex::new(0),
            salt,
        }
    }

    fn issue(&self) -> String {
        let n = {
            let mut c = self.counter.lock().unwrap_or_else(|p| p.into_inner());
            *c += 1;
            *c
        };
        let token = format!(
            "xt-{:016x}{:016x}",
            rcload_api::mix::splitmix64(self.salt ^ n),
            rcload_api::mix::splitmix64(n.wrapping_mul(0x9e37_79b9) ^ self.salt.rotate_left(17))
        );
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        issued.retain(|_, exp| *exp > now);
        issued.insert(token.clone(), now + self.client.token_lifetime);
        token
    }

    fn check(&self, token: &str) -> Check {
        let issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        match issued.get(token) {
            Some(exp) if *exp > Instant::now() => Check::Valid,
            Some(_) => Check::Expired,
            None => Check::Invalid,
        }
    }

    fn client_matches(&self, id: &str, secret: &str) -> bool {
        // Both compared in full, each in constant time.
        let id_ok = crate::extract::same_secret(id, &self.client.client_id);
        id_ok & crate::extract::same_secret(secret, &self.client.client_secret)
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

/// `POST /oauth2/token`: client credentials by HTTP basic or form fields.
pub(crate) async fn token(
    State((state, tokens)): State<(Arc<MockState>, Arc<Tokens>)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    state.count_request(Op::AuthToken);
    let form: HashMap<String, String> = match serde_urlencoded_pairs(&body) {
        Some(f) => f,
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request"),
    };
    let basic = auth_credentials(&headers, "Basic")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    let creds = basic.or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    let Some((id, secret)) = creds else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if !tokens.client_matches(&id, &secret) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request"),
    }
    let expires_in = tokens.client.token_lifetime.as_secs().max(1);
    Json(json!({
        "access_token": tokens.issue(),
        "token_type": "Bearer",
        "expires_in": expires_in,
    }))
    .into_response()
}

/// A form body's pairs (`application/x-www-form-urlencoded`).
fn serde_urlencoded_pairs(body: &[u8]) -> Option<HashMap<String, String>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut out = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(k)?, decode(v)?);
    }
    Some(out)
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The bearer check of every `/xapi` request but the ping.
pub(crate) async fn bearer(
    State(tokens): State<Arc<Tokens>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/xapi/") || path == "/xapi/v2/ping" {
        return next.run(req).await;
    }
    match bearer_token(req.headers()).map(|t| tokens.check(t)) {
        Some(Check::Valid) => next.run(req).await,
        Some(Check::Expired) => XError::new(
            StatusCode::UNAUTHORIZED,
            "TOKEN_EXPIRED",
            "the token has expired",
        )
        .into_response(),
        _ => XError::new(
            StatusCode::UNAUTHORIZED,
            "TOKEN_INVALID",
            "missing or unknown bearer token",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn forms_decode_and_tokens_expire() {
        let f = serde_urlencoded_pairs(b"grant_type=client_credentials&scope=a+b%2Fc").unwrap();
        assert_eq!(f["grant_type"], "client_credentials");
        assert_eq!(f["scope"], "a b/c");
        assert!(serde_urlencoded_pairs(b"x=%zz").is_none());
        let t = Tokens::new(OAuthClient {
            client_id: "id".into(),
            client_secret: "s".into(),
            token_lifetime: Duration::from_millis(30),
        });
        let a = t.issue();
        let b = t.issue();
        assert_ne!(a, b);
        assert_eq!(t.check(&a), Check::Valid);
        assert_eq!(t.check("nope"), Check::Invalid);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(t.check(&a), Check::Expired);
        assert!(t.client_matches("id", "s") && !t.client_matches("id", "x"));
    }
}
