//! API tokens: what a script holds to call the admin API without a browser
//! session. The scopes, the request and response shapes, and the rules a
//! new token must meet (checked as the admin types and on the server).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::validate::{FieldError, FieldErrorCode};

/// What a token may do; each admin route needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    /// List live sessions and the team.
    #[serde(rename = "sessions:read")]
    SessionsRead,
    /// End sessions (one, a person's, universal logout).
    #[serde(rename = "sessions:write")]
    SessionsWrite,
    /// Deactivate and reactivate people.
    #[serde(rename = "users:write")]
    UsersWrite,
    /// Read and export the audit log.
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Read the security settings (and preview a change).
    #[serde(rename = "settings:read")]
    SettingsRead,
    /// Change the security settings.
    #[serde(rename = "settings:write")]
    SettingsWrite,
}

impl Scope {
    /// Every scope, in the order the console lists them.
    pub const ALL: [Scope; 6] = [
        Scope::SessionsRead,
        Scope::SessionsWrite,
        Scope::UsersWrite,
        Scope::AuditRead,
        Scope::SettingsRead,
        Scope::SettingsWrite,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::SessionsRead => "sessions:read",
            Scope::SessionsWrite => "sessions:write",
            Scope::UsersWrite => "users:write",
            Scope::AuditRead => "audit:read",
            Scope::SettingsRead => "settings:read",
            Scope::SettingsWrite => "settings:write",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The prefix of every token (so secret scanners can find leaked ones).
pub const TOKEN_PREFIX: &str = "vigil_";

/// Longest token name, in characters.
pub const NAME_MAX: usize = 100;

/// Furthest a token's expiry may be, in days (no expiry at all is allowed).
pub const EXPIRY_MAX_DAYS: i64 = 366;

/// `POST /api/admin/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// What the token is for, unique in the account: the audit names it
    /// ("token <name>").
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// What it may do: at least one.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub scopes: Vec<Scope>,
    /// When it stops working (within 366 days); absent or null: never.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<OffsetDateTime>,
}

/// A token as `GET /api/admin/tokens` lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenView {
    /// Public id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When it stops working; null: never.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<OffsetDateTime>,
    /// Last accepted request, to the minute; null: never used.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<OffsetDateTime>,
}

/// `POST /api/admin/tokens`'s answer: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenCreated {
    /// Public id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When it stops working; null: never.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<OffsetDateTime>,
    /// The secret, `vigil_…`: shown once, stored only as a hash.
    pub token: String,
}

/// `POST /api/global-token-revocation` (Okta Universal Logout's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GlobalRevocation {
    /// Who: a subject identifier (RFC 9493); only the `email` format is
    /// supported.
    pub sub_id: SubjectId,
}

/// A subject identifier (RFC 9493).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubjectId {
    /// `email` (others, e.g. `iss_sub`, answer 400).
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub format: String,
    /// With `email`: the person's email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 320))]
    pub email: Option<String>,
}

/// Checks a new token at `now`; every problem names its field.
pub fn validate_token(input: &TokenInput, now: OffsetDateTime) -> Vec<FieldError> {
    let mut out = Vec::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        out.push(FieldError::new(
            "name",
            FieldErrorCode::Invalid,
            format!("Give the token a name of 1 to {NAME_MAX} characters."),
        ));
    }
    if input.scopes.is_empty() {
        out.push(FieldError::new(
            "scopes",
            FieldErrorCode::Invalid,
            "Choose at least one scope.",
        ));
    }
    if let Some(at) = input.expires_at {
        if at <= now {
            out.push(FieldError::new(
                "expires_at",
                FieldErrorCode::TooSmall,
                "The expiry must be in the future.",
            ));
        } else if at > now + time::Duration::days(EXPIRY_MAX_DAYS) {
            out.push(FieldError::new(
                "expires_at",
                FieldErrorCode::TooLarge,
                format!("The expiry must be within {EXPIRY_MAX_DAYS} days, or none."),
            ));
        }
    }
    out
}

/// Scopes in their canonical order, each once.
pub fn canonical(scopes: &[Scope]) -> Vec<Scope> {
    let mut s = scopes.to_vec();
    s.sort_unstable();
    s.dedup();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TokenInput {
        TokenInput {
            name: "offboarding script".into(),
            scopes: vec![Scope::SessionsWrite],
            expires_at: None,
        }
    }

    #[test]
    fn scopes_travel_by_their_wire_names() {
        for s in Scope::ALL {
            let wire = serde_json::to_value(s).unwrap();
            assert_eq!(wire, serde_json::json!(s.as_str()), "{s:?}");
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert!(serde_json::from_str::<Scope>("\"sessions:delete\"").is_err());
    }

    #[test]
    fn a_good_token_passes_and_each_problem_names_its_field() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        assert!(validate_token(&input(), now).is_empty());
        let cases: Vec<(&str, TokenInput, &str)> = vec![
            (
                "blank name",
                TokenInput {
                    name: "  ".into(),
                    ..input()
                },
                "name",
            ),
            (
                "long name",
                TokenInput {
                    name: "x".repeat(NAME_MAX + 1),
                    ..input()
                },
                "name",
            ),
            (
                "no scopes",
                TokenInput {
                    scopes: vec![],
                    ..input()
                },
                "scopes",
            ),
            (
                "expired",
                TokenInput {
                    expires_at: Some(now),
                    ..input()
                },
                "expires_at",
            ),
            (
                "too far",
                TokenInput {
                    expires_at: Some(now + time::Duration::days(EXPIRY_MAX_DAYS + 1)),
                    ..input()
                },
                "expires_at",
            ),
        ];
        for (case, bad, field) in cases {
            let errors = validate_token(&bad, now);
            assert_eq!(errors.len(), 1, "{case}");
            assert_eq!(errors[0].path, field, "{case}");
        }
    }

    #[test]
    fn canonical_scopes_are_sorted_and_unique() {
        assert_eq!(
            canonical(&[Scope::AuditRead, Scope::SessionsRead, Scope::AuditRead]),
            vec![Scope::SessionsRead, Scope::AuditRead]
        );
    }
}
