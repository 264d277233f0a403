//! Tab coordination. The tabs elect a leader with the Web Locks API
//! (`vigil-live`): the leader holds the live channel ([`super::live`]).
//! Without Web Locks, every tab is its own leader. Every view the server
//! sends and every sign-out is shared over a BroadcastChannel
//! (`vigil-session`), so the other tabs follow without asking. Signing out
//! reaches the server, or says it could not and retries (2, 5, then every
//! 10 s), and then every tab.

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use vigil_policy::api::{SessionView, UnauthenticatedReason};
use vigil_policy::EndReason;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::keeper::Keeper;
use crate::api;
use crate::backoff::Backoff;
use crate::error::ApiError;

/// The tabs' BroadcastChannel.
const CHANNEL: &str = "vigil-session";
/// The Web Lock the live channel's holder keeps.
const LEADER_LOCK: &str = "vigil-live";
/// A sign-out that cannot reach the server is tried again after these.
const LOGOUT_BACKOFF_MS: &[u32] = &[2_000, 5_000, 10_000];

/// What one tab tells the others, as the channel carries it (it copies
/// plain JavaScript values): the session view as the plain object serde
/// makes of it, read back by the very code that reads the server's answers
/// (a serde enum around it would take a second copy of that code), or why
/// the session ended, by its wire name, a string.
#[derive(Debug)]
pub(super) enum TabMessage {
    View(Box<SessionView>),
    SignedOut(UnauthenticatedReason),
}

impl TabMessage {
    fn to_js(&self) -> Option<JsValue> {
        match self {
            TabMessage::View(view) => api::to_js(view),
            TabMessage::SignedOut(reason) => Some(reason.as_str().into()),
        }
    }

    fn from_js(data: JsValue) -> Option<Self> {
        match data.as_string() {
            Some(reason) => UnauthenticatedReason::parse(&reason).map(TabMessage::SignedOut),
            None => Some(TabMessage::View(Box::new(api::from_js(data)?))),
        }
    }
}

/// Tab coordination's state.
#[derive(Default)]
pub(super) struct Tabs {
    /// Whether this tab holds the live channel.
    leader: bool,
    lock: Option<Lock>,
    channel: Option<Channel>,
    logout_pending: bool,
    logout_timer: Option<Timeout>,
}

/// The leader's Web Lock, held until its promise resolves: when dropped.
struct Lock(js_sys::Function);

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.0.call0(&JsValue::NULL);
    }
}

/// The BroadcastChannel and its listener; closed when dropped.
struct Channel {
    channel: web_sys::BroadcastChannel,
    _heard: EventListener,
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.channel.close();
    }
}

impl Keeper {
    /// Opens the BroadcastChannel: other tabs' views and sign-outs apply
    /// here as if this tab had heard them.
    pub(super) fn open_tabs(&self) {
        let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
            return;
        };
        let me = self.me.clone();
        let heard = EventListener::new(&channel, "message", move |e| {
            let Some(k) = me.upgrade() else { return };
            let Some(m) = e.dyn_ref::<web_sys::MessageEvent>() else {
                return;
            };
            match TabMessage::from_js(m.data()) {
                Some(TabMessage::View(view)) => k.apply(*view, None, false),
                Some(TabMessage::SignedOut(reason)) => k.sign_out(reason, false),
                None => {}
            }
        });
        self.tabs.borrow_mut().channel = Some(Channel {
            channel,
            _heard: heard,
        });
    }

    /// Tells the other tabs.
    pub(super) fn share(&self, msg: &TabMessage) {
        if let (Some(c), Some(data)) = (&self.tabs.borrow().channel, msg.to_js()) {
            let _ = c.channel.post_message(&data);
        }
    }

    /// Whether this tab holds the browser's live channel.
    pub(super) fn is_leader(&self) -> bool {
        self.tabs.borrow().leader
    }

    /// Acts as the leader without the lock (the server cannot be reached:
    /// keep trying, as the leader would).
    pub(super) fn assume_leader(&self) {
        self.tabs.borrow_mut().leader = true;
    }

    fn become_leader(&self) {
        self.assume_leader();
        self.open_channel();
    }

    /// Asks for the `vigil-live` lock; the callback runs once this tab
    /// holds it and keeps it until the page goes.
    pub(super) fn elect(&self) {
        let locks = web_sys::window()
            .map(|w| w.navigator())
            .and_then(|n| js_sys::Reflect::get(&n, &JsValue::from_str("locks")).ok())
            .filter(|l| !l.is_undefined() && !l.is_null());
        let request = locks.as_ref().and_then(|l| {
            js_sys::Reflect::get(l, &JsValue::from_str("request"))
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        });
        let (Some(locks), Some(request)) = (locks, request) else {
            self.become_leader();
            return;
        };
        let me = self.me.clone();
        let on_granted = Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
            let mut release = None;
            let held = js_sys::Promise::new(&mut |resolve, _| release = Some(resolve));
            let lock = release.map(Lock);
            match me.upgrade() {
                Some(k) if !k.is_signed_out() => {
                    k.tabs.borrow_mut().lock = lock;
                    k.become_leader();
                }
                // Gone or signed out: give it back at once.
                _ => drop(lock),
            }
            held
        });
        if request
            .call2(&locks, &JsValue::from_str(LEADER_LOCK), &on_granted)
            .is_err()
        {
            self.become_leader();
        }
    }

    /// A sign-out that has not reached the server yet.
    pub(super) fn logout_pending(&self) -> bool {
        self.tabs.borrow().logout_pending
    }

    /// Signs out on the server, then here and in every other tab.
    pub(super) fn sign_out_everywhere(&self) {
        self.logout(Backoff::new(LOGOUT_BACKOFF_MS));
    }

    fn logout(&self, mut backoff: Backoff) {
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = api::logout().await;
            let Some(k) = me.upgrade() else { return };
            match result {
                Err(ApiError::Network) => {
                    k.tabs.borrow_mut().logout_pending = true;
                    k.publish();
                    let me = k.me.clone();
                    let timer = Timeout::new(backoff.next_ms(), move || {
                        if let Some(k) = me.upgrade() {
                            k.logout(backoff);
                        }
                    });
                    k.tabs.borrow_mut().logout_timer = Some(timer);
                }
                // Signed out now, or the session had ended already.
                _ => {
                    k.tabs.borrow_mut().logout_pending = false;
                    k.sign_out(UnauthenticatedReason::Ended(EndReason::LoggedOut), true);
                }
            }
        });
    }

    /// Gives up the lead and the channel (the page goes).
    pub(super) fn close_tabs(&self) {
        let mut t = self.tabs.borrow_mut();
        t.logout_timer = None;
        t.lock = None;
        t.channel = None;
    }
}
