//! All of the questions app's SQL: questions with their last answer and error, the refresh
//! queue (`next_fetch_at`), and the answer per day.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::kernel::db::{Db, Tx, get_flag};

/// A question as stored: its definition as staff typed it (checked on the way in) and its state.
#[derive(Clone, Debug)]
pub struct QuestionRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub source_url: String,
    pub header_name: String,
    /// The secret header value: never rendered, never logged.
    pub header_value: String,
    pub json_path: String,
    pub aggregate: String,
    pub compare_op: String,
    pub compare_value: f64,
    pub empty_is_zero: bool,
    pub yes_text: String,
    pub no_text: String,
    pub unknown_text: String,
    pub refresh_secs: i64,
    pub time_zone: String,
    pub answer: Option<String>,
    pub answer_number: Option<f64>,
    pub answer_day: Option<String>,
    pub answered_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_kind: Option<String>,
    pub last_error_at: Option<i64>,
    pub failures: i64,
    pub next_fetch_at: i64,
}

impl<'r> sqlx::FromRow<'r, AnyRow> for QuestionRow {
    fn from_row(row: &'r AnyRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            slug: row.try_get("slug")?,
            title: row.try_get("title")?,
            source_url: row.try_get("source_url")?,
            header_name: row.try_get("header_name")?,
            header_value: row.try_get("header_value")?,
            json_path: row.try_get("json_path")?,
            aggregate: row.try_get("aggregate")?,
            compare_op: row.try_get("compare_op")?,
            compare_value: row.try_get("compare_value")?,
            empty_is_zero: get_flag(row, "empty_is_zero")?,
            yes_text: row.try_get("yes_text")?,
            no_text: row.try_get("no_text")?,
            unknown_text: row.try_get("unknown_text")?,
            refresh_secs: row.try_get("refresh_secs")?,
            time_zone: row.try_get("time_zone")?,
            answer: row.try_get("answer")?,
            answer_number: row.try_get("answer_number")?,
            answer_day: row.try_get("answer_day")?,
            answered_at: row.try_get("answered_at")?,
            last_error: row.try_get("last_error")?,
            last_error_kind: row.try_get("last_error_kind")?,
            last_error_at: row.try_get("last_error_at")?,
            failures: row.try_get("failures")?,
            next_fetch_at: row.try_get("next_fetch_at")?,
        })
    }
}

/// A definition to insert or update (`header_value` `None` keeps the stored one on update).
pub struct QuestionFields<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub source_url: &'a str,
    pub header_name: &'a str,
    pub header_value: Option<&'a str>,
    pub json_path: &'a str,
    pub aggregate: &'a str,
    pub compare_op: &'a str,
    pub compare_value: f64,
    pub empty_is_zero: bool,
    pub yes_text: &'a str,
    pub no_text: &'a str,
    pub unknown_text: &'a str,
    pub refresh_secs: i64,
    pub time_zone: &'a str,
}

const COLUMNS: &str = "id, slug, title, source_url, header_name, header_value, json_path, aggregate, compare_op, \
     compare_value, empty_is_zero, yes_text, no_text, unknown_text, refresh_secs, time_zone, answer, answer_number, \
     answer_day, answered_at, last_error, last_error_kind, last_error_at, failures, next_fetch_at";

fn select(filter: &'static str) -> sqlx::AssertSqlSafe<String> {
    // Safe: both pieces are fixed strings.
    sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM questions {filter}"))
}

pub async fn insert_question(tx: &mut Tx, f: &QuestionFields<'_>, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO questions (slug, title, source_url, header_name, header_value, json_path, aggregate, \
         compare_op, compare_value, empty_is_zero, yes_text, no_text, unknown_text, refresh_secs, time_zone, \
         next_fetch_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $16) RETURNING id",
    )
    .bind(f.slug)
    .bind(f.title)
    .bind(f.source_url)
    .bind(f.header_name)
    .bind(f.header_value.unwrap_or(""))
    .bind(f.json_path)
    .bind(f.aggregate)
    .bind(f.compare_op)
    .bind(f.compare_value)
    .bind(f.empty_is_zero)
    .bind(f.yes_text)
    .bind(f.no_text)
    .bind(f.unknown_text)
    .bind(f.refresh_secs)
    .bind(f.time_zone)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

