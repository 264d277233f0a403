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
}
