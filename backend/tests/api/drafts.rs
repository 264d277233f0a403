//! Draft keys (`GET /api/me/draft-key`): the key the console encrypts a
//! person's drafts with in the browser. Each person's own, the same in
//! every session of theirs, new after a password change (from the console
//! or `vigil set-password`), a deactivation or a reactivation, and only for
//! a signed-in session: never without one, never for an API token.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Session, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "tangerine otter lamp";

/// The caller's draft key and its version, checking the answer's shape.
async fn key_of(app: &TestApp, s: &Session) -> (String, i64) {
    let res = app.get("/api/me/draft-key", s).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body: Value = res.json().await.unwrap();
    let jwk = &body["key"];
    assert_eq!(jwk["kty"], "oct", "{body}");
    assert_eq!(jwk["alg"], "A256GCM", "{body}");
    assert_eq!(jwk.as_object().unwrap().len(), 3, "{body}");
    let key = jwk["k"].as_str().unwrap().to_owned();
    assert_eq!(URL_SAFE_NO_PAD.decode(&key).unwrap().len(), 32, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 2, "key and version only");
    (key, body["version"].as_i64().unwrap())
}

/// A 401 `unauthenticated` with an error body.
async fn refused(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated", "{what}: {body}");
    assert!(body.get("key").is_none(), "{what}");
}

#[tokio::test]
async fn each_person_has_their_own_key_the_same_in_every_session() {
    let app = spawn_app().await;
    let laptop = app.login("agent1@demo.test").await;
    let phone = app.login("agent1@demo.test").await;
    let first = key_of(&app, &laptop).await;
    assert_eq!(first.1, 0, "no change yet");
    assert_eq!(key_of(&app, &phone).await, first, "another session");
    assert_eq!(key_of(&app, &laptop).await, first, "asked again");
    // Signed out and in again (an idle sign-out, say): the same key.
    app.advance(3600);
    app.logout(&laptop).await;
    let again = app.login("agent1@demo.test").await;
    assert_eq!(key_of(&app, &again).await, first, "after signing in again");

    let mut seen = vec![first.0];
    for email in ["agent2@demo.test", "admin@demo.test", "requester@demo.test"] {
        let s = app.login(email).await;
        let (key, _) = key_of(&app, &s).await;
        assert!(!seen.contains(&key), "{email}'s key is their own");
        seen.push(key);
    }

    // The same people on a replica (one secret for every server).
    let replica = app.replica().await;
    let there = replica.login("agent1@demo.test").await;
    assert_eq!(key_of(&replica, &there).await.0, seen[0], "on a replica");
}

