//! The caller's own session.

use actix_web::{web, HttpResponse};
use vigil_policy::api::{ActivityRequest, ActivitySource};

use crate::error::ApiError;
use crate::json::ApiJson;
use crate::sessions::{Authenticated, Peek};
use crate::state::AppState;

/// `GET /api/session`.
pub async fn get(state: web::Data<AppState>, Authenticated(s): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(s.view(state.clock.now()))
}

/// `POST /api/session/activity`: input always counts; a call counts under
/// `active_call_extends`; a hidden-tab heartbeat when hidden tabs are not idle.
pub async fn activity(
    state: web::Data<AppState>,
    Peek(s): Peek,
    ApiJson(body): ApiJson<ActivityRequest>,
) -> Result<HttpResponse, ApiError> {
    let rules = s.settings().activity;
    let counts = match body.source {
        ActivitySource::Input => true,
        ActivitySource::Call => rules.active_call_extends && s.is_team_member(),
        ActivitySource::Hidden => !rules.hidden_tab_is_idle,
    };
    let now = state.clock.now();
    if counts {
        s.touch(&state, now);
    }
    Ok(HttpResponse::Ok().json(s.view(now)))
}
