//! Logging in and out, throttling, and what a failed login gives away (nothing).

use serde_json::json;

use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn users_log_in_with_username_or_email_in_any_case() {
    let app = TestApp::spawn().await;
    let user = app.confirmed_user("alice").await;

    for login in ["alice", "ALICE", "alice@example.com", "Alice@Example.COM"] {
        let browser = app.browser();
        let (status, body) = browser.json("/api/login/", json!({"username": login, "password": user.password})).await;
        assert_eq!((status, body), (200, json!({"details": "Successfully logged in."})), "{login}");
        assert!(browser.is_logged_in().await);
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_byte_identical_answers() {
    let app = TestApp::spawn().await;
    app.confirmed_user("bob").await;
    let browser = app.browser();
    browser.csrf_token().await;

    let wrong = browser.post_json("/api/login/", &json!({"username": "bob", "password": "not the password!"})).await;
    let wrong_cookies: Vec<String> = wrong.cookies().map(|c| c.name().to_owned()).collect();
    let (wrong_status, wrong_body) = (wrong.status(), wrong.text().await.unwrap());
    let unknown =
        browser.post_json("/api/login/", &json!({"username": "nobody", "password": "not the password!"})).await;
    let unknown_cookies: Vec<String> = unknown.cookies().map(|c| c.name().to_owned()).collect();

    assert_eq!(wrong_status, 400);
    assert_eq!(unknown.status(), wrong_status);
    assert_eq!(unknown.text().await.unwrap(), wrong_body);
    assert_eq!(wrong_body, r#"{"details":"Invalid credentials."}"#);
    assert_eq!(unknown_cookies, wrong_cookies);
}

#[tokio::test]
async fn missing_or_null_credentials_are_a_400() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for body in [json!({}), json!({"username": null, "password": null}), json!({"username": "x"})] {
        let (status, reply) = browser.json("/api/login/", body).await;
        assert_eq!((status, reply), (400, json!({"details": "Please provide username and password."})));
    }
}

#[tokio::test]
async fn login_gives_a_new_session_id_and_logout_destroys_it() {
    let app = TestApp::spawn().await;
    let user = app.confirmed_user("carol").await;
    let browser = app.browser();
    browser.set_cookie("sessionid", "forged-session-id-value");

    browser.api_login("carol", &user.password).await;
    let session = browser.cookie("sessionid").unwrap();
    let (status, body) = browser.json("/api/logout/", json!({})).await;
    let replay = app.browser();
    replay.set_cookie("sessionid", &session);

    assert_ne!(session, "forged-session-id-value");
    assert_eq!((status, body), (200, json!({"details": "Successfully logged out."})));
    assert!(!replay.is_logged_in().await);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn logging_out_when_not_logged_in_is_a_400() {
    let app = TestApp::spawn().await;

    let (status, body) = app.browser().json("/api/logout/", json!({})).await;

    assert_eq!((status, body), (400, json!({"details": "You are not logged in."})));
}

#[tokio::test]
async fn ten_failures_throttle_the_account_for_fifteen_minutes_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    app.confirmed_user("dave").await;
    let browser = app.browser();

    for _ in 0..10 {
        browser.json("/api/login/", json!({"username": "dave", "password": "wrong password here"})).await;
    }
    let throttled = browser.post_json("/api/login/", &json!({"username": "dave", "password": PASSWORD})).await;
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let status = throttled.status();
    app.clock().advance(15 * 60 + 1);
    let (later, _) = browser.json("/api/login/", json!({"username": "dave", "password": PASSWORD})).await;

    assert_eq!(status, 429);
    assert!(retry_after > 0 && retry_after <= 900);
    assert_eq!(later, 200);
}

#[tokio::test]
async fn unknown_accounts_are_throttled_the_same_way() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses
            .push(browser.json("/api/login/", json!({"username": "ghost", "password": "wrong password here"})).await.0);
    }

    assert!(statuses[..10].iter().all(|s| *s == 400));
    assert_eq!(statuses[10], 429);
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let app = TestApp::spawn().await;
    app.confirmed_user("erin").await;
    let browser = app.browser();

    for _ in 0..9 {
        browser.json("/api/login/", json!({"username": "erin", "password": "wrong password here"})).await;
    }
    browser.api_login("erin", PASSWORD).await;
    for _ in 0..9 {
        browser.json("/api/login/", json!({"username": "erin", "password": "wrong password here"})).await;
    }

    assert_eq!(browser.json("/api/login/", json!({"username": "erin", "password": PASSWORD})).await.0, 200);
}

