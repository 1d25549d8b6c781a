//! The blog's part of a user's account: counts and links on the profile page, every post and
//! like in the data export, and, when the account is deleted, like counts set right and the
//! posts' client IPs forgotten (the posts stay, without an author).

use async_trait::async_trait;
use serde_json::json;

use super::{service, store};
use crate::apps::accounts::{Summary, SummaryLine, User, UserSection};
use crate::kernel::AppState;
use crate::kernel::db::Tx;

pub struct BlogSection;

#[async_trait]
impl UserSection for BlogSection {
    fn key(&self) -> &'static str {
        "blog"
    }

    async fn summary(&self, state: &AppState, user: &User) -> anyhow::Result<Summary> {
        let activity = service::activity(state, user.id).await?;
        let author = serde_urlencoded::to_string([("author", &user.username)])?;
        let line = |label: &str, value: i64, link: Option<String>| SummaryLine {
            label: label.to_owned(),
            value: value.to_string(),
            link,
        };
        Ok(Summary {
            title: "Your activity".into(),
            lines: vec![
                line("Posts", activity.posts, Some(format!("/posts/?{author}"))),
                line("Likes your posts received", activity.likes_received, None),
                line("Posts you liked", activity.posts_liked, Some("/posts/liked/".into())),
            ],
        })
    }

    async fn export(&self, state: &AppState, user: &User) -> anyhow::Result<serde_json::Value> {
        let posts = store::posts_by_author(&state.db.pool, user.id).await?;
        let likes = store::likes_by_user(&state.db.pool, user.id).await?;
        let posts: Vec<_> = posts
            .into_iter()
            .map(|(id, body, image_key, created_at, updated_at)| {
                let image = image_key.map(|key| format!("{}/media/{key}", state.settings.base_url()));
                json!({"id": id, "body": body, "image": image, "created_at": created_at, "updated_at": updated_at})
            })
            .collect();
        let likes: Vec<_> = likes.into_iter().map(|(post, at)| json!({"post_id": post, "created_at": at})).collect();
        Ok(json!({"posts": posts, "likes": likes}))
    }

    async fn before_delete(&self, tx: &mut Tx, user: &User) -> anyhow::Result<()> {
        store::forget_user(tx, user.id).await?;
        Ok(())
    }
}
