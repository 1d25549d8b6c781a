//! All SQL of the blog: posts, likes, upload quotas and image files awaiting deletion.
//! A page of posts is one query (author and the reader's like joined in), plus one count
//! (none for the unfiltered list, which reads a running total in the same query).

use sqlx::{AnyConnection, AnyPool};

use super::model::Post;
use crate::kernel::db::search::{self, SearchTerms};
use crate::kernel::db::{Backend, Db, Tx};

/// `SELECT <a post as a reader sees it> <tail>`; `$1` is the reader's user id (0 if anonymous).
/// `$extra` adds columns after the post's own; `$from` replaces `FROM posts p` (a search starts
/// from its index).
///
/// Whether the reader liked a post is one probe of the likes' primary key per post of the page,
/// a scalar subquery. PostgreSQL's generic plan (the reader unknown when planned) made a join on
/// `likes` a merge with every like of the reader, and an `EXISTS` a hash of them: 1.9 of 2.1 ms
/// at 100× the data for a reader with 2,577 likes (BENCHMARKS.md). A count is never hashed.
///
/// Hot statements wrap parameters in `CAST(… AS BIGINT)`: SQLite re-prepares a statement on every
/// execution when the value of a bare parameter could change its plan — one compared with an
/// indexed column (the bundled SQLite has STAT4), or a LIMIT/OFFSET — which was a quarter of the
/// post list's CPU time (BENCHMARKS.md). The planner never looks into an expression that way.
macro_rules! select_posts {
    ($tail:expr) => {
        select_posts!("", "FROM posts p", $tail)
    };
    ($extra:literal, $tail:expr) => {
        select_posts!($extra, "FROM posts p", $tail)
    };
    ($extra:literal, $from:expr, $tail:expr) => {
        concat!(
            "SELECT p.id, p.author_id, u.username AS author, p.body, p.image_key, p.thumb_key, p.like_count, ",
            "(SELECT COUNT(*) FROM likes mine WHERE mine.post_id = p.id AND mine.user_id = CAST($1 AS BIGINT)) ",
            "AS liked, p.created_at, p.updated_at",
            $extra,
            " ",
            $from,
            " LEFT JOIN users u ON u.id = p.author_id ",
            $tail
        )
    };
}

/// Where a page of a newest-first list starts: after `offset` rows (page numbers, for the first
/// pages), or below the id `before` (a cursor: the last post of the page before). Posts are newest
/// first by id, which is their order of creation, so a cursor page walks the primary key from
/// its start and costs the same at any depth; an OFFSET walks past every row it skips.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub limit: i64,
    pub offset: i64,
    pub before: Option<i64>,
}

impl Window {
    fn before(self) -> i64 {
        self.before.unwrap_or(i64::MAX)
    }
}

/// The newest posts and the number of all posts. Where the page starts (the window's cursor and
/// offset) is found on the primary key alone, so rows an OFFSET skips are never joined to their
/// author and likes; the page then walks the key down from there. The total (the running
/// counter) rides along on every row, saving a second query; a page past the end has no rows and
/// reads the counter alone.
pub async fn list_newest(pool: &AnyPool, reader: i64, window: Window) -> sqlx::Result<(Vec<Post>, i64)> {
    let rows = sqlx::query(select_posts!(
        ", (SELECT value FROM counters WHERE name = 'posts') AS total",
        "WHERE p.id <= (SELECT id FROM posts WHERE id < CAST($2 AS BIGINT) ORDER BY id DESC \
         LIMIT 1 OFFSET CAST($4 AS BIGINT)) ORDER BY p.id DESC LIMIT CAST($3 AS BIGINT)"
    ))
    .bind(reader)
    .bind(window.before())
    .bind(window.limit)
    .bind(window.offset)
    .fetch_all(pool)
    .await?;
    let total = match rows.first() {
        Some(row) => sqlx::Row::try_get(row, "total")?,
        None => count_posts(pool).await?,
    };
    let posts = rows.iter().map(sqlx::FromRow::from_row).collect::<sqlx::Result<_>>()?;
    Ok((posts, total))
}

/// All posts, from the running total (kept by `insert_post` and `delete_post`).
pub async fn count_posts(pool: &AnyPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT value FROM counters WHERE name = 'posts'").fetch_one(pool).await
}

async fn bump_post_total(tx: &mut Tx, delta: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE counters SET value = value + $1 WHERE name = 'posts'").bind(delta).execute(&mut **tx).await?;
    Ok(())
}

