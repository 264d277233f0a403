//! Conversation routing: who gets a new conversation, and where a signed-out
//! agent's open conversations go. Both run inside the caller's transaction
//! and take people's row locks (see `store::accounts::least_loaded_agent`),
//! so work never lands on an agent whose last session is ending.

use serde_json::json;
use time::OffsetDateTime;

use crate::store::audit::{self, action, Event};
use crate::store::{self, accounts, conversations, Tx};

/// Who takes a new conversation: the available auto-assign team member with
/// the fewest open conversations, or nobody (the queue).
pub async fn assignee_for_new(tx: &mut Tx, account_id: i64) -> store::Result<Option<i64>> {
    accounts::least_loaded_agent(tx, account_id, None).await
}

/// Takes team members out of routing: marks each unavailable, then moves
/// each of their open conversations to the least-loaded available agent, or
/// to the queue. Everyone leaves before anything moves, so no conversation
/// goes to someone leaving in the same transaction (and moves twice).
/// Audits every change.
pub async fn take_out_of_routing(
    tx: &mut Tx,
    leaving: &[(i64, i64)],
    actor: &str,
    why: &str,
    now: OffsetDateTime,
) -> store::Result<()> {
    for &(account_id, user_id) in leaving {
        if accounts::set_available(tx, user_id, false).await? {
            audit::record(
                tx,
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
            crate::webhooks::emit_one(
                tx,
                account_id,
                crate::webhooks::event::AGENT_AVAILABILITY_CHANGED,
                json!({"user_id": user_id, "available": false, "reason": why}),
                now,
            )
            .await?;
        }
    }
    for &(account_id, user_id) in leaving {
        for conversation_id in conversations::open_ids_of(tx, user_id).await? {
            let to = accounts::least_loaded_agent(tx, account_id, Some(user_id)).await?;
            if conversations::reassign(tx, conversation_id, user_id, to).await? {
                audit::record(
                    tx,
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
                crate::webhooks::emit_one(
                    tx,
                    account_id,
                    crate::webhooks::event::CONVERSATION_REROUTED,
                    json!({
                        "conversation_id": conversation_id,
                        "from_user_id": user_id,
                        "to_user_id": to,
                        "queued": to.is_none(),
                    }),
                    now,
                )
                .await?;
            }
        }
    }
    Ok(())
}
