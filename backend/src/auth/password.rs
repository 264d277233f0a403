//! Password hashing with argon2id on the blocking pool, with a bound on how
//! many hashes run at once so sign-in floods cannot starve the server.
//!
//! Two lanes: a share of the slots (a quarter, at least one) is kept for
//! browsers with a valid device cookie for the person signing in, with a
//! queue of its own. Junk sign-ins from elsewhere fill the open lane and
//! its queue and are refused (503); a known browser still gets a slot.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// A password as received; its Debug never shows it.
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(s: String) -> Self {
        Password(s)
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

fn argon2() -> anyhow::Result<Argon2<'static>> {
    // OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Why a password could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// More sign-ins are waiting for a hash slot than the queue allows:
    /// refused at once rather than delaying everybody.
    #[error("too many passwords waiting to be checked")]
    Busy,
    /// Hashing itself failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Which lane a password check waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Anybody: the open lane.
    Open,
    /// A browser with a valid device cookie for this person: the reserved
    /// lane, or the open one when it has a slot free.
    Known,
}

/// One lane's slots and queue.
#[derive(Debug)]
struct Slots {
    permits: Semaphore,
    waiting: AtomicUsize,
}

impl Slots {
    fn new(permits: usize) -> Arc<Slots> {
        Arc::new(Slots {
            permits: Semaphore::new(permits),
            waiting: AtomicUsize::new(0),
        })
    }

    /// Takes a place in this lane's queue, if one is free.
    fn enqueue(&self, queue: usize) -> Option<Queued<'_>> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Queued(&self.waiting))
    }
}

/// A place in a queue, given back when dropped (a sign-in whose client
/// went away included).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Hashes and verifies passwords, a bounded number at a time, with a
/// bounded queue, in two lanes (see the module docs).
#[derive(Debug, Clone)]
pub struct Hasher {
    open: Arc<Slots>,
    known: Arc<Slots>,
    queue: usize,
    rejected: Arc<std::sync::atomic::AtomicU64>,
    /// A real hash of a random password, verified against when the user does
    /// not exist so that the answer takes as long as for a real user.
    dummy_hash: Arc<String>,
}

impl Hasher {
    /// A hasher allowing `concurrency` hashes at once and `queue` more
    /// waiting for a slot in each lane. A quarter of the slots (at least
    /// one) are kept for known browsers; with one slot there is one per
    /// lane, so two may run at once.
    pub async fn new(concurrency: usize, queue: usize) -> anyhow::Result<Hasher> {
        let (open, known) = lanes(concurrency);
        let dummy = crate::random::random_hex(16);
        let dummy_hash = tokio::task::spawn_blocking(move || hash_blocking(&dummy))
            .await
            .context("hashing task failed")??;
        Ok(Hasher {
            open: Slots::new(open),
            known: Slots::new(known),
            queue,
            rejected: Arc::default(),
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    /// How many hashes are waiting for a slot, in both lanes.
    pub fn waiting(&self) -> usize {
        self.open.waiting.load(Ordering::Relaxed) + self.known.waiting.load(Ordering::Relaxed)
    }

    /// How many sign-ins were refused because the queue was full.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Refuses at once (`Busy`, counted as rejected) when `lane` has
    /// neither a free slot nor room in its queue, so that a sign-in that
    /// would be refused anyway does no other work first (throttle writes).
    /// Only a hint: the slot is taken later and may be gone by then.
    pub fn check_room(&self, lane: Lane) -> Result<(), HashError> {
        let room = |slots: &Slots| {
            slots.permits.available_permits() > 0
                || slots.waiting.load(Ordering::Acquire) < self.queue
        };
        let ok = match lane {
            Lane::Open => room(&self.open),
            Lane::Known => self.open.permits.available_permits() > 0 || room(&self.known),
        };
        if ok {
            return Ok(());
        }
        self.rejected.fetch_add(1, Ordering::Relaxed);
        Err(HashError::Busy)
    }

    async fn slot(&self, lane: Lane) -> Result<tokio::sync::SemaphorePermit<'_>, HashError> {
        if let Ok(permit) = self.open.permits.try_acquire() {
            return Ok(permit);
        }
        let busy = || {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            HashError::Busy
        };
        let permit = match lane {
            Lane::Open => {
                let _queued = self.open.enqueue(self.queue).ok_or_else(busy)?;
                self.open.permits.acquire().await
            }
            Lane::Known => {
                if let Ok(permit) = self.known.permits.try_acquire() {
                    return Ok(permit);
                }
                let _queued = self.known.enqueue(self.queue).ok_or_else(busy)?;
                // Whichever lane frees a slot first; the other wait is
                // dropped, which leaves its semaphore's queue.
                tokio::select! {
                    p = self.known.permits.acquire() => p,
                    p = self.open.permits.acquire() => p,
                }
            }
        };
        Ok(permit.context("hasher closed")?)
    }

    /// Hashes a new password (an admin or the command line setting one:
    /// the open lane).
    #[tracing::instrument(name = "hash password", skip_all)]
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let _permit = self.slot(Lane::Open).await?;
        let span = tracing::Span::current();
        Ok(
            tokio::task::spawn_blocking(move || span.in_scope(|| hash_blocking(&password.0)))
                .await
                .context("hashing task failed")??,
        )
    }

    /// Checks a password against a stored hash, or against the dummy hash
    /// when there is none; `false` in that case whatever the password.
    /// `lane` is where it waits for a slot.
    #[tracing::instrument(name = "verify password", skip_all)]
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
        lane: Lane,
    ) -> Result<bool, HashError> {
        let _permit = self.slot(lane).await?;
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        let span = tracing::Span::current();
        let ok = tokio::task::spawn_blocking(move || {
            span.in_scope(|| -> anyhow::Result<bool> {
                let parsed =
                    PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
                Ok(argon2()?
                    .verify_password(password.0.as_bytes(), &parsed)
                    .is_ok())
            })
        })
        .await
        .context("verifying task failed")??;
        Ok(ok && real)
    }
}

/// Slots of the open lane and of the known browsers' lane for
/// `concurrency` hashes at once.
fn lanes(concurrency: usize) -> (usize, usize) {
    let concurrency = concurrency.max(1);
    let known = (concurrency / 4).max(1);
    ((concurrency - known).max(1), known)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_of_the_slots_is_kept_for_known_browsers() {
        for (concurrency, open, known) in [(1, 1, 1), (2, 1, 1), (4, 3, 1), (8, 6, 2), (16, 12, 4)]
        {
            assert_eq!(lanes(concurrency), (open, known), "{concurrency} slots");
        }
    }

    #[tokio::test]
    async fn a_known_browser_gets_a_slot_while_the_open_lane_is_full() {
        let hasher = Hasher {
            open: Slots::new(1),
            known: Slots::new(1),
            queue: 0,
            rejected: Arc::default(),
            dummy_hash: Arc::new(String::new()),
        };
        let _busy = hasher.slot(Lane::Open).await.unwrap();
        assert!(hasher.check_room(Lane::Open).is_err());
        assert!(hasher.check_room(Lane::Known).is_ok());
        assert!(matches!(
            hasher.slot(Lane::Open).await,
            Err(HashError::Busy)
        ));
        let known = hasher.slot(Lane::Known).await.unwrap();
        assert!(matches!(
            hasher.slot(Lane::Known).await,
            Err(HashError::Busy)
        ));
        drop(known);
        assert!(hasher.slot(Lane::Known).await.is_ok());
        assert_eq!(hasher.rejected(), 3);
        assert_eq!(hasher.waiting(), 0);
    }
}
