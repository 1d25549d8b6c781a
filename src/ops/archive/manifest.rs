//! What a backup archive says about itself: format, app and schema versions, database kind,
//! creation time, row counts per table, and every file with its size and SHA-256. The same
//! record opens the archive (without files, so a reader can refuse early) and closes it (with
//! them, once they have been hashed while written).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kernel::db::Backend;

/// Bumped when the layout changes in a way an older reader cannot follow.
pub const FORMAT_VERSION: u32 = 1;

/// The first entry (the header) and the last (the complete manifest).
pub const HEADER_NAME: &str = "shoestring-backup.json";
pub const MANIFEST_NAME: &str = "MANIFEST.json";
/// Where the database and the media files sit inside the archive.
pub const SQLITE_NAME: &str = "database/shoestring.sqlite3";
pub const PG_DUMP_NAME: &str = "database/shoestring.pgdump";
pub const MEDIA_PREFIX: &str = "media/";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn of(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => DbKind::Sqlite,
            Backend::Postgres => DbKind::Postgres,
        }
    }

    pub fn entry_name(self) -> &'static str {
        match self {
            DbKind::Sqlite => SQLITE_NAME,
            DbKind::Postgres => PG_DUMP_NAME,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub app_version: String,
    /// The newest migration applied to the database when it was copied.
    pub schema_version: i64,
    pub database: DbKind,
    /// Unix seconds, and the same instant as RFC 3339 for people.
    pub created_at: i64,
    pub created_at_utc: String,
    /// The `pg_dump` that wrote a PostgreSQL dump (its major version bounds `pg_restore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dump_tool: Option<String>,
    pub tables: BTreeMap<String, i64>,
    #[serde(default)]
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// The header is the manifest without its file list.
    pub fn header(&self) -> Manifest {
        Manifest { files: Vec::new(), ..self.clone() }
    }

    pub fn media_files(&self) -> impl Iterator<Item = &FileEntry> {
        self.files.iter().filter(|f| f.path.starts_with(MEDIA_PREFIX))
    }

    pub fn database_file(&self) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == self.database.entry_name())
    }

    pub fn total_rows(&self) -> i64 {
        self.tables.values().sum()
    }
}
