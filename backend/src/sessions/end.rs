//! Ending sessions: one path for logout, revocation and expiry, whether a
//! request, an admin or the sweeper notices first.
//!
//! Ending serialises per person: the owners who may leave routing are
//! locked first (`store::accounts::lock_people`), so on PostgreSQL under
//! READ COMMITTED two transactions ending one agent's last two sessions
//! cannot each see the other session still live — the second waits for the
//! first and then counts what it committed. SQLite's single writer gives the
//! same order.

use serde_json::json;
use time::OffsetDateTime;
use vigil_policy::api::Role;
use vigil_policy::EndReason;

use crate::routing;
use crate::store::audit::{self, Event};
use crate::store::sessions::Ending;
use crate::store::{self, accounts, StoreError, Tx};

/// Ends live sessions inside the caller's transaction and audits each.
/// When a team member's last live session ends by timeout or revocation,
/// they are taken out of routing too. Returns the ids it ended; sessions
/// that had already ended (another replica, the sweeper or a second tab got
/// there first) are skipped and nothing is written for them.
pub async fn end_sessions(
    tx: &mut Tx,
    sessions: &[(Ending, EndReason)],
    actor: &str,
    now: OffsetDateTime,
) -> store::Result<Vec<String>> {
    let leaving: Vec<i64> = sessions
        .iter()
        .filter(|(s, r)| *r != EndReason::LoggedOut && s.role != Role::Requester)
        .map(|(s, _)| s.user_id)
        .collect();
    accounts::lock_people(tx, &leaving).await?;

    let mut ended = Vec::new();
    for reason in EndReason::ALL {
        let ids: Vec<&str> = sessions
            .iter()
            .filter(|(_, r)| *r == reason)
            .map(|(s, _)| s.session_id.as_str())
            .collect();
        if !ids.is_empty() {
            ended.extend(store::sessions::end(tx, &ids, reason, now).await?);
        }
    }
    let ended_set: std::collections::HashSet<&str> = ended.iter().map(String::as_str).collect();
    let done: Vec<&(Ending, EndReason)> = sessions
        .iter()
        .filter(|(s, _)| ended_set.contains(s.session_id.as_str()))
        .collect();
    for chunk in done.chunks(500) {
        let events: Vec<Event<'_>> = chunk
            .iter()
            .map(|(s, reason)| Event {
                account_id: s.account_id,
                actor,
                action: audit::ended_action(*reason),
                target: Some(format!("session:{}", s.session_id)),
                details: json!({
                    "session_id": s.session_id,
                    "user_id": s.user_id,
                    "email": s.email,
                    "reason": reason.as_str(),
                }),
            })
            .collect();
        audit::record_many(tx, now, &events).await?;
    }
    crate::webhooks::sessions_ended(tx, &done, now).await?;
    // Team members whose last live session just ended by timeout or
    // revocation leave routing (each once, however many sessions ended).
    let mut checked = std::collections::HashSet::new();
    let (mut expired, mut revoked) = (Vec::new(), Vec::new());
    for (s, reason) in done {
        if *reason == EndReason::LoggedOut
            || s.role == Role::Requester
            || !checked.insert(s.user_id)
        {
            continue;
        }
        if store::sessions::live_count_of(tx, s.user_id).await? == 0 {
            let leaving = (s.account_id, s.user_id);
            if reason.is_timeout() {
                expired.push(leaving);
            } else {
                revoked.push(leaving);
            }
        }
    }
    for (leaving, why) in [(expired, "session_expired"), (revoked, "session_revoked")] {
        if !leaving.is_empty() {
            routing::take_out_of_routing(tx, &leaving, actor, why, now).await?;
        }
    }
    Ok(ended)
}

/// Ends sessions in a transaction of their own, counts them in the
/// metrics, and returns the ids it ended. Every replica forgets them when
/// the transaction commits. A transaction PostgreSQL aborts to break a
/// deadlock is tried again.
pub async fn end_now(
    store: &store::Store,
    metrics: &crate::metrics::Metrics,
    endings: &[(Ending, EndReason)],
    actor: &str,
    now: OffsetDateTime,
) -> store::Result<Vec<String>> {
    let mut attempt = 0;
    let ended = loop {
        attempt += 1;
        let result = async {
            let mut tx = store.begin().await?;
            let ended = end_sessions(&mut tx, endings, actor, now).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(ended)
        }
        .await;
        match result {
            Err(e) if attempt < 3 && e.is_retryable() => {
                tracing::warn!(error = %e, attempt, "ending sessions: trying again");
            }
            other => break other?,
        }
    };
    let ended_set: std::collections::HashSet<&str> = ended.iter().map(String::as_str).collect();
    for (s, reason) in endings {
        if ended_set.contains(s.session_id.as_str()) {
            metrics.ended(*reason, 1);
        }
    }
    Ok(ended)
}
