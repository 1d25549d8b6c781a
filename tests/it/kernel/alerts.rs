//! Error mail: ADMINS hear of a new server error, panic, dead job or failed backup once, then in
//! digests with the count, within an hourly cap, through the real SMTP client; and Sentry gets
//! the same scrubbed incident as a real envelope over HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use shoestring::kernel::alerts::{Incident, Kind};
use shoestring::kernel::config::Secret;
use sqlx::Executor;

use crate::support::TestApp;
use crate::support::smtp::{Received, SmtpSink};

const OPS: &str = "Ops Team <ops@example.com>";
const ONCALL: &str = "oncall@example.com";

async fn app_with_admins(
    sink: &SmtpSink,
    configure: impl FnOnce(&mut shoestring::kernel::config::Settings),
) -> TestApp {
    let port = sink.port;
    TestApp::spawn_with(move |s| {
        s.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}")));
        s.operations.admins = vec![OPS.into(), ONCALL.into()];
        configure(s);
    })
    .await
}

/// An app whose mail (sign-up links included) stays in the outbox.
async fn app_with_admins_and_outbox() -> TestApp {
    TestApp::spawn_with(|s| s.operations.admins = vec![OPS.into(), ONCALL.into()]).await
}

/// Makes every read of the post list fail as a bug would: its table is gone.
async fn break_the_post_list(app: &TestApp) {
    app.state.db.pool.execute("ALTER TABLE posts RENAME TO posts_gone").await.unwrap();
}

/// Waits (at most 10 s) until the background reports have counted `occurrences` errors in all:
/// a report is written after its request is answered, later on a loaded machine.
async fn until_counted(app: &TestApp, occurrences: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let counted = app.scalar_i64("SELECT CAST(COALESCE(SUM(occurrences), 0) AS BIGINT) FROM error_groups").await;
        if counted >= occurrences {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{counted} of {occurrences} errors counted after 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn mails_to<'a>(received: &'a [Received], to: &str) -> Vec<&'a Received> {
    received.iter().filter(|m| m.recipients.iter().any(|r| r == to)).collect()
}

/// The decoded text of a received mail (lettre encodes long lines quoted-printable).
fn text_of(mail: &Received) -> String {
    mail.data.replace("=\r\n", "").replace("=3D", "=").replace("=20", " ")
}

#[tokio::test]
async fn a_new_server_error_mails_each_admin_once_with_the_request_and_no_secrets() {
    let app = app_with_admins_and_outbox().await;
    let (user, browser) = app.logged_in("mallory").await;
    break_the_post_list(&app).await;

    let first = browser.get("/posts/?token=sekrit-query-value").await;
    let request_id = first.headers()["x-request-id"].to_str().unwrap().to_owned();
    // Reports are written in the background: without this wait a later request's report may be
    // counted first on a loaded machine, and the first mail would rightly name that request.
    until_counted(&app, 1).await;
    for _ in 0..4 {
        assert_eq!(browser.get("/posts/").await.status(), 500);
    }
    until_counted(&app, 5).await;
    app.run_jobs().await;

    assert_eq!(first.status(), 500);
    assert_eq!(app.mails_to("Ops Team <ops@example.com>").await.len(), 1, "one mail for five errors");
    let to_oncall = app.mails_to(ONCALL).await;
    assert_eq!(to_oncall.len(), 1);
    let mail = format!("{}\n{}", to_oncall[0].subject, to_oncall[0].text_body);
    assert!(mail.contains("500 at GET /posts/"), "{mail}");
    assert!(mail.contains(&request_id), "the request id: {mail}");
    let user_id = app.scalar_i64("SELECT id FROM users WHERE username = 'mallory'").await;
    assert!(mail.contains(&format!("User id:  {user_id}")), "{mail}");
    assert!(mail.contains(shoestring::kernel::build_info::VERSION));
    assert!(mail.contains("posts"), "the cause names the table: {mail}");
    for secret in ["sekrit-query-value", "sessionid", &user.password] {
        assert!(!mail.contains(secret), "{secret} leaked into the mail");
    }
}

#[tokio::test]
async fn further_occurrences_come_as_one_digest_per_interval_with_the_count() {
    let sink = SmtpSink::start().await;
    let app = app_with_admins(&sink, |s| s.operations.error_mail_interval_minutes = 10).await;
    break_the_post_list(&app).await;
    let visitor = app.browser();

    visitor.get("/posts/").await;
    until_counted(&app, 1).await;
    for n in 2..=7 {
        visitor.get("/posts/").await;
        until_counted(&app, n).await;
    }
    let early = app.state.alerts.send_digests().await.unwrap();
    app.clock().advance(11 * 60);
    let digests = app.state.alerts.send_digests().await.unwrap();
    let nothing_new = app.state.alerts.send_digests().await.unwrap();
    app.run_jobs().await;

    assert_eq!((early, digests, nothing_new), (0, 1, 0), "no digest before the interval, one after, none again");
    let to_ops = mails_to(&sink.received(), "ops@example.com").into_iter().map(text_of).collect::<Vec<_>>();
    assert_eq!(to_ops.len(), 2);
    assert!(to_ops[1].contains("(6 more)") && to_ops[1].contains("6 more time(s)"), "{}", to_ops[1]);
}

