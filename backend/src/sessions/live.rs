//! Who is listening on the live channel (`GET /api/session/events`), and
//! waking them when their session may have changed.
//!
//! Each open channel registers a [`Watch`] for its session, at most
//! `VIGIL_CHANNELS_PER_SESSION` per session (each is a socket and a task). Whatever can
//! change what a session's owner should see wakes the channels concerned;
//! a woken channel checks its session again, the way a request would, and
//! sends what changed (see `routes::session::events`). The wakers:
//! - a committed invalidation, made here or heard from another replica
//!   (`Memory` forwards them): the session ended, its account's settings or
//!   its person changed;
//! - activity recorded here for a watched session (another device or tab
//!   on this replica moved the deadline);
//! - memory becoming trusted again after a deaf spell (anything may have
//!   been missed: every channel checks);
//! - shutdown: every channel closes, so browsers reconnect elsewhere.
//!
//! A wake is a `Notify` permit: it is never lost, even when the channel is
//! busy sending, and several wakes before the channel looks are one check.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::store::Invalidation;

#[derive(Debug)]
struct Watcher {
    session_id: String,
    account_id: i64,
    user_id: i64,
    notify: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Watchers {
    by_id: HashMap<u64, Watcher>,
    /// Watcher ids by session id (one browser's channel, rarely more).
    by_session: HashMap<String, Vec<u64>>,
}

impl Watchers {
    fn wake_session(&self, session_id: &str) {
        for id in self.by_session.get(session_id).into_iter().flatten() {
            if let Some(watcher) = self.by_id.get(id) {
                watcher.notify.notify_one();
            }
        }
    }
}

/// The open channels of this process.
#[derive(Debug, Default)]
pub struct Live {
    watchers: Mutex<Watchers>,
    next_id: AtomicU64,
    closing: AtomicBool,
}

/// An open channel's registration; dropping it unregisters.
#[derive(Debug)]
pub struct Watch {
    live: Arc<Live>,
    id: u64,
    notify: Arc<Notify>,
}

impl Watch {
    /// Waits for the next wake (returns at once if one came meanwhile).
    pub async fn woken(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut w = self.live.lock();
        if let Some(watcher) = w.by_id.remove(&self.id) {
            if let Some(ids) = w.by_session.get_mut(&watcher.session_id) {
                ids.retain(|id| *id != self.id);
                if ids.is_empty() {
                    w.by_session.remove(&watcher.session_id);
                }
            }
        }
    }
}

impl Live {
    fn lock(&self) -> MutexGuard<'_, Watchers> {
        self.watchers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a channel for a session, unless the session has `limit`
    /// open already (then `None`). Counted and registered under one lock,
    /// so channels opened at once cannot pass the limit together.
    pub fn watch(
        self: &Arc<Self>,
        session_id: &str,
        account_id: i64,
        user_id: i64,
        limit: usize,
    ) -> Option<Watch> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let notify = Arc::new(Notify::new());
        let mut w = self.lock();
        if w.by_session.get(session_id).map_or(0, Vec::len) >= limit {
            return None;
        }
        w.by_id.insert(
            id,
            Watcher {
                session_id: session_id.to_owned(),
                account_id,
                user_id,
                notify: notify.clone(),
            },
        );
        w.by_session
            .entry(session_id.to_owned())
            .or_default()
            .push(id);
        drop(w);
        Some(Watch {
            live: self.clone(),
            id,
            notify,
        })
    }

    /// How many channels are open.
    pub fn open(&self) -> usize {
        self.lock().by_id.len()
    }

    /// Wakes the channels of one session.
    pub fn session_changed(&self, session_id: &str) {
        self.lock().wake_session(session_id);
    }

    /// Wakes the channels an invalidation concerns. Sessions are looked up;
    /// accounts and people (rare: a settings or permission change) scan.
    pub fn invalidated(&self, what: &[Invalidation]) {
        let w = self.lock();
        if w.by_id.is_empty() {
            return;
        }
        for change in what {
            match change {
                Invalidation::Session(id) => w.wake_session(id),
                Invalidation::Account(account) => w
                    .by_id
                    .values()
                    .filter(|x| x.account_id == *account)
                    .for_each(|x| x.notify.notify_one()),
                Invalidation::Person(person) => w
                    .by_id
                    .values()
                    .filter(|x| x.user_id == *person)
                    .for_each(|x| x.notify.notify_one()),
            }
        }
    }

    /// Wakes every channel (memory was emptied: anything may have changed).
    pub fn wake_all(&self) {
        self.lock()
            .by_id
            .values()
            .for_each(|x| x.notify.notify_one());
    }

    /// The server is shutting down: every channel closes when woken.
    pub fn close_all(&self) {
        self.closing.store(true, Ordering::Release);
        self.wake_all();
    }

    /// Whether channels should close.
    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn woken_within(watch: &Watch, ms: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(ms), watch.woken())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn wakes_reach_the_channels_they_concern_and_no_others() {
        let live = Arc::new(Live::default());
        let a = live.watch("s1", 1, 10, 16).unwrap();
        let b = live.watch("s2", 1, 11, 16).unwrap();
        let c = live.watch("s3", 2, 12, 16).unwrap();
        live.invalidated(&[Invalidation::Session("s1".into())]);
        assert!(woken_within(&a, 50).await);
        assert!(!woken_within(&b, 20).await);
        live.invalidated(&[Invalidation::Account(1)]);
        assert!(woken_within(&a, 50).await && woken_within(&b, 50).await);
        assert!(!woken_within(&c, 20).await);
        live.invalidated(&[Invalidation::Person(12)]);
        assert!(woken_within(&c, 50).await);
        live.session_changed("s2");
        assert!(woken_within(&b, 50).await);
        assert!(!woken_within(&a, 20).await);
    }

    #[tokio::test]
    async fn a_dropped_watch_is_forgotten() {
        let live = Arc::new(Live::default());
        let a = live.watch("s1", 1, 10, 16).unwrap();
        let b = live.watch("s1", 1, 10, 16).unwrap();
        assert_eq!(live.open(), 2);
        drop(a);
        assert_eq!(live.open(), 1);
        live.session_changed("s1");
        assert!(woken_within(&b, 50).await);
        drop(b);
        assert_eq!(live.open(), 0);
        assert!(live.lock().by_session.is_empty());
    }

    #[tokio::test]
    async fn a_session_holds_at_most_its_limit_of_channels() {
        let live = Arc::new(Live::default());
        let mut held: Vec<Watch> = (0..3)
            .map(|_| live.watch("s1", 1, 10, 3).unwrap())
            .collect();
        assert!(live.watch("s1", 1, 10, 3).is_none(), "the fourth");
        assert!(live.watch("s2", 1, 10, 3).is_some(), "another session");
        held.pop();
        assert!(live.watch("s1", 1, 10, 3).is_some(), "after one closed");
    }

    #[tokio::test]
    async fn closing_wakes_everyone() {
        let live = Arc::new(Live::default());
        let a = live.watch("s1", 1, 10, 16).unwrap();
        live.close_all();
        assert!(live.closing());
        assert!(woken_within(&a, 50).await);
    }
}
