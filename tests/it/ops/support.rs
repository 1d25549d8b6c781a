//! Helpers for the operations tests: an app to back up (with uploads), a canonical export of
//! its data read with plain SQL (independent of the code under test), every media file's
//! SHA-256, and a real S3-compatible server (s3s-fs, which checks signatures) on loopback.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use reqwest::multipart::{Form, Part};
use sha2::{Digest, Sha256};
use shoestring::kernel::config::{Secret, Settings};
use shoestring::kernel::db::Db;

use crate::support::{Browser, TempDir, TestApp};

/// Posts one user may publish in an hour (the blog's quota).
pub const POSTS_PER_WRITER: u32 = 28;

/// An app without rate limits (the tests write fast), with a logged-in writer.
pub async fn app_with_writer() -> (TestApp, Browser) {
    let (app, mut writers) = app_with_writers(1).await;
    let writer = writers.pop().unwrap();
    (app, writer)
}

/// An app with `n` logged-in writers (each under the blog's hourly quota).
pub async fn app_with_writers(n: usize) -> (TestApp, Vec<Browser>) {
    let app = TestApp::spawn_with(|s| {
        s.rate_limits = false;
        s.storage.backup_work_dir = work_dir();
    })
    .await;
    let mut writers = Vec::new();
    for i in 0..n {
        writers.push(app.logged_in(&format!("writer{i}")).await.1);
    }
    (app, writers)
}

/// Scratch space for backups under the system temp folder (each run makes and removes its own
/// folder inside it).
pub fn work_dir() -> PathBuf {
    std::env::temp_dir().join("shoestring-test-backup-work")
}

/// A PNG whose pixels depend on `seed`, so every upload is a different file.
pub fn png(seed: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(48, 32, |x, y| Rgb([(seed % 251) as u8, (x * 5) as u8, ((y + seed) % 256) as u8]));
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
    out
}

/// Publishes a post, with an image when `image` is given; returns the status code.
pub async fn publish(browser: &Browser, body: &str, image: Option<Vec<u8>>) -> u16 {
    publish_id(browser, body, image).await.0
}

/// Publishes a post; returns the status code and the new post's id.
pub async fn publish_id(browser: &Browser, body: &str, image: Option<Vec<u8>>) -> (u16, i64) {
    let form = Form::new().text("body", body.to_owned());
    let form = match image {
        Some(bytes) => form.part("image", Part::bytes(bytes).file_name("p.png").mime_str("image/png").unwrap()),
        None => form,
    };
    let res = browser.client.post(browser.url("/api/posts/")).multipart(form).send().await.unwrap();
    let status = res.status().as_u16();
    let json: serde_json::Value = res.json().await.unwrap_or_default();
    (status, json["id"].as_i64().unwrap_or(0))
}

/// Users, posts and likes as sorted text rows, each read with explicit columns (posts and likes
/// up to `max_post_id`).
pub async fn export(db: &Db, max_post_id: i64) -> BTreeMap<&'static str, Vec<String>> {
    let mut out = BTreeMap::new();
    let queries: [(&str, &str); 3] = [
        ("users", "SELECT id, username, email, password_hash, nickname, date_joined FROM users ORDER BY id"),
        (
            "posts",
            "SELECT id, author_id, body, image_key, thumb_key, like_count, created_at FROM posts WHERE id <= $1 ORDER BY id",
        ),
        ("likes", "SELECT post_id, user_id, created_at FROM likes WHERE post_id <= $1 ORDER BY post_id, user_id"),
    ];
    for (table, sql) in queries {
        let mut query = sqlx::query(sql);
        if sql.contains("$1") {
            query = query.bind(max_post_id);
        }
        let rows = query.fetch_all(&db.pool).await.unwrap();
        out.insert(table, rows.iter().map(row_text).collect());
    }
    out
}

