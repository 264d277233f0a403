#![allow(clippy::disallowed_methods)] // the browser runs on the real clock; so do these measurements
//! The console in real headless Chromium (Debian's chromium and
//! chromedriver), against the real server with the built console from
//! `dist/` (`cargo xtask test` builds it first). Browser tests run one at a
//! time: they measure seconds, and two Chromiums on two cores would blur them.
//! Screenshots of the main screens go to `target/e2e/`. The fixtures are in
//! `browser/fixture.rs`; a test says only what it does.

mod drafts;
mod fixture;
mod integrations;
mod paging;
mod people;
mod security;
mod transfer;
mod webhooks;

use std::time::{Duration, Instant};

use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::{json, Value};
use vigil_policy::Warning;

use crate::helpers::{Options, TestApp, PASSWORD};
use fixture::{
    availability, axe_check, axe_script, connect, dist, eventually, press, provider_for, workspace,
    Browser, Console, SSO_SECRET,
};

/// Gives agents a 10 s idle timeout with the warning at 80%.
async fn ten_second_agents(app: &TestApp) {
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| {
        s.agents.idle_timeout_secs = 10;
        s.agents.warning = Warning::Percent { percent: 80 };
    })
    .await;
    app.logout(&admin).await;
}

#[tokio::test]
async fn admin_moves_the_agent_slider_and_offers_remember_me_to_requesters() {
    let app = Console::start().await;
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
    assert_eq!(app.login_options().await["requesters"]["remember_me"], true);
}

#[tokio::test]
async fn a_custom_value_below_the_limit_shows_the_error_and_keeps_save_disabled() {
    let app = Console::with_idle_min(900).await;
    let b = Browser::signed_in(&app, "/login", "admin@demo.test").await;
    let agents = b.region("Agents").await;
    let custom = b.field_in(Some(&agents), "Custom idle timeout", 20).await;
    assert_eq!(b.role_and_name(&custom).await.0, "spinbutton");
    // 8 hours shows as "8" hours: in minutes it is 480; make it 5 minutes.
    b.choose(Some(&agents), "Custom idle timeout unit", "minutes")
        .await;
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
}

#[tokio::test]
async fn an_idle_agent_is_warned_and_then_signed_out_with_the_reason() {
    let app = Console::start().await;
    ten_second_agents(&app).await;
    let b = Browser::signed_in(&app, "/login", "agent1@demo.test").await;
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
}

#[tokio::test]
async fn two_tabs_share_activity_and_sign_out() {
    let app = Console::start().await;
    ten_second_agents(&app).await;
    let b = Browser::at_desk(&app, "agent1@demo.test").await;
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
}

#[tokio::test]
async fn the_requester_login_offers_remember_me_only_when_the_policy_does() {
    let app = Console::start().await;
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
    app.apply_settings(&admin, |s| s.requesters.remember_me = true)
        .await;
    b.goto(&app, "/portal/login?account=demo").await;
    b.field_in(None, "Remember me", 10).await;
}

#[tokio::test]
async fn an_admin_revokes_an_agents_session_and_the_desk_says_so() {
    let app = Console::start().await;
    let agent = Browser::at_desk(&app, "agent1@demo.test").await;
    // A second tab of the agent's browser follows the first.
    let first = agent.client.window().await.unwrap();
    let second = agent.client.new_window(true).await.unwrap().handle;
    agent.client.switch_to_window(second.clone()).await.unwrap();
    agent.goto(&app, "/desk").await;
    availability(&agent).await;
    agent.client.switch_to_window(first).await.unwrap();

    let admin = Browser::admin_at(&app, "/admin/sessions").await;
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
}

