//! Signing in and out, and what a login page offers.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use vigil_policy::api::{LoginOption, LoginOptions, LoginRequest, UserView};
use vigil_policy::{evaluate, FieldError, FieldErrorCode, SessionTimes};

use crate::accounts::{self, UserRecord};
use crate::audit::{self, action, Event};
use crate::auth::password::Password;
use crate::auth::throttle;
use crate::db::to_ms;
use crate::domain::{Email, Slug, MAX_PASSWORD_BYTES};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::sessions::end::Cause;
use crate::sessions::token::{random_hex, SessionToken};
use crate::sessions::{cookie, permissions, Current, Peek};
use crate::settings_store;
use crate::state::AppState;

/// `GET /api/accounts/{slug}/login-options`.
pub async fn login_options(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = ApiError::NotFound("no such account");
    let Ok(slug) = Slug::parse(&slug) else {
        return Err(not_found);
    };
    let Some(account) = accounts::find_account(&state.db, slug.as_str()).await? else {
        return Err(not_found);
    };
    let stored = settings_store::load_from(&state.db, account.id).await?;
    Ok(HttpResponse::Ok().json(LoginOptions {
        account: account.public(),
        agents: LoginOption {
            remember_me: stored.settings.agents.remember_me,
        },
        requesters: LoginOption {
            remember_me: stored.settings.requesters.remember_me,
        },
    }))
}

const USER_AGENT_MAX: usize = 512;

/// `POST /api/auth/login`. Unknown account, unknown user and wrong password
/// get the same answer after the same work (a hash is verified either way).
#[tracing::instrument(name = "login", skip_all)]
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
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let keys = throttle::Keys::new(&body.account, &body.email, &ip);
    if let Some(retry_after_secs) = throttle::locked_for(&state.db, &keys, now).await? {
        state.metrics.login_failed();
        return Err(ApiError::TooManyAttempts { retry_after_secs });
    }

    let account = match Slug::parse(&body.account) {
        Ok(slug) => accounts::find_account(&state.db, slug.as_str()).await?,
        Err(_) => None,
    };
    let email = Email::parse(&body.email).ok();
    let user = match (&account, &email) {
        (Some(a), Some(e)) => accounts::find_user(&state.db, a.id, e.as_str()).await?,
        _ => None,
    };
    let verified = state
        .hasher
        .verify(
            Password::new(body.password),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;

    match (account, user) {
        (Some(account), Some(user)) if verified => {
            throttle::record_success(&state.db, &keys).await?;
            let user_agent = req
                .headers()
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(USER_AGENT_MAX).collect::<String>());
            let (current, max_age) = start_session(
                &state,
                now,
                account.id,
                user,
                body.remember_me,
                &ip,
                user_agent,
            )
            .await?;
            tracing::info!(session = %current.session_id, user = current.user.id, "signed in");
            Ok(HttpResponse::Ok()
                .cookie(cookie::issue(&current.token, max_age))
                .json(current.view(now)))
        }
        (account, user) => {
            throttle::record_failure(&state.db, &keys, now).await?;
            state.metrics.login_failed();
            if let Some(account) = account {
                let mut conn = state.db.pool.acquire().await?;
                // What was typed, minus control characters (a NUL byte is
                // not text to PostgreSQL), as long as an email can be.
                let attempted: String = body
                    .email
                    .trim()
                    .to_lowercase()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(254)
                    .collect();
                audit::record(
                    &mut conn,
                    now,
                    Event {
                        account_id: account.id,
                        actor: &attempted,
                        action: action::LOGIN_FAILED,
                        target: user.as_ref().map(|u| format!("user:{}", u.id)),
                        details: json!({
                            "email": attempted,
                            "ip": ip,
                            "reason": if user.is_some() { "wrong_password" } else { "unknown_user" },
                        }),
                    },
                )
                .await?;
            }
            tracing::info!("sign-in failed");
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// Creates the session row and audits the sign-in. Returns the session and
/// the cookie's Max-Age (only for remembered sessions).
async fn start_session(
    state: &AppState,
    now: time::OffsetDateTime,
    account_id: i64,
    user: UserRecord,
    remember_me: bool,
    ip: &str,
    user_agent: Option<String>,
) -> Result<(Current, Option<i64>), ApiError> {
    let mut tx = state.db.begin_write().await?;
    let stored = settings_store::load(&mut tx, account_id).await?;
    let audience = user.role.audience();
    let policy = stored.settings.policy(audience);
    let persistent = remember_me && policy.remember_me;
    let e = evaluate(
        policy,
        SessionTimes {
            created_at: now,
            last_activity_at: now,
            persistent,
        },
        now,
    );
    let token = SessionToken::generate();
    let session_id = random_hex(16);
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, account_id, user_id, audience, persistent, created_at,
             last_activity_at, expires_at, ended_at, end_reason, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, NULL, NULL, $9, $10)",
    )
    .bind(&session_id)
    .bind(token.hash())
    .bind(account_id)
    .bind(user.id)
    .bind(audience.as_str())
    .bind(persistent)
    .bind(to_ms(now))
    .bind(to_ms(e.ends_at))
    .bind(ip)
    .bind(user_agent)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        now,
        Event {
            account_id,
            actor: &user.email,
            action: action::SESSION_LOGIN,
            target: Some(format!("session:{session_id}")),
            details: json!({
                "session_id": session_id,
                "user_id": user.id,
                "email": user.email,
                "persistent": persistent,
                "ip": ip,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    let max_age = persistent.then(|| (e.absolute_expires_at - now).whole_seconds());
    let current = Current {
        session_id,
        token,
        account_id,
        user: UserView {
            id: user.id,
            permissions: permissions(user.role, &user.permissions),
            email: user.email,
            display_name: user.display_name,
            role: user.role,
        },
        audience,
        persistent,
        created_at: now,
        last_activity_at: now,
        stored_last_activity: now,
        settings_version: stored.version,
        settings: stored.settings,
    };
    Ok((current, max_age))
}

/// `POST /api/auth/logout`: ends the session on the server and clears the cookie.
pub async fn logout(state: web::Data<AppState>, Peek(s): Peek) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    s.end(&state, Cause::LoggedOut, &s.user.email, now).await?;
    tracing::info!(session = %s.session_id, "signed out");
    Ok(HttpResponse::NoContent().cookie(cookie::removal()).finish())
}
