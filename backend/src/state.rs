//! What every handler shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::auth::password::Hasher;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::sessions::activity::Activity;
use crate::sessions::memory::Memory;
use crate::store::{Dialect, Store};

/// Shared application state, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The time.
    pub clock: SharedClock,
    /// Checked configuration.
    pub config: Arc<Config>,
    /// Password hashing.
    pub hasher: Hasher,
    /// Live sessions held in memory.
    pub memory: Arc<Memory>,
    /// Activity waiting to be written.
    pub activity: Arc<Activity>,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Signs device cookies.
    pub device_key: crate::auth::device::DeviceKey,
    /// Set when the server starts shutting down.
    draining: Arc<AtomicBool>,
}

impl AppState {
    /// Connects to the configured database, applies migrations and sets up
    /// the session memory for the dialect (trusted at once on SQLite; on
    /// PostgreSQL once the listener started by `startup` hears itself).
    pub async fn build(config: Config, clock: SharedClock) -> anyhow::Result<AppState> {
        let store = crate::startup::open_database(&config).await?;
        let hasher = Hasher::new(config.hash_concurrency, config.hash_queue).await?;
        let memory = Arc::new(match config.dialect {
            Dialect::Sqlite => Memory::local(config.session_memory),
            Dialect::Postgres => Memory::listened(config.session_memory),
        });
        let device_key = device_key(&store, clock.now()).await?;
        Ok(AppState {
            device_key,
            store: store.with_subscriber(memory.clone()),
            clock,
            hasher,
            memory,
            activity: Arc::new(Activity::new(config.activity_write_secs)),
            metrics: Arc::default(),
            config: Arc::new(config),
            draining: Arc::default(),
        })
    }

    /// The server is shutting down: `/readyz` answers 503 from now on, and
    /// live channels close so browsers reconnect to another server, while
    /// requests in flight finish.
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::Release);
        self.memory.live.close_all();
    }

    /// Whether the server is shutting down.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

/// The device-cookie key every replica shares (created on first start).
async fn device_key(
    store: &Store,
    now: time::OffsetDateTime,
) -> anyhow::Result<crate::auth::device::DeviceKey> {
    use crate::auth::device::{DeviceKey, KEY_NAME};
    let stored =
        crate::store::keys::get_or_create(store, KEY_NAME, DeviceKey::generate_hex, now).await?;
    DeviceKey::from_hex(&stored).ok_or_else(|| {
        anyhow::anyhow!("the stored device-cookie key is unreadable; run `vigil rotate-device-key`")
    })
}
