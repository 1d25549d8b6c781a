//! Each instance keeps signed-in sessions in memory (`kernel/session_cache.rs`). Whatever ends
//! or changes a session or its user, on whichever instance or process, must be refused on every
//! instance within a second: two instances run on one database here.

use std::time::{Duration, Instant};

use crate::support::{Browser, PASSWORD, TestApp};

const WITHIN: Duration = Duration::from_secs(1);

/// A browser on `app` carrying `signed_in`'s session cookie (the same session, another instance).
fn same_session_on(app: &TestApp, signed_in: &Browser) -> Browser {
    let browser = app.browser();
    browser.set_cookie("sessionid", &signed_in.cookie("sessionid").expect("a session cookie"));
    browser
}

async fn profile_status(browser: &Browser) -> u16 {
    browser.get("/api/profile/").await.status().as_u16()
}

/// Signs in `name` on `a` and proves that `b` serves the same session from its cache.
async fn cached_on_other_instance(a: &TestApp, b: &TestApp, name: &str) -> (Browser, Browser) {
    let (_, on_a) = a.logged_in(name).await;
    let on_b = same_session_on(b, &on_a);
    for _ in 0..3 {
        assert_eq!(profile_status(&on_b).await, 200, "the session works on the other instance");
    }
    assert_eq!(b.state.sessions.len(), 1, "the other instance keeps the session in memory");
    (on_a, on_b)
}

