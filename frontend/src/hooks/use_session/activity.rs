//! The activity reporter. **Input** (keys, mouse, wheel, touch) is
//! reported at most once per `input_report_gap_ms` of the policy (a
//! twentieth of the idle timeout, at most a minute) for the whole browser:
//! a tab does not report input the shared view shows as covered already.
//! The end of a burst is reported too. While the idle warning shows, at
//! most one report is in flight and one a second; once the absolute limit
//! is what ends the session, input is not reported at all (it cannot help).
//! **Heartbeats** keep a session alive while the agent is on a call, or
//! while the tab is hidden when the account does not count hidden tabs as
//! idle.

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use vigil_policy::api::ActivitySource;
use vigil_policy::{Evaluation, Verdict};

use super::keeper::Keeper;
use super::Phase;
use crate::api;
use crate::clock::{local_ms, to_ms};

/// Shortest gap between input reports while a warning shows.
const WARNING_REPORT_GAP_MS: f64 = 1_000.0;
/// The browser events that are input.
const INPUT_EVENTS: [&str; 6] = [
    "keydown",
    "mousedown",
    "mousemove",
    "wheel",
    "touchstart",
    "pointerdown",
];

/// The reporter's state.
#[derive(Default)]
pub(super) struct Activity {
    listeners: Vec<EventListener>,
    /// Local time of the newest input.
    last_input_ms: f64,
    /// The report planned for the end of a burst.
    trailing: Option<Timeout>,
    in_flight: bool,
    /// Local time of the last report sent.
    last_report_ms: f64,
    on_call: bool,
    last_heartbeat_ms: f64,
}

/// What input waiting to be reported is weighed by, in milliseconds of
/// the server's clock unless said otherwise.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Now.
    now: f64,
    /// The newest input.
    input: f64,
    /// The session's last activity, as the server knows it.
    last_activity: f64,
    /// The policy's input report gap.
    gap: f64,
    /// Whether a report is on its way.
    in_flight: bool,
    /// Time since the last report was sent (any clock).
    since_report: f64,
}

/// When to report input.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Throttle {
    /// Not at all: nothing new, too late, or it cannot help.
    Skip,
    /// At once.
    Now,
    /// After this many milliseconds (unless a report is planned already).
    After(u32),
}

/// The throttle: when input `p` should be reported, given the rule's
/// evaluation `e`.
fn throttle(e: &Evaluation, p: &Pending) -> Throttle {
    let covered = p.last_activity >= p.input;
    if covered || matches!(e.verdict, Verdict::Expired(_)) || e.ends_by_limit() {
        // Nothing new, too late, or activity cannot help: the absolute
        // limit ends this session whatever happens.
        return Throttle::Skip;
    }
    let (wait, least) = if e.verdict == Verdict::Warning {
        let wait = if p.in_flight {
            WARNING_REPORT_GAP_MS
        } else {
            (WARNING_REPORT_GAP_MS - p.since_report).max(0.0)
        };
        (wait, 50.0)
    } else {
        let since = p.now - p.last_activity;
        let mut wait = (p.gap - since).max(0.0);
        // Near the warning instant, report at once.
        if p.now + wait >= to_ms(e.warn_at) - 1_000.0 {
            wait = 0.0;
        }
        (wait, 250.0)
    };
    if wait <= 0.0 && !p.in_flight {
        Throttle::Now
    } else {
        Throttle::After(wait.max(least) as u32)
    }
}

impl Keeper {
    /// Listens for input (the page mounts).
    pub(super) fn listen_for_input(&self) {
        let mut listeners = Vec::new();
        if let Some(window) = web_sys::window() {
            for event in INPUT_EVENTS {
                let me = self.me.clone();
                listeners.push(EventListener::new(&window, event, move |_| {
                    if let Some(k) = me.upgrade() {
                        if !k.is_signed_out() {
                            k.stay_signed_in();
                        }
                    }
                }));
            }
        }
        let mut a = self.activity.borrow_mut();
        a.listeners = listeners;
        a.last_report_ms = local_ms();
    }

    /// Input now (or "Stay signed in"): reported within the limits.
    pub(super) fn stay_signed_in(&self) {
        self.activity.borrow_mut().last_input_ms = local_ms();
        self.consider_report();
    }

    /// Reports the newest input if no report covers it yet, within the
    /// limits.
    fn consider_report(&self) {
        let Some(e) = self.evaluation() else { return };
        let pending = {
            let view = self.view();
            let Some(view) = view.as_ref() else { return };
            let offset = self.offset_ms();
            let a = self.activity.borrow();
            Pending {
                now: local_ms() + offset,
                input: a.last_input_ms + offset,
                last_activity: to_ms(view.last_activity_at),
                gap: view.policy.audience_policy().input_report_gap_ms() as f64,
                in_flight: a.in_flight,
                since_report: local_ms() - a.last_report_ms,
            }
        };
        match throttle(&e, &pending) {
            Throttle::Skip => {}
            Throttle::Now => {
                self.stop_trailing();
                self.report(ActivitySource::Input);
            }
            Throttle::After(wait) => {
                if self.activity.borrow().trailing.is_some() {
                    return;
                }
                let me = self.me.clone();
                let timeout = Timeout::new(wait, move || {
                    if let Some(k) = me.upgrade() {
                        k.stop_trailing();
                        k.consider_report();
                    }
                });
                self.activity.borrow_mut().trailing = Some(timeout);
            }
        }
    }

