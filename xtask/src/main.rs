//! `cargo xtask run | test | bench | dist`: everything a fresh machine
//! needs, in one place.
//!
//! - `run`: installs what is missing, builds the server, migrates, seeds the
//!   demo account if missing, prints the URL and the demo sign-in, serves.
//! - `test`: installs what is missing, then formatting, clippy (native and
//!   wasm32) and every test.
//! - `bench`: the load benchmarks (see `bench.rs`).
//! - `dist`: the release archive (see `dist.rs`).
//!
//! Only the standard library, so this builds in seconds on a new machine.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod dist;

pub(crate) type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("dist") => dist::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask run [--release] | test | bench | dist");
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

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub(crate) fn step(what: &str) {
    println!("==> {what}");
}

pub(crate) fn cargo() -> Command {
    let mut c = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

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

fn output(mut c: Command) -> Option<String> {
    c.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

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
fn ensure_components() -> Result {
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

fn test(args: &[String]) -> Result {
    if let Some(extra) = args.first() {
        return Err(format!("unknown option {extra:?} for `cargo xtask test`"));
    }
    ensure_components()?;
    ensure_wasm_target()?;

    step("cargo fmt --check");
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    status(fmt, "formatting check (run `cargo fmt --all`)")?;

    step("clippy (native, all targets)");
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    status(clippy, "clippy")?;

    step("clippy (wasm32: vigil-policy and the console)");
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "-p",
        "vigil-policy",
        "-p",
        "vigil-console",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]);
    status(clippy, "clippy for wasm32")?;

    let console = build_console()?;
    ensure_chromium()?;
    let axe = ensure_axe()?;

    // Fail early, before minutes of tests, if PostgreSQL cannot be had.
    let postgres = ensure_postgres()?;
    step("tests (API on SQLite, policy, units)");
    let mut tests = cargo();
    tests.args([
        "test",
        "--workspace",
        "--",
        "--skip",
        "browser::",
        "--skip",
        "postgres_only::",
        // Replicas share state only on PostgreSQL: they run in the next pass.
        "--skip",
        "replicas::",
    ]);
    let (mut passed, mut failed) = counted(tests, "tests")?;

    // The same API suite again, on PostgreSQL (each test its own database).
    step("API tests on PostgreSQL");
    let mut pg = cargo();
    pg.args([
        "test",
        "-p",
        "vigil-server",
        "--test",
        "api",
        "--",
        "--skip",
        "browser::",
    ])
    .env("VIGIL_TEST_DB", "postgres")
    .env("VIGIL_TEST_POSTGRES_URL", &postgres);
    let (p, f) = counted(pg, "tests on PostgreSQL")?;
    passed += p;
    failed += f;

    // Browser tests measure seconds: run them on their own, one at a time.
    step("browser tests (headless Chromium)");
    let mut browser = cargo();
    browser
        .args([
            "test",
            "-p",
            "vigil-server",
            "--test",
            "api",
            "browser::",
            "--",
            "--test-threads=1",
        ])
        .env("VIGIL_E2E_DIST", &console)
        .env("VIGIL_AXE", &axe);
    let (p, f) = counted(browser, "browser tests")?;
    passed += p;
    failed += f;
    // The release archive, checked unpacked as ops would run it.
    crate::dist::run(&[])?;
    println!("All checks passed. Screenshots are in target/e2e/.");
    println!("tests: {passed} passed, {failed} failed");
    Ok(())
}

/// Runs a `cargo test`, passing its output through, and adds up the
/// "test result" lines of every test binary.
fn counted(mut c: Command, what: &str) -> Result<(u64, u64)> {
    use std::io::{BufRead, BufReader};
    c.stdout(std::process::Stdio::piped());
    let mut child = c
        .spawn()
        .map_err(|e| format!("{what}: could not start: {e}"))?;
    let (mut passed, mut failed) = (0, 0);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                let number = |label: &str| {
                    rest.split(';')
                        .find_map(|part| part.trim().strip_suffix(label))
                        .and_then(|n| {
                            n.trim()
                                .rsplit(' ')
                                .next()
                                .and_then(|n| n.parse::<u64>().ok())
                        })
                        .unwrap_or(0)
                };
                passed += number("passed");
                failed += number("failed");
            }
        }
    }
    let s = child.wait().map_err(|e| format!("{what}: {e}"))?;
    if s.success() {
        Ok((passed, failed))
    } else {
        println!("tests: {passed} passed, {failed} failed");
        Err(format!("{what} failed ({s})"))
    }
}

