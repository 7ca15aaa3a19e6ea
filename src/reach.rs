//! How a run reached its target, as run.json records it: why the target could be loaded
//! (`targets::consent` decides) and what its connections asked for and agreed to
//! (`targets::transport` describes). Plain data at the bottom of the crate, so that the
//! report writes it without knowing the targets.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Why a target may be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// The host is a loopback name or address, and resolves only to loopback.
    Loopback,
    /// The host (or an address it resolves to) is in `target.allow` or `--allow-target`.
    Allowed,
    /// A production host, with `--production`.
    Production,
}

/// The lowest TLS version accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MinTls {
    #[serde(rename = "1.2")]
    V1_2,
    #[serde(rename = "1.3")]
    V1_3,
}

/// What one TLS handshake with the target agreed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Negotiated {
    /// `1.2` or `1.3`.
    pub tls_version: String,
    /// `h2`, `http/1.1`, or empty when the target chose none.
    pub alpn: String,
    /// The address connected to.
    pub address: String,
}

/// How a run reached its target, as run.json records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportSummary {
    /// `none`, the proxy's URL, or `from the environment`.
    pub proxy: String,
    /// The pinned names, `host:port -> address`.
    pub resolve: Vec<String>,
    /// The HTTP version asked for: `1.1`, or `2` (`--http2`).
    #[serde(default)]
    pub http: String,
    /// A CA bundle was added to the built-in roots (`--ca-cert`).
    #[serde(default)]
    pub ca_cert: bool,
    /// A client certificate was offered (mTLS).
    #[serde(default)]
    pub client_certificate: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tls: Option<MinTls>,
    /// `--insecure`: the target's certificate was not checked.
    #[serde(default)]
    pub insecure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<IpAddr>,
    /// `--max-connections-per-host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections_per_host: Option<usize>,
    /// What a TLS handshake with the target agreed to, before the load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<Negotiated>,
}

impl TransportSummary {
    /// One line for the reports: what was asked and what the target agreed to.
    pub fn line(&self) -> String {
        let mut parts = vec![format!("HTTP/{}", self.http)];
        if let Some(n) = &self.negotiated {
            let alpn = if n.alpn.is_empty() { "none" } else { &n.alpn };
            parts.push(format!(
                "TLS {} (ALPN {alpn}) to {}",
                n.tls_version, n.address
            ));
        }
        if self.client_certificate {
            parts.push("client certificate".into());
        }
        if self.ca_cert {
            parts.push("CA bundle added".into());
        }
        if let Some(m) = self.min_tls {
            let v = match m {
                MinTls::V1_2 => "1.2",
                MinTls::V1_3 => "1.3",
            };
            parts.push(format!("TLS {v} at least"));
        }
        if self.insecure {
            parts.push("INSECURE: certificate not checked".into());
        }
        parts.push(format!("proxy {}", self.proxy));
        if !self.resolve.is_empty() {
            parts.push(format!("pinned {}", self.resolve.join(", ")));
        }
        if let Some(b) = self.bind {
            parts.push(format!("from {b}"));
        }
        if let Some(n) = self.max_connections_per_host {
            parts.push(format!("at most {n} connections per host"));
        }
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_line_says_what_was_asked_and_agreed() {
        let t = TransportSummary {
            proxy: "none".into(),
            resolve: vec!["gw.test:8443 -> 127.0.0.1".into()],
            http: "2".into(),
            client_certificate: true,
            min_tls: Some(MinTls::V1_3),
            negotiated: Some(Negotiated {
                tls_version: "1.3".into(),
                alpn: "h2".into(),
                address: "127.0.0.1:8443".into(),
            }),
            ..TransportSummary::default()
        };
        assert_eq!(
            t.line(),
            "HTTP/2 · TLS 1.3 (ALPN h2) to 127.0.0.1:8443 · client certificate · TLS 1.3 at \
             least · proxy none · pinned gw.test:8443 -> 127.0.0.1"
        );
    }
}
