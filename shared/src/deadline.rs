//! The deadline rule: when a session warns and when it ends. One pure
//! function, so the server's verdict and the browser's countdown agree.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::settings::AudiencePolicy;

/// Why a session ended: the one type for it, shared by the API's 401 bodies,
/// the live channel's `ended` event, the audit log, the stored row and the
/// metrics. [`evaluate`] only ever yields the two timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Nobody was active for the idle timeout.
    IdleTimeout,
    /// The session reached its absolute lifetime.
    AbsoluteTimeout,
    /// An admin, or the person from another session, ended it.
    Revoked,
    /// The person signed out.
    LoggedOut,
}

impl EndReason {
    /// Every reason, for metrics that list each one.
    pub const ALL: [EndReason; 4] = [
        EndReason::IdleTimeout,
        EndReason::AbsoluteTimeout,
        EndReason::Revoked,
        EndReason::LoggedOut,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::AbsoluteTimeout => "absolute_timeout",
            EndReason::Revoked => "revoked",
            EndReason::LoggedOut => "logged_out",
        }
    }

    /// Parses the wire and database name.
    pub fn parse(s: &str) -> Option<Self> {
        EndReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the session ran out of time (rather than being ended by someone).
    pub fn is_timeout(self) -> bool {
        matches!(self, EndReason::IdleTimeout | EndReason::AbsoluteTimeout)
    }
}

/// Where a session stands at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum Verdict {
    /// Before the warning instant.
    Active,
    /// Between the warning instant and the deadline.
    Warning,
    /// At or past a deadline.
    Expired(EndReason),
}

/// What the rule needs to know about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    /// When the session was created (sign-in).
    pub created_at: OffsetDateTime,
    /// The last activity that counts under the account's rules.
    pub last_activity_at: OffsetDateTime,
    /// Whether the session has a persistent ("Remember me") cookie.
    pub persistent: bool,
}

/// The rule's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    /// Last activity plus the idle timeout.
    pub idle_expires_at: OffsetDateTime,
    /// Creation plus the absolute timeout.
    pub absolute_expires_at: OffsetDateTime,
    /// The earlier of the two deadlines: when the session ends.
    pub ends_at: OffsetDateTime,
    /// When the warning appears: the warning lead before `ends_at`.
    pub warn_at: OffsetDateTime,
    /// When the person is told the absolute limit is coming: the heads-up
    /// lead ([`AudiencePolicy::heads_up_lead_ms`]) before the absolute
    /// deadline. It matters only while [`Evaluation::ends_by_limit`].
    pub heads_up_at: OffsetDateTime,
    /// The verdict at `now`.
    pub verdict: Verdict,
    /// Whether the session may keep a persistent cookie. False for a
    /// remembered session whose audience no longer offers "Remember me": it
    /// must be re-issued a browser-session cookie.
    pub keep_persistent_cookie: bool,
}

impl Evaluation {
    /// Whether the absolute limit, not inactivity, ends the session as
    /// things stand: activity cannot help any more, so the person gets the
    /// heads-up instead of the idle warning.
    pub fn ends_by_limit(&self) -> bool {
        self.absolute_expires_at <= self.idle_expires_at
    }
}

/// Adds milliseconds, saturating instead of overflowing.
pub fn add_ms(at: OffsetDateTime, ms: u64) -> OffsetDateTime {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    at.checked_add(Duration::milliseconds(ms))
        .unwrap_or_else(far_future)
}

/// Adds whole seconds, saturating instead of overflowing: an absurd timeout
/// means "far in the future", never a panic.
pub fn add_secs(at: OffsetDateTime, secs: u64) -> OffsetDateTime {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    at.checked_add(Duration::seconds(secs))
        .unwrap_or_else(far_future)
}

fn sub_ms(at: OffsetDateTime, ms: u64) -> OffsetDateTime {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    at.checked_sub(Duration::milliseconds(ms)).unwrap_or(at)
}

