//! Sessions: the token and cookie, the check every authenticated request
//! goes through, sessions held in memory, coalesced activity, ending
//! sessions, and hearing other replicas' changes.
//!
//! The check ([`authenticate`]) finds the session in memory, or loads it
//! with its person and the version of the account's settings in one query
//! shared with the other checks missing at that moment ([`reader`]), the
//! settings themselves read only when that version is not held; evaluates it
//! with the deadline rule from vigil-policy; re-reads the row before
//! warning or ending a session from memory (another replica may have seen
//! newer activity); ends it on the spot when a deadline has passed; and
//! records the request as activity when the account's rules say it counts.

pub mod activity;
pub mod cookie;
pub mod end;
pub mod listener;
pub mod live;
pub mod memory;
pub mod reader;
pub mod start;
pub mod token;

use std::sync::Arc;

use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use time::OffsetDateTime;
use vigil_policy::api::{
    Role, SessionPolicy, SessionView, UnauthenticatedReason, UserView, PERMISSION_MANAGE_SECURITY,
};
use vigil_policy::{
    evaluate, AudiencePolicy, EndReason, Evaluation, SecuritySettings, SessionTimes, Verdict,
};

use crate::error::ApiError;
use crate::store::sessions::Ending;
use crate::store::{self, Invalidation, Subscriber, Tx};
use activity::Activity;
use memory::{AccountPolicy, Hit, Memory, TokenKey};
use token::SessionToken;

use crate::clock::SharedClock;
use crate::metrics::Metrics;
use crate::store::{Dialect, Store};

/// The session engine: what checking, touching and ending sessions needs,
/// and nothing else (no password hasher, no configuration), so it can be
/// built and tested on its own. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sessions {
    /// The database; its commits tell [`Sessions::memory`] what changed.
    pub store: Store,
    /// The time.
    pub clock: SharedClock,
    /// Live sessions and account policies held in memory, and the live
    /// channels following them.
    pub memory: Arc<Memory>,
    /// Activity waiting to be written.
    pub activity: Arc<Activity>,
    /// Reads the sessions not held in memory, in batches.
    reader: Arc<reader::Reader>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The latest ending this process has caught up with (SQLite; see
    /// [`Sessions::catch_up`]); `i64::MIN` until the first catch-up.
    caught_up_to: Arc<std::sync::atomic::AtomicI64>,
}

impl Sessions {
    /// Ends sessions in a transaction of their own and counts them (see
    /// [`end::end_now`]); returns the ids it ended.
    pub async fn end_now(
        &self,
        endings: &[(Ending, EndReason)],
        actor: &str,
        now: OffsetDateTime,
    ) -> store::Result<Vec<String>> {
        end::end_now(&self.store, &self.metrics, endings, actor, now).await
    }

    /// Writes held activity that is due (all of it with `all`); returns
    /// how many sessions were written (see [`activity::flush`]).
    pub async fn flush_activity(&self, now: OffsetDateTime, all: bool) -> store::Result<usize> {
        activity::flush(&self.store, &self.activity, now, all).await
    }

