//! PostgreSQL for the tests and the bench: found, started or installed.

use std::env;
use std::fs;
use std::process::Command;
use std::thread;
use std::time::Duration;

use super::{apt::apt_get_install, listening};
use crate::process::{status, step};
use crate::Result;

/// The PostgreSQL server the tests use: `VIGIL_TEST_POSTGRES_URL`, else the
/// local one on 127.0.0.1:5432, started when installed but stopped, and
/// installed from Debian's packages when missing.
pub(crate) fn ensure_postgres() -> Result<String> {
    if let Ok(url) = env::var("VIGIL_TEST_POSTGRES_URL") {
        return Ok(url);
    }
    let url = "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned();
    let up = || listening(5432);
    if up() {
        return Ok(url);
    }
    let clusters = || -> Vec<String> {
        fs::read_dir("/etc/postgresql")
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut installed_now = false;
    if clusters().is_empty() {
        apt_get_install(
            "PostgreSQL",
            &["postgresql"],
            "the tests need PostgreSQL on 127.0.0.1:5432: install and start it, or set \
             VIGIL_TEST_POSTGRES_URL to a server the tests may create databases on",
        )?;
        installed_now = true;
    }
    for version in clusters() {
        step(&format!("starting PostgreSQL {version}"));
        let mut start = Command::new("pg_ctlcluster");
        start.args(["--skip-systemctl-redirect", &version, "main", "start"]);
        let _ = start.status();
    }
    for _ in 0..60 {
        if up() {
            break;
        }
        thread::sleep(Duration::from_millis(500));
    }
    if !up() {
        return Err(
            "PostgreSQL did not come up on 127.0.0.1:5432 (see its log under /var/log/postgresql)"
                .into(),
        );
    }
    if installed_now {
        // A fresh install asks for a password over TCP: give postgres one.
        let mut set = Command::new("runuser");
        set.args([
            "-u",
            "postgres",
            "--",
            "psql",
            "-qc",
            "ALTER USER postgres PASSWORD 'postgres'",
        ]);
        status(set, "setting the postgres user's password")?;
    }
    Ok(url)
}
