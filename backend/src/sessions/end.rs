//! Ending sessions: one path for logout, revocation and expiry, whether a
//! request, an admin or the sweeper notices first.

use serde_json::json;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use vigil_policy::api::{Role, UnauthenticatedReason};

use crate::audit::{self, action, Event};
use crate::routing;

/// Why a session is being ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The person signed out.
    LoggedOut,
    /// An admin ended it.
    Revoked,
    /// Idle timeout.
    IdleTimeout,
    /// Absolute timeout.
    AbsoluteTimeout,
}

impl Cause {
    /// What a later request with the same cookie is told.
    pub fn reason(self) -> UnauthenticatedReason {
        match self {
            Cause::LoggedOut => UnauthenticatedReason::LoggedOut,
            Cause::Revoked => UnauthenticatedReason::Revoked,
            Cause::IdleTimeout => UnauthenticatedReason::IdleTimeout,
            Cause::AbsoluteTimeout => UnauthenticatedReason::AbsoluteTimeout,
        }
    }

    /// The `/metrics` counter this cause adds to.
    pub fn metric(self) -> crate::metrics::Ended {
        match self {
            Cause::IdleTimeout => crate::metrics::Ended::Idle,
            Cause::AbsoluteTimeout => crate::metrics::Ended::Absolute,
            Cause::Revoked | Cause::LoggedOut => crate::metrics::Ended::Revoked,
        }
    }

    fn audit_action(self) -> &'static str {
        match self {
            Cause::LoggedOut => action::SESSION_LOGOUT,
            Cause::Revoked => action::SESSION_REVOKED,
            Cause::IdleTimeout | Cause::AbsoluteTimeout => action::SESSION_EXPIRED,
        }
    }
}

impl From<vigil_policy::EndReason> for Cause {
    fn from(r: vigil_policy::EndReason) -> Self {
        match r {
            vigil_policy::EndReason::IdleTimeout => Cause::IdleTimeout,
            vigil_policy::EndReason::AbsoluteTimeout => Cause::AbsoluteTimeout,
        }
    }
}

/// The session to end.
#[derive(Debug, Clone)]
pub struct Ending<'a> {
    /// Session id.
    pub session_id: &'a str,
    /// Account.
    pub account_id: i64,
    /// Owner.
    pub user_id: i64,
    /// Owner's email, for the audit log.
    pub email: &'a str,
    /// Owner's role.
    pub role: Role,
}

/// Ends a live session inside the caller's transaction and audits it. When
/// a team member's last live session ends by timeout or revocation, they are
/// taken out of routing too. Returns false when the session had already
/// ended (another replica, the sweeper or a second tab got there first), in
/// which case nothing is written.
pub async fn end_session(
    conn: &mut AnyConnection,
    s: &Ending<'_>,
    cause: Cause,
    actor: &str,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    Ok(!end_sessions(conn, &[(s.clone(), cause)], actor, now)
        .await?
        .is_empty())
}

/// Most sessions one statement ends; keeps bind parameters well under the
/// limits of both databases.
const CHUNK: usize = 500;

/// [`end_session`] for many sessions at once, with one UPDATE per cause and
/// one audit INSERT per chunk (the sweeper's path: its cost grows with the
/// number of sessions ended, in statements per chunk, not per session).
/// Returns the ids it ended; sessions already ended are skipped.
pub async fn end_sessions(
    conn: &mut AnyConnection,
    sessions: &[(Ending<'_>, Cause)],
    actor: &str,
    now: OffsetDateTime,
) -> sqlx::Result<Vec<String>> {
    let mut ended = Vec::new();
    for chunk in sessions.chunks(CHUNK) {
        let mut ended_ids = std::collections::HashSet::new();
        for cause in [
            Cause::LoggedOut,
            Cause::Revoked,
            Cause::IdleTimeout,
            Cause::AbsoluteTimeout,
        ] {
            let ids: Vec<&str> = chunk
                .iter()
                .filter(|(_, c)| *c == cause)
                .map(|(s, _)| s.session_id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE ended_at IS NULL AND id IN ({}) RETURNING id",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(&sql)
                .bind(crate::db::to_ms(now))
                .bind(cause.reason().as_str());
            for id in &ids {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut *conn).await? {
                ended_ids.insert(row.try_get::<String, _>("id")?);
            }
        }
        let done: Vec<&(Ending<'_>, Cause)> = chunk
            .iter()
            .filter(|(s, _)| ended_ids.contains(s.session_id))
            .collect();
        ended.extend(done.iter().map(|(s, _)| s.session_id.to_owned()));
        let events: Vec<Event<'_>> = done
            .iter()
            .map(|(s, cause)| Event {
                account_id: s.account_id,
                actor,
                action: cause.audit_action(),
                target: Some(format!("session:{}", s.session_id)),
                details: json!({
                    "session_id": s.session_id,
                    "user_id": s.user_id,
                    "email": s.email,
                    "reason": cause.reason().as_str(),
                }),
            })
            .collect();
        audit::record_many(conn, now, &events).await?;
        // Team members whose last live session just ended by timeout or
        // revocation leave routing (each once, however many sessions ended).
        let mut checked = std::collections::HashSet::new();
        for (s, cause) in done {
            if *cause == Cause::LoggedOut || s.role == Role::Requester || !checked.insert(s.user_id)
            {
                continue;
            }
            let live: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1 AND ended_at IS NULL",
            )
            .bind(s.user_id)
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
            if live == 0 {
                let why = match cause {
                    Cause::Revoked => "session_revoked",
                    _ => "session_expired",
                };
                routing::take_out_of_routing(conn, s.account_id, s.user_id, actor, why, now)
                    .await?;
            }
        }
    }
    Ok(ended)
}
