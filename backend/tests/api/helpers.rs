//! `spawn_app()` starts the real server on port 0 with a fresh SQLite file,
//! a manual clock and the demo account; `TestApp` has one helper per use.

use std::sync::Arc;

use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use vigil_policy::SecuritySettings;
use vigil_server::clock::ManualClock;
use vigil_server::config::Config;
use vigil_server::startup::Application;
use vigil_server::state::AppState;

/// Password of every demo user in tests.
pub const PASSWORD: &str = "correct horse battery";
/// Where the manual clock starts.
pub const T0: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

/// A minimal built console, with an inline script as Trunk writes one.
pub const INDEX_HTML: &str = "<!doctype html><html><head><script type=\"module\">import init from '/vigil-console.js';init('/vigil-console_bg.wasm');</script></head><body></body></html>";

/// Which database the suite runs on: `VIGIL_TEST_DB=sqlite` (default) or
/// `postgres` (`VIGIL_TEST_POSTGRES_URL`, default
/// `postgres://postgres:postgres@127.0.0.1:5432/postgres`, names the server;
/// every test gets a database of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestDb {
    Sqlite,
    Postgres,
}

pub fn test_db() -> TestDb {
    match std::env::var("VIGIL_TEST_DB").as_deref() {
        Ok("postgres") => TestDb::Postgres,
        Ok("sqlite") | Err(_) => TestDb::Sqlite,
        Ok(other) => panic!("VIGIL_TEST_DB={other:?}: use sqlite or postgres"),
    }
}

fn postgres_admin_url() -> String {
    std::env::var("VIGIL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

static PG_SETUP: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);

/// A new, empty PostgreSQL database for one test. The first call of a run
/// drops the databases earlier runs left behind.
pub async fn fresh_postgres_database() -> String {
    use sqlx::{Connection, Executor, Row};
    sqlx::any::install_default_drivers();
    let admin = postgres_admin_url();
    // CREATE DATABASE copies template1 and fails while another copy runs:
    // one at a time.
    let mut cleaned = PG_SETUP.lock().await;
    let mut conn = sqlx::AnyConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} (set VIGIL_TEST_POSTGRES_URL): {e}"));
    if !*cleaned {
        let old = sqlx::query(
            "SELECT datname::text AS datname FROM pg_database WHERE datname LIKE 'vigil_test_%'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for row in old {
            let name: String = row.try_get("datname").unwrap();
            conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await
                .unwrap();
        }
        *cleaned = true;
    }
    let name = format!("vigil_test_{}", vigil_server::random::random_hex(8));
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .unwrap();
    let _ = conn.close().await;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// A running server.
pub struct TestApp {
    pub address: String,
    /// The management listener (`/metrics`, `/livez`, …).
    pub management: String,
    /// The database it uses (replicas share it).
    pub database_url: String,
    pub handle: vigil_server::startup::StopHandle,
    pub clock: ManualClock,
    pub state: AppState,
    pub client: reqwest::Client,
    /// Holds the database and console files until the test ends.
    _dir: tempfile::TempDir,
}

/// A signed-in browser: just the session token from the cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
}

impl Session {
    /// The session that a successful sign-in's response sets.
    pub fn from_sign_in(res: &Response) -> Session {
        Session {
            token: cookie_token(res).expect("a session cookie"),
        }
    }

    /// The `Cookie` header of a browser holding this session.
    pub fn cookie(&self) -> String {
        format!("__Host-vigil={}", self.token)
    }
}

/// Runs `check` every `every` until it holds, failing with `what` once
/// `within` has passed; returns how long it took.
pub async fn eventually(
    within: std::time::Duration,
    every: std::time::Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> bool,
) -> std::time::Duration {
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "waited {within:?}: {what}");
        tokio::time::sleep(every).await;
    }
    started.elapsed()
}

