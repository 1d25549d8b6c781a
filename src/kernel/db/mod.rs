//! The database pool for the backend named by `DATABASE_URL` (SQLite or PostgreSQL), migrations,
//! and write transactions. One set of portable SQL (`$n` placeholders, BIGINT unix seconds) runs
//! on both through sqlx's `Any` driver; backend-specific SQL is a choice between two constants.

pub mod changes;
pub mod data_migrations;
pub mod health;
pub mod overlap;
pub mod search;
pub mod sql;
mod tx;

use std::path::Path;
use std::time::Duration;

use futures_util::FutureExt;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Connection, Executor, Row};

use crate::kernel::validation::FieldErrors;

use changes::Changes;
pub use tx::Tx;
use tx::WriteQueue;

/// A pooled connection idle this long is pinged before use (a server or firewall may have closed it).
const IDLE_PING_AFTER: Duration = Duration::from_secs(60);
/// How long a request waits for a connection before it is answered 503: an unreachable
/// database must not hold requests for long.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(2500);
const POOL_SIZE: u32 = 8;
/// PostgreSQL cancels a statement after this long; requests time out at 30 s.
const STATEMENT_TIMEOUT: &str = "SET statement_timeout = '20s'";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    writers: Option<WriteQueue>,
    /// Changes to users and sessions, from every process on this database.
    pub changes: Changes,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Opens the pool; for SQLite the file (and its folder) is created on first use.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => loopback_without_tls(url),
        };
        // sqlx pings a connection before every acquire by default: on SQLite a round trip to the
        // connection's thread, on PostgreSQL one to the server, each as costly as a small query.
        // Only a connection that sat idle long enough to have been dropped is checked.
        let options = AnyPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_PING_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_release(|conn, _| Box::pin(still_in_transaction(conn).map(|stuck| stuck.map(|stuck| !stuck))));
        let options = match backend {
            // WAL lets readers run beside the one writer; busy_timeout (5 s, sqlx's default)
            // and BEGIN IMMEDIATE make writers queue instead of failing.
            // No commit checkpoints: see `checkpoint_in_background`. A WAL file keeps its
            // largest size until told otherwise: after a bulk load (a seed, a `db copy`) it held
            // 700 MB of used-up log beside a 700 MB database; past a checkpoint it is cut to 64 MiB.
            Backend::Sqlite => options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                         PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;",
                    )
                    .await?;
                    health::report_available();
                    Ok(())
                })
            }),
            // The app's statements are prepared once per connection; with PostgreSQL's default
            // (`auto`) a LIMIT query whose generic plan looks costlier is re-planned on every call
            // (~0.9 ms, most of the post list's database time). Its generic plan is the same
            // index walk, so keep it (BENCHMARKS.md, before/after).
            // No JIT compilation: a generic plan's cost assumes a tenth of the table under an
            // unknown LIMIT, so a 20-row page at 100× the data crossed `jit_above_cost` and spent
            // 27 ms compiling a query that runs in 0.2.
            // A statement that runs longer than a request may is cancelled (57014 → 503).
            // The pool stays full: sqlx makes a request that finds no idle connection open its own
            // rather than wait for one to come back, and a new connection (a process, a password
            // exchange) on a busy machine can take longer than ACQUIRE_TIMEOUT: a fresh instance
            // under load answered 503s for seconds while it grew its pool.
            Backend::Postgres => options.min_connections(POOL_SIZE).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET plan_cache_mode = force_generic_plan").await?;
                    conn.execute("SET jit = off").await?;
                    conn.execute(STATEMENT_TIMEOUT).await?;
                    health::report_available();
                    Ok(())
                })
            }),
        };
        let pool = options.connect(&url).await?;
        let writers = (backend == Backend::Sqlite).then(WriteQueue::new);
        let changes = Changes::new(backend, (backend == Backend::Postgres).then(|| url.clone()));
        if let Some(queue) = &writers {
            checkpoint_in_background(pool.clone(), queue.clone());
        }
        Ok(Self { pool, backend, writers, changes })
    }

    /// Copies SQLite's whole write-ahead log into the file and empties it, after a bulk load, so
    /// that the reads and the first commit after it do not pay for a log as large as the data.
    /// A checkpoint that meets another (the background one) or outwaits a reader answers "busy"
    /// rather than failing, and the log stays as it was: so it is tried again, up to 600 times
    /// 100 ms apart (each try may also wait out the busy timeout for readers).
    pub async fn fold_log(&self) -> anyhow::Result<()> {
        for _ in 0..600 {
            if !checkpoint(&self.pool, "PRAGMA wal_checkpoint(TRUNCATE)").await?.busy {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the write-ahead log could not be emptied: other connections kept reading it")
    }

    /// Applies the migrations not applied yet. On PostgreSQL they run without the statement
    /// timeout: a migration on a big table may take longer than any request.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&mut *conn).await?,
            Backend::Postgres => {
                conn.execute("SET statement_timeout = 0").await?;
                POSTGRES_MIGRATIONS.run(&mut *conn).await?;
                conn.execute(STATEMENT_TIMEOUT).await?;
            }
        }
        Ok(())
    }

    /// On PostgreSQL, opens the whole pool before the first request (see `min_connections`
    /// above): a new instance (a deploy, a restart after a crash) meets its share of the load at
    /// once. A connection that cannot be opened now is left for later: serving is not refused.
    pub async fn warm_up(&self) {
        if self.backend != Backend::Postgres {
            return;
        }
        let mut held = Vec::with_capacity(POOL_SIZE as usize);
        for _ in 0..POOL_SIZE {
            match self.pool.acquire().await {
                Ok(conn) => held.push(conn),
                Err(err) => {
                    tracing::warn!(error = %err, opened = held.len(), "could not open every connection before serving");
                    break;
                }
            }
        }
    }

    /// The newest migration applied to this database (0 before any).
    pub async fn applied_migration(&self) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success = TRUE",
        )
        .fetch_one(&self.pool)
        .await
    }

    /// The newest migration this binary knows for `backend` (what a migrated database is at).
    pub fn latest_migration(backend: Backend) -> i64 {
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// A transaction that will write. On SQLite it waits for its turn among this process's
    /// writers (`tx.rs`), then takes the write lock up front (`BEGIN IMMEDIATE`): a deferred
    /// transaction that reads then writes fails at once under concurrency instead of waiting.
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        match &self.writers {
            Some(queue) => {
                let turn = queue.turn().await?;
                Ok(Tx::new(self.pool.begin_with("BEGIN IMMEDIATE").await?, Some(turn), self.changes.clone()))
            }
            None => Ok(Tx::new(self.pool.begin().await?, None, self.changes.clone())),
        }
    }

    /// Picks the statement written for this backend.
    pub fn pick(&self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self.backend {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }
}

