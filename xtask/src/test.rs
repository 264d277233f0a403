//! `cargo xtask test`: installs what is missing, then formatting, clippy
//! (native and wasm32), the tests on SQLite, the API tests again on
//! PostgreSQL, schemathesis over the OpenAPI document, the browser tests,
//! and the release archive's check.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::process::{cargo, status, step};
use crate::{console, dist, fuzz, tools, Result};

/// `cargo xtask test`.
pub(crate) fn run(args: &[String]) -> Result {
    if let Some(extra) = args.first() {
        return Err(format!("unknown option {extra:?} for `cargo xtask test`"));
    }
    tools::ensure_components()?;
    tools::ensure_wasm_target()?;

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

    let console = console::build()?;
    tools::ensure_chromium()?;
    let axe = tools::axe_script()?;
    let oidc_provider = tools::oidc_provider()?;
    let schemathesis = tools::schemathesis()?;
    let standardwebhooks = tools::standardwebhooks_python()?;

    // Fail early, before minutes of tests, if PostgreSQL cannot be had.
    let postgres = tools::ensure_postgres()?;
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
    tests.env("VIGIL_OIDC_PROVIDER_DIR", &oidc_provider);
    tests.env("VIGIL_STANDARDWEBHOOKS_PYTHON", &standardwebhooks);
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
    .env("VIGIL_TEST_POSTGRES_URL", &postgres)
    .env("VIGIL_OIDC_PROVIDER_DIR", &oidc_provider)
    .env("VIGIL_STANDARDWEBHOOKS_PYTHON", &standardwebhooks);
    let (p, f) = counted(pg, "tests on PostgreSQL")?;
    passed += p;
    failed += f;

    // A third party's reading of the OpenAPI document, against the debug
    // server the tests built.
    fuzz::run(&schemathesis)?;

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
        .env("VIGIL_AXE", &axe)
        .env("VIGIL_OIDC_PROVIDER_DIR", &oidc_provider);
    let (p, f) = counted(browser, "browser tests")?;
    passed += p;
    failed += f;
    // The release archive, checked unpacked as ops would run it.
    dist::run(&[])?;
    println!("All checks passed. Screenshots are in target/e2e/.");
    println!("tests: {passed} passed, {failed} failed");
    Ok(())
}

/// Runs a `cargo test`, passing its output through, and adds up the
/// "test result" lines of every test binary.
fn counted(mut c: Command, what: &str) -> Result<(u64, u64)> {
    c.stdout(Stdio::piped());
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
