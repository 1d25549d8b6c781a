//! What must hold in any copy of the accounts' data, for the restore drill: the users counter
//! equals the users, and no token or session points at a user who is gone.

use crate::kernel::db::Db;

/// One sentence per broken rule; empty when all hold.
pub async fn check_invariants(db: &Db) -> anyhow::Result<Vec<String>> {
    let mut broken = Vec::new();
    let (counter, users): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE((SELECT value FROM counters WHERE name = 'users'), -1), (SELECT COUNT(*) FROM users)",
    )
    .fetch_one(&db.pool)
    .await?;
    if counter != users {
        broken.push(format!("the users counter says {counter}, there are {users} users"));
    }
    let dangling: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM user_tokens t WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id)) \
         + (SELECT COUNT(*) FROM sessions s WHERE s.user_id IS NOT NULL \
            AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id))",
    )
    .fetch_one(&db.pool)
    .await?;
    if dangling > 0 {
        broken.push(format!("{dangling} tokens or sessions belong to users who do not exist"));
    }
    Ok(broken)
}
