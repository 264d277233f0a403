//! Password hashing with argon2id on the blocking pool, with a bound on how
//! many hashes run at once so sign-in floods cannot starve the server.

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

/// Hashes and verifies passwords, a bounded number at a time, with a
/// bounded queue.
#[derive(Debug, Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    queue: usize,
    rejected: Arc<std::sync::atomic::AtomicU64>,
    /// A real hash of a random password, verified against when the user does
    /// not exist so that the answer takes as long as for a real user.
    dummy_hash: Arc<String>,
}

impl Hasher {
    /// A hasher allowing `concurrency` hashes at once and `queue` more
    /// waiting for a slot.
    pub async fn new(concurrency: usize, queue: usize) -> anyhow::Result<Hasher> {
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        let dummy = crate::random::random_hex(16);
        let dummy_hash = tokio::task::spawn_blocking(move || hash_blocking(&dummy))
            .await
            .context("hashing task failed")??;
        Ok(Hasher {
            permits,
            waiting: Arc::new(AtomicUsize::new(0)),
            queue,
            rejected: Arc::default(),
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    /// How many hashes are waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// How many sign-ins were refused because the queue was full.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashError> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(HashError::Busy);
        }
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        Ok(permit.context("hasher closed")?)
    }

    /// Hashes a new password.
    #[tracing::instrument(name = "hash password", skip_all)]
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let _permit = self.slot().await?;
        let span = tracing::Span::current();
        Ok(
            tokio::task::spawn_blocking(move || span.in_scope(|| hash_blocking(&password.0)))
                .await
                .context("hashing task failed")??,
        )
    }

    /// Checks a password against a stored hash, or against the dummy hash
    /// when there is none; `false` in that case whatever the password.
    #[tracing::instrument(name = "verify password", skip_all)]
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let _permit = self.slot().await?;
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

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?
        .to_string())
}
