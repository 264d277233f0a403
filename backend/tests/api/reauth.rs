//! Re-authentication for sensitive actions: every guarded route refuses a
//! session whose sign-in is older than `VIGIL_REAUTH_SECS` (403
//! `reauthentication_required`) and changes nothing; the password again
//! (`POST /api/auth/reauthenticate`, throttled like sign-in) or, for single
//! sign-on people, a round trip through the provider with `prompt=login`
//! lets them through for the next 15 minutes, in the same session.

use reqwest::header::{COOKIE, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;
use time::OffsetDateTime;
use vigil_server::clock::Clock;

use crate::helpers::{named_cookie, spawn_app, Session, TestApp, PASSWORD};
use crate::sso::World;

/// `VIGIL_REAUTH_SECS` by default.
const LIMIT: i64 = 900;

async fn reauthenticate(app: &TestApp, s: &Session, password: &str) -> reqwest::Response {
    app.post("/api/auth/reauthenticate", s, json!({"password": password}))
        .await
}

/// The session's `authenticated_at`, from `GET /api/session`.
async fn authenticated_at(app: &TestApp, s: &Session) -> OffsetDateTime {
    let view = app.session_view(s).await;
    let at = view["authenticated_at"].as_str().expect("authenticated_at");
    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap()
}

#[track_caller]
fn assert_reauthentication_required(status: StatusCode, body: &Value, case: &str) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{case}: {body}");
    assert_eq!(body["error"], "reauthentication_required", "{case}: {body}");
    assert_eq!(body["max_age_secs"], LIMIT, "{case}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{case}: {body}"
    );
}

/// What any guarded route could change, read from the database.
async fn snapshot(app: &TestApp) -> Value {
    let pool = app.state.store.pool();
    let rows = |sql: &'static str| async move {
        sqlx::query(sql)
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>(0).unwrap())
            .collect::<Vec<_>>()
    };
    json!({
        "settings": app.scalar("SELECT version FROM security_settings").await,
        "live": rows("SELECT id FROM sessions WHERE ended_at IS NULL ORDER BY id").await,
        "active": rows("SELECT email FROM users WHERE active = TRUE ORDER BY email").await,
        "sso": rows("SELECT name || ' ' || client_id FROM sso_connections ORDER BY id").await,
        "audit": app.scalar("SELECT COUNT(*) FROM audit_log").await,
    })
}

/// One guarded request, and what it answers once the session is fresh.
struct Guarded {
    case: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    fresh: StatusCode,
}