    /// The engine over `store`: memory of at most `memory_cap` sessions
    /// (trusted at once on SQLite; on PostgreSQL once the listener hears
    /// itself), activity written at least every `activity_write_secs`.
    pub fn new(
        store: &Store,
        clock: SharedClock,
        memory_cap: usize,
        activity_write_secs: u64,
    ) -> Sessions {
        let memory = Arc::new(match store.dialect() {
            Dialect::Sqlite => Memory::local(memory_cap),
            Dialect::Postgres => Memory::listened(memory_cap),
        });
        let store = store.with_subscriber(memory.clone());
        Sessions {
            reader: Arc::new(reader::Reader::new(store.clone())),
            store,
            clock,
            memory,
            activity: Arc::new(Activity::new(activity_write_secs)),
            metrics: Arc::default(),
            caught_up_to: Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN)),
        }
    }

    /// The same engine writing through `store` (see
    /// [`Store::reconnected`](crate::store::Store::reconnected)).
    pub fn with_store(&self, store: Store) -> Sessions {
        Sessions {
            reader: Arc::new(reader::Reader::new(store.clone())),
            store,
            ..self.clone()
        }
    }

    /// Forgets sessions that other processes ended (the sweeper calls it).
    /// On SQLite nothing else tells this process: another `vigil` process
    /// on the same file (`vigil set-password`) ends sessions this server
    /// may hold in memory. On PostgreSQL the listener hears every commit,
    /// so there is nothing to do. Returns how many endings it read.
    pub async fn catch_up(&self) -> store::Result<usize> {
        use std::sync::atomic::Ordering;
        if self.store.dialect() != Dialect::Sqlite {
            return Ok(0);
        }
        let mut since = self.caught_up_to.load(Ordering::Acquire);
        if since == i64::MIN {
            // Endings before this process started are not in its memory.
            since = store::sessions::latest_ending(&self.store).await?;
            self.caught_up_to.store(since, Ordering::Release);
            return Ok(0);
        }
        let mut read = 0;
        loop {
            let batch = store::sessions::ended_after(&self.store, since, 1000).await?;
            let Some((_, last)) = batch.last() else { break };
            since = *last;
            read += batch.len();
            let gone: Vec<Invalidation> = batch
                .into_iter()
                .map(|(id, _)| Invalidation::Session(id))
                .collect();
            self.memory.invalidated(&gone);
            self.caught_up_to.store(since, Ordering::Release);
            if gone.len() < 1000 {
                break;
            }
        }
        Ok(read)
    }
}

/// A live session, checked.
#[derive(Debug, Clone)]
pub struct Current {
    hit: Hit,
    /// The token the request carried.
    pub token: SessionToken,
}

impl Current {
    /// Public session id.
    pub fn session_id(&self) -> &str {
        &self.hit.entry.id
    }

    /// Account.
    pub fn account_id(&self) -> i64 {
        self.hit.entry.account_id
    }

    /// Who.
    pub fn user(&self) -> &UserView {
        &self.hit.person
    }

    /// The account's settings.
    pub fn settings(&self) -> &SecuritySettings {
        &self.hit.account.settings
    }

    /// The policy that governs this session: its audience's, or the
    /// admins' for an admin, with the remembered limits for a remembered
    /// session ([`SecuritySettings::policy_for`]).
    pub fn policy(&self) -> AudiencePolicy {
        let entry = &self.hit.entry;
        self.settings()
            .policy_for(entry.audience, self.user().is_admin(), entry.persistent())
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.user().role
    }

    /// Admins, and agents granted `manage_security`.
    pub fn can_manage_security(&self) -> bool {
        self.user()
            .permissions
            .iter()
            .any(|p| p == PERMISSION_MANAGE_SECURITY)
    }

    /// Whether the person is a team member (admin or agent).
    pub fn is_team_member(&self) -> bool {
        self.role() != Role::Requester
    }

    /// The newest input this process knows of for this session.
    pub fn last_input(&self) -> OffsetDateTime {
        self.hit.entry.last_input()
    }

    /// The session's times, with the newest activity this process knows.
    pub fn times(&self) -> SessionTimes {
        self.hit.entry.times()
    }

    fn evaluate(&self, now: OffsetDateTime) -> Evaluation {
        evaluate(&self.policy(), self.times(), now)
    }

    /// The API view at `now`.
    pub fn view(&self, now: OffsetDateTime) -> SessionView {
        let times = self.times();
        let e = evaluate(&self.policy(), times, now);
        let entry = &self.hit.entry;
        SessionView {
            session_id: entry.id.to_string(),
            user: self.user().clone(),
            audience: entry.audience,
            persistent: times.persistent,
            method: entry.method,
            created_at: entry.created_at,
            authenticated_at: entry.authenticated_at(),
            last_activity_at: times.last_activity_at,
            idle_expires_at: e.idle_expires_at,
            absolute_expires_at: e.absolute_expires_at,
            warn_at: e.warn_at,
            server_time: now,
            policy: SessionPolicy::from_settings(
                self.settings(),
                entry.audience,
                self.user().is_admin(),
                times.persistent,
            ),
        }
    }

