//! Who may do what: password hashing, sign-in throttling, the CSRF check.

pub mod csrf;
pub mod device;
pub mod password;
pub mod throttle;
