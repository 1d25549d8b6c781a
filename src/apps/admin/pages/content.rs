//! Posts in the console (search, delete with a reason) and the audit trail with filters.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::AuditRow;
use crate::apps::accounts::{StaffUser, Viewer};
use crate::apps::admin::forms::{AuditQuery, PostListQuery, ReasonForm};
use crate::apps::blog::{self, Actor, Post, PostQuery};
use crate::kernel::AppState;
use crate::kernel::audit::{self, Filter};
use crate::kernel::http::render::{flash, invalid};
use crate::kernel::http::{AppError, ClientIp, CsrfForm, PageContext, render};
use crate::kernel::pagination::{PageRequest, Pager};
use crate::kernel::validation::FieldErrors;

const POSTS_PER_PAGE: i64 = 25;
const AUDIT_PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin/posts.html")]
struct PostsPage {
    page: PageContext,
    posts: Vec<Post>,
    count: i64,
    capped: bool,
    q: String,
    pager: Pager,
}

pub async fn posts_page(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Query(query): Query<PostListQuery>,
) -> Result<Response, AppError> {
    let page = PageRequest::new(query.page, POSTS_PER_PAGE).no_deeper_than(blog::MAX_OFFSET);
    let find = PostQuery {
        search: query.q.clone(),
        limit: page.size,
        offset: page.offset(),
        before: query.before,
        ..PostQuery::default()
    };
    let found = blog::list_posts(&state, None, &find).await?;
    let q_param = serde_urlencoded::to_string([("q", &query.q)]).unwrap_or_default();
    render(&PostsPage {
        page: viewer.page,
        pager: found.pager(page, query.before, q_param),
        capped: found.capped,
        posts: found.posts,
        count: found.count,
        q: query.q,
    })
}

#[derive(Template)]
#[template(path = "admin/delete_post.html")]
struct DeletePostPage {
    page: PageContext,
    post: Post,
    errors: FieldErrors,
}

pub async fn delete_post_form(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let post = blog::get_post(&state, None, id).await?;
    render(&DeletePostPage { page: viewer.page, post, errors: FieldErrors::new() })
}

/// Deletes a post; the reason goes into the audit trail.
pub async fn delete_post(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<Response, AppError> {
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        let post = blog::get_post(&state, None, id).await?;
        let errors = FieldErrors::single("reason", "Say why, in at most 500 characters.");
        return invalid(render(&DeletePostPage { page: viewer.page, post, errors }));
    }
    blog::delete_post(&state, Actor::new(Some(&staff), ip), id, reason).await?;
    flash(&session, "success", format!("Deleted post {id}.")).await?;
    Ok(Redirect::to("/admin/posts/").into_response())
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: PageContext,
    rows: Vec<AuditRow>,
    query: AuditQuery,
    next: Option<String>,
}

pub async fn audit_page(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let filter = Filter {
        action: query.action.clone(),
        target_type: query.target.clone(),
        target_id: None,
        user_id: query.user,
        limit: AUDIT_PER_PAGE,
        before_id: query.before,
    };
    let entries = audit::list(&state.db.pool, &filter).await?;
    let next = (entries.len() as i64 == AUDIT_PER_PAGE).then(|| {
        let last = entries.last().map_or(0, |e| e.id);
        let user = query.user.map(|u| u.to_string()).unwrap_or_default();
        let pairs = [("action", query.action.as_str()), ("target", query.target.as_str()), ("user", user.as_str())];
        let mut params: Vec<(&str, String)> =
            pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, (*v).to_owned())).collect();
        params.push(("before", last.to_string()));
        serde_urlencoded::to_string(params).unwrap_or_default()
    });
    render(&AuditPage { page: viewer.page, rows: entries.into_iter().map(AuditRow::from).collect(), query, next })
}
