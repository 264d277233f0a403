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
        state.store.pool(),
        s.account_id(),
        sessions::Which::Person(s.user().id),
    )
    .await?)
}

/// Query of `GET /api/me/sessions`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Sessions per page, 1 to 1000 (default 200).
    #[param(schema_with = crate::routes::paging::limit_schema)]
    limit: Option<String>,
    /// Where the page starts: the cursor in the previous page's `Link`
    /// (`rel="next"`). Any other value is a 400.
    #[param(schema_with = crate::routes::paging::after_schema)]
    after: Option<String>,
}

/// `GET /api/me/sessions`: the caller's live sessions, newest first, this
/// one marked, a page at a time.
#[utoipa::path(
    get,
    path = "/api/me/sessions",
    tag = "me",
    summary = "The caller's live sessions, newest first, a page at a time",
    params(ListQuery),
    responses(
        (status = 200, description = "Their sessions, newest first", body = Vec<vigil_policy::api::MySession>,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"` when more remain: the next page, with the same limit (a relative URL)"))),
        (status = 400, description = "`limit` not from 1 to 1000, or `after` not a cursor of the caller's list", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NoSession,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn list(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    use crate::routes::paging;
    // The list a cursor belongs to: this person's, in this account.
    let list = format!("me/{}/{}", s.account_id(), s.user().id);
    let asked = paging::asked(
        &state.cursor_key,
        &list,
        query.limit.as_deref(),
        query.after.as_deref(),
    )?;
    let now = state.clock.now();
    let scope = sessions::ListScope {
        account_id: s.account_id(),
        user_id: Some(s.user().id),
        audience: None,
    };
    let (rows, next) = paging::live_sessions(&state.store, scope, &asked, |live| {
        live.row.last_activity_at = state.sessions.memory.last_activity_of(&live.row);
        let policy =
            s.settings()
                .policy_for(live.row.audience, s.user().is_admin(), live.row.persistent);
        // Past a deadline: the sweeper has not got to it yet.
        !matches!(
            evaluate(&policy, live.row.times(), now).verdict,
            Verdict::Expired(_)
        )
    })
    .await?;
    let out: Vec<MySession> = rows
        .into_iter()
        .map(|live| {
            let row = live.row;
            let policy = s
                .settings()
                .policy_for(row.audience, s.user().is_admin(), row.persistent);
            let e = evaluate(&policy, row.times(), now);
            MySession {
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
            }
        })
        .collect();
    let keep: Vec<_> = query.limit.iter().map(|l| ("limit", l.clone())).collect();
    Ok(paging::answer(
        &out,
        req.path(),
        &keep,
        next.map(|k| state.cursor_key.seal(&list, &k)),
    ))
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
        crate::routes::openapi::Unavailable,
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
        crate::routes::openapi::Unavailable,
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

/// `POST /api/me/password`: the current password, then the new one under
/// the rule of `vigil_policy::password`; every other session ends.
#[tracing::instrument(name = "change_password", skip_all)]
#[utoipa::path(
    post,
    path = "/api/me/password",
    tag = "me",
    summary = "Changes the caller's password; every other session of theirs ends",
    request_body = vigil_policy::api::ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; how many other sessions ended", body = vigil_policy::api::RevokeResult),
        (status = 400, description = "`validation`: the new password breaks the rule (`fields` name `new_password`: 15 to 256 characters, not the email, not one character repeated or a run of keys or digits, not a common or breached password); nothing changed", body = vigil_policy::api::ErrorBody),
        (status = 401, description = "`invalid_credentials`: the current password is wrong; or `unauthenticated`: no live session, including one ended while this request was on its way (another change of the password, a deactivation or a revocation went first); nothing changed", body = vigil_policy::api::ErrorBody),
        (status = 403, description = "Failed the CSRF check", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotJson,
        (status = 429, description = "`too_many_attempts`: throttled like sign-in; see Retry-After", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::BusyOrUnavailable,
    )
)]
pub async fn change_password(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    Authenticated(s): Authenticated,
    crate::json::ApiJson(body): crate::json::ApiJson<vigil_policy::api::ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    use crate::auth::password::Password;
    use crate::domain::MAX_PASSWORD_BYTES;
    use crate::store::accounts;
    use vigil_policy::{FieldError, FieldErrorCode};

    for (field, value) in [
        ("current_password", &body.current_password),
        ("new_password", &body.new_password),
    ] {
        if value.len() > MAX_PASSWORD_BYTES {
            return Err(ApiError::bad_field(FieldError::new(
                field,
                FieldErrorCode::Invalid,
                format!("The password is longer than {MAX_PASSWORD_BYTES} bytes."),
            )));
        }
    }
    let now = state.clock.now();
    let person = s.user().clone();
    let problems = vigil_policy::password::validate_new_password(&body.new_password, &person.email);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let slug = accounts::slug_of(&state.store, s.account_id())
        .await?
        .unwrap_or_default();
    let stored = accounts::find_user(&state.store, s.account_id(), &person.email).await?;
    let ip = crate::net::client_ip(&req, &state.config.trusted_proxies);
    let check = crate::routes::auth::check_password(
        &state,
        &req,
        (s.account_id(), &slug),
        &person.email,
        stored.map(|u| (person.id, u.password_hash)),
        Password::new(body.current_password),
        now,
    )
    .await?;
    let verified = check.verified;
    if !verified {
        // Guessing from a stolen session shows in the log as failed
        // password checks do.
        state.sessions.metrics.login_failed();
        let mut tx = state.store.begin().await?;
        crate::store::audit::record(
            &mut tx,
            now,
            crate::store::audit::Event {
                account_id: s.account_id(),
                actor: &person.email,
                action: crate::store::audit::action::LOGIN_FAILED,
                target: Some(format!("user:{}", person.id)),
                details: serde_json::json!({
                    "email": person.email,
                    "ip": ip,
                    "reason": "wrong_current_password",
                    "session_id": s.session_id(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            user = person.id,
            "password change refused: wrong current password"
        );
        return Err(ApiError::InvalidCredentials);
    }
    check.succeeded(&state, now).await?;
    let hash = state.hasher.hash(Password::new(body.new_password)).await?;
    let revoked = crate::people::set_password(
        &state.store,
        &state.sessions.metrics,
        (s.account_id(), person.id, &person.email),
        &hash,
        crate::people::ChangedBy::Themself,
        &person.email,
        Some(s.session_id()),
        now,
    )
    .await?;
    tracing::info!(user = person.id, revoked, "password changed");
    Ok(HttpResponse::Ok().json(RevokeResult { revoked }))
}

/// The answer of `GET /api/me/draft-key`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DraftKey {
    /// The key, as a JSON Web Key (RFC 7517) that WebCrypto imports as it
    /// is.
    pub key: DraftJwk,
    /// Its version: it changes with every deactivation, reactivation and
    /// password change of the person's. The console writes it beside each
    /// draft and discards drafts of another version.
    #[schema(minimum = 0)]
    pub version: i64,
}

/// An AES-256-GCM key as a JSON Web Key.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DraftJwk {
    /// Always `oct` (a symmetric key).
    #[schema(pattern = "^oct$")]
    pub kty: &'static str,
    /// Always `A256GCM`.
    #[schema(pattern = "^A256GCM$")]
    pub alg: &'static str,
    /// The 32 bytes of the key, base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$", min_length = 43, max_length = 43)]
    pub k: String,
}

/// `GET /api/me/draft-key`: the key the console encrypts the caller's
/// drafts with before keeping them in the browser (see `crate::drafts`).
/// A session only (never an API token); not activity; never cached.
#[utoipa::path(
    get,
    path = "/api/me/draft-key",
    tag = "me",
    summary = "The key the caller's drafts are encrypted with in the browser",
    description = "The same for every session of the person until they are deactivated or reactivated or their password changes; another person's differs. Only a signed-in session gets it: a request bearing an API token is answered 401. Sent with `Cache-Control: no-store`; it does not count as activity.",
    responses(
        (status = 200, description = "The caller's draft key", body = DraftKey,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        crate::routes::openapi::NoSession,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn draft_key(
    state: web::Data<AppState>,
    crate::sessions::Peek(s): crate::sessions::Peek,
) -> Result<HttpResponse, ApiError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let user_id = s.user().id;
    let version = crate::store::accounts::draft_key_version(&state.store, user_id)
        .await?
        .ok_or(ApiError::Unauthenticated(
            vigil_policy::api::UnauthenticatedReason::Invalid,
        ))?;
    let key = state
        .draft_keys
        .key_of(user_id, version)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("deriving a draft key")))?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(DraftKey {
            key: DraftJwk {
                kty: "oct",
                alg: "A256GCM",
                k: URL_SAFE_NO_PAD.encode(key),
            },
            version,
        }))
}
