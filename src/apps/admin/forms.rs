//! Console form and query input.

use serde::Deserialize;

use crate::apps::accounts::{UserFilter, UserSort};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserListQuery {
    pub q: String,
    /// `yes`, `no` or empty (any), for each flag.
    pub active: String,
    pub staff: String,
    pub confirmed: String,
    /// `newest` (default), `username` or `last_login`.
    pub sort: String,
    #[serde(deserialize_with = "crate::kernel::http::extract::empty_as_none")]
    pub page: Option<i64>,
}

fn yes_no(value: &str) -> Option<bool> {
    match value {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

impl UserListQuery {
    pub fn filter(&self) -> UserFilter {
        UserFilter {
            search: self.q.clone(),
            active: yes_no(&self.active),
            staff: yes_no(&self.staff),
            confirmed: yes_no(&self.confirmed),
            sort: match self.sort.as_str() {
                "username" => UserSort::Username,
                "last_login" => UserSort::LastLogin,
                _ => UserSort::Newest,
            },
        }
    }

    /// The query string without the page, for pagination links.
    pub fn without_page(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("active", &self.active),
            ("staff", &self.staff),
            ("confirmed", &self.confirmed),
            ("sort", &self.sort),
        ];
        serde_urlencoded::to_string(pairs.iter().filter(|(_, v)| !v.is_empty()).collect::<Vec<_>>()).unwrap_or_default()
    }
}

/// The user edit form: unchecked boxes are simply absent.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserEditForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_active: Option<String>,
    pub is_staff: Option<String>,
    pub is_superuser: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SessionForm {
    /// A session's `id_hash`, or empty for all of them.
    pub session: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReasonForm {
    pub reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    pub action: String,
    pub target: String,
    #[serde(deserialize_with = "crate::kernel::http::extract::empty_as_none")]
    pub user: Option<i64>,
    #[serde(deserialize_with = "crate::kernel::http::extract::empty_as_none")]
    pub before: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PostListQuery {
    pub q: String,
    #[serde(deserialize_with = "crate::kernel::http::extract::empty_as_none")]
    pub page: Option<i64>,
    /// A cursor past the numbered pages: the posts older than this id.
    #[serde(deserialize_with = "crate::kernel::http::extract::empty_as_none")]
    pub before: Option<i64>,
}

/// A bulk action from the user list: `(name, value)` pairs, since `ids` repeats.
pub struct BulkForm {
    pub action: String,
    pub ids: Vec<i64>,
    pub confirmed: bool,
}

impl BulkForm {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = BulkForm { action: String::new(), ids: Vec::new(), confirmed: false };
        for (name, value) in pairs {
            match name.as_str() {
                "action" => form.action = value,
                "ids" => form.ids.extend(value.split(',').filter_map(|v| v.trim().parse::<i64>().ok())),
                "confirm" => form.confirmed = value == "yes",
                _ => {}
            }
        }
        form.ids.sort_unstable();
        form.ids.dedup();
        form.ids.truncate(200);
        form
    }
}
