//! W1: a write-heavy load, to show what SQLite's `synchronous = FULL` (a
//! commit is on disk before it is answered) costs against `NORMAL` (in WAL
//! mode, the last commits may roll back on a power loss). Each operation
//! is one revocation as `DELETE /api/admin/sessions/{id}` commits it: the
//! session read, then a transaction of its own that ends it, writes its
//! audit row and webhook event, and commits. Run with one writer (a commit waits for
//! the one before) and with eight (as many as the pool holds), for a fixed
//! time each, on a fresh database each; PostgreSQL (its default
//! `synchronous_commit = on`) for reference when reachable. Prints a
//! Markdown table; `cargo xtask bench` appends it to bench/RESULTS.md.
//!
//! The server always runs FULL; NORMAL here is set by this bench on every
//! connection of the pool (and checked on each after the run).
//!
//! A revocation the database refuses for being busy (with eight writers on
//! a loaded machine, SQLite's "database is locked" once its 5 s busy
//! timeout has passed: the app answers 503) is counted, not timed: the
//! table's last column. Revocations, per second, p50 and p99 are the
//! committed ones'.
//!
//! Run: `cargo bench -p vigil-server --bench commits [-- SECONDS]` (release
//! build; 5 s per case by default). `VIGIL_BENCH_POSTGRES_URL` names a
//! server to create a scratch database on (default
//! postgres://postgres:postgres@127.0.0.1:5432/postgres).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Executor;
use time::macros::datetime;
use time::OffsetDateTime;
use vigil_policy::EndReason;
use vigil_server::metrics::Metrics;
use vigil_server::sessions::end::end_now;
use vigil_server::store::db::SQLITE_POOL_SIZE;
use vigil_server::store::sessions::{live_endings, Which};
use vigil_server::store::{accounts, to_ms, DatabaseUrl, Dialect, Store, StoreError};

mod common;

const NOW: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

/// Live sessions made for each case: more than a case can end.
const SESSIONS: usize = 60_000;

/// The SQLite pool's size: all of its connections.
const SQLITE_POOL: usize = SQLITE_POOL_SIZE as usize;

