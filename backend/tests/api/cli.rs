//! The `vigil` binary's commands, run as a user would run them.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::free_port;

fn vigil(db: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.env("VIGIL_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("VIGIL_LISTEN")
        .env_remove("VIGIL_IDLE_MIN_SECS")
        .env("RUST_LOG", "error");
    c
}

#[test]
fn bad_configuration_exits_non_zero_with_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("VIGIL_LISTEN", "not-an-address"),
        ("VIGIL_IDLE_MIN_SECS", "soon"),
        ("VIGIL_SWEEP_INTERVAL_SECS", "0"),
        ("VIGIL_DATABASE_URL", "mysql://root:hunter2@db/x"),
    ] {
        let out = vigil(&dir.path().join("x.db"))
            .env(var, value)
            .arg("migrate")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{var}: {err}");
        assert!(err.contains(var), "{var}: {err}");
        assert!(!err.contains("hunter2"), "no secrets: {err}");
    }
}

#[test]
fn help_never_prints_a_value_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["serve", "--help"]] {
        let out = vigil(&dir.path().join("x.db"))
            .env("VIGIL_DATABASE_URL", "postgres://vigil:s3cr3t-pw@db/vigil")
            .env("VIGIL_PUBLIC_ORIGIN", "https://secret-host.example")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("VIGIL_DATABASE_URL"),
            "{args:?}: names the setting"
        );
        assert!(!text.contains("s3cr3t"), "{args:?}: {text}");
        assert!(!text.contains("secret-host"), "{args:?}: {text}");
    }
}

#[test]
fn seed_demo_creates_the_demo_account_once_and_prints_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let out = vigil(&db)
        .args(["seed-demo", "--password", "demo-password"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "admin@demo.test",
        "agent1@demo.test",
        "agent2@demo.test",
        "requester@demo.test",
        "demo-password",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    let again = vigil(&db).arg("seed-demo").output().unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8(again.stdout)
        .unwrap()
        .contains("already exists"));

    let random = vigil(&dir.path().join("r.db"))
        .arg("seed-demo")
        .output()
        .unwrap();
    let text = String::from_utf8(random.stdout).unwrap();
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .unwrap();
    assert!(password.len() >= 16, "a random password: {password}");
}

#[test]
fn create_account_reads_the_admin_password_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let run = |args: &[&str], stdin: &str| {
        let mut child = vigil(&db)
            .arg("create-account")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let ok = run(
        &[
            "--slug",
            "acme",
            "--name",
            "Acme Help",
            "--admin-email",
            "Boss@Acme.test",
        ],
        "s3cret-password\n",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("boss@acme.test"));

    for (args, stdin, says) in [
        (
            vec![
                "--slug",
                "acme",
                "--name",
                "Again",
                "--admin-email",
                "x@acme.test",
            ],
            "s3cret-password\n",
            "already exists",
        ),
        (
            vec![
                "--slug",
                "Bad Slug",
                "--name",
                "N",
                "--admin-email",
                "x@y.test",
            ],
            "s3cret-password\n",
            "--slug",
        ),
        (
            vec!["--slug", "ok", "--name", "N", "--admin-email", "nope"],
            "s3cret-password\n",
            "--admin-email",
        ),
        (
            vec!["--slug", "ok", "--name", "N", "--admin-email", "x@y.test"],
            "",
            "standard input",
        ),
        (
            vec!["--slug", "ok", "--name", "N", "--admin-email", "x@y.test"],
            "short\n",
            "at least 8",
        ),
    ] {
        let out = run(&args, stdin);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("s3cret"), "the password is never echoed");
    }
}

#[test]
fn logs_are_json_lines_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = vigil(&dir.path().join("j.db"))
        .env("VIGIL_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(out.status.success());
    let logs = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = logs.lines().collect();
    assert!(!lines.is_empty(), "some log lines");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    assert!(logs.contains("migrations applied"));
}

/// SIGTERM: `/readyz` answers 503 at once while a request in flight (a
/// sign-in, waiting for its password hash) still finishes; then the
/// process exits cleanly.
#[tokio::test]
async fn sigterm_makes_readiness_fail_at_once_while_requests_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let seeded = vigil(&db)
        .args(["seed-demo", "--password", "a long enough password"])
        .output()
        .unwrap();
    assert!(seeded.status.success());
    let (port, management) = (free_port(), free_port());
    let mut server = vigil(&db)
        .env("VIGIL_LISTEN", format!("127.0.0.1:{port}"))
        .env("VIGIL_MANAGEMENT_LISTEN", format!("127.0.0.1:{management}"))
        .env("VIGIL_HASH_CONCURRENCY", "1")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let ready = || {
        client
            .get(format!("http://127.0.0.1:{management}/readyz"))
            .send()
    };
    let started = std::time::Instant::now();
    while !ready().await.is_ok_and(|r| r.status() == 200) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "never ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A request in flight: its body is still arriving.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = br#"{"account": "demo", "email": "agent1@demo.test", "password": "a long enough password"}"#;
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Vigil-Request: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let res = ready()
        .await
        .expect("the management listener answers while draining");
    assert_eq!(res.status(), 503, "not ready once SIGTERM arrived");
    // The request in flight finishes.
    slow.write_all(&body[10..]).await.unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = server.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn set_password_reads_the_new_password_from_standard_input_and_applies_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let run = |command: &str, args: &[&str], stdin: &str| {
        let mut child = vigil(&db)
            .arg(command)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let made = run(
        "create-account",
        &[
            "--slug",
            "acme",
            "--name",
            "Acme",
            "--admin-email",
            "boss@acme.test",
        ],
        "s3cret-password\n",
    );
    assert!(made.status.success());
    let who = ["--account", "acme", "--email", "boss@acme.test"];
    for (stdin, says) in [
        ("short-one\n", "at least 15"),
        ("boss@acme.test\n", "email"),
        ("1234567890123456\n", "run of keys"),
        ("", "standard input"),
    ] {
        let out = run("set-password", &who, stdin);
        assert!(!out.status.success(), "{stdin:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{stdin:?}: {err}");
    }
    let out = run(
        "set-password",
        &["--account", "acme", "--email", "nobody@acme.test"],
        "tangerine otter lamp\n",
    );
    assert!(!out.status.success());
    let ok = run("set-password", &who, "tangerine otter lamp\n");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(
        said.contains("boss@acme.test") && said.contains("ended 0"),
        "{said}"
    );
    assert!(!said.contains("tangerine"), "the password is never echoed");
}

#[tokio::test]
async fn a_running_server_on_sqlite_hears_of_sessions_ended_by_set_password() {
    // Nothing but the database joins two processes on one SQLite file: the
    // server's sweep reads what others ended and forgets those sessions.
    if crate::helpers::test_db() != crate::helpers::TestDb::Sqlite {
        return;
    }
    let app = crate::helpers::spawn_app().await;
    let agent = app.login("agent1@demo.test").await;
    app.session_view(&agent).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .env("VIGIL_DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "error")
        .args([
            "set-password",
            "--account",
            "demo",
            "--email",
            "agent1@demo.test",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"tangerine otter lamp\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Held in this server's memory, the session still looked live…
    app.sweep().await;
    // …until the next sweep read the ending.
    app.assert_signed_out(&agent, "revoked").await;
}
