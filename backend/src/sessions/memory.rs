//! Live sessions held in this process's memory, so that checking a session
//! seen before touches no database.
//!
//! Three maps under one lock: sessions by token hash (and their ids), people
//! by id, and each account's settings by account id — shared by every
//! session of the account at that version, not copied into each. Nothing
//! expires by age. An entry leaves when:
//! - a committed change makes it stale ([`Memory::invalidated`]): a session
//!   ended, an account's settings or a person changed — here or, heard over
//!   PostgreSQL's LISTEN/NOTIFY, on another replica;
//! - the memory is over its cap: the least recently used sessions go;
//! - the replica stops trusting its memory (below).
//!
//! **Fills never resurrect what an invalidation removed.** Every
//! invalidation bumps an epoch under the write lock; a check that read the
//! database keeps what it read only if the epoch has not moved since it
//! started reading ([`Memory::insert`]), so a check that read a session
//! before its logout or revocation committed cannot put it back after.
//!
//! **Trust.** On PostgreSQL a replica trusts its memory only while its
//! listening connection is up and it has heard its own heartbeat within
//! [`STALE_AFTER`]; otherwise every check reads the database and nothing is
//! kept. When trust returns over a new connection the memory is emptied
//! first, so no change missed while deaf survives; a heartbeat merely late on
//! a connection that stayed up missed nothing, and the memory stays (see
//! [`Memory::heard_heartbeat`]). SQLite is one process: its memory is always
//! trusted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use vigil_policy::api::UserView;
use vigil_policy::sso::SignInMethod;
use vigil_policy::{Audience, SecuritySettings, SessionTimes};

use super::live::Live;
use crate::store::sessions::{Loaded, SessionRow};
use crate::store::{from_ms, to_ms, Invalidation, Subscriber};

/// SHA-256 of a session token.
pub type TokenKey = [u8; 32];

/// How long a replica trusts its memory after last hearing its own
/// heartbeat on the notification channel.
pub const STALE_AFTER: Duration = Duration::from_secs(2);

/// A live session as this process knows it. Its activity is kept here:
/// the newest this process saw, and the newest known to be stored.
#[derive(Debug)]
pub struct Entry {
    /// Public id (shared with the id index, not copied).
    pub id: Arc<str>,
    /// Account.
    pub account_id: i64,
    /// Owner.
    pub user_id: i64,
    /// Which policy applies.
    pub audience: Audience,
    /// Sign-in.
    pub created_at: OffsetDateTime,
    /// How it began.
    pub method: SignInMethod,
    /// Its sign-in or last re-authentication, as far as this process
    /// knows (only for the view: the guard reads the stored time).
    authenticated_ms: AtomicI64,
    persistent: AtomicBool,
    last_activity_ms: AtomicI64,
    /// The newest input this process knows of (see `SessionRow::last_input_at`).
    last_input_ms: AtomicI64,
    stored_activity_ms: AtomicI64,
    /// Activity a flush took to write (stored once the write returns).
    claimed_activity_ms: AtomicI64,
    /// Activity held for the flusher (see `activity`).
    pub(super) dirty: AtomicBool,
    ended: AtomicBool,
    /// A live channel follows this session (activity wakes it).
    watched: AtomicBool,
    last_used: AtomicU64,
}

impl Entry {
    fn new(l: &Loaded) -> Entry {
        let last = to_ms(l.row.last_activity_at);
        Entry {
            id: Arc::from(l.row.id.as_str()),
            account_id: l.row.account_id,
            user_id: l.row.user_id,
            audience: l.row.audience,
            created_at: l.row.created_at,
            method: l.row.method,
            authenticated_ms: AtomicI64::new(to_ms(l.row.authenticated_at)),
            persistent: AtomicBool::new(l.row.persistent),
            last_activity_ms: AtomicI64::new(last),
            last_input_ms: AtomicI64::new(to_ms(l.row.last_input_at)),
            stored_activity_ms: AtomicI64::new(last),
            claimed_activity_ms: AtomicI64::new(last),
            dirty: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            watched: AtomicBool::new(false),
            last_used: AtomicU64::new(0),
        }
    }

    /// Whether the session has a persistent cookie.
    pub fn persistent(&self) -> bool {
        self.persistent.load(Ordering::Relaxed)
    }

