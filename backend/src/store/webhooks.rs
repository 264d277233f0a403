//! Webhooks (`webhook_endpoints`, `webhook_events`, `webhook_deliveries`,
//! `webhook_attempts`): an account's endpoints, the outbox of events with
//! one delivery per subscribed endpoint, the dispatcher's claims and every
//! attempt it made.
//!
//! Events are written inside the transaction that causes them
//! ([`write_events`]), and only when an enabled endpoint of the account is
//! subscribed: an account without webhooks pays one indexed read.
//! Deliveries are claimed with a lease (`claim`, `locked_until`): on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas claim disjoint
//! rows; a lease that runs out (its replica died) makes the delivery due
//! again.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::webhooks::{subscribed, DeliveryAttempt, DeliveryStatus, Webhook, WebhookFormat};

use super::db::{get_bool, get_time};
use super::{for_update, from_ms, placeholders, to_ms, Dialect, Result, Store, StoreError, Tx};

/// A stored endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The public view.
    pub view: Webhook,
    /// Account.
    pub account_id: i64,
    /// The signing secret (`whsec_…`): never returned after creation
    /// (empty for CAEP).
    pub secret: String,
    /// CAEP: the SETs' `iss`.
    pub issuer: Option<String>,
}

const ENDPOINT_COLUMNS: &str =
    "id, account_id, url, events, description, secret, enabled, created_at, failing_since, disabled_at, format, issuer";

fn format_of(r: &AnyRow) -> Result<WebhookFormat> {
    let format: String = r.try_get("format")?;
    WebhookFormat::parse(&format)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown webhook format {format:?}")))
}

fn opt_time(r: &AnyRow, col: &str) -> Result<Option<OffsetDateTime>> {
    Ok(r.try_get::<Option<i64>, _>(col)?.map(from_ms))
}

fn endpoint_from(r: &AnyRow) -> Result<Endpoint> {
    let events: String = r.try_get("events")?;
    Ok(Endpoint {
        view: Webhook {
            id: r.try_get("id")?,
            url: r.try_get("url")?,
            events: events.split_whitespace().map(str::to_owned).collect(),
            description: r.try_get("description")?,
            format: format_of(r)?,
            enabled: get_bool(r, "enabled")?,
            created_at: get_time(r, "created_at")?,
            failing_since: opt_time(r, "failing_since")?,
            disabled_at: opt_time(r, "disabled_at")?,
        },
        account_id: r.try_get("account_id")?,
        secret: r.try_get("secret")?,
        issuer: r.try_get("issuer")?,
    })
}

/// Stores a new endpoint.
pub async fn insert(tx: &mut Tx, e: &Endpoint) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, account_id, url, events, description, secret, enabled, created_at, format, issuer)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&e.view.id)
    .bind(e.account_id)
    .bind(&e.view.url)
    .bind(e.view.events.join(" "))
    .bind(&e.view.description)
    .bind(&e.secret)
    .bind(e.view.enabled)
    .bind(to_ms(e.view.created_at))
    .bind(e.view.format.as_str())
    .bind(&e.issuer)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// How many endpoints an account has, with the account's row locked first
/// (PostgreSQL; SQLite's write transaction excludes other writers), so two
/// additions at once count one after the other and the limit holds.
pub async fn count_locked(tx: &mut Tx, account_id: i64) -> Result<i64> {
    let lock = format!(
        "SELECT id FROM accounts WHERE id = $1 {}",
        for_update(tx.dialect(), "FOR UPDATE")
    );
    sqlx::query(&lock)
        .bind(account_id)
        .fetch_optional(tx.conn())
        .await?;
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(tx.conn())
            .await?
            .try_get("n")?,
    )
}

/// An account's endpoints, oldest first.
pub async fn list(store: &Store, account_id: i64) -> Result<Vec<Endpoint>> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 ORDER BY created_at, id"
    );
    sqlx::query(&sql)
        .bind(account_id)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(endpoint_from)
        .collect()
}

/// One endpoint of an account.
pub async fn get(store: &Store, account_id: i64, id: &str) -> Result<Option<Endpoint>> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 AND id = $2"
    );
    sqlx::query(&sql)
        .bind(account_id)
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .as_ref()
        .map(endpoint_from)
        .transpose()
}

