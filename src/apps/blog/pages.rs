//! Blog pages: list, detail, new, edit, delete (with a confirmation page) and the like button,
//! which works as a plain form and is upgraded in place by `static/app.js`.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use super::forms::{BodyForm, ListQuery, NextForm};
use super::model::{Actor, MAX_BODY_CHARS, MAX_OFFSET, PAGE_SIZE, Post, PostQuery};
use super::service::{self, BlogError};
use crate::apps::accounts::{CurrentUser, Viewer};
use crate::kernel::AppState;
use crate::kernel::http::multipart::CsrfMultipart;
use crate::kernel::http::redirect::safe_next;
use crate::kernel::http::render::{flash, invalid};
use crate::kernel::http::{AppError, ClientIp, CsrfForm, PageContext, render};
use crate::kernel::media::{content_type, is_valid_key};
use crate::kernel::pagination::{PageRequest, Pager};
use crate::kernel::validation::FieldErrors;

pub fn router(state: &AppState) -> Router<AppState> {
    let upload_limit = state.settings.max_upload_bytes + 64 * 1024;
    Router::new()
        .route("/posts/", get(posts_page))
        .route("/posts/liked/", get(liked_page))
        .route("/posts/new/", get(new_post_form).post(new_post).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/posts/{id}/", get(post_page))
        .route("/posts/{id}/edit/", get(edit_form).post(edit))
        .route("/posts/{id}/delete/", get(delete_form).post(delete))
        .route("/posts/{id}/like/", post(like))
        .route("/media/{*key}", get(media))
}

fn actor(viewer: &Viewer, ip: std::net::IpAddr) -> Actor {
    Actor::new(viewer.user.as_ref(), ip)
}

/// A post with what this reader may do to it.
struct Card {
    post: Post,
    can_edit: bool,
}

fn cards(posts: Vec<Post>, actor: &Actor) -> Vec<Card> {
    posts.into_iter().map(|post| Card { can_edit: actor.may_modify(&post), post }).collect()
}

#[derive(Template)]
#[template(path = "blog/list.html")]
struct ListPage {
    page: PageContext,
    title: &'static str,
    cards: Vec<Card>,
    count: i64,
    /// The count is a lower bound (a search stops counting at `SEARCH_COUNT_CAP`).
    capped: bool,
    q: String,
    author: String,
    pager: Pager,
    signed_in: bool,
    here: String,
    show_thumb: bool,
}

async fn posts_page(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let per_page = query.per_page.unwrap_or(PAGE_SIZE).clamp(1, 50);
    let page = PageRequest::new(query.page, per_page).no_deeper_than(MAX_OFFSET);
    let author = (!query.author.is_empty()).then(|| query.author.clone());
    let find = PostQuery {
        search: query.q.clone(),
        author,
        limit: page.size,
        offset: page.offset(),
        before: query.before,
        liked_by: None,
    };
    let actor = actor(&viewer, ip);
    let found = service::list_posts(&state, actor.user_id(), &find).await?;
    let mut filters = serde_urlencoded::to_string([("q", &query.q), ("author", &query.author)]).unwrap_or_default();
    if query.per_page.is_some() {
        filters.push_str(&format!("&per_page={per_page}"));
    }
    let title = if query.author.is_empty() { "Posts" } else { "Posts by one author" };
    let pager = found.pager(page, query.before, filters.clone());
    render(&ListPage {
        title,
        cards: cards(found.posts, &actor),
        count: found.count,
        here: match query.before {
            Some(before) => format!("/posts/?{filters}&before={before}"),
            None => format!("/posts/?{filters}&page={}", page.number),
        },
        pager,
        capped: found.capped,
        q: query.q,
        author: query.author,
        signed_in: viewer.user.is_some(),
        page: viewer.page,
        show_thumb: true,
    })
}

async fn liked_page(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let page = PageRequest::new(query.page, PAGE_SIZE).no_deeper_than(MAX_OFFSET);
    let find = PostQuery { liked_by: Some(user.id), limit: page.size, offset: page.offset(), ..PostQuery::default() };
    let actor = actor(&viewer, ip);
    let found = service::list_posts(&state, Some(user.id), &find).await?;
    render(&ListPage {
        title: "Posts you liked",
        cards: cards(found.posts, &actor),
        count: found.count,
        here: format!("/posts/liked/?page={}", page.number),
        pager: Pager::counted(page, found.count, String::new()).newest_first(),
        capped: false,
        q: String::new(),
        author: String::new(),
        signed_in: true,
        page: viewer.page,
        show_thumb: true,
    })
}

#[derive(Template)]
#[template(path = "blog/detail.html")]
struct DetailPage {
    page: PageContext,
    card: Card,
    signed_in: bool,
    here: String,
    /// The card shows a thumbnail in lists; the detail page shows the full image instead.
    show_thumb: bool,
}

async fn post_page(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let actor = actor(&viewer, ip);
    let post = service::get_post(&state, actor.user_id(), id).await?;
    let card = Card { can_edit: actor.may_modify(&post), post };
    let here = format!("/posts/{id}/");
    render(&DetailPage { here, card, signed_in: viewer.user.is_some(), page: viewer.page, show_thumb: false })
}

#[derive(Template)]
#[template(path = "blog/form.html")]
struct FormPage {
    page: PageContext,
    title: &'static str,
    action: String,
    body: String,
    errors: FieldErrors,
    with_image: bool,
    max_chars: usize,
    max_mb: usize,
}

fn form_page(state: &AppState, page: PageContext, editing: Option<i64>, body: String, errors: FieldErrors) -> FormPage {
    FormPage {
        page,
        title: if editing.is_some() { "Edit post" } else { "New post" },
        action: editing.map_or_else(|| "/posts/new/".to_owned(), |id| format!("/posts/{id}/edit/")),
        body,
        errors,
        with_image: editing.is_none(),
        max_chars: MAX_BODY_CHARS,
        max_mb: state.settings.max_upload_bytes / (1024 * 1024),
    }
}

async fn new_post_form(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    if viewer.user.is_none() && !state.settings.allow_anonymous_posts {
        return Ok(Redirect::to("/accounts/login/?next=%2Fposts%2Fnew%2F").into_response());
    }
    render(&form_page(&state, viewer.page, None, String::new(), FieldErrors::new()))
}

async fn new_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    viewer: Viewer,
    CsrfMultipart(form): CsrfMultipart,
) -> Result<Response, AppError> {
    let body = form.text("body").unwrap_or("").to_owned();
    match service::create_post(&state, actor(&viewer, ip), &body, form.file).await {
        Ok(post) => {
            if viewer.user.is_some() {
                flash(&session, "success", "Your post is published.").await?;
            }
            Ok(Redirect::to(&format!("/posts/{}/", post.id)).into_response())
        }
        Err(BlogError::Invalid(errors)) => invalid(render(&form_page(&state, viewer.page, None, body, errors))),
        Err(other) => Err(other.into()),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    match service::editable(&state, &actor(&viewer, ip), id).await {
        Ok(post) => render(&form_page(&state, viewer.page, Some(id), post.body, FieldErrors::new())),
        Err(err) => login_first(err, &format!("/posts/{id}/edit/")),
    }
}

async fn edit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<BodyForm>,
) -> Result<Response, AppError> {
    match service::update_post(&state, actor(&viewer, ip), id, Some(&form.body)).await {
        Ok(_) => {
            flash(&session, "success", "Your post was updated.").await?;
            Ok(Redirect::to(&format!("/posts/{id}/")).into_response())
        }
        Err(BlogError::Invalid(errors)) => {
            invalid(render(&form_page(&state, viewer.page, Some(id), form.body, errors)))
        }
        Err(other) => Err(other.into()),
    }
}

