//! The HTTP server's limits, over raw sockets: clients that send headers or bodies too slowly
//! are cut off, and connections beyond the cap wait instead of being served at once.

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
