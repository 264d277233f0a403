//! The account's audit log (`audit_log`): one row per security-relevant
//! event, and the action names (contract).

use serde_json::Value;
use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::api::AuditEntry;
use vigil_policy::EndReason;

use super::db::get_time;
use super::{to_ms, Result, Store, Tx};

/// Audit action names (contract).
pub mod action {
    /// Settings stored.
    pub const SETTINGS_UPDATED: &str = "settings.updated";
    /// Signed in.
    pub const SESSION_LOGIN: &str = "session.login";
    /// Signed out.
    pub const SESSION_LOGOUT: &str = "session.logout";
    /// Ended by a timeout.
    pub const SESSION_EXPIRED: &str = "session.expired";
    /// Ended by an admin.
    pub const SESSION_REVOKED: &str = "session.revoked";
    /// A failed sign-in.
    pub const LOGIN_FAILED: &str = "login.failed";
    /// An agent's availability changed.
    pub const AGENT_AVAILABILITY: &str = "agent.availability";
    /// A conversation moved to another agent or to the queue.
    pub const CONVERSATION_REROUTED: &str = "conversation.rerouted";
    /// A single sign-on connection added.
    pub const SSO_CREATED: &str = "sso.created";
    /// A single sign-on connection changed.
    pub const SSO_UPDATED: &str = "sso.updated";
    /// A single sign-on connection removed.
    pub const SSO_DELETED: &str = "sso.deleted";
    /// A requester created on first single sign-on.
    pub const USER_CREATED: &str = "user.created";
    /// A person deactivated: sessions ended, sign-in refused.
    pub const USER_DEACTIVATED: &str = "user.deactivated";
    /// A deactivated person allowed to sign in again.
    pub const USER_REACTIVATED: &str = "user.reactivated";
    /// A person's password changed (by them, or set from the command line).
    pub const PASSWORD_CHANGED: &str = "password.changed";
    /// An API token created (the audit names it, never its secret).
    pub const TOKEN_CREATED: &str = "token.created";
    /// An API token revoked.
    pub const TOKEN_REVOKED: &str = "token.revoked";
    /// A webhook endpoint added.
    pub const WEBHOOK_CREATED: &str = "webhook.created";
    /// A webhook endpoint removed.
    pub const WEBHOOK_DELETED: &str = "webhook.deleted";
    /// A webhook endpoint disabled after failing for 24 h.
    pub const WEBHOOK_DISABLED: &str = "webhook.disabled";
    /// A disabled webhook endpoint enabled again by an admin.
    pub const WEBHOOK_ENABLED: &str = "webhook.enabled";
    /// A session confirmed who is at the keyboard again (password, or a
    /// single sign-on round trip), for sensitive actions.
    pub const SESSION_REAUTHENTICATED: &str = "session.reauthenticated";
}

/// The action that records a session ending for `reason`.
pub fn ended_action(reason: EndReason) -> &'static str {
    match reason {
        EndReason::LoggedOut => action::SESSION_LOGOUT,
        EndReason::Revoked => action::SESSION_REVOKED,
        EndReason::IdleTimeout | EndReason::AbsoluteTimeout => action::SESSION_EXPIRED,
    }
}

/// The actor recorded for what the server does on its own.
pub const SYSTEM: &str = "system";

/// One event to record.
#[derive(Debug)]
pub struct Event<'a> {
    /// Account.
    pub account_id: i64,
    /// Who: an email or [`SYSTEM`].
    pub actor: &'a str,
    /// One of [`action`].
    pub action: &'static str,
    /// What it was done to.
    pub target: Option<String>,
    /// Details.
    pub details: Value,
}

/// The person an event is about: the `user_id` (or, for a reroute, the
/// `from_user_id`) in its details, or a `user:N` target.
fn subject(e: &Event<'_>) -> Option<i64> {
    e.details
        .get("user_id")
        .or_else(|| e.details.get("from_user_id"))
        .and_then(Value::as_i64)
        .or_else(|| {
            e.target
                .as_deref()
                .and_then(|t| t.strip_prefix("user:"))
                .and_then(|id| id.parse().ok())
        })
}

