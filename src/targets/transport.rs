//! How rcload reaches a target, the same for every connection of a run (requests, event
//! streams, token requests, `adapter check`): names pinned to addresses (`--resolve
//! HOST:PORT:ADDR`, as curl has it), the proxy (none unless said: `--proxy URL`, or
//! `--proxy-from-env` for the environment's `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`), TLS (a CA
//! bundle added to the built-in roots, a client certificate, the lowest version, `--insecure`),
//! HTTP/2 and the source address.

pub use crate::reach::{MinTls, Negotiated, TransportSummary};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

/// A name pinned to an address: `--resolve HOST:PORT:ADDR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    pub host: String,
    pub port: u16,
    pub addr: IpAddr,
}

/// Which proxy the run's connections go through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proxy {
    /// Straight to the target, whatever the environment says (the default).
    #[default]
    None,
    /// `--proxy URL` (its credentials, if any, are never printed).
    Url(String),
    /// `--proxy-from-env`: the environment's proxy variables.
    FromEnv,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    pub pins: Vec<Pin>,
    pub proxy: Proxy,
    pub tls: Tls,
    /// HTTP/2: by ALPN over TLS, by prior knowledge over plain http. Default HTTP/1.1.
    pub http2: bool,
    /// The local address connections are made from.
    pub bind: Option<IpAddr>,
    /// `--max-connections-per-host`: requests in flight and idle connections per host.
    pub max_per_host: Option<usize>,
}

/// A client certificate chain and its private key, PEM (the key is a secret: never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientIdentity(***)")
    }
}

/// TLS settings of every connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    /// CA certificates (PEM) trusted besides the built-in roots.
    pub ca_pem: Option<Vec<u8>>,
    pub identity: Option<ClientIdentity>,
    pub min: Option<MinTls>,
    /// Accept any certificate (lab targets only).
    pub insecure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("--resolve `{0}`: expected HOST:PORT:ADDR, e.g. rc-gateway.test:8443:127.0.0.1")]
    Resolve(String),
    #[error("--proxy `{0}`: expected a URL such as http://proxy.lab:3128")]
    Proxy(String),
    #[error("--ca-cert: {0}")]
    Ca(String),
    #[error("--client-cert/--client-key: {0}")]
    Identity(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("target.max_connections_per_host: at least 1")]
    NoConnections,
}

impl Pin {
    /// `HOST:PORT:ADDR`; an IPv6 address may be in brackets.
    pub fn parse(text: &str) -> Result<Pin, TransportError> {
        let bad = || TransportError::Resolve(text.to_string());
        let (host, rest) = text.split_once(':').ok_or_else(bad)?;
        let (port, addr) = rest.split_once(':').ok_or_else(bad)?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Pin {
            host: host.to_ascii_lowercase(),
            port: port.parse().map_err(|_| bad())?,
            addr: addr.parse().map_err(|_| bad())?,
        })
    }
}

impl Transport {
    /// The addresses `host:port` leads to: a pin, an address as written, or the system's
    /// resolver (empty when it does not resolve).
    pub fn addresses(&self, host: &str, port: u16) -> Vec<IpAddr> {
        if let Some(p) = self.pin(host, port) {
            return vec![p.addr];
        }
        if let Ok(a) = host.parse::<IpAddr>() {
            return vec![a];
        }
        (host, port)
            .to_socket_addrs()
            .map(|it| it.map(|s| s.ip()).collect())
            .unwrap_or_default()
    }

    /// The pin of `host:port`, if any.
    pub fn pin(&self, host: &str, port: u16) -> Option<&Pin> {
        self.pins
            .iter()
            .find(|p| p.host.eq_ignore_ascii_case(host) && p.port == port)
    }

    /// A client builder with the pins and the proxy applied. reqwest pins a name for every
    /// port; rcload's consent and `--resolve` are per port, and a run reaches one port per
    /// name, so that is the same.
    pub fn client_builder(&self) -> Result<reqwest::ClientBuilder, TransportError> {
        self.client_builder_for(true)
    }