/// Deletes an endpoint of an account with its deliveries (events no
/// delivery needs any more go too); false when there was none.
pub async fn delete(tx: &mut Tx, account_id: i64, id: &str) -> Result<bool> {
    let gone = sqlx::query("DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected()
        > 0;
    if gone {
        sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        delete_unneeded_events(tx, account_id).await?;
    }
    Ok(gone)
}

async fn delete_unneeded_events(tx: &mut Tx, account_id: i64) -> Result<()> {
    sqlx::query(
        "DELETE FROM webhook_events WHERE account_id = $1
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)",
    )
    .bind(account_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// An event to write to the outbox.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Its id (`webhook-id`).
    pub id: String,
    /// Account.
    pub account_id: i64,
    /// Event type.
    pub event_type: &'static str,
    /// The exact body every attempt sends.
    pub payload: String,
}

/// Writes events and one delivery per enabled endpoint subscribed to each,
/// inside the caller's transaction; events nobody subscribed to are not
/// written. Returns how many deliveries it wrote. `new_id` makes delivery
/// ids.
pub async fn write_events(
    tx: &mut Tx,
    events: &[NewEvent],
    now: OffsetDateTime,
    new_id: impl Fn() -> String,
) -> Result<usize> {
    let mut endpoints: HashMap<i64, Vec<(String, Vec<String>)>> = HashMap::new();
    let mut written = 0;
    for e in events {
        if let std::collections::hash_map::Entry::Vacant(slot) = endpoints.entry(e.account_id) {
            let rows = sqlx::query(
                "SELECT id, events FROM webhook_endpoints WHERE account_id = $1 AND enabled = TRUE",
            )
            .bind(e.account_id)
            .fetch_all(tx.conn())
            .await?;
            let list = rows
                .iter()
                .map(|r| {
                    let events: String = r.try_get("events")?;
                    Ok((
                        r.try_get::<String, _>("id")?,
                        events.split_whitespace().map(str::to_owned).collect(),
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            slot.insert(list);
        }
        let targets: Vec<&str> = endpoints
            .get(&e.account_id)
            .into_iter()
            .flatten()
            .filter(|(_, events)| subscribed(events, e.event_type))
            .map(|(id, _)| id.as_str())
            .collect();
        if targets.is_empty() {
            continue;
        }
        sqlx::query(
            "INSERT INTO webhook_events (id, account_id, type, payload, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&e.id)
        .bind(e.account_id)
        .bind(e.event_type)
        .bind(&e.payload)
        .bind(to_ms(now))
        .execute(tx.conn())
        .await?;
        for endpoint in targets {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, status, attempts, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
            )
            .bind(new_id())
            .bind(&e.id)
            .bind(endpoint)
            .bind(to_ms(now))
            .execute(tx.conn())
            .await?;
            written += 1;
        }
    }
    if written > 0 {
        tx.wrote_outbox();
    }
    Ok(written)
}

/// A claimed delivery, with what an attempt needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Delivery id.
    pub id: String,
    /// The lease's token: only its holder may renew or finish it.
    pub claim: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The event's id (`webhook-id`).
    pub event_id: String,
    /// The body.
    pub payload: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// Its account.
    pub account_id: i64,
    /// Where to send it.
    pub url: String,
    /// The signing secret (Standard Webhooks).
    pub secret: String,
    /// What the endpoint receives.
    pub format: WebhookFormat,
    /// CAEP: the SETs' `iss`.
    pub issuer: Option<String>,
}

/// Claims up to `limit` due deliveries until `lease_until`, under `claim`.
/// On PostgreSQL rows another replica is claiming are skipped, not waited
/// for; SQLite has one writer. Deliveries whose endpoint is gone are
/// dropped first.
pub async fn claim_due(
    store: &Store,
    claim: &str,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Claimed>> {
    let sql = format!(
        "UPDATE webhook_deliveries SET claim = $1, locked_until = $2
         WHERE id IN (
             SELECT d.id FROM webhook_deliveries d
             WHERE d.status = 'pending' AND d.next_attempt_at <= $3
               AND (d.locked_until IS NULL OR d.locked_until <= $3)
             ORDER BY d.next_attempt_at
             LIMIT $4 {})
         RETURNING id",
        for_update(store.dialect(), "FOR UPDATE SKIP LOCKED")
    );
    let ids: Vec<String> = sqlx::query(&sql)
        .bind(claim)
        .bind(to_ms(lease_until))
        .bind(to_ms(now))
        .bind(limit)
        .fetch_all(&mut *store.writer().await?)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT d.id, d.claim, d.attempts, d.event_id, d.endpoint_id, ev.payload,
                e.account_id, e.url, e.secret, e.enabled, e.format, e.issuer
         FROM webhook_deliveries d
         JOIN webhook_events ev ON ev.id = d.event_id
         LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.claim = $1 AND d.id IN ({})",
        placeholders(2, ids.len())
    );
    let mut q = sqlx::query(&sql).bind(claim);
    for id in &ids {
        q = q.bind(id);
    }
    let mut out = Vec::new();
    let mut stopped = Vec::new();
    for r in q.fetch_all(store.pool()).await? {
        let id: String = r.try_get("id")?;
        let url: Option<String> = r.try_get("url")?;
        let url = match url {
            Some(url) if get_bool(&r, "enabled")? => url,
            _ => {
                stopped.push(id);
                continue;
            }
        };
        out.push(Claimed {
            id,
            claim: r.try_get("claim")?,
            attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(0),
            event_id: r.try_get("event_id")?,
            payload: r.try_get("payload")?,
            endpoint_id: r.try_get("endpoint_id")?,
            account_id: r.try_get("account_id")?,
            url,
            secret: r.try_get("secret")?,
            format: format_of(&r)?,
            issuer: r.try_get("issuer")?,
        });
    }
    for id in stopped {
        // Its endpoint was disabled (or deleted) while the event was being
        // written or the delivery claimed: it fails as `disable` leaves
        // the endpoint's pending deliveries, its time kept for `enable`
        // (a deleted endpoint is never enabled).
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed', claim = NULL, locked_until = NULL
             WHERE id = $1 AND claim = $2",
        )
        .bind(&id)
        .bind(claim)
        .execute(&mut *store.writer().await?)
        .await?;
    }
    Ok(out)
}

/// Extends a lease; false when it is no longer this claim's.
pub async fn renew(
    store: &Store,
    delivery_id: &str,
    claim: &str,
    lease_until: OffsetDateTime,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE webhook_deliveries SET locked_until = $1 WHERE id = $2 AND claim = $3 AND status = 'pending'",
    )
    .bind(to_ms(lease_until))
    .bind(delivery_id)
    .bind(claim)
    .execute(&mut *store.writer().await?)
    .await?
    .rows_affected()
        > 0)
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When it was made.
    pub at: OffsetDateTime,
    /// The endpoint's status code, when it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// Delivered (a 2xx answer).
    pub delivered: bool,
}

/// What becomes of a delivery whose attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Tried again at this time.
    At(OffsetDateTime),
    /// Given up: it had every attempt it gets.
    GiveUp,
    /// Its endpoint is disabled: failed, and held for [`enable`] like the
    /// deliveries [`disable`] stopped (the time is kept as
    /// `next_attempt_at`). An attempt in flight when its endpoint is
    /// disabled ends this way: [`disable`] leaves claimed deliveries to
    /// their attempts.
    Held(OffsetDateTime),
}

