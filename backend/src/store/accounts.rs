//! Accounts and the people in them (`accounts`, `users`): creation, the
//! look-ups sign-in needs, availability, per-person row locks and the team
//! list.

use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::api::{AccountRef, AgentRow, Role, UserView, PERMISSION_MANAGE_SECURITY};

use super::db::get_bool;
use super::{for_update, placeholders, to_ms, Invalidation, Result, Store, StoreError, Tx};

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

/// A person as sign-in needs them.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Who, as the API shows them.
    pub view: UserView,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// False once deactivated: sign-in is refused.
    pub active: bool,
}

/// Permissions implied by a role plus those granted (stored space-separated).
pub fn permissions(role: Role, granted: &str) -> Vec<String> {
    let mut out: Vec<String> = match role {
        Role::Admin => vec![PERMISSION_MANAGE_SECURITY.to_owned()],
        Role::Agent => granted
            .split_whitespace()
            .filter(|p| *p == PERMISSION_MANAGE_SECURITY)
            .map(str::to_owned)
            .collect(),
        Role::Requester => Vec::new(),
    };
    out.dedup();
    out
}

pub(crate) fn role_of(row: &AnyRow, col: &str) -> Result<Role> {
    let role: String = row.try_get(col)?;
    Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role:?}")))
}

/// Reads a person from columns `user_id`, `email`, `display_name`, `role`,
/// `permissions`.
pub(crate) fn person_from(row: &AnyRow) -> Result<UserView> {
    let role = role_of(row, "role")?;
    Ok(UserView {
        id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role,
        permissions: permissions(role, &row.try_get::<String, _>("permissions")?),
    })
}

/// The account with `slug`, if any.
pub async fn find_account(store: &Store, slug: &str) -> Result<Option<Account>> {
    let row = sqlx::query("SELECT id, slug, name FROM accounts WHERE slug = $1")
        .bind(slug)
        .fetch_optional(store.pool())
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

/// The slug of the account with `id`, if any.
pub async fn slug_of(store: &Store, id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT slug FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.map(|r| r.try_get("slug")).transpose()?)
}

/// The person with `email` in an account, if any.
pub async fn find_user(store: &Store, account_id: i64, email: &str) -> Result<Option<UserRecord>> {
    let row = sqlx::query(
        "SELECT id AS user_id, email, display_name, role, permissions, password_hash, active
         FROM users WHERE account_id = $1 AND email = $2",
    )
    .bind(account_id)
    .bind(email)
    .fetch_optional(store.pool())
    .await?;
    row.map(|r| {
        Ok(UserRecord {
            view: person_from(&r)?,
            password_hash: r.try_get("password_hash")?,
            active: get_bool(&r, "active")?,
        })
    })
    .transpose()
}

/// Whether `user_id` is a person of the account.
pub async fn exists(store: &Store, account_id: i64, user_id: i64) -> Result<bool> {
    Ok(
        sqlx::query("SELECT id FROM users WHERE id = $1 AND account_id = $2")
            .bind(user_id)
            .bind(account_id)
            .fetch_optional(store.pool())
            .await?
            .is_some(),
    )
}

