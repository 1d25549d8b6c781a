//! The mail a staging copy held instead of sending (`MAIL_OUTBOX`), for its staff: the
//! development viewer's pages, behind the console's guard and on its host. Mounted only where
//! mail is held; elsewhere `/admin/outbox/` does not exist.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use crate::apps::accounts::{StaffUser, Viewer};
use crate::apps::devmail;
use crate::kernel::AppState;
use crate::kernel::http::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox/", get(outbox_page))
        .route("/admin/outbox/{id}/", get(message_page))
        .route("/admin/outbox/{id}/html", get(message_html))
}

async fn outbox_page(State(state): State<AppState>, _staff: StaffUser, viewer: Viewer) -> Result<Response, AppError> {
    devmail::outbox(&state, viewer.page).await
}

async fn message_page(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    devmail::message(&state, viewer.page, id).await
}

async fn message_html(
    State(state): State<AppState>,
    _staff: StaffUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    devmail::message_html(&state, id).await
}
