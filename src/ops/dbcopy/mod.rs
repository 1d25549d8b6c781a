//! `shoestring db copy --from URL --to URL`: moves every table of a migrated database into an
//! empty one of either backend (SQLite → PostgreSQL is the usual move) in one transaction,
//! keeping ids and moving identity sequences past them, then compares row counts and per-table
//! checksums of both sides. Refuses a target that holds data; never writes to the source.

mod rows;
pub mod schema;

use anyhow::Context;
use futures::TryStreamExt;
use sqlx::{AnyConnection, Connection};

use super::dbinfo::{self, BOOKKEEPING_TABLES, quote_ident};
use crate::kernel::db::{Backend, Db, Tx};
use schema::Table;

#[derive(Debug)]
pub struct TableReport {
    pub name: String,
    pub source_rows: i64,
    pub target_rows: i64,
    pub source_sha256: String,
    pub target_sha256: String,
}

impl TableReport {
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows && self.source_sha256 == self.target_sha256
    }
}

pub async fn copy(from: &str, to: &str) -> anyhow::Result<Vec<TableReport>> {
    anyhow::ensure!(from != to, "--from and --to name the same database");
    let source = Db::connect(from).await.context("cannot open --from")?;
    let target = Db::connect(to).await.context("cannot open --to")?;
    let mut src = source.pool.acquire().await?.detach();
    let version = dbinfo::schema_version(&mut src, source.backend).await?;
    let latest = Db::latest_migration(source.backend);
    anyhow::ensure!(
        version == latest,
        "the source is at schema {version}, this binary at {latest}: run `shoestring migrate` on it first"
    );
    target.migrate().await.context("migrating the target failed")?;
    let mut dst = target.pool.acquire().await?.detach();
    let occupied = dbinfo::data_tables(&mut dst, target.backend).await?;
    anyhow::ensure!(
        occupied.is_empty(),
        "the target is not empty ({}); copy only into a new database",
        occupied.iter().map(|(t, n)| format!("{t}: {n} rows")).collect::<Vec<_>>().join(", ")
    );
    let tables = matching_tables(&mut src, source.backend, &mut dst, target.backend).await?;
    src.close().await.ok();
    dst.close().await.ok();

    let mut read = source.pool.begin().await?;
    if source.backend == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *read).await?;
        sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *read).await?;
    }
    let mut write = target.begin_write().await?;
    if target.backend == Backend::Postgres {
        sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *write).await?;
    }
    for (src_table, dst_table) in &tables {
        copy_table(&mut read, src_table, source.backend, &mut write, dst_table).await?;
    }
    if target.backend == Backend::Postgres {
        for (_, table) in &tables {
            reset_sequences(&mut write, table).await?;
        }
    }
    write.commit().await.context("committing the copy failed")?;
    let mut reports = Vec::new();
    let mut dst = target.pool.acquire().await?;
    dbinfo::no_statement_timeout(&mut dst, target.backend).await?;
    for (src_table, dst_table) in &tables {
        let (source_rows, source_sha256) = rows::checksum(&mut read, source.backend, src_table).await?;
        let (target_rows, target_sha256) = rows::checksum(&mut dst, target.backend, dst_table).await?;
        reports.push(TableReport {
            name: src_table.name.clone(),
            source_rows,
            target_rows,
            source_sha256,
            target_sha256,
        });
    }
    read.rollback().await.ok();
    Ok(reports)
}

/// Both sides' tables (bar the migration log), parents first; they must have the same columns.
async fn matching_tables(
    src: &mut AnyConnection,
    src_backend: Backend,
    dst: &mut AnyConnection,
    dst_backend: Backend,
) -> anyhow::Result<Vec<(Table, Table)>> {
    let names = |all: Vec<String>| -> Vec<String> { all.into_iter().filter(|t| t != "_sqlx_migrations").collect() };
    let src_names = names(dbinfo::tables(&mut *src, src_backend).await?);
    let dst_names = names(dbinfo::tables(&mut *dst, dst_backend).await?);
    anyhow::ensure!(src_names == dst_names, "the two databases have different tables: {src_names:?} / {dst_names:?}");
    let mut targets = Vec::new();
    for name in &dst_names {
        targets.push(schema::describe(&mut *dst, dst_backend, name).await?);
    }
    let mut pairs = Vec::new();
    for target in schema::parents_first(targets)? {
        let source = schema::describe(&mut *src, src_backend, &target.name).await?;
        let columns = |t: &Table| t.columns.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>();
        anyhow::ensure!(
            columns(&source) == columns(&target),
            "table {} has different columns on the two sides",
            target.name
        );
        pairs.push((source, target));
    }
    Ok(pairs)
}

async fn copy_table(
    read: &mut AnyConnection,
    src: &Table,
    src_backend: Backend,
    write: &mut Tx,
    dst: &Table,
) -> anyhow::Result<()> {
    if BOOKKEEPING_TABLES.contains(&dst.name.as_str()) {
        // Rows the migrations or the scheduler put there are replaced by the source's.
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", quote_ident(&dst.name))))
            .execute(&mut **write)
            .await?;
    }
    let per_batch = (30_000 / dst.columns.len().max(1)).clamp(1, 500);
    let mut batch: Vec<Vec<rows::Value>> = Vec::with_capacity(per_batch);
    let sql = rows::ordered_select(src, src_backend);
    let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *read);
    while let Some(row) = stream.try_next().await.with_context(|| format!("reading {}", src.name))? {
        let mut values = Vec::with_capacity(dst.columns.len());
        for (i, ((_, from), (column, to))) in src.columns.iter().zip(&dst.columns).enumerate() {
            values.push(rows::convert(rows::decode(&row, i, *from)?, *to, &format!("{}.{column}", dst.name))?);
        }
        batch.push(values);
        if batch.len() == per_batch {
            insert_batch(write, dst, std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        insert_batch(write, dst, batch).await?;
    }
    Ok(())
}

async fn insert_batch(write: &mut Tx, table: &Table, batch: Vec<Vec<rows::Value>>) -> anyhow::Result<()> {
    let columns: Vec<String> = table.columns.iter().map(|(c, _)| quote_ident(c)).collect();
    let width = columns.len();
    let tuples: Vec<String> = (0..batch.len())
        .map(|r| format!("({})", (1..=width).map(|c| format!("${}", r * width + c)).collect::<Vec<_>>().join(", ")))
        .collect();
    // Ids are kept: PostgreSQL's GENERATED ALWAYS identity columns take them only when told.
    let overriding = if table.identity.is_empty() { "" } else { " OVERRIDING SYSTEM VALUE" };
    let sql = format!(
        "INSERT INTO {} ({}){overriding} VALUES {}",
        quote_ident(&table.name),
        columns.join(", "),
        tuples.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for values in batch {
        for (value, (_, kind)) in values.into_iter().zip(&table.columns) {
            query = rows::bind(query, value, *kind);
        }
    }
    query.execute(&mut **write).await.with_context(|| format!("writing {}", table.name))?;
    Ok(())
}

/// Moves each identity sequence past the largest copied id, so the next insert does not collide.
async fn reset_sequences(write: &mut Tx, table: &Table) -> anyhow::Result<()> {
    for column in &table.identity {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({col}), 0) + 1, false) FROM {tbl}",
            col = quote_ident(column),
            tbl = quote_ident(&table.name)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(quote_ident(&table.name))
            .bind(column)
            .execute(&mut **write)
            .await
            .with_context(|| format!("resetting the sequence of {}.{column}", table.name))?;
    }
    Ok(())
}
