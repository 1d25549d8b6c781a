//! GraphQL: the same rules as REST, bounded queries, introspection only where docs are on.

use serde_json::{Value, json};

use super::post;
use crate::support::{Browser, TestApp};

async fn gql(browser: &Browser, query: &str, variables: Value) -> Value {
    let (status, body) = browser.json("/graphql", json!({"query": query, "variables": variables})).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn error_code(reply: &Value) -> &str {
    reply["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn posts_come_paginated_with_counts_and_the_readers_like() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    for n in 0..7 {
        post(&alice, &format!("Post {n}")).await;
        app.clock().advance(1);
    }

    let reply = gql(&alice, "{ posts(page: 2, pageSize: 3, search: \"post\") { count page pages hasNext hasPrev items { body author liked } } me { username isStaff } }", json!({})).await;

    let posts = &reply["data"]["posts"];
    assert_eq!((posts["count"].as_i64(), posts["pages"].as_i64()), (Some(7), Some(3)));
    assert_eq!((posts["hasNext"].as_bool(), posts["hasPrev"].as_bool()), (Some(true), Some(true)));
    assert_eq!(posts["items"][0]["body"], "Post 3");
    assert_eq!(posts["items"][0]["author"], "alice");
    assert_eq!(reply["data"]["me"], json!({"username": "alice", "isStaff": false}));
}

#[tokio::test]
async fn next_before_cursors_page_through_posts_without_page_numbers() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    for n in 1..=5 {
        post(&alice, &format!("Post {n}")).await;
    }
    let query = "query($before: Int) { posts(pageSize: 2, before: $before) { page hasNext hasPrev nextBefore items { body } } }";

    let first = gql(&alice, "{ posts(pageSize: 2) { nextBefore items { body } } }", json!({})).await;
    let cursor = first["data"]["posts"]["nextBefore"].clone();
    let second = gql(&alice, query, json!({"before": cursor})).await;
    let third = gql(&alice, query, json!({"before": second["data"]["posts"]["nextBefore"]})).await;

    let bodies = |reply: &serde_json::Value| -> Vec<String> {
        let items = reply["data"]["posts"]["items"].as_array().unwrap().clone();
        items.iter().map(|i| i["body"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(bodies(&first), ["Post 5", "Post 4"]);
    assert_eq!(bodies(&second), ["Post 3", "Post 2"]);
    assert_eq!(bodies(&third), ["Post 1"]);
    let last = &third["data"]["posts"];
    assert_eq!(
        (last["page"].as_i64(), last["hasNext"].as_bool(), last["hasPrev"].as_bool()),
        (Some(0), Some(false), Some(true))
    );
    assert!(last["nextBefore"].is_null());
}

#[tokio::test]
async fn mutations_follow_the_same_permission_rules_as_rest() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let (_, bob) = app.logged_in("bob").await;
    let anonymous = app.browser();

    let created = gql(&alice, "mutation { createPost(body: \"from graphql\") { id author } }", json!({})).await;
    let id = created["data"]["createPost"]["id"].as_i64().unwrap();
    let by_bob =
        gql(&bob, "mutation($id: Int!) { updatePost(id: $id, body: \"hacked\") { id } }", json!({"id": id})).await;
    let delete_by_anonymous = gql(&anonymous, "mutation($id: Int!) { deletePost(id: $id) }", json!({"id": id})).await;
    let like_by_anonymous =
        gql(&anonymous, "mutation($id: Int!) { toggleLike(id: $id) { likeCount } }", json!({"id": id})).await;
    let like = gql(&bob, "mutation($id: Int!) { toggleLike(id: $id) { liked likeCount } }", json!({"id": id})).await;
    let edit =
        gql(&alice, "mutation($id: Int!) { updatePost(id: $id, body: \"edited\") { body } }", json!({"id": id})).await;
    let empty =
        gql(&alice, "mutation($id: Int!) { updatePost(id: $id, body: \"\") { body } }", json!({"id": id})).await;
    let delete = gql(&alice, "mutation($id: Int!) { deletePost(id: $id) }", json!({"id": id})).await;

    assert_eq!(created["data"]["createPost"]["author"], "alice");
    assert_eq!(error_code(&by_bob), "FORBIDDEN");
    assert_eq!(error_code(&delete_by_anonymous), "UNAUTHENTICATED");
    assert_eq!(error_code(&like_by_anonymous), "UNAUTHENTICATED");
    assert_eq!(like["data"]["toggleLike"], json!({"liked": true, "likeCount": 1}));
    assert_eq!(edit["data"]["updatePost"]["body"], "edited");
    assert_eq!(error_code(&empty), "BAD_USER_INPUT");
    assert_eq!(delete["data"]["deletePost"], true);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM posts").await, 0);
}

#[tokio::test]
async fn a_missing_post_is_null_and_there_is_no_user_listing() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let missing = gql(&browser, "{ post(id: 404) { id } }", json!({})).await;
    let users = gql(&browser, "{ users { email } }", json!({})).await;

    assert_eq!(missing["data"]["post"], Value::Null);
    assert!(users["errors"][0]["message"].as_str().unwrap().contains("users"));
}

#[tokio::test]
async fn deep_and_wide_queries_are_refused() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let aliases: String = (0..500).map(|n| format!("a{n}: posts {{ count }} ")).collect();

    let wide = gql(&browser, &format!("{{ {aliases} }}"), json!({})).await;
    let deep = gql(
        &browser,
        "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }",
        json!({}),
    )
    .await;

    assert!(wide["errors"][0]["message"].as_str().unwrap().contains("complex"), "{wide}");
    assert!(deep["errors"][0]["message"].as_str().unwrap().contains("nested"), "{deep}");
}

