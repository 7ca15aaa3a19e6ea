//! Proxies only when said: `--proxy URL` sends every connection through a local proxy; the
//! environment's `HTTP_PROXY` is ignored unless `--proxy-from-env`. The proxy here is a small
//! forwarding proxy on loopback that counts the connections it carried.

use crate::common;
use common::{TempDir, rcload_env, summary};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A forwarding proxy for plain http on a loopback port: it reads a request in absolute form
/// (`GET http://host:port/path HTTP/1.1`), connects to that host, sends the request on in
/// origin form and then copies both ways. It counts the connections it carried.
struct Proxy {
    url: String,
    carried: Arc<AtomicUsize>,
}

async fn forward(client: TcpStream, carried: Arc<AtomicUsize>) -> Option<()> {
    let mut client = BufReader::new(client);
    let mut line = String::new();
    client.read_line(&mut line).await.ok()?;
    let mut parts = line.split_whitespace();
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let rest = target.strip_prefix("http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut upstream = TcpStream::connect(authority).await.ok()?;
    carried.fetch_add(1, Ordering::Relaxed);
    upstream
        .write_all(format!("{method} {path} {version}\r\n").as_bytes())
        .await
        .ok()?;
    // What the client sent after the request line (the rest of the head, any body) follows
    // as it comes; later requests on the connection go through as they are (origin servers
    // accept the absolute form).
    let buffered = client.buffer().to_vec();
    upstream.write_all(&buffered).await.ok()?;
    let mut client = client.into_inner();
    tokio::io::copy_bidirectional(&mut client, &mut upstream)
        .await
        .ok()?;
    Some(())
}

impl Proxy {
    fn start(rt: &tokio::runtime::Runtime) -> Proxy {
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let carried = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&carried);
        rt.spawn(async move {
            while let Ok((c, _)) = listener.accept().await {
                tokio::spawn(forward(c, Arc::clone(&count)));
            }
        });
        Proxy { url, carried }
    }

    fn carried(&self) -> usize {
        self.carried.load(Ordering::Relaxed)
    }
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_proxy_is_used_when_named_and_the_environments_only_when_asked() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let named = Proxy::start(&rt);
    let from_env = Proxy::start(&rt);
    let d = TempDir::new("proxy");
    d.write("p.yaml", &common::small_profile("proxy-test"));
    let (mut mock, url) = common::start_mock();
    let env = [
        ("HTTP_PROXY", from_env.url.as_str()),
        ("http_proxy", from_env.url.as_str()),
    ];
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", "p.yaml", "--target", url.as_str(), "--out", out];
        args.extend_from_slice(extra);
        rcload_env(d.path(), &args, &env)
    };
    // The environment names a proxy; without a flag it is not used.
    let direct = run("direct", &[]);
    let through = run("through", &["--proxy", named.url.as_str()]);
    let (env_before, named_after) = (from_env.carried(), named.carried());
    let via_env = run("via-env", &["--proxy-from-env"]);
    let _ = mock.kill();
    let _ = mock.wait();
    for r in [&direct, &through, &via_env] {
        r.expect_code(0);
    }
    assert_eq!(
        env_before, 0,
        "the environment's proxy was used unasked\n{direct}"
    );
    assert!(named_after > 0, "--proxy carried nothing\n{through}");
    assert!(
        from_env.carried() > 0,
        "--proxy-from-env carried nothing\n{via_env}"
    );
    let s = summary(&d.path().join("through"));
    let proxy_host = named.url.trim_start_matches("http://");
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("Reached through proxy") && w.contains(proxy_host)),
        "{:?}",
        s.warnings
    );
}
