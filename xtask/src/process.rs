//! Running commands: announcing a step, `cargo` in the workspace, and
//! turning an exit status into a `Result` that names what failed.

use std::env;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use crate::{http, root, Result};

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

/// A port on 127.0.0.1 that nothing listens on now.
pub(crate) fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

/// A server process, killed when dropped, so none outlives a failed run.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to 30 s for `GET path` on 127.0.0.1:`port` to answer 200;
/// fails at once when `what` (the process) exits first.
pub(crate) fn wait_until_answers(
    port: u16,
    path: &str,
    server: &mut Running,
    what: &str,
) -> Result {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(s)) = server.0.try_wait() {
            return Err(format!("{what} exited ({s})"));
        }
        if http::get(port, path).is_ok_and(|r| r.status == 200) {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{what} did not answer {path} within 30 s"))
}
