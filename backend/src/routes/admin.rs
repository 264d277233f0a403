//! Admin: live sessions, revocation, the team, the audit log. Every query is
//! scoped to the caller's account; another account's id is a 404.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use sqlx::Row;
use vigil_policy::api::{RevokeResult, Role};
use vigil_policy::{FieldError, FieldErrorCode};

use crate::admin_queries;
use crate::audit;
use crate::error::ApiError;
use crate::sessions::end::{self, Cause, Ending};
use crate::sessions::SecurityAdmin;
use crate::state::AppState;

/// `GET /api/admin/sessions`.
pub async fn list_sessions(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let rows = admin_queries::live_sessions(&state, s.account_id, &s.settings).await?;
    let out: Vec<_> = rows
        .into_iter()
        .map(|r| r.summary(&s.settings, now))
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

struct Target {
    session_id: String,
    user_id: i64,
    email: String,
    role: Role,
}

/// Which live sessions to revoke.
enum Filter<'a> {
    Session(&'a str),
    User(i64),
}

async fn live_targets(
    state: &AppState,
    account_id: i64,
    filter: Filter<'_>,
) -> Result<Vec<Target>, ApiError> {
    let clause = match filter {
        Filter::Session(_) => "s.id = $2",
        Filter::User(_) => "s.user_id = $2",
    };
    let sql = format!(
        "SELECT s.id, s.user_id, u.email, u.role FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.account_id = $1 AND s.ended_at IS NULL AND {clause} ORDER BY s.created_at"
    );
    let query = sqlx::query(&sql).bind(account_id);
    let query = match filter {
        Filter::Session(id) => query.bind(id),
        Filter::User(id) => query.bind(id),
    };
    let rows = query.fetch_all(&state.db.pool).await?;
    rows.iter()
        .map(|r| {
            let role: String = r.try_get("role")?;
            Ok(Target {
                session_id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                email: r.try_get("email")?,
                role: Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role:?}"))?,
            })
        })
        .collect()
}

async fn revoke(
    state: &AppState,
    account_id: i64,
    actor: &str,
    targets: &[Target],
) -> Result<u64, ApiError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let mut revoked = 0;
    for t in targets {
        let ending = Ending {
            session_id: &t.session_id,
            account_id,
            user_id: t.user_id,
            email: &t.email,
            role: t.role,
        };
        if end::end_session(&mut tx, &ending, Cause::Revoked, actor, now).await? {
            revoked += 1;
        }
    }
    tx.commit().await?;
    state.metrics.ended(crate::metrics::Ended::Revoked, revoked);
    state.forget_ended(targets.iter().map(|t| t.session_id.as_str()));
    Ok(revoked)
}

/// `DELETE /api/admin/sessions/{session_id}`.
pub async fn revoke_session(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Session ids are 32 hex digits; anything else names no session.
    let well_formed = path.len() == 32 && path.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(ApiError::NotFound("no such live session in this account"));
    }
    let targets = live_targets(&state, s.account_id, Filter::Session(&path)).await?;
    if targets.is_empty() || revoke(&state, s.account_id, &s.user.email, &targets).await? == 0 {
        return Err(ApiError::NotFound("no such live session in this account"));
    }
    tracing::info!(session = %path.as_str(), by = s.user.id, "session revoked");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/admin/users/{user_id}/revoke-sessions`.
pub async fn revoke_user_sessions(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = ApiError::NotFound("no such user in this account");
    let Ok(user_id) = path.parse::<i64>() else {
        return Err(not_found);
    };
    let exists = sqlx::query("SELECT id FROM users WHERE id = $1 AND account_id = $2")
        .bind(user_id)
        .bind(s.account_id)
        .fetch_optional(&state.db.pool)
        .await?
        .is_some();
    if !exists {
        return Err(not_found);
    }
    let targets = live_targets(&state, s.account_id, Filter::User(user_id)).await?;
    let revoked = revoke(&state, s.account_id, &s.user.email, &targets).await?;
    Ok(HttpResponse::Ok().json(RevokeResult { revoked }))
}

/// Query of `GET /api/admin/audit`; numbers are parsed by hand for clear errors.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<String>,
    before: Option<String>,
}

fn query_number(
    name: &str,
    raw: Option<&str>,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::bad_field(FieldError::new(
            name,
            FieldErrorCode::Invalid,
            format!("{name} must be a whole number from {min} to {max}."),
        ))),
    }
}

/// `GET /api/admin/audit?limit=&before=`: newest first; `before` is an entry id.
pub async fn audit(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query_number("limit", query.limit.as_deref(), 1, 200)?.unwrap_or(50);
    let before = query_number("before", query.before.as_deref(), 1, i64::MAX)?;
    let entries = audit::list(&state.db, s.account_id, limit, before).await?;
    Ok(HttpResponse::Ok().json(entries))
}

/// `GET /api/admin/agents`.
pub async fn agents(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(admin_queries::agents(&state, s.account_id).await?))
}
