//! The feed of changes to signed-in state: a user's row or a session's row changed or went.
//! Caches of that state (`kernel/session_cache.rs`) forget what the feed names, in every
//! instance on the database:
//!
//! - triggers (migration 0042) report every update and delete of `users` and `sessions`, made by
//!   any process: a server, a CLI command, a hand-typed statement;
//! - on SQLite they append to `auth_changes`, which each server reads every 250 ms, and the
//!   process that wrote reads at once after its commit;
//! - on PostgreSQL they `NOTIFY auth_changes`, which a dedicated connection per server
//!   `LISTEN`s to. PostgreSQL delivers notifications at commit, in commit order. After its own
//!   commit a process sends itself a marker and waits until the marker is back: every change
//!   committed before it has then arrived.
//!
//! The feed is live while it is demonstrably working: a poll that succeeded (SQLite) or a
//! marker that came back (PostgreSQL, one every 250 ms) in the last second. A cache is used only
//! while the feed is live, so a revocation reaches every instance within a second even when the
//! feed breaks; when it comes back after a gap, every cache is cleared first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::AnyPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use super::Backend;

/// How often a server polls (SQLite) or sends itself a marker (PostgreSQL).
const BEAT: Duration = Duration::from_millis(250);
/// How long the feed counts as live after its last proof of working.
const LIVE_FOR: Duration = Duration::from_secs(1);
/// How long a writer waits for its marker before it declares the feed down.
const MARKER_WAIT: Duration = Duration::from_secs(1);
/// Markers sent and not back after which the listening connection counts as dead (5 s): one
/// that died without a word (a dropped route, a frozen server) would otherwise be waited on until
/// TCP gives up, which takes minutes to hours.
const MARKERS_MISSING_BEFORE_RECONNECT: u64 = 20;
/// SQLite's `auth_changes` rows are kept this long (seconds), for servers that fall behind.
const KEEP_SECS: i64 = 3600;
const CHANNEL: &str = "auth_changes";

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    User(i64),
    /// A session, by its `id_hash`.
    Session(String),
    /// Anything may have changed (the feed had a gap).
    All,
}

type Subscriber = Box<dyn Fn(&Change) + Send + Sync>;

/// What the listening loop woke up for.
enum Heard {
    Beat,
    Stop,
    Notification(String),
    Lost,
}

/// The feed; cheap to clone. It starts inactive (never live): CLI commands keep no caches.
#[derive(Clone)]
pub struct Changes(Arc<Inner>);

struct Inner {
    backend: Backend,
    subscribers: RwLock<Vec<Subscriber>>,
    /// Bumped on every change delivered; a cache fill that saw it move discards its result.
    epoch: AtomicU64,
    born: Instant,
    /// Milliseconds since `born` until which the feed is live (0: not live).
    live_until: AtomicU64,
    /// Set by `start`: the pool a catch-up reads through.
    pool: std::sync::OnceLock<AnyPool>,
    /// SQLite: the last `auth_changes` row applied (a poll and a writer's catch-up take turns).
    cursor: tokio::sync::Mutex<i64>,
    /// PostgreSQL: this process's name in markers, the last marker sent and the last one back.
    instance: u64,
    sent: AtomicU64,
    returned: watch::Sender<u64>,
    /// PostgreSQL: where the listening connection connects (kept out of `Debug`).
    url: Option<String>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes").field("live", &self.is_live()).field("epoch", &self.epoch()).finish()
    }
}

impl Changes {
    pub(super) fn new(backend: Backend, url: Option<String>) -> Self {
        Self(Arc::new(Inner {
            backend,
            subscribers: RwLock::new(Vec::new()),
            epoch: AtomicU64::new(0),
            born: Instant::now(),
            live_until: AtomicU64::new(0),
            pool: std::sync::OnceLock::new(),
            cursor: tokio::sync::Mutex::new(0),
            instance: rand::random(),
            sent: AtomicU64::new(0),
            returned: watch::channel(0).0,
            url,
        }))
    }

    /// Calls `f` with every change from now on.
    pub fn subscribe(&self, f: impl Fn(&Change) + Send + Sync + 'static) {
        self.0.subscribers.write().unwrap_or_else(|e| e.into_inner()).push(Box::new(f));
    }

    /// Whether caches may be used now.
    pub fn is_live(&self) -> bool {
        self.elapsed_ms() < self.0.live_until.load(Ordering::Acquire)
    }

    /// Changes delivered so far; see `Inner::epoch`.
    pub fn epoch(&self) -> u64 {
        self.0.epoch.load(Ordering::Acquire)
    }

    /// Delivers a change this process knows it made (the session store's own writes), at once.
    pub fn publish(&self, change: &Change) {
        self.0.epoch.fetch_add(1, Ordering::AcqRel);
        for subscriber in self.0.subscribers.read().unwrap_or_else(|e| e.into_inner()).iter() {
            subscriber(change);
        }
    }