/// A port that nothing listens on now, for a server started as a process
/// or a driver that cannot be told to pick one.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real HTTP server on 127.0.0.1 that answers every request with
/// `handler`, given `data` as app data (`web::Data<T>`): on `port`, or on
/// a free one for 0. Stopped when dropped.
pub struct Served {
    pub port: u16,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Served {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

pub fn serve<T, F, Args>(port: u16, data: T, handler: F) -> Served
where
    T: Send + Sync + 'static,
    F: actix_web::Handler<Args> + Send,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    use actix_web::{web, App, HttpServer};
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = web::Data::new(data);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(handler.clone()))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Served { port, handle }
}

/// A request header as text ("" when absent or not text).
pub fn header(req: &actix_web::HttpRequest, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Options for [`spawn_app_with`].
pub struct Options {
    pub sweep_interval_secs: u64,
    pub real_clock: bool,
    /// Serve this built console instead of a stub index.html.
    pub static_dir: Option<std::path::PathBuf>,
    pub idle_min_secs: u64,
    /// Join this database (a replica) instead of a fresh one, and seed nothing.
    pub database_url: Option<String>,
    /// Share this clock (replicas of one deployment share time).
    pub clock: Option<ManualClock>,
    /// A fresh PostgreSQL database whatever `VIGIL_TEST_DB` says (replicas).
    pub postgres: bool,
    /// Where the replica listener connects instead of the database URL.
    pub listen_url: Option<String>,
    /// Sign-ins allowed to wait for a password hash.
    pub hash_queue: Option<u64>,
    /// `VIGIL_PUBLIC_ORIGIN`.
    pub public_origin: Option<String>,
    /// `VIGIL_TRUSTED_PROXIES`.
    pub trusted_proxies: Option<String>,
    /// Longest silence on a live channel.
    pub live_heartbeat: Option<std::time::Duration>,
    /// Longest the replica listener may hear nothing before it reconnects.
    pub listener_silence: Option<std::time::Duration>,
    /// `VIGIL_OUTBOUND_ALLOW` (the test identity provider is on 127.0.0.1).
    pub outbound_allow: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            // Tests call the sweeper themselves unless they test its loop.
            sweep_interval_secs: 3600,
            real_clock: false,
            static_dir: None,
            idle_min_secs: 5,
            database_url: None,
            clock: None,
            postgres: false,
            listen_url: None,
            hash_queue: None,
            public_origin: None,
            trusted_proxies: None,
            live_heartbeat: None,
            listener_silence: None,
            outbound_allow: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// A server behind a trusted reverse proxy (`127.0.0.1`): the client's
/// address is the one `X-Forwarded-For` names.
pub async fn spawn_behind_proxy() -> TestApp {
    spawn_app_with(Options {
        trusted_proxies: Some("127.0.0.1/32".into()),
        ..Options::default()
    })
    .await
}

/// A server on a fresh PostgreSQL database whatever `VIGIL_TEST_DB` says:
/// replicas share state only there (SQLite is one process).
pub async fn spawn_postgres_app() -> TestApp {
    spawn_app_with(Options {
        postgres: true,
        ..Options::default()
    })
    .await
}

/// The server's configuration for a test: the one place that builds it.
fn test_config(options: &Options, database_url: &str, stub_dist: std::path::PathBuf) -> Config {
    let static_dir = options.static_dir.clone().unwrap_or(stub_dist);
    let mut args = vec![
        format!("--database-url={database_url}"),
        "--listen=127.0.0.1:0".into(),
        "--management-listen=127.0.0.1:0".into(),
        format!("--static-dir={}", static_dir.display()),
        format!("--idle-min-secs={}", options.idle_min_secs),
        format!("--sweep-interval-secs={}", options.sweep_interval_secs),
        "--hash-concurrency=2".into(),
    ];
    if let Some(q) = options.hash_queue {
        args.push(format!("--hash-queue={q}"));
    }
    if let Some(origin) = &options.public_origin {
        args.push(format!("--public-origin={origin}"));
    }
    if let Some(proxies) = &options.trusted_proxies {
        args.push(format!("--trusted-proxies={proxies}"));
    }
    if let Some(allow) = &options.outbound_allow {
        args.push(format!("--outbound-allow={allow}"));
    }
    let mut config = Config::from_args(args).unwrap();
    config.listen_url = options
        .listen_url
        .as_deref()
        .map(|url| vigil_server::store::DatabaseUrl::parse(url).unwrap());
    if let Some(h) = options.live_heartbeat {
        config.live_heartbeat = h;
    }
    if let Some(s) = options.listener_silence {
        config.listener_silence = s;
    }
    config
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    // TEST_LOG=1 shows the server's logs (RUST_LOG filters them).
    if std::env::var_os("TEST_LOG").is_some() {
        vigil_server::telemetry::init(vigil_server::telemetry::LogFormat::Text);
    }
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), INDEX_HTML).unwrap();
    std::fs::write(dist.join("vigil-console_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let replica = options.database_url.is_some();
    let database_url = match (options.database_url.clone(), test_db()) {
        (Some(url), _) => url,
        (None, _) if options.postgres => fresh_postgres_database().await,
        (None, TestDb::Sqlite) => format!("sqlite://{}", dir.path().join("vigil.db").display()),
        (None, TestDb::Postgres) => fresh_postgres_database().await,
    };
    let config = test_config(&options, &database_url, dist);
    let clock = options.clock.unwrap_or_else(|| ManualClock::new(T0));
    let shared: vigil_server::clock::SharedClock = if options.real_clock {
        Arc::new(vigil_server::clock::SystemClock)
    } else {
        Arc::new(clock.clone())
    };
    let app = Application::build(config, shared).await.unwrap();
    let port = app.port();
    let management_port = app.management_port();
    let state = app.state();
    let handle = app.handle();
    if !replica {
        let seeded = vigil_server::cli::seed_demo(
            &state.store,
            &state.hasher,
            Some(PASSWORD.into()),
            state.clock.now(),
        )
        .await
        .unwrap();
        assert!(matches!(seeded, vigil_server::cli::Seeded::Created(_)));
    }
    tokio::spawn(app.run_until_stopped());
    // A replica answers from memory only once it hears other replicas.
    let started = std::time::Instant::now();
    while !state.sessions.memory.trusted() && started.elapsed() < std::time::Duration::from_secs(10)
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        management: format!("http://127.0.0.1:{management_port}"),
        database_url,
        handle,
        clock,
        state,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _dir: dir,
    }
}

/// The token in a `Set-Cookie: __Host-vigil=…` header, if any.
pub fn cookie_token(res: &Response) -> Option<String> {
    set_cookie(res).and_then(|c| {
        c.strip_prefix("__Host-vigil=")
            .and_then(|rest| rest.split(';').next())
            .map(str::to_owned)
    })
}

/// The value of the `Set-Cookie: NAME=…` header of a response, if any.
pub fn named_cookie(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .and_then(|rest| rest.split(';').next().map(str::to_owned))
}

/// The raw `Set-Cookie` header.
pub fn set_cookie(res: &Response) -> Option<String> {
    res.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the workers (the command is sent at once) so each test's
        // server and its connections go away with the test.
        drop(self.handle.stop(false));
    }
}

