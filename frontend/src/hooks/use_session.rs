//! `use_session`: keeps the browser's view of the session in step with the
//! server, and runs the person-facing session behaviour.
//!
//! **One live channel per browser.** The tabs elect a leader with the Web
//! Locks API (`vigil-live`); the leader holds `GET /api/session/events` and
//! shares every view and the end over a BroadcastChannel, so the other tabs
//! send nothing to learn of activity elsewhere, a settings change, a
//! revocation or a sign-out. While the channel is down the leader polls
//! `/api/session` with backoff (5 s doubling to 60 s). Without Web Locks,
//! every tab is its own leader.
//!
//! **Input** (keys, mouse, wheel, touch) is reported at most once per
//! `input_report_gap_ms` of the policy (a twentieth of the idle timeout, at
//! most a minute) for the whole browser: a tab does not report input the
//! shared view shows as covered already. The end of a burst is reported
//! too. While the idle warning shows, at most one report is in flight and
//! one a second; once the absolute limit is what ends the session, input is
//! not reported at all (it cannot help).
//!
//! **Deadlines** come from vigil-policy's rule at the server's time (the
//! local clock corrected by `server_time`), to the millisecond. Before the
//! idle deadline a warning counts down; before the absolute limit a
//! heads-up says when it comes. At the deadline the page locks itself even
//! when the server cannot be reached, and the leader confirms with backoff
//! (1, 2, 5, then every 10 s).
//!
//! **Offline**: the browser's online/offline events drive a banner; a
//! sign-out that cannot reach the server says so and retries.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vigil_policy::api::{ActivitySource, SessionView, UnauthenticatedReason};
use vigil_policy::compliance::signed_out_message;
use vigil_policy::{evaluate, EndReason, Evaluation, SessionTimes, Verdict};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use yew::prelude::*;

use crate::api::{self, Kind};
use crate::clock::{from_ms, local_ms, to_ms};
use crate::drafts;

/// How often the countdown is recomputed.
const TICK_MS: u32 = 250;
/// The tabs' BroadcastChannel.
const CHANNEL: &str = "vigil-session";
/// The Web Lock the live channel's holder keeps.
const LEADER_LOCK: &str = "vigil-live";
/// While the channel is down: the first poll's delay, doubling to the last.
const POLL_BACKOFF_MS: (u32, u32) = (5_000, 60_000);
/// After the deadline: when to ask the server again, then every last step.
const CONFIRM_BACKOFF_MS: [u32; 4] = [1_000, 2_000, 5_000, 10_000];
/// Shortest gap between input reports while a warning shows.
const WARNING_REPORT_GAP_MS: f64 = 1_000.0;

/// Where the session stands, for rendering.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Asking the server.
    Loading,
    /// Signed in.
    Active,
    /// The absolute limit is near: when it comes and seconds until then.
    HeadsUp {
        /// The absolute deadline.
        at: OffsetDateTime,
        /// Seconds left.
        seconds_left: i64,
    },
    /// Signed in, idle warning shown; seconds until sign-out.
    Warning(i64),
    /// Past the deadline here: locked until the server confirms.
    Locked,
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
    /// Whether the browser says it is online.
    pub online: bool,
    /// A sign-out that could not reach the server yet.
    pub logout_pending: bool,
}

/// Messages between tabs.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum TabMessage {
    View { view: Box<SessionView> },
    SignedOut { reason: UnauthenticatedReason },
}

#[derive(Default)]
struct Channel {
    source: Option<web_sys::EventSource>,
    handlers: Vec<EventListener>,
    up: bool,
}

#[derive(Default)]
struct State {
    view: Option<SessionView>,
    /// Server time minus local time, in ms.
    offset_ms: f64,
    signed_out: Option<(UnauthenticatedReason, String)>,
    online: bool,
    leader: bool,
    /// Resolves the leader lock's promise (gives up leadership).
    release: Option<js_sys::Function>,
    live: Channel,
    poll_timer: Option<Timeout>,
    poll_backoff_ms: u32,
    /// Local time of the newest input, and whether a report covers it.
    last_input_ms: f64,
    trailing: Option<Timeout>,
    in_flight: bool,
    last_report_ms: f64,
    confirm_step: Option<usize>,
    confirm_timer: Option<Timeout>,
    on_call: bool,
    last_heartbeat_ms: f64,
    logout_pending: bool,
    logout_timer: Option<Timeout>,
    channel: Option<web_sys::BroadcastChannel>,
    on_message: Option<Closure<dyn FnMut(web_sys::MessageEvent)>>,
    listeners: Vec<EventListener>,
    intervals: Vec<Interval>,
}

