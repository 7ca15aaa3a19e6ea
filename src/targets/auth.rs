//! Authentication of requests to a system under test: a static header (bearer token, HTTP
//! basic, an API-key header), or OAuth2 client credentials with the token fetched, cached and
//! refreshed before it expires. Token fetches are reported as the target's own requests
//! ([`OwnRequest`]) so the engine measures them as `auth.token`.
//!
//! Secrets are held in [`Secret`], whose `Debug` never shows them, and in header values marked
//! sensitive. Nothing here writes a secret anywhere.

use super::{OwnRequest, TargetError};
use base64::Engine as _;
use rcload_api::Op;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How the OAuth2 client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP basic (`client_secret_basic`).
    Basic,
    /// Form fields `client_id` and `client_secret` (`client_secret_post`).
    Body,
}

/// OAuth2 client-credentials settings, resolved (secrets read from the environment).
#[derive(Debug, Clone)]
pub struct OAuth2 {
    /// Absolute URL of the token endpoint.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scope: Option<String>,
    pub client_auth: ClientAuth,
    /// Refresh this long before expiry; `None`: a fifth of the lifetime, at most 60 s.
    pub refresh_before: Option<Duration>,
}

/// Credentials of a target, resolved.
#[derive(Debug, Clone, Default)]
pub enum Credentials {
    #[default]
    None,
    Bearer(Secret),
    Basic {
        username: String,
        password: Secret,
    },
    /// An API key in a header of its own.
    Header {
        name: String,
        value: Secret,
    },
    OAuth2(OAuth2),
}

impl Credentials {
    /// The kind, for results (never the secret).
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::None => "none",
            Credentials::Bearer(_) => "bearer",
            Credentials::Basic { .. } => "basic",
            Credentials::Header { .. } => "header",
            Credentials::OAuth2(_) => "oauth2",
        }
    }
}

/// Why credentials cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("the credentials contain characters not allowed in an HTTP header")]
    Header,
    #[error("`{0}` is not a valid header name")]
    HeaderName(String),
}

struct Token {
    header: HeaderValue,
    refresh_at: Instant,
    expires_at: Instant,
}

/// Gives each request its authentication header.
pub struct Auth {
    fixed: Option<(HeaderName, HeaderValue)>,
    oauth: Option<OAuthState>,
}

struct OAuthState {
    config: OAuth2,
    client: reqwest::Client,
    cap: Option<Arc<super::conncap::ConnectionCap>>,
    timeout: Duration,
    token: RwLock<Option<Arc<Token>>>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
    own: mpsc::UnboundedSender<OwnRequest>,
}

fn sensitive(text: &str) -> Result<HeaderValue, AuthSetupError> {
    let mut v = HeaderValue::from_str(text).map_err(|_| AuthSetupError::Header)?;
    v.set_sensitive(true);
    Ok(v)
}

impl Auth {
    /// Authentication with `credentials`; token fetches go through `client` and are reported on
    /// `own`.
    pub fn new(
        credentials: &Credentials,
        client: reqwest::Client,
        cap: Option<Arc<super::conncap::ConnectionCap>>,
        timeout: Duration,
        own: mpsc::UnboundedSender<OwnRequest>,
    ) -> Result<Arc<Self>, AuthSetupError> {
        let b64 =
            |u: &str, p: &str| base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        let (fixed, oauth) = match credentials {
            Credentials::None => (None, None),
            Credentials::Bearer(t) => (
                Some((AUTHORIZATION, sensitive(&format!("Bearer {}", t.0))?)),
                None,
            ),
            Credentials::Basic { username, password } => (
                Some((
                    AUTHORIZATION,
                    sensitive(&format!("Basic {}", b64(username, &password.0)))?,
                )),
                None,
            ),
            Credentials::Header { name, value } => (
                Some((
                    HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| AuthSetupError::HeaderName(name.clone()))?,
                    sensitive(&value.0)?,
                )),
                None,
            ),
            Credentials::OAuth2(config) => (
                None,
                Some(OAuthState {
                    config: config.clone(),
                    client,
                    cap,
                    timeout,
                    token: RwLock::new(None),
                    fetching: tokio::sync::Mutex::new(()),
                    own,
                }),
            ),
        };
        Ok(Arc::new(Auth { fixed, oauth }))
    }

    /// The header to send with a request now, fetching or refreshing a token if needed.
    pub async fn header(
        self: &Arc<Self>,
    ) -> Result<Option<(HeaderName, HeaderValue)>, TargetError> {
        if let Some(f) = &self.fixed {
            return Ok(Some(f.clone()));
        }
        let Some(o) = &self.oauth else {
            return Ok(None);
        };
        let now = Instant::now();
        if let Some(t) = o.current() {
            if now < t.refresh_at {
                return Ok(Some((AUTHORIZATION, t.header.clone())));
            }
            if now < t.expires_at {
                // Still valid: refresh in the background, do not make this request wait.
                let me = self.clone();
                tokio::spawn(async move {
                    if let Some(o) = &me.oauth
                        && let Ok(_guard) = o.fetching.try_lock()
                        && o.current().is_some_and(|t| Instant::now() >= t.refresh_at)
                    {
                        let _ = o.fetch().await;
                    }
                });
                return Ok(Some((AUTHORIZATION, t.header.clone())));
            }
        }
        let _guard = o.fetching.lock().await;
        if let Some(t) = o.current().filter(|t| Instant::now() < t.expires_at) {
            return Ok(Some((AUTHORIZATION, t.header.clone())));
        }
        let t = o.fetch().await?;
        Ok(Some((AUTHORIZATION, t.header.clone())))
    }

    /// The system refused `used` (401): forget it, so the next request fetches a new token.
    pub fn refused(&self, used: &HeaderValue) {
        if let Some(o) = &self.oauth
            && let Ok(mut slot) = o.token.write()
            && slot.as_ref().is_some_and(|t| t.header == *used)
        {
            *slot = None;
        }
    }

    /// Whether a refused request may be retried with a new token.
    pub fn renews(&self) -> bool {
        self.oauth.is_some()
    }
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<f64>,
}

