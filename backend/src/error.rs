//! API errors: one enum, one mapping to status codes and JSON bodies
//! ([`vigil_policy::api::ErrorBody`], so the console can match on them).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use vigil_policy::api::{ErrorBody, ErrorCode, UnauthenticatedReason};
use vigil_policy::FieldError;

use crate::sessions::cookie;
use crate::store::StoreError;

/// Everything a handler can answer with instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid session.
    #[error("not signed in ({})", .0.as_str())]
    Unauthenticated(UnauthenticatedReason),
    /// Signed in but not permitted.
    #[error("{0}")]
    Forbidden(&'static str),
    /// An API token without the scope the route needs.
    #[error("this API token does not have the {} scope", .0.as_str())]
    InsufficientScope(vigil_policy::tokens::Scope),
    /// Nothing with that id in the caller's account.
    #[error("{0}")]
    NotFound(&'static str),
    /// Failed the CSRF or Origin check.
    #[error("{0}")]
    Csrf(&'static str),
    /// An unreadable body or query.
    #[error("{message}")]
    BadRequest {
        /// Summary.
        message: String,
        /// Fields at fault.
        fields: Vec<FieldError>,
    },
    /// Settings that break the policy rules.
    #[error("the settings are not valid")]
    Validation(Vec<FieldError>),
    /// The settings changed since the client read them.
    #[error("the settings were changed by someone else")]
    VersionConflict {
        /// The version now stored.
        current: i64,
    },
    /// Wrong account, email or password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Throttled sign-in.
    #[error("too many failed sign-ins")]
    TooManyAttempts {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The session holds as many live channels as it may.
    #[error("this session has too many live channels open; close a tab")]
    TooManyChannels,
    /// Body over the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// Body not JSON.
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    /// Method not allowed on this path.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The database did not answer.
    #[error("the database is not answering")]
    Unavailable,
    /// Too many sign-ins are waiting for a password check.
    #[error("too many sign-ins at once")]
    Busy {
        /// When to try again.
        retry_after_secs: u64,
    },
    /// The password was right, but the account requires single sign-on.
    #[error("this account signs in through its identity provider: use the single sign-on button")]
    SsoRequired,
    /// A provider's discovery or keys could not be fetched or checked.
    #[error("{0}")]
    IssuerUnreachable(String),
    /// A logout token that is not valid.
    #[error("the logout token is not valid")]
    InvalidLogoutToken,
    /// The account's last active person with `manage_security`.
    #[error("this is the account's last active person who manages security: grant someone else manage_security first")]
    LastAdmin,
    /// A sensitive action, and the session's last authentication is older
    /// than the limit (see `Current::require_recent_authentication`).
    #[error("this action needs you to confirm who you are: enter your password again")]
    ReauthenticationRequired {
        /// The limit, in seconds (`VIGIL_REAUTH_SECS`).
        max_age_secs: u64,
    },
    /// The person holds `max_sessions` live sessions and their policy
    /// refuses more.
    #[error("you are signed in on as many devices as your account allows: sign out on one of them first")]
    SessionLimit {
        /// Their live sessions.
        live: u64,
    },
    /// A bug or an outage; logged with its cause chain, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::auth::password::HashError> for ApiError {
    fn from(e: crate::auth::password::HashError) -> Self {
        match e {
            crate::auth::password::HashError::Busy => ApiError::Busy {
                retry_after_secs: 1,
            },
            crate::auth::password::HashError::Failed(e) => ApiError::Internal(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl ApiError {
    /// A bad request naming no particular field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// A bad request naming one field.
    pub fn bad_field(field: FieldError) -> Self {
        ApiError::BadRequest {
            message: field.message.clone(),
            fields: vec![field],
        }
    }

    /// The machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::InsufficientScope(_) => ErrorCode::InsufficientScope,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::Csrf(_) => ErrorCode::Csrf,
            ApiError::BadRequest { .. } => ErrorCode::BadRequest,
            ApiError::Validation(_) => ErrorCode::Validation,
            ApiError::VersionConflict { .. } => ErrorCode::VersionConflict,
            ApiError::InvalidCredentials => ErrorCode::InvalidCredentials,
            ApiError::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            ApiError::TooManyChannels => ErrorCode::TooManyChannels,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            ApiError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ApiError::Unavailable | ApiError::Busy { .. } => ErrorCode::Unavailable,
            ApiError::Internal(_) => ErrorCode::Internal,
            ApiError::SsoRequired => ErrorCode::SsoRequired,
            ApiError::IssuerUnreachable(_) => ErrorCode::IssuerUnreachable,
            ApiError::InvalidLogoutToken => ErrorCode::InvalidLogoutToken,
            ApiError::LastAdmin => ErrorCode::LastAdmin,
            ApiError::SessionLimit { .. } => ErrorCode::SessionLimit,
            ApiError::ReauthenticationRequired { .. } => ErrorCode::ReauthenticationRequired,
        }
    }

    /// The body sent to the client.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            ApiError::Unauthenticated(reason) => unauthenticated_message(*reason).to_owned(),
            ApiError::InvalidCredentials => {
                "The account, email or password is not right.".to_owned()
            }
            ApiError::TooManyAttempts { retry_after_secs } => format!(
                "Too many failed sign-ins. Try again in {retry_after_secs} seconds."
            ),
            ApiError::Busy { retry_after_secs } => format!(
                "Too many people are signing in at once. Try again in {retry_after_secs} seconds."
            ),
            ApiError::Validation(fields) => match fields.as_slice() {
                [one] => one.message.clone(),
                _ => format!("{} settings are not valid.", fields.len()),
            },
            ApiError::VersionConflict { .. } => {
                "Someone else changed these settings since you loaded them. Reload to see the current settings.".to_owned()
            }
            ApiError::Internal(_) => {
                "Something went wrong on the server; it has been logged.".to_owned()
            }
            ApiError::BadRequest { message, .. } | ApiError::IssuerUnreachable(message) => {
                message.clone()
            }
            other => sentence(&other.to_string()),
        };
        ErrorBody {
            error: self.code(),
            message,
            reason: match self {
                ApiError::Unauthenticated(r) => Some(*r),
                _ => None,
            },
            scope: match self {
                ApiError::InsufficientScope(scope) => Some(*scope),
                _ => None,
            },
            fields: match self {
                ApiError::Validation(f) => Some(f.clone()),
                ApiError::BadRequest { fields, .. } if !fields.is_empty() => Some(fields.clone()),
                _ => None,
            },
            current_version: match self {
                ApiError::VersionConflict { current } => Some(*current),
                _ => None,
            },
            retry_after_secs: match self {
                ApiError::TooManyAttempts { retry_after_secs }
                | ApiError::Busy { retry_after_secs } => Some(*retry_after_secs),
                _ => None,
            },
            max_age_secs: match self {
                ApiError::ReauthenticationRequired { max_age_secs } => Some(*max_age_secs),
                _ => None,
            },
            live: match self {
                ApiError::SessionLimit { live } => Some(*live),
                _ => None,
            },
            // Added at the edge, which knows the request.
            request_id: None,
        }
    }
}

fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => {
            let mut out: String = first.to_uppercase().collect();
            out.push_str(chars.as_str());
            if !out.ends_with('.') {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

/// What a signed-out person is told.
pub fn unauthenticated_message(reason: UnauthenticatedReason) -> &'static str {
    use vigil_policy::EndReason;
    match reason {
        UnauthenticatedReason::Missing => "You are not signed in.",
        UnauthenticatedReason::Invalid => "Your session is not valid. Please sign in.",
        UnauthenticatedReason::InvalidToken => {
            "The API token is not valid: it is unknown, expired or revoked."
        }
        UnauthenticatedReason::Ended(EndReason::IdleTimeout) => {
            "You were signed out after a period of inactivity."
        }
        UnauthenticatedReason::Ended(EndReason::AbsoluteTimeout) => {
            "You were signed out because your session reached its time limit."
        }
        UnauthenticatedReason::Ended(EndReason::Revoked) => {
            "You were signed out because an admin ended your session."
        }
        UnauthenticatedReason::Ended(EndReason::LoggedOut) => "You signed out.",
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_)
            | ApiError::InsufficientScope(_)
            | ApiError::Csrf(_)
            | ApiError::SsoRequired
            | ApiError::ReauthenticationRequired { .. } => StatusCode::FORBIDDEN,
            ApiError::IssuerUnreachable(_) | ApiError::InvalidLogoutToken => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest { .. } | ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::VersionConflict { .. }
            | ApiError::LastAdmin
            | ApiError::SessionLimit { .. } => StatusCode::CONFLICT,
            ApiError::TooManyAttempts { .. } | ApiError::TooManyChannels => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(e) = self {
            tracing::error!(error = ?e, "request failed");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            ApiError::TooManyAttempts { retry_after_secs }
            | ApiError::Busy { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            // The database is down or too busy for a moment: a client
            // (or a proxy) may try again soon rather than give up.
            ApiError::Unavailable => {
                res.insert_header((header::RETRY_AFTER, "5"));
            }
            // RFC 6750: a bearer's failures say so; its request's cookies
            // were not read, so they are left alone.
            ApiError::Unauthenticated(UnauthenticatedReason::InvalidToken) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
            }
            ApiError::InsufficientScope(scope) => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(
                        "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                        scope.as_str()
                    ),
                ));
            }
            // A cookie that names no live session is useless to the browser.
            ApiError::Unauthenticated(reason) if *reason != UnauthenticatedReason::Missing => {
                res.cookie(cookie::removal());
            }
            _ => {}
        }
        res.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_its_status_and_code() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (
                ApiError::Unauthenticated(UnauthenticatedReason::Ended(
                    vigil_policy::EndReason::Revoked,
                )),
                401,
                "unauthenticated",
            ),
            (ApiError::InvalidCredentials, 401, "invalid_credentials"),
            (ApiError::Forbidden("no"), 403, "forbidden"),
            (ApiError::Csrf("no"), 403, "csrf"),
            (
                ApiError::InsufficientScope(vigil_policy::tokens::Scope::SessionsWrite),
                403,
                "insufficient_scope",
            ),
            (ApiError::NotFound("no"), 404, "not_found"),
            (ApiError::bad_request("no"), 400, "bad_request"),
            (ApiError::Validation(vec![]), 400, "validation"),
            (
                ApiError::VersionConflict { current: 3 },
                409,
                "version_conflict",
            ),
            (
                ApiError::TooManyAttempts {
                    retry_after_secs: 30,
                },
                429,
                "too_many_attempts",
            ),
            (ApiError::TooManyChannels, 429, "too_many_channels"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::SsoRequired, 403, "sso_required"),
            (
                ApiError::IssuerUnreachable("Fetching failed.".into()),
                400,
                "issuer_unreachable",
            ),
            (ApiError::InvalidLogoutToken, 400, "invalid_logout_token"),
            (ApiError::LastAdmin, 409, "last_admin"),
            (
                ApiError::ReauthenticationRequired { max_age_secs: 900 },
                403,
                "reauthentication_required",
            ),
            (ApiError::Unavailable, 503, "unavailable"),
            (
                ApiError::Busy {
                    retry_after_secs: 1,
                },
                503,
                "unavailable",
            ),
            (
                ApiError::Internal(anyhow::anyhow!("secret detail")),
                500,
                "internal",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status_code().as_u16(), status, "{code}");
            let body = serde_json::to_value(err.body()).unwrap();
            assert_eq!(body["error"], code, "{code}");
            assert!(
                body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{code}"
            );
            assert!(!body.to_string().contains("secret detail"), "{code}");
        }
    }

    #[test]
    fn unauthenticated_bodies_carry_the_reason() {
        let body = serde_json::to_value(
            ApiError::Unauthenticated(vigil_policy::EndReason::IdleTimeout.into()).body(),
        )
        .unwrap();
        assert_eq!(body["reason"], "idle_timeout");
    }

    #[test]
    fn reauthentication_bodies_carry_the_limit() {
        let body =
            serde_json::to_value(ApiError::ReauthenticationRequired { max_age_secs: 900 }.body())
                .unwrap();
        assert_eq!(body["error"], "reauthentication_required");
        assert_eq!(body["max_age_secs"], 900);
    }
}
