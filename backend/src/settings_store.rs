//! Where an account's security settings live, and how a change is stored.

use anyhow::Context;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use vigil_policy::api::SettingsEnvelope;
use vigil_policy::{Audience, Limits, SecuritySettings};

use crate::db::{from_ms, to_ms, Db};

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
pub fn parse(json: &str) -> anyhow::Result<SecuritySettings> {
    serde_json::from_str(json).context("stored security settings are unreadable")
}

/// The account's settings.
pub async fn load(conn: &mut AnyConnection, account_id: i64) -> anyhow::Result<Stored> {
    let row = sqlx::query(
        "SELECT ss.version, ss.settings, ss.updated_at, u.email AS updated_by
         FROM security_settings ss LEFT JOIN users u ON u.id = ss.updated_by
         WHERE ss.account_id = $1",
    )
    .bind(account_id)
    .fetch_one(conn)
    .await
    .context("loading security settings")?;
    Ok(Stored {
        version: row.try_get("version")?,
        settings: parse(&row.try_get::<String, _>("settings")?)?,
        updated_at: from_ms(row.try_get("updated_at")?),
        updated_by: row.try_get("updated_by")?,
    })
}

/// The account's settings, from the pool.
pub async fn load_from(db: &Db, account_id: i64) -> anyhow::Result<Stored> {
    let mut conn = db.pool.acquire().await.context("database connection")?;
    load(&mut conn, account_id).await
}

/// Stores the first settings of a new account.
pub async fn create(
    conn: &mut AnyConnection,
    account_id: i64,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    let json = serde_json::to_string(&SecuritySettings::default())
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO security_settings (account_id, version, settings, updated_at, updated_by) VALUES ($1, 1, $2, $3, NULL)",
    )
    .bind(account_id)
    .bind(json)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores new settings if the stored version is still `expected_version`.
/// Returns the new version, or `Err(current)` on a conflict. Live sessions'
/// expiry index is recomputed in the same transaction.
pub async fn update(
    conn: &mut AnyConnection,
    account_id: i64,
    expected_version: i64,
    settings: &SecuritySettings,
    by_user: i64,
    now: OffsetDateTime,
) -> anyhow::Result<Result<i64, i64>> {
    let json = serde_json::to_string(settings)?;
    let done = sqlx::query(
        "UPDATE security_settings SET version = version + 1, settings = $1, updated_at = $2, updated_by = $3
         WHERE account_id = $4 AND version = $5",
    )
    .bind(json)
    .bind(to_ms(now))
    .bind(by_user)
    .bind(account_id)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        let current: i64 =
            sqlx::query("SELECT version FROM security_settings WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&mut *conn)
                .await?
                .try_get("version")?;
        return Ok(Err(current));
    }
    for audience in Audience::ALL {
        let p = settings.policy(audience);
        let idle_ms =
            i64::try_from(p.idle_timeout_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2);
        let abs_ms =
            i64::try_from(p.absolute_timeout_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2);
        sqlx::query(
            "UPDATE sessions SET expires_at = CASE
                 WHEN last_activity_at + $1 < created_at + $2 THEN last_activity_at + $1
                 ELSE created_at + $2 END
             WHERE account_id = $3 AND audience = $4 AND ended_at IS NULL",
        )
        .bind(idle_ms)
        .bind(abs_ms)
        .bind(account_id)
        .bind(audience.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(Ok(expected_version + 1))
}

/// Every leaf that differs between two settings, as `{path, before, after}`.
pub fn changes(before: &SecuritySettings, after: &SecuritySettings) -> Value {
    fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<Value>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(
                        &p,
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            _ if a != b => out.push(json!({"path": path, "before": a, "after": b})),
            _ => {}
        }
    }
    let a = serde_json::to_value(before).unwrap_or(Value::Null);
    let b = serde_json::to_value(after).unwrap_or(Value::Null);
    let mut out = Vec::new();
    walk("", &a, &b, &mut out);
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_list_each_changed_leaf() {
        let before = SecuritySettings::default();
        let mut after = before.clone();
        after.agents.idle_timeout_secs = 900;
        after.requesters.remember_me = true;
        assert_eq!(
            changes(&before, &after),
            json!([
                {"path": "agents.idle_timeout_secs", "before": 28800, "after": 900},
                {"path": "requesters.remember_me", "before": false, "after": true},
            ])
        );
    }
}
