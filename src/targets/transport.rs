//! How rcload reaches a target, the same for every connection of a run (requests, event
//! streams, token requests, `adapter check`): names pinned to addresses (`--resolve
//! HOST:PORT:ADDR`, as curl has it) and the proxy (none unless said: `--proxy URL`, or
//! `--proxy-from-env` for the environment's `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`).

use serde::Serialize;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("--resolve `{0}`: expected HOST:PORT:ADDR, e.g. rc-gateway.test:8443:127.0.0.1")]
    Resolve(String),
    #[error("--proxy `{0}`: expected a URL such as http://proxy.lab:3128")]
    Proxy(String),
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
        let mut b = reqwest::Client::builder();
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
        }
    }
}

/// How a run reached its target, as run.json and summary.json record it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TransportSummary {
    /// `none`, the proxy's URL, or `from the environment`.
    pub proxy: String,
    /// The pinned names, `host:port -> address`.
    pub resolve: Vec<String>,
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
            proxy: Proxy::None,
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
            pins: Vec::new(),
            proxy: Proxy::Url("http://user:s3cret@proxy.lab:3128".into()),
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
