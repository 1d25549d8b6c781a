//! What a database error means for the client, and one log line per outage instead of one per
//! request. An unreachable server, a pool that gives no connection in time, or SQLite busy past
//! its timeout are "unavailable" (503 with `Retry-After`); a full disk is "full" (507); anything
//! else is a bug (500).
//!
//! The outage state is process-wide on purpose: it only decides which log lines are written, and
//! the process writes one log.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How a failed database call should be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Unavailable,
    Full,
    Other,
}

static OUTAGE: AtomicBool = AtomicBool::new(false);
static UNAVAILABLE_ANSWERS: AtomicU64 = AtomicU64::new(0);

/// Sorts a database error.
pub fn classify(err: &sqlx::Error) -> Fault {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            Fault::Unavailable
        }
        sqlx::Error::WorkerCrashed => Fault::Unavailable,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                classify_sqlite(code.parse().unwrap_or(0))
            } else {
                classify_sqlstate(&code)
            }
        }
        _ => Fault::Other,
    }
}

/// SQLite's result codes; an extended code keeps the primary code in its low byte.
fn classify_sqlite(code: i64) -> Fault {
    match code & 0xff {
        // SQLITE_BUSY, SQLITE_LOCKED: another writer held the file past the busy timeout.
        5 | 6 => Fault::Unavailable,
        // SQLITE_FULL
        13 => Fault::Full,
        _ => Fault::Other,
    }
}

/// PostgreSQL's SQLSTATEs.
fn classify_sqlstate(code: &str) -> Fault {
    match code {
        // disk_full, out_of_memory-ish insufficient_resources
        "53100" => Fault::Full,
        // too_many_connections, admin/crash shutdown, cannot_connect_now, connection failures,
        // query_canceled (statement_timeout), lock_not_available
        "53300" | "57P01" | "57P02" | "57P03" | "08000" | "08001" | "08003" | "08006" | "57014" | "55P03" => {
            Fault::Unavailable
        }
        _ => Fault::Other,
    }
}

/// Counts an answer given while the database was unavailable, and logs the start of an outage
/// once; later failures stay quiet until the database is back.
pub fn report_unavailable(err: &dyn std::fmt::Display) {
    UNAVAILABLE_ANSWERS.fetch_add(1, Ordering::Relaxed);
    if !OUTAGE.swap(true, Ordering::AcqRel) {
        tracing::error!(event = "db_unavailable", error = %err, "database unavailable; answering 503 until it is back");
    }
}

/// Logs the end of an outage, when there was one (a new connection was made).
pub fn report_available() {
    if OUTAGE.swap(false, Ordering::AcqRel) {
        tracing::info!(event = "db_available", "database reachable again");
    }
}

/// Requests answered 503 since the process started because no connection came in time (the pool
/// was exhausted or the server unreachable). sqlx does not say how many tasks wait for a
/// connection; this counter moving, with every connection in use, is that signal.
pub fn unavailable_answers() -> u64 {
    UNAVAILABLE_ANSWERS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_full_sqlite_codes_are_told_apart_from_bugs() {
        assert_eq!(classify_sqlite(5), Fault::Unavailable);
        assert_eq!(classify_sqlite(517), Fault::Unavailable, "SQLITE_BUSY_SNAPSHOT");
        assert_eq!(classify_sqlite(13), Fault::Full);
        assert_eq!(classify_sqlite(2067), Fault::Other, "a unique violation is a bug or a race, not an outage");
        assert_eq!(classify_sqlstate("53100"), Fault::Full);
        assert_eq!(classify_sqlstate("57P01"), Fault::Unavailable);
        assert_eq!(classify_sqlstate("23505"), Fault::Other);
    }
}
