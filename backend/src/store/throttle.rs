//! Sign-in throttle counters (`login_throttle`), one row per key. The rules
//! that decide what a counter allows live in `auth::throttle`; here a
//! counter is read and changed under a row lock (SQLite: its one writer),
//! so concurrent attempts are counted one after another, never lost.

use sqlx::Row;

use super::{Result, Store};

/// One key's counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    /// Attempts counted in the current window.
    pub failures: i64,
    /// Window start, milliseconds since the epoch.
    pub window_start: i64,
    /// Locked until, milliseconds since the epoch (0: never locked).
    pub locked_until: i64,
    /// Attempts counted in the window before (for sliding windows).
    pub previous: i64,
}

/// Reads `key`'s counter (a fresh one starting at `now_ms` when missing),
/// lets `decide` change it, and stores the change — atomically: a second
/// attempt on the same key waits for the first to be counted.
pub async fn update<T>(
    store: &Store,
    key: &str,
    now_ms: i64,
    decide: impl FnOnce(Counter) -> (Counter, T),
) -> Result<T> {
    let mut tx = store.begin().await?;
    // One statement that creates the row or locks the one there and returns
    // it: a separate insert and `SELECT … FOR UPDATE` leave a gap in which a
    // successful sign-in can delete the row (PostgreSQL then found nothing
    // to select). The no-op update takes the row lock on PostgreSQL; SQLite
    // holds its one write lock from `BEGIN IMMEDIATE`.
    let row = sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until, previous)
         VALUES ($1, 0, $2, 0, 0)
         ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
         RETURNING failures, window_start, locked_until, previous",
    )
    .bind(key)
    .bind(now_ms)
    .fetch_one(tx.conn())
    .await?;
    let current = Counter {
        failures: row.try_get("failures")?,
        window_start: row.try_get("window_start")?,
        locked_until: row.try_get("locked_until")?,
        previous: row.try_get("previous")?,
    };
    let (next, out) = decide(current);
    if next != current {
        sqlx::query(
            "UPDATE login_throttle SET failures = $1, window_start = $2, locked_until = $3, previous = $4
             WHERE key = $5",
        )
        .bind(next.failures)
        .bind(next.window_start)
        .bind(next.locked_until)
        .bind(next.previous)
        .bind(key)
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// Reads `key`'s counter without changing it (`None`: no counter).
pub async fn get(store: &Store, key: &str) -> Result<Option<Counter>> {
    let row = sqlx::query(
        "SELECT failures, window_start, locked_until, previous FROM login_throttle WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(store.pool())
    .await?;
    row.map(|row| {
        Ok(Counter {
            failures: row.try_get("failures")?,
            window_start: row.try_get("window_start")?,
            locked_until: row.try_get("locked_until")?,
            previous: row.try_get("previous")?,
        })
    })
    .transpose()
}

/// Forgets a key.
pub async fn delete(store: &Store, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(&mut *store.writer().await?)
        .await?;
    Ok(())
}

/// Forgets counters whose window started before `window_before` and whose
/// lock ended before `unlocked_before` (both in milliseconds).
pub async fn prune(store: &Store, window_before: i64, unlocked_before: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM login_throttle WHERE window_start < $1 AND locked_until < $2")
            .bind(window_before)
            .bind(unlocked_before)
            .execute(&mut *store.writer().await?)
            .await?
            .rows_affected(),
    )
}
