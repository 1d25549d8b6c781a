//! Backup and restore round trips on the test database (SQLite, or PostgreSQL with
//! TEST_DATABASE_URL): consistency under write load, refusal of damaged archives before
//! anything is written, refusal of a non-empty target, and migration of an older archive.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use shoestring::kernel::db::Db;
use shoestring::ops::{jobs, restore};

use super::support::{
    self, POSTS_PER_WRITER, empty_target, export, hashes, max_post_id, png, posts_by_id, publish, publish_id,
};
use crate::support::TempDir;

#[tokio::test]
async fn a_backup_taken_under_write_load_restores_to_the_same_data_up_to_its_moment() {
    let (app, mut writers) = support::app_with_writers(6).await;
    for i in 0..5 {
        assert_eq!(publish(&writers[0], &format!("before {i}"), Some(png(i))).await, 201);
    }
    let backups = TempDir::new("backups");
    let stop = Arc::new(AtomicBool::new(false));
    let worst_ms = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let load = start_writers(std::mem::take(&mut writers), t0, &stop, &worst_ms);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let backup_started = t0.elapsed();
    let done = jobs::run_backup(&app.state, Some(backups.0.to_str().unwrap())).await.expect("backup");
    let backup_ended = t0.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for writer in load {
        acknowledged.extend(writer.await.unwrap());
    }

    let (target, _db, _media) = empty_target(&app.state.settings).await;
    let archive = backups.0.join(&done.name);
    restore::restore(&target, archive.to_str().unwrap(), false).await.expect("restore");
    let restored = Db::connect(target.database_url.expose()).await.unwrap();
    let restored_posts = posts_by_id(&restored).await;
    let live_posts = posts_by_id(&app.state.db).await;
    for (id, sent, answered) in &acknowledged {
        if *answered < backup_started {
            assert!(restored_posts.contains_key(id), "post {id}, acknowledged before the backup, is missing");
        }
        if *sent > backup_ended {
            assert!(!restored_posts.contains_key(id), "post {id}, sent after the backup, is in it");
        }
    }
    assert!(acknowledged.iter().any(|(_, _, a)| *a < backup_started), "writes before the snapshot");
    assert!(acknowledged.iter().any(|(_, s, _)| *s > backup_ended), "writes after the snapshot");
    for (id, row) in &restored_posts {
        assert_eq!(live_posts.get(id), Some(row), "post {id} differs from the live one");
    }
    let users = |e: std::collections::BTreeMap<&str, Vec<String>>| e["users"].clone();
    assert_eq!(users(export(&restored, 0).await), users(export(&app.state.db, 0).await));
    let live_files = hashes(&app.state.settings.media_dir);
    let restored_files = hashes(&target.media_dir);
    for (key, sha) in &restored_files {
        assert_eq!(live_files.get(key), Some(sha), "{key} differs from the live file");
    }
    let referenced: Vec<String> = sqlx::query_scalar("SELECT image_key FROM posts WHERE image_key IS NOT NULL")
        .fetch_all(&restored.pool)
        .await
        .unwrap();
    assert!(referenced.len() >= 5 && referenced.iter().all(|k| restored_files.contains_key(k)));
    eprintln!("worst write latency during the backup test: {} ms", worst_ms.load(Ordering::Relaxed));
}

#[tokio::test]
async fn truncated_corrupted_or_wrongly_decrypted_archives_are_refused_before_anything_is_written() {
    let (app, writer) = support::app_with_writer().await;
    assert_eq!(publish(&writer, "to keep", Some(png(7))).await, 201);
    let backups = TempDir::new("backups");
    let mut state_settings = (*app.state.settings).clone();
    state_settings.storage.backup_passphrase = Some(shoestring::kernel::config::Secret::new("right passphrase"));
    let sealed_app = shoestring::kernel::AppState::from(shoestring::kernel::Services {
        settings: Arc::new(state_settings.clone()),
        ..(*app.state).clone()
    });
    let done = jobs::run_backup(&sealed_app, Some(backups.0.to_str().unwrap())).await.unwrap();
    let good = std::fs::read(backups.0.join(&done.name)).unwrap();
    let variants = [
        ("truncated", good[..good.len() * 2 / 3].to_vec(), "right passphrase"),
        ("truncated at the end", good[..good.len() - 20].to_vec(), "right passphrase"),
        (
            "corrupted",
            {
                let mut b = good.clone();
                let i = b.len() / 2;
                b[i] ^= 0x55;
                b
            },
            "right passphrase",
        ),
        ("wrong key", good.clone(), "wrong passphrase"),
    ];
    for (what, bytes, passphrase) in variants {
        let file = backups.0.join(format!("{}.bad", what.replace(' ', "-")));
        std::fs::write(&file, bytes).unwrap();
        let (mut target, _db, _media) = empty_target(&state_settings).await;
        target.storage.backup_passphrase = Some(shoestring::kernel::config::Secret::new(passphrase));
        let err = restore::restore(&target, file.to_str().unwrap(), false).await.expect_err(what);
        let message = format!("{err:#}");
        assert!(message.contains("damaged or truncated") || message.contains("none of the keys"), "{what}: {message}");
        assert!(!target.media_dir.exists(), "{what}: media were written");
        let db = Db::connect(target.database_url.expose()).await.unwrap();
        let mut conn = db.pool.acquire().await.unwrap();
        let tables = shoestring::ops::dbinfo::tables(&mut conn, db.backend).await.unwrap();
        assert!(tables.is_empty(), "{what}: the database was written: {tables:?}");

        let verified = jobs::run_drill(
            &sealed_app_with(&app, &target),
            &shoestring::ops_hooks(&app.state),
            &shoestring::ops::drill::Choice::Named(file.to_str().unwrap().into()),
        )
        .await;
        assert!(verified.is_err(), "{what}: verify passed");
    }
    let failed: i64 = app.scalar_i64("SELECT COUNT(*) FROM backup_runs WHERE kind = 'drill' AND ok = FALSE").await;
    assert_eq!(failed, 4, "each failed drill is recorded");
}

