//! Database faults: a transaction that fails half way never poisons the pool, and an unreachable
//! or locked database answers 503 with `Retry-After` instead of a 500.

use std::time::{Duration, Instant};

use shoestring::kernel::config::Secret;
use shoestring::kernel::db::Backend;
use sqlx::{Connection, Executor};

use crate::support::TestApp;
use crate::support::cluster::ThrowawayCluster;

/// Fails a write transaction the way a full disk does. On SQLite a full disk rolls the whole
/// transaction back by itself, which a trigger's `RAISE(ROLLBACK)` does too; PostgreSQL aborts it.
async fn fail_a_write_transaction(app: &TestApp) {
    let db = &app.state.db;
    db.pool.execute("CREATE TABLE ballast (b TEXT)").await.unwrap();
    if db.backend == Backend::Sqlite {
        let trigger = "CREATE TRIGGER ballast_full BEFORE INSERT ON ballast BEGIN SELECT RAISE(ROLLBACK, 'full'); END";
        db.pool.execute(trigger).await.unwrap();
    }
    let mut tx = db.begin_write().await.unwrap();
    let failed = match db.backend {
        Backend::Sqlite => tx.execute("INSERT INTO ballast (b) VALUES ('x')").await.err(),
        Backend::Postgres => tx.execute("SELECT CAST('x' AS INTEGER)").await.err(),
    };
    assert!(failed.is_some(), "the injected write failure did not happen");
    let idle = db.pool.num_idle();
    drop(tx);
    // The pool takes the connection back in a task of its own.
    for _ in 0..100 {
        if db.pool.num_idle() > idle {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_transaction_that_failed_half_way_never_poisons_the_pool() {
    let app = TestApp::spawn().await;
    fail_a_write_transaction(&app).await;

    // Every pooled connection is used at once, so the one that failed would be among them.
    let writes = (0..8).map(|n| {
        let db = app.state.db.clone();
        async move {
            let mut tx = db.begin_write().await?;
            sqlx::query("INSERT INTO counters (name, value) VALUES ($1, 0)")
                .bind(format!("probe{n}"))
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
    });
    let results = futures_util::future::join_all(writes).await;

    for result in results {
        result.expect("a write after the failure");
    }
}

#[tokio::test]
async fn a_stopped_postgres_answers_503_quickly_and_the_app_recovers_by_itself() {
    let Some(cluster) = ThrowawayCluster::start() else {
        eprintln!("skipped: PostgreSQL server binaries or root are not available");
        return;
    };
    let url = cluster.url("postgres");
    let app = TestApp::spawn_with(|s| s.database_url = Secret::new(url)).await;
    let browser = app.browser();
    assert_eq!(browser.get("/posts/").await.status(), 200);

    cluster.stop();
    let started = Instant::now();
    let down = browser.get("/api/posts/").await;
    let took = started.elapsed();
    let page_down = browser.get("/posts/").await.status();
    cluster.restart();
    let mut back = 0;
    for _ in 0..50 {
        back = browser.get("/api/posts/").await.status().as_u16();
        if back == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert_eq!(down.status(), 503);
    assert!(down.headers().contains_key("retry-after"));
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    assert_eq!(page_down, 503);
    assert_eq!(back, 200, "the app recovers without a restart");
}

#[tokio::test]
async fn a_write_while_another_process_locks_sqlite_answers_503_and_reads_go_on() {
    let app = TestApp::spawn().await;
    if app.state.db.backend != Backend::Sqlite {
        return;
    }
    let browser = app.browser();
    let mut locker = sqlx::AnyConnection::connect(app.state.settings.database_url.expose()).await.unwrap();
    locker.execute("BEGIN IMMEDIATE").await.unwrap();
    let counted = shoestring::kernel::db::health::unavailable_answers();

    let write = browser.json("/api/posts/", serde_json::json!({"body": "while locked"})).await;
    let read = browser.get("/posts/").await.status();
    locker.execute("ROLLBACK").await.unwrap();
    let after = browser.json("/api/posts/", serde_json::json!({"body": "after the lock"})).await.0;

    assert_eq!(write.0, 503, "{}", write.1);
    assert_eq!(read, 200);
    assert_eq!(after, 201);
    assert!(shoestring::kernel::db::health::unavailable_answers() > counted, "the 503 is counted");
    let metrics = app.state.metrics.render(&app.state).await;
    assert!(metrics.contains("shoestring_db_unavailable_answers_total "), "{metrics}");
    assert!(metrics.contains("shoestring_db_pool_max_connections "));
}