/// Saves a new definition and makes the question due at once (its answer may have changed).
pub async fn update_question(tx: &mut Tx, id: i64, f: &QuestionFields<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE questions SET slug = $2, title = $3, source_url = $4, header_name = $5, \
         header_value = COALESCE($6, header_value), json_path = $7, aggregate = $8, compare_op = $9, \
         compare_value = $10, empty_is_zero = $11, yes_text = $12, no_text = $13, unknown_text = $14, \
         refresh_secs = $15, time_zone = $16, next_fetch_at = $17, failures = 0, updated_at = $17 WHERE id = $1",
    )
    .bind(id)
    .bind(f.slug)
    .bind(f.title)
    .bind(f.source_url)
    .bind(f.header_name)
    .bind(f.header_value)
    .bind(f.json_path)
    .bind(f.aggregate)
    .bind(f.compare_op)
    .bind(f.compare_value)
    .bind(f.empty_is_zero)
    .bind(f.yes_text)
    .bind(f.no_text)
    .bind(f.unknown_text)
    .bind(f.refresh_secs)
    .bind(f.time_zone)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn delete_question(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM questions WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find_by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<QuestionRow>> {
    sqlx::query_as(select("WHERE slug = $1")).bind(slug).fetch_optional(&db.pool).await
}

pub async fn find_by_id(db: &Db, id: i64) -> sqlx::Result<Option<QuestionRow>> {
    sqlx::query_as(select("WHERE id = $1")).bind(id).fetch_optional(&db.pool).await
}

pub async fn count_questions(db: &Db) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM questions").fetch_one(&db.pool).await
}

pub async fn list_questions(db: &Db, limit: i64, offset: i64) -> sqlx::Result<Vec<QuestionRow>> {
    sqlx::query_as(select("ORDER BY slug LIMIT $1 OFFSET $2")).bind(limit).bind(offset).fetch_all(&db.pool).await
}

/// Questions whose next read is due, soonest first.
pub async fn due_questions(db: &Db, now: i64, limit: i64) -> sqlx::Result<Vec<QuestionRow>> {
    sqlx::query_as(select("WHERE next_fetch_at <= $1 ORDER BY next_fetch_at LIMIT $2"))
        .bind(now)
        .bind(limit)
        .fetch_all(&db.pool)
        .await
}

/// A good answer read at `now` for local `day`.
pub struct GoodRead<'a> {
    pub answer: &'a str,
    pub number: Option<f64>,
    pub day: &'a str,
    pub now: i64,
    pub next_fetch_at: i64,
}

/// Keeps the answer (clearing the error streak) and the day's entry in the history.
pub async fn record_answer(tx: &mut Tx, id: i64, read: &GoodRead<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE questions SET answer = $2, answer_number = $3, answer_day = $4, answered_at = $5, \
         failures = 0, next_fetch_at = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(read.answer)
    .bind(read.number)
    .bind(read.day)
    .bind(read.now)
    .bind(read.next_fetch_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO question_answers (question_id, day, answer, answer_number, answered_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (question_id, day) DO UPDATE SET \
         answer = excluded.answer, answer_number = excluded.answer_number, answered_at = excluded.answered_at",
    )
    .bind(id)
    .bind(read.day)
    .bind(read.answer)
    .bind(read.number)
    .bind(read.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a failed read; the last good answer stays as it was.
pub async fn record_failure(
    db: &Db,
    id: i64,
    kind: &str,
    message: &str,
    now: i64,
    next_fetch_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE questions SET last_error = $2, last_error_kind = $3, last_error_at = $4, \
         failures = failures + 1, next_fetch_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(message)
    .bind(kind)
    .bind(now)
    .bind(next_fetch_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// One day of the history.
#[derive(Clone, Debug)]
pub struct DayRow {
    pub day: String,
    pub answer: String,
    pub answer_number: Option<f64>,
}

/// The answers of the days from `since` (YYYY-MM-DD) on, newest first.
pub async fn history(db: &Db, id: i64, since: &str) -> sqlx::Result<Vec<DayRow>> {
    let rows = sqlx::query(
        "SELECT day, answer, answer_number FROM question_answers WHERE question_id = $1 AND day >= $2 \
         ORDER BY day DESC LIMIT 31",
    )
    .bind(id)
    .bind(since)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DayRow {
                day: r.try_get("day")?,
                answer: r.try_get("answer")?,
                answer_number: r.try_get("answer_number")?,
            })
        })
        .collect()
}
