//! The browser tests' fixtures: [`Console`] (the test's turn and the
//! real server serving the built console) and [`Browser`] (one headless
//! Chromium with its own chromedriver), which cleans up on `Drop` and
//! checks the browser console for Content Security Policy violations
//! there too, so a failing test leaves nothing running and still says
//! what the CSP check found. For single sign-on: [`Console::for_sso`],
//! [`provider_for`] (the test identity provider, Vigil registered with
//! it) and [`connect`].

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::sync::{Mutex, MutexGuard};

use crate::helpers::{free_port, spawn_app_with, Options, TestApp, PASSWORD};
use crate::oidc_provider::fixture::{
    OidcProvider, ProviderAccount, ProviderClient, ProviderConfig,
};

/// Browser tests run one at a time: they measure seconds, and two
/// Chromiums on two cores would blur them.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The built console; building it is `cargo xtask test`'s job.
pub fn dist() -> PathBuf {
    let dir = std::env::var_os("VIGIL_E2E_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("dist"));
    assert!(
        dir.join("index.html").is_file(),
        "the console is not built in {}: run `cargo xtask test`, which builds it with trunk",
        dir.display()
    );
    dir
}

/// A browser test's server: the real one with the built console, on the
/// real clock, held for this test alone until dropped. It derefs to its
/// [`TestApp`].
pub struct Console {
    app: TestApp,
    // Dropped after the server: the next test starts once this one's
    // server has stopped.
    _turn: MutexGuard<'static, ()>,
}

impl Deref for Console {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Console {
    /// The console with idle timeouts allowed down to 5 s.
    pub async fn start() -> Console {
        Console::with_idle_min(5).await
    }

    /// The console with idle timeouts allowed down to `secs`.
    pub async fn with_idle_min(secs: u64) -> Console {
        Console::with(Options {
            real_clock: true,
            sweep_interval_secs: 1,
            static_dir: Some(dist()),
            idle_min_secs: secs,
            ..Options::default()
        })
        .await
    }

    /// The console whose server may reach the test identity provider on
    /// loopback (`VIGIL_OUTBOUND_ALLOW`), on the real clock the provider's
    /// tokens are stamped with.
    pub async fn for_sso() -> Console {
        Console::with(Options {
            real_clock: true,
            sweep_interval_secs: 1,
            static_dir: Some(dist()),
            idle_min_secs: 5,
            outbound_allow: Some("127.0.0.0/8".into()),
            ..Options::default()
        })
        .await
    }

    /// A server started with `options` (which name the console), once it is
    /// this test's turn.
    pub async fn with(options: Options) -> Console {
        let turn = ONE_AT_A_TIME.lock().await;
        Console {
            app: spawn_app_with(options).await,
            _turn: turn,
        }
    }
}

/// The client secret Vigil is registered with at the test provider.
pub const SSO_SECRET: &str = "a-client-secret-of-some-length";

/// The test identity provider, with `app` registered as client `vigil`
/// (both URIs) and the demo people as accounts (`sub` is the part of the
/// email before the `@`).
pub async fn provider_for(app: &TestApp) -> OidcProvider {
    OidcProvider::start(ProviderConfig::new(
        vec![
            ProviderClient::new("vigil", SSO_SECRET, &app.url("/api/auth/sso/callback"))
                .backchannel_logout_uri(&app.url("/api/auth/sso/backchannel-logout")),
        ],
        ["agent1", "agent2", "admin", "requester"]
            .iter()
            .map(|who| ProviderAccount::new(who, &format!("{who}@demo.test")))
            .collect(),
    ))
    .await
}

/// Connects `provider` as "Acme SSO" for both login pages through the
/// API; `agents_password` says whether team members keep their password.
/// Returns the connection.
pub async fn connect(app: &TestApp, provider: &OidcProvider, agents_password: bool) -> Value {
    let admin = app.login("admin@demo.test").await;
    let res = app
        .post(
            "/api/admin/sso",
            &admin,
            json!({
                "name": "Acme SSO",
                "issuer": provider.issuer(),
                "client_id": "vigil",
                "client_secret": SSO_SECRET,
                "audiences": ["agents", "requesters"],
                "password_sign_in": {"agents": agents_password, "requesters": true},
                "jit_requesters": false,
            }),
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    let connection = res.json().await.unwrap();
    app.logout(&admin).await;
    connection
}

/// The desk's availability switch, once the desk has loaded.
pub async fn availability(b: &Browser) -> Element {
    b.named("switch", "Available for new conversations", 20)
        .await
}

/// Checks `check` every 100 ms until it holds, for up to `secs`.
pub async fn eventually(secs: u64, what: &str, check: impl AsyncFnMut() -> bool) {
    crate::helpers::eventually(
        Duration::from_secs(secs),
        Duration::from_millis(100),
        what,
        check,
    )
    .await;
}

/// One headless Chromium with its own profile and chromedriver. Dropping
/// it checks the browser console for CSP violations (failing the test if
/// it has not failed already, printing them if it has), closes the
/// WebDriver session, which ends Chromium, and stops chromedriver.
pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_url: String,
    session_id: String,
    /// For WebDriver commands fantoccini does not have.
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn launch() -> Browser {
        let port = free_port();
        let driver =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect(
                    "chromedriver (Debian package chromium-driver; `cargo xtask test` installs it)",
                );
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let driver_url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&driver_url)
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("could not start Chromium through chromedriver: {e}"),
            }
        };
        let session_id = client.session_id().await.unwrap().unwrap().to_string();
        Browser {
            client,
            driver,
            driver_url,
            session_id,
            http: reqwest::Client::new(),
            _profile: profile,
        }
    }

    /// A new browser signed in to `app` as `email` on the sign-in page
    /// `page`.
    pub async fn signed_in(app: &TestApp, page: &str, email: &str) -> Browser {
        let b = Browser::launch().await;
        b.sign_in(app, page, email).await;
        b
    }

    /// A new browser signed in to `app` as agent `email`, on the desk once
    /// it has loaded.
    pub async fn at_desk(app: &TestApp, email: &str) -> Browser {
        let b = Browser::signed_in(app, "/login", email).await;
        availability(&b).await;
        b
    }

    /// A new browser signed in to `app` as the demo admin, on `path`.
    pub async fn admin_at(app: &TestApp, path: &str) -> Browser {
        let b = Browser::signed_in(app, "/login", "admin@demo.test").await;
        b.region("Agents").await;
        b.goto(app, path).await;
        b
    }

    pub async fn goto(&self, app: &TestApp, path: &str) {
        self.client.goto(&app.url(path)).await.unwrap();
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A real key press (through the browser's input pipeline).
    pub async fn press_key(&self) {
        press(self, 'x').await;
    }

    /// Elements as assistive technology knows them: with this ARIA `role`
    /// (any, if `None`) and this accessible name, both as Chromium's
    /// accessibility tree computes them (WebDriver's computed role and
    /// label), among `candidates` (CSS) inside `within` (or the page). A
    /// quick pass in the page keeps the elements whose label sources
    /// mention the name; Chromium decides.
    pub async fn find_named(
        &self,
        within: Option<&Element>,
        candidates: &str,
        role: Option<&str>,
        name: &str,
    ) -> Vec<Element> {
        let found = self
            .client
            .execute(
                "const [root, css, name] = arguments;
                 const want = name.toLowerCase();
                 const words = e => [
                     e.getAttribute('aria-label'), e.getAttribute('title'), e.textContent,
                     e.getAttribute('placeholder'), e.getAttribute('alt'),
                     ...(e.labels ? [...e.labels].map(l => l.textContent) : []),
                     ...(e.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
                         .map(id => (document.getElementById(id) || {}).textContent),
                 ].filter(Boolean).join(' ').replace(/\\s+/g, ' ').toLowerCase();
                 return [...(root || document).querySelectorAll(css)]
                     .filter(e => words(e).includes(want));",
                vec![
                    within.map_or(Value::Null, |e| serde_json::to_value(e).unwrap()),
                    json!(candidates),
                    json!(name),
                ],
            )
            .await
            .unwrap();
        let mut named = Vec::new();
        for e in found.as_array().cloned().unwrap_or_default() {
            let Some(id) = e
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(Value::as_str)
            else {
                continue;
            };
            let e = Element::from_element_id(self.client.clone(), id.to_owned().into());
            let (r, n) = self.role_and_name(&e).await;
            if n == name && role.is_none_or(|role| r == role) {
                named.push(e);
            }
        }
        named
    }

    /// Chromium's computed ARIA role and accessible name of an element.
    pub async fn role_and_name(&self, e: &Element) -> (String, String) {
        let get = |what: &'static str| {
            let url = format!(
                "{}/session/{}/element/{}/{what}",
                self.driver_url,
                self.session_id,
                e.element_id()
            );
            async move {
                let v: Value = self
                    .http
                    .get(url)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                v["value"].as_str().unwrap_or_default().trim().to_owned()
            }
        };
        (get("computedrole").await, get("computedlabel").await)
    }

    /// The one element among `css` with this role (any, if `None`) and
    /// accessible name, in `within` (or the page), waiting up to `secs` for
    /// it. Two such elements are a failure: a screen-reader user could not
    /// tell them apart either.
    pub async fn the_one(
        &self,
        within: Option<&Element>,
        css: &str,
        role: Option<&str>,
        name: &str,
        secs: u64,
    ) -> Element {
        let what = role.unwrap_or("field");
        let started = Instant::now();
        loop {
            let mut found = self.find_named(within, css, role, name).await;
            match found.len() {
                1 => return found.remove(0),
                0 if started.elapsed() < Duration::from_secs(secs) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                0 => {
                    self.screenshot("not-found").await;
                    panic!("waited {secs} s for a {what} named {name:?}");
                }
                n => panic!("{n} elements are a {what} named {name:?}"),
            }
        }
    }

    /// The element with this role and accessible name in `within`.
    pub async fn named_in(
        &self,
        within: Option<&Element>,
        role: &str,
        name: &str,
        secs: u64,
    ) -> Element {
        self.the_one(within, candidates(role), Some(role), name, secs)
            .await
    }

    /// The element with this role and accessible name, within `secs`.
    pub async fn named(&self, role: &str, name: &str, secs: u64) -> Element {
        self.named_in(None, role, name, secs).await
    }

    /// Whether an element with this role and accessible name is there now.
    pub async fn has_named(&self, role: &str, name: &str) -> bool {
        !self
            .find_named(None, candidates(role), Some(role), name)
            .await
            .is_empty()
    }

    /// A region (a section with a name), such as an audience's settings.
    pub async fn region(&self, name: &str) -> Element {
        self.named("region", name, 20).await
    }

    /// The form field labelled `label`, whatever its kind, within `secs`.
    pub async fn field_in(&self, within: Option<&Element>, label: &str, secs: u64) -> Element {
        self.the_one(within, FIELDS, None, label, secs).await
    }

    pub async fn field(&self, label: &str) -> Element {
        self.field_in(None, label, 20).await
    }

    pub async fn has_field(&self, label: &str) -> bool {
        !self.find_named(None, FIELDS, None, label).await.is_empty()
    }

    /// Types into the field labelled `label`, replacing what was there.
    pub async fn type_into(&self, label: &str, text: &str) {
        self.type_into_in(None, label, text).await;
    }

    /// Types into the field labelled `label` in `within` (or the page),
    /// replacing what was there; returns the field.
    pub async fn type_into_in(&self, within: Option<&Element>, label: &str, text: &str) -> Element {
        let e = self.field_in(within, label, 20).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
        e
    }

    /// Clicks the button named `name` in `within` (a dialog), which is
    /// there at once.
    pub async fn click_button_in(&self, within: &Element, name: &str) {
        self.named_in(Some(within), "button", name, 1)
            .await
            .click()
            .await
            .unwrap();
    }

    /// Chooses the option `value` of the field labelled `label` in
    /// `within` (or the page).
    pub async fn choose(&self, within: Option<&Element>, label: &str, value: &str) {
        self.field_in(within, label, 20)
            .await
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// Clicks the button named `name`.
    pub async fn click_button(&self, name: &str) {
        self.named("button", name, 10).await.click().await.unwrap();
    }

    /// An element with this role whose text says `words`, within `secs`:
    /// statuses, alerts and screens have no name, only what they say.
    pub async fn saying(&self, role: &str, words: &str, secs: u64) -> Element {
        let started = Instant::now();
        loop {
            if let Some(e) = self.said(role, words).await {
                return e;
            }
            if started.elapsed() > Duration::from_secs(secs) {
                self.screenshot("not-said").await;
                panic!("waited {secs} s for a {role} saying {words:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether an element with this role says `words` now.
    pub async fn says(&self, role: &str, words: &str) -> bool {
        self.said(role, words).await.is_some()
    }

    /// The first element with this role that says `words` now.
    pub async fn said(&self, role: &str, words: &str) -> Option<Element> {
        for e in self
            .client
            .find_all(Locator::Css(candidates(role)))
            .await
            .unwrap()
        {
            if e.text().await.unwrap_or_default().contains(words)
                && self.role_and_name(&e).await.0 == role
            {
                return Some(e);
            }
        }
        None
    }

    /// The open dialog (alert or not), within `secs`.
    pub async fn dialog(&self, secs: u64) -> Element {
        let started = Instant::now();
        loop {
            if let Some(d) = self.open_dialog().await {
                return d;
            }
            assert!(
                started.elapsed() < Duration::from_secs(secs),
                "waited {secs} s for a dialog"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn open_dialog(&self) -> Option<Element> {
        for e in self
            .client
            .find_all(Locator::Css(candidates("dialog")))
            .await
            .unwrap()
        {
            if matches!(
                self.role_and_name(&e).await.0.as_str(),
                "dialog" | "alertdialog"
            ) {
                return Some(e);
            }
        }
        None
    }

    /// Waits up to `secs` for a dialog to close.
    pub async fn dialog_closes(&self, secs: u64) {
        let started = Instant::now();
        while self.open_dialog().await.is_some() {
            assert!(
                started.elapsed() < Duration::from_secs(secs),
                "the dialog stayed open {secs} s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The items of the list named `name`.
    pub async fn list_items(&self, name: &str) -> Vec<Element> {
        self.named("list", name, 10)
            .await
            .find_all(Locator::Css(":scope > li"))
            .await
            .unwrap()
    }

    /// Waits up to `secs` for the list named `name` to hold `n` items.
    pub async fn list_holds(&self, name: &str, n: usize, secs: u64) {
        let started = Instant::now();
        loop {
            let len = self.list_items(name).await.len();
            if len == n {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(secs),
                "the list {name:?} holds {len} items, not {n}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What a screen reader says of a field beside its name: the texts its
    /// `aria-describedby` points at.
    pub async fn description(&self, e: &Element) -> String {
        self.client
            .execute(
                "return (arguments[0].getAttribute('aria-describedby') || '').split(/\\s+/)
                     .filter(Boolean).map(id => document.getElementById(id))
                     .filter(Boolean).map(d => d.textContent.trim()).join(' ');",
                vec![serde_json::to_value(e).unwrap()],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The role and accessible name of the element that has focus.
    pub async fn focused(&self) -> (String, String) {
        let e = self.client.active_element().await.unwrap();
        self.role_and_name(&e).await
    }

    pub async fn sign_in(&self, app: &TestApp, page: &str, email: &str) {
        self.goto(app, page).await;
        self.type_into("Account", "demo").await;
        self.type_into("Email", email).await;
        // Enter submits the form: a click could land beside the button
        // when the account's options arrive and the form grows under it.
        self.type_into("Password", &format!("{PASSWORD}\u{E007}"))
            .await;
        // Signed in once the page leaves the sign-in page; a refusal says why.
        let started = Instant::now();
        loop {
            let path = self.client.current_url().await.unwrap().path().to_owned();
            if !path.ends_with("/login") {
                return;
            }
            if let Ok(e) = self.client.find(Locator::Css("[role=alert]")).await {
                let text = e.text().await.unwrap_or_default();
                if !text.is_empty() {
                    panic!("signing in as {email} was refused: {text}");
                }
            }
            if started.elapsed() > Duration::from_secs(20) {
                self.screenshot("sign-in-stuck").await;
                panic!("signing in as {email} did not leave {path} in 20 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET /api/session` from inside the page, as a background request.
    pub async fn session_from_page(&self) -> (u16, Value) {
        let v = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch('/api/session', {headers: {'X-Vigil-Background': '1'}})
                   .then(async r => done([r.status, await r.json()]));",
                vec![],
            )
            .await
            .unwrap();
        (v[0].as_u64().unwrap() as u16, v[1].clone())
    }

    /// Grants the page a permission (WebDriver's Set Permission, as
    /// chromedriver has it), e.g. `clipboard-read`.
    pub async fn grant(&self, permission: &str) {
        let res = self
            .http
            .post(format!(
                "{}/session/{}/permissions",
                self.driver_url, self.session_id
            ))
            .json(&json!({"descriptor": {"name": permission}, "state": "granted"}))
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "granting {permission}: {}",
            res.text().await.unwrap()
        );
    }

    /// What the system clipboard holds, read by the page (after
    /// [`Browser::grant`] of `clipboard-read`).
    pub async fn clipboard(&self) -> String {
        let text = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 navigator.clipboard.readText().then(done, e => done(`unreadable: ${e}`));",
                vec![],
            )
            .await
            .unwrap();
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The text at `url`, fetched from inside the page (with its cookies).
    pub async fn fetch_text(&self, url: &str) -> String {
        let text = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(arguments[0]).then(r => r.text()).then(done);",
                vec![json!(url)],
            )
            .await
            .unwrap();
        text.as_str().unwrap().to_owned()
    }

    /// Asserts the page is no wider than the window (nothing to scroll
    /// sideways); `what` names the page in the failure.
    pub async fn assert_fits_the_width(&self, what: &str) {
        let overflow = self
            .client
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap()
            .as_i64()
            .unwrap();
        assert!(
            overflow <= 0,
            "{what} is {overflow} px wider than the window"
        );
    }

    pub async fn screenshot(&self, name: &str) {
        let dir = workspace().join("target").join("e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Closes the WebDriver session and reads what the browser console
    /// said about the Content Security Policy first. `Drop` cannot wait,
    /// so this runs on a runtime of its own in a thread of its own (the
    /// test's runtime may be the one this thread is blocked in).
    fn finish_session(&self) -> Result<Vec<String>, String> {
        let url = format!("{}/session/{}", self.driver_url, self.session_id);
        let aside = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| e.to_string())?;
                let found = csp_errors(&http, &url).await;
                // Closing the session quits Chromium; killing chromedriver
                // alone could leave it running.
                let closed = http.delete(&url).send().await;
                let found = found?;
                closed.map_err(|e| format!("closing the WebDriver session: {e}"))?;
                Ok(found)
            })
        });
        aside
            .join()
            .unwrap_or_else(|_| Err("the thread closing the browser panicked".into()))
    }
}

/// The browser console's messages that mention the Content Security
/// Policy, from the WebDriver session at `session_url`.
async fn csp_errors(http: &reqwest::Client, session_url: &str) -> Result<Vec<String>, String> {
    let res = http
        .post(format!("{session_url}/se/log"))
        .json(&json!({"type": "browser"}))
        .send()
        .await
        .map_err(|e| format!("reading the browser console: {e}"))?;
    let body: Value = res.json().await.unwrap_or(Value::Null);
    Ok(body["value"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e["message"].as_str())
                .filter(|m| m.contains("Content Security Policy") || m.contains("Refused to"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

impl Drop for Browser {
    fn drop(&mut self) {
        let found = self.finish_session();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if std::thread::panicking() {
            // A second panic would abort the test binary: say it instead.
            match &found {
                Ok(errors) if errors.is_empty() => {
                    eprintln!("CSP check after the failure: no violations in the browser console");
                }
                Ok(errors) => {
                    eprintln!("CSP check after the failure: violations in the browser console: {errors:?}");
                }
                Err(e) => eprintln!("CSP check after the failure could not run: {e}"),
            }
            return;
        }
        let errors = found.unwrap_or_else(|e| panic!("the CSP check could not run: {e}"));
        assert!(
            errors.is_empty(),
            "CSP violations in the browser console: {errors:?}"
        );
    }
}

/// Form fields, whatever their role.
const FIELDS: &str = "input, select, textarea";

/// Where elements of an ARIA role can be, native or by attribute (a first
/// cut; Chromium's computed role decides).
fn candidates(role: &str) -> &'static str {
    match role {
        "button" => "button, [role=button], input[type=button], input[type=submit]",
        "link" => "a[href], [role=link]",
        "region" => "section, [role=region]",
        "heading" => "h1, h2, h3, h4, h5, h6, [role=heading]",
        "alertdialog" | "dialog" => "[role=alertdialog], [role=dialog], dialog",
        "img" => "img, svg, [role=img]",
        "navigation" => "nav, [role=navigation]",
        "status" => "[role=status], output",
        "alert" => "[role=alert]",
        "timer" => "[role=timer]",
        "list" => "ul, ol, [role=list]",
        "listitem" => "li, [role=listitem]",
        "cell" => "td, [role=cell]",
        "table" => "table, [role=table]",
        "row" => "tr, [role=row]",
        "switch" | "checkbox" | "radio" | "slider" | "spinbutton" | "searchbox" => "input, [role]",
        "combobox" => "select, input, [role=combobox]",
        "textbox" => "input, textarea, [role=textbox]",
        other => panic!("no candidates for the role {other:?}: add them"),
    }
}

/// Presses one key (a WebDriver key code such as `'\u{E007}'`, Enter).
pub async fn press(b: &Browser, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    b.client.perform_actions(keys).await.unwrap();
}

/// axe-core's script (`cargo xtask test` installs it from npm and says
/// where in `VIGIL_AXE`).
pub fn axe_script() -> String {
    let path = std::env::var_os("VIGIL_AXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/xtask/axe/node_modules/axe-core/axe.min.js"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is not at {}: run `cargo xtask test`, which installs it ({e})",
            path.display()
        )
    })
}

/// Runs axe-core on the page as it is now and adds every violation it
/// finds, of any impact, to `found`, naming the screen.
pub async fn axe_check(b: &Browser, axe: &str, screen: &str, found: &mut Vec<String>) {
    b.client.execute(axe, vec![]).await.unwrap(); // defines window.axe
    let violations = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
               .then(r => done(r.violations.map(v => [v.impact,
                   `${v.id} (${v.impact}): ${v.help}: ` + v.nodes.map(n => n.target.join(' ')).join(', ')])))
               .catch(e => done([['critical', `axe failed: ${e}`]]));",
            vec![],
        )
        .await
        .unwrap();
    let violations: Vec<(String, String)> = serde_json::from_value(violations).unwrap();
    println!("axe on {screen}: {} violations", violations.len());
    found.extend(
        violations
            .into_iter()
            .map(|(_, v)| format!("{screen}: {v}")),
    );
}
