//! Real SMTP delivery through lettre to a local SMTP server, and what happens when it is down.

use shoestring::kernel::config::Secret;

use crate::support::smtp::SmtpSink;
use crate::support::{TestApp, TestUser};

#[tokio::test]
async fn emails_go_out_over_smtp_as_text_and_html() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|s| s.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{}", sink.port)))).await;

    app.browser().json("/api/create-account/", TestUser::named("alice").signup_json()).await;
    app.run_jobs().await;

    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].recipients, vec!["alice@example.com".to_owned()]);
    assert!(received[0].data.contains("Subject: Confirm your Shoestring account"));
    assert!(received[0].data.contains("text/plain") && received[0].data.contains("text/html"));
    assert!(received[0].data.contains("/accounts/confirm/"));
}

#[tokio::test]
async fn sign_up_succeeds_while_smtp_is_down_and_the_mail_arrives_once_it_is_back() {
    let sink = SmtpSink::start().await;
    sink.set_down(true);
    let app = TestApp::spawn_with(|s| s.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{}", sink.port)))).await;

    let (status, _) = app.browser().json("/api/create-account/", TestUser::named("bob").signup_json()).await;
    app.run_jobs().await;
    let attempts = app.scalar_i64("SELECT attempts FROM jobs").await;
    sink.set_down(false);
    app.clock().advance(60);
    app.run_jobs().await;

    assert_eq!(status, 200);
    assert_eq!(attempts, 1);
    assert_eq!(sink.received().len(), 1);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn with_mail_outbox_set_nothing_reaches_the_smtp_server_and_the_mail_is_kept() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|s| {
        s.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{}", sink.port)));
        s.mail_outbox = true;
    })
    .await;

    app.browser().json("/api/create-account/", TestUser::named("erin").signup_json()).await;
    app.run_jobs().await;

    assert!(sink.received().is_empty());
    let kept = app.mails().await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].to_addr, "erin@example.com");
}

#[tokio::test]
async fn the_development_outbox_shows_sent_mail_and_its_links() {
    let app = TestApp::spawn().await;
    app.browser().json("/api/create-account/", TestUser::named("carol").signup_json()).await;
    app.run_jobs().await;
    let browser = app.browser();

    let (status, list) = browser.get_text("/dev/outbox/").await;
    let id = app.mails().await[0].id;
    let (_, message) = browser.get_text(&format!("/dev/outbox/{id}/")).await;
    let html = browser.get(&format!("/dev/outbox/{id}/html")).await;
    let csp = html.headers()["content-security-policy"].to_str().unwrap().to_owned();

    assert_eq!(status, 200);
    assert!(list.contains("Confirm your Shoestring account") && list.contains("carol@example.com"));
    assert!(message.contains("/accounts/confirm/"));
    assert!(csp.contains("sandbox"));
}

#[tokio::test]
async fn a_mail_delivered_twice_carries_the_same_message_id_both_times() {
    let sink = SmtpSink::start().await;
    sink.lose_next_reply();
    let app = TestApp::spawn_with(|s| s.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{}", sink.port)))).await;

    app.browser().json("/api/create-account/", TestUser::named("dora").signup_json()).await;
    app.run_jobs().await;
    app.clock().advance(60);
    app.run_jobs().await;

    let ids: Vec<String> = sink
        .received()
        .iter()
        .map(|m| m.data.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "the first delivery's reply was lost, so it was sent again");
    assert_eq!(ids[0], ids[1]);
    assert!(ids[0].contains(".shoestring@"), "{}", ids[0]);
}
