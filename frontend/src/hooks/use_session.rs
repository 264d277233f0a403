//! `use_session`: keeps the browser's view of the session in step with the
//! server, and runs the person-facing session behaviour.
//!
//! - Input (keys, mouse, wheel, touch) is activity: reported at most once
//!   per [`INPUT_THROTTLE_MS`], the last input of a burst always reported.
//! - A background poll (`X-Vigil-Background: 1`) picks up revocations,
//!   settings changes and activity from other devices.
//! - A hidden tab sends `hidden` heartbeats only when hidden tabs are not
//!   idle; an agent on a call sends `call` heartbeats.
//! - The warning and the deadline come from vigil-policy's deadline rule at
//!   the server's time (the local clock corrected by `server_time`); at the
//!   deadline the server is asked, and its 401 says why.
//! - Tabs of the browser share activity and sign-out over a BroadcastChannel.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use serde::{Deserialize, Serialize};
use vigil_policy::api::{ActivitySource, SessionView, UnauthenticatedReason};
use vigil_policy::compliance::signed_out_message;
use vigil_policy::{evaluate, EndReason, SessionTimes, Verdict};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::api::{self, Kind};
use crate::clock::{from_ms, local_ms, to_ms};

/// Shortest gap between two input reports.
pub const INPUT_THROTTLE_MS: f64 = 3_000.0;
/// Gap between background polls.
const POLL_MS: u32 = 5_000;
/// How often the countdown is recomputed.
const TICK_MS: u32 = 250;
const CHANNEL: &str = "vigil-session";

/// Where the session stands, for rendering.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Asking the server.
    Loading,
    /// Signed in.
    Active,
    /// Signed in, warning shown; seconds until sign-out.
    Warning(i64),
    /// Signed out, and why.
    SignedOut {
        /// Machine reason.
        reason: UnauthenticatedReason,
        /// What to tell the person.
        message: String,
    },
}

/// What components see.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The session as last confirmed by the server.
    pub view: Option<Rc<SessionView>>,
    /// The phase now.
    pub phase: Phase,
}

/// Messages between tabs.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum TabMessage {
    View { view: Box<SessionView> },
    SignedOut { reason: UnauthenticatedReason },
}

struct State {
    view: Option<SessionView>,
    /// Server time minus local time, in ms.
    offset_ms: f64,
    last_report_ms: f64,
    trailing: Option<Timeout>,
    checking: bool,
    signed_out: Option<(UnauthenticatedReason, String)>,
    on_call: bool,
    last_heartbeat_ms: f64,
    channel: Option<web_sys::BroadcastChannel>,
    on_message: Option<Closure<dyn FnMut(web_sys::MessageEvent)>>,
    listeners: Vec<EventListener>,
    intervals: Vec<Interval>,
}

struct Keeper {
    state: RefCell<State>,
    publish: Callback<Snapshot>,
}

impl Keeper {
    fn snapshot(&self) -> Snapshot {
        let s = self.state.borrow();
        let phase = if let Some((reason, message)) = &s.signed_out {
            Phase::SignedOut {
                reason: *reason,
                message: message.clone(),
            }
        } else if let Some(view) = &s.view {
            let now = from_ms(local_ms() + s.offset_ms);
            let e = evaluate(&view.policy.audience_policy(), times(view), now);
            match e.verdict {
                Verdict::Active => Phase::Active,
                Verdict::Warning | Verdict::Expired(_) => {
                    Phase::Warning(((to_ms(e.ends_at) - to_ms(now)) / 1000.0).ceil().max(0.0) as i64)
                }
            }
        } else {
            Phase::Loading
        };
        Snapshot {
            view: s.view.clone().map(Rc::new),
            phase,
        }
    }

    fn publish(&self) {
        self.publish.emit(self.snapshot());
    }

    /// Takes a view from the server (or another tab) if it is not older.
    fn apply(&self, view: SessionView, local_at_receipt: Option<f64>, share: bool) {
        {
            let mut s = self.state.borrow_mut();
            if s.signed_out.is_some() {
                return;
            }
            if let Some(at) = local_at_receipt {
                s.offset_ms = to_ms(view.server_time) - at;
            }
            s.view = Some(view.clone());
            if share {
                post(
                    &s.channel,
                    &TabMessage::View {
                        view: Box::new(view),
                    },
                );
            }
        }
        self.publish();
    }

    fn sign_out(&self, reason: UnauthenticatedReason, share: bool) {
        {
            let mut s = self.state.borrow_mut();
            if s.signed_out.is_some() {
                return;
            }
            let (idle, abs) = s
                .view
                .as_ref()
                .map(|v| (v.policy.idle_timeout_secs, v.policy.absolute_timeout_secs))
                .unwrap_or((0, 0));
            s.signed_out = Some((reason, signed_out_message(reason, idle, abs)));
            s.trailing = None;
            if share {
                post(&s.channel, &TabMessage::SignedOut { reason });
            }
        }
        self.publish();
    }

