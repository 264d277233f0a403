//! Who may do what: the admin API's actor (a session or an API token),
//! bearer tokens, password hashing, sign-in throttling, the CSRF check.

pub mod admin;
pub mod bearer;
pub mod csrf;
pub mod device;
pub mod password;
pub mod throttle;
