//! Signed-in requests without a database read: a session's stored data and its user, kept in
//! memory for up to a minute, at most `CAPACITY` sessions. An entry is forgotten when the change
//! feed (`db/changes.rs`) names its session or its user, here or in any other process; while the
//! feed is not live the cache is neither read nor filled.
//!
//! The user is held as `dyn Any`: the kernel knows that a session belongs to a user, not what a
//! user is (the accounts app does).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::kernel::db::changes::{Change, Changes};

const CAPACITY: usize = 4096;
const MAX_AGE: Duration = Duration::from_secs(60);

/// What is kept per session.
#[derive(Clone)]
pub struct Cached {
    /// The session's stored data (JSON).
    pub data: Arc<str>,
    pub expires_at: i64,
    pub user_id: i64,
    pub user: Arc<dyn Any + Send + Sync>,
}

struct Entry {
    cached: Cached,
    stored: Instant,
}

#[derive(Clone)]
pub struct SessionCache(Arc<Inner>);

struct Inner {
    entries: Mutex<HashMap<String, Entry>>,
    changes: Changes,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache").field("entries", &self.len()).finish()
    }
}

/// Read before the database is: a fill is kept only if nothing changed meanwhile.
#[derive(Clone, Copy, Debug)]
pub struct Ticket(u64);

impl SessionCache {
    pub fn new(changes: &Changes) -> Self {
        let cache = Self(Arc::new(Inner { entries: Mutex::new(HashMap::new()), changes: changes.clone() }));
        let weak: Weak<Inner> = Arc::downgrade(&cache.0);
        changes.subscribe(move |change| {
            if let Some(inner) = weak.upgrade() {
                inner.forget(change);
            }
        });
        cache
    }

    /// Sessions held now.
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The session named `id_hash`, if it is cached, fresh and not expired at `now`.
    pub fn get(&self, id_hash: &str, now: i64) -> Option<Cached> {
        if !self.0.changes.is_live() {
            return None;
        }
        let entries = self.0.lock();
        let entry = entries.get(id_hash)?;
        (entry.stored.elapsed() < MAX_AGE && entry.cached.expires_at > now).then(|| entry.cached.clone())
    }

    /// To be taken before reading the session from the database; `None` when the cache is off.
    pub fn ticket(&self) -> Option<Ticket> {
        self.0.changes.is_live().then(|| Ticket(self.0.changes.epoch()))
    }

    /// Keeps what was read under `ticket`, unless a change arrived since it was taken.
    pub fn put(&self, ticket: Ticket, id_hash: &str, cached: Cached) {
        let mut entries = self.0.lock();
        // Checked under the lock a change's `forget` takes too: a change either shows here or
        // removes the entry after it is stored.
        if self.0.changes.epoch() != ticket.0 {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.retain(|_, entry| entry.stored.elapsed() < MAX_AGE);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(id_hash.to_owned(), Entry { cached, stored: Instant::now() });
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&self, change: &Change) {
        let mut entries = self.lock();
        match change {
            Change::Session(id_hash) => {
                entries.remove(id_hash);
            }
            Change::User(id) => entries.retain(|_, entry| entry.cached.user_id != *id),
            Change::All => entries.clear(),
        }
    }
}
