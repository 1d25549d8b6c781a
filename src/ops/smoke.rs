//! One plain HTTP/1.1 GET over loopback, for the drill's smoke request against an app it just
//! booted: status code and body size, read with a deadline and a size cap. Small enough that
//! an HTTP client crate would not earn its place here.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_RESPONSE: u64 = 8 << 20;

#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The body as sent (chunked transfer framing included, if the server chose it).
    pub body: Vec<u8>,
}

/// `GET path` from the server at `addr`, naming `host` (one the app accepts).
pub async fn get(addr: SocketAddr, host: &str, path: &str) -> anyhow::Result<Answer> {
    tokio::time::timeout(Duration::from_secs(20), exchange(addr, host, path))
        .await
        .with_context(|| format!("GET {path} did not answer within 20 s"))?
}

async fn exchange(addr: SocketAddr, host: &str, path: &str) -> anyhow::Result<Answer> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.take(MAX_RESPONSE).read_to_end(&mut response).await?;
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").context("no HTTP header in the answer")?;
    let head = String::from_utf8_lossy(&response[..head_end]);
    let status =
        head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).context("no status code in the answer")?;
    Ok(Answer { status, body: response.split_off(head_end + 4) })
}
