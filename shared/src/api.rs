//! Request and response bodies of Vigil's HTTP API (see SPEC.md), shared so
//! the console deserialises exactly what the server serialises.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::deadline::EndReason;
use crate::settings::{ActivityRules, Audience, Limits, SecuritySettings, Warning};
use crate::sso::{SignInMethod, SsoOption};
use crate::validate::FieldError;

/// A person's role in an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Account admin: a team member with every permission.
    Admin,
    /// Agent: a team member who answers conversations.
    Agent,
    /// Requester: an end user of the help desk.
    Requester,
}

impl Role {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Requester => "requester",
        }
    }

    /// Parses the wire and database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            "requester" => Some(Role::Requester),
            _ => None,
        }
    }

    /// Which policy applies to people of this role.
    pub fn audience(self) -> Audience {
        match self {
            Role::Admin | Role::Agent => Audience::Agents,
            Role::Requester => Audience::Requesters,
        }
    }
}

/// The permission to configure session security and manage sessions.
pub const PERMISSION_MANAGE_SECURITY: &str = "manage_security";

/// Machine codes of error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No valid session (see `reason`).
    Unauthenticated,
    /// Signed in, but not allowed.
    Forbidden,
    /// No such thing in this account.
    NotFound,
    /// Missing `X-Vigil-Request` header or foreign `Origin`.
    Csrf,
    /// The body or query could not be read (see `fields`).
    BadRequest,
    /// Settings that break a rule (see `fields`); nothing was stored.
    Validation,
    /// The settings changed since they were read.
    VersionConflict,
    /// Wrong account, email or password; deliberately not saying which.
    InvalidCredentials,
    /// Too many failed sign-ins; retry after `retry_after_secs`.
    TooManyAttempts,
    /// The session holds as many live channels as the server allows
    /// (`VIGIL_CHANNELS_PER_SESSION`).
    TooManyChannels,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// The method is not allowed on this path.
    MethodNotAllowed,
    /// The database is not answering.
    Unavailable,
    /// Something failed on the server; the details are in its log.
    Internal,
    /// The password was right, but this account requires single sign-on.
    SsoRequired,
    /// The identity provider's discovery or keys could not be fetched or
    /// checked; the message says what failed.
    IssuerUnreachable,
    /// A back-channel logout token that is not valid; nothing was ended.
    InvalidLogoutToken,
    /// Deactivating this person would leave the account with no active
    /// person who manages security.
    LastAdmin,
    /// The person holds as many live sessions as their policy allows
    /// (`max_sessions`) and it refuses more (see `live`); nothing started.
    SessionLimit,
    /// A sensitive action needs a recent authentication: the session's
    /// sign-in or last re-authentication is older than `max_age_secs`
    /// (`POST /api/auth/reauthenticate`, then try again).
    ReauthenticationRequired,
    /// An API token without the scope this route needs (see `scope`).
    InsufficientScope,
}

/// Why a request is not authenticated: no session, a cookie naming none, or
/// a session that ended (and why). On the wire it is one string:
/// `missing`, `invalid`, or the [`EndReason`]'s name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnauthenticatedReason {
    /// No session cookie.
    Missing,
    /// A cookie that names no session.
    Invalid,
    /// An `Authorization: Bearer` token that is unknown, expired or revoked.
    InvalidToken,
    /// The session ended.
    Ended(EndReason),
}

impl UnauthenticatedReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UnauthenticatedReason::Missing => "missing",
            UnauthenticatedReason::Invalid => "invalid",
            UnauthenticatedReason::InvalidToken => "invalid_token",
            UnauthenticatedReason::Ended(r) => r.as_str(),
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "missing" => Some(UnauthenticatedReason::Missing),
            "invalid" => Some(UnauthenticatedReason::Invalid),
            "invalid_token" => Some(UnauthenticatedReason::InvalidToken),
            other => EndReason::parse(other).map(UnauthenticatedReason::Ended),
        }
    }
}

impl From<EndReason> for UnauthenticatedReason {
    fn from(r: EndReason) -> Self {
        UnauthenticatedReason::Ended(r)
    }
}

