//! The REST API for posts, documented in the OpenAPI document as it is routed (utoipa-axum).
//! Limit/offset pagination in Django REST framework's shape: `count/next/previous/results`, with
//! offsets up to `MAX_OFFSET`; past that (and for any client that prefers it) `before=<id>`
//! cursors, which `next` links use from there on and which cost the same at any depth.

use axum::Json;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Actor, LikeState, MAX_OFFSET, MAX_PAGE_SIZE, PAGE_SIZE, Post, PostQuery};
use super::service;
use crate::apps::accounts::MaybeUser;
use crate::kernel::AppState;
use crate::kernel::http::multipart::ApiMultipart;
use crate::kernel::http::{ApiJson, AppError, ClientIp, ErrorBody};

pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let upload_limit = state.settings.max_upload_bytes + 64 * 1024;
    OpenApiRouter::new()
        .routes(routes!(list_posts, create_post))
        .routes(routes!(get_post, update_post, replace_post, delete_post))
        .routes(routes!(like_post))
        .layer(DefaultBodyLimit::max(upload_limit))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostResponse {
    id: i64,
    /// Username of the author; null for anonymous posts and deleted accounts.
    author: Option<String>,
    body: String,
    image: Option<String>,
    thumbnail: Option<String>,
    like_count: i64,
    /// Whether the signed-in caller likes this post.
    liked: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<Post> for PostResponse {
    fn from(post: Post) -> Self {
        Self {
            image: post.image_url(),
            thumbnail: post.thumb_url(),
            id: post.id,
            author: post.author,
            body: post.body,
            like_count: post.like_count,
            liked: post.liked,
            created_at: post.created_at,
            updated_at: post.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostList {
    /// How many posts the list has. A search counts at most 1,000 matches: more than that
    /// reads 1,000, with `next` links as long as pages are full.
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<PostResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1–100 (default 10).
    limit: Option<i64>,
    /// Rows to skip, 0–10,000; deeper pages are reached with `before`.
    #[param(minimum = 0, maximum = 10000)]
    offset: Option<i64>,
    /// A cursor: only posts older than this post id (the last id of the page before). Takes the
    /// place of `offset`.
    before: Option<i64>,
    /// Words to find in the body, whole, in any case and with or without accents. Newest
    /// matches first.
    q: Option<String>,
    /// Username of the author.
    author: Option<String>,
}

fn actor(user: &MaybeUser, ip: std::net::IpAddr) -> Actor {
    Actor::new(user.0.as_ref(), ip)
}

/// List posts, newest first.
#[utoipa::path(get, path = "/api/posts/", tag = "posts", params(ListParams),
    responses((status = 200, body = PostList), (status = 400, body = ErrorBody)))]
async fn list_posts(
    State(state): State<AppState>,
    user: MaybeUser,
    Query(params): Query<ListParams>,
) -> Result<Json<PostList>, AppError> {
    let limit = params.limit.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    let offset = params.offset.unwrap_or(0);
    if !(0..=MAX_OFFSET).contains(&offset) {
        return Err(AppError::BadRequest(format!(
            "offset is 0 to {MAX_OFFSET}; for older posts, follow `next` or pass before=<the last id you have>"
        )));
    }
    let query = PostQuery {
        search: params.q.clone().unwrap_or_default(),
        author: params.author.clone(),
        limit,
        offset,
        before: params.before,
        liked_by: None,
    };
    let page = service::list_posts(&state, user.0.as_ref().map(|u| u.id), &query).await?;
    let link = |position: (&'static str, i64)| {
        let mut pairs = vec![("limit", limit.to_string()), (position.0, position.1.to_string())];
        pairs.extend(params.q.iter().map(|q| ("q", q.clone())));
        pairs.extend(params.author.iter().map(|a| ("author", a.clone())));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{}/api/posts/?{query}", state.settings.base_url())
    };
    // Numbered by offset while the next one stays within MAX_OFFSET, by cursor after that.
    let cursor = page.next_cursor(limit);
    let next_offset = offset + limit;
    let more = match params.before {
        Some(_) => cursor.is_some(),
        None => next_offset < page.count || page.capped && cursor.is_some(),
    };
    let next = match (more, params.before) {
        (false, _) => None,
        (true, None) if next_offset <= MAX_OFFSET => Some(link(("offset", next_offset))),
        (true, _) => cursor.map(|id| link(("before", id))),
    };
    let previous = match params.before {
        Some(_) => Some(link(("offset", 0))),
        None => (offset > 0).then(|| link(("offset", (offset - limit).max(0)))),
    };
    Ok(Json(PostList {
        count: page.count,
        next,
        previous,
        results: page.posts.into_iter().map(PostResponse::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PostRequest {
    /// 1–200 characters, not all blank; line breaks allowed, other control characters not (the
    /// pattern says so for the OpenAPI document: what `PostBody::parse` accepts). Required: a
    /// missing body is answered like an empty one, with the body's field error.
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$"
    )]
    body: Option<String>,
}

/// A change to a post: the fields given are changed.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PostChangeRequest {
    /// As for a new post; left out or null, nothing changes.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$"
    )]
    body: Option<String>,
}

/// The multipart form for a post with an image.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents the multipart shape; the body is read by `PostInput`
pub struct PostUpload {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$"
    )]
    body: String,
    /// PNG, JPEG or WebP.
    #[schema(value_type = Option<String>, format = Binary)]
    image: Option<Vec<u8>>,
}

