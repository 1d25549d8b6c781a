//! The REST API for posts: pagination, search, permissions, likes, validation, quotas.

use serde_json::json;

use super::{get_post, post};
use crate::support::TestApp;

#[tokio::test]
async fn anyone_can_post_and_the_list_is_newest_first_with_drf_pagination() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let anonymous = app.browser();
    for n in 0..12 {
        post(if n % 2 == 0 { &alice } else { &anonymous }, &format!("post number {n}")).await;
        app.clock().advance(1);
    }

    let (status, first) = anonymous.get_json("/api/posts/?limit=5").await;
    let (_, last) = anonymous.get_json("/api/posts/?limit=5&offset=10").await;

    assert_eq!(status, 200);
    assert_eq!(first["count"], 12);
    assert_eq!(first["results"].as_array().unwrap().len(), 5);
    assert_eq!(first["results"][0]["body"], "post number 11");
    assert_eq!(first["results"][1]["author"], "alice");
    assert_eq!(first["results"][0]["author"], serde_json::Value::Null);
    assert!(first["next"].as_str().unwrap().ends_with("/api/posts/?limit=5&offset=5"));
    assert_eq!(first["previous"], serde_json::Value::Null);
    assert_eq!(last["results"].as_array().unwrap().len(), 2);
    assert_eq!(last["next"], serde_json::Value::Null);
}

#[tokio::test]
async fn the_list_searches_case_insensitively_and_filters_by_author() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let (_, bob) = app.logged_in("bob").await;
    post(&alice, "Rust is FUN").await;
    post(&bob, "rust and coffee").await;
    post(&bob, "tea time").await;

    let (_, found) = bob.get_json("/api/posts/?q=RUST").await;
    let (_, by_bob) = bob.get_json("/api/posts/?author=BOB").await;
    let (_, both) = bob.get_json("/api/posts/?q=rust&author=alice").await;
    let (_, wildcard) = bob.get_json("/api/posts/?q=%25").await;

    assert_eq!(found["count"], 2);
    assert_eq!(by_bob["count"], 2);
    assert_eq!(both["count"], 1);
    assert_eq!(wildcard["count"], 0, "% is searched literally");
}

#[tokio::test]
async fn search_matches_whole_words_in_any_case_or_accent() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    post(&browser, "Crème BRÛLÉE à la Straße").await;
    post(&browser, "ΚΑΛΗΜΕΡΑ κόσμε, 日本語 too").await;
    post(&browser, "creamy bruleed").await;

    let bodies = |v: serde_json::Value| -> Vec<String> {
        v["results"].as_array().unwrap().iter().map(|p| p["body"].as_str().unwrap().to_owned()).collect()
    };
    let (_, accents) = browser.get_json("/api/posts/?q=creme%20brulee").await;
    let (_, upper) = browser.get_json("/api/posts/?q=CRÈME%20BRÛLÉE").await;
    let (_, sharp_s) = browser.get_json("/api/posts/?q=strasse").await;
    let (_, greek) = browser.get_json("/api/posts/?q=καλημερα%20κοσμε").await;
    let (_, japanese) = browser.get_json("/api/posts/?q=日本語").await;
    let (_, part) = browser.get_json("/api/posts/?q=brul").await;
    let (_, punctuation) = browser.get_json("/api/posts/?q=%22*%20-").await;

    assert_eq!(bodies(accents), ["Crème BRÛLÉE à la Straße"]);
    assert_eq!(bodies(upper), ["Crème BRÛLÉE à la Straße"]);
    assert_eq!(bodies(sharp_s), ["Crème BRÛLÉE à la Straße"]);
    assert_eq!(bodies(greek), ["ΚΑΛΗΜΕΡΑ κόσμε, 日本語 too"]);
    assert_eq!(bodies(japanese), ["ΚΑΛΗΜΕΡΑ κόσμε, 日本語 too"]);
    assert_eq!(part["count"], 0, "words match whole");
    assert_eq!((punctuation["count"].as_i64(), punctuation["results"].as_array().map(Vec::len)), (Some(0), Some(0)));
}

#[tokio::test]
async fn an_edited_post_is_found_by_its_new_words_only() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let id = post(&alice, "first draft").await;

    let changed = alice.patch_json(&format!("/api/posts/{id}/"), &json!({"body": "final words"})).await;

    assert_eq!(changed.status(), 200);
    assert_eq!(alice.get_json("/api/posts/?q=draft").await.1["count"], 0);
    assert_eq!(alice.get_json("/api/posts/?q=final").await.1["count"], 1);
}

