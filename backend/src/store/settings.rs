//! Each account's security settings (`security_settings`): one versioned
//! JSON document per account. [`parse`] is the one place stored settings are
//! read back.

use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::api::SettingsEnvelope;
use vigil_policy::{Limits, SecuritySettings};

use super::{from_ms, to_ms, Invalidation, Result, Store, StoreError, Tx};

/// Stored settings of one account.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Version.
    pub version: i64,
    /// Settings.
    pub settings: SecuritySettings,
    /// Last change.
    pub updated_at: OffsetDateTime,
    /// Who made it.
    pub updated_by: Option<String>,
}

impl Stored {
    /// The API shape.
    pub fn envelope(self, limits: Limits) -> SettingsEnvelope {
        SettingsEnvelope {
            version: self.version,
            settings: self.settings,
            limits,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
        }
    }
}

/// Parses settings JSON as stored.
pub(crate) fn parse(json: &str) -> Result<SecuritySettings> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("stored security settings: {e}")))
}

const LOAD_SQL: &str = "SELECT ss.version, ss.settings, ss.updated_at, u.email AS updated_by
     FROM security_settings ss LEFT JOIN users u ON u.id = ss.updated_by
     WHERE ss.account_id = $1";

fn stored_from(row: &sqlx::any::AnyRow) -> Result<Stored> {
    Ok(Stored {
        version: row.try_get("version")?,
        settings: parse(&row.try_get::<String, _>("settings")?)?,
        updated_at: from_ms(row.try_get("updated_at")?),
        updated_by: row.try_get("updated_by")?,
    })
}

/// The account's settings.
pub async fn load(store: &Store, account_id: i64) -> Result<Stored> {
    let row = sqlx::query(LOAD_SQL)
        .bind(account_id)
        .fetch_one(store.pool())
        .await?;
    stored_from(&row)
}

/// The account's settings, read inside a transaction.
pub async fn load_in(tx: &mut Tx, account_id: i64) -> Result<Stored> {
    let row = sqlx::query(LOAD_SQL)
        .bind(account_id)
        .fetch_one(tx.conn())
        .await?;
    stored_from(&row)
}

/// Stores the first settings of a new account.
pub async fn create(tx: &mut Tx, account_id: i64, now: OffsetDateTime) -> Result<()> {
    let json = serde_json::to_string(&SecuritySettings::default())
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO security_settings (account_id, version, settings, updated_at, updated_by) VALUES ($1, 1, $2, $3, NULL)",
    )
    .bind(account_id)
    .bind(json)
    .bind(to_ms(now))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Stores new settings if the stored version is still `expected_version`.
/// Returns the new version, or `Err(current)` on a conflict. Every replica
/// drops the account's old settings when this commits.
pub async fn update(
    tx: &mut Tx,
    account_id: i64,
    expected_version: i64,
    settings: &SecuritySettings,
    by_user: i64,
    now: OffsetDateTime,
) -> Result<std::result::Result<i64, i64>> {
    let json = serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let done = sqlx::query(
        "UPDATE security_settings SET version = version + 1, settings = $1, updated_at = $2, updated_by = $3
         WHERE account_id = $4 AND version = $5",
    )
    .bind(json)
    .bind(to_ms(now))
    .bind(by_user)
    .bind(account_id)
    .bind(expected_version)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        let current: i64 =
            sqlx::query("SELECT version FROM security_settings WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(tx.conn())
                .await?
                .try_get("version")?;
        return Ok(Err(current));
    }
    tx.invalidate(Invalidation::Account(account_id));
    Ok(Ok(expected_version + 1))
}