    /// After this process's own commit: returns once every change committed so far has been
    /// delivered here. Does nothing while the feed is not live (caches are bypassed then, and a
    /// write must not wait for a feed that is down). A feed that cannot catch up is declared
    /// down rather than left to serve stale entries.
    pub async fn catch_up(&self) {
        let Some(pool) = self.0.pool.get() else { return };
        if !self.is_live() {
            return;
        }
        let caught_up = match self.0.backend {
            Backend::Sqlite => self.poll(pool).await.is_ok(),
            Backend::Postgres => self.marker_returns(pool).await,
        };
        if !caught_up {
            self.down();
        }
    }

    /// Starts following the feed until `stop` turns true or the pool closes.
    pub fn start(&self, pool: AnyPool, stop: watch::Receiver<bool>) {
        if self.0.pool.set(pool.clone()).is_err() {
            return;
        }
        let feed = self.clone();
        match self.0.backend {
            Backend::Sqlite => {
                tokio::spawn(async move { feed.poll_until(pool, stop).await });
            }
            Backend::Postgres => {
                tokio::spawn(async move { feed.listen_until(pool, stop).await });
            }
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.0.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The feed just proved to work. One task calls this per process (the poller or the
    /// listener), so the check and the store below do not race each other.
    fn alive_now(&self) {
        let now = self.elapsed_ms();
        if self.0.live_until.load(Ordering::Acquire) <= now && self.0.backend == Backend::Postgres {
            // Notifications may have been missed while the feed was not proven to work: forget
            // everything before the cache is read again.
            self.publish(&Change::All);
        }
        let until = now + u64::try_from(LIVE_FOR.as_millis()).unwrap_or(0);
        self.0.live_until.store(until, Ordering::Release);
    }

    fn down(&self) {
        if self.0.live_until.swap(0, Ordering::AcqRel) > 0 {
            tracing::warn!(event = "auth_feed_down", "change feed down: signed-in state is read from the database");
        }
        self.publish(&Change::All);
    }

    async fn poll_until(&self, pool: AnyPool, mut stop: watch::Receiver<bool>) {
        if let Err(err) = self.start_cursor(&pool).await {
            tracing::warn!(error = %err, "change feed: could not read where it stands");
        }
        let mut tick = tokio::time::interval(BEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut beats: u64 = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                // A dropped sender (the server is gone) ends the loop too.
                changed = stop.changed() => if changed.is_err() { break },
            }
            if *stop.borrow() || pool.is_closed() {
                break;
            }
            match self.poll(&pool).await {
                Ok(()) => self.alive_now(),
                Err(err) => {
                    tracing::debug!(error = %err, "change feed: poll failed");
                }
            }
            beats += 1;
            if beats.is_multiple_of(240) {
                prune(&pool).await;
            }
        }
    }

    async fn start_cursor(&self, pool: &AnyPool) -> sqlx::Result<()> {
        let last: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM auth_changes").fetch_one(pool).await?;
        *self.0.cursor.lock().await = last;
        Ok(())
    }

    /// Applies the `auth_changes` rows after the cursor. Rows commit in id order on SQLite (one
    /// writer at a time takes the next id), so none can appear behind the cursor later.
    async fn poll(&self, pool: &AnyPool) -> sqlx::Result<()> {
        let mut cursor = self.0.cursor.lock().await;
        let rows: Vec<(i64, Option<i64>, Option<String>)> =
            sqlx::query_as("SELECT id, user_id, session_hash FROM auth_changes WHERE id > $1 ORDER BY id LIMIT 1000")
                .bind(*cursor)
                .fetch_all(pool)
                .await?;
        let Some(&(first, ..)) = rows.first() else { return Ok(()) };
        // Ids have no gaps (AUTOINCREMENT, and a rolled-back write takes its id back): a gap
        // means rows this server never saw were pruned. A full batch is simply too much to
        // go through one by one.
        if (*cursor > 0 && first > *cursor + 1) || rows.len() == 1000 {
            self.publish(&Change::All);
        } else {
            for (_, user_id, session_hash) in &rows {
                if let Some(id) = user_id {
                    self.publish(&Change::User(*id));
                }
                if let Some(hash) = session_hash {
                    self.publish(&Change::Session(hash.clone()));
                }
            }
        }
        *cursor = rows.last().map_or(*cursor, |row| row.0);
        Ok(())
    }

    async fn listen_until(&self, pool: AnyPool, mut stop: watch::Receiver<bool>) {
        let Some(url) = self.0.url.as_deref() else { return };
        let mut listener: Option<PgListener> = None;
        // The last marker sent before the current connection listened: later ones must come back.
        let mut answered_before = 0;
        let mut tick = tokio::time::interval(BEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if *stop.borrow() || pool.is_closed() {
                break;
            }
            let Some(connected) = listener.as_mut() else {
                listener = connect_listener(url).await;
                answered_before = self.0.sent.load(Ordering::Acquire);
                if listener.is_none() {
                    self.down();
                    tokio::select! {
                        _ = tokio::time::sleep(BEAT) => {}
                        changed = stop.changed() => if changed.is_err() { break },
                    }
                }
                continue;
            };
            let event = tokio::select! {
                _ = tick.tick() => Heard::Beat,
                changed = stop.changed() => if changed.is_err() { Heard::Stop } else { Heard::Beat },
                received = connected.try_recv() => match received {
                    Ok(Some(notification)) => Heard::Notification(notification.payload().to_owned()),
                    // The connection was lost; what was sent meanwhile is lost too.
                    Ok(None) | Err(_) => Heard::Lost,
                },
            };
            match event {
                Heard::Beat => {
                    let sent = self.send_marker(&pool).await;
                    let answered = answered_before.max(*self.0.returned.borrow());
                    if sent.saturating_sub(answered) > MARKERS_MISSING_BEFORE_RECONNECT {
                        tracing::warn!(
                            event = "auth_feed_silent",
                            "change feed: markers stopped coming back; listening again"
                        );
                        self.down();
                        listener = None;
                    }
                }
                Heard::Stop => break,
                Heard::Notification(payload) => self.deliver(&payload),
                Heard::Lost => {
                    self.down();
                    listener = None;
                }
            }
        }
    }

    async fn send_marker(&self, pool: &AnyPool) -> u64 {
        let n = self.0.sent.fetch_add(1, Ordering::AcqRel) + 1;
        let payload = format!("m{}:{n}", self.0.instance);
        if let Err(err) = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(pool).await {
            tracing::debug!(error = %err, "change feed: marker not sent");
        }
        n
    }

    async fn marker_returns(&self, pool: &AnyPool) -> bool {
        let mut returned = self.0.returned.subscribe();
        let n = self.send_marker(pool).await;
        tokio::time::timeout(MARKER_WAIT, returned.wait_for(|&back| back >= n)).await.is_ok_and(|r| r.is_ok())
    }

    /// One notification: a user (`u<id>`), a session (`s<id_hash>`) or a marker
    /// (`m<instance>:<n>`, this process's own or another's).
    fn deliver(&self, payload: &str) {
        let (kind, rest) = payload.split_at(payload.len().min(1));
        match kind {
            "u" => match rest.parse() {
                Ok(id) => self.publish(&Change::User(id)),
                Err(_) => self.publish(&Change::All),
            },
            "s" => self.publish(&Change::Session(rest.to_owned())),
            "m" => {
                let mine = format!("{}:", self.0.instance);
                if let Some(n) = rest.strip_prefix(&mine).and_then(|n| n.parse::<u64>().ok()) {
                    self.alive_now();
                    self.0.returned.send_if_modified(|back| {
                        let newer = n > *back;
                        *back = (*back).max(n);
                        newer
                    });
                }
            }
            _ => self.publish(&Change::All),
        }
    }
}

async fn connect_listener(url: &str) -> Option<PgListener> {
    let connected = async {
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match tokio::time::timeout(Duration::from_secs(5), connected).await {
        Ok(Ok(listener)) => Some(listener),
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "change feed: cannot listen");
            None
        }
        Err(_) => None,
    }
}

/// Drops `auth_changes` rows older than `KEEP_SECS`.
async fn prune(pool: &AnyPool) {
    let cutoff = time::OffsetDateTime::now_utc().unix_timestamp() - KEEP_SECS;
    if let Err(err) = sqlx::query("DELETE FROM auth_changes WHERE changed_at < $1").bind(cutoff).execute(pool).await {
        tracing::debug!(error = %err, "change feed: prune failed");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn recording() -> (Changes, Arc<Mutex<Vec<Change>>>) {
        let changes = Changes::new(Backend::Postgres, None);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        changes.subscribe(move |change| sink.lock().unwrap().push(change.clone()));
        (changes, seen)
    }

    #[test]
    fn notifications_name_a_user_or_a_session_and_anything_else_means_everything() {
        let (changes, seen) = recording();
        for payload in ["u42", "sabc123", "u4x2", "", "z"] {
            changes.deliver(payload);
        }
        let expected = [Change::User(42), Change::Session("abc123".into()), Change::All, Change::All, Change::All];
        assert_eq!(*seen.lock().unwrap(), expected);
        assert_eq!(changes.epoch(), 5);
    }

    #[test]
    fn only_this_process_s_own_marker_proves_the_feed_live() {
        let (changes, seen) = recording();
        changes.deliver(&format!("m{}:1", changes.0.instance.wrapping_add(1)));
        assert!(!changes.is_live(), "another instance's marker");
        changes.deliver(&format!("m{}:1", changes.0.instance));
        assert!(changes.is_live());
        assert_eq!(*changes.0.returned.borrow(), 1);
        // Coming back live forgets everything first: notifications may have been missed.
        assert_eq!(*seen.lock().unwrap(), [Change::All]);
    }

    #[test]
    fn a_feed_never_started_is_never_live() {
        let changes = Changes::new(Backend::Sqlite, None);
        assert!(!changes.is_live());
    }
}
