//! What operations ask of any database, on either backend: its tables, their row counts, the
//! migration it is at, and whether it holds data. Table names come from the catalog and are
//! quoted as identifiers, never taken from input.

use std::collections::BTreeMap;

use sqlx::AnyConnection;

use crate::kernel::db::Backend;

/// Tables a fresh install fills by itself (migrations, the scheduler, anonymous visits, its
/// own backups): a database whose only rows are in these is still "empty" for a restore or a copy.
pub const BOOKKEEPING_TABLES: &[&str] =
    &["_sqlx_migrations", "counters", "schedules", "jobs", "sessions", "backup_runs"];

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub async fn tables(conn: &mut AnyConnection, backend: Backend) -> sqlx::Result<Vec<String>> {
    let sql = match backend {
        // Ordinary tables only: a full-text index (a virtual table and its shadow tables) is
        // rebuilt by its triggers from the table it indexes, and PostgreSQL has no such tables.
        Backend::Sqlite => {
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        }
    };
    sqlx::query_scalar(sql).fetch_all(conn).await
}

pub async fn row_counts(conn: &mut AnyConnection, backend: Backend) -> sqlx::Result<BTreeMap<String, i64>> {
    let mut counts = BTreeMap::new();
    for table in tables(&mut *conn, backend).await? {
        let sql = format!("SELECT COUNT(*) FROM {}", quote_ident(&table));
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await?;
        counts.insert(table, count);
    }
    Ok(counts)
}

/// The newest migration applied (0 when the database was never migrated).
pub async fn schema_version(conn: &mut AnyConnection, backend: Backend) -> sqlx::Result<i64> {
    if !tables(&mut *conn, backend).await?.iter().any(|t| t == "_sqlx_migrations") {
        return Ok(0);
    }
    sqlx::query_scalar("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success")
        .fetch_one(conn)
        .await
}

/// The tables that hold rows beyond the bookkeeping ones, with their counts.
pub async fn data_tables(conn: &mut AnyConnection, backend: Backend) -> sqlx::Result<Vec<(String, i64)>> {
    let counts = row_counts(conn, backend).await?;
    Ok(counts.into_iter().filter(|(t, n)| *n > 0 && !BOOKKEEPING_TABLES.contains(&t.as_str())).collect())
}

/// Lifts PostgreSQL's per-statement limit on this connection (the app's pool sets one for
/// requests): a copy or a check streams whole tables, longer than any request may take.
pub async fn no_statement_timeout(conn: &mut AnyConnection, backend: Backend) -> sqlx::Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SET statement_timeout = 0").execute(conn).await?;
    }
    Ok(())
}
