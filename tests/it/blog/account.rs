//! The blog's part of a user's account: the data export carries every post and like, and a
//! deleted account takes its likes off the counts.

use serde_json::json;

use super::{get_post, post};
use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn the_data_export_includes_my_posts_and_likes() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let (_, bob) = app.logged_in("bob").await;
    let mine = post(&alice, "alice's post 🦀").await;
    let theirs = post(&bob, "bob's post").await;
    alice.json(&format!("/api/posts/{theirs}/like/"), json!({})).await;

    let (status, data) = alice.get_json("/api/export/").await;

    assert_eq!(status, 200);
    assert_eq!(data["username"], "alice");
    let posts = data["blog"]["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 1);
    assert_eq!((posts[0]["id"].as_i64(), posts[0]["body"].as_str()), (Some(mine), Some("alice's post 🦀")));
    let likes = data["blog"]["likes"].as_array().unwrap();
    assert_eq!(likes.iter().map(|l| l["post_id"].as_i64().unwrap()).collect::<Vec<_>>(), vec![theirs]);
}

#[tokio::test]
async fn deleting_an_account_takes_its_likes_off_the_counts() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let (_, bob) = app.logged_in("bob").await;
    let id = post(&alice, "liked by bob").await;
    bob.json(&format!("/api/posts/{id}/like/"), json!({})).await;
    assert_eq!(get_post(&alice, id).await.1["like_count"], 1);

    let (status, _) = bob.json("/api/delete-account/", json!({"password": PASSWORD})).await;

    assert_eq!(status, 200);
    assert_eq!(get_post(&alice, id).await.1["like_count"], 0);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM likes").await, 0);
}
