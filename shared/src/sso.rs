//! Single sign-on through an OpenID Connect provider: the connection an
//! admin configures, how a session began, and the rules a connection must
//! meet before it is stored (checked as the admin types and on the server).

use serde::{Deserialize, Serialize};

use crate::settings::Audience;
use crate::validate::{FieldError, FieldErrorCode};

/// How a session began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// A Vigil password.
    #[default]
    Password,
    /// Single sign-on through the account's identity provider.
    Sso,
}

impl SignInMethod {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Sso => "sso",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password" => Some(SignInMethod::Password),
            "sso" => Some(SignInMethod::Sso),
            _ => None,
        }
    }
}

/// Whether password sign-in stays allowed, per audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordSignIn {
    /// Team members may still sign in with a password (people with
    /// `manage_security` always may: break-glass).
    pub agents: bool,
    /// Requesters may still sign in with a password.
    pub requesters: bool,
}

impl Default for PasswordSignIn {
    fn default() -> Self {
        PasswordSignIn {
            agents: true,
            requesters: true,
        }
    }
}

impl PasswordSignIn {
    /// The flag for `audience`.
    pub fn allows(&self, audience: Audience) -> bool {
        match audience {
            Audience::Agents => self.agents,
            Audience::Requesters => self.requesters,
        }
    }
}

/// `POST /api/admin/sso` and `PUT /api/admin/sso/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SsoConnectionInput {
    /// Shown on the login page: "Sign in with <name>".
    pub name: String,
    /// The provider's issuer URL (discovery is fetched from it).
    pub issuer: String,
    /// The client id Vigil was registered with at the provider.
    pub client_id: String,
    /// The client secret; on PUT, absent keeps the stored one. Never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Which login pages offer this connection.
    pub audiences: Vec<Audience>,
    /// Whether password sign-in stays allowed, per audience.
    #[serde(default)]
    pub password_sign_in: PasswordSignIn,
    /// Whether a requester unknown to Vigil is created on first sign-in.
    #[serde(default)]
    pub jit_requesters: bool,
}

/// A stored connection, as the admin API shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoConnection {
    /// Public id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Issuer URL.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Always true: a connection cannot be stored without a secret.
    pub client_secret_set: bool,
    /// Which login pages offer it.
    pub audiences: Vec<Audience>,
    /// Password sign-in per audience.
    pub password_sign_in: PasswordSignIn,
    /// Requesters created on first sign-in.
    pub jit_requesters: bool,
    /// Where the provider sends the browser back (register it there).
    pub redirect_uri: String,
    /// Where the provider posts logout tokens (register it there).
    pub backchannel_logout_uri: String,
}

/// A connection offered on a login page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoOption {
    /// Connection id (for `/api/auth/sso/{id}/start`).
    pub id: String,
    /// "Sign in with <name>".
    pub name: String,
}

/// Whether a password sign-in on `audience`'s login page is allowed, given
/// the account's connections (each: the audiences it is offered to, and
/// whether it keeps passwords): yes unless a connection offered there
/// turned passwords off; people who manage security may still (break-glass).
/// `Some(break_glass)` when allowed.
pub fn password_allowed<'a>(
    connections: impl IntoIterator<Item = (&'a [Audience], PasswordSignIn)>,
    audience: Audience,
    manages_security: bool,
) -> Option<bool> {
    let required = connections
        .into_iter()
        .any(|(offered, password)| offered.contains(&audience) && !password.allows(audience));
    match (required, manages_security) {
        (false, _) => Some(false),
        (true, true) => Some(true),
        (true, false) => None,
    }
}

/// Longest connection name.
pub const NAME_MAX: usize = 60;
/// Longest issuer URL, client id or client secret.
pub const TEXT_MAX: usize = 2048;

/// Checks a connection before it is stored; every problem, in field
/// order. `secret_required` on create (on update an absent secret keeps
/// the stored one). `allow_http` when ops allow plain http to the issuer's
/// network (`VIGIL_OUTBOUND_ALLOW`); the server checks the address itself.
pub fn validate_connection(
    input: &SsoConnectionInput,
    secret_required: bool,
    allow_http: bool,
) -> Vec<FieldError> {
    let mut out = Vec::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        out.push(FieldError::new(
            "name",
            FieldErrorCode::Invalid,
            format!("Give the connection a name of 1 to {NAME_MAX} characters."),
        ));
    }
    if let Err(why) = issuer_url(&input.issuer, allow_http) {
        out.push(FieldError::new("issuer", FieldErrorCode::Invalid, why));
    }
    if input.client_id.trim().is_empty()
        || input.client_id.len() > TEXT_MAX
        || input.client_id.chars().any(char::is_control)
    {
        out.push(FieldError::new(
            "client_id",
            FieldErrorCode::Invalid,
            "Enter the client id the provider gave Vigil.",
        ));
    }
    match &input.client_secret {
        None if secret_required => out.push(FieldError::new(
            "client_secret",
            FieldErrorCode::MissingField,
            "Enter the client secret the provider gave Vigil.",
        )),
        Some(s) if s.is_empty() || s.len() > TEXT_MAX || s.chars().any(char::is_control) => out
            .push(FieldError::new(
                "client_secret",
                FieldErrorCode::Invalid,
                format!("The client secret must be 1 to {TEXT_MAX} visible characters."),
            )),
        _ => {}
    }
    if input.audiences.is_empty() {
        out.push(FieldError::new(
            "audiences",
            FieldErrorCode::Invalid,
            "Choose at least one login page: agents, requesters or both.",
        ));
    }
    if input.jit_requesters && !input.audiences.contains(&Audience::Requesters) {
        out.push(FieldError::new(
            "jit_requesters",
            FieldErrorCode::Invalid,
            "Requesters can be created on first sign-in only when the connection is offered to requesters.",
        ));
    }
    out
}

