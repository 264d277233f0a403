//! The connection: one pool through sqlx's `Any` driver so the same queries
//! run on SQLite and PostgreSQL, the migration sets, and instant conversions.
//!
//! Queries use `$1`-style parameters, which both engines accept, and store
//! instants as BIGINT milliseconds since the Unix epoch.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row};
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Which SQL engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// A checked database URL: the dialect it selects, and the URL itself,
/// which may hold a password, kept in a secret that never prints (Debug and
/// Display show it redacted).
#[derive(Clone)]
pub struct DatabaseUrl {
    url: SecretString,
    dialect: Dialect,
}

impl DatabaseUrl {
    /// Checks a URL and picks its dialect. SQLite files are created when
    /// missing. The error never repeats a password.
    pub fn parse(url: &str) -> Result<DatabaseUrl, String> {
        let url = url.trim();
        let (url, dialect) = if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if rest.is_empty() || rest.starts_with('?') {
                return Err(format!("{url:?} names no database file"));
            }
            let url = if rest.contains("mode=") {
                format!("sqlite://{rest}")
            } else if rest.contains('?') {
                format!("sqlite://{rest}&mode=rwc")
            } else {
                format!("sqlite://{rest}?mode=rwc")
            };
            (url, Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (url.to_owned(), Dialect::Postgres)
        } else {
            return Err(format!(
                "{:?} is neither sqlite://PATH nor postgres://…",
                redact_url(url)
            ));
        };
        Ok(DatabaseUrl {
            url: url.into(),
            dialect,
        })
    }

