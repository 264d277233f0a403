//! The console's pages a signed-in person may be sent to, and who uses
//! them: where sign-in lands, and which `?next=` paths it honours (the
//! console's own router and the server's single sign-on round trip ask
//! the same question here).

use crate::api::{Role, UserView, PERMISSION_MANAGE_SECURITY};

/// Who uses a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Team members (admins and agents).
    Team,
    /// Requesters.
    Requesters,
    /// Everyone signed in.
    Everyone,
}

/// Signed-in pages by path.
const PAGES: &[(&str, Who)] = &[
    ("/admin/security", Who::Team),
    ("/admin/sessions", Who::Team),
    ("/admin/audit", Who::Team),
    ("/admin/team", Who::Team),
    ("/admin/sign-in", Who::Team),
    ("/admin/integrations", Who::Team),
    ("/desk", Who::Team),
    ("/portal", Who::Requesters),
    ("/me/sessions", Who::Everyone),
];

/// Where a person lands after signing in: admins and people with
/// `manage_security` on the security page, agents on the desk,
/// requesters in the portal.
pub fn home(user: &UserView) -> &'static str {
    match user.role {
        Role::Requester => "/portal",
        Role::Admin => "/admin/security",
        Role::Agent
            if user
                .permissions
                .iter()
                .any(|p| p == PERMISSION_MANAGE_SECURITY) =>
        {
            "/admin/security"
        }
        Role::Agent => "/desk",
    }
}

/// `next` when it names a signed-in page this role uses (a path of this
/// console, never another origin); its query string is kept.
pub fn next_for(role: Role, next: &str) -> Option<&str> {
    if !next.starts_with('/') || next.starts_with("//") || next.contains(['\\', '#']) {
        return None;
    }
    let path = next.split('?').next().unwrap_or_default();
    let who = PAGES.iter().find(|(p, _)| *p == path)?.1;
    let fits = match who {
        Who::Everyone => true,
        Who::Team => role != Role::Requester,
        Who::Requesters => role == Role::Requester,
    };
    fits.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(role: Role, permissions: &[&str]) -> UserView {
        UserView {
            id: 1,
            email: "a@b.test".into(),
            display_name: "A".into(),
            role,
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn each_role_lands_at_home() {
        assert_eq!(home(&person(Role::Admin, &[])), "/admin/security");
        assert_eq!(home(&person(Role::Agent, &[])), "/desk");
        assert_eq!(
            home(&person(Role::Agent, &[PERMISSION_MANAGE_SECURITY])),
            "/admin/security"
        );
        assert_eq!(home(&person(Role::Requester, &[])), "/portal");
    }

    #[test]
    fn next_names_only_pages_of_this_console_the_role_uses() {
        assert_eq!(next_for(Role::Agent, "/desk"), Some("/desk"));
        assert_eq!(
            next_for(Role::Admin, "/admin/audit?action=session.login"),
            Some("/admin/audit?action=session.login")
        );
        assert_eq!(
            next_for(Role::Requester, "/me/sessions"),
            Some("/me/sessions")
        );
        for (role, bad) in [
            (Role::Requester, "/desk"),
            (Role::Agent, "/portal"),
            (Role::Agent, "//evil.test/desk"),
            (Role::Agent, "https://evil.test/desk"),
            (Role::Agent, "/\\evil.test"),
            (Role::Agent, "/login"),
            (Role::Agent, "/api/session"),
            (Role::Agent, "desk"),
        ] {
            assert_eq!(next_for(role, bad), None, "{bad}");
        }
    }
}
