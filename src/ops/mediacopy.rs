//! `shoestring media copy --from DIR|s3://… --to DIR|s3://…`: copies every media file to another
//! store (usually the local folder to object storage before switching MEDIA_STORE), then reads
//! each one back from the target and compares SHA-256. Files already there are overwritten with
//! the same bytes: keys are random and files never change, so a re-run is safe.

use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::kernel::config::StorageSettings;
use crate::kernel::media::{LocalStorage, MediaStore, S3Storage};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct MediaCopyReport {
    pub files: usize,
    pub bytes: u64,
    pub verified: usize,
}

/// A store named on the command line: a folder or an s3:// URL.
pub fn store_at(spec: &str, settings: &StorageSettings) -> anyhow::Result<Arc<dyn MediaStore>> {
    if spec.starts_with("s3://") {
        // A copy is not on a request path: give each file the patience of a backup.
        let mut patient = settings.clone();
        patient.media_timeout_secs = patient.media_timeout_secs.max(60);
        Ok(Arc::new(S3Storage::new(&patient, spec)?))
    } else {
        anyhow::ensure!(!spec.contains("://"), "a media store is a folder or an s3://bucket/prefix URL");
        Ok(Arc::new(LocalStorage::new(spec.into())))
    }
}

pub async fn copy(from: &dyn MediaStore, to: &dyn MediaStore) -> anyhow::Result<MediaCopyReport> {
    let mut keys = Vec::new();
    let mut listing = from.list();
    while let Some(key) = listing.next().await {
        keys.push(key.context("listing the source failed")?);
    }
    drop(listing);
    let mut report = MediaCopyReport::default();
    for key in &keys {
        let Some(bytes) = from.get(key).await? else { continue };
        let digest = Sha256::digest(&bytes);
        report.bytes += bytes.len() as u64;
        to.put(key, bytes).await.with_context(|| format!("writing {key} failed"))?;
        report.files += 1;
        let back = to.get(key).await?.with_context(|| format!("{key} is missing after the copy"))?;
        anyhow::ensure!(Sha256::digest(&back) == digest, "{key} reads back different bytes");
        report.verified += 1;
    }
    Ok(report)
}
