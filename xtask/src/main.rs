//! `cargo xtask run | test | bench | dist | fuzz`: everything a fresh machine
//! needs, in one place.
//!
//! - `run` (`run.rs`): installs what is missing, builds the server, migrates,
//!   seeds the demo account if missing, prints the URL and the demo sign-in,
//!   serves.
//! - `test` (`test.rs`): installs what is missing, then formatting, clippy
//!   (native and wasm32) and every test.
//! - `bench` (`bench.rs`): the load benchmarks.
//! - `dist` (`dist.rs`): the release archive.
//! - `fuzz` (`fuzz.rs`): schemathesis over the API, the step of `test`,
//!   on its own.
//!
//! Shared by the tasks: `tools/` installs what is missing, `console.rs`
//! builds the console, `process.rs` runs commands, `http.rs` talks to the
//! servers they start.
//!
//! Only the standard library, so this builds in seconds on a new machine.

use std::env;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bench;
mod console;
mod dist;
mod fuzz;
mod http;
mod process;
mod run;
mod test;
mod tools;

pub(crate) type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("dist") => dist::run(&args[1..]),
        Some("fuzz") => fuzz::run_alone(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask run [--release] | test | bench | dist | fuzz");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `target/xtask`: installed tools, the `run` database and scratch files.
pub(crate) fn xtask_dir() -> PathBuf {
    root().join("target").join("xtask")
}