/// One string on the wire, like the serde impls below.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for UnauthenticatedReason {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some([
                "missing",
                "invalid",
                "invalid_token",
                "idle_timeout",
                "absolute_timeout",
                "revoked",
                "logged_out",
            ]))
            .description(Some("Why there is no live session."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for UnauthenticatedReason {}

impl Serialize for UnauthenticatedReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for UnauthenticatedReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        UnauthenticatedReason::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown reason {s:?}")))
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Machine code.
    pub error: ErrorCode,
    /// A sentence for people.
    pub message: String,
    /// With `unauthenticated`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<UnauthenticatedReason>,
    /// With `validation` and `bad_request`: the fields at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
    /// With `version_conflict`: the version now stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// With `too_many_attempts`: seconds until a sign-in may be tried again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// With `reauthentication_required`: how recent an authentication the
    /// action needs, in seconds (`VIGIL_REAUTH_SECS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_secs: Option<u64>,
    /// With `insufficient_scope`: the scope the route needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::tokens::Scope>,
    /// With `session_limit`: the person's live sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<u64>,
    /// With every 5xx: the request's id (`X-Request-Id`), as in the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `POST /api/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Account slug.
    pub account: String,
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
    /// Ask for a persistent session; honoured only where the policy offers it.
    #[serde(default)]
    pub remember_me: bool,
}

/// `POST /api/me/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password now.
    pub current_password: String,
    /// The new one (see `password::validate_new_password`).
    pub new_password: String,
}

/// `POST /api/auth/reauthenticate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReauthenticateRequest {
    /// The caller's password.
    pub password: String,
}

/// An account's public identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountRef {
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// What one login page offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginOption {
    /// Offer the "Remember me" box.
    pub remember_me: bool,
    /// Offer the password form (false when single sign-on is required;
    /// people with `manage_security` may still use it: break-glass).
    #[serde(default = "yes")]
    pub password: bool,
    /// "Sign in with <name>", one per connection of this audience.
    #[serde(default)]
    pub sso: Vec<SsoOption>,
}

fn yes() -> bool {
    true
}

/// `GET /api/accounts/{slug}/login-options`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginOptions {
    /// The account.
    pub account: AccountRef,
    /// The agent login page.
    pub agents: LoginOption,
    /// The requester login page.
    pub requesters: LoginOption,
}

/// The signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    /// User id.
    pub id: i64,
    /// Email address.
    pub email: String,
    /// Name to show.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Granted permissions (admins hold all).
    pub permissions: Vec<String>,
}

impl UserView {
    /// Whether the admins' policy applies to this person: the admin role,
    /// or `manage_security` granted.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
            || self
                .permissions
                .iter()
                .any(|p| p == PERMISSION_MANAGE_SECURITY)
    }
}

/// The policy that governs one session: the audience's policy plus the
/// account's activity rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionPolicy {
    /// Idle timeout.
    pub idle_timeout_secs: u64,
    /// Absolute lifetime.
    pub absolute_timeout_secs: u64,
    /// Warning.
    pub warning: Warning,
    /// Whether "Remember me" is offered.
    pub remember_me: bool,
    /// Activity rules.
    pub activity: ActivityRules,
}

impl SessionPolicy {
    /// The policy that governs a session of `audience`, held by an admin or
    /// not, remembered or not, under `settings`
    /// ([`SecuritySettings::policy_for`]): the limits it shows are the ones
    /// its deadlines come from.
    pub fn from_settings(
        settings: &SecuritySettings,
        audience: Audience,
        is_admin: bool,
        remembered: bool,
    ) -> Self {
        let p = settings.policy_for(audience, is_admin, remembered);
        SessionPolicy {
            idle_timeout_secs: p.idle_timeout_secs,
            absolute_timeout_secs: p.absolute_timeout_secs,
            warning: p.warning,
            remember_me: p.remember_me,
            activity: settings.activity,
        }
    }

    /// The audience part, as the deadline rule takes it.
    pub fn audience_policy(&self) -> crate::AudiencePolicy {
        crate::AudiencePolicy {
            idle_timeout_secs: self.idle_timeout_secs,
            absolute_timeout_secs: self.absolute_timeout_secs,
            warning: self.warning,
            remember_me: self.remember_me,
            ..crate::AudiencePolicy::default()
        }
    }
}