    /// **The re-authentication guard.** Every sensitive action calls this
    /// before it changes anything (SPEC "People, passwords,
    /// re-authentication": security settings, ending others' sessions,
    /// deactivating and reactivating people, SSO connections, API tokens,
    /// webhooks). It passes when the session's sign-in or its last
    /// re-authentication (`POST /api/auth/reauthenticate`, or a single
    /// sign-on round trip started with `reauth=1`) is at most
    /// `max_age_secs` old at the clock's now; otherwise it answers 403
    /// `{"error":"reauthentication_required","max_age_secs":N}`, and the
    /// console asks for the password and retries.
    ///
    /// Handlers call it through
    /// [`AppState::require_recent_authentication`](crate::state::AppState::require_recent_authentication),
    /// which passes `VIGIL_REAUTH_SECS`. A request made with an API token
    /// has no session: a token's own route guard decides for its scopes
    /// instead of calling this.
    ///
    /// It reads the stored time (one indexed read, only on these rare
    /// actions), so a re-authentication through any replica counts at once
    /// on every other.
    pub async fn require_recent_authentication(
        &self,
        sessions: &Sessions,
        max_age_secs: u64,
    ) -> Result<(), ApiError> {
        let now = sessions.clock.now();
        let Some(at) =
            store::sessions::authenticated_at(&sessions.store, self.session_id()).await?
        else {
            return Err(ApiError::Unauthenticated(UnauthenticatedReason::Invalid));
        };
        let max_age = time::Duration::seconds(i64::try_from(max_age_secs).unwrap_or(i64::MAX));
        if now - at > max_age {
            tracing::info!(session = %self.session_id(), "refused: re-authentication required");
            return Err(ApiError::ReauthenticationRequired { max_age_secs });
        }
        Ok(())
    }

    /// Records in memory that this session re-authenticated at `at`
    /// (after the stored row says so).
    pub fn reauthenticated(&self, at: OffsetDateTime) {
        self.hit.entry.reauthenticated(at);
    }

    /// What ending this session needs.
    pub fn ending(&self) -> Ending {
        Ending {
            session_id: self.session_id().to_owned(),
            account_id: self.account_id(),
            user_id: self.user().id,
            email: self.user().email.clone(),
            role: self.role(),
        }
    }

    /// Records activity at `now` (coalesced), and tells a live channel
    /// following the session that its deadline moved; `input` when it was
    /// the person's input (see `Activity::touch`).
    pub fn touch(&self, sessions: &Sessions, now: OffsetDateTime, input: bool) {
        let entry = &self.hit.entry;
        sessions.activity.touch(entry, &self.policy(), now, input);
        if entry.watched() {
            sessions.memory.live.session_changed(&entry.id);
        }
    }

    /// A live channel follows this session from now on, unless the
    /// session holds `limit` channels on this server already (`None`).
    pub fn watch(&self, sessions: &Sessions, limit: usize) -> Option<live::Watch> {
        let entry = &self.hit.entry;
        let watch =
            sessions
                .memory
                .live
                .watch(&entry.id, entry.account_id, entry.user_id, limit)?;
        entry.watch();
        Some(watch)
    }

    /// Marks the session's memory entry as followed again (a channel calls
    /// this after each check: the entry may have been replaced).
    pub fn rewatch(&self) {
        self.hit.entry.watch();
    }

