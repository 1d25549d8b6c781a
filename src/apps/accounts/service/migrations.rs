//! Data migrations of the accounts app, run once after the schema migrations.

use super::Result;
use crate::apps::accounts::model::normalize_username;
use crate::apps::accounts::store;
use crate::kernel::AppState;
use crate::kernel::db::{data_migrations, violates};

const NFKC_USERNAMES: &str = "accounts.nfkc_usernames";

/// Brings usernames stored before they were normalised into NFKC. A name whose normal form
/// another account already has is left as it is and reported: merging two accounts is a person's
/// decision. Returns one line per such collision.
pub async fn normalize_stored_usernames(state: &AppState) -> Result<Vec<String>> {
    if data_migrations::is_done(&state.db, NFKC_USERNAMES).await? {
        return Ok(Vec::new());
    }
    let mut collisions = Vec::new();
    for (id, username) in store::all_usernames(&state.db.pool).await? {
        let normal = normalize_username(&username);
        if normal == username {
            continue;
        }
        let mut tx = state.db.begin_write().await?;
        match store::rename_user(&mut tx, id, &normal, &normal.to_lowercase()).await {
            Ok(()) => tx.commit().await?,
            Err(err) if violates(&err, super::USERNAME_KEY) => collisions.push(format!(
                "user #{id} '{username}' was left as it is: its normal form '{normal}' belongs to another account"
            )),
            Err(err) => return Err(err.into()),
        }
    }
    data_migrations::mark_done(&state.db, NFKC_USERNAMES, state.clock.now()).await?;
    Ok(collisions)
}