/// The caller's session, as the server sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    /// Public id of the session (not the token).
    pub session_id: String,
    /// Who.
    pub user: UserView,
    /// Which policy applies.
    pub audience: Audience,
    /// Remembered (persistent cookie) or not.
    pub persistent: bool,
    /// How the session began.
    #[serde(default)]
    pub method: SignInMethod,
    /// Sign-in instant.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the person last proved who they are in this session: the
    /// sign-in, or a later `POST /api/auth/reauthenticate` (or single
    /// sign-on round trip with `reauth=1`). Sensitive actions need it
    /// within `VIGIL_REAUTH_SECS`.
    #[serde(with = "time::serde::rfc3339")]
    pub authenticated_at: OffsetDateTime,
    /// Last activity that counted.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    /// Idle deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub idle_expires_at: OffsetDateTime,
    /// Absolute deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub absolute_expires_at: OffsetDateTime,
    /// When the warning appears.
    #[serde(with = "time::serde::rfc3339")]
    pub warn_at: OffsetDateTime,
    /// The server's clock when it answered, to correct the client's.
    #[serde(with = "time::serde::rfc3339")]
    pub server_time: OffsetDateTime,
    /// The policy in force.
    pub policy: SessionPolicy,
}

/// Sources of `POST /api/session/activity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivitySource {
    /// Key, mouse, wheel or touch input: always counts.
    Input,
    /// An agent on a live call: counts under `active_call_extends`.
    Call,
    /// A heartbeat from a hidden tab: counts when `hidden_tab_is_idle` is false.
    Hidden,
}

/// `POST /api/session/activity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActivityRequest {
    /// What happened.
    pub source: ActivitySource,
}

/// `GET /api/admin/security-settings` and the answer to PUT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsEnvelope {
    /// Version, incremented by every stored change.
    pub version: i64,
    /// The settings.
    pub settings: SecuritySettings,
    /// The platform limits the settings were checked against.
    pub limits: Limits,
    /// When last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Email of who last changed them; null for the defaults.
    pub updated_by: Option<String>,
}

/// `PUT /api/admin/security-settings` and its preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// The version the change was made from.
    pub version: i64,
    /// The new settings.
    pub settings: SecuritySettings,
}

/// The effect of proposed settings on one audience's live sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Impact {
    /// Sessions that would end at once.
    pub end_now: u64,
    /// Sessions that would be in their warning at once.
    pub warn_now: u64,
    /// Live sessions of the audience now.
    pub live: u64,
    /// People who, under the proposed `max_sessions` (the admins' for
    /// admins), already hold as many live sessions as it allows or more
    /// (counting those that would not end at once): saving ends none of
    /// them, but each one's next sign-in ends their oldest sessions
    /// (`end_oldest`) or is refused (`refuse`). 0 without a limit.
    pub people_at_limit: u64,
    /// Those people's live sessions beyond the proposed limit, added up:
    /// with `end_oldest`, each person's next sign-in ends these and one
    /// more.
    pub sessions_over_limit: u64,
}

/// `POST /api/admin/security-settings/preview`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewResponse {
    /// Team members.
    pub agents: Impact,
    /// Requesters.
    pub requesters: Impact,
}

/// A user as listed with a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRef {
    /// User id.
    pub id: i64,
    /// Email address.
    pub email: String,
    /// Name to show.
    pub display_name: String,
    /// Role.
    pub role: Role,
}

/// One live session in `GET /api/admin/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    /// Public id.
    pub session_id: String,
    /// Whose.
    pub user: UserRef,
    /// Policy audience.
    pub audience: Audience,
    /// Remembered or not.
    pub persistent: bool,
    /// How the session began.
    #[serde(default)]
    pub method: SignInMethod,
    /// The single sign-on connection's name, for SSO sessions whose
    /// connection still exists ("Signed in with Acme SSO").
    #[serde(default)]
    pub sso_connection: Option<String>,
    /// Sign-in instant.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last activity that counted.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    /// Idle deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub idle_expires_at: OffsetDateTime,
    /// Absolute deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub absolute_expires_at: OffsetDateTime,
    /// Client address at sign-in.
    pub ip: Option<String>,
    /// Browser at sign-in.
    pub user_agent: Option<String>,
}

/// One of the caller's own live sessions (`GET /api/me/sessions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MySession {
    /// Public id.
    pub session_id: String,
    /// Whether it is the session making the request.
    pub current: bool,
    /// Sign-in instant.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last activity that counted.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    /// Idle deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub idle_expires_at: OffsetDateTime,
    /// Absolute deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub absolute_expires_at: OffsetDateTime,
    /// Remembered or not.
    pub persistent: bool,
    /// How the session began.
    #[serde(default)]
    pub method: SignInMethod,
    /// The single sign-on connection's name (see [`SessionSummary`]).
    #[serde(default)]
    pub sso_connection: Option<String>,
    /// Client address at sign-in.
    pub ip: Option<String>,
    /// The browser in words, e.g. "Chrome on Linux".
    pub browser: String,
}

