//! The audit log's action names (contract), and the list of them the log
//! can be filtered by: the server checks a filter against it, the console
//! offers it. Both come from one declaration, so an action the server
//! writes cannot be missing from the filter.

/// Declares each action's constant in [`action`] and lists them all in
/// [`ACTIONS`], in the order given (the order the console offers them).
macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)*) => {
        /// Audit action names (contract): what `AuditEntry::action` holds.
        pub mod action {
            $($(#[$doc])* pub const $name: &str = $value;)*
        }

        /// Every action the server writes, which is every action `action=`
        /// on `/api/admin/audit` and its CSV may name, in the order the
        /// console offers them.
        pub const ACTIONS: &[&str] = &[$(action::$name,)*];
    };
}

actions! {
    /// Signed in.
    SESSION_LOGIN = "session.login",
    /// Signed out.
    SESSION_LOGOUT = "session.logout",
    /// Ended by a timeout.
    SESSION_EXPIRED = "session.expired",
    /// Ended by an admin.
    SESSION_REVOKED = "session.revoked",
    /// A failed sign-in.
    LOGIN_FAILED = "login.failed",
    /// A session confirmed who is at the keyboard again (password, or a
    /// single sign-on round trip), for sensitive actions.
    SESSION_REAUTHENTICATED = "session.reauthenticated",
    /// A person's password changed (by them, or set from the command line).
    PASSWORD_CHANGED = "password.changed",
    /// Settings stored.
    SETTINGS_UPDATED = "settings.updated",
    /// A person deactivated: sessions ended, sign-in refused.
    USER_DEACTIVATED = "user.deactivated",
    /// A deactivated person allowed to sign in again.
    USER_REACTIVATED = "user.reactivated",
    /// An agent's availability changed.
    AGENT_AVAILABILITY = "agent.availability",
    /// A conversation moved to another agent or to the queue.
    CONVERSATION_REROUTED = "conversation.rerouted",
    /// An API token created (the audit names it, never its secret).
    TOKEN_CREATED = "token.created",
    /// An API token revoked.
    TOKEN_REVOKED = "token.revoked",
    /// A requester created on first single sign-on.
    USER_CREATED = "user.created",
    /// A single sign-on connection added.
    SSO_CREATED = "sso.created",
    /// A single sign-on connection changed.
    SSO_UPDATED = "sso.updated",
    /// A single sign-on connection removed.
    SSO_DELETED = "sso.deleted",
    /// A webhook endpoint added.
    WEBHOOK_CREATED = "webhook.created",
    /// A webhook endpoint removed.
    WEBHOOK_DELETED = "webhook.deleted",
    /// A webhook endpoint disabled after failing for 24 h.
    WEBHOOK_DISABLED = "webhook.disabled",
    /// A disabled webhook endpoint enabled again by an admin.
    WEBHOOK_ENABLED = "webhook.enabled",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for a in ACTIONS {
            assert!(seen.insert(a), "{a} twice");
            assert!(a.contains('.') && !a.contains(','), "{a}");
        }
    }
}
