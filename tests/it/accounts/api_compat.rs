//! The playbook's browser client calls these endpoints; paths, methods, keys and messages
//! must stay exactly as it expects.

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn session_hands_out_the_csrf_cookie_and_says_who_is_logged_in() {
    let app = TestApp::spawn().await;
    let user = app.confirmed_user("alice").await;
    let browser = app.browser();

    let res = browser.get("/api/session/").await;
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    let anonymous: serde_json::Value = res.json().await.unwrap();
    browser.api_login("alice", &user.password).await;
    let (_, session) = browser.get_json("/api/session/").await;
    let (whoami_status, whoami) = browser.json("/api/whoami/", json!({})).await;

    assert!(set_cookie.starts_with("csrftoken=") && !set_cookie.contains("HttpOnly"));
    assert_eq!(anonymous, json!({"authenticated": false}));
    assert_eq!(session, json!({"authenticated": true, "username": "alice", "first-name": "", "last-name": ""}));
    assert_eq!((whoami_status, whoami), (200, session));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = TestApp::spawn().await;
    let user = app.confirmed_user("bob").await;
    let browser = app.browser();

    let res = browser.post_json("/api/login/", &json!({"username": "bob", "password": user.password})).await;
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let session = cookies.iter().find(|c| c.starts_with("sessionid=")).expect("session cookie");

    assert!(session.contains("HttpOnly"));
    assert!(session.contains("SameSite=Lax"));
    assert!(session.contains("Path=/"));
    assert!(!session.contains("Domain="));
    let id = session.split(';').next().unwrap().trim_start_matches("sessionid=");
    assert!(id.len() >= 22);
}

#[tokio::test]
async fn activation_is_a_post_with_or_without_a_trailing_slash() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser.json("/api/create-account/", crate::support::TestUser::named("carol").signup_json()).await;
    let token = TestApp::token_of(&app.link_in(&app.last_mail_to("carol@example.com").await, "/accounts/confirm/"));

    let (status, body) = browser.json(&format!("/api/activate-account/{token}/"), json!({})).await;

    assert_eq!((status, body), (200, json!({"details": "Account successfully activated."})));
}

#[tokio::test]
async fn errors_are_json_with_details_and_never_leak_internals() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let cases = [
        ("/api/login/", json!({"username": "x", "password": "y"})),
        ("/api/create-account/", json!({"username": "a b", "email": "bad", "password": "p"})),
        ("/api/update-password/", json!({"email-token": "nope", "password": "whatever long enough"})),
        ("/api/activate-account/nope", json!({})),
    ];
    for (path, body) in cases {
        let (status, reply) = browser.json(path, body).await;
        assert_eq!(status, 400, "{path}");
        let text = reply["details"].as_str().unwrap();
        assert!(!text.contains("Error") && !text.contains("sqlx") && !text.contains("panicked"), "{path}: {text}");
    }
}
