//! The one integration test binary of vigil-server (one binary keeps link
//! time down on small machines): the real server on a real port, a fresh
//! SQLite database per test, and a manual clock.

// Helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abuse;
mod admin;
mod auth;
mod browser;
mod caep;
mod cli;
mod console_files;
mod drafts;
mod edge;
mod helpers;
mod live;
mod me;
mod oidc_provider;
mod openapi;
mod paging;
mod people;
mod policy;
mod postgres_only;
mod races;
mod reauth;
mod replicas;
mod routing;
mod session;
mod settings;
mod soak;
mod sso;
mod tokens;
mod webhooks;
