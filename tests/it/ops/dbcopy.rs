//! `db copy`: a SQLite deployment moved into the test database (PostgreSQL when
//! TEST_DATABASE_URL is set), every table compared by count and checksum, and the app then
//! run on the copy: logins, pages, new rows after the copied ids, Unicode intact.

use shoestring::kernel::config::Secret;
use shoestring::ops::dbcopy;

use super::support::{png, publish_id};
use crate::support::{TempDir, TestApp};

#[tokio::test]
async fn a_sqlite_deployment_copied_into_an_empty_database_runs_there_unchanged() {
    let source_dir = TempDir::new("copy-source");
    let source_url = format!("sqlite://{}", source_dir.0.join("source.db").display());
    let source = TestApp::spawn_with(|s| {
        s.database_url = Secret::new(source_url.clone());
        s.rate_limits = false;
    })
    .await;
    let (user, writer) = source.logged_in("zoë").await;
    let (status, post_id) = publish_id(&writer, "ñandú 🦀 contraseña — «quoted» 'single'", Some(png(8))).await;
    assert_eq!(status, 201);
    let (status, _) = writer.json(&format!("/api/posts/{post_id}/like/"), serde_json::json!({})).await;
    assert_eq!(status, 200);
    let (target_db, target_url) = crate::support::db::TestDb::create().await;

    let reports = dbcopy::copy(&source_url, &target_url).await.expect("copy");

    assert!(reports.iter().all(dbcopy::TableReport::matches), "{reports:#?}");
    let posts = reports.iter().find(|r| r.name == "posts").unwrap();
    assert_eq!(posts.target_rows, 1);
    let again = dbcopy::copy(&source_url, &target_url).await.unwrap_err();
    assert!(format!("{again:#}").contains("not empty"), "{again:#}");

    let media = source.state.settings.media_dir.clone();
    let copy = TestApp::spawn_with(|s| {
        s.database_url = Secret::new(target_url.clone());
        s.media_dir = media.clone();
        s.rate_limits = false;
    })
    .await;
    let browser = copy.browser();
    browser.api_login(&user.username, &user.password).await;
    assert!(browser.is_logged_in().await, "the copied password hash logs in");
    let (status, post) = browser.get_json(&format!("/api/posts/{post_id}/")).await;
    assert_eq!(status, 200);
    assert_eq!(post["body"], "ñandú 🦀 contraseña — «quoted» 'single'");
    assert_eq!(post["like_count"], 1);
    assert_eq!(browser.get(post["image"].as_str().unwrap()).await.status(), 200);
    let (status, new_id) = publish_id(&browser, "the first post on the new database", None).await;
    assert_eq!(status, 201);
    assert!(new_id > post_id, "the id sequence moved past the copied ids");
    copy.confirmed_user("newcomer").await;
    assert_eq!(copy.scalar_i64("SELECT COUNT(*) FROM users").await, 2);
    assert_eq!(browser.get("/posts/").await.status(), 200);
    drop(target_db);
}
