//! Sign-in abuse, tried as an attacker would (both databases): bursts,
//! guessing spread over many addresses, spraying one address over many
//! people, an attack aimed at keeping a person out, which their own
//! browser survives, and junk sign-ins that cannot starve it of hashing.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{eventually, named_cookie, spawn_app, spawn_behind_proxy, TestApp, PASSWORD};

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

/// A wrong password for `email` from `client`.
async fn wrong_from(app: &TestApp, client: &str, email: &str) -> reqwest::Response {
    app.login_from(client, email, "wrong", None).await
}

#[tokio::test]
async fn one_address_spraying_many_people_gets_fifty_checks_then_429_before_any_hash() {
    let app = spawn_behind_proxy().await;
    // Sign-ins for accounts that do not exist are answered at once and
    // count for nothing.
    for i in 0..20 {
        let res = app
            .client
            .post(app.url("/api/auth/login"))
            .header("X-Vigil-Request", "1")
            .header("X-Forwarded-For", "2001:db8:5:6::1")
            .json(&serde_json::json!({"account": format!("nosuch{i}"), "email": "a@b.test", "password": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "unknown account {i}"
        );
    }
    // Sixty people at once (nobody, mostly) from addresses of one /64.
    let attempts = (0..60).map(|i| {
        let app = &app;
        async move {
            let email = match i {
                0 => "agent2@demo.test".to_owned(),
                _ => format!("nobody{i}@demo.test"),
            };
            wrong_from(app, &format!("2001:db8:5:6::{:x}", i + 1), &email).await
        }
    });
    let hashed = app.state.hasher.rejected();
    let answers = futures_util::future::join_all(attempts).await;
    assert_eq!(count(&answers, StatusCode::UNAUTHORIZED), 50, "checked");
    assert_eq!(
        count(&answers, StatusCode::TOO_MANY_REQUESTS),
        10,
        "refused"
    );
    assert_eq!(
        app.state.hasher.rejected(),
        hashed,
        "none waited past the queue"
    );
    let refused = answers
        .iter()
        .find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // Even the right password of somebody else, from the same /64.
    let res = app
        .login_from("2001:db8:5:6:ffff::9", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // The next /64 and another IPv4 address are not affected.
    let res = app
        .login_from("2001:db8:5:7::1", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Sixteen minutes later the budget is still spent (any 15 minutes
    // hold at most fifty checks); half an hour later it is not.
    app.advance(16 * 60);
    let res = app
        .login_from("2001:db8:5:6::1", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    app.advance(15 * 60);
    let res = app
        .login_from("2001:db8:5:6::1", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// 200 tasks send junk sign-ins back to back (each needing a hash where it
/// names a real account), enough to keep the open lane's slots and queue
/// full: junk is being refused with 503 the whole time. A browser with the
/// person's device cookie is admitted to hashing all the same (its own
/// lane) and signs in, twice. What is asserted holds however loaded the
/// machine is: the known browser's answers are 200 while junk was being
/// refused for want of room, before and during each of them (the
/// hasher's count of refusals goes up across each). How long it took is
/// printed, not asserted (about a second on a quiet machine in a debug
/// build; the bench measures it on a release build).
#[tokio::test]
async fn a_known_browser_is_admitted_to_hashing_while_two_hundred_tasks_fill_the_queue_with_junk() {
    let app = spawn_behind_proxy().await;
    let res = app
        .login_from("198.51.100.20", "agent1@demo.test", PASSWORD, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let device = named_cookie(&res, "__Host-vigil-device").expect("a device cookie");

    // 200 tasks, each from an address of its own, send junk back to back:
    // unknown accounts, unknown people of the account (a hash each), and
    // wrong passwords for a real person.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks: Vec<_> = (0..200u32)
        .map(|t| {
            let client = app.client.clone();
            let url = app.url("/api/auth/login");
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let (account, email) = match (t + n) % 3 {
                        0 => (format!("junk{t}-{n}"), "x@junk.test".to_owned()),
                        1 => ("demo".to_owned(), format!("junk{t}-{n}@demo.test")),
                        _ => ("demo".to_owned(), "agent2@demo.test".to_owned()),
                    };
                    let res = client
                        .post(&url)
                        .header("X-Vigil-Request", "1")
                        .header("X-Forwarded-For", format!("10.{}.{}.{}", t / 256, t % 256, n % 200))
                        .json(&serde_json::json!({"account": account, "email": email, "password": "junk"}))
                        .send()
                        .await
                        .unwrap();
                    *statuses.entry(res.status().as_u16()).or_default() += 1;
                }
                statuses
            })
        })
        .collect();
    // Wait until the open lane is full: junk refused for want of room. No
    // bound that load could break: a loaded machine only takes longer.
    let refused = || app.state.hasher.rejected();
    eventually(
        std::time::Duration::from_secs(600),
        std::time::Duration::from_millis(100),
        "junk to fill the queue",
        async || refused() > 0,
    )
    .await;
    let mut known = Vec::new();
    for _ in 0..2 {
        let before = refused();
        let started = std::time::Instant::now();
        let res = app
            .login_from("192.0.2.44", "agent1@demo.test", PASSWORD, Some(&device))
            .await;
        known.push((res.status(), started.elapsed(), refused() - before));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    for task in tasks {
        for (status, n) in task.await.unwrap() {
            *statuses.entry(status).or_default() += n;
        }
    }
    println!("known browser (status, time, junk refused meanwhile): {known:?}; junk answers by status: {statuses:?}");
    for (i, (status, _, refused_meanwhile)) in known.iter().enumerate() {
        assert_eq!(
            *status,
            StatusCode::OK,
            "sign-in {i}: the known browser is admitted"
        );
        assert!(
            *refused_meanwhile > 0,
            "sign-in {i}: junk was being refused with 503 while it was admitted: {known:?}"
        );
    }
    assert!(
        statuses.keys().all(|s| [401, 429, 503].contains(s)),
        "junk gets 401, 429 or 503: {statuses:?}"
    );
    assert!(statuses.get(&503).is_some_and(|n| *n > 0), "{statuses:?}");
}

#[tokio::test]
async fn sign_ins_for_unknown_accounts_are_answered_without_hashing() {
    // One hash slot for anybody and no queue: fifty sign-ins at once that
    // each needed a hash would mostly be 503.
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        hash_queue: Some(0),
        ..crate::helpers::Options::default()
    })
    .await;
    let attempts = (0..50).map(|i| {
        let app = &app;
        async move {
            app.post_login(serde_json::json!({"account": format!("nosuch{i}"), "email": "agent1@demo.test", "password": PASSWORD}))
                .await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    assert_eq!(count(&answers, StatusCode::UNAUTHORIZED), 50);
    let body: Value = answers.into_iter().next().unwrap().json().await.unwrap();
    assert_eq!(body["error"], "invalid_credentials", "the usual answer");
    assert_eq!(app.state.hasher.rejected(), 0);
}
