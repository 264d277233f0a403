//! The sweeper: ends sessions past a deadline even when nobody comes back,
//! so an agent who closed the laptop is signed out on time and taken out of
//! routing.
//!
//! Each pass writes held activity that is due, then reads live sessions
//! whose indexed `expires_at` has passed (so the work grows with the number
//! of expired sessions, not live ones), re-checks each with the deadline
//! rule and the account's current settings, and ends the expired ones in one
//! transaction per batch: ending, availability, reroutes and audit entries
//! commit together or not at all.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::api::Role;
use vigil_policy::{evaluate, Audience, SecuritySettings, SessionTimes, Verdict};

use crate::audit::SYSTEM;
use crate::db::{get_bool, get_time, to_ms};
use crate::sessions::end::{end_sessions, Cause, Ending};
use crate::settings_store;
use crate::state::AppState;

const BATCH: i64 = 500;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Sessions ended.
    pub ended: u64,
    /// Candidates that turned out live (their index entry was refreshed).
    pub refreshed: u64,
}

struct Candidate {
    id: String,
    account_id: i64,
    user_id: i64,
    email: String,
    role: Role,
    audience: Audience,
    times: SessionTimes,
    settings: String,
}

/// One pass at the clock's `now`.
pub async fn sweep_once(state: &AppState) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    let now = state.clock.now();
    state.activity.flush(&state.db, now, false).await?;
    let mut report = Report::default();
    loop {
        let batch = candidates(state, now).await?;
        let full = batch.len() as i64 == BATCH;
        let mut settings_of: HashMap<i64, Option<SecuritySettings>> = HashMap::new();
        let mut expired: Vec<(Ending<'_>, Cause)> = Vec::new();
        let mut refreshed: Vec<(&str, i64)> = Vec::new();
        for c in &batch {
            let settings = settings_of
                .entry(c.account_id)
                .or_insert_with(|| settings_store::parse(&c.settings).ok());
            let Some(settings) = settings else {
                tracing::error!(
                    account = c.account_id,
                    "unreadable settings; session left for the next pass"
                );
                continue;
            };
            let mut times = c.times;
            times.last_activity_at = state
                .activity
                .effective_last_activity(&c.id, times.last_activity_at);
            let e = evaluate(settings.policy(c.audience), times, now);
            match e.verdict {
                Verdict::Expired(reason) => expired.push((
                    Ending {
                        session_id: &c.id,
                        account_id: c.account_id,
                        user_id: c.user_id,
                        email: &c.email,
                        role: c.role,
                    },
                    Cause::from(reason),
                )),
                // Not expired after all (activity not yet written, or an
                // index entry from before a settings change): fix the entry.
                _ => refreshed.push((&c.id, to_ms(e.ends_at))),
            }
        }
        let mut tx = state.db.begin_write().await?;
        let ended = end_sessions(&mut tx, &expired, SYSTEM, now).await?;
        for (id, ends_at) in &refreshed {
            sqlx::query("UPDATE sessions SET expires_at = $1 WHERE id = $2 AND ended_at IS NULL")
                .bind(*ends_at)
                .bind(*id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let ended_set: std::collections::HashSet<&str> = ended.iter().map(String::as_str).collect();
        for (s, cause) in &expired {
            if ended_set.contains(s.session_id) {
                state.metrics.ended(cause.metric(), 1);
            }
        }
        report.ended += ended.len() as u64;
        report.refreshed += refreshed.len() as u64;
        state.forget_ended(ended.iter().map(String::as_str));
        if !full {
            break;
        }
    }
    crate::auth::throttle::prune(&state.db, now).await?;
    state.sessions.prune();
    state.activity.prune(now);
    state.metrics.swept(started.elapsed());
    if report.ended > 0 {
        tracing::info!(ended = report.ended, "sweeper ended expired sessions");
    }
    Ok(report)
}

async fn candidates(state: &AppState, now: OffsetDateTime) -> anyhow::Result<Vec<Candidate>> {
    let rows = sqlx::query(
        "SELECT s.id, s.account_id, s.user_id, s.audience, s.persistent, s.created_at, s.last_activity_at,
                u.email, u.role, ss.settings
         FROM sessions s
         JOIN users u ON u.id = s.user_id
         JOIN security_settings ss ON ss.account_id = s.account_id
         WHERE s.ended_at IS NULL AND s.expires_at <= $1
         ORDER BY s.expires_at
         LIMIT $2",
    )
    .bind(to_ms(now))
    .bind(BATCH)
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (Some(role), Some(audience)) = (
            Role::parse(&r.try_get::<String, _>("role")?),
            Audience::parse(&r.try_get::<String, _>("audience")?),
        ) else {
            continue;
        };
        out.push(Candidate {
            id: r.try_get("id")?,
            account_id: r.try_get("account_id")?,
            user_id: r.try_get("user_id")?,
            email: r.try_get("email")?,
            role,
            audience,
            times: SessionTimes {
                created_at: get_time(&r, "created_at")?,
                last_activity_at: get_time(&r, "last_activity_at")?,
                persistent: get_bool(&r, "persistent")?,
            },
            settings: r.try_get("settings")?,
        });
    }
    Ok(out)
}

/// Runs [`sweep_once`] every `every`, forever; errors are logged and the
/// next pass tries again.
pub async fn run(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sweep_once(&state).await {
            tracing::error!(error = ?e, "sweep failed");
        }
    }
}

/// Writes held activity as it falls due, four times a second.
pub async fn run_flusher(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state
            .activity
            .flush(&state.db, state.clock.now(), false)
            .await
        {
            tracing::error!(error = ?e, "activity flush failed");
        }
    }
}
