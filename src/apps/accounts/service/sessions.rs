//! A user's own sessions ("where you're signed in") and security activity.

use std::net::IpAddr;

use super::Result;
use crate::apps::accounts::model::{SessionInfo, User};
use crate::apps::accounts::store;
use crate::kernel::AppState;
use crate::kernel::audit::{self, Entry, Filter};

/// The live sessions of `user_id`, most recently used first.
pub async fn user_sessions(state: &AppState, user_id: i64) -> Result<Vec<SessionInfo>> {
    Ok(store::list_user_sessions(&state.db.pool, user_id, state.clock.now()).await?)
}

/// Ends one of my sessions, or (`None`) all of them but `current`.
pub async fn end_my_sessions(
    state: &AppState,
    user: &User,
    session: Option<&str>,
    current: Option<&str>,
    ip: IpAddr,
) -> Result<u64> {
    let actor = audit::Actor::user(user.id, &user.username, ip);
    // Never the session making the request: that is what "log out" is for.
    if session.is_some() && session == current {
        return Ok(0);
    }
    super::staff::end_sessions(state, &actor, user, session, current).await
}

/// The latest events about my account (logins, changes, failed-login bursts).
pub async fn security_activity(state: &AppState, user: &User, limit: i64) -> Result<Vec<Entry>> {
    let filter = Filter { target_type: "user".into(), target_id: Some(user.id), limit, ..Filter::default() };
    Ok(audit::list(&state.db.pool, &filter).await?)
}
