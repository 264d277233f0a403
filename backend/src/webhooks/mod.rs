//! Webhooks that lose no event (Standard Webhooks).
//!
//! - [`emit`]: writes events to the outbox inside the transaction that
//!   causes them (`store::webhooks::write_events`), so a crash between the
//!   change and its delivery loses nothing;
//! - [`dispatcher`]: each server's task that claims due deliveries, signs
//!   and sends them through [`crate::outbound`], records every attempt,
//!   retries with backoff and disables endpoints failing for 24 h;
//! - [`sign`]: the `webhook-signature` header;
//! - [`caep`]: the second format, `session.ended` as OpenID CAEP
//!   `session-revoked` Security Event Tokens, and the key that signs them.

pub mod caep;
pub mod dispatcher;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vigil_policy::api::Role;
use vigil_policy::EndReason;

use crate::random::random_hex;
use crate::store::sessions::Ending;
use crate::store::webhooks::{write_events, NewEvent};
use crate::store::{self, Tx};

/// Event type names (see `vigil_policy::webhooks::EVENT_TYPES`).
pub mod event {
    /// A session started (any sign-in).
    pub const SESSION_STARTED: &str = "session.started";
    /// A session ended (logout, timeout, revocation).
    pub const SESSION_ENDED: &str = "session.ended";
    /// An account's security settings were saved.
    pub const SETTINGS_UPDATED: &str = "settings.updated";
    /// An agent's availability changed.
    pub const AGENT_AVAILABILITY_CHANGED: &str = "agent.availability_changed";
    /// A conversation moved to another agent or to the queue.
    pub const CONVERSATION_REROUTED: &str = "conversation.rerouted";
    /// A person was deactivated.
    pub const USER_DEACTIVATED: &str = "user.deactivated";
}

/// A new signing secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header for one attempt: `v1,` and the base64
/// HMAC-SHA256 of `id.timestamp.body` keyed with the secret's
/// base64-decoded part. `None` for a secret that is not `whsec_<base64>`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// A new event id (`webhook-id`).
fn new_event_id() -> String {
    format!("evt_{}", random_hex(16))
}

/// The body every attempt of an event sends: `{"type","timestamp","data"}`.
fn payload(event_type: &str, now: OffsetDateTime, data: Value) -> String {
    json!({
        "type": event_type,
        "timestamp": now.format(&Rfc3339).unwrap_or_default(),
        "data": data,
    })
    .to_string()
}

/// Writes events of `(account_id, type, data)` to the outbox inside `tx`
/// (only those an enabled endpoint of the account is subscribed to).
pub async fn emit(
    tx: &mut Tx,
    events: Vec<(i64, &'static str, Value)>,
    now: OffsetDateTime,
) -> store::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let events: Vec<NewEvent> = events
        .into_iter()
        .map(|(account_id, event_type, data)| NewEvent {
            id: new_event_id(),
            account_id,
            event_type,
            payload: payload(event_type, now, data),
        })
        .collect();
    write_events(tx, &events, now, || random_hex(16)).await?;
    Ok(())
}

/// Writes one event (see [`emit`]).
pub async fn emit_one(
    tx: &mut Tx,
    account_id: i64,
    event_type: &'static str,
    data: Value,
    now: OffsetDateTime,
) -> store::Result<()> {
    emit(tx, vec![(account_id, event_type, data)], now).await
}

/// `session.ended` for sessions that ended at `now`.
pub async fn sessions_ended(
    tx: &mut Tx,
    ended: &[&(Ending, EndReason)],
    now: OffsetDateTime,
) -> store::Result<()> {
    let at = now.format(&Rfc3339).unwrap_or_default();
    let events = ended
        .iter()
        .map(|(s, reason)| {
            (
                s.account_id,
                event::SESSION_ENDED,
                json!({
                    "session_id": s.session_id,
                    "user": {"id": s.user_id, "email": s.email},
                    "audience": audience_of(s.role),
                    "reason": reason.as_str(),
                    "ended_at": at,
                }),
            )
        })
        .collect();
    emit(tx, events, now).await
}

fn audience_of(role: Role) -> &'static str {
    role.audience().as_str()
}
