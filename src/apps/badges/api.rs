//! The badges REST API, in the OpenAPI document: my awards, one badge class, and the
//! verification of one award (public, like its page).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Award, BadgeClass};
use super::service;
use crate::apps::accounts::CurrentUser;
use crate::kernel::AppState;
use crate::kernel::http::{AppError, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_my_awards)).routes(routes!(get_badge_class)).routes(routes!(verify_award))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BadgeClassResponse {
    id: String,
    slug: String,
    name: String,
    description: String,
    criteria: String,
    /// Absolute URL of the badge image.
    image: String,
    /// Days an award stays valid; null: no expiry.
    valid_days: Option<i64>,
}

impl BadgeClassResponse {
    fn new(badge: BadgeClass, base: &str) -> Self {
        Self {
            image: badge.image_absolute(base),
            id: badge.id,
            slug: badge.slug,
            name: badge.name,
            description: badge.description,
            criteria: badge.criteria,
            valid_days: badge.valid_days,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AwardResponse {
    id: String,
    badge: BadgeClassResponse,
    recipient_name: String,
    issued_on: i64,
    expires_at: Option<i64>,
    /// `valid`, `expired` or `revoked`.
    status: String,
    revocation_reason: Option<String>,
    /// The public verification page.
    verify_url: String,
    evidence_url: Option<String>,
    evidence_text: Option<String>,
}

fn award_response(state: &AppState, award: Award, badge: BadgeClass) -> AwardResponse {
    let base = state.settings.base_url();
    let status = award.status(state.clock.now());
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    AwardResponse {
        verify_url: format!("{base}/badges/awards/{}/", award.id),
        badge: BadgeClassResponse::new(badge, &base),
        status: status.as_str().to_owned(),
        revocation_reason: award.revoked_at.map(|_| award.revocation_reason.clone()),
        id: award.id,
        recipient_name: award.recipient_name,
        issued_on: award.issued_on,
        expires_at: award.expires_at,
        evidence_url: non_empty(award.evidence_url),
        evidence_text: non_empty(award.evidence_text),
    }
}

/// The signed-in person's awards, newest first.
#[utoipa::path(get, path = "/api/badges/awards/", tag = "badges",
    responses((status = 200, body = Vec<AwardResponse>), (status = 401, body = ErrorBody)))]
async fn list_my_awards(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<AwardResponse>>, AppError> {
    let awards = service::my_awards(&state, &user).await?;
    Ok(Json(awards.into_iter().map(|(a, b)| award_response(&state, a, b)).collect()))
}

/// One badge class, by id or slug.
#[utoipa::path(get, path = "/api/badges/classes/{id}/", tag = "badges", params(("id" = String, Path, description = "UUID or slug")),
    responses((status = 200, body = BadgeClassResponse), (status = 404, body = ErrorBody)))]
async fn get_badge_class(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BadgeClassResponse>, AppError> {
    let badge = service::get_class(&state, &id).await?;
    Ok(Json(BadgeClassResponse::new(badge, &state.settings.base_url())))
}

/// Whether an award holds (anyone with its id may ask, as on its public page).
#[utoipa::path(get, path = "/api/badges/awards/{id}/verify/", tag = "badges", params(("id" = String, Path, description = "award UUID")),
    responses((status = 200, body = AwardResponse), (status = 404, body = ErrorBody)))]
async fn verify_award(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<AwardResponse>, AppError> {
    let (award, badge) = service::public_award(&state, &id).await?;
    Ok(Json(award_response(&state, award, badge)))
}
