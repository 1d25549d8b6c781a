//! Row values in transit between backends, and the per-table checksum both sides are compared
//! with. A value is read by the source column's kind and written as the target's (SQLite keeps
//! flags as 0/1 integers, PostgreSQL as booleans); the checksum hashes a canonical encoding in
//! primary-key order, so the same data gives the same digest on either backend.

use anyhow::Context;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::schema::{Kind, Table};
use crate::kernel::db::Backend;
use crate::kernel::security::token::hex;
use crate::ops::dbinfo::quote_ident;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    Float(f64),
}

pub fn decode(row: &AnyRow, index: usize, kind: Kind) -> sqlx::Result<Value> {
    Ok(match kind {
        Kind::Int => row.try_get::<Option<i64>, _>(index)?.map_or(Value::Null, Value::Int),
        // SQLite hands flags back as integers through the Any driver.
        Kind::Bool => match row.try_get::<Option<bool>, _>(index) {
            Ok(v) => v.map_or(Value::Null, Value::Bool),
            Err(_) => row.try_get::<Option<i64>, _>(index)?.map_or(Value::Null, |v| Value::Bool(v != 0)),
        },
        Kind::Text => row.try_get::<Option<String>, _>(index)?.map_or(Value::Null, Value::Text),
        Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(index)?.map_or(Value::Null, Value::Bytes),
        Kind::Float => row.try_get::<Option<f64>, _>(index)?.map_or(Value::Null, Value::Float),
    })
}

/// The value as the target column's kind; flags and 0/1 integers convert, nothing else does.
pub fn convert(value: Value, to: Kind, column: &str) -> anyhow::Result<Value> {
    Ok(match (value, to) {
        (Value::Null, _) => Value::Null,
        (Value::Int(v), Kind::Bool) if v == 0 || v == 1 => Value::Bool(v == 1),
        (Value::Bool(b), Kind::Int) => Value::Int(i64::from(b)),
        (v @ Value::Int(_), Kind::Int)
        | (v @ Value::Bool(_), Kind::Bool)
        | (v @ Value::Text(_), Kind::Text)
        | (v @ Value::Bytes(_), Kind::Bytes)
        | (v @ Value::Float(_), Kind::Float) => v,
        (v, kind) => anyhow::bail!("{column}: cannot store {v:?} in a {kind:?} column"),
    })
}

pub fn bind<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    value: Value,
    kind: Kind,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    // A NULL is bound with the column's type: PostgreSQL refuses a BIGINT NULL for a TEXT column.
    match (value, kind) {
        (Value::Null, Kind::Int) => query.bind(None::<i64>),
        (Value::Null, Kind::Bool) => query.bind(None::<bool>),
        (Value::Null, Kind::Text) => query.bind(None::<String>),
        (Value::Null, Kind::Bytes) => query.bind(None::<Vec<u8>>),
        (Value::Null, Kind::Float) => query.bind(None::<f64>),
        (Value::Int(v), _) => query.bind(v),
        (Value::Bool(v), _) => query.bind(v),
        (Value::Text(v), _) => query.bind(v),
        (Value::Bytes(v), _) => query.bind(v),
        (Value::Float(v), _) => query.bind(v),
    }
}

/// `SELECT columns FROM table` in primary-key order (byte order for text on both backends).
pub fn ordered_select(table: &Table, backend: Backend) -> String {
    let columns: Vec<String> = table.columns.iter().map(|(c, _)| quote_ident(c)).collect();
    let order_by: Vec<&String> = if table.primary_key.is_empty() {
        table.columns.iter().map(|(c, _)| c).collect()
    } else {
        table.primary_key.iter().collect()
    };
    let order: Vec<String> = order_by
        .into_iter()
        .map(|c| {
            let text = table.columns.iter().any(|(name, kind)| name == c && *kind == Kind::Text);
            match (backend, text) {
                (Backend::Postgres, true) => format!("{} COLLATE \"C\"", quote_ident(c)),
                _ => quote_ident(c),
            }
        })
        .collect();
    format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), quote_ident(&table.name), order.join(", "))
}

/// Row count and SHA-256 of the table's canonical encoding.
pub async fn checksum(conn: &mut AnyConnection, backend: Backend, table: &Table) -> anyhow::Result<(i64, String)> {
    let sql = ordered_select(table, backend);
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(conn);
    let mut hasher = Sha256::new();
    let mut count = 0i64;
    while let Some(row) = rows.try_next().await.with_context(|| format!("reading {}", table.name))? {
        for (i, (_, kind)) in table.columns.iter().enumerate() {
            canonical(&mut hasher, &decode(&row, i, *kind)?);
        }
        count += 1;
    }
    Ok((count, hex(&hasher.finalize())))
}

fn canonical(hasher: &mut Sha256, value: &Value) {
    match value {
        Value::Null => hasher.update([0]),
        // A flag and its 0/1 integer are the same datum.
        Value::Int(v) => {
            hasher.update([1]);
            hasher.update(v.to_le_bytes());
        }
        Value::Bool(b) => {
            hasher.update([1]);
            hasher.update(i64::from(*b).to_le_bytes());
        }
        Value::Text(s) => {
            hasher.update([2]);
            hasher.update((s.len() as u64).to_le_bytes());
            hasher.update(s.as_bytes());
        }
        Value::Bytes(b) => {
            hasher.update([3]);
            hasher.update((b.len() as u64).to_le_bytes());
            hasher.update(b);
        }
        Value::Float(f) => {
            hasher.update([4]);
            hasher.update(f.to_bits().to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_convert_between_integers_and_booleans_only_when_zero_or_one() {
        assert_eq!(convert(Value::Int(1), Kind::Bool, "c").unwrap(), Value::Bool(true));
        assert_eq!(convert(Value::Bool(false), Kind::Int, "c").unwrap(), Value::Int(0));
        assert!(convert(Value::Int(2), Kind::Bool, "c").is_err());
        assert!(convert(Value::Text("1".into()), Kind::Int, "c").is_err());
    }

    #[test]
    fn a_flag_and_its_integer_hash_alike_and_text_is_length_prefixed() {
        let digest = |values: &[Value]| {
            let mut h = Sha256::new();
            values.iter().for_each(|v| canonical(&mut h, v));
            hex(&h.finalize())
        };
        assert_eq!(digest(&[Value::Bool(true)]), digest(&[Value::Int(1)]));
        assert_ne!(
            digest(&[Value::Text("ab".into()), Value::Text("c".into())]),
            digest(&[Value::Text("a".into()), Value::Text("bc".into())])
        );
        assert_ne!(digest(&[Value::Null]), digest(&[Value::Text(String::new())]));
    }
}
