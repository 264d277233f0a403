//! Admin: live sessions, revocation, the team, the audit log. Every query is
//! scoped to the caller's account; another account's id is a 404.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use time::OffsetDateTime;
use vigil_policy::api::{RevokeResult, SessionSummary};
use vigil_policy::{evaluate, EndReason, FieldError, FieldErrorCode, SecuritySettings, Verdict};

use crate::error::ApiError;
use crate::sessions::end::end_now;
use crate::sessions::SecurityAdmin;
use crate::state::AppState;
use crate::store::sessions::{LiveSession, Which};
use crate::store::{accounts, audit};

/// An account's sessions that are live under `settings` at `now`, each
/// with the newest activity this process holds.
pub async fn live_sessions(
    state: &AppState,
    account_id: i64,
    settings: &SecuritySettings,
    now: OffsetDateTime,
) -> Result<Vec<LiveSession>, ApiError> {
    let mut rows = crate::store::sessions::live_in_account(&state.store, account_id).await?;
    for s in &mut rows {
        s.row.last_activity_at = state.memory.last_activity_of(&s.row);
    }
    rows.retain(|s| {
        let verdict = evaluate(settings.policy(s.row.audience), s.row.times(), now).verdict;
        !matches!(verdict, Verdict::Expired(_))
    });
    Ok(rows)
}

fn summary(s: LiveSession, settings: &SecuritySettings, now: OffsetDateTime) -> SessionSummary {
    let e = evaluate(settings.policy(s.row.audience), s.row.times(), now);
    SessionSummary {
        session_id: s.row.id,
        user: s.user,
        audience: s.row.audience,
        persistent: s.row.persistent,
        created_at: s.row.created_at,
        last_activity_at: s.row.last_activity_at,
        idle_expires_at: e.idle_expires_at,
        absolute_expires_at: e.absolute_expires_at,
        ip: s.row.ip,
        user_agent: s.row.user_agent,
    }
}

/// `GET /api/admin/sessions`.
#[utoipa::path(
    get,
    path = "/api/admin/sessions",
    tag = "admin",
    summary = "The account's live sessions",
    responses(
        (status = 200, description = "Live sessions", body = Vec<vigil_policy::api::SessionSummary>),
        (status = 401, description = "No live session: the reason says why", body = vigil_policy::api::ErrorBody),
        (status = 403, description = "Missing permission, or failed the CSRF check", body = vigil_policy::api::ErrorBody),
    )
)]
pub async fn list_sessions(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let rows = live_sessions(&state, s.account_id(), s.settings(), now).await?;
    let out: Vec<_> = rows
        .into_iter()
        .map(|r| summary(r, s.settings(), now))
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Revokes the account's live sessions matching `which`; returns how many.
async fn revoke(
    state: &AppState,
    account_id: i64,
    actor: &str,
    which: Which<'_>,
) -> Result<u64, ApiError> {
    let targets = crate::store::sessions::live_endings(&state.store, account_id, which).await?;
    let targets: Vec<_> = targets
        .into_iter()
        .map(|t| (t, EndReason::Revoked))
        .collect();
    let ended = end_now(state, &targets, actor, state.clock.now()).await?;
    Ok(ended.len() as u64)
}

/// `DELETE /api/admin/sessions/{session_id}`.
#[utoipa::path(
    delete,
    path = "/api/admin/sessions/{session_id}",
    tag = "admin",
    summary = "Ends a session of the account",
    params(("session_id" = String, Path, description = "A session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No such live session in this account", body = vigil_policy::api::ErrorBody),
        (status = 401, description = "No live session: the reason says why", body = vigil_policy::api::ErrorBody),
        (status = 403, description = "Missing permission, or failed the CSRF check", body = vigil_policy::api::ErrorBody),
    )
)]
pub async fn revoke_session(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Session ids are 32 hex digits; anything else names no session.
    let well_formed = path.len() == 32 && path.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed
        || revoke(
            &state,
            s.account_id(),
            &s.user().email,
            Which::Session(&path),
        )
        .await?
            == 0
    {
        return Err(ApiError::NotFound("no such live session in this account"));
    }
    tracing::info!(session = %path.as_str(), by = s.user().id, "session revoked");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/admin/users/{user_id}/revoke-sessions`.
#[utoipa::path(
    post,
    path = "/api/admin/users/{user_id}/revoke-sessions",
    tag = "admin",
    summary = "Ends every session of a person",
    params(("user_id" = i64, Path, description = "A person's id")),
    responses(
        (status = 200, description = "How many ended", body = vigil_policy::api::RevokeResult),
        (status = 404, description = "No such person in this account", body = vigil_policy::api::ErrorBody),
        (status = 401, description = "No live session: the reason says why", body = vigil_policy::api::ErrorBody),
        (status = 403, description = "Missing permission, or failed the CSRF check", body = vigil_policy::api::ErrorBody),
    )
)]
pub async fn revoke_user_sessions(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = ApiError::NotFound("no such user in this account");
    let Ok(user_id) = path.parse::<i64>() else {
        return Err(not_found);
    };
    if !accounts::exists(&state.store, s.account_id(), user_id).await? {
        return Err(not_found);
    }
    let revoked = revoke(
        &state,
        s.account_id(),
        &s.user().email,
        Which::Person(user_id),
    )
    .await?;
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
#[utoipa::path(
    get,
    path = "/api/admin/audit",
    tag = "admin",
    summary = "The audit log, newest first",
    responses(
        (status = 200, description = "Entries", body = Vec<vigil_policy::api::AuditEntry>),
        (status = 400, description = "A body or query that is not valid", body = vigil_policy::api::ErrorBody),
        (status = 401, description = "No live session: the reason says why", body = vigil_policy::api::ErrorBody),
        (status = 403, description = "Missing permission, or failed the CSRF check", body = vigil_policy::api::ErrorBody),
    )
)]
pub async fn audit(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query_number("limit", query.limit.as_deref(), 1, 200)?.unwrap_or(50);
    let before = query_number("before", query.before.as_deref(), 1, i64::MAX)?;
    let entries = audit::list(&state.store, s.account_id(), limit, before).await?;
    Ok(HttpResponse::Ok().json(entries))
}

/// `GET /api/admin/agents`.
#[utoipa::path(
    get,
    path = "/api/admin/agents",
    tag = "admin",
    summary = "The team: availability, sessions, open conversations",
    responses(
        (status = 200, description = "The team", body = Vec<vigil_policy::api::AgentRow>),
        (status = 401, description = "No live session: the reason says why", body = vigil_policy::api::ErrorBody),
        (status = 403, description = "Missing permission, or failed the CSRF check", body = vigil_policy::api::ErrorBody),
    )
)]
pub async fn agents(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(accounts::team(&state.store, s.account_id()).await?))
}
