//! Behaviour that needs a PostgreSQL server whatever the suite's database:
//! readiness while the server is unreachable. A TCP proxy between Vigil and
//! PostgreSQL is cut and restored, as a network failure or a database
//! restart would.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{fresh_postgres_database, spawn_app_with, Options, Proxy};

#[tokio::test]
async fn readiness_fails_while_postgres_is_unreachable_and_recovers_without_a_restart() {
    let direct = fresh_postgres_database().await;
    let (head, rest) = direct.split_once('@').unwrap();
    let (host, db) = rest.split_once('/').unwrap();
    let proxy = Proxy::start(host.to_owned()).await;
    let via_proxy = format!("{head}@127.0.0.1:{}/{db}", proxy.port);
    let app = spawn_app_with(Options {
        database_url: Some(via_proxy),
        ..Options::default()
    })
    .await;
    let ready = || async {
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ready().await, StatusCode::OK);

    proxy.cut();
    let mut status = ready().await;
    for _ in 0..20 {
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = ready().await;
    }
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "database gone: not ready"
    );
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    proxy.restore();
    let mut status = ready().await;
    for _ in 0..50 {
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = ready().await;
    }
    assert_eq!(status, StatusCode::OK, "back without a restart");
}
