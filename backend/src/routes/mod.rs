//! HTTP routes, one module per resource. [`configure`] mounts the API.

pub mod admin;
pub mod auth;
pub mod desk;
pub mod health;
pub mod me;
pub mod openapi;
pub mod paging;
pub mod portal;
pub mod session;
pub mod settings;
pub mod sso;
pub mod tokens;
pub mod webhooks;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, HttpRequest, Responder, ResponseError, Route};

use crate::error::ApiError;
use crate::metrics::RouteLabel;

/// The origin browsers and receivers reach Vigil at: `VIGIL_PUBLIC_ORIGIN`,
/// else this request's host over http (set the public origin in
/// production: a single sign-on provider must know the exact redirect URI,
/// and CAEP SETs name it as their issuer).
pub(crate) fn public_origin(state: &crate::state::AppState, req: &HttpRequest) -> String {
    state.config.public_origin.clone().unwrap_or_else(|| {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    })
}

/// 404 with a JSON body, for unknown API paths.
pub async fn api_not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    tracing::debug!(path = req.path(), "unknown API path");
    Err(ApiError::NotFound("no such API endpoint"))
}

/// A route: the method once, and its handler.
fn on<F, Args>(method: Method, handler: F) -> (Method, Route)
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    (method.clone(), web::method(method).to(handler))
}

/// A path with its routes; any other method gets 405 with `Allow` naming
/// the ones it takes (RFC 9110). `pattern` is the full path (`path` may be
/// relative to a scope), the resource's route label in the metrics.
fn resource(
    path: &str,
    pattern: &'static str,
    routes: Vec<(Method, Route)>,
) -> actix_web::Resource {
    let allow: Vec<&str> = routes.iter().map(|(m, _)| m.as_str()).collect();
    let allow = HeaderValue::from_str(&allow.join(", ")).ok();
    let mut r = web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            let mut res = ApiError::MethodNotAllowed.error_response();
            if let Some(allow) = allow {
                res.headers_mut().insert(header::ALLOW, allow);
            }
            res
        }
    }));
    for (_, route) in routes {
        r = r.route(route);
    }
    r.app_data(RouteLabel(pattern))
}

/// Mounts the management listener's routes: metrics and health, for the
/// platform, never for browsers.
pub fn configure_management(cfg: &mut web::ServiceConfig) {
    use Method as M;
    for (path, handler) in [
        ("/metrics", on(M::GET, health::metrics)),
        ("/livez", on(M::GET, health::livez)),
        ("/healthz", on(M::GET, health::healthz)),
        ("/readyz", on(M::GET, health::readyz)),
    ] {
        cfg.service(resource(path, path, vec![handler]));
    }
    cfg.default_service(web::to(|| async {
        Err::<actix_web::HttpResponse, _>(ApiError::NotFound("no such management endpoint"))
    }));
}

