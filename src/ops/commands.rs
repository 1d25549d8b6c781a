//! The operations' command lines — `backup`, `backup verify`, `backup list`, `restore`,
//! `db copy`, `media copy` — parsed here and printed here, each a thin call into its module.

use clap::{Args, Subcommand};

use super::drill::Choice;
use super::{AppHooks, backup, dbcopy, jobs, mediacopy, restore};
use crate::kernel::AppState;
use crate::kernel::config::Settings;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A folder or s3://bucket/prefix (default: BACKUP_TO).
    #[arg(long)]
    pub to: Option<String>,
    #[command(subcommand)]
    pub action: Option<BackupAction>,
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// The restore drill: restore an archive into a scratch database, check it, boot the app on it.
    Verify {
        /// An archive file, an archive name in BACKUP_TO, or an s3:// URL of one.
        archive: Option<String>,
        /// The newest archive in the destination.
        #[arg(long, conflicts_with = "archive")]
        latest: bool,
        /// Where to look for --latest (default: BACKUP_TO).
        #[arg(long)]
        from: Option<String>,
    },
    /// The archives in the destination, oldest first.
    List {
        #[arg(long)]
        from: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// An archive file, an archive name in BACKUP_TO, or an s3:// URL of one.
    pub archive: String,
    /// Restore over a database or media folder that holds data (the old data is kept aside).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Copy every table into an empty database (e.g. SQLite to PostgreSQL) and compare checksums.
    Copy {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MediaAction {
    /// Copy every media file to another store and read each back to compare its SHA-256.
    Copy {
        /// A folder or s3://bucket/prefix (default: MEDIA_DIR).
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: String,
    },
}

pub async fn backup(state: &AppState, hooks: &AppHooks, args: BackupArgs) -> anyhow::Result<()> {
    match args.action {
        // No migration here: a newer binary must not change the schema under a running server.
        None => {
            let done = jobs::run_backup(state, args.to.as_deref()).await?;
            println!("Backed up to {}/{}", done.destination.trim_end_matches('/'), done.name);
            println!(
                "  {} bytes in {:.1} s: {} database, schema {}, {} rows in {} tables, {} media files",
                done.bytes,
                done.duration.as_secs_f64(),
                backup::kind_label(done.manifest.database),
                done.manifest.schema_version,
                done.manifest.total_rows(),
                done.manifest.tables.len(),
                done.manifest.media_files().count(),
            );
            if done.vanished > 0 {
                println!("  {} media files were deleted during the backup and are not in it", done.vanished);
            }
            for name in &done.pruned {
                println!("  pruned {name}");
            }
            Ok(())
        }
        Some(BackupAction::Verify { archive, latest, from }) => {
            let choice = match (archive, latest) {
                (Some(archive), _) => Choice::Named(archive),
                (None, true) => Choice::Latest(backup::destination(state, from.as_deref())?),
                (None, false) => anyhow::bail!("name an ARCHIVE or pass --latest"),
            };
            let report = jobs::run_drill(state, hooks, &choice).await?;
            println!("Drill passed for {} (made {}, {} bytes)", report.archive, report.created_at_utc, report.bytes);
            for check in &report.checks {
                println!("  ok  {check}");
            }
            println!("  restore time (fetch, check, restore, boot): {:.1} s", report.restore_ms as f64 / 1000.0);
            Ok(())
        }
        Some(BackupAction::List { from }) => {
            let destination = backup::destination(state, from.as_deref())?;
            for archive in destination.list().await? {
                println!("{}  {:>12} bytes", archive.name, archive.size);
            }
            Ok(())
        }
    }
}

pub async fn restore(settings: &Settings, args: RestoreArgs) -> anyhow::Result<()> {
    for line in restore::restore(settings, &args.archive, args.force).await? {
        println!("{line}");
    }
    Ok(())
}

pub async fn db(action: DbAction) -> anyhow::Result<()> {
    let DbAction::Copy { from, to } = action;
    let reports = dbcopy::copy(&from, &to).await?;
    println!("{:<20} {:>10} {:>10}  {:<16} {:<16}", "table", "source", "target", "source sha256", "target sha256");
    for r in &reports {
        println!(
            "{:<20} {:>10} {:>10}  {:<16} {:<16} {}",
            r.name,
            r.source_rows,
            r.target_rows,
            &r.source_sha256[..16],
            &r.target_sha256[..16],
            if r.matches() { "ok" } else { "DIFFERENT" }
        );
    }
    anyhow::ensure!(reports.iter().all(dbcopy::TableReport::matches), "the copy differs from the source");
    println!("Copied {} tables; every row count and checksum matches.", reports.len());
    Ok(())
}

pub async fn media(settings: &Settings, action: MediaAction) -> anyhow::Result<()> {
    let MediaAction::Copy { from, to } = action;
    let from = from.unwrap_or_else(|| settings.media_dir.display().to_string());
    let source = mediacopy::store_at(&from, &settings.storage)?;
    let target = mediacopy::store_at(&to, &settings.storage)?;
    let report = mediacopy::copy(source.as_ref(), target.as_ref()).await?;
    println!(
        "Copied {} files ({} bytes) from {from} to {to}; {} read back with the same SHA-256.",
        report.files, report.bytes, report.verified
    );
    Ok(())
}
