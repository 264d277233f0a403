//! The third-party API fuzzer in `cargo xtask test`: schemathesis, from
//! PyPI, run over every route of the OpenAPI document the debug server
//! serves, signed in as the demo admin, with every check; then once more
//! over the routes an API token may call, with a token holding every
//! scope instead of the session. Any finding fails the run. The checks'
//! exceptions for this API, each with its reason, are in
//! `xtask/schemathesis.toml`.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::process::{cargo, free_port, status, step, wait_until_answers, Running};
use crate::{http, root, tools, xtask_dir, Result};

/// The demo people's password in the fuzzer's throwaway database.
const PASSWORD: &str = "fuzz-Pa55word!";
/// Test cases per operation and phase: enough to reach every bound and
/// status, little enough to finish in well under a minute on two cores.
const MAX_EXAMPLES: &str = "40";

/// Routes that cannot be fuzzed, as a schemathesis `--exclude-path-regex`:
/// SSO start and callback send the browser on to an identity provider and
/// back (the SSO tests drive them against a real one).
const NOT_FUZZED: &str = r"^/api/auth/sso/(callback|\{id\}/start)$";
/// Routes that can end the fuzzing admin's session, as schemathesis
/// `--include-path-regex`es: each fuzzed after the rest, in a pass of its
/// own with a session of its own, so every other route runs signed in and
/// each of these meets a live session at least once. Ending one session
/// (a session by id, signing out) comes first; then the admin's other
/// sessions and all of a person's (the admin's among them), which end the
/// sessions made for any later pass, together in the last.
const ENDS_SESSION: [&str; 4] = [
    r"^/api/me/sessions/\{session_id\}$",
    r"^/api/admin/sessions/\{session_id\}$",
    r"^/api/auth/logout$",
    r"^/api/(me/sessions/revoke-others|admin/users/\{user_id\}/revoke-sessions)$",
];

/// The routes an API token may call (`Authorization: Bearer`), as a
/// schemathesis `--include-path-regex`: the admin API (where the routes for
/// people only answer a token 403) and universal logout. Fuzzed last, with
/// a token holding every scope and no cookie, since a token may end any
/// session (the admin's among them).
const BEARER_ROUTES: &str = r"^/api/(admin/.*|global-token-revocation)$";

/// `cargo xtask fuzz`: the step alone, after building the debug `vigil`.
pub(crate) fn run_alone(args: &[String]) -> Result {
    if let Some(extra) = args.first() {
        return Err(format!("unknown option {extra:?} for `cargo xtask fuzz`"));
    }
    let st = tools::schemathesis()?;
    step("cargo build -p vigil-server --bin vigil");
    let mut build = cargo();
    build.args(["build", "-p", "vigil-server", "--bin", "vigil"]);
    status(build, "building vigil")?;
    run(&st)
}

