//! Keys the server signs with (`server_keys`), shared by every replica.

use sqlx::Row;
use time::OffsetDateTime;

use super::{to_ms, Result, Store};

/// The key called `name`; created from `fresh` the first time (every
/// replica ends up with the one that was stored first).
pub async fn get_or_create(
    store: &Store,
    name: &str,
    fresh: impl FnOnce() -> String,
    now: OffsetDateTime,
) -> Result<String> {
    sqlx::query(
        "INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(fresh())
    .bind(to_ms(now))
    .execute(&mut *store.writer().await?)
    .await?;
    Ok(sqlx::query("SELECT value FROM server_keys WHERE name = $1")
        .bind(name)
        .fetch_one(store.pool())
        .await?
        .try_get("value")?)
}

/// Replaces the key called `name`.
pub async fn replace(store: &Store, name: &str, value: &str, now: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, created_at = excluded.created_at",
    )
    .bind(name)
    .bind(value)
    .bind(to_ms(now))
    .execute(&mut *store.writer().await?)
    .await?;
    Ok(())
}
