//! The sweeper, availability and conversation routing; the desk and portal.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Options};

#[tokio::test]
async fn sweeper_signs_out_an_idle_agent_and_reroutes_to_the_least_loaded_agent() {
    let app = spawn_app().await;
    let agent1 = app.login("agent1@demo.test").await;
    let a1 = app.user_id("agent1@demo.test").await;
    let a2 = app.user_id("agent2@demo.test").await;
    assert_eq!(app.open_assigned(a1).await, 2);
    assert_eq!(app.open_assigned(a2).await, 2);

    app.advance(8 * 3600 - 1);
    assert_eq!(app.sweep().await.ended, 0, "not a second early");
    app.advance(1);
    assert_eq!(app.sweep().await.ended, 1);
    assert_eq!(app.sweep().await.ended, 0, "ended once");

    assert_eq!(app.open_assigned(a1).await, 0);
    assert_eq!(app.open_assigned(a2).await, 4);
    let available = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {a1} AND available = TRUE"
        ))
        .await;
    assert_eq!(available, 0);
    let actions = app.audit_actions().await;
    for action in [
        "session.expired",
        "agent.availability",
        "conversation.rerouted",
    ] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action} in {actions:?}"
        );
    }
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "conversation.rerouted")
            .count(),
        2
    );
    app.assert_signed_out(&agent1, "idle_timeout").await;
}

#[tokio::test]
async fn reroutes_spread_over_agents_by_load_and_queue_when_nobody_is_available() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let a1 = app.user_id("agent1@demo.test").await;
    let a2 = app.user_id("agent2@demo.test").await;
    // The admin takes part in routing too, with no load.
    let admin_id = app.user_id("admin@demo.test").await;
    app.execute(&format!(
        "UPDATE users SET available = TRUE, auto_assign = TRUE WHERE id = {admin_id}"
    ))
    .await;
    let agent1 = app.login("agent1@demo.test").await;
    let id = app.session_id(&agent1).await;
    assert_eq!(
        app.revoke_session(&admin, &id).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.open_assigned(admin_id).await,
        2,
        "admin had 0, agent2 had 2: both go to the admin"
    );
    assert_eq!(app.open_assigned(a2).await, 2);

    // Nobody else available: agent2's conversations go to the queue.
    app.execute(&format!(
        "UPDATE users SET available = FALSE WHERE id = {admin_id}"
    ))
    .await;
    let agent2 = app.login("agent2@demo.test").await;
    let res = app.revoke_user(&admin, a2).await;
    assert_eq!(res.status(), StatusCode::OK);
    app.assert_signed_out(&agent2, "revoked").await;
    assert_eq!(app.open_assigned(a2).await, 0);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM conversations WHERE assignee_id IS NULL AND status = 'open'"
        )
        .await,
        2
    );
    assert_eq!(app.open_assigned(a1).await, 0);
}

#[tokio::test]
async fn an_agent_with_another_live_session_stays_available() {
    let app = spawn_app().await;
    let laptop = app.login("agent1@demo.test").await;
    app.advance(4 * 3600);
    let phone = app.login("agent1@demo.test").await;
    app.advance(4 * 3600);
    assert_eq!(app.sweep().await.ended, 1);
    app.assert_signed_out(&laptop, "idle_timeout").await;
    app.session_view(&phone).await;
    let a1 = app.user_id("agent1@demo.test").await;
    assert_eq!(
        app.open_assigned(a1).await,
        2,
        "still has a live session: keeps the work"
    );
}

#[tokio::test]
async fn the_sweeper_loop_signs_out_on_time_without_any_request() {
    // Real clock, 5 s idle timeout, 1 s sweeps: measures how long a session
    // outlives its idle deadline (reported in the README).
    let app = spawn_app_with(Options {
        sweep_interval_secs: 1,
        real_clock: true,
        ..Options::default()
    })
    .await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| {
        s.requesters.idle_timeout_secs = 5;
        s.requesters.warning = vigil_policy::Warning::Percent { percent: 80 };
    })
    .await;
    let requester = app.login("requester@demo.test").await;
    let view = app.session_view(&requester).await;
    let deadline = time::OffsetDateTime::parse(
        view["idle_expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let started = Instant::now();
    let ended_at = loop {
        let row = sqlx::query("SELECT ended_at FROM sessions WHERE user_id = $1")
            .bind(app.user_id("requester@demo.test").await)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
        let ended: Option<i64> = sqlx::Row::try_get(&row, "ended_at").unwrap();
        if let Some(ms) = ended {
            break ms;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the sweeper never ended the session"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let late_ms = ended_at - vigil_server::cli::ms(deadline);
    println!("session ended {late_ms} ms after its idle deadline (sweep interval 1000 ms)");
    assert!(late_ms >= 0, "never early: {late_ms} ms");
    assert!(
        late_ms <= 1_500,
        "within one sweep interval plus the pass: {late_ms} ms"
    );
}

#[tokio::test]
async fn desk_shows_own_conversations_and_availability_changes_are_audited() {
    let app = spawn_app().await;
    let agent = app.login("agent1@demo.test").await;
    let list: Value = app.get_json("/api/desk/conversations", &agent).await;
    let me = app.user_id("agent1@demo.test").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["assignee_id"] == me && c["status"] == "open"));

    let res = app.set_available(&agent, false).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"available": false})
    );
    let res = app.set_available(&agent, false).await;
    assert_eq!(res.status(), StatusCode::OK);
    let changes = app
        .audit_actions()
        .await
        .iter()
        .filter(|a| *a == "agent.availability")
        .count();
    assert_eq!(changes, 1, "only real changes are audited");
    for bad in [
        json!({"available": "no"}),
        json!({}),
        json!({"available": true, "x": 1}),
    ] {
        assert_eq!(
            app.put("/api/desk/availability", &agent, bad.clone())
                .await
                .status(),
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }

    let requester = app.login("requester@demo.test").await;
    assert_eq!(
        app.get("/api/desk/conversations", &requester)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let res = app.set_available(&requester, true).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn portal_conversations_are_routed_to_the_least_loaded_agent_or_queued() {
    let app = spawn_app().await;
    let requester = app.login("requester@demo.test").await;
    let a1 = app.user_id("agent1@demo.test").await;
    let a2 = app.user_id("agent2@demo.test").await;
    let res = app
        .open_conversation(&requester, "  Printer on fire  ")
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let c: Value = res.json().await.unwrap();
    assert_eq!(c["subject"], "Printer on fire");
    assert_eq!(c["assignee_id"], a1, "tie on load: lowest id");
    let c: Value = app
        .open_conversation(&requester, "Second")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["assignee_id"], a2, "agent2 now has fewer");

    let agent1 = app.login("agent1@demo.test").await;
    let agent2 = app.login("agent2@demo.test").await;
    app.set_available(&agent1, false).await;
    app.set_available(&agent2, false).await;
    let c: Value = app
        .open_conversation(&requester, "Queued")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["assignee_id"], Value::Null);

    let mine: Value = app.get_json("/api/portal/conversations", &requester).await;
    assert_eq!(mine.as_array().unwrap().len(), 7, "4 seeded + 3 new");
    for bad in [
        json!({"subject": ""}),
        json!({"subject": "   "}),
        json!({"subject": "x".repeat(201)}),
        json!({"subject": "a\nb"}),
        json!({"title": "x"}),
    ] {
        let res = app
            .post("/api/portal/conversations", &requester, bad.clone())
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(
        app.get("/api/portal/conversations", &agent1).await.status(),
        StatusCode::FORBIDDEN
    );
}
