//! Cross-site requests, headers, host checks, and what the database keeps (hashes, not secrets).

use serde_json::json;

use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn cross_site_requests_are_refused_for_api_and_forms_alike() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("alice").await;
    let token = browser.csrf_token().await;

    let api = browser
        .client
        .post(browser.url("/api/change-password/"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"current-password": PASSWORD, "new-password": "a brand new long passphrase"}))
        .send()
        .await
        .unwrap();
    let form = browser
        .client
        .post(browser.url("/accounts/profile/edit/"))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str()), ("first_name", "Hacked")])
        .send()
        .await
        .unwrap();

    assert_eq!(api.status(), 403);
    assert_eq!(form.status(), 403);
    assert_eq!(browser.get_json("/api/profile/").await.1["first-name"], "");
    browser.api_login("alice", PASSWORD).await;
}

#[tokio::test]
async fn same_origin_fetches_work_with_or_without_the_csrf_header() {
    let app = TestApp::spawn().await;
    let user = app.confirmed_user("bob").await;
    let browser = app.browser();
    let token = browser.csrf_token().await;
    let origin = app.url("");

    let with_header = browser
        .client
        .post(browser.url("/api/login/"))
        .header("origin", &origin)
        .header("sec-fetch-site", "same-origin")
        .header("x-csrftoken", &token)
        .json(&json!({"username": user.username, "password": user.password}))
        .send()
        .await
        .unwrap();
    let without = browser
        .client
        .post(browser.url("/api/whoami/"))
        .header("origin", &origin)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    let wrong_header = browser
        .client
        .post(browser.url("/api/logout/"))
        .header("x-csrftoken", "not-the-token-value-at-all-xxxx")
        .send()
        .await
        .unwrap();

    assert_eq!(with_header.status(), 200);
    assert_eq!(without.status(), 200);
    assert_eq!(without.json::<serde_json::Value>().await.unwrap()["authenticated"], true);
    assert_eq!(wrong_header.status(), 403);
}

#[tokio::test]
async fn a_form_without_the_right_token_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.confirmed_user("carol").await;
    let browser = app.browser();
    let other_token = app.browser().csrf_token().await;
    browser.csrf_token().await;

    let none =
        browser.submit_without_token("/accounts/login/", &[("login", "carol"), ("password", &user.password)]).await;
    let foreign = browser
        .submit_without_token(
            "/accounts/login/",
            &[("csrf_token", &other_token), ("login", "carol"), ("password", &user.password)],
        )
        .await;
    let right = browser.submit("/accounts/login/", &[("login", "carol"), ("password", &user.password)]).await;

    assert_eq!(none.status(), 403);
    assert_eq!(foreign.status(), 403);
    assert_eq!(right.status(), 303);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for path in ["/", "/accounts/login/", "/api/session/", "/no-such-page", "/static/style.css"] {
        let res = browser.get(path).await;
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"), "{path}");
        assert!(!h["content-security-policy"].to_str().unwrap().contains("unsafe-inline"), "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(h.contains_key("x-request-id"), "{path}");
        assert!(
            h["content-type"].to_str().unwrap().contains("charset=utf-8") || h["content-type"] == "application/json"
        );
        assert!(!h.contains_key("server") && !h.contains_key("x-powered-by"));
    }
}

#[tokio::test]
async fn a_forged_host_header_is_refused() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let res = browser.client.get(browser.url("/")).header("host", "evil.example").send().await.unwrap();

    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn the_host_check_ignores_case_and_port_but_not_a_suffix() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let with_host = |host: &'static str| browser.client.get(browser.url("/")).header("host", host).send();

    assert_eq!(with_host("LocalHost:8000").await.unwrap().status(), 200);
    assert_eq!(with_host("localhost.evil.example").await.unwrap().status(), 400);
    assert_eq!(with_host("").await.unwrap().status(), 400);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_right_format() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let (api_404, body) = browser.get_json("/api/nothing/").await;
    let page_404 = browser.get("/nothing/").await;
    let page_type = page_404.headers()["content-type"].to_str().unwrap().to_owned();
    let html = page_404.text().await.unwrap();
    let get_login = browser.get("/api/login/").await;
    let trace = browser.client.request(reqwest::Method::TRACE, browser.url("/")).send().await.unwrap();

    assert_eq!((api_404, body["details"].is_string()), (404, true));
    assert!(page_type.starts_with("text/html") && html.contains("There is nothing at this address."));
    assert_eq!(get_login.status(), 405);
    assert_eq!(trace.status(), 405);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let huge = json!({"username": "x".repeat(5 * 1024 * 1024), "password": "y"});

    let res = browser.post_json("/api/login/", &huge).await;

    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn the_database_keeps_only_hashes_of_tokens_and_session_ids() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("dave").await;
    browser.json("/api/recover-password/", json!({"email": "dave@example.com"})).await;
    let mail = app.last_mail_to("dave@example.com").await;
    let token = TestApp::token_of(&app.link_in(&mail, "/accounts/password-reset/"));
    let session_id = browser.cookie("sessionid").unwrap();

    let dump = db_text(&app).await;

    assert!(token.len() >= 43);
    assert!(!dump.contains(&token), "reset token stored in plain text");
    assert!(!dump.contains(&session_id), "session id stored in plain text");
}

/// Every text value of the tables that hold secrets, concatenated.
async fn db_text(app: &TestApp) -> String {
    let mut all = String::new();
    for sql in [
        "SELECT token_hash FROM user_tokens",
        "SELECT id_hash FROM sessions",
        "SELECT data FROM sessions",
        "SELECT payload FROM jobs",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&app.state.db.pool).await.unwrap();
        all.push_str(&rows.join("\n"));
    }
    all
}

#[tokio::test]
async fn a_tampered_or_junk_session_cookie_is_anonymous_not_an_error() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("erin").await;
    let mut session = browser.cookie("sessionid").unwrap();
    session.replace_range(0..1, if session.starts_with('A') { "B" } else { "A" });

    for value in [session, "x".repeat(4000), "%%%".into()] {
        let visitor = app.browser();
        visitor.set_cookie("sessionid", &value);
        let (status, body) = visitor.get_json("/api/session/").await;
        assert_eq!((status, body["authenticated"].as_bool()), (200, Some(false)));
    }
}
