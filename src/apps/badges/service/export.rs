//! Open Badges export: the issuer, and each award's hosted 2.0 documents, revocation list and
//! baked images. Documents are built from the current rows, so a revocation shows at once.

use std::io::Cursor;

use serde_json::Value;

use super::{BadgesError, Result, get_class, public_award};
use crate::apps::badges::model::{Award, BadgeClass};
use crate::apps::badges::openbadges::bake::{self, Version};
use crate::apps::badges::openbadges::ob3::{self, IssuerKey};
use crate::apps::badges::openbadges::{Issuer, ob2};
use crate::apps::badges::store;
use crate::kernel::AppState;

pub fn issuer(state: &AppState) -> Issuer {
    Issuer {
        base_url: state.settings.base_url(),
        name: state.settings.badge_issuer_name.clone(),
        email: state.settings.badge_issuer_email.clone(),
    }
}

/// The hosted 2.0 assertion, and whether it is revoked (then it is answered with 410).
pub async fn hosted_assertion(state: &AppState, id: &str) -> Result<(Value, bool)> {
    let (award, badge) = public_award(state, id).await?;
    Ok((ob2::assertion(&issuer(state), &award, &badge), award.revoked_at.is_some()))
}

pub async fn hosted_class(state: &AppState, id: &str) -> Result<Value> {
    let badge = get_class(state, id).await?;
    Ok(ob2::badge_class(&issuer(state), &badge))
}

pub async fn revocation_list(state: &AppState) -> Result<Value> {
    let revoked = store::revoked_awards(&state.db.pool).await?;
    let revoked: Vec<(String, String)> = revoked.into_iter().map(|(id, _, reason)| (id, reason)).collect();
    Ok(ob2::revocation_list(&issuer(state), &revoked))
}

/// The badge's image as PNG bytes: the stored upload, or a plain square for a badge whose
/// image is only an outside address (fetching it would make the server a proxy).
pub async fn badge_image_png(state: &AppState, badge: &BadgeClass) -> Result<Vec<u8>> {
    if let Some(key) = &badge.image_key
        && let Some(bytes) = state.media.get(key).await?
    {
        return Ok(bytes);
    }
    let square = image::RgbaImage::from_pixel(256, 256, image::Rgba([52, 101, 164, 255]));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgba8(square)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| BadgesError::Internal(e.into()))?;
    Ok(png)
}

/// An award that may be baked: not revoked (a revoked badge is not handed out again).
async fn bakeable(state: &AppState, id: &str) -> Result<(Award, BadgeClass)> {
    let (award, badge) = public_award(state, id).await?;
    if award.revoked_at.is_some() {
        return Err(BadgesError::NotFound);
    }
    Ok((award, badge))
}

/// The 2.0 assertion baked into the badge's PNG (`svg`: into an SVG).
pub async fn baked_ob2(state: &AppState, id: &str, svg: bool) -> Result<Vec<u8>> {
    let (award, badge) = bakeable(state, id).await?;
    let issuer = issuer(state);
    let doc = ob2::assertion(&issuer, &award, &badge).to_string();
    let png = badge_image_png(state, &badge).await?;
    if svg {
        return Ok(bake::bake_svg(&png, Version::V2, &doc, &issuer.assertion_url(&award)).into_bytes());
    }
    bake::bake_png(&png, Version::V2, &doc).map_err(|e| BadgesError::Internal(anyhow::anyhow!("baking: {e}")))
}

/// The Open Badges 3.0 signing key (derived from SECRET_KEY; never stored).
pub fn issuer_key(state: &AppState) -> IssuerKey {
    IssuerKey::derive(state.settings.secret_key.expose())
}

/// The award's OpenBadgeCredential as a VC-JWT.
pub async fn credential_jwt(state: &AppState, id: &str) -> Result<String> {
    let (award, badge) = public_award(state, id).await?;
    Ok(ob3::credential_jwt(&issuer_key(state), &issuer(state), &award, &badge))
}

/// The signed revocation status list.
pub async fn status_list(state: &AppState) -> Result<String> {
    let revoked: Vec<i64> =
        store::revoked_awards(&state.db.pool).await?.into_iter().map(|(_, index, _)| index).collect();
    ob3::status_list_jwt(&issuer_key(state), &issuer(state), &revoked, state.clock.now())
        .map_err(|e| BadgesError::Internal(e.into()))
}

/// The 3.0 credential baked into the badge's PNG (`svg`: into an SVG).
pub async fn baked_ob3(state: &AppState, id: &str, svg: bool) -> Result<Vec<u8>> {
    let (award, badge) = bakeable(state, id).await?;
    let jwt = ob3::credential_jwt(&issuer_key(state), &issuer(state), &award, &badge);
    let png = badge_image_png(state, &badge).await?;
    if svg {
        return Ok(bake::bake_svg(&png, Version::V3, "", &jwt).into_bytes());
    }
    bake::bake_png(&png, Version::V3, &jwt).map_err(|e| BadgesError::Internal(anyhow::anyhow!("baking: {e}")))
}
