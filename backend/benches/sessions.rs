//! Load set-up for `cargo xtask bench`: creates N live sessions for the
//! people of the `demo` account (run `vigil seed-demo` first) by inserting
//! rows, as many consoles signing in would leave them, and writes one line
//! per session to a file: `TOKEN SESSION_ID`. Signing in 50,000 times would
//! only measure argon2.
//!
//! Run: `cargo bench -p vigil-server --bench sessions -- DATABASE_URL N FILE`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::Arc;

use sqlx::Executor;
use vigil_policy::SessionTimes;
use vigil_server::clock::{Clock, SystemClock};
use vigil_server::config::Config;
use vigil_server::random::random_hex;
use vigil_server::sessions::token::SessionToken;
use vigil_server::state::AppState;
use vigil_server::store::{accounts, to_ms, Dialect};

const PEOPLE: [&str; 4] = [
    "agent1@demo.test",
    "agent2@demo.test",
    "admin@demo.test",
    "requester@demo.test",
];

#[tokio::main]
async fn main() {
    // `cargo bench` adds `--bench`; the arguments that matter come after.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [url, n, file] = args.as_slice() else {
        eprintln!("usage: sessions DATABASE_URL N FILE");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N is a number");
    let config = Config::from_args(["--database-url", url]).unwrap();
    let state = AppState::build(config, Arc::new(SystemClock))
        .await
        .unwrap();
    let account = accounts::find_account(&state.store, "demo")
        .await
        .unwrap()
        .expect("the demo account (run vigil seed-demo)");
    let settings = vigil_server::store::settings::load(&state.store, account.id)
        .await
        .unwrap()
        .settings;
    let mut people = Vec::new();
    for email in PEOPLE {
        let p = accounts::find_user(&state.store, account.id, email)
            .await
            .unwrap()
            .expect("a demo person");
        people.push(p.view);
    }
    let now = SystemClock.now();
    let mut out = std::io::BufWriter::new(std::fs::File::create(file).unwrap());
    let persistent = if state.store.dialect() == Dialect::Sqlite {
        "0"
    } else {
        "FALSE"
    };
    let mut conn = state.store.pool().acquire().await.unwrap();
    conn.execute("BEGIN").await.unwrap();
    let mut rows = Vec::new();
    for i in 0..n {
        let person = &people[i % people.len()];
        let audience = person.role.audience();
        let times = SessionTimes {
            created_at: now,
            last_activity_at: now,
            persistent: false,
        };
        let ends = vigil_policy::evaluate(settings.policy(audience), times, now).ends_at;
        let token = SessionToken::generate();
        let id = random_hex(16);
        writeln!(out, "{} {id}", token.expose()).unwrap();
        rows.push(format!(
            "('{id}', '{}', {}, {}, '{}', {persistent}, {t}, {t}, {}, NULL, NULL, '127.0.0.1', 'bench')",
            token.hash(),
            account.id,
            person.id,
            audience.as_str(),
            to_ms(ends),
            t = to_ms(now),
        ));
        if rows.len() == 1000 || i + 1 == n {
            let sql = format!(
                "INSERT INTO sessions (id, token_hash, account_id, user_id, audience, persistent, created_at, \
                 last_activity_at, expires_at, ended_at, end_reason, ip, user_agent) VALUES {}",
                rows.join(", ")
            );
            conn.execute(sql.as_str()).await.unwrap();
            rows.clear();
        }
    }
    conn.execute("COMMIT").await.unwrap();
    // As autovacuum would after a change this size: planner statistics.
    conn.execute("ANALYZE sessions").await.unwrap();
    out.flush().unwrap();
    println!("{n} sessions written to {file}");
}
