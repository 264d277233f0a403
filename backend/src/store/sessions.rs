//! Session rows (`sessions`): sign-in, the check's load, activity writes,
//! ending, and the read models for the admin pages and the sweeper.
//!
//! `expires_at` is the sweeper's index: a lower bound of when the session
//! can end, computed by callers with `vigil_policy::evaluate` at sign-in,
//! when settings change, and when the sweeper finds a session that is not
//! expired after all. Activity only moves deadlines later, so activity
//! writes leave it alone: they touch one unindexed column, which PostgreSQL
//! updates in place. Nothing here does deadline arithmetic.
//!
//! Every statement that changes many session rows at once locks them in one
//! order, by id ([`LOCK_IN_ORDER`]): otherwise two of them (the activity
//! flusher's batch and an ending, say) can each hold a row the other waits
//! for, and PostgreSQL breaks the deadlock by failing one.

use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::api::{Role, UserRef, UserView};
use vigil_policy::sso::SignInMethod;
use vigil_policy::{Audience, EndReason, SessionTimes};

use super::accounts::{person_from, role_of};
use super::db::{get_bool, get_time};
use super::{placeholders, to_ms, Invalidation, Result, Store, StoreError, Tx, CHUNK};

/// A session row.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Public id: 32 hex digits.
    pub id: String,
    /// Account.
    pub account_id: i64,
    /// Owner.
    pub user_id: i64,
    /// Which policy applies.
    pub audience: Audience,
    /// Remembered ("Remember me").
    pub persistent: bool,
    /// Sign-in.
    pub created_at: OffsetDateTime,
    /// Last activity as stored.
    pub last_activity_at: OffsetDateTime,
    /// Last input as stored (key, mouse, or a request that was not a
    /// background poll): "on a call" counts only within `call_max_secs` of
    /// it. Rows from before it was recorded: their last activity.
    pub last_input_at: OffsetDateTime,
    /// When the person last proved who they are in this session: the
    /// sign-in, or a later re-authentication.
    pub authenticated_at: OffsetDateTime,
    /// Client address at sign-in.
    pub ip: Option<String>,
    /// Browser at sign-in.
    pub user_agent: Option<String>,
    /// How it began.
    pub method: SignInMethod,
    /// For a single sign-on session, the connection's id.
    pub sso_connection_id: Option<String>,
}

/// What the provider said of a single sign-on session: its subject and
/// session id, which back-channel logout tokens name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoLink {
    /// The connection's id.
    pub connection_id: String,
    /// The provider's `sub`.
    pub sub: String,
    /// The provider's `sid`, when it sent one.
    pub sid: Option<String>,
}

impl SessionRow {
    /// Times for the deadline rule.
    pub fn times(&self) -> SessionTimes {
        SessionTimes {
            created_at: self.created_at,
            last_activity_at: self.last_activity_at,
            persistent: self.persistent,
        }
    }
}

fn audience_of(row: &AnyRow) -> Result<Audience> {
    let a: String = row.try_get("audience")?;
    Audience::parse(&a).ok_or_else(|| StoreError::Corrupt(format!("unknown audience {a:?}")))
}

fn end_reason_of(row: &AnyRow) -> Result<Option<EndReason>> {
    if row.try_get::<Option<i64>, _>("ended_at")?.is_none() {
        return Ok(None);
    }
    let reason: Option<String> = row.try_get("end_reason")?;
    // A row ended without a known reason still counts as ended.
    Ok(Some(
        reason
            .as_deref()
            .and_then(EndReason::parse)
            .unwrap_or(EndReason::Revoked),
    ))
}

fn method_of(r: &AnyRow) -> Result<SignInMethod> {
    let m: String = r.try_get("method")?;
    SignInMethod::parse(&m)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown sign-in method {m:?}")))
}