/// (post id, request sent, answer received), as offsets from the start of the load.
type Ack = (i64, Duration, Duration);

/// Each writer publishes (a third with images) until stopped or out of quota.
fn start_writers(
    writers: Vec<crate::support::Browser>,
    t0: Instant,
    stop: &Arc<AtomicBool>,
    worst_ms: &Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<Vec<Ack>>> {
    let mut load = Vec::new();
    for (w, writer) in writers.into_iter().enumerate() {
        let (stop, worst_ms) = (stop.clone(), worst_ms.clone());
        let budget = if w == 0 { POSTS_PER_WRITER - 5 } else { POSTS_PER_WRITER };
        load.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while n < budget && !stop.load(Ordering::Relaxed) {
                let sent = t0.elapsed();
                let seed = 1000 * (w as u32 + 1) + n;
                let image = (n % 3 == 0).then(|| png(seed));
                let (status, id) = publish_id(&writer, &format!("during ✓ {seed}"), image).await;
                assert_eq!(status, 201);
                worst_ms.fetch_max((t0.elapsed() - sent).as_millis() as u64, Ordering::Relaxed);
                acknowledged.push((id, sent, t0.elapsed()));
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            acknowledged
        }));
    }
    load
}

/// The app's state with another deployment's settings (for keys and work folders).
fn sealed_app_with(
    app: &crate::support::TestApp,
    settings: &shoestring::kernel::config::Settings,
) -> shoestring::kernel::AppState {
    shoestring::kernel::AppState::from(shoestring::kernel::Services {
        settings: Arc::new(settings.clone()),
        ..(*app.state).clone()
    })
}

#[tokio::test]
async fn restore_refuses_a_target_with_data_and_with_force_keeps_the_old_data_aside() {
    let (app, writer) = support::app_with_writer().await;
    assert_eq!(publish(&writer, "archived", Some(png(1))).await, 201);
    let backups = TempDir::new("backups");
    let done = jobs::run_backup(&app.state, Some(backups.0.to_str().unwrap())).await.unwrap();
    let archive = backups.0.join(&done.name);
    assert_eq!(publish(&writer, "after the backup", None).await, 201);

    let err = restore::restore(&app.state.settings, archive.to_str().unwrap(), false).await.unwrap_err();
    assert!(format!("{err:#}").contains("not empty"), "{err:#}");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM posts").await, 2, "nothing changed");

    let (target, _db, _media) = empty_target(&app.state.settings).await;
    restore::restore(&target, archive.to_str().unwrap(), false).await.unwrap();
    let report = restore::restore(&target, archive.to_str().unwrap(), true).await.unwrap();
    assert!(report.iter().any(|line| line.contains("kept")), "{report:?}");
    let restored = Db::connect(target.database_url.expose()).await.unwrap();
    assert_eq!(max_post_id(&restored).await, 1);
}

#[tokio::test]
async fn an_archive_of_an_older_schema_is_migrated_forward_by_restore() {
    let (db_guard, url) = crate::support::db::TestDb::create().await;
    let db = Db::connect(&url).await.unwrap();
    let mut migrator = match db.backend {
        shoestring::kernel::db::Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        shoestring::kernel::db::Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    // The release before backups: migrations up to 0004.
    migrator.migrations = migrator.migrations.iter().filter(|m| m.version <= 4).cloned().collect::<Vec<_>>().into();
    migrator.run(&db.pool).await.unwrap();
    sqlx::query(
        "INSERT INTO users (username, username_key, email, email_key, password_hash, date_joined) \
                 VALUES ('old', 'old', 'old@example.com', 'old@example.com', 'x', 1)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let mut settings = crate::support::test_settings();
    settings.database_url = shoestring::kernel::config::Secret::new(url.clone());
    let media = TempDir::new("old-media");
    settings.media_dir = media.0.clone();
    settings.storage.backup_work_dir = support::work_dir();
    let state = shoestring::kernel::AppState::build(settings.clone(), Default::default()).await.unwrap();
    let backups = TempDir::new("backups");
    let destination = shoestring::ops::destination::Destination::Local(backups.0.clone());
    let done = shoestring::ops::backup::backup(&state, &destination).await.unwrap();
    assert_eq!(done.manifest.schema_version, 4);

    let (target, _db, _media) = empty_target(&settings).await;
    let report = restore::restore(&target, backups.0.join(&done.name).to_str().unwrap(), false).await.unwrap();
    assert!(report.iter().any(|l| l.contains("Migrated the schema forward from 4")), "{report:?}");
    let restored = Db::connect(target.database_url.expose()).await.unwrap();
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&restored.pool).await.unwrap();
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM backup_runs").fetch_one(&restored.pool).await.unwrap();
    assert_eq!((users, runs), (1, 0));
    drop(db_guard);
}
