//! The CSRF rule (SPEC): every POST, PUT, PATCH and DELETE carries
//! `X-Vigil-Request: 1`, and an `Origin`, when present, is the server's own.
//!
//! A custom header cannot be sent cross-site without a CORS preflight, which
//! Vigil never grants; the Origin check and the SameSite=Strict cookie are
//! further walls.

use actix_web::http::{header::HeaderMap, Method};

use crate::error::ApiError;

/// Paths another server calls with its credential inside the request (a
/// signed logout token), never a browser with Vigil's cookie: they need no
/// `X-Vigil-Request` header (SPEC).
pub const EXEMPT: &[&str] = &[crate::sso::BACKCHANNEL_PATH];

/// The path universal logout is called on (SPEC "Automation").
pub const GLOBAL_REVOCATION_PATH: &str = "/api/global-token-revocation";

/// Whether a request needs no CSRF check: a path another server calls with
/// its credential inside the request ([`EXEMPT`]); universal logout, which
/// takes a bearer token only and never reads a cookie (so a call without a
/// token is answered 401, as RFC 6750 says, not a CSRF 403); or a request
/// with an `Authorization: Bearer` token on the admin API. Such a request
/// is the token's: its cookies are not read, and browsers never attach a
/// bearer header on their own.
pub fn exempt(path: &str, headers: &HeaderMap) -> bool {
    EXEMPT.contains(&path)
        || path == GLOBAL_REVOCATION_PATH
        || (path.starts_with("/api/admin/") && crate::auth::bearer::presented(headers).is_some())
}

/// Checks one request. `public_origin` is `VIGIL_PUBLIC_ORIGIN`, normalised.
pub fn check(
    method: &Method,
    headers: &HeaderMap,
    public_origin: Option<&str>,
) -> Result<(), ApiError> {
    if !matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return Ok(());
    }
    let marked = headers
        .get("x-vigil-request")
        .is_some_and(|v| v.as_bytes() == b"1");
    if !marked {
        return Err(ApiError::Csrf(
            "unsafe requests must carry the X-Vigil-Request: 1 header",
        ));
    }
    if let Some(origin) = headers.get("origin") {
        let origin = origin.to_str().unwrap_or_default();
        let ok = match public_origin {
            Some(expected) => crate::config::parse_origin(origin).as_deref() == Some(expected),
            None => {
                let host = headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default();
                !host.is_empty()
                    && origin
                        .split_once("://")
                        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
            }
        };
        if !ok {
            return Err(ApiError::Csrf("the request came from another origin"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_bearer_requests_on_token_paths_skip_the_check() {
        let bearer = headers(&[("authorization", "Bearer vigil_x")]);
        let cookie = headers(&[("cookie", "__Host-vigil=x")]);
        assert!(exempt("/api/admin/sessions", &bearer));
        assert!(exempt(GLOBAL_REVOCATION_PATH, &bearer));
        assert!(
            exempt(GLOBAL_REVOCATION_PATH, &cookie),
            "universal logout reads no cookie: a call without a token is a 401"
        );
        assert!(!exempt("/api/admin/sessions", &cookie));
        assert!(!exempt("/api/me/sessions/revoke-others", &bearer));
        assert!(!exempt("/api/auth/logout", &bearer));
        assert!(!exempt("/api/administrator", &bearer));
    }

    #[test]
    fn safe_methods_pass_without_the_header() {
        assert!(check(&Method::GET, &headers(&[]), None).is_ok());
        assert!(check(&Method::HEAD, &headers(&[]), None).is_ok());
    }

    #[test]
    fn unsafe_methods_need_the_header_and_a_matching_origin() {
        type Case = (
            &'static str,
            Vec<(&'static str, &'static str)>,
            Option<&'static str>,
            bool,
        );
        let cases: Vec<Case> = vec![
            ("no header", vec![], None, false),
            ("header 0", vec![("x-vigil-request", "0")], None, false),
            (
                "header, no origin",
                vec![("x-vigil-request", "1")],
                None,
                true,
            ),
            (
                "same host",
                vec![
                    ("x-vigil-request", "1"),
                    ("host", "127.0.0.1:8080"),
                    ("origin", "http://127.0.0.1:8080"),
                ],
                None,
                true,
            ),
            (
                "other host",
                vec![
                    ("x-vigil-request", "1"),
                    ("host", "127.0.0.1:8080"),
                    ("origin", "http://evil.test"),
                ],
                None,
                false,
            ),
            (
                "null origin",
                vec![
                    ("x-vigil-request", "1"),
                    ("host", "127.0.0.1:8080"),
                    ("origin", "null"),
                ],
                None,
                false,
            ),
            (
                "public origin matches",
                vec![
                    ("x-vigil-request", "1"),
                    ("host", "internal:8080"),
                    ("origin", "https://desk.example.com"),
                ],
                Some("https://desk.example.com"),
                true,
            ),
            (
                "public origin differs in scheme",
                vec![
                    ("x-vigil-request", "1"),
                    ("host", "desk.example.com"),
                    ("origin", "http://desk.example.com"),
                ],
                Some("https://desk.example.com"),
                false,
            ),
        ];
        for (name, h, public, ok) in cases {
            for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
                assert_eq!(check(&m, &headers(&h), public).is_ok(), ok, "{name} ({m})");
            }
        }
    }
}