/// What the check keeps of a session row: a [`SessionRow`] without the
/// sign-in's address, browser and single sign-on connection, which it never
/// uses (reading them cost every first check three more columns, the
/// browser's the longest).
#[derive(Debug, Clone)]
pub struct CheckRow {
    /// Public id: 32 hex digits.
    pub id: String,
    /// Account.
    pub account_id: i64,
    /// Owner.
    pub user_id: i64,
    /// Which policy applies.
    pub audience: Audience,
    /// Remembered ("Remember me").
    pub persistent: bool,
    /// Sign-in.
    pub created_at: OffsetDateTime,
    /// Last activity as stored.
    pub last_activity_at: OffsetDateTime,
    /// Last input as stored (see [`SessionRow::last_input_at`]).
    pub last_input_at: OffsetDateTime,
    /// The sign-in or the last re-authentication, as stored.
    pub authenticated_at: OffsetDateTime,
    /// How it began.
    pub method: SignInMethod,
}

/// The columns of a [`CheckRow`] (a macro so that [`ROW_COLUMNS`] can
/// extend them with `concat!`).
macro_rules! check_columns {
    () => {
        "s.id, s.account_id, s.user_id, s.audience, s.persistent, s.created_at,
    s.last_activity_at, COALESCE(s.last_input_at, s.last_activity_at) AS last_input_at,
    COALESCE(s.authenticated_at, s.created_at) AS authenticated_at, s.method"
    };
}

/// The columns [`check_row_from`] reads.
const CHECK_COLUMNS: &str = check_columns!();

/// The columns [`row_from`] reads: the check's and the three it leaves out.
const ROW_COLUMNS: &str = concat!(
    check_columns!(),
    ", s.ip, s.user_agent, s.sso_connection_id"
);

fn check_row_from(r: &AnyRow) -> Result<CheckRow> {
    Ok(CheckRow {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        user_id: r.try_get("user_id")?,
        audience: audience_of(r)?,
        persistent: get_bool(r, "persistent")?,
        created_at: get_time(r, "created_at")?,
        last_activity_at: get_time(r, "last_activity_at")?,
        last_input_at: get_time(r, "last_input_at")?,
        authenticated_at: get_time(r, "authenticated_at")?,
        method: method_of(r)?,
    })
}

fn row_from(r: &AnyRow) -> Result<SessionRow> {
    // Every field named, so a field added to the check's row stops the
    // build here until the full row carries it too.
    let CheckRow {
        id,
        account_id,
        user_id,
        audience,
        persistent,
        created_at,
        last_activity_at,
        last_input_at,
        authenticated_at,
        method,
    } = check_row_from(r)?;
    Ok(SessionRow {
        id,
        account_id,
        user_id,
        audience,
        persistent,
        created_at,
        last_activity_at,
        last_input_at,
        authenticated_at,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        method,
        sso_connection_id: r.try_get("sso_connection_id")?,
    })
}

/// Locks the rows a statement selected in id order (PostgreSQL: the lock
/// step sits above the sort). SQLite has one writer: nothing to order.
pub const LOCK_IN_ORDER: &str = "ORDER BY s.id FOR UPDATE OF s";

fn lock_in_order(dialect: super::Dialect) -> &'static str {
    super::for_update(dialect, LOCK_IN_ORDER)
}

/// A new session.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// The row (its last activity is its creation).
    pub row: &'a SessionRow,
    /// SHA-256 of the token, hex.
    pub token_hash: &'a str,
    /// When it ends under the policy at sign-in (from `evaluate`).
    pub expires_at: OffsetDateTime,
    /// For single sign-on: what the provider said.
    pub sso: Option<&'a SsoLink>,
}

/// Inserts a new session.
pub async fn insert(tx: &mut Tx, s: NewSession<'_>) -> Result<()> {
    let r = s.row;
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, account_id, user_id, audience, persistent, created_at,
             last_activity_at, expires_at, ended_at, end_reason, ip, user_agent, method,
             sso_connection_id, sso_sub, sso_sid, authenticated_at, last_input_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, $10, $11, $12, $13, $14, $15, $16,
             $17)",
    )
    .bind(&r.id)
    .bind(s.token_hash)
    .bind(r.account_id)
    .bind(r.user_id)
    .bind(r.audience.as_str())
    .bind(r.persistent)
    .bind(to_ms(r.created_at))
    .bind(to_ms(r.last_activity_at))
    .bind(to_ms(s.expires_at))
    .bind(&r.ip)
    .bind(&r.user_agent)
    .bind(r.method.as_str())
    .bind(s.sso.map(|l| l.connection_id.as_str()))
    .bind(s.sso.map(|l| l.sub.as_str()))
    .bind(s.sso.and_then(|l| l.sid.as_deref()))
    .bind(to_ms(r.authenticated_at))
    .bind(to_ms(r.last_input_at))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A session with its person and the version of its account's settings,
