//! API tokens (`/api/admin/tokens`, people only) and universal logout
//! (`/api/global-token-revocation`, what an identity provider calls with a
//! token). How a token authenticates is in [`crate::auth::bearer`]; what
//! it may do, in [`crate::auth::admin`].

use actix_web::{web, HttpResponse};
use serde_json::json;
use vigil_policy::tokens::{
    canonical, validate_token, GlobalRevocation, Scope, TokenCreated, TokenInput, TokenView,
};
use vigil_policy::{FieldError, FieldErrorCode};

use crate::auth::admin::{Admin, ByToken};
use crate::auth::bearer;
use crate::domain::Email;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::random::random_hex;
use crate::state::AppState;
use crate::store::accounts;
use crate::store::audit::{self, action, Event};
use crate::store::sessions::Which;
use crate::store::tokens::{self as token_rows, Token};

fn view(t: Token) -> TokenView {
    TokenView {
        id: t.id,
        name: t.name,
        scopes: t.scopes,
        created_at: t.created_at,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
    }
}

/// What an audit entry says of a token: never its secret or hash.
fn described(t: &Token) -> serde_json::Value {
    json!({"id": t.id, "name": t.name, "scopes": t.scopes, "expires_at": t.expires_at})
}

fn name_taken() -> ApiError {
    ApiError::Validation(vec![FieldError::new(
        "name",
        FieldErrorCode::Invalid,
        "Another token of this account has that name.",
    )])
}

/// `GET /api/admin/tokens`.
#[utoipa::path(
    get,
    path = "/api/admin/tokens",
    tag = "tokens",
    summary = "The account's API tokens, newest first (never their secrets); people only",
    responses(
        (status = 200, description = "The tokens", body = Vec<TokenView>),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn list(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, ApiError> {
    let s = admin.session_only()?;
    let all = token_rows::list(&state.store, s.account_id()).await?;
    Ok(HttpResponse::Ok().json(all.into_iter().map(view).collect::<Vec<_>>()))
}

/// `POST /api/admin/tokens`: the secret is in this answer and nowhere else.
#[utoipa::path(
    post,
    path = "/api/admin/tokens",
    tag = "tokens",
    summary = "Creates an API token; the secret is shown only in this answer. People only, recent authentication",
    request_body = TokenInput,
    responses(
        (status = 201, description = "Created; `token` is the secret, shown once", body = TokenCreated),
        (status = 400, description = "Not valid (`validation`: the name is taken or empty, no scopes, an expiry not in the next 366 days), or an unreadable body", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::NotJson,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    ApiJson(input): ApiJson<TokenInput>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.recent_session(&state).await?;
    let now = state.clock.now();
    let errors = validate_token(&input, now);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let name = input.name.trim().to_owned();
    if token_rows::name_taken(&state.store, s.account_id(), &name).await? {
        return Err(name_taken());
    }
    let secret = bearer::new_secret();
    let token = Token {
        id: random_hex(16),
        account_id: s.account_id(),
        name,
        scopes: canonical(&input.scopes),
        created_by: s.user().id,
        // Stored to the millisecond: what the answer says is what a list
        // shows later.
        created_at: crate::store::from_ms(crate::store::to_ms(now)),
        expires_at: input
            .expires_at
            .map(|t| crate::store::from_ms(crate::store::to_ms(t))),
        last_used_at: None,
    };
    let mut tx = state.store.begin().await?;
    match token_rows::insert(&mut tx, &token, &bearer::hash(&secret)).await {
        // Two admins creating one name at once: the constraint decides.
        Err(e) if e.is_unique_violation() => return Err(name_taken()),
        other => other?,
    }
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: s.account_id(),
            actor: &s.user().email,
            action: action::TOKEN_CREATED,
            target: Some(format!("token:{}", token.id)),
            details: described(&token),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(token = %token.id, "API token created");
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(TokenCreated {
            id: token.id,
            name: token.name,
            scopes: token.scopes,
            created_at: token.created_at,
            expires_at: token.expires_at,
            token: secret,
        }))
}

/// `DELETE /api/admin/tokens/{id}`: the token stops working at once.
#[utoipa::path(
    delete,
    path = "/api/admin/tokens/{id}",
    tag = "tokens",
    summary = "Revokes an API token: every request with it fails from now on. People only, recent authentication",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token in this account", body = vigil_policy::api::ErrorBody),
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
    let mut tx = state.store.begin().await?;
    let Some(token) = token_rows::delete(&mut tx, s.account_id(), &id).await? else {
        return Err(ApiError::NotFound("no such token in this account"));
    };
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: s.account_id(),
            actor: &s.user().email,
            action: action::TOKEN_REVOKED,
            target: Some(format!("token:{}", token.id)),
            details: described(&token),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(token = %token.id, "API token revoked");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/global-token-revocation`: Okta Universal Logout. Every
/// session of the person ends as a revocation, with all that follows.
#[utoipa::path(
    post,
    path = "/api/global-token-revocation",
    tag = "tokens",
    summary = "Universal logout (Okta's request shape): every session of the person, in the token's account, ends as a revocation",
    request_body = GlobalRevocation,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session of the person ended (none may have been live)"),
        (status = 400, description = "A subject format other than `email`, no email, or an unreadable body", body = vigil_policy::api::ErrorBody),
        (status = 401, description = "`unauthenticated` with reason `invalid_token`: no bearer token (cookies are not accepted here), or one unknown, expired or revoked or whose creator may no longer act", body = vigil_policy::api::ErrorBody),
        (status = 403, description = "`insufficient_scope` (`scope`: `sessions:write`)", body = vigil_policy::api::ErrorBody),
        (status = 404, description = "No such person in the token's account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotJson,
        (status = 429, description = "Too many wrong tokens from this network: try after Retry-After", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn global_revocation(
    state: web::Data<AppState>,
    by: ByToken,
    ApiJson(body): ApiJson<GlobalRevocation>,
) -> Result<HttpResponse, ApiError> {
    let s = by.require(Scope::SessionsWrite)?;
    if body.sub_id.format != "email" {
        return Err(ApiError::bad_field(FieldError::new(
            "sub_id.format",
            FieldErrorCode::Invalid,
            "Only the email subject format is supported.",
        )));
    }
    let Some(raw) = body.sub_id.email.as_deref() else {
        return Err(ApiError::bad_field(FieldError::new(
            "sub_id.email",
            FieldErrorCode::MissingField,
            "The email format needs an email.",
        )));
    };
    let email = Email::parse(raw).map_err(|message| {
        ApiError::bad_field(FieldError::new(
            "sub_id.email",
            FieldErrorCode::Invalid,
            message,
        ))
    })?;
    let Some(person) = accounts::find_user(&state.store, s.account_id(), email.as_str()).await?
    else {
        return Err(ApiError::NotFound("no such person in this account"));
    };
    let revoked = crate::routes::admin::revoke(
        &state,
        s.account_id(),
        s.actor(),
        Which::Person(person.view.id),
    )
    .await?;
    tracing::info!(
        user = person.view.id,
        revoked,
        "universal logout: the person's sessions ended"
    );
    Ok(HttpResponse::NoContent().finish())
}
