//! Migrations safe for overlap. During a deploy the new release migrates the database while the
//! previous release still serves, and a rollback runs the previous release on the migrated
//! schema, so every migration must keep the previous release working: expand now (add tables,
//! nullable columns or columns with defaults, indexes), contract a release later, once no
//! running release reads what goes. A statement that removes or reshapes what the previous
//! release uses is refused here unless its file says why that is now safe, in a line
//! `-- contract: <which release stopped using it>`. Enforced by the test below over every file.

/// What in `sql` would break the release before it; empty when the file is safe for overlap.
pub fn breaking_statements(sql: &str) -> Vec<String> {
    if sql.lines().any(|l| l.trim_start().to_ascii_lowercase().starts_with("-- contract:")) {
        return Vec::new();
    }
    let code: String = sql.lines().map(|l| l.split("--").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
    let mut found = Vec::new();
    for statement in code.split(';') {
        let words: Vec<String> = statement.split_whitespace().map(str::to_ascii_uppercase).collect();
        let has = |phrase: &str| {
            let phrase: Vec<&str> = phrase.split(' ').collect();
            words.windows(phrase.len()).any(|w| w.iter().zip(&phrase).all(|(a, b)| a == b))
        };
        let why = if has("DROP TABLE") {
            Some("drops a table")
        } else if has("DROP COLUMN") {
            Some("drops a column")
        } else if has("RENAME") {
            Some("renames a table or column")
        } else if has("ALTER COLUMN") && (has("TYPE") || has("SET NOT NULL")) {
            Some("changes a column's type or makes it NOT NULL")
        } else if has("ADD COLUMN") && has("NOT NULL") && !has("DEFAULT") {
            Some("adds a NOT NULL column without a default (the previous release's inserts fail)")
        } else {
            None
        };
        if let Some(why) = why {
            found.push(format!("{why}: {}", words.join(" ")));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_keeps_the_previous_release_working() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut checked = 0;
        for backend in ["sqlite", "postgres"] {
            for entry in std::fs::read_dir(root.join(backend)).unwrap() {
                let path = entry.unwrap().path();
                let breaking = breaking_statements(&std::fs::read_to_string(&path).unwrap());
                assert!(breaking.is_empty(), "{} breaks the previous release: {breaking:?}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 20, "only {checked} migration files found");
    }

    #[test]
    fn removing_or_reshaping_needs_a_contract_line_and_expanding_does_not() {
        for safe in [
            "CREATE TABLE t (id BIGINT PRIMARY KEY);",
            "ALTER TABLE users ADD COLUMN nickname TEXT;",
            "ALTER TABLE users ADD COLUMN visits BIGINT NOT NULL DEFAULT 0;",
            "CREATE INDEX posts_author ON posts (author_id); -- DROP TABLE in a comment",
        ] {
            assert!(breaking_statements(safe).is_empty(), "{safe}");
        }
        for breaking in [
            "DROP TABLE likes;",
            "ALTER TABLE users DROP COLUMN bio;",
            "alter table users rename column bio to about;",
            "ALTER TABLE posts ALTER COLUMN body TYPE VARCHAR(100);",
            "ALTER TABLE posts ALTER COLUMN body SET NOT NULL;",
            "ALTER TABLE users ADD COLUMN plan TEXT NOT NULL;",
        ] {
            assert_eq!(breaking_statements(breaking).len(), 1, "{breaking}");
            let marked = format!("-- contract: 0.3.0 stopped reading it\n{breaking}");
            assert!(breaking_statements(&marked).is_empty(), "{marked}");
        }
    }
}
