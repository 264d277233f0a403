//! The store: every SQL statement Vigil runs, one module per table, returning
//! domain types and one error type ([`StoreError`]).
//!
//! - [`db`]: the pool, dialects, migrations and instant conversions;
//! - [`accounts`]: accounts and the people in them;
//! - [`settings`]: each account's versioned security settings;
//! - [`sessions`]: session rows (sign-in, the check's load, activity, ending);
//! - [`conversations`]: the desk's and the portal's conversations;
//! - [`audit`]: the audit log;
//! - [`throttle`]: sign-in throttle counters.
//! - [`tokens`]: API tokens.
//!
//! Writes that other replicas must hear about run in a [`Tx`]: the change
//! registers an [`Invalidation`], and [`Tx::commit`] publishes it — with
//! `pg_notify` inside the transaction on PostgreSQL, so other replicas hear
//! of it exactly when it commits, and to this process's [`Subscriber`] right
//! after the commit.

pub mod accounts;
pub mod audit;
pub mod conversations;
pub mod db;
pub mod keys;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod throttle;
pub mod tokens;
pub mod webhooks;

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};

pub use db::{from_ms, to_ms, DatabaseUrl, Dialect};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (or the pool is exhausted).
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A stored value cannot be read back (a bug or a hand-edited row).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

/// A database too busy to do the work now, though it may in a moment:
/// SQLite's "database is locked" after its busy timeout (SQLITE_BUSY and
/// SQLITE_LOCKED, with their extended codes), PostgreSQL's "too many
/// connections" and a statement cancelled by its timeout.
fn busy(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    if code.len() == 5 {
        // A PostgreSQL SQLSTATE: always five characters.
        return matches!(code, "53300" | "57014");
    }
    // A SQLite result code, extended: the primary code is its low byte.
    code.parse::<u32>()
        .is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6))
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(ref db) if busy(db.code().as_deref()) => {
                StoreError::Unavailable(e)
            }
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
                StoreError::Corrupt(e.to_string())
            }
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    /// Whether a unique constraint refused the statement (two requests
    /// stored the same key at once; the second one lost).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
    }

    /// Whether trying the whole transaction again may succeed: PostgreSQL
    /// aborted it to break a deadlock or a serialisation conflict.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("40P01" | "40001"))
            }
            _ => false,
        }
    }
}

/// A store result.
pub type Result<T> = std::result::Result<T, StoreError>;

/// What a committed change makes stale in every replica's memory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Invalidation {
    /// A session ended (by id).
    Session(String),
    /// An account's settings changed.
    Account(i64),
    /// A person changed (role, permissions).
    Person(i64),
}

/// The channel replicas notify each other on (PostgreSQL).
pub const CHANNEL: &str = "vigil_invalidate";

/// Longest notification payload sent; PostgreSQL's limit is 8000 bytes.
const PAYLOAD_MAX: usize = 7000;

impl Invalidation {
    fn encode(&self) -> String {
        match self {
            Invalidation::Session(id) => format!("s{id}"),
            Invalidation::Account(id) => format!("a{id}"),
            Invalidation::Person(id) => format!("p{id}"),
        }
    }

    fn decode(word: &str) -> Option<Invalidation> {
        let (kind, rest) = word.split_at_checked(1)?;
        match kind {
            "s" if !rest.is_empty() => Some(Invalidation::Session(rest.to_owned())),
            "a" => rest.parse().ok().map(Invalidation::Account),
            "p" => rest.parse().ok().map(Invalidation::Person),
            _ => None,
        }
    }
}

/// A notification on [`CHANNEL`], decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A replica's heartbeat: `replica` proves its listener hears the channel.
    Ping {
        /// The sending replica.
        replica: String,
    },
    /// Changes committed by `replica`.
    Changes {
        /// The sending replica.
        replica: String,
        /// What they make stale.
        what: Vec<Invalidation>,
    },
}

