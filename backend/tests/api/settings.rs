//! The account's security settings over HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

const SETTINGS: &str = "/api/admin/security-settings";

#[tokio::test]
async fn settings_read_with_version_limits_and_etag() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let res = app.get(SETTINGS, &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"v1\"");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["version"], 1);
    assert_eq!(body["settings"]["agents"]["idle_timeout_secs"], 28800);
    assert_eq!(
        body["settings"]["requesters"]["warning"],
        json!({"mode": "percent", "percent": 80})
    );
    assert_eq!(
        body["limits"]["idle_min_secs"], 5,
        "tests run with VIGIL_IDLE_MIN_SECS=5"
    );
    assert_eq!(body["limits"]["idle_max_secs"], 720 * 3600);
    assert_eq!(body["updated_by"], Value::Null);

    let res = app
        .client
        .get(app.url(SETTINGS))
        .header("Cookie", admin.cookie())
        .header("If-None-Match", "\"v1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn valid_settings_are_stored_with_a_new_version_and_audited() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let res = app
        .change_settings(&admin, |s| {
            s.agents.idle_timeout_secs = 900;
            s.requesters.remember_me = true;
        })
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"v2\"");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["version"], 2);
    assert_eq!(body["updated_by"], "admin@demo.test");
    assert_eq!(body["settings"]["agents"]["idle_timeout_secs"], 900);

    let reread: Value = app.get_json(SETTINGS, &admin).await;
    assert_eq!(reread["settings"], body["settings"]);

    let audit: Value = app.get_json("/api/admin/audit?limit=1", &admin).await;
    let entry = &audit[0];
    assert_eq!(entry["action"], "settings.updated");
    assert_eq!(entry["actor"], "admin@demo.test");
    assert_eq!(
        entry["details"]["before"]["agents"]["idle_timeout_secs"],
        28800
    );
    assert_eq!(
        entry["details"]["after"]["agents"]["idle_timeout_secs"],
        900
    );
    assert_eq!(
        entry["details"]["changes"],
        json!([
            {"path": "agents.idle_timeout_secs", "before": 28800, "after": 900},
            {"path": "requesters.remember_me", "before": false, "after": true},
        ])
    );
    assert_eq!(app.login_options().await["requesters"]["remember_me"], true);
}

