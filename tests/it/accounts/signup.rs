//! Sign-up, confirmation by emailed link, and resending the link.

use serde_json::json;

use crate::support::{TestApp, TestUser};

#[tokio::test]
async fn a_new_account_stays_inactive_until_the_emailed_link_is_confirmed() {
    let app = TestApp::spawn().await;
    let user = TestUser::named("alice");
    let browser = app.browser();

    let (status, body) = browser.json("/api/create-account/", user.signup_json()).await;
    let (login_status, login_body) =
        browser.json("/api/login/", json!({"username": "alice", "password": user.password})).await;

    assert_eq!((status, body["details"].as_str()), (200, Some("Successfully user created.")));
    assert_eq!(login_status, 400);
    assert!(login_body["details"].as_str().unwrap().contains("confirm your email"));
    let mail = app.last_mail_to("alice@example.com").await;
    assert!(mail.subject.contains("Confirm"));
    let token = TestApp::token_of(&app.link_in(&mail, "/accounts/confirm/"));
    let (status, _) = browser.json(&format!("/api/activate-account/{token}"), json!({})).await;
    assert_eq!(status, 200);
    browser.api_login("alice", &user.password).await;
}

#[tokio::test]
async fn the_confirmation_link_works_only_once() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser.json("/api/create-account/", TestUser::named("bob").signup_json()).await;
    let token = TestApp::token_of(&app.link_in(&app.last_mail_to("bob@example.com").await, "/accounts/confirm/"));

    let first = browser.json(&format!("/api/activate-account/{token}"), json!({})).await;
    let second = browser.json(&format!("/api/activate-account/{token}"), json!({})).await;

    assert_eq!(first.0, 200);
    assert_eq!(second.0, 400);
    assert_eq!(second.1["details"], "This link is invalid or has expired.");
}

#[tokio::test]
async fn the_confirmation_link_expires_after_the_configured_window() {
    let app = TestApp::spawn_with(|s| s.confirmation_ttl_hours = 2).await;
    let browser = app.browser();
    browser.json("/api/create-account/", TestUser::named("carol").signup_json()).await;
    let token = TestApp::token_of(&app.link_in(&app.last_mail_to("carol@example.com").await, "/accounts/confirm/"));

    app.clock().advance(2 * 3600 + 1);
    let (status, _) = browser.json(&format!("/api/activate-account/{token}"), json!({})).await;

    assert_eq!(status, 400);
}

#[tokio::test]
async fn opening_the_link_with_get_shows_a_button_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser.json("/api/create-account/", TestUser::named("dave").signup_json()).await;
    let link = app.link_in(&app.last_mail_to("dave@example.com").await, "/accounts/confirm/");

    let api_get = browser.get_text(&format!("/api/activate-account/{}", TestApp::token_of(&link))).await;
    let page = browser.get(&link).await;
    let referrer = page.headers()["referrer-policy"].to_str().unwrap().to_owned();
    let html = page.text().await.unwrap();

    assert_eq!(api_get.0, 200, "the playbook's link shape opens the same page");
    assert!(api_get.1.contains("Confirm my account"));
    assert!(html.contains("Confirm my account") && html.contains("method=\"post\""));
    assert_eq!(referrer, "no-referrer");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users WHERE is_active = TRUE").await, 0);
}

#[tokio::test]
async fn unknown_and_malformed_activation_tokens_are_a_400_not_a_500() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for token in ["nope", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "%00", &"x".repeat(500)] {
        let (status, body) = browser.json(&format!("/api/activate-account/{token}"), json!({})).await;
        assert_eq!(status, 400, "token {token:?}: {body}");
        assert_eq!(body["details"], "This link is invalid or has expired.");
    }
}

#[tokio::test]
async fn a_taken_email_gets_the_same_answer_and_its_owner_is_told() {
    let app = TestApp::spawn().await;
    app.confirmed_user("erin").await;
    let intruder =
        json!({"username": "someone_else", "email": "ERIN@Example.com", "password": "another long passphrase"});

    let (status, body) = app.browser().json("/api/create-account/", intruder).await;

    assert_eq!((status, body), (200, json!({"details": "Successfully user created."})));
    let mails = app.mails_to("ERIN@example.com").await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("tried to sign up"));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 1);
}

