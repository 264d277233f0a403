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
use yew::{html, Html};

/// The errors of the field at `path`, in one sentence, if any.
pub fn error_for(errors: &[FieldError], path: &str) -> Option<String> {
    let found: Vec<&str> = errors
        .iter()
        .filter(|e| e.path == path)
        .map(|e| e.message.as_str())
        .collect();
    (!found.is_empty()).then(|| found.join(" "))
}

/// A field's `aria-describedby`: its hint (`{id}-hint`) and its error
/// (`{id}-error`), those it has.
pub fn described(id: &str, has_hint: bool, has_error: bool) -> Option<String> {
    match (has_hint, has_error) {
        (true, true) => Some(format!("{id}-hint {id}-error")),
        (true, false) => Some(format!("{id}-hint")),
        (false, true) => Some(format!("{id}-error")),
        (false, false) => None,
    }
}

/// A field's error under it (`{id}-error`, see [`described`]).
pub fn error_line(id: &str, error: Option<String>) -> Html {
    html! {
        if let Some(message) = error { <p id={format!("{id}-error")} class="error">{ message }</p> }
    }
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
    fn a_field_is_described_by_its_hint_and_its_error() {
        assert_eq!(
            described("f", true, true).as_deref(),
            Some("f-hint f-error")
        );
        assert_eq!(described("f", true, false).as_deref(), Some("f-hint"));
        assert_eq!(described("f", false, true).as_deref(), Some("f-error"));
        assert_eq!(described("f", false, false), None);
    }

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
