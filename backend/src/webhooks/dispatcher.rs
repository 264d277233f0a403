//! The dispatcher: each server runs one. It claims due deliveries with a
//! lease ([`LEASE`], renewed every [`RENEW_EVERY`] while an attempt runs),
//! so on PostgreSQL each delivery is attempted by one replica at a time
//! and a replica that dies mid-attempt leaves a claim that runs out within
//! [`LEASE`]: another replica, or this one restarted, attempts it again.
//!
//! Each attempt POSTs the event's stored body, signed for this attempt's
//! timestamp, and is recorded with its outcome in one transaction with the
//! delivery's next step: delivered, tried again after
//! `vigil_policy::webhooks::RETRY_DELAYS_SECS`, or given up. An endpoint
//! whose attempts have failed for 24 h is disabled and audited; the
//! deliveries that stopped are held until an admin enables it again.
//!
//! The dispatcher wakes when a transaction that wrote events commits in
//! this process, and polls every [`POLL`] (every [`IDLE_POLL`] when idle) for the rest (other replicas'
//! events, retries falling due, leases running out).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;
use vigil_policy::webhooks::{disabled_by_failures, next_attempt_at, WebhookFormat};

use super::caep;

use crate::clock::SharedClock;
use crate::outbound::Outbound;
use crate::random::random_hex;
use crate::store::audit::{self, Event, SYSTEM};
use crate::store::webhooks::{self as rows, Claimed, Next, Outcome};
use crate::store::{self, Store};

/// How long a claim holds without renewal.
pub const LEASE: time::Duration = time::Duration::seconds(5);

/// How often a running attempt renews its claim.
pub const RENEW_EVERY: Duration = Duration::from_secs(1);

/// Wait between looks for due deliveries while there is work about.
pub const POLL: Duration = Duration::from_secs(1);

/// Wait between looks after [`QUIET_AFTER`] looks in a row found nothing
/// (an idle server asks the database once every five seconds). A retry
/// due 5 s after a failure is still attempted within 10 s of it, and a
/// lease left by a dead server (5 s) within 10 s of the restart.
pub const IDLE_POLL: Duration = Duration::from_secs(5);

/// Empty looks in a row before the dispatcher waits [`IDLE_POLL`].
const QUIET_AFTER: u32 = 3;

/// Most deliveries attempted at once by one server.
const BATCH: i64 = 16;

/// How long finished events are kept for the delivery log.
const KEEP: time::Duration = time::Duration::days(30);

/// Longest error text kept for an attempt.
const ERROR_MAX: usize = 300;

/// What the dispatcher uses.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    /// The database.
    pub store: Store,
    /// The outbound client (its rules are checked again on every attempt).
    pub outbound: Outbound,
    /// The time.
    pub clock: SharedClock,
    /// The CAEP signing key, parsed once per generation.
    pub caep: super::caep::KeyCache,
}

impl Dispatcher {
    /// Claims a batch of due deliveries and attempts each, at once;
    /// returns how many it claimed.
    pub async fn run_once(&self) -> store::Result<usize> {
        let claim = random_hex(16);
        let now = self.clock.now();
        let claimed = rows::claim_due(&self.store, &claim, now, now + LEASE, BATCH).await?;
        let n = claimed.len();
        for result in join_all(claimed.into_iter().map(|c| self.attempt(c))).await {
            if let Err(e) = result {
                tracing::error!(error = %e, "recording a webhook attempt failed");
            }
        }
        Ok(n)
    }

