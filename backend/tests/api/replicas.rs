//! Two servers on one database, as replicas behind a load balancer run.
//! On PostgreSQL (VIGIL_TEST_DB=postgres) this is the scale-out setup; on
//! SQLite it is two processes sharing a file, which must hold up as well.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, T0};

#[tokio::test]
async fn a_session_created_through_one_replica_is_enforced_by_the_other() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let s = a.login("agent1@demo.test").await;
    let view = b.session_view(&s).await;
    assert_eq!(view["user"]["email"], "agent1@demo.test");
    a.advance(8 * 3600 + 1);
    b.assert_signed_out(&s, "idle_timeout").await;
    a.assert_signed_out(&s, "idle_timeout").await;
}

/// Polls `app` until the session is refused with `reason`; returns how long
/// that took. Fails after 1 s, the bound replicas promise.
async fn refused_within_a_second(
    app: &crate::helpers::TestApp,
    s: &crate::helpers::Session,
    reason: &str,
) -> Duration {
    let started = std::time::Instant::now();
    loop {
        // Background polls: they do not count as activity, so they cannot
        // keep the session alive while the old policy is still cached.
        let res = app.poll("/api/session", s).await;
        if res.status() == StatusCode::UNAUTHORIZED {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["reason"], reason);
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "still accepted after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn revocations_and_settings_changes_through_one_replica_apply_on_the_other_within_a_second() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let admin = a.login("admin@demo.test").await;
    let agent = b.login("agent1@demo.test").await;
    // b has the session in its cache now.
    let id = b.session_view(&agent).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        a.delete(&format!("/api/admin/sessions/{id}"), &admin)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let took = refused_within_a_second(&b, &agent, "revoked").await;
    println!(
        "revocation reached the other replica in {} ms",
        took.as_millis()
    );
    // On the replica that revoked it, at once.
    a.assert_signed_out(&agent, "revoked").await;

    let agent = b.login("agent2@demo.test").await;
    b.session_view(&agent).await;
    a.advance(20 * 60);
    let res = a
        .change_settings(&admin, |s| s.agents.idle_timeout_secs = 15 * 60)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let took = refused_within_a_second(&b, &agent, "idle_timeout").await;
    println!(
        "a tightened policy reached the other replica in {} ms",
        took.as_millis()
    );
}

#[tokio::test]
async fn two_sweepers_at_once_end_each_session_once_and_reroute_each_conversation_once() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let _agent = a.login("agent1@demo.test").await;
    for _ in 0..20 {
        b.login("requester@demo.test").await;
    }
    a.advance(8 * 3600);
    let (ra, rb) = tokio::join!(a.sweep(), b.sweep());
    assert_eq!(
        ra.ended + rb.ended,
        21,
        "every session ended exactly once ({ra:?}, {rb:?})"
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL")
            .await,
        0
    );
    let actions = a.audit_actions().await;
    assert_eq!(
        actions.iter().filter(|x| *x == "session.expired").count(),
        21
    );
    assert_eq!(
        actions
            .iter()
            .filter(|x| *x == "conversation.rerouted")
            .count(),
        2
    );
    assert_eq!(
        actions
            .iter()
            .filter(|x| *x == "agent.availability")
            .count(),
        1
    );
    let a2 = a.user_id("agent2@demo.test").await;
    assert_eq!(
        a.open_assigned(a2).await,
        4,
        "agent1's two conversations moved once each"
    );
}

#[tokio::test]
async fn stopping_one_replica_loses_no_session_activity_or_conversation() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let s = a.login("agent1@demo.test").await;
    a.advance(5);
    // Inside the write interval: held in replica a's memory, not yet written.
    assert_eq!(
        a.session_view(&s).await["last_activity_at"],
        "2026-01-05T09:00:05Z"
    );
    let stored = a.scalar("SELECT MAX(last_activity_at) FROM sessions").await;
    assert_eq!(stored, vigil_server::cli::ms(T0));

    // A graceful stop writes what it held.
    a.handle.stop(true).await;
    let wanted = vigil_server::cli::ms(T0 + time::Duration::seconds(5));
    let mut waited = Duration::ZERO;
    while b.scalar("SELECT MAX(last_activity_at) FROM sessions").await != wanted {
        assert!(
            waited < Duration::from_secs(10),
            "held activity was not written on shutdown"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    // The other replica carries on with the same session and work.
    b.advance(8 * 3600 - 1);
    let view = b.session_view(&s).await;
    assert_eq!(view["user"]["email"], "agent1@demo.test");
    let list: Value = b
        .get("/api/desk/conversations", &s)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
}