struct Keeper {
    state: RefCell<State>,
    publish: Callback<Snapshot>,
}

fn seconds_until(at: OffsetDateTime, now: OffsetDateTime) -> i64 {
    ((to_ms(at) - to_ms(now)) / 1000.0).ceil().max(0.0) as i64
}

impl Keeper {
    fn now(&self) -> OffsetDateTime {
        from_ms(local_ms() + self.state.borrow().offset_ms)
    }

    fn evaluation(&self) -> Option<Evaluation> {
        let s = self.state.borrow();
        let view = s.view.as_ref()?;
        let now = from_ms(local_ms() + s.offset_ms);
        Some(evaluate(&view.policy.audience_policy(), times(view), now))
    }

    fn phase(&self) -> Phase {
        if let Some((reason, message)) = &self.state.borrow().signed_out {
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

    fn snapshot(&self) -> Snapshot {
        let phase = self.phase();
        let s = self.state.borrow();
        Snapshot {
            view: s.view.clone().map(Rc::new),
            phase,
            online: s.online,
            logout_pending: s.logout_pending,
        }
    }

    fn publish(&self) {
        self.publish.emit(self.snapshot());
    }

    /// Takes a view from the server (or another tab) unless it is older
    /// than the one held.
    fn apply(&self, view: SessionView, local_at_receipt: Option<f64>, share: bool) {
        {
            let mut s = self.state.borrow_mut();
            if s.signed_out.is_some() {
                return;
            }
            let older = s.view.as_ref().is_some_and(|v| {
                v.session_id == view.session_id && view.last_activity_at < v.last_activity_at
            });
            if older && local_at_receipt.is_none() {
                return;
            }
            if let Some(at) = local_at_receipt {
                s.offset_ms = to_ms(view.server_time) - at;
            }
            s.view = Some(view.clone());
            // The server answered: whatever was locked is settled.
            s.confirm_step = None;
            s.confirm_timer = None;
            if share {
                post(
                    &s.channel,
                    &TabMessage::View {
                        view: Box::new(view.clone()),
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
            s.poll_timer = None;
            s.confirm_timer = None;
            s.live = Channel::default();
            if share {
                post(&s.channel, &TabMessage::SignedOut { reason });
            }
        }
        if reason == UnauthenticatedReason::Ended(EndReason::LoggedOut) {
            drafts::forget_all();
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

/// Applies an answer of the server; `Err` only for a network failure.
fn handle_result(
    weak: &Weak<Keeper>,
    result: Result<SessionView, crate::error::ApiError>,
    sent_at: f64,
) -> Result<(), ()> {
    let Some(k) = weak.upgrade() else {
        return Ok(());
    };
    match result {
        Ok(view) => {
            let receipt = (sent_at + local_ms()) / 2.0;
            k.apply(view, Some(receipt), true);
            Ok(())
        }
        Err(e) => match e.signed_out() {
            Some(reason) => {
                k.sign_out(reason, true);
                Ok(())
            }
            None => Err(()),
        },
    }
}

fn report(weak: Weak<Keeper>, source: ActivitySource) {
    if let Some(k) = weak.upgrade() {
        if k.is_signed_out() {
            return;
        }
        let mut s = k.state.borrow_mut();
        s.last_report_ms = local_ms();
        s.in_flight = true;
    }
    wasm_bindgen_futures::spawn_local(async move {
        let sent = local_ms();
        let result = api::activity(source).await;
        if let Some(k) = weak.upgrade() {
            k.state.borrow_mut().in_flight = false;
        }
        let _ = handle_result(&weak, result, sent);
    });
}

/// Asks the server for the session (a background request).
fn poll_now(weak: Weak<Keeper>, then: fn(&Weak<Keeper>, bool)) {
    wasm_bindgen_futures::spawn_local(async move {
        let sent = local_ms();
        let result = api::session(Kind::Background).await;
        let ok = handle_result(&weak, result, sent).is_ok();
        then(&weak, ok);
    });
}

/// While the live channel is down, the leader polls with backoff.
fn schedule_poll(weak: &Weak<Keeper>) {
    let Some(k) = weak.upgrade() else { return };
    let mut s = k.state.borrow_mut();
    if s.signed_out.is_some() || s.live.up || !s.leader || s.poll_timer.is_some() {
        return;
    }
    let delay = s.poll_backoff_ms.max(POLL_BACKOFF_MS.0);
    s.poll_backoff_ms = (delay * 2).min(POLL_BACKOFF_MS.1);
    let w = weak.clone();
    s.poll_timer = Some(Timeout::new(delay, move || {
        if let Some(k) = w.upgrade() {
            k.state.borrow_mut().poll_timer = None;
            if k.state.borrow().live.up {
                return;
            }
        }
        poll_now(w, |w, _| {
            if let Some(k) = w.upgrade() {
                if k.state.borrow().live.source.is_none() {
                    open_channel(w);
                }
            }
            schedule_poll(w);
        });
    }));
}

/// Opens the live channel (leader only).
fn open_channel(weak: &Weak<Keeper>) {
    let Some(k) = weak.upgrade() else { return };
    if k.is_signed_out() || !k.state.borrow().leader {
        return;
    }
    let Ok(source) = web_sys::EventSource::new("/api/session/events") else {
        schedule_poll(weak);
        return;
    };
    let mut handlers = Vec::new();
    {
        let w = weak.clone();
        handlers.push(EventListener::new(&source, "open", move |_| {
            if let Some(k) = w.upgrade() {
                let mut s = k.state.borrow_mut();
                s.live.up = true;
                s.poll_timer = None;
                s.poll_backoff_ms = 0;
            }
        }));
    }
    {
        let w = weak.clone();
        handlers.push(EventListener::new(&source, "session", move |e| {
            let Some(data) = e
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                return;
            };
            if let (Some(k), Ok(view)) = (w.upgrade(), serde_json::from_str::<SessionView>(&data)) {
                k.apply(view, Some(local_ms()), true);
            }
        }));
    }
    {
        let w = weak.clone();
        handlers.push(EventListener::new(&source, "ended", move |e| {
            #[derive(Deserialize)]
            struct Ended {
                reason: UnauthenticatedReason,
            }
            let Some(data) = e
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                return;
            };
            if let (Some(k), Ok(ended)) = (w.upgrade(), serde_json::from_str::<Ended>(&data)) {
                k.sign_out(ended.reason, true);
            }
        }));
    }
    {
        let w = weak.clone();
        handlers.push(EventListener::new(&source, "error", move |_| {
            let Some(k) = w.upgrade() else { return };
            let closed = {
                let mut s = k.state.borrow_mut();
                s.live.up = false;
                let closed = s
                    .live
                    .source
                    .as_ref()
                    .is_some_and(|src| src.ready_state() == web_sys::EventSource::CLOSED);
                if closed {
                    // Refused (a 401, a 5xx): the poll says why, and the
                    // channel is tried again after it.
                    s.live = Channel::default();
                }
                closed
            };
            if closed {
                poll_now(w.clone(), |w, _| schedule_poll(w));
            } else {
                // The browser reconnects by itself; poll meanwhile.
                schedule_poll(&w);
            }
        }));
    }
    let mut s = k.state.borrow_mut();
    s.live = Channel {
        source: Some(source),
        handlers,
        up: false,
    };
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.handlers.clear();
        if let Some(source) = self.source.take() {
            source.close();
        }
    }
}

fn become_leader(weak: &Weak<Keeper>) {
    if let Some(k) = weak.upgrade() {
        k.state.borrow_mut().leader = true;
    }
    open_channel(weak);
}

/// Asks for the `vigil-live` lock; the callback runs once this tab holds it
/// and keeps it until `release` resolves (the tab closes or leaves the page).
fn elect(weak: &Weak<Keeper>) {
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
        become_leader(weak);
        return;
    };
    let w = weak.clone();
    let on_granted = Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
        let mut release = None;
        let held = js_sys::Promise::new(&mut |resolve, _| release = Some(resolve));
        match w.upgrade() {
            Some(k) if !k.is_signed_out() => {
                k.state.borrow_mut().release = release;
                become_leader(&w);
            }
            _ => {
                if let Some(r) = release {
                    let _ = r.call0(&JsValue::NULL);
                }
            }
        }
        held
    });
    if request
        .call2(&locks, &JsValue::from_str(LEADER_LOCK), &on_granted)
        .is_err()
    {
        become_leader(weak);
    }
}

fn on_input(weak: &Weak<Keeper>) {
    let Some(k) = weak.upgrade() else { return };
    if k.is_signed_out() {
        return;
    }
    k.state.borrow_mut().last_input_ms = local_ms();
    consider_report(weak);
}

/// Reports the newest input if no report covers it yet, within the limits.
fn consider_report(weak: &Weak<Keeper>) {
    let Some(k) = weak.upgrade() else { return };
    let Some(e) = k.evaluation() else { return };
    let (gap_ms, last_activity_ms, covered, in_flight, since_report) = {
        let s = k.state.borrow();
        let Some(view) = s.view.as_ref() else { return };
        let input_server_ms = s.last_input_ms + s.offset_ms;
        let last_activity_ms = to_ms(view.last_activity_at);
        (
            view.policy.audience_policy().input_report_gap_ms() as f64,
            last_activity_ms,
            last_activity_ms >= input_server_ms,
            s.in_flight,
            local_ms() - s.last_report_ms,
        )
    };
    if covered || matches!(e.verdict, Verdict::Expired(_)) || e.ends_by_limit() {
        // Nothing new, too late, or activity cannot help: the absolute
        // limit ends this session whatever happens.
        return;
    }
    let now = k.now();
    let (wait_ms, warning) = if e.verdict == Verdict::Warning {
        let wait = if in_flight {
            WARNING_REPORT_GAP_MS
        } else {
            (WARNING_REPORT_GAP_MS - since_report).max(0.0)
        };
        (wait, true)
    } else {
        let since = to_ms(now) - last_activity_ms;
        let mut wait = (gap_ms - since).max(0.0);
        // Near the warning instant, report at once.
        if to_ms(now) + wait >= to_ms(e.warn_at) - 1_000.0 {
            wait = 0.0;
        }
        (wait, false)
    };
    if wait_ms <= 0.0 && !in_flight {
        k.state.borrow_mut().trailing = None;
        report(weak.clone(), ActivitySource::Input);
    } else if k.state.borrow().trailing.is_none() {
        let later = weak.clone();
        let wait = if warning {
            wait_ms.max(50.0)
        } else {
            wait_ms.max(250.0)
        };
        let timeout = Timeout::new(wait as u32, move || {
            if let Some(k) = later.upgrade() {
                k.state.borrow_mut().trailing = None;
            }
            consider_report(&later);
        });
        k.state.borrow_mut().trailing = Some(timeout);
    }
}

/// After the deadline: ask the server, again after 1, 2, 5, then every 10 s
/// until it answers (the leader only; its answer reaches every tab).
fn confirm(weak: &Weak<Keeper>) {
    let Some(k) = weak.upgrade() else { return };
    let step = {
        let mut s = k.state.borrow_mut();
        if !s.leader || s.confirm_timer.is_some() || s.signed_out.is_some() {
            return;
        }
        let step = s.confirm_step.map_or(0, |n| n + 1);
        s.confirm_step = Some(step);
        step
    };
    let delay = if step == 0 {
        0
    } else {
        CONFIRM_BACKOFF_MS[(step - 1).min(CONFIRM_BACKOFF_MS.len() - 1)]
    };
    let w = weak.clone();
    let timer = Timeout::new(delay, move || {
        poll_now(w, |w, _| {
            if let Some(k) = w.upgrade() {
                k.state.borrow_mut().confirm_timer = None;
            }
        });
    });
    k.state.borrow_mut().confirm_timer = Some(timer);
}

fn tick(weak: &Weak<Keeper>) {
    let Some(k) = weak.upgrade() else { return };
    if k.is_signed_out() {
        return;
    }
    let phase = k.phase();
    if phase == Phase::Locked {
        confirm(weak);
    }
    // Heartbeats: a hidden tab when hidden tabs are not idle, and calls.
    let (hidden_counts, call_counts, gap) = match &k.state.borrow().view {
        Some(v) => (
            !v.policy.activity.hidden_tab_is_idle,
            v.policy.activity.active_call_extends,
            v.policy.audience_policy().input_report_gap_ms() as f64,
        ),
        None => (false, false, 0.0),
    };
    let hidden = web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden());
    let every = gap.max(1_000.0);
    let due = local_ms() - k.state.borrow().last_heartbeat_ms >= every;
    let on_call = k.state.borrow().on_call;
    let limit = matches!(phase, Phase::HeadsUp { .. } | Phase::Locked);
    if due && !limit && ((hidden && hidden_counts) || (on_call && call_counts)) {
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
        for (event, online) in [("online", true), ("offline", false)] {
            let w = weak.clone();
            listeners.push(EventListener::new(&window, event, move |_| {
                let Some(k) = w.upgrade() else { return };
                k.state.borrow_mut().online = online;
                k.publish();
                let leader_down = {
                    let s = k.state.borrow();
                    s.leader && !s.live.up
                };
                if online && leader_down {
                    // Back: ask at once rather than at the next backoff step.
                    k.state.borrow_mut().poll_timer = None;
                    k.state.borrow_mut().poll_backoff_ms = 0;
                    poll_now(w.clone(), |w, _| {
                        if let Some(k) = w.upgrade() {
                            if k.state.borrow().live.source.is_none() {
                                open_channel(w);
                            }
                        }
                        schedule_poll(w);
                    });
                }
            }));
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
                    Ok(TabMessage::View { view }) => k.apply(*view, None, false),
                    Ok(TabMessage::SignedOut { reason }) => k.sign_out(reason, false),
                    Err(_) => {}
                }
            });
        c.set_onmessage(Some(closure.as_ref().unchecked_ref()));
        closure
    });
    let intervals = vec![{
        let w = weak.clone();
        Interval::new(TICK_MS, move || tick(&w))
    }];
    {
        let mut s = keeper.state.borrow_mut();
        s.listeners = listeners;
        s.intervals = intervals;
        s.channel = channel;
        s.on_message = on_message;
        s.online = web_sys::window().is_none_or(|w| w.navigator().on_line());
        s.last_report_ms = local_ms();
    }
    // Opening a signed-in page is the person's doing: it counts.
    wasm_bindgen_futures::spawn_local(async move {
        let sent = local_ms();
        let result = api::session(Kind::Foreground).await;
        if handle_result(&weak, result, sent).is_err() {
            // Unreachable: keep trying, with backoff, as the leader would.
            if let Some(k) = weak.upgrade() {
                k.state.borrow_mut().leader = true;
            }
            schedule_poll(&weak);
        }
        if weak.upgrade().is_some_and(|k| !k.is_signed_out()) {
            elect(&weak);
        }
    });
}

