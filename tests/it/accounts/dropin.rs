//! Shoestring behind the playbook's own frontend and proxy: emailed links in the shapes its
//! pages expect, JSON sent without a Content-Type, the confirm page under `/api/`.

use serde_json::json;

use crate::support::{TestApp, TestUser};

async fn playbook_links() -> TestApp {
    TestApp::spawn_with(|s| {
        s.confirm_link = "/api/activate-account/{token}".into();
        s.reset_link = "/update_password.html#id={token}".into();
    })
    .await
}

#[tokio::test]
async fn emailed_links_follow_the_configured_templates() {
    let app = playbook_links().await;
    let user = TestUser::named("ana");
    app.browser().json("/api/create-account/", user.signup_json()).await;

    let confirm = app.last_mail_to("ana@example.com").await;
    let activation = app.link_in(&confirm, "/api/activate-account/");
    let browser = app.browser();
    let (status, _) = browser.json(&activation, json!({})).await;
    browser.json("/api/recover-password/", json!({"email": "ana@example.com"})).await;
    let reset = app.last_mail_to("ana@example.com").await;
    let token = reset.text_body.split("update_password.html#id=").nth(1).unwrap().split_whitespace().next().unwrap();
    let (updated, _) =
        browser.json("/api/update-password/", json!({"email-token": token, "password": "a new long passphrase"})).await;

    assert_eq!(status, 200);
    assert!(reset.text_body.contains(&format!("http://{}/update_password.html#id=", app.addr)));
    assert_eq!(updated, 200);
    browser.api_login("ana", "a new long passphrase").await;
}

#[tokio::test]
async fn the_confirm_page_under_api_activates_only_on_its_form_post() {
    let app = playbook_links().await;
    let browser = app.browser();
    browser.json("/api/create-account/", TestUser::named("ben").signup_json()).await;
    let link = app.link_in(&app.last_mail_to("ben@example.com").await, "/api/activate-account/");

    let (status, page) = browser.get_text(&link).await;
    let still_inactive = app.scalar_i64("SELECT COUNT(*) FROM users WHERE is_active = TRUE").await;
    let without_token = browser.client.post(browser.url(&link)).form(&[("x", "y")]).send().await.unwrap().status();
    let confirmed = browser.submit(&link, &[]).await;
    let outcome = confirmed.text().await.unwrap();

    assert_eq!(status, 200);
    assert!(page.contains("Confirm my account") && page.contains("method=\"post\""));
    assert_eq!(still_inactive, 0, "opening the link changes nothing");
    assert_eq!(without_token, 403);
    assert!(outcome.contains("Your account is confirmed"), "{outcome}");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users WHERE is_active = TRUE").await, 1);
}

#[tokio::test]
async fn json_sent_as_text_plain_is_read_but_a_cross_site_request_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.confirmed_user("cleo").await;
    let browser = app.browser();
    let body = json!({"username": "cleo", "password": user.password}).to_string();
    let send = |origin: Option<&'static str>| {
        let mut req =
            browser.client.post(browser.url("/api/login/")).header("content-type", "text/plain").body(body.clone());
        if let Some(origin) = origin {
            req = req.header("origin", origin).header("sec-fetch-site", "cross-site");
        }
        req.send()
    };

    let cross_site = send(Some("https://evil.example")).await.unwrap().status();
    let same_site = send(None).await.unwrap().status();

    assert_eq!(cross_site, 403);
    assert_eq!(same_site, 200);
    assert!(browser.is_logged_in().await);
}
