//! The edge: CSRF, unknown paths, static files, headers, health.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    spawn_app, spawn_app_with, spawn_behind_proxy, Options, INDEX_HTML, PASSWORD,
};

#[tokio::test]
async fn unsafe_requests_without_the_csrf_header_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let cookie = admin.cookie();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no header", vec![]),
        ("header not 1", vec![("X-Vigil-Request", "true")]),
        (
            "foreign origin",
            vec![("X-Vigil-Request", "1"), ("Origin", "http://evil.test")],
        ),
        (
            "null origin",
            vec![("X-Vigil-Request", "1"), ("Origin", "null")],
        ),
    ];
    for (name, headers) in cases {
        let mut req = app
            .client
            .post(app.url("/api/auth/logout"))
            .header("Cookie", &cookie)
            .header("Content-Type", "application/json")
            .body("{}");
        for (k, v) in &headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "csrf", "{name}");
    }
    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"account": "demo", "email": "admin@demo.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "login too");
    app.session_view(&admin).await;

    // The same-origin request a browser sends is accepted.
    let res = app
        .client
        .post(app.url("/api/auth/logout"))
        .header("Cookie", &cookie)
        .header("X-Vigil-Request", "1")
        .header("Origin", app.address.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn unknown_api_paths_are_json_404_and_wrong_methods_json_405() {
    let app = spawn_app().await;
    let res = app.get_anonymous("/api/nope").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");
    let res = app
        .client
        .delete(app.url("/api/session"))
        .header("X-Vigil-Request", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        res.headers()["allow"],
        "GET",
        "RFC 9110: 405 names what is allowed"
    );
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "method_not_allowed"
    );
    for (path, allow) in [
        ("/api/admin/security-settings", "GET, PUT"),
        ("/api/portal/conversations", "GET, POST"),
        ("/login", "GET, HEAD"),
    ] {
        let res = app
            .client
            .patch(app.url(path))
            .header("X-Vigil-Request", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(res.headers()["allow"], allow, "{path}");
    }
}

#[tokio::test]
async fn the_console_is_served_with_spa_fallback_and_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/login", "/admin/security", "/desk?x=1"] {
        let res = app.get_anonymous(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap().to_owned();
        assert!(
            csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(
            csp.contains("'sha256-"),
            "the inline script is allowed by hash: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(res.text().await.unwrap(), INDEX_HTML, "{path}");
    }
    let res = app.get_anonymous("/vigil-console_bg.wasm").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/wasm");
    let res = app.get_anonymous("/../Cargo.toml").await;
    assert!(
        !res.text().await.unwrap().contains("[package]"),
        "no path traversal"
    );
}

#[tokio::test]
async fn health_is_always_up_and_readiness_follows_the_database() {
    let app = spawn_app().await;
    let status = async |path: &str| app.get_anonymous(path).await.status();
    assert_eq!(status("/healthz").await, StatusCode::OK);
    assert_eq!(status("/readyz").await, StatusCode::OK);
    // Hold every pooled connection: the database stops answering the server.
    let mut held = Vec::new();
    while let Ok(Ok(conn)) =
        tokio::time::timeout(Duration::from_millis(300), app.state.store.pool().acquire()).await
    {
        held.push(conn);
    }
    assert!(!held.is_empty());
    let res = app.get_anonymous("/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "unavailable");
    assert_eq!(status("/healthz").await, StatusCode::OK);
    drop(held);
    assert_eq!(
        status("/readyz").await,
        StatusCode::OK,
        "recovers by itself"
    );
}

#[tokio::test]
async fn metrics_count_requests_sessions_expiries_and_failures() {
    let app = spawn_app().await;
    let bad = json!({"account": "demo", "email": "agent1@demo.test", "password": "nope"});
    assert_eq!(app.post_login(bad).await.status(), StatusCode::UNAUTHORIZED);
    let agent = app.login("agent1@demo.test").await;
    let _requester = app.login("requester@demo.test").await;
    app.session_view(&agent).await;
    app.advance(8 * 3600);
    assert_eq!(app.sweep().await.ended, 2);
    let _again = app.login("agent2@demo.test").await;

    // Not on the public listener...
    let res = app.get_anonymous("/metrics").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    for path in ["/livez", "/healthz", "/readyz"] {
        let res = app.get_management(path).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{path} on the management listener"
        );
    }
    // ...on the management listener.
    let res = app.get_management("/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    for line in [
        "vigil_http_requests_total{route=\"/api/auth/login\",status=\"401\"} 1",
        "vigil_http_requests_total{route=\"/api/auth/login\",status=\"200\"} 3",
        "vigil_http_requests_total{route=\"/api/session\",status=\"200\"} 1",
        "vigil_live_sessions{audience=\"agents\"} 1",
        "vigil_live_sessions{audience=\"requesters\"} 0",
        "vigil_sessions_ended_total{reason=\"idle_timeout\"} 2",
        "vigil_login_failures_total 1",
        "vigil_password_hash_queue 0",
        "vigil_password_hash_rejected_total 0",
        "vigil_http_request_duration_seconds_bucket{route=\"/api/session\",status=\"200\",le=\"+Inf\"} 1",
        "vigil_http_request_duration_seconds_count{route=\"/api/auth/login\",status=\"200\"} 3",
        "vigil_live_channels 0",
        concat!("vigil_build_info{version=\"", env!("CARGO_PKG_VERSION"), "\"} 1"),
        "# TYPE vigil_sweep_duration_seconds histogram",
        "# TYPE vigil_http_request_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    assert!(text.contains("vigil_activity_writes_total "));
    // The loop's first pass at start-up plus ours.
    let sweeps: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("vigil_sweep_duration_seconds_count "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(sweeps >= 1, "{sweeps}");
}

#[tokio::test]
async fn hsts_is_sent_only_when_browsers_reach_vigil_over_https() {
    let plain = spawn_app().await;
    let res = plain.get_anonymous("/healthz").await;
    assert!(res.headers().get("strict-transport-security").is_none());
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none';"), "{csp}");

    let https = spawn_app_with(Options {
        public_origin: Some("https://desk.example.com".into()),
        ..Options::default()
    })
    .await;
    for path in ["/healthz", "/api/session", "/login"] {
        let res = https.get_anonymous(path).await;
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
    }
}

fn request_id(res: &reqwest::Response) -> String {
    res.headers()["x-request-id"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_server_errors_name_it() {
    let app = spawn_app().await;
    let mut seen = std::collections::HashSet::new();
    for url in [
        app.url("/healthz"),
        app.url("/api/session"),
        app.url("/api/nowhere"),
        app.url("/admin/security"),
        format!("{}/livez", app.management),
    ] {
        let res = app.client.get(&url).send().await.unwrap();
        let id = request_id(&res);
        assert_eq!(id.len(), 16, "{url}: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{url}: {id}");
        assert!(seen.insert(id), "ids are not reused");
    }
    // Not from a trusted proxy: a client's id is not taken.
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "client-chosen")
        .send()
        .await
        .unwrap();
    assert_ne!(request_id(&res), "client-chosen");

    // A 5xx body names the request (here: readiness while draining).
    app.state.begin_draining();
    let res = app.get_anonymous("/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let id = request_id(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["request_id"], id.as_str());
    assert_eq!(body["error"], "unavailable");
}

#[tokio::test]
async fn a_trusted_proxys_request_id_is_kept_when_valid() {
    let app = spawn_behind_proxy().await;
    let with = |id: &'static str| {
        app.client
            .get(app.url("/api/session"))
            .header("X-Request-Id", id)
            .send()
    };
    let res = with("4bf92f3577b34da6a3ce929d0e0e4736").await.unwrap();
    assert_eq!(request_id(&res), "4bf92f3577b34da6a3ce929d0e0e4736");
    for bad in ["has space", "quote\"d", "<script>"] {
        let res = with(bad).await.unwrap();
        let id = request_id(&res);
        assert_ne!(id, bad);
        assert_eq!(id.len(), 16);
    }
    let long: &'static str = Box::leak("a".repeat(129).into_boxed_str());
    assert_eq!(request_id(&with(long).await.unwrap()).len(), 16);
}

/// SQLite takes one writer at a time; a writer that waits longer than its
/// busy timeout gets "database is locked". That is a moment's overload,
/// so the answer is 503 with Retry-After (try again), never a 500 — it was
/// a 500, seen once among thousands of junk sign-ins on a loaded machine.
/// (PostgreSQL has no such timeout: a write waits for the row it needs.)
#[tokio::test]
async fn a_database_too_busy_to_take_a_write_answers_503_with_retry_after() {
    if crate::helpers::test_db() != crate::helpers::TestDb::Sqlite {
        return;
    }
    let app = spawn_app().await;
    // Another process holds the write lock past the server's busy timeout.
    let lock = app.hold_sqlite_write_lock().await;
    let wrong =
        json!({"account": "demo", "email": "agent1@demo.test", "password": "not the password"});
    let res = app.post_login(wrong.clone()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry = res.headers().get("retry-after").cloned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unavailable", "{body}");
    assert!(retry.is_some(), "Retry-After");

    lock.release().await;
    let res = app.post_login(wrong).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the lock gone, sign-ins are judged again"
    );
    let signed_in = app.login("agent1@demo.test").await;
    let view = app.session_view(&signed_in).await;
    assert_eq!(view["user"]["email"], "agent1@demo.test");
}
