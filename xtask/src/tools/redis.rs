//! Redis for the bench's baseline (P2): found, started or installed.

use std::process::Command;
use std::thread;
use std::time::Duration;

use super::{apt::apt_get_install, listening};
use crate::process::{have, status, step};
use crate::Result;

/// A Redis on 127.0.0.1:6379, started (without persistence) when none
/// answers, and installed from Debian's packages when missing.
pub(crate) fn ensure_redis() -> Result {
    if listening(6379) {
        return Ok(());
    }
    if have("redis-server", "--version").is_none() {
        apt_get_install(
            "redis-server",
            &["redis-server"],
            "Redis (for P2) is needed: install redis-server",
        )?;
    }
    step("starting Redis");
    let mut c = Command::new("redis-server");
    c.args([
        "--daemonize",
        "yes",
        "--bind",
        "127.0.0.1",
        "--port",
        "6379",
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    status(c, "redis-server")?;
    thread::sleep(Duration::from_millis(500));
    Ok(())
}