    /// The session lives in a browser-session cookie from now on.
    pub fn forget_persistence(&self) {
        self.persistent.store(false, Ordering::Relaxed);
    }

    /// The session's sign-in or last re-authentication known here.
    pub fn authenticated_at(&self) -> OffsetDateTime {
        from_ms(self.authenticated_ms.load(Ordering::Acquire))
    }

    /// The session authenticated again at `at` (never moves it back).
    pub fn reauthenticated(&self, at: OffsetDateTime) {
        self.authenticated_ms.fetch_max(to_ms(at), Ordering::AcqRel);
    }

    /// The newest activity this process knows of.
    pub fn last_activity(&self) -> OffsetDateTime {
        from_ms(self.last_activity_ms.load(Ordering::Acquire))
    }

    /// The newest activity known to be stored.
    pub fn stored_activity(&self) -> OffsetDateTime {
        from_ms(self.stored_activity_ms.load(Ordering::Acquire))
    }

    /// A flush is writing activity up to `at`.
    pub(super) fn claim(&self, at: OffsetDateTime) {
        self.claimed_activity_ms
            .fetch_max(to_ms(at), Ordering::AcqRel);
    }

    /// What the next write interval counts from: the newest activity stored
    /// or being written.
    pub(super) fn write_base(&self) -> OffsetDateTime {
        from_ms(
            self.stored_activity_ms
                .load(Ordering::Acquire)
                .max(self.claimed_activity_ms.load(Ordering::Acquire)),
        )
    }

    /// Records activity at `at` (never moves it back).
    pub(super) fn saw_activity(&self, at: OffsetDateTime) {
        self.last_activity_ms.fetch_max(to_ms(at), Ordering::AcqRel);
    }

    /// Records input at `at`: stored, or seen here (never moves it back).
    pub fn saw_input(&self, at: OffsetDateTime) {
        self.last_input_ms.fetch_max(to_ms(at), Ordering::AcqRel);
    }

    /// The newest input this process knows of.
    pub fn last_input(&self) -> OffsetDateTime {
        from_ms(self.last_input_ms.load(Ordering::Acquire))
    }

    /// Records that the database holds activity at `at` (written here, or
    /// read back from another replica's write).
    pub fn stored(&self, at: OffsetDateTime) {
        let ms = to_ms(at);
        self.stored_activity_ms.fetch_max(ms, Ordering::AcqRel);
        self.last_activity_ms.fetch_max(ms, Ordering::AcqRel);
    }

    /// Times for the deadline rule, with the newest activity known here.
    pub fn times(&self) -> SessionTimes {
        SessionTimes {
            created_at: self.created_at,
            last_activity_at: self.last_activity(),
            persistent: self.persistent(),
        }
    }

    /// A live channel follows this session: activity recorded here wakes it.
    pub fn watch(&self) {
        if !self.watched.load(Ordering::Relaxed) {
            self.watched.store(true, Ordering::Relaxed);
        }
    }

    /// Whether a live channel followed this session here.
    pub fn watched(&self) -> bool {
        self.watched.load(Ordering::Relaxed)
    }

    /// Whether the session is known to have ended.
    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }
}

/// An account's settings at one version, shared by its sessions.
#[derive(Debug)]
pub struct AccountPolicy {
    /// Account.
    pub account_id: i64,
    /// Settings version.
    pub version: i64,
    /// The settings.
    pub settings: SecuritySettings,
}

/// A session with its person and its account's settings.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The session.
    pub entry: Arc<Entry>,
    /// Its owner.
    pub person: Arc<UserView>,
    /// Its account's settings.
    pub account: Arc<AccountPolicy>,
}

impl Hit {
    /// A session read from the database and not kept in memory, under
    /// its account's settings `account`.
    pub fn detached(l: &Loaded, account: Arc<AccountPolicy>) -> Hit {
        Hit {
            entry: Arc::new(Entry::new(l)),
            person: Arc::new(l.person.clone()),
            account,
        }
    }
}

/// Who gets into a full memory: least-recently-used eviction alone
/// collapses when sessions are checked in a cycle larger than the cap (a
/// requester portal's remembered sessions polled in turn): each arrival
/// evicts the session that will be checked soonest, and nothing is ever
/// found. So when memory is full, a session only polled in the background
/// gets in at random, one time in this many: the held set changes slowly
/// enough that a share of such a cycle is still answered from memory (the
/// bench's 500,000-session run shows how much), while a session in use
/// always gets in at once.
pub const ADMIT_ONE_IN: u32 = 16;

