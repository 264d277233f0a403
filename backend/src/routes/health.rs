//! Liveness, readiness and metrics.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use anyhow::Context;
use serde_json::json;

use crate::error::ApiError;
use crate::metrics::{self, Scrape};
use crate::state::AppState;

/// `GET /livez` (management): the process answers; restart it if not.
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "alive"}))
}

/// `GET /metrics` (management): the process's counters and the figures
/// read now (live sessions in the database, the hashing queue, memory),
/// in the Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let sessions = &state.sessions;
    let now = Scrape {
        live_sessions: crate::store::sessions::live_counts(&state.store).await?,
        hash_queue: state.hasher.waiting(),
        hash_rejected: state.hasher.rejected(),
        activity_writes: sessions.activity.writes(),
        session_memory: sessions.memory.len(),
        live_channels: sessions.memory.live.open(),
        memory_trusted: sessions.memory.trusted(),
        memory_resets: sessions.memory.resets(),
        late_heartbeats: sessions.memory.late_heartbeats(),
    };
    let text = sessions
        .metrics
        .encode(now)
        .context("cannot write the metrics out")?;
    Ok(HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .body(text))
}

/// `GET /metrics` on the public listener: not here.
pub async fn metrics_elsewhere() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(
        "metrics are served on the management listener (VIGIL_MANAGEMENT_LISTEN)",
    ))
}

/// `GET /healthz`: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    summary = "The process is up",
    responses(
        (status = 200, description = "Up", body = crate::routes::openapi::Status),
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers within two seconds, and the server
/// is not shutting down (503 from the moment SIGTERM arrives, while requests
/// in flight finish). Recovers by itself: every call tries the database
/// afresh.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    summary = "The database answers and the server is not draining",
    responses(
        (status = 200, description = "Ready", body = crate::routes::openapi::Status),
        (status = 503, description = "Not ready (database away, or shutting down)", body = vigil_policy::api::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before asking again"))),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.draining() {
        return Err(ApiError::Unavailable);
    }
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(true) => Ok(HttpResponse::Ok().json(json!({"status": "ready"}))),
        _ => Err(ApiError::Unavailable),
    }
}
