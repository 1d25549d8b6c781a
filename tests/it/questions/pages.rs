//! The public page: served from the stored answer, fast while the source hangs, Open Graph tags,
//! 404s, the home-page setting.

use std::time::{Duration, Instant};

use crate::support::TestApp;
use crate::support::source::Reply;

use super::*;

#[tokio::test]
async fn the_page_has_open_graph_tags_and_a_link_to_its_json_twin() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let today = today(&app).to_string();
    let source = source_with(Reply::Json(game_log(&[(&today, 1)]))).await;
    create(&staff, &tatis_fields(&source)).await;
    refresh(&app).await;

    let page = app.browser().get_text("/q/tatis/").await.1;

    assert!(page.contains(r#"<meta property="og:title" content="Does Tatis Jr have an error today?">"#), "{page}");
    assert!(page.contains(r#"<meta property="og:description" content="YES (as of "#));
    assert!(page.contains(&format!(r#"<meta property="og:url" content="{}">"#, app.url("/q/tatis/"))));
    assert!(page.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
    assert!(page.contains(r#"href="/q/tatis.json""#));
}

#[tokio::test]
async fn a_question_not_read_yet_is_unknown_and_unknown_slugs_are_404() {
    let app = spawn().await;
    let (_, staff) = app.staff("boss").await;
    let source = source_with(Reply::Json(game_log(&[]))).await;
    create(&staff, &tatis_fields(&source)).await;
    let browser = app.browser();

    let page = browser.get_text("/q/tatis/").await.1;
    let no_slash = browser.get("/q/tatis").await;
    let missing_page = browser.get("/q/nope/").await.status();
    let missing_json = browser.get_json("/q/nope.json").await;

    assert!(page.contains("Nobody knows") && page.contains("Not read yet."), "{page}");
    assert!(source.seen().is_empty(), "a page view never reads the source");
    assert_eq!((no_slash.status().as_u16(), no_slash.headers()["location"].to_str().unwrap()), (308, "/q/tatis/"));
    assert_eq!(missing_page, 404);
    assert_eq!((missing_json.0, missing_json.1["details"].as_str()), (404, Some("There is no such question.")));
}

#[tokio::test]
async fn the_home_page_can_be_a_question() {
    let app = TestApp::spawn_with(|s| {
        s.outbound_allow_loopback = true;
        s.question_home = Some("tatis".into());
    })
    .await;
    let (_, staff) = app.staff("boss").await;
    let today = today(&app).to_string();
    let source = source_with(Reply::Json(game_log(&[(&today, 0)]))).await;
    create(&staff, &tatis_fields(&source)).await;
    refresh(&app).await;

    let (status, home) = app.browser().get_text("/").await;

    assert_eq!(status, 200);
    assert!(home.contains(r#"<p class="q-answer q-no" role="status">NO</p>"#), "{home}");
}

/// p50 and p99 of `n` page views made by `concurrency` visitors at once.
async fn page_latencies(app: &TestApp, n: usize, concurrency: usize) -> (Duration, Duration) {
    let client = reqwest::Client::new();
    let url = app.url("/q/tatis/");
    let mut all = Vec::with_capacity(n);
    for _ in 0..n / concurrency {
        let batch = (0..concurrency).map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let res = client.get(url).send().await.unwrap();
                assert_eq!(res.status(), 200);
                res.bytes().await.unwrap();
                started.elapsed()
            })
        });
        for handle in batch.collect::<Vec<_>>() {
            all.push(handle.await.unwrap());
        }
    }
    all.sort();
    (all[all.len() / 2], all[all.len() * 99 / 100])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_hangs_never_slows_the_page() {
    let app = TestApp::spawn_with(|s| {
        s.outbound_allow_loopback = true;
        s.outbound_timeout_ms = 20_000;
    })
    .await;
    let (_, staff) = app.staff("boss").await;
    let today = today(&app).to_string();
    let source = source_with(Reply::Json(game_log(&[(&today, 1)]))).await;
    create(&staff, &tatis_fields(&source)).await;
    refresh(&app).await;
    page_latencies(&app, 100, 10).await;

    let healthy = page_latencies(&app, 400, 10).await;
    source.set(GAME_LOG, Reply::Hang);
    app.clock().advance(600);
    let reading = tokio::spawn({
        let state = app.state.clone();
        async move { shoestring::apps::questions::refresh_due(&state).await }
    });
    let hanging = page_latencies(&app, 400, 10).await;
    let stuck = !reading.is_finished();
    reading.abort();

    println!(
        "page p50/p99 with a healthy source: {:?}/{:?}; while it hangs: {:?}/{:?}",
        healthy.0, healthy.1, hanging.0, hanging.1
    );
    assert!(stuck, "the read was still hanging while the page was measured");
    // A page that waited on the source would take the whole 20 s timeout; the margins only
    // absorb the noise of other tests sharing the machine.
    assert!(hanging.0 < healthy.0 * 2 + Duration::from_millis(20), "p50 {:?} vs {:?}", hanging.0, healthy.0);
    assert!(hanging.1 < healthy.1 * 3 + Duration::from_millis(100), "p99 {:?} vs {:?}", hanging.1, healthy.1);
    assert_eq!(twin(&app, "tatis").await["answer"], "yes", "the last good answer stays");
}
