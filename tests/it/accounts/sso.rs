//! Single sign-on against a real OpenID Connect provider (oidc-provider on loopback): first login,
//! linking rules (the takeover case), allowed domains, staff from groups, state/nonce/PKCE/iss
//! tampering, code replay, cancelled consent, a provider that is down, slow or redirects, key
//! rotation, SSO-only mode with the break-glass link, and the audit trail and sessions list.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shoestring::kernel::config::Settings;
use shoestring::kernel::security::token::hash_token;

use crate::support::oidc::{AtProvider, CLIENT_ID, CLIENT_SECRET, OidcLab, ProviderVisitor};
use crate::support::{Browser, TestApp};

const STAFF_GROUP: &str = "badge-staff-🏅";

fn sso_settings(settings: &mut Settings, issuer: &str) {
    settings.oidc_issuer_url = Some(issuer.to_owned());
    settings.oidc_client_id = CLIENT_ID.into();
    settings.oidc_client_secret = Some(shoestring::kernel::config::Secret::new(CLIENT_SECRET));
    settings.oidc_scopes = "openid email profile groups".into();
    settings.oidc_allowed_domains = vec!["example.com".into()];
    settings.oidc_staff_values = vec![STAFF_GROUP.into()];
}

/// The app and a provider that knows it, or None when the provider is not installed.
async fn app_with_lab(configure: impl FnOnce(&mut Settings)) -> Option<(TestApp, OidcLab)> {
    let mut lab = None;
    let app = TestApp::spawn_with(|s| {
        lab = OidcLab::start(&format!("{}/accounts/sso/callback/", s.base_url()));
        // Without the provider the test skips; its settings may need the provider to be valid.
        if let Some(lab) = &lab {
            sso_settings(s, &lab.issuer);
            configure(s);
        }
    })
    .await;
    lab.map(|lab| (app, lab))
}

fn alice() -> Value {
    json!({"email": "alice@example.com", "email_verified": true, "name": "Alice 🐍 Zoë", "given_name": "Alice 🐍",
           "family_name": "Zoë Ōtani", "preferred_username": "alice", "groups": [STAFF_GROUP]})
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest[rest.find('/').unwrap()..].to_owned()
}

/// Clicks the sign-in button and goes through the provider's pages; returns the callback path.
async fn reach_callback(browser: &Browser, account: &str, choice: AtProvider) -> String {
    let res = browser.submit("/accounts/sso/login/", &[("next", "/accounts/profile/")]).await;
    assert_eq!(res.status(), 200, "the button sends the browser on to the provider");
    let refresh = res.headers()["refresh"].to_str().unwrap();
    let auth = refresh.strip_prefix("0;url=").unwrap().to_owned();
    assert!(auth.contains("code_challenge_method=S256") && auth.contains("nonce=") && auth.contains("state="));
    path_of(&ProviderVisitor::default().login(&auth, account, choice).await)
}

async fn sso_login(browser: &Browser, account: &str) -> reqwest::Response {
    let callback = reach_callback(browser, account, AtProvider::Consent).await;
    browser.get(&callback).await
}

