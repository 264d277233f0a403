//! The core of the session hook: the session as last confirmed by the
//! server (or shared by another tab), the offset of the server's clock, the
//! sign-out and the snapshot components render. The [`Keeper`] holds each
//! concern's state in its own cell; the concerns are its methods in
//! [`super::live`], [`super::activity`] and [`super::tabs`].

use std::cell::{Ref, RefCell};
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use time::OffsetDateTime;
use vigil_policy::api::{SessionView, UnauthenticatedReason};
use vigil_policy::compliance::signed_out_message;
use vigil_policy::{evaluate, EndReason, Evaluation, SessionTimes, Verdict};
use yew::Callback;

use super::activity::Activity;
use super::live::Live;
use super::tabs::{TabMessage, Tabs};
use super::{Phase, Snapshot};
use crate::api::{self, Kind};
use crate::clock::{from_ms, local_ms, to_ms};
use crate::drafts;
use crate::error::ApiError;

/// How often the countdown is recomputed.
const TICK_MS: u32 = 250;

/// The session behaviour of one page: the core's state, and each
/// concern's.
pub(super) struct Keeper {
    /// Itself, for timers, listeners and requests: they must not keep it
    /// alive after the page is gone.
    pub(super) me: Weak<Keeper>,
    core: RefCell<Core>,
    publish: Callback<Snapshot>,
    pub(super) live: RefCell<Live>,
    pub(super) activity: RefCell<Activity>,
    pub(super) tabs: RefCell<Tabs>,
}

#[derive(Default)]
struct Core {
    view: Option<SessionView>,
    /// Server time minus local time, in ms.
    offset_ms: f64,
    signed_out: Option<(UnauthenticatedReason, String)>,
    online: bool,
    /// The online/offline listeners and the countdown's tick.
    listeners: Vec<EventListener>,
    tick: Option<Interval>,
}

fn seconds_until(at: OffsetDateTime, now: OffsetDateTime) -> i64 {
    ((to_ms(at) - to_ms(now)) / 1000.0).ceil().max(0.0) as i64
}

fn times(view: &SessionView) -> SessionTimes {
    SessionTimes {
        created_at: view.created_at,
        last_activity_at: view.last_activity_at,
        persistent: view.persistent,
    }
}

impl Keeper {
    /// A keeper that tells components through `publish`.
    pub(super) fn new(publish: Callback<Snapshot>) -> Rc<Self> {
        Rc::new_cyclic(|me| Keeper {
            me: me.clone(),
            core: RefCell::default(),
            publish,
            live: RefCell::default(),
            activity: RefCell::default(),
            tabs: RefCell::default(),
        })
    }

    /// The server's time now.
    pub(super) fn now(&self) -> OffsetDateTime {
        from_ms(local_ms() + self.offset_ms())
    }

    /// Server time minus local time, in ms.
    pub(super) fn offset_ms(&self) -> f64 {
        self.core.borrow().offset_ms
    }

