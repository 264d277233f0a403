//! Packages from PyPI. Each goes into a venv of its own under
//! `target/xtask/` (`python3 -m venv`, then that venv's pip), so nothing
//! outside the workspace changes, and is installed again when the version
//! there is not the one named here.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::process::{have, output, status, step};
use crate::{xtask_dir, Result};

/// schemathesis, the third-party API fuzzer `cargo xtask test` runs over
/// the OpenAPI document.
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// schemathesis's `st`.
pub(crate) fn schemathesis() -> Result<PathBuf> {
    pip_package("schemathesis", "schemathesis", SCHEMATHESIS_VERSION, "st")
}

/// Standard Webhooks' own Python library, whose verifier the webhook
/// tests check Vigil's signatures with.
const STANDARDWEBHOOKS_VERSION: &str = "1.1.0";

/// The python of a venv with `standardwebhooks` installed (the tests get
/// it as `VIGIL_STANDARDWEBHOOKS_PYTHON`).
pub(crate) fn standardwebhooks_python() -> Result<PathBuf> {
    pip_package(
        "standardwebhooks",
        "standardwebhooks",
        STANDARDWEBHOOKS_VERSION,
        "python",
    )
}

/// PyPI package `name` at `version` in the venv `target/xtask/<dir>/venv`,
/// installed when missing or at another version; the path of its script
/// `bin` (in the venv's `bin`).
fn pip_package(dir: &str, name: &str, version: &str, bin: &str) -> Result<PathBuf> {
    let venv = xtask_dir().join(dir).join("venv");
    let python = venv.join("bin").join("python");
    let script = venv.join("bin").join(bin);
    let installed = || {
        let mut c = Command::new(&python);
        c.args(["-m", "pip", "show", name]);
        output(c).is_some_and(|o| o.lines().any(|l| l.trim() == format!("Version: {version}")))
    };
    if script.is_file() && installed() {
        return Ok(script);
    }
    let missing = |what: &str| {
        format!(
            "{name} {version} comes from PyPI into a venv under target/xtask, which needs \
             {what}: install Python 3 with venv and pip (Debian: apt-get install python3-venv \
             python3-pip)"
        )
    };
    if have("python3", "--version").is_none() {
        return Err(missing("python3"));
    }
    step(&format!(
        "installing {name} {version} (pip, into target/xtask)"
    ));
    if !python.is_file() {
        let _ = fs::remove_dir_all(&venv);
        let mut c = Command::new("python3");
        c.args(["-m", "venv"]).arg(&venv);
        status(c, "python3 -m venv").map_err(|_| missing("the venv module"))?;
    }
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "--version"]);
    if output(pip).is_none() {
        return Err(missing("pip in the venv"));
    }
    let mut c = Command::new(&python);
    c.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .arg(format!("{name}=={version}"));
    status(c, &format!("pip install {name}"))?;
    if script.is_file() && installed() {
        Ok(script)
    } else {
        Err(format!(
            "pip installed {name} but {} is missing",
            script.display()
        ))
    }
}
