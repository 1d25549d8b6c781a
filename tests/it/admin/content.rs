//! Posts in the console: search, and deletion with a reason kept in the audit trail.

use super::location;
use crate::support::TestApp;

#[tokio::test]
async fn staff_delete_a_post_with_a_reason_that_the_audit_trail_keeps() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;
    let (_, alice) = app.logged_in("alice").await;
    let id = crate::blog::post(&alice, "something rude").await;
    crate::blog::post(&alice, "something nice").await;

    let list = staff.get_text("/admin/posts/?q=rude").await.1;
    let without_reason = staff.submit(&format!("/admin/posts/{id}/delete/"), &[("reason", " ")]).await;
    let deleted = staff.submit(&format!("/admin/posts/{id}/delete/"), &[("reason", "Breaks the house rules")]).await;

    assert!(list.contains("something rude") && !list.contains("something nice"));
    assert_eq!(without_reason.status(), 400);
    assert_eq!(location(&deleted), "/admin/posts/");
    assert_eq!(crate::blog::get_post(&staff, id).await.0, 404);
    let (action, reason, actor): (String, String, String) = sqlx::query_as(
        "SELECT action, reason, actor_name FROM audit_events WHERE target_type = 'post' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!((action.as_str(), reason.as_str(), actor.as_str()), ("post.deleted", "Breaks the house rules", "boss"));
}
