//! Every tool install, one file per installer. Each installs only what is
//! missing, heads its work with `==> installing …`, and when it cannot
//! install says what to install by hand.
//!
//! - `rust.rs`: rustup's wasm32 target, clippy and rustfmt; Trunk and
//!   wasm-bindgen-cli (`cargo install`, the latter at Cargo.lock's version).
//! - `npm.rs`: packages from npm (binaryen's wasm-opt, esbuild, axe-core,
//!   oidc-provider), each through `npm_package` into its own folder under
//!   `target/xtask/`.
//! - `pip.rs`: packages from PyPI (schemathesis, standardwebhooks), each through
//!   `pip_package` into a venv in its own folder there.
//! - `apt.rs`: Debian packages (Chromium and its driver, brotli, wrk), through
//!   `apt_get_install`.
//! - `postgres.rs`, `redis.rs`: the servers the tests and the bench use,
//!   found listening, else started, else installed with apt-get.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

mod apt;
mod npm;
mod pip;
mod postgres;
mod redis;
mod rust;

pub(crate) use apt::{ensure_brotli, ensure_chromium, ensure_wrk};
pub(crate) use npm::{axe_script, esbuild, oidc_provider, wasm_opt};
pub(crate) use pip::{schemathesis, standardwebhooks_python};
pub(crate) use postgres::ensure_postgres;
pub(crate) use redis::ensure_redis;
pub(crate) use rust::{ensure_components, ensure_trunk, ensure_wasm_bindgen, ensure_wasm_target};

/// Whether something accepts connections on 127.0.0.1:`port` within a
/// second.
fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    )
    .is_ok()
}
