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

use time::OffsetDateTime;

use crate::store::{throttle, to_ms, Result, Store};

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
pub async fn locked_for(store: &Store, keys: &Keys, now: OffsetDateTime) -> Result<Option<u64>> {
    let now_ms = to_ms(now);
    let until = throttle::locked_until(store, [&keys.address, &keys.user]).await?;
    Ok(until
        .filter(|u| *u > now_ms)
        .map(|u| ((u - now_ms) as u64).div_ceil(1000)))
}

/// Counts a failed attempt.
pub async fn record_failure(store: &Store, keys: &Keys, now: OffsetDateTime) -> Result<()> {
    bump(store, &keys.address, now, |failures| {
        (failures >= PER_ADDRESS_LIMIT).then(|| {
            let doublings = (failures - PER_ADDRESS_LIMIT).min(16) as u32;
            (PER_ADDRESS_FIRST_LOCK_MS << doublings).min(PER_ADDRESS_MAX_LOCK_MS)
        })
    })
    .await?;
    bump(store, &keys.user, now, |failures| {
        (failures >= PER_USER_LIMIT && failures % PER_USER_LIMIT == 0).then_some(PER_USER_LOCK_MS)
    })
    .await
}

/// Clears the per-address counter after a successful sign-in.
pub async fn record_success(store: &Store, keys: &Keys) -> Result<()> {
    throttle::delete(store, &keys.address).await
}

/// Forgets counters whose window and lock have both passed.
pub async fn prune(store: &Store, now: OffsetDateTime) -> Result<u64> {
    let now_ms = to_ms(now);
    throttle::prune(store, now_ms - WINDOW_MS, now_ms).await
}

async fn bump(
    store: &Store,
    key: &str,
    now: OffsetDateTime,
    lock_ms: impl Fn(i64) -> Option<i64>,
) -> Result<()> {
    let now_ms = to_ms(now);
    let (failures, window_start, locked_until) = match throttle::get(store, key).await? {
        Some(c) if now_ms - c.window_start < WINDOW_MS => {
            (c.failures + 1, c.window_start, c.locked_until)
        }
        _ => (1, now_ms, 0),
    };
    let locked_until = match lock_ms(failures) {
        Some(ms) => locked_until.max(now_ms + ms),
        None => locked_until,
    };
    throttle::put(
        store,
        key,
        throttle::Counter {
            failures,
            window_start,
            locked_until,
        },
    )
    .await
}
