//! The durable job queue: retries with backoff, dead jobs, orphan recovery, schedules, and a
//! worker that stops without stranding its job.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use shoestring::kernel::jobs::{self, Registry, Schedule, Worker};
use tokio::sync::watch;

use crate::support::TestApp;

async fn enqueue(app: &TestApp, kind: &str) {
    let mut tx = app.state.db.begin_write().await.unwrap();
    jobs::enqueue(&mut tx, kind, &serde_json::json!({"n": 1}), app.clock().now()).await.unwrap();
    tx.commit().await.unwrap();
}

fn counting_worker(app: &TestApp, fail_times: usize) -> (Worker, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::default();
    let counter = calls.clone();
    registry.handle("test.flaky", move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move { if n < fail_times { anyhow::bail!("failure {n}") } else { Ok(()) } }
    });
    (Worker::new(app.state.db.clone(), app.clock().clone(), registry), calls)
}

#[tokio::test]
async fn a_failing_job_is_retried_later_with_growing_gaps_then_succeeds() {
    let app = TestApp::spawn().await;
    let (worker, calls) = counting_worker(&app, 2);
    enqueue(&app, "test.flaky").await;

    worker.run_due().await.unwrap();
    let first_gap = app.scalar_i64("SELECT run_at FROM jobs").await - app.clock().now();
    worker.run_due().await.unwrap();
    let not_yet = calls.load(Ordering::SeqCst);
    app.clock().advance(first_gap);
    worker.run_due().await.unwrap();
    let second_gap = app.scalar_i64("SELECT run_at FROM jobs").await - app.clock().now();
    app.clock().advance(second_gap);
    worker.run_due().await.unwrap();

    assert_eq!(not_yet, 1, "no retry before the backoff is over");
    assert!(second_gap > first_gap);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM jobs").await, 0, "done jobs leave no row");
}

#[tokio::test]
async fn a_job_that_always_fails_ends_dead_after_its_attempts() {
    let app = TestApp::spawn().await;
    let (worker, calls) = counting_worker(&app, usize::MAX);
    enqueue(&app, "test.flaky").await;

    for _ in 0..20 {
        worker.run_due().await.unwrap();
        app.clock().advance(3600);
    }

    assert_eq!(calls.load(Ordering::SeqCst), 8);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM jobs WHERE status = 'dead'").await, 1);
}

