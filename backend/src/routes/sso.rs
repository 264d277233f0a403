//! Single sign-on: the admin's connections (`/api/admin/sso`), the round
//! trip through the provider (`…/start`, `…/callback`) and the provider's
//! back-channel logout. The protocol work is in [`crate::sso`]; the session
//! starts through [`crate::sessions::start`], like a password sign-in.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use vigil_policy::api::Role;
use vigil_policy::sso::{validate_connection, SsoConnection, SsoConnectionInput};
use vigil_policy::{Audience, EndReason, FieldError, FieldErrorCode};

use crate::auth::admin::Admin;
use crate::auth::device;
use crate::auth::password::Password;
use crate::domain::Email;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::random::random_hex;
use crate::sessions::start::{start, Proof, SignIn, StartError};
use crate::sessions::{cookie, Peek};
use crate::sso::{self, logout, Failure, Provider};
use crate::state::AppState;
use crate::store::accounts::{self, NewUser};
use crate::store::audit::{self, action, Event};
use crate::store::sessions::{self as session_rows, SsoLink, Which};
use crate::store::sso::{self as sso_rows, Connection};
use vigil_policy::tokens::Scope;

fn view(c: &Connection, origin: &str) -> SsoConnection {
    SsoConnection {
        id: c.id.clone(),
        name: c.name.clone(),
        issuer: c.issuer.clone(),
        client_id: c.client_id.clone(),
        client_secret_set: true,
        audiences: c.audiences.clone(),
        password_sign_in: c.password_sign_in,
        jit_requesters: c.jit_requesters,
        redirect_uri: format!("{origin}{}", sso::CALLBACK_PATH),
        backchannel_logout_uri: format!("{origin}{}", sso::BACKCHANNEL_PATH),
    }
}

/// What an audit entry says of a connection: never the secret.
fn described(c: &Connection) -> serde_json::Value {
    json!({
        "id": c.id,
        "name": c.name,
        "issuer": c.issuer,
        "client_id": c.client_id,
        "audiences": c.audiences,
        "password_sign_in": c.password_sign_in,
        "jit_requesters": c.jit_requesters,
    })
}

/// `GET /api/admin/sso`.
#[utoipa::path(
    get,
    path = "/api/admin/sso",
    tag = "sso",
    summary = "The account's single sign-on connections (never their secrets)",
    responses(
        (status = 200, description = "The connections", body = Vec<SsoConnection>),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::SettingsRead)?;
    let origin = super::public_origin(&state, &req);
    let all = sso_rows::list(&state.store, s.account_id()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(all.iter().map(|c| view(c, &origin)).collect::<Vec<_>>()))
}

/// Checks the input, fetches and checks the provider's discovery and keys,
/// and builds the connection to store (`existing` on update).
async fn checked(
    state: &AppState,
    account_id: i64,
    input: SsoConnectionInput,
    existing: Option<&Connection>,
) -> Result<Connection, ApiError> {
    let rules = state.outbound.rules();
    let errors = validate_connection(&input, existing.is_none(), rules.allows_any());
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = existing.map_or_else(|| random_hex(16), |c| c.id.clone());
    let name = input.name.trim().to_owned();
    // Checked before fetching anything; the unique constraint decides
    // between two requests that check at once (see `save`).
    if sso_rows::name_taken(&state.store, account_id, &name, &id).await? {
        return Err(name_taken());
    }
    let issuer = input.issuer.trim().to_owned();
    let discovered = sso::discover(&state.outbound, &issuer)
        .await
        .map_err(ApiError::IssuerUnreachable)?;
    let client_secret = match (input.client_secret, existing) {
        (Some(secret), _) => SecretString::from(secret),
        (None, Some(c)) => c.client_secret.clone(),
        (None, None) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "client_secret",
                FieldErrorCode::MissingField,
                "Enter the client secret the provider gave Vigil.",
            )]))
        }
    };
    Ok(Connection {
        id,
        account_id,
        name,
        issuer,
        client_id: input.client_id.trim().to_owned(),
        client_secret,
        audiences: Audience::ALL
            .into_iter()
            .filter(|a| input.audiences.contains(a))
            .collect(),
        password_sign_in: input.password_sign_in,
        jit_requesters: input.jit_requesters,
        provider: discovered.metadata,
        jwks: discovered.jwks,
        jwks_fetched_at: state.clock.now(),
    })
}

