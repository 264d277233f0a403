//! API tokens (`api_tokens`): one row per live token of an account, found
//! by the SHA-256 of its secret. Revoking deletes the row; `last_used_at`
//! is written at most once a minute per token (see [`touch`]).

use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::tokens::Scope;

use super::db::{get_bool, get_time};
use super::{from_ms, to_ms, Result, Store, StoreError, Tx};

/// A stored token (never its secret: only its hash is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Public id.
    pub id: String,
    /// Account it acts for.
    pub account_id: i64,
    /// Name, unique in the account.
    pub name: String,
    /// Scopes, canonical order.
    pub scopes: Vec<Scope>,
    /// The person who created it.
    pub created_by: i64,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Stops working at; `None`: never.
    pub expires_at: Option<OffsetDateTime>,
    /// Last accepted request (to the minute).
    pub last_used_at: Option<OffsetDateTime>,
}

const COLUMNS: &str =
    "id, account_id, name, scopes, created_by, created_at, expires_at, last_used_at";

fn token_from(r: &AnyRow) -> Result<Token> {
    let scopes: String = r.try_get("scopes")?;
    Ok(Token {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        name: r.try_get("name")?,
        scopes: scopes
            .split_whitespace()
            .map(|s| {
                Scope::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown scope {s:?}")))
            })
            .collect::<Result<_>>()?,
        created_by: r.try_get("created_by")?,
        created_at: get_time(r, "created_at")?,
        expires_at: r.try_get::<Option<i64>, _>("expires_at")?.map(from_ms),
        last_used_at: r.try_get::<Option<i64>, _>("last_used_at")?.map(from_ms),
    })
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Stores a new token with the hash of its secret. Two tokens of one
/// account with the same name: the second fails with a unique violation
/// ([`StoreError::is_unique_violation`]).
pub async fn insert(tx: &mut Tx, t: &Token, token_hash: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_tokens (id, account_id, name, token_hash, scopes, created_by, created_at,
             expires_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
    )
    .bind(&t.id)
    .bind(t.account_id)
    .bind(&t.name)
    .bind(token_hash)
    .bind(scopes_text(&t.scopes))
    .bind(t.created_by)
    .bind(to_ms(t.created_at))
    .bind(t.expires_at.map(to_ms))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether the account has a token named `name`.
pub async fn name_taken(store: &Store, account_id: i64, name: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT id FROM api_tokens WHERE account_id = $1 AND name = $2")
            .bind(account_id)
            .bind(name)
            .fetch_optional(store.pool())
            .await?
            .is_some(),
    )
}

/// An account's tokens, newest first.
pub async fn list(store: &Store, account_id: i64) -> Result<Vec<Token>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE account_id = $1 ORDER BY created_at DESC, id"
    );
    sqlx::query(&sql)
        .bind(account_id)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(token_from)
        .collect()
}

/// A token found by its secret, with whether the person who created it
/// may still act through it.
#[derive(Debug, Clone)]
pub struct Found {
    /// The token.
    pub token: Token,
    /// Its creator is active and still manages security: a token acts
    /// with its creator's standing, so deactivating a person (or taking
    /// `manage_security` away) stops their tokens too, on every replica at
    /// once, and reactivating them brings the tokens back.
    pub creator_may_act: bool,
}

/// The token whose secret hashes to `token_hash` (hex SHA-256), whatever
/// its expiry or its creator's standing: the caller decides.
pub async fn by_hash(store: &Store, token_hash: &str) -> Result<Option<Found>> {
    let sql = "SELECT t.id, t.account_id, t.name, t.scopes, t.created_by, t.created_at,
                      t.expires_at, t.last_used_at,
                      u.active AS creator_active, u.role AS creator_role,
                      u.permissions AS creator_permissions
               FROM api_tokens t
               LEFT JOIN users u ON u.id = t.created_by AND u.account_id = t.account_id
               WHERE t.token_hash = $1";
    let Some(r) = sqlx::query(sql)
        .bind(token_hash)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let creator_may_act = match r.try_get::<Option<String>, _>("creator_role")? {
        // No such person (never deleted today, but then no one answers
        // for the token).
        None => false,
        Some(_) => {
            let role = super::accounts::role_of(&r, "creator_role")?;
            let granted: String = r.try_get("creator_permissions")?;
            get_bool(&r, "creator_active")?
                && super::accounts::permissions(role, &granted)
                    .iter()
                    .any(|p| p == vigil_policy::api::PERMISSION_MANAGE_SECURITY)
        }
    };
    Ok(Some(Found {
        token: token_from(&r)?,
        creator_may_act,
    }))
}

/// Deletes an account's token; the token as it was, or `None` when the
/// account has no such token (or another request deleted it first).
pub async fn delete(tx: &mut Tx, account_id: i64, id: &str) -> Result<Option<Token>> {
    let sql =
        format!("DELETE FROM api_tokens WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}");
    sqlx::query(&sql)
        .bind(account_id)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .as_ref()
        .map(token_from)
        .transpose()
}

/// Records a use at `now` unless one was recorded less than `every_ms`
/// before; true when it wrote. The condition is in the statement, so
/// requests racing each other write at most once between them, and a
/// token deleted meanwhile is not brought back.
pub async fn touch(store: &Store, id: &str, now: OffsetDateTime, every_ms: i64) -> Result<bool> {
    let now = to_ms(now);
    Ok(sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1
         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
    )
    .bind(now)
    .bind(id)
    .bind(now - every_ms)
    .execute(&mut *store.writer().await?)
    .await?
    .rows_affected()
        > 0)
}
