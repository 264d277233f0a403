//! What an API call can fail with, in a form components can hold and compare.

use vigil_policy::api::{ErrorBody, ErrorCode, UnauthenticatedReason};
use vigil_policy::FieldError;

/// A failed API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request never got an answer (offline, server down), or not one
    /// the console could read. Nothing more is kept: the person is told
    /// the same either way, and formatting the cause would cost bundle size.
    Network,
    /// The server answered with an error body.
    Http {
        /// HTTP status.
        status: u16,
        /// The server's error body.
        body: ErrorBody,
    },
}

impl ApiError {
    /// A sentence for people.
    pub fn message(&self) -> String {
        match self {
            ApiError::Network => {
                "Vigil could not be reached. Check your connection and try again.".to_owned()
            }
            ApiError::Http { body, .. } => match &body.request_id {
                // A server fault: the id finds it in the logs.
                Some(id) => format!("{} (request id {id})", body.message),
                None => body.message.clone(),
            },
        }
    }

    /// The machine code, when the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ApiError::Http { body, .. } => Some(body.error),
            ApiError::Network => None,
        }
    }

    /// Why the session is gone, for a 401.
    pub fn signed_out(&self) -> Option<UnauthenticatedReason> {
        match self {
            ApiError::Http { status: 401, body } if body.error == ErrorCode::Unauthenticated => {
                Some(body.reason.unwrap_or(UnauthenticatedReason::Invalid))
            }
            _ => None,
        }
    }

    /// Fields the server named.
    pub fn fields(&self) -> Vec<FieldError> {
        match self {
            ApiError::Http { body, .. } => body.fields.clone().unwrap_or_default(),
            ApiError::Network => Vec::new(),
        }
    }
}
