//! The staff-only user list, with search and pagination.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use crate::apps::accounts::extract::{StaffUser, Viewer};
use crate::apps::accounts::forms::UserListQuery;
use crate::apps::accounts::model::User;
use crate::apps::accounts::service::{self, staff_page_count};
use crate::apps::accounts::store::UserFilter;
use crate::kernel::AppState;
use crate::kernel::http::{AppError, PageContext, render};

#[derive(Template)]
#[template(path = "accounts/users.html")]
struct UsersPage {
    page: PageContext,
    users: Vec<User>,
    total: i64,
    q: String,
    current: i64,
    pages: i64,
    q_param: String,
}

pub async fn users_page(
    State(state): State<AppState>,
    StaffUser(_): StaffUser,
    viewer: Viewer,
    Query(query): Query<UserListQuery>,
) -> Result<Response, AppError> {
    let current = query.page.unwrap_or(1).max(1);
    let filter = UserFilter { search: query.q.clone(), ..UserFilter::default() };
    let found = service::list_users(&state, &filter, current, true).await?;
    let q_param = serde_urlencoded::to_string([("q", query.q.as_str())]).unwrap_or_default();
    render(&UsersPage {
        page: viewer.page,
        pages: staff_page_count(found.total.unwrap_or(0)),
        users: found.users,
        total: found.total.unwrap_or(0),
        q: query.q,
        current,
        q_param,
    })
}