/// An eviction drops this share of the held sessions (one in this many).
const EVICT_ONE_IN: usize = 32;

fn admitted_at_random() -> bool {
    rand::random::<u32>() % ADMIT_ONE_IN == 0
}

#[derive(Debug, Default)]
struct Inner {
    by_token: HashMap<TokenKey, Arc<Entry>>,
    by_id: HashMap<Arc<str>, TokenKey>,
    people: HashMap<i64, Arc<UserView>>,
    accounts: HashMap<i64, Arc<AccountPolicy>>,
}

#[derive(Debug)]
enum Trust {
    /// One process (SQLite): always trusted.
    Local,
    /// Replicas (PostgreSQL): trusted while the listener hears its heartbeat.
    Listened {
        listening: AtomicBool,
        /// Milliseconds after `Memory::started` of the last heartbeat heard.
        heard_ms: AtomicU64,
    },
}

/// This process's live sessions. See the module docs.
#[derive(Debug)]
pub struct Memory {
    inner: RwLock<Inner>,
    epoch: AtomicU64,
    /// Times the memory was emptied, holding sessions, because it could not be trusted.
    resets: AtomicU64,
    /// Times a late heartbeat stopped trust for a while (memory kept).
    late_heartbeats: AtomicU64,
    capacity: usize,
    trust: Trust,
    started: Instant,
    /// The live channels, woken by what changes here.
    pub live: Arc<Live>,
}

impl Memory {
    /// Memory for one process of a SQLite deployment.
    pub fn local(capacity: usize) -> Memory {
        Memory::with_trust(capacity, Trust::Local)
    }

    /// Memory for a replica that learns of other replicas' changes over a
    /// listening connection; untrusted until that connection hears its
    /// first heartbeat.
    pub fn listened(capacity: usize) -> Memory {
        Memory::with_trust(
            capacity,
            Trust::Listened {
                listening: AtomicBool::new(false),
                heard_ms: AtomicU64::new(0),
            },
        )
    }

