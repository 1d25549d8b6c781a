//! Object storage against a real S3-compatible server on loopback (s3s-fs checks SigV4): media
//! uploads, serving and the orphan sweep on it; a storage outage answering 503 quickly while the
//! rest of the site works; backups to it, a wrong secret, and the server stopped mid-upload.

use std::time::{Duration, Instant};

use shoestring::ops::drill::Choice;
use shoestring::ops::jobs;

use super::support::{self, S3Server, png, publish, publish_id, s3s_fs_or_skip};
use crate::support::TestApp;

async fn app_on_s3(server: &S3Server) -> (TestApp, crate::support::Browser) {
    let app = TestApp::spawn_with(|s| {
        server.configure(s);
        s.storage.media_store = Some("s3://media/site".into());
        s.storage.media_timeout_secs = 2;
        s.storage.backup_work_dir = support::work_dir();
        s.rate_limits = false;
    })
    .await;
    let (_, writer) = app.logged_in("writer").await;
    (app, writer)
}

#[tokio::test]
async fn uploads_live_in_the_bucket_are_served_by_the_app_and_swept_when_orphaned() {
    let Some(bin) = s3s_fs_or_skip("s3 media") else { return };
    let server = S3Server::start(bin, &["media"]);
    let (app, writer) = app_on_s3(&server).await;

    let (status, id) = publish_id(&writer, "in the bucket", Some(png(3))).await;
    assert_eq!(status, 201);
    let stored = server.objects("media", "site/posts");
    assert_eq!(stored.len(), 2, "image and thumbnail: {stored:?}");
    let (_, post) = writer.get_json(&format!("/api/posts/{id}/")).await;
    let image = writer.get(post["image"].as_str().unwrap()).await;
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");

    sqlx::query("INSERT INTO orphan_media (media_key, created_at) VALUES ('posts/stale-file.png', $1)")
        .bind(app.clock().now())
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    app.state.media.put("posts/stale-file.png", png(9)).await.unwrap();
    shoestring::worker(&app.state).register_schedules().await.unwrap();
    app.clock().advance(2 * 3600);
    app.run_jobs().await;
    assert!(!server.objects("media", "site/posts").contains(&"stale-file.png".to_owned()), "the sweep deleted it");
    assert_eq!(server.objects("media", "site/posts").len(), 2);
}

#[tokio::test]
async fn a_storage_outage_fails_uploads_quickly_with_503_and_the_site_keeps_working() {
    let Some(bin) = s3s_fs_or_skip("s3 outage") else { return };
    let mut server = S3Server::start(bin, &["media"]);
    let (app, writer) = app_on_s3(&server).await;
    assert_eq!(publish(&writer, "before", Some(png(1))).await, 201);
    server.stop();

    let started = Instant::now();
    let res =
        writer
            .client
            .post(writer.url("/api/posts/"))
            .multipart(reqwest::multipart::Form::new().text("body", "during").part(
                "image",
                reqwest::multipart::Part::bytes(png(2)).file_name("p.png").mime_str("image/png").unwrap(),
            ))
            .send()
            .await
            .unwrap();
    let took = started.elapsed();
    assert_eq!(res.status(), 503);
    assert!(took < Duration::from_secs(3), "answered after {took:?}, the timeout is 2 s");
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(writer.get("/posts/").await.status(), 200);
    assert_eq!(publish(&writer, "text only", None).await, 201);

    server.resume();
    assert_eq!(publish(&writer, "after", Some(png(4))).await, 201);
    drop(app);
}

#[tokio::test]
async fn backups_go_to_the_bucket_and_the_drill_restores_them_from_there() {
    let Some(bin) = s3s_fs_or_skip("s3 backups") else { return };
    let server = S3Server::start(bin, &["media", "backups"]);
    let (app, writer) = app_on_s3(&server).await;
    assert_eq!(publish(&writer, "kept safe", Some(png(5))).await, 201);

    let done = jobs::run_backup(&app.state, Some("s3://backups/nightly")).await.expect("backup");
    assert_eq!(server.objects("backups", "nightly"), vec![done.name.clone()]);
    assert_eq!(done.manifest.media_files().count(), 2);
    let destination =
        shoestring::ops::destination::Destination::parse("s3://backups/nightly", &app.state.settings.storage).unwrap();
    let report = jobs::run_drill(&app.state, &shoestring::ops_hooks(&app.state), &Choice::Latest(destination))
        .await
        .expect("drill");
    assert!(report.checks.iter().any(|c| c.contains("/media/posts/")), "{:?}", report.checks);
}

