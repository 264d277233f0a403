//! Admin: live sessions, revocation, the team, the audit log; isolation
//! between accounts.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Session, TestApp};

/// Creates a second account `other` with admin `boss@other.test` and signs in.
pub async fn other_account(app: &TestApp) -> Session {
    vigil_server::cli::create_account(
        &app.state.store,
        &app.state.hasher,
        vigil_server::cli::NewAccount {
            slug: "other",
            name: "Other Co",
            admin_email: "boss@other.test",
            admin_name: None,
        },
        "other-password\n".as_bytes(),
        app.state.clock.now(),
    )
    .await
    .unwrap();
    let res = app
        .post_login(
            json!({"account": "other", "email": "boss@other.test", "password": "other-password"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    Session::from_sign_in(&res)
}

#[tokio::test]
async fn admins_see_the_live_sessions_of_their_own_account_only() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let _agent = app.login_as("agent1@demo.test", true).await;
    let ended = app.login("agent2@demo.test").await;
    app.logout(&ended).await;
    let boss = other_account(&app).await;

    let list: Value = app.get_json("/api/admin/sessions", &admin).await;
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 2, "{emails:?}");
    assert!(emails.contains(&"admin@demo.test") && emails.contains(&"agent1@demo.test"));
    let agent = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["user"]["email"] == "agent1@demo.test")
        .unwrap();
    assert_eq!(agent["persistent"], true);
    assert_eq!(agent["audience"], "agents");
    assert_eq!(agent["user"]["role"], "agent");
    assert_eq!(agent["ip"], "127.0.0.1");
    assert!(agent["idle_expires_at"].is_string() && agent["absolute_expires_at"].is_string());
    assert!(agent.get("token").is_none() && agent.get("token_hash").is_none());

    let theirs: Value = app.get_json("/api/admin/sessions", &boss).await;
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    assert_eq!(theirs[0]["user"]["email"], "boss@other.test");
}

#[tokio::test]
async fn revoking_a_session_signs_that_person_out_with_reason_revoked() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let agent = app.login("agent1@demo.test").await;
    let id = app.session_id(&agent).await;
    let res = app.revoke_session(&admin, &id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.assert_signed_out(&agent, "revoked").await;
    let again = app.revoke_session(&admin, &id).await;
    assert_eq!(
        again.status(),
        StatusCode::NOT_FOUND,
        "an ended session is no longer live"
    );
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"session.revoked".to_owned()));
    // The agent's last session ended by revocation: out of routing.
    let agents: Value = app.get_json("/api/admin/agents", &admin).await;
    let a1 = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "agent1@demo.test")
        .unwrap();
    assert_eq!(a1["available"], false);
    assert_eq!(a1["open_conversations"], 0);
}

#[tokio::test]
async fn another_accounts_sessions_and_users_are_404() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let agent = app.login("agent1@demo.test").await;
    let agent_session = app.session_id(&agent).await;
    let agent_id = app.user_id("agent1@demo.test").await;
    let boss = other_account(&app).await;

    let res = app.revoke_session(&boss, &agent_session).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.revoke_user(&boss, agent_id).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    app.session_view(&agent).await;

    for bad in ["nope", "-1", "99999", "1.5", "%00"] {
        let res = app.revoke_user(&admin, bad).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
        let res = app.revoke_session(&admin, bad).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    let boss_audit: Value = app.get_json("/api/admin/audit", &boss).await;
    assert!(
        boss_audit
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e.to_string().contains("demo.test")),
        "no demo events in another account's log"
    );
}

#[tokio::test]
async fn revoking_all_sessions_of_a_user_counts_them() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let a = app.login("agent2@demo.test").await;
    let b = app.login("agent2@demo.test").await;
    let id = app.user_id("agent2@demo.test").await;
    let res = app.revoke_user(&admin, id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"revoked": 2}));
    app.assert_signed_out(&a, "revoked").await;
    app.assert_signed_out(&b, "revoked").await;
    let res = app.revoke_user(&admin, id).await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"revoked": 0}));
}

