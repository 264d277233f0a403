//! Signing in and out.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    cookie_token, set_cookie, spawn_app, spawn_app_with, spawn_behind_proxy, Options, Session,
    PASSWORD,
};

#[tokio::test]
async fn login_returns_the_session_and_a_host_cookie_with_the_spec_flags() {
    let app = spawn_app().await;
    let res = app
        .post_login(json!({"account": "demo", "email": "agent1@demo.test", "password": PASSWORD, "remember_me": false}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let cookie = set_cookie(&res).unwrap();
    assert!(cookie.starts_with("__Host-vigil="), "{cookie}");
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.split("; ").any(|p| p == flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(
        !cookie.contains("Max-Age"),
        "an ordinary session gets a browser-session cookie: {cookie}"
    );
    assert_eq!(cookie_token(&res).unwrap().len(), 64, "256 bits, hex");
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["user"]["email"], "agent1@demo.test");
    assert_eq!(view["user"]["role"], "agent");
    assert_eq!(view["audience"], "agents");
    assert_eq!(view["persistent"], false);
    assert_eq!(view["created_at"], "2026-01-05T09:00:00Z");
    assert_eq!(view["idle_expires_at"], "2026-01-05T17:00:00Z");
    assert_eq!(view["absolute_expires_at"], "2026-02-04T09:00:00Z");
    assert_eq!(view["warn_at"], "2026-01-05T16:59:00Z");
    assert_eq!(view["server_time"], "2026-01-05T09:00:00Z");
    assert_eq!(view["policy"]["idle_timeout_secs"], 28800);
    assert_eq!(view["policy"]["activity"]["hidden_tab_is_idle"], true);
}

#[tokio::test]
async fn remembered_login_gets_a_cookie_that_expires_with_the_absolute_deadline() {
    let app = spawn_app().await;
    let res = app
        .post_login(json!({"account": "demo", "email": "agent1@demo.test", "password": PASSWORD, "remember_me": true}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = set_cookie(&res).unwrap();
    assert!(cookie.contains("Max-Age=2592000"), "{cookie}");
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["persistent"], true);
}

#[tokio::test]
async fn remember_me_is_ignored_where_the_policy_does_not_offer_it() {
    let app = spawn_app().await;
    let res = app
        .post_login(json!({"account": "demo", "email": "requester@demo.test", "password": PASSWORD, "remember_me": true}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!set_cookie(&res).unwrap().contains("Max-Age"));
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["persistent"], false);
    assert_eq!(view["audience"], "requesters");
}

#[tokio::test]
async fn failed_logins_look_the_same_for_unknown_account_unknown_user_and_wrong_password() {
    let app = spawn_app().await;
    let mut answers = Vec::new();
    for (account, email, password) in [
        ("nope", "agent1@demo.test", PASSWORD),
        ("demo", "nobody@demo.test", PASSWORD),
        ("demo", "agent1@demo.test", "wrong password"),
        ("demo", "not an email", PASSWORD),
    ] {
        let res = app
            .post_login(json!({"account": account, "email": email, "password": password}))
            .await;
        let status = res.status();
        assert!(set_cookie(&res).is_none());
        let body: Value = res.json().await.unwrap();
        answers.push((status, body));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert_eq!(answers[0].1["error"], "invalid_credentials");
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(a, &answers[0], "attempt {i} must be indistinguishable");
    }
    let actions = app.audit_actions().await;
    assert_eq!(
        actions.iter().filter(|a| *a == "login.failed").count(),
        3,
        "failures on the demo account are audited: {actions:?}"
    );
}

#[tokio::test]
async fn a_failed_sign_in_never_audits_what_was_typed_as_the_email() {
    use sqlx::Row;
    let app = spawn_app().await;
    // People type passwords into the email field.
    for email in ["Tr0ub4dor&3@demo.test", "Tr0ub4dor&3"] {
        let res = app
            .post_login(json!({"account": "demo", "email": email, "password": "x"}))
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app
        .post_login(json!({"account": "demo", "email": "Agent1@Demo.test", "password": "wrong"}))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let rows = sqlx::query(
        "SELECT actor, details FROM audit_log WHERE action = 'login.failed' ORDER BY id",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    let rows: Vec<(String, Value)> = rows
        .iter()
        .map(|r| {
            (
                r.get::<String, _>("actor"),
                serde_json::from_str(&r.get::<String, _>("details")).unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 3);
    for (actor, details) in &rows[..2] {
        assert_eq!(actor, "unknown person");
        assert_eq!(details["reason"], "unknown_user");
        assert_eq!(details["ip"], "127.0.0.1");
        assert!(!details.to_string().contains("Tr0ub4dor"), "{details}");
    }
    assert_eq!(
        rows[2].0, "agent1@demo.test",
        "a known person by their email"
    );
    assert_eq!(rows[2].1["email"], "agent1@demo.test");
    assert_eq!(rows[2].1["reason"], "wrong_password");
}

#[tokio::test]
async fn sign_ins_beyond_the_hash_queue_are_refused_at_once_with_retry_after() {
    let app = spawn_app_with(Options {
        hash_queue: Some(0),
        ..Options::default()
    })
    .await;
    // Two hashes run at once (the tests' VIGIL_HASH_CONCURRENCY) and none
    // may wait: of twelve at once, some are refused without hashing.
    let attempts = (0..12).map(|i| {
        let app = &app;
        async move {
            app.post_login(json!({"account": "demo", "email": format!("nobody{i}@demo.test"), "password": "x"}))
                .await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let busy: Vec<_> = answers
        .iter()
        .filter(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(!busy.is_empty(), "some refused");
    assert!(
        answers.iter().all(
            |r| [StatusCode::SERVICE_UNAVAILABLE, StatusCode::UNAUTHORIZED].contains(&r.status())
        ),
        "the rest checked"
    );
    for r in &busy {
        assert_eq!(r.headers()["retry-after"], "1");
    }
    let metrics = app.get_management("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(&format!(
            "vigil_password_hash_rejected_total {}",
            busy.len()
        )),
        "{metrics}"
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_retry_after_and_the_lock_is_short() {
    let app = spawn_app().await;
    let wrong = json!({"account": "demo", "email": "agent1@demo.test", "password": "wrong"});
    for i in 0..5 {
        let res = app.post_login(wrong.clone()).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let right = json!({"account": "demo", "email": "Agent1@Demo.test", "password": PASSWORD});
    let res = app.post_login(right.clone()).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert_eq!(res.headers()["retry-after"], "30");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "too_many_attempts");
    assert_eq!(body["retry_after_secs"], 30);

    // Another person of the same account is not affected.
    let other = json!({"account": "demo", "email": "agent2@demo.test", "password": PASSWORD});
    assert_eq!(app.post_login(other).await.status(), StatusCode::OK);

    app.advance(30);
    assert_eq!(app.post_login(right).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn each_sign_in_gets_a_new_token_and_only_its_hash_is_stored() {
    let app = spawn_app().await;
    let a = app.login("agent1@demo.test").await;
    let b = app.login("agent1@demo.test").await;
    assert_ne!(a.token, b.token);
    let stored = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = '{}' OR id = '{}'",
            a.token, a.token
        ))
        .await;
    assert_eq!(stored, 0, "the raw token is nowhere in the database");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions WHERE length(token_hash) = 64")
            .await,
        2
    );
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server_and_clears_the_cookie() {
    let app = spawn_app().await;
    let s = app.login("agent1@demo.test").await;
    let res = app.logout(&s).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cookie = set_cookie(&res).unwrap();
    assert!(cookie.starts_with("__Host-vigil=;"), "{cookie}");
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    app.assert_signed_out(&s, "logged_out").await;
    assert!(app
        .audit_actions()
        .await
        .contains(&"session.logout".to_owned()));
    // Signing out is not a timeout: availability is the agent's own choice.
    let admin = app.login("admin@demo.test").await;
    let agents: Value = app.get_json("/api/admin/agents", &admin).await;
    assert_eq!(agents[1]["email"], "agent1@demo.test");
    assert_eq!(agents[1]["available"], true);
}

#[tokio::test]
async fn login_options_follow_the_policy_and_unknown_accounts_are_404() {
    let app = spawn_app().await;
    assert_eq!(
        app.login_options().await,
        json!({
            "account": {"slug": "demo", "name": "Demo Support"},
            "agents": {"remember_me": true, "password": true, "sso": []},
            "requesters": {"remember_me": false, "password": true, "sso": []},
        })
    );
    for slug in ["nope", "x", "%20", "a%2Fb"] {
        let res = app
            .get_anonymous(&format!("/api/accounts/{slug}/login-options"))
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{slug}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "{slug}");
    }
}

#[tokio::test]
async fn bad_login_bodies_get_400_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"account": "demo", "email": "agent1@demo.test"}),
            "password",
        ),
        (
            json!({"account": "demo", "email": 5, "password": "x"}),
            "email",
        ),
        (
            json!({"account": "demo", "email": "a@b", "password": "x", "remember_me": "yes"}),
            "remember_me",
        ),
        (
            json!({"account": "demo", "email": "a@b", "password": "x", "admin": true}),
            "admin",
        ),
        (
            json!({"account": "demo", "email": "a@b", "password": "x".repeat(2000)}),
            "password",
        ),
    ];
    for (body, field) in cases {
        let res = app.post_login(body.clone()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"], "bad_request", "{body}");
        assert_eq!(err["fields"][0]["path"], field, "{body}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn control_characters_in_sign_in_fields_get_the_uniform_401() {
    let app = spawn_app().await;
    for (account, email) in [
        ("de\u{0}mo", "agent1@demo.test"),
        ("demo", "agent1\u{0}@demo.test"),
        ("demo", "\u{0}"),
        ("\u{7}", "\u{1b}[31m@x"),
    ] {
        let res = app
            .post_login(json!({"account": account, "email": email, "password": "x\u{0}y"}))
            .await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{account:?} {email:?}"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_credentials");
    }
}

#[tokio::test]
async fn concurrent_sign_ins_and_requests_all_succeed() {
    // Each from its own address: from one address, only five attempts on a
    // person at once are checked (see abuse.rs).
    let app = spawn_behind_proxy().await;
    let logins = (0..24).map(|i| {
        let email = [
            "agent1@demo.test",
            "agent2@demo.test",
            "requester@demo.test",
        ][i % 3];
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/auth/login"))
                .header("X-Vigil-Request", "1")
                .header("X-Forwarded-For", format!("198.51.100.{i}"))
                .json(&json!({"account": "demo", "email": email, "password": PASSWORD, "remember_me": true}))
                .send()
                .await
                .unwrap()
        }
    });
    let results = futures_util::future::join_all(logins).await;
    for res in &results {
        assert_eq!(res.status(), StatusCode::OK);
    }
    let sessions: Vec<_> = results.iter().map(Session::from_sign_in).collect();
    let checks = sessions
        .iter()
        .map(|s| app.post("/api/session/activity", s, json!({"source": "input"})));
    for res in futures_util::future::join_all(checks).await {
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL")
            .await,
        24
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_attacker_is_locked_and_other_clients_are_not() {
    let app = spawn_behind_proxy().await;
    for _ in 0..5 {
        let res = app
            .login_from("203.0.113.5", "agent1@demo.test", "wrong", None)
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app
        .login_from("203.0.113.5", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's address"
    );
    // Another client behind the same proxy signs in.
    let res = app
        .login_from("198.51.100.7", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let admin = app.login("admin@demo.test").await;
    let sessions: Value = app.get_json("/api/admin/sessions", &admin).await;
    let agent = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["user"]["email"] == "agent1@demo.test")
        .unwrap();
    assert_eq!(agent["ip"], "198.51.100.7", "the client, not the proxy");
}

#[tokio::test]
async fn without_trusted_proxies_a_forged_forwarded_for_changes_nothing() {
    let app = spawn_app().await;
    for i in 0..5 {
        let res = app
            .login_from(&format!("203.0.113.{i}"), "agent1@demo.test", "wrong", None)
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app
        .login_from("198.51.100.9", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "every attempt came from 127.0.0.1"
    );
}

#[tokio::test]
async fn signing_in_again_from_a_browser_with_a_live_session_ends_that_session() {
    let app = spawn_app().await;
    let sign_in_holding = |held: Session, email: &'static str| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(app.url("/api/auth/login"))
                .header("X-Vigil-Request", "1")
                .header("Cookie", held.cookie())
                .json(&json!({"account": "demo", "email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            Session::from_sign_in(&res)
        }
    };
    let first = app.login("agent1@demo.test").await;
    let second = sign_in_holding(first.clone(), "agent1@demo.test").await;
    app.assert_signed_out(&first, "logged_out").await;
    app.session_view(&second).await;
    // The browser changed hands: the other person's session ends too.
    let third = sign_in_holding(second.clone(), "agent2@demo.test").await;
    app.assert_signed_out(&second, "logged_out").await;
    let view = app.session_view(&third).await;
    assert_eq!(view["user"]["email"], "agent2@demo.test");
    // A cookie naming nothing is no obstacle.
    let stale = Session {
        token: "0".repeat(64),
    };
    sign_in_holding(stale, "agent1@demo.test").await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND user_id IN (SELECT id FROM users WHERE email LIKE 'agent%')")
            .await,
        2
    );
}