#[tokio::test]
async fn a_revocation_on_another_replica_reaches_the_desk_within_a_second() {
    let a = Console::with(Options {
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
    let agent = Browser::at_desk(&b, "agent1@demo.test").await;
    let (_, view) = agent.session_from_page().await;
    let id = view["session_id"].as_str().unwrap().to_owned();
    let admin = a.login("admin@demo.test").await;
    let started = Instant::now();
    let res = a.revoke_session(&admin, &id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    agent.saying("status", "Signed out", 5).await;
    let took = started.elapsed();
    println!("a revocation on replica a reached the desk served by b in {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[tokio::test]
async fn my_sessions_lists_both_browsers_and_signs_out_the_other() {
    let app = Console::start().await;
    let laptop = Browser::at_desk(&app, "agent1@demo.test").await;
    let phone = Browser::at_desk(&app, "agent1@demo.test").await;

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
}

#[tokio::test]
async fn the_absolute_limit_gives_a_heads_up_and_the_page_locks_even_without_the_server() {
    use vigil_server::store::{Invalidation, Subscriber};
    let app = Console::start().await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| {
        s.agents.idle_timeout_secs = 1800;
        s.agents.absolute_timeout_secs = 3600;
        s.agents.warning = Warning::Before { secs: 60 };
    })
    .await;
    let b = Browser::at_desk(&app, "agent1@demo.test").await;
    let (_, view) = b.session_from_page().await;
    let id = view["session_id"].as_str().unwrap().to_owned();
    // Move the sign-in back so the hour is up in 15 s.
    app.execute(&format!(
        "UPDATE sessions SET created_at = created_at - 3585000 WHERE id = '{id}'"
    ))
    .await;
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
}

#[tokio::test]
async fn a_draft_survives_an_idle_sign_out_and_signing_in_again_returns_to_the_page() {
    let app = Console::start().await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| s.requesters.idle_timeout_secs = 10)
        .await;
    let b = Browser::signed_in(&app, "/portal/login", "requester@demo.test").await;
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
}

#[tokio::test]
async fn an_idle_desk_sends_at_most_two_requests_a_minute_and_ten_tabs_three() {
    let app = Console::start().await;
    let b = Browser::at_desk(&app, "agent2@demo.test").await;
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
}

#[tokio::test]
async fn a_requester_opens_a_conversation_in_the_portal() {
    let app = Console::start().await;
    let b = Browser::signed_in(&app, "/portal/login", "requester@demo.test").await;
    b.type_into("New conversation", "My invoice is wrong").await;
    b.click_button("Send").await;
    b.saying("listitem", "My invoice is wrong", 10).await;
    b.saying("status", "An agent has it", 5).await;
    b.screenshot("portal").await;
}

#[tokio::test]
async fn the_team_page_signs_a_person_out_everywhere_after_saying_what_follows() {
    let app = Console::start().await;
    let laptop = app.login("agent1@demo.test").await;
    let _phone = app.login("agent1@demo.test").await;
    let admin = Browser::signed_in(&app, "/login", "admin@demo.test").await;
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
    admin.click_button_in(&dialog, "Cancel").await;
    admin.dialog_closes(2).await;
    assert_eq!(
        app.get("/api/session", &laptop).await.status(),
        StatusCode::OK
    );
    button.click().await.unwrap();
    let dialog = admin.dialog(5).await;
    admin.click_button_in(&dialog, "Sign out everywhere").await;
    admin.saying("status", "out of 2 session(s)", 10).await;
    app.assert_signed_out(&laptop, "revoked").await;
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
    let app = Console::start().await;
    let api_admin = app.login("admin@demo.test").await;
    for _ in 0..2 {
        let agent = app.login("agent1@demo.test").await;
        let id = app.session_id(&agent).await;
        let res = app.revoke_session(&api_admin, &id).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let b = Browser::admin_at(&app, "/admin/audit").await;
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
    let csv = b.fetch_text(&href).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,at,actor,action,target,details");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1..].iter().all(|l| l.contains("session.revoked")));

    // Every sign-out of one agent last week: the sign-outs filter, the
    // person and the date range, typed as a person would.
    b.choose(
        None,
        "Action",
        "session.logout,session.expired,session.revoked",
    )
    .await;
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
    let csv = b.fetch_text(&href).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "both revocations of agent1: {lines:?}");
}

#[tokio::test]
async fn the_security_page_offers_only_allowed_presets_converts_units_and_discards() {
    // Ops narrowed the bounds: idle timeouts of at least an hour.
    let app = Console::with_idle_min(3600).await;
    let b = Browser::signed_in(&app, "/login", "admin@demo.test").await;
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
    b.choose(Some(&agents), "Custom idle timeout unit", "minutes")
        .await;
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
}

#[tokio::test]
async fn offline_shows_a_banner_and_a_sign_out_that_cannot_reach_the_server_says_so() {
    let app = Console::start().await;
    let b = Browser::at_desk(&app, "agent2@demo.test").await;
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
}

#[tokio::test]
async fn keyboard_users_confirm_and_cancel_in_a_dialog_that_keeps_focus_and_gives_it_back() {
    let app = Console::start().await;
    let _agent = app.login("agent1@demo.test").await;
    let b = Browser::admin_at(&app, "/admin/team").await;
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
}

#[tokio::test]
async fn every_admin_page_fits_a_phone() {
    let app = Console::start().await;
    let _agent = app.login("agent1@demo.test").await;
    let b = Browser::signed_in(&app, "/login", "admin@demo.test").await;
    b.region("Agents").await;
    b.client.set_window_size(390, 844).await.unwrap();
    // Each page, with what shows it has loaded.
    let pages: [(&str, &str, &str, &str); 6] = [
        (
            "/admin/sessions",
            "button",
            "Revoke session of agent1@demo.test",
            "sessions-phone",
        ),
        ("/admin/team", "table", "Team members", "team-phone"),
        ("/admin/audit", "table", "Audit log entries", "audit-phone"),
        ("/admin/security", "region", "Agents", "security-phone"),
        (
            "/admin/sign-in",
            "button",
            "Add connection",
            "sign-in-methods-empty-phone",
        ),
        ("/me/sessions", "list", "Your sessions", "my-sessions-phone"),
    ];
    for (path, role, name, picture) in pages {
        b.goto(&app, path).await;
        b.named(role, name, 10).await;
        b.screenshot(picture).await;
        b.assert_fits_the_width(path).await;
    }
}

#[tokio::test]
async fn the_desk_says_when_the_agent_is_unavailable_and_keeps_on_a_call_across_a_reload() {
    let app = Console::start().await;
    let b = Browser::signed_in(&app, "/login", "agent1@demo.test").await;
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
    app.apply_settings(&admin, |s| s.activity.active_call_extends = false)
        .await;
    b.client.refresh().await.unwrap();
    availability(&b).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !b.has_named("switch", "On a call").await,
        "calls do not count here"
    );
}

#[tokio::test]
async fn saving_settings_that_end_sessions_at_once_asks_first() {
    let app = Console::start().await;
    let _agent = app.login("agent1@demo.test").await;
    let b = Browser::signed_in(&app, "/login", "admin@demo.test").await;
    let agents = b.region("Agents").await;
    let custom = b.field_in(Some(&agents), "Custom idle timeout", 20).await;
    // The agent has been idle for longer than the new timeout.
    tokio::time::sleep(Duration::from_secs(7)).await;
    b.choose(Some(&agents), "Custom idle timeout unit", "seconds")
        .await;
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
    b.click_button_in(&dialog, "Cancel").await;
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
}

#[tokio::test]
async fn sessions_filter_by_person_and_audience_and_audit_shows_settings_in_words() {
    let app = Console::start().await;
    let _agent = app.login("agent1@demo.test").await;
    let _requester = app.login("requester@demo.test").await;
    let api_admin = app.login("admin@demo.test").await;
    app.apply_settings(&api_admin, |s| s.agents.idle_timeout_secs = 900)
        .await;
    let b = Browser::admin_at(&app, "/admin/sessions").await;
    b.named("button", "Revoke session of agent1@demo.test", 10)
        .await;
    let all = b.list_items("Live sessions").await.len();
    assert!(all >= 4, "{all}");
    // By person (an email, asked of the server when entered).
    let person = b.field("Person (email)").await;
    assert_eq!(b.role_and_name(&person).await.0, "searchbox");
    person.send_keys("agent1@demo.test\n").await.unwrap();
    b.list_holds("Live sessions", 1, 5).await;
    // By audience (a blank search is no search).
    person.clear().await.unwrap();
    person.send_keys(" \n").await.unwrap();
    b.choose(None, "Audience", "requesters").await;
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
}

#[tokio::test]
async fn the_warning_is_a_timer_announced_at_marks_and_gives_focus_back() {
    let app = Console::start().await;
    ten_second_agents(&app).await;
    let b = Browser::signed_in(&app, "/login", "agent1@demo.test").await;
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
    b.click_button_in(&dialog, "Stay signed in").await;
    b.dialog_closes(3).await;
    assert_eq!(
        b.focused().await,
        ("textbox".to_owned(), "Notes".to_owned()),
        "focus goes back to the notes"
    );
    assert_eq!(b.client.title().await.unwrap(), "Desk — Vigil");
}

#[tokio::test]
async fn the_timeline_labels_never_meet_even_for_the_longest_durations() {
    let app = Console::start().await;
    let admin = app.login("admin@demo.test").await;
    // The longest words the bounds allow (29 days 23 hours 59 minutes 59
    // seconds of idle, a limit a second short of a year, warned 10 s
    // before), and the shortest policy with its warning half way.
    app.apply_settings(&admin, |s| {
        s.agents.idle_timeout_secs = 720 * 3600 - 1;
        s.agents.absolute_timeout_secs = 365 * 86400 - 1;
        s.agents.warning = Warning::Before { secs: 10 };
        s.requesters.idle_timeout_secs = 900;
        s.requesters.absolute_timeout_secs = 3600;
        s.requesters.warning = Warning::Percent { percent: 50 };
    })
    .await;
    let b = Browser::signed_in(&app, "/login", "admin@demo.test").await;
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
}

#[tokio::test]
async fn axe_finds_no_violation_on_any_screen() {
    let app = Console::for_sso().await;
    let provider = provider_for(&app).await;
    connect(&app, &provider, true).await;
    let admin = app.login("admin@demo.test").await;
    // Agents are warned after 10 s idle, for 10 s.
    app.apply_settings(&admin, |s| {
        s.agents.idle_timeout_secs = 20;
        s.agents.warning = Warning::Percent { percent: 50 };
    })
    .await;
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
    b.goto(&app, "/admin/sign-in").await;
    b.named("list", "Connections", 10).await;
    axe_check(&b, &axe, "sign-in methods", &mut found).await;
    b.click_button("Add connection").await;
    b.click_button("Save").await;
    let name = b.field("Name").await;
    eventually(5, "the empty form shows its errors", async || {
        name.attr("aria-invalid").await.unwrap().as_deref() == Some("true")
    })
    .await;
    b.screenshot("sign-in-methods-form").await;
    axe_check(&b, &axe, "sign-in methods, a new connection", &mut found).await;
    b.goto(&app, "/admin/sessions").await;
    let revoke = b
        .named("button", "Revoke session of agent2@demo.test", 10)
        .await;
    axe_check(&b, &axe, "sessions", &mut found).await;
    revoke.click().await.unwrap();
    let dialog = b.dialog(5).await;
    axe_check(&b, &axe, "confirmation", &mut found).await;
    b.click_button_in(&dialog, "Cancel").await;
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
    drop(b);

    let agent = Browser::at_desk(&app, "agent1@demo.test").await;
    axe_check(&agent, &axe, "desk", &mut found).await;
    agent.named("alertdialog", "Are you still there?", 15).await;
    axe_check(&agent, &axe, "idle warning", &mut found).await;
    drop(agent);

    let requester = Browser::signed_in(&app, "/portal/login", "requester@demo.test").await;
    requester.field("New conversation").await;
    axe_check(&requester, &axe, "portal", &mut found).await;
    drop(requester);

    assert!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));
}

