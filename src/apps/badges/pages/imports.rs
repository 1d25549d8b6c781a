//! Importing a badge earned elsewhere (a baked image, a JSON file or an address), and each
//! import's page with its verification report. Holders only; someone else's import is a 404.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::apps::accounts::{CurrentUser, Viewer};
use crate::apps::badges::forms::ButtonForm;
use crate::apps::badges::model::Imported;
use crate::apps::badges::service::BadgesError;
use crate::apps::badges::service::imports;
use crate::apps::badges::service::verify::{Check, Report};
use crate::kernel::AppState;
use crate::kernel::http::multipart::CsrfMultipart;
use crate::kernel::http::render::{flash, invalid};
use crate::kernel::http::{AppError, CsrfForm, PageContext, render};

#[derive(Template)]
#[template(path = "badges/import.html")]
struct ImportPage {
    page: PageContext,
    url: String,
    error: Option<String>,
    report: Option<Report>,
}

pub async fn import_form(_user: CurrentUser, viewer: Viewer) -> Result<Response, AppError> {
    render(&ImportPage { page: viewer.page, url: String::new(), error: None, report: None })
}

pub async fn import(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    viewer: Viewer,
    CsrfMultipart(form): CsrfMultipart,
) -> Result<Response, AppError> {
    let url = form.text("url").unwrap_or("").to_owned();
    let (error, report) = match imports::import_badge(&state, &user, form.file, &url).await {
        Ok(imported) => {
            flash(&session, "success", format!("Imported {}.", imported.badge_name)).await?;
            return Ok(Redirect::to(&format!("/badges/imported/{}/", imported.id)).into_response());
        }
        Err(BadgesError::Refused(report)) => ("This badge did not pass verification.".to_owned(), Some(*report)),
        Err(BadgesError::Invalid(errors)) => (errors.summary(), None),
        Err(other) => return Err(other.into()),
    };
    invalid(render(&ImportPage { page: viewer.page, url, error: Some(error), report }))
}

#[derive(Template)]
#[template(path = "badges/imported.html")]
struct ImportedPage {
    page: PageContext,
    imported: Imported,
    checks: Vec<Check>,
}

pub async fn imported_page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let imported = imports::my_import(&state, &user, &id).await?;
    let checks = serde_json::from_str(&imported.report).unwrap_or_default();
    render(&ImportedPage { page: viewer.page, imported, checks })
}

pub async fn reverify(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let imported = imports::reverify_mine(&state, &user, &id).await?;
    flash(&session, "info", format!("Verified again: {}.", imported.status)).await?;
    Ok(Redirect::to(&format!("/badges/imported/{id}/")).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    imports::delete_import(&state, &user, &id).await?;
    flash(&session, "success", "Removed the imported badge.").await?;
    Ok(Redirect::to("/badges/").into_response())
}
