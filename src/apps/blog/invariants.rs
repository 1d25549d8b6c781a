//! What must hold in any copy of the blog's data, for the restore drill: each post's
//! `like_count` equals its likes, the posts counter equals the posts, and every image a post
//! names is in the media store.

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};

use crate::kernel::db::Db;
use crate::kernel::media::MediaStore;

/// One sentence per broken rule; empty when all hold.
pub async fn check_invariants(db: &Db, media: &dyn MediaStore) -> anyhow::Result<Vec<String>> {
    let mut broken = Vec::new();
    let wrong_likes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM posts p WHERE p.like_count <> (SELECT COUNT(*) FROM likes l WHERE l.post_id = p.id)",
    )
    .fetch_one(&db.pool)
    .await?;
    if wrong_likes > 0 {
        broken.push(format!("{wrong_likes} posts have a like_count that differs from their likes"));
    }
    let (counter, posts): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE((SELECT value FROM counters WHERE name = 'posts'), -1), (SELECT COUNT(*) FROM posts)",
    )
    .fetch_one(&db.pool)
    .await?;
    if counter != posts {
        broken.push(format!("the posts counter says {counter}, there are {posts} posts"));
    }
    let stored: HashSet<String> = media.list().try_collect().await?;
    let mut missing = 0usize;
    let mut referenced = sqlx::query_scalar::<_, String>(
        "SELECT image_key FROM posts WHERE image_key IS NOT NULL \
         UNION ALL SELECT thumb_key FROM posts WHERE thumb_key IS NOT NULL",
    )
    .fetch(&db.pool);
    while let Some(key) = referenced.next().await.transpose()? {
        missing += usize::from(!stored.contains(&key));
    }
    if missing > 0 {
        broken.push(format!("{missing} image files named by posts are missing"));
    }
    Ok(broken)
}
