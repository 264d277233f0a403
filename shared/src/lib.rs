//! vigil-policy: the rules of Vigil's session security, shared by the server
//! and the browser console so that both compute the same deadlines.
//!
//! Plain types and pure functions only: no I/O, no clock, no framework. The
//! crate builds for native targets and for `wasm32-unknown-unknown`.

pub mod api;
pub mod audit;
pub mod compliance;
pub mod deadline;
pub mod pages;
pub mod password;
pub mod settings;
pub mod sso;
pub mod tokens;
pub mod validate;
pub mod webhooks;

pub use deadline::{evaluate, EndReason, Evaluation, SessionTimes, Verdict};
pub use settings::{
    ActivityRules, Audience, AudiencePolicy, Limits, SecuritySettings, Warning, IDLE_PRESETS_SECS,
};
pub use validate::{validate, FieldError, FieldErrorCode};
