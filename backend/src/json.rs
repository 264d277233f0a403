//! JSON bodies: `application/json` only, at most [`BODY_LIMIT`] bytes, and
//! every decoding problem reported with the path of the field at fault.

use actix_web::{http::header, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use vigil_policy::{FieldError, FieldErrorCode};

use crate::error::ApiError;

/// Largest body accepted. Settings, the largest body, are well under 1 KiB.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body, checked for type and size but not yet decoded.
#[derive(Debug)]
pub struct RawJson(pub web::Bytes);

impl FromRequest for RawJson {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared.is_some_and(|n| n > BODY_LIMIT) {
                return Err(ApiError::PayloadTooLarge);
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|_| ApiError::bad_request("The request body could not be read."))?;
                if body.len() + chunk.len() > BODY_LIMIT {
                    return Err(ApiError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(RawJson(body.freeze()))
        })
    }
}

/// Decodes JSON, naming the field at fault on failure. `strip` removes a
/// leading path segment (so settings errors read `agents.…`, not
/// `settings.agents.…`).
pub fn decode<T: DeserializeOwned>(bytes: &[u8], strip: Option<&str>) -> Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(de);
    result.map_err(|e| {
        let inner = e.inner();
        let message = inner.to_string();
        let mut path = e.path().to_string();
        // A syntax error has no field to blame.
        if path == "." || inner.is_syntax() || inner.is_eof() {
            path.clear();
        }
        let code = if inner.is_syntax() || inner.is_eof() {
            FieldErrorCode::Invalid
        } else if message.starts_with("missing field") {
            // serde reports a missing field at its parent; name the field.
            if let Some(name) = message.split('`').nth(1) {
                path = if path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
            }
            FieldErrorCode::MissingField
        } else if message.starts_with("unknown field") {
            FieldErrorCode::UnknownField
        } else {
            FieldErrorCode::InvalidType
        };
        if let Some(prefix) = strip {
            if let Some(rest) = path.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) {
                path = rest.to_owned();
            }
        }
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("The body is not valid JSON: {message}.")
        } else if code == FieldErrorCode::MissingField {
            format!("{path} is required.")
        } else {
            // serde's own words, without the " at line 1 column 9" tail.
            let text = message.split(" at line ").next().unwrap_or(&message);
            format!(
                "{}{}.",
                if path.is_empty() {
                    String::new()
                } else {
                    format!("{path}: ")
                },
                text
            )
        };
        FieldError::new(path, code, message)
    })
}

/// A decoded JSON body; a decoding problem is a 400 `bad_request` naming the field.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let raw = RawJson::from_request(req, payload);
        Box::pin(async move {
            let RawJson(bytes) = raw.await?;
            decode(&bytes, None)
                .map(ApiJson)
                .map_err(ApiError::bad_field)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_policy::api::LoginRequest;

    #[test]
    fn decoding_errors_name_the_field() {
        let cases: Vec<(&str, &str, FieldErrorCode)> = vec![
            (
                r#"{"account":"a","email":"e","password":1}"#,
                "password",
                FieldErrorCode::InvalidType,
            ),
            (
                r#"{"account":"a","email":"e"}"#,
                "password",
                FieldErrorCode::MissingField,
            ),
            (
                r#"{"account":"a","email":"e","password":"p","x":1}"#,
                "x",
                FieldErrorCode::UnknownField,
            ),
            (r#"{"account":"#, "", FieldErrorCode::Invalid),
        ];
        for (body, path, code) in cases {
            let e = decode::<LoginRequest>(body.as_bytes(), None).unwrap_err();
            assert_eq!((e.path.as_str(), e.code), (path, code), "{body}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let body = "[".repeat(100_000);
        assert!(decode::<serde_json::Value>(body.as_bytes(), None).is_err());
    }
}