impl Notice {
    /// Payloads for `what`, each within PostgreSQL's limit: the replica's
    /// id, then one word per invalidation.
    pub fn encode_changes(replica: &str, what: &[Invalidation]) -> Vec<String> {
        let mut out = Vec::new();
        let mut current = replica.to_owned();
        for w in what {
            let word = w.encode();
            if current.len() + 1 + word.len() > PAYLOAD_MAX && current.len() > replica.len() {
                out.push(std::mem::replace(&mut current, replica.to_owned()));
            }
            current.push(' ');
            current.push_str(&word);
        }
        if current.len() > replica.len() {
            out.push(current);
        }
        out
    }

    /// The ping payload of `replica`.
    pub fn encode_ping(replica: &str) -> String {
        format!("{replica} ping")
    }

    /// Decodes a payload; `None` for anything not written by Vigil.
    pub fn decode(payload: &str) -> Option<Notice> {
        let mut words = payload.split(' ');
        let replica = words.next().filter(|r| !r.is_empty())?.to_owned();
        let rest: Vec<&str> = words.collect();
        if rest == ["ping"] {
            return Some(Notice::Ping { replica });
        }
        let what = rest
            .into_iter()
            .map(Invalidation::decode)
            .collect::<Option<Vec<_>>>()?;
        Some(Notice::Changes { replica, what })
    }
}

/// Hears about committed changes in this process.
pub trait Subscriber: Send + Sync + std::fmt::Debug {
    /// Called right after a transaction that changed `what` committed.
    fn invalidated(&self, what: &[Invalidation]);
}

/// The pool with its dialect, and who hears about committed changes.
#[derive(Debug, Clone)]
pub struct Store {
    db: db::Db,
    /// This process's id on the notification channel.
    replica: Arc<str>,
    subscriber: Option<Arc<dyn Subscriber>>,
    /// Woken after a commit that wrote webhook events (the dispatcher waits
    /// on it).
    outbox: Arc<tokio::sync::Notify>,
}

impl Store {
    /// Connects (lazily: a server can start while the database is down
    /// and say so on /readyz) and applies the migrations.
    pub async fn open(url: &DatabaseUrl) -> anyhow::Result<Store> {
        let store = Store {
            db: db::Db::connect(url).await?,
            replica: crate::random::random_hex(8).into(),
            subscriber: None,
            outbox: Arc::default(),
        };
        store.db.migrate().await?;
        Ok(store)
    }

    /// The same store over a new pool, opened in the calling runtime.
    /// actix-web's workers run runtimes of their own, and PostgreSQL
    /// connections they opened stop working when the workers stop: what
    /// runs after the server (the last activity flush) needs this.
    pub async fn reconnected(&self, url: &DatabaseUrl) -> anyhow::Result<Store> {
        Ok(Store {
            db: db::Db::connect(url).await?,
            ..self.clone()
        })
    }

    /// The same store, telling `subscriber` about committed changes.
    pub fn with_subscriber(&self, subscriber: Arc<dyn Subscriber>) -> Store {
        Store {
            subscriber: Some(subscriber),
            ..self.clone()
        }
    }