fn name_taken() -> ApiError {
    ApiError::Validation(vec![FieldError::new(
        "name",
        FieldErrorCode::Invalid,
        "Another connection has this name.",
    )])
}

async fn save(
    state: &AppState,
    actor: &str,
    c: &Connection,
    before: Option<&Connection>,
) -> Result<bool, ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let saved = match sso_rows::save(&mut tx, c, now, before.is_none()).await {
        Err(e) if e.is_unique_violation() => return Err(name_taken()),
        other => other?,
    };
    if saved {
        audit::record(
            &mut tx,
            now,
            Event {
                account_id: c.account_id,
                actor,
                action: if before.is_some() {
                    action::SSO_UPDATED
                } else {
                    action::SSO_CREATED
                },
                target: Some(format!("sso:{}", c.id)),
                details: match before {
                    Some(b) => json!({"before": described(b), "after": described(c)}),
                    None => described(c),
                },
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(saved)
}

/// `POST /api/admin/sso`.
#[utoipa::path(
    post,
    path = "/api/admin/sso",
    tag = "sso",
    summary = "Connects an identity provider (its discovery is fetched and checked)",
    request_body = SsoConnectionInput,
    responses(
        (status = 201, description = "Connected", body = SsoConnection),
        (status = 400, description = "Not valid (`validation`), or the provider could not be reached or checked (`issuer_unreachable`, the message says what failed)", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::NotJson,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    ApiJson(input): ApiJson<SsoConnectionInput>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.recent_session(&state).await?;
    let c = checked(&state, s.account_id(), input, None).await?;
    save(&state, &s.user().email, &c, None).await?;
    tracing::info!(connection = %c.id, "single sign-on connection added");
    Ok(HttpResponse::Created().json(view(&c, &super::public_origin(&state, &req))))
}

/// `PUT /api/admin/sso/{id}`.
#[utoipa::path(
    put,
    path = "/api/admin/sso/{id}",
    tag = "sso",
    summary = "Changes a connection (an absent client_secret keeps the stored one)",
    params(("id" = String, Path, description = "Connection id")),
    request_body = SsoConnectionInput,
    responses(
        (status = 200, description = "Changed", body = SsoConnection),
        (status = 400, description = "Not valid, or the provider could not be reached or checked", body = vigil_policy::api::ErrorBody),
        (status = 404, description = "No such connection in this account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::NotJson,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    id: web::Path<String>,
    ApiJson(input): ApiJson<SsoConnectionInput>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.recent_session(&state).await?;
    let not_found = ApiError::NotFound("no such connection");
    let Some(before) = sso_rows::get(&state.store, &id)
        .await?
        .filter(|c| c.account_id == s.account_id())
    else {
        return Err(not_found);
    };
    let c = checked(&state, s.account_id(), input, Some(&before)).await?;
    if !save(&state, &s.user().email, &c, Some(&before)).await? {
        return Err(not_found);
    }
    Ok(HttpResponse::Ok().json(view(&c, &super::public_origin(&state, &req))))
}

/// `DELETE /api/admin/sso/{id}`.
#[utoipa::path(
    delete,
    path = "/api/admin/sso/{id}",
    tag = "sso",
    summary = "Removes a connection (its sessions live on under the policy)",
    params(("id" = String, Path, description = "Connection id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such connection in this account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.recent_session(&state).await?;
    let now = state.clock.now();
    let Some(c) = sso_rows::get(&state.store, &id)
        .await?
        .filter(|c| c.account_id == s.account_id())
    else {
        return Err(ApiError::NotFound("no such connection"));
    };
    let mut tx = state.store.begin().await?;
    if !sso_rows::delete(&mut tx, s.account_id(), &c.id).await? {
        return Err(ApiError::NotFound("no such connection"));
    }
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: c.account_id,
            actor: &s.user().email,
            action: action::SSO_DELETED,
            target: Some(format!("sso:{}", c.id)),
            details: described(&c),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The query of `…/start`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// Which login page: `agents` (default) or `requesters`.
    audience: Option<Audience>,
    /// Ask for a remembered session.
    #[serde(default)]
    remember_me: bool,
    /// A console path to return to.
    next: Option<String>,
    /// 1: re-authenticate the browser's live session (the provider is
    /// asked to authenticate the person again) instead of signing in.
    #[param(minimum = 0, maximum = 1)]
    reauth: Option<u8>,
}

fn sso_cookie(value: String, max_age: CookieDuration) -> Cookie<'static> {
    let mut c = Cookie::new(sso::COOKIE, value);
    c.set_secure(true);
    c.set_http_only(true);
    // Lax, not Strict: the provider sends the browser back with a
    // cross-site navigation, which must carry this cookie.
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_max_age(max_age);
    c
}

/// `GET /api/auth/sso/{id}/start`.
#[utoipa::path(
    get,
    path = "/api/auth/sso/{id}/start",
    tag = "sso",
    summary = "Sends the browser to the provider (code flow with PKCE); binds the sign-in to this browser",
    params(("id" = String, Path, description = "Connection id"), StartQuery),
    responses(
        (status = 302, description = "To the provider's authorization endpoint; sets __Host-vigil-sso"),
        (status = 400, description = "A query that is not valid", body = vigil_policy::api::ErrorBody),
        (status = 401, description = "With `reauth=1`: the browser has no live session to re-authenticate", body = vigil_policy::api::ErrorBody),
        (status = 404, description = "No such connection for this login page (with `reauth=1`: for the session's account and audience)", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn begin(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<StartQuery>,
    session: Option<Peek>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    // A re-authentication is for the browser's own live session: its
    // account and audience, and the provider must authenticate afresh.
    let reauth = match query.reauth {
        None | Some(0) => None,
        Some(1) => match session {
            Some(Peek(s)) => Some(s),
            None => {
                return Err(ApiError::Unauthenticated(
                    vigil_policy::api::UnauthenticatedReason::Missing,
                ))
            }
        },
        Some(_) => return Err(ApiError::bad_request("reauth must be 0 or 1.")),
    };
    let audience = match &reauth {
        Some(s) => s.role().audience(),
        None => query.audience.unwrap_or(Audience::Agents),
    };
    let Some(c) = sso_rows::get(&state.store, &id)
        .await?
        .filter(|c| c.serves(audience))
        .filter(|c| {
            reauth
                .as_ref()
                .is_none_or(|s| s.account_id() == c.account_id)
        })
    else {
        return Err(ApiError::NotFound("no such single sign-on connection"));
    };
    let provider = Provider::of(c).map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    // Checked again against the person's role at the end.
    let next = query
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && n.len() <= 512);
    let begun = sso::begin(
        &state.store,
        &provider,
        &super::public_origin(&state, &req),
        sso::Request {
            audience,
            remember_me: query.remember_me && reauth.is_none(),
            next,
            force_login: reauth.is_some(),
            reauth_session: reauth.map(|s| s.session_id().to_owned()),
        },
        state.clock.now(),
    )
    .await
    .map_err(|e| match e {
        sso::BeginError::Store(e) => ApiError::from(e),
        sso::BeginError::Failed(f) => ApiError::Internal(anyhow::anyhow!(f)),
    })?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, begun.location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(sso_cookie(
            begun.cookie,
            CookieDuration::seconds(sso::LOGIN_TTL.whole_seconds()),
        ))
        .finish())
}

/// The query of the callback.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code.
    code: Option<String>,
    /// The `state` sent to the provider.
    state: Option<String>,
    /// The provider's error, when it refused.
    error: Option<String>,
}

/// Where a failed sign-in returns the browser.
fn failed(audience: Audience) -> HttpResponse {
    let page = match audience {
        Audience::Agents => "/login",
        Audience::Requesters => "/portal/login",
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{page}?error=sso_failed")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(sso_cookie(String::new(), CookieDuration::ZERO))
        .finish()
}

/// `GET /api/auth/sso/callback`.
#[tracing::instrument(name = "sso_callback", skip_all)]
#[utoipa::path(
    get,
    path = "/api/auth/sso/callback",
    tag = "sso",
    summary = "The provider sends the browser back here; signs in exactly as a password would",
    params(CallbackQuery),
    responses(
        (status = 303, description = "Signed in: to `next` or the role's home, with __Host-vigil set. Not signed in: to /login?error=sso_failed (or /portal/login?…), audited. A re-authentication (`reauth=1`): to `next` or the home page, the session's `authenticated_at` now (no new session); refused: to the same page with `reauth=failed`, audited"),
        (status = 400, description = "A query that is not valid", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
    session: Option<Peek>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let Some(cookie_value) = cookie::named_value(req.headers(), sso::COOKIE) else {
        tracing::info!("single sign-on callback without the browser's sign-in cookie");
        return Ok(failed(Audience::Agents));
    };
    let Some(pending) =
        sso_rows::take_login(&state.store, &sso::cookie_hash(cookie_value), now).await?
    else {
        tracing::info!("single sign-on callback for no sign-in on its way (lapsed or used)");
        return Ok(failed(Audience::Agents));
    };
    let audience = pending.audience;
    let Some(connection) = sso_rows::get(&state.store, &pending.connection_id).await? else {
        tracing::info!("single sign-on connection removed during a sign-in");
        return Ok(failed(audience));
    };
    let (account_id, name) = (connection.account_id, connection.name.clone());
    let query = query.into_inner();
    let outcome = match &pending.reauth_session {
        Some(session_id) => {
            reauthenticated(
                &state, &req, connection, &pending, session_id, session, query, now,
            )
            .await
        }
        None => signed_in(&state, &req, connection, &pending, query, now).await,
    };
    match outcome {
        Ok(res) => Ok(res),
        Err(Refusal::Store(e)) => Err(e),
        Err(Refusal::Failed(f, email)) => {
            tracing::info!(reason = f.reason, detail = %f.detail, "single sign-on failed");
            state.sessions.metrics.login_failed();
            let mut tx = state.store.begin().await?;
            audit::record(
                &mut tx,
                now,
                Event {
                    account_id,
                    actor: email.as_deref().unwrap_or("unknown person"),
                    action: action::LOGIN_FAILED,
                    target: None,
                    details: json!({
                        "method": "sso",
                        "connection": {"id": pending.connection_id, "name": name},
                        "email": email,
                        "reason": f.reason,
                        // Partly the provider's (or whoever sent the
                        // browser here) words: kept short.
                        "detail": f.detail.chars().take(300).collect::<String>(),
                        "reauthentication": pending.reauth_session.is_some(),
                    }),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(match pending.reauth_session {
                // Still signed in: back to the page that asked.
                Some(_) => back(&pending, "?reauth=failed"),
                None => failed(audience),
            })
        }
    }
}

/// Where a re-authentication returns the browser: the page that asked
/// (already checked when the round trip began), with `suffix`.
fn back(pending: &sso_rows::PendingLogin, suffix: &str) -> HttpResponse {
    let page = pending.next.as_deref().unwrap_or("/");
    let page = page.split('?').next().unwrap_or("/");
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{page}{suffix}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(sso_cookie(String::new(), CookieDuration::ZERO))
        .finish()
}

/// The end of a re-authentication round trip (`…/start?reauth=1`): the
/// provider authenticated the person again, the browser still holds the
/// session that asked, and that session's person is who the provider
/// vouches for. Then the session's `authenticated_at` moves to now; no
/// session starts.
#[allow(clippy::too_many_arguments)]
async fn reauthenticated(
    state: &AppState,
    req: &HttpRequest,
    connection: Connection,
    pending: &sso_rows::PendingLogin,
    session_id: &str,
    session: Option<Peek>,
    query: CallbackQuery,
    now: OffsetDateTime,
) -> Result<HttpResponse, Refusal> {
    let (provider, identity) = identity(state, req, connection, pending, query, now).await?;
    let connection = &provider.connection;
    let email = identity.email.clone();
    let Some(Peek(s)) = session.filter(|Peek(s)| s.session_id() == session_id) else {
        return Err(refused(
            "session_changed",
            "the browser no longer holds the session that asked to re-authenticate",
            Some(&email),
        ));
    };
    if !identity.authenticated_just_now() {
        return Err(refused(
            "not_reauthenticated",
            "the provider did not authenticate the person again during this round trip (auth_time)",
            Some(&email),
        ));
    }
    let person = match Email::parse(&email) {
        Ok(e) => accounts::find_user(&state.store, connection.account_id, e.as_str()).await?,
        Err(_) => None,
    };
    let same = person.is_some_and(|p| {
        p.active && p.view.id == s.user().id && connection.account_id == s.account_id()
    });
    if !same {
        return Err(refused(
            "wrong_person",
            "the provider authenticated someone other than the session's person",
            Some(&email),
        ));
    }
    let mut tx = state.store.begin().await?;
    if !session_rows::reauthenticated(&mut tx, session_id, now).await? {
        return Err(refused(
            "session_ended",
            "the session ended during the round trip",
            Some(&email),
        ));
    }
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: s.account_id(),
            actor: &s.user().email,
            action: action::SESSION_REAUTHENTICATED,
            target: Some(format!("session:{session_id}")),
            details: json!({
                "session_id": session_id,
                "user_id": s.user().id,
                "method": "sso",
                "connection": {"id": connection.id, "name": connection.name},
                "ip": crate::net::client_ip(req, &state.config.trusted_proxies),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    s.reauthenticated(now);
    tracing::info!(session = %session_id, "re-authenticated through single sign-on");
    let to = pending
        .next
        .as_deref()
        .and_then(|n| vigil_policy::pages::next_for(s.role(), n))
        .unwrap_or_else(|| vigil_policy::pages::home(s.user()));
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(sso_cookie(String::new(), CookieDuration::ZERO))
        .finish())
}

enum Refusal {
    Failed(Failure, Option<String>),
    Store(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Store(e)
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Self {
        Refusal::Store(e.into())
    }
}

fn refused(reason: &'static str, detail: impl Into<String>, email: Option<&str>) -> Refusal {
    Refusal::Failed(
        Failure {
            reason,
            detail: detail.into(),
        },
        email.map(str::to_owned),
    )
}

/// The provider's answer checked: the code redeemed for a valid id token,
/// who it names.
async fn identity(
    state: &AppState,
    req: &HttpRequest,
    connection: Connection,
    pending: &sso_rows::PendingLogin,
    query: CallbackQuery,
    now: OffsetDateTime,
) -> Result<(Provider, sso::Identity), Refusal> {
    if let Some(error) = query.error {
        return Err(refused("provider_refused", error, None));
    }
    let (Some(code), Some(returned_state)) = (query.code, query.state) else {
        return Err(refused("no_code", "the provider sent no code", None));
    };
    if returned_state != pending.state {
        return Err(refused(
            "state_mismatch",
            "the state does not match this browser's sign-in",
            None,
        ));
    }
    let origin = super::public_origin(state, req);
    let mut provider = Provider::of(connection).map_err(|f| Refusal::Failed(f, None))?;
    let identity = sso::finish(
        &state.store,
        &state.outbound,
        &mut provider,
        pending,
        &code,
        &origin,
        now,
    )
    .await
    .map_err(|f| Refusal::Failed(f, None))?;
    Ok((provider, identity))
}

/// The rest of the callback: checks, the person, the session.
async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
    connection: Connection,
    pending: &sso_rows::PendingLogin,
    query: CallbackQuery,
    now: OffsetDateTime,
) -> Result<HttpResponse, Refusal> {
    let (provider, identity) = identity(state, req, connection, pending, query, now).await?;
    let connection = &provider.connection;
    let email = Email::parse(&identity.email)
        .map_err(|e| refused("bad_email", e, Some(&identity.email)))?;
    let person =
        match accounts::find_user(&state.store, connection.account_id, email.as_str()).await? {
            Some(user) if !user.active => {
                return Err(refused(
                    "deactivated",
                    "this person is deactivated",
                    Some(&user.view.email),
                ))
            }
            Some(user) => user.view,
            None if pending.audience == Audience::Requesters && connection.jit_requesters => {
                create_requester(
                    state,
                    connection,
                    email.as_str(),
                    identity.name.as_deref(),
                    now,
                )
                .await?
            }
            None => {
                return Err(refused(
                    "unknown_person",
                    "no person of the account has this email",
                    Some(email.as_str()),
                ))
            }
        };
    if person.role.audience() != pending.audience {
        return Err(refused(
            "wrong_login_page",
            format!(
                "a {} signed in on the {} login page",
                person.role.as_str(),
                pending.audience.as_str()
            ),
            Some(&person.email),
        ));
    }
    let link = SsoLink {
        connection_id: connection.id.clone(),
        sub: identity.sub,
        sid: identity.sid,
    };
    let ip = crate::net::client_ip(req, &state.config.trusted_proxies);
    let home = vigil_policy::pages::home(&person);
    let to = pending
        .next
        .as_deref()
        .and_then(|n| vigil_policy::pages::next_for(person.role, n))
        .unwrap_or(home)
        .to_owned();
    let known =
        crate::routes::auth::known_device(state, req, connection.account_id, Some(person.id), now);
    let device = device::Device {
        account_id: connection.account_id,
        user_id: person.id,
        id: known.map_or_else(|| random_hex(16), |d| d.id),
    };
    crate::sessions::end_previous(&state.sessions, req.headers(), now).await?;
    let started = start(
        &state.sessions,
        SignIn {
            account_id: connection.account_id,
            person,
            remember_me: pending.remember_me,
            ip: &ip,
            user_agent: crate::net::user_agent(req),
            proof: Proof::Sso {
                link: &link,
                connection_name: &connection.name,
            },
        },
        now,
    )
    .await;
    let started = match started {
        Ok(started) => started,
        // Refused by the person's session limit (audited there): back to
        // the login page, as any failed sign-in.
        Err(StartError::SessionLimit { .. }) => return Ok(failed(pending.audience)),
        Err(StartError::Store(e)) => return Err(e.into()),
    };
    tracing::info!(session = %started.view.session_id, user = started.view.user.id, "signed in through single sign-on");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie::issue(&started.token, started.max_age_secs))
        .cookie(device::cookie(state.device_key.sign(&device, now)))
        .cookie(sso_cookie(String::new(), CookieDuration::ZERO))
        .finish())
}

/// A requester seen for the first time: created with a password nobody
/// knows (a password sign-in fails as for anyone with a wrong password).
async fn create_requester(
    state: &AppState,
    connection: &Connection,
    email: &str,
    name: Option<&str>,
    now: OffsetDateTime,
) -> Result<vigil_policy::api::UserView, Refusal> {
    let hash = state
        .hasher
        .hash(Password::new(random_hex(32)))
        .await
        .map_err(ApiError::from)?;
    let display_name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(100).collect::<String>())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned());
    let mut tx = state.store.begin().await?;
    let id = accounts::create_user(
        &mut tx,
        connection.account_id,
        &NewUser {
            email,
            display_name: &display_name,
            role: Role::Requester,
            password_hash: &hash,
            available: false,
            auto_assign: false,
        },
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: connection.account_id,
            actor: &format!("identity provider {}", connection.name),
            action: action::USER_CREATED,
            target: Some(format!("user:{id}")),
            details: json!({"user_id": id, "email": email, "role": "requester", "connection": {"id": connection.id, "name": connection.name}}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(vigil_policy::api::UserView {
        id,
        email: email.to_owned(),
        display_name,
        role: Role::Requester,
        permissions: Vec::new(),
    })
}

/// The form the provider posts.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LogoutForm {
    /// The signed logout token.
    logout_token: String,
}

/// `POST /api/auth/sso/backchannel-logout`.
#[tracing::instrument(name = "backchannel_logout", skip_all)]
#[utoipa::path(
    post,
    path = "/api/auth/sso/backchannel-logout",
    tag = "sso",
    summary = "OpenID Connect Back-Channel Logout: the provider ends the sessions of one of its sessions (sid) or subject (sub)",
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Those sessions ended as revocations"),
        (status = 400, description = "Not a valid logout token (`invalid_logout_token`); nothing ended", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn backchannel_logout(
    state: web::Data<AppState>,
    form: Result<web::Form<LogoutForm>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let Ok(form) = form else {
        tracing::info!("back-channel logout without a logout_token form field");
        return Err(ApiError::InvalidLogoutToken);
    };
    let token = form.into_inner().logout_token;
    let now = state.clock.now();
    let Some((issuer, audiences)) = logout::peek_issuer(&token) else {
        tracing::info!("back-channel logout: unreadable token");
        return Err(ApiError::InvalidLogoutToken);
    };
    let candidates = sso_rows::by_issuer(&state.store, &issuer).await?;
    let Some(connection) = candidates
        .into_iter()
        .find(|c| audiences.contains(&c.client_id))
    else {
        tracing::info!(%issuer, "back-channel logout for no connection");
        return Err(ApiError::InvalidLogoutToken);
    };
    let mut provider =
        Provider::of(connection).map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    let check = |p: &Provider| {
        logout::verify(
            &token,
            logout::Expect {
                keys: p.keys(),
                algs: &p.algorithms(),
                issuer: p.issuer(),
                client_id: &p.connection.client_id,
                now: now.unix_timestamp(),
            },
        )
    };
    let verified = match check(&provider) {
        Err(logout::LogoutError::UnknownKey) => {
            match provider
                .refresh_keys(&state.store, &state.outbound, now)
                .await
            {
                Ok(_) => check(&provider),
                // Ours, not the token's: 503 with Retry-After, so the
                // provider may send it again rather than drop a logout.
                Err(sso::RefreshError::Store(e)) => return Err(e.into()),
                // The provider's keys could not be fetched or read: the
                // token names a key the provider does not publish now.
                Err(sso::RefreshError::Failed(f)) => {
                    tracing::warn!(error = %f, "back-channel logout: keys not refreshed");
                    Err(logout::LogoutError::UnknownKey)
                }
            }
        }
        other => other,
    };
    let token = match verified {
        Ok(t) => t,
        Err(e) => {
            tracing::info!(connection = %provider.connection.id, error = %e, "back-channel logout refused");
            return Err(ApiError::InvalidLogoutToken);
        }
    };
    let c = &provider.connection;
    let which = match (&token.sid, &token.sub) {
        (Some(sid), _) => Which::SsoSession(&c.id, sid),
        (None, Some(sub)) => Which::SsoSubject(&c.id, sub),
        (None, None) => return Err(ApiError::InvalidLogoutToken),
    };
    let targets: Vec<_> = session_rows::live_endings(state.store.pool(), c.account_id, which)
        .await?
        .into_iter()
        .map(|e| (e, EndReason::Revoked))
        .collect();
    let actor = format!("identity provider {}", c.name);
    let keep_until =
        OffsetDateTime::from_unix_timestamp(token.iat + logout::MAX_AGE_SECS + logout::SKEW_SECS)
            .unwrap_or(now);
    let mut tx = state.store.begin().await?;
    if !sso_rows::accept_jti(&mut tx, &c.id, &token.jti, keep_until).await? {
        tracing::info!(connection = %c.id, "back-channel logout: a jti seen before");
        return Err(ApiError::InvalidLogoutToken);
    }
    let ended = crate::sessions::end::end_sessions(&mut tx, &targets, &actor, now).await?;
    tx.commit().await?;
    state
        .sessions
        .metrics
        .ended(EndReason::Revoked, ended.len() as u64);
    tracing::info!(connection = %c.id, ended = ended.len(), "back-channel logout");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"ended": ended.len()})))
}
