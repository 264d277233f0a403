//! Read models for the admin pages: live sessions and team members.

use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::api::{AgentRow, Role, SessionSummary, UserRef};
use vigil_policy::{evaluate, Audience, SessionTimes, Verdict};

use crate::db::{get_bool, get_time};
use crate::error::ApiError;
use crate::state::AppState;

/// A live session of the account with its effective last activity.
#[derive(Debug, Clone)]
pub struct LiveRow {
    /// Session id.
    pub session_id: String,
    /// Owner.
    pub user: UserRef,
    /// Audience.
    pub audience: Audience,
    /// Remembered.
    pub persistent: bool,
    /// Sign-in.
    pub created_at: OffsetDateTime,
    /// Last counted activity, including activity not yet written.
    pub last_activity_at: OffsetDateTime,
    /// Client address.
    pub ip: Option<String>,
    /// Browser.
    pub user_agent: Option<String>,
}

/// Sessions of the account that are live under its current settings, newest
/// first. `settings` are the account's current settings (the caller's
/// session carries them).
pub async fn live_sessions(
    state: &AppState,
    account_id: i64,
    settings: &vigil_policy::SecuritySettings,
) -> Result<Vec<LiveRow>, ApiError> {
    let rows = sqlx::query(
        "SELECT s.id, s.user_id, s.audience, s.persistent, s.created_at, s.last_activity_at, s.ip, s.user_agent,
                u.email, u.display_name, u.role
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.account_id = $1 AND s.ended_at IS NULL
         ORDER BY s.created_at DESC, s.id",
    )
    .bind(account_id)
    .fetch_all(&state.db.pool)
    .await?;
    let now = state.clock.now();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (Some(audience), Some(role)) = (
            Audience::parse(&r.try_get::<String, _>("audience")?),
            Role::parse(&r.try_get::<String, _>("role")?),
        ) else {
            continue;
        };
        let session_id: String = r.try_get("id")?;
        let last = state
            .activity
            .effective_last_activity(&session_id, get_time(&r, "last_activity_at")?);
        let row = LiveRow {
            session_id,
            user: UserRef {
                id: r.try_get("user_id")?,
                email: r.try_get("email")?,
                display_name: r.try_get("display_name")?,
                role,
            },
            audience,
            persistent: get_bool(&r, "persistent")?,
            created_at: get_time(&r, "created_at")?,
            last_activity_at: last,
            ip: r.try_get("ip")?,
            user_agent: r.try_get("user_agent")?,
        };
        let verdict = evaluate(settings.policy(audience), row.times(), now).verdict;
        if !matches!(verdict, Verdict::Expired(_)) {
            out.push(row);
        }
    }
    Ok(out)
}

impl LiveRow {
    /// Times for the deadline rule.
    pub fn times(&self) -> SessionTimes {
        SessionTimes {
            created_at: self.created_at,
            last_activity_at: self.last_activity_at,
            persistent: self.persistent,
        }
    }

    /// The API summary under `settings`.
    pub fn summary(
        self,
        settings: &vigil_policy::SecuritySettings,
        now: OffsetDateTime,
    ) -> SessionSummary {
        let e = evaluate(settings.policy(self.audience), self.times(), now);
        SessionSummary {
            session_id: self.session_id,
            user: self.user,
            audience: self.audience,
            persistent: self.persistent,
            created_at: self.created_at,
            last_activity_at: self.last_activity_at,
            idle_expires_at: e.idle_expires_at,
            absolute_expires_at: e.absolute_expires_at,
            ip: self.ip,
            user_agent: self.user_agent,
        }
    }
}

/// The account's team members with their load.
pub async fn agents(state: &AppState, account_id: i64) -> Result<Vec<AgentRow>, ApiError> {
    let rows = sqlx::query(
        "SELECT u.id, u.email, u.display_name, u.available, u.auto_assign,
                (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.ended_at IS NULL) AS live_sessions,
                (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = u.id AND c.status = 'open') AS open_conversations
         FROM users u WHERE u.account_id = $1 AND u.role IN ('admin', 'agent') ORDER BY u.id",
    )
    .bind(account_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AgentRow {
                user_id: r.try_get("id")?,
                email: r.try_get("email")?,
                display_name: r.try_get("display_name")?,
                available: get_bool(r, "available")?,
                auto_assign: get_bool(r, "auto_assign")?,
                live_sessions: u64::try_from(r.try_get::<i64, _>("live_sessions")?).unwrap_or(0),
                open_conversations: u64::try_from(r.try_get::<i64, _>("open_conversations")?)
                    .unwrap_or(0),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ApiError::from)
}
