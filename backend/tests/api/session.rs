//! The session check on every request: deadlines, activity rules, cookies.

use reqwest::StatusCode;
use serde_json::{json, Value};
use vigil_policy::Warning;

use crate::helpers::{set_cookie, spawn_app, Session};

#[tokio::test]
async fn missing_malformed_and_unknown_cookies_get_401_never_500() {
    let app = spawn_app().await;
    let res = app.get_anonymous("/api/session").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["reason"], "missing");
    let with_cookie = async |cookie: &str| {
        app.client
            .get(app.url("/api/session"))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap()
    };

    let unknown = "a".repeat(64);
    for value in [
        "garbage",
        "",
        "%00%ff",
        &unknown,
        &"Z".repeat(5000),
        "\"quoted\"",
    ] {
        let res = with_cookie(&format!("__Host-vigil={value}")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "cookie {value:?}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["reason"] == "invalid" || body["reason"] == "missing",
            "{value:?}: {body}"
        );
    }
    for header in [
        "=; ;=",
        "__Host-vigil",
        ";;;;",
        "__Host-vigil=a; __Host-vigil=b",
    ] {
        let res = with_cookie(header).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "header {header:?}");
    }
}

#[tokio::test]
async fn idle_session_is_rejected_after_timeout() {
    let app = spawn_app().await;
    let s = app.login("agent1@demo.test").await;
    app.advance(8 * 3600 - 1);
    let view = app.session_view(&s).await;
    assert_eq!(
        view["last_activity_at"], "2026-01-05T16:59:59Z",
        "a request is activity"
    );
    app.advance(8 * 3600);
    let res = app.get("/api/session", &s).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        set_cookie(&res).unwrap().contains("Max-Age=0"),
        "the dead cookie is cleared"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["reason"], "idle_timeout");
    // The reason sticks for later requests with the same cookie.
    app.assert_signed_out(&s, "idle_timeout").await;
    assert!(app
        .audit_actions()
        .await
        .contains(&"session.expired".to_owned()));
}

#[tokio::test]
async fn absolute_timeout_ends_a_session_whatever_the_activity() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| {
        s.agents.idle_timeout_secs = 3600;
        s.agents.absolute_timeout_secs = 2 * 3600;
    })
    .await;
    let s = app.login("agent1@demo.test").await;
    for _ in 0..4 {
        app.advance(25 * 60);
        let res = app
            .post("/api/session/activity", &s, json!({"source": "input"}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    app.advance(20 * 60);
    app.assert_signed_out(&s, "absolute_timeout").await;
}

#[tokio::test]
async fn background_polls_do_not_extend_the_session_unless_the_rule_says_so() {
    let app = spawn_app().await;
    let s = app.login("agent1@demo.test").await;
    app.advance(4 * 3600);
    let res = app.poll("/api/session", &s).await;
    assert_eq!(res.status(), StatusCode::OK);
    let view: Value = res.json().await.unwrap();
    assert_eq!(
        view["last_activity_at"], "2026-01-05T09:00:00Z",
        "a poll is not activity"
    );
    app.advance(4 * 3600);
    assert_eq!(
        app.poll("/api/session", &s).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| s.activity.background_requests_extend = true)
        .await;
    let s = app.login("agent1@demo.test").await;
    app.advance(4 * 3600);
    let view: Value = app.poll("/api/session", &s).await.json().await.unwrap();
    assert_eq!(
        view["last_activity_at"], "2026-01-05T21:00:00Z",
        "polls count under the rule"
    );
}

#[tokio::test]
async fn activity_sources_count_only_under_their_rules() {
    let app = spawn_app().await;
    let agent = app.login("agent1@demo.test").await;
    let requester = app.login("requester@demo.test").await;
    // Each case: who reports which source, the last activity it leaves, why.
    let report = async |cases: &[(&Session, &str, &str, &str)]| {
        for (who, source, last, why) in cases {
            let res = app
                .post("/api/session/activity", who, json!({"source": source}))
                .await;
            assert_eq!(res.status(), StatusCode::OK, "{why}");
            let view: Value = res.json().await.unwrap();
            assert_eq!(view["last_activity_at"], *last, "{why}");
        }
    };
    app.advance(60);
    #[rustfmt::skip]
    let by_default = [
        (&agent, "hidden", "2026-01-05T09:00:00Z", "by default a hidden tab is idle"),
        (&agent, "call", "2026-01-05T09:01:00Z", "by default a call extends"),
        (&requester, "call", "2026-01-05T09:00:00Z", "requesters take no calls"),
    ];
    report(&by_default).await;
    app.advance(60);
    report(&[(&agent, "input", "2026-01-05T09:02:00Z", "input extends")]).await;

    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| {
        s.activity.hidden_tab_is_idle = false;
        s.activity.active_call_extends = false;
    })
    .await;
    app.advance(60);
    #[rustfmt::skip]
    let turned_around = [
        (&agent, "call", "2026-01-05T09:02:00Z", "calls no longer extend"),
        (&agent, "hidden", "2026-01-05T09:03:00Z", "a hidden tab is active now"),
    ];
    report(&turned_around).await;

    for bad in [
        json!({"source": "telepathy"}),
        json!({}),
        json!({"source": 1}),
        json!([]),
    ] {
        let res = app.post("/api/session/activity", &agent, bad.clone()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn warning_instant_follows_the_policy() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| {
        s.agents.idle_timeout_secs = 10;
        s.agents.warning = Warning::Percent { percent: 80 };
    })
    .await;
    let s = app.login("agent1@demo.test").await;
    let view = app.session_view(&s).await;
    assert_eq!(view["warn_at"], "2026-01-05T09:00:08Z");
    assert_eq!(view["idle_expires_at"], "2026-01-05T09:00:10Z");
}

#[tokio::test]
async fn tightened_settings_apply_to_live_sessions_at_their_next_request() {
    let app = spawn_app().await;
    let s = app.login("agent1@demo.test").await;
    app.advance(20 * 60);
    // Signed in now: changing the settings needs a recent sign-in.
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| s.agents.idle_timeout_secs = 15 * 60)
        .await;
    app.assert_signed_out(&s, "idle_timeout").await;
}

#[tokio::test]
async fn turning_remember_me_off_reissues_a_browser_session_cookie() {
    let app = spawn_app().await;
    let s = app.login_as("agent1@demo.test", true).await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| s.agents.remember_me = false)
        .await;
    let res = app.get("/api/session", &s).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = set_cookie(&res).expect("a re-issued cookie");
    assert!(
        cookie.starts_with(&format!("__Host-vigil={};", s.token)),
        "same session: {cookie}"
    );
    assert!(
        !cookie.contains("Max-Age"),
        "browser-session cookie now: {cookie}"
    );
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["persistent"], false);
    // Once re-issued, later responses leave the cookie alone.
    assert!(set_cookie(&app.get("/api/session", &s).await).is_none());
}

