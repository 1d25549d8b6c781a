//! Write transactions, and the queue SQLite writers wait in.
//!
//! SQLite lets one writer at a time hold the file. A second `BEGIN IMMEDIATE` waits in SQLite's
//! busy handler, which sleeps between tries (1, 2, 5 … up to 100 ms) instead of waking when the
//! lock is released: four clients toggling likes saw a p99 of 128 ms on 30,000 likes and 468 ms
//! on 3,000,000 (BENCHMARKS.md, growth). The writers of one process therefore queue on a
//! semaphore first, in order, and reach SQLite one at a time; only another process (a CLI
//! command) still meets the busy handler.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::{AnyConnection, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::changes::Changes;

/// How long a writer waits for its turn: SQLite's own busy timeout, so a request waits no longer
/// than it did in the busy handler before it is answered 503.
const TURN_TIMEOUT: Duration = Duration::from_secs(5);

/// A transaction that will write. It derefs to its connection, like sqlx's `Transaction`.
/// Dropped without `commit`, it rolls back; either way the next writer gets its turn.
pub struct Tx {
    inner: Transaction<'static, sqlx::Any>,
    turn: Option<OwnedSemaphorePermit>,
    changes: Changes,
}

impl Tx {
    pub(super) fn new(
        inner: Transaction<'static, sqlx::Any>,
        turn: Option<OwnedSemaphorePermit>,
        changes: Changes,
    ) -> Self {
        Self { inner, turn, changes }
    }

    /// Commits, then waits until this process has heard of what the commit changed (a user's
    /// or a session's row): a session ended here is refused here from the next request on.
    pub async fn commit(self) -> sqlx::Result<()> {
        let Self { inner, turn, changes } = self;
        inner.commit().await?;
        drop(turn);
        changes.catch_up().await;
        Ok(())
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        self.inner.rollback().await
    }
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

/// The queue of one process's SQLite writers (none on PostgreSQL, whose row locks order writers).
#[derive(Clone, Debug)]
pub(super) struct WriteQueue(Arc<Semaphore>);

impl WriteQueue {
    pub(super) fn new() -> Self {
        Self(Arc::new(Semaphore::new(1)))
    }

    /// Waits for this writer's turn; past the timeout the answer is the pool's "no connection in
    /// time" (a 503 with `Retry-After`), as for a busy database.
    pub(super) async fn turn(&self) -> sqlx::Result<OwnedSemaphorePermit> {
        match tokio::time::timeout(TURN_TIMEOUT, self.0.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(sqlx::Error::PoolClosed),
            Err(_elapsed) => Err(sqlx::Error::PoolTimedOut),
        }
    }
}
