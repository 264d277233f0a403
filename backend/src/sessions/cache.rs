//! A short-lived cache of checked sessions, so the per-request check does
//! not read the database every time.
//!
//! An entry lives at most the cache's TTL (`VIGIL_SESSION_CACHE_MS`, default
//! 500 ms) and is dropped at once when this process ends the session or
//! changes the account's settings. Changes made through another replica
//! (a revocation, a settings change, the other replica's sweeper) are
//! therefore seen within the TTL — the bound the README promises (1 s at
//! most). Deadlines are still evaluated on every request at the clock's
//! time, so a cached session cannot outlive its own deadline.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Current;

/// Checked sessions by token hash.
#[derive(Debug)]
pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Current)>>,
}

impl SessionCache {
    /// A cache keeping entries for `ttl` (zero disables it).
    pub fn new(ttl: Duration) -> Self {
        SessionCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Current)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh entry for this token hash.
    pub fn get(&self, token_hash: &str) -> Option<Current> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.lock();
        entries
            .get(token_hash)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, c)| c.clone())
    }

    /// Remembers a session just read from the database.
    pub fn put(&self, token_hash: String, current: &Current) {
        if !self.ttl.is_zero() {
            self.lock()
                .insert(token_hash, (Instant::now(), current.clone()));
        }
    }

    /// Changes a cached entry in place (keeps its age).
    pub fn update(&self, token_hash: &str, f: impl FnOnce(&mut Current)) {
        if let Some((_, c)) = self.lock().get_mut(token_hash) {
            f(c);
        }
    }

    /// Drops the entries of ended sessions.
    pub fn forget_sessions<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let ids: HashSet<&str> = ids.into_iter().collect();
        if !ids.is_empty() {
            self.lock()
                .retain(|_, (_, c)| !ids.contains(c.session_id.as_str()));
        }
    }

    /// Drops every entry of an account (its settings changed).
    pub fn forget_account(&self, account_id: i64) {
        self.lock().retain(|_, (_, c)| c.account_id != account_id);
    }

    /// Drops entries past their TTL.
    pub fn prune(&self) {
        let ttl = self.ttl;
        self.lock().retain(|_, (at, _)| at.elapsed() < ttl);
    }
}