impl TestApp {
    /// A second server on the same database, with the same clock.
    pub async fn replica(&self) -> TestApp {
        self.replica_with(Options::default()).await
    }

    /// A second server on the same database, with the same clock and these
    /// options.
    pub async fn replica_with(&self, options: Options) -> TestApp {
        spawn_app_with(Options {
            database_url: Some(self.database_url.clone()),
            clock: Some(self.clock.clone()),
            ..options
        })
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Moves the server's clock.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(Duration::seconds(secs));
    }

    /// A request with the CSRF header, JSON body and session cookie as given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("X-Vigil-Request", "1");
        if let Some(s) = session {
            req = req.header("Cookie", s.cookie());
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, session: &Session) -> Response {
        self.request(Method::GET, path, Some(session), None).await
    }

    /// A GET without cookie or header, as a probe, a link or a stranger
    /// sends one.
    pub async fn get_anonymous(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// A GET on the management listener (`/metrics`, `/livez`, …).
    pub async fn get_management(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.management))
            .send()
            .await
            .unwrap()
    }

    /// The JSON body of `GET path` as `session`, asserting 200.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, session: &Session) -> T {
        let res = self.get(path, session).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.unwrap()
    }

    /// A background poll (`X-Vigil-Background: 1`).
    pub async fn poll(&self, path: &str, session: &Session) -> Response {
        self.client
            .get(self.url(path))
            .header("Cookie", session.cookie())
            .header("X-Vigil-Background", "1")
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, session: &Session, body: Value) -> Response {
        self.request(Method::POST, path, Some(session), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, session: &Session, body: Value) -> Response {
        self.request(Method::PUT, path, Some(session), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, session: &Session) -> Response {
        self.request(Method::DELETE, path, Some(session), None)
            .await
    }

    pub async fn post_login(&self, body: Value) -> Response {
        self.request(Method::POST, "/api/auth/login", None, Some(body))
            .await
    }

    /// A sign-in as `email` that a trusted proxy says comes from `client`,
    /// with the device cookie `device` when given.
    pub async fn login_from(
        &self,
        client: &str,
        email: &str,
        password: &str,
        device: Option<&str>,
    ) -> Response {
        let mut req = self
            .client
            .post(self.url("/api/auth/login"))
            .header("X-Vigil-Request", "1")
            .header("X-Forwarded-For", client);
        if let Some(d) = device {
            req = req.header("Cookie", format!("__Host-vigil-device={d}"));
        }
        req.json(&json!({"account": "demo", "email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Signs a demo user in (account `demo`).
    pub async fn login_as(&self, email: &str, remember_me: bool) -> Session {
        let res = self
            .post_login(json!({"account": "demo", "email": email, "password": PASSWORD, "remember_me": remember_me}))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email}");
        Session::from_sign_in(&res)
    }

    pub async fn login(&self, email: &str) -> Session {
        self.login_as(email, false).await
    }

    /// `GET /api/session`, as JSON, asserting 200.
    pub async fn session_view(&self, s: &Session) -> Value {
        let res = self.get("/api/session", s).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// The id of a live session (from `GET /api/session`).
    pub async fn session_id(&self, s: &Session) -> String {
        self.session_view(s).await["session_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `POST /api/auth/logout`.
    pub async fn logout(&self, s: &Session) -> Response {
        self.post("/api/auth/logout", s, json!({})).await
    }

    /// An admin ends one session: `DELETE /api/admin/sessions/{id}`.
    pub async fn revoke_session(&self, admin: &Session, id: &str) -> Response {
        self.delete(&format!("/api/admin/sessions/{id}"), admin)
            .await
    }

    /// An admin signs a person out everywhere:
    /// `POST /api/admin/users/{user}/revoke-sessions` (`user` as typed).
    pub async fn revoke_user(&self, admin: &Session, user: impl std::fmt::Display) -> Response {
        self.post(
            &format!("/api/admin/users/{user}/revoke-sessions"),
            admin,
            json!({}),
        )
        .await
    }

    /// The demo account's sign-in options, as the sign-in page reads them.
    pub async fn login_options(&self) -> Value {
        let res = self.get_anonymous("/api/accounts/demo/login-options").await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// A requester opens a conversation: `POST /api/portal/conversations`.
    pub async fn open_conversation(&self, requester: &Session, subject: &str) -> Response {
        self.post(
            "/api/portal/conversations",
            requester,
            json!({"subject": subject}),
        )
        .await
    }

    /// `PUT /api/desk/availability`.
    pub async fn set_available(&self, s: &Session, available: bool) -> Response {
        self.put("/api/desk/availability", s, json!({"available": available}))
            .await
    }

    /// Asserts a 401 with `reason`.
    pub async fn assert_signed_out(&self, s: &Session, reason: &str) {
        let res = self.get("/api/session", s).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "expected signed out ({reason})"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unauthenticated");
        assert_eq!(body["reason"], reason);
    }

    /// Reads the settings, applies `change`, stores them; returns the PUT response.
    pub async fn change_settings(
        &self,
        admin: &Session,
        change: impl FnOnce(&mut SecuritySettings),
    ) -> Response {
        let current: Value = self
            .get("/api/admin/security-settings", admin)
            .await
            .json()
            .await
            .unwrap();
        let mut settings: SecuritySettings =
            serde_json::from_value(current["settings"].clone()).unwrap();
        change(&mut settings);
        self.put(
            "/api/admin/security-settings",
            admin,
            json!({"version": current["version"], "settings": settings}),
        )
        .await
    }

    /// [`change_settings`](Self::change_settings), asserting they were stored.
    pub async fn apply_settings(
        &self,
        admin: &Session,
        change: impl FnOnce(&mut SecuritySettings),
    ) {
        let res = self.change_settings(admin, change).await;
        let status = res.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "settings refused: {}",
            res.text().await.unwrap()
        );
    }

    /// Runs one sweeper pass at the clock's time.
    pub async fn sweep(&self) -> vigil_server::sweeper::Report {
        vigil_server::sweeper::sweep_once(&self.state.sessions)
            .await
            .unwrap()
    }

    /// Runs one statement (tests write their few values into it).
    pub async fn execute(&self, sql: &str) {
        sqlx::query(sql)
            .execute(self.state.store.pool())
            .await
            .unwrap();
    }

    /// Runs a query returning one integer.
    pub async fn scalar(&self, sql: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sql)
            .fetch_one(self.state.store.pool())
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap()
    }

    /// Audit actions of the demo account, oldest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        use sqlx::Row;
        sqlx::query("SELECT action FROM audit_log ORDER BY id")
            .fetch_all(self.state.store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>("action").unwrap())
            .collect()
    }

    /// Holds SQLite's write lock from a connection of its own (`BEGIN
    /// IMMEDIATE`), as another process could, until released: the server's
    /// writes wait past their busy timeout and get "database is locked".
    pub async fn hold_sqlite_write_lock(&self) -> SqliteWriteLock {
        use sqlx::{Connection, Executor};
        let mut other = sqlx::SqliteConnection::connect(&self.database_url)
            .await
            .unwrap();
        other.execute("BEGIN IMMEDIATE").await.unwrap();
        SqliteWriteLock(other)
    }

    /// How many `action` entries the audit log holds.
    pub async fn audit_count(&self, action: &str) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(self.state.store.pool())
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap()
    }

    /// How many `action` entries about `target` (`user:7`) the audit log
    /// holds.
    pub async fn audit_count_on(&self, action: &str, target: &str) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND target = $2")
            .bind(action)
            .bind(target)
            .fetch_one(self.state.store.pool())
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap()
    }

    /// User id of a demo email.
    pub async fn user_id(&self, email: &str) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(self.state.store.pool())
            .await
            .unwrap()
            .try_get("id")
            .unwrap()
    }

    /// Signs agent1 in twice, makes them available, and opens `n` new
    /// conversations as the requester (they go to agent1 when nobody else
    /// takes work). Returns the two sessions.
    pub async fn busy_agent1(&self, n: usize) -> (Session, Session) {
        let first = self.login("agent1@demo.test").await;
        let second = self.login("agent1@demo.test").await;
        let res = self.set_available(&first, true).await;
        assert_eq!(res.status(), StatusCode::OK);
        let requester = self.login("requester@demo.test").await;
        for i in 0..n {
            let res = self
                .open_conversation(&requester, &format!("Question {i}"))
                .await;
            assert_eq!(res.status(), StatusCode::CREATED);
        }
        (first, second)
    }

    /// Open conversations assigned to a user.
    pub async fn open_assigned(&self, user_id: i64) -> i64 {
        self.scalar(&format!(
            "SELECT COUNT(*) FROM conversations WHERE status = 'open' AND assignee_id = {user_id}"
        ))
        .await
    }
}

/// See [`TestApp::hold_sqlite_write_lock`].
pub struct SqliteWriteLock(sqlx::SqliteConnection);

impl SqliteWriteLock {
    pub async fn release(mut self) {
        use sqlx::Executor;
        self.0.execute("ROLLBACK").await.unwrap();
    }
}

/// Forwards a local port to PostgreSQL until cut.
pub struct Proxy {
    pub port: u16,
    up: Arc<std::sync::atomic::AtomicBool>,
    /// False while stalled: bytes are held, in order, not passed on.
    flowing: tokio::sync::watch::Sender<bool>,
    links: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    /// A proxy to the server that the PostgreSQL URL `database_url` names.
    pub async fn in_front_of(database_url: &str) -> Proxy {
        let (_, rest) = database_url.split_once('@').unwrap();
        let (host, _) = rest.split_once('/').unwrap();
        Proxy::start(host.to_owned()).await
    }

    pub async fn start(target: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (flowing, _) = tokio::sync::watch::channel(true);
        let links: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (up2, links2, flowing2) = (up.clone(), links.clone(), flowing.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !up2.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // refused: dropped at once
                }
                let target = target.clone();
                let flowing = flowing2.subscribe();
                let link = tokio::spawn(async move {
                    if let Ok(server) = tokio::net::TcpStream::connect(&target).await {
                        let (client_in, client_out) = client.into_split();
                        let (server_in, server_out) = server.into_split();
                        tokio::join!(
                            pump(client_in, server_out, flowing.clone()),
                            pump(server_in, client_out, flowing)
                        );
                    }
                });
                links2.lock().unwrap().push(link);
            }
        });
        Proxy {
            port,
            up,
            flowing,
            links,
        }
    }

    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    /// Holds every byte in both directions, connections kept open, until
    /// [`Proxy::resume`]: a network (or a database) that is slow, not down.
    pub fn stall(&self) {
        self.flowing.send_replace(false);
    }

    /// Passes on what was held, in order, and everything after.
    pub fn resume(&self) {
        self.flowing.send_replace(true);
    }

    /// `url` with its host and port replaced by this proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (head, rest) = url.split_once('@').unwrap();
        let (_, db) = rest.split_once('/').unwrap();
        format!("{head}@127.0.0.1:{}/{db}", self.port)
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, holding what it read while the proxy is stalled.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut flowing: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if flowing.wait_for(|f| *f).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// One Server-Sent Event (a comment line comes as event `comment`).
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// An open live channel (`GET /api/session/events`).
pub struct EventStream {
    res: Response,
    buf: String,
    pub ended: bool,
}

