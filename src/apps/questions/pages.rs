//! The public side: a question's page (`/q/<slug>/`, big and readable on a phone, with Open
//! Graph tags), its JSON twin (`/q/<slug>.json`) and, by setting, the site's home page. Both
//! are served from the stored answer (one indexed read and the 30-day history).

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Serialize;

use super::service::{self, DayView, QuestionError, QuestionView, Status};
use crate::kernel::AppState;
use crate::kernel::http::{AppError, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/q/{slug}/", get(question_page)).route("/q/{file}", get(question_file))
}

pub fn home_router(slug: &str) -> Router<AppState> {
    let slug = slug.to_owned();
    Router::new().route(
        "/",
        get(move |state: State<AppState>| {
            let slug = slug.clone();
            async move { page(&state, &slug).await }
        }),
    )
}

#[derive(Template)]
#[template(path = "questions/page.html")]
struct QuestionPage {
    view: QuestionView,
    /// The page's absolute address, for Open Graph.
    url: String,
    /// One line for link previews: the answer and its time, or why it is unknown.
    summary: String,
}

async fn question_page(State(state): State<AppState>, Path(slug): Path<String>) -> Result<Response, AppError> {
    page(&state, &slug).await
}

async fn page(state: &AppState, slug: &str) -> Result<Response, AppError> {
    let view = service::question_view(state, slug).await?;
    let summary = match &view.status {
        Status::Answered { text, as_of_text, .. } => format!("{text} (as of {as_of_text})"),
        Status::Unknown { reason } => format!("{} {reason}", view.unknown_text),
    };
    let url = format!("{}/q/{}/", state.settings.base_url(), view.slug);
    render(&QuestionPage { view, url, summary })
}

/// `/q/<slug>.json`, or a slug typed without its trailing slash.
async fn question_file(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, AppError> {
    let Some(slug) = file.strip_suffix(".json") else {
        return Ok(Redirect::permanent(&format!("/q/{file}/")).into_response());
    };
    match service::question_view(&state, slug).await {
        Ok(view) => Ok(Json(QuestionJson::from(view)).into_response()),
        Err(QuestionError::NotFound) => {
            let body = Json(serde_json::json!({"details": "There is no such question."}));
            Ok((StatusCode::NOT_FOUND, body).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// The JSON twin of a question's page.
#[derive(Serialize)]
struct QuestionJson {
    slug: String,
    question: String,
    /// `yes`, `no`, `number` or `unknown`.
    answer: &'static str,
    /// The text the page shows (the question's yes/no/unknown text, or the number).
    text: String,
    number: Option<String>,
    /// When the answer was read (RFC 3339), if there is one.
    as_of: Option<String>,
    /// Why the answer is unknown.
    reason: Option<&'static str>,
    today: String,
    time_zone: String,
    history: Vec<DayJson>,
}

#[derive(Serialize)]
struct DayJson {
    day: String,
    answer: &'static str,
    text: String,
}

impl From<QuestionView> for QuestionJson {
    fn from(view: QuestionView) -> Self {
        let (text, as_of, reason) = match &view.status {
            Status::Answered { text, as_of, .. } => {
                let at = jiff::Timestamp::from_second(*as_of).map(|t| t.to_string()).ok();
                (text.clone(), at, None)
            }
            Status::Unknown { reason } => (view.unknown_text.clone(), None, Some(*reason)),
        };
        let history =
            view.history.into_iter().map(|DayView { day, kind, text }| DayJson { day, answer: kind, text }).collect();
        Self {
            answer: view.status.kind(),
            number: view.status.number(),
            slug: view.slug,
            question: view.title,
            text,
            as_of,
            reason,
            today: view.today,
            time_zone: view.time_zone,
            history,
        }
    }
}
