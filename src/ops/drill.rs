//! The restore drill, `shoestring backup verify [ARCHIVE|--latest]`: fetch an archive back,
//! unpack and check it, restore it into a scratch database (a temporary SQLite file or a
//! temporary PostgreSQL database, dropped afterwards), run the integrity checks, compare row
//! counts with the manifest, check the apps' invariants, boot the app on the copy and ask it a
//! question. The elapsed time is the measured restore time (RTO) of that archive.

use std::time::Instant;

use anyhow::Context;
use sqlx::Connection;

use super::archive::keys::ArchiveKeys;
use super::archive::manifest::DbKind;
use super::destination::Destination;
use super::fsutil::ScratchDir;
use super::pgtools::{self, LibpqTarget};
use super::{AppHooks, RestoredCopy, dbinfo, restore};
use crate::kernel::config::Settings;
use crate::kernel::db::{Backend, Db};
use crate::kernel::media::LocalStorage;
use crate::kernel::security::token::random_token;

/// Which archive the drill takes.
#[derive(Clone, Debug)]
pub enum Choice {
    /// A file, an archive name in BACKUP_TO, or an s3:// URL of one.
    Named(String),
    /// The newest archive in the destination.
    Latest(Destination),
}

#[derive(Debug)]
pub struct DrillReport {
    pub archive: String,
    pub bytes: u64,
    pub created_at_utc: String,
    /// Each check that ran, in order, as a line for people.
    pub checks: Vec<String>,
    pub restore_ms: i64,
}

pub async fn drill(settings: &Settings, hooks: &AppHooks, choice: &Choice) -> anyhow::Result<DrillReport> {
    let started = Instant::now();
    let work = ScratchDir::new(&settings.storage.backup_work_dir, "drill")?;
    let archive = match choice {
        Choice::Named(spec) => restore::locate(settings, spec, work.path()).await?,
        Choice::Latest(destination) => {
            let newest = destination.list().await?.pop().context("there is no backup to verify yet")?;
            destination.fetch(&newest.name, &work.path().join(&newest.name)).await?
        }
    };
    let bytes = std::fs::metadata(&archive)?.len();
    let keys = ArchiveKeys::from_settings(&settings.storage)?;
    let header = super::archive::read::read_header(&archive, &keys)?;
    let backend = match header.database {
        DbKind::Sqlite => Backend::Sqlite,
        DbKind::Postgres => Backend::Postgres,
    };
    let unpacked = restore::unpack(&archive, &keys, &work.path().join("staging"), backend).await?;
    let mut checks =
        vec![format!("archive: {} files, every size and SHA-256 matches the manifest", unpacked.manifest.files.len())];
    let scratch = match backend {
        Backend::Sqlite => {
            restore::check_sqlite_file(&unpacked.database).await?;
            checks.push("sqlite: integrity_check ok, foreign_key_check clean".into());
            Scratch::Sqlite(format!("sqlite://{}", unpacked.database.display()))
        }
        Backend::Postgres => Scratch::postgres(settings, &unpacked.database).await?,
    };
    let outcome = check_copy(&scratch, &unpacked, hooks, &mut checks).await;
    scratch.drop_database(settings).await;
    outcome?;
    Ok(DrillReport {
        archive: archive.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        bytes,
        created_at_utc: unpacked.manifest.created_at_utc,
        checks,
        restore_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
    })
}

async fn check_copy(
    scratch: &Scratch,
    unpacked: &super::archive::read::Unpacked,
    hooks: &AppHooks,
    checks: &mut Vec<String>,
) -> anyhow::Result<()> {
    let db = Db::connect(scratch.url()).await?;
    let mut conn = db.pool.acquire().await?;
    dbinfo::no_statement_timeout(&mut conn, db.backend).await?;
    let counts = dbinfo::row_counts(&mut conn, db.backend).await?;
    drop(conn);
    if counts != unpacked.manifest.tables {
        let differ: Vec<String> = unpacked
            .manifest
            .tables
            .iter()
            .filter(|(t, n)| counts.get(*t) != Some(n))
            .map(|(t, n)| format!("{t}: manifest {n}, restored {}", counts.get(t).copied().unwrap_or(-1)))
            .collect();
        anyhow::bail!("row counts differ from the manifest: {}", differ.join("; "));
    }
    checks.push(format!(
        "row counts: {} rows in {} tables, as in the manifest",
        unpacked.manifest.total_rows(),
        counts.len()
    ));
    super::migrate(&db).await.context("migrating the restored copy failed")?;
    let copy = RestoredCopy {
        db: db.clone(),
        database_url: scratch.url().to_owned(),
        media: std::sync::Arc::new(LocalStorage::new(unpacked.media_dir.clone())),
        media_dir: unpacked.media_dir.clone(),
    };
    let broken = (hooks.invariants)(copy.clone()).await?;
    anyhow::ensure!(broken.is_empty(), "app invariants broken: {}", broken.join("; "));
    checks.push("app invariants hold".into());
    let answered = (hooks.smoke)(copy).await.context("the app did not serve the restored copy")?;
    checks.push(format!("smoke: {answered}"));
    db.pool.close().await;
    Ok(())
}

enum Scratch {
    Sqlite(String),
    Postgres { url: String, admin: String, name: String },
}

impl Scratch {
    /// A new database on the drill's server, filled from the dump.
    async fn postgres(settings: &Settings, dump: &std::path::Path) -> anyhow::Result<Self> {
        let admin = settings.storage.drill_database_url.as_ref().unwrap_or(&settings.database_url).expose().to_owned();
        anyhow::ensure!(
            admin.starts_with("postgres"),
            "a PostgreSQL archive is drilled on a PostgreSQL server: set DRILL_DATABASE_URL"
        );
        let name = format!("shoestring_drill_{}", &random_token()[..12].to_lowercase().replace('-', "_"));
        let mut conn = Db::connect(&admin).await?.pool.acquire().await?.detach();
        let major = pgtools::server_major(&mut conn).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {}", dbinfo::quote_ident(&name))))
            .execute(&mut conn)
            .await
            .context(
                "the drill could not create its scratch database (the role needs CREATEDB; see DRILL_DATABASE_URL)",
            )?;
        conn.close().await.ok();
        let target = LibpqTarget::parse(&admin)?.with_database(&name);
        let scratch = Scratch::Postgres { url: with_database(&admin, &name), admin, name };
        let tool = pgtools::find("pg_restore", major, settings.storage.pg_bin_dir.as_deref()).await;
        let restored = match tool {
            Ok(tool) => restore::restore_dump(&tool, &target, dump).await,
            Err(err) => Err(err),
        };
        if let Err(err) = restored {
            scratch.drop_database(settings).await;
            return Err(err);
        }
        Ok(scratch)
    }

    fn url(&self) -> &str {
        match self {
            Scratch::Sqlite(url) | Scratch::Postgres { url, .. } => url,
        }
    }

    async fn drop_database(&self, _settings: &Settings) {
        let Scratch::Postgres { admin, name, .. } = self else { return };
        let dropped = async {
            let mut conn = sqlx::AnyConnection::connect(admin).await?;
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", dbinfo::quote_ident(name));
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
            anyhow::Ok(())
        };
        if let Err(err) = dropped.await {
            tracing::warn!(database = %name, error = %err, "could not drop the drill's scratch database");
        }
    }
}

/// `postgres://u@h/db?x` with the database replaced by `name` (sqlx form, password kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}
