//! One-question sites: staff define a question in the console (`/admin/questions/`) whose answer
//! comes from an outside JSON API through a JSONPath rule; a scheduled job reads the sources
//! through the kernel's outbound client, and `/q/<slug>/` (or the home page, with
//! `QUESTION_HOME`) answers from the stored result, never from the source.

mod console;
mod errors;
mod forms;
mod model;
mod pages;
mod rule;
mod service;
mod store;

use axum::Router;

pub use service::{QuestionError, question_view, refresh_due};

use crate::kernel::AppState;
use crate::kernel::jobs::{Registry, Schedule};

/// How often the refresh job looks for due questions; each question has its own interval.
const REFRESH_TICK_SECS: i64 = 30;

/// The public pages: `/q/<slug>/` and its JSON twin `/q/<slug>.json`.
pub fn router() -> Router<AppState> {
    pages::router()
}

/// `/` answering the question `slug` (the `QUESTION_HOME` setting).
pub fn home_router(slug: &str) -> Router<AppState> {
    pages::home_router(slug)
}

/// The console's pages for questions; the console mounts them behind its staff guard.
pub fn console_router() -> Router<AppState> {
    console::router()
}

/// The refresh job, run every `REFRESH_TICK_SECS` by the scheduler.
pub fn register_jobs(registry: &mut Registry, state: &AppState) {
    let job_state = state.clone();
    registry.handle("questions.refresh", move |_| {
        let state = job_state.clone();
        async move { service::refresh_due(&state).await.map(|_| ()) }
    });
    registry.schedule(Schedule { name: "questions.refresh", every_secs: REFRESH_TICK_SECS, kind: "questions.refresh" });
}
