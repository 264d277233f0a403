//! A few seconds of concurrent mixed traffic through the real `vigil`
//! binary, on the suite's database (SQLite, or PostgreSQL in the second
//! pass): sign-ins good and bad, checks, activity, sign-outs, revocations,
//! settings and the portal. Any 5xx, or any error line in the server's
//! log, fails it. Load is for finding races here, not for figures: those
//! are in `cargo xtask bench`.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{json, Value};

use crate::helpers::{free_port, fresh_postgres_database, named_cookie, test_db, TestDb};

const PASSWORD: &str = "a long enough password";
const RUN_FOR: Duration = Duration::from_secs(6);

/// One server process and what a worker needs to talk to it.
struct Target {
    base: String,
    client: Client,
    fives: AtomicU64,
    requests: AtomicU64,
}

impl Target {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends and counts; a 5xx is remembered with what was asked.
    async fn send(&self, what: &str, req: reqwest::RequestBuilder) -> Option<reqwest::Response> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let res = req.send().await.ok()?;
        if res.status().is_server_error() {
            self.fives.fetch_add(1, Ordering::Relaxed);
            eprintln!("soak: {what} answered {}", res.status());
        }
        Some(res)
    }

    async fn sign_in(&self, email: &str, password: &str) -> Option<String> {
        self.sign_in_from("127.0.0.1", email, password).await
    }

    /// A sign-in that the (trusted) proxy says comes from `client`.
    async fn sign_in_from(&self, client: &str, email: &str, password: &str) -> Option<String> {
        let res = self
            .send(
                "sign-in",
                self.client
                    .post(self.url("/api/auth/login"))
                    .header("X-Vigil-Request", "1")
                    .header("X-Forwarded-For", client)
                    .json(&json!({"account": "demo", "email": email, "password": password})),
            )
            .await?;
        named_cookie(&res, "__Host-vigil").map(|t| format!("__Host-vigil={t}"))
    }

    fn get(&self, path: &str, cookie: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).header("Cookie", cookie)
    }

    fn write(&self, method: reqwest::Method, path: &str, cookie: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("Cookie", cookie)
            .header("X-Vigil-Request", "1")
    }
}

/// An agent at work: signs in, checks, reports activity, signs out.
async fn agent(t: &Target, email: &str) {
    let Some(cookie) = t.sign_in(email, PASSWORD).await else {
        return;
    };
    for _ in 0..5 {
        t.send("check", t.get("/api/session", &cookie)).await;
        t.send(
            "activity",
            t.write(reqwest::Method::POST, "/api/session/activity", &cookie)
                .json(&json!({"source": "input"})),
        )
        .await;
        t.send("conversations", t.get("/api/desk/conversations", &cookie))
            .await;
    }
    t.send(
        "sign-out",
        t.write(reqwest::Method::POST, "/api/auth/logout", &cookie),
    )
    .await;
}

/// Someone guessing: wrong passwords and people who do not exist, from
/// addresses of their own (from the others' address they would soon spend
/// its budget across people, and everybody's sign-ins would be 429).
async fn guesser(t: &Target, round: u64) {
    let email = if round % 2 == 0 {
        "agent2@demo.test".to_owned()
    } else {
        format!("nobody{round}@demo.test")
    };
    let client = format!("203.0.113.{}", round % 250);
    t.sign_in_from(&client, &email, "not the password").await;
}

