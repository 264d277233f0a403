//! Hearing other replicas' changes (PostgreSQL): a LISTEN connection on
//! [`CHANNEL`] applies every other replica's invalidations to this
//! process's memory as their transactions commit, and a heartbeat — this
//! replica's own notification, sent every [`HEARTBEAT`] — proves the
//! connection still hears the channel. While it does not, memory is not
//! trusted (see `memory`).
//!
//! A connection that hears nothing at all for [`SILENCE`] (not even the
//! heartbeat) is given up and replaced, as if lost: a half-open connection
//! would otherwise keep memory untrusted for good. A heartbeat that takes
//! longer than [`SILENCE`] to send gives its connection up the same way.

use std::time::Duration;

use sqlx::postgres::PgListener;

use super::memory::STALE_AFTER;
use super::Sessions;
use crate::store::{Notice, Subscriber, CHANNEL};

/// How often a replica sends its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_millis(250);

/// Longest a listening connection may hear nothing, and a heartbeat may
/// take to send, before its connection is replaced.
pub const SILENCE: Duration = Duration::from_secs(10);

/// Listens on the channel until the task is dropped, reconnecting as needed
/// (and after `silence` without a word: normally [`SILENCE`]).
pub async fn run(sessions: Sessions, url: crate::store::DatabaseUrl, silence: Duration) {
    let me = sessions.store.replica().to_owned();
    loop {
        match listen(url.expose()).await {
            Ok(mut listener) => loop {
                let Ok(heard) = tokio::time::timeout(silence, listener.try_recv()).await else {
                    tracing::warn!(
                        silent_ms = silence.as_millis(),
                        "listening connection heard nothing, not even this replica's \
                         heartbeat; replacing it, not trusting memory until it is back"
                    );
                    sessions.memory.listener_lost();
                    break;
                };
                match heard {
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
    let mut last_done = tokio::time::Instant::now();
    loop {
        let due = tick.tick().await;
        // A tick missed while the previous heartbeat was sending comes at
        // once, still dated when it was due: late only past that send.
        let late = due.max(last_done).elapsed();
        let sending = tokio::time::Instant::now();
        let sent = tokio::time::timeout(SILENCE, pinger.ping()).await;
        last_done = tokio::time::Instant::now();
        let took = last_done - sending;
        if late + took > STALE_AFTER / 4 {
            // A quarter of the time trust lasts: say why before it runs out.
            tracing::warn!(
                late_ms = late.as_millis(),
                took_ms = took.as_millis(),
                "heartbeat slow (late: this process was busy; took: the database \
                 or this process was)"
            );
        }
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "heartbeat not sent"),
            Err(_) => {
                tracing::warn!(
                    took_ms = took.as_millis(),
                    "heartbeat not sent in time; replacing its connection"
                );
                pinger.disconnect();
            }
        }
    }
}
