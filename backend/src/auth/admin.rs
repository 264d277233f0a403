//! Who acts on the admin API: a person's live session with
//! `manage_security`, or an API token (`Authorization: Bearer vigil_…`).
//!
//! Every admin handler takes the [`Admin`] extractor and, before anything
//! else, says what the route needs — and gets nothing to act with until it
//! does:
//!
//! ```ignore
//! pub async fn list(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, ApiError> {
//!     let s = admin.require(Scope::SessionsRead)?;   // a session, or a token with the scope
//!     // s.account_id(), s.settings(), s.actor() ("admin@…" or "token <name>")
//! }
//! pub async fn create_webhook(state: web::Data<AppState>, admin: Admin, …) -> … {
//!     let s = admin.recent_session(&state).await?;  // people only, recently authenticated
//! }
//! ```
//!
//! A request with a bearer header is a token's: its cookies are not read
//! (and the CSRF check lets it through, see `web.rs`). A token acts for its
//! own account only; the audit names it "token <name>". A sensitive action
//! asks [`Actor::require_recent_authentication`]: a session must have
//! authenticated recently, a token passes (it was allowed by its scope).

use std::sync::Arc;

use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use vigil_policy::tokens::Scope;
use vigil_policy::SecuritySettings;

use crate::auth::bearer;
use crate::error::ApiError;
use crate::sessions::memory::AccountPolicy;
use crate::sessions::{Current, SecurityAdmin};
use crate::state::AppState;
use crate::store::tokens::Token;

/// Extractor: a session with `manage_security`, or a live API token.
/// Handlers turn it into an [`Actor`] with [`Admin::require`] or
/// [`Admin::session_only`].
#[derive(Debug)]
pub struct Admin(Caller);

#[derive(Debug)]
enum Caller {
    Session(Box<Current>),
    Token {
        token: Token,
        policy: Arc<AccountPolicy>,
        label: String,
    },
}

/// Whoever acts, allowed for the route.
#[derive(Debug)]
pub struct Actor(Caller);

impl Admin {
    /// Allowed when the route's scope is `scope`: any session of a person
    /// with `manage_security`, a token only if it holds the scope (else
    /// 403 `insufficient_scope`).
    pub fn require(self, scope: Scope) -> Result<Actor, ApiError> {
        if let Caller::Token { token, .. } = &self.0 {
            if !token.scopes.contains(&scope) {
                tracing::info!(token = %token.id, scope = scope.as_str(), "refused: insufficient scope");
                return Err(ApiError::InsufficientScope(scope));
            }
        }
        Ok(Actor(self.0))
    }

    /// Routes no token may call (managing tokens and webhooks, sign-in
    /// connections): the person's session, or 403.
    pub fn session_only(self) -> Result<Current, ApiError> {
        match self.0 {
            Caller::Session(s) => Ok(*s),
            Caller::Token { .. } => Err(ApiError::Forbidden(
                "API tokens cannot call this: sign in to the console",
            )),
        }
    }

    /// [`Admin::session_only`] for a sensitive route: the person's session,
    /// if it authenticated recently (else 403 `reauthentication_required`).
    pub async fn recent_session(self, state: &AppState) -> Result<Current, ApiError> {
        let s = self.session_only()?;
        state.require_recent_authentication(&s).await?;
        Ok(s)
    }
}

impl Actor {
    /// The account acted on.
    pub fn account_id(&self) -> i64 {
        match &self.0 {
            Caller::Session(s) => s.account_id(),
            Caller::Token { token, .. } => token.account_id,
        }
    }

    /// The account's settings.
    pub fn settings(&self) -> &SecuritySettings {
        match &self.0 {
            Caller::Session(s) => s.settings(),
            Caller::Token { policy, .. } => &policy.settings,
        }
    }

    /// Who, as the audit names them: the person's email, or `token <name>`.
    pub fn actor(&self) -> &str {
        match &self.0 {
            Caller::Session(s) => &s.user().email,
            Caller::Token { label, .. } => label,
        }
    }

    /// The person answerable: the signed-in person, or the token's creator
    /// (stored as `updated_by` of settings a token changes).
    pub fn person_id(&self) -> i64 {
        match &self.0 {
            Caller::Session(s) => s.user().id,
            Caller::Token { token, .. } => token.created_by,
        }
    }

    /// For sensitive actions: a session must have authenticated recently
    /// (403 `reauthentication_required`, see
    /// [`Current::require_recent_authentication`]); a token passes, since
    /// [`Admin::require`] allowed it for this route's scope.
    pub async fn require_recent_authentication(&self, state: &AppState) -> Result<(), ApiError> {
        match &self.0 {
            Caller::Session(s) => state.require_recent_authentication(s).await,
            Caller::Token { .. } => Ok(()),
        }
    }

    /// The session, when a person acts.
    pub fn session(&self) -> Option<&Current> {
        match &self.0 {
            Caller::Session(s) => Some(s),
            Caller::Token { .. } => None,
        }
    }

    /// The token, when a script acts.
    pub fn token(&self) -> Option<&Token> {
        match &self.0 {
            Caller::Session(_) => None,
            Caller::Token { token, .. } => Some(token),
        }
    }
}

/// Extractor: an API token only (universal logout, which identity
/// providers call): without `Authorization: Bearer`, 401 `invalid_token`
/// whatever cookies the request carries. [`ByToken::require`] as
/// [`Admin::require`].
#[derive(Debug)]
pub struct ByToken(Admin);

impl ByToken {
    /// The token, if it holds `scope` (else 403 `insufficient_scope`).
    pub fn require(self, scope: Scope) -> Result<Actor, ApiError> {
        self.0.require(scope)
    }
}

async fn extract(req: HttpRequest, sessions: bool) -> Result<Admin, ApiError> {
    let Some(secret) = bearer::presented(req.headers()) else {
        if !sessions {
            return Err(ApiError::Unauthenticated(
                vigil_policy::api::UnauthenticatedReason::InvalidToken,
            ));
        }
        let SecurityAdmin(s) =
            SecurityAdmin::from_request(&req, &mut actix_web::dev::Payload::None).await?;
        return Ok(Admin(Caller::Session(Box::new(s))));
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("the application state is not registered"))
        })?;
    let ip = crate::net::client_ip(&req, &state.config.trusted_proxies);
    let now = state.clock.now();
    let token = bearer::authenticate(&state, secret, &ip, now).await?;
    let policy = crate::sessions::account_policy(&state.sessions, token.account_id).await?;
    let label = format!("token {}", token.name);
    Ok(Admin(Caller::Token {
        token,
        policy,
        label,
    }))
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        Box::pin(extract(req.clone(), true))
    }
}

impl FromRequest for ByToken {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { extract(req, false).await.map(ByToken) })
    }
}