#[tokio::test]
async fn audit_log_pages_newest_first() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    for _ in 0..3 {
        let s = app.login("agent1@demo.test").await;
        app.logout(&s).await;
    }
    let all: Value = app.get_json("/api/admin/audit", &admin).await;
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 7, "admin login + 3 × (login, logout)");
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(all[0]["action"], "session.logout");
    assert_eq!(all[6]["action"], "session.login");
    assert!(all[0]["at"].is_string() && all[0]["target"].is_string());

    let page: Value = app.get_json("/api/admin/audit?limit=2", &admin).await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    let before = page[1]["id"].as_i64().unwrap();
    let next: Value = app
        .get_json(&format!("/api/admin/audit?limit=2&before={before}"), &admin)
        .await;
    assert_eq!(next[0]["id"], all[2]["id"]);

    for bad in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "before=-3",
        "limit=1e3",
    ] {
        let res = app.get(&format!("/api/admin/audit?{bad}"), &admin).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn agents_list_shows_availability_sessions_and_open_conversations() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let _a = app.login("agent1@demo.test").await;
    let list: Value = app.get_json("/api/admin/agents", &admin).await;
    let rows = list.as_array().unwrap();
    assert_eq!(
        rows.len(),
        3,
        "admin and two agents; requesters are not team members"
    );
    let a1 = rows
        .iter()
        .find(|a| a["email"] == "agent1@demo.test")
        .unwrap();
    assert_eq!(a1["available"], true);
    assert_eq!(a1["auto_assign"], true);
    assert_eq!(a1["live_sessions"], 1);
    assert_eq!(a1["open_conversations"], 2);
    assert!(a1["user_id"].is_i64() && a1["display_name"].is_string());
    assert_eq!(a1["role"], "agent");
    assert_eq!(a1["last_activity_at"], "2026-01-05T09:00:00Z");
    let a2 = rows
        .iter()
        .find(|a| a["email"] == "agent2@demo.test")
        .unwrap();
    assert_eq!(a2["last_activity_at"], Value::Null, "not signed in");
    let boss = rows
        .iter()
        .find(|a| a["email"] == "admin@demo.test")
        .unwrap();
    assert_eq!(boss["role"], "admin");
}

#[tokio::test]
async fn the_audit_log_filters_by_every_action_the_server_writes() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    crate::webhooks::add_endpoint(&app, &admin, "https://8.8.8.8/hooks", json!(["*"])).await;
    for a in vigil_policy::audit::ACTIONS {
        let rows: Vec<Value> = app
            .get_json(&format!("/api/admin/audit?action={a}"), &admin)
            .await;
        assert!(rows.iter().all(|e| e["action"] == *a), "{a}: {rows:?}");
        let res = app
            .get(&format!("/api/admin/audit.csv?action={a}"), &admin)
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{a} (csv)");
    }
    let created: Vec<Value> = app
        .get_json(
            "/api/admin/audit?action=webhook.created,sso.created",
            &admin,
        )
        .await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["action"], "webhook.created");
}

