//! Page form input for posts.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    #[serde(deserialize_with = "crate::kernel::http::extract::empty_as_none")]
    pub page: Option<i64>,
    /// Posts per page, 1–50 (default 10).
    #[serde(deserialize_with = "crate::kernel::http::extract::empty_as_none")]
    pub per_page: Option<i64>,
    pub q: String,
    pub author: String,
    /// A cursor: the posts older than this post id (the "Older →" link past the numbered pages).
    #[serde(deserialize_with = "crate::kernel::http::extract::empty_as_none")]
    pub before: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BodyForm {
    pub body: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextForm {
    pub next: String,
}