/// Records an attempt on a delivery this claim holds: the attempt row and
/// the delivery's new state (`next` when it was not delivered). False when
/// the claim was lost meanwhile (nothing written).
pub async fn finish_attempt(
    tx: &mut Tx,
    delivery_id: &str,
    claim: &str,
    outcome: &Outcome,
    next: Next,
) -> Result<bool> {
    let (status, next) = match next {
        _ if outcome.delivered => (DeliveryStatus::Delivered, None),
        Next::At(t) => (DeliveryStatus::Pending, Some(t)),
        Next::GiveUp => (DeliveryStatus::Failed, None),
        Next::Held(t) => (DeliveryStatus::Failed, Some(t)),
    };
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1, next_attempt_at = $2,
             claim = NULL, locked_until = NULL, last_status_code = $3, delivered_at = $4
         WHERE id = $5 AND claim = $6",
    )
    .bind(status.as_str())
    .bind(next.map(to_ms))
    .bind(outcome.status_code.map(i64::from))
    .bind(outcome.delivered.then(|| to_ms(outcome.at)))
    .bind(delivery_id)
    .bind(claim)
    .execute(tx.conn())
    .await?
    .rows_affected()
        > 0;
    if !updated {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(delivery_id)
    .bind(to_ms(outcome.at))
    .bind(outcome.status_code.map(i64::from))
    .bind(&outcome.error)
    .bind(outcome.duration_ms)
    .execute(tx.conn())
    .await?;
    Ok(true)
}

