//! Which target a run may load and how it is reached, from the flags (`cli::ReachArgs`) and
//! the profile's `target:` section; the flag wins. Files (CA bundle, client certificate and
//! key) are read here, before any request; a relative path of the profile is taken from the
//! profile's directory.

use crate::cli::ReachArgs;
use crate::profile::TargetSection;
use crate::targets::consent::{self, Consent, ConsentError};
use crate::targets::transport::{
    ClientIdentity, MinTls, Pin, Proxy, Tls, Transport, TransportError,
};
use std::path::{Path, PathBuf};

/// A file of the profile (relative to `base`, the profile's directory) or of a flag.
fn path_of(
    flag: &Option<PathBuf>,
    profile: &Option<String>,
    base: Option<&Path>,
) -> Option<PathBuf> {
    flag.clone().or_else(|| {
        profile.as_ref().map(|p| match base {
            Some(b) if Path::new(p).is_relative() => b.join(p),
            _ => PathBuf::from(p),
        })
    })
}

fn read(what: fn(String) -> TransportError, path: &Path) -> Result<Vec<u8>, TransportError> {
    let meta = std::fs::metadata(path).map_err(|e| what(format!("{}: {e}", path.display())))?;
    if meta.len() > 1 << 20 {
        return Err(what(format!("{}: larger than 1 MiB", path.display())));
    }
    std::fs::read(path).map_err(|e| what(format!("{}: {e}", path.display())))
}

/// The transport of `--resolve`, `--proxy`, `--proxy-from-env`, the TLS flags, `--http2` and
/// `--bind`, over the profile's `target:` (`base`: the profile's directory, for its paths).
pub fn transport_of(
    r: &ReachArgs,
    section: &TargetSection,
    base: Option<&Path>,
) -> Result<Transport, TransportError> {
    let pins = r
        .resolve
        .iter()
        .chain(&section.resolve)
        .map(|p| Pin::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    let proxy = match (
        r.proxy.as_ref().or(section.proxy.as_ref()),
        r.proxy_from_env,
    ) {
        (Some(u), _) => {
            reqwest::Url::parse(u).map_err(|_| TransportError::Proxy(u.clone()))?;
            Proxy::Url(u.clone())
        }
        (None, true) => Proxy::FromEnv,
        (None, false) => Proxy::None,
    };
    let ca_pem = path_of(&r.ca_cert, &section.ca_cert, base)
        .map(|p| read(TransportError::Ca, &p))
        .transpose()?;
    let identity = match (
        path_of(&r.client_cert, &section.client_cert, base),
        path_of(&r.client_key, &section.client_key, base),
    ) {
        (Some(c), Some(k)) => Some(ClientIdentity {
            cert_pem: read(TransportError::Identity, &c)?,
            key_pem: read(TransportError::Identity, &k)?,
        }),
        (None, None) => None,
        _ => {
            return Err(TransportError::Identity(
                "a client certificate needs its key, and a key its certificate".into(),
            ));
        }
    };
    let min = match r
        .min_tls
        .as_ref()
        .or(section.min_tls.as_ref())
        .map(String::as_str)
    {
        None => None,
        Some("1.2") => Some(MinTls::V1_2),
        Some("1.3") => Some(MinTls::V1_3),
        Some(other) => {
            return Err(TransportError::Tls(format!(
                "min_tls `{other}`: 1.2 or 1.3"
            )));
        }
    };
    let bind = r
        .bind
        .as_ref()
        .map(|b| {
            b.parse()
                .map_err(|_| TransportError::Tls(format!("--bind `{b}`: not an IP address")))
        })
        .transpose()?;
    Ok(Transport {
        pins,
        proxy,
        tls: Tls {
            ca_pem,
            identity,
            min,
            insecure: r.insecure,
        },
        http2: r.http2 || section.http2,
        bind,
        max_per_host: match r
            .max_connections_per_host
            .or(section.max_connections_per_host)
        {
            Some(0) => return Err(TransportError::NoConnections),
            n => n.map(|n| n as usize),
        },
    })
}

/// Whether `url` may be loaded under the profile's `target:` lists and the flags (exit 2
/// before any request when not).
pub fn judge_target(
    url: &str,
    section: &TargetSection,
    r: &ReachArgs,
    transport: &Transport,
) -> Result<Consent, ConsentError> {
    let rules = consent::Rules {
        allow: section
            .allow
            .iter()
            .chain(&r.allow_target)
            .cloned()
            .collect(),
        production: section.production.clone(),
        production_ok: r.production,
        plain_http_ok: r.allow_plain_http,
    };
    consent::judge(url, &rules, |host, port| transport.addresses(host, port))
}

/// `--tls-server-name NAME`: the URL asks for NAME (SNI, certificate name, Host header) while
/// connecting to the address of the host written in it: NAME is pinned to that address.
pub fn with_server_name(
    url: &str,
    name: &str,
    transport: &mut Transport,
) -> Result<String, TransportError> {
    let bad = |why: &str| TransportError::Tls(format!("--tls-server-name {name}: {why}"));
    let mut u = reqwest::Url::parse(url).map_err(|_| bad("the target is not a URL"))?;
    let host = u
        .host_str()
        .ok_or_else(|| bad("the target has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = u
        .port_or_known_default()
        .ok_or_else(|| bad("the target has no port"))?;
    let addr = *transport
        .addresses(&host, port)
        .first()
        .ok_or_else(|| bad(&format!("`{host}` does not resolve")))?;
    u.set_host(Some(name)).map_err(|_| bad("not a host name"))?;
    transport.pins.push(Pin {
        host: name.to_ascii_lowercase(),
        port,
        addr,
    });
    Ok(u.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_name_is_pinned_to_the_written_hosts_address() {
        let mut t = Transport::default();
        let url = with_server_name("https://127.0.0.1:8443/api", "rc.lab", &mut t).expect("ok");
        assert_eq!(url, "https://rc.lab:8443/api");
        assert_eq!(
            t.pins[0].addr,
            "127.0.0.1".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(t.pins[0].port, 8443);
    }

    #[test]
    fn flags_win_over_the_profile_and_a_key_needs_its_certificate() {
        let section = TargetSection {
            proxy: Some("http://profile.proxy:1".into()),
            min_tls: Some("1.2".into()),
            http2: true,
            max_connections_per_host: Some(4),
            ..TargetSection::default()
        };
        let r = ReachArgs {
            proxy: Some("http://flag.proxy:2".into()),
            min_tls: Some("1.3".into()),
            ..ReachArgs::default()
        };
        let t = transport_of(&r, &section, None).expect("ok");
        assert_eq!(t.proxy, Proxy::Url("http://flag.proxy:2".into()));
        assert_eq!(t.tls.min, Some(MinTls::V1_3));
        assert!(t.http2);
        assert_eq!(t.max_per_host, Some(4));
        let half = ReachArgs {
            client_key: Some("k.pem".into()),
            ..ReachArgs::default()
        };
        assert!(transport_of(&half, &TargetSection::default(), None).is_err());
    }
}
