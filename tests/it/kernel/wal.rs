//! SQLite's write-ahead log goes back into the database file in the background, never in a
//! request's commit (a commit that checkpoints waits for an fsync).

use std::time::{Duration, Instant};

use shoestring::kernel::db::Backend;
use sqlx::Executor;

use crate::support::TestApp;

#[tokio::test]
async fn commits_leave_the_wal_to_a_background_checkpoint_that_empties_it_within_seconds() {
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    if db.backend != Backend::Sqlite {
        return;
    }
    let url = app.state.settings.database_url.expose().to_owned();
    let file = url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
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
