//! The policy additions (SPEC "Policy additions"): stored settings of the
//! old shape, remembered limits, the admins' policy, `call_max_secs`, and
//! `max_sessions` in the one sign-in path, alone and under concurrent
//! sign-ins (on both databases: the suite runs on each).

use reqwest::StatusCode;
use serde_json::{json, Value};
use vigil_policy::settings::{OnSessionLimit, RememberedLimits};
use vigil_policy::AudiencePolicy;

use crate::helpers::{spawn_app, spawn_behind_proxy, Session, TestApp, PASSWORD};

/// The settings as stored before the policy additions existed.
const OLD_SHAPE: &str = r#"{"agents":{"idle_timeout_secs":900,"absolute_timeout_secs":86400,"warning":{"mode":"before","secs":60},"remember_me":true},"requesters":{"idle_timeout_secs":28800,"absolute_timeout_secs":2592000,"warning":{"mode":"percent","percent":80},"remember_me":false},"activity":{"background_requests_extend":false,"hidden_tab_is_idle":true,"active_call_extends":true}}"#;

fn secs(view: &Value, field: &str) -> i64 {
    let at = |f: &str| {
        time::OffsetDateTime::parse(
            view[f].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    (at(field) - at("created_at")).whole_seconds()
}

async fn live_sessions_of(app: &TestApp, user_id: i64) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM sessions WHERE user_id = {user_id} AND ended_at IS NULL"
    ))
    .await
}

#[tokio::test]
async fn settings_stored_in_the_old_shape_are_read_enforced_and_rewritten() {
    let app = spawn_app().await;
    app.execute(&format!(
        "UPDATE security_settings SET settings = '{OLD_SHAPE}'"
    ))
    .await;
    let admin = app.login("admin@demo.test").await;
    let got: Value = app.get_json("/api/admin/security-settings", &admin).await;
    let s = &got["settings"];
    assert_eq!(s["agents"]["idle_timeout_secs"], 900, "{got}");
    assert_eq!(s["agents"]["remembered"], Value::Null);
    assert_eq!(s["agents"]["max_sessions"], Value::Null);
    assert_eq!(s["agents"]["on_session_limit"], "end_oldest");
    assert_eq!(s["admins"], Value::Null);
    assert_eq!(s["activity"]["call_max_secs"], 14400);

    // Enforced as stored: the agents' 15 minutes, whoever signs in.
    let agent = app.login_as("agent1@demo.test", true).await;
    let view = app.session_view(&agent).await;
    assert_eq!(view["policy"]["idle_timeout_secs"], 900);
    assert_eq!(secs(&view, "idle_expires_at"), 900);
    app.advance(901);
    app.assert_signed_out(&agent, "idle_timeout").await;
    app.assert_signed_out(&admin, "idle_timeout").await;

    // A body of the old shape is still a valid PUT, and gets the defaults.
    let admin = app.login("admin@demo.test").await;
    let mut old: Value = serde_json::from_str(OLD_SHAPE).unwrap();
    old["agents"]["idle_timeout_secs"] = 1800.into();
    let res = app
        .put(
            "/api/admin/security-settings",
            &admin,
            json!({"version": got["version"], "settings": old}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let stored: Value = app.get_json("/api/admin/security-settings", &admin).await;
    assert_eq!(stored["settings"]["agents"]["idle_timeout_secs"], 1800);
    assert_eq!(stored["settings"]["activity"]["call_max_secs"], 14400);
}

#[tokio::test]
async fn remembered_sessions_live_by_their_own_limits() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| {
        s.agents.idle_timeout_secs = 900;
        s.agents.absolute_timeout_secs = 8 * 3600;
        s.agents.remembered = Some(RememberedLimits {
            idle_timeout_secs: 7200,
            absolute_timeout_secs: 7 * 86400,
        });
    })
    .await;
    let remembered = app.login_as("agent1@demo.test", true).await;
    let ordinary = app.login_as("agent2@demo.test", false).await;
    let view = app.session_view(&remembered).await;
    assert_eq!(view["persistent"], true);
    assert_eq!(view["policy"]["idle_timeout_secs"], 7200, "{view}");
    assert_eq!(view["policy"]["absolute_timeout_secs"], 7 * 86400);
    assert_eq!(secs(&view, "absolute_expires_at"), 7 * 86400);
    let view = app.session_view(&ordinary).await;
    assert_eq!(view["policy"]["idle_timeout_secs"], 900);

    app.advance(3600);
    app.sweep().await;
    app.assert_signed_out(&ordinary, "idle_timeout").await;
    let res = app.get("/api/session", &remembered).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let view = app.session_view(&remembered).await;
    assert_eq!(secs(&view, "idle_expires_at"), 3600 + 7200);

    // Past the ordinary lifetime, within the remembered one.
    for _ in 0..8 {
        app.advance(3600);
        app.session_view(&remembered).await;
    }
    // Idle past the remembered limit: the sweeper ends it on its own.
    app.advance(7201);
    app.sweep().await;
    app.assert_signed_out(&remembered, "idle_timeout").await;
}