/// Creates an account with default settings; returns its id.
pub async fn create_account(
    tx: &mut Tx,
    slug: &str,
    name: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO accounts (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(slug)
    .bind(name)
    .bind(to_ms(now))
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    super::settings::create(tx, id, now).await?;
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
    tx: &mut Tx,
    account_id: i64,
    u: &NewUser<'_>,
    now: OffsetDateTime,
) -> Result<i64> {
    Ok(sqlx::query(
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
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?)
}

/// Replaces the permissions granted to a person beyond their role; every
/// replica re-reads the person before their next request.
pub async fn set_permissions(tx: &mut Tx, user_id: i64, granted: &[&str]) -> Result<bool> {
    let changed = sqlx::query("UPDATE users SET permissions = $1 WHERE id = $2")
        .bind(granted.join(" "))
        .bind(user_id)
        .execute(tx.conn())
        .await?
        .rows_affected()
        > 0;
    if changed {
        tx.invalidate(Invalidation::Person(user_id));
    }
    Ok(changed)
}

/// Locks people's rows until the transaction ends, in id order (so two
/// transactions locking overlapping sets cannot deadlock). Ending a
/// person's sessions, taking them out of routing and assigning them work
/// all take this lock first, so on PostgreSQL they serialise per person as
/// SQLite's single writer serialises everything.
pub async fn lock_people(tx: &mut Tx, user_ids: &[i64]) -> Result<()> {
    if tx.dialect() == super::Dialect::Sqlite || user_ids.is_empty() {
        return Ok(());
    }
    let mut ids = user_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(super::CHUNK) {
        let sql = format!(
            "SELECT id FROM users WHERE id IN ({}) ORDER BY id FOR UPDATE",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        q.fetch_all(tx.conn()).await?;
    }
    Ok(())
}

/// A person of an account whose standing may change, with whether they
/// manage security and are active.
#[derive(Debug, Clone)]
pub struct Standing {
    /// Id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Holds `manage_security` (by role or grant).
    pub manages_security: bool,
    /// Not deactivated.
    pub active: bool,
}

/// Locks, in id order, the account's people who manage security plus
/// `user_id` (if theirs), and returns them as committed. Deactivation
/// takes this lock first, so two admins deactivating each other at once
/// serialise and the second sees the first's change (on SQLite the single
/// writer does the same).
pub async fn lock_standing(tx: &mut Tx, account_id: i64, user_id: i64) -> Result<Vec<Standing>> {
    let sql = format!(
        "SELECT id AS user_id, email, display_name, role, permissions, active FROM users
         WHERE account_id = $1 AND (role = 'admin' OR permissions LIKE '%{PERMISSION_MANAGE_SECURITY}%' OR id = $2)
         ORDER BY id {}",
        for_update(tx.dialect(), "FOR UPDATE")
    );
    let rows = sqlx::query(&sql)
        .bind(account_id)
        .bind(user_id)
        .fetch_all(tx.conn())
        .await?;
    rows.iter()
        .map(|r| {
            let view = person_from(r)?;
            Ok(Standing {
                manages_security: view
                    .permissions
                    .iter()
                    .any(|p| p == PERMISSION_MANAGE_SECURITY),
                id: view.id,
                email: view.email,
                role: view.role,
                active: get_bool(r, "active")?,
            })
        })
        .collect()
}

/// The people of an account the admins' policy covers: the admin role or
/// `manage_security` granted (as [`UserView::is_admin`] says of one person);
/// read from the pool or inside a transaction.
pub async fn admin_ids<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: i64,
) -> Result<std::collections::HashSet<i64>> {
    let sql = format!(
        "SELECT id AS user_id, email, display_name, role, permissions FROM users
         WHERE account_id = $1 AND (role = 'admin' OR permissions LIKE '%{PERMISSION_MANAGE_SECURITY}%')"
    );
    let mut out = std::collections::HashSet::new();
    for r in sqlx::query(&sql).bind(account_id).fetch_all(db).await? {
        let view = person_from(&r)?;
        if view.is_admin() {
            out.insert(view.id);
        }
    }
    Ok(out)
}

/// Marks a person active or not; true when it changed. Every replica
/// re-reads the person before their next request.
pub async fn set_active(tx: &mut Tx, user_id: i64, active: bool) -> Result<bool> {
    // A change of standing also retires the person's draft key.
    let changed = sqlx::query(
        "UPDATE users SET active = $1, draft_key_version = draft_key_version + 1
         WHERE id = $2 AND active <> $1",
    )
    .bind(active)
    .bind(user_id)
    .execute(tx.conn())
    .await?
    .rows_affected()
        > 0;
    if changed {
        tx.invalidate(Invalidation::Person(user_id));
    }
    Ok(changed)
}

/// Replaces a person's password hash (and retires their draft key).
pub async fn set_password_hash(tx: &mut Tx, user_id: i64, password_hash: &str) -> Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, draft_key_version = draft_key_version + 1
         WHERE id = $2",
    )
    .bind(password_hash)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The version of a person's draft key (see `crate::drafts`): bumped by
/// every deactivation, reactivation and password change.
pub async fn draft_key_version(store: &Store, user_id: i64) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT draft_key_version FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(store.pool())
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("draft_key_version")?),
        None => None,
    })
}

/// Whether a person takes new conversations.
pub async fn available(store: &Store, user_id: i64) -> Result<bool> {
    let row = sqlx::query("SELECT available FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(store.pool())
        .await?;
    Ok(get_bool(&row, "available")?)
}

/// Sets availability; true when it changed.
pub async fn set_available(tx: &mut Tx, user_id: i64, available: bool) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE users SET available = $1 WHERE id = $2 AND available <> $1")
            .bind(available)
            .bind(user_id)
            .execute(tx.conn())
            .await?
            .rows_affected()
            > 0,
    )
}

/// The available auto-assign team member of the account with the fewest
/// open conversations (lowest id on a tie), other than `except`, locked for
/// the rest of the transaction. On PostgreSQL a person whose row another
/// transaction holds (their sessions are ending, or they are being assigned
/// work) is skipped rather than waited for, and availability is re-checked
/// on the row as committed: work never goes to someone who is leaving.
pub async fn least_loaded_agent(
    tx: &mut Tx,
    account_id: i64,
    except: Option<i64>,
) -> Result<Option<i64>> {
    let sql = format!(
        "SELECT u.id FROM users u
         WHERE u.account_id = $1 AND u.role IN ('admin', 'agent')
           AND u.available = TRUE AND u.auto_assign = TRUE AND u.active = TRUE AND u.id <> $2
         ORDER BY (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = u.id AND c.status = 'open'), u.id
         LIMIT 1 {}",
        for_update(tx.dialect(), "FOR UPDATE OF u SKIP LOCKED")
    );
    let row = sqlx::query(&sql)
        .bind(account_id)
        .bind(except.unwrap_or(-1))
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// The account's team members with their load.
pub async fn team(store: &Store, account_id: i64) -> Result<Vec<AgentRow>> {
    let rows = sqlx::query(
        "SELECT u.id, u.email, u.display_name, u.role, u.available, u.auto_assign, u.active,
                (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.ended_at IS NULL) AS live_sessions,
                (SELECT MAX(s.last_activity_at) FROM sessions s WHERE s.user_id = u.id AND s.ended_at IS NULL) AS last_activity_ms,
                (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = u.id AND c.status = 'open') AS open_conversations
         FROM users u WHERE u.account_id = $1 AND u.role IN ('admin', 'agent') ORDER BY u.id",
    )
    .bind(account_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AgentRow {
                user_id: r.try_get("id")?,
                email: r.try_get("email")?,
                display_name: r.try_get("display_name")?,
                role: role_of(r, "role")?,
                last_activity_at: r
                    .try_get::<Option<i64>, _>("last_activity_ms")?
                    .map(super::from_ms),
                available: get_bool(r, "available")?,
                auto_assign: get_bool(r, "auto_assign")?,
                active: get_bool(r, "active")?,
                live_sessions: u64::try_from(r.try_get::<i64, _>("live_sessions")?).unwrap_or(0),
                open_conversations: u64::try_from(r.try_get::<i64, _>("open_conversations")?)
                    .unwrap_or(0),
            })
        })
        .collect()
}
