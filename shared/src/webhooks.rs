//! Webhooks (Standard Webhooks): the event types, an endpoint as the admin
//! API shows it, its deliveries, and the rules: what an endpoint must be
//! before it is stored, when a failed delivery is tried again, and when an
//! endpoint that keeps failing is disabled.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::validate::{FieldError, FieldErrorCode};

/// Every event type, in the order the console offers them.
pub const EVENT_TYPES: [&str; 6] = [
    "session.started",
    "session.ended",
    "settings.updated",
    "agent.availability_changed",
    "conversation.rerouted",
    "user.deactivated",
];

/// Subscribes an endpoint to every event type, present and future.
pub const ALL_EVENTS: &str = "*";

/// Longest endpoint URL.
pub const URL_MAX: usize = 2048;
/// Longest description.
pub const DESCRIPTION_MAX: usize = 200;
/// Most endpoints an account may have.
pub const ENDPOINTS_MAX: usize = 20;

/// How long after a failed attempt each retry comes, in seconds: the first
/// within 10 s (as Standard Webhooks suggests), then growing. The last
/// attempt comes 27 h 35 min after the first, so an event is tried for more
/// than 24 h before it is given up.
pub const RETRY_DELAYS_SECS: [i64; 7] = [5, 300, 1800, 7200, 18000, 36000, 36000];

/// An endpoint whose attempts have all failed for this long is disabled.
pub const DISABLE_AFTER_SECS: i64 = 24 * 3600;

/// When to try a delivery again after its `attempts_made`-th attempt
/// failed at `now`; `None` when it has had every attempt it gets.
pub fn next_attempt_at(attempts_made: u32, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let i = usize::try_from(attempts_made.checked_sub(1)?).ok()?;
    RETRY_DELAYS_SECS
        .get(i)
        .map(|secs| now + time::Duration::seconds(*secs))
}

/// Whether an endpoint failing since `failing_since` is disabled at `now`.
pub fn disabled_by_failures(failing_since: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - failing_since >= time::Duration::seconds(DISABLE_AFTER_SECS)
}

/// What an endpoint receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// Standard Webhooks: JSON `{"type","timestamp","data"}` signed with the
    /// endpoint's HMAC secret.
    #[default]
    StandardWebhooks,
    /// OpenID CAEP: each `session.ended` as a `session-revoked` Security
    /// Event Token (RFC 8417) signed RS256 with Vigil's key (its JWKS at
    /// `/api/caep/jwks.json`), pushed as RFC 8935 says.
    Caep,
}

impl WebhookFormat {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::StandardWebhooks => "standard_webhooks",
            WebhookFormat::Caep => "caep",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "standard_webhooks" => Some(WebhookFormat::StandardWebhooks),
            "caep" => Some(WebhookFormat::Caep),
            _ => None,
        }
    }
}

/// The only event type a CAEP endpoint receives.
pub const CAEP_EVENT: &str = "session.ended";

/// `POST /api/admin/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where events are POSTed: https, to a public address (plain http and
    /// internal addresses only inside `VIGIL_OUTBOUND_ALLOW`).
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub url: String,
    /// Event types to send (see [`EVENT_TYPES`]), or `"*"` for all.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 7))]
    pub events: Vec<String>,
    /// What the endpoint is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub description: Option<String>,
    /// What it receives: Standard Webhooks (the default) or CAEP
    /// `session-revoked` SETs (then `events` must be `["session.ended"]`).
    #[serde(default)]
    pub format: WebhookFormat,
}

/// An endpoint, as the admin API lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    /// Public id.
    pub id: String,
    /// Where events go.
    pub url: String,
    /// Event types it receives (`"*"`: all).
    pub events: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
    /// What it receives.
    pub format: WebhookFormat,
    /// False once it failed for 24 h: nothing is sent to it any more.
    pub enabled: bool,
    /// When it was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its attempts started failing without a success since.
    #[serde(with = "time::serde::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    /// When it was disabled.
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
}

