//! Users in the console: list filters, edits with their audit entries, sessions, reset mail,
//! deletion, bulk actions, and the rules that protect staff from themselves.

use super::{actions, edit, location, user_id};
use crate::support::TestApp;

#[tokio::test]
async fn the_list_searches_filters_and_sorts() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    app.confirmed_user("alice").await;
    app.confirmed_user("bob").await;
    app.browser().json("/api/create-account/", crate::support::TestUser::named("carol").signup_json()).await;

    let search = staff.get_text("/admin/users/?q=ALI").await.1;
    let inactive = staff.get_text("/admin/users/?active=no").await.1;
    let staff_only = staff.get_text("/admin/users/?staff=yes").await.1;
    let unconfirmed = staff.get_text("/admin/users/?confirmed=no").await.1;
    let by_name = staff.get_text("/admin/users/?sort=username").await.1;

    assert!(search.contains("alice@example.com") && !search.contains("bob@example.com"));
    assert!(inactive.contains("carol@example.com") && !inactive.contains("alice@example.com"));
    assert!(staff_only.contains("boss@example.com") && !staff_only.contains("alice@example.com"));
    assert!(unconfirmed.contains("carol@example.com") && !unconfirmed.contains("bob@example.com"));
    let (a, b) = (by_name.find("alice@example.com").unwrap(), by_name.find("bob@example.com").unwrap());
    assert!(a < b);
}

#[tokio::test]
async fn an_edit_is_saved_and_audited_with_before_and_after() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    app.confirmed_user("alice").await;
    let id = user_id(&app, "alice").await;

    let res = edit(
        &staff,
        id,
        &[("first_name", "Alice"), ("last_name", ""), ("email", "alice@example.org"), ("is_active", "on")],
    )
    .await;
    let page = staff.get_text(&format!("/admin/users/{id}/")).await.1;

    assert_eq!(location(&res), format!("/admin/users/{id}/"));
    assert!(page.contains("value=\"alice@example.org\""));
    let changes: String = sqlx::query_scalar("SELECT changes FROM audit_events WHERE action = 'admin.user_updated'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(changes.contains("\"field\":\"first_name\",\"before\":\"\",\"after\":\"Alice\""));
    assert!(changes.contains("\"before\":\"alice@example.com\",\"after\":\"alice@example.org\""));
    assert!(page.contains("admin.user_updated"));
}

#[tokio::test]
async fn deactivating_a_user_ends_their_sessions_at_once() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    let (_, alice) = app.logged_in("alice").await;
    let id = user_id(&app, "alice").await;

    edit(&staff, id, &[("email", "alice@example.com")]).await;

    assert!(!alice.is_logged_in().await);
    assert_eq!(
        app.scalar_i64(
            "SELECT COUNT(*) FROM sessions WHERE user_id IN (SELECT id FROM users WHERE username = 'alice')"
        )
        .await,
        0
    );
    assert_eq!(
        alice
            .json("/api/login/", serde_json::json!({"username": "alice", "password": crate::support::PASSWORD}))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn staff_cannot_drop_their_own_staff_flag_deactivate_or_delete_themselves() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    let me = user_id(&app, "boss").await;

    let drop_staff =
        edit(&staff, me, &[("email", "boss@example.com"), ("is_active", "on"), ("is_superuser", "on")]).await;
    let deactivate =
        edit(&staff, me, &[("email", "boss@example.com"), ("is_staff", "on"), ("is_superuser", "on")]).await;
    let delete = staff.submit(&format!("/admin/users/{me}/delete/"), &[]).await;

    assert_eq!(drop_staff.status(), 400);
    assert!(drop_staff.text().await.unwrap().contains("cannot remove your own staff access"));
    assert_eq!(deactivate.status(), 400);
    assert_eq!(delete.status(), 400);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users WHERE is_staff = TRUE AND is_active = TRUE").await, 1);
}

