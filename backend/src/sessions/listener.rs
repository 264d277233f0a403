//! Hearing other replicas' changes (PostgreSQL): a LISTEN connection on
//! [`CHANNEL`] applies every other replica's invalidations to this
//! process's memory as their transactions commit, and a heartbeat — this
//! replica's own notification, sent every [`HEARTBEAT`] — proves the
//! connection still hears the channel. While it does not, memory is not
//! trusted (see `memory`).

use std::time::Duration;

use sqlx::postgres::PgListener;

use super::Sessions;
use crate::store::{Notice, Subscriber, CHANNEL};

/// How often a replica sends its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_millis(250);

/// Listens on the channel until the task is dropped, reconnecting as needed.
pub async fn run(sessions: Sessions, url: crate::store::DatabaseUrl) {
    let me = sessions.store.replica().to_owned();
    loop {
        match listen(url.expose()).await {
            Ok(mut listener) => loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => match Notice::decode(n.payload()) {
                        Some(Notice::Ping { replica }) if replica == me => {
                            sessions.memory.heard_heartbeat();
                        }
                        // This replica applied its own changes at commit.
                        Some(Notice::Changes { replica, what }) if replica != me => {
                            sessions.memory.invalidated(&what);
                        }
                        Some(_) => {}
                        None => tracing::warn!(payload = n.payload(), "unreadable notification"),
                    },
                    Ok(None) => {
                        tracing::warn!(
                            "listening connection lost; not trusting memory until it is back"
                        );
                        sessions.memory.listener_lost();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "listening connection failed");
                        sessions.memory.listener_lost();
                        break;
                    }
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other replicas' changes");
                sessions.memory.listener_lost();
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn listen(url: &str) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect(url).await?;
    // Report a lost connection at once, before reconnecting, so memory stops
    // being trusted for as long as notifications may be missed.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Sends this replica's heartbeat every [`HEARTBEAT`], forever, on a
/// connection of its own (see [`crate::store::Pinger`]).
pub async fn heartbeat(sessions: Sessions, url: crate::store::DatabaseUrl) {
    let mut pinger = sessions.store.pinger(url);
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = pinger.ping().await {
            tracing::debug!(error = %e, "heartbeat not sent");
        }
    }
}