fn strict_admins() -> AudiencePolicy {
    AudiencePolicy {
        idle_timeout_secs: 600,
        absolute_timeout_secs: 4 * 3600,
        warning: vigil_policy::Warning::Before { secs: 60 },
        remember_me: false,
        ..AudiencePolicy::default()
    }
}

#[tokio::test]
async fn admins_live_by_the_stricter_admins_policy() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| s.admins = Some(strict_admins()))
        .await;
    let admin = app.login_as("admin@demo.test", true).await;
    let agent = app.login_as("agent1@demo.test", true).await;
    let view = app.session_view(&admin).await;
    assert_eq!(view["policy"]["idle_timeout_secs"], 600, "{view}");
    assert_eq!(
        view["persistent"], false,
        "admins are offered no remember-me"
    );
    assert_eq!(secs(&view, "absolute_expires_at"), 4 * 3600);
    let view = app.session_view(&agent).await;
    assert_eq!(view["policy"]["idle_timeout_secs"], 28800);
    assert_eq!(view["persistent"], true);

    // Idle past the admins' limit: the sweeper ends the admin's session
    // without any request, and leaves the agent's.
    app.advance(601);
    let report = app.sweep().await;
    assert_eq!(report.ended, 2, "both of the admin's sessions: {report:?}");
    app.assert_signed_out(&admin, "idle_timeout").await;
    app.session_view(&agent).await;
}

#[tokio::test]
async fn an_admins_policy_looser_than_the_agents_is_refused_and_nothing_stored() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let before = app.scalar("SELECT version FROM security_settings").await;
    for (name, change) in [
        (
            "idle",
            json!({"idle_timeout_secs": 9 * 3600, "absolute_timeout_secs": 10 * 3600}),
        ),
        ("lifetime", json!({"absolute_timeout_secs": 31 * 86400})),
    ] {
        let mut admins = serde_json::to_value(strict_admins()).unwrap();
        for (k, v) in change.as_object().unwrap() {
            admins[k] = v.clone();
        }
        let res = app
            .change_settings(&admin, |s| {
                s.admins = Some(serde_json::from_value(admins).unwrap());
            })
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "validation", "{name}");
        assert_eq!(
            body["fields"][0]["code"], "looser_than_agents",
            "{name}: {body}"
        );
        assert!(
            body["fields"][0]["path"]
                .as_str()
                .unwrap()
                .starts_with("admins."),
            "{name}: {body}"
        );
    }
    for (path, value) in [
        ("max_sessions", json!(0)),
        ("max_sessions", json!(101)),
        ("call_max_secs", json!(899)),
        ("call_max_secs", json!(86401)),
    ] {
        let res = app
            .change_settings(&admin, |s| match path {
                "max_sessions" => s.agents.max_sessions = value.as_u64().map(|n| n as u32),
                _ => s.activity.call_max_secs = value.as_u64().unwrap(),
            })
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path} {value}");
    }
    assert_eq!(
        app.scalar("SELECT version FROM security_settings").await,
        before,
        "nothing stored"
    );
}

