//! Badge classes: staff design them; every image is checked and re-encoded as the blog's are,
//! then kept as a PNG of at most 512 pixels a side (the format baked badges need).

use std::io::Cursor;

use super::{BadgesError, Result};
use crate::apps::accounts::User;
use crate::apps::badges::model::{BadgeClass, BadgeClassInput, is_id, new_id};
use crate::apps::badges::store::{self, SLUG_KEY};
use crate::kernel::AppState;
use crate::kernel::audit::{self, Actor, Event};
use crate::kernel::db::{UniqueField, unique_field_error};
use crate::kernel::media::ImageError;

const IMAGE_SIDE: u32 = 512;
const SLUG_TAKEN: UniqueField =
    UniqueField { constraint: SLUG_KEY, field: "slug", message: "Another badge already has this slug." };

pub async fn list_classes(state: &AppState) -> Result<Vec<BadgeClass>> {
    Ok(store::list_classes(&state.db.pool).await?)
}

/// A badge class by id or slug.
pub async fn get_class(state: &AppState, id_or_slug: &str) -> Result<BadgeClass> {
    let found = if is_id(id_or_slug) {
        store::find_class(&state.db.pool, id_or_slug).await?
    } else {
        store::find_class_by_slug(&state.db.pool, id_or_slug).await?
    };
    found.ok_or(BadgesError::NotFound)
}

pub async fn create_class(
    state: &AppState,
    staff: &User,
    ip: std::net::IpAddr,
    input: BadgeClassInput,
) -> Result<BadgeClass> {
    if !staff.is_staff {
        return Err(BadgesError::Forbidden);
    }
    let valid = input.validate(false).map_err(BadgesError::Invalid)?;
    let id = new_id();
    let image_key = store_image(state, &id, input.image).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    store::insert_class(&mut tx, &id, &valid, image_key.as_deref(), staff.id, now).await.map_err(taken)?;
    let event = Event::new(Actor::user(staff.id, &staff.username, ip), "badge.created", "badge", None)
        .named(&format!("{} ({id})", valid.name));
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    store::find_class(&state.db.pool, &id).await?.ok_or(BadgesError::NotFound)
}

pub async fn update_class(
    state: &AppState,
    staff: &User,
    ip: std::net::IpAddr,
    id: &str,
    input: BadgeClassInput,
) -> Result<BadgeClass> {
    if !staff.is_staff {
        return Err(BadgesError::Forbidden);
    }
    let current = get_class(state, id).await?;
    let valid =
        input.validate(current.image_key.is_some() || current.image_url.is_some()).map_err(BadgesError::Invalid)?;
    let image_key = store_image(state, &current.id, input.image).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    store::update_class(&mut tx, &current.id, &valid, image_key.as_deref(), now).await.map_err(taken)?;
    let event = Event::new(Actor::user(staff.id, &staff.username, ip), "badge.updated", "badge", None)
        .named(&format!("{} ({})", valid.name, current.id));
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    store::find_class(&state.db.pool, &current.id).await?.ok_or(BadgesError::NotFound)
}

fn taken(err: sqlx::Error) -> BadgesError {
    match unique_field_error(err, &[SLUG_TAKEN]) {
        Ok(errors) => BadgesError::Invalid(errors),
        Err(err) => err.into(),
    }
}

/// Checks and re-encodes an upload (off the async threads) and stores it as the badge's PNG.
/// The key is the badge's id: a new upload replaces the old file.
async fn store_image(state: &AppState, id: &str, upload: Option<Vec<u8>>) -> Result<Option<String>> {
    let Some(bytes) = upload else { return Ok(None) };
    // The blog's checks and re-encoding, under the shared decoding memory budget.
    let processed = state.images.process(bytes).await?;
    let png = tokio::task::spawn_blocking(move || fit_png(&processed.image))
        .await
        .map_err(|e| BadgesError::Internal(e.into()))??;
    let key = format!("badges/{id}.png");
    state.media.put(&key, png).await?;
    Ok(Some(key))
}

/// An image already checked and re-encoded, as a PNG of at most 512 pixels a side.
fn fit_png(image: &[u8]) -> std::result::Result<Vec<u8>, ImageError> {
    let decoded = image::load_from_memory(image).map_err(|_| ImageError::Unreadable)?;
    let fitted = if decoded.width() > IMAGE_SIDE || decoded.height() > IMAGE_SIDE {
        decoded.thumbnail(IMAGE_SIDE, IMAGE_SIDE)
    } else {
        decoded
    };
    let mut png = Vec::new();
    fitted.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).map_err(|_| ImageError::Unreadable)?;
    Ok(png)
}