/// Marks an endpoint healthy after a delivery.
pub async fn endpoint_succeeded(tx: &mut Tx, endpoint_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
    )
    .bind(endpoint_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Notes a failed attempt on an endpoint; returns since when it has been
/// failing, or `None` when the endpoint is gone or already disabled.
pub async fn endpoint_failed(
    tx: &mut Tx,
    endpoint_id: &str,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>> {
    let row = sqlx::query(
        "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1)
         WHERE id = $2 AND enabled = TRUE RETURNING failing_since",
    )
    .bind(to_ms(now))
    .bind(endpoint_id)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| get_time(&r, "failing_since").map_err(StoreError::from))
        .transpose()
}

/// Disables an endpoint; its pending deliveries fail (those being attempted
/// right now finish on their own, as [`Next::Held`]). False when it was not
/// enabled.
///
/// A delivery the disabling stopped is marked as held: `failed` with its
/// `next_attempt_at` kept (a pending delivery always has one; a delivery
/// that was delivered or gave up has none; the API shows `next_attempt_at`
/// of pending ones only), so that [`enable`] sends it again, whether it was
/// due or waiting for a later retry.
pub async fn disable(tx: &mut Tx, endpoint_id: &str, now: OffsetDateTime) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE webhook_endpoints SET enabled = FALSE, disabled_at = $1 WHERE id = $2 AND enabled = TRUE",
    )
    .bind(to_ms(now))
    .bind(endpoint_id)
    .execute(tx.conn())
    .await?
    .rows_affected()
        > 0;
    if changed {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed'
             WHERE endpoint_id = $1 AND status = 'pending' AND claim IS NULL",
        )
        .bind(endpoint_id)
        .execute(tx.conn())
        .await?;
    }
    Ok(changed)
}

/// Enables a disabled endpoint of an account again: its failure clock
/// starts over and every delivery its disabling held (see [`disable`]) is
/// due now, carrying on with the attempts it had left (at least one).
/// `None` when there is no such endpoint or it was not disabled, else how
/// many deliveries are due again.
pub async fn enable(
    tx: &mut Tx,
    account_id: i64,
    endpoint_id: &str,
    now: OffsetDateTime,
) -> Result<Option<u64>> {
    let changed = sqlx::query(
        "UPDATE webhook_endpoints SET enabled = TRUE, failing_since = NULL, disabled_at = NULL
         WHERE account_id = $1 AND id = $2 AND enabled = FALSE",
    )
    .bind(account_id)
    .bind(endpoint_id)
    .execute(tx.conn())
    .await?
    .rows_affected()
        > 0;
    if !changed {
        return Ok(None);
    }
    let held = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1,
             claim = NULL, locked_until = NULL
         WHERE endpoint_id = $2 AND status = 'failed' AND next_attempt_at IS NOT NULL",
    )
    .bind(to_ms(now))
    .bind(endpoint_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if held > 0 {
        tx.wrote_outbox();
    }
    Ok(Some(held))
}

/// Makes a delivery of an (enabled) endpoint due now, whatever its state;
/// false when there is no such delivery.
pub async fn retry_now(
    tx: &mut Tx,
    endpoint_id: &str,
    delivery_id: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1
         WHERE id = $2 AND endpoint_id = $3",
    )
    .bind(to_ms(now))
    .bind(delivery_id)
    .bind(endpoint_id)
    .execute(tx.conn())
    .await?
    .rows_affected()
        > 0;
    if changed {
        tx.wrote_outbox();
    }
    Ok(changed)
}

/// A delivery as the admin API shows it, without its attempts.
fn delivery_from(r: &AnyRow) -> Result<vigil_policy::webhooks::Delivery> {
    let status: String = r.try_get("status")?;
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery status {status:?}")))?;
    Ok(vigil_policy::webhooks::Delivery {
        id: r.try_get("id")?,
        event_id: r.try_get("event_id")?,
        event_type: r.try_get("type")?,
        attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(0),
        status,
        last_status_code: r
            .try_get::<Option<i64>, _>("last_status_code")?
            .and_then(|c| u16::try_from(c).ok()),
        next_attempt_at: if status == DeliveryStatus::Pending {
            opt_time(r, "next_attempt_at")?
        } else {
            None
        },
        delivered_at: opt_time(r, "delivered_at")?,
        created_at: get_time(r, "created_at")?,
        attempt_log: Vec::new(),
    })
}

