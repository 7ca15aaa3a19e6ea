//! Target consent: rcload loads only the system the user meant. A target on loopback needs
//! nothing; any other host must be named (the profile's `target.allow`, `--allow-target`); a
//! host under `target.production` needs `--production` as well; plain `http://` off loopback
//! needs `--allow-plain-http`. Judged before any request, on the host as written and on the
//! addresses it resolves to (a name that resolves to loopback is still a name the user must
//! give; an address listed resolves every name that leads to it). Pure: the caller resolves.

pub use crate::reach::Consent;
use std::net::IpAddr;

/// What may be loaded: the profile's `target:` lists and the flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Hosts (names or addresses) the user named: `target.allow`, `--allow-target`.
    pub allow: Vec<String>,
    /// Hosts refused unless `production_ok`: `target.production`.
    pub production: Vec<String>,
    /// `--production`.
    pub production_ok: bool,
    /// `--allow-plain-http`.
    pub plain_http_ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error(
        "the target host `{host}` is not on loopback and was not named: add it to the \
         profile's `target.allow` or give `--allow-target {host}` (nothing was sent)"
    )]
    NotNamed { host: String },
    #[error(
        "the target host `{host}` is a production system (`target.production` lists \
         `{entry}`): give `--production` to load it (nothing was sent)"
    )]
    Production { host: String, entry: String },
    #[error(
        "`{url}` is plain http:// to `{host}`, off loopback: give `--allow-plain-http` to send \
         unencrypted (nothing was sent)"
    )]
    PlainHttp { url: String, host: String },
    #[error("`{0}` is not a URL with a host")]
    NoHost(String),
}

/// The host of `url` as written (lower case, an IPv6 address without brackets) and whether
/// the scheme is plain `http`.
pub fn host_of(url: &str) -> Result<(String, u16, bool), ConsentError> {
    let (host, port) =
        super::transport::host_port(url).ok_or_else(|| ConsentError::NoHost(url.to_string()))?;
    let scheme = url
        .split("://")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let plain = scheme == "http" || scheme == "ws";
    Ok((host, port, plain))
}

/// `localhost`, a name under `.localhost` (RFC 6761), or a loopback address.
pub fn is_loopback_name(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// The entry of `list` that names `host` or one of `addrs`.
fn listed<'a>(list: &'a [String], host: &str, addrs: &[IpAddr]) -> Option<&'a str> {
    list.iter().map(String::as_str).find(|entry| {
        let e = entry.trim().trim_start_matches('[').trim_end_matches(']');
        e.eq_ignore_ascii_case(host) || e.parse::<IpAddr>().is_ok_and(|a| addrs.contains(&a))
    })
}

/// Whether an entry of `list` is an address (then the host must be resolved to judge it).
fn has_address(list: &[String]) -> bool {
    list.iter().any(|e| {
        e.trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok()
    })
}

