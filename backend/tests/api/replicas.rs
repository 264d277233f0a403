//! Two servers on one PostgreSQL database, as replicas behind a load
//! balancer run: always on PostgreSQL, whatever `VIGIL_TEST_DB` says (on
//! SQLite Vigil is one process, and invalidation is local).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    eventually, spawn_app_with, spawn_postgres_app, Options, Proxy, Session, TestApp, T0,
};

#[tokio::test]
async fn a_session_created_through_one_replica_is_enforced_by_the_other() {
    let a = spawn_postgres_app().await;
    let b = a.replica().await;
    let s = a.login("agent1@demo.test").await;
    let view = b.session_view(&s).await;
    assert_eq!(view["user"]["email"], "agent1@demo.test");
    a.advance(8 * 3600 + 1);
    b.assert_signed_out(&s, "idle_timeout").await;
    a.assert_signed_out(&s, "idle_timeout").await;
}

const SECOND: Duration = Duration::from_secs(1);
const FIVE_MS: Duration = Duration::from_millis(5);

/// Polls `app` until the session is refused with `reason`; returns how long
/// that took. Fails after 1 s (the notification takes milliseconds; the
/// second is slack for a loaded machine, not a promise).
async fn refused_within_a_second(app: &TestApp, s: &Session, reason: &str) -> Duration {
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
    let a = spawn_postgres_app().await;
    let b = a.replica().await;
    let admin = a.login("admin@demo.test").await;
    let agent = b.login("agent1@demo.test").await;
    // b has the session in its cache now.
    let id = b.session_id(&agent).await;
    assert_eq!(
        a.revoke_session(&admin, &id).await.status(),
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
    // Signed in now: changing the settings needs a recent sign-in.
    let admin = a.login("admin@demo.test").await;
    a.apply_settings(&admin, |s| s.agents.idle_timeout_secs = 15 * 60)
        .await;
    let took = refused_within_a_second(&b, &agent, "idle_timeout").await;
    println!(
        "a tightened policy reached the other replica in {} ms",
        took.as_millis()
    );
}

#[tokio::test]
async fn two_sweepers_at_once_end_each_session_once_and_reroute_each_conversation_once() {
    let a = spawn_postgres_app().await;
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
    let a = spawn_postgres_app().await;
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
    eventually(
        Duration::from_secs(10),
        Duration::from_millis(50),
        "held activity is written on shutdown",
        async || b.scalar("SELECT MAX(last_activity_at) FROM sessions").await == wanted,
    )
    .await;
    // The other replica carries on with the same session and work.
    b.advance(8 * 3600 - 1);
    let view = b.session_view(&s).await;
    assert_eq!(view["user"]["email"], "agent1@demo.test");
    let list: Value = b.get_json("/api/desk/conversations", &s).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_permission_change_through_one_replica_applies_on_the_other() {
    let a = spawn_postgres_app().await;
    let b = a.replica().await;
    let agent = b.login("agent1@demo.test").await;
    let settings = "/api/admin/security-settings";
    assert_eq!(
        b.get(settings, &agent).await.status(),
        StatusCode::FORBIDDEN
    );
    // Granted through replica a (as an admin tool would, through the store).
    let id = a.user_id("agent1@demo.test").await;
    let mut tx = a.state.store.begin().await.unwrap();
    assert!(
        vigil_server::store::accounts::set_permissions(&mut tx, id, &["manage_security"])
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let status = async || b.get(settings, &agent).await.status();
    let took = eventually(SECOND, FIVE_MS, "allowed within 1 s", async || {
        status().await == StatusCode::OK
    })
    .await;
    println!(
        "a permission change reached the other replica in {} ms",
        took.as_millis()
    );
    // And taken away again.
    let mut tx = a.state.store.begin().await.unwrap();
    vigil_server::store::accounts::set_permissions(&mut tx, id, &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    eventually(SECOND, FIVE_MS, "forbidden again within 1 s", async || {
        status().await == StatusCode::FORBIDDEN
    })
    .await;
}

/// Waits until `app`'s memory is (or is not) trusted.
async fn wait_for_trust(app: &TestApp, trusted: bool) {
    eventually(
        Duration::from_secs(10),
        Duration::from_millis(10),
        &format!("memory trusted is {trusted}"),
        async || app.state.sessions.memory.trusted() == trusted,
    )
    .await;
}

/// A replica of `a` that reads the database directly but listens through
/// a proxy the test can cut or stall, trusting its memory already.
async fn replica_behind_proxy(a: &TestApp, options: Options) -> (Proxy, TestApp) {
    let proxy = Proxy::in_front_of(&a.database_url).await;
    let b = a
        .replica_with(Options {
            listen_url: Some(proxy.url_for(&a.database_url)),
            ..options
        })
        .await;
    wait_for_trust(&b, true).await;
    (proxy, b)
}

/// Signs agent1 and agent2 in through `b` (held in its memory) and returns
/// them with an admin's session on `a`.
async fn two_held_sessions(a: &TestApp, b: &TestApp) -> (Session, Session, Session) {
    let admin = a.login("admin@demo.test").await;
    let first = b.login("agent1@demo.test").await;
    let second = b.login("agent2@demo.test").await;
    b.session_view(&first).await;
    b.session_view(&second).await;
    assert_eq!(b.state.sessions.memory.len(), 2, "both held in b's memory");
    (admin, first, second)
}

/// Revokes `first` through `a` while `b` cannot hear it; returns its id
/// once `b` has refused it (reading the database) `rounds` times, still
/// serving `second`.
async fn revoke_while_deaf(
    a: &TestApp,
    b: &TestApp,
    admin: &Session,
    first: &Session,
    second: &Session,
    rounds: usize,
) -> String {
    let id = a.session_id(first).await;
    assert_eq!(
        a.revoke_session(admin, &id).await.status(),
        StatusCode::NO_CONTENT
    );
    for _ in 0..rounds {
        b.assert_signed_out(first, "revoked").await;
        b.session_view(second).await;
    }
    id
}

#[tokio::test]
async fn a_replica_that_cannot_hear_other_replicas_never_accepts_a_revoked_session() {
    let a = spawn_postgres_app().await;
    let (proxy, b) = replica_behind_proxy(&a, Options::default()).await;
    let (admin, first, second) = two_held_sessions(&a, &b).await;

    proxy.cut();
    wait_for_trust(&b, false).await;
    // b missed the notification, and reads the database instead of memory.
    revoke_while_deaf(&a, &b, &admin, &first, &second, 20).await;

    // Listening again: memory is emptied before it is trusted, so nothing
    // missed while deaf survives.
    assert_eq!(b.state.sessions.memory.resets(), 1, "emptied when cut");
    proxy.restore();
    wait_for_trust(&b, true).await;
    b.assert_signed_out(&first, "revoked").await;
    b.session_view(&second).await;
}

#[tokio::test]
async fn a_heartbeat_heard_late_on_a_connection_that_stayed_up_keeps_the_memory_and_misses_nothing()
{
    let a = spawn_postgres_app().await;
    let (proxy, b) = replica_behind_proxy(&a, Options::default()).await;
    let (admin, first, second) = two_held_sessions(&a, &b).await;
    let memory = &b.state.sessions.memory;
    let resets = memory.resets();

    // The listening connection stays up but nothing comes through it (a
    // slow network, a database slow to commit the heartbeat): trust lapses.
    proxy.stall();
    wait_for_trust(&b, false).await;
    // Meanwhile b reads the database: the revocation it has not heard yet
    // holds, and the other session is still served.
    let id = revoke_while_deaf(&a, &b, &admin, &first, &second, 5).await;

    // What was held arrives in commit order, the revocation before the
    // heartbeat: trust is back with the memory kept, nothing missed.
    proxy.resume();
    wait_for_trust(&b, true).await;
    assert_eq!(memory.resets(), resets, "the memory was not emptied");
    assert!(
        memory.late_heartbeats() >= 1,
        "the late heartbeat is counted"
    );
    let second_id = b.session_id(&second).await;
    assert!(
        memory.by_id(&second_id).is_some(),
        "the session still held is served from memory"
    );
    assert!(
        memory.by_id(&id).is_none(),
        "the revocation heard on resuming took the revoked one out"
    );
    b.assert_signed_out(&first, "revoked").await;
    b.session_view(&second).await;
}

#[tokio::test]
async fn a_listening_connection_that_hears_nothing_for_too_long_is_replaced_and_the_memory_emptied()
{
    let a = spawn_postgres_app().await;
    let (proxy, b) = replica_behind_proxy(
        &a,
        Options {
            listener_silence: Some(Duration::from_millis(1500)),
            ..Options::default()
        },
    )
    .await;
    let s = b.login("agent1@demo.test").await;
    b.session_view(&s).await;
    let memory = &b.state.sessions.memory;
    assert_eq!(memory.len(), 1);
    let resets = memory.resets();

    // A connection that may be half-open: after the silence it is given up
    // (memory emptied, as for a lost connection), and a new one, once
    // bytes flow again, brings trust back.
    proxy.stall();
    eventually(
        Duration::from_secs(10),
        Duration::from_millis(10),
        "memory emptied after the silence",
        async || memory.resets() > resets,
    )
    .await;
    assert!(memory.is_empty());
    proxy.resume();
    wait_for_trust(&b, true).await;
    b.session_view(&s).await;
}

#[tokio::test]
async fn revoking_both_sessions_of_an_agent_at_once_on_two_replicas_always_takes_them_out_of_routing(
) {
    let a = spawn_postgres_app().await;
    let b = a.replica().await;
    let agent1 = a.user_id("agent1@demo.test").await;
    let agent2 = a.user_id("agent2@demo.test").await;
    // agent2 takes no work, so agent1's conversations go to the queue.
    let s2 = a.login("agent2@demo.test").await;
    a.set_available(&s2, false).await;
    let admin_a = a.login("admin@demo.test").await;
    let admin_b = b.login("admin@demo.test").await;
    for round in 0..25 {
        let (first, second) = a.busy_agent1(2).await;
        let (id1, id2) = (a.session_id(&first).await, a.session_id(&second).await);
        let rerouted_before = a
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'conversation.rerouted'")
            .await;
        let open = a.open_assigned(agent1).await;
        let (r1, r2) = tokio::join!(
            a.revoke_session(&admin_a, &id1),
            b.revoke_session(&admin_b, &id2)
        );
        assert_eq!(r1.status(), StatusCode::NO_CONTENT, "round {round}");
        assert_eq!(r2.status(), StatusCode::NO_CONTENT, "round {round}");
        assert_eq!(
            a.scalar(&format!(
                "SELECT COUNT(*) FROM users WHERE id = {agent1} AND available = TRUE"
            ))
            .await,
            0,
            "round {round}: no live session left, so not available"
        );
        assert_eq!(
            a.open_assigned(agent1).await,
            0,
            "round {round}: no work left with them"
        );
        assert_eq!(
            a.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'conversation.rerouted'")
                .await
                - rerouted_before,
            open,
            "round {round}: each open conversation rerouted exactly once"
        );
    }
    assert_eq!(
        a.open_assigned(agent2).await,
        2,
        "agent2 (unavailable) kept their own two and took none"
    );
}

#[tokio::test]
async fn a_revocation_on_one_replica_reaches_a_channel_on_the_other_within_a_second() {
    let a = spawn_postgres_app().await;
    let b = a.replica().await;
    let admin = a.login("admin@demo.test").await;
    let agent = b.login("agent1@demo.test").await;
    let mut events = b.events(&agent).await;
    let view = events
        .next_event(Duration::from_secs(1))
        .await
        .unwrap()
        .json();
    let id = view["session_id"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    let res = a.revoke_session(&admin, &id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let ended = events
        .next_event(Duration::from_secs(1))
        .await
        .expect("ended within a second");
    println!(
        "revocation on replica a reached the channel on b in {:?}",
        started.elapsed()
    );
    assert_eq!(ended.json()["reason"], "revoked");
}

#[tokio::test]
async fn activity_written_by_another_replica_reaches_the_channel_before_its_warning() {
    // Idle 20 s, warned 10 s before: replica a holds the channel, the
    // person is active on replica b 5 s in; a re-reads the row a second
    // before it would warn at 10 s and pushes the moved deadline.
    let a = spawn_app_with(Options {
        postgres: true,
        real_clock: true,
        ..Options::default()
    })
    .await;
    let b = a
        .replica_with(Options {
            real_clock: true,
            ..Options::default()
        })
        .await;
    let admin = a.login("admin@demo.test").await;
    a.apply_settings(&admin, |s| {
        s.agents.idle_timeout_secs = 20;
        s.agents.warning = vigil_policy::Warning::Before { secs: 10 };
    })
    .await;
    let agent = a.login("agent1@demo.test").await;
    let mut events = a.events(&agent).await;
    let first = events
        .next_event(Duration::from_secs(1))
        .await
        .unwrap()
        .json();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let res = b
        .post(
            "/api/session/activity",
            &agent,
            serde_json::json!({"source": "input"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let moved = events
        .next_event(Duration::from_secs(6))
        .await
        .expect("the moved deadline before the warning");
    assert_eq!(moved.event, "session");
    let moved = moved.json();
    assert!(moved["idle_expires_at"].as_str() > first["idle_expires_at"].as_str());
    let warn_at = time::OffsetDateTime::parse(
        first["warn_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        a.state.clock.now() < warn_at,
        "pushed before the old warning instant"
    );
}

#[tokio::test]
async fn a_person_deactivated_through_one_replica_is_refused_by_the_other_within_a_second() {
    let a = spawn_postgres_app().await;
    let b = a.replica().await;
    let admin = a.login("admin@demo.test").await;
    let agent = b.login("agent1@demo.test").await;
    b.session_view(&agent).await; // held in b's memory
    let agent1 = a.user_id("agent1@demo.test").await;
    let res = a
        .post(
            &format!("/api/admin/users/{agent1}/deactivate"),
            &admin,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let took = refused_within_a_second(&b, &agent, "revoked").await;
    println!("deactivation reached the other replica in {took:?}");
    let res = b
        .post_login(serde_json::json!({"account": "demo", "email": "agent1@demo.test", "password": crate::helpers::PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_settings_change_through_one_replica_applies_to_first_checks_on_the_other_at_once() {
    // A first check on b reads the settings version with the session: b
    // reuses the settings it holds only at that very version, so it needs
    // no notification to judge a session it has not seen by new settings.
    let a = spawn_postgres_app().await;
    let b = a.replica().await;
    let admin = a.login("admin@demo.test").await;
    let fresh = crate::races::stored_sessions(&a, "requester@demo.test", 40).await;
    let others = crate::races::stored_sessions(&a, "requester@demo.test", 4).await;
    // b holds the account's settings now.
    b.session_view(&others[0].0).await;
    for (k, (s, id)) in fresh.iter().enumerate() {
        let idle = 3600 + k as u64;
        // Checks on b while the change is stored.
        let racing =
            futures_util::future::join_all(others.iter().map(|(s, _)| b.poll("/api/session", s)));
        let ((), _) = tokio::join!(
            a.apply_settings(&admin, |st| st.requesters.idle_timeout_secs = idle),
            racing
        );
        let view = b.session_view(s).await;
        assert_eq!(view["session_id"], id.as_str());
        assert_eq!(
            view["policy"]["idle_timeout_secs"], idle,
            "change {k}: b judged a session it had not seen by older settings"
        );
    }
}
