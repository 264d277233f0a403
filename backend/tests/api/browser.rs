#![allow(clippy::disallowed_methods)] // the browser runs on the real clock; so do these measurements
//! The console in real headless Chromium (Debian's chromium and
//! chromedriver), against the real server with the built console from
//! `dist/` (`cargo xtask test` builds it first). Browser tests run one at a
//! time: they measure seconds, and two Chromiums on two cores would blur them.
//! Screenshots of the main screens go to `target/e2e/`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use vigil_policy::Warning;

use crate::helpers::{spawn_app_with, Options, TestApp, PASSWORD};

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The built console; building it is `cargo xtask test`'s job.
fn dist() -> PathBuf {
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One headless Chromium with its own profile and chromedriver.
struct Browser {
    client: Client,
    driver: Child,
    driver_url: String,
    /// For WebDriver commands fantoccini does not have.
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn launch() -> Browser {
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
        Browser {
            client,
            driver,
            driver_url,
            http: reqwest::Client::new(),
            _profile: profile,
        }
    }

    async fn goto(&self, app: &TestApp, path: &str) {
        self.client.goto(&app.url(path)).await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A real key press (through the browser's input pipeline).
    async fn press_key(&self) {
        press(self, 'x').await;
    }

    /// Elements as assistive technology knows them: with this ARIA `role`
    /// (any, if `None`) and this accessible name, both as Chromium's
    /// accessibility tree computes them (WebDriver's computed role and
    /// label), among `candidates` (CSS) inside `within` (or the page). A
    /// quick pass in the page keeps the elements whose label sources
    /// mention the name; Chromium decides.
    async fn find_named(
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
    async fn role_and_name(&self, e: &Element) -> (String, String) {
        let id = self.client.session_id().await.unwrap().unwrap();
        let get = |what: &'static str| {
            let url = format!(
                "{}/session/{id}/element/{}/{what}",
                self.driver_url,
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
    async fn the_one(
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
    async fn named_in(
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
    async fn named(&self, role: &str, name: &str, secs: u64) -> Element {
        self.named_in(None, role, name, secs).await
    }

    /// Whether an element with this role and accessible name is there now.
    async fn has_named(&self, role: &str, name: &str) -> bool {
        !self
            .find_named(None, candidates(role), Some(role), name)
            .await
            .is_empty()
    }

    /// A region (a section with a name), such as an audience's settings.
    async fn region(&self, name: &str) -> Element {
        self.named("region", name, 20).await
    }

    /// The form field labelled `label`, whatever its kind, within `secs`.
    async fn field_in(&self, within: Option<&Element>, label: &str, secs: u64) -> Element {
        self.the_one(within, FIELDS, None, label, secs).await
    }

    async fn field(&self, label: &str) -> Element {
        self.field_in(None, label, 20).await
    }

    async fn has_field(&self, label: &str) -> bool {
        !self.find_named(None, FIELDS, None, label).await.is_empty()
    }

    /// Types into the field labelled `label`, replacing what was there.
    async fn type_into(&self, label: &str, text: &str) {
        let e = self.field(label).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Clicks the button named `name`.
    async fn click_button(&self, name: &str) {
        self.named("button", name, 10).await.click().await.unwrap();
    }

    /// An element with this role whose text says `words`, within `secs`:
    /// statuses, alerts and screens have no name, only what they say.
    async fn saying(&self, role: &str, words: &str, secs: u64) -> Element {
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
    async fn says(&self, role: &str, words: &str) -> bool {
        self.said(role, words).await.is_some()
    }

    /// The first element with this role that says `words` now.
    async fn said(&self, role: &str, words: &str) -> Option<Element> {
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
    async fn dialog(&self, secs: u64) -> Element {
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

    async fn open_dialog(&self) -> Option<Element> {
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
    async fn dialog_closes(&self, secs: u64) {
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
    async fn list_items(&self, name: &str) -> Vec<Element> {
        self.named("list", name, 10)
            .await
            .find_all(Locator::Css(":scope > li"))
            .await
            .unwrap()
    }

    /// Waits up to `secs` for the list named `name` to hold `n` items.
    async fn list_holds(&self, name: &str, n: usize, secs: u64) {
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
    async fn description(&self, e: &Element) -> String {
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
    async fn focused(&self) -> (String, String) {
        let e = self.client.active_element().await.unwrap();
        self.role_and_name(&e).await
    }

    async fn sign_in(&self, app: &TestApp, page: &str, email: &str) {
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
    async fn session_from_page(&self) -> (u16, Value) {
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

    async fn screenshot(&self, name: &str) {
        let dir = workspace().join("target").join("e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Browser console messages that mention the Content Security Policy.
    async fn csp_errors(&self) -> Vec<String> {
        let id = self.client.session_id().await.unwrap().unwrap();
        let res = self
            .http
            .post(format!("{}/session/{id}/se/log", self.driver_url))
            .json(&json!({"type": "browser"}))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        body["value"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|e| e["message"].as_str())
                    .filter(|m| m.contains("Content Security Policy") || m.contains("Refused to"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn close(mut self) {
        let errors = self.csp_errors().await;
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
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

/// A browser signed in as the demo admin, on `path`.
async fn admin_at(app: &TestApp, path: &str) -> Browser {
    let b = Browser::launch().await;
    b.sign_in(app, "/login", "admin@demo.test").await;
    b.region("Agents").await;
    b.goto(app, path).await;
    b
}

/// Presses one key (a WebDriver key code such as `'\u{E007}'`, Enter).
async fn press(b: &Browser, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    b.client.perform_actions(keys).await.unwrap();
}

async fn console_app(idle_min_secs: u64) -> TestApp {
    spawn_app_with(Options {
        real_clock: true,
        sweep_interval_secs: 1,
        static_dir: Some(dist()),
        idle_min_secs,
        ..Options::default()
    })
    .await
}

/// Gives agents a 10 s idle timeout with the warning at 80%.
async fn ten_second_agents(app: &TestApp) {
    let admin = app.login("admin@demo.test").await;
    let res = app
        .change_settings(&admin, |s| {
            s.agents.idle_timeout_secs = 10;
            s.agents.warning = Warning::Percent { percent: 80 };
        })
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.post("/api/auth/logout", &admin, json!({})).await;
}

#[tokio::test]
async fn admin_moves_the_agent_slider_and_offers_remember_me_to_requesters() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let b = Browser::launch().await;
    b.goto(&app, "/login").await;
    b.field("Account").await;
    b.screenshot("login").await;
    b.sign_in(&app, "/login", "admin@demo.test").await;
    let agents = b.region("Agents").await;
    let slider = b.field_in(Some(&agents), "Idle timeout", 20).await;
    assert_eq!(b.role_and_name(&slider).await.0, "slider");
    assert_eq!(
        slider.attr("aria-valuetext").await.unwrap().as_deref(),
        Some("8 hours")
    );
    assert!(
        agents
            .text()
            .await
            .unwrap()
            .contains("Best practice: 15 minutes for accounts that handle customer data."),
        "agents above 15 minutes get the hint"
    );
    // Keyboard: Home moves a slider to its first stop, 15 minutes.
    slider.send_keys("\u{E011}").await.unwrap();
    eventually(5, "the slider says 15 minutes", async || {
        slider.attr("aria-valuetext").await.unwrap().as_deref() == Some("15 minutes")
    })
    .await;
    b.field("Offer Remember me at requester login")
        .await
        .click()
        .await
        .unwrap();
    let save = b.named("button", "Save", 5).await;
    assert!(save.is_enabled().await.unwrap());
    save.click().await.unwrap();
    b.saying("status", "Saved", 10).await;

    b.client.refresh().await.unwrap();
    let agents = b.region("Agents").await;
    let slider = b.field_in(Some(&agents), "Idle timeout", 20).await;
    assert_eq!(
        slider.attr("aria-valuetext").await.unwrap().as_deref(),
        Some("15 minutes")
    );
    let remember = b.field("Offer Remember me at requester login").await;
    assert_eq!(b.role_and_name(&remember).await.0, "checkbox");
    assert_eq!(
        remember.prop("checked").await.unwrap().as_deref(),
        Some("true")
    );
    b.client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    b.screenshot("security").await;
    // The server agrees.
    let options: Value = app
        .client
        .get(app.url("/api/accounts/demo/login-options"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(options["requesters"]["remember_me"], true);
    b.close().await;
}

#[tokio::test]
async fn a_custom_value_below_the_limit_shows_the_error_and_keeps_save_disabled() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(900).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "admin@demo.test").await;
    let agents = b.region("Agents").await;
    let custom = b.field_in(Some(&agents), "Custom idle timeout", 20).await;
    assert_eq!(b.role_and_name(&custom).await.0, "spinbutton");
    // 8 hours shows as "8" hours: in minutes it is 480; make it 5 minutes.
    b.field_in(Some(&agents), "Custom idle timeout unit", 5)
        .await
        .select_by_value("minutes")
        .await
        .unwrap();
    eventually(5, "8 hours converted to 480 minutes", async || {
        custom.prop("value").await.unwrap().as_deref() == Some("480")
    })
    .await;
    custom.clear().await.unwrap();
    custom.send_keys("5").await.unwrap();
    // The error is the field's description, and the field is invalid.
    eventually(5, "the field is marked invalid", async || {
        custom.attr("aria-invalid").await.unwrap().as_deref() == Some("true")
    })
    .await;
    assert_eq!(
        b.description(&custom).await,
        "The idle timeout must be at least 15 minutes."
    );
    let save = b.named("button", "Save", 5).await;
    assert!(!save.is_enabled().await.unwrap(), "Save stays disabled");
    custom.clear().await.unwrap();
    custom.send_keys("20").await.unwrap();
    eventually(5, "Save is enabled", async || {
        save.is_enabled().await.unwrap()
    })
    .await;
    assert_eq!(b.description(&custom).await, "");
    assert_eq!(
        custom.attr("aria-invalid").await.unwrap().as_deref(),
        Some("false")
    );
    b.close().await;
}

/// The desk's availability switch, once the desk has loaded.
async fn availability(b: &Browser) -> Element {
    b.named("switch", "Available for new conversations", 20)
        .await
}

#[tokio::test]
async fn an_idle_agent_is_warned_and_then_signed_out_with_the_reason() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    ten_second_agents(&app).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent1@demo.test").await;
    let available = availability(&b).await;
    eventually(20, "the agent is available", async || {
        available.prop("checked").await.unwrap().as_deref() == Some("true")
            && available.is_enabled().await.unwrap()
    })
    .await;
    b.screenshot("desk").await;
    let (_, view) = b.session_from_page().await;
    let last = time::OffsetDateTime::parse(
        view["last_activity_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();

    let dialog = b.named("alertdialog", "Are you still there?", 15).await;
    let after = (time::OffsetDateTime::now_utc() - last).as_seconds_f64();
    assert!(
        (7.0..=9.5).contains(&after),
        "warning {after:.1} s after the last activity, expected about 8"
    );
    b.named_in(Some(&dialog), "button", "Stay signed in", 1)
        .await;
    b.screenshot("warning").await;

    // A key press dismisses it and the session goes on.
    b.press_key().await;
    b.dialog_closes(2).await;
    let (status, view) = b.session_from_page().await;
    assert_eq!(status, 200);
    let deadline = time::OffsetDateTime::parse(
        view["idle_expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();

    // Left alone: the signed-out screen within a second of the deadline.
    let screen = b.saying("status", "Signed out", 20).await;
    let late = (time::OffsetDateTime::now_utc() - deadline).as_seconds_f64();
    assert!(
        (-0.3..=1.0).contains(&late),
        "signed-out screen {late:.2} s after the deadline"
    );
    let said = screen.text().await.unwrap();
    assert!(
        said.contains("You were signed out after 10 seconds of inactivity."),
        "{said}"
    );
    b.named("link", "Sign in again", 1).await;
    b.screenshot("signed-out").await;
    let (status, _) = b.session_from_page().await;
    assert_eq!(status, 401);
    let reason: String = sqlx::Row::try_get(
        &sqlx::query("SELECT end_reason FROM sessions WHERE user_id = $1")
            .bind(app.user_id("agent1@demo.test").await)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap(),
        "end_reason",
    )
    .unwrap();
    assert_eq!(reason, "idle_timeout");
    b.close().await;
}

#[tokio::test]
async fn two_tabs_share_activity_and_sign_out() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    ten_second_agents(&app).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent1@demo.test").await;
    availability(&b).await;
    let first = b.client.window().await.unwrap();
    let second = b.client.new_window(true).await.unwrap().handle;
    b.client.switch_to_window(second.clone()).await.unwrap();
    b.goto(&app, "/desk").await;
    availability(&b).await;
    b.client.switch_to_window(first.clone()).await.unwrap();

    // Input in the first tab for 14 s, longer than the idle timeout.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(14) {
        b.press_key().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    b.client.switch_to_window(second.clone()).await.unwrap();
    assert!(
        !b.says("status", "Signed out").await,
        "the other tab stayed signed in"
    );
    assert!(b.open_dialog().await.is_none(), "and was not warned");
    let (status, _) = b.session_from_page().await;
    assert_eq!(status, 200);

    // Signing out in one tab signs out the other.
    b.client.switch_to_window(first).await.unwrap();
    b.click_button("Sign out").await;
    b.saying("status", "Signed out", 5).await;
    b.client.switch_to_window(second).await.unwrap();
    b.saying("status", "You signed out.", 5).await;
    b.close().await;
}

#[tokio::test]
async fn the_requester_login_offers_remember_me_only_when_the_policy_does() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let b = Browser::launch().await;
    b.goto(&app, "/portal/login?account=demo").await;
    b.field("Password").await;
    // The account's name shows once its options have arrived.
    b.client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::XPath("//p[normalize-space()='Demo Support']"))
        .await
        .unwrap();
    assert!(
        !b.has_field("Remember me").await,
        "requesters are not offered Remember me by default"
    );
    b.goto(&app, "/login?account=demo").await;
    let remember = b.field_in(None, "Remember me", 10).await;
    assert_eq!(b.role_and_name(&remember).await.0, "checkbox");

    let admin = app.login("admin@demo.test").await;
    let res = app
        .change_settings(&admin, |s| s.requesters.remember_me = true)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    b.goto(&app, "/portal/login?account=demo").await;
    b.field_in(None, "Remember me", 10).await;
    b.close().await;
}

#[tokio::test]
async fn an_admin_revokes_an_agents_session_and_the_desk_says_so() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let agent = Browser::launch().await;
    agent.sign_in(&app, "/login", "agent1@demo.test").await;
    availability(&agent).await;
    // A second tab of the agent's browser follows the first.
    let first = agent.client.window().await.unwrap();
    let second = agent.client.new_window(true).await.unwrap().handle;
    agent.client.switch_to_window(second.clone()).await.unwrap();
    agent.goto(&app, "/desk").await;
    availability(&agent).await;
    agent.client.switch_to_window(first).await.unwrap();

    let admin = admin_at(&app, "/admin/sessions").await;
    let revoke = admin
        .named("button", "Revoke session of agent1@demo.test", 20)
        .await;
    admin.screenshot("sessions").await;
    revoke.click().await.unwrap();
    // A confirmation names what follows before anything happens.
    let dialog = admin.dialog(5).await;
    let said = dialog.text().await.unwrap();
    assert!(said.contains("last session"), "{said}");
    assert!(said.contains("unavailable"), "{said}");
    admin.screenshot("sessions-confirm").await;
    let end = admin
        .named_in(Some(&dialog), "button", "End session", 1)
        .await;
    end.click().await.unwrap();
    let clicked = Instant::now();
    let screen = agent.saying("status", "Signed out", 5).await;
    let took = clicked.elapsed();
    println!("the revoked desk showed the signed-out screen {took:?} after the click");
    assert!(
        took < Duration::from_secs(1),
        "the desk learned of the revocation after {took:?}"
    );
    assert!(screen
        .text()
        .await
        .unwrap()
        .contains("because an admin ended your session"));
    agent.screenshot("revoked").await;
    agent.client.switch_to_window(second).await.unwrap();
    agent.saying("status", "Signed out", 2).await;
    admin.saying("status", "Session ended.", 10).await;
    assert!(
        !admin
            .has_named("button", "Revoke session of agent1@demo.test")
            .await
    );

    admin.goto(&app, "/admin/audit").await;
    let cell = admin.saying("cell", "Session ended by someone", 10).await;
    assert_eq!(
        cell.attr("title").await.unwrap().as_deref(),
        Some("session.revoked"),
        "the code on hover"
    );
    // Whose session it was, by name.
    let row = admin
        .saying("row", "Session ended by someone", 1)
        .await
        .text()
        .await
        .unwrap();
    assert!(row.contains("Alex Agent (session "), "{row}");
    assert!(row.contains("why: revoked"), "{row}");
    admin.screenshot("audit").await;
    agent.close().await;
    admin.close().await;
}

#[tokio::test]
async fn a_revocation_on_another_replica_reaches_the_desk_within_a_second() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let a = spawn_app_with(Options {
        real_clock: true,
        postgres: true,
        static_dir: Some(dist()),
        ..Options::default()
    })
    .await;
    let b = a
        .replica_with(Options {
            real_clock: true,
            static_dir: Some(dist()),
            ..Options::default()
        })
        .await;
    let agent = Browser::launch().await;
    agent.sign_in(&b, "/login", "agent1@demo.test").await;
    availability(&agent).await;
    let (_, view) = agent.session_from_page().await;
    let id = view["session_id"].as_str().unwrap().to_owned();
    let admin = a.login("admin@demo.test").await;
    let started = Instant::now();
    let res = a.delete(&format!("/api/admin/sessions/{id}"), &admin).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    agent.saying("status", "Signed out", 5).await;
    let took = started.elapsed();
    println!("a revocation on replica a reached the desk served by b in {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    agent.close().await;
}

#[tokio::test]
async fn my_sessions_lists_both_browsers_and_signs_out_the_other() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let laptop = Browser::launch().await;
    laptop.sign_in(&app, "/login", "agent1@demo.test").await;
    availability(&laptop).await;
    let phone = Browser::launch().await;
    phone.sign_in(&app, "/login", "agent1@demo.test").await;
    availability(&phone).await;

    laptop
        .named("link", "My sessions", 5)
        .await
        .click()
        .await
        .unwrap();
    laptop.list_holds("Your sessions", 2, 10).await;
    let mut this = None;
    for item in laptop.list_items("Your sessions").await {
        if item.attr("aria-current").await.unwrap().as_deref() == Some("true") {
            this = Some(item.text().await.unwrap());
        }
    }
    let marked = this.expect("this browser's session is marked current");
    assert!(marked.contains("This browser"), "{marked}");
    assert!(marked.contains("Chrome on Linux"), "{marked}");
    laptop.screenshot("my-sessions").await;
    laptop.click_button("Sign out Chrome on Linux").await;
    let screen = phone.saying("status", "Signed out", 5).await;
    assert!(screen.text().await.unwrap().contains("Signed out"));
    laptop.saying("status", "Signed out that session.", 5).await;
    laptop.list_holds("Your sessions", 1, 5).await;
    laptop.close().await;
    phone.close().await;
}

#[tokio::test]
async fn the_absolute_limit_gives_a_heads_up_and_the_page_locks_even_without_the_server() {
    use vigil_server::store::{Invalidation, Subscriber};
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let admin = app.login("admin@demo.test").await;
    let res = app
        .change_settings(&admin, |s| {
            s.agents.idle_timeout_secs = 1800;
            s.agents.absolute_timeout_secs = 3600;
            s.agents.warning = Warning::Before { secs: 60 };
        })
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent1@demo.test").await;
    availability(&b).await;
    let (_, view) = b.session_from_page().await;
    let id = view["session_id"].as_str().unwrap().to_owned();
    // Move the sign-in back so the hour is up in 15 s.
    sqlx::query("UPDATE sessions SET created_at = created_at - 3585000 WHERE id = $1")
        .bind(&id)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    app.state
        .sessions
        .memory
        .invalidated(&[Invalidation::Session(id.clone())]);

    let dialog = b.named("alertdialog", "Session limit ahead", 5).await;
    let text = dialog.text().await.unwrap();
    assert!(
        text.contains("Your session reaches its 1-hour limit at"),
        "{text}"
    );
    assert!(text.contains("save your work"), "{text}");
    b.named_in(Some(&dialog), "link", "Sign in again now", 1)
        .await;
    assert!(!text.contains("Stay signed in"), "{text}");
    b.screenshot("heads-up").await;
    // Input now reports no activity: it cannot move the limit.
    let before = app.state.sessions.metrics.api_requests();
    for _ in 0..5 {
        b.press_key().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.state.sessions.metrics.api_requests(),
        before,
        "input under the heads-up sent requests"
    );

    // The server goes away; at the limit the page locks by itself.
    app.handle.stop(false).await;
    let lock = b.saying("status", "Session ended", 20).await;
    assert!(lock
        .text()
        .await
        .unwrap()
        .contains("Checking with the server"));
    assert!(
        !b.has_named("switch", "Available for new conversations")
            .await,
        "the desk is hidden"
    );
    b.screenshot("locked").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        b.says("status", "Session ended").await,
        "still locked without the server"
    );
    b.close().await;
}

#[tokio::test]
async fn a_draft_survives_an_idle_sign_out_and_signing_in_again_returns_to_the_page() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let admin = app.login("admin@demo.test").await;
    let res = app
        .change_settings(&admin, |s| s.requesters.idle_timeout_secs = 10)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let b = Browser::launch().await;
    b.sign_in(&app, "/portal/login", "requester@demo.test")
        .await;
    b.type_into("New conversation", "Half-written question")
        .await;
    b.saying("status", "Signed out", 30).await;
    b.named("link", "Sign in again", 1)
        .await
        .click()
        .await
        .unwrap();
    b.type_into("Account", "demo").await;
    b.type_into("Email", "requester@demo.test").await;
    b.type_into("Password", &format!("{PASSWORD}\u{E007}"))
        .await;
    let subject = b.field("New conversation").await;
    assert!(b.client.current_url().await.unwrap().path() == "/portal");
    eventually(5, "the draft is back", async || {
        subject.prop("value").await.unwrap().unwrap_or_default() == "Half-written question"
    })
    .await;

    // An explicit sign-out forgets it.
    b.click_button("Sign out").await;
    b.saying("status", "Signed out", 5).await;
    b.sign_in(&app, "/portal/login", "requester@demo.test")
        .await;
    let field = b.field("New conversation").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(field.prop("value").await.unwrap().unwrap_or_default(), "");
    b.close().await;
}

#[tokio::test]
async fn an_idle_desk_sends_at_most_two_requests_a_minute_and_ten_tabs_three() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent2@demo.test").await;
    availability(&b).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let count = |app: &TestApp| app.state.sessions.metrics.api_requests();
    let before = count(&app);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let one = count(&app) - before;
    println!("an idle desk tab sent {one} requests in a minute");
    assert!(one <= 2, "{one} requests a minute from one idle tab");

    for _ in 0..9 {
        let tab = b.client.new_window(true).await.unwrap().handle;
        b.client.switch_to_window(tab).await.unwrap();
        b.goto(&app, "/desk").await;
        availability(&b).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = count(&app);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let ten = count(&app) - before;
    println!("ten idle desk tabs of one browser sent {ten} requests in a minute");
    assert!(ten <= 3, "{ten} requests a minute from ten idle tabs");
    b.close().await;
}

#[tokio::test]
async fn a_requester_opens_a_conversation_in_the_portal() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/portal/login", "requester@demo.test")
        .await;
    b.type_into("New conversation", "My invoice is wrong").await;
    b.click_button("Send").await;
    b.saying("listitem", "My invoice is wrong", 10).await;
    b.saying("status", "An agent has it", 5).await;
    b.screenshot("portal").await;
    b.close().await;
}

#[tokio::test]
async fn the_team_page_signs_a_person_out_everywhere_after_saying_what_follows() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let laptop = app.login("agent1@demo.test").await;
    let _phone = app.login("agent1@demo.test").await;
    let admin = Browser::launch().await;
    admin.sign_in(&app, "/login", "admin@demo.test").await;
    admin.region("Agents").await;
    let nav = admin.named("navigation", "Main", 5).await;
    admin
        .named_in(Some(&nav), "link", "Team", 5)
        .await
        .click()
        .await
        .unwrap();
    let button = admin
        .named("button", "Sign out everywhere: agent1@demo.test", 10)
        .await;
    assert_eq!(admin.client.title().await.unwrap(), "Team — Vigil");
    admin.screenshot("team").await;
    button.click().await.unwrap();
    let dialog = admin
        .named("alertdialog", "Sign Alex Agent out everywhere?", 5)
        .await;
    let said = dialog.text().await.unwrap();
    assert!(said.contains("All 2 of their live sessions end."), "{said}");
    assert!(said.contains("open conversation"), "{said}");
    // Cancel changes nothing.
    admin
        .named_in(Some(&dialog), "button", "Cancel", 1)
        .await
        .click()
        .await
        .unwrap();
    admin.dialog_closes(2).await;
    assert_eq!(
        app.get("/api/session", &laptop).await.status(),
        StatusCode::OK
    );
    button.click().await.unwrap();
    let dialog = admin.dialog(5).await;
    admin
        .named_in(Some(&dialog), "button", "Sign out everywhere", 1)
        .await
        .click()
        .await
        .unwrap();
    admin.saying("status", "out of 2 session(s)", 10).await;
    app.assert_signed_out(&laptop, "revoked").await;
    admin.close().await;
}

/// The CSV export link's address once it contains `wanted`.
async fn export_href(b: &Browser, wanted: &str) -> String {
    let link = b.named("link", "Export CSV", 5).await;
    let mut href = String::new();
    eventually(5, "the export follows the filters", async || {
        href = link.attr("href").await.unwrap().unwrap_or_default();
        href.contains(wanted)
    })
    .await;
    assert!(
        link.attr("download").await.unwrap().is_some(),
        "the link downloads"
    );
    href
}

#[tokio::test]
async fn an_admin_finds_the_revocations_in_the_audit_log_and_exports_them() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let api_admin = app.login("admin@demo.test").await;
    for _ in 0..2 {
        let agent = app.login("agent1@demo.test").await;
        let id = app.session_view(&agent).await["session_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = app
            .delete(&format!("/api/admin/sessions/{id}"), &api_admin)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let b = admin_at(&app, "/admin/audit").await;
    b.named("table", "Audit log entries", 20).await;
    assert_eq!(b.client.title().await.unwrap(), "Audit log — Vigil");
    // Labels in words, the raw code on hover.
    let login = b.saying("cell", "Signed in", 5).await;
    assert_eq!(
        login.attr("title").await.unwrap().as_deref(),
        Some("session.login")
    );
    let action = b.field("Action").await;
    assert_eq!(b.role_and_name(&action).await.0, "combobox");
    action.select_by_value("session.revoked").await.unwrap();
    let started = Instant::now();
    loop {
        let rows = b
            .named("table", "Audit log entries", 5)
            .await
            .find_all(Locator::Css("tbody tr"))
            .await
            .unwrap();
        let mut texts = Vec::new();
        for r in &rows {
            texts.push(r.text().await.unwrap());
        }
        if texts.len() == 2 && texts.iter().all(|t| t.contains("Session ended by someone")) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "filtered rows: {texts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.screenshot("audit").await;
    let href = export_href(&b, "action=session.revoked").await;
    let csv = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => r.text()).then(done);",
            vec![json!(href)],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,at,actor,action,target,details");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1..].iter().all(|l| l.contains("session.revoked")));

    // Every sign-out of one agent last week: the sign-outs filter, the
    // person and the date range, typed as a person would.
    b.field("Action")
        .await
        .select_by_value("session.logout,session.expired,session.revoked")
        .await
        .unwrap();
    b.type_into(
        "Person (email): by them or about them",
        "agent1@demo.test\n",
    )
    .await;
    let week_ago = time::OffsetDateTime::now_utc().date() - time::Duration::days(7);
    let from = b.field("From").await;
    from.send_keys(&format!(
        "{:02}{:02}{}",
        u8::from(week_ago.month()),
        week_ago.day(),
        week_ago.year()
    ))
    .await
    .unwrap();
    let href = export_href(&b, &format!("from={week_ago}")).await;
    assert!(href.contains("person=agent1%40demo.test"), "{href}");
    assert!(
        href.contains("action=session.logout%2Csession.expired%2Csession.revoked"),
        "{href}"
    );
    let csv = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => r.text()).then(done);",
            vec![json!(href)],
        )
        .await
        .unwrap();
    let lines: Vec<&str> = csv.as_str().unwrap().lines().collect();
    assert_eq!(lines.len(), 3, "both revocations of agent1: {lines:?}");
    b.close().await;
}

#[tokio::test]
async fn the_security_page_offers_only_allowed_presets_converts_units_and_discards() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // Ops narrowed the bounds: idle timeouts of at least an hour.
    let app = console_app(3600).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "admin@demo.test").await;
    let agents = b.region("Agents").await;
    let slider = b.field_in(Some(&agents), "Idle timeout", 20).await;
    assert_eq!(b.client.title().await.unwrap(), "Session security — Vigil");
    assert!(b.text("main").await.contains("The defaults, never changed"));
    // 1 h, 2 h, 4 h, 8 h, 24 h: the 15 and 30 minute presets are gone.
    assert_eq!(slider.attr("max").await.unwrap().as_deref(), Some("4"));
    slider.send_keys("\u{E011}").await.unwrap();
    eventually(5, "the slider says 1 hour", async || {
        slider.attr("aria-valuetext").await.unwrap().as_deref() == Some("1 hour")
    })
    .await;
    // Changing the unit keeps the duration: 1 hour is 60 minutes.
    let custom = b.field_in(Some(&agents), "Custom idle timeout", 5).await;
    assert_eq!(custom.prop("value").await.unwrap().as_deref(), Some("1"));
    b.field_in(Some(&agents), "Custom idle timeout unit", 5)
        .await
        .select_by_value("minutes")
        .await
        .unwrap();
    eventually(5, "1 hour converted to 60 minutes", async || {
        custom.prop("value").await.unwrap().as_deref() == Some("60")
    })
    .await;
    assert_eq!(
        slider.attr("aria-valuetext").await.unwrap().as_deref(),
        Some("1 hour")
    );
    // Switching the warning to a share keeps about the same instant: a
    // minute before an hour is the 95% most allowed.
    b.field_in(Some(&agents), "At a share of the idle timeout", 5)
        .await
        .click()
        .await
        .unwrap();
    let percent = b
        .field_in(
            Some(&agents),
            "Warn once this much of the idle timeout has passed",
            5,
        )
        .await;
    assert_eq!(percent.prop("value").await.unwrap().as_deref(), Some("95"));
    // Discard: back to what is stored.
    b.click_button("Discard changes").await;
    eventually(5, "the slider is back at 8 hours", async || {
        let slider = b.field_in(Some(&agents), "Idle timeout", 5).await;
        slider.attr("aria-valuetext").await.unwrap().as_deref() == Some("8 hours")
    })
    .await;
    b.field_in(Some(&agents), "Warn this long before sign-out", 5)
        .await;
    let save = b.named("button", "Save", 5).await;
    assert!(!save.is_enabled().await.unwrap(), "nothing to save");
    b.close().await;
}

#[tokio::test]
async fn offline_shows_a_banner_and_a_sign_out_that_cannot_reach_the_server_says_so() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent2@demo.test").await;
    availability(&b).await;
    // The browser's own offline and online events drive the banner.
    b.client
        .execute("window.dispatchEvent(new Event('offline'))", vec![])
        .await
        .unwrap();
    b.saying("status", "You are offline", 5).await;
    b.client
        .execute("window.dispatchEvent(new Event('online'))", vec![])
        .await
        .unwrap();
    eventually(5, "the offline banner goes", async || {
        !b.says("status", "You are offline").await
    })
    .await;
    // The server goes away; signing out cannot reach it, and says so.
    app.handle.stop(false).await;
    b.click_button("Sign out").await;
    b.saying(
        "alert",
        "could not be reached, so you are not signed out yet",
        10,
    )
    .await;
    assert!(
        !b.says("status", "Signed out").await,
        "not told it signed out"
    );
    b.screenshot("offline-sign-out").await;
    b.close().await;
}

#[tokio::test]
async fn keyboard_users_confirm_and_cancel_in_a_dialog_that_keeps_focus_and_gives_it_back() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let _agent = app.login("agent1@demo.test").await;
    let b = admin_at(&app, "/admin/team").await;
    let button = b
        .named("button", "Sign out everywhere: agent1@demo.test", 10)
        .await;
    // The nav says which page this is.
    let nav = b.named("navigation", "Main", 5).await;
    let team = b.named_in(Some(&nav), "link", "Team", 5).await;
    assert_eq!(
        team.attr("aria-current").await.unwrap().as_deref(),
        Some("page")
    );
    // Keyboard only: focus the button, press Enter.
    b.client
        .execute(
            "arguments[0].focus()",
            vec![serde_json::to_value(&button).unwrap()],
        )
        .await
        .unwrap();
    press(&b, '\u{E007}').await; // Enter
    b.dialog(5).await;
    assert_eq!(
        b.focused().await,
        ("button".to_owned(), "Cancel".to_owned()),
        "the safe choice has focus"
    );
    // Tab stays in the dialog: the page behind is inert.
    for _ in 0..4 {
        press(&b, '\u{E004}').await; // Tab
        let inside: bool = b
            .client
            .execute(
                "return !!document.activeElement.closest('[role=alertdialog]');",
                vec![],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap();
        assert!(inside, "focus left the dialog: {:?}", b.focused().await);
    }
    assert_eq!(
        b.client
            .execute(
                "return document.querySelector('main').closest('[inert]') !== null",
                vec![]
            )
            .await
            .unwrap(),
        json!(true),
        "the page behind is inert"
    );
    // Escape closes it, and focus is back on the button that opened it.
    press(&b, '\u{E00C}').await; // Escape
    b.dialog_closes(5).await;
    assert_eq!(
        b.focused().await,
        (
            "button".to_owned(),
            "Sign out everywhere: agent1@demo.test".to_owned()
        )
    );
    b.close().await;
}

#[tokio::test]
async fn every_admin_page_fits_a_phone() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let _agent = app.login("agent1@demo.test").await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "admin@demo.test").await;
    b.region("Agents").await;
    b.client.set_window_size(390, 844).await.unwrap();
    // Each page, with what shows it has loaded.
    let pages: [(&str, &str, &str, &str); 5] = [
        (
            "/admin/sessions",
            "button",
            "Revoke session of agent1@demo.test",
            "sessions-phone",
        ),
        ("/admin/team", "table", "Team members", "team-phone"),
        ("/admin/audit", "table", "Audit log entries", "audit-phone"),
        ("/admin/security", "region", "Agents", "security-phone"),
        ("/me/sessions", "list", "Your sessions", "my-sessions-phone"),
    ];
    for (path, role, name, picture) in pages {
        b.goto(&app, path).await;
        b.named(role, name, 10).await;
        let overflow = b
            .client
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap()
            .as_i64()
            .unwrap();
        b.screenshot(picture).await;
        assert!(
            overflow <= 0,
            "{path} is {overflow} px wider than the phone"
        );
    }
    b.close().await;
}

#[tokio::test]
async fn the_desk_says_when_the_agent_is_unavailable_and_keeps_on_a_call_across_a_reload() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent1@demo.test").await;
    let available = availability(&b).await;
    eventually(20, "the switch is ready", async || {
        available.is_enabled().await.unwrap()
    })
    .await;
    assert!(
        !b.says("status", "You are unavailable").await,
        "available: no notice"
    );
    available.click().await.unwrap();
    b.saying("status", "You are unavailable", 5).await;
    // "On a call" survives a reload of the tab.
    b.named("switch", "On a call", 5)
        .await
        .click()
        .await
        .unwrap();
    b.client.refresh().await.unwrap();
    let on_call = b.named("switch", "On a call", 20).await;
    eventually(5, "On a call is kept", async || {
        on_call.prop("checked").await.unwrap().as_deref() == Some("true")
    })
    .await;
    // When calls do not count, the switch is not offered.
    let admin = app.login("admin@demo.test").await;
    let res = app
        .change_settings(&admin, |s| s.activity.active_call_extends = false)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    b.client.refresh().await.unwrap();
    availability(&b).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !b.has_named("switch", "On a call").await,
        "calls do not count here"
    );
    b.close().await;
}

#[tokio::test]
async fn saving_settings_that_end_sessions_at_once_asks_first() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let _agent = app.login("agent1@demo.test").await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "admin@demo.test").await;
    let agents = b.region("Agents").await;
    let custom = b.field_in(Some(&agents), "Custom idle timeout", 20).await;
    // The agent has been idle for longer than the new timeout.
    tokio::time::sleep(Duration::from_secs(7)).await;
    b.field_in(Some(&agents), "Custom idle timeout unit", 5)
        .await
        .select_by_value("seconds")
        .await
        .unwrap();
    custom.clear().await.unwrap();
    custom.send_keys("6").await.unwrap();
    // A fixed warning must be 10 s or more: warn at a share instead.
    b.field_in(Some(&agents), "At a share of the idle timeout", 5)
        .await
        .click()
        .await
        .unwrap();
    // The preview says what saving would do.
    eventually(10, "the preview says sessions end at once", async || {
        let Ok(impact) = agents.find(Locator::Css("[role=status]")).await else {
            return false;
        };
        let said = impact.text().await.unwrap_or_default();
        said.contains("end at once") && !said.contains(": 0 of")
    })
    .await;
    let save = b.named("button", "Save", 5).await;
    eventually(5, "Save is enabled", async || {
        save.is_enabled().await.unwrap()
    })
    .await;
    save.click().await.unwrap();
    let dialog = b.dialog(5).await;
    let said = dialog.text().await.unwrap();
    assert!(said.contains("at once"), "{said}");
    b.named_in(Some(&dialog), "button", "Cancel", 1)
        .await
        .click()
        .await
        .unwrap();
    let stored: Value = app
        .get(
            "/api/admin/security-settings",
            &app.login("admin@demo.test").await,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stored["settings"]["agents"]["idle_timeout_secs"], 28800,
        "nothing saved"
    );
    b.close().await;
}

#[tokio::test]
async fn sessions_filter_by_person_and_audience_and_audit_shows_settings_in_words() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let _agent = app.login("agent1@demo.test").await;
    let _requester = app.login("requester@demo.test").await;
    let api_admin = app.login("admin@demo.test").await;
    let res = app
        .change_settings(&api_admin, |s| s.agents.idle_timeout_secs = 900)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let b = admin_at(&app, "/admin/sessions").await;
    b.named("button", "Revoke session of agent1@demo.test", 10)
        .await;
    let all = b.list_items("Live sessions").await.len();
    assert!(all >= 4, "{all}");
    // By person: the filter narrows as one types.
    let person = b.field("Person").await;
    assert_eq!(b.role_and_name(&person).await.0, "searchbox");
    person.send_keys("agent1").await.unwrap();
    b.list_holds("Live sessions", 1, 5).await;
    // By audience (a blank search is no search).
    person.clear().await.unwrap();
    person.send_keys(" ").await.unwrap();
    b.field("Audience")
        .await
        .select_by_value("requesters")
        .await
        .unwrap();
    b.list_holds("Live sessions", 1, 5).await;
    let items = b.list_items("Live sessions").await;
    assert!(items[0]
        .text()
        .await
        .unwrap()
        .contains("requester@demo.test"));

    // The settings change in words, in the audit log.
    b.goto(&app, "/admin/audit").await;
    let change = b.saying("listitem", "idle timeout", 10).await;
    assert_eq!(
        change.text().await.unwrap(),
        "Agents: idle timeout: 8 hours → 15 minutes"
    );
    // The best-practice hint is for agents only.
    b.goto(&app, "/admin/security").await;
    let requesters = b.region("Requesters").await;
    b.field_in(Some(&requesters), "Idle timeout", 10).await;
    assert!(
        !requesters.text().await.unwrap().contains("Best practice"),
        "the hint is not for requesters"
    );
    b.close().await;
}

#[tokio::test]
async fn the_warning_is_a_timer_announced_at_marks_and_gives_focus_back() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    ten_second_agents(&app).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent1@demo.test").await;
    let notes = b.field("Notes").await;
    notes.click().await.unwrap();
    let dialog = b.named("alertdialog", "Are you still there?", 15).await;
    assert_eq!(
        b.focused().await,
        ("button".to_owned(), "Stay signed in".to_owned()),
        "the dialog takes focus"
    );
    // The countdown is a timer, quiet every second; the live region says
    // only the mark reached (2 s are left at 80% of 10 s: "10 seconds").
    let timer = dialog
        .find(Locator::Css("[role=timer]"))
        .await
        .expect("a timer in the dialog");
    assert_eq!(b.role_and_name(&timer).await.0, "timer");
    assert_eq!(
        timer.attr("aria-live").await.unwrap().as_deref(),
        Some("off")
    );
    let said = b
        .client
        .execute(
            "return document.querySelector('[role=alertdialog] [aria-live=assertive]').textContent",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(said, json!("10 seconds left before you are signed out."));
    assert!(b
        .client
        .title()
        .await
        .unwrap()
        .starts_with("Signed out in 0:0"));
    // Staying signed in gives focus back to the notes.
    b.named_in(Some(&dialog), "button", "Stay signed in", 1)
        .await
        .click()
        .await
        .unwrap();
    b.dialog_closes(3).await;
    assert_eq!(
        b.focused().await,
        ("textbox".to_owned(), "Notes".to_owned()),
        "focus goes back to the notes"
    );
    assert_eq!(b.client.title().await.unwrap(), "Desk — Vigil");
    b.close().await;
}

/// Checks `check` every 100 ms until it holds, for up to `secs`.
async fn eventually(secs: u64, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "waited {secs} s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_timeline_labels_never_meet_even_for_the_longest_durations() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let admin = app.login("admin@demo.test").await;
    // The longest words the bounds allow (29 days 23 hours 59 minutes 59
    // seconds of idle, a limit a second short of a year, warned 10 s
    // before), and the shortest policy with its warning half way.
    let res = app
        .change_settings(&admin, |s| {
            s.agents.idle_timeout_secs = 720 * 3600 - 1;
            s.agents.absolute_timeout_secs = 365 * 86400 - 1;
            s.agents.warning = Warning::Before { secs: 10 };
            s.requesters.idle_timeout_secs = 900;
            s.requesters.absolute_timeout_secs = 3600;
            s.requesters.warning = Warning::Percent { percent: 50 };
        })
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "admin@demo.test").await;
    for (audience, width) in [("Agents", 1280), ("Requesters", 1280), ("Agents", 390)] {
        b.client.set_window_size(width, 1000).await.unwrap();
        let region = b.region(audience).await;
        let picture = region
            .find(Locator::Css("[role=img]"))
            .await
            .expect("a timeline picture");
        let (role, name) = b.role_and_name(&picture).await;
        assert_eq!(role, "image", "Chromium's name for role=img");
        assert!(
            name.starts_with(&format!("{audience}: warned after")),
            "{name}"
        );
        let boxes = b
            .client
            .execute(
                "const r = e => { const b = e.getBoundingClientRect();
                                   return [b.left, b.top, b.right, b.bottom, e.textContent]; };
                 return [r(arguments[0]), ...[...arguments[0].querySelectorAll('text')].map(r)];",
                vec![serde_json::to_value(&picture).unwrap()],
            )
            .await
            .unwrap();
        let boxes: Vec<(f64, f64, f64, f64, String)> = serde_json::from_value(boxes).unwrap();
        let (frame, labels) = boxes.split_first().unwrap();
        assert_eq!(labels.len(), 4, "{labels:?}");
        for (i, a) in labels.iter().enumerate() {
            assert!(
                a.0 >= frame.0 - 0.5
                    && a.2 <= frame.2 + 0.5
                    && a.1 >= frame.1 - 0.5
                    && a.3 <= frame.3 + 0.5,
                "{audience} at {width} px: {:?} leaves the picture {frame:?}",
                a.4
            );
            // Readable: the picture scrolls in its box on a phone rather
            // than shrink its words.
            assert!(
                a.3 - a.1 >= 12.0,
                "{audience} at {width} px: {:?} is {:.1} px tall",
                a.4,
                a.3 - a.1
            );
            for c in &labels[i + 1..] {
                let apart = a.2 <= c.0 || c.2 <= a.0 || a.3 <= c.1 || c.3 <= a.1;
                assert!(apart, "{audience} at {width} px: {:?} meets {:?}", a.4, c.4);
            }
        }
        if width == 1280 {
            let dir = workspace().join("target").join("e2e");
            std::fs::create_dir_all(&dir).unwrap();
            b.client
                .execute(
                    "arguments[0].scrollIntoView({block: 'center'})",
                    vec![serde_json::to_value(&picture).unwrap()],
                )
                .await
                .unwrap();
            let png = picture.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("timeline-{audience}.png")), png).unwrap();
        }
    }
    b.close().await;
}

/// axe-core's script (`cargo xtask test` installs it from npm and says
/// where in `VIGIL_AXE`).
fn axe_script() -> String {
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
async fn axe_check(b: &Browser, axe: &str, screen: &str, found: &mut Vec<String>) {
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

#[tokio::test]
async fn axe_finds_no_violation_on_any_screen() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let admin = app.login("admin@demo.test").await;
    // Agents are warned after 10 s idle, for 10 s.
    let res = app
        .change_settings(&admin, |s| {
            s.agents.idle_timeout_secs = 20;
            s.agents.warning = Warning::Percent { percent: 50 };
        })
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let _agent2 = app.login("agent2@demo.test").await;
    let axe = axe_script();
    let mut found = Vec::new();

    let b = Browser::launch().await;
    b.goto(&app, "/login").await;
    b.field("Account").await;
    axe_check(&b, &axe, "sign-in", &mut found).await;
    // The check can fail: a button without a name is critical to axe.
    b.client
        .execute(
            "document.body.appendChild(document.createElement('button'))",
            vec![],
        )
        .await
        .unwrap();
    let mut planted = Vec::new();
    axe_check(&b, &axe, "planted", &mut planted).await;
    assert!(
        planted.iter().any(|v| v.contains("button-name (critical)")),
        "{planted:?}"
    );
    b.goto(&app, "/portal/login?account=demo").await;
    b.field("Password").await;
    axe_check(&b, &axe, "portal sign-in", &mut found).await;

    b.sign_in(&app, "/login", "admin@demo.test").await;
    b.region("Agents").await;
    axe_check(&b, &axe, "security", &mut found).await;
    b.goto(&app, "/admin/sessions").await;
    let revoke = b
        .named("button", "Revoke session of agent2@demo.test", 10)
        .await;
    axe_check(&b, &axe, "sessions", &mut found).await;
    revoke.click().await.unwrap();
    let dialog = b.dialog(5).await;
    axe_check(&b, &axe, "confirmation", &mut found).await;
    b.named_in(Some(&dialog), "button", "Cancel", 1)
        .await
        .click()
        .await
        .unwrap();
    b.goto(&app, "/admin/team").await;
    b.named("table", "Team members", 10).await;
    axe_check(&b, &axe, "team", &mut found).await;
    b.goto(&app, "/admin/audit").await;
    b.named("table", "Audit log entries", 10).await;
    axe_check(&b, &axe, "audit", &mut found).await;
    b.goto(&app, "/me/sessions").await;
    b.named("list", "Your sessions", 10).await;
    axe_check(&b, &axe, "my sessions", &mut found).await;
    b.click_button("Sign out").await;
    b.saying("status", "Signed out", 5).await;
    axe_check(&b, &axe, "signed out", &mut found).await;
    b.close().await;

    let agent = Browser::launch().await;
    agent.sign_in(&app, "/login", "agent1@demo.test").await;
    availability(&agent).await;
    axe_check(&agent, &axe, "desk", &mut found).await;
    agent.named("alertdialog", "Are you still there?", 15).await;
    axe_check(&agent, &axe, "idle warning", &mut found).await;
    agent.close().await;

    let requester = Browser::launch().await;
    requester
        .sign_in(&app, "/portal/login", "requester@demo.test")
        .await;
    requester.field("New conversation").await;
    axe_check(&requester, &axe, "portal", &mut found).await;
    requester.close().await;

    assert!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));
}
