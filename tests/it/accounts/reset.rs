//! Forgotten passwords: the request, the emailed link and what using it does.

use serde_json::json;

use crate::support::{PASSWORD, TestApp};

const NEW_PASSWORD: &str = "a completely new passphrase";

async fn reset_token(app: &TestApp, email: &str) -> String {
    let mail = app.last_mail_to(email).await;
    TestApp::token_of(&app.link_in(&mail, "/accounts/password-reset/"))
}

#[tokio::test]
async fn a_reset_request_answers_the_same_for_known_and_unknown_addresses() {
    let app = TestApp::spawn().await;
    app.confirmed_user("alice").await;
    let browser = app.browser();

    let known = browser.json("/api/recover-password/", json!({"email": "alice@example.com"})).await;
    let unknown = browser.json("/api/recover-password/", json!({"email": "nobody@example.com"})).await;
    let garbage = browser.json("/api/recover-password/", json!({"email": 42})).await;

    assert_eq!(known, (200, json!({"details": "Email sent."})));
    assert_eq!(unknown, known);
    assert_eq!(garbage.0, 400);
    let reset_mails: Vec<_> = app.mails().await.into_iter().filter(|m| m.subject.contains("Reset")).collect();
    assert_eq!(reset_mails.len(), 1);
    assert_eq!(reset_mails[0].to_addr, "alice@example.com");
}

#[tokio::test]
async fn the_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let (_, logged_in) = app.logged_in("bob").await;
    let browser = app.browser();
    browser.json("/api/recover-password/", json!({"email": "bob@example.com"})).await;
    let token = reset_token(&app, "bob@example.com").await;

    let first = browser.json("/api/update-password/", json!({"email-token": token, "password": NEW_PASSWORD})).await;
    let again = browser
        .json("/api/update-password/", json!({"email-token": token, "password": "yet another passphrase"}))
        .await;

    assert_eq!(first, (200, json!({"details": "Password successfully updated."})));
    assert_eq!(again.0, 400);
    assert!(!logged_in.is_logged_in().await);
    assert!(!browser.is_logged_in().await, "a reset never logs anyone in");
    assert!(app.last_mail_to("bob@example.com").await.subject.contains("password was changed"));
    assert_eq!(browser.json("/api/login/", json!({"username": "bob", "password": PASSWORD})).await.0, 400);
    browser.api_login("bob", NEW_PASSWORD).await;
}

#[tokio::test]
async fn the_reset_link_expires_after_an_hour() {
    let app = TestApp::spawn().await;
    app.confirmed_user("carol").await;
    let browser = app.browser();
    browser.json("/api/recover-password/", json!({"email": "carol@example.com"})).await;
    let token = reset_token(&app, "carol@example.com").await;

    app.clock().advance(3600 + 1);
    let (status, body) =
        browser.json("/api/update-password/", json!({"email-token": token, "password": NEW_PASSWORD})).await;

    assert_eq!(status, 400);
    assert_eq!(body["details"], "This link is invalid or has expired.");
}

#[tokio::test]
async fn a_newer_reset_link_voids_the_older_one() {
    let app = TestApp::spawn().await;
    app.confirmed_user("dave").await;
    let browser = app.browser();
    browser.json("/api/recover-password/", json!({"email": "dave@example.com"})).await;
    let old = reset_token(&app, "dave@example.com").await;
    browser.json("/api/recover-password/", json!({"email": "dave@example.com"})).await;
    let new = reset_token(&app, "dave@example.com").await;

    let with_old = browser.json("/api/update-password/", json!({"email-token": old, "password": NEW_PASSWORD})).await;
    let with_new = browser.json("/api/update-password/", json!({"email-token": new, "password": NEW_PASSWORD})).await;

    assert_ne!(old, new);
    assert_eq!((with_old.0, with_new.0), (400, 200));
}

#[tokio::test]
async fn a_password_change_voids_outstanding_reset_links() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("erin").await;
    browser.json("/api/recover-password/", json!({"email": "erin@example.com"})).await;
    let token = reset_token(&app, "erin@example.com").await;

    browser.json("/api/change-password/", json!({"current-password": PASSWORD, "new-password": NEW_PASSWORD})).await;
    let (status, _) = browser
        .json("/api/update-password/", json!({"email-token": token, "password": "yet another passphrase"}))
        .await;

    assert_eq!(status, 400);
}

#[tokio::test]
async fn asking_for_a_reset_changes_nothing_until_the_link_is_used() {
    let app = TestApp::spawn().await;
    app.confirmed_user("frank").await;
    let browser = app.browser();

    browser.json("/api/recover-password/", json!({"email": "frank@example.com"})).await;

    browser.api_login("frank", PASSWORD).await;
}

#[tokio::test]
async fn a_weak_new_password_or_a_bad_token_is_a_400() {
    let app = TestApp::spawn().await;
    app.confirmed_user("gina").await;
    let browser = app.browser();
    browser.json("/api/recover-password/", json!({"email": "gina@example.com"})).await;
    let token = reset_token(&app, "gina@example.com").await;

    let weak = browser.json("/api/update-password/", json!({"email-token": token, "password": "short"})).await;
    let unknown = browser
        .json("/api/update-password/", json!({"email-token": "unknown-token-value-xxxxxxxx", "password": NEW_PASSWORD}))
        .await;
    let missing = browser.json("/api/update-password/", json!({"password": NEW_PASSWORD})).await;

    assert_eq!(weak.0, 400);
    assert!(weak.1["details"].as_str().unwrap().contains("too short"));
    assert_eq!(unknown.0, 400);
    assert_eq!(missing.0, 400);
    browser.json("/api/update-password/", json!({"email-token": token, "password": NEW_PASSWORD})).await;
    browser.api_login("gina", NEW_PASSWORD).await;
}

#[tokio::test]
async fn only_three_reset_mails_an_hour_go_to_one_account() {
    let app = TestApp::spawn().await;
    app.confirmed_user("hank").await;
    let browser = app.browser();

    for _ in 0..4 {
        assert_eq!(browser.json("/api/recover-password/", json!({"email": "hank@example.com"})).await.0, 200);
        app.run_jobs().await;
    }

    let resets = app.mails_to("hank@example.com").await.into_iter().filter(|m| m.subject.contains("Reset")).count();
    assert_eq!(resets, 3);
}

#[tokio::test]
async fn the_link_uses_the_configured_base_url_never_the_request_host() {
    let app = TestApp::spawn_with(|s| {
        s.base_url = Some("https://app.example.com".into());
        s.allowed_hosts = vec!["app.example.com".into()];
    })
    .await;
    app.confirmed_user("ivy").await;
    let browser = app.browser();

    let forged = browser
        .client
        .post(browser.url("/api/recover-password/"))
        .header("host", "evil.example")
        .json(&json!({"email": "ivy@example.com"}))
        .send()
        .await
        .unwrap();
    let spoofed = browser
        .client
        .post(browser.url("/api/recover-password/"))
        .header("x-forwarded-host", "evil.example")
        .json(&json!({"email": "ivy@example.com"}))
        .send()
        .await
        .unwrap();

    assert_eq!(forged.status(), 400);
    assert_eq!(spoofed.status(), 200);
    let mail = app.last_mail_to("ivy@example.com").await;
    assert!(mail.text_body.contains("https://app.example.com/accounts/password-reset/"));
    assert!(!mail.text_body.contains("evil.example"));
}