    /// Ends this session in a transaction of its own; false when it had
    /// ended already.
    pub async fn end(
        &self,
        sessions: &Sessions,
        reason: EndReason,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<bool, ApiError> {
        let ended = sessions
            .end_now(&[(self.ending(), reason)], actor, now)
            .await?;
        Ok(!ended.is_empty())
    }
}

/// The account's settings: from memory, or read from the database (and
/// kept).
pub async fn account_policy(
    sessions: &Sessions,
    account_id: i64,
) -> store::Result<Arc<AccountPolicy>> {
    if let Some(a) = sessions.memory.account(account_id) {
        return Ok(a);
    }
    let epoch = sessions.memory.epoch();
    let policy = read_policy(sessions, account_id).await?;
    sessions.memory.insert_account(policy.clone(), epoch);
    Ok(policy)
}

/// The account's settings as stored now, read from the database.
async fn read_policy(sessions: &Sessions, account_id: i64) -> store::Result<Arc<AccountPolicy>> {
    let stored = store::settings::load(&sessions.store, account_id).await?;
    Ok(Arc::new(AccountPolicy {
        account_id,
        version: stored.version,
        settings: stored.settings,
    }))
}

/// Judges an account's stored sessions: each under its owner's policy
/// ([`SecuritySettings::policy_for`]: the admins' policy for the people it
/// covers, the remembered limits for a remembered session).
#[derive(Debug)]
pub struct Judge {
    /// The settings judged by.
    pub settings: SecuritySettings,
    /// Who the admins' policy covers (read only when there is one).
    admins: std::collections::HashSet<i64>,
}

impl Judge {
    /// A judge of `account_id`'s sessions under `settings`, reading who
    /// its admins are from `db` (the pool, or `tx.conn()`).
    pub async fn read<'e>(
        db: impl sqlx::Executor<'e, Database = sqlx::Any>,
        account_id: i64,
        settings: &SecuritySettings,
    ) -> store::Result<Judge> {
        let admins = match settings.admins {
            Some(_) => store::accounts::admin_ids(db, account_id).await?,
            None => Default::default(),
        };
        Ok(Judge {
            settings: settings.clone(),
            admins,
        })
    }

    /// The policy of one stored session.
    pub fn policy(&self, row: &store::sessions::SessionRow) -> AudiencePolicy {
        self.settings.policy_for(
            row.audience,
            self.admins.contains(&row.user_id),
            row.persistent,
        )
    }

    /// One stored session at `now`, with its times as given.
    pub fn evaluate(
        &self,
        row: &store::sessions::SessionRow,
        times: SessionTimes,
        now: OffsetDateTime,
    ) -> Evaluation {
        evaluate(&self.policy(row), times, now)
    }
}

/// Rebuilds the sweeper's index of an account's live sessions under new
/// settings, inside the transaction that stores them.
pub async fn reindex(
    sessions: &Sessions,
    tx: &mut Tx,
    account_id: i64,
    settings: &SecuritySettings,
    now: OffsetDateTime,
) -> store::Result<()> {
    let rows = store::sessions::live_rows_in(tx, account_id).await?;
    let judge = Judge::read(tx.conn(), account_id, settings).await?;
    let entries: Vec<(String, OffsetDateTime)> = rows
        .into_iter()
        .map(|row| {
            let mut times = row.times();
            times.last_activity_at = sessions.memory.last_activity_of(&row);
            let e = judge.evaluate(&row, times, now);
            (row.id, e.ends_at)
        })
        .collect();
    store::sessions::set_expiry(tx, &entries).await
}

/// What a check is for, which decides whether a session read from the
/// database gets into a full memory (see `memory::ADMIT_ONE_IN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Someone is using it (the request is activity, or reports it): kept,
    /// so its activity is held and written once per interval.
    InUse,
    /// A background poll: kept if background requests count as activity
    /// under the account's rules, otherwise only at random when full.
    Polled,
    /// Checked on its way out: never needs keeping.
    Ending,
}

/// Whether the request itself counts as activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Yes, unless sent as a background request (and those do not count).
    Request,
    /// No: the handler decides (the activity endpoint, logout).
    Peek,
}

