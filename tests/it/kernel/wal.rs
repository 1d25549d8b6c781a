//! SQLite's write-ahead log goes back into the database file in the background, never in a
//! request's commit (a commit that checkpoints waits for an fsync).

use std::time::{Duration, Instant};

use shoestring::kernel::db::Backend;
use sqlx::Executor;

use crate::support::TestApp;

/// The SQLite file's path, or None on PostgreSQL (these tests are SQLite's).
fn sqlite_file(app: &TestApp) -> Option<String> {
    if app.state.db.backend != Backend::Sqlite {
        return None;
    }
    let url = app.state.settings.database_url.expose();
    Some(url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned())
}

#[tokio::test]
async fn commits_leave_the_wal_to_a_background_checkpoint_that_empties_it_within_seconds() {
    let app = TestApp::spawn().await;
    let Some(file) = sqlite_file(&app) else { return };
    let db = &app.state.db;
    let size = || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let per_connection: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint").fetch_one(&db.pool).await.unwrap();
    db.pool.execute("CREATE TABLE ballast (b BLOB)").await.unwrap();
    let before = size();

    // About 6 MB: far more than the 1000 pages after which a commit would checkpoint by default.
    for _ in 0..60 {
        sqlx::query("INSERT INTO ballast (b) VALUES (zeroblob(100000))").execute(&db.pool).await.unwrap();
    }
    let started = Instant::now();
    while size() < before + 5_000_000 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(per_connection, 0, "a commit must not checkpoint");
    assert!(size() >= before + 5_000_000, "the WAL was not copied into the file: {} → {} bytes", before, size());
}

/// Frames in the write-ahead log now (it starts again from its beginning after a restart).
async fn frames_in_log(app: &TestApp) -> i64 {
    let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&app.state.db.pool).await.unwrap();
    sqlx::Row::get::<i64, _>(&row, 1)
}

#[tokio::test]
async fn under_back_to_back_writes_and_reads_the_log_still_starts_over() {
    let app = TestApp::spawn().await;
    let db = app.state.db.clone();
    if db.backend != Backend::Sqlite {
        return;
    }
    db.pool.execute("CREATE TABLE ballast (b BLOB)").await.unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    let writer = tokio::spawn({
        let db = db.clone();
        async move {
            while Instant::now() < until {
                let mut tx = db.begin_write().await.unwrap();
                sqlx::query("INSERT INTO ballast (b) VALUES (randomblob(4000))").execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }
        }
    });
    let reader = tokio::spawn({
        let db = db.clone();
        async move {
            while Instant::now() < until {
                sqlx::query("SELECT MAX(rowid) FROM ballast").execute(&db.pool).await.unwrap();
            }
        }
    });

    // Without a restart the log only grows while writers follow each other without a pause:
    // a PASSIVE checkpoint copies it into the file but never starts it over.
    let (mut restarts, mut last, mut most) = (0, 0, 0);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let frames = frames_in_log(&app).await;
        restarts += usize::from(frames < last);
        (last, most) = (frames, most.max(frames));
    }
    writer.await.unwrap();
    reader.await.unwrap();

    assert!(restarts >= 2, "the log started over {restarts} time(s) in 5 s of writes; it reached {most} frames");
}

#[tokio::test]
async fn a_folded_log_is_empty_even_when_a_reader_held_it_past_the_busy_timeout() {
    let app = TestApp::spawn().await;
    let Some(file) = sqlite_file(&app) else { return };
    let log = format!("{file}-wal");
    let db = &app.state.db;
    db.pool.execute("CREATE TABLE ballast (b BLOB)").await.unwrap();
    sqlx::query("INSERT INTO ballast (b) VALUES (zeroblob(100000))").execute(&db.pool).await.unwrap();
    // A reader on the log, as a server's request may be while `seed` ends, held past the 5 s
    // a checkpoint waits for readers before it answers "busy".
    let mut reader = db.pool.begin().await.unwrap();
    sqlx::query("SELECT COUNT(*) FROM ballast").execute(&mut *reader).await.unwrap();
    sqlx::query("INSERT INTO ballast (b) VALUES (zeroblob(100000))").execute(&db.pool).await.unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(5500)).await;
        reader.rollback().await.unwrap();
    });

    let folded = db.fold_log().await;
    release.await.unwrap();

    folded.unwrap();
    assert_eq!(std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0), 0, "the log was left with frames in it");
}
