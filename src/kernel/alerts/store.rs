//! The SQL of error mail: one row per error signature with its count and how much of it has
//! been mailed, and one row per mail sent for the hourly cap. Shared by every process on the
//! database, so several copies of the app mail an error once, not once each.

use sqlx::Row;

use crate::kernel::db::Tx;

/// An error group whose occurrences have not all been mailed.
pub struct Unmailed {
    pub signature: String,
    pub subject: String,
    pub report: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub occurrences: i64,
    pub unmailed: i64,
}

/// Counts one occurrence; true when the signature is new.
pub async fn count(tx: &mut Tx, signature: &str, subject: &str, report: &str, now: i64) -> sqlx::Result<bool> {
    let occurrences: i64 = sqlx::query_scalar(
        "INSERT INTO error_groups (signature, subject, report, occurrences, first_seen, last_seen) \
         VALUES ($1, $2, $3, 1, $4, $4) \
         ON CONFLICT (signature) DO UPDATE SET occurrences = error_groups.occurrences + 1, last_seen = $4 \
         RETURNING occurrences",
    )
    .bind(signature)
    .bind(subject)
    .bind(report)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(occurrences == 1)
}

/// Mails sent since `since`, all errors together.
pub async fn mails_since(tx: &mut Tx, since: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM error_mails WHERE sent_at > $1").bind(since).fetch_one(&mut **tx).await
}

/// Notes that everything counted so far for `signature` is in a mail queued now.
pub async fn mark_mailed(tx: &mut Tx, signature: &str, occurrences: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE error_groups SET mailed_occurrences = $1, last_mailed_at = $2 WHERE signature = $3")
        .bind(occurrences)
        .bind(now)
        .bind(signature)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO error_mails (signature, sent_at) VALUES ($1, $2)")
        .bind(signature)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Groups with occurrences not yet mailed and no mail since `quiet_since`, oldest first.
pub async fn due_for_digest(tx: &mut Tx, quiet_since: i64, limit: i64) -> sqlx::Result<Vec<Unmailed>> {
    let rows = sqlx::query(
        "SELECT signature, subject, report, first_seen, last_seen, occurrences, mailed_occurrences FROM error_groups \
         WHERE occurrences > mailed_occurrences AND (last_mailed_at IS NULL OR last_mailed_at <= $1) \
         ORDER BY last_seen LIMIT $2",
    )
    .bind(quiet_since)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let occurrences: i64 = row.try_get("occurrences")?;
            Ok(Unmailed {
                signature: row.try_get("signature")?,
                subject: row.try_get("subject")?,
                report: row.try_get("report")?,
                first_seen: row.try_get("first_seen")?,
                last_seen: row.try_get("last_seen")?,
                unmailed: occurrences - row.try_get::<i64, _>("mailed_occurrences")?,
                occurrences,
            })
        })
        .collect()
}

/// Forgets mail records older than the cap's window, and groups quiet for `keep_secs`.
pub async fn prune(tx: &mut Tx, now: i64, keep_secs: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM error_mails WHERE sent_at < $1").bind(now - 3600).execute(&mut **tx).await?;
    sqlx::query("DELETE FROM error_groups WHERE last_seen < $1 AND occurrences = mailed_occurrences")
        .bind(now - keep_secs)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
