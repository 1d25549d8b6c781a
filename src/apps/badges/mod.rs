//! Badges: staff design badge classes and award them; holders see, share and export them; anyone
//! can verify an award on its public page. Pages, console pages (mounted by the console), the
//! REST API and the account section share one service.

mod api;
mod errors;
mod forms;
mod model;
mod openbadges;
mod pages;
mod section;
mod service;
mod store;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

pub use section::BadgesSection;

use crate::kernel::AppState;
use crate::kernel::jobs::{Registry, Schedule};

pub fn router() -> Router<AppState> {
    pages::router()
}

/// The console's badge pages; the console mounts them behind its staff guard.
pub fn console_router(state: &AppState) -> Router<AppState> {
    pages::console_router(state)
}

pub fn api_routes() -> OpenApiRouter<AppState> {
    api::routes()
}

/// The daily re-verification of imported badges, and reading learning progress every 5 minutes.
pub fn register_jobs(registry: &mut Registry, state: &AppState) {
    let reverify_state = state.clone();
    registry.handle("badges.reverify_imports", move |_| {
        let state = reverify_state.clone();
        async move { service::imports::reverify_stale(&state).await.map(|_| ()) }
    });
    registry.schedule(Schedule {
        name: "badges.reverify_imports",
        every_secs: 86_400,
        kind: "badges.reverify_imports",
    });
    let progress_state = state.clone();
    registry.handle("badges.read_progress", move |_| {
        let state = progress_state.clone();
        async move { service::progress::read_progress(&state).await.map(|_| ()) }
    });
    registry.schedule(Schedule { name: "badges.read_progress", every_secs: 300, kind: "badges.read_progress" });
}
