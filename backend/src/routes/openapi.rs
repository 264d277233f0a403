//! `GET /api/openapi.json`: the OpenAPI 3.1 description of this API,
//! generated from the handlers' `#[utoipa::path]` annotations and the
//! schemas vigil-policy's API types derive (feature `openapi`, so the
//! console's wasm does not carry them). The suite checks that it lists
//! exactly the mounted routes and that responses match its schemas.

use std::sync::OnceLock;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use utoipa::OpenApi;
use vigil_policy::api::ErrorBody;
use vigil_policy::{password, Limits};

use crate::state::AppState;

use super::{admin, auth, desk, health, me, portal, session, settings, sso, tokens, webhooks};

/// The body of `/healthz` and `/readyz` when they answer 200.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    /// `ok` (healthz) or `ready` (readyz).
    pub status: String,
}

// The answers many routes share, stated once. Each set's statuses are
// distinct from the others' it is combined with.

/// 401: the route needs a live session.
#[derive(Debug, utoipa::IntoResponses)]
pub enum NoSession {
    /// No live session.
    #[response(status = 401, description = "No live session: the reason says why")]
    Unauthenticated(ErrorBody),
}

/// 401, and 403 for a failed CSRF check (unsafe methods).
#[derive(Debug, utoipa::IntoResponses)]
pub enum NoSessionOrCsrf {
    /// No live session.
    #[response(status = 401, description = "No live session: the reason says why")]
    Unauthenticated(ErrorBody),
    /// CSRF.
    #[response(status = 403, description = "Failed the CSRF check")]
    Csrf(ErrorBody),
}

/// 401, and 403 when the person may not (a permission or role), or for a
/// failed CSRF check.
#[derive(Debug, utoipa::IntoResponses)]
pub enum NotAllowed {
    /// No live session.
    #[response(status = 401, description = "No live session: the reason says why")]
    Unauthenticated(ErrorBody),
    /// Not allowed.
    #[response(
        status = 403,
        description = "Missing permission, or failed the CSRF check"
    )]
    Forbidden(ErrorBody),
}

/// [`AdminNotAllowed`] on the sensitive routes, which also refuse a
/// session whose sign-in or last re-authentication is older than
/// `VIGIL_REAUTH_SECS`: 403 `reauthentication_required` (the body's
/// `max_age_secs` says the limit). Use it on every route that calls the
/// re-authentication guard.
#[derive(Debug, utoipa::IntoResponses)]
pub enum NotAllowedOrStale {
    /// No live session, or a bad token.
    #[response(
        status = 401,
        description = "No live session (the reason says why), or a bearer token that is unknown, expired or revoked or whose creator may no longer act (reason `invalid_token`)"
    )]
    Unauthenticated(ErrorBody),
    /// Not allowed, or not recently authenticated.
    #[response(
        status = 403,
        description = "`reauthentication_required`: the session's sign-in or last re-authentication is older than `max_age_secs` (POST /api/auth/reauthenticate, then send it again; nothing changed); or missing permission; an API token without the route's scope (`insufficient_scope`) or on a route for people only; or failed the CSRF check"
    )]
    Forbidden(ErrorBody),
    /// Wrong tokens.
    #[response(
        status = 429,
        description = "Too many wrong API tokens from this network: bearer requests wait for Retry-After"
    )]
    TooManyAttempts(ErrorBody),
}

/// The admin API's refusals ([`crate::auth::admin::Admin`]): a session
/// without `manage_security`, or an API token.
#[derive(Debug, utoipa::IntoResponses)]
pub enum AdminNotAllowed {
    /// No live session, or a bad token.
    #[response(
        status = 401,
        description = "No live session (the reason says why), or a bearer token that is unknown, expired or revoked or whose creator may no longer act (reason `invalid_token`)"
    )]
    Unauthenticated(ErrorBody),
    /// Not allowed.
    #[response(
        status = 403,
        description = "Missing permission; an API token without the route's scope (`insufficient_scope`, naming it) or on a route for people only; or failed the CSRF check (requests without a bearer token)"
    )]
    Forbidden(ErrorBody),
    /// Wrong tokens.
    #[response(
        status = 429,
        description = "Too many wrong API tokens from this network: bearer requests wait for Retry-After"
    )]
    TooManyAttempts(ErrorBody),
}

/// 403 for a failed CSRF check, on routes anyone may call.
#[derive(Debug, utoipa::IntoResponses)]
pub enum Csrf {
    /// CSRF.
    #[response(status = 403, description = "Failed the CSRF check")]
    Csrf(ErrorBody),
}

/// 415: routes that take a JSON body take nothing else.
#[derive(Debug, utoipa::IntoResponses)]
pub enum NotJson {
    /// Wrong media type.
    #[response(status = 415, description = "The body is not application/json")]
    UnsupportedMediaType(ErrorBody),
}

/// 503: the database is down or too busy for a moment (SQLite's busy
/// timeout passed, PostgreSQL out of connections or a statement
/// cancelled, the pool exhausted). Every route that reads or writes the
/// database may answer it (a session's first check reads it too).
#[derive(Debug, utoipa::IntoResponses)]
pub enum Unavailable {
    /// The database did not answer.
    #[response(
        status = 503,
        description = "`unavailable`: the database is down or too busy for a moment; nothing changed. Try again after Retry-After",
        headers(("Retry-After" = u64, description = "Seconds to wait before sending the request again"))
    )]
    Unavailable(ErrorBody),
}

