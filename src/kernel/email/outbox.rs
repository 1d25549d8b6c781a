//! The development outbox: sent mail kept in the database, read by the mail viewer pages.

use crate::kernel::db::Db;

use super::Message;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredMessage {
    pub id: i64,
    pub to_addr: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: i64,
}

pub async fn insert_message(db: &Db, message: &Message, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO outbox_messages (to_addr, subject, text_body, html_body, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&message.to)
    .bind(&message.subject)
    .bind(&message.text)
    .bind(&message.html)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Newest first.
pub async fn list_messages(db: &Db, limit: i64) -> sqlx::Result<Vec<StoredMessage>> {
    sqlx::query_as("SELECT * FROM outbox_messages ORDER BY id DESC LIMIT $1").bind(limit).fetch_all(&db.pool).await
}

pub async fn find_message(db: &Db, id: i64) -> sqlx::Result<Option<StoredMessage>> {
    sqlx::query_as("SELECT * FROM outbox_messages WHERE id = $1").bind(id).fetch_optional(&db.pool).await
}