#[tokio::test]
async fn without_a_session_or_with_an_api_token_there_is_no_key() {
    let app = spawn_app().await;
    refused(app.get_anonymous("/api/me/draft-key").await, "no session").await;
    refused(
        app.client
            .get(app.url("/api/me/draft-key"))
            .header("Cookie", "__Host-vigil=0123456789abcdef0123456789abcdef")
            .send()
            .await
            .unwrap(),
        "a made-up session",
    )
    .await;

    let admin = app.login("admin@demo.test").await;
    let res = app
        .post(
            "/api/admin/tokens",
            &admin,
            json!({"name": "script", "scopes": ["sessions:read", "sessions:write"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        app.client
            .get(app.url("/api/me/draft-key"))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap(),
        "a token",
    )
    .await;
    // A token beside the admin's session cookie: the cookie counts for
    // nothing.
    refused(
        app.client
            .get(app.url("/api/me/draft-key"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Cookie", admin.cookie())
            .send()
            .await
            .unwrap(),
        "a token beside a session cookie",
    )
    .await;
    // The admin's session alone still gets theirs.
    key_of(&app, &admin).await;

    // A session that ended gets none.
    let agent = app.login("agent1@demo.test").await;
    key_of(&app, &agent).await;
    app.logout(&agent).await;
    refused(app.get("/api/me/draft-key", &agent).await, "signed out").await;
}

async fn change_password(app: &TestApp, s: &Session, current: &str, new: &str) -> StatusCode {
    app.post(
        "/api/me/password",
        s,
        json!({"current_password": current, "new_password": new}),
    )
    .await
    .status()
}

#[tokio::test]
async fn a_password_change_gives_a_new_key() {
    let app = spawn_app().await;
    let here = app.login("agent1@demo.test").await;
    let before = key_of(&app, &here).await;
    let bystander = app.login("agent2@demo.test").await;
    let theirs = key_of(&app, &bystander).await;

    // Refused changes change nothing.
    assert_eq!(
        change_password(&app, &here, "not my password at all", NEW_PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        change_password(&app, &here, PASSWORD, "short").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(key_of(&app, &here).await, before, "after refused changes");

    assert_eq!(
        change_password(&app, &here, PASSWORD, NEW_PASSWORD).await,
        StatusCode::OK
    );
    let after = key_of(&app, &here).await;
    assert_ne!(after.0, before.0, "the session that changed it: a new key");
    assert!(after.1 > before.1, "a newer version");
    let res = app
        .post_login(
            json!({"account": "demo", "email": "agent1@demo.test", "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let new_session = Session::from_sign_in(&res);
    assert_eq!(
        key_of(&app, &new_session).await,
        after,
        "the new key is stable"
    );
    assert_eq!(
        key_of(&app, &bystander).await,
        theirs,
        "nobody else's changed"
    );
}

#[tokio::test]
async fn deactivation_and_reactivation_retire_the_key() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let agent_id = app.user_id("agent1@demo.test").await;
    let agent = app.login("agent1@demo.test").await;
    let before = key_of(&app, &agent).await;
    let admin_key = key_of(&app, &admin).await;

    // The last security admin cannot go: refused, nothing changes.
    let admin_id = app.user_id("admin@demo.test").await;
    let res = app
        .post(
            &format!("/api/admin/users/{admin_id}/deactivate"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(key_of(&app, &admin).await, admin_key, "refused: same key");

    let res = app
        .post(
            &format!("/api/admin/users/{agent_id}/deactivate"),
            &admin,
            json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    refused(
        app.get("/api/me/draft-key", &agent).await,
        "deactivated: the session ended",
    )
    .await;
    let at_deactivation = app
        .scalar(&format!(
            "SELECT draft_key_version FROM users WHERE id = {agent_id}"
        ))
        .await;
    assert_eq!(at_deactivation, before.1 + 1, "bumped by the deactivation");

    let res = app
        .post(
            &format!("/api/admin/users/{agent_id}/reactivate"),
            &admin,
            json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let back = app.login("agent1@demo.test").await;
    let after = key_of(&app, &back).await;
    assert_ne!(after.0, before.0, "drafts from before cannot be read");
    assert_eq!(after.1, before.1 + 2, "and bumped by the reactivation");
    // Reactivating someone active changes nothing.
    let res = app
        .post(
            &format!("/api/admin/users/{agent_id}/reactivate"),
            &admin,
            json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(key_of(&app, &back).await, after);
}

#[tokio::test]
async fn set_password_on_the_command_line_retires_the_key() {
    let app = spawn_app().await;
    let agent = app.login("agent1@demo.test").await;
    let (before, _) = key_of(&app, &agent).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .env("VIGIL_DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "error")
        .args([
            "set-password",
            "--account",
            "demo",
            "--email",
            "agent1@demo.test",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{NEW_PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let res = app
        .post_login(
            json!({"account": "demo", "email": "agent1@demo.test", "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (after, _) = key_of(&app, &Session::from_sign_in(&res)).await;
    assert_ne!(after, before);
}

#[tokio::test]
async fn asking_for_the_key_is_not_activity() {
    let app = spawn_app().await;
    let s = app.login("agent1@demo.test").await;
    app.advance(4 * 3600);
    key_of(&app, &s).await;
    let view: Value = app.poll("/api/session", &s).await.json().await.unwrap();
    assert_eq!(
        view["last_activity_at"], "2026-01-05T09:00:00Z",
        "the key was fetched four hours on"
    );
    app.advance(4 * 3600);
    refused(
        app.get("/api/me/draft-key", &s).await,
        "idle past the limit",
    )
    .await;
}

/// A password change from `client` (an address of its own, so the sign-in
/// budgets per email and address do not mix the racers up).
async fn change_from(
    app: &TestApp,
    client: &str,
    s: &Session,
    current: &str,
    new: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/me/password"))
        .header("X-Vigil-Request", "1")
        .header("X-Forwarded-For", client)
        .header("Cookie", s.cookie())
        .json(&json!({"current_password": current, "new_password": new}))
        .send()
        .await
        .unwrap()
}

/// The person's draft key version and how many of `action` the audit log
/// holds for them.
async fn version_and_audits(app: &TestApp, user_id: i64, actions: &[&str]) -> (i64, Vec<i64>) {
    let version = app
        .scalar(&format!(
            "SELECT draft_key_version FROM users WHERE id = {user_id}"
        ))
        .await;
    let mut counts = Vec::new();
    for action in actions {
        counts.push(app.audit_count_on(action, &format!("user:{user_id}")).await);
    }
    (version, counts)
}

/// Signs `email` in `n` times, each from an address of its own.
async fn sessions_of(
    app: &TestApp,
    email: &str,
    password: &str,
    n: usize,
    net: &str,
) -> Vec<(String, Session)> {
    let mut out = Vec::new();
    for i in 0..n {
        let client = format!("{net}.{i}");
        let res = app.login_from(&client, email, password, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{client}");
        out.push((client, Session::from_sign_in(&res)));
    }
    out
}

/// Six sessions of one person change the password at once, five rounds:
/// exactly one change is made, one `password.changed` and one bump of the
/// draft key version (no lost update, none counted twice); its session
/// stays signed in and every other ends. The others answer 401: their
/// session was ended by the change that went first (they had all checked
/// the current password before it committed, and each went on to change
/// the password again and end the winner's session), or the current
/// password is no longer the one they sent; never a 5xx.
#[tokio::test]
async fn concurrent_password_changes_bump_the_draft_key_once_each() {
    const AT_ONCE: usize = 6;
    let app = crate::helpers::spawn_behind_proxy().await;
    let agent = app.user_id("agent1@demo.test").await;
    let mut current = PASSWORD.to_owned();
    for round in 0..5 {
        let sessions = sessions_of(
            &app,
            "agent1@demo.test",
            &current,
            AT_ONCE,
            &format!("10.7.{round}"),
        )
        .await;
        let (version, audits) = version_and_audits(&app, agent, &["password.changed"]).await;
        let new = format!("round {round} lilac harbour kettle");
        let answers = futures_util::future::join_all(
            sessions
                .iter()
                .map(|(client, s)| change_from(&app, client, s, &current, &new)),
        )
        .await;
        let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
        assert!(
            statuses.iter().all(|s| [200, 401].contains(s)),
            "round {round}: only 200 and 401: {statuses:?}"
        );
        let changed = statuses.iter().filter(|s| **s == 200).count() as i64;
        assert_eq!(changed, 1, "round {round}: {statuses:?}");
        let (after, after_audits) = version_and_audits(&app, agent, &["password.changed"]).await;
        assert_eq!(
            after - version,
            changed,
            "round {round}: one bump per change: {statuses:?}"
        );
        assert_eq!(after_audits[0] - audits[0], changed, "round {round}");
        for ((_, s), status) in sessions.iter().zip(&statuses) {
            if *status == 200 {
                app.session_view(s).await;
            } else {
                app.assert_signed_out(s, "revoked").await;
            }
        }
        current = new;
    }
    let res = app
        .login_from("10.7.9.9", "agent1@demo.test", &current, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "the last password holds");
}

/// An admin deactivates and then reactivates a person while three of that
/// person's sessions change the password, five rounds: the version moves
/// by exactly one for the deactivation, one for the reactivation and one
/// for the change if one was made (at most one: before the deactivation,
/// which ends its session too; the others' sessions ended first),
/// matching the audit log, whatever order the database put them in.
#[tokio::test]
async fn deactivation_and_reactivation_racing_password_changes_bump_the_draft_key_once_each() {
    const AT_ONCE: usize = 3;
    let app = crate::helpers::spawn_behind_proxy().await;
    let admin = app.login("admin@demo.test").await;
    let agent = app.user_id("agent1@demo.test").await;
    let actions = ["password.changed", "user.deactivated", "user.reactivated"];
    let mut current = PASSWORD.to_owned();
    for round in 0..5 {
        let sessions = sessions_of(
            &app,
            "agent1@demo.test",
            &current,
            AT_ONCE,
            &format!("10.8.{round}"),
        )
        .await;
        let (version, audits) = version_and_audits(&app, agent, &actions).await;
        let new = format!("round {round} marble falcon teapot");
        let changes = futures_util::future::join_all(
            sessions
                .iter()
                .map(|(client, s)| change_from(&app, client, s, &current, &new)),
        );
        let standing = async {
            let path = |what: &str| format!("/api/admin/users/{agent}/{what}");
            let off = app.post(&path("deactivate"), &admin, json!({})).await;
            let on = app.post(&path("reactivate"), &admin, json!({})).await;
            (off.status(), on.status())
        };
        let (answers, (off, on)) = tokio::join!(changes, standing);
        assert_eq!((off, on), (StatusCode::OK, StatusCode::OK), "round {round}");
        let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
        assert!(
            statuses.iter().all(|s| [200, 401].contains(s)),
            "round {round}: only 200 and 401: {statuses:?}"
        );
        let changed = statuses.iter().filter(|s| **s == 200).count() as i64;
        assert!(changed <= 1, "round {round}: {statuses:?}");
        let (after, after_audits) = version_and_audits(&app, agent, &actions).await;
        assert_eq!(
            after - version,
            changed + 2,
            "round {round}: a bump per change and one each for deactivating and reactivating: {statuses:?}"
        );
        let moved: Vec<i64> = after_audits
            .iter()
            .zip(&audits)
            .map(|(a, b)| a - b)
            .collect();
        assert_eq!(moved, [changed, 1, 1], "round {round}");
        if changed > 0 {
            current = new;
        }
    }
    let res = app
        .login_from("10.8.9.9", "agent1@demo.test", &current, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "the last password holds");
}