    /// Attempts one claimed delivery and records the outcome.
    async fn attempt(&self, c: Claimed) -> store::Result<()> {
        let started = Instant::now();
        let at = self.clock.now();
        let Some((status_code, error)) = self.send(&c, at).await else {
            tracing::warn!(delivery = %c.id, "webhook claim lost during the attempt; not recorded");
            return Ok(());
        };
        let outcome = Outcome {
            at,
            status_code,
            delivered: error.is_none(),
            error,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let next = if outcome.delivered {
            rows::endpoint_succeeded(&mut tx, &c.endpoint_id).await?;
            Next::GiveUp
        } else {
            match rows::endpoint_failed(&mut tx, &c.endpoint_id, now).await? {
                Some(since) if disabled_by_failures(since, now) => {
                    self.disable(&mut tx, &c, since, now).await?;
                    Next::Held(now)
                }
                Some(_) => next_attempt_at(c.attempts + 1, now).map_or(Next::GiveUp, Next::At),
                // Disabled meanwhile (or removed: then the delivery goes
                // with it).
                None => Next::Held(now),
            }
        };
        if !rows::finish_attempt(&mut tx, &c.id, &c.claim, &outcome, next).await? {
            tracing::warn!(delivery = %c.id, "webhook claim lost before recording; not recorded");
            return Ok(());
        }
        tx.commit().await?;
        if !outcome.delivered {
            tracing::info!(
                delivery = %c.id,
                endpoint = %c.endpoint_id,
                status = ?outcome.status_code,
                error = outcome.error.as_deref().unwrap_or_default(),
                retry = matches!(next, Next::At(_)),
                "webhook attempt failed"
            );
        }
        Ok(())
    }

    async fn disable(
        &self,
        tx: &mut store::Tx,
        c: &Claimed,
        since: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> store::Result<()> {
        if rows::disable(tx, &c.endpoint_id, now).await? {
            audit::record(
                tx,
                now,
                Event {
                    account_id: c.account_id,
                    actor: SYSTEM,
                    action: audit::action::WEBHOOK_DISABLED,
                    target: Some(format!("webhook:{}", c.endpoint_id)),
                    details: json!({
                        "id": c.endpoint_id,
                        "url": c.url,
                        "failing_since": since.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                    }),
                },
            )
            .await?;
            tracing::warn!(endpoint = %c.endpoint_id, "webhook endpoint failing for 24 h: disabled");
        }
        Ok(())
    }

    /// Sends one attempt while renewing the claim; `None` when the claim
    /// was lost (then the attempt is abandoned), else the status code and
    /// what went wrong.
    async fn send(
        &self,
        c: &Claimed,
        at: time::OffsetDateTime,
    ) -> Option<(Option<u16>, Option<String>)> {
        let timestamp = at.unix_timestamp();
        let request = match c.format {
            WebhookFormat::StandardWebhooks => {
                let Some(signature) = super::sign(&c.secret, &c.event_id, timestamp, &c.payload)
                else {
                    return Some((None, Some("the endpoint's secret is unreadable".into())));
                };
                http::Request::post(&c.url)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .header("webhook-id", &c.event_id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header("webhook-signature", signature)
                    .body(c.payload.clone().into_bytes())
            }
            WebhookFormat::Caep => {
                let key = match self.caep.current(&self.store, at).await {
                    Ok(k) => k,
                    Err(e) => return Some((None, Some(format!("no CAEP signing key: {e}")))),
                };
                let set = caep::session_revoked(
                    &c.payload,
                    &c.event_id,
                    c.issuer.as_deref().unwrap_or_default(),
                    &c.url,
                    timestamp,
                )
                .and_then(|claims| key.sign(&claims));
                let Some(set) = set else {
                    return Some((None, Some("not an event a CAEP endpoint takes".into())));
                };
                http::Request::post(&c.url)
                    .header(http::header::CONTENT_TYPE, caep::CONTENT_TYPE)
                    .header(http::header::ACCEPT, "application/json")
                    .body(set.into_bytes())
            }
        };
        let request = match request {
            Ok(r) => r,
            Err(e) => return Some((None, Some(format!("not a URL: {e}")))),
        };
        let send = self.outbound.send(request);
        tokio::pin!(send);
        // The claim is ours while renewals succeed; past the last good
        // renewal's lease (less a margin) another replica may take it.
        let mut held_until = Instant::now() + lease_std() - RENEW_EVERY;
        let answer = loop {
            tokio::select! {
                answer = &mut send => break answer,
                () = tokio::time::sleep(RENEW_EVERY) => {
                    match rows::renew(&self.store, &c.id, &c.claim, self.clock.now() + LEASE).await {
                        Ok(true) => held_until = Instant::now() + lease_std() - RENEW_EVERY,
                        Ok(false) => return None,
                        Err(e) => tracing::warn!(error = %e, "renewing a webhook claim failed"),
                    }
                    if Instant::now() >= held_until {
                        return None;
                    }
                }
            }
        };
        Some(match answer {
            // RFC 8935: a receiver accepts a SET with 202.
            Ok(a) if c.format == WebhookFormat::Caep && a.status == 202 => (Some(a.status), None),
            Ok(a) if c.format == WebhookFormat::Caep => {
                let why = caep::receiver_error(&a.body)
                    .map(|e| format!(" ({})", e.chars().take(ERROR_MAX).collect::<String>()))
                    .unwrap_or_default();
                (
                    Some(a.status),
                    Some(format!(
                        "answered {}{why}; RFC 8935 accepts with 202",
                        a.status
                    )),
                )
            }
            Ok(a) if (200..300).contains(&a.status) => (Some(a.status), None),
            Ok(a) => (Some(a.status), Some(format!("answered {}", a.status))),
            Err(e) => (None, Some(e.to_string().chars().take(ERROR_MAX).collect())),
        })
    }
}

fn lease_std() -> Duration {
    Duration::from_millis(u64::try_from(LEASE.whole_milliseconds()).unwrap_or(5000))
}

/// Runs the dispatcher forever: a batch whenever events were written here,
/// every [`POLL`] while there is work about, every [`IDLE_POLL`] when
/// not; finished events older than 30 days are
/// forgotten about every ten minutes.
pub async fn run(d: Dispatcher) {
    let mut last_cleanup: Option<Instant> = None;
    let mut empty = 0u32;
    loop {
        match d.run_once().await {
            // A full batch: more may be due at once.
            Ok(n) if n as i64 >= BATCH => continue,
            Ok(0) => empty = empty.saturating_add(1),
            Ok(_) => empty = 0,
            Err(e) => tracing::error!(error = %e, "claiming webhook deliveries failed"),
        }
        if last_cleanup.is_none_or(|t| t.elapsed() >= Duration::from_secs(600)) {
            last_cleanup = Some(Instant::now());
            match rows::forget_finished(&d.store, d.clock.now() - KEEP, 1000).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "forgot finished webhook events"),
                Err(e) => tracing::error!(error = %e, "forgetting webhook events failed"),
            }
        }
        let wait = if empty >= QUIET_AFTER {
            IDLE_POLL
        } else {
            POLL
        };
        tokio::select! {
            () = d.store.outbox_written().notified() => empty = 0,
            () = tokio::time::sleep(wait) => {}
        }
    }
}
