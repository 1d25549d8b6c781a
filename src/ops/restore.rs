//! `shoestring restore ARCHIVE`: unpack and check the whole archive in a private staging
//! folder first; refuse a target that holds data unless forced (and then keep the old data
//! aside, never delete it); put the database and media in place; migrate forward; say what
//! was done. The app should be stopped while it runs.

use std::path::{Path, PathBuf};

use anyhow::Context;
use futures::StreamExt;
use sqlx::Connection;

use super::archive::keys::ArchiveKeys;
use super::archive::manifest::{DbKind, Manifest};
use super::archive::read::{self, ArchiveError, Unpacked};
use super::destination::Destination;
use super::fsutil::{self, ScratchDir};
use super::pgtools::{self, LibpqTarget};
use super::{dbinfo, on_low_priority_thread};
use crate::kernel::config::Settings;
use crate::kernel::db::{Backend, Db};
use crate::kernel::media::{self, MediaStore};

/// An archive named on the command line, fetched (or found) in a scratch folder.
pub async fn locate(settings: &Settings, spec: &str, scratch: &Path) -> anyhow::Result<PathBuf> {
    let local = Path::new(spec);
    if !spec.contains("://") && local.is_file() {
        return Ok(local.to_path_buf());
    }
    let (destination, name) = match spec.strip_prefix("s3://") {
        Some(_) => {
            let (base, name) = spec.rsplit_once('/').context("an s3:// archive URL ends with the archive's name")?;
            (Destination::parse(base, &settings.storage)?, name.to_owned())
        }
        None => {
            let base = settings.storage.backup_to.as_deref().with_context(|| format!("no archive file {spec}"))?;
            (Destination::parse(base, &settings.storage)?, spec.to_owned())
        }
    };
    destination.fetch(&name, &scratch.join(&name)).await
}

/// Checks the archive's header against what this binary and target can take.
pub fn acceptable(header: &Manifest, target: Backend) -> Result<(), ArchiveError> {
    if header.database != DbKind::of(target) {
        return Err(ArchiveError::Unsupported(format!(
            "this is a {} backup and DATABASE_URL names a {} database; restore it into its own kind, \
             then move it with `shoestring db copy`",
            super::backup::kind_label(header.database),
            super::backup::kind_label(DbKind::of(target)),
        )));
    }
    let latest = Db::latest_migration(target);
    if header.schema_version > latest {
        return Err(ArchiveError::Unsupported(format!(
            "the archive's schema ({}) is newer than this binary's ({latest}): restore it with shoestring {} or newer",
            header.schema_version, header.app_version
        )));
    }
    Ok(())
}

/// Unpacks `archive` into `staging` on the low-priority thread, checking everything.
pub async fn unpack(archive: &Path, keys: &ArchiveKeys, staging: &Path, target: Backend) -> anyhow::Result<Unpacked> {
    let (archive, keys, staging) = (archive.to_path_buf(), keys.clone(), staging.to_path_buf());
    let unpacked =
        on_low_priority_thread(move || read::unpack(&archive, &keys, &staging, |h| acceptable(h, target))).await??;
    Ok(unpacked)
}

