//! The blog pages, as a browser without JavaScript uses them.

use reqwest::multipart::{Form, Part};

use super::post;
use crate::support::{Browser, TestApp};

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

async fn publish(browser: &Browser, body: &str, image: Option<Vec<u8>>, with_token: bool) -> reqwest::Response {
    let mut form = Form::new().text("body", body.to_owned());
    if with_token {
        form = form.text("csrf_token", browser.csrf_token().await);
    }
    if let Some(bytes) = image {
        form = form.part("image", Part::bytes(bytes).file_name("photo.png").mime_str("image/png").unwrap());
    }
    browser.client.post(browser.url("/posts/new/")).multipart(form).send().await.unwrap()
}

#[tokio::test]
async fn a_member_publishes_edits_and_deletes_a_post_through_the_pages() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;

    let published = publish(&alice, "Hello from the page 🦀", None, true).await;
    let detail_path = location(&published);
    let detail = alice.get_text(&detail_path).await.1;
    let id: i64 = detail_path.trim_matches('/').rsplit('/').next().unwrap().parse().unwrap();
    let edit_form = alice.get_text(&format!("/posts/{id}/edit/")).await.1;
    let edited = alice.submit(&format!("/posts/{id}/edit/"), &[("body", "Edited on the page")]).await;
    let confirm = alice.get_text(&format!("/posts/{id}/delete/")).await.1;
    let deleted = alice.submit(&format!("/posts/{id}/delete/"), &[]).await;
    let list = alice.get_text("/posts/").await.1;

    assert_eq!(published.status(), 303);
    assert!(detail.contains("Hello from the page 🦀") && detail.contains("Your post is published."));
    assert!(edit_form.contains("Hello from the page 🦀"));
    assert_eq!(location(&edited), format!("/posts/{id}/"));
    assert!(confirm.contains("Delete this post?"));
    assert_eq!(location(&deleted), "/posts/");
    assert!(list.contains("Your post was deleted.") && !list.contains("Edited on the page"));
}

#[tokio::test]
async fn an_upload_form_without_the_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;

    let res = publish(&alice, "no token", None, false).await;

    assert_eq!(res.status(), 403);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM posts").await, 0);
}

#[tokio::test]
async fn an_upload_whose_file_comes_before_the_csrf_token_is_refused_unread() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let image = Part::bytes(vec![0u8; 64 * 1024]).file_name("photo.png").mime_str("image/png").unwrap();
    let form = Form::new().text("body", "file first").part("image", image).text("csrf_token", alice.csrf_token().await);

    let res = alice.client.post(alice.url("/posts/new/")).multipart(form).send().await.unwrap();

    assert_eq!(res.status(), 403);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM posts").await, 0);
}

#[tokio::test]
async fn form_errors_show_on_the_page_and_keep_the_text() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let res = publish(&browser, "", Some(b"not an image at all".to_vec()), true).await;
    let status = res.status();
    let html = res.text().await.unwrap();

    assert_eq!(status, 400);
    assert!(html.contains("Write something first."));
}

#[tokio::test]
async fn visitors_see_edit_and_delete_only_on_posts_they_may_change() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let (_, bob) = app.logged_in("bob").await;
    let id = post(&alice, "alice writes").await;

    let as_alice = alice.get_text("/posts/").await.1;
    let as_bob = bob.get_text("/posts/").await.1;
    let as_anonymous = app.browser().get_text("/posts/").await.1;
    let bob_edit = bob.get(&format!("/posts/{id}/edit/")).await.status();
    let bob_edit_post = bob.submit(&format!("/posts/{id}/edit/"), &[("body", "hacked")]).await.status();
    let anonymous_delete = app.browser().get(&format!("/posts/{id}/delete/")).await.status();

    let edit_link = format!("/posts/{id}/edit/");
    assert!(as_alice.contains(&edit_link));
    assert!(!as_bob.contains(&edit_link) && !as_anonymous.contains(&edit_link));
    assert_eq!((bob_edit.as_u16(), bob_edit_post.as_u16()), (403, 403));
    assert_eq!(anonymous_delete, 303);
}

#[tokio::test]
async fn the_like_button_works_as_a_plain_form() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let id = post(&alice, "like me").await;

    let liked = alice.submit(&format!("/posts/{id}/like/"), &[("next", "/posts/?page=1")]).await;
    let page = alice.get_text("/posts/").await.1;
    let off_site = alice.submit(&format!("/posts/{id}/like/"), &[("next", "https://evil.example/")]).await;
    let anonymous = app.browser().submit(&format!("/posts/{id}/like/"), &[]).await;

    assert_eq!(location(&liked), "/posts/?page=1");
    assert!(page.contains("<span class=\"like-label\">Unlike</span> · <span class=\"like-count\">1</span>"));
    assert_eq!(location(&off_site), format!("/posts/{id}/"));
    assert!(location(&anonymous).starts_with("/accounts/login/"));
}

#[tokio::test]
async fn the_list_pages_ten_at_a_time_and_a_missing_post_is_a_404_page() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.logged_in("writer").await;
    for n in 0..11 {
        post(&browser, &format!("numbered {n:02}")).await;
        app.clock().advance(1);
    }

    let first = browser.get_text("/posts/").await.1;
    let second = browser.get_text("/posts/?page=2").await.1;
    let missing = browser.get("/posts/9999/").await;
    let empty_page = browser.get("/posts/?q=&page=&per_page=").await.status();

    assert!(first.contains("numbered 10") && !first.contains("numbered 00"));
    assert!(first.contains("Page 1 of 2"));
    assert!(second.contains("numbered 00"));
    assert_eq!(empty_page, 200);
    assert_eq!(missing.status(), 404);
    assert!(missing.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn the_profile_shows_my_posts_likes_received_and_posts_i_liked() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let (_, bob) = app.logged_in("bob").await;
    let id = post(&alice, "alice's first").await;
    post(&alice, "alice's second").await;
    bob.json(&format!("/api/posts/{id}/like/"), serde_json::json!({})).await;

    let alice_profile = alice.get_text("/accounts/profile/").await.1;
    let bob_liked = bob.get_text("/posts/liked/").await.1;

    assert!(alice_profile.contains("<dt>Posts</dt><dd><a href=\"/posts/?author=alice\">2</a></dd>"));
    assert!(alice_profile.contains("<dt>Likes your posts received</dt><dd>1</dd>"));
    assert!(bob_liked.contains("alice&#39;s first") || bob_liked.contains("alice&#x27;s first"));
    assert!(!bob_liked.contains("alice&#39;s second") && !bob_liked.contains("alice&#x27;s second"));
}

#[tokio::test]
async fn user_text_is_escaped_on_the_blog_pages() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    post(&browser, "<script>alert(1)</script>").await;

    let html = browser.get_text("/posts/").await.1;

    assert!(!html.contains("<script>alert(1)</script>"));
}
