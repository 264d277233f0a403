//! HTTP routes, one module per resource. [`configure`] mounts the API.

pub mod admin;
pub mod auth;
pub mod desk;
pub mod health;
pub mod me;
pub mod portal;
pub mod session;
pub mod settings;

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

/// Mounts every public route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz", vec![web::get().to(health::healthz)]))
        .service(resource("/readyz", vec![web::get().to(health::readyz)]))
        .service(resource(
            "/metrics",
            vec![web::get().to(health::metrics_elsewhere)],
        ))
        .service(
            web::scope("/api")
                // The session check first: it is most of the traffic, and
                // routes are tried in order.
                .service(resource("/session", vec![web::get().to(session::get)]))
                .service(resource(
                    "/session/events",
                    vec![web::get().to(session::events)],
                ))
                .service(resource(
                    "/session/activity",
                    vec![web::post().to(session::activity)],
                ))
                .service(resource(
                    "/accounts/{slug}/login-options",
                    vec![web::get().to(auth::login_options)],
                ))
                .service(resource("/auth/login", vec![web::post().to(auth::login)]))
                .service(resource("/auth/logout", vec![web::post().to(auth::logout)]))
                .service(resource("/me/sessions", vec![web::get().to(me::list)]))
                .service(resource(
                    "/me/sessions/revoke-others",
                    vec![web::post().to(me::revoke_others)],
                ))
                .service(resource(
                    "/me/sessions/{session_id}",
                    vec![web::delete().to(me::revoke)],
                ))
                .service(resource(
                    "/admin/security-settings",
                    vec![web::get().to(settings::get), web::put().to(settings::put)],
                ))
                .service(resource(
                    "/admin/security-settings/preview",
                    vec![web::post().to(settings::preview)],
                ))
                .service(resource(
                    "/admin/sessions",
                    vec![web::get().to(admin::list_sessions)],
                ))
                .service(resource(
                    "/admin/sessions/{session_id}",
                    vec![web::delete().to(admin::revoke_session)],
                ))
                .service(resource(
                    "/admin/users/{user_id}/revoke-sessions",
                    vec![web::post().to(admin::revoke_user_sessions)],
                ))
                .service(resource("/admin/audit", vec![web::get().to(admin::audit)]))
                .service(resource(
                    "/admin/agents",
                    vec![web::get().to(admin::agents)],
                ))
                .service(resource(
                    "/desk/conversations",
                    vec![web::get().to(desk::conversations)],
                ))
                .service(resource(
                    "/desk/availability",
                    vec![
                        web::get().to(desk::availability),
                        web::put().to(desk::set_availability),
                    ],
                ))
                .service(resource(
                    "/portal/conversations",
                    vec![web::get().to(portal::list), web::post().to(portal::create)],
                ))
                .default_service(web::to(api_not_found)),
        );
}
