//! Coalesced last-activity writes.
//!
//! Writing a session row on every request would make the database the
//! bottleneck of every click. Instead a session's `last_activity_at` is
//! written at most once per *write interval* W, and activity inside the
//! interval is held here and written by the flusher when the interval is up.
//!
//! Why this moves no deadline, not even by W:
//! - this server evaluates a session with the later of the stored and the
//!   held activity, so its own verdicts use the exact last activity;
//! - held activity from instant `t` (with `t < stored + W`) is written by
//!   `stored + W + tick`, and W is at most a quarter of the idle timeout and
//!   the flusher ticks every quarter second, so it reaches the database
//!   before the stored idle deadline `stored + idle` could pass: another
//!   replica, or the sweeper, never sees a stale deadline in time to act on it;
//! - the absolute deadline does not depend on activity at all.
//!
//! What can be lost is only held activity of a replica that crashes (a
//! graceful shutdown flushes it): at most W of activity, so such a session
//! can end at most W early.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::Row;
use time::{Duration, OffsetDateTime};
use vigil_policy::Audience;

use crate::db::{to_ms, Db};

/// A session's held activity.
#[derive(Debug, Clone, Copy)]
struct Held {
    at: OffsetDateTime,
    due: OffsetDateTime,
    created_at: OffsetDateTime,
    idle_secs: u64,
    absolute_secs: u64,
    account_id: i64,
    settings_version: i64,
}

/// What a touch needs to know about a session.
#[derive(Debug, Clone, Copy)]
pub struct TouchTarget<'a> {
    /// Session id.
    pub session_id: &'a str,
    /// Account, for the settings-version guard.
    pub account_id: i64,
    /// The settings version the policy came from.
    pub settings_version: i64,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// The stored last activity.
    pub stored_last_activity: OffsetDateTime,
    /// The idle timeout in force.
    pub idle_secs: u64,
    /// The absolute timeout in force.
    pub absolute_secs: u64,
}

/// Holds activity between writes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ActivityTracker {
    held: Arc<Mutex<HashMap<String, Held>>>,
    /// The last activity this process wrote per session: a cached session
    /// row may be older, and the write decision must not repeat a write.
    written: Arc<Mutex<HashMap<String, OffsetDateTime>>>,
    interval_secs: u64,
    writes: Arc<std::sync::atomic::AtomicU64>,
}

/// Outcome of [`ActivityTracker::touch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// Written to the database now.
    Written,
    /// Held; the flusher writes it within the interval.
    Held,
    /// Not written: the settings changed under it, or the session ended.
    Stale,
}