/// A browser's `User-Agent` in words ("Firefox on Windows"), for people
/// looking at their sessions: the browser family and the system, nothing
/// finer. Order matters: Edge and Opera also say Chrome, Chrome also says
/// Safari.
pub fn browser_in_words(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("");
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) => "An unknown browser".to_owned(),
    }
}

/// `POST /api/admin/users/{user_id}/revoke-sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeResult {
    /// How many live sessions were ended.
    pub revoked: u64,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Increasing id; pass it as `before` to page back.
    pub id: i64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who: an email, or `system` for the sweeper.
    pub actor: String,
    /// What, e.g. `settings.updated`.
    pub action: String,
    /// What it was done to, e.g. `user:3`, `session:…`.
    pub target: Option<String>,
    /// Action-specific details (for settings: `before`, `after`, `changes`).
    pub details: serde_json::Value,
}

/// One team member in `GET /api/admin/agents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentRow {
    /// User id.
    pub user_id: i64,
    /// Email address.
    pub email: String,
    /// Name to show.
    pub display_name: String,
    /// Admin or agent.
    pub role: Role,
    /// Takes new conversations now.
    pub available: bool,
    /// Takes part in auto-assignment at all.
    pub auto_assign: bool,
    /// False once deactivated (still listed until reactivated).
    #[serde(default = "active_default")]
    pub active: bool,
    /// Live sessions.
    pub live_sessions: u64,
    /// Open conversations assigned.
    pub open_conversations: u64,
    /// The newest activity stored for any of their live sessions (written
    /// at most a write interval after it happened); none without one.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_activity_at: Option<OffsetDateTime>,
}

fn active_default() -> bool {
    true
}

/// A help-desk conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    /// Id.
    pub id: i64,
    /// What it is about.
    pub subject: String,
    /// `open` or `closed`.
    pub status: String,
    /// Who asked.
    pub requester_id: i64,
    /// Who answers; null while queued.
    pub assignee_id: Option<i64>,
    /// Opened at.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `PUT /api/desk/availability`, and its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// Takes new conversations.
    pub available: bool,
}

/// `POST /api/portal/conversations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewConversation {
    /// What it is about (1 to 200 characters).
    pub subject: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_leaves_out_absent_parts() {
        let body = ErrorBody {
            error: ErrorCode::Csrf,
            message: "m".into(),
            reason: None,
            fields: None,
            current_version: None,
            retry_after_secs: None,
            max_age_secs: None,
            scope: None,
            live: None,
            request_id: None,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"error": "csrf", "message": "m"})
        );
    }

    #[test]
    fn roles_map_to_audiences() {
        assert_eq!(Role::Admin.audience(), Audience::Agents);
        assert_eq!(Role::Agent.audience(), Audience::Agents);
        assert_eq!(Role::Requester.audience(), Audience::Requesters);
        for r in [Role::Admin, Role::Agent, Role::Requester] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn unauthenticated_reasons_are_one_string_on_the_wire() {
        let all = [
            UnauthenticatedReason::Missing,
            UnauthenticatedReason::Invalid,
            UnauthenticatedReason::InvalidToken,
        ]
        .into_iter()
        .chain(EndReason::ALL.map(UnauthenticatedReason::Ended));
        for r in all {
            let wire = serde_json::to_value(r).unwrap();
            assert_eq!(wire, serde_json::json!(r.as_str()), "{r:?}");
            assert_eq!(
                serde_json::from_value::<UnauthenticatedReason>(wire).unwrap(),
                r
            );
        }
        assert_eq!(
            serde_json::to_value(UnauthenticatedReason::from(EndReason::IdleTimeout)).unwrap(),
            "idle_timeout"
        );
        assert!(serde_json::from_str::<UnauthenticatedReason>("\"nope\"").is_err());
    }

    #[test]
    fn browsers_are_named_in_words() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0", "Edge on Windows"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15", "Safari on macOS"),
            ("Mozilla/5.0 (Windows NT 10.0; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0 Mobile/15E148 Safari/604.1", "Chrome on iOS"),
            ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36", "Chrome on Android"),
            ("curl/8.5.0", "An unknown browser"),
        ];
        for (ua, words) in cases {
            assert_eq!(browser_in_words(Some(ua)), words, "{ua}");
        }
        assert_eq!(browser_in_words(None), "An unknown browser");
    }
}
