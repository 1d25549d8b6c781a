//! A personal email address next to the account's own: confirmed by its link, told to the
//! account's address, used for password resets, removable; other accounts' addresses refused
//! without revealing them.

use serde_json::json;

use crate::support::{PASSWORD, TestApp};

const HOME: &str = "mia.home@example.org";

#[tokio::test]
async fn a_personal_address_counts_only_once_its_link_is_opened_and_the_account_address_is_told() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("mia").await;

    let asked = browser.submit("/accounts/personal-email/", &[("email", HOME), ("password", PASSWORD)]).await;
    let (_, waiting) = browser.get_text("/accounts/personal-email/").await;
    let link = app.link_in(&app.last_mail_to(HOME).await, "/accounts/personal-email/confirm/");
    let (shown, confirm_page) = browser.get_text(&link).await;
    let (_, before) = browser.get_text("/accounts/profile/").await;
    let confirmed = browser.submit(&link, &[]).await.status();
    let again = browser.submit(&link, &[]).await.status();

    assert_eq!((asked.status().as_u16(), shown, confirmed.as_u16(), again.as_u16()), (303, 200, 200, 400));
    assert!(waiting.contains("Waiting for its link") && waiting.contains(HOME), "{waiting}");
    assert!(confirm_page.contains("Confirm my personal address"));
    assert!(!before.contains(HOME), "not before the link is opened");
    let (_, profile) = browser.get_text("/accounts/profile/").await;
    assert!(profile.contains(HOME));
    assert!(profile.contains("Personal email address added"), "in the security activity");
    let notice = app.last_mail_to("mia@example.com").await;
    assert!(notice.subject.contains("personal address was added"), "{}", notice.subject);
    assert!(notice.text_body.contains(HOME));
    let (_, export) = browser.get_json("/api/export/").await;
    assert_eq!(export["personal_email"], HOME);
}

#[tokio::test]
async fn adding_a_personal_address_needs_the_password_and_another_address_than_the_accounts() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("noor").await;

    let wrong = browser.submit("/accounts/personal-email/", &[("email", HOME), ("password", "not it at all")]).await;
    let wrong = (wrong.status().as_u16(), wrong.text().await.unwrap());
    let own =
        browser.submit("/accounts/personal-email/", &[("email", "NOOR@example.com"), ("password", PASSWORD)]).await;
    let own = (own.status().as_u16(), own.text().await.unwrap());
    let bad = browser.submit("/accounts/personal-email/", &[("email", "not an address"), ("password", PASSWORD)]).await;

    assert_eq!(wrong.0, 400);
    assert!(wrong.1.contains("Your password was entered incorrectly."));
    assert_eq!(own.0, 400);
    assert!(own.1.contains("This is the address of your account"), "{}", own.1);
    assert_eq!(bad.status(), 400);
    assert!(app.mails_to(HOME).await.is_empty());
    let without_token = browser.submit_without_token("/accounts/personal-email/", &[("email", HOME)]).await;
    assert_eq!(without_token.status(), 403);
}

#[tokio::test]
async fn another_accounts_address_gets_a_notice_and_never_becomes_personal() {
    let app = TestApp::spawn().await;
    let (_, carol) = app.logged_in("carol").await;
    app.add_personal_email(&carol, "carol@home.example").await;
    let (_, dave) = app.logged_in("dave").await;

    for taken in ["carol@example.com", "Carol@Home.example"] {
        let res = dave.submit("/accounts/personal-email/", &[("email", taken), ("password", PASSWORD)]).await;
        assert_eq!(res.status(), 303, "answered as if sent: {taken}");
    }

    let mails = app.mails().await;
    for to in ["carol@example.com", "carol@home.example"] {
        let last = mails.iter().rfind(|m| m.to_addr.eq_ignore_ascii_case(to)).unwrap();
        assert!(last.subject.contains("tried to sign up"), "{to} is told");
    }
    let links = app.mails_to("carol@home.example").await;
    let links = links.iter().filter(|m| m.text_body.contains("/accounts/personal-email/confirm/")).count();
    assert_eq!(links, 1, "carol's own link only");
    let (_, page) = dave.get_text("/accounts/personal-email/").await;
    assert!(!page.to_lowercase().contains("carol"), "{page}");
}

#[tokio::test]
async fn a_password_reset_asked_with_the_personal_address_goes_there_until_it_is_removed() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("omar").await;
    app.add_personal_email(&browser, "omar@home.example").await;
    let stranger = app.browser();

    stranger.json("/api/recover-password/", json!({"email": "OMAR@home.example"})).await;
    let link = app.link_in(&app.last_mail_to("omar@home.example").await, "/accounts/password-reset/");
    let token = TestApp::token_of(&link);
    let reset = stranger
        .json("/api/update-password/", json!({"email-token": token, "password": "a brand new passphrase"}))
        .await;
    assert_eq!(reset.0, 200);
    stranger.api_login("omar", "a brand new passphrase").await;

    let removed = stranger.submit("/accounts/personal-email/remove/", &[]).await;
    assert_eq!(removed.status(), 303);
    let resets_before = app.mails_to("omar@home.example").await.len();
    app.clock().advance(3600);
    app.browser().json("/api/recover-password/", json!({"email": "omar@home.example"})).await;
    assert_eq!(app.mails_to("omar@home.example").await.len(), resets_before, "no longer his");
    let (_, profile) = stranger.get_text("/accounts/profile/").await;
    assert!(!profile.contains("omar@home.example"));
}