fn run(args: &[String]) -> Result {
    let mut release = false;
    for a in args {
        match a.as_str() {
            "--release" => release = true,
            other => return Err(format!("unknown option {other:?} for `cargo xtask run`")),
        }
    }
    let root = root();
    let state_dir = root.join("target").join("xtask");
    fs::create_dir_all(&state_dir).map_err(|e| format!("creating {}: {e}", state_dir.display()))?;

    let console = build_console()?;

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

/// The budget for the console's wasm + js + css, gzipped (the goal is
/// [`CONSOLE_GOAL_BYTES`]; the build says when it is over the goal).
const CONSOLE_BUDGET_BYTES: u64 = 300 * 1024;
const CONSOLE_GOAL_BYTES: u64 = 250 * 1024;
const TRUNK_VERSION: &str = "0.21.14";
const BINARYEN_VERSION: &str = "132";
const AXE_VERSION: &str = "4.14.1";

pub(crate) fn have(program: &str, arg: &str) -> Option<String> {
    let mut c = Command::new(program);
    c.arg(arg);
    output(c)
}

/// The `wasm-bindgen` version pinned in Cargo.lock (the CLI must match it).
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

/// Installs Trunk, wasm-bindgen-cli (the lockfile's version) and, through
/// npm, binaryen's wasm-opt, each only when missing.
fn ensure_console_tools() -> Result<Option<PathBuf>> {
    ensure_wasm_target()?;
    let trunk_ok = have("trunk", "--version").is_some_and(|v| v.contains(TRUNK_VERSION));
    if !trunk_ok {
        step(&format!(
            "installing trunk {TRUNK_VERSION} (cargo install; about 10 minutes, once)"
        ));
        let mut c = cargo();
        c.args(["install", "--locked", "trunk", "--version", TRUNK_VERSION]);
        status(c, "cargo install trunk")?;
    }
    let wanted = locked_wasm_bindgen()?;
    let bindgen_ok = have("wasm-bindgen", "--version")
        .is_some_and(|v| v.split_whitespace().nth(1) == Some(wanted.as_str()));
    if !bindgen_ok {
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
        status(c, "cargo install wasm-bindgen-cli")?;
    }
    let tools = root().join("target").join("xtask").join("binaryen");
    let wasm_opt = tools.join("node_modules").join(".bin").join("wasm-opt");
    if wasm_opt.is_file() {
        return Ok(Some(wasm_opt));
    }
    if have("npm", "--version").is_none() {
        println!("    (npm not found: the console is built without wasm-opt, so it is larger)");
        return Ok(None);
    }
    step(&format!(
        "installing wasm-opt (npm binaryen@{BINARYEN_VERSION} into target/xtask)"
    ));
    let mut c = Command::new("npm");
    c.args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&tools)
        .arg(format!("binaryen@{BINARYEN_VERSION}"));
    match status(c, "npm install binaryen") {
        Ok(()) if wasm_opt.is_file() => Ok(Some(wasm_opt)),
        _ => {
            println!("    (wasm-opt could not be installed: the console is built without it)");
            Ok(None)
        }
    }
}

fn gzipped(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .arg("-9c")
        .arg(path)
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out.stdout.len() as u64)
}

/// Builds the console into dist/ with Trunk, shrinks the wasm with wasm-opt
/// when available, prints its gzipped size and checks the budget.
pub(crate) fn build_console() -> Result<PathBuf> {
    let wasm_opt = ensure_console_tools()?;
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

/// Chromium and its driver for the browser tests: Debian's packages,
/// installed with apt-get when missing.
/// axe-core, the accessibility checker the browser tests run on every
/// screen (npm, into target/xtask/axe).
fn ensure_axe() -> Result<PathBuf> {
    let tools = root().join("target").join("xtask").join("axe");
    let script = tools
        .join("node_modules")
        .join("axe-core")
        .join("axe.min.js");
    let installed = fs::read_to_string(tools.join("node_modules/axe-core/package.json"))
        .is_ok_and(|p| p.contains(&format!("\"version\": \"{AXE_VERSION}\"")));
    if script.is_file() && installed {
        return Ok(script);
    }
    if have("npm", "--version").is_none() {
        return Err(format!(
            "the browser tests check every screen with axe-core {AXE_VERSION}, from npm: \
             install Node.js and npm (Debian: apt-get install npm)"
        ));
    }
    step(&format!(
        "installing axe-core {AXE_VERSION} (npm, into target/xtask)"
    ));
    let mut c = Command::new("npm");
    c.args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&tools)
        .arg(format!("axe-core@{AXE_VERSION}"));
    status(c, "npm install axe-core")?;
    if script.is_file() {
        Ok(script)
    } else {
        Err(format!(
            "npm installed axe-core but {} is missing",
            script.display()
        ))
    }
}

fn ensure_chromium() -> Result {
    let present = |p: &str| Path::new(p).is_file() || have(p, "--version").is_some();
    if present("/usr/bin/chromium") && present("chromedriver") {
        return Ok(());
    }
    if have("apt-get", "--version").is_none() {
        return Err(
            "the browser tests need Chromium and chromedriver: install Debian's chromium and \
             chromium-driver packages (or put chromium and chromedriver on PATH)"
                .into(),
        );
    }
    step("installing chromium and chromium-driver (apt-get)");
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    status(update, "apt-get update")?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    status(
        install,
        "apt-get install chromium chromium-driver (run as root, or install them yourself)",
    )
}

/// The PostgreSQL server the tests use: `VIGIL_TEST_POSTGRES_URL`, else the
/// local one on 127.0.0.1:5432, started when installed but stopped, and
/// installed from Debian's packages when missing.
pub(crate) fn ensure_postgres() -> Result<String> {
    if let Ok(url) = env::var("VIGIL_TEST_POSTGRES_URL") {
        return Ok(url);
    }
    let url = "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned();
    let up = || {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], 5432)),
            std::time::Duration::from_secs(1),
        )
        .is_ok()
    };
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
        if have("apt-get", "--version").is_none() {
            return Err(
                "the tests need PostgreSQL on 127.0.0.1:5432: install and start it, or set \
                        VIGIL_TEST_POSTGRES_URL to a server the tests may create databases on"
                    .into(),
            );
        }
        step("installing PostgreSQL (apt-get)");
        let mut update = Command::new("apt-get");
        update.args(["update", "-qq"]);
        status(update, "apt-get update")?;
        let mut install = Command::new("apt-get");
        install
            .args(["install", "-y", "-qq", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        status(
            install,
            "apt-get install postgresql (run as root, or install it yourself)",
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
        std::thread::sleep(std::time::Duration::from_millis(500));
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
