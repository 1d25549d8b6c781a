//! The HTML pages, driven as a browser without JavaScript would: forms with CSRF tokens,
//! redirects, and links read from the outbox.

use crate::support::{PASSWORD, TestApp};

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_visitor_signs_up_confirms_logs_in_and_out_through_the_pages() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let signup = browser
        .submit(
            "/accounts/signup/",
            &[("username", "alice"), ("email", "alice@example.com"), ("password", PASSWORD), ("nickname", "Ali 🦀")],
        )
        .await;
    let signup_html = signup.text().await.unwrap();
    let link = app.link_in(&app.last_mail_to("alice@example.com").await, "/accounts/confirm/");
    let confirm_page = browser.get_text(&link).await;
    let confirmed = browser.submit(&link, &[]).await.text().await.unwrap();
    let login = browser.submit("/accounts/login/", &[("login", "alice"), ("password", PASSWORD)]).await;
    let profile = browser.get_text("/accounts/profile/").await;
    let logout = browser.submit("/accounts/logout/", &[]).await;

    assert!(signup_html.contains("Check your email"));
    assert!(confirm_page.1.contains("Confirm my account"));
    assert!(confirmed.contains("Your account is confirmed"));
    assert_eq!((login.status().as_u16(), location(&login)), (303, "/accounts/profile/".into()));
    assert!(profile.1.contains("alice") && profile.1.contains("Ali 🦀"));
    assert_eq!(location(&logout), "/");
    assert!(!browser.is_logged_in().await);
}

#[tokio::test]
async fn form_errors_are_shown_next_to_their_fields_and_typed_values_kept() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let res = browser
        .submit(
            "/accounts/signup/",
            &[("username", "bad name"), ("email", "not-an-email"), ("password", "short"), ("first_name", "Zoë")],
        )
        .await;
    let status = res.status();
    let html = res.text().await.unwrap();

    assert_eq!(status, 400);
    assert!(html.contains("Use only letters, digits"));
    assert!(html.contains("Enter a valid email address."));
    assert!(html.contains("too short"));
    assert!(html.contains("value=\"Zoë\""));
    assert!(!html.contains("value=\"short\""), "passwords are never echoed back");
}

#[tokio::test]
async fn pages_escape_what_users_typed() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("bob").await;

    browser
        .submit(
            "/accounts/profile/edit/",
            &[("first_name", "<script>alert(1)</script>"), ("nickname", "\"><img src=x onerror=alert(1)>")],
        )
        .await;
    let (_, html) = browser.get_text("/accounts/profile/").await;

    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || html.contains("&lt;script&gt;"));
    assert!(!html.contains("<img src=x"));
}

#[tokio::test]
async fn a_wrong_password_and_an_unconfirmed_account_get_their_own_messages() {
    let app = TestApp::spawn().await;
    app.confirmed_user("carol").await;
    let browser = app.browser();
    browser
        .submit("/accounts/signup/", &[("username", "dave"), ("email", "dave@example.com"), ("password", PASSWORD)])
        .await;

    let wrong = browser
        .submit("/accounts/login/", &[("login", "carol"), ("password", "wrong password!")])
        .await
        .text()
        .await
        .unwrap();
    let unconfirmed =
        browser.submit("/accounts/login/", &[("login", "dave"), ("password", PASSWORD)]).await.text().await.unwrap();

    assert!(wrong.contains("Please enter a correct username/email and password."));
    assert!(unconfirmed.contains("confirm your email") && unconfirmed.contains("/accounts/resend/"));
}

#[tokio::test]
async fn private_pages_send_visitors_to_login_and_back() {
    let app = TestApp::spawn().await;
    app.confirmed_user("erin").await;
    let browser = app.browser();

    let res = browser.get("/accounts/profile/edit/").await;
    let to = location(&res);
    let login = browser
        .submit("/accounts/login/", &[("login", "erin"), ("password", PASSWORD), ("next", "/accounts/profile/edit/")])
        .await;

    assert_eq!(res.status(), 303);
    assert_eq!(to, "/accounts/login/?next=%2Faccounts%2Fprofile%2Fedit%2F");
    assert_eq!(location(&login), "/accounts/profile/edit/");
}