async fn report(app: &TestApp, s: &Session, source: &str) -> Value {
    let res = app
        .post("/api/session/activity", s, json!({"source": source}))
        .await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_call_keeps_a_session_alive_at_most_call_max_after_the_last_input() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| {
        s.agents.idle_timeout_secs = 600;
        s.activity.call_max_secs = 900;
    })
    .await;
    let agent = app.login("agent1@demo.test").await;
    // On a call, no input: heartbeats count until 15 minutes after the
    // sign-in (the last input)...
    app.advance(500);
    let view = report(&app, &agent, "call").await;
    assert_eq!(secs(&view, "last_activity_at"), 500);
    app.advance(400); // 900 s after the input: still within
    let view = report(&app, &agent, "call").await;
    assert_eq!(secs(&view, "last_activity_at"), 900);
    // ...and no longer after.
    app.advance(1);
    let view = report(&app, &agent, "call").await;
    assert_eq!(secs(&view, "last_activity_at"), 900, "{view}");
    app.advance(598);
    let view = report(&app, &agent, "call").await;
    assert_eq!(secs(&view, "idle_expires_at"), 1500);
    app.advance(1);
    app.assert_signed_out(&agent, "idle_timeout").await;

    // Input starts the allowance again; the last input is stored with the
    // activity, so a server that forgets the session (here: its memory
    // emptied) still counts from it, not from the last call.
    let agent = app.login("agent2@demo.test").await;
    app.advance(300);
    report(&app, &agent, "input").await;
    app.advance(500);
    let view = report(&app, &agent, "call").await;
    assert_eq!(secs(&view, "last_activity_at"), 800);
    let now = app.state.sessions.clock.now();
    app.state.sessions.flush_activity(now, true).await.unwrap();
    app.state.sessions.memory.clear();
    app.advance(400);
    let view = report(&app, &agent, "call").await;
    assert_eq!(secs(&view, "last_activity_at"), 1200, "{view}");
    app.advance(1);
    let view = report(&app, &agent, "call").await;
    assert_eq!(secs(&view, "last_activity_at"), 1200, "{view}");
}

async fn limit(app: &TestApp, admin: &Session, max: u32, on: OnSessionLimit) {
    app.apply_settings(admin, |s| {
        s.agents.max_sessions = Some(max);
        s.agents.on_session_limit = on;
        // Admins are agents here too; keep them out of the way.
        s.admins = Some(AudiencePolicy {
            max_sessions: Some(max),
            ..s.agents.clone()
        });
    })
    .await;
}

#[tokio::test]
async fn a_sign_in_beyond_the_limit_ends_the_oldest_session_as_revoked() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    limit(&app, &admin, 2, OnSessionLimit::EndOldest).await;
    let agent1 = app.user_id("agent1@demo.test").await;
    let first = app.login("agent1@demo.test").await;
    let first_id = app.session_id(&first).await;
    app.set_available(&first, true).await;
    app.advance(1);
    let mut events = app.events(&first).await;
    let second = app.login("agent1@demo.test").await;
    app.advance(1);
    let third = app.login("agent1@demo.test").await;
    assert_eq!(live_sessions_of(&app, agent1).await, 2);
    app.assert_signed_out(&first, "revoked").await;
    app.session_view(&second).await;
    app.session_view(&third).await;
    // The live channel hears it; the audit names the session limit; the
    // agent, still signed in, stays available.
    let mut ended = false;
    while let Some(e) = events.next_event(std::time::Duration::from_secs(5)).await {
        if e.event == "ended" {
            assert_eq!(e.json()["reason"], "revoked");
            ended = true;
            break;
        }
    }
    assert!(ended, "the live channel heard the revocation");
    let revoked = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'session.revoked' \
             AND actor = 'session limit' AND target = 'session:{first_id}'"
        ))
        .await;
    assert_eq!(revoked, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {agent1} AND available = TRUE"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_sign_in_beyond_the_limit_is_refused_with_409_and_starts_nothing() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    limit(&app, &admin, 2, OnSessionLimit::Refuse).await;
    let agent1 = app.user_id("agent1@demo.test").await;
    let first = app.login("agent1@demo.test").await;
    let _second = app.login("agent1@demo.test").await;
    let res = app
        .post_login(json!({"account": "demo", "email": "agent1@demo.test", "password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res
        .headers()
        .get("set-cookie")
        .is_none_or(|c| !c.to_str().unwrap().starts_with("__Host-vigil=")));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "session_limit");
    assert_eq!(body["live"], 2);
    assert_eq!(live_sessions_of(&app, agent1).await, 2);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed' \
             AND details LIKE '%session_limit%'"
        )
        .await,
        1
    );
    // One signs out: there is room again.
    app.logout(&first).await;
    app.login("agent1@demo.test").await;
    assert_eq!(live_sessions_of(&app, agent1).await, 2);
}

