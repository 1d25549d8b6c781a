//! `shoestring backup`: snapshot the database without stopping writers, add every media file,
//! and write one archive (compressed, encrypted when a key is set) with its manifest; store it
//! under its final name only once complete, then prune by the retention policy. A failure at
//! any step leaves no archive behind (nor a partial one), only an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;

use super::archive::keys::ArchiveKeys;
use super::archive::manifest::{DbKind, FORMAT_VERSION, MEDIA_PREFIX, Manifest};
use super::archive::write::ArchiveWriter;
use super::destination::Destination;
use super::fsutil::{self, ScratchDir};
use super::retention::{self, Retention};
use super::{on_low_priority_thread, snapshot};
use crate::kernel::AppState;
use crate::kernel::media::MediaStore;

#[derive(Debug)]
pub struct BackupOutcome {
    pub name: String,
    pub destination: String,
    pub bytes: u64,
    pub manifest: Manifest,
    pub duration: Duration,
    /// Media files listed but deleted before they could be copied (their posts went too).
    pub vanished: usize,
    pub pruned: Vec<String>,
}

/// The destination from `--to`, or else `BACKUP_TO`.
pub fn destination(state: &AppState, to: Option<&str>) -> anyhow::Result<Destination> {
    let spec = to
        .or(state.settings.storage.backup_to.as_deref())
        .context("no backup destination: pass --to PATH_OR_S3_URL or set BACKUP_TO")?;
    Destination::parse(spec, &state.settings.storage)
}

pub async fn backup(state: &AppState, destination: &Destination) -> anyhow::Result<BackupOutcome> {
    let started = Instant::now();
    let storage = &state.settings.storage;
    let keys = ArchiveKeys::from_settings(storage)?;
    if !keys.is_sealing() && matches!(destination, Destination::S3 { .. }) {
        tracing::warn!("backups leave this machine unencrypted: set BACKUP_RECIPIENT or BACKUP_PASSPHRASE");
    }
    let work = ScratchDir::new(&storage.backup_work_dir, "backup").context("cannot create the work folder")?;
    let snap =
        snapshot::take(&state.db, state.settings.database_url.expose(), storage.pg_bin_dir.as_deref(), work.path())
            .await
            .context("database snapshot failed")?;
    let manifest = header_of(&snap, state.clock.now());
    let media_keys = list_media(state.media.as_ref()).await?;
    let name = retention::archive_name(manifest.created_at, keys.is_sealing());
    let (archive_path, partial) = match destination {
        Destination::Local(dir) => {
            fsutil::create_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let partial = fsutil::partial_name(&dir.join(&name));
            (partial.clone(), Some(PartialGuard(partial)))
        }
        Destination::S3 { .. } => (work.path().join(&name), None),
    };
    let job = WriteJob {
        archive: archive_path.clone(),
        keys,
        manifest,
        database: snap.file.clone(),
        media: MediaSource::of(state),
        media_keys,
    };
    let (manifest, vanished) =
        on_low_priority_thread(move || job.write()).await?.context("writing the archive failed")?;
    let bytes = std::fs::metadata(&archive_path)?.len();
    match (destination, partial) {
        (Destination::Local(dir), Some(guard)) => {
            std::fs::rename(&guard.0, dir.join(&name))?;
            fsutil::sync_dir(dir)?;
            std::mem::forget(guard);
        }
        _ => destination.upload(&archive_path, &name).await?,
    }
    drop(work);
    let pruned = prune(destination, retention_of(state)).await;
    Ok(BackupOutcome {
        name,
        destination: destination.describe(),
        bytes,
        manifest,
        duration: started.elapsed(),
        vanished,
        pruned,
    })
}

/// The archive's header: everything but the file list, which is filled in as files are written.
fn header_of(snap: &snapshot::Snapshot, created_at: i64) -> Manifest {
    Manifest {
        format: FORMAT_VERSION,
        app_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version: snap.schema_version,
        database: snap.kind,
        created_at,
        created_at_utc: rfc3339(created_at),
        dump_tool: snap.dump_tool.clone(),
        tables: snap.tables.clone(),
        files: Vec::new(),
    }
}

