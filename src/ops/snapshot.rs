//! A consistent copy of the live database that does not stop writers. SQLite: `VACUUM INTO`
//! reads one WAL snapshot while writers go on, and the copy's row counts are read from the
//! copy. PostgreSQL: a REPEATABLE READ transaction exports its snapshot, the row counts are
//! read in it, and `pg_dump --snapshot` dumps exactly that state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sqlx::{AnyConnection, Connection};

use super::archive::manifest::DbKind;
use super::pgtools::{self, LibpqTarget};
use super::{dbinfo, on_low_priority_thread};
use crate::kernel::db::{Backend, Db};

#[derive(Debug)]
pub struct Snapshot {
    pub file: PathBuf,
    pub kind: DbKind,
    pub schema_version: i64,
    pub tables: BTreeMap<String, i64>,
    pub dump_tool: Option<String>,
}

/// Copies the database behind `db` (reached at `url`) into a file inside `dir`.
pub async fn take(db: &Db, url: &str, pg_bin_dir: Option<&Path>, dir: &Path) -> anyhow::Result<Snapshot> {
    match db.backend {
        Backend::Sqlite => sqlite(db, dir).await,
        Backend::Postgres => postgres(db, url, pg_bin_dir, dir).await,
    }
}

async fn sqlite(db: &Db, dir: &Path) -> anyhow::Result<Snapshot> {
    let file = dir.join("shoestring.sqlite3");
    let target = file.to_str().context("the work folder's path is not UTF-8")?;
    vacuum_into(db, target).await.context("VACUUM INTO failed")?;
    let mut copy = open_sqlite_read_only(&file).await?;
    let tables = dbinfo::row_counts(&mut copy, Backend::Sqlite).await?;
    let schema_version = dbinfo::schema_version(&mut copy, Backend::Sqlite).await?;
    copy.close().await.ok();
    Ok(Snapshot { file, kind: DbKind::Sqlite, schema_version, tables, dump_tool: None })
}

/// `VACUUM INTO` on a connection of its own, opened on a low-priority thread: sqlx gives each
/// SQLite connection a worker thread, which inherits the priority of the thread that opens it, so
/// the copy leaves the cores to requests first on a small machine (BENCHMARKS.md, the drill).
async fn vacuum_into(db: &Db, target: &str) -> anyhow::Result<()> {
    let (file,): (String,) =
        sqlx::query_as("SELECT file FROM pragma_database_list WHERE name = 'main'").fetch_one(&db.pool).await?;
    let sql = format!("VACUUM INTO '{}'", target.replace('\'', "''"));
    let runtime = tokio::runtime::Handle::current();
    on_low_priority_thread(move || {
        runtime.block_on(async move {
            let mut conn = AnyConnection::connect(&format!("sqlite://{file}")).await?;
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
            conn.close().await.ok();
            anyhow::Ok(())
        })
    })
    .await?
}

/// A connection to a SQLite file that cannot change it.
pub async fn open_sqlite_read_only(file: &Path) -> anyhow::Result<AnyConnection> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", file.display());
    Ok(AnyConnection::connect(&url).await?)
}

async fn postgres(db: &Db, url: &str, pg_bin_dir: Option<&Path>, dir: &Path) -> anyhow::Result<Snapshot> {
    let file = dir.join("shoestring.pgdump");
    let mut conn = db.pool.acquire().await?;
    let major = pgtools::server_major(&mut conn).await?;
    let tool = pgtools::find("pg_dump", major, pg_bin_dir).await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *tx).await?;
    let snapshot_id: String = sqlx::query_scalar("SELECT pg_export_snapshot()").fetch_one(&mut *tx).await?;
    let tables = dbinfo::row_counts(&mut tx, Backend::Postgres).await?;
    let schema_version = dbinfo::schema_version(&mut tx, Backend::Postgres).await?;
    let target = LibpqTarget::parse(url)?;
    let mut command = target.command(&tool);
    command
        .arg("--format=custom")
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg(format!("--snapshot={snapshot_id}"))
        .arg(format!("--file={}", file.display()))
        .arg(format!("--dbname={}", target.url));
    // The exporting transaction must stay open until pg_dump has taken the snapshot over.
    let dumped = pgtools::run(command, "pg_dump").await;
    tx.rollback().await.ok();
    dumped?;
    Ok(Snapshot { file, kind: DbKind::Postgres, schema_version, tables, dump_tool: Some(tool.version) })
}