/// as the check loads it (the settings themselves are read only when the
/// check does not hold that version already: see `sessions::reader`).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The session.
    pub row: CheckRow,
    /// Why it ended, if it has.
    pub ended: Option<EndReason>,
    /// Its owner.
    pub person: UserView,
    /// Whether its owner is active (a deactivated person's sessions are
    /// never honoured, even one that raced the deactivation).
    pub person_active: bool,
    /// The account's settings version, read with the session.
    pub settings_version: i64,
}

/// Most tokens one [`load_by_tokens`] statement looks up.
pub const LOAD_BATCH: usize = 64;

/// The statement looking up `n` token hashes (`$1` … `$n`).
fn load_sql(n: usize) -> String {
    format!(
        "SELECT s.token_hash, {CHECK_COLUMNS}, s.ended_at, s.end_reason,
            u.email, u.display_name, u.role, u.permissions, u.active, ss.version
        FROM sessions s
        JOIN users u ON u.id = s.user_id
        JOIN security_settings ss ON ss.account_id = s.account_id
        WHERE s.token_hash IN ({})",
        placeholders(1, n)
    )
}

/// The statements of [`load_by_tokens`], one per size it pads a batch to
/// (1, 2, 4, … [`LOAD_BATCH`]), made once: each connection prepares at most
/// these few.
fn load_statements() -> &'static [(usize, String)] {
    static STATEMENTS: std::sync::OnceLock<Vec<(usize, String)>> = std::sync::OnceLock::new();
    STATEMENTS.get_or_init(|| {
        std::iter::successors(Some(1usize), |n| (*n < LOAD_BATCH).then_some(n * 2))
            .map(|n| (n, load_sql(n)))
            .collect()
    })
}

/// The sessions whose tokens hash to `token_hashes` (hex, at most
/// [`LOAD_BATCH`]), each with its person and its account's settings
/// version, in one statement on `conn`; with the hash each row answers.
/// Hashes naming no session are absent from the answer; a row that cannot
/// be read back is an error for its own token only.
pub async fn load_by_tokens(
    conn: &mut sqlx::AnyConnection,
    token_hashes: &[&str],
) -> Result<Vec<(String, Result<Loaded>)>> {
    let Some(last) = token_hashes.last() else {
        return Ok(Vec::new());
    };
    let Some((size, sql)) = load_statements()
        .iter()
        .find(|(n, _)| *n >= token_hashes.len())
    else {
        return Err(StoreError::Corrupt(format!(
            "{} tokens in one lookup (at most {LOAD_BATCH})",
            token_hashes.len()
        )));
    };
    // Padded with the last hash again, so a few prepared statements serve
    // every batch; a repeated value finds its row once.
    let mut query = sqlx::query(sql);
    for i in 0..*size {
        query = query.bind(*token_hashes.get(i).unwrap_or(last));
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>("token_hash")?, loaded_from(r))))
        .collect()
}

fn loaded_from(r: &AnyRow) -> Result<Loaded> {
    Ok(Loaded {
        row: check_row_from(r)?,
        ended: end_reason_of(r)?,
        person: person_from(r)?,
        person_active: get_bool(r, "active")?,
        settings_version: r.try_get("version")?,
    })
}

/// What may have changed in a session's row since it was loaded.
#[derive(Debug, Clone, Copy)]
pub struct Fresh {
    /// Last activity as stored (other replicas' included).
    pub last_activity_at: OffsetDateTime,
    /// Last input as stored (other replicas' included).
    pub last_input_at: OffsetDateTime,
    /// Remembered.
    pub persistent: bool,
    /// Why it ended, if it has.
    pub ended: Option<EndReason>,
}