    fn with_trust(capacity: usize, trust: Trust) -> Memory {
        Memory {
            inner: RwLock::default(),
            epoch: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            late_heartbeats: AtomicU64::new(0),
            capacity: capacity.max(1),
            trust,
            started: Instant::now(),
            live: Arc::default(),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether memory may answer checks now.
    pub fn trusted(&self) -> bool {
        match &self.trust {
            Trust::Local => true,
            Trust::Listened {
                listening,
                heard_ms,
            } => {
                listening.load(Ordering::Acquire) && {
                    let heard = Duration::from_millis(heard_ms.load(Ordering::Acquire));
                    self.started.elapsed().saturating_sub(heard) < STALE_AFTER
                }
            }
        }
    }

    /// The listening connection is gone: stop trusting memory until it
    /// hears its heartbeat again.
    pub fn listener_lost(&self) {
        if let Trust::Listened { listening, .. } = &self.trust {
            listening.store(false, Ordering::Release);
            self.reset();
        }
    }

    /// Empties the memory because it may have missed changes.
    fn reset(&self) {
        if !self.is_empty() {
            self.resets.fetch_add(1, Ordering::Relaxed);
        }
        self.clear();
    }

    /// How many times the memory, holding sessions, was emptied because it
    /// could not be trusted (a lost listening connection, or a heartbeat
    /// heard late). Each one sends every check to the database until the
    /// memory fills again.
    pub fn resets(&self) -> u64 {
        self.resets.load(Ordering::Relaxed)
    }

    /// How many times a heartbeat heard late, on a connection that stayed
    /// up, had stopped trust for a while: checks read the database until it
    /// came, and the memory was kept.
    pub fn late_heartbeats(&self) -> u64 {
        self.late_heartbeats.load(Ordering::Relaxed)
    }

    /// The listener heard this replica's own heartbeat: every change
    /// committed before it was sent has been heard.
    ///
    /// The first heartbeat over a new listening connection (at start, or
    /// after [`Memory::listener_lost`]) empties the memory first: changes
    /// committed while no connection listened were never delivered, and a
    /// check that read the database meanwhile must not keep what it read.
    /// A heartbeat that is merely late, on a connection that stayed up
    /// (the database or this process was slow for a moment), brings trust
    /// back with the memory as it is: one connection delivers notifications
    /// in commit order, so every change committed before this heartbeat was
    /// heard, and applied, before it. Meanwhile checks read the database.
    pub fn heard_heartbeat(&self) {
        if let Trust::Listened {
            listening,
            heard_ms,
        } = &self.trust
        {
            let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let late = !self.trusted();
            let new_connection = !listening.load(Ordering::Acquire);
            if new_connection {
                self.reset();
            } else if late {
                tracing::warn!(
                    silent_ms = now.saturating_sub(heard_ms.load(Ordering::Acquire)),
                    trusted_for_ms = STALE_AFTER.as_millis(),
                    "own heartbeat heard late: checks read the database meanwhile; \
                     trusted again, nothing was missed (the connection stayed up)"
                );
                self.late_heartbeats.fetch_add(1, Ordering::Relaxed);
            }
            heard_ms.store(now, Ordering::Release);
            listening.store(true, Ordering::Release);
            if new_connection {
                // Changes may have been missed while deaf.
                self.live.wake_all();
            }
        }
    }

    /// The current epoch; read it before reading the database for a fill.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The session with this token hash, its person and account settings,
    /// if all three are held and memory is trusted.
    pub fn get(&self, key: &TokenKey) -> Option<Hit> {
        if !self.trusted() {
            return None;
        }
        let inner = self.read();
        let entry = inner.by_token.get(key)?;
        let hit = Hit {
            person: inner.people.get(&entry.user_id)?.clone(),
            account: inner.accounts.get(&entry.account_id)?.clone(),
            entry: entry.clone(),
        };
        drop(inner);
        self.used(&hit.entry);
        Some(hit)
    }

    /// Keeps what a check read from the database, with the account's
    /// settings at the version read or newer (`account`), unless an
    /// invalidation happened since `epoch` (then `None`: read again) or
    /// memory is not trusted. A session already held keeps its entry, and so
    /// its activity; settings held at `account`'s version or newer stay.
    ///
    /// When memory is full, a session only polled in the background
    /// (`in_use` false) is let in one time in [`ADMIT_ONE_IN`] and otherwise
    /// served from what was read, not kept (see [`ADMIT_ONE_IN`]); a session
    /// someone is using (`in_use`: the request counts as activity) always
    /// comes in, so its activity is held and written once per interval.
    pub fn insert(
        &self,
        key: TokenKey,
        l: &Loaded,
        account: Arc<AccountPolicy>,
        epoch: u64,
        in_use: bool,
    ) -> Option<Hit> {
        if !self.trusted() {
            return None;
        }
        let mut inner = self.write();
        if self.epoch.load(Ordering::Acquire) != epoch {
            return None;
        }
        let entry = match inner.by_token.get(&key) {
            Some(e) => {
                e.stored(l.row.last_activity_at);
                e.saw_input(l.row.last_input_at);
                e.reauthenticated(l.row.authenticated_at);
                if !l.row.persistent {
                    e.forget_persistence();
                }
                e.clone()
            }
            None => {
                // Full: within an eviction's worth of the cap, so that
                // the room an eviction makes is not refilled at once.
                let full = inner.by_token.len() >= self.capacity - self.capacity / EVICT_ONE_IN;
                if full && !in_use && !admitted_at_random() {
                    return Some(Hit::detached(l, account));
                }
                let e = Arc::new(Entry::new(l));
                inner.by_token.insert(key, e.clone());
                inner.by_id.insert(e.id.clone(), key);
                e
            }
        };
        self.used(&entry);
        let person = Arc::new(l.person.clone());
        inner.people.insert(l.person.id, person.clone());
        let account = match inner.accounts.get(&account.account_id) {
            Some(a) if a.version >= account.version => a.clone(),
            _ => {
                inner.accounts.insert(account.account_id, account.clone());
                account
            }
        };
        if inner.by_token.len() > self.capacity {
            self.evict(&mut inner, &key);
        }
        Some(Hit {
            entry,
            person,
            account,
        })
    }

    /// Marks an entry used now, for eviction: a coarse clock (seconds), and
    /// written only when it moved, so checks running at once on several
    /// threads do not fight over one cache line.
    fn used(&self, entry: &Entry) {
        let now = self.started.elapsed().as_secs();
        if entry.last_used.load(Ordering::Relaxed) != now {
            entry.last_used.store(now, Ordering::Relaxed);
        }
    }

    /// Drops the least recently used thirty-second of the sessions (at
    /// least one), and the people and accounts no session refers to any
    /// more. Choosing them walks every entry, so it runs once per that
    /// many admissions, not per check. Never the session just let in
    /// (`keep`), which may share its second of last use with many others.
    fn evict(&self, inner: &mut Inner, keep: &TokenKey) {
        let mut ages: Vec<(u64, TokenKey)> = inner
            .by_token
            .iter()
            .filter(|(k, _)| *k != keep)
            .map(|(k, e)| (e.last_used.load(Ordering::Relaxed), *k))
            .collect();
        let n = (ages.len() / EVICT_ONE_IN).max(1).min(ages.len());
        ages.select_nth_unstable(n - 1);
        for (_, key) in &ages[..n] {
            if let Some(e) = inner.by_token.remove(key) {
                inner.by_id.remove(&e.id);
            }
        }
        let (people, accounts): (
            std::collections::HashSet<i64>,
            std::collections::HashSet<i64>,
        ) = inner
            .by_token
            .values()
            .map(|e| (e.user_id, e.account_id))
            .unzip();
        inner.people.retain(|id, _| people.contains(id));
        inner.accounts.retain(|id, _| accounts.contains(id));
    }

    /// An account's settings, if held.
    pub fn account(&self, account_id: i64) -> Option<Arc<AccountPolicy>> {
        if !self.trusted() {
            return None;
        }
        self.read().accounts.get(&account_id).cloned()
    }

    /// An account's settings held at `version` or newer. Trust does not
    /// matter here: the version comes from the database, and a version's
    /// settings never change.
    pub fn account_at(&self, account_id: i64, version: i64) -> Option<Arc<AccountPolicy>> {
        self.read()
            .accounts
            .get(&account_id)
            .filter(|a| a.version >= version)
            .cloned()
    }

    /// Keeps an account's settings read at `epoch` (see [`Memory::insert`]).
    pub fn insert_account(&self, policy: Arc<AccountPolicy>, epoch: u64) {
        if !self.trusted() {
            return;
        }
        let mut inner = self.write();
        if self.epoch.load(Ordering::Acquire) == epoch {
            let newer = inner
                .accounts
                .get(&policy.account_id)
                .is_some_and(|a| a.version > policy.version);
            if !newer {
                inner.accounts.insert(policy.account_id, policy);
            }
        }
    }

    /// The held session with this id, if any.
    pub fn by_id(&self, session_id: &str) -> Option<Arc<Entry>> {
        let inner = self.read();
        let key = inner.by_id.get(session_id)?;
        inner.by_token.get(key).cloned()
    }

    /// A stored row's last activity, or later activity this process holds
    /// for it and has not written yet.
    pub fn last_activity_of(&self, row: &SessionRow) -> OffsetDateTime {
        self.by_id(&row.id).map_or(row.last_activity_at, |held| {
            row.last_activity_at.max(held.last_activity())
        })
    }

    /// How many sessions are held.
    pub fn len(&self) -> usize {
        self.read().by_token.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything (and bumps the epoch, so fills in flight are not
    /// kept either).
    pub fn clear(&self) {
        let mut inner = self.write();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        *inner = Inner::default();
    }
}

impl Subscriber for Memory {
    fn invalidated(&self, what: &[Invalidation]) {
        let mut inner = self.write();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for w in what {
            match w {
                Invalidation::Session(id) => {
                    if let Some(key) = inner.by_id.remove(id.as_str()) {
                        if let Some(e) = inner.by_token.remove(&key) {
                            e.ended.store(true, Ordering::Release);
                        }
                    }
                }
                Invalidation::Account(id) => {
                    inner.accounts.remove(id);
                }
                Invalidation::Person(id) => {
                    inner.people.remove(id);
                }
            }
        }
        drop(inner);
        self.live.invalidated(what);
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use vigil_policy::api::Role;

    use super::*;
    use crate::store::sessions::CheckRow;

    fn settings(version: i64) -> Arc<AccountPolicy> {
        Arc::new(AccountPolicy {
            account_id: 1,
            version,
            settings: SecuritySettings::default(),
        })
    }

    fn loaded(i: usize) -> (TokenKey, Loaded) {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let at = datetime!(2026-11-25 12:00 UTC);
        let row = CheckRow {
            id: format!("{i:032x}"),
            account_id: 1,
            user_id: i as i64,
            audience: Audience::Requesters,
            persistent: true,
            created_at: at,
            last_activity_at: at,
            last_input_at: at,
            authenticated_at: at,
            method: SignInMethod::Password,
        };
        let person = UserView {
            id: i as i64,
            email: format!("r{i}@example.test"),
            display_name: String::new(),
            role: Role::Requester,
            permissions: Vec::new(),
        };
        let l = Loaded {
            row,
            ended: None,
            person,
            person_active: true,
            settings_version: 1,
        };
        (key, l)
    }

    /// Checks `n` sessions in turn, `passes` times, the way a check does
    /// (memory first, else "read" and insert); the share found in memory
    /// in the last pass.
    fn cycle(memory: &Memory, n: usize, passes: usize, in_use: bool) -> f64 {
        let rows: Vec<_> = (0..n).map(loaded).collect();
        let mut found = 0;
        for _ in 0..passes {
            found = 0;
            for (key, l) in &rows {
                if memory.get(key).is_some() {
                    found += 1;
                } else {
                    let epoch = memory.epoch();
                    assert!(memory.insert(*key, l, settings(1), epoch, in_use).is_some());
                }
            }
            assert!(memory.len() <= 1_000, "held {}", memory.len());
        }
        found as f64 / n as f64
    }

    #[test]
    fn a_cycle_of_polls_larger_than_the_cap_is_still_partly_answered_from_memory() {
        // Five times the cap, polled in turn: plain LRU would find none.
        let polled = cycle(&Memory::local(1_000), 5_000, 6, false);
        assert!(polled > 0.08, "found {polled:.3} of the cycle in memory");
        // The best any cache of this size can do is a fifth.
        assert!(polled <= 0.2, "found {polled:.3}");
    }

    #[test]
    fn when_full_sessions_in_use_always_get_in_and_polled_ones_rarely() {
        let memory = Memory::local(1_000);
        cycle(&memory, 1_000, 1, true);
        assert_eq!(memory.len(), 1_000, "full");
        for i in 1_000..1_100 {
            let (key, l) = loaded(i);
            assert!(memory
                .insert(key, &l, settings(1), memory.epoch(), true)
                .is_some());
            assert!(memory.get(&key).is_some(), "session {i} in use is held");
        }
        let mut kept = 0;
        for i in 2_000..5_200 {
            let (key, l) = loaded(i);
            assert!(memory
                .insert(key, &l, settings(1), memory.epoch(), false)
                .is_some());
            if memory.get(&key).is_some() {
                kept += 1;
            }
        }
        // One in ADMIT_ONE_IN of 3,200: 200 expected.
        assert!((100..=320).contains(&kept), "kept {kept} of 3,200 polled");
        assert!(memory.len() <= 1_000);
    }

    #[test]
    fn settings_are_reused_only_at_the_version_read_or_newer() {
        let memory = Memory::local(1_000);
        let (key, l) = loaded(1);
        let hit = memory.insert(key, &l, settings(3), memory.epoch(), true);
        assert_eq!(hit.map(|h| h.account.version), Some(3));
        assert_eq!(memory.account_at(1, 3).map(|a| a.version), Some(3));
        assert_eq!(memory.account_at(1, 2).map(|a| a.version), Some(3));
        assert!(
            memory.account_at(1, 4).is_none(),
            "older than the version read"
        );
        assert!(memory.account_at(2, 1).is_none(), "another account");
        // Settings read at a newer version replace the held ones; older
        // ones never do.
        let (key, l) = loaded(2);
        let hit = memory.insert(key, &l, settings(4), memory.epoch(), true);
        assert_eq!(hit.map(|h| h.account.version), Some(4));
        let (key, l) = loaded(3);
        let hit = memory.insert(key, &l, settings(2), memory.epoch(), true);
        assert_eq!(hit.map(|h| h.account.version), Some(4));
        // A change heard drops them.
        memory.invalidated(&[Invalidation::Account(1)]);
        assert!(memory.account_at(1, 1).is_none());
    }

    #[test]
    fn below_the_cap_everything_is_kept() {
        let memory = Memory::local(1_000);
        assert_eq!(cycle(&memory, 900, 2, false), 1.0);
        assert_eq!(memory.len(), 900);
    }
}