#[tokio::test]
async fn every_guarded_route_refuses_a_stale_sign_in_and_changes_nothing_until_the_password_is_given_again(
) {
    let w = World::new().await;
    let (app, admin) = (&w.app, &w.admin);
    let sso = w.connected().await;
    let agent1 = app.login("agent1@demo.test").await;
    let agent1_session = app.session_id(&agent1).await;
    let agent2 = app.user_id("agent2@demo.test").await;
    let requester = app.user_id("requester@demo.test").await;
    // Deactivated while fresh, so reactivating has something to change.
    let res = app
        .post(
            &format!("/api/admin/users/{requester}/deactivate"),
            admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let settings: Value = app.get_json("/api/admin/security-settings", admin).await;
    let mut changed = settings["settings"].clone();
    changed["agents"]["idle_timeout_secs"] = json!(4 * 3600);
    let mut other_connection = w.connection();
    other_connection["name"] = json!("Other SSO");
    let mut renamed = w.connection();
    renamed["name"] = json!("Renamed SSO");
    let routes = [
        Guarded {
            case: "PUT security-settings",
            method: Method::PUT,
            path: "/api/admin/security-settings".into(),
            body: Some(json!({"version": settings["version"], "settings": changed})),
            fresh: StatusCode::OK,
        },
        Guarded {
            case: "DELETE an admin session",
            method: Method::DELETE,
            path: format!("/api/admin/sessions/{agent1_session}"),
            body: None,
            fresh: StatusCode::NO_CONTENT,
        },
        Guarded {
            case: "revoke-sessions",
            method: Method::POST,
            path: format!("/api/admin/users/{agent2}/revoke-sessions"),
            body: Some(json!({})),
            fresh: StatusCode::OK,
        },
        Guarded {
            case: "deactivate",
            method: Method::POST,
            path: format!("/api/admin/users/{agent2}/deactivate"),
            body: Some(json!({})),
            fresh: StatusCode::OK,
        },
        Guarded {
            case: "reactivate",
            method: Method::POST,
            path: format!("/api/admin/users/{requester}/reactivate"),
            body: Some(json!({})),
            fresh: StatusCode::OK,
        },
        Guarded {
            case: "create an SSO connection",
            method: Method::POST,
            path: "/api/admin/sso".into(),
            body: Some(other_connection),
            fresh: StatusCode::CREATED,
        },
        Guarded {
            case: "change an SSO connection",
            method: Method::PUT,
            path: format!("/api/admin/sso/{sso}"),
            body: Some(renamed),
            fresh: StatusCode::OK,
        },
        Guarded {
            case: "delete an SSO connection",
            method: Method::DELETE,
            path: format!("/api/admin/sso/{sso}"),
            body: None,
            fresh: StatusCode::NO_CONTENT,
        },
    ];

    // Exactly the limit is still recent; a second more is not.
    app.advance(LIMIT);
    let res = app
        .request(
            Method::PUT,
            &routes[0].path,
            Some(admin),
            routes[0].body.clone(),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "at the limit: {}",
        res.text().await.unwrap()
    );
    let settings: Value = app.get_json("/api/admin/security-settings", admin).await;
    let mut routes = routes;
    routes[0].body = Some(json!({"version": settings["version"], "settings": changed}));
    app.advance(1);

    let before = snapshot(app).await;
    for r in &routes {
        let res = app
            .request(r.method.clone(), &r.path, Some(admin), r.body.clone())
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_reauthentication_required(status, &body, r.case);
        assert_eq!(snapshot(app).await, before, "{}: nothing changed", r.case);
    }

    let res = reauthenticate(app, admin, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let view: Value = res.json().await.unwrap();
    let now = app.clock.now();
    let at = OffsetDateTime::parse(
        view["authenticated_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(at, now, "the answer says the new time");
    assert_eq!(
        authenticated_at(app, admin).await,
        now,
        "and the session keeps it"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'session.reauthenticated'")
            .await,
        1
    );

    for r in &routes {
        let res = app
            .request(r.method.clone(), &r.path, Some(admin), r.body.clone())
            .await;
        let status = res.status();
        assert_eq!(status, r.fresh, "{}: {}", r.case, res.text().await.unwrap());
    }
    app.assert_signed_out(&agent1, "revoked").await;

    // The confirmation lasts the limit, then lapses like the sign-in did.
    app.advance(LIMIT + 1);
    let res = app.change_settings(admin, |_| {}).await;
    let status = res.status();
    assert_reauthentication_required(status, &res.json().await.unwrap(), "lapsed");
}

#[tokio::test]
async fn a_wrong_password_is_refused_audited_and_throttled_like_a_sign_in() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let signed_in = authenticated_at(&app, &admin).await;
    app.advance(LIMIT + 1);
    for attempt in 1..=5 {
        let res = reauthenticate(&app, &admin, "not the password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_credentials", "attempt {attempt}");
    }
    assert_eq!(authenticated_at(&app, &admin).await, signed_in, "unchanged");
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed'
             AND details LIKE '%wrong_password_reauthentication%'"
        )
        .await,
        5
    );
    // The sign-in budget of this email from this address is spent: the
    // right password waits too, and so does a sign-in (one budget).
    let res = reauthenticate(&app, &admin, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "too_many_attempts");
    let res = app
        .post_login(json!({"account": "demo", "email": "admin@demo.test", "password": PASSWORD}))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "sign-in shares it"
    );
    assert_eq!(authenticated_at(&app, &admin).await, signed_in);
    let res = app.change_settings(&admin, |_| {}).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "still not confirmed");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'session.reauthenticated'")
            .await,
        0
    );
}