#[tokio::test]
async fn the_hourly_cap_holds_for_many_different_errors_and_the_rest_follow_later() {
    let sink = SmtpSink::start().await;
    let app = app_with_admins(&sink, |s| {
        s.operations.error_mail_hourly_cap = 3;
        s.operations.admins = vec![ONCALL.into()];
    })
    .await;

    for name in ["alpha", "beta", "gamma", "delta", "epsilon"] {
        app.state.alerts.record(&Incident::new(Kind::ServerError, [format!("{name} broke")])).await;
    }
    app.run_jobs().await;
    let within_the_hour = sink.received().len();
    app.clock().advance(3601);
    app.state.alerts.send_digests().await.unwrap();
    app.run_jobs().await;

    assert_eq!(within_the_hour, 3);
    let all = sink.received().iter().map(text_of).collect::<Vec<_>>();
    assert_eq!(all.len(), 5, "the two held back arrive in the next hour");
    assert!(all[3..].iter().all(|m| m.contains("A new error happened")), "held back, they read as new errors");
}

#[tokio::test]
async fn a_panic_answers_500_and_is_mailed_with_its_message() {
    let sink = SmtpSink::start().await;
    let app = app_with_admins(&sink, |_| {}).await;
    let router = Router::new().route("/boom/{n}/", get(boom));
    let server = serve_wrapped(router, &app).await;

    let res = reqwest::get(format!("http://{server}/boom/7/")).await.unwrap();
    until_counted(&app, 1).await;
    app.run_jobs().await;

    assert_eq!(res.status(), 500);
    let mail = text_of(mails_to(&sink.received(), ONCALL)[0]);
    assert!(mail.contains("panic at GET /boom/{n}/") && mail.contains("boom at the widget factory"), "{mail}");
}

async fn boom() -> &'static str {
    panic!("boom at the widget factory")
}

/// Serves `router` inside the app's real middleware stack, with the app's state.
async fn serve_wrapped(router: Router<shoestring::kernel::AppState>, app: &TestApp) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let wrapped = shoestring::kernel::http::layers::wrap(router, app.state.clone());
    tokio::spawn(async move { axum::serve(listener, wrapped).await });
    addr
}

#[tokio::test]
async fn a_job_that_fails_its_last_attempt_is_mailed_once() {
    let sink = SmtpSink::start().await;
    let app = app_with_admins(&sink, |_| {}).await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    shoestring::kernel::jobs::enqueue(&mut tx, "reports.nightly", &serde_json::json!({}), app.clock().now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    for _ in 0..12 {
        app.run_jobs().await;
        app.clock().advance(3600);
    }
    app.run_jobs().await;

    let mails = mails_to(&sink.received(), ONCALL).into_iter().map(text_of).collect::<Vec<_>>();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("dead job reports.nightly") && mails[0].contains("no handler"), "{}", mails[0]);
}

#[tokio::test]
async fn a_failed_backup_is_mailed() {
    let sink = SmtpSink::start().await;
    let app = app_with_admins(&sink, |_| {}).await;

    let failed = shoestring::ops::jobs::run_backup(&app.state, Some("/proc/no-such-place/backups")).await;
    app.run_jobs().await;

    assert!(failed.is_err());
    let mail = text_of(mails_to(&sink.received(), ONCALL)[0]);
    assert!(mail.contains("backup failed"), "{mail}");
}

#[tokio::test]
async fn without_admins_nothing_is_recorded_or_mailed() {
    let sink = SmtpSink::start().await;
    let app = app_with_admins(&sink, |s| s.operations.admins = vec![]).await;
    break_the_post_list(&app).await;

    app.browser().get("/posts/").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.run_jobs().await;

    assert!(sink.received().is_empty());
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM error_groups").await, 0);
}

/// A stand-in Sentry that keeps every envelope posted to its store endpoint.
async fn sentry_endpoint() -> (String, Arc<Mutex<Vec<String>>>) {
    let envelopes = Arc::new(Mutex::new(Vec::new()));
    let kept = envelopes.clone();
    let router = Router::new().route(
        "/api/{project}/envelope/",
        post(move |body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://publickey@{addr}/42"), envelopes)
}

#[tokio::test]
async fn sentry_receives_the_scrubbed_incident_as_an_envelope() {
    let (dsn, envelopes) = sentry_endpoint().await;
    let app = TestApp::spawn_with(|s| s.operations.sentry_dsn = Some(Secret::new(dsn))).await;
    let (_, browser) = app.logged_in("trent").await;
    break_the_post_list(&app).await;

    let res = browser.get("/posts/?token=sekrit-query-value").await;
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.state.alerts.flush(Duration::from_secs(5));

    let envelopes = envelopes.lock().unwrap().clone();
    assert_eq!(envelopes.len(), 1, "{envelopes:?}");
    let envelope = &envelopes[0];
    let event: serde_json::Value = envelope
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|item| item.get("exception").is_some())
        .expect("an event item");
    assert_eq!(event["tags"]["request_id"], request_id.as_str());
    assert_eq!(event["transaction"], "GET /posts/");
    assert_eq!(event["request"]["method"], "GET");
    assert!(event["user"]["id"].is_string());
    assert!(event["exception"]["values"].to_string().contains("posts"));
    for secret in ["sekrit-query-value", "sessionid", "cookie"] {
        assert!(!envelope.to_lowercase().contains(secret), "{secret} leaked to Sentry");
    }
}