/// A new post as JSON (`{"body"}`) or as a multipart form with an image.
struct PostInput {
    body: String,
    image: Option<Vec<u8>>,
}

impl FromRequest<AppState> for PostInput {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if content_type.starts_with("multipart/form-data") {
            let ApiMultipart(mut form) = ApiMultipart::from_request(req, state).await?;
            let body = form.fields.remove("body").unwrap_or_default();
            return Ok(PostInput { body, image: form.file });
        }
        let ApiJson(json) = ApiJson::<PostRequest>::from_request(req, state).await?;
        Ok(PostInput { body: json.body.unwrap_or_default(), image: None })
    }
}

/// Publish a post (anonymous posts are allowed unless switched off).
#[utoipa::path(post, path = "/api/posts/", tag = "posts",
    request_body(content((PostRequest = "application/json"), (PostUpload = "multipart/form-data"))),
    responses((status = 201, body = PostResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: MaybeUser,
    input: PostInput,
) -> Result<(StatusCode, Json<PostResponse>), AppError> {
    let post = service::create_post(&state, actor(&user, ip), &input.body, input.image).await?;
    Ok((StatusCode::CREATED, Json(post.into())))
}

/// One post.
#[utoipa::path(get, path = "/api/posts/{id}/", tag = "posts", params(("id" = i64, Path)),
    responses((status = 200, body = PostResponse), (status = 404, body = ErrorBody)))]
async fn get_post(
    State(state): State<AppState>,
    user: MaybeUser,
    Path(id): Path<i64>,
) -> Result<Json<PostResponse>, AppError> {
    Ok(Json(service::get_post(&state, user.0.as_ref().map(|u| u.id), id).await?.into()))
}

/// Change a post's body (its author, or staff).
#[utoipa::path(patch, path = "/api/posts/{id}/", tag = "posts", params(("id" = i64, Path)), request_body = PostChangeRequest,
    responses((status = 200, body = PostResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: MaybeUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PostChangeRequest>,
) -> Result<Json<PostResponse>, AppError> {
    Ok(Json(service::update_post(&state, actor(&user, ip), id, req.body.as_deref()).await?.into()))
}

/// Replace a post's body (its author, or staff).
#[utoipa::path(put, path = "/api/posts/{id}/", tag = "posts", params(("id" = i64, Path)), request_body = PostRequest,
    responses((status = 200, body = PostResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn replace_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: MaybeUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PostRequest>,
) -> Result<Json<PostResponse>, AppError> {
    let body = req.body.unwrap_or_default();
    Ok(Json(service::update_post(&state, actor(&user, ip), id, Some(&body)).await?.into()))
}

/// Delete a post and its image (its author, or staff).
#[utoipa::path(delete, path = "/api/posts/{id}/", tag = "posts", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: MaybeUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    service::delete_post(&state, actor(&user, ip), id, "").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LikeResponse {
    liked: bool,
    like_count: i64,
}

impl From<LikeState> for LikeResponse {
    fn from(state: LikeState) -> Self {
        Self { liked: state.liked, like_count: state.like_count }
    }
}

/// Like the post, or take the like back; answers with the fresh count.
#[utoipa::path(post, path = "/api/posts/{id}/like/", tag = "posts", params(("id" = i64, Path)),
    responses((status = 200, body = LikeResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn like_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: MaybeUser,
    Path(id): Path<i64>,
) -> Result<Json<LikeResponse>, AppError> {
    Ok(Json(service::toggle_like(&state, actor(&user, ip), id).await?.into()))
}
