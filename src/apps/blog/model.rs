//! Blog domain types: a post body that cannot be invalid, posts as readers see them, and who
//! is acting (a signed-in user or an anonymous visitor).

use std::net::IpAddr;

use serde::Serialize;

use crate::apps::accounts::User;
use crate::kernel::audit;
use crate::kernel::clock::format_timestamp;
use crate::kernel::db::get_flag;
use crate::kernel::pagination::{PageRequest, Pager};

pub const MAX_BODY_CHARS: usize = 200;
pub const PAGE_SIZE: i64 = 10;
pub const MAX_PAGE_SIZE: i64 = 100;

/// 1–200 characters of any Unicode; line breaks allowed, other control characters not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostBody(String);

impl PostBody {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.replace("\r\n", "\n");
        let value = value.trim();
        if value.is_empty() {
            return Err("Write something first.".into());
        }
        if value.chars().count() > MAX_BODY_CHARS {
            return Err(format!("A post has at most {MAX_BODY_CHARS} characters."));
        }
        if value.chars().any(|c| c.is_control() && c != '\n') {
            return Err("Control characters are not allowed.".into());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who is asking to change something.
#[derive(Clone, Debug)]
pub enum Actor {
    Anonymous { ip: IpAddr },
    User { id: i64, name: String, is_staff: bool, ip: IpAddr },
}

impl Actor {
    pub fn new(user: Option<&User>, ip: IpAddr) -> Self {
        match user {
            Some(u) => Actor::User { id: u.id, name: u.username.clone(), is_staff: u.is_staff, ip },
            None => Actor::Anonymous { ip },
        }
    }

    /// The same person, as the audit trail names them.
    pub fn audit(&self) -> audit::Actor {
        match self {
            Actor::User { id, name, ip, .. } => audit::Actor::user(*id, name, ip),
            Actor::Anonymous { ip } => audit::Actor::anonymous(ip),
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User { id, .. } => Some(*id),
            Actor::Anonymous { .. } => None,
        }
    }

    pub fn ip(&self) -> IpAddr {
        match self {
            Actor::Anonymous { ip } | Actor::User { ip, .. } => *ip,
        }
    }

    /// Authors change their own posts; staff change any; nobody changes anonymous posts
    /// except staff.
    pub fn may_modify(&self, post: &Post) -> bool {
        match self {
            Actor::User { is_staff: true, .. } => true,
            Actor::User { id, .. } => post.author_id == Some(*id),
            Actor::Anonymous { .. } => false,
        }
    }
}

/// A post as a reader sees it: author name, like count, and whether the reader liked it.
#[derive(Clone, Debug, Serialize)]
pub struct Post {
    pub id: i64,
    pub author_id: Option<i64>,
    pub author: Option<String>,
    pub body: String,
    pub image_key: Option<String>,
    pub thumb_key: Option<String>,
    pub like_count: i64,
    pub liked: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for Post {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        Ok(Self {
            id: row.try_get("id")?,
            author_id: row.try_get("author_id")?,
            author: row.try_get("author")?,
            body: row.try_get("body")?,
            image_key: row.try_get("image_key")?,
            thumb_key: row.try_get("thumb_key")?,
            like_count: row.try_get("like_count")?,
            liked: get_flag(row, "liked")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

impl Post {
    pub fn created_display(&self) -> String {
        format_timestamp(self.created_at)
    }

    pub fn author_display(&self) -> &str {
        self.author.as_deref().unwrap_or("anonymous")
    }

    pub fn image_url(&self) -> Option<String> {
        self.image_key.as_ref().map(|k| format!("/media/{k}"))
    }

    pub fn thumb_url(&self) -> Option<String> {
        self.thumb_key.as_ref().map(|k| format!("/media/{k}"))
    }
}

/// Which posts to list: a page of them, newest first (liked posts: most recently liked first).
/// A page starts after `offset` rows, or, when `before` is set, below that post id (a cursor,
/// for pages deeper than an OFFSET can reach cheaply; liked posts take offsets only).
#[derive(Clone, Debug, Default)]
pub struct PostQuery {
    pub search: String,
    pub author: Option<String>,
    pub liked_by: Option<i64>,
    pub limit: i64,
    pub offset: i64,
    pub before: Option<i64>,
}

/// The deepest OFFSET a list takes (page numbers beyond it are brought back to it); deeper pages
/// are reached with `before` cursors, which cost the same at any depth.
pub const MAX_OFFSET: i64 = 10_000;

/// Searches count their matches up to this many: a common word matches most posts.
pub const SEARCH_COUNT_CAP: i64 = 1_000;

#[derive(Debug)]
pub struct PostPage {
    pub posts: Vec<Post>,
    /// How many posts the list has; for a search, at most `SEARCH_COUNT_CAP` (see `capped`).
    pub count: i64,
    /// True when there are more than `count` (a search that stopped counting).
    pub capped: bool,
}

impl PostPage {
    /// The id a "next page" cursor starts below: the last post's, when the page was full.
    pub fn next_cursor(&self, limit: i64) -> Option<i64> {
        (self.posts.len() as i64 >= limit).then(|| self.posts.last().map(|p| p.id)).flatten()
    }

    /// The pager under this page: numbered pages while an OFFSET is cheap, then cursors; a
    /// search that stopped counting shows a next link while its pages are full.
    pub fn pager(&self, page: PageRequest, before: Option<i64>, filters: String) -> Pager {
        let cursor = self.next_cursor(page.size);
        if before.is_some() {
            return Pager::cursor(cursor, filters).newest_first();
        }
        let numbered = if self.capped {
            Pager::uncounted(page, cursor.is_some(), filters)
        } else {
            Pager::counted(page, self.count, filters)
        };
        let numbered = numbered.newest_first();
        if page.offset() + page.size > MAX_OFFSET { numbered.continue_below(cursor) } else { numbered }
    }
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct LikeState {
    pub liked: bool,
    pub like_count: i64,
}

/// What the profile page shows about a user's blog activity.
#[derive(Clone, Copy, Debug, Default)]
pub struct Activity {
    pub posts: i64,
    pub likes_received: i64,
    pub posts_liked: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bodies_are_one_to_two_hundred_characters_of_any_unicode() {
        assert_eq!(PostBody::parse("  hello 🦀  ").unwrap().as_str(), "hello 🦀");
        assert!(PostBody::parse("   ").is_err());
        assert!(PostBody::parse(&"🦀".repeat(200)).is_ok());
        assert!(PostBody::parse(&"🦀".repeat(201)).is_err());
        assert!(PostBody::parse("line one\r\nline two").unwrap().as_str().contains('\n'));
        assert!(PostBody::parse("bell\u{7}").is_err());
    }

    proptest! {
        #[test]
        fn a_parsed_body_parses_to_itself(raw in "\\PC{0,250}") {
            if let Ok(body) = PostBody::parse(&raw) {
                prop_assert!((1..=MAX_BODY_CHARS).contains(&body.as_str().chars().count()));
                prop_assert_eq!(PostBody::parse(body.as_str()).unwrap(), body);
            }
        }
    }
}