/// Sends `count` login attempts at once with `forwarded_for` (`{n}` numbers each attempt) and
/// returns their statuses and Retry-After headers. At once, because the bucket refills one
/// attempt every two seconds.
async fn burst(browser: &crate::support::Browser, count: usize, forwarded_for: &str, first: usize) -> Vec<(u16, bool)> {
    let requests = (first..first + count).map(|n| {
        let request = browser
            .client
            .post(browser.url("/api/login/"))
            .header("x-forwarded-for", forwarded_for.replace("{n}", &n.to_string()))
            .json(&json!({"username": format!("user{n}"), "password": "wrong password here"}));
        tokio::spawn(async move { request.send().await })
    });
    let mut out = Vec::new();
    for handle in requests.collect::<Vec<_>>() {
        let res = handle.await.unwrap().unwrap();
        out.push((res.status().as_u16(), res.headers().contains_key("retry-after")));
    }
    out
}

#[tokio::test]
async fn one_ip_is_limited_to_thirty_login_attempts_a_minute_and_forged_forwarding_is_ignored() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let answers = burst(&browser, 32, "198.51.100.{n}", 0).await;

    let limited: Vec<_> = answers.iter().filter(|(status, _)| *status == 429).collect();
    assert!(!limited.is_empty() && limited.len() <= 2, "{answers:?}");
    assert!(limited.iter().all(|(_, retry_after)| *retry_after));
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let app = TestApp::spawn_with(|s| s.trusted_proxies = "127.0.0.1".parse().unwrap()).await;
    let browser = app.browser();

    let first = burst(&browser, 32, "6.6.6.6, 203.0.113.1", 0).await;
    let other = burst(&browser, 1, "6.6.6.6, 203.0.113.2", 100).await;

    assert!(first.iter().any(|(status, _)| *status == 429));
    assert_eq!(other[0].0, 400);
}

#[tokio::test]
async fn a_deactivated_account_cannot_log_in_and_its_sessions_stop_working() {
    let app = TestApp::spawn().await;
    let (user, browser) = app.logged_in("frank").await;

    sqlx::query("UPDATE users SET is_active = FALSE").execute(&app.state.db.pool).await.unwrap();

    assert!(!browser.is_logged_in().await);
    let (status, body) =
        app.browser().json("/api/login/", json!({"username": "frank", "password": user.password})).await;
    assert_eq!((status, body["details"].as_str()), (400, Some("Invalid credentials.")));
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_the_absolute_lifetime() {
    let app = TestApp::spawn_with(|s| {
        s.session_idle_days = 1;
        s.session_max_days = 2;
    })
    .await;
    let (_, idle) = app.logged_in("gina").await;
    let (_, busy) = app.logged_in("hank").await;

    for _ in 0..4 {
        app.clock().advance(11 * 3600);
        assert!(busy.is_logged_in().await, "a busy session survives its first two days");
    }
    let idle_after = idle.is_logged_in().await;
    app.clock().advance(5 * 3600);

    assert!(!idle_after);
    assert!(!busy.is_logged_in().await, "absolute lifetime ends even a busy session");
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_with_owasp_parameters_and_unique_salts() {
    let app = TestApp::spawn().await;
    app.confirmed_user("ivy").await;
    app.confirmed_user("jack").await;

    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT password_hash FROM users").fetch_all(&app.state.db.pool).await.unwrap();

    assert_eq!(hashes.len(), 2);
    assert!(hashes.iter().all(|h| h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")));
    assert_ne!(hashes[0], hashes[1]);
}

#[tokio::test]
async fn raising_the_hash_parameters_rehashes_on_the_next_login() {
    let app = TestApp::spawn().await;
    app.confirmed_user("kate").await;
    let stronger = shoestring::kernel::security::password::PasswordHasher::new(19456, 3, 1).unwrap();
    let mut services = (*app.state).clone();
    services.passwords = stronger;
    let state = shoestring::kernel::AppState::from(services);
    let attempt = shoestring::apps::accounts::LoginAttempt {
        login: "kate".into(),
        password: shoestring::kernel::security::password::Password::new(PASSWORD),
    };

    shoestring::apps::accounts::authenticate(&state, attempt, "127.0.0.1".parse().unwrap()).await.unwrap();

    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users").fetch_one(&app.state.db.pool).await.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=3,p=1$"), "{hash}");
}
