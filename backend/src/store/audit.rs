//! The account's audit log (`audit_log`): one row per security-relevant
//! event. The action names (contract) and which of them a filter may name
//! are vigil-policy's (`vigil_policy::audit`), shared with the console.

use serde_json::Value;
use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::api::AuditEntry;
use vigil_policy::EndReason;

use super::db::get_time;
use super::{to_ms, Result, Store, Tx};

pub use vigil_policy::audit::{action, ACTIONS};

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