/// `POST /api/admin/webhooks` answers with the endpoint and its secret,
/// which is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    /// Public id.
    pub id: String,
    /// Where events go.
    pub url: String,
    /// Event types it receives.
    pub events: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Always true for a new endpoint.
    pub enabled: bool,
    /// What it receives.
    pub format: WebhookFormat,
    /// Standard Webhooks: the signing secret, `whsec_<base64>` (the key is
    /// the base64-decoded part). None for CAEP, whose SETs Vigil signs
    /// with its own key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// CAEP: the SETs' `iss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// CAEP: where the keys that sign the SETs are published (a JWK Set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; another attempt is due.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up: every attempt failed, or the endpoint was disabled.
    Failed,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One attempt to deliver an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The endpoint's status code, when it answered.
    pub status_code: Option<u16>,
    /// What went wrong, when something did.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

/// An event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// Delivery id.
    pub id: String,
    /// The event's id: its `webhook-id` header on every attempt.
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// The last attempt's status code, when it got one.
    pub last_status_code: Option<u16>,
    /// When the next attempt is due (pending only).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When it was delivered.
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    /// When the event happened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Every attempt, newest first.
    pub attempt_log: Vec<DeliveryAttempt>,
}

/// Whether `events` names `event_type` (or all).
pub fn subscribed(events: &[String], event_type: &str) -> bool {
    events.iter().any(|e| e == ALL_EVENTS || e == event_type)
}

/// Checks an endpoint before it is stored; every problem, in field order.
/// `allow_http` when ops allow plain http to some network
/// (`VIGIL_OUTBOUND_ALLOW`); the server checks the address itself.
pub fn validate_webhook(input: &WebhookInput, allow_http: bool) -> Vec<FieldError> {
    let mut out = Vec::new();
    if let Err(why) = endpoint_url(&input.url, allow_http) {
        out.push(FieldError::new("url", FieldErrorCode::Invalid, why));
    }
    if input.events.is_empty() {
        out.push(FieldError::new(
            "events",
            FieldErrorCode::MissingField,
            "Choose at least one event type, or \"*\" for all.",
        ));
    }
    for e in &input.events {
        if e != ALL_EVENTS && !EVENT_TYPES.contains(&e.as_str()) {
            out.push(FieldError::new(
                "events",
                FieldErrorCode::Invalid,
                format!(
                    "{:?} is not an event type; use {} or \"*\".",
                    e.chars().take(60).collect::<String>(),
                    EVENT_TYPES.join(", ")
                ),
            ));
            break;
        }
    }
    if input.format == WebhookFormat::Caep && input.events.iter().any(|e| e != CAEP_EVENT) {
        out.push(FieldError::new(
            "events",
            FieldErrorCode::Invalid,
            "A CAEP endpoint receives session.ended only (as session-revoked events): choose just that.",
        ));
    }
    if input
        .description
        .as_deref()
        .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX)
    {
        out.push(FieldError::new(
            "description",
            FieldErrorCode::TooLarge,
            format!("Keep the description to {DESCRIPTION_MAX} characters."),
        ));
    }
    out
}

/// The events of `input`, each once, in [`EVENT_TYPES`] order (`["*"]`
/// when it names all).
pub fn normalised_events(events: &[String]) -> Vec<String> {
    if events.iter().any(|e| e == ALL_EVENTS) {
        return vec![ALL_EVENTS.to_owned()];
    }
    EVENT_TYPES
        .iter()
        .filter(|t| events.iter().any(|e| e == *t))
        .map(|t| (*t).to_owned())
        .collect()
}