async fn user_row(app: &TestApp, username: &str) -> Option<(i64, bool, Option<i64>)> {
    sqlx::query_as("SELECT id, CASE WHEN is_staff THEN 1 ELSE 0 END, email_confirmed_at FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&app.state.db.pool)
        .await
        .unwrap()
        .map(|(id, staff, confirmed): (i64, i64, Option<i64>)| (id, staff == 1, confirmed))
}

/// Rewrites the single sign-on flow kept in this browser's session (a grey-box tamper).
async fn tamper_flow(app: &TestApp, browser: &Browser, change: impl FnOnce(&mut Value)) {
    let id_hash = hash_token(&browser.cookie("sessionid").unwrap());
    let pool = &app.state.db.pool;
    let data: String = sqlx::query_scalar("SELECT data FROM sessions WHERE id_hash = $1")
        .bind(&id_hash)
        .fetch_one(pool)
        .await
        .unwrap();
    let mut data: Value = serde_json::from_str(&data).unwrap();
    change(&mut data["sso_flow"]);
    sqlx::query("UPDATE sessions SET data = $1 WHERE id_hash = $2")
        .bind(data.to_string())
        .bind(&id_hash)
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_first_login_creates_the_account_with_every_character_of_the_name() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    let browser = app.browser();

    let res = sso_login(&browser, "alice").await;

    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/accounts/profile/");
    assert!(browser.is_logged_in().await);
    let (_, is_staff, confirmed) = user_row(&app, "alice").await.expect("account created");
    assert!(is_staff && confirmed.is_some());
    let names: (String, String, String) =
        sqlx::query_as("SELECT first_name, last_name, nickname FROM users WHERE username = 'alice'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(names, ("Alice 🐍".into(), "Zoë Ōtani".into(), "Alice 🐍 Zoë".into()));
    let (_, page) = browser.get_text("/accounts/profile/").await;
    assert!(page.contains("Alice 🐍"));
}

#[tokio::test]
async fn a_verified_email_on_an_allowed_domain_links_to_the_confirmed_account() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    let local = app.confirmed_user("alice").await;
    lab.set_account("alice-at-idp", json!({"email": local.email, "email_verified": true, "name": "Alice 🐍"}));
    let browser = app.browser();

    let res = sso_login(&browser, "alice-at-idp").await;

    assert_eq!(res.status(), 303);
    let (_, body) = browser.get_json("/api/session/").await;
    assert_eq!(body["username"], "alice", "signed into the existing account: {body}");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM audit_events WHERE action = 'user.sso_linked'").await, 1);
}

#[tokio::test]
async fn an_unverified_email_claiming_an_existing_account_does_not_get_it() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    app.confirmed_user("alice").await;
    lab.set_account("mallory", json!({"email": "alice@example.com", "email_verified": false, "name": "Mallory 😈"}));
    let browser = app.browser();

    let res = sso_login(&browser, "mallory").await;

    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("belongs to another account"));
    assert!(!browser.is_logged_in().await);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM user_identities").await, 0);
}

#[tokio::test]
async fn a_missing_email_verified_does_not_link_unless_the_setting_trusts_it() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    app.confirmed_user("alice").await;
    lab.set_account("entra-alice", json!({"email": "alice@example.com", "name": "Alice 🐍"}));

    let refused = sso_login(&app.browser(), "entra-alice").await;
    assert_eq!(refused.status(), 403);

    let Some((trusting, lab)) = app_with_lab(|s| s.oidc_trust_missing_email_verified = true).await else { return };
    trusting.confirmed_user("alice").await;
    lab.set_account("entra-alice", json!({"email": "alice@example.com", "name": "Alice 🐍"}));
    let browser = trusting.browser();
    assert_eq!(sso_login(&browser, "entra-alice").await.status(), 303);
    assert_eq!(browser.get_json("/api/session/").await.1["username"], "alice");
}

#[tokio::test]
async fn a_disallowed_domain_is_refused() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("eve", json!({"email": "eve@elsewhere.test", "email_verified": true, "name": "Eve 🕵️"}));
    let browser = app.browser();

    let res = sso_login(&browser, "eve").await;

    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("may not sign in here"));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
async fn refusing_new_users_by_setting_gives_a_clear_page() {
    let Some((app, lab)) = app_with_lab(|s| s.oidc_new_users = shoestring::kernel::config::NewSsoUsers::Refuse).await
    else {
        return;
    };
    lab.set_account("bob", json!({"email": "bob@example.com", "email_verified": true, "name": "Bob 🎈"}));

    let res = sso_login(&app.browser(), "bob").await;

    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Ask staff to create your account"));
}

#[tokio::test]
async fn staff_comes_from_the_group_claim_and_goes_when_the_claim_is_gone() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    let browser = app.browser();
    sso_login(&browser, "alice").await;
    assert_eq!(browser.get("/admin/").await.status(), 200);

    let mut without_group = alice();
    without_group["groups"] = json!(["everyone-🌍"]);
    lab.set_account("alice", without_group);
    let again = app.browser();
    assert_eq!(sso_login(&again, "alice").await.status(), 303);

    assert_eq!(again.get("/admin/").await.status(), 403);
    assert_eq!(browser.get("/admin/").await.status(), 403, "the earlier session lost staff too");
    let (_, is_staff, _) = user_row(&app, "alice").await.unwrap();
    assert!(!is_staff);
    let audited = app
        .scalar_i64("SELECT COUNT(*) FROM audit_events WHERE action = 'user.login' AND changes LIKE '%is_staff%'")
        .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn a_changed_email_at_the_provider_still_signs_into_the_same_account() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    sso_login(&app.browser(), "alice").await;
    let (id, _, _) = user_row(&app, "alice").await.unwrap();

    let mut renamed = alice();
    renamed["email"] = json!("alice.renamed@example.com");
    lab.set_account("alice", renamed);
    let browser = app.browser();
    assert_eq!(sso_login(&browser, "alice").await.status(), 303);

    assert_eq!(browser.get_json("/api/session/").await.1["username"], "alice");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(user_row(&app, "alice").await.unwrap().0, id);
}

