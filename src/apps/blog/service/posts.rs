//! Posts and likes.

use std::time::Duration;

use super::media::{StoredImage, discard_files, store_image};
use super::{BlogError, Result};
use crate::apps::blog::model::{
    Activity, Actor, LikeState, MAX_OFFSET, Post, PostBody, PostPage, PostQuery, SEARCH_COUNT_CAP,
};
use crate::apps::blog::store::{self, NewPost, Window};
use sqlx::AnyConnection;

use crate::kernel::AppState;
use crate::kernel::audit::{self, Event};
use crate::kernel::db::search::SearchTerms;
use crate::kernel::validation::FieldErrors;

/// Posts per hour, and image bytes per hour, for a signed-in author and for one anonymous IP.
const USER_QUOTA: (i64, i64) = (30, 50 * 1024 * 1024);
const ANONYMOUS_QUOTA: (i64, i64) = (10, 10 * 1024 * 1024);

pub async fn list_posts(state: &AppState, reader: Option<i64>, query: &PostQuery) -> Result<PostPage> {
    let pool = &state.db.pool;
    let reader = reader.unwrap_or(0);
    let offset = if query.before.is_some() { 0 } else { query.offset.clamp(0, MAX_OFFSET) };
    let window = Window { limit: query.limit, offset, before: query.before };
    if let Some(liker) = query.liked_by {
        let posts = store::list_liked(pool, liker, window.limit, window.offset).await?;
        return Ok(PostPage { posts, count: store::count_liked(pool, liker).await?, capped: false });
    }
    let author = query.author.as_deref().unwrap_or("").trim().to_lowercase();
    if let Some(terms) = SearchTerms::parse(&query.search) {
        let backend = state.db.backend;
        let (posts, count) =
            store::search(pool, backend, reader, &terms, &author, window, SEARCH_COUNT_CAP + 1).await?;
        return Ok(PostPage { posts, count: count.min(SEARCH_COUNT_CAP), capped: count > SEARCH_COUNT_CAP });
    }
    if !query.search.trim().is_empty() {
        // Only punctuation: no word can match.
        return Ok(PostPage { posts: Vec::new(), count: 0, capped: false });
    }
    if author.is_empty() {
        let (posts, count) = store::list_newest(pool, reader, window).await?;
        return Ok(PostPage { posts, count, capped: false });
    }
    let posts = store::list_by_author(pool, reader, &author, window).await?;
    Ok(PostPage { posts, count: store::count_by_author(pool, &author).await?, capped: false })
}

/// Makes posts written by an earlier release searchable, a batch at a time; returns how many.
pub async fn fold_unsearchable(state: &AppState) -> Result<u64> {
    let mut total = 0;
    loop {
        let folded = store::fold_unsearchable(&state.db, 1000).await?;
        total += folded;
        if folded == 0 {
            return Ok(total);
        }
    }
}

pub async fn get_post(state: &AppState, reader: Option<i64>, id: i64) -> Result<Post> {
    store::find_post(&state.db.pool, reader.unwrap_or(0), id).await?.ok_or(BlogError::NotFound)
}

fn parse_body(raw: &str) -> Result<PostBody> {
    PostBody::parse(raw).map_err(|message| BlogError::Invalid(FieldErrors::single("body", message)))
}

/// Publishes a post, with an optional image, within the actor's hourly quota.
pub async fn create_post(state: &AppState, actor: Actor, body: &str, image: Option<Vec<u8>>) -> Result<Post> {
    if actor.user_id().is_none() && !state.settings.allow_anonymous_posts {
        return Err(BlogError::Unauthorized);
    }
    let body = parse_body(body)?;
    if image.as_ref().is_some_and(|bytes| bytes.len() > state.settings.max_upload_bytes) {
        return Err(BlogError::TooLarge);
    }
    // A cheap first look, before any image work; the insert's transaction checks again.
    let upload_bytes = image.as_ref().map_or(0, |bytes| i64::try_from(bytes.len()).unwrap_or(i64::MAX));
    check_quota(&mut *state.db.pool.acquire().await?, state, &actor, upload_bytes).await?;
    let stored = match image {
        Some(bytes) => Some(store_image(state, bytes).await?),
        None => None,
    };
    let ip = actor.ip().to_string();
    let new = NewPost {
        author_id: actor.user_id(),
        body: body.as_str(),
        image_key: stored.as_ref().map(|s| s.image_key.as_str()),
        thumb_key: stored.as_ref().map(|s| s.thumb_key.as_str()),
        image_bytes: stored.as_ref().map_or(0, |s| s.bytes),
        client_ip: &ip,
    };
    let id = match insert(state, &new, stored.as_ref(), &actor).await {
        Ok(id) => id,
        Err(err) => {
            if let Some(stored) = &stored {
                discard_files(state, &stored.keys()).await;
            }
            return Err(err);
        }
    };
    tracing::info!(event = "post_created", post_id = id, user_id = actor.user_id(), "post created");
    get_post(state, actor.user_id(), id).await
}

