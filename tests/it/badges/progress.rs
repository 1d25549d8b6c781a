//! Progress from the learning platform: a local HTTP server plays it, answering in the format
//! docs/learning-platform.md documents, or slowly, with errors, or with malformed JSON. The job
//! reads it in the background; the page stays fast and shows the last known progress and when
//! it was read.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::design_badge;
use crate::support::{Browser, TestApp};

const TOKEN: &str = "learning-token-0123456789";
const GOOD: u8 = 0;
const SLOW: u8 = 1;
const FAILING: u8 = 2;
const MALFORMED: u8 = 3;

/// The learning platform: `GET /api/v1/users/{email}/courses/{course}/progress`.
async fn learning_platform(mode: Arc<AtomicU8>) -> String {
    async fn progress(
        State(mode): State<Arc<AtomicU8>>,
        headers: HeaderMap,
        Path((email, course)): Path<(String, String)>,
    ) -> Response {
        if headers.get("authorization").and_then(|h| h.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        match mode.load(Ordering::SeqCst) {
            SLOW => {
                tokio::time::sleep(Duration::from_secs(10)).await;
                StatusCode::GATEWAY_TIMEOUT.into_response()
            }
            FAILING => (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded 💥").into_response(),
            MALFORMED => ([("content-type", "application/json")], "{\"percent\": forty").into_response(),
            _ if email == "zoe@example.com" && course == "python-🐍" => {
                axum::Json(serde_json::json!({"percent": 40, "completed": false, "updated_at": "2026-11-01T08:00:00Z"}))
                    .into_response()
            }
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let app = axum::Router::new()
        .route("/api/v1/users/{email}/courses/{course}/progress", axum::routing::get(progress))
        .with_state(mode);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn setup(mode: Arc<AtomicU8>) -> (TestApp, Browser) {
    let base = learning_platform(mode).await;
    let app = TestApp::spawn_with(|s| {
        s.learning_base_url = Some(base);
        s.learning_token = Some(shoestring::kernel::config::Secret::new(TOKEN));
        s.outbound_allow_loopback = true;
        s.outbound_timeout_ms = 1_500;
        s.outbound_connect_timeout_ms = 500;
    })
    .await;
    let (_, staff) = app.staff("ada").await;
    let fields = [
        ("name", "Python 🐍"),
        ("slug", "python"),
        ("description", "d"),
        ("criteria", "Finish the course"),
        ("course_id", "python-🐍"),
    ];
    let res = super::submit_badge(&staff, "/admin/badges/new/", &fields, Some(super::badge_png())).await;
    assert_eq!(res.status(), 303);
    design_badge(&staff, "Unrelated 🎲", "unrelated", "").await;
    let (_, zoe) = app.logged_in("zoe").await;
    (app, zoe)
}

async fn read_progress(app: &TestApp) {
    let worker = shoestring::worker(&app.state);
    worker.register_schedules().await.unwrap();
    app.clock().advance(301);
    worker.run_due().await.unwrap();
}

#[tokio::test]
async fn progress_is_read_in_the_background_and_shown_with_the_time_it_was_read() {
    let mode = Arc::new(AtomicU8::new(GOOD));
    let (app, zoe) = setup(mode).await;

    let (_, before) = zoe.get_text("/badges/").await;
    assert!(before.contains("Your progress has not been read yet."));

    read_progress(&app).await;

    let (_, after) = zoe.get_text("/badges/").await;
    assert!(after.contains("<progress max=\"100\" value=\"40\">") && after.contains("40% done"), "{after}");
    assert!(after.contains("(as of "));
}

#[tokio::test]
async fn a_slow_failing_or_malformed_source_keeps_the_last_known_progress_and_the_page_fast() {
    let mode = Arc::new(AtomicU8::new(GOOD));
    let (app, zoe) = setup(mode.clone()).await;
    read_progress(&app).await;

    for bad in [SLOW, FAILING, MALFORMED] {
        mode.store(bad, Ordering::SeqCst);
        app.clock().advance(3_601);
        let started = Instant::now();
        read_progress(&app).await;
        assert!(started.elapsed() < Duration::from_secs(6), "the job gives up within its timeout");

        let started = Instant::now();
        let (status, page) = zoe.get_text("/badges/").await;
        assert_eq!(status, 200);
        assert!(started.elapsed() < Duration::from_millis(800), "the page never waits for the platform");
        assert!(page.contains("40% done") && page.contains("this is the last known progress"), "mode {bad}: {page}");
    }
    let error: String =
        sqlx::query_scalar("SELECT last_error FROM badge_progress").fetch_one(&app.state.db.pool).await.unwrap();
    assert!(error.contains("JSON"), "{error}");
}

#[tokio::test]
async fn a_wrong_token_is_a_failed_read_not_progress() {
    let base = learning_platform(Arc::new(AtomicU8::new(GOOD))).await;
    let app = TestApp::spawn_with(|s| {
        s.learning_base_url = Some(base);
        s.learning_token = Some(shoestring::kernel::config::Secret::new("wrong-token"));
        s.outbound_allow_loopback = true;
    })
    .await;
    let (_, staff) = app.staff("ada").await;
    let fields = [
        ("name", "Python 🐍"),
        ("slug", "python"),
        ("description", "d"),
        ("criteria", "c"),
        ("course_id", "python-🐍"),
    ];
    super::submit_badge(&staff, "/admin/badges/new/", &fields, Some(super::badge_png())).await;
    let (_, zoe) = app.logged_in("zoe").await;

    read_progress(&app).await;

    let (_, page) = zoe.get_text("/badges/").await;
    assert!(page.contains("The learning platform did not answer") && !page.contains("% done"), "{page}");
}
