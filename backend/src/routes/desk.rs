//! The agent desk: own conversations and availability.

use actix_web::{web, HttpResponse};
use serde_json::json;
use vigil_policy::api::Availability;

use crate::error::ApiError;
use crate::json::ApiJson;
use crate::sessions::{Authenticated, Current};
use crate::state::AppState;
use crate::store::audit::{self, action, Event};
use crate::store::{accounts, conversations};

fn team_member(s: &Current) -> Result<(), ApiError> {
    if s.is_team_member() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("the desk is for agents"))
    }
}

/// `GET /api/desk/conversations`: open conversations assigned to the caller.
#[utoipa::path(
    get,
    path = "/api/desk/conversations",
    tag = "desk",
    summary = "The agent's open conversations",
    responses(
        (status = 200, description = "Conversations", body = Vec<vigil_policy::api::Conversation>),
        crate::routes::openapi::NotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn conversations(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
) -> Result<HttpResponse, ApiError> {
    team_member(&s)?;
    Ok(HttpResponse::Ok().json(conversations::assigned_to(&state.store, s.user().id).await?))
}

/// `GET /api/desk/availability`: whether the caller takes new conversations.
#[utoipa::path(
    get,
    path = "/api/desk/availability",
    tag = "desk",
    summary = "Whether the agent takes new conversations",
    responses(
        (status = 200, description = "Availability", body = vigil_policy::api::Availability),
        crate::routes::openapi::NotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn availability(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
) -> Result<HttpResponse, ApiError> {
    team_member(&s)?;
    let available = accounts::available(&state.store, s.user().id).await?;
    Ok(HttpResponse::Ok().json(Availability { available }))
}

/// `PUT /api/desk/availability`.
#[utoipa::path(
    put,
    path = "/api/desk/availability",
    tag = "desk",
    summary = "Sets the agent's availability",
    request_body = vigil_policy::api::Availability,
    responses(
        (status = 200, description = "Availability", body = vigil_policy::api::Availability),
        (status = 400, description = "A body or query that is not valid", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowed,
        crate::routes::openapi::NotJson,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn set_availability(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
    ApiJson(body): ApiJson<Availability>,
) -> Result<HttpResponse, ApiError> {
    team_member(&s)?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    accounts::lock_people(&mut tx, &[s.user().id]).await?;
    if accounts::set_available(&mut tx, s.user().id, body.available).await? {
        audit::record(
            &mut tx,
            now,
            Event {
                account_id: s.account_id(),
                actor: &s.user().email,
                action: action::AGENT_AVAILABILITY,
                target: Some(format!("user:{}", s.user().id)),
                details: json!({"user_id": s.user().id, "available": body.available, "reason": "set_by_agent"}),
            },
        )
        .await?;
        crate::webhooks::emit_one(
            &mut tx,
            s.account_id(),
            crate::webhooks::event::AGENT_AVAILABILITY_CHANGED,
            json!({"user_id": s.user().id, "available": body.available, "reason": "set_by_agent"}),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(body))
}
