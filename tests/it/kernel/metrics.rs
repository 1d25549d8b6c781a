//! Prometheus metrics on their own listener: values move as requests, logins, sign-ups, emails
//! and jobs happen; a token, when set, is required.

use shoestring::kernel::config::Secret;
use shoestring::kernel::metrics;
use tokio::sync::watch;

use crate::support::{TestApp, TestUser};

/// Serves the app's metrics on a port of their own; returns its base URL.
async fn metrics_url(app: &TestApp) -> (String, watch::Sender<bool>) {
    let listener = metrics::listener("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(metrics::serve(app.state.clone(), listener, stopped));
    (url, stop)
}

/// The value of the first sample whose line starts with `prefix`.
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {prefix} in:\n{text}"))
}

#[tokio::test]
async fn requests_logins_signups_emails_and_jobs_move_the_metrics() {
    let app = TestApp::spawn().await;
    let (url, _stop) = metrics_url(&app).await;
    let browser = app.browser();
    let page = r#"shoestring_http_request_duration_seconds_count{route="/posts/",method="GET",status="200"}"#;

    browser.get("/posts/").await;
    let before = reqwest::get(&url).await.unwrap().text().await.unwrap();
    browser.get("/posts/").await;
    browser.get("/posts/").await;
    let user = app.confirmed_user("mia").await;
    browser.json("/api/login/", serde_json::json!({"username": "mia", "password": "wrong wrong wrong"})).await;
    browser.api_login("mia", &user.password).await;
    browser.json("/api/create-account/", TestUser::named("noah").signup_json()).await;
    let after = reqwest::get(&url).await.unwrap().text().await.unwrap();
    app.run_jobs().await;
    let delivered = reqwest::get(&url).await.unwrap().text().await.unwrap();

    assert_eq!(sample(&after, page) - sample(&before, page), 2.0);
    assert!(after.contains(
        r#"shoestring_http_request_duration_seconds_bucket{le="0.005",route="/posts/",method="GET",status="200"}"#
    ));
    assert_eq!(sample(&after, r#"shoestring_logins_total{outcome="ok"}"#), 1.0);
    assert_eq!(sample(&after, r#"shoestring_logins_total{outcome="failed"}"#), 1.0);
    assert_eq!(sample(&after, "shoestring_signups_total"), 2.0, "mia and noah");
    assert_eq!(sample(&after, r#"shoestring_jobs{status="queued"}"#), 1.0, "noah's confirmation mail waits");
    assert_eq!(sample(&delivered, r#"shoestring_jobs{status="queued"}"#), 0.0);
    assert!(sample(&delivered, r#"shoestring_emails_total{outcome="sent"}"#) >= 2.0);
    assert!(sample(&delivered, "shoestring_process_resident_memory_bytes") > 1_000_000.0);
    assert!(sample(&delivered, "shoestring_process_open_fds") > 3.0);
    assert!(delivered.contains(r#"shoestring_db_pool_connections{status="idle"}"#));
}

#[tokio::test]
async fn with_a_token_the_metrics_need_it() {
    let app = TestApp::spawn_with(|s| s.operations.metrics_token = Some(Secret::new("scrape-me-please"))).await;
    let (url, _stop) = metrics_url(&app).await;
    let client = reqwest::Client::new();

    let without = client.get(&url).send().await.unwrap().status();
    let wrong = client.get(&url).bearer_auth("nope").send().await.unwrap().status();
    let right = client.get(&url).bearer_auth("scrape-me-please").send().await.unwrap().status();

    assert_eq!((without.as_u16(), wrong.as_u16(), right.as_u16()), (401, 401, 200));
}

#[tokio::test]
async fn the_app_itself_does_not_serve_metrics() {
    let app = TestApp::spawn().await;

    assert_eq!(app.browser().get("/metrics").await.status(), 404);
}

#[tokio::test]
async fn every_metric_the_grafana_dashboard_reads_exists() {
    let app = TestApp::spawn().await;
    let (url, _stop) = metrics_url(&app).await;
    app.browser().get("/posts/").await;
    app.browser().json("/api/login/", serde_json::json!({"username": "x", "password": "y"})).await;
    let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let dashboard =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/grafana-dashboard.json")).unwrap();

    let names: std::collections::BTreeSet<&str> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("shoestring_"))
        .collect();

    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let family =
            ["_total", "_bucket", "_count", "_sum"].iter().fold(name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n));
        let declared = format!("# TYPE {family} ");
        assert!(
            text.lines().any(|l| l.starts_with(&declared)),
            "the dashboard reads {name}, which /metrics does not have"
        );
    }
}

#[tokio::test]
async fn with_metrics_off_requests_are_not_counted() {
    let app = TestApp::spawn_with(|s| s.operations.metrics_bind = "off".parse().unwrap()).await;
    let (url, _stop) = metrics_url(&app).await;

    app.browser().get("/posts/").await;
    let text = reqwest::get(&url).await.unwrap().text().await.unwrap();

    assert!(!text.contains(r#"route="/posts/""#), "the request layer is left out");
}