#[tokio::test]
async fn a_taken_username_is_refused_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.confirmed_user("frank").await;

    let body = json!({"username": "FRANK", "email": "other@example.com", "password": "another long passphrase"});
    let (status, body) = app.browser().json("/api/create-account/", body).await;

    assert_eq!(status, 400);
    assert_eq!(body["details"], "A user with that username already exists.");
}

#[tokio::test]
async fn weak_passwords_are_refused_with_a_human_message() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let cases = [
        ("elevenchars", "too short"),
        ("passwordpassword", "too common"),
        ("123456789012345", "too common"),
        ("gracehopper1906", "too similar"),
    ];

    for (password, expected) in cases {
        let body = json!({"username": "gracehopper", "email": "grace@example.com", "password": password});
        let (status, body) = browser.json("/api/create-account/", body).await;
        assert_eq!(status, 400, "{password}");
        assert!(body["details"].as_str().unwrap().contains(expected), "{password}: {body}");
    }
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
async fn passwords_are_taken_exactly_as_typed_with_unicode_and_long_lengths() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let password = "  ñandú 🦀 contraseña ";
    let long = "a long sentence that keeps going on and on ".repeat(5);

    for (name, pw) in [("henry", password), ("irene", long.as_str())] {
        let body = json!({"username": name, "email": format!("{name}@example.com"), "password": pw});
        assert_eq!(browser.json("/api/create-account/", body).await.0, 200, "{name}");
        let link = app.link_in(&app.last_mail_to(&format!("{name}@example.com")).await, "/accounts/confirm/");
        browser.json(&format!("/api/activate-account/{}", TestApp::token_of(&link)), json!({})).await;
    }

    browser.api_login("henry", password).await;
    assert_eq!(browser.json("/api/login/", json!({"username": "henry", "password": password.trim()})).await.0, 400);
    assert_eq!(
        browser.json("/api/login/", json!({"username": "henry", "password": password.to_uppercase()})).await.0,
        400
    );
    browser.api_login("irene", &long).await;
    assert_eq!(browser.json("/api/login/", json!({"username": "irene", "password": &long[..72]})).await.0, 400);
}

#[tokio::test]
async fn a_four_kilobyte_password_is_refused_before_hashing() {
    let app = TestApp::spawn().await;
    let body = json!({"username": "judy", "email": "judy@example.com", "password": "x".repeat(4096)});

    let (status, body) = app.browser().json("/api/create-account/", body).await;

    assert_eq!(status, 400);
    assert!(body["details"].as_str().unwrap().contains("too long"));
}

#[tokio::test]
async fn names_keep_any_unicode_including_emoji() {
    let app = TestApp::spawn().await;
    let mut body = TestUser::named("kim").signup_json();
    body["nickname"] = json!("Ünïcode 🦀");
    body["first-name"] = json!("Zoë");
    body["last-name"] = json!("Ōtani");
    let browser = app.browser();
    browser.json("/api/create-account/", body).await;
    let link = app.link_in(&app.last_mail_to("kim@example.com").await, "/accounts/confirm/");
    browser.json(&format!("/api/activate-account/{}", TestApp::token_of(&link)), json!({})).await;

    browser.api_login("kim", crate::support::PASSWORD).await;
    let (_, profile) = browser.get_json("/api/profile/").await;

    assert_eq!(profile["nickname"], "Ünïcode 🦀");
    assert_eq!(profile["first-name"], "Zoë");
    assert_eq!(profile["last-name"], "Ōtani");
}

#[tokio::test]
async fn a_json_array_is_refused_where_an_object_is_expected() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    // serde would read `[""]` as `{"email": ""}` (a struct by position) and answer "Email sent."
    let (recover, reply) = browser.json("/api/recover-password/", json!([""])).await;
    let (login, _) = browser.json("/api/login/", json!(["someone", "a password"])).await;
    let (profile, _) = browser.json("/api/change-password/", json!(["old", "new"])).await;

    assert_eq!(recover, 400, "{reply}");
    assert_eq!(reply["details"], "The body must be a JSON object.");
    assert_eq!(login, 400);
    assert!(profile == 400 || profile == 401, "{profile}");
}

