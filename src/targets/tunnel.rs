//! The TCP connections rcload opens itself (a WebSocket event channel): to a pinned address
//! (`--resolve`) or what the name resolves to, from `--bind`, and through the run's proxy by
//! an HTTP `CONNECT` tunnel, as reqwest does for its own connections.

use super::transport::{Proxy, Transport, TransportError};
use base64::Engine;
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The longest proxy answer head read.
const MAX_PROXY_HEAD: usize = 8 * 1024;

impl Transport {
    /// A TCP connection towards `url`'s host (a `ws://` or `wss://` URL): through the proxy's
    /// tunnel when the run has one for it, else straight to the host.
    pub async fn open_tcp(&self, url: &str) -> io::Result<TcpStream> {
        let (host, port) = super::transport::host_port(url)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host in the URL"))?;
        match self.proxy_for(url, &host) {
            None => self.connect(&host, port).await,
            Some(proxy) => {
                let p = reqwest::Url::parse(&proxy)
                    .map_err(|_| other(TransportError::Proxy(proxy.clone()).to_string()))?;
                if p.scheme() != "http" {
                    return Err(other(format!(
                        "the proxy {}: only an http:// proxy carries a WebSocket tunnel",
                        super::transport::without_password(&proxy)
                    )));
                }
                let (phost, pport) = super::transport::host_port(p.as_str()).ok_or_else(|| {
                    other(format!(
                        "the proxy URL has no host: {}",
                        p.host_str().unwrap_or("")
                    ))
                })?;
                let tcp = self.connect(&phost, pport).await?;
                tunnel(tcp, &p, &host, port).await
            }
        }
    }

