//! vigil-server: stores each account's session-security settings and
//! enforces them on every session.
//!
//! `main.rs` only reads the configuration and calls into here; tests build
//! the same [`startup::Application`] on port 0 with a manual clock.

pub mod assets;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod drafts;
pub mod error;
pub mod json;
pub mod metrics;
pub mod net;
pub mod outbound;
pub mod people;
pub mod random;
pub mod routes;
pub mod routing;
pub mod sessions;
pub mod sso;
pub mod startup;
pub mod state;
pub mod store;
pub mod sweeper;
pub mod telemetry;
pub mod web;
pub mod webhooks;
