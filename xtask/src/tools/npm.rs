//! Packages from npm. Each goes into its own folder under `target/xtask/`
//! (`npm install --prefix`), so nothing outside the workspace changes, and
//! is installed again when its version there is not the one named here.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::process::{have, status, step};
use crate::{xtask_dir, Result};

/// binaryen, for wasm-opt (the `--disable-compact-imports` in `console.rs`
/// is for this version).
const BINARYEN_VERSION: &str = "132.0.0";
/// esbuild, which minifies the console's JS glue (Trunk's own minifier
/// stops at wasm-bindgen's `export default`).
const ESBUILD_VERSION: &str = "0.28.2";
/// axe-core, the accessibility checker.
const AXE_VERSION: &str = "4.14.1";
/// oidc-provider (panva's, OpenID Certified), the identity provider the
/// single sign-on tests sign in at. The last 8.x: 9.x supports only
/// Node.js 22 LTS and later (on 20 it warns "Unsupported runtime"), and
/// these machines have Node.js 20; 8.x supports 18 and later.
const OIDC_PROVIDER_VERSION: &str = "8.8.1";
/// oidc-provider's folder under `target/xtask/` (the tests look there too
/// when `VIGIL_OIDC_PROVIDER_DIR` is not set).
const OIDC_PROVIDER_DIR: &str = "oidc-provider";

/// binaryen's wasm-opt, which shrinks the console's wasm. Optional: without
/// npm, or when the install fails, it says so and the console is built
/// without it.
pub(crate) fn wasm_opt() -> Option<PathBuf> {
    match npm_package("binaryen", "binaryen", BINARYEN_VERSION, ".bin/wasm-opt") {
        Ok(Some(wasm_opt)) => Some(wasm_opt),
        Ok(None) => {
            println!("    (npm not found: the console is built without wasm-opt, so it is larger)");
            None
        }
        Err(_) => {
            println!("    (wasm-opt could not be installed: the console is built without it)");
            None
        }
    }
}

/// esbuild, which minifies the console's JS glue. Optional, like wasm-opt:
/// without it the glue is sent as wasm-bindgen wrote it.
pub(crate) fn esbuild() -> Option<PathBuf> {
    match npm_package("esbuild", "esbuild", ESBUILD_VERSION, ".bin/esbuild") {
        Ok(Some(esbuild)) => Some(esbuild),
        Ok(None) => {
            println!("    (npm not found: the console's JS is not minified)");
            None
        }
        Err(_) => {
            println!("    (esbuild could not be installed: the console's JS is not minified)");
            None
        }
    }
}

/// axe-core's script, which the browser tests run on every screen.
pub(crate) fn axe_script() -> Result<PathBuf> {
    npm_package("axe", "axe-core", AXE_VERSION, "axe-core/axe.min.js")?.ok_or_else(|| {
        format!(
            "the browser tests check every screen with axe-core {AXE_VERSION}, from npm: \
             install Node.js and npm (Debian: apt-get install npm)"
        )
    })
}

/// The folder whose `node_modules` holds oidc-provider, which
/// `backend/tests/support/oidc-provider.mjs` runs as the tests' identity
/// provider.
pub(crate) fn oidc_provider() -> Result<PathBuf> {
    npm_package(
        OIDC_PROVIDER_DIR,
        "oidc-provider",
        OIDC_PROVIDER_VERSION,
        "oidc-provider/lib/index.js",
    )?
    .map(|_| xtask_dir().join(OIDC_PROVIDER_DIR))
    .ok_or_else(|| {
        format!(
            "the single sign-on tests sign in at oidc-provider {OIDC_PROVIDER_VERSION}, from \
             npm, run by Node.js: install Node.js and npm (Debian: apt-get install npm)"
        )
    })
}

/// npm package `name` at `version` in `target/xtask/<dir>`, installed when
/// missing or at another version; the path of `file` (relative to its
/// `node_modules`). `None` when npm is not installed: the caller says
/// whether that is fatal.
fn npm_package(dir: &str, name: &str, version: &str, file: &str) -> Result<Option<PathBuf>> {
    let prefix = xtask_dir().join(dir);
    let modules = prefix.join("node_modules");
    let path = modules.join(file);
    let installed = fs::read_to_string(modules.join(name).join("package.json"))
        .is_ok_and(|p| declares_version(&p, version));
    if path.is_file() && installed {
        return Ok(Some(path));
    }
    if have("npm", "--version").is_none() {
        return Ok(None);
    }
    step(&format!(
        "installing {name} {version} (npm, into target/xtask)"
    ));
    let mut c = Command::new("npm");
    c.args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(format!("{name}@{version}"));
    status(c, &format!("npm install {name}"))?;
    if path.is_file() {
        Ok(Some(path))
    } else {
        Err(format!(
            "npm installed {name} but {} is missing",
            path.display()
        ))
    }
}

/// Whether a package.json says `"version": "<version>"`, however spaced.
fn declares_version(package_json: &str, version: &str) -> bool {
    package_json.split("\"version\"").skip(1).any(|rest| {
        rest.trim_start()
            .strip_prefix(':')
            .and_then(|v| v.trim_start().strip_prefix('"'))
            .and_then(|v| v.split('"').next())
            == Some(version)
    })
}

#[cfg(test)]
mod tests {
    use super::declares_version;

    #[test]
    fn the_version_is_found_however_the_package_json_is_spaced() {
        for (json, case) in [
            (
                "{\"name\": \"axe-core\", \"version\": \"4.14.1\"}",
                "npm's spacing",
            ),
            ("{\"version\":\"4.14.1\"}", "no spaces"),
            (
                "{\n  \"version\" :\n  \"4.14.1\"\n}",
                "spaced around the colon",
            ),
        ] {
            assert!(declares_version(json, "4.14.1"), "{case}");
        }
    }

    #[test]
    fn another_version_or_a_prefix_of_it_is_not_the_one_wanted() {
        for (json, case) in [
            ("{\"version\": \"4.14.10\"}", "a longer version"),
            ("{\"version\": \"4.14\"}", "a shorter version"),
            ("{\"name\": \"4.14.1\"}", "the version under another key"),
        ] {
            assert!(!declares_version(json, "4.14.1"), "{case}");
        }
    }
}