/// Tells the response middleware to send a new cookie for this session.
#[derive(Debug, Clone)]
pub struct ReissueCookie(pub actix_web::cookie::Cookie<'static>);

/// Reads a session from the database and keeps it in memory. A read that
/// an invalidation overtook (a logout or revocation committed meanwhile) is
/// not kept and is read again.
async fn load(sessions: &Sessions, key: TokenKey, used: Use) -> Result<(Hit, bool), ApiError> {
    let hash = hex::encode(key);
    let mut last = None;
    for _ in 0..3 {
        let epoch = sessions.memory.epoch();
        let Some(loaded) = sessions.reader.load(&hash).await? else {
            tracing::debug!(token = &hash[..8], "unknown session token");
            return Err(ApiError::Unauthenticated(UnauthenticatedReason::Invalid));
        };
        if let Some(reason) = loaded.ended {
            return Err(ApiError::Unauthenticated(reason.into()));
        }
        if !loaded.person_active {
            return Err(ApiError::Unauthenticated(EndReason::Revoked.into()));
        }
        let account = settings_at(sessions, loaded.row.account_id, loaded.settings_version).await?;
        let in_use = match used {
            Use::InUse => true,
            Use::Polled => account.settings.activity.background_requests_extend,
            Use::Ending => false,
        };
        if let Some(hit) = sessions
            .memory
            .insert(key, &loaded, account.clone(), epoch, in_use)
        {
            return Ok((hit, true));
        }
        let trusted = sessions.memory.trusted();
        last = Some((loaded, account));
        if !trusted {
            break; // a fresh read, used once and not kept
        }
    }
    match last {
        Some((loaded, account)) => Ok((Hit::detached(&loaded, account), true)),
        None => Err(ApiError::Unauthenticated(UnauthenticatedReason::Invalid)),
    }
}

/// The account's settings at `version` (the one read with a session) or
/// newer: held in memory, or read. A version's settings never change (every
/// change stores a new version), so settings held at that version are the
/// ones stored, whatever this process has or has not heard; the JSON is
/// read and parsed only when the version moved.
async fn settings_at(
    sessions: &Sessions,
    account_id: i64,
    version: i64,
) -> store::Result<Arc<AccountPolicy>> {
    if let Some(held) = sessions.memory.account_at(account_id, version) {
        return Ok(held);
    }
    read_policy(sessions, account_id).await
}

/// Re-reads what other replicas may have changed in a session held in
/// memory: their activity, a remember-me downgrade, its end.
async fn refresh(sessions: &Sessions, current: &Current) -> Result<(), ApiError> {
    let entry = &current.hit.entry;
    match store::sessions::reread(&sessions.store, &entry.id).await? {
        None => {
            sessions
                .memory
                .invalidated(&[Invalidation::Session(entry.id.to_string())]);
            Err(ApiError::Unauthenticated(UnauthenticatedReason::Invalid))
        }
        Some(fresh) => {
            if let Some(reason) = fresh.ended {
                sessions
                    .memory
                    .invalidated(&[Invalidation::Session(entry.id.to_string())]);
                return Err(ApiError::Unauthenticated(reason.into()));
            }
            entry.stored(fresh.last_activity_at);
            entry.saw_input(fresh.last_input_at);
            if !fresh.persistent {
                entry.forget_persistence();
            }
            Ok(())
        }
    }
}

/// Checks a session the way every request does: from memory, or loaded
/// (and kept); evaluated at the server's time; its row re-read before it is
/// warned or ended from memory (other replicas may have seen newer
/// activity), or whenever `reread`; ended on the spot past a deadline. The
/// error says why there is no live session.
pub async fn check(
    sessions: &Sessions,
    token: SessionToken,
    reread: bool,
    used: Use,
) -> Result<(Current, Evaluation), ApiError> {
    let key = token.key();
    let (hit, fresh) = match sessions.memory.get(&key) {
        Some(hit) => (hit, false),
        None => load(sessions, key, used).await?,
    };
    let current = Current { hit, token };

    let now = sessions.clock.now();
    let mut evaluation = current.evaluate(now);
    if !fresh && (reread || evaluation.verdict != Verdict::Active) {
        refresh(sessions, &current).await?;
        evaluation = current.evaluate(now);
    }
    if let Verdict::Expired(reason) = evaluation.verdict {
        current
            .end(sessions, reason, crate::store::audit::SYSTEM, now)
            .await?;
        tracing::info!(session = %current.session_id(), reason = reason.as_str(), "session expired at request");
        return Err(ApiError::Unauthenticated(reason.into()));
    }
    Ok((current, evaluation))
}

/// Signing in again from a browser that holds a live session ends that
/// session first (`logged_out`): a new sign-in is a new token, and the old
/// one must not live on beside it (ASVS 7.2.4). Returns whether one ended.
pub async fn end_previous(
    sessions: &Sessions,
    headers: &actix_web::http::header::HeaderMap,
    now: OffsetDateTime,
) -> Result<bool, ApiError> {
    let Some(token) = cookie::value_in(headers).and_then(SessionToken::from_cookie) else {
        return Ok(false);
    };
    match check(sessions, token, true, Use::Ending).await {
        Ok((current, _)) => {
            current
                .end(sessions, EndReason::LoggedOut, &current.user().email, now)
                .await
        }
        Err(ApiError::Unauthenticated(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

async fn authenticate(
    req: &HttpRequest,
    sessions: &Sessions,
    mode: Mode,
) -> Result<Current, ApiError> {
    // A request with a bearer token is the token's (SPEC): its cookies are
    // not read, so a route that takes only sessions refuses it.
    if crate::auth::bearer::presented(req.headers()).is_some() {
        return Err(ApiError::Unauthenticated(UnauthenticatedReason::Missing));
    }
    let Some(value) = cookie::value_in(req.headers()) else {
        return Err(ApiError::Unauthenticated(UnauthenticatedReason::Missing));
    };
    let Some(token) = SessionToken::from_cookie(value) else {
        return Err(ApiError::Unauthenticated(UnauthenticatedReason::Invalid));
    };
    let background = mode == Mode::Request
        && req
            .headers()
            .get("x-vigil-background")
            .is_some_and(|v| v.as_bytes() == b"1");
    let used = if background { Use::Polled } else { Use::InUse };
    let (current, evaluation) = check(sessions, token, false, used).await?;
    let now = sessions.clock.now();

    if mode == Mode::Request
        && (!background || current.settings().activity.background_requests_extend)
    {
        // A background poll is never input, even where it counts.
        current.touch(sessions, now, !background);
    }

    if current.hit.entry.persistent() && !evaluation.keep_persistent_cookie {
        // Remember-me was turned off for this audience: from now on the
        // session lives in a browser-session cookie.
        store::sessions::forget_persistence(&sessions.store, current.session_id()).await?;
        current.hit.entry.forget_persistence();
        req.extensions_mut()
            .insert(ReissueCookie(cookie::issue(&current.token, None)));
    }
    Ok(current)
}

/// The engine, registered as app data beside the application state.
fn sessions_of(req: &HttpRequest) -> Result<web::Data<Sessions>, ApiError> {
    req.app_data::<web::Data<Sessions>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the session engine is not registered")))
}

/// Extractor: a live session; the request counts as activity under the
/// account's rules.
#[derive(Debug)]
pub struct Authenticated(pub Current);

/// Extractor: a live session; the request itself is not activity.
#[derive(Debug)]
pub struct Peek(pub Current);

/// Extractor: a live session with the `manage_security` permission.
#[derive(Debug)]
pub struct SecurityAdmin(pub Current);

/// The one extraction path: authenticate in `mode`, then let `accept`
/// decide (and wrap) the session.
fn extract<T: 'static>(
    req: &HttpRequest,
    mode: Mode,
    accept: fn(Current) -> Result<T, ApiError>,
) -> LocalBoxFuture<'static, Result<T, ApiError>> {
    let req = req.clone();
    Box::pin(async move {
        let sessions = sessions_of(&req)?;
        accept(authenticate(&req, &sessions, mode).await?)
    })
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        extract(req, Mode::Request, |c| Ok(Authenticated(c)))
    }
}

impl FromRequest for Peek {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        extract(req, Mode::Peek, |c| Ok(Peek(c)))
    }
}

impl FromRequest for SecurityAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        extract(req, Mode::Request, |c| {
            if c.can_manage_security() {
                Ok(SecurityAdmin(c))
            } else {
                Err(ApiError::Forbidden(
                    "this needs the manage_security permission",
                ))
            }
        })
    }
}