#[tokio::test]
async fn a_tampered_state_is_refused_and_signs_nobody_in() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    let browser = app.browser();
    let callback = reach_callback(&browser, "alice", AtProvider::Consent).await;

    let tampered = callback.replace("state=", "state=x");
    let res = browser.get(&tampered).await;

    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("could not be verified"));
    assert!(!browser.is_logged_in().await);
    assert!(user_row(&app, "alice").await.is_none());
}

#[tokio::test]
async fn a_tampered_nonce_is_refused() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    let browser = app.browser();
    let callback = reach_callback(&browser, "alice", AtProvider::Consent).await;
    tamper_flow(&app, &browser, |flow| flow["nonce"] = json!("not-the-nonce-🙃")).await;

    let res = browser.get(&callback).await;

    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("could not be verified"));
    assert!(!browser.is_logged_in().await);
}

#[tokio::test]
async fn a_tampered_pkce_verifier_is_refused_by_the_provider() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    let browser = app.browser();
    let callback = reach_callback(&browser, "alice", AtProvider::Consent).await;
    tamper_flow(&app, &browser, |flow| flow["verifier"] = json!("x".repeat(64))).await;

    let res = browser.get(&callback).await;

    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("no longer accepts it"));
    assert!(!browser.is_logged_in().await);
}

#[tokio::test]
async fn a_replayed_code_is_refused() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    let browser = app.browser();
    let callback = reach_callback(&browser, "alice", AtProvider::Consent).await;
    let used_verifier = {
        let id_hash = hash_token(&browser.cookie("sessionid").unwrap());
        let data: String = sqlx::query_scalar("SELECT data FROM sessions WHERE id_hash = $1")
            .bind(&id_hash)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        serde_json::from_str::<Value>(&data).unwrap()["sso_flow"]["verifier"].clone()
    };
    assert_eq!(browser.get(&callback).await.status(), 303);

    // The same callback again: this session has no flow waiting.
    let again = browser.get(&callback).await;
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("expired"));

    // The used code in a new flow that holds the matching verifier: the provider refuses it.
    let attacker = app.browser();
    let fresh = reach_callback(&attacker, "alice", AtProvider::Consent).await;
    tamper_flow(&app, &attacker, |flow| flow["verifier"] = used_verifier).await;
    let code = callback.split("code=").nth(1).unwrap().split('&').next().unwrap();
    let fresh_code = fresh.split("code=").nth(1).unwrap().split('&').next().unwrap();
    let res = attacker.get(&fresh.replace(fresh_code, code)).await;
    assert_eq!(res.status(), 400);
    assert!(!attacker.is_logged_in().await);
}

#[tokio::test]
async fn a_wrong_or_missing_iss_on_the_callback_is_refused() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    for tamper in [0, 1] {
        let browser = app.browser();
        let callback = reach_callback(&browser, "alice", AtProvider::Consent).await;
        let iss = callback.split("iss=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let tampered = if tamper == 0 {
            callback.replace(&iss, "http%3A%2F%2Fevil.example")
        } else {
            callback.replace(&format!("&iss={iss}"), "").replace(&format!("iss={iss}&"), "")
        };

        let res = browser.get(&tampered).await;

        assert_eq!(res.status(), 400, "{tampered}");
        assert!(!browser.is_logged_in().await);
    }
}

#[tokio::test]
async fn cancelled_consent_gives_a_clear_page() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    let browser = app.browser();

    let callback = reach_callback(&browser, "alice", AtProvider::Cancel).await;
    let res = browser.get(&callback).await;

    assert!(callback.contains("error=access_denied"));
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Sign-in was cancelled"));
}

#[tokio::test]
async fn keys_are_fetched_again_when_the_provider_rotates_them() {
    let Some((app, mut lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    assert_eq!(sso_login(&app.browser(), "alice").await.status(), 303);

    lab.restart_with_new_key();
    let browser = app.browser();
    let res = sso_login(&browser, "alice").await;

    assert_eq!(res.status(), 303, "a token signed by the new key is accepted");
    assert!(browser.is_logged_in().await);
}

#[tokio::test]
async fn a_provider_that_is_down_gives_a_clear_page() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let app = TestApp::spawn_with(|s| sso_settings(s, &format!("http://{closed}"))).await;
    let browser = app.browser();

    let res = browser.submit("/accounts/sso/login/", &[("next", "/")]).await;

    assert_eq!(res.status(), 502);
    assert!(res.text().await.unwrap().contains("The sign-in service is not answering"));
}

#[tokio::test]
async fn a_slow_provider_gives_a_clear_page_within_the_timeout() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let app = TestApp::spawn_with(|s| {
        sso_settings(s, &format!("http://{addr}"));
        s.oidc_timeout_secs = 2;
    })
    .await;
    let started = Instant::now();

    let res = app.browser().submit("/accounts/sso/login/", &[("next", "/")]).await;

    assert_eq!(res.status(), 502);
    assert!(started.elapsed() < Duration::from_secs(6), "answered after {:?}", started.elapsed());
}

