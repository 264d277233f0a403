//! Conversation routing: who gets a new conversation, and where a signed-out
//! agent's open conversations go.

use serde_json::json;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::audit::{self, action, Event};

/// The available auto-assign team member of the account with the fewest
/// open conversations (lowest id on a tie), other than `except`.
pub async fn least_loaded_agent(
    conn: &mut AnyConnection,
    account_id: i64,
    except: Option<i64>,
) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT u.id FROM users u
         WHERE u.account_id = $1 AND u.role IN ('admin', 'agent')
           AND u.available = TRUE AND u.auto_assign = TRUE AND u.id <> $2
         ORDER BY (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = u.id AND c.status = 'open'), u.id
         LIMIT 1",
    )
    .bind(account_id)
    .bind(except.unwrap_or(-1))
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// Takes a team member out of routing: marks them unavailable and moves each
/// of their open conversations to the least-loaded available agent, or to
/// the queue. Runs inside the caller's transaction; audits every change.
pub async fn take_out_of_routing(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
    actor: &str,
    why: &str,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    let changed =
        sqlx::query("UPDATE users SET available = FALSE WHERE id = $1 AND available = TRUE")
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if changed > 0 {
        audit::record(
            conn,
            now,
            Event {
                account_id,
                actor,
                action: action::AGENT_AVAILABILITY,
                target: Some(format!("user:{user_id}")),
                details: json!({"user_id": user_id, "available": false, "reason": why}),
            },
        )
        .await?;
    }
    let open: Vec<i64> = sqlx::query(
        "SELECT id FROM conversations WHERE assignee_id = $1 AND status = 'open' ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<Result<_, _>>()?;
    for conversation_id in open {
        let to = least_loaded_agent(conn, account_id, Some(user_id)).await?;
        let moved = sqlx::query(
            "UPDATE conversations SET assignee_id = $1 WHERE id = $2 AND assignee_id = $3 AND status = 'open'",
        )
        .bind(to)
        .bind(conversation_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if moved > 0 {
            audit::record(
                conn,
                now,
                Event {
                    account_id,
                    actor,
                    action: action::CONVERSATION_REROUTED,
                    target: Some(format!("conversation:{conversation_id}")),
                    details: json!({
                        "conversation_id": conversation_id,
                        "from_user_id": user_id,
                        "to_user_id": to,
                        "queued": to.is_none(),
                    }),
                },
            )
            .await?;
        }
    }
    Ok(())
}