    /// The SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.db.dialect
    }

    /// What the webhook dispatcher waits on: notified after each commit
    /// that wrote events.
    pub fn outbox_written(&self) -> &tokio::sync::Notify {
        &self.outbox
    }

    /// The pool (for reads outside a transaction, and for tests).
    pub fn pool(&self) -> &AnyPool {
        &self.db.pool
    }

    /// This process's id on the notification channel.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.db.ping().await
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.db.pool.close().await;
    }

    /// This replica's heartbeat sender (PostgreSQL only).
    pub fn pinger(&self, url: DatabaseUrl) -> Pinger {
        Pinger {
            url,
            replica: self.replica.clone(),
            conn: None,
        }
    }

    /// A connection for one statement that writes outside a transaction,
    /// at this process's turn to write, like [`Store::begin`].
    pub async fn writer(&self) -> Result<Writer> {
        let turn = self.db.write_turn().await?;
        Ok(Writer {
            conn: self.db.pool.acquire().await?,
            _turn: turn,
        })
    }

    /// Begins a transaction that will write. On SQLite it waits for this
    /// process's turn at the write gate (one writer at a time, in order),
    /// then takes the write lock up front (`BEGIN IMMEDIATE`): a
    /// transaction that reads first and writes later would otherwise fail
    /// at once, instead of waiting its turn, when another connection wrote
    /// in between.
    pub async fn begin(&self) -> Result<Tx> {
        let (inner, turn) = match self.db.dialect {
            Dialect::Sqlite => {
                // Started in a task of its own, which finishes even when
                // the caller is cut off (a timeout, a server stopping).
                // Cut off between BEGIN and its answer, the connection
                // would hold SQLite's lock with nothing to roll it back,
                // idle in the pool, while the turn passed to a writer
                // left to wait out the busy timeout for it. Finished, the
                // transaction is dropped: its rollback is handed to the
                // connection's worker, then the turn passes (the next
                // writer waits milliseconds for it, not the busy timeout).
                let db = self.db.clone();
                tokio::spawn(async move {
                    // The turn before the connection: a writer waiting
                    // its turn holds no connection the readers could use.
                    let turn = db.write_turn().await?;
                    let inner = db.pool.begin_with("BEGIN IMMEDIATE").await?;
                    Ok::<_, sqlx::Error>((inner, turn))
                })
                .await
                .map_err(|_| StoreError::Unavailable(sqlx::Error::WorkerCrashed))??
            }
            Dialect::Postgres => (self.db.pool.begin().await?, None),
        };
        Ok(Tx {
            inner,
            _turn: turn,
            store: self.clone(),
            pending: Vec::new(),
            outbox: false,
        })
    }
}

/// A pooled connection for statements that write outside a transaction,
/// taken at this process's turn to write (see [`Store::begin`]) and holding
/// it until dropped: use it for the one statement
/// (`.execute(&mut *store.writer().await?)`).
#[derive(Debug)]
pub struct Writer {
    conn: PoolConnection<Any>,
    _turn: db::WriteTurn,
}

impl std::ops::Deref for Writer {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

/// A write transaction that publishes its invalidations when it commits.
/// Dropped without [`Tx::commit`], it rolls back and publishes nothing.
#[derive(Debug)]
pub struct Tx {
    inner: Transaction<'static, Any>,
    /// Released after `inner` (fields drop in order): the next writer's
    /// turn begins once this one has committed or rolled back.
    _turn: db::WriteTurn,
    store: Store,
    pending: Vec<Invalidation>,
    outbox: bool,
}

impl Tx {
    /// The connection, for statements.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }

    /// The SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.store.dialect()
    }

    /// Records that this transaction wrote webhook events or made a delivery
    /// due: the dispatcher is woken when it commits.
    pub fn wrote_outbox(&mut self) {
        self.outbox = true;
    }

    /// Records that this transaction makes `what` stale once committed.
    pub fn invalidate(&mut self, what: Invalidation) {
        self.pending.push(what);
    }

    /// Commits; then every replica drops what the transaction made stale.
    pub async fn commit(mut self) -> Result<()> {
        if !self.pending.is_empty() && self.store.dialect() == Dialect::Postgres {
            // Notifications sent inside the transaction are delivered when,
            // and only if, it commits.
            for payload in Notice::encode_changes(&self.store.replica, &self.pending) {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(payload)
                    .execute(&mut *self.inner)
                    .await?;
            }
        }
        self.inner.commit().await?;
        if self.outbox {
            self.store.outbox.notify_one();
        }
        if let (Some(sub), false) = (&self.store.subscriber, self.pending.is_empty()) {
            sub.invalidated(&self.pending);
        }
        Ok(())
    }
}

