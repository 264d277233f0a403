//! The agent desk: own conversations and availability.

use actix_web::{web, HttpResponse};
use serde_json::json;
use vigil_policy::api::Availability;

use crate::audit::{self, action, Event};
use crate::conversations;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::sessions::{Authenticated, Current};
use crate::state::AppState;

fn team_member(s: &Current) -> Result<(), ApiError> {
    if s.is_team_member() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("the desk is for agents"))
    }
}

/// `GET /api/desk/conversations`: open conversations assigned to the caller.
pub async fn conversations(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
) -> Result<HttpResponse, ApiError> {
    team_member(&s)?;
    Ok(HttpResponse::Ok().json(conversations::assigned_to(&state.db, s.user.id).await?))
}

/// `GET /api/desk/availability`: whether the caller takes new conversations.
pub async fn availability(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
) -> Result<HttpResponse, ApiError> {
    team_member(&s)?;
    let row = sqlx::query("SELECT available FROM users WHERE id = $1")
        .bind(s.user.id)
        .fetch_one(&state.db.pool)
        .await?;
    let available = crate::db::get_bool(&row, "available")?;
    Ok(HttpResponse::Ok().json(Availability { available }))
}

/// `PUT /api/desk/availability`.
pub async fn set_availability(
    state: web::Data<AppState>,
    Authenticated(s): Authenticated,
    ApiJson(body): ApiJson<Availability>,
) -> Result<HttpResponse, ApiError> {
    team_member(&s)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let changed = sqlx::query("UPDATE users SET available = $1 WHERE id = $2 AND available <> $1")
        .bind(body.available)
        .bind(s.user.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed > 0 {
        audit::record(
            &mut tx,
            now,
            Event {
                account_id: s.account_id,
                actor: &s.user.email,
                action: action::AGENT_AVAILABILITY,
                target: Some(format!("user:{}", s.user.id)),
                details: json!({"user_id": s.user.id, "available": body.available, "reason": "set_by_agent"}),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(body))
}