/// Starts the debug `vigil` (built by the tests) on a fresh SQLite database
/// and runs schemathesis over it.
pub(crate) fn run(st: &Path) -> Result {
    step("schemathesis over the OpenAPI document (debug server, SQLite)");
    let binary = root().join("target").join("debug").join("vigil");
    if !binary.is_file() {
        return Err(format!(
            "{} is missing: the tests build it (cargo build -p vigil-server)",
            binary.display()
        ));
    }
    let scratch = xtask_dir().join("schemathesis").join("run");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let database = format!("sqlite://{}", scratch.join("vigil.db").display());

    let mut seed = Command::new(&binary);
    seed.env("VIGIL_DATABASE_URL", &database)
        .env("RUST_LOG", "warn")
        .args(["seed-demo", "--password", PASSWORD])
        .stdout(Stdio::null());
    status(seed, "vigil seed-demo")?;

    let (port, management) = (free_port()?, free_port()?);
    let log = scratch.join("vigil.log");
    let log_file = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut serve = Command::new(&binary);
    serve
        .env("VIGIL_DATABASE_URL", &database)
        .env("VIGIL_LISTEN", format!("127.0.0.1:{port}"))
        .env("VIGIL_MANAGEMENT_LISTEN", format!("127.0.0.1:{management}"))
        .env("VIGIL_STATIC_DIR", scratch.join("no-console"))
        .env("RUST_LOG", "warn")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(log_file.try_clone().map_err(|e| e.to_string())?);
    let mut server = Running(serve.spawn().map_err(|e| format!("vigil serve: {e}"))?);
    wait_until_answers(management, "/readyz", &mut server, "vigil serve")?;

    let started = Instant::now();
    let schema = format!("http://127.0.0.1:{port}/api/openapi.json");
    // Every pass's session now: the first pass's wrong passwords (sign-in,
    // the password change) use up the admin's sign-in budget.
    let sessions = (0..=ENDS_SESSION.len())
        .map(|_| sign_in(port))
        .collect::<Result<Vec<_>>>()?;
    // The token, made while the first session is recent (tokens are made
    // by people only, with a recent sign-in).
    let token = create_token(port, &sessions[0])?;
    let everything_else = format!("{NOT_FUZZED}|{}", ENDS_SESSION.join("|"));
    let passes = std::iter::once(["--exclude-path-regex", everything_else.as_str()])
        .chain(ENDS_SESSION.map(|route| ["--include-path-regex", route]));
    let with_session = |session: &String| {
        vec![
            format!("Cookie: __Host-vigil={session}"),
            "X-Vigil-Request: 1".to_owned(),
        ]
    };
    let result = passes
        .zip(sessions.iter().map(with_session))
        .chain(std::iter::once((
            ["--include-path-regex", BEARER_ROUTES],
            vec![format!("Authorization: Bearer {token}")],
        )))
        .try_for_each(|(select, headers)| fuzz(st, &scratch, &schema, &headers, &select));
    drop(server);
    result.map_err(|e| format!("{e} (the server's log: {})", log.display()))?;
    println!(
        "    schemathesis: no findings ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `--seed N` from `VIGIL_FUZZ_SEED` (default 20261125; `random`: none).
fn seed_args() -> Vec<String> {
    match std::env::var("VIGIL_FUZZ_SEED").as_deref() {
        Ok("random") => Vec::new(),
        Ok(seed) => vec!["--seed".into(), seed.to_owned()],
        Err(_) => vec!["--seed".into(), "20261125".into()],
    }
}

/// One schemathesis run over the operations `select` picks, sending
/// `headers` (the demo admin's session cookie and the CSRF header, or a
/// bearer token) with every request.
fn fuzz(st: &Path, scratch: &Path, schema: &str, headers: &[String], select: &[&str]) -> Result {
    let mut c = Command::new(st);
    c.current_dir(scratch)
        .arg("--config-file")
        .arg(root().join("xtask").join("schemathesis.toml"))
        .args([
            "run",
            schema,
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
        ])
        // One worker: Python 3.11.7's ast.parse is not thread-safe
        // (CPython gh-106905), and hypothesis calls it while generating.
        .args(["--workers", "1", "--request-timeout", "10"])
        .args(["--generation-database", "none", "--no-color"])
        // A fixed seed, so a red `cargo xtask test` is this change's doing
        // and not the draw's; `VIGIL_FUZZ_SEED=random cargo xtask fuzz`
        // explores afresh (or replays a printed seed).
        .args(seed_args().iter().map(String::as_str))
        .args(headers.iter().flat_map(|h| ["--header", h.as_str()]))
        .args(select);
    status(
        c,
        "schemathesis (each finding above says how to reproduce it)",
    )
}

/// Signs in as the demo admin; the `__Host-vigil` cookie.
fn sign_in(port: u16) -> Result<String> {
    let body = format!(r#"{{"account":"demo","email":"admin@demo.test","password":"{PASSWORD}"}}"#);
    let answer = http::request(
        port,
        "POST",
        "/api/auth/login",
        &[
            ("Content-Type", "application/json"),
            ("X-Vigil-Request", "1"),
        ],
        &body,
    )?;
    answer
        .cookie("__Host-vigil")
        .filter(|_| answer.status == 200)
        .ok_or_else(|| format!("signing in as the demo admin: {}", answer.status))
}

/// Creates an API token with every scope in the session `cookie`; its
/// secret (`vigil_…`).
fn create_token(port: u16, cookie: &str) -> Result<String> {
    let body = r#"{"name":"fuzz","scopes":["sessions:read","sessions:write","users:write","audit:read","settings:read","settings:write"]}"#;
    let answer = http::request(
        port,
        "POST",
        "/api/admin/tokens",
        &[
            ("Content-Type", "application/json"),
            ("X-Vigil-Request", "1"),
            ("Cookie", &format!("__Host-vigil={cookie}")),
        ],
        body,
    )?;
    let token = answer
        .body
        .split_once(r#""token":""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(token, _)| token.to_owned())
        .filter(|t| answer.status == 201 && t.starts_with("vigil_"));
    token.ok_or_else(|| {
        format!(
            "creating the fuzzer's API token: {} {}",
            answer.status, answer.body
        )
    })
}
