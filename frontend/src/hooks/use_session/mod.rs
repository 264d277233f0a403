//! `use_session`: keeps the browser's view of the session in step with the
//! server, and runs the person-facing session behaviour. One module per
//! concern, all methods of one [`keeper::Keeper`] that each keeps its own
//! state:
//!
//! - [`keeper`]: the core. The session as last confirmed, the server's
//!   clock, the phase (warning, heads-up, locked, signed out) and the
//!   snapshot components render; the countdown's tick; online and offline.
//! - [`live`]: one live channel per browser, the polling that stands in
//!   while it is down, and the confirmation after a deadline.
//! - [`activity`]: input, throttled; heartbeats for calls and hidden tabs.
//! - [`tabs`]: the leader election between tabs (Web Locks), the
//!   BroadcastChannel that shares views and sign-outs, signing out.
//!
//! **Deadlines** come from vigil-policy's rule at the server's time (the
//! local clock corrected by `server_time`), to the millisecond. Before the
//! idle deadline a warning counts down; before the absolute limit a
//! heads-up says when it comes. At the deadline the page locks itself even
//! when the server cannot be reached, and the leader confirms with backoff.
//!
//! **Offline**: the browser's online/offline events drive a banner; a
//! sign-out that cannot reach the server says so and retries.

mod activity;
mod keeper;
mod live;
mod tabs;

use std::rc::Rc;

use time::OffsetDateTime;
use vigil_policy::api::{SessionView, UnauthenticatedReason};
use yew::prelude::*;

use crate::error::ApiError;
use keeper::Keeper;

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
        self.keeper.stay_signed_in();
    }

    /// Marks the agent as on a live call (or not).
    pub fn set_on_call(&self, on: bool) {
        self.keeper.set_on_call(on);
    }

    /// Signs out here and in every other tab (retrying while offline).
    pub fn sign_out(&self) {
        self.keeper.sign_out_everywhere();
    }

    /// Whether this tab holds the browser's live channel.
    pub fn is_leader(&self) -> bool {
        self.keeper.is_leader()
    }

    /// Treats an API error from a page: a 401 signs out everywhere.
    pub fn check(&self, error: &ApiError) {
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
    let keeper: Rc<Keeper> = {
        let setter = snapshot.clone();
        let memo = use_memo((), move |_| {
            Keeper::new(Callback::from(move |s: Snapshot| setter.set(s)))
        });
        Rc::clone(&*memo)
    };
    {
        let keeper = Rc::clone(&keeper);
        use_effect_with((), move |_| {
            keeper.start();
            move || keeper.stop()
        });
    }
    SessionHandle {
        snapshot: (*snapshot).clone(),
        keeper,
    }
}
