//! The sweeper: ends sessions past a deadline even when nobody comes back,
//! so an agent who closed the laptop is signed out on time and taken out of
//! routing.
//!
//! Each pass writes held activity that is due, then reads live sessions
//! whose indexed `expires_at` has passed (so the work grows with the number
//! of expired sessions, not live ones), re-checks each with the deadline
//! rule, the account's current settings and any activity this process holds,
//! and ends the expired ones in one transaction per batch: ending,
//! availability, reroutes and audit entries commit together or not at all.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::time::Duration;

use time::OffsetDateTime;
use vigil_policy::{EndReason, Verdict};

use crate::sessions::{account_policy, Sessions};
use crate::store::audit::SYSTEM;
use crate::store::sessions::Ending;

const BATCH: i64 = 500;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Sessions ended.
    pub ended: u64,
    /// Candidates that turned out live (their index entry was refreshed).
    pub refreshed: u64,
}

/// One pass at the clock's `now`.
pub async fn sweep_once(sessions: &Sessions) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    let now = sessions.clock.now();
    sessions.flush_activity(now, false).await?;
    sessions.catch_up().await?;
    let mut report = Report::default();
    loop {
        let batch = crate::store::sessions::expired_candidates(&sessions.store, now, BATCH).await?;
        let full = batch.len() as i64 == BATCH;
        let mut judges: HashMap<i64, crate::sessions::Judge> = HashMap::new();
        let mut expired: Vec<(Ending, EndReason)> = Vec::new();
        let mut refreshed: Vec<(String, OffsetDateTime)> = Vec::new();
        for c in batch {
            let judge = match judges.entry(c.row.account_id) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(new) => {
                    let policy = account_policy(sessions, c.row.account_id).await?;
                    let judge = crate::sessions::Judge::read(
                        sessions.store.pool(),
                        c.row.account_id,
                        &policy.settings,
                    )
                    .await?;
                    new.insert(judge)
                }
            };
            let mut times = c.row.times();
            times.last_activity_at = sessions.memory.last_activity_of(&c.row);
            let e = judge.evaluate(&c.row, times, now);
            match e.verdict {
                Verdict::Expired(reason) => expired.push((c.ending, reason)),
                // Not expired after all (activity not yet written, or an
                // index entry from before a settings change): fix the entry.
                _ => refreshed.push((c.row.id, e.ends_at)),
            }
        }
        let ended = sessions.end_now(&expired, SYSTEM, now).await?;
        if !refreshed.is_empty() {
            let mut tx = sessions.store.begin().await?;
            crate::store::sessions::set_expiry(&mut tx, &refreshed).await?;
            tx.commit().await?;
        }
        report.ended += ended.len() as u64;
        report.refreshed += refreshed.len() as u64;
        if !full {
            break;
        }
    }
    crate::auth::throttle::prune(&sessions.store, now).await?;
    // Single sign-on: sign-ins that lapsed at the provider, and logout
    // tokens old enough to be refused for their age anyway.
    crate::store::sso::prune(&sessions.store, now).await?;
    sessions.metrics.swept(started.elapsed());
    if report.ended > 0 {
        tracing::info!(ended = report.ended, "sweeper ended expired sessions");
    }
    Ok(report)
}

/// Runs [`sweep_once`] every `every`, forever; errors are logged and the
/// next pass tries again.
pub async fn run(sessions: Sessions, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sweep_once(&sessions).await {
            tracing::error!(error = ?e, "sweep failed");
        }
    }
}

/// Writes held activity as it falls due, four times a second.
pub async fn run_flusher(sessions: Sessions) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sessions.flush_activity(sessions.clock.now(), false).await {
            tracing::error!(error = ?e, "activity flush failed");
        }
    }
}