/// An endpoint's latest `limit` deliveries, newest first, each with its
/// attempts, newest first.
pub async fn deliveries(
    store: &Store,
    endpoint_id: &str,
    limit: i64,
) -> Result<Vec<vigil_policy::webhooks::Delivery>> {
    let rows = sqlx::query(
        "SELECT d.id, d.event_id, ev.type, d.attempts, d.status, d.last_status_code,
                d.next_attempt_at, d.delivered_at, d.created_at
         FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
         WHERE d.endpoint_id = $1
         ORDER BY d.created_at DESC, d.id DESC LIMIT $2",
    )
    .bind(endpoint_id)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    let mut out: Vec<_> = rows.iter().map(delivery_from).collect::<Result<_>>()?;
    if out.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_attempts
         WHERE delivery_id IN ({}) ORDER BY id DESC",
        placeholders(1, out.len())
    );
    let mut q = sqlx::query(&sql);
    for d in &out {
        q = q.bind(&d.id);
    }
    let mut attempts: HashMap<String, Vec<DeliveryAttempt>> = HashMap::new();
    for r in q.fetch_all(store.pool()).await? {
        attempts
            .entry(r.try_get("delivery_id")?)
            .or_default()
            .push(DeliveryAttempt {
                at: get_time(&r, "at")?,
                status_code: r
                    .try_get::<Option<i64>, _>("status_code")?
                    .and_then(|c| u16::try_from(c).ok()),
                error: r.try_get("error")?,
                duration_ms: r.try_get("duration_ms")?,
            });
    }
    for d in &mut out {
        d.attempt_log = attempts.remove(&d.id).unwrap_or_default();
    }
    Ok(out)
}

/// Forgets events older than `before` whose deliveries are all finished
/// (delivered or failed), with their deliveries and attempts; at most
/// `limit` events a call. Returns how many went.
pub async fn forget_finished(store: &Store, before: OffsetDateTime, limit: i64) -> Result<u64> {
    let dialect = store.dialect();
    let sql = format!(
        "DELETE FROM webhook_events WHERE id IN (
             SELECT ev.id FROM webhook_events ev
             WHERE ev.created_at < $1
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                               WHERE d.event_id = ev.id AND d.status = 'pending')
             LIMIT $2 {})",
        match dialect {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        }
    );
    let mut tx = store.begin().await?;
    // Attempts go with their deliveries, deliveries with their events
    // (ON DELETE CASCADE).
    let n = sqlx::query(&sql)
        .bind(to_ms(before))
        .bind(limit)
        .execute(tx.conn())
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// A CAEP signing key as stored (`caep_signing_keys`).
pub struct SigningKeyRow {
    /// 1, 2, …: the newest signs.
    pub generation: i64,
    /// Its `kid`.
    pub kid: String,
    /// PKCS#1 PEM: never returned by any API, never logged.
    pub private_key: String,
    /// The public key as a JWK (JSON).
    pub public_jwk: String,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("generation", &self.generation)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The newest `n` CAEP signing keys, newest first.
pub async fn signing_keys(store: &Store, n: i64) -> Result<Vec<SigningKeyRow>> {
    sqlx::query(
        "SELECT generation, kid, private_key, public_jwk FROM caep_signing_keys
         ORDER BY generation DESC LIMIT $1",
    )
    .bind(n)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(SigningKeyRow {
            generation: r.try_get("generation")?,
            kid: r.try_get("kid")?,
            private_key: r.try_get("private_key")?,
            public_jwk: r.try_get("public_jwk")?,
        })
    })
    .collect()
}

/// Stores a signing key as generation `key.generation` unless that
/// generation exists already (another replica made it first); true when
/// this one was stored.
pub async fn insert_signing_key(
    store: &Store,
    key: &SigningKeyRow,
    now: OffsetDateTime,
) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO caep_signing_keys (generation, kid, private_key, public_jwk, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (generation) DO NOTHING",
    )
    .bind(key.generation)
    .bind(&key.kid)
    .bind(&key.private_key)
    .bind(&key.public_jwk)
    .bind(to_ms(now))
    .execute(&mut *store.writer().await?)
    .await?
    .rows_affected()
        > 0)
}
