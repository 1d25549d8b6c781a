//! The SQLite and PostgreSQL migrations must describe the same tables, columns and indexes.

use std::collections::BTreeMap;

fn shape(sql: &str) -> BTreeMap<String, Vec<String>> {
    let mut tables = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in sql.lines().map(str::trim) {
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