#[tokio::test]
async fn missing_null_or_malformed_fields_are_a_400_never_a_500() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let bodies =
        [json!({}), json!({"username": null, "email": null, "password": null}), json!({"username": 5}), json!([1])];

    for body in bodies {
        let (status, reply) = browser.json("/api/create-account/", body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(reply["details"].is_string());
    }
    let raw = browser
        .client
        .post(browser.url("/api/create-account/"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let form = browser
        .client
        .post(browser.url("/api/create-account/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
}

#[tokio::test]
async fn a_header_injection_attempt_in_a_name_is_refused() {
    let app = TestApp::spawn().await;
    let mut body = TestUser::named("mallory").signup_json();
    body["first-name"] = json!("x\r\nBcc: evil@example.com");

    let (status, _) = app.browser().json("/api/create-account/", body).await;

    assert_eq!(status, 400);
    assert!(app.mails().await.is_empty());
}

#[tokio::test]
async fn resending_the_link_is_limited_to_three_an_hour_and_reveals_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser.json("/api/create-account/", TestUser::named("nina").signup_json()).await;

    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(browser.json("/api/resend-confirmation/", json!({"email": "nina@example.com"})).await);
    }
    let unknown = browser.json("/api/resend-confirmation/", json!({"email": "nobody@example.com"})).await;

    assert!(answers.iter().all(|a| *a == answers[0]));
    assert_eq!(unknown, answers[0]);
    // The sign-up link plus two resends make three links this hour.
    assert_eq!(app.mails_to("nina@example.com").await.len(), 3);
}

#[tokio::test]
async fn sign_up_writes_no_half_account_when_the_queue_insert_fails() {
    let app = TestApp::spawn().await;
    sqlx::query("DROP TABLE jobs").execute(&app.state.db.pool).await.unwrap();

    let (status, body) = app.browser().json("/api/create-account/", TestUser::named("olga").signup_json()).await;

    assert_eq!(status, 500);
    assert!(!body.to_string().contains("jobs"), "no internals in {body}");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
async fn look_alike_usernames_are_one_name_in_nfkc() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let ascii = json!({"username": "orjan", "email": "orjan@example.com", "password": crate::support::PASSWORD});
    let fullwidth = json!({"username": "Ｏrjan", "email": "orjan2@example.com", "password": crate::support::PASSWORD});

    let first = browser.json("/api/create-account/", ascii).await.0;
    let (second, body) = browser.json("/api/create-account/", fullwidth).await;

    assert_eq!(first, 200);
    assert_eq!(second, 400, "{body}");
    assert_eq!(body["errors"]["username"][0], "A user with that username already exists.");
}

#[tokio::test]
async fn usernames_stored_before_normalisation_are_migrated_and_collisions_reported() {
    let app = TestApp::spawn().await;
    for (name, key) in [("Ｏrjan", "ｏrjan"), ("orjan", "orjan"), ("ﬁnn", "ﬁnn")] {
        sqlx::query(
            "INSERT INTO users (username, username_key, email, email_key, password_hash, is_active, date_joined) \
             VALUES ($1, $2, $3, $3, 'x', TRUE, 0)",
        )
        .bind(name)
        .bind(key)
        .bind(format!("{key}@example.com"))
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    }
    sqlx::query("DELETE FROM data_migrations").execute(&app.state.db.pool).await.unwrap();

    let report = shoestring::migrate(&app.state).await.unwrap();
    let again = shoestring::migrate(&app.state).await.unwrap();

    let names: Vec<String> =
        sqlx::query_scalar("SELECT username FROM users ORDER BY id").fetch_all(&app.state.db.pool).await.unwrap();
    assert_eq!(names, ["Ｏrjan", "orjan", "finn"], "the collision is left as it was; the ligature is normalised");
    assert_eq!(report.len(), 1);
    assert!(report[0].contains("Ｏrjan") && report[0].contains("another account"), "{report:?}");
    assert!(again.is_empty(), "done once");
}