/// Signs in at the test provider's own pages as `sub`: its sign-in form
/// (a `login` field with no label, any password), then its consent page.
async fn at_the_provider(b: &Browser, sub: &str) {
    let login = b
        .client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("input[name=login]"))
        .await
        .expect("the provider's sign-in page");
    b.screenshot("sso-provider").await;
    login.send_keys(sub).await.unwrap();
    b.client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("any")
        .await
        .unwrap();
    b.click_button("Sign-in").await;
    b.named("button", "Continue", 20)
        .await
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_agent_signs_in_at_the_provider_and_its_back_channel_logout_ends_the_desk() {
    let app = Console::for_sso().await;
    let provider = provider_for(&app).await;
    connect(&app, &provider, true).await;
    let b = Browser::launch().await;
    b.goto(&app, "/login?account=demo").await;
    b.named("link", "Sign in with Acme SSO", 10)
        .await
        .click()
        .await
        .unwrap();
    at_the_provider(&b, "agent1").await;
    availability(&b).await;
    assert_eq!(b.client.current_url().await.unwrap().path(), "/desk");
    let (status, view) = b.session_from_page().await;
    assert_eq!(status, 200);
    assert_eq!(view["method"], "sso");
    assert_eq!(view["user"]["email"], "agent1@demo.test");

    // The session lists say how it began.
    b.goto(&app, "/me/sessions").await;
    b.list_holds("Your sessions", 1, 10).await;
    let mine = b.list_items("Your sessions").await[0].text().await.unwrap();
    assert!(mine.contains("Signed in with Acme SSO"), "{mine}");
    b.screenshot("my-sessions-sso").await;
    let _password = app.login("agent2@demo.test").await;
    let admin = Browser::admin_at(&app, "/admin/sessions").await;
    let agent1 = admin
        .saying("listitem", "agent1@demo.test", 10)
        .await
        .text()
        .await
        .unwrap();
    assert!(agent1.contains("Signed in with Acme SSO"), "{agent1}");
    let agent2 = admin
        .saying("listitem", "agent2@demo.test", 10)
        .await
        .text()
        .await
        .unwrap();
    assert!(agent2.contains("Signed in with a password"), "{agent2}");
    drop(admin);

    // The provider ends its session: the desk hears of it within a second.
    b.goto(&app, "/desk").await;
    availability(&b).await;
    let sid = provider
        .sessions()
        .await
        .into_iter()
        .find(|s| s.sub == "agent1")
        .and_then(|s| s.sids.get("vigil").cloned())
        .expect("the provider's session of agent1, with a sid for Vigil");
    let started = Instant::now();
    provider
        .trigger_backchannel_logout("vigil", "agent1", &sid)
        .await
        .unwrap();
    let screen = b.saying("status", "Signed out", 5).await;
    let took = started.elapsed();
    println!("the provider's logout reached the desk in {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    b.named("link", "Sign in again", 1).await;
    b.screenshot("sso-logged-out").await;
    assert!(screen.text().await.unwrap().contains("Signed out"));
    let (status, _) = b.session_from_page().await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_admin_adds_changes_and_removes_a_connection_on_the_sign_in_page() {
    let app = Console::for_sso().await;
    let provider = provider_for(&app).await;
    let b = Browser::admin_at(&app, "/admin/sign-in").await;
    let add = b.named("button", "Add connection", 10).await;
    assert_eq!(b.client.title().await.unwrap(), "Sign-in methods — Vigil");
    let nav = b.named("navigation", "Main", 5).await;
    let here = b.named_in(Some(&nav), "link", "Sign-in methods", 5).await;
    assert_eq!(
        here.attr("aria-current").await.unwrap().as_deref(),
        Some("page")
    );
    eventually(5, "the page says there are no connections", async || {
        b.text("main").await.contains("No connections yet")
    })
    .await;
    assert_eq!(
        add.attr("aria-expanded").await.unwrap().as_deref(),
        Some("false")
    );
    add.click().await.unwrap();
    // Checked as it is typed, the error linked to the field.
    let issuer = b.field("Issuer URL").await;
    issuer.send_keys("login.acme.test").await.unwrap();
    eventually(5, "the issuer is marked invalid", async || {
        issuer.attr("aria-invalid").await.unwrap().as_deref() == Some("true")
    })
    .await;
    let said = b.description(&issuer).await;
    assert!(said.contains("The issuer must be a URL like"), "{said}");
    b.type_into("Name", "Acme SSO").await;
    b.type_into("Issuer URL", "http://127.0.0.1:9").await;
    b.type_into("Client id", "vigil").await;
    b.type_into("Client secret", SSO_SECRET).await;
    assert_eq!(
        b.field("Client secret")
            .await
            .attr("type")
            .await
            .unwrap()
            .as_deref(),
        Some("password")
    );
    assert_eq!(
        issuer.attr("aria-invalid").await.unwrap().as_deref(),
        Some("false")
    );
    // The provider cannot be reached: said beside the form, nothing lost.
    b.click_button("Save").await;
    let alert = b.saying("alert", "discovery document", 20).await;
    println!("issuer_unreachable: {}", alert.text().await.unwrap());
    b.screenshot("sign-in-methods-unreachable").await;
    assert_eq!(
        b.field("Name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Acme SSO")
    );
    assert_eq!(
        b.field("Client secret")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(SSO_SECRET)
    );
    b.type_into("Issuer URL", provider.issuer()).await;
    b.click_button("Save").await;
    b.saying("status", "Saved Acme SSO.", 20).await;
    b.named("list", "Connections", 5).await;
    let redirect = b.field("Redirect URI").await;
    assert_eq!(
        redirect.prop("value").await.unwrap(),
        Some(app.url("/api/auth/sso/callback"))
    );
    assert_eq!(
        b.field("Back-channel logout URI")
            .await
            .prop("value")
            .await
            .unwrap(),
        Some(app.url("/api/auth/sso/backchannel-logout"))
    );
    b.click_button("Copy redirect URI of Acme SSO").await;
    b.saying("status", "Copied the redirect URI of Acme SSO.", 5)
        .await;
    b.screenshot("sign-in-methods").await;
    let listed: Value = app
        .get_json("/api/admin/sso", &app.login("admin@demo.test").await)
        .await;
    assert_eq!(listed[0]["name"], "Acme SSO");
    assert_eq!(listed[0]["audiences"], json!(["agents"]));

    // On a phone the page never scrolls sideways.
    b.client.set_window_size(390, 844).await.unwrap();
    b.field("Redirect URI").await;
    b.screenshot("sign-in-methods-phone").await;
    b.assert_fits_the_width("/admin/sign-in").await;
    b.client.set_window_size(1280, 1000).await.unwrap();

    // Change: the secret is write-only, empty keeps it.
    b.click_button("Change Acme SSO").await;
    let secret = b.field("Client secret").await;
    assert_eq!(secret.prop("value").await.unwrap().as_deref(), Some(""));
    assert!(b
        .description(&secret)
        .await
        .contains("leave empty to keep the stored secret"));
    assert_eq!(
        b.field("Name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Acme SSO")
    );
    b.field("Team members may still sign in with a password")
        .await
        .click()
        .await
        .unwrap();
    b.click_button("Save").await;
    b.saying("status", "Saved Acme SSO.", 20).await;
    eventually(
        5,
        "the list says team members need single sign-on",
        async || b.text("main").await.contains("team members: not allowed"),
    )
    .await;
    assert_eq!(app.login_options().await["agents"]["password"], false);

    // Remove, after a confirmation.
    b.click_button("Remove Acme SSO").await;
    let dialog = b.named("alertdialog", "Remove Acme SSO?", 5).await;
    b.screenshot("sign-in-methods-remove").await;
    b.click_button_in(&dialog, "Remove connection").await;
    b.saying("status", "Removed Acme SSO.", 10).await;
    eventually(5, "the page says there are no connections", async || {
        b.text("main").await.contains("No connections yet")
    })
    .await;
    assert_eq!(app.login_options().await["agents"]["password"], true);
}

#[tokio::test]
async fn the_login_page_offers_single_sign_on_and_keeps_a_password_behind_a_disclosure() {
    let app = Console::for_sso().await;
    let provider = provider_for(&app).await;
    let c = connect(&app, &provider, false).await;
    let axe = axe_script();
    let mut found = Vec::new();
    let b = Browser::launch().await;
    b.goto(&app, "/login?account=demo&next=%2Fadmin%2Faudit")
        .await;
    let sso = b.named("link", "Sign in with Acme SSO", 10).await;
    assert_eq!(
        sso.attr("href").await.unwrap(),
        Some(format!(
            "/api/auth/sso/{}/start?audience=agents&remember_me=false&next=%2Fadmin%2Faudit",
            c["id"].as_str().unwrap()
        ))
    );
    // Remember me goes along.
    b.field("Remember me").await.click().await.unwrap();
    eventually(5, "the link asks to be remembered", async || {
        sso.attr("href")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("remember_me=true")
    })
    .await;
    assert!(
        !b.has_field("Password").await,
        "no password form for agents"
    );
    let disclosure = b.named("button", "Use a password instead", 5).await;
    assert_eq!(
        disclosure.attr("aria-expanded").await.unwrap().as_deref(),
        Some("false")
    );
    b.screenshot("login-sso").await;
    axe_check(&b, &axe, "sign-in, single sign-on required", &mut found).await;
    disclosure.click().await.unwrap();
    b.field("Password").await;
    assert_eq!(
        disclosure.attr("aria-expanded").await.unwrap().as_deref(),
        Some("true")
    );
    axe_check(&b, &axe, "sign-in, password disclosed", &mut found).await;
    // An agent's password is right, but SSO is required.
    b.type_into("Email", "agent1@demo.test").await;
    b.type_into("Password", &format!("{PASSWORD}\u{E007}"))
        .await;
    b.saying(
        "alert",
        "This account signs in through its identity provider. Use the single sign-on button.",
        10,
    )
    .await;
    // A security admin keeps a password (break-glass), and `next` holds.
    b.type_into("Email", "admin@demo.test").await;
    b.type_into("Password", &format!("{PASSWORD}\u{E007}"))
        .await;
    b.named("table", "Audit log entries", 20).await;
    assert_eq!(b.client.current_url().await.unwrap().path(), "/admin/audit");
    b.click_button("Sign out").await;
    b.saying("status", "Signed out", 5).await;

    // The portal keeps its password form beside the button.
    b.goto(&app, "/portal/login?account=demo").await;
    let portal = b.named("link", "Sign in with Acme SSO", 10).await;
    assert!(portal
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default()
        .contains("audience=requesters"));
    b.field("Password").await;
    assert!(!b.has_named("button", "Use a password instead").await);
    b.screenshot("portal-login-sso").await;

    // Back from a failed round trip: the account is remembered from the
    // click that left.
    b.goto(&app, "/login?account=demo").await;
    b.named("link", "Sign in with Acme SSO", 10)
        .await
        .click()
        .await
        .unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("input[name=login]"))
        .await
        .expect("the provider's sign-in page");
    b.goto(&app, "/login?error=sso_failed").await;
    b.saying(
        "alert",
        "Single sign-on did not sign you in. Try again, or ask your admin.",
        5,
    )
    .await;
    b.named("link", "Sign in with Acme SSO", 10).await;
    b.screenshot("login-sso-failed").await;
    axe_check(
        &b,
        &axe,
        "sign-in after a failed single sign-on",
        &mut found,
    )
    .await;
    assert!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));
}

