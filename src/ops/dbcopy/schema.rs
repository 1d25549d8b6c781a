//! The shape `db copy` needs of each table, read from the catalog of either backend: columns
//! with a portable kind, the primary key (for a stable order), identity columns (whose
//! sequences must move on), and foreign keys (so parents are copied before children).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};

use crate::kernel::db::Backend;
use crate::ops::dbinfo::quote_ident;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
    Float,
}

#[derive(Clone, Debug)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, Kind)>,
    pub primary_key: Vec<String>,
    pub identity: Vec<String>,
    pub parents: BTreeSet<String>,
}

fn kind_of(declared: &str) -> Option<Kind> {
    let t = declared.to_ascii_uppercase();
    if t.contains("BOOL") {
        Some(Kind::Bool)
    } else if t.contains("INT") {
        Some(Kind::Int)
    } else if t.contains("CHAR") || t.contains("TEXT") || t.contains("CLOB") {
        Some(Kind::Text)
    } else if t.contains("BLOB") || t.contains("BYTEA") {
        Some(Kind::Bytes)
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") || t.contains("NUMERIC") {
        Some(Kind::Float)
    } else {
        None
    }
}

pub async fn describe(conn: &mut AnyConnection, backend: Backend, name: &str) -> anyhow::Result<Table> {
    let mut table = Table {
        name: name.to_owned(),
        columns: Vec::new(),
        primary_key: Vec::new(),
        identity: Vec::new(),
        parents: BTreeSet::new(),
    };
    match backend {
        Backend::Sqlite => describe_sqlite(conn, &mut table).await?,
        Backend::Postgres => describe_postgres(conn, &mut table).await?,
    }
    Ok(table)
}

async fn describe_sqlite(conn: &mut AnyConnection, table: &mut Table) -> anyhow::Result<()> {
    let info = format!("PRAGMA table_info({})", quote_ident(&table.name));
    let mut pk: BTreeMap<i64, String> = BTreeMap::new();
    for row in sqlx::query(sqlx::AssertSqlSafe(info)).fetch_all(&mut *conn).await? {
        let name: String = row.try_get("name")?;
        let declared: String = row.try_get("type")?;
        let kind = kind_of(&declared)
            .ok_or_else(|| anyhow::anyhow!("{}.{name}: type {declared} is not copied", table.name))?;
        let position: i64 = row.try_get("pk")?;
        if position > 0 {
            pk.insert(position, name.clone());
        }
        table.columns.push((name, kind));
    }
    table.primary_key = pk.into_values().collect();
    let fks = format!("PRAGMA foreign_key_list({})", quote_ident(&table.name));
    for row in sqlx::query(sqlx::AssertSqlSafe(fks)).fetch_all(&mut *conn).await? {
        table.parents.insert(row.try_get("table")?);
    }
    Ok(())
}

/// Generated columns are left out: PostgreSQL computes them from the others on every write (the
/// posts' search vector, which SQLite keeps in its FTS5 table instead).
async fn describe_postgres(conn: &mut AnyConnection, table: &mut Table) -> anyhow::Result<()> {
    let columns = sqlx::query(
        "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS declared, \
         (a.attidentity <> '' OR pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL) AS is_identity \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace \
         AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
    )
    .bind(&table.name)
    .fetch_all(&mut *conn)
    .await?;
    for row in columns {
        let name: String = row.try_get("name")?;
        let declared: String = row.try_get("declared")?;
        let kind = kind_of(&declared)
            .ok_or_else(|| anyhow::anyhow!("{}.{name}: type {declared} is not copied", table.name))?;
        if row.try_get::<bool, _>("is_identity")? {
            table.identity.push(name.clone());
        }
        table.columns.push((name, kind));
    }
    table.primary_key = sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_index i \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
         WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND i.indisprimary \
         ORDER BY array_position(i.indkey::int2[], a.attnum)",
    )
    .bind(&table.name)
    .fetch_all(&mut *conn)
    .await?;
    let parents: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint \
         WHERE contype = 'f' AND conrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass",
    )
    .bind(&table.name)
    .fetch_all(&mut *conn)
    .await?;
    table.parents = parents.into_iter().map(|p| p.trim_matches('"').to_owned()).collect();
    Ok(())
}

/// Tables ordered so that every table comes after the tables it references.
pub fn parents_first(tables: Vec<Table>) -> anyhow::Result<Vec<Table>> {
    let mut remaining = tables;
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::new();
    while !remaining.is_empty() {
        let (ready, blocked): (Vec<Table>, Vec<Table>) =
            remaining.into_iter().partition(|t| t.parents.iter().all(|p| p == &t.name || done.contains(p)));
        anyhow::ensure!(
            !ready.is_empty(),
            "foreign keys form a cycle among {:?}",
            blocked.iter().map(|t| &t.name).collect::<Vec<_>>()
        );
        done.extend(ready.iter().map(|t| t.name.clone()));
        ordered.extend(ready);
        remaining = blocked;
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, parents: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            identity: Vec::new(),
            parents: parents.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn parents_are_copied_before_their_children() {
        let ordered =
            parents_first(vec![table("likes", &["posts", "users"]), table("posts", &["users"]), table("users", &[])])
                .unwrap();
        let names: Vec<&str> = ordered.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["users", "posts", "likes"]);
        assert!(parents_first(vec![table("a", &["b"]), table("b", &["a"])]).is_err());
    }

    #[test]
    fn declared_types_map_to_portable_kinds() {
        assert_eq!(kind_of("BIGINT"), Some(Kind::Int));
        assert_eq!(kind_of("boolean"), Some(Kind::Bool));
        assert_eq!(kind_of("text"), Some(Kind::Text));
        assert_eq!(kind_of("character varying(20)"), Some(Kind::Text));
        assert_eq!(kind_of("tsvector"), None);
    }
}