pub async fn restore(settings: &Settings, spec: &str, force: bool) -> anyhow::Result<Vec<String>> {
    let url = settings.database_url.expose();
    let db = Db::connect(url).await?;
    let backend = db.backend;
    let keys = ArchiveKeys::from_settings(&settings.storage)?;
    let store = media::open_store(settings)?;
    let occupied = occupied(&db, store.as_ref()).await?;
    if !occupied.is_empty() && !force {
        anyhow::bail!(
            "the target is not empty ({}); pass --force to restore anyway (the old data is kept aside)",
            occupied.join(", ")
        );
    }
    let work = ScratchDir::new(&settings.storage.backup_work_dir, "restore")?;
    let archive = locate(settings, spec, work.path()).await?;
    let unpacked = unpack(&archive, &keys, &work.path().join("staging"), backend).await?;
    let mut report = vec![format!(
        "Checked {}: made {} by shoestring {}, schema {}, {} rows in {} tables, {} media files; every checksum matches.",
        archive.display(),
        unpacked.manifest.created_at_utc,
        unpacked.manifest.app_version,
        unpacked.manifest.schema_version,
        unpacked.manifest.total_rows(),
        unpacked.manifest.tables.len(),
        unpacked.manifest.media_files().count(),
    )];
    let aside_stamp = format!("before-restore-{}", super::retention::stamp(now_secs()));
    match backend {
        Backend::Sqlite => {
            check_sqlite_file(&unpacked.database).await?;
            db.pool.close().await;
            report.push(place_sqlite(url, &unpacked.database, (!occupied.is_empty()).then_some(&aside_stamp))?);
        }
        Backend::Postgres => {
            let aside = (!occupied.is_empty()).then_some(aside_stamp.as_str());
            report.push(place_postgres(&db, url, &unpacked.database, aside, settings).await?);
            db.pool.close().await;
        }
    }
    report.push(place_media(settings, store.as_ref(), &unpacked, &aside_stamp).await?);
    let db = Db::connect(url).await?;
    db.migrate().await.context("migrating the restored database failed")?;
    let latest = Db::latest_migration(backend);
    report.push(if latest > unpacked.manifest.schema_version {
        format!("Migrated the schema forward from {} to {latest}.", unpacked.manifest.schema_version)
    } else {
        format!("The schema is current ({latest}).")
    });
    Ok(report)
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What already holds data: tables with rows, and media files.
async fn occupied(db: &Db, store: &dyn MediaStore) -> anyhow::Result<Vec<String>> {
    let mut conn = db.pool.acquire().await?;
    let mut found: Vec<String> =
        dbinfo::data_tables(&mut conn, db.backend).await?.into_iter().map(|(t, n)| format!("{t}: {n} rows")).collect();
    if store.list().next().await.transpose()?.is_some() {
        found.push("media files".into());
    }
    Ok(found)
}

/// `PRAGMA integrity_check` and `foreign_key_check` on a SQLite file; errors name the problem.
pub async fn check_sqlite_file(file: &Path) -> anyhow::Result<()> {
    let mut conn = super::snapshot::open_sqlite_read_only(file).await?;
    let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await?;
    anyhow::ensure!(integrity == ["ok"], "PRAGMA integrity_check: {}", integrity.join("; "));
    let broken = sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut conn).await?;
    anyhow::ensure!(broken.is_empty(), "PRAGMA foreign_key_check: {} rows break a foreign key", broken.len());
    conn.close().await.ok();
    Ok(())
}

