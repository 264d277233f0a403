//! Signing in and out, and what a login page offers.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use vigil_policy::api::{LoginOption, LoginOptions, LoginRequest, ReauthenticateRequest};
use vigil_policy::sso::{password_allowed, SsoOption};
use vigil_policy::{Audience, EndReason, FieldError, FieldErrorCode};

use crate::auth::device;
use crate::auth::password::{Lane, Password};
use crate::auth::throttle;
use crate::domain::{Email, Slug, MAX_PASSWORD_BYTES};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::random::random_hex;
use crate::sessions::start::{start, Proof, SignIn};
use crate::sessions::{cookie, Authenticated, Peek};
use crate::state::AppState;
use crate::store::accounts;
use crate::store::audit::{self, action, Event};
use crate::store::sso as sso_rows;

/// `GET /api/accounts/{slug}/login-options`.
#[utoipa::path(
    get,
    path = "/api/accounts/{slug}/login-options",
    tag = "auth",
    summary = "What an account's login pages offer",
    params(("slug" = String, Path, description = "The account's slug")),
    responses(
        (status = 200, description = "The options", body = vigil_policy::api::LoginOptions),
        (status = 404, description = "No such account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn login_options(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = ApiError::NotFound("no such account");
    let Ok(slug) = Slug::parse(&slug) else {
        return Err(not_found);
    };
    let Some(account) = accounts::find_account(&state.store, slug.as_str()).await? else {
        return Err(not_found);
    };
    let stored = crate::store::settings::load(&state.store, account.id).await?;
    let connections = sso_rows::list(&state.store, account.id).await?;
    let option = |audience: Audience| LoginOption {
        remember_me: stored.settings.policy(audience).remember_me,
        password: password_allowed(
            connections
                .iter()
                .map(|c| (&c.audiences[..], c.password_sign_in)),
            audience,
            false,
        )
        .is_some(),
        sso: connections
            .iter()
            .filter(|c| c.serves(audience))
            .map(|c| SsoOption {
                id: c.id.clone(),
                name: c.name.clone(),
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(LoginOptions {
        account: account.public(),
        agents: option(Audience::Agents),
        requesters: option(Audience::Requesters),
    }))
}

/// The browser's device cookie, when it is valid and names this very
/// person (it signed in as them before).
pub fn known_device(
    state: &AppState,
    req: &HttpRequest,
    account_id: i64,
    user_id: Option<i64>,
    now: time::OffsetDateTime,
) -> Option<device::Device> {
    crate::sessions::cookie::named_value(req.headers(), device::NAME)
        .and_then(|v| state.device_key.verify(v, now))
        .filter(|d| d.account_id == account_id && Some(d.user_id) == user_id)
}

/// A password checked the way sign-in checks one.
#[derive(Debug)]
pub struct PasswordCheck {
    /// Whether it was right.
    pub verified: bool,
    /// The browser's device, when it signed in as this person before.
    pub known: Option<device::Device>,
    keys: throttle::Keys,
}

impl PasswordCheck {
    /// The password was right and is being used: the budgets it was
    /// counted against are given back.
    pub async fn succeeded(
        &self,
        state: &AppState,
        now: time::OffsetDateTime,
    ) -> Result<(), ApiError> {
        Ok(throttle::succeeded(&state.store, &self.keys, now).await?)
    }
}

/// Checks `password` against `person`'s stored hash (`None`: nobody by
/// that email, checked against a dummy hash at the same cost) under the
/// sign-in budgets of that account (id and slug as typed) and email from
/// this client: refused at once when the browser's lane of the hash queue
/// is full, reserved against every budget before any hash (429), hashed in
/// the known-browser lane when the device cookie names this person.
pub async fn check_password(
    state: &AppState,
    req: &HttpRequest,
    (account_id, account_slug): (i64, &str),
    email: &str,
    person: Option<(i64, String)>,
    password: Password,
    now: time::OffsetDateTime,
) -> Result<PasswordCheck, ApiError> {
    let ip = crate::net::client_ip(req, &state.config.trusted_proxies);
    let known = known_device(state, req, account_id, person.as_ref().map(|p| p.0), now);
    let keys = throttle::Keys::new(
        account_slug,
        email,
        &ip,
        known.as_ref().map(|d| d.id.as_str()),
    );
    let lane = if known.is_some() {
        Lane::Known
    } else {
        Lane::Open
    };
    // A check the hash queue would refuse anyway is refused before it
    // writes anything: under a flood, refusals stay cheap.
    state.hasher.check_room(lane)?;
    // Reserved before the password is checked: attempts at once are
    // counted one after another, and only the budget reaches the hash.
    if let throttle::Decision::Refused { retry_after_secs } =
        throttle::reserve(&state.store, &keys, now).await?
    {
        state.sessions.metrics.login_failed();
        return Err(ApiError::TooManyAttempts { retry_after_secs });
    }
    let verified = state
        .hasher
        .verify(password, person.map(|p| p.1), lane)
        .await?;
    Ok(PasswordCheck {
        verified,
        known,
        keys,
    })
}

/// `POST /api/auth/login`. Unknown account, unknown user and wrong password
/// get the same answer. An unknown person and a wrong password also cost
/// the same work (a hash is verified either way, under the same budgets);
/// an unknown account is answered at once, without hashing or counting,
/// so junk sign-ins cost the server nearly nothing (that the slug names no
/// account is no secret: the login options say as much).
#[tracing::instrument(name = "login", skip_all)]
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    summary = "Signs in; sets the session and device cookies",
    request_body = vigil_policy::api::LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = vigil_policy::api::SessionView),
        (status = 400, description = "A body or query that is not valid", body = vigil_policy::api::ErrorBody),
        (status = 401, description = "Wrong account, email or password (one answer for all)", body = vigil_policy::api::ErrorBody),
        (status = 403, description = "Failed the CSRF check, or (after a correct password) `sso_required`: this account signs in through its identity provider", body = vigil_policy::api::ErrorBody),
        (status = 409, description = "`session_limit` (after a correct password): the person holds `max_sessions` live sessions (`live`) and their policy's `on_session_limit` is `refuse`; nothing started", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotJson,
        (status = 429, description = "`too_many_attempts`, refused before any hash; see Retry-After. Budgets: this email from this address (5 per 15 minutes, then doubling locks), this person from anywhere (100 per hour), this client address across people (IPv4 address or IPv6 /64: 50 per 15 minutes), or a known browser's own (10 per 15 minutes)", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::BusyOrUnavailable,
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_field(FieldError::new(
            "password",
            FieldErrorCode::Invalid,
            format!("The password is longer than {MAX_PASSWORD_BYTES} bytes."),
        )));
    }
    let now = state.clock.now();
    let ip = crate::net::client_ip(&req, &state.config.trusted_proxies);
    let account = match Slug::parse(&body.account) {
        Ok(slug) => accounts::find_account(&state.store, slug.as_str()).await?,
        Err(_) => None,
    };
    let Some(account) = account else {
        // No account: nothing to guess, nothing to hash, nobody to audit.
        state.sessions.metrics.login_failed();
        tracing::info!("sign-in failed");
        return Err(ApiError::InvalidCredentials);
    };
    let email = Email::parse(&body.email).ok();
    let user = match &email {
        Some(e) => accounts::find_user(&state.store, account.id, e.as_str()).await?,
        None => None,
    };
    let check = check_password(
        &state,
        &req,
        (account.id, &body.account),
        &body.email,
        user.as_ref().map(|u| (u.view.id, u.password_hash.clone())),
        Password::new(body.password),
        now,
    )
    .await?;
    let verified = check.verified;

    match user {
        // A deactivated person gets the answer of a wrong password, after
        // the same work.
        Some(user) if verified && user.active => {
            check.succeeded(&state, now).await?;
            let device = crate::auth::device::Device {
                account_id: account.id,
                user_id: user.view.id,
                id: check.known.map_or_else(|| random_hex(16), |d| d.id),
            };
            // Single sign-on may be required for this person's audience.
            let connections = sso_rows::list(&state.store, account.id).await?;
            let audience = user.view.role.audience();
            let manages_security = user
                .view
                .permissions
                .iter()
                .any(|p| p == vigil_policy::api::PERMISSION_MANAGE_SECURITY);
            let offered = connections
                .iter()
                .map(|c| (&c.audiences[..], c.password_sign_in));
            let Some(break_glass) = password_allowed(offered, audience, manages_security) else {
                tracing::info!(
                    user = user.view.id,
                    "password sign-in refused: single sign-on required"
                );
                return Err(ApiError::SsoRequired);
            };
            crate::sessions::end_previous(&state.sessions, req.headers(), now).await?;
            let started = start(
                &state.sessions,
                SignIn {
                    account_id: account.id,
                    person: user.view,
                    remember_me: body.remember_me,
                    ip: &ip,
                    user_agent: crate::net::user_agent(&req),
                    proof: Proof::Password { break_glass },
                },
                now,
            )
            .await?;
            let view = started.view;
            tracing::info!(session = %view.session_id, user = view.user.id, "signed in");
            Ok(HttpResponse::Ok()
                .cookie(cookie::issue(&started.token, started.max_age_secs))
                .cookie(device::cookie(state.device_key.sign(&device, now)))
                .json(view))
        }
        user => {
            state.sessions.metrics.login_failed();
            // Never what was typed: people type passwords into the
            // email field. A known person is named by their stored email.
            let (actor, email, reason) = match &user {
                Some(u) => (
                    u.view.email.as_str(),
                    Some(u.view.email.as_str()),
                    if verified {
                        "deactivated"
                    } else {
                        "wrong_password"
                    },
                ),
                None => ("unknown person", None, "unknown_user"),
            };
            let mut tx = state.store.begin().await?;
            audit::record(
                &mut tx,
                now,
                Event {
                    account_id: account.id,
                    actor,
                    action: action::LOGIN_FAILED,
                    target: user.as_ref().map(|u| format!("user:{}", u.view.id)),
                    details: json!({"email": email, "ip": ip, "reason": reason}),
                },
            )
            .await?;
            tx.commit().await?;
            tracing::info!("sign-in failed");
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// `POST /api/auth/reauthenticate`: the caller's password again, checked
/// exactly as a sign-in checks one (the same budgets and hash queue); the
/// session's last authentication moves to now, so sensitive actions pass
/// the guard for `VIGIL_REAUTH_SECS`. A wrong password is audited as a
/// failed sign-in and changes nothing.
#[tracing::instrument(name = "reauthenticate", skip_all)]
#[utoipa::path(
    post,
    path = "/api/auth/reauthenticate",
    tag = "auth",
    summary = "Confirms who is at the keyboard (the caller's password again), for sensitive actions",
    request_body = vigil_policy::api::ReauthenticateRequest,
    responses(
        (status = 200, description = "Confirmed: the session, its `authenticated_at` now", body = vigil_policy::api::SessionView),
        (status = 400, description = "A body that is not valid", body = vigil_policy::api::ErrorBody),
        (status = 401, description = "`invalid_credentials`: the password is wrong (nothing changed); or `unauthenticated`: no live session", body = vigil_policy::api::ErrorBody),
        (status = 403, description = "Failed the CSRF check, or `sso_required` (answered before any password check): this person confirms through the identity provider (`/api/auth/sso/{id}/start?reauth=1`)", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotJson,
        (status = 429, description = "`too_many_attempts`: throttled like sign-in, refused before any hash; see Retry-After", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::BusyOrUnavailable,
    )
)]
pub async fn reauthenticate(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(s): Authenticated,
    ApiJson(body): ApiJson<ReauthenticateRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_field(FieldError::new(
            "password",
            FieldErrorCode::Invalid,
            format!("The password is longer than {MAX_PASSWORD_BYTES} bytes."),
        )));
    }
    let now = state.clock.now();
    let person = s.user().clone();
    // The password may confirm only someone who may sign in with it. Asked
    // before any hash: the caller is this person already, so the answer
    // hides nothing, and a held session cannot use the route to test
    // guesses at a password its owner no longer signs in with (nor clear
    // the failure counters with a right one).
    let connections = sso_rows::list(&state.store, s.account_id()).await?;
    let offered = connections
        .iter()
        .map(|c| (&c.audiences[..], c.password_sign_in));
    if password_allowed(offered, person.role.audience(), s.can_manage_security()).is_none() {
        tracing::info!(
            user = person.id,
            "re-authentication by password refused: single sign-on required"
        );
        return Err(ApiError::SsoRequired);
    }
    let ip = crate::net::client_ip(&req, &state.config.trusted_proxies);
    let slug = accounts::slug_of(&state.store, s.account_id())
        .await?
        .unwrap_or_default();
    let stored = accounts::find_user(&state.store, s.account_id(), &person.email)
        .await?
        .filter(|u| u.active);
    let check = check_password(
        &state,
        &req,
        (s.account_id(), &slug),
        &person.email,
        stored.map(|u| (person.id, u.password_hash)),
        Password::new(body.password),
        now,
    )
    .await?;
    if !check.verified {
        state.sessions.metrics.login_failed();
        let mut tx = state.store.begin().await?;
        audit::record(
            &mut tx,
            now,
            Event {
                account_id: s.account_id(),
                actor: &person.email,
                action: action::LOGIN_FAILED,
                target: Some(format!("user:{}", person.id)),
                details: json!({
                    "email": person.email,
                    "ip": ip,
                    "reason": "wrong_password_reauthentication",
                    "session_id": s.session_id(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            user = person.id,
            "re-authentication refused: wrong password"
        );
        return Err(ApiError::InvalidCredentials);
    }
    check.succeeded(&state, now).await?;
    let mut tx = state.store.begin().await?;
    if !crate::store::sessions::reauthenticated(&mut tx, s.session_id(), now).await? {
        return Err(ApiError::Unauthenticated(
            vigil_policy::api::UnauthenticatedReason::Invalid,
        ));
    }
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: s.account_id(),
            actor: &person.email,
            action: action::SESSION_REAUTHENTICATED,
            target: Some(format!("session:{}", s.session_id())),
            details: json!({
                "session_id": s.session_id(),
                "user_id": person.id,
                "method": "password",
                "ip": ip,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    s.reauthenticated(now);
    tracing::info!(session = %s.session_id(), "re-authenticated");
    Ok(HttpResponse::Ok().json(s.view(now)))
}

/// `POST /api/auth/logout`: ends the session on the server and clears the cookie.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    summary = "Signs out: ends the session, clears the cookie",
    responses(
        (status = 204, description = "Signed out"),
        crate::routes::openapi::NoSessionOrCsrf,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn logout(state: web::Data<AppState>, Peek(s): Peek) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    s.end(&state.sessions, EndReason::LoggedOut, &s.user().email, now)
        .await?;
    tracing::info!(session = %s.session_id(), "signed out");
    // The browser forgets the session's data too; not its cookies, which
    // would take the device cookie with them (the session cookie is
    // cleared by its own Set-Cookie).
    Ok(HttpResponse::NoContent()
        .cookie(cookie::removal())
        .insert_header(("Clear-Site-Data", "\"cache\", \"storage\""))
        .finish())
}
