//! The SQLite and PostgreSQL migrations must describe the same tables, columns and indexes,
//! except for a backend's own way of indexing the same column (full-text search): a paragraph
//! that begins `-- this backend only` is left out of the comparison.

use std::collections::BTreeMap;

fn shape(sql: &str) -> BTreeMap<String, Vec<String>> {
    let mut tables = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut skipping = false;
    for line in sql.lines().map(str::trim) {
        skipping = (skipping || line.starts_with("-- this backend only")) && !line.is_empty();
        if skipping {
            continue;
        }
        if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
            current = Some(rest.trim_end_matches(" (").to_owned());
            tables.insert(current.clone().unwrap(), Vec::new());
        } else if line.starts_with(");") {
            current = None;
        } else if line.starts_with("ALTER ") {
            tables.entry("alterations".into()).or_insert_with(Vec::new).push(line.to_owned());
        } else if let Some(rest) = line.strip_prefix("CREATE ") {
            tables.entry("indexes".into()).or_insert_with(Vec::new).push(rest.to_owned());
        } else if let (Some(table), Some(column)) = (&current, line.split_whitespace().next()) {
            tables.get_mut(table).unwrap().push(column.to_owned());
        }
    }
    tables
}

#[test]
fn sqlite_and_postgres_migrations_define_the_same_schema() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut names: Vec<_> = std::fs::read_dir(dir.join("sqlite")).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();

    for name in names {
        let sqlite = std::fs::read_to_string(dir.join("sqlite").join(&name)).unwrap();
        let postgres = std::fs::read_to_string(dir.join("postgres").join(&name)).unwrap_or_default();
        assert!(!postgres.is_empty(), "{name:?} has no PostgreSQL twin");
        assert_eq!(shape(&sqlite), shape(&postgres), "{name:?} differs between backends");
    }
}

/// Unique constraints are named `<table>_<column>`: the name SQLite's error message yields, so
/// `kernel::db::unique_violation` reports the same name on both backends and a taken value
/// becomes the right form error. (`user_tokens_token_hash_key` guards random hashes, and no code
/// maps its violation to a message.)
#[test]
fn unique_constraints_are_named_after_their_table_and_column() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let exempt = ["user_tokens_token_hash_key"];
    let mut checked = 0;
    for backend in ["sqlite", "postgres"] {
        for entry in std::fs::read_dir(dir.join(backend)).unwrap() {
            let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for (table, name, column) in unique_constraints(&sql) {
                checked += 1;
                if !exempt.contains(&name.as_str()) {
                    assert_eq!(name, format!("{table}_{column}"), "{backend}: unique constraint on {table}.{column}");
                }
            }
        }
    }
    assert!(checked >= 4, "the migrations' unique constraints were not found");
}

/// (table, constraint name, first column) of every named UNIQUE constraint and unique index.
fn unique_constraints(sql: &str) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let mut table = String::new();
    for line in sql.lines().map(str::trim) {
        let words: Vec<&str> =
            line.split(|c: char| c.is_whitespace() || "(),".contains(c)).filter(|w| !w.is_empty()).collect();
        match words.as_slice() {
            ["CREATE", "TABLE", name, ..] => table = (*name).to_owned(),
            ["CONSTRAINT", name, "UNIQUE", column, ..] => found.push((table.clone(), (*name).into(), (*column).into())),
            ["CREATE", "UNIQUE", "INDEX", name, "ON", on, column, ..] => {
                found.push(((*on).into(), (*name).into(), (*column).into()));
            }
            _ => {}
        }
    }
    found
}
