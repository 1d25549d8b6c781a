//! Server-side sessions: the store tower-sessions loads and saves them through (the `sessions`
//! table). The cookie holds an opaque 128-bit id; the table holds only its SHA-256, plus the
//! signed-in user's id, IP and user agent copied into columns so that the accounts app can list
//! and end a user's sessions. The cookie's attributes are set with the other layers (`http/layers.rs`).

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::kernel::clock::Clock;
use crate::kernel::db::Db;
use crate::kernel::db::changes::Change;
use crate::kernel::security::token::hash_token;

/// Session keys the store also copies into columns, so sessions can be listed per user.
pub const USER_ID_KEY: &str = "user_id";
pub const IP_KEY: &str = "ip";
pub const USER_AGENT_KEY: &str = "user_agent";
pub const SEEN_AT_KEY: &str = "seen_at";

fn text(record: &Record, key: &str) -> String {
    record.data.get(key).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned()
}

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
    clock: Clock,
}

impl DbSessionStore {
    pub fn new(db: Db, clock: Clock) -> Self {
        Self { db, clock }
    }
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

/// The name a session goes by in the table: SHA-256 of its id.
pub fn id_hash(id: &Id) -> String {
    hash_token(&id.to_string())
}

/// The expiry on the app's clock: tower-sessions computes it from the wall clock, so keep
/// its remaining lifetime and anchor that to `Clock::now` (which tests move).
fn expires_at(clock: &Clock, record: &Record) -> i64 {
    let remaining = record.expiry_date.unix_timestamp() - time::OffsetDateTime::now_utc().unix_timestamp();
    clock.now() + remaining
}

fn user_id(record: &Record) -> Option<i64> {
    record.data.get(USER_ID_KEY).and_then(serde_json::Value::as_i64)
}

const INSERT_SESSION: &str = "INSERT INTO sessions (id_hash, user_id, data, created_at, expires_at, ip, user_agent, \
     last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id_hash) DO NOTHING";
const UPSERT_SESSION: &str = "INSERT INTO sessions (id_hash, user_id, data, created_at, expires_at, ip, user_agent, \
     last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id_hash) DO UPDATE SET \
     user_id = excluded.user_id, data = excluded.data, expires_at = excluded.expires_at, ip = excluded.ip, \
     user_agent = excluded.user_agent, last_seen_at = excluded.last_seen_at";

impl DbSessionStore {
    /// Writes `record` with `sql` (insert or upsert); returns the rows written.
    async fn write(&self, sql: &'static str, record: &Record) -> session_store::Result<u64> {
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let result = sqlx::query(sql)
            .bind(id_hash(&record.id))
            .bind(user_id(record))
            .bind(&data)
            .bind(self.clock.now())
            .bind(expires_at(&self.clock, record))
            .bind(text(record, IP_KEY))
            .bind(text(record, USER_AGENT_KEY))
            .bind(record.data.get(SEEN_AT_KEY).and_then(serde_json::Value::as_i64).unwrap_or(0))
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected())
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits; a collision is not expected, but a retry costs nothing.
        for _ in 0..3 {
            if self.write(INSERT_SESSION, record).await? == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(backend("could not allocate a session id"))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(UPSERT_SESSION, record).await?;
        self.db.changes.publish(&Change::Session(id_hash(&record.id)));
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT data, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2")
                .bind(id_hash(id))
                .bind(self.clock.now())
                .fetch_optional(&self.db.pool)
                .await
                .map_err(backend)?;
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        let data = serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires_at).map_err(backend)?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash(id))
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
        self.db.changes.publish(&Change::Session(id_hash(id)));
        Ok(())
    }
}

/// Reads the session keys `T` names from a session's stored data (a JSON object of every key),
/// for queries that read a session together with other rows.
pub fn decode_data<T: serde::de::DeserializeOwned>(data: &str) -> Option<T> {
    serde_json::from_str(data).ok()
}

/// The name (`id_hash`) of the session a request came with.
pub fn current_hash(session: &tower_sessions::Session) -> Option<String> {
    session.id().map(|id| id_hash(&id))
}