    /// The proxy URL the run uses for `url`, if any: `--proxy`, or with `--proxy-from-env`
    /// the environment's (`https_proxy` for wss, `http_proxy` for ws, `all_proxy`; a host
    /// matched by `no_proxy` goes straight).
    fn proxy_for(&self, url: &str, host: &str) -> Option<String> {
        match &self.proxy {
            Proxy::None => None,
            Proxy::Url(u) => Some(u.clone()),
            Proxy::FromEnv => {
                let var = |names: &[&str]| {
                    names
                        .iter()
                        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
                };
                let no_proxy = var(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
                if no_proxy_matches(&no_proxy, host) {
                    return None;
                }
                let secure = url.starts_with("wss://") || url.starts_with("https://");
                let names: &[&str] = if secure {
                    &["HTTPS_PROXY", "https_proxy"]
                } else {
                    &["HTTP_PROXY", "http_proxy"]
                };
                var(names).or_else(|| var(&["ALL_PROXY", "all_proxy"]))
            }
        }
    }

    /// `host:port` straight: a pinned address, an address as written, or each address the
    /// name resolves to in turn; from the `--bind` address when there is one.
    async fn connect(&self, host: &str, port: u16) -> io::Result<TcpStream> {
        let addrs: Vec<SocketAddr> = match self.pin(host, port) {
            Some(p) => vec![SocketAddr::new(p.addr, p.port)],
            None => tokio::net::lookup_host((host, port)).await?.collect(),
        };
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} does not resolve"));
        for addr in addrs {
            let socket = if addr.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            if let Some(b) = self.bind {
                socket.bind(SocketAddr::new(b, 0))?;
            }
            match socket.connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

fn other(text: String) -> io::Error {
    io::Error::other(text)
}

/// `CONNECT host:port` on a connection to the proxy `proxy` (its user and password, if any,
/// as Basic `Proxy-Authorization`); the stream once the proxy answers 2xx.
async fn tunnel(
    mut tcp: TcpStream,
    proxy: &reqwest::Url,
    host: &str,
    port: u16,
) -> io::Result<TcpStream> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if !proxy.username().is_empty() {
        let user = percent_decoded(proxy.username());
        let password = percent_decoded(proxy.password().unwrap_or_default());
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        head.push_str(&format!("Proxy-Authorization: Basic {basic}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).await?;
    // The answer's head, byte by byte: nothing of the tunnelled stream is read with it.
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() >= MAX_PROXY_HEAD {
            return Err(other("the proxy's answer to CONNECT has no end".into()));
        }
        let mut b = [0u8; 1];
        if tcp.read(&mut b).await? == 0 {
            return Err(other("the proxy closed the connection at CONNECT".into()));
        }
        answer.push(b[0]);
    }
    let status_line = String::from_utf8_lossy(&answer);
    let status_line = status_line.lines().next().unwrap_or_default();
    match status_line.split_whitespace().nth(1) {
        Some(code) if code.starts_with('2') => Ok(tcp),
        _ => Err(other(format!(
            "the proxy refused the tunnel to {authority}: {status_line}"
        ))),
    }
}

/// `%XX` sequences of a URL's user or password decoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `no_proxy` (comma-separated names, `.suffix` or `*`) covers `host`.
fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    no_proxy.split(',').map(str::trim).any(|n| {
        let n = n.trim_start_matches('.').to_ascii_lowercase();
        !n.is_empty()
            && (n == "*"
                || host.eq_ignore_ascii_case(&n)
                || host.to_ascii_lowercase().ends_with(&format!(".{n}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_covers_names_and_their_subdomains() {
        assert!(no_proxy_matches("localhost, .lab.test", "gw.lab.test"));
        assert!(no_proxy_matches("lab.test", "LAB.test"));
        assert!(no_proxy_matches("*", "anything"));
        assert!(!no_proxy_matches("lab.test", "notlab.test"));
        assert!(!no_proxy_matches("", "gw"));
    }

    #[test]
    fn proxy_credentials_are_decoded() {
        assert_eq!(percent_decoded("us%40er"), "us@er");
        assert_eq!(percent_decoded("p%3Ass%zz"), "p:ss%zz");
    }

    /// A proxy on loopback that answers CONNECT with 200 and then echoes; and one that
    /// refuses with 407.
    #[tokio::test]
    async fn a_tunnel_opens_through_a_proxy_and_a_refusal_is_named() {
        use tokio::io::{AsyncBufReadExt, BufReader};
        async fn proxy(answer: &'static str) -> (String, tokio::task::JoinHandle<String>) {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://user:p%40ss@{}", l.local_addr().unwrap());
            let h = tokio::spawn(async move {
                let (s, _) = l.accept().await.unwrap();
                let mut s = BufReader::new(s);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    s.read_line(&mut line).await.unwrap();
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                s.get_mut().write_all(answer.as_bytes()).await.unwrap();
                let mut buf = [0u8; 5];
                if s.read_exact(&mut buf).await.is_ok() {
                    s.get_mut().write_all(&buf).await.unwrap();
                }
                head
            });
            (url, h)
        }
        let (url, head) = proxy("HTTP/1.1 200 Connection established\r\n\r\n").await;
        let t = Transport {
            proxy: Proxy::Url(url),
            ..Transport::default()
        };
        let mut s = t
            .open_tcp("wss://gw.lab.test:9443/x")
            .await
            .expect("tunnel");
        s.write_all(b"hello").await.unwrap();
        let mut back = [0u8; 5];
        s.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"hello");
        let head = head.await.unwrap();
        assert!(
            head.starts_with("CONNECT gw.lab.test:9443 HTTP/1.1\r\n"),
            "{head}"
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("user:p@ss");
        assert!(
            head.contains(&format!("Proxy-Authorization: Basic {basic}")),
            "{head}"
        );

        let (url, _) = proxy("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await;
        let t = Transport {
            proxy: Proxy::Url(url),
            ..Transport::default()
        };
        let e = t
            .open_tcp("ws://gw.lab.test:80/x")
            .await
            .expect_err("refused");
        assert!(e.to_string().contains("407"), "{e}");
    }
}
