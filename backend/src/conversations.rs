//! Conversations as the desk and the portal see them.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use vigil_policy::api::Conversation;

use crate::db::{get_time, to_ms, Db};

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
pub async fn assigned_to(db: &Db, user_id: i64) -> sqlx::Result<Vec<Conversation>> {
    let sql = format!("SELECT {COLUMNS} FROM conversations WHERE assignee_id = $1 AND status = 'open' ORDER BY id");
    sqlx::query(&sql)
        .bind(user_id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// A requester's conversations, newest first.
pub async fn requested_by(db: &Db, user_id: i64) -> sqlx::Result<Vec<Conversation>> {
    let sql =
        format!("SELECT {COLUMNS} FROM conversations WHERE requester_id = $1 ORDER BY id DESC");
    sqlx::query(&sql)
        .bind(user_id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Opens a conversation assigned to `assignee` (queued when `None`).
pub async fn open(
    conn: &mut AnyConnection,
    account_id: i64,
    requester_id: i64,
    subject: &str,
    assignee: Option<i64>,
    now: OffsetDateTime,
) -> sqlx::Result<Conversation> {
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
        .fetch_one(conn)
        .await?;
    from_row(&row)
}
