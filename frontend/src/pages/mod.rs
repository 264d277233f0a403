//! One module per page, and words more than one page says.

pub mod audit;
pub mod desk;
pub mod integrations;
pub mod login;
pub mod me_sessions;
pub mod password;
pub mod portal;
pub mod security;
pub mod sessions;
pub mod sign_in;
pub mod team;
pub mod webhooks;

use vigil_policy::sso::SignInMethod;
use vigil_policy::FieldError;

/// The errors of the field at `path`, in one sentence, if any.
pub fn error_for(errors: &[FieldError], path: &str) -> Option<String> {
    let found: Vec<&str> = errors
        .iter()
        .filter(|e| e.path == path)
        .map(|e| e.message.as_str())
        .collect();
    (!found.is_empty()).then(|| found.join(" "))
}

/// How a session began, in words: "Signed in with Acme SSO".
pub fn signed_in_with(method: SignInMethod, connection: Option<&str>) -> String {
    match (method, connection) {
        (SignInMethod::Sso, Some(name)) => format!("Signed in with {name}"),
        (SignInMethod::Sso, None) => "Signed in with single sign-on".to_owned(),
        (SignInMethod::Password, _) => "Signed in with a password".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_says_how_it_began() {
        assert_eq!(
            signed_in_with(SignInMethod::Sso, Some("Acme SSO")),
            "Signed in with Acme SSO"
        );
        assert_eq!(
            signed_in_with(SignInMethod::Sso, None),
            "Signed in with single sign-on"
        );
        assert_eq!(
            signed_in_with(SignInMethod::Password, None),
            "Signed in with a password"
        );
    }
}
