//! The live channel, `GET /api/session/events`: the view at once and when
//! it changes, `ended` with the reason, heartbeats, never activity.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Options};

const SOON: Duration = Duration::from_secs(1);

#[tokio::test]
async fn the_channel_opens_with_the_view_and_ends_when_an_admin_revokes() {
    let app = spawn_app().await;
    let agent = app.login("agent1@demo.test").await;
    let admin = app.login("admin@demo.test").await;
    let mut events = app.events(&agent).await;
    let first = events.next_event(SOON).await.expect("the view at once");
    assert_eq!(first.event, "session");
    let view = first.json();
    assert_eq!(view["user"]["email"], "agent1@demo.test");
    let id = view["session_id"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let res = app.revoke_session(&admin, &id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let ended = events
        .next_event(SOON)
        .await
        .expect("ended within a second");
    println!("revocation reached the channel in {:?}", started.elapsed());
    assert_eq!(ended.event, "ended");
    assert_eq!(ended.json(), json!({"reason": "revoked"}));
    assert!(
        events.closes_within(SOON).await,
        "the stream closes after ended"
    );
}

#[tokio::test]
async fn signing_out_in_another_tab_ends_the_channel() {
    let app = spawn_app().await;
    let requester = app.login("requester@demo.test").await;
    let mut events = app.events(&requester).await;
    assert_eq!(events.next_event(SOON).await.unwrap().event, "session");
    let res = app.logout(&requester).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let ended = events.next_event(SOON).await.expect("ended");
    assert_eq!(ended.json()["reason"], "logged_out");
}

#[tokio::test]
async fn activity_elsewhere_and_settings_changes_are_pushed() {
    let app = spawn_app().await;
    let agent = app.login("agent1@demo.test").await;
    let admin = app.login("admin@demo.test").await;
    let mut events = app.events(&agent).await;
    let first = events.next_event(SOON).await.unwrap().json();

    // Another tab (or device) of the same session is active a minute later.
    app.advance(60);
    let res = app
        .post("/api/session/activity", &agent, json!({"source": "input"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let moved = events.next_event(SOON).await.expect("the moved deadline");
    assert_eq!(moved.event, "session");
    let moved = moved.json();
    assert_ne!(moved["idle_expires_at"], first["idle_expires_at"]);
    assert_eq!(moved["last_activity_at"], "2026-01-05T09:01:00Z");

    // The admin shortens the agents' idle timeout.
    app.apply_settings(&admin, |s| s.agents.idle_timeout_secs = 1800)
        .await;
    let changed = events.next_event(SOON).await.expect("the new policy");
    assert_eq!(changed.json()["policy"]["idle_timeout_secs"], 1800);
}

#[tokio::test]
async fn opening_the_channel_is_not_activity_and_idle_expiry_ends_it() {
    let app = spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    app.apply_settings(&admin, |s| s.requesters.idle_timeout_secs = 900)
        .await;
    let requester = app.login("requester@demo.test").await;
    app.advance(600);
    let mut events = app.events(&requester).await;
    let view = events.next_event(SOON).await.unwrap().json();
    assert_eq!(view["last_activity_at"], "2026-01-05T09:00:00Z");
    app.advance(301);
    app.sweep().await;
    let ended = events.next_event(SOON).await.expect("ended by the sweeper");
    assert_eq!(ended.json()["reason"], "idle_timeout");
}

#[tokio::test]
async fn a_quiet_channel_sends_heartbeats() {
    let app = spawn_app_with(Options {
        live_heartbeat: Some(Duration::from_millis(200)),
        ..Options::default()
    })
    .await;
    let agent = app.login("agent2@demo.test").await;
    let mut events = app.events(&agent).await;
    assert_eq!(events.next_within(SOON).await.unwrap().event, "session");
    for _ in 0..3 {
        let e = events.next_within(SOON).await.expect("a heartbeat");
        assert_eq!(e.event, "comment");
    }
}

#[tokio::test]
async fn without_a_session_the_channel_is_a_401() {
    let app = spawn_app().await;
    let res = app.get_anonymous("/api/session/events").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["reason"], "missing");
}

#[tokio::test]
async fn shutting_down_closes_channels_and_readiness() {
    let app = spawn_app().await;
    let agent = app.login("agent1@demo.test").await;
    let mut events = app.events(&agent).await;
    assert_eq!(events.next_event(SOON).await.unwrap().event, "session");
    let ready = app.get_management("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);

    // What SIGTERM does first.
    app.state.begin_draining();
    let ready = app.get_management("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(events.closes_within(SOON).await, "the channel closes");
    // Requests in flight and new ones are still answered while draining.
    assert_eq!(
        app.get("/api/session", &agent).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_session_holds_sixteen_channels_and_the_seventeenth_is_a_429() {
    let app = spawn_app_with(Options {
        // A closed channel is noticed at its next write.
        live_heartbeat: Some(Duration::from_millis(100)),
        ..Options::default()
    })
    .await;
    let agent = app.login("agent1@demo.test").await;
    let mut open = Vec::new();
    for _ in 0..16 {
        let mut events = app.events(&agent).await;
        assert_eq!(events.next_event(SOON).await.unwrap().event, "session");
        open.push(events);
    }
    let open_one = || async {
        app.client
            .get(app.url("/api/session/events"))
            .header("Cookie", agent.cookie())
            .send()
            .await
            .unwrap()
    };
    let res = open_one().await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "too_many_channels");
    // Another session of the same person is not affected.
    let other = app.login("agent1@demo.test").await;
    let mut events = app.events(&other).await;
    assert_eq!(events.next_event(SOON).await.unwrap().event, "session");
    // Closing one (a tab goes away) lets a new one in.
    drop(open.pop());
    let mut reopened = None;
    crate::helpers::eventually(
        Duration::from_secs(5),
        Duration::from_millis(50),
        "a channel once one closed",
        async || {
            let res = open_one().await;
            if res.status() == StatusCode::OK {
                reopened = Some(res);
                return true;
            }
            assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
            false
        },
    )
    .await;
    assert!(reopened.is_some());
}
