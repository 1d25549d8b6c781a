//! The development mail viewer (like MailHog): lists what the local outbox "sent", so a
//! developer can click emailed links offline. Mounted at `/dev/outbox/` only outside production
//! and only while no `SMTP_URL` is set (`Settings::outbox_enabled`). The console shows the same
//! pages to staff at `/admin/outbox/` where `MAIL_OUTBOX` holds mail (a staging copy), through
//! `outbox`, `message` and `message_html`; the templates' links are relative, so they work under both.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::accounts::Viewer;
use crate::kernel::AppState;
use crate::kernel::clock::format_timestamp;
use crate::kernel::email::outbox::{self, StoredMessage};
use crate::kernel::http::{AppError, PageContext, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dev/outbox/", get(outbox_page))
        .route("/dev/outbox/{id}/", get(message_page))
        .route("/dev/outbox/{id}/html", get(message_html_page))
}

#[derive(Template)]
#[template(path = "devmail/outbox.html")]
struct OutboxPage {
    page: PageContext,
    messages: Vec<(StoredMessage, String)>,
}

async fn outbox_page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    outbox(&state, viewer.page).await
}

async fn message_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    message(&state, viewer.page, id).await
}

async fn message_html_page(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, AppError> {
    message_html(&state, id).await
}

/// The list of held messages, newest first.
pub async fn outbox(state: &AppState, page: PageContext) -> Result<Response, AppError> {
    let messages = outbox::list_messages(&state.db, 100).await?;
    let messages = messages
        .into_iter()
        .map(|m| {
            let at = format_timestamp(m.created_at);
            (m, at)
        })
        .collect();
    render(&OutboxPage { page, messages })
}

#[derive(Template)]
#[template(path = "devmail/message.html")]
struct MessagePage {
    page: PageContext,
    message: StoredMessage,
    sent_at: String,
}

/// One message: its text, and its HTML in a sandboxed frame.
pub async fn message(state: &AppState, page: PageContext, id: i64) -> Result<Response, AppError> {
    let message = outbox::find_message(&state.db, id).await?.ok_or(AppError::NotFound)?;
    let sent_at = format_timestamp(message.created_at);
    let mut response = render(&MessagePage { page, message, sent_at })?;
    // The message holds live links with tokens.
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}

/// The HTML body, shown in a sandboxed frame on the message page.
pub async fn message_html(state: &AppState, id: i64) -> Result<Response, AppError> {
    let message = outbox::find_message(&state.db, id).await?.ok_or(AppError::NotFound)?;
    let mut response = Html(message.html_body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}
