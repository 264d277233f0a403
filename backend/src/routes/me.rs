//! The caller's own sessions: see them, end one, end all the others.
//! Ending one is audited like an admin's revocation, by the person.

use actix_web::{web, HttpResponse};
use vigil_policy::api::{browser_in_words, MySession, RevokeResult};
use vigil_policy::{evaluate, EndReason, Verdict};

use crate::error::ApiError;
use crate::sessions::{Authenticated, Current};
use crate::state::AppState;
use crate::store::sessions::{self, Ending};

/// What ending each of the caller's live sessions needs.
async fn my_endings(state: &AppState, s: &Current) -> Result<Vec<Ending>, ApiError> {
    Ok(sessions::live_endings(
        &state.store,
        s.account_id(),
        sessions::Which::Person(s.user().id),
    )
    .await?)
}

/// `GET /api/me/sessions`: the caller's live sessions, newest first, this
/// one marked.
#[utoipa::path(
    get,
    path = "/api/me/sessions",
    tag = "me",
    summary = "The caller's live sessions",
    responses(
        (status = 200, description = "Their sessions", body = Vec<vigil_policy::api::MySession>),
        crate::routes::openapi::NoSession,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let rows = sessions::live_of_person(&state.store, s.account_id(), s.user().id).await?;
    let out: Vec<MySession> = rows
        .into_iter()
        .filter_map(|live| {
            let mut row = live.row;
            row.last_activity_at = state.sessions.memory.last_activity_of(&row);
            let e = evaluate(s.settings().policy(row.audience), row.times(), now);
            if matches!(e.verdict, Verdict::Expired(_)) {
                return None; // the sweeper has not got to it yet
            }
            Some(MySession {
                current: row.id == s.session_id(),
                browser: browser_in_words(row.user_agent.as_deref()),
                session_id: row.id,
                created_at: row.created_at,
                last_activity_at: row.last_activity_at,
                idle_expires_at: e.idle_expires_at,
                absolute_expires_at: e.absolute_expires_at,
                persistent: row.persistent,
                method: row.method,
                sso_connection: live.sso_connection,
                ip: row.ip,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// `DELETE /api/me/sessions/{session_id}`: ends one of the caller's
/// sessions; anyone else's is a 404.
#[utoipa::path(
    delete,
    path = "/api/me/sessions/{session_id}",
    tag = "me",
    summary = "Ends one of the caller's sessions",
    params(("session_id" = String, Path, description = "A session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "Not one of the caller's live sessions", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NoSessionOrCsrf,
    )
)]
pub async fn revoke(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = ApiError::NotFound("no such live session of yours");
    let target: Vec<_> = my_endings(&state, &s)
        .await?
        .into_iter()
        .filter(|e| e.session_id == *path)
        .map(|e| (e, EndReason::Revoked))
        .collect();
    if target.is_empty() {
        return Err(not_found);
    }
    let ended = state
        .sessions
        .end_now(&target, &s.user().email, state.clock.now())
        .await?;
    if ended.is_empty() {
        return Err(not_found);
    }
    tracing::info!(session = %path.as_str(), by = s.user().id, "own session ended");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/me/sessions/revoke-others`: ends every live session of the
/// caller's but this one.
#[utoipa::path(
    post,
    path = "/api/me/sessions/revoke-others",
    tag = "me",
    summary = "Ends all the caller's sessions but this one",
    responses(
        (status = 200, description = "How many ended", body = vigil_policy::api::RevokeResult),
        crate::routes::openapi::NoSessionOrCsrf,
    )
)]
pub async fn revoke_others(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let others: Vec<_> = my_endings(&state, &s)
        .await?
        .into_iter()
        .filter(|e| e.session_id != s.session_id())
        .map(|e| (e, EndReason::Revoked))
        .collect();
    let ended = state
        .sessions
        .end_now(&others, &s.user().email, state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(RevokeResult {
        revoked: ended.len() as u64,
    }))
}