/// Re-reads the parts of a session's row other replicas write.
pub async fn reread(store: &Store, session_id: &str) -> Result<Option<Fresh>> {
    let row = sqlx::query(
        "SELECT last_activity_at, COALESCE(last_input_at, last_activity_at) AS last_input_at,
             persistent, ended_at, end_reason FROM sessions WHERE id = $1",
    )
    .bind(session_id)
    .fetch_optional(store.pool())
    .await?;
    row.map(|r| {
        Ok(Fresh {
            last_activity_at: get_time(&r, "last_activity_at")?,
            last_input_at: get_time(&r, "last_input_at")?,
            persistent: get_bool(&r, "persistent")?,
            ended: end_reason_of(&r)?,
        })
    })
    .transpose()
}

/// When the live session `session_id` last authenticated (its sign-in or
/// its last re-authentication), as stored; `None` when it is not live.
pub async fn authenticated_at(store: &Store, session_id: &str) -> Result<Option<OffsetDateTime>> {
    let row = sqlx::query(
        "SELECT COALESCE(authenticated_at, created_at) AS authenticated_at FROM sessions
         WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(session_id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|r| get_time(&r, "authenticated_at")).transpose()?)
}

/// Records that the live session `session_id` re-authenticated at `now`
/// (never moving it back); false when the session is not live.
pub async fn reauthenticated(tx: &mut Tx, session_id: &str, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sessions SET authenticated_at = $1
         WHERE id = $2 AND ended_at IS NULL
           AND COALESCE(authenticated_at, created_at) <= $1",
    )
    .bind(to_ms(now))
    .bind(session_id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns a remembered session into a browser-session one.
pub async fn forget_persistence(store: &Store, session_id: &str) -> Result<()> {
    sqlx::query("UPDATE sessions SET persistent = FALSE WHERE id = $1")
        .bind(session_id)
        .execute(&mut *store.writer().await?)
        .await?;
    Ok(())
}

/// One session's activity to write.
#[derive(Debug, Clone)]
pub struct ActivityWrite {
    /// Session id.
    pub session_id: String,
    /// The new last activity.
    pub last_activity_at: OffsetDateTime,
    /// The newest input known (never moves the stored one back).
    pub last_input_at: OffsetDateTime,
}

/// Writes activity for many sessions, a statement per chunk; a row is
/// written only while the session is live and the activity is newer than
/// the stored one. Returns the ids written.
pub async fn write_activity(store: &Store, writes: &[ActivityWrite]) -> Result<Vec<String>> {
    // Always ROWS rows (padded with rows naming no session), so this is one
    // prepared statement whatever the batch.
    const ROWS: usize = CHUNK / 3;
    let values: Vec<String> = (0..ROWS)
        .map(|i| format!("({})", placeholders(i * 3 + 1, 3)))
        .collect();
    let sql = format!(
        "WITH v (id, at, input) AS (VALUES {}),
         locked AS (
             SELECT s.id, v.at, v.input FROM sessions s JOIN v ON s.id = v.id
             WHERE s.ended_at IS NULL AND s.last_activity_at < v.at {})
         UPDATE sessions SET last_activity_at = locked.at,
             last_input_at = CASE WHEN COALESCE(sessions.last_input_at, 0) < locked.input
                 THEN locked.input ELSE sessions.last_input_at END
         FROM locked WHERE sessions.id = locked.id
         RETURNING sessions.id",
        values.join(", "),
        lock_in_order(store.dialect())
    );
    let mut written = Vec::new();
    for chunk in writes.chunks(ROWS) {
        let mut q = sqlx::query(&sql);
        for w in chunk {
            q = q
                .bind(&w.session_id)
                .bind(to_ms(w.last_activity_at))
                .bind(to_ms(w.last_input_at));
        }
        for _ in chunk.len()..ROWS {
            q = q.bind("").bind(0_i64).bind(0_i64);
        }
        for row in q.fetch_all(&mut *store.writer().await?).await? {
            written.push(row.try_get("id")?);
        }
    }
    Ok(written)
}

/// Sets the sweeper's index for live sessions: `(id, expires_at)`.
pub async fn set_expiry(tx: &mut Tx, entries: &[(String, OffsetDateTime)]) -> Result<()> {
    // Padded to ROWS rows: one prepared statement whatever the batch.
    const ROWS: usize = CHUNK / 2;
    let values: Vec<String> = (0..ROWS)
        .map(|i| format!("({})", placeholders(i * 2 + 1, 2)))
        .collect();
    let sql = format!(
        "WITH v (id, at) AS (VALUES {}),
         locked AS (
             SELECT s.id, v.at FROM sessions s JOIN v ON s.id = v.id
             WHERE s.ended_at IS NULL {})
         UPDATE sessions SET expires_at = locked.at
         FROM locked WHERE sessions.id = locked.id",
        values.join(", "),
        lock_in_order(tx.dialect())
    );
    for chunk in entries.chunks(ROWS) {
        let mut q = sqlx::query(&sql);
        for (id, at) in chunk {
            q = q.bind(id).bind(to_ms(*at));
        }
        for _ in chunk.len()..ROWS {
            q = q.bind("").bind(0_i64);
        }
        q.execute(tx.conn()).await?;
    }
    Ok(())
}

/// The live sessions of an account (for rebuilding the sweeper's index
/// after a settings change).
pub async fn live_rows_in(tx: &mut Tx, account_id: i64) -> Result<Vec<SessionRow>> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM sessions s WHERE s.account_id = $1 AND s.ended_at IS NULL"
    );
    sqlx::query(&sql)
        .bind(account_id)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(row_from)
        .collect()
}

