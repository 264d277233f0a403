//! Sign-in abuse, tried as an attacker would (both databases): bursts,
//! guessing spread over many addresses, and an attack aimed at keeping a
//! person out, which their own browser survives.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{named_cookie, spawn_app, spawn_behind_proxy, TestApp, PASSWORD};

fn count(answers: &[reqwest::Response], status: StatusCode) -> usize {
    answers.iter().filter(|r| r.status() == status).count()
}

#[tokio::test]
async fn thirty_wrong_passwords_at_once_from_one_address_get_five_checks() {
    let app = spawn_app().await;
    let attempts = (0..30).map(|_| {
        let app = &app;
        async move {
            app.post_login(serde_json::json!({"account": "demo", "email": "agent1@demo.test", "password": "wrong"}))
                .await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    assert_eq!(count(&answers, StatusCode::UNAUTHORIZED), 5, "checked");
    assert_eq!(
        count(&answers, StatusCode::TOO_MANY_REQUESTS),
        25,
        "refused unchecked"
    );
    for r in answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
    {
        assert!(r.headers().contains_key("retry-after"));
    }
    // The right password now waits too.
    let res = app
        .post_login(serde_json::json!({"account": "demo", "email": "agent1@demo.test", "password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Three wrong passwords from each of forty addresses: 120 attempts.
async fn spread_attack(app: &TestApp) -> Vec<reqwest::Response> {
    let mut answers = Vec::new();
    for address in 0..40 {
        for _ in 0..3 {
            answers.push(
                app.login_from(
                    &format!("203.0.113.{address}"),
                    "agent1@demo.test",
                    "wrong",
                    None,
                )
                .await,
            );
        }
    }
    answers
}

#[tokio::test]
async fn guessing_spread_over_forty_addresses_gets_a_hundred_checks_an_hour() {
    let app = spawn_behind_proxy().await;
    let answers = spread_attack(&app).await;
    assert_eq!(
        count(&answers, StatusCode::UNAUTHORIZED),
        100,
        "the person's budget"
    );
    assert_eq!(count(&answers, StatusCode::TOO_MANY_REQUESTS), 20);
    let refused = answers
        .iter()
        .find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    // From a new address, without a device cookie: refused too, even with
    // the right password.
    let res = app
        .login_from("198.51.100.1", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another person of the account is not affected.
    let res = app
        .login_from("198.51.100.1", "agent2@demo.test", PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // An hour later the budget has room again.
    app.advance(2 * 3600);
    let res = app
        .login_from("198.51.100.1", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_known_browser_signs_in_while_its_person_is_under_attack() {
    let app = spawn_behind_proxy().await;
    // Yesterday the agent signed in from their own browser.
    let res = app
        .login_from("198.51.100.20", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let device = named_cookie(&res, "__Host-vigil-device").expect("a device cookie");
    let set: Vec<&str> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|c| c.starts_with("__Host-vigil-device="))
        .collect();
    for flag in [
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=15552000",
    ] {
        assert!(
            set[0].split("; ").any(|p| p == flag),
            "{flag} in {}",
            set[0]
        );
    }
    // Today somebody spends the person's budget from everywhere...
    let answers = spread_attack(&app).await;
    assert!(count(&answers, StatusCode::TOO_MANY_REQUESTS) > 0);
    // ...and from the attacker's own browsers too: a device cookie signed
    // for someone else, or forged, counts for nothing.
    let other = app
        .login_from("198.51.100.30", "agent2@demo.test", PASSWORD, None)
        .await;
    let agent2_device = named_cookie(&other, "__Host-vigil-device").unwrap();
    for fake in [agent2_device.as_str(), "v1.1.2.00.0.00"] {
        let res = app
            .login_from("198.51.100.31", "agent1@demo.test", PASSWORD, Some(fake))
            .await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{fake}");
    }
    // The agent's own browser, from wherever they are today, signs in.
    let res = app
        .login_from("192.0.2.44", "agent1@demo.test", PASSWORD, Some(&device))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["user"]["email"], "agent1@demo.test");
    // A known browser has a small budget of its own: ten checks.
    let mut checked = 0;
    for _ in 0..15 {
        let res = app
            .login_from("192.0.2.44", "agent1@demo.test", "wrong", Some(&device))
            .await;
        if res.status() == StatusCode::UNAUTHORIZED {
            checked += 1;
        }
    }
    assert_eq!(checked, 10);
}
