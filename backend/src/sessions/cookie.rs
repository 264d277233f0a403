//! The session cookie (contract): `__Host-vigil`, Secure, HttpOnly,
//! SameSite=Strict, Path=/, no Domain; Max-Age only when remembered.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header::{HeaderMap, COOKIE};

use super::token::SessionToken;

/// The cookie's name.
pub const NAME: &str = "__Host-vigil";

fn base(value: String) -> Cookie<'static> {
    let mut c = Cookie::new(NAME, value);
    c.set_secure(true);
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_path("/");
    c
}

/// The cookie carrying `token`: persistent for `max_age_secs` when given,
/// else a browser-session cookie.
pub fn issue(token: &SessionToken, max_age_secs: Option<i64>) -> Cookie<'static> {
    let mut c = base(token.expose().to_owned());
    if let Some(secs) = max_age_secs {
        c.set_max_age(CookieDuration::seconds(secs.max(0)));
    }
    c
}

/// A cookie that makes the browser forget the session.
pub fn removal() -> Cookie<'static> {
    let mut c = base(String::new());
    c.make_removal();
    c
}

/// The session cookie's value in a request's `Cookie` headers, read in
/// place (the check runs on every request; no cookie jar is built).
pub fn value_in(headers: &HeaderMap) -> Option<&str> {
    named_value(headers, NAME)
}

/// The value of the cookie called `name` in a request's `Cookie` headers.
/// A request with `Authorization: Bearer` has none: it is a token's, and
/// its cookies are not read anywhere (SPEC "Automation": the session, the
/// device and the SSO cookie alike). Routes that take only sessions then
/// answer 401 `missing`, and a sign-in ends no session it did not see.
pub fn named_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    if crate::auth::bearer::presented(headers).is_some() {
        return None;
    }
    headers
        .get_all(COOKIE)
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| value.trim().trim_matches('"'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others_and_in_any_cookie_header() {
        let mut h = HeaderMap::new();
        assert_eq!(value_in(&h), None);
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; __Host-vigil-device=x"),
        );
        assert_eq!(value_in(&h), None, "a longer name is another cookie");
        h.append(
            COOKIE,
            HeaderValue::from_static("b=2;__Host-vigil=abc ; c=3"),
        );
        assert_eq!(value_in(&h), Some("abc"));
    }

    #[test]
    fn a_request_with_a_bearer_token_has_no_cookies() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("__Host-vigil=abc; __Host-vigil-device=d"),
        );
        h.insert(
            actix_web::http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer vigil_x"),
        );
        assert_eq!(value_in(&h), None);
        assert_eq!(named_value(&h, "__Host-vigil-device"), None);
        h.insert(
            actix_web::http::header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        );
        assert_eq!(value_in(&h), Some("abc"), "another scheme is not a token");
    }
}
