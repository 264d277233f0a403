//! Debian packages, through apt-get.

use std::path::Path;
use std::process::Command;

use crate::process::{have, status, step};
use crate::Result;

/// Chromium and its driver for the browser tests: Debian's packages,
/// installed with apt-get when missing.
pub(crate) fn ensure_chromium() -> Result {
    let present = |p: &str| Path::new(p).is_file() || have(p, "--version").is_some();
    if present("/usr/bin/chromium") && present("chromedriver") {
        return Ok(());
    }
    apt_get_install(
        "chromium and chromium-driver",
        &["chromium", "chromium-driver"],
        "the browser tests need Chromium and chromedriver: install Debian's chromium and \
         chromium-driver packages (or put chromium and chromedriver on PATH)",
    )
}

/// brotli, which writes the console's brotli copies: Debian's package,
/// installed with apt-get when missing.
pub(crate) fn ensure_brotli() -> Result {
    if have("brotli", "--version").is_some() {
        return Ok(());
    }
    apt_get_install(
        "brotli",
        &["brotli"],
        "the console is served brotli-compressed, and the brotli command writes those \
         copies: install brotli (Debian and Ubuntu: apt-get install brotli; macOS: brew install brotli)",
    )
}

/// wrk, the bench's load generator.
pub(crate) fn ensure_wrk() -> Result {
    // wrk has no --version that succeeds: it is there if it starts at all.
    if have("wrk", "--version").is_some() || Command::new("wrk").output().is_ok() {
        return Ok(());
    }
    apt_get_install("wrk", &["wrk"], "wrk is needed: install wrk")
}

/// Installs Debian `packages` (announced as `what`) with apt-get, after
/// refreshing its package lists. Without apt-get, fails with `without_apt`,
/// which says what to install by hand.
pub(super) fn apt_get_install(what: &str, packages: &[&str], without_apt: &str) -> Result {
    if have("apt-get", "--version").is_none() {
        return Err(without_apt.to_owned());
    }
    step(&format!("installing {what} (apt-get)"));
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    status(update, "apt-get update")?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    let them = if packages.len() == 1 { "it" } else { "them" };
    status(
        install,
        &format!(
            "apt-get install {} (run as root, or install {them} yourself)",
            packages.join(" ")
        ),
    )
}