/// Writes an event inside the caller's transaction.
pub async fn record(tx: &mut Tx, at: OffsetDateTime, e: Event<'_>) -> Result<()> {
    record_many(tx, at, &[e]).await
}

/// Writes many events with one statement, inside the caller's transaction.
pub async fn record_many(tx: &mut Tx, at: OffsetDateTime, events: &[Event<'_>]) -> Result<()> {
    for chunk in events.chunks(super::CHUNK / 7) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", super::placeholders(i * 7 + 1, 7)))
            .collect();
        let sql = format!(
            "INSERT INTO audit_log (account_id, at, actor, action, target, details, subject_user_id) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(e.account_id)
                .bind(to_ms(at))
                .bind(e.actor)
                .bind(e.action)
                .bind(e.target.clone())
                .bind(e.details.to_string())
                .bind(subject(e));
        }
        q.execute(tx.conn()).await?;
    }
    Ok(())
}

/// Every action name, for filters.
pub const ACTIONS: [&str; 14] = [
    action::SETTINGS_UPDATED,
    action::SESSION_LOGIN,
    action::SESSION_LOGOUT,
    action::SESSION_EXPIRED,
    action::SESSION_REVOKED,
    action::LOGIN_FAILED,
    action::AGENT_AVAILABILITY,
    action::CONVERSATION_REROUTED,
    action::USER_DEACTIVATED,
    action::USER_REACTIVATED,
    action::PASSWORD_CHANGED,
    action::SESSION_REAUTHENTICATED,
    action::TOKEN_CREATED,
    action::TOKEN_REVOKED,
];

/// Which entries to list: each part exact, `from` and `to` inclusive.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Any of these (each one of [`ACTIONS`]); empty for all.
    pub actions: Vec<&'static str>,
    /// An actor (email, or [`SYSTEM`]).
    pub actor: Option<String>,
    /// A person (by id, with their email): entries by them or about them.
    pub person: Option<(i64, String)>,
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// At or before.
    pub to: Option<OffsetDateTime>,
}

/// Entries of an account matching `filter`, newest first, older than
/// `before` (an entry id) when given.
pub async fn list(
    store: &Store,
    account_id: i64,
    filter: &Filter,
    limit: i64,
    before: Option<i64>,
) -> Result<Vec<AuditEntry>> {
    let mut sql = String::from(
        "SELECT id, at, actor, action, target, details FROM audit_log
         WHERE account_id = $1 AND id < $2",
    );
    let mut n = 2;
    if !filter.actions.is_empty() {
        sql.push_str(&format!(
            " AND action IN ({})",
            super::placeholders(n + 1, filter.actions.len())
        ));
        n += filter.actions.len();
    }
    if filter.person.is_some() {
        sql.push_str(&format!(
            " AND (subject_user_id = ${} OR actor = ${})",
            n + 1,
            n + 2
        ));
        n += 2;
    }
    let mut clause = |sql: &mut String, what: &str| {
        n += 1;
        sql.push_str(&format!(" AND {what} ${n}"));
    };
    if filter.actor.is_some() {
        clause(&mut sql, "actor =");
    }
    if filter.from.is_some() {
        clause(&mut sql, "at >=");
    }
    if filter.to.is_some() {
        clause(&mut sql, "at <=");
    }
    n += 1;
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${n}"));
    let mut q = sqlx::query(&sql)
        .bind(account_id)
        .bind(before.unwrap_or(i64::MAX));
    for a in &filter.actions {
        q = q.bind(*a);
    }
    if let Some((id, email)) = &filter.person {
        q = q.bind(*id).bind(email.clone());
    }
    if let Some(a) = &filter.actor {
        q = q.bind(a.clone());
    }
    if let Some(t) = filter.from {
        q = q.bind(to_ms(t));
    }
    if let Some(t) = filter.to {
        q = q.bind(to_ms(t));
    }
    let rows = q.bind(limit).fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: get_time(r, "at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                details: serde_json::from_str(&r.try_get::<String, _>("details")?)
                    .unwrap_or(Value::Null),
            })
        })
        .collect()
}
