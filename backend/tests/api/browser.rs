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
            _profile: profile,
        }
    }

    async fn goto(&self, app: &TestApp, path: &str) {
        self.client.goto(&app.url(path)).await.unwrap();
    }

    /// Waits for an element, for up to `secs`.
    async fn wait_for(&self, css: &str, secs: u64) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(secs))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waited {secs} s for {css}: {e}"))
    }

    async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
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

    async fn fill(&self, css: &str, value: &str) {
        let e = self.wait_for(css, 10).await;
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    /// A real key press (through the browser's input pipeline).
    async fn press_key(&self) {
        press(self, 'x').await;
    }

    async fn sign_in(&self, app: &TestApp, page: &str, email: &str) {
        self.goto(app, page).await;
        self.fill("#account", "demo").await;
        self.fill("#email", email).await;
        // Enter submits the form: a click could land beside the button
        // when the account's options arrive and the form grows under it.
        self.fill("#password", &format!("{PASSWORD}\u{E007}")).await;
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
        let res = reqwest::Client::new()
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

/// A browser signed in as the demo admin, on `path`.
async fn admin_at(app: &TestApp, path: &str) -> Browser {
    let b = Browser::launch().await;
    b.sign_in(app, "/login", "admin@demo.test").await;
    b.wait_for("section[aria-label='Agents']", 20).await;
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
    b.wait_for("#account", 20).await;
    b.screenshot("login").await;
    b.sign_in(&app, "/login", "admin@demo.test").await;
    let slider = b
        .wait_for(
            "section[aria-label='Agents'] input[type=range][aria-label='Idle timeout']",
            20,
        )
        .await;
    assert_eq!(
        slider.attr("aria-valuetext").await.unwrap().as_deref(),
        Some("8 hours")
    );
    // Keyboard: Home moves a slider to its first stop, 15 minutes.
    slider.send_keys("\u{E011}").await.unwrap();
    b.wait_for(
        "section[aria-label='Agents'] input[aria-valuetext='15 minutes']",
        5,
    )
    .await;
    b.client
        .find(Locator::XPath(
            "//label[normalize-space()='Offer Remember me at requester login']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let save = b
        .client
        .find(Locator::XPath("//button[normalize-space()='Save']"))
        .await
        .unwrap();
    assert!(save.is_enabled().await.unwrap());
    save.click().await.unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//*[@role='status' and contains(., 'Saved')]",
        ))
        .await
        .unwrap();

    b.client.refresh().await.unwrap();
    let slider = b
        .wait_for("section[aria-label='Agents'] input[type=range]", 20)
        .await;
    assert_eq!(
        slider.attr("aria-valuetext").await.unwrap().as_deref(),
        Some("15 minutes")
    );
    let remember = b.wait_for("#requesters-remember", 5).await;
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
    b.wait_for("#agents-idle-custom", 20).await;
    // 8 hours shows as "8" hours: in minutes it is 480; make it 5 minutes.
    let unit = b
        .client
        .find(Locator::Css("#agents-idle-custom-unit"))
        .await
        .unwrap();
    unit.select_by_value("minutes").await.unwrap();
    let custom = b.wait_for("#agents-idle-custom", 5).await;
    let started = Instant::now();
    while custom.prop("value").await.unwrap().as_deref() != Some("480") {
        assert!(started.elapsed() < Duration::from_secs(5), "not converted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.fill("#agents-idle-custom", "5").await;
    let error = b.wait_for("#agents-idle-custom-error", 5).await;
    assert_eq!(
        error.text().await.unwrap(),
        "The idle timeout must be at least 15 minutes."
    );
    let save = b
        .client
        .find(Locator::XPath("//button[normalize-space()='Save']"))
        .await
        .unwrap();
    assert!(!save.is_enabled().await.unwrap(), "Save stays disabled");
    b.fill("#agents-idle-custom", "20").await;
    b.client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::XPath(
            "//button[normalize-space()='Save' and not(@disabled)]",
        ))
        .await
        .unwrap();
    assert!(!b.exists("#agents-idle-custom-error").await);
    b.close().await;
}

#[tokio::test]
async fn an_idle_agent_is_warned_and_then_signed_out_with_the_reason() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    ten_second_agents(&app).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent1@demo.test").await;
    b.wait_for("#available:checked:enabled", 20).await;
    b.screenshot("desk").await;
    let (_, view) = b.session_from_page().await;
    let last = time::OffsetDateTime::parse(
        view["last_activity_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();

    let dialog = b.wait_for("[role=alertdialog]", 15).await;
    let after = (time::OffsetDateTime::now_utc() - last).as_seconds_f64();
    assert!(
        (7.0..=9.5).contains(&after),
        "warning {after:.1} s after the last activity, expected about 8"
    );
    assert!(dialog.text().await.unwrap().contains("Stay signed in"));
    b.screenshot("warning").await;

    // A key press dismisses it and the session goes on.
    b.press_key().await;
    let gone = Instant::now();
    while b.exists("[role=alertdialog]").await {
        assert!(
            gone.elapsed() < Duration::from_secs(2),
            "the key press did not dismiss the warning"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, view) = b.session_from_page().await;
    assert_eq!(status, 200);
    let deadline = time::OffsetDateTime::parse(
        view["idle_expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();

    // Left alone: the signed-out screen within a second of the deadline.
    let screen = b.wait_for(".signed-out", 20).await;
    let late = (time::OffsetDateTime::now_utc() - deadline).as_seconds_f64();
    assert!(
        (-0.3..=1.0).contains(&late),
        "signed-out screen {late:.2} s after the deadline"
    );
    assert!(
        screen
            .text()
            .await
            .unwrap()
            .contains("You were signed out after 10 seconds of inactivity."),
        "{}",
        screen.text().await.unwrap()
    );
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
    b.wait_for("#available", 20).await;
    let first = b.client.window().await.unwrap();
    let second = b.client.new_window(true).await.unwrap().handle;
    b.client.switch_to_window(second.clone()).await.unwrap();
    b.goto(&app, "/desk").await;
    b.wait_for("#available", 20).await;
    b.client.switch_to_window(first.clone()).await.unwrap();

    // Input in the first tab for 14 s, longer than the idle timeout.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(14) {
        b.press_key().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    b.client.switch_to_window(second.clone()).await.unwrap();
    assert!(
        !b.exists(".signed-out").await,
        "the other tab stayed signed in"
    );
    assert!(!b.exists("[role=alertdialog]").await, "and was not warned");
    let (status, _) = b.session_from_page().await;
    assert_eq!(status, 200);

    // Signing out in one tab signs out the other.
    b.client.switch_to_window(first).await.unwrap();
    b.client
        .find(Locator::XPath("//button[normalize-space()='Sign out']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for(".signed-out", 5).await;
    b.client.switch_to_window(second).await.unwrap();
    let screen = b.wait_for(".signed-out", 5).await;
    assert!(screen.text().await.unwrap().contains("You signed out."));
    b.close().await;
}

#[tokio::test]
async fn the_requester_login_offers_remember_me_only_when_the_policy_does() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let b = Browser::launch().await;
    b.goto(&app, "/portal/login?account=demo").await;
    b.wait_for("#password", 20).await;
    b.wait_for(".login .muted", 5).await; // the account's name: options loaded
    assert!(
        !b.exists("#remember").await,
        "requesters are not offered Remember me by default"
    );
    b.goto(&app, "/login?account=demo").await;
    b.wait_for("#remember", 10).await;

    let admin = app.login("admin@demo.test").await;
    let res = app
        .change_settings(&admin, |s| s.requesters.remember_me = true)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    b.goto(&app, "/portal/login?account=demo").await;
    let label = b.wait_for("label[for=remember]", 10).await;
    assert_eq!(label.text().await.unwrap(), "Remember me");
    b.close().await;
}

#[tokio::test]
async fn an_admin_revokes_an_agents_session_and_the_desk_says_so() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let agent = Browser::launch().await;
    agent.sign_in(&app, "/login", "agent1@demo.test").await;
    agent.wait_for("#available", 20).await;
    // A second tab of the agent's browser follows the first.
    let first = agent.client.window().await.unwrap();
    let second = agent.client.new_window(true).await.unwrap().handle;
    agent.client.switch_to_window(second.clone()).await.unwrap();
    agent.goto(&app, "/desk").await;
    agent.wait_for("#available", 20).await;
    agent.client.switch_to_window(first).await.unwrap();

    let admin = admin_at(&app, "/admin/sessions").await;
    let revoke = admin
        .wait_for(
            "button[aria-label='Revoke session of agent1@demo.test']",
            20,
        )
        .await;
    admin.screenshot("sessions").await;
    revoke.click().await.unwrap();
    // A confirmation names what follows before anything happens.
    let dialog = admin.wait_for("[role=alertdialog]", 5).await;
    let said = dialog.text().await.unwrap();
    assert!(said.contains("last session"), "{said}");
    assert!(said.contains("unavailable"), "{said}");
    admin.screenshot("sessions-confirm").await;
    let end = admin
        .client
        .find(Locator::XPath(
            "//div[@role='alertdialog']//button[normalize-space()='End session']",
        ))
        .await
        .unwrap();
    end.click().await.unwrap();
    let clicked = Instant::now();
    let screen = agent.wait_for(".signed-out", 5).await;
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
    agent.wait_for(".signed-out", 2).await;
    admin.wait_for("[role=status]", 10).await;
    assert!(
        !admin
            .exists("button[aria-label='Revoke session of agent1@demo.test']")
            .await
    );

    admin.goto(&app, "/admin/audit").await;
    admin
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//td[@title='session.revoked'][normalize-space()='Session ended by someone']",
        ))
        .await
        .unwrap();
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
    agent.wait_for("#available", 20).await;
    let (_, view) = agent.session_from_page().await;
    let id = view["session_id"].as_str().unwrap().to_owned();
    let admin = a.login("admin@demo.test").await;
    let started = Instant::now();
    let res = a.delete(&format!("/api/admin/sessions/{id}"), &admin).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    agent.wait_for(".signed-out", 5).await;
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
    laptop.wait_for("#available", 20).await;
    let phone = Browser::launch().await;
    phone.sign_in(&app, "/login", "agent1@demo.test").await;
    phone.wait_for("#available", 20).await;

    laptop
        .client
        .find(Locator::LinkText("My sessions"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    laptop.wait_for("ul.my-sessions li:nth-child(2)", 10).await;
    let rows = laptop
        .client
        .find_all(Locator::Css("ul.my-sessions li"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let marked = laptop.text("li[aria-current=true]").await;
    assert!(marked.contains("This browser"), "{marked}");
    assert!(marked.contains("Chrome on Linux"), "{marked}");
    laptop.screenshot("my-sessions").await;
    laptop
        .wait_for("button[aria-label='Sign out Chrome on Linux']", 5)
        .await
        .click()
        .await
        .unwrap();
    let screen = phone.wait_for(".signed-out", 5).await;
    assert!(screen.text().await.unwrap().contains("Signed out"));
    laptop
        .client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::XPath(
            "//p[@role='status'][normalize-space()='Signed out that session.']",
        ))
        .await
        .unwrap();
    let rows = laptop
        .client
        .find_all(Locator::Css("ul.my-sessions li"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "only this browser is left");
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
    b.wait_for("#available", 20).await;
    let (_, view) = b.session_from_page().await;
    let id = view["session_id"].as_str().unwrap().to_owned();
    // Move the sign-in back so the hour is up in 15 s.
    sqlx::query("UPDATE sessions SET created_at = created_at - 3585000 WHERE id = $1")
        .bind(&id)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    app.state
        .memory
        .invalidated(&[Invalidation::Session(id.clone())]);

    let dialog = b.wait_for("[role=alertdialog]", 5).await;
    let text = dialog.text().await.unwrap();
    assert!(
        text.contains("Your session reaches its 1-hour limit at"),
        "{text}"
    );
    assert!(text.contains("save your work"), "{text}");
    assert!(text.contains("Sign in again now"), "{text}");
    assert!(!text.contains("Stay signed in"), "{text}");
    b.screenshot("heads-up").await;
    // Input now reports no activity: it cannot move the limit.
    let before = app.state.metrics.api_requests();
    for _ in 0..5 {
        b.press_key().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.state.metrics.api_requests(),
        before,
        "input under the heads-up sent requests"
    );

    // The server goes away; at the limit the page locks by itself.
    app.handle.stop(false).await;
    let lock = b.wait_for(".locked", 20).await;
    assert!(lock
        .text()
        .await
        .unwrap()
        .contains("Checking with the server"));
    assert!(!b.exists("#available").await, "the desk is hidden");
    b.screenshot("locked").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(b.exists(".locked").await, "still locked without the server");
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
    b.fill("#subject", "Half-written question").await;
    b.wait_for(".signed-out", 30).await;
    b.client
        .find(Locator::LinkText("Sign in again"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.fill("#account", "demo").await;
    b.fill("#email", "requester@demo.test").await;
    b.fill("#password", &format!("{PASSWORD}\u{E007}")).await;
    let subject = b.wait_for("#subject", 20).await;
    assert!(b.client.current_url().await.unwrap().path() == "/portal");
    let restored = b
        .client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("#subject"))
        .await
        .unwrap();
    let _ = subject;
    let mut value = String::new();
    for _ in 0..20 {
        value = restored.prop("value").await.unwrap().unwrap_or_default();
        if !value.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(value, "Half-written question");

    // An explicit sign-out forgets it.
    b.client
        .find(Locator::XPath("//button[normalize-space()='Sign out']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for(".signed-out", 5).await;
    b.sign_in(&app, "/portal/login", "requester@demo.test")
        .await;
    let field = b.wait_for("#subject", 20).await;
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
    b.wait_for("#available", 20).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let count = |app: &TestApp| app.state.metrics.api_requests();
    let before = count(&app);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let one = count(&app) - before;
    println!("an idle desk tab sent {one} requests in a minute");
    assert!(one <= 2, "{one} requests a minute from one idle tab");

    for _ in 0..9 {
        let tab = b.client.new_window(true).await.unwrap().handle;
        b.client.switch_to_window(tab).await.unwrap();
        b.goto(&app, "/desk").await;
        b.wait_for("#available", 20).await;
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
    b.fill("#subject", "My invoice is wrong").await;
    b.client
        .find(Locator::XPath("//button[normalize-space()='Send']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//li[contains(., 'My invoice is wrong')]"))
        .await
        .unwrap();
    assert!(b.text("[role=status]").await.contains("An agent has it"));
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
    admin.wait_for("section[aria-label='Agents']", 20).await;
    admin
        .client
        .find(Locator::LinkText("Team"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let button = admin
        .wait_for(
            "button[aria-label='Sign out everywhere: agent1@demo.test']",
            10,
        )
        .await;
    assert_eq!(admin.client.title().await.unwrap(), "Team — Vigil");
    admin.screenshot("team").await;
    button.click().await.unwrap();
    let said = admin
        .wait_for("[role=alertdialog]", 5)
        .await
        .text()
        .await
        .unwrap();
    assert!(said.contains("All 2 of their live sessions end."), "{said}");
    assert!(said.contains("open conversation"), "{said}");
    // Cancel changes nothing.
    admin
        .client
        .find(Locator::XPath(
            "//div[@role='alertdialog']//button[normalize-space()='Cancel']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(!admin.exists("[role=alertdialog]").await);
    assert_eq!(
        app.get("/api/session", &laptop).await.status(),
        StatusCode::OK
    );
    button.click().await.unwrap();
    admin
        .client
        .find(Locator::XPath(
            "//div[@role='alertdialog']//button[normalize-space()='Sign out everywhere']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let status = admin.wait_for("p[role=status]", 10).await;
    assert!(status.text().await.unwrap().contains("out of 2 session(s)"));
    app.assert_signed_out(&laptop, "revoked").await;
    admin.close().await;
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
    b.wait_for("table tbody tr", 20).await;
    assert_eq!(b.client.title().await.unwrap(), "Audit log — Vigil");
    // Labels in words, the raw code on hover.
    b.wait_for("td[title='session.login']", 5).await;
    let action = b.wait_for("#audit-action", 5).await;
    action.select_by_value("session.revoked").await.unwrap();
    let started = Instant::now();
    loop {
        let rows = b
            .client
            .find_all(Locator::Css("table tbody tr"))
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
    let href = b
        .wait_for("a[download]", 5)
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(href.contains("action=session.revoked"), "{href}");
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

    // Every sign-out of one agent: the sign-outs filter and the person.
    b.wait_for("#audit-action", 5)
        .await
        .select_by_value("session.logout,session.expired,session.revoked")
        .await
        .unwrap();
    b.fill("#audit-person", "agent1@demo.test\n").await;
    let href = {
        let started = Instant::now();
        loop {
            let href = b
                .wait_for("a[download]", 5)
                .await
                .attr("href")
                .await
                .unwrap()
                .unwrap();
            if href.contains("person=agent1%40demo.test") {
                break href;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "{href}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert!(
        href.contains("action=session.logout%2Csession.expired%2Csession.revoked"),
        "{href}"
    );
    b.close().await;
}

#[tokio::test]
async fn the_security_page_offers_only_allowed_presets_converts_units_and_discards() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // Ops narrowed the bounds: idle timeouts of at least an hour.
    let app = console_app(3600).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "admin@demo.test").await;
    let slider = b
        .wait_for("section[aria-label='Agents'] input[type=range]", 20)
        .await;
    assert_eq!(b.client.title().await.unwrap(), "Session security — Vigil");
    assert!(b.text("main").await.contains("The defaults, never changed"));
    // 1 h, 2 h, 4 h, 8 h, 24 h: the 15 and 30 minute presets are gone.
    assert_eq!(slider.attr("max").await.unwrap().as_deref(), Some("4"));
    slider.send_keys("\u{E011}").await.unwrap();
    b.wait_for(
        "section[aria-label='Agents'] input[aria-valuetext='1 hour']",
        5,
    )
    .await;
    // Changing the unit keeps the duration: 1 hour is 60 minutes.
    let custom = b.wait_for("#agents-idle-custom", 5).await;
    assert_eq!(custom.prop("value").await.unwrap().as_deref(), Some("1"));
    b.wait_for("#agents-idle-custom-unit", 5)
        .await
        .select_by_value("minutes")
        .await
        .unwrap();
    let started = Instant::now();
    while custom.prop("value").await.unwrap().as_deref() != Some("60") {
        assert!(started.elapsed() < Duration::from_secs(5), "not converted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        b.exists("section[aria-label='Agents'] input[aria-valuetext='1 hour']")
            .await
    );
    // Switching the warning to a share keeps about the same instant: a
    // minute before an hour is the 95% most allowed.
    b.client
        .find(Locator::Css("label[for='agents-warn-percent']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let percent = b.wait_for("#agents-warning-percent", 5).await;
    assert_eq!(percent.prop("value").await.unwrap().as_deref(), Some("95"));
    // Discard: back to what is stored.
    b.client
        .find(Locator::XPath(
            "//button[normalize-space()='Discard changes']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for(
        "section[aria-label='Agents'] input[aria-valuetext='8 hours']",
        5,
    )
    .await;
    assert!(b.exists("#agents-warning-secs").await);
    let save = b
        .client
        .find(Locator::XPath("//button[normalize-space()='Save']"))
        .await
        .unwrap();
    assert!(!save.is_enabled().await.unwrap(), "nothing to save");
    b.close().await;
}

#[tokio::test]
async fn offline_shows_a_banner_and_a_sign_out_that_cannot_reach_the_server_says_so() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent2@demo.test").await;
    b.wait_for("#available", 20).await;
    // The browser's own offline and online events drive the banner.
    b.client
        .execute("window.dispatchEvent(new Event('offline'))", vec![])
        .await
        .unwrap();
    let banner = b.wait_for(".banner.offline", 5).await;
    assert!(banner.text().await.unwrap().contains("You are offline"));
    b.client
        .execute("window.dispatchEvent(new Event('online'))", vec![])
        .await
        .unwrap();
    let started = Instant::now();
    while b.exists(".banner.offline").await {
        assert!(started.elapsed() < Duration::from_secs(5), "banner stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server goes away; signing out cannot reach it, and says so.
    app.handle.stop(false).await;
    b.client
        .find(Locator::XPath("//button[normalize-space()='Sign out']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let alert = b.wait_for(".banner.offline[role=alert]", 10).await;
    assert!(alert
        .text()
        .await
        .unwrap()
        .contains("could not be reached, so you are not signed out yet"));
    assert!(!b.exists(".signed-out").await, "not told it signed out");
    b.screenshot("offline-sign-out").await;
    b.close().await;
}

/// The element that has focus, described by its accessible label or text.
async fn focused(b: &Browser) -> String {
    b.client
        .execute(
            "const e = document.activeElement;
             return (e.getAttribute('aria-label') || e.textContent || e.tagName).trim();",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn keyboard_users_confirm_and_cancel_in_a_dialog_that_keeps_focus_and_gives_it_back() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let _agent = app.login("agent1@demo.test").await;
    let b = admin_at(&app, "/admin/team").await;
    let button = b
        .wait_for(
            "button[aria-label='Sign out everywhere: agent1@demo.test']",
            10,
        )
        .await;
    // The nav says which page this is.
    assert_eq!(b.text("nav a[aria-current=page]").await, "Team");
    // Keyboard only: focus the button, press Enter.
    b.client
        .execute(
            "arguments[0].focus()",
            vec![serde_json::to_value(&button).unwrap()],
        )
        .await
        .unwrap();
    press(&b, '\u{E007}').await; // Enter
    b.wait_for("[role=alertdialog]", 5).await;
    assert_eq!(focused(&b).await, "Cancel", "the safe choice has focus");
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
        assert!(inside, "focus left the dialog: {}", focused(&b).await);
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
    let started = Instant::now();
    while b.exists("[role=alertdialog]").await {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "Escape did not close it"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(focused(&b).await, "Sign out everywhere: agent1@demo.test");
    b.close().await;
}

#[tokio::test]
async fn the_sessions_page_fits_a_phone() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let _agent = app.login("agent1@demo.test").await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "admin@demo.test").await;
    b.wait_for("section[aria-label='Agents']", 20).await;
    b.client.set_window_size(390, 844).await.unwrap();
    b.goto(&app, "/admin/sessions").await;
    b.wait_for(
        "button[aria-label='Revoke session of agent1@demo.test']",
        10,
    )
    .await;
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
    assert!(
        overflow <= 0,
        "the page is {overflow} px wider than the phone"
    );
    b.screenshot("sessions-phone").await;
    b.close().await;
}

#[tokio::test]
async fn the_desk_says_when_the_agent_is_unavailable_and_keeps_on_a_call_across_a_reload() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent1@demo.test").await;
    let available = b.wait_for("#available:enabled", 20).await;
    assert!(!b.exists("p.notice").await, "available: no notice");
    available.click().await.unwrap();
    let notice = b.wait_for("p.notice", 5).await;
    assert!(notice.text().await.unwrap().contains("You are unavailable"));
    // "On a call" survives a reload of the tab.
    b.wait_for("#on-call", 5).await.click().await.unwrap();
    b.client.refresh().await.unwrap();
    let on_call = b.wait_for("#on-call", 20).await;
    let started = Instant::now();
    while on_call.prop("checked").await.unwrap().as_deref() != Some("true") {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "On a call was lost"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // When calls do not count, the switch is not offered.
    let admin = app.login("admin@demo.test").await;
    let res = app
        .change_settings(&admin, |s| s.activity.active_call_extends = false)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    b.client.refresh().await.unwrap();
    b.wait_for("#available", 20).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!b.exists("#on-call").await, "calls do not count here");
    b.close().await;
}

#[tokio::test]
async fn saving_settings_that_end_sessions_at_once_asks_first() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    let _agent = app.login("agent1@demo.test").await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "admin@demo.test").await;
    b.wait_for("#agents-idle-custom", 20).await;
    // The agent has been idle for longer than the new timeout.
    tokio::time::sleep(Duration::from_secs(7)).await;
    b.wait_for("#agents-idle-custom-unit", 5)
        .await
        .select_by_value("seconds")
        .await
        .unwrap();
    b.fill("#agents-idle-custom", "6").await;
    // A fixed warning must be 10 s or more: warn at a share instead.
    b.client
        .find(Locator::Css("label[for='agents-warn-percent']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//p[@class='impact' and contains(., 'end at once') and not(contains(., ': 0 of'))]",
        ))
        .await
        .unwrap();
    let save = b
        .client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::XPath(
            "//button[normalize-space()='Save' and not(@disabled)]",
        ))
        .await
        .unwrap();
    save.click().await.unwrap();
    let dialog = b.wait_for("[role=alertdialog]", 5).await;
    let said = dialog.text().await.unwrap();
    assert!(said.contains("at once"), "{said}");
    b.client
        .find(Locator::XPath(
            "//div[@role='alertdialog']//button[normalize-space()='Cancel']",
        ))
        .await
        .unwrap()
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
    b.wait_for(
        "button[aria-label='Revoke session of agent1@demo.test']",
        10,
    )
    .await;
    let count = |b: &Browser| {
        let client = b.client.clone();
        async move {
            client
                .find_all(Locator::Css("ul.session-list > li"))
                .await
                .unwrap()
                .len()
        }
    };
    let all = count(&b).await;
    assert!(all >= 4, "{all}");
    // By person: the filter narrows as one types.
    b.fill("#session-search", "agent1").await;
    let started = Instant::now();
    while count(&b).await != 1 {
        assert!(started.elapsed() < Duration::from_secs(5), "not filtered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // By audience (a blank search is no search).
    b.fill("#session-search", " ").await;
    b.wait_for("#session-audience", 5)
        .await
        .select_by_value("requesters")
        .await
        .unwrap();
    let started = Instant::now();
    while count(&b).await != 1 {
        assert!(started.elapsed() < Duration::from_secs(5), "not filtered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(b
        .text("ul.session-list")
        .await
        .contains("requester@demo.test"));

    // The settings change in words, in the audit log.
    b.goto(&app, "/admin/audit").await;
    let change = b.wait_for("ul.changes li", 10).await;
    assert_eq!(
        change.text().await.unwrap(),
        "Agents: idle timeout: 8 hours → 15 minutes"
    );
    // The best-practice hint is for agents only.
    b.goto(&app, "/admin/security").await;
    b.wait_for("section[aria-label='Requesters'] input[type=range]", 10)
        .await;
    assert!(!b.exists("section[aria-label='Requesters'] .hint").await);
    b.close().await;
}

#[tokio::test]
async fn the_warning_is_a_timer_announced_at_marks_and_gives_focus_back() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = console_app(5).await;
    ten_second_agents(&app).await;
    let b = Browser::launch().await;
    b.sign_in(&app, "/login", "agent1@demo.test").await;
    let notes = b.wait_for("textarea[id='desk-notes']", 20).await;
    notes.click().await.unwrap();
    b.wait_for("[role=alertdialog]", 15).await;
    assert_eq!(
        focused(&b).await,
        "Stay signed in",
        "the dialog takes focus"
    );
    // The countdown is a timer, quiet every second; the live region says
    // only the mark reached (2 s are left at 80% of 10 s: "10 seconds").
    b.wait_for("[role=alertdialog] [role=timer][aria-live=off]", 2)
        .await;
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
    b.client
        .find(Locator::XPath(
            "//button[normalize-space()='Stay signed in']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let started = Instant::now();
    while b.exists("[role=alertdialog]").await {
        assert!(started.elapsed() < Duration::from_secs(3), "still warned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let on_notes: bool = b
        .client
        .execute("return document.activeElement.id === 'desk-notes'", vec![])
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(on_notes, "focus went to {}", focused(&b).await);
    assert_eq!(b.client.title().await.unwrap(), "Desk — Vigil");
    b.close().await;
}
