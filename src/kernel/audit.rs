//! The audit trail: who changed what, when, from which IP, with before → after for edited
//! fields. Apps record inside the transaction of the change itself, so the trail and the data
//! never disagree. Passwords and tokens are never recorded; a password change is a bare event.

use serde::{Deserialize, Serialize};
use sqlx::AnyPool;

use crate::kernel::db::Tx;

/// Who did it: a user, or nobody signed in (then `name` may say who they claimed to be).
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub id: Option<i64>,
    pub name: String,
    pub ip: String,
}

impl Actor {
    pub fn user(id: i64, name: &str, ip: impl ToString) -> Self {
        Self { id: Some(id), name: name.to_owned(), ip: ip.to_string() }
    }

    pub fn anonymous(ip: impl ToString) -> Self {
        Self { id: None, name: String::new(), ip: ip.to_string() }
    }

    /// Work the app does by itself (cleanup jobs).
    pub fn system() -> Self {
        Self { id: None, name: "system".into(), ip: String::new() }
    }
}

/// One edited field.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

impl Change {
    pub fn new(field: &str, before: impl ToString, after: impl ToString) -> Self {
        Self { field: field.into(), before: before.to_string(), after: after.to_string() }
    }
}

/// The changes among `(field, before, after)` whose values differ.
pub fn diff(fields: &[(&str, String, String)]) -> Vec<Change> {
    fields.iter().filter(|(_, b, a)| b != a).map(|(f, b, a)| Change::new(f, b, a)).collect()
}

#[derive(Clone, Debug)]
pub struct Event {
    pub actor: Actor,
    /// `user.signup`, `user.login_failed_burst`, `post.deleted`, …
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<i64>,
    pub target_name: String,
    pub changes: Vec<Change>,
    pub reason: String,
}

impl Event {
    pub fn new(actor: Actor, action: &'static str, target_type: &'static str, target_id: Option<i64>) -> Self {
        Self {
            actor,
            action,
            target_type,
            target_id,
            target_name: String::new(),
            changes: vec![],
            reason: String::new(),
        }
    }

    pub fn named(mut self, name: &str) -> Self {
        self.target_name = name.to_owned();
        self
    }

    pub fn with_changes(mut self, changes: Vec<Change>) -> Self {
        self.changes = changes;
        self
    }

    pub fn because(mut self, reason: &str) -> Self {
        self.reason = reason.to_owned();
        self
    }
}

const INSERT: &str = "INSERT INTO audit_events (created_at, actor_id, actor_name, ip, action, target_type, target_id, \
                      target_name, changes, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Records `event` as part of the caller's transaction.
pub async fn record(tx: &mut Tx, event: &Event, now: i64) -> sqlx::Result<()> {
    let changes = if event.changes.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&event.changes).unwrap_or_default()
    };
    sqlx::query(INSERT)
        .bind(now)
        .bind(event.actor.id)
        .bind(&event.actor.name)
        .bind(&event.actor.ip)
        .bind(event.action)
        .bind(event.target_type)
        .bind(event.target_id)
        .bind(&event.target_name)
        .bind(changes)
        .bind(&event.reason)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub created_at: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub ip: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    pub target_name: String,
    pub changes: String,
    pub reason: String,
}

impl Entry {
    pub fn change_list(&self) -> Vec<Change> {
        serde_json::from_str(&self.changes).unwrap_or_default()
    }
}

/// Which entries to show; empty strings and `None` mean "any".
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub action: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    /// Entries about this user or done by them.
    pub user_id: Option<i64>,
    pub limit: i64,
    pub before_id: Option<i64>,
}

/// Newest first, paged by id (keyset: fast however long the trail grows).
pub async fn list(pool: &AnyPool, filter: &Filter) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as(
        "SELECT id, created_at, actor_id, actor_name, ip, action, target_type, target_id, target_name, changes, reason \
         FROM audit_events \
         WHERE ($1 = '' OR action LIKE $1) AND ($2 = '' OR target_type = $2) AND ($3 = 0 OR target_id = $3) \
           AND ($4 = 0 OR actor_id = $4 OR (target_type = 'user' AND target_id = $4)) AND ($5 = 0 OR id < $5) \
         ORDER BY id DESC LIMIT $6",
    )
    .bind(if filter.action.is_empty() { String::new() } else { format!("{}%", filter.action) })
    .bind(&filter.target_type)
    .bind(filter.target_id.unwrap_or(0))
    .bind(filter.user_id.unwrap_or(0))
    .bind(filter.before_id.unwrap_or(0))
    .bind(filter.limit.clamp(1, 200))
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_keeps_only_fields_that_changed() {
        let changes = diff(&[("first_name", "Al".into(), "Alice".into()), ("last_name", "X".into(), "X".into())]);
        assert_eq!(changes, vec![Change::new("first_name", "Al", "Alice")]);
    }
}