#[tokio::test]
async fn a_stale_admin_gives_the_password_in_the_dialog_and_the_edited_settings_are_saved() {
    let app = Console::start().await;
    let b = Browser::signed_in(&app, "/login", "admin@demo.test").await;
    let agents = b.region("Agents").await;
    let slider = b.field_in(Some(&agents), "Idle timeout", 20).await;
    // The sign-in was an hour ago (the guard reads the stored time; the
    // browser and the server run on the real clock).
    app.execute("UPDATE sessions SET authenticated_at = created_at - 3600000")
        .await;
    // Edit two things, then save.
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
    b.click_button("Save").await;

    let dialog = b.named("alertdialog", "Confirm it's you", 10).await;
    let password = b.field_in(Some(&dialog), "Password", 5).await;
    assert_eq!(
        b.focused().await.1,
        "Password",
        "the password field takes focus"
    );
    let axe = axe_script();
    let mut found = Vec::new();
    axe_check(&b, &axe, "re-authentication", &mut found).await;
    assert!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));
    b.screenshot("reauthenticate").await;
    // A wrong password: said in the dialog, which stays.
    password.send_keys("not the password").await.unwrap();
    b.click_button_in(&dialog, "Confirm").await;
    b.saying("alert", "That password is not right.", 10).await;
    password.clear().await.unwrap();
    password.send_keys(PASSWORD).await.unwrap();
    b.click_button_in(&dialog, "Confirm").await;
    b.saying("status", "Saved", 10).await;
    b.dialog_closes(5).await;

    // The edits were saved as made, and the form still shows them.
    assert_eq!(
        slider.attr("aria-valuetext").await.unwrap().as_deref(),
        Some("15 minutes")
    );
    let stored: Value = app
        .get(
            "/api/admin/security-settings",
            &app.login("admin@demo.test").await,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["settings"]["agents"]["idle_timeout_secs"], 900);
    assert_eq!(stored["settings"]["requesters"]["remember_me"], true);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'session.reauthenticated'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_stale_single_sign_on_admin_confirms_with_the_provider_and_comes_back_to_the_page() {
    let app = Console::for_sso().await;
    let provider = provider_for(&app).await;
    connect(&app, &provider, true).await;
    let agent = app.login("agent1@demo.test").await;
    let b = Browser::launch().await;
    b.goto(&app, "/login?account=demo").await;
    b.named("link", "Sign in with Acme SSO", 10)
        .await
        .click()
        .await
        .unwrap();
    at_the_provider(&b, "admin").await;
    b.region("Agents").await;
    // Signed in an hour ago, as far as the guard can tell.
    app.execute("UPDATE sessions SET authenticated_at = created_at - 3600000")
        .await;

    b.goto(&app, "/admin/sessions").await;
    b.named("button", "Revoke session of agent1@demo.test", 10)
        .await
        .click()
        .await
        .unwrap();
    let confirm = b.dialog(5).await;
    b.click_button_in(&confirm, "End session").await;
    let prompt = b.named("alertdialog", "Confirm it's you", 10).await;
    let via = b
        .named_in(Some(&prompt), "link", "Confirm with Acme SSO", 10)
        .await;
    via.click().await.unwrap();

    // The provider asks again (prompt=login), though it has a session.
    let login = b
        .client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("input[name=login]"))
        .await
        .expect("the provider's sign-in page again");
    login.send_keys("admin").await.unwrap();
    b.client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("any")
        .await
        .unwrap();
    b.click_button("Sign-in").await;
    // Consent was given in this provider session already, or is asked now.
    eventually(20, "back on the sessions page", async || {
        if b.has_named("button", "Continue").await {
            let _ = b.named("button", "Continue", 1).await.click().await;
        }
        b.client
            .current_url()
            .await
            .is_ok_and(|u| u.path() == "/admin/sessions" && u.query().is_none())
    })
    .await;
    let confirmed = app
        .scalar(
            "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND method = 'sso'
             AND authenticated_at > created_at",
        )
        .await;
    assert_eq!(confirmed, 1, "the same session, confirmed again");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND method = 'sso'")
            .await,
        1,
        "and no second one"
    );

    // Now the revocation goes through without asking.
    b.named("button", "Revoke session of agent1@demo.test", 10)
        .await
        .click()
        .await
        .unwrap();
    let confirm = b.dialog(5).await;
    b.click_button_in(&confirm, "End session").await;
    b.dialog_closes(5).await;
    eventually(10, "the agent's session ended", async || {
        app.get("/api/session", &agent).await.status() == StatusCode::UNAUTHORIZED
    })
    .await;

    // A round trip the provider did not confirm comes back to the page that
    // asked with `reauth=failed` (reauth.rs checks the server's side): the
    // page says so.
    b.goto(&app, "/admin/sessions?reauth=failed").await;
    b.saying(
        "alert",
        "Your identity provider did not confirm it's you, so the change was not made. Try again.",
        10,
    )
    .await;
}
