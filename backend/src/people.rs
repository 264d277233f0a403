//! A person's standing and password: deactivation, reactivation and a new
//! password. Each is one transaction with the endings it causes, so a
//! deactivated person never keeps a session, a place in routing or an open
//! conversation, and a changed password leaves no other session behind.

use serde_json::json;
use time::OffsetDateTime;
use vigil_policy::api::Role;
use vigil_policy::EndReason;

use crate::metrics::Metrics;
use crate::routing;
use crate::sessions::end::end_sessions;
use crate::store::audit::{self, action, Event};
use crate::store::sessions::Which;
use crate::store::{self, accounts, Store, StoreError};

/// Why a change of standing was not made.
#[derive(Debug, thiserror::Error)]
pub enum StandingError {
    /// No such person in the account.
    #[error("no such person in this account")]
    NotFound,
    /// The account's last active person with `manage_security`.
    #[error("the account's last active person who manages security")]
    LastAdmin,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<StandingError> for crate::error::ApiError {
    fn from(e: StandingError) -> Self {
        match e {
            StandingError::NotFound => Self::NotFound("no such user in this account"),
            StandingError::LastAdmin => Self::LastAdmin,
            StandingError::Store(e) => e.into(),
        }
    }
}

/// Deactivates a person of the account: marks them inactive, ends every
/// live session as a revocation by `actor`, takes a team member out of
/// routing (their open conversations rerouted) and audits it, all in one
/// transaction. Returns how many sessions ended. Refused for the account's
/// last active person who manages security; the account's security people
/// are locked first, so two admins deactivating each other at once cannot
/// both succeed. Deactivating someone already inactive ends nothing new.
pub async fn deactivate(
    store: &Store,
    metrics: &Metrics,
    account_id: i64,
    user_id: i64,
    actor: &str,
    now: OffsetDateTime,
) -> Result<u64, StandingError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match deactivate_once(store, account_id, user_id, actor, now).await {
            Err(StandingError::Store(e)) if attempt < 3 && e.is_retryable() => {
                tracing::warn!(error = %e, attempt, "deactivating: trying again");
            }
            Ok(ended) => {
                metrics.ended(EndReason::Revoked, ended);
                return Ok(ended);
            }
            Err(e) => return Err(e),
        }
    }
}