#[tokio::test]
async fn the_back_channel_follows_no_redirect() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    // A "provider" whose discovery document redirects to the real one.
    let redirector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = redirector.local_addr().unwrap();
    let target = format!("{}/.well-known/openid-configuration", lab.issuer);
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = redirector.accept().await {
            let mut buf = [0u8; 2048];
            let _ = socket.read(&mut buf).await;
            let reply =
                format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    drop(app);
    let app = TestApp::spawn_with(|s| sso_settings(s, &format!("http://{addr}"))).await;

    let res = app.browser().submit("/accounts/sso/login/", &[("next", "/")]).await;

    assert_eq!(res.status(), 502);
}

#[tokio::test]
async fn sso_only_mode_removes_password_login_and_keeps_a_one_time_staff_link() {
    let Some((app, _lab)) = app_with_lab(|s| s.sso_only = true).await else { return };
    let (staff, _) = app.staff_user("rõõt-ops").await;
    let visitor = app.browser();

    assert_eq!(visitor.get("/accounts/signup/").await.status(), 404);
    assert_eq!(visitor.get("/accounts/password-reset/").await.status(), 404);
    let (status, _) =
        visitor.json("/api/login/", json!({"username": staff.username, "password": staff.password})).await;
    assert_eq!(status, 404);
    let (_, login_page) = visitor.get_text("/accounts/login/").await;
    assert!(login_page.contains("Sign in with your company account") && !login_page.contains("type=\"password\""));

    let link = shoestring::apps::accounts::issue_break_glass_link(&app.state, &staff.username).await.unwrap();
    assert_eq!(visitor.get(&link).await.status(), 200, "the link shows a button; the GET changes nothing");
    let res = visitor.submit(&link, &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/");
    assert_eq!(visitor.get("/admin/").await.status(), 200);

    let other = app.browser();
    let again = other.submit(&link, &[]).await;
    assert_eq!(again.status(), 400, "the link works once");
    assert!(!other.is_logged_in().await);
}

#[tokio::test]
async fn sso_logins_appear_in_the_audit_trail_and_the_sessions_list() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    let browser = app.browser();

    sso_login(&browser, "alice").await;
    sso_login(&app.browser(), "alice").await;

    let (id, _, _) = user_row(&app, "alice").await.unwrap();
    assert_eq!(
        app.scalar_i64(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'user.sso_signup' AND reason LIKE 'single sign-on%'"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar_i64(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'user.login' AND reason LIKE 'single sign-on%'"
        )
        .await,
        1
    );
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 2);
    let (_, admin_page) = browser.get_text(&format!("/admin/users/{id}/")).await;
    assert!(admin_page.contains("single sign-on"), "the user's activity names the way in");
}

#[tokio::test]
async fn an_account_made_by_single_sign_on_adds_a_personal_address_without_a_password_but_gets_no_resets_there() {
    let Some((app, lab)) = app_with_lab(|_| {}).await else { return };
    lab.set_account("alice", alice());
    let browser = app.browser();
    assert_eq!(sso_login(&browser, "alice").await.status(), 303);

    let (_, page) = browser.get_text("/accounts/personal-email/").await;
    let asked = browser.submit("/accounts/personal-email/", &[("email", "alice@home.example")]).await;
    let link = app.link_in(&app.last_mail_to("alice@home.example").await, "/accounts/personal-email/confirm/");
    let confirmed = browser.submit(&link, &[]).await.status();
    app.browser().json("/api/recover-password/", json!({"email": "alice@home.example"})).await;

    assert!(!page.contains("Your password"), "no password to ask for");
    assert_eq!((asked.status().as_u16(), confirmed.as_u16()), (303, 200));
    let (_, profile) = browser.get_text("/accounts/profile/").await;
    assert!(profile.contains("alice@home.example"));
    let resets = app.mails_to("alice@home.example").await.into_iter().filter(|m| m.subject.contains("Reset")).count();
    assert_eq!(resets, 0, "a stolen session must not become a password");
}
