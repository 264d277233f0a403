//! Single sign-on (`sso_connections`, `sso_logins`, `sso_logout_tokens`):
//! an account's connections to identity providers, sign-ins on their way
//! through a provider, and the logout tokens already accepted.

use secrecy::SecretString;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::sso::PasswordSignIn;
use vigil_policy::Audience;

use super::db::{get_bool, get_time};
use super::{to_ms, Result, Store, StoreError, Tx};

/// A stored connection.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Public id.
    pub id: String,
    /// Account.
    pub account_id: i64,
    /// "Sign in with <name>".
    pub name: String,
    /// Issuer URL, exactly as the provider states it.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret: never returned, logged or audited.
    pub client_secret: SecretString,
    /// Which login pages offer it.
    pub audiences: Vec<Audience>,
    /// Whether password sign-in stays allowed, per audience.
    pub password_sign_in: PasswordSignIn,
    /// Requesters created on first sign-in.
    pub jit_requesters: bool,
    /// The discovery document as fetched (JSON).
    pub provider: String,
    /// The provider's keys as last fetched (JSON Web Key Set).
    pub jwks: String,
    /// When the keys were fetched.
    pub jwks_fetched_at: OffsetDateTime,
}

impl Connection {
    /// Whether the login page of `audience` offers it.
    pub fn serves(&self, audience: Audience) -> bool {
        self.audiences.contains(&audience)
    }
}

const COLUMNS: &str = "id, account_id, name, issuer, client_id, client_secret, audiences,
    password_agents, password_requesters, jit_requesters, provider, jwks, jwks_fetched_at";

fn connection_from(r: &AnyRow) -> Result<Connection> {
    let audiences: String = r.try_get("audiences")?;
    Ok(Connection {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        name: r.try_get("name")?,
        issuer: r.try_get("issuer")?,
        client_id: r.try_get("client_id")?,
        client_secret: SecretString::from(r.try_get::<String, _>("client_secret")?),
        audiences: audiences
            .split_whitespace()
            .map(|a| {
                Audience::parse(a)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown audience {a:?}")))
            })
            .collect::<Result<_>>()?,
        password_sign_in: PasswordSignIn {
            agents: get_bool(r, "password_agents")?,
            requesters: get_bool(r, "password_requesters")?,
        },
        jit_requesters: get_bool(r, "jit_requesters")?,
        provider: r.try_get("provider")?,
        jwks: r.try_get("jwks")?,
        jwks_fetched_at: get_time(r, "jwks_fetched_at")?,
    })
}

fn audiences_text(audiences: &[Audience]) -> String {
    Audience::ALL
        .iter()
        .filter(|a| audiences.contains(a))
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// An account's connections, by name.
pub async fn list(store: &Store, account_id: i64) -> Result<Vec<Connection>> {
    let sql =
        format!("SELECT {COLUMNS} FROM sso_connections WHERE account_id = $1 ORDER BY name, id");
    sqlx::query(&sql)
        .bind(account_id)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(connection_from)
        .collect()
}

/// A connection by id, whichever account it belongs to (sign-in and
/// back-channel logout name only the connection).
pub async fn get(store: &Store, id: &str) -> Result<Option<Connection>> {
    let sql = format!("SELECT {COLUMNS} FROM sso_connections WHERE id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .as_ref()
        .map(connection_from)
        .transpose()
}

/// Connections to the provider `issuer`, in every account (back-channel
/// logout names the issuer; the token's audience then picks one).
pub async fn by_issuer(store: &Store, issuer: &str) -> Result<Vec<Connection>> {
    let sql = format!("SELECT {COLUMNS} FROM sso_connections WHERE issuer = $1 ORDER BY id");
    sqlx::query(&sql)
        .bind(issuer)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(connection_from)
        .collect()
}

/// Whether another connection of the account has `name`.
pub async fn name_taken(store: &Store, account_id: i64, name: &str, except: &str) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT id FROM sso_connections WHERE account_id = $1 AND name = $2 AND id <> $3",
    )
    .bind(account_id)
    .bind(name)
    .bind(except)
    .fetch_optional(store.pool())
    .await?
    .is_some())
}

