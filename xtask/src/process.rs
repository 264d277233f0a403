//! Running commands: announcing a step, `cargo` in the workspace, and
//! turning an exit status into a `Result` that names what failed.

use std::env;
use std::process::Command;

use crate::{root, Result};

/// Prints the `==> …` line that heads each step.
pub(crate) fn step(what: &str) {
    println!("==> {what}");
}

/// The cargo running this xtask, in the workspace root.
pub(crate) fn cargo() -> Command {
    let mut c = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Runs `c` with its output passed through; `what` names it in the error.
pub(crate) fn status(mut c: Command, what: &str) -> Result {
    let s = c
        .status()
        .map_err(|e| format!("{what}: could not start: {e}"))?;
    if s.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({s})"))
    }
}

/// The standard output of `c` when it starts and succeeds.
pub(crate) fn output(mut c: Command) -> Option<String> {
    c.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// `program arg` (usually `--version`): its output when the program is
/// installed and answers.
pub(crate) fn have(program: &str, arg: &str) -> Option<String> {
    let mut c = Command::new(program);
    c.arg(arg);
    output(c)
}