#[tokio::test]
async fn the_audit_log_filters_by_action_actor_and_time() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let agent = app.login("agent1@demo.test").await;
    app.advance(3600);
    let id = app.session_id(&agent).await;
    // Ending someone's session needs a recent sign-in.
    let res = app
        .post(
            "/api/auth/reauthenticate",
            &admin,
            json!({"password": crate::helpers::PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.revoke_session(&admin, &id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let list = async |q: &str| -> Vec<Value> {
        app.get_json(&format!("/api/admin/audit{q}"), &admin).await
    };
    let revoked = list("?action=session.revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["actor"], "admin@demo.test");
    let logins = list("?action=session.login&actor=agent1%40demo.test").await;
    assert_eq!(logins.len(), 1);
    assert!(logins.iter().all(|e| e["actor"] == "agent1@demo.test"));
    // The sign-ins were at T0, the revocation an hour later.
    let later = list("?from=2026-01-05T09:30:00Z").await;
    assert!(!later.is_empty());
    assert!(
        later.iter().all(|e| e["action"] != "session.login"),
        "{later:?}"
    );
    let earlier = list("?to=2026-01-05T09:30:00Z&action=session.login").await;
    assert_eq!(earlier.len(), 2);
    assert!(list("?actor=nobody%40demo.test").await.is_empty());

    for (bad, field) in [
        ("?action=session.exploded", "action"),
        ("?from=yesterday", "from"),
        ("?to=2026-13-01T00:00:00Z", "to"),
        ("?from=2026-01-06T00:00:00Z&to=2026-01-05T00:00:00Z", "from"),
    ] {
        let res = app.get(&format!("/api/admin/audit{bad}"), &admin).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["fields"][0]["path"], field, "{bad}");
        let res = app.get(&format!("/api/admin/audit.csv{bad}"), &admin).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad} (csv)");
    }
}

#[tokio::test]
async fn the_audit_log_exports_the_filtered_entries_as_csv() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    // More than one page of the export (500 rows a query).
    for _ in 0..3 {
        app.login("agent2@demo.test").await;
    }
    // A value a spreadsheet would run as a formula.
    app.execute(
        "INSERT INTO audit_log (account_id, at, actor, action, target, details)
         SELECT account_id, at, '=cmd|'' /C calc''!A0', 'login.failed', NULL, '{}' FROM audit_log
         WHERE action = 'session.login' AND actor = 'admin@demo.test'",
    )
    .await;
    // Each pass doubles agent2's sign-ins: 3 × 2⁹ rows.
    for _ in 0..9 {
        app.execute(
            "INSERT INTO audit_log (account_id, at, actor, action, target, details)
             SELECT account_id, at, actor, action, target, details FROM audit_log
             WHERE action = 'session.login' AND actor = 'agent2@demo.test'",
        )
        .await;
    }
    let expected = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'session.login' AND actor = 'agent2@demo.test'")
        .await;
    assert!(expected > 500, "{expected}");

    let res = app
        .get(
            "/api/admin/audit.csv?action=session.login&actor=agent2%40demo.test",
            &admin,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "id,at,actor,action,target,details");
    assert_eq!(lines.len() as i64 - 1, expected);
    assert!(lines[1..]
        .iter()
        .all(|l| l.contains(",agent2@demo.test,session.login,")));
    let ids: Vec<i64> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );

    // A formula in a cell is defused.
    let failed = app
        .get("/api/admin/audit.csv?action=login.failed", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(failed.contains(",'=cmd|' /C calc'!A0,"), "{failed}");
    assert!(!failed.contains(",=cmd"), "{failed}");

    // Not for agents; and an admin of another account sees none of these.
    let agent = app.login("agent1@demo.test").await;
    assert_eq!(
        app.get("/api/admin/audit.csv", &agent).await.status(),
        StatusCode::FORBIDDEN
    );
    let other = other_account(&app).await;
    let theirs = app
        .get("/api/admin/audit.csv?actor=agent2%40demo.test", &other)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(theirs.trim_end(), "id,at,actor,action,target,details");
}

#[tokio::test]
async fn every_sign_out_of_one_agent_is_found_by_person_and_action() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    // agent1: signs out once, is revoked once, expires once; agent2 too.
    for email in ["agent1@demo.test", "agent2@demo.test"] {
        let s = app.login(email).await;
        app.logout(&s).await;
        let s = app.login(email).await;
        let id = app.session_id(&s).await;
        app.revoke_session(&admin, &id).await;
    }
    let _ = app.login("agent1@demo.test").await;
    app.advance(9 * 3600);
    app.sweep().await;
    let admin = app.login("admin@demo.test").await;
    let res = app
        .get(
            "/api/admin/audit?person=agent1%40demo.test&action=session.logout,session.expired,session.revoked",
            &admin,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let rows: Vec<Value> = res.json().await.unwrap();
    let mut actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        ["session.expired", "session.logout", "session.revoked"],
        "{rows:?}"
    );
    assert!(rows
        .iter()
        .all(|r| r["details"]["email"] == "agent1@demo.test"));
    // By or about: the reroutes of agent1's conversations and their
    // availability are about them too.
    let about: Vec<Value> = app
        .get_json(
            "/api/admin/audit?person=agent1%40demo.test&limit=200",
            &admin,
        )
        .await;
    assert!(about.iter().any(|r| r["action"] == "conversation.rerouted"));
    assert!(about.iter().any(|r| r["action"] == "agent.availability"));
    assert!(about.iter().all(|r| r["actor"] != "agent2@demo.test"));
    // The CSV follows the same filter; an unknown person matches nothing.
    let csv = app
        .get(
            "/api/admin/audit.csv?person=agent1%40demo.test&action=session.logout,session.expired,session.revoked",
            &admin,
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let none: Vec<Value> = app
        .get_json("/api/admin/audit?person=nobody%40demo.test", &admin)
        .await;
    assert!(none.is_empty());
    let res = app
        .get("/api/admin/audit?action=session.login,nope", &admin)
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
