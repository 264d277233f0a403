//! The Rust side: rustup's wasm32 target and components, and the console's
//! build tools from `cargo install`.

use std::fs;
use std::process::Command;

use crate::process::{cargo, have, output, status, step};
use crate::{root, Result};

const TRUNK_VERSION: &str = "0.21.14";

/// Adds the wasm32 target when missing (the policy crate and the console
/// are checked for it).
pub(crate) fn ensure_wasm_target() -> Result {
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"]);
    match output(list) {
        Some(installed)
            if installed
                .lines()
                .any(|l| l.trim() == "wasm32-unknown-unknown") =>
        {
            Ok(())
        }
        Some(_) => {
            step("installing the wasm32-unknown-unknown target (rustup)");
            let mut add = Command::new("rustup");
            add.args(["target", "add", "wasm32-unknown-unknown"]);
            status(add, "rustup target add wasm32-unknown-unknown")
        }
        None => Err(
            "rustup is not available, and the wasm32-unknown-unknown target is needed: \
             install Rust with rustup (https://rustup.rs), or add that target to your toolchain"
                .into(),
        ),
    }
}

/// Makes sure clippy and rustfmt are there.
pub(crate) fn ensure_components() -> Result {
    let mut list = Command::new("rustup");
    list.args(["component", "list", "--installed"]);
    let Some(installed) = output(list) else {
        return Ok(()); // not a rustup toolchain: cargo will say what is missing
    };
    for component in ["clippy", "rustfmt"] {
        if !installed.lines().any(|l| l.starts_with(component)) {
            step(&format!("installing the {component} component (rustup)"));
            let mut add = Command::new("rustup");
            add.args(["component", "add", component]);
            status(add, &format!("rustup component add {component}"))?;
        }
    }
    Ok(())
}

/// Installs Trunk [`TRUNK_VERSION`] when another version or none is on PATH.
pub(crate) fn ensure_trunk() -> Result {
    if have("trunk", "--version").is_some_and(|v| v.contains(TRUNK_VERSION)) {
        return Ok(());
    }
    step(&format!(
        "installing trunk {TRUNK_VERSION} (cargo install; about 10 minutes, once)"
    ));
    let mut c = cargo();
    c.args(["install", "--locked", "trunk", "--version", TRUNK_VERSION]);
    status(c, "cargo install trunk")
}

/// Installs wasm-bindgen-cli at the version Cargo.lock pins for
/// wasm-bindgen (the two must match) when another version or none is on
/// PATH.
pub(crate) fn ensure_wasm_bindgen() -> Result {
    let wanted = locked_wasm_bindgen()?;
    if have("wasm-bindgen", "--version")
        .is_some_and(|v| v.split_whitespace().nth(1) == Some(wanted.as_str()))
    {
        return Ok(());
    }
    step(&format!(
        "installing wasm-bindgen-cli {wanted} (cargo install; a few minutes, once)"
    ));
    // Not --locked: its lockfile names a crate version the registry no longer has.
    let mut c = cargo();
    c.args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        &wanted,
        "--force",
    ]);
    status(c, "cargo install wasm-bindgen-cli")
}

/// The `wasm-bindgen` version pinned in Cargo.lock.
fn locked_wasm_bindgen() -> Result<String> {
    let lock = fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
            {
                return Ok(v.trim_matches('"').to_owned());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen entry".into())
}
