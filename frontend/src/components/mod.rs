//! Pieces shared by pages.

pub mod duration_field;
pub mod nav;
pub mod session_gate;
pub mod timeline;
pub mod warning_dialog;

pub use duration_field::DurationField;
pub use nav::Nav;
pub use session_gate::{SessionGate, use_current_session};
pub use timeline::Timeline;
pub use warning_dialog::WarningDialog;
