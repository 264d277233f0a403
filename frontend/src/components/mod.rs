//! Pieces shared by pages.

pub mod confirm_dialog;
pub mod duration_field;
pub mod nav;
pub mod page;
pub mod session_gate;
pub mod timeline;
pub mod warning_dialog;

pub use confirm_dialog::confirm_dialog;
pub use duration_field::DurationField;
pub use nav::nav;
pub use page::Page;
pub use session_gate::{use_current_session, SessionGate};
pub use timeline::timeline;
pub use warning_dialog::{heads_up_dialog, warning_dialog};