    fn is_signed_out(&self) -> bool {
        self.state.borrow().signed_out.is_some()
    }
}

fn times(view: &SessionView) -> SessionTimes {
    SessionTimes {
        created_at: view.created_at,
        last_activity_at: view.last_activity_at,
        persistent: view.persistent,
    }
}

fn post(channel: &Option<web_sys::BroadcastChannel>, msg: &TabMessage) {
    if let (Some(c), Ok(text)) = (channel, serde_json::to_string(msg)) {
        let _ = c.post_message(&text.into());
    }
}

fn handle_result(
    weak: &Weak<Keeper>,
    result: Result<SessionView, crate::error::ApiError>,
    sent_at: f64,
    share: bool,
) {
    let Some(k) = weak.upgrade() else { return };
    match result {
        Ok(view) => {
            let receipt = (sent_at + local_ms()) / 2.0;
            k.apply(view, Some(receipt), share);
        }
        Err(e) => {
            if let Some(reason) = e.signed_out() {
                k.sign_out(reason, true);
            }
        }
    }
}

fn report(weak: Weak<Keeper>, source: ActivitySource) {
    if let Some(k) = weak.upgrade() {
        if k.is_signed_out() {
            return;
        }
        k.state.borrow_mut().last_report_ms = local_ms();
    }
    wasm_bindgen_futures::spawn_local(async move {
        let sent = local_ms();
        let result = api::activity(source).await;
        handle_result(&weak, result, sent, true);
    });
}

fn poll(weak: Weak<Keeper>, confirm_deadline: bool) {
    if let Some(k) = weak.upgrade() {
        let mut s = k.state.borrow_mut();
        if s.signed_out.is_some() || (confirm_deadline && s.checking) {
            return;
        }
        if confirm_deadline {
            s.checking = true;
        }
    }
    wasm_bindgen_futures::spawn_local(async move {
        let sent = local_ms();
        let result = api::session(Kind::Background).await;
        if confirm_deadline {
            if let Some(k) = weak.upgrade() {
                k.state.borrow_mut().checking = false;
            }
        }
        handle_result(&weak, result, sent, false);
    });
}

fn on_input(weak: &Weak<Keeper>) {
    let Some(k) = weak.upgrade() else { return };
    if k.is_signed_out() {
        return;
    }
    let warning = matches!(k.snapshot().phase, Phase::Warning(_));
    let since = local_ms() - k.state.borrow().last_report_ms;
    if warning || since >= INPUT_THROTTLE_MS {
        k.state.borrow_mut().trailing = None;
        report(weak.clone(), ActivitySource::Input);
    } else if k.state.borrow().trailing.is_none() {
        // Report the end of a burst too, so the server sees the last input.
        let later = weak.clone();
        let wait = (INPUT_THROTTLE_MS - since).max(0.0) as u32;
        let timeout = Timeout::new(wait, move || {
            if let Some(k) = later.upgrade() {
                k.state.borrow_mut().trailing = None;
            }
            report(later, ActivitySource::Input);
        });
        k.state.borrow_mut().trailing = Some(timeout);
    }
}

fn tick(weak: &Weak<Keeper>) {
    let Some(k) = weak.upgrade() else { return };
    if k.is_signed_out() {
        return;
    }
    let snapshot = k.snapshot();
    if let (Phase::Warning(0), Some(view)) = (&snapshot.phase, &snapshot.view) {
        let now = from_ms(local_ms() + k.state.borrow().offset_ms);
        if matches!(
            evaluate(&view.policy.audience_policy(), times(view), now).verdict,
            Verdict::Expired(_)
        ) {
            poll(weak.clone(), true);
        }
    }
    // Heartbeats: a hidden tab when hidden tabs are not idle, and calls.
    let (hidden_counts, call_counts, idle_secs) = match &snapshot.view {
        Some(v) => (
            !v.policy.activity.hidden_tab_is_idle,
            v.policy.activity.active_call_extends,
            v.policy.idle_timeout_secs,
        ),
        None => (false, false, 0),
    };
    let hidden = web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden());
    let every = ((idle_secs as f64) * 1000.0 / 3.0).clamp(1_000.0, 30_000.0);
    let due = local_ms() - k.state.borrow().last_heartbeat_ms >= every;
    let on_call = k.state.borrow().on_call;
    if due && ((hidden && hidden_counts) || (on_call && call_counts)) {
        k.state.borrow_mut().last_heartbeat_ms = local_ms();
        let source = if on_call {
            ActivitySource::Call
        } else {
            ActivitySource::Hidden
        };
        report(weak.clone(), source);
    }
    k.publish();
}