/// Stores a new connection, or replaces one of the same id and account;
/// false when there is no such connection to replace.
pub async fn save(tx: &mut Tx, c: &Connection, now: OffsetDateTime, new: bool) -> Result<bool> {
    use secrecy::ExposeSecret;
    let sql = if new {
        "INSERT INTO sso_connections (id, account_id, name, issuer, client_id, client_secret, audiences,
             password_agents, password_requesters, jit_requesters, provider, jwks, jwks_fetched_at,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
    } else {
        "UPDATE sso_connections SET name = $3, issuer = $4, client_id = $5, client_secret = $6,
             audiences = $7, password_agents = $8, password_requesters = $9, jit_requesters = $10,
             provider = $11, jwks = $12, jwks_fetched_at = $13, updated_at = $14
         WHERE id = $1 AND account_id = $2"
    };
    let done = sqlx::query(sql)
        .bind(&c.id)
        .bind(c.account_id)
        .bind(&c.name)
        .bind(&c.issuer)
        .bind(&c.client_id)
        .bind(c.client_secret.expose_secret())
        .bind(audiences_text(&c.audiences))
        .bind(c.password_sign_in.agents)
        .bind(c.password_sign_in.requesters)
        .bind(c.jit_requesters)
        .bind(&c.provider)
        .bind(&c.jwks)
        .bind(to_ms(c.jwks_fetched_at))
        .bind(to_ms(now))
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a connection of the account; false when there is none.
pub async fn delete(tx: &mut Tx, account_id: i64, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM sso_connections WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a connection's keys (after a refresh).
pub async fn set_jwks(store: &Store, id: &str, jwks: &str, now: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE sso_connections SET jwks = $1, jwks_fetched_at = $2 WHERE id = $3")
        .bind(jwks)
        .bind(to_ms(now))
        .bind(id)
        .execute(&mut *store.writer().await?)
        .await?;
    Ok(())
}

/// A sign-in on its way through the provider.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    /// SHA-256 (hex) of the `__Host-vigil-sso` cookie's value.
    pub cookie_hash: String,
    /// Connection.
    pub connection_id: String,
    /// The `state` sent to the provider.
    pub state: String,
    /// The `nonce` sent to the provider.
    pub nonce: String,
    /// The PKCE verifier.
    pub pkce_verifier: String,
    /// Which login page started it.
    pub audience: Audience,
    /// Asked for a remembered session.
    pub remember_me: bool,
    /// Where to go afterwards (a console path, already checked).
    pub next: Option<String>,
    /// A round trip to re-authenticate this live session (its id), not
    /// to sign in.
    pub reauth_session: Option<String>,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
}

/// Records a sign-in on its way.
pub async fn insert_login(store: &Store, p: &PendingLogin) -> Result<()> {
    sqlx::query(
        "INSERT INTO sso_logins (cookie_hash, connection_id, state, nonce, pkce_verifier, audience,
             remember_me, next, expires_at, reauth_session)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&p.cookie_hash)
    .bind(&p.connection_id)
    .bind(&p.state)
    .bind(&p.nonce)
    .bind(&p.pkce_verifier)
    .bind(p.audience.as_str())
    .bind(p.remember_me)
    .bind(&p.next)
    .bind(to_ms(p.expires_at))
    .bind(&p.reauth_session)
    .execute(&mut *store.writer().await?)
    .await?;
    Ok(())
}

/// Takes the sign-in the cookie names, if it has not lapsed: it is gone
/// afterwards, so two callbacks with one cookie get it once between them.
pub async fn take_login(
    store: &Store,
    cookie_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<PendingLogin>> {
    let row = sqlx::query(
        "DELETE FROM sso_logins WHERE cookie_hash = $1
         RETURNING cookie_hash, connection_id, state, nonce, pkce_verifier, audience, remember_me,
             next, expires_at, reauth_session",
    )
    .bind(cookie_hash)
    .fetch_optional(&mut *store.writer().await?)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let audience: String = r.try_get("audience")?;
    let pending = PendingLogin {
        cookie_hash: r.try_get("cookie_hash")?,
        connection_id: r.try_get("connection_id")?,
        state: r.try_get("state")?,
        nonce: r.try_get("nonce")?,
        pkce_verifier: r.try_get("pkce_verifier")?,
        audience: Audience::parse(&audience)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown audience {audience:?}")))?,
        remember_me: get_bool(&r, "remember_me")?,
        next: r.try_get("next")?,
        reauth_session: r.try_get("reauth_session")?,
        expires_at: get_time(&r, "expires_at")?,
    };
    Ok((pending.expires_at > now).then_some(pending))
}

/// Accepts a logout token's `jti` once: false when it was accepted before.
pub async fn accept_jti(
    tx: &mut Tx,
    connection_id: &str,
    jti: &str,
    keep_until: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO sso_logout_tokens (connection_id, jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (connection_id, jti) DO NOTHING",
    )
    .bind(connection_id)
    .bind(jti)
    .bind(to_ms(keep_until))
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets lapsed sign-ins and logout tokens old enough to be refused for
/// their age anyway; returns how many rows went.
pub async fn prune(store: &Store, now: OffsetDateTime) -> Result<u64> {
    let logins = sqlx::query("DELETE FROM sso_logins WHERE expires_at <= $1")
        .bind(to_ms(now))
        .execute(&mut *store.writer().await?)
        .await?;
    let tokens = sqlx::query("DELETE FROM sso_logout_tokens WHERE expires_at <= $1")
        .bind(to_ms(now))
        .execute(&mut *store.writer().await?)
        .await?;
    Ok(logins.rows_affected() + tokens.rows_affected())
}