/// A session about to end, with what the audit log and routing need.
#[derive(Debug, Clone)]
pub struct Ending {
    /// Session id.
    pub session_id: String,
    /// Account.
    pub account_id: i64,
    /// Owner.
    pub user_id: i64,
    /// Owner's email, for the audit log.
    pub email: String,
    /// Owner's role.
    pub role: Role,
}

fn ending_from(r: &AnyRow) -> Result<Ending> {
    Ok(Ending {
        session_id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        user_id: r.try_get("user_id")?,
        email: r.try_get("email")?,
        role: role_of(r, "role")?,
    })
}

/// Ends the live sessions among `ids` with `reason`; returns those it
/// ended (others had ended already). Every replica forgets them when the
/// transaction commits.
pub async fn end(
    tx: &mut Tx,
    ids: &[&str],
    reason: EndReason,
    now: OffsetDateTime,
) -> Result<Vec<String>> {
    let mut ended = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "WITH locked AS (
                 SELECT s.id FROM sessions s WHERE s.ended_at IS NULL AND s.id IN ({}) {})
             UPDATE sessions SET ended_at = $1, end_reason = $2
             FROM locked WHERE sessions.id = locked.id RETURNING sessions.id",
            placeholders(3, chunk.len()),
            lock_in_order(tx.dialect())
        );
        let mut q = sqlx::query(&sql).bind(to_ms(now)).bind(reason.as_str());
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(tx.conn()).await? {
            let id: String = row.try_get("id")?;
            tx.invalidate(Invalidation::Session(id.clone()));
            ended.push(id);
        }
    }
    Ok(ended)
}

/// Sessions that ended after `after_ms` (milliseconds since the epoch),
/// earliest first, at most `limit`: `(id, ended_at_ms)`. A server on SQLite
/// hears of endings written by other processes (`vigil set-password`) this
/// way; on PostgreSQL the notification channel tells it at once.
pub async fn ended_after(store: &Store, after_ms: i64, limit: i64) -> Result<Vec<(String, i64)>> {
    sqlx::query(
        "SELECT id, ended_at FROM sessions WHERE ended_at > $1 ORDER BY ended_at, id LIMIT $2",
    )
    .bind(after_ms)
    .bind(limit)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("ended_at")?)))
    .collect()
}

