//! A signed-in user's own account: names, email change, password change, deletion, export.

use serde_json::json;

use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn a_user_updates_names_and_nickname_and_nothing_else() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("alice").await;

    let res = browser
        .patch_json(
            "/api/profile/",
            &json!({"first-name": "Alice", "nickname": "Al 🚀", "is_staff": true, "username": "root"}),
        )
        .await;
    let (_, profile) = browser.get_json("/api/profile/").await;

    assert_eq!(res.status(), 200);
    assert_eq!(profile["first-name"], "Alice");
    assert_eq!(profile["nickname"], "Al 🚀");
    assert_eq!(profile["username"], "alice");
    assert_eq!(profile["is-staff"], false);
}

#[tokio::test]
async fn profile_endpoints_need_a_session() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for path in ["/api/profile/", "/api/export/", "/api/users/"] {
        assert_eq!(browser.get_json(path).await.0, 401, "{path}");
    }
    assert_eq!(browser.json("/api/change-password/", json!({})).await.0, 401);
}

#[tokio::test]
async fn an_email_change_needs_the_password_and_the_new_address_confirms_it() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("bob").await;

    let (wrong, _) =
        browser.json("/api/change-email/", json!({"email": "robert@example.org", "password": "nope nope nope"})).await;
    let (ok, _) =
        browser.json("/api/change-email/", json!({"email": "robert@example.org", "password": PASSWORD})).await;
    let (_, before) = browser.get_json("/api/profile/").await;
    let link = app.link_in(&app.last_mail_to("robert@example.org").await, "/accounts/email/confirm/");
    let (confirmed, _) = browser.json(&format!("/api/confirm-email/{}", TestApp::token_of(&link)), json!({})).await;
    let (_, after) = browser.get_json("/api/profile/").await;

    assert_eq!((wrong, ok, confirmed), (400, 200, 200));
    assert_eq!(before["email"], "bob@example.com");
    assert_eq!(after["email"], "robert@example.org");
    let notice = app.last_mail_to("bob@example.com").await;
    assert!(notice.subject.contains("email address was changed"));
    assert!(notice.text_body.contains("robert@example.org"));
}

#[tokio::test]
async fn changing_to_a_taken_address_reveals_nothing_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.confirmed_user("carol").await;
    let (_, browser) = app.logged_in("dave").await;

    let (status, _) =
        browser.json("/api/change-email/", json!({"email": "carol@example.com", "password": PASSWORD})).await;

    assert_eq!(status, 200);
    assert!(app.last_mail_to("carol@example.com").await.subject.contains("tried to sign up"));
    assert_eq!(browser.get_json("/api/profile/").await.1["email"], "dave@example.com");
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_every_other_session() {
    let app = TestApp::spawn().await;
    let (user, browser) = app.logged_in("erin").await;
    let other = app.browser();
    other.api_login("erin", &user.password).await;
    let new_password = "a brand new long passphrase";

    let (wrong, _) = browser
        .json("/api/change-password/", json!({"current-password": "nope nope nope", "new-password": new_password}))
        .await;
    let (weak, _) =
        browser.json("/api/change-password/", json!({"current-password": PASSWORD, "new-password": "short"})).await;
    let (ok, _) = browser
        .json("/api/change-password/", json!({"current-password": PASSWORD, "new-password": new_password}))
        .await;

    assert_eq!((wrong, weak, ok), (400, 400, 200));
    let listed = app.scalar_i64("SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL").await;
    assert_eq!(listed, 1, "the other session is gone from the list at once, not at its next visit");
    assert!(browser.is_logged_in().await, "the session that changed it stays");
    assert!(!other.is_logged_in().await, "every other session ends");
    assert!(app.last_mail_to("erin@example.com").await.subject.contains("password was changed"));
    app.browser().api_login("erin", new_password).await;
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_removes_the_data_and_says_goodbye() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("frank").await;

    let (wrong, _) = browser.json("/api/delete-account/", json!({"password": "nope nope nope"})).await;
    let (ok, body) = browser.json("/api/delete-account/", json!({"password": PASSWORD})).await;

    assert_eq!((wrong, ok), (400, 200));
    assert_eq!(body["details"], "Account deleted.");
    assert!(!browser.is_logged_in().await);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM user_tokens").await, 0);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM sessions").await, 0);
    assert!(app.last_mail_to("frank@example.com").await.subject.contains("deleted"));
}

#[tokio::test]
async fn a_user_downloads_all_of_their_data_as_a_json_file() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("gina").await;

    let res = browser.get("/api/export/").await;
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    let data: serde_json::Value = res.json().await.unwrap();

    assert!(disposition.starts_with("attachment;"));
    assert_eq!(data["username"], "gina");
    assert_eq!(data["email"], "gina@example.com");
    assert_eq!(data["active_sessions"], 1);
    assert!(data.get("password_hash").is_none());
}