/// Whether a connection coming back to the pool is still inside a transaction: then it is closed
/// instead of pooled. A dropped transaction's rollback is queued and runs on the next command,
/// so a ping first lets it run. It fails when SQLite already rolled the transaction back by
/// itself (a full disk does that), and sqlx then keeps counting the transaction as open: every
/// later `begin` on that connection would fail until the process restarts.
async fn still_in_transaction(conn: &mut sqlx::AnyConnection) -> sqlx::Result<bool> {
    if !conn.is_in_transaction() {
        return Ok(false);
    }
    conn.ping().await?;
    let stuck = conn.is_in_transaction();
    if stuck {
        tracing::warn!(event = "db_connection_discarded", "a connection left inside a failed transaction was closed");
    }
    Ok(stuck)
}

/// How often the WAL is copied back into the SQLite file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Past this many frames (16 MiB of 4 KiB pages) the log is made to start over.
const RESTART_AFTER_FRAMES: i64 = 4096;

/// How long a restart waits for readers still on the old log before it gives up until the next
/// tick; this process's writers wait that long at most.
const RESTART_WAITS_FOR_READERS: &str = "PRAGMA busy_timeout = 200";
const BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 5000";

/// Copies SQLite's write-ahead log back into the database file once a second, off the request
/// path. By default the commit that crosses 1000 WAL pages does it, and a checkpoint ends with an
/// fsync of the file: that one commit (a like, say) waited for the disk, for 50–100 ms while a
/// backup was writing (BENCHMARKS.md, the drill). With the commits' checkpoints off, a commit in
/// WAL mode with `synchronous = NORMAL` never waits for the disk. PASSIVE neither waits for nor
/// blocks readers and writers. The task ends when the pool is closed.
///
/// PASSIVE never starts the log over: a writer does that only when it begins while the whole log
/// is already in the file and no reader is on it, which never happens while writers follow each
/// other without a pause. The log then grew by 50 MB a second under a like-toggle load, and the
/// first commit after it finally started over cut the file back to `journal_size_limit` itself.
/// So once the log is long, the checkpoint takes this process's write turn and runs RESTART,
/// which copies the last frames and waits (briefly) for readers to leave the old log.
fn checkpoint_in_background(pool: AnyPool, writers: WriteQueue) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            let checkpointed = match checkpoint(&pool, "PRAGMA wal_checkpoint(PASSIVE)").await {
                Ok(log) if log.frames > RESTART_AFTER_FRAMES => restart_log(&pool, &writers).await,
                done => done,
            };
            if let Err(err) = checkpointed {
                tracing::debug!(error = %err, "WAL checkpoint skipped");
            }
        }
    });
}

/// What a checkpoint answers: whether it met another checkpoint or a reader it could not wait
/// out (and so did not finish), and the frames in the log.
struct Log {
    busy: bool,
    frames: i64,
}

async fn checkpoint(conn: impl sqlx::Executor<'_, Database = sqlx::Any>, pragma: &'static str) -> sqlx::Result<Log> {
    let row = sqlx::query(pragma).fetch_one(conn).await?;
    Ok(Log { busy: row.try_get::<i64, _>(0)? != 0, frames: row.try_get(1)? })
}

