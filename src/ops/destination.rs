//! Where archives are kept: a local folder, or an S3-compatible bucket. Either way an archive
//! appears under its final name only when complete — a local file is written as
//! `.name.partial`, synced and renamed; an object is a multipart upload that exists only once
//! completed (and is aborted on failure).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use object_store::aws::AmazonS3;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::fsutil;
use super::retention::created_at_of;
use crate::kernel::config::StorageSettings;
use crate::kernel::media::s3::{S3Location, S3Tuning, build_client};

/// Parts of 16 MiB, two in flight: about 48 MiB of memory whatever the archive's size.
const PART_SIZE: usize = 16 << 20;
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Clone, Debug)]
pub enum Destination {
    Local(PathBuf),
    S3 { store: Arc<AmazonS3>, location: S3Location },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveInfo {
    pub name: String,
    pub size: u64,
    pub created_at: i64,
}

impl Destination {
    /// A folder path, or `s3://bucket/prefix` with the S3 settings.
    pub fn parse(spec: &str, settings: &StorageSettings) -> anyhow::Result<Self> {
        if spec.starts_with("s3://") {
            let location = S3Location::parse(spec)?;
            // Backups move large parts: patient per request, a few retries, bounded overall.
            let tuning = S3Tuning {
                request_timeout: Duration::from_secs(120),
                max_retries: 3,
                retry_timeout: Duration::from_secs(300),
            };
            let store = Arc::new(build_client(settings, &location, tuning)?);
            Ok(Destination::S3 { store, location })
        } else {
            anyhow::ensure!(!spec.contains("://"), "a backup destination is a folder or an s3://bucket/prefix URL");
            Ok(Destination::Local(PathBuf::from(spec)))
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Destination::Local(dir) => dir.display().to_string(),
            Destination::S3 { location, .. } => format!("s3://{}/{}", location.bucket, location.prefix),
        }
    }

    /// Every archive here, oldest first (other files are ignored).
    pub async fn list(&self) -> anyhow::Result<Vec<ArchiveInfo>> {
        let mut archives = Vec::new();
        match self {
            Destination::Local(dir) => {
                let mut entries = match tokio::fs::read_dir(dir).await {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(archives),
                    Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
                };
                while let Some(entry) = entries.next_entry().await? {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if let Some(created_at) = created_at_of(&name) {
                        archives.push(ArchiveInfo { name, size: entry.metadata().await?.len(), created_at });
                    }
                }
            }
            Destination::S3 { store, location } => {
                let mut listing = store.list(location.prefix_path().as_ref());
                while let Some(meta) = listing.next().await {
                    let meta = meta.context("listing the backup bucket failed")?;
                    let name = meta.location.filename().unwrap_or_default().to_owned();
                    if let Some(created_at) = created_at_of(&name) {
                        archives.push(ArchiveInfo { name, size: meta.size, created_at });
                    }
                }
            }
        }
        archives.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.name.cmp(&b.name)));
        Ok(archives)
    }

    /// Uploads the finished archive `file` as `name` (S3 only: local archives are written in
    /// place by the backup and renamed).
    pub async fn upload(&self, file: &Path, name: &str) -> anyhow::Result<()> {
        let Destination::S3 { store, location } = self else {
            anyhow::bail!("upload is for object storage");
        };
        let upload = store.put_multipart(&location.path(name)).await.context("starting the upload failed")?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let sent = async {
            let mut source = tokio::fs::File::open(file).await?;
            let mut buf = vec![0u8; 4 << 20];
            loop {
                let n = source.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                writer.write(&buf[..n]);
            }
            anyhow::Ok(())
        }
        .await;
        match sent {
            Ok(()) => {
                writer.finish().await.context("completing the upload failed")?;
                Ok(())
            }
            Err(err) => {
                // Best effort: a server that is down cannot be told; an unfinished upload
                // never shows up as an object (a bucket lifecycle rule clears its parts).
                let _ = tokio::time::timeout(Duration::from_secs(10), writer.abort()).await;
                Err(err.context("uploading the archive failed"))
            }
        }
    }

    /// Downloads (or, for a folder, names) the archive `name`; a download goes to `into`.
    pub async fn fetch(&self, name: &str, into: &Path) -> anyhow::Result<PathBuf> {
        match self {
            Destination::Local(dir) => {
                let path = dir.join(name);
                anyhow::ensure!(path.is_file(), "no archive {} in {}", name, dir.display());
                Ok(path)
            }
            Destination::S3 { store, location } => {
                let result = store.get(&location.path(name)).await.with_context(|| format!("cannot fetch {name}"))?;
                let mut stream = result.into_stream();
                let mut out = tokio::fs::File::from_std(fsutil::create_private_file(into)?);
                while let Some(chunk) = stream.next().await {
                    out.write_all(&chunk.with_context(|| format!("downloading {name} failed"))?).await?;
                }
                out.sync_all().await?;
                Ok(into.to_path_buf())
            }
        }
    }

    pub async fn delete(&self, name: &str) -> anyhow::Result<()> {
        match self {
            Destination::Local(dir) => tokio::fs::remove_file(dir.join(name)).await?,
            Destination::S3 { store, location } => store.delete(&location.path(name)).await?,
        }
        Ok(())
    }
}
