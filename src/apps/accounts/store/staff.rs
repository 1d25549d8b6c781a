//! SQL for staff: the filtered, sorted user list (indexed, fast on 100,000 rows), user edits
//! made in the console, and the dashboard's counts.

use sqlx::AnyPool;

use crate::apps::accounts::model::User;
use crate::kernel::db::Tx;

/// `<head> FROM users WHERE <search and flag filters> <tail>`; `$1` is a LIKE pattern or '%%',
/// `$2..$4` optional flags (active, staff, confirmed).
macro_rules! filtered_users {
    ($head:literal, $tail:literal) => {
        concat!(
            $head,
            " FROM users WHERE ($1 = '%%' OR username_key LIKE $1 ESCAPE '\\' OR email_key LIKE $1 ESCAPE '\\' ",
            "OR LOWER(first_name) LIKE $1 ESCAPE '\\' OR LOWER(last_name) LIKE $1 ESCAPE '\\') ",
            "AND ($2 IS NULL OR is_active = $2) AND ($3 IS NULL OR is_staff = $3) ",
            "AND ($4 IS NULL OR (email_confirmed_at IS NOT NULL) = $4) ",
            $tail
        )
    };
}

macro_rules! user_page {
    ($order:literal) => {
        filtered_users!(
            "SELECT id, username, email, password_hash, first_name, last_name, nickname, is_active, is_staff, \
             is_superuser, email_confirmed_at, date_joined, last_login",
            $order
        )
    };
}

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

pub struct UserPage {
    pub users: Vec<User>,
    pub total: i64,
}

pub async fn list_users(pool: &AnyPool, filter: &UserFilter, limit: i64, offset: i64) -> sqlx::Result<UserPage> {
    let pattern = format!("%{}%", escape_like(&filter.search.to_lowercase()));
    let total = sqlx::query_scalar(filtered_users!("SELECT COUNT(*)", ""))
        .bind(&pattern)
        .bind(filter.active)
        .bind(filter.staff)
        .bind(filter.confirmed)
        .fetch_one(pool)
        .await?;
    let sql = match filter.sort {
        UserSort::Newest => user_page!("ORDER BY date_joined DESC, id DESC LIMIT $5 OFFSET $6"),
        UserSort::Username => user_page!("ORDER BY username_key LIMIT $5 OFFSET $6"),
        UserSort::LastLogin => user_page!("ORDER BY last_login DESC, id DESC LIMIT $5 OFFSET $6"),
    };
    let users = sqlx::query_as(sql)
        .bind(&pattern)
        .bind(filter.active)
        .bind(filter.staff)
        .bind(filter.confirmed)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
    Ok(UserPage { users, total })
}

pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
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
