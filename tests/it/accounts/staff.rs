//! The staff user list (the console's; `/accounts/users/` is its old address) and the
//! `createsuperuser` command.

use std::process::Command;

use crate::support::TestApp;

#[tokio::test]
async fn only_staff_see_the_user_list() {
    let app = TestApp::spawn().await;
    let (_, member) = app.logged_in("alice").await;
    let (_, staff) = app.staff("boss").await;
    let anonymous = app.browser();

    assert_eq!(anonymous.get_json("/api/users/").await.0, 401);
    assert_eq!(anonymous.get("/admin/users/").await.status(), 303);
    assert_eq!(member.get_json("/api/users/").await.0, 403);
    assert_eq!(member.get("/admin/users/").await.status(), 403);
    let (status, body) = staff.get_json("/api/users/").await;
    assert_eq!((status, body["count"].as_i64()), (200, Some(2)));
    let (status, html) = staff.get_text("/admin/users/").await;
    assert_eq!(status, 200);
    assert!(html.contains("alice@example.com") && html.contains("staff"));
    assert!(html.contains("Page 1 of 1"), "an unfiltered list knows its total");
}

#[tokio::test]
async fn staff_search_users_and_page_through_them() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    for n in 0..30 {
        insert_member(&app, &format!("member{n:02}")).await;
    }

    let (_, found) = staff.get_json("/api/users/?q=MEMBER1").await;
    let (_, page2) = staff.get_json("/api/users/?page=2").await;
    let (_, nothing) = staff.get_json("/api/users/?q=%25").await;
    let old_address = staff.get("/accounts/users/?q=member&page=2").await;
    let html = staff.get_text("/admin/users/?q=member&page=2").await.1;

    assert_eq!(found["count"], 10);
    assert_eq!(page2["results"].as_array().unwrap().len(), 6);
    assert_eq!(nothing["count"], 0, "a % in the search is literal");
    assert_eq!(old_address.status(), 308);
    assert_eq!(old_address.headers()["location"], "/admin/users/?q=member&page=2");
    assert!(html.contains("member00") && html.contains("Page 2"));
    assert!(!html.contains("Next →"), "30 matches fill two pages of 25");
}

#[tokio::test]
async fn createsuperuser_makes_an_active_staff_user_without_prompting() {
    let app = TestApp::spawn().await;
    let db_url = app.state.settings.database_url.expose().to_owned();

    let ok = Command::new(env!("CARGO_BIN_EXE_shoestring"))
        .args(["createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com"])
        .env("DATABASE_URL", &db_url)
        .env("SUPERUSER_PASSWORD", "the first admin passphrase")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let weak = Command::new(env!("CARGO_BIN_EXE_shoestring"))
        .args(["createsuperuser", "--noinput", "--username", "admin2", "--email", "admin2@example.com"])
        .env("DATABASE_URL", &db_url)
        .env("SUPERUSER_PASSWORD", "short")
        .output()
        .unwrap();

    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too short"));
    let browser = app.browser();
    browser.api_login("admin", "the first admin passphrase").await;
    assert_eq!(browser.get_json("/api/users/").await.0, 200);
}

#[tokio::test]
async fn a_fresh_install_has_no_default_accounts() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for (user, password) in [("admin", "admin"), ("admin", "password"), ("root", "root")] {
        let (status, _) =
            browser.json("/api/login/", serde_json::json!({"username": user, "password": password})).await;
        assert_eq!(status, 400);
    }
}

/// A plain member row, written directly: thirty sign-ups from one IP would hit the rate limit.
async fn insert_member(app: &TestApp, username: &str) {
    sqlx::query(
        "INSERT INTO users (username, username_key, email, email_key, password_hash, is_active, date_joined) \
         VALUES ($1, $1, $2, $2, 'x', TRUE, $3)",
    )
    .bind(username)
    .bind(format!("{username}@example.com"))
    .bind(app.clock().now())
    .execute(&app.state.db.pool)
    .await
    .unwrap();
}