/// The latest `ended_at` stored (milliseconds), 0 when none.
pub async fn latest_ending(store: &Store) -> Result<i64> {
    Ok(
        sqlx::query("SELECT COALESCE(MAX(ended_at), 0) AS m FROM sessions")
            .fetch_one(store.pool())
            .await?
            .try_get("m")?,
    )
}

/// How many live sessions a person has.
pub async fn live_count_of(tx: &mut Tx, user_id: i64) -> Result<i64> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1 AND ended_at IS NULL")
            .bind(user_id)
            .fetch_one(tx.conn())
            .await?
            .try_get("n")?,
    )
}

/// A person's sessions not yet ended, oldest first (by creation), read
/// inside a transaction (after the person's row is locked, so none started
/// meanwhile is missed).
pub async fn live_rows_of(tx: &mut Tx, user_id: i64) -> Result<Vec<SessionRow>> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM sessions s WHERE s.user_id = $1 AND s.ended_at IS NULL
         ORDER BY s.created_at, s.id"
    );
    sqlx::query(&sql)
        .bind(user_id)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(row_from)
        .collect()
}

/// Which live sessions of an account to end.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// One session.
    Session(&'a str),
    /// Every session of one person.
    Person(i64),
    /// Every session a single sign-on connection started in one provider
    /// session (connection id, `sid`).
    SsoSession(&'a str, &'a str),
    /// Every session a connection started for one provider subject
    /// (connection id, `sub`).
    SsoSubject(&'a str, &'a str),
}

/// Live sessions of an account matching `which`, oldest first; read from
/// the pool, or inside a transaction (`tx.conn()`: after a person's row is
/// locked, so none started meanwhile is missed).
pub async fn live_endings<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: i64,
    which: Which<'_>,
) -> Result<Vec<Ending>> {
    let clause = match which {
        Which::Session(_) => "s.id = $2",
        Which::Person(_) => "s.user_id = $2",
        Which::SsoSession(..) => "s.sso_connection_id = $2 AND s.sso_sid = $3",
        Which::SsoSubject(..) => "s.sso_connection_id = $2 AND s.sso_sub = $3",
    };
    let sql = format!(
        "SELECT s.id, s.account_id, s.user_id, u.email, u.role FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.account_id = $1 AND s.ended_at IS NULL AND {clause} ORDER BY s.created_at"
    );
    let q = sqlx::query(&sql).bind(account_id);
    let q = match which {
        Which::Session(id) => q.bind(id),
        Which::Person(id) => q.bind(id),
        Which::SsoSession(connection, key) | Which::SsoSubject(connection, key) => {
            q.bind(connection).bind(key)
        }
    };
    q.fetch_all(db).await?.iter().map(ending_from).collect()
}

/// A live session with its owner, for the session lists.
#[derive(Debug, Clone)]
pub struct LiveSession {
    /// The row.
    pub row: SessionRow,
    /// Its owner.
    pub user: UserRef,
    /// For single sign-on: the connection's name, if it still exists.
    pub sso_connection: Option<String>,
}

const LIVE_SESSION_FROM: &str = "FROM sessions s JOIN users u ON u.id = s.user_id
    LEFT JOIN sso_connections c ON c.id = s.sso_connection_id";

fn live_session_from(r: &AnyRow) -> Result<LiveSession> {
    let row = row_from(r)?;
    Ok(LiveSession {
        user: UserRef {
            id: row.user_id,
            email: r.try_get("email")?,
            display_name: r.try_get("display_name")?,
            role: role_of(r, "role")?,
        },
        sso_connection: r.try_get("sso_name")?,
        row,
    })
}

/// Live sessions of an account (by the stored row: some may be past a
/// deadline the sweeper has not acted on yet), newest first.
pub async fn live_in_account(store: &Store, account_id: i64) -> Result<Vec<LiveSession>> {
    let sql = format!(
        "SELECT {ROW_COLUMNS}, u.email, u.display_name, u.role, c.name AS sso_name
         {LIVE_SESSION_FROM}
         WHERE s.account_id = $1 AND s.ended_at IS NULL
         ORDER BY s.created_at DESC, s.id"
    );
    sqlx::query(&sql)
        .bind(account_id)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(live_session_from)
        .collect()
}

