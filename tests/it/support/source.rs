//! A stand-in for an outside JSON API on 127.0.0.1: a raw HTTP/1.1 server whose answer per path
//! the test sets (JSON, an error status, malformed JSON, a redirect, an answer that never ends,
//! a body of many megabytes). It records each request's target and headers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this JSON text.
    Json(String),
    /// This status with a small text body.
    Status(u16),
    /// 200 with this body, labelled as JSON whatever it holds.
    Body(String),
    /// 302 to this address.
    Redirect(String),
    /// Headers, the first bytes of the body, then nothing ever again.
    Hang,
    /// Nothing at all: the connection is accepted and never answered.
    Silent,
    /// 200 with this many bytes of a JSON array, streamed in chunks without a length.
    Huge(usize),
    /// 200 announcing this many bytes in `Content-Length`.
    HugeDeclared(usize),
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub target: String,
    pub head: String,
}

#[derive(Clone)]
pub struct FakeSource {
    pub addr: SocketAddr,
    replies: Arc<Mutex<HashMap<String, Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeSource {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let source = Self { addr: listener.local_addr().unwrap(), replies: Arc::default(), seen: Arc::default() };
        let server = source.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move { server.answer(stream).await });
            }
        });
        source
    }

    /// Answers requests for `path` (without the query) with `reply` from now on.
    pub fn set(&self, path: &str, reply: Reply) {
        self.replies.lock().unwrap().insert(path.to_owned(), reply);
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    async fn answer(&self, mut stream: TcpStream) {
        let Some(head) = read_head(&mut stream).await else { return };
        let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let path = target.split('?').next().unwrap_or("/").to_owned();
        self.seen.lock().unwrap().push(Seen { target, head: head.clone() });
        let reply = self.replies.lock().unwrap().get(&path).cloned().unwrap_or(Reply::Status(404));
        let _ = write_reply(&mut stream, reply).await;
    }
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

async fn write_reply(stream: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    let plain = |status: u16, kind: &str, body: &str| {
        format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    match reply {
        Reply::Json(body) | Reply::Body(body) => {
            stream.write_all(plain(200, "application/json", &body).as_bytes()).await
        }
        Reply::Status(code) => stream.write_all(plain(code, "text/plain", "no").as_bytes()).await,
        Reply::Redirect(to) => {
            let head =
                format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            stream.write_all(head.as_bytes()).await
        }
        Reply::Hang => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"stats\":",
                )
                .await?;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        Reply::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        Reply::Huge(total) => stream_huge(stream, total).await,
        Reply::HugeDeclared(total) => {
            let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {total}\r\n\r\n");
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&vec![b' '; total.min(1 << 20)]).await
        }
    }
}

/// A JSON array of `total` bytes in 64 KiB chunks; stops when the client hangs up.
async fn stream_huge(stream: &mut TcpStream, total: usize) -> std::io::Result<()> {
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
        .await?;
    let piece = vec![b'1'; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        let n = piece.len().min(total - sent);
        stream.write_all(format!("{n:x}\r\n").as_bytes()).await?;
        stream.write_all(&piece[..n]).await?;
        stream.write_all(b"\r\n").await?;
        sent += n;
    }
    stream.write_all(b"0\r\n\r\n").await
}
