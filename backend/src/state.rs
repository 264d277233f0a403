//! What every handler shares.

use std::sync::Arc;

use crate::auth::password::Hasher;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::Db;
use crate::sessions::activity::ActivityTracker;

/// Shared application state, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Database.
    pub db: Db,
    /// The time.
    pub clock: SharedClock,
    /// Checked configuration.
    pub config: Arc<Config>,
    /// Password hashing.
    pub hasher: Hasher,
    /// Coalesced last-activity writes.
    pub activity: ActivityTracker,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Recently checked sessions.
    pub sessions: Arc<crate::sessions::cache::SessionCache>,
}

impl AppState {
    /// Forgets ended sessions in this process: held activity and cache entries.
    pub fn forget_ended<'a>(&self, ids: impl IntoIterator<Item = &'a str> + Clone) {
        for id in ids.clone() {
            self.activity.forget(id);
        }
        self.sessions.forget_sessions(ids);
    }
}