impl OAuthState {
    fn current(&self) -> Option<Arc<Token>> {
        self.token.read().ok().and_then(|t| t.clone())
    }

    /// Fetch a token (the caller holds `fetching`), store it and report the fetch.
    async fn fetch(&self) -> Result<Arc<Token>, TargetError> {
        let sent = Instant::now();
        let result = self.request().await;
        let _ = self.own.send(OwnRequest {
            op: Op::AuthToken,
            sent,
            took: sent.elapsed(),
            error: result.as_ref().err().map(|e: &TargetError| e.class()),
        });
        let token = Arc::new(result?);
        if let Ok(mut slot) = self.token.write() {
            *slot = Some(token.clone());
        }
        Ok(token)
    }

    async fn request(&self) -> Result<Token, TargetError> {
        let c = &self.config;
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if let Some(s) = &c.scope {
            form.push(("scope", s));
        }
        let mut rb = self.client.post(&c.token_url).timeout(self.timeout);
        match c.client_auth {
            ClientAuth::Basic => {
                rb = rb.basic_auth(&c.client_id, Some(&c.client_secret.0));
            }
            ClientAuth::Body => {
                form.push(("client_id", &c.client_id));
                form.push(("client_secret", &c.client_secret.0));
            }
        }
        let _slot = super::conncap::slot(&self.cap, &c.token_url).await;
        let sent = Instant::now();
        let resp = rb.form(&form).send().await.map_err(super::body::classify)?;
        let status = resp.status();
        let body = super::body::read(resp, super::body::MAX_ANSWER_BYTES, self.timeout).await?;
        if !status.is_success() {
            // RFC 6749 errors: {"error": "invalid_client", ...}
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string));
            return Err(TargetError::Http {
                status: status.as_u16(),
                code: code.clone(),
                message: format!(
                    "token endpoint refused the client credentials{}",
                    code.map(|c| format!(" ({c})")).unwrap_or_default()
                ),
            });
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
            TargetError::Protocol(format!("token endpoint: unexpected answer: {e}"))
        })?;
        if let Some(t) = &answer.token_type
            && !t.eq_ignore_ascii_case("bearer")
        {
            return Err(TargetError::Protocol(format!(
                "token endpoint: token type `{t}` is not bearer"
            )));
        }
        let lifetime = Duration::try_from_secs_f64(answer.expires_in.unwrap_or(3600.0).max(1.0))
            .unwrap_or(Duration::from_secs(3600));
        let margin = c
            .refresh_before
            .unwrap_or_else(|| (lifetime / 5).min(Duration::from_secs(60)))
            .min(lifetime / 2);
        let header = sensitive(&format!("Bearer {}", answer.access_token))
            .map_err(|_| TargetError::Protocol("token endpoint: unusable token".into()))?;
        Ok(Token {
            header,
            refresh_at: sent + lifetime - margin,
            expires_at: sent + lifetime,
        })
    }
}
