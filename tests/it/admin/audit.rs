//! The audit trail records every change to accounts and posts, by anyone, without secrets; the
//! console filters it, and users see their own security events.

use serde_json::json;

use super::{actions, user_id};
use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn account_changes_are_recorded_with_who_and_from_where_but_no_secrets() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    alice.patch_json("/api/profile/", &json!({"nickname": "Al"})).await;
    alice.json("/api/change-email/", json!({"email": "al@example.org", "password": PASSWORD})).await;
    let link = app.link_in(&app.last_mail_to("al@example.org").await, "/accounts/email/confirm/");
    alice.json(&format!("/api/confirm-email/{}", TestApp::token_of(&link)), json!({})).await;
    alice
        .json("/api/change-password/", json!({"current-password": PASSWORD, "new-password": "a new long passphrase"}))
        .await;
    let post = crate::blog::post(&alice, "first").await;
    alice.patch_json(&format!("/api/posts/{post}/"), &json!({"body": "second"})).await;
    alice.json("/api/delete-account/", json!({"password": "a new long passphrase"})).await;

    let recorded = actions(&app).await;
    for action in [
        "user.signup",
        "user.confirmed",
        "user.login",
        "user.profile_updated",
        "user.email_change_requested",
        "user.email_changed",
        "user.password_changed",
        "post.created",
        "post.updated",
        "user.deleted",
    ] {
        assert!(recorded.iter().any(|a| a == action), "{action} missing from {recorded:?}");
    }
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT ip, changes, actor_name FROM audit_events").fetch_all(&app.state.db.pool).await.unwrap();
    assert!(rows.iter().all(|(ip, _, _)| ip == "127.0.0.1"));
    assert!(rows.iter().any(|(_, changes, _)| changes.contains("\"before\":\"first\",\"after\":\"second\"")));
    let everything: String = rows.iter().map(|(a, b, c)| format!("{a}{b}{c}")).collect();
    assert!(!everything.contains(PASSWORD) && !everything.contains("a new long passphrase"));
}

#[tokio::test]
async fn a_burst_of_failed_logins_is_recorded_once() {
    let app = TestApp::spawn().await;
    app.confirmed_user("bob").await;
    let browser = app.browser();

    for _ in 0..12 {
        browser.json("/api/login/", json!({"username": "bob", "password": "wrong password!"})).await;
    }

    let bursts = actions(&app).await.iter().filter(|a| *a == "user.login_failed_burst").count();
    assert_eq!(bursts, 1);
}

#[tokio::test]
async fn the_console_filters_the_trail_and_pages_through_it() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    let (_, alice) = app.logged_in("alice").await;
    crate::blog::post(&alice, "a post").await;
    let alice_id = user_id(&app, "alice").await;

    let posts_only = staff.get_text("/admin/audit/?target=post").await.1;
    let of_alice = staff.get_text(&format!("/admin/audit/?user={alice_id}")).await.1;
    let logins = staff.get_text("/admin/audit/?action=user.").await.1;
    // A GET form sends its empty fields too: an empty number means "any".
    let (empty_fields, _) = staff.get_text("/admin/audit/?action=&target=user&user=&before=").await;
    let (bad_number, _) = staff.get_text("/admin/audit/?user=abc").await;

    assert!(posts_only.contains("post.created") && !posts_only.contains("user.signup"));
    assert!(of_alice.contains("user.signup") && !of_alice.contains("user.superuser_created"));
    assert!(logins.contains("user.login") && !logins.contains("post.created"));
    assert_eq!((empty_fields, bad_number), (200, 400));
}

#[tokio::test]
async fn users_see_their_own_security_activity_and_sessions_and_can_end_the_others() {
    let app = TestApp::spawn().await;
    let (user, laptop) = app.logged_in("carol").await;
    let phone = app.browser();
    phone.api_login("carol", &user.password).await;

    let profile = laptop.get_text("/accounts/profile/").await.1;
    let (_, sessions) = laptop.get_json("/api/sessions/").await;
    let (_, activity) = laptop.get_json("/api/security-activity/").await;
    let other =
        sessions.as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let ended = laptop.submit("/accounts/sessions/", &[("session", &other)]).await;

    assert!(profile.contains("Where you&#39;re signed in") || profile.contains("Where you're signed in"));
    assert!(profile.contains("this device") && profile.contains("Signed in"));
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    assert!(activity.as_array().unwrap().iter().any(|a| a["action"] == "user.login"));
    assert_eq!(ended.status(), 303);
    assert!(laptop.is_logged_in().await);
    assert!(!phone.is_logged_in().await);
}