/// An account with one agent and `n` live sessions of theirs; the account.
async fn fill(store: &Store, n: usize) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let account = accounts::create_account(&mut tx, "bench", "Bench", NOW)
        .await
        .unwrap();
    let user = accounts::create_user(
        &mut tx,
        account,
        &accounts::NewUser {
            email: "a@bench.test",
            display_name: "A",
            role: vigil_policy::api::Role::Agent,
            password_hash: "not-a-hash",
            available: false,
            auto_assign: false,
        },
        NOW,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let now = to_ms(NOW);
    let persistent = if store.dialect() == Dialect::Sqlite {
        "0"
    } else {
        "FALSE"
    };
    let mut conn = store.pool().acquire().await.unwrap();
    for start in (0..n).step_by(1000) {
        let rows: Vec<String> = (start..(start + 1000).min(n))
            .map(|i| {
                format!(
                    "('{i:032x}', '{i:064x}', {account}, {user}, 'agents', {persistent}, {c}, {l}, {e}, NULL, NULL, NULL, NULL)",
                    c = now - 3_600_000,
                    l = now - 60_000,
                    e = now + 3_600_000,
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO sessions (id, token_hash, account_id, user_id, audience, persistent, created_at, \
             last_activity_at, expires_at, ended_at, end_reason, ip, user_agent) VALUES {}",
            rows.join(", ")
        );
        conn.execute(sql.as_str()).await.unwrap();
    }
    conn.execute("ANALYZE").await.unwrap();
    account
}

/// Sets `PRAGMA synchronous` on every connection of the SQLite pool
/// (holding them all at once, so each is a different one).
async fn set_synchronous(store: &Store, mode: &str) {
    let mut held = Vec::new();
    for _ in 0..SQLITE_POOL {
        held.push(store.pool().acquire().await.unwrap());
    }
    for conn in &mut held {
        conn.execute(format!("PRAGMA synchronous = {mode}").as_str())
            .await
            .unwrap();
    }
}

/// `PRAGMA synchronous` of every connection of the SQLite pool (1 NORMAL,
/// 2 FULL).
async fn synchronous(store: &Store) -> Vec<i64> {
    let mut held = Vec::new();
    for _ in 0..SQLITE_POOL {
        held.push(store.pool().acquire().await.unwrap());
    }
    let mut out = Vec::new();
    for conn in &mut held {
        let v: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        out.push(v);
    }
    out
}

/// What a store call gave: its value, or `None` when the database was too
/// busy to answer in time (`StoreError::Unavailable`, such as SQLite's
/// "database is locked" after its busy timeout), which the app answers
/// 503 and the bench counts as a refusal.
fn unless_refused<T>(result: Result<T, StoreError>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(StoreError::Unavailable(_)) => None,
        Err(e) => panic!("{e}"),
    }
}

/// One revocation as the route makes it: how long it took to commit, or
/// `None` when the database refused it (see [`unless_refused`]).
async fn revoke(store: &Store, metrics: &Metrics, account: i64, id: &str) -> Option<Duration> {
    let started = Instant::now();
    // Read, then ended in a transaction of its own.
    let targets: Vec<_> =
        unless_refused(live_endings(store.pool(), account, Which::Session(id)).await)?
            .into_iter()
            .map(|e| (e, EndReason::Revoked))
            .collect();
    let ended = unless_refused(end_now(store, metrics, &targets, "admin@bench.test", NOW).await)?;
    assert_eq!(ended.len(), 1, "{id} was live");
    Some(started.elapsed())
}

/// What a case measured.
struct Measured {
    /// Every committed revocation's time.
    times: Vec<Duration>,
    /// Revocations the database refused.
    refused: usize,
}

/// `writers` tasks revoke sessions one after another for `secs`.
async fn run(store: &Arc<Store>, account: i64, writers: usize, secs: u64) -> Measured {
    let next = Arc::new(AtomicUsize::new(0));
    let metrics = Arc::new(Metrics::default());
    let until = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (store, metrics, next) = (store.clone(), metrics.clone(), next.clone());
            tokio::spawn(async move {
                let mut measured = Measured {
                    times: Vec::new(),
                    refused: 0,
                };
                while Instant::now() < until {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= SESSIONS {
                        break;
                    }
                    match revoke(&store, &metrics, account, &format!("{i:032x}")).await {
                        Some(took) => measured.times.push(took),
                        None => measured.refused += 1,
                    }
                }
                measured
            })
        })
        .collect();
    let mut all = Measured {
        times: Vec::new(),
        refused: 0,
    };
    for t in tasks {
        let m = t.await.unwrap();
        all.times.extend(m.times);
        all.refused += m.refused;
    }
    all
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map_or(5, |s| s.parse().expect("SECONDS is a number"));
    let dir = tempfile::tempdir().unwrap();
    println!(
        "| database | commit | writers | revocations | per second | p50 | p99 | refused (503) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let mut case = 0;
    for writers in [1, SQLITE_POOL] {
        let mut targets: Vec<(&str, &str, String)> = ["FULL", "NORMAL"]
            .into_iter()
            .map(|mode| {
                case += 1;
                let file = dir.path().join(format!("commits{case}.db"));
                ("SQLite", mode, format!("sqlite://{}", file.display()))
            })
            .collect();
        case += 1;
        if let Some(pg) = common::postgres_db("vigil_bench_commits", case).await {
            targets.push(("PostgreSQL", "synchronous_commit on", pg));
        }
        for (name, mode, url) in targets {
            let store = Arc::new(
                Store::open(&DatabaseUrl::parse(&url).unwrap())
                    .await
                    .unwrap(),
            );
            let account = fill(&store, SESSIONS).await;
            if name == "SQLite" {
                set_synchronous(&store, mode).await;
            }
            let started = Instant::now();
            let Measured { mut times, refused } = run(&store, account, writers, secs).await;
            let took = started.elapsed();
            if name == "SQLite" {
                let want = if mode == "FULL" { 2 } else { 1 };
                let seen = synchronous(&store).await;
                assert!(
                    seen.iter().all(|v| *v == want),
                    "{mode}: every connection kept it: {seen:?}"
                );
            }
            times.sort_unstable();
            let at = |q: f64| {
                let i = ((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1));
                times
                    .get(i)
                    .map_or_else(|| "–".to_owned(), |d| format!("{:.2} ms", ms(*d)))
            };
            println!(
                "| {name} | {mode} | {writers} | {} | {:.0} | {} | {} | {refused} |",
                times.len(),
                times.len() as f64 / took.as_secs_f64(),
                at(0.5),
                at(0.99),
            );
            store.close().await;
        }
    }
}
