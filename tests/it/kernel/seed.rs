//! `shoestring seed`: the benchmark's data rules, passwords written to a file, working images.

use shoestring::seed::{SeedOptions, seed};

use crate::support::{TempDir, TestApp};

#[tokio::test]
async fn seed_fills_users_posts_likes_and_images_that_the_app_serves() {
    let app = TestApp::spawn().await;
    let dir = TempDir::new("seed");
    let options = SeedOptions {
        users: 3,
        posts: 14,
        images: 2,
        password: None,
        passwords_file: dir.0.join("passwords.csv"),
        replace: false,
    };

    let seeded = seed(&app.state, &options).await.unwrap();

    assert_eq!((seeded.users, seeded.posts), (3, 14));
    // Post j gets j mod 7 likes from distinct users among three: 1,2,3,3,3,3,0,1,2,3,3,3,3,0.
    assert_eq!(seeded.likes, 30);
    let csv = std::fs::read_to_string(&options.passwords_file).unwrap();
    let line = csv.lines().nth(2).unwrap();
    let fields: Vec<&str> = line.split(',').collect();
    assert_eq!(fields[0], "user0002");
    let browser = app.browser();
    browser.api_login("user0002", fields[2]).await;
    let (_, list) = browser.get_json("/api/posts/?limit=1").await;
    assert_eq!(list["count"], 14);
    assert_eq!(list["results"][0]["body"].as_str().unwrap().split(':').next(), Some("Post 14"));
    let image = list["results"][0]["image"].as_str().unwrap();
    assert_eq!(browser.get(image).await.status(), 200);
    let likes_sum = app.scalar_i64("SELECT CAST(SUM(like_count) AS BIGINT) FROM posts").await;
    assert_eq!(likes_sum, app.scalar_i64("SELECT COUNT(*) FROM likes").await);
}

#[tokio::test]
async fn seed_refuses_a_database_with_users_unless_told_to_replace() {
    let app = TestApp::spawn().await;
    app.confirmed_user("alice").await;
    let dir = TempDir::new("seed");
    let mut options = SeedOptions {
        users: 2,
        posts: 3,
        images: 0,
        password: Some("one shared passphrase".into()),
        passwords_file: dir.0.join("passwords.csv"),
        replace: false,
    };

    let refused = seed(&app.state, &options).await;
    options.replace = true;
    let replaced = seed(&app.state, &options).await.unwrap();

    assert!(refused.is_err());
    assert_eq!(replaced.users, 2);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM users").await, 2);
}
