//! P5: how long one sweeper pass takes to end the expired sessions among
//! many live ones, on SQLite and (when reachable) PostgreSQL. Prints a
//! Markdown table; `cargo xtask bench` appends it to bench/RESULTS.md.
//!
//! Run: `cargo bench -p vigil-server --bench sweep` (release build).
//! `VIGIL_BENCH_POSTGRES_URL` names a server to create a scratch database
//! on (default postgres://postgres:postgres@127.0.0.1:5432/postgres).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use sqlx::Executor;
use time::macros::datetime;
use time::OffsetDateTime;
use vigil_server::clock::ManualClock;
use vigil_server::config::Config;
use vigil_server::state::AppState;
use vigil_server::store::{accounts, to_ms, Dialect};
use vigil_server::sweeper::sweep_once;

mod common;

const NOW: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

async fn state(url: &str) -> AppState {
    let config = Config::from_args(["--database-url", url]).unwrap();
    AppState::build(config, Arc::new(ManualClock::new(NOW)))
        .await
        .unwrap()
}

/// An account with one requester, and `live + expired` sessions of theirs:
/// `expired` of them idle since 9 hours (past the default 8 h), the rest
/// active a minute ago.
async fn fill(state: &AppState, live: usize, expired: usize) {
    let mut tx = state.store.begin().await.unwrap();
    let account = accounts::create_account(&mut tx, "bench", "Bench", NOW)
        .await
        .unwrap();
    let user = accounts::create_user(
        &mut tx,
        account,
        &accounts::NewUser {
            email: "r@bench.test",
            display_name: "R",
            role: vigil_policy::api::Role::Requester,
            password_hash: "not-a-hash",
            available: false,
            auto_assign: false,
        },
        NOW,
    )
    .await
    .unwrap();
    let now = to_ms(NOW);
    let mut rows = Vec::new();
    let mut pending = Vec::new();
    for i in 0..live + expired {
        let (last, created) = if i < expired {
            (now - 9 * 3_600_000, now - 10 * 3_600_000)
        } else {
            (now - 60_000, now - 3_600_000)
        };
        let expires = last + 8 * 3_600_000;
        rows.push(format!(
            "('{i:032x}', '{i:064x}', {account}, {user}, 'requesters', {f}, {created}, {last}, {expires}, NULL, NULL, NULL, NULL)",
            f = if state.store.dialect() == Dialect::Sqlite { "0" } else { "FALSE" },
        ));
        if rows.len() == 1000 || i + 1 == live + expired {
            let sql = format!(
                "INSERT INTO sessions (id, token_hash, account_id, user_id, audience, persistent, created_at, \
                 last_activity_at, expires_at, ended_at, end_reason, ip, user_agent) VALUES {}",
                rows.join(", ")
            );
            pending.push(sql);
            rows.clear();
        }
    }
    tx.commit().await.unwrap();
    // Rows inserted behind the store's back: written with its pool.
    let mut conn = state.store.pool().acquire().await.unwrap();
    for sql in std::mem::take(&mut pending) {
        conn.execute(sql.as_str()).await.unwrap();
    }
    // As autovacuum would after a change this size: planner statistics.
    conn.execute("ANALYZE sessions").await.unwrap();
}

#[tokio::main]
async fn main() {
    let cases = [(100_000, 10_000), (20_000, 10_000), (100_000, 1_000)];
    println!("| database | live | expired | ended | sweep time |");
    println!("|---|---:|---:|---:|---:|");
    let dir = tempfile::tempdir().unwrap();
    for (n, (live, expired)) in cases.iter().enumerate() {
        let mut urls = vec![(
            "SQLite",
            format!(
                "sqlite://{}",
                dir.path().join(format!("sweep{n}.db")).display()
            ),
        )];
        if let Some(pg) = common::postgres_db("vigil_bench_sweep", n).await {
            urls.push(("PostgreSQL", pg));
        }
        for (name, url) in urls {
            let state = state(&url).await;
            fill(&state, *live, *expired).await;
            let started = Instant::now();
            let report = sweep_once(&state.sessions).await.unwrap();
            let took = started.elapsed();
            assert_eq!(
                report.ended as usize, *expired,
                "{name}: every expired session ended"
            );
            println!(
                "| {name} | {live} | {expired} | {} | {:.0} ms |",
                report.ended,
                took.as_secs_f64() * 1000.0
            );
            state.store.close().await;
        }
    }
}
