//! `/accounts/users/`, the staff user list's old address: it sends staff to the console's list
//! (`/admin/users/`), the one user list, with the same search and page.

use axum::extract::Query;
use axum::response::Redirect;

use crate::apps::accounts::forms::UserListQuery;

pub async fn users_page(Query(query): Query<UserListQuery>) -> Redirect {
    let mut pairs = Vec::new();
    if !query.q.is_empty() {
        pairs.push(("q", query.q));
    }
    if let Some(page) = query.page {
        pairs.push(("page", page.to_string()));
    }
    let params = serde_urlencoded::to_string(pairs).unwrap_or_default();
    Redirect::permanent(&if params.is_empty() { "/admin/users/".to_owned() } else { format!("/admin/users/?{params}") })
}
