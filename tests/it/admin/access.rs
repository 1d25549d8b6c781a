//! Who may use the console: staff only, by handler type and by the router's guard; and, with
//! ADMIN_HOST, only on that host.

use super::location;
use crate::support::TestApp;

const PAGES: &[&str] = &["/admin/", "/admin/users/", "/admin/posts/", "/admin/audit/"];

#[tokio::test]
async fn anonymous_visitors_go_to_login_and_come_back() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for page in PAGES {
        let res = browser.get(page).await;
        assert_eq!(res.status(), 303, "{page}");
        assert!(location(&res).starts_with("/admin/login/?next=%2Fadmin%2F"), "{page}");
    }
}

#[tokio::test]
async fn the_console_signs_staff_in_and_out_under_admin_and_refuses_members() {
    let app = TestApp::spawn().await;
    let (staff, _) = app.staff_user("boss").await;
    let member = app.confirmed_user("alice").await;
    let browser = app.browser();
    let outsider = app.browser();

    let form = browser.get_text("/admin/login/?next=%2Fadmin%2Fusers%2F").await.1;
    let signed_in = browser
        .submit(
            "/admin/login/",
            &[("login", &staff.username), ("password", &staff.password), ("next", "/admin/users/")],
        )
        .await;
    let users = browser.get_text("/admin/users/").await.1;
    let refused =
        outsider.submit("/admin/login/", &[("login", &member.username), ("password", &member.password)]).await;
    let refused_status = refused.status();
    let refused_html = refused.text().await.unwrap();
    let signed_out = browser.submit("/admin/logout/", &[]).await;

    assert!(form.contains("action=\"/admin/login/\"") && form.contains("/static/admin/style.css"));
    assert_eq!(location(&signed_in), "/admin/users/");
    assert!(users.contains("action=\"/admin/logout/\"") && users.contains("/static/admin/style.css"));
    assert!(
        !users.contains("/accounts/") && !users.contains("href=\"/static/style.css"),
        "console pages stay under /admin/"
    );
    assert_eq!(refused_status, 400);
    assert!(refused_html.contains("staff account"));
    assert!(!outsider.is_logged_in().await, "a member is not signed in by the console");
    assert_eq!(location(&signed_out), "/admin/login/");
    assert_eq!(browser.get("/admin/").await.status(), 303);
    assert_eq!(browser.get("/static/admin/style.css").await.status(), 200);
}

#[tokio::test]
async fn members_who_are_not_staff_get_403_on_every_page_and_action() {
    let app = TestApp::spawn().await;
    let (_, member) = app.logged_in("alice").await;
    let (_, staff) = app.staff("boss").await;
    let id = super::user_id(&app, "alice").await;

    for page in PAGES {
        assert_eq!(member.get(page).await.status(), 403, "{page}");
        assert_eq!(staff.get(page).await.status(), 200, "{page}");
    }
    for action in [
        format!("/admin/users/{id}/"),
        format!("/admin/users/{id}/sessions/"),
        format!("/admin/users/{id}/password-reset/"),
        format!("/admin/users/{id}/delete/"),
        "/admin/users/bulk/".to_owned(),
        "/admin/posts/1/delete/".to_owned(),
    ] {
        let res = member.submit(&action, &[("is_staff", "on"), ("is_active", "on"), ("email", "a@example.com")]).await;
        assert_eq!(res.status(), 403, "{action}");
    }
    assert!(!super::actions(&app).await.iter().any(|a| a.starts_with("admin.")));
}

#[tokio::test]
async fn losing_staff_rights_in_the_console_ends_the_members_sessions_at_once() {
    let app = TestApp::spawn().await;
    let (_, root) = app.staff("root").await;
    app.confirmed_user("helper").await;
    let helper = super::user_id(&app, "helper").await;
    super::edit(&root, helper, &[("email", "helper@example.com"), ("is_active", "on"), ("is_staff", "on")]).await;
    let staff = app.browser();
    staff.api_login("helper", crate::support::PASSWORD).await;
    assert_eq!(staff.get("/admin/").await.status(), 200);

    super::edit(&root, helper, &[("email", "helper@example.com"), ("is_active", "on")]).await;

    // A privilege change ends the member's sessions: the console sends them to sign in again.
    let res = staff.get("/admin/").await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/admin/login/"), "{location}");
}

#[tokio::test]
async fn losing_staff_rights_by_hand_in_the_database_takes_effect_within_a_second() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    assert_eq!(staff.get("/admin/").await.status(), 200);

    sqlx::query("UPDATE users SET is_staff = FALSE").execute(&app.state.db.pool).await.unwrap();
    let changed = std::time::Instant::now();

    while staff.get("/admin/").await.status() == 200 {
        assert!(changed.elapsed() < std::time::Duration::from_secs(1), "still staff after a second");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn with_an_admin_host_the_console_answers_only_there() {
    let app = TestApp::spawn_with(|s| s.admin_host = Some("p.example.com".into())).await;
    let (_, staff) = app.staff("boss").await;
    let on_admin_host = staff.client.get(staff.url("/admin/")).header("host", "p.example.com").send().await.unwrap();
    let on_app_host = staff.get("/admin/").await;
    let anonymous_app_host = app.browser().get("/admin/users/").await;

    assert_eq!(on_admin_host.status(), 200);
    assert_eq!(on_app_host.status(), 404);
    assert_eq!(anonymous_app_host.status(), 404);
}

#[tokio::test]
async fn the_dashboard_counts_and_charts_sign_ups() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    app.confirmed_user("alice").await;
    crate::blog::post(&staff, "hello").await;

    let (status, html) = staff.get_text("/admin/").await;

    assert_eq!(status, 200);
    assert!(html.contains("<strong>2</strong><span>users</span>"));
    assert!(html.contains("<strong>1</strong><span>posts</span>"));
    assert_eq!(html.matches("<rect ").count(), 30);
    assert!(html.contains("user.signup"));
}
