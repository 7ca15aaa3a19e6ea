use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

fn config(addrs: Vec<SocketAddr>) -> PlainConfig {
    PlainConfig {
        addrs,
        bind: None,
        host: "gw.test:8080".into(),
        prefix: String::new(),
        authorization: None,
        timeout: Duration::from_secs(5),
        max_idle: usize::MAX,
        idle_timeout: IDLE_TIMEOUT,
        max_answer: 1 << 20,
    }
}

#[test]
fn a_request_is_its_head_and_body_in_one_piece() {
    let mut c = config(vec![]);
    c.prefix = "/gw".into();
    c.authorization = Some(crate::targets::auth::Secret("Bearer s3cret".into()));
    assert!(!format!("{c:?}").contains("s3cret"), "the token in Debug");
    let client = PlainHttp::new(c);
    assert_eq!(
        String::from_utf8_lossy(&client.encode("POST", "/v1/terminals/7/status", Some(b"{}"))),
        "POST /gw/v1/terminals/7/status HTTP/1.1\r\nhost: gw.test:8080\r\naccept: */*\r\n\
         authorization: Bearer s3cret\r\ncontent-type: application/json\r\n\
         content-length: 2\r\n\r\n{}"
    );
    let client = PlainHttp::new(config(vec![]));
    assert_eq!(
        String::from_utf8_lossy(&client.encode("GET", "/v1/consoles/c 1/talkgroups", None)),
        "GET /v1/consoles/c%201/talkgroups HTTP/1.1\r\nhost: gw.test:8080\r\naccept: */*\r\n\r\n"
    );
    // A method other than GET says its empty body's length.
    assert_eq!(
        String::from_utf8_lossy(&client.encode("DELETE", "/v1/calls/é", None)),
        "DELETE /v1/calls/%C3%A9 HTTP/1.1\r\nhost: gw.test:8080\r\naccept: */*\r\n\
         content-length: 0\r\n\r\n"
    );
}

/// What the test server does with each connection, by its number (0 first).
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers every request, keeping the connection.
    Answer,
    /// Answers one request, then closes.
    AnswerOnceThenClose,
    /// Reads a request, answers it, then reads the next and closes without an answer.
    AnswerOnceThenDropTheNext,
    /// Reads requests and answers none.
    Silent,
}

struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

/// A loopback server on port 0 whose first connection behaves as `first` and the rest
/// answer every request.
async fn server(first: Behaviour) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let (c, r) = (connections.clone(), requests.clone());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let how = if c.fetch_add(1, Ordering::SeqCst) == 0 {
                first
            } else {
                Behaviour::Answer
            };
            let r = r.clone();
            tokio::spawn(async move {
                let mut answered = 0;
                let mut buf = vec![0u8; 4096];
                // One read is one request: the client writes each whole, one at a time.
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    r.fetch_add(1, Ordering::SeqCst);
                    match how {
                        Behaviour::Silent => continue,
                        Behaviour::AnswerOnceThenDropTheNext if answered == 1 => return,
                        _ => {}
                    }
                    let body = format!("{{\"n\":{answered}}}");
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                    if s.write_all(format!("{head}{body}").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                    answered += 1;
                    if matches!(how, Behaviour::AnswerOnceThenClose) {
                        return;
                    }
                }
            });
        }
    });
    Server {
        addr,
        connections,
        requests,
    }
}

async fn ok(client: &PlainHttp) -> String {
    let a = client.send("GET", "/v1/x", None).await.expect("an answer");
    assert_eq!(a.status, 200);
    String::from_utf8_lossy(&a.body).into_owned()
}

#[tokio::test]
async fn a_kept_connection_carries_the_next_requests() {
    let s = server(Behaviour::Answer).await;
    let client = PlainHttp::new(config(vec![s.addr]));
    for n in 0..3 {
        assert_eq!(ok(&client).await, format!("{{\"n\":{n}}}"));
    }
    assert_eq!(s.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_the_target_closed_while_idle_is_left() {
    let s = server(Behaviour::AnswerOnceThenClose).await;
    let client = PlainHttp::new(config(vec![s.addr]));
    ok(&client).await;
    // The close reaches the client's runtime before the next request.
    tokio::time::sleep(Duration::from_millis(50)).await;
    ok(&client).await;
    assert_eq!(s.connections.load(Ordering::SeqCst), 2);
    assert_eq!(s.requests.load(Ordering::SeqCst), 2, "sent once each");
}

#[tokio::test]
async fn an_idempotent_request_unanswered_on_a_reused_connection_goes_once_more() {
    let s = server(Behaviour::AnswerOnceThenDropTheNext).await;
    let client = PlainHttp::new(config(vec![s.addr]));
    ok(&client).await;
    assert_eq!(
        ok(&client).await,
        "{\"n\":0}",
        "answered by the second connection"
    );
    assert_eq!(s.connections.load(Ordering::SeqCst), 2);
    assert_eq!(s.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_post_unanswered_on_a_reused_connection_is_a_connect_error_not_sent_again() {
    let s = server(Behaviour::AnswerOnceThenDropTheNext).await;
    let client = PlainHttp::new(config(vec![s.addr]));
    ok(&client).await;
    let e = client
        .send("POST", "/v1/terminals/7/status", Some(b"{}"))
        .await;
    assert!(
        matches!(&e, Err(TargetError::Connect(m)) if m.contains("before an answer")),
        "{e:?}"
    );
    assert_eq!(s.connections.load(Ordering::SeqCst), 1);
    assert_eq!(
        s.requests.load(Ordering::SeqCst),
        2,
        "the target may have acted on it"
    );
}

#[tokio::test]
async fn a_silent_target_is_a_timeout_and_a_closed_port_a_connect_error() {
    let s = server(Behaviour::Silent).await;
    let mut c = config(vec![s.addr]);
    c.timeout = Duration::from_millis(100);
    let client = PlainHttp::new(c);
    assert_eq!(
        client.send("GET", "/v1/x", None).await,
        Err(TargetError::Timeout)
    );
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let client = PlainHttp::new(config(vec![closed]));
    let e = client.send("GET", "/v1/x", None).await;
    assert!(
        matches!(&e, Err(TargetError::Connect(m)) if m.contains(&closed.to_string())),
        "{e:?}"
    );
}

#[tokio::test]
async fn idle_connections_are_kept_up_to_the_cap() {
    let s = server(Behaviour::Answer).await;
    let mut c = config(vec![s.addr]);
    c.max_idle = 1;
    let client = PlainHttp::new(c);
    let (a, b) = tokio::join!(ok(&client), ok(&client));
    assert_eq!((a.as_str(), b.as_str()), ("{\"n\":0}", "{\"n\":0}"));
    assert_eq!(s.connections.load(Ordering::SeqCst), 2);
    assert_eq!(client.idle.lock().map(|i| i.len()).unwrap_or(0), 1);
}

#[tokio::test]
async fn a_connection_left_idle_past_its_time_is_closed_while_others_are_in_use() {
    let s = server(Behaviour::Answer).await;
    let mut c = config(vec![s.addr]);
    c.idle_timeout = Duration::from_millis(300);
    let client = PlainHttp::new(c);
    // A burst opens two connections; then one at a time uses only the most recent.
    tokio::join!(ok(&client), ok(&client));
    assert_eq!(client.idle.lock().map(|i| i.len()).unwrap_or(0), 2);
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        ok(&client).await;
    }
    assert_eq!(s.connections.load(Ordering::SeqCst), 2);
    assert_eq!(
        client.idle.lock().map(|i| i.len()).unwrap_or(0),
        1,
        "the connection the burst left idle is closed"
    );
}