#[tokio::test]
async fn invalid_settings_get_every_field_error_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let res = app
        .change_settings(&admin, |s| {
            s.agents.idle_timeout_secs = 2;
            s.requesters.absolute_timeout_secs = 60;
        })
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "validation");
    let paths: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "agents.idle_timeout_secs",
            "agents.warning.secs",
            "requesters.absolute_timeout_secs"
        ]
    );
    for f in body["fields"].as_array().unwrap() {
        assert!(
            f["code"].is_string() && f["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{f}"
        );
    }
    let reread: Value = app.get_json(SETTINGS, &admin).await;
    assert_eq!(reread["version"], 1);
    assert!(!app
        .audit_actions()
        .await
        .contains(&"settings.updated".to_owned()));
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let first: Value = app.get_json(SETTINGS, &admin).await;
    assert_eq!(
        app.change_settings(&admin, |s| s.agents.idle_timeout_secs = 3600)
            .await
            .status(),
        StatusCode::OK
    );
    let mut stale = first["settings"].clone();
    stale["agents"]["idle_timeout_secs"] = json!(7200);
    let res = app
        .put(
            SETTINGS,
            &admin,
            json!({"version": first["version"], "settings": stale}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "version_conflict");
    assert_eq!(body["current_version"], 2);
    let reread: Value = app.get_json(SETTINGS, &admin).await;
    assert_eq!(reread["settings"]["agents"]["idle_timeout_secs"], 3600);
}

#[tokio::test]
async fn bad_settings_bodies_get_4xx_and_store_nothing() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let good: Value = app.get_json(SETTINGS, &admin).await;
    let with = |path: &[&str], value: Value| {
        let mut body = json!({"version": 1, "settings": good["settings"].clone()});
        let mut at = &mut body["settings"];
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        body
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown field",
            with(&["agents", "colour"], json!("red")),
            "agents",
        ),
        (
            "wrong type",
            with(&["agents", "idle_timeout_secs"], json!("15 minutes")),
            "agents.idle_timeout_secs",
        ),
        (
            "negative",
            with(&["agents", "idle_timeout_secs"], json!(-900)),
            "agents.idle_timeout_secs",
        ),
        (
            "fraction",
            with(&["agents", "idle_timeout_secs"], json!(900.5)),
            "agents.idle_timeout_secs",
        ),
        (
            "i64::MAX",
            with(&["requesters", "idle_timeout_secs"], json!(i64::MAX)),
            "requesters.idle_timeout_secs",
        ),
        (
            "u64 overflow",
            with(&["requesters", "absolute_timeout_secs"], json!(1e30)),
            "requesters.absolute_timeout_secs",
        ),
        (
            "bad warning mode",
            with(&["agents", "warning"], json!({"mode": "never"})),
            "agents.warning",
        ),
        (
            "warning extra field",
            with(
                &["agents", "warning"],
                json!({"mode": "before", "secs": 60, "percent": 5}),
            ),
            "agents.warning",
        ),
        (
            "null policy",
            with(&["requesters"], Value::Null),
            "requesters",
        ),
        (
            "missing version",
            json!({"settings": good["settings"].clone()}),
            "version",
        ),
    ];
    for (name, body, path) in cases {
        let res = app.put(SETTINGS, &admin, body).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{name}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"], "validation", "{name}");
        let got = err["fields"][0]["path"].as_str().unwrap();
        assert!(got.starts_with(path), "{name}: {got} should name {path}");
    }

    let huge = format!("{{\"version\":1,\"pad\":\"{}\"}}", "x".repeat(1 << 20));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for (name, body, content_type, status) in [
        (
            "1 MB body",
            huge,
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "deep nesting",
            deep,
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "not JSON",
            "version=1".to_owned(),
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "broken JSON",
            "{\"version\":".to_owned(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let res = app
            .client
            .put(app.url(SETTINGS))
            .header("Cookie", admin.cookie())
            .header("X-Vigil-Request", "1")
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{name}");
        let err: Value = res.json().await.unwrap();
        assert!(err["error"].is_string(), "{name}: JSON error body");
    }
    let reread: Value = app.get_json(SETTINGS, &admin).await;
    assert_eq!(reread["version"], 1);
    assert_eq!(reread["settings"], good["settings"]);
}

#[tokio::test]
async fn preview_counts_sessions_that_would_end_or_warn_and_stores_nothing() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let _idle_agent = app.login("agent1@demo.test").await;
    let _requester = app.login("requester@demo.test").await;
    app.advance(20 * 60);
    let busy_agent = app.login("agent2@demo.test").await;
    app.advance(14 * 60 + 30);
    app.session_view(&admin).await;
    let current: Value = app.get_json(SETTINGS, &admin).await;
    let mut proposed = current["settings"].clone();
    proposed["agents"]["idle_timeout_secs"] = json!(900);
    let res = app
        .post(
            &format!("{SETTINGS}/preview"),
            &admin,
            json!({"version": current["version"], "settings": proposed}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "agents": {"end_now": 1, "warn_now": 1, "live": 3, "people_at_limit": 0, "sessions_over_limit": 0},
            "requesters": {"end_now": 0, "warn_now": 0, "live": 1, "people_at_limit": 0, "sessions_over_limit": 0},
        }),
        "agent1 idle 34.5 min ends; agent2 idle 14.5 min is in the last minute; admin just acted"
    );
    let reread: Value = app.get_json(SETTINGS, &admin).await;
    assert_eq!(reread["version"], 1);
    app.session_view(&busy_agent).await;

    proposed["agents"]["idle_timeout_secs"] = json!(1);
    let res = app
        .post(
            &format!("{SETTINGS}/preview"),
            &admin,
            json!({"version": 1, "settings": proposed}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

/// `POST …/preview` of the stored settings changed by `change`, asserting 200.
async fn preview_of(
    app: &crate::helpers::TestApp,
    admin: &crate::helpers::Session,
    change: impl FnOnce(&mut Value),
) -> Value {
    let current: Value = app.get_json(SETTINGS, admin).await;
    let mut proposed = current["settings"].clone();
    change(&mut proposed);
    let res = app
        .post(
            &format!("{SETTINGS}/preview"),
            admin,
            json!({"version": current["version"], "settings": proposed}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn preview_counts_people_at_a_lowered_session_limit_and_their_sessions_beyond_it() {
    let app = spawn_app().await;
    // agent1: three sessions idle for 20 minutes, one of them remembered;
    // agent2 one, the admin two, the requester two, all fresh.
    let mut held = vec![
        app.login("agent1@demo.test").await,
        app.login("agent1@demo.test").await,
        app.login_as("agent1@demo.test", true).await,
    ];
    app.advance(20 * 60);
    held.push(app.login("agent2@demo.test").await);
    held.push(app.login("admin@demo.test").await);
    held.push(app.login("requester@demo.test").await);
    held.push(app.login("requester@demo.test").await);
    let admin = app.login("admin@demo.test").await;
    let counts = |v: &Value, audience: &str| {
        let i = &v[audience];
        [
            &i["live"],
            &i["end_now"],
            &i["people_at_limit"],
            &i["sessions_over_limit"],
        ]
        .map(|n| n.as_u64().unwrap())
    };

    let none = preview_of(&app, &admin, |_| {}).await;
    assert_eq!(
        counts(&none, "agents"),
        [6, 0, 0, 0],
        "no limit, no one at it"
    );

    let two = preview_of(&app, &admin, |s| {
        s["agents"]["max_sessions"] = json!(2);
        s["requesters"]["max_sessions"] = json!(2);
    })
    .await;
    assert_eq!(
        counts(&two, "agents"),
        [6, 0, 2, 1],
        "agent1 holds 3 (one beyond 2), the admin 2, agent2 1"
    );
    assert_eq!(counts(&two, "requesters"), [2, 0, 1, 0], "at the limit");

    // Sessions that end at once on saving do not count: a 15-minute idle
    // timeout ends agent1's two idle sessions; the remembered one stays
    // under remembered limits of its own.
    let shorter = |remembered: bool| {
        move |s: &mut Value| {
            s["agents"]["idle_timeout_secs"] = json!(900);
            s["agents"]["max_sessions"] = json!(1);
            if remembered {
                s["agents"]["remembered"] =
                    json!({"idle_timeout_secs": 28800, "absolute_timeout_secs": 2592000});
            }
        }
    };
    let one = preview_of(&app, &admin, shorter(true)).await;
    assert_eq!(
        counts(&one, "agents"),
        [6, 2, 3, 1],
        "agent1 keeps 1, agent2 1, the admin 2 (one beyond 1)"
    );
    let one = preview_of(&app, &admin, shorter(false)).await;
    assert_eq!(
        counts(&one, "agents"),
        [6, 3, 2, 1],
        "without remembered limits agent1's remembered session ends too"
    );

    // The admins' limit holds for admins only.
    let admins = preview_of(&app, &admin, |s| {
        let mut admins = s["agents"].clone();
        admins["max_sessions"] = json!(1);
        s["admins"] = admins;
    })
    .await;
    assert_eq!(counts(&admins, "agents"), [6, 0, 1, 1], "the admin only");
    assert_eq!(counts(&admins, "requesters"), [2, 0, 0, 0]);

    // The preview stored nothing and ended nothing.
    let reread: Value = app.get_json(SETTINGS, &admin).await;
    assert_eq!(reread["version"], 1);
    for s in &held {
        app.session_view(s).await;
    }
}

#[tokio::test]
async fn only_holders_of_manage_security_may_read_or_change_settings() {
    let app = spawn_app().await;
    for email in ["agent1@demo.test", "requester@demo.test"] {
        let s = app.login(email).await;
        for (method, path) in [
            (reqwest::Method::GET, SETTINGS),
            (reqwest::Method::PUT, SETTINGS),
            (reqwest::Method::GET, "/api/admin/sessions"),
            (reqwest::Method::GET, "/api/admin/audit"),
            (reqwest::Method::GET, "/api/admin/agents"),
        ] {
            let body = (method == reqwest::Method::PUT).then(|| json!({}));
            let res = app.request(method.clone(), path, Some(&s), body).await;
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "{email} {method} {path}"
            );
        }
    }
    let res = app.get_anonymous(SETTINGS).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // An agent granted manage_security may.
    let agent_id = app.user_id("agent2@demo.test").await;
    app.execute(&format!(
        "UPDATE users SET permissions = 'manage_security' WHERE id = {agent_id}"
    ))
    .await;
    let s = app.login("agent2@demo.test").await;
    assert_eq!(app.get(SETTINGS, &s).await.status(), StatusCode::OK);
}