fn start(keeper: &Rc<Keeper>) {
    let weak = Rc::downgrade(keeper);
    let mut listeners = Vec::new();
    if let Some(window) = web_sys::window() {
        for event in [
            "keydown",
            "mousedown",
            "mousemove",
            "wheel",
            "touchstart",
            "pointerdown",
        ] {
            let w = weak.clone();
            listeners.push(EventListener::new(&window, event, move |_| on_input(&w)));
        }
    }
    let channel = web_sys::BroadcastChannel::new(CHANNEL).ok();
    let on_message = channel.as_ref().map(|c| {
        let w = weak.clone();
        let closure =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                let Some(k) = w.upgrade() else { return };
                let Some(text) = e.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<TabMessage>(&text) {
                    Ok(TabMessage::View { view }) => {
                        let newer = k
                            .state
                            .borrow()
                            .view
                            .as_ref()
                            .is_none_or(|v| view.last_activity_at >= v.last_activity_at);
                        if newer {
                            k.apply(*view, None, false);
                        }
                    }
                    Ok(TabMessage::SignedOut { reason }) => k.sign_out(reason, false),
                    Err(_) => {}
                }
            });
        c.set_onmessage(Some(closure.as_ref().unchecked_ref()));
        closure
    });
    let intervals = vec![
        {
            let w = weak.clone();
            Interval::new(TICK_MS, move || tick(&w))
        },
        {
            let w = weak.clone();
            Interval::new(POLL_MS, move || poll(w.clone(), false))
        },
    ];
    {
        let mut s = keeper.state.borrow_mut();
        s.listeners = listeners;
        s.intervals = intervals;
        s.channel = channel;
        s.on_message = on_message;
    }
    // Opening a signed-in page is the person's doing: it counts.
    wasm_bindgen_futures::spawn_local(async move {
        let sent = local_ms();
        let result = api::session(Kind::Foreground).await;
        handle_result(&weak, result, sent, true);
    });
}

fn stop(keeper: &Rc<Keeper>) {
    let mut s = keeper.state.borrow_mut();
    s.listeners.clear();
    s.intervals.clear();
    s.trailing = None;
    if let Some(c) = s.channel.take() {
        c.set_onmessage(None);
        c.close();
    }
    s.on_message = None;
}

/// What [`use_session`] returns.
#[derive(Clone)]
pub struct SessionHandle {
    /// The state to render.
    pub snapshot: Snapshot,
    keeper: Rc<Keeper>,
}

impl PartialEq for SessionHandle {
    fn eq(&self, other: &Self) -> bool {
        self.snapshot == other.snapshot && Rc::ptr_eq(&self.keeper, &other.keeper)
    }
}

impl SessionHandle {
    /// "Stay signed in": reports activity now.
    pub fn stay_signed_in(&self) {
        report(Rc::downgrade(&self.keeper), ActivitySource::Input);
    }

    /// Marks the agent as on a live call (or not).
    pub fn set_on_call(&self, on: bool) {
        {
            let mut s = self.keeper.state.borrow_mut();
            s.on_call = on;
            s.last_heartbeat_ms = 0.0;
        }
        if on {
            report(Rc::downgrade(&self.keeper), ActivitySource::Call);
        }
    }

    /// Signs out here and in every other tab.
    pub fn sign_out(&self) {
        let weak = Rc::downgrade(&self.keeper);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = api::logout().await;
            if let Some(k) = weak.upgrade() {
                k.sign_out(UnauthenticatedReason::Ended(EndReason::LoggedOut), true);
            }
        });
    }

    /// Treats an API error from a page: a 401 signs out everywhere.
    pub fn check(&self, error: &crate::error::ApiError) {
        if let Some(reason) = error.signed_out() {
            self.keeper.sign_out(reason, true);
        }
    }
}

/// Runs the session behaviour for as long as the calling component lives.
#[hook]
pub fn use_session() -> SessionHandle {
    let snapshot = use_state_eq(|| Snapshot {
        view: None,
        phase: Phase::Loading,
    });
    let keeper = {
        let setter = snapshot.clone();
        use_memo((), move |_| Keeper {
            state: RefCell::new(State {
                view: None,
                offset_ms: 0.0,
                last_report_ms: local_ms(),
                trailing: None,
                checking: false,
                signed_out: None,
                on_call: false,
                last_heartbeat_ms: 0.0,
                channel: None,
                on_message: None,
                listeners: Vec::new(),
                intervals: Vec::new(),
            }),
            publish: Callback::from(move |s: Snapshot| setter.set(s)),
        })
    };
    {
        let keeper = keeper.clone();
        use_effect_with((), move |_| {
            start(&keeper);
            move || stop(&keeper)
        });
    }
    SessionHandle {
        snapshot: (*snapshot).clone(),
        keeper,
    }
}
