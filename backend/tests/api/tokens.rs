//! API tokens and universal logout: scripts calling the admin API with
//! `Authorization: Bearer`, no cookie and no CSRF header; scopes; expiry,
//! revocation and throttling of wrong tokens; accounts kept apart; races on
//! the tokens table.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::admin::other_account;
use crate::helpers::{spawn_app, spawn_behind_proxy, Session, TestApp};

/// A request as a script sends it: the bearer token, a JSON body when
/// given, and nothing else (no cookie, no `X-Vigil-Request`).
async fn scripted(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// Creates a token as `admin`; its answer (with the secret in `token`).
async fn create(app: &TestApp, admin: &Session, name: &str, scopes: &[&str]) -> Value {
    let res = app
        .post(
            "/api/admin/tokens",
            admin,
            json!({"name": name, "scopes": scopes}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "creating {name}");
    res.json().await.unwrap()
}

async fn secret(app: &TestApp, admin: &Session, name: &str, scopes: &[&str]) -> String {
    create(app, admin, name, scopes).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The actors of audit entries with `action`, oldest first.
async fn actors_of(app: &TestApp, action: &str) -> Vec<String> {
    use sqlx::Row;
    sqlx::query("SELECT actor FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(app.state.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("actor").unwrap())
        .collect()
}

async fn universal_logout(app: &TestApp, token: &str, email: &str) -> Response {
    scripted(
        app,
        Method::POST,
        "/api/global-token-revocation",
        token,
        Some(json!({"sub_id": {"format": "email", "email": email}})),
    )
    .await
}

#[tokio::test]
async fn a_script_with_a_token_lists_and_ends_sessions_without_cookie_or_csrf_header() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let token = secret(
        &app,
        &admin,
        "offboarding",
        &["sessions:read", "sessions:write"],
    )
    .await;
    assert!(token.starts_with("vigil_"), "{token}");
    let agent = app.login("agent1@demo.test").await;
    let agent_session = app.session_id(&agent).await;

    let res = scripted(&app, Method::GET, "/api/admin/sessions", &token, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let listed: Vec<Value> = res.json().await.unwrap();
    assert!(listed.iter().any(|s| s["session_id"] == agent_session));

    let res = scripted(
        &app,
        Method::DELETE,
        &format!("/api/admin/sessions/{agent_session}"),
        &token,
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.assert_signed_out(&agent, "revoked").await;
    assert_eq!(
        actors_of(&app, "session.revoked").await,
        vec!["token offboarding"],
        "the audit names the token"
    );

    // The list shows the use, never the secret or its hash.
    let list: Vec<Value> = app.get_json("/api/admin/tokens", &admin).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "offboarding");
    assert_eq!(
        list[0]["scopes"],
        json!(["sessions:read", "sessions:write"])
    );
    assert!(list[0]["last_used_at"].is_string(), "{}", list[0]);
    assert!(list[0].get("token").is_none());
    let stored = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE token_hash = '{token}' OR scopes LIKE '%{token}%'"
        ))
        .await;
    assert_eq!(stored, 0, "the secret itself is stored nowhere");
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    };
    let secret_part = &token["vigil_".len()..];
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE details LIKE '%{secret_part}%'
                OR details LIKE '%{hash}%' OR target LIKE '%{hash}%'"
        ))
        .await,
        0,
        "the audit holds neither the secret nor its hash"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'token.created'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_token_without_the_scope_gets_403_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let reader = secret(&app, &admin, "reader", &["sessions:read", "settings:read"]).await;
    let agent = app.login("agent1@demo.test").await;
    let agent_session = app.session_id(&agent).await;
    let agent1 = app.user_id("agent1@demo.test").await;
    let settings: Value = scripted(
        &app,
        Method::GET,
        "/api/admin/security-settings",
        &reader,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let audit_before = app.audit_actions().await.len();

    let cases: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::DELETE,
            format!("/api/admin/sessions/{agent_session}"),
            None,
            "sessions:write",
        ),
        (
            Method::POST,
            format!("/api/admin/users/{agent1}/revoke-sessions"),
            None,
            "sessions:write",
        ),
        (
            Method::POST,
            format!("/api/admin/users/{agent1}/deactivate"),
            None,
            "users:write",
        ),
        (
            Method::PUT,
            "/api/admin/security-settings".into(),
            Some(json!({"version": settings["version"], "settings": settings["settings"]})),
            "settings:write",
        ),
        (Method::GET, "/api/admin/audit".into(), None, "audit:read"),
        (
            Method::GET,
            "/api/admin/audit.csv".into(),
            None,
            "audit:read",
        ),
    ];
    for (method, path, body, scope) in cases {
        let res = scripted(&app, method.clone(), &path, &reader, body.clone()).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("insufficient_scope"),
            "{method} {path}"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": "insufficient_scope", "scope": scope, "message": body["message"]}),
            "{method} {path}"
        );
    }
    // Routes for people only refuse every token.
    for (method, path) in [
        (Method::GET, "/api/admin/tokens"),
        (Method::POST, "/api/admin/tokens"),
        (
            Method::DELETE,
            "/api/admin/sso/0123456789abcdef0123456789abcdef",
        ),
    ] {
        let body = (method == Method::POST).then(|| json!({"name": "x", "scopes": ["audit:read"]}));
        let res = scripted(&app, method.clone(), path, &reader, body).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    // Nothing changed.
    assert_eq!(
        app.session_view(&agent).await["user"]["email"],
        "agent1@demo.test"
    );
    assert_eq!(
        app.audit_actions().await.len(),
        audit_before,
        "nothing audited"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM api_tokens").await,
        1,
        "no token created by a token"
    );
    // What the scopes allow works.
    for path in ["/api/admin/sessions", "/api/admin/agents", "/api/admin/sso"] {
        let res = scripted(&app, Method::GET, path, &reader, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn expired_revoked_and_garbage_tokens_get_401_and_cookies_beside_them_are_ignored() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let soon = app.state.clock.now() + time::Duration::hours(1);
    let res = app
        .post(
            "/api/admin/tokens",
            &admin,
            json!({"name": "brief", "scopes": ["sessions:read"],
                   "expires_at": soon.format(&time::format_description::well_known::Rfc3339).unwrap()}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let brief: Value = res.json().await.unwrap();
    let brief_token = brief["token"].as_str().unwrap().to_owned();
    let revoked = create(&app, &admin, "revoked", &["sessions:read"]).await;
    let revoked_token = revoked["token"].as_str().unwrap().to_owned();
    let revoked_id = revoked["id"].as_str().unwrap().to_owned();

    let ok = scripted(&app, Method::GET, "/api/admin/sessions", &brief_token, None).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        app.delete(&format!("/api/admin/tokens/{revoked_id}"), &admin)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&format!("/api/admin/tokens/{revoked_id}"), &admin)
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "revoked once"
    );
    app.advance(3601);
    let admin = app.login("admin@demo.test").await;

    for (case, token) in [
        ("expired", brief_token.as_str()),
        ("revoked", revoked_token.as_str()),
        ("garbage", "vigil_0123"),
        ("not even ours", "eyJhbGciOiJIUzI1NiJ9.e30.x"),
        ("empty", ""),
    ] {
        let res = app
            .client
            .get(app.url("/api/admin/sessions"))
            .header("Authorization", format!("Bearer {token}"))
            // An admin's cookie beside a bad token does not help.
            .header("Cookie", admin.cookie())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\"",
            "{case}"
        );
        assert!(
            res.headers().get("set-cookie").is_none(),
            "{case}: the cookie is left alone"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unauthenticated", "{case}");
        assert_eq!(body["reason"], "invalid_token", "{case}");
    }
    // The admin's session was not touched by any of it.
    assert_eq!(
        app.get("/api/admin/sessions", &admin).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        actors_of(&app, "token.created").await,
        vec!["admin@demo.test", "admin@demo.test"]
    );
    assert_eq!(
        actors_of(&app, "token.revoked").await,
        vec!["admin@demo.test"]
    );
}

#[tokio::test]
async fn new_tokens_are_checked_and_need_a_recent_sign_in() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    create(&app, &admin, "nightly", &["audit:read"]).await;
    let cases = [
        (
            json!({"name": "nightly", "scopes": ["audit:read"]}),
            "name",
            "taken",
        ),
        (
            json!({"name": " ", "scopes": ["audit:read"]}),
            "name",
            "blank",
        ),
        (json!({"name": "x", "scopes": []}), "scopes", "no scopes"),
        (
            json!({"name": "x", "scopes": ["audit:read"], "expires_at": "2000-01-01T00:00:00Z"}),
            "expires_at",
            "in the past",
        ),
    ];
    for (body, field, case) in cases {
        let res = app.post("/api/admin/tokens", &admin, body).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{case}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["fields"][0]["path"], field, "{case}");
    }
    let res = app
        .post(
            "/api/admin/tokens",
            &admin,
            json!({"name": "x", "scopes": ["everything"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "an unknown scope");
    // Agents may not.
    let agent = app.login("agent1@demo.test").await;
    let res = app
        .post(
            "/api/admin/tokens",
            &agent,
            json!({"name": "mine", "scopes": ["audit:read"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM api_tokens").await, 1);

    // Twenty minutes later the sign-in is not recent: creating and revoking
    // tokens ask for the password again; a token acts on within its scope.
    let writer = secret(&app, &admin, "writer", &["sessions:write"]).await;
    let agent_session = app.session_id(&agent).await;
    app.advance(20 * 60);
    let res = app
        .post(
            "/api/admin/tokens",
            &admin,
            json!({"name": "late", "scopes": ["audit:read"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "reauthentication_required");
    let listed: Vec<Value> = app.get_json("/api/admin/tokens", &admin).await;
    let nightly = listed.iter().find(|t| t["name"] == "nightly").unwrap();
    let res = app
        .delete(
            &format!("/api/admin/tokens/{}", nightly["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "revoking asks too");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "reauthentication_required");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM api_tokens").await,
        2,
        "nothing revoked"
    );
    let res = scripted(
        &app,
        Method::DELETE,
        &format!("/api/admin/sessions/{agent_session}"),
        &writer,
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "the token needs none");
}

#[tokio::test]
async fn a_token_of_one_account_never_sees_or_touches_another() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let boss = other_account(&app).await;
    let boss_session = app.session_id(&boss).await;
    let boss_id = app.user_id("boss@other.test").await;
    let demo = create(
        &app,
        &admin,
        "demo script",
        &[
            "sessions:read",
            "sessions:write",
            "users:write",
            "audit:read",
        ],
    )
    .await;
    let token = demo["token"].as_str().unwrap().to_owned();

    let listed: Vec<Value> = scripted(&app, Method::GET, "/api/admin/sessions", &token, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(!listed.is_empty());
    assert!(listed.iter().all(|s| s["session_id"] != boss_session));
    let audit = scripted(&app, Method::GET, "/api/admin/audit", &token, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!audit.contains("boss@other.test"), "{audit}");
    for (method, path) in [
        (
            Method::DELETE,
            format!("/api/admin/sessions/{boss_session}"),
        ),
        (
            Method::POST,
            format!("/api/admin/users/{boss_id}/revoke-sessions"),
        ),
        (
            Method::POST,
            format!("/api/admin/users/{boss_id}/deactivate"),
        ),
    ] {
        let res = scripted(&app, method.clone(), &path, &token, None).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    let res = universal_logout(&app, &token, "boss@other.test").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.session_view(&boss).await["user"]["email"],
        "boss@other.test"
    );

    // The other account's admin sees no demo token and cannot revoke one.
    let theirs: Vec<Value> = app.get_json("/api/admin/tokens", &boss).await;
    assert!(theirs.is_empty());
    let id = demo["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/admin/tokens/{id}"), &boss)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let res = scripted(&app, Method::GET, "/api/admin/sessions", &token, None).await;
    assert_eq!(res.status(), StatusCode::OK, "still live");
}

#[tokio::test]
async fn wrong_tokens_are_throttled_per_network_and_right_ones_wait_too() {
    let app = spawn_behind_proxy().await;
    let admin = app.login("admin@demo.test").await;
    let token = secret(&app, &admin, "script", &["sessions:read"]).await;
    let from = |client: &'static str, token: String| {
        let req = app
            .client
            .get(app.url("/api/admin/sessions"))
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Forwarded-For", client);
        async move { req.send().await.unwrap() }
    };
    for i in 0..50 {
        let res = from("203.0.113.9", format!("vigil_guess{i}")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let res = from("203.0.113.9", "vigil_guess50".into()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // The right token from that network waits too (no oracle for guesses)…
    let res = from("203.0.113.9", token.clone()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // …but not from elsewhere, nor people signing in from there.
    let res = from("198.51.100.7", token.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .login_from(
            "203.0.113.9",
            "agent1@demo.test",
            crate::helpers::PASSWORD,
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "sign-in has its own budget");
    // A right token does not spend the budget.
    for _ in 0..60 {
        let res = from("198.51.100.7", token.clone()).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    app.advance(30 * 60);
    let res = from("203.0.113.9", token).await;
    assert_eq!(res.status(), StatusCode::OK, "the budget refills");
}

#[tokio::test]
async fn universal_logout_ends_every_session_of_the_person_as_a_revocation() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let okta = secret(&app, &admin, "Okta", &["sessions:write"]).await;
    let reader = secret(&app, &admin, "reader", &["sessions:read"]).await;
    let agent1 = app.user_id("agent1@demo.test").await;
    let (first, second) = app.busy_agent1(2).await;
    assert!(app.open_assigned(agent1).await > 0);
    let other = app.login("agent2@demo.test").await;

    let refusals: Vec<(&str, Response, StatusCode)> = vec![
        (
            // As an identity provider set up without its token calls it:
            // no CSRF header either (universal logout reads no cookie).
            "nothing at all",
            app.client
                .post(app.url("/api/global-token-revocation"))
                .json(&json!({"sub_id": {"format": "email", "email": "agent1@demo.test"}}))
                .send()
                .await
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "no token, an admin's cookie",
            app.post(
                "/api/global-token-revocation",
                &admin,
                json!({"sub_id": {"format": "email", "email": "agent1@demo.test"}}),
            )
            .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong scope",
            universal_logout(&app, &reader, "agent1@demo.test").await,
            StatusCode::FORBIDDEN,
        ),
        (
            "unknown person",
            universal_logout(&app, &okta, "nobody@demo.test").await,
            StatusCode::NOT_FOUND,
        ),
        (
            "another format",
            scripted(
                &app,
                Method::POST,
                "/api/global-token-revocation",
                &okta,
                Some(json!({"sub_id": {"format": "iss_sub", "iss": "https://idp", "sub": "1"}})),
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "no email",
            scripted(
                &app,
                Method::POST,
                "/api/global-token-revocation",
                &okta,
                Some(json!({"sub_id": {"format": "email"}})),
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (case, res, status) in refusals {
        assert_eq!(res.status(), status, "{case}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].is_string(), "{case}: {body}");
    }
    app.session_view(&first).await;

    let res = universal_logout(&app, &okta, "Agent1@Demo.test").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.assert_signed_out(&first, "revoked").await;
    app.assert_signed_out(&second, "revoked").await;
    assert_eq!(app.open_assigned(agent1).await, 0, "their work rerouted");
    assert_eq!(
        app.session_view(&other).await["user"]["email"],
        "agent2@demo.test",
        "nobody else signed out"
    );
    assert_eq!(
        actors_of(&app, "session.revoked").await,
        vec!["token Okta", "token Okta"]
    );
    // Again: nothing left to end, still 204.
    let res = universal_logout(&app, &okta, "agent1@demo.test").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// Requests racing each other on the tokens table, repeated, on both
/// databases.
mod races {
    use super::*;

    #[tokio::test]
    async fn a_token_revoked_while_in_use_answers_each_request_200_or_401_and_then_only_401() {
        let app = spawn_app().await;
        let admin = app.login("admin@demo.test").await;
        for round in 0..15 {
            let made = create(&app, &admin, &format!("round {round}"), &["sessions:read"]).await;
            let token = made["token"].as_str().unwrap().to_owned();
            let id = made["id"].as_str().unwrap().to_owned();
            // A use is recorded once a minute: some of these write it.
            app.advance(61);
            let admin = app.login("admin@demo.test").await;
            let uses =
                (0..8).map(|_| scripted(&app, Method::GET, "/api/admin/sessions", &token, None));
            let path = format!("/api/admin/tokens/{id}");
            let (revoked, uses) = tokio::join!(
                app.delete(&path, &admin),
                futures_util::future::join_all(uses)
            );
            assert_eq!(revoked.status(), StatusCode::NO_CONTENT, "round {round}");
            for res in uses {
                assert!(
                    matches!(res.status(), StatusCode::OK | StatusCode::UNAUTHORIZED),
                    "round {round}: {}",
                    res.status()
                );
            }
            let after = scripted(&app, Method::GET, "/api/admin/sessions", &token, None).await;
            assert_eq!(after.status(), StatusCode::UNAUTHORIZED, "round {round}");
            assert_eq!(
                app.scalar(&format!(
                    "SELECT COUNT(*) FROM api_tokens WHERE id = '{id}'"
                ))
                .await,
                0,
                "round {round}: not brought back by a use"
            );
        }
    }

    #[tokio::test]
    async fn uses_at_once_record_the_last_use_once() {
        let app = spawn_app().await;
        let admin = app.login("admin@demo.test").await;
        let token = secret(&app, &admin, "busy", &["sessions:read"]).await;
        for round in 0..10 {
            app.advance(61);
            let uses =
                (0..10).map(|_| scripted(&app, Method::GET, "/api/admin/sessions", &token, None));
            for res in futures_util::future::join_all(uses).await {
                assert_eq!(res.status(), StatusCode::OK, "round {round}");
            }
            let now = vigil_server::store::to_ms(app.state.clock.now());
            assert_eq!(
                app.scalar("SELECT last_used_at FROM api_tokens").await,
                now,
                "round {round}"
            );
        }
    }

    #[tokio::test]
    async fn two_tokens_created_at_once_under_one_name_make_one() {
        let app = spawn_app().await;
        let admin1 = app.login("admin@demo.test").await;
        let admin2 = app.login("admin@demo.test").await;
        for round in 0..10 {
            let body = json!({"name": format!("twin {round}"), "scopes": ["audit:read"]});
            let (a, b) = tokio::join!(
                app.post("/api/admin/tokens", &admin1, body.clone()),
                app.post("/api/admin/tokens", &admin2, body)
            );
            let mut statuses = [a.status(), b.status()];
            statuses.sort();
            assert_eq!(
                statuses,
                [StatusCode::CREATED, StatusCode::BAD_REQUEST],
                "round {round}"
            );
        }
        assert_eq!(app.scalar("SELECT COUNT(*) FROM api_tokens").await, 10);
    }
}

/// On two replicas (PostgreSQL only: the name keeps it in the
/// `replicas::` pass).
mod replicas {
    use super::*;
    use crate::helpers::spawn_postgres_app;

    #[tokio::test]
    async fn universal_logout_through_one_replica_ends_the_person_on_the_other() {
        let a = spawn_postgres_app().await;
        let b = a.replica().await;
        let admin = a.login("admin@demo.test").await;
        let okta = secret(&a, &admin, "Okta", &["sessions:write"]).await;
        let s1 = b.login("agent1@demo.test").await;
        let s2 = a.login("agent1@demo.test").await;
        // Both replicas hold the sessions in memory.
        b.session_view(&s1).await;
        b.session_view(&s2).await;
        a.session_view(&s1).await;
        let res = universal_logout(&a, &okta, "agent1@demo.test").await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        for s in [&s1, &s2] {
            crate::helpers::eventually(
                std::time::Duration::from_secs(1),
                std::time::Duration::from_millis(20),
                "the other replica refuses the session",
                async || b.poll("/api/session", s).await.status() == StatusCode::UNAUTHORIZED,
            )
            .await;
            a.assert_signed_out(s, "revoked").await;
        }
        // A token revoked through one replica is refused by the other at once.
        let list: Vec<Value> = b.get_json("/api/admin/tokens", &admin).await;
        let id = list[0]["id"].as_str().unwrap();
        assert_eq!(
            a.delete(&format!("/api/admin/tokens/{id}"), &admin)
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        let res = universal_logout(&b, &okta, "agent2@demo.test").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
}

/// A request with a bearer header is the token's everywhere: outside the
/// admin API and universal logout no token is a credential, and the
/// request's cookies count for nothing either (SPEC "Automation": a
/// request with one ignores cookies). So a session route answers 401
/// `missing` without touching the session behind the cookie, and the
/// bearer header exempts nothing there from the CSRF check.
#[tokio::test]
async fn a_bearer_header_makes_cookies_count_for_nothing_outside_the_admin_api() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let other = app.login("admin@demo.test").await;
    let other_id = app.session_id(&other).await;
    let token = secret(
        &app,
        &admin,
        "everything",
        &["sessions:read", "sessions:write", "users:write"],
    )
    .await;
    let agent = app.login("agent1@demo.test").await;
    let audit_before = app.audit_actions().await;
    let with_both = |method: Method, path: &str, csrf: bool, body: Option<Value>| {
        let mut req = app
            .client
            .request(method, app.url(path))
            .header("Authorization", format!("Bearer {token}"))
            .header("Cookie", admin.cookie());
        if csrf {
            req = req.header("X-Vigil-Request", "1");
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { req.send().await.unwrap() }
    };
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/session".into(), None),
        (Method::GET, "/api/session/events".into(), None),
        (Method::GET, "/api/me/sessions".into(), None),
        (
            Method::POST,
            "/api/session/activity".into(),
            Some(json!({"source": "input"})),
        ),
        (
            Method::POST,
            "/api/auth/reauthenticate".into(),
            Some(json!({"password": crate::helpers::PASSWORD})),
        ),
        (Method::POST, "/api/me/sessions/revoke-others".into(), None),
        (Method::DELETE, format!("/api/me/sessions/{other_id}"), None),
        (Method::POST, "/api/auth/logout".into(), None),
    ];
    for (method, path, body) in cases {
        let res = with_both(method.clone(), &path, true, body.clone()).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        assert!(
            res.headers().get("set-cookie").is_none(),
            "{method} {path}: the cookie is left alone"
        );
        let said: Value = res.json().await.unwrap();
        assert_eq!(
            said,
            json!({"error": "unauthenticated", "reason": "missing", "message": said["message"]}),
            "{method} {path}"
        );
        if method != Method::GET {
            // Outside the admin API a bearer header is no CSRF exemption.
            let res = with_both(method.clone(), &path, false, body).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
            let said: Value = res.json().await.unwrap();
            assert_eq!(said["error"], "csrf", "{method} {path}");
        }
    }
    // A sign-in beside a bearer header does not see the live session
    // behind the cookie, so it does not end it.
    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .header("X-Vigil-Request", "1")
        .header("Authorization", format!("Bearer {token}"))
        .header("Cookie", agent.cookie())
        .json(&json!({"account": "demo", "email": "agent1@demo.test",
                      "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Nothing happened to anyone's session.
    for s in [&admin, &other, &agent] {
        assert_eq!(
            app.get("/api/session", s).await.status(),
            StatusCode::OK,
            "still live"
        );
    }
    let audit_after = app.audit_actions().await;
    assert_eq!(
        audit_after[audit_before.len()..],
        ["session.login".to_owned()],
        "only the new sign-in is audited"
    );
}

/// With a token, cookies never widen or move what the request may do: an
/// admin's cookie does not lend a scope, and another account's admin
/// cookie does not move the token to that account.
#[tokio::test]
async fn a_token_acts_within_its_own_scopes_and_account_whatever_cookie_comes_with_it() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let boss = other_account(&app).await;
    let boss_session = app.session_id(&boss).await;
    let reader = secret(&app, &admin, "reader", &["sessions:read"]).await;
    let agent = app.login("agent1@demo.test").await;
    let agent_session = app.session_id(&agent).await;
    let with_cookie = |method: Method, path: String, cookie: String| {
        let req = app
            .client
            .request(method, app.url(&path))
            .header("Authorization", format!("Bearer {reader}"))
            .header("Cookie", cookie);
        async move { req.send().await.unwrap() }
    };

    let listed: Vec<Value> = with_cookie(Method::GET, "/api/admin/sessions".into(), boss.cookie())
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.iter().any(|s| s["session_id"] == agent_session));
    assert!(listed.iter().all(|s| s["session_id"] != boss_session));

    let res = with_cookie(
        Method::DELETE,
        format!("/api/admin/sessions/{agent_session}"),
        admin.cookie(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "insufficient_scope"
    );
    let res = with_cookie(
        Method::DELETE,
        format!("/api/admin/sessions/{boss_session}"),
        boss.cookie(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "the scope first");
    // Routes for people only: the cookie beside the token does not count.
    let res = with_cookie(Method::GET, "/api/admin/tokens".into(), admin.cookie()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    for s in [&agent, &boss] {
        assert_eq!(app.get("/api/session", s).await.status(), StatusCode::OK);
    }
}

/// A bearer header whose credential is not visible ASCII is still a
/// token's: refused as an invalid token, its cookies unread.
#[tokio::test]
async fn a_bearer_header_of_raw_bytes_is_an_invalid_token_and_its_cookies_are_unread() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let raw = reqwest::header::HeaderValue::from_bytes(b"Bearer vigil_\xff\xfe\xc3\xa9").unwrap();
    let res = app
        .client
        .get(app.url("/api/admin/sessions"))
        .header("Authorization", raw.clone())
        .header("Cookie", admin.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json::<Value>().await.unwrap()["reason"],
        "invalid_token"
    );
    let res = app
        .client
        .get(app.url("/api/session"))
        .header("Authorization", raw)
        .header("Cookie", admin.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["reason"], "missing");
}

/// The real `vigil` binary logging at debug level, through a token's
/// whole life (created, used, tried wrong, universal logout, revoked):
/// neither the secret nor its stored hash is in any log line.
#[tokio::test]
async fn the_secret_and_its_hash_never_reach_the_log() {
    use std::io::Read;
    use std::process::{Command, Stdio};

    use crate::helpers::{free_port, fresh_postgres_database, named_cookie, test_db, TestDb};

    const PASSWORD: &str = "a long enough password";
    let dir = tempfile::tempdir().unwrap();
    let database_url = match test_db() {
        TestDb::Sqlite => format!("sqlite://{}", dir.path().join("log.db").display()),
        TestDb::Postgres => fresh_postgres_database().await,
    };
    let vigil = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
        c.env("VIGIL_DATABASE_URL", &database_url)
            .env("VIGIL_LOG_FORMAT", "json")
            .env("RUST_LOG", "debug")
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
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read as it is written: at debug level a full pipe would stall the
    // server.
    let mut stderr = server.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        stderr.read_to_string(&mut log).unwrap();
        log
    });
    // Stopped whatever happens below.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Stop(server);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    crate::helpers::eventually(
        std::time::Duration::from_secs(20),
        std::time::Duration::from_millis(50),
        "the server is ready",
        async || {
            client
                .get(format!("http://127.0.0.1:{management}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK)
        },
    )
    .await;
    let sign_in = |email: &str| {
        let req = client
            .post(format!("{base}/api/auth/login"))
            .header("X-Vigil-Request", "1")
            .json(&json!({"account": "demo", "email": email, "password": PASSWORD}));
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            format!(
                "__Host-vigil={}",
                named_cookie(&res, "__Host-vigil").unwrap()
            )
        }
    };
    let admin = sign_in("admin@demo.test").await;
    sign_in("agent1@demo.test").await;
    let created: Value = client
        .post(format!("{base}/api/admin/tokens"))
        .header("X-Vigil-Request", "1")
        .header("Cookie", &admin)
        .json(&json!({"name": "Okta", "scopes": ["sessions:read", "sessions:write"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let bearer = |method: Method, path: &str, token: &str, body: Option<Value>| {
        let mut req = client
            .request(method, format!("{base}{path}"))
            .header("Authorization", format!("Bearer {token}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(
        bearer(Method::GET, "/api/admin/sessions", &token, None).await,
        StatusCode::OK
    );
    // Another last character: '0' when it was not '0' already (a fixed
    // '0' made the wrong token the right one once in 32 runs).
    let last = if token.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &token[..token.len() - 1]);
    assert_eq!(
        bearer(Method::GET, "/api/admin/sessions", &wrong, None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bearer(Method::GET, "/api/session", &token, None).await,
        StatusCode::UNAUTHORIZED
    );
    let logout = json!({"sub_id": {"format": "email", "email": "agent1@demo.test"}});
    assert_eq!(
        bearer(
            Method::POST,
            "/api/global-token-revocation",
            &token,
            Some(logout)
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let id = created["id"].as_str().unwrap();
    let revoked = client
        .delete(format!("{base}/api/admin/tokens/{id}"))
        .header("X-Vigil-Request", "1")
        .header("Cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        bearer(Method::GET, "/api/admin/sessions", &token, None).await,
        StatusCode::UNAUTHORIZED
    );

    let killed = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    server.0.wait().unwrap();
    drop(server);
    let log = reader.join().unwrap();
    assert!(
        log.contains("API token created") && log.contains("universal logout"),
        "the log speaks of the token (debug level reached):\n{log}"
    );
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    };
    let secret_part = &token["vigil_".len()..];
    for (what, needle) in [("secret", secret_part), ("hash", hash.as_str())] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(needle)).collect();
        assert!(
            lines.is_empty(),
            "the {what} is logged:\n{}",
            lines.join("\n")
        );
    }
}

/// A token acts with its creator's standing: once the person who made it
/// is deactivated, or no longer manages security, it is refused like a
/// wrong one (an offboarded admin keeps no way in through a script);
/// reactivated, it works again. Other people's tokens are untouched.
#[tokio::test]
async fn a_token_stops_with_its_creators_deactivation_or_lost_permission() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    app.execute(
        "UPDATE users SET permissions = 'manage_security' WHERE email = 'agent2@demo.test'",
    )
    .await;
    let lead = app.login("agent2@demo.test").await;
    let theirs = secret(&app, &lead, "lead's script", &["sessions:read"]).await;
    let mine = secret(&app, &admin, "admin's script", &["sessions:read"]).await;
    let works = async |token: &str| {
        scripted(&app, Method::GET, "/api/admin/sessions", token, None)
            .await
            .status()
    };
    assert_eq!(works(&theirs).await, StatusCode::OK);
    let lead_id = app.user_id("agent2@demo.test").await;

    let res = app
        .post(
            &format!("/api/admin/users/{lead_id}/deactivate"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let refused = scripted(&app, Method::GET, "/api/admin/sessions", &theirs, None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["reason"],
        "invalid_token",
        "as a wrong token: nothing says why"
    );
    assert_eq!(
        universal_logout(&app, &theirs, "agent1@demo.test")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(works(&mine).await, StatusCode::OK);

    let res = app
        .post(
            &format!("/api/admin/users/{lead_id}/reactivate"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        works(&theirs).await,
        StatusCode::OK,
        "back with its creator"
    );

    app.execute("UPDATE users SET permissions = '' WHERE email = 'agent2@demo.test'")
        .await;
    assert_eq!(
        works(&theirs).await,
        StatusCode::UNAUTHORIZED,
        "its creator no longer manages security"
    );
    assert_eq!(works(&mine).await, StatusCode::OK);
    // Still listed for the admins to see and revoke.
    let listed: Vec<Value> = app.get_json("/api/admin/tokens", &admin).await;
    assert_eq!(listed.len(), 2);
}
