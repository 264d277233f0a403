//! The live channel. **One per browser**: the leader tab (see
//! [`super::tabs`]) holds `GET /api/session/events` and hears every view
//! and the end at once; the other tabs hear them from it, so they send
//! nothing to learn of activity elsewhere, a settings change, a revocation
//! or a sign-out. While the channel is down the leader polls
//! `/api/session` with backoff (5 s doubling to 60 s). Past the deadline,
//! the leader asks the server to confirm (at once, then after 1, 2, 5, then
//! every 10 s) until it answers.

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use serde::Deserialize;
use vigil_policy::api::{SessionView, UnauthenticatedReason};
use wasm_bindgen::JsCast;

use super::keeper::Keeper;
use crate::api::{self, Kind};
use crate::backoff::Backoff;
use crate::clock::local_ms;

/// While the channel is down: 5 s doubling to 60 s.
const POLL_BACKOFF_MS: &[u32] = &[5_000, 10_000, 20_000, 40_000, 60_000];
/// After the deadline: at once, then 1, 2, 5, then every 10 s.
const CONFIRM_BACKOFF_MS: &[u32] = &[0, 1_000, 2_000, 5_000, 10_000];

/// The live channel's state.
pub(super) struct Live {
    channel: Option<Channel>,
    poll_timer: Option<Timeout>,
    poll: Backoff,
    confirm_timer: Option<Timeout>,
    confirm: Backoff,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            channel: None,
            poll_timer: None,
            poll: Backoff::new(POLL_BACKOFF_MS),
            confirm_timer: None,
            confirm: Backoff::new(CONFIRM_BACKOFF_MS),
        }
    }
}

/// An open EventSource and its handlers; closed when dropped.
struct Channel {
    source: web_sys::EventSource,
    handlers: Vec<EventListener>,
    /// Whether it is connected now.
    up: bool,
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.handlers.clear();
        self.source.close();
    }
}

/// The text of a server-sent event.
fn data(e: &web_sys::Event) -> Option<String> {
    e.dyn_ref::<web_sys::MessageEvent>()
        .and_then(|m| m.data().as_string())
}

impl Keeper {
    fn is_up(&self) -> bool {
        self.live.borrow().channel.as_ref().is_some_and(|c| c.up)
    }

    /// A handler of the channel's `event`.
    fn on_source(
        &self,
        source: &web_sys::EventSource,
        event: &'static str,
        then: fn(&Keeper, &web_sys::Event),
    ) -> EventListener {
        let me = self.me.clone();
        EventListener::new(source, event, move |e| {
            if let Some(k) = me.upgrade() {
                then(&k, e);
            }
        })
    }

    /// Opens the live channel (leader only).
    pub(super) fn open_channel(&self) {
        if self.is_signed_out() || !self.is_leader() {
            return;
        }
        let Ok(source) = web_sys::EventSource::new("/api/session/events") else {
            self.schedule_poll();
            return;
        };
        let handlers = vec![
            self.on_source(&source, "open", |k, _| {
                let mut l = k.live.borrow_mut();
                if let Some(c) = &mut l.channel {
                    c.up = true;
                }
                l.poll_timer = None;
                l.poll.reset();
            }),
            self.on_source(&source, "session", |k, e| {
                if let Some(view) = data(e).and_then(|d| crate::api::decode::<SessionView>(&d)) {
                    k.apply(view, Some(local_ms()), true);
                }
            }),
            self.on_source(&source, "ended", |k, e| {
                #[derive(Deserialize)]
                struct Ended {
                    reason: UnauthenticatedReason,
                }
                if let Some(ended) = data(e).and_then(|d| crate::api::decode::<Ended>(&d)) {
                    k.sign_out(ended.reason, true);
                }
            }),
            self.on_source(&source, "error", |k, _| k.channel_error()),
        ];
        self.live.borrow_mut().channel = Some(Channel {
            source,
            handlers,
            up: false,
        });
    }

    fn channel_error(&self) {
        let closed = {
            let mut l = self.live.borrow_mut();
            let closed = l.channel.as_mut().is_some_and(|c| {
                c.up = false;
                c.source.ready_state() == web_sys::EventSource::CLOSED
            });
            if closed {
                // Refused (a 401, a 5xx): the poll says why, and the
                // channel is tried again after it.
                l.channel = None;
            }
            closed
        };
        if closed {
            self.poll_now(Keeper::schedule_poll);
        } else {
            // The browser reconnects by itself; poll meanwhile.
            self.schedule_poll();
        }
    }

    /// Asks the server for the session (a background request), then does
    /// `then`.
    fn poll_now(&self, then: fn(&Keeper)) {
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let sent = local_ms();
            let result = api::session(Kind::Background).await;
            if let Some(k) = me.upgrade() {
                k.answer(result, sent);
                then(&k);
            }
        });
    }

    /// After a poll: the channel again if it is closed, and the next poll.
    fn reconnect(&self) {
        if self.live.borrow().channel.is_none() {
            self.open_channel();
        }
        self.schedule_poll();
    }

    /// While the live channel is down, the leader polls with backoff.
    pub(super) fn schedule_poll(&self) {
        if self.is_signed_out() || !self.is_leader() || self.is_up() {
            return;
        }
        let mut l = self.live.borrow_mut();
        if l.poll_timer.is_some() {
            return;
        }
        let me = self.me.clone();
        l.poll_timer = Some(Timeout::new(l.poll.next_ms(), move || {
            let Some(k) = me.upgrade() else { return };
            k.live.borrow_mut().poll_timer = None;
            if !k.is_up() {
                k.poll_now(Keeper::reconnect);
            }
        }));
    }

    /// Back online: the leader asks at once rather than at the next
    /// backoff step.
    pub(super) fn back_online(&self) {
        if !self.is_leader() || self.is_up() {
            return;
        }
        {
            let mut l = self.live.borrow_mut();
            l.poll_timer = None;
            l.poll.reset();
        }
        self.poll_now(Keeper::reconnect);
    }

    /// After the deadline: asks the server, again and again with backoff
    /// until it answers (the leader only; its answer reaches every tab).
    pub(super) fn confirm(&self) {
        if !self.is_leader() || self.is_signed_out() {
            return;
        }
        let mut l = self.live.borrow_mut();
        if l.confirm_timer.is_some() {
            return;
        }
        let me = self.me.clone();
        l.confirm_timer = Some(Timeout::new(l.confirm.next_ms(), move || {
            if let Some(k) = me.upgrade() {
                k.poll_now(|k| k.live.borrow_mut().confirm_timer = None);
            }
        }));
    }

    /// The server answered: the deadline's confirmation starts over.
    pub(super) fn settled(&self) {
        let mut l = self.live.borrow_mut();
        l.confirm.reset();
        l.confirm_timer = None;
    }

    /// Closes the channel and stops polling (signed out, or the page goes).
    pub(super) fn close_live(&self) {
        let mut l = self.live.borrow_mut();
        l.channel = None;
        l.poll_timer = None;
        l.confirm_timer = None;
    }
}