async fn deactivate_once(
    store: &Store,
    account_id: i64,
    user_id: i64,
    actor: &str,
    now: OffsetDateTime,
) -> Result<u64, StandingError> {
    let mut tx = store.begin().await?;
    let standing = accounts::lock_standing(&mut tx, account_id, user_id).await?;
    let Some(target) = standing.iter().find(|p| p.id == user_id) else {
        return Err(StandingError::NotFound);
    };
    let others_left = standing
        .iter()
        .any(|p| p.id != user_id && p.active && p.manages_security);
    if target.active && target.manages_security && !others_left {
        return Err(StandingError::LastAdmin);
    }
    let changed = accounts::set_active(&mut tx, user_id, false).await?;
    let endings: Vec<_> =
        store::sessions::live_endings(tx.conn(), account_id, Which::Person(user_id))
            .await?
            .into_iter()
            .map(|e| (e, EndReason::Revoked))
            .collect();
    let ended = end_sessions(&mut tx, &endings, actor, now).await?;
    if target.role != Role::Requester {
        // Also when no session was live: a deactivated agent takes no work.
        routing::take_out_of_routing(&mut tx, &[(account_id, user_id)], actor, "deactivated", now)
            .await?;
    }
    if changed {
        audit::record(
            &mut tx,
            now,
            Event {
                account_id,
                actor,
                action: action::USER_DEACTIVATED,
                target: Some(format!("user:{user_id}")),
                details: json!({
                    "user_id": user_id,
                    "email": target.email,
                    "sessions_ended": ended.len(),
                }),
            },
        )
        .await?;
        crate::webhooks::emit_one(
            &mut tx,
            account_id,
            crate::webhooks::event::USER_DEACTIVATED,
            json!({
                "user": {"id": user_id, "email": target.email},
                "sessions_ended": ended.len(),
            }),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(user = user_id, sessions = ended.len(), "person deactivated");
    Ok(ended.len() as u64)
}

/// Reactivates a person of the account: they may sign in again (they stay
/// unavailable until they say otherwise). Audited when it changed anything.
pub async fn reactivate(
    store: &Store,
    account_id: i64,
    user_id: i64,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), StandingError> {
    let mut tx = store.begin().await?;
    let standing = accounts::lock_standing(&mut tx, account_id, user_id).await?;
    let Some(target) = standing.iter().find(|p| p.id == user_id) else {
        return Err(StandingError::NotFound);
    };
    if accounts::set_active(&mut tx, user_id, true).await? {
        audit::record(
            &mut tx,
            now,
            Event {
                account_id,
                actor,
                action: action::USER_REACTIVATED,
                target: Some(format!("user:{user_id}")),
                details: json!({"user_id": user_id, "email": target.email}),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Who changed a password, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangedBy {
    /// The person, from a session that stays signed in.
    Themself,
    /// An operator, with `vigil set-password`.
    CommandLine,
}

/// Why a password was not changed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The session the change came from (`keep`) ended while the request
    /// was on its way: another change of the person's password, a
    /// deactivation or a revocation committed first. Nothing changed.
    #[error("the session asking for the change has ended")]
    SessionEnded,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PasswordError> for crate::error::ApiError {
    fn from(e: PasswordError) -> Self {
        match e {
            // Ended by someone else's act, as the session check would say.
            PasswordError::SessionEnded => Self::Unauthenticated(
                vigil_policy::api::UnauthenticatedReason::Ended(EndReason::Revoked),
            ),
            PasswordError::Store(e) => e.into(),
        }
    }
}

/// Stores a person's new password hash and, in the same transaction, ends
/// every live session of theirs except `keep` as a revocation by `actor`
/// and audits `password.changed`. Returns how many sessions ended. With
/// `keep`, that session must still be live once the person is locked:
/// of several changes from sessions of one person at once, the first to
/// commit ends the others' sessions, and those then change nothing
/// ([`PasswordError::SessionEnded`]), as after a deactivation or a
/// revocation that went first.
#[allow(clippy::too_many_arguments)]
pub async fn set_password(
    store: &Store,
    metrics: &Metrics,
    user: (i64, i64, &str),
    password_hash: &str,
    by: ChangedBy,
    actor: &str,
    keep: Option<&str>,
    now: OffsetDateTime,
) -> Result<u64, PasswordError> {
    let (account_id, user_id, email) = user;
    let mut tx = store.begin().await?;
    accounts::lock_people(&mut tx, &[user_id]).await?;
    let live = store::sessions::live_endings(tx.conn(), account_id, Which::Person(user_id)).await?;
    if keep.is_some_and(|keep| !live.iter().any(|e| e.session_id == keep)) {
        return Err(PasswordError::SessionEnded);
    }
    accounts::set_password_hash(&mut tx, user_id, password_hash).await?;
    let endings: Vec<_> = live
        .into_iter()
        .filter(|e| Some(e.session_id.as_str()) != keep)
        .map(|e| (e, EndReason::Revoked))
        .collect();
    let ended = end_sessions(&mut tx, &endings, actor, now).await?;
    audit::record(
        &mut tx,
        now,
        Event {
            account_id,
            actor,
            action: action::PASSWORD_CHANGED,
            target: Some(format!("user:{user_id}")),
            details: json!({
                "user_id": user_id,
                "email": email,
                "by": match by {
                    ChangedBy::Themself => "themself",
                    ChangedBy::CommandLine => "command_line",
                },
                "sessions_ended": ended.len(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    metrics.ended(EndReason::Revoked, ended.len() as u64);
    Ok(ended.len() as u64)
}
