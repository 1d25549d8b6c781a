//! The landing page.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use super::accounts::Viewer;
use crate::kernel::AppState;
use crate::kernel::http::{AppError, PageContext, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home_page))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageContext,
}

async fn home_page(viewer: Viewer) -> Result<Response, AppError> {
    render(&HomePage { page: viewer.page })
}