/// Every `Set-Cookie: __Host-vigil=…` header of a response.
fn session_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|c| c.starts_with("__Host-vigil="))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_remember_me_downgrade_reaches_the_browser_even_on_a_refused_request() {
    let app = spawn_app().await;
    let s = app.login_as("agent1@demo.test", true).await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| s.agents.remember_me = false)
        .await;
    // The agent's first request after it is one they may not make.
    let res = app.get("/api/admin/security-settings", &s).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let cookies = session_cookies(&res);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(cookies[0].starts_with(&format!("__Host-vigil={};", s.token)));
    assert!(!cookies[0].contains("Max-Age"), "{}", cookies[0]);
}

#[tokio::test]
async fn logout_sets_the_session_cookie_once_clearing_it_even_during_a_downgrade() {
    let app = spawn_app().await;
    let s = app.login_as("agent1@demo.test", true).await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| s.agents.remember_me = false)
        .await;
    // The logout is the first request after remember-me was turned off.
    let res = app.logout(&s).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cookies = session_cookies(&res);
    assert_eq!(cookies.len(), 1, "one decision: {cookies:?}");
    assert!(
        cookies[0].starts_with("__Host-vigil=;"),
        "the last decision wins: cleared ({})",
        cookies[0]
    );
    assert_eq!(res.headers()["clear-site-data"], "\"cache\", \"storage\"");
    app.assert_signed_out(&s, "logged_out").await;
}

#[tokio::test]
async fn coalesced_activity_writes_never_end_a_session_early() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| s.agents.idle_timeout_secs = 15 * 60)
        .await;
    app.logout(&admin).await;
    let s = app.login("agent1@demo.test").await;
    let writes_before = app.state.sessions.activity.writes();
    // Ten requests within the 15 s write interval: held, not written.
    for _ in 0..10 {
        app.advance(1);
        app.session_view(&s).await;
    }
    assert_eq!(
        app.state.sessions.activity.writes(),
        writes_before,
        "no write inside the interval"
    );
    let stored = app
        .scalar(&format!(
            "SELECT last_activity_at FROM sessions WHERE user_id = {}",
            app.user_id("agent1@demo.test").await
        ))
        .await;
    assert_eq!(
        stored,
        vigil_server::cli::ms(crate::helpers::T0),
        "the row still has the sign-in time"
    );

    // The held activity (09:00:10) is written once its interval is up...
    app.advance(10);
    assert_eq!(
        app.state
            .sessions
            .flush_activity(app.state.clock.now(), false)
            .await
            .unwrap(),
        1
    );
    assert_eq!(app.state.sessions.activity.writes(), writes_before + 1);
    // ...so neither the sweeper nor a request ends the session before
    // 15 minutes after the last request, to the second.
    app.advance(15 * 60 - 11); // 09:15:09, one second before the deadline
    assert_eq!(app.sweep().await.ended, 0);
    app.advance(1); // 09:15:10, the deadline
    assert_eq!(app.sweep().await.ended, 1);
    app.assert_signed_out(&s, "idle_timeout").await;
}

#[tokio::test]
async fn sqlite_commits_survive_a_power_loss() {
    // synchronous = FULL: a committed revocation is on disk before the
    // answer (NORMAL in WAL mode may roll back the last commits).
    if crate::helpers::test_db() != crate::helpers::TestDb::Sqlite {
        return;
    }
    let app = crate::helpers::spawn_app().await;
    assert_eq!(app.scalar("PRAGMA synchronous").await, 2, "FULL");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'")
            .await,
        1
    );
}
