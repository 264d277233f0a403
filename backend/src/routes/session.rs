//! The caller's own session.

use actix_web::{web, HttpResponse};
use time::OffsetDateTime;
use vigil_policy::api::{ActivityRequest, ActivitySource, SessionView, UnauthenticatedReason};
use vigil_policy::Evaluation;

use crate::error::ApiError;
use crate::json::ApiJson;
use crate::sessions::live::Watch;
use crate::sessions::token::SessionToken;
use crate::sessions::{check, Authenticated, Peek, Use};
use crate::state::AppState;

/// `GET /api/session`.
#[utoipa::path(
    get,
    path = "/api/session",
    tag = "session",
    summary = "The caller's session (counts as activity unless X-Vigil-Background: 1)",
    responses(
        (status = 200, description = "The session", body = vigil_policy::api::SessionView),
        crate::routes::openapi::NoSession,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn get(state: web::Data<AppState>, Authenticated(s): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(s.view(state.clock.now()))
}

/// `POST /api/session/activity`: input always counts; a call counts under
/// `active_call_extends`; a hidden-tab heartbeat when hidden tabs are not idle.
#[utoipa::path(
    post,
    path = "/api/session/activity",
    tag = "session",
    summary = "Reports activity (input, call or hidden-tab heartbeat)",
    request_body = vigil_policy::api::ActivityRequest,
    responses(
        (status = 200, description = "The session after it", body = vigil_policy::api::SessionView),
        (status = 400, description = "A body or query that is not valid", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NoSessionOrCsrf,
        crate::routes::openapi::NotJson,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn activity(
    state: web::Data<AppState>,
    Peek(s): Peek,
    ApiJson(body): ApiJson<ActivityRequest>,
) -> Result<HttpResponse, ApiError> {
    let rules = s.settings().activity;
    let now = state.clock.now();
    let counts = match body.source {
        ActivitySource::Input => true,
        // At most `call_max_secs` after the last input: an unattended desk
        // on a call still signs out.
        ActivitySource::Call => s.is_team_member() && rules.call_counts(s.last_input(), now),
        ActivitySource::Hidden => !rules.hidden_tab_is_idle,
    };
    if counts {
        s.touch(&state.sessions, now, body.source == ActivitySource::Input);
    }
    Ok(HttpResponse::Ok().json(s.view(now)))
}

/// `GET /api/session/events`: the live channel (Server-Sent Events).
///
/// Sends the session view at once and whenever it changes (activity here
/// or on another device, a settings or permission change), `ended` with the
/// reason when the session ends (revoked or signed out anywhere, or past a
/// deadline), and a comment line as heartbeat. Opening it is not activity.
/// The channel wakes when told (see `sessions::live`) and at the session's
/// own instants: just before the warning, when it re-reads the row (activity
/// another replica wrote moves the deadline), every two seconds during the
/// warning, and at the deadline, when the check ends the session.
#[utoipa::path(
    get,
    path = "/api/session/events",
    tag = "session",
    summary = "The live channel: Server-Sent Events `session` (SessionView), `ended` ({\"reason\"}) and heartbeat comments; not activity",
    responses(
        (status = 200, description = "An event stream: `session` events (data: a SessionView), then `ended` (data: an EndedEvent) when the session ends, and `: heartbeat` comments between; each event as `events_schema` describes it", body = String, content_type = "text/event-stream"),
        crate::routes::openapi::NoSession,
        (status = 429, description = "`too_many_channels`: the session holds VIGIL_CHANNELS_PER_SESSION (default 16) live channels on this server already", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn events(state: web::Data<AppState>, Peek(s): Peek) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let Some(watch) = s.watch(&state.sessions, state.config.channels_per_session) else {
        tracing::info!(session = %s.session_id(), "live channel refused: too many open");
        return Err(ApiError::TooManyChannels);
    };
    let first = s.view(now);
    let channel = Channel {
        state: state.into_inner(),
        token: s.token.clone(),
        evaluation: None,
        watch,
        sent_instants: None,
        sent_fingerprint: 0,
        pending: Some(Event::Session(Box::new(first))),
        heartbeat_at: tokio::time::Instant::now(),
        done: false,
    };
    let stream = futures_util::stream::unfold(channel, |mut ch| async move {
        let bytes = ch.next().await?;
        Some((Ok::<_, std::convert::Infallible>(bytes), ch))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

/// The data of the live channel's `ended` event.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EndedEvent {
    /// Why the session ended.
    pub reason: UnauthenticatedReason,
}

/// The live channel's events, as schemathesis and OpenAPI 3.2 read an
/// event stream (each event an object of its fields; `data` JSON text with
/// the schema it holds). utoipa cannot spell `const` or `contentSchema`, so
/// the OpenAPI document puts this in place of the 200's schema.
pub fn events_schema() -> serde_json::Value {
    let event = |name: &str, data: &str| {
        serde_json::json!({
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": { "const": name },
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": { "$ref": format!("#/components/schemas/{data}") },
                },
            },
        })
    };
    serde_json::json!({
        "oneOf": [event("session", "SessionView"), event("ended", "EndedEvent")],
    })
}

enum Event {
    Session(Box<SessionView>),
    Ended(UnauthenticatedReason),
    Heartbeat,
}

impl Event {
    fn encode(&self) -> web::Bytes {
        let text = match self {
            Event::Session(view) => format!(
                "event: session\ndata: {}\n\n",
                serde_json::to_string(view).unwrap_or_default()
            ),
            Event::Ended(reason) => format!(
                "event: ended\ndata: {}\n\n",
                serde_json::to_string(&EndedEvent { reason: *reason }).unwrap_or_default()
            ),
            Event::Heartbeat => ": heartbeat\n\n".to_owned(),
        };
        web::Bytes::from(text)
    }
}

/// A view's fingerprint, its `server_time` aside (which changes every time).
fn fingerprint(view: &SessionView) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut v = view.clone();
    v.server_time = OffsetDateTime::UNIX_EPOCH;
    serde_json::to_string(&v).unwrap_or_default().hash(&mut h);
    h.finish()
}

struct Channel {
    state: std::sync::Arc<AppState>,
    token: SessionToken,
    watch: Watch,
    /// The session's instants: as last evaluated, or as last sent.
    evaluation: Option<Evaluation>,
    /// The last view sent: its warning instant and end, and a fingerprint
    /// of the rest (its `server_time` aside), kept instead of the view so an
    /// idle channel stays small.
    sent_instants: Option<(OffsetDateTime, OffsetDateTime)>,
    sent_fingerprint: u64,
    pending: Option<Event>,
    heartbeat_at: tokio::time::Instant,
    done: bool,
}

impl Channel {
    async fn next(&mut self) -> Option<web::Bytes> {
        if self.done {
            return None;
        }
        if let Some(event) = self.pending.take() {
            return Some(self.sent(event));
        }
        loop {
            let now = self.state.clock.now();
            let wake = self.next_instant(now);
            let reread = tokio::select! {
                _ = self.watch.woken() => false,
                _ = tokio::time::sleep(wake) => true,
                _ = tokio::time::sleep_until(self.heartbeat_at) => {
                    return Some(self.sent(Event::Heartbeat));
                }
            };
            if self.state.sessions.memory.live.closing() {
                // Shutting down: the browser reconnects to another server.
                self.done = true;
                return None;
            }
            // Boxed: the check's future is large, and a channel waits far
            // more than it checks; unboxed it would be part of every idle
            // channel's state.
            match Box::pin(check(
                &self.state.sessions,
                self.token.clone(),
                reread,
                Use::InUse,
            ))
            .await
            {
                Ok((current, evaluation)) => {
                    current.rewatch();
                    self.evaluation = Some(evaluation);
                    let view = current.view(self.state.clock.now());
                    if !self.same_as_sent(&view) {
                        return Some(self.sent(Event::Session(Box::new(view))));
                    }
                }
                Err(ApiError::Unauthenticated(reason)) => {
                    self.done = true;
                    return Some(Event::Ended(reason).encode());
                }
                Err(e) => {
                    // The database is away: try again shortly; the browser
                    // keeps its own countdown meanwhile.
                    tracing::warn!(error = %e, "live channel could not check its session");
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                        _ = tokio::time::sleep_until(self.heartbeat_at) => {
                            return Some(self.sent(Event::Heartbeat));
                        }
                    }
                }
            }
        }
    }

    /// Records what is sent, and when the next heartbeat is due.
    fn sent(&mut self, event: Event) -> web::Bytes {
        if let Event::Session(view) = &event {
            self.evaluation = None;
            self.sent_instants = Some((
                view.warn_at,
                view.idle_expires_at.min(view.absolute_expires_at),
            ));
            self.sent_fingerprint = fingerprint(view);
        }
        self.heartbeat_at = tokio::time::Instant::now() + self.state.config.live_heartbeat;
        event.encode()
    }

    fn same_as_sent(&self, view: &SessionView) -> bool {
        self.sent_instants.is_some() && fingerprint(view) == self.sent_fingerprint
    }

    /// How long until the session's next instant worth a check: a second
    /// before the warning, every two seconds during it, the deadline.
    fn next_instant(&self, now: OffsetDateTime) -> std::time::Duration {
        let (warn_at, ends_at) = match (&self.evaluation, self.sent_instants) {
            (Some(e), _) => (e.warn_at, e.ends_at),
            (None, Some(instants)) => instants,
            (None, None) => return std::time::Duration::from_secs(1),
        };
        let before_warning = warn_at - time::Duration::seconds(1);
        let at = if now < before_warning {
            before_warning
        } else if now < ends_at {
            (now + time::Duration::seconds(2)).min(ends_at)
        } else {
            now
        };
        let wait = (at - now).max(time::Duration::milliseconds(10));
        std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::from_secs(3600))
    }
}