/// Asserts that `browser`'s profile request is refused within `WITHIN` of `since` (polling).
async fn refused_within_a_second(browser: &Browser, since: Instant, what: &str) {
    loop {
        if profile_status(browser).await != 200 {
            break;
        }
        assert!(since.elapsed() < 2 * WITHIN, "{what}: still signed in after {:?}", since.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = since.elapsed();
    assert!(took <= WITHIN, "{what}: refused after {took:?}");
}

#[tokio::test]
async fn a_logout_on_one_instance_is_refused_on_the_other_within_a_second() {
    let a = TestApp::spawn().await;
    let b = a.spawn_beside().await;
    let (on_a, on_b) = cached_on_other_instance(&a, &b, "rita").await;
    let copy_on_a = same_session_on(&a, &on_a);

    let (status, _) = on_a.json("/api/logout/", serde_json::json!({})).await;
    assert_eq!(status, 200);
    let ended = Instant::now();

    assert_ne!(profile_status(&copy_on_a).await, 200, "refused at once where it was ended");
    refused_within_a_second(&on_b, ended, "the other instance").await;
}

#[tokio::test]
async fn a_password_change_on_one_instance_ends_the_other_sessions_on_every_instance() {
    let a = TestApp::spawn().await;
    let b = a.spawn_beside().await;
    let (_, on_b) = cached_on_other_instance(&a, &b, "sam").await;
    let second = a.browser();
    second.api_login("sam", PASSWORD).await;

    let body = serde_json::json!({"current-password": PASSWORD, "new-password": "a different long passphrase 42"});
    let (status, answer) = second.json("/api/change-password/", body).await;
    assert_eq!(status, 200, "{answer}");
    let changed = Instant::now();

    refused_within_a_second(&on_b, changed, "the old session").await;
    assert_eq!(profile_status(&second).await, 200, "the session that changed it goes on");
}

#[tokio::test]
async fn staff_ending_a_users_sessions_is_refused_on_every_instance_at_once_or_within_a_second() {
    let a = TestApp::spawn().await;
    let b = a.spawn_beside().await;
    let (on_a, on_b) = cached_on_other_instance(&a, &b, "tove").await;
    assert_eq!(profile_status(&on_a).await, 200);
    let (_, staff) = a.staff("boss").await;
    let id = a.scalar_i64("SELECT id FROM users WHERE username = 'tove'").await;

    let res = staff.submit(&format!("/admin/users/{id}/sessions/"), &[]).await;
    assert!(res.status().is_redirection() || res.status().is_success(), "{}", res.status());
    let ended = Instant::now();

    assert_ne!(profile_status(&on_a).await, 200, "refused at once on the instance that ended it");
    refused_within_a_second(&on_b, ended, "the other instance").await;
}

#[tokio::test]
async fn a_statement_typed_by_hand_in_another_process_reaches_every_instance_within_a_second() {
    let a = TestApp::spawn().await;
    let b = a.spawn_beside().await;
    let (on_a, on_b) = cached_on_other_instance(&a, &b, "ulla").await;
    assert_eq!(profile_status(&on_a).await, 200);

    // Another process on the same database, as `sqlite3` or `psql` would be: no cache, no feed.
    let url = a.state.settings.database_url.expose().to_owned();
    let other = shoestring::kernel::db::Db::connect(&url).await.unwrap();
    sqlx::query("UPDATE users SET is_active = FALSE WHERE username = 'ulla'").execute(&other.pool).await.unwrap();
    let changed = Instant::now();

    refused_within_a_second(&on_a, changed, "instance a").await;
    refused_within_a_second(&on_b, changed, "instance b").await;
}

#[tokio::test]
async fn while_the_change_feed_is_broken_sessions_are_read_from_the_database() {
    let a = TestApp::spawn().await;
    let b = a.spawn_beside().await;
    let (_, on_b) = cached_on_other_instance(&a, &b, "vera").await;

    // Break the feed without stopping the database: on SQLite the servers' polls fail, on
    // PostgreSQL the listening connections are cut (they come back, and start over).
    let broken = match a.state.db.backend {
        shoestring::kernel::db::Backend::Sqlite => "ALTER TABLE auth_changes RENAME TO auth_changes_away",
        shoestring::kernel::db::Backend::Postgres => {
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        }
    };
    sqlx::query(broken).execute(&a.state.db.pool).await.unwrap();
    let deadline = Instant::now() + 2 * WITHIN;
    while b.state.db.changes.is_live() && b.state.sessions.len() == 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(b.state.sessions.is_empty() || !b.state.db.changes.is_live(), "the cache was not given up");

    sqlx::query("UPDATE users SET is_active = FALSE WHERE username = 'vera'").execute(&a.state.db.pool).await.unwrap();
    assert_ne!(profile_status(&on_b).await, 200, "a broken feed must not leave a stale session signed in");
}

/// The PostgreSQL server process behind a connection, stopped (SIGSTOP) as a frozen server or a
/// dropped route would leave it: the socket stays open and nothing arrives. Resumed and ended
/// when dropped, whatever the test did.
struct Frozen(i32);

impl Frozen {
    fn stop(pid: i32) -> Self {
        let stopped = std::process::Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap();
        assert!(stopped.success(), "could not stop the server process {pid}");
        Self(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-CONT", &self.0.to_string()]).status();
        let _ = std::process::Command::new("kill").args(["-TERM", &self.0.to_string()]).status();
    }
}

async fn listening_pid(app: &TestApp) -> Option<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' \
         AND state = 'idle' ORDER BY backend_start DESC LIMIT 1",
    )
    .fetch_optional(&app.state.db.pool)
    .await
    .unwrap()
}

async fn live_within(app: &TestApp, wanted: bool, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while app.state.db.changes.is_live() != wanted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.state.db.changes.is_live() == wanted
}

#[tokio::test]
async fn a_listening_connection_that_falls_silent_is_replaced_and_the_cache_comes_back() {
    let app = TestApp::spawn().await;
    if app.state.db.backend != shoestring::kernel::db::Backend::Postgres {
        return;
    }
    assert!(live_within(&app, true, 2 * WITHIN).await, "the feed never became live");
    let silent = listening_pid(&app).await.expect("a listening connection");

    let _frozen = Frozen::stop(silent);

    assert!(live_within(&app, false, 2 * WITHIN).await, "still trusted without its markers");
    assert!(live_within(&app, true, Duration::from_secs(10)).await, "the feed did not listen again");
    let listening = listening_pid(&app).await;
    assert!(listening.is_some_and(|pid| pid != silent), "listening on {listening:?}, the silent one was {silent}");
    let (_, browser) = app.logged_in("wanda").await;
    for _ in 0..2 {
        assert_eq!(profile_status(&browser).await, 200);
    }
    assert_eq!(app.state.sessions.len(), 1, "sessions are kept in memory again");
}