/// `FOR UPDATE` where the dialect has row locks; SQLite's write transaction
/// (`BEGIN IMMEDIATE`) already excludes every other writer.
fn for_update(dialect: Dialect, clause: &str) -> &str {
    match dialect {
        Dialect::Postgres => clause,
        Dialect::Sqlite => "",
    }
}

/// `$first, $first+1, …` for `n` bind parameters.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Most values one statement binds. SQLite finds each bound parameter by
/// name with a linear scan, so binding costs grow with the square of their
/// number: a few hundred at most keeps that cost negligible.
const CHUNK: usize = 128;

#[cfg(test)]
mod busy_tests {
    #[test]
    fn busy_codes_of_both_databases_are_known_and_others_are_not() {
        for code in ["5", "6", "261", "517", "262", "53300", "57014"] {
            assert!(super::busy(Some(code)), "{code}");
        }
        for code in [
            "1", "19", "2067", "1555", "23505", "40001", "40P01", "42601", "x",
        ] {
            assert!(!super::busy(Some(code)), "{code}");
        }
        assert!(!super::busy(None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_stay_under_the_payload_limit() {
        let what: Vec<Invalidation> = (0..1000)
            .map(|i| Invalidation::Session(format!("{i:032x}")))
            .chain([Invalidation::Account(7), Invalidation::Person(42)])
            .collect();
        let payloads = Notice::encode_changes("r1", &what);
        assert!(payloads.len() > 1, "split into several payloads");
        let mut back = Vec::new();
        for p in &payloads {
            assert!(p.len() <= PAYLOAD_MAX, "{} bytes", p.len());
            match Notice::decode(p) {
                Some(Notice::Changes { replica, what }) => {
                    assert_eq!(replica, "r1");
                    back.extend(what);
                }
                other => panic!("not changes: {other:?}"),
            }
        }
        assert_eq!(back, what);
        assert_eq!(
            Notice::decode(&Notice::encode_ping("r2")),
            Some(Notice::Ping {
                replica: "r2".into()
            })
        );
        for junk in ["", " ping", "r1 x", "r1 a", "r1 pz"] {
            assert_eq!(Notice::decode(junk), None, "{junk:?}");
        }
    }
}

/// Sends this replica's heartbeat on the channel over a connection of its
/// own. Through the pool, a ping would wait behind a busy moment's queries,
/// arrive late, read as a deaf listener and empty the replica's memory just
/// when it is busiest, sending every check to the database
/// (`vigil_session_memory_resets_total` counts such resets).
#[derive(Debug)]
pub struct Pinger {
    url: DatabaseUrl,
    replica: Arc<str>,
    conn: Option<sqlx::PgConnection>,
}

impl Pinger {
    /// Drops the connection (a send that did not finish in time may have
    /// left it mid-statement); the next heartbeat connects afresh.
    pub fn disconnect(&mut self) {
        self.conn = None;
    }

    /// Sends one heartbeat, connecting first if needed; a failed send drops
    /// the connection, so the next one starts afresh.
    pub async fn ping(&mut self) -> Result<()> {
        use sqlx::Connection as _;
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => {
                let mut conn = sqlx::PgConnection::connect(self.url.expose()).await?;
                // The heartbeat tests the channel, not the disk: its commit
                // need not wait for the WAL to reach the disk, and listeners
                // hear it at commit all the same. Waiting, a busy disk (a
                // checkpoint's sync, a flush of many activity writes) could
                // hold it past STALE_AFTER and empty a memory that heard
                // everything. Notifications still arrive in commit order, so
                // hearing it still means every change committed before it
                // was sent has been heard.
                sqlx::query("SET synchronous_commit = off")
                    .execute(&mut conn)
                    .await?;
                self.conn.insert(conn)
            }
        };
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(Notice::encode_ping(&self.replica))
            .execute(&mut *conn)
            .await;
        if sent.is_err() {
            self.conn = None;
        }
        sent?;
        Ok(())
    }
}