/// The author's id from a username key (NULL, so no post, when no one has that name).
macro_rules! author_id {
    ($param:literal) => {
        concat!("(SELECT id FROM users WHERE username_key = ", $param, ")")
    };
}

/// One author's posts (`author` is a username key), newest first; the page starts as in
/// `list_newest`.
pub async fn list_by_author(pool: &AnyPool, reader: i64, author: &str, window: Window) -> sqlx::Result<Vec<Post>> {
    sqlx::query_as(select_posts!(concat!(
        "WHERE p.author_id = ",
        author_id!("$2"),
        " AND p.id <= (SELECT id FROM posts WHERE author_id = ",
        author_id!("$2"),
        " AND id < CAST($3 AS BIGINT) ORDER BY id DESC LIMIT 1 OFFSET CAST($5 AS BIGINT)) \
         ORDER BY p.id DESC LIMIT CAST($4 AS BIGINT)"
    )))
    .bind(reader)
    .bind(author)
    .bind(window.before())
    .bind(window.limit)
    .bind(window.offset)
    .fetch_all(pool)
    .await
}

pub async fn count_by_author(pool: &AnyPool, author: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(concat!("SELECT COUNT(*) FROM posts WHERE author_id = ", author_id!("$1")))
        .bind(author)
        .fetch_one(pool)
        .await
}

/// Which posts match search `$2` and, unless `$3` is '', are by that author: on SQLite the
/// rows of the FTS5 table `posts_fts` (rowid = post id), on PostgreSQL the rows of `posts`.
macro_rules! matching {
    (sqlite, $fts:literal) => {
        concat!(
            $fts,
            "posts_fts MATCH $2 AND ($3 = '' OR ",
            $fts,
            "rowid IN (SELECT id FROM posts WHERE author_id = ",
            author_id!("$3"),
            "))"
        )
    };
    (postgres) => {
        concat!("search_vector @@ to_tsquery('simple', $2) AND ($3 = '' OR author_id = ", author_id!("$3"), ")")
    };
}

/// PostgreSQL's page of a search, ordered by `p.id $order DESC`.
macro_rules! pg_search_page {
    ($order:literal) => {
        select_posts!(concat!(
            "WHERE ",
            matching!(postgres),
            " AND p.id <= (SELECT id FROM posts WHERE ",
            matching!(postgres),
            " AND id < CAST($4 AS BIGINT) ORDER BY id ",
            $order,
            " DESC LIMIT 1 OFFSET CAST($6 AS BIGINT)) ORDER BY p.id ",
            $order,
            " DESC LIMIT CAST($5 AS BIGINT)"
        ))
    };
}

/// One page of the posts whose words match `terms` (and, if `author` is not empty, by that
/// author), newest first (the page starts as in `list_newest`), and how many match, counted up
/// to `cap` (a common word matches most posts, and counting them all would cost more than the
/// page). SQLite walks its FTS5 index backwards by rowid (the post id) and stops once it has the
/// page, so a common word costs no more than a rare one. PostgreSQL must see the words to choose
/// between its GIN index (rare words) and the primary key (common ones): the app's connections
/// keep one generic plan per statement (`kernel/db`), which assumes every search matches 500
/// posts — 600 ms for a common word at 100,000 posts — so a search plans with its values.
pub async fn search(
    pool: &AnyPool,
    backend: Backend,
    reader: i64,
    terms: &SearchTerms,
    author: &str,
    window: Window,
    cap: i64,
) -> sqlx::Result<(Vec<Post>, i64)> {
    let count_sql = match backend {
        Backend::Sqlite => concat!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM posts_fts WHERE ",
            matching!(sqlite, ""),
            " LIMIT CAST($1 AS BIGINT)) AS found"
        ),
        Backend::Postgres => concat!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM posts WHERE ",
            matching!(postgres),
            " LIMIT CAST($1 AS BIGINT)) AS found"
        ),
    };
    let expression = terms.expression(backend);
    let mut tx = pool.begin().await?;
    if backend == Backend::Postgres {
        // Planned with its words (above), and without parallel workers: starting one cost 10 ms
        // of a rare word's 14 (plans in BENCHMARKS.md).
        sqlx::raw_sql("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL max_parallel_workers_per_gather = 0")
            .execute(&mut *tx)
            .await?;
    }
    let count: i64 = sqlx::query_scalar(count_sql).bind(cap).bind(&expression).bind(author).fetch_one(&mut *tx).await?;
    let page = match backend {
        Backend::Sqlite => select_posts!(
            "",
            "FROM posts_fts f JOIN posts p ON p.id = f.rowid",
            concat!(
                "WHERE ",
                matching!(sqlite, "f."),
                " AND f.rowid <= (SELECT rowid FROM posts_fts WHERE ",
                matching!(sqlite, ""),
                " AND rowid < CAST($4 AS BIGINT) ORDER BY rowid DESC LIMIT 1 OFFSET CAST($6 AS BIGINT)) \
                 ORDER BY f.rowid DESC LIMIT CAST($5 AS BIGINT)"
            )
        ),
        // Few matches: from the GIN index, sorted (`+ 0` keeps the planner off the primary key,
        // whose walk would test every post for a word it estimates at 3,000 posts and finds in one:
        // 15 s at 1,000,000 posts, measured). Many: down the primary key, testing each post until the
        // page is full.
        Backend::Postgres if count < cap => pg_search_page!("+ 0"),
        Backend::Postgres => pg_search_page!(""),
    };
    let posts = sqlx::query_as(page)
        .bind(reader)
        .bind(&expression)
        .bind(author)
        .bind(window.before())
        .bind(window.limit)
        .bind(window.offset)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((posts, count))
}