#[tokio::test]
async fn a_wrong_secret_fails_the_backup_with_the_servers_answer_and_leaves_nothing() {
    let Some(bin) = s3s_fs_or_skip("s3 wrong secret") else { return };
    let server = S3Server::start(bin, &["backups"]);
    let app = TestApp::spawn_with(|s| {
        server.configure(s);
        s.storage.s3_secret_access_key = Some(shoestring::kernel::config::Secret::new("not-the-secret"));
        s.storage.backup_work_dir = support::work_dir();
    })
    .await;

    let err = jobs::run_backup(&app.state, Some("s3://backups/nightly")).await.unwrap_err();
    assert!(format!("{err:#}").contains("SignatureDoesNotMatch"), "{err:#}");
    assert!(server.objects("backups", "nightly").is_empty());
    let failed = app.scalar_i64("SELECT COUNT(*) FROM backup_runs WHERE kind = 'backup' AND ok = FALSE").await;
    assert_eq!(failed, 1);
}

/// A loopback TCP relay to the S3 server that stops the server once `after` bytes of requests
/// have passed: the server dies in the middle of a multipart upload.
async fn relay_that_stops_the_server(
    server: std::sync::Arc<std::sync::Mutex<S3Server>>,
    after: u64,
) -> std::net::SocketAddr {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream_port = server.lock().unwrap().port;
    let sent = std::sync::Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(upstream) = tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await else { continue };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut up_read, mut up_write) = upstream.into_split();
            let (sent, server) = (sent.clone(), server.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = client_read.read(&mut buf).await {
                    if n == 0 || up_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    if sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64 >= after
                        && sent.load(Ordering::SeqCst) < u64::MAX / 2
                    {
                        sent.store(u64::MAX / 2, Ordering::SeqCst);
                        server.lock().unwrap().stop();
                    }
                }
            });
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut up_read, &mut client_write).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn the_server_stopped_mid_upload_fails_the_backup_cleanly_and_the_job_retries_it() {
    let Some(bin) = s3s_fs_or_skip("s3 stopped mid-upload") else { return };
    let server = std::sync::Arc::new(std::sync::Mutex::new(S3Server::start(bin, &["backups"])));
    let relay = relay_that_stops_the_server(server.clone(), 20 << 20).await;
    let work = crate::support::TempDir::new("work");
    let app = TestApp::spawn_with(|s| {
        server.lock().unwrap().configure(s);
        s.storage.s3_endpoint = Some(format!("http://{relay}"));
        s.storage.backup_to = Some("s3://backups/nightly".into());
        s.storage.backup_work_dir = work.0.clone();
    })
    .await;
    // 40 MiB that does not compress: three parts of 16 MiB.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let big: Vec<u8> = (0..40usize << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::create_dir_all(app.state.settings.media_dir.join("posts")).unwrap();
    std::fs::write(app.state.settings.media_dir.join("posts/big.png"), &big).unwrap();
    shoestring::worker(&app.state).register_schedules().await.unwrap();

    app.clock().advance(86_400 + 1);
    app.run_jobs().await;
    let (attempts, status): (i64, String) =
        sqlx::query_as("SELECT attempts, status FROM jobs WHERE kind = 'ops.backup'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!((attempts, status.as_str()), (1, "queued"), "the failed backup waits for its retry");
    server.lock().unwrap().resume();
    assert!(server.lock().unwrap().objects("backups", "nightly").is_empty(), "no archive from the failed upload");
    assert_eq!(std::fs::read_dir(&work.0).unwrap().count(), 0, "no partial archive left in the work folder");

    app.clock().advance(60);
    app.run_jobs().await;
    let stored = server.lock().unwrap().objects("backups", "nightly");
    assert_eq!(stored.len(), 1, "the retry stored the archive: {stored:?}");
    let runs: Vec<(bool, String)> = sqlx::query("SELECT ok, detail FROM backup_runs ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| (shoestring::kernel::db::get_flag(row, "ok").unwrap(), sqlx::Row::get(row, "detail")))
        .collect();
    assert_eq!(runs.iter().map(|r| r.0).collect::<Vec<_>>(), vec![false, true], "{runs:?}");
}