/// The issuer as a URL Vigil may fetch discovery from: https (or http
/// when allowed), a host, no query, fragment or credentials.
pub fn issuer_url(issuer: &str, allow_http: bool) -> Result<(), String> {
    let issuer = issuer.trim();
    let rest = if let Some(rest) = issuer.strip_prefix("https://") {
        rest
    } else if let Some(rest) = issuer.strip_prefix("http://") {
        if !allow_http {
            return Err("The issuer must be an https:// URL.".into());
        }
        rest
    } else {
        return Err("The issuer must be a URL like https://login.example.com.".into());
    };
    let host = rest.split('/').next().unwrap_or_default();
    if issuer.len() > TEXT_MAX
        || issuer.chars().any(char::is_control)
        || host.is_empty()
        || host.contains('@')
        || rest.contains(['?', '#', ' '])
    {
        return Err(
            "The issuer must be a URL like https://login.example.com, with no query or fragment."
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SsoConnectionInput {
        SsoConnectionInput {
            name: "Acme SSO".into(),
            issuer: "https://login.acme.test/realms/acme".into(),
            client_id: "vigil".into(),
            client_secret: Some("s3cret".into()),
            audiences: vec![Audience::Agents],
            password_sign_in: PasswordSignIn::default(),
            jit_requesters: false,
        }
    }

    fn paths(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn a_complete_connection_passes() {
        assert!(validate_connection(&input(), true, false).is_empty());
        let mut keep = input();
        keep.client_secret = None;
        assert!(validate_connection(&keep, false, false).is_empty());
    }

    #[test]
    fn control_characters_are_refused_in_every_text_field() {
        for field in ["name", "issuer", "client_id", "client_secret"] {
            for bad in ['\0', '\u{7}', '\n'] {
                let mut i = input();
                match field {
                    "name" => i.name = format!("Acme{bad}SSO"),
                    "issuer" => i.issuer = format!("https://login.acme.test/re{bad}alms"),
                    "client_id" => i.client_id = format!("vi{bad}gil"),
                    _ => i.client_secret = Some(format!("s3{bad}cret")),
                }
                assert_eq!(
                    paths(&validate_connection(&i, true, false)),
                    [field],
                    "{field} {bad:?}"
                );
            }
        }
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let bad = SsoConnectionInput {
            name: " ".into(),
            issuer: "ftp://x".into(),
            client_id: String::new(),
            client_secret: None,
            audiences: vec![],
            password_sign_in: PasswordSignIn::default(),
            jit_requesters: true,
        };
        assert_eq!(
            paths(&validate_connection(&bad, true, false)),
            [
                "name",
                "issuer",
                "client_id",
                "client_secret",
                "audiences",
                "jit_requesters"
            ]
        );
    }

    #[test]
    fn passwords_stay_unless_a_connection_of_the_page_turns_them_off() {
        let agents_only = [Audience::Agents];
        let both = [Audience::Agents, Audience::Requesters];
        let keeps = PasswordSignIn::default();
        let no_agents = PasswordSignIn {
            agents: false,
            requesters: true,
        };
        assert_eq!(password_allowed([], Audience::Agents, false), Some(false));
        let conns = [(&agents_only[..], keeps), (&both[..], no_agents)];
        assert_eq!(password_allowed(conns, Audience::Agents, false), None);
        assert_eq!(password_allowed(conns, Audience::Agents, true), Some(true));
        assert_eq!(
            password_allowed(conns, Audience::Requesters, false),
            Some(false)
        );
        // A connection not offered on the page does not decide for it.
        let requesters_only = [Audience::Requesters];
        let off = PasswordSignIn {
            agents: false,
            requesters: false,
        };
        assert_eq!(
            password_allowed([(&requesters_only[..], off)], Audience::Agents, false),
            Some(false)
        );
    }

    #[test]
    fn issuers_are_https_unless_allowed() {
        assert!(issuer_url("https://login.acme.test", false).is_ok());
        assert!(issuer_url("http://127.0.0.1:4000", false).is_err());
        assert!(issuer_url("http://127.0.0.1:4000", true).is_ok());
        for bad in [
            "https://",
            "https://u:p@host",
            "https://host/?a=1",
            "https://host/#x",
            "login.acme.test",
        ] {
            assert!(issuer_url(bad, true).is_err(), "{bad}");
        }
    }
}
