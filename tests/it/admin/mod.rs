mod access;
mod audit;
mod content;
mod outbox;
mod users;

use crate::support::{Browser, TestApp};

/// The id of a user, by username.
pub async fn user_id(app: &TestApp, username: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// The newest audit entries' actions, newest first.
pub async fn actions(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_events ORDER BY id DESC").fetch_all(&app.state.db.pool).await.unwrap()
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// Submits the console's user edit form with these values.
pub async fn edit(browser: &Browser, id: i64, fields: &[(&str, &str)]) -> reqwest::Response {
    browser.submit(&format!("/admin/users/{id}/"), fields).await
}