    /// The same, for a base URL over TLS (`tls`) or plain http (HTTP/2 by prior knowledge
    /// then).
    pub fn client_builder_for(&self, tls: bool) -> Result<reqwest::ClientBuilder, TransportError> {
        let mut b = reqwest::Client::builder();
        if let Some(pem) = &self.tls.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| TransportError::Ca(e.to_string()))?;
            if certs.is_empty() {
                return Err(TransportError::Ca("no PEM certificate in it".into()));
            }
            b = b.tls_certs_merge(certs);
        }
        if let Some(id) = &self.tls.identity {
            let mut pem = id.key_pem.clone();
            pem.push(b'\n');
            pem.extend_from_slice(&id.cert_pem);
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| TransportError::Identity(e.to_string()))?;
            b = b.identity(identity);
        }
        if let Some(min) = self.tls.min {
            b = b.tls_version_min(match min {
                MinTls::V1_2 => reqwest::tls::Version::TLS_1_2,
                MinTls::V1_3 => reqwest::tls::Version::TLS_1_3,
            });
        }
        if self.tls.insecure {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        b = match (self.http2, tls) {
            (false, _) => b.http1_only(),
            (true, true) => b,
            (true, false) => b.http2_prior_knowledge(),
        };
        if let Some(addr) = self.bind {
            b = b.local_address(addr);
        }
        if let Some(n) = self.max_per_host {
            b = b.pool_max_idle_per_host(n);
        }
        for p in &self.pins {
            b = b.resolve(&p.host, SocketAddr::new(p.addr, p.port));
        }
        b = match &self.proxy {
            Proxy::None => b.no_proxy(),
            Proxy::Url(u) => {
                b.proxy(reqwest::Proxy::all(u).map_err(|_| TransportError::Proxy(u.clone()))?)
            }
            Proxy::FromEnv => b,
        };
        Ok(b)
    }

    /// A target's two clients for `base` (an http:// or https:// URL): one for requests,
    /// its idle connections capped by `--max-connections-per-host`, and one for event
    /// channels, which have connections of their own. Both send `headers`, connect within
    /// `timeout`, and never follow a redirect: a redirect is the system's answer, and
    /// following it could lead the load to a host the user did not name.
    pub fn clients(
        &self,
        base: &str,
        timeout: std::time::Duration,
        headers: reqwest::header::HeaderMap,
    ) -> Result<(reqwest::Client, reqwest::Client), String> {
        let build = |capped: bool| {
            let mut b = self
                .client_builder_for(base.starts_with("https://"))
                .map_err(|e| e.to_string())?;
            if !capped {
                b = b.pool_max_idle_per_host(usize::MAX);
            }
            b.default_headers(headers.clone())
                .connect_timeout(timeout)
                .tcp_nodelay(true)
                .pool_idle_timeout(std::time::Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| e.to_string())
        };
        Ok((build(true)?, build(false)?))
    }

    /// The TLS configuration of a WebSocket event channel: the built-in roots and
    /// `--ca-cert`, the client certificate, the lowest version, `--insecure`.
    pub fn websocket_tls(&self) -> Result<Arc<rustls::ClientConfig>, TransportError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = match self.tls.min {
            Some(MinTls::V1_3) => &[&rustls::version::TLS13],
            _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
        };
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(pem) = &self.tls.ca_pem {
            for c in CertificateDer::pem_slice_iter(pem) {
                let c = c.map_err(|e| TransportError::Ca(e.to_string()))?;
                roots
                    .add(c)
                    .map_err(|e| TransportError::Ca(e.to_string()))?;
            }
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .map_err(|e| TransportError::Tls(e.to_string()))?;
        let builder = if self.tls.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        } else {
            builder.with_root_certificates(roots)
        };
        let config = match &self.tls.identity {
            None => builder.with_no_client_auth(),
            Some(id) => {
                let chain = CertificateDer::pem_slice_iter(&id.cert_pem)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| TransportError::Identity(e.to_string()))?;
                let key = PrivateKeyDer::from_pem_slice(&id.key_pem)
                    .map_err(|e| TransportError::Identity(e.to_string()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TransportError::Identity(e.to_string()))?
            }
        };
        Ok(Arc::new(config))
    }

    /// The TLS version and ALPN protocol the target agrees to, learnt from one handshake of
    /// its own (as the run's connections make them: pins, CA, client certificate, lowest
    /// version; ALPN `h2` first with `--http2`). `None` for plain http, through a proxy (the
    /// proxy's tunnel is not opened for this), or when the handshake fails (the health check
    /// says why).
    pub async fn probe_tls(&self, url: &str, timeout: std::time::Duration) -> Option<Negotiated> {
        if !url.starts_with("https://") || self.proxy != Proxy::None {
            return None;
        }
        let (host, port) = host_port(url)?;
        let addr = *self.addresses(&host, port).first()?;
        let mut config = (*self.websocket_tls().ok()?).clone();
        config.alpn_protocols = if self.http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        let name = rustls::pki_types::ServerName::try_from(host).ok()?;
        let connect = async {
            let tcp = tokio::net::TcpStream::connect((addr, port)).await.ok()?;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            connector.connect(name, tcp).await.ok()
        };
        let tls = tokio::time::timeout(timeout, connect).await.ok()??;
        let (_, conn) = tls.get_ref();
        Some(Negotiated {
            tls_version: conn
                .protocol_version()
                .map(|v| match v {
                    rustls::ProtocolVersion::TLSv1_3 => "1.3".to_string(),
                    rustls::ProtocolVersion::TLSv1_2 => "1.2".to_string(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default(),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default(),
            address: SocketAddr::new(addr, port).to_string(),
        })
    }

    /// Why a TLS connection to `url` fails, in the user's words, from a handshake of
    /// rcload's own: a TLS 1.3 server refuses a client certificate only after the handshake
    /// (reqwest may then see only a closed connection), so this one waits a moment for the
    /// server's alert after it, sending nothing (a server closing on unread data would reset
    /// the connection, the alert unread). `None` when nothing fails, for plain http, through
    /// a proxy, or when the failure is not one of TLS.
    pub async fn tls_failure(&self, url: &str, timeout: std::time::Duration) -> Option<String> {
        use tokio::io::AsyncReadExt;
        if !url.starts_with("https://") || self.proxy != Proxy::None {
            return None;
        }
        let (host, port) = host_port(url)?;
        let addr = *self.addresses(&host, port).first()?;
        let name = rustls::pki_types::ServerName::try_from(host).ok()?;
        let connector = tokio_rustls::TlsConnector::from(self.websocket_tls().ok()?);
        let handshake = async {
            let tcp = tokio::net::TcpStream::connect((addr, port)).await.ok()?;
            Some(connector.connect(name, tcp).await)
        };
        let mut tls = match tokio::time::timeout(timeout, handshake).await.ok()?? {
            Ok(t) => t,
            Err(e) => return super::body::tls_cause(&e),
        };
        let mut byte = [0u8; 1];
        let after = timeout.min(std::time::Duration::from_secs(2));
        match tokio::time::timeout(after, tls.read(&mut byte)).await {
            Ok(Err(e)) => super::body::tls_cause(&e),
            _ => None,
        }
    }

    /// `e`, a failure to reach `url`, with the TLS cause put first when rcload's own
    /// handshake finds one that the error did not carry.
    pub async fn explained(
        &self,
        url: &str,
        timeout: std::time::Duration,
        e: super::TargetError,
    ) -> super::TargetError {
        match e {
            super::TargetError::Connect(m) if !m.starts_with("TLS:") => {
                match self.tls_failure(url, timeout).await {
                    Some(why) => super::TargetError::Connect(format!("{why} ({m})")),
                    None => super::TargetError::Connect(m),
                }
            }
            other => other,
        }
    }

    /// What run.json and the report say of it (a proxy's credentials left out).
    pub fn describe(&self) -> TransportSummary {
        TransportSummary {
            proxy: match &self.proxy {
                Proxy::None => "none".to_string(),
                Proxy::Url(u) => without_credentials(u),
                Proxy::FromEnv => "from the environment".to_string(),
            },
            resolve: self
                .pins
                .iter()
                .map(|p| format!("{}:{} -> {}", p.host, p.port, p.addr))
                .collect(),
            http: if self.http2 { "2" } else { "1.1" }.to_string(),
            ca_cert: self.tls.ca_pem.is_some(),
            client_certificate: self.tls.identity.is_some(),
            min_tls: self.tls.min,
            insecure: self.tls.insecure,
            bind: self.bind,
            max_connections_per_host: self.max_per_host,
            negotiated: None,
        }
    }
}

/// `--insecure`: every certificate is accepted (signatures are still checked).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

type VerifySignature = fn(
    &[u8],
    &rustls::pki_types::CertificateDer<'_>,
    &rustls::DigitallySignedStruct,
    &rustls::crypto::WebPkiSupportedAlgorithms,
)
    -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>;

impl AnyCertificate {
    fn signature(
        &self,
        verify: VerifySignature,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        verify(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
}

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.signature(rustls::crypto::verify_tls12_signature, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.signature(rustls::crypto::verify_tls13_signature, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The host of `url` (lower case; an IPv6 address without brackets) and its port (the
/// scheme's when not written).
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let u = reqwest::Url::parse(url).ok()?;
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    Some((host, u.port_or_known_default()?))
}

/// A command-line word with the password of any URL in it left out (`--proxy
/// http://user:secret@host` → `http://user@host`); other words as they are.
pub fn without_password(word: &str) -> String {
    let Some(scheme_end) = word.find("://") else {
        return word.to_string();
    };
    let rest = &word[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or_default();
            format!("{}{user}{}", &word[..scheme_end + 3], &rest[at..])
        }
        None => word.to_string(),
    }
}

/// `url` with any user name and password removed.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "(a proxy URL that does not parse)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_host_port_and_address() {
        let p = Pin::parse("RC-Gateway.test:8443:127.0.0.1").expect("parses");
        assert_eq!(p.host, "rc-gateway.test");
        assert_eq!(p.port, 8443);
        assert_eq!(
            Pin::parse("h:1:[::1]").map(|p| p.addr),
            Ok("::1".parse().unwrap())
        );
        for bad in ["h:1", "h:x:127.0.0.1", ":1:127.0.0.1", "h:1:nowhere"] {
            assert!(Pin::parse(bad).is_err(), "{bad}");
        }
        let t = Transport {
            pins: vec![p],
            ..Transport::default()
        };
        assert_eq!(
            t.addresses("rc-gateway.test", 8443),
            ["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            t.addresses("10.0.0.1", 1),
            ["10.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert!(t.pin("rc-gateway.test", 8444).is_none());
    }

    #[test]
    fn a_proxy_is_described_without_its_password() {
        let t = Transport {
            proxy: Proxy::Url("http://user:s3cret@proxy.lab:3128".into()),
            ..Transport::default()
        };
        let d = t.describe();
        assert_eq!(d.proxy, "http://proxy.lab:3128/");
        assert!(t.client_builder().is_ok());
        let bad = Transport {
            proxy: Proxy::Url("::".into()),
            ..t
        };
        assert!(bad.client_builder().is_err());
        assert_eq!(
            without_password("--proxy=http://user:s3cret@proxy.lab:3128/x"),
            "--proxy=http://user@proxy.lab:3128/x"
        );
        assert_eq!(without_password("http://h:1/a@b"), "http://h:1/a@b");
        assert_eq!(without_password("--seed"), "--seed");
    }
}