impl EventStream {
    /// The next event within `within`; `None` when the stream ended or
    /// nothing came in time.
    pub async fn next_within(&mut self, within: std::time::Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(at) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..at + 2).collect();
                let mut event = SseEvent {
                    event: "message".into(),
                    data: String::new(),
                };
                for line in block.lines() {
                    if let Some(rest) = line.strip_prefix("event: ") {
                        event.event = rest.into();
                    } else if let Some(rest) = line.strip_prefix("data: ") {
                        event.data.push_str(rest);
                    } else if line.starts_with(':') {
                        event.event = "comment".into();
                    }
                }
                return Some(event);
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.res.chunk()).await {
                Err(_) => return None,
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) | Ok(Err(_)) => self.ended = true,
            }
        }
    }

    /// The next event that is not a heartbeat.
    pub async fn next_event(&mut self, within: std::time::Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let e = self.next_within(left).await?;
            if e.event != "comment" {
                return Some(e);
            }
        }
    }

    /// Whether the server closed the stream within `within`.
    pub async fn closes_within(&mut self, within: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while !self.ended {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            if self.next_within(left).await.is_none() && !self.ended {
                return false;
            }
        }
        true
    }
}

impl TestApp {
    /// Opens the live channel of `session`, asserting 200 and the content type.
    pub async fn events(&self, session: &Session) -> EventStream {
        let res = self
            .client
            .get(self.url("/api/session/events"))
            .header("Cookie", session.cookie())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        EventStream {
            res,
            buf: String::new(),
            ended: false,
        }
    }
}
