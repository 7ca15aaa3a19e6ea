//! Proxies only when said: `--proxy URL` sends every connection through a local proxy; the
//! environment's `HTTP_PROXY` is ignored unless `--proxy-from-env`. The proxy here is a small
//! forwarding proxy on loopback that counts the connections it carried.

use crate::common;
use common::{TempDir, rcload_env, summary};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A forwarding proxy on a loopback port: it reads a request in absolute form (`GET
/// http://host:port/path HTTP/1.1`), connects to that host, sends the request on in origin
/// form and then copies both ways; or a `CONNECT host:port` (https, WebSocket), answered 200
/// and then a tunnel. It counts the connections it carried. It takes any credentials.
pub(crate) struct Proxy {
    pub(crate) url: String,
    carried: Arc<AtomicUsize>,
    tunnels: Arc<AtomicUsize>,
}

async fn forward(
    client: TcpStream,
    carried: Arc<AtomicUsize>,
    tunnels: Arc<AtomicUsize>,
) -> Option<()> {
    let mut client = BufReader::new(client);
    let mut line = String::new();
    client.read_line(&mut line).await.ok()?;
    let mut parts = line.split_whitespace();
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if method == "CONNECT" {
        // The rest of the head, then a tunnel.
        loop {
            let mut h = String::new();
            if client.read_line(&mut h).await.ok()? == 0 {
                return None;
            }
            if h == "\r\n" {
                break;
            }
        }
        let mut upstream = TcpStream::connect(target).await.ok()?;
        carried.fetch_add(1, Ordering::Relaxed);
        tunnels.fetch_add(1, Ordering::Relaxed);
        let mut client = client.into_inner();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .ok()?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream)
            .await
            .ok()?;
        return Some(());
    }
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
    pub(crate) fn start(rt: &tokio::runtime::Runtime) -> Proxy {
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let carried = Arc::new(AtomicUsize::new(0));
        let tunnels = Arc::new(AtomicUsize::new(0));
        let (count, tunnel_count) = (Arc::clone(&carried), Arc::clone(&tunnels));
        rt.spawn(async move {
            while let Ok((c, _)) = listener.accept().await {
                tokio::spawn(forward(c, Arc::clone(&count), Arc::clone(&tunnel_count)));
            }
        });
        Proxy {
            url,
            carried,
            tunnels,
        }
    }

    pub(crate) fn carried(&self) -> usize {
        self.carried.load(Ordering::Relaxed)
    }

    /// The CONNECT tunnels among them.
    pub(crate) fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::Relaxed)
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

/// A transparent forwarder in front of the mock that tells request connections from event
/// streams (by their first request) and keeps the most request connections busy at once: a
/// connection is busy from the client's bytes until the answer's bytes go back.
struct Meter {
    url: String,
    most_busy: Arc<AtomicUsize>,
}

impl Meter {
    fn start(rt: &tokio::runtime::Runtime, upstream: &str) -> Meter {
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream.trim_start_matches("http://").to_string();
        let most_busy = Arc::new(AtomicUsize::new(0));
        let busy_now = Arc::new(AtomicUsize::new(0));
        let most = Arc::clone(&most_busy);
        rt.spawn(async move {
            while let Ok((c, _)) = listener.accept().await {
                let (up, most, now) = (upstream.clone(), Arc::clone(&most), Arc::clone(&busy_now));
                tokio::spawn(async move {
                    if let Ok(u) = TcpStream::connect(&up).await {
                        meter(c, u, most, now).await;
                    }
                });
            }
        });
        Meter { url, most_busy }
    }
}

async fn meter(
    client: TcpStream,
    upstream: TcpStream,
    most: Arc<AtomicUsize>,
    now: Arc<AtomicUsize>,
) {
    use std::sync::atomic::AtomicBool;
    use tokio::io::AsyncReadExt;
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let busy = Arc::new(AtomicBool::new(false));
    let stream = Arc::new(AtomicBool::new(false));
    let (b, s, n) = (Arc::clone(&busy), Arc::clone(&stream), Arc::clone(&now));
    let up = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut first = true;
        while let Ok(k) = cr.read(&mut buf).await {
            if k == 0 {
                break;
            }
            if first {
                first = false;
                let head = String::from_utf8_lossy(&buf[..k]);
                s.store(head.contains("/events"), Ordering::SeqCst);
            }
            if !s.load(Ordering::SeqCst) && !b.swap(true, Ordering::SeqCst) {
                let busy_now = n.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(busy_now, Ordering::SeqCst);
            }
            if uw.write_all(&buf[..k]).await.is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(k) = ur.read(&mut buf).await {
        if k == 0 || cw.write_all(&buf[..k]).await.is_err() {
            break;
        }
        // Marked idle once the answer is on its way back: before the client can send again.
        if !stream.load(Ordering::SeqCst) && busy.swap(false, Ordering::SeqCst) {
            now.fetch_sub(1, Ordering::SeqCst);
        }
    }
    up.abort();
    if busy.swap(false, Ordering::SeqCst) {
        now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `--max-connections-per-host 2`: statuses at 40/s against a mock that takes 100 ms for each
/// keep no more than 2 request connections busy at once (4 or so without the cap); the
/// requests that waited count as throttled, so the verdict is invalid, and the warnings say
/// how many waited.
#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn the_connection_cap_keeps_a_host_to_its_connections() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let d = TempDir::new("conncap");
    d.write("p.yaml", &common::small_profile("conncap-test"));
    let faults = d.write(
        "faults.yaml",
        "faults:\n  - { at: 0s, kind: delay, op: terminal.status, ms: 100 }\n",
    );
    let faults = faults.display().to_string();
    let (mut mock, url) = common::start_mock_with(&["--faults", &faults], &[]);
    let (open, capped) = (Meter::start(&rt, &url), Meter::start(&rt, &url));
    let run = |out: &str, target: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            "p.yaml",
            "--target",
            target,
            "--out",
            out,
            "--set",
            "traffic.0.rate=40/s",
        ];
        args.extend_from_slice(extra);
        common::rcload_in(d.path(), &args)
    };
    let free = run("free", &open.url, &[]);
    let held = run("held", &capped.url, &["--max-connections-per-host", "2"]);
    let _ = mock.kill();
    let _ = mock.wait();
    free.expect_code(0);
    held.expect_code(4);
    let (most_free, most_held) = (
        open.most_busy.load(Ordering::SeqCst),
        capped.most_busy.load(Ordering::SeqCst),
    );
    assert!(
        most_free > 2,
        "without a cap only {most_free} busy at once\n{free}"
    );
    assert!(
        most_held <= 2,
        "{most_held} request connections busy at once\n{held}"
    );
    let s = summary(&d.path().join("held"));
    eprintln!(
        "request connections busy at once: {most_free} without a cap, {most_held} with 2; \
         throttled {}",
        s.generator.throttled
    );
    assert!(s.generator.throttled > 0, "{held}");
    assert!(
        s.warnings
            .iter()
            .any(|w| w.starts_with("At most 2 connections per host")
                && w.contains("counted as throttled")),
        "{:?}",
        s.warnings
    );
    let info = std::fs::read_to_string(d.path().join("held/run.json")).expect("run.json");
    assert!(info.contains("\"max_connections_per_host\": 2"), "{info}");
}