#[tokio::test]
async fn introspection_is_off_in_production_and_graphql_takes_only_json() {
    let dev = TestApp::spawn().await;
    let prod = TestApp::spawn_with(|s| s.api_docs = Some(false)).await;
    let query = "{ __schema { queryType { name } } }";

    let in_dev = gql(&dev.browser(), query, json!({})).await;
    let in_prod = gql(&prod.browser(), query, json!({})).await;
    let browser = dev.browser();
    let form = browser.client.post(browser.url("/graphql")).form(&[("query", "{ me { id } }")]).send().await.unwrap();

    assert_eq!(in_dev["data"]["__schema"]["queryType"]["name"], "QueryRoot");
    assert!(in_prod["errors"].is_array() || in_prod["data"]["__schema"].is_null(), "{in_prod}");
    assert!(!in_prod.to_string().contains("QueryRoot"));
    assert_eq!(form.status(), 415);
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary_in_development() {
    let dev = TestApp::spawn().await;
    let prod = TestApp::spawn_with(|s| s.api_docs = Some(false)).await;

    let (status, html) = dev.browser().get_text("/graphql").await;
    let script = dev.browser().get("/static/vendor/graphiql/graphiql.min.js").await;

    assert_eq!(status, 200);
    assert!(html.contains("/static/vendor/graphiql/graphiql.min.js") && !html.contains("https://"));
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["content-encoding"], "gzip");
    assert_eq!(prod.browser().get("/graphql").await.status(), 405);
}

#[tokio::test]
async fn unreadable_requests_get_graphql_errors_as_json_with_their_status() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let post = |body: Vec<u8>, content_type: &'static str| {
        browser.client.post(browser.url("/graphql")).header("content-type", content_type).body(body).send()
    };

    let malformed = post(b"{\"query\": ".to_vec(), "application/json").await.unwrap();
    let oversized =
        post(format!("{{\"query\": \"{}\"}}", "x".repeat(200_000)).into_bytes(), "application/json").await.unwrap();
    let wrong_type = post(b"query=%7Bme%7Bid%7D%7D".to_vec(), "text/plain").await.unwrap();

    for (res, status) in [(malformed, 400), (oversized, 413), (wrong_type, 415)] {
        assert_eq!(res.status(), status);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let body: Value = res.json().await.unwrap();
        assert!(body["errors"][0]["message"].is_string(), "{body}");
    }
}