async fn restart_log(pool: &AnyPool, writers: &WriteQueue) -> sqlx::Result<Log> {
    let _turn = writers.turn().await?;
    let mut conn = pool.acquire().await?;
    conn.execute(RESTART_WAITS_FOR_READERS).await?;
    let restarted = checkpoint(&mut *conn, "PRAGMA wal_checkpoint(RESTART)").await;
    if conn.execute(BUSY_TIMEOUT).await.is_err() {
        conn.close_on_drop();
    }
    restarted
}

/// Makes sure the SQLite file can be created: `mode=rwc` and an existing parent folder.
fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let file = path.split('?').next().unwrap_or(path);
    if file.is_empty() || file.contains(":memory:") {
        return Ok(url.to_owned());
    }
    if let Some(parent) = Path::new(file).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    if url.contains("mode=") {
        Ok(url.to_owned())
    } else {
        let sep = if url.contains('?') { '&' } else { '?' };
        Ok(format!("{url}{sep}mode=rwc"))
    }
}

/// A PostgreSQL on this machine is reached without TLS unless the URL asks for an `sslmode`:
/// loopback traffic never leaves the kernel, and sqlx 0.9.0 leaves Nagle's algorithm on, so each
/// new connection's TLS handshake waits out two 40 ms delayed ACKs (start-up took ~110 ms instead
/// of ~20 ms). Any other host keeps sqlx's default, `prefer`.
fn loopback_without_tls(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback || url.contains("sslmode=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}sslmode=disable")
}

/// Reads a flag column: BOOLEAN on PostgreSQL, INTEGER 0/1 on SQLite (the `Any` driver
/// decodes neither as the other).
pub fn get_flag(row: &sqlx::any::AnyRow, column: &str) -> sqlx::Result<bool> {
    use sqlx::Row;
    row.try_get::<bool, _>(column).or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
}

/// The name of the unique constraint a database error violated, on either backend.
/// PostgreSQL names the constraint; SQLite names `table.column`, which becomes `table_column`.
/// So a unique constraint that code maps to a message is named `<table>_<column>` (e.g.
/// `users_email_key` on `users.email_key`): both backends then report the same name
/// (`tests/it/kernel/schema.rs` holds the migrations to that rule).
pub fn unique_violation(err: &sqlx::Error) -> Option<String> {
    let db_err = err.as_database_error()?;
    if !matches!(db_err.kind(), sqlx::error::ErrorKind::UniqueViolation) {
        return None;
    }
    if let Some(name) = db_err.constraint() {
        return Some(name.to_owned());
    }
    // SQLite: "UNIQUE constraint failed: users.email_key"
    let message = db_err.message();
    let columns = message.rsplit(": ").next()?;
    let (table, column) = columns.split(',').next()?.trim().split_once('.')?;
    Some(format!("{table}_{column}"))
}

/// Whether `err` violated the unique constraint `constraint`.
pub fn violates(err: &sqlx::Error, constraint: &str) -> bool {
    unique_violation(err).as_deref() == Some(constraint)
}

/// A unique constraint and the form field whose value it refused, with the message to show.
#[derive(Clone, Copy, Debug)]
pub struct UniqueField {
    pub constraint: &'static str,
    pub field: &'static str,
    pub message: &'static str,
}

/// The field error for a violation of one of `fields`, so a race between two writers ends as a
/// form error rather than a 500; any other error comes back as it was.
pub fn unique_field_error(err: sqlx::Error, fields: &[UniqueField]) -> Result<FieldErrors, sqlx::Error> {
    let name = unique_violation(&err);
    match fields.iter().find(|f| name.as_deref() == Some(f.constraint)) {
        Some(found) => Ok(FieldErrors::single(found.field, found.message)),
        None => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::loopback_without_tls;

    #[test]
    fn only_a_loopback_postgres_without_an_sslmode_goes_without_tls() {
        let cases = [
            ("postgres://app:pw@127.0.0.1:5432/app", "postgres://app:pw@127.0.0.1:5432/app?sslmode=disable"),
            (
                "postgres://localhost/app?application_name=x",
                "postgres://localhost/app?application_name=x&sslmode=disable",
            ),
            ("postgres://[::1]:5432/app", "postgres://[::1]:5432/app?sslmode=disable"),
            ("postgres://app@db.internal:5432/app", "postgres://app@db.internal:5432/app"),
            ("postgres://app@10.0.0.5/app", "postgres://app@10.0.0.5/app"),
            ("postgres://127.0.0.1/app?sslmode=require", "postgres://127.0.0.1/app?sslmode=require"),
            ("postgres://user:p%40ss@127.0.0.1.example.com/app", "postgres://user:p%40ss@127.0.0.1.example.com/app"),
        ];
        for (url, expected) in cases {
            assert_eq!(loopback_without_tls(url), expected, "{url}");
        }
    }
}
