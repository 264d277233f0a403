//! What the benches share (a module, not a bench: cargo takes only the
//! files directly in `benches/` as benches).

use sqlx::{Connection, Executor};

/// A fresh, empty PostgreSQL database named `{prefix}_{n}` (dropped first
/// if left over), on the server `VIGIL_BENCH_POSTGRES_URL` names (default
/// postgres://postgres:postgres@127.0.0.1:5432/postgres): its URL, or
/// `None` when the server cannot be reached.
pub async fn postgres_db(prefix: &str, n: usize) -> Option<String> {
    let admin = std::env::var("VIGIL_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&admin).await.ok()?;
    let name = format!("{prefix}_{n}");
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .ok()?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .ok()?;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}
