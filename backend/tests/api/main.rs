//! The one integration test binary of vigil-server (one binary keeps link
//! time down on small machines): the real server on a real port, a fresh
//! SQLite database per test, and a manual clock.

mod admin;
mod auth;
mod cli;
mod edge;
mod helpers;
mod routing;
mod session;
mod settings;
