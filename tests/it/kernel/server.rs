//! The HTTP server's limits, over raw sockets: clients that send headers or bodies too slowly
//! are cut off, connections beyond the cap wait instead of being served at once, and a shutdown
//! answers what is in flight without waiting on slow or idle clients.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;

async fn fast_limits() -> TestApp {
    TestApp::spawn_with(|s| {
        s.header_read_timeout_secs = 1;
        s.body_read_timeout_secs = 1;
        s.max_connections = 3;
    })
    .await
}

/// Reads until the server closes the connection (or 5 s pass); returns what arrived and when.
async fn read_to_close(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received)).await;
    (String::from_utf8_lossy(&received).into_owned(), started.elapsed())
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let app = fast_limits().await;
    let mut partial = TcpStream::connect(app.addr).await.unwrap();
    partial.write_all(b"GET /posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.unwrap();

    let (_, after) = read_to_close(&mut partial).await;

    assert!(after < Duration::from_secs(3), "still open after {after:?}");
}

#[tokio::test]
async fn a_client_that_connects_and_sends_nothing_is_cut_off_and_frees_its_slot() {
    let app = fast_limits().await;
    let mut silent: Vec<TcpStream> = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(app.addr).await.unwrap());
    }

    let (_, after) = read_to_close(&mut silent[0]).await;
    let answered = tokio::time::timeout(Duration::from_secs(3), app.browser().get("/up")).await;

    assert!(after < Duration::from_secs(3), "a silent client kept its connection {after:?}");
    assert_eq!(answered.expect("every slot stayed taken").status(), 200);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let app = fast_limits().await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(b"GET /posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();

    let (first, after) = read_to_close(&mut conn).await;

    assert!(first.starts_with("HTTP/1.1 200"));
    assert!(after < Duration::from_secs(3), "the idle connection stayed open {after:?}");
}

#[tokio::test]
async fn a_body_that_arrives_too_slowly_is_refused_with_408() {
    let app = fast_limits().await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    let head =
        "POST /api/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n";
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(b"{\"body\": \"a").await.unwrap();

    let (answer, _) = read_to_close(&mut slow).await;

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM posts").await, 0);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let app = fast_limits().await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut conn = TcpStream::connect(app.addr).await.unwrap();
        conn.write_all(b"GET /posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Wait: ").await.unwrap();
        held.push(conn);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let status = app.browser().get("/posts/").await.status();
    let waited = started.elapsed();

    assert_eq!(status, 200);
    assert!(waited >= Duration::from_millis(500), "served at once ({waited:?}) while every slot was taken");
}

/// Limits for shutdown tests: a short header deadline, a long grace that a test would notice.
async fn stoppable(lame_duck_ms: u64) -> TestApp {
    TestApp::spawn_with(|s| {
        s.header_read_timeout_secs = 1;
        s.body_read_timeout_secs = 10;
        s.lame_duck_ms = lame_duck_ms;
        s.shutdown_grace_secs = 20;
    })
    .await
}

#[tokio::test]
async fn a_request_in_flight_at_shutdown_is_answered_and_its_connection_closed() {
    let mut app = stoppable(100).await;
    let user = app.confirmed_user("alice").await;
    let body = serde_json::json!({"username": "alice", "password": user.password}).to_string();
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    slow.write_all(first).await.unwrap();
    // Until its head is parsed, a connection is not yet a request, and a shutdown may close it.
    tokio::time::sleep(Duration::from_millis(300)).await;

    app.begin_stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    slow.write_all(rest).await.unwrap();
    let (answer, _) = read_to_close(&mut slow).await;
    let took = app.stop_server().await;

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(took < Duration::from_secs(2), "the server lingered {took:?} after its last request");
}

#[tokio::test]
async fn a_kept_alive_connection_is_told_to_close_during_the_lame_duck_window() {
    let mut app = stoppable(2000).await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(b"GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 4096];
    let n = conn.read(&mut buf).await.unwrap();
    let before = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();

    app.begin_stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    conn.write_all(b"GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let (during, _) = read_to_close(&mut conn).await;
    app.stop_server().await;

    assert!(before.starts_with("http/1.1 200") && !before.contains("connection: close"), "{before}");
    assert!(during.starts_with("HTTP/1.1 200"), "{during}");
    assert!(during.to_ascii_lowercase().contains("connection: close"), "{during}");
}

#[tokio::test]
async fn shutdown_waits_no_longer_than_the_header_deadline_for_silent_or_slow_clients() {
    let mut app = stoppable(100).await;
    let mut partial = TcpStream::connect(app.addr).await.unwrap();
    partial.write_all(b"GET /posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.unwrap();
    let _silent = TcpStream::connect(app.addr).await.unwrap();
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let _ = idle.read(&mut [0u8; 4096]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let took = app.stop_server().await;
    let refused = TcpStream::connect(app.addr).await.is_err();

    assert!(took < Duration::from_millis(2500), "shutdown waited {took:?} for clients that send nothing");
    assert!(refused, "a new connection was accepted after shutdown");
}

#[tokio::test]
async fn the_lame_duck_window_ends_early_once_every_connection_has_closed() {
    let mut app = stoppable(5000).await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(b"GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let _ = conn.read(&mut [0u8; 4096]).await.unwrap();

    app.begin_stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    conn.write_all(b"GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let (answer, _) = read_to_close(&mut conn).await;
    let took = app.stop_server().await;

    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(took < Duration::from_secs(2), "waited {took:?} of a 5 s window with no connection left");
}

#[tokio::test]
async fn a_body_the_route_never_reads_still_leaves_the_connection_open_for_the_next_request() {
    let app = TestApp::spawn().await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    // The body comes in its own packet after the headers, as many clients send it, and `POST /`
    // is answered (405) without reading it.
    let head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n";
    conn.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = conn.write_all(b"{}").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = conn.write_all(b"GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await;

    let (answers, _) = read_to_close(&mut conn).await;

    assert!(answers.starts_with("HTTP/1.1 405"), "{answers}");
    assert_eq!(answers.matches("HTTP/1.1 ").count(), 2, "the second request got no answer: {answers}");
}
