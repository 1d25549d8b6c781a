//! The console's badge pages (staff only: the console's guard plus `StaffUser` on each handler):
//! the list, the design form (errors at the top and beside each field), one badge with its
//! awards, awarding one or many people with a preview and a report, and revocation.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::error_list;
use crate::apps::accounts::{StaffUser, Viewer};
use crate::apps::badges::forms::{AwardForm, RevokeForm, class_input};
use crate::apps::badges::model::{Award, BadgeClass, BadgeClassInput};
use crate::apps::badges::service::{self, AwardReport, BadgesError, RecipientCheck};
use crate::apps::badges::store;
use crate::kernel::AppState;
use crate::kernel::http::multipart::CsrfMultipart;
use crate::kernel::http::render::{flash, invalid};
use crate::kernel::http::{AppError, ClientIp, CsrfForm, PageContext, render};
use crate::kernel::validation::FieldErrors;

const FORM_FIELDS: [(&str, &str); 8] = [
    ("name", "Name"),
    ("slug", "Slug"),
    ("description", "Description"),
    ("criteria", "Criteria"),
    ("image", "Image"),
    ("image_url", "Image address"),
    ("valid_days", "Valid for"),
    ("course_id", "Learning platform course"),
];

#[derive(Template)]
#[template(path = "badges/console_list.html")]
struct BadgesPage {
    page: PageContext,
    badges: Vec<BadgeClass>,
}

pub async fn badges_page(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
) -> Result<Response, AppError> {
    render(&BadgesPage { page: viewer.page, badges: service::list_classes(&state).await? })
}

#[derive(Template)]
#[template(path = "badges/console_form.html")]
struct BadgeFormPage {
    page: PageContext,
    /// None for a new badge.
    badge: Option<BadgeClass>,
    input: BadgeClassInput,
    errors: FieldErrors,
    error_list: Vec<String>,
}

fn form_page(
    page: PageContext,
    badge: Option<BadgeClass>,
    input: BadgeClassInput,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let failed = !errors.is_empty();
    let error_list = error_list(&errors, &FORM_FIELDS);
    let response =
        render(&BadgeFormPage { page, badge, input: BadgeClassInput { image: None, ..input }, errors, error_list });
    if failed { invalid(response) } else { response }
}

pub async fn new_badge_form(_staff: StaffUser, viewer: Viewer) -> Result<Response, AppError> {
    form_page(viewer.page, None, BadgeClassInput::default(), FieldErrors::new())
}

pub async fn new_badge(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    viewer: Viewer,
    CsrfMultipart(form): CsrfMultipart,
) -> Result<Response, AppError> {
    let input = class_input(form);
    match service::create_class(&state, &staff, ip, input.clone()).await {
        Ok(badge) => {
            flash(&session, "success", format!("Created the badge {}.", badge.name)).await?;
            Ok(Redirect::to(&format!("/admin/badges/{}/", badge.id)).into_response())
        }
        Err(BadgesError::Invalid(errors)) => form_page(viewer.page, None, input, errors),
        Err(other) => Err(other.into()),
    }
}

pub async fn edit_badge_form(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let badge = service::get_class(&state, &id).await?;
    let input = BadgeClassInput {
        name: badge.name.clone(),
        slug: badge.slug.clone(),
        description: badge.description.clone(),
        criteria: badge.criteria.clone(),
        image_url: badge.image_url.clone().unwrap_or_default(),
        valid_days: badge.valid_days.map(|d| d.to_string()).unwrap_or_default(),
        course_id: badge.course_id.clone().unwrap_or_default(),
        image: None,
    };
    form_page(viewer.page, Some(badge), input, FieldErrors::new())
}

pub async fn edit_badge(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    viewer: Viewer,
    Path(id): Path<String>,
    CsrfMultipart(form): CsrfMultipart,
) -> Result<Response, AppError> {
    let input = class_input(form);
    match service::update_class(&state, &staff, ip, &id, input.clone()).await {
        Ok(badge) => {
            flash(&session, "success", format!("Saved the badge {}.", badge.name)).await?;
            Ok(Redirect::to(&format!("/admin/badges/{}/", badge.id)).into_response())
        }
        Err(BadgesError::Invalid(errors)) => {
            let badge = service::get_class(&state, &id).await?;
            form_page(viewer.page, Some(badge), input, errors)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "badges/console_badge.html")]
struct BadgePage {
    page: PageContext,
    badge: BadgeClass,
    awards: Vec<(Award, &'static str)>,
    form: AwardForm,
    errors: FieldErrors,
    preview: Vec<RecipientCheck>,
    report: Option<AwardReport>,
}

async fn badge_page_for(
    state: &AppState,
    page: PageContext,
    id: &str,
    form: AwardForm,
    outcome: (FieldErrors, Vec<RecipientCheck>, Option<AwardReport>),
) -> Result<Response, AppError> {
    let badge = service::get_class(state, id).await?;
    let now = state.clock.now();
    let awards = store::awards_of_badge(&state.db.pool, &badge.id).await?;
    let awards = awards.into_iter().map(|a| {
        let status = a.status(now).as_str();
        (a, status)
    });
    let (errors, preview, report) = outcome;
    let failed = !errors.is_empty();
    let response = render(&BadgePage { page, badge, awards: awards.collect(), form, errors, preview, report });
    if failed { invalid(response) } else { response }
}

pub async fn badge_page(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    badge_page_for(&state, viewer.page, &id, AwardForm::default(), (FieldErrors::new(), vec![], None)).await
}

/// `action=preview` shows what each line of the list would do; `action=award` does it and
/// reports the lines that failed.
pub async fn award(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<AwardForm>,
) -> Result<Response, AppError> {
    if form.action == "preview" {
        let badge = service::get_class(&state, &id).await?;
        let preview = service::check_recipients(&state, &badge, &form.recipients).await?;
        return badge_page_for(&state, viewer.page, &id, form, (FieldErrors::new(), preview, None)).await;
    }
    match service::award_badge(&state, &staff, ip, &id, &form.input()).await {
        Ok(report) => {
            let form = AwardForm::default();
            badge_page_for(&state, viewer.page, &id, form, (FieldErrors::new(), vec![], Some(report))).await
        }
        Err(BadgesError::Invalid(errors)) => {
            badge_page_for(&state, viewer.page, &id, form, (errors, vec![], None)).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> Result<Response, AppError> {
    match service::revoke_award(&state, &staff, ip, &id, &form.reason).await {
        Ok(award) => {
            flash(&session, "success", format!("Revoked the award to {}.", award.recipient_name)).await?;
            Ok(Redirect::to(&format!("/admin/badges/{}/", award.badge_id)).into_response())
        }
        Err(BadgesError::Invalid(errors)) => {
            flash(&session, "error", errors.summary()).await?;
            let award = store::find_award(&state.db.pool, &id).await?.ok_or(AppError::NotFound)?;
            Ok(Redirect::to(&format!("/admin/badges/{}/", award.badge_id)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
