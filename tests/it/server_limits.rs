//! Connections that never finish (hole 6) and bodies over the cap: a real server on
//! 127.0.0.1 and raw TCP clients that trickle, idle or stop half way.

use crate::util::server::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the server sends before closing, read until EOF (or `within` passes: `None`).
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&out).into_owned())
}

async fn connect(t: &TestServer) -> TcpStream {
    TcpStream::connect(t.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_are_closed_after_the_header_timeout() {
    let t = TestServer::start(|c| c.http.header_read_timeout = Duration::from_millis(300)).await;
    let mut idle = connect(&t).await;
    let mut trickle = connect(&t).await;
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Well past the timeout, both are closed by the server (not by this test's deadline).
    assert!(read_until_closed(&mut idle, Duration::from_secs(10))
        .await
        .is_some());
    assert!(read_until_closed(&mut trickle, Duration::from_secs(10))
        .await
        .is_some());
    // A keep-alive connection that goes quiet after a request is closed too.
    let mut quiet = connect(&t).await;
    quiet
        .write_all(b"GET /v1/time HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut quiet, Duration::from_secs(10))
        .await
        .expect("closed once idle");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_body_is_cut_off_after_the_body_timeout() {
    let t = TestServer::start(|c| c.http.body_read_timeout = Duration::from_millis(300)).await;
    let mut s = connect(&t).await;
    // Authorised, so the handler reads the body: without a token the answer would be a 401
    // before any of the body is read, and the body timeout would never be reached.
    let head = format!(
        "POST /v1/classes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"class_id\":"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(10))
        .await
        .expect("the server gives up on the body");
    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");
    assert!(
        !answer.starts_with("HTTP/1.1 401"),
        "the request was authorised, so the body was waited for: {answer}"
    );
    let (st, classes) = t.get("/v1/admin/classes", Some(ADMIN)).await;
    assert_eq!(st, 200, "the server still serves");
    assert!(
        !classes.to_string().contains("class_id\":\""),
        "nothing was created from half a body: {classes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let t = TestServer::start(|c| c.http.max_connections = 2).await;
    let a = connect(&t).await;
    let b = connect(&t).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(700))
        .build()
        .unwrap();
    let url = format!("{}/v1/time", t.base);
    assert!(
        quick.get(&url).send().await.is_err(),
        "a third connection is not served"
    );
    drop(a);
    drop(b);
    let res = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_client_that_never_finishes_its_request() {
    let mut t = TestServer::start(|c| {
        c.http.header_read_timeout = Duration::from_secs(600);
        c.http.body_read_timeout = Duration::from_secs(600);
        c.http.drain = Duration::from_millis(500);
    })
    .await;
    let mut headers = connect(&t).await;
    headers
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut body = connect(&t).await;
    body.write_all(b"POST /v1/classes HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Both clients are still connected and silent; the server stops anyway.
    tokio::time::timeout(Duration::from_secs(30), t.stop())
        .await
        .expect("shutdown finished without the clients");
    assert!(read_until_closed(&mut headers, Duration::from_secs(5))
        .await
        .is_some());
    assert!(read_until_closed(&mut body, Duration::from_secs(5))
        .await
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_refused_before_it_is_read_whole() {
    let t = TestServer::start(|c| c.max_body_bytes = 4096).await;
    let v = t.create_class("c1", "g1", "teacher_li", false).await;
    for (path, token) in [
        ("/v1/classes/c1/timeline", Some(v.as_str())),
        ("/v1/callbacks/recording", None),
        ("/v1/classes", Some(ADMIN)),
    ] {
        // A declared 10 MB, of which only 1 KiB is ever sent.
        let mut s = connect(&t).await;
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&[b' '; 1024]).await.unwrap();
        let mut buf = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("answered without the rest of the body")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        // Chunked, no length: refused once the cap is passed, the rest never sent.
        let mut s = connect(&t).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        for _ in 0..3 {
            s.write_all(format!("800\r\n{}\r\n", " ".repeat(0x800)).as_bytes())
                .await
                .unwrap();
        }
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("answered without the rest of the body")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{path} chunked: {answer}"
        );
    }
}

/// A connection to the test server from another loopback address (Linux routes all of
/// 127/8 to the loopback interface): another source, as far as the server can tell.
async fn connect_from(t: &TestServer, source: &str) -> TcpStream {
    let addr: std::net::SocketAddr = t.base.trim_start_matches("http://").parse().unwrap();
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind(format!("{source}:0").parse().unwrap()).unwrap();
    s.connect(addr).await.unwrap()
}

async fn metric(t: &TestServer, name: &str) -> Option<u64> {
    let text = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
}

/// Issue 27, hole 9: about 1,100 idle sockets from one address held every connection the
/// server serves, and every other client waited. With the default cap per source, one
/// address holds at most half of them; the rest are answered 429 and closed, and everyone
/// else is served. (The server's own cap is lowered to 600 so that the test holds fewer
/// sockets; the per-source cap is the default.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    let t = TestServer::start(|c| {
        c.http.max_connections = 600;
        c.http.header_read_timeout = Duration::from_secs(600);
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..600 {
        idle.push(connect_from(&t, "127.0.0.2").await);
    }
    // Another address is served while they are all held (the server's own 600 included:
    // before, this request waited in the backlog until they closed).
    let res = t
        .http
        .get(format!("{}/v1/time", t.base))
        .send()
        .await
        .expect("another address is served");
    assert_eq!(res.status(), 200);
    let refused = metric(&t, "replaydesk_connections_refused_total").await;
    assert_eq!(
        refused,
        Some(600 - 512),
        "the default cap is 512 per source"
    );
    // Those over the cap got a JSON 429 and were closed; the others are still open.
    let mut reads = tokio::task::JoinSet::new();
    for mut s in idle {
        reads.spawn(async move { read_until_closed(&mut s, Duration::from_secs(3)).await });
    }
    let answers: Vec<Option<String>> = reads.join_all().await;
    let closed: Vec<&String> = answers.iter().flatten().collect();
    assert_eq!(closed.len(), 600 - 512);
    for a in closed {
        assert!(a.starts_with("HTTP/1.1 429"), "{a}");
        assert!(a.contains("\"error\":\"too_many_connections\""), "{a}");
        assert!(a.to_ascii_lowercase().contains("retry-after: 1"), "{a}");
    }
}

/// Behind a trusted proxy every client comes from the proxy's address: its connections are
/// not capped by it; each request counts, while in flight, against the address the proxy
/// forwarded. An `X-Forwarded-For` from anyone else is not believed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_counts_by_the_forwarded_address() {
    let t = TestServer::start(|c| {
        c.http.connections_per_source = 2;
        c.http.body_read_timeout = Duration::from_secs(600);
        c.http.header_read_timeout = Duration::from_secs(600);
        c.http.trusted_proxies = vec!["127.0.0.3/32".parse().unwrap()];
    })
    .await;
    // A request held in flight: its body never finishes.
    let hold = |forwarded: &'static str| {
        format!(
            "POST /v1/classes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n\
             X-Forwarded-For: 6.6.6.6, {forwarded}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{"
        )
    };
    let quick = |forwarded: &str| {
        format!(
            "GET /v1/time HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {forwarded}\r\nConnection: close\r\n\r\n"
        )
    };
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from(&t, "127.0.0.3").await;
        s.write_all(hold("198.51.100.7").as_bytes()).await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The proxy's third connection is taken (not capped by the proxy's address), but a
    // third request of the same client is not.
    let mut s = connect_from(&t, "127.0.0.3").await;
    s.write_all(quick("198.51.100.7").as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("too_many_connections"), "{answer}");
    // Another client through the same proxy is served.
    let mut s = connect_from(&t, "127.0.0.3").await;
    s.write_all(quick("198.51.100.8").as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // A host that is not a trusted proxy is counted by its own address, whatever it says.
    let _a = connect_from(&t, "127.0.0.4").await;
    let _b = connect_from(&t, "127.0.0.4").await;
    let mut c = connect_from(&t, "127.0.0.4").await;
    c.write_all(quick("198.51.100.9").as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut c, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    drop(held);
}
