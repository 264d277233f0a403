//! Hooks, one per file.

pub mod use_session;

pub use use_session::{use_session, Phase, SessionHandle};