/// The quota check, the post row and the files' release from the orphan list, in one
/// transaction: concurrent posts cannot all pass a check made before any of them is written.
async fn insert(state: &AppState, new: &NewPost<'_>, stored: Option<&StoredImage>, actor: &Actor) -> Result<i64> {
    let mut tx = state.db.begin_write().await?;
    store::lock_quota(&mut tx, state.db.backend, &quota_key(actor)).await?;
    check_quota(&mut tx, state, actor, new.image_bytes).await?;
    let id = store::insert_post(&mut tx, new, state.clock.now()).await?;
    if let Some(stored) = stored {
        store::delete_orphans(&mut tx, &stored.keys()).await?;
    }
    let event = Event::new(actor.audit(), "post.created", "post", Some(id)).named(&excerpt(new.body));
    audit::record(&mut tx, &event, state.clock.now()).await?;
    tx.commit().await?;
    Ok(id)
}

/// Whose quota a post counts against: its author's, or its IP's when anonymous.
fn quota_key(actor: &Actor) -> String {
    match actor.user_id() {
        Some(id) => format!("quota:user:{id}"),
        None => format!("quota:ip:{}", actor.ip()),
    }
}

async fn check_quota(conn: &mut AnyConnection, state: &AppState, actor: &Actor, upload_bytes: i64) -> Result<()> {
    let (max_posts, max_bytes) = if actor.user_id().is_some() { USER_QUOTA } else { ANONYMOUS_QUOTA };
    let since = state.clock.now() - 3600;
    let (posts, bytes) = store::recent_usage(conn, actor.user_id(), &actor.ip().to_string(), since).await?;
    if posts >= max_posts || bytes.saturating_add(upload_bytes) > max_bytes {
        return Err(BlogError::Throttled(Duration::from_secs(3600)));
    }
    Ok(())
}

/// Loads the post and checks that `actor` may change it.
pub async fn editable(state: &AppState, actor: &Actor, id: i64) -> Result<Post> {
    let post = get_post(state, actor.user_id(), id).await?;
    match actor {
        Actor::Anonymous { .. } => Err(BlogError::Unauthorized),
        _ if !actor.may_modify(&post) => Err(BlogError::Forbidden),
        _ => Ok(post),
    }
}

/// Changes the body; `None` changes nothing (a PATCH without fields) after the same checks.
pub async fn update_post(state: &AppState, actor: Actor, id: i64, body: Option<&str>) -> Result<Post> {
    let post = editable(state, &actor, id).await?;
    let Some(body) = body else { return Ok(post) };
    let body = parse_body(body)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    store::update_body(&mut tx, id, body.as_str(), now).await?;
    let changes = audit::diff(&[("body", post.body.clone(), body.as_str().to_owned())]);
    let event = Event::new(actor.audit(), "post.updated", "post", Some(id)).named(&excerpt(&post.body));
    audit::record(&mut tx, &event.with_changes(changes), now).await?;
    tx.commit().await?;
    get_post(state, actor.user_id(), id).await
}

/// Deletes the post; its image files go right after (or with the next sweep, if that fails).
/// `reason` is kept in the audit trail (staff give one).
pub async fn delete_post(state: &AppState, actor: Actor, id: i64, reason: &str) -> Result<()> {
    let post = editable(state, &actor, id).await?;
    let keys: Vec<&str> = [post.image_key.as_deref(), post.thumb_key.as_deref()].into_iter().flatten().collect();
    let mut tx = state.db.begin_write().await?;
    if !store::delete_post(&mut tx, id).await? {
        return Err(BlogError::NotFound);
    }
    store::insert_orphans(&mut tx, &keys, state.clock.now()).await?;
    let event = Event::new(actor.audit(), "post.deleted", "post", Some(id)).named(&excerpt(&post.body)).because(reason);
    audit::record(&mut tx, &event, state.clock.now()).await?;
    tx.commit().await?;
    discard_files(state, &keys).await;
    tracing::info!(event = "post_deleted", post_id = id, user_id = actor.user_id(), "post deleted");
    Ok(())
}

/// Likes the post, or takes the like back; answers with the fresh state.
pub async fn toggle_like(state: &AppState, actor: Actor, id: i64) -> Result<LikeState> {
    let Some(user_id) = actor.user_id() else { return Err(BlogError::Unauthorized) };
    let mut tx = state.db.begin_write().await?;
    // Touching the row first locks it (PostgreSQL), so concurrent toggles take turns.
    if store::bump_like_count(&mut tx, id, 0).await?.is_none() {
        return Err(BlogError::NotFound);
    }
    let liked = store::insert_like(&mut tx, id, user_id, state.clock.now()).await?;
    if !liked {
        store::delete_like(&mut tx, id, user_id).await?;
    }
    let like_count = store::bump_like_count(&mut tx, id, if liked { 1 } else { -1 }).await?.unwrap_or(0);
    tx.commit().await?;
    Ok(LikeState { liked, like_count })
}

pub async fn activity(state: &AppState, user_id: i64) -> Result<Activity> {
    let (posts, likes_received, posts_liked) = store::activity(&state.db.pool, user_id).await?;
    Ok(Activity { posts, likes_received, posts_liked })
}

/// The start of a post, to name it in the audit trail.
fn excerpt(body: &str) -> String {
    let mut short: String = body.chars().take(60).collect();
    if short.len() < body.len() {
        short.push('…');
    }
    short
}

/// (posts, likes), for the admin dashboard.
pub async fn counts(state: &AppState) -> Result<(i64, i64)> {
    Ok(store::counts(&state.db.pool).await?)
}
