//! Sign-in throttling, kept in the database so every replica sees it.
//!
//! Two counters per attempt, each over a 15-minute window:
//! - per account, email and client address: after 5 failures that address is
//!   locked out of that sign-in for 30 s, doubling with each further failure
//!   up to 15 minutes. It stops guessing from one place without touching
//!   anybody else.
//! - per account and email from anywhere: after 50 failures every address is
//!   locked out of that sign-in for 30 s at a time. It slows guessing spread
//!   over many addresses, and is short on purpose so an attacker cannot use
//!   it to keep the real person out for long.
//!
//! A successful sign-in clears the first counter for that address.

use sqlx::Row;
use time::OffsetDateTime;

use crate::db::{to_ms, Db};

const WINDOW_MS: i64 = 15 * 60 * 1000;
const PER_ADDRESS_LIMIT: i64 = 5;
const PER_ADDRESS_FIRST_LOCK_MS: i64 = 30_000;
const PER_ADDRESS_MAX_LOCK_MS: i64 = 15 * 60 * 1000;
const PER_USER_LIMIT: i64 = 50;
const PER_USER_LOCK_MS: i64 = 30_000;

/// The throttle keys of one sign-in attempt.
#[derive(Debug, Clone)]
pub struct Keys {
    address: String,
    user: String,
}

impl Keys {
    /// Keys for an attempt on `account`/`email` from `ip`. Inputs are
    /// normalised so that case changes do not dodge the counter, and stored
    /// as SHA-256 hex: bounded in length, and safe whatever bytes a client
    /// sends.
    pub fn new(account: &str, email: &str, ip: &str) -> Keys {
        use sha2::{Digest, Sha256};
        let account = account.trim().to_lowercase();
        let email = email.trim().to_lowercase();
        let hash = |s: String| hex::encode(Sha256::digest(s.as_bytes()));
        Keys {
            address: hash(format!("a|{account}|{email}|{ip}")),
            user: hash(format!("u|{account}|{email}")),
        }
    }
}

/// Seconds until an attempt with these keys is allowed, if it is locked.
pub async fn locked_for(db: &Db, keys: &Keys, now: OffsetDateTime) -> sqlx::Result<Option<u64>> {
    let now_ms = to_ms(now);
    let row = sqlx::query(
        "SELECT MAX(locked_until) AS until FROM login_throttle WHERE key = $1 OR key = $2",
    )
    .bind(&keys.address)
    .bind(&keys.user)
    .fetch_one(&db.pool)
    .await?;
    let until: Option<i64> = row.try_get("until")?;
    Ok(until
        .filter(|u| *u > now_ms)
        .map(|u| ((u - now_ms) as u64).div_ceil(1000)))
}

/// Counts a failed attempt.
pub async fn record_failure(db: &Db, keys: &Keys, now: OffsetDateTime) -> sqlx::Result<()> {
    bump(db, &keys.address, now, |failures| {
        (failures >= PER_ADDRESS_LIMIT).then(|| {
            let doublings = (failures - PER_ADDRESS_LIMIT).min(16) as u32;
            (PER_ADDRESS_FIRST_LOCK_MS << doublings).min(PER_ADDRESS_MAX_LOCK_MS)
        })
    })
    .await?;
    bump(db, &keys.user, now, |failures| {
        (failures >= PER_USER_LIMIT && failures % PER_USER_LIMIT == 0).then_some(PER_USER_LOCK_MS)
    })
    .await
}

/// Clears the per-address counter after a successful sign-in.
pub async fn record_success(db: &Db, keys: &Keys) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(&keys.address)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Forgets counters whose window and lock have both passed.
pub async fn prune(db: &Db, now: OffsetDateTime) -> sqlx::Result<u64> {
    let now_ms = to_ms(now);
    let done =
        sqlx::query("DELETE FROM login_throttle WHERE window_start < $1 AND locked_until < $2")
            .bind(now_ms - WINDOW_MS)
            .bind(now_ms)
            .execute(&db.pool)
            .await?;
    Ok(done.rows_affected())
}

async fn bump(
    db: &Db,
    key: &str,
    now: OffsetDateTime,
    lock_ms: impl Fn(i64) -> Option<i64>,
) -> sqlx::Result<()> {
    let now_ms = to_ms(now);
    let current = sqlx::query(
        "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    let (failures, window_start, locked_until) = match current {
        Some(row) if now_ms - row.try_get::<i64, _>("window_start")? < WINDOW_MS => (
            row.try_get::<i64, _>("failures")? + 1,
            row.try_get::<i64, _>("window_start")?,
            row.try_get::<i64, _>("locked_until")?,
        ),
        _ => (1, now_ms, 0),
    };
    let locked_until = match lock_ms(failures) {
        Some(ms) => locked_until.max(now_ms + ms),
        None => locked_until,
    };
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
             window_start = excluded.window_start, locked_until = excluded.locked_until",
    )
    .bind(key)
    .bind(failures)
    .bind(window_start)
    .bind(locked_until)
    .execute(&db.pool)
    .await?;
    Ok(())
}
