//! What every handler shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::auth::device::{DeviceKey, KEY_NAME};
use crate::auth::password::Hasher;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::outbound::{Outbound, Rules};
use crate::sessions::Sessions;
use crate::store::Store;

/// Shared application state, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database (the same handle the session engine writes through,
    /// so handlers' commits reach session memory too).
    pub store: Store,
    /// The time.
    pub clock: SharedClock,
    /// Checked configuration.
    pub config: Arc<Config>,
    /// Password hashing.
    pub hasher: Hasher,
    /// The session engine: checking, touching, ending sessions.
    pub sessions: Sessions,
    /// Signs device cookies.
    pub device_key: DeviceKey,
    /// Signs the session lists' page cursors.
    pub cursor_key: crate::routes::paging::CursorKey,
    /// Derives people's draft keys.
    pub draft_keys: crate::drafts::DraftKeys,
    /// Requests to identity providers (and webhooks), under the outbound
    /// rules.
    pub outbound: Outbound,
    /// Set when the server starts shutting down.
    draining: Arc<AtomicBool>,
}

impl AppState {
    /// Connects to the configured database, applies migrations and sets up
    /// the session engine.
    pub async fn build(config: Config, clock: SharedClock) -> anyhow::Result<AppState> {
        let store = Store::open(&config.database_url).await?;
        let hasher = Hasher::new(config.hash_concurrency, config.hash_queue).await?;
        let sessions = Sessions::new(
            &store,
            clock.clone(),
            config.session_memory,
            config.activity_write_secs,
        );
        // Where this process starts hearing of endings by others (SQLite).
        sessions.catch_up().await?;
        let device_key = device_key(&store, clock.now()).await?;
        let cursor_key = cursor_key(&store, clock.now()).await?;
        let draft_keys = draft_keys(&store, clock.now()).await?;
        let outbound = Outbound::new(Rules::new(config.outbound_allow.clone()))?;
        Ok(AppState {
            device_key,
            cursor_key,
            draft_keys,
            outbound,
            store: sessions.store.clone(),
            clock,
            hasher,
            sessions,
            config: Arc::new(config),
            draining: Arc::default(),
        })
    }

    /// The server is shutting down: `/readyz` answers 503 from now on, and
    /// live channels close so browsers reconnect to another server, while
    /// requests in flight finish.
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::Release);
        self.sessions.memory.live.close_all();
    }

    /// The re-authentication guard with this server's limit
    /// (`VIGIL_REAUTH_SECS`): 403 `reauthentication_required` unless the
    /// session authenticated recently enough. Call it in every sensitive
    /// handler before changing anything; see
    /// [`Current::require_recent_authentication`].
    pub async fn require_recent_authentication(
        &self,
        current: &crate::sessions::Current,
    ) -> Result<(), crate::error::ApiError> {
        current
            .require_recent_authentication(&self.sessions, self.config.reauth_secs)
            .await
    }

    /// Whether the server is shutting down.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

/// The device-cookie key every replica shares (created on first start).
async fn device_key(store: &Store, now: time::OffsetDateTime) -> anyhow::Result<DeviceKey> {
    let stored =
        crate::store::keys::get_or_create(store, KEY_NAME, DeviceKey::generate_hex, now).await?;
    DeviceKey::from_hex(&stored).ok_or_else(|| {
        anyhow::anyhow!("the stored device-cookie key is unreadable; run `vigil rotate-device-key`")
    })
}

/// The page-cursor key every replica shares (created on first start).
async fn cursor_key(
    store: &Store,
    now: time::OffsetDateTime,
) -> anyhow::Result<crate::routes::paging::CursorKey> {
    use crate::routes::paging::{CursorKey, KEY_NAME};
    let stored =
        crate::store::keys::get_or_create(store, KEY_NAME, CursorKey::generate_hex, now).await?;
    CursorKey::from_hex(&stored)
        .ok_or_else(|| anyhow::anyhow!("the stored page-cursor key is unreadable"))
}

/// The draft-key secret every replica shares (created on first start).
async fn draft_keys(
    store: &Store,
    now: time::OffsetDateTime,
) -> anyhow::Result<crate::drafts::DraftKeys> {
    use crate::drafts::{DraftKeys, KEY_NAME};
    let stored =
        crate::store::keys::get_or_create(store, KEY_NAME, DraftKeys::generate_hex, now).await?;
    DraftKeys::from_hex(&stored)
        .ok_or_else(|| anyhow::anyhow!("the stored draft-key secret is unreadable"))
}