fn row_text(row: &sqlx::any::AnyRow) -> String {
    use sqlx::{Column, Row};
    row.columns()
        .iter()
        .map(|c| {
            let i = c.ordinal();
            row.try_get::<Option<i64>, _>(i)
                .map(|v| format!("{v:?}"))
                .or_else(|_| row.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}")))
                .unwrap()
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Every file under `dir` (relative path → SHA-256 hex).
pub fn hashes(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for key in shoestring::kernel::media::list_local_keys(dir).unwrap() {
        let bytes = std::fs::read(dir.join(&key)).unwrap();
        out.insert(key, format!("{:x}", Sha256::digest(&bytes)));
    }
    out
}

pub async fn max_post_id(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM posts").fetch_one(&db.pool).await.unwrap()
}

/// Settings for a second, empty deployment (a fresh database and media folder) to restore into.
pub async fn empty_target(base: &Settings) -> (Settings, crate::support::db::TestDb, TempDir) {
    let (db, url) = crate::support::db::TestDb::create().await;
    let media = TempDir::new("restored-media");
    let mut settings = base.clone();
    settings.database_url = Secret::new(url);
    settings.media_dir = media.0.join("media");
    (settings, db, media)
}

/// The s3s-fs binary: S3S_FS_BIN, the CI cache, or PATH.
pub fn s3s_fs() -> Option<PathBuf> {
    let candidates = [
        std::env::var("S3S_FS_BIN").ok().map(PathBuf::from),
        Some(PathBuf::from("/var/cache/shoestring-ci/s3s-fs-0.14.1/bin/s3s-fs")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file()).or_else(|| {
        Command::new("s3s-fs").arg("--version").output().ok().filter(|o| o.status.success()).map(|_| "s3s-fs".into())
    })
}

/// `None` (and a note) when s3s-fs is missing, unless REQUIRE_S3S_FS says CI must have it.
pub fn s3s_fs_or_skip(test: &str) -> Option<PathBuf> {
    let found = s3s_fs();
    if found.is_none() {
        assert!(std::env::var("REQUIRE_S3S_FS").is_err(), "{test}: s3s-fs is required (REQUIRE_S3S_FS) but missing");
        eprintln!("SKIPPED {test}: s3s-fs is not installed (.ci/backup-test.sh installs it)");
    }
    found
}

pub const ACCESS_KEY: &str = "shoestring-test";
pub const SECRET_KEY: &str = "shoestring-test-secret-0123456789";

/// A real S3-compatible server on a loopback port, stopped (by its PID) when dropped.
pub struct S3Server {
    pub port: u16,
    pub root: TempDir,
    binary: PathBuf,
    child: Option<Child>,
}

impl S3Server {
    pub fn start(binary: PathBuf, buckets: &[&str]) -> Self {
        let root = TempDir::new("s3");
        for bucket in buckets {
            std::fs::create_dir_all(root.0.join(bucket)).unwrap();
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = Self { port, root, binary, child: None };
        server.resume();
        server
    }

    /// Starts (again) on the same port and data.
    pub fn resume(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&self.root.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Points `settings` at this server with the right credentials.
    pub fn configure(&self, settings: &mut Settings) {
        settings.storage.s3_endpoint = Some(self.endpoint());
        settings.storage.s3_access_key_id = Some(ACCESS_KEY.into());
        settings.storage.s3_secret_access_key = Some(Secret::new(SECRET_KEY));
    }

    /// Object files stored under `bucket/prefix` (s3s-fs keeps them as plain files).
    pub fn objects(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let dir = self.root.0.join(bucket).join(prefix);
        let mut names: Vec<String> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Each post's id and its row as text, from `export`'s query.
pub async fn posts_by_id(db: &Db) -> BTreeMap<i64, String> {
    let rows = export(db, i64::MAX).await.remove("posts").unwrap();
    rows.into_iter()
        .map(|row| (row.trim_start_matches("Some(").split(')').next().unwrap().parse().unwrap(), row))
        .collect()
}
