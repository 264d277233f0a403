//! Coalesced last-activity writes.
//!
//! Writing a session row on every request would make the database the
//! bottleneck of every click. Instead a request's activity is recorded in
//! the session's memory entry, and a session's `last_activity_at` is written
//! at most once per *write interval* W: the first activity after a write
//! queues the session, due W after the activity last written, and the
//! flusher (four times a second) writes every due session, sixty-four to a
//! statement. Only `last_activity_at` is written (see `store::sessions`).
//!
//! Why this moves no deadline, not even by W:
//! - this server evaluates a session with the newest activity it saw, so its
//!   own verdicts use the exact last activity;
//! - held activity from instant `t` (with `t < stored + W`) is written by
//!   `stored + W + tick`, and W is at most a quarter of the idle timeout and
//!   the flusher ticks every quarter second, so it reaches the database
//!   before the stored idle deadline `stored + idle` could pass: another
//!   replica, or the sweeper, never sees a stale deadline in time to act on it;
//! - the absolute deadline does not depend on activity at all.
//!
//! One exception makes a write sooner: activity arriving within a second of
//! the warning instant computed from the stored activity is written at once,
//! so that a live channel on another replica, which re-reads the row just
//! before it would let its browser warn, sees it (see `live`).
//!
//! What can be lost is only held activity of a replica that crashes (a
//! graceful shutdown flushes it): at most W of activity, so such a session
//! can end at most W early.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};
use vigil_policy::{evaluate, AudiencePolicy, SessionTimes};

use super::memory::Entry;
use crate::store::sessions::{write_activity, ActivityWrite};
use crate::store::{self, to_ms};

/// A queued session and when its write falls due.
#[derive(Debug)]
struct Due {
    at_ms: i64,
    entry: Arc<Entry>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.at_ms == other.at_ms
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    /// Earliest first out of the (max-)heap.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other.at_ms.cmp(&self.at_ms)
    }
}

/// Sessions with activity held for writing.
#[derive(Debug)]
pub struct Activity {
    queue: Mutex<BinaryHeap<Due>>,
    interval_secs: u64,
    writes: AtomicU64,
}

impl Activity {
    /// Writing each session at most every `interval_secs`.
    pub fn new(interval_secs: u64) -> Self {
        Activity {
            queue: Mutex::new(BinaryHeap::new()),
            interval_secs,
            writes: AtomicU64::new(0),
        }
    }

    /// The write interval for a policy: the configured interval, but never
    /// more than a quarter of the idle timeout (see the module docs).
    pub fn interval_for(&self, idle_secs: u64) -> Duration {
        let ms = (self.interval_secs.saturating_mul(1000)).min(idle_secs.saturating_mul(250));
        Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// How many last-activity writes this process has made.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BinaryHeap<Due>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records activity at `now` for a session under `policy`; `input`
    /// when it was the person's input (not a call or hidden-tab heartbeat,
    /// not a background poll).
    pub fn touch(
        &self,
        entry: &Arc<Entry>,
        policy: &AudiencePolicy,
        now: OffsetDateTime,
        input: bool,
    ) {
        if input {
            entry.saw_input(now);
        }
        entry.saw_activity(now);
        if entry.dirty.swap(true, Ordering::AcqRel) {
            return; // queued already
        }
        let base = entry.write_base();
        let regular = base + self.interval_for(policy.idle_timeout_secs);
        // Another replica's live channel warns from the stored activity:
        // write before that warning would show, so it never shows wrongly.
        let stored = SessionTimes {
            created_at: entry.created_at,
            last_activity_at: base,
            persistent: false,
        };
        let warned = evaluate(policy, stored, now).warn_at - Duration::seconds(1);
        self.queue(entry.clone(), regular.min(warned).max(now));
    }

    fn queue(&self, entry: Arc<Entry>, at: OffsetDateTime) {
        self.lock().push(Due {
            at_ms: to_ms(at),
            entry,
        });
    }

    /// Takes the sessions due at `now` (all of them with `all`).
    fn take_due(&self, now: OffsetDateTime, all: bool) -> Vec<Arc<Entry>> {
        let now_ms = to_ms(now);
        let mut queue = self.lock();
        let mut out = Vec::new();
        while queue.peek().is_some_and(|d| all || d.at_ms <= now_ms) {
            if let Some(d) = queue.pop() {
                out.push(d.entry);
            }
        }
        out
    }
}

/// Writes held activity whose interval is up (all of it with `all`);
/// returns how many sessions were written.
pub async fn flush(
    store: &store::Store,
    activity: &Activity,
    now: OffsetDateTime,
    all: bool,
) -> store::Result<usize> {
    let due = activity.take_due(now, all);
    if due.is_empty() {
        return Ok(0);
    }
    let mut pending: Vec<(Arc<Entry>, OffsetDateTime)> = Vec::with_capacity(due.len());
    for entry in due {
        // Cleared before reading the activity, so a touch from now on
        // queues the session again; the activity read is claimed at once,
        // so such a touch is due a whole interval after it, not now.
        entry.dirty.store(false, Ordering::SeqCst);
        let last = entry.last_activity();
        entry.claim(last);
        if entry.is_ended() || last <= entry.stored_activity() {
            continue;
        }
        pending.push((entry, last));
    }
    let writes: Vec<ActivityWrite> = pending
        .iter()
        .map(|(entry, last)| ActivityWrite {
            session_id: entry.id.to_string(),
            last_activity_at: *last,
            last_input_at: entry.last_input(),
        })
        .collect();
    let done = match write_activity(store, &writes).await {
        Ok(done) => done,
        Err(e) => {
            // Nothing is lost: queue them again for the next tick.
            for (entry, _) in pending {
                if !entry.dirty.swap(true, Ordering::AcqRel) {
                    activity.queue(entry, now);
                }
            }
            return Err(e);
        }
    };
    // Not written: ended, or newer activity is stored already.
    let done: std::collections::HashSet<String> = done.into_iter().collect();
    for (entry, last) in &pending {
        if done.contains(&*entry.id) {
            entry.stored(*last);
        }
    }
    activity
        .writes
        .fetch_add(done.len() as u64, Ordering::Relaxed);
    Ok(done.len())
}
