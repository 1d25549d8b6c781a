//! Where `MAIL_OUTBOX` holds mail (a staging copy of production), staff read it in the console;
//! no one else does, and without the setting the page does not exist.

use crate::support::TestApp;

#[tokio::test]
async fn held_mail_is_shown_to_staff_in_the_console_and_to_no_one_else() {
    let app = TestApp::spawn_with(|s| s.mail_outbox = true).await;
    let (_, staff) = app.staff("boss").await;
    let (member, member_browser) = app.logged_in("alice").await;
    app.browser().json("/api/recover-password/", serde_json::json!({"email": member.email})).await;
    let held = app.mails_to(&member.email).await;
    let id = held.last().expect("the reset mail is held").id;

    let (status, list) = staff.get_text("/admin/outbox/").await;
    let (_, message) = staff.get_text(&format!("/admin/outbox/{id}/")).await;
    let html = staff.get(&format!("/admin/outbox/{id}/html")).await;
    let csp = html.headers()["content-security-policy"].to_str().unwrap().to_owned();

    assert_eq!(status, 200);
    assert!(list.contains(&member.email) && list.contains(&format!("href=\"{id}/\"")), "{list}");
    assert!(message.contains("password-reset"), "the reset link is readable: {message}");
    assert!(csp.contains("sandbox"));
    assert_eq!(member_browser.get("/admin/outbox/").await.status(), 403);
    assert_eq!(app.browser().get("/admin/outbox/").await.status(), 303, "anonymous: to the console's login");
    assert_eq!(app.browser().get("/dev/outbox/").await.status(), 200, "development still has its own viewer");
}

#[tokio::test]
async fn without_mail_outbox_the_console_has_no_outbox_page() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;

    assert_eq!(staff.get("/admin/outbox/").await.status(), 404);
}
