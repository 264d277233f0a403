//! Reading the sessions a check does not hold in memory: a session's first
//! check on this process, or one evicted since.
//!
//! Checks that miss at the same moment share one statement: each sends its
//! token hash to one reader task, which takes every request waiting (up to
//! [`LOAD_BATCH`]), looks them all up in one query on a connection of its
//! own, and answers each. Through the pool, each miss cost three round
//! trips to the database's side, each a thread switch on SQLite (sqlx runs
//! every SQLite connection on a thread of its own) and a network round
//! trip on PostgreSQL: the pool pings a connection when it hands it out and
//! again when it takes it back, and the query itself. Now a batch costs one.
//! Under load most checks find a batch being read and join the next one;
//! alone, a check waits for no one.
//!
//! The reader's connection is taken from the pool once and kept (detached:
//! the pool opens another in its place); one that fails or takes longer
//! than [`READ_TIMEOUT`] is dropped and the next batch takes a new one. The
//! task starts with the first miss, on that request's runtime (a server
//! worker's), and again on another's when that runtime has stopped, even
//! under a request waiting for it. A request that gives up waiting (its
//! client went away) leaves nothing behind: the reader answers into a
//! closed channel, and skips requests already abandoned before it reads.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};

use crate::store::sessions::{load_by_tokens, Loaded, LOAD_BATCH};
use crate::store::{self, Store, StoreError};

/// Longest a batch may take (taking a connection included) before its
/// checks are answered "unavailable" and the connection is dropped: the
/// pool's own acquire timeout.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Requests that may wait for the reader before senders wait for room.
const QUEUE: usize = 1024;

type Answer = std::result::Result<Option<Loaded>, StoreError>;

struct Request {
    token_hash: String,
    reply: oneshot::Sender<Answer>,
}

/// The batching reader of one session engine. See the module docs.
#[derive(Debug)]
pub struct Reader {
    store: Store,
    queue: Mutex<Option<mpsc::Sender<Request>>>,
}

impl Reader {
    /// A reader over `store` (its task starts with the first lookup).
    pub fn new(store: Store) -> Reader {
        Reader {
            store,
            queue: Mutex::new(None),
        }
    }

    /// The session whose token hashes to `token_hash` (hex), with its
    /// person and its account's settings version, read in the next batch.
    pub async fn load(&self, token_hash: &str) -> store::Result<Option<Loaded>> {
        // A second try only when the task is gone (its runtime stopped: a
        // server worker shutting down) before answering; it starts again
        // on this request's runtime.
        for _ in 0..2 {
            let (reply, answer) = oneshot::channel();
            let request = Request {
                token_hash: token_hash.to_owned(),
                reply,
            };
            if self.queue().send(request).await.is_err() {
                continue;
            }
            if let Ok(answered) = answer.await {
                return answered;
            }
        }
        Err(StoreError::Unavailable(sqlx::Error::PoolClosed))
    }

    /// The reader task's queue, starting the task when there is none (or
    /// its runtime stopped).
    fn queue(&self) -> mpsc::Sender<Request> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        match &*queue {
            Some(q) if !q.is_closed() => q.clone(),
            _ => {
                let (q, requests) = mpsc::channel(QUEUE);
                tokio::spawn(serve(self.store.clone(), requests));
                *queue = Some(q.clone());
                q
            }
        }
    }
}

/// The reader task: a batch at a time, until every sender is gone.
async fn serve(store: Store, mut requests: mpsc::Receiver<Request>) {
    let mut conn: Option<AnyConnection> = None;
    let mut batch: Vec<Request> = Vec::with_capacity(LOAD_BATCH);
    while requests.recv_many(&mut batch, LOAD_BATCH).await > 0 {
        batch.retain(|r| !r.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let hashes: Vec<&str> = batch.iter().map(|r| r.token_hash.as_str()).collect();
        let read = tokio::time::timeout(READ_TIMEOUT, read(&store, &mut conn, &hashes)).await;
        let rows = match read {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "reading sessions failed; taking a new connection");
                conn = None;
                for r in batch.drain(..) {
                    let _ = r.reply.send(Err(copy(&e)));
                }
                continue;
            }
            Err(_) => {
                tracing::warn!("reading sessions took too long; taking a new connection");
                conn = None;
                for r in batch.drain(..) {
                    let _ = r
                        .reply
                        .send(Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)));
                }
                continue;
            }
        };
        for r in batch.drain(..) {
            let answer = match rows.iter().find(|(hash, _)| *hash == r.token_hash) {
                None => Ok(None),
                Some((_, Ok(loaded))) => Ok(Some(loaded.clone())),
                Some((_, Err(e))) => Err(copy(e)),
            };
            let _ = r.reply.send(answer);
        }
    }
}

/// One batch on the reader's connection, taken from the pool when it has
/// none.
async fn read(
    store: &Store,
    conn: &mut Option<AnyConnection>,
    hashes: &[&str],
) -> store::Result<Vec<(String, store::Result<Loaded>)>> {
    let conn = match conn {
        Some(c) => c,
        None => conn.insert(store.pool().acquire().await?.detach()),
    };
    load_by_tokens(conn, hashes).await
}

/// The same failure for another check of the batch: its kind (and so its
/// answer: 503 for a database unavailable or busy, 500 otherwise) and its
/// message.
fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(_) => {
            StoreError::Unavailable(sqlx::Error::Io(std::io::Error::other(e.to_string())))
        }
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        StoreError::Database(_) => StoreError::Database(sqlx::Error::Protocol(e.to_string())),
    }
}
