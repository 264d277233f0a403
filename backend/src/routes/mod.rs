//! HTTP routes, one module per resource. [`configure`] mounts the API.

pub mod admin;
pub mod auth;
pub mod desk;
pub mod health;
pub mod me;
pub mod openapi;
pub mod portal;
pub mod session;
pub mod settings;

use actix_web::http::Method;
use actix_web::{web, HttpRequest, Route};

use crate::error::ApiError;

/// 405 with a JSON body, for known paths with the wrong method.
pub async fn method_not_allowed() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

/// 404 with a JSON body, for unknown API paths.
pub async fn api_not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    tracing::debug!(path = req.path(), "unknown API path");
    Err(ApiError::NotFound("no such API endpoint"))
}

fn resource(path: &str, routes: Vec<Route>) -> actix_web::Resource {
    let mut r = web::resource(path).default_service(web::to(method_not_allowed));
    for route in routes {
        r = r.route(route);
    }
    r
}

/// Mounts the management listener's routes: metrics and health, for the
/// platform, never for browsers.
pub fn configure_management(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(
        "/metrics",
        vec![web::get().to(crate::metrics::metrics)],
    ))
    .service(resource("/livez", vec![web::get().to(health::livez)]))
    .service(resource("/healthz", vec![web::get().to(health::healthz)]))
    .service(resource("/readyz", vec![web::get().to(health::readyz)]))
    .default_service(web::to(|| async {
        Err::<actix_web::HttpResponse, _>(ApiError::NotFound("no such management endpoint"))
    }));
}

/// Every public route: path, and each method with its handler. The one
/// table [`configure`] mounts and [`mounted`] lists (the OpenAPI document
/// is checked against it). Under `/api` unless the path says otherwise.
fn table() -> Vec<(&'static str, Vec<(Method, Route)>)> {
    use Method as M;
    let to = |m: Method| web::method(m);
    vec![
        ("/healthz", vec![(M::GET, to(M::GET).to(health::healthz))]),
        ("/readyz", vec![(M::GET, to(M::GET).to(health::readyz))]),
        // The session check first: it is most of the traffic, and routes are
        // tried in order.
        ("/api/session", vec![(M::GET, to(M::GET).to(session::get))]),
        (
            "/api/session/events",
            vec![(M::GET, to(M::GET).to(session::events))],
        ),
        (
            "/api/session/activity",
            vec![(M::POST, to(M::POST).to(session::activity))],
        ),
        (
            "/api/accounts/{slug}/login-options",
            vec![(M::GET, to(M::GET).to(auth::login_options))],
        ),
        (
            "/api/auth/login",
            vec![(M::POST, to(M::POST).to(auth::login))],
        ),
        (
            "/api/auth/logout",
            vec![(M::POST, to(M::POST).to(auth::logout))],
        ),
        ("/api/me/sessions", vec![(M::GET, to(M::GET).to(me::list))]),
        (
            "/api/me/sessions/revoke-others",
            vec![(M::POST, to(M::POST).to(me::revoke_others))],
        ),
        (
            "/api/me/sessions/{session_id}",
            vec![(M::DELETE, to(M::DELETE).to(me::revoke))],
        ),
        (
            "/api/admin/security-settings",
            vec![
                (M::GET, to(M::GET).to(settings::get)),
                (M::PUT, to(M::PUT).to(settings::put)),
            ],
        ),
        (
            "/api/admin/security-settings/preview",
            vec![(M::POST, to(M::POST).to(settings::preview))],
        ),
        (
            "/api/admin/sessions",
            vec![(M::GET, to(M::GET).to(admin::list_sessions))],
        ),
        (
            "/api/admin/sessions/{session_id}",
            vec![(M::DELETE, to(M::DELETE).to(admin::revoke_session))],
        ),
        (
            "/api/admin/users/{user_id}/revoke-sessions",
            vec![(M::POST, to(M::POST).to(admin::revoke_user_sessions))],
        ),
        (
            "/api/admin/audit",
            vec![(M::GET, to(M::GET).to(admin::audit))],
        ),
        (
            "/api/admin/audit.csv",
            vec![(M::GET, to(M::GET).to(admin::audit_csv))],
        ),
        (
            "/api/admin/agents",
            vec![(M::GET, to(M::GET).to(admin::agents))],
        ),
        (
            "/api/desk/conversations",
            vec![(M::GET, to(M::GET).to(desk::conversations))],
        ),
        (
            "/api/desk/availability",
            vec![
                (M::GET, to(M::GET).to(desk::availability)),
                (M::PUT, to(M::PUT).to(desk::set_availability)),
            ],
        ),
        (
            "/api/portal/conversations",
            vec![
                (M::GET, to(M::GET).to(portal::list)),
                (M::POST, to(M::POST).to(portal::create)),
            ],
        ),
        (
            "/api/openapi.json",
            vec![(M::GET, to(M::GET).to(openapi::document))],
        ),
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
        cfg.service(resource(path, routes.into_iter().map(|(_, r)| r).collect()));
    }
    cfg.service(resource(
        "/metrics",
        vec![web::get().to(health::metrics_elsewhere)],
    ));
    let mut scope = web::scope("/api");
    for (path, routes) in api {
        let inner = path.strip_prefix("/api").unwrap_or(path);
        scope = scope.service(resource(
            inner,
            routes.into_iter().map(|(_, r)| r).collect(),
        ));
    }
    cfg.service(scope.default_service(web::to(api_not_found)));
}