    /// The session as last confirmed.
    pub(super) fn view(&self) -> Ref<'_, Option<SessionView>> {
        Ref::map(self.core.borrow(), |c| &c.view)
    }

    /// vigil-policy's rule applied now, once the session is known.
    pub(super) fn evaluation(&self) -> Option<Evaluation> {
        let c = self.core.borrow();
        let view = c.view.as_ref()?;
        let now = from_ms(local_ms() + c.offset_ms);
        Some(evaluate(&view.policy.audience_policy(), times(view), now))
    }

    pub(super) fn is_signed_out(&self) -> bool {
        self.core.borrow().signed_out.is_some()
    }

    fn phase(&self) -> Phase {
        if let Some((reason, message)) = &self.core.borrow().signed_out {
            return Phase::SignedOut {
                reason: *reason,
                message: message.clone(),
            };
        }
        let Some(e) = self.evaluation() else {
            return Phase::Loading;
        };
        let now = self.now();
        match e.verdict {
            Verdict::Expired(_) => Phase::Locked,
            _ if e.ends_by_limit() && now >= e.heads_up_at => Phase::HeadsUp {
                at: e.absolute_expires_at,
                seconds_left: seconds_until(e.absolute_expires_at, now),
            },
            Verdict::Warning => Phase::Warning(seconds_until(e.ends_at, now)),
            Verdict::Active => Phase::Active,
        }
    }

    /// Tells components how things stand.
    pub(super) fn publish(&self) {
        let phase = self.phase();
        let logout_pending = self.logout_pending();
        let c = self.core.borrow();
        let snapshot = Snapshot {
            view: c.view.clone().map(Rc::new),
            phase,
            online: c.online,
            logout_pending,
        };
        drop(c);
        self.publish.emit(snapshot);
    }

    /// Takes a view from the server (or another tab, `local_at_receipt`
    /// `None`) unless it is older than the one held; `share` tells the
    /// other tabs.
    pub(super) fn apply(&self, view: SessionView, local_at_receipt: Option<f64>, share: bool) {
        {
            let mut c = self.core.borrow_mut();
            if c.signed_out.is_some() {
                return;
            }
            let older = c.view.as_ref().is_some_and(|v| {
                v.session_id == view.session_id && view.last_activity_at < v.last_activity_at
            });
            if older && local_at_receipt.is_none() {
                return;
            }
            if let Some(at) = local_at_receipt {
                c.offset_ms = to_ms(view.server_time) - at;
            }
            c.view = Some(view.clone());
        }
        // The server answered: whatever was locked is settled.
        self.settled();
        if share {
            self.share(&TabMessage::View(Box::new(view)));
        }
        self.publish();
    }

    /// Ends the session here (and, with `share`, in the other tabs).
    pub(super) fn sign_out(&self, reason: UnauthenticatedReason, share: bool) {
        {
            let mut c = self.core.borrow_mut();
            if c.signed_out.is_some() {
                return;
            }
            let (idle, abs) = c
                .view
                .as_ref()
                .map(|v| (v.policy.idle_timeout_secs, v.policy.absolute_timeout_secs))
                .unwrap_or((0, 0));
            c.signed_out = Some((reason, signed_out_message(reason, idle, abs)));
        }
        self.stop_trailing();
        self.close_live();
        if share {
            self.share(&TabMessage::SignedOut(reason));
        }
        if reason == UnauthenticatedReason::Ended(EndReason::LoggedOut) {
            drafts::forget_all();
        }
        self.publish();
    }

    /// Applies an answer of the server about the session: `false` only
    /// when there was none (a network failure).
    pub(super) fn answer(&self, result: Result<SessionView, ApiError>, sent_at: f64) -> bool {
        match result {
            Ok(view) => {
                let receipt = (sent_at + local_ms()) / 2.0;
                self.apply(view, Some(receipt), true);
                true
            }
            Err(e) => match e.signed_out() {
                Some(reason) => {
                    self.sign_out(reason, true);
                    true
                }
                None => false,
            },
        }
    }

    fn set_online(&self, online: bool) {
        self.core.borrow_mut().online = online;
        self.publish();
        if online {
            self.back_online();
        }
    }

    /// Every tick: the countdown, the deadline's confirmation, heartbeats.
    fn tick(&self) {
        if self.is_signed_out() {
            return;
        }
        let phase = self.phase();
        if phase == Phase::Locked {
            self.confirm();
        }
        self.heartbeat(&phase);
        self.publish();
    }

    /// Starts everything when the page mounts.
    pub(super) fn start(&self) {
        self.listen_for_input();
        let mut listeners = Vec::new();
        if let Some(window) = web_sys::window() {
            for (event, online) in [("online", true), ("offline", false)] {
                let me = self.me.clone();
                listeners.push(EventListener::new(&window, event, move |_| {
                    if let Some(k) = me.upgrade() {
                        k.set_online(online);
                    }
                }));
            }
        }
        self.open_tabs();
        let tick = {
            let me = self.me.clone();
            Interval::new(TICK_MS, move || {
                if let Some(k) = me.upgrade() {
                    k.tick();
                }
            })
        };
        {
            let mut c = self.core.borrow_mut();
            c.listeners = listeners;
            c.tick = Some(tick);
            c.online = web_sys::window().is_none_or(|w| w.navigator().on_line());
        }
        // Opening a signed-in page is the person's doing: it counts.
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let sent = local_ms();
            let result = api::session(Kind::Foreground).await;
            let Some(k) = me.upgrade() else { return };
            if !k.answer(result, sent) {
                // Unreachable: keep trying, with backoff, as the leader would.
                k.assume_leader();
                k.schedule_poll();
            }
            if !k.is_signed_out() {
                k.elect();
            }
        });
    }

    /// Stops everything when the page goes.
    pub(super) fn stop(&self) {
        {
            let mut c = self.core.borrow_mut();
            c.listeners.clear();
            c.tick = None;
        }
        self.stop_activity();
        self.close_live();
        self.close_tabs();
    }
}
