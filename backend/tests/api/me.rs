//! A person's own sessions: everyone (agents, admins, requesters) sees and
//! ends their own, and nobody else's.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Session, TestApp, PASSWORD};

async fn login_with_browser(app: &TestApp, email: &str, user_agent: &str) -> Session {
    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .header("X-Vigil-Request", "1")
        .header("User-Agent", user_agent)
        .json(&json!({"account": "demo", "email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    Session::from_sign_in(&res)
}

const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; rv:121.0) Gecko/20100101 Firefox/121.0";
const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

async fn mine(app: &TestApp, s: &Session) -> Vec<Value> {
    app.get_json("/api/me/sessions", s).await
}

#[tokio::test]
async fn people_see_their_own_sessions_with_this_one_marked() {
    let app = spawn_app().await;
    let laptop = login_with_browser(&app, "agent1@demo.test", CHROME).await;
    app.advance(60);
    let phone = login_with_browser(&app, "agent1@demo.test", FIREFOX).await;
    let _someone_else = app.login("agent2@demo.test").await;
    let list = mine(&app, &phone).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["current"], true, "newest first: this one");
    assert_eq!(list[0]["browser"], "Firefox on Windows");
    assert_eq!(list[1]["current"], false);
    assert_eq!(list[1]["browser"], "Chrome on Linux");
    assert_eq!(list[1]["ip"], "127.0.0.1");
    assert_eq!(list[1]["created_at"], "2026-01-05T09:00:00Z");
    for key in [
        "session_id",
        "last_activity_at",
        "idle_expires_at",
        "absolute_expires_at",
        "persistent",
    ] {
        assert!(list[0].get(key).is_some(), "{key}");
    }
    // From the laptop, the other one is current.
    let list = mine(&app, &laptop).await;
    assert_eq!(list[1]["current"], true);
    // Requesters too.
    let requester = app.login("requester@demo.test").await;
    assert_eq!(mine(&app, &requester).await.len(), 1);
}

#[tokio::test]
async fn people_end_their_own_sessions_and_nobody_else_s() {
    let app = spawn_app().await;
    let laptop = app.login("agent1@demo.test").await;
    let phone = app.login("agent1@demo.test").await;
    let other = app.login("agent2@demo.test").await;
    let phone_id = app.session_id(&phone).await;
    let other_id = app.session_id(&other).await;

    let res = app
        .delete(&format!("/api/me/sessions/{other_id}"), &laptop)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "someone else's");
    app.session_view(&other).await;
    for junk in ["nope", "%00", &"f".repeat(32)] {
        let res = app
            .delete(&format!("/api/me/sessions/{junk}"), &laptop)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{junk}");
    }

    let res = app
        .delete(&format!("/api/me/sessions/{phone_id}"), &laptop)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.assert_signed_out(&phone, "revoked").await;
    app.session_view(&laptop).await;
    let res = app
        .delete(&format!("/api/me/sessions/{phone_id}"), &laptop)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "ended already");
    let revoked: i64 = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'session.revoked' \
             AND actor = 'agent1@demo.test' AND target = 'session:{phone_id}'"
        ))
        .await;
    assert_eq!(
        revoked, 1,
        "audited like an admin revocation, by the person"
    );
}

#[tokio::test]
async fn signing_out_other_sessions_keeps_this_one() {
    let app = spawn_app().await;
    let here = app.login("admin@demo.test").await;
    let a = app.login("admin@demo.test").await;
    let b = app.login("admin@demo.test").await;
    let other = app.login("agent1@demo.test").await;
    let res = app
        .post("/api/me/sessions/revoke-others", &here, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["revoked"], 2);
    app.assert_signed_out(&a, "revoked").await;
    app.assert_signed_out(&b, "revoked").await;
    app.session_view(&here).await;
    app.session_view(&other).await;
    assert_eq!(mine(&app, &here).await.len(), 1);
    // Nothing left to end.
    let res = app
        .post("/api/me/sessions/revoke-others", &here, json!({}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["revoked"], 0);
    // Signed out: 401.
    let res = app.get("/api/me/sessions", &a).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
