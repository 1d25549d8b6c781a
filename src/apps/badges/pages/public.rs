//! The public verification page of one award (anyone with its UUID address; no login), its
//! share links (the page itself, LinkedIn's add-to-profile URL) and the badge images.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::apps::accounts::Viewer;
use crate::apps::badges::model::{Award, AwardStatus, BadgeClass, is_id};
use crate::apps::badges::service;
use crate::kernel::AppState;
use crate::kernel::http::{AppError, PageContext, render};

#[derive(Template)]
#[template(path = "badges/award.html")]
struct AwardPage {
    page: PageContext,
    award: Award,
    badge: BadgeClass,
    status: AwardStatus,
    issuer: String,
    url: String,
    image: String,
    is_holder: bool,
    linkedin: String,
}

pub async fn award_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (award, badge) = service::public_award(&state, &id).await?;
    let base = state.settings.base_url();
    let issuer = service::issuer_name(&state);
    let url = format!("{base}/badges/awards/{}/", award.id);
    let page = AwardPage {
        status: award.status(state.clock.now()),
        is_holder: viewer.user.as_ref().is_some_and(|u| u.id == award.recipient_id),
        linkedin: linkedin_url(&award, &badge, &issuer, &url),
        image: badge.image_absolute(&base),
        page: viewer.page,
        award,
        badge,
        issuer,
        url,
    };
    render(&page)
}

/// LinkedIn's add-to-profile link for a certification: name, issuer, issue (and expiry) month,
/// `certUrl` = the verification page, `certId` = the award id.
pub fn linkedin_url(award: &Award, badge: &BadgeClass, issuer: &str, verify_url: &str) -> String {
    let month = |ts: i64| {
        time::OffsetDateTime::from_unix_timestamp(ts).map(|t| (t.year(), u8::from(t.month()))).unwrap_or((1970, 1))
    };
    let (year, mon) = month(award.issued_on);
    let mut params = vec![
        ("startTask", "CERTIFICATION_NAME".to_owned()),
        ("name", badge.name.clone()),
        ("organizationName", issuer.to_owned()),
        ("issueYear", year.to_string()),
        ("issueMonth", mon.to_string()),
        ("certUrl", verify_url.to_owned()),
        ("certId", award.id.clone()),
    ];
    if let Some(expires) = award.expires_at {
        let (year, mon) = month(expires);
        params.push(("expirationYear", year.to_string()));
        params.push(("expirationMonth", mon.to_string()));
    }
    format!("https://www.linkedin.com/profile/add?{}", serde_urlencoded::to_string(params).unwrap_or_default())
}

/// A badge class's uploaded image (`<id>.png`), served so it can never run as a document.
pub async fn badge_image(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, AppError> {
    let id = file.strip_suffix(".png").filter(|id| is_id(id)).ok_or(AppError::NotFound)?;
    let badge = service::get_class(&state, id).await?;
    let key = badge.image_key.ok_or(AppError::NotFound)?;
    let bytes = state.media.get(&key).await?.ok_or(AppError::NotFound)?;
    let mut response = ([(header::CONTENT_TYPE, "image/png")], bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    // A new upload replaces the file under the same address: revalidate within the hour.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linkedin_link_names_the_certification_and_points_at_the_verification_page() {
        let award = Award {
            id: "0b9a5b1e-4d4b-4a8e-9d2c-0a1b2c3d4e5f".into(),
            badge_id: String::new(),
            recipient_id: 1,
            recipient_email: String::new(),
            recipient_name: String::new(),
            salt: String::new(),
            issued_on: 1_780_000_000,
            expires_at: Some(1_811_536_000),
            evidence_url: String::new(),
            evidence_text: String::new(),
            issued_by_name: String::new(),
            revoked_at: None,
            revocation_reason: String::new(),
            status_index: 0,
        };
        let badge = BadgeClass {
            id: String::new(),
            slug: "py".into(),
            name: "Python 🐍 & Rust".into(),
            description: String::new(),
            criteria: String::new(),
            image_key: None,
            image_url: None,
            valid_days: None,
            course_id: None,
        };
        let url = linkedin_url(&award, &badge, "Acme ☕", "https://app.example.com/badges/awards/x/");
        assert!(url.starts_with(
            "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=Python+%F0%9F%90%8D+%26+Rust"
        ));
        assert!(url.contains("organizationName=Acme+%E2%98%95&issueYear=2026&issueMonth=5"));
        assert!(url.contains(
            "certUrl=https%3A%2F%2Fapp.example.com%2Fbadges%2Fawards%2Fx%2F&certId=0b9a5b1e-4d4b-4a8e-9d2c-0a1b2c3d4e5f"
        ));
        assert!(url.contains("expirationYear=2027"));
    }
}
