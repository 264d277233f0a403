//! One module per page.

pub mod audit;
pub mod desk;
pub mod login;
pub mod me_sessions;
pub mod portal;
pub mod security;
pub mod sessions;
pub mod team;