fn endpoint_url(url: &str, allow_http: bool) -> Result<(), String> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        if !allow_http {
            return Err("The URL must start with https:// (plain http only to networks ops list in VIGIL_OUTBOUND_ALLOW).".into());
        }
        rest
    } else {
        return Err("The URL must be like https://hooks.example.com/vigil.".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if url.len() > URL_MAX
        || authority.is_empty()
        || authority.contains('@')
        || url.contains(|c: char| c.is_whitespace() || c.is_control())
        || url.contains('#')
    {
        return Err(format!(
            "The URL must be like https://hooks.example.com/vigil: a host, no credentials, no fragment, at most {URL_MAX} characters."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str, events: &[&str]) -> WebhookInput {
        WebhookInput {
            url: url.into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            description: None,
            format: WebhookFormat::StandardWebhooks,
        }
    }

    #[test]
    fn a_caep_endpoint_takes_session_ended_only() {
        let mut i = input("https://h.example/x", &["session.ended"]);
        i.format = WebhookFormat::Caep;
        assert!(validate_webhook(&i, false).is_empty());
        for events in [&["*"][..], &["session.ended", "session.started"][..]] {
            let mut i = input("https://h.example/x", events);
            i.format = WebhookFormat::Caep;
            let errors = validate_webhook(&i, false);
            assert_eq!(errors.len(), 1, "{events:?}: {errors:?}");
            assert_eq!(errors[0].path, "events");
        }
        for f in [WebhookFormat::StandardWebhooks, WebhookFormat::Caep] {
            assert_eq!(WebhookFormat::parse(f.as_str()), Some(f));
        }
    }

    #[test]
    fn endpoints_are_checked() {
        assert!(
            validate_webhook(&input("https://h.example/x", &["session.ended"]), false).is_empty()
        );
        assert!(validate_webhook(&input("https://h.example/x", &["*"]), false).is_empty());
        for (url, events, field, why) in [
            (
                "http://h.example/x",
                &["*"][..],
                "url",
                "http without allow",
            ),
            ("ftp://h.example/x", &["*"][..], "url", "scheme"),
            ("https://u:p@h.example/", &["*"][..], "url", "credentials"),
            ("https:///x", &["*"][..], "url", "no host"),
            ("https://h.example/#x", &["*"][..], "url", "fragment"),
            ("https://h.example/ x", &["*"][..], "url", "space"),
            ("https://h.example/", &[][..], "events", "none"),
            (
                "https://h.example/",
                &["session.nope"][..],
                "events",
                "unknown",
            ),
        ] {
            let errors = validate_webhook(&input(url, events), false);
            assert_eq!(errors.len(), 1, "{why}: {errors:?}");
            assert_eq!(errors[0].path, field, "{why}");
        }
        assert!(validate_webhook(&input("http://127.0.0.1:9/x", &["*"]), true).is_empty());
        let long = format!("https://h.example/{}", "a".repeat(URL_MAX));
        assert_eq!(validate_webhook(&input(&long, &["*"]), false).len(), 1);
        let mut described = input("https://h.example/", &["*"]);
        described.description = Some("d".repeat(DESCRIPTION_MAX + 1));
        assert_eq!(validate_webhook(&described, false)[0].path, "description");
    }

    #[test]
    fn events_are_normalised_and_matched() {
        let e = normalised_events(&[
            "user.deactivated".into(),
            "session.ended".into(),
            "session.ended".into(),
        ]);
        assert_eq!(e, ["session.ended", "user.deactivated"]);
        assert_eq!(
            normalised_events(&["session.ended".into(), "*".into()]),
            ["*"]
        );
        assert!(subscribed(&e, "session.ended"));
        assert!(!subscribed(&e, "session.started"));
        assert!(subscribed(&["*".to_owned()], "settings.updated"));
    }

    #[test]
    fn retries_start_within_ten_seconds_grow_and_last_over_a_day() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        assert!(
            next_attempt_at(0, t0).is_none(),
            "no attempt yet: nothing to retry"
        );
        let first = next_attempt_at(1, t0).unwrap();
        assert!(first - t0 <= time::Duration::seconds(10));
        let mut total = 0;
        let mut last = 0;
        for (i, d) in RETRY_DELAYS_SECS.iter().enumerate() {
            assert!(*d >= last, "retry {i} does not shrink");
            last = *d;
            total += d;
        }
        assert!(total >= DISABLE_AFTER_SECS, "retries span at least 24 h");
        assert!(next_attempt_at(RETRY_DELAYS_SECS.len() as u32 + 1, t0).is_none());
        assert!(next_attempt_at(RETRY_DELAYS_SECS.len() as u32, t0).is_some());
        assert!(!disabled_by_failures(t0, t0 + time::Duration::hours(23)));
        assert!(disabled_by_failures(t0, t0 + time::Duration::hours(24)));
    }
}
