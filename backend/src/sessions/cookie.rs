//! The session cookie (contract): `__Host-vigil`, Secure, HttpOnly,
//! SameSite=Strict, Path=/, no Domain; Max-Age only when remembered.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};

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
