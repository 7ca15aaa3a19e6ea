//! What a misbehaving client cannot do to the mock: hold a connection by sending its headers
//! one byte at a time (a slow loris: cut at the header timeout), or open more connections than
//! the cap (each one over is closed at once); both are counted in `/metrics`.

use rcload_mock::{ConnLimits, MockConfig, MockHandle};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(limits: ConnLimits) -> MockHandle {
    let config = MockConfig {
        limits,
        ..MockConfig::default()
    };
    rcload_mock::spawn("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("mock")
}

/// `rcload_mock_connections_cut_total{reason}` once the server has counted it (the cut is
/// counted as the connection's task ends; the scrape retries for a few seconds).
async fn cuts(h: &MockHandle, reason: &str, want: f64) -> f64 {
    let series = format!("rcload_mock_connections_cut_total{{reason=\"{reason}\"}} ");
    let mut seen = f64::NAN;
    for _ in 0..50 {
        let got = async {
            let text = reqwest::get(format!("http://{}/metrics", h.addr))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.lines()
                .find_map(|l| l.strip_prefix(&series)?.parse::<f64>().ok())
        };
        if let Some(v) = got.await {
            seen = v;
            if v >= want {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

/// Whether the server closed `tcp` (reading until the end; what it sends first is read).
async fn closed_within(tcp: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        let read = tokio::time::timeout(Duration::from_millis(100), tcp.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): waits for a real timeout"]
async fn a_slow_loris_is_cut_at_the_header_timeout_and_counted() {
    let timeout = Duration::from_secs(1);
    let h = start(ConnLimits {
        header_timeout: timeout,
        ..ConnLimits::default()
    })
    .await;
    let mut tcp = TcpStream::connect(h.addr).await.expect("connect");
    let start = Instant::now();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: mock\r\nX-Slow: ")
        .await
        .expect("write");
    // One byte of a header that never ends, every 100 ms, for at most 20 s.
    let mut closed = None;
    while start.elapsed() < Duration::from_secs(20) {
        if tcp.write_all(b"a").await.is_err()
            || closed_within(&mut tcp, Duration::from_millis(100)).await
        {
            closed = Some(start.elapsed());
            break;
        }
    }
    let closed = closed.expect("the slow client was still connected after 20 s");
    eprintln!("slow loris: closed after {closed:?} (header timeout {timeout:?})");
    assert!(
        closed >= timeout - Duration::from_millis(100),
        "closed before the timeout: {closed:?}"
    );
    assert_eq!(cuts(&h, "header_timeout", 1.0).await, 1.0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): waits for connections to close"]
async fn a_connection_over_the_cap_is_closed_at_once_and_counted() {
    let h = start(ConnLimits {
        max_connections: 2,
        ..ConnLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(h.addr).await.expect("connect"));
    }
    // The server counts a connection when it accepts it: give it the two first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(h.addr).await.expect("connect");
    assert!(
        closed_within(&mut third, Duration::from_secs(10)).await,
        "the connection over the cap stayed open"
    );
    // The held ones still work.
    held[0]
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: mock\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 64];
    let n = held[0].read(&mut buf).await.expect("read");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    drop(held);
    assert_eq!(cuts(&h, "connection_cap", 1.0).await, 1.0);
    h.shutdown().await;
}