#[tokio::test]
async fn only_superusers_grant_superuser_or_change_a_superuser() {
    let app = TestApp::spawn().await;
    let (_, root) = app.staff("root").await;
    app.confirmed_user("helper").await;
    let helper = user_id(&app, "helper").await;
    let root_id = user_id(&app, "root").await;
    edit(&root, helper, &[("email", "helper@example.com"), ("is_active", "on"), ("is_staff", "on")]).await;
    let plain_staff = app.browser();
    plain_staff.api_login("helper", crate::support::PASSWORD).await;
    app.confirmed_user("member").await;
    let member = user_id(&app, "member").await;

    let grant =
        edit(&plain_staff, member, &[("email", "member@example.com"), ("is_active", "on"), ("is_superuser", "on")])
            .await;
    let touch_root =
        edit(&plain_staff, root_id, &[("email", "root@example.com"), ("is_active", "on"), ("is_staff", "on")]).await;
    let delete_root = plain_staff.submit(&format!("/admin/users/{root_id}/delete/"), &[]).await;
    let sign_out_root = plain_staff.submit(&format!("/admin/users/{root_id}/sessions/"), &[]).await;
    let reset_root = plain_staff.submit(&format!("/admin/users/{root_id}/password-reset/"), &[]).await;
    let promote =
        edit(&plain_staff, member, &[("email", "member@example.com"), ("is_active", "on"), ("is_staff", "on")]).await;

    assert_eq!((grant.status().as_u16(), touch_root.status().as_u16(), delete_root.status().as_u16()), (403, 403, 403));
    assert_eq!((sign_out_root.status().as_u16(), reset_root.status().as_u16()), (403, 403));
    assert!(root.is_logged_in().await, "the superuser's session survives");
    assert!(app.mails_to("root@example.com").await.is_empty(), "no reset mail to the superuser");
    assert_eq!(promote.status(), 303, "staff may grant staff");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users WHERE is_superuser = TRUE").await, 1);
}

#[tokio::test]
async fn staff_end_a_users_sessions_one_or_all() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    let (user, first) = app.logged_in("alice").await;
    let second = app.browser();
    second.api_login("alice", &user.password).await;
    let id = user_id(&app, "alice").await;
    let hashes: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM sessions WHERE user_id = $1 ORDER BY created_at")
        .bind(id)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    let page = staff.get_text(&format!("/admin/users/{id}/")).await.1;

    staff.submit(&format!("/admin/users/{id}/sessions/"), &[("session", &hashes[0])]).await;
    let after_one = (first.is_logged_in().await, second.is_logged_in().await);
    staff.submit(&format!("/admin/users/{id}/sessions/"), &[]).await;

    assert_eq!(hashes.len(), 2);
    assert!(page.contains("127.0.0.1"));
    assert_eq!(after_one, (false, true));
    assert!(!second.is_logged_in().await);
    assert_eq!(actions(&app).await.iter().filter(|a| *a == "user.sessions_revoked").count(), 2);
}

#[tokio::test]
async fn staff_send_a_password_reset_email() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    app.confirmed_user("alice").await;
    let id = user_id(&app, "alice").await;

    let res = staff.submit(&format!("/admin/users/{id}/password-reset/"), &[]).await;

    assert_eq!(res.status(), 303);
    assert!(app.last_mail_to("alice@example.com").await.subject.contains("Reset"));
    assert_eq!(actions(&app).await[0], "admin.password_reset_sent");
}

#[tokio::test]
async fn deleting_a_user_asks_first_then_removes_them() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    app.confirmed_user("alice").await;
    let id = user_id(&app, "alice").await;

    let confirm = staff.get_text(&format!("/admin/users/{id}/delete/")).await.1;
    let res = staff.submit(&format!("/admin/users/{id}/delete/"), &[]).await;

    assert!(confirm.contains("Delete alice?") && confirm.contains("Yes, delete"));
    assert_eq!(location(&res), "/admin/users/");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(actions(&app).await[0], "admin.user_deleted");
}

#[tokio::test]
async fn bulk_actions_confirm_first_and_skip_the_acting_staff_member() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    app.confirmed_user("alice").await;
    app.confirmed_user("bob").await;
    let (me, alice, bob) = (user_id(&app, "boss").await, user_id(&app, "alice").await, user_id(&app, "bob").await);
    let (me, alice, bob) = (me.to_string(), alice.to_string(), bob.to_string());
    let chosen = [("action", "deactivate"), ("ids", alice.as_str()), ("ids", bob.as_str()), ("ids", me.as_str())];

    let confirm = staff.submit("/admin/users/bulk/", &chosen).await.text().await.unwrap();
    let still_active = app.scalar_i64("SELECT COUNT(*) FROM users WHERE is_active = TRUE").await;
    let ids = format!("{alice},{bob},{me}");
    let done = staff.submit("/admin/users/bulk/", &[("action", "deactivate"), ("ids", &ids), ("confirm", "yes")]).await;
    let list = staff.get_text("/admin/users/").await.1;

    assert!(confirm.contains("Deactivate 3 user(s)?") && confirm.contains("alice") && confirm.contains("bob"));
    assert_eq!(still_active, 3);
    assert_eq!(location(&done), "/admin/users/");
    assert!(list.contains("2 user(s) done. Skipped 1"));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users WHERE is_active = TRUE").await, 1);
}