/// Owner-only pages send a visitor who is not signed in to the login page, and back after.
fn login_first(err: BlogError, here: &str) -> Result<Response, AppError> {
    match err {
        BlogError::Unauthorized => {
            let next = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
            Ok(Redirect::to(&format!("/accounts/login/?{next}")).into_response())
        }
        other => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "blog/delete.html")]
struct DeletePage {
    page: PageContext,
    post: Post,
}

async fn delete_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    match service::editable(&state, &actor(&viewer, ip), id).await {
        Ok(post) => render(&DeletePage { page: viewer.page, post }),
        Err(err) => login_first(err, &format!("/posts/{id}/delete/")),
    }
}

async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NextForm>,
) -> Result<Response, AppError> {
    if let Err(err) = service::delete_post(&state, actor(&viewer, ip), id, "").await {
        return login_first(err, &format!("/posts/{id}/delete/"));
    }
    flash(&session, "success", "Your post was deleted.").await?;
    Ok(Redirect::to("/posts/").into_response())
}

/// The like button without JavaScript: toggle, then back to where the reader was.
async fn like(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Result<Response, AppError> {
    if viewer.user.is_none() {
        let next = serde_urlencoded::to_string([("next", format!("/posts/{id}/"))]).unwrap_or_default();
        return Ok(Redirect::to(&format!("/accounts/login/?{next}")).into_response());
    }
    service::toggle_like(&state, actor(&viewer, ip), id).await?;
    let fallback = format!("/posts/{id}/");
    Ok(Redirect::to(safe_next(&form.next, &fallback)).into_response())
}

/// Uploaded images, served so they can never run as a page: fixed type, nosniff, sandbox.
async fn media(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, AppError> {
    let (true, Some(kind)) = (is_valid_key(&key), content_type(&key)) else { return Err(AppError::NotFound) };
    let bytes = state.media.get(&key).await?.ok_or(AppError::NotFound)?;
    let mut response = ([(header::CONTENT_TYPE, kind)], bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    // Keys are random and never reused, so a file never changes.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    Ok(response)
}
