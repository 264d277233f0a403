//! Accounts and their people: creation (used by the command line) and the
//! look-ups sign-in needs.

use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use vigil_policy::api::{AccountRef, Role};

use crate::db::{to_ms, Db};

/// An account row.
#[derive(Debug, Clone)]
pub struct Account {
    /// Id.
    pub id: i64,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
}

impl Account {
    /// The public shape.
    pub fn public(&self) -> AccountRef {
        AccountRef {
            slug: self.slug.clone(),
            name: self.name.clone(),
        }
    }
}

/// A user as sign-in needs it.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Granted permissions, space-separated.
    pub permissions: String,
    /// Argon2 PHC string.
    pub password_hash: String,
}

/// The account with `slug`, if any.
pub async fn find_account(db: &Db, slug: &str) -> sqlx::Result<Option<Account>> {
    let row = sqlx::query("SELECT id, slug, name FROM accounts WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| {
        Ok(Account {
            id: r.try_get("id")?,
            slug: r.try_get("slug")?,
            name: r.try_get("name")?,
        })
    })
    .transpose()
}

/// The user with `email` in an account, if any.
pub async fn find_user(db: &Db, account_id: i64, email: &str) -> sqlx::Result<Option<UserRecord>> {
    let row = sqlx::query(
        "SELECT id, email, display_name, role, permissions, password_hash FROM users WHERE account_id = $1 AND email = $2",
    )
    .bind(account_id)
    .bind(email)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        let role: String = r.try_get("role")?;
        Ok(UserRecord {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
            display_name: r.try_get("display_name")?,
            role: Role::parse(&role)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role:?}").into()))?,
            permissions: r.try_get("permissions")?,
            password_hash: r.try_get("password_hash")?,
        })
    })
    .transpose()
}

/// Creates an account with default settings; returns its id.
pub async fn create_account(
    conn: &mut AnyConnection,
    slug: &str,
    name: &str,
    now: OffsetDateTime,
) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO accounts (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(slug)
    .bind(name)
    .bind(to_ms(now))
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    crate::settings_store::create(conn, id, now).await?;
    Ok(id)
}

/// A person to add to an account.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Email (already normalised).
    pub email: &'a str,
    /// Name.
    pub display_name: &'a str,
    /// Role.
    pub role: Role,
    /// Argon2 PHC string.
    pub password_hash: &'a str,
    /// Takes conversations now.
    pub available: bool,
    /// Takes part in auto-assignment.
    pub auto_assign: bool,
}

/// Adds a person; returns their id.
pub async fn create_user(
    conn: &mut AnyConnection,
    account_id: i64,
    u: &NewUser<'_>,
    now: OffsetDateTime,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO users (account_id, email, display_name, role, permissions, password_hash, available, auto_assign, created_at)
         VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8) RETURNING id",
    )
    .bind(account_id)
    .bind(u.email)
    .bind(u.display_name)
    .bind(u.role.as_str())
    .bind(u.password_hash)
    .bind(u.available)
    .bind(u.auto_assign)
    .bind(to_ms(now))
    .fetch_one(conn)
    .await?
    .try_get("id")
}
