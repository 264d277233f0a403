//! Building the console (`run`, `test` and `dist` all serve the same one):
//! Trunk into `dist/`, wasm-opt when it could be had, and the size budget.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{status, step};
use crate::{root, tools, Result};

/// The budget for the console's wasm + js + css, gzipped (the goal is
/// [`CONSOLE_GOAL_BYTES`]; the build says when it is over the goal).
const CONSOLE_BUDGET_BYTES: u64 = 300 * 1024;
const CONSOLE_GOAL_BYTES: u64 = 250 * 1024;

/// Builds the console into dist/ with Trunk, shrinks the wasm with wasm-opt
/// when available, prints its gzipped size and checks the budget.
pub(crate) fn build() -> Result<PathBuf> {
    tools::ensure_wasm_target()?;
    tools::ensure_trunk()?;
    tools::ensure_wasm_bindgen()?;
    let wasm_opt = tools::wasm_opt();
    step("building the console (trunk build --release --offline)");
    let mut trunk = Command::new("trunk");
    trunk
        .current_dir(root())
        .args(["build", "--release", "--offline"])
        .env("NO_COLOR", "true");
    status(trunk, "trunk build")?;
    let dist = root().join("dist");
    let files: Vec<PathBuf> = fs::read_dir(&dist)
        .map_err(|e| format!("reading {}: {e}", dist.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    if let Some(opt) = &wasm_opt {
        for wasm in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        {
            let mut c = Command::new(opt);
            // Features come from the target_features section rustc writes.
            c.args([
                "-Oz",
                "--strip-debug",
                "--strip-producers",
                // Binaryen 132 would otherwise write the compact import encoding,
                // which browsers do not accept yet.
                "--disable-compact-imports",
            ])
            .arg(wasm)
            .arg("-o")
            .arg(wasm);
            status(c, "wasm-opt")?;
        }
    }
    let mut total = 0;
    for kind in ["wasm", "js", "css"] {
        let mut size = 0;
        for f in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == kind))
        {
            size += gzipped(f)?;
        }
        println!("    {kind:<4} {:>7.1} KB gzipped", size as f64 / 1024.0);
        total += size;
    }
    println!(
        "    console: {:.1} KB gzipped (budget {} KB, goal {} KB{})",
        total as f64 / 1024.0,
        CONSOLE_BUDGET_BYTES / 1024,
        CONSOLE_GOAL_BYTES / 1024,
        if total > CONSOLE_GOAL_BYTES {
            ": over the goal"
        } else {
            ""
        }
    );
    if total > CONSOLE_BUDGET_BYTES {
        return Err(format!(
            "the console is {:.1} KB gzipped, over its {} KB budget",
            total as f64 / 1024.0,
            CONSOLE_BUDGET_BYTES / 1024
        ));
    }
    Ok(dist)
}

fn gzipped(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .arg("-9c")
        .arg(path)
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out.stdout.len() as u64)
}