pub fn retention_of(state: &AppState) -> Retention {
    let s = &state.settings.storage;
    Retention { daily: s.backup_keep_daily, weekly: s.backup_keep_weekly, monthly: s.backup_keep_monthly }
}

/// Deletes the archives the policy does not keep; failures are logged, never fatal.
pub async fn prune(destination: &Destination, policy: Retention) -> Vec<String> {
    let archives = match destination.list().await {
        Ok(archives) => archives,
        Err(err) => {
            tracing::warn!(error = %err, "could not list backups to prune");
            return Vec::new();
        }
    };
    let pairs: Vec<(String, i64)> = archives.iter().map(|a| (a.name.clone(), a.created_at)).collect();
    let kept = retention::keep(&pairs, policy);
    let mut pruned = Vec::new();
    for archive in archives.into_iter().filter(|a| !kept.contains(&a.name)) {
        match destination.delete(&archive.name).await {
            Ok(()) => pruned.push(archive.name),
            Err(err) => tracing::warn!(archive = %archive.name, error = %err, "could not prune a backup"),
        }
    }
    pruned
}

async fn list_media(media: &dyn MediaStore) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut listing = media.list();
    while let Some(key) = listing.next().await {
        keys.push(key.context("listing the media files failed")?);
    }
    keys.sort();
    Ok(keys)
}

/// A `.partial` archive removed unless the backup completes.
struct PartialGuard(PathBuf);

impl Drop for PartialGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Where media bytes are read from: straight from the folder (streamed), or from the store.
enum MediaSource {
    Folder(PathBuf),
    Store(Arc<dyn MediaStore>, tokio::runtime::Handle),
}

impl MediaSource {
    fn of(state: &AppState) -> Self {
        match &state.settings.storage.media_store {
            None => MediaSource::Folder(state.settings.media_dir.clone()),
            Some(_) => MediaSource::Store(state.media.clone(), tokio::runtime::Handle::current()),
        }
    }
}

struct WriteJob {
    archive: PathBuf,
    keys: ArchiveKeys,
    manifest: Manifest,
    database: PathBuf,
    media: MediaSource,
    media_keys: Vec<String>,
}

impl WriteJob {
    /// Blocking: the whole archive, streamed. Returns the manifest and the vanished count.
    fn write(self) -> anyhow::Result<(Manifest, usize)> {
        let file = fsutil::create_private_file(&self.archive)?;
        let mut writer = ArchiveWriter::create(file, &self.keys, &self.manifest)?;
        writer.add_file(self.manifest.database.entry_name(), &self.database)?;
        let mut vanished = 0;
        for key in &self.media_keys {
            let name = format!("{MEDIA_PREFIX}{key}");
            let added = match &self.media {
                MediaSource::Folder(root) => add_local(&mut writer, &name, &root.join(key))?,
                MediaSource::Store(store, handle) => match handle.block_on(store.get(key))? {
                    Some(bytes) => {
                        writer.add_reader(&name, bytes.len() as u64, bytes.as_slice())?;
                        true
                    }
                    None => false,
                },
            };
            vanished += usize::from(!added);
        }
        Ok((writer.finish(self.manifest)?, vanished))
    }
}

/// Adds a media file from disk; `false` when it was deleted since it was listed.
fn add_local(writer: &mut ArchiveWriter, name: &str, path: &Path) -> anyhow::Result<bool> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let size = file.metadata()?.len();
    writer.add_reader(name, size, file)?;
    Ok(true)
}

/// `DbKind` as people read it.
pub fn kind_label(kind: DbKind) -> &'static str {
    match kind {
        DbKind::Sqlite => "SQLite",
        DbKind::Postgres => "PostgreSQL",
    }
}

pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}