fn stop(keeper: &Rc<Keeper>) {
    let mut s = keeper.state.borrow_mut();
    s.listeners.clear();
    s.intervals.clear();
    s.trailing = None;
    s.poll_timer = None;
    s.confirm_timer = None;
    s.logout_timer = None;
    s.live = Channel::default();
    if let Some(release) = s.release.take() {
        let _ = release.call0(&JsValue::NULL);
    }
    if let Some(c) = s.channel.take() {
        c.set_onmessage(None);
        c.close();
    }
    s.on_message = None;
}

/// Signs out on the server; when it cannot be reached, says so and tries
/// again after 2, 5, then every 10 s.
fn logout(weak: Weak<Keeper>, attempt: usize) {
    wasm_bindgen_futures::spawn_local(async move {
        let result = api::logout().await;
        let Some(k) = weak.upgrade() else { return };
        match result {
            Err(crate::error::ApiError::Network(_)) => {
                k.state.borrow_mut().logout_pending = true;
                k.publish();
                let delay = [2_000, 5_000, 10_000][attempt.min(2)];
                let w = weak.clone();
                let timer = Timeout::new(delay, move || logout(w, attempt + 1));
                k.state.borrow_mut().logout_timer = Some(timer);
            }
            // Signed out now, or the session had ended already.
            _ => {
                k.state.borrow_mut().logout_pending = false;
                k.sign_out(UnauthenticatedReason::Ended(EndReason::LoggedOut), true);
            }
        }
    });
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
        self.keeper.state.borrow_mut().last_input_ms = local_ms();
        consider_report(&Rc::downgrade(&self.keeper));
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

    /// Signs out here and in every other tab (retrying while offline).
    pub fn sign_out(&self) {
        logout(Rc::downgrade(&self.keeper), 0);
    }

    /// Whether this tab holds the browser's live channel.
    pub fn is_leader(&self) -> bool {
        self.keeper.state.borrow().leader
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
        online: true,
        logout_pending: false,
    });
    let keeper = {
        let setter = snapshot.clone();
        use_memo((), move |_| Keeper {
            state: RefCell::new(State::default()),
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
