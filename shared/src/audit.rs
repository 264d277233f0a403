//! The audit log's action names (contract), and which of them the log can
//! be filtered by: the server checks a filter against the list, the
//! console offers it.

/// Audit action names (contract): what `AuditEntry::action` holds.
pub mod action {
    /// Settings stored.
    pub const SETTINGS_UPDATED: &str = "settings.updated";
    /// Signed in.
    pub const SESSION_LOGIN: &str = "session.login";
    /// Signed out.
    pub const SESSION_LOGOUT: &str = "session.logout";
    /// Ended by a timeout.
    pub const SESSION_EXPIRED: &str = "session.expired";
    /// Ended by an admin.
    pub const SESSION_REVOKED: &str = "session.revoked";
    /// A failed sign-in.
    pub const LOGIN_FAILED: &str = "login.failed";
    /// An agent's availability changed.
    pub const AGENT_AVAILABILITY: &str = "agent.availability";
    /// A conversation moved to another agent or to the queue.
    pub const CONVERSATION_REROUTED: &str = "conversation.rerouted";
    /// A single sign-on connection added.
    pub const SSO_CREATED: &str = "sso.created";
    /// A single sign-on connection changed.
    pub const SSO_UPDATED: &str = "sso.updated";
    /// A single sign-on connection removed.
    pub const SSO_DELETED: &str = "sso.deleted";
    /// A requester created on first single sign-on.
    pub const USER_CREATED: &str = "user.created";
    /// A person deactivated: sessions ended, sign-in refused.
    pub const USER_DEACTIVATED: &str = "user.deactivated";
    /// A deactivated person allowed to sign in again.
    pub const USER_REACTIVATED: &str = "user.reactivated";
    /// A person's password changed (by them, or set from the command line).
    pub const PASSWORD_CHANGED: &str = "password.changed";
    /// An API token created (the audit names it, never its secret).
    pub const TOKEN_CREATED: &str = "token.created";
    /// An API token revoked.
    pub const TOKEN_REVOKED: &str = "token.revoked";
    /// A webhook endpoint added.
    pub const WEBHOOK_CREATED: &str = "webhook.created";
    /// A webhook endpoint removed.
    pub const WEBHOOK_DELETED: &str = "webhook.deleted";
    /// A webhook endpoint disabled after failing for 24 h.
    pub const WEBHOOK_DISABLED: &str = "webhook.disabled";
    /// A disabled webhook endpoint enabled again by an admin.
    pub const WEBHOOK_ENABLED: &str = "webhook.enabled";
    /// A session confirmed who is at the keyboard again (password, or a
    /// single sign-on round trip), for sensitive actions.
    pub const SESSION_REAUTHENTICATED: &str = "session.reauthenticated";
}

/// The actions the audit log can be filtered by (`action=` on
/// `/api/admin/audit` and its CSV), in the order the console offers them.
pub const FILTERABLE_ACTIONS: &[&str] = &[
    action::SESSION_LOGIN,
    action::SESSION_LOGOUT,
    action::SESSION_EXPIRED,
    action::SESSION_REVOKED,
    action::LOGIN_FAILED,
    action::SESSION_REAUTHENTICATED,
    action::PASSWORD_CHANGED,
    action::SETTINGS_UPDATED,
    action::USER_DEACTIVATED,
    action::USER_REACTIVATED,
    action::AGENT_AVAILABILITY,
    action::CONVERSATION_REROUTED,
    action::TOKEN_CREATED,
    action::TOKEN_REVOKED,
];