fn far_future() -> OffsetDateTime {
    // 9999-12-31T23:59:59Z, the last instant RFC 3339 can write.
    OffsetDateTime::from_unix_timestamp(253_402_300_799).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Evaluates a session under a policy at `now`.
///
/// The session ends at the earlier of its idle deadline (last activity plus
/// the idle timeout) and its absolute deadline (creation plus the absolute
/// timeout); activity never moves the absolute deadline. The warning comes
/// the policy's warning lead before that end, and so always strictly before
/// the idle deadline. A last activity recorded before creation (clock skew
/// between replicas) counts as creation.
///
/// `policy` is the person's policy, from
/// [`SecuritySettings::policy_for`](crate::SecuritySettings::policy_for)
/// (which picks the admins' policy for an admin); a remembered session that
/// keeps its cookie is held to the policy's remembered limits, resolved here
/// by the same [`AudiencePolicy::resolved`] (a policy already resolved stays
/// as it is).
pub fn evaluate(policy: &AudiencePolicy, session: SessionTimes, now: OffsetDateTime) -> Evaluation {
    let policy = &policy.resolved(session.persistent);
    let last = session.last_activity_at.max(session.created_at);
    let idle_expires_at = add_secs(last, policy.idle_timeout_secs);
    let absolute_expires_at = add_secs(session.created_at, policy.absolute_timeout_secs);
    let ends_at = idle_expires_at.min(absolute_expires_at);
    let warn_at = sub_ms(ends_at, policy.warning_lead_ms());
    let heads_up_at = sub_ms(absolute_expires_at, policy.heads_up_lead_ms());
    let verdict = if now >= ends_at {
        if absolute_expires_at <= idle_expires_at {
            Verdict::Expired(EndReason::AbsoluteTimeout)
        } else {
            Verdict::Expired(EndReason::IdleTimeout)
        }
    } else if now >= warn_at {
        Verdict::Warning
    } else {
        Verdict::Active
    };
    Evaluation {
        idle_expires_at,
        absolute_expires_at,
        ends_at,
        warn_at,
        heads_up_at,
        verdict,
        keep_persistent_cookie: session.persistent && policy.remember_me,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Warning, DAY, HOUR};
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 09:00 UTC);

    fn policy(idle: u64, abs: u64, warning: Warning) -> AudiencePolicy {
        AudiencePolicy {
            idle_timeout_secs: idle,
            absolute_timeout_secs: abs,
            warning,
            remember_me: true,
            ..AudiencePolicy::default()
        }
    }

    fn at(secs: i64) -> OffsetDateTime {
        T0 + Duration::seconds(secs)
    }

    fn times(created: i64, last: i64) -> SessionTimes {
        SessionTimes {
            created_at: at(created),
            last_activity_at: at(last),
            persistent: false,
        }
    }

    #[test]
    fn verdict_moves_from_active_to_warning_to_idle_expiry() {
        let p = policy(900, DAY, Warning::Before { secs: 60 });
        let cases = [
            (0, Verdict::Active),
            (839, Verdict::Active),
            (840, Verdict::Warning),
            (899, Verdict::Warning),
            (900, Verdict::Expired(EndReason::IdleTimeout)),
        ];
        for (now, want) in cases {
            assert_eq!(
                evaluate(&p, times(0, 0), at(now)).verdict,
                want,
                "at {now} s"
            );
        }
    }

    #[test]
    fn absolute_deadline_wins_over_recent_activity() {
        let p = policy(HOUR, 2 * HOUR, Warning::Percent { percent: 80 });
        let e = evaluate(&p, times(0, 7000), at(7200));
        assert_eq!(e.verdict, Verdict::Expired(EndReason::AbsoluteTimeout));
        assert_eq!(e.ends_at, at(7200));
        assert_eq!(e.idle_expires_at, at(7000 + 3600));
    }

    #[test]
    fn percent_warning_comes_at_that_share_of_the_idle_timeout() {
        let p = policy(10, HOUR, Warning::Percent { percent: 80 });
        let e = evaluate(&p, times(0, 0), at(0));
        assert_eq!(e.warn_at, at(8));
        assert_eq!(e.ends_at, at(10));
    }

    #[test]
    fn percent_warnings_keep_their_milliseconds() {
        let p = policy(6, HOUR, Warning::Percent { percent: 80 });
        let e = evaluate(&p, times(0, 0), at(0));
        assert_eq!(e.warn_at, at(0) + Duration::milliseconds(4_800));
        assert_eq!(
            evaluate(&p, times(0, 0), at(0) + Duration::milliseconds(4_799)).verdict,
            Verdict::Active
        );
        assert_eq!(
            evaluate(&p, times(0, 0), at(0) + Duration::milliseconds(4_800)).verdict,
            Verdict::Warning
        );
    }

    #[test]
    fn the_limit_heads_up_comes_ten_minutes_ahead_or_with_the_warning() {
        let p = policy(8 * HOUR, 12 * HOUR, Warning::Before { secs: 60 });
        // Active an hour before the limit: the limit ends it, not inactivity.
        let e = evaluate(&p, times(0, 11 * 3600), at(11 * 3600));
        assert!(e.ends_by_limit());
        assert_eq!(e.heads_up_at, at(12 * 3600 - 600));
        // Idle since the start: inactivity ends it first.
        assert!(!evaluate(&p, times(0, 0), at(0)).ends_by_limit());
        // A warning lead longer than ten minutes brings the heads-up forward.
        let long = policy(8 * HOUR, 12 * HOUR, Warning::Before { secs: 3600 });
        assert_eq!(
            evaluate(&long, times(0, 11 * 3600), at(0)).heads_up_at,
            at(11 * 3600)
        );
    }

    #[test]
    fn remembered_session_loses_its_persistent_cookie_when_remember_me_is_off() {
        let mut p = policy(HOUR, DAY, Warning::Before { secs: 60 });
        let mut s = times(0, 0);
        s.persistent = true;
        assert!(evaluate(&p, s, at(1)).keep_persistent_cookie);
        p.remember_me = false;
        assert!(!evaluate(&p, s, at(1)).keep_persistent_cookie);
    }

    #[test]
    fn absurd_timeouts_saturate_instead_of_panicking() {
        let p = policy(u64::MAX, u64::MAX, Warning::Before { secs: u64::MAX });
        let e = evaluate(&p, times(0, 0), at(0));
        assert_eq!(e.verdict, Verdict::Active);
    }

    fn any_policy() -> impl Strategy<Value = AudiencePolicy> {
        (
            1u64..=60 * DAY,
            1u64..=400 * DAY,
            prop_oneof![
                (1u64..=30 * DAY).prop_map(|secs| Warning::Before { secs }),
                (0u32..=100).prop_map(|percent| Warning::Percent { percent }),
            ],
            any::<bool>(),
            proptest::option::of((1u64..=60 * DAY, 1u64..=400 * DAY)),
        )
            .prop_map(
                |(idle, abs, warning, remember_me, remembered)| AudiencePolicy {
                    idle_timeout_secs: idle,
                    absolute_timeout_secs: abs,
                    warning,
                    remember_me,
                    remembered: remembered.map(|(idle, abs)| crate::settings::RememberedLimits {
                        idle_timeout_secs: idle,
                        absolute_timeout_secs: abs,
                    }),
                    ..AudiencePolicy::default()
                },
            )
    }

    proptest! {
        #[test]
        fn no_activity_pattern_outlives_the_absolute_deadline(
            p in any_policy(),
            gaps in proptest::collection::vec(0i64..=2 * DAY as i64, 0..50),
        ) {
            // Activity at increasing instants; every evaluation, before or
            // after each activity, ends the session by creation + absolute.
            let absolute = at(0) + Duration::seconds(p.absolute_timeout_secs as i64);
            let mut last = 0i64;
            for gap in gaps {
                let now = last + gap;
                let e = evaluate(&p, times(0, last), at(now));
                prop_assert!(e.ends_at <= absolute);
                if at(now) >= absolute {
                    prop_assert!(matches!(e.verdict, Verdict::Expired(_)));
                }
                last = now;
            }
        }

        #[test]
        fn a_remembered_sessions_deadlines_follow_its_own_limits(
            p in any_policy(),
            created in 0i64..DAY as i64,
            idle_for in 0i64..DAY as i64,
            now in 0i64..(3 * DAY) as i64,
            persistent in any::<bool>(),
        ) {
            let mut t = times(created, created + idle_for);
            t.persistent = persistent;
            let e = evaluate(&p, t, at(now));
            let limits = if persistent && p.remember_me {
                p.remembered_limits()
            } else {
                crate::settings::RememberedLimits {
                    idle_timeout_secs: p.idle_timeout_secs,
                    absolute_timeout_secs: p.absolute_timeout_secs,
                }
            };
            prop_assert_eq!(e.idle_expires_at, add_secs(at(created + idle_for), limits.idle_timeout_secs));
            prop_assert_eq!(e.absolute_expires_at, add_secs(at(created), limits.absolute_timeout_secs));
            // The view's policy is the resolved one: evaluating the session
            // with it gives the same answer (the console's countdown).
            prop_assert_eq!(evaluate(&p.resolved(persistent), t, at(now)), e);
        }

        #[test]
        fn warning_instant_is_always_before_the_idle_deadline(
            p in any_policy(),
            created in 0i64..DAY as i64,
            idle_for in 0i64..DAY as i64,
            now in 0i64..(3 * DAY) as i64,
        ) {
            let e = evaluate(&p, times(created, created + idle_for), at(now));
            prop_assert!(e.warn_at < e.idle_expires_at);
            prop_assert!(e.warn_at < e.ends_at);
            prop_assert!(e.ends_at <= e.idle_expires_at);
            prop_assert!(e.heads_up_at < e.absolute_expires_at);
        }
    }
}
