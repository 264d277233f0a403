//! `cargo xtask run`: installs what is missing, builds the console and the
//! server, migrates, seeds the demo account if missing, prints the URL and
//! the demo sign-in, serves.

use std::env;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::process::{cargo, status, step};
use crate::{console, root, xtask_dir, Result};

/// `cargo xtask run [--release]`.
pub(crate) fn run(args: &[String]) -> Result {
    let mut release = false;
    for a in args {
        match a.as_str() {
            "--release" => release = true,
            other => return Err(format!("unknown option {other:?} for `cargo xtask run`")),
        }
    }
    let root = root();
    let state_dir = xtask_dir();
    fs::create_dir_all(&state_dir).map_err(|e| format!("creating {}: {e}", state_dir.display()))?;

    let console = console::build()?;

    step("building the server");
    let mut build = cargo();
    build.args(["build", "-p", "vigil-server", "--bin", "vigil"]);
    if release {
        build.arg("--release");
    }
    status(build, "building vigil")?;
    let binary = root
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join(format!("vigil{}", env::consts::EXE_SUFFIX));

    let database_url = env::var("VIGIL_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}", state_dir.join("vigil.db").display()));
    let listen = env::var("VIGIL_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let management =
        env::var("VIGIL_MANAGEMENT_LISTEN").unwrap_or_else(|_| "127.0.0.1:9000".into());
    let static_dir = env::var("VIGIL_STATIC_DIR").unwrap_or_else(|_| console.display().to_string());
    let vigil = |sub: &[&str]| {
        let mut c = Command::new(&binary);
        c.current_dir(&root)
            .env("VIGIL_DATABASE_URL", &database_url)
            .env("VIGIL_LISTEN", &listen)
            .env("VIGIL_MANAGEMENT_LISTEN", &management)
            .env("VIGIL_STATIC_DIR", &static_dir)
            .args(sub);
        c
    };

    step("applying migrations");
    status(vigil(&["migrate"]), "vigil migrate")?;

    // The demo password is kept beside the database so every run can show it.
    let password_file = state_dir.join("demo-password");
    let password = match fs::read_to_string(&password_file) {
        Ok(p) if !p.trim().is_empty() => p.trim().to_owned(),
        _ => {
            let p = format!("demo-{:x}", random_u64());
            fs::write(&password_file, &p)
                .map_err(|e| format!("writing {}: {e}", password_file.display()))?;
            p
        }
    };
    step("seeding the demo account (if missing)");
    let seeded = vigil(&["seed-demo", "--password", &password])
        .output()
        .map_err(|e| format!("vigil seed-demo: {e}"))?;
    if !seeded.status.success() {
        return Err(format!(
            "vigil seed-demo failed: {}",
            String::from_utf8_lossy(&seeded.stderr).trim()
        ));
    }
    let already = String::from_utf8_lossy(&seeded.stdout).contains("already exists");

    if !Path::new(&static_dir).join("index.html").is_file() {
        println!("    (no built console in {static_dir}: serving the API only)");
    }
    println!();
    println!("Vigil is starting at http://{listen}");
    println!("  account:  demo");
    println!(
        "  people:   admin@demo.test, agent1@demo.test, agent2@demo.test, requester@demo.test"
    );
    if already && env::var("VIGIL_DATABASE_URL").is_ok() {
        println!("  password: the one printed when this database was seeded");
    } else {
        println!("  password: {password}");
    }
    println!("  metrics and health: http://{management}/metrics, /livez, /readyz");
    println!("Press Ctrl-C to stop.");
    println!();
    status(vigil(&["serve"]), "vigil serve")
}

/// A little randomness for the demo password without a dependency.
fn random_u64() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}
