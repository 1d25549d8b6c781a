mod account;
mod graphql;
mod images;
mod openapi;
mod pages;
mod rest;

use serde_json::{Value, json};

use crate::support::Browser;

/// Creates a post through the REST API and returns its id.
pub async fn post(browser: &Browser, body: &str) -> i64 {
    let (status, reply) = browser.json("/api/posts/", json!({"body": body})).await;
    assert_eq!(status, 201, "create post: {reply}");
    reply["id"].as_i64().unwrap()
}

pub async fn get_post(browser: &Browser, id: i64) -> (u16, Value) {
    browser.get_json(&format!("/api/posts/{id}/")).await
}