#[tokio::test]
async fn before_cursors_walk_every_post_once_down_to_the_oldest() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    for n in 0..12 {
        post(&alice, &format!("post number {n}")).await;
        app.clock().advance(1);
    }

    let mut seen = Vec::new();
    let mut next = Some(app.url("/api/posts/?limit=5&before=999999"));
    while let Some(url) = next {
        let path = url.split_once("/api/").map(|(_, rest)| format!("/api/{rest}")).unwrap();
        assert!(path.contains("before="), "cursor pages link on by cursor: {path}");
        let (status, page) = alice.get_json(&path).await;
        assert_eq!(status, 200);
        seen.extend(page["results"].as_array().unwrap().iter().map(|p| p["body"].as_str().unwrap().to_owned()));
        assert!(page["previous"].as_str().unwrap().ends_with("offset=0"));
        next = page["next"].as_str().map(str::to_owned);
    }

    let expected: Vec<String> = (0..12).rev().map(|n| format!("post number {n}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn offsets_deeper_than_ten_thousand_are_refused_with_the_way_to_go_deeper() {
    let app = TestApp::spawn().await;

    let (deep, error) = app.browser().get_json("/api/posts/?offset=10001").await;
    let (deepest, _) = app.browser().get_json("/api/posts/?offset=10000").await;

    assert_eq!((deep, deepest), (400, 200));
    assert!(error["details"].as_str().unwrap().contains("before="));
}

#[tokio::test]
async fn list_limits_are_capped_and_bad_parameters_are_a_400() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    post(&browser, "one").await;

    let (capped, body) = browser.get_json("/api/posts/?limit=100000").await;
    let (bad, error) = browser.get_json("/api/posts/?limit=ten").await;

    assert_eq!(capped, 200);
    assert!(body["next"].is_null());
    assert_eq!(bad, 400);
    assert!(error["details"].is_string());
}

#[tokio::test]
async fn a_missing_post_is_a_404() {
    let app = TestApp::spawn().await;

    let (status, body) = get_post(&app.browser(), 999).await;

    assert_eq!((status, body["details"].is_string()), (404, true));
}

#[tokio::test]
async fn only_the_author_or_staff_can_edit_or_delete_a_post() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let (_, bob) = app.logged_in("bob").await;
    let (_, staff) = app.staff("boss").await;
    let anonymous = app.browser();
    let id = post(&alice, "alice's post").await;
    let path = format!("/api/posts/{id}/");

    let by_bob = bob.patch_json(&path, &json!({"body": "hacked"})).await.status();
    let by_anonymous = anonymous.patch_json(&path, &json!({"body": "hacked"})).await.status();
    let bob_delete = bob.client.delete(bob.url(&path)).send().await.unwrap().status();
    let by_alice = alice.patch_json(&path, &json!({"body": "edited by alice"})).await.status();
    let by_staff = staff.patch_json(&path, &json!({"body": "edited by staff"})).await.status();
    let (_, after) = get_post(&alice, id).await;
    let put = alice.client.put(alice.url(&path)).json(&json!({"body": "replaced"})).send().await.unwrap().status();
    let delete = alice.client.delete(alice.url(&path)).send().await.unwrap().status();

    assert_eq!((by_bob.as_u16(), by_anonymous.as_u16(), bob_delete.as_u16()), (403, 401, 403));
    assert_eq!((by_alice.as_u16(), by_staff.as_u16(), put.as_u16(), delete.as_u16()), (200, 200, 200, 204));
    assert_eq!(after["body"], "edited by staff");
    assert_eq!(get_post(&alice, id).await.0, 404);
}

#[tokio::test]
async fn anonymous_posts_can_be_changed_by_staff_only() {
    let app = TestApp::spawn().await;
    let anonymous = app.browser();
    let (_, member) = app.logged_in("alice").await;
    let (_, staff) = app.staff("boss").await;
    let id = post(&anonymous, "drive-by post").await;
    let path = format!("/api/posts/{id}/");

    let own = anonymous.client.delete(anonymous.url(&path)).send().await.unwrap().status();
    let member_try = member.client.delete(member.url(&path)).send().await.unwrap().status();
    let staff_try = staff.client.delete(staff.url(&path)).send().await.unwrap().status();

    assert_eq!((own.as_u16(), member_try.as_u16(), staff_try.as_u16()), (401, 403, 204));
}

#[tokio::test]
async fn likes_toggle_once_per_user_with_the_fresh_count() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let (_, bob) = app.logged_in("bob").await;
    let id = post(&alice, "like me").await;
    let like = format!("/api/posts/{id}/like/");

    let first = alice.json(&like, json!({"user_id": 999})).await;
    let second = bob.json(&like, json!({})).await;
    let undo = alice.json(&like, json!({})).await;
    let (_, seen_by_bob) = get_post(&bob, id).await;
    let anonymous = app.browser().json(&like, json!({})).await;
    let missing = alice.json("/api/posts/999/like/", json!({})).await;

    assert_eq!(first, (200, json!({"liked": true, "like_count": 1})));
    assert_eq!(second, (200, json!({"liked": true, "like_count": 2})));
    assert_eq!(undo, (200, json!({"liked": false, "like_count": 1})));
    assert_eq!((seen_by_bob["liked"].as_bool(), seen_by_bob["like_count"].as_i64()), (Some(true), Some(1)));
    assert_eq!(anonymous.0, 401);
    assert_eq!(missing.0, 404);
}

