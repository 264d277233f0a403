//! Sessions: the token and cookie, the check every authenticated request
//! goes through, coalesced activity, and ending sessions.
//!
//! The check ([`authenticate`]) loads the session with the account's current
//! settings in one query, evaluates it with the deadline rule from
//! vigil-policy, ends it on the spot when a deadline has passed, and records
//! the request as activity when the account's rules say it counts.

pub mod activity;
pub mod cache;
pub mod cookie;
pub mod end;
pub mod token;

use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::api::{
    Role, SessionPolicy, SessionView, UnauthenticatedReason, UserView, PERMISSION_MANAGE_SECURITY,
};
use vigil_policy::{evaluate, Audience, AudiencePolicy, SecuritySettings, SessionTimes, Verdict};

use crate::db::{get_bool, get_time};
use crate::error::ApiError;
use crate::state::AppState;
use activity::TouchTarget;
use end::{Cause, Ending};
use token::SessionToken;

/// A live session, checked.
#[derive(Debug, Clone)]
pub struct Current {
    /// Public session id.
    pub session_id: String,
    /// The token the request carried.
    pub token: SessionToken,
    /// Account.
    pub account_id: i64,
    /// Who.
    pub user: UserView,
    /// Which policy applies.
    pub audience: Audience,
    /// Remembered or not (after any downgrade).
    pub persistent: bool,
    /// Sign-in instant.
    pub created_at: OffsetDateTime,
    /// Last activity that counted, including this request's.
    pub last_activity_at: OffsetDateTime,
    /// Last activity as stored.
    pub stored_last_activity: OffsetDateTime,
    /// Settings version the policy comes from.
    pub settings_version: i64,
    /// The account's settings.
    pub settings: SecuritySettings,
}

impl Current {
    /// The policy of the session's audience.
    pub fn policy(&self) -> &AudiencePolicy {
        self.settings.policy(self.audience)
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Admins, and agents granted `manage_security`.
    pub fn can_manage_security(&self) -> bool {
        self.user
            .permissions
            .iter()
            .any(|p| p == PERMISSION_MANAGE_SECURITY)
    }

    /// Whether the person is a team member (admin or agent).
    pub fn is_team_member(&self) -> bool {
        self.user.role != Role::Requester
    }

    /// The session's times, for the deadline rule.
    pub fn times(&self) -> SessionTimes {
        SessionTimes {
            created_at: self.created_at,
            last_activity_at: self.last_activity_at,
            persistent: self.persistent,
        }
    }

    /// The API view at `now`.
    pub fn view(&self, now: OffsetDateTime) -> SessionView {
        let e = evaluate(self.policy(), self.times(), now);
        SessionView {
            session_id: self.session_id.clone(),
            user: self.user.clone(),
            audience: self.audience,
            persistent: self.persistent,
            created_at: self.created_at,
            last_activity_at: self.last_activity_at,
            idle_expires_at: e.idle_expires_at,
            absolute_expires_at: e.absolute_expires_at,
            warn_at: e.warn_at,
            server_time: now,
            policy: SessionPolicy::from_settings(&self.settings, self.audience),
        }
    }

    /// The row for the ending path.
    pub fn ending(&self) -> Ending<'_> {
        Ending {
            session_id: &self.session_id,
            account_id: self.account_id,
            user_id: self.user.id,
            email: &self.user.email,
            role: self.user.role,
        }
    }

    fn touch_target(&self) -> TouchTarget<'_> {
        TouchTarget {
            session_id: &self.session_id,
            account_id: self.account_id,
            settings_version: self.settings_version,
            created_at: self.created_at,
            stored_last_activity: self.stored_last_activity,
            idle_secs: self.policy().idle_timeout_secs,
            absolute_secs: self.policy().absolute_timeout_secs,
        }
    }

    /// Records activity at `now` (coalesced) and moves `last_activity_at`.
    pub async fn touch(&mut self, state: &AppState, now: OffsetDateTime) -> Result<(), ApiError> {
        state
            .activity
            .touch(&state.db, self.touch_target(), now)
            .await?;
        self.last_activity_at = self.last_activity_at.max(now);
        Ok(())
    }

    /// Ends this session (in a transaction of its own) and forgets it in
    /// this process's caches.
    pub async fn end(
        &self,
        state: &AppState,
        cause: Cause,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<bool, ApiError> {
        let mut tx = state.db.begin_write().await?;
        let ended = end::end_session(&mut tx, &self.ending(), cause, actor, now).await?;
        tx.commit().await?;
        state.forget_ended([self.session_id.as_str()]);
        Ok(ended)
    }
}

/// Permissions implied by a role plus those granted.
pub fn permissions(role: Role, granted: &str) -> Vec<String> {
    let mut out: Vec<String> = match role {
        Role::Admin => vec![PERMISSION_MANAGE_SECURITY.to_owned()],
        Role::Agent => granted
            .split_whitespace()
            .filter(|p| *p == PERMISSION_MANAGE_SECURITY)
            .map(str::to_owned)
            .collect(),
        Role::Requester => Vec::new(),
    };
    out.dedup();
    out
}

/// Whether the request itself counts as activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Yes, unless sent as a background request (and those do not count).
    Request,
    /// No: the handler decides (the activity endpoint).
    Peek,
}

