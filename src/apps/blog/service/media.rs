//! Image files of posts. A file is listed in `orphan_media` before it is written and taken off
//! the list in the transaction that stores its post, so a crash or a failed insert never leaves
//! a file nobody will delete; the hourly sweep removes whatever is still listed.

use rand::RngCore;

use super::Result;
use crate::apps::blog::store;
use crate::kernel::AppState;
use crate::kernel::security::token::hex;

/// Listed files younger than this may still belong to an upload in progress.
const SWEEP_GRACE_SECS: i64 = 3600;

pub struct StoredImage {
    pub image_key: String,
    pub thumb_key: String,
    pub bytes: i64,
}

impl StoredImage {
    pub fn keys(&self) -> [&str; 2] {
        [&self.image_key, &self.thumb_key]
    }
}

/// Re-encodes the upload (off the async threads, within the image memory budget) and writes it
/// and its thumbnail.
pub async fn store_image(state: &AppState, bytes: Vec<u8>) -> Result<StoredImage> {
    let processed = state.images.process(bytes).await?;
    let mut name = [0u8; 16];
    rand::rng().fill_bytes(&mut name);
    let name = hex(&name);
    let stored = StoredImage {
        image_key: format!("posts/{name}.{}", processed.extension),
        thumb_key: format!("posts/{name}-thumb.jpg"),
        bytes: i64::try_from(processed.image.len() + processed.thumbnail.len()).unwrap_or(i64::MAX),
    };
    let mut tx = state.db.begin_write().await?;
    store::insert_orphans(&mut tx, &stored.keys(), state.clock.now()).await?;
    tx.commit().await?;
    state.media.put(&stored.image_key, processed.image).await?;
    state.media.put(&stored.thumb_key, processed.thumbnail).await?;
    Ok(stored)
}

/// Deletes files now, best effort; what fails stays listed for the sweep.
pub async fn discard_files(state: &AppState, keys: &[&str]) {
    for key in keys {
        match state.media.delete(key).await {
            Ok(()) => {
                let _ = store::forget_orphan(&state.db.pool, key).await;
            }
            Err(err) => tracing::warn!(error = %err, "could not delete a media file; the sweep will retry"),
        }
    }
}

/// The hourly job: deletes listed files older than the grace period.
pub async fn sweep_media(state: &AppState) -> anyhow::Result<usize> {
    let keys = store::list_orphans(&state.db.pool, state.clock.now() - SWEEP_GRACE_SECS).await?;
    for key in &keys {
        state.media.delete(key).await?;
        store::forget_orphan(&state.db.pool, key).await?;
    }
    Ok(keys.len())
}