#[tokio::test]
async fn login_never_redirects_off_site() {
    let app = TestApp::spawn().await;
    app.confirmed_user("frank").await;

    for next in ["https://evil.example", "//evil.example", "/\\evil.example"] {
        let browser = app.browser();
        let res =
            browser.submit("/accounts/login/", &[("login", "frank"), ("password", PASSWORD), ("next", next)]).await;
        assert_eq!(location(&res), "/accounts/profile/", "{next}");
    }
}

#[tokio::test]
async fn password_reset_through_the_pages() {
    let app = TestApp::spawn().await;
    app.confirmed_user("gina").await;
    let browser = app.browser();

    let asked =
        browser.submit("/accounts/password-reset/", &[("email", "gina@example.com")]).await.text().await.unwrap();
    let unknown =
        browser.submit("/accounts/password-reset/", &[("email", "who@example.com")]).await.text().await.unwrap();
    let link = app.link_in(&app.last_mail_to("gina@example.com").await, "/accounts/password-reset/");
    let form = browser.get(&link).await;
    let referrer = form.headers()["referrer-policy"].to_str().unwrap().to_owned();
    let form_html = form.text().await.unwrap();
    let weak = browser.submit(&link, &[("new_password", "short")]).await;
    let done = browser.submit(&link, &[("new_password", "a shiny new passphrase")]).await.text().await.unwrap();
    let reused = browser.get_text(&link).await.1;

    assert!(asked.contains("If an account exists"));
    assert_eq!(asked, unknown);
    assert_eq!(referrer, "no-referrer");
    assert!(form_html.contains("autocomplete=\"new-password\""));
    assert_eq!(weak.status(), 400);
    assert!(done.contains("Your password has been changed"));
    assert!(reused.contains("This link does not work"));
    browser.api_login("gina", "a shiny new passphrase").await;
}

#[tokio::test]
async fn profile_edit_email_change_password_change_and_delete_through_the_pages() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("hank").await;

    let saved = browser
        .submit("/accounts/profile/edit/", &[("first_name", "Hank"), ("last_name", "Hill"), ("nickname", "")])
        .await;
    let flash = browser.get_text("/accounts/profile/").await.1;
    let email = browser.submit("/accounts/email/", &[("email", "hank@example.org"), ("password", PASSWORD)]).await;
    let link = app.link_in(&app.last_mail_to("hank@example.org").await, "/accounts/email/confirm/");
    let email_done = browser.submit(&link, &[]).await.text().await.unwrap();
    let wrong_current = browser
        .submit("/accounts/password/", &[("current_password", "nope"), ("new_password", "a brand new passphrase")])
        .await;
    let changed = browser
        .submit("/accounts/password/", &[("current_password", PASSWORD), ("new_password", "a brand new passphrase")])
        .await;
    let deleted =
        browser.submit("/accounts/delete/", &[("password", "a brand new passphrase")]).await.text().await.unwrap();

    assert_eq!(location(&saved), "/accounts/profile/");
    assert!(flash.contains("Your profile was saved.") && flash.contains("Hank"));
    assert_eq!(email.status(), 303);
    assert!(email_done.contains("Your email address was changed"));
    assert_eq!(wrong_current.status(), 400);
    assert_eq!(changed.status(), 303);
    assert!(deleted.contains("Your account was deleted"));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
async fn login_and_signup_forms_use_the_right_autocomplete_and_post() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let login = browser.get_text("/accounts/login/").await.1;
    let signup = browser.get_text("/accounts/signup/").await.1;

    assert!(login.contains("method=\"post\"") && login.contains("type=\"password\" autocomplete=\"current-password\""));
    assert!(signup.contains("type=\"password\" autocomplete=\"new-password\""));
    assert!(!browser.get_text("/accounts/login/?login=x&password=y").await.1.contains("Invalid"));
}