/// An admin: lists, revokes an agent's sessions, stores the settings again.
async fn admin(t: &Target, cookie: &str) {
    t.send("sessions", t.get("/api/admin/sessions", cookie))
        .await;
    t.send("agents", t.get("/api/admin/agents", cookie)).await;
    if let Some(res) = t
        .send("settings", t.get("/api/admin/security-settings", cookie))
        .await
    {
        if let Ok(body) = res.json::<Value>().await {
            t.send(
                "store settings",
                t.write(reqwest::Method::PUT, "/api/admin/security-settings", cookie)
                    .json(&json!({"version": body["version"], "settings": body["settings"]})),
            )
            .await;
        }
    }
    if let Some(res) = t.send("agents", t.get("/api/admin/agents", cookie)).await {
        if let Ok(agents) = res.json::<Value>().await {
            if let Some(id) = agents
                .as_array()
                .and_then(|a| a.iter().find(|a| a["email"] == "agent1@demo.test"))
                .and_then(|a| a["user_id"].as_i64())
            {
                t.send(
                    "revoke",
                    t.write(
                        reqwest::Method::POST,
                        &format!("/api/admin/users/{id}/revoke-sessions"),
                        cookie,
                    ),
                )
                .await;
            }
        }
    }
    t.send("audit", t.get("/api/admin/audit?limit=20", cookie))
        .await;
}

/// A requester in the portal.
async fn requester(t: &Target) {
    let Some(cookie) = t.sign_in("requester@demo.test", PASSWORD).await else {
        return;
    };
    t.send(
        "open conversation",
        t.write(reqwest::Method::POST, "/api/portal/conversations", &cookie)
            .json(&json!({"subject": "Printer on fire"})),
    )
    .await;
    t.send(
        "my conversations",
        t.get("/api/portal/conversations", &cookie),
    )
    .await;
    t.send("my sessions", t.get("/api/me/sessions", &cookie))
        .await;
}

#[tokio::test]
async fn mixed_traffic_for_a_few_seconds_gets_no_5xx_and_logs_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match test_db() {
        TestDb::Sqlite => format!("sqlite://{}", dir.path().join("soak.db").display()),
        TestDb::Postgres => fresh_postgres_database().await,
    };
    let vigil = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
        c.env("VIGIL_DATABASE_URL", &database_url)
            .env("VIGIL_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .env_remove("VIGIL_LISTEN");
        c
    };
    let seeded = vigil()
        .args(["seed-demo", "--password", PASSWORD])
        .output()
        .unwrap();
    assert!(seeded.status.success(), "{seeded:?}");
    let (port, management) = (free_port(), free_port());
    let mut server = vigil()
        .env("VIGIL_LISTEN", format!("127.0.0.1:{port}"))
        .env("VIGIL_MANAGEMENT_LISTEN", format!("127.0.0.1:{management}"))
        .env("VIGIL_SWEEP_INTERVAL_SECS", "1")
        .env("VIGIL_TRUSTED_PROXIES", "127.0.0.1/32")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let target = Arc::new(Target {
        base: format!("http://127.0.0.1:{port}"),
        client: Client::new(),
        fives: AtomicU64::new(0),
        requests: AtomicU64::new(0),
    });
    let started = Instant::now();
    while !target
        .client
        .get(format!("http://127.0.0.1:{management}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(started.elapsed() < Duration::from_secs(20), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let admin_cookie = target.sign_in("admin@demo.test", PASSWORD).await.unwrap();
    let started = Instant::now();
    let workers: Vec<_> = (0..8u64)
        .map(|w| {
            let t = target.clone();
            let admin_cookie = admin_cookie.clone();
            tokio::spawn(async move {
                let mut round = 0;
                while started.elapsed() < RUN_FOR {
                    match w % 4 {
                        0 => agent(&t, "agent1@demo.test").await,
                        1 => guesser(&t, round).await,
                        2 => admin(&t, &admin_cookie).await,
                        _ => requester(&t).await,
                    }
                    round += 1;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait().unwrap();
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let requests = target.requests.load(Ordering::Relaxed);
    assert!(requests > 200, "only {requests} requests in {RUN_FOR:?}");
    assert_eq!(
        target.fives.load(Ordering::Relaxed),
        0,
        "5xx among {requests} requests; the server said:\n{log}"
    );
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .collect();
    assert!(errors.is_empty(), "error lines:\n{}", errors.join("\n"));
    assert!(
        status.success(),
        "{status:?} after SIGTERM; the last lines:\n{}",
        log.lines().rev().take(5).collect::<Vec<_>>().join("\n")
    );
}