/// Posts `liker` liked, most recently liked first.
pub async fn list_liked(pool: &AnyPool, liker: i64, limit: i64, offset: i64) -> sqlx::Result<Vec<Post>> {
    sqlx::query_as(select_posts!(
        "",
        "FROM likes l JOIN posts p ON p.id = l.post_id",
        "WHERE l.user_id = $1 ORDER BY l.created_at DESC, p.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(liker)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

pub async fn count_liked(pool: &AnyPool, liker: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM likes WHERE user_id = $1").bind(liker).fetch_one(pool).await
}

pub async fn find_post(pool: &AnyPool, reader: i64, id: i64) -> sqlx::Result<Option<Post>> {
    sqlx::query_as(select_posts!("WHERE p.id = $2")).bind(reader).bind(id).fetch_optional(pool).await
}

pub struct NewPost<'a> {
    pub author_id: Option<i64>,
    pub body: &'a str,
    pub image_key: Option<&'a str>,
    pub thumb_key: Option<&'a str>,
    pub image_bytes: i64,
    pub client_ip: &'a str,
}

pub async fn insert_post(tx: &mut Tx, post: &NewPost<'_>, now: i64) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO posts (author_id, body, search_text, image_key, thumb_key, image_bytes, client_ip, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(post.author_id)
    .bind(post.body)
    .bind(search::fold(post.body))
    .bind(post.image_key)
    .bind(post.thumb_key)
    .bind(post.image_bytes)
    .bind(post.client_ip)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    bump_post_total(tx, 1).await?;
    Ok(id)
}

pub async fn update_body(tx: &mut Tx, id: i64, body: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE posts SET body = $2, search_text = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(body)
        .bind(search::fold(body))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes a post; returns whether it existed.
pub async fn delete_post(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let deleted =
        sqlx::query("DELETE FROM posts WHERE id = $1").bind(id).execute(&mut **tx).await?.rows_affected() == 1;
    if deleted {
        bump_post_total(tx, -1).await?;
    }
    Ok(deleted)
}

/// Likes once per user and post; returns whether a like was added.
pub async fn insert_like(tx: &mut Tx, post_id: i64, user_id: i64, now: i64) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "INSERT INTO likes (post_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (post_id, user_id) DO NOTHING",
    )
    .bind(post_id)
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn delete_like(tx: &mut Tx, post_id: i64, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM likes WHERE post_id = $1 AND user_id = $2")
        .bind(post_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves the cached like count by `delta`; returns the new count (None: no such post).
pub async fn bump_like_count(tx: &mut Tx, post_id: i64, delta: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("UPDATE posts SET like_count = like_count + $2 WHERE id = $1 RETURNING like_count")
        .bind(post_id)
        .bind(delta)
        .fetch_optional(&mut **tx)
        .await
}

/// Makes the quota check of `key` and the insert that follows one step: concurrent posts by the
/// same author or IP take turns. SQLite's write transactions (`BEGIN IMMEDIATE`) already do;
/// PostgreSQL takes a lock held until the transaction ends.
pub async fn lock_quota(tx: &mut Tx, backend: Backend, key: &str) -> sqlx::Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))").bind(key).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Posts and image bytes since `since`, by an author or (for anonymous posts) by a client IP.
pub async fn recent_usage(
    conn: &mut AnyConnection,
    author_id: Option<i64>,
    ip: &str,
    since: i64,
) -> sqlx::Result<(i64, i64)> {
    match author_id {
        Some(author_id) => {
            sqlx::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(image_bytes), 0) AS BIGINT) FROM posts WHERE author_id = $1 AND created_at > $2",
            )
            .bind(author_id)
            .bind(since)
            .fetch_one(conn)
            .await
        }
        None => {
            sqlx::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(image_bytes), 0) AS BIGINT) FROM posts \
                 WHERE author_id IS NULL AND client_ip = $1 AND created_at > $2",
            )
            .bind(ip)
            .bind(since)
            .fetch_one(conn)
            .await
        }
    }
}