/// Where a session sits in the session lists, which go newest first: its
/// sign-in time and id, which never change while the row lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    /// Sign-in (milliseconds since the epoch, as stored).
    pub created_at_ms: i64,
    /// Session id.
    pub id: String,
}

impl PageKey {
    /// The key of a session.
    pub fn of(row: &SessionRow) -> PageKey {
        PageKey {
            created_at_ms: to_ms(row.created_at),
            id: row.id.clone(),
        }
    }
}

/// Which live sessions a list shows: an account's, or one person's in it,
/// of one audience or both.
#[derive(Debug, Clone, Copy)]
pub struct ListScope {
    /// Account.
    pub account_id: i64,
    /// Only this person's.
    pub user_id: Option<i64>,
    /// Only this audience's.
    pub audience: Option<Audience>,
}

/// Up to `limit` live sessions of `scope` (by the stored row: some may be
/// past a deadline the sweeper has not acted on yet), newest first by
/// [`PageKey`], starting after `after`. Keyset pagination on
/// `sessions_live_by_user_newest` (a person's) or
/// `sessions_live_by_account_newest`: a page costs its rows whatever its
/// depth, and since a key never changes, paging while sessions start and
/// end repeats no row and skips none that stayed live throughout.
pub async fn live_page(
    store: &Store,
    scope: ListScope,
    after: Option<&PageKey>,
    limit: i64,
) -> Result<Vec<LiveSession>> {
    let mut clauses = vec!["s.account_id = $1".to_owned(), "s.ended_at IS NULL".into()];
    let mut n = 1;
    let mut next = || {
        n += 1;
        n
    };
    if scope.user_id.is_some() {
        clauses.push(format!("s.user_id = ${}", next()));
    }
    if scope.audience.is_some() {
        clauses.push(format!("s.audience = ${}", next()));
    }
    if after.is_some() {
        let (at, id) = (next(), next());
        // A row comparison, which both databases read as where to start
        // the index scan (an OR of the two cases they would filter by).
        clauses.push(format!("(s.created_at, s.id) < (${at}, ${id})"));
    }
    let sql = format!(
        "SELECT {ROW_COLUMNS}, u.email, u.display_name, u.role, c.name AS sso_name
         {LIVE_SESSION_FROM}
         WHERE {}
         ORDER BY s.created_at DESC, s.id DESC
         LIMIT ${}",
        clauses.join(" AND "),
        next()
    );
    let mut q = sqlx::query(&sql).bind(scope.account_id);
    if let Some(user_id) = scope.user_id {
        q = q.bind(user_id);
    }
    if let Some(audience) = scope.audience {
        q = q.bind(audience.as_str());
    }
    if let Some(key) = after {
        q = q.bind(key.created_at_ms).bind(&key.id);
    }
    q.bind(limit)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(live_session_from)
        .collect()
}

/// A live session whose indexed deadline has passed.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The row.
    pub row: SessionRow,
    /// What ending it needs.
    pub ending: Ending,
}

/// Up to `limit` live sessions whose `expires_at` is at or before `now`,
/// earliest first (the sweeper's work grows with expired sessions, not
/// live ones).
pub async fn expired_candidates(
    store: &Store,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Candidate>> {
    let sql = format!(
        "SELECT {ROW_COLUMNS}, u.email, u.role
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.ended_at IS NULL AND s.expires_at <= $1
         ORDER BY s.expires_at
         LIMIT $2"
    );
    sqlx::query(&sql)
        .bind(to_ms(now))
        .bind(limit)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Candidate {
                row: row_from(r)?,
                ending: ending_from(r)?,
            })
        })
        .collect()
}

/// Live sessions in the whole database, by audience.
pub async fn live_counts(store: &Store) -> Result<Vec<(String, i64)>> {
    sqlx::query(
        "SELECT audience, COUNT(*) AS n FROM sessions WHERE ended_at IS NULL GROUP BY audience",
    )
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| Ok((r.try_get("audience")?, r.try_get("n")?)))
    .collect()
}