impl ActivityTracker {
    /// A tracker writing at most every `interval_secs` per session.
    pub fn new(interval_secs: u64) -> Self {
        ActivityTracker {
            held: Arc::new(Mutex::new(HashMap::new())),
            written: Arc::new(Mutex::new(HashMap::new())),
            interval_secs,
            writes: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// The write interval for a policy: the configured interval, but never
    /// more than a quarter of the idle timeout (see the module docs).
    pub fn interval_for(&self, idle_secs: u64) -> Duration {
        let ms = (self.interval_secs.saturating_mul(1000)).min(idle_secs.saturating_mul(250));
        Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// How many last-activity writes this tracker has made.
    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn last_written(&self, session_id: &str) -> Option<OffsetDateTime> {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(session_id)
            .copied()
    }

    /// The latest of the stored last activity, any written by this process
    /// since (the stored value may come from a cached row) and any held.
    pub fn effective_last_activity(
        &self,
        session_id: &str,
        stored: OffsetDateTime,
    ) -> OffsetDateTime {
        let written = self.last_written(session_id).unwrap_or(stored);
        let held = self.lock().get(session_id).map_or(stored, |h| h.at);
        stored.max(written).max(held)
    }

    /// Records activity at `now`.
    pub async fn touch(
        &self,
        db: &Db,
        mut s: TouchTarget<'_>,
        now: OffsetDateTime,
    ) -> sqlx::Result<Touch> {
        let interval = self.interval_for(s.idle_secs);
        // Decide and claim in one step, so that concurrent requests of one
        // session write once per interval, not once each. The row may come
        // from the session cache, so writes made since count too.
        let claimed = {
            let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(w) = written.get(s.session_id) {
                s.stored_last_activity = s.stored_last_activity.max(*w);
            }
            let due_now = now - s.stored_last_activity >= interval;
            if due_now {
                written.insert(s.session_id.to_owned(), now);
            }
            due_now
        };
        if !claimed {
            let due = s.stored_last_activity + interval;
            let mut held = self.lock();
            let entry = held.entry(s.session_id.to_owned()).or_insert(Held {
                at: now,
                due,
                created_at: s.created_at,
                idle_secs: s.idle_secs,
                absolute_secs: s.absolute_secs,
                account_id: s.account_id,
                settings_version: s.settings_version,
            });
            entry.at = entry.at.max(now);
            entry.due = entry.due.min(due);
            entry.idle_secs = s.idle_secs;
            entry.absolute_secs = s.absolute_secs;
            entry.settings_version = s.settings_version;
            return Ok(Touch::Held);
        }
        self.lock().remove(s.session_id);
        let held = Held {
            at: now,
            due: now,
            created_at: s.created_at,
            idle_secs: s.idle_secs,
            absolute_secs: s.absolute_secs,
            account_id: s.account_id,
            settings_version: s.settings_version,
        };
        self.write(db, s.session_id, &held).await
    }

    /// Writes held activity whose interval is up (all of it with `all`).
    pub async fn flush(&self, db: &Db, now: OffsetDateTime, all: bool) -> sqlx::Result<usize> {
        let due: Vec<(String, Held)> = {
            let mut held = self.lock();
            let ids: Vec<String> = held
                .iter()
                .filter(|(_, h)| all || h.due <= now)
                .map(|(id, _)| id.clone())
                .collect();
            let taken: Vec<(String, Held)> = ids
                .into_iter()
                .filter_map(|id| held.remove(&id).map(|h| (id, h)))
                .collect();
            // Claim the writes, so a request racing the flush holds instead.
            let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
            for (id, h) in &taken {
                let w = written.entry(id.clone()).or_insert(h.at);
                *w = (*w).max(h.at);
            }
            taken
        };
        let mut written = 0;
        for (id, h) in &due {
            if self.write(db, id, h).await? == Touch::Written {
                written += 1;
            }
        }
        Ok(written)
    }

    /// Drops what is held for an ended session.
    pub fn forget(&self, session_id: &str) {
        self.lock().remove(session_id);
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(session_id);
    }

    /// Forgets write times older than an hour (the cache re-reads rows far
    /// more often than that).
    pub fn prune(&self, now: OffsetDateTime) {
        let cutoff = now - Duration::hours(1);
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, at| *at > cutoff);
    }

    /// Writes one session's activity. When the settings changed since the
    /// policy was read, re-reads them and tries again, so held activity is
    /// never dropped because an admin saved settings meanwhile.
    async fn write(&self, db: &Db, session_id: &str, h: &Held) -> sqlx::Result<Touch> {
        let mut h = *h;
        for _ in 0..3 {
            if self.write_once(db, session_id, &h).await? == Touch::Written {
                return Ok(Touch::Written);
            }
            let row = sqlx::query(
                "SELECT s.audience, ss.version, ss.settings FROM sessions s
                 JOIN security_settings ss ON ss.account_id = s.account_id
                 WHERE s.id = $1 AND s.ended_at IS NULL",
            )
            .bind(session_id)
            .fetch_optional(&db.pool)
            .await?;
            let Some(row) = row else {
                return Ok(Touch::Stale);
            };
            let version: i64 = row.try_get("version")?;
            let settings = crate::settings_store::parse(&row.try_get::<String, _>("settings")?);
            let audience = Audience::parse(&row.try_get::<String, _>("audience")?);
            let (Ok(settings), Some(audience)) = (settings, audience) else {
                return Ok(Touch::Stale);
            };
            if version == h.settings_version {
                // Same settings: the session ended or has later activity already.
                return Ok(Touch::Stale);
            }
            let p = settings.policy(audience);
            h.settings_version = version;
            h.idle_secs = p.idle_timeout_secs;
            h.absolute_secs = p.absolute_timeout_secs;
        }
        Ok(Touch::Stale)
    }

    async fn write_once(&self, db: &Db, session_id: &str, h: &Held) -> sqlx::Result<Touch> {
        let last = to_ms(h.at);
        let idle = i64::try_from(h.idle_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 4);
        let abs = i64::try_from(h.absolute_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 4);
        let expires = (last.saturating_add(idle)).min(to_ms(h.created_at).saturating_add(abs));
        // The version guard keeps a write computed under old settings from
        // overwriting the expiry index that a settings change just rebuilt.
        let done = sqlx::query(
            "UPDATE sessions SET last_activity_at = $1, expires_at = $2
             WHERE id = $3 AND ended_at IS NULL AND last_activity_at < $1
               AND EXISTS (SELECT 1 FROM security_settings WHERE account_id = $4 AND version = $5)",
        )
        .bind(last)
        .bind(expires)
        .bind(session_id)
        .bind(h.account_id)
        .bind(h.settings_version)
        .execute(&db.pool)
        .await?;
        if done.rows_affected() == 1 {
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(session_id.to_owned(), h.at);
            Ok(Touch::Written)
        } else {
            Ok(Touch::Stale)
        }
    }
}