#[tokio::test]
async fn parallel_likes_by_one_user_keep_the_count_exact() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let id = post(&alice, "race").await;
    let like = format!("/api/posts/{id}/like/");

    let requests = (0..20).map(|_| alice.client.post(alice.url(&like)).send());
    let statuses: Vec<u16> = futures_statuses(requests).await;

    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (_, after) = get_post(&alice, id).await;
    let rows = app.scalar_i64("SELECT COUNT(*) FROM likes").await;
    assert_eq!(after["like_count"].as_i64().unwrap(), rows);
    assert_eq!(rows, 0, "twenty toggles end where they started");
}

async fn futures_statuses(
    requests: impl Iterator<Item = impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static>,
) -> Vec<u16> {
    let handles: Vec<_> = requests.map(tokio::spawn).collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap().unwrap().status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn bodies_must_be_one_to_two_hundred_characters() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let empty = browser.json("/api/posts/", json!({"body": "   "})).await;
    let long = browser.json("/api/posts/", json!({"body": "x".repeat(201)})).await;
    let missing = browser.json("/api/posts/", json!({})).await;
    let wrong_type = browser.json("/api/posts/", json!({"body": 5})).await;
    let emoji = browser.json("/api/posts/", json!({"body": "🦀".repeat(200)})).await;
    let text = browser
        .client
        .post(browser.url("/api/posts/"))
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();

    assert_eq!((empty.0, long.0, missing.0, wrong_type.0, emoji.0), (400, 400, 400, 400, 201));
    assert_eq!(empty.1["errors"]["body"][0], "Write something first.");
    assert_eq!(text.status(), 415);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM posts").await, 1);
}

#[tokio::test]
async fn anonymous_posting_can_be_switched_off() {
    let app = TestApp::spawn_with(|s| s.allow_anonymous_posts = false).await;
    let (_, member) = app.logged_in("alice").await;

    let (anonymous, _) = app.browser().json("/api/posts/", json!({"body": "hello"})).await;
    let (signed_in, _) = member.json("/api/posts/", json!({"body": "hello"})).await;

    assert_eq!((anonymous, signed_in), (401, 201));
}

#[tokio::test]
async fn an_anonymous_ip_may_post_ten_times_an_hour() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for n in 0..10 {
        post(&browser, &format!("spam {n}")).await;
    }
    let over = browser.post_json("/api/posts/", &json!({"body": "one more"})).await;
    let retry = over.headers().get("retry-after").cloned();
    app.clock().advance(3601);
    let later = browser.json("/api/posts/", json!({"body": "an hour later"})).await;

    assert_eq!(over.status(), 429);
    assert!(retry.is_some());
    assert_eq!(later.0, 201);
}

/// Fifty posts at once from one anonymous visitor, and fifty from one member: the quotas (10 and
/// 30 an hour) hold exactly, however the requests interleave.
#[tokio::test]
async fn concurrent_posts_cannot_beat_the_quotas() {
    let app = TestApp::spawn().await;
    let anonymous = app.browser();
    let (_, member) = app.logged_in("alice").await;

    let (anonymous_answers, member_answers) = tokio::join!(burst(&anonymous), burst(&member));

    let created = |answers: &[(u16, serde_json::Value)]| answers.iter().filter(|(status, _)| *status == 201).count();
    let refused = |answers: &[(u16, serde_json::Value)]| answers.iter().filter(|(status, _)| *status == 429).count();
    assert_eq!((created(&anonymous_answers), refused(&anonymous_answers)), (10, 40));
    assert_eq!((created(&member_answers), refused(&member_answers)), (30, 20));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM posts").await, 40);
}

async fn burst(browser: &crate::support::Browser) -> Vec<(u16, serde_json::Value)> {
    let posts = (0..50).map(|n| browser.json("/api/posts/", json!({"body": format!("burst {n}")})));
    futures_util::future::join_all(posts).await
}

#[tokio::test]
async fn posts_written_before_search_existed_are_found_after_the_next_start() {
    let app = TestApp::spawn().await;
    // As the release before the search index wrote them: no searchable words.
    sqlx::query(
        "INSERT INTO posts (body, client_ip, created_at, updated_at) VALUES ('Ancient Ünïcode wisdom', '127.0.0.1', 1, 1)",
    )
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(app.browser().get_json("/api/posts/?q=unicode").await.1["count"], 0);

    shoestring::migrate(&app.state).await.unwrap();

    assert_eq!(app.browser().get_json("/api/posts/?q=unicode%20wisdom").await.1["count"], 1);
}
