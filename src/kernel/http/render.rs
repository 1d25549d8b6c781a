//! Rendering pages: what every page's layout needs (CSRF token for the header's logout form,
//! the signed-in user's name, flash messages) and turning an askama template into a response.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::error::AppError;

const FLASH_KEY: &str = "_flash";

/// What the base layout shows around every page.
#[derive(Clone, Debug, Default)]
pub struct PageContext {
    pub csrf_token: String,
    pub user: Option<NavUser>,
    pub flashes: Vec<Flash>,
    /// The local mail outbox is served: the header links to it.
    pub dev_tools: bool,
    /// An error page, rendered without knowing who is signed in: the header shows no account links.
    pub error_page: bool,
    /// A console page (`/admin/…`): its assets, header links and logout stay under `/admin/` and
    /// `/static/admin/`, so a proxy that forwards only those serves the whole console.
    pub console: bool,
}

impl PageContext {
    /// Where the stylesheet, icon and script of this page are served.
    pub fn static_root(&self) -> &'static str {
        if self.console { "/static/admin/" } else { "/static/" }
    }

    /// Whether a path belongs to the console, whose pages keep to `/admin/`.
    pub fn is_console_path(path: &str) -> bool {
        path == "/admin" || path.starts_with("/admin/")
    }
}

#[derive(Clone, Debug)]
pub struct NavUser {
    pub username: String,
    pub is_staff: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    /// `success`, `info` or `error`: the CSS modifier.
    pub kind: String,
    pub text: String,
}

/// Queues a message for the next page this session sees.
pub async fn flash(session: &Session, kind: &str, text: impl Into<String>) -> Result<(), AppError> {
    let mut flashes: Vec<Flash> = session.get(FLASH_KEY).await?.unwrap_or_default();
    flashes.push(Flash { kind: kind.into(), text: text.into() });
    session.insert(FLASH_KEY, flashes).await?;
    Ok(())
}

/// Takes (and clears) the queued messages. Reads first: a removal always counts as a change,
/// and an unchanged session is not written back.
pub async fn take_flashes(session: &Session) -> Result<Vec<Flash>, AppError> {
    match session.get::<Vec<Flash>>(FLASH_KEY).await? {
        Some(flashes) => {
            session.remove_value(FLASH_KEY).await?;
            Ok(flashes)
        }
        None => Ok(Vec::new()),
    }
}

/// A form page rendered again with its errors: the same response with a 400 status.
pub fn invalid(response: Result<Response, AppError>) -> Result<Response, AppError> {
    let mut response = response?;
    *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    Ok(response)
}

/// Renders `template` as an HTML response.
pub fn render(template: &impl Template) -> Result<Response, AppError> {
    let html = template.render().map_err(|e| AppError::Internal(e.into()))?;
    Ok(Html(html).into_response())
}