/// Every public route: path, and each method with its handler. The one
/// table [`configure`] mounts and [`mounted`] lists (the OpenAPI document
/// is checked against it). Under `/api` unless the path says otherwise.
fn table() -> Vec<(&'static str, Vec<(Method, Route)>)> {
    use Method as M;
    vec![
        ("/healthz", vec![on(M::GET, health::healthz)]),
        ("/readyz", vec![on(M::GET, health::readyz)]),
        // The session check first: it is most of the traffic, and routes are
        // tried in order.
        ("/api/session", vec![on(M::GET, session::get)]),
        ("/api/session/events", vec![on(M::GET, session::events)]),
        (
            "/api/session/activity",
            vec![on(M::POST, session::activity)],
        ),
        (
            "/api/accounts/{slug}/login-options",
            vec![on(M::GET, auth::login_options)],
        ),
        ("/api/auth/login", vec![on(M::POST, auth::login)]),
        ("/api/auth/logout", vec![on(M::POST, auth::logout)]),
        (
            "/api/auth/reauthenticate",
            vec![on(M::POST, auth::reauthenticate)],
        ),
        ("/api/me/sessions", vec![on(M::GET, me::list)]),
        (
            "/api/me/sessions/revoke-others",
            vec![on(M::POST, me::revoke_others)],
        ),
        ("/api/me/password", vec![on(M::POST, me::change_password)]),
        ("/api/me/draft-key", vec![on(M::GET, me::draft_key)]),
        (
            "/api/me/sessions/{session_id}",
            vec![on(M::DELETE, me::revoke)],
        ),
        (
            "/api/admin/security-settings",
            vec![on(M::GET, settings::get), on(M::PUT, settings::put)],
        ),
        (
            "/api/admin/security-settings/preview",
            vec![on(M::POST, settings::preview)],
        ),
        (
            "/api/admin/sessions",
            vec![on(M::GET, admin::list_sessions)],
        ),
        (
            "/api/admin/sessions/{session_id}",
            vec![on(M::DELETE, admin::revoke_session)],
        ),
        (
            "/api/admin/users/{user_id}/revoke-sessions",
            vec![on(M::POST, admin::revoke_user_sessions)],
        ),
        (
            "/api/admin/users/{user_id}/deactivate",
            vec![on(M::POST, admin::deactivate_user)],
        ),
        (
            "/api/admin/users/{user_id}/reactivate",
            vec![on(M::POST, admin::reactivate_user)],
        ),
        ("/api/admin/audit", vec![on(M::GET, admin::audit)]),
        ("/api/admin/audit.csv", vec![on(M::GET, admin::audit_csv)]),
        ("/api/admin/agents", vec![on(M::GET, admin::agents)]),
        (
            "/api/desk/conversations",
            vec![on(M::GET, desk::conversations)],
        ),
        (
            "/api/desk/availability",
            vec![
                on(M::GET, desk::availability),
                on(M::PUT, desk::set_availability),
            ],
        ),
        (
            "/api/portal/conversations",
            vec![on(M::GET, portal::list), on(M::POST, portal::create)],
        ),
        (
            "/api/admin/sso",
            vec![on(M::GET, sso::list), on(M::POST, sso::create)],
        ),
        (
            "/api/admin/sso/{id}",
            vec![on(M::PUT, sso::update), on(M::DELETE, sso::delete)],
        ),
        ("/api/auth/sso/{id}/start", vec![on(M::GET, sso::begin)]),
        ("/api/auth/sso/callback", vec![on(M::GET, sso::callback)]),
        (
            "/api/auth/sso/backchannel-logout",
            vec![on(M::POST, sso::backchannel_logout)],
        ),
        (
            "/api/admin/tokens",
            vec![on(M::GET, tokens::list), on(M::POST, tokens::create)],
        ),
        (
            "/api/admin/tokens/{id}",
            vec![on(M::DELETE, tokens::delete)],
        ),
        (
            "/api/global-token-revocation",
            vec![on(M::POST, tokens::global_revocation)],
        ),
        (
            "/api/admin/webhooks",
            vec![on(M::GET, webhooks::list), on(M::POST, webhooks::create)],
        ),
        (
            "/api/admin/webhooks/{id}",
            vec![on(M::DELETE, webhooks::delete)],
        ),
        ("/api/caep/jwks.json", vec![on(M::GET, webhooks::jwks)]),
        (
            "/api/admin/webhooks/{id}/enable",
            vec![on(M::POST, webhooks::enable)],
        ),
        (
            "/api/admin/webhooks/{id}/deliveries",
            vec![on(M::GET, webhooks::deliveries)],
        ),
        (
            "/api/admin/webhooks/{id}/deliveries/{delivery_id}/retry",
            vec![on(M::POST, webhooks::retry)],
        ),
        ("/api/openapi.json", vec![on(M::GET, openapi::document)]),
    ]
}

/// Every public route the server mounts, as (method, path).
pub fn mounted() -> Vec<(Method, String)> {
    table()
        .into_iter()
        .flat_map(|(path, routes)| {
            routes
                .into_iter()
                .map(move |(method, _)| (method, path.to_owned()))
        })
        .collect()
}

/// Mounts every public route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let (outside, api): (Vec<_>, Vec<_>) = table()
        .into_iter()
        .partition(|(path, _)| !path.starts_with("/api/"));
    for (path, routes) in outside {
        cfg.service(resource(path, path, routes));
    }
    cfg.service(resource(
        "/metrics",
        "/metrics",
        vec![on(Method::GET, health::metrics_elsewhere)],
    ));
    let mut scope = web::scope("/api");
    for (path, routes) in api {
        let inner = path.strip_prefix("/api").unwrap_or(path);
        scope = scope.service(resource(inner, path, routes));
    }
    cfg.service(scope.default_service(web::to(api_not_found)));
}