/// Twenty sign-ins of one person at once, with a limit of three, five
/// rounds: never more than three live sessions at any moment (a watcher
/// counts them throughout), exactly three after; with `refuse`, exactly
/// three sign-ins succeed and the rest answer 409.
async fn concurrent_sign_ins_hold_the_limit(on: OnSessionLimit) {
    const MAX: i64 = 3;
    const AT_ONCE: usize = 20;
    let app = spawn_behind_proxy().await;
    let admin = app.login("admin@demo.test").await;
    limit(&app, &admin, MAX as u32, on).await;
    let agent1 = app.user_id("agent1@demo.test").await;
    for round in 0..5 {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watcher = {
            let pool = app.state.store.pool().clone();
            let done = done.clone();
            tokio::spawn(async move {
                use sqlx::Row;
                let mut most = 0i64;
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    let n: i64 = sqlx::query(&format!(
                        "SELECT COUNT(*) FROM sessions WHERE user_id = {agent1} AND ended_at IS NULL"
                    ))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
                    most = most.max(n);
                    tokio::task::yield_now().await;
                }
                most
            })
        };
        // Each from an address of its own, so the sign-in budgets (per
        // email and address) let all of them through to the session start.
        let clients: Vec<String> = (0..AT_ONCE).map(|i| format!("10.0.{round}.{i}")).collect();
        let sign_ins = clients
            .iter()
            .map(|client| app.login_from(client, "agent1@demo.test", PASSWORD, None));
        let answers = futures_util::future::join_all(sign_ins).await;
        done.store(true, std::sync::atomic::Ordering::Release);
        let most = watcher.await.unwrap();
        let ok = answers
            .iter()
            .filter(|r| r.status() == StatusCode::OK)
            .count();
        let refused = answers
            .iter()
            .filter(|r| r.status() == StatusCode::CONFLICT)
            .count();
        let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(
            ok + refused,
            AT_ONCE,
            "round {round}: only 200 and 409: {statuses:?}"
        );
        match on {
            OnSessionLimit::EndOldest => assert_eq!(ok, AT_ONCE, "round {round}"),
            OnSessionLimit::Refuse => assert_eq!(ok, MAX as usize, "round {round}"),
        }
        assert!(most <= MAX, "round {round}: {most} live at once");
        assert_eq!(live_sessions_of(&app, agent1).await, MAX, "round {round}");
        if on == OnSessionLimit::EndOldest {
            let revoked = app
                .scalar(&format!(
                    "SELECT COUNT(*) FROM sessions WHERE user_id = {agent1} AND end_reason = 'revoked'"
                ))
                .await;
            assert_eq!(
                revoked,
                (AT_ONCE as i64 - MAX) * (round + 1) + MAX * round,
                "round {round}: the surplus ended as revoked"
            );
        }
        // Start the next round from nothing.
        let res = app.revoke_user(&admin, agent1).await;
        assert_eq!(res.status(), StatusCode::OK, "round {round}");
    }
}

#[tokio::test]
async fn concurrent_sign_ins_never_exceed_the_limit_when_the_oldest_ends() {
    concurrent_sign_ins_hold_the_limit(OnSessionLimit::EndOldest).await;
}

#[tokio::test]
async fn concurrent_sign_ins_never_exceed_the_limit_when_refused() {
    concurrent_sign_ins_hold_the_limit(OnSessionLimit::Refuse).await;
}

#[tokio::test]
async fn the_openapi_document_states_the_new_fields_and_their_bounds() {
    let app = spawn_app().await;
    let doc: Value = app
        .get_anonymous("/api/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    let policy = &schemas["AudiencePolicy"]["properties"];
    assert_eq!(policy["max_sessions"]["minimum"], 1, "{policy}");
    assert_eq!(policy["max_sessions"]["maximum"], 100);
    assert!(policy["remembered"]
        .to_string()
        .contains("RememberedLimits"));
    assert!(policy["on_session_limit"]
        .to_string()
        .contains("OnSessionLimit"));
    let remembered = &schemas["RememberedLimits"]["properties"];
    assert_eq!(
        remembered["idle_timeout_secs"]["minimum"], 5,
        "ops' idle minimum"
    );
    assert_eq!(remembered["absolute_timeout_secs"]["maximum"], 365 * 86400);
    let call = &schemas["ActivityRules"]["properties"]["call_max_secs"];
    assert_eq!(
        (call["minimum"].as_u64(), call["maximum"].as_u64()),
        (Some(900), Some(86400))
    );
    assert!(schemas["SecuritySettings"]["properties"]["admins"]
        .to_string()
        .contains("AudiencePolicy"));
    assert!(doc["paths"]["/api/auth/login"]["post"]["responses"]["409"].is_object());
    assert!(schemas["ErrorCode"].to_string().contains("session_limit"));
}
