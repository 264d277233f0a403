//! Behaviour that needs a PostgreSQL server whatever the suite's database:
//! readiness while the server is unreachable. A TCP proxy between Vigil and
//! PostgreSQL is cut and restored, as a network failure or a database
//! restart would.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{eventually, fresh_postgres_database, spawn_app_with, Options, Proxy};

/// How long the pool may take to notice the network, either way.
const SETTLE: Duration = Duration::from_secs(10);
const STEP: Duration = Duration::from_millis(200);

#[tokio::test]
async fn readiness_fails_while_postgres_is_unreachable_and_recovers_without_a_restart() {
    let direct = fresh_postgres_database().await;
    let proxy = Proxy::in_front_of(&direct).await;
    let app = spawn_app_with(Options {
        database_url: Some(proxy.url_for(&direct)),
        ..Options::default()
    })
    .await;
    let status = async |path: &str| app.get_anonymous(path).await.status();
    assert_eq!(status("/readyz").await, StatusCode::OK);

    proxy.cut();
    eventually(SETTLE, STEP, "database gone: not ready", async || {
        status("/readyz").await == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    assert_eq!(status("/healthz").await, StatusCode::OK);

    proxy.restore();
    eventually(SETTLE, STEP, "back without a restart", async || {
        status("/readyz").await == StatusCode::OK
    })
    .await;
}
