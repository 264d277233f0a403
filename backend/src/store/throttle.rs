//! Sign-in throttle counters (`login_throttle`), one row per key. The rules
//! that read and bump them live in `auth::throttle`.

use sqlx::Row;

use super::{Result, Store};

/// One key's failures in its window, and any lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Failures in the window.
    pub failures: i64,
    /// Window start, milliseconds since the epoch.
    pub window_start: i64,
    /// Locked until, milliseconds since the epoch (0: never locked).
    pub locked_until: i64,
}

/// The latest lock of any of `keys`, in milliseconds since the epoch.
pub async fn locked_until(store: &Store, keys: [&str; 2]) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT MAX(locked_until) AS until FROM login_throttle WHERE key = $1 OR key = $2",
    )
    .bind(keys[0])
    .bind(keys[1])
    .fetch_one(store.pool())
    .await?;
    Ok(row.try_get("until")?)
}

/// A key's counter.
pub async fn get(store: &Store, key: &str) -> Result<Option<Counter>> {
    let row = sqlx::query(
        "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(store.pool())
    .await?;
    row.map(|r| {
        Ok(Counter {
            failures: r.try_get("failures")?,
            window_start: r.try_get("window_start")?,
            locked_until: r.try_get("locked_until")?,
        })
    })
    .transpose()
}

/// Stores a key's counter.
pub async fn put(store: &Store, key: &str, c: Counter) -> Result<()> {
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
             window_start = excluded.window_start, locked_until = excluded.locked_until",
    )
    .bind(key)
    .bind(c.failures)
    .bind(c.window_start)
    .bind(c.locked_until)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Forgets a key.
pub async fn delete(store: &Store, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(store.pool())
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
            .execute(store.pool())
            .await?
            .rows_affected(),
    )
}