/// Tells the response middleware to send a new cookie for this session.
#[derive(Debug, Clone)]
pub struct ReissueCookie(pub actix_web::cookie::Cookie<'static>);

const LOAD_SQL: &str =
    "SELECT s.id, s.account_id, s.user_id, s.audience, s.persistent, s.created_at,
        s.last_activity_at, s.ended_at, s.end_reason,
        u.email, u.display_name, u.role, u.permissions, ss.version, ss.settings
    FROM sessions s
    JOIN users u ON u.id = s.user_id
    JOIN security_settings ss ON ss.account_id = s.account_id
    WHERE s.token_hash = $1";

/// Reads a session with its person and the account's settings; `hash` is
/// the token's hash, computed once by the caller.
async fn load(state: &AppState, token: SessionToken, hash: &str) -> Result<Current, ApiError> {
    let row = sqlx::query(LOAD_SQL)
        .bind(hash)
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(row) = row else {
        tracing::debug!(token = %token.fingerprint(), "unknown session token");
        return Err(ApiError::Unauthenticated(UnauthenticatedReason::Invalid));
    };
    if row.try_get::<Option<i64>, _>("ended_at")?.is_some() {
        let reason = row
            .try_get::<Option<String>, _>("end_reason")?
            .as_deref()
            .and_then(UnauthenticatedReason::parse)
            .unwrap_or(UnauthenticatedReason::Invalid);
        return Err(ApiError::Unauthenticated(reason));
    }
    let role_name: String = row.try_get("role")?;
    let role = Role::parse(&role_name)
        .ok_or_else(|| anyhow::anyhow!("user has unknown role {role_name:?}"))?;
    let audience_name: String = row.try_get("audience")?;
    let audience = Audience::parse(&audience_name)
        .ok_or_else(|| anyhow::anyhow!("session has unknown audience {audience_name:?}"))?;
    let stored_last_activity = get_time(&row, "last_activity_at")?;
    Ok(Current {
        last_activity_at: stored_last_activity,
        session_id: row.try_get("id")?,
        token,
        account_id: row.try_get("account_id")?,
        user: UserView {
            id: row.try_get("user_id")?,
            email: row.try_get("email")?,
            display_name: row.try_get("display_name")?,
            role,
            permissions: permissions(role, &row.try_get::<String, _>("permissions")?),
        },
        audience,
        persistent: get_bool(&row, "persistent")?,
        created_at: get_time(&row, "created_at")?,
        stored_last_activity,
        settings_version: row.try_get("version")?,
        settings: crate::settings_store::parse(&row.try_get::<String, _>("settings")?)?,
    })
}

async fn authenticate(
    req: &HttpRequest,
    state: &AppState,
    mode: Mode,
) -> Result<Current, ApiError> {
    let Some(cookie) = req.cookie(cookie::NAME) else {
        return Err(ApiError::Unauthenticated(UnauthenticatedReason::Missing));
    };
    let Some(token) = SessionToken::from_cookie(cookie.value()) else {
        return Err(ApiError::Unauthenticated(UnauthenticatedReason::Invalid));
    };
    let hash = token.hash();
    let mut current = match state.sessions.get(&hash) {
        Some(cached) => cached,
        None => {
            let loaded = load(state, token, &hash).await?;
            state.sessions.put(hash.clone(), &loaded);
            loaded
        }
    };
    current.last_activity_at = state
        .activity
        .effective_last_activity(&current.session_id, current.stored_last_activity);

    let now = state.clock.now();
    let evaluation = evaluate(current.policy(), current.times(), now);
    if let Verdict::Expired(reason) = evaluation.verdict {
        let cause = Cause::from(reason);
        if current.end(state, cause, crate::audit::SYSTEM, now).await? {
            state.metrics.ended(cause.metric(), 1);
        }
        tracing::info!(session = %current.session_id, reason = reason.as_str(), "session expired at request");
        return Err(ApiError::Unauthenticated(cause.reason()));
    }

    if mode == Mode::Request {
        let background = req
            .headers()
            .get("x-vigil-background")
            .is_some_and(|v| v.as_bytes() == b"1");
        if !background || current.settings.activity.background_requests_extend {
            current.touch(state, now).await?;
        }
    }

    if current.persistent && !evaluation.keep_persistent_cookie {
        // Remember-me was turned off for this audience: from now on the
        // session lives in a browser-session cookie.
        sqlx::query("UPDATE sessions SET persistent = FALSE WHERE id = $1")
            .bind(&current.session_id)
            .execute(&state.db.pool)
            .await?;
        current.persistent = false;
        state.sessions.update(&hash, |c| c.persistent = false);
        req.extensions_mut()
            .insert(ReissueCookie(cookie::issue(&current.token, None)));
    }
    Ok(current)
}

fn state_of(req: &HttpRequest) -> Result<AppState, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref().clone())
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))
}

/// Extractor: a live session; the request counts as activity under the
/// account's rules.
#[derive(Debug)]
pub struct Authenticated(pub Current);

/// Extractor: a live session; the request itself is not activity.
#[derive(Debug)]
pub struct Peek(pub Current);

/// Extractor: a live session with the `manage_security` permission.
#[derive(Debug)]
pub struct SecurityAdmin(pub Current);

/// The one extraction path: authenticate in `mode`, then let `accept`
/// decide (and wrap) the session.
fn extract<T: 'static>(
    req: &HttpRequest,
    mode: Mode,
    accept: fn(Current) -> Result<T, ApiError>,
) -> LocalBoxFuture<'static, Result<T, ApiError>> {
    let req = req.clone();
    Box::pin(async move {
        let state = state_of(&req)?;
        accept(authenticate(&req, &state, mode).await?)
    })
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        extract(req, Mode::Request, |c| Ok(Authenticated(c)))
    }
}

impl FromRequest for Peek {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        extract(req, Mode::Peek, |c| Ok(Peek(c)))
    }
}

impl FromRequest for SecurityAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        extract(req, Mode::Request, |c| {
            if c.can_manage_security() {
                Ok(SecurityAdmin(c))
            } else {
                Err(ApiError::Forbidden(
                    "this needs the manage_security permission",
                ))
            }
        })
    }
}
