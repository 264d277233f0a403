//! Conversations (`conversations`) as the desk and the portal see them,
//! and the moves routing makes.

use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use vigil_policy::api::Conversation;

use super::db::get_time;
use super::{to_ms, Result, Store, Tx};

const COLUMNS: &str = "id, subject, status, requester_id, assignee_id, created_at";

fn from_row(r: &AnyRow) -> sqlx::Result<Conversation> {
    Ok(Conversation {
        id: r.try_get("id")?,
        subject: r.try_get("subject")?,
        status: r.try_get("status")?,
        requester_id: r.try_get("requester_id")?,
        assignee_id: r.try_get("assignee_id")?,
        created_at: get_time(r, "created_at")?,
    })
}

/// Open conversations assigned to an agent, oldest first.
pub async fn assigned_to(store: &Store, user_id: i64) -> Result<Vec<Conversation>> {
    let sql = format!("SELECT {COLUMNS} FROM conversations WHERE assignee_id = $1 AND status = 'open' ORDER BY id");
    sqlx::query(&sql)
        .bind(user_id)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| Ok(from_row(r)?))
        .collect()
}

/// A requester's conversations, newest first.
pub async fn requested_by(store: &Store, user_id: i64) -> Result<Vec<Conversation>> {
    let sql =
        format!("SELECT {COLUMNS} FROM conversations WHERE requester_id = $1 ORDER BY id DESC");
    sqlx::query(&sql)
        .bind(user_id)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| Ok(from_row(r)?))
        .collect()
}

/// Opens a conversation assigned to `assignee` (queued when `None`).
pub async fn open(
    tx: &mut Tx,
    account_id: i64,
    requester_id: i64,
    subject: &str,
    assignee: Option<i64>,
    now: OffsetDateTime,
) -> Result<Conversation> {
    let sql = format!(
        "INSERT INTO conversations (account_id, requester_id, subject, status, assignee_id, created_at)
         VALUES ($1, $2, $3, 'open', $4, $5) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(account_id)
        .bind(requester_id)
        .bind(subject)
        .bind(assignee)
        .bind(to_ms(now))
        .fetch_one(tx.conn())
        .await?;
    Ok(from_row(&row)?)
}

/// Ids of the open conversations assigned to a person, oldest first.
pub async fn open_ids_of(tx: &mut Tx, user_id: i64) -> Result<Vec<i64>> {
    sqlx::query(
        "SELECT id FROM conversations WHERE assignee_id = $1 AND status = 'open' ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|r| Ok(r.try_get("id")?))
    .collect()
}

/// Moves an open conversation from `from` to `to` (the queue when `None`);
/// false when it was no longer `from`'s.
pub async fn reassign(
    tx: &mut Tx,
    conversation_id: i64,
    from: i64,
    to: Option<i64>,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE conversations SET assignee_id = $1 WHERE id = $2 AND assignee_id = $3 AND status = 'open'",
    )
    .bind(to)
    .bind(conversation_id)
    .bind(from)
    .execute(tx.conn())
    .await?
    .rows_affected()
        > 0)
}
