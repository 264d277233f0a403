//! `GET /api/openapi.json`: the OpenAPI 3.1 description of this API,
//! generated from the handlers' `#[utoipa::path]` annotations and the
//! schemas vigil-policy's API types derive (feature `openapi`, so the
//! console's wasm does not carry them). The suite checks that it lists
//! exactly the mounted routes and that responses match its schemas.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::OpenApi;
use vigil_policy::api::ErrorBody;

use super::{admin, auth, desk, health, me, portal, session, settings, sso};

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
        me::list,
        me::revoke,
        me::revoke_others,
        me::change_password,
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
        document,
    ),
    components(schemas(vigil_policy::api::ErrorBody, Status))
)]
struct ApiDoc;

/// The document, built once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|_| "{}".to_owned())
    })
}

/// `GET /api/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json())
}
