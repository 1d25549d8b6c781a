//! SQL for staff: the filtered, sorted user list (indexed, fast on 100,000 rows), user edits
//! made in the console, the running user total, and the dashboard's counts.

use sqlx::AnyPool;

use crate::apps::accounts::model::User;
use crate::kernel::db::sql::{Sql, contains_pattern};
use crate::kernel::db::{Backend, Db, Tx};

const USER_COLUMNS: &str = "SELECT id, username, email, password_hash, first_name, last_name, nickname, is_active, \
     is_staff, is_superuser, email_confirmed_at, date_joined, last_login FROM users WHERE TRUE";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserSort {
    #[default]
    Newest,
    Username,
    LastLogin,
}

#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub search: String,
    pub active: Option<bool>,
    pub staff: Option<bool>,
    pub confirmed: Option<bool>,
    pub sort: UserSort,
}

impl UserFilter {
    pub fn is_empty(&self) -> bool {
        self.search.is_empty() && self.active.is_none() && self.staff.is_none() && self.confirmed.is_none()
    }
}

/// Appends the filters that are set (each as a plain condition the planner can use) and
/// returns the values to bind, in order. Search is a substring of the username, email or name,
/// answered from a trigram index (migration 0041): an FTS5 table on SQLite, pg_trgm on
/// PostgreSQL. `%` and `_` in a search are taken literally.
fn push_filters(sql: &mut Sql, backend: Backend, filter: &UserFilter) -> (Option<String>, Vec<bool>) {
    let mut flags = Vec::new();
    for (value, piece) in [(filter.active, " AND is_active = "), (filter.staff, " AND is_staff = ")] {
        if let Some(value) = value {
            sql.push(piece).param();
            flags.push(value);
        }
    }
    match filter.confirmed {
        Some(true) => sql.push(" AND email_confirmed_at IS NOT NULL"),
        Some(false) => sql.push(" AND email_confirmed_at IS NULL"),
        None => sql,
    };
    if filter.search.is_empty() {
        return (None, flags);
    }
    let needle = filter.search.to_lowercase();
    let plain = !needle.contains(['%', '_', '\\']);
    sql.push_with_param(match (backend, plain) {
        (Backend::Sqlite, true) => " AND id IN (SELECT rowid FROM users_search WHERE words LIKE ?)",
        // FTS5 answers LIKE from its index only without ESCAPE: a search with a wildcard
        // character in it (rare) reads the whole search table instead.
        (Backend::Sqlite, false) => " AND id IN (SELECT rowid FROM users_search WHERE words LIKE ? ESCAPE '\\')",
        // Backslash is PostgreSQL's default LIKE escape.
        (Backend::Postgres, _) => {
            " AND (username_key || ' ' || email_key || ' ' || lower(first_name) || ' ' || lower(last_name)) LIKE ?"
        }
    });
    (Some(contains_pattern(&needle)), flags)
}

/// One page of users, newest first (or by username, or by last login). Without a search it walks
/// the sort's index and stops once the page is full; a search scans (see below).
pub async fn list_users(db: &Db, filter: &UserFilter, limit: i64, offset: i64) -> sqlx::Result<Vec<User>> {
    let mut sql = Sql::new(USER_COLUMNS);
    let (pattern, flags) = push_filters(&mut sql, db.backend, filter);
    // A search finds its few rows in the trigram index; sorting them beats walking the sort's
    // index and testing every row, so `+ 0` keeps the planner off that index (on both
    // SQLite and PostgreSQL).
    let searching = pattern.is_some();
    sql.push(match (filter.sort, searching) {
        (UserSort::Newest, false) => " ORDER BY date_joined DESC, id DESC",
        (UserSort::Newest, true) => " ORDER BY date_joined + 0 DESC, id DESC",
        (UserSort::Username, false) => " ORDER BY username_key",
        (UserSort::Username, true) => " ORDER BY username_key || ''",
        (UserSort::LastLogin, false) => " ORDER BY last_login DESC, id DESC",
        (UserSort::LastLogin, true) => " ORDER BY last_login + 0 DESC, id DESC",
    });
    sql.push(" LIMIT ").param().push(" OFFSET ").param();
    let mut query = sqlx::query_as(sql.finish());
    for flag in flags {
        query = query.bind(flag);
    }
    if let Some(pattern) = pattern {
        query = query.bind(pattern);
    }
    query.bind(limit).bind(offset).fetch_all(&db.pool).await
}

/// How many users match; without filters, from the running total (no scan).
pub async fn count_users(db: &Db, filter: &UserFilter) -> sqlx::Result<i64> {
    if filter.is_empty() {
        return sqlx::query_scalar("SELECT value FROM counters WHERE name = 'users'").fetch_one(&db.pool).await;
    }
    let mut sql = Sql::new("SELECT COUNT(*) FROM users WHERE TRUE");
    let (pattern, flags) = push_filters(&mut sql, db.backend, filter);
    let mut query = sqlx::query_scalar(sql.finish());
    for flag in flags {
        query = query.bind(flag);
    }
    if let Some(pattern) = pattern {
        query = query.bind(pattern);
    }
    query.fetch_one(&db.pool).await
}

/// Moves the running total of users (in the transaction that adds or removes them).
pub async fn bump_user_total(tx: &mut Tx, delta: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE counters SET value = value + $1 WHERE name = 'users'").bind(delta).execute(&mut **tx).await?;
    Ok(())
}

/// Everything staff may edit on a user, in one statement.
pub struct UserEdit<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
}

pub async fn update_user(tx: &mut Tx, user_id: i64, edit: &UserEdit<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET first_name = $2, last_name = $3, email = $4, email_key = $5, is_active = $6, \
         is_staff = $7, is_superuser = $8 WHERE id = $1",
    )
    .bind(user_id)
    .bind(edit.first_name)
    .bind(edit.last_name)
    .bind(edit.email)
    .bind(edit.email_key)
    .bind(edit.is_active)
    .bind(edit.is_staff)
    .bind(edit.is_superuser)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// (users, active, joined since `since`).
pub async fn user_counts(pool: &AnyPool, since: i64) -> sqlx::Result<(i64, i64, i64)> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM users WHERE is_active = TRUE), \
                (SELECT COUNT(*) FROM users WHERE date_joined >= $1)",
    )
    .bind(since)
    .fetch_one(pool)
    .await
}

/// Sign-ups per UTC day (day number since 1970) since `since`.
pub async fn signups_per_day(pool: &AnyPool, since: i64) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(
        "SELECT date_joined / 86400 AS day, COUNT(*) FROM users WHERE date_joined >= $1 \
         GROUP BY date_joined / 86400 ORDER BY day",
    )
    .bind(since)
    .fetch_all(pool)
    .await
}