pub async fn activity(pool: &AnyPool, user_id: i64) -> sqlx::Result<(i64, i64, i64)> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM posts WHERE author_id = $1), \
                (SELECT CAST(COALESCE(SUM(like_count), 0) AS BIGINT) FROM posts WHERE author_id = $1), \
                (SELECT COUNT(*) FROM likes WHERE user_id = $1)",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await
}

/// Marks files as to-be-deleted (before an upload is committed, or when its post goes).
pub async fn insert_orphans(tx: &mut Tx, keys: &[&str], now: i64) -> sqlx::Result<()> {
    for key in keys {
        sqlx::query(
            "INSERT INTO orphan_media (media_key, created_at) VALUES ($1, $2) ON CONFLICT (media_key) DO NOTHING",
        )
        .bind(*key)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn delete_orphans(executor: &mut Tx, keys: &[&str]) -> sqlx::Result<()> {
    for key in keys {
        sqlx::query("DELETE FROM orphan_media WHERE media_key = $1").bind(*key).execute(&mut **executor).await?;
    }
    Ok(())
}

pub async fn list_orphans(pool: &AnyPool, created_before: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT media_key FROM orphan_media WHERE created_at <= $1 ORDER BY created_at LIMIT 500")
        .bind(created_before)
        .fetch_all(pool)
        .await
}

pub async fn forget_orphan(pool: &AnyPool, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM orphan_media WHERE media_key = $1").bind(key).execute(pool).await?;
    Ok(())
}

/// (posts, likes) for the admin dashboard.
pub async fn counts(pool: &AnyPool) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as("SELECT (SELECT COUNT(*) FROM posts), (SELECT COUNT(*) FROM likes)").fetch_one(pool).await
}

/// A user's own posts, newest first, for their data export.
pub async fn posts_by_author(
    pool: &AnyPool,
    author_id: i64,
) -> sqlx::Result<Vec<(i64, String, Option<String>, i64, i64)>> {
    sqlx::query_as(
        "SELECT id, body, image_key, created_at, updated_at FROM posts WHERE author_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(author_id)
    .fetch_all(pool)
    .await
}

/// The posts a user liked and when, newest first, for their data export.
pub async fn likes_by_user(pool: &AnyPool, user_id: i64) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as("SELECT post_id, created_at FROM likes WHERE user_id = $1 ORDER BY created_at DESC, post_id DESC")
        .bind(user_id)
        .fetch_all(pool)
        .await
}

/// Before a user goes: their likes come off the posts' counts (the like rows cascade with the
/// user), and their posts forget the IP they were sent from (the posts stay, without an author).
pub async fn forget_user(tx: &mut Tx, user_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE posts SET like_count = like_count - 1 WHERE id IN (SELECT post_id FROM likes WHERE user_id = $1)",
    )
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE posts SET client_ip = NULL WHERE author_id = $1").bind(user_id).execute(&mut **tx).await?;
    Ok(())
}

/// Folds up to `batch` posts that have no searchable words yet (written by an earlier release);
/// returns how many it folded.
pub async fn fold_unsearchable(db: &Db, batch: i64) -> sqlx::Result<u64> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, body FROM posts WHERE search_text IS NULL ORDER BY id LIMIT $1")
            .bind(batch)
            .fetch_all(&db.pool)
            .await?;
    let mut tx = db.begin_write().await?;
    for (id, body) in &rows {
        // Only if nothing changed the post since it was read.
        sqlx::query("UPDATE posts SET search_text = $3 WHERE id = $1 AND body = $2 AND search_text IS NULL")
            .bind(id)
            .bind(body)
            .bind(search::fold(body))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}
