//! GraphQL for the blog at `/graphql`: the same service and permission rules as the REST API,
//! bounded in depth and complexity, introspection only while the API docs are on (`API_DOCS`;
//! off in production by default), JSON bodies only (so a
//! cross-site form cannot post to it). GraphiQL is served from the binary when docs are on.

use async_graphql::{Context, EmptySubscription, ErrorExtensions, Object, Schema, SimpleObject};
use axum::Extension;
use axum::response::{IntoResponse, Response};

use super::model::{Actor, MAX_OFFSET, MAX_PAGE_SIZE, PAGE_SIZE, Post, PostQuery};
use super::service::{self, BlogError};
use crate::apps::accounts::MaybeUser;
use crate::kernel::AppState;
use crate::kernel::http::{ApiJson, AppError, ClientIp};
use crate::kernel::pagination::PageRequest;

pub type BlogSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

const MAX_DEPTH: usize = 8;
const MAX_COMPLEXITY: usize = 250;

pub fn schema(state: &AppState) -> BlogSchema {
    let builder = Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .data(state.clone())
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if state.settings.api_docs_enabled() { builder.finish() } else { builder.disable_introspection().finish() }
}

/// POST /graphql with a JSON body. A body that cannot be read (wrong type, malformed, too large,
/// too slow) is answered in GraphQL's error format, with its HTTP status.
pub async fn execute(
    Extension(schema): Extension<BlogSchema>,
    ClientIp(ip): ClientIp,
    MaybeUser(user): MaybeUser,
    body: Result<ApiJson<async_graphql::Request>, AppError>,
) -> Response {
    let request = match body {
        Ok(ApiJson(request)) => request,
        Err(err) => return request_error(&err),
    };
    let actor = Actor::new(user.as_ref(), ip);
    let viewer = user.map(|u| Me { id: u.id, username: u.username, is_staff: u.is_staff });
    axum::Json(schema.execute(request.data(actor).data(viewer)).await).into_response()
}

/// `{"errors": [{"message": …, "extensions": {"code": …}}]}` with the error's status.
fn request_error(err: &AppError) -> Response {
    let code = err.status().canonical_reason().unwrap_or("BAD_REQUEST").to_uppercase().replace(' ', "_");
    let body = serde_json::json!({"errors": [{"message": err.message(), "extensions": {"code": code}}]});
    (err.status(), axum::Json(body)).into_response()
}

fn gql_error(err: BlogError) -> async_graphql::Error {
    let code = match &err {
        BlogError::Invalid(_) => "BAD_USER_INPUT",
        BlogError::Unauthorized => "UNAUTHENTICATED",
        BlogError::Forbidden => "FORBIDDEN",
        BlogError::NotFound => "NOT_FOUND",
        BlogError::Throttled(_) => "TOO_MANY_REQUESTS",
        BlogError::TooLarge => "PAYLOAD_TOO_LARGE",
        BlogError::Busy => "SERVICE_UNAVAILABLE",
        BlogError::Internal(e) => {
            tracing::error!(error = ?e, "graphql internal error");
            "INTERNAL"
        }
    };
    let message = match &err {
        BlogError::Invalid(errors) => errors.summary(),
        BlogError::Internal(_) => "Something went wrong on our side.".to_owned(),
        other => other.to_string(),
    };
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
}

fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

fn actor(ctx: &Context<'_>) -> Actor {
    ctx.data_unchecked::<Actor>().clone()
}

#[derive(SimpleObject)]
pub struct PostObject {
    id: i64,
    author: Option<String>,
    body: String,
    image: Option<String>,
    thumbnail: Option<String>,
    like_count: i64,
    liked: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<Post> for PostObject {
    fn from(p: Post) -> Self {
        Self {
            image: p.image_url(),
            thumbnail: p.thumb_url(),
            id: p.id,
            author: p.author,
            body: p.body,
            like_count: p.like_count,
            liked: p.liked,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct PostsPage {
    items: Vec<PostObject>,
    count: i64,
    /// The page's number; 0 on a page asked for with `before`.
    page: i64,
    page_size: i64,
    pages: i64,
    has_next: bool,
    has_prev: bool,
    /// Pass as `before` for the next page (null on the last): the way past page numbers' depth.
    next_before: Option<i64>,
}

/// The signed-in user (only ever oneself: there is no user listing here).
#[derive(SimpleObject, Clone)]
pub struct Me {
    id: i64,
    username: String,
    is_staff: bool,
}

#[derive(SimpleObject)]
pub struct LikeObject {
    liked: bool,
    like_count: i64,
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    async fn post(&self, ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<PostObject>> {
        match service::get_post(state(ctx), actor(ctx).user_id(), id).await {
            Ok(post) => Ok(Some(post.into())),
            Err(BlogError::NotFound) => Ok(None),
            Err(err) => Err(gql_error(err)),
        }
    }

    async fn posts(
        &self,
        ctx: &Context<'_>,
        page: Option<i64>,
        page_size: Option<i64>,
        search: Option<String>,
        author: Option<String>,
        #[graphql(desc = "A cursor: only posts older than this post id (the `nextBefore` of the page before); \
                          takes the place of `page`, which goes as deep as 10,000 posts.")]
        before: Option<i64>,
    ) -> async_graphql::Result<PostsPage> {
        let size = page_size.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        let page = PageRequest::new(page, size).no_deeper_than(MAX_OFFSET);
        let query = PostQuery {
            search: search.unwrap_or_default(),
            author,
            limit: page.size,
            offset: page.offset(),
            before,
            liked_by: None,
        };
        let found = service::list_posts(state(ctx), actor(ctx).user_id(), &query).await.map_err(gql_error)?;
        let pages = page.page_count(found.count);
        let next_before = found.next_cursor(page.size);
        let has_next = match before {
            Some(_) => next_before.is_some(),
            None => page.number < pages || found.capped && next_before.is_some(),
        };
        Ok(PostsPage {
            items: found.posts.into_iter().map(PostObject::from).collect(),
            count: found.count,
            page: if before.is_some() { 0 } else { page.number },
            page_size: page.size,
            pages,
            has_next,
            has_prev: page.number > 1 || before.is_some(),
            next_before: if has_next { next_before } else { None },
        })
    }

    async fn me(&self, ctx: &Context<'_>) -> Option<Me> {
        ctx.data_unchecked::<Option<Me>>().clone()
    }
}

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    async fn create_post(&self, ctx: &Context<'_>, body: String) -> async_graphql::Result<PostObject> {
        Ok(service::create_post(state(ctx), actor(ctx), &body, None).await.map_err(gql_error)?.into())
    }

    async fn update_post(&self, ctx: &Context<'_>, id: i64, body: String) -> async_graphql::Result<PostObject> {
        Ok(service::update_post(state(ctx), actor(ctx), id, Some(&body)).await.map_err(gql_error)?.into())
    }

    async fn delete_post(&self, ctx: &Context<'_>, id: i64) -> async_graphql::Result<bool> {
        service::delete_post(state(ctx), actor(ctx), id, "").await.map_err(gql_error)?;
        Ok(true)
    }

    async fn toggle_like(&self, ctx: &Context<'_>, id: i64) -> async_graphql::Result<LikeObject> {
        let like = service::toggle_like(state(ctx), actor(ctx), id).await.map_err(gql_error)?;
        Ok(LikeObject { liked: like.liked, like_count: like.like_count })
    }
}