#[tokio::test]
async fn a_job_cut_off_by_a_dead_worker_runs_again_once_its_short_lease_lapses() {
    let app = TestApp::spawn().await;
    let (worker, calls) = counting_worker(&app, 0);
    enqueue(&app, "test.flaky").await;
    sqlx::query("UPDATE jobs SET status = 'running', locked_at = $1, attempts = 1")
        .bind(app.clock().now())
        .execute(&app.state.db.pool)
        .await
        .unwrap();

    worker.run_due().await.unwrap();
    let while_leased = calls.load(Ordering::SeqCst);
    app.clock().advance(jobs::LEASE_SECS + 1);
    worker.run_due().await.unwrap();

    assert_eq!(while_leased, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn two_workers_enqueue_each_scheduled_run_exactly_once() {
    let app = TestApp::spawn().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let make = || {
        let mut registry = Registry::default();
        let counter = calls.clone();
        registry.handle("test.tick", move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        });
        registry.schedule(Schedule { name: "test.tick", every_secs: 60, kind: "test.tick" });
        Worker::new(app.state.db.clone(), app.clock().clone(), registry)
    };
    let (a, b) = (make(), make());
    a.register_schedules().await.unwrap();
    b.register_schedules().await.unwrap();

    for _ in 0..5 {
        app.clock().advance(60);
        let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
        ra.unwrap();
        rb.unwrap();
    }

    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn the_daily_cleanup_removes_expired_tokens_and_unconfirmed_sign_ups() {
    let app = TestApp::spawn().await;
    app.confirmed_user("alice").await;
    app.browser().json("/api/create-account/", crate::support::TestUser::named("never").signup_json()).await;
    app.run_jobs().await;

    app.clock().advance(72 * 3600 + 1);
    shoestring::apps::accounts::cleanup(&app.state).await.unwrap();

    let users: Vec<String> =
        sqlx::query_scalar("SELECT username FROM users").fetch_all(&app.state.db.pool).await.unwrap();
    assert_eq!(users, vec!["alice".to_owned()]);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM user_tokens").await, 0);
    let reason: String =
        sqlx::query_scalar("SELECT reason FROM audit_events WHERE action = 'user.unconfirmed_removed'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(reason, "1 sign-up(s) never confirmed");
}

#[tokio::test]
async fn a_worker_stopped_mid_job_stops_renewing_so_another_worker_takes_the_job() {
    let app = TestApp::spawn().await;
    let started = Arc::new(tokio::sync::Notify::new());
    let mut registry = Registry::default();
    let signal = started.clone();
    registry.handle("test.hangs", move |_| {
        signal.notify_one();
        std::future::pending::<anyhow::Result<()>>()
    });
    let stuck = Worker::new(app.state.db.clone(), app.clock().clone(), registry);
    enqueue(&app, "test.hangs").await;
    let run = tokio::spawn(async move { stuck.run_due().await });
    started.notified().await;

    run.abort();
    let _ = run.await;
    app.clock().advance(jobs::LEASE_SECS + 1);
    // Past the renewal interval: a renewer left running would have moved the lease to "now".
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let locked_at = app.scalar_i64("SELECT locked_at FROM jobs").await;
    let (worker, calls) = counting_worker(&app, 0);
    sqlx::query("UPDATE jobs SET kind = 'test.flaky'").execute(&app.state.db.pool).await.unwrap();
    worker.run_due().await.unwrap();

    assert!(locked_at <= app.clock().now() - jobs::LEASE_SECS, "the lease was renewed after the worker stopped");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A worker running the loop `serve` runs, with a handler for `test.slow` that takes `takes` (or
/// never ends, with `None`) and reports when it starts; the sender stops it.
fn stoppable_worker(
    app: &TestApp,
    takes: Option<Duration>,
    grace: Duration,
) -> (tokio::task::JoinHandle<()>, watch::Sender<bool>, Arc<tokio::sync::Notify>, Arc<AtomicUsize>) {
    let (started, finished) = (Arc::new(tokio::sync::Notify::new()), Arc::new(AtomicUsize::new(0)));
    let mut registry = Registry::default();
    let (signal, count) = (started.clone(), finished.clone());
    registry.handle("test.slow", move |_| {
        let (signal, count) = (signal.clone(), count.clone());
        async move {
            signal.notify_one();
            match takes {
                Some(takes) => tokio::time::sleep(takes).await,
                None => std::future::pending().await,
            }
            count.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let worker = Worker::new(app.state.db.clone(), app.clock().clone(), registry);
    let (stop, stopped) = watch::channel(false);
    (tokio::spawn(worker.run(stopped, grace)), stop, started, finished)
}

#[tokio::test]
async fn a_stopping_worker_finishes_its_running_job_and_claims_no_other() {
    let app = TestApp::spawn().await;
    enqueue(&app, "test.slow").await;
    enqueue(&app, "test.slow").await;
    let (run, stop, started, finished) =
        stoppable_worker(&app, Some(Duration::from_millis(500)), Duration::from_secs(10));
    started.notified().await;

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), run).await.expect("the worker stopped").unwrap();

    assert_eq!(finished.load(Ordering::SeqCst), 1);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND attempts = 0").await, 1);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM jobs").await, 1, "the finished job is gone");
}

#[tokio::test]
async fn a_stopping_worker_gives_back_a_job_that_outlasts_the_grace_so_another_takes_it_at_once() {
    let app = TestApp::spawn().await;
    enqueue(&app, "test.slow").await;
    let (run, stop, started, finished) = stoppable_worker(&app, None, Duration::from_millis(300));
    started.notified().await;

    let stopping = Instant::now();
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), run).await.expect("the worker stopped").unwrap();
    let took = stopping.elapsed();
    let (status, locked) = (
        sqlx::query_scalar::<_, String>("SELECT status FROM jobs").fetch_one(&app.state.db.pool).await.unwrap(),
        app.scalar_i64("SELECT COUNT(*) FROM jobs WHERE locked_at IS NOT NULL").await,
    );
    sqlx::query("UPDATE jobs SET kind = 'test.flaky'").execute(&app.state.db.pool).await.unwrap();
    let (next, calls) = counting_worker(&app, 0);
    next.run_due().await.unwrap();

    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "stopped after {took:?}");
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    assert_eq!((status.as_str(), locked), ("queued", 0), "the lease was not released");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "another worker had to wait for the lease to lapse");
}