    /// The SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL itself, for connecting only.
    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(self.expose()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The URL with any password replaced, for messages and logs: the one in
/// `user:password@` and any `password=` (or `sslpassword=`) in the query.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &base[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..s + 3], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().ends_with("password") => {
                    format!("{key}=***")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// Connections the pool holds at most on SQLite.
pub const SQLITE_POOL_SIZE: u32 = 8;

/// Connections the pool holds at most on PostgreSQL.
pub const POSTGRES_POOL_SIZE: u32 = 16;

/// How long a write waits for its turn (SQLite's write gate, below): as
/// long as SQLite's own busy timeout and the pool's acquire timeout, after
/// which the database counts as unavailable (503 with Retry-After).
pub const WRITE_WAIT: Duration = Duration::from_secs(5);

/// The pool and its dialect.
#[derive(Debug, Clone)]
pub(crate) struct Db {
    /// Connection pool.
    pub(crate) pool: AnyPool,
    /// SQL dialect.
    pub(crate) dialect: Dialect,
    /// SQLite's write gate: one write transaction of this process at a
    /// time, the rest waiting their turn in order. SQLite takes one writer
    /// anyway; without the gate the others poll its lock (its busy handler
    /// sleeps up to 100 ms between tries), so under concurrent writes the
    /// unlucky waited near a second and some gave up at the 5 s busy
    /// timeout (W1 in docs/benchmarks.md: eight writers, p99 0.94 s and
    /// two refusals in 5 s). Other processes on the file (the `vigil`
    /// commands) still meet the busy timeout. None on PostgreSQL, whose
    /// writers lock rows, not the database.
    write_gate: Option<Arc<Semaphore>>,
}

/// A write transaction's turn at SQLite's write gate, held until the
/// transaction ends (nothing on PostgreSQL).
pub(crate) type WriteTurn = Option<OwnedSemaphorePermit>;

impl Db {
    /// Connects (lazily: the pool opens connections on demand, so a server
    /// can start while the database is down and report it on /readyz).
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let dialect = url.dialect();
        let options = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Sqlite => SQLITE_POOL_SIZE,
                Dialect::Postgres => POSTGRES_POOL_SIZE,
            })
            .acquire_timeout(Duration::from_secs(5))
            // A connection that comes back with a transaction still counted
            // open (its start cut off between BEGIN and reading the answer,
            // or a rollback that did not take) is closed, not reused: on
            // SQLite it would hold the write lock for good and every later
            // write would fail. The pool's own check on release has run by
            // now, so a transaction merely dropped has been rolled back.
            .before_acquire(|conn, _meta| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL lets readers run beside the one writer. FULL
                        // sync makes each commit durable across a power loss
                        // too: with NORMAL the last revocations (and their
                        // audit rows) could roll back, and a revoked token
                        // work again.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        // No memory map: each connection mapped the file
                        // for itself, and every mapped page counts in the
                        // server's resident memory once per connection (at
                        // 500,000 sessions, a 218 MB file, eight maps made
                        // 1.7 GB of RSS, 1.65 GB of it the mapped file;
                        // without them 0.1 GB). Reads go through SQLite's
                        // own page cache and the kernel's.
                        conn.execute("PRAGMA mmap_size = 0").await?;
                    }
                    Ok(())
                })
            });
        let pool = options
            .connect(url.expose())
            .await
            .with_context(|| format!("cannot open the database {url}"))?;
        let write_gate = (dialect == Dialect::Sqlite).then(|| Arc::new(Semaphore::new(1)));
        Ok(Db {
            pool,
            dialect,
            write_gate,
        })
    }

    /// Waits for this process's turn to write (SQLite; at once on
    /// PostgreSQL), at most [`WRITE_WAIT`].
    pub async fn write_turn(&self) -> Result<WriteTurn, sqlx::Error> {
        let Some(gate) = &self.write_gate else {
            return Ok(None);
        };
        match tokio::time::timeout(WRITE_WAIT, gate.clone().acquire_owned()).await {
            Ok(Ok(turn)) => Ok(Some(turn)),
            // Timed out, or (never: the gate is not closed) closed.
            Ok(Err(_)) | Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    /// Applies the dialect's migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("applying database migrations")?;
        Ok(())
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// An instant as stored: milliseconds since the epoch.
pub fn to_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A stored instant back as a time.
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Reads a BIGINT millisecond column as a time.
pub fn get_time(row: &AnyRow, col: &str) -> Result<OffsetDateTime, sqlx::Error> {
    Ok(from_ms(row.try_get::<i64, _>(col)?))
}

/// Reads a boolean column. SQLite stores booleans as integers, so both
/// forms are accepted: the value's own type decides (trying one and then the
/// other built an error, with its message, for every SQLite boolean read).
pub fn get_bool(row: &AnyRow, col: &str) -> Result<bool, sqlx::Error> {
    use sqlx::ValueRef as _;
    let boolean = row.try_get_raw(col)?.type_info().kind() == sqlx::any::AnyTypeInfoKind::Bool;
    if boolean {
        row.try_get::<bool, _>(col)
    } else {
        Ok(row.try_get::<i64, _>(col)? != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_missing_files() {
        let url = DatabaseUrl::parse("sqlite://vigil.db").unwrap();
        assert_eq!(
            (url.expose(), url.dialect()),
            ("sqlite://vigil.db?mode=rwc", Dialect::Sqlite)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:x.db?mode=ro").unwrap().expose(),
            "sqlite://x.db?mode=ro"
        );
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/d").unwrap().dialect(),
            Dialect::Postgres
        );
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://vigil:s3cret@db/vigil"),
            "postgres://vigil:***@db/vigil"
        );
        assert_eq!(
            redact_url("postgres://db/vigil?user=vigil&password=s3cret&sslmode=require"),
            "postgres://db/vigil?user=vigil&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://u:p@db/v?sslpassword=k"),
            "postgres://u:***@db/v?sslpassword=***"
        );
        let e = DatabaseUrl::parse("mysql://root:hunter2@h/d?password=x2").unwrap_err();
        assert!(!e.contains("hunter2") && !e.contains("x2"), "{e}");
        let url = DatabaseUrl::parse("postgres://a:s3cret@h/d?password=s3cret").unwrap();
        for shown in [format!("{url}"), format!("{url:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
    }

    #[test]
    fn millisecond_round_trip() {
        let t = from_ms(1_767_258_000_123);
        assert_eq!(to_ms(t), 1_767_258_000_123);
    }
}
