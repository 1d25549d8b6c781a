//! "My badges": the awards a person holds, and the badges they could still earn.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::apps::accounts::{CurrentUser, Viewer};
use crate::apps::badges::model::{Award, BadgeClass, Imported, Progress};
use crate::apps::badges::service;
use crate::apps::badges::store;
use crate::kernel::AppState;
use crate::kernel::http::{AppError, PageContext, render};

#[derive(Template)]
#[template(path = "badges/mine.html")]
struct MyBadgesPage {
    page: PageContext,
    held: Vec<(Award, BadgeClass, &'static str)>,
    to_earn: Vec<(BadgeClass, Option<Progress>)>,
    imported: Vec<Imported>,
}

pub async fn my_badges_page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let held = service::my_awards(&state, &user).await?;
    let held = held.into_iter().map(|(a, b)| {
        let status = a.status(now).as_str();
        (a, b, status)
    });
    let progress = store::progress_of(&state.db.pool, user.id).await?;
    let to_earn = store::classes_not_held(&state.db.pool, user.id).await?;
    let to_earn = to_earn
        .into_iter()
        .map(|badge| {
            let found = progress.iter().find(|p| p.badge_id == badge.id).cloned();
            (badge, found)
        })
        .collect();
    let imported = service::imports::my_imports(&state, &user).await?;
    render(&MyBadgesPage { page: viewer.page, held: held.collect(), to_earn, imported })
}