/// The SQLite file path in a `sqlite://path?…` URL.
pub fn sqlite_path(url: &str) -> PathBuf {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

/// Puts the staged file in place; the old files are moved aside when they held data
/// (`aside_stamp`), else removed (an empty database the app created on its first start).
fn place_sqlite(url: &str, staged: &Path, aside_stamp: Option<&String>) -> anyhow::Result<String> {
    let target = sqlite_path(url);
    let mut kept = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", target.display()));
        match aside_stamp {
            _ if !file.exists() => {}
            Some(stamp) => {
                let aside = PathBuf::from(format!("{}.{stamp}{suffix}", target.display()));
                std::fs::rename(&file, &aside).with_context(|| format!("cannot move {} aside", file.display()))?;
                kept.push(aside.display().to_string());
            }
            None => std::fs::remove_file(&file)?,
        }
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    fsutil::move_file(staged, &target)?;
    let mut line = format!("Restored the SQLite database to {}.", target.display());
    if !kept.is_empty() {
        line.push_str(&format!(" The previous files are kept as {}.", kept.join(", ")));
    }
    Ok(line)
}

/// Restores the dump into the target. Tables that held data are moved aside into their own
/// schema (`aside_stamp`); the empty tables of a database the app migrated on its first start
/// are dropped.
async fn place_postgres(
    db: &Db,
    url: &str,
    dump: &Path,
    aside_stamp: Option<&str>,
    settings: &Settings,
) -> anyhow::Result<String> {
    let mut conn = db.pool.acquire().await?;
    let major = pgtools::server_major(&mut conn).await?;
    let tool = pgtools::find("pg_restore", major, settings.storage.pg_bin_dir.as_deref()).await?;
    let tables = dbinfo::tables(&mut conn, Backend::Postgres).await?;
    let mut line = String::new();
    let mut tx = conn.begin().await?;
    match aside_stamp {
        _ if tables.is_empty() => {}
        Some(stamp) => {
            let aside = format!("public_{}", stamp.replace('-', "_")).to_lowercase();
            let rename = format!("ALTER SCHEMA public RENAME TO {}", dbinfo::quote_ident(&aside));
            sqlx::query(sqlx::AssertSqlSafe(rename)).execute(&mut *tx).await?;
            sqlx::query("CREATE SCHEMA public").execute(&mut *tx).await?;
            // Extensions (pg_trgm) moved aside with the schema that held them; the dump's
            // indexes expect them in public, and the tables set aside keep using them there.
            let moved: Vec<String> = sqlx::query_scalar(
                "SELECT e.extname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
                 WHERE n.nspname = $1",
            )
            .bind(&aside)
            .fetch_all(&mut *tx)
            .await?;
            for extension in moved {
                let home = format!("ALTER EXTENSION {} SET SCHEMA public", dbinfo::quote_ident(&extension));
                sqlx::query(sqlx::AssertSqlSafe(home)).execute(&mut *tx).await?;
            }
            line = format!(" The previous tables are kept in schema {aside}.");
        }
        None => {
            let quoted: Vec<String> = tables.iter().map(|t| dbinfo::quote_ident(t)).collect();
            let drop = format!("DROP TABLE {} CASCADE", quoted.join(", "));
            sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    drop(conn);
    restore_dump(&tool, &LibpqTarget::parse(url)?, dump).await?;
    Ok(format!("Restored the PostgreSQL database with {}.{line}", tool.version))
}

/// `pg_restore` into an empty database, all or nothing.
pub async fn restore_dump(tool: &pgtools::PgTool, target: &LibpqTarget, dump: &Path) -> anyhow::Result<()> {
    let mut command = target.command(tool);
    command
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg("--exit-on-error")
        .arg("--single-transaction")
        .arg(format!("--dbname={}", target.url))
        .arg(dump);
    pgtools::run(command, "pg_restore").await
}

async fn place_media(
    settings: &Settings,
    store: &dyn MediaStore,
    unpacked: &Unpacked,
    aside_stamp: &str,
) -> anyhow::Result<String> {
    let count = unpacked.manifest.media_files().count();
    if settings.storage.media_store.is_some() {
        for key in media::list_local_keys(&unpacked.media_dir)? {
            let bytes = tokio::fs::read(unpacked.media_dir.join(&key)).await?;
            store.put(&key, bytes).await.with_context(|| format!("uploading {key} failed"))?;
        }
        return Ok(format!("Uploaded {count} media files to the object store (files already there were left alone)."));
    }
    let target = &settings.media_dir;
    let mut line = format!("Restored {count} media files to {}.", target.display());
    if target.exists() {
        if media::list_local_keys(target)?.is_empty() {
            std::fs::remove_dir_all(target)?;
        } else {
            let aside = PathBuf::from(format!("{}.{aside_stamp}", target.display()));
            std::fs::rename(target, &aside)?;
            line.push_str(&format!(" The previous files are kept in {}.", aside.display()));
        }
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    if unpacked.media_dir.exists() {
        fsutil::move_dir(&unpacked.media_dir, target)?;
    } else {
        std::fs::create_dir_all(target)?;
    }
    Ok(line)
}
