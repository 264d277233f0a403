//! The requester portal: own conversations.

use actix_web::{web, HttpResponse};
use vigil_policy::api::{NewConversation, Role};
use vigil_policy::{FieldError, FieldErrorCode};

use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routing;
use crate::sessions::{Authenticated, Current};
use crate::state::AppState;
use crate::store::conversations;

const SUBJECT_MAX_CHARS: usize = 200;

fn requester(s: &Current) -> Result<(), ApiError> {
    if s.role() == Role::Requester {
        Ok(())
    } else {
        Err(ApiError::Forbidden("the portal is for requesters"))
    }
}

/// `GET /api/portal/conversations`: the caller's conversations.
#[utoipa::path(
    get,
    path = "/api/portal/conversations",
    tag = "portal",
    summary = "The requester's conversations",
    responses(
        (status = 200, description = "Conversations", body = Vec<vigil_policy::api::Conversation>),
        crate::routes::openapi::NotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
) -> Result<HttpResponse, ApiError> {
    requester(&s)?;
    Ok(HttpResponse::Ok().json(conversations::requested_by(&state.store, s.user().id).await?))
}

/// `POST /api/portal/conversations`: opens a conversation routed to the
/// least-loaded available agent, or queued when none is available.
#[utoipa::path(
    post,
    path = "/api/portal/conversations",
    tag = "portal",
    summary = "Opens a conversation (assigned to the least-loaded available agent, or queued)",
    request_body = vigil_policy::api::NewConversation,
    responses(
        (status = 201, description = "Opened", body = vigil_policy::api::Conversation),
        (status = 400, description = "A body or query that is not valid", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowed,
        crate::routes::openapi::NotJson,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
    ApiJson(body): ApiJson<NewConversation>,
) -> Result<HttpResponse, ApiError> {
    requester(&s)?;
    let subject = body.subject.trim();
    let chars = subject.chars().count();
    if chars == 0 || chars > SUBJECT_MAX_CHARS || subject.chars().any(char::is_control) {
        return Err(ApiError::bad_field(FieldError::new(
            "subject",
            FieldErrorCode::Invalid,
            format!("The subject must be 1 to {SUBJECT_MAX_CHARS} characters on one line."),
        )));
    }
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let assignee = routing::assignee_for_new(&mut tx, s.account_id()).await?;
    let conversation =
        conversations::open(&mut tx, s.account_id(), s.user().id, subject, assignee, now).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(conversation))
}