/// Judge `url` under `rules`; `resolve` gives the addresses of its host (empty when it does
/// not resolve), and is called only when an address decides: a loopback name, an address in a
/// list, or plain http to a named host (unencrypted is fine when every address is loopback).
pub fn judge(
    url: &str,
    rules: &Rules,
    resolve: impl FnOnce(&str, u16) -> Vec<IpAddr>,
) -> Result<Consent, ConsentError> {
    let (host, port, plain) = host_of(url)?;
    let mut resolve = Some(resolve);
    let mut cache: Option<Vec<IpAddr>> = None;
    let mut addrs = |needed: bool| -> Vec<IpAddr> {
        if needed && cache.is_none() {
            cache = Some(resolve.take().map(|r| r(&host, port)).unwrap_or_default());
        }
        cache.clone().unwrap_or_default()
    };
    let lists_addresses = has_address(&rules.production) || has_address(&rules.allow);
    let known = addrs(lists_addresses || is_loopback_name(&host));
    let all_loopback = |a: &[IpAddr]| !a.is_empty() && a.iter().all(IpAddr::is_loopback);
    let consent = if let Some(entry) = listed(&rules.production, &host, &known) {
        if !rules.production_ok {
            let entry = entry.to_string();
            return Err(ConsentError::Production { host, entry });
        }
        Consent::Production
    } else if is_loopback_name(&host) && all_loopback(&known) {
        return Ok(Consent::Loopback);
    } else if listed(&rules.allow, &host, &known).is_some() {
        Consent::Allowed
    } else {
        return Err(ConsentError::NotNamed { host });
    };
    if plain && !rules.plain_http_ok && !all_loopback(&addrs(true)) {
        return Err(ConsentError::PlainHttp {
            url: url.to_string(),
            host,
        });
    }
    Ok(consent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lo(_: &str, _: u16) -> Vec<IpAddr> {
        vec!["127.0.0.1".parse().expect("address")]
    }

    fn never(host: &str, _: u16) -> Vec<IpAddr> {
        panic!("{host} resolved when no address decides")
    }

    fn rules(allow: &[&str], production: &[&str]) -> Rules {
        Rules {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            production: production.iter().map(|s| s.to_string()).collect(),
            ..Rules::default()
        }
    }

    #[test]
    fn loopback_needs_nothing_and_a_name_that_leads_there_does() {
        let none = Rules::default();
        assert_eq!(
            judge("http://127.0.0.1:8080", &none, lo),
            Ok(Consent::Loopback)
        );
        assert_eq!(
            judge("http://[::1]:8080/x", &none, |_, _| vec![
                "::1".parse().unwrap()
            ]),
            Ok(Consent::Loopback)
        );
        assert_eq!(
            judge("http://localhost:1", &none, lo),
            Ok(Consent::Loopback)
        );
        // `localhost` that resolves off loopback is not loopback.
        let off = |_: &str, _: u16| vec!["10.1.2.3".parse().unwrap()];
        assert!(judge("https://localhost", &none, off).is_err());
        // A name, even one that resolves to loopback (`--resolve`), must be given.
        let e = judge("http://rc-gateway.test:9000", &none, never).unwrap_err();
        assert_eq!(
            e,
            ConsentError::NotNamed {
                host: "rc-gateway.test".into()
            }
        );
        assert!(e.to_string().contains("--allow-target rc-gateway.test"));
    }

    #[test]
    fn a_named_host_goes_through_over_https_and_plain_http_needs_its_flag() {
        let r = rules(&["RC-Gateway.test"], &[]);
        assert_eq!(
            judge("https://rc-gateway.test:8443", &r, never),
            Ok(Consent::Allowed)
        );
        let off = |_: &str, _: u16| vec!["10.1.2.3".parse().unwrap()];
        let e = judge("http://rc-gateway.test:9000", &r, off).unwrap_err();
        assert!(matches!(e, ConsentError::PlainHttp { .. }), "{e}");
        // Unencrypted is fine to a name pinned to loopback (`--resolve`).
        assert_eq!(
            judge("http://rc-gateway.test:9000", &r, lo),
            Ok(Consent::Allowed)
        );
        let r = Rules {
            plain_http_ok: true,
            ..r
        };
        assert_eq!(
            judge("http://rc-gateway.test:9000", &r, off),
            Ok(Consent::Allowed)
        );
        // An allowed address lets through every name that resolves to it.
        let r = rules(&["10.1.2.3"], &[]);
        let to = |_: &str, _: u16| vec!["10.1.2.3".parse().unwrap()];
        assert_eq!(judge("https://gw.example", &r, to), Ok(Consent::Allowed));
        let elsewhere = |_: &str, _: u16| vec!["10.9.9.9".parse().unwrap()];
        assert!(judge("https://gw.example", &r, elsewhere).is_err());
    }

    #[test]
    fn production_is_refused_by_name_or_address_unless_said() {
        let r = rules(&["gw.example"], &["gw.example"]);
        let e = judge("https://gw.example", &r, never).unwrap_err();
        assert!(matches!(e, ConsentError::Production { .. }), "{e}");
        assert!(e.to_string().contains("--production"));
        let r = Rules {
            production_ok: true,
            ..r
        };
        assert_eq!(
            judge("https://gw.example", &r, never),
            Ok(Consent::Production)
        );
        // Listed by address, reached by another name.
        let r = rules(&["other.example"], &["10.1.2.3"]);
        let to = |_: &str, _: u16| vec!["10.1.2.3".parse().unwrap()];
        assert!(judge("https://other.example", &r, to).is_err());
        assert_eq!(
            judge("data:text/plain,x", &r, never),
            Err(ConsentError::NoHost("data:text/plain,x".into()))
        );
    }
}
