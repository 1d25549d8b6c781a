//! The micro-blog: posts (1–200 characters, optional image) and likes, through three doors that
//! share one service — server-rendered pages, the REST API (OpenAPI-documented) and GraphQL.

mod api;
mod errors;
mod forms;
pub mod graphql;
mod invariants;
mod model;
mod pages;
mod section;
mod service;
mod store;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

pub use invariants::check_invariants;
pub use model::{Actor, MAX_OFFSET, Post, PostQuery};
pub use section::BlogSection;
pub use service::{counts, delete_post, fold_unsearchable, get_post, list_posts};

use crate::kernel::AppState;
use crate::kernel::jobs::{Registry, Schedule};

pub fn router(state: &AppState) -> Router<AppState> {
    pages::router(state)
}

pub fn api_routes(state: &AppState) -> OpenApiRouter<AppState> {
    api::routes(state)
}

/// The hourly sweep of image files whose post is gone.
pub fn register_jobs(registry: &mut Registry, state: &AppState) {
    let sweep_state = state.clone();
    registry.handle("blog.sweep_media", move |_| {
        let state = sweep_state.clone();
        async move { service::sweep_media(&state).await.map(|_| ()) }
    });
    registry.schedule(Schedule { name: "blog.sweep_media", every_secs: 3600, kind: "blog.sweep_media" });
}