/// [`Unavailable`] on the routes that check a password, where the 503 may
/// also mean that too many password checks are waiting for a hash.
#[derive(Debug, utoipa::IntoResponses)]
pub enum BusyOrUnavailable {
    /// Too many password checks waiting, or the database did not answer.
    #[response(
        status = 503,
        description = "`unavailable`: too many password checks waiting for a hash (on sign-in, browsers with a valid device cookie have a lane of their own), or the database is down or too busy for a moment; nothing changed. Try again after Retry-After",
        headers(("Retry-After" = u64, description = "Seconds to wait before sending the request again"))
    )]
    Unavailable(ErrorBody),
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vigil",
        description = "Session security for help-desk teams: idle and absolute timeouts per account, enforced on every session. Cookies: `__Host-vigil` (session) and `__Host-vigil-device`. Every POST, PUT, PATCH and DELETE needs `X-Vigil-Request: 1` (CSRF); times are RFC 3339 UTC; errors are `ErrorBody`; every response carries `X-Request-Id`."
    ),
    paths(
        health::healthz,
        health::readyz,
        session::get,
        session::events,
        session::activity,
        auth::login_options,
        auth::login,
        auth::logout,
        auth::reauthenticate,
        me::list,
        me::revoke,
        me::revoke_others,
        me::change_password,
        me::draft_key,
        settings::get,
        settings::put,
        settings::preview,
        admin::list_sessions,
        admin::revoke_session,
        admin::revoke_user_sessions,
        admin::deactivate_user,
        admin::reactivate_user,
        admin::audit,
        admin::audit_csv,
        admin::agents,
        desk::conversations,
        desk::availability,
        desk::set_availability,
        portal::list,
        portal::create,
        sso::list,
        sso::create,
        sso::update,
        sso::delete,
        sso::begin,
        sso::callback,
        sso::backchannel_logout,
        webhooks::create,
        webhooks::list,
        webhooks::delete,
        webhooks::enable,
        webhooks::jwks,
        webhooks::deliveries,
        webhooks::retry,
        tokens::list,
        tokens::create,
        tokens::delete,
        tokens::global_revocation,
        document,
    ),
    components(schemas(vigil_policy::api::ErrorBody, Status, session::EndedEvent)),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

/// The `bearer` security scheme: API tokens (`vigil_…`).
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("vigil_…")
                    .description(Some(
                        "An API token (`Authorization: Bearer vigil_…`), on /api/admin/* and /api/global-token-revocation: such a request ignores cookies and needs no X-Vigil-Request header. Scopes per route: sessions:read (GET sessions, GET agents), sessions:write (DELETE sessions/{session_id}, POST users/{user_id}/revoke-sessions, POST /api/global-token-revocation), users:write (POST users/{user_id}/deactivate and reactivate), audit:read (GET audit, audit.csv), settings:read (GET security-settings, POST security-settings/preview, GET sso), settings:write (PUT security-settings). Tokens, webhooks and SSO changes are for people only.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document for a server whose admins choose within `limits`: built
/// once, then given this server's bounds.
pub fn json(limits: &Limits) -> String {
    static BASE: OnceLock<Value> = OnceLock::new();
    let mut doc = BASE
        .get_or_init(|| {
            let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
            if let Some(ok) = doc.pointer_mut(
                "/paths/~1api~1session~1events/get/responses/200/content/text~1event-stream/schema",
            ) {
                *ok = session::events_schema();
            }
            // The new password's length, from the rule's own numbers (the
            // rest of the rule is the 400's to say).
            if let Some(Value::Object(new)) =
                doc.pointer_mut("/components/schemas/ChangePasswordRequest/properties/new_password")
            {
                new.insert("minLength".into(), password::MIN_CHARS.into());
                new.insert("maxLength".into(), password::MAX_CHARS.into());
            }
            doc
        })
        .clone();
    state_bounds(&mut doc, limits);
    doc.to_string()
}

/// Writes the bounds of the settings' numbers (vigil-policy's `Limits`,
/// the idle ones this server's) into their schemas: utoipa's attributes
/// take only literals, and the idle bounds are chosen by ops. What no
/// schema can say (a lifetime at least the idle timeout, a warning at most
/// half of it) the 400's field errors say.
fn state_bounds(doc: &mut Value, limits: &Limits) {
    let mut bound = |pointer: &str, minimum: u64, maximum: u64| {
        if let Some(Value::Object(schema)) = doc.pointer_mut(pointer) {
            schema.insert("minimum".into(), minimum.into());
            schema.insert("maximum".into(), maximum.into());
        }
    };
    let policy = "/components/schemas/AudiencePolicy/properties";
    bound(
        &format!("{policy}/idle_timeout_secs"),
        limits.idle_min_secs,
        limits.idle_max_secs,
    );
    bound(
        &format!("{policy}/absolute_timeout_secs"),
        limits.absolute_min_secs,
        limits.absolute_max_secs,
    );
    let remembered = "/components/schemas/RememberedLimits/properties";
    bound(
        &format!("{remembered}/idle_timeout_secs"),
        limits.idle_min_secs,
        limits.idle_max_secs,
    );
    bound(
        &format!("{remembered}/absolute_timeout_secs"),
        limits.absolute_min_secs,
        limits.absolute_max_secs,
    );
    // The warning's variants, in declaration order: `before`, `percent`.
    bound(
        "/components/schemas/Warning/oneOf/0/properties/secs",
        limits.warning_before_min_secs,
        limits.idle_max_secs / 2,
    );
    bound(
        "/components/schemas/Warning/oneOf/1/properties/percent",
        limits.warning_percent_min.into(),
        limits.warning_percent_max.into(),
    );
}

/// `GET /api/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
pub async fn document(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json(&state.config.limits()))
}
