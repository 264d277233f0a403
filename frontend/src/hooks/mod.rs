//! Hooks, one per file.

pub mod use_load;
pub mod use_modal;
pub mod use_session;

pub use use_load::use_load;
pub use use_modal::use_modal;
pub use use_session::{use_session, Phase, SessionHandle};