    /// Tells the server of activity from `source`.
    fn report(&self, source: ActivitySource) {
        if self.is_signed_out() {
            return;
        }
        {
            let mut a = self.activity.borrow_mut();
            a.last_report_ms = local_ms();
            a.in_flight = true;
        }
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let sent = local_ms();
            let result = api::activity(source).await;
            if let Some(k) = me.upgrade() {
                k.activity.borrow_mut().in_flight = false;
                k.answer(result, sent);
            }
        });
    }

    /// Marks the agent as on a live call (or not).
    pub(super) fn set_on_call(&self, on: bool) {
        {
            let mut a = self.activity.borrow_mut();
            a.on_call = on;
            a.last_heartbeat_ms = 0.0;
        }
        if on {
            self.report(ActivitySource::Call);
        }
    }

    /// Heartbeats, at each tick: a hidden tab when hidden tabs are not
    /// idle, and calls; not once the limit is what ends the session.
    pub(super) fn heartbeat(&self, phase: &Phase) {
        let (hidden_counts, call_counts, gap) = match &*self.view() {
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
        let (due, on_call) = {
            let a = self.activity.borrow();
            (
                local_ms() - a.last_heartbeat_ms >= gap.max(1_000.0),
                a.on_call,
            )
        };
        let limit = matches!(phase, Phase::HeadsUp { .. } | Phase::Locked);
        if due && !limit && ((hidden && hidden_counts) || (on_call && call_counts)) {
            self.activity.borrow_mut().last_heartbeat_ms = local_ms();
            self.report(if on_call {
                ActivitySource::Call
            } else {
                ActivitySource::Hidden
            });
        }
    }

    /// Drops the report planned for the end of a burst.
    pub(super) fn stop_trailing(&self) {
        self.activity.borrow_mut().trailing = None;
    }

    /// Stops listening for input (the page goes).
    pub(super) fn stop_activity(&self) {
        let mut a = self.activity.borrow_mut();
        a.listeners.clear();
        a.trailing = None;
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};
    use vigil_policy::{EndReason, Evaluation, Verdict};

    use super::{throttle, Pending, Throttle};
    use crate::clock::to_ms;

    const NOW: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

    /// Idle timeout 20 min: warned at 09:15, signed out at 09:20 (the
    /// limit hours away), unless `by_limit`.
    fn evaluation(verdict: Verdict, by_limit: bool) -> Evaluation {
        let idle = NOW + Duration::minutes(20);
        let absolute = if by_limit {
            NOW + Duration::minutes(10)
        } else {
            NOW + Duration::hours(8)
        };
        Evaluation {
            idle_expires_at: idle,
            absolute_expires_at: absolute,
            ends_at: idle.min(absolute),
            warn_at: NOW + Duration::minutes(15),
            heads_up_at: absolute - Duration::minutes(10),
            verdict,
            keep_persistent_cookie: true,
        }
    }

    /// Input just now, the last report a minute ago, the server's last
    /// activity `ago_ms` before now; a 60 s report gap.
    fn pending(ago_ms: f64, in_flight: bool) -> Pending {
        let now = to_ms(NOW);
        Pending {
            now,
            input: now,
            last_activity: now - ago_ms,
            gap: 60_000.0,
            in_flight,
            since_report: 60_000.0,
        }
    }

    #[test]
    fn input_waits_out_the_report_gap_then_goes_at_once() {
        let e = evaluation(Verdict::Active, false);
        assert_eq!(
            throttle(&e, &pending(10_000.0, false)),
            Throttle::After(50_000),
            "10 s after the last activity, the rest of the 60 s gap"
        );
        assert_eq!(
            throttle(&e, &pending(60_000.0, false)),
            Throttle::Now,
            "the gap has passed"
        );
        assert_eq!(
            throttle(&e, &pending(59_900.0, false)),
            Throttle::After(250),
            "a trailing report waits at least 250 ms"
        );
        assert_eq!(
            throttle(&e, &pending(60_000.0, true)),
            Throttle::After(250),
            "one report at a time"
        );
    }

    #[test]
    fn input_covered_by_the_servers_view_is_not_reported() {
        let e = evaluation(Verdict::Active, false);
        let mut p = pending(60_000.0, false);
        p.last_activity = p.input;
        assert_eq!(throttle(&e, &p), Throttle::Skip);
    }

    #[test]
    fn input_just_before_the_warning_goes_at_once() {
        let mut e = evaluation(Verdict::Active, false);
        e.warn_at = NOW + Duration::seconds(30);
        assert_eq!(throttle(&e, &pending(10_000.0, false)), Throttle::Now);
    }

    #[test]
    fn while_warned_input_goes_once_a_second_one_at_a_time() {
        let e = evaluation(Verdict::Warning, false);
        let mut p = pending(10_000.0, false);
        assert_eq!(throttle(&e, &p), Throttle::Now, "a second since the last");
        p.since_report = 400.0;
        assert_eq!(throttle(&e, &p), Throttle::After(600));
        p.since_report = 990.0;
        assert_eq!(throttle(&e, &p), Throttle::After(50), "at least 50 ms");
        p.in_flight = true;
        assert_eq!(throttle(&e, &p), Throttle::After(1_000), "one in flight");
    }

    #[test]
    fn input_is_not_reported_once_it_cannot_help() {
        let p = pending(60_000.0, false);
        assert_eq!(
            throttle(&evaluation(Verdict::Active, true), &p),
            Throttle::Skip,
            "the absolute limit ends the session first"
        );
        assert_eq!(
            throttle(
                &evaluation(Verdict::Expired(EndReason::IdleTimeout), false),
                &p
            ),
            Throttle::Skip,
            "past the deadline"
        );
    }
}
