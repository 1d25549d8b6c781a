//! Server-side sessions (tower-sessions) stored in the `sessions` table. The cookie holds an
//! opaque 128-bit id; the table holds only its SHA-256, plus the signed-in user's id so that a
//! password change or deletion can end every session of that user.

use async_trait::async_trait;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::kernel::clock::Clock;
use crate::kernel::config::Settings;
use crate::kernel::db::Db;
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

fn id_hash(id: &Id) -> String {
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
        Ok(())
    }
}

/// The session layer: HttpOnly, SameSite=Lax, `__Host-` prefixed and Secure in production.
pub fn layer(settings: &Settings, store: DbSessionStore) -> SessionManagerLayer<DbSessionStore> {
    let production = settings.is_production();
    SessionManagerLayer::new(store)
        .with_name(if production { "__Host-sessionid" } else { "sessionid" })
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(production)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::days(settings.session_idle_days)))
}

/// Ends every session of `user_id`, except `keep` (the session making the request) if given.
pub async fn delete_user_sessions(db: &Db, user_id: i64, keep: Option<&Id>) -> sqlx::Result<u64> {
    let keep = keep.map(id_hash).unwrap_or_default();
    let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(keep)
        .execute(&db.pool)
        .await?;
    Ok(result.rows_affected())
}

pub async fn delete_expired_sessions(db: &Db, now: i64) -> sqlx::Result<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(&db.pool).await?;
    Ok(result.rows_affected())
}

/// One signed-in session, as its owner or staff see it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionInfo {
    /// SHA-256 of the session id: names the session in forms without revealing it.
    pub id_hash: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: String,
    pub user_agent: String,
}

pub async fn list_user_sessions(db: &Db, user_id: i64, now: i64) -> sqlx::Result<Vec<SessionInfo>> {
    sqlx::query_as(
        "SELECT id_hash, created_at, last_seen_at, ip, user_agent FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, created_at DESC",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(&db.pool)
    .await
}

/// Ends one session of `user_id`; false when there was none by that name.
pub async fn delete_user_session(db: &Db, user_id: i64, id_hash: &str) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash = $2")
        .bind(user_id)
        .bind(id_hash)
        .execute(&db.pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Ends every session of `user_id` except the one named `keep` (an `id_hash`).
pub async fn delete_user_sessions_except_hash(db: &Db, user_id: i64, keep: Option<&str>) -> sqlx::Result<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(&db.pool)
        .await?;
    Ok(result.rows_affected())
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