#[tokio::test]
async fn reauthenticating_needs_a_live_session_the_csrf_header_and_a_readable_body() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let url = app.url("/api/auth/reauthenticate");
    let body = json!({"password": PASSWORD});

    let res = app
        .request(
            Method::POST,
            "/api/auth/reauthenticate",
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "no session");

    let res = app
        .client
        .post(&url)
        .header(COOKIE, admin.cookie())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF header");
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["error"], "csrf");

    for (case, bad) in [
        ("no password", json!({})),
        ("a number", json!({"password": 5})),
        (
            "an unknown field",
            json!({"password": PASSWORD, "email": "x"}),
        ),
        ("too long", json!({"password": "x".repeat(5000)})),
    ] {
        let res = app.post("/api/auth/reauthenticate", &admin, bad).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{case}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'session.reauthenticated'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_reauthentication_through_one_server_counts_on_another_at_once() {
    let app = spawn_app().await;
    // Replicas share state only on PostgreSQL; on SQLite this is the same
    // server reached twice, which must hold as well.
    let other = if app.database_url.starts_with("postgres") {
        Some(app.replica().await)
    } else {
        None
    };
    let other = other.as_ref().unwrap_or(&app);
    let admin = app.login("admin@demo.test").await;
    // Both servers hold the session in memory.
    assert_eq!(
        other.get("/api/session", &admin).await.status(),
        StatusCode::OK
    );
    app.advance(LIMIT + 1);
    let res = other.change_settings(&admin, |_| {}).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = reauthenticate(&app, &admin, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = other.change_settings(&admin, |_| {}).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
}

/// The browser's request to the callback: its sign-in cookie and, when it
/// holds one, its session.
async fn callback(
    w: &World,
    url: &str,
    sso_cookie: &str,
    session: Option<&Session>,
) -> reqwest::Response {
    let mut cookies = format!("__Host-vigil-sso={sso_cookie}");
    if let Some(s) = session {
        cookies.push_str(&format!("; {}", s.cookie()));
    }
    w.app
        .client
        .get(url)
        .header(COOKIE, cookies)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_single_sign_on_person_confirms_through_the_provider_in_the_same_session() {
    let w = World::new().await;
    let id = w.connected().await;
    let (admin, _) = w.sign_in(&id, "audience=agents", "admin").await;
    w.app.advance(LIMIT + 1);
    let res = w.app.change_settings(&admin, |_| {}).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Only a browser with a live session can start one.
    let start = w.app.url(&format!("/api/auth/sso/{id}/start?reauth=1"));
    let res = w.app.client.get(&start).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = w
        .app
        .client
        .get(&start)
        .header(COOKIE, admin.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let to = res.headers()[LOCATION].to_str().unwrap();
    for part in ["prompt=login", "max_age=0"] {
        assert!(to.contains(part), "{part} in {to}");
    }
    let res = w
        .app
        .client
        .get(format!("{start}2"))
        .header(COOKIE, admin.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "reauth=12");

    let live = w.live_sessions().await;
    let (url, sso_cookie) = w
        .through_provider_from(
            &id,
            "reauth=1&next=%2Fadmin%2Fsecurity",
            "admin",
            Some(&admin),
        )
        .await;
    let res = callback(&w, &url, &sso_cookie, Some(&admin)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[LOCATION],
        "/admin/security",
        "back where it asked"
    );
    assert_eq!(named_cookie(&res, "__Host-vigil"), None, "no new session");
    assert_eq!(w.live_sessions().await, live, "no second session");
    assert_eq!(authenticated_at(&w.app, &admin).await, w.app.clock.now());
    let details: String =
        sqlx::query("SELECT details FROM audit_log WHERE action = 'session.reauthenticated'")
            .fetch_one(w.app.state.store.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
    let details: Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["method"], "sso");
    assert_eq!(details["connection"]["id"], id.as_str());
    let res = w.app.change_settings(&admin, |_| {}).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
}

#[tokio::test]
async fn a_round_trip_for_someone_else_or_from_another_browser_confirms_nothing() {
    let w = World::new().await;
    let id = w.connected().await;
    let (admin, _) = w.sign_in(&id, "audience=agents", "admin").await;
    let signed_in = authenticated_at(&w.app, &admin).await;
    w.app.advance(LIMIT + 1);
    let query = "reauth=1&next=%2Fadmin%2Fsessions";

    // Someone else signs in at the provider.
    let (url, sso_cookie) = w
        .through_provider_from(&id, query, "agent1", Some(&admin))
        .await;
    let res = callback(&w, &url, &sso_cookie, Some(&admin)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/admin/sessions?reauth=failed");
    assert_eq!(named_cookie(&res, "__Host-vigil"), None);

    // The round trip ends in a browser without the session that asked.
    let (url, sso_cookie) = w
        .through_provider_from(&id, query, "admin", Some(&admin))
        .await;
    let res = callback(&w, &url, &sso_cookie, None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/admin/sessions?reauth=failed");
    assert_eq!(named_cookie(&res, "__Host-vigil"), None, "nor a sign-in");

    assert_eq!(authenticated_at(&w.app, &admin).await, signed_in);
    let res = w.app.change_settings(&admin, |_| {}).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let reasons: Vec<String> =
        sqlx::query("SELECT details FROM audit_log WHERE action = 'login.failed' ORDER BY id")
            .fetch_all(w.app.state.store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| {
                let d: Value = serde_json::from_str(&r.try_get::<String, _>(0).unwrap()).unwrap();
                assert_eq!(d["reauthentication"], true);
                d["reason"].as_str().unwrap().to_owned()
            })
            .collect();
    assert_eq!(reasons, ["wrong_person", "session_changed"]);
}

/// A person whose audience must sign in through the provider cannot
/// confirm with a password: the route says so before any password check,
/// so a held session cannot test guesses (twelve tries, past the five-a-
/// quarter-hour budget for one email, all get the same answer, and no
/// failure is counted or audited).
#[tokio::test]
async fn a_person_who_must_use_single_sign_on_is_sent_there_before_any_password_check() {
    let w = World::new().await;
    let mut body = w.connection();
    body["password_sign_in"]["agents"] = json!(false);
    let id = w.connect(body).await["id"].as_str().unwrap().to_owned();
    let (agent, _) = w.sign_in(&id, "audience=agents", "agent1").await;
    let failed = w.app.audit_count("login.failed").await;
    for password in ["not the password", PASSWORD].iter().cycle().take(12) {
        let res = reauthenticate(&w.app, &agent, password).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "sso_required", "{body}");
    }
    assert_eq!(
        w.app.audit_count("login.failed").await,
        failed,
        "no failure counted"
    );
    assert_eq!(w.app.audit_count("session.reauthenticated").await, 0);
    // The provider still confirms them.
    let (url, sso_cookie) = w
        .through_provider_from(&id, "reauth=1", "agent1", Some(&agent))
        .await;
    let res = callback(&w, &url, &sso_cookie, Some(&agent)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(w.app.audit_count("session.reauthenticated").await, 1);
}
